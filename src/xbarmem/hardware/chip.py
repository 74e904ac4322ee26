"""Chip description: device physics and array/mapping settings, presets, TOML round trip.

A :class:`ChipSpec` is split the way the hardware is:

* :class:`DeviceSpec` -- one memristor: conductance window (siemens), programmable levels,
  write-verify error (siemens, *persistent*: drawn once when a matrix is programmed), read noise
  (siemens, *per read*: redrawn at every array read) and stuck-at fault rates.
* :class:`ArraySpec` -- how signed weights sit on arrays: tile size, weight range mapped onto the
  window, read voltage (volts) and the fault model (``"device"`` or ``"weight"``).

Specs are :class:`xbarmem.spec.Spec` dataclasses: frozen, validated on construction (errors
name the key, e.g. ``device.g_min``), lossless through ``to_dict``/``from_dict``, TOML and JSON.
Presets are TOML data files shipped in ``xbarmem/hardware/presets``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from xbarmem.checks import checked_keywords
from xbarmem.errors import ConfigError, caller_stacklevel, warn
from xbarmem.spec import Choice, Name, Number, Presets, Spec, Text

__all__ = ["ArraySpec", "ChipSpec", "DeviceSpec", "load_chip", "load_preset", "preset_names"]

FAULT_MODELS = ("device", "weight")
#: a fraction in [0, 1] (a stuck share, an ON share): ``FRACTION(value, name)`` checks one
FRACTION = Number(ge=0.0, le=1.0)
Siemens = Annotated[float, Number(ge=0.0, unit="S")]
Fraction = Annotated[float, FRACTION]
#: largest rows / cols of one array tile: fabricated crossbar tiles are far smaller, and a fault
#: map holds 16 bytes per cell of every array (a 5000 x 5000 tile is 400 MB for any N)
MAX_TILE_SIDE = 4096
TileSide = Annotated[int, Number(integer=True, ge=1, le=MAX_TILE_SIDE)]
#: largest accepted device conductance, siemens: RRAM and PCM devices conduct 1e-7 .. 1e-2 S,
#: so a larger g_max is almost always microsiemens written as siemens; no device's write or
#: read noise (a std of its conductance) is larger either
MAX_CONDUCTANCE = 1.0
#: smallest accepted g_max, siemens (a 1-petaohm device, read at 0.2 V: 0.2 fA): far below,
#: a window of 5e-324 S made ``w_max / (g_max - g_min)`` infinite and every weight NaN
MIN_G_MAX = 1e-15
#: narrowest accepted window ``g_max - g_min`` as a share of g_max: narrower, float64 cannot
#: tell its conductances apart (a window of one ulp at 1 S programmed 0.5 as 0.25)
MIN_WINDOW_SHARE = 1e-6
#: most conductance levels a device may have: a weight is float32 (24 bits of mantissa), and
#: beyond 2**16 levels of its range the rounding of the weight itself moves a conductance by a
#: sizeable part of a level (by up to a whole level from about 2**20), so the levels a weight
#: is programmed to are no longer the nearest; such a device is continuous (``levels = 0``)
MAX_LEVELS = 2 ** 16
#: largest accepted read voltage, volts: memristors are read at a fraction of a volt and
#: switched at a few volts; far above (1e300 V) currents and energies overflowed to inf
MAX_READ_VOLTAGE = 100.0
#: largest accepted weight_range (the w_max of a model file): trained weights stay far below;
#: far above it (1e308) weights overflowed to inf and recall went on silently
MAX_W_MAX = 1e30


@dataclass(frozen=True)
class DeviceSpec(Spec, section="device", noun="chip"):
    """Physics of one memristive device.

    Attributes:
        g_min: lowest programmable conductance, siemens (also the stuck-OFF value).
        g_max: highest programmable conductance, siemens (also the stuck-ON value).
        levels: number of evenly spaced programmable conductances in [g_min, g_max];
            0 means continuous (analogue write-verify).
        write_noise: std of the write-verify error, siemens (at most
            :data:`MAX_CONDUCTANCE`). Persistent: drawn once per programming, result clipped
            to the window.
        read_noise: std of the read fluctuation of each device, siemens (at most
            :data:`MAX_CONDUCTANCE`). Redrawn at every read.
        p_stuck_on: fraction of devices stuck at g_max.
        p_stuck_off: fraction of devices stuck at g_min.

    A ``write_noise`` or ``read_noise`` at least as wide as the window (``g_max - g_min``) is
    taken with an :class:`~xbarmem.errors.XbarmemWarning` naming the value and the window:
    every programmed conductance is then mostly noise clipped to the window, every read
    mostly noise (a sweep over noise may go there on purpose).
    """

    g_min: Siemens = 2e-6
    g_max: Siemens = 150e-6
    levels: Annotated[int, Number(integer=True, ge=0)] = 0
    write_noise: Siemens = 0.0
    read_noise: Siemens = 0.0
    p_stuck_on: Fraction = 0.0
    p_stuck_off: Fraction = 0.0

    def validate(self) -> None:
        """g_min < g_max <= :data:`MAX_CONDUCTANCE` (either above it named first: a value in
        microsiemens), g_max >= :data:`MIN_G_MAX`, a window
        at least :data:`MIN_WINDOW_SHARE` of g_max, noise <= :data:`MAX_CONDUCTANCE`,
        levels 0 or 2 .. :data:`MAX_LEVELS`, p_stuck_on + p_stuck_off <= 1; noise at least as
        wide as the window is warned about (:meth:`_warn_wide_noise`)."""
        for key in ("g_max", "g_min"):  # (either of the window in microsiemens)
            value = getattr(self, key)
            if value > MAX_CONDUCTANCE:
                raise ConfigError(
                    f"device.{key} = {value:g} S is no memristor's conductance (at most "
                    f"{MAX_CONDUCTANCE:g} S, a 1-ohm device): conductances are in siemens, "
                    f"e.g. {value:g} uS is {value * 1e-6:g}")
        for key in ("write_noise", "read_noise"):
            if getattr(self, key) > MAX_CONDUCTANCE:
                raise ConfigError(
                    f"device.{key} = {getattr(self, key):g} S is no memristor's noise (a std "
                    f"of its conductance: at most {MAX_CONDUCTANCE:g} S, as g_max): noise is "
                    f"in siemens, e.g. 2 uS is 2e-06")
        if self.g_min >= self.g_max:
            # (the hint only where g_min read in microsiemens is of the window's scale)
            meant = self.g_min * 1e-6
            micro = (f": conductances are in siemens, e.g. {self.g_min:g} uS is {meant:g}"
                     if self.g_max * 1e-4 <= meant < self.g_max else "")
            raise ConfigError(
                f"device.g_min ({self.g_min:g} S) must be below device.g_max ({self.g_max:g} S)"
                + micro)
        self._check_window()
        if self.levels == 1:
            raise ConfigError("device.levels must be 0 (continuous) or an integer >= 2, got 1")
        if self.levels > MAX_LEVELS:
            raise ConfigError(
                f"device.levels = {self.levels} is more than float32 weights resolve (at most "
                f"{MAX_LEVELS}); a device this fine is continuous: levels = 0")
        if self.p_stuck_on + self.p_stuck_off > 1.0 + 1e-12:
            raise ConfigError(f"device.p_stuck_on + device.p_stuck_off must be <= 1, got "
                              f"{self.p_stuck_on} + {self.p_stuck_off}")
        self._warn_wide_noise()

    def _check_window(self) -> None:
        """:class:`ConfigError` for a g_max below :data:`MIN_G_MAX` or a window narrower than
        :data:`MIN_WINDOW_SHARE` of g_max (g_min < g_max already holds)."""
        if self.g_max < MIN_G_MAX:
            raise ConfigError(
                f"device.g_max = {self.g_max:g} S is no memristor's conductance (at least "
                f"{MIN_G_MAX:g} S, a 1-petaohm device): conductances are in siemens, e.g. "
                f"150 uS is 0.00015")
        if self.g_range < MIN_WINDOW_SHARE * self.g_max:
            raise ConfigError(
                f"device.g_max - device.g_min = {self.g_range:g} S is too narrow a window "
                f"for g_max = {self.g_max:g} S (at least {MIN_WINDOW_SHARE:g} of g_max): "
                f"its conductances are not told apart; g_min is the lowest programmable "
                f"conductance, g_max the highest")

    def _warn_wide_noise(self) -> None:
        """An :class:`XbarmemWarning` for each noise std at least the window's width."""
        window = self.g_range
        for key, noise, effect in (
                ("write_noise", self.write_noise,
                 "every programmed conductance is mostly noise clipped to the window"),
                ("read_noise", self.read_noise,
                 "every read of a device varies by more than the whole window")):
            if noise >= window:
                times = noise / window
                times_text = f"{times:,.0f}" if 1e3 <= times < 1e9 else f"{times:.3g}"
                warn(f"device.{key} = {noise:g} S is {times_text} times the "
                     f"conductance window g_max - g_min = {window:g} S: {effect} "
                     f"(noise is a std in siemens: 2 uS is 2e-06)",
                     stacklevel=caller_stacklevel(dataclasses.__file__))

    @property
    def g_range(self) -> float:
        """Width of the conductance window g_max - g_min, siemens."""
        return self.g_max - self.g_min

    @property
    def fault_rate(self) -> float:
        """Total fraction of stuck devices (ON + OFF)."""
        return self.p_stuck_on + self.p_stuck_off


