"""The results store never touches what is not its own, reads read-only, and splits work.

* A foreign SQLite file (or any other file) given as a store is refused and left byte-identical,
  with no journal files created next to it -- by ``sweep``, ``results`` and ``plot``.
* A store that cannot be written (file and folder read-only) can still be listed and plotted;
  reading commands never change a store.
* A row with malformed JSON is refused in one line naming the store and the row, not a crash.
* Claims: two runners of one sweep on one store compute every trial once; a dead runner's claim
  is taken over; stores written before claims existed resume with the same keys.
* Processes that create one new store at the same moment all open it (SQLite answers "locked"
  at once, without waiting, to a journal-mode switch during another's creation).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import tiny_sweep

from xbarmem.errors import FileFormatError
from xbarmem.experiments.claims import Claimant
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import parse_sweep


def tiny(seeds: int = 2, faults=(0.0, 0.3), batch: int = 1) -> dict:
    return {"sweep": {"name": "tiny", "trial": "evaluate", "seeds": seeds, "batch": batch},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "selection": "first",
                     "probes": 2, "level": 0.05, "max_iterations": 10},
            "grid": {"rule": ["hebb", "pinv"], "fault_rate": list(faults)}}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A store holding the 8 trials of the tiny sweep."""
    path = tmp_path_factory.mktemp("store") / "tiny.sqlite"
    report = run_sweep(parse_sweep(tiny()), path)
    assert report.inserted == 8
    return path


# --------------------------------------------------------------------------- foreign files
def _foreign(folder: Path, wal: bool) -> Path:
    path = folder / ("wal.db" if wal else "plain.db")
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE users (name TEXT, email TEXT)")
    db.execute("INSERT INTO users VALUES ('ada', 'ada@example.org')")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("kind", ["plain", "wal", "trials-only", "text"])
def test_foreign_file_refused_and_left_byte_identical(run_cli, tmp_path, kind):
    if kind == "text":
        path = tmp_path / "notes.db"
        path.write_text("not a database\n")
    elif kind == "trials-only":  # a table of the same name is not enough
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE trials (key TEXT)")
        db.close()
    else:
        path = _foreign(tmp_path, wal=kind == "wal")
    before, names = digest(path), sorted(os.listdir(tmp_path))
    sweep = tmp_path / "tiny.toml"
    sweep.write_text('[sweep]\nname = "t"\n[base]\ndata = "random"\nn_neurons = 16\n'
                     'patterns = 2\nselection = "first"\nrule = "hebb"\n')
    names.append("tiny.toml")
    for args in (["sweep", sweep, "--store", path], ["results", path],
                 ["plot", path, "--kind", "faults", "-o", tmp_path / "f.png"]):
        code, _, err = run_cli(*args)
        one_line_error(code, err, path.name)
        assert digest(path) == before, args
        assert sorted(os.listdir(tmp_path)) == sorted(names), args  # no -wal/-shm, no figure
    with pytest.raises(FileFormatError, match="not an xbarmem results store|not a SQLite"):
        ResultStore(path)
    assert digest(path) == before


@pytest.mark.parametrize(("content", "said"), [
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", "a NumPy .npy array"),
    (b"\x89PNG\r\n\x1a\n....", "a PNG image"),
    (b"\x1f\x8b\x08\x00....", "gzip data"),
    (len(b'{"a": 1}').to_bytes(8, "little") + b'{"a": 1}', "a safetensors file"),
    (b"rule,cosine\nhebb,1\n", "text")])
