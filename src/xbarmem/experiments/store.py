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

The schema and the checks of an existing file live in
:mod:`~xbarmem.experiments.store_file`, row fields and ``--where`` conditions in
:mod:`~xbarmem.experiments.fields`, the checks of a row to add and the reading of a stored row
in :mod:`~xbarmem.experiments.store_rows`, who claims trials and whether a claim is still held
in :mod:`~xbarmem.experiments.claims`.

Schema (table ``trials``): ``key`` (SHA-256 of the resolved configuration), ``sweep``,
``trial`` (evaluate / capacity), ``config`` and ``result`` (JSON text), ``version`` (xbarmem),
``seconds`` (compute time of the trial), ``finished`` (UTC ISO time), ``host``, ``pid``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import json
import numbers
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from xbarmem.checks import (
    check_callback,
    check_count,
    check_flag,
    check_texts,
    check_type,
    is_bool,
    shown,
)
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.experiments.claims import Claimant, check_claim, claim_live
from xbarmem.experiments.fields import (
    export_columns,
    flatten,
    json_paths,
    parse_condition,
    typed_columns,
)
from xbarmem.experiments.store_file import (
    COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    file_verdict,
    open_readonly,
    peek,
    store_tables,
    when_unlocked,
)
from xbarmem.experiments.store_rows import ROW_FIELDS, row_error, row_values, stored_row
from xbarmem.files import as_path, missing, output_file

#: the longest a store waits for another writer's lock (s): a day
MAX_BUSY_TIMEOUT = 86400.0


