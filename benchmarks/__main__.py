"""``python -m benchmarks [case ...] [--quick] [--json-out FILE] [options]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .command_line import Parser, count, json_out_ok, number, seed
from .config import BenchConfig, capacity_counts
from .runner import ALIASES, DEFAULT_JSON, resolve_cases, run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser(
        prog="python -m benchmarks",
        description="Benchmark xbarmem against the naive per-network loop of the paper's "
                    "scripts. Cases: 1 (single network), 1r (the same, random patterns), 1p (the "
                    "performance issue's table: P = 8 ... 40), 2 (capacity curves), 3 (multilayer "
                    "network), 4a (one point at N=1024), 4b (multilayer point at N=784); "
                    "when named: 5 (capacity search per recipe), 6 (multilayer scaling run "
                    "to N=784). "
                    "Numbers are only meaningful as ratios measured in the same run.")
    parser.add_argument("cases", nargs="*", metavar="case",
                        help=f"cases to run (default all): {', '.join(sorted(ALIASES))}, all")
    parser.add_argument("--quick", action="store_true",
                        help="shrink everything (about 1-2 minutes on 2 cores)")
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON,
                        help="results file (default benchmarks/results/latest.json)")
    parser.add_argument("--probes", type=count(), help="cues per stored pattern (all cases)")
    parser.add_argument("--max-steps", type=count(),
                        help="step cap of the naive loop and of xbarmem's fixed-point trainer")
    parser.add_argument("--counts", type=count(128), metavar="K",
                        help="case 2: number of distinct pattern counts in 1..128")
    parser.add_argument("--trials", type=count(), help="case 2: chips (fault maps) per count")
    parser.add_argument("--flip", type=number(0.0, 0.5),
                        help="case 2: cue flip rate (default 0.1)")
    parser.add_argument("--xbarmem-lr", type=number(0.0, low_open=True),
                        help="learning rate of xbarmem's trainer (default: its own default)")
    parser.add_argument("--patterns-1024", type=count(), metavar="P",
                        help="case 4a: random patterns stored (default 100)")
    parser.add_argument("--faults-1024", type=number(0.0, 1.0), metavar="F",
                        help="case 4a: weight-fault rate (default 0.5)")
    parser.add_argument("--with-naive-1024", action="store_true",
                        help="case 4a: also run the naive loop (slow)")
    parser.add_argument("--with-naive-784", action="store_true",
                        help="case 4b: also run the naive multilayer loop (slow)")
    parser.add_argument("--no-search", action="store_true",
                        help="case 2: skip the capacity search next to the full curve")
    parser.add_argument("--threads", type=count(),
                        help="torch threads for the whole run (default: torch's own; 1 is "
                             "steadier on a shared machine)")
    parser.add_argument("--seed", type=seed, help="base seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The preset (full or quick) with the command-line overrides applied."""
    cfg = BenchConfig.quick() if args.quick else BenchConfig.full()
    probes = args.probes
    return cfg.with_overrides(
        seed=args.seed, max_steps=args.max_steps, xbarmem_lr=args.xbarmem_lr,
        single_probes=probes, capacity_probes=probes, big_probes=probes, ml_probes=probes,
        big_ml_probes=probes,
        capacity_counts=None if args.counts is None else capacity_counts(args.counts),
        capacity_trials=args.trials, capacity_flip=args.flip,
        big_patterns=args.patterns_1024, big_faults=args.faults_1024,
        big_with_naive=True if args.with_naive_1024 else None,
        big_ml_with_naive=True if args.with_naive_784 else None,
        search=False if args.no_search else None, threads=args.threads)


def main(argv: list[str] | None = None) -> int:
    try:  # every option is checked by its type: one line and exit 2 before any work
        args = parse_args(argv)
    except SystemExit as stop:
        if stop.code in (0, None):  # --help
            raise
        return 2
    try:
        cases = resolve_cases(args.cases)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not json_out_ok(args.json_out):
        return 2
    run(cases, config_from_args(args), preset="quick" if args.quick else "full",
        json_out=args.json_out, verbose=not args.quiet,
        command=" ".join(["python -m benchmarks", *(sys.argv[1:] if argv is None else argv)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
