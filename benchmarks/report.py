"""Printing (Rich tables) and writing (JSON) benchmark results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

MB = 1024 * 1024


def _num(value: float | None, fmt: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, fmt)


def _us(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:.0f}"


def _mem(entry: dict[str, Any]) -> str:
    return (f"{entry['peak_rss_bytes'] / MB:.0f} (+{entry['peak_rss_delta_bytes'] / MB:.0f})"
            if "peak_rss_bytes" in entry else "n/a")


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def show(console: Console, table: Table) -> None:
    """Print ``table`` whole: at its natural width where the console is narrower (a terminal
    of 80 columns then wraps its lines), so that no cell is cut (rich shrank every column to
    the terminal and cut the numbers: ``0.92…``)."""
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    width = console.width
    console.width = max(width, natural)  # (print's own width is capped at the console's)
    try:
        console.print(table)
    finally:
        console.width = width


def print_header(meta: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]xbarmem benchmarks[/bold] ({meta['preset']} settings) - xbarmem "
        f"{meta.get('xbarmem', '?')} (commit {meta.get('commit') or 'unknown'}), torch "
        f"{meta['torch']}, {meta['torch_threads']} thread(s), {meta['cpu_count']} CPU(s) "
        f"({meta.get('cpu', 'unknown CPU')})\n"
        f"reference: float32 1024x1024 matmul {meta['matmul_gflops_start']:.1f} GFLOP/s "
        "(best of 10)\n"
        "RSS MB = whole-process peak resident set size during each side "
        f"({meta['memory_method']}), (+x) = above the RSS at that side's start.\n"
        "GFLOP/s = analytic useful work (3 x 2*P*N^2 per step and network) / training time. "
        "Speed ratios = naive time / xbarmem time, measured in this run.\n"
        "xbarmem's fixed-point trainer stops with stop='stable' (solution stopped changing) "
        "unless a side says stop=loss (the paper's loss < 1e-8).")
    if meta.get("settings_note"):
        console.print(f"[bold]{escape(meta['settings_note'])}[/bold]", soft_wrap=True)


def print_case(entry: dict[str, Any], console: Console) -> None:
    """Print one case's results."""
    console.rule(f"case {entry['case']}: {entry['title']}")
    if entry.get("settings_note"):
        console.print(f"[bold]{escape(entry['settings_note'])}[/bold]", soft_wrap=True)
    if entry["status"] == "skipped":
        console.print(f"case {entry['case']}: {entry['reason']}")
        return
    {"1": _print_single, "1r": _print_single, "1p": _print_loads, "2": _print_capacity,
     "3": _print_single,
     "4a": _print_big, "4b": _print_single, "5": _print_search,
     "6": _print_scaling}[entry["case"]](entry, console)
    console.print(f"shared by both sides: {entry['shared']}")


def _print_search(entry: dict[str, Any], console: Console) -> None:
    table = Table(title="capacity search, wall time per recipe (fresh process each)")
    for col in ("recipe", "wall s", "counts trained", "capacities"):
        table.add_column(col, justify="left" if col in ("recipe", "capacities") else "right")
    for recipe, run in entry["runs"].items():
        if run["status"] != "ok":
            table.add_row(recipe, f"{run['seconds']:.1f}", "failed", " ".join(run["error"]))
            continue
        table.add_row(recipe, f"{run['seconds']:.1f}", str(run["counts_trained"]),
                      ", ".join(f"@{t}: {c}" for t, c in run["capacity"].items()))
    show(console, table)
    for recipe, ratio in entry["speed_ratio_default_over"].items():
        console.print(f"speed default/{recipe}: {_ratio(ratio)} wall time")


