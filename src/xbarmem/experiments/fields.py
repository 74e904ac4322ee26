"""Fields of stored rows: the one reader of a row's stored ``config`` / ``result`` JSON
(:func:`read_payloads`), flattening them into dotted names, the names a sweep file uses for
them, and ``--where`` conditions (``rule=adaptive``, ``result.cosine>0.9``)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from xbarmem.checks import lost_number, shown, with_article
from xbarmem.errors import ConfigError
from xbarmem.experiments.store_file import FIELDS, TEXT_COLUMNS
from xbarmem.files import NumberError, parse_text
from xbarmem.jsontext import non_finite_at
from xbarmem.names import DEFAULT_TOL, RULE_NAMES, hidden_from_words
from xbarmem.spec import AnyOf, ListOf, Maybe, Number, Spec, Table, Text

_OPS = ("!=", ">=", "<=", "=", ">", "<", "~")
#: config keys a row holds only when not their default (a trial's ``tol``, ``zero_one`` and
#: ``data_key``: :func:`~xbarmem.experiments.sweep.keyed_when_set`), with that default: a row
#: without one is read as holding it (``--where``, ``--group-by``, ``--columns``)
KEYED_WHEN_SET: dict[str, Any] = {"tol": DEFAULT_TOL, "zero_one": False, "data_key": None}
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def flatten(row: dict[str, Any], lists: bool = True) -> dict[str, Any]:
    """A stored row as one flat dict: columns and ``sweeps``, then ``config.*`` and
    ``result.*`` scalars (nested dicts dotted, lists as JSON text; ``lists=False``: as they
    are)."""
    out = {c: row.get(c) for c in FIELDS}
    if lists and isinstance(out.get("sweeps"), list):
        out["sweeps"] = json.dumps(out["sweeps"])

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list) and lists:
            out[prefix] = json.dumps(value)
        else:
            out[prefix] = value

    walk("config", row["config"])
    walk("result", row["result"])
    return out


def flat_table(rows: Iterable[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Stored rows as the table that CSV and Parquet exports and
    :meth:`~xbarmem.experiments.store.ResultStore.table` give: its columns (those of
    :func:`export_columns`) and one flat dict per row (:func:`flatten`) holding every column in
    that order, None where the row has no such field."""
    records = [flatten(r) for r in rows]
    columns = export_columns(records)
    return columns, [{c: r.get(c) for c in columns} for r in records]


def export_columns(records: list[dict[str, Any]]) -> list[str]:
    """The columns of flat rows (:func:`flatten`): the store's columns, then every other field
    any row has, in name order."""
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(k, None)
    head = [c for c in FIELDS if c in seen]
    return head + sorted(k for k in seen if k not in FIELDS)


#: the range of a Parquet (int64) integer column
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
#: the largest integer a float64 column holds exactly
_EXACT_IN_FLOAT = 2 ** 53


def _value_kind(value: Any) -> str:
    """``flag``, ``integer`` (within int64; ``large`` beyond 2^53, which a column of floats
    cannot hold exactly), ``float``, ``text``, or ``other`` (an integer beyond int64)."""
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            return "other"
        return "large" if abs(value) > _EXACT_IN_FLOAT else "integer"
    return "float" if isinstance(value, float) else "text"


def _one_type(kinds: set[str]) -> bool:
    """Whether values of ``kinds`` fit one typed column: one kind, or integers beside floats
    (a float column) when none is ``large``."""
    numbers = {"integer", "large", "float"}
    if kinds <= numbers:
        return not ({"large", "float"} <= kinds)
    return len(kinds) == 1 and kinds != {"other"}


def typed_columns(records: list[dict[str, Any]], columns: list[str]) -> dict[str, list]:
    """Each column's values for a typed table (Parquet): as stored where every value of the
    column fits one type (flags, integers, numbers -- integers and floats together -- or
    texts), else every value as JSON text (a sweep's ``hidden = [32, [64, 32]]`` stores 32
    and ``"[64, 32]"`` in one column; so does a flag beside a number, an integer beyond
    int64, or one beyond 2^53 beside floats). None stays None (a missing value)."""
    out = {}
    for column in columns:
        values = [r.get(column) for r in records]
        if not _one_type({_value_kind(v) for v in values if v is not None}):
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        out[column] = values
    return out


