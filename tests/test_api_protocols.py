"""The Python API under a numpy / torch / notebook user's habits with its objects: pattern sets
indexed and read as arrays, result types importable from ``xbarmem``, results that print one
short line, and the chip left out where every other call defaults it."""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
import tomllib
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import tiny_sweep

import xbarmem as xm
from xbarmem.data.builtin import load_image_set
from xbarmem.data.sources import patterns_for
from xbarmem.energy import measure as energy_measure
from xbarmem.errors import ArgumentError, ConfigError, PatternError
from xbarmem.evaluation import curve
from xbarmem.evaluation.metrics import cosine_similarity
from xbarmem.evaluation.search_plan import budget_copies
from xbarmem.experiments import ResultStore, parse_sweep
from xbarmem.experiments.runner import run_sweep
from xbarmem.seeds import random_subset, subset_seed
from xbarmem.viz.figures import recall_grid

DIGITS = xm.load_digits(n_patterns=6)


def test_a_pattern_set_is_indexed_as_numpy_and_torch_users_expect():
    """``pats[:3]`` raised TypeError (not subscriptable)."""
    first = DIGITS[:3]
    assert isinstance(first, xm.PatternSet) and first.n_patterns == 3
    assert list(first.labels) == [0, 1, 2] and first.image_shape == (8, 8)
    assert first.name == DIGITS.name and first.kind == DIGITS.kind
    assert list(DIGITS[[4, 1]].labels) == [4, 1]
    assert list(DIGITS[DIGITS.labels >= 3].labels) == [3, 4, 5]
    assert list(DIGITS[np.array([5])].labels) == [5]
    row = DIGITS[-1]  # one pattern: its row, as iterating gives it
    assert row.shape == (64,) and row.dtype == np.float32
    assert np.array_equal(row, list(DIGITS)[-1]) and np.array_equal(DIGITS[np.int64(2)],
                                                                     DIGITS.patterns[2])
    with pytest.raises(PatternError, match="^index 6 is out of range for 6 patterns$"):
        DIGITS[6]
    with pytest.raises(PatternError, match="bad subset indices for 6 patterns"):
        DIGITS[[0, 9]]


def test_a_pattern_set_is_read_as_its_matrix_by_numpy_and_torch():
    """``np.asarray(pats)`` gave a 0-d object array; ``torch.as_tensor(pats)`` raised
    RuntimeError (could not infer dtype)."""
    arr = np.asarray(DIGITS)
    assert arr.shape == (6, 64) and arr.dtype == np.float32
    assert np.array_equal(arr, DIGITS.patterns)
    assert np.asarray(DIGITS, dtype=np.float64).dtype == np.float64
    copied = np.array(DIGITS, copy=True)
    assert copied is not DIGITS.patterns and np.array_equal(copied, DIGITS.patterns)
    with pytest.raises(ValueError, match="needs a copy"):
        np.asarray(DIGITS, dtype=np.float64, copy=False)
    for make in (torch.as_tensor, torch.tensor, torch.asarray):
        tensor = make(DIGITS)
        assert tensor.shape == (6, 64) and tensor.dtype == torch.float32
        assert torch.equal(tensor, torch.tensor(DIGITS.patterns))  # (read-only: copied)
    assert torch.as_tensor(DIGITS, dtype=torch.float64).dtype == torch.float64


def test_a_pattern_set_is_taken_wherever_a_matrix_of_cues_is(small_memory):
    """(A set given as cues was refused with ``pass its .patterns``.)"""
    pats, memory = small_memory
    assert torch.equal(memory.recall(pats).states, memory.recall(pats.patterns).states)
    assert torch.equal(xm.flip_bits(pats, 0.2, 0), xm.flip_bits(pats.patterns, 0.2, 0))
    assert torch.equal(cosine_similarity(pats, pats.patterns), torch.ones(3))


def _returned_types() -> dict[str, type]:
    """The xbarmem classes the public functions of ``xbarmem`` return (their annotations)."""
    found = {}
    for name in xm.__all__:
        func = getattr(xm, name)
        if callable(func) and not isinstance(func, type):
            func = inspect.unwrap(func)
            hint = inspect.signature(func).return_annotation
            for word in re.findall(r"[A-Za-z_]\w*", hint if isinstance(hint, str) else ""):
                cls = getattr(inspect.getmodule(func), word, None)
                if inspect.isclass(cls) and cls.__module__.startswith("xbarmem"):
                    found[f"{name} -> {word}"] = cls
    return found