def test_a_file_that_is_no_store_is_named_as_what_it_is(tmp_path, content, said):
    """``xbarmem results model.safetensors`` (or ``plot``, ``sweep --store``) said "not a
    SQLite file" of a model, an array, an image: it names what the file is, as the readers of
    text do (``files.what_is``), and leaves it as it was."""
    path = tmp_path / "s.sqlite"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=f"not a SQLite file but {re.escape(said)}"):
        ResultStore(path, readonly=True)
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == ["s.sqlite"]


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_under_a_file_or_a_missing_folder_is_refused_as_such(tmp_path, readonly):
    """``ResultStore("afile/x.sqlite")`` (the folder is a file) raised os.stat's
    NotADirectoryError from the file check, where a missing folder gave a FileFormatError."""
    (tmp_path / "afile").write_text("a file")
    for folder, words in (("afile", "is not a folder"), ("nodir", "does not exist")):
        with pytest.raises(FileFormatError, match=f"store folder .*{folder} {words}"):
            ResultStore(tmp_path / folder / "x.sqlite", readonly=readonly)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_plot_filters_matching_no_row_say_so(run_cli, tmp_path, stored):
    """``plot --where rule=nosuch`` on a store of 8 rows said "no stored rows to draw a figure
    from"; it says the filters match none and lists the store's sweeps, as ``results`` does."""
    from conftest import refused

    line = refused(run_cli, tmp_path, "plot", stored, "--where", "rule=storkey", "-o",
                   tmp_path / "f.png")
    assert "no rows match the filters" in line and "(sweeps in this store: tiny (8))" in line


def test_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "new.sqlite"
    path.write_bytes(b"")
    with ResultStore(path) as db:
        assert db.count() == 0
    assert ResultStore.check(path) == "store"


# --------------------------------------------------------------------------- read-only
def test_read_only_store_is_listed_and_plotted(run_cli, tmp_path, stored):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "tiny.sqlite"
    path.write_bytes(stored.read_bytes())
    before = digest(path)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, out, err = run_cli("results", path, "--json")
        assert code == 0, err
        assert len(json.loads(out)) == 8
        code, out, err = run_cli("results", path, "--where", "rule=pinv")
        assert code == 0 and "8 rows" not in out and "tiny" in out, err
        code, _, err = run_cli("plot", path, "--kind", "faults", "-o", tmp_path / "f.png")
        assert code == 0, err
        with ResultStore(path, readonly=True) as db, pytest.raises(sqlite3.OperationalError):
            db._db.execute("DELETE FROM trials")
        if not os.access(folder, os.W_OK):  # (root writes anyway)
            assert sorted(os.listdir(folder)) == ["tiny.sqlite"]  # no journal files
    finally:
        folder.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert digest(path) == before
    assert (tmp_path / "f.png").stat().st_size > 1000


@pytest.mark.parametrize("args", [["results"], ["results", "--json"],
                                  ["results", "--where", "rule"],
                                  ["plot", "--kind", "faults", "-o", "{tmp}/f.png"]])
def test_reading_a_writable_store_leaves_no_journal_files(run_cli, tmp_path, stored, args):
    """``results`` and ``plot`` on a store in a writable folder (no writer active) leave the
    folder as it was: no ``-wal`` / ``-shm`` files, also when they refuse their options."""
    folder = tmp_path / "copy"
    folder.mkdir()
    path = folder / "tiny.sqlite"
    path.write_bytes(stored.read_bytes())
    before = digest(path)
    command, *rest = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli(command, path, *rest)
    assert code in (0, 2), err
    assert sorted(os.listdir(folder)) == ["tiny.sqlite"] and digest(path) == before


def test_a_malformed_sqlite_file_is_refused_without_journal_files(run_cli, tmp_path, stored):
    folder = tmp_path / "cut"
    folder.mkdir()
    path = folder / "cut.sqlite"
    path.write_bytes(stored.read_bytes()[:3000])
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nname = "s"\n[base]\ndata = "random"\nn_neurons = 16\n'
                     'patterns = 2\nrule = "hebb"\n')
    for args in (["results", path], ["plot", path, "--kind", "faults", "-o", tmp_path / "f.png"],
                 ["sweep", sweep, "--store", path, "--jobs", "1"]):
        code, _, err = run_cli(*args)
        one_line_error(code, err, "cut.sqlite", "not a readable SQLite database")
        assert sorted(os.listdir(folder)) == ["cut.sqlite"], args


