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
SHA-256; ``tol`` only when not the default, ``zero_one`` only when true and ``data_key``
only when given, :func:`keyed_when_set` -- and keyed by the SHA-256 of that configuration
(:func:`trial_key`; a trial whose
numbers depend on the networks trained beside it also by its batch,
:func:`xbarmem.experiments.batches.batch_keyed`). Unknown keys and
impossible values raise :class:`~xbarmem.errors.ConfigError` naming the file, the table and the
key.
"""
from __future__ import annotations

import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from xbarmem.checks import check_type, checked_keywords, counted, result_repr, shown
from xbarmem.errors import ConfigError, warn
from xbarmem.evaluation.search_plan import (
    budget_copies,
    check_search_fit,
    check_search_fits,
    default_start,
    search_reach,
)
from xbarmem.experiments.batches import batch_keyed
from xbarmem.experiments.fields import KEYED_WHEN_SET
from xbarmem.experiments.plan_cache import PlanCache
from xbarmem.experiments.resolve import resolve, trial_key
from xbarmem.experiments.trial_options import (
    _HEAD,
    _RULE,
    OPTIONS,
    TOP_KEYS,
    SweepHead,
    SweepName,
    _checked,
    printable_name,
)
from xbarmem.files import as_path, parse_text, read_text, unparsed
from xbarmem.limits import TooLargeError, check_bytes
from xbarmem.names import (
    BIT_CORRUPTIONS,
    DEFAULT_TOL,
    bit_cue_similarity,
    corruption_words,
    cues_pass_text,
    tol_entry,
)
from xbarmem.sizes import (
    cue_load,
    fit_cue_bytes,
    layer_sizes,
    request_bytes,
    sweep_bytes,
)
from xbarmem.spec import (
    unknown_key,
)

__all__ = ["SweepSpec", "load_sweep", "parse_sweep"]


# --------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Trial:
    """One trial: its store key and its complete resolved configuration (JSON-able)."""

    key: str
    config: dict[str, Any]


@dataclass
class SweepSpec:
    """A validated sweep (built by :func:`parse_sweep`, which checks every field): its ``name``,
    the ``trial`` kind, ``seeds``, ``batch`` (networks trained together), the ``base``
    options, the ``grids`` swept over them, the per-rule ``rule_options``, the file it came
    from (``source``), its ``description`` and its expanded ``trials``."""

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
    #: what its planning made once (the keys of its trials' networks and batches: planned
    #: again when the sweep runs), and the trials it planned (a run reuses it for those only)
    _cache: tuple[PlanCache, tuple[Trial, ...]] | None = field(default=None, init=False,
                                                                repr=False, compare=False)

    def __repr__(self) -> str:
        """One line: the sweep's name, trial kind, seeds, batch, base options, grids, rule
        options and file, each brief (:func:`~xbarmem.checks.result_repr`: a list of numbers
        by its count and range), and how many trials it expands to -- the generated repr
        printed every trial's whole configuration (252 kB for the 240 trials of
        ``examples/sweeps/storkey-variant.toml``). :meth:`as_dict` and the attributes hold
        every value."""
        return result_repr("SweepSpec", {
            "name": self.name, "trial": self.trial, "seeds": _few(self.seeds),
            "batch": self.batch, "base": _few(self.base), "grids": _few(self.grids),
            "rule_options": _few(self.rule_options), "source": self.source,
            "trials": len(self.trials)})

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


class _Written:
    """Shows as the text it holds (a short list as written, in a repr)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _few(value: Any) -> Any:
    """``value`` for :meth:`SweepSpec.__repr__`: a list of at most 4 plain values as written
    (``[False, True]``, ``[0, 1]``: a grid's values, not ``1 of 2`` true), in dicts and lists
    too; longer lists are left to :func:`~xbarmem.checks.result_repr` (count and range)."""
    if isinstance(value, dict):
        return {k: _few(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) <= 4 and all(v is None or isinstance(v, str | int | float) for v in value):
            return _Written(repr(value))
        return [_few(v) for v in value]
    return value


def _nest_rule_options(grid: dict[str, list[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in grid.items():
        if key.startswith("rule_options."):
            _, rule, opt = key.split(".", 2)
            out.setdefault("rule_options", {}).setdefault(rule, {})[opt] = values
        else:
            out[key] = values
    return out


@checked_keywords
def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate the sweep TOML file at ``path`` (every trial is resolved and
    checked): :class:`FileFormatError` for a missing or unreadable file,
    :class:`ConfigError` for text that is not TOML or a bad sweep (:func:`parse_sweep`)."""
    path = as_path(path)
    text = read_text(path, "sweep file", expand=20.0)  # missing, directory, not UTF-8, size
    try:
        data = parse_text(tomllib.loads, text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {unparsed(exc, 'TOML')}") from None
    if not data:  # an empty (or comments-only) file would run one default trial
        raise ConfigError(f"{path}: the sweep file is empty (no tables, no keys); its "
                          f"options: `xbarmem sweep --list-options`")
    return parse_sweep(data, source=str(path))


def parse_sweep(data: dict[str, Any], source: str = "<sweep>") -> SweepSpec:
    """Validate the sweep tables ``data`` (as read from TOML) and expand every trial; raises
    :class:`ConfigError` naming ``source``, the table and the key of the first problem."""
    check_type(source, str, "source", "a text naming where the tables come from")
    try:
        return _parse(data, source)
    except TooLargeError as exc:  # (kept as such: a caller may word it again, ``naming``)
        raise (exc if str(exc).startswith(f"{source}:") else exc.naming(
            exc.lower, where=f"{source}: ")) from None  # (exc: a sweep's own "FILE: ...")
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
    head = SweepHead(**{"name": given.get("name") or _default_name(source), **given})
    trial = head.trial

    base = _table(data, "base")
    for key, value in base.items():
        _check_base(key, value, trial)
    raw_grid = data.get("grid", [])
    grid_tables = raw_grid if isinstance(raw_grid, list) else [raw_grid]
    if "grid" in data and not grid_tables:
        raise ConfigError("grid = [] lists no grid tables: give [grid] or [[grid]] tables, or "
                          "leave grid out to run the [base] trial alone")
    grids = []
    for i, table in enumerate(grid_tables):
        where = "[grid]" if not isinstance(raw_grid, list) else f"[[grid]] #{i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, got {shown(table)}")
        grids.append(_flatten_grid(table, where, trial))
        if not grids[-1]:  # (it ran the [base] trial: a whole trial of defaults in a union)
            raise ConfigError(f"{where} lists no values to sweep: give its keys lists "
                              f"(rule = [\"hebb\", \"pinv\"]), or leave it out to run the "
                              f"[base] trial alone")
        _check_rule_dimensions(grids[-1], base, where)
    _check_expansion(head, grids, source)
    rule_options: dict[str, dict[str, Any]] = {}
    for rule, opts in _table(data, "rule_options").items():
        name = _rule_table(rule, "[rule_options] table name", rule_options)
        if not isinstance(opts, dict):
            raise ConfigError(f"[rule_options.{rule}] must be a table, got {shown(opts)}")
        _check_rule_keys(name, opts, f"[rule_options.{rule}]")
        rule_options[name] = dict(opts)
    spec = SweepSpec(name=head.name, trial=trial, seeds=head.seed_list, batch=head.batch,
                     base=dict(base), grids=grids, rule_options=rule_options,
                     source=source, description=head.description)
    cache = PlanCache()  # (what every trial shares, made once)
    spec.trials = batch_keyed(expand(spec, cache), spec.batch, cache)
    spec._cache = (cache, tuple(spec.trials))
    _check_trial_sizes(spec)
    _warn_cues_pass(spec)
    _warn_unused_rule_options(spec)
    _warn_base_overridden(spec)
    return spec


def _default_name(source: str) -> str:
    """The name of a sweep whose ``[sweep]`` table gives none: its file's name without the
    suffix (``sweep`` when that is empty), refused when it is no sweep name (:class:`~xbarmem.
    experiments.trial_options.SweepName`: a tab or a space at its end in the file name)."""
    stem = Path(source).stem or "sweep"
    if not printable_name(stem):
        raise ConfigError(f"the sweep's name would be the file's name without its suffix, "
                          f"{stem!r}, which is not {SweepName.what}: give [sweep] name = "
                          f"\"...\"")
    return stem


def _rule_table(rule: str, where: str, named: Any) -> str:
    """The rule a rule-options table names, as the library names it (``Storkey`` is
    ``storkey``; an unknown one refused), refused when ``named`` already holds it (two
    tables of one rule in other spellings)."""
    name = _RULE(rule, where)
    if name in named:
        raise ConfigError(f"{where} {rule!r}: the options of rule {name!r} are given twice "
                          f"(in tables of two spellings of its name)")
    return str(name)


def _warn_base_overridden(spec: SweepSpec) -> None:
    """Warn of ``[base]`` keys that every grid table sets to values without theirs: no trial
    runs with their value (a value kept from an earlier sweep, or meant for a grid point left
    out). A base value a grid lists too runs in its trials."""
    if not spec.grids:
        return
    unused = [k for k in spec.base if all(k in grid and spec.base[k] not in grid[k]
                                          for grid in spec.grids)]
    if unused:
        shown_keys = ", ".join(f"{k} = {shown(spec.base[k])}" for k in unused)
        tables = "[grid]" if len(spec.grids) == 1 else "every [[grid]] table"
        warn(f"{spec.source}: [base] {shown_keys}: {tables} sets "
             f"{'it' if len(unused) == 1 else 'them'}, so no trial runs with "
             f"{'this value' if len(unused) == 1 else 'these values'}")


def _warn_unused_rule_options(spec: SweepSpec) -> None:
    """Warn of ``[rule_options.RULE]`` tables of a rule no trial of the sweep trains: their
    options change nothing (a sweep file's tables kept for another grid, or a rule left out
    of it by mistake)."""
    trained = {t.config["rule"] for t in spec.trials}
    unused = sorted(set(spec.rule_options) - trained)
    if unused:
        tables = ", ".join(f"[rule_options.{r}]" for r in unused)
        warn(f"{spec.source}: {tables}: no trial of this sweep trains "
             f"{'that rule' if len(unused) == 1 else 'those rules'} (it trains "
             f"{', '.join(sorted(trained))}), so the options there change nothing")


def _warn_cues_pass(spec: SweepSpec) -> None:
    """Warn, once per setting, of capacity trials whose thresholds their binary patterns'
    flipped or salt-and-peppered cues pass unchanged (:func:`~xbarmem.names.
    bit_cue_similarity`), as a capacity search run alone does
    (:func:`~xbarmem.evaluation.cue_check.warn_cues_pass`): the trials themselves run with
    their warnings quiet. Other cues need the patterns, which are read when the trials run."""
    said = set()
    for t in spec.trials:
        c = t.config
        if c["trial"] != "capacity" or c["kind"] != "binary" or (
                c["corruption"] not in BIT_CORRUPTIONS):
            continue
        own = bit_cue_similarity(c["corruption"], c["level"])
        low = [x for x in c["thresholds"] if x <= own]
        text = low and cues_pass_text(low, own, corruption_words(c["corruption"], c["level"]),
                                      c["n_neurons"])
        if text and text not in said:
            said.add(text)
            warn(f"{spec.source}: capacity trials: {text}")


def _check_expansion(head: SweepHead, grids: list[dict[str, list[Any]]], source: str) -> None:
    """Refuse a sweep whose trial list alone would exceed the memory limit (before the seeds
    or the grid are expanded)."""
    seeds = head.seeds if isinstance(head.seeds, int) else len(head.seeds)
    points = sum(math.prod(len(v) for v in g.values()) for g in grids) if grids else 1
    check_bytes(f"{source}: {counted(points, 'grid point')} x {counted(seeds, 'seed')} = "
                f"{counted(points * seeds, 'trial')}", sweep_bytes(points * seeds),
                lower="seeds or the [grid] lists" if grids else "seeds")


def _check_trial_sizes(spec: SweepSpec) -> None:
    """Refuse a sweep one of whose groups (:func:`_trial_loads`) would exceed the memory limit
    with its cues and the cues the hardware-adaptive rule trains on."""
    worst, what, lower = 0, "", ""
    for t in spec.trials:
        c = t.config
        hidden = c["hidden"] if isinstance(c["hidden"], list) else (
            [c["hidden"]] if c["hidden"] else None)
        tile = c["chip_spec"]["array"]
        for networks, stored, trains in _trial_loads(c, spec.batch, len(spec.trials)):
            nbytes = request_bytes(c["n_neurons"], networks=networks, hidden=hidden,
                                   cues=networks * stored * c["probes"],
                                   patterns=c["pool"] or 0, rows=tile["rows"],
                                   cols=tile["cols"])
            cues, copies = _training_cues(c, networks, stored, hidden) if trains else (0, 0)
            if nbytes + cues > worst:
                trained = (f" trained on {counted(copies, 'cue')} per pattern (cue_copies)"
                           if copies else "") + (" from a closed-form warm start"
                                                 if trains and _warm_start(c) else "")
                worst, what = nbytes + cues, (
                    f"{spec.source}: a group of {counted(networks, 'network')} with n_neurons = "
                    f"{c['n_neurons']}{trained}")
                lower = _keys_to_lower(c, networks)
    check_bytes(what, worst, lower=lower)
    check_search_fits(partial(_check_search_fit, t.config, spec.source) for t in spec.trials)


def _check_search_fit(c: dict[str, Any], source: str) -> None:
    """Refuse a sweep with a capacity search trial ``c`` whose training at a count the search
    may test (:func:`~xbarmem.evaluation.search_plan.search_reach` of its pool) the trainer
    would refuse mid-run (:func:`~xbarmem.evaluation.search_plan.check_search_fit`, naming
    the sweep's keys ``pool`` and ``n_neurons``)."""
    if c["trial"] != "capacity" or c["counts"] or c["rule"] != "adaptive":
        return
    hidden = c["hidden"] if isinstance(c["hidden"], list) else (
        [c["hidden"]] if c["hidden"] else None)
    sizes = layer_sizes(c["n_neurons"], hidden)
    check_search_fit(c["rule_options"], c["kind"], sizes, 1,
                     search_reach(c["arch"], c["n_neurons"], c["pool"]),
                     cue_budget=c.get("cue_budget") or 0, pool_word="pool", lower="n_neurons",
                     where=f"{source}: ")


def _keys_to_lower(c: dict[str, Any], networks: int) -> str:
    """The sweep keys a refusal of trial ``c``'s group of ``networks`` networks names as what
    to lower: ``batch`` (evaluate) or ``counts`` (capacity) when it trains several together,
    ``patterns`` (evaluate), ``probes`` or ``pool`` above 1, then ``n_neurons``."""
    evaluate = c["trial"] == "evaluate"
    keys = [k for k, v in (("batch" if evaluate else "counts", networks),
                           ("patterns", c["patterns"] if evaluate else 0),
                           ("probes", c["probes"]), ("pool", c.get("pool") or 0)) if v > 1]
    return ", ".join(keys) + " or n_neurons" if keys else "n_neurons"


def _trial_loads(c: dict[str, Any], batch: int, trials: int) -> list[tuple[int, int, bool]]:
    """``(networks, patterns each, with training cues)`` of the groups a trial ``c`` runs
    (``batch`` trials trained together, of ``trials``): evaluate, ``batch`` networks (every
    trial when fewer); capacity, one network per tested count, trained together; a capacity
    search, one network at a time: at up to ``min(pool, 4 N)`` patterns without the cues it
    trains on (``4 N`` is far above the counts most searches test), and at the first count it
    trains (:func:`~xbarmem.evaluation.search_plan.default_start`, at
    most its pool) with them; its training at every count up to there is sized by
    :func:`_check_search_fit`."""
    if c["trial"] == "evaluate":
        return [(min(batch, trials), c["patterns"], True)]
    if c["counts"]:
        return [(len(c["counts"]), max(c["counts"]), True)]
    first = default_start(c["arch"], c["n_neurons"])
    return [(1, min(c["pool"] or 0, 4 * c["n_neurons"]), False),
            (1, min(first, c["pool"]) if c["pool"] else first, True)]


def _training_cues(c: dict[str, Any], networks: int, stored: int,
                   hidden: list[int] | None) -> tuple[int, int]:
    """``(bytes, cue copies per pattern)`` of the sampled cues and a one-layer warm start's
    Gram matrices (:func:`~xbarmem.sizes.fit_cue_bytes`, :func:`_warm_start`) of a trial
    ``c`` of the hardware-adaptive rule training ``networks`` networks
    on ``stored`` patterns each, with its resolved options (a capacity search's ``cue_budget``
    sets the copies per pattern, :func:`~xbarmem.evaluation.search_plan.budget_copies`);
    ``(0, 0)`` for other rules."""
    if c["rule"] != "adaptive":
        return 0, 0
    options = dict(c["rule_options"])
    if c.get("cue_budget"):
        options["cue_copies"] = budget_copies(c["cue_budget"], max(stored, 1))
    return (fit_cue_bytes(networks, stored, layer_sizes(c["n_neurons"], hidden), options,
                          c["kind"]), cue_load(options, c["kind"])[0])


def _warm_start(c: dict[str, Any]) -> bool:
    """Whether a trial ``c`` trains one-layer memories from the closed-form warm start (its
    Gram matrices: :func:`~xbarmem.sizes.warm_start_bytes`)."""
    return c["rule"] == "adaptive" and c["arch"] == "single" and bool(
        (c.get("rule_options") or {}).get("warm_start"))


def _check_option(key: str, value: Any, where: str, trial: str) -> Any:
    if key == "rule_options":
        raise ConfigError(f"rule options go in [rule_options.RULE] tables (or grid keys "
                          f"rule_options.RULE.KEY), not in {where}")
    only = OPTIONS[key].meta.get("only") if key in OPTIONS else None
    if only and only != trial:
        raise ConfigError(f"{where} {key}: applies to {only} trials only, this sweep runs "
                          f"{trial} trials")
    return _checked(OPTIONS, key, value, where)


def _check_base(key: str, value: Any, trial: str) -> None:
    """:func:`_check_option` of a ``[base]`` value; a list refused there whose every item is a
    valid value (``rule = ["adaptive", "pinv"]``) is refused saying that values to run each
    go in ``[grid]``."""
    try:
        _check_option(key, value, "[base]", trial)
    except ConfigError as exc:
        if not isinstance(value, list) or not value:
            raise
        try:
            for item in value:
                _check_option(key, item, "[base]", trial)
        except ConfigError:
            raise exc from None
        raise ConfigError(f"{exc}; to run a trial for each of these values, list them in "
                          f"[grid] ({key} = [...])") from None


def _flatten_grid(table: dict[str, Any], where: str, trial: str) -> dict[str, list[Any]]:
    flat: dict[str, list[Any]] = {}
    for key, values in table.items():
        if key == "rule_options":
            if not isinstance(values, dict):
                raise ConfigError(f"{where} rule_options must be a table RULE.KEY = [...]")
            seen: set[str] = set()
            for rule, opts in values.items():
                named = _rule_table(rule, f"{where} rule_options table name", seen)
                seen.add(named)
                if not isinstance(opts, dict):
                    raise ConfigError(f"{where} rule_options.{rule} must be a table")
                _check_rule_keys(named, opts, f"{where} rule_options.{rule}", grid=True)
                for opt, vals in opts.items():
                    name = f"rule_options.{named}.{opt}"
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
            rule_of = fields[key].rule
            if rule_of is not None:
                rule_of(item, f"{where} {key}")


def _grid_values(values: Any, where: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: grid values must be a non-empty list, got {shown(values)}")
    return values


# --------------------------------------------------------------------------- expansion
def expand(spec: SweepSpec, cache: PlanCache | None = None) -> list[Trial]:
    """Every trial of the sweep (grid points x seeds), resolved, checked and deduplicated, in a
    deterministic order; grid points that resolve to trials already planned (a rule option a
    trial's rule does not take, tables of ``[[grid]]`` naming one point twice, values one
    resolved option holds alike) are warned about in one line (:func:`_warn_repeats`); an axis
    no trial reads is refused, one some trials do not read warned of
    (:func:`_check_unread_axes`). ``cache``: the
    :class:`~xbarmem.experiments.plan_cache.PlanCache` of the planning (default: one of this
    call)."""
    cache = PlanCache() if cache is None else cache
    points: list[tuple[dict[str, Any], int]] = []
    unread: dict[tuple[int, str], list[str | None]] = {}  # (table, axis) -> why, per trial
    for table, grid in enumerate(spec.grids or [{}]):
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            points.append((dict(zip(keys, combo, strict=True)), table))
    trials: dict[str, Trial] = {}
    first: dict[str, int] = {}  # trial key -> the point that planned it
    repeats: dict[int, int] = {}  # point -> the earlier point one of its trials is
    for index, (point, table) in enumerate(points):
        for seed in spec.seeds:
            raw = {**spec.base, **{k: v for k, v in point.items()
                                   if not k.startswith("rule_options.")}}
            extra = {k.split(".", 2)[2]: v for k, v in point.items()
                     if k.startswith(f"rule_options.{raw.get('rule', 'adaptive')}.")}
            config = keyed_when_set(resolve(raw, spec.trial, seed, spec.rule_options, extra,
                                            cache))
            for axis, why in _unread_axes(spec.grids[table] if spec.grids else {},
                                          config).items():
                unread.setdefault((table, axis), []).append(why)
            key = trial_key(config, cache)
            if first.setdefault(key, index) != index:
                repeats.setdefault(index, first[key])
            trials.setdefault(key, Trial(key, config))
    _warn_repeats(spec, points, repeats)
    _check_unread_axes(spec, unread)
    return list(trials.values())


#: trial options a resolved trial may not read: why it does not, or None where it does
#: (options that change nothing in any trial are refused when the trial is resolved)
_UNREAD_TRIAL_OPTIONS = {
    "on_fraction": lambda c: ("fault_rate = 0 leaves no stuck device to split into stuck-ON "
                              "and stuck-OFF" if c["fault_rate"] == 0 else None),
}


def _unread_axes(grid: dict[str, list[Any]], config: dict[str, Any]) -> dict[str, str | None]:
    """For each axis of ``grid`` (a key of several values) that the resolved trial ``config``
    may not read, why it does not, or None when it does: :data:`_UNREAD_TRIAL_OPTIONS`, and
    the options of the hardware-adaptive rule its trials never read
    (:func:`~xbarmem.learning.adaptive.unread_options`). An axis of another rule's option is
    not the trial's (its points are the same trial: :func:`_warn_repeats`)."""
    axes = [key for key, values in grid.items() if len(values) > 1]
    unread = {key: _UNREAD_TRIAL_OPTIONS[key](config) for key in axes
              if key in _UNREAD_TRIAL_OPTIONS}
    prefix = "rule_options.adaptive."
    if config["rule"] == "adaptive" and any(key.startswith(prefix) for key in axes):
        from xbarmem.learning.adaptive import unread_options

        options = unread_options(config["kind"], config["chip_spec"]["device"]["levels"])
        unread.update({key: options.get(key.removeprefix(prefix)) for key in axes
                       if key.startswith(prefix)})
    return unread


def _check_unread_axes(spec: SweepSpec, unread: dict[tuple[int, str], list[str | None]]
                       ) -> None:
    """Refuse a grid axis that none of its trials reads (``unread``: ``(table, axis)`` -> why
    each trial of it does not read it, None where it does; :func:`_unread_axes`): its values
    change nothing, as a rule option of a rule no trial trains
    (:func:`_check_rule_dimensions`) changes nothing. An axis only some of its trials do not
    read is warned of in one line naming it and why: those trials run once per value,
    alike."""
    for (table, axis), whys in unread.items():
        where = "[grid]" if len(spec.grids) == 1 else f"[[grid]] #{table + 1}"
        said = [why for why in whys if why is not None]
        if len(said) == len(whys):
            raise ConfigError(f"{where} {axis}: {said[0]}, so its values change nothing in "
                              f"any trial of this grid")
        if said:
            warn(f"{spec.source}: {where} {axis} changes nothing in {len(said)} of its "
                 f"{counted(len(whys), 'trial')} ({said[0]}): they train and score alike "
                 f"for each of its values")


def keyed_when_set(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved trial ``config`` holding each key of
    :data:`~xbarmem.experiments.fields.KEYED_WHEN_SET` only when it is not that key's default
    (``zero_one`` only when true, ``data_key`` only when given; ``tol`` as
    :func:`~xbarmem.names.tol_entry` records one): the
    configurations, keys and rows of trials that set none are those of sweeps planned before
    trials had them, so their stores resume with no trial run again (a row without one is
    read as holding its default). A trial recalling with ``sign`` reads no ``tol``: it keeps
    none (it is the trial of the same point without one, run once)."""
    drop = {key for key, default in KEYED_WHEN_SET.items()
            if key != "tol" and config.get(key, default) == default}
    reads = config.get("activation") != "sign"
    if not (reads and tol_entry(config.get("tol", DEFAULT_TOL))):
        drop.add("tol")
    return {k: v for k, v in config.items() if k not in drop}


def _warn_repeats(spec: SweepSpec, points: list[tuple[dict[str, Any], int]],
                  repeats: dict[int, int]) -> None:
    """One warning naming the grid points whose trials are those of earlier points, so run
    once (the first two pairs shown, ``later == earlier``): the sweep plans fewer trials than
    its grid has points times seeds."""
    if not repeats:
        return
    pairs = [_pair_text(points[i], points[j])
             for i, j in list(repeats.items())[:2]]
    more = len(repeats) - len(pairs)
    count = len(repeats)
    warn(f"{spec.source}: {count} grid point{'s are' if count > 1 else ' is'} the same "
         f"trial as {'others' if count > 1 else 'another'} and "
         f"run{'' if count > 1 else 's'} once: {'; '.join(pairs)}"
         f"{f' (and {more} more)' if more else ''}")


def _pair_text(later: tuple[dict[str, Any], int], earlier: tuple[dict[str, Any], int]
               ) -> str:
    """Two grid points planning the same trials: the values they differ in (``later ==
    earlier``) and those they share (``with ...``), or the one point and its two ``[[grid]]``
    tables."""
    (new, table), (old, first) = later, earlier

    def shown_of(values: dict[str, Any], keys: list[str]) -> str:
        return ", ".join(f"{k}={json.dumps(values[k])}" for k in keys if k in values)

    differ = [k for k in {**old, **new} if new.get(k, ...) != old.get(k, ...)]
    if not differ:
        return f"{shown_of(new, list(new)) or '[base]'} in [[grid]] #{first + 1} and #{table + 1}"
    shared = [k for k in new if k not in differ]
    if len(differ) == 1 and differ[0] in new and differ[0] in old:  # fault_rate=0.2 == 0.1
        text = f"{shown_of(new, differ)} == {json.dumps(old[differ[0]])}"
    else:
        text = f"{shown_of(new, differ) or '(none)'} == {shown_of(old, differ) or '(none)'}"
    where = f" ([[grid]] #{table + 1} and #{first + 1})" if table != first else ""
    return f"{text}{f' with {shown_of(new, shared)}' if shared else ''}{where}"
