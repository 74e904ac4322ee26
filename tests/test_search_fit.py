"""A run sizes its training at the largest count it may train, before any work.

Capacity searches (``capacity``, ``scaling``, ``find_capacity``, ``run_scaling``, a sweep's
search trials) grow the pattern count as they pass; the hardware-adaptive rule's working set
(cues x copies x unrolled updates) grows with it, and the trainer refused it mid-run after
the smaller counts had trained (and a checkpoint had been written). Each is now refused at
once, by the same estimate the trainer refuses with (:func:`xbarmem.sizes.fit_bytes`), naming
the most patterns that fit and what caps the search there; ordinary runs are not refused.
"""

import pytest

from xbarmem.errors import ConfigError
from xbarmem.limits import ENV, TooLargeError

#: 8 one-layer memories of N = 64 on random patterns: P = 8 and 16 fit in 16 MiB, 32 does not
CAPACITY = ("capacity", "--data", "random", "--neurons", "64", "--trials", "8", "--probes", "1")


@pytest.mark.parametrize("args, said", [
    (CAPACITY, "lower --pool to 20 or --trials"),
    (("scaling", "--data", "random", "--sizes", "16,64", "--trials", "4", "--probes", "1"),
     "lower --trials or --sizes"),
    (("capacity", "--arch", "multilayer", "--hidden", "64", "--data", "random", "--neurons",
      "64", "--trials", "2", "--probes", "1"), "lower --pool to "),
    # (--start beyond N: a first count the search was not sized for; the multilayer search ran
    # to its end, then the one-layer one was refused at its first count)
    (("capacity", "--arch", "multilayer,single", "--hidden", "8", "--data", "random",
      "--neurons", "64", "--trials", "2", "--probes", "1", "--start", "100"),
     "lower --pool to 96, --start or --trials"),
])
def test_a_search_too_large_to_train_is_refused_before_any_work(run_cli, monkeypatch,
                                                                  tmp_path, args, said):
    monkeypatch.setenv(ENV, "16M")
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "out"
    extra = ("--out", out_dir) if args[0] == "scaling" else ()
    code, out, err = run_cli(*args, *extra)
    assert code == 2, (out, err)
    assert "P=" not in out + err  # (no count was tested: it searched P = 8 and 16 first)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: training ")
    assert "as many as the search may test" in err and said in err
    assert list(tmp_path.iterdir()) == []  # (no checkpoint, no folder)