def test_malformed_json_row_is_refused_naming_the_store_and_the_row(run_cli, tmp_path, stored):
    """(Skipped with a warning before: tables and figures then silently lacked the row.)"""
    path = tmp_path / "edited.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:
        key = db.execute("SELECT key FROM trials ORDER BY rowid LIMIT 1").fetchone()[0]
        db.execute("UPDATE trials SET config = '{not json' WHERE key = ?", (key,))
    db.close()
    for args in (["results", path, "--json"],
                 ["plot", path, "--kind", "faults", "-o", tmp_path / "f.png"]):
        code, _, err = run_cli(*args)
        one_line_error(code, err, str(path), key[:12], "config is not valid JSON")
    assert not (tmp_path / "f.png").exists()


def _damaged_store(stored: Path, folder: Path, damage: str) -> Path:
    """A copy of ``stored`` with bytes changed where SQLite reads them only later: inside a
    row's JSON text, in a table's name, or a whole page of rows overwritten."""
    raw = bytearray(stored.read_bytes())
    if damage == "row text":  # not UTF-8: SQLite's "Could not decode" when the row is read
        raw[raw.find(b'"cosine"') + 1] = 0x82
    elif damage == "table name":  # not UTF-8 in sqlite_master (Python's UnicodeDecodeError)
        raw[raw.find(b"claims", 100) + 2] = 0x82
    else:  # a page of rows: "database disk image is malformed" (or rows of NULLs)
        size = int.from_bytes(raw[16:18], "big")
        start = raw.find(b'"cosine"') // size * size
        raw[start + 8:start + size] = b"\xff" * (size - 8)
    path = folder / "damaged.sqlite"
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("damage", ["row text", "table name", "page"])
def test_a_store_damaged_inside_is_refused_in_one_line_and_left_as_it_is(run_cli, tmp_path,
                                                                        stored, damage):
    """(Tracebacks before: SQLite meets a damaged page or text only when it reads it, after
    the store opened.)"""
    folder = tmp_path / "store"
    folder.mkdir()
    path = _damaged_store(stored, folder, damage)
    before = digest(path)
    for args in (["results", path], ["results", path, "--json"],
                 ["plot", path, "--kind", "faults", "-o", tmp_path / "f.png"]):
        code, _, err = run_cli(*args)
        one_line_error(code, err, "store", "damaged.sqlite")
        assert sorted(os.listdir(folder)) == ["damaged.sqlite"] and digest(path) == before
    assert not (tmp_path / "f.png").exists()
    if damage != "page":  # (which rows a damaged page gives depends on the query plan)
        with pytest.raises(FileFormatError, match="damaged|not a readable SQLite"):
            ResultStore(path, readonly=True).rows()


# --------------------------------------------------------------------------- claims
def test_claims_keep_other_runners_out_until_their_owner_is_gone(tmp_path):
    keys = ["a", "b"]
    with ResultStore(tmp_path / "c.sqlite") as db:
        me, other = Claimant.new(), Claimant.new()
        assert db.claim(keys, other, lease=60) == "claimed"
        assert db.claim(keys, me, lease=60) == "busy"  # a live runner (this process) holds it
        assert db.claim(["b", "c"], me, lease=60) == "busy"  # one key held is enough
        assert db.claim(["c"], me, lease=60) == "claimed"
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        gone = Claimant("x", other.host, int(dead.stdout))  # a killed runner on this host
        db.release(other)
        assert db.claim(keys, gone, lease=60) == "claimed"
        assert db.claim(keys, me, lease=60) == "claimed"  # taken over at once
        far = Claimant("y", "another-host", 1)
        db.release(me)
        assert db.claim(keys, far, lease=-1) == "claimed"  # its lease has run out already
        assert db.claim(keys, me, lease=60) == "claimed"
        db.release(me)
        assert db.claim(keys, far, lease=60) == "claimed"
        assert db.claim(keys, me, lease=60) == "busy"  # elsewhere, its lease holds
        db.add([(k, "s", {"trial": "evaluate"}, {"cosine": 1.0}, {}) for k in keys])
        assert db.claim(keys, me, lease=60) == "done"
        assert db._db.execute("SELECT COUNT(*) FROM claims WHERE key IN ('a', 'b')"
                              ).fetchone()[0] == 0  # stored trials drop their claims


