"""Shared test fixtures.

Torch runs single-threaded in the tests: the networks are small, and on a 2-core machine shared
with other processes a second intra-op thread mostly adds contention.
"""

import hashlib
import json
import os
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import settings
from torch.overrides import TorchFunctionMode

from xbarmem.data.builtin import load_mnist

# Property tests draw the same examples on every run, so CI never fails on a draw nobody saw
# before, and keep no example database between runs; ``HYPOTHESIS_PROFILE=explore`` draws new
# examples each run (a developer's search for new cases: a failure found there becomes a test).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# The commands read ``COLUMNS`` as a width asked for (messages wrap to it) and ``LINES`` as a
# height; pytest-xdist's workers start with COLUMNS=80 and LINES=24 that no terminal gave, and a
# developer's shell may export its own. The tests run as where no terminal reads (CI's case);
# a test that needs a width sets it (``monkeypatch.setenv("COLUMNS", ...)``).
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(autouse=True, scope="session")
def _one_click_tree():
    """xbarmem's click command tree built once per test process, as the console script builds
    it once per run: Typer rebuilds it from the decorated functions at every ``app(...)`` call
    (nine tenths of an in-process refusal's time), and the tree is the same each time (the
    tests read it and run it, none changes it)."""
    import sys

    import typer.main

    build, built = typer.main.get_command, {}  # id(app) -> (app, its tree)

    def get_command(typer_instance):
        apps = sys.modules.get("xbarmem.cli.apps")
        if apps is None or typer_instance is not apps.app:
            return build(typer_instance)
        if built.get(id(typer_instance), (None,))[0] is not typer_instance:
            built[id(typer_instance)] = (typer_instance, build(typer_instance))
        return built[id(typer_instance)][1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.main, "get_command", get_command)
        yield


@pytest.fixture(scope="module")
def pats():
    """Four bundled MNIST digits at 5x5 (N = 25), binary."""
    return load_mnist(side=5, n_patterns=4, seed=0)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """``run_cli(*args) -> (exit code, stdout, stderr)``: ``xbarmem *args`` run in-process through
    ``xbarmem.cli.main()`` exactly as the console script does (``sys.argv`` patched), so error
    paths (one-line ``error: ...`` on stderr, exit code 2) are tested as a user sees them."""
    import sys

    from xbarmem import cli

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        monkeypatch.setattr(sys, "argv", ["xbarmem", *map(str, args)])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="module")
def small_memory(trained):
    """``(patterns, memory)``: 3 random patterns of 16 neurons stored on the rram chip (30
    steps), per test module -- the model the damaged-file, export-link, metadata and
    model-chip tests take apart."""
    from xbarmem import load_chip, random_patterns

    pset = random_patterns(3, 16, seed=4)
    return pset, trained(pset.patterns, load_chip("rram"), fault_seed=1, program_seed=2,
                         max_steps=30)


@pytest.fixture(scope="module")
def small_model(small_memory, tmp_path_factory):
    """:func:`small_memory` saved with its patterns (a fresh file per test module)."""
    from xbarmem.memory.io import save_memory

    pset, memory = small_memory
    return save_memory(memory, tmp_path_factory.mktemp("model") / "m.safetensors",
                       patterns=pset)


@pytest.fixture(scope="module")
def small_export(small_memory, tmp_path_factory):
    """:func:`small_memory` exported with its patterns (a fresh folder per test module)."""
    from xbarmem.deploy.export import export_memory

    pset, memory = small_memory
    folder = tmp_path_factory.mktemp("export") / "out"
    export_memory(memory, folder, patterns=pset)
    return folder


@pytest.fixture(scope="session")
def trained():
    """``trained(patterns, chip, *, fault_seed, program_seed, max_steps, finetune_steps=0,
    window=20)``: a single-layer memory trained by the hardware-adaptive rule on a small step
    budget and programmed -- the one recipe behind the modules' trained-memory fixtures (each
    module keeps its own chip, seeds and budget)."""
    from xbarmem import train

    def make(patterns, chip, *, fault_seed: int, program_seed: int, max_steps: int,
             finetune_steps: int = 0, window: int = 20):
        return train(patterns, chip=chip, rule="adaptive", fault_seed=fault_seed,
                     program_seed=program_seed, max_steps=max_steps,
                     finetune_steps=finetune_steps, window=window)
    return make


@pytest.fixture
def one_thread():
    """One torch thread for the test (restored after): timings and float sums as on a quiet
    machine. Modules use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------ clean refusals (CLI bad-input tests)
def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (folders as ``<dir>``)."""
    return {str(p.relative_to(folder)): "<dir>" if p.is_dir() else
            hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_dir() or p.is_file()}


