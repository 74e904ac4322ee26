"""``xbarmem capacity`` and ``xbarmem scaling``: capacity search and scaling fits."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xbarmem.cli import given, parsers
from xbarmem.cli import options as o
from xbarmem.cli.common import _emit_json, app, console, out
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec

if TYPE_CHECKING:
    from xbarmem.data.patterns import PatternSet
    from xbarmem.evaluation.capacity import CapacityResult
    from xbarmem.evaluation.checkpoint import SearchCheckpoint
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.evaluation.scaling import HiddenRule
    from xbarmem.hardware.faults import FaultMap

RECALLED = ("Recalled means: the mean cosine similarity between the final recall state and the "
            "stored pattern, over all cues, is at or above the threshold (binary: sign states; "
            "continuous: the final tanh state).")


def _protocol(kind: str, corruption: str | None, level: float | None, probes: int,
              seed: int, thresholds: list[float]) -> Protocol:
    """The recall protocol of a capacity search (warning about ``thresholds`` the cues pass
    by themselves)."""
    from xbarmem.evaluation.evaluate import Protocol

    if kind == "binary":
        protocol = Protocol(corruption=corruption or "flip",
                            level=0.05 if level is None else level, probes=probes,
                            activation="sign", seed=seed)
    else:
        protocol = Protocol(corruption=corruption or "gaussian",
                            level=0.6 if level is None else level, probes=probes,
                            activation="tanh", seed=seed)
    _warn_if_cues_pass(thresholds, protocol)
    return protocol


def _warn_if_cues_pass(thresholds: list[float], protocol: Protocol) -> None:
    """Warn when a threshold is at or below the similarity of the flipped cues themselves
    (``1 - 2 * level``): a memory that returns every cue unchanged passes it, so a capacity at
    that threshold does not measure recall."""
    if protocol.corruption != "flip":
        return
    own = 1.0 - 2.0 * protocol.level
    low = [t for t in thresholds if t <= own]
    if low:
        o.warn(f"threshold {', '.join(f'{t:g}' for t in low)} is at or below the cues' own "
               f"similarity ({own:g} with {protocol.level:g} flips): a memory that returns the "
               f"cue unchanged passes it, so that capacity does not measure recall")


class _Status(Progress):
    """Spinner with the latest tested count on a terminal; one log line per tested count when
    stderr is not a terminal (long runs redirected to a file stay observable)."""

    def update(self, task_id, **fields):  # type: ignore[override]
        if not console.is_terminal and "description" in fields:
            console.print(f"[{self.tasks[0].elapsed or 0:.0f} s] {fields['description']}",
                          highlight=False, soft_wrap=True)
        super().update(task_id, **fields)


def _progress() -> Progress:
    """The search's status line; the search's work begins (held warnings are printed)."""
    o.work_begins()
    return _Status(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                   console=console, transient=True, disable=not console.is_terminal)


CapacityArch = o.arch("single, multilayer, or both comma-separated (one table)")
CapacityLevel = o.level("0.05 flips; sigma 0.6 for continuous")
ScalingLevel = CapacityLevel
ScalingOut = o.out("folder for the PNG and JSON", folder=True)
ScalingData = Annotated[str, typer.Option(
    "--data", metavar="SET", parser=o.name_or_file,
    help="Pattern source: a built-in image set, mnist (whole image), "
    "mnist-crop24 (the authors' centred 24x24 window; N <= 576) or glyphs.")]


CapacityFaultMap = Annotated[Path | None, typer.Option(
    "--fault-map", metavar="FILE", parser=o.input_path,
    help="Fault map file (.npz/.csv), e.g. a measured chip's (chip import): every network on "
         "it (trials differ in their patterns and cues only) instead of a drawn map per trial "
         "(and of --faults).")]


CapacityCheckpoint = o.output(
    "--checkpoint", help="Keep every tested count in this JSON file until the search "
    "completes: the same command run again after an interruption resumes, with the same "
    "results.", suffixes=(".json",))


@app.command(
    "capacity", short_help="Largest number of patterns recalled above a threshold.",
    help="Largest number of stored patterns P whose mean recall similarity, and that at every "
         "smaller tested P, stays at or above each threshold; fresh random pattern subsets per "
         "trial, seeds recorded in --json. " + RECALLED)
@o.chip_options("spec")
@o.trainer_options("options")
@o.threads_option("threads")
def capacity_cmd(
    ctx: typer.Context,
    spec: ChipSpec,
    options: dict,
    threads: int,
    arch: CapacityArch = "single",
    hidden: o.HiddenSeveral = "32",
    data: o.Data = "digits",
    neurons: o.Neurons = "64",
    kind: o.Kind = "binary",
    pool: o.Pool = None,
    rule: o.Rule = "adaptive",
    corruption: o.Corruption = None,
    level: CapacityLevel = None,
    probes: o.Probes = 20,
    threshold: o.Threshold = "0.99",
    trials: o.Trials = 2,
    start: o.Start = None,
    resolution: o.Resolution = 0.0,
    seed: o.Seed = 0,
    json_out: o.Json = False,
    checkpoint: CapacityCheckpoint = None,
    side: o.OldSide = None,
    fault_map: CapacityFaultMap = None,
) -> None:
    from xbarmem.evaluation.capacity import find_capacity

    n_neurons = given.neurons_or_side(ctx, neurons, side)
    thresholds = parsers.thresholds(threshold)
    configs = _architectures(ctx, arch, hidden, rule, options)
    n_pool = pool if pool is not None else (2000 if data == "random" else None)
    fmap = _check_requests(ctx, configs, n_neurons, spec, fault_map, rule, options, n_pool=n_pool,
                           trials=trials, probes=probes)
    patterns = given.load_data(data, neurons=n_neurons, kind=kind, count=n_pool, seed=seed, ctx=ctx)
    protocol = _protocol(kind, corruption, level, probes, seed, thresholds)
    kept = None if checkpoint is None else _checkpoint(checkpoint, patterns, spec, fmap, {
        "rule": rule, "protocol": protocol.as_dict(), "trials": trials, "seed": seed,
        "rule_options": options or {}})

    def search(a: str, h: list[int] | None, progress: Callable[[int, float], None],
               measured: dict | None) -> CapacityResult:
        return find_capacity(
            patterns, arch=a, chip=spec, rule=rule, hidden=(h or 32) if a == "multilayer" else None,
            thresholds=thresholds,
            protocol=protocol, trials=trials, seed=seed, start=start, resolution=resolution,
            rule_options=options or None, faults=fmap, progress=progress, measured=measured)

    results = _run_searches(configs, patterns.n_neurons, kept, search)
    _warn_pool_limit([(label, res.as_dict()) for label, res in results])
    _report(results, kept, json_out, threads, thresholds,
            f"capacity on {patterns.name} ({rule if 'single' in arch else 'adaptive'}, "
            f"{protocol.corruption} {protocol.level:g}, {trials} trial(s))")


def _report(results: list[tuple[str, CapacityResult]], kept: SearchCheckpoint | None,
            json_out: bool, threads: int | None, thresholds: list[float], title: str) -> None:
    """The capacity command's output (JSON or a table under ``title``), then the checkpoint
    ``kept`` removed: only now, so a run killed before its output lost no count."""
    if json_out:
        _emit_json({"results": [{"architecture": label, **res.as_dict()}
                                for label, res in results],
                    "recalled_means": RECALLED, "threads": threads,
                    **({} if kept is None else {"resumed": kept.resumed})})
    else:
        if kept is not None:
            _say_resumed(kept.resumed, kept.path)
        _print_capacity(title, thresholds, results)
    if kept is not None:
        kept.remove()


def _run_searches(configs: list, n: int, kept: SearchCheckpoint | None,
                  search: Callable[..., CapacityResult]) -> list[tuple[str, CapacityResult]]:
    """Each architecture's ``search(arch, widths, progress, measured)`` under one status line,
    its tested counts kept in ``kept`` (a checkpoint, or None; the caller removes it);
    returns ``[(label, result)]``."""
    results = []
    with _progress() as bar, _resumable(None if kept is None else kept.path, hint=(
            " (with --checkpoint FILE.json a run keeps its tested counts and resumes)")):
        task = bar.add_task("searching", total=None)
        for a, spec_h in configs:
            h = None if spec_h is None else parsers.resolve_widths(spec_h, n)
            label = "single" if a == "single" else "-".join(map(str, [n, *h, n]))

            def shown(p: int, s: float, label: str = label) -> None:
                bar.update(task, description=f"{label} P={p}: similarity {s:.4f}")

            results.append((label, search(a, h, shown if kept is None else kept.saving(shown),
                                          None if kept is None else kept.measured(label))))
    return results


def _checkpoint(path: Path, patterns: PatternSet, spec: ChipSpec, fmap: FaultMap | None,
                key: dict) -> SearchCheckpoint:
    """The search checkpoint in ``path`` for these patterns, chip and fault map (by content),
    and ``key``'s settings."""
    from xbarmem.evaluation.checkpoint import SearchCheckpoint, fingerprint

    return SearchCheckpoint(path, {
        **key, "patterns": fingerprint(patterns.patterns), "kind": patterns.kind,
        "chip": spec.to_dict(), "fault_map": None if fmap is None else fingerprint(fmap.g_stuck)})


