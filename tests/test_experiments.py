"""Experiments: sweep validation, grid expansion and keys, the store under kill -9 and concurrent
writers, the Dask path on a local cluster, programming variation, export, figures, reproduce.

Trials are tiny (random patterns, N = 16, classic rules or a few adaptive steps) so the file
runs in well under a minute on a shared 2-core machine.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import count_rows, patch_figures, tiny_sweep

from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.evaluation.curve import capacity_from_curve
from xbarmem.experiments.batches import plan_groups
from xbarmem.experiments.reproduce import Experiment, reproduce
from xbarmem.experiments.resolve import trial_key
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep
from xbarmem.experiments.trial import train_networks
from xbarmem.experiments.trial_options import OPTIONS, option_help
from xbarmem.memory.variation import reprogram


def tiny(seeds: int = 2, faults=(0.0, 0.3), rules=("hebb", "pinv"), batch: int = 4,
         name: str = "tiny") -> dict:
    return {"sweep": {"name": name, "trial": "evaluate", "seeds": seeds, "batch": batch},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "selection": "first",
                     "probes": 2, "level": 0.05, "max_iterations": 10},
            "grid": {"rule": list(rules), "fault_rate": list(faults)},
            "rule_options": {"adaptive": {"max_steps": 30, "finetune_steps": 5, "window": 10,
                                          "cue_copies": 2}}}


def toml_text(n_faults: int, seeds: int, name: str) -> str:
    return tiny_sweep(name, seeds=seeds, fault_rates=[0.02 * i for i in range(n_faults)])


def sweep_process(file: Path, store: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "xbarmem.cli", "sweep", str(file), "--store",
                             str(store), "--jobs", "1", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("table, fragments", [
    ({"base": {"faultrate": 0.5}}, ["faultrate", "[base]", "fault_rate"]),
    ({"grid": {"fault_rate": [0.1, 1.5]}}, ["fault_rate", "1.5", "[0.0, 1.0]"]),
    ({"grid": {"rule": ["adaptive", "hopfield"]}}, ["rule", "hopfield"]),
    ({"grid": {"fault_rate": 0.3}}, ["fault_rate", "non-empty list"]),
    ({"sweep": {"seed": 3}}, ["seed", "[sweep]", "seeds"]),
    ({"sweep": {"batch": 0}}, ["batch", "integer >= 1"]),
    ({"rule_options": {"adaptive": {"cue_flp": 0.1}}}, ["cue_flp", "cue_flip"]),
    ({"rule_options": {"adaptive": {"cue_flip": 0.9}}}, ["rule_options.adaptive", "cue_flip"]),
    # a misspelt option of a rule no trial uses is refused too, not silently left out
    ({"base": {"rule": "hebb"}, "rule_options": {"adaptive": {"cue_flp": 0.1}}},
     ["cue_flp", "cue_flip"]),
    ({"base": {"rule": "hebb"}, "rule_options": {"pinv": {"lr": 0.1}}},
     ["rule_options.pinv", "lr", "takes no keys"]),
    ({"base": {"rule": "hebb"}, "grid": {"rule_options": {"adaptive": {"cue_flp": [0.1]}}}},
     ["[grid] rule_options.adaptive", "cue_flp", "cue_flip"]),
    ({"base": {"counts": [1, 2]}}, ["counts", "capacity trials only"]),
    ({"base": {"patterns": 11, "selection": "one-per-class", "data": "mnist"}},
     ["patterns", "one-per-class"]),
    ({"base": {"data": "mnist", "n_neurons": 50}}, ["n_neurons", "side"]),
    ({"base": {"data": "mnist-crop24", "n_neurons": 784}}, ["n_neurons", "4..24"]),
    ({"base": {"chip": "no-such-chip"}}, ["chip", "no-such-chip"]),
    ({"base": {"hidden": 8}}, ["hidden", "multilayer"]),
    ({"base": {"level": 2.0}}, ["level", "[0, 1]"]),
    # refused here, not by the trial after the store is made: a Gaussian sigma beyond float32,
    # a programming variation whose noise v max|W| the trainer's own range keeps finite
    ({"base": {"corruption": "gaussian", "level": 1e39}}, ["level", "largest float32"]),
    ({"grid": {"variation": [0.0, 1e39]}}, ["[grid] variation", "1e+39", "[0.0, 1.0]"]),
    ({"base": {"data": "random", "selection": "random-per-class"}},
     ["selection", "no class labels"]),
    ({"base": {"data": "digits", "selection": "random-per-class", "pool": 5000}},
     ["pool", "1797"]),
    ({"sweep": {"trial": "capacity"}, "base": {"counts": [2, 4], "cue_budget": 512}},
     ["cue_budget", "search = true only"]),
    ({"sweep": {"trial": "capacity"}, "base": {"search": True, "rule": "pinv",
                                               "cue_budget": 512}},
     ["cue_budget", "adaptive"]),
    ({"sweep": {"trial": "capacity"}, "base": {"search": True, "cue_budget": -1}},
     ["cue_budget", "integer >= 0"]),
    # grid points that give no trial of their own: a repeated value, a rule option swept
    # where no trial trains the rule
    ({"grid": {"fault_rate": [0, 0.0]}}, ["[grid] fault_rate", "listed twice"]),
    # a list value naming an item twice is refused as the command line's lists are (it was
    # silently shortened: seeds = [1, 1, 2] ran 2 seeds)
    ({"sweep": {"seeds": [1, 1, 2]}}, ["[sweep] seeds", "lists 1 twice"]),
    ({"sweep": {"trial": "capacity"}, "base": {"counts": [2, 4, 2]}},
     ["[base] counts", "lists 2 twice"]),
    ({"sweep": {"trial": "capacity"}, "grid": {"counts": [[2, 4], [3, 3]]}},
     ["[grid] counts", "lists 3 twice"]),
    ({"sweep": {"trial": "capacity"}, "base": {"counts": [2, 4], "thresholds": [0.9, 0.90]}},
     ["[base] thresholds", "lists 0.9 twice"]),
    ({"grid": {"rule_options": {"storkey-variant": {"self_field": [True, True]}},
               "rule": ["storkey-variant"]}}, ["self_field", "listed twice"]),
    ({"base": {"rule": "pinv"}, "grid": {"rule_options": {"adaptive": {"cue_flip": [0.05,
                                                                                     0.1]}}}},
     ["[grid] rule_options.adaptive.cue_flip", "no trial of this grid uses rule 'adaptive'"]),
    ({"grid": [{"rule": ["adaptive"]}, {"rule": ["hebb", "pinv"], "rule_options": {
        "adaptive": {"cue_flip": [0.05, 0.1]}}}]}, ["[[grid]] #2", "rule = 'hebb', 'pinv'"]),
])
def test_bad_sweep_refused_naming_the_key(table, fragments):
    with pytest.raises(ConfigError) as err:
        parse_sweep(table, source="bad.toml")
    message = str(err.value)
    assert message.startswith("bad.toml: ")
    for fragment in fragments:
        assert fragment in message, message


#: grid axes some trials do not read, with why
_UNREAD = {
    "rule_options.adaptive.cue_flip": ([0.05, 0.1], "continuous patterns train on cues of "
                                                    "Gaussian noise (cue_noise), not bit flips"),
    "rule_options.adaptive.cue_noise": ([0.3, 0.6], "binary patterns train on bit-flipped "
                                                    "cues (cue_flip), not Gaussian noise"),
    "rule_options.adaptive.quantize": ([True, False], "the chip has no conductance levels "
                                                      "(device.levels < 2) to train through"),
    "on_fraction": ([0.2, 0.8], "fault_rate = 0 leaves no stuck device to split into "
                                "stuck-ON and stuck-OFF"),
}


@pytest.mark.parametrize("key, unread_by, read_by", [
    ("rule_options.adaptive.cue_flip", {"kind": "continuous"}, {"kind": "binary"}),
    ("rule_options.adaptive.cue_noise", {"kind": "binary"}, {"kind": "continuous"}),
    ("rule_options.adaptive.quantize", {"chip": "paper-sim"}, {"chip": "LEVELS"}),
    ("on_fraction", {"fault_rate": 0.0}, {"fault_rate": 0.1}),
])
def test_an_axis_its_trials_do_not_read_is_refused_or_warned_of(tmp_path, key, unread_by,
                                                                 read_by):
    """A grid axis no trial of its grid reads (the training cues' flip rate of continuous
    patterns, their noise of binary ones, training through the levels of a chip without
    levels, the ON share of no stuck devices) planned a trial per value, all alike, without a
    word: it is refused as a rule option of a rule no trial trains is (its values change
    nothing); an axis only some trials do not read is warned of once, naming it and why; one
    every trial reads, neither."""
    leveled = tmp_path / "leveled.toml"
    from xbarmem.hardware.chip import load_chip

    leveled.write_text(load_chip("paper-sim").replace_device(levels=8).to_toml())
    values, why = _UNREAD[key]

    def table(*axes):
        *path, name = key.split(".")
        grid: dict = {}
        inner = grid
        for part in path:
            inner = inner.setdefault(part, {})
        inner[name] = values
        for axis in axes:
            for option, value in axis.items():
                grid.setdefault(option, []).append(str(leveled) if value == "LEVELS" else value)
        return {"base": {"data": "random", "n_neurons": 16, "patterns": 3, "probes": 2,
                         "fault_model": "device"}, "grid": grid}

    with pytest.raises(ConfigError) as err:
        parse_sweep(table(unread_by), source="s.toml")
    assert str(err.value) == (f"s.toml: [grid] {key}: {why}, so its values change nothing in "
                              f"any trial of this grid")
    with pytest.warns(XbarmemWarning) as caught:
        spec = parse_sweep(table(unread_by, read_by), source="s.toml")
    said = [str(w.message) for w in caught if key in str(w.message)]
    assert said == [f"s.toml: [grid] {key} changes nothing in 2 of its 4 trials ({why}): they "
                    f"train and score alike for each of its values"], said
    assert len(spec.trials) == 4
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        assert len(parse_sweep(table(read_by), source="s.toml").trials) == 2


def test_bad_sweep_file_refused_before_anything_runs(tmp_path, run_cli):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(toml_text(3, 1, "bad").replace("probes = 2", "probes = 2\nfualt_rate = 1"))
    store = tmp_path / "never.sqlite"
    code, _, err = run_cli("sweep", sweep, "--store", store)
    assert code == 2
    assert "fualt_rate" in err and "bad.toml" in err and len(err.strip().splitlines()) == 1
    assert not store.exists()  # nothing ran, not even the store was created


def test_expansion_keys_and_groups():
    spec = parse_sweep(tiny(seeds=3, faults=(0.0, 0.2, 0.4), rules=("hebb", "adaptive")))
    assert len(spec.trials) == 2 * 3 * 3
    assert len({t.key for t in spec.trials}) == len(spec.trials)
    c = spec.trials[0].config
    assert c["version"] and c["chip_spec"]["device"]["p_stuck_on"] >= 0
    assert all(t.config["rule_options"] == {} for t in spec.trials if t.config["rule"] == "hebb")
    assert trial_key(dict(reversed(list(c.items())))) == spec.trials[0].key  # order-free
    assert trial_key({**c, "seed": c["seed"] + 1}) != spec.trials[0].key
    # adaptive trainer seed defaults to the trial seed
    ada = [t.config for t in spec.trials if t.config["rule"] == "adaptive"]
    assert len(ada) == 3 * 3 and all(a["rule_options"]["seed"] == a["seed"] for a in ada)
    # a union of grids deduplicates trials appearing twice, and says so
    dup = tiny()
    dup["grid"] = [dup["grid"], {"rule": ["hebb"], "fault_rate": [0.0]}]
    with pytest.warns(XbarmemWarning, match=r"1 grid point is the same trial as another and "
                      r"runs once: rule=\"hebb\", fault_rate=0.0 in \[\[grid\]\] #1 and #2"):
        assert len(parse_sweep(dup).trials) == len(parse_sweep(tiny()).trials)
    # groups: every trial exactly once; batching by seed, at most `batch` networks
    groups = plan_groups(spec.trials, 2)
    flat = [t.key for g in groups for t in g]
    assert sorted(flat) == sorted(t.key for t in spec.trials)
    for g in groups:
        assert len({t.config["seed"] for t in g}) == 1 and len(g) <= 2
    assert plan_groups(list(reversed(spec.trials)), 2) == groups  # deterministic


def test_option_help_lists_every_option_with_its_rule():
    text = option_help()
    assert "[sweep] batch: max networks trained together" in text
    assert "fault_rate: stuck fraction (default: the chip's); a number in [0.0, 1.0] " \
           "[default None]" in text
    assert "counts (capacity trials): " in text and "integers >= 1" in text
    assert all(f"\n{key}" in text for key in OPTIONS)


def test_trial_keys_are_those_of_existing_stores(tmp_path):
    """Keys computed by the code before the spec base (commit 3d148d1): a store written then
    must still resume. Ints given for float options are stored as floats, counts and thresholds
    sorted (a repeat, which those stores dropped, is now refused); the version is pinned so a
    release does not break the test."""
    evaluate = {"sweep": {"name": "known", "seeds": [2]},
                "base": {"data": "random", "n_neurons": 16, "patterns": 3, "selection": "first",
                         "rule": "hebb", "fault_rate": 0, "on_fraction": 1, "chip": "rram"}}
    capacity = {"sweep": {"name": "known-cap", "trial": "capacity", "seeds": 1},
                "base": {"data": "digits", "n_neurons": 64, "rule": "pinv", "counts": [8, 2],
                         "thresholds": [1, 0.5], "fault_model": "device", "level": 0}}
    known = ["f309dccac5423761175f267628dd4d729af294c86446f45e6caede229fa3a148",
             "ead4a57f49df3958e77c1300bc2ae7ea91520ecb59b10c89e094a1f95b387f75"]
    for table, key in zip((evaluate, capacity), known, strict=True):
        config = parse_sweep(table).trials[0].config
        assert trial_key({**config, "version": "0.2.0"}) == key
    # a chip file's values enter the key as written (an int stays an int)
    chip = tmp_path / "int-chip.toml"
    chip.write_text('[device]\ng_min = 0\ng_max = 1\nwrite_noise = 0\n')
    own_rates = {k: v for k, v in evaluate["base"].items() if k != "on_fraction"}
    config = parse_sweep({"base": {**own_rates, "chip": str(chip),
                                   "fault_rate": None}}).trials[0].config
    device = config["chip_spec"]["device"]
    assert device["g_max"] == 1 and type(device["g_max"]) is int
    assert type(device["write_noise"]) is int and config["chip_spec"]["name"] == "int-chip"


@pytest.mark.parametrize("name", sorted(
    p.name for p in (Path(__file__).resolve().parents[1] / "examples" / "sweeps").glob("*.toml")))
def test_example_sweep_files_validate(name):
    path = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / name
    spec = load_sweep(path)
    assert spec.trials and len({t.key for t in spec.trials}) == len(spec.trials)


def test_storkey_variant_readings_example_sweeps_the_rule_option():
    path = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "storkey-variant.toml"
    spec = load_sweep(path)
    readings = {t.config["rule_options"]["self_field"] for t in spec.trials}
    assert readings == {False, True} and len(spec.trials) == 30 * 4 * 2


def test_sweep_file_round_trip(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(toml_text(4, 2, "round"))
    spec = load_sweep(path)
    assert spec.name == "round" and len(spec.trials) == 2 * 4 * 2
    again = parse_sweep(spec.as_dict(), source="again")
    assert [t.key for t in again.trials] == [t.key for t in spec.trials]


# --------------------------------------------------------------------------- store + runner
def test_resume_skips_finished_and_filters_export(tmp_path):
    spec = parse_sweep(tiny())
    store = tmp_path / "r.sqlite"
    first = run_sweep(spec, store)
    assert first.inserted == len(spec.trials) == 8 and not first.failures
    again = run_sweep(spec, store)
    assert again.already == 8 and again.ran == 0 and again.inserted == 0
    with ResultStore(store) as db:
        assert db.count() == 8
        assert db.count(["rule=pinv", "fault_rate=0.3"]) == 2
        assert db.count(["result.cosine>=0", "seed!=0"]) == 4
        assert db.count(["chip_spec.array.fault_model=weight"]) == 8
        out = db.export(tmp_path / "rows.csv", ["rule=hebb"])
        with out.open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 4 and {r["config.rule"] for r in rows} == {"hebb"}
        assert all(0.0 <= float(r["result.cosine"]) <= 1.0 for r in rows)
        with pytest.raises(ConfigError, match="pyarrow|csv or .parquet"):
            db.export(tmp_path / "rows.xlsx")
        with pytest.raises(ConfigError, match="FIELD=VALUE"):
            db.count(["nonsense"])


def test_pool_workers_exit_when_their_driver_is_killed(tmp_path):
    """A worker busy with a long trial must not outlive a driver killed with kill -9."""
    pid_file = tmp_path / "worker.pid"
    driver = textwrap.dedent(f"""\
        import concurrent.futures as cf, multiprocessing, os, time
        from xbarmem.experiments.pool import init_worker

        def long_trial(path):
            open(path, "w").write(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            pool = cf.ProcessPoolExecutor(1, initializer=init_worker,
                                          mp_context=multiprocessing.get_context("spawn"))
            pool.submit(long_trial, {str(pid_file)!r})
            time.sleep(600)
        """)
    script = tmp_path / "driver.py"
    script.write_text(driver)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.time() + 180  # a spawned worker imports torch: slow on a loaded machine
    while not pid_file.exists() or not pid_file.read_text():
        assert time.time() < deadline and proc.poll() is None, "the worker never started"
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert_exits(worker, 15, "the pool worker outlived its killed driver")


def assert_exits(pid: int, seconds: float, message: str) -> None:
    """Wait up to ``seconds`` for process ``pid`` to end (a zombie counts: gone but not yet
    reaped by whoever adopted it); else kill it and fail with ``message``."""
    deadline = time.time() + seconds
    stat = Path(f"/proc/{pid}/stat")
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                return
        except OSError:  # vanished meanwhile, or no /proc here
            pass
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(message)


def test_pool_workers_exit_when_their_driver_died_before_they_started(tmp_path):
    """A worker still starting (importing) when its driver is killed with kill -9 -- a sweep
    stopped in its first seconds -- must not wait forever for work from the dead driver: it
    was adopted before it could read its parent's pid."""
    pid_file = tmp_path / "workers.pid"
    driver = textwrap.dedent(f"""\
        import os, signal, time
        from xbarmem.experiments import pool

        if __name__ == "__mp_main__":  # only in the workers: their start outlasts the driver
            time.sleep(4)

        if __name__ == "__main__":
            workers = pool.new(2)
            for _ in range(2):
                workers.submit(time.sleep, 0)
            open({str(pid_file)!r}, "w").write(" ".join(map(str, workers._processes)))
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    script = tmp_path / "driver.py"
    script.write_text(driver)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    pids = [int(p) for p in pid_file.read_text().split()]
    assert pids
    for pid in pids:  # each sleeps 4 s, imports torch (slow on a loaded machine), then ends
        assert_exits(pid, 90, "a pool worker started for a driver already dead never ended")


def test_kill_9_mid_sweep_resumes_exactly(tmp_path):
    sweep = tmp_path / "kill.toml"
    sweep.write_text(toml_text(30, 4, "kill"))  # 2 rules x 30 fault rates x 4 seeds
    total = len(load_sweep(sweep).trials)
    assert total == 240
    store = tmp_path / "kill.sqlite"
    proc = sweep_process(sweep, store)
    # (a fresh interpreter imports torch: slow on a loaded machine, where a 60-s wait ran out
    # and the sweep was killed before its first row, "not killed mid-way")
    deadline = time.time() + 240
    while count_rows(store) < 20:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"never stored 20 rows: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = count_rows(store)
    assert 0 < before < total, "the sweep was not killed mid-way"
    with ResultStore(store) as db:
        kept = {r["key"]: r["result"] for r in db.rows()}
    proc = sweep_process(sweep, store)
    out, err = proc.communicate(timeout=300)  # (the rest of 240 trials: slow under load)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["already"] == before and summary["inserted"] == total - before
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM trials").fetchone() == (
            total, total)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ResultStore(store) as db:
        after = {r["key"]: r["result"] for r in db.rows()}
    assert all(after[k] == v for k, v in kept.items())  # nothing lost or rewritten


def test_two_processes_share_one_store(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(toml_text(30, 2, "same"))
    b.write_text(toml_text(30, 2, "same"))  # the same trials from two processes
    store = tmp_path / "shared.sqlite"
    procs = [sweep_process(a, store), sweep_process(b, store)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    inserted = [json.loads(o[0])["inserted"] for o in outs]
    assert sum(inserted) == 120  # each trial stored once, by one of the two
    assert sum(json.loads(o[0])["ran"] for o in outs) == 120  # and computed once (claims)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM trials").fetchone() == (
            120, 120)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_dask_local_cluster_matches_in_process(tmp_path):
    pytest.importorskip("distributed")
    spec = parse_sweep(tiny(rules=("pinv", "adaptive")))
    local = run_sweep(spec, tmp_path / "local.sqlite")
    dask = run_sweep(spec, tmp_path / "dask.sqlite", workers=1)
    assert "Dask" in dask.executor and dask.inserted == local.inserted == len(spec.trials)
    with ResultStore(tmp_path / "local.sqlite") as x, ResultStore(tmp_path / "dask.sqlite") as y:
        rx = {r["key"]: r["result"]["cosine"] for r in x.rows()}
        ry = {r["key"]: r["result"]["cosine"] for r in y.rows()}
    assert rx == ry  # same numbers wherever a trial runs


def test_executor_options_refused(tmp_path):
    spec = parse_sweep(tiny())
    with pytest.raises(ConfigError, match="either"):
        run_sweep(spec, tmp_path / "x.sqlite", workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="--jobs"):
        run_sweep(spec, tmp_path / "x.sqlite", jobs=0)
    assert not (tmp_path / "x.sqlite").exists()


# --------------------------------------------------------------------------- trial pieces
def test_programming_variation_perturbs_free_off_diagonal_weights():
    spec = parse_sweep({**tiny(rules=("pinv",), faults=(0.5,), seeds=1),
                        "base": {**tiny()["base"], "fault_model": "weight"}})
    c = spec.trials[0].config
    from xbarmem.experiments.trial import stored_patterns

    (memory,), _ = train_networks([c], [stored_patterns(c)])
    reprogram(memory, 0.0, seed=0)
    clean = memory.weights.clone()
    reprogram(memory, 0.2, seed=0)
    noisy = memory.weights
    diff = noisy - clean
    stuck = torch.as_tensor(memory.crossbar.stuck.any(axis=0))[:, :16]
    assert torch.all(diff.diagonal() == 0) and torch.all(diff[stuck] == 0)
    free = ~stuck & ~torch.eye(16, dtype=torch.bool)
    # std of the added noise ~ v * max|W| (max|W| of the clean programmed matrix)
    ratio = float(diff[free].std() / (0.2 * clean.abs().max()))
    assert 0.7 < ratio < 1.3
    reprogram(memory, 0.0, seed=0)
    assert torch.allclose(memory.weights, clean)  # the trained targets were kept


def test_programming_variation_leaves_the_bias_as_trained():
    """The paper's protocol perturbs W: a memory with a bias row keeps its trained bias under
    variation."""
    spec = parse_sweep({**tiny(rules=("adaptive",), faults=(0.0,), seeds=1),
                        "base": {**tiny()["base"], "chip": "paper-sim"}})
    c = spec.trials[0].config
    from xbarmem.experiments.trial import stored_patterns

    (memory,), _ = train_networks([c], [stored_patterns(c)])
    assert memory.has_bias
    reprogram(memory, 0.0, seed=0)
    clean_w, clean_b = memory.weights.clone(), memory.bias.clone()
    reprogram(memory, 0.3, seed=0)
    assert not torch.allclose(memory.weights, clean_w)
    torch.testing.assert_close(memory.bias, clean_b)


def test_multilayer_trials_with_variation(tmp_path):
    table = tiny(seeds=1, faults=(0.0, 0.2), rules=("adaptive",))
    table["base"] = {**table["base"], "arch": "multilayer", "hidden": [8]}
    table["grid"]["variation"] = [0.0, 0.1]
    spec = parse_sweep(table)
    report = run_sweep(spec, tmp_path / "m.sqlite")
    assert report.inserted == 4 and not report.failures
    with ResultStore(tmp_path / "m.sqlite") as db:
        rows = db.rows()
    assert all(r["result"]["devices"]["layers"] == 2 for r in rows)
    assert all(r["result"]["batch"]["networks"] == 2 for r in rows)  # 2 fault rates, 1 batch
    clean = {r["config"]["fault_rate"]: r["result"]["cosine"] for r in rows
             if r["config"]["variation"] == 0}
    assert set(clean) == {0.0, 0.2}


def test_plot_and_cli_results(tmp_path, run_cli):
    spec = parse_sweep(tiny(faults=(0.0, 0.2, 0.4)))
    store = tmp_path / "p.sqlite"
    run_sweep(spec, store)
    code, out, err = run_cli("plot", store, "--kind", "faults", "--out",
                             tmp_path / "f.png")
    assert code == 0, err
    assert (tmp_path / "f.png").stat().st_size > 5000
    code, out, err = run_cli("results", store, "--where", "rule=pinv",
                             "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 6 and {r["config"]["rule"] for r in rows} == {"pinv"}
    code, _, err = run_cli("plot", store, "--kind", "capacity")
    assert code == 2 and "rows draws a 'capacity' figure, which needs capacity rows" in err


def test_plot_without_kind_draws_the_one_kind_the_rows_fit_and_counts_the_rows_drawn(
        tmp_path, run_cli, monkeypatch):
    """``plot`` required --kind even when the rows fit one figure only (a fault sweep); and its
    line counted the rows read, not drawn: "wrote cc.png (44 rows)" for a capacity figure of 32
    rows, the 12 rows of a recall curve at one N left out without a word."""
    store = tmp_path / "p.sqlite"
    spec = tiny(seeds=1, faults=(0.0, 0.2))
    run_sweep(parse_sweep(spec), store)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("plot", store)
    assert (code, out, err) == (0, "wrote faults.png (a faults figure: 4 rows)\n", "")
    assert (tmp_path / "faults.png").stat().st_size > 5000
    code, out, err = run_cli("plot", store, "--kind", "faults", "-o", "f.svg")
    assert (code, out) == (0, "wrote f.svg (4 rows)\n"), err  # asked for: not named again
    spec["sweep"]["name"] = "var"  # the same trials at two programming variations: ambiguous
    spec["grid"]["variation"] = [0.0, 0.1]
    run_sweep(parse_sweep(spec), store)
    code, out, err = run_cli("plot", store, "-o", "v.png")
    assert code == 2 and not out and err == (
        "error: --kind is needed: these rows draw a figure against fault_rate (--kind faults) "
        "or variation (--kind variation)\n")
    assert not (tmp_path / "v.png").exists()
    code, out, err = run_cli("plot", store, "--where", "fault_rate=0", "--where", "rule=pinv",
                             "--where", "variation=0")
    assert code == 2 and err.startswith("error: no figure to draw from 1 row: each "
                                        "kind needs rows at two or more values"), err
    code, out, err = run_cli("plot", store, "--kind", "variation", "--json", "-o", "v.png")
    assert code == 0 and json.loads(out) == {"figure": "v.png", "kind": "variation",
                                             "rows": 8, "drawn": 8}, err
    (tmp_path / "curve.toml").write_text(textwrap.dedent("""\
        [sweep]
        name = "curve"
        trial = "capacity"
        [base]
        data = "random"
        n_neurons = 16
        rule = "pinv"
        probes = 2
        counts = [1, 2]
        """))
    code, _, err = run_cli("sweep", "curve.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    code, out, err = run_cli("plot", store, "--kind", "faults", "-o", "f.png")
    assert (code, out) == (0, "wrote f.png (8 of the 9 rows drawn; left out: 1 capacity "
                              "row)\n"), err
    code, out, err = run_cli("plot", store, "--kind", "patterns", "--where", "rule=pinv",
                             "-o", "p.png")
    assert code == 0 and " ".join(out.split()) == (
        "wrote p.png (1 of the 5 rows drawn; left out: 4 rows whose settings were run at "
        "one patterns only)"), out


@pytest.mark.parametrize("args, line", [
    (("results", "--where", "rul=pinv"), "--where 'rul=pinv': no row of"),
    (("results", "--where", "result.cosin>0.5"), "did you mean result.cosine?"),
    (("results", "--where", "fault_rate>>0.2"), "the value '>0.2' starts with an operator"),
    (("results", "--sweep", "other"), "--sweep 'other': no such sweep in"),
    (("results", "--sweep", ""), "--sweep '': no such sweep in"),
    (("results", "--group-by", "rul"), "--group-by rul: no row of"),
    (("results", "--group-by", "rule", "--metric", "cosin"), "did you mean cosine?"),
    (("results", "--columns", "rule,seeds"), "--columns seeds: no row of"),
    (("plot", "--kind", "faults", "--where", "rul=pinv"), "did you mean rule?"),
    (("plot", "--kind", "faults", "--sweep", "other"), "no such sweep"),
])
def test_fields_and_sweeps_no_row_has_are_refused(tmp_path, run_cli, args, line):
    """A misspelt field or sweep name is an error naming it, not an empty table or a
    column of dashes."""
    store = tmp_path / "f.sqlite"
    run_sweep(parse_sweep(tiny(seeds=1)), store)
    code, out, err = run_cli(args[0], store, *args[1:], *(
        ("--out", tmp_path / "f.png") if args[0] == "plot" else ()))
    assert code == 2 and line in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize(("name", "said"), [
    ("rule", "rule is a setting (config key), not one of the result values"),
    ("fault_rate", "fault_rate is a setting (config key), not one of the result values"),
    ("host", "host is a store column, not one of the result values"),
    ("sweep", "sweep is a store column, not one of the result values"),
    ("version", "version is a store column, not one of the result values"),
    ("nosuch", "no row of")])
def test_a_metric_no_row_has_names_the_result_values_not_config_keys(tmp_path, run_cli, name,
                                                                      said):
    """``results --group-by rule --metric rule`` said "no row has this field (fields: a
    config key (rule, fault_rate, ...), ..., host, pid)": it listed the very name it refused,
    as a field to give; a metric is a result value, and the message now lists those the rows
    hold (the metrics first), in Python (``check_fields`` with ``prefix``) too. A setting or
    column every row has is not said to be had by no row: it is named as what it is."""
    store = tmp_path / "f.sqlite"
    run_sweep(parse_sweep(tiny(seeds=1)), store)
    code, _, err = run_cli("results", store, "--group-by", "rule", "--metric", name)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "a config key" not in err and f"--metric {name}: {said}" in err, err
    assert "the result values rows hold: converged, cosine, exact" in err, err
    with ResultStore(store, readonly=True) as db, pytest.raises(
            ConfigError, match="the result values rows hold: converged, cosine") as info:
        db.check_fields([name], "metric", prefix="result.")
    assert "a config key" not in str(info.value)


def test_where_reads_fields_whose_keys_hold_dots(tmp_path):
    """``result.capacity.0.99`` names the threshold key "0.99", as ``--metric`` does; a
    field no row has raises ConfigError in Python too."""
    table = tiny(seeds=1, faults=(0.0,))
    table["sweep"]["trial"] = "capacity"
    table["base"] = {**{k: v for k, v in table["base"].items() if k != "patterns"},
                     "counts": [1, 2, 3], "pool": 8, "thresholds": [0.5, 0.99]}
    del table["base"]["selection"]
    store = tmp_path / "c.sqlite"
    run_sweep(parse_sweep(table), store)
    with ResultStore(store, readonly=True) as db:
        rows = db.rows()
        caps = [r["result"]["capacity"]["0.99"] for r in rows]
        high = db.rows(["result.capacity.0.99>=2"])
        assert len(high) == sum(c >= 2 for c in caps) and len(db.rows(
            ["result.capacity.0.5>=0"])) == len(rows)
        with pytest.raises(ConfigError, match="did you mean rule"):
            db.rows(["rul=pinv"])


def test_reproduce_reports_missing_modules(tmp_path):
    class Missing(Experiment):
        key = "z"
        title = "a claim whose module is missing"
        claim = "something"
        needs = "xbarmem.no_such_module"

    res = reproduce(tmp_path, quick=True, experiments=[Missing()], log=lambda _: None)
    text = Path(res["path"]).read_text()
    assert "(z) a claim whose module is missing" in text and "not yet available" in text
    assert (tmp_path / "results.sqlite").is_file()


def test_fault_sweep_gives_classic_rules_more_chips(tmp_path):
    """The reproduce fault-tolerance section: cheap classic rules run on more chips (seeds)
    than the trained rule, and the report's table and done-when check use both sweeps' rows."""
    from xbarmem.experiments.reproduce import FaultTolerance
    from xbarmem.learning.classic import rule_names

    class Small(FaultTolerance):
        datasets = ("digits",)

        def faults(self, quick):
            return [0.5]

        @staticmethod
        def seeds(quick, trained):
            return 1 if trained else 3

        @staticmethod
        def draws(quick):
            return 4

    exp = Small()
    specs = {s.name: s for s in exp.sweeps(quick=True)}
    classic = specs["reproduce-quick-a-digits-classic"].trials
    adaptive = specs["reproduce-quick-a-digits-adaptive"].trials
    assert len(classic) == 3 * (len(rule_names()) - 1) and len(adaptive) == 1
    assert {t.config["rule"] for t in adaptive} == {"adaptive"}
    res = reproduce(tmp_path, quick=True, experiments=[exp], log=lambda _: None)
    text = Path(res["path"]).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 0.5 |"))
    assert "n/a" not in row and row.count(" (") == 4  # paper value beside 4 of the rules
    assert "3 per point for the classic rules, 1 for the hardware-adaptive rule" in text
    # the bars are checked on the paper's data only; digits is comparison data here
    assert "| (comparison data) |" in res["table"] and "| ok |" not in res["table"]
    assert [f"| {' | '.join(row)} |" for row in res["rows"]] == res["table"].splitlines()[2:]
    # the classic rules' spread over digit draws (one random image per class, 4 draws)
    draws = specs["reproduce-quick-a-draws"].trials
    assert len(draws) == 4 * 3 * 3 and {t.config["seed"] for t in draws} == set(range(4))
    spread = [line for line in text.splitlines() if line.startswith("| storkey-variant | 0.4 |")]
    assert len(spread) == 1 and "0.84" in spread[0] and "%" in spread[0]
    with ResultStore(tmp_path / "results.sqlite") as db:
        assert len(db.by_keys([t.key for t in classic + adaptive])) == len(classic) + 1


def test_reproduce_scaling_uses_hidden_equal_to_n_and_a_trainer_per_kind():
    """(e) runs N -> N -> N memories (hidden rule ratio:1) at threshold 0.99: binary with the
    fixed-point objective, continuous with the basin objective (fixed points of the tanh map
    have tiny basins under sigma 0.6 cue noise)."""
    from xbarmem.experiments.reproduce import Scaling

    for quick in (True, False):
        specs = {s.name.split("-e-", 1)[-1]: s for s in Scaling().sweeps(quick)}
        checks = {name: specs.pop(name) for name in list(specs) if "-check-" in name}
        assert set(specs) == {"binary", "continuous"} | (set() if quick else {"binary-large"})
        assert set(checks) == (set() if quick else {"binary-check-width",
                                                    "binary-check-threshold",
                                                    "binary-check-budget"})
        configs = {name: [t.config for t in spec.trials] for name, spec in checks.items()}
        # each check of the full run changes one thing of the binary protocol, on one seed
        assert all(c["seed"] == 0 and c["rule_options"]["objective"] == "fixed-point"
                   for cs in configs.values() for c in cs)
        assert all(c["hidden"] == 2 * c["n_neurons"]
                   for c in configs.get("binary-check-width", []))
        assert all(c["thresholds"] == [0.97]
                   for c in configs.get("binary-check-threshold", []))
        assert all(c["rule_options"]["stop"] == "loss"
                   for c in configs.get("binary-check-budget", []))
        for kind, spec in specs.items():
            configs = [t.config for t in spec.trials]
            assert all(c["hidden"] == c["n_neurons"] for c in configs)
            assert {c["thresholds"][0] for c in configs} == {0.99}
            objective = {c["rule_options"]["objective"] for c in configs}
            binary = kind.startswith("binary")
            assert objective == ({"fixed-point"} if binary else {"basin"})
            # continuous: ~1024 training cues per step in all, as `xbarmem scaling`
            assert {c["cue_budget"] for c in configs} == ({0} if binary else {1024})
        sizes = sorted({t.config["n_neurons"] for t in specs["binary"].trials})
        assert sizes == ([64, 144, 256] if quick else [64, 144, 256, 400])
        # quick continuous: N = 64 and 100 (N = 144's search was half the quick run's compute)
        sizes = sorted({t.config["n_neurons"] for t in specs["continuous"].trials})
        assert sizes == ([64, 100] if quick else [64, 144, 256, 400])
        if not quick:  # the binary exponent reaches N = 784, one seed above 400
            large = specs["binary-large"].trials
            assert sorted({t.config["n_neurons"] for t in large}) == [576, 784]
            assert {t.config["seed"] for t in large} == {0}


def test_search_trial_passes_its_cue_budget_to_the_trainer(monkeypatch):
    """``cue_budget`` sets ceil(budget / P) training cues per pattern in every searched count."""
    import xbarmem.evaluation.capacity as cs
    from xbarmem.experiments.trial import run_capacity

    copies: dict[int, int] = {}
    real = cs.recall_curve

    def spy(pool, counts, *args, rule_options=None, **kwargs):
        copies[counts[0]] = rule_options["cue_copies"]
        return real(pool, counts, *args, rule_options=rule_options, **kwargs)

    monkeypatch.setattr(cs, "recall_curve", spy)
    spec = parse_sweep({"sweep": {"name": "budget", "trial": "capacity"},
                        "base": {"data": "random", "n_neurons": 16, "pool": 40, "search": True,
                                 "thresholds": [0.9], "probes": 2, "cue_budget": 30},
                        "rule_options": {"adaptive": {"max_steps": 20}}}, source="t.toml")
    result = run_capacity(spec.trials[0])
    assert copies and all(c == -(-30 // p) for p, c in copies.items())
    assert result["capacity"]["0.9"] >= 0


def test_random_per_class_draws_one_image_of_each_class_per_seed():
    from xbarmem.experiments.trial import stored_patterns

    spec = parse_sweep({"sweep": {"name": "draws", "seeds": 3},
                        "base": {"data": "digits", "selection": "random-per-class",
                                 "patterns": 10, "pool": 500}}, source="t.toml")
    sets = [stored_patterns(t.config) for t in spec.trials]
    for ps in sets:
        assert list(ps.labels) == list(range(10)) and ps.patterns.shape == (10, 64)
    again = stored_patterns(spec.trials[0].config)
    assert torch.equal(torch.tensor(again.patterns), torch.tensor(sets[0].patterns))
    assert not torch.equal(torch.tensor(sets[0].patterns), torch.tensor(sets[1].patterns))


def test_random_selection_stores_distinct_patterns_of_a_pool_with_repeats():
    """MNIST at 4 x 4 repeats most binary images: a random selection of 100 of them stored
    about 50 copies before; now 100 distinct patterns."""
    from xbarmem.experiments.trial import stored_patterns

    spec = parse_sweep({"sweep": {"name": "draws", "seeds": 2},
                        "base": {"data": "mnist", "n_neurons": 16, "selection": "random",
                                 "patterns": 100, "pool": 5000}}, source="t.toml")
    for trial in spec.trials:
        stored = stored_patterns(trial.config).patterns
        assert stored.shape == (100, 16) and len(np.unique(stored, axis=0)) == 100


def test_capacity_section_reads_the_ratio_off_the_seed_averaged_curves(tmp_path, monkeypatch):
    """(b): each rule's capacity is read off its curve averaged over seeds; the per-seed
    capacities and their ratio of means are shown beside; the verdict uses the averaged one."""
    from types import SimpleNamespace

    from xbarmem.experiments import reproduce as rep

    patch_figures(monkeypatch, lambda *a, **k: None)

    def row(rule, seed, curve):
        points = [{"count": c, "cosine": v} for c, v in curve.items()]
        caps = {str(t): capacity_from_curve(points, t) for t in rep.Capacity.thresholds}
        return {"config": {"rule": rule, "seed": seed, "level": 0.1},
                "result": {"points": points, "capacity": caps}}

    rows = [row("pinv", 0, {2: 1.0, 4: 0.92, 6: 0.5}), row("pinv", 1, {2: 1.0, 4: 0.95, 6: 0.6}),
            # seed 0 dips below 0.90 at 8 only: its own capacity is 6, the averaged curve's 12
            row("adaptive", 0, {4: 1.0, 6: 0.97, 8: 0.89, 12: 0.93, 16: 0.7}),
            row("adaptive", 1, {4: 1.0, 6: 0.99, 8: 0.97, 12: 0.92, 16: 0.8})]
    ctx = SimpleNamespace(quick=True, out_dir=tmp_path, rows=lambda name: rows)
    sec = rep.Capacity().section(ctx)
    line = next(x for x in sec.body if x.startswith("| 0.90 |"))
    assert "| 4 [4, 4] | 12 [6, 12] | **3.00x** | 2.25x |" in line
    verdict = next(s for s in sec.summary if "threshold 0.90" in s[0])
    assert verdict[2].startswith("3.00x (12 vs 4; per-seed means 2.25x)") and verdict[3] == "ok"
    strict = next(s for s in sec.summary if "threshold 0.99" in s[0])
    assert strict[2].startswith("2.00x (4 vs 2;") and strict[3] == "below"
    overall = sec.summary[-1]
    assert overall[2].startswith("holds at 0.90 / 10%, 0.95 / 10%; below at 0.99 / 10%")
    # "ok" only when every setting meets 3x; 2 of 3 settings make the claim "partly"
    assert overall[3] == "below"
    assert sec.verdict == "partly" and len(sec.shortfalls) == 1
    assert sec.shortfalls[0].startswith("capacity ratio at threshold 0.99, 10% flips: 2.00x")


def test_capacity_shortfall_at_a_flip_rate_is_explained_by_the_clean_cue_capacities(
        tmp_path, monkeypatch):
    """(b): the same networks scored with clean cues separate fixed points from basins; a
    threshold whose ratio misses gets the capacities per flip rate as its measured reason."""
    from types import SimpleNamespace

    from xbarmem.experiments import reproduce as rep

    patch_figures(monkeypatch, lambda *a, **k: None)
    monkeypatch.setattr(rep.Capacity, "ceiling_text", lambda self, quick: "")

    def row(rule, level, curve):
        points = [{"count": c, "cosine": v} for c, v in curve.items()]
        return {"config": {"rule": rule, "seed": 0, "level": level},
                "result": {"points": points, "capacity": {
                    str(t): capacity_from_curve(points, t) for t in rep.Capacity.thresholds}}}

    pinv = {2: 1.0, 4: 0.995, 6: 0.5}  # the same at every flip rate: fixed points
    adaptive = {0.0: {8: 1.0, 16: 0.995, 20: 0.5}, 0.05: {8: 1.0, 12: 0.995, 20: 0.5},
                0.1: {8: 0.995, 12: 0.5}}
    rows = [row("pinv", lv, pinv) for lv in (0.0, 0.05, 0.1)]
    rows += [row("adaptive", lv, curve) for lv, curve in adaptive.items()]
    spec, = rep.Capacity().sweeps(quick=True)
    assert {t.config["level"] for t in spec.trials} == {0.0, 0.05, 0.1}
    sec = rep.Capacity().section(SimpleNamespace(quick=True, out_dir=tmp_path,
                                                 rows=lambda name: rows))
    assert any("threshold 0.99, 10% flips: 2.00x" in s for s in sec.shortfalls)
    assert "| 0.99 | 4 / 4 / 4 | 16 / 12 / 8 | 4.00x / 3.00x / 2.00x |" in sec.body
    why = next(r for r in sec.reasons if "threshold 0.99" in r)
    assert why.startswith("At threshold 0.99 the pseudo-inverse stores 4 / 4 / 4 patterns")
    assert "fixed points" in why and "basins" in why
    # no clean-cue rows (an older store): no table, no reason
    sec = rep.Capacity().section(SimpleNamespace(
        quick=True, out_dir=tmp_path, rows=lambda name: [r for r in rows
                                                         if r["config"]["level"] != 0.0]))
    assert not sec.reasons and not any("clean cues" in line for line in sec.body)


def test_capacity_curves_sharing_their_networks_train_once_and_score_as_alone(monkeypatch):
    """Capacity curves that differ only in protocol or programming variation form one group
    (searches and curves of other networks do not); the group trains each count batch once and
    every trial's result equals what the trial gives alone (seconds aside)."""
    import xbarmem.experiments.trial as tr

    spec = parse_sweep({"sweep": {"name": "levels", "trial": "capacity", "seeds": 2},
                        "base": {"data": "random", "n_neurons": 16, "pool": 40,
                                 "thresholds": [0.9, 0.99], "probes": 3, "chip": "rram"},
                        "grid": [{"rule": ["adaptive", "pinv"], "level": [0.1, 0.0],
                                  "variation": [0.0, 0.3], "counts": [[4, 8, 12]]},
                                 {"rule": ["pinv"], "search": [True], "level": [0.1, 0.0]}],
                        "rule_options": {"adaptive": {"max_steps": 15, "finetune_steps": 5}}},
                       source="t.toml")
    groups = plan_groups(spec.trials, 8)
    assert sorted(t.key for g in groups for t in g) == sorted(t.key for t in spec.trials)
    curves = [g for g in groups if not g[0].config["search"]]
    assert len(curves) == 4 and all(len(g) == 4 for g in curves)  # rule x seed
    assert sum(1 for g in groups if g[0].config["search"]) == 4 and all(
        len(g) == 1 for g in groups if g[0].config["search"])
    assert plan_groups(list(reversed(spec.trials)), 8) == groups
    trained = []
    real = tr.train_curve
    monkeypatch.setattr(tr, "train_curve", lambda *a, **k: trained.append(1) or real(*a, **k))
    for group in curves:
        trained.clear()
        together = tr.run_group(group)
        assert len(trained) == len(tr.count_chunks(group[0].config["counts"]))
        for t, result in zip(group, together, strict=True):
            alone = tr.run_capacity(t)
            for r in (result, alone):
                r.pop("seconds")
                r.pop("threads", None)
            assert result == alone
    for group in curves:  # the trials of a group do score differently
        by = {(t.config["level"], t.config["variation"]): [p["cosine"] for p in r["points"]]
              for t, r in zip(group, tr.run_group(group), strict=True)}
        assert by[0.1, 0.0] != by[0.0, 0.0] and by[0.1, 0.0] != by[0.1, 0.3]


def test_a_pool_started_ahead_is_the_one_the_next_run_of_its_size_uses(tmp_path):
    """``pool.prestart(jobs)`` starts the workers at once; the next process-pool run with
    that many jobs runs its groups on them (their pids are the stored rows' pids) and takes
    the pool; a pool nobody takes is shut down by ``discard``; one job starts nothing."""
    from xbarmem.experiments import pool
    from xbarmem.experiments.runner import run_sweep

    pool.prestart(1)
    assert pool.take(1) is None
    pool.prestart(2)
    workers = {p.pid for p in pool._STARTED[2]._processes.values()}
    assert len(workers) == 2  # spawned now, not at the first group
    spec = parse_sweep({"sweep": {"name": "ahead", "seeds": 2},
                        "base": {"data": "random", "n_neurons": 16, "patterns": 3,
                                 "probes": 2, "rule": "hebb"}}, source="t.toml")
    try:
        run_sweep(spec, tmp_path / "s.sqlite", jobs=2)
        assert pool.take(2) is None
        with ResultStore(tmp_path / "s.sqlite") as db:
            pids = {r["pid"] for r in db.rows()}
        assert pids and pids <= workers
    finally:
        pool.discard()
    pool.prestart(2)
    left = pool._STARTED[2]
    pool.discard()
    assert not pool._STARTED and left._shutdown_thread


def test_sweep_starts_workers_ahead_only_when_it_has_trials_to_run(tmp_path, run_cli,
                                                                   monkeypatch):
    """``xbarmem sweep --jobs 2`` starts its workers before importing the trial code when
    some trial is not stored (an empty store file, or one missing a trial), and not for a
    store that holds every trial, nor with one job; the pool is taken or shut down either
    way."""
    from xbarmem.experiments import pool

    started: list[int] = []
    real = pool.prestart
    monkeypatch.setattr(pool, "prestart", lambda jobs: started.append(jobs) or real(jobs))
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nname = "ahead"\nseeds = 2\n[base]\ndata = "random"\n'
                     'n_neurons = 16\npatterns = 3\nprobes = 2\nrule = "hebb"\n')
    store = tmp_path / "s.sqlite"
    sqlite3.connect(store).close()  # an empty file (as a run killed before its first row)
    for seeds, jobs, expected in (("2", "2", [2]), ("2", "2", []), ("2", "1", []),
                                  ("3", "2", [2])):  # the last: one more seed, a new trial
        sweep.write_text(sweep.read_text().replace("seeds = 2", f"seeds = {seeds}"))
        started.clear()
        code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", jobs)
        assert code == 0, err
        assert started == expected and not pool._STARTED


