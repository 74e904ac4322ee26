"""Recall quality against the number of stored patterns: the one capacity curve.

:func:`recall_curve` stores ``P`` patterns for every ``P`` in ``counts`` (a seeded random subset
of a pattern pool per trial), on ``trials`` chips, in single-layer or multilayer memories: every
(count, trial) network is trained in one batch (pattern sets padded to the largest count) and all
are scored by :func:`xbarmem.evaluation.evaluate.evaluate_many`. Its two halves,
:func:`train_curve` and :func:`score_curve`, let one trained curve be scored under several
recall protocols.

:func:`capacity_from_curve` reads the capacity off a curve: the largest ``P`` whose mean
similarity, and that of every smaller tested ``P``, stays at or above the threshold;
:func:`mean_curve` averages several curves (seeds) count by count;
:func:`capacity_is_lower_bound` says when every tested count passed.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import torch

from xbarmem.checks import (
    ArrayLike,
    ResultDict,
    canonical,
    check_callback,
    check_choice,
    check_count,
    checked_keywords,
    is_number,
    listed,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.patterns import PatternSet, as_pattern_set
from xbarmem.data.sources import data_fields
from xbarmem.errors import ConfigError
from xbarmem.evaluation.capped import warns_capped
from xbarmem.evaluation.evaluate import (
    Protocol,
    Score,
    as_protocol,
    check_cue_bytes,
    evaluate_many,
    make_cues,
)
from xbarmem.evaluation.metrics import cosine_rows, mean_cosine, mean_value
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Rule, is_rule_object, recorded_options
from xbarmem.learning.classic import as_rule, rule_from_options
from xbarmem.learning.fit import DEFAULT_HIDDEN, fit_memories
from xbarmem.learning.multilayer import MultilayerTrainer
from xbarmem.memory.build import ARCHS, arrays_with_bias, check_memories, make_memory
from xbarmem.memory.multilayer import HiddenWidths, layer_sizes
from xbarmem.names import RULE_NAMES
from xbarmem.seeds import offset_seed, random_subset, subset_seed
from xbarmem.spec import check_seed

__all__ = ["RecallCurve", "recall_curve"]


class RecallCurve(ResultDict):
    """What :func:`recall_curve` and :func:`score_curve` return: a dict (``rule``, ``arch``
    (``single`` / ``multilayer``, as ``arch=`` takes it), ``layout`` (the widths, ``"16-8-16"``),
    ``points``, ``train_seconds``, ``eval_seconds``, ``networks``, ``scores``, ``infos``,
    ``chip``, ``protocol``, ``data`` (the pool's name, as ``data`` names a pattern source in
    every result), ...; read as before) that prints one short line -- the counts, the
    ranges of mean cosine and exact recall over them, rule, arch and chip -- where a plain
    dict printed every network's scores and the chip. :meth:`as_dict` gives a plain dict."""

    def shown(self) -> dict[str, Any]:
        """Counts, cosine and exact recall over them, rule, arch, chip and trials (``points``
        holds every value)."""
        points, chip = self.get("points", []), self.get("chip", {})
        return {
            "counts": [p.get("count") for p in points],
            **{key: [p.get(key) for p in points] for key in ("cosine", "exact")},
            **{k: self.get(k) for k in ("rule", "arch") if k in self},
            "chip": chip.get("name") if isinstance(chip, dict) else chip,
            "trials": points[0].get("trials") if points else None}


@dataclass
class CurvePoint:
    """Recall at one number of stored patterns (means over trials)."""

    count: int
    cosine: float
    cosine_std: float
    exact: float
    #: the share of the trials' networks that store every pattern as a fixed point, among
    #: those whose rule says (binary patterns); None where no rule says (continuous ones)
    fixed_points: float | None
    trials: int
    subset_seeds: list[int]


