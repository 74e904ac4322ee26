"""The package's type hints, as users' type checkers read them (it ships ``py.typed``): mypy
finds no error in ``src/xbarmem`` (with the ``[tool.mypy]`` settings of pyproject.toml), and
a typed user script calling the public API with its documented argument types, assigning to
variables of its documented return types, passes -- so a wrong public hint fails here."""

from __future__ import annotations

import runpy
import tomllib
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "xbarmem"

#: a user's typed script: every public call with documented argument types, every result
#: assigned to its documented type; the last line is the one error mypy must report
USER_SCRIPT = '''\
from pathlib import Path

import numpy as np
import torch

import xbarmem as xm

patterns: xm.PatternSet = xm.random_patterns(4, 16, seed=0)
matrix: np.ndarray = patterns.patterns
chip: xm.ChipSpec = xm.load_chip("paper-sim")
preset: xm.ChipSpec = xm.load_preset("ideal")
memory: xm.SingleLayerMemory = xm.train(patterns, chip=chip, rule="hebb")
from_numpy: xm.Memory = xm.train(matrix, chip="ideal", rule="pinv", fault_seed=1)
deep: xm.MultilayerMemory = xm.train(patterns, rule="adaptive", arch="multilayer", hidden=16,
                                     max_steps=2)
crossbar: xm.Crossbar = memory.crossbar
planes: np.ndarray = crossbar.planes()
protocol: xm.Protocol = xm.Protocol(level=0.1, probes=2)
score = xm.evaluate_memory(memory, patterns, protocol)
cosine: float = score.cosine
also: float = xm.evaluate_memory(memory, matrix).exact
result: xm.RecallResult = memory.recall(matrix)
states: torch.Tensor = result.states
from_tensor: xm.RecallResult = memory.recall(torch.ones(2, 16), mode="async",
                                             seed=torch.Generator())
from_lists: xm.RecallResult = xm.recall(crossbar, [[1.0] * 16], activation="tanh")
saved: Path = xm.save_memory(memory, "model.safetensors", patterns=patterns)
loaded: xm.Memory = xm.load_memory(saved)
stored: xm.PatternSet = xm.load_stored_patterns(saved)
infos: list = xm.fit_memories(xm.get_rule("hebb"), matrix, [from_numpy])
fit: float = xm.fit_power_law(np.array([16.0, 32.0, 64.0]), [2.0, 4.0, 8.0]).slope
wrong: str = xm.load_chip("ideal")
'''


def _mypy(*targets: str) -> tuple[str, int]:
    out, err, status = mypy_api.run([*targets, "--config-file", str(ROOT / "pyproject.toml"),
                                     "--no-incremental", "--hide-error-context"])
    return out + err, status


def test_package_and_user_script_type_check(tmp_path):
    """One mypy run (about 20 s, no cache): the package has no error; the user script only
    the one on its last line, where a ChipSpec is assigned to a str."""
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT)
    report, status = _mypy(str(PACKAGE), str(script))
    errors = [line for line in report.splitlines() if ": error:" in line]
    last = len(USER_SCRIPT.splitlines())
    assert status == 1, report
    assert len(errors) == 1, report
    assert errors[0].startswith(f"{script}:{last}: error: Incompatible types in assignment "
                                '(expression has type "ChipSpec", variable has type "str")')


def test_user_script_runs_and_results_have_the_hinted_types(tmp_path, monkeypatch):
    """The hints describe what the calls return: every annotated name of the script holds an
    instance of its annotated class (the last, deliberately wrong, one aside)."""
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT)
    monkeypatch.chdir(tmp_path)
    names = runpy.run_path(str(script))
    checked = 0
    for name, hint in names["__annotations__"].items():
        if name != "wrong" and isinstance(hint, type):
            assert isinstance(names[name], hint), (name, type(names[name]), hint)
            checked += 1
    assert checked >= 20
    assert (tmp_path / "model.safetensors").is_file()


def test_py_typed_is_shipped():
    """PEP 561: the marker exists and the build's package data includes it (a wheel without
    it makes mypy and pyright skip every hint: 'missing library stubs or py.typed marker')."""
    assert (PACKAGE / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["xbarmem"]
    assert any(dep.startswith("mypy") for dep in config["project"]["optional-dependencies"]["test"])


def test_no_part_of_the_package_is_exempt():
    """The one mypy run checks every module, the command line's too: no override of
    pyproject.toml ignores a module's errors."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    exempt = [o["module"] for o in config["tool"]["mypy"].get("overrides", [])
              if o.get("ignore_errors")]
    assert not exempt, exempt


def test_cli_option_aliases_are_written_as_annotated():
    """A Typer option alias is a type to mypy only when written ``Annotated[T, option]``: one
    a function returns (``Faults = bounded(float, "--faults", ...)``) is a variable, which
    mypy refuses as a type or, from a module outside an import cycle, silently takes as Any,
    leaving the command's use of the value unchecked. The option helpers (``bounded``,
    ``out``, ``level``, ...) return the option, and every module-level name of the CLI bound
    to an ``Annotated`` alias is bound by such an expression (or another alias's name)."""
    import ast
    import importlib
    import typing

    called = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        module = importlib.import_module(f"xbarmem.cli.{path.stem}")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                called += [f"{path.stem}.{t.id}" for t in node.targets
                           if isinstance(t, ast.Name) and typing.get_origin(
                               getattr(module, t.id, None)) is typing.Annotated]
    assert not called, f"option aliases built by a call: {called}"
    from xbarmem.cli import hardware_options, output_options, recall_options

    assert typing.get_args(hardware_options.Faults)[0] == float | None
    assert typing.get_args(recall_options.Probes)[0] is int
    assert typing.get_origin(output_options.out("x")) is None  # an option, not an alias