def test_the_result_types_of_the_public_functions_are_exported():
    """``Score`` (evaluate_memory), ``CapacityResult`` (find_capacity) and ``PowerLawFit``
    (fit_power_law) were not importable from ``xbarmem``."""
    returned = _returned_types()
    assert {"evaluate_memory -> Score", "find_capacity -> CapacityResult",
            "fit_power_law -> PowerLawFit", "compare_rules -> RuleComparison",
            "run_scaling -> ScalingResult"} <= set(returned)
    missing = [k for k, cls in returned.items() if getattr(xm, cls.__name__, None) is not cls]
    assert not missing
    assert {"Score", "CapacityResult", "PowerLawFit", "RuleComparison",
            "ScalingResult"} <= set(dir(xm))


def test_train_result_is_the_documented_alias_of_fit_result():
    assert xm.TrainResult is xm.FitResult and xm.FitResult.__name__ == "FitResult"
    assert "``TrainResult``" in xm.FitResult.__doc__ and "alias" in xm.FitResult.__doc__


def test_compare_rules_prints_one_short_line_and_stays_a_dict():
    """Its plain dict printed every chip's scores (about 2,400 characters for two rules)."""
    res = xm.compare_rules(xm.random_patterns(4, 16, seed=0), rules=["hebb", "pinv"], trials=2)
    assert isinstance(res, dict) and isinstance(res, xm.RuleComparison)
    assert list(res) == ["rules", "settings"] and list(res["rules"]) == ["hebb", "pinv"]
    text = repr(res)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("RuleComparison(cosine={'hebb': ") and "chip='paper-sim'" in text
    assert f"'pinv': {res['rules']['pinv']['cosine']:.4g}" in text and "trials=2" in text
    plain = res.as_dict()
    assert type(plain) is dict and plain == res
    assert json.loads(json.dumps(res))["settings"]["trials"] == 2


def test_run_scaling_prints_one_short_line_and_stays_a_dict():
    """Its plain dict printed every run's points (about 7,000 characters for three sizes)."""
    res = xm.run_scaling([16, 25, 36], arch="single", rule="pinv", data="random", trials=1,
                         pool_size=60, cue_budget=0, resolution=0.2)
    assert isinstance(res, dict) and isinstance(res, xm.ScalingResult)
    assert list(res) == ["sizes", "capacity", "fits", "fit_notes", "runs", "settings"]
    text = repr(res)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("ScalingResult(sizes=[3 values, 16 to 36], capacity={'0.99': [")
    assert f"slope={{'0.99': {res['fits']['0.99']['slope']:.4g}}}" in text
    assert text.endswith("arch='single', rule='pinv', data='random')")
    assert type(res.as_dict()) is dict and json.loads(json.dumps(res)) == json.loads(
        json.dumps(res.as_dict()))


def test_the_chip_defaults_to_paper_sim_in_compare_rules_and_recall_curve():
    """``compare_rules(patterns, chip, rules)`` and ``recall_curve(pool, counts, chip)``
    required the chip that ``train`` and ``find_capacity`` default to ``paper-sim``."""
    pats = xm.random_patterns(4, 16, seed=0)
    default = xm.compare_rules(pats, rules="pinv", trials=1)
    given = xm.compare_rules(pats, "paper-sim", "pinv", trials=1)  # positional still works
    assert default["settings"] == given["settings"]
    assert default["rules"]["pinv"]["chips"] == given["rules"]["pinv"]["chips"]
    points = curve.recall_curve(pats, [2], rule="pinv")["points"]
    assert points == curve.recall_curve(pats, [2], "paper-sim", "pinv")["points"]
    with pytest.raises(ArgumentError, match=r"^compare_rules\(\) needs rules: .*rules=\["):
        xm.compare_rules(pats)
    with pytest.raises(ArgumentError, match=r"given where the chip goes names rules: pass "
                                            r"compare_rules\(patterns, rules=\['hebb'\]\)"):
        xm.compare_rules(pats, ["hebb"])


