"""Evaluation: corrupt stored patterns, recall them on the chip, measure.

:func:`evaluate_memory` scores one programmed memory; :func:`compare_rules` trains every rule on
the same chips (same fault maps, mapping and noise) and scores them under one protocol, so that
comparisons are fair. Chips are independent draws: chip ``c`` uses fault map seed
``fault_seed + c``, programming seed ``program_seed + c`` and its own corrupted cues
(``protocol.probes`` per stored pattern, corruption seed ``protocol.seed + c``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from xbarmem.data.corruption import as_generator, corrupt
from xbarmem.data.patterns import PatternSet
from xbarmem.errors import ConfigError
from xbarmem.evaluation.metrics import cosine_similarity, exact_recall, hamming_distance
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.classic import get_rule
from xbarmem.learning.fit import fit_memories, uses_bias
from xbarmem.memory.single import SingleLayerMemory


@dataclass
class Protocol:
    """How recall is tested.

    Attributes:
        corruption: ``flip``, ``gaussian``, ``occlude`` or ``salt-pepper``.
        level: flip/salt-pepper rate, Gaussian sigma, or occluded fraction.
        probes: corrupted cues per stored pattern (per chip).
        mode: ``sync`` or ``async`` recall.
        activation: ``sign`` (binary neurons) or ``tanh`` (analogue neurons; for binary
            patterns the final state is read out by comparators, i.e. its sign).
        max_iterations: recall cap (sync steps / async sweeps).
        seed: seed of cue corruption and read noise.
    """

    corruption: str = "flip"
    level: float = 0.1
    probes: int = 1
    mode: str = "sync"
    activation: str = "sign"
    max_iterations: int = 100
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Score:
    """Recall quality of one memory (means over all cues)."""

    cosine: float
    exact: float
    hamming: float
    converged: float
    mean_iterations: float
    per_pattern_cosine: list[float] = field(default_factory=list)
    states: torch.Tensor | None = field(default=None, repr=False)
    cues: torch.Tensor | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"cosine": self.cosine, "exact": self.exact, "hamming": self.hamming,
                "converged": self.converged, "mean_iterations": self.mean_iterations,
                "per_pattern_cosine": self.per_pattern_cosine}


def evaluate_memory(memory: SingleLayerMemory, patterns: PatternSet | torch.Tensor,
                    protocol: Protocol | None = None) -> Score:
    """Corrupt each stored pattern ``protocol.probes`` times, recall, score against the clean
    pattern. Returns cosine similarity, exact-recall rate and Hamming distance (means)."""
    protocol = protocol or Protocol()
    shape = patterns.image_shape if isinstance(patterns, PatternSet) else None
    x = torch.as_tensor(patterns.patterns if isinstance(patterns, PatternSet) else patterns,
                        dtype=torch.float32)
    gen = as_generator(protocol.seed)
    target = x.repeat(protocol.probes, 1)
    cues = corrupt(target, protocol.corruption, protocol.level, gen, image_shape=shape)
    binary = not isinstance(patterns, PatternSet) or patterns.kind == "binary"
    if binary:
        cues = torch.where(cues >= 0, 1.0, -1.0)
    res = memory.recall(cues, mode=protocol.mode, activation=protocol.activation,
                        max_iterations=protocol.max_iterations, seed=gen)
    if binary and protocol.activation == "tanh":
        res.states = torch.where(res.states >= 0, 1.0, -1.0)
    cos = cosine_similarity(res.states, target)
    per_pattern = cos.reshape(protocol.probes, x.shape[0]).mean(dim=0)
    return Score(cosine=float(cos.mean()),
                 exact=float(exact_recall(res.states, target).float().mean()),
                 hamming=float(hamming_distance(res.states, target).float().mean()),
                 converged=float(res.converged.float().mean()),
                 mean_iterations=float(res.iterations.float().mean()),
                 per_pattern_cosine=[round(float(v), 6) for v in per_pattern],
                 states=res.states, cues=cues)


def make_fault_maps(chip: ChipSpec, n_neurons: int, chips: int, seed: int) -> list[FaultMap]:
    """One seeded fault map per chip, large enough for an N-neuron memory with a bias row."""
    need = arrays_needed(chip, n_neurons, n_neurons + 1)
    return [FaultMap.generate(chip, need, seed=seed + c) for c in range(chips)]


def compare_rules(patterns: PatternSet, chip: str | ChipSpec, rules: list[str], *,
                  chips: int = 3, fault_seed: int = 0, program_seed: int = 0,
                  protocol: Protocol | None = None,
                  rule_options: dict[str, dict] | None = None,
                  keep_states: bool = False, callback=None,
                  variants: dict[str, Protocol] | None = None) -> dict[str, Any]:
    """Train every rule on the same ``chips`` chips and score recall under one protocol.

    Returns a dict ``{"rules": {name: {cosine, cosine_std, exact, hamming, converged,
    train_seconds, train_steps_mean, devices, chips: [...]}}, "settings": {...}}``; with
    ``keep_states`` each rule also keeps the cues and recalled states of chip 0 (``"example"``).
    ``callback(rule_name)`` is called after each rule (for progress bars). ``variants`` names
    further protocols scored on the same trained chips (e.g. another recall mode); each rule
    then has ``"variants": {name: {cosine, cosine_std, exact}}``.
    """
    chip = load_chip(chip)
    protocol = protocol or Protocol()
    if chips < 1:
        raise ConfigError(f"chips must be >= 1, got {chips}")
    maps = make_fault_maps(chip, patterns.n_neurons, chips, fault_seed)
    x = torch.as_tensor(patterns.patterns)
    out: dict[str, Any] = {"rules": {}}
    for name in rules:
        rule = get_rule(name, **(rule_options or {}).get(name, {}))
        memories = [SingleLayerMemory(patterns.n_neurons, chip, fm, bias=uses_bias(rule))
                    for fm in maps]
        infos = fit_memories(rule, x, memories, kind=patterns.kind, program_seed=program_seed)
        scores = []
        for c, memory in enumerate(memories):
            chip_protocol = Protocol(**{**protocol.as_dict(), "seed": protocol.seed + c})
            scores.append(evaluate_memory(memory, patterns, chip_protocol))
        cos = torch.tensor([s.cosine for s in scores])
        extra = {}
        for vname, vproto in (variants or {}).items():
            vs = [evaluate_memory(m, patterns, Protocol(**{**vproto.as_dict(),
                                                           "seed": vproto.seed + c}))
                  for c, m in enumerate(memories)]
            vcos = torch.tensor([v.cosine for v in vs])
            extra[vname] = {"cosine": float(vcos.mean()),
                            "cosine_std": float(vcos.std()) if chips > 1 else 0.0,
                            "exact": float(sum(v.exact for v in vs) / chips),
                            "protocol": vproto.as_dict()}
        entry = {
            "cosine": float(cos.mean()),
            "cosine_std": float(cos.std()) if chips > 1 else 0.0,
            "exact": float(sum(s.exact for s in scores) / chips),
            "hamming": float(sum(s.hamming for s in scores) / chips),
            "converged": float(sum(s.converged for s in scores) / chips),
            "mean_iterations": float(sum(s.mean_iterations for s in scores) / chips),
            "train_seconds": float(sum(i["train_seconds"] for i in infos)),
            "train_steps_mean": float(sum(i["steps"] for i in infos) / chips),
            "devices": memories[0].devices(),
            "chips": [s.as_dict() for s in scores],
            "variants": extra,
        }
        if keep_states:
            entry["example"] = {"cues": scores[0].cues, "states": scores[0].states}
        out["rules"][name] = entry
        if callback is not None:
            callback(name)
    out["settings"] = {"chip": chip.to_dict(), "chips": chips, "fault_seed": fault_seed,
                       "program_seed": program_seed, "protocol": protocol.as_dict(),
                       "patterns": {"name": patterns.name, "kind": patterns.kind,
                                    "n_patterns": patterns.n_patterns,
                                    "n_neurons": patterns.n_neurons}}
    return out
