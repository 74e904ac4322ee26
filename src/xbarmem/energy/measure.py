"""Measured recall dynamics -> energy and latency per recall.

:func:`measure_memory` recalls the *same* cues synchronously and asynchronously through a
programmed memory and keeps, per cue, the steps each mode took (``RecallResult.iterations`` for
sync, one product per step; ``RecallResult.reads`` for async, one neuron update per step)
together with the layers' conductances. :func:`energy_report` turns such a
:class:`Measurement` into energy and latency per recall with any circuit, so one measurement
serves every circuit preset (and the calibration).

:func:`measure` builds, trains and measures a memory in one call (single layer or multilayer);
:func:`measure_sizes` repeats it over several N with random +-1 patterns. Both reports
(:class:`EnergyReport`, :class:`EnergyBySize`) are dicts that print one short line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xbarmem.checks import (
    ResultDict,
    as_real_array,
    as_written,
    check_callback,
    check_choice,
    check_each_once,
    check_seed,
    check_type,
    checked_keywords,
    listed,
    renamed_keywords,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.builtin import IMAGE_SETS
from xbarmem.data.patterns import PatternSet, check_kind, select_indices
from xbarmem.data.sources import data_fields, is_drawn, patterns_for
from xbarmem.energy.circuit import UNITS, CircuitSpec, load_circuit
from xbarmem.energy.model import (
    READ_VOLTAGE,
    LayerLoad,
    check_layers,
    check_steps,
    compare,
    layer_reads,
    programming_cost,
    recall_cost,
    step_cost,
)
from xbarmem.errors import ConfigError, PatternError, warn
from xbarmem.evaluation.evaluate import Protocol, check_cue_kind
from xbarmem.evaluation.evaluate import make_cues as protocol_cues
from xbarmem.evaluation.metrics import cosine_rows, exact_recall, mean_cosine, mean_value
from xbarmem.hardware.chip import FRACTION, ChipSpec, load_chip
from xbarmem.learning.classic import get_rule, rule_from_options
from xbarmem.learning.fit import fit_memories, hidden_for
from xbarmem.memory.base import Memory, memory_patterns
from xbarmem.memory.build import make_memory
from xbarmem.memory.multilayer import HiddenWidths
from xbarmem.memory.recall import (
    ACTIVATIONS,
    DEFAULT_TOL,
    check_recall,
    check_tol,
    reads_with_noise,
)
from xbarmem.names import ARCHS, MODES, corruption_key, default_cues, tol_entry
from xbarmem.sizes import MAX_LOAD, patterns_at_load
from xbarmem.spec import Number

__all__ = ["EnergyBySize", "EnergyReport", "Measurement", "energy_report", "measure",
           "measure_model", "measure_sizes"]

#: the unit of every circuit constant that has one (``"array.pulse_width": "s"``), beside the
#: constants in reports (a constant's number alone did not say J or s)
CONSTANT_UNITS = {key: unit for key, unit in UNITS.items() if unit}
#: a count of at least one (numpy integers taken, bools refused)
_COUNT = Number(integer=True, ge=1)
#: a memory size N
_SIZE = Number(integer=True, ge=2)


@value_equality
@dataclass
class Measurement:
    """Measured recall of one memory, everything the cost model needs.

    Attributes:
        layers: the memory's layers (input layer first).
        read_voltage: full-scale row input, volts (the chip's ``array.read_voltage``).
        sync_steps: ``(B,)`` sync steps per cue (one product of every layer per step).
        async_steps: ``(B,)`` async steps per cue (one neuron update per step).
        async_sweeps: ``(B,)`` async sweeps per cue (``async_steps / N``).
        info: settings and recall quality (JSON-able).
    """

    layers: list[LayerLoad]
    read_voltage: float
    sync_steps: np.ndarray
    async_steps: np.ndarray
    async_sweeps: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse what cannot be priced, naming the attribute (a measurement built by hand,
        e.g. of one's own recalls): layers not a non-empty list of :class:`LayerLoad`, a
        read voltage out of ``(0, MAX_READ_VOLTAGE]`` V, steps or sweeps that are not one
        count per cue, or async steps and sweeps of different numbers of cues (they count
        the same asynchronous recalls; the synchronous ones may be of other cues). The
        counts are kept as int64 arrays (lists taken)."""
        self.layers = check_layers(self.layers)
        READ_VOLTAGE(self.read_voltage, "read_voltage")
        self.read_voltage = as_written(self.read_voltage)  # (a float32: its decimal)
        for key in ("sync_steps", "async_steps", "async_sweeps"):
            setattr(self, key, check_steps(getattr(self, key), key))
        if len(self.async_steps) != len(self.async_sweeps):
            raise ConfigError(f"async_steps and async_sweeps must hold one count per cue each "
                              f"(of the same asynchronous recalls), got "
                              f"{len(self.async_steps)} and {len(self.async_sweeps)}")

    def __repr__(self) -> str:
        """The memory, the steps' ranges over the cues and the recall quality (the attributes
        hold every value)."""
        info = self.info
        sizes = {"sizes": "-".join(map(str, info["layer_sizes"]))} if "layer_sizes" in info else {}
        return result_repr("Measurement", {
            **sizes, **{k: info[k] for k in ("rule", "chip") if k in info},
            "read_voltage": self.read_voltage, "sync_steps": self.sync_steps,
            "async_steps": self.async_steps, "async_sweeps": self.async_sweeps,
            **{f"{mode}_cosine": q["cosine"] for mode, q in info.get("quality", {}).items()}})


class EnergyReport(ResultDict):
    """What :func:`energy_report` returns: a dict ``{"sync", "async", "ratios",
    "programming", "layers", "read_voltage_V", "circuit"}`` (``circuit``: its ``name``,
    ``constants``, their ``units`` and its ``source``, where its values come from; read as
    before) that prints one
    short line -- the async / sync ratios of energy and latency, each mode's mean energy and
    latency per recall, the cost of programming and the circuit -- where a plain dict printed
    every breakdown and constant. :meth:`as_dict` gives a plain dict."""

    def shown(self) -> dict[str, Any]:
        """Ratios, mean costs per recall and programming, the circuit (the items hold every
        value)."""
        sync, asyn = self.get("sync", {}), self.get("async", {})
        programming, circuit = self.get("programming", {}), self.get("circuit", {})
        return {
            **{k: self.get("ratios", {}).get(k) for k in ("energy_ratio", "latency_ratio")},
            **{f"{mode}_{key}": (cost.get(key) or {}).get("mean")
               for key in ("energy_J", "latency_s") for mode, cost in (("sync", sync),
                                                                      ("async", asyn))},
            "programming_energy_J": programming.get("energy_J"),
            "circuit": circuit.get("name")}


class EnergyBySize(ResultDict):
    """What :func:`measure_sizes` returns: a dict ``{"settings", "rows"}`` (read as before)
    that prints one short line -- the sizes, the ranges of the energy and latency ratios over
    them, circuit, rule and chip -- where a plain dict printed every row and constant.
    :meth:`as_dict` gives a plain dict."""

    def shown(self) -> dict[str, Any]:
        """The sizes and the ratios' ranges over them, circuit, rule and chip (``rows`` holds
        every value)."""
        rows, settings = self.get("rows", []), self.get("settings", {})
        return {
            "sizes": [row.get("n_neurons") for row in rows],
            **{key: [row.get(key) for row in rows] for key in ("energy_ratio",
                                                                 "latency_ratio")},
            **{k: settings.get(k) for k in ("circuit", "rule", "chip") if k in settings}}


def _quality(states: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Mean cosine and exact-recall share of final ``states`` against ``targets``: states read
    out by their sign for +-1 targets (comparators), as they are for continuous ones (as
    :func:`~xbarmem.evaluation.evaluate.score_recall` scores them)."""
    binary = bool(((targets == 1) | (targets == -1)).all())
    read_out = torch.where(states >= 0, 1.0, -1.0) if binary else states
    return {"cosine": mean_cosine(cosine_rows(read_out, targets)),
            "exact": mean_value(exact_recall(read_out, targets))}


def layer_loads(memory, activation: str = "sign", cues: Any = None) -> list[LayerLoad]:
    """The cost model's view of a programmed :class:`~xbarmem.memory.base.Memory`: its first
    layer's inputs are the recall states, hidden layers are tanh with analogue outputs and
    DAC-driven inputs, the last layer's outputs feed ``activation``.

    The first layer's rows take 1-bit drivers (``inputs="binary"``) only when every value
    they apply is -1 or +1: ``sign`` states from ``cues`` (the ``(B, N)`` cues the recall
    starts from; None: cues of +-1) of +-1 alone. ``tanh`` states, or cues of any other value
    (continuous cues, a 0 for an unknown entry), which enter the first read as they are, need
    DACs on those rows (``inputs="analog"``, priced ``drivers.dac_energy`` at every read)."""
    _check_memory(memory)
    activation = check_choice(activation, ACTIVATIONS, "activation")
    states = "binary" if activation == "sign" and _two_levels(cues) else "analog"
    crossbars = list(memory.layers)
    loads = []
    for k, cb in enumerate(crossbars):
        last = k == len(crossbars) - 1
        loads.append(LayerLoad.from_crossbar(
            cb, inputs=states if k == 0 else "analog", outputs=activation if last else "tanh"))
    return loads


def _two_levels(cues: Any) -> bool:
    """Whether every value of ``cues`` (None, or what :func:`~xbarmem.checks.as_real_array`
    reads) is -1 or +1: what a 1-bit row driver applies (None: yes)."""
    if cues is None:
        return True
    x = np.asarray(as_real_array(cues, "cues", error=PatternError, dtype="float32"))
    return bool(np.isin(x, (-1.0, 1.0)).all())


def measure_memory(memory, cues: torch.Tensor, targets: torch.Tensor, *,
                   activation: str = "sign", max_iterations: int = 100,
                   seed: int = 0, tol: float = DEFAULT_TOL) -> Measurement:
    """Recall ``cues`` ``(B, N)`` synchronously and asynchronously (same cues, same seed of
    read noise / update order) and record the steps of every cue.

    Args:
        memory: a programmed single-layer or multilayer memory (``recall(cues, mode=...)``).
        cues: ``(B, N)`` starting states (any value other than -1 and +1 puts DACs on the
            first layer's rows: :func:`layer_loads`).
        targets: ``(B, N)`` stored pattern each cue came from (for the recall quality),
            finite numbers.
        activation: ``"sign"`` or ``"tanh"`` neurons.
        max_iterations: cap on sync steps / async sweeps.
        seed: seed of read noise and of the async update order.
        tol: ``tanh`` fixed-point tolerance (:meth:`Memory.recall`'s ``tol``, same default):
            under read noise tanh states change by about the noise at every step and reach
            the cap unless ``tol`` is at least that large.
    """
    _check_memory(memory)
    _, activation = check_recall("sync", activation, max_iterations)
    tol = check_tol(tol)
    seed = check_seed(seed)  # (memory.recall reads None as seed 0; a measurement records its seed)
    cues = tensor_of(as_real_array(cues, "cues", error=PatternError, dtype="float32"))
    targets = tensor_of(as_real_array(targets, "targets", error=PatternError,
                                      dtype="float32"))
    if cues.shape != targets.shape:
        raise PatternError(f"cues {tuple(cues.shape)} and targets {tuple(targets.shape)} differ")
    if not bool(torch.isfinite(targets).all()):  # (before any recall; the cues' own check)
        raise PatternError("targets contain NaN or inf")
    results = {mode: memory.recall(cues, mode=mode, activation=activation,
                                   max_iterations=max_iterations, tol=tol, seed=seed)
               for mode in ("sync", "async")}
    sync, asyn = results["sync"], results["async"]
    layers = layer_loads(memory, activation, cues)
    quality = {mode: {**_quality(r.states, targets),
                      "converged": mean_value(r.converged),
                      "capped": mean_value(r.iterations >= max_iterations)}
               for mode, r in results.items()}
    _warn_capped({mode: mean_value((r.iterations >= max_iterations) & ~r.converged)
                  for mode, r in results.items()}, max_iterations,
                 _noise_moves(memory, sync, activation, max_iterations, seed))
    return Measurement(layers=layers, read_voltage=memory.chip.array.read_voltage,
                       sync_steps=sync.iterations.numpy().astype(np.int64),
                       async_steps=asyn.reads.numpy().astype(np.int64),
                       async_sweeps=asyn.iterations.numpy().astype(np.int64),
                       info={"cues": int(cues.shape[0]), "n_neurons": int(cues.shape[1]),
                             "activation": activation, "max_iterations": max_iterations,
                             "recall_seed": seed, "quality": quality,
                             **tol_entry(tol)})


def _noise_moves(memory: Memory, sync: Any, activation: str, max_iterations: int,
                 seed: int) -> float | None:
    """For ``tanh`` recall through layers with read noise: the median over the synchronous
    recalls that stopped at the cap unconverged (``sync``, a :class:`RecallResult`) of the
    largest change of a neuron's state in one more step, i.e. how far read noise alone moves
    a state that has stopped moving otherwise; None without such recalls."""
    capped = (sync.iterations >= max_iterations) & ~sync.converged
    if activation != "tanh" or not bool(capped.any()) or not reads_with_noise(memory):
        return None
    states = sync.states[capped]
    step = memory.recall(states, activation="tanh", max_iterations=1, seed=seed).states
    return float((step - states).abs().amax(dim=1).median())


def _warn_capped(stopped: dict[str, float], max_iterations: int,
                 moves: float | None = None) -> None:
    """Warn when recalls stopped at the cap without converging (``stopped``: the share of
    cues per mode): their steps, hence their energy and latency, are the cap's, and ratios of
    them say nothing of a finished recall (``energy --max-iterations 1`` printed ratios of
    one-step recalls without a word). ``moves`` (:func:`_noise_moves`): tanh states under read
    noise, which change by about the noise at every step; the warning says by how much and
    that a ``tol`` above it lets them settle."""
    shares = [f"{_percent(stopped[mode])} of the {what} recalls" for mode, what in (
        ("sync", "synchronous"), ("async", "asynchronous")) if stopped[mode] > 0]
    if shares:
        noise = ("" if moves is None else
                 f"; under read noise tanh states never stop changing (by {moves:.2g} in a step, "
                 f"median of the largest change of a state), so no step changes them by less "
                 f"than tol: a tol above that (--tol, tol=) lets them settle")
        warn(f"{' and '.join(shares)} stopped at max_iterations = {max_iterations} (steps; "
             f"async: sweeps) without converging: their energy and latency are the cap's, not "
             f"a finished recall's{noise}")


def _percent(share: float) -> str:
    """A share in (0, 1] as a percentage that never reads 0: whole percents from 1%, two
    significant digits below (``0.04%``; one recall of 2000 read ``0%``)."""
    return f"{share:.0%}" if share >= 0.01 else f"{100 * share:.2g}%"


@checked_keywords
def energy_report(measurement: Measurement, circuit: str | CircuitSpec) -> EnergyReport:
    """Energy (joules) and latency (seconds) per recall, sync and async, their ratios, the
    breakdowns by component and the cost of programming the memory, of the recalls of
    ``measurement`` (a :class:`Measurement` of :func:`measure`, :func:`measure_model`) under
    ``circuit`` (a circuit preset name or :class:`CircuitSpec`): an :class:`EnergyReport` (a
    dict that prints one line)."""
    check_type(measurement, Measurement, "measurement", "a Measurement (measure_memory)")
    spec = load_circuit(circuit)
    m = measurement
    sync = recall_cost(m.sync_steps, step_cost(m.layers, spec, m.read_voltage, "sync"))
    asyn = recall_cost(m.async_steps, step_cost(m.layers, spec, m.read_voltage, "async"))
    sweeps = m.async_sweeps.astype(np.float64)
    asyn["sweeps"] = {"mean": float(sweeps.mean()), "std": float(sweeps.std()),
                      "min": float(sweeps.min()), "max": float(sweeps.max())}
    return EnergyReport({"sync": sync, "async": asyn, "ratios": compare(sync, asyn),
                         "programming": programming_cost(m.layers, spec),
                         "layers": _layers_info(m, spec),
                         "read_voltage_V": m.read_voltage,
                         "circuit": {"name": spec.name, "constants": spec.constants(),
                                     "units": dict(CONSTANT_UNITS), "source": spec.source}})


def _layers_info(m: Measurement, spec: CircuitSpec) -> list[dict[str, Any]]:
    """Each layer's size, tiles, conductance and devices, and its share of one recall step
    (``per_step``: sync and async, as :func:`~xbarmem.energy.model.layer_reads`; with the
    step's control and neuron selection the shares add up to the step's ``per_step``)."""
    reads = {mode: layer_reads(m.layers, spec, m.read_voltage, mode) for mode in MODES}
    return [{"n_out": layer.n_out, "rows": layer.n_rows, "row_tiles": layer.row_tiles,
             "col_tiles": layer.col_tiles, "g_total_S": layer.g_total,
             "devices": layer.devices, "free_devices": layer.free_devices,
             "inputs": layer.inputs, "outputs": layer.outputs, "bias_rows": layer.bias_rows,
             "per_step": {mode: reads[mode][k].as_dict() for mode in MODES}}
            for k, layer in enumerate(m.layers)]


def _check_memory(memory: Any) -> None:
    """``memory`` is a :class:`~xbarmem.memory.base.Memory` (ArgumentError naming it)."""
    check_type(memory, Memory, "memory", "a programmed Memory (from train or load_memory)")


# ---------------------------------------------------------------------------------- one call
#: the adaptive rule's step cap in :func:`measure` when neither ``max_steps`` nor a recipe
#: sets it (the setting the shipped ``paper-calibrated`` constants were solved on)
MAX_STEPS = 3000
#: the same cap in :func:`measure_sizes`, which trains one memory per size
SIZES_MAX_STEPS = 300


def _check_build(arch: Any, rule: Any, progress: Any, max_steps: Any,
                 rule_options: Any = None) -> tuple[str, str, dict[str, Any]]:
    """What :func:`build_memory` is told to build, checked before any work: ``arch`` one of
    :data:`~xbarmem.names.ARCHS`, ``rule`` a rule name (:func:`get_rule` names the rules),
    ``progress`` a function or None, ``max_steps`` a count or None (whatever the rule),
    ``rule_options`` the rule's options (ConfigError naming a bad one). Returns the canonical
    ``(arch, rule)`` (``"Hebb"`` is ``"hebb"``) and the options the rule trains with, but its
    ``seed`` (:func:`trainer_options`)."""
    arch = check_choice(arch, ARCHS, "arch")
    if max_steps is not None:
        _COUNT(max_steps, "max_steps")
    rule = get_rule(rule).name  # an unknown rule: ConfigError naming the rules
    check_callback(progress, "progress")
    options = trainer_options(rule, max_steps, rule_options)
    rule_from_options(rule, options)  # a bad option: ConfigError naming it, before any training
    return arch, rule, options


def trainer_options(rule: str, max_steps: int | None = None,
                    rule_options: dict[str, Any] | None = None, *,
                    default: int = MAX_STEPS) -> dict[str, Any]:
    """The options ``rule`` trains with in :func:`measure`: ``rule_options`` (the rule's
    options, as ``train --rule-option`` takes them; another rule than ``adaptive`` refuses
    those it has not) with, for the adaptive rule, ``max_steps`` -- given: set (a different
    ``rule_options["max_steps"]`` is refused); None: ``default`` unless ``rule_options`` sets
    ``max_steps`` or a ``recipe`` (whose step count it would override).
    ``max_steps`` of another rule is unused."""
    if rule_options is not None and not isinstance(rule_options, dict):
        raise ConfigError(f"rule_options must be a dict of the rule's options, got "
                          f"{shown(rule_options)}")
    options = dict(rule_options or {})
    if rule != "adaptive":
        return options
    if max_steps is not None:
        if options.get("max_steps", max_steps) != max_steps:
            raise ConfigError(f"max_steps is given twice: {max_steps} and rule_options "
                              f"max_steps {shown(options['max_steps'])}")
        options["max_steps"] = max_steps
    elif "max_steps" not in options and "recipe" not in options:
        options["max_steps"] = default
    return options


def _matrix(patterns: Any, name: str) -> np.ndarray:
    """``patterns`` as a float32 ``(P, N)`` array (:class:`PatternError` naming ``name``)."""
    x = as_real_array(patterns, name, error=PatternError, dtype="float32")
    if x.ndim != 2 or 0 in x.shape:
        raise PatternError(f"{name} must be a (P, N) matrix, got shape {x.shape}")
    return x


#: the patterns :func:`measure` stores by default where there are no classes to take one of
#: each: drawn ones (``random``), and the first ones of a file without labels
DEFAULT_PATTERNS = 10


def _patterns(source: str, n: int, count: int | None, seed: int, zero_one: bool = False,
              kind: str = "binary", key: str | None = None) -> PatternSet:
    """``count`` patterns of ``kind`` of ``source`` with ``n`` neurons; when ``count`` is None,
    one per class of an image set or a labelled file, else :data:`DEFAULT_PATTERNS` (random:
    drawn; a file without labels: its first ones, all when it holds fewer); a ``count`` below
    1 is refused; ``zero_one``: a file's values in [0, 1]; ``key``: a file's .npz array
    (:class:`PatternError`)."""
    drawn = is_drawn(source)
    number = (DEFAULT_PATTERNS if count is None else count) if drawn else count
    if count is None and not drawn and str(source).strip().lower() not in IMAGE_SETS:
        pset = patterns_for(source, n, kind=kind, zero_one=zero_one, key=key)  # (a file)
        chosen = (select_indices(pset.labels, pset.n_patterns, one_per_class=True)
                  if pset.labels is not None
                  else np.arange(min(DEFAULT_PATTERNS, pset.n_patterns)))
        return pset.subset(chosen)
    return patterns_for(source, n, kind=kind, n_patterns=number, seed=seed, zero_one=zero_one,
                        one_per_class=count is None and not drawn, key=key)


def build_memory(patterns: torch.Tensor, chip: ChipSpec, *, arch: str = "single",
                 hidden: HiddenWidths | None = None, rule: str = "adaptive",
                 seed: int = 0, max_steps: int | None = None, progress=None,
                 rule_options: dict[str, Any] | None = None, kind: str | None = None):
    """Train ``rule`` on ``patterns`` ``(P, N)`` of ``kind`` (None: binary) for a memory on
    ``chip`` and program it (``progress(step, loss)`` while an iterative rule trains).

    Single layer: any rule (the adaptive rule with a bias row). Multilayer: the hardware-
    adaptive rule with ``hidden`` widths (:func:`~xbarmem.learning.fit.hidden_for`: default
    :data:`~xbarmem.learning.fit.DEFAULT_HIDDEN`; given to a single layer, ConfigError).
    Faults come from the chip's rates with seed ``seed``; programming error also uses
    ``seed``. ``max_steps`` and ``rule_options``: as
    :func:`trainer_options` (ConfigError naming a bad option, before any training).
    """
    arch, rule, options = _check_build(arch, rule, progress, max_steps, rule_options)
    check_type(chip, ChipSpec, "chip", "a ChipSpec (load_chip)")
    x = tensor_of(_matrix(patterns, "patterns"))
    if rule == "adaptive":
        options = {"seed": seed, **options}
    if arch == "multilayer" and rule != "adaptive":
        raise ConfigError("multilayer memories are trained by the hardware-adaptive rule only")
    hidden = hidden_for(arch, hidden)
    rule_obj = rule_from_options(rule, options)
    memory = make_memory(int(x.shape[1]), arch=arch, hidden=hidden, chip=chip,
                         bias=rule_obj.bias, fault_seed=seed)
    fit_memories(rule_obj, x, [memory], kind=kind, program_seed=seed, progress=progress)
    return memory


def make_cues(patterns: torch.Tensor, flip: float, probes: int,
              seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``probes`` cues per stored pattern with each bit flipped with probability ``flip``
    (seeded): the cues every evaluation draws
    (:func:`~xbarmem.evaluation.evaluate.make_cues` of ``Protocol(corruption="flip",
    level=flip, probes=probes, seed=seed)``); returns ``(cues, targets)``, both
    ``(probes * P, N)``."""
    probes, seed = _COUNT(probes, "probes"), check_seed(seed)
    x = tensor_of(_matrix(patterns, "patterns"))
    cues = protocol_cues(x, Protocol(corruption="flip", level=flip, probes=probes, seed=seed))
    return cues.cues, cues.target


def cue_protocol(kind: str, *, flip: float | None = None, corruption: str | None = None,
                 level: float | None = None, probes: int = 20, seed: int = 0,
                 activation: str | None = None, max_iterations: int = 100) -> Protocol:
    """The cues and neurons a measurement of patterns of ``kind`` recalls, as
    ``evaluate`` draws them: ``corruption`` at ``level``, else the kind's
    (:func:`~xbarmem.names.default_cues`: bit flips of 0.1 and ``sign`` neurons for binary
    patterns, Gaussian noise of sigma 0.6 and ``tanh`` neurons for continuous ones),
    ``probes`` cues per pattern, seed ``seed``. ``flip`` (the earlier keyword) is the level of
    flip cues, alone. :class:`ConfigError` for ``flip`` beside another corruption or a
    ``level``, for bit flips or salt-and-pepper of continuous patterns
    (:func:`~xbarmem.evaluation.evaluate.check_cue_kind`) and for a bad recall setting;
    :class:`PatternError` for an unknown corruption or a level out of its range."""
    if flip is not None:
        if level is not None or (corruption is not None and corruption_key(corruption)
                                 != "flip"):
            raise ConfigError(f"flip is the level of bit-flip cues: give corruption and level, "
                              f"or flip alone; got flip={shown(flip)} with corruption="
                              f"{shown(corruption)} and level={shown(level)}")
        corruption, level = "flip", flip
    corruption, level, by_kind = default_cues(kind, corruption, level)
    protocol = Protocol(corruption=corruption, level=level, probes=_COUNT(probes, "probes"),
                        activation=activation or by_kind, max_iterations=max_iterations,
                        seed=check_seed(seed))
    check_cue_kind(protocol, kind)
    return protocol


def _cue_settings(protocol: Protocol) -> dict[str, Any]:
    """How :func:`measure` and :func:`measure_model` record the cues of ``protocol``:
    ``corruption`` and ``level``, and ``flip`` (the level of flip cues, else None)."""
    return {"flip": protocol.level if protocol.corruption == "flip" else None,
            "corruption": protocol.corruption, "level": protocol.level}


@renamed_keywords(n="n_neurons", patterns="data", count="n_patterns", faults="fault_rate")
@checked_keywords
def measure(n_neurons: int, *, arch: str = "single", hidden: HiddenWidths | None = None,
            data: str = "mnist", n_patterns: int | None = None, zero_one: bool = False,
            kind: str = "binary", chip: str | ChipSpec = "paper-sim",
            fault_rate: float | None = None, rule: str = "adaptive", flip: float | None = None,
            corruption: str | None = None, level: float | None = None, probes: int = 20,
            seed: int = 0, activation: str | None = None, max_iterations: int = 100,
            tol: float = DEFAULT_TOL, max_steps: int | None = None, progress=None, stage=None,
            rule_options: dict[str, Any] | None = None, key: str | None = None) -> Measurement:
    """Store patterns in an N-neuron memory, recall corrupted cues both ways, measure.

    Args:
        n_neurons: neurons N.
        arch: ``"single"`` or ``"multilayer"`` (with ``hidden``, default
            :data:`~xbarmem.learning.fit.DEFAULT_HIDDEN`).
        data: ``mnist`` / ``digits`` / a file (images of side sqrt(N); one per class unless
            ``n_patterns``; without labels, the first 10) or ``random`` (``n_patterns``, default
            10); ``key``: the array of a ``data`` .npz file to read (refused for a source
            that is no file; an unknown one refused naming the arrays the file holds).
        zero_one: a ``data`` file's values in [0, 1] (binary {0, 1}: 0 read as -1); ``kind``:
            ``"binary"`` or ``"continuous"`` patterns, read as
            :func:`~xbarmem.data.sources.patterns_for` reads them, trained and recalled as
            ``train(..., kind=)`` and ``evaluate`` do.
        chip: chip preset, TOML or spec; ``fault_rate`` (a fraction in [0, 1]) overrides its
            stuck fraction.
        rule: learning rule (``adaptive`` trains with ``max_steps`` and ``seed``).
        max_steps, rule_options: the rule's step cap and options (:func:`trainer_options`:
            ``max_steps`` None is :data:`MAX_STEPS` unless a recipe or ``rule_options`` set it).
        corruption: the cues' corruption at ``level``, ``probes`` cues per stored pattern,
            as ``evaluate`` draws them (:func:`cue_protocol`: the kind's by default);
            ``flip``: the level of bit flips, alone.
        seed: seed of faults, training, programming, cues, read noise and update order.
        activation: the neurons (``sign`` or ``tanh``; None: the kind's), with
            ``max_iterations`` (steps of synchronous recall, sweeps of asynchronous) and
            ``tol`` (:func:`measure_memory`).
        progress, stage: ``progress(step, loss)`` while the rule trains (iterative rules);
            ``stage(text)`` when the work moves on (``"recalling ..."``).

    The earlier names ``n``, ``patterns`` (the source), ``count`` and ``faults`` (the stuck
    fraction; elsewhere a :class:`FaultMap`) still work, with a ``DeprecationWarning``.
    """
    start = time.perf_counter()
    arch, rule, _ = _check_build(arch, rule, progress, max_steps, rule_options)
    check_callback(stage, "stage")
    protocol = cue_protocol(kind := check_kind(kind), flip=flip, corruption=corruption, level=level,
                            probes=probes, seed=seed, activation=activation,
                            max_iterations=max_iterations)  # checked before any training
    tol = check_tol(tol)
    spec = load_chip(chip)
    if fault_rate is not None:
        spec = spec.with_faults(FRACTION(fault_rate, "fault_rate"))
    pset = _patterns(data, n_neurons, n_patterns, seed, zero_one, kind, key)
    x = tensor_of(pset.patterns, dtype=torch.float32)
    memory = build_memory(x, spec, arch=arch, hidden=hidden, rule=rule, seed=seed,
                          max_steps=max_steps, progress=progress, rule_options=rule_options,
                          kind=kind)
    result = _measure_cues(memory, pset, protocol, tol, rule, stage)
    result.info["seconds"] = time.perf_counter() - start
    if rule_options:
        result.info["rule_options"] = dict(rule_options)
    return result


def _measure_cues(memory: Memory, pset: PatternSet, protocol: Protocol, tol: float, rule: str,
                  stage=None) -> Measurement:
    """:func:`measure_memory` of the cues of ``protocol`` of the patterns ``pset`` that
    ``memory`` stores, with the settings :func:`measure` and :func:`measure_model` record
    in ``info`` (``seconds``: the recall's; the callers' own work is added)."""
    start = time.perf_counter()
    cues = protocol_cues(pset, protocol)
    if stage is not None:
        stage(f"recalling {cues.cues.shape[0]} cues, synchronously and asynchronously")
    result = measure_memory(memory, cues.cues, cues.target, activation=protocol.activation
                            or "sign", max_iterations=protocol.max_iterations,
                            seed=protocol.seed, tol=tol)
    spec = memory.chip
    result.info.update({
        "arch": memory.architecture,
        "layer_sizes": memory.sizes, **data_fields(pset), "kind": pset.kind,
        "n_patterns": pset.n_patterns, **_cue_settings(protocol), "probes": protocol.probes,
        "chip": spec.name, "fault_rate": spec.device.fault_rate, "levels": int(spec.device.levels),
        "fault_model": spec.array.fault_model, "rule": rule,
        "seed": protocol.seed, "training": {k: v for k, v in memory.info.items()
                                            if k in ("steps", "loss", "converged",
                                                     "fixed_points")},
        "devices": memory.devices(), "seconds": time.perf_counter() - start})
    return result


@checked_keywords
def measure_model(memory: Memory, patterns: PatternSet, *, flip: float | None = None,
                  corruption: str | None = None, level: float | None = None,
                  probes: int = 20, seed: int = 0, activation: str | None = None,
                  max_iterations: int = 100, tol: float = DEFAULT_TOL) -> Measurement:
    """Measure a trained, programmed ``memory`` (e.g. :func:`~xbarmem.memory.io.load_model`:
    your own model, on its chip and fault map) storing ``patterns``: ``probes`` cues per
    pattern drawn as ``evaluate`` draws them (``corruption`` at ``level``, or bit flips of
    probability ``flip``: :func:`cue_protocol` for the patterns' kind, by default bits
    flipped with probability 0.1 for binary patterns, Gaussian noise of sigma 0.6 and tanh
    neurons for continuous ones; seeded), recalled both ways as :func:`measure`
    does (same ``info``; ``rule`` as the memory records it, and ``fault_rate`` the stuck fraction
    of its fault map, not its chip's stuck rates); ``seed`` (cues, read noise, update order),
    ``activation`` (None: the patterns' kind's), ``max_iterations`` and ``tol`` as there.
    :class:`PatternError` for patterns of another N or kind than the memory's
    (:func:`~xbarmem.memory.base.memory_patterns`), :class:`ConfigError` for cues that do
    not fit their kind (:func:`cue_protocol`)."""
    start = time.perf_counter()
    _check_memory(memory)
    check_type(patterns, PatternSet, "patterns", "a PatternSet (the memory's stored patterns)")
    patterns = memory_patterns(memory, patterns)
    protocol = cue_protocol(patterns.kind, flip=flip, corruption=corruption, level=level,
                            probes=probes, seed=seed, activation=activation,
                            max_iterations=max_iterations)
    tol = check_tol(tol)
    result = _measure_cues(memory, patterns, protocol, tol,
                           str((memory.info or {}).get("rule", "unknown")))
    result.info["seconds"] = time.perf_counter() - start
    # the stuck share of the model's own fault map (measured, or drawn at another rate than
    # its chip's: the chip's rate said "2% faults" of a model on a map with 30% stuck)
    result.info["fault_rate"] = memory.faults.summary()["stuck_fraction"]
    # a model reprogrammed with programming variation: its record ({variation, seed}), else None
    result.info["model_variation"] = (memory.info or {}).get("variation")
    return result


def _size_row(n: int, count: int, m: Measurement, rep: EnergyReport) -> dict[str, Any]:
    """One row of :func:`measure_sizes`: N, stored patterns, mean steps, energy (J) and
    latency (s) per recall of each mode, their spread over the cues (``spread``: std, min,
    max under the same names), their ratios, programming cost, recall quality."""
    spread = {f"{mode}_{key}": {stat: rep[mode][key][stat] for stat in ("std", "min", "max")}
              for mode in MODES for key in ("steps", "energy_J", "latency_s")}
    return {"n_neurons": n, "n_patterns": count, "cues": m.info["cues"], "spread": spread,
            "sync_steps": rep["sync"]["steps"]["mean"],
            "async_steps": rep["async"]["steps"]["mean"],
            "async_sweeps": rep["async"]["sweeps"]["mean"],
            "sync_energy_J": rep["sync"]["energy_J"]["mean"],
            "async_energy_J": rep["async"]["energy_J"]["mean"],
            "sync_latency_s": rep["sync"]["latency_s"]["mean"],
            "async_latency_s": rep["async"]["latency_s"]["mean"],
            **rep["ratios"],
            "programming_energy_J": rep["programming"]["energy_J"],
            "programming_time_s": rep["programming"]["time_s"],
            "sync_exact": m.info["quality"]["sync"]["exact"],
            "async_exact": m.info["quality"]["async"]["exact"],
            "seconds": m.info["seconds"]}


def _check_sizes(sizes: Any) -> list[int]:
    """``sizes`` of :func:`measure_sizes` as a list of ints (a list, tuple or 1-D array of
    integers >= 2, each once, as :func:`~xbarmem.checks.listed` reads a list; else
    :class:`ConfigError`)."""
    items = listed(sizes, "sizes")
    if not isinstance(items, list) or not items or not all(_SIZE.accepts(s) for s in items):
        raise ConfigError(f"sizes must be a list of integers >= 2, got {shown(sizes)}")
    out = [int(s) for s in items]
    check_each_once(out, "sizes")
    return out


@checked_keywords
def measure_sizes(sizes: Sequence[int], circuit: str | CircuitSpec, *,
                  chip: str | ChipSpec = "paper-sim", rule: str = "pinv", load: float = 0.1,
                  flip: float | None = None, corruption: str | None = None,
                  level: float | None = None, probes: int = 20, seed: int = 0,
                  max_steps: int | None = None, progress=None,
                  beside: str | CircuitSpec | None = None,
                  rule_options: dict[str, Any] | None = None) -> EnergyBySize:
    """Energy and latency ratios at several N (``sizes``), on random +-1 patterns.

    At each N, ``P = max(2, round(load * N))`` random patterns
    (:func:`~xbarmem.sizes.patterns_at_load`) are stored with ``rule`` on a fresh ``chip``
    (seeded by ``seed``), ``probes`` cues per pattern (``corruption`` at ``level``, or bit
    flips of probability ``flip``, as :func:`measure` draws them; default: each bit flipped
    with probability 0.1) are recalled
    both ways and ``circuit``'s cost model (a preset name or
    :class:`CircuitSpec`) is applied; ``progress(n)`` is called after each N. ``max_steps`` and
    ``rule_options`` as :func:`trainer_options`, whose cap when neither sets it nor a recipe is
    :data:`SIZES_MAX_STEPS`. With ``beside`` (a second circuit) each row also has that circuit's
    ratios of the same recalls under ``"beside"``. Returns an :class:`EnergyBySize`, a dict
    ``{"settings", "rows": [one dict per N]}`` that prints one line: settings hold the chip's
    name, stuck fraction and fault model (``fault_rate``, ``fault_model``), the circuit's name and
    every constant (``circuit_constants``; their units, J / s / counts, in ``circuit_units``); a
    row holds the mean steps, energy (J) and latency (s) per recall of each mode
    (``sync_steps``, ``async_energy_J``, ...), their std, min and max over the row's ``cues``
    under the same names in ``spread``, their ratios and the cost of programming that memory
    (``programming_energy_J``, ...)."""
    sizes = _check_sizes(sizes)
    if not Number(gt=0, le=MAX_LOAD).accepts(load):
        raise ConfigError(f"load (patterns per neuron) must be in (0, {MAX_LOAD:g}], got "
                          f"{shown(load)}")
    _, rule, _ = _check_build("single", rule, progress, max_steps, rule_options)
    cues = _cue_settings(cue_protocol("binary", flip=flip, corruption=corruption, level=level,
                                      probes=probes, seed=seed))
    options = trainer_options(rule, max_steps, rule_options, default=SIZES_MAX_STEPS)
    chip_spec = load_chip(chip)
    spec = load_circuit(circuit)
    other = None if beside is None else load_circuit(beside)
    rows = []
    for n in sizes:
        count = patterns_at_load(load, n)
        m = measure(n, data="random", n_patterns=count, chip=chip, rule=rule,
                    corruption=cues["corruption"], level=cues["level"], probes=probes,
                    seed=seed, rule_options=options)
        rows.append(_size_row(n, count, m, energy_report(m, spec)))
        if other is not None:
            rows[-1]["beside"] = {"circuit": other.name, **energy_report(m, other)["ratios"]}
        if progress is not None:
            progress(n)
    return EnergyBySize(settings={"sizes": list(sizes), "data": m.info["data"],
                                  "load": load, "rule": rule, "chip": chip_spec.name,
                                  "fault_rate": chip_spec.device.fault_rate,
                                  "levels": int(chip_spec.device.levels),
                                  "fault_model": chip_spec.array.fault_model,
                                  **cues, "probes": probes, "seed": seed,
                                  **({"rule_options": dict(rule_options)} if rule_options
                                     else {}),
                                  "circuit": spec.name, "circuit_constants": spec.constants(),
                                  "circuit_units": dict(CONSTANT_UNITS)},
                        rows=rows)