def test_a_capacity_result_comes_back_from_its_json():
    """``CapacityResult(**as_dict())`` after JSON kept the thresholds as texts
    (``capacity['0.99']``), so ``result.capacity[0.99]`` raised KeyError."""
    cap = xm.find_capacity(xm.random_patterns(10, 16, seed=0), rule="pinv", chip="ideal",
                           trials=1)
    back = xm.CapacityResult(**json.loads(json.dumps(cap.as_dict())))
    assert back == cap and back.capacity[0.99] == cap.capacity[0.99]
    assert list(back.capacity_per_device) == [0.99]
    with pytest.raises(ConfigError, match=r"^capacity must be keyed by thresholds \(numbers\), "
                                          r"got \['a'\]$"):
        xm.CapacityResult({"a": 1}, [], {}, {}, 0.0, 0)


def test_a_recall_grid_takes_what_a_notebook_holds(small_memory):
    """A PatternSet, tensors and a RecallResult are drawn; a bad image shape, a list of
    states or a matrix of another shape are refused naming them (a Python IndexError,
    TypeError and AttributeError were raised)."""
    pats, memory = small_memory
    cues = xm.flip_bits(pats, 0.2, 0)
    result = memory.recall(cues)
    fig = recall_grid(pats, cues, (4, 4), {"adaptive": result})
    ref = recall_grid(pats.patterns, cues.numpy(), (4, 4), {"adaptive": result.states.numpy()})
    image, same = (f.axes[0].images[0].get_array().filled(9) for f in (fig, ref))
    assert image.shape == (14, 14) and np.array_equal(image, same)
    for call, message in [
            (lambda: recall_grid(pats, cues, None, {}), "^image_shape must be a pair"),
            (lambda: recall_grid(pats, cues, (4, 4), [result]), "^recalled must be a dict"),
            (lambda: recall_grid(pats, cues[:2], (4, 4), {}),
             r"^cues must have the shape of stored \(3, 16\), got \(2, 16\)$"),
            (lambda: recall_grid(pats, cues, (4, 4), {"x": "y"}), r"^recalled\['x'\] must be")]:
        with pytest.raises(ConfigError, match=message):
            call()


def test_a_store_and_a_sweep_report_print_one_line(tmp_path):
    """``ResultStore`` printed ``<...ResultStore object at 0x...>``; ``SweepReport`` its
    seconds to 17 digits and every failure."""
    spec = parse_sweep(tomllib.loads(tiny_sweep("t", fault_rates=[0.0, 0.3])))
    report = run_sweep(spec, tmp_path / "s.sqlite")
    text = repr(report)
    assert text.startswith("SweepReport(total=4, already=0, ran=4, inserted=4, ")
    seconds = re.search(r"seconds=([^,]+),", text).group(1)
    assert "failures=0" in text and seconds == f"{report.seconds:.4g}", text
    store = ResultStore(tmp_path / "s.sqlite")
    assert repr(store) == f"ResultStore({str(tmp_path / 's.sqlite')!r}, sweeps={{'t': 4}})"
    store.close()
    assert repr(store) == f"ResultStore({str(tmp_path / 's.sqlite')!r}, closed)"


def test_a_store_gives_its_rows_flat_as_its_csv_has_them(tmp_path):
    """``pandas.DataFrame(store.rows())`` gave two object columns (``config``, ``result``
    dicts): ``table()`` gives the CSV's rows, one key per column, every column in every row."""
    spec = parse_sweep(tomllib.loads(tiny_sweep("t", rules=("hebb", "adaptive"))))
    run_sweep(spec, tmp_path / "s.sqlite")
    with ResultStore(tmp_path / "s.sqlite", readonly=True) as db:
        table, nested = db.table(), db.rows()
        stream = io.StringIO()
        db.write_csv(stream)
        (alone,) = db.table(["rule=hebb"], limit=1)  # (the columns of its own rows)
        with pytest.raises(ConfigError, match="rul=hebb"):
            db.table(["rul=hebb"])
    header = next(csv.reader(io.StringIO(stream.getvalue())))
    assert [list(row) for row in table] == [header, header]
    assert header[:3] == ["key", "sweep", "trial"] and "result.cosine" in header
    assert [row["key"] for row in table] == [row["key"] for row in nested]
    (hebb, first), (adaptive, second) = sorted(zip(table, nested, strict=True),
                                               key=lambda pair: pair[0]["config.rule"] != "hebb")
    assert hebb["config.rule"] == "hebb" and adaptive["config.rule"] == "adaptive"
    assert hebb["result.cosine"] == first["result"]["cosine"]
    assert isinstance(hebb["result.cosine"], float) and hebb["config.n_neurons"] == 16
    assert alone == {k: v for k, v in hebb.items() if k in alone} and len(alone) < len(hebb)
    assert hebb["config.rule_options.max_steps"] is None  # (an option of the adaptive rule)
    options = second["config"]["rule_options"]
    assert adaptive["config.rule_options.max_steps"] == options["max_steps"]
    assert hebb["sweeps"] == '["t"]'  # lists as JSON text, as the CSV writes them
    assert json.loads(hebb["result.per_pattern_cosine"]) == first["result"]["per_pattern_cosine"]


