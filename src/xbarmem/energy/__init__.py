"""Energy and latency of recall on crossbars: a documented cost model driven by measured dynamics.

* :mod:`~xbarmem.energy.circuit` -- :class:`CircuitSpec`, the named constants (joules, seconds)
  of the periphery, loaded from TOML presets (``generic-rram``, ``paper-calibrated``) or files.
* :mod:`~xbarmem.energy.model` -- what a read, a recall step (sync: one product per layer;
  async: one neuron), a recall and programming cost, by component.
* :mod:`~xbarmem.energy.measure` -- recall the same cues both ways through a programmed memory,
  keep the measured steps per cue, and report energy/latency per recall (mean, std, min, max,
  breakdown that sums to the total).
* :mod:`~xbarmem.energy.calibrate` -- solve one energy and one latency constant so that a
  measurement reproduces published ratios (how ``paper-calibrated`` was made).
"""

from xbarmem.energy.calibrate import calibrate, solve_ratio
from xbarmem.energy.circuit import CircuitSpec, circuit_names, load_circuit
from xbarmem.energy.measure import (
    Measurement,
    energy_report,
    measure,
    measure_memory,
    measure_sizes,
)
from xbarmem.energy.model import (
    COMPONENTS,
    Cost,
    LayerLoad,
    programming_cost,
    read_cost,
    recall_cost,
    step_cost,
)

__all__ = [
    "COMPONENTS", "CircuitSpec", "Cost", "LayerLoad", "Measurement", "calibrate",
    "circuit_names", "energy_report", "load_circuit", "measure", "measure_memory",
    "measure_sizes", "programming_cost", "read_cost", "recall_cost", "solve_ratio", "step_cost",
]
