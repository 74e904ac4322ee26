"""``xbarmem chip show | presets | faults | inspect | import``: chips and fault maps."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from xbarmem.checks import DEFAULT_HIDDEN
from xbarmem.cli import (
    given,
    hardware_options,
    option_types,
    output_options,
    parsers,
    paths,
    run_options,
    training_options,
)
from xbarmem.cli.apps import chip_app
from xbarmem.cli.messages import warn
from xbarmem.cli.records import emit_json, print_fields, print_presets, show_spec
from xbarmem.errors import ConfigError, FileFormatError, XbarmemWarning
from xbarmem.files import ArrayFile, read_bytes, write_file
from xbarmem.hardware.chip import (
    ChipSpec,
    is_chip_preset,
    load_chip,
    preset_names,
    preset_toml,
)
from xbarmem.hardware.faults import (
    FaultMap,
    check_size,
    chip_record,
    highest_reading,
    refuse_fault_map_file,
    stuck_thresholds,
)
from xbarmem.hardware.measured import measured_chip, read_measured_csv
from xbarmem.hardware.units import (
    inside_window,
    reading_array,
    reading_planes,
    unit_mismatch,
)
from xbarmem.limits import TooLargeError

MapOut = Annotated[Path, output_options.out(
    "fault map file (.npz or .csv)", suffixes=(".npz", ".csv"))]
ChipOut = Annotated[Path | None, output_options.output(
    "--chip-out", help=".csv: also write the measured chip (TOML).", suffixes=(".toml",))]


def _print(summary: dict, json_out: bool, title: str) -> None:
    if json_out:
        emit_json(summary)
        return
    meta = summary.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("chip"), dict):  # a chip file's values
        chip = meta["chip"]
        summary = {**summary, "meta": {**meta, "chip": f"{chip.get('name')} (its description "
                                                       f"recorded in full: --json)"}}
    if isinstance(meta, dict) and meta.get("fault_model") == "weight":
        summary = _as_faulty_weights(summary)
    print_fields(summary, title)


def _as_faulty_weights(summary: dict) -> dict:
    """A map made under the ``weight`` fault model, as its table shows it: faulty weights (a
    faulty weight is 0: both devices of its pair held at g_min), not a split into stuck ON and
    OFF devices that the model does not have (``stuck ON 0`` beside ``P(stuck ON) 0.15``);
    the JSON keeps every key."""
    rate = summary["meta"].get("p_stuck_on", 0.0) + summary["meta"].get("p_stuck_off", 0.0)
    pairs = summary.get("devices", 0) // 2
    shown: dict = {}
    for key, value in summary.items():
        if key == "stuck_on" and "pairs_fully_stuck_fraction" in summary:
            fraction = summary["pairs_fully_stuck_fraction"]
            shown["faulty weights (0)"] = f"{round(fraction * pairs)} of {pairs} ({fraction:.4g})"
        elif key == "meta":
            shown[key] = {("P(faulty weight)" if k == "p_stuck_on" else k):
                          (rate if k == "p_stuck_on" else v)
                          for k, v in value.items() if k != "p_stuck_off"}
        elif key not in ("stuck_on", "stuck_off"):
            shown[key] = value
    return shown


def _map_summary(path: Path, fmap: FaultMap, spec: ChipSpec) -> dict:
    """What ``faults``, ``inspect`` and ``import`` print of a fault map: its file, size and
    stuck devices, and how it was made (``meta``: the seed, or the thresholds applied and the
    file read)."""
    return {"file": str(path), **fmap.summary(spec.device), "meta": fmap.meta}


@chip_app.command("show", help="Print a chip description (resolved and validated) as TOML; "
                  "a preset with its file's comments (where its values come from).")
def chip_show(
    chip: Annotated[str, typer.Argument(
        metavar="CHIP", parser=option_types.name_or_file,
        autocompletion=option_types.completes(preset_names),
        help=f"Chip preset ({', '.join(preset_names())}) or TOML "
        "file (.json: JSON, as --json prints).")] = "rram",
    json_out: output_options.Json = False,
) -> None:
    show_spec(chip, load_chip, is_chip_preset, preset_toml, json_out)


@chip_app.command("presets", help="List the shipped chip presets.")
def chip_presets(json_out: output_options.Json = False) -> None:
    print_presets(load_chip, preset_names(), json_out, "chip")


#: ``chip faults``' neurons, architecture and hidden widths: of the memory a map is drawn for
#: (the chip's vocabulary: a map holds arrays, not patterns)
MapNeurons = Annotated[str | None, typer.Option("--neurons", metavar="N", help=(
    "Neurons N of the memory the map is drawn for (instead of --arrays): the map holds every "
    "array that memory occupies on this chip, bias rows included; --arch and --hidden give "
    "its layers."))]
MapArch = Annotated[str, training_options.arch("single or multilayer, of the memory --neurons "
                                               "sizes the map for")]
MapHidden = Annotated[str, typer.Option("--hidden", metavar="WIDTHS", help=(
    training_options.HIDDEN_HELP + "; of the memory --neurons sizes the map for."))]


@chip_app.command("faults", help="Generate a seeded fault map from the chip's stuck rates and "
                  "save it: --arrays arrays, or with --neurons N (--arch, --hidden) every "
                  "array a memory of N neurons occupies, bias rows included, which a memory "
                  "of any rule on this chip fits.")
@hardware_options.chip_options("spec", chip="rram")
def chip_faults(
    ctx: typer.Context,
    out_path: MapOut,
    spec: ChipSpec,
    arrays: hardware_options.Arrays = 1,
    neurons: MapNeurons = None,
    arch: MapArch = "single",
    hidden: MapHidden = str(DEFAULT_HIDDEN),
    seed: run_options.Seed = 0,
    json_out: output_options.Json = False,
) -> None:
    given.applies_only(ctx, "to --neurons", "arch", "hidden", applies=neurons is not None)
    given.applies_only(ctx, "to --arch multilayer", "hidden", applies=arch == "multilayer")
    paths.check_distinct({"--out": out_path}, {"--chip": paths.chip_file(ctx.params.get("chip"))})
    if neurons is not None:
        if given.given(ctx, "arrays"):
            raise ConfigError("give --arrays or --neurons, not both (--neurons counts the "
                              "arrays a memory of N neurons occupies)")
        from xbarmem.memory.build import arrays_with_bias

        n = given.neuron_count(neurons)
        widths = parsers.hidden_widths(hidden, n) if arch == "multilayer" else None
        arrays = arrays_with_bias(spec, n, arch=arch, hidden=widths)
    check_size(arrays, spec.array.rows, spec.array.cols, lower=given.to_lower(
        {"--arrays": arrays} if neurons is None else {"--neurons": n, "--hidden": widths}))
    fmap = FaultMap.generate(spec, arrays, seed=seed)  # (checks its size again, in its words)
    fmap.save(out_path)
    _print(_map_summary(out_path, fmap, spec), json_out, f"fault map written to {out_path}")


@chip_app.command("inspect", help="Summarise a fault map: stuck devices, ON/OFF split, pairs "
                  "affected.")
def chip_inspect(
    fault_map: Annotated[Path, typer.Argument(metavar="MAP", help="Fault map (.npz or .csv); "
                                              f"{hardware_options.MAP_CHIP_WORDS}.",
                                              parser=option_types.input_path)],
    ctx: typer.Context,
    chip: hardware_options.Chip = "rram",
    json_out: output_options.Json = False,
) -> None:
    recorded = None if given.given(ctx, "chip") else given.map_chip(fault_map)
    spec = load_chip(chip) if recorded is None else recorded
    fmap = given.load_map(fault_map, spec)
    _print(_map_summary(fault_map, fmap, spec), json_out, f"fault map {fault_map}")


#: what ``chip import --as`` reads an array as: stuck codes or conductances
AS_KINDS = ("codes", "conductance")


@chip_app.command(
    "import", short_help="Build a fault map (and chip model) from measured data.",
    help="Build a fault map from measured data: a stuck-code map or a read-back conductance "
         "map (.npy/.npz), or, from a target-vs-read .csv (columns array,row,col,polarity,"
         "target_uS,read_uS in any order, microsiemens, optional stuck 0/1: an export's "
         "devices.csv with read_uS appended), a fault map plus a measured chip model (window, "
         "write error, stuck rates).")
def chip_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(
        metavar="FILE", parser=option_types.input_path,
        help="Array (n_arrays, 2, rows, cols) or (2, rows, cols) in "
        ".npy/.npz, or a .csv of target-vs-read conductances.")],
    out_path: MapOut,
    as_: Annotated[str, option_types.choice(
        "--as", metavar="KIND", choices=lambda: AS_KINDS,
        help="Array meaning: codes (stuck codes: 0 free, +1 ON, "
        "-1 OFF) or conductance (siemens, read back after programming every device away from "
        "g_min and g_max: one still near either is stuck).")] = "codes",
    chip: hardware_options.Chip = "rram",
    off_below: hardware_options.OffBelow = None,
    on_above: hardware_options.OnAbove = None,
    key: hardware_options.Key = None,
    tolerance: hardware_options.ImportTolerance = None,
    chip_out: ChipOut = None,
    json_out: output_options.Json = False,
) -> None:
    csv = source.suffix.lower() == ".csv"
    paths.check_distinct({"--out": out_path, "--chip-out": chip_out},
                     {"FILE": source, "--chip": paths.chip_file(chip)})
    given.applies_only(ctx, "to a .csv FILE", "tolerance", "chip_out", applies=csv)
    given.applies_only(ctx, "to an array FILE (.npy/.npz)", "as_", "key", applies=not csv,
                       hint="a .csv is read as target-vs-read columns (array,row,col,polarity,"
                       "target_uS,read_uS); save a grid of conductances or stuck codes as .npy "
                       "(np.save), shape (2, rows, cols): the G+ and G- planes")
    given.applies_only(ctx, "with --as conductance", "off_below", "on_above",
                   applies=as_ == "conductance")
    if csv:
        base = load_chip(chip)
        given.check_microsiemens(base, ctx, "tolerance")
        measurement = read_measured_csv(source, base.array.rows, base.array.cols)
        spec, fmap, summary = measured_chip(measurement, base,
                                            None if tolerance is None else tolerance * 1e-6)
        fmap.check_chip(spec, str(source)).save(out_path)
        summary["fault_map"] = str(out_path)
        if chip_out is not None:
            write_file(chip_out, spec.to_toml())
            summary["chip"] = str(chip_out)
        _print(summary, json_out, f"measured chip from {source}")
        return
    spec = load_chip(chip)
    if as_ == "conductance":  # the thresholds by their options' names, before the file is read
        stuck_thresholds(spec.device, off_below, on_above, ("--off-below", "--on-above"))
    if as_ not in AS_KINDS:
        raise ConfigError(f"--as must be 'codes' or 'conductance', got {as_!r}")
    fmap = _array_map(source, key, as_, spec, off_below, on_above)
    fmap.meta.update(file=str(source), chip=chip_record(spec))
    fmap.check_chip(spec, str(source)).save(out_path)
    _print(_map_summary(out_path, fmap, spec), json_out,
           f"fault map from {source}, written to {out_path}")


def _array_map(source: Path, key: str | None, as_: str, spec: ChipSpec,
               off_below: float | None, on_above: float | None) -> FaultMap:
    """The fault map of an array file: stuck codes, or a conductance map held to the rule of
    every measured map (:func:`~xbarmem.hardware.units.reading_planes`,
    :func:`~xbarmem.hardware.units.reading_array`) before its window is judged; its refusals
    name ``source``."""
    arrays = ArrayFile(read_bytes(source, "array file"), str(source))
    refuse_fault_map_file(arrays.names, str(source), "measured data", "it needs no import: "
                          "give it as it is to --fault-map (train, capacity) or chip inspect")
    data = arrays.planes(key, paths.PICK) if as_ == "codes" else reading_planes(
        arrays, key, paths.PICK, error=FileFormatError)
    try:
        if as_ == "codes":
            return FaultMap.from_codes(data, spec.device)
        data = reading_array(data, "conductance map", error=FileFormatError, device=spec.device)
        check_siemens(data, spec)
        with warnings.catch_warnings(record=True) as said:  # named by the file, as refusals
            warnings.simplefilter("always")
            fmap = FaultMap.from_conductance_map(data, spec.device, off_below, on_above)
    except (FileFormatError, TooLargeError) as exc:
        raise type(exc)(f"{source}: {exc}") from None
    for w in said:
        if issubclass(w.category, XbarmemWarning):
            warn(f"{source}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fmap


def check_siemens(data: np.ndarray, spec: ChipSpec) -> None:
    """``--as conductance`` reads siemens. If most values lie outside the chip's window, every
    such device would be marked stuck: a warning (a wrong ``--chip``?), or a refusal when some
    lie beyond what a fault map accepts (one window width above ``g_max``). Values that look
    written in another unit are left to the map's own check
    (:meth:`~xbarmem.hardware.faults.FaultMap.from_conductance_map`), which names the unit."""
    values = np.asarray(data, dtype=np.float64)
    values = values[np.isfinite(values)]  # NaN/inf: refused by the fault map with its message
    if values.size == 0 or inside_window(values, spec.device) >= 0.5 \
            or unit_mismatch(values, spec.device) is not None:
        return
    d = spec.device
    window = f"[{d.g_min:g}, {d.g_max:g}] S"
    outside = 1.0 - inside_window(values, d)
    message = (f"{outside:.0%} of the conductances lie outside the {spec.name} chip's window "
               f"{window}")
    largest = float(values.max())
    if largest > highest_reading(d):  # a fault map refuses these: say why, once
        raise ConfigError(f"{message}, some far above it (largest {largest:g} S); is --chip the "
                          f"chip that was measured?")
    warn(f"{message} and will be marked stuck; is --chip the chip that was measured?")