def test_repeats_are_trials_in_compare_rules_and_run_demo_as_in_find_capacity(tmp_path):
    """Repeated chips are ``trials`` in every entry point (``find_capacity``, ``run_scaling``,
    ``recall_curve``, the command line's ``--trials``); ``compare_rules`` and ``run_demo``
    called them ``chips``, which still works with a DeprecationWarning (and both at once is
    refused)."""
    from xbarmem.experiments.demo import run_demo

    pats = xm.random_patterns(4, 16, seed=0)
    new = xm.compare_rules(pats, "ideal", "pinv", trials=2)
    with pytest.warns(DeprecationWarning, match="chips= is deprecated; use trials="):
        old = xm.compare_rules(pats, "ideal", "pinv", chips=2)
    assert new["settings"] == old["settings"] and new["settings"]["trials"] == 2
    assert new["rules"]["pinv"]["cosine"] == old["rules"]["pinv"]["cosine"]
    with pytest.raises(xm.ArgumentError, match="both trials= and chips="):
        xm.compare_rules(pats, "ideal", "pinv", trials=2, chips=2)
    for name in ("trials", "chips"):
        assert (name in inspect.signature(xm.compare_rules).parameters) == (name == "trials")
        assert (name in inspect.signature(run_demo).parameters) == (name == "trials")
    with pytest.warns(DeprecationWarning, match="run_demo"), pytest.raises(
            xm.ConfigError, match="trials must be an integer >= 1"):
        run_demo(chips=0, out_dir=tmp_path / "never")


def test_measure_names_its_arguments_as_every_other_entry_point_does():
    """``measure(n, patterns="random", count=2, faults=0.3)`` used ``n`` for neurons (the
    loaders' ``n`` is a pattern count), ``patterns`` for a source name (``train``'s
    ``patterns`` are the patterns), ``count`` for ``n_patterns`` and ``faults`` for a stuck
    fraction (``train`` / ``find_capacity``'s ``faults`` is a FaultMap). They are
    ``n_neurons``, ``data`` (as ``run_scaling`` / ``run_demo``), ``n_patterns`` and
    ``fault_rate`` (as sweeps and ``run_demo``); the old names warn and give the same."""
    from xbarmem.experiments.demo import run_demo

    measure = energy_measure.measure
    params = inspect.signature(measure).parameters
    assert {"n_neurons", "data", "n_patterns", "fault_rate"} <= set(params)
    assert not {"n", "patterns", "count", "faults"} & set(params)
    assert "fault_rate" in inspect.signature(run_demo).parameters
    new = measure(16, data="random", n_patterns=2, fault_rate=0.3, chip="rram", rule="pinv",
                  probes=1)
    with pytest.warns(DeprecationWarning) as caught:
        old = measure(n=16, patterns="random", count=2, faults=0.3, chip="rram", rule="pinv",
                      probes=1)
    assert {str(w.message).split(":")[1].split("=")[0].strip() for w in caught} == {
        "n", "patterns", "count", "faults"}
    assert np.array_equal(new.sync_steps, old.sync_steps)
    assert np.array_equal(new.async_steps, old.async_steps)
    timing = {"seconds", "train_seconds", "measure_seconds"}
    assert ({k: v for k, v in new.info.items() if k not in timing}
            == {k: v for k, v in old.info.items() if k not in timing})


