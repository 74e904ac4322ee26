"""Claims of a results store's trials: who claims them, and whether a claim is still held.

A runner claims a group of trials before computing it
(:meth:`~xbarmem.experiments.store.ResultStore.claim`) as a :class:`Claimant` (a token unique
to the run, its host and process id); a claim is live while its process runs on this host
(:func:`claim_live`) or, on another host, until its lease expires. :func:`check_claim` refuses an
owner that is not a :class:`Claimant` and a lease that is not a finite number of seconds.
:func:`claim_keys`, :func:`renew_claims` and :func:`release_claims` change the store's table
``claims`` (the connection ``db`` of the store's methods).
"""

from __future__ import annotations

import math
import numbers
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xbarmem.checks import check_texts, check_type, is_bool, shown
from xbarmem.errors import ConfigError
from xbarmem.experiments.store_file import write_transaction
from xbarmem.experiments.store_rows import finished_keys


@dataclass(frozen=True)
class Claimant:
    """Who claims trials: a token unique to one run, and its host and process id."""

    token: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> Claimant:
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def claim_live(claim: tuple, me: Claimant) -> bool:
    """A claim ``(host, pid, expires)`` held by a running process: by its process id on this
    host, by its lease elsewhere."""
    host, pid, expires = claim
    return _pid_alive(int(pid)) if host == me.host else float(expires) > time.time()


def check_claim(owner: Any, lease: Any) -> None:
    """A claim's owner is a :class:`Claimant` and its lease a finite number of seconds (one
    <= 0 has run out already) (:class:`~xbarmem.errors.ArgumentError` / :class:`ConfigError`
    naming them)."""
    check_type(owner, Claimant, "owner", "a Claimant (Claimant.new())")
    if is_bool(lease) or not isinstance(lease, numbers.Real) or not math.isfinite(lease):
        raise ConfigError(f"lease must be a finite number of seconds, got {shown(lease)}")


def claim_keys(db: sqlite3.Connection, keys: Sequence[str], owner: Claimant,
               lease: float) -> str:
    """Claim the unstored ``keys`` for ``owner`` in one transaction: ``"done"`` (all stored),
    ``"busy"`` (one of them is claimed by another live runner: nothing claimed) or
    ``"claimed"`` (see :meth:`~xbarmem.experiments.store.ResultStore.claim`)."""
    keys = list(dict.fromkeys(check_texts(keys, "keys", "a list of trial keys")))
    check_claim(owner, lease)
    with write_transaction(db):
        done = finished_keys(db, keys)
        todo = [k for k in keys if k not in done]
        if not todo:
            state = "done"
        elif any(row[0] != owner.token and claim_live(row[1:], owner)
                 for row in _select_claims(db, todo)):
            state = "busy"
        else:
            expires = time.time() + lease
            db.executemany("INSERT OR REPLACE INTO claims VALUES (?,?,?,?,?)",
                           [(k, owner.token, owner.host, owner.pid, expires) for k in todo])
            state = "claimed"
    return state


def _select_claims(db: sqlite3.Connection, keys: list[str]) -> list[tuple]:
    out: list[tuple] = []
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        out += db.execute(f"SELECT owner, host, pid, expires FROM claims WHERE key "
                          f"IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    return out


def renew_claims(db: sqlite3.Connection, owner: Claimant, lease: float) -> None:
    """Extend every claim of ``owner`` to ``lease`` seconds from now (one transaction: a disk
    that cannot take it raises :class:`OSError` naming the store, as every write does)."""
    check_claim(owner, lease)
    with write_transaction(db):
        db.execute("UPDATE claims SET expires = ? WHERE owner = ?",
                   (time.time() + lease, owner.token))


def release_claims(db: sqlite3.Connection, owner: Claimant,
                   keys: Sequence[str] | None = None) -> None:
    """Drop the claims of ``owner`` (all, or those on ``keys``; one transaction, as
    :func:`renew_claims`)."""
    check_claim(owner, 0.0)
    if keys is not None:
        keys = check_texts(keys, "keys", "a list of trial keys")
    with write_transaction(db):
        if keys is None:
            db.execute("DELETE FROM claims WHERE owner = ?", (owner.token,))
        else:
            db.executemany("DELETE FROM claims WHERE owner = ? AND key = ?",
                           [(owner.token, k) for k in keys])
