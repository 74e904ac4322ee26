"""``python -m benchmarks.fixed_point_budget``: is the multilayer binary capacity set by training?

Section (e)'s binary searches train ``N -> N -> N`` memories with the fixed-point objective,
which stops when its parameters are stable (``stop="stable"``). This script trains one memory
per case at the edge of the measured capacity (the first ``P`` bundled MNIST digits, area-resized
to side sqrt(N), binarised at each image's mean; ``paper-sim`` chip without faults, training
seed 0) twice: with the default stop, and running on until the loss is below ``tol`` or
``--max-steps`` steps pass (``stop="loss"``). It prints the steps taken and the recall cosine
at 5% flips (10 cues per pattern, cue seed 3) of both. If the longer training recalled
clearly better, the capacities (and the exponent) would be limited by the training budget.

Results go to ``benchmarks/results/fixed_point_budget.json`` with the date, the torch thread
count and the command. The default cases take about twenty minutes on one thread.
"""

from __future__ import annotations

import time

import torch

from xbarmem import Protocol, evaluate_memory, load_mnist, train

from . import command_line
from .recipes import mnist_case, provenance, write_result

#: ``(N, P)``: just above the measured capacity at 0.99 (N = 400: 550; N = 784: 1323)
CASES = ((400, 600), (784, 1400))


def run_case(n: int, p: int, max_steps: int) -> dict:
    """Both trainings of one case: steps, seconds, loss and recall cosine each."""
    patterns = load_mnist(side=round(n ** 0.5), n_patterns=p)
    out = {}
    for label, options in (("default stop", {}),
                           ("to the loss or the cap", {"stop": "loss",
                                                       "max_steps": max_steps})):
        began = time.perf_counter()
        memory = train(patterns, chip="paper-sim", arch="multilayer", hidden=n, seed=0,
                       objective="fixed-point", **options)
        seconds = time.perf_counter() - began
        cosine = evaluate_memory(memory, patterns, Protocol(corruption="flip", level=0.05,
                                                            probes=10, seed=3)).cosine
        out[label] = {"steps": int(memory.info["steps"]), "seconds": seconds,
                      "loss": float(memory.info["loss"]), "cosine": cosine}
        print(f"N = {n}, P = {p}, {label}: {out[label]['steps']} steps, {seconds:.0f} s, "
              f"cosine {cosine:.4f}", flush=True)
    return out


def table(rows: list[dict]) -> str:
    head = ["| N | P | training | steps | seconds | final loss | cosine 5% flips |",
            "|---|---|---|---|---|---|---|"]
    return "\n".join(head + [
        f"| {r['n']} | {r['p']} | {label} | {v['steps']} | {v['seconds']:.0f} | "
        f"{v['loss']:.2e} | {v['cosine']:.4f} |"
        for r in rows for label, v in r["sides"].items()])


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("fixed_point_budget", __doc__)
    parser.add_argument("--case", type=mnist_case, action="append", metavar="N:P",
                        help="a case (repeatable; default 400:600 and 784:1400)")
    parser.add_argument("--max-steps", type=command_line.count(), default=6000,
                        help="step cap of the longer training (default 6000)")
    command_line.threads_option(parser)
    command_line.results_options(parser, "fixed_point_budget", printed=False)
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    rows = [{"n": n, "p": p, "sides": run_case(n, p, args.max_steps)}
            for n, p in (args.case or CASES)]
    text = table(rows)
    print(text)
    return write_result({
        **provenance("fixed_point_budget", argv), "rows": rows,
        "table": text, "wall_seconds": time.perf_counter() - began}, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