#: every loader taking a number of patterns: name -> (call with keywords, the same by position
#: where the number was positional before, None where it is keyword-only)
_LOADERS = {
    "load_mnist": (lambda **kw: xm.load_mnist(side=8, **kw),
                   lambda k: xm.load_mnist(8, "binary", k)),
    "load_glyphs": (lambda **kw: xm.load_glyphs(side=8, **kw),
                    lambda k: xm.load_glyphs(8, "binary", k)),
    "load_digits": (lambda **kw: xm.load_digits(**kw), lambda k: xm.load_digits("binary", k)),
    "load_image_set": (lambda **kw: load_image_set("glyphs", **kw),
                       lambda k: load_image_set("glyphs", "binary", 8, k)),
    "load_patterns": (lambda **kw: xm.load_patterns("mnist-crop24", **kw),
                      lambda k: xm.load_patterns("mnist-crop24", "binary", 8, k)),
    "load_patterns(random)": (lambda **kw: xm.load_patterns("random", seed=2, **kw),
                              lambda k: xm.load_patterns("random", "binary", 8, k, 2)),
    "patterns_for": (lambda **kw: patterns_for("correlated-0.3", 36, seed=1, **kw), None),
}


@pytest.mark.parametrize("loader", sorted(_LOADERS))
def test_every_loader_calls_the_number_of_patterns_n_patterns(loader):
    """The loaders took the number of patterns as ``n`` (``load_mnist(side=8, n=32)``) while
    ``random_patterns``, ``correlated_patterns``, ``measure`` and the command line's
    ``--patterns`` say ``n_patterns``: it is ``n_patterns`` everywhere; ``n`` still works with
    a DeprecationWarning and gives the same patterns, both at once are refused in one line,
    and a number given by position still lands where it did."""
    by_keyword, by_position = _LOADERS[loader]
    new = by_keyword(n_patterns=5)
    assert new.n_patterns == 5
    name = loader.split("(")[0]
    with pytest.warns(DeprecationWarning, match=rf"{name}\(\): n= is deprecated; use "
                                                rf"n_patterns="):
        old = by_keyword(n=5)
    assert torch.equal(torch.tensor(old.patterns), torch.tensor(new.patterns))
    assert old.name == new.name and old.kind == new.kind
    with pytest.raises(ArgumentError) as info:
        by_keyword(n_patterns=5, n=5)
    assert str(info.value) == (f"{name}() got both n_patterns= and n=, its earlier name; give "
                               f"n_patterns= only")
    if by_position is not None:
        assert torch.equal(torch.tensor(by_position(5).patterns),
                           torch.tensor(new.patterns))


def test_the_pattern_subset_helpers_call_their_count_n_patterns():
    """``seeds.random_subset`` / ``subset_seed`` and ``search_plan.budget_copies`` (public
    in their modules' ``__all__``) called the number of stored patterns ``count``: it is
    ``n_patterns`` as in the loaders; ``count=`` warns and gives the same."""
    assert random_subset(50, n_patterns=7, seed=3).tolist() == random_subset(50, 7, 3).tolist()
    with pytest.warns(DeprecationWarning, match=r"random_subset\(\): count= is deprecated"):
        assert random_subset(50, count=7, seed=3).tolist() == random_subset(50, 7, 3).tolist()
    with pytest.warns(DeprecationWarning, match=r"subset_seed\(\): count="):
        assert subset_seed(4, count=3, trial=1) == subset_seed(4, n_patterns=3, trial=1)
    with pytest.warns(DeprecationWarning, match=r"budget_copies\(\): count="):
        assert budget_copies(1024, count=100) == budget_copies(1024, n_patterns=100) == 11
    with pytest.raises(ArgumentError, match="got both n_patterns= and count="):
        subset_seed(4, n_patterns=3, count=3, trial=1)
    for func in (random_subset, subset_seed, budget_copies):
        assert "n_patterns" in inspect.signature(func).parameters


