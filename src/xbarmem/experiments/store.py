"""Results store: one SQLite file (Python's stdlib ``sqlite3``), one row per finished trial.

Crash safety and concurrency:

* WAL journal mode with ``synchronous = FULL``: a transaction is durable once committed; a
  process killed at any moment (kill -9) leaves the file at its last commit, never half a row.
* A row is keyed by the trial's configuration hash (``PRIMARY KEY``); inserts are ``INSERT OR
  IGNORE`` inside one short ``BEGIN IMMEDIATE`` transaction per batch of results, so re-running
  or resuming a sweep never duplicates a trial, and a batch is stored entirely or not at all.
* Several processes may write one store: writers take turns under SQLite's lock and wait up to
  ``busy_timeout`` seconds (default 60) for it.

Schema (table ``trials``): ``key`` (SHA-256 of the resolved configuration), ``sweep``,
``trial`` (evaluate / capacity), ``config`` and ``result`` (JSON text), ``version`` (xbarmem),
``seconds`` (compute time of the trial), ``finished`` (UTC ISO time), ``host``, ``pid``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from xbarmem.errors import ConfigError, FileFormatError

SCHEMA_VERSION = 1
_SCHEMA = """
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
"""
COLUMNS = ("key", "sweep", "trial", "version", "seconds", "finished", "host", "pid")
_OPS = ("!=", ">=", "<=", "=", ">", "<", "~")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class ResultStore:
    """A results store at ``path`` (created on first use).

    >>> store = ResultStore("results.sqlite")                     # doctest: +SKIP
    >>> store.add([(key, "sweep-name", config, result, meta)])    # doctest: +SKIP
    >>> rows = store.rows(where=["rule=adaptive", "result.cosine>0.9"])  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 60.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise FileFormatError(f"store {self.path} is a directory, not a SQLite file")
        if self.path.parent and not self.path.parent.exists():
            raise FileFormatError(f"store folder {self.path.parent} does not exist")
        self.busy_timeout = float(busy_timeout)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                       isolation_level=None)  # explicit transactions only
            self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise FileFormatError(f"store {self.path}: cannot use WAL journal mode "
                                      f"(got {mode}); is it on a network file system?")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self._db.execute(statement)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                                 (str(SCHEMA_VERSION),))
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(f"store {self.path}: not a usable SQLite results store "
                                  f"({exc})") from None
        schema = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if schema is None or int(schema[0]) != SCHEMA_VERSION:
            raise FileFormatError(f"store {self.path}: schema version {schema and schema[0]} is "
                                  f"not {SCHEMA_VERSION}")

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
        values = [(key, sweep, config.get("trial", ""),
                   json.dumps(config, sort_keys=True, allow_nan=False),
                   json.dumps(result, sort_keys=True, allow_nan=False),
                   str(config.get("version", "")), meta.get("seconds"), now,
                   meta.get("host"), meta.get("pid"))
                  for key, sweep, config, result, meta in rows]
        if not values:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                                 values)
            inserted = self._db.total_changes - before
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return inserted

    # ------------------------------------------------------------------ reading
    def finished(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already stored."""
        done: set[str] = set()
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            done.update(r[0] for r in self._db.execute(
                f"SELECT key FROM trials WHERE key IN ({marks})", chunk))
        return done

    def by_keys(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Stored rows (as :meth:`rows`) of the given trial keys; unknown keys are skipped."""
        out: list[dict[str, Any]] = []
        keys = list(keys)
        cols = ", ".join(COLUMNS)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for rec in self._db.execute(f"SELECT {cols}, config, result FROM trials WHERE key "
                                        f"IN ({marks}) ORDER BY rowid", chunk):
                out.append(_row(rec))
        return out

    def count(self, where: Sequence[str] = (), sweep: str | None = None) -> int:
        sql, args = _where(where, sweep)
        return int(self._db.execute(f"SELECT COUNT(*) FROM trials{sql}", args).fetchone()[0])

    def sweeps(self) -> dict[str, int]:
        """Sweep names and their row counts."""
        return dict(self._db.execute(
            "SELECT sweep, COUNT(*) FROM trials GROUP BY sweep ORDER BY sweep"))

    def rows(self, where: Sequence[str] = (), sweep: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        """Stored rows as dicts ``{key, sweep, trial, version, seconds, finished, host, pid,
        config: {...}, result: {...}}``, filtered by ``where`` (see :func:`parse_condition`)
        and ``sweep``, oldest first."""
        return list(self.iter_rows(where, sweep, limit))

    def iter_rows(self, where: Sequence[str] = (), sweep: str | None = None,
                  limit: int | None = None) -> Iterator[dict[str, Any]]:
        sql, args = _where(where, sweep)
        sql += " ORDER BY rowid" + ("" if limit is None else f" LIMIT {int(limit)}")
        cols = ", ".join(COLUMNS)
        for rec in self._db.execute(f"SELECT {cols}, config, result FROM trials{sql}", args):
            yield _row(rec)

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ export
    def export(self, path: str | Path, where: Sequence[str] = (),
               sweep: str | None = None) -> Path:
        """Write the (filtered) rows to ``.csv`` or ``.parquet`` (needs pyarrow), one column
        per flattened config/result field (``config.rule``, ``result.cosine``, ...; lists as
        JSON text). Returns the path."""
        path = Path(path)
        records = [flatten(r) for r in self.iter_rows(where, sweep)]
        columns = _columns(records)
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
            table = pa.table({c: [r.get(c) for r in records] for c in columns})
            pq.write_table(table, path)
        else:
            raise ConfigError(f"export file must end in .csv or .parquet, got {path.name}")
        return path


def _row(rec: tuple) -> dict[str, Any]:
    row = dict(zip(COLUMNS, rec[: len(COLUMNS)], strict=True))
    row["config"] = json.loads(rec[-2])
    row["result"] = json.loads(rec[-1])
    return row


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as one flat dict: columns, then ``config.*`` and ``result.*`` scalars
    (nested dicts dotted, lists as JSON text)."""
    out = {c: row.get(c) for c in COLUMNS}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list):
            out[prefix] = json.dumps(value)
        else:
            out[prefix] = value

    walk("config", row["config"])
    walk("result", row["result"])
    return out


def _columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(k, None)
    head = [c for c in COLUMNS if c in seen]
    return head + sorted(k for k in seen if k not in COLUMNS)


def parse_condition(text: str) -> tuple[str, str, Any]:
    """``"rule=adaptive"`` -> ``("$.rule", "=", "adaptive")``. A field is a config key (dotted
    for nested: ``chip_spec.device.write_noise``), ``result.KEY`` for a result value, or one of
    the columns ``sweep``, ``trial``, ``version``, ``key``. Operators: = != < <= > >= and ~
    (SQL LIKE). Values are read as JSON when they parse (numbers, true/false), else as text."""
    for op in _OPS:
        head, sep, value = text.partition(op)
        if sep and head.strip():
            break
    else:
        raise ConfigError(f"--where {text!r}: expected FIELD=VALUE (operators: "
                          f"{' '.join(_OPS)})")
    field = head.strip()
    if not _PATH.match(field):
        raise ConfigError(f"--where {text!r}: bad field name {field!r}")
    try:
        parsed: Any = json.loads(value.strip())
    except json.JSONDecodeError:
        parsed = value.strip()
    if isinstance(parsed, bool):
        parsed = int(parsed)  # SQLite's json_extract gives 1/0 for true/false
    return field, op, parsed


def _where(conditions: Sequence[str], sweep: str | None) -> tuple[str, list[Any]]:
    parts, args = [], []
    if sweep is not None:
        parts.append("sweep = ?")
        args.append(sweep)
    for text in conditions:
        field, op, value = parse_condition(text)
        if field in COLUMNS:
            lhs = field
        elif field.startswith("result."):
            lhs = "json_extract(result, ?)"
            args.append("$." + field[len("result."):])
        else:
            lhs = "json_extract(config, ?)"
            args.append("$." + (field[len("config."):] if field.startswith("config.")
                                else field))
        if isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"))
        parts.append(f"{lhs} {'LIKE' if op == '~' else op} ?")
        args.append(value)
    return ("" if not parts else " WHERE " + " AND ".join(parts)), args
