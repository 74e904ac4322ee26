"""Recall quality against the number of stored patterns, and capacity.

:func:`recall_curve` stores ``P`` patterns for every ``P`` in ``counts`` (a fresh random subset of a
pattern pool per trial, seeded), on ``trials`` chips, and measures recall. For the
hardware-adaptive rule every (count, trial) network is trained in **one** batched tensor program
(pattern sets padded to the largest count). :func:`capacity_from_curve` reads the capacity off a
curve: the largest ``P`` whose mean similarity, and that of every smaller tested ``P``, stays at or
above the threshold.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from .chipspec import ChipSpec, load_chip
from .crossbar import arrays_needed
from .data import PatternSet
from .errors import ConfigError
from .evaluate import Protocol, evaluate_memory
from .faults import FaultMap
from .memory import SingleLayerMemory
from .rules import get_rule
from .training import fit_memories, uses_bias


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

    Returns ``{"points": [CurvePoint as dict], "train_seconds": s, "networks": n, ...}``.
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
    points = []
    for c in counts:
        rows = [j for j, (cj, _, _) in enumerate(jobs) if cj == c]
        scores = []
        for j in rows:
            k = jobs[j][1]
            stored = pool.subset(subsets[j])
            proto = Protocol(**{**protocol.as_dict(), "seed": protocol.seed + k})
            scores.append(evaluate_memory(memories[j], stored, proto))
        cos = np.array([s.cosine for s in scores])
        points.append(CurvePoint(
            count=c, cosine=float(cos.mean()), cosine_std=float(cos.std()),
            exact=float(np.mean([s.exact for s in scores])),
            fixed_points=float(np.mean([infos[j].get("fixed_points", True) for j in rows])),
            trials=trials, subset_seeds=[jobs[j][2] for j in rows]))
    return {"rule": rule, "points": [asdict(p) for p in points],
            "train_seconds": train_seconds, "networks": len(jobs),
            "train_steps_mean": float(np.mean([i["steps"] for i in infos])),
            "devices": memories[0].devices(), "chip": chip.to_dict(),
            "protocol": protocol.as_dict(), "seed": seed, "pool": pool.name}


def capacity_from_curve(points: list[dict[str, Any]], threshold: float) -> int:
    """Largest count whose similarity, and that of every smaller tested count, is at or above
    ``threshold`` (0 if even the smallest fails)."""
    capacity = 0
    for point in sorted(points, key=lambda p: p["count"]):
        if point["cosine"] < threshold:
            break
        capacity = point["count"]
    return capacity
