"""``xbarmem energy``: energy and latency per recall, synchronous vs asynchronous."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from xbarmem.checks import DEFAULT_HIDDEN
from xbarmem.cli import (
    data_options,
    given,
    hardware_options,
    old_options,
    option_types,
    output_options,
    parsers,
    paths,
    recall_options,
    run_options,
    training_options,
)
from xbarmem.cli.apps import app, circuit_app
from xbarmem.cli.messages import warn_deprecated
from xbarmem.cli.progress import work_bar
from xbarmem.cli.records import emit_json, print_presets, show_spec
from xbarmem.cli.tables import console, out
from xbarmem.data.patterns import check_kind
from xbarmem.data.sources import pattern_set_words
from xbarmem.energy.circuit import (
    DEFAULT_CIRCUIT,
    FITTED_CIRCUIT,
    UNITS,
    CircuitSpec,
    circuit_names,
    circuit_toml,
    is_circuit_preset,
    load_circuit,
)
from xbarmem.energy.model import COMPONENTS
from xbarmem.errors import ConfigError
from xbarmem.files import make_folder, write_file
from xbarmem.hardware.chip import ChipSpec, chip_words
from xbarmem.learning.budget import step_budget
from xbarmem.limits import prefixed
from xbarmem.names import (
    DEFAULT_TOL,
    RULE_NAMES,
    corruption_key,
    corruption_words,
    variation_words,
)


def _fmt(value: float, spec: str, suffix: str = "") -> str:
    """``value`` formatted by ``spec`` with ``suffix``; a ratio of zero costs reads
    ``undefined (0 / 0)`` or ``infinite (x / 0)`` instead of ``nan`` / ``inf``."""
    if math.isnan(value):
        return "undefined (0 / 0)"
    if math.isinf(value):
        return "infinite (x / 0)"
    return f"{value:{spec}}{suffix}"


def _ratio(value: float) -> str:
    """An async/sync ratio with four significant digits in fixed notation, at most three
    decimals (``8.620x``, ``297.3x``, ``1203x``: energy and latency alike; they read
    ``297.313x`` beside ``703.5x``), as :func:`_fmt` where it is no number."""
    if not math.isfinite(value) or value == 0:
        return _fmt(value, ".3f", "x")
    decimals = min(3, max(0, 3 - math.floor(math.log10(abs(value)))))
    return f"{value:.{decimals}f}x"


def _percent(value: float) -> str:
    """A share (energy or latency saved) as every table and line of ``energy`` prints it:
    two decimals of a percent (``undefined`` / ``infinite`` as :func:`_fmt`)."""
    return _fmt(value, ".2%")


def _saving(energy: float, latency: float) -> str:
    """What synchronous recall saves, ``energy`` and ``latency`` the shares saved: "saves
    67.41% energy and 98.18% latency"; a negative share is a cost ("costs 11.22% more
    energy and saves 96.51% latency": an asynchronous recall can be the cheaper one)."""
    if not (energy < 0 or latency < 0):
        return f"saves {_percent(energy)} energy and {_percent(latency)} latency"
    return " and ".join(f"costs {_percent(-value)} more {what}" if value < 0
                        else f"saves {_percent(value)} {what}"
                        for value, what in ((energy, "energy"), (latency, "latency")))


#: the SI prefixes energies and times are printed with (``limits.prefixed``)
_SI = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, "")]


def _si(value: float, unit: str) -> str:
    """``value`` with four significant figures and its SI prefix (``"1.024 ms"``, ``"1 us"``)."""
    if value == 0:
        return f"0 {unit}"
    return prefixed(value, unit, _SI, 4)


Circuit = Annotated[str, typer.Option(
    "--circuit", metavar="NAME|FILE", parser=option_types.name_or_file,
    autocompletion=option_types.completes(circuit_names),
    help=f"Circuit preset ({', '.join(circuit_names())}) or "
    f"TOML file (.json: JSON, as circuit show --json prints). {DEFAULT_CIRCUIT}: "
    f"literature-typical constants; {FITTED_CIRCUIT}: two constants fitted to the paper's "
    f"ratios (printed beside any other circuit). Every constant, in J, s or counts (e.g. "
    f"drivers.binary_energy, J per driven row per read), is a key of the file: circuit show "
    f"NAME prints a preset to edit, each value with its unit and source.")]
