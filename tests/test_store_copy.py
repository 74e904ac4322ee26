"""A store's rows stayed in its ``-wal`` file until the store was closed: the file alone,
copied while a sweep ran or after one was killed with kill -9 (``cp results.sqlite``, an
rsync of ``*.sqlite``), read as an empty store. Now every write is copied into the file."""

import shutil
import sqlite3

from xbarmem.experiments.store import ResultStore


def _rows(n: int, sweep: str = "s"):
    return [(f"{i:064x}", sweep, {"rule": "hebb", "seed": i}, {"cosine": 0.5 + i / 100},
             {"seconds": 0.1}) for i in range(n)]


def test_the_store_file_alone_holds_every_row_stored_so_far(tmp_path):
    path, copy = tmp_path / "results.sqlite", tmp_path / "copy.sqlite"
    with ResultStore(path) as db:
        db.add(_rows(3))
        db.add(_rows(5)[3:])
        assert (tmp_path / "results.sqlite-wal").exists()  # (open: the WAL is still there)
        shutil.copyfile(path, copy)  # the file alone, as a kill -9 would leave it
    assert ResultStore.check(copy) == "store"
    db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 5
        assert db.execute("SELECT COUNT(*) FROM sweep_trials").fetchone()[0] == 5
    finally:
        db.close()


def test_a_store_just_made_is_a_store_in_its_file_alone(tmp_path):
    path, copy = tmp_path / "results.sqlite", tmp_path / "copy.sqlite"
    with ResultStore(path):
        shutil.copyfile(path, copy)
    assert ResultStore.check(copy) == "store"
