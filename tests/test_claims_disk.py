"""A store's claims are written as its rows are: a disk that cannot take a claim's renewal or
release is an :class:`OSError` naming the store (one line on the command line), not SQLite's
own error (a traceback)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from xbarmem.experiments.claims import Claimant, claim_keys, release_claims, renew_claims
from xbarmem.experiments.store import ResultStore


class _FullDisk:
    """A store connection whose writes to the claims table find the disk full."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __getattr__(self, name):
        return getattr(self._db, name)

    def _full(self, sql: str) -> None:
        if sql.lstrip().startswith(("UPDATE claims", "DELETE FROM claims")):
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise exc

    def execute(self, sql, *args):
        self._full(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql, *args):
        self._full(sql)
        return self._db.executemany(sql, *args)


@pytest.mark.parametrize("write", [
    lambda db, owner: renew_claims(db, owner, 60.0),
    lambda db, owner: release_claims(db, owner),
    lambda db, owner: release_claims(db, owner, ["k1"]),
], ids=["renew", "release all", "release some"])
def test_a_full_disk_under_a_claim_is_an_os_error_naming_the_store(tmp_path, write):
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        db = store._db
        owner = Claimant.new()
        assert claim_keys(db, ["k1", "k2"], owner, 60.0) == "claimed"
        with pytest.raises(OSError) as caught:
            write(_FullDisk(db), owner)
        assert caught.value.errno == errno.ENOSPC and str(path) in str(caught.value)
        assert not db.in_transaction  # rolled back: the store goes on
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 2
