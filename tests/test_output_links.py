"""Outputs named by a symbolic link: a write follows the link (the link stays a link), so the
check before any work judges where it leads. A link into a missing folder passed the check
(the link's own folder exists) and the write at the end failed: ``train -o`` trained, then
ended in FileNotFoundError's traceback; ``export -o`` in FileExistsError's; links in a loop
in RuntimeError's. Now one line, exit 2, nothing written. A link that leads to nothing that
exists (a folder still to be made, a file still to be written) is refused on the command line
too: writing through it would create a file or folder elsewhere, which the command was not
asked to write (tests/test_loose_ends.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import refused

from xbarmem.errors import XbarmemError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")

# option, then the arguments before it (STORE, MODEL: the store and model of the test)
COMMANDS = {
    "train": (["train", "--data", "random", "--neurons", "16", "--patterns", "2"],
              "--out", "m.safetensors"),
    "chip faults": (["chip", "faults", "--neurons", "16"], "--out", "f.npz"),
    "capacity": (["capacity", "--data", "random", "--neurons", "16", "--trials", "1",
                  "--probes", "2"], "--checkpoint", "c.json"),
    "sweep": (["sweep", "SWEEP"], "--store", "s.sqlite"),
    "results": (["results", "STORE"], "--csv", "rows.csv"),
    "plot": (["plot", "STORE"], "--out", "p.png"),
    "export": (["export", "MODEL"], "--out", "exported"),
}


@pytest.fixture
def inputs(tmp_path_factory, small_model):
    """The files the commands read, outside the folder each test checks."""
    from conftest import tiny_sweep

    from xbarmem.experiments.store import ResultStore

    folder = tmp_path_factory.mktemp("inputs")
    (folder / "s.toml").write_text(tiny_sweep("links", rules=("hebb",)), encoding="utf-8")
    with ResultStore(folder / "r.sqlite") as store:
        store.add([("k1", "links", {"rule": "hebb"}, {"cosine": 0.9}, {"seconds": 1.0})])
    return {"SWEEP": folder / "s.toml", "STORE": folder / "r.sqlite", "MODEL": small_model}


def _args(command: str, inputs: dict[str, Path], out: Path) -> list[object]:
    before, option, _ = COMMANDS[command]
    return [*(inputs.get(a, a) for a in before), option, out]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_link_into_a_missing_folder_is_refused_before_any_work(command, run_cli, tmp_path,
                                                                 inputs):
    link = tmp_path / COMMANDS[command][2]
    link.symlink_to(tmp_path / "gone" / COMMANDS[command][2])
    message = refused(run_cli, tmp_path, *_args(command, inputs, link))
    option = COMMANDS[command][1]
    noun = "folder" if command == "export" else "file"
    assert message == (f"error: {option} {link}: a broken symbolic link (to "
                       f"{tmp_path / 'gone' / COMMANDS[command][2]}, which does not exist; "
                       f"nothing is written through it): remove it or name another {noun}")


@pytest.mark.parametrize("command", COMMANDS)
def test_links_in_a_loop_are_refused_before_any_work(command, run_cli, tmp_path, inputs):
    name = COMMANDS[command][2]
    link, other = tmp_path / name, tmp_path / f"other-{name}"
    link.symlink_to(other)
    other.symlink_to(link)
    message = refused(run_cli, tmp_path, *_args(command, inputs, link))
    noun = "folder" if command == "export" else "file"
    assert message == (f"error: {COMMANDS[command][1]} {link}: symbolic links in a loop (they "
                       f"never reach a {noun})")


def test_a_link_to_a_folder_still_to_be_made_is_refused(run_cli, tmp_path, small_model):
    """``export -o LINK`` with LINK -> ``made/new``: ``mkdir`` of the link itself was
    FileExistsError's traceback; then the folder was made where the link leads, a folder the
    command was not asked to make. Now refused before any work; a link to an existing folder
    is still written into, the link staying a link."""
    (tmp_path / "made").mkdir()
    link = tmp_path / "exported"
    link.symlink_to(tmp_path / "made" / "new")
    message = refused(run_cli, tmp_path, "export", small_model, "-o", link)
    assert "a broken symbolic link" in message and "another folder" in message
    (tmp_path / "made" / "new").mkdir()
    code, _, err = run_cli("export", small_model, "-o", link)
    assert code == 0, err
    assert link.is_symlink() and (tmp_path / "made" / "new" / "manifest.json").is_file()


def test_the_library_judges_the_same_links(tmp_path, small_memory):
    """``save_memory`` through a link into a missing folder: FileNotFoundError from the
    temporary file (then, "no folder"; now refused as a broken link, as the command line
    refuses it); ``export_memory`` / ``run_demo`` to links in a loop: RuntimeError."""
    from xbarmem.deploy.export import export_memory
    from xbarmem.experiments.demo import run_demo
    from xbarmem.memory.io import save_memory

    memory = small_memory[1]
    (tmp_path / "dangling.safetensors").symlink_to(tmp_path / "gone" / "m.safetensors")
    with pytest.raises(XbarmemError, match="a broken symbolic link \\(to "
                       f"{tmp_path / 'gone' / 'm.safetensors'}, which does not exist"):
        save_memory(memory, tmp_path / "dangling.safetensors")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for write in (lambda: save_memory(memory, tmp_path / "a"),
                  lambda: export_memory(memory, tmp_path / "a"),
                  lambda: run_demo(out_dir=tmp_path / "a", probes=2, trials=1,
                                   rules=["hebb"])):
        with pytest.raises(XbarmemError, match="symbolic links in a loop$"):
            write()
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "dangling.safetensors"]


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="/dev/stdout")
def test_a_link_to_standard_output_that_is_a_pipe_is_still_written_into(tmp_path, inputs):
    """A link that leads to something existing is judged through the link: ``rows.csv ->
    /dev/stdout`` leads, through ``/proc/self/fd/1``, to a pipe with no path of its own; the
    link's end is no folder to write in, and must not be judged as one."""
    import subprocess

    link = tmp_path / "rows.csv"
    link.symlink_to("/dev/stdout")
    done = subprocess.run([sys.executable, "-m", "xbarmem", "results", inputs["STORE"], "--csv",
                           link], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert " ".join(done.stderr.split()) == f"wrote 1 row to {link}"  # (folded at 80 columns)
    assert done.stdout.splitlines()[0].startswith("key,sweep,trial")


def test_links_in_a_loop_are_refused_where_resolve_does_not_say_so(tmp_path, monkeypatch):
    """Since Python 3.13 ``Path.resolve()`` (not strict) returns a path inside a loop instead
    of raising RuntimeError, and the loop passed the check: the write failed after the work.
    Here ``resolve`` behaves as there (``os.path.realpath``); the loop is still refused."""
    from xbarmem.files import link_target, output_file, output_folder

    monkeypatch.setattr(Path, "resolve",
                        lambda self, strict=False: type(self)(os.path.realpath(self)))
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert link_target(tmp_path / "a") is None
    for check in (output_file, output_folder):
        with pytest.raises(XbarmemError, match="symbolic links in a loop$"):
            check(tmp_path / "a")
