"""``python -m benchmarks.levels``: training through a chip's conductance levels, or not.

The hardware-adaptive rule (default recipe) stores ``P`` = 8 and 16 patterns of N = 64
neurons (random, and scikit-learn's 8x8 digits, shuffled) on chips whose devices hold only
``levels`` evenly spaced conductances: the ``rram`` preset with ``levels`` 2, 3, 4 and 8 at
0% and 30% stuck devices (``device`` fault model, a quarter of them stuck on), and the
``paper-sim`` preset (``weight`` fault model) with the same levels at 30% faulty weights. Each
chip trains with ``quantize`` on (the objective sees the weights rounded as programming
rounds them) and off (trained as for a continuous chip, rounded only when programmed), on
``--seeds`` fault maps at once, and is read with 5% and 10% of the cue bits flipped (mean
cosine, ``--probes`` cues per pattern).

Results go to ``benchmarks/results/levels.json`` with the date, the torch thread count and
the command; a table is printed as it goes.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from xbarmem import Protocol, evaluate_memory, load_chip, load_digits, random_patterns
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.build import make_memory

from . import command_line
from .recipes import RESULTS, provenance, write_result

LEVELS = (2, 3, 4, 8)
FLIPS = (0.05, 0.10)
#: (preset, fault rate) of the chips measured
CHIPS = (("rram", 0.0), ("rram", 0.3), ("paper-sim", 0.3))


def _patterns(data: str, p: int):
    if data == "random":
        return random_patterns(p, 64, seed=p)
    return load_digits(n=p, shuffle=True, seed=p)


def measure(preset: str, rate: float, levels: int, data: str, p: int, quantize: bool,
            seeds: int, probes: int) -> dict:
    """Recall cosine per flip rate on each of ``seeds`` fault maps, and the training time."""
    chip = load_chip(preset).replace_device(levels=levels).with_faults(
        rate, on_fraction=0.25 if preset == "rram" else 0.5)
    pset = _patterns(data, p)
    memories = [make_memory(64, chip=chip, fault_seed=s) for s in range(seeds)]
    began = time.perf_counter()
    fit_memories(AdaptiveTrainer(quantize=quantize), torch.as_tensor(pset.patterns), memories)
    seconds = time.perf_counter() - began
    cosine = {f"{flip:.2f}": [
        evaluate_memory(m, pset, Protocol(corruption="flip", level=flip, probes=probes,
                                          seed=s)).cosine for s, m in enumerate(memories)]
        for flip in FLIPS}
    return {"cosine": cosine, "train_seconds": seconds}


def _gain(row: dict, flip: str) -> str:
    """``on - off`` of the mean cosine and the standard error of the paired differences."""
    diff = [a - b for a, b in zip(row["on"]["cosine"][flip], row["off"]["cosine"][flip],
                                  strict=True)]
    se = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
    return (f"{flip}: on {statistics.mean(row['on']['cosine'][flip]):.4f} "
            f"off {statistics.mean(row['off']['cosine'][flip]):.4f} "
            f"({statistics.mean(diff):+.4f} +- {se:.4f})")


def table(rows: list[dict]) -> str:
    """Markdown: per chip and case, the mean cosine with the quantiser on and off at each
    flip rate, and on - off with the standard error of the paired differences."""
    head = ["| chip | faults | levels | data | P | "
            + " | ".join(f"{f:.0%} flips: on / off (on - off)" for f in FLIPS) + " |",
            "|---|---|---|---|---|" + "---|" * len(FLIPS)]
    return "\n".join(head + [
        f"| {r['chip']} | {r['faults']:.0%} | {r['levels']} | {r['data']} | {r['patterns']} | "
        + " | ".join(_gain(r, f"{f:.2f}").split(": ", 1)[1].replace(" off ", " / ")
                     .replace("on ", "") for f in FLIPS) + " |" for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("levels", __doc__)
    parser.add_argument("--seeds", type=int, default=3, help="fault maps per chip (3)")
    parser.add_argument("--probes", type=int, default=20, help="cues per pattern (20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "levels.json",
                        help="result file (default: benchmarks/results/levels.json)")
    args = parser.parse_args(argv)
    if min(args.seeds, args.probes, args.threads) < 1:
        parser.exit(2, "error: --seeds, --probes and --threads must be >= 1\n")
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    rows = []
    for preset, rate in CHIPS:
        for levels in LEVELS:
            for data in ("random", "digits"):
                for p in (8, 16):
                    row = {"chip": preset, "faults": rate, "levels": levels, "data": data,
                           "patterns": p}
                    for quantize in (True, False):
                        r = measure(preset, rate, levels, data, p, quantize, args.seeds,
                                    args.probes)
                        row["on" if quantize else "off"] = r
                    rows.append(row)
                    print(f"{preset:9s} {rate:.0%} L={levels} {data:6s} P={p:2d} "
                          + "  ".join(_gain(row, f) for f in row["on"]["cosine"]), flush=True)
    record = {**provenance("levels", argv), "seeds": args.seeds, "probes": args.probes,
              "rows": rows, "table": table(rows)}
    return write_result(record, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
