"""``python -m benchmarks.progress_estimate COMMAND...``: how honest is the progress bar?

Runs the ``xbarmem`` command line given after the options (``reproduce --quick --out DIR``,
``sweep FILE --store S``, ``scaling ...`` or ``capacity ...``) in this process and records every
report of the sweeps' estimated work (``run_sweep``'s ``on_work``) or of the capacity searches'
(:class:`xbarmem.cli.capacity_bar.SearchBar`) with its time, and, for groups run in this process
(``--jobs 1``), each group's compute time and trials; for searches, each search's time (from
the end of the one before to its own). It prints each sweep's share of the estimated work
(:func:`xbarmem.experiments.runner.group_cost`) beside its share of the measured compute (with
``--jobs 1``), and the ETA the bar showed (elapsed time scaled by the remaining share of the
work, :func:`xbarmem.cli.progress.eta_seconds` without its wait) over the real remaining time at
25, 50 and 75% of the sweeps' elapsed time (1 = honest). Results go to
``benchmarks/results/progress_estimate.json`` with the date, the torch thread count the command
ran with (this process's while the command's work reported), the command and every group's
record (sweep, trials, seconds, estimate).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import torch

from . import command_line
from .recipes import provenance, write_result

#: the shares of the sweeps' elapsed time at which the ETA is read
POINTS = (0.25, 0.5, 0.75)


def record(args: list[str]) -> dict[str, Any]:
    """Run ``xbarmem args`` here; the work reports ``[(seconds, done, total)]``, the groups
    run here ``[{"seconds", "trials": [(key, config)]}]`` and the sweeps' start and end."""
    import xbarmem.experiments.executors as executors
    import xbarmem.experiments.runner as runner
    from xbarmem.cli import main as command_line_main

    log: dict[str, Any] = {"work": [], "groups": [], "start": None, "end": None, "sweeps": {}}
    began = time.perf_counter()
    run_group_json, run_sweep = executors.run_group_json, runner.run_sweep

    def timed(payload: str, progress=None) -> str:
        start = time.perf_counter()
        out = run_group_json(payload, progress)
        log["groups"].append({"seconds": time.perf_counter() - start, "trials": [
            (t["key"], t["config"]) for t in json.loads(payload)["trials"]]})
        return out

    def sweep(*a: Any, **k: Any):
        given = k.get("on_work")

        def on_work(done: float, total: float) -> None:
            log["work"].append((time.perf_counter() - began, done, total))
            log["torch_threads"] = torch.get_num_threads()  # the command's, while it runs
            if given is not None:
                given(done, total)
        specs = a[0] if a else k["spec"]
        for spec in specs if isinstance(specs, list) else [specs]:
            log["sweeps"].update({t.key: spec.name for t in spec.trials})
        log["start"] = log["start"] or time.perf_counter() - began
        try:
            return run_sweep(*a, **{**k, "on_work": on_work})
        finally:
            log["end"] = time.perf_counter() - began

    executors.run_group_json, runner.run_sweep = timed, sweep
    argv, sys.argv = sys.argv, ["xbarmem", *args]
    try:
        with _searches_recorded(log, began):
            command_line_main()
    except SystemExit as stop:
        if stop.code:
            raise
    finally:
        executors.run_group_json, runner.run_sweep = run_group_json, run_sweep
        sys.argv = argv
    return log


