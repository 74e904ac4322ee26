"""Sweep files: a TOML grid over the options of a trial, validated before anything runs.

A sweep file has four kinds of tables::

    [sweep]                      # what to run
    name = "fault-tolerance"
    trial = "evaluate"           # "evaluate" (one memory, recall score) or "capacity"
    seeds = 3                    # 3 -> seeds 0, 1, 2; or a list [0, 5, 9]
    batch = 16                   # at most this many networks trained as one tensor program

    [base]                       # options shared by every trial
    data = "mnist"
    n_neurons = 64
    patterns = 10
    selection = "one-per-class"

    [grid]                       # every combination of these lists (or [[grid]]: a union)
    rule = ["adaptive", "pinv"]
    fault_rate = [0.0, 0.25, 0.5]
    rule_options.adaptive.cue_flip = [0.05, 0.1]   # a rule option can be swept too

    [rule_options.adaptive]      # options of one rule (applied to trials of that rule)
    finetune_steps = 1000

Every option, its default, its rule and its meaning are declared on :class:`TrialOptions`
(listed in :data:`OPTIONS`). Each expanded trial is resolved to a complete, JSON-able
configuration -- defaults filled in, the chip resolved to its full device/array description
(``chip_spec``), the rule's options resolved with the rule's own defaults (``rule_options``; the
trainer seed defaults to the trial seed), the xbarmem version, and for pattern files the file's
SHA-256 -- and keyed by the SHA-256 of that configuration (:func:`trial_key`). Unknown keys and
impossible values raise :class:`~xbarmem.errors.ConfigError` naming the file, the table and the
key.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbarmem.checks import MAX_SEED, check_type, shown
from xbarmem.data.builtin import IMAGE_SETS
from xbarmem.data.sources import image_side, is_drawn
from xbarmem.errors import ConfigError, PatternError, XbarmemError
from xbarmem.files import as_path, parse_text, read_text
from xbarmem.hardware.chip import FAULT_MODELS, ChipSpec, load_chip
from xbarmem.limits import check_bytes
from xbarmem.names import ACTIVATIONS, ARCHS, CORRUPTION_METHODS, MODES, RULE_NAMES
from xbarmem.sizes import request_bytes, sweep_bytes
from xbarmem.spec import (
    AnyOf,
    Choice,
    FieldInfo,
    ListOf,
    Number,
    Spec,
    choice,
    flag,
    integer,
    listof,
    number,
    option,
    text,
    unknown_key,
)

TRIAL_KINDS = ("evaluate", "capacity")
SELECTIONS = ("one-per-class", "random-per-class", "first", "random")
#: patterns available in each built-in set
BUILTIN_DATA = {"mnist": 10000, "mnist-crop24": 10000, "digits": 1797, "glyphs": 1302}
TOP_KEYS = ("sweep", "base", "grid", "rule_options")
_POSITIVE = Number(integer=True, ge=1)
_EVALUATE, _CAPACITY = {"only": "evaluate"}, {"only": "capacity"}
_RULE = Choice(RULE_NAMES)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class SweepHead(Spec, noun="sweep"):
    """The ``[sweep]`` table (``name`` defaults to the file's stem)."""

    name: str = text(default="sweep", nonempty=True, help="sweep name (stored with every row)")
    description: str = text(default="", help="free text")
    trial: str = choice(TRIAL_KINDS, default="evaluate", help="kind of trial")
    seeds: int | list[int] = option(
        AnyOf(_POSITIVE, ListOf(Number(integer=True, ge=0, le=MAX_SEED), unique_sorted=True)),
        default=1,
        help="number of seeds (0..n-1) or a list of integer seeds")
    batch: int = integer(default=16, ge=1,
                         help="max networks trained together (>= 1; 1 = every network alone)")

    @property
    def seed_list(self) -> list[int]:
        """The seeds: ``0..seeds-1`` for a count, else the (sorted, unique) list."""
        return self.seeds if isinstance(self.seeds, list) else list(range(self.seeds))


@dataclass(frozen=True)
class TrialOptions(Spec, noun="trial"):
    """The options of one trial (``[base]`` and ``[grid]`` keys). ``None`` defaults are resolved
    from other options; ``meta["only"]`` names the one trial kind an option applies to."""

    arch: str = choice(ARCHS, default="single", help="single-layer or multilayer memory")
    hidden: int | list[int] = option(
        AnyOf(_POSITIVE, ListOf(_POSITIVE)), default=32,
        help="hidden width(s) of a multilayer memory, e.g. 32 or [64, 32]")
    data: str = text(default="mnist", nonempty=True, help=(
        "mnist (bundled, side sqrt(N)), mnist-crop24 (the same from the centred 24x24 window, "
        "the authors' preprocessing), digits (scikit-learn 8x8), glyphs (bundled A-Z, a-z, 0-9 "
        "in 21 fonts, side sqrt(N)), random, correlated-R (binary, mean pairwise overlap R), "
        "or a pattern file (.npy/.npz/.csv/IDX)"))
    kind: str = choice(("binary", "continuous"), default="binary",
                       help="binary or continuous patterns")
    n_neurons: int = integer(default=64, ge=2,
                             help="N, neurons per pattern (a square for mnist, glyphs: side^2)")
    patterns: int = integer(default=10, ge=1, help="number of stored patterns P",
                            meta=_EVALUATE)
    selection: str = choice(SELECTIONS, default="random", meta=_EVALUATE, help=(
        "which patterns: one-per-class (the first image of classes 0, 1, ...), "
        "random-per-class (a seeded random image of each class among the first `pool`), "
        "first, or random (a seeded random subset of the first `pool` patterns)"))
    pool: int = integer(default=1000, ge=1, help=(
        "patterns to draw random subsets from (first `pool` of the data; random data: `pool` "
        "patterns drawn from the trial seed)"))
    rule: str = choice(RULE_NAMES, default="adaptive", help="learning rule")
    chip: str = text(default="paper-sim", nonempty=True, help="chip preset or chip TOML file")
    fault_rate: float | None = number(default=None, ge=0.0, le=1.0, as_float=True,
                                      optional=True, help="stuck fraction (default: the chip's)")
    on_fraction: float = number(default=0.5, ge=0.0, le=1.0, as_float=True,
                                help="share of stuck-ON among faults")
    fault_model: str | None = choice(FAULT_MODELS, default=None, optional=True,
                                     help="device or weight (default: the chip's)")
    variation: float = number(default=0.0, ge=0.0, as_float=True, help=(
        "programming variation v: Gaussian noise of std v * max|W| added to every programmed "
        "free weight (biases as trained)"))
    corruption: str | None = choice(
        CORRUPTION_METHODS, default=None, optional=True,
        help="cue corruption (default: flip for binary, gaussian for continuous)")
    level: float | None = number(default=None, ge=0.0, as_float=True, optional=True,
                                 help="corruption level (default: 0.1 flips / sigma 0.6)")
    probes: int = integer(default=20, ge=1, help="corrupted cues per stored pattern")
    mode: str = choice(MODES, default="sync", help="recall mode")
    activation: str | None = choice(ACTIVATIONS, default=None, optional=True,
                                    help="neurons (default: sign for binary, tanh for continuous)")
    max_iterations: int = integer(default=100, ge=1, help="recall step cap")
    counts: list[int] | None = listof(
        _POSITIVE, default=None, unique_sorted=True, optional=True, meta=_CAPACITY,
        help="numbers of stored patterns tested (a recall curve, all trained as one batch)")
    thresholds: list[float] = listof(
        Number(gt=0.0, le=1.0, as_float=True), default=[0.9, 0.95, 0.99], unique_sorted=True,
        meta=_CAPACITY, help="similarity thresholds at which capacity is read off")
    search: bool = flag(default=False, meta=_CAPACITY, help=(
        "capacity by geometric search + interpolation instead of a fixed list of counts"))
    resolution: float = number(default=0.0, ge=0.0, as_float=True, meta=_CAPACITY,
                               help="search: relative bracket width to stop at")
    cue_budget: int = integer(default=0, ge=0, meta=_CAPACITY, help=(
        "search, hardware-adaptive rule: about this many corrupted training cues per step in "
        "total (cue_copies = ceil(cue_budget / P); 0 = the rule's cue_copies)"))


#: Every trial option by name (default, rule, help; ``meta["only"]``: its trial kind).
OPTIONS: dict[str, FieldInfo] = TrialOptions.spec_fields()
_HEAD: dict[str, FieldInfo] = SweepHead.spec_fields()


def _fail(where: str, value: Any, problem: str) -> ConfigError:
    """An error of options that contradict each other (``where = value: problem``)."""
    return ConfigError(f"{where} = {shown(value)}: {problem}")


def _checked(infos: dict[str, FieldInfo], key: str, value: Any, where: str) -> Any:
    """``value`` of ``key`` checked by its declaration; errors name ``where`` and the key."""
    if key not in infos:
        raise unknown_key(where, key, list(infos))
    return infos[key].check(value, f"{where} {key}")


def option_help() -> str:
    """A plain-text table of every sweep option (for ``xbarmem sweep --list-options``)."""
    lines = [f"[sweep] {k}: {v.help}; {v.what}" for k, v in _HEAD.items()]
    for key, opt in OPTIONS.items():
        scope = f" ({opt.meta['only']} trials)" if opt.meta.get("only") else ""
        lines.append(f"{key}{scope}: {opt.help}; {opt.what} [default {opt.default!r}]")
    lines.append("[rule_options.RULE] KEY: an option of RULE's constructor (grid: "
                 "rule_options.RULE.KEY = [...])")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Trial:
    """One trial: its store key and its complete resolved configuration (JSON-able)."""

    key: str
    config: dict[str, Any]


@dataclass
class SweepSpec:
    """A validated sweep: seeds, base options, grids, per-rule options, and its trials."""

    name: str
    trial: str
    seeds: list[int]
    batch: int
    base: dict[str, Any]
    grids: list[dict[str, list[Any]]]
    rule_options: dict[str, dict[str, Any]]
    source: str = "<sweep>"
    description: str = ""
    trials: list[Trial] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The sweep as the plain tables of a sweep file (``parse_sweep(as_dict())`` gives it
        back)."""
        grids = [_nest_rule_options(g) for g in self.grids]
        out: dict[str, Any] = {
            "sweep": {"name": self.name, "trial": self.trial, "seeds": self.seeds,
                      "batch": self.batch, "description": self.description},
            "base": dict(self.base), "rule_options": self.rule_options}
        if grids:
            out["grid"] = grids if len(grids) > 1 else grids[0]
        return out


def _nest_rule_options(grid: dict[str, list[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in grid.items():
        if key.startswith("rule_options."):
            _, rule, opt = key.split(".", 2)
            out.setdefault("rule_options", {}).setdefault(rule, {})[opt] = values
        else:
            out[key] = values
    return out


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML file (every trial is resolved and checked)."""
    path = as_path(path)
    text = read_text(path, "sweep file", expand=20.0)  # missing, directory, not UTF-8, size
    try:
        data = parse_text(tomllib.loads, text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if not data:  # an empty (or comments-only) file would run one default trial
        raise ConfigError(f"{path}: the sweep file is empty (no tables, no keys); its "
                          f"options: `xbarmem sweep --list-options`")
    return parse_sweep(data, source=str(path))


def parse_sweep(data: dict[str, Any], source: str = "<sweep>") -> SweepSpec:
    """Validate sweep tables (as read from TOML) and expand every trial; raises
    :class:`ConfigError` naming ``source``, the table and the key of the first problem."""
    check_type(source, str, "source", "a text naming where the tables come from")
    try:
        return _parse(data, source)
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(f"{source}:")
                          else f"{source}: {message}") from None


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table, got {shown(value)}")
    return value


def _parse(data: dict[str, Any], source: str) -> SweepSpec:
    if not isinstance(data, dict):
        raise ConfigError("a sweep must be a table")
    for key in data:
        if key not in TOP_KEYS:
            raise unknown_key("top-level sweep", key, TOP_KEYS)
    given = {k: _checked(_HEAD, k, v, "[sweep]") for k, v in _table(data, "sweep").items()}
    head = SweepHead(**{"name": Path(source).stem or "sweep", **given})
    trial = head.trial

    base = _table(data, "base")
    for key, value in base.items():
        _check_option(key, value, "[base]", trial)
    raw_grid = data.get("grid", [])
    grid_tables = raw_grid if isinstance(raw_grid, list) else [raw_grid]
    grids = []
    for i, table in enumerate(grid_tables):
        where = "[grid]" if not isinstance(raw_grid, list) else f"[[grid]] #{i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, got {shown(table)}")
        grids.append(_flatten_grid(table, where, trial))
        _check_rule_dimensions(grids[-1], base, where)
    _check_expansion(head, grids, source)
    rule_options = _table(data, "rule_options")
    for rule, opts in rule_options.items():
        _RULE(rule, "[rule_options] table name")
        if not isinstance(opts, dict):
            raise ConfigError(f"[rule_options.{rule}] must be a table, got {shown(opts)}")
        _check_rule_keys(rule, opts, f"[rule_options.{rule}]")
    spec = SweepSpec(name=head.name, trial=trial, seeds=head.seed_list, batch=head.batch,
                     base=dict(base), grids=grids,
                     rule_options={k: dict(v) for k, v in rule_options.items()},
                     source=source, description=head.description)
    spec.trials = expand(spec)
    _check_trial_sizes(spec)
    return spec


