"""Estimated work of sweep trials, for progress bars and for running the costliest groups first
(:func:`xbarmem.experiments.runner.group_cost`), and the progress of a capacity search against
that estimate (:func:`search_progress`).

The unit is one multiply-add of a weight (a *product*); fixed costs are stated in products
too. Training counts the optimiser steps a training is expected to take (not its step cap:
trainings that stop on their own stop far earlier, :func:`expected_stages`), each step doing
its products and a fixed dispatch cost per unrolled update of each layer
(:data:`UPDATE_OVERHEAD`), shared by the networks trained together in one batch; every
network a trial scores costs :data:`NETWORK_OVERHEAD` besides its recall's products. The
constants were fitted to the measured compute time of every group of a ``reproduce --quick``
run and of two small sweeps over N, rules, faults, architectures, pattern kinds, curves and
searches, run in one process with one torch thread (docs/performance.md, "What the progress
bar's estimate counts")."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from xbarmem.learning.budget import DEFAULT_STEPS

#: a capacity search is estimated as this many networks (the counts it tests: 5 to 7
#: measured) ...
SEARCH_NETWORKS = 6
#: ... storing this many patterns per neuron in all (about 2 N / 3 each)
SEARCH_PATTERNS_PER_NEURON = 4
#: the expected steps of a stage that stops when its loss settles: the basin objective's
#: first stage (continuous trainings with a cap of 3000 or 10000 steps stopped after 1100 to
#: 1800 steps) ...
BASIN_STOP_STEPS = 1500
#: ... and the fixed-point objective with ``stop="stable"`` (2050 to 2350 of 3000 measured);
#: a stage of fewer capped steps counts its cap
STABLE_STOP_STEPS = 2200
#: products per weight, cue and unrolled update of the basin objective (the forward product
#: and the two of the backward pass); the fixed-point objective does 2 per pattern
BASIN_PRODUCTS = 3
#: the fixed cost of one unrolled update of one layer in one optimiser step, in products (the
#: torch calls of an update cost about this much whatever the size at N = 64)
UPDATE_OVERHEAD = 1.5e6
#: the fixed cost of each network a trial builds, programs and scores, in products
NETWORK_OVERHEAD = 2e8
#: recall updates per cue assumed for recall's products
RECALL_UPDATES = 10


def expected_stages(options: dict[str, Any], kind: str) -> list[tuple[float, int]]:
    """The stages of the hardware-adaptive rule with resolved ``options`` (a stored trial's
    ``rule_options``; absent step options as :data:`~xbarmem.learning.budget.DEFAULT_STEPS`)
    on ``kind`` patterns, as ``(expected steps, unrolled updates per step)``: the basin
    objective's flip-averaged stage (``flip_steps``, 1 update), its first stage (``max_steps``,
    at most :data:`BASIN_STOP_STEPS`; ``unroll``) and, for binary patterns, its sign fine-tune
    (``finetune_steps``, ``finetune_unroll``); the fixed-point objective's one stage of 1
    update (at most :data:`STABLE_STOP_STEPS` with ``stop="stable"``)."""
    o = {**DEFAULT_STEPS, **options}
    cap = int(o["max_steps"])
    if o["objective"] != "basin":
        return [(min(cap, STABLE_STOP_STEPS) if o.get("stop", "stable") == "stable" else cap,
                 1)]
    unroll = int(o.get("unroll") or 5)
    stages = [(float(min(cap, BASIN_STOP_STEPS)), unroll)]
    if kind == "binary":
        stages = [(float(o.get("flip_steps") or 0), 1), *stages,
                  (float(o["finetune_steps"]), int(o.get("finetune_unroll") or unroll))]
    return stages


def _layers(config: dict[str, Any]) -> list[int]:
    n = int(config["n_neurons"])
    hidden = config.get("hidden") or []
    hidden = [hidden] if isinstance(hidden, int) else list(hidden)
    return [n, *hidden, n] if config.get("arch") == "multilayer" else [n, n]


def _networks(config: dict[str, Any]) -> list[list[int]]:
    """The pattern counts of the networks a trial trains, in the batches trained together."""
    if config["trial"] == "capacity" and config.get("search"):
        each = max(1, round(SEARCH_PATTERNS_PER_NEURON * int(config["n_neurons"])
                            / SEARCH_NETWORKS))
        return [[each]] * SEARCH_NETWORKS
    if config["trial"] == "capacity":
        return count_chunks([int(c) for c in config.get("counts") or [1]])
    return [[int(config.get("patterns") or 1)]]


def count_chunks(counts: list[int]) -> list[list[int]]:
    """Sorted counts split into consecutive batches whose largest count is at most twice the
    smallest (a batch costs its number of networks times its largest pattern set, and runs until
    its slowest network converges)."""
    chunks: list[list[int]] = []
    for p in sorted(counts):
        if chunks and p <= 2 * chunks[-1][0]:
            chunks[-1].append(p)
        else:
            chunks.append([p])
    return chunks


def batch_overhead(config: dict[str, Any]) -> float:
    """The part of an evaluate trial's training (:func:`cost_parts`) that every network trained
    in its batch shares: the fixed cost of its steps' updates (0 for other trials, whose
    batches are their own, and for closed-form rules)."""
    if config["trial"] != "evaluate" or config["rule"] != "adaptive":
        return 0.0
    stages = expected_stages(config.get("rule_options") or {}, config.get("kind", "binary"))
    return UPDATE_OVERHEAD * (len(_layers(config)) - 1) * sum(s * u for s, u in stages)


def cost_parts(config: dict[str, Any]) -> tuple[float, float]:
    """A relative estimate of a trial's work (in products, > 0) for progress bars, as
    ``(training, recall)`` (see the module docstring). The trial trains one network
    (evaluate), one per count in batches (:func:`count_chunks`; a capacity curve) or
    :data:`SEARCH_NETWORKS` of :data:`SEARCH_PATTERNS_PER_NEURON` N patterns in all (a
    capacity search). Hardware-adaptive training counts each batch's expected steps
    (:func:`expected_stages`) with the updates' fixed cost (:data:`UPDATE_OVERHEAD` per
    layer) and each network's products: ``cue_copies`` cues per pattern (or about
    ``cue_budget`` cues per network) through each step's updates, :data:`BASIN_PRODUCTS`
    products per weight (the fixed-point objective: 2 per pattern); a closed-form rule counts
    one product per pattern and weight. Recall counts ``probes`` cues per pattern of
    :data:`RECALL_UPDATES` updates, and :data:`NETWORK_OVERHEAD` per network."""
    sizes = _layers(config)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    batches = _networks(config)
    patterns = sum(map(sum, batches))
    train = float(weights * patterns)
    if config["rule"] == "adaptive":
        opts = config.get("rule_options") or {}
        stages = expected_stages(opts, config.get("kind", "binary"))
        updates = sum(s * u for s, u in stages)
        train = UPDATE_OVERHEAD * (len(sizes) - 1) * updates * len(batches)
        for p in (p for batch in batches for p in batch):
            if opts.get("objective", DEFAULT_STEPS["objective"]) != "basin":
                train += 2.0 * p * weights * sum(s for s, _ in stages)
                continue
            budget = config.get("cue_budget") if config["trial"] == "capacity" else None
            cues = math.ceil(budget / p) * p if budget else p * opts.get("cue_copies", 16)
            train += BASIN_PRODUCTS * cues * weights * updates
    networks = sum(map(len, batches))
    recall = weights * RECALL_UPDATES * patterns * (config.get("probes") or 20)
    return train, float(recall + NETWORK_OVERHEAD * networks)


def search_progress(config: dict[str, Any], progress: Callable[[float], None]
                    ) -> Callable[[int, float], None]:
    """The ``progress(count, similarity)`` of :func:`~xbarmem.evaluation.capacity.
    find_capacity` for the capacity search trial ``config``: after each tested count it calls
    ``progress(fraction)`` with the share of the trial's estimated work (:func:`cost_parts`)
    done, each count costing what a recall curve of that one count costs. A search that
    outgrows the estimate is never shown as done: its fraction then counts one more count of
    the last one's work as still to come."""
    total = sum(cost_parts(config))
    done = [0.0]

    def tested(count: int, similarity: float) -> None:
        work = sum(cost_parts({**config, "search": False, "counts": [int(count)]}))
        done[0] += work
        progress(done[0] / max(total, done[0] + work))

    return tested
