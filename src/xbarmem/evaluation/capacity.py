"""Capacity of single-layer and multilayer memories with as few trained networks as needed.

Capacity at a threshold ``theta`` is the largest number of stored patterns ``P`` whose mean
recall similarity -- and that of every smaller tested ``P`` -- is at or above ``theta`` (the rule
of :func:`xbarmem.evaluation.curve.capacity_from_curve`). Instead of a full curve,
:func:`search_capacity` grows ``P`` geometrically from a start value until recall fails, then
bisects between the last passing and the first failing count down to a resolution; every
tested count is cached, so several thresholds share their networks.

Each tested count ``P`` trains ``trials`` networks (fresh random pattern subsets, one chip fault
map per trial) in one batch. For continuous patterns "recalled" means the same thing: the mean
cosine between the final (tanh) state and the stored pattern reaches the threshold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xbarmem.data.patterns import PatternSet
from xbarmem.errors import ConfigError
from xbarmem.evaluation.curve import recall_curve
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.multilayer import MultilayerTrainer, fit_multilayer
from xbarmem.memory.multilayer import MultilayerMemory, arrays_for_layers, layer_sizes

ARCHS = ("single", "multilayer")


def subset_seed(seed: int, count: int, trial: int) -> int:
    """Seed of the pattern subset of trial ``trial`` at ``count`` stored patterns (the scheme of
    :func:`xbarmem.evaluation.curve.recall_curve`)."""
    return seed * 100003 + count * 1009 + trial


def _subset(pool: PatternSet, count: int, seed: int) -> np.ndarray:
    if count > pool.n_patterns:
        raise ConfigError(f"cannot store {count} patterns: the pool has only {pool.n_patterns}")
    return np.sort(np.random.default_rng(seed).choice(pool.n_patterns, size=count,
                                                      replace=False))


def multilayer_points(pool: PatternSet, counts: Sequence[int], chip: str | ChipSpec,
                      hidden: int | Sequence[int], *, trials: int = 1,
                      protocol: Protocol | None = None, seed: int = 0,
                      trainer_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recall versus stored patterns for multilayer memories (hardware-adaptive training).

    Every (count, trial) network trains in one batch (pattern sets padded to the largest
    count). Trial ``k`` uses fault map seed ``seed + k``; subsets use :func:`subset_seed`.
    Returns ``{"points": [{count, cosine, cosine_std, exact, fixed_points, trials,
    subset_seeds}], "devices": ..., "train_seconds": ...}`` like ``recall_curve``.
    """
    chip = load_chip(chip)
    protocol = protocol or Protocol()
    counts = sorted({int(c) for c in counts})
    n = pool.n_neurons
    sizes = layer_sizes(n, list(hidden) if not isinstance(hidden, int) else hidden)
    need = sum(arrays_for_layers(chip, sizes))
    maps = [FaultMap.generate(chip, need, seed=seed + k) for k in range(trials)]
    jobs = [(c, k, subset_seed(seed, c, k)) for c in counts for k in range(trials)]
    subsets = [_subset(pool, c, s) for c, _, s in jobs]
    memories = [MultilayerMemory(n, sizes[1:-1], chip, maps[k]) for _, k, _ in jobs]
    padded = torch.zeros(len(jobs), counts[-1], n)
    for j, idx in enumerate(subsets):
        padded[j, : len(idx)] = torch.as_tensor(pool.patterns[idx])
    trainer = MultilayerTrainer(**{"seed": seed, **(trainer_options or {})})
    start = time.perf_counter()
    infos = fit_multilayer(trainer, padded, memories, kind=pool.kind, program_seed=seed,
                           counts=torch.tensor([len(i) for i in subsets]))
    train_seconds = time.perf_counter() - start
    points = []
    for c in counts:
        rows = [j for j, job in enumerate(jobs) if job[0] == c]
        scores = [evaluate_memory(memories[j], pool.subset(subsets[j]),
                                  Protocol(**{**protocol.as_dict(),
                                              "seed": protocol.seed + jobs[j][1]}))
                  for j in rows]
        cos = np.array([s.cosine for s in scores])
        points.append({"count": c, "cosine": float(cos.mean()), "cosine_std": float(cos.std()),
                       "exact": float(np.mean([s.exact for s in scores])),
                       "fixed_points": float(np.mean([infos[j]["fixed_points"] for j in rows])),
                       "trials": trials, "subset_seeds": [jobs[j][2] for j in rows]})
    return {"points": points, "devices": memories[0].devices(), "arch": memories[0].arch,
            "train_seconds": train_seconds, "networks": len(jobs),
            "train_steps_mean": float(np.mean([i["steps"] for i in infos]))}


@dataclass
class CapacityResult:
    """Capacity at each threshold, with every tested count and what it cost."""

    capacity: dict[float, int]
    points: list[dict[str, Any]]
    devices: dict[str, int]
    settings: dict[str, Any]
    seconds: float
    evaluations: int
    capacity_per_device: dict[float, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"capacity": {str(k): v for k, v in self.capacity.items()},
                "capacity_per_device": {str(k): v for k, v in self.capacity_per_device.items()},
                "devices": self.devices, "points": self.points, "settings": self.settings,
                "seconds": self.seconds, "evaluations": self.evaluations}


