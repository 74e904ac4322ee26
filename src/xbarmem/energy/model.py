"""The cost model: energy (joules) and latency (seconds) of recall steps and of programming.

**What a read costs.** A read of one layer (a :class:`~xbarmem.hardware.crossbar.Crossbar`
described by a :class:`LayerLoad`) goes through five stages in series; its energy is the sum over
components and its latency the sum of the stage latencies (the critical path):

============ ======================================================= ==========================
component    energy                                                  latency
============ ======================================================= ==========================
drivers      driven row segments x (binary_energy | dac_energy);     settle_latency
             a bias row's segments x binary_energy
array        V_read**2 x pulse_width x sum of (G+ + G-) of the cells pulse_width
             that conduct
sensing      sensed outputs x (comparator_energy | adc_energy)       comparator_latency, or
                                                                     adc_latency x conversions
                                                                     in series
neurons      sensed outputs x (sign_energy | tanh_energy)            neuron latency
movement     sensed outputs x bits per value x bit_energy            movement latency
============ ======================================================= ==========================

* A **full read** (all outputs) drives every row of every array tile of the layer (``n_rows x
  col_tiles`` row segments: each tile has its own drivers), all cells conduct, every output is
  sensed. Tiles work in parallel: the latency of a product is that of one array read; energy is
  summed over tiles. An output whose rows span several tiles (N = 64 with a bias row on 64-row
  arrays) is sensed once: the partial currents of its row tiles are taken as summed before
  sensing, at no cost (one comparator or conversion per output, not per tile).
* A **column read** (one output, the asynchronous update) drives the rows of the tiles that
  hold that column (``n_rows`` segments), only that column's cells conduct (the column
  multiplexer leaves the other columns floating) and one output is sensed. The async engine
  visits every neuron once per sweep, so over whole sweeps the mean column conductance is exact;
  the model uses it for every column read.
* Only the cells holding the layer's weights are counted: the unused rows and columns of a
  partly filled tile are taken as neither driven nor conducting.
* Cell energy assumes every driven row sits at full amplitude ``|x| = 1`` (``V_read``): exact
  for binary states and for the bias row, an upper bound for analogue inputs.
* Outputs of sign neurons are sensed by comparators (``sensing.sign_readout = "comparator"``)
  or by the ADC; analogue (tanh) outputs by the ADC. Inputs driven from sign states use 1-bit
  drivers; analogue inputs (hidden layers, continuous recall) use DACs, and so do the first
  layer's rows of a sign recall whose cues hold other values than +-1 (continuous cues, 0 for
  unknown entries): a cue enters the first read as it is, so those rows carry DACs and every
  read through them is priced ``dac_energy`` (:func:`~xbarmem.energy.measure.layer_loads`).
  A bias row holds the constant input 1 (+V_read) whatever the inputs: a 1-bit driver pulses
  it, never a DAC.

**What a step costs.** Synchronous: one full read of every layer, layers in sequence, plus
``control.step_*``. Asynchronous (one neuron per step): a full read of every hidden layer, one
column read of the output layer, ``control.step_*`` and ``control.select_*`` (component
``select``). A single-layer memory is the one-layer case.

**What a recall costs.** Per cue: measured steps x the per-step cost, steps being
``RecallResult.iterations`` (sync: one product per step) or ``RecallResult.reads`` (async: one
neuron update per step). Reports give mean, std, min and max over cues, and the breakdown of the
mean per component; the total is *defined* as the sum of the breakdown, so they agree exactly.

**Programming.** Every free (not stuck) device of the model gets ``pulses_per_device``
write-verify iterations (one write pulse and one verify read each); ``parallel_devices`` are
programmed at a time. Stuck devices are skipped (the fault map is known).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xbarmem.checks import (
    MAX_COUNT,
    as_real_array,
    as_written,
    check_choice,
    check_count,
    check_flag,
    check_type,
    counted,
    is_bool,
    shown,
)
from xbarmem.energy.circuit import CircuitSpec
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.hardware.chip import MAX_CONDUCTANCE, MAX_READ_VOLTAGE
from xbarmem.names import ACTIVATIONS, MODES
from xbarmem.spec import Number

#: Components of the energy and latency breakdowns, in pipeline order.
COMPONENTS = ("drivers", "array", "sensing", "neurons", "movement", "control", "select")
INPUTS = ("binary", "analog")
#: a layer's outputs: the neurons' activation
OUTPUTS = ACTIVATIONS
#: the most one device may conduct, siemens: a read-back or stuck device of the widest
#: accepted window (``g_max`` = :data:`~xbarmem.hardware.chip.MAX_CONDUCTANCE`) plus its slack
_MAX_DEVICE_SIEMENS = 2 * MAX_CONDUCTANCE


@dataclass(frozen=True)
class LayerLoad:
    """One programmed crossbar layer, as the cost model sees it.

    Attributes:
        n_out: outputs (columns) of the layer.
        n_rows: driven rows, bias row included.
        row_tiles: arrays the rows span (``ceil(n_rows / array rows)``; at most ``n_rows``).
        col_tiles: arrays the columns span (``ceil(n_out / tile_cols)``, checked).
        tile_cols: columns of one array.
        g_total: sum over the layer's ``n_out x n_rows`` cells of ``G+ + G-``, siemens (stuck
            devices at their stuck conductance; at most 2 S per device, what a device of
            the widest accepted window may read).
        devices: devices of the layer (2 per cell: ``2 * n_out * n_rows``, checked).
        free_devices: devices that are not stuck (the ones programming writes).
        inputs: ``"binary"`` (rows driven at +-V_read) or ``"analog"`` (DAC-driven rows).
        outputs: ``"sign"`` or ``"tanh"`` neurons on the outputs.
        bias_rows: rows of ``n_rows`` held at +V_read (the bias row: 1, or 0 without one),
            driven by 1-bit drivers whatever ``inputs``.
    """

    n_out: int
    n_rows: int
    row_tiles: int
    col_tiles: int
    tile_cols: int
    g_total: float
    devices: int
    free_devices: int
    inputs: str = "binary"
    outputs: str = "sign"
    bias_rows: int = 0

    def __post_init__(self) -> None:
        # counts as Python ints (numpy integers too: shapes and sums of arrays)
        for key in ("n_out", "n_rows", "row_tiles", "col_tiles", "tile_cols"):
            object.__setattr__(self, key, check_count(getattr(self, key), f"layer {key}"))
        Number(ge=0, unit="S")(self.g_total, "layer g_total")
        object.__setattr__(self, "g_total", as_written(self.g_total))  # (a float32: its decimal)
        object.__setattr__(self, "bias_rows", check_count(  # (at most every row)
            self.bias_rows, "layer bias_rows", minimum=0, maximum=self.n_rows))
        for key in ("devices", "free_devices"):  # no upper limit: a count of devices
            value = getattr(self, key)
            if is_bool(value) or not isinstance(value, numbers.Integral) or value < 0:
                raise ConfigError(f"layer {key} must be an integer >= 0, got {shown(value)}")
            object.__setattr__(self, key, int(value))
        if self.g_total > self.devices * _MAX_DEVICE_SIEMENS:
            raise ConfigError(f"layer g_total = {self.g_total:g} S is more than its "
                              f"{counted(self.devices, 'device')} conduct (at most "
                              f"{_MAX_DEVICE_SIEMENS:g} S each); conductances are in siemens")
        if not 0 <= self.free_devices <= self.devices:
            raise ConfigError(f"layer free_devices must be in [0, devices], got "
                              f"{self.free_devices} of {self.devices}")
        self._check_geometry()
        object.__setattr__(self, "inputs", check_choice(self.inputs, INPUTS, "layer inputs"))
        object.__setattr__(self, "outputs", check_choice(self.outputs, OUTPUTS, "layer outputs"))

    def _check_geometry(self) -> None:
        """The counts agree as :meth:`from_crossbar` derives them (a layer of 64 outputs on
        64-column arrays said to span 5 column tiles paid 5x its drivers): ConfigError naming
        the count that contradicts the others."""
        cells = self.n_out * self.n_rows
        if self.devices != 2 * cells:
            raise ConfigError(f"layer devices must be 2 x n_out x n_rows = {2 * cells} (two "
                              f"devices per cell), got {self.devices}")
        tiles = math.ceil(self.n_out / self.tile_cols)
        if self.col_tiles != tiles:
            raise ConfigError(f"layer col_tiles must be ceil(n_out / tile_cols) = {tiles} "
                              f"({self.n_out} outputs on arrays of {self.tile_cols} columns), "
                              f"got {self.col_tiles}")
        if self.row_tiles > self.n_rows:
            raise ConfigError(f"layer row_tiles must be at most n_rows = {self.n_rows} (an "
                              f"array holds at least one row), got {self.row_tiles}")

    @classmethod
    def from_crossbar(cls, crossbar, *, inputs: str = "binary",
                      outputs: str = "sign") -> LayerLoad:
        """Describe a programmed :class:`~xbarmem.hardware.crossbar.Crossbar` (conductances from its
        ``g_pos``/``g_neg``, tiles from its chip's array size, stuck devices from its faults)."""
        from xbarmem.hardware.crossbar import Crossbar  # torch: only when a layer is read

        check_type(crossbar, Crossbar, "crossbar", "a Crossbar (a layer of a memory)")
        if crossbar.g_pos is None or crossbar.g_neg is None:
            raise ConfigError("the crossbar is not programmed: the cost model needs its "
                              "conductances")
        arr = crossbar.chip.array
        stuck = int(crossbar.stuck.sum())
        devices = 2 * crossbar.n_out * crossbar.n_rows
        return cls(n_out=crossbar.n_out, n_rows=crossbar.n_rows,
                   row_tiles=math.ceil(crossbar.n_rows / arr.rows),
                   col_tiles=math.ceil(crossbar.n_out / arr.cols), tile_cols=arr.cols,
                   g_total=float(np.sum(crossbar.g_pos) + np.sum(crossbar.g_neg)),
                   devices=devices, free_devices=devices - stuck, inputs=inputs,
                   outputs=outputs, bias_rows=int(crossbar.has_bias))


@dataclass
class Cost:
    """Energy (joules) and latency (seconds) by component (keys of :data:`COMPONENTS`)."""

    energy: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0.0))
    latency: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0.0))

    @property
    def total_energy(self) -> float:
        """Sum of the energy breakdown, joules (summed in :data:`COMPONENTS` order, so
        ``sum(cost.energy.values())`` gives the same float)."""
        return sum(self.energy[k] for k in COMPONENTS)

    @property
    def total_latency(self) -> float:
        """Sum of the latency breakdown, seconds (same order)."""
        return sum(self.latency[k] for k in COMPONENTS)

    def __add__(self, other: Cost) -> Cost:
        check_type(other, Cost, "a cost added to a Cost", "a Cost")
        return Cost({k: self.energy[k] + other.energy[k] for k in COMPONENTS},
                    {k: self.latency[k] + other.latency[k] for k in COMPONENTS})

    def scaled(self, factor: float) -> Cost:
        """Every component multiplied by ``factor`` (e.g. a mean step count), a finite number
        >= 0."""
        factor = Number(ge=0)(factor, "factor")
        return Cost({k: v * factor for k, v in self.energy.items()},
                    {k: v * factor for k, v in self.latency.items()})

    def as_dict(self) -> dict[str, object]:
        return {"energy_J": self.total_energy, "latency_s": self.total_latency,
                "energy_breakdown_J": dict(self.energy),
                "latency_breakdown_s": dict(self.latency)}


