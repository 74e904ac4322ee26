"""``xbarmem results | plot``: the rows of a results store listed, filtered, grouped, exported
and drawn."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from xbarmem.checks import counted
from xbarmem.cli import given, option_types, output_options, paths
from xbarmem.cli.apps import app
from xbarmem.cli.messages import warn
from xbarmem.cli.records import emit_json
from xbarmem.cli.tables import console, out
from xbarmem.errors import ConfigError
from xbarmem.jsontext import dumps
from xbarmem.names import hidden_words

WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", "-w", metavar="FIELD=VALUE", help="Row filter (also != < <= > >=, and ~ for a "
    "pattern: % any text, _ one character, any case: rule~storkey%); FIELD is a "
    "config key (rule, fault_rate, chip_spec.device.write_noise, ...), result.KEY "
    "(result.capacity.0.99), sweep, trial or version; one that no row has is refused. "
    "Repeatable (all must hold).")]
SweepOpt = Annotated[str | None, typer.Option(
    "--sweep", metavar="NAME", help="Only this sweep's rows: those it computed and those it "
    "found stored by another sweep (same settings), as --where sweep=NAME.")]
StoreArg = Annotated[Path, typer.Argument(metavar="STORE", help="SQLite results store.",
                                          parser=option_types.input_path)]
PlotOut = Annotated[Path | None, output_options.out(
    "figure file (.png or .svg; default KIND.png)", suffixes=(".png", ".svg"))]
CsvOut = Annotated[Path | None, output_options.output(
    "--csv", help="Export every matching row to CSV (- for standard output), in the order of "
    "the table (not with --group-by, --metric, --columns or --limit, which shape the table).",
    suffixes=(".csv",), stdout=True)]
ParquetOut = Annotated[Path | None, output_options.output(
    "--parquet", help="Export every matching row to Parquet (needs pyarrow; not with "
    "--group-by, --metric, --columns or --limit).", suffixes=(".parquet",))]


#: what ``>=`` before a capacity means, in the captions of ``results``' tables
BOUND_NOTE = ">=: only a lower bound (every count tested passed)"
_DEFAULT_COLUMNS = ("sweep", "rule", "n_neurons", "patterns", "fault_rate", "variation", "level",
                    "seed")
#: settings shown as columns, after the rule, when they vary among the rows shown of one trial
#: kind (a sweep of single-layer and multilayer memories showed two rows alike at each fault
#: rate and seed; a store resumed by a later xbarmem, rows of two versions alike)
_VARYING_COLUMNS = ("arch", "hidden", "kind", "data", "data_key", "zero_one", "selection",
                    "pool", "chip", "fault_model", "on_fraction", "corruption", "activation",
                    "mode", "probes", "max_iterations", "tol", "version")
#: settings of :data:`_VARYING_COLUMNS` that the caption says when every row shown shares them,
#: each before the default column named: what the rows store (a continuous sweep's caption read
#: as a binary one's; one multilayer architecture's as a single layer's: single-layer rows have
#: no ``hidden``, so say nothing of it) and what ``level`` measures (``level=0.6`` alone: flips?
#: noise?)
_SAID_BEFORE = {"hidden": "n_neurons", "data": "patterns", "kind": "patterns",
                "corruption": "level"}
GroupBy = Annotated[str | None, typer.Option(
    "--group-by", "-g", metavar="FIELD[,FIELD...]", help="Group rows with equal values of these "
    "fields (e.g. rule,fault_rate) and show each metric's mean and std over the rest (seeds, "
    "and settings left out of the fields, which the table names) with their number n (rows "
    "of one setting and seed count once; not with --csv or --parquet).")]
Metrics = Annotated[str | None, typer.Option(
    "--metric", "-m", metavar="NAME[,NAME...]", help="--group-by: result values shown "
    "(cosine, exact, capacity.0.99, ...; default: cosine and exact, or the capacities; --json: "
    "all). The table of rows shows the cosine, or the capacities.")]
Columns = Annotated[str | None, typer.Option(
    "--columns", "-c", metavar="FIELD[,FIELD...]", help="Fields shown per row (default: "
    "those of sweep, rule, n_neurons, patterns, fault_rate, variation, level, seed that vary, "
    "and rule_options.KEY of options swept within one rule; not with --group-by or --json).")]


@app.command("results", short_help="List, filter, group and export the rows of a results store.",
             help="List, filter, group and export the rows of a results store. A store of no "
                  "rows (an empty file too, which a sweep takes as a new store) lists as one "
                  "line (--json: []) and exits 0; an export of no rows (--csv, --parquet), "
                  "like a plot of none, is refused (exit 2).")
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
    limit: output_options.Limit = 50,
    json_out: output_options.Json = False,
) -> None:
    from xbarmem.experiments.grouping import group_rows, parse_fields
    from xbarmem.experiments.store import ResultStore

    by = parse_fields(group_by, "--group-by") if group_by is not None else None
    chosen = parse_fields(metric, "--metric") if metric is not None else None
    shown = parse_fields(columns, "--columns") if columns is not None else None
    _check_view(ctx, by is not None, csv_path is not None or parquet_path is not None, json_out)
    to_stdout = _csv_to_stdout(csv_path, json_out)
    paths.check_distinct({"--csv": None if to_stdout else csv_path, "--parquet": parquet_path},
                         {"STORE": store})
    paths.check_input(store, "results store")
    conditions = where or []
    with ResultStore(store, readonly=True) as db:
        db.check_fields(by or [], "--group-by")
        db.check_fields(chosen or [], "--metric", prefix="result.")
        db.check_fields([c for c in shown or [] if c not in _DEFAULT_COLUMNS], "--columns")
        total, written = db.count(conditions, sweep), [t for t in (csv_path, parquet_path) if t]
        _check_some(db, total, to_stdout or bool(written), conditions, sweep)
        if to_stdout:
            total = db.write_csv(sys.stdout, conditions, sweep, order=_in_table_order)
            console.print(f"wrote {counted(total, 'row')} to standard output")
            return
        for target in written:
            db.export(target, conditions, sweep, order=_in_table_order)
            console.print(f"wrote {counted(total, 'row')} to {target}")
        if written:
            if json_out:
                emit_json({"files": [str(t) for t in written], "rows": total})
            return
        # (the table: every matching row, sorted before --limit cuts; --limit 0: none)
        rows = _read_rows(db, conditions, sweep, 0 if limit == 0 and not (json_out or by)
                          else None)
        empty = "" if total else str(no_rows(db, conditions, sweep, None))
    if not rows and total and not json_out and by is None:  # --limit 0: the count only
        out.print(f"{store}: {total} row{'s' if total != 1 else ''} (--limit 0: none shown)",
                  soft_wrap=True)
    elif not rows and not json_out:  # one line, not an empty table
        out.print(empty, soft_wrap=True)
    elif by is not None:
        groups = group_rows(rows, by, chosen)
        emit_json(groups) if json_out else _print_groups(store, groups, by, rows, chosen)
    elif json_out:
        emit_json(_in_table_order(rows))
    else:
        _print_rows(store, rows, total, limit, shown)


def _check_some(db, total: int, exported: bool, conditions: list[str],
                sweep: str | None) -> None:
    """Refuse an export of no rows (it replaced an earlier export by an empty file)."""
    if not total and exported:
        raise no_rows(db, conditions, sweep, "write")


def no_rows(db, conditions: Sequence[str], sweep: str | None, what: str | None
            ) -> ConfigError:
    """The error of a command that would ``what`` (write, draw; None: the line standing for
    a table, in ``str()``) an output from no rows: the store's (``db``) rows filtered by
    ``conditions`` and ``sweep`` match none (naming those that match none alone,
    :func:`unmatched`), or it holds none; names its sweeps."""
    filtered = bool(conditions or sweep)
    return ConfigError(db.no_rows(filtered, what,
                                  unmatched(db, conditions, sweep) if filtered else ""))


def unmatched(db, conditions: Sequence[str], sweep: str | None) -> str:
    """``; --where 'rule=Hebb' matches no row by itself (rule holds hebb, pinv, storkey)``:
    the conditions of filters matching no row that match none alone (with ``--sweep``), and
    the values (at most 8) their field holds in the store; empty when each matches some row
    (it is their combination that matches none). With ``--sweep``, among that sweep's rows,
    and said so (``--where 'sweep=a' matches none of the rows of --sweep c (sweep holds c in
    them)``: it said "matches no row by itself (sweep holds c)" of a condition that matches
    rows of the store alone)."""
    from xbarmem.experiments.fields import parse_condition
    from xbarmem.experiments.grouping import field, order_key

    said: list[str] = []
    for text in conditions if db.count([], sweep) else ():  # (no rows at all: nothing to say)
        if db.count([text], sweep):
            continue
        name = parse_condition(text)[0]
        values = {_text(v, name): v for v in (field(r, name) for r in db.iter_rows(
            sweep=sweep)) if v is not None}
        texts = sorted(values, key=lambda t: order_key([values[t]]))
        held = (f" ({name} holds {', '.join(texts[:8])}{', ...' if len(texts) > 8 else ''}"
                f"{' in them' if sweep is not None else ''})" if texts else "")
        said.append(f"--where {text!r} matches " + (
            "no row by itself" if sweep is None else f"none of the rows of --sweep {sweep}")
            + held)
    return "".join(f"; {s}" for s in said)


def _read_rows(db, conditions: list[str], sweep: str | None, limit: int | None
               ) -> list[dict]:
    """The first ``limit`` rows that match (all with None), read in full; with a limit (0: the
    table's count only) the other matching rows' JSON is checked in SQLite (``check_rest``, as
    :meth:`ResultStore.check_json`), so a malformed row after the ones shown is refused as
    ``--json``, ``--group-by`` and ``--csv`` refuse it, without decoding every row of a large
    store; the conditions are read once for both."""
    return db.rows(conditions, sweep, limit=limit, check_rest=True)


def _csv_to_stdout(csv_path: Path | None, json_out: bool) -> bool:
    """Whether ``--csv -`` asks for standard output; refused with ``--json``, which prints
    there too."""
    if csv_path != output_options.STDOUT:
        return False
    if json_out:
        raise ConfigError("--csv - and --json would both print on standard output: give --csv "
                          "a file, or leave out --json")
    return True


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

    value = field(row, name)  # (a fault_rate left to the chip: the chip's, as --where)
    if name == "patterns" and value is None:
        value = field(row, "counts")
    return value


def _text(value, name: str = "") -> str:
    """A field's value in a cell, as ``--where`` reads it back: a multilayer memory's hidden
    widths as ``--hidden`` writes them (``8-4``: two layers,
    :func:`~xbarmem.names.hidden_words`), true/false as JSON and sweep files write them, and a
    table of fields (``result.train``, ``result.capacity``) as JSON, not Python's
    ``{'loss': None, 'converged': True}``."""
    if isinstance(value, bool):  # (Python's True is a text to --where)
        return "true" if value else "false"
    if isinstance(value, dict):
        return dumps(value)
    if isinstance(value, list) and name.removeprefix("config.") == "hidden":
        return hidden_words(value)
    if name == "key" and isinstance(value, str):  # (a SHA-256: its first 12 digits tell)
        return value[:12]
    if isinstance(value, list):  # (``sweeps``)
        return ",".join(map(_text, value))
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _print_rows(store: Path, rows: list[dict], total: int, limit: int | None,
                shown: list[str] | None) -> None:
    """One line per row: the chosen fields (default: :func:`_default_columns` that vary among
    the rows shown; the constant ones in the caption, with the data, pattern kind and
    corruption of :data:`_SAID_BEFORE` where every row shown shares them, which says whether
    it speaks of every row or of the first ``limit``, and leaves out a field that no row
    shown has: ``patterns`` of capacity searches) and the row's results (cosine and exact
    recall, or capacities); cells fold, never cut. ``rows`` are every matching row (their
    settings decide the columns: a swept option that the rows shown share is said in the
    caption); the first ``limit`` of them in :func:`_sorted` order are shown."""
    columns = shown or _default_columns(rows)
    rows = _sorted(rows, columns)[:limit]
    cells = {c: [_text(_value(r, c), c) for r in rows] for c in
             (columns if shown else _with_said(columns, rows))}
    same = {c: v[0] for c, v in cells.items() if len(set(v)) == 1}  # (one row: all of them)
    if shown is None:
        cells = {c: v for c, v in cells.items() if c not in same}
    title = (f"{store}: {total} row{'s' if total != 1 else ''}"
             + (f" (first {limit})" if total > (limit or total) else ""))
    where = "every row" if len(rows) == total else f"the {counted(len(rows), 'row')} shown"
    results = _result_cells(rows)
    same = {c: v for c, v in same.items() if v != "-"}  # (a field no row shown has: not said)
    notes = [f"same in {where}: " + ", ".join(f"{c}={v}" for c, v in same.items())
             if same and shown is None else "",
             BOUND_NOTE if any(">=" in v for v in results.get("capacity", ())) else ""]
    table = Table(title=title, caption="; ".join(n for n in notes if n) or None)
    for col in cells:  # (narrow minimum: on a narrow terminal the fields fold, not the results)
        table.add_column(col, overflow="fold", min_width=min(len(col), 5))
    for col in results:
        table.add_column(col, overflow="fold", min_width=min(len(col), 12))
    for i in range(len(rows)):
        table.add_row(*(v[i] for v in cells.values()), *(v[i] for v in results.values()))
    out.print_table(table, "--columns FIELD,... to choose its fields")


def _sorted(rows: list[dict], columns: Sequence[str]) -> list[dict]:
    """``rows`` sorted by the fields ``columns`` (the chosen ones, or :func:`_default_columns`
    of every row), in their order, then by key. The store holds rows in the order they were
    computed (a sweep's seeds and fault rates interleaved, a capacity sweep run by two
    processes N = 49 before N = 16; ``--jobs 2``, ``--workers`` and a resumed sweep each
    another order), so ``--limit`` cuts this order, never the store's: the same command shows
    the same rows of the same results, whichever way the sweep ran."""
    from xbarmem.experiments.grouping import order_key

    return sorted(rows, key=lambda r: (order_key([_value(r, c) for c in columns]), r["key"]))


def _in_table_order(rows: list[dict]) -> list[dict]:
    """Every matching row in the order of the table of rows with its default columns
    (:func:`_sorted` by :func:`_default_columns`): what ``--json``, ``--csv`` and
    ``--parquet`` write, so one sweep computed with ``--jobs 1`` or ``--jobs 2``, or resumed,
    exports the same rows in the same order (they wrote the store's order, the order the
    rows were computed in)."""
    return _sorted(rows, _default_columns(rows))


def _with_said(columns: Sequence[str], rows: list[dict]) -> list[str]:
    """``columns`` with each setting of :data:`_SAID_BEFORE` they lack, before its default
    column (a setting left out of the columns is one every row of a trial kind shares: the
    caption says it where every row shown does), ``data_key`` after ``data`` and ``zero_one``
    before ``patterns`` where a row of ``rows`` sets them (rows without them, the default,
    say nothing of them; rows of one .npz array said the file but not the array)."""
    out = list(columns)
    said = {**_SAID_BEFORE, **{name: before for name, before in (
        ("data_key", "kind"), ("zero_one", "patterns")) if any(_value(r, name) for r in rows)}}
    for name, before in said.items():
        if name not in out:
            out.insert(out.index(before) if before in out else len(out), name)
    return out


def _default_columns(rows: list[dict]) -> tuple[str, ...]:
    """The default columns (``sweeps`` after ``sweep`` when a row is held by another sweep
    than the one that computed it; the settings of :data:`_VARYING_COLUMNS` that vary among
    the ``rows`` of one trial kind after ``rule``), then :func:`_swept_options` of the rows
    (every matching row, not only those shown: the first 8 rows of a sweep of two readings of
    one option all had the first, and no column or caption said which)."""
    varying = _varying(rows)
    options = _swept_options(rows)
    shared = any(r.get("sweeps", [r.get("sweep")]) != [r.get("sweep")] for r in rows)
    columns = (_DEFAULT_COLUMNS[0], *(["sweeps"] if shared else []), _DEFAULT_COLUMNS[1],
               *varying, *_DEFAULT_COLUMNS[2:], *options)
    return (*columns, *_telling_apart(rows, columns))


def _telling_apart(rows: list[dict], columns: Sequence[str]) -> list[str]:
    """Fields that tell apart rows alike in every one of ``columns``: the settings in which
    such rows differ (dotted, e.g. ``chip_spec.device.write_noise``), or, for rows of one
    setting computed in several batches (see the guide's Batching), the number of networks
    trained together (``result.batch.networks``) where it differs, else the row's ``key``
    (two rows showed the same fields and different results, and nothing said why)."""
    from xbarmem.experiments.fields import flatten

    alike: dict[tuple, list[dict]] = {}
    for r in rows:
        cells = (r.get("trial"), *(_text(_value(r, c), c) for c in columns))
        alike.setdefault(cells, []).append(r)
    found: dict[str, None] = {}
    for group in (g for g in alike.values() if len(g) > 1):
        flat = [{k.removeprefix("config."): v for k, v in flatten(r).items()
                 if k.startswith("config.")} for r in group]
        differ = sorted(k for k in {k for f in flat for k in f}
                        if len({_text(f.get(k)) for f in flat}) > 1)
        if not differ:
            networks = {_text(_value(r, "result.batch.networks")) for r in group}
            differ = ["result.batch.networks" if len(networks) > 1 else "key"]
        found.update(dict.fromkeys(differ))
    return list(found)


def _varying(rows: list[dict]) -> list[str]:
    """The settings of :data:`_VARYING_COLUMNS` that vary among the ``rows`` of one trial
    kind (a setting of one trial kind only is not a column)."""
    kinds = {r.get("trial") for r in rows}
    return [c for c in _VARYING_COLUMNS if any(
        len({_text(_value(r, c), c) for r in rows if r.get("trial") == k}) > 1 for k in kinds)]


def _swept_options(rows: list[dict]) -> list[str]:
    """``rule_options.KEY`` of every rule option that takes two values among the ``rows`` of
    one rule (an option only one rule has, or that every row of a rule sets alike, says no
    more than the ``rule`` column: a sweep comparing the adaptive rule with the classic ones
    showed every adaptive option as a column, its results off the terminal); among rows of
    one rule and equal settings of :func:`_varying` (a recipe's options follow from ``arch``
    and ``kind``: a sweep of one-layer and multilayer memories showed seven). A row that
    lacks an option others of its group set takes another value ("-"): an option set on
    some grid points only, or recorded only by a later xbarmem."""
    varying = _varying(rows)
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        config = r.get("config") or {}
        group = (str(config.get("rule")), *(_text(_value(r, c), c) for c in varying))
        groups.setdefault(group, []).append(config.get("rule_options") or {})
    swept = set()
    for options in groups.values():
        for k in {k for o in options for k in o} - {"seed"}:
            # a row without the option ("-": its rule's default, or a version that did not
            # record it) differs from one that sets it
            if len({_text(o.get(k)) for o in options}) > 1:
                swept.add(f"rule_options.{k}")
    return sorted(swept)


def _result_cells(rows: list[dict]) -> dict[str, list[str]]:
    """The rows' results as columns: cosine and exact recall (rows of recall), capacity at
    each threshold (rows of capacity searches; ``>=`` before a lower bound, as ``xbarmem
    capacity`` prints it); "-" where a row has none."""
    from xbarmem.experiments.grouping import lower_bound

    results = [r.get("result") or {} for r in rows]
    cells: dict[str, list[str]] = {}
    for name in ("cosine", "exact"):
        if any(name in res for res in results):
            cells[_metric_header(name, rows)] = [
                f"{res[name]:.4f}" if isinstance(res.get(name), float) else _text(res.get(name))
                for res in results]
    if any("capacity" in res for res in results):
        cells["capacity"] = [" ".join(f"{k}:{'>=' * lower_bound(r, f'capacity.{k}')}{v}"
                                      for k, v in res.get("capacity", {}).items()) or "-"
                             for r, res in zip(rows, results, strict=True)]
    return cells


def _print_groups(store: Path, groups: list[dict], by: list[str], rows: list[dict],
                  chosen: list[str] | None) -> None:
    """One line per group: its field values, n, and mean and std of each shown metric."""
    from xbarmem.experiments.grouping import metric_names

    pooled = _pooled_text(groups)
    names = chosen or [m for m in metric_names(rows)
                       if m in ("cosine", "exact") or m.startswith("capacity.")]
    table = Table(title=f"{store}: {len(rows)} row{'s' if len(rows) != 1 else ''} in "
                  f"{len(groups)} group{'s' if len(groups) != 1 else ''}", box=box.SIMPLE_HEAD,
                  caption="each metric: the mean over the n settings of a group (its seeds"
                          f"{' and the settings it pools' if pooled else ''}), then +-std "
                          "(sample standard deviation)")
    for col in by:
        table.add_column(col, overflow="fold", min_width=min(len(col), 12))
    table.add_column("n", justify="right")
    for name in names:
        table.add_column(_metric_header(name, rows), justify="right", overflow="fold",
                         min_width=6)
        table.add_column("+-std", justify="right", overflow="fold", min_width=5)
    bounded = partial = False
    for g in groups:
        stats = []
        for name in names:
            mean, std = g["mean"].get(name), g["std"].get(name)
            bound = name in g["lower_bound"]
            bounded = bounded or bound
            some = g["count"].get(name, g["n"]) if mean is not None else g["n"]
            partial = partial or some != g["n"]
            stats += ["-" if mean is None else f"{'>=' * bound}{mean:.4g}"
                      + (f" ({some})" if some != g["n"] else ""),
                      "-" if std is None else f"{std:.2g}"]
        table.add_row(*(_text(g["group"][f], f) for f in by), str(g["n"]), *stats)
    if partial:  # (evaluate and capacity rows in one group: each has its own metrics)
        table.caption = (f"{table.caption}; mean (k): over the k of the n settings that have "
                         "the metric")
    if any(g["rows"] > g["n"] for g in groups):
        table.caption = (f"{table.caption}; rows of one setting (computed again in another "
                         "batch or by another version) are averaged first and count once")
    if any(n.startswith("capacity.") for n in names):
        table.caption = (f"{table.caption}; C@T: the capacity at threshold T (capacity.T, as "
                         "--metric and --json name it)")
    if bounded:
        table.caption = (f"{table.caption}; >=: the mean takes in lower bounds (a row of the "
                         "group passed every count it tested)")
    if pooled:
        table.caption = (f"{table.caption}; pooled: {pooled} (add them to --group-by to keep "
                         "them apart)")
    versions = sorted({str(r.get("version")) for r in rows})
    if len(versions) > 1 and "version" not in by:
        table.caption = (f"{table.caption}; rows of xbarmem {', '.join(versions)} are grouped "
                         "together: add version to --group-by to keep them apart")
    out.print_table(table, "--metric NAME,... to choose its metrics")


def _pooled_text(groups: list[dict]) -> str:
    """The settings that groups pool besides their seeds (``pooled`` of
    :func:`~xbarmem.experiments.grouping.group_rows`), each with its values (at most 4 shown):
    ``level (0.05, 0.15), n_neurons (16, 36)``; empty when no group pools any."""
    from xbarmem.experiments.grouping import order_key

    values: dict[str, dict[str, object]] = {}
    for g in groups:
        for key, held in g.get("pooled", {}).items():
            values.setdefault(key, {}).update({_text(v, key): v for v in held})
    parts = []
    for key in sorted(values):
        texts = sorted(values[key], key=lambda t: order_key([values[key][t]]))
        shown = ", ".join(texts[:4]) + (f", ... ({len(texts)} values)" if len(texts) > 4 else "")
        parts.append(f"{key} ({shown})")
    return ", ".join(parts)


def _metric_header(name: str, rows: list[dict]) -> str:
    """A metric's column header in a table of ``rows`` or of groups of them: ``C@0.95`` for
    ``capacity.0.95``, as ``capacity`` and ``scaling`` head their columns (three thresholds'
    ``capacity.0.95`` headers folded mid-word at 80 columns); ``exact signs`` for ``exact``
    where every row that has it is of continuous patterns, as ``evaluate`` says it of them
    (their states are scored by their signs); other metrics by their names."""
    if name.startswith("capacity."):
        return f"C@{name.removeprefix('capacity.')}"
    if name == "exact":
        kinds = {_value(r, "kind") for r in rows if "exact" in (r.get("result") or {})}
        return "exact signs" if kinds == {"continuous"} else name
    return name


def _figure_kinds() -> tuple[str, ...]:
    """The figure kinds of ``plot --kind`` (read when the option is parsed)."""
    from xbarmem.viz.series import KINDS

    return tuple(KINDS)


@app.command("plot", short_help="Draw a figure from a results store.",
             help="Draw a figure from a results store: mean recall cosine similarity (each "
                  "point: mean and std over seeds) vs stored patterns "
                  "(patterns), vs fault rate (faults), vs programming variation (variation), "
                  "or capacity vs N on log-log axes with the power-law fit (capacity). A store "
                  "of no rows (an empty file too) is refused, nothing to draw (exit 2).")
def plot_cmd(
    store: StoreArg,
    kind: Annotated[str | None, option_types.choice(
        "--kind", metavar="KIND", choices=_figure_kinds,
        help="patterns, faults, variation or capacity (default: the one of them the rows "
        "draw; refused when they draw several).")] = None,
    out_path: PlotOut = None,
    svg: Annotated[bool, typer.Option("--svg", help="Write KIND.svg instead of KIND.png (an --out "
                                        "file's suffix decides; .png contradicts it).")
                   ] = False,
    where: WhereOpt = None,
    sweep: SweepOpt = None,
    title: Annotated[str, typer.Option(
        "--title", metavar="TEXT",
        help="Figure title, at most 300 characters and 6 lines (default: the settings every "
        "drawn row shares, then any that varies along a line, with the rules or x values "
        "holding each value).")] = "",
    json_out: output_options.Json = False,
) -> None:
    from xbarmem.experiments.store import ResultStore
    from xbarmem.viz.results import choose_kind, plot_rows
    from xbarmem.viz.series import KINDS, MAX_FACETS, drawn_rows, pooled_settings
    from xbarmem.viz.style import save_figure
    from xbarmem.viz.text import check_title

    check_title(title, "--title")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if svg and out_path is not None and out_path.suffix.lower() != ".svg":
        raise ConfigError(f"--svg contradicts --out {out_path}: the format follows the file "
                          f"name (name it .svg, or leave out --svg)")
    paths.check_input(store, "results store")
    path = _plot_path(store, out_path)
    with ResultStore(store, readonly=True) as db:
        rows = db.rows(where or [], sweep)
        if not rows:  # (plot_rows said "no stored rows" of a store whose filters match none)
            raise no_rows(db, where or [], sweep, "draw")
    chosen = kind or choose_kind(rows, "--kind")  # (the rows read: no work done yet)
    path = path or _plot_path(store, Path(f"{chosen}.{'svg' if svg else 'png'}"))
    assert path is not None
    save_figure(plot_rows(rows, chosen, title=title), path)
    drawn = drawn_rows(rows, chosen)
    pooled = pooled_settings(rows, chosen)
    if pooled:
        warn(f"{len(pooled[1])} settings of {', '.join(pooled[0])} drawn pooled in one panel "
             f"(more than {MAX_FACETS}): each point is a mean over them; pick some with "
             f"--where (e.g. --where {pooled[0][0]}={pooled[1][0].split(',')[0]}) or "
             f"--sweep")
    bounds = [r for r in drawn if chosen == "capacity" and r["result"].get("lower_bound")]
    if bounds:
        are = "is a lower bound" if len(bounds) == 1 else "are lower bounds"
        warn(f"{counted(len(bounds), 'capacity row')} drawn {are} (every count tested "
             "passed: give larger counts, or a larger pool), marked by an upward arrow; the "
             "fit runs through them too")
    if json_out:
        emit_json({"figure": str(path), "kind": chosen, "rows": len(rows), "drawn": len(drawn)})
        return
    named = "" if kind else f"a {chosen} figure: "  # (chosen from the rows: say which)
    out.print(f"wrote {path} ({named}{_drawn_text(rows, drawn, chosen)})")


def _plot_path(store: Path, path: Path | None) -> Path | None:
    """``plot``'s figure file checked as an output that is not the store (None: not named)."""
    if path is None:
        return None
    checked = paths.check_output(path)
    paths.check_distinct({"--out": checked}, {"STORE": store})
    return checked


#: the rows of other trial kinds that a figure of each kind leaves out, in words
_OTHER_TRIALS = {"capacity": ("evaluate row", None),
                 "patterns": ("capacity search", "capacity searches")}


def _drawn_text(rows: list[dict], drawn: list[dict], kind: str) -> str:
    """How many of the ``rows`` read the figure draws, and why the others are left out (rows
    of another trial kind; rows alone at their settings, at one value of the x axis): the
    line said "44 rows" where the figure drew 12."""
    from xbarmem.viz.series import KINDS, usable_rows

    if len(drawn) == len(rows):
        return counted(len(rows), "row")
    other = len(rows) - len(usable_rows(rows, kind))
    alone = len(rows) - other - len(drawn)
    why = [counted(other, *_OTHER_TRIALS.get(kind, ("capacity row", None))) if other else "",
           f"{counted(alone, 'row')} whose settings were run at one {KINDS[kind]} only" if alone
           else ""]
    return (f"{len(drawn)} of the {len(rows)} rows drawn; left out: "
            + ", ".join(w for w in why if w))
