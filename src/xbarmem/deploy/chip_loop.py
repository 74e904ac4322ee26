"""Chip-in-the-loop adaptation: program, read back, pin what missed, re-train the rest.

Write-verify is never exact. :func:`adapt` closes the loop between a trained model (the digital
twin: chip spec, known fault map, placement) and a chip behind a
:class:`~xbarmem.deploy.backend.ChipBackend`:

* **round 0 (open loop)** -- program the model's targets into every device the model believes
  free, read every device back;
* after every read-back, a free device whose read conductance misses its current target by more
  than ``tolerance`` siemens -- a write error too large, or a stuck device the model did not
  know -- is **fixed at its read value**: it joins the fault map (NaN = free) as a stuck device;
* **rounds 1..K** -- re-train the hardware-adaptive rule against that fault map (pinned devices
  enter the trainer as realisable intervals via :meth:`Crossbar.bounds`), compute new targets
  and re-program only free devices whose read value is more than ``tolerance`` from their new
  target; fixed devices are never re-written (counted);
* after each round recall is scored through the backend (mean cosine, exact-recall rate) and the
  loop stops early once the mean cosine reaches ``target``.

Every round is a dict (see :class:`AdaptResult`), so callers log it as JSON lines.
The ``weight`` fault model has no per-device conductances to pin and is refused.
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
from xbarmem.deploy.backend import (
    BackendMemory,
    ChipBackend,
    conductance_targets,
    target_parameters,
)
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem
from xbarmem.learning.classic import get_rule
from xbarmem.memory.base import Memory


@dataclass
class AdaptResult:
    """Outcome of :func:`adapt`.

    Attributes:
        rounds: one dict per round: ``round``, ``written`` (devices re-programmed),
            ``kept`` (free devices already within tolerance of their new target, not
            re-written), ``skipped_fixed`` (fixed devices not re-written: known stuck + pinned),
            ``newly_fixed`` (pinned after this round's read-back), ``newly_fixed_at_rail`` (of
            those, reading within tolerance of g_min or g_max: what a stuck device looks like,
            and also a large write error clipped by the window), ``fixed`` (pinned
            so far), ``known_stuck``, ``free``, ``write_error_rms_uS`` (read - target over the
            devices written), ``cosine``, ``exact``, ``train_seconds``.
        memory: the adapted model: fault map with the pinned devices, the last trained target
            weights, conductances as read back in the last round.
        faults: that fault map (known stuck devices plus pinned ones at their read values).
        reached_target: the mean cosine reached ``target``.
    """

    rounds: list[dict[str, Any]]
    memory: Any
    faults: FaultMap
    reached_target: bool
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        first, last = self.rounds[0], self.rounds[-1]
        return {"rounds": self.rounds, "open_loop_cosine": first["cosine"],
                "final_cosine": last["cosine"], "gain": last["cosine"] - first["cosine"],
                "open_loop_exact": first["exact"], "final_exact": last["exact"],
                "reached_target": self.reached_target, "settings": self.settings}


def default_trainer(memory: Memory, **overrides: Any) -> AdaptiveTrainer:
    """The trainer to re-train ``memory`` with: its own hardware-adaptive options when it was
    trained by the adaptive rule, defaults otherwise (bias as the memory's), with
    ``overrides`` in place of its own before the trainer is built (so an option this machine
    refuses, e.g. ``products="bf16"`` without bfloat16 support, can be replaced). Raises
    :class:`ConfigError` for an unknown or refused option."""
    info = memory.info or {}
    options = dict(info.get("rule_options", {})) if info.get("rule") == "adaptive" else {}
    options["bias"] = memory.has_bias
    options.update(overrides)
    return get_rule("adaptive", **options)


def _retrain(rule, twin: Memory, x: torch.Tensor, kind: str
             ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Train ``rule`` against the twin's realisable intervals; ``[(W, b)]`` per layer."""
    result = rule.fit(Problem.for_memories(x, [twin], kind=kind))
    biases = result.biases if result.biases is not None and twin.has_bias else None
    return [(w[0], None if biases is None else biases[k][0])
            for k, w in enumerate(result.weights)]


class _Loop:
    """The state of the loop: devices pinned by read-back and the last read of every layer."""

    def __init__(self, memory: Memory, view: BackendMemory, tolerance: float) -> None:
        self.memory, self.view, self.tolerance = memory, view, tolerance
        self.known = memory.faults.g_stuck
        self.pinned = np.full_like(self.known, np.nan)  # devices fixed by read-back, siemens
        self.reads: list[np.ndarray | None] = [None] * len(memory.layers)

    def faults(self, **meta: Any) -> FaultMap:
        """Known stuck devices plus the pinned ones."""
        return FaultMap(np.where(np.isnan(self.known), self.pinned, self.known),
                        {**self.memory.faults.meta, **meta,
                         "adapt_tolerance_S": self.tolerance})

    def write_round(self, twin: Memory, params) -> dict[str, Any]:
        """Program ``params`` (per layer ``(W, b)``) through the backends where needed, read
        back, pin what missed; returns the round's device counts and write error."""
        stats = dict.fromkeys(("written", "kept", "skipped_fixed", "newly_fixed",
                               "newly_fixed_at_rail", "free"), 0)
        sq_err = 0.0
        for k, (layer, tw, be, (w, b)) in enumerate(zip(
                self.memory.layers, twin.layers, self.view.backends, params, strict=True)):
            goal, w_max = conductance_targets(tw, w, b)
            if not np.isclose(w_max, layer.w_max):
                raise ConfigError(f"layer {k}: targets map to w_max {w_max}, the chip uses "
                                  f"{layer.w_max}")
            free = ~tw.stuck
            write = free if self.reads[k] is None else free & (
                np.abs(goal - self.reads[k]) > self.tolerance)
            be.program(np.where(write, goal, np.nan))
            read = np.asarray(be.read_back(), dtype=np.float64)
            if read.shape != goal.shape:
                raise ConfigError(f"backend {k} read back shape {read.shape}, expected "
                                  f"{goal.shape}")
            self.reads[k] = read
            miss = self._pin(layer, free, read, goal)
            rail = miss & self._at_rail(read)
            for key, count in (("written", write), ("kept", free & ~write),
                               ("skipped_fixed", ~free), ("newly_fixed", miss),
                               ("newly_fixed_at_rail", rail), ("free", free & ~miss)):
                stats[key] += int(count.sum())
            sq_err += float(((read - goal)[write] ** 2).sum())
        stats["write_error_rms_uS"] = 1e6 * math.sqrt(sq_err / max(stats["written"], 1))
        return stats

    def _pin(self, layer: Crossbar, free, read, goal) -> np.ndarray:
        """Pin the free devices of ``layer`` whose read value misses the goal; returns them."""
        miss = free & (np.abs(read - goal) > self.tolerance)
        block = layer.scatter(np.where(miss, read, np.nan))
        sl = slice(layer.first_array, layer.first_array + layer.n_arrays)
        self.pinned[sl] = np.where(np.isnan(block), self.pinned[sl], block)
        return miss

    def _at_rail(self, read: np.ndarray) -> np.ndarray:
        dev = self.memory.chip.device
        return ((np.abs(read - dev.g_min) <= self.tolerance)
                | (np.abs(read - dev.g_max) <= self.tolerance))

    def adapted(self, params, log: list[dict[str, Any]]) -> Memory:
        """The adapted model: pinned devices in its fault map, the last read conductances and
        target weights."""
        adapted = self.memory.rebuild(self.faults(source="adapt"))
        for layer, read in zip(adapted.layers, self.reads, strict=True):
            layer.set_conductances(read[0], read[1], layer.w_max)
        adapted.targets = [(w, b) for w, b in params]
        adapted.info = {**(self.memory.info or {}), "adapt": {
            "rounds": len(log) - 1, "tolerance_S": self.tolerance,
            "final_cosine": log[-1]["cosine"]}}
        return adapted


def _check(memory: Memory, rounds: int, tolerance: float) -> None:
    if not isinstance(rounds, int) or rounds < 0:
        raise ConfigError(f"rounds must be an integer >= 0, got {rounds!r}")
    if not tolerance > 0:
        raise ConfigError(f"tolerance must be > 0 siemens, got {tolerance!r}")
    if memory.chip.array.fault_model != "device":
        raise ConfigError("chip-in-the-loop adaptation needs the 'device' fault model (the "
                          "'weight' model has no device conductances to pin)")


def adapt(memory: Memory, backends: ChipBackend | Sequence[ChipBackend],
          patterns: PatternSet, *, rounds: int = 2, target: float = 0.99,
          tolerance: float = 3e-6, protocol: Protocol | None = None, trainer=None,
          callback: Callable[[dict[str, Any]], None] | None = None) -> AdaptResult:
    """Run chip-in-the-loop adaptation (see module docstring).

    Args:
        memory: the trained model (a :class:`~xbarmem.memory.base.Memory`) with its targets.
        backends: the chip, one backend per layer.
        patterns: the stored patterns (re-training and scoring).
        rounds: adaptation rounds after the open-loop round 0 (0 = open loop only).
        target: stop once the mean cosine similarity reaches this.
        tolerance: siemens; a device whose read value misses its target by more is fixed.
        protocol: recall test of every round (default: 10% flips, 20 cues per pattern,
            sync recall, sign neurons for binary / tanh for continuous patterns, seed 0; the
            same cues every round).
        trainer: re-training rule (default :func:`default_trainer`).
        callback: called with each round's dict as soon as it is measured.
    """
    _check(memory, rounds, tolerance)
    view = BackendMemory(memory, backends)
    kind = patterns.kind
    protocol = protocol or Protocol(probes=20, activation="sign" if kind == "binary" else "tanh")
    trainer = trainer or default_trainer(memory)
    x = torch.as_tensor(patterns.patterns, dtype=torch.float32)
    if x.shape[1] != memory.n_neurons:
        raise ConfigError(f"patterns have N={x.shape[1]} but the memory has {memory.n_neurons}")
    loop = _Loop(memory, view, tolerance)
    params = target_parameters(memory)
    log: list[dict[str, Any]] = []
    reached = False
    for rnd in range(rounds + 1):
        seconds = 0.0
        twin = memory.rebuild(loop.faults())
        if rnd > 0:
            start = time.perf_counter()
            params = _retrain(trainer, twin, x, kind)
            seconds = time.perf_counter() - start
        stats = loop.write_round(twin, params)
        score = evaluate_memory(view, patterns, protocol)
        rms = stats.pop("write_error_rms_uS")
        entry = {"round": rnd, **stats, "fixed": int((~np.isnan(loop.pinned)).sum()),
                 "known_stuck": int(sum(int(ly.stuck.sum()) for ly in memory.layers)),
                 "write_error_rms_uS": rms,
                 "cosine": score.cosine, "exact": score.exact, "train_seconds": seconds}
        log.append(entry)
        if callback is not None:
            callback(entry)
        if score.cosine >= target:
            reached = True
            break
    adapted = loop.adapted(params, log)
    settings = {"rounds": rounds, "target": target, "tolerance_uS": tolerance * 1e6,
                "protocol": protocol.as_dict(),
                "trainer": trainer.options(len(memory.layers), kind)}
    return AdaptResult(log, adapted, adapted.faults, reached, settings)
