"""Calibrating circuit constants to published figures, from measured step counts.

He et al. (2026) report that synchronous recall on their crossbar platform costs 8.8x less
energy and 99.7% less latency than asynchronous recall at N = 64; the circuit constants behind
these figures are not public. The ``paper-calibrated`` preset keeps literature-typical values
(the ``generic-rram`` preset) for every constant except two, which are *solved for* so that the
model, applied to measured recalls, gives exactly those figures:

* ``drivers.binary_energy`` (joules per driven row segment per read) is solved from the energy
  ratio. Row driving is the cost an asynchronous update pays in full (every input row is driven
  to sense one output) while a synchronous step shares it among all N outputs, so this constant
  sets how much of the step-count advantage survives in energy.
* ``control.select_latency`` (seconds per asynchronous update for selecting the neuron) is
  solved from the latency reduction: no other constant can make the async/sync latency ratio
  exceed the measured step-count ratio (async steps over sync steps of the same cues: the
  ``energy-calibrate`` entry of docs/measured.md), which at N = 64 falls far short of the
  1 / (1 - 0.997) = 333 that 99.7% needs.

Both targets are linear in their constant: per recall, ``E(v) = a + b v`` for sync and async
alike, so ``E_async(v) = R * E_sync(v)`` has the single solution
``v = (R a_sync - a_async) / (b_async - R b_sync)``; energy does not depend on latency constants
and vice versa, so the two solves are independent. :func:`solve_ratio` does this generically
(evaluating the model at two values of the constant) and :func:`calibrate` applies it to a
:class:`~xbarmem.energy.measure.Measurement`.

How the shipped ``paper-calibrated`` preset was solved, with the measured step counts, is
in ``docs/history/energy.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from xbarmem.checks import check_callback, check_count, check_type, shown
from xbarmem.energy.circuit import CircuitSpec, load_circuit
from xbarmem.energy.measure import Measurement, energy_report
from xbarmem.errors import ConfigError
from xbarmem.spec import Number

PAPER_ENERGY_RATIO = 8.8
PAPER_LATENCY_REDUCTION = 0.997


def solve_ratio(circuit: CircuitSpec, key: str,
                totals: Callable[[CircuitSpec], tuple[float, float]], ratio: float) -> float:
    """Value of constant ``key`` at which ``numerator == ratio * denominator``.

    Args:
        circuit: the circuit whose other constants stay fixed.
        key: ``"section.key"`` of a constant both totals are affine in.
        totals: circuit -> ``(numerator, denominator)`` (e.g. mean async and sync energy).
        ratio: wanted numerator / denominator.

    Raises:
        ConfigError: when no non-negative value of ``key`` reaches ``ratio``.
    """
    check_type(circuit, CircuitSpec, "circuit", "a CircuitSpec (load_circuit)")
    check_callback(totals, "totals", optional=False)
    ratio = Number(gt=0)(ratio, "ratio")
    scale = max(abs(float(_constant(circuit, key))), 1e-12)
    n0, d0 = _totals(totals, circuit.with_value(key, 0.0))
    n1, d1 = _totals(totals, circuit.with_value(key, scale))
    bn, bd = (n1 - n0) / scale, (d1 - d0) / scale
    denominator = bn - ratio * bd
    if denominator == 0:
        raise ConfigError(f"{key} does not change the ratio; it cannot be solved for")
    value = (ratio * d0 - n0) / denominator
    if not value >= 0:
        raise ConfigError(f"no non-negative {key} gives the ratio {ratio:g} (solution "
                          f"{value:.4g}); change the other constants")
    return value


def _totals(totals: Callable[[CircuitSpec], tuple[float, float]],
            circuit: CircuitSpec) -> tuple[float, float]:
    """``totals(circuit)``, which must be a pair of finite numbers (:class:`ConfigError`)."""
    pair = totals(circuit)
    if not (isinstance(pair, tuple | list) and len(pair) == 2
            and all(Number().accepts(v) for v in pair)):
        raise ConfigError(f"totals must return (numerator, denominator), two finite numbers, "
                          f"got {shown(pair)}")
    return pair[0], pair[1]


def _constant(circuit: CircuitSpec, key: str) -> float:
    """The value of the numeric constant ``key`` of ``circuit`` (:class:`ConfigError` naming
    an unknown key or a choice)."""
    value = circuit.get(key)
    if isinstance(value, str):
        raise ConfigError(f"{key} is a choice ({value!r}), not a constant that can be solved for")
    return value


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def calibrate(measurement: Measurement, circuit: str | CircuitSpec = "generic-rram", *,
              energy_ratio: float = PAPER_ENERGY_RATIO,
              latency_reduction: float = PAPER_LATENCY_REDUCTION,
              energy_key: str = "drivers.binary_energy",
              latency_key: str = "control.select_latency",
              digits: int = 4) -> tuple[CircuitSpec, dict[str, Any]]:
    """Solve ``energy_key`` and ``latency_key`` so that ``measurement`` gives ``energy_ratio``
    (async / sync mean energy per recall) and ``latency_reduction`` (``1 - sync / async`` mean
    latency). Solved values are rounded to ``digits`` significant digits.

    Returns the calibrated circuit and a record of what was solved from what.
    """
    check_type(measurement, Measurement, "measurement", "a Measurement (measure_memory)")
    Number(gt=0, lt=1)(latency_reduction, "latency_reduction")
    Number(gt=0)(energy_ratio, "energy_ratio")
    check_count(digits, "digits", maximum=17)
    spec = load_circuit(circuit)
    for key in (energy_key, latency_key):
        _constant(spec, key)

    def energies(c: CircuitSpec) -> tuple[float, float]:
        rep = energy_report(measurement, c)
        return rep["async"]["energy_J"]["mean"], rep["sync"]["energy_J"]["mean"]

    def latencies(c: CircuitSpec) -> tuple[float, float]:
        rep = energy_report(measurement, c)
        return rep["async"]["latency_s"]["mean"], rep["sync"]["latency_s"]["mean"]

    e_value = _round(solve_ratio(spec, energy_key, energies, energy_ratio), digits)
    l_value = _round(solve_ratio(spec, latency_key, latencies, 1 / (1 - latency_reduction)),
                     digits)
    solved = replace(
        spec.with_value(energy_key, e_value).with_value(latency_key, l_value),
        name=f"{spec.name}-calibrated",
        description=f"{spec.name} with {energy_key} and {latency_key} solved for "
                    f"{energy_ratio:g}x energy and {latency_reduction:.2%} latency reduction",
        source="xbarmem.energy.calibrate from measured step counts (" + ", ".join(
            f"{k}={measurement.info[k]}" for k in (
                "n_neurons", "arch", "patterns", "n_patterns", "cues", "flip", "chip", "rule",
                "seed") if k in measurement.info) + ")")
    check = energy_report(measurement, solved)
    record = {"from_circuit": spec.name, "targets": {"energy_ratio": energy_ratio,
                                                     "latency_reduction": latency_reduction},
              "solved": {energy_key: e_value, latency_key: l_value},
              "measured": {"sync_steps": check["sync"]["steps"],
                           "async_steps": check["async"]["steps"],
                           "async_sweeps": check["async"]["sweeps"],
                           "g_total_S": [layer.g_total for layer in measurement.layers],
                           "read_voltage_V": measurement.read_voltage},
              "result": check["ratios"]}
    return solved, record
