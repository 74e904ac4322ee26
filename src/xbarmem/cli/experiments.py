"""``xbarmem sweep | results | plot | reproduce``: experiments with a crash-safe results store."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from xbarmem.cli import given, paths
from xbarmem.cli import options as o
from xbarmem.cli.common import _emit_json, app, console, out, print_fields
from xbarmem.cli.progress import work_bar
from xbarmem.errors import ConfigError, ExecutorLost

JobsOpt = o.Jobs
WorkersOpt = o.Workers
SchedulerOpt = o.Scheduler
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", "-w", metavar="FIELD=VALUE", help="Row filter (also != < <= > >= ~); FIELD is a "
    "config key (rule, fault_rate, chip_spec.device.write_noise, ...), result.KEY "
    "(result.capacity.0.99), sweep, trial or version; one that no row has is refused. "
    "Repeatable (all must hold).")]
SweepOpt = Annotated[str | None, typer.Option(
    "--sweep", metavar="NAME", help="Only this sweep's rows.")]
StoreArg = Annotated[Path, typer.Argument(metavar="STORE", help="SQLite results store.",
                                          parser=o.input_path)]
PlotOut = o.out("figure file (.png or .svg; default KIND.png)", suffixes=(".png", ".svg"))
ReproduceOut = o.out("folder for the report, figures and store", folder=True)
CsvOut = o.output("--csv", help="Export every matching row to CSV (a view's --group-by, "
                  "--metric, --columns and --limit do not apply).", suffixes=(".csv",))
ParquetOut = o.output("--parquet", help="Export the rows to Parquet (needs pyarrow).",
                      suffixes=(".parquet",))
StoreOpt = Annotated[Path, typer.Option("--store", "-s", metavar="FILE",
                                        help="SQLite results store.",
                                        parser=o.output_path)]
ReproduceStore = o.output("--store", help="Results store (default OUT/results.sqlite).")
ReproduceRecipe = Annotated[str, typer.Option(
    "--recipe", metavar="NAME", autocompletion=o.completes(lambda: o.RECIPES),
    help=f"Recipe of the hardware-adaptive rule for every trial it trains: "
    f"{', '.join(o.RECIPES)} (a recipe other than default runs its own sweeps, named after "
    f"it).")]
ReproduceProducts = Annotated[str, typer.Option(
    "--products", metavar="PRECISION", autocompletion=o.completes(lambda: o.PRODUCTS),
    help=f"Precision of the hardware-adaptive rule's training products in the experiments of "
    f"large networks (section (e)): {', '.join(o.PRODUCTS)} (bf16: faster on CPUs with "
    f"bfloat16 instructions, and (e)'s numbers then depend on the CPU; its sweeps are named "
    f"after it).")]


@contextlib.contextmanager
def _interruptible(store: Path):
    """Ctrl-C: say where the finished trials are and exit 130; a lost Dask scheduler: the
    same in one error line, exit 1 (finished groups are stored either way)."""
    try:
        yield
    except KeyboardInterrupt:
        console.print(f"interrupted: finished trials are in {store}; run the same command "
                      f"again to resume")
        raise SystemExit(130) from None
    except ExecutorLost as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}; finished trials are in {store}; "
                      f"run the same command again to resume", soft_wrap=True)
        raise SystemExit(1) from None


def run_with_progress(spec, store: Path, *, jobs: int, workers: int | None,
                      scheduler: str | None, quiet: bool = False, threads: int = 1):
    """Run a sweep (or a list of sweeps in one queue) with a Rich progress bar: the bar and
    the ETA follow the estimated work (``trial_cost``), so costly trials count for what they
    cost; trials done / pending beside it. Every trial runs with ``threads`` torch threads."""
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
                                                                 total=all_ or 1),
                           threads=threads)
    return report


def _check_scheduler(scheduler: str | None) -> None:
    """Refuse a ``--scheduler`` that does not answer as a Dask scheduler with a worker (one
    line, exit 2), before anything is made."""
    if scheduler:
        from xbarmem.experiments.executors import check_scheduler

        check_scheduler(scheduler)


@contextlib.contextmanager
def _workers_ahead(jobs: int, workers: int | None, scheduler: str | None, work: bool):
    """Start the local process pool's workers now (``--jobs`` > 1, no Dask) when the run is
    known to have ``work``, so that they start while this process imports the trial code and
    plans the sweeps; shut them down on the way out if the run did not take them."""
    from xbarmem.experiments import pool

    if work and not workers and not scheduler:
        pool.prestart(jobs)
    try:
        yield
    finally:
        pool.discard()


DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Validate and count trials; run nothing (so not with --jobs, --workers, "
    "--scheduler or --threads).")]


ListOptions = Annotated[bool, typer.Option(
    "--list-options", help="Print every sweep option with its default and exit (alone: not "
    "with FILE, --store, --jobs, --workers, --scheduler, --dry-run, --json or --threads).")]


def _list_options() -> None:
    """``sweep --list-options``: every option a sweep file may set."""
    from xbarmem.experiments.trial_options import option_help

    typer.echo(option_help())


@app.command("sweep", short_help="Run a TOML sweep into a resumable results store.",
             help="Run a TOML sweep (grid of trials x seeds) into a SQLite results store; "
                  "finished trials are skipped, so a killed sweep resumes where it stopped.")
@o.threads_option("threads")
def sweep_cmd(
    ctx: typer.Context,
    threads: int,
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="Sweep file (.toml).",
                                                parser=o.input_path)] = None,
    store: StoreOpt = Path("results.sqlite"),
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    dry_run: DryRun = False,
    list_options: ListOptions = False,
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore
    from xbarmem.experiments.sweep import load_sweep

    _check_sweep_options(ctx, list_options, dry_run, workers, scheduler, file, store)
    if list_options:
        return _list_options()
    if file is None:
        raise ConfigError("give a sweep file (xbarmem sweep FILE --store results.sqlite)")
    holds_trials = False
    if not dry_run:  # the store first: a foreign file is refused before the sweep is read
        paths.check_output(store, "--store")
        holds_trials = store.is_file() and ResultStore.check(store) == "store"
    spec = load_sweep(file)
    if dry_run:
        from xbarmem.experiments.runner import pending_groups
        from xbarmem.experiments.trial import plan_groups

        if store.is_file() and ResultStore.check(store) == "store":
            with ResultStore(store, readonly=True) as db:
                groups, already = pending_groups(spec, db)
        else:  # a dry run creates nothing
            groups, already = plan_groups(spec.trials, spec.batch), 0
        summary = {"sweep": spec.name, "trials": len(spec.trials), "already_stored": already,
                   "pending_groups": len(groups), "store": str(store)}
        _emit_json(summary) if json_out else print_fields(summary, "dry run: nothing was run")
        return
    _check_scheduler(scheduler)  # before the store is made and the progress bar shown
    work = True  # some trial to run: a new (or empty) store, or one missing a trial
    if holds_trials:
        work = _check_stored(store, spec)
    with _interruptible(store), _workers_ahead(jobs, workers, scheduler, work):
        report = run_with_progress(spec, store, jobs=jobs, workers=workers,
                                   scheduler=scheduler, quiet=json_out, threads=threads)
    if json_out:
        _emit_json({"sweep": spec.name, "store": str(store), **report.as_dict()})
    else:
        out.print(f"sweep {spec.name}: {report.total} trials, {report.already} already stored, "
                  f"{report.inserted} new rows ({report.executor}, {report.seconds:.1f} s) -> "
                  f"{store}")
        for failure in report.failures:  # one line each, on stderr
            count = len(failure["keys"])
            console.print(f"[red]failed group[/red] of sweep {escape(failure['sweep'])} ({count} "
                          f"trial{'s' * (count != 1)}: {escape(failure['group'])}): "
                          f"{escape(failure['error'])}", soft_wrap=True)
    if report.failures:
        raise SystemExit(1)  # (typer.Exit's code is lost when the app runs non-standalone)


def _check_stored(store: Path, spec) -> bool:
    """Whether ``store`` misses some trial of ``spec``; a warning when it holds rows of the
    sweep's name that the sweep does not plan (an edited file, another xbarmem version):
    ``results`` and ``plot`` would show them beside the new rows."""
    from xbarmem.experiments.store import ResultStore

    with ResultStore(store, readonly=True) as db:
        planned = len(db.finished([t.key for t in spec.trials]))
        other = db.sweeps().get(spec.name, 0) - planned
    if other > 0:
        o.warn(f"{store} already holds {other} row(s) of sweep {spec.name!r} that this file "
               "does not plan (other settings, or another xbarmem version); results and plot "
               "show them beside this run's rows unless filtered (--where version=...), or "
               "use another --store")
    return planned < len(spec.trials)


def _check_sweep_options(ctx: typer.Context, list_options: bool, dry_run: bool,
                         workers: int | None, scheduler: str | None, file: Path | None,
                         store: Path) -> None:
    """Refuse options that the chosen mode does not read (--list-options prints and exits, a
    dry run counts trials and runs nothing), and a store that is the sweep file."""
    given.applies_only(ctx, "without --list-options", "file", "store", "jobs", "workers",
                   "scheduler", "dry_run", "json_out", "threads", applies=not list_options)
    given.applies_only(ctx, "without --dry-run", "jobs", "workers", "scheduler", "threads",
                   applies=not dry_run)
    given.check_executor_options(ctx, workers, scheduler)
    paths.check_distinct({"--store": store}, {"FILE": file})


_DEFAULT_COLUMNS = ("sweep", "rule", "n_neurons", "patterns", "fault_rate", "variation", "level",
                    "seed")
GroupBy = Annotated[str | None, typer.Option(
    "--group-by", "-g", metavar="FIELD[,FIELD...]", help="Group rows with equal values of these "
    "fields (e.g. rule,fault_rate) and show each metric's mean and std over the rest (seeds) "
    "with the number of rows n (not with --csv or --parquet).")]
Metrics = Annotated[str | None, typer.Option(
    "--metric", "-m", metavar="NAME[,NAME...]", help="--group-by: result values shown "
    "(cosine, exact, capacity.0.99, ...; default: cosine and exact, or the capacities; --json: "
    "all). The table of rows shows the cosine, or the capacities.")]
Columns = Annotated[str | None, typer.Option(
    "--columns", "-c", metavar="FIELD[,FIELD...]", help="Fields shown per row (default: "
    "those of sweep, rule, n_neurons, patterns, fault_rate, variation, level, seed that vary; "
    "not with --group-by or --json).")]


@app.command("results", help="List, filter, group and export the rows of a results store.")
def results_cmd(
    ctx: typer.Context,
    store: StoreArg,
    where: WhereOpt = None,
    sweep: SweepOpt = None,
    group_by: GroupBy = None,
    metric: Metrics = None,
    columns: Columns = None,
    csv_path: CsvOut = None,
    parquet_path: ParquetOut = None,
    limit: o.Limit = 50,
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.grouping import group_rows, parse_fields
    from xbarmem.experiments.store import ResultStore

    by = parse_fields(group_by, "--group-by") if group_by is not None else None
    chosen = parse_fields(metric, "--metric") if metric is not None else None
    shown = parse_fields(columns, "--columns") if columns is not None else None
    _check_view(ctx, by is not None, csv_path is not None or parquet_path is not None, json_out)
    paths.check_distinct({"--csv": csv_path, "--parquet": parquet_path}, {"STORE": store})
    paths.check_input(store, "results store")
    conditions = where or []
    with ResultStore(store, readonly=True) as db:
        db.check_fields(by or [], "--group-by")
        db.check_fields(chosen or [], "--metric", prefix="result.")
        db.check_fields([c for c in shown or [] if c not in _DEFAULT_COLUMNS], "--columns")
        total = db.count(conditions, sweep)
        written = [t for t in (csv_path, parquet_path) if t is not None]
        for target in written:
            db.export(target, conditions, sweep)
            console.print(f"wrote {total} rows to {target}")
        if written:
            if json_out:
                _emit_json({"files": [str(t) for t in written], "rows": total})
            return
        rows = db.rows(conditions, sweep, limit=None if json_out or by else limit)
        sweeps = db.sweeps()
    if not rows and not json_out:  # one line, not an empty table
        which = (" that can be read" if total else " match the filters" if conditions or sweep
                 else " stored yet")
        listed = ", ".join(f"{name} ({n})" for name, n in sweeps.items()) or "none"
        out.print(f"{store}: no rows{which} (sweeps in this store: {listed})", soft_wrap=True)
    elif by is not None:
        groups = group_rows(rows, by, chosen)
        _emit_json(groups) if json_out else _print_groups(store, groups, by, rows, chosen)
    elif json_out:
        _emit_json(rows)
    else:
        _print_rows(store, rows, total, limit, shown)


def _check_view(ctx: typer.Context, grouped: bool, exported: bool, json_out: bool) -> None:
    """Refuse options that the chosen view does not read: an export writes every matching row;
    groups show their fields and metrics; the table of rows its columns, up to --limit."""
    given.applies_only(ctx, "without --csv or --parquet", "group_by", "metric", "columns", "limit",
                   applies=not exported)
    given.applies_only(ctx, "with --group-by", "metric", applies=grouped)
    given.applies_only(ctx, "without --group-by or --json", "columns", "limit",
                   applies=not grouped and not json_out)


def _value(row: dict, name: str):
    """A row's field, with the store's conventions for the default columns: ``patterns`` of a
    capacity trial is its list of counts, ``fault_rate`` of a chip with its own stuck rates is
    their sum."""
    from xbarmem.experiments.grouping import field

    value = field(row, name)
    if name == "patterns" and value is None:
        value = field(row, "counts")
    if name == "fault_rate" and value is None:
        config = row.get("config")
        spec = config.get("chip_spec") if isinstance(config, dict) else None
        dev = spec.get("device") if isinstance(spec, dict) else None
        if isinstance(dev, dict):
            value = dev.get("p_stuck_on", 0.0) + dev.get("p_stuck_off", 0.0)
    return value


def _text(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _print_rows(store: Path, rows: list[dict], total: int, limit: int | None,
                shown: list[str] | None) -> None:
    """One line per row: the chosen fields (default: the default columns and the rows' rule
    options that vary among the rows shown; the constant ones in the caption, which says
    whether it speaks of every row or of the first ``limit``) and the row's results (cosine
    and exact recall, or capacities); cells fold, never cut."""
    cells = {c: [_text(_value(r, c)) for r in rows] for c in (shown or _default_columns(rows))}
    same = {c: v[0] for c, v in cells.items() if len(set(v)) == 1}  # (one row: all of them)
    if shown is None:
        cells = {c: v for c, v in cells.items() if c not in same}
    title = (f"{store}: {total} row{'s' if total != 1 else ''}"
             + (f" (first {limit})" if total > (limit or total) else ""))
    where = "every row" if len(rows) == total else f"the {len(rows)} rows shown"
    caption = (f"same in {where}: " + ", ".join(f"{c}={v}" for c, v in same.items())
               if same and shown is None else None)
    table = Table(title=title, caption=caption)
    results = _result_cells(rows)
    for col in cells:  # (narrow minimum: on a narrow terminal the fields fold, not the results)
        table.add_column(col, overflow="fold", min_width=min(len(col), 5))
    for col in results:
        table.add_column(col, overflow="fold", min_width=min(len(col), 12))
    for i in range(len(rows)):
        table.add_row(*(v[i] for v in cells.values()), *(v[i] for v in results.values()))
    out.print(table)


def _default_columns(rows: list[dict]) -> tuple[str, ...]:
    """The default columns, then ``rule_options.KEY`` of every rule option the rows set."""
    options = sorted({f"rule_options.{k}" for r in rows
                      for k in ((r.get("config") or {}).get("rule_options") or {})
                      if k != "seed"})
    return (*_DEFAULT_COLUMNS, *options)


def _result_cells(rows: list[dict]) -> dict[str, list[str]]:
    """The rows' results as columns: cosine and exact recall (rows of recall), capacity at
    each threshold (rows of capacity searches); "-" where a row has none."""
    results = [r.get("result") or {} for r in rows]
    cells: dict[str, list[str]] = {}
    for name in ("cosine", "exact"):
        if any(name in res for res in results):
            cells[name] = [f"{res[name]:.4f}" if isinstance(res.get(name), float) else
                           _text(res.get(name)) for res in results]
    if any("capacity" in res for res in results):
        cells["capacity"] = [" ".join(f"{k}:{v}" for k, v in res.get("capacity", {}).items())
                             or "-" for res in results]
    return cells


def _print_groups(store: Path, groups: list[dict], by: list[str], rows: list[dict],
                  chosen: list[str] | None) -> None:
    """One line per group: its field values, n, and mean and std of each shown metric."""
    from xbarmem.experiments.grouping import metric_names

    names = chosen or [m for m in metric_names(rows)
                       if m in ("cosine", "exact") or m.startswith("capacity.")]
    table = Table(title=f"{store}: {len(rows)} row{'s' if len(rows) != 1 else ''} in "
                  f"{len(groups)} group{'s' if len(groups) != 1 else ''}", box=box.SIMPLE_HEAD,
                  caption="each metric: the mean over the n rows of a group, then +-std (sample "
                          "standard deviation)")
    for col in by:
        table.add_column(col, overflow="fold", min_width=min(len(col), 12))
    table.add_column("n", justify="right")
    for name in names:
        table.add_column(name, justify="right", overflow="fold", min_width=6)
        table.add_column("+-std", justify="right", overflow="fold", min_width=5)
    for g in groups:
        stats = []
        for name in names:
            mean, std = g["mean"].get(name), g["std"].get(name)
            stats += ["-" if mean is None else f"{mean:.4g}", "-" if std is None else f"{std:.2g}"]
        table.add_row(*(_text(g["group"][f]) for f in by), str(g["n"]), *stats)
    out.print(table)


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
    title: Annotated[str, typer.Option(
        "--title", metavar="TEXT",
        help="Figure title (default: the settings every drawn row shares).")] = "",
    json_out: o.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore
    from xbarmem.viz.results import KINDS, MAX_FACETS, plot_rows, pooled_settings
    from xbarmem.viz.style import save_figure

    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if svg and out_path is not None and out_path.suffix.lower() != ".svg":
        raise ConfigError(f"--svg contradicts --out {out_path}: the format follows the file "
                          f"name (name it .svg, or leave out --svg)")
    paths.check_input(store, "results store")
    path = paths.check_output(out_path or Path(f"{kind}.{'svg' if svg else 'png'}"))
    paths.check_distinct({"--out": path}, {"STORE": store})
    with ResultStore(store, readonly=True) as db:
        rows = db.rows(where or [], sweep)
    save_figure(plot_rows(rows, kind, title=title), path)
    pooled = pooled_settings(rows, kind)
    if pooled:
        o.warn(f"{len(pooled[1])} settings of {', '.join(pooled[0])} drawn pooled in one panel "
               f"(more than {MAX_FACETS}): each point is a mean over them; pick some with "
               f"--where (e.g. --where {pooled[0][0]}={pooled[1][0].split(',')[0]}) or "
               f"--sweep")
    bounds = [r for r in rows if kind == "capacity" and r["result"].get("lower_bound")]
    if bounds:
        o.warn(f"{len(bounds)} capacity row(s) drawn are lower bounds (every count tested "
               "passed: give larger counts, or a larger pool), marked by an upward arrow; the "
               "fit runs through them too")
    if json_out:
        _emit_json({"figure": str(path), "rows": len(rows)})
        return
    out.print(f"wrote {path} ({len(rows)} rows)")


@app.command("reproduce", short_help="Reproduce the paper's headline claims; write a report.",
             help="Run the paper's headline experiments through the sweep machinery "
                  "(resumable: the store lives in --out) and write OUT/report.md with each "
                  "claim, the paper's number, the measured number, the settings and the "
                  "figures.")
@o.threads_option("threads")
def reproduce_cmd(
    ctx: typer.Context,
    threads: int,
    out_dir: ReproduceOut = Path("xbarmem-reproduce"),
    quick: Annotated[bool, typer.Option(
        "--quick", help="Fewer seeds and grid points (one to two minutes on an idle 2-core "
        "machine) instead of the full run (under an hour there, with 2 jobs).")] = False,
    store: ReproduceStore = None,
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    json_out: o.Json = False,
    recipe: ReproduceRecipe = "default",
    products: ReproduceProducts = "float32",
) -> None:
    from xbarmem.experiments.store import ResultStore

    given.check_executor_options(ctx, workers, scheduler)
    if recipe not in o.RECIPES:
        raise ConfigError(f"--recipe must be one of {', '.join(o.RECIPES)}, got {recipe!r}")
    if products not in o.PRODUCTS:
        raise ConfigError(f"--products must be one of {', '.join(o.PRODUCTS)}, got "
                          f"{products!r}")
    if products != "float32":
        from xbarmem.learning.adaptive import check_products

        check_products(products)
    _check_scheduler(scheduler)  # before the folder and the store are made

    store_path = store or out_dir / "results.sqlite"
    # (a foreign file is refused here) a new (or empty) store certainly has trials to run; for
    # one holding trials that is known only once the sweeps are planned, so its workers start then
    fresh = not store_path.is_file() or ResultStore.check(store_path) != "store"
    out_dir.mkdir(parents=True, exist_ok=True)
    with _interruptible(store or out_dir / "results.sqlite"), _workers_ahead(
            jobs, workers, scheduler, work=fresh):
        from xbarmem.experiments.reproduce import reproduce  # while the workers start

        report = reproduce(out_dir, quick=quick, store=store, threads=threads, recipe=recipe,
                           products=products, run=lambda spec, db: run_with_progress(
                               spec, db, jobs=jobs, workers=workers, scheduler=scheduler,
                               threads=threads),
                           log=console.print)
    if json_out:
        _emit_json(report)
        return
    out.print(report["table"])
    out.print(f"report: {report['path']}  ({report['seconds']:.0f} s)")
