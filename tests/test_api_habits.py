"""The Python API under a PyTorch / scikit-learn user's habits around the call: global torch
state (default dtype, autograd off, the global RNG), copies and iteration, threads, and
``run_sweep`` started by a script without the ``__main__`` guard under ``spawn``."""

from __future__ import annotations

import ast
import concurrent.futures as cf
import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import parse_sweep

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"
#: torch factories whose result takes torch's default dtype unless told
FACTORIES = {"zeros", "ones", "full", "empty", "eye", "rand", "randn", "linspace", "logspace",
             "tensor"}


def test_every_torch_factory_names_its_dtype():
    """One rule for every path: a tensor made without ``dtype=`` follows
    ``torch.set_default_dtype`` and met float32 weights (a RuntimeError in training)."""
    loose = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"
                    and node.func.attr in FACTORIES
                    and not any(k.arg == "dtype" for k in node.keywords)):
                loose.append(f"{path.relative_to(SRC)}:{node.lineno} torch.{node.func.attr}")
    assert loose == []


def test_every_xbarmem_warning_is_issued_through_one_function():
    """:func:`xbarmem.errors.warn` is the one place an XbarmemWarning is issued, so that a
    sweep's group silences its own (``quiet_warnings``, in its thread) and no other
    thread's: ``warnings.catch_warnings`` around the group hid the driver's warnings too."""
    direct = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "warn" and "XbarmemWarning" in ast.dump(node)
                    and path.name != "errors.py"):
                direct.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert direct == []


def _run(arch: str, rule: str):
    d = xm.load_mnist(side=4, n_patterns=5, seed=0)
    chip = xm.load_preset("rram").with_faults(0.2)
    options = {"max_steps": 4, "finetune_steps": 2} if rule == "adaptive" else {}
    mem = xm.train(d, chip=chip, rule=rule, arch=arch, hidden=8 if arch == "multilayer" else None,
                   fault_seed=1, program_seed=1, **options)
    cues = xm.gaussian_noise(d.patterns, 0.3, generator=2)
    return ([layer.g_pos.copy() for layer in mem.layers],
            mem.recall(cues, mode="async", seed=1).states,
            xm.evaluate_memory(mem, d, xm.Protocol(probes=2, seed=1)).states)


def _same(a, b) -> bool:
    return (all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
            and all(x.dtype == torch.float32 and torch.equal(x, y)
                    for x, y in zip(a[1:], b[1:], strict=True)))


@pytest.mark.parametrize(("arch", "rule"), [("single", "adaptive"), ("multilayer", "adaptive"),
                                            ("single", "hebb")])
def test_float64_default_dtype_changes_no_bit(arch, rule):
    first = _run(arch, rule)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        again = _run(arch, rule)
    finally:
        torch.set_default_dtype(old)
    assert _same(first, again)


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_autograd_off_around_the_calls_changes_nothing(context):
    first = _run("single", "adaptive")
    with context():
        assert _same(first, _run("single", "adaptive"))


def test_the_global_random_state_is_neither_read_nor_consumed():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    first = _run("single", "adaptive")
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    torch.manual_seed(7)
    assert _same(first, _run("single", "adaptive"))


def test_copies_compare_equal_and_pattern_sets_iterate(small_memory):
    pset, memory = small_memory
    faults = memory.faults
    assert copy.deepcopy(faults) == faults and copy.copy(faults) == faults
    other = copy.deepcopy(faults)
    other.g_stuck[0, 0, 0, 0] = 1e-5 if np.isnan(other.g_stuck[0, 0, 0, 0]) else np.nan
    assert other != faults and faults != "a map"
    with pytest.raises(TypeError, match="unhashable"):
        hash(faults)
    assert copy.deepcopy(memory.chip) == memory.chip
    rows = list(pset)
    assert len(rows) == len(pset) == 3 and all(
        np.array_equal(r, p) for r, p in zip(rows, pset.patterns, strict=True))
    assert len(repr(memory)) < 200 and len(repr(faults)) < 200