EnergyPatterns = Annotated[str | None, data_options.patterns(
    "one per class; random: 10; a file without labels: its first 10")]
EnergyRule = Annotated[str | None, option_types.choice(
    "--rule", metavar="NAME", choices=lambda: RULE_NAMES, blank=False,
    help=f"Learning rule: {', '.join(RULE_NAMES)} (default: adaptive; with --sizes: pinv).")]
EnergySizes = Annotated[str | None, typer.Option(
    "--sizes", metavar="N,N...", help="Ratios at each N instead (random +-1 patterns, P = "
    "load x N); writes a PNG and a JSON table to --out. Not with --neurons, --patterns, "
    "--data, --zero-one, --key, --kind, --arch, --hidden, --activation, --max-iterations, --tol or "
    "--calibrate.")]
Calibrate = Annotated[bool, typer.Option(
    "--calibrate", help="Solve the circuit's drivers.binary_energy and "
    "control.select_latency for the target ratios; write the TOML to --out.")]
#: what the breakdown's "-" and its select row mean
BREAKDOWN_LEGEND = ("select: choosing the neuron an asynchronous step updates (a synchronous "
                    "step updates them all); -: no such cost in that mode or circuit")
#: the file of a calibrated circuit that ``--calibrate`` writes into ``--out``
CALIBRATED = "circuit-calibrated.toml"
#: the figure and table ``--sizes`` writes into ``--out``
SIZES_FILES = ("energy-vs-n.png", "energy-vs-n.json")
EnergyOut = Annotated[Path, output_options.out(
    "folder for PNG, JSON and TOML files (with --sizes or --calibrate)", folder=True, lazy=True)]
EnergyModel = Annotated[Path | None, typer.Option(
    "--model", metavar="FILE", parser=option_types.input_path,
    help="Measure this model (xbarmem train / adapt -o, with its stored patterns) on its own "
         "chip and fault map instead of training one: not with --sizes or the options that "
         "train (--neurons, --arch, --hidden, --data, --zero-one, --key, --kind, --patterns, "
         "--rule, trainer options, --chip, --faults, --on-fraction, --fault-model).")]
#: the options ``--model`` replaces (the memory they would build is the model's)
MODEL_FIXES = ("neurons", "arch", "hidden", "data", "zero_one", "key", "kind", "patterns", "rule",
               "recipe", "rule_options", "rule_option", "chip", "faults", "on_fraction",
               "fault_model", "sizes", "load", "n", "count", "max_steps")
EnergyHidden = Annotated[str | None, typer.Option(
    "--hidden", metavar="WIDTHS",
    help=training_options.HIDDEN_HELP + f" (default {DEFAULT_HIDDEN}).")]


@app.command(
    "energy", short_help="Energy and latency per recall, sync vs async.",
    help="Energy and latency per recall on the crossbar, synchronous (one crossbar product per "
         "step) vs asynchronous (one neuron per step), from the measured steps of real "
         "recalls of the same corrupted cues.")
