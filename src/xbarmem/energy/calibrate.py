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
``v = (R a_sync - a_async) / (b_async - R b_sync)``; latency does not depend on energy
constants, and the latency constant solved must be one no energy depends on (not
``array.pulse_width``, which sets the array's ``V**2 G t`` too), so the two solves are
independent. :func:`solve_ratio` does this generically
(evaluating the model at two values of the constant) and :func:`calibrate` applies it to a
:class:`~xbarmem.energy.measure.Measurement`.

How the shipped ``paper-calibrated`` preset was solved, with the measured step counts, is
in ``docs/history/energy.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from xbarmem.checks import check_callback, check_count, check_type, checked_keywords, shown
from xbarmem.energy.circuit import UNITS, CircuitSpec, load_circuit
from xbarmem.energy.measure import Measurement, energy_report
from xbarmem.errors import ConfigError
from xbarmem.spec import Number

PAPER_ENERGY_RATIO = 8.8
PAPER_LATENCY_REDUCTION = 0.997


def solve_ratio(circuit: CircuitSpec, key: str,
                totals: Callable[[CircuitSpec], tuple[float, float]], ratio: float, *,
                what: str = "the ratio", show: Callable[[float], str] | None = None) -> float:
    """Value of constant ``key`` at which ``numerator == ratio * denominator``.

    Args:
        circuit: the circuit whose other constants stay fixed.
        key: ``"section.key"`` of a constant both totals are affine in.
        totals: circuit -> ``(numerator, denominator)`` (e.g. mean async and sync energy).
        ratio: wanted numerator / denominator.
        what, show: what the ratio is and how a value of it reads, in the error
            (default ``"the ratio"``, ``"8.8"``).

    Raises:
        ConfigError: when no non-negative value of ``key`` reaches ``ratio`` (at which the
            denominator is not zero), naming the ratios ``key >= 0`` reaches.
    """
    check_type(circuit, CircuitSpec, "circuit", "a CircuitSpec (load_circuit)")
    check_callback(totals, "totals", optional=False)
    check_callback(show, "show")
    ratio = Number(gt=0)(ratio, "ratio")
    show = show or (lambda r: f"{r:.4g}")
    scale = max(abs(float(_constant(circuit, key))), 1e-12)
    n0, d0 = _totals(totals, circuit.with_value(key, 0.0))
    n1, d1 = _totals(totals, circuit.with_value(key, scale))
    bn, bd = (n1 - n0) / scale, (d1 - d0) / scale
    denominator = bn - ratio * bd
    if denominator == 0:
        raise ConfigError(f"{key} does not change the ratio; it cannot be solved for")
    value = (ratio * d0 - n0) / denominator
    # a zero denominator at the solution (every other constant zero: 0 / 0 at key = 0) is
    # no solution either: it was returned, and the calibrated circuit gave an undefined ratio
    if not value >= 0 or d0 + bd * value <= 0:
        raise ConfigError(f"no {key} >= 0 gives {what} {show(ratio)}: it gives "
                          f"{_reach(n0, d0, bn, bd, show)}; change the other constants")
    # beyond the constant's range (the section's refusal named a value nobody typed)
    rule = CircuitSpec.spec_fields()[key].rule
    if isinstance(rule, Number) and not rule.accepts(value):
        raise ConfigError(f"no {key}{rule.bounds} ({UNITS[key]}) gives {what} "
                          f"{show(ratio)}: it takes {value:.4g} {UNITS[key]}; change the other "
                          f"constants")
    return value


def _reach(n0: float, d0: float, bn: float, bd: float, show: Callable[[float], str]) -> str:
    """The ratios ``(n0 + bn v) / (d0 + bd v)`` takes for ``v > 0`` (monotone in ``v``), in
    words: from its value at 0 to its limit as ``v`` grows."""
    def quotient(n: float, d: float) -> float:
        return n / d if d > 0 else math.inf if n > 0 else math.nan

    end = quotient(bn, bd)
    start = quotient(n0, d0) if d0 > 0 or n0 > 0 else end
    if start == end or math.isnan(start):
        return f"{show(end)} whatever its value"
    return f"{show(start)} at 0 up to {show(end)} as it grows"


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


def _check_drivers(measurement: Measurement, energy_key: str) -> None:
    """The default ``energy_key``, the 1-bit row drivers' energy, for a ``measurement`` that
    uses none (DAC-driven rows -- tanh recall, or cues of other values than +-1 -- and no
    bias row): :class:`ConfigError` saying why (it changes no ratio)."""
    if energy_key == "drivers.binary_energy" and not any(
            layer.inputs == "binary" or layer.bias_rows for layer in measurement.layers):
        why, fix = {"tanh": ("its tanh neurons drive", "sign neurons"),
                    "sign": ("its cues hold values other than +-1, which drive", "cues of +-1")
                    }.get(str(measurement.info.get("activation")),
                          ("its layers' inputs (analog) drive", "binary inputs"))
        raise ConfigError(f"energy_key drivers.binary_energy is the energy of the 1-bit row "
                          f"drivers, and this measurement uses none: {why} every row through "
                          f"a DAC and its memory has no bias row; measure with {fix} or a "
                          f"memory with a bias row, or solve another energy constant")


def _check_keys(spec: CircuitSpec, energy_key: Any, latency_key: Any,
                energies: Callable[[CircuitSpec], tuple[float, float]]) -> None:
    """:func:`calibrate`'s keys: ``energy_key`` an energy constant (J) of ``spec``,
    ``latency_key`` a latency constant (s) on which ``energies(spec)`` does not depend (solved
    for the latency after the energy, it would move the energy ratio: ``array.pulse_width``
    sets the array's ``V**2 G t`` too); else :class:`ConfigError` naming the key."""
    for name, key, unit, what in (("energy_key", energy_key, "J", "an energy"),
                                  ("latency_key", latency_key, "s", "a latency")):
        _constant(spec, key)  # (an unknown key or a choice named as such)
        if UNITS[key] != unit:
            raise ConfigError(f"{name} must be {what} constant ({unit}) of the circuit, got "
                              f"{key} ({UNITS[key]})")
    value = _constant(spec, latency_key)
    moved = spec.with_value(latency_key, value / 2 if value else 1e-9)
    if energies(moved) != energies(spec):
        raise ConfigError(f"latency_key {latency_key} cannot be solved for the latency: the "
                          f"energy per recall depends on it (it would move the energy ratio "
                          f"solved with {energy_key}); give a latency constant (s) that no "
                          f"energy depends on, e.g. control.select_latency")


def _energy_ratio(ratio: float) -> str:
    """An async / sync energy ratio as the calibration's errors show it (``8.8x``)."""
    return "an infinite ratio" if math.isinf(ratio) else f"{ratio:.4g}x"


def _latency_reduction(ratio: float) -> str:
    """An async / sync latency ratio as the latency reduction it means (``1 - 1 / ratio``,
    what ``latency_reduction`` and ``--target-latency`` give)."""
    return f"{1 - 1 / ratio:.2%}" if ratio > 0 else "no reduction"


#: the settings of a measurement a calibrated circuit's ``source`` names, in this order (the
#: cues' corruption and level, not ``flip``: the level of bit flips, None for other cues)
SOURCE_SETTINGS = ("n_neurons", "arch", "layer_sizes", "data", "kind", "n_patterns", "cues",
                   "corruption", "level", "activation", "chip", "fault_rate", "rule", "seed",
                   "rule_options")


def _measured_settings(info: dict[str, Any]) -> str:
    """What a measurement's ``info`` says it measured, as a calibrated circuit's ``source``
    names it: ``key=value`` of each of :data:`SOURCE_SETTINGS` it holds (layer sizes as
    ``64-32-64``), comma-separated."""
    shown_values = {k: "-".join(map(str, v)) if k == "layer_sizes" else v
                    for k, v in info.items() if k in SOURCE_SETTINGS}
    return ", ".join(f"{k}={shown_values[k]}" for k in SOURCE_SETTINGS if k in shown_values)


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


@checked_keywords
def calibrate(measurement: Measurement, circuit: str | CircuitSpec = "generic-rram", *,
              energy_ratio: float = PAPER_ENERGY_RATIO,
              latency_reduction: float = PAPER_LATENCY_REDUCTION,
              energy_key: str = "drivers.binary_energy",
              latency_key: str = "control.select_latency",
              digits: int = 4) -> tuple[CircuitSpec, dict[str, Any]]:
    """Solve ``energy_key`` and ``latency_key`` so that ``measurement`` gives ``energy_ratio``
    (async / sync mean energy per recall) and ``latency_reduction`` (``1 - sync / async`` mean
    latency). Solved values are rounded to ``digits`` significant digits.

    ``energy_key`` must name an energy constant (J) the measurement uses (the default, the
    1-bit row drivers', is unused by tanh recall without a bias row), ``latency_key`` a
    latency constant (s) that no energy depends on (:class:`ConfigError` naming the key
    otherwise); a target no value within the constant's range reaches is a
    :class:`ConfigError` naming what it would take.

    Returns the calibrated circuit and a record of what was solved from what.
    """
    check_type(measurement, Measurement, "measurement", "a Measurement (measure_memory)")
    latency_reduction = Number(gt=0, lt=1)(latency_reduction, "latency_reduction")
    energy_ratio = Number(gt=0)(energy_ratio, "energy_ratio")
    check_count(digits, "digits", maximum=17)
    spec = load_circuit(circuit)

    def energies(c: CircuitSpec) -> tuple[float, float]:
        rep = energy_report(measurement, c)
        return rep["async"]["energy_J"]["mean"], rep["sync"]["energy_J"]["mean"]

    _check_keys(spec, energy_key, latency_key, energies)
    _check_drivers(measurement, energy_key)

    def latencies(c: CircuitSpec) -> tuple[float, float]:
        rep = energy_report(measurement, c)
        return rep["async"]["latency_s"]["mean"], rep["sync"]["latency_s"]["mean"]

    e_value = _round(solve_ratio(spec, energy_key, energies, energy_ratio,
                                 what="async/sync energy", show=_energy_ratio), digits)
    l_value = _round(solve_ratio(spec, latency_key, latencies, 1 / (1 - latency_reduction),
                                 what="a latency reduction of", show=_latency_reduction),
                     digits)
    solved = replace(
        spec.with_value(energy_key, e_value).with_value(latency_key, l_value),
        name=f"{spec.name}-calibrated",
        description=f"{spec.name} with {energy_key} and {latency_key} solved for "
                    f"{energy_ratio:g}x energy and {latency_reduction:.2%} latency reduction",
        source=f"xbarmem.energy.calibrate from measured step counts "
               f"({_measured_settings(measurement.info)})")
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
