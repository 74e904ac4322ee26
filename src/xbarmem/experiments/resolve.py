"""One trial's complete configuration from its given options (:func:`resolve`: defaults filled
in, options that contradict each other refused, the chip, data and rule options resolved) and
its store key (:func:`trial_key`)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from xbarmem.data.builtin import IMAGE_SETS
from xbarmem.data.patterns import check_storable
from xbarmem.data.sources import image_side, is_drawn
from xbarmem.errors import ConfigError, PatternError, XbarmemError
from xbarmem.evaluation.search_plan import applied_budget
from xbarmem.experiments.plan_cache import PlanCache, canonical
from xbarmem.experiments.trial_options import (
    BUILTIN_DATA,
    OPTIONS,
    _fail,
    hidden_widths,
)
from xbarmem.hardware.chip import ChipSpec, chip_name, load_chip
from xbarmem.names import BIT_CORRUPTIONS, LEVEL_BOUNDS, default_cues
from xbarmem.spec import (
    unknown_key,
)


def search_config(n_neurons: int, *, arch: str, hidden: Any, rule: str, kind: str,
                  probes: int, cue_budget: int, seed: int, levels: int = 0,
                  rule_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parts of the capacity search trial (``trial = "capacity"``, ``search = true``) a
    sweep would resolve for one search of the given settings that its estimated work
    (:func:`~xbarmem.experiments.costs.cost_parts`) reads: ``n_neurons``, ``arch``,
    ``hidden`` (the widths trained, None for one layer), ``rule``, ``kind``, ``probes``,
    ``cue_budget`` (0 unless the rule is ``adaptive``, whose cues it sets) and the rule's
    options resolved as :func:`resolve` resolves them (with ``seed`` and a chip of ``levels``
    conductance levels). Errors as :func:`resolve`'s."""
    c: dict[str, Any] = {"trial": "capacity", "search": True, "n_neurons": int(n_neurons),
                         "arch": arch, "rule": rule, "kind": kind, "probes": int(probes),
                         "cue_budget": applied_budget(cue_budget, rule),
                         "seed": int(seed)}
    c["hidden"] = hidden_widths(hidden, c["n_neurons"]) if arch == "multilayer" else None
    c["rule_options"] = _rule_options(rule, arch, json.dumps(rule_options or {}, sort_keys=True),
                                      c["seed"], kind, _sizes(c), levels)
    return c


def _describe(raw: dict[str, Any], seed: int) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(raw.items()))
    return f"(trial: {shown}, seed={seed})"


def resolve(raw: dict[str, Any], trial: str, seed: int,
            rule_options: dict[str, dict[str, Any]] | None = None,
            extra_rule_options: dict[str, Any] | None = None,
            cache: PlanCache | None = None) -> dict[str, Any]:
    """The complete configuration of one trial from its given options ``raw`` (see module
    docstring), of kind ``trial`` and seed ``seed``, with the options of each rule
    ``rule_options`` (by rule) and ``extra_rule_options`` (of the trial's rule, over them).
    ``cache``: the :class:`~xbarmem.experiments.plan_cache.PlanCache` of a sweep's planning,
    in which an option value (one object) that many trials give is checked once, and a chip or
    pattern file's stamp read once (the same configuration).

    Raises :class:`ConfigError` naming the offending key when options contradict each other or
    cannot be satisfied (e.g. more patterns than the data has)."""
    try:
        return _resolve(raw, trial, seed, rule_options or {}, extra_rule_options or {},
                        cache)
    except XbarmemError as exc:
        raise ConfigError(f"{exc} {_describe(raw, seed)}") from None


