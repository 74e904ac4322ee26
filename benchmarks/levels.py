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

``--recipe fast``, ``--objective fixed-point``, ``--arch multilayer`` (``--hidden`` units) and
``--kind continuous`` (random continuous patterns and the digits' grey values, read with
Gaussian cue noise of std 0.1 and 0.2) measure the other training paths; ``--levels``,
``--chips`` (``preset:faults``), ``--data`` and ``--patterns`` narrow the cases.

Results go to ``benchmarks/results/levels.json`` with the date, the torch thread count and
the command; a table is printed as it goes.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from dataclasses import dataclass

import torch

from xbarmem import Protocol, evaluate_memory, load_chip, load_digits, random_patterns
from xbarmem.checks import tensor_of
from xbarmem.learning.adaptive import OBJECTIVES, AdaptiveTrainer
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.build import make_memory
from xbarmem.names import ARCHS, RECIPES

from . import command_line
from .recipes import provenance, write_result

LEVELS = (2, 3, 4, 8)
FLIPS = (0.05, 0.10)
#: per kind of pattern, the corruption of the cues read and its levels
CUES = {"binary": ("flip", FLIPS), "continuous": ("gaussian", (0.1, 0.2))}
#: (preset, fault rate) of the chips measured
CHIPS = (("rram", 0.0), ("rram", 0.3), ("paper-sim", 0.3))


@dataclass(frozen=True)
class TrainingPath:
    """The training path measured: the rule's recipe and objective, the memory's
    architecture (``hidden`` units of a multilayer one) and the kind of pattern stored."""

    recipe: str = "default"
    objective: str = "basin"
    arch: str = "single"
    hidden: int = 64
    kind: str = "binary"

    def memory(self, chip, seed: int):
        return make_memory(64, arch=self.arch, chip=chip, fault_seed=seed,
                           hidden=self.hidden if self.arch == "multilayer" else None)

    def rule(self, quantize: bool) -> AdaptiveTrainer:
        return AdaptiveTrainer(recipe=self.recipe, objective=self.objective, quantize=quantize)


def _patterns(data: str, p: int, kind: str = "binary"):
    if data == "random":
        return random_patterns(p, 64, kind=kind, seed=p)
    return load_digits(kind=kind, n_patterns=p, shuffle=True, seed=p)


def measure(preset: str, rate: float, levels: int, data: str, p: int, quantize: bool,
            seeds: int, probes: int, path: TrainingPath = TrainingPath()) -> dict:
    """Recall cosine per cue level on each of ``seeds`` fault maps, and the training time."""
    chip = load_chip(preset).replace_device(levels=levels).with_faults(
        rate, on_fraction=0.25 if preset == "rram" else 0.5)
    pset = _patterns(data, p, path.kind)
    memories = [path.memory(chip, s) for s in range(seeds)]
    began = time.perf_counter()
    fit_memories(path.rule(quantize), tensor_of(pset.patterns), memories,
                 kind=path.kind)
    seconds = time.perf_counter() - began
    corruption, cue_levels = CUES[path.kind]
    cosine = {f"{level:.2f}": [
        evaluate_memory(m, pset, Protocol(corruption=corruption, level=level, probes=probes,
                                          seed=s)).cosine for s, m in enumerate(memories)]
        for level in cue_levels}
    return {"cosine": cosine, "train_seconds": seconds}


def _gain(row: dict, flip: str) -> str:
    """``on - off`` of the mean cosine and the standard error of the paired differences."""
    diff = [a - b for a, b in zip(row["on"]["cosine"][flip], row["off"]["cosine"][flip],
                                  strict=True)]
    se = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
    return (f"{flip}: on {statistics.mean(row['on']['cosine'][flip]):.4f} "
            f"off {statistics.mean(row['off']['cosine'][flip]):.4f} "
            f"({statistics.mean(diff):+.4f} +- {se:.4f})")


def _cue_label(kind: str, level: float) -> str:
    return f"{level:.0%} flips" if kind == "binary" else f"noise {level:g}"