@dataclass(frozen=True)
class ArraySpec(Spec, section="array", noun="chip"):
    """Arrays and the weight-to-conductance mapping.

    Attributes:
        rows: rows (inputs, word lines) of one array tile (at most :data:`MAX_TILE_SIDE`).
        cols: columns (outputs, bit lines) of one array tile (at most :data:`MAX_TILE_SIDE`);
            each cell is a differential pair (G+, G-) of devices, one on each polarity plane.
        weight_range: w_max, the weight that maps to the full window difference g_max - g_min.
            A pair realises ``w = w_max * (G+ - G-) / (g_max - g_min)``. Classic rules are scaled
            to max|W| = w_max (the full window); for the hardware-adaptive rule w_max sets the
            gain of tanh(W x + b) at the edge of the window. Under the ``weight`` fault model
            free weights are unbounded and w_max is set to max|W| when programming. At most
            :data:`MAX_W_MAX`.
        read_voltage: amplitude of a +-1 input on a row, volts (at most
            :data:`MAX_READ_VOLTAGE`).
        fault_model: ``"device"`` -- each device may be stuck at g_min/g_max and restricts its
            pair's weight to an interval; ``"weight"`` -- the paper's simulation: a faulty pair is
            a weight pinned at 0, the rest unconstrained (the bias row is never faulty).
    """

    rows: TileSide = 64
    cols: TileSide = 64
    weight_range: Annotated[float, Number(gt=0.0, le=MAX_W_MAX)] = 0.5
    read_voltage: Annotated[float, Number(gt=0.0, le=MAX_READ_VOLTAGE, unit="V")] = 0.2
    fault_model: Annotated[str, Choice(FAULT_MODELS)] = "device"