def read_cost(layer: LayerLoad, circuit: CircuitSpec, read_voltage: float, *,
              column: bool = False) -> Cost:
    """Cost of one read of ``layer``: all outputs (``column=False``) or one output column.

    Args:
        layer: the layer's load.
        circuit: circuit constants.
        read_voltage: amplitude of a full-scale row input, volts (the chip's
            ``array.read_voltage``).
        column: read a single output (asynchronous update) instead of all outputs.
    """
    check_type(layer, LayerLoad, "layer", "a LayerLoad (LayerLoad.from_crossbar)")
    read_voltage = _check_model(circuit, read_voltage)
    check_flag(column, "column")
    c = circuit
    cost = Cost()
    sensed = 1 if column else layer.n_out
    tiles = 1 if column else layer.col_tiles  # (each column tile drives its row segments)
    segments, bias = layer.n_rows * tiles, layer.bias_rows * tiles
    cost.energy["drivers"] = ((segments - bias) * c.drivers.dac_energy
                              + bias * c.drivers.binary_energy if layer.inputs == "analog"
                              else segments * c.drivers.binary_energy)
    cost.latency["drivers"] = c.drivers.settle_latency
    conducting = layer.g_total / layer.n_out if column else layer.g_total
    cost.energy["array"] = read_voltage ** 2 * c.array.pulse_width * conducting
    cost.latency["array"] = c.array.pulse_width
    sign = layer.outputs == "sign"
    if sign and c.sensing.sign_readout == "comparator":
        cost.energy["sensing"] = sensed * c.sensing.comparator_energy
        cost.latency["sensing"] = c.sensing.comparator_latency
    else:
        in_series = 1 if column else min(c.sensing.columns_per_adc, layer.n_out,
                                         layer.tile_cols)
        cost.energy["sensing"] = sensed * c.sensing.adc_energy
        cost.latency["sensing"] = in_series * c.sensing.adc_latency
    cost.energy["neurons"] = sensed * (c.neuron.sign_energy if sign else c.neuron.tanh_energy)
    cost.latency["neurons"] = c.neuron.latency
    bits = 1 if sign else c.sensing.adc_bits
    cost.energy["movement"] = sensed * bits * c.movement.bit_energy
    cost.latency["movement"] = c.movement.latency
    return cost


