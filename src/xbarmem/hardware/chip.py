"""Chip description: device physics and array/mapping settings, presets, TOML round trip.

A :class:`ChipSpec` is split the way the hardware is:

* :class:`DeviceSpec` -- one memristor: conductance window (siemens), programmable levels,
  write-verify error (siemens, *persistent*: drawn once when a matrix is programmed), read noise
  (siemens, *per read*: redrawn at every array read) and stuck-at fault rates.
* :class:`ArraySpec` -- how signed weights sit on arrays: tile size, weight range mapped onto the
  window, read voltage (volts) and the fault model (``"device"`` or ``"weight"``).

Specs are frozen dataclasses validated on construction; they round-trip losslessly through
``to_dict``/``from_dict`` and TOML. Presets are TOML data files shipped in ``xbarmem/presets``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from xbarmem.errors import ConfigError, FileFormatError

FAULT_MODELS = ("device", "weight")


def _check_number(key: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                  strict_lo: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be finite, got {value!r}")
    if lo is not None and (value <= lo if strict_lo else value < lo):
        raise ConfigError(f"{key} must be {'>' if strict_lo else '>='} {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{key} must be <= {hi}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class DeviceSpec:
    """Physics of one memristive device.

    Attributes:
        g_min: lowest programmable conductance, siemens (also the stuck-OFF value).
        g_max: highest programmable conductance, siemens (also the stuck-ON value).
        levels: number of evenly spaced programmable conductances in [g_min, g_max];
            0 means continuous (analogue write-verify).
        write_noise: std of the write-verify error, siemens. Persistent: drawn once per
            programming, result clipped to the window.
        read_noise: std of the read fluctuation of each device, siemens. Redrawn at every read.
        p_stuck_on: fraction of devices stuck at g_max.
        p_stuck_off: fraction of devices stuck at g_min.
    """

    g_min: float = 2e-6
    g_max: float = 150e-6
    levels: int = 0
    write_noise: float = 0.0
    read_noise: float = 0.0
    p_stuck_on: float = 0.0
    p_stuck_off: float = 0.0

    def __post_init__(self) -> None:
        _check_number("device.g_min", self.g_min, lo=0.0)
        _check_number("device.g_max", self.g_max, lo=0.0)
        if self.g_min >= self.g_max:
            raise ConfigError(
                f"device.g_min ({self.g_min:g} S) must be below device.g_max ({self.g_max:g} S)")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 0 \
                or self.levels == 1:
            raise ConfigError(f"device.levels must be 0 (continuous) or an integer >= 2, "
                              f"got {self.levels!r}")
        _check_number("device.write_noise", self.write_noise, lo=0.0)
        _check_number("device.read_noise", self.read_noise, lo=0.0)
        _check_number("device.p_stuck_on", self.p_stuck_on, lo=0.0, hi=1.0)
        _check_number("device.p_stuck_off", self.p_stuck_off, lo=0.0, hi=1.0)
        if self.p_stuck_on + self.p_stuck_off > 1.0 + 1e-12:
            raise ConfigError(f"device.p_stuck_on + device.p_stuck_off must be <= 1, got "
                              f"{self.p_stuck_on} + {self.p_stuck_off}")

    @property
    def g_range(self) -> float:
        """Width of the conductance window g_max - g_min, siemens."""
        return self.g_max - self.g_min

    @property
    def fault_rate(self) -> float:
        """Total fraction of stuck devices (ON + OFF)."""
        return self.p_stuck_on + self.p_stuck_off


@dataclass(frozen=True)
class ArraySpec:
    """Arrays and the weight-to-conductance mapping.

    Attributes:
        rows: rows (inputs, word lines) of one array tile.
        cols: columns (outputs, bit lines) of one array tile; each cell is a differential pair
            (G+, G-) of devices, one on each polarity plane.
        weight_range: w_max, the weight that maps to the full window difference g_max - g_min.
            A pair realises ``w = w_max * (G+ - G-) / (g_max - g_min)``. Classic rules are scaled
            to max|W| = w_max (the full window); for the hardware-adaptive rule w_max sets the
            gain of tanh(W x + b) at the edge of the window. Default 0.5, measured best of
            {0.25, 0.5, 1, 3} for the demo at 50% device faults (cosine 0.878, 0.907, 0.871,
            0.771). Under the ``weight`` fault model free weights are unbounded and w_max is set
            to max|W| when programming.
        read_voltage: amplitude of a +-1 input on a row, volts.
        fault_model: ``"device"`` -- each device may be stuck at g_min/g_max and restricts its
            pair's weight to an interval; ``"weight"`` -- the paper's simulation: a faulty pair is
            a weight pinned at 0, the rest unconstrained (the bias row is never faulty).
    """

    rows: int = 64
    cols: int = 64
    weight_range: float = 0.5
    read_voltage: float = 0.2
    fault_model: str = "device"

    def __post_init__(self) -> None:
        for key in ("rows", "cols"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"array.{key} must be a positive integer, got {value!r}")
        _check_number("array.weight_range", self.weight_range, lo=0.0, strict_lo=True)
        _check_number("array.read_voltage", self.read_voltage, lo=0.0, strict_lo=True)
        if self.fault_model not in FAULT_MODELS:
            raise ConfigError(f"array.fault_model must be one of {FAULT_MODELS}, "
                              f"got {self.fault_model!r}")


@dataclass(frozen=True)
class ChipSpec:
    """A simulated chip: device physics plus array layout and mapping."""

    device: DeviceSpec = field(default_factory=DeviceSpec)
    array: ArraySpec = field(default_factory=ArraySpec)
    name: str = "custom"
    description: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, TOML/JSON serialisable; ``from_dict(to_dict())`` is the identity."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "device": asdict(self.device), "array": asdict(self.array)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str | None = None) -> ChipSpec:
        """Build and validate from a dict; unknown keys raise :class:`ConfigError` naming them."""
        if not isinstance(data, dict):
            raise ConfigError(f"chip description must be a table, got {type(data).__name__}")
        allowed = {"name", "description", "source", "device", "array"}
        _reject_unknown(data, allowed, "")
        sections = {}
        for section, klass in (("device", DeviceSpec), ("array", ArraySpec)):
            table = data.get(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"[{section}] must be a table, got {table!r}")
            _reject_unknown(table, {f.name for f in fields(klass)}, f"{section}.")
            sections[section] = klass(**table)
        return cls(device=sections["device"], array=sections["array"],
                   name=str(name or data.get("name", "custom")),
                   description=str(data.get("description", "")),
                   source=str(data.get("source", "")))

    def to_toml(self) -> str:
        """TOML text of this spec (readable by :func:`load_chip`)."""
        lines = [f"name = {_toml_value(self.name)}",
                 f"description = {_toml_value(self.description)}",
                 f"source = {_toml_value(self.source)}"]
        for section in ("device", "array"):
            lines.append(f"\n[{section}]")
            for key, value in asdict(getattr(self, section)).items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def with_faults(self, rate: float, on_fraction: float = 0.5) -> ChipSpec:
        """Copy with a total stuck fraction ``rate`` split into ON (``on_fraction``) and OFF."""
        _check_number("faults", rate, lo=0.0, hi=1.0)
        _check_number("on_fraction", on_fraction, lo=0.0, hi=1.0)
        device = replace(self.device, p_stuck_on=rate * on_fraction,
                         p_stuck_off=rate * (1.0 - on_fraction))
        return replace(self, device=device)

    def with_fault_model(self, fault_model: str) -> ChipSpec:
        """Copy with another fault model (``"device"`` or ``"weight"``)."""
        return replace(self, array=replace(self.array, fault_model=fault_model))

    def replace_device(self, **changes: Any) -> ChipSpec:
        """Copy with some device fields changed (validated)."""
        _reject_unknown(changes, {f.name for f in fields(DeviceSpec)}, "device.")
        return replace(self, device=replace(self.device, **changes))

    def replace_array(self, **changes: Any) -> ChipSpec:
        """Copy with some array fields changed (validated)."""
        _reject_unknown(changes, {f.name for f in fields(ArraySpec)}, "array.")
        return replace(self, array=replace(self.array, **changes))


def _reject_unknown(table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"unknown chip key {prefix}{unknown[0]!s} (allowed: "
                          f"{', '.join(prefix + k for k in sorted(allowed))})")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def preset_names() -> list[str]:
    """Names of the shipped chip presets."""
    folder = resources.files("xbarmem.hardware") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> ChipSpec:
    """A shipped preset (``ideal``, ``rram``, ``paper-sim``)."""
    names = preset_names()
    if name not in names:
        raise ConfigError(f"unknown chip preset {name!r} (available: {', '.join(names)})")
    text = (resources.files("xbarmem.hardware") / "presets" / f"{name}.toml").read_text()
    return ChipSpec.from_dict(tomllib.loads(text), name=name)


def load_chip(source: str | Path | ChipSpec) -> ChipSpec:
    """A chip from a preset name, a TOML file path, or an existing spec."""
    if isinstance(source, ChipSpec):
        return source
    text = str(source)
    if text in preset_names():
        return load_preset(text)
    path = Path(text)
    if not path.exists():
        raise FileFormatError(f"no chip preset or file named {text!r} "
                              f"(presets: {', '.join(preset_names())})")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not valid TOML ({exc})") from exc
    return ChipSpec.from_dict(data, name=data.get("name", path.stem))
