"""Recall's stopping tolerance ``tol`` wherever recall quality is measured: the ``capacity`` and
``scaling`` commands (``--tol``), capacity searches and scaling runs in Python (through their
``Protocol``), and sweep trials (a ``tol`` key, in a trial's identity only when it is not the
default, so stores written before still resume). Tanh recall under read noise runs to its cap
unless ``tol`` is at the noise's scale: the searches warn of it as ``evaluate`` does."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import refused

import xbarmem as xm
from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.evaluation import curve
from xbarmem.experiments.batches import plan_groups, train_key
from xbarmem.experiments.grouping import field, group_rows
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep
from xbarmem.experiments.trial import _protocol
from xbarmem.names import DEFAULT_TOL

STORES = Path(__file__).parent / "stores"
#: the warning of tanh recalls under read noise that ran to the cap
CAPPED = "of the tanh recalls did not converge: under read noise"
SEARCH = ("--data", "random", "--neurons", "16", "--threshold", "0.95", "--trials", "1",
          "--probes", "2")
#: tanh recall, the only recall that reads a tol
TANH = ("--kind", "continuous")
NOISY = ("--kind", "continuous", "--chip", "rram", "--rule", "pinv")


@pytest.fixture
def tols(monkeypatch) -> list[float]:
    """The ``tol`` of every protocol a recall curve scores its networks under (every
    capacity search's count, one-layer or multilayer, goes through it)."""
    seen: list[float] = []
    original = curve.evaluate_many

    def spy(memories, patterns, protocols, *args, **kwargs):
        seen.extend(p.tol for p in protocols)
        return original(memories, patterns, protocols, *args, **kwargs)

    monkeypatch.setattr(curve, "evaluate_many", spy)
    return seen


# ------------------------------------------------------------------------------ the commands
@pytest.mark.parametrize("command", ["capacity", "scaling"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf"])
def test_a_bad_tol_is_refused_before_any_work(run_cli, tmp_path, command, value):
    """``capacity`` and ``scaling`` had no ``--tol``; they take evaluate's (same help and
    check): one line naming it, exit 2, nothing written."""
    out = ("--out", tmp_path / "out") if command == "scaling" else ()
    line = refused(run_cli, tmp_path, command, f"--tol={value}", *out, names=("--tol",))
    assert "must be a finite number >= 0" in line, line


def test_capacity_passes_its_tol_to_every_search_and_shows_it(run_cli, tols):
    """One-layer (a classic rule, and the hardware-adaptive one) and multilayer searches all
    recall with ``--tol``; the JSON's settings hold it and the table's title says it; at the
    default neither does (the records and titles of searches without one are as before)."""
    code, out, err = run_cli("capacity", "--arch", "single", "--rule", "pinv", *SEARCH, *TANH,
                             "--tol", "0.02")
    assert code == 0, err
    assert "tol 0.02, 1 trial" in " ".join(out.split()), out
    assert tols and set(tols) == {0.02}
    tols.clear()
    code, out, err = run_cli("capacity", "--arch", "single,multilayer", "--hidden", "8",
                             "--rule-option", "max_steps=20", *SEARCH, *TANH, "--tol", "0.03",
                             "--json")
    assert code == 0, err
    results = json.loads(out)["results"]
    assert [r["settings"]["protocol"]["tol"] for r in results] == [0.03, 0.03]
    assert [r["layout"] for r in results] == ["16", "16-8-16"]
    assert tols and set(tols) == {0.03}
    tols.clear()
    code, out, err = run_cli("capacity", "--rule", "pinv", *SEARCH, *TANH, "--json")
    assert code == 0, err
    assert "tol" not in json.loads(out)["results"][0]["settings"]["protocol"]
    assert set(tols) == {DEFAULT_TOL}


def test_scaling_passes_its_tol_on_and_shows_it(run_cli, tmp_path, tols):
    """Every N's search recalls with ``--tol``; the JSON file and output hold it, the title
    line says it."""
    args = ("scaling", "--arch", "single", "--rule", "pinv", "--data", "random", "--sizes",
            "16,25", "--probes", "2", "--threshold", "0.9", *TANH, "--out", tmp_path)
    code, out, err = run_cli(*args, "--tol", "0.04")
    assert code == 0, err
    assert out.splitlines()[0].endswith(", tol 0.04"), out
    assert tols and set(tols) == {0.04}
    (written,) = tmp_path.glob("*.json")
    res = json.loads(written.read_text())
    assert res["settings"]["protocol"]["tol"] == 0.04
    assert {r["settings"]["protocol"]["tol"] for r in res["runs"]} == {0.04}
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    assert "tol" not in json.loads(out)["settings"]["protocol"] and '"tol"' not in out


def test_searches_warn_of_tanh_recalls_under_read_noise_that_ran_to_the_cap(run_cli, tmp_path):
    """Under read noise tanh states change by about the noise at every step: with the default
    ``tol`` every recall of a search ran to the cap, silently (``evaluate`` warned of it, the
    searches did not). They give evaluate's warning, once per run; a ``--tol`` at the noise's
    scale lets the recalls settle and the warning goes."""
    code, _, err = run_cli("capacity", *NOISY, *SEARCH)
    assert code == 0
    assert err.count(CAPPED) == 1 and "--tol" in err, err
    code, _, err = run_cli("capacity", *NOISY, *SEARCH, "--tol", "0.2")
    assert code == 0 and CAPPED not in err, err
    code, _, err = run_cli("scaling", *NOISY, "--arch", "single", "--data", "random",
                           "--sizes", "16,25", "--probes", "2", "--threshold", "0.9",
                           "--out", tmp_path)
    assert code == 0
    assert err.count(CAPPED) == 1, err  # (once for the run, not once per N)
    code, _, err = run_cli("capacity", "--chip", "rram", "--rule", "pinv", *SEARCH)
    assert code == 0 and CAPPED not in err, err  # sign recall: no tol to blame


@pytest.mark.parametrize("command", ["evaluate", "recall", "capacity", "scaling", "energy",
                                     "energy --model"])
def test_a_tol_given_to_sign_recall_is_refused(run_cli, tmp_path, command):
    """Sign recall reads no ``tol``: ``--tol`` where every recall of the command is sign
    (binary patterns without ``--activation tanh``) was recorded and read by nothing; it is
    refused as the other options a command does not read, one line, exit 2, nothing written.
    With ``--activation tanh`` (binary patterns read out by their sign) it is read."""
    model = tmp_path / "m.safetensors"
    assert run_cli("train", "--data", "random", "--neurons", "16", "--patterns", "2",
                   "--rule", "pinv", "--out", model)[0] == 0
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16), dtype=np.float32))
    name, *rest = command.split()
    args = {"evaluate": (model, "--probes", "2"), "recall": (model, cues),
            "capacity": SEARCH, "scaling": ("--sizes", "16,25", "--out", tmp_path / "s"),
            "energy": ("--neurons", "16", "--patterns", "2"),
            "energy --model": (model, "--probes", "2")}[command]
    line = refused(run_cli, tmp_path, name, *rest, *args, "--tol", "0.5", names=("--tol",))
    assert "applies to" in line and "tanh" in line, line
    if name in ("evaluate", "recall"):
        code, out, err = run_cli(name, *args, "--activation", "tanh", "--tol", "0.5", "--json")
        assert code == 0, err


