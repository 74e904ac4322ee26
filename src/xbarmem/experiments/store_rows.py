"""A results store's rows: the checks of a row before it is added, and stored rows read back.

:func:`row_values` checks and converts a ``(key, sweep, config, result, meta)`` row for
:meth:`~xbarmem.experiments.store.ResultStore.add`; :func:`stored_row` reads a stored row (its
config and result by :func:`~xbarmem.experiments.fields.read_payloads`, with the sweeps that
hold it: :func:`selected`), and :func:`row_error` is the error naming the store and the row
that cannot be read; :func:`finished_keys` and :func:`rows_of_keys` look rows up by their keys.
"""

from __future__ import annotations

import json
import numbers
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xbarmem.checks import check_texts, check_type, is_bool, shown
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.experiments.fields import read_payloads
from xbarmem.experiments.store_file import COLUMNS, MEMBERS, has_members
from xbarmem.spec import Number

ROW_FIELDS = "(key, sweep, config, result, meta)"
#: the longest key, sweep name, trial kind, version or host a stored row may have (characters)
MAX_ROW_TEXT = 1000


def row_values(row: Any, where: str, now: str) -> tuple:
    """The values :meth:`~xbarmem.experiments.store.ResultStore.add` inserts for ``row``,
    every one checked first: ``(key, sweep, config, result, meta)`` with ``key`` and ``sweep``
    non-empty texts, ``config``, ``result`` and ``meta`` dicts of JSON values (finite numbers),
    ``meta``'s ``seconds`` a finite number, ``host`` a text and ``pid`` an integer (each or
    None); :class:`~xbarmem.errors.ArgumentError` / :class:`ConfigError` naming ``where``."""
    if not isinstance(row, tuple | list) or len(row) != 5:
        raise ArgumentError(f"{where} must be a {ROW_FIELDS} tuple, got {shown(row)}")
    key, sweep, config, result, meta = row
    for name, value in (("config", config), ("result", result), ("meta", meta)):
        check_type(value, dict, f"{where} {name}", "a dict")
    texts = {"key": key, "sweep": sweep, "config['trial']": config.get("trial", ""),
             "meta['host']": "" if meta.get("host") is None else meta["host"]}
    for name, value in texts.items():
        needed = name in ("key", "sweep")
        if not isinstance(value, str) or len(value) > MAX_ROW_TEXT or (
                needed and not value.strip()):
            raise ConfigError(f"{where} {name} must be a{' non-empty' if needed else ''} text "
                              f"of at most {MAX_ROW_TEXT} characters, got {shown(value)}")
    seconds, pid = meta.get("seconds"), meta.get("pid")
    if seconds is not None and not Number(ge=0).accepts(seconds):
        raise ConfigError(f"{where} meta['seconds'] must be a finite number >= 0 (or None), "
                          f"got {shown(seconds)}")
    if pid is not None and (is_bool(pid) or not isinstance(pid, numbers.Integral)):
        raise ConfigError(f"{where} meta['pid'] must be an integer (or None), got {shown(pid)}")
    jsons = []
    for name, value in (("config", config), ("result", result)):
        try:
            jsons.append(json.dumps(value, sort_keys=True, allow_nan=False))
        except (TypeError, ValueError) as exc:  # an array, a NaN: JSON cannot hold it
            raise ConfigError(f"{where} {name} must hold JSON values only (texts, finite "
                              f"numbers, lists, dicts): {str(exc)[:80]}") from None
    version = str(config.get("version", ""))[:MAX_ROW_TEXT]
    return (key, sweep, config.get("trial", ""), *jsons, version,
            None if seconds is None else float(seconds), now, meta.get("host"),
            None if pid is None else int(pid))


def selected(db: sqlite3.Connection) -> str:
    """What a read of table ``trials`` selects for :func:`stored_row`: the columns, the
    sweeps that hold the row (a JSON list in name order: the one that computed it, and those
    of :data:`~xbarmem.experiments.store_file.MEMBERS`, when the store has that table), its
    config and result."""
    held = (f"SELECT trials.sweep AS s UNION SELECT m.sweep FROM {MEMBERS} m "
            f"WHERE m.key = trials.key" if has_members(db) else "SELECT trials.sweep AS s")
    sweeps = f"(SELECT json_group_array(s) FROM ({held} ORDER BY 1))"
    return f"{', '.join(f'trials.{c}' for c in COLUMNS)}, {sweeps}, config, result"