def test_every_entry_point_reading_a_matrix_takes_kind_and_zero_one_as_train_does():
    """``train(matrix, kind="continuous")`` and ``zero_one=True`` read a continuous or a {0, 1}
    matrix, and the refusal of such a matrix read as binary says to pass them; but
    ``compare_rules``, ``find_capacity`` and ``recall_curve`` refused them as unknown
    keywords, so a matrix could only reach them wrapped in ``as_pattern_set``."""
    rng = np.random.default_rng(0)
    cont = rng.uniform(-1, 1, (4, 16)).astype(np.float32)
    bits = (rng.random((4, 16)) < 0.5).astype(np.float32)
    for x, given in ((cont, {"kind": "continuous"}), (bits, {"zero_one": True})):
        with pytest.raises(PatternError, match="kind='continuous'|zero_one=True"):
            xm.compare_rules(x, "ideal", "pinv", trials=1)
        pset = xm.as_pattern_set(x, **given)
        a = xm.compare_rules(x, "ideal", "pinv", trials=1, **given)
        b = xm.compare_rules(pset, "ideal", "pinv", trials=1)
        assert a["rules"]["pinv"]["cosine"] == b["rules"]["pinv"]["cosine"]
        c = xm.find_capacity(x, rule="pinv", chip="ideal", trials=1, thresholds=[0.95], **given)
        d = xm.find_capacity(pset, rule="pinv", chip="ideal", trials=1, thresholds=[0.95])
        assert c.capacity == d.capacity and c.settings["kind"] == pset.kind
        e = curve.recall_curve(x, [2], "ideal", "pinv", **given)
        assert e["points"] == curve.recall_curve(pset, [2], "ideal", "pinv")["points"]


def test_every_recall_entry_point_takes_recall_s_keywords_with_its_defaults():
    """``xm.recall(matrix, cues, tol=...)`` set the fixed-point tolerance of continuous
    recall; ``Memory.recall`` and ``BackendMemory.recall`` refused ``tol`` as an unknown
    keyword. They take every keyword of ``recall`` (``activation`` None: the memory's
    kind), with the same defaults, and pass ``tol`` on."""
    from xbarmem.deploy.backend import BackendMemory, simulated_backends

    base = inspect.signature(xm.recall).parameters
    for method in (xm.Memory.recall, BackendMemory.recall):
        params = inspect.signature(method).parameters
        for name in ("mode", "max_iterations", "tol", "seed"):
            assert params[name].default == base[name].default, (method, name)
    patterns = xm.random_patterns(3, 16, kind="continuous", seed=0)
    memory = xm.train(patterns, chip="ideal", rule="pinv")
    cues = patterns.patterns * 0.5
    loose = memory.recall(cues, tol=0.5)
    tight = memory.recall(cues, tol=1e-6)
    assert int(loose.iterations.max()) < int(tight.iterations.max())
    view = BackendMemory(memory, simulated_backends(memory))
    view.program_targets()
    assert int(view.recall(cues, tol=0.5).iterations.max()) < int(
        view.recall(cues, tol=1e-6).iterations.max())


def test_a_protocol_takes_recall_s_tol_and_every_evaluation_passes_it_on():
    """``Memory.recall(tol=)`` set the tanh fixed-point tolerance, but ``Protocol`` had no
    ``tol`` (an unknown keyword): evaluations of continuous memories could not ask for the
    stopping rule their own recalls used. ``Protocol`` takes it with recall's name, check and
    default; ``evaluate_memory``, ``evaluate_many`` (batched) and ``compare_rules`` recall
    with it; a default ``tol`` is not recorded (records of existing protocols keep their
    keys)."""
    from xbarmem.evaluation.evaluate import evaluate_many

    assert inspect.signature(xm.Protocol).parameters["tol"].default == inspect.signature(
        xm.recall).parameters["tol"].default
    for bad in (-1.0, float("nan"), True, "0.1"):
        with pytest.raises(ConfigError, match="tol"):
            xm.Protocol(tol=bad)
    assert "tol" not in xm.Protocol().as_dict()
    loose = xm.Protocol(corruption="gaussian", level=0.3, probes=2, tol=0.5)
    assert xm.Protocol(**loose.as_dict()) == loose and loose.as_dict()["tol"] == 0.5
    tight = replace(loose, tol=1e-6)
    patterns = xm.random_patterns(3, 16, kind="continuous", seed=0)
    memory = xm.train(patterns, chip="ideal", rule="pinv")
    fast, slow = (xm.evaluate_memory(memory, patterns, p) for p in (loose, tight))
    assert fast.mean_iterations < slow.mean_iterations
    assert [s.mean_iterations for s in evaluate_many([memory], [patterns], [loose])] == [
        fast.mean_iterations]  # (the batched recall of noise-free crossbars)
    rules = {p.tol: xm.compare_rules(patterns, "ideal", "pinv", trials=1, protocol=p)
             for p in (loose, tight)}
    assert (rules[0.5]["rules"]["pinv"]["mean_iterations"]
            < rules[1e-6]["rules"]["pinv"]["mean_iterations"])
    assert rules[0.5]["settings"]["protocol"]["tol"] == 0.5