def test_two_concurrent_runners_compute_each_trial_once(tmp_path):
    spec = parse_sweep(tiny(seeds=3, faults=(0.0, 0.1, 0.2, 0.3)))
    store = tmp_path / "shared.sqlite"
    ResultStore(store).close()
    reports, errors = [], []
    start = threading.Barrier(2)

    def runner() -> None:
        try:
            start.wait()
            reports.append(run_sweep(spec, store))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(reports) == 2, errors
    total = len(spec.trials)
    assert sum(r.ran for r in reports) == total  # computed once, by one of the two
    assert sum(r.inserted for r in reports) == total
    with ResultStore(store) as db:
        assert db.count() == total
        assert db._db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    assert time.perf_counter() - began < 60


def test_store_from_before_claims_resumes_with_the_same_keys(tmp_path, stored):
    """A store without the claims table (older xbarmem) is recognised, gains the table, and a
    re-run finds every trial already stored."""
    path = tmp_path / "old.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE claims")
    db.close()
    report = run_sweep(parse_sweep(tiny()), path)
    assert report.already == 8 and report.ran == 0
    with ResultStore(path) as db:
        assert db.count() == 8


def test_unwritable_store_is_read_without_journal_files(tmp_path, stored, monkeypatch):
    """A store this process cannot write, with no writer active, is opened ``immutable``:
    reading it creates no ``-wal``/``-shm`` files (root ignores chmod, so the permission check
    is simulated here)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    path = folder / "tiny.sqlite"
    path.write_bytes(stored.read_bytes())
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with ResultStore(path, readonly=True) as db:
        assert db.count() == 8 and len(db.rows(["rule=hebb"])) == 4
    assert sorted(os.listdir(folder)) == ["tiny.sqlite"]


def test_opening_waits_while_another_process_holds_a_new_store_locked(tmp_path):
    """SQLite refuses to switch a file to WAL at once (no busy wait) while another connection
    holds a lock, as when two runners create one store together: the store waits instead."""
    path = tmp_path / "new.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # a write lock in rollback mode, the file not yet WAL
    holder.execute("CREATE TABLE scratch (x)")  # never committed: the file stays new
    released = threading.Event()

    def rollback() -> None:
        released.set()  # (set first: the store may open as soon as the lock goes)
        holder.execute("ROLLBACK")

    # the lock is let go half a second on: the store opened after that waited for it (the
    # order is checked, not a time, which a loaded machine may stretch before the open)
    release = threading.Timer(0.5, rollback)
    release.start()
    try:
        with ResultStore(path) as store:
            assert released.is_set(), "the store opened while another held its lock"
            assert store.rows() == []
    finally:
        release.join()
        holder.close()


def _open_together(path: str, barrier, errors) -> None:
    try:
        barrier.wait(timeout=120)  # (a sibling that never came: reported, not waited for ever)
        ResultStore(path).close()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(repr(exc))


@pytest.fixture
def forkserver():
    """multiprocessing's forkserver context, its server preloading the heavy modules once for
    all the test's children (by name: up to 3.12 it does not see this folder on sys.path).
    The server is stopped, and waited for, when the test ends: it stayed for the rest of the
    session, torch loaded, and outlived pytest by seconds (ending only once it saw pytest's
    end, then unloading torch and pytest itself)."""
    import multiprocessing as mp
    from multiprocessing import forkserver as server

    ctx = mp.get_context("forkserver")
    before = list(server._forkserver._preload_modules)
    ctx.set_forkserver_preload(["pytest", "torch", "xbarmem.experiments.runner"])
    try:
        yield ctx
    finally:
        server._forkserver._stop()  # (CPython's own tests stop it so; None when not started)
        ctx.set_forkserver_preload(before)


def test_processes_creating_one_store_together_all_open_it(tmp_path, forkserver):
    # forkserver, not fork: forking this (multi-threaded) test process may deadlock the child,
    # which Python 3.12+ warns about
    errors = forkserver.Queue()
    for round_ in range(20):
        path = str(tmp_path / f"together{round_}.sqlite")
        barrier = forkserver.Barrier(6)
        procs = [forkserver.Process(target=_open_together, args=(path, barrier, errors))
                 for _ in range(6)]
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.join(timeout=120)
            assert [p.exitcode for p in procs] == [0] * 6
        finally:  # (a child still running, e.g. one that hung: ended, not left to outlive us)
            for p in procs:
                if p.is_alive():
                    p.kill()
                    p.join()
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []


def test_listeners_hear_every_add_after_it_commits(tmp_path):
    """``on_add`` listeners get the keys of every row given to ``add`` (new or already
    stored), after the rows are committed (a second connection sees them); the returned
    function stops the calls; a listener's error reaches the caller with the rows stored."""
    heard: list[tuple[set[str], set[str]]] = []
    with ResultStore(tmp_path / "s.sqlite") as db, ResultStore(tmp_path / "s.sqlite") as other:
        stop = db.on_add(lambda keys: heard.append((keys, other.finished(sorted(keys)))))
        db.add([("k1", "s", {"trial": "evaluate"}, {"cosine": 1.0}, {})])
        db.add([("k1", "s", {"trial": "evaluate"}, {"cosine": 0.0}, {}),
                ("k2", "s", {"trial": "evaluate"}, {"cosine": 0.5}, {})])
        assert heard == [({"k1"}, {"k1"}), ({"k1", "k2"}, {"k1", "k2"})]
        stop()
        db.add([("k3", "s", {"trial": "evaluate"}, {"cosine": 0.5}, {})])
        assert len(heard) == 2

        def fail(keys):
            raise RuntimeError("listener")

        db.on_add(fail)
        with pytest.raises(RuntimeError, match="listener"):
            db.add([("k4", "s", {"trial": "evaluate"}, {"cosine": 0.5}, {})])
        assert db.finished(["k4"]) == {"k4"}