def search_capacity(score: Callable[[int], float], thresholds: Sequence[float], *,
                    start: int = 4, max_count: int, resolution: float = 0.0,
                    cache: dict[int, float] | None = None) -> dict[float, int]:
    """Capacity at each threshold from as few ``score(P)`` calls as needed.

    Args:
        score: mean recall similarity with ``P`` stored patterns (deterministic given ``P``).
        thresholds: similarity thresholds.
        start: first count tried (the search grows by x2 above it and halves below it).
        max_count: the largest count that may be tried (pool size).
        resolution: stop bisecting when the bracket ``[pass, fail]`` is narrower than
            ``max(1, resolution * pass)`` (0 = exact to one pattern).
        cache: ``{P: similarity}`` shared between calls (filled in place).

    Returns ``{threshold: capacity}``; capacity follows the monotone rule (every tested count
    below it passes), 0 when even ``P = 1`` fails.
    """
    if max_count < 1:
        raise ConfigError(f"max_count must be >= 1, got {max_count}")
    cache = {} if cache is None else cache

    def sim(p: int) -> float:
        if p not in cache:
            cache[p] = float(score(p))
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
                mid = (lo + hi) // 2
                if sim(mid) >= theta:
                    lo = mid
                else:
                    hi = mid
        # monotone rule over everything tested so far
        cap = 0
        for q in sorted(cache):
            if cache[q] < theta:
                break
            cap = q
        out[theta] = cap
    return out


def find_capacity(pool: PatternSet, *, arch: str = "single", chip: str | ChipSpec = "paper-sim",
                  rule: str = "adaptive", hidden: int | Sequence[int] = 32,
                  thresholds: Sequence[float] = (0.99,), protocol: Protocol | None = None,
                  trials: int = 2, seed: int = 0, start: int | None = None,
                  resolution: float = 0.0, rule_options: dict[str, Any] | None = None,
                  cue_budget: int = 0,
                  progress: Callable[[int, float], None] | None = None) -> CapacityResult:
    """Capacity of ``arch`` memories storing subsets of ``pool`` (see the module docstring).

    ``rule`` applies to ``arch="single"`` (any rule of :mod:`xbarmem.learning.classic`); multilayer
    memories are trained by the hardware-adaptive rule. ``cue_budget`` (hardware-adaptive
    rule, > 0) sets the corrupted training cues per step to about this many in total:
    ``cue_copies = max(1, ceil(cue_budget / P))`` -- large pattern sets need fewer copies each
    and train proportionally faster. ``progress(count, similarity)`` is called after every
    tested count.
    """
    if arch not in ARCHS:
        raise ConfigError(f"arch must be one of {ARCHS}, got {arch!r}")
    if not thresholds or any(not 0 < t <= 1 for t in thresholds):
        raise ConfigError(f"thresholds must be in (0, 1], got {list(thresholds)}")
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, got {trials}")
    protocol = protocol or Protocol(level=0.05, probes=20)
    chip = load_chip(chip)
    if arch == "multilayer" and rule != "adaptive":
        raise ConfigError(f"multilayer memories are trained by the hardware-adaptive rule only, "
                          f"not {rule!r}")
    points: dict[int, dict[str, Any]] = {}
    devices: dict[str, int] = {}
    began = time.perf_counter()

    def score(p: int) -> float:
        options = dict(rule_options or {})
        if cue_budget > 0 and rule == "adaptive":
            options["cue_copies"] = max(1, math.ceil(cue_budget / p))
        if arch == "single":
            res = recall_curve(pool, [p], chip, rule, trials=trials, protocol=protocol,
                               seed=seed, rule_options=options)
        else:
            res = multilayer_points(pool, [p], chip, hidden, trials=trials, protocol=protocol,
                                    seed=seed, trainer_options=options)
        devices.update(res["devices"])
        point = res["points"][0]
        point["train_seconds"] = res["train_seconds"]
        points[p] = point
        if progress is not None:
            progress(p, point["cosine"])
        return point["cosine"]

    guess = start or max(2, pool.n_neurons // 8)
    caps = search_capacity(score, thresholds, start=guess, max_count=pool.n_patterns,
                           resolution=resolution)
    n_dev = devices.get("devices", 0)
    settings = {"arch": arch, "rule": rule, "hidden": (None if arch == "single" else hidden),
                "chip": chip.to_dict(), "protocol": protocol.as_dict(), "trials": trials,
                "seed": seed, "pool": pool.name, "pool_size": pool.n_patterns,
                "n_neurons": pool.n_neurons, "kind": pool.kind, "resolution": resolution,
                "rule_options": rule_options or {}, "cue_budget": cue_budget,
                "thresholds": list(thresholds)}
    return CapacityResult(
        capacity=caps, points=[points[p] for p in sorted(points)], devices=devices,
        settings=settings, seconds=time.perf_counter() - began, evaluations=len(points),
        capacity_per_device={t: (c / n_dev if n_dev else math.nan) for t, c in caps.items()})
