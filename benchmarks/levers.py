"""``python -m benchmarks.levers``: levers of the performance issue that were measured and not kept.

The issue names levers to "choose, measure, keep what wins". This script measures eleven
that did not win, so that the reasons stay checkable:

* ``compile`` -- ``torch.compile`` on CPU: one basin-objective step written as a plain
  function (the same products and activations as the trainer's step; autograd for the
  gradient), eager and compiled, against the trainer's own step (hand-written gradient), for
  the one-layer default (N = 64, P = 32, 6 cues per pattern, 4 unrolled updates) and the
  continuous multilayer search of ``reproduce --quick`` (N = H = 144, P = 80, 13 cues per
  pattern, 2 unrolled updates). Milliseconds per step and the compile time.
* ``bf16`` -- products in bfloat16: the trainer's multilayer steps with its option
  ``products="bf16"`` (oneDNN may round the operands of float32 products to bfloat16; used by
  the hardware only where it has bfloat16 units, e.g. AMX) against float32, at N = 144 and
  400 (continuous, basin objective) and N = 784 (binary, fixed-point objective): milliseconds
  per step and the recall of each network (recalled in float32); not measured where torch
  has no bfloat16 support (the option is refused there).
* ``warm-search`` -- warm-starting a capacity search's next count from the last network:
  the continuous N = 144 multilayer search of ``reproduce --quick`` (threshold 0.99, start
  N / 2, resolution 5%, Gaussian cues sigma 0.6) trained from scratch at every count and
  from the previously trained count's network; and one binary fixed-point training at
  N = 256 (P = 250 after P = 128) both ways. The warm start is injected by replacing the
  multilayer trainer's start for the duration of the measurement.
* ``flip-start`` -- the flip-averaged stage of the one-layer default recipe from its zero
  start and from the closed-form warm start (``warm_start``), the stage alone (the sampled
  stages after it are skipped for the measurement): the share of stored bits that are fixed
  points, the recall at 5% and 10% flips of its weights and the largest entry of the stage's
  gradient there (and at zero weights, where the field's spread is 0), N = 64, P = 32, MNIST
  digits and random patterns.

* ``closed-form`` -- the basin objective's recall terms averaged over the cues in closed form
  through two updates (the flip-averaged stage carried one update further: each bit's chance of
  being wrong after an update is propagated as if the bits were independent, at least 0.05),
  from a Hebbian start within +-0.25 w_max, 300 Adam steps at 0.01: alone, and followed by 150
  steps of the sampled basin stage (3 updates, learning rate 0.003, no fine-tune) after its
  weights are scaled by 4 (back to the full range), on the one-layer tuning split of
  ``benchmarks.recipe_search`` (2 training seeds) against the default recipe in the same run.
  The stage replaces the trainer's warm start while measured.
* ``hard-cues`` -- fewer but harder training cues: the default recipe with ``cue_flip`` 0.15 or
  0.2 and 3 or 4 cues per pattern (``recipe_search``'s "harder cues" candidates), and with
  twice ``cue_copies`` cues drawn per pattern of which the ``cue_copies`` of largest loss at
  the current weights are trained on (3 of 6, 6 of 12; both sampled stages), on the tuning
  split (4 training seeds) against the default in the same run
  (:mod:`benchmarks.training_levers`; the choice replaces the trainer's cue draw while
  measured).
* ``finetune-stop`` -- the sign fine-tune stopped when recall on held-out cues stops
  improving: sync sign recall from 4 cues per pattern with 10% flips (drawn once, from a
  generator of their own) scored before the fine-tune and every 20 or 25 steps, stopped after
  2 or 3 checks without gain, the best-scoring weights kept; with the cosine schedule over all
  200 steps or a constant learning rate (0.007 or 0.0035), and checked every 20 steps without
  stopping; on the tuning split (4 training seeds) against the default in the same run. The
  scoring counts as training time; the stopped fine-tune replaces the trainer's while
  measured.
* ``margin-start`` -- the fast recipe from a max-margin start (each row's minimum-norm weights
  whose field has every stored bit's sign with a margin of at least 1, the inequality version
  of the closed-form warm start), as it is and with 50 + 70 or 100 + 200 steps, on the tuning
  split (2 training seeds) against the default and the fast recipe in the same run
  (:mod:`benchmarks.training_levers`; the start replaces the trainer's warm start while
  measured).
* ``second-order`` -- a start by Newton's method: each row's L2-regularised logistic
  regression of the stored bit on 16 corrupted cues per pattern (10% flips, drawn once), 8
  batched Newton steps, clipped to the chip's range; alone, before the default's sampled
  stages (no flip-averaged stage) and before the fast recipe's, on the tuning split (2 training
  seeds) against the default in the same run (:mod:`benchmarks.second_order`; the start
  replaces the trainer's warm start while measured).
* ``optimizers`` -- the optimiser and its schedule: Adam with a warm-up + cosine or one-cycle
  schedule over fixed budgets of 100-400 basin and 50-100 fine-tune steps at higher peak rates,
  with betas 0.9 / 0.999 or 0.8 / 0.99; the default's basin stage before a 100-step fine-tune
  with betas 0.8 / 0.99; and full-batch L-BFGS (strong-Wolfe line search) of the basin stage
  on 16 or 32 fixed cues per pattern before a fine-tune of 75-200 steps; on the tuning split
  (3 training seeds) against the default in the same run (:mod:`benchmarks.optimizers`; the
  stages replace the trainer's while measured).

* ``model-search`` -- a capacity search that steps by a model of the recall curve instead of
  doubling / halving: from a tested count ``P`` with similarity ``s`` the next count is where
  ``1 - s`` growing as ``P^2`` reaches ``1 - theta`` (at most twice ``P`` upwards; downwards at
  least an eighth below ``P`` and aimed 3% under the crossing), and inside a bracket, when the
  straight line's crossing lies within the resolution of one end, the count whose test would
  end the search (once in a row; otherwise the quarter guard of
  :func:`~xbarmem.evaluation.capacity.search_capacity`). Real searches with both:
  one-layer 8x8 digits (thresholds 0.9 / 0.95 / 0.99), random patterns at N = 64 and 8x8
  MNIST on a 50%-fault chip (0.95 / 0.99), two networks per count, and the continuous
  multilayer search of ``reproduce``'s (e) at N = 64 (resolution 5%); counts trained,
  capacities, seconds. The variant replaces ``search_capacity`` in
  :mod:`xbarmem.evaluation.capacity` while measured.

The studies run in the order flip-start, closed-form, hard-cues, finetune-stop, margin-start,
second-order, optimizers, warm-search, model-search, bf16, compile: compiling slowed whatever
was measured after it in the same process.

Results go to ``benchmarks/results/levers.json`` with the date, the torch thread count and
the command; ``--json`` prints them. About fifteen minutes on one thread (``--only`` runs some
studies; ``--quick`` shrinks every study to seconds, for the smoke test).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import shutil
import sys
import tempfile
import time
from unittest import mock

import torch

import xbarmem.evaluation.capacity as capacity
import xbarmem.learning.multilayer_fit as multilayer_fit
import xbarmem.learning.single_fit as single_fit
from xbarmem import (
    Protocol,
    evaluate_memory,
    load_chip,
    load_digits,
    load_mnist,
    random_patterns,
    train,
)
from xbarmem.checks import tensor_of
from xbarmem.evaluation.capacity import search_capacity
from xbarmem.evaluation.curve import capacity_from_curve
from xbarmem.learning.adaptive import AdaptiveTrainer, bf16_products_supported
from xbarmem.learning.flip_stage import flip_loss_grad, row_weights

from . import command_line
from .optimizers import study_optimizers
from .recipes import provenance, write_result
from .second_order import study_second_order
from .training_levers import (
    against_default,
    row_text,
    rows_by_case,
    study_finetune_stop,
    study_hard_cues,
    study_margin_start,
)

STUDIES = ("flip-start", "closed-form", "hard-cues", "finetune-stop", "margin-start",
           "second-order", "optimizers", "warm-search", "model-search", "bf16", "compile")
_CONTINUOUS = Protocol(corruption="gaussian", level=0.6, probes=10, seed=3, activation="tanh")
_BINARY = Protocol(corruption="flip", level=0.05, probes=10, seed=3)
_CUE_BUDGET = 1024  # cues per step of the continuous searches (as reproduce's (e))


# ------------------------------------------------------------------------------ compile
def _plain_step(n: int, hidden: int | None, patterns: int, copies: int, unroll: int):
    """A basin-objective step as a plain function of the weights (autograd gradient) and
    its inputs: ``(loss_fn(noise, *weights), weights, target)``. One layer when ``hidden`` is
    None."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, patterns, n, generator=gen) * 2 - 1
    target = x.repeat(1, copies, 1)
    sizes = [(n, n)] if hidden is None else [(hidden, n), (n, hidden)]
    weights = [(torch.randn(1, o, i + 1, generator=gen) / i ** 0.5).requires_grad_(True)
               for o, i in sizes]
    late = torch.arange(1, unroll + 1, dtype=torch.float32) ** 2
    late = late / late.sum()

    def net(state, *ws):
        for w in ws:
            k = state.shape[2]
            state = torch.tanh(torch.baddbmm(w[:, None, :, k].squeeze(1), state,
                                             w[:, :, :k].transpose(1, 2)))
        return state

    def loss_fn(noise, *ws):
        total = ((net(x, *ws) - x) ** 2).sum() / x.numel()
        state = (target + 0.6 * noise).clamp(-1, 1)
        for k in range(unroll):
            state = net(state, *ws)
            total = total + late[k] * ((state - target) ** 2).sum() / target.numel()
        return total

    return loss_fn, weights, target