def test_a_sweep_warns_about_rows_of_its_name_it_does_not_plan(tmp_path, run_cli):
    """Running an edited sweep file (or the same after an upgrade) into its old store added
    rows under the same sweep name without a word; results and plot then mix both."""
    store = tmp_path / "s.sqlite"
    errs = []
    for n_faults, seeds in ((2, 1), (2, 1), (1, 2)):  # the same file twice, then edited
        (tmp_path / "s.toml").write_text(toml_text(n_faults, seeds, "edited"))
        code, _, err = run_cli("sweep", str(tmp_path / "s.toml"), "--store", str(store),
                               "--jobs", "1")
        assert code == 0, err
        errs.append(err)
    assert "warning" not in errs[0] + errs[1]
    assert "holds 2 rows of sweep 'edited' that this file does not plan" in errs[2]


def test_capacity_rows_whose_every_count_passed_are_marked_lower_bounds(tmp_path, run_cli):
    """A capacity curve whose largest count still passed reported that count as the capacity
    with nothing to tell it from a measured one, and `plot --kind capacity` fitted through it."""
    (tmp_path / "c.toml").write_text(textwrap.dedent("""\
        [sweep]
        name = "bounds"
        trial = "capacity"
        [base]
        data = "random"
        rule = "pinv"
        probes = 2
        level = 0.05
        thresholds = [0.5, 0.999]
        counts = [1, 2]
        [grid]
        n_neurons = [16, 36]
        """))
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli("sweep", str(tmp_path / "c.toml"), "--store", str(store),
                           "--jobs", "1")
    assert code == 0, err
    with ResultStore(store, readonly=True) as db:
        results = [r["result"] for r in db.rows()]
    for r in results:  # the largest count, 2, passes 0.5 (and 0.999 too where recall is 1)
        assert "0.5" in r["lower_bound"]
        assert r["lower_bound"] == [t for t, c in r["capacity"].items() if c == 2]
    code, _, err = run_cli("plot", str(store), "--kind", "capacity", "-o",
                           str(tmp_path / "c.png"))
    assert code == 0 and "2 capacity rows drawn are lower bounds" in err, err
    code, out, err = run_cli("results", str(store), "--columns", "n_neurons")  # as capacity
    assert code == 0 and out.count("0.5:>=2") == 2, out  # prints them: >=, with its meaning
    assert "0.999:2 " not in out and ">=: only a lower bound (every count tested passed)" in (
        " ".join(out.split())), out
    code, out, err = run_cli("results", str(store), "--group-by", "rule", "--metric",
                             "capacity.0.5")
    assert code == 0 and ">=2 " in out and "the mean takes in lower bounds" in (
        " ".join(out.split())), out
    code, out, err = run_cli("results", str(store), "--group-by", "rule", "--json")
    assert code == 0 and "capacity.0.5" in json.loads(out)[0]["lower_bound"], out