def step_cost(layers: Sequence[LayerLoad], circuit: CircuitSpec, read_voltage: float,
              mode: str) -> Cost:
    """Cost of one recall step of a memory made of ``layers`` (input layer first).

    ``mode="sync"``: one full read of every layer in sequence plus control. ``"async"``: full
    reads of every hidden layer, one column read of the output layer, control and neuron
    selection.
    """
    mode = check_choice(mode, MODES, "mode")
    total = Cost()
    for read in layer_reads(layers, circuit, read_voltage, mode):
        total = total + read
    total.energy["control"] += circuit.control.step_energy
    total.latency["control"] += circuit.control.step_latency
    if mode == "async":
        total.energy["select"] += circuit.control.select_energy
        total.latency["select"] += circuit.control.select_latency
    return total


def layer_reads(layers: Sequence[LayerLoad], circuit: CircuitSpec, read_voltage: float,
                mode: str) -> list[Cost]:
    """Each layer's read in one recall step of a memory made of ``layers`` (input layer
    first): ``mode="sync"``, a full read of every layer; ``"async"``, a full read of every
    hidden layer and one column read of the output layer. :func:`step_cost` is their sum
    plus the step's control (and neuron selection)."""
    mode = check_choice(mode, MODES, "mode")
    layers = check_layers(layers)
    read_voltage = _check_model(circuit, read_voltage)
    last = len(layers) - 1
    return [read_cost(layer, circuit, read_voltage, column=k == last and mode == "async")
            for k, layer in enumerate(layers)]


