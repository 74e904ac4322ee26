"""``xbarmem capacity`` and ``xbarmem scaling``: capacity search and scaling fits.

The commands, their options, the searches under one status line and Ctrl-C during them; the
option checks made before any work are :mod:`~xbarmem.cli.capacity_checks`, what the commands
print and write :mod:`~xbarmem.cli.capacity_output`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xbarmem.checks import DEFAULT_HIDDEN, counted
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
from xbarmem.cli.capacity_bar import SearchWork, search_bar
from xbarmem.cli.capacity_checks import (
    architectures,
    check_fits,
    check_options_fit,
    check_requests,
    hidden_rules_of,
    search_protocol,
    tol_words,
)
from xbarmem.cli.capacity_output import (
    RECALLED,
    print_scaling,
    report_capacity,
    say_resumed,
    tested_line,
    warn_pool_limit,
    warn_replacing,
    write_scaling,
)
from xbarmem.cli.entry import interrupted_code
from xbarmem.cli.records import emit_json
from xbarmem.cli.tables import console
from xbarmem.data.sources import data_words, source_name
from xbarmem.evaluation.hidden_rule import layers_width
from xbarmem.files import make_folder
from xbarmem.hardware.chip import ChipSpec, chip_words, spec_words
from xbarmem.names import DEFAULT_LEVELS, DEFAULT_TOL, SEARCH_FLIPS

if TYPE_CHECKING:
    from xbarmem.data.patterns import PatternSet
    from xbarmem.evaluation.capacity import CapacityResult
    from xbarmem.evaluation.checkpoint import SearchCheckpoint
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.hardware.faults import FaultMap


CapacityArch = Annotated[str, training_options.arch(
    "single, multilayer, or both comma-separated (one table)", many=True)]
CapacityLevel = Annotated[float | None, recall_options.level(
    f"{SEARCH_FLIPS:g} for flip, {DEFAULT_LEVELS['salt-pepper']:g} for salt-pepper, "
    f"{DEFAULT_LEVELS['gaussian']:g} for gaussian and {DEFAULT_LEVELS['occlude']:g} for occlude")]
ScalingLevel = CapacityLevel
ScalingOut = Annotated[Path, output_options.out("folder for the PNG and JSON", folder=True)]
ScalingData = Annotated[str, typer.Option(
    "--data", metavar="SOURCE", parser=option_types.name_or_file,
    autocompletion=data_options.complete_sources,
    help="Pattern source: a built-in image set, mnist (whole image), mnist-crop24 (the "
    "authors' centred 24x24 window; N <= 576), digits (8x8: N = 64) or glyphs; a file of "
    "8-bit grayscale square images (uint8 0..255, (M, H, W) or (M, H*W); .npy/.npz/IDX; "
    "N at most H*H); or random (+-1, or uniform between -1 and 1 with --kind continuous) or "
    "correlated-R patterns of N neurons drawn from --seed (pool: 2000 unless --pool).")]


CapacityFaultMap = Annotated[Path | None, typer.Option(
    "--fault-map", metavar="FILE", parser=option_types.input_path,
    help="Fault map file (.npz/.csv), e.g. a measured chip's (chip import): every network on "
         "it (trials differ in their patterns and cues only) instead of a drawn map per trial "
         f"(and of --faults); {hardware_options.MAP_CHIP_WORDS}.")]


CapacityCheckpoint = Annotated[Path | None, output_options.output(
    "--checkpoint", help="Keep every tested count in this JSON file until the search completes: "
    "the same command run again after an interruption resumes, with the same results.",
    suffixes=(".json",))]


@app.command(
    "capacity", short_help="Largest number of patterns recalled at or above a threshold.",
    help="Largest number of stored patterns P whose mean recall similarity, and that at every "
         "smaller tested P, stays at or above each threshold; fresh random pattern subsets per "
         "trial, seeds recorded in --json. " + RECALLED)
@hardware_options.chip_options("spec")
@training_options.trainer_options("options")
@run_options.threads_option("threads")
def capacity_cmd(
    ctx: typer.Context,
    spec: ChipSpec,
    options: dict,
    threads: int,
    arch: CapacityArch = "single",
    hidden: training_options.HiddenSeveral = str(DEFAULT_HIDDEN),
    data: data_options.Data = "digits",
    neurons: data_options.Neurons = "64",
    kind: data_options.Kind = "binary",
    pool: data_options.Pool = None,
    zero_one: data_options.ZeroOne = False,
    key: data_options.DataKey = None,
    rule: training_options.Rule = "adaptive",
    corruption: recall_options.Corruption = None,
    level: CapacityLevel = None,
    probes: recall_options.Probes = 20,
    tol: recall_options.Tol = DEFAULT_TOL,
    threshold: recall_options.Threshold = "0.99",
    trials: recall_options.Trials = 2,
    start: recall_options.Start = None,
    resolution: recall_options.Resolution = 0.0,
    seed: run_options.Seed = 0,
    json_out: output_options.Json = False,
    checkpoint: CapacityCheckpoint = None,
    side: old_options.OldSide = None,
    fault_map: CapacityFaultMap = None,
) -> None:
    given.check_data_options(ctx, data)
    n_neurons = given.data_neurons(ctx, data, given.neurons_or_side(ctx, neurons, side), key)
    thresholds = parsers.thresholds(threshold)
    configs = architectures(ctx, arch, hidden, rule, options)
    n_pool = given.drawn_pool(data, pool)
    fmap = check_requests(ctx, configs, n_neurons, spec, fault_map, rule, options, n_pool=n_pool,
                           trials=trials, probes=probes)
    from xbarmem.evaluation.capacity import find_capacity  # (torch: only once checked)
    patterns = _pool(ctx, data, start, neurons=n_neurons, kind=kind, count=n_pool, seed=seed,
                     zero_one=zero_one, key=key)
    n = patterns.n_neurons
    check_fits(patterns, configs, rule, options, trials=trials, seed=seed, start=start)
    protocol = search_protocol(kind, corruption, level, probes, seed, tol, ctx=ctx)
    kept = None if checkpoint is None else _checkpoint(checkpoint, patterns, spec, fmap, {
        "rule": rule, "protocol": protocol.as_dict(), "trials": trials, "seed": seed,
        "rule_options": options or {}}, [a for a, _ in configs])

    def search(a: str, h: list[int] | None, progress: Callable[[int, float], None],
               measured: dict | None) -> CapacityResult:
        return find_capacity(  # (hidden None: the default)
            patterns, arch=a, chip=spec, rule=rule, hidden=h or None, thresholds=thresholds,
            protocol=protocol, trials=trials, seed=seed, start=start, resolution=resolution,
            rule_options=options or None, faults=fmap, progress=progress, measured=measured)

    estimate = dict(trials=trials, rule=rule, kind=patterns.kind, probes=protocol.probes,
                    seed=seed, spec=spec, options=options)
    results = _run_searches(configs, n, kept, search, json_out, thresholds, estimate)
    warn_pool_limit([(lb, r.lower_bound, r.settings.get("pool_distinct")) for lb, r in results])
    report_capacity(results, kept, json_out, threads, thresholds, _capacity_title(
        patterns.kind, data_words(data, patterns.key), rule if "single" in arch else "adaptive",
        _chip_words(spec, fault_map), protocol, trials))


def _pool(ctx: typer.Context, data: str, start: int | None, **options: Any) -> PatternSet:
    """The patterns of ``--data`` (:func:`~xbarmem.cli.given.load_data` with ``options``, their
    number counted by ``--pool``); a ``--start`` above their distinct patterns refused before
    any training, as :func:`~xbarmem.evaluation.capacity.find_capacity` refuses it."""
    from xbarmem.evaluation.capacity import check_start

    patterns = given.load_data(data, ctx=ctx, counted_by="--pool", **options)
    check_start(start, patterns.n_distinct, "--start")
    return patterns


def _capacity_title(kind: str, data: str, rule: str, chip: str, protocol: Protocol,
                    trials: int) -> str:
    """The capacity table's title: the patterns (``data``, in words: :func:`data_words`, the
    .npz array read with it), the rule of its one-layer memories (else ``adaptive``), the
    chip in words, the cues, a ``tol`` not the default, the trials."""
    return (f"capacity on {'continuous ' * (kind == 'continuous')}{data} patterns "
            f"({rule}, {chip}, {protocol.corruption} {protocol.level:g}{tol_words(protocol)}, "
            f"{counted(trials, 'trial')})")


def _chip_words(spec, fault_map: Path | None) -> str:
    """The chip a search ran on, for its table's title: ``rram chip, 30% faults`` (the
    fault map file's name when one was given, no faults said for a clean chip)."""
    if fault_map is not None:
        return chip_words(spec.name, 0.0, spec.device.levels, fault_map=fault_map.name)
    return spec_words(spec)