def _say_resumed(count: int, path: Path) -> None:
    """A line saying how many tested counts were reused from an interrupted run."""
    if count:
        out.print(f"resumed: {count} tested count(s) kept in {path} by an interrupted run "
                  "with these settings", highlight=False, soft_wrap=True)


def _check_requests(ctx: typer.Context, configs: list, n_neurons: int, spec: ChipSpec,
                    fault_map: Path | None, rule: str, options: dict, *, n_pool: int | None,
                    trials: int, probes: int):
    """Refuse, before any data is loaded, a search too large for the memory limit and a
    ``--fault-map`` that does not fit the chip or some architecture's arrays; returns the
    map (None without ``--fault-map``)."""
    stored = min(n_pool or 2 * n_neurons, 2 * n_neurons)  # counts tried: up to ~2N
    for _, spec_h in configs:
        widths = None if spec_h is None else parsers.resolve_widths(spec_h, n_neurons)
        given.check_request(n_neurons, networks=trials, cues=trials * stored * probes + (
            n_pool or 0), hidden=widths, chip=spec)  # (the pool's patterns count as cues)
    given.applies_only(ctx, "without --fault-map", "faults", applies=fault_map is None)
    if fault_map is None:
        return None
    from xbarmem.evaluation.curve import curve_trainer
    from xbarmem.hardware.faults import FaultMap

    fmap = FaultMap.load(fault_map).check_chip(spec, str(fault_map))
    for a, spec_h in configs:
        widths = [] if spec_h is None else parsers.resolve_widths(spec_h, n_neurons)
        given.check_map_arrays(fault_map, fmap, spec, [n_neurons, *widths, n_neurons],
                           curve_trainer(a, rule, options, 0).bias)
    return fmap


