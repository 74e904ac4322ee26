"""Recall quality against the number of stored patterns, and capacity.

:func:`recall_curve` stores ``P`` patterns for every ``P`` in ``counts`` (a fresh random subset of a
pattern pool per trial, seeded), on ``trials`` chips, and measures recall. For the
hardware-adaptive rule every (count, trial) network is trained in **one** batched tensor program
(pattern sets padded to the largest count). :func:`capacity_from_curve` reads the capacity off a
curve: the largest ``P`` whose mean similarity, and that of every smaller tested ``P``, stays at or
above the threshold; :func:`mean_curve` averages several curves (seeds) count by count first,
which is how a capacity is read off an averaged similarity-vs-patterns plot.

Recall of all networks is evaluated at once by :func:`evaluate_many` -- the cues and dynamics of
:func:`xbarmem.evaluation.evaluate.evaluate_memory`, with every network's cues in one batched synchronous
recall -- whenever that is exact (synchronous recall on chips without read noise; otherwise each
memory is evaluated on its own).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from xbarmem.data.corruption import as_generator, corrupt
from xbarmem.data.patterns import PatternSet
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol, Score, evaluate_memory
from xbarmem.evaluation.metrics import cosine_similarity, hamming_distance
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.classic import get_rule
from xbarmem.learning.fit import fit_memories, uses_bias
from xbarmem.memory.single import SingleLayerMemory


@dataclass
class CurvePoint:
    """Recall at one number of stored patterns (means over trials)."""

    count: int
    cosine: float
    cosine_std: float
    exact: float
    fixed_points: float
    trials: int
    subset_seeds: list[int]


def _subset(pool: PatternSet, count: int, seed: int) -> np.ndarray:
    if count > pool.n_patterns:
        raise ConfigError(f"cannot store {count} patterns: the pool has only {pool.n_patterns}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool.n_patterns, size=count, replace=False))


def recall_curve(pool: PatternSet, counts: list[int], chip: str | ChipSpec, rule: str, *,
                 trials: int = 1, protocol: Protocol | None = None, seed: int = 0,
                 rule_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Similarity versus number of stored patterns.

    Trial ``k`` uses fault map seed ``seed + k`` (the same chip for every count) and pattern
    subset seed ``seed * 100003 + count * 1009 + k``; cues use ``protocol.seed + k``.

    Returns ``{"points": [CurvePoint as dict], "train_seconds": s, "eval_seconds": s,
    "networks": n, "train_steps": [steps of each network], "jobs": [its count], ...}``.
    """
    chip = load_chip(chip)
    protocol = protocol or Protocol()
    counts = sorted({int(c) for c in counts})
    if not counts or counts[0] < 1:
        raise ConfigError(f"counts must be positive integers, got {counts}")
    rule_obj = get_rule(rule, **(rule_options or {}))
    n = pool.n_neurons
    maps = [FaultMap.generate(chip, arrays_needed(chip, n, n + 1), seed=seed + k)
            for k in range(trials)]
    jobs = [(c, k, seed * 100003 + c * 1009 + k) for c in counts for k in range(trials)]
    subsets = [_subset(pool, c, s) for c, _, s in jobs]
    memories = [SingleLayerMemory(n, chip, maps[k], bias=uses_bias(rule_obj)) for _, k, _ in jobs]
    p_max = counts[-1]
    padded = torch.zeros(len(jobs), p_max, n)
    for j, idx in enumerate(subsets):
        padded[j, : len(idx)] = torch.as_tensor(pool.patterns[idx])
    sizes = torch.tensor([len(idx) for idx in subsets])
    start = time.perf_counter()
    infos = fit_memories(rule_obj, padded, memories, kind=pool.kind, program_seed=seed,
                         counts=sizes)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    all_scores = evaluate_many(
        memories, [pool.subset(idx) for idx in subsets],
        [Protocol(**{**protocol.as_dict(), "seed": protocol.seed + k}) for _, k, _ in jobs])
    eval_seconds = time.perf_counter() - start
    points = []
    for c in counts:
        rows = [j for j, (cj, _, _) in enumerate(jobs) if cj == c]
        scores = [all_scores[j] for j in rows]
        cos = np.array([s.cosine for s in scores])
        points.append(CurvePoint(
            count=c, cosine=float(cos.mean()), cosine_std=float(cos.std()),
            exact=float(np.mean([s.exact for s in scores])),
            fixed_points=float(np.mean([infos[j].get("fixed_points", True) for j in rows])),
            trials=trials, subset_seeds=[jobs[j][2] for j in rows]))
    return {"rule": rule, "points": [asdict(p) for p in points],
            "train_seconds": train_seconds, "eval_seconds": eval_seconds,
            "networks": len(jobs),
            "train_steps_mean": float(np.mean([i["steps"] for i in infos])),
            "train_steps": [int(i["steps"]) for i in infos], "jobs": [c for c, _, _ in jobs],
            "devices": memories[0].devices(), "chip": chip.to_dict(),
            "protocol": protocol.as_dict(), "seed": seed, "pool": pool.name}


