"""The ``WHERE`` clause of a results store's reads: a field as SQL (a store column, or the JSON
path of a config or result key that some row has, with the closest known field suggested when
none has it), ``--sweep`` and the ``--where`` conditions as one clause, and the check that the
rows a clause reads hold JSON SQLite can read (``json_extract`` reads malformed JSON as NULL).

A sweep's rows are the trials it holds (:func:`held_sql`): those it computed (the row's own
``sweep``) and those it planned and found stored by another sweep (table
:data:`~xbarmem.experiments.store_file.MEMBERS`); ``--sweep NAME``, ``--where sweep=NAME`` and
the counts of :func:`sweep_counts` all read them so.

Every function takes the store's connection ``db`` and its ``path`` (named in errors);
:class:`~xbarmem.experiments.store.ResultStore` calls them.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xbarmem.checks import check_texts, check_type
from xbarmem.errors import ConfigError
from xbarmem.experiments.fields import (
    KEYED_WHEN_SET,
    flatten,
    json_paths,
    parse_condition,
)
from xbarmem.experiments.grouping import NOT_METRICS
from xbarmem.experiments.store_file import COLUMNS, MEMBERS, has_members
from xbarmem.experiments.store_rows import row_error, rows_of_keys, selected, stored_row


def sweep_counts(db: sqlite3.Connection) -> dict[str, int]:
    """Sweep names and the number of stored rows each holds (:func:`held_sql`: a row two
    sweeps hold counts in both)."""
    if not has_members(db):
        return dict(db.execute("SELECT sweep, COUNT(*) FROM trials GROUP BY sweep "
                               "ORDER BY sweep"))
    return dict(db.execute(
        f"SELECT s, COUNT(*) FROM (SELECT sweep AS s, key FROM trials UNION SELECT m.sweep, "
        f"m.key FROM {MEMBERS} m JOIN trials t ON t.key = m.key) GROUP BY s ORDER BY s"))


def held_sql(db: sqlite3.Connection, op: str, name: Any) -> tuple[str, list[Any]]:
    """The condition (and its arguments) of the rows held by a sweep whose name is ``op``
    ``name`` (``=``, ``~`` for LIKE, ``<`` ...): the sweep that computed the row, or one of
    those that planned it (:data:`~xbarmem.experiments.store_file.MEMBERS`); ``!=``: no sweep
    named ``name`` holds it."""
    sql_op = {"~": "LIKE", "!=": "="}.get(op, op)
    if has_members(db):
        part = (f"(sweep {sql_op} ? OR key IN (SELECT m.key FROM {MEMBERS} m WHERE m.sweep "
                f"{sql_op} ?))")
        args = [name, name]
    else:
        part, args = f"sweep {sql_op} ?", [name]
    return (f"NOT {part}" if op == "!=" else part), args


def field_sql(db: sqlite3.Connection, path: Path, field: str, what: str,
              shown: str | None = None) -> tuple[str, list]:
    """The SQL expression (and its arguments) of ``field``, a store column or the first
    JSON path of the field (keys may hold dots: ``result.capacity.0.99``) that some row
    has (a config key of :data:`~xbarmem.experiments.fields.KEYED_WHEN_SET`: its default
    where a row has none); :class:`ConfigError` when no row has it."""
    if field in COLUMNS:
        return field, []
    if field == "sweeps":
        raise ConfigError(f"{what}: sweeps lists the sweeps that hold a row; keep those of one "
                          f"with --sweep NAME or --where sweep=NAME")
    column, json_path = (("result", field[len("result."):]) if field.startswith("result.")
                         else ("config", field.removeprefix("config.")))
    expr = f"json_extract(CASE WHEN json_valid({column}) THEN {column} END, ?)"
    if column == "config" and json_path in KEYED_WHEN_SET:  # (rows without it: the default)
        return f"COALESCE({expr}, ?)", [f'$."{json_path}"', KEYED_WHEN_SET[json_path]]
    if column == "config" and json_path == "fault_rate":  # (left to the chip: the chip's)
        return (f"COALESCE({expr}, ROUND({expr} + {expr}, 12))",
                ['$."fault_rate"', "$.chip_spec.device.p_stuck_on",
                 "$.chip_spec.device.p_stuck_off"])
    found = f"SELECT 1 FROM trials WHERE json_type(CASE WHEN json_valid({column}) THEN " \
            f"{column} END, ?) IS NOT NULL LIMIT 1"
    candidates = json_paths(json_path.split("."))
    for candidate in candidates:
        if db.execute(found, (candidate,)).fetchone():
            return expr, [candidate]
    if db.execute("SELECT 1 FROM trials LIMIT 1").fetchone() is None:
        return expr, [candidates[0]]
    prefix = field[: len(field) - len(shown)] if shown is not None else ""
    known = sorted(k.removeprefix(prefix) for k in known_fields(db, path)
                   if k.startswith(prefix))
    if prefix and shown is not None and not shown.startswith(prefix) and (
            kind := _not_under(db, path, shown)):
        raise ConfigError(f"{what}: {shown} is {kind}, not one of the {prefix.rstrip('.')} "
                          f"values ({_fields_hint(known, prefix)})")
    close = difflib.get_close_matches(shown or field, known, n=1)
    hint = f"did you mean {close[0]}?" if close else _fields_hint(known, prefix)
    raise ConfigError(f"{what}: no row of {path} has this field ({hint})")


def _not_under(db: sqlite3.Connection, path: Path, name: str) -> str | None:
    """What ``name``, refused as a ``result.`` value (``--metric rule``), is that rows do
    hold: ``a store column`` or ``a setting (config key)``; None when it is neither (it said
    "no row has this field" of a name every row has)."""
    if name in COLUMNS:
        return "a store column"
    return "a setting (config key)" if name in known_fields(db, path) else None


#: names listed by :func:`_fields_hint` before ``...``
_HINT_NAMES = 12


def _fields_hint(known: list[str], prefix: str) -> str:
    """The fields a name may be, for the message refusing one no row has: without a
    ``prefix``, any config key, ``result.KEY`` or store column; with one (``result.``, the
    metrics of ``--metric``), the names under it the rows hold -- not the config keys and
    columns, which a name under the prefix cannot be), the metrics
    (:func:`~xbarmem.experiments.grouping.metric_names`) first."""
    if not prefix:
        return "fields: a config key (rule, fault_rate, ...), result.KEY, " + ", ".join(COLUMNS)
    known = sorted(known, key=lambda k: (k.split(".")[0] in NOT_METRICS or "seconds" in k, k))
    more = f", ... ({len(known)} in all)" if len(known) > _HINT_NAMES else ""
    return (f"the {prefix.rstrip('.')} values rows hold: "
            f"{', '.join(known[:_HINT_NAMES]) or 'none'}{more}")


def known_fields(db: sqlite3.Connection, path: Path) -> set[str]:
    """Field names of the first row of every sweep and trial kind: columns, config keys
    (with and without ``config.``) and ``result.KEY``, nested keys dotted."""
    names = set(COLUMNS)
    for row in rows_of_keys(db, path, [r[0] for r in db.execute(
            "SELECT key FROM trials WHERE rowid IN (SELECT MIN(rowid) FROM trials "
            "GROUP BY sweep, trial)")]):
        flat = flatten(row, lists=False)
        names.update(flat)
        names.update(k.removeprefix("config.") for k in flat if k.startswith("config."))
    return names


def where_sql(db: sqlite3.Connection, path: Path, conditions: Sequence[str],
              sweep: str | None) -> tuple[str, list[Any]]:
    """``WHERE`` clause and arguments of ``sweep`` and the ``--where`` conditions; an
    unknown sweep or a field no row has is a :class:`ConfigError`; a row the conditions
    cannot read (:func:`check_readable`) a :class:`~xbarmem.errors.FileFormatError`."""
    parts, args, plain, plain_args, read = [], [], [], [], set()
    conditions = check_texts(conditions, "where", "a list of conditions (FIELD=VALUE, ...)")
    if sweep is not None:
        check_type(sweep, str, "sweep", "a sweep name (a text) or None")
        names = sweep_counts(db)
        if names and sweep not in names:
            raise ConfigError(f"--sweep {sweep!r}: no such sweep in {path} (its sweeps: "
                              f"{', '.join(names)})")
        part, part_args = held_sql(db, "=", sweep)
        parts.append(part)
        args += part_args
        plain, plain_args = [part], list(part_args)
    for text in conditions:
        field, op, written = parse_condition(text)
        value = (json.dumps(written, separators=(",", ":")) if isinstance(written, list | dict)
                 else int(written) if isinstance(written, bool) else written)  # (as SQL reads)
        if field == "sweep":  # the rows a sweep holds, as --sweep
            part, part_args = held_sql(db, op, value)
            parts.append(part)
            args += part_args
            plain.append(part)
            plain_args += part_args
            continue
        lhs, lhs_args = field_sql(db, path, field, f"--where {text!r}")
        if lhs not in COLUMNS:
            check_kind(db, path, text, field, op, (lhs, lhs_args), written)
        part = f"{lhs} {'LIKE' if op == '~' else op} ?"
        if value is None:  # (null: rows that hold null, or lack the key; = NULL matches none)
            part = f"{lhs} IS {'NOT ' if op == '!=' else ''}?"
        if lhs in COLUMNS:
            plain.append(part)
            plain_args.append(value)
        else:
            read.add("result" if field.startswith("result.") else "config")
        parts.append(part)
        args += [*lhs_args, value]
    check_readable(db, path, read, plain, plain_args)
    return ("" if not parts else " WHERE " + " AND ".join(parts)), args


#: the kinds of value a ``--where`` value of each kind (:func:`value_kind`) can equal, as the
#: kinds of :func:`check_kind` reads them (SQLite reads JSON true/false as the integers 1/0,
#: so ``seed=true`` matched the rows of seed 1 and ``search=1`` those of ``search = true``:
#: a number is compared with numbers only, true/false with true/false)
_MATCHES = {"number": {"integer", "real"}, "true/false": {"boolean"},
            "text": {"text"}, "list": {"array"}, "object": {"object"}}
#: what a field holding values of each kind holds, in words
_HELD = {"integer": "numbers", "real": "numbers", "boolean": "true/false", "text": "texts",
         "array": "lists", "object": "objects"}


def value_kind(value: Any) -> str:
    """The kind of a ``--where`` value as written (:func:`parse_condition`): ``"number"``,
    ``"true/false"``, ``"text"``, ``"list"`` or ``"object"``."""
    return ("true/false" if isinstance(value, bool) else "number"
            if isinstance(value, int | float) else "list" if isinstance(value, list)
            else "object" if isinstance(value, dict) else "text")


def check_kind(db: sqlite3.Connection, path: Path, text: str, field: str, op: str,
               lhs: tuple[str, list[Any]], value: Any) -> None:
    """Refuse a ``--where`` condition ``text`` (``field op value``, ``value`` as written: a
    list a list, true a bool) whose ``value`` is of a kind (:func:`value_kind`) that ``field``
    (its SQL ``lhs`` and arguments) holds in no row of the store: SQLite finds no number
    equal to a text, nor a text equal to a list, so ``=`` matched no row and ``!=`` every row
    that has the field, silently (``rule=1``, ``fault_rate="0.2"``, ``rule=["hebb"]``,
    ``hidden="8"``, ``fault_model=device`` where every row's is null); SQLite reads true/false
    as 1/0, so ``seed=true`` matched seed 1 and ``search=1`` ``search = true``. A list is read where
    it is stored (``json_extract`` gives its JSON text), so a field holding lists holds no
    texts. ``null`` compares with every field, ``~`` (SQL LIKE) with texts and numbers
    alike."""
    if value is None or op == "~":
        return
    held = held_kinds(db, *lhs)
    kind = value_kind(value)
    if not held or held & _MATCHES[kind]:  # (an empty store: no rows)
        return
    kinds = sorted({_HELD[t] for t in held if t in _HELD})
    holds = (f"is null in every row of {path}" if not kinds else
             f"holds {' and '.join(kinds)} in {path}")
    shown = json.dumps(value, separators=(",", ":")) if kind != "text" else value
    got = (f"the {kind} {shown}" if kind in ("list", "object") else shown
           if kind == "true/false" else f"the {kind} {value!r}")
    hint = _where_hint(field, kinds, kind, value, shown)
    raise ConfigError(f"--where {text!r}: {field} {holds}, got {got}: no "
                      f"stored value is {'equal to' if op == '=' else 'comparable with'} "
                      f"it{hint}")


def _where_hint(field: str, kinds: list[str], kind: str, value: Any, shown: str) -> str:
    """What a refusal of :func:`check_kind` adds: how to write ``value`` (of ``kind``, shown
    as ``shown``) for a ``field`` holding ``kinds`` (in words), or to keep its null rows."""
    if kinds == ["numbers"]:
        return (f"; it is compared with numbers only, e.g. {field}={int(value)}"
                if kind == "true/false" else
                f"; a number is written without quotes, e.g. {field}=0.2")
    if kinds == ["true/false"]:
        return (f"; it is compared with true/false only, e.g. {field}={json.dumps(bool(value))}"
                if kind == "number" else
                f"; true/false is written without quotes, e.g. {field}=true")
    if kinds == ["texts"] and kind in ("number", "true/false"):
        return f"; a text is written in double quotes, e.g. {field}='\"{shown}\"'"
    return "" if kinds else f"; {field}=null keeps those rows"


def held_kinds(db: sqlite3.Connection, sql: str, args: list[Any]) -> set[str]:
    """The kinds of value the field of SQL ``sql`` (and its arguments ``args``, as
    :func:`field_sql` gives them) holds in the store's rows: SQLite's ``typeof`` (``integer``,
    ``real``, ``text``, ``null``), ``array`` / ``object`` for a list / table, and ``boolean``
    for JSON true/false, which ``json_extract`` reads as the integers 1/0 (read by
    ``json_type``; a default of a row without the key, a bool, as true/false too)."""
    typed = sql.replace("json_extract(", "json_type(")
    typed_args = [("true" if a else "false") if isinstance(a, bool) else a for a in args]
    return {t for (t,) in db.execute(
        f"SELECT DISTINCT CASE WHEN b IN ('true', 'false') THEN 'boolean' WHEN typeof(x) = "
        f"'text' AND json_valid(x) AND json_type(x) IN ('array', 'object') THEN json_type(x) "
        f"ELSE typeof(x) END FROM (SELECT {sql} AS x, {typed} AS b FROM trials)",
        [*args, *typed_args])}


def check_readable(db: sqlite3.Connection, path: Path, columns: set[str], parts: list[str],
                   args: list[Any]) -> None:
    """Refuse, as a plain read does (:func:`~xbarmem.experiments.store_rows.stored_row`:
    :class:`~xbarmem.errors.FileFormatError` naming the store and the row), the first row
    whose ``columns`` JSON SQLite cannot read among the rows the ``WHERE`` ``parts`` (sweep
    and column conditions) leave: ``json_extract`` reads malformed JSON as NULL, so a
    ``--where`` on it would leave the row out silently."""
    if not columns:
        return
    bad = " OR ".join(f"NOT json_valid({c})" for c in sorted(columns))
    rec = db.execute(
        f"SELECT {selected(db)} FROM trials WHERE "
        f"{' AND '.join([*parts, f'({bad})'])} ORDER BY rowid LIMIT 1", args).fetchone()
    if rec is not None:
        stored_row(rec, path)  # refuses it, naming the field
        raise row_error(dict(zip(COLUMNS, rec, strict=False)), path,
                        f"{' or '.join(sorted(columns))} is not JSON SQLite can read")


def check_json(db: sqlite3.Connection, path: Path, sql: str, args: list[Any]) -> None:
    """Refuse (:class:`~xbarmem.errors.FileFormatError` naming the store and the row) the
    first row of the ``WHERE`` clause ``sql`` (:func:`where_sql`) whose stored ``config`` or
    ``result`` is not JSON SQLite can read, checked in SQLite without decoding the rows."""
    bad = "(NOT json_valid(config) OR NOT json_valid(result))"
    sql = f"{sql} AND {bad}" if sql else f" WHERE {bad}"
    rec = db.execute(f"SELECT {selected(db)} FROM trials{sql} ORDER BY rowid LIMIT 1",
                     args).fetchone()
    if rec is not None:
        stored_row(rec, path)  # refuses it, naming the field