@contextlib.contextmanager
def _searches_recorded(record: dict[str, Any], began: float) -> Iterator[None]:
    """Within: every report of ``capacity``'s and ``scaling``'s bar in ``record["work"]``, the
    bar's start and end, and each search's last tested count (``record["searches"]``: ``{key:
    [seconds, estimate]}``)."""
    from xbarmem.cli.capacity_bar import SearchBar

    init, tested, ended = SearchBar.__init__, SearchBar.tested, SearchBar.ended
    record.setdefault("searches", {})

    def now() -> float:
        return time.perf_counter() - began

    def started(self, bar, work, what, log) -> None:
        init(self, bar, work, what, log)
        record["start"] = now()

    def on_tested(self, key, detail, count, similarity) -> None:
        tested(self, key, detail, count, similarity)
        record["end"] = now()
        record["work"].append((record["end"], self.work.done, self.work.total))
        record["searches"][str(key)] = [record["end"], self.work.weights[key]]
        record["torch_threads"] = torch.get_num_threads()  # the command's, while it runs

    def on_ended(self, key) -> None:
        ended(self, key)
        record["work"].append((now(), self.work.done, self.work.total))

    SearchBar.__init__, SearchBar.tested, SearchBar.ended = (  # type: ignore[method-assign]
        started, on_tested, on_ended)
    try:
        yield
    finally:
        SearchBar.__init__, SearchBar.tested, SearchBar.ended = (  # type: ignore[method-assign]
            init, tested, ended)


def search_shares(log: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each search's share of the estimated work and of the searches' time (from the last
    count the one before tested to its own last)."""
    rows, before = {}, log["start"]
    searches = log.get("searches") or {}
    e = sum(w for _, w in searches.values()) or 1.0
    r = (log["end"] - log["start"]) if searches else 1.0
    for key, (at, weight) in searches.items():
        rows[key] = {"estimate": weight / e, "measured": (at - before) / r}
        before = at
    return rows


def eta_ratios(log: dict[str, Any]) -> dict[str, float]:
    """The shown ETA over the real remaining time at each of :data:`POINTS`."""
    start, end, out = log["start"], log["end"], {}
    for point in POINTS:
        at = start + point * (end - start)
        seen = [w for w in log["work"] if w[0] <= at and w[2]]
        share = seen[-1][1] / seen[-1][2] if seen else 0.0
        eta = (at - start) * (1 - share) / share if share > 0 else float("inf")
        out[f"{point:.0%}"] = eta / (end - at)
    return out


def shares(log: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each sweep's share of the estimated work and of the measured compute of the groups
    run in this process (a group counts for the sweep of its first trial)."""
    from xbarmem.experiments.runner import group_cost
    from xbarmem.experiments.sweep import Trial

    est: dict[str, float] = {}
    real: dict[str, float] = {}
    for g in log["groups"]:
        g["estimate"] = group_cost([Trial(k, c) for k, c in g["trials"]])
        name = g["sweep"]
        est[name] = est.get(name, 0.0) + g["estimate"]
        real[name] = real.get(name, 0.0) + g["seconds"]
    e, r = sum(est.values()) or 1.0, sum(real.values()) or 1.0
    return {s: {"estimate": est[s] / e, "measured": real[s] / r} for s in est}


def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("progress_estimate", __doc__)
    command_line.results_options(parser, "progress_estimate", printed=False)
    parser.add_argument("command", nargs="+", help="the xbarmem command line (after --)")
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    log = record(args.command)
    for g in log["groups"]:
        g["sweep"] = log["sweeps"].get(g["trials"][0][0], "?")
    rows = {**shares(log), **search_shares(log)}
    for name, row in sorted(rows.items(), key=lambda kv: -kv[1]["measured"]):
        print(f"{name}: estimate {row['estimate']:.3f} of the work, "
              f"measured {row['measured']:.3f} of the compute")
    ratios = eta_ratios(log)
    print("ETA / real remaining time at " + ", ".join(f"{k}: {v:.2f}" for k, v in ratios.items()))
    # the thread count the command ran with (it restores this process's own when it ends)
    threads = {"torch_threads": log["torch_threads"]} if "torch_threads" in log else {}
    return write_result({**provenance("progress_estimate", argv), **threads, "shares": rows,
                         "eta_over_remaining": ratios,
                         "sweeps_seconds": log["end"] - log["start"],
                         "groups": log["groups"], "work": log["work"]}, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
