"""``python -m benchmarks.weight_range``: the device presets' weight range on two splits.

Under the device fault model (``ideal`` and ``rram`` presets) a stuck device pins its pair's
weight at a multiple of ``weight_range`` (``w_max``, the weight of a full-window pair). Sign
recall does not change when every weight is scaled, but training does: the basin objective
runs tanh updates of ``W x + b``, so ``w_max`` sets how saturated the trained fields can get.
The presets use ``w_max = 0.5``. This script trains the default recipe, one network at a
time, for every value of :data:`VALUES` on the device-model *tuning* cases of
``benchmarks.recipe_search`` (MNIST images 200-229, fault seeds 30-32) and on *disjoint* cases
(the demo's digits and sklearn's, one per class; glyphs of another font; random patterns),
``ideal`` preset with 50% stuck devices, and prints the mean recall cosine at 5% and 10% flips
per split (each case averaged over ``--seeds`` training seeds; 50 cues per pattern).

Results go to ``benchmarks/results/weight_range.json`` with the date, the torch thread count and
the command. Takes about three minutes on one thread.
"""

from __future__ import annotations

import statistics
import time

from xbarmem import load_digits, load_glyphs, load_mnist, random_patterns
from xbarmem.hardware.chip import load_preset

from . import command_line
from .recipe_search import tuning_cases
from .recipes import FLIPS, _train_and_score, provenance, recipe_parser, start, write_result

#: weight ranges compared (the presets' value is 0.5)
VALUES = (0.25, 0.35, 0.5, 0.7, 1.0, 2.0)
PRESET = "ideal"


def held_out_cases() -> list[tuple[str, int, object]]:
    """``(label, fault seed, patterns)`` disjoint from the tuning cases."""
    return [("MNIST-crop24 one per class (the demo's)", 0,
             load_mnist(side=8, one_per_class=True, crop=24)),
            ("sklearn digits one per class", 5, load_digits(one_per_class=True)),
            ("glyphs 8x8 A-J (second font)", 6, load_glyphs(side=8).subset(slice(62, 72))),
            ("random P=16, seed 14", 7, random_patterns(16, 64, seed=14))]


def splits() -> dict[str, list[tuple[str, int, object]]]:
    """The tuning split (device cases of ``benchmarks.recipe_search``) and the disjoint one."""
    tuning = [(label, fault_seed, patterns)
              for label, model, _, fault_seed, patterns in tuning_cases() if model == "device"]
    return {"tuning": tuning, "held out": held_out_cases()}


def measure(probes: int, seeds: int) -> dict[str, dict[str, dict]]:
    """Per split and weight range: mean cosine per flip rate over cases, and per case."""
    chip0 = load_preset(PRESET).with_faults(0.5)
    out: dict[str, dict[str, dict]] = {}
    for split, cases in splits().items():
        for value in VALUES:
            chip = chip0.replace_array(weight_range=value)
            per_case = {}
            for label, fault_seed, patterns in cases:
                res = _train_and_score(patterns, chip, "single", fault_seed, {}, seeds, probes,
                                       cue_seed=7)
                per_case[label] = res["cosine"]
                print(f"{split:8s} w_max {value:<5g} {label:45s} "
                      + "  ".join(f"{float(f):.0%}: {c:.4f}" for f, c in res["cosine"].items()),
                      flush=True)
            out.setdefault(split, {})[f"{value:g}"] = {
                "cosine": {f"{f:g}": statistics.fmean(c[f"{f:g}"] for c in per_case.values())
                           for f in FLIPS},
                "per_case": per_case}
    return out


def table(rows: dict[str, dict[str, dict]]) -> str:
    """Markdown: per split and weight range, the mean cosine at each flip rate."""
    head = ["| split | w_max | " + " | ".join(f"cosine {f:.0%} flips" for f in FLIPS) + " |",
            "|---|---|" + "---|" * len(FLIPS)]
    return "\n".join(head + [
        f"| {split} | {value} | " + " | ".join(f"{c:.4f}" for c in r["cosine"].values()) + " |"
        for split, by_value in rows.items() for value, r in by_value.items()])


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = recipe_parser("weight_range", __doc__, seeds=2, json_name="weight_range.json")
    args = parser.parse_args(argv)
    if not start(args):
        return 2
    began = time.perf_counter()
    rows = measure(args.probes, args.seeds)
    text = table(rows)
    print(text)
    result = {**provenance("weight_range", argv),
              "preset": PRESET, "faults": 0.5, "probes": args.probes, "seeds": args.seeds,
              "values": list(VALUES), "splits": rows, "table": text,
              "wall_seconds": time.perf_counter() - began}
    return write_result(result, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