@hardware_options.chip_options("chip_spec")
@training_options.trainer_options("options")
@run_options.threads_option("threads")
def energy(
    ctx: typer.Context,
    chip_spec: ChipSpec,
    options: dict,
    threads: int,
    model: EnergyModel = None,
    neurons: data_options.Neurons = "64",
    arch: training_options.Arch = "single",
    hidden: EnergyHidden = None,
    circuit: Circuit = DEFAULT_CIRCUIT,
    data: data_options.Data = "mnist",
    zero_one: data_options.ZeroOne = False,
    key: data_options.DataKey = None,
    kind: data_options.Kind = "binary",
    patterns: EnergyPatterns = None,
    rule: EnergyRule = None,
    corruption: recall_options.Corruption = None,
    level: recall_options.Level = None,
    probes: recall_options.Probes = 20,
    activation: recall_options.Activation = None,
    max_iterations: recall_options.MaxIterations = 100,
    tol: recall_options.Tol = DEFAULT_TOL,
    seed: run_options.Seed = 0,
    sizes: EnergySizes = None,
    load: data_options.Load = 0.1,
    out_dir: EnergyOut = Path("xbarmem-out"),
    do_calibrate: Calibrate = False,
    target_energy: recall_options.TargetEnergy = None,
    target_latency: recall_options.TargetLatency = None,
    json_out: output_options.Json = False,
    n: old_options.OldNeuronsN = None,
    count: old_options.OldEnergyCount = None,
    flip: old_options.OldFlip = None,
    max_steps: old_options.OldMaxSteps = None,
) -> None:
    _check_mode(ctx, model is not None, sizes is not None, do_calibrate, arch)
    corruption, level = _cue_options(ctx, corruption, level, flip, None if model else kind)
    options = given.legacy_rule_options(ctx, options, max_steps=max_steps)
    spec = _check_out(ctx, out_dir, circuit, sizes is not None, do_calibrate)
    if model is not None:
        m = _measure_model(ctx, model, corruption, level, probes, seed, activation,
                           (max_iterations, tol), json_out, do_calibrate)
        return _report(m, spec, threads, do_calibrate, target_energy, target_latency,
                       out_dir, json_out)
    if sizes is not None:
        return _sizes(parsers.neuron_sizes(sizes), spec, chip_spec, rule or "pinv", load,
                      (corruption, level), probes, seed, options, out_dir, json_out, threads)
    n_neurons, activation, data, number = _neurons(ctx, neurons, n, activation, (
        data, patterns, count, kind, key), (do_calibrate, rule or "adaptive", options))
    widths = _hidden(hidden, n_neurons, arch, rule or "adaptive", options, kind)
    _check_size(n_neurons, number, probes, widths, chip_spec, data)
    from xbarmem.energy.measure import measure  # (torch: only once checked)
    with _training_bar(rule or "adaptive", options, arch, json_out, kind) as (show, stage):
        m = measure(n_neurons, arch=arch, hidden=widths, data=data, zero_one=zero_one, key=key,
                    kind=kind, n_patterns=number, chip=chip_spec, rule=rule or "adaptive",
                    corruption=corruption, level=level, probes=probes, seed=seed, tol=tol,
                    activation=activation, max_iterations=max_iterations, progress=show,
                    stage=stage, rule_options=options)
    _report(m, spec, threads, do_calibrate, target_energy, target_latency, out_dir, json_out)


def _check_size(n_neurons: int, number: int | None, probes: int, widths: list[int] | None,
                chip: ChipSpec, data: str) -> None:
    """Refuse a measurement of ``number`` patterns (None: the source's; 10 are sized) of
    ``n_neurons`` (``widths``: hidden layers) recalled from ``probes`` cues each on ``chip``
    too large for the memory limit, or an N the image set ``data`` cannot be resized to,
    naming the options to lower (:func:`given.check_request`)."""
    given.check_request(n_neurons, cues=(number or 10) * probes, hidden=widths, chip=chip,
                        data=data, lower={"--probes": probes, "--patterns": number,
                                          "--neurons": n_neurons, "--hidden": widths})


def _report(m, spec, threads: int, do_calibrate: bool, target_energy: float | None,
            target_latency: float | None, out_dir: Path, json_out: bool) -> None:
    """The report of one measurement ``m`` under the circuit ``spec`` (and the fitted circuit
    beside it), calibrated when asked; JSON or tables."""
    from xbarmem.energy.measure import energy_report

    report = {"settings": {k: v for k, v in m.info.items() if k != "quality"},
              "quality": m.info["quality"], **energy_report(m, spec),
              **run_options.run_record(threads)}
    if spec.name != FITTED_CIRCUIT:
        report["fitted_to_paper"] = {"circuit": FITTED_CIRCUIT,
                                     **energy_report(m, FITTED_CIRCUIT)["ratios"]}
    if do_calibrate:
        report["calibration"] = _calibrate(m, spec, target_energy, target_latency, out_dir)
    emit_json(report) if json_out else _print_report(report)


