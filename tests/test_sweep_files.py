"""Sweeps over a pattern FILE (``data = "mine.npy"``), and the sweep file's refusals that no
other test reached: the file's contents are part of every trial's key, the trials store the
file's patterns, and a file rewritten in the same Python session is a new data set (its
contents were cached by path: the second sweep found the first's rows and stored nothing)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import ConfigError
from xbarmem.experiments import ResultStore, parse_sweep
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.trial import stored_patterns


def _spec(data, **base):
    return parse_sweep({"sweep": {"name": "file", "trial": "evaluate", "seeds": 1},
                        "base": {"data": str(data), "n_neurons": 16, "patterns": 3,
                                 "selection": "first", "probes": 2, "rule": "pinv", **base}})


def _rewrite(path, patterns):
    before = os.stat(path).st_mtime_ns
    np.save(path, patterns)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a coarse clock: still "changed"


def test_a_sweep_over_a_file_keys_and_stores_its_contents(tmp_path):
    file = tmp_path / "mine.npy"
    first = xm.random_patterns(5, 16, seed=0).patterns
    np.save(file, first)
    spec = _spec(file)
    (trial,) = spec.trials
    assert trial.config["data_sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    np.testing.assert_array_equal(stored_patterns(trial.config).patterns, first[:3])
    report = run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    assert (report.inserted, report.failures) == (1, [])

    second = -first[::-1]  # same size, other contents
    _rewrite(file, second)
    again = _spec(file)
    (trial2,) = again.trials
    assert trial2.config["data_sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert trial2.key != trial.key
    np.testing.assert_array_equal(stored_patterns(trial2.config).patterns, second[:3])
    report = run_sweep(again, tmp_path / "s.sqlite", jobs=1)
    assert (report.inserted, report.already) == (1, 0)
    with ResultStore(tmp_path / "s.sqlite", readonly=True) as db:
        digests = sorted(r["config"]["data_sha256"] for r in db.rows())
    assert digests == sorted([trial.config["data_sha256"], trial2.config["data_sha256"]])


def test_a_chip_file_rewritten_in_one_session_is_a_new_chip(tmp_path):
    """A chip TOML edited between two sweeps of one Python session (a notebook) planned the
    second on the chip as first read: its trials kept their keys, the run found the first's
    row, and a run of new trials would have trained on the old chip."""
    chip = tmp_path / "mine.toml"
    chip.write_text(xm.load_chip("rram").to_toml())
    (trial,) = _spec("random", chip=str(chip)).trials
    report = run_sweep(_spec("random", chip=str(chip)), tmp_path / "s.sqlite", jobs=1)
    assert report.inserted == 1
    before = os.stat(chip).st_mtime_ns
    chip.write_text(xm.load_chip("rram").replace_device(write_noise=1e-6).to_toml())
    os.utime(chip, ns=(before + 10**9, before + 10**9))  # a coarse clock: still "changed"
    (again,) = _spec("random", chip=str(chip)).trials
    assert again.config["chip_spec"]["device"]["write_noise"] == 1e-6
    assert trial.config["chip_spec"]["device"]["write_noise"] == 2e-6
    report = run_sweep(_spec("random", chip=str(chip)), tmp_path / "s.sqlite", jobs=1)
    assert (report.inserted, report.already) == (1, 0)


def test_a_file_that_shrank_is_checked_again(tmp_path):
    file = tmp_path / "mine.npy"
    np.save(file, xm.random_patterns(5, 16, seed=0).patterns)
    assert _spec(file).trials
    _rewrite(file, xm.random_patterns(2, 16, seed=0).patterns)
    with pytest.raises(ConfigError, match="patterns = 3: data .* has only 2 patterns"):
        _spec(file)


@pytest.mark.parametrize(("base", "match"), [
    ({"data": "no-such.npy"}, "not a built-in set .* and no such file"),
    ({"n_neurons": 25}, "the patterns in .* have N = 16"),
    ({"selection": "random", "pool": 3, "patterns": 4}, "patterns = 4: exceeds pool = 3"),
    ({"pool": 4}, "pool = 4: applies to random selection and capacity trials only"),
])
def test_file_sweeps_refuse_what_the_file_cannot_give(tmp_path, base, match):
    file = tmp_path / "mine.npy"
    np.save(file, xm.random_patterns(5, 16, seed=0).patterns)
    data = base.pop("data", file)
    with pytest.raises(ConfigError, match=match):
        _spec(tmp_path / data if data != file else file, **base)


def test_a_file_of_fewer_patterns_than_the_default_pool_is_the_pool(tmp_path):
    """Random selection and capacity trials draw from the first ``pool`` patterns (default
    1000): a file that holds fewer was refused (``pool = 1000: data ... has only 5
    patterns``) until the sweep set ``pool``; without ``pool`` it is all of the file. A pool
    given is still checked."""
    file = tmp_path / "mine.npy"
    np.save(file, xm.random_patterns(5, 16, seed=0).patterns)
    (trial,) = _spec(file, selection="random").trials
    assert trial.config["pool"] == 5
    report = run_sweep(_spec(file, selection="random"), tmp_path / "s.sqlite", jobs=1)
    assert (report.inserted, report.failures) == (1, [])
    with pytest.raises(ConfigError, match="patterns = 6: exceeds pool = 5"):
        _spec(file, selection="random", patterns=6)
    with pytest.raises(ConfigError, match="pool = 6: data .* has only 5 patterns"):
        _spec(file, selection="random", pool=6)
    capacity = {"sweep": {"name": "c", "trial": "capacity", "seeds": 1},
                "base": {"data": str(file), "n_neurons": 16, "rule": "pinv", "probes": 2}}
    (trial,) = parse_sweep({**capacity, "base": {**capacity["base"], "counts": [2, 5]}}).trials
    assert trial.config["pool"] == 5
    with pytest.raises(ConfigError, match="largest count exceeds pool = 5"):
        parse_sweep({**capacity, "base": {**capacity["base"], "counts": [2, 6]}})


def test_a_sweep_resizes_a_files_images_as_every_command_does(tmp_path):
    """A sweep plans a file's 8-bit images at N by the rule its trials (and every command)
    follow: shrunk to side sqrt(N), never enlarged (8x8 images at N = 100 were planned, then
    enlarged)."""
    file = tmp_path / "img.npy"
    np.save(file, np.random.default_rng(0).integers(0, 256, (5, 8, 8), dtype=np.uint8))
    (trial,) = _spec(file).trials
    assert stored_patterns(trial.config).image_shape == (4, 4)
    with pytest.raises(ConfigError, match=r"img\.npy images are resized .*side 4\.\.8 \(its "
                       r"images are 8x8\), so N must be 16 \.\.\. 64; got N = 100"):
        _spec(file, n_neurons=100)


_CAP = {"sweep": {"name": "c", "trial": "capacity", "seeds": 1},
        "base": {"data": "random", "n_neurons": 16, "rule": "pinv", "probes": 2}}


@pytest.mark.parametrize(("changes", "match"), [
    ({"base": {"search": True, "counts": [2, 4]}}, "give either counts or search = true"),
    ({"base": {"search": True, "variation": 0.1}}, "search = true does not support"),
    ({"base": {}}, "capacity trials need counts"),
    ({"base": {"counts": [2, 40], "pool": 20}}, "largest count exceeds pool = 20"),
    ({"base": {"counts": [2], "arch": "multilayer", "hidden": 8}},
     "multilayer memories are trained by the hardware-adaptive rule only"),
    ({"base": {"counts": [2], "kind": "continuous", "corruption": "flip"}},
     "applies to binary patterns only"),
    ({"base": {"counts": [2], "data": "correlated-0.3", "kind": "continuous"}},
     "is binary only"),
    ({"base": {"counts": [2], "rule_options": {"x": 1}}}, "rule options go in"),
    ({"sweep": 3}, r"\[sweep\] must be a table"),
    ({"grid": [3]}, r"\[\[grid\]\] #1 must be a table"),
    ({"rule_options": {"pinv": 3}}, r"\[rule_options.pinv\] must be a table"),
    ({"grid": {"rule_options": 3}}, r"\[grid\] rule_options must be a table"),
    ({"grid": {"rule_options": {"adaptive": 3}}}, r"rule_options.adaptive must be a table"),
    ({"rules": {}}, "top-level sweep"),
])
def test_sweep_files_refuse_impossible_trials(changes, match):
    data = {**_CAP, **changes}
    if "base" in changes:
        data["base"] = {**_CAP["base"], **changes["base"]}
    with pytest.raises(ConfigError, match=match):
        parse_sweep(data)


def test_a_grid_over_rule_options_round_trips():
    spec = parse_sweep({"sweep": {"name": "g", "trial": "evaluate", "seeds": 1},
                        "base": {"data": "random", "n_neurons": 16, "patterns": 3},
                        "grid": {"rule_options": {"adaptive": {"cue_flip": [0.05, 0.1]}}}})
    flips = sorted(t.config["rule_options"]["cue_flip"] for t in spec.trials)
    assert flips == [0.05, 0.1]
    again = parse_sweep(spec.as_dict())
    assert sorted(t.key for t in again.trials) == sorted(t.key for t in spec.trials)


def test_a_file_changed_after_planning_is_refused_by_its_trials(tmp_path):
    """A file rewritten between planning a sweep and running it trained the new contents under
    the old digest (workers never compared it)."""
    file = tmp_path / "mine.npy"
    np.save(file, xm.random_patterns(5, 16, seed=0).patterns)
    spec = _spec(file)
    _rewrite(file, xm.random_patterns(5, 16, seed=1).patterns)
    report = run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    assert report.inserted == 0 and len(report.failures) == 1
    assert "changed after the sweep was planned" in str(report.failures[0])


# ------------------------------------------------------------------------------ hidden words
def _multilayer(hidden, n_neurons=16):
    return parse_sweep({"sweep": {"name": "ml", "trial": "evaluate"},
                        "base": {"arch": "multilayer", "data": "random", "patterns": 3,
                                 "n_neurons": n_neurons},
                        "grid": {"hidden": [hidden]}})


@pytest.mark.parametrize(("hidden", "n", "trained"), [
    ("1n", 16, 16), ("0.5n", 25, 12), ("1N", 25, 25), (["1n", 8], 16, [16, 8]),
    ("32", 16, 32), (["0.25n"], 16, [4])])
def test_a_sweep_hidden_takes_the_command_lines_multiples_of_n(hidden, n, trained):
    """`hidden = "1n"` was refused ("must be an integer >= 1 ...") while --hidden 1n works on
    the command line: a capacity-vs-N sweep of N-N-N memories needed one [[grid]] per N. The
    trial stores the widths it trains."""
    (trial,) = _multilayer(hidden, n).trials
    assert trial.config["hidden"] == trained


def test_a_hidden_multiple_of_n_keys_as_the_width_it_trains():
    """The stored config records widths, so `hidden = 16` (and a sweep written before) keeps
    its key, and `"1n"` at N = 16 is that same trial."""
    assert _multilayer("1n").trials[0].key == _multilayer(16).trials[0].key
    assert _multilayer(["1n"]).trials[0].key == _multilayer([16]).trials[0].key
    assert _multilayer(16).trials[0].config["hidden"] == 16


@pytest.mark.parametrize("hidden", ["0n", "-1n", "xn", "fixed:16", 0, 1.5, "16.5", True])
def test_a_sweep_hidden_refuses_what_the_command_line_refuses(hidden):
    with pytest.raises(ConfigError, match=r"\[grid\] hidden must be an integer >= 1 or a "
                                          r"multiple of N \('1n', '0.5n'\)"):
        _multilayer(hidden)


def test_list_options_says_hidden_takes_multiples_of_n(run_cli):
    code, out, err = run_cli("sweep", "--list-options")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("hidden:"))
    assert "'1n'" in line and "'0.5n'" in line, line


def _planned(grid, seeds=2, source="rep.toml"):
    """The trials of a tiny sweep over ``grid`` and the XbarmemWarnings its planning gave."""
    import warnings

    from xbarmem.errors import XbarmemWarning

    table = {"sweep": {"name": "rep", "trial": "evaluate", "seeds": seeds},
             "base": {"data": "random", "n_neurons": 16, "patterns": 3, "probes": 2},
             "grid": grid}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = parse_sweep(table, source=source)
    return spec.trials, [str(w.message) for w in caught if w.category is XbarmemWarning]


@pytest.mark.parametrize(("grid", "trials", "said"), [
    # pinv takes no adaptive option: its two points are one trial per seed
    ({"rule": ["adaptive", "pinv"], "rule_options": {"adaptive": {"cue_flip": [0.05, 0.1]}}},
     3, "rep.toml: 1 grid point is the same trial as another and runs once: "
        "rule_options.adaptive.cue_flip=0.1 == 0.05 with rule=\"pinv\""),
    # a union of grids naming one point twice
    ([{"rule": ["hebb"], "fault_rate": [0.0, 0.2]}, {"rule": ["hebb"], "fault_rate": [0.2]}],
     2, "rep.toml: 1 grid point is the same trial as another and runs once: "
        "rule=\"hebb\", fault_rate=0.2 in [[grid]] #1 and #2"),
    # hidden = "1n" at N = 16 trains the width 16
    ({"arch": ["multilayer"], "hidden": [16, "1n", 32]},
     2, "rep.toml: 1 grid point is the same trial as another and runs once: "
        "hidden=\"1n\" == 16 with arch=\"multilayer\""),
    # a preset named in another case is that preset (stored by its own name)
    ({"chip": ["ideal", "IDEAL", "Paper_Sim"]},
     2, "rep.toml: 1 grid point is the same trial as another and runs once: "
        "chip=\"IDEAL\" == \"ideal\""),
    ({"rule": ["storkey-variant", "pinv", "hebb"],
      "rule_options": {"storkey-variant": {"self_field": [True, False]}},
      "fault_rate": [0.0, 0.1]},
     8, "rep.toml: 4 grid points are the same trial as others and run once: "
        "rule_options.storkey-variant.self_field=false == true with rule=\"pinv\", "
        "fault_rate=0.0; rule_options.storkey-variant.self_field=false == true with "
        "rule=\"pinv\", fault_rate=0.1 "
        "(and 2 more)"),
])
def test_grid_points_that_are_the_same_trial_are_named_once(grid, trials, said):
    """Grid points resolving to trials already planned ran once without a word (the sweep ran
    fewer trials than its grid has points times seeds): one warning at planning names them."""
    planned, warned = _planned(grid, seeds=1)
    assert len(planned) == trials
    assert warned == [said]


def test_a_grid_without_repeats_plans_quietly_and_the_command_line_says_it_once(run_cli,
                                                                                  tmp_path):
    planned, warned = _planned({"rule": ["hebb", "pinv"], "fault_rate": [0.0, 0.1]}, seeds=3)
    assert len(planned) == 12 and warned == []
    sweep = tmp_path / "rep.toml"
    sweep.write_text('[sweep]\nname = "rep"\ntrial = "evaluate"\nseeds = 2\n[base]\n'
                     'data = "random"\nn_neurons = 16\npatterns = 3\nprobes = 2\n'
                     '[grid]\nrule = ["adaptive", "pinv"]\n'
                     'rule_options.adaptive.cue_flip = [0.05, 0.1]\n')
    code, out, err = run_cli("sweep", sweep, "--dry-run", "--json")
    assert code == 0, err
    assert err.count("grid point") == 1 and err.startswith("warning: ") and (
        "1 grid point is the same trial as another and runs once: "
        "rule_options.adaptive.cue_flip=0.1 == 0.05 with rule=\"pinv\"") in err, err
    assert '"total": 6' in out


def test_a_preset_chip_is_stored_by_its_own_name_and_a_file_by_its_path(tmp_path, monkeypatch):
    """`chip = "IDEAL"` was stored as typed: the same chip as `"ideal"` under another trial
    key (run twice, and `results --where chip=ideal` missed it). A file named like a preset
    is still the file."""
    (trial,) = _planned({"chip": ["Paper_Sim"]}, seeds=1)[0]
    assert trial.config["chip"] == "paper-sim"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "IDEAL").write_text(xm.load_preset("ideal").to_toml().replace(
        'name = "ideal"', 'name = "mine"'))
    (trial,) = _planned({"chip": ["IDEAL"]}, seeds=1)[0]
    assert trial.config["chip"] == "IDEAL"


@pytest.mark.parametrize("base", [{}, {"chip": "rram", "fault_model": "weight"}])
def test_on_fraction_under_the_weight_fault_model_is_refused_by_a_sweep(base):
    """`on_fraction` changed nothing under the weight fault model (a faulty weight is 0): a
    sweep over it ran identical trials under different keys; the command line refuses it."""
    table = {"sweep": {"name": "of", "trial": "evaluate"},
             "base": {"data": "random", "n_neurons": 16, "patterns": 3, **base},
             "grid": {"on_fraction": [0.0, 1.0]}}
    with pytest.raises(ConfigError, match=r"on_fraction = 0\.0: applies to the device fault "
                                          r"model only"):
        parse_sweep(table)
    device = {**table, "base": {**table["base"], "fault_model": "device", "fault_rate": 0.1}}
    assert len(parse_sweep(device).trials) == 2


# ------------------------------------------------------------------------------ rule names
_OWN = ("; a sweep file names the built-in rules only: a rule of your own is a Python object, "
        "compared by passing it as rule= to compare_rules, recall_curve or find_capacity "
        "(docs/extending.md)")


def _with_rule(where: str, rule: str) -> dict:
    tables = {"sweep": {"name": "r"}, "base": {"data": "random", "n_neurons": 16}}
    if where == "base":
        tables["base"]["rule"] = rule
    elif where == "grid":
        tables["grid"] = {"rule": ["hebb", rule]}
    else:
        tables["rule_options"] = {rule: {"max_steps": 2}}
    return tables


@pytest.mark.parametrize(("where", "key"), [("base", "[base] rule"), ("grid", "[grid] rule"),
                                            ("rule_options", "[rule_options] table name")])
@pytest.mark.parametrize(("rule", "hint"), [("myrule", _OWN), ("hebbb", "; did you mean 'hebb'?")])
def test_an_unknown_rule_in_a_sweep_says_what_a_sweep_can_name(where, key, rule, hint):
    """A sweep's unknown rule said only "must be one of ...", where the command line and the
    API name the closest rule, or say that a rule of one's own is an object passed as rule=;
    a sweep cannot name one, and now says so (and names the closest rule)."""
    with pytest.raises(ConfigError) as err:
        parse_sweep(_with_rule(where, rule), "s.toml")
    assert str(err.value) == (f"s.toml: {key} must be one of 'adaptive', 'hebb', 'storkey', "
                              f"'storkey-variant', 'pinv', 'perceptron', got {rule!r}{hint}")


def test_the_sweep_parser_refuses_an_unknown_rule_without_loading_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom xbarmem.errors import ConfigError\n"
            "from xbarmem.experiments.sweep import parse_sweep\n"
            "try:\n    parse_sweep({'sweep': {'name': 'r'}, 'base': {'rule': 'mine'}})\n"
            "except ConfigError as exc:\n    print('own' in str(exc), 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


@pytest.mark.parametrize(("key", "values"), [("rule", ["adaptive", "pinv"]),
                                             ("fault_rate", [0.0, 0.5]),
                                             ("thresholds", [[0.9], [0.95]])])
def test_a_list_of_values_in_base_says_that_they_go_in_the_grid(key, values):
    """``rule = ["adaptive", "pinv"]`` in [base] was refused as "[base] rule must be one of
    ..., got ['adaptive', 'pinv']", which did not say where a list of values to run goes."""
    tables = {"sweep": {"name": "b", "trial": "capacity"},
              "base": {"data": "random", "n_neurons": 16, "search": True, key: values}}
    with pytest.raises(ConfigError, match=rf"^<sweep>: \[base\] {key} must be .*, got .*; to run "
                       rf"a trial for each of these values, list them in \[grid\] "
                       rf"\({key} = \[\.\.\.\]\)$"):
        parse_sweep(tables)
    tables["base"][key] = [values[0], "x"]  # not each a value: the plain refusal
    with pytest.raises(ConfigError, match=rf"^<sweep>: \[base\] {key} must be [^;]*$"):
        parse_sweep(tables)