@pytest.mark.parametrize(("condition", "named"), [
    ("fault_rate>abc", "> compares numbers"), ("patterns<=ten", "<= compares numbers"),
    ("fault_rate=NaN", "not a value a store holds"), ("fault_rate=nan", "not a value"),
    ("result.cosine>-inf", "not a value"), ("fault_rate<Infinity", "not a value"),
    ("rule=", "no value after '=' \\(an empty text is written rule=\"\"\\)"),
    ("result.cosine> ", "no value after '>'$")])
def test_where_refuses_conditions_that_can_match_nothing_meaningful(condition, named):
    """'fault_rate>abc' and 'fault_rate=nan' were accepted and showed 0 rows."""
    from xbarmem.experiments.fields import parse_condition

    with pytest.raises(ConfigError, match=named):
        parse_condition(condition)
    assert parse_condition("fault_rate>=0.5") == ("fault_rate", ">=", 0.5)
    assert parse_condition("version~0.2%") == ("version", "~", "0.2%")
    assert parse_condition('host=""') == ("host", "=", "")


# --------------------------------------------------------------------------- Dask clusters
@pytest.fixture
def silent_server():
    """``tcp://127.0.0.1:PORT`` of a server that accepts connections and never answers."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture
def closed_port():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_a_scheduler_that_does_not_answer_is_refused_quickly(silent_server, closed_port):
    """Nothing listening took 20 s; a server that is not a Dask scheduler hung forever (or
    failed with a traceback decoding its answer)."""
    pytest.importorskip("distributed")
    from xbarmem.experiments.executors import check_scheduler

    for address in (silent_server, closed_port):
        began = time.monotonic()
        with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
            check_scheduler(address, timeout=1.0)
        # the timeout holds (it took 20 s or forever): well below that, room for a loaded machine
        assert time.monotonic() - began < 10


def _answering_server(payload: bytes):
    """``(address, server)``: a server on 127.0.0.1 that answers every connection with
    ``payload`` and closes it."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    conn.recv(65536)
                    conn.sendall(payload)
                    time.sleep(0.2)
                except OSError:
                    pass

    threading.Thread(target=answer, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", server


@pytest.mark.parametrize("payload", [
    b"\xff" * 64,  # a frame count Dask cannot decode
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",  # its length: exabytes
    b"\x01" + bytes(7) + b"\x05" + bytes(7) + b"hello",  # frames shorter than announced
])
def test_a_server_that_is_not_dask_is_named_so(payload):
    """A web server or random bytes at the address were refused with the decoder's failure
    ("cannot reach ...: Unable to allocate 3.07 EiB for an array ...")."""
    pytest.importorskip("distributed")
    from xbarmem.experiments.executors import check_scheduler

    address, server = _answering_server(payload)
    try:
        with pytest.raises(ConfigError) as info:
            check_scheduler(address, timeout=3.0)
    finally:
        server.close()
    assert str(info.value) == (f"{address} answers but is not a Dask scheduler (its answer is "
                               f"not in Dask's protocol)")


def test_a_refused_scheduler_port_is_refused_at_once(closed_port, monkeypatch):
    """Nothing listening on the port: the refusal is known at once, but Dask's connect retried
    it for the whole connect timeout (5 s) before the sweep was refused."""
    pytest.importorskip("distributed")
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 30.0)
    for address in (closed_port, closed_port.replace("127.0.0.1", "localhost")):
        began = time.monotonic()
        with pytest.raises(ConfigError, match="connection refused") as info:
            executors.check_scheduler(address)
        # at once, not after the connect timeout (30 s here): half of it leaves room for load
        assert time.monotonic() - began < 15 and "\n" not in str(info.value)