def _cue_options(ctx: typer.Context, corruption: str | None, level: float | None,
                 flip: float | None, kind: str | None) -> tuple[Any, Any]:
    """``--corruption`` and ``--level`` as given, or the deprecated ``--flip X`` (bit flips
    at X; beside another corruption refused); for the ``kind`` of the patterns energy draws
    itself (checked), resolved for them (:func:`given.cues_for`); for ``--model`` (``kind``
    None) as given, resolved for the model's kind later."""
    if flip is not None and corruption is not None and corruption_key(corruption) != "flip":
        raise ConfigError(f"--flip is the level of bit flips; with --corruption {corruption} "
                          f"give --level")
    corruption, level = ("flip" if flip is not None else corruption,
                         given.deprecated(ctx, "--flip", flip, level, new="level",
                                          use=f"--corruption flip --level {flip}"))
    if kind is None:
        return corruption, level
    return given.cues_for(check_kind(kind), corruption, level)[:2]


def _measure_model(ctx: typer.Context, model: Path, corruption: str | None,
                   level: float | None, probes: int, seed: int, activation: str | None,
                   stop: tuple[int, float], quiet: bool, calibrate: bool):
    """``--model``: the saved model's recall measured on its own chip and fault map, from the
    cues ``evaluate`` draws for its kind (a model without stored patterns, cues that do not
    fit its kind, or a calibration it cannot give, refused before torch is loaded);
    ``stop``: ``(max_iterations, tol)``."""
    meta = given.model_request(model, probes=probes, patterns=True)
    corruption, level, by_kind = given.cues_for(meta.kind or "binary", corruption, level)
    given.tanh_only(ctx, activation or by_kind)
    _check_drivers(calibrate, activation or by_kind, meta.bias, "this model has",
                   meta.kind or "binary")
    from xbarmem.energy.measure import measure_model
    from xbarmem.memory.io import load_model

    memory, stored = load_model(model, patterns_required=True)
    with work_bar(console, disable=quiet, transient=True) as bar:
        bar.add_task(f"recalling {stored.n_patterns * probes} cues, synchronously and "
                     f"asynchronously", total=None, detail="")
        m = measure_model(memory, stored, corruption=corruption, level=level, probes=probes,
                          seed=seed, activation=activation or by_kind,
                          max_iterations=stop[0], tol=stop[1])
    m.info["model"] = str(model)
    return m


def _check_drivers(calibrate: bool, activation: str, bias: bool, has: str,
                   kind: str = "binary") -> None:
    """``--calibrate`` solves the energy of the 1-bit row drivers: refused (before any work)
    for a measurement that would have none, DAC-driven rows -- tanh neurons, or the cues of
    continuous patterns (values other than +-1, whatever the neurons) -- and no bias row
    (``has``: what lacks it, ``"this model has"``; ``kind``: the patterns')."""
    if calibrate and (activation == "tanh" or kind == "continuous") and not bias:
        why, fix = (("tanh neurons", "--activation sign") if kind == "binary" else
                    ("continuous cues (values other than +-1)", "binary patterns with sign "
                     "neurons"))
        raise ConfigError(f"--calibrate solves drivers.binary_energy, the energy of the 1-bit "
                          f"row drivers, and this measurement would use none: {why} "
                          f"drive every row through a DAC and {has} no bias row; give "
                          f"{fix} or a memory with a bias row (the adaptive rule's default)")


def _check_mode(ctx: typer.Context, model: bool, sizes: bool, calibrate: bool,
                arch: str) -> None:
    """Refuse options that the chosen measurement does not read: ``--model`` measures a
    saved memory (:data:`MODEL_FIXES`), ``--sizes`` random patterns at each N (P = load x
    N); one measurement may be calibrated."""
    given.applies_only(ctx, "without --model", *MODEL_FIXES, applies=not model)
    given.applies_only(ctx, "with --sizes", "load", applies=sizes)
    given.applies_only(ctx, "without --sizes", "do_calibrate", "neurons", "arch", "hidden", "data",
                   "zero_one", "key", "kind", "patterns", "activation", "max_iterations", "tol",
                   "n", "count", applies=not sizes)
    given.applies_only(ctx, "to --arch multilayer", "hidden", applies=arch == "multilayer")
    given.applies_only(ctx, "with --calibrate", "target_energy", "target_latency",
                   applies=calibrate)
    given.applies_only(ctx, "with --sizes or --calibrate", "out_dir", applies=sizes or calibrate)


