"""Recall curves and capacity read-out."""

import pytest

from xbarmem.capacity import capacity_from_curve, recall_curve
from xbarmem.chipspec import load_preset
from xbarmem.data import load_mnist
from xbarmem.errors import ConfigError
from xbarmem.evaluate import Protocol


def test_capacity_requires_every_smaller_count_to_pass():
    pts = [{"count": 2, "cosine": 1.0}, {"count": 4, "cosine": 0.97},
           {"count": 6, "cosine": 0.995}, {"count": 8, "cosine": 0.5}]
    assert capacity_from_curve(pts, 0.99) == 2
    assert capacity_from_curve(pts, 0.95) == 6
    assert capacity_from_curve(pts, 1.01) == 0


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