@pytest.mark.parametrize("command", ["sweep", "reproduce"])
def test_an_unreachable_scheduler_is_refused_before_the_store_is_made(
        run_cli, tmp_path, monkeypatch, silent_server, command):
    pytest.importorskip("distributed")
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(toml_text(2, 1, "tiny"))
    args = (["sweep", "tiny.toml", "--store", "r.sqlite"] if command == "sweep" else
            ["reproduce", "--quick", "--out", "repro"])
    code, _, err = run_cli(*args, "--scheduler", silent_server)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cannot reach the Dask scheduler" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]  # no store, no folder


@pytest.fixture(scope="module")
def dask_cluster():
    """An in-process Dask cluster (scheduler and one single-threaded worker in this process):
    its address, as an external cluster's would be given."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_a_sweep_on_a_scheduler_matches_in_process(tmp_path, dask_cluster):
    import asyncio

    from xbarmem.experiments.executors import check_scheduler

    async def in_a_notebook() -> int:  # an event loop runs in the caller's thread
        return check_scheduler(dask_cluster)

    assert check_scheduler(dask_cluster) == 1 == asyncio.run(in_a_notebook())
    spec = parse_sweep(tiny(rules=("pinv", "adaptive")))
    local = run_sweep(spec, tmp_path / "local.sqlite")
    remote = run_sweep(spec, tmp_path / "remote.sqlite", scheduler=dask_cluster)
    assert remote.executor.startswith("Dask cluster") and remote.inserted == local.inserted
    with ResultStore(tmp_path / "local.sqlite") as x, ResultStore(tmp_path / "remote.sqlite") as y:
        assert {r["key"]: r["result"]["cosine"] for r in x.rows()} == {
            r["key"]: r["result"]["cosine"] for r in y.rows()}


def test_workers_of_another_version_are_refused(tmp_path, dask_cluster, monkeypatch):
    """Workers with another xbarmem computed trials keyed (and stored) as this version's."""
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "_worker_version", lambda: "0.0.1")  # the in-process worker
    with pytest.raises(ConfigError, match="has xbarmem 0.0.1, this process"):
        run_sweep(parse_sweep(tiny()), tmp_path / "r.sqlite", scheduler=dask_cluster)
    assert not list(tmp_path.iterdir())  # the refused run left no (empty) store behind
    kept = tmp_path / "kept.sqlite"
    ResultStore(kept).close()  # a store that was there before is kept
    with pytest.raises(ConfigError, match="has xbarmem 0.0.1"):
        run_sweep(parse_sweep(tiny()), kept, scheduler=dask_cluster)
    assert kept.exists()


