"""``xbarmem reproduce``: the paper's headline experiments through the sweep machinery.

Each experiment is an :class:`Experiment` with a key (``a`` ... ``g``): its sweeps (plain sweep
tables, validated like any sweep file) and a function that turns its stored rows into a report
:class:`Section` (claim, the paper's number, the measured number, a verdict computed from the
measured numbers by a stated rule, the settings, the commands, figures). All sweeps of a run
share one queue and one store (by default ``OUT/results.sqlite``), so an interrupted run resumes
where it stopped, and a full run reuses every trial a quick run already stored with the same
configuration (and batch, for trials whose numbers depend on it:
:mod:`xbarmem.experiments.batches`). Rows are looked up by trial key, not by sweep name.

Each claim's experiment lives in its own module (``fault_tolerance`` (a) ... ``correlation``
(g)); what they share (the paper's numbers, :class:`Section`, tables, verdict rules, figures)
in :mod:`~xbarmem.experiments.reproduce.report`. Adding a claim takes a module with an
:class:`Experiment` subclass (``sweeps`` and ``section``) and one entry in
:data:`EXPERIMENTS`; experiments whose library module is missing (e.g.
``xbarmem.evaluation.scaling``, ``xbarmem.energy``) report "not yet available".

Paper numbers are from He et al., Nat. Commun. 17, 3096 (2026): the abstract and values read
from the authors' plots (N = 64, 8x8 digits, single layer, 10% flips).
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import platform
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xbarmem.checks import (
    check_callback,
    check_choice,
    check_count,
    check_flag,
    check_type,
    checked_keywords,
    counted,
    is_choice,
    seconds_text,
    shown,
)
from xbarmem.errors import ConfigError, FileFormatError, warn
from xbarmem.experiments.reproduce.capacity import Capacity
from xbarmem.experiments.reproduce.correlation import Correlation
from xbarmem.experiments.reproduce.energy import Energy
from xbarmem.experiments.reproduce.fault_tolerance import FaultTolerance
from xbarmem.experiments.reproduce.patterns import Patterns
from xbarmem.experiments.reproduce.report import (
    CHECKED_FAULTS,
    ENERGY_TOLERANCE,
    EXPONENT_TOLERANCE,
    JUDGED_RECIPE,
    LATENCY_TOLERANCE,
    MAX_RUN_SEED,
    PAPER_CAPACITY_RATIO,
    PAPER_ENERGY,
    PAPER_EXPONENTS,
    PAPER_FAULTS,
    PAPER_PATTERNS,
    PAPER_VARIATION,
    POINT_RULE,
    PRIMARY_DATA,
    SEED_STRIDE,
    SELECTION_VALUES,
    TOLERANCE,
    TRAINING,
    VARIATION_GOALS,
    VARIATION_RECIPES,
    VERDICTS,
    Context,
    Experiment,
    Section,
    Training,
    check_run_seed,
    point_passes,
    products_text,
    recipe_text,
    run_seeds,
    seed_setting,
    verdict_of,
)
from xbarmem.experiments.reproduce.scaling import SCALING_CHECKS, Scaling, ScalingCheck
from xbarmem.experiments.reproduce.variation import Variation
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import SweepSpec
from xbarmem.files import (
    as_path,
    check_outputs_in,
    make_folder,
    output_folder,
    same_file,
    undone_on_failure_of,
    write_file,
)
from xbarmem.limits import TooLargeError
from xbarmem.names import RECIPES

__all__ = [
    "CHECKED_FAULTS", "ENERGY_TOLERANCE", "EXPERIMENTS", "EXPONENT_TOLERANCE", "JUDGED_RECIPE",
    "LATENCY_TOLERANCE", "MAX_RUN_SEED", "PAPER_CAPACITY_RATIO", "PAPER_ENERGY",
    "PAPER_EXPONENTS", "PAPER_FAULTS", "PAPER_PATTERNS", "PAPER_VARIATION", "POINT_RULE",
    "PRIMARY_DATA", "SCALING_CHECKS", "SEED_STRIDE", "SELECTION_VALUES", "TOLERANCE",
    "VARIATION_GOALS", "VARIATION_RECIPES",
    "VERDICTS", "Capacity", "Context", "Correlation", "Energy", "Experiment", "FaultTolerance",
    "Patterns", "Scaling", "ScalingCheck", "Section", "Training", "Variation",
    "experiments_named", "not_run", "output_names", "planned_sweeps",
    "point_passes", "products_text", "quick_note", "recipe_text", "reproduce", "summary_table",
    "verdict_lines", "verdict_of",
]

EXPERIMENTS: list[Experiment] = [FaultTolerance(), Capacity(), Patterns(), Variation(),
                                 Scaling(), Energy(), Correlation()]


def experiments_named(keys: str | Sequence[str], what: str = "sections"
                      ) -> list[Experiment]:
    """The experiments of :data:`EXPERIMENTS` whose section letters are ``keys`` (``"b,e"``
    or ``["b", "e"]``), in that order: the ``experiments=`` of :func:`reproduce` running those
    sections. :class:`ConfigError` naming ``what`` for an empty list, a letter of no section
    or a letter given twice."""
    known = {e.key: e for e in EXPERIMENTS}
    letters = ", ".join(known)
    parts = keys.split(",") if isinstance(keys, str) else list(keys)
    parts = [p.strip().lower() if isinstance(p, str) else p for p in parts]
    if not parts or parts == [""]:
        raise ConfigError(f"{what} is empty: give section letters ({letters})")
    for part in parts:
        if part not in known:
            raise ConfigError(f"{what} must be section letters ({letters}), got {shown(part)}")
        if parts.count(part) > 1:
            raise ConfigError(f"{what} lists {part} twice: give each section once")
    return [known[part] for part in parts]


def _sections_flag(experiments: Sequence[Experiment] | None) -> str | None:
    """``--sections b,e`` for a run of some of :data:`EXPERIMENTS` (its keys in its order),
    ``""`` for every one of them; None for experiments of other types (the command line
    cannot run those)."""
    if experiments is None:
        return ""
    builtin = {type(e) for e in EXPERIMENTS}
    if not all(type(e) in builtin for e in experiments):
        return None
    if sorted(e.key for e in experiments) == sorted(e.key for e in EXPERIMENTS):
        return ""
    return "--sections " + ",".join(e.key for e in experiments)


def not_run(experiments: Sequence[Experiment] | None, every: str) -> tuple[list[str], str]:
    """``(keys, note)`` of the sections of :data:`EXPERIMENTS` a run of some of them
    (``--sections``) left out: their letters, and one sentence for the report and the
    terminal naming them and ``every``, the command running every section into the same
    store; ``([], "")`` for a run of every section or of experiments of other types."""
    flag = _sections_flag(experiments)
    if not flag:
        return [], ""
    assert experiments is not None
    ran = [e.key for e in experiments]
    missing = [e.key for e in EXPERIMENTS if e.key not in ran]

    def listed(keys: list[str]) -> str:
        return ", ".join(f"({k})" for k in keys)
    return missing, (f"This report holds only section{'s' * (len(ran) > 1)} {listed(ran)} "
                     f"(`{flag}`); {listed(missing)} {'were' if len(missing) > 1 else 'was'} "
                     f"not run and {'have' if len(missing) > 1 else 'has'} no verdict here. "
                     f"Every section: `{every}` (the same store: trials already in it are "
                     f"not re-run).")


def _sweep_scale(spec: SweepSpec) -> tuple[int, int, str]:
    """``(trials, seeds, cues per pattern)`` of one sweep."""
    probes = sorted({str(t.config.get("probes")) for t in spec.trials})
    return len(spec.trials), len({t.config.get("seed") for t in spec.trials}), "/".join(probes)


def planned_sweeps(exp: Experiment, quick: bool) -> list[SweepSpec]:
    """``exp``'s sweeps of the quick or the full run; one too large for the memory limit
    (:class:`~xbarmem.limits.TooLargeError`) is refused naming what a run of ``reproduce``
    changes -- the quick run (for the full one), the sections run, the limit -- instead of the
    sweep's TOML keys, which it has no file of."""
    try:
        return exp.sweeps(quick)
    except TooLargeError as exc:
        quicker = "" if quick else "run --quick or "
        raise exc.naming(remedy=f"{quicker}leave section ({exp.key}) out with --sections"
                         ) from None


