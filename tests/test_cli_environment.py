"""The command line in the environment around it, not its arguments: a closed terminal
(SIGHUP to the whole process group), output streams that cannot encode what is printed (an
ASCII or Latin-1 locale, a file name that is not UTF-8), a terminal width the environment
gives as 0 or as text, and a home folder that is not writable (Matplotlib's cache).

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
             **options) -> subprocess.CompletedProcess:
    """``xbarmem *args`` in a fresh interpreter (``env`` added to this one's environment)."""
    return subprocess.run([sys.executable, "-m", "xbarmem.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
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
    deadline = time.time() + 120
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
        assert time.time() < deadline, "a pool worker outlived the sweep"
        time.sleep(0.05)
    before = count_rows(store)
    done = subprocess.run(args, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["already"] == before and summary["inserted"] == 240 - before


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_signals_exit_with_128_plus_the_signal():
    from xbarmem.cli.common import STOP_SIGNALS, Terminated, interrupted_code

    assert signal.SIGTERM in STOP_SIGNALS
    assert interrupted_code(Terminated(signal.SIGTERM)) == 143
    if hasattr(signal, "SIGHUP"):
        assert signal.SIGHUP in STOP_SIGNALS
        assert interrupted_code(Terminated(signal.SIGHUP)) == 129