def _plain_ms_per_step(fn, weights, target, steps: int) -> float:
    """Mean milliseconds per step of the plain function ``fn`` and its autograd gradient,
    after three steps not timed."""
    gen = torch.Generator().manual_seed(1)

    def step():
        loss = fn(torch.randn(target.shape, generator=gen), *weights)
        torch.autograd.grad(loss, weights)

    for _ in range(3):
        step()
    began = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - began) / steps * 1e3


def _ms_per_added_step(run, steps: int) -> float:
    """Milliseconds per optimiser step of ``run(max_steps)`` (returns ``(seconds, steps
    taken)``): the difference between runs of ``steps`` and ``2 * steps`` over the steps it
    adds, so that what a training costs once (set-up, first calls) is left out; the longer
    run's mean instead when the difference is not positive (tiny runs: noise) or the runs
    stopped early."""
    first = run(steps)
    second = run(2 * steps)
    if second[1] > first[1] and second[0] > first[0]:
        return (second[0] - first[0]) / (second[1] - first[1]) * 1e3
    return second[0] / second[1] * 1e3


def _timed_train(x, max_steps: int, **options) -> tuple[float, int, object]:
    began = time.perf_counter()
    memory = train(x, chip="paper-sim", seed=0, max_steps=max_steps, **options)
    return time.perf_counter() - began, int(memory.info["steps"]), memory


