"""``xbarmem sweep | reproduce``: experiments run into a crash-safe results store."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from xbarmem.checks import counted, seconds_text
from xbarmem.cli import given, option_types, output_options, paths, run_options
from xbarmem.cli.apps import FILE_KEYS, app
from xbarmem.cli.entry import interrupted_code
from xbarmem.cli.messages import warn
from xbarmem.cli.progress import planning, work_bar
from xbarmem.cli.records import FIELD_LABELS, emit_json, print_fields
from xbarmem.cli.streams import WRITE_FAILURES, write_failure
from xbarmem.cli.tables import console, out
from xbarmem.errors import ConfigError, ExecutorLost
from xbarmem.files import make_folder
from xbarmem.names import PRODUCTS, RECIPES

if TYPE_CHECKING:
    from xbarmem.experiments.store import ResultStore

JobsOpt = run_options.Jobs
WorkersOpt = run_options.Workers
SchedulerOpt = run_options.Scheduler
ReproduceOut = Annotated[Path, output_options.out(
    "folder for the report, figures and store", folder=True)]
StoreOpt = Annotated[Path, typer.Option("--store", "-s", metavar="FILE",
                                        help="SQLite results store.",
                                        parser=option_types.file_output_path)]
ReproduceStore = Annotated[Path | None, output_options.output(
    "--store", help="Results store (default OUT/results.sqlite).")]
ReproduceSections = Annotated[str | None, typer.Option(
    "--sections", metavar="LETTERS",
    help="Only these sections of the report, by their letters (comma-separated, e.g. b,e; "
    "default every section, a to g): their sweeps run and the report holds them alone.")]
ReproduceRecipe = Annotated[str, option_types.choice(
    "--recipe", metavar="NAME", choices=lambda: RECIPES,
    help=f"Recipe of the hardware-adaptive rule for every trial it trains: "
    f"{', '.join(RECIPES)} (a recipe other than default runs its own sweeps, named after "
    f"it).")]
ReproduceProducts = Annotated[str, option_types.choice(
    "--products", metavar="PRECISION", choices=lambda: PRODUCTS,
    help=f"Precision of the hardware-adaptive rule's training products in the experiments of "
    f"large networks (section (e)): {', '.join(PRODUCTS)} (bf16: faster on CPUs with "
    f"bfloat16 instructions, and (e)'s numbers then depend on the CPU; its sweeps are named "
    f"after it).")]


@contextlib.contextmanager
def _interruptible(store: Path):
    """Ctrl-C: say where the finished trials are and exit 130 (SIGTERM: 143, SIGHUP: 129); a
    lost Dask scheduler: the same in one error line, exit 1 (finished groups are stored either
    way)."""
    try:
        yield
    except KeyboardInterrupt as exc:  # (SIGTERM too: Terminated)
        console.print(f"interrupted: finished trials are in {store}; run the same command "
                      f"again to resume", soft_wrap=True)
        raise SystemExit(interrupted_code(exc)) from None
    except ExecutorLost as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}; finished trials are in "
                      f"{escape(str(store))}; run the same command again to resume",
                      soft_wrap=True, markup=True)
        raise SystemExit(1) from None
    except OSError as exc:  # the store's disk full or failing: say what is kept (exit 1)
        failed = _store_write_failure(exc, store)
        if failed is None:
            raise
        console.print(f"[red]error:[/red] {escape(failed)}; finished trials are in "
                      f"{escape(str(store))}; free some space and run the same command again "
                      f"to resume", soft_wrap=True, markup=True)
        raise SystemExit(1) from None


def _store_write_failure(exc: OSError, store: Path) -> str | None:
    """The one-line message of ``exc`` when it is a write into ``store`` (or its SQLite
    files beside it) that failed for lack of room or a failing device while the store is
    kept (rows stored before it stay), else ``None``: the command's own handling then says
    what failed (a store this run made and left empty is removed, nothing is kept)."""
    if exc.errno not in WRITE_FAILURES or not exc.filename or not store.exists():
        return None
    named = Path(str(exc.filename)).resolve()
    base = store.resolve()
    if named not in {base, *(base.with_name(base.name + s) for s in ("-wal", "-shm",
                                                                     "-journal"))}:
        return None
    return write_failure(exc)


def run_with_progress(spec, store: ResultStore | Path, *, jobs: int, workers: int | None,
                      scheduler: str | None, quiet: bool = False, threads: int = 1):
    """Run a sweep (or a list of sweeps in one queue) with a Rich progress bar: the bar and
    the ETA follow the estimated work (``trial_cost``), so costly trials count for what they
    cost; trials done / pending beside it. The trials of failed groups are not done: the bar
    ends short of its end by their work, and ``N failed`` follows the count, in red. Every
    trial runs with ``threads`` torch threads."""
    from xbarmem.experiments.runner import run_sweep

    specs = spec if isinstance(spec, list) else [spec]
    name = specs[0].name if len(specs) == 1 else f"{len(specs)} sweeps"
    total = sum(len(s.trials) for s in specs)
    counts = {"done": 0, "todo": 0, "failed": 0}
    failed_work = [0.0]
    # the bar is shown once the sweep is planned: a cluster refused before (workers without
    # xbarmem) is one error line, not an empty bar and the line (a terminal shows a line that
    # goes while it plans)
    bar = work_bar(console, disable=quiet)
    with _stopped(bar), planning(f"sweep {name}: planning {counted(total, 'trial')}",
                                 quiet=quiet) as line:
        task = bar.add_task(f"sweep {name}", total=None, detail="")

        def plan(todo: int, already: int) -> None:
            line.stop()
            bar.start()
            counts["todo"] = todo
            bar.update(task, description=f"{name} ({already} of {total} already stored)",
                       detail=f"0/{todo} trials")

        def trials(n: int, failed: bool = False) -> None:
            counts["failed" if failed else "done"] += n
            lost = f", [red]{counts['failed']} failed[/red]" if counts["failed"] else ""
            bar.update(task, detail=f"{counts['done']}/{counts['todo']} trials{lost}")

        def failure(n: int, work: float) -> None:
            failed_work[0] += work  # settled, not done: the ETA counts it (EtaColumn)
            bar.update(task, failed_work=failed_work[0])
            trials(n, failed=True)

        report = run_sweep(spec, store, jobs=jobs, workers=workers, scheduler=scheduler,
                           on_plan=plan, on_progress=trials, on_failure=failure,
                           on_work=lambda done, all_: bar.update(  # (no work: done)
                               task, completed=done if all_ else 1, total=all_ or 1),
                           threads=threads)
    return report


@contextlib.contextmanager
def _stopped(bar):
    """Stop the Rich progress ``bar`` on the way out, when it was started."""
    try:
        yield bar
    finally:
        if bar.live.is_started:
            bar.stop()


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


def _sweep_key(option: str, rest: str) -> str | None:
    """A library message's pointer to a command-line option (``--zero-one``, ``--kind
    continuous``) in a sweep file's words, the trial option of its name (``(sweep file:
    zero_one = true, in [base] or [grid])``; a flag is ``true``, a placeholder such as ``N``
    kept, another word a TOML text), or None when a sweep file has no such key
    (:data:`~xbarmem.cli.apps.FILE_KEYS`: the sweep command takes its options from its
    file)."""
    import tomli_w

    from xbarmem.experiments.trial_options import OPTIONS

    key, words = option.removeprefix("--").replace("-", "_"), rest.split()
    if key not in OPTIONS or len(words) > 1:
        return None
    line = (f"{key} = {words[0]}" if words and words[0].isupper()
            else tomli_w.dumps({key: words[0] if words else True}).strip())
    return f"(sweep file: {line}, in [base] or [grid])"


FILE_KEYS["sweep"] = _sweep_key
FIELD_LABELS["zero_one_trials"] = "trials with zero_one"
FIELD_LABELS["data_key_trials"] = "trials of array (data_key)"


def _list_options() -> None:
    """``sweep --list-options``: every option a sweep file may set."""
    from xbarmem.experiments.trial_options import option_help

    typer.echo(option_help())


@app.command("sweep", short_help="Run a TOML sweep into a resumable results store.",
             help="Run a TOML sweep (grid of trials x seeds) into a SQLite results store; "
                  "finished trials are skipped, so a killed sweep resumes where it stopped.")
@run_options.threads_option("threads")
def sweep_cmd(
    ctx: typer.Context,
    threads: int,
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="Sweep file (.toml).",
                                                parser=option_types.input_path)] = None,
    store: StoreOpt = Path("results.sqlite"),
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    dry_run: DryRun = False,
    list_options: ListOptions = False,
    json_out: output_options.Json = False,
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
        holds_trials = ResultStore.check(store) == "store"  # (refuses a pipe or a device)
    with planning(f"sweep {file.name}: planning", quiet=json_out):  # (a terminal's line)
        spec = load_sweep(file)
        planned = _dry_plan(spec, store) if dry_run else None
    if planned is not None:
        return _dry_run(planned, json_out)
    _check_scheduler(scheduler)  # before the store is made and the progress bar shown
    work = True  # some trial to run: a new (or empty) store, or one missing a trial
    if holds_trials:
        with planning(f"sweep {spec.name}: reading {store.name}", quiet=json_out):
            work = _check_stored(store, spec, threads)
    with _interruptible(store), _workers_ahead(jobs, workers, scheduler, work):
        report = run_with_progress(spec, store, jobs=jobs, workers=workers,
                                   scheduler=scheduler, quiet=json_out, threads=threads)
    if json_out:
        emit_json({"sweep": spec.name, "store": str(store), **report.as_dict(),
                   **run_options.run_record(threads)})
    else:
        _print_sweep(spec.name, store, report)
    if report.failures:
        raise SystemExit(1)  # (typer.Exit's code is lost when the app runs non-standalone)


def _dry_plan(spec, store: Path) -> tuple[dict[str, Any], str | None]:
    """What ``sweep --dry-run`` says (:func:`_dry_run`): the trials of ``spec``, those
    ``store`` holds and the groups left to run, and the warning a run would give of rows of
    the sweep's name it does not plan (None: none). Creates and changes nothing."""
    from xbarmem.experiments.batches import plan_groups
    from xbarmem.experiments.runner import pending_groups, plan_cache, unplanned_note
    from xbarmem.experiments.store import ResultStore

    if ResultStore.check(store) == "store":
        with ResultStore(store, readonly=True) as db:
            groups, already = pending_groups(spec, db)
            note = unplanned_note(db, [spec], "this file")  # (as the run says it)
    else:  # a dry run creates nothing
        (groups, already), note = (plan_groups(spec.trials, spec.batch,
                                                plan_cache([spec])), 0), None
    return {"sweep": spec.name, "total": len(spec.trials), "already": already,
            "groups": len(groups), "store": str(store),  # (keys of a run's summary)
            **_file_keys_set(spec)}, note