def _warn_pool_limit(results: list[tuple[str, dict]]) -> None:
    """A warning line per search (label, result dict) and threshold whose capacity is the
    whole pool (a lower bound)."""
    from xbarmem.evaluation.capacity import pool_limited

    for label, result in results:
        for t in pool_limited(result):
            o.warn(f"{label}: the capacity at {t} is all {result['settings']['pool_distinct']} "
                   "distinct patterns of the pool, so only a lower bound (no more to store)")


def _print_capacity(title: str, thresholds: list[float], results: list) -> None:
    table = Table(title=title)
    first = sorted(thresholds)[0]  # capacity per device is read at the lowest threshold
    for col in ("architecture", "devices", "arrays",
                *[f"C@{t:g}" for t in sorted(thresholds)], f"C@{first:g} per 1k devices",
                "counts tested", "seconds"):
        table.add_column(col, justify="right")
    from xbarmem.evaluation.capacity import pool_limited

    for label, res in results:
        limited = pool_limited(res.as_dict())
        table.add_row(label, str(res.devices.get("devices", "")),
                      str(res.devices.get("arrays", "")),
                      *[(">=" if str(t) in limited else "") + str(res.capacity[t])
                        for t in sorted(thresholds)],
                      f"{1000 * res.capacity_per_device[first]:.2f}", str(res.evaluations),
                      f"{res.seconds:.0f}")
    out.print(table)
    for label, res in results:
        out.print(f"{label} tested: " + ", ".join(f"{p['count']}:{p['cosine']:.3f}"
                                                 for p in res.points))