def _search_work(searches: dict, trials: int, *, spec: ChipSpec, options: dict,
                 cue_budget: int = 0, **settings: Any) -> SearchWork:
    """The estimated work of ``searches`` (``{key: (N, arch, hidden widths)}``, in the order
    they run) of ``trials`` trials each on chip ``spec`` with rule options ``options``; the
    other ``settings`` as :func:`~xbarmem.experiments.resolve.search_config` takes them."""
    from xbarmem.experiments.resolve import search_config

    return SearchWork({k: search_config(n, arch=a, hidden=h, cue_budget=cue_budget,
                                        levels=spec.device.levels, rule_options=options,
                                        **settings)
                       for k, (n, a, h) in searches.items()}, trials)


def _labelled(configs: list, n: int) -> list[tuple[str, str, list[int] | None]]:
    """``(label, arch, hidden widths)`` of each architecture of ``configs`` at ``n`` neurons:
    ``single``, or the multilayer's layer widths (``64-32-64``)."""
    out = []
    for a, spec_h in configs:
        h = None if spec_h is None else parsers.resolve_widths(spec_h, n)
        out.append(("single" if h is None else "-".join(map(str, [n, *h, n])), a, h))
    return out


def _run_searches(configs: list, n: int, kept: SearchCheckpoint | None,
                  search: Callable[..., CapacityResult], quiet: bool, thresholds: list[float],
                  estimate: dict) -> list[tuple[str, CapacityResult]]:
    """Each architecture's ``search(arch, widths, progress, measured)`` under one bar of their
    estimated work (:func:`_search_work` of ``estimate``'s settings; drawn unless ``quiet``),
    each tested count shown against ``thresholds``, kept in ``kept`` (a checkpoint, or None;
    the caller removes it); returns
    ``[(label, result)]``. A search that ends otherwise lets go of ``kept``."""
    results = []
    work = _search_work({label: (n, a, h) for label, a, h in _labelled(configs, n)}, **estimate)
    with search_bar(work, "capacity", quiet) as bar, _resumable(
            None if kept is None else kept.path, hint=(
                " (with --checkpoint FILE.json a run keeps its tested counts and resumes)")), \
            contextlib.ExitStack() as stack:
        if kept is not None:
            stack.push(lambda *exc: kept.close() if exc[0] is not None else None)
        for label, a, h in _labelled(configs, n):

            def shown(p: int, s: float, label: str = label) -> None:
                bar.tested(label, tested_line(label, p, s, thresholds), p, s)

            results.append((label, search(a, h, shown if kept is None else kept.saving(shown),
                                          None if kept is None else kept.measured(label))))
            bar.ended(label)
    return results