def test_a_store_read_while_another_process_writes_it_is_read_again(tmp_path, monkeypatch):
    """Under load a process opening a store that another was creating read a half-written
    file and refused it as 'database disk image is malformed'; a file that changes while it
    is read is read again, and a file that does not change is refused at once."""
    import shutil
    import time as real_time

    import xbarmem.experiments.store_file as store_mod

    done = tmp_path / "done.sqlite"
    ResultStore(done).close()
    target = tmp_path / "s.sqlite"
    target.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)  # a header, then garbage
    calls, sleep = [], real_time.sleep

    def writer_finishes(seconds):  # while the reader waits, the writer completes the file
        calls.append(seconds)
        if len(calls) == 1:
            shutil.copyfile(done, target)

    monkeypatch.setattr(store_mod.time, "sleep", writer_finishes)
    assert ResultStore.check(target) == "store" and len(calls) == 1
    slept: list[float] = []  # (what it waited, not a clock a loaded machine stretches)
    monkeypatch.setattr(store_mod.time, "sleep", lambda seconds: (slept.append(seconds),
                                                                  sleep(seconds)))
    target.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    with pytest.raises(FileFormatError, match="not a readable SQLite database"):
        ResultStore.check(target)
    assert sum(slept) < 1.0, slept  # read once more, then refused: not waited on for seconds


def test_reading_a_store_another_process_is_creating_says_so_at_once(tmp_path):
    """An empty store whose writer holds its journal kept `results` waiting for the lock
    (60 s) and then said only that it was empty."""
    import time

    store = tmp_path / "results.sqlite"
    store.write_bytes(b"")
    (tmp_path / "results.sqlite-journal").write_bytes(b"\0" * 512)
    began = time.monotonic()
    with pytest.raises(FileFormatError, match="being created by another process"):
        ResultStore(store, readonly=True)
    assert time.monotonic() - began < 5
    assert store.read_bytes() == b""  # nothing written


def test_a_new_store_being_written_is_read_while_its_tables_are_in_the_wal(tmp_path):
    """A sweep's new store keeps its tables in the -wal file until SQLite copies them into the
    file: `results` and `plot` said "empty, being created by another process" for the whole
    sweep instead of reading the rows stored so far."""
    store = tmp_path / "results.sqlite"
    with ResultStore(store) as writer:  # open, as a running sweep holds it
        writer.add([("k1", "s", {"trial": "evaluate", "rule": "hebb"}, {"cosine": 0.5}, {})])
        assert store.with_name("results.sqlite-wal").stat().st_size > 0
        with ResultStore(store, readonly=True) as reader:
            assert [r["key"] for r in reader.rows()] == ["k1"]


