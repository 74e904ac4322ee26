"""``xbarmem chip show | presets | faults | inspect | import``: chips and fault maps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xbarmem.cli import options as o
from xbarmem.cli.common import _emit_json, chip_app, out
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec, load_chip, preset_names
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import measured_chip, read_measured_csv

MapOut = o.out("fault map file (.npz or .csv)", required=True)


def _print(summary: dict, json_out: bool) -> None:
    _emit_json(summary) if json_out else out.print(summary)


@chip_app.command("show", help="Print a chip description (resolved and validated) as TOML.")
def chip_show(
    chip: Annotated[str, typer.Argument(
        metavar="CHIP", help=f"Chip preset ({', '.join(preset_names())}) or TOML "
        "file.")] = "rram",
    json_out: o.Json = False,
) -> None:
    spec = load_chip(chip)
    if json_out:
        _emit_json(spec.to_dict())
    else:
        typer.echo(spec.to_toml())


@chip_app.command("presets", help="List the shipped chip presets.")
def chip_presets(json_out: o.Json = False) -> None:
    presets = {name: load_chip(name).description for name in preset_names()}
    if json_out:
        _emit_json(presets)
        return
    for name, description in presets.items():
        out.print(f"[bold]{name}[/bold]: {description}")


@chip_app.command("faults", help="Generate a seeded fault map from the chip's stuck rates and "
                  "save it.")
@o.chip_options("spec", chip="rram")
def chip_faults(
    out_path: MapOut,
    spec: ChipSpec,
    arrays: Annotated[int, typer.Option(metavar="N", help="Number of arrays.")] = 1,
    seed: o.Seed = 0,
    json_out: o.Json = False,
) -> None:
    fmap = FaultMap.generate(spec, arrays, seed=seed)
    fmap.save(out_path)
    _print({"file": str(out_path), **fmap.summary(spec.device)}, json_out)


@chip_app.command("inspect", help="Summarise a fault map: stuck devices, ON/OFF split, pairs "
                  "affected.")
def chip_inspect(
    fault_map: Annotated[Path, typer.Argument(metavar="MAP", help="Fault map (.npz or .csv).")],
    chip: o.Chip = "rram",
    json_out: o.Json = False,
) -> None:
    spec = load_chip(chip)
    fmap = FaultMap.load(fault_map, spec.device)
    _print({"file": str(fault_map), **fmap.summary(spec.device), "meta": fmap.meta}, json_out)


@chip_app.command(
    "import", short_help="Build a fault map (and chip model) from measured data.",
    help="Build a fault map from measured data: a stuck-code map or a read-back conductance "
         "map (.npy/.npz), or, from a target-vs-read .csv, a fault map plus a measured chip "
         "model (see xbarmem.hardware.measured).")
def chip_import(
    source: Annotated[Path, typer.Argument(
        metavar="FILE", help="Array (n_arrays, 2, rows, cols) or (2, rows, cols) in "
        ".npy/.npz, or a .csv of target-vs-read conductances.")],
    out_path: MapOut,
    as_: Annotated[str, typer.Option(
        "--as", metavar="KIND", help="Array meaning: codes (stuck codes (0 free, +1 ON, "
        "-1 OFF) or conductance (read-back, siemens).")] = "codes",
    chip: o.Chip = "rram",
    off_below: Annotated[float | None, typer.Option(
        metavar="S", help="conductance: stuck OFF below this (siemens).")] = None,
    on_above: Annotated[float | None, typer.Option(
        metavar="S", help="conductance: stuck ON above this (siemens).")] = None,
    key: Annotated[str | None, typer.Option(
        metavar="NAME", help="Array name inside an .npz.")] = None,
    tolerance: Annotated[float | None, typer.Option(
        metavar="uS", help=".csv: stuck if |read - target| exceeds this (default: "
        "robust estimate).")] = None,
    chip_out: Annotated[Path | None, typer.Option(
        metavar="FILE", help=".csv: also write the measured chip (TOML).")] = None,
    json_out: o.Json = False,
) -> None:
    if source.suffix.lower() == ".csv":
        base = load_chip(chip)
        measurement = read_measured_csv(source, base.array.rows, base.array.cols)
        spec, fmap, summary = measured_chip(measurement, base,
                                            None if tolerance is None else tolerance * 1e-6)
        fmap.save(out_path)
        summary["fault_map"] = str(out_path)
        if chip_out is not None:
            chip_out.write_text(spec.to_toml())
            summary["chip"] = str(chip_out)
        _print(summary, json_out)
        return
    spec = load_chip(chip)
    data = o.load_array(source, key)
    if as_ == "codes":
        fmap = FaultMap.from_codes(data, spec.device)
    elif as_ == "conductance":
        fmap = FaultMap.from_conductance_map(data, spec.device, off_below, on_above)
    else:
        raise ConfigError(f"--as must be 'codes' or 'conductance', got {as_!r}")
    fmap.meta["file"] = str(source)
    fmap.save(out_path)
    _print({"file": str(out_path), **fmap.summary(spec.device)}, json_out)