def _checkpoint(path: Path, patterns: PatternSet, spec: ChipSpec, fmap: FaultMap | None,
                key: dict, archs: list[str]) -> SearchCheckpoint:
    """The search checkpoint in ``path`` for these patterns, chip and fault map (by content),
    ``key``'s settings and the trainer options with their defaults of each architecture of
    ``archs`` (``trainer``: a default changed since the points were kept is another key)."""
    from xbarmem.evaluation.checkpoint import SearchCheckpoint, fingerprint
    from xbarmem.evaluation.curve import seeded_options
    from xbarmem.learning.classic import keyed_options

    options = seeded_options(key["rule"], key["rule_options"], key["seed"])
    trainer = {a: keyed_options(key["rule"], options, 1 if a == "single" else 2,
                                patterns.kind, spec.device.levels) for a in archs}
    return SearchCheckpoint(path, {
        **key, "trainer": trainer, "patterns": fingerprint(patterns.patterns),
        "kind": patterns.kind, "chip": spec.to_dict(),
        "fault_map": None if fmap is None else fingerprint(fmap.g_stuck)})


def _data_tag(source) -> str:
    """What a scaling run's file names add for its data: nothing for MNIST (the default),
    else ``-`` and the set's name or the file's name, without its suffix when that is ``.npy``
    (the usual file: ``my-images.npy`` gives ``-my-images``; ``a.npz``, ``a.npy.gz`` or
    ``a.idx`` keep theirs, so that ``a.npy`` and ``a.npz`` are two names, as are ``set.v1.npy``
    and ``set.v2.npy``), then ``-`` and the .npz array ``--key`` named (``a.npz-test``; none:
    nothing), characters other than letters, digits, ``.``, ``_`` and ``-`` as
    ``_``, so that runs on other data into one folder neither overwrite each other's files
    nor take over each other's checkpoint. Names that still meet (one name in two folders,
    ``a b.npy`` and ``a_b.npy``): :func:`~xbarmem.cli.capacity_output.warn_replacing`."""
    name = source_name(source)
    if name == "mnist":
        return ""
    stem = name if isinstance(source, str) else re.sub(r"\.npy$", "", name, flags=re.I)
    if not isinstance(source, str) and source.key is not None:
        stem = f"{stem}-{source.key}"
    return "-" + re.sub(r"[^A-Za-z0-9._-]", "_", stem or "data")