@checked_keywords
@warns_capped
def recall_curve(pool: PatternSet | ArrayLike, counts: Sequence[int],
                 chip: str | ChipSpec = "paper-sim", rule: str | Rule = "adaptive", *,
                 arch: str = "single", hidden: HiddenWidths = DEFAULT_HIDDEN, trials: int = 1,
                 protocol: Protocol | None = None, seed: int = 0,
                 rule_options: dict[str, Any] | None = None,
                 prepare: Callable[[Any], object] | None = None,
                 faults: FaultMap | None = None, kind: str | None = None,
                 zero_one: bool = False) -> RecallCurve:
    """Similarity versus number of stored patterns.

    Args:
        pool: the patterns subsets are drawn from (a :class:`PatternSet`, or a matrix
            read by :func:`~xbarmem.data.patterns.as_pattern_set` with ``kind`` and
            ``zero_one`` as :func:`~xbarmem.learning.fit.train` reads them: a matrix is
            binary unless ``kind="continuous"``); each subset holds distinct patterns
            (:func:`xbarmem.seeds.random_subset` with the pool's ``distinct_ids``).
        counts: numbers of stored patterns (integers >= 1; sorted and deduplicated).
        chip: preset name, TOML path or :class:`ChipSpec` (default ``"paper-sim"``, as for
            ``train`` and ``find_capacity``).
        rule: learning rule (:func:`xbarmem.learning.classic.get_rule`); multilayer memories
            take only ``"adaptive"`` (:class:`MultilayerTrainer`, its seed defaulting to
            ``seed``) by name; a :class:`~xbarmem.learning.base.Rule` object trains any
            ``arch`` (its options set on it; the results name it by its ``name``).
        arch: ``"single"`` or ``"multilayer"`` (``N -> hidden -> N``).
        trials: chips per count; trial ``k`` uses fault map seed ``seed + k`` and programming
            seed ``seed + k`` (the same chip for every count), pattern subset seed
            ``subset_seed(seed, count, k)`` and cue seed ``protocol.seed + k`` (``protocol``
            None: ``Protocol(seed=seed)``): a count's
            networks are those of ``recall_curve`` of that count alone, and of
            :func:`~xbarmem.evaluation.capacity.find_capacity`, whichever counts are beside it
            (but for the hardware-adaptive rule's training cues: guide, "Batches").
        faults: one fault map for every network instead (e.g. a measured chip's; checked
            against ``chip`` by :meth:`FaultMap.check_chip`): trials then differ in their
            patterns and cues only.
        rule_options: options of the rule (trainer).
        prepare: called with every trained memory (programmed as ``trials`` says) before it
            is scored, e.g. to reprogram it.

    Returns a :class:`RecallCurve`, a dict that prints one line: ``{"points": [CurvePoint as
    dict], "rule_options": the options given with a rule name, or a rule object's own (as
    :func:`~xbarmem.evaluation.capacity.find_capacity` records them), "train_seconds": s,
    "eval_seconds": s, "networks": n, "jobs": [count of each network], "train_steps": [...],
    "scores": [Score dict of each network], "infos": [train info of each network],
    "devices": ..., ...}``.
    Raises :class:`ConfigError` for bad counts, a count above the pool's number of distinct
    patterns, ``trials`` that is not an integer >= 1 or an unknown ``arch``/rule,
    :class:`~xbarmem.errors.PatternError` for a bad pool and
    :class:`~xbarmem.errors.ArgumentError` for an unknown keyword. Warns once of tanh
    recalls under read noise that ran to their cap, as
    :func:`~xbarmem.evaluation.evaluate.evaluate_memory` (all networks in one line).
    """
    arch, rule, prepare = _checked_curve(arch, rule, rule_options, prepare)
    pool = as_pattern_set(pool, kind, zero_one=zero_one)
    protocol = as_protocol(protocol, Protocol(seed=check_seed(seed)), kind=pool.kind)
    _check_cues_fit(pool, counts, protocol)
    return score_curve(train_curve(pool, counts, chip, rule, arch=arch, hidden=hidden,
                                   trials=trials, seed=seed, rule_options=rule_options,
                                   faults=faults),
                       protocol, prepare=prepare)