#: the one rule of a read voltage (volts in ``(0, MAX_READ_VOLTAGE]``, the chip spec's)
READ_VOLTAGE = Number(gt=0, le=MAX_READ_VOLTAGE, unit="V")


def _check_model(circuit: Any, read_voltage: Any) -> float:
    """``read_voltage`` as the chip spec's rule stores it (a numpy float32 number as written),
    once ``circuit`` is a :class:`CircuitSpec` and ``read_voltage`` a number of volts in
    ``(0, MAX_READ_VOLTAGE]`` (:class:`~xbarmem.errors.ArgumentError` /
    :class:`ConfigError` naming them)."""
    check_type(circuit, CircuitSpec, "circuit", "a CircuitSpec (load_circuit)")
    return READ_VOLTAGE(read_voltage, "read_voltage")


def check_layers(layers: Any) -> list[LayerLoad]:
    """``layers`` as a list: a non-empty list or tuple of :class:`LayerLoad` (one per layer,
    input layer first), else :class:`ConfigError` / :class:`~xbarmem.errors.ArgumentError`
    naming ``layers``."""
    if not isinstance(layers, list | tuple):
        raise ArgumentError(f"layers must be a list of LayerLoad (one per layer), got "
                            f"{shown(layers)}")
    if not layers:
        raise ConfigError("layers must hold at least one LayerLoad (a memory needs at least "
                          "one layer)")
    for k, layer in enumerate(layers):
        check_type(layer, LayerLoad, f"layers[{k}]", "a LayerLoad (LayerLoad.from_crossbar)")
    return list(layers)


def _stats(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
            "max": float(v.max())}


def check_steps(steps: Any, name: str) -> np.ndarray:
    """``steps`` (a list or 1-D array of counts in ``0..MAX_COUNT``, one per cue, at least
    one) as an int64 array; else :class:`ConfigError` naming ``name``."""
    s = as_real_array(steps, name, dtype=None)
    if (s.dtype == np.bool_ or s.ndim > 1 or s.size == 0 or not np.isfinite(s).all()
            or (s < 0).any() or (s != np.floor(s)).any() or (s > MAX_COUNT).any()):
        raise ConfigError(f"{name} must be a non-empty list of counts in 0..{MAX_COUNT} (one "
                          f"per cue), got {shown(steps)}")
    return s.reshape(-1).astype(np.int64)