@app.command(
    "scaling", short_help="Capacity against N, with a power-law fit.",
    help="Capacity at each N on an image set (--data: MNIST by default, or a file of images) "
         "resized to side sqrt(N) (binary: binarised at each "
         "image's mean; continuous: scaled to [-1, 1], Gaussian cues), or on random patterns "
         "of N neurons; fits log C against "
         "log N (slope with a 95% confidence interval); writes a PNG and JSON. Every tested "
         "count is kept in OUT/scaling-...checkpoint.json until the run completes: the same "
         "command run again after an interruption resumes, with the same results. " + RECALLED)
@hardware_options.chip_options("spec")
@training_options.trainer_options("options")
@run_options.threads_option("threads")
def scaling_cmd(
    ctx: typer.Context,
    spec: ChipSpec,
    options: dict,
    threads: int,
    arch: training_options.Arch = "multilayer",
    kind: data_options.Kind = "binary",
    data: ScalingData = "mnist",
    sizes: data_options.Sizes = "64,144,256,400,576,784",
    hidden: training_options.HiddenScaling = str(DEFAULT_HIDDEN),
    rule: training_options.Rule = "adaptive",
    corruption: recall_options.Corruption = None,
    level: ScalingLevel = None,
    probes: recall_options.Probes = 5,
    tol: recall_options.Tol = DEFAULT_TOL,
    threshold: recall_options.Threshold = "0.99",
    trials: recall_options.Trials = 1,
    pool: data_options.Pool = None,
    key: data_options.DataKey = None,
    resolution: recall_options.Resolution = 0.05,
    seed: run_options.Seed = 0,
    out_dir: ScalingOut = Path("xbarmem-out"),
    json_out: output_options.Json = False,
) -> None:
    given.check_arch(ctx, arch, rule)
    thresholds, rules_h = parsers.thresholds(threshold), hidden_rules_of(hidden)
    source, pool = given.sized_data(ctx, data, kind, pool, key)  # (a file: images read once)
    n_all = parsers.neuron_sizes(sizes, data=source)
    widths = {n: layers_width(rules_h, n) if arch == "multilayer" else None for n in n_all}
    layouts = {n: [n, *([w] if isinstance(w, int) else w or []), n] for n, w in widths.items()}
    check_options_fit(rule, options, kind, list(layouts.values()))
    _check_scaling_size(layouts, trials, probes, pool, spec)
    _check_scaling_fits(n_all, rules_h if arch == "multilayer" else None, kind, rule, options,
                        trials=trials, seed=seed, pool=pool)
    stem, images = _scaling_outputs(out_dir, arch, kind, rule, rules_h, source, ctx)
    kept = out_dir / f"{stem}.checkpoint.json"
    protocol = search_protocol(kind, corruption, level, probes, seed, tol, ctx=ctx)
    from xbarmem.evaluation.scaling import SCALING_CUE_BUDGET, run_scaling  # (torch, SciPy)
    work = _search_work({n: (n, arch, w) for n, w in widths.items()}, trials, rule=rule, kind=kind,
                        probes=probes, cue_budget=SCALING_CUE_BUDGET, seed=seed, spec=spec,
                        options=options)
    with search_bar(work, "scaling", json_out) as bar, _resumable(kept):
        res = run_scaling(
            n_all, arch=arch, kind=kind, hidden=rules_h if arch == "multilayer" else None,
            rule=rule, chip=spec, thresholds=thresholds, protocol=protocol,
            trials=trials, seed=seed, pool_size=pool, resolution=resolution,
            rule_options=options or None, data=source, checkpoint=kept, keep_checkpoint=True,
            progress=lambda n, p, s: bar.tested(n, tested_line(f"N={n}", p, s, thresholds), p, s))
    warn_pool_limit([(f"N={run['n_neurons']}", run["lower_bound"],
                      run["settings"].get("pool_distinct")) for run in res["runs"]])
    res["settings"].update(chip=spec.to_dict(), **({} if images is None else {"images": images}))
    res.update(recalled_means=RECALLED, **run_options.run_record(threads))
    make_folder(out_dir)
    res["files"] = write_scaling(res, out_dir / f"{stem}.json", out_dir / f"{stem}.png")
    kept.unlink(missing_ok=True)  # (only now: a run killed before its files lost no count)
    if json_out:
        emit_json(res)
        return
    say_resumed(res["resumed"], kept)
    print_scaling(res, _scaling_title(res["settings"], protocol))


