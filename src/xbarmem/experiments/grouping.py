"""Results rows summarised: fields by name, and groups with the mean and std of each metric.

A *field* is named as in ``xbarmem results --where``: a config key (dotted for nested ones,
``chip_spec.device.write_noise``; ``config.`` may prefix it), ``result.KEY`` for a result value,
or a store column (``sweep``, ``trial``, ``version``, ``key``, ...). A *metric* is a numeric
result value named by its dotted path inside the result (``cosine``, ``capacity.0.99``).

:func:`group_rows` is a pure function over the rows of
:meth:`~xbarmem.experiments.store.ResultStore.rows`: rows with equal values of the grouping
fields form one group, and every metric gets its mean and sample standard deviation over the
group's settings (the seeds, when ``seed`` is not a grouping field; rows of one setting are
averaged first).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from xbarmem.errors import ConfigError
from xbarmem.experiments.fields import KEYED_WHEN_SET, stored_field
from xbarmem.experiments.store_file import FIELDS

#: result values that describe the run, not its outcome (never averaged by default)
NOT_METRICS = ("seconds", "threads", "batch", "devices", "networks", "train_steps")

_MISSING = object()


def _walk(value: Any, path: str) -> Any:
    """``value[a][b]`` for the dotted ``path`` ``"a.b"``; keys may hold dots themselves
    (capacity thresholds: ``capacity.0.99``)."""
    if not isinstance(value, dict):
        return _MISSING
    if path in value:
        return value[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in value:
            found = _walk(value[head], ".".join(parts[i:]))
            if found is not _MISSING:
                return found
    return _MISSING


def field(row: dict[str, Any], name: str) -> Any:
    """The value of field ``name`` in a stored row (None when the row does not have it; a
    config key of :data:`~xbarmem.experiments.fields.KEYED_WHEN_SET`: its default; a
    ``fault_rate`` left to the chip: :func:`chip_fault_rate`)."""
    if name in FIELDS:
        return row.get(name)
    if name.startswith("result."):
        value = _walk(row.get("result", {}), name[len("result."):])
    else:
        key = name.removeprefix("config.")
        value = _walk(row.get("config", {}), key)
        if value is _MISSING and isinstance(row.get("config"), dict):
            value = KEYED_WHEN_SET.get(key, _MISSING)
        if key == "fault_rate" and value in (None, _MISSING):
            value = chip_fault_rate(row.get("config"))
    return None if value is _MISSING else value


def chip_fault_rate(config: Any) -> float | None:
    """The fault rate of a row whose ``fault_rate`` is None (a trial that left it to its
    chip): its chip's ``p_stuck_on + p_stuck_off`` (rounded to 12 decimals, as
    ``--where fault_rate=...`` reads it), None when ``config`` records no such rates."""
    spec = config.get("chip_spec") if isinstance(config, dict) else None
    dev = spec.get("device") if isinstance(spec, dict) else None
    rates = [dev.get(k) for k in ("p_stuck_on", "p_stuck_off")] if isinstance(dev, dict) else []
    numbers = [r for r in rates if isinstance(r, int | float) and not isinstance(r, bool)]
    if len(numbers) != 2:
        return None
    return round(float(numbers[0]) + float(numbers[1]), 12)


def _numbers(value: Any, prefix: str = "") -> Iterable[tuple[str, float]]:
    """Numeric leaves of a result (dotted paths); booleans and lists are not metrics."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{prefix}{key}.")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix[:-1], float(value)