def test_the_count_named_caps_the_search_so_that_it_runs_to_the_end(run_cli, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv(ENV, "16M")
    code, _, err = run_cli(*CAPACITY, "--pool", "20", "--json")
    assert code == 0, err


def _find(monkeypatch, pool_size, **options):
    from xbarmem import find_capacity, random_patterns
    from xbarmem.evaluation.evaluate import Protocol

    tested = []
    with pytest.raises(TooLargeError, match=r"^training .* up to \d+ patterns .* \(lower "):
        find_capacity(random_patterns(pool_size, 64, seed=0),
                      protocol=Protocol(level=0.05, probes=1), progress=lambda p, s:
                      tested.append(p), **options)
    return tested


def _scaling(monkeypatch, pool_size, **options):
    from xbarmem import run_scaling
    from xbarmem.evaluation.evaluate import Protocol

    tested = []
    with pytest.raises(TooLargeError, match=r"^training .* up to \d+ patterns .* \(lower "):
        run_scaling([16, 64], data="random", pool_size=pool_size,
                    protocol=Protocol(level=0.05, probes=1), progress=lambda n, p, s:
                    tested.append(p), **options)
    return tested


@pytest.mark.parametrize("call, options", [
    (_find, {"trials": 8}),
    (_find, {"trials": 2, "start": 120}),  # (one layer's reach is N = 64: its start beyond)
    (_find, {"trials": 2, "arch": "multilayer", "hidden": [64]}),
    (_scaling, {"trials": 4}),
    (_scaling, {"trials": 8, "arch": "single"}),
])
def test_the_api_refuses_a_search_too_large_to_train_before_any_count(monkeypatch, call,
                                                                      options):
    monkeypatch.setenv(ENV, "16M")
    assert call(monkeypatch, 400, **options) == []


def test_a_sweep_of_searches_too_large_to_train_is_refused_when_planned(monkeypatch):
    from xbarmem.experiments.sweep import parse_sweep

    monkeypatch.setenv(ENV, "24M")  # (its first count, 32, fits: planning sized that one)
    with pytest.raises(ConfigError, match=r"^s\.toml: training 1 network .* up to 256 "
                                            r"patterns .*lower pool to \d+ or n_neurons"):
        parse_sweep({"sweep": {"name": "big", "trial": "capacity", "seeds": 1},
                     "base": {"data": "random", "n_neurons": 256, "probes": 1,
                              "rule": "adaptive", "search": True, "pool": 300}},
                    source="s.toml")


@pytest.mark.parametrize("rule", ["adaptive", "hebb"])
def test_a_small_pool_or_a_classic_rule_fits(monkeypatch, rule):
    """A search that cannot reach the counts that do not fit (its pool) runs; a classic rule
    draws no training cues."""
    from xbarmem import find_capacity, random_patterns
    from xbarmem.evaluation.evaluate import Protocol

    monkeypatch.setenv(ENV, "16M")
    res = find_capacity(random_patterns(20 if rule == "adaptive" else 400, 64, seed=0),
                        rule=rule, trials=8, protocol=Protocol(level=0.05, probes=1),
                        rule_options={"max_steps": 5} if rule == "adaptive" else None)
    assert res.evaluations >= 1


def test_the_trainer_and_the_check_before_a_run_share_one_estimate(monkeypatch):
    """With the limit at the estimate of P patterns, the check before a search says P fit
    (up to P + 1), and the trainer trains P patterns and refuses P + 1."""
    from xbarmem import random_patterns, train
    from xbarmem.evaluation.curve import curve_trainer, fit_options
    from xbarmem.evaluation.search_plan import check_search_fit
    from xbarmem.sizes import fit_bytes

    p, sizes = 12, [64, 64]
    options = fit_options(curve_trainer("single", "adaptive", {}, 0), sizes, "binary")
    monkeypatch.setenv(ENV, str(fit_bytes(1, p, sizes, options, "binary")))
    check_search_fit(options, "binary", sizes, 1, p, pool_word="--pool")
    with pytest.raises(TooLargeError, match=rf"; {p} fit\).*lower --pool to {p},"):
        check_search_fit(options, "binary", sizes, 1, p + 1, pool_word="--pool")
    train(random_patterns(p, 64, seed=0).patterns, max_steps=2, finetune_steps=1, flip_steps=1)
    with pytest.raises(TooLargeError, match=rf"^training 1 network .* on {p + 1} patterns"):
        train(random_patterns(p + 1, 64, seed=0).patterns, max_steps=2)


def test_ordinary_runs_are_not_refused_at_the_default_limit(monkeypatch):
    """``capacity --data digits``, ``scaling``'s default sizes (its default and a one-layer
    architecture) and every ``reproduce`` sweep, quick and full, are sized without refusal."""
    from xbarmem.evaluation.curve import curve_trainer, fit_options
    from xbarmem.evaluation.hidden_rule import HiddenRule
    from xbarmem.evaluation.scaling import SCALING_CUE_BUDGET, check_fits
    from xbarmem.evaluation.search_plan import check_search_fit, search_reach
    from xbarmem.experiments.reproduce import EXPERIMENTS

    monkeypatch.delenv(ENV, raising=False)
    options = fit_options(curve_trainer("single", "adaptive", {}, 0), [64, 64], "binary")
    check_search_fit(options, "binary", [64, 64], 2, search_reach("single", 64, 1797),
                     pool_word="--pool")
    for rules in ((HiddenRule("fixed", 32),), (HiddenRule("ratio", 1.0),), None):
        check_fits([64, 144, 256, 400, 576, 784], rules, {
            "kind": "binary", "rule": "adaptive", "rule_options": {}, "seed": 0, "trials": 1,
            "pool": None, "cue_budget": SCALING_CUE_BUDGET})
    for quick in (True, False):
        for exp in EXPERIMENTS:
            exp.sweeps(quick)


def _capacity_archs(pool):
    """capacity --arch single,multilayer --hidden 128 --trials 2 at N = 64 (its check)."""
    from xbarmem import random_patterns
    from xbarmem.cli.capacity_checks import check_fits

    check_fits(random_patterns(pool, 64, seed=0), [("single", None), ("multilayer", [128])],
               "adaptive", {}, trials=2, seed=0)


def _capacity_widths(pool):
    """capacity --arch multilayer --hidden 16,128 --trials 2 at N = 64 (its check)."""
    from xbarmem import random_patterns
    from xbarmem.cli.capacity_checks import check_fits

    check_fits(random_patterns(pool, 64, seed=0), [("multilayer", [16]), ("multilayer", [128])],
               "adaptive", {}, trials=2, seed=0)


def _scaling_sizes(pool):
    """run_scaling([32, 64], hidden 1n, trials=2, pool_size=pool)'s check."""
    from xbarmem.evaluation.hidden_rule import HiddenRule
    from xbarmem.evaluation.scaling import check_fits

    check_fits([32, 64], (HiddenRule("ratio", 1.0),), {
        "kind": "binary", "rule": "adaptive", "rule_options": {}, "seed": 0, "trials": 2,
        "pool": pool, "cue_budget": 0})


def _sweep_groups(pool):
    """A sweep of capacity searches over two hidden widths, pool = pool."""
    from xbarmem.experiments.sweep import parse_sweep

    parse_sweep({"sweep": {"name": "two", "trial": "capacity", "seeds": 1},
                 "base": {"data": "random", "n_neurons": 64, "probes": 1, "rule": "adaptive",
                          "search": True, "arch": "multilayer", "pool": pool},
                 "grid": {"hidden": [8, 32]}}, source="s.toml")


@pytest.mark.parametrize("check, limit", [(_capacity_archs, "8M"), (_capacity_widths, "8M"),
                                          (_scaling_sizes, "3M"), (_sweep_groups, "6M")],
                         ids=["capacity archs", "capacity widths", "scaling sizes",
                              "sweep groups"])
def test_the_pool_named_fits_every_search_of_the_run(monkeypatch, check, limit):
    """A run of several searches (architectures, widths, sizes N, a sweep's groups) named the
    pool that fits the first one refused: `capacity --arch single,multilayer --hidden 128`
    said `lower --pool to 45`, and with `--pool 45` it was refused again, `26 fit`. The
    refusal names the count every search fits, and the run lowered to it is not refused."""
    import re

    monkeypatch.setenv(ENV, limit)
    with pytest.raises(ConfigError, match=r"pool(_size)? to \d+") as refused:  # (a sweep's)
        check(400)
    fits = int(re.search(r"pool(?:_size)? to (\d+)", str(refused.value)).group(1))
    check(fits)


@pytest.mark.parametrize("limit, args, section", [
    ("1M", ("--quick",), "a"),                     # (the trial list of a sweep of (a))
    ("16M", ("--quick", "--sections", "a"), "a"),  # (a group of its networks)
    ("64M", ("--quick", "--sections", "b,e"), "b"),  # (a group trained on its cues)
    ("1M", ("--sections", "c"), "c"),               # (the full run: --quick named too)
])
def test_reproduce_names_its_own_options_when_a_sweep_is_too_large(run_cli, monkeypatch,
                                                                    tmp_path, limit, args,
                                                                    section):
    """``reproduce`` plans sweeps it has no file of: a sweep too large for the memory limit
    named the sweep's TOML keys (``lower seeds or the [grid] lists``, ``lower batch, patterns,
    probes or n_neurons``); it names the section to leave out (and the quick run, for the
    full one), before any work."""
    monkeypatch.setenv(ENV, limit)
    code, out, err = run_cli("reproduce", "--out", tmp_path / "report", *args)
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    quicker = "" if "--quick" in args else "run --quick or "
    assert f"({quicker}leave section ({section}) out with --sections, or set {ENV}" in err
    remedy = err.split("above the limit of", 1)[1]
    assert not any(key in remedy for key in ("[grid]", "seeds", "batch", "n_neurons", "pool"))
    assert not (tmp_path / "report").exists()


def test_a_refusal_worded_again_keeps_its_numbers_and_kind():
    """:meth:`TooLargeError.naming` (a caller wording a refusal in its own options) keeps the
    estimate, the limit and a subclass with its attributes (a search's ``fits``)."""
    from xbarmem.evaluation.search_plan import SearchTooLargeError

    error = SearchTooLargeError("x", what="training 2 networks", nbytes=3 * 2**20,
                                limit=2**20, lower="pool")
    error.fits = 7
    again = error.naming("--pool", where="sweep.toml: ")
    assert type(again) is SearchTooLargeError and again.fits == 7
    assert str(again) == ("sweep.toml: training 2 networks would need about 3 MiB of memory, "
                          f"above the limit of 1 MiB (lower --pool, or set {ENV} to change "
                          "the limit)")
    assert str(error.naming(remedy="leave it out")).endswith(
        f"(leave it out, or set {ENV} to change the limit)")
    plain = TooLargeError("no parts")  # (not made by check_bytes: led by where, as it is)
    assert str(plain.naming("--x", where="f: ")) == "f: no parts"
