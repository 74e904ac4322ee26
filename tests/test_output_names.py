"""Every command that writes files of its own names into a folder checks each of those names
before any work (``paths.check_members``): a folder of that name, or a file of it that cannot
be replaced, is refused in one line, exit 2, nothing written (a folder named
as ``energy --sizes``'s JSON ended in a traceback after the measurement, the PNG written).
The work itself is replaced by a failure: reaching it fails the test."""

from __future__ import annotations

import os

import pytest
from conftest import refused

from xbarmem.errors import ConfigError
from xbarmem.files import check_outputs_in

# command (its arguments before -o OUT), the function doing its work, names it writes
COMMANDS = {
    "demo": (["demo"], ("xbarmem.experiments.demo", "run_demo"), ["demo-recall.png"]),
    "energy --sizes": (["energy", "--sizes", "16,36"], ("xbarmem.energy.measure",
                                                          "measure_sizes"),
                       ["energy-vs-n.png", "energy-vs-n.json"]),
    "energy --calibrate": (["energy", "--calibrate"], ("xbarmem.energy.measure", "measure"),
                           ["circuit-calibrated.toml"]),
    "export": (["export", "MODEL"], ("xbarmem.deploy.export", "export_memory"),
               ["manifest.json", "devices.csv", "layer0_weights.npy", "fault_map.npz"]),
    "reproduce": (["reproduce", "--quick"], ("xbarmem.experiments.reproduce", "reproduce"),
                  ["report.md", "results.sqlite", "a-faults-mnist.png",
                   "b-capacity-10pct-flips.png", "e-scaling.png", "f-energy.json"]),
}
CASES = [(command, name) for command, (_, _, names) in COMMANDS.items() for name in names]


def _no_work(monkeypatch, where: tuple[str, str]) -> None:
    import importlib

    module = importlib.import_module(where[0])
    monkeypatch.setattr(module, where[1], lambda *a, **k: pytest.fail("work began"))


def _refused(run_cli, tmp_path, command: str, model, out) -> str:
    args = [model if a == "MODEL" else a for a in COMMANDS[command][0]]
    return refused(run_cli, tmp_path, *args, "-o", out)  # (the work fails the test: _no_work)


@pytest.mark.parametrize(("command", "name"), CASES)
def test_a_folder_named_as_an_output_is_refused_before_any_work(command, name, run_cli,
                                                                tmp_path, monkeypatch,
                                                                small_model):
    _no_work(monkeypatch, COMMANDS[command][1])
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    message = _refused(run_cli, tmp_path, command, small_model, out)
    assert message == f"error: --out {out / name}: is a folder, expected a file name"


@pytest.mark.parametrize(("command", "name"), CASES)
def test_a_file_named_as_an_output_that_cannot_be_replaced_is_refused(command, name, run_cli,
                                                                       tmp_path, monkeypatch,
                                                                       small_model):
    """(root may write any file: the permission check is simulated for that one file.)"""
    _no_work(monkeypatch, COMMANDS[command][1])
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("keep me")
    (out / name).chmod(0o444)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **k: (
        False if str(path) == str(out / name) and mode & os.W_OK else access(path, mode, **k)))
    message = _refused(run_cli, tmp_path, command, small_model, out)
    assert message == f"error: --out {out / name}: the file is not writable"
    assert (out / name).read_text() == "keep me"


def test_reproduce_with_its_own_store_does_not_check_the_default_one(run_cli, tmp_path,
                                                                      monkeypatch):
    """(``--store`` elsewhere: ``OUT/results.sqlite`` is not written, so not refused.)"""
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(reproduce, "reproduce", lambda *a, **k: (_ for _ in ()).throw(
        ConfigError("work began")))
    (tmp_path / "out" / "results.sqlite").mkdir(parents=True)
    code, _, err = run_cli("reproduce", "--quick", "-o", tmp_path / "out", "--store",
                           tmp_path / "s.sqlite")
    assert code == 2 and "work began" in err


def test_the_library_checks_the_same_names(tmp_path, small_memory):
    """``run_demo`` and ``reproduce`` (Python) refuse such a folder before any work too."""
    from xbarmem.experiments.demo import run_demo
    from xbarmem.experiments.reproduce import output_names, reproduce

    (tmp_path / "demo-recall.png").mkdir()
    with pytest.raises(ConfigError, match="demo figure in .*: demo-recall.png is a folder"):
        run_demo(out_dir=tmp_path)
    (tmp_path / "f-energy.json").mkdir()
    with pytest.raises(ConfigError, match="report in .*: f-energy.json is a folder"):
        reproduce(tmp_path, quick=True, run=lambda *a: pytest.fail("work began"))
    assert "results.sqlite" not in output_names(store=True)
    assert {"report.md", "results.sqlite", "c-patterns.png", "d-variation.png"} <= set(
        output_names())
    check_outputs_in(tmp_path / "new", ["report.md"], "report")  # (a folder to be made)


@pytest.mark.parametrize("name", ["manifest.json", "targets_S.npy"])
def test_adapt_export_names_are_checked_before_any_work(name, run_cli, tmp_path, monkeypatch,
                                                        small_memory, small_model):
    import numpy as np

    _no_work(monkeypatch, ("xbarmem.deploy.chip_loop", "adapt_read_back"))
    memory = small_memory[1]
    read = tmp_path / "read.npy"
    np.save(read, memory.crossbar.scatter(np.stack([memory.crossbar.g_pos,
                                                    memory.crossbar.g_neg])))
    (tmp_path / "e1" / name).mkdir(parents=True)
    message = refused(run_cli, tmp_path, "adapt", small_model, "--read-back", read,
                      "--export", tmp_path / "e1")
    assert message == (f"error: --export {tmp_path / 'e1' / name}: is a folder, expected a "
                       "file name")


@pytest.mark.parametrize(("args", "flag", "noun"), [
    (["sweep", "SWEEP", "--store", "-", "--jobs", "1"], "--store", "file"),
    (["scaling", "--arch", "single", "--rule", "pinv", "--data", "random", "--sizes", "16,25",
      "--trials", "1", "--probes", "2", "--out", "-"], "--out", "folder"),
    (["reproduce", "--quick", "--out", "-"], "--out", "folder"),
    (["energy", "--sizes", "16,36", "--out", "-"], "--out", "folder"),
    (["plot", "STORE", "-o", "-"], "--out", "file"),
    (["train", "--data", "random", "--neurons", "16", "--patterns", "2", "-o", "-"], "--out",
     "file")], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_a_dash_for_an_output_that_is_no_stream_is_refused(args, flag, noun, run_cli, tmp_path,
                                                             monkeypatch):
    """``-`` names standard output where an option writes it (``results --csv -``); ``sweep
    --store -`` wrote a store file named ``-``, and ``scaling --out -`` a folder named ``-``
    holding its JSON and PNG. Every output but those that write standard output refuses it,
    before any work."""
    from conftest import tiny_sweep

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "t.toml"
    sweep.write_text(tiny_sweep("t"))
    store = tmp_path / "s.sqlite"
    store.write_bytes(b"")
    args = [str(sweep) if a == "SWEEP" else str(store) if a == "STORE" else a for a in args]
    line = refused(run_cli, tmp_path, *args)
    assert line == f"error: {flag} -: {flag} writes a {noun}, not standard output: give a " \
                   f"{noun} name", line
    assert not (tmp_path / "-").exists()