def _check_expansion(head: SweepHead, grids: list[dict[str, list[Any]]], source: str) -> None:
    """Refuse a sweep whose trial list alone would exceed the memory limit (before the seeds
    or the grid are expanded)."""
    seeds = head.seeds if isinstance(head.seeds, int) else len(head.seeds)
    points = sum(math.prod(len(v) for v in g.values()) for g in grids) if grids else 1
    check_bytes(f"{source}: {points} grid point(s) x {seeds} seed(s) = {points * seeds} "
                f"trials", sweep_bytes(points * seeds))


def _check_trial_sizes(spec: SweepSpec) -> None:
    """Refuse a sweep one of whose groups (evaluate: ``batch`` networks trained together;
    capacity: one network per tested count, trained together; capacity search: one network at
    a time, up to ``min(pool, 4 N)`` patterns) would exceed the memory limit with its cues."""
    worst, what = 0, ""
    for t in spec.trials:
        c = t.config
        if c["trial"] == "evaluate":
            networks, stored = spec.batch, c["patterns"]
        else:
            networks = len(c["counts"]) if c["counts"] else 1
            stored = max(c["counts"]) if c["counts"] else min(c["pool"] or 0, 4 * c["n_neurons"])
        hidden = c["hidden"] if isinstance(c["hidden"], list) else (
            [c["hidden"]] if c["hidden"] else None)
        tile = c["chip_spec"]["array"]
        nbytes = request_bytes(c["n_neurons"], networks=networks, hidden=hidden,
                               cues=networks * stored * c["probes"] + (c["pool"] or 0),
                               rows=tile["rows"],
                               cols=tile["cols"])
        if nbytes > worst:
            worst, what = nbytes, (f"{spec.source}: a group of {networks} network(s) with "
                                   f"n_neurons = {c['n_neurons']}")
    check_bytes(what, worst)


