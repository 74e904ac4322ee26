"""``xbarmem train | evaluate | recall``: one memory, from patterns to recall."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xbarmem.checks import DEFAULT_HIDDEN, MAX_SEED, counted, seconds_text, spanned, tensor_of
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
from xbarmem.cli.apps import app
from xbarmem.cli.messages import work_begins
from xbarmem.cli.progress import work_bar, working
from xbarmem.cli.records import describe_devices, emit_json
from xbarmem.cli.tables import console, out
from xbarmem.data.sources import data_fields
from xbarmem.errors import ConfigError, PatternError, warn
from xbarmem.files import write_npy
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.budget import step_budget
from xbarmem.names import DEFAULT_TOL, tol_entry, variation_words

if TYPE_CHECKING:
    import numpy as np

    from xbarmem.data.patterns import PatternSet
    from xbarmem.memory.model_meta import ModelMeta

#: how `evaluate` names the labels of `Score.outcomes` (evaluation.metrics.OUTCOMES): the
#: cue's own pattern, another stored one, a negated one, another fixed point, no fixed point
OUTCOME_WORDS = {"recalled": "own", "other_pattern": "other", "inverted": "inverted",
                 "spurious": "spurious", "not_converged": "unconverged"}

Model = Annotated[Path, typer.Argument(metavar="MODEL", parser=option_types.input_path,
                                       help="Model file from `xbarmem train`.")]
TrainPatterns = Annotated[str | None, data_options.patterns(
    "all of the source if there are no more than N; random needs it")]
TrainOut = Annotated[Path, output_options.out(
    "model file (.safetensors)", suffixes=(".safetensors",))]
RecallOut = Annotated[Path | None, output_options.out(
    "file for the final states (.npy; a binary model's read out as +-1, with --activation tanh "
    "too)", suffixes=(".npy",))]


# ---------------------------------------------------------------------------------- train
@app.command(
    "train", short_help="Train a memory for a chip and save it.",
    help="Train a single-layer or multilayer memory for a chip and save it (safetensors with "
         "JSON metadata and the stored patterns). Multilayer memories use the "
         "hardware-adaptive rule, each layer on its own arrays of the chip.")
@hardware_options.chip_options("spec")
@training_options.trainer_options("options")
@run_options.threads_option("threads")
def train(
    ctx: typer.Context,
    spec: ChipSpec,
    options: dict,
    threads: int,
    out_path: TrainOut,
    data: data_options.Data = "mnist",
    patterns: TrainPatterns = None,
    neurons: data_options.Neurons = "64",
    kind: data_options.Kind = "binary",
    one_per_class: data_options.OnePerClass = False,
    zero_one: data_options.ZeroOne = False,
    key: data_options.DataKey = None,
    fault_map: hardware_options.FaultMapFile = None,
    rule: training_options.Rule = "adaptive",
    arch: training_options.Arch = "single",
    hidden: training_options.Hidden = str(DEFAULT_HIDDEN),
    seed: run_options.Seed = 0,
    json_out: output_options.Json = False,
    side: old_options.OldSide = None,
    n: old_options.OldCount = None,
    objective: old_options.OldObjective = None,
    noise_injection: old_options.OldNoiseInjection = None,
    max_steps: old_options.OldMaxSteps = None,
    finetune_steps: old_options.OldFinetuneSteps = None,
    bias: old_options.OldBias = None,
) -> None:
    given.check_arch(ctx, arch, rule)
    data, count = given.data_and_count(ctx, data, patterns, "--n", n)
    _check_options(ctx, data, rule, fault_map, out_path)
    n_neurons = given.data_neurons(ctx, data, given.neurons_or_side(ctx, neurons, side), key)
    if rule == "adaptive":  # old dedicated flags (adaptive only, as before); trainer seed: --seed
        options = {"seed": seed, **given.legacy_rule_options(
            ctx, options, objective=objective, noise_injection=noise_injection,
            max_steps=max_steps, finetune_steps=finetune_steps, bias=bias)}
    widths = parsers.hidden_widths(hidden, n_neurons)  # checked even when unused (the default)
    _check_size(n_neurons, count, widths if arch == "multilayer" else None, spec)
    fmap = given.load_map(fault_map, spec) if fault_map else None
    pset = given.load_data(data, neurons=n_neurons, kind=kind, count=count, seed=seed,
                       zero_one=zero_one, one_per_class=one_per_class, ctx=ctx, key=key)
    _not_too_many(pset, data, count is None and not one_per_class)
    memory, info, stages = _fit(pset, spec, fmap, arch, hidden, rule, options, seed,
                                map_file=fault_map, data=data)
    from xbarmem.memory.io import save_memory  # (torch: only once the inputs are checked)

    save_memory(memory, out_path, patterns=pset)
    summary = {"model": str(out_path), **data_fields(pset), "n_patterns": pset.n_patterns,
               "n_neurons": pset.n_neurons, "chip": spec.name, **_trained(memory, info),
               **({"stages": dict(stages)} if stages else {}), "devices": memory.devices(),
               "faults": _faults(memory, spec), "seed": seed, **run_options.run_record(threads)}
    if json_out:
        emit_json(summary)
    else:
        out.print(f"saved {out_path}: {rule} rule, {_count_text(pset)}, N={pset.n_neurons}"
                  f"{f' ({memory.layout})' if arch == 'multilayer' else ''}, "
                  f"{_steps_text(memory.info | info, stages)}"
                  f"{_levels_text(rule, memory.info)}{_variation_text(memory.info)}, "
                  f"{seconds_text(info['train_seconds'])} s; "
                  f"{describe_devices(memory.devices())}{_faults_text(spec, summary['faults'])}")


def _trained(memory, info: dict) -> dict:
    """The training's ``info`` for ``--json`` with its variation (:func:`_variation`), the
    memory's shape named as in every other output: ``arch`` the word ``--arch`` takes
    (``single`` / ``multilayer``), ``layout`` the widths (``"64"``, ``"64-32-64"``:
    :attr:`Memory.layout`, which a multilayer memory's ``info["arch"]`` records in the model
    file)."""
    return {"rule": info["rule"], "arch": memory.architecture, "layout": memory.layout,
            **{k: v for k, v in info.items() if k not in ("rule", "arch")},
            **_variation(memory.info)}


def _variation(info: dict) -> dict[str, float]:
    """``{"variation": v}`` of a memory trained under programming variation (the adaptive
    rule's ``variation`` option, in its ``info``), else ``{}``."""
    v = info.get("rule_options", {}).get("variation")
    return {"variation": v} if v else {}


def _variation_text(info: dict) -> str:
    """What the summary line says of a variation-aware training (nothing without one)."""
    v = _variation(info).get("variation")
    return "" if v is None else (f", trained under programming variation {v:g} (weight noise "
                                 f"of std {v:g} max|W|)")


def _faults(memory, spec) -> dict:
    """The fault map's summary (its ON / OFF split by the chip's window), with ``in_use``:
    the faults among the devices the memory uses (:meth:`Memory.faults_in_use`)."""
    return {**memory.faults.summary(spec.device), "in_use": memory.faults_in_use()}


def _faults_text(spec, faults: dict) -> str:
    """What the fault map holds where the memory lies, for the summary line of a trained
    memory: its faulty weights (``weight`` fault model) or stuck devices, ON and OFF
    (``device``), among those it uses (``faults["in_use"]``), then the share of the whole map
    (whose arrays a small memory uses in part); nothing for a chip without faults."""
    if not faults["stuck"]:
        return ""
    used = faults["in_use"]
    if spec.array.fault_model == "weight":
        return (f"; {used['weights_faulty']} of the {used['weights']} weights it uses faulty "
                f"(0) ({faults['pairs_fully_stuck_fraction']:.1%} of the fault map's weights)")
    return (f"; {used['stuck']} of the {used['devices']} devices it uses stuck "
            f"({used['stuck_on']} ON, {used['stuck_off']} OFF; {faults['stuck_fraction']:.1%} "
            f"of the fault map's devices)")


def _levels_text(rule: str, info: dict) -> str:
    """On a chip with conductance levels, whether the training went through them (the
    model's ``info``: ``levels``, ``through_levels``, and ``quantize`` among the rule's
    options when it was given); nothing on a continuous chip."""
    if not info.get("levels"):
        return ""
    if info.get("through_levels"):
        return f", trained through the chip's {info['levels']} conductance levels"
    if rule != "adaptive":
        why = f"the {rule} rule does not train through them"
    elif "quantize" in info.get("rule_options", {}):
        why = "quantize=false"
    else:
        from xbarmem.learning.adaptive import QUANTIZE_OFF_LEVELS  # (torch: loaded by now)

        why = (f"quantize's default for multilayer memories of continuous patterns on chips "
               f"of {QUANTIZE_OFF_LEVELS} levels or more")
    return (f", weights rounded to the chip's {info['levels']} conductance levels only when "
            f"programmed ({why})")


def _count_text(pset: PatternSet) -> str:
    """``10 patterns``, with how many are distinct when some repeat (a file's repeats, or
    images alike once binarised): ``62 patterns (60 distinct)``."""
    text = counted(pset.n_patterns, "pattern")
    return text if pset.n_distinct == pset.n_patterns else f"{text} ({pset.n_distinct} distinct)"


def _fixed_text(info: dict) -> str:
    """What the train line adds when not every stored pattern is a fixed point of the trained
    memory (``fixed_points`` false: ``converged`` says only that the training stopped
    improving, which it also does past the memory's capacity); "" otherwise (continuous
    patterns record none)."""
    return ", not every stored pattern a fixed point" if info.get("fixed_points") is False else ""


def _why_not_fixed(rule: str, pset: PatternSet, info: dict) -> None:
    """Warn (one line) why not every stored pattern is a fixed point when the rule's own
    reason is known: the pseudo-inverse rule of patterns that span all N dimensions
    (:meth:`~xbarmem.learning.classic.PseudoInverse.identity_reason`: its projection is the
    identity, zero without the diagonal)."""
    if rule != "pinv" or info.get("fixed_points") is not False:
        return
    from xbarmem.learning.classic import PseudoInverse

    reason = PseudoInverse.identity_reason(pset.patterns)
    if reason is not None:
        warn(reason)


def _steps_text(info: dict, stages: list[tuple[str, int]]) -> str:
    """The steps of the training as the trainer counted them, by stage where there are
    several (``400 steps (300 basin + 100 fine-tune)``), and whether the stage that can
    converge (basin or fixed-point) did: ``converged=True``, or ``converged=False`` with the
    ``max_steps`` at which that stage stopped (the perceptron's ``max_epochs``), then
    :func:`_fixed_text`."""
    return _stopped_text(info, stages) + _fixed_text(info)


def _stopped_text(info: dict, stages: list[tuple[str, int]]) -> str:
    """:func:`_steps_text` without what it says of the stored patterns."""
    judged = next(((stage, n) for stage, n in stages if stage in ("basin", "fixed-point")),
                  None)
    text = f"{info['steps']} steps"
    if len(stages) > 1:
        text += f" ({' + '.join(f'{n} {stage}' for stage, n in stages)})"
    text += f", converged={info.get('converged')}"
    epochs = (info.get("rule_options") or {}).get("max_epochs")
    if judged is None:
        capped = not info.get("converged") and epochs is not None
        return f"{text} (max_epochs={epochs} reached)" if capped else text
    if len(stages) > 1:
        reached = f" reached max_steps={judged[1]}" if not info.get("converged") else ""
        return f"{text} (the {judged[0]} stage{reached})"
    return text if info.get("converged") else f"{text} (max_steps={judged[1]} reached)"


def _check_size(n_neurons: int, count: int | None, hidden: list[int] | None,
                spec: ChipSpec) -> None:
    """Refuse a training of ``count`` patterns (None: the source's) of ``n_neurons`` (with
    the ``hidden`` widths of a multilayer memory) on ``spec`` too large for the memory limit,
    before any data is read, naming the options to lower (:func:`given.check_request`)."""
    given.check_request(n_neurons, cues=count or 0, chip=spec, cues_are="pattern",
                        hidden=hidden, lower={"--patterns": count, "--neurons": n_neurons,
                                              "--hidden": hidden})


def _check_options(ctx: typer.Context, data: str, rule: str,
                   fault_map: Path | None, out_path: Path) -> None:
    """Refuse options that this training does not read, and a model file that is one of its
    inputs."""
    given.applies_only(ctx, "without --fault-map", "faults", applies=fault_map is None)
    given.applies_only(ctx, "to --rule adaptive", "objective", "noise_injection", "max_steps",
                   "finetune_steps", "bias", applies=rule == "adaptive")
    given.check_data_options(ctx, data)
    paths.check_distinct({"--out": out_path}, {"--data": paths.source_file(data),
                                           "--fault-map": fault_map,
                                           "--chip": paths.chip_file(ctx.params.get("chip"))})


def _not_too_many(pset: PatternSet, data: str, all_of: bool = True) -> None:
    """Without ``--patterns`` (``all_of``: nor ``--one-per-class``), train stores all of
    ``--data`` up to N patterns: more is refused (``--data mnist`` would be all 10,000
    digits), the count left to the user, who may give it above N (a multilayer memory stores
    more patterns than neurons)."""
    if all_of and pset.n_patterns > pset.n_neurons:
        raise ConfigError(
            f"--data {data} holds {pset.n_patterns} patterns, more than N = {pset.n_neurons}: "
            f"without --patterns, train stores all of a source only when they are at most N; "
            f"choose how many with --patterns N (any number up to {pset.n_patterns}) or "
            f"--one-per-class")


def _fit(pset: PatternSet, spec: ChipSpec, fmap: FaultMap | None, arch: str, hidden: str,
         rule: str, options: dict[str, Any], seed: int, *, map_file: Path | None = None,
         data: str | None = None) -> tuple[Any, dict[str, Any], list[tuple[str, int]]]:
    """Build the memory for ``spec`` (on ``fmap``, read from ``map_file``, when given, for
    patterns of ``data``: ``--data``, which a refusal of the map names the N of), train
    ``rule`` on ``pset`` and program it (multilayer memories: the hardware-adaptive rule);
    a closed-form rule's patterns not all stored are warned of where the reason is known
    (:func:`_why_not_fixed`)."""

    from xbarmem.learning.classic import rule_from_options
    from xbarmem.learning.fit import fit_memories
    from xbarmem.learning.multilayer import MultilayerTrainer
    from xbarmem.memory.build import make_memory

    multi = arch == "multilayer"
    widths = parsers.hidden_widths(hidden, pset.n_neurons) if multi else None
    sizes = [pset.n_neurons, *(widths or []), pset.n_neurons]
    parsers.check_rule_options(rule, options, multilayer=multi, sizes=sizes, kind=pset.kind)
    rule_obj = MultilayerTrainer(**options) if multi else rule_from_options(rule, options)
    if fmap is not None:
        given.check_map_arrays(map_file or Path("--fault-map"), fmap, spec, sizes, rule_obj.bias,
                               data)
    memory = make_memory(pset.n_neurons, arch=arch, hidden=widths, chip=spec, faults=fmap,
                         bias=rule_obj.bias, fault_seed=seed)
    what = memory.layout if multi else rule
    shape = "" if multi else f" (N={pset.n_neurons})"
    x = tensor_of(pset.patterns)
    if rule_obj.name != "adaptive":  # closed form: no steps to show
        work_begins()
        with console.status(f"training {what} on {counted(pset.n_patterns, 'pattern')}{shape}"):
            info = fit_memories(rule_obj, x, [memory], kind=pset.kind, program_seed=seed)[0]
        _why_not_fixed(rule, pset, info)
        return memory, info, []
    total = step_budget(rule_obj.options(len(memory.layers), pset.kind), pset.kind)
    with work_bar(console, transient=True) as bar:
        task = bar.add_task(f"training {what} on {counted(pset.n_patterns, 'pattern')}{shape}",
                            total=total, detail="", bound=True)

        show = _Steps(lambda step, loss: bar.update(
            task, completed=step, detail=f"step {step} (of at most {total}), loss {loss:.4g}"))
        info = fit_memories(rule_obj, x, [memory], kind=pset.kind, program_seed=seed,
                            progress=show)[0]
    resolved = rule_obj.options(len(memory.layers), pset.kind)
    return memory, {**info, "max_steps": resolved["max_steps"]}, show.stages


class _Steps:
    """The progress callback of training one network: ``show(step, loss)`` as it goes, and
    the steps of each stage as the trainer counts them (``stages``: ``[(stage, steps)]``)."""

    def __init__(self, show: Callable[[int, float], None]) -> None:
        self.show = show
        self.stages: list[tuple[str, int]] = []

    def __call__(self, step: int, loss: float) -> None:
        self.show(step, loss)

    def stage_ended(self, stage: str, steps: int) -> None:
        self.stages.append((stage, steps))


# ---------------------------------------------------------------------------------- evaluate
@app.command(
    "evaluate", short_help="Recall a model's stored patterns from corrupted cues.",
    help="Recall a model's stored patterns from corrupted cues and print similarity metrics "
         "(cosine, beside it the cues' own cosine with their patterns, exact recall, Hamming "
         "distance, convergence, iterations); with --variation, under programming variation.")
@run_options.threads_option("threads")
def evaluate(
    ctx: typer.Context,
    threads: int,
    model: Model,
    corruption: recall_options.Corruption = None,
    level: recall_options.Level = None,
    probes: recall_options.Probes = 20,
    mode: recall_options.Mode = "sync",
    activation: recall_options.Activation = None,
    max_iterations: recall_options.MaxIterations = 100,
    tol: recall_options.Tol = DEFAULT_TOL,
    seed: run_options.Seed = 0,
    variation: hardware_options.Variation = None,
    repeats: hardware_options.Repeats = 1,
    json_out: output_options.Json = False,
    neurons: old_options.OldActivation = None,
) -> None:
    activation = given.deprecated(ctx, "--neurons", neurons, activation, new="activation",
                              use=f"--activation {neurons}")
    given.applies_only(ctx, "with --variation", "repeats", applies=variation is not None)
    given.model_request(model, probes=probes, patterns=True,
                        targets=variation is not None)  # (before torch loads)
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.memory.base import memory_kind
    from xbarmem.memory.io import load_model

    memory, stored = load_model(model, patterns_required=True)
    recorded = memory.info.get("variation")  # (before --variation programs it again)
    corruption, level, by_kind = given.cues_for(memory_kind(memory) or "binary", corruption,
                                                level)
    activation = activation or by_kind
    given.tanh_only(ctx, activation)
    given.check_request(memory.n_neurons, networks=0, cues=stored.n_patterns * probes,
                        hidden=memory.hidden_sizes, loaded=True, lower={"--probes": probes})
    with working(f"recalling {counted(stored.n_patterns * probes, 'cue')} "
                 f"(N={memory.n_neurons}, {mode})"
                 + (f", {counted(repeats, 'programming')}" if repeats > 1 else "")):
        scores = _repeat_scores(memory, stored, Protocol(
            corruption=corruption, level=level, probes=probes, mode=mode,
            activation=activation, seed=seed, max_iterations=max_iterations, tol=tol), variation,
            repeats)
    # the neuron type is "activation", as in every protocol record, recall --json and the option
    result = {"model": str(model), "protocol": {"corruption": corruption, "level": level,
              "probes": probes, "mode": mode, "activation": activation,
              "max_iterations": max_iterations, "seed": seed,
              **tol_entry(tol)},
              # null: recalled as saved; else programmed again with it (seed: protocol.seed)
              "variation": variation,
              # the model file's own: {variation, seed} of a reprogrammed model, else null
              "model_variation": recorded, **_score_fields(scores),
              **run_options.run_record(threads)}
    _warn_noise_capped(memory, activation, result, tol)
    if json_out:
        emit_json(result)
    else:
        _print_score(result, stored.n_patterns, memory_kind(memory) == "continuous")


def _warn_noise_capped(memory: Any, activation: str, result: dict[str, Any], tol: float) -> None:
    """Warn when tanh recalls through layers with read noise did not all converge: their
    states change by about the noise at every step, so no step changes them by less than a
    ``--tol`` below it, and they ran to ``--max-iterations`` (``converged 0.00``)."""
    from xbarmem.evaluation.cue_check import noise_capped_text
    from xbarmem.memory.recall import reads_with_noise

    if activation == "tanh" and result["converged"] < 1 and reads_with_noise(memory):
        warn(f"{noise_capped_text(1 - result['converged'], tol)} (energy --model says how "
             f"large their changes are)")


#: the metrics of a score that ``evaluate --repeats`` summarises over its repeats
REPEATED = ("cosine", "exact", "hamming", "converged", "mean_iterations", "cue_cosine")


def _repeat_scores(memory: Any, stored: PatternSet, protocol: Any, variation: float | None,
                   repeats: int) -> list[tuple[int, Any]]:
    """``(seed, score)`` of each of ``repeats`` repeats: repeat ``k`` programs the model's
    trained targets again with ``variation`` (when given) and recalls, as a sweep's trial of
    seed ``protocol.seed + k`` (:meth:`~xbarmem.evaluation.evaluate.Protocol.reseeded`: write
    error, weight noise and cues); repeat 0 is the run of ``--seed`` itself."""
    from xbarmem.evaluation.capped import capped_recalls
    from xbarmem.evaluation.evaluate import evaluate_memory
    from xbarmem.memory.variation import reprogram

    scores = []
    with capped_recalls(quiet=True):  # (warned of once, after all repeats: _warn_noise_capped)
        for k in range(repeats):
            reseeded = protocol.reseeded(k)
            if variation is not None:  # the trained targets again, as a sweep trial's
                reprogram(memory, variation, seed=reseeded.seed)
            scores.append((reseeded.seed, evaluate_memory(memory, stored, reseeded)))
    return scores


def _mean(values: Any) -> float:
    values = list(values)
    return float(sum(values) / len(values))


def _score_fields(scores: list[tuple[int, Any]]) -> dict[str, Any]:
    """``evaluate``'s metrics of its ``(seed, score)`` list: one score's fields as they are;
    of several (``--repeats``), the same fields holding their means over the repeats
    (``per_pattern_cosine`` and ``outcomes`` entry by entry), then ``repeats``, ``seeds``,
    ``summary`` (per metric of :data:`REPEATED`: ``mean``, ``std`` -- the sample standard
    deviation over the repeats -- ``min``, ``max``) and ``per_repeat`` (each repeat's seed and
    fields)."""
    import statistics

    fields = [{**s.as_dict(), "cue_cosine": s.cue_cosine, "outcomes": s.outcomes}
              for _, s in scores]
    if len(fields) == 1:
        return fields[0]
    means: dict[str, Any] = {m: _mean(f[m] for f in fields) for m in REPEATED}
    means["per_pattern_cosine"] = [round(_mean(v), 6) for v in zip(
        *(f["per_pattern_cosine"] for f in fields), strict=True)]
    outcomes = fields[0]["outcomes"]
    means["outcomes"] = None if outcomes is None else {
        k: _mean(f["outcomes"][k] for f in fields) for k in outcomes}
    seeds = [seed for seed, _ in scores]
    return {**{k: means[k] for k in fields[0]}, "repeats": len(fields), "seeds": seeds,
            "summary": {m: {"mean": means[m], "std": statistics.stdev(f[m] for f in fields),
                            "min": min(f[m] for f in fields), "max": max(f[m] for f in fields)}
                        for m in REPEATED},
            "per_repeat": [{"seed": seed, **f} for seed, f in zip(seeds, fields, strict=True)]}


def _seeds_text(seeds: list[int]) -> str:
    """``seeds 5 to 7`` of successive seeds; past the largest seed they go on from 0
    (``seeds 4294967295, then 0 to 1``)."""
    first, last = seeds[0], seeds[-1]
    if last >= first:
        return spanned("seed", first, last, " to ")
    head = str(first) if first == MAX_SEED else f"{first} to {MAX_SEED}"
    return f"seeds {head}, then {'0' if last == 0 else f'0 to {last}'}"


def _print_score(result: dict[str, Any], patterns: int, continuous: bool) -> None:
    """``evaluate``'s table: the programming variation (if any), the cues, the recall; with
    ``--repeats``, each metric's mean over the repeats and, beside it, its spread."""
    p, repeats = result["protocol"], result.get("repeats", 1)
    _print_model_variation(result)
    if result["variation"] is not None:
        v = result["variation"]
        again = (variation_words(v, p["seed"]) if repeats == 1 else
                 f"{repeats} times with variation {v:g} (weight noise of std {v:g} max|W|; "
                 f"{_seeds_text(result['seeds'])}, one per repeat, for "
                 "the noise and the cues)")
        out.print(f"programmed again {again}")
    out.print(f"{counted(patterns, 'pattern')} x {counted(p['probes'], 'cue')} "
              f"({p['corruption']} {p['level']:g}), {p['mode']} {p['activation']} recall"
              + (":" if repeats == 1 else f", mean over {repeats} repeats (std, min..max):"))
    # continuous patterns have no bits: exact and hamming compare their signs (an
    # "exact 0.200" beside a cosine of 0.9997 read as poor recall of grey levels)
    unit = "signs" if continuous else "bits"
    exact = "exact signs" if continuous else "exact"
    spread = result.get("summary")
    if spread is not None:
        _print_spread(spread, exact, unit)
    else:
        # the cues' own cosine beside the recall's: recall is worth what it adds to the cues
        # (convergence on a line of its own: one line of all was wider than 80 columns)
        out.print(f"cosine {result['cosine']:.4f} (cues {result['cue_cosine']:.3f})  {exact} "
                  f"{result['exact']:.3f}  hamming {result['hamming']:.2f} {unit}")
        out.print(f"converged {result['converged']:.2f}  iterations "
                  f"{result['mean_iterations']:.1f}")
    if result["outcomes"] is not None:
        out.print("ended: " + "  ".join(f"{OUTCOME_WORDS[k]} {v:.2f}"
                                        for k, v in result["outcomes"].items()))


def _print_model_variation(result: dict[str, Any]) -> None:
    """The line of a model reprogrammed with programming variation (its ``info.variation``,
    ``model_variation`` in the JSON): recalled as saved, or (``--variation``) programmed
    again in its place; nothing for another model."""
    recorded = result["model_variation"]
    if recorded is None:
        return
    how = ("replaced by --variation" if result["variation"] is not None
           else "recalled as saved")
    words = variation_words(recorded["variation"], recorded["seed"])
    out.print(f"model programmed {words}: {how}")


def _print_spread(summary: dict[str, dict[str, float]], exact: str, unit: str) -> None:
    """One line per metric of ``evaluate --repeats``: its mean, then its std and min..max over
    the repeats, in the digits of the line of one run."""
    for name, key, digits, after in (("cosine", "cosine", 4, ""), (exact, "exact", 3, ""),
                                     ("hamming", "hamming", 2, f" {unit}"),
                                     ("converged", "converged", 2, ""),
                                     ("iterations", "mean_iterations", 1, ""),
                                     ("cues' cosine", "cue_cosine", 3, "")):
        m = summary[key]
        out.print(f"{name} {m['mean']:.{digits}f}{after} ({m['std']:.{digits}f}, "
                  f"{m['min']:.{digits}f}..{m['max']:.{digits}f})")


# ---------------------------------------------------------------------------------- recall
def _file_cues(cues: Path, model: Path, meta: ModelMeta, zero_one: bool,
               activation: str, key: str | None = None) -> np.ndarray:
    """The cues of the file ``cues`` (its .npz array ``key``) for the model ``model`` (its
    header ``meta``), checked for ``activation``: images as training read them (resized to
    the model's N; 28x28 ones cut first as a cropped MNIST source cut the model's patterns),
    other values in [-1, 1] as every recall takes them (noisy, occluded cues of binary
    patterns)."""
    from xbarmem.data.patterns import check_cue_values
    from xbarmem.data.readers import load_file_neurons
    from xbarmem.data.sources import pattern_set_crop

    crop = pattern_set_crop(meta.extra.get("patterns", {}).get("name", ""))
    x = load_file_neurons(cues, meta.n_neurons, meta.kind or "binary", zero_one, cues=True,
                          crop=crop, key=key).patterns
    if x.shape[1] != meta.n_neurons:
        raise ConfigError(f"{cues}: its cues have N = {counted(x.shape[1], 'neuron')}, but "
                          f"the model {model} has N = {meta.n_neurons}")
    try:
        check_cue_values(x, activation)
    except PatternError as exc:
        raise PatternError(f"{cues}: {exc}") from None
    given.check_model_cues(meta, len(x))
    return x


@app.command(
    "recall", short_help="Recall from the cues in a file.",
    help="Run recall from the cues in a file through the model's programmed crossbars; print "
         "convergence and optionally save the final states.")
@run_options.threads_option("threads")
def recall(
    ctx: typer.Context,
    threads: int,
    model: Model,
    cues: Annotated[Path, typer.Argument(
        metavar="CUES", parser=option_types.input_path,
        help="Cues file (.npy/.npz/.csv/IDX), shape (B, N): values in [-1, 1], or 8-bit "
             "images, read as train reads them (resized to the model's N; 28x28 images "
             "cropped first as the model's patterns were, for mnist-crop24).")],
    out_path: RecallOut = None,
    mode: recall_options.Mode = "sync",
    activation: recall_options.Activation = None,
    max_iterations: recall_options.MaxIterations = 100,
    tol: recall_options.Tol = DEFAULT_TOL,
    zero_one: data_options.CuesZeroOne = False,
    key: data_options.CuesKey = None,
    seed: run_options.Seed = 0,
    json_out: output_options.Json = False,
) -> None:
    paths.check_distinct({"--out": out_path}, {"MODEL": model, "CUES": cues})
    meta = given.model_request(model)  # the cues are read and sized before torch is loaded
    kind = meta.kind or "binary"
    activation = activation or ("sign" if kind == "binary" else "tanh")
    given.tanh_only(ctx, activation)
    x = _file_cues(cues, model, meta, zero_one, activation, key)
    import torch

    from xbarmem.memory.io import load_memory

    memory = load_memory(model)
    given.check_request(memory.n_neurons, networks=0, cues=len(x),
                        hidden=memory.hidden_sizes, loaded=True)
    with working(f"recalling {counted(len(x), 'cue')} (N={memory.n_neurons}, {mode})"):
        res = memory.recall(tensor_of(x), mode=mode, activation=activation,
                            max_iterations=max_iterations, tol=tol, seed=seed)
    states = res.states
    if kind == "binary" and activation == "tanh":  # analogue neurons, read out by their sign
        states = torch.where(states >= 0, 1.0, -1.0)
    if out_path is not None:
        write_npy(out_path, states.numpy())  # (OUT.NPY gets no second .npy)
    result = {**res.summary(), "max_iterations": max_iterations, **tol_entry(tol),
              "states_file": str(out_path) if out_path else None,
              "iterations": res.iterations.tolist(), "converged_flags": res.converged.tolist(),
              "cycled_flags": res.cycled.tolist(),
              "seed": seed, **run_options.run_record(threads)}
    if json_out:
        result["states"] = states.tolist()
        emit_json(result)
    else:
        out.print(f"{counted(result['cues'], 'cue')}: converged {result['converged']:.2f}, "
                  f"2-cycles {result['cycled']:.2f}, mean iterations "
                  f"{result['mean_iterations']:.1f}"
                  + (f", states saved to {out_path}" if out_path else ""))