#: what starts the part of a chip's description that lists its fields changed by
#: :meth:`ChipSpec.replace`
_HERE = " Here: "


@dataclass(frozen=True)
class ChipSpec(Spec, noun="chip"):
    """A simulated chip: device physics plus array layout and mapping.

    Attributes:
        device: the devices (TOML table ``[device]``).
        array: the arrays and the weight mapping (TOML table ``[array]``).
        name: the chip's name (a preset's file name; a file's ``name`` key or file stem; a
            file naming a preset but holding other values is named after the file): one line
            of printable text, not blank (:class:`~xbarmem.spec.Name`), else ConfigError.
        description: free text.
        source: where the values come from.
    """

    device: DeviceSpec = field(default_factory=DeviceSpec)
    array: ArraySpec = field(default_factory=ArraySpec)
    name: Annotated[str, Name()] = "custom"
    description: Annotated[str, Text()] = ""
    source: Annotated[str, Text()] = ""

    def replace(self, **changes: Any) -> ChipSpec:
        """Copy with the fields of ``changes`` (keywords) changed (validated); an unknown name
        raises ArgumentError. Unless ``description`` is among them, the copy's description ends
        with what differs from this chip's device and array (``... Here: device.p_stuck_on =
        0.15, device.p_stuck_off = 0.15.``; changes of a copy join those listed): a preset
        described as having no faults said so of its copy with 30% stuck devices, in model
        files and export manifests."""
        copy = super().replace(**changes)
        if "description" in changes:
            return copy
        before = {section: getattr(self, section).to_dict() for section in ("device", "array")}
        changed = {f"{section}.{key}": value for section, fields in before.items()
                   for key, value in getattr(copy, section).to_dict().items()
                   if fields[key] != value}
        if not changed:
            return copy
        text, _, listed = self.description.partition(_HERE)
        values = dict(item.split(" = ", 1) for item in listed.rstrip(".").split(", ")
                      if " = " in item)
        values.update({key: f"{value:g}" if isinstance(value, float) else str(value)
                       for key, value in changed.items()})
        here = ", ".join(f"{key} = {value}" for key, value in values.items())
        return dataclasses.replace(copy, description=f"{text.rstrip()}{_HERE}{here}.".lstrip())

    def with_faults(self, rate: float, on_fraction: float = 0.5) -> ChipSpec:
        """Copy with a total stuck fraction ``rate`` split into ON (``on_fraction``) and OFF;
        :class:`ConfigError` unless both are in [0, 1]."""
        rate = FRACTION(rate, "rate")  # (a numpy float32 number: as written)
        on_fraction = FRACTION(on_fraction, "on_fraction")
        return self.replace_device(p_stuck_on=rate * on_fraction,
                                   p_stuck_off=rate * (1.0 - on_fraction))

    def with_fault_model(self, fault_model: str) -> ChipSpec:
        """Copy with another ``fault_model`` (``"device"`` or ``"weight"``; else
        :class:`ConfigError`)."""
        return self.replace_array(fault_model=fault_model)

    def replace_device(self, **changes: Any) -> ChipSpec:
        """Copy with the device fields of ``changes`` (keywords) changed: validated, an unknown
        name raises :class:`ArgumentError`."""
        return self.replace(device=self.device.replace(**changes))

    def replace_array(self, **changes: Any) -> ChipSpec:
        """Copy with the array fields of ``changes`` (keywords) changed: validated, an unknown
        name raises :class:`ArgumentError`."""
        return self.replace(array=self.array.replace(**changes))