def _resolve(raw, trial, seed, rule_options, extra, cache) -> dict[str, Any]:
    given = set(raw)
    c: dict[str, Any] = {}
    for key, opt, fixed in _trial_fields(trial, cache):
        if key in raw:
            c[key] = _checked_value(opt, key, raw[key], cache)
        else:
            c[key] = opt.default if fixed is _FRESH else fixed
    c["trial"], c["seed"] = trial, int(seed)
    c["corruption"], c["level"], c["activation"] = default_cues(
        c["kind"], c["corruption"], c["level"], c["activation"])
    _check_cues(c)
    # architecture
    if c["arch"] == "single":
        if "hidden" in given:
            raise _fail("hidden", raw["hidden"], "applies to arch = 'multilayer' only")
        c["hidden"] = None
    elif c["rule"] != "adaptive":
        raise _fail("rule", c["rule"], "multilayer memories are trained by the hardware-"
                    "adaptive rule only (rule = 'adaptive')")
    else:  # the widths trained ('1n' -> N), so a width given as a number keeps its key
        c["hidden"] = hidden_widths(c["hidden"], c["n_neurons"])
    # data
    _resolve_data(c, given, cache)
    # chip: a preset by its own name (as every name is stored); resolved to its full
    # description, so the key changes if a preset file changes
    c["chip"] = chip_name(c["chip"]) if cache is None else cache.once(c["chip"], "chip",
                                                                       chip_name)
    c["chip_spec"] = _chip_spec(c["chip"], c["fault_rate"], c["on_fraction"], c["fault_model"],
                                cache)
    if "on_fraction" in given:
        _check_on_fraction(c)
    # rule options, resolved with the rule's defaults (trainer seed = trial seed unless given)
    options = {**rule_options.get(c["rule"], {}), **extra}
    c["rule_options"] = _rule_options(c["rule"], c["arch"], json.dumps(options, sort_keys=True),
                                      c["seed"], c["kind"], _sizes(c),
                                      c["chip_spec"]["device"]["levels"])
    _warn_rule_kind(c)
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


#: a field whose default is made afresh for each trial (:func:`_trial_fields`)
_FRESH = object()