@value_equality
@dataclass
class TrainedCurve:
    """The trained networks of a recall curve (:func:`train_curve`), to be scored by
    :func:`score_curve` under one protocol or several: ``memories`` and their training
    ``infos``, one per ``(count, trial, subset seed)`` in ``jobs`` (count-major), each storing
    the patterns ``subsets[j]`` (indices into ``pool``)."""

    pool: PatternSet
    rule: str
    chip: ChipSpec
    counts: list[int]
    jobs: list[tuple[int, int, int]]
    subsets: list[np.ndarray]
    memories: list
    infos: list[dict[str, Any]]
    trials: int
    seed: int
    train_seconds: float
    #: the rule options the results record (:func:`~xbarmem.learning.base.recorded_options`)
    rule_options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """``TrainedCurve(data='mnist', rule='hebb', chip='ideal', counts=[2 values, 3 to 5],
        networks=4, trials=2, seed=0)``: what was trained, not every memory and subset."""
        return result_repr("TrainedCurve", {
            "data": self.pool.name, "rule": self.rule, "chip": self.chip.name,
            "counts": self.counts, "networks": len(self.memories), "trials": self.trials,
            "seed": self.seed})


def train_curve(pool: PatternSet, counts: Sequence[int], chip: str | ChipSpec,
                rule: str | Rule = "adaptive", *, arch: str = "single",
                hidden: HiddenWidths = DEFAULT_HIDDEN, trials: int = 1, seed: int = 0,
                rule_options: dict[str, Any] | None = None,
                faults: FaultMap | None = None) -> TrainedCurve:
    """The training half of :func:`recall_curve` (same arguments and errors): every
    ``(count, trial)`` network trained in one batch, trial ``k``'s programmed with seed
    ``seed + k``."""
    chip, pool = load_chip(chip), as_pattern_set(pool)
    arch, rule = canonical(arch, ARCHS), canonical(rule, RULE_NAMES)
    widths = layer_sizes(pool.n_neurons, hidden)[1:-1] if arch == "multilayer" else None
    n_counts, trials = len(checked_counts(counts)), check_count(trials, "trials")
    check_memories(n_counts * trials, pool.n_neurons, chip, hidden=widths, given=(
        f"{n_counts} counts x " * (n_counts > 1) + f"trials = {trials}"))  # (before any subset)
    counts, jobs, subsets = _jobs(pool, counts, trials, seed)
    trainer = curve_trainer(arch, rule, rule_options or {}, seed)
    memories = build_memories(arch, pool.n_neurons, chip, [k for _, k, _ in jobs],
                              hidden=hidden, bias=trainer.bias, seed=seed, faults=faults)
    start = time.perf_counter()
    padded = _padded(pool, subsets, counts[-1])
    infos = fit_memories(trainer, padded, memories, kind=pool.kind, program_seed=seed,
                         counts=torch.tensor([len(i) for i in subsets], dtype=torch.int64),
                         program_offsets=[k for _, k, _ in jobs])
    name = str(trainer.name) if is_rule_object(rule) else cast(str, rule)
    options = recorded_options(rule, rule_options, len(memories[0].layers), pool.kind)
    return TrainedCurve(pool, name, chip, counts, jobs, subsets, memories, infos, trials, seed,
                        time.perf_counter() - start, options)


