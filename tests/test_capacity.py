"""Recall curves and capacity read-out."""

import pytest

from xbarmem.data.patterns import load_mnist
from xbarmem.errors import ConfigError
from xbarmem.evaluation.curve import capacity_from_curve, mean_curve, recall_curve
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.hardware.chip import load_preset


def test_capacity_requires_every_smaller_count_to_pass():
    pts = [{"count": 2, "cosine": 1.0}, {"count": 4, "cosine": 0.97},
           {"count": 6, "cosine": 0.995}, {"count": 8, "cosine": 0.5}]
    assert capacity_from_curve(pts, 0.99) == 2
    assert capacity_from_curve(pts, 0.95) == 6
    assert capacity_from_curve(pts, 1.01) == 0


def test_mean_curve_averages_counts_tested_by_every_curve():
    a = [{"count": 2, "cosine": 1.0}, {"count": 4, "cosine": 0.8}, {"count": 6, "cosine": 0.9}]
    b = [{"count": 4, "cosine": 1.0}, {"count": 2, "cosine": 0.9}]
    got = mean_curve([a, b])
    assert [p["count"] for p in got] == [2, 4]  # 6 was tested by one curve only
    assert got[0]["cosine"] == pytest.approx(0.95) and got[1]["cosine"] == pytest.approx(0.9)
    assert {p["n"] for p in got} == {2}
    # a single dip in one seed's curve stops that seed early but not the mean curve
    assert capacity_from_curve(a, 0.85) == 2 and capacity_from_curve(got, 0.85) == 4
    assert mean_curve([]) == []


def test_recall_curve_batches_counts_and_degrades_with_load():
    pool = load_mnist(side=8, n=200)
    chip = load_preset("paper-sim")
    res = recall_curve(pool, [2, 30], chip, "pinv", trials=2, protocol=Protocol(level=0.05,
                                                                                probes=4))
    small, large = res["points"]
    assert small["count"] == 2 and small["cosine"] > 0.98 and small["fixed_points"] == 1.0
    assert large["cosine"] < small["cosine"]
    assert res["networks"] == 4 and len(small["subset_seeds"]) == 2
    fast = recall_curve(pool, [3, 6], chip, "adaptive", trials=1,
                        protocol=Protocol(level=0.0, probes=1),
                        rule_options={"max_steps": 300, "finetune_steps": 0})
    assert all(p["cosine"] == pytest.approx(1.0) for p in fast["points"])
    with pytest.raises(ConfigError, match="only 200"):
        recall_curve(pool, [500], chip, "hebb")