def _full(db: ResultStore) -> None:
    """Let ``db``'s connection grow its file by two pages at most: SQLite then reports the
    database or disk full, as on a full disk."""
    pages = db._db.execute("PRAGMA page_count").fetchone()[0]
    db._db.execute(f"PRAGMA max_page_count = {pages + 2}")


def test_a_full_disk_is_an_os_error_naming_the_store_and_stores_nothing(tmp_path):
    """SQLite's "database or disk is full" came out as sqlite3.OperationalError (a traceback
    at the command line); now OSError ENOSPC naming the store, as any write the disk cannot
    take, with the batch rolled back and the store usable once there is room."""
    import errno

    path = tmp_path / "full.sqlite"
    rows = [(f"k{i}", "s", {"i": i, "pad": "x" * 4000}, {"cosine": 1.0}, {}) for i in range(40)]
    with ResultStore(path) as db:
        _full(db)
        with pytest.raises(OSError) as info:
            db.add(rows)
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
        assert db.count() == 0
        db._db.execute("PRAGMA max_page_count = 1073741823")
        assert db.add(rows) == 40


def test_sweep_on_a_full_disk_is_one_line(run_cli, tmp_path, monkeypatch):
    sweep, path = tmp_path / "full.toml", tmp_path / "full.sqlite"
    sweep.write_text(tiny_sweep("full", seeds=3))
    real = ResultStore.add

    def add_when_full(self, rows):
        _full(self)
        return real(self, [(k, s, {**c, "pad": "x" * 8000}, r, m) for k, s, c, r, m in rows])

    monkeypatch.setattr(ResultStore, "add", add_when_full)
    code, out, err = run_cli("sweep", sweep, "--store", path, "--jobs", "1")
    assert code == 1 and not out
    assert err.strip().splitlines()[-1] == (
        f"error: writing failed: No space left on device ({path}); finished trials are in "
        f"{path}; free some space and run the same command again to resume")


def test_a_store_that_cannot_be_created_on_a_full_disk_leaves_no_file(run_cli, tmp_path,
                                                                     monkeypatch):
    """A disk too full for the new store's schema: the sweep said so (exit 1), but left the
    store it had begun -- an empty SQLite file with its ``-wal`` and ``-shm`` -- which the
    next command took for a store with no trials. Now nothing is left."""
    from xbarmem.experiments import store as store_module

    real = store_module.create_schema

    def on_a_full_disk(db, path, busy_timeout):
        db.execute("PRAGMA max_page_count = 1")  # SQLite's "database or disk is full"
        return real(db, path, busy_timeout)

    monkeypatch.setattr(store_module, "create_schema", on_a_full_disk)
    (tmp_path / "s.toml").write_text(tiny_sweep("full", rules=("hebb",)))
    path = tmp_path / "new.sqlite"
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", path, "--jobs", "1")
    assert (code, out) == (1, "")
    assert err == f"error: writing failed: No space left on device ({path})\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_store_another_process_created_meanwhile_is_never_removed(tmp_path, monkeypatch):
    """Two processes create one new store at once; the one that fails (here: the database is
    locked) removed the file it had begun when it held no table -- but the other's tables lay
    in its ``-wal`` file still, unseen by that check, and its store (and every row it wrote
    on into the removed file) was lost. The store is kept, and holds the other's rows."""
    from xbarmem.experiments import store as store_module

    path, real, other = tmp_path / "s.sqlite", store_module.create_schema, []

    def created_meanwhile(db, store_path, busy_timeout):
        monkeypatch.setattr(store_module, "create_schema", real)
        other.append(ResultStore(path))  # the other process, its schema in its WAL
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store_module, "create_schema", created_meanwhile)
    with pytest.raises(FileFormatError, match="database is locked"):
        ResultStore(path)
    with other[0] as db:
        db.add([("k1", "s", {"rule": "hebb"}, {"cosine": 1.0}, {})])
    with ResultStore(path, readonly=True) as db:
        assert [row["key"] for row in db.rows()] == ["k1"]


