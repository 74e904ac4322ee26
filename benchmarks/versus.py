"""``python -m benchmarks.versus REV``: recall and training time of the default training, the
current code against the code of git revision ``REV``, on this machine.

A change to the training's arithmetic or random draws (not to its options) should leave recall
where it was, within the spread of seeds. This trains the default recipe of the
hardware-adaptive rule on :data:`CASES` (one layer without faults, with 50% weight faults and
with 50% stuck devices, and a 64-32-64 memory), ``--seeds`` networks each (fault map and trainer
seed ``0 .. seeds - 1``), once with ``REV``'s ``src`` (exported by ``git archive`` into a
temporary folder) and once with the current tree, each side in a fresh process with
``--threads`` torch threads, one after the other. Per case and side: the mean recall cosine
at 5% and 10% flips (``--probes`` cues per pattern, cue seed 3) and the training seconds of
all its networks; and the change from ``REV`` to the current code.

With ``--commands`` it times command lines instead: the capacity search of the performance
issue (:data:`COMMANDS`: ``xbarmem capacity --arch single --data digits --threshold
0.9,0.95,0.99 --trials 2 --threads 2``) and ``xbarmem reproduce --quick`` (2 jobs), each run
as ``python -m xbarmem`` with ``REV``'s ``src`` and then with the current one, one after the
other on this machine: wall seconds and what each run found (capacities, verdicts). Takes
about five minutes.

Results go to ``benchmarks/results/versus.json`` (``versus_commands.json``) with the date, torch
threads and command; ``--json`` prints them. Takes about five minutes with the defaults.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from . import command_line
from .config import BenchConfig

ROOT = Path(__file__).resolve().parents[1]
FLIPS = (0.05, 0.1)

#: name -> (pattern source, count, chip preset, fault rate, architecture)
CASES = {
    "MNIST 8x8 P=32": ("mnist", 32, "paper-sim", 0.0, "single"),
    "random P=32": ("random", 32, "paper-sim", 0.0, "single"),
    "MNIST 8x8 P=16, 50% weight faults": ("mnist", 16, "paper-sim", 0.5, "single"),
    "digits P=12, 50% stuck devices": ("digits", 12, "ideal", 0.5, "single"),
    "64-32-64, MNIST 8x8 P=32": ("mnist", 32, "paper-sim", 0.0, "multilayer"),
}


#: name -> (xbarmem command line, its result: path into its --json output); ``{out}`` is a
#: fresh temporary folder
COMMANDS = {
    "capacity search on digits": (BenchConfig().search_command(), ("results", 0, "capacity")),
    "reproduce --quick": (["reproduce", "--quick", "--out", "{out}", "--json"], ("verdicts",)),
}


def time_commands(src: Path) -> dict:
    """Every command of :data:`COMMANDS` with the xbarmem in ``src``, in a fresh process each:
    ``{name: {"seconds": wall seconds, "found": the result}}``. Raises SystemExit naming the
    command when one fails or its output lacks the result (another revision's format)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = {}
    for name, (args, path) in COMMANDS.items():
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "xbarmem",
                       *(a.replace("{out}", str(Path(tmp) / "out")) for a in args)]
            began = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True,
                                  check=False)
            seconds = time.perf_counter() - began
        if done.returncode:
            raise SystemExit(f"{name} failed: {done.stderr.strip().splitlines()[-1:]}")
        try:
            found = json.loads(done.stdout)
            for key in path:
                found = found[key]
        except (ValueError, KeyError, IndexError, TypeError):
            raise SystemExit(f"{name}: its --json output has no "
                             f"{'/'.join(map(str, path)) or 'JSON'}") from None
        out[name] = {"seconds": seconds, "found": found}
    return out