def stored_row(rec: tuple, path: Path) -> dict[str, Any]:
    """A stored row (:func:`selected`; without ``sweeps``: the sweep that computed it) as a
    dict, its config and result read by :func:`~xbarmem.experiments.fields.read_payloads`;
    :class:`FileFormatError` naming the store, the row (key, trial kind, sweep) and the field
    otherwise."""
    row = dict(zip(COLUMNS, rec[: len(COLUMNS)], strict=True))
    held = rec[len(COLUMNS)] if len(rec) == len(COLUMNS) + 3 else None
    row["sweeps"] = [row["sweep"]] if held is None else json.loads(held)
    try:
        row["config"], row["result"] = read_payloads(row["trial"], rec[-2], rec[-1])
    except ConfigError as exc:
        raise row_error(row, path, str(exc)) from None
    return row


def row_error(row: dict[str, Any], path: Path, problem: str) -> FileFormatError:
    """The error of a stored row that cannot be read: the store, the row (key, trial kind,
    sweep) and ``problem``."""
    return FileFormatError(f"store {path}: row {str(row['key'])[:12]}... ({row['trial']} "
                           f"trial of sweep {shown(row['sweep'])}): {problem}")


def finished_keys(db: sqlite3.Connection, keys: Sequence[str],
                  where: tuple[str, list[Any]] | None = None) -> set[str]:
    """The subset of ``keys`` that the store of connection ``db`` holds; with ``where`` (an
    SQL condition on ``trials`` and its arguments, e.g. the rows one sweep holds:
    :func:`~xbarmem.experiments.store_where.held_sql`), of those rows only."""
    done: set[str] = set()
    keys = check_texts(keys, "keys", "a list of trial keys")
    condition, args = ("", []) if where is None else (f" AND {where[0]}", list(where[1]))
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        marks = ",".join("?" * len(chunk))
        done.update(r[0] for r in db.execute(
            f"SELECT key FROM trials WHERE key IN ({marks}){condition}", [*chunk, *args]))
    return done


def threads_of_keys(db: sqlite3.Connection, keys: Sequence[str]) -> dict[Any, int]:
    """How many of the stored rows of ``keys`` record each torch thread count (``result.threads``;
    None for rows without one, or whose result is not JSON)."""
    return _counts_of_keys(db, keys, "CASE WHEN json_valid(result) THEN "
                                     "json_extract(result, '$.threads') END")


def networks_of_keys(db: sqlite3.Connection, keys: Sequence[str]) -> dict[Any, int]:
    """How many of the stored rows of ``keys`` record each number of networks trained in their
    batch (``result.batch.networks``; None for rows without one)."""
    return _counts_of_keys(db, keys, "CASE WHEN json_valid(result) THEN "
                                     "json_extract(result, '$.batch.networks') END")


def versions_of_keys(db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, int]:
    """How many of the stored rows of ``keys`` each xbarmem version computed (the rows'
    ``version``)."""
    return _counts_of_keys(db, keys, "version")


def sweeps_of_keys(db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, int]:
    """How many of the stored rows of ``keys`` each sweep computed (the rows' ``sweep``)."""
    return _counts_of_keys(db, keys, "sweep")


def _counts_of_keys(db: sqlite3.Connection, keys: Sequence[str], value: str) -> dict[Any, int]:
    """How many of the stored rows of ``keys`` have each value of the SQL expression ``value``
    (a column of ``trials``, or an expression of its columns)."""
    counts: dict[Any, int] = {}
    keys = check_texts(keys, "keys", "a list of trial keys")
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for found, n in db.execute(f"SELECT {value} AS v, COUNT(*) FROM trials "
                                   f"WHERE key IN ({marks}) GROUP BY v", chunk):
            counts[found] = counts.get(found, 0) + n
    return counts


def rows_of_keys(db: sqlite3.Connection, path: Path, keys: Sequence[str]
                 ) -> list[dict[str, Any]]:
    """The stored rows (:func:`stored_row`) of the given trial keys, in the store ``path`` of
    connection ``db``; unknown keys are skipped."""
    out: list[dict[str, Any]] = []
    keys = check_texts(keys, "keys", "a list of trial keys")
    cols = selected(db)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for rec in db.execute(f"SELECT {cols} FROM trials WHERE key "
                              f"IN ({marks}) ORDER BY rowid", chunk):
            out.append(stored_row(rec, path))
    return out