def search_curve(pool: PatternSet, counts: list[int], chip: str | ChipSpec, rule: str, *,
                 thresholds: tuple[float, ...] = (0.90, 0.95, 0.99), trials: int = 1,
                 protocol: Protocol | None = None, seed: int = 0,
                 rule_options: dict[str, Any] | None = None, stride: int = 4,
                 batch: int = 4) -> dict[str, Any]:
    """Capacities at ``thresholds`` from as few of ``counts`` as needed (an alternative to the
    full :func:`recall_curve`).

    Coarse rounds test every ``stride``-th count (the smallest always), ``batch`` counts per
    round in ascending order, until every threshold has failed once (or the counts run out).
    A last round tests, in one batch, every count strictly between each threshold's last
    passing and first failing coarse count. Every round is one :func:`recall_curve` (same
    seeds, so a tested count gets the networks and cues the full curve gives it). Capacities
    follow :func:`capacity_from_curve` over the tested counts; they equal the full curve's
    whenever recall only worsens with the count between coarse counts (a dip below the
    threshold at an untested count is not seen).

    Returns ``{"capacity": {threshold: P}, "points": [tested points], "rounds": k,
    "tested": [counts], "train_seconds": s, "eval_seconds": s, "networks": n}``.
    """
    counts = sorted({int(c) for c in counts})
    if not counts or counts[0] < 1:
        raise ConfigError(f"counts must be positive integers, got {counts}")
    if stride < 1 or batch < 1:
        raise ConfigError(f"stride and batch must be >= 1, got {stride} and {batch}")
    points: dict[int, dict[str, Any]] = {}
    totals = {"train_seconds": 0.0, "eval_seconds": 0.0, "networks": 0, "rounds": 0}

    def run(selection: list[int]) -> None:
        res = recall_curve(pool, selection, chip, rule, trials=trials, protocol=protocol,
                           seed=seed, rule_options=rule_options)
        for point in res["points"]:
            points[point["count"]] = point
        for key in ("train_seconds", "eval_seconds", "networks"):
            totals[key] += res[key]
        totals["rounds"] += 1

    def first_fail(theta: float) -> int | None:
        return next((c for c in sorted(points) if points[c]["cosine"] < theta), None)

    coarse = counts[::stride]
    for i in range(0, len(coarse), batch):
        run(coarse[i:i + batch])
        if all(first_fail(theta) is not None for theta in thresholds):
            break
    refine = set()
    for theta in thresholds:
        fail = first_fail(theta)
        if fail is None:
            continue
        below = [c for c in points if c < fail]
        last_pass = max(below) if below else 0
        refine.update(c for c in counts if last_pass < c < fail and c not in points)
    if refine:
        run(sorted(refine))
    tested = [points[c] for c in sorted(points)]
    return {"capacity": {theta: capacity_from_curve(tested, theta) for theta in thresholds},
            "points": tested, "tested": sorted(points), **totals}


def capacity_from_curve(points: list[dict[str, Any]], threshold: float) -> int:
    """Largest count whose similarity, and that of every smaller tested count, is at or above
    ``threshold`` (0 if even the smallest fails)."""
    capacity = 0
    for point in sorted(points, key=lambda p: p["count"]):
        if point["cosine"] < threshold:
            break
        capacity = point["count"]
    return capacity


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


# --------------------------------------------------------------------------- batched recall
#: Largest number of state entries (cues x (N + 1)) recalled in one batch by evaluate_many:
#: 2**22 float32 = 16 MB per state buffer (it keeps a handful of them).
_EVAL_STATES = 2**22