def _dry_run(planned: tuple[dict[str, Any], str | None], json_out: bool) -> None:
    """``sweep --dry-run``'s output: the summary of :func:`_dry_plan` ``planned``, printed
    (or as JSON), after its warning (if any)."""
    summary, note = planned
    if note:
        warn(note)
    if json_out:
        emit_json(summary)
    else:  # (the arrays read: the keys of their counts of trials, a row each)
        print_fields({k: v for k, v in summary.items() if k != "data_keys"},
                     "dry run: nothing was run")


def _file_keys_set(spec) -> dict[str, Any]:
    """What a dry run says of the keys a trial holds only when set: ``zero_one_trials``, how
    many of the sweep's trials read their file with ``zero_one``, when any does;
    ``data_keys``, the .npz arrays its trials name (``data_key``, sorted), when any does (a
    grid over two arrays planned as many trials as one of a single file, and said neither),
    and ``data_key_trials``, how many trials read each of them (by name, sorted), as the
    trials with ``zero_one`` are counted (the arrays were listed, their trials not)."""
    count = sum(bool(t.config.get("zero_one")) for t in spec.trials)
    per_key = Counter(t.config["data_key"] for t in spec.trials
                      if t.config.get("data_key") is not None)
    keys = sorted(per_key)
    return {**({"zero_one_trials": count} if count else {}),
            **({"data_keys": keys, "data_key_trials": {k: per_key[k] for k in keys}}
               if keys else {})}