def recall_cost(steps: Sequence[int] | np.ndarray, per_step: Cost) -> dict[str, object]:
    """Energy and latency of recalls that took ``steps`` steps each (one entry per cue).

    Per cue: ``steps x per-step cost``. Returns the step statistics, per-cue energy (J) and
    latency (s) statistics (mean, std, min, max), and the mean recall's breakdown by component;
    ``energy_J["mean"]`` and ``latency_s["mean"]`` are the sums of the breakdowns, ``min`` and
    ``max`` those of the fewest and most steps scaled alike, and ``std`` the steps' std (divisor
    the number of cues) times the per-step cost: so ``min <= mean <= max``, and cues that all
    took the same steps give ``std == 0`` and one value (rounding put the mean above the max).
    """
    check_type(per_step, Cost, "per_step", "a Cost (step_cost)")
    s = check_steps(steps, "steps").astype(np.float64)
    steps_stats = _stats(s)
    mean = per_step.scaled(math.fsum(s) / s.size)
    low, high = per_step.scaled(steps_stats["min"]), per_step.scaled(steps_stats["max"])
    energy, latency = ({"mean": getattr(mean, total), "std": steps_stats["std"] * getattr(
        per_step, total), "min": getattr(low, total), "max": getattr(high, total)}
        for total in ("total_energy", "total_latency"))
    return {"cues": int(s.size), "steps": steps_stats, "energy_J": energy, "latency_s": latency,
            "energy_breakdown_J": dict(mean.energy), "latency_breakdown_s": dict(mean.latency),
            "per_step": per_step.as_dict()}


def programming_cost(layers: Sequence[LayerLoad], circuit: CircuitSpec) -> dict[str, float]:
    """Energy (J) and time (s) to write-verify every free device of ``layers``."""
    layers = check_layers(layers)
    check_type(circuit, CircuitSpec, "circuit", "a CircuitSpec (load_circuit)")
    p = circuit.programming
    free = sum(layer.free_devices for layer in layers)
    pulses = free * p.pulses_per_device
    rounds = math.ceil(free / p.parallel_devices) * p.pulses_per_device
    return {"devices": sum(layer.devices for layer in layers), "programmed_devices": free,
            "pulses": pulses,
            "energy_J": pulses * (p.write_energy + p.verify_energy),
            "time_s": rounds * (p.write_latency + p.verify_latency)}


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` of two non-negative costs; a zero denominator gives ``inf``
    (``nan`` when the numerator is zero too) instead of raising."""
    if denominator == 0:
        return math.inf if numerator > 0 else math.nan
    return numerator / denominator


def compare(sync: dict[str, object], asyn: dict[str, object]) -> dict[str, float]:
    """Ratios of mean per-recall costs (asynchronous over synchronous) and the reductions
    synchronous recall brings (``1 - sync / async``).

    A circuit whose constants make a mean cost zero (e.g. every latency constant 0 s) has no
    finite ratio: a zero denominator gives ``inf``, zero over zero ``nan`` (``null`` in JSON)."""
    for name, report in (("sync", sync), ("asyn", asyn)):
        _check_recall_cost(report, name)
    e_s, e_a = sync["energy_J"]["mean"], asyn["energy_J"]["mean"]  # type: ignore[index]
    l_s, l_a = sync["latency_s"]["mean"], asyn["latency_s"]["mean"]  # type: ignore[index]
    return {"energy_ratio": _ratio(e_a, e_s), "latency_ratio": _ratio(l_a, l_s),
            "energy_reduction": 1.0 - _ratio(e_s, e_a),
            "latency_reduction": 1.0 - _ratio(l_s, l_a)}


def _check_recall_cost(report: Any, name: str) -> None:
    """``report`` is what :func:`recall_cost` returns (``energy_J`` and ``latency_s`` with a
    ``mean`` number >= 0), else :class:`~xbarmem.errors.ArgumentError` naming ``name``."""
    ok = isinstance(report, dict) and all(
        isinstance(report.get(k), dict) and Number(ge=0).accepts(report[k].get("mean"))
        for k in ("energy_J", "latency_s"))
    if not ok:
        raise ArgumentError(f"{name} must be a recall cost (what recall_cost returns), got "
                            f"{shown(report)}")
