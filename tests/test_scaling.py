"""Capacity search, power-law fits, hidden-width rules, and the capacity/scaling commands."""

import json

import numpy as np
import pytest

from xbarmem.data.builtin import load_digits
from xbarmem.errors import ConfigError, PatternError
from xbarmem.evaluation.capacity import find_capacity, search_capacity
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.evaluation.scaling import HiddenRule, fit_power_law, run_scaling


def test_fit_recovers_a_known_exponent_from_noisy_synthetic_data():
    rng = np.random.default_rng(0)
    n = np.array([64, 144, 256, 400, 576, 784])
    c = 0.8 * n ** 1.49 * np.exp(rng.normal(0, 0.03, n.size))
    fit = fit_power_law(n, c)
    assert fit.slope == pytest.approx(1.49, abs=0.05)
    assert fit.slope_low < 1.49 < fit.slope_high and fit.r2 > 0.99
    exact = fit_power_law([10, 100], [3, 30])
    assert exact.slope == pytest.approx(1.0) and np.isnan(exact.slope_low)
    assert fit.predict([100])[0] == pytest.approx(fit.prefactor * 100 ** fit.slope)
    with pytest.raises(ConfigError, match="> 0"):
        fit_power_law([64, 256], [10, 0])
    with pytest.raises(ConfigError, match="two"):
        fit_power_law([64], [10])


def test_search_finds_the_monotone_capacity_with_few_evaluations():
    calls = []

    def score(p):
        calls.append(p)
        return 1.0 if p <= 37 else 0.9 if p <= 60 else 0.5

    caps = search_capacity(score, [0.99, 0.8], start=8, max_count=500)
    assert caps == {0.99: 37, 0.8: 60}
    assert len(calls) == len(set(calls)) < 20  # cached, far fewer than 500 counts
    # a dip below the threshold caps the capacity even if a larger count passes again
    assert search_capacity(lambda p: 0.5 if p == 3 else 1.0, [0.99], start=2,
                           max_count=8, cache={3: 0.5}) == {0.99: 2}
    assert search_capacity(lambda p: 0.0, [0.9], start=16, max_count=100) == {0.9: 0}
    assert search_capacity(lambda p: 1.0, [0.9], start=16, max_count=100) == {0.9: 100}


def test_hidden_rules():
    assert HiddenRule.parse("fixed:32").width(784) == 32
    assert HiddenRule.parse("ratio:0.5").width(144) == 72
    assert HiddenRule.parse(16).width(64) == 16
    assert str(HiddenRule.parse("ratio:0.25")) == "ratio:0.25"
    for bad in ("fixed:0", "fixed:2.5", "prop:3", "ratio:x"):
        with pytest.raises(ConfigError, match="hidden rule"):
            HiddenRule.parse(bad)


def test_hidden_rules_take_the_command_line_words():
    """``--hidden 1n`` / ``0.5n`` (the CLI's words, its ``ratio:R`` deprecated) are refused
    nowhere in Python: ``run_scaling(hidden="1n")`` said "must be 'fixed:H' ... 'ratio:R'"."""
    assert HiddenRule.parse("1n") == HiddenRule("ratio", 1.0) == HiddenRule.parse("ratio:1")
    assert HiddenRule.parse("0.5n").width(144) == 72 and HiddenRule.parse("32").width(64) == 32
    for bad in ("0n", "-1n", "n", "1x", "1n:2"):
        with pytest.raises(ConfigError, match=r"^hidden rule must be a width H .* a multiple of "
                           r"N \(R > 0, e.g. '1n' or '0.5n'\)"):
            HiddenRule.parse(bad)
    with pytest.raises(ConfigError, match="hidden applies to arch='multilayer' only"):
        run_scaling([16], arch="single", hidden="1n")


def test_find_capacity_single_and_multilayer_small():
    pool = load_digits(n_patterns=60)
    proto = Protocol(level=0.05, probes=2)
    single = find_capacity(pool, arch="single", rule="pinv", thresholds=(0.99, 0.9),
                           protocol=proto, trials=1, start=8)
    assert 1 <= single.capacity[0.99] <= single.capacity[0.9] <= 60
    assert single.devices["devices"] == 2 * 64 * 64
    assert single.capacity_per_device[0.9] == single.capacity[0.9] / (2 * 64 * 64)
    multi = find_capacity(pool, arch="multilayer", hidden=8, thresholds=(0.9,),
                          protocol=proto, trials=1, start=4, resolution=0.5,
                          rule_options={"max_steps": 200, "finetune_steps": 0})
    assert multi.devices["devices"] == 2 * (8 * 65 + 64 * 9)
    assert multi.capacity[0.9] >= 1 and multi.settings["hidden"] == 8
    with pytest.raises(ConfigError, match="hardware-adaptive"):
        find_capacity(pool, arch="multilayer", rule="pinv")


