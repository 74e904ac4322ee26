"""experiments/grouping: results rows grouped, with mean, std and n per metric."""

from __future__ import annotations

import math

import pytest

from xbarmem.errors import ConfigError
from xbarmem.experiments.grouping import field, group_rows, metric_names, parse_fields


def row(rule: str, seed: int, cosine: float, *, fault: float | None = 0.1, **result) -> dict:
    config = {"rule": rule, "seed": seed, "chip_spec": {"device": {"write_noise": 1e-6}}}
    if fault is not None:
        config["fault_rate"] = fault
    return {"sweep": "s", "trial": "evaluate", "config": config,
            "result": {"cosine": cosine, "seconds": 1.0, "threads": 1, **result}}


ROWS = [row("hebb", 0, 0.8), row("pinv", 0, 1.0), row("hebb", 1, 0.6), row("hebb", 2, 1.0)]


def test_fields_by_name():
    r = ROWS[0]
    assert field(r, "rule") == "hebb" and field(r, "config.rule") == "hebb"
    assert field(r, "chip_spec.device.write_noise") == 1e-6
    assert field(r, "result.cosine") == 0.8 and field(r, "sweep") == "s"
    assert field(r, "nothing") is None and field(r, "result.nothing.deeper") is None


def test_groups_sorted_with_mean_std_n():
    groups = group_rows(ROWS, ["rule"])
    assert [g["group"] for g in groups] == [{"rule": "hebb"}, {"rule": "pinv"}]
    hebb, pinv = groups
    assert hebb["n"] == 3 and hebb["mean"]["cosine"] == pytest.approx(0.8)
    assert hebb["std"]["cosine"] == pytest.approx(0.2)  # sample std of 0.8, 0.6, 1.0
    assert pinv["n"] == 1 and pinv["std"]["cosine"] is None  # one value: no spread
    assert set(hebb["mean"]) == {"cosine"}  # run descriptions (seconds, threads) are not metrics


def test_numbers_sort_before_text_and_missing_values():
    rows = [row("a", 0, 1.0, fault=0.2), row("a", 0, 1.0, fault=None),
            row("a", 0, 1.0, fault=0.05)]
    assert [g["group"]["fault_rate"] for g in group_rows(rows, ["fault_rate"])] == [
        0.05, 0.2, None]


def test_dotted_metric_keys_nan_and_missing_metrics():
    rows = [row("a", 0, 0.5, capacity={"0.99": 4, "0.9": 6}, loss=math.nan),
            row("a", 1, 0.7, capacity={"0.99": 6, "0.9": 8}, loss=0.25),
            row("a", 2, 0.9)]
    assert metric_names(rows) == ["cosine", "capacity.0.99", "capacity.0.9", "loss"]
    (g,) = group_rows(rows, ["rule"])
    assert g["mean"]["capacity.0.99"] == 5 and g["count"]["capacity.0.99"] == 2
    assert g["mean"]["loss"] == 0.25 and g["count"]["loss"] == 1  # NaN left out
    assert g["std"]["loss"] is None
    (g,) = group_rows(rows, ["rule"], metrics=["nothing"])
    assert g["mean"] == {"nothing": None} and g["count"] == {"nothing": 0}


def test_list_values_group_and_empty_inputs():
    rows = [row("a", 0, 1.0), row("a", 1, 0.5)]
    rows[0]["config"]["hidden"] = rows[1]["config"]["hidden"] = [32, 16]
    (g,) = group_rows(rows, ["hidden"])
    assert g["group"] == {"hidden": [32, 16]} and g["n"] == 2
    assert group_rows([], ["rule"]) == []
    with pytest.raises(ConfigError, match="--group-by"):
        group_rows(rows, [])


def test_parse_fields():
    assert parse_fields("rule, fault_rate,chip_spec.device.write_noise", "--group-by") == [
        "rule", "fault_rate", "chip_spec.device.write_noise"]
    for bad in ("", "rule,", "a;b"):
        with pytest.raises(ConfigError, match="comma-separated"):
            parse_fields(bad, "--group-by")


def test_a_seed_computed_again_by_another_version_counts_once():
    """``n`` counts a group's settings, each seed once, a setting's rows "computed again in
    another batch ... or by another xbarmem version" averaged first; the version a row's
    config records made its rows two settings: one seed counted as two, its spread as theirs."""
    old, new = row("hebb", 0, 0.8), row("hebb", 0, 0.6)
    old["config"]["version"], new["config"]["version"] = "0.2.0", "0.3.0"
    (g,) = group_rows([old, new, row("hebb", 1, 1.0)], ["rule"])
    assert (g["n"], g["rows"], g["count"]["cosine"]) == (2, 3, 2)
    assert g["mean"]["cosine"] == pytest.approx((0.7 + 1.0) / 2)


def _on_chip(stuck_on: float, stuck_off: float, **config) -> dict:
    """A row of seed 0 on a chip with those stuck rates; ``config`` set on top."""
    r = row("pinv", 0, 0.9, fault=None)
    r["config"]["chip_spec"]["device"].update(p_stuck_on=stuck_on, p_stuck_off=stuck_off)
    r["config"].update(config)
    return r


@pytest.mark.parametrize("unset, explicit", [
    # a fault rate left to a chip without stuck devices, and fault_rate = 0.0 (two [[grid]]s)
    (_on_chip(0.0, 0.0), _on_chip(0.0, 0.0, fault_rate=0.0)),
    # the same with a chip's own stuck rates adding up to the rate asked for
    (_on_chip(0.05, 0.05), _on_chip(0.05, 0.05, fault_rate=0.1)),
    # keys stored only when set, against their defaults written out
    (_on_chip(0.0, 0.0, fault_rate=0.0), _on_chip(0.0, 0.0, fault_rate=0.0, zero_one=False)),
    (_on_chip(0.0, 0.0, fault_rate=0.0), _on_chip(0.0, 0.0, fault_rate=0.0, tol=1e-4)),
])
def test_rows_a_table_shows_alike_are_one_setting(unset, explicit):
    """Rows that every reader (``--where``, the table, ``--group-by``, ``plot``) reads as one
    setting and seed -- a ``fault_rate`` left to the chip beside the chip's rate written out,
    a key stored only when set beside its default -- were two settings to the groups: ``n =
    2`` of one seed, and a spread of one seed with itself. They count once, as ``plot``
    counts them."""
    explicit["result"]["cosine"] = 0.7
    (g,) = group_rows([unset, explicit, _on_chip(0.0, 0.0, seed=1)], ["rule"])
    assert (g["n"], g["rows"], g["count"]["cosine"]) == (2, 3, 2)
    assert g["mean"]["cosine"] == pytest.approx((0.8 + 0.9) / 2)