def _check_option(key: str, value: Any, where: str, trial: str) -> Any:
    if key == "rule_options":
        raise ConfigError(f"rule options go in [rule_options.RULE] tables (or grid keys "
                          f"rule_options.RULE.KEY), not in {where}")
    only = OPTIONS[key].meta.get("only") if key in OPTIONS else None
    if only and only != trial:
        raise ConfigError(f"{where} {key}: applies to {only} trials only, this sweep runs "
                          f"{trial} trials")
    return _checked(OPTIONS, key, value, where)


def _flatten_grid(table: dict[str, Any], where: str, trial: str) -> dict[str, list[Any]]:
    flat: dict[str, list[Any]] = {}
    for key, values in table.items():
        if key == "rule_options":
            if not isinstance(values, dict):
                raise ConfigError(f"{where} rule_options must be a table RULE.KEY = [...]")
            for rule, opts in values.items():
                _RULE(rule, f"{where} rule_options table name")
                if not isinstance(opts, dict):
                    raise ConfigError(f"{where} rule_options.{rule} must be a table")
                _check_rule_keys(rule, opts, f"{where} rule_options.{rule}", grid=True)
                for opt, vals in opts.items():
                    name = f"rule_options.{rule}.{opt}"
                    flat[name] = _grid_values(vals, f"{where} {name}")
                    _no_repeats(flat[name], f"{where} {name}")
            continue
        vals = _grid_values(values, f"{where} {key}")
        _no_repeats([_check_option(key, v, where, trial) for v in vals], f"{where} {key}")
        flat[key] = vals
    return flat


