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
non-finite number, a read pulse of 0 s (no cell would be read), an energy above
:data:`MAX_JOULES` or a duration above :data:`MAX_SECONDS` per operation (no circuit's; far
above, costs overflowed to inf), more than :data:`MAX_PULSES` pulses per device or
:data:`MAX_ADC_BITS` bits per conversion, a non-integer
count or an unknown choice is refused with a :class:`~xbarmem.errors.ConfigError` naming the
key (``section.key``; specs are :class:`xbarmem.spec.Spec` dataclasses; numbers are stored as
floats, counts as ints). Presets:

* ``generic-rram`` -- literature-typical values, every one an assumption stated in the file;
* ``paper-calibrated`` -- the same values except two constants solved so that the single-layer
  N = 64 case reproduces He et al.'s 8.8x energy and 99.7% latency figures (see
  :mod:`xbarmem.energy.calibrate` for how).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from xbarmem.checks import checked_keywords, is_choice
from xbarmem.spec import Choice, Name, Number, Presets, Spec, Text, unknown_key

SIGN_READOUTS = ("comparator", "adc")


#: largest accepted energy of one operation (a read, conversion, update or pulse), joules:
#: circuits spend femto- to nanojoules on one; far above (1e300 J) costs overflowed to inf
MAX_JOULES = 1.0
#: largest accepted duration of one operation, seconds (circuits take nano- to microseconds)
MAX_SECONDS = 1.0
#: largest accepted mean write-verify iterations per device (a few to a few hundred are used)
MAX_PULSES = 1e6
#: largest accepted ADC resolution, bits: no conversion is wider than a 64-bit register
#: (compute-in-memory converters have 1 to 12 bits)
MAX_ADC_BITS = 64

#: A constant in joules, seconds, or a count (stored as float, float, int).
Joules = Annotated[float, Number(ge=0.0, le=MAX_JOULES, as_float=True, unit="J")]
Seconds = Annotated[float, Number(ge=0.0, le=MAX_SECONDS, as_float=True, unit="s")]
Count = Annotated[int, Number(integer=True, ge=1, unit="count")]


class _Section(Spec, noun="circuit"):
    """A section of a circuit description (every key required)."""


@dataclass(frozen=True)
class ArrayRead(_Section, section="array"):
    """One analogue read of a crossbar.

    Attributes:
        pulse_width: seconds the read voltage is applied to the driven rows (integration
            window), more than 0 (a read of no duration senses no current). A device of
            conductance G driven at V dissipates ``V**2 * G * pulse_width`` joules; this is
            also the array term of the read latency.
    """

    pulse_width: Annotated[float, Number(gt=0.0, le=MAX_SECONDS, as_float=True, unit="s")]


@dataclass(frozen=True)
class Drivers(_Section, section="drivers"):
    """Row drivers: one per driven row of every array tile a read uses.

    Attributes:
        binary_energy: joules per driven row segment per read when the row input is binary
            (+-V_read, a 1-bit driver switching the row line).
        dac_energy: joules per driven row segment per read when the row input is analogue
            (a multi-bit DAC; hidden layers, continuous states, and the first layer of a
            sign recall whose cues hold other values than +-1). The DAC's resolution is that
            of the values it is given, ``sensing.adc_bits``: set this constant for a DAC of
            that many bits.
        settle_latency: seconds for the drivers to settle before the read pulse.
    """

    binary_energy: Joules
    dac_energy: Joules
    settle_latency: Seconds


@dataclass(frozen=True)
class Sensing(_Section, section="sensing"):
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

    sign_readout: Annotated[str, Choice(SIGN_READOUTS)]
    comparator_energy: Joules
    comparator_latency: Seconds
    adc_energy: Joules
    adc_latency: Seconds
    adc_bits: Annotated[int, Number(integer=True, ge=1, le=MAX_ADC_BITS, unit="bit")]
    columns_per_adc: Count


@dataclass(frozen=True)
class Neuron(_Section, section="neuron"):
    """Digital neuron update (one per sensed output).

    Attributes:
        sign_energy: joules per sign-neuron update (latch the new state, flag a change).
        tanh_energy: joules per tanh-neuron update (look-up/piecewise-linear tanh of a
            digitised field, register write).
        latency: seconds per update (all neurons of a read update in parallel).
    """

    sign_energy: Joules
    tanh_energy: Joules
    latency: Seconds