def _print_sweep(name: str, store: Path, report) -> None:
    """What a sweep did, in one line (a log's reader greps it), then each failed group in one
    line on stderr."""
    by = ", ".join(f"{n} by sweep {other}" for other, n in sorted(report.stored_by.items()))
    # (another run: of this sweep, or of another sharing its trials; not told apart)
    meanwhile = f", {report.meanwhile} stored meanwhile by another run" if report.meanwhile else ""
    out.print(f"sweep {name}: {counted(report.total, 'trial')}, {report.already} already "
              f"stored{f' ({by})' if by else ''}, {counted(report.inserted, 'new row')}"
              f"{meanwhile} ({report.executor}, {seconds_text(report.seconds)} s) -> {store}",
              soft_wrap=True)
    for failure in report.failures:
        count = len(failure["keys"])
        console.print(f"[red]failed group[/red] of sweep {escape(failure['sweep'])} ({count} "
                      f"trial{'s' * (count != 1)}: {escape(failure['group'])}): "
                      f"{escape(failure['error'])}", soft_wrap=True, markup=True)


def _check_stored(store: Path, spec, threads: int) -> bool:
    """Whether ``store`` misses some trial of ``spec``; a warning when it holds rows of the
    sweep's name that the sweep does not plan (an edited file, another xbarmem version):
    ``results`` and ``plot`` would show them beside the new rows. Rows of its trials computed
    with another thread count or in another batch are refused
    (:func:`~xbarmem.experiments.runner.check_stored`) before any worker starts."""
    from xbarmem.experiments.runner import check_stored, unplanned_note
    from xbarmem.experiments.store import ResultStore

    with ResultStore(store, readonly=True) as db:
        check_stored(db, [spec], threads)
        planned = len(db.finished([t.key for t in spec.trials]))
        note = unplanned_note(db, [spec], "this file")
    if note:
        warn(note)
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