def test_rule_options_tables_name_rules_as_the_rest_of_the_file_does():
    """``[rule_options.Storkey]`` (a rule name as ``rule = "Storkey"`` is taken) ended in a
    ``KeyError`` traceback, and a grid ``rule_options.Adaptive.max_steps`` too: tables and grid
    keys name a rule in any of its spellings and apply to its trials; two tables of one rule
    are refused, and a table of a rule no trial trains is warned about (its options change
    nothing)."""
    from xbarmem.errors import XbarmemWarning

    head = {"sweep": {"name": "r"}, "base": {"data": "random", "n_neurons": 16, "patterns": 2}}
    spec = parse_sweep({**head, "base": {**head["base"], "rule": "adaptive"},
                        "rule_options": {"Adaptive": {"max_steps": 30}}})
    assert spec.trials[0].config["rule_options"]["max_steps"] == 30
    spec = parse_sweep({**head, "grid": {"rule_options": {"Adaptive": {"max_steps": [20, 30]}}}})
    assert sorted(t.config["rule_options"]["max_steps"] for t in spec.trials) == [20, 30]
    with pytest.raises(ConfigError, match="options of rule 'adaptive' are given twice"):
        parse_sweep({**head, "rule_options": {"Adaptive": {"max_steps": 30},
                                              "adaptive": {"max_steps": 20}}})
    with pytest.warns(XbarmemWarning, match=r"\[rule_options.storkey\]: no trial of this sweep "
                                            r"trains that rule \(it trains adaptive\)"):
        parse_sweep({**head, "rule_options": {"Storkey": {}}})


