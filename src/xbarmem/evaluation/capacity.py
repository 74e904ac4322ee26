"""Capacity of single-layer and multilayer memories with as few trained networks as needed.

Capacity at a threshold ``theta`` is the largest number of stored patterns ``P`` whose mean
recall similarity -- and that of every smaller tested ``P`` -- is at or above ``theta`` (the rule
of :func:`xbarmem.evaluation.curve.capacity_from_curve`). :func:`search_capacity` grows ``P``
geometrically from a start value until recall fails, then narrows the bracket between the last
passing and the first failing count down to a resolution, each time testing the count where
the straight line through the bracket's two similarities crosses the threshold (kept a quarter
of the bracket away from its ends); every tested count is cached, so several thresholds share
their networks. :func:`find_capacity` runs that search over points of
:func:`xbarmem.evaluation.curve.recall_curve` (``trials`` networks per tested count, trained in
one batch), each storing distinct patterns of the pool, so a search never tests more
patterns than the pool has distinct ones. For continuous patterns "recalled" means the same
thing: the mean cosine between the final (tanh) state and the stored pattern reaches the
threshold. Before any training, a threshold at or below the cues' own cosine with their
patterns is warned about (:func:`~xbarmem.evaluation.cue_check.warn_cues_pass`): a memory that
returned its cues unchanged would pass it; after the search, tanh recalls under read noise that
ran to the cap (``protocol.tol`` below the noise's scale:
:func:`~xbarmem.evaluation.cue_check.warn_noise_capped`).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from xbarmem.checks import (
    canonical,
    check_callback,
    check_type,
    checked_keywords,
    listed,
    reads_as_number,
    resolve_hidden,
    result_repr,
    shown,
    value_equality,
)
from xbarmem.data.patterns import PatternSet, as_pattern_set
from xbarmem.data.sources import data_fields
from xbarmem.errors import ConfigError, caller_stacklevel
from xbarmem.evaluation.capped import capped_recalls
from xbarmem.evaluation.checkpoint import check_entry
from xbarmem.evaluation.cue_check import warn_cues_pass, warn_noise_capped
from xbarmem.evaluation.curve import (
    ARCHS,
    capacity_from_curve,
    curve_trainer,
    fit_options,
    recall_curve,
)
from xbarmem.evaluation.evaluate import Protocol, as_protocol
from xbarmem.evaluation.search_plan import (
    DefaultBudget,
    applied_budget,
    budget_copies,
    check_search_fit,
    default_start,
    search_reach,
)
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FAULTS_TAKEN, FaultMap, paired_chip
from xbarmem.learning.base import Rule, is_rule_object, recorded_options
from xbarmem.learning.fit import DEFAULT_HIDDEN, hidden_for
from xbarmem.memory.build import check_memories
from xbarmem.memory.multilayer import HiddenWidths, layer_sizes
from xbarmem.names import RULE_NAMES, SEARCH_FLIPS
from xbarmem.spec import ListOf, Maybe, Number, check_seed

__all__ = ["ARCHS", "CapacityResult", "check_search", "check_start", "find_capacity",
           "pool_limited", "search_capacity"]

_THRESHOLDS = ListOf(Number(gt=0, le=1), distinct=True)
_TRIALS = Number(ge=1, integer=True)
_START = Maybe(Number(ge=1, integer=True))
_RESOLUTION = Number(ge=0, le=1)
_CUE_BUDGET = Number(ge=0, integer=True)


@checked_keywords
@value_equality
@dataclass
class CapacityResult:
    """Capacity at each threshold, with every tested count and what it cost. Two results are
    equal (``==``) when they hold the same values but for wall-clock times (``seconds``, each
    point's ``train_seconds``: :data:`~xbarmem.checks.WALL_TIMES`), so the same search run
    again with the same seed compares equal.

    Attributes:
        capacity: ``{threshold: P}``, the capacity at each threshold.
        points: every tested count's recall-curve point (dicts, ascending count).
        devices: the devices of one memory (:meth:`~xbarmem.memory.base.Memory.devices`).
        settings: the search's settings (JSON-able): ``arch`` (``single`` / ``multilayer``),
            ``rule``, ``hidden`` (the widths trained, as given: one width an integer, a
            list a list, ``"1n"`` resolved; None for one layer -- as sweep rows record it),
            ``chip`` and ``protocol`` (dicts), ``trials``, ``seed``, the pool (``data``: its
            name; ``pool``: its patterns, ``pool_distinct``: the distinct ones among them;
            ``n_neurons``, ``kind``), ``resolution``,
            ``rule_options``, ``cue_budget``, ``thresholds`` and, with one fault map for
            every network, its summary (``fault_map``).
        seconds: wall time of the search.
        evaluations: number of counts tested.
        capacity_per_device: ``{threshold: capacity / devices}``.
    """

    capacity: dict[float, int]
    points: list[dict[str, Any]]
    devices: dict[str, int]
    settings: dict[str, Any]
    seconds: float
    evaluations: int
    capacity_per_device: dict[float, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Thresholds as numbers, so that ``CapacityResult(**result.as_dict())`` -- whose keys
        are texts (``"0.99"``), as JSON keeps them -- gives the result back
        (:class:`ConfigError` for a key that is no number)."""
        for name in ("capacity", "capacity_per_device"):
            given = check_type(getattr(self, name), dict, name, "a dict {threshold: value}")
            if not all(isinstance(k, str | numbers.Real) and reads_as_number(str(k))
                       for k in given):
                raise ConfigError(f"{name} must be keyed by thresholds (numbers), got "
                                  f"{shown(list(given))}")
            setattr(self, name, {float(k): v for k, v in given.items()})

    def __repr__(self) -> str:
        """The capacities (with the thresholds whose capacity is only a lower bound, the whole
        pool: :func:`pool_limited`), the memory's devices, the counts tested and the main
        settings (:meth:`as_dict` holds every point and setting)."""
        settings = {k: self.settings[k] for k in ("arch", "hidden", "rule", "trials")
                    if self.settings.get(k) is not None}
        limited = self.lower_bound
        bound = {"lower_bound": [float(t) for t in limited]} if limited else {}
        return result_repr("CapacityResult", {
            "capacity": self.capacity, **bound, "capacity_per_device": self.capacity_per_device,
            "devices": self.devices.get("devices"), "evaluations": self.evaluations,
            "counts": [p.get("count") for p in self.points], "seconds": self.seconds,
            **settings, "chip": (self.settings.get("chip") or {}).get("name")})

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every attribute (thresholds as text keys)."""
        return {"capacity": {str(k): v for k, v in self.capacity.items()},
                "capacity_per_device": {str(k): v for k, v in self.capacity_per_device.items()},
                "devices": self.devices, "points": self.points, "settings": self.settings,
                "seconds": self.seconds, "evaluations": self.evaluations}

    @property
    def lower_bound(self) -> list[str]:
        """The thresholds (text keys, as :meth:`as_dict` writes them) whose capacity is only a
        lower bound: every distinct pattern of the pool (:func:`pool_limited`). The one
        computation of what every output of a search calls ``lower_bound`` (the capacity
        command's JSON and table, scaling's runs, a sweep's capacity rows, this repr)."""
        return pool_limited(self.as_dict())


def pool_limited(result: dict[str, Any]) -> list[str]:
    """The thresholds (keys of ``result["capacity"]``, a :meth:`CapacityResult.as_dict`)
    whose capacity is every distinct pattern of the pool: lower bounds, since the search had
    no larger count to test."""
    limit = result["settings"].get("pool_distinct")
    return [t for t, c in result["capacity"].items() if limit and c >= limit]


def search_capacity(score: Callable[[int], float], thresholds: Sequence[float], *,
                    start: int = 4, max_count: int, resolution: float = 0.0,
                    cache: dict[int, float] | None = None) -> dict[float, int]:
    """Capacity at each threshold from as few ``score(P)`` calls as needed.

    Args:
        score: mean recall similarity with ``P`` stored patterns (deterministic given ``P``).
        thresholds: similarity thresholds.
        start: first count tried (the search grows by x2 above it and halves below it).
        max_count: the largest count that may be tried (pool size).
        resolution: stop narrowing when the bracket ``[pass, fail]`` is narrower than
            ``max(1, resolution * pass)`` (0 = exact to one pattern).
        cache: ``{P: similarity}`` shared between calls (filled in place); its counts outside
            ``1..max_count`` (a search of a larger pool's) are kept, not read.

    Returns ``{threshold: capacity}`` (ascending thresholds); capacity follows the monotone
    rule over every count tested, for any threshold (every tested count below it passes), 0
    when even ``P = 1`` fails, and unless it is ``max_count`` a tested count at most ``max(1,
    resolution * capacity)`` above it fails, on any curve (:func:`_narrowed`,
    :func:`_settled`).
    """
    if max_count < 1:
        raise ConfigError(f"max_count must be >= 1, got {max_count}")
    shared = {} if cache is None else cache
    cache = {p: v for p, v in shared.items() if 1 <= p <= max_count}  # (the counts read)

    def sim(p: int) -> float:
        if p not in cache:
            cache[p] = shared[p] = float(score(p))
        return cache[p]

    out = {}
    for theta in sorted(thresholds, reverse=True):
        p = min(max(1, start), max_count)
        if sim(p) >= theta:
            lo, hi = p, None
            while hi is None and lo < max_count:
                nxt = min(2 * lo, max_count)
                if sim(nxt) >= theta:
                    lo = nxt
                else:
                    hi = nxt
        else:
            hi, lo = p, 0
            while lo == 0 and hi > 1:
                nxt = max(1, hi // 2)
                if sim(nxt) >= theta:
                    lo = nxt
                else:
                    hi = nxt
        if hi is not None:
            while hi - lo > max(1.0, resolution * lo):
                mid = _next_count(lo, hi, sim(lo), sim(hi), theta)
                if sim(mid) >= theta:
                    lo = mid
                else:
                    hi = mid
        out[theta] = _narrowed(sim, cache, theta, resolution)
    return dict(sorted(_settled(sim, cache, out, resolution).items()))


def _settled(sim: Callable[[int], float], cache: dict[int, float], caps: dict[float, int],
             resolution: float) -> dict[float, int]:
    """Every threshold's capacity read again from all the counts tested (:func:`_narrowed`)
    until a pass over the thresholds tests no new count. A threshold searched later tests
    counts the earlier ones did not see: one inside an earlier bracket that was already narrow
    enough (``resolution > 0``) can pass above that capacity, and on a curve that is not
    monotone one can fail below it; the capacities returned follow the rule over every tested
    count, as the reported points show them."""
    while True:
        tested = len(cache)
        caps = {theta: _narrowed(sim, cache, theta, resolution) for theta in caps}
        if len(cache) == tested:
            return caps


def _narrowed(sim: Callable[[int], float], cache: dict[int, float], theta: float,
              resolution: float) -> int:
    """The capacity at ``theta`` once the bracket it is read from is narrow enough: the
    capacity of every count tested so far (:func:`capacity_from_curve`) and the first tested
    count above it, which fails, are tested between (``sim``, which fills ``cache``) until
    they are ``max(1, resolution * capacity)`` apart. On a monotone curve the search's own
    bracket is that one already (nothing is tested here); on one that is not, a count
    another threshold tested can fail below it, and that bracket is narrowed too."""
    while True:
        lo = capacity_from_curve([{"count": q, "cosine": v} for q, v in cache.items()], theta)
        hi = min((q for q in cache if q > lo), default=None)
        if hi is None or hi - lo <= max(1.0, resolution * lo):
            return lo
        sim(hi // 2 if lo == 0 else _next_count(lo, hi, sim(lo), sim(hi), theta))


def _next_count(lo: int, hi: int, s_lo: float, s_hi: float, theta: float) -> int:
    """The next count tested inside the bracket ``(lo, hi)`` (``lo`` passes with similarity
    ``s_lo >= theta``, ``hi`` fails with ``s_hi < theta``, ``hi - lo >= 2``): where the straight
    line through the two points crosses ``theta``, kept at least a quarter of the bracket
    (and at least 1) from either end, so every test removes at least a quarter of it. A
    similarity that is not a number (a failed count may score NaN) gives the midpoint."""
    width = hi - lo
    guess = lo + (s_lo - theta) / (s_lo - s_hi) * width
    if not math.isfinite(guess):
        guess = lo + width / 2
    margin = max(1, width // 4)
    return int(min(max(round(guess), lo + margin), hi - margin))


@checked_keywords
def find_capacity(pool: PatternSet, *, arch: str = "single", chip: str | ChipSpec | None = None,
                  rule: str | Rule = "adaptive", hidden: HiddenWidths | None = None,
                  thresholds: Sequence[float] = (0.99,), protocol: Protocol | None = None,
                  trials: int = 2, seed: int = 0, start: int | None = None, cue_budget: int = 0,
                  resolution: float = 0.0, rule_options: dict[str, Any] | None = None,
                  faults: FaultMap | None = None, kind: str | None = None, zero_one: bool = False,
                  progress: Callable[[int, float], None] | None = None,
                  measured: dict[int, dict[str, Any]] | None = None) -> CapacityResult:
    """Capacity of ``arch`` memories storing subsets of ``pool`` (module docstring; a matrix: read
    with ``kind``, ``zero_one`` as ``train`` reads it): every tested count ``P`` is one
    :func:`recall_curve` point (``trials`` networks on ``chip``, seeds from ``seed`` as there) under
    ``protocol`` (default ``Protocol(level=0.05, probes=20, seed=seed)``); capacity is found at each
    of ``thresholds`` (mean cosine in ``(0, 1]``) to ``resolution`` (a fraction of the passing
    count; 0: exact). ``rule`` (options ``rule_options``) applies to ``arch="single"``, multilayer
    ones the adaptive rule or a :class:`~xbarmem.learning.base.Rule` object (options set on it,
    recorded as its ``options()`` give them). ``cue_budget`` (> 0, adaptive rule by name) sets
    ``cue_copies = max(1, ceil(cue_budget / P))``; starts at ``start`` (default ``default_start``).
    ``progress(count, similarity)``: after every tested count. ``hidden``: multilayer hidden widths
    (default 32; refused for one layer). ``faults``: one fault map for every network, not a drawn
    map per trial (``chip`` None: its chip, else paper-sim). ``measured``: ``{P: {"point",
    "devices"}}`` of counts tested with the same settings (a checkpoint) are reused; counts tested
    now added before ``progress``. Warns as the module docstring says. ConfigError: an unknown arch,
    a classic rule with multilayer memories or cue_budget (check_search); a start >
    ``pool.n_distinct``; TooLargeError: training too large for the memory limit (check_fit)."""
    arch, rule, seed = canonical(arch, ARCHS), canonical(rule, RULE_NAMES), check_seed(seed)
    thresholds, resolution = check_search(
        thresholds, trials=trials, start=start, resolution=resolution, cue_budget=cue_budget,
        rule_options=rule_options, protocol=protocol)
    rule_name = _rule_name(arch, rule, rule_options, seed, cue_budget)
    pool = as_pattern_set(pool, kind, zero_one=zero_one)
    protocol, chip = as_protocol(protocol, Protocol(level=SEARCH_FLIPS, probes=20, seed=seed),
                                 kind=pool.kind), paired_chip(chip, faults)  # (None: the map's)
    hidden, measured = _check_extras(arch, hidden, progress, faults, chip, measured, pool, start)
    check_fit(pool, arch, rule, rule_options, hidden, trials, seed, cue_budget, chip, start=start)
    warn_cues_pass(pool, protocol, thresholds, stacklevel=(at_user := caller_stacklevel()))
    began, tested, converged = time.perf_counter(), set(), list[float]()  # (per new count)

    def score(p: int) -> float:
        if p not in measured:
            measured[p] = _point(pool, p, chip, rule, arch=arch, hidden=hidden, trials=trials,
                                 protocol=protocol, seed=seed, faults=faults, into=converged,
                                 rule_options=_budget(rule_options, rule, cue_budget, p))
        tested.add(p)
        if progress is not None:
            progress(p, measured[p]["point"]["cosine"])
        return measured[p]["point"]["cosine"]

    caps = search_capacity(score, thresholds, start=start or default_start(arch, pool.n_neurons),
                           max_count=pool.n_distinct, resolution=resolution)
    warn_noise_capped(converged, protocol, chip, f"N={pool.n_neurons}, {arch}", stacklevel=at_user)
    devices = {k: v for p in sorted(tested) for k, v in measured[p]["devices"].items()}
    n_dev, settings = devices.get("devices", 0), _settings(
        pool, chip, protocol, faults, arch=arch, rule=rule_name, trials=trials, seed=seed,
        hidden=None if arch == "single" else hidden, resolution=resolution,
        cue_budget=applied_budget(cue_budget, rule), thresholds=list(thresholds),
        rule_options=_options_of(rule, rule_options, arch, hidden, pool))
    return CapacityResult(
        capacity=caps, points=[measured[p]["point"] for p in sorted(tested)], devices=devices,
        settings=settings, seconds=time.perf_counter() - began, evaluations=len(tested),
        capacity_per_device={t: (c / n_dev if n_dev else math.nan) for t, c in caps.items()})


def _rule_name(arch: str, rule: str | Rule, rule_options: dict[str, Any] | None,
               seed: int, cue_budget: int) -> str:
    """The name :func:`find_capacity` records of ``rule``, after refusing before any training
    (:func:`~xbarmem.evaluation.curve.curve_trainer`) an unknown arch or rule, a classic rule
    with multilayer memories, a rule object that misses the contract or is given options --
    ``cue_budget`` among them: it sets the ``cue_copies`` of the adaptive rule by name, and is
    refused with a rule by another name too (:func:`_check_budget_rule`)."""
    _check_budget_rule(cue_budget, rule)
    trainer = curve_trainer(arch, rule, dict(rule_options or {}) if is_rule_object(rule)
                            else {}, seed)
    if is_rule_object(rule) and cue_budget > 0:
        raise ConfigError(f"cue_budget sets the cue_copies of the adaptive rule given by name "
                          f"at each count; rule {trainer.name!r} is an object: set its "
                          f"options on it")
    return str(trainer.name) if is_rule_object(rule) else cast(str, rule)


def _options_of(rule: str | Rule, rule_options: dict[str, Any] | None, arch: str,
                hidden: HiddenWidths, pool: PatternSet) -> dict[str, Any]:
    """The ``rule_options`` a search's settings record (:func:`~xbarmem.learning.base.
    recorded_options` for the memories' layers and the ``pool``'s kind)."""
    layers = 1 if arch == "single" else len(layer_sizes(pool.n_neurons, hidden)) - 1
    return recorded_options(rule, rule_options, layers, pool.kind)


def _settings(pool: PatternSet, chip: ChipSpec, protocol: Protocol, faults: FaultMap | None,
              **given: Any) -> dict[str, Any]:
    """A search's settings: ``given`` (arch, rule, hidden, trials, seed, resolution,
    rule_options, cue_budget, thresholds), the chip, protocol, pool (its ``data`` and
    ``data_key``: :func:`~xbarmem.data.sources.data_fields`) and fault map."""
    return {"arch": given["arch"], "rule": given["rule"], "hidden": given["hidden"],
            "chip": chip.to_dict(), "protocol": protocol.as_dict(), "trials": given["trials"],
            "seed": given["seed"], **data_fields(pool), "pool": pool.n_patterns,
            "pool_distinct": pool.n_distinct, "n_neurons": pool.n_neurons, "kind": pool.kind,
            **{k: given[k] for k in ("resolution", "rule_options", "cue_budget", "thresholds")},
            **({} if faults is None else {"fault_map": faults.summary(chip.device)})}


def _point(pool: PatternSet, count: int, chip: ChipSpec, rule: str | Rule,
           into: list[float], **curve: Any) -> dict[str, Any]:
    """One tested count of a search: its :func:`recall_curve` point (with the training time)
    and the devices its memories use; the share of its recalls that converged (the mean over
    its networks: not kept, :func:`~xbarmem.evaluation.cue_check.warn_noise_capped` reads it)
    is appended to ``into``; the curve does not warn of its recalls that ran to the cap
    (:func:`~xbarmem.evaluation.capped.capped_recalls`: the search warns of them once)."""
    with capped_recalls(quiet=True):
        res = recall_curve(pool, [count], chip, rule, **curve)
    into.append(sum(s["converged"] for s in res["scores"]) / len(res["scores"]))
    return {"point": {**res["points"][0], "train_seconds": res["train_seconds"]},
            "devices": res["devices"]}


def check_measured(measured: Any) -> dict[int, dict[str, Any]]:
    """``measured`` (``find_capacity(measured=...)``) if it is a dict of points as a search
    makes them (``{P: {"point": {"count": P, "cosine": ...}, "devices": {...}}}``, ``P`` an
    integer >= 1), checked before any training; :class:`ConfigError` naming ``measured`` and
    the first bad entry otherwise (it crashed mid-search with KeyError / TypeError)."""
    check_type(measured, dict, "measured", "a dict of points kept by an earlier search")
    for p, entry in measured.items():
        if isinstance(p, bool) or not isinstance(p, numbers.Integral):
            raise ConfigError(f"measured must map pattern counts (integers) to points, got "
                              f"the key {shown(p)}")
        check_entry(entry, int(p), f"measured[{p}]")
    return measured


def check_search(thresholds: Sequence[float], *, trials: int, start: int | None = None,
                 resolution: float, cue_budget: int, rule_options: dict[str, Any] | None,
                 protocol: Protocol | None, rule: Any = "adaptive"
                 ) -> tuple[list[float], float]:
    """Refuse the settings of a capacity search that no search could run, before any data is
    loaded or network trained: :class:`ConfigError` naming the argument unless ``thresholds`` is
    a non-empty list (or tuple, 1-D array or tensor: :func:`~xbarmem.checks.listed`) of
    distinct numbers in (0, 1], ``trials`` an integer >= 1,
    ``start`` None or an integer >= 1, ``resolution`` a number in [0, 1], ``cue_budget`` an
    integer >= 0 (and 0 when ``rule``, the search's rule by its canonical name, is not
    ``adaptive``: :func:`_check_budget_rule`), ``rule_options`` None or a dict and
    ``protocol`` None or a :class:`Protocol`. Returns the thresholds as a list and the
    resolution, each number as written (a numpy float32 ``0.05`` is ``0.05``:
    :func:`~xbarmem.checks.as_written`)."""
    checked: list[float] = _THRESHOLDS(listed(thresholds, "thresholds"), "thresholds")
    _TRIALS(trials, "trials")
    _START(start, "start")
    resolution = _RESOLUTION(resolution, "resolution")
    _CUE_BUDGET(cue_budget, "cue_budget")
    _check_budget_rule(cue_budget, rule)
    if rule_options is not None and not isinstance(rule_options, dict):
        raise ConfigError(f"rule_options must be a dict of rule options, got {shown(rule_options)}")
    as_protocol(protocol)
    return checked, resolution


def check_start(start: int | None, n_distinct: int, name: str = "start") -> None:
    """Refuse (:class:`ConfigError`, one line naming ``name`` -- ``--start`` on the command
    line -- and the pool's count) a search ``start`` above ``n_distinct``, the number of
    distinct patterns in the pool: no search tests more (it started at the pool's count in
    silence, while a ``--pool`` above the data's count is refused). None (the default start)
    and a start equal to the count pass."""
    if start is not None and start > n_distinct:
        said = f"{name} {start}" if name.startswith("--") else f"{name} = {start}"
        raise ConfigError(f"{said} is more than the pool's {n_distinct} distinct "
                          f"pattern{'s' * (n_distinct != 1)} (the search tests at most "
                          f"{n_distinct}); give at most {n_distinct}")


def _check_budget_rule(cue_budget: int, rule: Any) -> None:
    """Refuse (:class:`ConfigError`) a ``cue_budget`` > 0 given with a ``rule`` by name other
    than ``adaptive``: it sets that rule's ``cue_copies`` only (:func:`_budget`), so the search
    ran as without it and recorded a budget it never used. A budget not given (a
    :class:`~xbarmem.evaluation.search_plan.DefaultBudget`: ``run_scaling``'s default, which
    every rule carries) runs as before; a rule object's budget :func:`_rule_name` refuses."""
    if (cue_budget > 0 and isinstance(rule, str) and rule != "adaptive"
            and not isinstance(cue_budget, DefaultBudget)):
        raise ConfigError(f"cue_budget = {cue_budget} applies to the adaptive rule only (it sets "
                          f"its cue_copies at each count); rule {rule!r} does not use it: leave "
                          f"cue_budget out")


def _check_extras(arch: str, hidden: Any, progress: Any, faults: Any, chip: ChipSpec,
                  measured: Any, pool: PatternSet, start: int | None = None
                  ) -> tuple[Any, dict[int, dict[str, Any]]]:
    """``hidden`` of :func:`find_capacity` (:func:`~xbarmem.learning.fit.hidden_for`: default
    :data:`~xbarmem.learning.fit.DEFAULT_HIDDEN`) as the widths trained on the
    ``pool``'s N (:func:`~xbarmem.checks.resolve_hidden`: ``"1n"`` is N, as settings record
    it), refused for ``arch="single"``, which
    has no hidden layer (:class:`ConfigError`), after refusing a ``progress`` that is not
    callable, ``faults`` that are not None or a :class:`FaultMap` covering ``chip`` and a
    ``start`` above the ``pool``'s distinct patterns (:func:`check_start`); and ``measured``
    (``{}`` for None), checked (:func:`check_measured`)."""
    hidden = hidden_for(arch, hidden)
    check_start(start, pool.n_distinct)
    check_callback(progress, "progress")
    if faults is not None:
        check_type(faults, FaultMap, "faults", f"{FAULTS_TAKEN} or None").check_chip(
            chip, "faults")
    return (resolve_hidden(DEFAULT_HIDDEN if hidden is None else hidden, pool.n_neurons),
            {} if measured is None else check_measured(measured))


def check_fit(pool: PatternSet, arch: str, rule: str | Rule, rule_options: dict[str, Any] | None,
              hidden: HiddenWidths | None, trials: int, seed: int, cue_budget: int = 0,
              chip: ChipSpec | None = None, *, start: int | None = None,
              pool_word: str = "the pool's patterns", lower: str | None = None) -> None:
    """Refuse, before a search of ``pool`` trains anything, ``trials`` memories of ``arch``
    (``hidden`` widths: multilayer) trained together by ``rule`` (``rule_options``, ``seed``,
    ``cue_budget``): with ``chip``, the memories themselves first
    (:func:`~xbarmem.memory.build.check_memories`, as each count's training checks them), then
    their training at a count the search may test (up to
    :func:`~xbarmem.evaluation.search_plan.search_reach` of the pool's distinct patterns and
    ``start``, the first count),
    which the trainer would refuse mid-run: :func:`~xbarmem.evaluation.search_plan.
    check_search_fit`, naming ``pool_word`` (what caps the search) and ``lower`` (the other
    arguments to lower), by default in :func:`find_capacity`'s words (``trials`` above 1)."""
    n = pool.n_neurons
    sizes = layer_sizes(n, hidden if hidden is not None else DEFAULT_HIDDEN) if (
        arch == "multilayer") else [n, n]
    if chip is not None:
        check_memories(trials, n, chip, hidden=sizes[1:-1] or None, given=f"trials = {trials}")
    trainer = curve_trainer(arch, rule, dict(rule_options or {}) if not is_rule_object(rule)
                            else {}, seed)
    check_search_fit(fit_options(trainer, sizes, pool.kind), pool.kind, sizes, trials,
                     search_reach(arch, n, pool.n_distinct, start),
                     cue_budget=cue_budget if rule == "adaptive" else 0, pool_word=pool_word,
                     lower=("trials" if trials > 1 else "") if lower is None else lower)


def _budget(options: dict[str, Any] | None, rule: str | Rule, cue_budget: int,
            count: int) -> dict[str, Any]:
    """Rule options with ``cue_copies = max(1, ceil(cue_budget / count))`` when a cue budget
    applies (hardware-adaptive rule, ``cue_budget > 0``)."""
    out = dict(options or {})
    if cue_budget > 0 and rule == "adaptive":
        out["cue_copies"] = budget_copies(cue_budget, count)
    return out