@warns_capped
def score_curve(trained: TrainedCurve, protocol: Protocol | None = None, *,
                prepare: Callable[[Any], object] | None = None) -> RecallCurve:
    """The scoring half of :func:`recall_curve`: ``prepare`` (if given) is called with every
    memory, then all are scored under ``protocol`` (network ``j`` of trial ``k`` with cue seed
    ``protocol.seed + k``). Scoring does not change the memories, so one trained curve may be
    scored under several protocols (each call's ``prepare`` sees the memories as the previous
    call left them: a ``prepare`` that reprograms them from their trained targets gives every
    call what a fresh training would). Returns what :func:`recall_curve` returns."""
    protocol = as_protocol(protocol, kind=trained.pool.kind)
    memories, jobs, pool = trained.memories, trained.jobs, trained.pool
    if prepare is not None:
        for memory in memories:
            prepare(memory)
    start = time.perf_counter()
    scores = evaluate_many(memories, [pool.subset(idx) for idx in trained.subsets],
                           [protocol.reseeded(k) for _, k, _ in jobs])
    eval_seconds = time.perf_counter() - start
    infos = trained.infos
    return RecallCurve({
        "rule": trained.rule, "rule_options": trained.rule_options,
        "arch": memories[0].architecture, "layout": memories[0].layout,
        "points": _points(trained.counts, jobs, scores, infos, trained.trials),
        "train_seconds": trained.train_seconds, "eval_seconds": eval_seconds,
        "networks": len(jobs), "train_steps_mean": float(np.mean([i["steps"] for i in infos])),
        "train_steps": [int(i["steps"]) for i in infos], "jobs": [c for c, _, _ in jobs],
        "scores": [s.as_dict() for s in scores], "infos": infos,
        "devices": memories[0].devices(), "chip": trained.chip.to_dict(),
        "protocol": protocol.as_dict(), "seed": trained.seed, **data_fields(pool)})


def nearest_pattern_curve(pool: PatternSet, counts: Sequence[int], *, trials: int = 1,
                          protocol: Protocol | None = None, seed: int = 0
                          ) -> list[dict[str, Any]]:
    """A recall ceiling for associative memories of binary patterns: each cue decoded to the
    stored pattern nearest to it in Hamming distance (the most likely one under independent
    bit flips, so no decoder recalls exactly more often; ties to the first), on the very
    subsets and cues :func:`recall_curve` uses with the same ``counts``, ``trials``,
    ``protocol`` and ``seed``. No chip and no training. Returns points ``{"count", "cosine",
    "exact"}`` (means over trials and cues)."""
    protocol = as_protocol(protocol)
    counts, jobs, subsets = _jobs(pool, counts, trials, seed)
    sums: dict[int, list[float]] = {c: [0.0, 0.0] for c in counts}
    for (count, k, _), idx in zip(jobs, subsets, strict=True):
        stored = pool.subset(idx)
        cues = make_cues(stored, protocol.reseeded(k))
        x = tensor_of(stored.patterns, dtype=torch.float32)
        states = x[(cues.cues @ x.T).argmax(dim=1)]
        cos = cosine_rows(states, cues.target)
        sums[count][0] += mean_value(cos) / trials
        sums[count][1] += mean_value(cos > 1 - 1e-6) / trials
    return [{"count": c, "cosine": mean_cosine([v[0]]), "exact": v[1]} for c, v in sums.items()]


def _check_cues_fit(pool: PatternSet, counts: Sequence[int], protocol: Protocol) -> None:
    """Refuse, before any training, ``counts`` that are not positive integers
    (:func:`checked_counts`) and ``protocol``'s cues of the largest of them when they would
    not fit in memory (:func:`~xbarmem.evaluation.evaluate.check_cue_bytes`, which scoring
    applies again)."""
    check_cue_bytes(protocol, checked_counts(counts)[-1], pool.n_neurons)


def checked_counts(counts: Any) -> list[int]:
    """``counts`` (numbers of stored patterns: a non-empty list, tuple, range or 1-D array of
    integers >= 1) sorted and deduplicated; :class:`ConfigError` naming them otherwise (a
    text, a float or a bool is no count)."""
    items = listed(counts, "counts")
    if not isinstance(items, list) or not items or not all(
            is_number(c) and isinstance(c, numbers.Integral) and int(c) >= 1 for c in items):
        raise ConfigError(f"counts must be positive integers, got {shown(counts)}")
    return sorted({int(c) for c in items})


