"""Run a selection of cases in one process, print them and write the JSON results."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from xbarmem import AdaptiveTrainer
from xbarmem.learning.base import Problem
from xbarmem.learning.multilayer import MultilayerTrainer

from .cases import CASES, OPT_IN
from .command_line import code, json_out_problem, machine
from .config import BenchConfig, reading, settings_note
from .measure import PeakMemory, lifetime_peak_bytes, matmul_gflops
from .naive import train_naive, train_naive_multilayer
from .report import (
    load_table,
    print_case,
    print_footer,
    print_header,
    recipe_table,
    write_json,
)

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"

#: Accepted case names and the canonical id each stands for.
ALIASES: dict[str, str] = {
    "1": "1", "single": "1",
    "1r": "1r", "random": "1r",
    "1p": "1p", "loads": "1p",
    "2": "2", "capacity": "2",
    "3": "3", "multilayer": "3",
    "4a": "4a", "n1024": "4a", "big": "4a",
    "4b": "4b", "n784": "4b",
    "5": "5", "search": "5",
    "6": "6", "scaling": "6",
}


def resolve_cases(names: list[str]) -> list[str]:
    """Canonical case ids in suite order (every case but the opt-in ones when ``names`` is
    empty or ``all``)."""
    if not names or "all" in names:
        return [c for c in CASES if c not in OPT_IN]
    unknown = [n for n in names if n.lower() not in ALIASES]
    if unknown:
        raise ValueError(f"unknown case(s) {unknown}; choose from {sorted(ALIASES)} or 'all'")
    wanted = {ALIASES[n.lower()] for n in names}
    return [c for c in CASES if c in wanted]


def warm_up() -> float:
    """Pay one-time costs (lazy imports behind ``torch.optim`` and autograd, first kernels)
    before anything is timed, so they land on neither side. Returns the seconds it took."""
    start = time.perf_counter()
    x = torch.ones(2, 8)
    train_naive(x, torch.ones(8, 8), max_steps=3)
    AdaptiveTrainer(objective="fixed-point", max_steps=3).fit(Problem.of(x))
    AdaptiveTrainer(max_steps=3, finetune_steps=2, cue_copies=1, unroll=1).fit(Problem.of(x))
    train_naive_multilayer(x, [torch.ones(4, 8), torch.ones(8, 4)], max_steps=3)
    bounds = [(torch.full((4, 9), -1.0), torch.full((4, 9), 1.0)),
              (torch.full((8, 5), -1.0), torch.full((8, 5), 1.0))]
    MultilayerTrainer(objective="fixed-point", max_steps=3).fit(Problem.of(x, bounds))
    MultilayerTrainer(max_steps=3, finetune_steps=2, cue_copies=1, unroll=1).fit(
        Problem.of(x, bounds))
    return time.perf_counter() - start


def run(cases: list[str], cfg: BenchConfig, *, preset: str = "custom",
        json_out: Path | None = DEFAULT_JSON, console: Console | None = None,
        verbose: bool = True, command: str | None = None) -> dict[str, Any]:
    """Run ``cases`` (ids or aliases) with ``cfg``, print tables to ``console`` and write the
    results to ``json_out`` (skipped when None). ``preset`` only labels the output (``full``,
    ``quick``, ...) and ``command`` is the command line the results say they came from (None
    when run from Python). Returns the results dict."""
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
            console = Console(width=140)
    ids = resolve_cases(cases)
    problem = None if json_out is None else json_out_problem(Path(json_out))
    if problem:
        raise ValueError(problem)
    threads_before = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(ids, cfg, preset, json_out, console, verbose, command)
    finally:
        torch.set_num_threads(threads_before)


def _run(ids: list[str], cfg: BenchConfig, preset: str, json_out: Path | None,
         console: Console, verbose: bool, command: str | None) -> dict[str, Any]:
    start = time.perf_counter()
    warm_up_seconds = warm_up()
    with PeakMemory() as probe:
        pass
    meta: dict[str, Any] = {
        "timestamp_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command, "preset": preset, "cases": ids,
        "torch_threads": torch.get_num_threads(), **code(), **machine(),
        "memory_method": probe.method, "units": {"time": "seconds", "memory": "bytes",
                                                 "rate": "GFLOP/s"},
        "warm_up_seconds": warm_up_seconds, "matmul_gflops_start": matmul_gflops(),
        "config": cfg.as_dict(),
    }
    print_header({**meta, "settings_note": settings_note(  # (meta's: of the settings read)
        cfg, set(cfg.as_dict()), preset, "the ratios of the cases reading these are")}, console)

    def log(message: str) -> None:
        if verbose:
            console.print(f"[dim]{message}[/dim]")

    results: dict[str, Any] = {"meta": meta, "cases": {}}
    read: set[str] = set()
    for case_id in ids:
        seen: set[str] = set()
        entry = CASES[case_id](reading(cfg, seen), log)
        entry["settings_note"] = settings_note(cfg, seen, preset)
        read |= seen
        entry["ru_maxrss_bytes_after"] = lifetime_peak_bytes()  # (the process's peak so far)
        results["cases"][case_id] = entry
        print_case(entry, console)
    results["recipe_table"] = recipe_table(results)
    results["load_table"] = load_table(results)
    meta["settings_note"] = settings_note(cfg, read, preset)
    meta["matmul_gflops_end"] = matmul_gflops()
    meta["total_seconds"] = time.perf_counter() - start
    print_footer(meta, console)
    if json_out is not None:
        path = write_json(results, Path(json_out))
        console.print(f"results written to {path}")
    return results
