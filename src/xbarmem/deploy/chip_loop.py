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
    layers_of,
    target_parameters,
    twin_layer,
)
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer


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


def default_trainer(memory: Any) -> AdaptiveTrainer:
    """The trainer to re-train ``memory`` with: its own hardware-adaptive options when it was
    trained by the adaptive rule, defaults otherwise (bias as the memory's)."""
    info = getattr(memory, "info", {}) or {}
    options = dict(info.get("rule_options", {})) if info.get("rule") == "adaptive" else {}
    options["bias"] = memory.has_bias
    if hasattr(memory, "layers") and len(memory.layers) > 1:
        from xbarmem.learning.multilayer import MultilayerTrainer

        return MultilayerTrainer(**options)
    options.pop("init_scale", None)
    return AdaptiveTrainer(**options)


def _retrain(trainer, twins: list[Crossbar], x: torch.Tensor, kind: str
             ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Train against the twins' realisable intervals; ``[(W, b)]`` per layer."""
    dev = twins[0].chip.device
    weight_noise = dev.write_noise * math.sqrt(2.0) * twins[0].w_max / dev.g_range
    read_noise = twins[0].read_noise_scale
    if len(twins) == 1:
        lo, hi = twins[0].bounds()
        res = trainer.fit(x, lo, hi, kind=kind, weight_noise=weight_noise,
                          read_noise=read_noise)
        return [(res.weights[0], res.bias[0] if twins[0].has_bias else None)]
    res = trainer.fit(x, [tw.bounds() for tw in twins], kind=kind, weight_noise=weight_noise,
                      read_noise=read_noise)
    return [(w[0], b[0] if tw.has_bias else None)
            for w, b, tw in zip(res.weights, res.biases, twins, strict=True)]


def _rebuild(memory: Any, faults: FaultMap) -> Any:
    """An unprogrammed copy of ``memory``'s architecture on ``faults``."""
    layers = layers_of(memory)
    if len(layers) > 1:
        from xbarmem.memory.multilayer import MultilayerMemory

        return MultilayerMemory(memory.n_neurons, memory.hidden_sizes, memory.chip, faults,
                                bias=memory.has_bias)
    from xbarmem.memory.single import SingleLayerMemory

    return SingleLayerMemory(memory.n_neurons, memory.chip, faults, bias=memory.has_bias,
                             first_array=layers[0].first_array)


def adapt(memory: Any, backends: ChipBackend | Sequence[ChipBackend],
          patterns: PatternSet, *, rounds: int = 2, target: float = 0.99,
          tolerance: float = 3e-6, protocol: Protocol | None = None, trainer=None,
          callback: Callable[[dict[str, Any]], None] | None = None) -> AdaptResult:
    """Run chip-in-the-loop adaptation (see module docstring).

    Args:
        memory: the trained model (single-layer or multilayer) with its target weights.
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
    if not isinstance(rounds, int) or rounds < 0:
        raise ConfigError(f"rounds must be an integer >= 0, got {rounds!r}")
    if not tolerance > 0:
        raise ConfigError(f"tolerance must be > 0 siemens, got {tolerance!r}")
    if memory.chip.array.fault_model != "device":
        raise ConfigError("chip-in-the-loop adaptation needs the 'device' fault model (the "
                          "'weight' model has no device conductances to pin)")
    view = BackendMemory(memory, backends)
    layers, bes = view.layers, view.backends
    kind = patterns.kind
    protocol = protocol or Protocol(probes=20, activation="sign" if kind == "binary" else "tanh")
    trainer = trainer or default_trainer(memory)
    x = torch.as_tensor(patterns.patterns, dtype=torch.float32)
    if x.shape[1] != memory.n_neurons:
        raise ConfigError(f"patterns have N={x.shape[1]} but the memory has {memory.n_neurons}")
    dev = memory.chip.device
    known = memory.faults.g_stuck
    pinned = np.full_like(known, np.nan)  # devices fixed by read-back, siemens
    params = target_parameters(memory)
    reads: list[np.ndarray | None] = [None] * len(layers)
    log: list[dict[str, Any]] = []
    reached = False
    faults = memory.faults
    for rnd in range(rounds + 1):
        seconds = 0.0
        faults = FaultMap(np.where(np.isnan(known), pinned, known),
                          {**memory.faults.meta, "adapt_tolerance_S": tolerance})
        twins = [twin_layer(layer, faults) for layer in layers]
        if rnd > 0:
            start = time.perf_counter()
            params = _retrain(trainer, twins, x, kind)
            seconds = time.perf_counter() - start
        stats = dict.fromkeys(("written", "kept", "skipped_fixed", "newly_fixed",
                               "newly_fixed_at_rail", "free"), 0)
        sq_err = 0.0
        for k, (layer, twin, be, (w, b)) in enumerate(zip(layers, twins, bes, params,
                                                          strict=True)):
            goal, w_max = conductance_targets(twin, w, b)
            if not np.isclose(w_max, layer.w_max):
                raise ConfigError(f"layer {k}: targets map to w_max {w_max}, the chip uses "
                                  f"{layer.w_max}")
            free = ~twin.stuck
            write = free if reads[k] is None else free & (np.abs(goal - reads[k]) > tolerance)
            be.program(np.where(write, goal, np.nan))
            read = np.asarray(be.read_back(), dtype=np.float64)
            if read.shape != goal.shape:
                raise ConfigError(f"backend {k} read back shape {read.shape}, expected "
                                  f"{goal.shape}")
            reads[k] = read
            miss = free & (np.abs(read - goal) > tolerance)
            rail = miss & ((np.abs(read - dev.g_min) <= tolerance)
                           | (np.abs(read - dev.g_max) <= tolerance))
            block = layer.scatter(np.where(miss, read, np.nan))
            sl = slice(layer.first_array, layer.first_array + layer.n_arrays)
            pinned[sl] = np.where(np.isnan(block), pinned[sl], block)
            stats["written"] += int(write.sum())
            stats["kept"] += int((free & ~write).sum())
            stats["skipped_fixed"] += int((~free).sum())
            stats["newly_fixed"] += int(miss.sum())
            stats["newly_fixed_at_rail"] += int(rail.sum())
            stats["free"] += int((free & ~miss).sum())
            sq_err += float(((read - goal)[write] ** 2).sum())
        score = evaluate_memory(view, patterns, protocol)
        entry = {"round": rnd, **stats, "fixed": int((~np.isnan(pinned)).sum()),
                 "known_stuck": int(sum(int(ly.stuck.sum()) for ly in layers)),
                 "write_error_rms_uS": 1e6 * math.sqrt(sq_err / max(stats["written"], 1)),
                 "cosine": score.cosine, "exact": score.exact, "train_seconds": seconds}
        log.append(entry)
        if callback is not None:
            callback(entry)
        if score.cosine >= target:
            reached = True
            break
    final_faults = FaultMap(np.where(np.isnan(known), pinned, known),
                            {**memory.faults.meta, "source": "adapt",
                             "adapt_tolerance_S": tolerance})
    adapted = _rebuild(memory, final_faults)
    for layer, read in zip(layers_of(adapted), reads, strict=True):
        layer.set_conductances(read[0], read[1], layer.w_max)
    weights = [p[0] for p in params]
    biases = [p[1] for p in params]
    if len(weights) > 1:
        adapted.target_weights, adapted.target_biases = weights, biases
    else:
        adapted.target_weights, adapted.target_bias = weights[0], biases[0]
    adapted.info = {**(memory.info or {}), "adapt": {"rounds": len(log) - 1,
                                                     "tolerance_S": tolerance,
                                                     "final_cosine": log[-1]["cosine"]}}
    settings = {"rounds": rounds, "target": target, "tolerance_uS": tolerance * 1e6,
                "protocol": protocol.as_dict(), "trainer": trainer.options()}
    return AdaptResult(log, adapted, final_faults, reached, settings)