def _trial_fields(trial: str, cache: PlanCache | None) -> list[tuple[str, Any, Any]]:
    """``(key, field, default)`` of every option of a ``trial`` kind, in the order of
    :data:`OPTIONS`, ``default`` :data:`_FRESH` for a field whose default each trial makes
    afresh (a list); listed once per ``cache``."""
    def listed(options: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        return [(key, opt, _FRESH if opt.field.default_factory is not dataclasses.MISSING
                 else opt.default) for key, opt in options.items()
                if opt.meta.get("only", trial) == trial]

    return listed(OPTIONS) if cache is None else cache.once(OPTIONS, f"fields {trial}", listed)


def _checked_value(opt: Any, key: str, value: Any, cache: PlanCache | None) -> Any:
    """``opt.check(value, key)``: once per ``cache`` for a value of one object (a list or a
    table is checked for each trial: each holds its own)."""
    if cache is None or isinstance(value, (list, dict)):
        return opt.check(value, key)
    return cache.once(value, f"option {key}", lambda v: opt.check(v, key))


def _check_on_fraction(c: dict[str, Any]) -> None:
    """Refuse a given ``on_fraction`` that changes nothing, as ``--on-fraction`` is refused:
    under the weight fault model (a faulty weight is 0), and without ``fault_rate`` (the
    chip's own stuck rates, and their ON/OFF split, are used); either ran identical trials
    under different keys."""
    if c["chip_spec"]["array"]["fault_model"] != "device":
        raise _fail("on_fraction", c["on_fraction"], "applies to the device fault model only "
                    "(a faulty weight of the weight model is 0, neither stuck ON nor OFF; give "
                    "fault_model = 'device' for devices stuck at g_min or g_max)")
    if c["fault_rate"] is None:
        raise _fail("on_fraction", c["on_fraction"], "applies with fault_rate only (without "
                    "it the chip's own stuck rates are used, ON/OFF split as the chip gives "
                    "them; give fault_rate = X for X stuck devices, on_fraction of them ON)")


def _warn_rule_kind(c: dict[str, Any]) -> None:
    """The warning of a rule defined for +-1 patterns trained on continuous ones
    (:func:`~xbarmem.learning.classic.warn_rule_kind`), given when the trial is planned: its
    run warns nothing (:func:`~xbarmem.experiments.trial.run_group` runs it quiet)."""
    if c["kind"] == "continuous" and c["rule"] != "adaptive":
        from xbarmem.learning.classic import warn_rule_kind

        warn_rule_kind(c["rule"], c["kind"])


def _check_cues(c: dict[str, Any]) -> None:
    """Refuse the cues a trial of resolved options ``c`` could not corrupt: a level above the
    corruption's bound (:data:`~xbarmem.names.LEVEL_BOUNDS`, what corrupting them refuses), a
    bit corruption of continuous patterns."""
    upper = LEVEL_BOUNDS[c["corruption"]]
    if c["level"] > upper:
        raise _fail("level", c["level"], f"a {c['corruption']} level must be in [0, {upper:.3g}]"
                    + ("" if upper == 1.0 else " (the largest float32)"))
    if c["corruption"] in BIT_CORRUPTIONS and c["kind"] != "binary":
        raise _fail("corruption", c["corruption"], "applies to binary patterns only")


def _resolve_data(c: dict[str, Any], given: set[str], cache: PlanCache | None = None) -> None:
    data, n = c["data"], c["n_neurons"]
    sized = c["trial"] == "capacity" or c.get("selection") in ("random", "random-per-class")
    if c["zero_one"] and (data in BUILTIN_DATA or is_drawn(data)):
        raise ConfigError(f"zero_one = true: reads a pattern file's values in [0, 1]; data "
                          f"{data!r} is {'built in' if data in BUILTIN_DATA else 'drawn'} "
                          f"(its patterns are +-1 already)")
    if c["data_key"] is not None and (data in BUILTIN_DATA or is_drawn(data)):
        raise _fail("data_key", c["data_key"], f"names an array of a pattern .npz file; data "
                    f"{data!r} is {'built in' if data in BUILTIN_DATA else 'drawn'}, no file")
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
        available, classes, digest = _file_info(data, c["kind"], n, c["zero_one"],
                                                c["data_key"], cache)
        c["data_sha256"] = digest
    if c["trial"] == "evaluate":
        sel, p = c["selection"], c["patterns"]
        if sel in ("one-per-class", "random-per-class"):
            if not classes:
                raise _fail("selection", sel, f"data {data!r} has no class labels"
                            + _unlabelled(data, c["data_key"]))
            if p > classes:
                raise _fail("patterns", p, f"{sel} selection gives at most {classes} patterns")
        elif sel == "first" and available is not None and p > available:
            raise _fail("patterns", p, f"data {data!r} has only {available} patterns")
    if available is not None and sized and "pool" not in given:
        c["pool"] = min(c["pool"], available)  # (the default: a file of fewer, all of them)
    if c["trial"] == "evaluate" and c["selection"] == "random" and c["patterns"] > c["pool"]:
        raise _fail("patterns", c["patterns"], f"exceeds pool = {c['pool']}")
    if available is not None and sized and c["pool"] > available:
        raise _fail("pool", c["pool"], f"data {data!r} has only {available} patterns")
    if not sized:
        if "pool" in given:
            raise _fail("pool", c["pool"], "applies to random selection and capacity trials "
                        "only")
        c["pool"] = None


def _unlabelled(data: str, key: str | None) -> str:
    """Why the pattern file ``data`` (its .npz array ``key``) gives no labels, in brackets
    (:func:`~xbarmem.data.readers.unlabelled_why`: it has a ``labels`` array, of a shape or
    values that are not one whole number per pattern); empty for a built-in or drawn set."""
    from xbarmem.data.readers import unlabelled_why

    if data in BUILTIN_DATA or is_drawn(data):
        return ""
    return f" ({unlabelled_why(data, key)})"


def _stamp(path: str, cache: PlanCache | None = None) -> tuple[int, int, int] | None:
    """What tells a file from itself rewritten (its size, modification time and inode), for
    the caches of what is read from it; None when there is no such file (a preset's name).
    Read once per ``cache`` (a sweep's planning) and ``path`` object."""
    if cache is not None:
        return cache.once(path, "stamp", _stamp)
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _file_info(path: str, kind: str, n: int, zero_one: bool = False, key: str | None = None,
               cache: PlanCache | None = None) -> tuple[int, int, str]:
    """``(patterns, classes, sha256)`` of a pattern file read as its trials read it (``kind``;
    ``zero_one``: values in [0, 1] mapped by 2*x - 1, other values refused as every command
    refuses them; ``key``: the .npz array read, an unknown one refused naming the file's;
    ``classes``: its distinct labels, 0 without labels; a file holding an
    all-zero pattern refused, as ``train`` refuses it), read again once the file changed (its
    size or modification time: a file rewritten in one Python session is a new data set;
    ``cache``: :func:`_stamp`'s)."""
    return _file_info_of(path, kind, n, zero_one, _stamp(path, cache), key)


@functools.lru_cache(maxsize=32)
def _file_info_of(path: str, kind: str, n: int, zero_one: bool,
                  stamp: tuple[int, int, int] | None, key: str | None = None
                  ) -> tuple[int, int, str]:
    from xbarmem.data.readers import arrays_chosen_by, load_file_neurons

    p = Path(path)
    if not p.is_file():
        raise _fail("data", path, "not a built-in set (mnist, mnist-crop24, digits, glyphs, "
                    "random, correlated-R) and no such file")
    # (resized as every trial resizes: patterns_for)
    with arrays_chosen_by("data_key = NAME (a sweep's field, in [base] or [grid])"):
        pset = load_file_neurons(p, n, kind=kind, zero_one=zero_one, key=key)
    if pset.n_neurons != n:
        raise _fail("n_neurons", n, f"the patterns in {path} have N = {pset.n_neurons}; set "
                    f"n_neurons = {pset.n_neurons} (its default is 64)")
    check_storable(pset, path)  # (a zero pattern: refused here, as train refuses the file)
    classes = 0 if pset.labels is None else len(set(pset.labels.tolist()))
    return pset.n_patterns, classes, hashlib.sha256(p.read_bytes()).hexdigest()


def _chip_spec(chip: str, fault_rate: float | None, on_fraction: float,
               fault_model: str | None, cache: PlanCache | None = None) -> dict[str, Any]:
    """The full description of a trial's chip, read again once a chip file changed (a chip
    TOML edited in one Python session planned, keyed and trained its trials on the chip as it
    was first read; ``cache``: :func:`_stamp`'s)."""
    return _chip_spec_of(chip, fault_rate, on_fraction, fault_model, _stamp(chip, cache))


@functools.lru_cache(maxsize=256)
def _chip_spec_of(chip: str, fault_rate: float | None, on_fraction: float,
                  fault_model: str | None, stamp: tuple[int, int, int] | None
                  ) -> dict[str, Any]:
    try:
        spec: ChipSpec = load_chip(chip)
    except XbarmemError as exc:
        raise _fail("chip", chip, str(exc)) from None
    described = spec.description
    if fault_model is not None:
        spec = spec.with_fault_model(fault_model)
    if fault_rate is not None:
        spec = spec.with_faults(fault_rate, on_fraction)
    # (the chip's own description, not the copy's list of changes: the trial's fault_rate
    # and fault_model say them, and the keys of the stores written before stay the same)
    return {**spec.to_dict(), "description": described}


def _sizes(c: dict[str, Any]) -> tuple[int, ...]:
    """The layer widths ``(N, H..., N)`` of the trial's memory."""
    n = c["n_neurons"]
    if c["arch"] != "multilayer":
        return (n, n)
    from xbarmem.memory.multilayer import layer_sizes

    return tuple(layer_sizes(n, c["hidden"]))


@functools.lru_cache(maxsize=1024)
def _rule_options(rule: str, arch: str, options_json: str, seed: int,
                  kind: str = "binary", sizes: tuple[int, ...] | None = None,
                  levels: int = 0) -> dict[str, Any]:
    """The rule's options resolved with its defaults, as the trial is keyed by them (the
    hardware-adaptive rule's :meth:`~xbarmem.learning.adaptive.AdaptiveTrainer.keyed_options`
    on a chip of ``levels`` conductance levels)."""
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
            trainer = cls(**{"seed": seed, **options})
            layers = 2 if arch == "multilayer" else 1
            trainer.refuse_inapplicable(layers, kind, sizes)  # e.g. init linear on N -> H < N
            return trainer.keyed_options(layers, kind, levels)
        from xbarmem.learning.classic import rule_from_options

        obj = rule_from_options(rule, options)
    except TypeError as exc:
        raise ConfigError(f"[{where}]: {exc}") from None
    except ConfigError as exc:
        text = str(exc)
        raise ConfigError(text if text.startswith((f"unknown [{where}]", f"[{where}]"))
                          else f"[{where}]: {text}") from None
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def trial_key(config: dict[str, Any], cache: PlanCache | None = None) -> str:
    """SHA-256 (hex) of the canonical JSON of a resolved trial configuration ``config``
    (``ValueError`` for a NaN or an infinity in it); ``cache``: the
    :class:`~xbarmem.experiments.plan_cache.PlanCache` of a sweep's planning, which writes
    the tables its trials share once (the same key)."""
    text = (canonical(config, compact=True) if cache is None
            else cache.text(config, compact=True))
    return hashlib.sha256(text.encode()).hexdigest()
