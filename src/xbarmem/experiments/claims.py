"""Claims of a results store's trials: who claims them, and whether a claim is still held.

A runner claims a group of trials before computing it
(:meth:`~xbarmem.experiments.store.ResultStore.claim`) as a :class:`Claimant` (a token unique
to the run, its host and process id); a claim is live while its process runs on this host
(:func:`claim_live`) or, on another host, until its lease expires. :func:`check_claim` refuses an
owner that is not a :class:`Claimant` and a lease that is not a finite number of seconds.
:func:`claim_keys`, :func:`renew_claims` and :func:`release_claims` change the store's table
``claims`` (the connection ``db`` of the store's methods). A run's claims carry its torch
thread count (table ``claim_threads``, with a :class:`ThreadGuard`): a claim that meets, among
the run's trials, a live claim or a row stored meanwhile of another count is refused.
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

from xbarmem.checks import check_texts, check_type, counted, is_bool, shown
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


@dataclass
class ThreadGuard:
    """What each claim of a run checks in its transaction (made by
    :meth:`~xbarmem.experiments.store.ResultStore.guard`): the store's path ``store`` (for
    messages), the trial ``keys`` the run plans, the torch thread count ``threads`` it computes
    them with, and ``seen``, the last row of the store already checked (SQLite's rowid: rows
    stored after it, by any run, are checked at the next claim)."""

    store: str
    keys: frozenset[str]
    threads: int
    seen: int


def other_threads(store: str, counts: dict[Any, int], threads: int, *,
                  meanwhile: bool = False) -> ConfigError | None:
    """The refusal of a run of ``threads`` torch threads meeting rows of its trials in the
    store ``store`` computed with another count (``counts``: rows per recorded count, None:
    not recorded, not counted) -- stored before the run (``meanwhile`` False) or by another
    run while it ran -- naming the most frequent count to resume with; None when there are
    none."""
    other = {t: n for t, n in counts.items() if t is not None and t != threads}
    if not other:
        return None
    t, n = max(other.items(), key=lambda item: item[1])
    held = (f": another run stored {counted(n, 'trial')} of this run meanwhile, computed with"
            if meanwhile else f" holds {counted(n, 'trial')} of this run computed with")
    return ConfigError(f"{store}{held} {counted(t, 'torch thread')}, not {threads} (the "
                       f"thread count can change the numbers): run with --threads {t} to "
                       f"resume it, or use another store")


def check_threads_met(db: sqlite3.Connection, guard: ThreadGuard, owner: Claimant) -> None:
    """Refuse (:class:`ConfigError`, one line) to claim for a run of ``guard``'s thread count
    while, among its trials, a row stored since ``guard.seen`` or a live claim of another
    runner (``owner`` is this one) holds another count: the run would take the other run's
    rows for its own, or store beside them rows it computes otherwise. Rows and claims that
    record no count (earlier xbarmem versions) are not counted; ``guard.seen`` moves on."""
    found: dict[Any, int] = {}
    for key, threads, rowid in db.execute(
            "SELECT key, CASE WHEN json_valid(result) THEN json_extract(result, '$.threads') "
            "END, rowid FROM trials WHERE rowid > ?", (guard.seen,)):
        guard.seen = max(guard.seen, int(rowid))
        if key in guard.keys and threads is not None and threads != guard.threads:
            found[threads] = found.get(threads, 0) + 1
    error = other_threads(guard.store, found, guard.threads, meanwhile=True)
    if error is not None:
        raise error
    for key, host, pid, expires, t in db.execute(
            "SELECT c.key, c.host, c.pid, c.expires, t.threads FROM claims c JOIN claim_threads "
            "t ON t.owner = c.owner WHERE c.owner != ? AND t.threads != ?",
            (owner.token, guard.threads)):
        if key in guard.keys and claim_live((host, pid, expires), owner):
            raise ConfigError(f"{guard.store}: another run (process {pid} on {host}) is "
                              f"computing trials of this run with {counted(t, 'torch thread')}"
                              f", not {guard.threads} (the thread count can change the "
                              f"numbers): run with --threads {t} once it ends, or use another "
                              "store")


def claim_keys(db: sqlite3.Connection, keys: Sequence[str], owner: Claimant,
               lease: float, guard: ThreadGuard | None = None) -> str:
    """Claim the unstored ``keys`` for ``owner`` in one transaction: ``"done"`` (all stored),
    ``"busy"`` (one of them is claimed by another live runner: nothing claimed) or
    ``"claimed"`` (see :meth:`~xbarmem.experiments.store.ResultStore.claim`). With a
    ``guard``, another thread count met among the run's trials is refused first
    (:func:`check_threads_met`), and the claims record the run's count."""
    keys = list(dict.fromkeys(check_texts(keys, "keys", "a list of trial keys")))
    check_claim(owner, lease)
    if guard is not None:
        check_type(guard, ThreadGuard, "guard", "a ThreadGuard (ResultStore.guard) or None")
    with write_transaction(db):
        if guard is not None:
            check_threads_met(db, guard, owner)
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
            if guard is not None:
                db.execute("INSERT OR REPLACE INTO claim_threads VALUES (?, ?)",
                           (owner.token, guard.threads))
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
        if keys is None:  # (the run ends: its thread count goes, and those of killed runs)
            db.execute("DELETE FROM claims WHERE owner = ?", (owner.token,))
            db.execute("DELETE FROM claim_threads WHERE owner = ? OR owner NOT IN "
                       "(SELECT owner FROM claims)", (owner.token,))
        else:
            db.executemany("DELETE FROM claims WHERE owner = ? AND key = ?",
                           [(owner.token, k) for k in keys])