def _trainer_ms_per_step(x, steps: int, **options) -> float:
    """The trainer's own basin step (first stage only, no early stop)."""
    return _ms_per_added_step(lambda s: _timed_train(x, s, objective="basin", rel_tol=1e-12,
                                               **options)[:2], steps)


def study_compile(quick: bool) -> dict:
    """Every uncompiled step is timed before anything is compiled: compiling leaves helper
    processes and state behind that slowed later measurements in the same process (runs
    of 2026-12-03); the study runs last for the same reason."""
    steps = 5 if quick else 300
    cases = {"one layer, N = 64, P = 32": (64, None, 32, 6, 4),
             "multilayer continuous, N = H = 144, P = 80": (144, 144, 80, 13, 2)}
    out, plain = {}, {}
    for label, (n, hidden, p, copies, unroll) in cases.items():
        if quick:
            n, hidden, p = 16, (None if hidden is None else 16), 8
        fn, weights, target = plain[label] = _plain_step(n, hidden, p, copies, unroll)
        row = out[label] = {"eager_ms_per_step": _plain_ms_per_step(fn, weights, target, steps)}
        side = math.isqrt(n)
        if hidden is None:
            x = load_mnist(side=side, n_patterns=p)
            row["trainer_ms_per_step"] = _trainer_ms_per_step(
                x, steps, flip_steps=0, finetune_steps=0, cue_copies=copies, unroll=unroll)
        else:
            x = load_mnist(side=side, kind="continuous", n_patterns=p)
            row["trainer_ms_per_step"] = _trainer_ms_per_step(
                x, steps, arch="multilayer", hidden=hidden, cue_copies=copies, unroll=unroll)
    if quick:  # compiling takes seconds to tens of seconds
        return out
    cache = tempfile.mkdtemp(prefix="xbarmem-levers-")  # compile from a cold cache
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")  # no compile workers
    for label, (fn, weights, target) in plain.items():
        began = time.perf_counter()
        compiled = torch.compile(fn, dynamic=False)
        _plain_ms_per_step(compiled, weights, target, 1)
        out[label]["compile_seconds"] = time.perf_counter() - began
        out[label]["compiled_ms_per_step"] = _plain_ms_per_step(compiled, weights, target, steps)
    shutil.rmtree(cache, ignore_errors=True)
    return out