@app.command("reproduce", short_help="Reproduce the paper's headline claims; write a report.",
             help="Run the paper's headline experiments through the sweep machinery "
                  "(resumable: the store lives in --out) and write OUT/report.md with each "
                  "claim, the paper's number, the measured number, the settings and the "
                  "figures.")
@run_options.threads_option("threads")
def reproduce_cmd(
    ctx: typer.Context,
    threads: int,
    out_dir: ReproduceOut = Path("xbarmem-reproduce"),
    quick: Annotated[bool, typer.Option(
        "--quick", help="Fewer seeds and grid points than the full run: every claim, at a "
        "fraction of its cost.")] = False,
    store: ReproduceStore = None,
    sections: ReproduceSections = None,
    jobs: JobsOpt = 2,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    json_out: output_options.Json = False,
    recipe: ReproduceRecipe = "default",
    products: ReproduceProducts = "float32",
    seed: run_options.RunSeed = 0,
) -> None:
    from xbarmem.experiments.store import ResultStore

    given.check_executor_options(ctx, workers, scheduler)
    if recipe not in RECIPES:
        raise ConfigError(f"--recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
    if products not in PRODUCTS:
        raise ConfigError(f"--products must be one of {', '.join(PRODUCTS)}, got "
                          f"{products!r}")
    if products != "float32":
        from xbarmem.learning.adaptive import check_products

        check_products(products)
    _check_scheduler(scheduler)  # before the folder and the store are made
    from xbarmem.experiments import reproduce as planned

    chosen = None if sections is None else planned.experiments_named(sections, "--sections")
    names = planned.output_names(store is not None, chosen, seed)
    paths.check_members(out_dir, names)
    planned.check_own_files(out_dir, names, "" if store is not None else "results.sqlite")
    store_path = store or out_dir / "results.sqlite"
    # (a foreign file is refused here) a new (or empty) store certainly has trials to run; for
    # one holding trials that is known only once the sweeps are planned, so its workers start then
    fresh = not store_path.is_file() or ResultStore.check(store_path) != "store"
    fresh = fresh and (chosen is None or any(planned.planned_sweeps(e, quick) for e in chosen))
    make_folder(out_dir)
    with _interruptible(store or out_dir / "results.sqlite"), _workers_ahead(
            jobs, workers, scheduler, work=fresh):
        from xbarmem.experiments.reproduce import reproduce  # while the workers start

        report = reproduce(out_dir, quick=quick, store=store, experiments=chosen,
                           threads=threads, recipe=recipe, seed=seed,
                           products=products, run=lambda spec, db: run_with_progress(
                               spec, db, jobs=jobs, workers=workers, scheduler=scheduler,
                               threads=threads),
                           log=console.print)
    if json_out:
        emit_json({**report, **run_options.run_record(threads)})
        return
    _print_summary(report)


def _print_summary(report: dict) -> None:
    """The report's summary as a table of the terminal's width (its markdown, printed as
    text, was wrapped mid-row at 80 columns, also into a file), then each claim's verdict
    (the table's 'bar' judges single numbers only), a quick run saying so at both, a run of
    some sections naming the others and how to run them, then where the report is."""
    from rich.table import Table

    run = "this quick run (fewer seeds and points than the full run)" if report["quick"] else \
        "this run"
    run += f" at --seed {report['seed']}" if report.get("seed") else ""
    table = Table(title=f"the paper's claims and what {run} measured")
    names = ("claim", "paper", "xbarmem (measured)", "bar")
    cells = [[name, *(row[i] for row in report["rows"])] for i, name in enumerate(names)]
    short = sum(max(map(len, cells[i])) for i in (1, 3))
    narrow = out.width - 3 * len(names) - 1 - short < 2 * short
    for index, name in enumerate(names):
        # the paper's values, and where the claim and the measurement would get less than
        # twice their room the bar too, as narrow as their longest word (rich shrank the
        # widest columns down to theirs: four columns of 17 characters at 80 columns)
        words = [w for cell in cells[index] for w in cell.split()]
        table.add_column(name, max_width=max(map(len, words)) if index == 1 or (
            narrow and index == 3) else None)  # (the paper's values are short but one)
    for row in report["rows"]:
        table.add_row(*map(escape, row))
    out.print_table(table, f"{report['path']} holds the same table")
    verdicts = Table(title=f"each claim's verdict, by the rule stated with it in the report"
                           f"{' (quick run)' if report['quick'] else ''}")
    for name in ("claim", "verdict"):
        verdicts.add_column(name)
    for key, verdict in report["verdicts"].items():
        verdicts.add_row(escape(f"({key}) {report['claims'][key]}"), escape(verdict))
    out.print_table(verdicts, f"{report['path']} holds the same table")
    if report.get("not_run_note"):
        out.print(escape(report["not_run_note"]))
    out.print(f"report: {escape(report['path'])}  ({seconds_text(report['seconds'])} s)")