def test_run_scaling_rejects_non_square_sizes_and_runs_small(tmp_path):
    with pytest.raises(ConfigError, match="perfect square; got N = 150"):
        run_scaling([64, 100, 150])
    with pytest.raises(ConfigError, match=r"side 4..28, so N must be 16 ... 784; got N = 4 "):
        run_scaling([4, 16])  # (sides below 4 were accepted, then failed loading MNIST)
    # another built-in image set: the authors' crop (side at most 24)
    with pytest.raises(ConfigError, match=r"side 4..24, so N must be 16 ... 576; got N = 784"):
        run_scaling([64, 784], data="mnist-crop24")
    with pytest.raises(PatternError, match="unknown pattern source 'nosuch': not a built-in"):
        run_scaling([16, 36], data="nosuch")  # (random and files: tests/test_scaling_data.py)
    crop = run_scaling([16, 36], arch="single", rule="pinv", thresholds=(0.9,), pool_size=200,
                       protocol=Protocol(level=0.05, probes=2), data="mnist-crop24")
    assert crop["settings"]["data_description"] == "bundled mnist-crop24 resized to side sqrt(N)"
    assert crop["runs"][0]["settings"]["data"] == "mnist4c24-binary"  # (the crop, at side 4)
    res = run_scaling([16, 36], arch="single", rule="pinv", thresholds=(0.9,), pool_size=200,
                      protocol=Protocol(level=0.05, probes=2))
    assert res["sizes"] == [16, 36] and len(res["capacity"]["0.9"]) == 2
    assert res["settings"]["data_description"].startswith("bundled MNIST")


def test_capacity_and_scaling_commands(tmp_path, run_cli):
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "digits", "--pool", "80",
                             "--threshold", "0.9,0.99", "--trials", "1", "--probes", "2",
                             "--json")
    assert code == 0, err
    data = json.loads(out)  # progress log lines go to stderr
    (single,) = data["results"]
    assert set(single["capacity"]) == {"0.9", "0.99"} and single["settings"]["rule"] == "pinv"
    assert "cosine" in data["recalled_means"]
    code, out, err = run_cli("capacity", "--arch", "single,multilayer", "--hidden", "4,8",
                             "--data", "digits", "--pool", "40", "--threshold", "0.9",
                             "--trials", "1", "--probes", "2", "--start", "2",
                             "--resolution", "1", "--rule-options",
                             '{"max_steps": 50, "finetune_steps": 0}')
    assert code == 0, err
    assert "64-4-64" in out and "64-8-64" in out and "single" in out
    code, out, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--sizes",
                             "16,36,64", "--pool", "300", "--threshold", "0.9", "--probes",
                             "2", "--out", tmp_path)
    assert code == 0, err
    assert (tmp_path / "scaling-single-binary-pinv.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "scaling-single-binary-pinv.json").read_text())
    assert saved["fits"]["0.9"]["points"] == 3
    code, _, err = run_cli("capacity", "--arch", "deep")
    assert code == 2 and "--arch" in err


def test_a_one_layer_run_records_no_hidden_rule():
    """``scaling --arch single --json`` recorded ``hidden_rule: 'fixed:32'``, the width of a
    hidden layer it does not have; it records None, a multilayer run its rule."""
    single = run_scaling([16, 25], arch="single", rule="pinv", data="random", trials=1,
                         thresholds=(0.9,), protocol=Protocol(probes=1))
    assert single["settings"]["hidden_rule"] is None


_NO_FIT_ZEROS = "no fit: 1 size of capacity > 0 of 3 (3 at N = 64); a fit needs 2; N = 16, 36 left out (capacity 0)"  # noqa: E501


@pytest.mark.parametrize("caps, bounded, note", [
    ([0, 0, 3], [], _NO_FIT_ZEROS),
    ([0, 0, 0], [], "no fit: 0 sizes of capacity > 0 of 3; a fit needs 2; N = 16, 36, 64 "
                    "left out (capacity 0)"),
    ([0, 2, 5], [], "N = 16 left out (capacity 0)"),
    ([0, 4, 60], [64], "the fit takes in the lower bound (>=) at N = 64; N = 16 left out "
                       "(capacity 0)"),
    ([3, 40, 60], [36, 64], "the fit takes in the lower bounds (>=) at N = 36, 64"),
    ([3, 5, 9], [], ""),
])
def test_the_json_says_which_sizes_a_fit_leaves_out_and_why(caps, bounded, note, capsys):
    """A scaling run's JSON said nothing of a threshold without a fit (``"fits": {"0.99":
    null}``: neither which sizes nor why) and named a fit's ``left_out`` sizes without the
    reason; only the printed line said it. The result (so the JSON file and ``--json``) now
    holds ``fit_notes``, the very words of the printed line."""
    from xbarmem.cli.capacity_output import print_scaling
    from xbarmem.evaluation.scaling import ScalingResult, _fits
    from xbarmem.jsontext import output_text

    sizes = [16, 36, 64]
    runs = [{"n_neurons": n, "lower_bound": ["0.99"] if n in bounded else [],
             "capacity": {"0.99": c}, "settings": {}} for n, c in zip(sizes, caps, strict=True)]
    fits = _fits(sizes, {0.99: caps}, runs)
    res = ScalingResult(sizes, {"0.99": caps}, fits, runs, {})
    saved = json.loads(output_text(res))
    assert saved["fit_notes"] == {"0.99": note}
    print_scaling({**res, "files": {"png": "s.png", "json": "s.json"}}, "scaling")
    text = " ".join(capsys.readouterr().out.split())  # (the line as wrapped, joined)
    said = text[text.index("threshold 0.99: "):text.index(" wrote s.png")]
    if fits["0.99"] is None:
        assert said == f"threshold 0.99: {note}"
    else:
        assert said.startswith("threshold 0.99: C ~ N^")
        assert said.endswith(f"; {note}") if note else not any(
            w in said for w in ("left out", "lower bound", "; "))
