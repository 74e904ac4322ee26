"""``python -m benchmarks.continuous_start``: does a closed-form start shorten the continuous
multilayer training?

Section (e)'s continuous capacity searches train ``N -> N -> N`` tanh memories with the basin
objective (Gaussian cue noise 0.6, 2 unrolled updates, up to 10,000 steps, ``ceil(1024 / P)``
cues per pattern); their cost is their number of steps. This script trains one memory per case
with :func:`xbarmem.evaluation.curve.recall_curve` (as docs/performance-log.md measures those
searches: paper-sim chip, seed 0 unless ``--seed``, one trial, 10 Gaussian cues of std 0.6 per
pattern, tanh recall) from each start and prints the steps and the recall cosine:

* ``default``: the trainer's own start (normal draw of std ``init_scale / sqrt(fan_in)``);
* ``linear``: the trainer's ``init="linear"`` (:mod:`xbarmem.learning.linear_start`: the
  linear denoiser ``M = C (C + s^2 I)^-1``, ``C`` the patterns' covariance, ``s`` the cue
  noise, with the means as biases, factored as ``W1 = 0.5 I``, ``W2 = 2 M``);
* ``identity``, ``pca``, ``random``: a first layer ``0.5 I``, whitened principal directions or
  the default draw, and the last layer the least-squares map from the hidden activations of
  sampled training cues (clipped as the trainer clips them) to ``atanh`` of the clipped
  patterns (ridge ``1e-3``), the multilayer form of the one-layer ``warm_start``.

The last three replace the trainer's initial parameters for the measurement only (the trainer's
random draws are made as before, so cue draws match). ``--max-steps`` and ``--rel-tol`` change
the step cap and the stopping tolerance, to ask how many steps a start needs for the default
start's recall. Results go to ``benchmarks/results/continuous_start.json`` with the
date, the torch thread count and the command.
"""

from __future__ import annotations

import math
import time

import torch

from xbarmem import Protocol, load_mnist
from xbarmem.evaluation.curve import recall_curve
from xbarmem.learning.multilayer_fit import MultilayerFit

from . import command_line
from .recipes import mnist_cases, provenance, write_result

CASES = ((64, 16), (64, 24), (144, 120))
NOISE = 0.6
#: MNIST images every case draws its patterns from
POOL = 5000
STARTS = ("default", "linear", "identity", "pca", "random")
_ORIGINAL = MultilayerFit.start.__func__


def _stats(x: torch.Tensor):
    """Mean ``(N,)`` and covariance ``(N, N)`` of the patterns ``x`` ``(P, N)`` (float64)."""
    x = x.double()
    mu = x.mean(dim=0)
    c = (x - mu).T @ (x - mu) / x.shape[0]
    return mu, c


def encoder(kind: str, x: torch.Tensor, default: torch.Tensor, a: float = 0.5) -> torch.Tensor:
    """``[W1 | b1]`` of a readout start: ``a I``, whitened principal directions (unit variance
    of the cue's projections), or the default draw."""
    n = x.shape[1]
    if kind == "identity":
        return torch.cat([a * torch.eye(n), torch.zeros(n, 1)], 1)
    if kind == "random":
        return default
    mu, c = _stats(x)
    lam, u = torch.linalg.eigh(c)
    w = (u / (lam.clamp_min(0) + NOISE ** 2).sqrt()).T.flip(0)
    return torch.cat([w, -(w @ mu)[:, None]], 1).float()


def readout(x: torch.Tensor, first: torch.Tensor, gen: torch.Generator, copies: int = 64,
            edge: float = 0.97, ridge: float = 1e-3) -> torch.Tensor:
    """``[W2 | b2]``: least squares from the hidden activations of ``copies`` clipped noisy
    cues per pattern to ``atanh`` of the clipped patterns."""
    target = x.repeat(copies, 1)
    cues = (target + NOISE * torch.randn(target.shape, generator=gen)).clamp(-1, 1)
    h = torch.tanh(cues @ first[:, :-1].T + first[:, -1])
    a = torch.cat([h, torch.ones(h.shape[0], 1)], 1).double()
    t = torch.atanh(target.clamp(-edge, edge)).double()
    gram = a.T @ a / a.shape[0]
    gram += ridge * torch.eye(gram.shape[0], dtype=gram.dtype)
    return torch.linalg.solve(gram, a.T @ t / a.shape[0]).T.float()


