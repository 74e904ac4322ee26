"""A command that fails leaves nothing it made: no empty output folder it created, no partial
file (:func:`xbarmem.files.make_folder`, :func:`xbarmem.files.undone_on_failure`), and never
anything that was there before it."""

import errno
import json
import os
from pathlib import Path

import pytest
from conftest import tree_digest

from xbarmem import files
from xbarmem.files import make_folder, undone_on_failure


def _disk_full(monkeypatch) -> None:
    """Every result file written from now on fails as on a full disk
    (``write_atomically``, which removes its temporary file)."""
    def full(path, write):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(files.writing, "write_replacing", full)


#: every command that creates its output folder, on small settings: (args, the folder)
FOLDER_COMMANDS = {
    "demo": ["demo", "--trials", "1", "--probes", "1", "-o", "{out}"],
    "scaling": ["scaling", "--sizes", "16", "--arch", "single", "--rule", "pinv", "--threshold",
                "0.9,0.99", "--trials", "1", "--probes", "2", "--threads", "1", "-o", "{out}"],
    "energy --sizes": ["energy", "--sizes", "16", "--rule", "hebb", "--probes", "1", "-o",
                       "{out}"],
    "energy --calibrate": ["energy", "--calibrate", "-o", "{out}"],
    "export": ["export", "{model}", "-o", "{out}"],
    "adapt --export": ["adapt", "{model}", "--read-back", "{read}", "--export", "{out}",
                       "--probes", "2"],
}


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_command_failing_to_write_leaves_no_folder_it_made(run_cli, tmp_path, monkeypatch,
                                                            small_model, small_export, command):
    """``ulimit -n 5; xbarmem demo`` failed saving its figure and left an empty
    ``xbarmem-out/``; every command that makes its folder left it so on a failed write."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "kept.txt").write_text("there before")
    before = tree_digest(work)
    out = work / "out"
    args = [a.format(out=out, model=small_model, read=small_export / "targets_S.npy")
            for a in FOLDER_COMMANDS[command]]
    _disk_full(monkeypatch)
    code, _, err = run_cli(*args)
    assert code == 1, err
    assert err.strip().splitlines()[-1].startswith(
        f"error: writing failed: {os.strerror(errno.ENOSPC)}"), err
    assert not out.exists()
    assert tree_digest(work) == before


#: commands writing one file, on small settings: (args, the file)
FILE_COMMANDS = {
    "train": ["train", "--data", "random", "--patterns", "3", "--neurons", "16", "--rule",
              "hebb", "-o", "{out}.safetensors"],
    "chip faults": ["chip", "faults", "-o", "{out}.npz"],
    "recall": ["recall", "{model}", "{cues}", "-o", "{out}.npy"],
    "adapt": ["adapt", "{model}", "--rounds", "1", "--probes", "2", "-o", "{out}.safetensors"],
}


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize("earlier", [False, True])
def test_a_command_failing_to_write_its_file_leaves_it_as_it_was(
        run_cli, tmp_path, monkeypatch, small_model, small_export, command, earlier):
    """No partial file beside it, no new file; an earlier one byte-identical."""
    args = [a.format(out=tmp_path / "out", model=small_model, cues=small_export / "patterns.npy")
            for a in FILE_COMMANDS[command]]
    if earlier:
        Path(args[-1]).write_bytes(b"an earlier file")
    before = tree_digest(tmp_path)
    _disk_full(monkeypatch)
    code, _, err = run_cli(*args)
    assert code == 1 and "writing failed" in err, err
    assert tree_digest(tmp_path) == before


def test_reproduce_failing_leaves_no_folder_it_made(run_cli, tmp_path, monkeypatch):
    """Failing once its folder and its store were made, ``reproduce`` left both."""
    from xbarmem.experiments import runner

    def fail(db, specs, threads):
        assert db.path.exists()  # (the store is made)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(db.path))

    monkeypatch.setattr(runner, "check_threads", fail)
    code, _, err = run_cli("reproduce", "--quick", "--jobs", "1", "-o", tmp_path / "r")
    assert code == 1, err
    assert err.endswith(f"{os.strerror(errno.ENOSPC)} ({tmp_path / 'r' / 'results.sqlite'})\n")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_command_keeps_an_output_folder_that_was_there(run_cli, tmp_path, monkeypatch,
                                                               small_model):
    """An empty folder given as ``-o`` existed before: it stays (as does one holding files)."""
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / "other.txt").write_text("x")
    _disk_full(monkeypatch)
    for folder in (empty, full):
        assert run_cli("export", small_model, "-o", folder)[0] == 1
    assert sorted(p.name for p in empty.iterdir()) == []
    assert sorted(p.name for p in full.iterdir()) == ["other.txt"]


# ------------------------------------------------------------------------------------- the API
def test_folders_made_in_a_failed_block_go_the_deepest_first(tmp_path):
    with pytest.raises(OSError), undone_on_failure():
        make_folder(tmp_path / "a" / "b" / "c")
        make_folder(tmp_path / "a" / "d")
        raise OSError(errno.ENOSPC, "full")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_made_holding_a_file_stays_and_its_parents_with_it(tmp_path):
    with pytest.raises(KeyboardInterrupt), undone_on_failure():
        make_folder(tmp_path / "a" / "b")
        make_folder(tmp_path / "a" / "c")
        (tmp_path / "a" / "b" / "result.json").write_text("{}")
        raise KeyboardInterrupt
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "a", "a/b", "a/b/result.json"]


@pytest.mark.parametrize("end", [None, SystemExit(0)])
def test_a_block_that_succeeds_keeps_its_folders(tmp_path, end):
    with undone_on_failure():
        make_folder(tmp_path / "a")
        if end is not None:
            with pytest.raises(SystemExit):
                raise end
    assert (tmp_path / "a").is_dir()


def test_an_inner_block_that_succeeded_is_undone_by_the_outer_failing(tmp_path):
    with pytest.raises(SystemExit), undone_on_failure():
        with undone_on_failure():
            make_folder(tmp_path / "inner")
        assert (tmp_path / "inner").is_dir()
        raise SystemExit(2)
    assert not (tmp_path / "inner").exists()


def test_export_memory_failing_leaves_no_folder(tmp_path, monkeypatch, small_memory):
    from xbarmem.deploy.export import export_memory

    _disk_full(monkeypatch)
    with pytest.raises(OSError):
        export_memory(small_memory[1], tmp_path / "new" / "export")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- files made partly
@pytest.mark.parametrize("earlier", [None, '{"round": 0, "an earlier": "log"}\n'])
def test_adapt_failing_leaves_no_log_cut_short(run_cli, tmp_path, monkeypatch, small_model,
                                               earlier):
    """``--log`` was opened (emptied) at the start and written round by round: a loop that
    failed before its first round left an empty log, an earlier log lost, and a line could be
    cut short. Now the whole log is written again, in one step, after each round: a loop that
    fails keeps the rounds it ran, each line whole; one failing before any round leaves an
    earlier log as it was and makes none."""
    from xbarmem.deploy import chip_loop

    def fails_in_round_1(memory, backends, stored, *, callback, **options):
        callback({"round": 0, "written": 1, "newly_fixed": 0, "cosine": 1.0, "exact": 1.0})
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "chip")

    monkeypatch.setattr(chip_loop, "adapt", fails_in_round_1)
    log = tmp_path / "rounds.jsonl"
    if earlier is not None:
        log.write_text(earlier)
    code, _, err = run_cli("adapt", small_model, "--rounds", "1", "--probes", "2", "--log", log)
    assert code == 1, err
    assert [json.loads(line)["round"] for line in log.read_text().splitlines()] == [0]

    def fails_at_once(memory, backends, stored, *, callback, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "chip")

    monkeypatch.setattr(chip_loop, "adapt", fails_at_once)
    log.unlink()
    if earlier is not None:
        log.write_text(earlier)
    code, _, err = run_cli("adapt", small_model, "--rounds", "1", "--probes", "2", "--log", log)
    assert code == 1, err
    assert (log.read_text() if earlier is not None else log.exists()) == (earlier or False)


def test_a_sweep_failing_removes_the_store_it_made_empty(run_cli, tmp_path, monkeypatch):
    """Only a refused sweep (ConfigError) removed the new store it left empty; a sweep that
    failed otherwise (here: its first group) left it."""
    from conftest import tiny_sweep

    from xbarmem.experiments.store import ResultStore

    def full(self, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))

    monkeypatch.setattr(ResultStore, "add", full)
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("full"))
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_sweep_whose_store_fills_up_says_its_rows_are_kept(run_cli, tmp_path, monkeypatch):
    """A disk filling up mid-sweep (rows of the first group stored, the second's failing) said
    only "writing failed: No space left on device (STORE)", not that the stored rows are kept
    and that the same command resumes, as Ctrl-C and a lost scheduler say."""
    from conftest import count_rows, tiny_sweep

    from xbarmem.experiments.store import ResultStore

    add, calls = ResultStore.add, []

    def full_second_time(self, rows):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path.resolve()))
        return add(self, rows)

    monkeypatch.setattr(ResultStore, "add", full_second_time)
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("full"))
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 1, err
    assert count_rows(store) == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: writing failed: {os.strerror(errno.ENOSPC)}"), err
    assert line.endswith(f"finished trials are in {store}; free some space and run the same "
                         f"command again to resume"), err
    monkeypatch.setattr(ResultStore, "add", add)
    code, out, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0 and "1 already stored, 1 new row" in out, (out, err)


def test_a_store_block_that_fails_drops_only_a_store_it_made_empty(tmp_path):
    from xbarmem.experiments.store import ResultStore

    new, kept, stopped = tmp_path / "new.sqlite", tmp_path / "kept.sqlite", tmp_path / "s.sqlite"
    ResultStore(kept).close()  # (there before: kept, empty as it is)
    for path, error in ((new, ValueError), (kept, ValueError), (stopped, KeyboardInterrupt)):
        with pytest.raises(error), ResultStore(path):
            raise error("failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.sqlite", "s.sqlite"]


def test_a_failure_in_one_thread_leaves_the_folders_of_another(tmp_path):
    """The folders made inside ``undone_on_failure`` are the thread's own: a command failing in
    one thread removed the empty folder another thread (a sweep's group run in the driver
    beside it) had made meanwhile to write into."""
    import threading

    from xbarmem.files import make_folder, undone_on_failure

    go, made, done = threading.Event(), threading.Event(), threading.Event()

    def other():
        with undone_on_failure():
            go.wait(10)
            make_folder(tmp_path / "theirs")
            made.set()
            done.wait(10)  # still running, about to write, when the other thread fails

    thread = threading.Thread(target=other)
    thread.start()
    with pytest.raises(OSError), undone_on_failure():
        make_folder(tmp_path / "mine")
        go.set()
        assert made.wait(10)
        raise OSError("disk full")
    done.set()
    thread.join(10)
    assert (tmp_path / "theirs").is_dir() and not (tmp_path / "mine").exists()


# ---------------------------------------------------------------- files written together
def _manifest_fails(monkeypatch) -> None:
    """The export's last file, its manifest, fails as on a full disk (every file before it is
    written)."""
    from xbarmem.deploy import export

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(export, "write_file", full)


@pytest.mark.parametrize("earlier", [False, True])
def test_an_export_failing_at_its_manifest_leaves_the_folder_as_it_was(
        run_cli, tmp_path, monkeypatch, small_model, earlier):
    """``export`` failing to write its manifest left the arrays, the CSV and the fault map it
    had written (a new folder of files without a manifest; an earlier export's files replaced
    under its old manifest): now it writes all of its files or none."""
    out = tmp_path / "out"
    if earlier:  # an earlier export (of another model) and a file of the user's
        other = tmp_path / "other.safetensors"
        assert run_cli("train", "--data", "random", "--patterns", "3", "--neurons", "16",
                       "--rule", "hebb", "-o", other)[0] == 0
        assert run_cli("export", other, "-o", out)[0] == 0
        (out / "notes.txt").write_text("the lab's")
    before = tree_digest(tmp_path)
    _manifest_fails(monkeypatch)
    code, _, err = run_cli("export", small_model, "-o", out)
    assert code == 1, err
    assert err.strip().splitlines()[-1].startswith(
        f"error: writing failed: {os.strerror(errno.ENOSPC)}"), err
    assert tree_digest(tmp_path) == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".partial")]


def test_export_memory_failing_at_its_manifest_leaves_nothing(tmp_path, monkeypatch,
                                                              small_memory):
    from xbarmem.deploy.export import export_memory

    _manifest_fails(monkeypatch)
    with pytest.raises(OSError, match="manifest.json"):
        export_memory(small_memory[1], tmp_path / "new" / "export", patterns=small_memory[0])
    assert list(tmp_path.iterdir()) == []


def test_files_written_together_are_put_in_place_at_the_end_of_the_block(tmp_path):
    from xbarmem.files import write_file, written_together

    old = tmp_path / "old.txt"
    old.write_text("old")
    old.chmod(0o640)
    with written_together():
        write_file(tmp_path / "new.txt", "new")
        write_file(old, "replaced")
        with written_together():  # an inner block waits for the outer one
            write_file(tmp_path / "inner.txt", "inner")
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
            "old.txt"] and old.read_text() == "old"
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "new.txt": "new", "old.txt": "replaced", "inner.txt": "inner"}
    assert old.stat().st_mode & 0o777 == 0o640  # the mode of the file it replaced
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("stop", [OSError("disk full"), KeyboardInterrupt(), SystemExit(2)])
def test_files_written_together_in_a_failed_block_are_none_of_them(tmp_path, stop):
    from xbarmem.files import write_file, written_together

    (tmp_path / "old.txt").write_text("old")
    with pytest.raises(type(stop)), written_together():
        write_file(tmp_path / "new.txt", "new")
        write_file(tmp_path / "old.txt", "replaced")
        raise stop
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"old.txt": "old"}
    with pytest.raises(SystemExit), written_together():  # a successful exit puts them in place
        write_file(tmp_path / "new.txt", "new")
        raise SystemExit(0)
    assert (tmp_path / "new.txt").read_text() == "new"
