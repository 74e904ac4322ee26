"""Command-line interface: ``xbarmem demo | train | recall | evaluate | chip ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xbarmem.cli.common import _emit_json, _finite, app, chip_app, console, out  # noqa: F401
from xbarmem.data.patterns import PatternSet, load_file, load_patterns, validate_patterns
from xbarmem.errors import ConfigError, XbarmemError
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.hardware.chip import ChipSpec, load_chip, preset_names
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.classic import get_rule, rule_names
from xbarmem.learning.fit import fit_memories, uses_bias
from xbarmem.memory.io import load_memory, read_metadata, save_memory
from xbarmem.memory.single import SingleLayerMemory


def _chip(chip: str, faults: float | None, on_fraction: float, fault_model: str | None) -> ChipSpec:
    spec = load_chip(chip)
    if fault_model is not None:
        spec = spec.with_fault_model(fault_model)
    if faults is not None:
        spec = spec.with_faults(faults, on_fraction)
    return spec


# ---------------------------------------------------------------------------------- demo
@app.command()
def demo(
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PNG.")] = Path(
        "xbarmem-out"),
    faults: Annotated[float, typer.Option(help="Fraction of stuck devices/weights.")] = 0.5,
    flip: Annotated[float, typer.Option(help="Bit-flip rate of the cues.")] = 0.1,
    probes: Annotated[int, typer.Option(help="Corrupted cues per digit and chip.")] = 20,
    chips: Annotated[int, typer.Option(help="Independent chips (fault maps) per rule.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of faults, programming and cues.")] = 0,
    data: Annotated[str, typer.Option(help="mnist (bundled MNIST at 8x8), mnist-crop24 (from "
                                      "the centred 24x24 window, the authors' preprocessing) "
                                      "or digits (scikit-learn's 8x8 digits).")] = "mnist-crop24",
) -> None:
    """Store 10 MNIST digits (8x8, one per class) on 64x64 crossbars with half the devices
    stuck; compare hardware-adaptive learning with Hebb, Storkey, pseudo-inverse, perceptron."""
    from xbarmem.experiments.demo import run_demo

    rules = rule_names()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=console,
                  disable=json_out, transient=True) as bar:
        task = bar.add_task("training and recalling", total=2 * len(rules))
        results = run_demo(faults=faults, flip=flip, probes=probes, chips=chips, seed=seed,
                           out_dir=out_dir, rules=rules, data=data,
                           progress=lambda model, name: bar.update(
                               task, advance=1, description=f"{model} model: {name} done"))
    if json_out:
        _emit_json(results)
        return
    s = results["settings"]
    source = {"mnist": "MNIST", "mnist-crop24": "MNIST (centre 24x24 crop)"}.get(
        s["data"], "scikit-learn")
    out.print(f"Recall of {s['n_patterns']} 8x8 {source} digits (one per class), N="
              f"{s['n_neurons']}, {faults:.0%} stuck, {flip:.0%} bit flips, {chips} chips x "
              f"{probes} cues per digit")
    for model, res in results["fault_models"].items():
        table = Table(title=f"{model} fault model ({res['chip']['name']} preset + faults)")
        for col in ("rule", "cosine", "± chips", "exact", "tanh neurons"):
            table.add_column(col, justify="left" if col == "rule" else "right")
        for name in rules:
            r = res["rules"][name]
            table.add_row(name, f"{r['cosine']:.3f}", f"{r['cosine_std']:.3f}",
                          f"{r['exact']:.2f}", f"{r['variants']['tanh']['cosine']:.3f}")
        out.print(table)
    out.print("cosine: mean similarity to the stored digit (± std over chips), sign neurons as in "
              "the paper; exact: fraction recalled bit-perfectly; tanh neurons: same chips and "
              "cues recalled with analogue tanh neurons, sign read-out.")
    dev = results["fault_models"][next(iter(results["fault_models"]))]["rules"]
    out.print(f"devices (adaptive, with bias row): {dev['adaptive']['devices']}")
    out.print(f"figure: {results['figure']}   ({results['seconds']:.1f} s)")


# ---------------------------------------------------------------------------------- train
PatternsOpt = Annotated[str, typer.Option(
    "--patterns", "-p", help="mnist, mnist-crop24, digits, random, or a file "
    "(.npy/.npz/.csv/IDX).")]


def _load(patterns: str, kind: str, side: int, n: int | None, one_per_class: bool,
          zero_one: bool, seed: int) -> PatternSet:
    return load_patterns(patterns, kind=kind, side=side, n=n, seed=seed, zero_one=zero_one,
                         one_per_class=one_per_class)


@app.command()
def train(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Model file (.safetensors).")],
    patterns: PatternsOpt = "mnist",
    kind: Annotated[str, typer.Option(help="binary or continuous.")] = "binary",
    side: Annotated[int, typer.Option(help="Image side for built-in data (N = side^2).")] = 8,
    n: Annotated[int | None, typer.Option("--n", help="Number of patterns to store.")] = None,
    one_per_class: Annotated[bool, typer.Option(help="One digit of each class 0-9.")] = False,
    zero_one: Annotated[bool, typer.Option(help="Accept {0,1} files (0 -> -1).")] = False,
    chip: Annotated[str, typer.Option(help=f"Preset ({', '.join(preset_names())}) or TOML.")
                    ] = "paper-sim",
    faults: Annotated[float | None, typer.Option(help="Override total stuck fraction.")] = None,
    on_fraction: Annotated[float, typer.Option(help="Share of stuck-ON among faults.")] = 0.5,
    fault_model: Annotated[str | None, typer.Option(help="device or weight.")] = None,
    fault_map: Annotated[Path | None, typer.Option(help="Fault map file (.npz/.csv).")] = None,
    rule: Annotated[str, typer.Option(help=f"One of: {', '.join(rule_names())}.")] = "adaptive",
    objective: Annotated[str, typer.Option(help="adaptive: basin or fixed-point.")] = "basin",
    noise_injection: Annotated[bool, typer.Option(help="adaptive: inject chip noise.")] = False,
    max_steps: Annotated[int, typer.Option(help="adaptive: step cap.")] = 3000,
    finetune_steps: Annotated[int, typer.Option(
        help="adaptive (basin, binary): straight-through sign fine-tune steps; 0 = off.")] = 1000,
    bias: Annotated[bool, typer.Option(help="adaptive: learn a bias (needs a bias row).")
                    ] = True,
    arch: Annotated[str, typer.Option(help="single or multilayer (N -> H ... -> N).")
                    ] = "single",
    hidden: Annotated[str, typer.Option(
        help="multilayer: hidden width(s), e.g. 32 or 64-32.")] = "32",
    seed: Annotated[int, typer.Option(help="Seed of faults, training and programming.")] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train a single-layer or multilayer memory on a chip and save it (safetensors + JSON
    metadata). Multilayer memories use the hardware-adaptive rule, each layer on its own arrays
    of the chip."""
    from xbarmem.cli.capacity import _hidden
    from xbarmem.learning.multilayer import MultilayerTrainer, fit_multilayer
    from xbarmem.memory.multilayer import MultilayerMemory

    if arch not in ("single", "multilayer"):
        raise ConfigError(f"--arch must be single or multilayer, got {arch!r}")
    pset = _load(patterns, kind, side, n, one_per_class, zero_one, seed)
    spec = _chip(chip, faults, on_fraction, fault_model)
    options: dict[str, Any] = {}
    if rule == "adaptive":
        options = {"objective": objective, "noise_injection": noise_injection,
                   "max_steps": max_steps, "finetune_steps": finetune_steps, "bias": bias,
                   "seed": seed}
    fmap = FaultMap.load(fault_map) if fault_map else None
    x = torch.as_tensor(pset.patterns)
    if arch == "multilayer":
        if rule != "adaptive":
            raise ConfigError(f"multilayer memories are trained by the hardware-adaptive rule "
                              f"only, not {rule!r}")
        trainer = MultilayerTrainer(**options)
        memory = MultilayerMemory(pset.n_neurons, _hidden(hidden), spec, fmap, bias=bias,
                                  fault_seed=seed)
        with console.status(f"training {memory.arch} on {pset.n_patterns} patterns",
                            spinner="dots"):
            info = fit_multilayer(trainer, x, [memory], kind=kind, program_seed=seed)[0]
    else:
        rule_obj = get_rule(rule, **options)
        memory = SingleLayerMemory(pset.n_neurons, spec, fmap, bias=uses_bias(rule_obj),
                                   fault_seed=seed)
        with console.status(f"training {rule} on {pset.n_patterns} patterns "
                            f"(N={pset.n_neurons})", spinner="dots"):
            info = fit_memories(rule_obj, x, [memory], kind=kind, program_seed=seed)[0]
    save_memory(memory, out_path, patterns=pset)
    summary = {"model": str(out_path), "patterns": pset.name, "n_patterns": pset.n_patterns,
               "n_neurons": pset.n_neurons, "chip": spec.name, **info,
               "devices": memory.devices(), "faults": memory.faults.summary(spec.device)}
    if json_out:
        _emit_json(summary)
    else:
        shape = f" ({memory.arch})" if arch == "multilayer" else ""
        out.print(f"saved {out_path}: {rule} rule, {pset.n_patterns} patterns, "
                  f"N={pset.n_neurons}{shape}"
                  f", {info['steps']} steps, converged={info['converged']}, "
                  f"{info['train_seconds']:.2f} s, arrays={memory.devices()['arrays']}")


