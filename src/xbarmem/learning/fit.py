"""Learning on the chip: one entry point for every rule.

:func:`fit_memories` trains ``T`` memories at once (batched for the hardware-adaptive rule) and
programs the result into each memory's crossbar; :func:`train` is the one-call convenience that
builds the memory too. Classic rules learn ideal weights and meet the chip only when programmed;
the hardware-adaptive rule learns inside the realisable intervals of each memory's devices.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from xbarmem.data.patterns import validate_patterns
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.classic import get_rule
from xbarmem.memory.single import SingleLayerMemory


def uses_bias(rule) -> bool:
    """Whether memories for this rule need a bias row."""
    return bool(getattr(rule, "bias", False)) and rule.hardware_aware


def chip_noise(memory: SingleLayerMemory) -> tuple[float, float]:
    """Write-error and read-noise std of ``memory``'s chip in weight units (for injection)."""
    cb = memory.crossbar
    dev = memory.chip.device
    weight_noise = dev.write_noise * math.sqrt(2.0) * cb.w_max / dev.g_range
    return weight_noise, cb.read_noise_scale


def fit_memories(rule, patterns: torch.Tensor, memories: list[SingleLayerMemory], *,
                 kind: str = "binary", program_seed: int = 0,
                 counts: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Train ``rule`` for each memory on its pattern set and program the weights.

    Args:
        rule: a rule object (:func:`xbarmem.learning.classic.get_rule`).
        patterns: ``(T, P, N)`` one pattern set per memory, or ``(P, N)`` shared by all.
        memories: ``T`` memories (each with its own chip faults).
        kind: ``"binary"`` or ``"continuous"``.
        program_seed: seed of the programming (write) error; memory ``t`` uses
            ``program_seed + t``.
        counts: ``(T,)`` real patterns per set when sets are padded to a common ``P``.

    Returns:
        One dict per memory: rule name, steps, final loss, converged, train seconds.
    """
    x = torch.as_tensor(patterns, dtype=torch.float32)
    if x.ndim == 2:
        x = x.expand(len(memories), -1, -1)
    if x.ndim != 3 or x.shape[0] != len(memories):
        raise ConfigError(f"need one pattern set per memory: got patterns {tuple(x.shape)} "
                          f"for {len(memories)} memories")
    for m in memories:
        if m.n_neurons != x.shape[2]:
            raise ConfigError(f"patterns have N={x.shape[2]} neurons but the memory has "
                              f"{m.n_neurons}")
    start = time.perf_counter()
    infos: list[dict[str, Any]] = []
    if rule.hardware_aware:
        for m in memories:
            if m.has_bias != rule.bias:
                raise ConfigError(f"rule {'learns' if rule.bias else 'has no'} bias but the "
                                  f"memory has {'a' if m.has_bias else 'no'} bias row")
        bounds = [m.bounds()[0] for m in memories]
        lo = torch.stack([b[0] for b in bounds])
        hi = torch.stack([b[1] for b in bounds])
        weight_noise, read_noise = chip_noise(memories[0])
        result = rule.fit(x, lo, hi, kind=kind, weight_noise=weight_noise,
                          read_noise=read_noise, counts=counts)
        seconds = (time.perf_counter() - start) / len(memories)
        fixed = (rule.fixed_points(result, x, counts) if kind == "binary"
                 else result.converged)
        for t, m in enumerate(memories):
            m.program(result.weights[t], result.bias[t] if m.has_bias else None,
                      seed=program_seed + t)
            infos.append({"rule": rule.name, "steps": int(result.steps[t]),
                          "loss": float(result.loss[t]),
                          "converged": bool(result.converged[t]),
                          "fixed_points": bool(fixed[t]), "train_seconds": seconds})
    else:
        sizes = [x.shape[1]] * len(memories) if counts is None else [int(c) for c in counts]
        for t, m in enumerate(memories):
            t0 = time.perf_counter()
            xt = x[t, : sizes[t]]
            w, _ = rule.fit(xt)  # max|W| = 1: map it onto the full window
            m.program(w * m.crossbar.w_max, None, seed=program_seed + t)
            infos.append({"rule": rule.name, "steps": 0, "loss": float("nan"),
                          "converged": True, "train_seconds": time.perf_counter() - t0})
            if kind == "binary":
                infos[-1]["fixed_points"] = bool(((xt @ w.T) * xt > 0).all())
    for m, info in zip(memories, infos, strict=True):
        m.info = {**info, "kind": kind, "program_seed": program_seed,
                  "rule_options": _rule_options(rule)}
    return infos


def _rule_options(rule) -> dict[str, Any]:
    if isinstance(rule, AdaptiveTrainer):
        return rule.options()
    return {k: v for k, v in vars(rule).items() if not k.startswith("_")}


def train(patterns, *, chip: str | ChipSpec = "paper-sim", rule: str = "adaptive",
          faults: FaultMap | None = None, fault_seed: int = 0, program_seed: int = 0,
          kind: str = "binary", zero_one: bool = False, **rule_options) -> SingleLayerMemory:
    """Build a single-layer memory on ``chip``, train it with ``rule`` and program it.

    >>> mem = train(patterns, chip="paper-sim", rule="adaptive")      # doctest: +SKIP
    >>> mem.recall(cues).states                                       # doctest: +SKIP
    """
    x = torch.as_tensor(validate_patterns(patterns, kind=kind, allow_zero_one=zero_one))
    rule_obj = get_rule(rule, **rule_options)
    memory = SingleLayerMemory(x.shape[1], load_chip(chip), faults, bias=uses_bias(rule_obj),
                               fault_seed=fault_seed)
    fit_memories(rule_obj, x, [memory], kind=kind, program_seed=program_seed)
    return memory
