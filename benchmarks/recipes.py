"""``python -m benchmarks.recipes``: the recipes compared on cases they were not chosen on.

The fast recipe (:data:`xbarmem.learning.adaptive.RECIPE_OPTIONS`) was chosen on N = 64 memories
of 32 random patterns (seeds 0, 1), the first 64 bundled 8x8 MNIST digits and one 50%-fault
chip (fault seed 7). This script trains two option sets one after the other on *other* cases --
random patterns of other seeds, other MNIST instances, scikit-learn's 8x8 digits, other fault
seeds, 0% and 50% weight faults, one-layer and ``64-32-64`` memories: for one layer the default
recipe (baseline) against the fast one; for multilayer memories, whose default recipe now uses
the fast recipe's values for binary patterns, the earlier multilayer defaults
(:data:`EARLIER_MULTILAYER`) against the default. It prints, per case, the training seconds of
each (one network at a time, so the ratio is the speed-up a single ``xbarmem train`` sees) and
the mean recall cosine at 5% and 10% flips (``--probes`` cues per pattern, sync sign recall,
the same cues for both).

Results go to ``benchmarks/results/recipes.json`` with the date, the torch thread count and the
command. Takes about ten minutes on one thread (the default recipe dominates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from xbarmem import Protocol, evaluate_memory, load_digits, load_mnist, random_patterns, train
from xbarmem.hardware.chip import load_preset
from xbarmem.learning.adaptive import DEFAULTS, RECIPE_OPTIONS
from xbarmem.version import __version__

FLIPS = (0.05, 0.10)
#: the multilayer basin defaults before 2026-12-01 (binary patterns), as explicit options: the
#: basin table's values of every option the multilayer binary default now sets
EARLIER_MULTILAYER = {k: DEFAULTS["basin"][k]
                      for k in RECIPE_OPTIONS[("default", "multilayer", "binary")]}
#: per architecture: (label, options) of the baseline, then of the candidate
SIDES = {"single": (("default recipe", {}), ("fast recipe", {"recipe": "fast"})),
         "multilayer": (("earlier multilayer defaults", EARLIER_MULTILAYER),
                        ("default recipe", {}))}


def cases() -> list[tuple[str, str, float, int, object]]:
    """``(label, arch, fault rate, fault seed, patterns)``: none of them the tuning cases."""
    mnist = load_mnist(side=8, n=256)
    digits = load_digits(shuffle=True, seed=3, n=64)
    out: list[tuple[str, str, float, int, object]] = []
    for seed in (11, 12):
        out.append((f"random P=32, seed {seed}", "single", 0.0, seed,
                    random_patterns(32, 64, seed=seed)))
    out.append(("MNIST 8x8 P=32 (images 128-159)", "single", 0.0, 3,
                mnist.subset(slice(128, 160))))
    out.append(("sklearn digits P=32 (shuffle 3)", "single", 0.0, 4,
                digits.subset(slice(0, 32))))
    out.append(("random P=12, 50% faults, seed 13", "single", 0.5, 13,
                random_patterns(12, 64, seed=13)))
    out.append(("MNIST 8x8 P=16 (images 160-175), 50% faults", "single", 0.5, 14,
                mnist.subset(slice(160, 176))))
    out.append(("sklearn digits P=12, 50% faults", "single", 0.5, 15,
                digits.subset(slice(32, 44))))
    out.append(("64-32-64, MNIST 8x8 P=32 (images 192-223)", "multilayer", 0.0, 16,
                mnist.subset(slice(192, 224))))
    out.append(("64-32-64, MNIST 8x8 P=32 (images 224-255), 50% faults", "multilayer", 0.5, 17,
                mnist.subset(slice(224, 256))))
    return out


def measure(probes: int) -> list[dict]:
    rows = []
    for label, arch, faults, fault_seed, patterns in cases():
        chip = load_preset("paper-sim").with_faults(faults)
        row: dict = {"case": label, "arch": arch, "faults": faults, "fault_seed": fault_seed,
                     "baseline_label": SIDES[arch][0][0], "candidate_label": SIDES[arch][1][0]}
        for side, (_, options) in zip(("baseline", "candidate"), SIDES[arch], strict=True):
            began = time.perf_counter()
            memory = train(patterns, chip=chip, arch=arch,
                           hidden=32 if arch == "multilayer" else None, fault_seed=fault_seed,
                           **options)
            seconds = time.perf_counter() - began
            scores = {f"{flip:g}": evaluate_memory(memory, patterns, Protocol(
                corruption="flip", level=flip, probes=probes, seed=fault_seed)).cosine
                for flip in FLIPS}
            row[side] = {"train_seconds": seconds, "steps": memory.info["steps"],
                         "cosine": scores}
        row["speed_up"] = row["baseline"]["train_seconds"] / row["candidate"]["train_seconds"]
        row["cosine_change"] = {f: row["candidate"]["cosine"][f] - row["baseline"]["cosine"][f]
                                for f in row["candidate"]["cosine"]}
        rows.append(row)
        print(f"{label:55s} speed-up {row['speed_up']:5.1f}x  "
              + "  ".join(f"{float(f):.0%}: {row['baseline']['cosine'][f]:.4f} -> "
                          f"{row['candidate']['cosine'][f]:.4f}"
                          for f in row["candidate"]["cosine"]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: per case, the baseline's and the candidate's training seconds and recall at
    both flip rates."""
    head = ["| case | baseline -> candidate | seconds | speed-up | "
            + " | ".join(f"cosine {float(f):.0%} flips" for f in rows[0]["cosine_change"])
            + " |", "|---|---|---|---|" + "---|" * len(rows[0]["cosine_change"])]
    return "\n".join(head + [
        f"| {r['case']} | {r['baseline_label']} -> {r['candidate_label']} | "
        f"{r['baseline']['train_seconds']:.2f} -> {r['candidate']['train_seconds']:.2f} | "
        f"{r['speed_up']:.1f}x | " + " | ".join(
            f"{r['baseline']['cosine'][f]:.4f} -> {r['candidate']['cosine'][f]:.4f} "
            f"({r['cosine_change'][f]:+.4f})" for f in r["cosine_change"]) + " |"
        for r in rows])


