"""Circuit constants of the cost model: what one read, one sensed output, one neuron update,
one step of control and one programming pulse cost, in joules and seconds.

A :class:`CircuitSpec` has seven sections, one per part of the periphery. Every constant is a
named field with a unit; what each constant *means* is documented on its section class below,
and where each *value* comes from is written next to it in the preset TOML files
(``xbarmem/energy/circuits/*.toml``). The chip supplies what it already knows: the read
voltage (``ChipSpec.array.read_voltage``, volts), the tile size (``array.rows x array.cols``) and
the programmed conductances of every device (``Crossbar.g_pos`` / ``g_neg``, siemens). The read
pulse width is not part of the chip spec, so it is a circuit constant here.

TOML files hold exactly these sections and keys; an unknown key, a missing key, a negative or
non-finite number, a non-integer count or an unknown choice is refused with a
:class:`~xbarmem.errors.ConfigError` naming the key (``section.key``). Presets:

* ``generic-rram`` -- literature-typical values, every one an assumption stated in the file;
* ``paper-calibrated`` -- the same values except two constants solved so that the single-layer
  N = 64 case reproduces He et al.'s 8.8x energy and 99.7% latency figures (see
  :mod:`xbarmem.energy.calibrate` for how).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from xbarmem.errors import ConfigError, FileFormatError

SIGN_READOUTS = ("comparator", "adc")


@dataclass(frozen=True)
class ArrayRead:
    """One analogue read of a crossbar.

    Attributes:
        pulse_width: seconds the read voltage is applied to the driven rows (integration
            window). A device of conductance G driven at V dissipates ``V**2 * G * pulse_width``
            joules; this is also the array term of the read latency.
    """

    pulse_width: float


@dataclass(frozen=True)
class Drivers:
    """Row drivers: one per driven row of every array tile a read uses.

    Attributes:
        binary_energy: joules per driven row segment per read when the row input is binary
            (+-V_read, a 1-bit driver switching the row line).
        dac_energy: joules per driven row segment per read when the row input is analogue
            (a multi-bit DAC; hidden layers and continuous states).
        settle_latency: seconds for the drivers to settle before the read pulse.
    """

    binary_energy: float
    dac_energy: float
    settle_latency: float


@dataclass(frozen=True)
class Sensing:
    """Sensing of column outputs.

    The partial currents of the row tiles of one column are summed on a shared output line
    before sensing (analogue accumulation), so every sensed output costs one sense operation
    whatever the number of row tiles.

    Attributes:
        sign_readout: ``"comparator"`` -- outputs of sign neurons are sensed by a current
            comparator (1 bit); ``"adc"`` -- by the TIA+ADC chain like analogue outputs.
        comparator_energy: joules per comparator decision.
        comparator_latency: seconds per comparator decision (all comparators in parallel).
        adc_energy: joules per conversion of the TIA+ADC chain (analogue outputs).
        adc_latency: seconds per conversion.
        adc_bits: resolution of a conversion, bits (the width of an analogue value moved back
            to the row drivers).
        columns_per_adc: columns sharing one ADC through a multiplexer; a full read of a tile
            converts ``min(columns_per_adc, columns in the tile)`` values in series.
    """

    sign_readout: str
    comparator_energy: float
    comparator_latency: float
    adc_energy: float
    adc_latency: float
    adc_bits: int
    columns_per_adc: int


@dataclass(frozen=True)
class Neuron:
    """Digital neuron update (one per sensed output).

    Attributes:
        sign_energy: joules per sign-neuron update (latch the new state, flag a change).
        tanh_energy: joules per tanh-neuron update (look-up/piecewise-linear tanh of a
            digitised field, register write).
        latency: seconds per update (all neurons of a read update in parallel).
    """

    sign_energy: float
    tanh_energy: float
    latency: float


@dataclass(frozen=True)
class Movement:
    """Moving updated neuron states from the output side back to the row-driver registers.

    Attributes:
        bit_energy: joules per bit moved (binary states: 1 bit per value; analogue values:
            ``sensing.adc_bits`` bits).
        latency: seconds per transfer (one parallel transfer per read).
    """

    bit_energy: float
    latency: float


@dataclass(frozen=True)
class Control:
    """Sequencing, once per recall step.

    Attributes:
        step_energy: joules of control per step (sequencer, convergence bookkeeping).
        step_latency: seconds of control per step.
        select_energy: joules per asynchronous update for selecting the neuron (next index
            from the random order, column multiplexer switching, state read-modify-write).
        select_latency: seconds per asynchronous update for the same.
    """

    step_energy: float
    step_latency: float
    select_energy: float
    select_latency: float


@dataclass(frozen=True)
class Programming:
    """Iterative write-verify programming of a model's free devices.

    Attributes:
        pulses_per_device: mean write-verify iterations per programmed device (one write pulse
            plus one verify read each).
        write_energy: joules per write pulse.
        write_latency: seconds per write pulse.
        verify_energy: joules per verify read of one device.
        verify_latency: seconds per verify read.
        parallel_devices: devices programmed at the same time.
    """

    pulses_per_device: float
    write_energy: float
    write_latency: float
    verify_energy: float
    verify_latency: float
    parallel_devices: int


SECTIONS: dict[str, type] = {"array": ArrayRead, "drivers": Drivers, "sensing": Sensing,
                             "neuron": Neuron, "movement": Movement, "control": Control,
                             "programming": Programming}

#: Unit of every constant, ``"section.key" -> unit``.
UNITS: dict[str, str] = {
    "array.pulse_width": "s",
    "drivers.binary_energy": "J", "drivers.dac_energy": "J", "drivers.settle_latency": "s",
    "sensing.sign_readout": "", "sensing.comparator_energy": "J",
    "sensing.comparator_latency": "s", "sensing.adc_energy": "J", "sensing.adc_latency": "s",
    "sensing.adc_bits": "bit", "sensing.columns_per_adc": "count",
    "neuron.sign_energy": "J", "neuron.tanh_energy": "J", "neuron.latency": "s",
    "movement.bit_energy": "J", "movement.latency": "s",
    "control.step_energy": "J", "control.step_latency": "s", "control.select_energy": "J",
    "control.select_latency": "s",
    "programming.pulses_per_device": "count", "programming.write_energy": "J",
    "programming.write_latency": "s", "programming.verify_energy": "J",
    "programming.verify_latency": "s", "programming.parallel_devices": "count",
}
_INTEGERS = {"sensing.adc_bits", "sensing.columns_per_adc", "programming.parallel_devices"}
_CHOICES = {"sensing.sign_readout": SIGN_READOUTS}


def _check(key: str, value: Any) -> Any:
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ConfigError(f"circuit {key} must be one of {_CHOICES[key]}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"circuit {key} must be a number ({UNITS[key]}), got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"circuit {key} must be finite, got {value!r}")
    if value < 0:
        raise ConfigError(f"circuit {key} must be >= 0 ({UNITS[key]}), got {value!r}")
    if key in _INTEGERS:
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"circuit {key} must be a positive integer, got {value!r}")
        return int(value)
    return float(value)


@dataclass(frozen=True)
class CircuitSpec:
    """All constants of the cost model (sections as documented on their classes)."""

    array: ArrayRead
    drivers: Drivers
    sensing: Sensing
    neuron: Neuron
    movement: Movement
    control: Control
    programming: Programming
    name: str = "custom"
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        for section in SECTIONS:
            for f in fields(getattr(self, section)):
                key = f"{section}.{f.name}"
                _check(key, getattr(getattr(self, section), f.name))

    # ------------------------------------------------------------------ access
    def get(self, key: str) -> Any:
        """Value of ``"section.key"``."""
        section, name = _split(key)
        return getattr(getattr(self, section), name)

    def with_value(self, key: str, value: Any) -> CircuitSpec:
        """Copy with ``"section.key"`` set to ``value`` (validated)."""
        section, name = _split(key)
        value = _check(key, value)
        return replace(self, **{section: replace(getattr(self, section), **{name: value})})

    def constants(self) -> dict[str, Any]:
        """Flat ``{"section.key": value}`` of every constant."""
        return {f"{s}.{k}": v for s in SECTIONS for k, v in asdict(getattr(self, s)).items()}

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (TOML/JSON serialisable); ``from_dict(to_dict())`` is the identity."""
        return {"name": self.name, "description": self.description, "source": self.source,
                **{s: asdict(getattr(self, s)) for s in SECTIONS}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str | None = None,
                  where: str = "circuit") -> CircuitSpec:
        """Build and validate; unknown, missing and bad keys raise :class:`ConfigError`
        naming the key (``where`` prefixes the message, e.g. the file name)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a circuit description must be a table")
        unknown = sorted(set(data) - {"name", "description", "source", *SECTIONS})
        if unknown:
            raise ConfigError(f"{where}: unknown circuit key {unknown[0]!r} (sections: "
                              f"{', '.join(SECTIONS)})")
        built = {}
        for section, klass in SECTIONS.items():
            table = data.get(section)
            if table is None:
                raise ConfigError(f"{where}: missing circuit section [{section}]")
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: [{section}] must be a table, got {table!r}")
            names = [f.name for f in fields(klass)]
            extra = sorted(set(table) - set(names))
            if extra:
                raise ConfigError(f"{where}: unknown circuit key {section}.{extra[0]} "
                                  f"(allowed: {', '.join(f'{section}.{n}' for n in names)})")
            missing = [n for n in names if n not in table]
            if missing:
                raise ConfigError(f"{where}: missing circuit key {section}.{missing[0]} "
                                  f"({UNITS[f'{section}.{missing[0]}'] or 'choice'})")
            try:
                values = {n: _check(f"{section}.{n}", table[n]) for n in names}
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            built[section] = klass(**values)
        return cls(**built, name=str(name or data.get("name", "custom")),
                   description=str(data.get("description", "")),
                   source=str(data.get("source", "")))

    def to_toml(self) -> str:
        """TOML text of this circuit (readable by :func:`load_circuit`), units as comments."""
        lines = [f"name = {_toml(self.name)}", f"description = {_toml(self.description)}",
                 f"source = {_toml(self.source)}"]
        for section in SECTIONS:
            lines.append(f"\n[{section}]")
            for key, value in asdict(getattr(self, section)).items():
                unit = UNITS[f"{section}.{key}"]
                lines.append(f"{key} = {_toml(value)}" + (f"  # {unit}" if unit else ""))
        return "\n".join(lines) + "\n"


def _split(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    if section not in SECTIONS or name not in {f.name for f in fields(SECTIONS[section])}:
        raise ConfigError(f"unknown circuit key {key!r} (keys: {', '.join(UNITS)})")
    return section, name


def _toml(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _folder():
    return resources.files("xbarmem.energy") / "circuits"


def circuit_names() -> list[str]:
    """Names of the shipped circuit presets."""
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml"))


def load_circuit(source: str | Path | CircuitSpec) -> CircuitSpec:
    """A circuit from a preset name, a TOML file path, or an existing spec."""
    if isinstance(source, CircuitSpec):
        return source
    text = str(source)
    if text in circuit_names():
        data = tomllib.loads((_folder() / f"{text}.toml").read_text())
        return CircuitSpec.from_dict(data, name=text, where=f"circuit preset {text}")
    path = Path(text)
    if not path.is_file():
        raise FileFormatError(f"no circuit preset or file named {text!r} "
                              f"(presets: {', '.join(circuit_names())})")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not valid TOML ({exc})") from exc
    return CircuitSpec.from_dict(data, name=data.get("name", path.stem), where=str(path))