def _architectures(ctx: typer.Context, arch: str, hidden: str, rule: str, options: dict
                   ) -> list[tuple[str, list[parsers.Width] | None]]:
    """``--arch single,multilayer --hidden 32,128`` -> single, then one multilayer per width
    list (``-`` separates layers of one architecture, ``,`` separates architectures);
    ``--hidden`` given without a multilayer architecture is refused, and ``rule`` with
    ``options`` is checked for every architecture."""
    out: list[tuple[str, list[parsers.Width] | None]] = []
    widths = parsers.hidden_specs(hidden, several=True)  # checked even when unused
    for a in parsers.each_once([a.strip() for a in arch.split(",") if a.strip()], "--arch", arch):
        if a not in o.ARCHS:
            raise ConfigError(f"--arch must be one of {o.ARCHS} (comma-separated), got {a!r}")
        if a == "single":
            out.append(("single", None))
        else:
            out.extend(("multilayer", h) for h in widths)
    if not out:
        raise ConfigError("--arch is empty")
    given.applies_only(ctx, "to --arch multilayer", "hidden",
                   applies=any(a == "multilayer" for a, _ in out))
    for a in dict.fromkeys(a for a, _ in out):
        parsers.check_rule_options(rule, options, multilayer=a == "multilayer")
    return out


def _hidden_rule(text: str) -> HiddenRule:
    """Scaling's hidden width: ``H`` (every N) or ``Rn`` (``round(R N)``); the old ``fixed:H`` /
    ``ratio:R`` spellings still work, with a warning."""
    from xbarmem.evaluation.scaling import HiddenRule

    if ":" in text:
        rule = HiddenRule.parse(text)
        new = (f"{int(rule.value)}" if rule.kind == "fixed" else f"{rule.value:g}n")
        o.warn_deprecated(f"--hidden {text} is deprecated; use --hidden {new}")
        return rule
    several = ConfigError(f"--hidden: scaling takes one hidden width (H, an integer >= 1, or "
                          f"a multiple of N such as 1n), got {text!r}")
    if "," in text:  # (hidden_specs would suggest 64-32, which scaling does not take either)
        raise several
    try:
        (widths,) = parsers.hidden_specs(text)
    except ConfigError:  # (its message speaks of layers and architectures scaling never takes)
        raise several from None
    if len(widths) != 1:
        raise several
    (w,) = widths
    return HiddenRule.parse(f"fixed:{w}" if isinstance(w, int) else f"ratio:{w[0]!r}")


@app.command(
    "scaling", short_help="Capacity against N on MNIST, with a power-law fit.",
    help="Capacity at each N on an image set (--data; MNIST by default) resized to side "
         "sqrt(N) (binary: binarised at each "
         "image's mean; continuous: scaled to [-1, 1], Gaussian cues); fits log C against "
         "log N (slope with a 95% confidence interval); writes a PNG and JSON. Every tested "
         "count is kept in OUT/scaling-...checkpoint.json until the run completes: the same "
         "command run again after an interruption resumes, with the same results. " + RECALLED)