def test_a_store_on_a_disk_too_full_for_its_shared_memory_file_is_no_damaged_store(
        run_cli, tmp_path, monkeypatch):
    """On a full disk SQLite cannot grow a store's ``-shm`` file and reports a disk I/O error
    (SQLITE_IOERR_SHMSIZE): ``sweep`` called a sound store "not a usable SQLite results store
    (disk I/O error)", exit 2. Now the full disk, exit 1, as every write the disk cannot
    take; the store is kept as it was."""
    from xbarmem.experiments import store as store_module

    path = tmp_path / "kept.sqlite"
    with ResultStore(path) as db:
        db.add([("k1", "s", {"rule": "hebb"}, {"cosine": 1.0}, {})])

    def shm_cannot_grow(db, path, busy_timeout):
        exc = sqlite3.OperationalError("disk I/O error")
        exc.sqlite_errorcode = sqlite3.SQLITE_IOERR_SHMSIZE
        raise exc

    monkeypatch.setattr(store_module, "create_schema", shm_cannot_grow)
    (tmp_path / "s.toml").write_text(tiny_sweep("full", rules=("hebb",)))
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", path, "--jobs", "1")
    assert (code, out) == (1, "")
    assert err == (f"error: writing failed: No space left on device ({path}); finished trials "
                   f"are in {path}; free some space and run the same command again to "
                   f"resume\n")
    monkeypatch.undo()
    with ResultStore(path, readonly=True) as db:
        assert [row["key"] for row in db.rows()] == ["k1"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_store_that_is_a_named_pipe_is_refused_before_any_work(run_cli, tmp_path, dry_run):
    """A results store must be a file: a named pipe was accepted by --dry-run and refused by
    the run only once its progress bar had started."""
    sweep, pipe = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("pipe"))
    os.mkfifo(pipe)
    code, out, err = run_cli("sweep", sweep, "--store", pipe,
                             *(["--dry-run"] if dry_run else ["--jobs", "1"]))
    assert code == 2 and not out
    assert err == f"error: store {pipe} is not a file\n"
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def _copied_alone(path: Path, folder: Path) -> int:
    """The rows of a copy of the store file ``path`` made without its ``-wal`` file."""
    copy = folder / "copy.sqlite"
    copy.write_bytes(path.read_bytes())
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
        count = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    db.close()
    return count


def _sweep_api(path: Path) -> None:
    run_sweep(parse_sweep(tiny(seeds=1)), path, jobs=1)


def _sweep_cli(path: Path) -> None:
    (path.parent / "s.toml").write_text(tiny_sweep("cli", rules=("hebb",),
                                                   fault_rates=[0.0, 0.1, 0.2]))
    done = subprocess.run([sys.executable, "-m", "xbarmem", "sweep", str(path.parent / "s.toml"),
                           "--store", str(path), "--jobs", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _added(path: Path) -> None:
    with ResultStore(path) as store:
        store.add([(f"k{i}", "s", {"rule": "hebb"}, {"cosine": 0.5}, {}) for i in range(5)])


@pytest.mark.parametrize("write", [_sweep_api, _sweep_cli, _added], ids=["api", "cli", "add"])
def test_a_copy_of_a_finished_store_file_alone_holds_every_row(tmp_path, write):
    """A store written while another connection had it open (``xbarmem results`` or a Python
    session reading it) kept the rows written then in its ``-wal`` file after the writer
    ended -- SQLite moves them into the file only when its last connection closes -- so a
    copy of the ``.sqlite`` file alone read fewer rows, silently. A writer now moves them
    into the file as it closes."""
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as first:
        first.add([("k-first", "s", {"rule": "hebb"}, {"cosine": 0.5}, {})])
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # open, idle, while written
    try:
        assert reader.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 1
        write(path)
        held = reader.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        assert held > 1
        assert _copied_alone(path, tmp_path) == held
    finally:
        reader.close()