def stored_field(name: str) -> str:
    """A field as the store holds it: a rule option spelled as in a sweep file,
    ``rule_options.RULE.KEY`` (``rule_options.storkey-variant.self_field``), is the row's
    ``rule_options.KEY`` (a row holds the options of its own rule only); other names as given."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[0] == "rule_options" and parts[1] in RULE_NAMES:
        return ".".join([parts[0], *parts[2:]])
    return name


def parse_condition(text: str) -> tuple[str, str, Any]:
    """``"rule=adaptive"`` -> ``("$.rule", "=", "adaptive")``. A field is a config key (dotted
    for nested: ``chip_spec.device.write_noise``), ``result.KEY`` for a result value, or one of
    the columns ``sweep`` (the rows a sweep holds, computed or found stored: as ``--sweep``),
    ``trial``, ``version``, ``key``. Operators: = != < <= > >= and ~
    (SQL LIKE). Values are read as JSON when they parse (numbers, true/false as bools, which
    SQLite compares as 1/0), else as text (``hidden``'s widths also as ``--hidden`` writes them:
    ``8-4`` is ``[8, 4]``);
    an ordered operator needs a number, and NaN / Infinity are refused (nothing stored is), as
    is a number no float holds (``1e400``, ``1e-400``: :func:`~xbarmem.checks.lost_number`)."""
    for op in _OPS:
        head, sep, value = text.partition(op)
        if sep and head.strip():
            break
    else:
        raise ConfigError(f"--where {text!r}: expected FIELD=VALUE (operators: "
                          f"{' '.join(_OPS)})")
    field = stored_field(head.strip())
    if not _PATH.match(field):
        raise ConfigError(f"--where {text!r}: bad field name {field!r}")
    if not value.strip():
        hint = (f" (an empty text is written {head.strip()}{op}\"\")"
                 if op in ("=", "!=", "~") else "")
        raise ConfigError(f"--where {text!r}: no value after {op!r}{hint}")
    if value.strip()[:1] in ("=", "<", ">", "!"):
        raise ConfigError(f"--where {text!r}: the value {value.strip()!r} starts with an "
                          f"operator (operators: {' '.join(_OPS)})")
    lost = None if field in TEXT_COLUMNS else lost_number(value)
    if lost is not None:  # (1e-400 read as 0, 1e400 as infinity)
        raise ConfigError(f"--where {text!r}: {lost}")
    try:
        parsed: Any = parse_text(json.loads, value.strip())
    except NumberError as exc:  # (in a list: [1e-400, 2]; a name as written: sweep=1e-400)
        if field not in TEXT_COLUMNS:
            raise ConfigError(f"--where {text!r}: {exc}") from None
        parsed = value.strip()
    except json.JSONDecodeError:
        parsed = value.strip() if field in TEXT_COLUMNS else _number(value.strip())
    if field.removeprefix("config.") == "hidden" and isinstance(parsed, str):
        parsed = hidden_from_words(parsed) or parsed  # 8-4: as results and --hidden write it
    if (isinstance(parsed, float) and not math.isfinite(parsed)) or (
            isinstance(parsed, str) and parsed.lower().lstrip("+-") in ("nan", "inf",
                                                                        "infinity")):
        raise ConfigError(f"--where {text!r}: {value.strip()} is not a value a store holds "
                          f"(stored numbers are finite)")
    if op in ("<", "<=", ">", ">=") and not isinstance(parsed, int | float):
        raise ConfigError(f"--where {text!r}: {op} compares numbers, got {parsed!r}; compare "
                          f"text with = != or ~ (LIKE)")
    return field, op, parsed


#: a number JSON does not read, as Python and the command line's options write it: ``.2``,
#: ``2.``, ``+0.2``, ``+3`` (``007`` stays a text: a name, not a number)
_NUMBER = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\+\d+([eE][+-]?\d+)?")


def _number(text: str) -> Any:
    """``text`` that is not JSON as the number it writes (``.2`` is 0.2, as ``--fault-rate .2``
    reads it: as text it matched no stored number, and ``!=`` every row), else as the text."""
    if not _NUMBER.fullmatch(text):
        return text
    return float(text) if any(c in text for c in ".eE") else int(text)  # (+3: 3)


def json_paths(parts: list[str]) -> list[str]:
    """The SQLite JSON paths a dotted field may name, keys quoted: the whole name as one key
    first, then longer leading keys before shorter ones (``capacity.0.99``: the key
    ``"capacity.0.99"``, then ``"capacity.0"."99"``, then ``"capacity"."0.99"``, ...), the
    order in which :func:`xbarmem.experiments.grouping.field` looks a field up."""
    def splits(rest: list[str]) -> list[list[str]]:
        out = [[".".join(rest)]]
        for i in range(len(rest) - 1, 0, -1):
            out += [[".".join(rest[:i]), *tail] for tail in splits(rest[i:])]
        return out

    return ["$" + "".join(f'."{key}"' for key in keys) for keys in splits(parts)]


# --------------------------------------------------------------------------- reading rows
_Count = Number(integer=True, ge=0)
_Share = Number(ge=0.0)


@dataclass(frozen=True)
class _StoredConfig(Spec, section="config", noun="stored row"):
    """The keys of a stored row's ``config`` that tables, figures and reports read."""

    rule: Annotated[str, Text()] = ""
    n_neurons: Annotated[int, Number(integer=True, ge=1)] = 1
    patterns: Annotated[int | None, Maybe(_Count)] = None
    fault_rate: Annotated[float | None, Maybe(Number(ge=0.0, le=1.0))] = None
    variation: Annotated[float | None, Maybe(_Share)] = None
    level: Annotated[float | None, Maybe(_Share)] = None
    seed: Annotated[int | None, Maybe(_Count)] = None
    chip_spec: Annotated[dict, Table()] = field(default_factory=dict)
    rule_options: Annotated[dict, Table()] = field(default_factory=dict)


