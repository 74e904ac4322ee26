"""``python -m benchmarks.margins``: why the recipes differ under programming variation.

For each hardware-adaptive recipe of ``xbarmem reproduce`` section (d), the paper's own loop
(:func:`benchmarks.naive.train_naive`: Adam 1e-3, up to 10,000 steps) and the pseudo-inverse
this trains the 10 digits of that section (first of each class, the authors' crop) and a
held-out set (one per class after shuffling with another seed), on three fault seeds of the
``paper-sim`` chip without faults, and prints per recipe:

* the recall (mean cosine, 20 cues per digit with 10% flips) under programming variation
  ``v = 0, 0.22, 0.30`` (sigma = v max|W|, as in the report);
* :func:`xbarmem.evaluation.metrics.field_margins`: the smallest and median normalised margin
  and ``max|W| / rms(W)``.

Results go to ``benchmarks/results/margins.json`` with the date, the torch thread count and
the command. Takes a few minutes on one thread.
"""

from __future__ import annotations

import statistics
import time

import torch

from xbarmem import Protocol, evaluate_memory, load_mnist, reprogram, train
from xbarmem.checks import tensor_of
from xbarmem.evaluation.metrics import field_margins
from xbarmem.experiments.reproduce import VARIATION_RECIPES

from . import command_line
from .naive import train_naive
from .recipes import provenance, write_result

LEVELS = (0.0, 0.22, 0.30)
PAPER_LOOP = "paper loop"
SETS = {"section (d) digits": None, "held-out digits (shuffle seed 7)": 7}


def _trained(recipe: str, options: dict, digits, seed: int):
    """A programmed memory of ``recipe`` on fault seed ``seed``."""
    if recipe != PAPER_LOOP:
        rule = "pinv" if recipe == "pinv" else "adaptive"
        return train(digits, chip="paper-sim", rule=rule, fault_seed=seed, **options)
    mem = train(digits, chip="paper-sim", rule="adaptive", fault_seed=seed, max_steps=1,
                finetune_steps=0)  # the memory (no faults), then the paper's weights
    x = tensor_of(digits.patterns)
    res = train_naive(x, 1.0 - torch.eye(x.shape[1]), seed=seed)
    return mem.program(res.weights, res.bias)


def measure(recipe: str, options: dict, shuffle: int | None, seeds: int) -> dict:
    digits = load_mnist(side=8, one_per_class=True, crop=24, shuffle=shuffle is not None,
                        seed=shuffle or 0)
    cosines: dict[float, list[float]] = {v: [] for v in LEVELS}
    margins = []
    began = time.perf_counter()
    for seed in range(seeds):
        mem = _trained(recipe, options, digits, seed)
        w, b = mem.targets[0]
        margins.append(field_margins(w, b, digits.patterns))
        for v in LEVELS:
            reprogram(mem, v, seed=seed)
            cosines[v].append(evaluate_memory(mem, digits, Protocol(
                corruption="flip", level=0.1, probes=20, seed=seed)).cosine)
    return {"cosine": {f"{v:.2f}": statistics.mean(c) for v, c in cosines.items()},
            **{k: statistics.mean(m[k] for m in margins) for k in margins[0]},
            "seconds": time.perf_counter() - began}


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("margins", __doc__)
    parser.add_argument("--seeds", type=int, default=3, help="fault/programming seeds (3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    command_line.results_options(parser, "margins", printed=False)
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.threads < 1:
        parser.exit(2, "error: --seeds and --threads must be >= 1\n")
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    recipes = {**VARIATION_RECIPES, PAPER_LOOP: {}, "pinv": {}}
    results = {}
    for name, shuffle in SETS.items():
        for recipe, options in recipes.items():
            r = measure(recipe, options, shuffle, args.seeds)
            results.setdefault(name, {})[recipe] = r
            print(f"{name:34s} {recipe:27s} " + " ".join(
                f"v={v}: {c:.4f}" for v, c in r["cosine"].items())
                + f"  kappa_min {r['kappa_min']:.3f} median {r['kappa_median']:.3f} "
                  f"max/rms {r['peak_over_rms']:.2f}", flush=True)
    record = {**provenance("margins", argv), "seeds": args.seeds,
              "recipes": {k: v or "defaults" for k, v in recipes.items()},
              "results": results}
    return write_result(record, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