def test_a_worker_does_not_repeat_the_warnings_of_the_sweeps_chip(tmp_path):
    """A chip whose write noise is as wide as its window is warned about when the sweep is
    planned; every worker process (pool, Dask) printed the warning again, in Python's
    two-line form."""
    import warnings

    from xbarmem.errors import XbarmemWarning
    from xbarmem.experiments.trial import run_group_json

    wide = tmp_path / "wide.toml"
    wide.write_text("[device]\ng_min = 2e-6\ng_max = 150e-6\nwrite_noise = 200e-6\n")
    table = tiny(seeds=1, rules=("hebb",), faults=(0.0,))
    with pytest.warns(XbarmemWarning, match="device.write_noise = 0.0002 S"):
        spec = parse_sweep({**table, "base": {**table["base"], "chip": str(wide)}})
    trial = spec.trials[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        run_group_json(json.dumps({"trials": [{"key": trial.key, "config": trial.config}]}))


def test_a_group_run_in_the_driver_hides_only_its_own_warnings(tmp_path):
    """``run_group_json`` silenced the chip's warning with ``warnings.catch_warnings``, which
    changes the filters of every thread: the driver's own warnings given meanwhile from
    another thread (in-process groups, ``--jobs 1``) were lost."""
    import warnings

    from xbarmem.errors import XbarmemWarning, warn
    from xbarmem.experiments.trial import run_group_json

    wide = tmp_path / "wide.toml"
    wide.write_text("[device]\ng_min = 2e-6\ng_max = 150e-6\nwrite_noise = 200e-6\n")
    table = tiny(seeds=1, rules=("adaptive",), faults=(0.0,))  # (it reports progress)
    with pytest.warns(XbarmemWarning, match="device.write_noise"):
        spec = parse_sweep({**table, "base": {**table["base"], "chip": str(wide)}})
    trial = spec.trials[0]
    meanwhile: list[threading.Thread] = []

    def progress(fraction):  # the group is running: the driver's other thread warns
        if not meanwhile:
            meanwhile.extend([threading.Thread(target=warn, args=("the driver's own",)),
                              threading.Thread(target=warnings.warn,
                                               args=("a caller's own", XbarmemWarning))])
            for thread in meanwhile:
                thread.start()
                thread.join()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_group_json(json.dumps({"trials": [{"key": trial.key, "config": trial.config}]}),
                       progress)
    assert meanwhile, "the group reported no progress"
    assert sorted(str(w.message) for w in caught if w.category is XbarmemWarning) == [
        "a caller's own", "the driver's own"]


def test_a_worker_refuses_trials_of_another_version():
    from xbarmem.experiments.trial import run_group_json

    spec = parse_sweep(tiny(seeds=1, rules=("hebb",), faults=(0.0,)))
    trial = spec.trials[0]
    payload = json.dumps({"trials": [{"key": trial.key,
                                      "config": {**trial.config, "version": "0.0.1"}}]})
    with pytest.raises(ConfigError, match="planned with xbarmem 0.0.1"):
        run_group_json(payload)


#: released when a test is done with the group it holds in a Dask worker
_RELEASE = threading.Event()
_GROUPS: list[str] = []


def _first_group_then_hold(payload, progress=None):
    """``run_group_json`` for the first group; later groups wait until released (their worker
    is closed meanwhile, as a worker that dies)."""
    from xbarmem.experiments.trial import run_group_json

    _GROUPS.append(payload)
    if len(_GROUPS) == 1:
        return run_group_json(payload, progress)
    _RELEASE.wait(30)
    raise RuntimeError("held group released")


def test_a_cluster_whose_workers_all_died_stops_the_sweep(tmp_path, monkeypatch):
    """Every worker gone mid-run (the scheduler still up): the sweep waited for ever, silently.
    Now it stops once the cluster has had no worker for the grace period, with the finished
    trials stored."""
    distributed = pytest.importorskip("distributed")
    from xbarmem.errors import ExecutorLost
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "run_group_json", _first_group_then_hold)
    _GROUPS.clear()
    spec = parse_sweep(tiny(seeds=1, rules=("hebb",), batch=1))
    assert len(plan_groups(spec.trials, spec.batch)) == 2
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        def lose_the_workers(n: int) -> None:  # once the first group is stored
            for worker in list(cluster.workers.values()):
                cluster.sync(worker.close, executor_wait=False)

        began = time.monotonic()
        try:
            with pytest.raises(ExecutorLost, match=r"has had no worker for 1 s while 1 "
                                                   r"groups? of trials wait") as info:
                run_sweep(spec, tmp_path / "r.sqlite", scheduler=cluster.scheduler_address,
                          on_progress=lose_the_workers, worker_grace=1.0)
        finally:
            _RELEASE.set()
        assert time.monotonic() - began < 10 and "\n" not in str(info.value)
    with ResultStore(tmp_path / "r.sqlite", readonly=True) as db:
        assert len(db.rows()) == 1  # the first group's trial is stored: the sweep resumes


