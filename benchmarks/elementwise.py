"""``python -m benchmarks.elementwise``: what the training step's operations cost on this CPU.

A profile of the hardware-adaptive training (cProfile, N = 64) puts ``torch.tanh`` among its
largest items, next to the batched products. This script times, at the shapes of two real
training steps, the operations one step is made of: the product ``(T, R, N) @ (T, N, N)``,
``torch.tanh`` on its result, the same tanh written through the logistic function
(``2 sigmoid(2x) - 1``, equal up to rounding; training uses it since 2026-12-02 as
``xbarmem.learning.objective.tanh``), ``torch.sigmoid``, the Gaussian draw of one step's cue noise
(``torch.randn``) and the binary cues' bit flips at the default rate (0.1), drawn one uniform
number per bit (``torch.where(torch.rand(...) < rate, -x, x)``, training's draw before
2026-12-02) and as a Bernoulli process (``x * flip_signs(...)``, today's). Each time is the
median over ``--repeats`` blocks of 200 calls. It also reports the largest difference between
the two tanh forms over the inputs.

Shapes (``T`` networks, ``R`` cue rows, ``N`` neurons):

* ``single``: the one-layer default recipe, N = 64, P = 32, 8 cues per pattern: (1, 256, 64);
* ``multilayer-continuous``: the quick ``reproduce`` (e) continuous search at N = 64, P = 16
  (cue budget 1024): (1, 1024, 64).

Results go to ``benchmarks/results/elementwise.json`` with the date, torch threads and command;
``--json`` prints them. Takes a few seconds.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.noise import flip_signs
from xbarmem.learning.objective import tanh as training_tanh

from . import command_line
from .recipes import provenance, write_result

FLIP_RATE = AdaptiveTrainer().cue_flip
SHAPES = {"single": (1, 256, 64), "multilayer-continuous": (1, 1024, 64)}
CALLS = 200


def _per_call_ms(fn, repeats: int) -> float:
    """Median over ``repeats`` blocks of :data:`CALLS` calls, milliseconds per call."""
    fn()
    blocks = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(CALLS):
            fn()
        blocks.append((time.perf_counter() - began) / CALLS * 1e3)
    return statistics.median(blocks)


def measure(shape: tuple[int, int, int], repeats: int) -> dict:
    """Per-call times (ms) of one step's operations at ``shape``, and their ratios."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    w = torch.randn(shape[0], shape[2], shape[2], generator=gen)
    ms = {"bmm": _per_call_ms(lambda: torch.bmm(x, w), repeats),
          "tanh": _per_call_ms(lambda: torch.tanh(x), repeats),
          "tanh via sigmoid": _per_call_ms(lambda: training_tanh(x), repeats),
          "sigmoid": _per_call_ms(lambda: torch.sigmoid(x), repeats),
          "randn": _per_call_ms(lambda: torch.randn(shape, generator=gen), repeats),
          "flips per bit": _per_call_ms(
              lambda: torch.where(torch.rand(shape, generator=gen) < FLIP_RATE, -x, x), repeats),
          "flips as a process": _per_call_ms(
              lambda: x * flip_signs(shape, FLIP_RATE, gen), repeats)}
    grid = torch.linspace(-20.0, 20.0, 400_001)
    diff = (training_tanh(grid) - torch.tanh(grid)).abs().max()
    return {"shape": list(shape), "ms_per_call": ms,
            "tanh_over_bmm": ms["tanh"] / ms["bmm"],
            "tanh_over_logistic_form": ms["tanh"] / ms["tanh via sigmoid"],
            "randn_over_bmm": ms["randn"] / ms["bmm"],
            "flips_per_bit_over_process": ms["flips per bit"] / ms["flips as a process"],
            "max_abs_difference_of_tanh_forms": float(diff)}


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("elementwise", __doc__)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="blocks of calls (default 7)")
    command_line.results_options(parser, "elementwise")
    args = parser.parse_args(argv)
    if min(args.threads, args.repeats) < 1:
        print("error: --threads and --repeats must be at least 1", file=sys.stderr)
        return 2
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    result = {**provenance("elementwise", argv),
              "shapes": {name: measure(shape, args.repeats) for name, shape in SHAPES.items()}}
    if not args.json:  # (with --json stdout holds only the JSON)
        for name, row in result["shapes"].items():
            times = ", ".join(f"{op} {t:.3f}" for op, t in row["ms_per_call"].items())
            print(f"{name} {tuple(row['shape'])}: ms per call: {times}")
            print(f"  tanh / bmm {row['tanh_over_bmm']:.2f}; tanh / tanh via sigmoid "
                  f"{row['tanh_over_logistic_form']:.2f}; randn / bmm {row['randn_over_bmm']:.2f}; "
                  f"flips per bit / as a process {row['flips_per_bit_over_process']:.2f}; "
                  f"tanh forms differ by at most {row['max_abs_difference_of_tanh_forms']:.1e}")
    return write_result(result, args.json_out, json_stdout=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