def _check_out(ctx: typer.Context, out_dir: Path, circuit: str, sizes: bool,
               calibrate: bool) -> CircuitSpec:
    """The ``--circuit`` (loaded: returned), the folder ``--sizes`` and ``--calibrate`` write
    into, and the files they write in it, which must not be the input circuit or another of
    the command's input files (``--model``, ``--data``, ``--chip``)."""
    inputs = {**paths.input_files(ctx), "--model": ctx.params.get("model")}
    spec = load_circuit(circuit)
    if sizes or calibrate:
        paths.check_output(out_dir, folder=True)
        paths.check_members(out_dir, [*(SIZES_FILES if sizes else ()),
                                      *([CALIBRATED] if calibrate else [])], inputs=inputs)
    if calibrate and not is_circuit_preset(circuit):
        paths.check_distinct({"--calibrate's output": out_dir / CALIBRATED},
                         {"--circuit": Path(circuit)})
    return spec


@contextlib.contextmanager
def _training_bar(rule: str, rule_options: dict[str, Any], arch: str, quiet: bool,
                  kind: str = "binary"):
    """A bar of the training steps (the step budget of ``rule`` with ``rule_options`` on
    patterns of ``kind``), then the recall stage; yields ``(progress(step, loss),
    stage(text))``."""
    from xbarmem.energy.measure import trainer_options
    from xbarmem.learning.classic import rule_from_options

    options = rule_from_options(rule, trainer_options(rule, None, rule_options)).options(
        2 if arch == "multilayer" else 1, kind) if rule == "adaptive" else {}
    total = step_budget(options, kind) if options else 1
    with work_bar(console, disable=quiet, transient=True) as bar:
        task = bar.add_task(f"training {rule} ({arch})", total=total, detail="", bound=True)

        def show(step: int, loss: float) -> None:
            bar.update(task, completed=step, detail=f"step {step} (of at most {total}), "
                                                    f"loss {loss:.4g}")

        def stage(text: str) -> None:
            bar.update(task, completed=total, description=text, detail="")

        yield show, stage


def _neurons(ctx: typer.Context, neurons: str, n: int | None, activation: str | None,
             patterns: tuple[str, str | None, int | None, str, str | None],
             trained: tuple[bool, str, dict[str, Any]]) -> tuple[int, str, str, int | None]:
    """``--neurons N`` (old: ``--n N``; neither: a ``--data`` file's own N,
    :func:`given.data_neurons`) and ``--activation`` (old: ``--neurons sign|tanh``; None:
    the kind's), with the options of ``--data`` (``patterns``: data, ``--patterns`` and the
    old ``--count`` (:func:`given.data_and_count`), kind, ``--key``; ``--zero-one``),
    ``--tol`` (tanh recall only) and ``--calibrate`` (``trained``: it, the rule and its
    options; :func:`_check_drivers`) checked. Returns N, the activation, the data source and
    the number of its patterns to store (None: the source's default)."""
    data, patterns_given, count, kind, key = patterns
    data, number = given.data_and_count(ctx, data, patterns_given, "--count", count)
    old = old_options.old_activation(neurons)
    legacy = old is not None
    if legacy:
        activation = given.deprecated(ctx, "--neurons", old, activation, new="activation",
                                  use=f"--activation {old}")
    n_neurons = 64 if legacy else given.neuron_count(neurons)
    n_neurons = given.deprecated(ctx, "--n", n, n_neurons, new=None if legacy else "neurons",
                             use=f"--neurons {n}")
    if n is None:
        n_neurons = given.data_neurons(ctx, data, n_neurons, key)
    given.check_data_options(ctx, data)
    activation = activation or given.cues_for(kind, None, None)[2]
    given.tanh_only(ctx, activation)
    given.check_data_count(data, number, key=key)
    calibrate, rule, options = trained
    adaptive = rule == "adaptive"
    _check_drivers(calibrate, activation, adaptive and options.get("bias") is not False,
                   f"the {rule} memory{' (bias=false)' if adaptive else ''} has", kind)
    return n_neurons, activation, data, number