# ------------------------------------------------------------------------------ bf16
def study_bf16(quick: bool) -> dict:
    cases = {"continuous N = 144, P = 80": (144, 80, "continuous", 200),
             "continuous N = 400, P = 300": (400, 300, "continuous", 100),
             "binary fixed-point N = 784, P = 1000": (784, 1000, "binary", 100)}
    if quick:
        cases = {"continuous N = 16, P = 8": (16, 8, "continuous", 5)}
    out = {"cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if not bf16_products_supported():  # the option is refused here
        return {**out, "not measured": "this torch build or CPU has no bfloat16 support"}
    for label, (n, p, kind, steps) in cases.items():
        x = load_mnist(side=math.isqrt(n), kind=kind, n_patterns=p)
        options = ({"objective": "basin", "unroll": 2, "rel_tol": 1e-12,
                    "cue_copies": math.ceil(_CUE_BUDGET / p)} if kind == "continuous"
                   else {"objective": "fixed-point"})
        row = {}
        for name in ("float32", "bf16"):  # the trainer's own option (products)
            run = functools.partial(_timed_train, x, arch="multilayer", hidden=n,
                                    products=name, **options)
            row[f"{name}_ms_per_step"] = _ms_per_added_step(lambda s, run=run: run(s)[:2],
                                                            steps)
            memory = run(steps)[2]
            row[f"{name}_recall"] = evaluate_memory(
                memory, x, _CONTINUOUS if kind == "continuous" else _BINARY).cosine
        row["speed_up"] = row["float32_ms_per_step"] / row["bf16_ms_per_step"]
        out[label] = row
    return out


# ------------------------------------------------------------------------------ warm search
@contextlib.contextmanager
def _warm_multilayer():
    """While active, the multilayer trainer starts from the parameters the previous training
    ended with (clipped to the new problem's bounds) instead of its random start. Yields the
    dict holding them (``"params"``)."""
    kept: dict = {}
    start, two_stage = multilayer_fit.MultilayerFit.start, multilayer_fit.stages.two_stage

    def warm(cls, opts, problem):
        path, params, *rest = start.__func__(cls, opts, problem)
        if "params" in kept and kept["params"].shape == params.shape:
            params = torch.clamp(kept["params"].clone(), rest[2], rest[3])
        return (path, params, *rest)

    def keep(path, params, *args):
        out = two_stage(path, params, *args)
        kept["params"] = out[0].clone()
        return out

    with (mock.patch.object(multilayer_fit.MultilayerFit, "start", classmethod(warm)),
          mock.patch.object(multilayer_fit.stages, "two_stage", keep)):
        yield kept


def _search(n: int, pool, warm: bool, max_steps: int) -> dict:
    tested = []

    def score(p: int) -> float:
        idx = torch.randperm(len(pool.patterns), generator=torch.Generator().manual_seed(p))
        x = pool.subset(idx[:p].tolist())
        began = time.perf_counter()
        memory = train(x, chip="paper-sim", arch="multilayer", hidden=n, seed=0,
                       objective="basin", unroll=2, max_steps=max_steps,
                       cue_copies=math.ceil(_CUE_BUDGET / p))
        seconds = time.perf_counter() - began
        cosine = evaluate_memory(memory, x, _CONTINUOUS).cosine
        tested.append({"count": p, "steps": int(memory.info["steps"]), "seconds": seconds,
                       "cosine": cosine})
        return cosine

    with _warm_multilayer() if warm else contextlib.nullcontext():
        capacity = search_capacity(score, [0.99], start=n // 2, max_count=len(pool.patterns),
                                   resolution=0.05)[0.99]
    return {"capacity": capacity, "tested": tested,
            "train_seconds": sum(t["seconds"] for t in tested)}


def study_warm_search(quick: bool) -> dict:
    n, max_steps = (16, 50) if quick else (144, 10_000)
    pool = load_mnist(side=math.isqrt(n), kind="continuous", n_patterns=5000)
    out = {"continuous search": {way: _search(n, pool, way == "warm", max_steps)
                                 for way in ("scratch", "warm")}}
    n, first, second = (16, 8, 12) if quick else (256, 128, 250)
    mnist = load_mnist(side=math.isqrt(n), n_patterns=1000)
    row = {}
    for way in ("scratch", "warm"):
        with _warm_multilayer() if way == "warm" else contextlib.nullcontext():
            if way == "warm":
                train(mnist.subset(slice(0, first)), chip="paper-sim", arch="multilayer",
                      hidden=n, seed=0, objective="fixed-point")
            x = mnist.subset(slice(500, 500 + second))
            began = time.perf_counter()
            memory = train(x, chip="paper-sim", arch="multilayer", hidden=n, seed=0,
                           objective="fixed-point")
            row[way] = {"seconds": time.perf_counter() - began,
                        "steps": int(memory.info["steps"]),
                        "cosine": evaluate_memory(memory, x, _BINARY).cosine}
    out[f"binary fixed-point N = {n}, P = {second} (warm: after P = {first})"] = row
    return out


# ------------------------------------------------------------------------------ model search
def _model_step(p: int, s: float, theta: float, passing: bool) -> int:
    """The next count from a tested ``p`` (similarity ``s``): where ``1 - s`` growing as
    ``P^2`` reaches ``1 - theta``; at most ``2 p`` upwards, downwards at least ``p / 8`` below
    ``p`` and aimed 3% under the crossing."""
    if passing:
        if s >= 1.0:
            return 2 * p
        return int(min(2 * p, max(p + 1, math.floor(p * math.sqrt((1 - theta) / (1 - s))))))
    if not (math.isfinite(s) and s < theta):
        return max(1, p // 2)
    aim = 0.97 * p * math.sqrt((1 - theta) / (1 - s))
    return int(max(1, min(p - max(1, p // 8), math.floor(aim))))


def _aimed_next(lo, hi, s_lo, s_hi, theta, resolution, aimed):
    """Inside the bracket: the count whose test ends the search when the line's crossing is
    within the resolution of an end (not twice in a row), else the quarter-guarded crossing."""
    width = hi - lo
    guess = lo + (s_lo - theta) / (s_lo - s_hi) * width
    guess = guess if math.isfinite(guess) else lo + width / 2
    if not aimed:
        t = hi - 1
        while t - 1 > lo and hi - (t - 1) <= max(1.0, resolution * (t - 1)):
            t -= 1
        if guess >= t and lo < t < hi:
            return t, True
        f = lo + max(1, math.floor(resolution * lo))
        if guess <= f and lo < f < hi:
            return f, True
    margin = max(1, width // 4)
    return int(min(max(round(guess), lo + margin), hi - margin)), False


class _Scored(dict):
    """Tested count -> similarity, each count scored once."""

    def __init__(self, score) -> None:
        super().__init__()
        self.score = score

    def __missing__(self, p: int) -> float:
        self[p] = value = float(self.score(p))
        return value


def _model_search(score, thresholds, *, start=4, max_count, resolution=0.0, cache=None):
    """:func:`search_capacity`'s contract, stepping by :func:`_model_step` and
    :func:`_aimed_next` (``cache`` is not shared: the study runs one search per case)."""
    sim, found = _Scored(score), {}
    for theta in sorted(thresholds, reverse=True):
        first = min(max(1, start), max_count)
        lo, hi = (first, None) if sim[first] >= theta else (0, first)
        while hi is None and lo < max_count:
            nxt = min(_model_step(lo, sim[lo], theta, True), max_count)
            lo, hi = (nxt, None) if sim[nxt] >= theta else (lo, nxt)
        while lo == 0 and hi > 1:
            nxt = _model_step(hi, sim[hi], theta, False)
            lo, hi = (nxt, hi) if sim[nxt] >= theta else (0, nxt)
        aimed = False
        while hi is not None and hi - lo > max(1.0, resolution * lo):
            mid, aimed = _aimed_next(lo, hi, sim[lo], sim[hi], theta, resolution, aimed)
            lo, hi = (mid, hi) if sim[mid] >= theta else (lo, mid)
        found[theta] = capacity_from_curve([{"count": q, "cosine": v} for q, v in sim.items()],
                                           theta)
    return dict(sorted(found.items()))


def _search_cases(quick: bool) -> dict:
    """name -> (pool, find_capacity keywords) of the model-search study."""
    if quick:
        return {"8x8 digits, one layer": (load_digits().subset(slice(0, 60)), dict(
            arch="single", thresholds=(0.9, 0.99), trials=1, rule_options={"max_steps": 20,
                                                                           "finetune_steps": 5}))}
    continuous = dict(arch="multilayer", hidden=64, thresholds=(0.99,), trials=1,
                      resolution=0.05, cue_budget=_CUE_BUDGET, protocol=_CONTINUOUS,
                      rule_options={"objective": "basin", "unroll": 2, "max_steps": 10_000})
    return {
        "8x8 digits, one layer": (load_digits(), dict(arch="single",
                                                      thresholds=(0.9, 0.95, 0.99), trials=2)),
        "random N = 64, one layer": (random_patterns(500, 64, seed=3), dict(
            arch="single", thresholds=(0.95, 0.99), trials=2)),
        "8x8 MNIST, one layer, 50% faults": (load_mnist(side=8, n_patterns=2000), dict(
            arch="single", thresholds=(0.95, 0.99), trials=2,
            chip=load_chip("paper-sim").with_faults(0.5))),
        "8x8 MNIST continuous, 64-64-64": (load_mnist(side=8, kind="continuous", n_patterns=3000),
                                           continuous),
    }


def study_model_search(quick: bool) -> dict:
    out = {}
    for label, (pool, keywords) in _search_cases(quick).items():
        row = {}
        for way, search in (("doubling", search_capacity), ("model", _model_search)):
            with mock.patch.object(capacity, "search_capacity", search):
                found = capacity.find_capacity(pool, seed=0, **keywords)
            row[way] = {"capacity": {str(k): v for k, v in found.capacity.items()},
                        "counts": sorted(p["count"] for p in found.points),
                        "seconds": found.seconds}
        out[label] = row
    return out


# ------------------------------------------------------------------------------ flip start
def _first_stage_only():
    """While active (a context manager), one-layer training ends after the flip-averaged
    stage."""
    def stop(path, params, *args):
        t = params.shape[0]
        return (params, torch.zeros(t, dtype=torch.int64), torch.full((t,), float("nan")),
                torch.zeros(t, dtype=torch.bool))

    return mock.patch.object(single_fit, "two_stage", stop)


def study_flip_start(quick: bool) -> dict:
    n, p = (16, 6) if quick else (64, 32)
    data = {"MNIST digits": load_mnist(side=math.isqrt(n), n_patterns=p),
            "random patterns": random_patterns(p, n, seed=0)}
    out = {}
    rho = AdaptiveTrainer().cue_flip

    def largest_gradient(w: torch.Tensor, b: torch.Tensor, stored: torch.Tensor) -> float:
        """Largest entry of the stage's gradient at ``[W | b]``."""
        a = torch.cat([w, b[:, None]], dim=1)[None]
        weight = row_weights(torch.ones(1, len(stored), dtype=torch.bool)) / stored.shape[1]
        return float(flip_loss_grad(a, stored[None], weight, rho, 0.0, True,
                                    want_loss=False)[1].abs().max())

    for label, x in data.items():
        stored = tensor_of(x.patterns, torch.float32)
        out[f"{label}, largest gradient at zero weights"] = largest_gradient(
            torch.zeros(n, n), torch.zeros(n), stored)
        for start in ("zero", "warm"):
            row = {}
            for steps in ((10,) if quick else (100, 300)):
                with _first_stage_only():
                    memory = train(x, chip="paper-sim", seed=0, flip_steps=steps,
                                   warm_start=start == "warm")
                w = torch.as_tensor(memory.weights)
                b = torch.as_tensor(memory.bias)
                fixed = (torch.sign(stored @ w.T + b) == stored).float().mean()
                row[f"{steps} steps"] = {
                    "fixed_bits": float(fixed),
                    "largest_gradient": largest_gradient(w, b, stored),
                    **{f"cosine_{f:g}": evaluate_memory(memory, x, Protocol(
                        corruption="flip", level=f, probes=50, seed=7)).cosine
                       for f in (0.05, 0.10)}}
            out[f"{label}, {start} start"] = row
    return out


# ------------------------------------------------------------------------------ closed form
_LOGISTIC = 1.702  # sigmoid(1.702 z) stands for the normal Phi(z), as in the flip stage


def _closed_form_stage(x, valid, lo, hi, *, updates=2, steps=300, lr=0.01, rho=0.1,
                       floor=0.05, bound=0.25, scale_after=1.0):
    """``(T, N, N + 1)`` parameters trained on the closed-form objective (see the module
    docstring; autograd, Adam), inside ``[lo, hi]`` narrowed to +-``bound``, then scaled by
    ``scale_after`` and clipped to ``[lo, hi]``."""
    t, p, n = x.shape
    rows = (x * valid[:, :, None])
    start = torch.zeros(t, n, lo.shape[2])
    start[:, :, :n] = torch.bmm(rows.transpose(1, 2), rows) / valid.sum(1)[:, None, None] * 0.1
    box_lo = torch.minimum(lo.clamp_min(-bound), hi.clamp_max(bound))
    box_hi = hi.clamp_max(bound)
    a = torch.clamp(start, box_lo, box_hi).requires_grad_(True)
    optimiser = torch.optim.Adam([a], lr=lr)
    weight = (valid.float() / valid.sum(1, keepdim=True))[:, :, None] / (n * updates)
    for _ in range(steps):
        w, b = a[:, :, :n], a[:, None, :, n]
        mean_state = x * (1 - 2 * rho)
        loss = 0.0
        for _ in range(updates):
            field = torch.bmm(mean_state, w.transpose(1, 2)) + b
            spread = torch.bmm(1 - mean_state ** 2, (w * w).transpose(1, 2)) + 1e-12
            z = x * field / spread.sqrt()
            loss = loss + (torch.nn.functional.softplus(-_LOGISTIC * z) * weight).sum()
            wrong = torch.sigmoid(-_LOGISTIC * z).clamp_min(floor)
            mean_state = x * (1 - 2 * wrong)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            torch.clamp(a, box_lo, box_hi, out=a)
    return torch.clamp(a.detach() * scale_after, lo, hi)


def _closed_form_start(**stage):
    """While active (a context manager), the one-layer trainer's warm start is
    :func:`_closed_form_stage`."""
    return mock.patch.object(
        single_fit.SingleLayerFit, "warm_start",
        lambda self, x, valid, lo, hi: _closed_form_stage(x, valid, lo, hi, **stage))


def study_closed_form(quick: bool) -> dict:
    steps = 5 if quick else 300
    start = {"warm_start": True, "flip_steps": 0}

    def closed_form(only=contextlib.nullcontext, **stage):
        @contextlib.contextmanager
        def active():
            with _closed_form_start(**stage), only():
                yield
        return active

    sides = {"default recipe": ({}, contextlib.nullcontext),
             "closed form alone": (start, closed_form(_first_stage_only, steps=steps)),
             "closed form + 150 sampled steps": (
                 {**start, "max_steps": 150, "finetune_steps": 0, "unroll": 3, "lr": 0.003},
                 closed_form(steps=steps, scale_after=4.0))}
    return rows_by_case(against_default(sides, *((1, 2) if quick else (2, 50)), quick))


def table(studies: dict) -> str:
    """Markdown: one row per study and case, what was measured."""
    rows = []
    for label, r in studies.get("compile", {}).items():
        if isinstance(r, dict):
            compiled = (f"compiled {r['compiled_ms_per_step']:.2f} ms (compiling "
                        f"{r['compile_seconds']:.1f} s), " if "compiled_ms_per_step" in r else "")
            rows.append(("torch.compile", label,
                         f"per step: plain function {r['eager_ms_per_step']:.2f} ms, {compiled}"
                         f"the trainer's own step {r['trainer_ms_per_step']:.2f} ms"))
    for label, r in studies.get("bf16", {}).items():
        if label == "not measured":
            rows.append(("bfloat16 products", "-", f"not measured: {r}"))
        if isinstance(r, dict):
            rows.append(("bfloat16 products", label,
                         f"per step: float32 {r['float32_ms_per_step']:.2f} ms, bf16 "
                         f"{r['bf16_ms_per_step']:.2f} ms ({r['speed_up']:.2f}x); recall "
                         f"{r['float32_recall']:.4f} / {r['bf16_recall']:.4f}"))
    for label, r in studies.get("warm-search", {}).items():
        if isinstance(r, dict) and "tested" in r.get("scratch", {}):
            rows.append(("warm-started search", label, "; ".join(
                f"{way}: capacity {r[way]['capacity']}, {len(r[way]['tested'])} counts, "
                f"{sum(t['steps'] for t in r[way]['tested'])} steps, "
                f"{r[way]['train_seconds']:.1f} s" for way in ("scratch", "warm"))))
        elif isinstance(r, dict):
            rows.append(("warm-started search", label, "; ".join(
                f"{way}: {r[way]['steps']} steps, {r[way]['seconds']:.2f} s, recall "
                f"{r[way]['cosine']:.4f}" for way in ("scratch", "warm"))))
    for label, r in studies.get("model-search", {}).items():
        if isinstance(r, dict):
            rows.append(("model-guided search", label, "; ".join(
                f"{way}: capacities {', '.join(f'{k}: {v}' for k, v in r[way]['capacity'].items())}"
                f", {len(r[way]['counts'])} counts, {r[way]['seconds']:.1f} s"
                for way in ("doubling", "model"))))
    for label, r in studies.get("flip-start", {}).items():
        if isinstance(r, dict):
            rows.append(("flip-averaged stage alone", label, "; ".join(
                f"{steps}: fixed bits {v['fixed_bits']:.3f}, recall {v['cosine_0.05']:.4f} / "
                f"{v['cosine_0.1']:.4f}, largest gradient {v['largest_gradient']:.3g}"
                for steps, v in r.items())))
        elif label != "wall_seconds":
            rows.append(("flip-averaged stage alone", label, f"{r:.3g}"))
    for study, lever in (("closed-form", "closed-form recall terms"),
                         ("hard-cues", "fewer but harder cues"),
                         ("finetune-stop", "fine-tune stopped on held-out recall"),
                         ("margin-start", "max-margin start of the fast recipe"),
                         ("second-order", "second-order start"),
                         ("optimizers", "optimiser and schedule")):
        rows += [(lever, label, row_text(r))
                 for label, r in studies.get(study, {}).items() if isinstance(r, dict)]
    return "\n".join(["| lever | case | measured |", "|---|---|---|",
                      *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


#: the head of a ``--quick`` run's table and its results' ``note``
QUICK_NOTE = ("quick run: tiny sizes and step caps for the smoke test; its numbers are not "
              "comparable with the levers measured in docs/measured.json (full sizes)")

RUN = {"compile": study_compile, "bf16": study_bf16, "warm-search": study_warm_search,
       "model-search": study_model_search,
       "flip-start": study_flip_start, "closed-form": study_closed_form,
       "hard-cues": study_hard_cues, "finetune-stop": study_finetune_stop,
       "margin-start": study_margin_start, "second-order": study_second_order,
       "optimizers": study_optimizers}


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("levers", __doc__)
    parser.add_argument("--only", action="append", choices=STUDIES,
                        help="run this study (repeatable; default all)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, for the smoke test (times not meaningful)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    command_line.results_options(parser, "levers")
    args = parser.parse_args(argv)
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(args.threads)
    result = {**provenance("levers", argv), "quick": args.quick, "studies": {}}
    for name in args.only or STUDIES:
        began = time.perf_counter()
        result["studies"][name] = RUN[name](args.quick)
        result["studies"][name]["wall_seconds"] = time.perf_counter() - began
        if not args.json:  # the numbers: in the table below and the results file
            print(f"{name}: measured in {result['studies'][name]['wall_seconds']:.1f} s",
                  flush=True)
    result["table"] = table(result["studies"])
    result["note"] = QUICK_NOTE if args.quick else None
    if not args.json:
        print("\n".join(filter(None, (result["note"], result["table"]))))
    return write_result(result, args.json_out, json_stdout=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
