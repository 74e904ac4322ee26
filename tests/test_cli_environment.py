"""The command line in the environment around it, not its arguments: a closed terminal
(SIGHUP to the whole process group), output streams that cannot encode what is printed (an
ASCII or Latin-1 locale, a file name that is not UTF-8), a terminal width the environment
gives as 0 or as text, a home folder that is not writable (Matplotlib's cache), and a limit
of open files (``ulimit -n``) too low for the command.

Subprocesses wait for a marker (stored rows), never for a fixed time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import count_rows, tiny_sweep


def _xbarmem(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 120, **options) -> subprocess.CompletedProcess:
    """``xbarmem *args`` in a fresh interpreter (``env`` added to this one's environment)."""
    return subprocess.run([sys.executable, "-m", "xbarmem.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, **options)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_sighup_to_the_process_group_stops_a_sweep_saying_how_to_resume(tmp_path):
    """A closed terminal (SIGHUP to the sweep and its pool workers) ended the sweep at once:
    exit 129 without a word. Now as SIGTERM: the one "interrupted" line, exit 129 (128 +
    SIGHUP), no worker left, and the same command resumes."""
    sweep, store = tmp_path / "hup.toml", tmp_path / "hup.sqlite"
    sweep.write_text(tiny_sweep("hup", seeds=4, fault_rates=[0.02 * i for i in range(30)]))
    args = [sys.executable, "-m", "xbarmem.cli", "sweep", sweep, "--store", store, "--jobs",
            "2", "--json"]
    proc = subprocess.Popen(args, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 240  # (2 workers start, each importing torch: slow under load)
    while count_rows(store) < 10:
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGHUP)  # the terminal closed: its whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 129, err
    assert " ".join(err.split()) == (f"interrupted: finished trials are in {store}; run the "
                                     f"same command again to resume")
    deadline = time.time() + 15
    while _group_alive(proc.pid):
        assert time.time() < deadline, f"outlived the sweep: {_group_members(proc.pid)}"
        time.sleep(0.05)
    before = count_rows(store)
    done = _xbarmem("sweep", sweep, "--store", store, "--jobs", "1", "--json",
                    timeout=300)  # (the rest of 240 trials: slow under load)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["already"] == before and summary["inserted"] == 240 - before


def _group_members(pgid: int) -> list[str]:
    """The processes of group ``pgid`` as "pid state command" (Linux's /proc; a zombie's
    state is Z), so that a failure says which process was left and whether it still ran."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == pgid:
            members.append(f"{stat.parent.name} {fields[0]} {command.decode()[:200]}")
    return members


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_signals_exit_with_128_plus_the_signal():
    from xbarmem.cli.entry import STOP_SIGNALS, Terminated, interrupted_code

    assert signal.SIGTERM in STOP_SIGNALS
    assert interrupted_code(Terminated(signal.SIGTERM)) == 143
    if hasattr(signal, "SIGHUP"):
        assert signal.SIGHUP in STOP_SIGNALS
        assert interrupted_code(Terminated(signal.SIGHUP)) == 129


class _Finalized:
    """An object whose finalizer receives ``signum`` (its handler runs there, at once)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        signal.raise_signal(self.signum)


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_landing_in_a_finalizer_still_stops_the_command(name, capsys):
    """A signal whose handler ran in a finalizer (``__del__``: a Dask future's, as a sweep's
    group ended) raised its exception there, which Python swallows: a traceback ("Exception
    ignored in ...") and the command went on, to exit 0. Now it is delivered again, and
    raised once the finalizer is over; no traceback."""
    from xbarmem.cli.entry import Terminated, _stop_signals_stop

    if not hasattr(signal, name):
        pytest.skip(f"no {name} here")
    signum = getattr(signal, name)
    # Ctrl-C as a terminal's command has it: a test run started in the background of a script
    # (or under nohup) inherits SIGINT ignored, which a command leaves so -- the signal never
    # came, and the test failed after 30 s ("DID NOT RAISE")
    ctrl_c = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as stopped, _stop_signals_stop():
            _Finalized(signum)  # (dropped at once: its finalizer runs here)
            deadline = time.monotonic() + 30  # (a missed signal: fail, do not hang)
            while time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, ctrl_c)
    assert isinstance(stopped.value, Terminated) == (name != "SIGINT")
    assert getattr(stopped.value, "signum", signal.SIGINT) == signum
    assert "Exception ignored" not in capsys.readouterr().err


def _text_opened_without_encoding(tree) -> list[int]:
    """Lines of ``tree`` (a module's AST) opening a file in text mode -- ``open()``,
    ``.open()``, ``.read_text()``, ``.write_text()`` -- without ``encoding=``."""
    import ast

    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or any(k.arg == "encoding" for k in node.keywords):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            mode_at = 1
        elif isinstance(func, ast.Attribute) and func.attr in ("open", "read_text", "write_text"):
            if isinstance(func.value, ast.Name) and func.value.id in ("os", "tarfile",
                                                                      "archive"):
                continue  # os.open: a descriptor; tarfile.open: an archive, no text;
                # archive.open (a zipfile.ZipFile's): one of its members, bytes
            mode_at = 0
        else:
            continue
        mode = next((k.value for k in node.keywords if k.arg == "mode"),
                    node.args[mode_at] if len(node.args) > mode_at else None)
        if isinstance(mode, ast.Constant) and "b" in str(mode.value):
            continue
        lines.append(node.lineno)
    return lines


def test_every_text_file_is_opened_as_utf8():
    """Text files were read and written in the locale's encoding: on an ASCII or Latin-1
    system (``LC_ALL=C PYTHONUTF8=0``, Windows) ``chip presets`` ended in UnicodeDecodeError
    (a preset's description holds a micro sign), and a CSV export of a non-ASCII name failed
    or was not UTF-8. Every text file is now opened as UTF-8."""
    import ast

    root = Path(__file__).parents[1]  # the package, and the scripts that write docs/ and JSON
    paths = [p for tree in ("src/xbarmem", "benchmarks", "scripts")
             for p in (root / tree).rglob("*.py")]
    found = {str(path.relative_to(root)): lines for path in sorted(paths)
             if (lines := _text_opened_without_encoding(ast.parse(path.read_text("utf-8"))))}
    assert found == {}


def test_presets_are_listed_whatever_the_locale():
    done = _xbarmem("chip", "presets", env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
                                            "PYTHONIOENCODING": ""})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["xbarmem chip show NAME prints a preset as TOML with its "
                                        "comments (where its values come from)"]  # (the hint)
    assert "rram" in done.stdout and "Traceback" not in done.stdout


def test_what_the_terminal_cannot_encode_is_written_plainly(tmp_path):
    """``PYTHONIOENCODING=ascii`` (or an ASCII locale): a sweep named with a micro sign ended
    in UnicodeEncodeError at its progress bar; ``demo``'s table header ``± chips`` too. Such
    characters are now written in ASCII, the rest as it is."""
    (tmp_path / "s.toml").write_text(tiny_sweep("t-\u00b5\u00d7\u00b1", rules=("hebb",)),
                                     encoding="utf-8")
    done = _xbarmem("sweep", "s.toml", "--store", "r\u00e9sum\u00e9.sqlite", "--jobs", "1",
                    env={"PYTHONIOENCODING": "ascii"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("sweep t-ux+/-: 1 trial, 0 already stored, 1 new row ")
    assert done.stdout.rstrip().endswith("-> resume.sqlite")
    assert (tmp_path / "r\u00e9sum\u00e9.sqlite").is_file()


def test_plain_text_of_what_an_encoding_lacks():
    from xbarmem.cli import streams

    streams.plain_fallback()
    assert "0.9 \u00b1 0.1 \u2192 \u00e9t\u00e9\u2026 \u4e2d".encode("ascii", streams.PLAIN) == (
        b"0.9 +/- 0.1 -> ete... ?")
    assert "\u00b5 \u00e9".encode("latin-1", streams.PLAIN) == "\u00b5 \u00e9".encode("latin-1")
    assert os.fsdecode(b"r\xffs").encode("utf-8", streams.PLAIN) == b"r\\xffs"


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8")
def test_a_store_whose_name_is_not_utf8_is_resumed_and_read(run_cli, tmp_path, monkeypatch):
    """A store named with a byte that is not UTF-8 (``$'r\\xff.sqlite'``): the sweep that made
    it printed its summary with UnicodeEncodeError, and every later command opening it failed
    the same way building SQLite's URI of it."""
    monkeypatch.chdir(tmp_path)
    Path("s.toml").write_text(tiny_sweep("bytes", rules=("hebb",)))
    store = os.fsdecode(b"r\xff.sqlite")
    for already in (0, 1):
        code, out, err = run_cli("sweep", "s.toml", "--store", store, "--jobs", "1")
        assert code == 0, err
        assert out.startswith(f"sweep bytes: 1 trial, {already} already stored")
        assert out.rstrip().endswith("-> r\\xff.sqlite")
    code, out, err = run_cli("results", store, "--csv", "rows.csv")
    assert (code, out) == (0, "") and err == "wrote 1 row to rows.csv\n"


@pytest.mark.parametrize(("variable", "value"), [("COLUMNS", "0"), ("TERMINAL_WIDTH", "0"),
                                                ("TERMINAL_WIDTH", "abc")])
def test_a_terminal_width_that_is_not_a_width_is_ignored(variable, value):
    """``COLUMNS=0`` (set by some CI systems): Rich drew every line one character wide, and an
    error line came out empty; ``TERMINAL_WIDTH`` (Typer's width of ``--help``) at 0 gave an
    empty help, at ``abc`` a ValueError. Such a width is ignored: the terminal's own applies."""
    helped = _xbarmem("chip", "show", "-h", env={variable: value})
    assert helped.returncode == 0 and helped.stderr == ""
    assert "Usage: xbarmem chip show [OPTIONS]" in helped.stdout
    if variable == "COLUMNS":
        refused = _xbarmem("chip", "show", "nope", env={variable: value})
        assert refused.returncode == 2
        assert refused.stderr == ("error: no chip preset or file named 'nope' (presets: ideal, "
                                  "paper-sim, rram)\n")


def test_a_home_folder_matplotlib_cannot_write_is_one_warning_line(run_cli, tmp_path,
                                                                     monkeypatch):
    """A read-only home folder (here: HOME a file, which root cannot write under either):
    ``plot`` printed Matplotlib's two log lines naming folders outside the project
    (``mkdir -p failed for path ...``, ``Matplotlib created a temporary cache directory at
    /tmp/...``). Now one warning line, and the figure is drawn."""
    (tmp_path / "s.toml").write_text(tiny_sweep("home", rules=("hebb",),
                                                fault_rates=[0.0, 0.2]))
    monkeypatch.chdir(tmp_path)
    assert run_cli("sweep", "s.toml", "--jobs", "1")[0] == 0
    home = tmp_path / "home"
    home.write_text("not a folder")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "MPLCONFIGDIR": ""}
    done = _xbarmem("plot", "results.sqlite", "--kind", "faults", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "wrote faults.png (2 rows)\n"
    assert done.stderr == ("warning: Matplotlib has no writable folder for its cache (the home "
                           "folder or MPLCONFIGDIR is not writable): it builds one for this "
                           "run only; set MPLCONFIGDIR to a writable folder to keep it\n")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP") or sys.platform == "win32", reason="a pty")
@pytest.mark.parametrize("command", [["sweep", "s.toml", "--jobs", "1"],
                                     ["capacity", "--data", "random", "--neurons", "128",
                                      "--rule", "adaptive", "--trials", "1", "--probes", "2",
                                      "--checkpoint", "kept.json"]])
def test_a_command_whose_terminal_closed_exits_129(tmp_path, command):
    """The terminal closed (its pty gone, then SIGHUP): the "interrupted" / "aborted" line
    could not be written (EIO), and the command ended as a failed write, exit 1. Now quietly
    with 129, what it ended by; the finished work is kept."""
    import pty

    (tmp_path / "s.toml").write_text(tiny_sweep("pty", seeds=4,
                                                fault_rates=[0.02 * i for i in range(30)]))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xbarmem.cli", *command], cwd=tmp_path,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    os.close(slave)
    seen, deadline = b"", time.time() + 120  # (read: a full pty would block the command)
    while not (tmp_path / "kept.json").exists() and count_rows(tmp_path / "results.sqlite") < 10:
        assert proc.poll() is None and time.time() < deadline, seen[-2000:]
        try:
            seen += os.read(master, 65536)
        except OSError:
            time.sleep(0.05)
    os.close(master)  # the terminal is gone
    os.killpg(proc.pid, signal.SIGHUP)
    assert proc.wait(timeout=60) == 129


@pytest.mark.parametrize(("signum", "code"), [(None, 130), (signal.SIGTERM, 143),
                                              (getattr(signal, "SIGHUP", 15), 128 + getattr(
                                                  signal, "SIGHUP", 15))])
def test_a_command_without_a_handler_of_its_own_says_aborted_with_the_signals_code(
        run_cli, monkeypatch, signum, code):
    """``train``, ``demo``, ``export`` ... stopped by SIGTERM or SIGHUP exited 130 without a
    word (Typer turns every KeyboardInterrupt into a bare exit 130), not 143 / 129; Ctrl-C
    said nothing either. Now one ``aborted`` line and the exit code of what stopped it."""
    from xbarmem.cli import chip
    from xbarmem.cli.entry import Terminated

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt if signum is None else Terminated(signum)

    monkeypatch.setattr(chip, "print_presets", stopped)
    assert run_cli("chip", "presets") == (code, "", "aborted\n")


@pytest.mark.skipif(sys.platform != "linux", reason="a removed current folder")
def test_a_removed_current_folder_is_one_line_before_any_work(tmp_path):
    """A shell left in a folder that was removed: loading torch ended ``sweep`` (any command
    that computes) with ``Intel oneMKL FATAL ERROR: Cannot load .../libtorch_cpu.so``, exit
    2, naming a file outside the project. Now one line, before any work, for every command."""
    (tmp_path / "s.toml").write_text(tiny_sweep("gone", rules=("hebb",)))
    gone = tmp_path / "gone"
    gone.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
         "sys.argv = ['xbarmem', 'sweep', sys.argv[2], '--store', sys.argv[3]]; "
         "from xbarmem.cli import main; main()",
         str(gone), str(tmp_path / "s.toml"), str(tmp_path / "s.sqlite")],
        capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("error: the current folder no longer exists (it was removed): cd to "
                           "a folder that does\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def _open_files_limit(count: int):
    """In a child before it runs: at most ``count`` open files (``ulimit -n count``)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return limit


@pytest.mark.skipif(os.name != "posix", reason="ulimit -n")
@pytest.mark.parametrize(("executor", "limit"), [("--jobs", 8), ("--jobs", 12), ("--workers", 8),
                                               ("--workers", 10)])
def test_too_few_open_files_for_a_sweep_s_workers_is_one_line(tmp_path, executor, limit):
    """``ulimit -n 12; xbarmem sweep --jobs 2`` ended in a traceback (the pipes of the second
    worker: OSError, errno EMFILE); ``--workers 2`` in Dask's "Cluster failed to start"
    traceback (after 30 s of retries at 12), leaving the empty store it had made, and at 10
    in tempfile's "No usable temporary directory" (which drops the EMFILE). Now one line
    naming the limit, exit 2, and no store."""
    if executor == "--workers":
        pytest.importorskip("distributed")
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("few"))
    done = _xbarmem("sweep", sweep, "--store", store, executor, 2, cwd=tmp_path,
                    preexec_fn=_open_files_limit(limit))
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(f"too many open files: this process may have {limit} open at "
                                f"once; raise the limit (ulimit -n)\n")
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_out_of_descriptors_wherever_it_surfaces_is_one_line(run_cli, monkeypatch):
    """A library that wraps the error (Dask: ``RuntimeError: Cluster failed to start``) or
    raises it in an import: the same one line, exit 2; another OSError is not taken for it."""
    import errno

    import xbarmem.cli.chip as chip_cli

    def wrapped(name: str):
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as exc:
            raise RuntimeError("Cluster failed to start: timed out") from exc

    monkeypatch.setattr(chip_cli, "load_chip", wrapped)
    code, out, err = run_cli("chip", "show", "paper-sim")
    assert code == 2 and not out
    assert err.startswith("error: too many open files") and err.count("\n") == 1
    monkeypatch.setattr(chip_cli, "load_chip", lambda name: (_ for _ in ()).throw(
        OSError(errno.ENFILE, "Too many open files in system")))
    assert run_cli("chip", "show", "paper-sim")[2] == (
        "error: too many open files in the system: close other programs, or raise the "
        "system's limit\n")
    monkeypatch.setattr(chip_cli, "load_chip", lambda name: (_ for _ in ()).throw(
        RuntimeError("something else")))
    with pytest.raises(RuntimeError, match="something else"):
        run_cli("chip", "show", "paper-sim")


#: a fresh interpreter in which Ctrl-C comes while the command line is imported: the import of
#: ``xbarmem.cli`` is interrupted (as a Ctrl-C in the command's first half second does)
_CTRL_C_WHILE_LOADING = """
import sys
class Interrupted:
    def find_spec(self, name, path=None, target=None):
        if name == "xbarmem.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupted())
import runpy
runpy.run_module("xbarmem", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_the_command_line_loads_is_one_line():
    """Ctrl-C in the first half second of any command (while its modules were imported,
    before the command line's own handling) printed an import's KeyboardInterrupt traceback
    and exit -2: the command's entry point (the ``xbarmem`` console script, ``python -m
    xbarmem``) imports the command line itself and ends as Ctrl-C does later."""
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(
        encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"xbarmem": "xbarmem.launch:main"}
    done = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING, "--version"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr, done.stdout) == (130, "aborted\n", "")
    assert _xbarmem("--version").stdout.startswith("xbarmem ")


def test_a_leading_tilde_is_the_home_folder_wherever_a_path_is_read(run_cli, tmp_path,
                                                                    monkeypatch, small_memory):
    """The shell expands ``-o ~/m.safetensors`` but leaves ``--out=~/m.safetensors`` (and a
    quoted ``"~/..."``) alone: ``train`` refused it ("the folder ~ does not exist"),
    ``--data=~/p.npy`` was "no such file" although ``load_patterns("~/p.npy")`` read it, and
    ``save_memory(m, "~/m.safetensors")`` failed. Every path the command line reads, and
    every one the API reads through ``files.as_path``, now takes a leading ``~`` as the home
    folder."""
    import numpy as np

    from xbarmem.memory.io import load_memory, save_memory

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    np.save(home / "p.npy", np.where(np.random.default_rng(0).random((3, 16)) < 0.5, -1, 1))
    code, _, err = run_cli("train", "--data=~/p.npy", "--rule", "hebb", "--out=~/m.safetensors")
    assert code == 0, err
    code, _, err = run_cli("chip", "faults", "--neurons", "16", "--out=~/f.npz")
    assert code == 0, err
    code, out, err = run_cli("evaluate", "~/m.safetensors", "--probes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == str(home / "m.safetensors")
    assert sorted(p.name for p in home.iterdir()) == ["f.npz", "m.safetensors", "p.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no folder named ~
    save_memory(small_memory[1], "~/api.safetensors")
    assert load_memory("~/api.safetensors").n_neurons == 16
    from xbarmem.files import home_expanded

    assert home_expanded("a~/b") == "a~/b" and home_expanded("~") == str(home)
    from xbarmem.energy.circuit import load_circuit
    from xbarmem.hardware.chip import load_chip

    (home / "c.toml").write_text('name = "mine"\n[device]\nread_noise = 1e-6\n')
    assert load_chip("~/c.toml").device.read_noise == 1e-6  # (was: no chip preset or file)
    code, out, err = run_cli("circuit", "show", "generic-rram")
    assert code == 0, err
    (home / "k.toml").write_text(out)
    assert load_circuit("~/k.toml") == load_circuit("generic-rram")


def test_control_characters_in_an_error_or_warning_line_are_shown_not_obeyed(run_cli, tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    """A path holding an escape sequence (``$'a\\e[31mred'``, or one that sets the terminal's
    title) reached the terminal as it was in the ``error:`` line: the terminal recoloured,
    retitled or cleared itself instead of showing the name. Line breaks were already spaces;
    every other control character is now shown as ``\\xNN``, in ``warning:`` and ``note:``
    lines too."""
    from xbarmem.cli import messages

    store = tmp_path / "a\x1b[31mred\nb\x1b]0;title\x07\x9b.sqlite"
    code, out, err = run_cli("results", store)
    assert (code, out) == (2, "")
    assert err == (f"error: no such results store: {tmp_path}/a\\x1b[31mred "
                   f"b\\x1b]0;title\\x07\\x9b.sqlite\n")
    monkeypatch.setattr(messages, "_held", None)  # (outside a command: printed at once)
    capsys.readouterr()
    messages.warn("kept\tas\x1b[2J written\r\nthere")
    assert capsys.readouterr().err == "warning: kept\tas\\x1b[2J written there\n"


def test_control_characters_in_a_commands_own_lines_are_shown_not_obeyed(run_cli, tmp_path,
                                                                         monkeypatch):
    """The ``error:`` lines escaped them, but a command's own lines did not: ``saved PATH``
    and a results table titled by its store's path sent the escape sequence to the terminal.
    They show it as ``\\xNN`` too; line breaks of a command's lines are kept."""
    import shutil

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    model = "m\x1b[2J.safetensors"
    code, out, err = run_cli("train", "--data", "random", "--neurons", "16", "--patterns", "2",
                             "--rule", "hebb", "-o", model)
    assert code == 0, err
    assert "\x1b" not in out and "saved m\\x1b[2J.safetensors" in out, out
    sweep = tmp_path / "t.toml"
    sweep.write_text(tiny_sweep("t", rules=("hebb",)))
    assert run_cli("sweep", sweep, "--store", "s.sqlite", "--jobs", "1")[0] == 0
    shutil.copy("s.sqlite", "a\x1b[31mred.sqlite")
    code, out, err = run_cli("results", "a\x1b[31mred.sqlite")
    assert code == 0, err
    assert "\x1b" not in out and "a\\x1b[31mred.sqlite: 1 row" in out, out


def test_a_file_whose_name_begins_with_a_dash_is_named_in_the_refusal(run_cli, tmp_path,
                                                                      monkeypatch):
    """``evaluate -m.safetensors`` (a file of that name in the folder) was click's bare "No
    such option: -m": the line now says how to name the file; an option that is no file keeps
    the pointer to --help."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-m.safetensors").write_bytes(b"")
    code, _, err = run_cli("evaluate", "-m.safetensors")
    assert code == 2 and err.strip() == ("error: No such option: -m (a file named "
                                         "-m.safetensors: write it ./-m.safetensors)"), err
    code, _, err = run_cli("evaluate", "-x")
    assert code == 2 and "(see xbarmem evaluate --help)" in err, err


def test_control_characters_in_a_tables_cells_are_shown_not_obeyed(run_cli, tmp_path,
                                                                   monkeypatch, capsys):
    """Titles, captions and lines showed control characters as ``\\xNN``, but a table's cells
    did not: a `results` row whose data file is named with an escape sequence sent it to the
    terminal. Every table printed (``out.print``, ``out.print_table``) shows its headers and
    cells as written, keeping a cell's style."""
    import numpy as np
    from rich.table import Table
    from rich.text import Text

    from xbarmem.cli.tables import out

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    np.save("p\x1b[31m.npy", np.where(np.random.default_rng(0).random((3, 16)) < 0.5, -1, 1))
    for name, data in (("f", "p\\u001b[31m.npy"), ("r", "random")):
        Path(f"{name}.toml").write_text(tiny_sweep(name, rules=("hebb",)).replace(
            'data = "random"', f'data = "{data}"'))
        code, _, err = run_cli("sweep", f"{name}.toml", "--store", "s.sqlite", "--jobs", "1")
        assert code == 0, err
    code, shown, err = run_cli("results", "s.sqlite", "--columns", "data,rule")
    assert code == 0, err
    assert "\x1b" not in shown and "p\\x1b[31m.npy" in shown, shown
    for show in (out.print, lambda t: out.print_table(t, "fewer")):
        table = Table()
        table.add_column("name\x9b")
        table.add_row("a\x1b[2Jb")
        table.add_row(Text("c\x1b]0;t\x07d", style="bold"))  # (rich drops the \\x07)
        show(table)
        printed = capsys.readouterr().out
        assert all(c not in printed for c in "\x1b\x07\x9b"), printed
        assert all(t in printed for t in ("name\\x9b", "a\\x1b[2Jb", "c\\x1b]0;td")), printed


def test_json_output_names_a_file_whose_name_is_not_text_as_the_terminal_does(
        run_cli, tmp_path, small_model):
    """`--json` naming a file whose name is not valid in the file system's encoding (the byte
    0xff on Linux: Python holds it as the lone surrogate U+DCFF) wrote the escape "\\udcff",
    which strict JSON parsers and UTF-8 encoders refuse; each such byte is now the text
    ``\\xNN``, as the terminal shows it. Other text is written as before."""
    import shutil

    name = os.fsdecode(bytes(tmp_path) + b"/m\xff\xc3\xa9.safetensors")  # (0xff, then an é)
    shutil.copy(small_model, name)
    code, out, err = run_cli("evaluate", name, "--json")
    assert code == 0, err
    assert "\\ud" not in out and out.encode("utf-8").decode("utf-8") == out
    assert json.loads(out)["model"] == f"{tmp_path}/m\\xff\u00e9.safetensors"
    from xbarmem.jsontext import dumps, output_text

    data = {"a\udcfe": ["\ud800x", "\U0001f600", 1.5, float("nan")], "plain": "\\udcff"}
    assert json.loads(output_text(data)) == {"a\\xfe": ["\\ud800x", "\U0001f600", 1.5, None],
                                             "plain": "\\udcff"}
    same = {"é": ["\U0001f600", "\\udcff"], "n": [1, 2.5]}
    assert output_text(same, indent=2) == dumps(same, indent=2)


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_the_interpreter_wrapped_still_stops_the_command(name, run_cli, monkeypatch):
    """A signal landing while a class was created in an import (a dataclass field's
    ``__set_name__``) reached the command as the RuntimeError Python 3.11 wraps it in: a
    traceback and exit 1 instead of ``aborted`` and the signal's exit code (a sweep's driver
    importing its runner as SIGHUP came)."""
    from xbarmem.cli import chip
    from xbarmem.cli.entry import Terminated

    if not hasattr(signal, name):
        pytest.skip(f"no {name} here")
    signum = getattr(signal, name)

    class Field:  # what dataclasses' Field does with a descriptor default
        def __set_name__(self, owner, attr):
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    def presets(*args):
        try:  # (Python 3.11 raises a RuntimeError from the stop)
            type("Imported", (), {"field": Field()})
        except KeyboardInterrupt as stop:  # later versions raise the stop: wrap it as 3.11 does
            raise RuntimeError("Error calling __set_name__") from stop

    monkeypatch.setattr(chip, "print_presets", presets)
    code, out, err = run_cli("chip", "presets")
    assert code == (130 if signum == signal.SIGINT else 128 + signum), err
    assert err.strip() == "aborted" and not out