def quick_note(exp: Experiment) -> str:
    """How the quick run of ``exp`` is smaller than its full run, sweep by sweep (seeds, cues
    per pattern, trials; the full run's in brackets) and the sweeps only the full run has:
    the limits its quick verdict rests on ("" when it has no sweeps)."""
    quick = {s.name.removeprefix(exp.name(True, "")): s for s in planned_sweeps(exp, True)}
    full = {s.name.removeprefix(exp.name(False, "")): s for s in planned_sweeps(exp, False)}
    if not quick:
        return ""
    parts = []
    for what, spec in quick.items():
        trials, seeds, cues = _sweep_scale(spec)
        if what not in full:
            parts.append(f"`{what}` {counted(seeds, 'seed')}, {counted(trials, 'trial')} (quick "
                         f"run only)")
            continue
        f_trials, f_seeds, f_cues = _sweep_scale(full[what])
        text = f"`{what}` {counted(seeds, 'seed')} [{f_seeds}]"
        if cues != f_cues:
            text += f", {cues} cues per pattern [{f_cues}]"
        parts.append(text + f", {counted(trials, 'trial')} [{f_trials}]")
    extra = [f"`{what}`" for what in full if what not in quick]
    return ("Quick mode, so the verdict rests on fewer seeds and points than the full run "
            "(`xbarmem reproduce` without --quick; its numbers in brackets): "
            + "; ".join(parts) + (f"; the full run also measures {', '.join(extra)}"
                                  if extra else "") + ".")