@dataclass(frozen=True)
class _StoredResult(Spec, section="result", noun="stored row"):
    """The keys of a stored row's ``result`` that tables, figures and reports read."""

    cosine: Annotated[float, Number()] = 0.0
    exact: Annotated[float, _Share] = 0.0
    hamming: Annotated[float, _Share] = 0.0
    converged: Annotated[float, _Share] = 0.0
    mean_iterations: Annotated[float, _Share] = 0.0
    per_pattern_cosine: Annotated[list, ListOf(Number(), nonempty=False)] = field(
        default_factory=list)
    seconds: Annotated[float, _Share] = 0.0
    capacity: Annotated[dict, Table()] = field(default_factory=dict)
    points: Annotated[list, ListOf(Table(), nonempty=False)] = field(default_factory=list)
    lower_bound: Annotated[list | None, Maybe(ListOf(AnyOf(Text(), Number()),
                                                       nonempty=False))] = None

    def validate(self) -> None:
        for threshold, value in self.capacity.items():
            if not _Count.accepts(value):
                raise ConfigError(f"result.capacity.{threshold} must be an integer >= 0, got "
                                  f"{shown(value)}")
        for i, point in enumerate(self.points):
            for key, rule in (("count", _Count), ("cosine", Number())):
                if not rule.accepts(point.get(key)):
                    raise ConfigError(f"result.points[{i}].{key} must be {rule.what}, got "
                                      f"{shown(point.get(key))}")


#: the keys every row of a trial kind holds (figures and reports read them)
_NEEDED = {"evaluate": ("config.rule", "result.cosine"),
           "capacity": ("config.rule", "config.n_neurons", "result.capacity", "result.points")}


def _refuse_constant(token: str) -> None:
    raise ValueError(f"{token} is not a number a store holds (stored numbers are finite)")


def read_payloads(trial: Any, config_text: Any, result_text: Any
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one reader of a stored row's ``config`` and ``result`` JSON texts (of a ``trial``
    kind): each a JSON object (:func:`~xbarmem.files.parse_text`: nesting limited), every
    number finite (no ``NaN`` / ``Infinity`` / ``1e999``), and the fields tables, figures and
    reports read of the right type and range (``config.rule`` a text, ``result.cosine`` a
    number...; the result keys of its trial kind present). Raises :class:`ConfigError` naming
    the field; the caller adds the store and the row."""
    out = []
    for name, text in (("config", config_text), ("result", result_text)):
        if not isinstance(text, str | bytes):  # (NULL in a column of an edited table)
            what = "NULL" if text is None else with_article(type(text).__name__)
            raise ConfigError(f"{name} is {what}, not JSON text")
        try:
            value = parse_text(json.loads, text, parse_constant=_refuse_constant,
                               parse_float=float)  # (1e999: named below, by its field)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a JSON object, got {shown(value)}")
        bad = non_finite_at(value, name)
        if bad is not None:
            raise ConfigError(f"{bad} must be a finite number (stored numbers are finite)")
        out.append(value)
    config, result = out
    _StoredConfig.from_declared(config)
    _StoredResult.from_declared(result)
    for needed in _NEEDED.get(trial, ()):
        part, key = needed.split(".")
        if key not in (config if part == "config" else result):
            raise ConfigError(f"{needed} is missing (every {trial} row has it)")
    if trial == "capacity" and "lower_bound" not in result:
        result["lower_bound"] = _earlier_bounds(result)
    return config, result


def _earlier_bounds(result: dict[str, Any]) -> list[str]:
    """``result.lower_bound`` of a capacity row stored before rows held it: the thresholds
    whose capacity is the largest count tested, every count passed (a table showed ``0.9:8``
    for such a curve, and ``0.9:>=8`` for the same curve stored since). For a search too:
    it tests larger counts up to the pool's distinct patterns until one fails, so its
    capacity is its largest count tested exactly when it is all of them, the rule of rows
    stored since (:func:`~xbarmem.evaluation.capacity.pool_limited`); the row's ``pool``
    counts repeated patterns (a pool of 6 holding 4 distinct ones showed ``0.9:4``)."""
    top = max((p["count"] for p in result["points"]), default=None)
    if not isinstance(top, int) or isinstance(top, bool):
        return []
    return [str(t) for t, c in result["capacity"].items() if c >= top]
