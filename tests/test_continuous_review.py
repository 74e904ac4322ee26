"""Continuous (tanh) patterns through every entry point: what each takes and what it says.

Storkey's rule and the perceptron are defined for +-1 patterns and run their formulas on
continuous values (docs/guide.md, Training and recall): every way of training them on
continuous patterns -- ``train``, the capacity searches and curves, ``compare_rules``, a
sweep's planning -- warns of it in one line naming the rule (one check:
:func:`xbarmem.learning.classic.warn_rule_kind`), and nothing else does."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import XbarmemWarning
from xbarmem.evaluation.curve import recall_curve
from xbarmem.experiments.resolve import resolve

#: 5 continuous patterns of 16 neurons in [-1, 1]
GREY = np.random.default_rng(0).uniform(-1.0, 1.0, size=(5, 16)).astype(np.float32)
SIGNS = np.sign(GREY)
DEFINED_FOR_PM1 = {"storkey": "runs its formula", "perceptron": "max_epochs"}


pytestmark = pytest.mark.usefixtures("one_thread")


def _warnings(call) -> list[str]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in seen if issubclass(w.category, XbarmemWarning)]


def _entry_points(rule: str, data: np.ndarray, kind: str):
    """Every Python way of training ``rule`` on ``data`` as ``kind`` patterns, by name."""
    options = {"max_epochs": 3} if rule == "perceptron" else {}
    protocol = xm.Protocol(probes=1, corruption="gaussian" if kind == "continuous" else "flip")
    return {
        "train": lambda: xm.train(data, rule=rule, kind=kind, **options),
        "compare_rules": lambda: xm.compare_rules(data, rules=[rule], kind=kind,
                                                  protocol=protocol),
        "recall_curve": lambda: recall_curve(data, [1, 2], rule=rule, kind=kind,
                                             rule_options=options, protocol=protocol),
        "find_capacity": lambda: xm.find_capacity(data, rule=rule, kind=kind,
                                                  rule_options=options, protocol=protocol),
        "sweep": lambda: resolve({"data": "random", "kind": kind, "n_neurons": 16,
                                  "patterns": 2, "rule": rule}, "evaluate", 0,
                                 {rule: options}),
    }


@pytest.mark.parametrize("rule", sorted(DEFINED_FOR_PM1))
def test_rules_of_pm1_patterns_warn_on_continuous_ones_everywhere(rule):
    for where, call in _entry_points(rule, GREY, "continuous").items():
        said = [m for m in _warnings(call) if f"rule {rule!r}" in m]
        assert said, f"{where}: no warning for {rule} on continuous patterns"
        assert all("+-1 (binary) patterns" in m and DEFINED_FOR_PM1[rule] in m
                   and "\n" not in m for m in said), (where, said)


@pytest.mark.parametrize("rule", ["hebb", "storkey-variant", "pinv", "storkey", "perceptron"])
def test_no_rule_warning_where_the_rule_is_defined(rule):
    cases = {"binary": SIGNS}
    if rule not in DEFINED_FOR_PM1:
        cases["continuous"] = GREY
    for kind, data in cases.items():
        for where, call in _entry_points(rule, data, kind).items():
            said = [m for m in _warnings(call) if "defined for +-1" in m]
            assert not said, (rule, kind, where, said)


def test_cli_warns_once_in_one_line(run_cli, tmp_path):
    np.save(tmp_path / "grey.npy", GREY)
    code, out, err = run_cli("capacity", "--data", tmp_path / "grey.npy", "--kind", "continuous",
                             "--rule", "perceptron", "--rule-option", "max_epochs=3",
                             "--trials", "1", "--probes", "1", "--json")
    assert code == 0, err
    lines = [line for line in err.splitlines() if "defined for +-1" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: rule 'perceptron'"), err


def test_curve_points_do_not_invent_fixed_points_for_continuous_patterns():
    """A classic rule does not say whether continuous patterns are fixed points (its info holds
    none, as a sweep's row does): the curve's share is None, not 1.0; binary ones say."""
    grey = recall_curve(GREY, [1, 2], rule="hebb", kind="continuous",
                        protocol=xm.Protocol(probes=1, corruption="gaussian"))
    assert [p["fixed_points"] for p in grey["points"]] == [None, None]
    found = xm.find_capacity(GREY, rule="pinv", kind="continuous",
                             protocol=xm.Protocol(probes=1, corruption="gaussian"))
    assert all(p["fixed_points"] is None for p in found.points)
    signs = recall_curve(SIGNS, [1, 2], rule="hebb", protocol=xm.Protocol(probes=1))
    assert all(isinstance(p["fixed_points"], float) for p in signs["points"])


def test_energy_measures_continuous_data_with_kind(run_cli, tmp_path):
    """``measure`` and ``energy --data`` stored binary patterns only and took no kind: their
    refusal of continuous data sent the user to ``train --kind continuous`` then ``energy
    --model``. Both take the kind now (``kind=``, ``--kind``), train and recall as ``train``
    and ``evaluate`` do (Gaussian cues of sigma 0.6, tanh neurons); binary still refuses
    continuous data, now pointing at the kind it takes."""
    from xbarmem.energy.measure import measure

    np.save(tmp_path / "grey.npy", GREY)
    with pytest.raises(xm.errors.PatternError, match=r"kind='continuous' \(CLI: --kind"):
        measure(16, data=str(tmp_path / "grey.npy"), rule="hebb", probes=1)
    m = measure(16, data=str(tmp_path / "grey.npy"), kind="continuous", n_patterns=5,
                rule="pinv", probes=2)
    assert (m.info["kind"], m.info["corruption"], m.info["level"]) == ("continuous", "gaussian",
                                                                      0.6)
    code, out, err = run_cli("energy", "--data", tmp_path / "grey.npy", "--rule", "pinv",
                             "--kind", "continuous", "--patterns", "5", "--probes", "2",
                             "--json")
    assert code == 0, err
    settings = json.loads(out)["settings"]
    assert (settings["kind"], settings["activation"]) == ("continuous", "tanh")
    code, out, err = run_cli("energy", "--data", tmp_path / "grey.npy", "--rule", "hebb")
    assert code == 2 and err.count("\n") == 1 and "--kind continuous" in err, err
    for extra in (["--sizes", "16"], ["--corruption", "flip"]):
        code, out, err = run_cli("energy", "--kind", "continuous", "--data", "digits", *extra)
        assert code == 2 and err.count("\n") == 1, err