@dataclass(frozen=True)
class Movement(_Section, section="movement"):
    """Moving updated neuron states from the output side back to the row-driver registers.

    Attributes:
        bit_energy: joules per bit moved (binary states: 1 bit per value; analogue values:
            ``sensing.adc_bits`` bits).
        latency: seconds per transfer (one parallel transfer per read).
    """

    bit_energy: Joules
    latency: Seconds


@dataclass(frozen=True)
class Control(_Section, section="control"):
    """Sequencing, once per recall step.

    Attributes:
        step_energy: joules of control per step (sequencer, convergence bookkeeping).
        step_latency: seconds of control per step.
        select_energy: joules per asynchronous update for selecting the neuron (next index
            from the random order, column multiplexer switching, state read-modify-write).
        select_latency: seconds per asynchronous update for the same.
    """

    step_energy: Joules
    step_latency: Seconds
    select_energy: Joules
    select_latency: Seconds


@dataclass(frozen=True)
class Programming(_Section, section="programming"):
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

    pulses_per_device: Annotated[float, Number(ge=0.0, le=MAX_PULSES, as_float=True,
                                               unit="count")]
    write_energy: Joules
    write_latency: Seconds
    verify_energy: Joules
    verify_latency: Seconds
    parallel_devices: Count


@dataclass(frozen=True)
class CircuitSpec(Spec, noun="circuit"):
    """All constants of the cost model (sections as documented on their classes)."""

    array: ArrayRead
    drivers: Drivers
    sensing: Sensing
    neuron: Neuron
    movement: Movement
    control: Control
    programming: Programming
    name: Annotated[str, Name()] = "custom"
    description: Annotated[str, Text()] = ""
    source: Annotated[str, Text()] = ""

    def get(self, key: str) -> Any:
        """Value of ``"section.key"`` (ConfigError naming an unknown key)."""
        section, name = _split(key)
        return getattr(getattr(self, section), name)

    def with_value(self, key: str, value: Any) -> CircuitSpec:
        """Copy with ``"section.key"`` set to ``value`` (validated)."""
        section, name = _split(key)
        return self.replace(**{section: getattr(self, section).replace(**{name: value})})

    def constants(self) -> dict[str, Any]:
        """Flat ``{"section.key": value}`` of every constant."""
        return {f"{s}.{k}": v for s in SECTIONS for k, v in getattr(self, s).to_dict().items()}


#: Section name -> section class, in file order.
SECTIONS: dict[str, type[Spec]] = {
    k: f.nested for k, f in CircuitSpec.spec_fields().items() if f.nested is not None}

#: Unit of every constant, ``"section.key" -> unit`` (``""`` for a choice).
UNITS: dict[str, str] = {k: f.unit for k, f in CircuitSpec.spec_fields().items()
                         if "." in k}


def _split(key: str) -> tuple[str, str]:
    if not is_choice(key, UNITS):  # (an array or a list is no key either)
        raise unknown_key("circuit", key, list(UNITS))
    section, _, name = key.partition(".")
    return section, name


_PRESETS = Presets(CircuitSpec, "xbarmem.energy", "circuits", "circuit")
#: the default circuit: literature-typical constants, none fitted to a published result
DEFAULT_CIRCUIT = "generic-rram"
#: the preset whose two constants were solved to reproduce the paper's ratios (shown beside
#: the default, labelled as fitted; it matches the paper by construction)
FITTED_CIRCUIT = "paper-calibrated"


def circuit_names() -> list[str]:
    """Names of the shipped circuit presets."""
    return _PRESETS.names()


def is_circuit_preset(text: str) -> bool:
    """Whether :func:`load_circuit` reads ``text`` as a shipped preset (its name in any case,
    where no file of that name exists: :meth:`~xbarmem.spec.presets.Presets.is_preset`)."""
    return _PRESETS.is_preset(text)


def circuit_toml(name: str) -> str:
    """The shipped circuit preset ``name`` as TOML with its file's comments (where its values
    come from); ConfigError if unknown."""
    return _PRESETS.commented_toml(name)


@checked_keywords
def load_circuit(source: str | Path | CircuitSpec) -> CircuitSpec:
    """A circuit from a preset name, a TOML file path, or an existing spec.

    Raises:
        FileFormatError: no such preset or file, or not TOML.
        ConfigError: bad content (message prefixed by the file or preset name).
    """
    return _PRESETS.load(source)