@pytest.mark.parametrize("grace", [0, -1.0, float("nan"), float("inf"), "60", True])
def test_worker_grace_is_a_positive_number_of_seconds(tmp_path, grace):
    with pytest.raises(ConfigError, match="worker_grace must be a number of seconds > 0"):
        run_sweep(parse_sweep(tiny()), tmp_path / "r.sqlite", worker_grace=grace)
    assert not list(tmp_path.iterdir())


def test_a_lost_scheduler_stops_the_sweep_saying_how_to_resume(run_cli, tmp_path, monkeypatch):
    """A scheduler killed mid-sweep ended the command with a traceback of cancelled futures."""
    import concurrent.futures as cf

    distributed = pytest.importorskip("distributed")
    from xbarmem.experiments import executors, runner

    def lost(*args, **kwargs):
        raise cf.CancelledError("scheduler-connection-lost")

    executor = object.__new__(executors._Dask)
    executor.client = type("Client", (), {"status": "connecting"})()
    executor.name = "Dask cluster at tcp://127.0.0.1:1"
    monkeypatch.setattr(distributed, "wait", lost)
    with pytest.raises(executors.ExecutorLost, match="lost the connection"):
        executor.wait_any([object()], 0.1)

    def run(*args, **kwargs):
        raise executors.ExecutorLost("lost the connection to the Dask cluster at tcp://h:1")

    monkeypatch.setattr(runner, "run_sweep", run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(toml_text(2, 1, "tiny"))
    code, out, err = run_cli("sweep", "tiny.toml", "--store", "r.sqlite", "--jobs", "1")
    assert code == 1 and "Traceback" not in out + err
    assert "run the same command again to resume" in " ".join((out + err).split())


# ------------------------------------------------------------- store filters, chip columns
def test_sweep_filter_keeps_the_rows_of_one_sweep_of_a_shared_store(tmp_path, run_cli):
    """``--sweep NAME`` (and ``sweep=`` in Python) keeps exactly the rows that sweep stored
    when a store holds several sweeps -- in count, rows, export and ``xbarmem results``
    (the sweeps share no trial: a trial's key is its configuration, not its sweep)."""
    store = tmp_path / "two.sqlite"
    a = parse_sweep(tiny(seeds=1, faults=(0.0,), name="a"))
    b = parse_sweep(tiny(seeds=2, faults=(0.1,), name="b"))
    run_sweep(a, store)
    run_sweep(b, store)
    with ResultStore(store) as db:
        assert db.count() == len(a.trials) + len(b.trials) == 2 + 4
        assert db.count(sweep="a") == 2 and db.count(sweep="b") == 4
        assert {r["key"] for r in db.rows(sweep="b")} == {t.key for t in b.trials}
        assert db.count(["rule=pinv"], sweep="b") == 2
        out = db.export(tmp_path / "a.csv", sweep="a")
        with out.open() as fh:
            assert [r["sweep"] for r in csv.DictReader(fh)] == ["a", "a"]
    code, out, err = run_cli("results", store, "--sweep", "a", "--json")
    assert code == 0, err
    assert sorted(r["key"] for r in json.loads(out)) == sorted(t.key for t in a.trials)


def test_where_compares_a_list_value_with_the_stored_list(tmp_path):
    """``--where counts=[1, 2, 3]`` matches the rows whose list is that list (spaces or not),
    and no row for another list."""
    table = tiny(seeds=1, faults=(0.0,))
    table["sweep"]["trial"] = "capacity"
    table["base"] = {**{k: v for k, v in table["base"].items()
                        if k not in ("patterns", "selection")},
                     "counts": [1, 2, 3], "pool": 8, "thresholds": [0.5]}
    store = tmp_path / "c.sqlite"
    run_sweep(parse_sweep(table), store)
    with ResultStore(store, readonly=True) as db:
        assert db.count(["counts=[1, 2, 3]"]) == db.count(["counts=[1,2,3]"]) == 2
        assert db.count(["counts=[1, 2]"]) == db.count(["counts=[3, 2, 1]"]) == 0


def test_fault_rate_of_a_chip_with_its_own_stuck_rates_is_their_sum(tmp_path, run_cli):
    """A sweep that leaves ``fault_rate`` to the chip stores None; ``xbarmem results`` and
    the fault-rate figure read the chip's ``p_stuck_on + p_stuck_off`` instead."""
    from xbarmem.hardware.chip import load_preset
    from xbarmem.viz.series import series_of

    dev = load_preset("rram").device
    expected = dev.p_stuck_on + dev.p_stuck_off
    assert expected > 0
    table = tiny(seeds=1, faults=(0.0,))
    del table["grid"]["fault_rate"]
    table["grid"]["chip"] = ["paper-sim", "rram"]
    store = tmp_path / "chip.sqlite"
    run_sweep(parse_sweep(table), store)
    with ResultStore(store, readonly=True) as db:
        rows = db.rows()
    assert all(r["config"]["fault_rate"] is None for r in rows)
    code, out, err = run_cli("results", store, "--columns", "rule,chip,fault_rate")
    assert code == 0, err
    cells = {tuple(c.strip() for c in line.split("│")[1:4]) for line in out.splitlines()
             if line.count("│") >= 4}
    assert cells == {(rule, chip, f"{rate:g}") for rule in ("hebb", "pinv")
                     for chip, rate in (("paper-sim", 0.0), ("rram", expected))}
    xs = sorted({x for s in series_of(rows, "faults") for x in s.points})
    assert xs == pytest.approx([0.0, expected])


def test_one_per_class_of_a_labelled_file_takes_the_first_pattern_of_each_class(tmp_path):
    """``selection = "one-per-class"`` on a user's .npz with labels: the first pattern of
    classes 0, 1, ... in class order, as ``--one-per-class`` and the built-in sets take them
    (it took them in file order); a ``patterns`` above the file's number of classes is
    refused when the sweep is read (3 patterns were stored for ``patterns = 5``) and one up to
    it is not capped at 10."""
    from xbarmem.data.patterns import select_indices
    from xbarmem.experiments.trial import stored_patterns

    x = np.where(np.random.default_rng(3).standard_normal((12, 16)) > 0, 1.0, -1.0)
    labels = np.array([2, 0, 2, 1, 0, 3, 4, 5, 6, 7, 8, 9])  # classes 0-2 first seen 1, 3, 0
    path = tmp_path / "labelled.npz"
    np.savez(path, patterns=x[:5], labels=labels[:5])
    table = tiny(seeds=1, faults=(0.0,), rules=("hebb",))
    table["base"].update(data=str(path), patterns=2, selection="one-per-class")
    (trial,) = parse_sweep(table).trials
    got = stored_patterns(trial.config)
    np.testing.assert_array_equal(np.asarray(got.patterns), x[[1, 3]])  # classes 0, 1
    assert list(got.labels) == [0, 1]
    np.testing.assert_array_equal(select_indices(labels[:5], 5, one_per_class=True), [1, 3, 0])
    for selection in ("one-per-class", "random-per-class"):
        table["base"].update(patterns=4, selection=selection)
        with pytest.raises(ConfigError, match="patterns = 4: .*gives at most 3 patterns"):
            parse_sweep(table)
    np.savez(path, patterns=x, labels=np.arange(14, 2, -1))  # 12 classes 3 .. 14
    table["base"].update(patterns=12, selection="one-per-class")
    (trial,) = parse_sweep(table).trials
    assert list(stored_patterns(trial.config).labels) == list(range(3, 15))