def _jobs(pool: PatternSet, counts: Sequence[int], trials: int, seed: int
          ) -> tuple[list[int], list[tuple[int, int, int]], list[np.ndarray]]:
    """Sorted distinct counts, the networks ``(count, trial, subset seed)`` (count-major) and
    each network's pattern subset (indices into ``pool``)."""
    seed = check_seed(seed)
    distinct = checked_counts(counts)
    trials = check_count(trials, "trials")
    jobs = [(c, k, subset_seed(seed, c, k)) for c in distinct for k in range(trials)]
    return distinct, jobs, [random_subset(pool.n_patterns, c, s, distinct_ids=pool.distinct_ids)
                          for c, _, s in jobs]


def curve_trainer(arch: str, rule: str | Rule, options: dict[str, Any], seed: int):
    """The rule object that trains ``arch`` memories: ``rule_from_options(rule, options)`` for a
    single layer, ``MultilayerTrainer(**options)`` for multilayer memories (rule
    ``"adaptive"`` only), the adaptive rule's ``options`` seeded (:func:`seeded_options`); a
    rule object (:func:`~xbarmem.learning.classic.as_rule`: the
    contract checked, no ``options``) trains either. Raises :class:`ConfigError` otherwise."""
    arch = check_choice(arch, ARCHS, "arch")
    if is_rule_object(rule):
        return as_rule(rule, **options)
    rule = cast(str, rule)  # a name (get_rule refuses anything else)
    if arch == "single":
        return rule_from_options(rule, seeded_options(rule, options, seed))
    if rule != "adaptive":
        raise ConfigError(f"multilayer memories are trained by the hardware-adaptive rule only, "
                          f"not {shown(rule)}")
    return MultilayerTrainer(**seeded_options(rule, options, seed))


def fit_options(trainer: Any, sizes: Sequence[int], kind: str) -> dict[str, Any] | None:
    """The resolved options :func:`xbarmem.sizes.fit_bytes` sizes the training of ``trainer``
    (a :func:`curve_trainer`) by for memories of layer widths ``sizes`` storing ``kind``
    patterns; None for a rule other than the hardware-adaptive one (no training cues)."""
    if not isinstance(trainer, AdaptiveTrainer):
        return None
    return trainer.resolved(len(sizes) - 1, kind, sizes).to_dict()


def _checked_curve(arch: Any, rule: Any, rule_options: Any, prepare: Any) -> tuple[Any, ...]:
    """:func:`recall_curve`'s ``arch`` and ``rule`` as named (``"Hebb"`` is ``"hebb"``; an
    ``arch`` of neither kind refused) and ``prepare``, after refusing (:class:`ConfigError`) a
    ``rule_options`` that is no dict (as :func:`find_capacity`) and a ``prepare`` that is no
    function: each was read before its check (an array's ``arch == "single"``: numpy's
    ``ambiguous``)."""
    if rule_options is not None and not isinstance(rule_options, dict):
        raise ConfigError(f"rule_options must be a dict of rule options, got {shown(rule_options)}")
    return (check_choice(arch, ARCHS, "arch"), canonical(rule, RULE_NAMES),
            check_callback(prepare, "prepare"))


def seeded_options(rule: Any, options: dict[str, Any], seed: int) -> dict[str, Any]:
    """The options :func:`curve_trainer` trains rule ``rule`` with: the hardware-adaptive
    rule's (one layer or several) with ``seed``, from which it draws its training cues, unless
    ``options`` set it, as a sweep's trial seeds it (one-layer curves left it at 0:
    ``capacity --seed 1`` trained as ``--seed 0`` did, and a sweep's row at seed 1
    differed); other rules' as given. What a checkpoint keys its trainer by."""
    adaptive = isinstance(rule, str) and rule == "adaptive"  # (an array: refused later)
    return {"seed": seed, **options} if adaptive else dict(options)


