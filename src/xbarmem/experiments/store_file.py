"""What a results-store file is, read before it is touched: the SQLite schema, the check that
an existing file is an xbarmem store of this schema (:func:`check_file`: read without changing
the file or creating files next to it; anything else is refused untouched), creating the
schema in a file found to be ours or new (:func:`create_schema`), read-only opening and
retries while SQLite reports the database locked.

Versions: a store records its schema version in ``meta`` and one of another version is refused.
The tables added to schema 1 since (``sweep_trials``: which sweeps hold a trial;
``claim_threads``: the torch thread count of each runner holding claims) keep the version:
they are created when xbarmem opens the store to write (``CREATE TABLE IF NOT EXISTS``),
readers take a store without ``sweep_trials`` as one whose rows belong to the sweep that
computed them (every store written before it), and older xbarmem versions ignore them (they
check the tables they know)."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xbarmem.errors import FileFormatError
from xbarmem.files import as_path, what_is
from xbarmem.version import format_advice, format_number

SCHEMA_VERSION = 1
#: what a refusal of a damaged store (a file cut short, a page overwritten) says to do: the
#: file is never repaired or replaced by xbarmem
DAMAGED = ("; it is left as it is: use a copy made before it was damaged (with its -wal file), "
           "or another store")
#: the columns of table ``trials`` a row holds besides its ``config`` and ``result`` JSON
COLUMNS = ("key", "sweep", "trial", "version", "seconds", "finished", "host", "pid")
#: those of :data:`COLUMNS` that hold text (the schema's ``TEXT``): a ``--where`` value for
#: them is read as written, never as a number
TEXT_COLUMNS = ("key", "sweep", "trial", "version", "finished", "host")
#: the fields a row read back holds besides its ``config`` and ``result``: the columns, then
#: ``sweeps`` (every sweep that holds the row; ``sweep`` is the one that computed it)
FIELDS = (*COLUMNS, "sweeps")
#: the table of the sweeps that hold a trial (``sweep``, ``key``): every sweep that planned it,
#: the one that computed it or one that found it stored (a row's own ``sweep`` is the first)
MEMBERS = "sweep_trials"
SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    sweep TEXT NOT NULL,
    trial TEXT NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    version TEXT NOT NULL,
    seconds REAL,
    finished TEXT NOT NULL,
    host TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS trials_sweep ON trials (sweep);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_trials (
    sweep TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sweep_trials_key ON sweep_trials (key);
CREATE TABLE IF NOT EXISTS claim_threads (
    owner TEXT PRIMARY KEY,
    threads INTEGER NOT NULL
) WITHOUT ROWID;
"""


def _uri(path: Path, **flags: str) -> str:
    """A SQLite URI of ``path`` with query ``flags`` (``mode=ro``, ``immutable=1``); the
    path's bytes as the file system has them (a name that is not UTF-8 too)."""
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    return f"file:{urllib.parse.quote(os.fsencode(path.resolve()))}?{query}"


def _table_columns(db: sqlite3.Connection, names: set[str]) -> dict[str, list[str]]:
    """The column names of each table of ``names`` (in order)."""
    return {name: [r[1] for r in db.execute(f"PRAGMA table_info({name})")]
            for name in sorted(names)}


@functools.cache
def _schema_columns() -> dict[str, list[str]]:
    """The columns of the tables a store of this schema holds (from :data:`SCHEMA`)."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        return _table_columns(db, {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")})
    finally:
        db.close()


def store_tables(db: sqlite3.Connection) -> dict[str, Any]:
    """Table names of a connection's database, the columns of those a store holds, and the
    schema version if it has ``meta``."""
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite_%'")}
    columns = _table_columns(db, names & set(_schema_columns()))
    schema = None
    if "meta" in names:
        try:
            found = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        except sqlite3.DatabaseError:
            found = None
        schema = found and found[0]
    return {"tables": names, "schema": schema, "columns": columns}


def when_unlocked(step: Callable[[], Any], timeout: float) -> Any:
    """``step()``, tried again while SQLite reports the database locked, for up to
    ``timeout`` seconds. Needed where SQLite answers "locked" at once instead of waiting for
    its busy timeout: switching the journal mode while another process opens the same new
    file is one such place."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


def _journals(path: Path) -> bool:
    """Whether a ``-wal`` or ``-journal`` file lies next to ``path``: a writer has it open (or
    died with it open). Only then may a read-only connection create the ``-shm`` / ``-wal``
    files that SQLite's ``mode=ro`` makes next to a WAL database, and leaves behind."""
    return any(path.with_name(path.name + end).exists() for end in ("-wal", "-journal"))