def run_quietly(run_cli, args) -> tuple[int, str, str]:
    """``run_cli(*args)``; no runtime or user warning may escape (a user would see it on
    stderr next to the one error line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_cli(*args)
    escaped = [f"{w.category.__name__}: {w.message}" for w in caught
               if issubclass(w.category, (RuntimeWarning, UserWarning))]
    assert not escaped, (args, escaped)
    return result


@pytest.fixture
def refused_here(run_cli, tmp_path, monkeypatch):
    """``refused_here(*args, names=(...))``: run ``xbarmem *args`` in ``tmp_path``; assert a
    clean refusal (:func:`refused`) naming each of ``names`` that leaves the folder untouched;
    return the error line."""
    monkeypatch.chdir(tmp_path)

    def run(*args: object, names: tuple[str, ...] = ()) -> str:
        return refused(run_cli, tmp_path, *args, names=names)

    return run


def refused(run_cli, folder: Path, *args: object, names: tuple[str, ...] = ()) -> str:
    """Run ``xbarmem *args``; assert a clean refusal that leaves ``folder`` untouched; return
    the error line."""
    before = tree_digest(folder)
    code, _, err = run_quietly(run_cli, args)
    lines = err.strip().splitlines()
    assert code == 2, (args, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in names:
        assert fragment in lines[0], (fragment, lines[0])
    assert tree_digest(folder) == before, f"{args} changed files it was not asked to write"
    return lines[0]


def patch_figures(monkeypatch, draw) -> None:
    """Replace ``write_figure`` (``xbarmem.experiments.reproduce.report``) with ``draw`` in every
    module of ``xbarmem reproduce`` that calls it, e.g. to skip drawing or record its options."""
    import importlib
    import pkgutil

    from xbarmem.experiments import reproduce

    for info in pkgutil.iter_modules(reproduce.__path__):
        module = importlib.import_module(f"{reproduce.__name__}.{info.name}")
        if hasattr(module, "write_figure"):
            monkeypatch.setattr(module, "write_figure", draw)


def check_work_within_groups(store: Path, **executor: Any) -> None:
    """Run a sweep of two one-trial groups of hardware-adaptive training into ``store`` on the
    executor ``executor`` names (``jobs=2``, ``scheduler=ADDRESS``, ...), and check that the
    work it reports moves before a group ends, never backwards, and ends at the total. (A
    group's training, a few tenths of a second, may end within one relay step: the reports
    of a group that ended since the last relay are relayed before its end.)"""
    from xbarmem.experiments.runner import group_cost, run_sweep
    from xbarmem.experiments.sweep import parse_sweep

    spec = parse_sweep({"sweep": {"name": "w", "trial": "evaluate", "seeds": 2, "batch": 1},
                        "base": {"data": "random", "n_neurons": 16, "patterns": 3,
                                 "selection": "first", "probes": 2, "max_iterations": 10,
                                 "rule": "adaptive"},
                        "rule_options": {"adaptive": {"max_steps": 200, "finetune_steps": 600,
                                                      "flip_steps": 0}}})
    work: list[tuple[float, float]] = []
    run_sweep(spec, store, on_work=lambda d, t: work.append((d, t)), **executor)
    done, total = [d for d, _ in work], work[0][1]
    assert all(a <= b for a, b in zip(done, done[1:], strict=False))
    assert done[-1] == pytest.approx(total)
    assert any(0 < d < min(group_cost([t]) for t in spec.trials) for d in done)


def tiny_sweep(name: str, *, seeds: int = 1, rules: tuple[str, ...] = ("hebb", "pinv"),
               fault_rates: list[float] | None = None) -> str:
    """The TOML text of a sweep of tiny evaluate trials (16 random neurons, 3 patterns, 2
    cues each) over ``rules`` and, when given, ``fault_rates``: a few seconds in all."""
    grid = "rule = [" + ", ".join(f'"{r}"' for r in rules) + "]\n"
    if fault_rates is not None:
        grid += "fault_rate = [" + ", ".join(f"{f:.2f}" for f in fault_rates) + "]\n"
    return (f'[sweep]\nname = "{name}"\ntrial = "evaluate"\nseeds = {seeds}\nbatch = 1\n\n'
            '[base]\ndata = "random"\nn_neurons = 16\npatterns = 3\nselection = "first"\n'
            'probes = 2\nmax_iterations = 10\n\n[grid]\n' + grid)


def count_rows(store: Path) -> int:
    """Rows in the trials table of the results store ``store`` (0 before it is created), read
    while a sweep in another process may be writing it."""
    import sqlite3

    try:
        with sqlite3.connect(store, timeout=30) as db:
            return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def with_metadata(model: bytes, edit) -> bytes:
    """The bytes of the safetensors model ``model`` with its xbarmem metadata changed in place
    by ``edit(meta)`` (the tensors as they were)."""
    size = int.from_bytes(model[:8], "little")
    header = json.loads(model[8:8 + size])
    meta = json.loads(header["__metadata__"]["xbarmem"])
    edit(meta)
    header["__metadata__"]["xbarmem"] = json.dumps(meta)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + model[8 + size:]


def model_parts(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tensors and the metadata of the model file ``path`` (to edit and write back with
    :func:`write_model`)."""
    from safetensors.numpy import load

    from xbarmem.memory.io import read_metadata
    return dict(load(path.read_bytes())), read_metadata(path)


def write_model(path: Path, tensors: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write ``tensors`` and ``meta`` as a model file at ``path``, unchecked (a file another
    program or a hand edit made)."""
    import numpy as np
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    path.write_bytes(save(arrays, metadata={"xbarmem": json.dumps(meta)}))
    return path


class TorchCalls(TorchFunctionMode):
    """Counts the torch functions called while it is active (each product, draw, tensor made):
    work a refusal must not have begun (a count, where a clock would measure the machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.called: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.called.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


class Inflated:
    """Counts the bytes zlib inflates while active (``with Inflated() as inflated:``,
    ``inflated.bytes``): every gzip and zip member a reader decompresses goes through
    ``zlib.decompressobj``, which this wraps for the block."""

    def __enter__(self) -> "Inflated":
        self.bytes, real, counter = 0, zlib.decompressobj, self

        class Counted:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.inner = real(*args, **kwargs)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = self.inner.decompress(data, max_length)
                counter.bytes += len(out)
                return out

            def flush(self, *args: Any) -> bytes:
                out = self.inner.flush(*args)
                counter.bytes += len(out)
                return out

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

        self._real, zlib.decompressobj = real, Counted
        return self

    def __exit__(self, *exc: object) -> None:
        zlib.decompressobj = self._real