class ResultStore:
    """A results store at ``path`` (created on first use unless ``readonly``).

    Before anything is written, an existing file is checked to be an xbarmem store (a
    ``meta`` table with the schema version and a ``trials`` table) or an empty database; any
    other file is refused untouched (:meth:`check`). ``readonly=True`` opens the file
    read-only (SQLite ``mode=ro``; ``immutable`` when even the shared-memory file cannot be
    created, e.g. a read-only folder), so reading commands work on stores they cannot write.

    >>> store = ResultStore("results.sqlite")                     # doctest: +SKIP
    >>> store.add([(key, "sweep-name", config, result, meta)])    # doctest: +SKIP
    >>> rows = store.rows(where=["rule=adaptive", "result.cosine>0.9"])  # doctest: +SKIP
    """

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
                raise FileFormatError(f"store {self.path}: empty, no trials stored yet")
            return
        self.check(self.path)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                       isolation_level=None)  # explicit transactions only
            self._create()
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(f"store {self.path}: not a usable SQLite results store "
                                  f"({exc})") from None

    @staticmethod
    def check(path: str | Path) -> str:
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
                head = fh.read(16)
        except OSError as exc:
            raise FileFormatError(f"store {path}: cannot read it ({exc.strerror})") from None
        if head != b"SQLite format 3\x00":
            raise FileFormatError(f"store {path}: not a SQLite file; refusing to touch it")
        return file_verdict(path, peek(path))

    def _create(self) -> None:
        """WAL mode, the schema and its version, once the file is known to be ours or new;
        checked again inside the write transaction (another process may be creating it)."""
        self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        mode = when_unlocked(
            lambda: self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0],
            self.busy_timeout)
        if str(mode).lower() != "wal":
            raise FileFormatError(f"store {self.path}: cannot use WAL journal mode "
                                  f"(got {mode}); is it on a network file system?")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            file_verdict(self.path, store_tables(self._db))
            for statement in filter(str.strip, SCHEMA.split(";")):
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                             (str(SCHEMA_VERSION),))
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # an interrupted statement (Ctrl-C) may already have ended the transaction
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def add(self, rows: Iterable[tuple[str, str, dict[str, Any], dict[str, Any],
                                       dict[str, Any]]]) -> int:
        """Insert finished trials ``(key, sweep, config, result, meta)`` in one transaction;
        keys already stored are left as they are. ``meta`` may hold ``seconds``, ``host``,
        ``pid``. Returns the number of rows actually inserted."""
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        if isinstance(rows, str | bytes | dict) or not isinstance(rows, Iterable):
            raise ArgumentError(f"rows must be a list of {ROW_FIELDS} tuples, got {shown(rows)}")
        values = [row_values(row, f"rows[{i}]", now) for i, row in enumerate(rows)]
        if not values:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                                 values)
            inserted = self._db.total_changes - before
            self._db.executemany("DELETE FROM claims WHERE key = ?", [(v[0],) for v in values])
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
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

    # ------------------------------------------------------------------ claims
    def claim(self, keys: Sequence[str], owner: Claimant, lease: float) -> str:
        """Claim the unstored ``keys`` (one group of trials) for ``owner`` in one transaction,
        so that concurrent runners do not compute them twice. Returns ``"done"`` (all stored),
        ``"busy"`` (one of them is claimed by another live runner: nothing claimed) or
        ``"claimed"``. A claim is live while its owner's process runs (same host) or until it
        expires (``lease`` seconds after its last :meth:`renew`; other hosts)."""
        keys = list(dict.fromkeys(check_texts(keys, "keys", "a list of trial keys")))
        check_claim(owner, lease)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            done = self.finished(keys)
            todo = [k for k in keys if k not in done]
            if not todo:
                state = "done"
            elif any(row[0] != owner.token and claim_live(row[1:], owner)
                     for row in self._select_claims(todo)):
                state = "busy"
            else:
                expires = time.time() + lease
                self._db.executemany("INSERT OR REPLACE INTO claims VALUES (?,?,?,?,?)",
                                     [(k, owner.token, owner.host, owner.pid, expires)
                                      for k in todo])
                state = "claimed"
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return state

    def _select_claims(self, keys: list[str]) -> list[tuple]:
        out: list[tuple] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            out += self._db.execute(f"SELECT owner, host, pid, expires FROM claims WHERE key "
                                    f"IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        return out

    def renew(self, owner: Claimant, lease: float) -> None:
        """Extend every claim of ``owner`` to ``lease`` seconds from now."""
        check_claim(owner, lease)
        self._db.execute("UPDATE claims SET expires = ? WHERE owner = ?",
                         (time.time() + lease, owner.token))

    def release(self, owner: Claimant, keys: Sequence[str] | None = None) -> None:
        """Drop the claims of ``owner`` (all, or those on ``keys``)."""
        check_claim(owner, 0.0)
        if keys is None:
            self._db.execute("DELETE FROM claims WHERE owner = ?", (owner.token,))
            return
        self._db.executemany("DELETE FROM claims WHERE owner = ? AND key = ?",
                             [(owner.token, k) for k in check_texts(keys, "keys",
                                                                    "a list of trial keys")])

    # ------------------------------------------------------------------ reading
    def finished(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already stored."""
        done: set[str] = set()
        keys = check_texts(keys, "keys", "a list of trial keys")
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            done.update(r[0] for r in self._db.execute(
                f"SELECT key FROM trials WHERE key IN ({marks})", chunk))
        return done

    def by_keys(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Stored rows (as :meth:`rows`) of the given trial keys; unknown keys are skipped."""
        out: list[dict[str, Any]] = []
        keys = check_texts(keys, "keys", "a list of trial keys")
        cols = ", ".join(COLUMNS)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for rec in self._db.execute(f"SELECT {cols}, config, result FROM trials WHERE key "
                                        f"IN ({marks}) ORDER BY rowid", chunk):
                out.append(stored_row(rec, self.path))
        return out

    def count(self, where: Sequence[str] = (), sweep: str | None = None) -> int:
        sql, args = self._where(where, sweep)
        return int(self._db.execute(f"SELECT COUNT(*) FROM trials{sql}", args).fetchone()[0])

    def check_json(self, where: Sequence[str] = (), sweep: str | None = None) -> None:
        """Refuse, as :meth:`iter_rows` does (:class:`FileFormatError` naming the store and
        the row), the first row matching ``where`` and ``sweep`` whose stored ``config`` or
        ``result`` is not JSON SQLite can read: a view that reads only some rows in full
        (``results`` shows ``--limit`` of them) checks the others this way, in SQLite,
        without decoding them."""
        sql, args = self._where(where, sweep)
        bad = "(NOT json_valid(config) OR NOT json_valid(result))"
        sql = f"{sql} AND {bad}" if sql else f" WHERE {bad}"
        rec = self._db.execute(f"SELECT {', '.join(COLUMNS)}, config, result FROM trials{sql} "
                               "ORDER BY rowid LIMIT 1", args).fetchone()
        if rec is not None:
            stored_row(rec, self.path)  # refuses it, naming the field

    def sweeps(self) -> dict[str, int]:
        """Sweep names and their row counts."""
        return dict(self._db.execute(
            "SELECT sweep, COUNT(*) FROM trials GROUP BY sweep ORDER BY sweep"))

    def rows(self, where: Sequence[str] = (), sweep: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        """Stored rows as dicts ``{key, sweep, trial, version, seconds, finished, host, pid,
        config: {...}, result: {...}}``, filtered by ``where`` (see :func:`parse_condition`)
        and ``sweep``, oldest first. A field no row has, or a sweep the store does not hold,
        raises :class:`ConfigError`."""
        return list(self.iter_rows(where, sweep, limit))

    def iter_rows(self, where: Sequence[str] = (), sweep: str | None = None,
                  limit: int | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`rows` one at a time. A row whose stored JSON is malformed, or holds a value
        of the wrong type where tables and figures read one (:func:`~xbarmem.experiments.
        fields.read_payloads`), raises :class:`FileFormatError` naming the store, the row and
        the field."""
        sql, args = self._where(where, sweep)
        if limit is not None:
            limit = check_count(limit, "limit", minimum=0)
        sql += " ORDER BY rowid" + ("" if limit is None else f" LIMIT {limit}")
        cols = ", ".join(COLUMNS)
        for rec in self._db.execute(f"SELECT {cols}, config, result FROM trials{sql}", args):
            yield stored_row(rec, self.path)

    def check_fields(self, names: Sequence[str], what: str, prefix: str = "") -> None:
        """Refuse (:class:`ConfigError` naming ``what`` and the name) a field that no stored
        row has: a store column, a config key or ``result.KEY`` (see :func:`parse_condition`);
        ``prefix`` is put before every name (``"result."`` for metric names). A store without
        rows has every field."""
        names = check_texts(names, "names", "a list of field names")
        check_type(what, str, "what", "a text")
        check_type(prefix, str, "prefix", "a text")
        for name in names:
            self._field_sql(prefix + name, f"{what} {name}", shown=name)

    def _field_sql(self, field: str, what: str, shown: str | None = None) -> tuple[str, list]:
        """The SQL expression (and its arguments) of ``field``, a store column or the first
        JSON path of the field (keys may hold dots: ``result.capacity.0.99``) that some row
        has; :class:`ConfigError` when no row has it."""
        if field in COLUMNS:
            return field, []
        column, path = (("result", field[len("result."):]) if field.startswith("result.")
                        else ("config", field.removeprefix("config.")))
        expr = f"json_extract(CASE WHEN json_valid({column}) THEN {column} END, ?)"
        found = f"SELECT 1 FROM trials WHERE json_type(CASE WHEN json_valid({column}) THEN " \
                f"{column} END, ?) IS NOT NULL LIMIT 1"
        candidates = json_paths(path.split("."))
        for candidate in candidates:
            if self._db.execute(found, (candidate,)).fetchone():
                return expr, [candidate]
        if self._db.execute("SELECT 1 FROM trials LIMIT 1").fetchone() is None:
            return expr, [candidates[0]]
        prefix = field[: len(field) - len(shown)] if shown is not None else ""
        known = sorted(k.removeprefix(prefix) for k in self._fields() if k.startswith(prefix))
        close = difflib.get_close_matches(shown or field, known, n=1)
        hint = f"did you mean {close[0]}?" if close else (
            "fields: a config key (rule, fault_rate, ...), result.KEY, " + ", ".join(COLUMNS))
        raise ConfigError(f"{what}: no row of {self.path} has this field ({hint})")

    def _fields(self) -> set[str]:
        """Field names of the first row of every sweep and trial kind: columns, config keys
        (with and without ``config.``) and ``result.KEY``, nested keys dotted."""
        names = set(COLUMNS)
        for row in self.by_keys([r[0] for r in self._db.execute(
                "SELECT key FROM trials WHERE rowid IN (SELECT MIN(rowid) FROM trials "
                "GROUP BY sweep, trial)")]):
            flat = flatten(row, lists=False)
            names.update(flat)
            names.update(k.removeprefix("config.") for k in flat if k.startswith("config."))
        return names

    def _where(self, conditions: Sequence[str], sweep: str | None) -> tuple[str, list[Any]]:
        """``WHERE`` clause and arguments of ``sweep`` and the ``--where`` conditions; an
        unknown sweep or a field no row has is a :class:`ConfigError`; a row the conditions
        cannot read (:meth:`_check_readable`) a :class:`FileFormatError`."""
        parts, args, plain, plain_args, read = [], [], [], [], set()
        conditions = check_texts(conditions, "where", "a list of conditions (FIELD=VALUE, ...)")
        if sweep is not None:
            check_type(sweep, str, "sweep", "a sweep name (a text) or None")
            names = self.sweeps()
            if names and sweep not in names:
                raise ConfigError(f"--sweep {sweep}: no such sweep in {self.path} (its sweeps: "
                                  f"{', '.join(names)})")
            parts.append("sweep = ?")
            args.append(sweep)
            plain, plain_args = ["sweep = ?"], [sweep]
        for text in conditions:
            field, op, value = parse_condition(text)
            lhs, lhs_args = self._field_sql(field, f"--where {text!r}")
            if isinstance(value, (list, dict)):
                value = json.dumps(value, separators=(",", ":"))
            part = f"{lhs} {'LIKE' if op == '~' else op} ?"
            if lhs in COLUMNS:
                plain.append(part)
                plain_args.append(value)
            else:
                read.add("result" if field.startswith("result.") else "config")
            parts.append(part)
            args += [*lhs_args, value]
        self._check_readable(read, plain, plain_args)
        return ("" if not parts else " WHERE " + " AND ".join(parts)), args

    def _check_readable(self, columns: set[str], parts: list[str], args: list[Any]) -> None:
        """Refuse, as a plain read does (:func:`~xbarmem.experiments.store_rows._row`:
        :class:`FileFormatError` naming the store and the row), the first row whose ``columns``
        JSON SQLite cannot read among the rows the ``WHERE`` ``parts`` (sweep and column
        conditions) leave: ``json_extract`` reads malformed JSON as NULL, so a ``--where`` on it
        would leave the row out silently."""
        if not columns:
            return
        bad = " OR ".join(f"NOT json_valid({c})" for c in sorted(columns))
        rec = self._db.execute(
            f"SELECT {', '.join(COLUMNS)}, config, result FROM trials WHERE "
            f"{' AND '.join([*parts, f'({bad})'])} ORDER BY rowid LIMIT 1", args).fetchone()
        if rec is not None:
            stored_row(rec, self.path)  # refuses it, naming the field
            raise row_error(dict(zip(COLUMNS, rec, strict=False)), self.path,
                             f"{' or '.join(sorted(columns))} is not JSON SQLite can read")

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ export
    def export(self, path: str | Path, where: Sequence[str] = (),
               sweep: str | None = None) -> Path:
        """Write the (filtered) rows to ``.csv`` or ``.parquet`` (needs pyarrow), one column
        per flattened config/result field (``config.rule``, ``result.cosine``, ...; lists as
        JSON text). Returns the path; the path, filters and sweep are checked before anything
        is written."""
        path = output_file(path, "export")
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise ConfigError(f"export file must end in .csv or .parquet, got {path.name}")
        self._where(where, sweep)
        records = [flatten(r) for r in self.iter_rows(where, sweep)]
        columns = export_columns(records)
        if path.suffix.lower() == ".csv":
            with path.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows(records)
        elif path.suffix.lower() == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise ConfigError("Parquet export needs pyarrow (pip install pyarrow); "
                                  "CSV works without it") from None
            table = pa.table(typed_columns(records, columns))
            pq.write_table(table, path)
        return path