_PRESETS = Presets(ChipSpec, "xbarmem.hardware", "presets", "chip")


@checked_keywords
def preset_names() -> list[str]:
    """Names of the shipped chip presets."""
    return _PRESETS.names()


@checked_keywords
def load_preset(name: str) -> ChipSpec:
    """The shipped preset ``name`` (:func:`preset_names`: ``ideal``, ``rram``, ``paper-sim``);
    :class:`~xbarmem.errors.ConfigError` if unknown."""
    return _PRESETS.preset(name)


def preset_toml(name: str) -> str:
    """The shipped preset ``name`` as TOML (:meth:`ChipSpec.to_toml`) with its file's comments
    (where its values come from); ConfigError if unknown."""
    return _PRESETS.commented_toml(name)


@checked_keywords
def chip_name(source: str) -> str:
    """The preset name ``source`` names in another case or spelling (``"RRAM"`` -> ``"rram"``),
    as :func:`load_chip` reads it; else ``source`` unchanged (a file path or an exact name)."""
    return _PRESETS.canonical(source)


def is_chip_preset(source: str) -> bool:
    """Whether :func:`load_chip` reads ``source`` as a shipped preset (its name in any case,
    where no file of that name exists: :meth:`~xbarmem.spec.presets.Presets.is_preset`)."""
    return _PRESETS.is_preset(source)


def chip_words(name: str, fault_rate: float, levels: int = 0, *,
               fault_map: str | None = None) -> str:
    """A chip as titles and headers name it, with its conductance levels (a device's
    ``levels``; none said for a continuous chip, ``levels`` 0) and its stuck fraction (a
    preset's ``--faults`` override keeps the preset's name), or the name of the fault map
    file it was given instead: ``rram chip, 30% faults``, ``rram chip with 4 conductance
    levels, 30% faults``, ``rram chip, faults of map.npz``, ``paper-sim chip`` when it has
    none. The one place every title builds them."""
    words = f"{name} chip" + (f" with {int(levels)} conductance levels" if levels else "")
    if fault_map is not None:
        return f"{words}, faults of {fault_map}"
    return words + (f", {100 * fault_rate:.3g}% faults" if fault_rate else "")


def spec_words(spec: ChipSpec | dict[str, Any]) -> str:
    """:func:`chip_words` of a chip (a :class:`ChipSpec`, or its ``to_dict()`` as results
    record it): its name, levels and stuck fraction."""
    if isinstance(spec, ChipSpec):
        return chip_words(spec.name, spec.device.fault_rate, spec.device.levels)
    found = spec.get("device")
    device: dict[str, Any] = found if isinstance(found, dict) else {}
    rate = float(device.get("p_stuck_on") or 0.0) + float(device.get("p_stuck_off") or 0.0)
    return chip_words(str(spec.get("name", "")), rate, int(device.get("levels") or 0))


@checked_keywords
def load_chip(source: str | Path | ChipSpec) -> ChipSpec:
    """A chip from a preset name, a TOML file path (a ``.json`` file: JSON, as ``xbarmem
    chip show --json`` prints it), or an existing spec.

    Raises:
        FileFormatError: no such preset or file, or not TOML (not JSON).
        ConfigError: bad content (message prefixed by the file or preset name).
        ArgumentError: ``source`` is none of the three (e.g. a dict: use
            ``ChipSpec.from_dict``).
    """
    return _PRESETS.load(source)