def evaluate_many(memories: list[SingleLayerMemory], patterns: list[PatternSet | torch.Tensor],
                  protocols: list[Protocol]) -> list[Score]:
    """:func:`~xbarmem.evaluation.evaluate.evaluate_memory` for many single-layer memories at once.

    Memory ``t`` is scored on ``patterns[t]`` under ``protocols[t]``. Each memory's cues are
    drawn exactly as ``evaluate_memory`` draws them (its protocol's seed, corruption, level and
    probes); then every cue of every memory runs in **one** batched synchronous recall (one
    batched product per step over the memories that still have moving cues), with the stopping
    rules of :func:`xbarmem.memory.recall.recall` (fixed point, 2-cycle for sign, iteration cap). This
    is exact only when recall draws no randomness -- synchronous mode on chips without read
    noise, one ``max_iterations``/``activation`` for all -- and it is used only then; otherwise
    each memory is evaluated by ``evaluate_memory``. Returned scores carry no states or cues.
    """
    if not (len(memories) == len(patterns) == len(protocols)):
        raise ConfigError(f"need one pattern set and one protocol per memory, got "
                          f"{len(memories)} memories, {len(patterns)} pattern sets and "
                          f"{len(protocols)} protocols")
    if not memories:
        return []
    first = protocols[0]
    batchable = all(
        isinstance(m, SingleLayerMemory) and m.crossbar.programmed
        and m.chip.device.read_noise == 0 and m.n_neurons == memories[0].n_neurons
        and m.has_bias == memories[0].has_bias and p.mode == "sync"
        and p.activation == first.activation and p.max_iterations == first.max_iterations
        for m, p in zip(memories, protocols, strict=True))
    if not batchable:
        return [evaluate_memory(m, x, p) for m, x, p in zip(memories, patterns, protocols,
                                                                 strict=True)]
    n = memories[0].n_neurons
    mats = torch.stack([_augmented(m) for m in memories])
    rows_per_chunk = max(1, _EVAL_STATES // (n + 1))
    per_cue: list[list[tuple[torch.Tensor, ...]]] = [[] for _ in memories]
    pending: list[tuple[int, torch.Tensor, torch.Tensor, bool]] = []

    def run_pending() -> None:
        cues = torch.cat([c for _, c, _, _ in pending])
        net = torch.cat([torch.full((len(c),), t) for t, c, _, _ in pending])
        states, iterations, converged = _sync_many(mats, cues, net, first.activation,
                                                   first.max_iterations)
        start = 0
        for t, c, target, binary in pending:
            end = start + len(c)
            final = states[start:end]
            if binary and first.activation == "tanh":  # comparators read the final state
                final = torch.where(final >= 0, 1.0, -1.0)
            per_cue[t].append((cosine_similarity(final, target), hamming_distance(final, target),
                               converged[start:end], iterations[start:end]))
            start = end
        pending.clear()

    shapes = []
    for t, (pats, proto) in enumerate(zip(patterns, protocols, strict=True)):
        shape = pats.image_shape if isinstance(pats, PatternSet) else None
        x = torch.as_tensor(pats.patterns if isinstance(pats, PatternSet) else pats,
                            dtype=torch.float32)
        target = x.repeat(proto.probes, 1)
        cues = corrupt(target, proto.corruption, proto.level, as_generator(proto.seed),
                       image_shape=shape)
        binary = not isinstance(pats, PatternSet) or pats.kind == "binary"
        if binary:
            cues = torch.where(cues >= 0, 1.0, -1.0)
        shapes.append((proto.probes, x.shape[0]))
        for lo in range(0, len(cues), rows_per_chunk):  # bounded memory: chunks of cues
            room = rows_per_chunk - sum(len(c) for _, c, _, _ in pending)
            piece = slice(lo, min(len(cues), lo + rows_per_chunk))
            if piece.stop - piece.start > room:
                run_pending()
            pending.append((t, cues[piece], target[piece], binary))
    run_pending()
    scores = []
    for (probes, size), parts in zip(shapes, per_cue, strict=True):
        cos, ham, converged, iterations = (torch.cat(v) for v in zip(*parts, strict=True))
        per_pattern = cos.reshape(probes, size).mean(dim=0)
        scores.append(Score(
            cosine=float(cos.mean()), exact=float((ham == 0).float().mean()),
            hamming=float(ham.float().mean()), converged=float(converged.float().mean()),
            mean_iterations=float(iterations.float().mean()),
            per_pattern_cosine=[round(float(v), 6) for v in per_pattern]))
    return scores


def _augmented(memory: SingleLayerMemory) -> torch.Tensor:
    """The programmed ``[W | b]`` (``(N, N + 1)``; ``(N, N)`` without a bias row) as the
    crossbar multiplies it, weight units."""
    w, b = memory.crossbar.effective()
    return w if b is None else torch.cat([w, b[:, None]], dim=1)


def _sync_many(mats: torch.Tensor, cues: torch.Tensor, net: torch.Tensor, activation: str,
               max_iterations: int, tol: float = 1e-4):
    """Synchronous recall of cues ``(B, N)`` through noise-free matrices ``mats`` ``(T, N, R)``
    (``R = N + 1`` with a bias column driven at 1); cue ``b`` uses matrix ``net[b]`` (``net``
    non-decreasing). Same rules as :func:`xbarmem.memory.recall.recall`, and the same product as
    :meth:`xbarmem.hardware.crossbar.Crossbar.matvec` (``[x, 1] @ [W | b]^T``). Only cues still moving
    are kept in the working set (compacted when some stop), one product per memory and step.
    For sign neurons states are compared through exact integer keys (24 states per float32
    word, ``+-1`` weighted by powers of two), not element by element.
    Returns final states ``(B, N)``, iterations ``(B,)`` and converged ``(B,)``."""
    b, n = cues.shape
    r = mats.shape[2]
    out = cues.clone()
    iterations = torch.zeros(b, dtype=torch.int64)
    converged = torch.zeros(b, dtype=torch.bool)
    ids = torch.arange(b)
    cur = torch.ones(b, r)  # working states, with the bias input (1) as an extra column
    cur[:, :n] = cues
    sign = activation != "tanh"
    if sign:
        bit = torch.arange(n)
        pack = torch.zeros(n, (n + 23) // 24)
        pack[bit, bit // 24] = 2.0 ** (bit % 24).float()
        key = cur[:, :n] @ pack  # exact: integers below 2**24
        key_prev = torch.full_like(key, float("nan"))  # key of the state two steps back
    segments = _segments(net, mats.shape[0])
    h = torch.empty(b, n)
    new = torch.ones_like(cur)  # the other buffer: states swap between the two every step
    live = torch.ones(b, dtype=torch.bool)  # stopped cues stay in the working set for a while
    for it in range(1, max_iterations + 1):
        for t, lo, hi in segments:
            torch.mm(cur[lo:hi], mats[t].T, out=h[lo:hi])
        if sign:
            torch.sign(h, out=h)
            if int(torch.count_nonzero(h)) < h.numel():  # a zero field keeps the state
                h = torch.where(h == 0, cur[:, :n], h)
            new[:, :n] = h
            key_new = h @ pack
            moved = (key_new != key).any(dim=1)
            stop = ~moved | (key_new == key_prev).all(dim=1)
        else:
            torch.tanh(h, out=new[:, :n])
            moved = (new[:, :n] - cur[:, :n]).abs().amax(dim=1) > tol
            stop = ~moved
        stop &= live
        done = ids[stop]
        out[done] = new[stop, :n]
        iterations[done] = it
        converged[ids[~moved & live]] = True
        live &= ~stop
        alive = int(live.sum())
        if alive == 0:
            return out, iterations, converged
        if alive < 0.75 * len(live):  # compact: drop the stopped cues
            keep = live
            ids, cur, new, h, live = ids[keep], cur[keep], new[keep], h[keep], live[keep]
            if sign:
                key, key_new = key[keep], key_new[keep]
            segments = _segments(net[ids], mats.shape[0])
        cur, new = new, cur
        if sign:
            key_prev, key = key, key_new
    out[ids[live]] = cur[live, :n]
    iterations[ids[live]] = max_iterations
    return out, iterations, converged


def _segments(net: torch.Tensor, t: int) -> list[tuple[int, int, int]]:
    """``(matrix, first, end)`` of each run of equal values in non-decreasing ``net``."""
    counts = torch.bincount(net, minlength=t)
    ends = counts.cumsum(0)
    return [(k, e - c, e) for k, (c, e) in enumerate(zip(counts.tolist(), ends.tolist(),
                                                         strict=True)) if c]