def _hidden(hidden: str | None, n: int, arch: str, rule: str,
            rule_options: dict[str, Any], kind: str = "binary") -> list[int] | None:
    """Hidden widths of one architecture (``arch`` multilayer: :data:`~xbarmem.learning.fit.
    DEFAULT_HIDDEN` unless given, as ``train`` and ``capacity`` take it; the old ``32,16``,
    commas between layers, warns), and the trainer options of ``rule`` for the memory's
    layers storing patterns of ``kind`` checked as ``train`` checks them."""
    widths = None
    if hidden is None and arch == "multilayer":
        hidden = str(DEFAULT_HIDDEN)
    if hidden and "," in hidden and "-" not in hidden:
        widths = parsers.hidden_widths(hidden.replace(",", "-"), n)  # checked before the warning
        warn_deprecated(f"--hidden {hidden} is deprecated; use --hidden "
                        f"{hidden.replace(',', '-')}")
    elif hidden:
        widths = parsers.hidden_widths(hidden, n)
    parsers.check_rule_options(rule, rule_options, multilayer=arch == "multilayer",
                               sizes=[n, *(widths or []), n], kind=kind)
    return widths


def _calibrate(m, spec, target_energy: float | None, target_latency: float | None,
               out_dir: Path) -> dict:
    """Solve the circuit's two constants for the target ratios (None: the paper's); write its
    TOML to ``out_dir``."""
    from xbarmem.energy.calibrate import PAPER_ENERGY_RATIO, PAPER_LATENCY_REDUCTION, calibrate

    solved, record = calibrate(
        m, spec, energy_ratio=PAPER_ENERGY_RATIO if target_energy is None else target_energy,
        latency_reduction=PAPER_LATENCY_REDUCTION if target_latency is None else target_latency)
    make_folder(out_dir)
    path = out_dir / CALIBRATED
    write_file(path, solved.to_toml())
    return {**record, "file": str(path)}


def _print_report(r: dict[str, Any]) -> None:
    from xbarmem.energy.calibrate import PAPER_ENERGY_RATIO, PAPER_LATENCY_REDUCTION

    s = r["settings"]
    out.print(("" if "model" not in s else f"model {s['model']}: ") +
              f"N={s['n_neurons']} {s['arch']} ({'-'.join(map(str, s['layer_sizes']))}), "
              f"{s['n_patterns']} {'continuous ' if s.get('kind') == 'continuous' else ''}"
              f"{pattern_set_words(s['data'], s.get('data_key'))} patterns, "
              f"{s['rule']} rule, {chip_words(s['chip'], s['fault_rate'], s.get('levels', 0))}, "
              f"{s['cues']} cues ({corruption_words(s['corruption'], s['level'])}), circuit "
              f"{r['circuit']['name']}")
    table = Table(title="per recall, over cues")
    for col in ("", "mean", "std", "min", "max"):
        table.add_column(col, justify="left" if not col else "right")
    for mode in ("sync", "async"):
        st = r[mode]["steps"]
        table.add_row(f"{mode} steps", *(f"{st[k]:.4g}" for k in ("mean", "std", "min", "max")))
    for what, unit in (("energy", "J"), ("latency", "s")):
        for mode in ("sync", "async"):
            st = r[mode][f"{what}_{unit}"]
            # a std of identical costs is rounding noise (it read "1.292e-11 fJ"): 0
            spread = {**st, "std": 0.0 if st["std"] <= 1e-9 * abs(st["mean"]) else st["std"]}
            table.add_row(f"{mode} {what}", *(_si(spread[k], unit)
                                              for k in ("mean", "std", "min", "max")))
    if s.get("model_variation"):
        recorded = s["model_variation"]
        out.print(f"model programmed {variation_words(recorded['variation'], recorded['seed'])}"
                  f": measured as saved")
    out.print(table)
    q = r["quality"]
    out.print(f"exact recall: sync {q['sync']['exact']:.3f}, async {q['async']['exact']:.3f}"
              if s.get("kind", "binary") == "binary" else
              f"cosine: sync {q['sync']['cosine']:.3f}, async {q['async']['cosine']:.3f}")
    ratios = r["ratios"]
    out.print(f"async/sync: energy {_ratio(ratios['energy_ratio'])}, latency "
              f"{_ratio(ratios['latency_ratio'])}; synchronous recall "
              f"{_saving(ratios['energy_reduction'], ratios['latency_reduction'])}")
    if "fitted_to_paper" in r:
        f = r["fitted_to_paper"]
        out.print(f"beside it, circuit {f['circuit']} (two constants fitted to the paper: "
                  f"chosen so that N = 64 digit recall gives {PAPER_ENERGY_RATIO:g}x / "
                  f"{_percent(PAPER_LATENCY_REDUCTION)} latency saved): energy "
                  f"{_ratio(f['energy_ratio'])}, latency saved {_percent(f['latency_reduction'])}")
    _print_breakdown(r)
    p = r["programming"]
    out.print(f"programming: {p['programmed_devices']} of {p['devices']} devices, "
              f"{_si(p['energy_J'], 'J')}, {_si(p['time_s'], 's')}")
    if "calibration" in r:
        c = r["calibration"]
        solved = ", ".join(f"{k} = {_si(v, UNITS[k])}" for k, v in c["solved"].items())
        out.print(f"calibrated {solved} -> async/sync energy "
                  f"{_ratio(c['result']['energy_ratio'])}, "
                  f"latency saved {_percent(c['result']['latency_reduction'])}; written to "
                  f"{c['file']}")


