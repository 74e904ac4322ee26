"""``python -m benchmarks.product_bound``: how fast a recipe doing the default's products can be.

The performance issue asks the one-layer default recipe to train one network (N = 64, P = 32)
at least 20x faster than the naive paper loop, at the default's recall. This script measures,
in one run and per case, how far any implementation of the default's arithmetic can go:

* the naive loop (:mod:`benchmarks.naive`: 10,000 full-batch Adam steps) and the recipe's own
  training (``train(..., rule="adaptive")`` as case 1 of ``python -m benchmarks`` calls it), the
  median of ``--repeats`` trainings;
* every matrix product that training calls (``bmm``, ``baddbmm``, ``mm``, ``addmm``, ...),
  recorded with their operand shapes (at the ATen level) in one extra training, then replayed
  alone, the same number of times at the same shapes (the median of ``--repeats`` replays).

``naive / products`` is the largest speed ratio over the naive loop that a recipe doing the
recipe's products could reach if every other operation (elementwise work, random draws, the
optimiser, Python) cost nothing; ``naive / (flop / peak)`` the largest if moreover every
product ran at the rate of large square products on the same core (the best of 256, 512 and
1024; measured first). ``naive / eager`` bounds a recipe doing the same operators one by one
(PyTorch's eager mode, as xbarmem's trainer does): ``eager`` is the products' time plus every
other ATen operator the training calls (elementwise, random draws, views, the optimiser's),
each at the cost of the cheapest call there is (the fastest of a product of one-element
tensors, the same in place, a view and a transpose).

Both recipes (``default`` and ``fast``) are measured; cases: 32 random +-1 patterns and 32 8x8
MNIST digits, no faults, the fault map and seed of case 1.

Results go to ``benchmarks/results/product_bound.json`` with the date, torch threads and command;
``--json`` prints them. Takes about a minute with one thread.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from xbarmem import load_mnist, random_patterns, train
from xbarmem.checks import tensor_of

from . import command_line
from .cases import fault_map, paper_chip
from .naive import train_naive, weight_mask
from .recipes import provenance, write_result

#: Matrix products and how many of their leading inputs are the product's operands (their
#: in-place forms, ``baddbmm_``, are counted too).
PRODUCTS = {"aten::bmm": 2, "aten::mm": 2, "aten::mv": 2, "aten::dot": 2,
            "aten::baddbmm": 3, "aten::addmm": 3, "aten::addmv": 3, "aten::addbmm": 3}
RECIPES = {"default": {}, "fast": {"recipe": "fast"}}
N_PATTERNS = 32
SQUARE = (256, 512, 1024)

Products = Counter  # (operator name, operand shapes) -> calls


class _Recorder(TorchDispatchMode):
    """Counts the matrix products (ATen operators, so also those inside ``einsum``)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Products = Counter()
        self.others = 0  # every other ATen operator called

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = f"aten::{func.overloadpacket.__name__}"
        arity = PRODUCTS.get(name.rstrip("_"))
        if arity is not None:
            self.calls[(name, tuple(tuple(a.shape) for a in args[:arity]))] += 1
        else:
            self.others += 1
        return func(*args, **(kwargs or {}))


def recorded_operators(fit: Callable[[], Any]) -> tuple[Products, int]:
    """The matrix products ``fit()`` calls (``(name, operand shapes) -> calls``) and how many
    other ATen operators it calls."""
    with _Recorder() as recorder:
        fit()
    return recorder.calls, recorder.others


def smallest_operator_seconds(repeats: int) -> float:
    """Seconds of one call of the cheapest ATen operator there is: the fastest of a product of
    two one-element tensors, the same in place, a view and a transpose (each the median of
    ``repeats`` blocks of 10,000 calls)."""
    a, b, c = torch.ones(1), torch.ones(1), torch.ones(4, 4)
    kinds = (lambda: torch.mul(a, b), lambda: a.mul_(b), lambda: a.view(1),
             lambda: c.transpose(0, 1))
    best = []
    for call in kinds:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            for _ in range(10_000):
                call()
            times.append((time.perf_counter() - began) / 10_000)
        best.append(statistics.median(times))
    return min(best)


def _flop(name: str, shapes: tuple[tuple[int, ...], ...]) -> int:
    """Floating-point operations of one call (a multiply-add counts 2)."""
    a, b = shapes[-2:]
    if len(a) == 3:  # batched: (T, M, K) @ (T, K, N)
        return 2 * a[0] * a[1] * a[2] * b[2]
    if len(a) == 2 and len(b) == 2:
        return 2 * a[0] * a[1] * b[1]
    return 2 * a[0] * (a[1] if len(a) == 2 else 1)


def _replay_seconds(calls: Products, repeats: int) -> float:
    """Median over ``repeats`` of the seconds to call every recorded product alone."""
    gen = torch.Generator().manual_seed(0)
    jobs = []
    for (name, shapes), count in calls.items():
        op = name.split("::")[1]  # an in-place one (``baddbmm_``) as a method of its first
        fn = getattr(torch.Tensor, op) if op.endswith("_") else getattr(torch, op)
        args = [torch.randn(shape, generator=gen) for shape in shapes]
        jobs.append((fn, args, count))
        fn(*args)  # warm-up
    totals = []
    for _ in range(repeats):
        began = time.perf_counter()
        for fn, args, count in jobs:
            for _ in range(count):
                fn(*args)
        totals.append(time.perf_counter() - began)
    return statistics.median(totals)