def closed_form(kind: str, x: torch.Tensor, default: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per layer ``[W | b]`` of the start ``kind`` for the patterns ``x`` ``(P, N)``."""
    first = encoder(kind, x, default[0])
    return [first, readout(x, first, torch.Generator().manual_seed(1))]


def patched(kind: str):
    """A replacement of :meth:`MultilayerFit.start` that starts from ``kind``."""
    def start(cls, opts, problem):
        path, params, x, valid, lo, hi, gen, noise = _ORIGINAL(cls, opts, problem)
        if kind in ("default", "linear"):
            return path, params, x, valid, lo, hi, gen, noise
        effective = params * path.scale
        rows = []
        for j in range(x.shape[0]):
            blocks = [effective[j, sl].reshape(o, i + 1) for o, i, sl in path.layout]
            layers = closed_form(kind, x[j][valid[j] > 0], blocks)
            rows.append(torch.cat([w.reshape(-1) for w in layers]))
        params = torch.clamp(torch.stack(rows) / path.scale, lo, hi)
        return path, params, x, valid, lo, hi, gen, noise
    return classmethod(start)


def run_case(n: int, p: int, kind: str, max_steps: int = 10000, rel_tol: float = 0.01,
             seed: int = 0) -> dict:
    """One training from the start ``kind``: steps, seconds and recall cosine."""
    pool = load_mnist(side=round(n ** 0.5), kind="continuous", n_patterns=POOL)
    MultilayerFit.start = patched(kind)
    began = time.perf_counter()
    try:
        curve = recall_curve(
            pool, [p], "paper-sim", "adaptive", arch="multilayer", hidden=n, trials=1,
            protocol=Protocol(corruption="gaussian", level=NOISE, probes=10,
                              activation="tanh"),
            seed=seed, rule_options={"objective": "basin", "unroll": 2,
                                     "max_steps": max_steps, "rel_tol": rel_tol,
                                     **({"init": "linear"} if kind == "linear" else {}),
                                     "cue_copies": math.ceil(1024 / p)})
    finally:
        MultilayerFit.start = classmethod(_ORIGINAL)
    out = {"n": n, "p": p, "seed": seed, "start": kind, "max_steps": max_steps,
           "rel_tol": rel_tol, "steps": int(curve["train_steps"][0]),
           "seconds": time.perf_counter() - began, "cosine": curve["points"][0]["cosine"]}
    print(f"N = {n}, P = {p}, seed {seed}, {kind} (cap {max_steps}, rel_tol {rel_tol:g}): "
          f"{out['steps']} steps, {out['seconds']:.0f} s, cosine {out['cosine']:.4f}",
          flush=True)
    return out


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("continuous_start", __doc__)
    parser.add_argument("--start", choices=STARTS, action="append",
                        help="a start (repeatable; default all)")
    parser.add_argument("--case", type=mnist_cases(POOL), action="append", metavar="N:P",
                        help="a case (repeatable; default 64:16, 64:24 and 144:120)")
    parser.add_argument("--max-steps", type=command_line.count(), action="append",
                        help="step cap of the training (repeatable; default 10000, the "
                        "section's)")
    parser.add_argument("--rel-tol", type=command_line.number(0, low_open=True), action="append",
                        help="stopping tolerance (repeatable; default 0.01, the trainer's)")
    parser.add_argument("--seed", type=command_line.seed, action="append",
                        help="curve seed: patterns, chip and cues (repeatable; default 0)")
    command_line.threads_option(parser)
    command_line.results_options(parser, "continuous_start", printed=False)
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    rows = [run_case(n, p, kind, cap, tol, seed)
            for seed in (args.seed or [0]) for n, p in (args.case or CASES)
            for cap in (args.max_steps or [10000]) for tol in (args.rel_tol or [0.01])
            for kind in (args.start or STARTS)]
    return write_result({**provenance("continuous_start", argv), "rows": rows}, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
