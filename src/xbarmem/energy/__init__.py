"""Energy and latency of recall on crossbars: a documented cost model driven by measured dynamics.

May import: memory, learning, evaluation, data, hardware and the base modules (never deploy,
viz, experiments or cli).

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