def peek(path: Path, settle: float = 5.0) -> dict[str, Any]:
    """The tables of a SQLite file, read without changing it or creating files next to it
    (``immutable``; ``mode=ro`` when that read fails while another process writes). A file
    that changes (or gains a journal) while it is read is being written, e.g. created by
    another process: it is read again, for up to ``settle`` seconds, before it is refused."""
    deadline = time.monotonic() + settle
    while True:
        before = _state(path)
        try:
            return _read_tables(path)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # (a name not UTF-8)
            last = exc
        time.sleep(0.05)
        if (_state(path) == before and not _journals(path)) or time.monotonic() >= deadline:
            raise FileFormatError(f"store {path}: not a readable SQLite database ({last})"
                                  f"{DAMAGED}")


def _state(path: Path) -> tuple[int, int]:
    """Size and modification time (ns) of ``path`` (``(-1, -1)`` once it is gone)."""
    try:
        info = path.stat()
    except OSError:
        return -1, -1
    return info.st_size, info.st_mtime_ns


def _read_tables(path: Path) -> dict[str, Any]:
    """:func:`store_tables` of ``path`` read ``immutable``, then ``mode=ro`` if that fails while a
    writer's journal lies beside it (the error of the last read is raised)."""
    try:
        return _tables_read(path, immutable="1")
    except sqlite3.DatabaseError:
        if not _journals(path):
            raise
    return _tables_read(path)


def _tables_read(path: Path, **flags: str) -> dict[str, Any]:
    db = sqlite3.connect(_uri(path, mode="ro", **flags), uri=True, timeout=5.0)
    try:
        return store_tables(db)
    finally:
        db.close()


def has_members(db: sqlite3.Connection) -> bool:
    """Whether the store of ``db`` has the table :data:`MEMBERS` (stores written before it
    do not; a read-only connection never adds it)."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (MEMBERS,)).fetchone() is not None


def file_verdict(path: Path, found: dict[str, Any]) -> str:
    """``"new"`` (no tables), ``"store"`` (ours, this schema), else :class:`FileFormatError`."""
    tables = found["tables"]
    if not tables:
        return "new"
    if not {"trials", "meta"} <= tables or found["schema"] is None:
        raise FileFormatError(f"store {path}: a SQLite database but not an xbarmem results "
                              f"store (tables: {', '.join(sorted(tables))}); refusing to "
                              f"modify it")
    if str(found["schema"]) != str(SCHEMA_VERSION):
        number = format_number(f"schema/{found['schema']}", "schema")
        if number is None:
            raise FileFormatError(f"store {path}: schema version {found['schema']} is not "
                                  f"{SCHEMA_VERSION}")
        raise FileFormatError(f"store {path}: schema version {number} ("
                              f"{format_advice(number, SCHEMA_VERSION)}, or use another "
                              "store); refusing to touch it")
    for table, columns in found.get("columns", {}).items():
        if columns != _schema_columns()[table]:
            raise FileFormatError(
                f"store {path}: table {table} has columns {', '.join(columns)}; a store of "
                f"schema {SCHEMA_VERSION} has {', '.join(_schema_columns()[table])}; "
                f"refusing to modify it")
    return "store"


def _unreadable(exc: Exception) -> bool:
    """Whether ``exc`` says the file is damaged (a malformed page, text that is not UTF-8),
    not that the database is busy, locked or asked something it has not."""
    return not isinstance(exc, sqlite3.OperationalError) or str(exc).startswith(
        "Could not decode")


class _ReadCursor(sqlite3.Cursor):
    """A cursor of :func:`open_readonly`: a damaged page met while rows are read (SQLite reads
    pages as they are needed, so a file that opened may fail at any row) raises
    :class:`FileFormatError` naming the store, as a file that cannot be opened does."""

    def _read(self, step: Callable[..., Any], *args: Any) -> Any:
        try:
            return step(*args)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if not _unreadable(exc):
                raise
            path = getattr(self.connection, "store_path", "")
            raise FileFormatError(f"store {path}: damaged, its rows cannot be read ({exc})"
                                  f"{DAMAGED}") from None

    def execute(self, *args: Any) -> _ReadCursor:
        return self._read(super().execute, *args)

    def fetchone(self) -> Any:
        return self._read(super().fetchone)

    def fetchmany(self, *args: Any) -> list[Any]:
        return self._read(super().fetchmany, *args)

    def fetchall(self) -> list[Any]:
        return self._read(super().fetchall)

    def __next__(self) -> Any:
        return self._read(super().__next__)


class _ReadConnection(sqlite3.Connection):
    """The connection of :func:`open_readonly`: every ``execute`` on a :class:`_ReadCursor`."""

    store_path: Path

    def execute(self, *args: Any) -> _ReadCursor:
        return self.cursor(_ReadCursor).execute(*args)


def open_empty(path: Path) -> sqlite3.Connection:
    """A read-only connection to an empty store standing for the file at ``path`` that holds
    none yet (0 bytes, or a database without tables: what a sweep takes as a new store): an
    in-memory database with the schema and no row, queried as a store of no rows is; the
    file is not opened."""
    db = sqlite3.connect(":memory:", isolation_level=None, factory=_ReadConnection)
    db.store_path = path
    for statement in filter(str.strip, SCHEMA.split(";")):
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    db.execute("PRAGMA query_only = 1")
    return db


def open_readonly(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A read-only connection: ``mode=ro`` (which shares a writer's WAL) while a writer has the
    store open, else ``immutable``: a store that no writer has open (no ``-wal`` file) is read
    without creating journal files next to it (``mode=ro`` would leave ``-shm`` and ``-wal``
    behind)."""
    tries = [{"mode": "ro"}] if _journals(path) else []
    last: Exception | None = None
    for flags in (*tries, {"mode": "ro", "immutable": "1"}):
        try:
            db = sqlite3.connect(_uri(path, **flags), uri=True, timeout=busy_timeout,
                                 isolation_level=None, factory=_ReadConnection)
            db.store_path = path
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            last = exc
    raise FileFormatError(f"store {path}: cannot be read ({last})")