def _unavailable(exp: Experiment) -> Section:
    return Section(exp.key, exp.title, exp.claim, available=False,
                   summary=[(f"({exp.key}) {exp.title}", "see claim", "not yet available", "")],
                   body=[f"Not yet available: the module `{exp.needs}` does not exist in this "
                         f"installation."])


@checked_keywords
@undone_on_failure_of
def reproduce(out_dir: str | Path, *, quick: bool = False, store: str | Path | None = None,
              run: Callable[[list[SweepSpec], ResultStore], Any] | None = None,
              log: Callable[[str], None] = print,
              experiments: list[Experiment] | None = None, threads: int = 1,
              recipe: str = "default", products: str = "float32", seed: int = 0
              ) -> dict[str, Any]:
    """Run (or resume) the headline experiments and write ``out_dir/report.md``.

    ``recipe``: the hardware-adaptive rule's recipe
    (:data:`~xbarmem.learning.adaptive.RECIPE_OPTIONS`) for every trial it trains; a recipe
    other than ``"default"`` names its sweeps ``reproduce-quick-<recipe>-...`` and is stated
    in the report. ``products``: the precision of the rule's training products in the
    experiments of large networks (:attr:`Experiment.large`: section (e)), whose sweeps are
    then named ``...-bf16-e-...``; stated in the report (:data:`~xbarmem.names.PRODUCTS`;
    ``"bf16"`` needs a CPU and torch build with bfloat16 support,
    :func:`~xbarmem.learning.adaptive.bf16_products_supported`).

    ``seed``: the run seed S (0 .. :data:`MAX_RUN_SEED`). Every sweep's seed k (its seeds 0 to
    n - 1, or those it lists) runs as trial seed ``S * SEED_STRIDE + k`` (patterns, chips and
    faults, cues, training, programming variation; (f)'s measurement too), so two run seeds
    share no draw; S = 0 is the run without it. A seed other than 0 names its sweeps
    ``...-seedS-...`` (one store holds and resumes several seeds), keeps (f)'s measurement in
    ``f-energy-seedS.json`` and is stated in the report, its figures and the returned dict.

    ``run(specs, store)`` executes the sweeps (default: in this process,
    :func:`xbarmem.experiments.runner.run_sweep`) with ``threads`` torch threads per trial,
    stated in the report (``xbarmem reproduce --threads N`` also computes the rest with N).
    Returns ``{"path", "table", "rows", "verdicts", "claims", "quick", "reasons", "sections",
    "not_run", "not_run_note", "seconds", "threads", "recipe", "products", "seed"}`` where
    ``table``
    is the report's summary table (markdown) and ``rows`` its rows (``[claim, paper,
    measured, bar]`` strings each), ``verdicts`` maps each claim's key to its verdict,
    ``claims`` to its title and ``reasons`` to the measured reasons of its shortfalls (claims
    that have any); ``not_run`` lists the letters of the sections a run of some of
    :data:`EXPERIMENTS` left out and ``not_run_note`` says so with the command running every
    one (:func:`not_run`; ``[]`` and ``""`` otherwise); ``quick``: the verdicts rest on a
    quick run's fewer seeds and points. Raises :class:`ConfigError` for an unknown recipe or
    products, bf16 products this machine cannot compute, or a seed that is not an integer in
    0 .. :data:`MAX_RUN_SEED`, before anything is written."""
    recipe = check_choice(recipe, RECIPES, "recipe")
    seed = check_run_seed(seed)
    token = TRAINING.set(Training(recipe, seed=seed))  # (the outputs checked are the seed's)
    try:
        out_dir, store = _check_reproduce(out_dir, quick, store, run, log, experiments,
                                          threads)
        if not is_choice(products, ("float32",)):  # (an array compared with != is no bool)
            from xbarmem.learning.adaptive import check_products

            products = check_products(products)  # ("BF16" is "bf16": sweep names, report)
        TRAINING.set(Training(recipe, products, seed))
        return _reproduce(out_dir, quick, store, run, log, experiments, threads)
    finally:
        TRAINING.reset(token)