def _no_repeats(values: list[Any], where: str) -> None:
    """Refuse a grid list naming one value twice (after checking: 0 and 0.0 are one fault
    rate): the repeat adds no trial, so the grid is not the one written."""
    seen: set[str] = set()
    for value in values:
        text = json.dumps(value, sort_keys=True)
        if text in seen:
            raise ConfigError(f"{where}: {value!r} is listed twice (each grid value is one "
                              f"point of the grid)")
        seen.add(text)


def _check_rule_dimensions(grid: dict[str, list[Any]], base: dict[str, Any],
                           where: str) -> None:
    """Refuse a grid key ``rule_options.RULE.KEY`` when no trial of the grid trains RULE (the
    grid's ``rule`` values, else ``[base] rule``, else the default): its values would all
    give the same trials."""
    rules = grid.get("rule", [base.get("rule", OPTIONS["rule"].default)])
    for key in grid:
        if key.startswith("rule_options."):
            rule = key.split(".", 2)[1]
            if rule not in rules:
                raise ConfigError(f"{where} {key}: no trial of this grid uses rule {rule!r} "
                                  f"(rule = {', '.join(map(repr, rules))}), so its values "
                                  f"change nothing")


def _check_rule_keys(rule: str, options: dict[str, Any], where: str, *,
                     grid: bool = False) -> None:
    """Refuse a key that is no option of ``rule`` (the hardware-adaptive rule: of one-layer or
    multilayer memories), or a value its field refuses (``lr = nan``, ``seed = -1``), whether
    or not any trial of the sweep uses the rule: a misspelt option or a bad value is an error,
    not an option silently left out (``grid``: each value is a list of values, each checked).
    Checks across options are made per trial."""
    from xbarmem.learning.classic import CLASSIC_RULES
    from xbarmem.learning.multilayer import MultilayerTrainer

    cls = MultilayerTrainer if rule == "adaptive" else CLASSIC_RULES[rule]
    fields = cls.spec_fields()
    allowed = sorted(fields)
    for key, value in options.items():
        if key not in allowed:
            raise unknown_key(where, key, allowed)
        for item in (value if grid and isinstance(value, list) else [] if grid else [value]):
            if fields[key].rule is not None:
                fields[key].rule(item, f"{where} {key}")