def test_a_base_value_every_grid_table_sets_is_warned_about():
    """``[base] fault_rate = 0.1`` beside ``[grid] fault_rate = [0.0, 0.2]`` ran no trial at
    0.1 and said nothing; a key some ``[[grid]]`` table leaves to ``[base]`` is used, so not
    warned about."""
    import warnings

    from xbarmem.errors import XbarmemWarning

    base = {"data": "random", "n_neurons": 16, "patterns": 2, "rule": "hebb", "fault_rate": 0.1}
    with pytest.warns(XbarmemWarning, match=r"\[base\] fault_rate = 0\.1: \[grid\] sets it, so "
                                            r"no trial runs with this value"):
        parse_sweep({"sweep": {"name": "b"}, "base": base,
                     "grid": {"fault_rate": [0.0, 0.2]}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        spec = parse_sweep({"sweep": {"name": "b"}, "base": base,
                            "grid": [{"fault_rate": [0.0, 0.2]}, {"patterns": [3]}]})
    assert sorted(t.config["fault_rate"] for t in spec.trials) == [0.0, 0.1, 0.2]


def test_a_base_value_a_grid_lists_too_is_not_said_to_run_in_no_trial():
    """``[base] n_neurons = 16`` beside ``[grid] n_neurons = [16, 25]`` was warned about as
    "no trial runs with this value", though the trials at 16 run with it."""
    import warnings

    from xbarmem.errors import XbarmemWarning

    base = {"data": "random", "n_neurons": 16, "patterns": 2, "rule": "hebb"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        spec = parse_sweep({"sweep": {"name": "b"}, "base": base,
                            "grid": {"n_neurons": [16, 25]}})
    assert sorted(t.config["n_neurons"] for t in spec.trials) == [16, 25]


def test_a_file_holding_a_zero_pattern_is_refused_before_the_store_is_made(tmp_path, run_cli):
    """A continuous pattern file with an all-zero row: `train --data FILE` refuses it (exit 2),
    but a sweep over it made the store, recorded its plan and failed every group at run time
    (exit 1, one line per group). It is refused when the sweep is planned."""
    patterns = np.random.default_rng(0).uniform(-1, 1, (5, 16)).astype(np.float32)
    patterns[4] = 0
    file = tmp_path / "mine.npy"
    np.save(file, patterns)
    with pytest.raises(ConfigError, match="1 pattern is all zeros, first row 4"):
        _spec(file, kind="continuous", corruption="gaussian", level=0.1)
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(f'[sweep]\nname = "z"\ntrial = "evaluate"\nseeds = 1\n[base]\n'
                     f'data = "{file}"\nn_neurons = 16\npatterns = 3\nkind = "continuous"\n'
                     f'corruption = "gaussian"\nlevel = 0.1\nprobes = 2\nrule = "hebb"\n')
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 2 and "all zeros" in err and len(err.strip().splitlines()) == 1, err
    assert not store.exists()