def export_source(rev: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``rev`` written under ``into``; its path. Raises
    SystemExit naming ``rev`` when git cannot export it."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "src"], cwd=ROOT,
                             capture_output=True, check=False)
    if archive.returncode:
        raise SystemExit(f"revision {rev}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def measure_side(seeds: int, probes: int) -> dict:
    """Every case with the xbarmem on ``sys.path``: ``{case: {"cosine": [at 5%, at 10%],
    "train_s": seconds}}``."""
    import xbarmem as xm
    from xbarmem.data.sources import patterns_for
    from xbarmem.hardware.chip import load_preset

    out = {}
    for name, (source, count, preset, faults, arch) in CASES.items():
        patterns = patterns_for(source, 64, n_patterns=count, seed=5)
        chip = load_preset(preset).with_faults(faults) if faults else load_preset(preset)
        extra = {"arch": "multilayer", "hidden": 32} if arch == "multilayer" else {}
        sums, seconds = [0.0] * len(FLIPS), 0.0
        for seed in range(seeds):
            began = time.perf_counter()
            memory = xm.train(patterns, chip=chip, fault_seed=seed, seed=seed, **extra)
            seconds += time.perf_counter() - began
            for i, level in enumerate(FLIPS):
                protocol = xm.Protocol(corruption="flip", level=level, probes=probes, seed=3)
                sums[i] += xm.evaluate_memory(memory, patterns, protocol).cosine / seeds
        out[name] = {"cosine": sums, "train_s": seconds}
    return out


def _side(src: Path, args: argparse.Namespace) -> dict:
    """One side in a fresh process whose ``xbarmem`` is the one in ``src``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "benchmarks.versus", "--side",
                           "--seeds", str(args.seeds), "--probes", str(args.probes),
                           "--threads", str(args.threads)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"a side failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("versus", __doc__)
    parser.add_argument("rev", nargs="?", help="git revision to compare against")
    parser.add_argument("--seeds", type=int, default=4, help="networks per case (default 4)")
    parser.add_argument("--probes", type=int, default=20, help="cues per pattern (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--json-out", type=Path, help="result file (default: "
                        "benchmarks/results/versus.json; versus_commands.json with "
                        "--commands)")
    parser.add_argument("--commands", action="store_true", help="time the capacity search "
                        "and reproduce --quick with each side instead of training the cases")
    parser.add_argument("--side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.seeds, args.probes, args.threads) < 1:
        print("error: --seeds, --probes and --threads must be at least 1", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    if args.side:
        print(json.dumps(measure_side(args.seeds, args.probes)))
        return 0
    if not args.rev:
        print("error: name the git revision to compare against", file=sys.stderr)
        return 2
    from .recipes import RESULTS, provenance, write_result

    args.json_out = args.json_out or RESULTS / ("versus_commands.json" if args.commands
                                                else "versus.json")
    if not command_line.json_out_ok(args.json_out):
        return 2
    known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.rev}^{{commit}}"],
                           cwd=ROOT, capture_output=True, check=False)
    if known.returncode:
        print(f"error: {args.rev!r} is not a git revision of this repository", file=sys.stderr)
        return 2
    if args.commands:
        result = {**provenance("versus", argv), "against": args.rev,
                  **compare_commands(args.rev)}
        if not args.json:
            print(result["table"])
        return write_result(result, args.json_out, json_stdout=args.json)
    with tempfile.TemporaryDirectory() as tmp:
        before = _side(export_source(args.rev, Path(tmp)), args)
    after = _side(ROOT / "src", args)
    rows = {name: {"before": before[name], "after": after[name],
                   "cosine_change": [a - b for a, b in zip(after[name]["cosine"],
                                                           before[name]["cosine"], strict=True)]}
            for name in CASES}
    result = {**provenance("versus", argv), "against": args.rev, "seeds": args.seeds,
              "probes": args.probes, "flips": list(FLIPS), "cases": rows,
              "table": _table(rows, args.rev)}
    if not args.json:
        print(result["table"])
    return write_result(result, args.json_out, json_stdout=args.json)


def compare_commands(rev: str) -> dict:
    """:func:`time_commands` with ``rev``'s ``src``, then with the current one: ``{"commands":
    {name: {"before": ..., "after": ..., "ratio": before / after seconds}}, "table": ...}``."""
    with tempfile.TemporaryDirectory() as tmp:
        before = time_commands(export_source(rev, Path(tmp)))
    after = time_commands(ROOT / "src")
    rows = {name: {"before": before[name], "after": after[name],
                   "ratio": before[name]["seconds"] / after[name]["seconds"]}
            for name in COMMANDS}
    lines = [f"| command | wall s, {rev} -> now | speed-up | found, {rev} | found, now |",
             "|---|---|---|---|---|"]
    for name, row in rows.items():
        found = [json.dumps(row[side]["found"], sort_keys=True) for side in ("before", "after")]
        lines.append(f"| {name} | {row['before']['seconds']:.1f} -> "
                     f"{row['after']['seconds']:.1f} | {row['ratio']:.2f}x | {found[0]} | "
                     f"{found[1]} |")
    return {"commands": rows, "table": "\n".join(lines)}


def _table(rows: dict, rev: str) -> str:
    head = (f"| case | train s, {rev} -> now | cosine 5% flips | cosine 10% flips |\n"
            "|---|---|---|---|")
    lines = [head]
    for name, row in rows.items():
        cells = [f"{b:.4f} -> {a:.4f} ({a - b:+.4f})" for b, a in
                 zip(row["before"]["cosine"], row["after"]["cosine"], strict=True)]
        lines.append(f"| {name} | {row['before']['train_s']:.2f} -> "
                     f"{row['after']['train_s']:.2f} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