def _grid_values(values: Any, where: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: grid values must be a non-empty list, got {shown(values)}")
    return values


# --------------------------------------------------------------------------- expansion
def expand(spec: SweepSpec) -> list[Trial]:
    """Every trial of the sweep (grid points x seeds), resolved, checked and deduplicated, in a
    deterministic order."""
    points: list[dict[str, Any]] = []
    for grid in spec.grids or [{}]:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            points.append(dict(zip(keys, combo, strict=True)))
    trials: dict[str, Trial] = {}
    for point in points:
        for seed in spec.seeds:
            raw = {**spec.base, **{k: v for k, v in point.items()
                                   if not k.startswith("rule_options.")}}
            extra = {k.split(".", 2)[2]: v for k, v in point.items()
                     if k.startswith(f"rule_options.{raw.get('rule', 'adaptive')}.")}
            config = resolve(raw, spec.trial, seed, spec.rule_options, extra)
            key = trial_key(config)
            trials.setdefault(key, Trial(key, config))
    return list(trials.values())


def _describe(raw: dict[str, Any], seed: int) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(raw.items()))
    return f"(trial: {shown}, seed={seed})"


def resolve(raw: dict[str, Any], trial: str, seed: int,
            rule_options: dict[str, dict[str, Any]] | None = None,
            extra_rule_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complete configuration of one trial from its given options (see module docstring).

    Raises :class:`ConfigError` naming the offending key when options contradict each other or
    cannot be satisfied (e.g. more patterns than the data has)."""
    try:
        return _resolve(raw, trial, seed, rule_options or {}, extra_rule_options or {})
    except XbarmemError as exc:
        raise ConfigError(f"{exc} {_describe(raw, seed)}") from None


def _resolve(raw, trial, seed, rule_options, extra) -> dict[str, Any]:
    given = set(raw)
    c: dict[str, Any] = {}
    for key, opt in OPTIONS.items():
        if opt.meta.get("only", trial) != trial:
            continue
        c[key] = opt.check(raw[key], key) if key in raw else opt.default
    c["trial"], c["seed"] = trial, int(seed)
    binary = c["kind"] == "binary"
    if c["corruption"] is None:
        c["corruption"] = "flip" if binary else "gaussian"
    if c["level"] is None:
        c["level"] = 0.1 if c["corruption"] in ("flip", "salt-pepper") else 0.6
    if c["activation"] is None:
        c["activation"] = "sign" if binary else "tanh"
    if c["corruption"] in ("flip", "salt-pepper", "occlude") and c["level"] > 1:
        raise _fail("level", c["level"], f"a {c['corruption']} level must be in [0, 1]")
    if c["corruption"] in ("flip", "salt-pepper") and not binary:
        raise _fail("corruption", c["corruption"], "applies to binary patterns only")
    # architecture
    if c["arch"] == "single":
        if "hidden" in given:
            raise _fail("hidden", raw["hidden"], "applies to arch = 'multilayer' only")
        c["hidden"] = None
    elif c["rule"] != "adaptive":
        raise _fail("rule", c["rule"], "multilayer memories are trained by the hardware-"
                    "adaptive rule only (rule = 'adaptive')")
    # data
    _resolve_data(c, given)
    # chip: resolved to its full description, so the key changes if a preset file changes
    c["chip_spec"] = _chip_spec(c["chip"], c["fault_rate"], c["on_fraction"], c["fault_model"])
    # rule options, resolved with the rule's defaults (trainer seed = trial seed unless given)
    options = {**rule_options.get(c["rule"], {}), **extra}
    c["rule_options"] = _rule_options(c["rule"], c["arch"], json.dumps(options, sort_keys=True),
                                      c["seed"], c["kind"])
    if trial == "capacity":
        if c["search"]:
            if "counts" in given:
                raise _fail("counts", raw["counts"], "give either counts or search = true")
            if c["variation"] > 0:
                raise _fail("variation", c["variation"], "search = true does not support "
                            "programming variation; give counts instead")
        elif c["counts"] is None:
            raise ConfigError("capacity trials need counts = [...] (or search = true)")
        else:
            if c["counts"][-1] > c["pool"]:
                raise _fail("counts", c["counts"], f"largest count exceeds pool = {c['pool']}")
        for key in ("resolution", "cue_budget"):
            if not c["search"] and key in given:
                raise _fail(key, raw[key], "applies to search = true only")
        if c["cue_budget"] and c["rule"] != "adaptive":
            raise _fail("cue_budget", c["cue_budget"], "applies to rule = 'adaptive' only")
    from xbarmem.version import __version__

    c["version"] = __version__
    return c


def _resolve_data(c: dict[str, Any], given: set[str]) -> None:
    data, n = c["data"], c["n_neurons"]
    sized = c["trial"] == "capacity" or c.get("selection") in ("random", "random-per-class")
    if data in BUILTIN_DATA:
        try:
            image_side(data, n)
        except PatternError as exc:
            raise _fail("n_neurons", n, str(exc)) from None
        available = BUILTIN_DATA[data]
        classes = IMAGE_SETS.get(data, 10)
    elif is_drawn(data):
        if data != "random" and c["kind"] != "binary":
            raise _fail("kind", c["kind"], f"data {data!r} is binary only")
        available, classes = None, 0
    else:
        available, classes, digest = _file_info(data, c["kind"], n)
        c["data_sha256"] = digest
    if c["trial"] == "evaluate":
        sel, p = c["selection"], c["patterns"]
        if sel in ("one-per-class", "random-per-class"):
            if not classes:
                raise _fail("selection", sel, f"data {data!r} has no class labels")
            if p > classes:
                raise _fail("patterns", p, f"{sel} selection gives at most {classes} patterns")
        elif sel == "first" and available is not None and p > available:
            raise _fail("patterns", p, f"data {data!r} has only {available} patterns")
        elif sel == "random" and p > c["pool"]:
            raise _fail("patterns", p, f"exceeds pool = {c['pool']}")
    if available is not None and sized and c["pool"] > available:
        raise _fail("pool", c["pool"], f"data {data!r} has only {available} patterns")
    if not sized:
        if "pool" in given:
            raise _fail("pool", c["pool"], "applies to random selection and capacity trials "
                        "only")
        c["pool"] = None


def _file_info(path: str, kind: str, n: int) -> tuple[int, int, str]:
    """``(patterns, classes, sha256)`` of a pattern file (``classes``: its distinct labels, 0
    without labels), read again once the file changed (its size or modification time: a file
    rewritten in one Python session is a new data set)."""
    try:
        info = os.stat(path)
        stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
    except OSError:
        stamp = None
    return _file_info_of(path, kind, n, stamp)


@functools.lru_cache(maxsize=32)
def _file_info_of(path: str, kind: str, n: int, stamp: tuple[int, int, int] | None
                  ) -> tuple[int, int, str]:
    from xbarmem.data.readers import load_file

    p = Path(path)
    if not p.is_file():
        raise _fail("data", path, "not a built-in set (mnist, mnist-crop24, digits, glyphs, "
                    "random, correlated-R) and no such file")
    side = math.isqrt(n)
    pset = load_file(p, kind=kind, side=side if side * side == n and side >= 4 else None)
    if pset.n_neurons != n:
        raise _fail("n_neurons", n, f"the patterns in {path} have N = {pset.n_neurons}")
    classes = 0 if pset.labels is None else len(set(pset.labels.tolist()))
    return pset.n_patterns, classes, hashlib.sha256(p.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=256)
def _chip_spec(chip: str, fault_rate: float | None, on_fraction: float,
               fault_model: str | None) -> dict[str, Any]:
    try:
        spec: ChipSpec = load_chip(chip)
    except XbarmemError as exc:
        raise _fail("chip", chip, str(exc)) from None
    if fault_model is not None:
        spec = spec.with_fault_model(fault_model)
    if fault_rate is not None:
        spec = spec.with_faults(fault_rate, on_fraction)
    return spec.to_dict()


@functools.lru_cache(maxsize=1024)
def _rule_options(rule: str, arch: str, options_json: str, seed: int,
                  kind: str = "binary") -> dict[str, Any]:
    options = json.loads(options_json)
    where = f"rule_options.{rule}"
    try:
        if rule == "adaptive":
            from xbarmem.learning.adaptive import AdaptiveTrainer
            from xbarmem.learning.multilayer import MultilayerTrainer

            cls = MultilayerTrainer if arch == "multilayer" else AdaptiveTrainer
            allowed = cls().option_names(2 if arch == "multilayer" else 1)
            for key in options:
                if key not in allowed:
                    raise unknown_key(f"[{where}]", key, sorted(allowed))
            return cls(**{"seed": seed, **options}).options(2 if arch == "multilayer" else 1,
                                                             kind)
        from xbarmem.learning.classic import get_rule

        obj = get_rule(rule, **options)
    except TypeError as exc:
        raise ConfigError(f"[{where}]: {exc}") from None
    except ConfigError as exc:
        text = str(exc)
        raise ConfigError(text if text.startswith((f"unknown [{where}]", f"[{where}]"))
                          else f"[{where}]: {text}") from None
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def trial_key(config: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a resolved trial configuration."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