#: the report, and the results store when no other is given, in the report's folder
REPORT, STORE = "report.md", "results.sqlite"


def output_names(store: bool = False, experiments: Sequence[Experiment] | None = None,
                 seed: int | None = None) -> list[str]:
    """Every file :func:`reproduce` may write into its folder, by name: the report, the
    store (unless ``store``: another is given) and each experiment's figures and caches
    (:meth:`Experiment.outputs`) under run seed ``seed`` (None: the run being built's, 0
    outside one), checked before any work."""
    exps = EXPERIMENTS if experiments is None else experiments
    token = None if seed is None else TRAINING.set(
        Training(TRAINING.get().recipe, TRAINING.get().products, check_run_seed(seed)))
    try:
        return [REPORT, *([] if store else [STORE]), *(n for e in exps for n in e.outputs())]
    finally:
        if token is not None:
            TRAINING.reset(token)


# ------------------------------------------------------------------ the report's folder
# DIR may be a folder of the user's (a paper's folder holding its own ``report.md``): a file of
# a name a run writes that no run of reproduce wrote is refused (:func:`check_own_files`), not
# replaced; a report of another run is replaced with a warning naming it
# (:func:`warn_replaced`).

#: the first line of every report a run writes begins so
REPORT_HEAD = "# xbarmem reproduce"
#: a PNG file's first bytes, and the text chunks near its start naming its writer: xbarmem
#: (``viz.style.save_figure``), or matplotlib (the figures of earlier versions)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_WRITERS = (b"tEXtSoftware\x00xbarmem", b"Software\x00Matplotlib")


def _head_line(path: Path) -> str:
    """The first line of the file at ``path`` (at most 4096 bytes of it, as text)."""
    with open(path, "rb") as fh:
        return fh.readline(4096).decode("utf-8", "replace").rstrip("\r\n")


def _why_not_ours(path: Path) -> str:
    """Why ``path`` (an existing regular file) is not one a run of ``reproduce`` wrote, or
    ``""`` when it is (or its kind is not recognised: then it is replaced as documented)."""
    try:
        return _why_not(path)
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"


def _why_not(path: Path) -> str:
    if path.suffix == ".md":
        line = _head_line(path)
        return "" if line.startswith(REPORT_HEAD) else "its first line is not a report's head"
    if path.suffix == ".png":
        with open(path, "rb") as fh:
            head = fh.read(4096)
        return "" if head.startswith(PNG_MAGIC) and any(w in head for w in PNG_WRITERS) else \
            "not a figure xbarmem drew"
    if path.suffix == ".json":
        from xbarmem.experiments.reproduce.energy import _cached

        try:
            _cached(path)
        except FileFormatError as exc:
            return str(exc).removeprefix(f"{path}: ").split("; delete it")[0]
    return ""