def _print_scaling(entry: dict[str, Any], console: Console) -> None:
    if entry["status"] != "ok":
        console.print(f"scaling run failed after {entry['seconds']:.0f} s: "
                      f"{' '.join(entry['error'])}")
        return
    table = Table(title=f"multilayer binary scaling, H = N, threshold 0.99, "
                        f"{entry['settings']['threads']} torch thread(s)")
    for col in ("N", "capacity", "counts trained", "search s"):
        table.add_column(col, justify="right")
    for row in entry["sizes"]:
        table.add_row(str(row["n"]), str(row["capacity"]), str(row["counts_trained"]),
                      f"{row['seconds']:.0f}")
    show(console, table)
    fit = entry["fit"] or {}
    interval = (f" [{fit['slope_low']:.3f}, {fit['slope_high']:.3f}]"
                if fit.get("slope_low") is not None else " (no interval from two sizes)")
    console.print("exponent " + (f"{fit['slope']:.3f}{interval}" if fit else "n/a")
                  + f"; {entry['seconds']:.0f} s wall in all")


#: the sides of case 1p, as its table names them
LOAD_SIDES = {"naive": "authors' loop",
              "xbarmem default before 2026-12-01": "before 12-01",
              "xbarmem default of 2026-12-01": "12-01",
              "xbarmem basin (default)": "default",
              "xbarmem fast recipe": "fast"}
#: what case 1p's short side names stand for
LOAD_LEGEND = ("authors' loop = the naive loop (the paper's scripts); before 12-01 = the one-layer "
               "default recipe before 2026-12-01 (the default when the performance issue was "
               "filed); 12-01 = the default recipe of 2026-12-01; default = today's default "
               "recipe; fast = the fast recipe; (x) = speed-up over the authors' loop in "
               "training time, measured in this run")