def build_memories(arch: str, n_neurons: int, chip: ChipSpec, trials: list[int], *,
                   hidden: HiddenWidths = DEFAULT_HIDDEN, bias: bool = True,
                   seed: int = 0, faults: FaultMap | None = None) -> list:
    """One untrained ``arch`` memory per entry of ``trials``; trial ``k`` is the chip with
    fault map seed ``seed + k`` (a map covers an ``N x (N + 1)`` single layer, or every layer
    of ``N -> hidden -> N`` with bias rows), or every trial on ``faults`` when given."""
    need = arrays_with_bias(chip, n_neurons, arch=arch, hidden=hidden)
    maps = {k: faults if faults is not None
            else FaultMap.generate(chip, need, seed=offset_seed(seed, k))
            for k in sorted(set(trials))}
    widths = layer_sizes(n_neurons, hidden)[1:-1] if arch == "multilayer" else None
    return [make_memory(n_neurons, arch=arch, hidden=widths, chip=chip, faults=maps[k], bias=bias)
            for k in trials]


def _padded(pool: PatternSet, subsets: list[np.ndarray], p_max: int) -> torch.Tensor:
    """``(T, p_max, N)``: subset ``t`` of ``pool`` in rows ``:len(subsets[t])``, zeros after."""
    padded = torch.zeros(len(subsets), p_max, pool.n_neurons, dtype=torch.float32)
    for j, idx in enumerate(subsets):
        padded[j, : len(idx)] = torch.as_tensor(pool.patterns[idx])
    return padded


def _share(flags: list[bool | None]) -> float | None:
    """The mean of the flags that are not None; None when all are."""
    said = [bool(f) for f in flags if f is not None]
    return float(np.mean(said)) if said else None


def _points(counts: list[int], jobs: list[tuple[int, int, int]], scores: list[Score],
            infos: list[dict[str, Any]], trials: int) -> list[dict[str, Any]]:
    """One :class:`CurvePoint` (as dict) per count: means over its trials' networks."""
    points = []
    for c in counts:
        rows = [j for j, job in enumerate(jobs) if job[0] == c]
        cos = np.array([scores[j].cosine for j in rows])
        points.append(asdict(CurvePoint(
            count=c, cosine=mean_cosine(cos), cosine_std=float(cos.std()),
            exact=float(np.mean([scores[j].exact for j in rows])),
            fixed_points=_share([infos[j].get("fixed_points") for j in rows]),
            trials=trials, subset_seeds=[jobs[j][2] for j in rows])))
    return points


def capacity_from_curve(points: list[dict[str, Any]], threshold: float) -> int:
    """Largest count whose similarity, and that of every smaller tested count, is at or above
    ``threshold`` (0 if even the smallest fails; a similarity that is not a number fails)."""
    capacity = 0
    for point in sorted(points, key=lambda p: p["count"]):
        if not point["cosine"] >= threshold:
            break
        capacity = point["count"]
    return capacity


def capacity_is_lower_bound(points: list[dict[str, Any]], threshold: float) -> bool:
    """Whether :func:`capacity_from_curve` of ``points`` at ``threshold`` is only a lower bound:
    every tested count passed, so a count above the largest tested might pass too."""
    return bool(points) and capacity_from_curve(points, threshold) == max(
        p["count"] for p in points)


def mean_curve(curves: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Average several similarity curves (e.g. one per seed) count by count.

    Each curve is a list of points with ``count`` and ``cosine``; the result has one point per
    count tested in *every* curve, its ``cosine`` the mean over the curves and ``n`` their
    number. Counts missing from some curve are dropped (a partial mean would mix seeds).
    """
    if not curves:
        return []
    by_curve = [{p["count"]: float(p["cosine"]) for p in curve} for curve in curves]
    common = set(by_curve[0]).intersection(*by_curve[1:])
    return [{"count": c, "cosine": sum(d[c] for d in by_curve) / len(by_curve),
             "n": len(by_curve)} for c in sorted(common)]
