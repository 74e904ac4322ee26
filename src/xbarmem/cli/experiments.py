"""``xbarmem sweep | results | plot | reproduce``: experiments with a crash-safe results store."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xbarmem.cli import options as o
from xbarmem.cli.common import _emit_json, app, console, out
from xbarmem.cli.progress import work_bar
from xbarmem.errors import ConfigError

JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", metavar="N", help="Local worker processes (1 = in this process).")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", metavar="N", help="Start a local Dask cluster with this many worker "
    "processes.")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="URL", help="Use an existing Dask cluster, e.g. tcp://HOST:8786.")]
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", "-w", metavar="FIELD=VALUE", help="Row filter (also != < <= > >= ~); FIELD is a "
    "config key (rule, fault_rate, chip_spec.device.write_noise, ...), result.KEY, sweep, "
    "trial or version. Repeatable (all must hold).")]
SweepOpt = Annotated[str | None, typer.Option(
    "--sweep", metavar="NAME", help="Only this sweep's rows.")]
StoreArg = Annotated[Path, typer.Argument(metavar="STORE", help="SQLite results store.")]
PlotOut = o.out("figure file (.png or .svg; default KIND.png)")
ReproduceOut = o.out("folder for the report, figures and store")


@contextlib.contextmanager
def _interruptible(store: Path):
    """Ctrl-C: say where the finished trials are and exit 130 (finished groups are stored)."""
    try:
        yield
    except KeyboardInterrupt:
        console.print(f"interrupted: finished trials are in {store}; run the same command "
                      f"again to resume")
        raise SystemExit(130) from None


def run_with_progress(spec, store: Path, *, jobs: int, workers: int | None,
                      scheduler: str | None, quiet: bool = False):
    """Run a sweep (or a list of sweeps in one queue) with a Rich progress bar: the bar and
    the ETA follow the estimated work (``trial_cost``), so costly trials count for what they
    cost; trials done / pending beside it."""
    from xbarmem.experiments.runner import run_sweep

    specs = spec if isinstance(spec, list) else [spec]
    name = specs[0].name if len(specs) == 1 else f"{len(specs)} sweeps"
    total = sum(len(s.trials) for s in specs)
    counts = {"done": 0, "todo": 0}
    with work_bar(console, disable=quiet) as bar:
        task = bar.add_task(f"sweep {name}", total=None, detail="")

        def plan(todo: int, already: int) -> None:
            counts["todo"] = todo
            bar.update(task, description=f"{name} ({already} of {total} already stored)",
                       detail=f"0/{todo} trials")

        def trials(n: int) -> None:
            counts["done"] += n
            bar.update(task, detail=f"{counts['done']}/{counts['todo']} trials")

        report = run_sweep(spec, store, jobs=jobs, workers=workers, scheduler=scheduler,
                           on_plan=plan, on_progress=trials,
                           on_work=lambda done, all_: bar.update(task, completed=done,
                                                                 total=all_ or 1))
    return report


@app.command("sweep", short_help="Run a TOML sweep into a resumable results store.",
             help="Run a TOML sweep (grid of trials x seeds) into a SQLite results store; "
                  "finished trials are skipped, so a killed sweep resumes where it stopped.")
def sweep_cmd(
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="Sweep file (.toml).")
                    ] = None,
    store: Annotated[Path, typer.Option("--store", "-s", metavar="FILE",
                                        help="SQLite results store.")] = Path("results.sqlite"),
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate and count trials; run nothing.")] = False,
    list_options: Annotated[bool, typer.Option(
        "--list-options", help="Print every sweep option with its default and exit.")] = False,
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore
    from xbarmem.experiments.sweep import load_sweep, option_help

    if list_options:
        typer.echo(option_help())
        return
    if file is None:
        raise ConfigError("give a sweep file (xbarmem sweep FILE --store results.sqlite)")
    spec = load_sweep(file)
    if dry_run:
        from xbarmem.experiments.runner import pending_groups
        from xbarmem.experiments.trial import plan_groups

        if store.is_file():
            with ResultStore(store) as db:
                groups, already = pending_groups(spec, db)
        else:  # a dry run creates nothing
            groups, already = plan_groups(spec.trials, spec.batch), 0
        summary = {"sweep": spec.name, "trials": len(spec.trials), "already_stored": already,
                   "pending_groups": len(groups), "store": str(store)}
        _emit_json(summary) if json_out else out.print(summary)
        return
    with _interruptible(store):
        report = run_with_progress(spec, store, jobs=jobs, workers=workers,
                                   scheduler=scheduler, quiet=json_out)
    if json_out:
        _emit_json({"sweep": spec.name, "store": str(store), **report.as_dict()})
    else:
        out.print(f"sweep {spec.name}: {report.total} trials, {report.already} already stored, "
                  f"{report.inserted} new rows ({report.executor}, {report.seconds:.1f} s) -> "
                  f"{store}")
        for failure in report.failures:
            out.print(f"[red]failed group[/red] ({len(failure['keys'])} trials): "
                      f"{failure['error']}")
    if report.failures:
        raise SystemExit(1)  # (typer.Exit's code is lost when the app runs non-standalone)


_DEFAULT_COLUMNS = ("sweep", "rule", "n_neurons", "patterns", "fault_rate", "variation", "level",
                    "seed")


@app.command("results", help="List, filter and export the rows of a results store.")
def results_cmd(
    store: StoreArg,
    where: WhereOpt = None,
    sweep: SweepOpt = None,
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", metavar="FILE", help="Export the rows to CSV.")] = None,
    parquet_path: Annotated[Path | None, typer.Option(
        "--parquet", metavar="FILE", help="Export the rows to Parquet (needs pyarrow).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", metavar="N", help="Show at most this many rows (not with --json).")] = 50,
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore

    if not store.is_file():
        raise ConfigError(f"no such results store: {store}")
    conditions = where or []
    with ResultStore(store) as db:
        total = db.count(conditions, sweep)
        for target in (csv_path, parquet_path):
            if target is not None:
                db.export(target, conditions, sweep)
                console.print(f"wrote {total} rows to {target}")
        if csv_path or parquet_path:
            return
        rows = db.rows(conditions, sweep, limit=None if json_out else limit)
        if json_out:
            _emit_json(rows)
            return
        table = Table(title=f"{store}: {total} rows" + (f" (first {limit})" if total > (
            limit or total) else ""))
        for col in (*_DEFAULT_COLUMNS, "cosine / capacity"):
            table.add_column(col)
        for r in rows:
            c, res = r["config"], r["result"]
            metric = (f"{res['cosine']:.4f}" if "cosine" in res else
                      " ".join(f"{k}:{v}" for k, v in res.get("capacity", {}).items()))
            fault = c.get("fault_rate")
            if fault is None:
                dev = c["chip_spec"]["device"]
                fault = dev["p_stuck_on"] + dev["p_stuck_off"]
            table.add_row(r["sweep"], c["rule"], str(c["n_neurons"]),
                          str(c.get("patterns", c.get("counts"))), f"{fault:g}",
                          f"{c['variation']:g}", f"{c['level']:g}", str(c["seed"]), metric)
        out.print(table)
        if not rows:
            out.print(f"sweeps in this store: {db.sweeps() or 'none'}")


@app.command("plot", short_help="Draw a figure from a results store.",
             help="Draw a figure from a results store: similarity vs stored patterns "
                  "(patterns), vs fault rate (faults), vs programming variation (variation), "
                  "or capacity vs N on log-log axes with the power-law fit (capacity).")
def plot_cmd(
    store: StoreArg,
    kind: Annotated[str, typer.Option(
        "--kind", metavar="KIND", help="patterns, faults, variation or capacity.")],
    out_path: PlotOut = None,
    svg: Annotated[bool, typer.Option("--svg", help="SVG instead of PNG (default name).")
                   ] = False,
    where: WhereOpt = None,
    sweep: SweepOpt = None,
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="Figure title.")] = "",
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore
    from xbarmem.viz.results import KINDS, plot_rows
    from xbarmem.viz.style import save_figure

    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not store.is_file():
        raise ConfigError(f"no such results store: {store}")
    path = out_path or Path(f"{kind}.{'svg' if svg else 'png'}")
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"figure file must end in .png or .svg, got {path.name}")
    with ResultStore(store) as db:
        rows = db.rows(where or [], sweep)
    save_figure(plot_rows(rows, kind, title=title), path)
    if json_out:
        _emit_json({"figure": str(path), "rows": len(rows)})
        return
    out.print(f"wrote {path} ({len(rows)} rows)")


@app.command("reproduce", short_help="Reproduce the paper's headline claims; write a report.",
             help="Run the paper's headline experiments through the sweep machinery "
                  "(resumable: the store lives in --out) and write OUT/report.md with each "
                  "claim, the paper's number, the measured number, the settings and the "
                  "figures.")
def reproduce_cmd(
    out_dir: ReproduceOut = Path("xbarmem-reproduce"),
    quick: Annotated[bool, typer.Option(
        "--quick", help="Fewer seeds and grid points (~10 min on 2 cores) instead of the "
        "full run (~2 h).")] = False,
    store: Annotated[Path | None, typer.Option(
        "--store", metavar="FILE", help="Results store (default OUT/results.sqlite).")] = None,
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.reproduce import reproduce

    out_dir.mkdir(parents=True, exist_ok=True)
    with _interruptible(store or out_dir / "results.sqlite"):
        report = reproduce(out_dir, quick=quick, store=store,
                           run=lambda spec, db: run_with_progress(
                               spec, db, jobs=jobs, workers=workers, scheduler=scheduler),
                           log=console.print)
    if json_out:
        _emit_json(report)
        return
    out.print(report["table"])
    out.print(f"report: {report['path']}  ({report['seconds']:.0f} s)")