def _check_scaling_size(layouts: dict[int, list[int]], trials: int, probes: int,
                        pool: int | None, spec: ChipSpec) -> None:
    """Refuse a scaling run too large for the memory limit at its largest N (``layouts``: each
    N's layer widths), ``trials`` networks searched together with ``probes`` cues per pattern
    and a ``pool`` of patterns, before any search, naming the options to lower
    (:func:`given.check_request`)."""
    n_max = max(layouts)
    inner = layouts[n_max][1:-1]
    given.check_request(n_max, networks=trials, cues=trials * 2 * n_max * probes, pool=pool or 0,
                        hidden=inner or None, chip=spec, lower={
                            "--trials": trials, "--probes": probes, "--pool": pool,
                            "--sizes": list(layouts), "--hidden": inner})


def _check_scaling_fits(sizes: list[int], rules_h: tuple | None, kind: str, rule: str,
                        options: dict, *, trials: int, seed: int, pool: int | None) -> None:
    """Refuse a scaling run whose training at a count some N's search may test the trainer
    would refuse mid-run (:func:`~xbarmem.evaluation.scaling.check_fits` of ``rule`` with
    ``options`` on ``kind`` patterns, under scaling's cue budget), before any search, naming
    ``--pool`` (what caps each search) and the options to lower."""
    from xbarmem.evaluation.scaling import SCALING_CUE_BUDGET, check_fits
    from xbarmem.evaluation.search_plan import applied_budget

    check_fits(sizes, rules_h, {
        "kind": kind, "rule": rule, "rule_options": options, "seed": seed, "trials": trials,
        "pool": pool, "cue_budget": applied_budget(SCALING_CUE_BUDGET, rule)}, pool_word="--pool",
        lower=given.to_lower({"--trials": trials, "--sizes": sizes}))


def _scaling_title(settings: dict, protocol: Protocol) -> str:
    """Scaling's title line: the figure's title (:func:`~xbarmem.viz.figures.scaling_title`
    of the result's ``settings``) on one line, then a ``tol`` not the default."""
    from xbarmem.viz.figures import scaling_title

    return "scaling: " + scaling_title(settings).replace("\n", "; ") + tol_words(protocol)


def _scaling_outputs(out_dir: Path, arch: str, kind: str, rule: str, rules_h: tuple,
                     source, ctx: typer.Context) -> tuple[str, str | None]:
    """A scaling run's file stem (its settings -- a multilayer's hidden rule per layer,
    ``-ratio1`` or ``-fixed64-fixed32`` --, and :func:`_data_tag`) and its data file's
    fingerprint (None for a built-in or drawn source), after checking, before any work, the
    names it writes in ``out_dir`` (none of them an input file of the command ``ctx``) and
    warning when it replaces results of other data."""
    hidden = "".join(f"-{r.kind}{r.value_text}" for r in rules_h)
    stem = f"scaling-{arch}-{kind}" + (hidden if arch == "multilayer" else f"-{rule}") + _data_tag(
        source)
    paths.check_members(out_dir, [f"{stem}.checkpoint.json", f"{stem}.json", f"{stem}.png"],
                        inputs=paths.input_files(ctx))
    images = None if isinstance(source, str) else source.fingerprint
    warn_replacing(out_dir / f"{stem}.json", source_name(source), images)
    return stem, images


@contextlib.contextmanager
def _resumable(kept: Path | None, hint: str = "") -> Iterator[None]:
    """Ctrl-C inside: "interrupted", with where the tested counts are kept (the words of a
    sweep's stop), else "aborted" and ``hint`` (how to keep them next time), exit 130 (SIGTERM:
    143, SIGHUP: 129)."""
    try:
        yield
    except KeyboardInterrupt as exc:  # (SIGTERM too: Terminated)
        line = f"aborted{hint}"
        if kept is not None and kept.exists():
            line = (f"interrupted: the tested counts are kept in {kept}; run the same command "
                    "again to resume")
        console.print(line, highlight=False, soft_wrap=True)
        raise typer.Exit(interrupted_code(exc)) from None