# ------------------------------------------------------------------------------ Python
def test_capacity_and_scaling_functions_take_the_tol_of_their_protocol(tols):
    """``find_capacity``, ``recall_curve`` and ``run_scaling`` take the ``tol`` of their
    ``Protocol`` (as ``evaluate_memory`` does: no keyword of their own), recall with it and
    record it; and a search warns of tanh recalls under read noise that ran to the cap."""
    pool = xm.random_patterns(12, 16, kind="continuous", seed=0)
    loose = xm.Protocol(corruption="gaussian", level=0.6, probes=2, tol=0.2)
    res = xm.find_capacity(pool, chip="rram", rule="pinv", thresholds=[0.9], trials=1,
                           protocol=loose)
    assert res.settings["protocol"]["tol"] == 0.2 and set(tols) == {0.2}
    tols.clear()
    points = curve.recall_curve(pool, [2, 3], "rram", "pinv", protocol=loose)
    assert points["protocol"]["tol"] == 0.2 and set(tols) == {0.2}
    tols.clear()
    scaled = xm.run_scaling([16, 25], arch="single", rule="pinv", data="random",
                            kind="continuous", thresholds=[0.9], protocol=loose)
    assert scaled["settings"]["protocol"]["tol"] == 0.2 and set(tols) == {0.2}
    with pytest.warns(XbarmemWarning, match=CAPPED):
        xm.find_capacity(pool, chip="rram", rule="pinv", thresholds=[0.9], trials=1,
                         protocol=xm.Protocol(corruption="gaussian", level=0.6, probes=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        xm.find_capacity(pool, chip="ideal", rule="pinv", thresholds=[0.9], trials=1,
                         protocol=xm.Protocol(corruption="gaussian", level=0.6, probes=2))


# ------------------------------------------------------------------------------ sweeps
def _sweep(**base) -> dict:
    return {"sweep": {"name": "tol", "trial": "evaluate", "seeds": 1, "batch": 4},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "selection": "first",
                     "probes": 2, "rule": "pinv", **base}}


def test_a_sweep_trial_holds_its_tol_only_when_it_is_not_the_default():
    """A trial's ``tol`` enters its configuration, hence its key, only when it is not the
    default: the keys of trials that set none are those of stores written before (pinned by
    ``test_trial_keys_are_those_of_existing_stores`` too). Trials that differ only in ``tol``
    share one trained network (a protocol setting)."""
    plain = parse_sweep(_sweep(activation="tanh")).trials[0]
    same = parse_sweep(_sweep(activation="tanh", tol=DEFAULT_TOL)).trials[0]
    loose = parse_sweep(_sweep(activation="tanh", tol=0.05)).trials[0]
    assert "tol" not in plain.config and same.key == plain.key
    assert loose.config["tol"] == 0.05 and loose.key != plain.key
    assert _protocol(loose.config).tol == 0.05 and _protocol(plain.config).tol == DEFAULT_TOL
    grid = parse_sweep({**_sweep(activation="tanh"), "grid": {"tol": [DEFAULT_TOL, 0.05]}})
    assert len(grid.trials) == 2 and len({train_key(t.config) for t in grid.trials}) == 1
    assert len(plan_groups(grid.trials, 4)) == 1
    capacity = parse_sweep({"sweep": {"trial": "capacity"}, "base": {
        "data": "random", "n_neurons": 16, "kind": "continuous", "rule": "pinv", "counts": [2],
        "tol": 0.05}})
    assert _protocol(capacity.trials[0].config).tol == 0.05


def test_a_sweep_trial_recalling_with_sign_keeps_no_tol():
    """Sign recall reads no ``tol``: a trial of binary patterns without ``activation = "tanh"``
    given one is the trial of the same point without it (same configuration and key, run
    once; its row holds the default), where it was a trial of its own recording a tol nothing
    read. A grid over the neurons keeps the tol of its tanh trials only."""
    plain = parse_sweep(_sweep()).trials[0]
    given = parse_sweep(_sweep(tol=0.05)).trials[0]
    assert plain.config["activation"] == "sign"
    assert "tol" not in given.config and given.key == plain.key
    grid = parse_sweep({**_sweep(tol=0.05), "grid": {"activation": ["sign", "tanh"]}})
    assert [t.config.get("tol") for t in grid.trials] == [None, 0.05]


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.1", True])
def test_a_bad_sweep_tol_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"\[base\] tol"):
        parse_sweep(_sweep(tol=value))