def summarise(rows: list[dict]) -> dict:
    """The candidate's speed-up over the baseline (min, median, max) and its cosine change
    (mean, worst) per flip rate, over ``rows``."""
    speed = [r["speed_up"] for r in rows]
    return {"speed_up_min_median_max": [min(speed), statistics.median(speed), max(speed)],
            "cosine_change_mean_worst": {
                f: [statistics.fmean(r["cosine_change"][f] for r in rows),
                    min(r["cosine_change"][f] for r in rows)]
                for f in rows[0]["cosine_change"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=50, help="cues per pattern (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json-out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "recipes.json")
    args = parser.parse_args(argv)
    if args.probes < 1 or args.threads < 1:
        print("error: --probes and --threads must be at least 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    rows = measure(args.probes)
    summary = {arch: summarise([r for r in rows if r["arch"] == arch]) for arch in SIDES}
    result = {"command": "python -m benchmarks.recipes " + " ".join(argv or sys.argv[1:]),
              "date": dt.datetime.now(dt.UTC).isoformat(timespec="minutes"),
              "torch_threads": torch.get_num_threads(), "xbarmem": __version__,
              "probes": args.probes, "rows": rows, "summary": summary,
              "table": table(rows), "wall_seconds": time.perf_counter() - began}
    for arch, s in summary.items():
        (base, _), (cand, _) = SIDES[arch]
        print(f"{arch}: {cand} over {base}: speed-up min / median / max "
              + " / ".join(f"{v:.1f}x" for v in s["speed_up_min_median_max"])
              + "; cosine change mean / worst " + "; ".join(
                  f"{float(f):.0%} flips {v[0]:+.4f} / {v[1]:+.4f}"
                  for f, v in s["cosine_change_mean_worst"].items()))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))
    print(f"results written to {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