def _print_breakdown(r: dict[str, Any]) -> None:
    """The mean recall's costs by component, and for a multilayer memory one step's by layer
    (which layer costs what: the hidden layers' tanh outputs go through ADCs)."""
    table = Table(title="breakdown of the mean recall")
    for col in ("component", "sync energy", "async energy", "sync latency", "async latency"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for comp in (*COMPONENTS, "total"):
        cells = []
        for what, unit in (("energy", "J"), ("latency", "s")):
            for mode in ("sync", "async"):
                x = r[mode]
                value = (x[f"{what}_{unit}"]["mean"] if comp == "total"
                         else x[f"{what}_breakdown_{unit}"][comp])
                cells.append("-" if value == 0 else _si(value, unit))
        table.add_row(comp, *cells)
    out.print(table)
    out.print(BREAKDOWN_LEGEND)
    if len(r["layers"]) > 1:
        _print_layers(r)


def _print_layers(r: dict[str, Any]) -> None:
    """One recall step's cost by layer (``layers[k].per_step``), then the step's control and
    neuron selection and the whole step (``sync.per_step``, ``async.per_step``)."""
    sizes = r["settings"]["layer_sizes"]
    table = Table(title="one step, by layer")
    for col in ("layer", "sync energy", "async energy", "sync latency", "async latency"):
        table.add_column(col, justify="left" if col == "layer" else "right")
    rows = [(f"{k + 1}: {sizes[k]} -> {sizes[k + 1]}", layer["per_step"])
            for k, layer in enumerate(r["layers"])]
    steps = {mode: r[mode]["per_step"] for mode in ("sync", "async")}
    rows.append(("control", {mode: {
        "energy_J": sum(step["energy_breakdown_J"][k] for k in ("control", "select")),
        "latency_s": sum(step["latency_breakdown_s"][k] for k in ("control", "select"))}
        for mode, step in steps.items()}))
    rows.append(("step", steps))
    for label, cost in rows:
        table.add_row(label, *(_si(cost[mode][key], unit) for key, unit in (
            ("energy_J", "J"), ("latency_s", "s")) for mode in ("sync", "async")))
    out.print(table)
    out.print("layer k: its inputs -> outputs; async, the hidden layers are read in full and "
              "one column of the output layer; layers work in sequence, so a step's latency "
              "is the sum of theirs; control: the step's, with the neuron selection (async)")


def _sizes(sizes: list[int], spec, chip, rule: str, load: float, cues: tuple[str, float],
           probes: int, seed: int, rule_options: dict[str, Any], out_dir: Path, json_out: bool,
           threads: int) -> None:
    """``--sizes``: ratios against N (refused before any work when the largest N is too
    big)."""
    from xbarmem.sizes import patterns_at_load

    parsers.check_rule_options(rule, rule_options)
    n_max = max(sizes)
    given.check_request(n_max, cues=patterns_at_load(load, n_max) * probes, chip=chip,
                        lower={"--probes": probes, "--load": load, "--sizes": sizes})
    from xbarmem.energy.measure import measure_sizes
    from xbarmem.jsontext import output_text
    from xbarmem.viz.energy import ratios_plot
    from xbarmem.viz.style import save_figure

    with work_bar(console, disable=json_out, transient=True) as bar:
        # work per size ~ weights x stored patterns ~ N^3 (P = load x N)
        task = bar.add_task(f"measuring N = {', '.join(map(str, sizes))}",
                            total=sum(n ** 3 for n in sizes), detail="")
        sweep = measure_sizes(sizes, spec, chip=chip, rule=rule, load=load,
                              corruption=cues[0], level=cues[1], probes=probes, seed=seed,
                              rule_options=rule_options,
                              progress=lambda n: bar.update(task, advance=n ** 3,
                                                            detail=f"N={n} done"),
                              beside=None if spec.name == FITTED_CIRCUIT else FITTED_CIRCUIT)
    make_folder(out_dir)
    png = save_figure(ratios_plot(sweep), out_dir / SIZES_FILES[0])
    table_path = out_dir / SIZES_FILES[1]
    sweep["files"] = {"png": str(png), "json": str(table_path)}
    sweep.update(run_options.run_record(threads))
    write_file(table_path, output_text(sweep, indent=2) + "\n")  # (as --json prints it)
    if json_out:
        emit_json(sweep)
        return
    s = sweep["settings"]
    chip_used = chip_words(s["chip"], s["fault_rate"], s.get("levels", 0))
    _print_sizes(sweep, f"{spec.name} circuit, {rule} rule, {chip_used}, random patterns "
                        f"P = {load:g} N, {corruption_words(*cues)}")
    out.print(f"figure: {png}   table: {table_path}")


@circuit_app.command("show", help="Print a circuit description (resolved and validated) as "
                     "TOML, to copy and edit for energy --circuit; a preset with its file's "
                     "comments (where its values come from).")
def circuit_show(
    circuit: Annotated[str, typer.Argument(
        metavar="CIRCUIT", parser=option_types.name_or_file,
        autocompletion=option_types.completes(circuit_names),
        help=f"Circuit preset ({', '.join(circuit_names())}) or TOML file (.json: JSON, as "
             "--json prints).")] = DEFAULT_CIRCUIT,
    json_out: output_options.Json = False,
) -> None:
    show_spec(circuit, load_circuit, is_circuit_preset, circuit_toml, json_out)


@circuit_app.command("presets", help="List the shipped circuit presets.")
def circuit_presets(json_out: output_options.Json = False) -> None:
    print_presets(load_circuit, circuit_names(), json_out, "circuit")


def _print_sizes(sweep: dict, what: str) -> None:
    """The ``--sizes`` tables: async / sync ratios per N, then what one recall and programming
    the memory cost (SI units)."""
    table = Table(title=f"async / sync per recall ({what})", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
    beside = "beside" in sweep["rows"][0]
    for col in ("N", "P", "sync steps", "async steps", "energy x", "latency x", "latency saved",
                "exact s/a") + (("fitted energy x",) if beside else ()):
        # at 80 columns, boxed, rich folded the widest cells ("1.00 / 1.00") and broke
        # "latency": without column rules, "1.00/1.00" on one line, header words whole
        table.add_column(col, justify="right", no_wrap=col == "exact s/a")
    costs = Table(title="per recall (sync / async) and programming every device",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("N", "energy sync", "energy async", "latency sync", "latency async",
                "program energy", "program time"):
        costs.add_column(col, justify="right")
    for row in sweep["rows"]:
        table.add_row(str(row["n_neurons"]), str(row["n_patterns"]), f"{row['sync_steps']:.3g}",
                      f"{row['async_steps']:.5g}", f"{row['energy_ratio']:.2f}",
                      f"{row['latency_ratio']:.1f}", _percent(row['latency_reduction']),
                      f"{row['sync_exact']:.2f}/{row['async_exact']:.2f}",
                      *((f"{row['beside']['energy_ratio']:.2f}",) if beside else ()))
        costs.add_row(str(row["n_neurons"]), _si(row["sync_energy_J"], "J"),
                      _si(row["async_energy_J"], "J"), _si(row["sync_latency_s"], "s"),
                      _si(row["async_latency_s"], "s"), _si(row["programming_energy_J"], "J"),
                      _si(row["programming_time_s"], "s"))
    out.print(table)
    if beside:
        out.print(f"fitted energy x: circuit {FITTED_CIRCUIT}, whose two constants were fitted to "
                  f"the paper's ratios at N = 64 (digit recall)")
    out.print(costs)
