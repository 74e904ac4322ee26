"""The command line when its standard streams cannot take what it prints: closed before it
starts, open for reading only, or failing part-way (a full disk)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xbarmem.cli import streams

posix = pytest.mark.skipif(os.name != "posix", reason="closes descriptors in the child")
COMMAND = [sys.executable, "-m", "xbarmem", "chip", "show"]


def _run(args: list[str], close: tuple[int, ...] = (), read_only: int | None = None,
         **kwargs) -> subprocess.CompletedProcess:
    def before() -> None:
        for fd in close:
            os.close(fd)
        if read_only is not None:  # what a shell leaves: the descriptor taken by a file it read
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, read_only)
            os.close(null)

    return subprocess.run(args, preexec_fn=before, timeout=120, **kwargs)


@posix
@pytest.mark.parametrize("how", ["closed", "read-only"])
def test_a_closed_standard_output_is_refused_before_any_work(tmp_path: Path, how: str) -> None:
    out = tmp_path / "faults.npz"
    done = _run([sys.executable, "-m", "xbarmem", "chip", "faults", "--out", str(out)],
                close=(1,) if how == "closed" else (), read_only=1 if how == "read-only" else None,
                stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: standard output is closed: redirect it to a file, or to /dev/null to discard it"]
    assert not out.exists()


@posix
@pytest.mark.parametrize("how", ["closed", "read-only"])
@pytest.mark.parametrize(("chip", "code"), [("paper-sim", 0), ("no-such-chip", 2)])
def test_a_closed_standard_error_keeps_the_exit_code(how: str, chip: str, code: int) -> None:
    done = _run([*COMMAND, chip], close=(2,) if how == "closed" else (),
                read_only=2 if how == "read-only" else None, stdout=subprocess.PIPE, text=True)
    assert done.returncode == code
    assert ("[device]" in done.stdout) == (code == 0)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("json_out", [False, True])
def test_a_full_disk_behind_standard_output_is_one_line(json_out: bool) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([*COMMAND, "paper-sim", *(["--json"] if json_out else [])],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: writing failed: No space left on device"]


def test_write_failure_names_only_failed_writes() -> None:
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "results.sqlite")
    assert streams.write_failure(full) == (
        f"writing failed: {os.strerror(errno.ENOSPC)} (results.sqlite)")
    assert streams.write_failure(OSError(errno.EIO, "Input/output error")) == (
        "writing failed: Input/output error")
    assert streams.write_failure(FileNotFoundError(errno.ENOENT, "No such file")) is None
    assert streams.write_failure(PermissionError(errno.EACCES, "Permission denied")) is None


LONG = "n" * 300  # longer than any common file system allows in one name (255 bytes)


@pytest.mark.parametrize("args", [
    ["chip", "inspect", f"{LONG}.npz"],
    ["chip", "show", LONG],
    ["train", "--data", f"{LONG}.npy", "-o", "m.safetensors"],
    ["evaluate", f"{LONG}.safetensors"],
    ["results", f"{LONG}.sqlite"],
    ["energy", "--circuit", LONG],
    ["chip", "faults", "--out", f"{LONG}.npz"],
    ["demo", "--out", LONG],
])
def test_a_name_too_long_is_one_line_before_any_work(run_cli, tmp_path, monkeypatch, args):
    """Asking whether such a path exists raises (ENAMETOOLONG): every command ended in a
    traceback, some after their work (``chip faults --out`` generated the map first)."""
    if hasattr(os, "pathconf") and os.pathconf(tmp_path, "PC_NAME_MAX") >= len(LONG) + 5:
        pytest.skip("this file system takes names of 300 bytes")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert code == 2 and not out, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "long" in err
    assert list(tmp_path.iterdir()) == []


def test_a_long_name_within_the_limit_is_written_with_its_temporary_and_lock_files(
        run_cli, tmp_path, monkeypatch):
    """A name of 250 bytes is valid, but the temporary file beside it (``.NAME.XXXX.HOST-PID
    .partial``) and a checkpoint's lock file (``.NAME.lock``) were longer than 255 bytes."""
    monkeypatch.chdir(tmp_path)
    name = "m" * 246 + ".npz"
    code, _, err = run_cli("chip", "faults", "--out", name, "--json")
    assert code == 0, err
    kept = "k" * 245 + ".json"
    code, _, err = run_cli("capacity", "--data", "random", "--neurons", "16", "--rule", "hebb",
                           "--trials", "1", "--probes", "2", "--checkpoint", kept)
    assert code == 0, err  # (the checkpoint is removed once the search is done)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def _into_closed_pipe(args: list[str], cwd: Path, both: bool = False
                      ) -> subprocess.CompletedProcess:
    """``xbarmem *args`` writing standard output (and error, ``both``) into a pipe whose
    reader is gone before it starts (``xbarmem ... | head -1`` once ``head`` has its line)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "xbarmem", *args], cwd=cwd, stdout=write,
                              stderr=write if both else subprocess.PIPE, text=True,
                              timeout=240)
    finally:
        os.close(write)


@posix
@pytest.mark.parametrize("args", [
    ["chip", "presets"],                      # Rich's console
    ["chip", "show", "paper-sim"],            # typer.echo
    ["chip", "show", "paper-sim", "--json"],  # JSON
    ["--help"], ["sweep", "--help"],          # Typer's help, printed while reading arguments
    ["--version"],
    ["results", "s.sqlite"], ["results", "s.sqlite", "--csv", "-"],  # a table, CSV
])
def test_a_pipe_closed_by_its_reader_ends_the_command_quietly_with_141(tmp_path, args):
    """``xbarmem results STORE | head -1``: Rich ended the command with exit 1 (and pointed
    standard output at the null device), Typer did the same for ``typer.echo``; now exit
    141 (128 + SIGPIPE, as the shell reports a program SIGPIPE ended, and as the other
    signals that stop a command report theirs: 130, 143, 129), and nothing on stderr --
    no traceback, no "Exception ignored ... BrokenPipeError"."""
    if args[0] == "results":
        from conftest import tiny_sweep

        (tmp_path / "s.toml").write_text(tiny_sweep("pipe"))
        made = subprocess.run([sys.executable, "-m", "xbarmem", "sweep", "s.toml", "--store",
                               "s.sqlite", "--jobs", "1"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=240)
        assert made.returncode == 0, made.stderr
    done = _into_closed_pipe(args, tmp_path)
    assert (done.returncode, done.stderr) == (141, "")


@posix
@pytest.mark.parametrize("both", [False, True])
def test_a_sweep_whose_output_pipe_is_closed_stores_its_rows_and_ends_with_141(tmp_path, both):
    """The pipe closed before the sweep prints its summary (``both``: its progress too,
    ``2>&1 | head``): its rows are stored, and it ends quietly with 141 (was exit 1; with
    ``both``, Rich's handler of the broken standard error pointed standard output at the
    null device)."""
    from conftest import count_rows, tiny_sweep

    (tmp_path / "s.toml").write_text(tiny_sweep("pipe"))
    done = _into_closed_pipe(["sweep", "s.toml", "--store", "s.sqlite", "--jobs", "1"],
                             tmp_path, both=both)
    assert done.returncode == 141
    assert both or "Traceback" not in done.stderr and "Exception" not in done.stderr
    assert count_rows(tmp_path / "s.sqlite") == 2