def metric_names(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The metrics of ``rows``: numeric result values except :data:`NOT_METRICS` and times
    (``*seconds*``), in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for name, _ in _numbers(row["result"]):
            if name.split(".")[0] not in NOT_METRICS and "seconds" not in name:
                seen.setdefault(name, None)
    return list(seen)


def _metric(row: dict[str, Any], name: str) -> float | None:
    value = _walk(row["result"], name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def lower_bound(row: dict[str, Any], name: str) -> bool:
    """Whether metric ``name`` of ``row`` is only a lower bound: a capacity (``capacity.T``)
    whose threshold the row's ``result.lower_bound`` lists (every count tested passed, or the
    search stored every distinct pattern of its pool)."""
    bounds = (row.get("result") or {}).get("lower_bound") or ()
    return name.startswith("capacity.") and name[len("capacity."):] in {str(t) for t in bounds}


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def order_key(values: Sequence[Any]) -> tuple:
    """A sort key of field values (as :func:`field` reads them): numbers by value before text
    before missing, so 0.1 < 0.2 < "a" < None; lists and tables by their JSON text."""
    return _order(tuple(_hashable(v) for v in values))


def _order(key: tuple) -> tuple:
    # numbers before text before missing, so 0.1 < 0.2 < "a" < None
    return tuple((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else (2, 0, "") if v is None else (1, 0, str(v)) for v in key)


def group_rows(rows: Sequence[dict[str, Any]], by: Sequence[str],
               metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows grouped by the fields ``by``; one record per group, sorted by the group values::

        {"group": {field: value, ...}, "n": settings in the group, "rows": rows in it,
         "mean": {metric: mean}, "std": {metric: sample std (None for one value)},
         "count": {metric: settings with a finite value of it},
         "lower_bound": [metrics whose mean takes in a row's lower bound (:func:`lower_bound`):
                         the mean is then a lower bound too],
         "pooled": {setting: [its values in the group]} (:func:`pooled_settings`: the
                    settings besides the seeds that the mean is taken over too)}

    A *setting* is one stored configuration (seed included): rows of one setting (computed
    again in another batch, see the guide's Batching, or by another xbarmem version) are
    averaged first and count once, as ``plot`` counts them, so ``n`` counts seeds, never one
    seed twice. ``metrics`` default to :func:`metric_names` of ``rows``. A metric missing or
    non-finite in a row (e.g. a NaN loss) is left out of that metric's mean; a metric no row of
    a group has is None. ``by`` must name at least one field (ConfigError otherwise)."""
    if not by:
        raise ConfigError("--group-by needs at least one field, e.g. --group-by rule,fault_rate")
    names = list(metrics) if metrics is not None else metric_names(rows)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    shown: dict[tuple, tuple] = {}
    for row in rows:
        values = tuple(field(row, f) for f in by)
        key = tuple(_hashable(v) for v in values)
        groups.setdefault(key, []).append(row)
        shown.setdefault(key, values)
    out = []
    for key in sorted(groups, key=_order):
        members = groups[key]
        settings = _settings(members)
        record: dict[str, Any] = {"group": dict(zip(by, shown[key], strict=True)),
                                  "n": len(settings), "rows": len(members), "mean": {},
                                  "std": {}, "count": {}, "lower_bound": [],
                                  "pooled": pooled_settings(members, by)}
        for name in names:
            found = [statistics.fmean(v) for v in (
                [m for m in (_metric(r, name) for r in same) if m is not None]
                for same in settings) if v]
            record["mean"][name] = statistics.fmean(found) if found else None
            record["std"][name] = statistics.stdev(found) if len(found) > 1 else None
            record["count"][name] = len(found)
            if any(lower_bound(r, name) and _metric(r, name) is not None for r in members):
                record["lower_bound"].append(name)
        out.append(record)
    return out


#: config keys that are no setting a group pools: the seeds (its spread is over them) and the
#: xbarmem version (a seed computed again by another version is that seed again)
_NOT_POOLED = ("seed", "version", "rule_options.seed")
#: settings whose values decide others, and the keys (prefixes) that follow them: not named
#: again where the setting is pooled (a rule's options, which its recipe sets by architecture
#: and pattern kind; the chip's description, its stuck rates from the fault rate and share of
#: stuck-ON, its fault model)
_FOLLOWERS = {"rule": ("rule_options.",), "arch": ("rule_options.",),
              "kind": ("rule_options.",), "chip": ("chip_spec.",),
              "fault_rate": ("chip_spec.device.p_stuck_",),
              "on_fraction": ("chip_spec.device.p_stuck_",),
              "fault_model": ("chip_spec.array.fault_model",)}


def pooled_settings(rows: Sequence[dict[str, Any]], by: Sequence[str]) -> dict[str, list[Any]]:
    """The settings (config keys, nested ones dotted: ``rule_options.cue_flip``,
    ``chip_spec.device.write_noise``) other than the fields ``by`` and the seeds that take
    more than one value among ``rows``, each with its values in :func:`order_key` order (a
    missing one as None): a group's mean is over them too (``--group-by rule`` of a grid over
    N and level averaged the rows of every N and level). Keys that follow from a pooled
    setting (:data:`_FOLLOWERS`: a rule's options when ``rule``, ``arch`` or ``kind`` is
    pooled) are left out."""
    named = {f.removeprefix("config.") for f in by}
    flat = [_leaves(c if isinstance(c := r.get("config"), dict) else {}) for r in rows]
    found: dict[str, list[Any]] = {}
    for key in dict.fromkeys(k for f in flat for k in f):
        if key in _NOT_POOLED or any(key == n or key.startswith(f"{n}.")
                                     or n.startswith(f"{key}.") for n in named):
            continue
        values = {_hashable(v): v for v in (_setting(f, key, r.get("config"))
                                             for f, r in zip(flat, rows, strict=True))}
        if len(values) > 1:
            found[key] = [values[k] for k in sorted(values, key=lambda k: _order((k,)))]
    hidden = tuple(p for k, prefixes in _FOLLOWERS.items() if k in found for p in prefixes)
    return {k: v for k, v in found.items() if not k.startswith(hidden)}


def _setting(flat: dict[str, Any], key: str, config: Any) -> Any:
    """A pooled setting's value in one row, read as :func:`field` reads it: a missing key of
    :data:`~xbarmem.experiments.fields.KEYED_WHEN_SET` its default, a ``fault_rate`` left to
    the chip its chip's rate (:func:`chip_fault_rate`)."""
    value = flat.get(key, KEYED_WHEN_SET.get(key))
    return chip_fault_rate(config) if key == "fault_rate" and value is None else value


def _leaves(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A config's values by dotted key, nested tables walked (lists kept whole)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _settings(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` split by stored configuration (rows of one setting together), in order; the
    xbarmem version a config records is no part of its setting (a seed computed again by
    another version is that seed again, not one more), and its values are read as
    :func:`field` reads them (:func:`_as_read`), so two rows a table shows alike are one
    setting."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        config = r.get("config")
        if isinstance(config, dict):
            config = _as_read(config)
        out.setdefault(json.dumps(config, sort_keys=True, default=str), []).append(r)
    return list(out.values())


def _as_read(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without its xbarmem version, a missing key of
    :data:`~xbarmem.experiments.fields.KEYED_WHEN_SET` as its default and a ``fault_rate``
    left to the chip as the chip's rate (:func:`chip_fault_rate`): a row of ``fault_rate =
    0.0`` and one that left the rate to a chip with no stuck devices (two grids of one sweep,
    one setting it and one not) are the same trial, which ``plot`` counts once; ``results
    --group-by`` counted it as two seeds."""
    read = {**KEYED_WHEN_SET, **{k: v for k, v in config.items() if k != "version"}}
    if read.get("fault_rate") is None:
        read["fault_rate"] = chip_fault_rate(config)
    return read


def parse_fields(text: str, what: str) -> list[str]:
    """Comma-separated field names (``rule,fault_rate``); ConfigError for an empty or bad one,
    or one named twice (a repeated column or grouping key); a rule option may be spelled as in a
    sweep file (:func:`~xbarmem.experiments.fields.stored_field`)."""
    names = [stored_field(part.strip()) for part in text.split(",")]
    bad = [n for n in names if not n or not all(c.isalnum() or c in "._-" for c in n)]
    if bad or not names:
        raise ConfigError(f"{what} must be comma-separated field names (e.g. rule,fault_rate), "
                          f"got {text!r}")
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise ConfigError(f"{what} lists {twice} twice, got {text!r}; give each field once")
    return names