def test_recall_from_threads_is_recall_in_turn(small_memory):
    pset, memory = small_memory
    jobs = [(xm.flip_bits(pset.patterns, 0.25, generator=i), mode)
            for i in range(6) for mode in ("sync", "async")]
    serial = [memory.recall(c, mode=m, seed=3).states for c, m in jobs]
    with cf.ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda job: memory.recall(job[0], mode=job[1], seed=3).states,
                                 jobs))
    assert all(torch.equal(a, b) for a, b in zip(serial, threaded, strict=True))


_UNGUARDED = """
import multiprocessing
multiprocessing.set_start_method("spawn", force=True)
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import parse_sweep
spec = parse_sweep({"sweep": {"name": "t", "trial": "evaluate"},
                    "base": {"data": "random", "n_neurons": 8, "patterns": 2, "probes": 1},
                    "grid": {"rule": ["hebb", "pinv"]}})
print(run_sweep(spec, "s.sqlite", jobs=2).ran)
"""


@pytest.mark.parametrize("guarded", [False, True])
@pytest.mark.parametrize("executor", ["jobs", "workers"])
def test_a_sweep_without_the_main_guard_says_so(tmp_path, guarded, executor):
    """Without the guard each spawned worker ran the script's sweep again (process pool,
    ``jobs=2``: a hang on the groups the driver held; local Dask cluster, ``workers=2``: the
    workers ended there and the driver failed with Dask's "RuntimeError: Nanny failed to
    start" traceback, leaving the empty store it had made). Now one ConfigError names the
    guard, the workers are quiet and the store is gone."""
    if executor == "workers":
        pytest.importorskip("distributed")
    script = textwrap.dedent(_UNGUARDED).replace("jobs=2", f"{executor}=2")
    if guarded:
        body = script.split("spec = ")[1]
        script = script.split("spec = ")[0] + "if __name__ == '__main__':\n" + textwrap.indent(
            "spec = " + body, "    ")
    (tmp_path / "s.py").write_text(script)
    out = subprocess.run([sys.executable, "s.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=240)
    if guarded:
        assert (out.returncode, out.stdout.strip()) == (0, "2"), out.stderr
        return
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("Traceback") == 1, out.stderr  # the driver's: workers are quiet
    assert out.stderr.strip().splitlines()[-1] == (
        "xbarmem.errors.ConfigError: the worker processes of run_sweep start a new Python "
        "that imports your script again, and the script started the sweep again: call "
        "run_sweep under `if __name__ == \"__main__\":`")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.py"]


def test_a_spawn_start_method_set_at_the_top_of_a_script_stops_the_sweep_in_one_line(tmp_path):
    """``multiprocessing.set_start_method("spawn")`` (without ``force=True``) outside the
    ``__main__`` guard fails in every spawned worker, which imports the script again; the
    sweep recorded every group as failed and returned (``ran 0``, exit 0), leaving an empty
    store. Now one ConfigError says what happened and the store it made is gone."""
    script = textwrap.dedent(_UNGUARDED).replace(', force=True)', ')')
    (tmp_path / "s.py").write_text(script)
    out = subprocess.run([sys.executable, "s.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().splitlines()[-1] == (
        "xbarmem.errors.ConfigError: the worker processes of the process pool (2 workers) "
        "ended before running any group (exit status 1): each starts a new Python that "
        "imports s.py again, and code at its top level failed there (Python printed why "
        "above; e.g. multiprocessing.set_start_method without force=True): put the "
        "script's work under `if __name__ == \"__main__\":`")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.py"]


def _dying_pool(how):
    """A ``pool.new`` whose workers end at their start: ``how`` and its arguments are the
    pool's initializer (``os._exit``: an error of their own; ``signal.raise_signal``:
    killed)."""
    import multiprocessing

    def new(jobs):
        return cf.ProcessPoolExecutor(max_workers=2, initializer=how[0], initargs=how[1:],
                                      mp_context=multiprocessing.get_context("spawn"))
    return new


@pytest.mark.parametrize("ahead", [None, "started", "broken"],
                         ids=["on-demand", "started-ahead", "broken-ahead"])
@pytest.mark.parametrize("existed", [False, True], ids=["new-store", "existing-store"])
def test_a_pool_whose_workers_cannot_start_stops_the_sweep(tmp_path, monkeypatch, ahead,
                                                          existed):
    """Workers that die before running any group (every group fails with BrokenProcessPool):
    one error naming the cause, not a report of failed groups; a store this run created and
    left empty is removed, one that existed is kept. A pool started ahead that broke before
    the sweep's first group (its ``submit`` fails) named "no exit status" (flaky: the pool's
    workers were read only after a submit that succeeded); "broken" waits for that."""
    import os

    from xbarmem.experiments import executors, pool
    from xbarmem.experiments.store import ResultStore

    monkeypatch.setattr(pool, "main_script", lambda: None)  # (pytest's own is no script)
    for module in (pool, executors):
        monkeypatch.setattr(module, "new", _dying_pool((os._exit, 1)))
    store = tmp_path / "s.sqlite"
    if existed:
        ResultStore(store).close()
    if ahead:
        pool.prestart(2)
    if ahead == "broken":  # (its workers die at their start: the task never runs)
        with pytest.raises(cf.process.BrokenProcessPool):
            pool._STARTED[2].submit(int).result(timeout=120)
    spec = parse_sweep({"sweep": {"name": "t", "trial": "evaluate"},
                           "base": {"data": "random", "n_neurons": 8, "patterns": 2},
                           "grid": {"rule": ["hebb", "pinv"]}})
    with pytest.raises(xm.ConfigError, match=r"^the worker processes of the process pool \(2 "
                       r"workers\) ended before running any group \(exit status 1\): Python "
                       r"printed why above$"):
        run_sweep(spec, store, jobs=2)
    assert store.exists() == existed
    assert sorted(p.name for p in tmp_path.iterdir()) == (["s.sqlite"] if existed else [])


def test_a_pool_whose_workers_are_killed_at_once_stops_the_sweep(tmp_path, monkeypatch):
    import signal

    from xbarmem.errors import ExecutorLost
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "new", _dying_pool((signal.raise_signal, signal.SIGKILL)))
    spec = parse_sweep({"sweep": {"name": "t", "trial": "evaluate"},
                           "base": {"data": "random", "n_neurons": 8, "patterns": 2},
                           "grid": {"rule": ["hebb", "pinv"]}})
    with pytest.raises(ExecutorLost, match=r"^the worker processes of the process pool \(2 "
                       r"workers\) were killed \(signal SIGKILL; out of memory\?\) before any "
                       r"group came back$"):
        run_sweep(spec, tmp_path / "s.sqlite", jobs=2)


def test_the_sweep_command_says_so_in_one_line_and_leaves_no_store(tmp_path, monkeypatch,
                                                                   run_cli):
    import os

    from conftest import tiny_sweep

    from xbarmem.experiments import executors, pool

    monkeypatch.setattr(pool, "main_script", lambda: None)  # as for the xbarmem command
    for module in (pool, executors):
        monkeypatch.setattr(module, "new", _dying_pool((os._exit, 3)))
    (tmp_path / "s.toml").write_text(tiny_sweep("t"))
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", tmp_path / "s.sqlite",
                             "--jobs", "2")
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        "error: the worker processes of the process pool (2 workers) ended before running any "
        "group (exit status 3): Python printed why above")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_pool_that_broke_after_groups_came_back_stops_at_the_next_group(monkeypatch):
    """Groups sent to a pool that broke after others came back were refused with the pool's
    own BrokenProcessPool traceback; now the sweep stops with ExecutorLost (the groups
    finished before are stored)."""
    import os

    from xbarmem.errors import ExecutorLost
    from xbarmem.experiments import executors

    monkeypatch.setattr(executors, "new", _dying_pool((os._exit, 1)))
    ex = executors._Pool(2)
    ex.ran = True  # as if a group had come back before
    try:
        first = ex.submit("{}")
        assert ex.wait_any([first], 60) == {first}  # failed, as a group failing mid-sweep
        with pytest.raises(ExecutorLost, match=r"^a worker process of the process pool \(2 "
                           r"workers\) died \(exit status 1\): the pool cannot run the other "
                           r"groups$"):
            ex.submit("{}")
    finally:
        ex.close(wait=False)
