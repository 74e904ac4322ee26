"""``xbarmem export | adapt``: from a trained model to a chip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich import box
from rich.table import Table

from xbarmem.checks import beside, counted, seconds_text
from xbarmem.cli import (
    given,
    hardware_options,
    old_options,
    option_types,
    output_options,
    paths,
    recall_options,
    run_options,
    training_options,
)
from xbarmem.cli.apps import app
from xbarmem.cli.deploy_output import print_corners, print_currents
from xbarmem.cli.messages import warn
from xbarmem.cli.progress import working
from xbarmem.cli.records import emit_json
from xbarmem.cli.tables import console, out
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.hardware.faults import FaultMap

Model = Annotated[Path, typer.Argument(
    metavar="MODEL", parser=option_types.input_path,
    help="Model file from `xbarmem train` (with its stored patterns).")]
ExportOut = Annotated[Path, output_options.out("folder to write", folder=True)]
AdaptOut = Annotated[Path | None, output_options.out(
    "adapted model file (.safetensors; pinned devices in its fault map, read-back "
    "conductances): on the simulated chip, the round of the best mean cosine, round 0 "
    "included (--json: kept_round)",
    suffixes=(".safetensors",))]


@app.command(
    "export", short_help="Export every device's conductance and a JSON manifest.",
    help="Export the conductance of every device of every array (CSV and .npy) and a JSON "
         "manifest (mapping, input voltages, bias rows, tile placement, faults, recall "
         "settings, current ranges).")
def export_cmd(
    ctx: typer.Context,
    model: Model,
    out_dir: ExportOut,
    mode: recall_options.Mode = "sync",
    activation: recall_options.Activation = None,
    max_iterations: recall_options.MaxIterations = 100,
    json_out: output_options.Json = False,
    neurons: old_options.OldActivation = None,
) -> None:
    activation = given.deprecated(ctx, "--neurons", neurons, activation, new="activation",
                              use=f"--activation {neurons}")
    from xbarmem.deploy.export import export_memory, export_names
    from xbarmem.memory.io import load_model
    from xbarmem.memory.recall import check_recall

    # (the checks export_memory makes, before the model loads; activation None: the kind's)
    check_recall(mode, "sign" if activation is None else activation, max_iterations)
    memory, stored = load_model(model)  # patterns, when saved, go into the manifest
    paths.check_members(out_dir, export_names(memory), inputs={"MODEL": model})
    _check_earlier_export(out_dir, "--out", {"MODEL": model})
    held = memory.devices()
    with working(f"exporting {counted(held['arrays'], 'array')} of {held['array_rows']}x"
                 f"{held['array_cols']} to {out_dir}"):
        manifest = export_memory(memory, out_dir, patterns=stored, mode=mode,
                                 activation=activation, max_iterations=max_iterations,
                                 source=str(model))
    _say_removed(out_dir, manifest)
    if json_out:
        emit_json(manifest)
        return
    d = manifest["devices"]
    pinned = f", {d['used_pinned']} pinned by adapt" if d.get("used_pinned") else ""
    out.print(f"exported {model} to {out_dir}: {counted(manifest['arrays']['count'], 'array')} of "
              f"{manifest['arrays']['rows']}x{manifest['arrays']['cols']}, {d['used']} devices "
              f"used ({d['used_stuck']} stuck{pinned}), files: "
              f"{', '.join(sorted(set(manifest['files'].values())))}, manifest.json")
    if d["total"] > SPREADSHEET_ROWS:
        out.print(f"devices.csv has {d['total']:,} device lines, more than a spreadsheet opens "
                  f"({SPREADSHEET_ROWS:,} rows): read it with a CSV reader (numpy, pandas), or "
                  "the same targets from targets_S.npy")
    print_corners(manifest)
    print_currents(manifest)


#: the most rows a spreadsheet opens (Excel, LibreOffice Calc: 2**20)
SPREADSHEET_ROWS = 2**20


ROUND_COLUMNS = [("round", "rnd", "{}"), ("written", "written", "{}"), ("kept", "kept", "{}"),
                 ("skipped_fixed", "skip", "{}"), ("newly_fixed", "fixed+", "{}"),
                 ("newly_fixed_at_rail", "rail", "{}"), ("free", "free", "{}"),
                 ("write_error_rms_uS", "err uS", "{:.1f}"), ("cosine", "cosine", "{:.4f}"),
                 ("exact", "exact", "{:.3f}")]
#: names a --log of JSON lines may have (a model, a pattern file or a fault map given as the
#: log was replaced by its lines)
LOG_SUFFIXES = (".jsonl", ".json", ".ndjson", ".log")

ROUND_LEGEND = ("rnd 0: the open-loop programming, later rounds re-program; written: devices "
                "programmed (rnd 0) or re-programmed; kept: free devices already within tolerance "
                "of their new target; skip: fixed devices not re-written (known stuck + "
                "pinned); fixed+: newly pinned at their read value; rail: of those, reading "
                "within tolerance of g_min/g_max; free: devices still free; err uS: rms read - "
                "target of the written devices; cosine/exact: recall through the chip.")


Log = Annotated[Path | None, output_options.output(
    "--log", help="Write one JSON line per round here (.jsonl, .json, .ndjson or .log).",
    suffixes=LOG_SUFFIXES)]


ExportDir = Annotated[Path | None, output_options.output(
    "--export", metavar="DIR", folder=True, help="--read-back: export the adapted model to this "
    "folder, with targets only for the devices to re-program (the rest: leave).")]


@app.command(
    "adapt", short_help="Chip-in-the-loop adaptation: simulated chip, or a read-back file.",
    help="Chip-in-the-loop adaptation on the simulated chip: program, read back, fix devices "
         "that missed their target, re-train the free ones, re-program only those; log every "
         "round. With --read-back, one round from a real chip's read-back: pin the devices that "
         "missed, re-train, and export (--export) only what to re-program; the adapted model "
         "(-o) continues the loop with the next read-back.")
@training_options.trainer_options("options")
@run_options.threads_option("threads")
def adapt_cmd(
    ctx: typer.Context,
    model: Model,
    options: dict,
    threads: int,
    read_back: hardware_options.ReadBack = None,
    key: hardware_options.Key = None,
    export_dir: ExportDir = None,
    rounds: hardware_options.Rounds = 2,
    target: hardware_options.Target = 0.99,
    tolerance: hardware_options.Tolerance = 3.0,
    write_noise: hardware_options.WriteNoise = None,
    read_noise: hardware_options.ReadNoise = None,
    unknown_faults: hardware_options.UnknownFaults = 0.0,
    read_averages: hardware_options.ReadAverages = 1,
    corruption: recall_options.Corruption = None,
    level: recall_options.Level = None,
    probes: recall_options.Probes = 20,
    mode: recall_options.Mode = "sync",
    seed: run_options.Seed = 0,
    log: Log = None,
    out_path: AdaptOut = None,
    json_out: output_options.Json = False,
) -> None:
    _check_adapt_options(ctx, model, read_back, log, out_path)
    given.model_request(model, probes=probes, patterns=True)  # (before torch loads)
    from xbarmem.deploy.chip_loop import default_trainer
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.memory.base import memory_kind
    from xbarmem.memory.io import load_model

    memory, stored = load_model(model, patterns_required=True)
    _check_export_dir(memory, export_dir, out_path, {"MODEL": model, "--read-back": read_back})
    _check_settings(ctx, memory, rounds, tolerance)
    read = None
    if read_back is not None:
        from xbarmem.deploy.readback import load_read_back

        read = load_read_back(read_back, memory, key)
    given.check_request(memory.n_neurons, networks=0, cues=stored.n_patterns * probes,
                        hidden=memory.hidden_sizes, loaded=True, lower={"--probes": probes})
    # the model's own trainer options, some changed by options; built (and refused, with
    # those that do not apply to the model) here, before the log file is opened
    try:
        trainer = default_trainer(memory, **(options or {}))
    except FileFormatError as exc:  # the model's own options
        raise FileFormatError(f"{model}: {exc} (replace it with --rule-option KEY=VALUE)"
                              ) from None
    chip, true_faults = _simulated_chip(memory, write_noise, read_noise, unknown_faults, seed)
    corruption, level, activation = given.cues_for(memory_kind(memory) or "binary",
                                                   corruption, level)
    protocol = Protocol(corruption=corruption, level=level, probes=probes, mode=mode, seed=seed,
                        activation=activation)
    if read is not None:
        _adapt_read_back(model, read_back, memory, stored, read, chip, protocol, trainer,
                         tolerance, seed, out_path, export_dir, json_out)
        return
    _adapt_simulated(model, memory, stored, chip, true_faults, protocol, trainer, threads,
                     rounds, target, tolerance, read_averages, unknown_faults, seed, log,
                     out_path, json_out)


def _check_settings(ctx: typer.Context, memory, rounds: int, tolerance: float) -> None:
    """The settings of ``adapt`` the model decides: its microsiemens options (``tolerance``,
    ``--write-noise``, ``--read-noise``) against its chip's window
    (:func:`~xbarmem.cli.given.check_microsiemens`) and the library's
    :func:`~xbarmem.deploy.chip_loop.check_settings`."""
    from xbarmem.deploy.chip_loop import check_settings

    given.check_microsiemens(memory.chip, ctx, "tolerance", "write_noise", "read_noise")
    check_settings(memory, rounds, tolerance * 1e-6)


def _check_adapt_options(ctx: typer.Context, model: Path, read_back: Path | None,
                         log: Path | None, out_path: Path | None) -> None:
    """Options refused before any work: those of the other mode, and outputs that are another
    output or an input."""
    given.applies_only(ctx, "without --read-back (the simulated chip)", "rounds", "target",
                   "unknown_faults", "read_averages", "log", applies=read_back is None)
    given.applies_only(ctx, "with --read-back", "key", "export_dir", applies=read_back is not None)
    paths.check_distinct({"--log": log, "--out": out_path},
                         {"MODEL": model, "--read-back": read_back})


def _check_export_dir(memory, export_dir: Path | None, out_path: Path | None,
                      inputs: dict[str, Path | None]) -> None:
    """Refuse an export folder where a file the export writes is ``--out`` or an input (e.g.
    the read-back saved as the previous export's devices.csv, in that folder) or a symbolic
    link (or a folder), before any work."""
    if export_dir is None:
        return
    from xbarmem.deploy.export import export_names
    from xbarmem.files import check_members_writable

    for name in export_names(memory):
        paths.check_distinct({"--export": export_dir / name, "--out": out_path}, inputs)
    paths.check_members(export_dir, export_names(memory), "--export")
    _check_earlier_export(export_dir, "--export", inputs)
    check_members_writable(export_dir, export_names(memory), "export", error=ConfigError)


def _check_earlier_export(folder: Path, flag: str, inputs: dict[str, Path | None]) -> None:
    """Refuse, before any work, an export folder whose earlier export lists a file that is
    one of the command's ``inputs`` (a model or read-back saved in the folder under the name of
    one of its files): the new export removes the files of the earlier one it does not hold,
    and would delete the input (the files it writes are checked as outputs already)."""
    from xbarmem.deploy.export import earlier_files
    from xbarmem.files import same_file

    for name in sorted(earlier_files(folder)):
        for what, path in inputs.items():
            if path is not None and same_file(folder / name, path):
                raise ConfigError(f"{flag} {folder}: the earlier export there lists {name}, "
                                  f"which this export removes, and it is the input {what} "
                                  f"{path}: move {path.name} out of the folder, or export to "
                                  "another one")


def _adapt_simulated(model, memory, stored, chip, true_faults, protocol, trainer, threads,
                     rounds, target, tolerance, read_averages, unknown_faults, seed, log,
                     out_path, json_out) -> None:
    """The simulated chip-in-the-loop adaptation of ``adapt`` (options already checked)."""
    from xbarmem.deploy.backend import simulated_backends
    from xbarmem.deploy.chip_loop import adapt
    from xbarmem.memory.io import save_memory

    backends = simulated_backends(memory, chip=chip, faults=true_faults, seed=seed,
                                  read_averages=read_averages)
    with _RoundLog(log, rounds, target, lines=json_out) as report:
        result = adapt(memory, backends, stored, rounds=rounds, target=target,
                       tolerance=tolerance * 1e-6, protocol=protocol, trainer=trainer,
                       callback=report)
    if out_path is not None:
        save_memory(result.memory, out_path, patterns=stored)
    summary = result.summary()
    summary["settings"].update({"model": str(model), "write_noise_uS": chip.device.write_noise
                                * 1e6, "read_noise_uS": chip.device.read_noise * 1e6,
                                "unknown_faults": unknown_faults, "seed": seed,
                                "read_averages": read_averages})
    summary.update(run_options.run_record(threads))
    _warn_if_worse(summary, out_path)
    if json_out:
        emit_json(summary)
        return
    title = (f"adaptation of {model.name}: write error {chip.device.write_noise * 1e6:.3g} uS, "
             f"tolerance {tolerance:g} uS")
    _print_rounds(title, result, summary, target, out_path, chip.device.g_range)


def _warn_if_worse(summary: dict, out_path: Path | None) -> None:
    """Warn when the last round recalls less than the open loop (``summary["gain"] < 0``).
    The adapted model is the kept round's (``summary["kept_round"]``, the best), which the
    line names: round 0's when the model as given, programmed once, did better than every
    re-trained round (a small memory re-trained around many pinned devices can lose recall);
    a re-trained round's, at least as good as the open loop, when only the rounds after it
    lost recall."""
    if not summary["gain"] < 0:
        return
    kept = summary.get("kept_round")
    model = f"the model saved to {out_path}" if out_path else "the adapted model"
    saved = "" if kept is None else (
        f"{model} is round {kept}'s, of the best mean cosine ({summary['kept_cosine']:.4f}); ")
    rule = summary["settings"]["rule"]
    why = (f"the rounds after it, re-trained by the {rule} rule around more pinned devices, "
           f"recalled less" if kept else
           f"the model as given, programmed once, recalled better than the re-trained rounds "
           f"(re-training by the {rule} rule around the pinned devices did not help)")
    warn(f"adaptation lowered the mean cosine from {summary['open_loop_cosine']:.4f} (open loop) "
         f"to {summary['final_cosine']:.4f} (last round): {saved}{why}")


def _adapt_read_back(model, source, memory, stored, read, chip, protocol, trainer, tolerance,
                     seed, out_path, export_dir, json_out) -> None:
    """One round of ``adapt --read-back`` (options and the read-back already checked)."""
    from xbarmem.deploy.chip_loop import adapt_read_back
    from xbarmem.deploy.export import export_memory
    from xbarmem.deploy.readback import read_back_backends
    from xbarmem.memory.io import save_memory

    backends = read_back_backends(memory, read, chip=chip, seed=seed)
    result = adapt_read_back(memory, backends, stored, tolerance=tolerance * 1e-6,
                             protocol=protocol, trainer=trainer)
    if out_path is not None:
        save_memory(result.memory, out_path, patterns=stored)
    if export_dir is not None:
        _say_removed(export_dir, export_memory(
            result.memory, export_dir, patterns=stored, mode=protocol.mode,
            source=str(out_path or model), program=result.targets))
    summary = result.summary()
    summary["settings"].update({"model": str(model), "read_back": str(source),
                                "estimate_write_noise_uS": chip.device.write_noise * 1e6,
                                "estimate_read_noise_uS": chip.device.read_noise * 1e6,
                                "seed": seed, "out": None if out_path is None else str(out_path),
                                "export": None if export_dir is None else str(export_dir)})
    if json_out:
        emit_json(summary)
        return
    _print_read_back(summary, tolerance, chip)


#: what a round's ``fixed_moved`` count is, as ``adapt`` says it
MOVED_TEXT = ("fixed devices (known stuck or pinned) reading more than the tolerance off the "
              "value their fault map held, now held at their reading")

#: missed devices listed by ``adapt --read-back`` (``--json`` lists every one)
MISSED_SHOWN = 10


def _uS_decimals(window: float, fewer: int) -> int:
    """Decimals of microsiemens shown for a chip of a ``window`` (siemens) wide: ``fewer``
    than its export writes (2 for conductances of a window of 1 uS and more, more on a
    nanosiemens chip, whose values read 0.00 uS at 2)."""
    from xbarmem.deploy.export import uS_decimals

    return max(0, uS_decimals(window) - fewer)


def _print_read_back(summary: dict, tolerance: float, chip) -> None:
    rd, pg, st = summary["read"], summary["program"], summary["settings"]
    b, a = summary["before"], summary["after"]
    g, err = _uS_decimals(chip.device.g_range, 4), _uS_decimals(chip.device.g_range, 5)
    out.print(f"read-back {st['read_back']} of {st['model']}, tolerance {tolerance:g} uS:")
    out.print(f"  missed their target: {counted(rd['newly_fixed'], 'device')} "
              f"({rd['newly_fixed_at_rail']}"
              f" reading at g_min or g_max: stuck?), pinned at their read value; "
              f"{counted(rd['free'], 'free device')} within tolerance; read - target rms "
              f"{rd['write_error_rms_uS']:.{err}f} uS")
    if rd.get("fixed_moved"):
        out.print(f"  {MOVED_TEXT}: {counted(rd['fixed_moved'], 'device')}")
    out.print(f"  re-trained by the {st['rule']} rule ({seconds_text(pg['train_seconds'])} s): "
              f"re-program {counted(pg['written'], 'device')}; leave {pg['kept']} free within "
              f"tolerance of their new target and "
              f"{pg['skipped_fixed']} fixed (known stuck + pinned)")
    out.print(f"  recall of the chip as read back: cosine {b['cosine']:.4f}, exact "
              f"{b['exact']:.3f}; after re-programming (estimate, write error "
              f"{chip.device.write_noise * 1e6:.3g} uS): cosine {a['cosine']:.4f}, exact "
              f"{a['exact']:.3f}")
    missed = summary["missed"]
    if missed:
        more = (f" (first {MISSED_SHOWN} of {len(missed)}; --json lists all)"
                if len(missed) > MISSED_SHOWN else "")
        out.print(f"  missed devices{more}:")
    for d in missed[:MISSED_SHOWN]:
        out.print(f"    layer {d['layer']} array {d['array']} {d['polarity']} row {d['row']} col "
                  f"{d['col']}: target {d['target_uS']:.{g}f} uS, read {d['read_uS']:.{g}f} uS"
                  + (" (at a rail)" if d["at_rail"] else ""))
    if st["out"]:
        out.print(f"adapted model saved to {st['out']} (the model of the next read-back)")
    if st["export"]:
        out.print(f"export written to {st['export']}: program "
                  f"{counted(pg['written'], 'device')}; NaN in "
                  f"targets_S.npy / empty target_uS in devices.csv = leave the device")
    if not (st["out"] and st["export"]):
        out.print("(give -o and --export to continue the loop: program the export, read back, "
                  "run adapt on the adapted model)")


def _simulated_chip(memory, write_noise: float | None, read_noise: float | None,
                    unknown_faults: float, seed: int):
    """The simulated chip (the model's, noise changed) and its true faults (the model's plus
    ``unknown_faults`` it does not know; None when there are none)."""
    chip = memory.chip
    if write_noise is not None or read_noise is not None:
        chip = chip.replace_device(
            write_noise=chip.device.write_noise if write_noise is None else write_noise * 1e-6,
            read_noise=chip.device.read_noise if read_noise is None else read_noise * 1e-6)
    if not unknown_faults > 0:
        return chip, None
    from xbarmem.seeds import offset_seed

    extra = FaultMap.generate(chip.with_faults(unknown_faults), memory.faults.n_arrays,
                              seed=offset_seed(seed, 1))
    known = memory.faults.g_stuck
    return chip, FaultMap(np.where(np.isnan(known), extra.g_stuck, known),
                          {"source": "model faults + unknown", "unknown_rate": unknown_faults,
                           "seed": offset_seed(seed, 1)})


class _RoundLog:
    """Callback of :func:`adapt`: one JSON line per round in ``path``, the whole log written
    again in one step (:func:`~xbarmem.files.write_file`) after each round: a loop that fails
    or is stopped leaves the rounds it ran, each line whole (a chip's failing round is what its
    log is read for), and an earlier log stays as it was until the first round; on stderr, a
    line per round (``lines``: under ``--json``, where no table of the rounds follows) or a
    transient bar of the ``rounds`` re-trained rounds (the open-loop programming, round 0, is
    quick beside them: counted as a round, it made the ETA grow all through round 1's
    re-training), saying which round is re-trained while it is, until one reaches
    ``target``."""

    def __init__(self, path: Path | None, rounds: int, target: float, *, lines: bool) -> None:
        self.path, self.rounds, self.target, self.lines = path, rounds, target, lines
        self.logged: list[str] = []

    def __enter__(self):
        from xbarmem.cli.progress import work_bar

        self.bar = work_bar(console, disable=self.lines, transient=True).__enter__()
        self.task = self.bar.add_task("adapting", total=max(self.rounds, 1),
                                      detail="round 0: programming, reading back")
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, entry: dict) -> None:
        from xbarmem.files import write_file
        from xbarmem.jsontext import output_text

        self.logged.append(output_text(entry) + "\n")  # (strict: a NaN as null, as --json)
        if self.path is not None:
            write_file(self.path, "".join(self.logged))
        done, rnd = entry["round"], entry["round"] + 1
        more = (f"re-training round {rnd} of {self.rounds}; "
                if rnd <= self.rounds and entry["cosine"] < self.target else "")
        self.bar.update(self.task, completed=done if self.rounds else 1,
                        detail=f"{more}round {done}: cosine {entry['cosine']:.4f}")
        if self.lines:
            console.print(round_line(entry), highlight=False)


def round_line(entry: dict) -> str:
    """One round of the loop in words: round 0 is the open-loop programming of every device
    not known stuck, a later round re-programs the devices re-training moved."""
    done = (f"programmed {entry['written']} devices (open loop)" if entry["round"] == 0 else
            f"re-programmed {entry['written']} devices")
    return (f"round {entry['round']}: {done}, newly fixed {entry['newly_fixed']}, cosine "
            f"{entry['cosine']:.4f}, exact {entry['exact']:.3f}")


def _print_rounds(title: str, result, summary: dict, target: float, out_path: Path | None,
                  window: float) -> None:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for _, name, _ in ROUND_COLUMNS:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    err = f"{{:.{_uS_decimals(window, 5)}f}}"  # (err uS: 1 decimal on a window of 1 uS+)
    for entry in result.rounds:
        table.add_row(*((err if key == "write_error_rms_uS" else fmt).format(entry[key])
                        for key, _, fmt in ROUND_COLUMNS))
    out.print(table)
    out.print(ROUND_LEGEND)
    moved = [f"round {r['round']}: {r['fixed_moved']}" for r in result.rounds
             if r.get("fixed_moved")]
    if moved:
        out.print(f"{MOVED_TEXT} ({', '.join(moved)})")
    first, last = (beside(summary[k], [target], 4) for k in ("open_loop_cosine", "final_cosine"))
    trained = (f"re-trained by the {summary['settings']['rule']} rule in "
               f"{seconds_text(sum(r['train_seconds'] for r in result.rounds))} s"
               if len(result.rounds) > 1 else "no re-training: the open loop only")
    out.print(f"mean cosine {first} (open loop) -> {last} after "
              f"{counted(len(result.rounds) - 1, 'round')} "
              f"({summary['gain']:+.4f}; {trained}); target {target} "
              f"{'reached' if result.reached_target else 'not reached'}"
              + _kept_text(summary, len(result.rounds))
              + (f"; adapted model saved to {out_path}" if out_path else ""))


def _kept_text(summary: dict, count: int) -> str:
    """What the summary line says of the round kept (``summary["kept_round"]``, the best
    mean cosine) when it is not the last of the ``count`` rounds (round 0 the open loop):
    ``; kept round 1 (mean cosine 0.9712, the best): the model is round 1's, the chip was
    last written in round 3`` (the simulated chip holds the last round's writes, not the
    model's: :mod:`xbarmem.deploy.chip_loop`); nothing when it is the last."""
    kept, last = summary.get("kept_round"), count - 1
    if kept is None or kept == last:
        return ""
    return (f"; kept round {kept} (mean cosine {summary['kept_cosine']:.4f}, the best): the "
            f"model is round {kept}'s, the chip was last written in round {last}")


def _say_removed(folder: Path, manifest: dict) -> None:
    """A warning naming the files of an earlier export in ``folder`` that the new one
    removed (it holds no such file)."""
    if manifest.get("removed"):
        warn(f"{folder}: removed {counted(len(manifest['removed']), 'file')} of the earlier export "
             f"there that this one does not hold: {', '.join(manifest['removed'])}")