def check_own_files(folder: str | Path, names: list[str], store: str = "",
                    planned: Sequence[str] = ()) -> None:
    """Refuse (:class:`ConfigError`), before any work, a file of ``folder`` named in
    ``names`` (the files a run writes or reads back there) that a run of ``reproduce`` did
    not write: a report whose first line is not a report's head, a figure that is not a PNG
    matplotlib drew, an energy cache that is not one (unreadable, or an entry missing), the
    default results store (``store``, its name; "" when another is given) holding sweeps
    other than reproduce's (``reproduce-...``, or ``planned``: the run's own names). A store
    file that is no store is left to :class:`ResultStore`, which refuses it. Nothing in a
    folder still to be made."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in names:
        path = folder / name
        if name == store and path.is_file():
            _check_own_store(path, planned)
        if name == store or not path.is_file():
            continue
        why = _why_not_ours(path)
        if why:
            raise ConfigError(f"cannot write the report in {folder}: {name} exists and is not "
                              f"a file xbarmem reproduce wrote ({why}); move it away, or give "
                              f"another --out")


def _check_own_store(path: Path, planned: Sequence[str] = ()) -> None:
    """Refuse (:class:`ConfigError`) the default store ``path`` of a report's folder when it
    holds sweeps of the user's (names not ``reproduce-...``): a run added its sweeps' rows to
    it; ``--store`` naming it says to. A file that is no store is left to ResultStore."""
    if ResultStore.check(path) != "store":
        return
    with ResultStore(path, readonly=True) as db:
        others = [name for name in db.sweeps()
                  if not name.startswith("reproduce-") and name not in planned]
    if others:
        listed = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if others[3:] else "")
        raise ConfigError(f"cannot write the report in {path.parent}: {path.name} holds "
                          f"sweeps of your own ({listed}); give another --out, or add the "
                          f"run's sweeps to it with --store {path}")


def report_title(path: Path) -> str | None:
    """The title of the report at ``path`` (its first line without ``#`` and the paper), or
    None when there is no report there."""
    if not path.is_file():
        return None
    line = _head_line(path)
    if not line.startswith(REPORT_HEAD):
        return None
    return line.removeprefix("# ").split(": He et al.")[0]


def warn_replaced(path: Path, title: str) -> None:
    """Warn when the report at ``path`` is of another run than ``title``'s (its sections,
    seed, recipe, products, quick or full): this run replaces it (the rows stay in the
    store). Nothing when there is none or it is of the same run."""
    found = report_title(path)
    if found is not None and found != title:
        warn(f"{path} is the report of `{found}`: this run replaces it and its figures (its "
             f"rows stay in the store; give another --out to keep both)")


def _check_reproduce(out_dir, quick, store, run, log, experiments, threads):
    """:func:`reproduce`'s arguments checked before anything is written: ``(out_dir,
    store)`` as paths; :class:`ConfigError` / :class:`~xbarmem.errors.ArgumentError` naming
    the first bad one."""
    check_flag(quick, "quick")
    check_callback(run, "run")
    check_callback(log, "log", optional=False)
    check_count(threads, "threads")
    if experiments is not None:
        check_type(experiments, list | tuple, "experiments", "a list of experiments")
        for exp in experiments:
            check_type(exp, Experiment, "experiments", "a list of Experiment (of EXPERIMENTS)")
        keys = [e.key for e in experiments]
        twice = next((e for e in experiments if keys.count(e.key) > 1), None)
        if twice is not None:  # its section, summary rows and verdict would be written twice
            raise ConfigError(f"experiments lists ({twice.key}) {type(twice).__name__} twice: "
                              f"give each experiment once")
        if not experiments:  # only None means every experiment
            names = ", ".join(f"({e.key}) {type(e).__name__}" for e in EXPERIMENTS)
            raise ConfigError(f"experiments must hold at least one Experiment of EXPERIMENTS "
                              f"({names}; None: all of them), got {shown(experiments)}")
    out = output_folder(out_dir, "report")
    store = None if store is None else as_path(store, "store")
    names = output_names(store is not None, experiments)
    check_outputs_in(out, names, "report", error=ConfigError)
    if store is not None:
        _check_store_apart(out, store, names)
    planned = [s.name for e in experiments or [] if e.available()
               for s in planned_sweeps(e, quick)]
    check_own_files(out, names, "" if store is not None else STORE, planned)
    return out, store


def _check_store_apart(out: Path, store: Path, names: list[str]) -> None:
    """Refuse (:class:`ConfigError`) a ``store`` that is one of the files the report writes in
    its folder ``out`` (``names``; by any spelling or link): the report or a figure, written
    after the sweeps, would replace the store and every row the run computed."""
    for name in names:
        if same_file(out / name, store):
            raise ConfigError(f"cannot write the report in {out}: the store {store} is its "
                              f"{name}, which the report writes (it would replace the store "
                              f"and its rows); give another --store")


def _reproduce(out_dir, quick, store, run, log, experiments, threads) -> dict[str, Any]:
    from xbarmem.experiments.runner import check_stored, run_sweep, unplanned_note

    began = time.perf_counter()
    out_dir = make_folder(out_dir)
    warn_replaced(out_dir / REPORT, report_title_of(quick, experiments))
    exps = list(EXPERIMENTS if experiments is None else experiments)
    ready = [e for e in exps if e.available()]
    sweeps = {e.key: planned_sweeps(e, quick) for e in ready}
    specs = [s for e in ready for s in sweeps[e.key]]
    store_path = Path(store) if store else out_dir / STORE
    with ResultStore(store_path) as db:
        check_stored(db, specs, threads)  # before the first line: rows of another count
        note = unplanned_note(db, specs, "this run")
        if note:
            warn(note)
        log(_first_line(quick, specs, db.path))
        ctx = Context(out_dir, db, quick, {s.name: s for s in specs}, log)
        early = _EarlySections(ctx, ready, sweeps)
        stop = db.on_add(early.stored)
        try:
            if not specs:  # experiments of no sweep (energy's) compute in their sections
                pass
            elif run is None:
                run_sweep(specs, db, threads=threads)
            else:
                run(specs, db)
        finally:
            stop()
        sections = [(early.done[e.key] if e.key in early.done else e.section(ctx))
                    if e in ready else _unavailable(e) for e in exps]
    training = TRAINING.get()
    command = run_command(out_dir, quick, store, threads, experiments)
    for e, sec in zip(exps, sections, strict=True):
        sec.commands = [command] + [f"xbarmem results {store_path} --sweep {s.name}"
                                    for s in (sweeps[e.key] if e in ready else [])]
        sec.commands += e.extra_commands(quick)
        sec.quick = quick
        if quick and e in ready and sec.settings:
            sec.settings = " ".join(filter(None, [sec.settings, quick_note(e)]))
        if e in ready and sec.settings and sweeps[e.key]:
            sec.settings = " ".join(filter(None, [sec.settings, seed_setting()]))
    seconds = time.perf_counter() - began
    table_text = summary_table(sections)
    missing, note = not_run(experiments, run_command(out_dir, quick, store, threads, None))
    text = "\n".join(_head(command, store_path, seconds, table_text, sections, threads, ready,
                           seeds_text(specs) if specs else "", quick,
                           _sections_flag(experiments) or "", note)
                     + [s.markdown() for s in sections])
    path = out_dir / REPORT
    write_file(path, text)
    return {"path": str(path), "table": table_text,
            "rows": [list(row) for s in sections for row in s.summary], "seconds": seconds,
            "verdicts": {s.key: s.verdict for s in sections},
            "claims": {s.key: s.title for s in sections}, "quick": quick,
            "reasons": {s.key: s.reasons for s in sections if s.reasons},
            "sections": [s.key for s in sections], "not_run": missing, "not_run_note": note,
            "threads": threads, "recipe": training.recipe, "products": training.products,
            "seed": training.seed}


def _first_line(quick: bool, specs: Sequence[SweepSpec], store: Path) -> str:
    """What a run is about to do, logged before its first trial (a run seed other than 0
    named)."""
    seed = TRAINING.get().seed
    return (f"reproduce ({'quick' if quick else 'full'}{f', --seed {seed}' * bool(seed)}): "
            f"{sum(len(s.trials) for s in specs)} trials in {len(specs)} sweeps, store {store}")


def run_command(out_dir: Path, quick: bool, store, threads: int,
                experiments: Sequence[Experiment] | None) -> str:
    """The shell command that runs what a report measured, as its head and every section's
    commands quote it: ``xbarmem reproduce`` with the flags of this run (``--sections`` for
    some of :data:`EXPERIMENTS`, ``--threads`` when not 1, recipe, products and seed
    from :data:`TRAINING`), else (experiments of other types) the ``python -c`` call of
    :func:`reproduce` with ``experiments=``."""
    options: dict[str, Any] = dict(TRAINING.get().options(large=True))
    if TRAINING.get().seed:
        options["seed"] = TRAINING.get().seed
    sections = _sections_flag(experiments)
    if sections is not None:
        flags = ["--quick"] * quick + [sections] * bool(sections)
        flags += [f"--{k} {v}" for k, v in options.items()]
        flags += [f"--threads {threads}"] * (threads != 1)
        flags += [f"--out {shlex.quote(str(out_dir))}"]
        flags += [f"--store {shlex.quote(str(store))}"] * bool(store)
        return " ".join(["xbarmem reproduce", *flags])
    assert experiments is not None
    modules: dict[str, list[str]] = {__name__: ["reproduce"]}
    for e in experiments:  # this package's experiments are importable from it
        name = type(e).__name__
        home = __name__ if globals().get(name) is type(e) else type(e).__module__
        modules.setdefault(home, []).append(name)
    imports = "; ".join(f"from {m} import {', '.join(dict.fromkeys(names))}"
                        for m, names in modules.items())
    args = [json.dumps(str(out_dir)), *(["quick=True"] * quick)]
    args += [f"store={json.dumps(str(store))}"] * bool(store)
    args += [f"experiments=[{', '.join(type(e).__name__ + '()' for e in experiments)}]"]
    args += [f"threads={threads}"] * (threads != 1)
    args += [f"{k}={json.dumps(v)}" for k, v in options.items()]
    return "python -c " + shlex.quote(f"{imports}; reproduce({', '.join(args)})")


class _EarlySections:
    """Sections computed while the last experiment's sweeps still run: once every experiment
    but one has all its sweeps stored, the sections of all others (those without sweeps
    too) are computed then -- when a worker is likely idle -- instead of after the last
    sweep, and the module the last one needs (:attr:`Experiment.needs`) is imported then.
    A :meth:`~xbarmem.experiments.store.ResultStore.on_add` listener; a run that
    computes nothing leaves every section for the end, as is a section that fails here (it
    is computed again there, where its error surfaces). ``sweeps``: each experiment's sweeps
    by key."""

    def __init__(self, ctx: Context, ready: list[Experiment],
                 sweeps: dict[str, list[SweepSpec]]) -> None:
        self.ctx, self.ready = ctx, ready
        self.done: dict[str, Section] = {}
        keys = {e.key: {t.key for s in sweeps[e.key] for t in s.trials} for e in ready}
        stored = ctx.store.finished([k for ks in keys.values() for k in ks])
        self.waiting = {e.key: keys[e.key] - stored for e in ready if keys[e.key] - stored}
        self.fired = False

    def stored(self, added: set[str]) -> None:
        if self.fired:
            return
        for key in list(self.waiting):
            self.waiting[key] -= added
            if not self.waiting[key]:
                del self.waiting[key]
        if len(self.waiting) > 1:
            return
        self.fired = True
        for e in self.ready:
            try:
                if e.key not in self.waiting:
                    self.done[e.key] = e.section(self.ctx)
                elif e.needs:  # the last section's code, loaded while its sweeps still run
                    importlib.import_module(e.needs)
            except Exception:  # noqa: BLE001 -- computed (imported) again after the sweeps
                pass


def seeds_text(specs: Sequence[SweepSpec]) -> str:
    """Which seeds the run's sweeps ran (a sweep of ``n`` seeds runs 0 to n - 1 unless it
    names others; under a run seed S, ``S * SEED_STRIDE`` and up: :func:`run_seeds`), said
    once in the report's head: a reader re-measuring a number needs them beside the
    command."""
    seed, first = TRAINING.get().seed, run_seeds([0])[0]
    other = [f"`{s.name}` seeds {s.seeds[0]}-{s.seeds[-1]}" if s.seeds == list(
                 range(s.seeds[0], s.seeds[-1] + 1)) else f"`{s.name}` seeds {s.seeds}"
             for s in specs if s.seeds != run_seeds(len(s.seeds))]
    start = (f"run seed {seed} (`--seed {seed}`): every sweep of n seeds runs seeds {first} "
             f"to {first} + n - 1" if seed else "every sweep of n seeds runs seeds 0 to n - 1")
    return ("Seeds: a trial's seed fixes its random draws (stuck devices, stored patterns, "
            f"training, cues, programming variation); {start} (n: each section's settings)"
            + (f", except {', '.join(other)}" if other else "") +
            "; each trial's seed is stored with its row.")


def summary_table(sections: list[Section]) -> str:
    """The report's table of every compared number (markdown)."""
    table = ["| claim | paper | xbarmem (measured) | bar |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for s in sections for a, b, c, d in s.summary]
    return "\n".join(table)


#: the heading of the claims whose verdict is not "reproduced" (partly, not reproduced or
#: not measured)
SHORT_HEADING = "Short of the paper (partly, not reproduced or not measured)"


#: what a quick run's verdicts rest on, said where they are listed
QUICK_VERDICTS = ("Quick run (`--quick`): every verdict rests on fewer seeds and grid points than "
                  "the full run (`xbarmem reproduce` without --quick); each section's settings "
                  "say how many.")


def verdict_lines(sections: list[Section], not_run_note: str = "") -> list[str]:
    """The verdict of every claim, then the claims short of the paper with what falls short,
    their settings and commands (markdown lines); ``not_run_note`` (:func:`not_run`), for a
    run of some sections, heads them and qualifies "every claim"."""
    lines = ["## Verdicts", "", *([not_run_note, ""] if not_run_note else [])]
    if any(s.quick for s in sections):
        lines += [QUICK_VERDICTS, ""]
    lines += ["| claim | verdict | how it is decided |", "|---|---|---|"]
    lines += [f"| ({s.key}) {s.title} | **{s.verdict_text()}** | {s.rule or '-'} |"
              for s in sections]
    lines += ["", f"## {SHORT_HEADING}", ""]
    short = [s for s in sections if s.verdict != "reproduced"]
    if not short:
        lines += [f"Every claim{' of the sections run' * bool(not_run_note)} is reproduced by "
                  f"the rules above.", ""]
    for s in short:
        lines += [f"### ({s.key}) {s.title}: {s.verdict_text()}", ""]
        if not s.available or s.verdict == "not measured":
            lines += ["No measured numbers (see the section below).", ""]
            continue
        lines += [f"* {what}" for what in s.shortfalls] + [""]
        lines += [f"Measured reason: {why}" for why in s.reasons] + ([""] if s.reasons else [])
        if s.settings:
            lines += [f"Settings: {s.settings}", ""]
        lines += ["Commands:", "", "```", *s.commands, "```", ""]
    return lines


#: the names the report's tables, figures and rules use, defined before the first of them
TERMS = ("Terms. Rules: `adaptive` (HA) = the paper's hardware-adaptive rule (trained on the chip "
         "with its stuck weights masked); `pinv` = pseudo-inverse (projection) rule; `hebb` = "
         "Hebb's rule; `storkey` = Storkey's textbook rule; `storkey-variant` = the authors' "
         "Storkey variant (a residual outer product); `perceptron` = perceptron rule with a "
         "margin (not in the paper). Chip `paper-sim`: the paper's simulation abstraction (a "
         "stuck weight is 0, no other non-ideality). Data: `mnist-crop24` = 8x8 MNIST from the "
         "centred 24x24 window, as the authors preprocess it; `mnist` = 8x8 from the whole 28x28 "
         "image; `digits` = scikit-learn's 8x8 digits; all binarised at each image's mean. "
         "Faults = fraction of stuck weights; flips = fraction of a cue's bits flipped; cosine = "
         "cosine similarity between a stored pattern and the state recalled from its cue, "
         "averaged over cues; capacity = the largest number of stored patterns P whose cosine "
         "(and every smaller tested P's) reaches the threshold; n = number of seeds (± = the "
         "standard deviation over them with divisor n; `xbarmem results --group-by` gives the "
         "sample one, divisor n - 1).")


def report_title_of(quick: bool, experiments: Sequence[Experiment] | None = None,
                    subset: str | None = None) -> str:
    """A report's title (its first line without ``#`` and the paper): the command's name
    with the flags that decide what it measures (quick, sections, :data:`TRAINING`'s)."""
    subset = (_sections_flag(experiments) or "") if subset is None else subset
    return (f"xbarmem reproduce{' --quick' if quick else ''}{' ' * bool(subset)}{subset}"
            f"{TRAINING.get().flags()}")


def _head(command: str, store: Path, seconds: float, table: str,
          sections: list[Section], threads: int,
          experiments: Sequence[Experiment], seeds: str = "", quick: bool = False,
          subset: str = "", not_run_note: str = "") -> list[str]:
    from xbarmem.version import __version__

    title = report_title_of(quick, subset=subset)
    return [f"# {title}: He et al. (2026), headline claims", "",
            f"Measured by `{command}` (xbarmem {__version__}, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.machine()}, {threads} torch thread{'s' if threads != 1 else ''} per "
            f"trial), finished "
            f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}, this invocation "
            f"{seconds_text(seconds)} s (trials already in the store are not re-run). Results "
            f"store: `{store}`; every number below is computed from its rows. Paper values: He et "
            f"al., Nat. Commun. 17, 3096 (2026), abstract and values read from the authors' "
            f"plots. Each claim's verdict (reproduced / partly / not reproduced) is computed "
            f"from the measured numbers by the rule stated with it; 'bar' marks each single "
            f"comparison (ok / below / above the paper's value; exponents ok / near / off). "
            f"The hardware-adaptive rule trains with its {recipe_text()} unless a section "
            f"says otherwise.{products_text(experiments)}",
            "", *([seeds, ""] if seeds else []), TERMS, "",
            *verdict_lines(sections, not_run_note),
            "## Summary", "", table, ""]