@o.chip_options("spec")
@o.trainer_options("options")
@o.threads_option("threads")
def scaling_cmd(
    ctx: typer.Context,
    spec: ChipSpec,
    options: dict,
    threads: int,
    arch: o.Arch = "multilayer",
    kind: o.Kind = "binary",
    data: ScalingData = "mnist",
    sizes: o.Sizes = "64,144,256,400,576,784",
    hidden: o.HiddenOne = "32",
    rule: o.Rule = "adaptive",
    corruption: o.Corruption = None,
    level: ScalingLevel = None,
    probes: o.Probes = 5,
    threshold: o.Threshold = "0.99",
    trials: o.Trials = 1,
    pool: o.Pool = None,
    resolution: o.Resolution = 0.05,
    seed: o.Seed = 0,
    out_dir: ScalingOut = Path("xbarmem-out"),
    json_out: o.Json = False,
) -> None:
    given.check_arch(ctx, arch, rule)
    thresholds, hidden_rule = parsers.thresholds(threshold), _hidden_rule(hidden)
    parsers.check_rule_options(rule, options, multilayer=arch == "multilayer")
    n_all = parsers.neuron_sizes(sizes, data=data)
    n_max = max(n_all)
    width = hidden_rule.width(n_max) if arch == "multilayer" else None
    given.check_request(n_max, networks=trials, cues=trials * 2 * n_max * probes + (pool or 0),
                    hidden=[width] if width else None, chip=spec)
    protocol = _protocol(kind, corruption, level, probes, seed, thresholds)  # (warns: last)
    from xbarmem.evaluation.scaling import run_scaling  # (torch, SciPy: only once checked)

    stem = f"scaling-{arch}-{kind}" + (f"-{hidden_rule.kind}{hidden_rule.value:g}"
                                       if arch == "multilayer" else f"-{rule}")
    kept = out_dir / f"{stem}.checkpoint.json"
    with _progress() as bar, _resumable(kept):
        task = bar.add_task("scaling", total=None)
        res = run_scaling(
            n_all, arch=arch, kind=kind,
            hidden=hidden_rule if arch == "multilayer" else None, rule=rule,
            chip=spec, thresholds=thresholds, protocol=protocol,
            trials=trials, seed=seed, pool_size=pool, resolution=resolution,
            rule_options=options or None, data=data, checkpoint=kept, keep_checkpoint=True,
            progress=lambda n, p, s: bar.update(task, description=f"N={n} P={p}: {s:.4f}"))
    _warn_pool_limit([(f"N={run['n_neurons']}", run) for run in res["runs"]])
    res["settings"]["chip"] = spec.to_dict()
    res["recalled_means"] = RECALLED
    res["threads"] = threads
    out_dir.mkdir(parents=True, exist_ok=True)
    res["files"] = _write_scaling(res, out_dir / f"{stem}.json", out_dir / f"{stem}.png")
    kept.unlink(missing_ok=True)  # (only now: a run killed before its files lost no count)
    if json_out:
        _emit_json(res)
        return
    from xbarmem.viz.figures import scaling_title

    _say_resumed(res["resumed"], kept)
    _print_scaling(res, "scaling: " + scaling_title(res["settings"]).replace("\n", "; "))


@contextlib.contextmanager
def _resumable(kept: Path | None, hint: str = "") -> Iterator[None]:
    """Ctrl-C inside: "aborted", with where the tested counts are kept, else ``hint`` (how
    to keep them next time), exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        if kept is not None and kept.exists():
            hint = f": the tested counts are kept in {kept}; the same command resumes"
        console.print(f"aborted{hint}", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None


def _write_scaling(res: dict, json_path: Path, png_path: Path) -> dict[str, str]:
    """Write the scaling plot and JSON; returns their paths as ``{"json": ..., "png": ...}``."""
    from xbarmem.jsontext import dumps
    from xbarmem.viz.figures import scaling_plot  # (matplotlib: only once there is a result)
    from xbarmem.viz.style import save_figure

    save_figure(scaling_plot(res), png_path)
    json_path.write_text(dumps(res, indent=2))
    return {"json": str(json_path), "png": str(png_path)}


def _print_scaling(res: dict, title: str) -> None:
    out.print(title)  # (a line of its own: a table title wraps to the table's width)
    table = Table()
    table.add_column("N", justify="right")
    for t in res["capacity"]:
        table.add_column(f"C@{t}", justify="right")
    for i, n in enumerate(res["sizes"]):
        table.add_row(str(n), *(str(c[i]) for c in res["capacity"].values()))
    out.print(table)
    for t, fit in res["fits"].items():
        if fit is None:
            out.print(f"threshold {t}: not enough non-zero capacities to fit")
        else:
            ci = ("" if math.isnan(fit["slope_low"]) else
                  f" ({100 * fit['confidence']:.0f}% CI {fit['slope_low']:.2f}.."
                  f"{fit['slope_high']:.2f})")
            out.print(f"threshold {t}: C ~ N^{fit['slope']:.2f}{ci}, R^2 {fit['r2']:.3f}")
    out.print(f"wrote {res['files']['png']} and {res['files']['json']}")
