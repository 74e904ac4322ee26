"""CLI commands from model to chip: ``xbarmem export``, ``xbarmem adapt`` and the measured-CSV
branch of ``xbarmem chip import``. Commands register on the shared app when imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich import box
from rich.table import Table

from xbarmem.cli.common import _emit_json, app, console, out
from xbarmem.deploy.backend import simulated_backends
from xbarmem.deploy.chip_loop import adapt
from xbarmem.deploy.export import export_memory
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.hardware.chip import load_chip
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import measured_chip, read_measured_csv
from xbarmem.memory.io import load_memory, save_memory


def _patterns(model: Path):
    from xbarmem.cli.app import load_memory_patterns

    return load_memory_patterns(model)


@app.command("export")
def export_cmd(
    model: Annotated[Path, typer.Argument(help="Model file from `xbarmem train`.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    mode: Annotated[str, typer.Option(help="Recall mode to record: sync or async.")] = "sync",
    neurons: Annotated[str | None, typer.Option(
        help="sign or tanh (default: sign for binary patterns, tanh for continuous).")] = None,
    max_iterations: Annotated[int, typer.Option(help="Recall cap to record.")] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")
                        ] = False,
) -> None:
    """Export the conductance of every device of every array (CSV + .npy) and a JSON manifest
    (mapping, input voltages, bias rows, tile placement, faults, recall, current ranges)."""
    if mode not in ("sync", "async"):
        raise ConfigError(f"--mode must be sync or async, got {mode!r}")
    if neurons not in (None, "sign", "tanh"):
        raise ConfigError(f"--neurons must be sign or tanh, got {neurons!r}")
    memory = load_memory(model)
    try:
        stored = _patterns(model)
    except ConfigError:
        stored = None
    manifest = export_memory(memory, out_dir, patterns=stored, mode=mode, activation=neurons,
                             max_iterations=max_iterations, source=str(model))
    if json_out:
        _emit_json(manifest)
        return
    d = manifest["devices"]
    out.print(f"exported {model} to {out_dir}: {manifest['arrays']['count']} array(s) of "
              f"{manifest['arrays']['rows']}x{manifest['arrays']['cols']}, {d['used']} devices "
              f"used ({d['used_stuck']} stuck), files: "
              f"{', '.join(sorted(set(manifest['files'].values())))}, manifest.json")
    for layer in manifest["layers"]:
        for cur in layer["currents"]:
            lo, hi = cur["differential_A"]
            out.print(f"  layer {layer['index']} array {cur['array']}: I+ - I- in "
                      f"[{lo * 1e6:.1f}, {hi * 1e6:.1f}] uA, plane max "
                      f"{max(cur['plane_max_A']) * 1e6:.1f} uA")


ROUND_COLUMNS = [("round", "rnd", "{}"), ("written", "written", "{}"), ("kept", "kept", "{}"),
                 ("skipped_fixed", "skip", "{}"), ("newly_fixed", "fixed+", "{}"),
                 ("newly_fixed_at_rail", "rail", "{}"), ("free", "free", "{}"),
                 ("write_error_rms_uS", "err uS", "{:.1f}"), ("cosine", "cosine", "{:.4f}"),
                 ("exact", "exact", "{:.3f}")]
ROUND_LEGEND = ("written: devices re-programmed; kept: free devices already within tolerance "
                "of their new target; skip: fixed devices not re-written (known stuck + "
                "pinned); fixed+: newly pinned at their read value; rail: of those, reading "
                "within tolerance of g_min/g_max; free: devices still free; err uS: rms read - "
                "target of the written devices; cosine/exact: recall through the chip.")


@app.command("adapt")
def adapt_cmd(
    model: Annotated[Path, typer.Argument(help="Model file from `xbarmem train` (with its "
                                          "stored patterns).")],
    rounds: Annotated[int, typer.Option(help="Adaptation rounds after open-loop round 0.")] = 2,
    target: Annotated[float, typer.Option(help="Stop once mean cosine reaches this.")] = 0.99,
    tolerance: Annotated[float, typer.Option(
        help="uS: a device reading further than this from its target is fixed.")] = 3.0,
    write_noise: Annotated[float | None, typer.Option(
        help="uS: write-error std of the simulated chip (default: the model's chip).")] = None,
    read_noise: Annotated[float | None, typer.Option(
        help="uS: read-noise std of the simulated chip (default: the model's chip).")] = None,
    unknown_faults: Annotated[float, typer.Option(
        help="Extra fraction of devices stuck on the simulated chip that the model does not "
             "know (half at g_max, half at g_min).")] = 0.0,
    read_averages: Annotated[int, typer.Option(help="Reads averaged per read-back.")] = 1,
    level: Annotated[float, typer.Option(help="Bit-flip rate of the test cues.")] = 0.1,
    probes: Annotated[int, typer.Option(help="Test cues per stored pattern.")] = 20,
    mode: Annotated[str, typer.Option(help="Recall mode: sync or async.")] = "sync",
    seed: Annotated[int, typer.Option(help="Seed of write errors, read-backs and cues.")] = 0,
    log: Annotated[Path | None, typer.Option(help="Write one JSON line per round here.")
                   ] = None,
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Save the adapted model (pinned devices in its fault map, "
                            "read-back conductances).")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Chip-in-the-loop adaptation on the simulated chip: program, read back, fix devices that
    missed their target, re-train the free ones, re-program only those; log every round."""
    memory = load_memory(model)
    stored = _patterns(model)
    chip = memory.chip
    if write_noise is not None or read_noise is not None:
        chip = chip.replace_device(
            write_noise=chip.device.write_noise if write_noise is None else write_noise * 1e-6,
            read_noise=chip.device.read_noise if read_noise is None else read_noise * 1e-6)
    true_faults = None
    if unknown_faults > 0:
        extra = FaultMap.generate(chip.with_faults(unknown_faults), memory.faults.n_arrays,
                                  seed=seed + 1)
        known = memory.faults.g_stuck
        true_faults = FaultMap(np.where(np.isnan(known), extra.g_stuck, known),
                               {"source": "model faults + unknown", "unknown_rate":
                                unknown_faults, "seed": seed + 1})
    backends = simulated_backends(memory, chip=chip, faults=true_faults, seed=seed,
                                  read_averages=read_averages)
    protocol = Protocol(level=level, probes=probes, mode=mode, seed=seed,
                        activation="sign" if stored.kind == "binary" else "tanh")
    handle = log.open("w") if log is not None else None

    def report(entry):
        if handle is not None:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
        console.print(f"round {entry['round']}: re-programmed {entry['written']}, newly fixed "
                      f"{entry['newly_fixed']}, cosine {entry['cosine']:.4f}, exact "
                      f"{entry['exact']:.3f}")

    try:
        result = adapt(memory, backends, stored, rounds=rounds, target=target,
                       tolerance=tolerance * 1e-6, protocol=protocol, callback=report)
    finally:
        if handle is not None:
            handle.close()
    if out_path is not None:
        save_memory(result.memory, out_path, patterns=stored)
    summary = result.summary()
    summary["settings"].update({"model": str(model), "write_noise_uS": chip.device.write_noise
                                * 1e6, "read_noise_uS": chip.device.read_noise * 1e6,
                                "unknown_faults": unknown_faults, "seed": seed,
                                "read_averages": read_averages})
    if json_out:
        _emit_json(summary)
        return
    table = Table(title=f"adaptation of {model.name}: write error "
                        f"{chip.device.write_noise * 1e6:.3g} uS, tolerance {tolerance:g} uS",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for _, title, _ in ROUND_COLUMNS:
        table.add_column(title, justify="right", no_wrap=True, min_width=len(title))
    for entry in result.rounds:
        table.add_row(*(fmt.format(entry[key]) for key, _, fmt in ROUND_COLUMNS))
    out.print(table)
    out.print(ROUND_LEGEND)
    out.print(f"mean cosine {summary['open_loop_cosine']:.4f} (open loop) -> "
              f"{summary['final_cosine']:.4f} after {len(result.rounds) - 1} round(s) "
              f"({summary['gain']:+.4f}, re-training "
              f"{sum(r['train_seconds'] for r in result.rounds):.0f} s); target {target} "
              f"{'reached' if result.reached_target else 'not reached'}"
              + (f"; adapted model saved to {out_path}" if out_path else ""))


def import_measured(source: Path, out_path: Path, chip: str, tolerance: float | None,
                    chip_out: Path | None) -> None:
    """``xbarmem chip import measured.csv``: chip model + fault map from target-vs-read CSV."""
    base = load_chip(chip)
    measurement = read_measured_csv(source, base.array.rows, base.array.cols)
    spec, fmap, summary = measured_chip(measurement, base,
                                        None if tolerance is None else tolerance * 1e-6)
    fmap.save(out_path)
    summary["fault_map"] = str(out_path)
    if chip_out is not None:
        chip_out.write_text(spec.to_toml())
        summary["chip"] = str(chip_out)
    out.print(summary)

