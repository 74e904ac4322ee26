"""Estimated work of sweep trials, for progress bars and for running the costliest groups first
(:func:`xbarmem.experiments.runner.group_cost`), and the progress of a capacity search against
that estimate (:func:`search_progress`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xbarmem.learning.budget import step_budget

#: a capacity search is estimated as this many networks ...
SEARCH_NETWORKS = 8
#: ... storing this many patterns per neuron in all (about N / 2 each)
SEARCH_PATTERNS_PER_NEURON = 4


def cost_parts(config: dict[str, Any]) -> tuple[float, float]:
    """A relative estimate of a trial's work (arbitrary units, > 0) for progress bars, as
    ``(training, recall)``: the weights of the network times the training work and times the
    recall work. The trial trains one network
    (evaluate), one per count (a capacity curve) or about 8 of about N / 2 patterns (a
    capacity search). Hardware-adaptive training counts ``max_steps`` (+ ``finetune_steps``
    where the basin objective fine-tunes binary patterns) steps, each recalling
    ``cue_copies`` cues per pattern (or ``cue_budget`` cues per network) through ``unroll``
    updates (the fixed-point objective: 2 products per pattern); a closed-form rule counts
    one product per pattern; recall counts ``probes`` cues per pattern of about 10
    updates."""
    n = int(config["n_neurons"])
    hidden = config.get("hidden") or []
    hidden = [hidden] if isinstance(hidden, int) else list(hidden)
    sizes = [n, *hidden, n] if config.get("arch") == "multilayer" else [n, n]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if config["trial"] == "capacity" and config.get("search"):
        networks, patterns = SEARCH_NETWORKS, SEARCH_PATTERNS_PER_NEURON * n
    elif config["trial"] == "capacity":
        counts = config.get("counts") or [1]
        networks, patterns = len(counts), sum(counts)
    else:
        networks, patterns = 1, config.get("patterns") or 1
    train = float(patterns)
    if config["rule"] == "adaptive":
        opts = config.get("rule_options") or {}
        basin = opts.get("objective", "basin") == "basin"
        steps = step_budget(opts, config.get("kind", "binary"))
        cues = (networks * config["cue_budget"] if config.get("cue_budget") else
                patterns * opts.get("cue_copies", 16))
        train = steps * (cues * opts.get("unroll", 5) if basin else 2 * patterns)
    return float(weights * train), float(weights * 10 * patterns * (config.get("probes") or 20))


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