# ---------------------------------------------------------------------------------- evaluate
@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model file from `xbarmem train`.")],
    corruption: Annotated[str | None, typer.Option(
        help="flip, gaussian, occlude, salt-pepper (default: flip for binary patterns, "
             "gaussian for continuous).")] = None,
    level: Annotated[float | None, typer.Option(
        help="Rate, sigma or occluded fraction (default: 0.1 flips; sigma 0.6, clipped to "
             "[-1, 1], for continuous).")] = None,
    probes: Annotated[int, typer.Option(help="Corrupted cues per stored pattern.")] = 20,
    mode: Annotated[str, typer.Option(help="sync or async.")] = "sync",
    neurons: Annotated[str | None, typer.Option(
        help="sign or tanh (default: sign for binary patterns, tanh for continuous; tanh on "
             "binary patterns = analogue neurons with a sign read-out).")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recall the model's stored patterns from corrupted cues; print similarity metrics."""
    memory, stored = _model_and_patterns(model)
    activation = neurons or ("sign" if stored.kind == "binary" else "tanh")
    binary = stored.kind == "binary"
    corruption = corruption or ("flip" if binary else "gaussian")
    level = level if level is not None else (0.1 if binary else 0.6)
    score = evaluate_memory(memory, stored, Protocol(corruption=corruption, level=level,
                                                     probes=probes, mode=mode,
                                                     activation=activation, seed=seed))
    result = {"model": str(model), "protocol": {"corruption": corruption, "level": level,
              "probes": probes, "mode": mode, "neurons": activation, "seed": seed},
              **score.as_dict()}
    if json_out:
        _emit_json(result)
    else:
        out.print(f"cosine {score.cosine:.4f}  exact {score.exact:.3f}  hamming "
                  f"{score.hamming:.2f}  converged {score.converged:.2f}  "
                  f"iterations {score.mean_iterations:.1f}")


def _model_and_patterns(model: Path) -> tuple[SingleLayerMemory, PatternSet]:
    memory = load_memory(model)
    stored = load_memory_patterns(model)
    return memory, stored


def load_memory_patterns(model: Path) -> PatternSet:
    """The pattern set saved with a model."""
    from safetensors.numpy import load_file as load_tensors

    meta = read_metadata(model)
    tensors = load_tensors(str(model))
    if "patterns" not in tensors:
        raise ConfigError(f"{model}: no stored patterns saved in this model")
    p = meta.get("extra", {}).get("patterns", {})
    shape = tuple(p["image_shape"]) if p.get("image_shape") else None
    return PatternSet(tensors["patterns"], kind=p.get("kind", "binary"),
                      name=p.get("name", "patterns"), image_shape=shape)


# ---------------------------------------------------------------------------------- recall
@app.command()
def recall(
    model: Annotated[Path, typer.Argument(help="Model file from `xbarmem train`.")],
    cues: Annotated[Path, typer.Argument(help="Cues file (.npy/.npz/.csv/IDX), (B, N).")],
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Save states (.npy).")
                        ] = None,
    mode: Annotated[str, typer.Option(help="sync or async.")] = "sync",
    max_iterations: Annotated[int, typer.Option(help="Cap on steps/sweeps.")] = 100,
    zero_one: Annotated[bool, typer.Option(help="Accept {0,1} cues.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of read noise / async order.")] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run recall from the cues in a file through the model's programmed crossbar(s)."""
    memory = load_memory(model)
    kind = memory.info.get("kind", "binary")
    x = load_file(cues, kind=kind, zero_one=zero_one).patterns
    x = validate_patterns(x, kind=kind, n_neurons=memory.n_neurons)
    res = memory.recall(torch.as_tensor(x), mode=mode,
                        activation="sign" if kind == "binary" else "tanh",
                        max_iterations=max_iterations, seed=seed)
    if out_path is not None:
        if out_path.suffix != ".npy":  # np.save would silently append .npy
            out_path = out_path.with_name(out_path.name + ".npy")
        np.save(out_path, res.states.numpy())
    result = {**res.summary(), "states_file": str(out_path) if out_path else None,
              "iterations": res.iterations.tolist(), "converged_flags": res.converged.tolist()}
    if json_out:
        result["states"] = res.states.tolist()
        _emit_json(result)
    else:
        out.print(f"{result['cues']} cues: converged {result['converged']:.2f}, 2-cycles "
                  f"{result['cycled']:.2f}, mean iterations {result['mean_iterations']:.1f}"
                  + (f", states saved to {out_path}" if out_path else ""))


# ---------------------------------------------------------------------------------- chip
@chip_app.command("show")
def chip_show(
    chip: Annotated[str, typer.Argument(help="Preset name or TOML file.")] = "rram",
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a chip description (resolved, validated)."""
    spec = load_chip(chip)
    if json_out:
        _emit_json(spec.to_dict())
    else:
        typer.echo(spec.to_toml())


@chip_app.command("presets")
def chip_presets() -> None:
    """List the shipped chip presets."""
    for name in preset_names():
        spec = load_chip(name)
        out.print(f"[bold]{name}[/bold]: {spec.description}")


@chip_app.command("faults")
def chip_faults(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Map file (.npz or .csv).")],
    chip: Annotated[str, typer.Option(help="Preset or TOML.")] = "rram",
    arrays: Annotated[int, typer.Option(help="Number of arrays.")] = 1,
    faults: Annotated[float | None, typer.Option(help="Override total stuck fraction.")] = None,
    on_fraction: Annotated[float, typer.Option(help="Share of stuck-ON among faults.")] = 0.5,
    fault_model: Annotated[str | None, typer.Option(help="device or weight.")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate a seeded fault map from the chip's rates and save it."""
    spec = _chip(chip, faults, on_fraction, fault_model)
    fmap = FaultMap.generate(spec, arrays, seed=seed)
    fmap.save(out_path)
    summary = {"file": str(out_path), **fmap.summary(spec.device)}
    _emit_json(summary) if json_out else out.print(summary)


@chip_app.command("inspect")
def chip_inspect(
    fault_map: Annotated[Path, typer.Argument(help="Fault map (.npz or .csv).")],
    chip: Annotated[str, typer.Option(help="Preset or TOML (for the ON/OFF split).")] = "rram",
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Summarise a fault map: stuck devices, ON/OFF, pairs affected."""
    spec = load_chip(chip)
    fmap = FaultMap.load(fault_map)
    summary = {"file": str(fault_map), **fmap.summary(spec.device), "meta": fmap.meta}
    _emit_json(summary) if json_out else out.print(summary)


@chip_app.command("import")
def chip_import(
    source: Annotated[Path, typer.Argument(help=".npy/.npz array (n_arrays, 2, rows, cols) or "
                                           "(2, rows, cols), or a .csv of target-vs-read "
                                           "conductances (see xbarmem.hardware.measured).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Fault map (.npz or .csv).")],
    as_: Annotated[str, typer.Option("--as", help="codes (0 free, +1 ON, -1 OFF) or "
                                     "conductance (read-back map in siemens).")] = "codes",
    chip: Annotated[str, typer.Option(help="Preset or TOML (window).")] = "rram",
    off_below: Annotated[float | None, typer.Option(help="conductance: stuck OFF below (S).")
                         ] = None,
    on_above: Annotated[float | None, typer.Option(help="conductance: stuck ON above (S).")
                        ] = None,
    key: Annotated[str | None, typer.Option(help="Array name inside an .npz.")] = None,
    tolerance: Annotated[float | None, typer.Option(help=".csv: stuck if |read - target| > "
                                                    "this (uS); default robust.")] = None,
    chip_out: Annotated[Path | None, typer.Option(help=".csv: write the measured chip TOML.")
                        ] = None,
) -> None:
    """Build a fault map from measured data (a stuck-code map or a read-back conductance map),
    or, from a target-vs-read .csv, a fault map plus a measured chip model."""
    if source.suffix.lower() == ".csv":
        from xbarmem.cli.deploy import import_measured

        return import_measured(source, out_path, chip, tolerance, chip_out)
    spec = load_chip(chip)
    data = _load_array(source, key)
    if as_ == "codes":
        fmap = FaultMap.from_codes(data, spec.device)
    elif as_ == "conductance":
        fmap = FaultMap.from_conductance_map(data, spec.device, off_below, on_above)
    else:
        raise ConfigError(f"--as must be 'codes' or 'conductance', got {as_!r}")
    fmap.meta["file"] = str(source)
    fmap.save(out_path)
    out.print({"file": str(out_path), **fmap.summary(spec.device)})


def _load_array(path: Path, key: str | None) -> np.ndarray:
    from xbarmem.errors import FileFormatError

    if not path.exists():
        raise FileFormatError(f"no such file: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: unreadable array file ({exc})") from exc
    if isinstance(data, np.lib.npyio.NpzFile):
        names = list(data)
        if key is None and len(names) != 1:
            raise FileFormatError(f"{path}: several arrays {names}; choose one with --key")
        return data[key or names[0]]
    return data


# command modules register on ``app`` when imported


def main() -> None:
    """Console entry point: runs the app and turns library errors into one-line messages."""
    try:
        code = app(standalone_mode=False)  # typer.Exit(n) / Ctrl-C come back as a return value
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except XbarmemError as exc:
        # escape: messages like "[device] must be a table" are not Rich markup; soft_wrap: keep
        # the message on one line whatever the terminal width
        message = " ".join(str(exc).splitlines())
        console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        console.print("aborted")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # usage errors (click's, or the click vendored by newer typer)
        import click

        usage = isinstance(exc, click.ClickException) or (
            type(exc).__module__.startswith("typer") and hasattr(exc, "show"))
        if usage:
            exc.show()
            raise SystemExit(getattr(exc, "exit_code", 2)) from None
        raise