def check_file(path: str | Path) -> str:
    """``"new"`` (missing, empty file or a database without tables) or ``"store"`` (an
    xbarmem store of this schema); raises :class:`FileFormatError` for anything else --
    reading only, never changing the file."""
    path = as_path(path)
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return "new"
    if not path.is_file():
        raise FileFormatError(f"store {path} is not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)  # (what_is: a model's header size, then its JSON)
    except OSError as exc:
        raise FileFormatError(f"store {path}: cannot read it ({exc.strerror})") from None
    if not head.startswith(b"SQLite format 3\x00"):
        kind = what_is(head)
        raise FileFormatError(f"store {path}: not a SQLite file" + (
            "" if kind is None else f" but {kind}") + "; refusing to touch it")
    return file_verdict(path, peek(path))


def holds_no_store(path: Path, busy_timeout: float) -> bool:
    """Whether the file at ``path`` is no store yet (:func:`check_file`'s ``"new"``) as every
    reader sees it: a store another process has just created holds its tables in its ``-wal``
    file until a checkpoint, which :func:`check_file`'s read of the file alone does not see,
    so a read that shares that WAL (:func:`open_readonly`) is asked too. Raises
    :class:`FileFormatError` as they do."""
    if check_file(path) != "new":
        return False
    if not path.exists() or not _journals(path):
        return True
    db = open_readonly(path, busy_timeout)
    try:
        return file_verdict(path, store_tables(db)) == "new"
    finally:
        db.close()


def create_schema(db: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
    """WAL mode, the schema and its version, once the file is known to be ours or new;
    checked again inside the write transaction (another process may be creating it)."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    mode = when_unlocked(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone()[0],
                         busy_timeout)
    if str(mode).lower() != "wal":
        raise FileFormatError(f"store {path}: cannot use WAL journal mode "
                              f"(got {mode}); is it on a network file system?")
    db.execute("PRAGMA synchronous = FULL")
    with write_transaction(db):
        file_verdict(path, store_tables(db))
        for statement in filter(str.strip, SCHEMA.split(";")):
            db.execute(statement)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


#: SQLite's result codes of a write the disk could not take, as the OS errors they are; the
#: shared-memory file (``-shm``, made when a store is created or opened) that cannot grow is
#: a full disk: SQLite calls it a disk I/O error, which named no lack of room
_DISK_ERRORS = {sqlite3.SQLITE_FULL: errno.ENOSPC, sqlite3.SQLITE_IOERR: errno.EIO,
                sqlite3.SQLITE_IOERR_SHMSIZE: errno.ENOSPC}


def disk_error(exc: BaseException, db: sqlite3.Connection) -> OSError | None:
    """``exc`` as the :class:`OSError` it is (``ENOSPC`` / ``EIO``, naming ``db``'s file) when
    it is SQLite's report of a write the disk could not take, else ``None``."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(
        exc, sqlite3.OperationalError) else None
    if code is None:
        return None
    error = _DISK_ERRORS.get(code, _DISK_ERRORS.get(code & 0xFF))
    return None if error is None else OSError(error, os.strerror(error), _file_of(db))


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction of ``db``, rolled back on any
    exception (:func:`rollback`). SQLite's "database or disk is full" and disk I/O errors are
    raised as :class:`OSError` (``ENOSPC`` / ``EIO``) naming the store's file, as every other
    write the disk could not take (the command line says so in one line)."""
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            rollback(db)
        failed = disk_error(exc, db)
        if failed is None:
            raise
        raise failed from None


def _file_of(db: sqlite3.Connection) -> str | None:
    """The file of ``db``'s main database (None when it cannot be read)."""
    try:
        return db.execute("PRAGMA database_list").fetchone()[2] or None
    except sqlite3.Error:
        return None


def rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction of ``db``, if any: an interrupted statement (Ctrl-C) may
    already have ended it."""
    if db.in_transaction:
        db.execute("ROLLBACK")
