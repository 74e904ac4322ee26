"""Results store: one SQLite file (Python's stdlib ``sqlite3``), one row per finished trial.

Crash safety and concurrency:

* WAL journal mode with ``synchronous = FULL``: a transaction is durable once committed; a
  process killed at any moment (kill -9) leaves the file at its last commit, never half a row.
* A row is keyed by the trial's configuration hash (``PRIMARY KEY``); inserts are ``INSERT OR
  IGNORE`` inside one short ``BEGIN IMMEDIATE`` transaction per batch of results, so re-running
  or resuming a sweep never duplicates a trial, and a batch is stored entirely or not at all.
* Several processes may write one store: writers take turns under SQLite's lock and wait up to
  ``busy_timeout`` seconds (default 60) for it.
* Runners claim a group of trials before computing it (table ``claims``: key, owner token, host,
  pid, lease expiry; :meth:`ResultStore.claim`), so two runs of one sweep split the work. A
  claim of a process that died (kill -9) is taken over at once on the same host, and after its
  lease elsewhere; a stored trial's claim is deleted in the transaction that stores it.
* Only xbarmem stores are ever modified: an existing file is checked (read-only, without
  creating files next to it) before WAL mode is switched on or tables are created; reading
  commands open the store read-only.

The schema, its creation and the checks of an existing file live in
:mod:`~xbarmem.experiments.store_file`, row fields and ``--where`` conditions in
:mod:`~xbarmem.experiments.fields`, the ``WHERE`` clause they make (and the check that the rows
it reads are JSON SQLite can read) in :mod:`~xbarmem.experiments.store_where`, the checks of a
row to add and the reading of stored rows in :mod:`~xbarmem.experiments.store_rows`, who claims
trials, whether a claim is still held and the table of claims in
:mod:`~xbarmem.experiments.claims`.

Schema (table ``trials``): ``key`` (SHA-256 of the resolved configuration), ``sweep`` (the
sweep that computed it), ``trial`` (evaluate / capacity), ``config`` and ``result`` (JSON text),
``version`` (xbarmem), ``seconds`` (compute time of the trial), ``finished`` (UTC ISO time),
``host``, ``pid``. Table ``sweep_trials`` (``sweep``, ``key``): the sweeps that hold a trial --
every sweep that planned it, also one that found it stored by another sweep (same
configuration, same key: it is reused, not computed again). Reads by sweep name go through
both (a stored row's ``sweeps``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import numbers
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from xbarmem.checks import (
    brief,
    check_callback,
    check_count,
    check_flag,
    check_texts,
    check_type,
    checked_keywords,
    is_bool,
    shown,
)
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.experiments.claims import (
    Claimant,
    ThreadGuard,
    claim_keys,
    release_claims,
    renew_claims,
)
from xbarmem.experiments.fields import flat_table, typed_columns
from xbarmem.experiments.store_file import (
    FIELDS,
    MEMBERS,
    check_file,
    create_schema,
    disk_error,
    file_verdict,
    holds_no_store,
    open_empty,
    open_readonly,
    store_tables,
    write_transaction,
)
from xbarmem.experiments.store_rows import (
    MAX_ROW_TEXT,
    ROW_FIELDS,
    finished_keys,
    networks_of_keys,
    row_values,
    rows_of_keys,
    selected,
    stored_row,
    sweeps_of_keys,
    threads_of_keys,
    versions_of_keys,
)
from xbarmem.experiments.store_where import (
    check_json,
    field_sql,
    held_sql,
    sweep_counts,
    where_sql,
)
from xbarmem.files import as_path, missing, output_file, write_atomically, wrong_suffix

__all__ = ["ResultStore"]

#: a function that puts rows (as :meth:`ResultStore.rows` reads them) in the order to write
RowOrder = Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]]
#: the longest a store waits for another writer's lock (s): a day
MAX_BUSY_TIMEOUT = 86400.0


def _without_wal(path: Path) -> str:
    """What an empty store file in WAL mode (its header's bytes 18-19 are 2) whose ``-wal``
    file is not beside it may be: a copy of the file alone, made while a sweep ran or after
    one was killed, whose tables and rows stayed in the ``-wal`` file (SQLite copies them
    into the store's own file when the last connection closes). ``""`` otherwise."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(20)
    except OSError:
        return ""
    if head[18:20] != b"\x02\x02" or path.with_name(path.name + "-wal").exists():
        return ""
    return (f" in this file: a store's rows stay in its -wal file until the last run using it "
            f"ends, and {path.name}-wal is not beside it (a copy of the file alone, made "
            f"while a sweep ran or after one was killed? copy {path.name}-wal too)")


#: the longest a closing writer waits for other connections before its checkpoint (seconds)
CHECKPOINT_WAIT = 5.0


def _checkpoint(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Copy every transaction of the store's ``-wal`` file into the store file and empty it
    (``PRAGMA wal_checkpoint(TRUNCATE)``), waiting at most :data:`CHECKPOINT_WAIT` seconds for
    a reader or writer of another process (then as much as can be copied without waiting).
    SQLite does so itself when the last connection closes, not while another one is open: a
    sweep that ended while ``xbarmem results`` (or a Python session) read the store left its
    rows in the ``-wal`` file, and a copy of the store file alone lacked them. Errors are
    left to the connection's close (the store is consistent either way)."""
    with contextlib.suppress(sqlite3.Error):
        db.execute(f"PRAGMA busy_timeout = {int(min(busy_timeout, CHECKPOINT_WAIT) * 1000)}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


class _Closed:
    """The connection of a closed :class:`ResultStore`: closing it again does nothing, any
    other use raises :class:`ConfigError` naming the store (sqlite3's ``ProgrammingError``
    said "Cannot operate on a closed database")."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        """Nothing: the store is closed."""

    def __getattr__(self, name: str) -> Any:
        raise ConfigError(f"results store {self.path} is closed (used after close() or its "
                          f"with block): open it again with ResultStore(path)")


@checked_keywords
class ResultStore:
    """A results store at ``path`` (created on first use unless ``readonly``).

    Before anything is written, an existing file is checked to be an xbarmem store (a
    ``meta`` table with the schema version and a ``trials`` table) or an empty database; any
    other file is refused untouched (:meth:`check`). ``readonly=True`` opens the file
    read-only (SQLite ``mode=ro``; ``immutable`` when even the shared-memory file cannot be
    created, e.g. a read-only folder), so reading commands work on stores they cannot write;
    an empty file or a database without tables (a new store to a sweep) is read as a store of
    no rows, but for a copy whose rows stayed in its ``-wal`` file (refused, saying so).
``busy_timeout``: seconds to wait for another process's lock (:class:`ConfigError` outside
0 .. :data:`MAX_BUSY_TIMEOUT`).

    >>> store = ResultStore("results.sqlite")
    >>> store.add([("k1", "demo", {"rule": "hebb"}, {"cosine": 0.95}, {"seconds": 1.0})])
    1
    >>> [row["config"]["rule"] for row in store.rows(where=["rule=hebb", "result.cosine>0.9"])]
    ['hebb']
    >>> store.close()
    """

    _db: sqlite3.Connection  # opened by __init__
    made: bool  # set by __init__ for a store opened to write
    busy_timeout: float  # seconds, set by __init__

    def __init__(self, path: str | Path, *, busy_timeout: float = 60.0,
                 readonly: bool = False) -> None:
        self.path = as_path(path)
        self.readonly = check_flag(readonly, "readonly")
        if (is_bool(busy_timeout) or not isinstance(busy_timeout, numbers.Real)
                or not 0 <= busy_timeout <= MAX_BUSY_TIMEOUT):
            raise ConfigError(f"busy_timeout must be a number of seconds in 0..{MAX_BUSY_TIMEOUT}"
                              f", got {shown(busy_timeout)}")
        self._listeners: list[Callable[[set[str]], None]] = []
        if self.path.is_dir():
            raise FileFormatError(f"store {self.path} is a directory, not a SQLite file")
        if self.path.parent and not self.path.parent.exists():
            raise FileFormatError(f"store folder {self.path.parent} does not exist")
        if not self.path.parent.is_dir():  # (os.stat of the store raised NotADirectoryError)
            raise FileFormatError(f"store folder {self.path.parent} is not a folder")
        self.busy_timeout = float(busy_timeout)
        if readonly:
            if not self.path.is_file():
                raise FileFormatError(missing(self.path, "results store"))
            verdict = self.check(self.path)
            if verdict == "new" and self.path.with_name(self.path.name + "-journal").exists():
                # a rollback journal's writer holds the lock a read would wait for (a WAL's
                # writer does not: its tables are read below)
                raise FileFormatError(f"store {self.path}: empty, being created by another "
                                      f"process or left by one that stopped (a journal lies "
                                      f"beside it); no trials stored yet")
            self._db = open_readonly(self.path, self.busy_timeout)
            if verdict == "new" and file_verdict(self.path, store_tables(self._db)) == "new":
                self._db.close()  # (tables may exist in the WAL only: asked again)
                if without_wal := _without_wal(self.path):  # (its rows are elsewhere)
                    raise FileFormatError(f"store {self.path}: empty, no trials stored yet"
                                          f"{without_wal}")
                self._db = open_empty(self.path)  # (a store of no rows, as a sweep takes it)
            return
        self.check(self.path)
        #: whether this object created the file (:meth:`drop_if_made_empty`)
        self.made = not (self.path.exists() or self.path.is_symlink())
        try:
            self._db = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                       isolation_level=None)  # explicit transactions only
            create_schema(self._db, self.path, self.busy_timeout)
        except Exception as exc:
            failed = disk_error(exc, self._db) if hasattr(self, "_db") else None
            self._undo_creation()
            if failed is not None:
                raise failed from None
            if isinstance(exc, sqlite3.DatabaseError):
                raise FileFormatError(f"store {self.path}: not a usable SQLite results store "
                                      f"({exc})") from None
            raise

    def _undo_creation(self) -> None:
        """Close, and when this object created the file and it holds no table still (no other
        process made it a store meanwhile: :func:`holds_no_store` reads its WAL too), delete it
        and the SQLite files beside it: a store whose schema could not be written (a full disk)
        was left behind, empty, with its ``-wal`` and ``-shm`` files."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._db.close()
        try:
            bare = self.made and holds_no_store(self.path, self.busy_timeout)
        except Exception:  # noqa: BLE001 - unreadable now: kept rather than lost
            bare = False
        if bare:
            for end in ("", "-wal", "-shm", "-journal"):
                self.path.with_name(self.path.name + end).unlink(missing_ok=True)

    @staticmethod
    def check(path: str | Path) -> str:
        """What the file at ``path`` is: ``"new"`` (missing, empty file or a database without
        tables) or ``"store"`` (an xbarmem store of this schema); raises
        :class:`FileFormatError` for anything else -- reading only, never changing the file."""
        return check_file(path)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the database connection (also on leaving a ``with`` block; again: nothing).
        A closed store's methods raise :class:`ConfigError` saying so. A store that wrote
        (rows, a schema) first moves every row out of its ``-wal`` file into the store file
        (:func:`_checkpoint`), so that a copy of the file alone holds every row; one that
        wrote nothing leaves the file as it found it."""
        if (isinstance(self._db, sqlite3.Connection) and not self.readonly
                and self._db.total_changes):
            _checkpoint(self._db, self.busy_timeout)
        self._db.close()
        self._db = _Closed(self.path)  # type: ignore[assignment]

    def __enter__(self) -> ResultStore:
        return self

    def __repr__(self) -> str:
        """The file and, per sweep, the rows it holds (``closed`` once closed), in one
        line."""
        try:
            held = f"sweeps={brief(self.sweeps())}"
        except (sqlite3.ProgrammingError, ConfigError):  # closed
            held = "closed"
        return f"ResultStore({str(self.path)!r}, {held})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Refused (:class:`~xbarmem.errors.ArgumentError`): a store is an open database
        connection, which ``pickle`` and ``copy`` cannot carry (they raised a bare
        ``TypeError``); another process or copy opens the file again."""
        raise ArgumentError(f"a ResultStore cannot be pickled or copied (it holds an open "
                            f"database connection): pass its path and open it again, "
                            f"ResultStore({str(self.path)!r})")

    def __exit__(self, *exc: Any) -> None:
        """Close; a block that fails (not one interrupted: it says how to resume) leaves no
        store it created empty (:meth:`drop_if_made_empty`)."""
        if exc[0] is not None and issubclass(exc[0], Exception):
            self.drop_if_made_empty()
        self.close()

    def drop_if_made_empty(self) -> bool:
        """Close and delete the store -- its file and the SQLite files beside it -- when this
        object created the file and it holds no row and no claim (of any runner): what a run
        that failed before storing anything leaves. Else (or when that cannot be read)
        nothing. Returns whether it was deleted."""
        try:
            empty = getattr(self, "made", False) and self.empty()
        except Exception:  # noqa: BLE001 - a store that failed is kept rather than lost
            return False
        if empty:
            self.close()
            for end in ("", "-wal", "-shm", "-journal"):
                self.path.with_name(self.path.name + end).unlink(missing_ok=True)
        return bool(empty)

    # ------------------------------------------------------------------ writing
    def add(self, rows: Iterable[tuple[str, str, dict[str, Any], dict[str, Any],
                                       dict[str, Any]]]) -> int:
        """Insert ``rows`` of finished trials ``(key, sweep, config, result, meta)`` in one
        transaction; keys already stored are left as they are (the row's ``sweep`` stays the
        one that stored it first; the sweep of a row given again holds it too, see :meth:`hold`).
        ``meta`` may hold ``seconds``, ``host``, ``pid``. Returns the number of rows actually
        inserted."""
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        if isinstance(rows, str | bytes | dict) or not isinstance(rows, Iterable):
            raise ArgumentError(f"rows must be a list of {ROW_FIELDS} tuples, got {shown(rows)}")
        values = [row_values(row, f"rows[{i}]", now) for i, row in enumerate(rows)]
        if not values:
            return 0
        with write_transaction(self._db):  # OSError ENOSPC naming the store when it is full
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                                 values)
            inserted = self._db.total_changes - before
            self._db.executemany(f"INSERT OR IGNORE INTO {MEMBERS} VALUES (?, ?)",
                                 [(v[1], v[0]) for v in values])
            self._db.executemany("DELETE FROM claims WHERE key = ?", [(v[0],) for v in values])
        keys = {v[0] for v in values}
        for listener in list(self._listeners):
            listener(keys)
        return inserted

    def on_add(self, listener: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``listener(keys)`` after every :meth:`add` of this store object has committed,
        in the thread that added (``keys``: the keys of every row it was given, stored then
        or before). Returns a function that stops the calls. An exception in ``listener``
        propagates to the caller of :meth:`add` (the rows stay stored)."""
        self._listeners.append(check_callback(listener, "listener", optional=False))
        return lambda: self._listeners.remove(listener)

    def hold(self, sweep: str, keys: Sequence[str]) -> None:
        """Record, in one transaction, that sweep ``sweep`` holds the trials ``keys`` (e.g. all
        it plans): a trial stored by another sweep (the same configuration) is then among this
        sweep's rows as well (``rows(sweep=...)``, ``--sweep``), and so is one stored later by
        any run. The rows themselves are not changed (their ``sweep`` stays the one that
        computed them)."""
        check_type(sweep, str, "sweep", "a sweep name (a text)")
        if not sweep.strip() or len(sweep) > MAX_ROW_TEXT:
            raise ConfigError(f"sweep must be a non-empty text of at most {MAX_ROW_TEXT} "
                              f"characters, got {shown(sweep)}")
        keys = check_texts(keys, "keys", "a list of trial keys")
        with write_transaction(self._db):
            self._db.executemany(f"INSERT OR IGNORE INTO {MEMBERS} VALUES (?, ?)",
                                 [(sweep, k) for k in keys])

    # ------------------------------------------------------------------ claims
    def claim(self, keys: Sequence[str], owner: Claimant, lease: float, *,
              guard: ThreadGuard | None = None) -> str:
        """Claim the unstored ``keys`` (one group of trials) for ``owner`` in one transaction,
        so that concurrent runners do not compute them twice. Returns ``"done"`` (all stored),
        ``"busy"`` (one of them is claimed by another live runner: nothing claimed) or
        ``"claimed"``. A claim is live while its owner's process runs (same host) or until it
        expires (``lease`` seconds after its last :meth:`renew`; other hosts). With a ``guard``
        (:meth:`guard`), a claim meeting among the run's trials a live claim or a row stored
        meanwhile of another torch thread count raises :class:`ConfigError` (nothing claimed),
        and the claims record the run's count."""
        return claim_keys(self._db, keys, owner, lease, guard)

    def guard(self, keys: Sequence[str], threads: int) -> ThreadGuard:
        """What the claims of a run of the trials ``keys`` computed with ``threads`` torch
        threads check (:meth:`claim`'s ``guard``): the rows stored from now on and the live
        claims of other runners, among ``keys``, of another thread count. The rows stored
        before are the caller's to check (``check_stored`` of the runner)."""
        keys = check_texts(keys, "keys", "a list of trial keys")
        threads = check_count(threads, "threads")
        seen = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM trials").fetchone()[0]
        return ThreadGuard(str(self.path), frozenset(keys), threads, int(seen))

    def renew(self, owner: Claimant, lease: float) -> None:
        """Extend every claim of ``owner`` to ``lease`` seconds from now."""
        renew_claims(self._db, owner, lease)

    def release(self, owner: Claimant, keys: Sequence[str] | None = None) -> None:
        """Drop the claims of ``owner`` (all, or those on ``keys``)."""
        release_claims(self._db, owner, keys)

    # ------------------------------------------------------------------ reading
    def finished(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already stored."""
        return finished_keys(self._db, keys)

    def held_by(self, sweep: str, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` stored and held by sweep ``sweep``: computed by it, or found
        stored by it (as :meth:`sweeps` counts a sweep's rows)."""
        return finished_keys(self._db, keys, held_sql(self._db, "=", sweep))

    def threads(self, keys: Sequence[str]) -> dict[Any, int]:
        """How many stored rows of ``keys`` were computed with each torch thread count (None:
        not recorded)."""
        return threads_of_keys(self._db, keys)

    def batch_networks(self, keys: Sequence[str]) -> dict[Any, int]:
        """How many stored rows of ``keys`` were trained in a batch of each number of networks
        (``result.batch.networks``; None: not recorded)."""
        return networks_of_keys(self._db, keys)

    def versions(self, keys: Sequence[str]) -> dict[str, int]:
        """How many stored rows of ``keys`` each xbarmem version computed."""
        return versions_of_keys(self._db, keys)

    def computed_by(self, keys: Sequence[str]) -> dict[str, int]:
        """How many stored rows of ``keys`` each sweep computed (a row found by a later sweep
        keeps the sweep that computed it)."""
        return sweeps_of_keys(self._db, keys)

    def by_keys(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Stored rows (as :meth:`rows`) of the trial ``keys``; unknown keys are skipped."""
        return rows_of_keys(self._db, self.path, keys)

    def count(self, where: Sequence[str] = (), sweep: str | None = None) -> int:
        """Number of stored rows matching ``where`` and ``sweep`` (as :meth:`rows`)."""
        sql, args = where_sql(self._db, self.path, where, sweep)
        return int(self._db.execute(f"SELECT COUNT(*) FROM trials{sql}", args).fetchone()[0])

    def check_json(self, where: Sequence[str] = (), sweep: str | None = None) -> None:
        """Refuse, as :meth:`iter_rows` does (:class:`FileFormatError` naming the store and
        the row), the first row matching ``where`` and ``sweep`` whose stored ``config`` or
        ``result`` is not JSON SQLite can read: a view that reads only some rows in full
        (``results`` shows ``--limit`` of them) checks the others this way, in SQLite,
        without decoding them."""
        check_json(self._db, self.path, *where_sql(self._db, self.path, where, sweep))

    def empty(self) -> bool:
        """Whether the store holds no row and no claim (of any runner)."""
        return not self._db.execute("SELECT EXISTS (SELECT 1 FROM trials) OR EXISTS "
                                    "(SELECT 1 FROM claims)").fetchone()[0]

    def sweeps(self) -> dict[str, int]:
        """Sweep names and the number of stored rows each holds: those it computed and those
        it found stored by another sweep (a row two sweeps hold counts in both)."""
        return sweep_counts(self._db)

    def rows(self, where: Sequence[str] = (), sweep: str | None = None,
             limit: int | None = None, *, check_rest: bool = False) -> list[dict[str, Any]]:
        """Stored rows as dicts ``{key, sweep, trial, version, seconds, finished, host, pid,
        sweeps, config: {...}, result: {...}}``, filtered by ``where`` (see
        :func:`parse_condition`) and ``sweep``, oldest first. ``sweep`` is the sweep that
        computed the row, ``sweeps`` every sweep that holds it (in name order); ``sweep=NAME``
        (and ``where=["sweep=NAME"]``) keeps the rows sweep ``NAME`` holds, computed or found
        stored. A field no row has, or a sweep the store does not hold,
        raises :class:`ConfigError`. With a ``limit`` and ``check_rest``, the other matching
        rows are checked as :meth:`check_json` does, the conditions read once. The same rows
        as flat dicts, one key per column as CSV exports have them (for ``pandas``):
        :meth:`table`."""
        check_flag(check_rest, "check_rest")
        sql, args = where_sql(self._db, self.path, where, sweep)
        rows = list(self._select(sql, args, limit))
        if check_rest and limit is not None:
            check_json(self._db, self.path, sql, args)
        return rows

    def iter_rows(self, where: Sequence[str] = (), sweep: str | None = None,
                  limit: int | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`rows` (``where``, ``sweep``, ``limit`` as there) one at a time. A row whose
        stored JSON is malformed, or holds a value
        of the wrong type where tables and figures read one (:func:`~xbarmem.experiments.
        fields.read_payloads`), raises :class:`FileFormatError` naming the store, the row and
        the field."""
        yield from self._select(*where_sql(self._db, self.path, where, sweep), limit)

    def _select(self, sql: str, args: list[Any], limit: int | None
                ) -> Iterator[dict[str, Any]]:
        """The rows of the ``WHERE`` clause ``sql`` (:func:`~xbarmem.experiments.store_where.
        where_sql`), oldest first, at most ``limit``."""
        if limit is not None:
            limit = check_count(limit, "limit", minimum=0)
        sql += " ORDER BY rowid" + ("" if limit is None else f" LIMIT {limit}")
        for rec in self._db.execute(f"SELECT {selected(self._db)} FROM trials{sql}", args):
            yield stored_row(rec, self.path)

    def check_fields(self, names: Sequence[str], what: str, prefix: str = "") -> None:
        """Refuse (:class:`ConfigError` naming ``what`` and the name) a field of ``names``
        that no stored row has: a store column, a config key or ``result.KEY`` (see
        :func:`parse_condition`); ``prefix`` is put before every name (``"result."`` for
        metric names). A store without rows has every field."""
        names = check_texts(names, "names", "a list of field names")
        check_type(what, str, "what", "a text")
        check_type(prefix, str, "prefix", "a text")
        for name in names:
            if prefix + name not in FIELDS:  # (``sweeps``: every row has it)
                field_sql(self._db, self.path, prefix + name, f"{what} {name}", shown=name)

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ export
    def table(self, where: Sequence[str] = (), sweep: str | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """The rows matching ``where`` and ``sweep`` (``limit`` as in :meth:`rows`) as flat
        dicts, the rows of :meth:`write_csv` and :meth:`export`: one key per column, named and
        ordered as there (``key``, ``sweep``, ... ``sweeps``, then ``config.rule``,
        ``config.chip_spec.device.write_noise``, ``result.cosine``, ...; nested fields dotted),
        every column in every dict (None where a row has no such field), numbers and flags as
        stored, lists as JSON text (``sweeps``, ``result.per_pattern_cosine``: as exports write
        them). ``pandas.DataFrame(store.table())`` gives one column per field, where
        :meth:`rows`' nested ``config`` and ``result`` gave two columns of dicts."""
        return self._table(where, sweep, limit)[1]

    def _table(self, where: Sequence[str], sweep: str | None, limit: int | None = None,
               order: RowOrder | None = None) -> tuple[list[str], list[dict[str, Any]]]:
        """The columns and flat rows of :meth:`table` (filters and sweep checked before any
        row is read), the rows in the ``order`` of :meth:`export`."""
        check_callback(order, "order")
        where_sql(self._db, self.path, where, sweep)
        rows = self.iter_rows(where, sweep, limit)
        return flat_table(rows if order is None else order(list(rows)))

    def write_csv(self, stream: Any, where: Sequence[str] = (), sweep: str | None = None, *,
                  order: RowOrder | None = None) -> int:
        """Write the rows matching ``where`` and ``sweep`` (as :meth:`rows`) as CSV text to
        ``stream`` (an open text file, e.g.
        ``sys.stdout``), with the columns and ``order`` of :meth:`export`; returns the number
        of rows. The filters and sweep are checked before anything is written; when no row
        matches, :class:`ConfigError` and nothing is written (:meth:`export`)."""
        columns, records = self._table(where, sweep, order=order)
        self._check_some(records, where, sweep)
        _write_csv(stream, records, columns)
        return len(records)

    def _check_some(self, records: list[Any], where: Sequence[str], sweep: str | None
                    ) -> None:
        """Refuse (:class:`ConfigError`, one line naming the store and its sweeps) writing no
        ``records``: an empty export replaced the file an earlier one wrote."""
        if not records:
            raise ConfigError(self.no_rows(bool(where or sweep), "write"))

    def no_rows(self, filtered: bool, what: str | None = None, detail: str = "") -> str:
        """The line of an output (``what``: write, draw; None: a table) from no rows: the rows
        ``filtered`` match none, or the store holds none; names its sweeps, then ``detail``
        (``; ...``: why the filters match none). A :class:`ConfigError`'s text when ``what``
        is given (nothing written)."""
        which = ("match the filters" if filtered else
                 "stored yet" if what is None else "are stored yet")
        listed = ", ".join(f"{name} ({n})" for name, n in self.sweeps().items()) or "none"
        doing = "" if what is None else f", nothing to {what}"
        return f"{self.path}: no rows {which}{doing} (sweeps in this store: {listed}){detail}"

    def export(self, path: str | Path, where: Sequence[str] = (),
               sweep: str | None = None, *, order: RowOrder | None = None) -> Path:
        """Write the rows matching ``where`` and ``sweep`` (as :meth:`rows`) to ``path``, a
        ``.csv`` or ``.parquet`` file (needs pyarrow), one column
        per flattened config/result field (``config.rule``, ``result.cosine``, ...; lists as
        JSON text). ``order``: a function given the matching rows as :meth:`rows` reads them
        (oldest first: the order they were computed in) that returns them in the order to
        write (``xbarmem results`` writes them in the order of its table, the same whichever
        way a sweep ran). Returns the path; the path, filters and sweep are checked before
        anything is written. No row matching (a value misspelt in ``where``, a store holding
        none) raises :class:`ConfigError` naming the store's sweeps, as ``xbarmem results
        --csv`` refuses it, and leaves an earlier file at ``path`` as it was."""
        path = output_file(path, "export")
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise ConfigError(wrong_suffix(path, "export file", ".csv or .parquet"))
        columns, records = self._table(where, sweep, order=order)
        self._check_some(records, where, sweep)
        if path.suffix.lower() == ".csv":
            def write(partial: Path) -> None:
                with partial.open("w", newline="", encoding="utf-8") as fh:
                    _write_csv(fh, records, columns)

            write_atomically(path, write)
        elif path.suffix.lower() == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise ConfigError("Parquet export needs pyarrow (pip install pyarrow); "
                                  "CSV works without it") from None
            table = pa.table(typed_columns(records, columns))
            write_atomically(path, lambda partial: pq.write_table(table, partial))
        return path


def _write_csv(stream: Any, records: list[dict[str, Any]], columns: list[str]) -> None:
    writer = csv.DictWriter(stream, fieldnames=columns)
    writer.writeheader()
    writer.writerows(records)
