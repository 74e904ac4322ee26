"""Fields of stored rows: flattening a row's ``config`` / ``result`` into dotted names, the
names a sweep file uses for them, and ``--where`` conditions (``rule=adaptive``,
``result.cosine>0.9``)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from xbarmem.errors import ConfigError
from xbarmem.experiments.store_file import COLUMNS
from xbarmem.files import parse_text
from xbarmem.names import RULE_NAMES

_OPS = ("!=", ">=", "<=", "=", ">", "<", "~")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def flatten(row: dict[str, Any], lists: bool = True) -> dict[str, Any]:
    """A stored row as one flat dict: columns, then ``config.*`` and ``result.*`` scalars
    (nested dicts dotted, lists as JSON text; ``lists=False``: as they are)."""
    out = {c: row.get(c) for c in COLUMNS}

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


def export_columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(k, None)
    head = [c for c in COLUMNS if c in seen]
    return head + sorted(k for k in seen if k not in COLUMNS)


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
    the columns ``sweep``, ``trial``, ``version``, ``key``. Operators: = != < <= > >= and ~
    (SQL LIKE). Values are read as JSON when they parse (numbers, true/false), else as text;
    an ordered operator needs a number, and NaN / Infinity are refused (nothing stored is)."""
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
    if value.strip()[:1] in ("=", "<", ">", "!"):
        raise ConfigError(f"--where {text!r}: the value {value.strip()!r} starts with an "
                          f"operator (operators: {' '.join(_OPS)})")
    try:
        parsed: Any = parse_text(json.loads, value.strip())
    except json.JSONDecodeError:
        parsed = value.strip()
    if isinstance(parsed, bool):
        parsed = int(parsed)  # SQLite's json_extract gives 1/0 for true/false
    if (isinstance(parsed, float) and not math.isfinite(parsed)) or (
            isinstance(parsed, str) and parsed.lower().lstrip("+-") in ("nan", "inf",
                                                                        "infinity")):
        raise ConfigError(f"--where {text!r}: {value.strip()} is not a value a store holds "
                          f"(stored numbers are finite)")
    if op in ("<", "<=", ">", ">=") and not isinstance(parsed, int | float):
        raise ConfigError(f"--where {text!r}: {op} compares numbers, got {parsed!r}; compare "
                          f"text with = != or ~ (LIKE)")
    return field, op, parsed


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
