"""The chip: ``--chip``, ``--faults``, ``--fault-model``, ``--fault-map`` (the
:data:`chip_options` group), programming variation (``--variation``), importing a measured fault
map (``chip import``) and programming a chip in closed loop (``adapt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from xbarmem.checks import MAX_COUNT
from xbarmem.cli.given import chip_spec
from xbarmem.cli.option_types import (
    bounded,
    choice,
    completes,
    input_path,
    name_or_file,
    option_group,
)
from xbarmem.hardware.chip import FAULT_MODELS, MAX_CONDUCTANCE, preset_names
from xbarmem.memory.variation import VARIATION

# ------------------------------------------------------------------------------ chip
Chip = Annotated[str, typer.Option(
    "--chip", metavar="NAME|FILE", autocompletion=completes(preset_names), parser=name_or_file,
    help=f"Chip preset ({', '.join(preset_names())}) or TOML file (.json: JSON, as "
         "chip show --json prints).")]


def _faults(chip: str = "overrides the chip's") -> Any:
    """``--faults X``; ``chip``: what it does to the command's chip, in its help."""
    return bounded("--faults", metavar="X", ge=0.0, le=1.0, help="Fraction of stuck devices; "
                   f"of faulty weights under the weight fault model ({chip}).")


Faults = Annotated[float | None, _faults()]
#: ``--faults`` of demo, which has a default of its own (never None) and no --chip: the
#: preset chip of each fault model it compares
FaultsOwnDefault = Annotated[float, _faults("on the preset chip of each fault model compared")]
OnFraction = Annotated[float, bounded(
    "--on-fraction", metavar="X", ge=0.0, le=1.0, help="Share of stuck-ON devices among the faults "
    "of --faults (device fault model: a faulty weight of the weight model is 0).")]
FaultModel = Annotated[str | None, choice(
    "--fault-model", metavar="MODEL", choices=lambda: FAULT_MODELS, blank=False,
    help="Fault model, device or weight (overrides the chip's).")]
#: what a command given a fault map reads it on: said in the help of every fault map parameter
#: (``--fault-map`` of train and capacity, ``chip inspect MAP``), as :func:`given.chip_spec`
#: and :func:`given.map_chip` do it
MAP_CHIP_WORDS = "without --chip, on the chip the map records"
FaultMapFile = Annotated[Path | None, typer.Option(
    "--fault-map", metavar="FILE", help="Fault map file (.npz/.csv) to train for (instead of "
    f"--faults); {MAP_CHIP_WORDS} (chip faults / import, export).",
    parser=input_path)]

#: ``--chip --faults --on-fraction --fault-model``; the command receives the :class:`ChipSpec`.
chip_options = option_group({"chip": (Chip, "paper-sim"), "faults": (Faults, None),
                            "on_fraction": (OnFraction, 0.5),
                            "fault_model": (FaultModel, None)},
                           chip_spec, contextual=True)


# ------------------------------------------------------------------------------ variation
def _variation(value: float | None) -> float | None:
    """Parse-time check of ``--variation``: the rule of every programming variation
    (:data:`xbarmem.memory.variation.VARIATION`, a sweep's ``variation`` too)."""
    if value is not None and not VARIATION.accepts(value):
        raise typer.BadParameter(f"must be{VARIATION.bounds}, got {value!r}")
    return value


_variation.bounds = (VARIATION.ge, None, VARIATION.le, None)  # type: ignore[attr-defined]


Variation = Annotated[float | None, typer.Option(
    "--variation", metavar="V", callback=_variation,
    help="Programming variation V (0 to 1): program the model's trained target weights again "
    "with Gaussian noise of std V * max|W| on every weight of each layer (biases as trained; "
    "write error and noise drawn from --seed, as a sweep's trial of that seed), then recall "
    "(default: recall the model as saved).")]

Repeats = Annotated[int, bounded(
    "--repeats", metavar="K", ge=1, le=MAX_COUNT,
    help="With --variation: program the model K times, repeat k as a sweep's trial of seed "
    "--seed + k (write error, weight noise and cues), and report each metric's mean, std and "
    "min..max over the K.")]

# ------------------------------------------------------------------------------ chip import
Arrays = Annotated[int, bounded(
    "--arrays", metavar="N", ge=1, le=MAX_COUNT, help="Number of arrays.")]
OffBelow = Annotated[float | None, bounded(
    "--off-below", metavar="S", ge=0.0, help="--as conductance: stuck OFF below this (siemens; "
    "default: g_min + 5% of the chip's window).")]
OnAbove = Annotated[float | None, bounded(
    "--on-above", metavar="S", ge=0.0, help="--as conductance: stuck ON above this (siemens; "
    "default: g_max - 5% of the chip's window).")]
ImportTolerance = Annotated[float | None, bounded(
    "--tolerance", metavar="uS", gt=0.0, help=".csv: stuck if |read - target| exceeds this "
    "(default: 5 robust standard deviations of read - target of the devices programmed "
    "between the lowest and highest target, printed as tolerance_uS).")]
# ------------------------------------------------------------------------------ adapt
Rounds = Annotated[int, bounded(
    "--rounds", metavar="N", ge=0, le=10**6, help="Adaptation rounds after the open-loop round 0.")]
Target = Annotated[float, bounded(
    "--target", metavar="X", ge=-1.0, help="Stop once the mean cosine reaches this (above 1: run "
    "every round).")]
Tolerance = Annotated[float, bounded(
    "--tolerance", metavar="uS", gt=0.0, help="A device reading further than this from its target "
    "is fixed.")]
#: the largest device noise, microsiemens (a std of a conductance; no device's is larger)
_MAX_NOISE_US = MAX_CONDUCTANCE * 1e6
WriteNoise = Annotated[float | None, bounded(
    "--write-noise", metavar="uS", ge=0.0, le=_MAX_NOISE_US, help="Write-error std of the "
    "simulated chip (--read-back: of the recall estimate after re-programming; default: the "
    "model's chip).")]
ReadNoise = Annotated[float | None, bounded(
    "--read-noise", metavar="uS", ge=0.0, le=_MAX_NOISE_US, help="Read-noise std of the simulated "
    "chip (--read-back: of the recall estimates; default: the model's chip).")]
ReadBack = Annotated[Path | None, typer.Option(
    "--read-back", metavar="FILE", parser=input_path,
    help="Conductances read back from a chip programmed with the model's export: one round "
         "from this file instead of the simulated chip. (n_arrays, 2, rows, cols) siemens in "
         ".npy/.npz (the layout of the export's targets_S.npy), or a .csv with columns "
         "array,row,col,polarity,read_uS (its devices.csv with a read_uS column). With it, "
         "--key and --export apply; --rounds, --target, --unknown-faults, --read-averages and "
         "--log (the simulated chip's) do not.")]
Key = Annotated[str | None, typer.Option("--key", metavar="NAME",
                                         help="Array name inside an .npz; two names, "
                                         "PLUS,MINUS, read the G+ and G- planes of the pairs "
                                         "from two arrays ((rows, cols) or (n_arrays, rows, "
                                         "cols) each).")]
UnknownFaults = Annotated[float, bounded(
    "--unknown-faults", metavar="X", ge=0.0, le=1.0, help="Extra fraction of devices stuck on the "
    "simulated chip that the model does not know (half at g_max, half at g_min).")]
ReadAverages = Annotated[int, bounded(
    "--read-averages", metavar="N", ge=1, le=10**6, help="Reads averaged per read-back.")]