def load_rows(entry: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Case 1p as a table: the header and one row per pattern count -- each side's training
    seconds (with its speed-up over the authors' loop) and every side's recall cosine at both
    flip rates, in the order of :data:`LOAD_SIDES`."""
    names = [LOAD_SIDES[label] for label in LOAD_SIDES if label in entry["loads"][0]["sides"]]
    first = entry["settings"]["protocol"]["level"]
    second = entry["settings"]["second_flip"]
    header = (["P", *(f"{name} train s" for name in names)]
              + [f"cosine {level:.0%} flips: {' / '.join(names)}" for level in (first, second)])
    rows = []
    for load in entry["loads"]:
        sides = [(label, load["sides"][label]) for label in LOAD_SIDES
                 if label in load["sides"]]
        times = [f"{side['train_seconds']:.2f}" + (
            "" if label == "naive" else
            f" ({_ratio(load['speed_ratio_naive_over'][label]['train'])})")
            for label, side in sides]
        cosines = [" / ".join(_num(side.get(key), ".4f") for _, side in sides)
                   for key in ("cosine", "cosine_second_flip")]
        rows.append([str(load["settings"]["n_patterns"]), *times, *cosines])
    return header, rows


def load_table(results: dict[str, Any]) -> str:
    """Markdown of case 1p (:func:`load_rows`; empty without it)."""
    entry = results["cases"].get("1p")
    if entry is None or entry.get("status") != "ok":
        return ""
    header, rows = load_rows(entry)
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(row) + " |" for row in rows])


def _print_loads(entry: dict[str, Any], console: Console) -> None:
    header, rows = load_rows(entry)
    table = Table(title="training seconds (speed-up over the authors' loop) and recall, per "
                        "pattern count")
    for col in header:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    show(console, table)
    console.print(LOAD_LEGEND)
    checks = {key: all(load["checks"][key] for load in entry["loads"])
              for key in entry["loads"][0]["checks"]}
    console.print(f"checks (every P): {checks}")


def _print_single(entry: dict[str, Any], console: Console) -> None:
    proto = entry["settings"]["protocol"]
    table = Table(title=f"recall: {proto['level']:.0%} flips, {proto['probes']} cues/pattern, "
                        "sync sign")
    second = entry["settings"].get("second_flip")
    for col in ("side", "train s", "steps", "us/step", "final loss", "GFLOP/s", "RSS MB",
                "cosine", *([f"cos {second:.0%}"] if second is not None else []), "exact"):
        table.add_column(col, justify="left" if col == "side" else "right")
    skipped = []
    for label, side in entry["sides"].items():
        if side.get("status") == "skipped":
            skipped.append(f"{label} side skipped: {side['reason']}")
            continue
        table.add_row(label, f"{side['train_seconds']:.2f}", str(side["steps"]),
                      _us(side["seconds_per_step"]), _num(side["final_loss"], ".2e"),
                      _num(side["gflops"], ".2f"), _mem(side), f"{side['cosine']:.4f}",
                      *([_num(side.get("cosine_second_flip"), ".4f")] if second is not None
                        else []), f"{side['exact']:.3f}")
    show(console, table)
    for line in skipped:
        console.print(line)
    for label, r in entry["speed_ratio_naive_over"].items():
        console.print(f"speed naive/{label}: {_ratio(r['train'])} training time, "
                      f"{_ratio(r['per_step'])} per step, {_ratio(r['wall'])} wall")
    console.print(f"checks: {entry['checks']}")


def _label(name: str, sides: dict[str, Any], side: dict[str, Any]) -> str:
    """A row's side as cases 2 and 4a print it: the xbarmem sides (curve and search) with the
    objective they trained (``xbarmem fixed-point``), as cases 1 and 3 name theirs."""
    if name == "naive":
        return name
    objective = sides["xbarmem"].get("options", {}).get("objective")
    what = "xbarmem" + (f" {objective}" if objective else "")
    return what if name == "xbarmem" else f"{what} search ({side['rounds']} rounds)"


def _print_capacity(entry: dict[str, Any], console: Console) -> None:
    settings = entry["settings"]
    thresholds = [f"{t:.2f}" for t in settings["thresholds"]]
    proto = settings["protocol"]
    table = Table(title=f"capacity: {proto['level']:.0%} flips, {proto['probes']} cues/pattern, "
                        f"{settings['trials']} trial(s) per count")
    for col in ("faults", "side", "networks", "train s", "eval s", "wall s", "net-steps",
                "us/net-step", "GFLOP/s", "RSS MB", *[f"cap@{t}" for t in thresholds]):
        table.add_column(col, justify="left" if col in ("faults", "side") else "right")
    for level in entry["levels"]:
        for name in ("naive", "xbarmem", "search"):
            side = level.get(name)
            if side is None:
                continue
            evals = side.get("eval_seconds", side.get("recall_seconds"))
            table.add_row(f"{level['faults']:.0%}", _label(name, level, side),
                          str(side["networks"]), f"{side['train_seconds']:.2f}",
                          _num(evals, ".2f"), f"{side['wall_seconds']:.2f}",
                          _num(side.get("network_steps"), ".0f"),
                          _us(side.get("seconds_per_network_step")),
                          _num(side.get("gflops"), ".2f"), _mem(side),
                          *[str(side["capacity"][t]) for t in thresholds])
    show(console, table)
    for level in entry["levels"]:
        r = level["speed_ratio_naive_over_xbarmem"]
        console.print(f"{level['faults']:.0%} faults, speed naive/xbarmem: "
                      f"{_ratio(r['train'])} training time, {_ratio(r['per_network_step'])} "
                      f"per network-step, {_ratio(r['wall'])} wall")
        if "speed_ratio_naive_over_search" in level:
            r = level["speed_ratio_naive_over_search"]
            console.print(f"{level['faults']:.0%} faults, speed naive/search: "
                          f"{_ratio(r['train'])} training time, {_ratio(r['wall'])} wall "
                          f"(tested counts {level['search']['tested']})")
    curve = Table(title="mean cosine vs stored patterns")
    curve.add_column("count", justify="right")
    for level in entry["levels"]:
        for name in ("naive", "xbarmem"):
            curve.add_column(f"{name} {level['faults']:.0%}", justify="right")
    for i, count in enumerate(settings["counts"]):
        cells = [f"{level[name]['points'][i]['cosine']:.4f}"
                 for level in entry["levels"] for name in ("naive", "xbarmem")]
        curve.add_row(str(count), *cells)
    show(console, curve)


def _print_big(entry: dict[str, Any], console: Console) -> None:
    proto = entry["settings"]["protocol"]
    table = Table(title=f"recall: {proto['level']:.0%} flips, {proto['probes']} cues/pattern")
    for col in ("side", "train s", "wall s", "steps", "us/step", "GFLOP/s", "RSS MB",
                "cosine", "exact"):
        table.add_column(col, justify="left" if col == "side" else "right")
    skipped = []
    for name, side in entry["sides"].items():
        if side.get("status") == "skipped":
            skipped.append(f"{name} side skipped: {side['reason']}")
            continue
        point = side["points"][0]
        table.add_row(_label(name, entry["sides"], side), f"{side['train_seconds']:.2f}",
                      f"{side['wall_seconds']:.2f}",
                      f"{side['network_steps']:.0f}", _us(side["seconds_per_network_step"]),
                      _num(side["gflops"], ".2f"), _mem(side), f"{point['cosine']:.4f}",
                      f"{point['exact']:.3f}")
    show(console, table)
    for line in skipped:
        console.print(line)
    ratio = entry["speed_ratio_naive_over_xbarmem"]
    if ratio is not None:
        console.print(f"speed naive/xbarmem: {_ratio(ratio['train'])} training time, "
                      f"{_ratio(ratio['per_network_step'])} per step")


def print_footer(meta: dict[str, Any], console: Console) -> None:
    console.rule()
    console.print(f"matmul reference: {meta['matmul_gflops_start']:.1f} GFLOP/s at start, "
                  f"{meta['matmul_gflops_end']:.1f} GFLOP/s at end (a drop means the CPU was "
                  f"shared); total {meta['total_seconds']:.1f} s")


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write ``results`` as strict JSON (creating the folder); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(results), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


#: the sides of the single-layer (1, 1r) and multilayer (3) cases the recipe table lists
RECIPE_SIDES = {"naive": "naive loop (the paper's scripts)",
                "xbarmem basin (default)": "default recipe",
                "xbarmem fast recipe": "fast recipe",
                "xbarmem fixed-point": "fixed-point objective",
                "xbarmem multilayer basin (default)": "default recipe",
                "xbarmem multilayer fast recipe": "fast recipe",
                "xbarmem multilayer fixed-point": "fixed-point objective"}


def recipe_table(results: dict[str, Any]) -> str:
    """Markdown: for every side of cases 1, 1r and 3 in ``results``, its training time, steps,
    speed-up over the naive loop and recall at both flip rates (empty without those cases)."""
    lines = []
    for case in ("1", "1r", "3"):
        entry = results["cases"].get(case)
        if entry is None or entry.get("status") != "ok":
            continue
        first = entry["settings"]["protocol"]["level"]
        second = entry["settings"].get("second_flip")
        if not lines:
            lines = ["| case | training | train s | steps | speed-up over naive | "
                     f"cosine {first:.0%} flips | cosine "
                     f"{'n/a' if second is None else format(second, '.0%')} flips |",
                     "|---|---|---|---|---|---|---|"]
        ratios = entry["speed_ratio_naive_over"]
        for label, side in entry["sides"].items():
            if side.get("status") == "skipped" or label not in RECIPE_SIDES:
                continue
            speed = "1" if label == "naive" else _num(ratios.get(label, {}).get("train"), ".3g")
            st = entry["settings"]
            what = (f"{case}: {st['data']}, N = {st['n_neurons']}"
                    + (f", H = {st['hidden']}" if "hidden" in st else "")
                    + f", P = {st['n_patterns']}")
            name = RECIPE_SIDES[label] + (
                f" (the same training as the {RECIPE_SIDES[side['same_training_as']]})"
                if side.get("same_training_as") in RECIPE_SIDES else "")
            lines.append(f"| {what} | {name} | "
                         f"{side['train_seconds']:.2f} | {side['steps']} | {speed} | "
                         f"{side['cosine']:.4f} | {_num(side.get('cosine_second_flip'), '.4f')} |")
    return "\n".join(lines)