def table(rows: list[dict], kind: str = "binary") -> str:
    """Markdown: per chip and case, the mean cosine with the quantiser on and off at each
    cue level (``kind``'s, :data:`CUES`), and on - off with the standard error of the paired
    differences."""
    levels = CUES[kind][1]
    head = ["| chip | faults | levels | data | P | "
            + " | ".join(f"{_cue_label(kind, f)}: on / off (on - off)" for f in levels) + " |",
            "|---|---|---|---|---|" + "---|" * len(levels)]
    return "\n".join(head + [
        f"| {r['chip']} | {r['faults']:.0%} | {r['levels']} | {r['data']} | {r['patterns']} | "
        + " | ".join(_gain(r, f"{f:.2f}").split(": ", 1)[1].replace(" off ", " / ")
                     .replace("on ", "") for f in levels) + " |" for r in rows])


def _chip(text: str) -> tuple[str, float]:
    """``preset:faults`` (``rram:0.3``) of ``--chips``."""
    preset, _, rate = text.partition(":")
    try:
        value = float(rate)
    except ValueError:
        value = -1.0
    if preset not in ("rram", "paper-sim") or not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: give rram:F or paper-sim:F, F a fault "
                                         "rate in [0, 1)")
    return preset, value


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The options choosing the training path and narrowing the cases."""
    parser.add_argument("--recipe", choices=RECIPES, default="default",
                        help="the rule's recipe (default)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="basin",
                        help="the rule's objective (basin)")
    parser.add_argument("--arch", choices=ARCHS, default="single",
                        help="memory architecture (single)")
    parser.add_argument("--hidden", type=int, default=64,
                        help="hidden units of a multilayer memory (64)")
    parser.add_argument("--kind", choices=tuple(CUES), default="binary",
                        help="kind of pattern stored (binary)")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS),
                        help="conductance levels of the chips (2 3 4 8)")
    parser.add_argument("--chips", type=_chip, nargs="+", default=list(CHIPS),
                        help="chips as preset:faults (rram:0 rram:0.3 paper-sim:0.3)")
    parser.add_argument("--data", choices=("random", "digits"), nargs="+",
                        default=["random", "digits"], help="pattern sets (random digits)")
    parser.add_argument("--patterns", type=int, nargs="+", default=[8, 16],
                        help="stored pattern counts P (8 16)")


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("levels", __doc__)
    parser.add_argument("--seeds", type=int, default=3, help="fault maps per chip (3)")
    parser.add_argument("--probes", type=int, default=20, help="cues per pattern (20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    command_line.results_options(parser, "levels", printed=False)
    _arguments(parser)
    args = parser.parse_args(argv)
    if min(args.seeds, args.probes, args.threads, args.hidden, *args.patterns) < 1:
        parser.exit(2, "error: --seeds, --probes, --threads, --hidden and --patterns must "
                    "be >= 1\n")
    if min(args.levels) < 2:
        parser.exit(2, "error: --levels must be >= 2 (a chip with levels)\n")
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    path = TrainingPath(args.recipe, args.objective, args.arch, args.hidden, args.kind)
    rows = []
    for preset, rate in args.chips:
        for levels in args.levels:
            for data in args.data:
                for p in args.patterns:
                    row = {"chip": preset, "faults": rate, "levels": levels, "data": data,
                           "patterns": p}
                    for quantize in (True, False):
                        r = measure(preset, rate, levels, data, p, quantize, args.seeds,
                                    args.probes, path)
                        row["on" if quantize else "off"] = r
                    rows.append(row)
                    print(f"{preset:9s} {rate:.0%} L={levels} {data:6s} P={p:2d} "
                          + "  ".join(_gain(row, f) for f in row["on"]["cosine"]), flush=True)
    record = {**provenance("levels", argv), "seeds": args.seeds, "probes": args.probes,
              "path": dataclasses.asdict(path), "rows": rows, "table": table(rows, args.kind)}
    return write_result(record, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
