"""A store's rows stay in its ``-wal`` file while a run uses it (and after one was killed with
kill -9): a copy of the ``.sqlite`` file alone (``cp results.sqlite``, an rsync of
``*.sqlite``) read ``empty, no trials stored yet``, as if nothing had run. The line now says
where the rows are and what to copy."""

import shutil

import pytest
from test_cli import assert_one_line_error

from xbarmem.errors import FileFormatError
from xbarmem.experiments.store import ResultStore


def _copy_while_open(tmp_path):
    path, copy = tmp_path / "results.sqlite", tmp_path / "copy" / "results.sqlite"
    copy.parent.mkdir()
    with ResultStore(path) as db:
        db.add([(f"{i:064x}", "s", {"rule": "hebb", "seed": i}, {"cosine": 0.5}, {})
                for i in range(3)])
        shutil.copyfile(path, copy)  # the file alone, as a run killed with kill -9 leaves it
    return path, copy


def test_a_copy_without_its_wal_says_where_the_rows_are(tmp_path, run_cli):
    path, copy = _copy_while_open(tmp_path)
    with pytest.raises(FileFormatError, match="results.sqlite-wal is not beside it"):
        ResultStore(copy, readonly=True)
    for command in (["results", copy], ["plot", copy, "-o", tmp_path / "f.png"]):
        code, out, err = run_cli(*command)
        assert_one_line_error(code, err, "empty, no trials stored yet in this file",
                              "copy results.sqlite-wal too")
    with ResultStore(path, readonly=True) as db:  # (the store itself holds them)
        assert db.count() == 3


def test_an_empty_file_reads_as_a_store_of_no_rows(tmp_path):
    """An empty file (a new store to a sweep) read with readonly=True is a store of no rows,
    as a store that holds none is (it was refused, where such a store was read); the file
    is left as it was, nothing made beside it."""
    path = tmp_path / "empty.sqlite"
    path.touch()
    with ResultStore(path, readonly=True) as db:
        assert (db.count(), db.sweeps(), db.rows(), db.empty()) == (0, {}, [], True)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.sqlite"]
    assert path.read_bytes() == b""