def peak_gflops(repeats: int) -> float:
    """GFLOP/s of square products on this core: the best of sizes :data:`SQUARE` (each the
    median of ``repeats`` blocks of about 2 GFLOP)."""
    gen = torch.Generator().manual_seed(0)
    rates = []
    for n in SQUARE:
        a, b = (torch.randn(n, n, generator=gen) for _ in range(2))
        calls = max(1, 10 ** 9 // n ** 3)
        torch.mm(a, b)
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            for _ in range(calls):
                torch.mm(a, b)
            times.append((time.perf_counter() - began) / calls)
        rates.append(2 * n ** 3 / statistics.median(times) / 1e9)
    return max(rates)


def _recipe(fit: Callable[[], Any], naive_seconds: float, peak: float, smallest: float,
            repeats: int) -> dict[str, Any]:
    """One recipe's training time, its products replayed alone, and the bounds they set: at the
    products' measured time, at ``peak`` GFLOP/s, and with every other operator at ``smallest``
    seconds."""
    fit()  # warm-up
    each = []
    for _ in range(repeats):
        began = time.perf_counter()
        fit()
        each.append(time.perf_counter() - began)
    seconds = statistics.median(each)
    calls, others = recorded_operators(fit)
    products = _replay_seconds(calls, repeats)
    eager = products + others * smallest
    flop = sum(_flop(name, shapes) * count for (name, shapes), count in calls.items())
    return {"train_seconds": seconds, "train_seconds_each": each,
            "product_calls": sum(calls.values()), "products_seconds": products,
            "products_share_of_training": products / seconds,
            "products_gflops": flop / products / 1e9, "product_gflop": flop / 1e9,
            "product_shapes": {f"{name} {' @ '.join(map(str, shapes))}": count
                               for (name, shapes), count in calls.most_common()},
            "speed_ratio": naive_seconds / seconds,
            "speed_ratio_bound": naive_seconds / products,
            "speed_ratio_bound_at_peak": naive_seconds / (flop / peak / 1e9),
            "other_operators": others, "eager_floor_seconds": eager,
            "speed_ratio_bound_eager": naive_seconds / eager}


def measure(case: str, peak: float, smallest: float, repeats: int) -> dict[str, Any]:
    """The naive loop, then each recipe, on the case's patterns (one network, no faults)."""
    pset = (random_patterns(N_PATTERNS, 64, seed=0) if case == "random"
            else load_mnist(side=8, n_patterns=N_PATTERNS))
    x = tensor_of(pset.patterns)
    chip = paper_chip(0.0)
    fmap = fault_map(chip, x.shape[1], 0)
    naive = train_naive(x, weight_mask(chip, fmap, x.shape[1]), seed=0)
    recipes = {}
    for label, options in RECIPES.items():
        def fit(options=options):
            return train(x, chip=chip, rule="adaptive", faults=fmap, seed=0, **options)
        recipes[label] = _recipe(fit, naive.seconds, peak, smallest, repeats)
    return {"data": pset.name, "n_neurons": int(x.shape[1]), "n_patterns": int(x.shape[0]),
            "naive_seconds": naive.seconds, "naive_steps": naive.steps, "recipes": recipes}


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("product_bound", __doc__)
    command_line.threads_option(parser)
    parser.add_argument("--repeats", type=command_line.count(), default=3,
                        help="trainings and replays per recipe (default 3)")
    command_line.results_options(parser, "product_bound")
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    peak, smallest = peak_gflops(args.repeats), smallest_operator_seconds(args.repeats)
    cases = {case: measure(case, peak, smallest, args.repeats) for case in ("random", "digits")}
    result = {**provenance("product_bound", argv), "cases": cases, "peak_gflops": peak,
              "smallest_operator_seconds": smallest}
    if not args.json:  # (with --json stdout holds only the JSON)
        for case, row in cases.items():
            for label, r in row["recipes"].items():
                print(f"{case} {label}: naive {row['naive_seconds']:.2f} s, training "
                      f"{r['train_seconds']:.3f} s ({r['speed_ratio']:.1f}x), its "
                      f"{r['product_calls']} products alone {r['products_seconds']:.3f} s "
                      f"({r['products_share_of_training']:.0%}, {r['products_gflops']:.1f} "
                      f"GFLOP/s): at most {r['speed_ratio_bound']:.1f}x, "
                      f"{r['speed_ratio_bound_at_peak']:.1f}x at {peak:.0f} GFLOP/s; with its "
                      f"{r['other_operators']} other operators at {smallest * 1e6:.1f} us each "
                      f"at most {r['speed_ratio_bound_eager']:.1f}x")
    return write_result(result, args.json_out, json_stdout=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