def test_sweep_trials_recall_with_their_tol(tmp_path):
    """Tanh recalls under read noise run to the cap at the default ``tol`` (converged 0) and
    settle with one at the noise's scale; the rows hold the tol given."""
    spec = parse_sweep({**_sweep(kind="continuous", chip="rram"),
                        "grid": {"tol": [DEFAULT_TOL, 0.2]}})
    run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    with ResultStore(tmp_path / "s.sqlite") as db:
        rows = {field(r, "tol"): r["result"] for r in db.rows()}
    assert rows[DEFAULT_TOL]["converged"] == 0.0 and rows[0.2]["converged"] > 0.5


def test_a_store_written_before_trials_had_a_tol_resumes_with_no_trial_run(tmp_path, run_cli):
    """A store written by the code before this change (main at 5155364: an evaluate sweep of
    three rules, the hardware-adaptive one keyed by its batch, two seeds, and a capacity
    curve on a chip with read noise; its SQL dump, hosts blanked) resumes under this code with
    every trial found stored; its rows read as holding the default ``tol`` (``--where``,
    ``--group-by``, ``--columns``) beside rows of another."""
    store = tmp_path / "main.sqlite"
    with sqlite3.connect(store) as db:
        db.executescript((STORES / "main-5155364.sql").read_text())
    for name in ("old-evaluate", "old-capacity"):
        shutil.copy(STORES / f"{name}.toml", tmp_path)
        report = run_sweep(load_sweep(tmp_path / f"{name}.toml"), store, jobs=1)
        assert (report.ran, report.inserted) == (0, 0), name
        assert report.already == {"old-evaluate": 6, "old-capacity": 1}[name]
    code, out, err = run_cli("results", store, "--where", f"tol={DEFAULT_TOL}", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 7
    spec = load_sweep(tmp_path / "old-capacity.toml")
    table = spec.as_dict()
    table["base"]["tol"], table["sweep"]["name"] = 0.2, "new-capacity"
    assert run_sweep(parse_sweep(table), store, jobs=1).inserted == 1
    with ResultStore(store) as db:
        groups = group_rows(db.rows(where=["trial=capacity"]), ["tol"])
    assert [(g["group"]["tol"], g["n"]) for g in groups] == [(DEFAULT_TOL, 1), (0.2, 1)]
    code, out, err = run_cli("results", store, "--where", "tol=0.2", "--columns", "sweep,tol")
    assert code == 0 and "new-capacity" in out and "old-capacity" not in out, out + err
    code, out, err = run_cli("results", store, "--where", "trial=capacity")  # (a setting
    assert code == 0, err  # that varies is a column, as max_iterations is)
    cells = [line.replace("│", " ").split() for line in out.splitlines() if "-capacity" in line]
    shown = {row[0]: row for row in cells}
    assert "0.2" in shown["new-capacity"] and "0.0001" in shown["old-capacity"], out


# ------------------------------------------------ the Python API: once per call of a function
#: the words of every warning of tanh recalls under read noise that ran to their cap
NOISE_CAPPED = "did not converge: under read noise tanh states change by about the noise"


def _noisy_memory():
    """A continuous memory on the rram chip (read noise 0.5 uS) and its patterns."""
    pats = xm.as_pattern_set(np.random.default_rng(0).uniform(-1, 1, (6, 16)), "continuous")
    return xm.train(pats, chip="rram", rule="pinv"), pats


def _adapt(memory, pats, protocol):
    from xbarmem.deploy.backend import simulated_backends
    from xbarmem.deploy.chip_loop import adapt

    return adapt(memory, simulated_backends(memory), pats, rounds=2, target=1.1,
                 protocol=protocol)


def _adapt_read_back(memory, pats, protocol):
    from xbarmem.deploy.backend import BackendMemory, simulated_backends
    from xbarmem.deploy.chip_loop import adapt_read_back

    backends = simulated_backends(memory)
    BackendMemory(memory, backends).program_targets()  # (the chip holds the model's targets)
    return adapt_read_back(memory, backends, pats, protocol=protocol)


#: public functions that score memories, each (name, call(memory, patterns, protocol))
SCORERS = [
    ("evaluate_memory", lambda m, p, proto: xm.evaluate_memory(m, p, proto)),
    ("compare_rules", lambda m, p, proto: xm.compare_rules(
        p, "rram", ["hebb", "pinv"], trials=2, protocol=proto,
        variants={"async": dataclasses.replace(proto, mode="async")})),
    ("recall_curve", lambda m, p, proto: curve.recall_curve(p, [2, 3], "rram", "pinv",
                                                            trials=2, protocol=proto)),
    ("adapt", _adapt),
    ("adapt_read_back", _adapt_read_back),
]


@pytest.mark.parametrize("name, call", SCORERS, ids=[s[0] for s in SCORERS])
def test_the_api_warns_once_per_call_of_recalls_that_ran_to_the_cap(name, call):
    """``xm.evaluate_memory`` of tanh recalls under read noise scored recalls that all ran to
    ``max_iterations`` without a word (the command line's ``evaluate`` and the capacity
    searches warned). Every public function that scores memories warns now, one line per call
    naming itself and how many recalls ran to the cap, pointing at the caller's line -- not
    once per memory, chip, variant or round; a ``tol`` at the noise's scale lets them settle
    and the warning goes."""
    memory, pats = _noisy_memory()
    proto = xm.Protocol(corruption="gaussian", level=0.3, probes=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(memory, pats, proto)
    said = [w for w in caught if issubclass(w.category, XbarmemWarning)
            and NOISE_CAPPED in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]
    text = str(said[0].message)
    assert text.startswith(f"{name}: ") and " tanh recalls ran to max_iterations = 100 " in text
    assert "\n" not in text and "Protocol(tol=...)" in text and Path(said[0].filename) == \
        Path(__file__), (text, said[0].filename)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(memory, pats, dataclasses.replace(proto, tol=0.5))
    assert not [w for w in caught if NOISE_CAPPED in str(w.message)]


#: scripts whose one XbarmemWarning the user's line (the last line) caused: a public
#: function's warning of recalls that ran to the cap, and a chip spec's of its noise
USER_LINES = {
    "evaluate_memory": (
        "import numpy as np, xbarmem as xm\n"
        "pats = xm.as_pattern_set(np.random.default_rng(0).uniform(-1, 1, (6, 16)), "
        "'continuous')\n"
        "memory = xm.train(pats, chip='rram', rule='pinv')\n"
        "xm.evaluate_memory(memory, pats, xm.Protocol(corruption='gaussian', level=0.3, "
        "probes=2))\n"),
    "DeviceSpec": "from xbarmem.hardware.chip import DeviceSpec\nDeviceSpec(read_noise=1.0)\n",
}


@pytest.mark.parametrize("case", sorted(USER_LINES))
def test_a_warning_points_at_the_users_line_when_xbarmem_is_imported_through_a_link(
        tmp_path, case):
    """The warnings that point past xbarmem's own frames at the user's line compared each
    frame's file name (as imported) with the package's folder with its links resolved: with
    xbarmem imported from a folder on ``sys.path`` reached through a link (macOS's ``/tmp``,
    a linked home or environment), no frame was xbarmem's and the warning pointed into
    ``xbarmem/checks/``."""
    import subprocess
    import sys

    (tmp_path / "linked").symlink_to(Path(xm.__file__).resolve().parents[1],
                                     target_is_directory=True)
    script = tmp_path / "user.py"
    script.write_text(USER_LINES[case])
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "linked"),
           "PYTHONWARNINGS": "always::xbarmem.errors.XbarmemWarning"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "linked" in subprocess.run(
        [sys.executable, "-c", "import xbarmem; print(xbarmem.__file__)"], capture_output=True,
        text=True, env=env, cwd=tmp_path).stdout  # (the package imported through the link)
    lines = [line for line in done.stderr.splitlines() if "XbarmemWarning" in line]
    last = len(USER_LINES[case].splitlines())
    assert len(lines) == 1 and lines[0].startswith(f"{script}:{last}: "), done.stderr


@pytest.mark.parametrize("case", sorted(USER_LINES))
def test_a_warning_points_at_the_users_line_in_python_c_code(case):
    """Frames were told xbarmem's by their file's path, and a chip's noise warning skipped
    every ``<...>`` frame (a dataclass's generated ``__init__`` is ``<string>``): code given to
    ``python -c`` (also ``<string>``) was skipped too and the warning pointed at ``sys:1``. A
    frame is xbarmem's by its module's name now: the warning names the ``-c`` code's line."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": "always::xbarmem.errors.XbarmemWarning"}
    done = subprocess.run([sys.executable, "-c", USER_LINES[case]], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "XbarmemWarning" in line]
    last = len(USER_LINES[case].splitlines())
    assert len(lines) == 1 and lines[0].startswith(f"<string>:{last}: "), done.stderr


def test_a_capacity_search_in_python_warns_once_in_its_own_words():
    """A search scores every tested count through ``recall_curve`` (which warns now): it still
    warns once, as before, in the search's words, not once per count."""
    _, pats = _noisy_memory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        xm.find_capacity(pats, chip="rram", rule="pinv", trials=1, start=2, thresholds=[0.95],
                         protocol=xm.Protocol(corruption="gaussian", level=0.3, probes=2))
    said = [str(w.message) for w in caught if NOISE_CAPPED in str(w.message)]
    assert len(said) == 1 and said[0].startswith("capacity search (N=16, single): "), said


#: a search's two warnings: its cues pass the threshold unchanged (sign recall, threshold
#: 0.5), its tanh recalls under read noise ran to the cap
SEARCH_WARNINGS = {
    "cues pass": ("at or below the cues' own cosine", dict(
        rule="hebb", thresholds=[0.5], protocol=xm.Protocol(probes=1))),
    "capped": (NOISE_CAPPED, dict(
        rule="pinv", kind="continuous", chip="rram", thresholds=[0.95],
        protocol=xm.Protocol(corruption="gaussian", level=0.3, probes=1, activation="tanh"))),
}


@pytest.mark.parametrize("entry", ["find_capacity", "run_scaling"])
@pytest.mark.parametrize("case", sorted(SEARCH_WARNINGS))
def test_a_searchs_warnings_point_at_the_users_line(entry, case):
    """A search warned with a fixed stacklevel, right for ``find_capacity``'s caller: from
    ``run_scaling`` the warning pointed into xbarmem (``scaling.py``). It points at the line
    that called either now."""
    words, options = SEARCH_WARNINGS[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if entry == "find_capacity":
            kind = options.get("kind", "binary")
            pool = xm.random_patterns(8, 16, kind=kind, seed=0)
            xm.find_capacity(pool, trials=1, **{k: v for k, v in options.items() if k != "kind"})
        else:
            xm.run_scaling([16], arch="single", data="random", pool_size=8, **options)
    said = [w.filename for w in caught if words in str(w.message)]
    assert said == [__file__], [(w.filename, str(w.message)[:80]) for w in caught]


def test_commands_print_the_warning_at_most_once_per_run(run_cli, tmp_path):
    """``evaluate --repeats 3`` scores three times through ``evaluate_memory`` and prints its
    own line once, as before; ``adapt`` (two rounds, each scored) prints the function's line
    once, pointing at an option it has not; a sweep's trials run quiet, as before."""
    model = tmp_path / "m.safetensors"
    assert run_cli("train", "--data", "random", "--patterns", "6", *NOISY, "--neurons", "16",
                   "--out", model)[0] == 0
    code, _, err = run_cli("evaluate", model, "--repeats", "3", "--variation", "0.01",
                           "--probes", "2")
    assert code == 0 and err.count(NOISE_CAPPED) == 1 and "(energy --model says" in err, err
    code, _, err = run_cli("adapt", model, "--rounds", "2", "--out", tmp_path / "a.safetensors")
    assert code == 0 and err.count(NOISE_CAPPED) == 1, err
    assert "adapt: " in err and "(xbarmem adapt has no --tol)" in err, err
    (tmp_path / "s.toml").write_text(
        '[sweep]\nname = "s"\ntrial = "evaluate"\nseeds = 2\n[base]\ndata = "random"\n'
        'n_neurons = 16\nkind = "continuous"\nchip = "rram"\nrule = "pinv"\nprobes = 2\n'
        '[grid]\npatterns = [3, 4]\n')
    code, _, err = run_cli("sweep", tmp_path / "s.toml", "--store", tmp_path / "s.sqlite",
                           "--jobs", "1")
    assert code == 0 and err.count(NOISE_CAPPED) <= 1, err
