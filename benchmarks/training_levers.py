"""Levers of the one-layer default recipe measured on the tuning split, for ``benchmarks.levers``.

:func:`against_default` trains option sets (each inside an optional context that puts an
alternative into the trainer while it is measured) on the one-layer tuning cases of
``benchmarks.recipe_search``, one network at a time, and compares each with the first set (the
default recipe) in the same run. Two levers of the performance issue are measured with it:

* ``hard-cues`` (:func:`study_hard_cues`) -- fewer but harder cues: the candidates of
  ``recipe_search`` that raise ``cue_flip`` to 0.15 / 0.2 with 3 / 4 cues per pattern, and
  cues chosen by loss (:func:`hardest_cues`: twice ``cue_copies`` cues drawn per pattern, the
  ``cue_copies`` of largest loss kept, in both sampled stages);
* ``finetune-stop`` (:func:`study_finetune_stop`) -- the sign fine-tune stopped when recall on
  held-out cues stops improving (:func:`stopped_finetune`), with the cosine schedule over all
  the fine-tune's steps or a constant learning rate; the held-out scoring is training time;
* ``margin-start`` (:func:`study_margin_start`) -- the fast recipe from a max-margin start
  (:func:`margin_start`: each row's minimum-norm weights whose field has the stored bit's sign
  with a margin of at least 1 on every stored pattern, the inequality version of the closed-form
  warm start's ``W x + b = x``) instead of its minimum-norm start.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from unittest import mock

import torch

import xbarmem.learning.single_fit as single_fit
from xbarmem.evaluation.metrics import cosine_similarity
from xbarmem.experiments.demo import FAULT_MODEL_PRESETS
from xbarmem.hardware.chip import load_preset
from xbarmem.learning import stages
from xbarmem.learning.adaptive import RECIPE_OPTIONS
from xbarmem.learning.noise import flip_signs
from xbarmem.learning.objective import late_weights, tanh
from xbarmem.learning.optimizer import fused_counter, optimizer_step
from xbarmem.memory.recall import recall_batch

from .recipe_search import CANDIDATES, summarise, tuning_cases
from .recipes import _train_and_score

#: a side of :func:`against_default`: its options and what is active while it trains
Side = tuple[dict, Callable[[], contextlib.AbstractContextManager]]
#: held-out cues of :func:`stopped_finetune`: per pattern, flip rate, generator seed
HELD_OUT = (4, 0.1, 2026)


def against_default(sides: dict[str, Side], seeds: int, probes: int, quick: bool,
                    extra: dict | None = None) -> dict[str, dict[str, dict]]:
    """Per fault model and side: :func:`~benchmarks.recipe_search.summarise` of the side
    against the first side, on the tuning cases (``quick``: the first and the last), each
    trained with ``seeds`` training seeds and options ``extra`` on top of the side's, and
    scored on ``probes`` cues per pattern (cue seed 7, as ``recipe_search``)."""
    cases = tuning_cases()
    if quick:
        cases = cases[:1] + cases[-1:]
    per: dict[str, dict[str, list]] = {}
    for _, model, faults, fault_seed, patterns in cases:
        chip = load_preset(FAULT_MODEL_PRESETS[model]).with_faults(faults)
        for side, (options, active) in sides.items():
            with active():
                result = _train_and_score(patterns, chip, "single", fault_seed,
                                          {**options, **(extra or {})}, seeds, probes,
                                          cue_seed=7)
            per.setdefault(model, {}).setdefault(side, []).append(result)
    out: dict[str, dict[str, dict]] = {}
    for model, by_side in per.items():
        reference = by_side[next(iter(sides))]
        out[model] = {side: summarise(list(zip(reference, results, strict=True)))
                      for side, results in by_side.items()}
    return out


def rows_by_case(measured: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """``{"<fault model> fault model, <side>": row}`` from :func:`against_default`."""
    return {f"{model} fault model, {side}": row
            for model, by_side in measured.items() for side, row in by_side.items()}


def row_text(row: dict) -> str:
    """One table cell: training seconds, steps (every stage's), speed-up and recall change
    against the default."""
    return (f"training {row['train_seconds']:.3f} s, {row['steps']:.0f} steps "
            f"({row['speed_up']:.2f}x the default's speed); recall change against the default, "
            "mean / worst case: " + "; ".join(
                f"{float(f):.0%} flips {m:+.4f} / {w:+.4f}"
                for f, (m, w) in row["cosine_change_mean_worst"].items()))


# ------------------------------------------------------------------------------ hard cues
def cue_losses(a: torch.Tensor, cues: torch.Tensor, target: torch.Tensor, unroll: int,
               late: torch.Tensor, straight_through: bool) -> torch.Tensor:
    """``(T, B)`` each cue's recall terms of the basin loss (squared error, weighted by
    ``late`` over ``unroll`` noise-free updates: tanh, or sign with ``straight_through``)
    through ``[W | b]`` ``a`` ``(T, N, N + bias)``; ``cues`` and ``target`` ``(T, B, N)``."""
    n = cues.shape[2]
    state, total = cues, torch.zeros(cues.shape[:2])
    for k in range(unroll):
        h = torch.bmm(state, a[:, :, :n].transpose(1, 2))
        if a.shape[2] > n:
            h += a[:, None, :, n]
        state = torch.sign(h) if straight_through else tanh(h)
        total += float(late[k]) * (state - target).pow(2).sum(dim=2)
    return total


def keep_hardest(cues: torch.Tensor, loss: torch.Tensor, patterns: int) -> torch.Tensor:
    """Of ``cues`` ``(T, 2 * C * P, N)`` (row ``j * P + i``: a cue of pattern ``i``, ``P =
    patterns``) with losses ``loss`` ``(T, 2 * C * P)``, the ``C`` of each pattern with the
    largest loss, ``(T, C * P, N)`` in the same layout."""
    t, rows, n = cues.shape
    drawn = rows // patterns
    keep = loss.view(t, drawn, patterns).topk(drawn // 2, dim=1).indices
    chosen = cues.view(t, drawn, patterns, n).gather(1, keep[..., None].expand(-1, -1, -1, n))
    return chosen.reshape(t, rows // 2, n)


@contextlib.contextmanager
def hardest_cues() -> Iterator[None]:
    """While active, both sampled stages of one-layer binary training draw ``2 * cue_copies``
    cues per pattern and train on the ``cue_copies`` of each pattern with the largest
    :func:`cue_losses` at the current weights."""
    now: dict = {}
    grad = single_fit.SingleLayerFit.basin_loss_grad

    def remember(self, a, x, valid, kind, gen, noise, unroll, late, straight_through,
                 want_loss=True):
        now.update(a=a, unroll=unroll, late=late, straight_through=straight_through)
        return grad(self, a, x, valid, kind, gen, noise, unroll, late, straight_through,
                    want_loss)

    def hardest(opts, consts, kind, gen):
        target = consts.target
        both = torch.cat([target, target], dim=1)  # row j * P + i: a cue of pattern i
        cues = both * flip_signs(both.shape, opts.cue_flip, gen)
        loss = cue_losses(now["a"], cues, both, now["unroll"], now["late"],
                          now["straight_through"])
        return target, consts.target_mask, keep_hardest(cues, loss, consts.mask.shape[1])

    with (mock.patch.object(single_fit.SingleLayerFit, "basin_loss_grad", remember),
          mock.patch.object(single_fit, "training_cues", hardest)):
        yield


def study_hard_cues(quick: bool) -> dict:
    """The default against fewer, harder cues (``recipe_search``'s candidates) and cues
    chosen by loss, on the tuning split (4 training seeds, 50 cues per pattern)."""
    none = contextlib.nullcontext
    sides: dict[str, Side] = {"default recipe": ({}, none)}
    sides |= {name: (options, none) for name, options in CANDIDATES.items()
              if name.startswith("harder cues")}
    sides |= {f"{2 * c} cues drawn per pattern, the {c} of largest loss kept": (
        {"cue_copies": c}, hardest_cues) for c in (3, 6)}
    measured = against_default(sides, *((1, 2) if quick else (4, 50)), quick,
                               {"max_steps": 20, "finetune_steps": 40} if quick else None)
    return rows_by_case(measured)


# ------------------------------------------------------------------------------ early stop
def held_out(x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Held-out cues of stored patterns ``x`` ``(T, P, N)`` (:data:`HELD_OUT`: drawn from a
    generator of their own): ``(cues (T * B, N), targets (T * B, N), net (T * B,), weight
    (T, B))``, ``B = copies * P``; ``weight`` is 1 / real cues of the network on real rows, 0
    on padding rows."""
    copies, flip, seed = HELD_OUT
    t, p, n = x.shape
    target = x.repeat(1, copies, 1)
    cues = target * flip_signs(target.shape, flip, torch.Generator().manual_seed(seed))
    mask = valid.repeat(1, copies).float()
    return (cues.reshape(-1, n), target.reshape(-1, n),
            torch.arange(t).repeat_interleave(copies * p), mask / mask.sum(1, keepdim=True))


def held_out_score(a: torch.Tensor, held: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """``(T,)`` mean cosine of sync sign recall (the memory's dynamics, noise-free) from the
    held-out cues ``held`` (:func:`held_out`) through ``[W | b]`` ``a``."""
    cues, target, net, weight = held
    states = recall_batch(a, cues, net).states
    return (cosine_similarity(states, target).view(weight.shape) * weight).sum(dim=1)


def finetune_steps(path, a, x, valid, lo, hi, kind, gen, noise, unroll: int,
                   rates: list[float], want: Callable[[int], bool]) -> Iterator:
    """The sign fine-tune's steps (as :func:`~xbarmem.learning.stages.basin_stage` with
    ``straight_through``) on ``a`` in place, step ``s`` at learning rate ``rates[s - 1]``;
    yields ``(s, loss)`` after each (loss None unless ``want(s)``)."""
    opts = path.opts
    first, second = torch.zeros_like(a), torch.zeros_like(a)
    late = late_weights(opts, unroll)
    count = fused_counter(opts)
    for step, rate in enumerate(rates, start=1):
        loss, grad = path.basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late, True,
                                          want_loss=want(step))
        optimizer_step(opts, a, grad, first, second, step, count, lr=rate)
        torch.clamp(a, lo, hi, out=a)
        yield step, loss


def stopped_finetune(path, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, steps, *,
                     every: int, patience: float, constant: bool):
    """The sign fine-tune of ``steps`` steps (cosine-decayed ``lr``, or ``lr`` throughout
    with ``constant``) scored on held-out cues (:func:`held_out_score`) before it and every
    ``every`` steps (and after the last); it stops once no network's score rose above its
    best for ``patience`` checks, and each network keeps its best-scoring weights. Returns
    ``(params, steps taken, loss at the last check, converged)`` as a stage does."""
    held = held_out(x, valid)
    a = params.clone()
    best, top = a.clone(), held_out_score(a, held)
    stale = torch.zeros(len(a))
    rates = [lr if constant else lr * 0.5 * (1 + math.cos(math.pi * s / steps))
             for s in range(steps)]

    def checked(step: int) -> bool:
        return not step % every or step == steps

    taken, last = 0, torch.full((len(a),), float("nan"))
    for taken, loss in finetune_steps(path, a, x, valid, lo, hi, kind, gen, noise, unroll,
                                      rates, checked):
        if not checked(taken):
            continue
        last, score = loss, held_out_score(a, held)
        better = score > top
        best[better], top = a[better], torch.maximum(score, top)
        stale = torch.where(better, 0.0, stale + 1)
        if bool((stale >= patience).all()):
            break
    return (best, torch.full((len(a),), taken, dtype=torch.int64), last,
            torch.ones(len(a), dtype=torch.bool))


def early_stop(**stop) -> contextlib.AbstractContextManager:
    """While active, the sign fine-tune is :func:`stopped_finetune` with ``stop``."""
    stage = stages.basin_stage

    def dispatch(path, params, *args, decay: bool, straight_through: bool):
        if not straight_through:
            return stage(path, params, *args, decay=decay, straight_through=False)
        return stopped_finetune(path, params, *args, **stop)

    return mock.patch.object(stages, "basin_stage", dispatch)


def study_finetune_stop(quick: bool) -> dict:
    """The default against its fine-tune stopped on held-out recall, on the tuning split
    (4 training seeds, 50 cues per pattern): the cosine schedule over all the fine-tune's
    steps, or a constant learning rate (the default's, or half of it)."""
    lr = RECIPE_OPTIONS[("default", "single", "binary")]["finetune_lr"]
    sides: dict[str, Side] = {"default recipe": ({}, contextlib.nullcontext)}
    for constant, every, patience, rate in ((False, 20, math.inf, lr), (False, 20, 2, lr),
                                            (False, 25, 3, lr), (True, 20, 2, lr),
                                            (True, 25, 3, lr), (True, 20, 2, lr / 2)):
        name = (f"constant lr {rate:g}" if constant else "cosine lr") + (
            f", checked every {every} steps, " + ("never stopped, best kept"
                                                  if math.isinf(patience) else
                                                  f"stopped after {patience} checks without "
                                                  "gain"))
        sides[name] = ({"finetune_lr": rate}, functools.partial(
            early_stop, every=every, patience=patience, constant=constant))
    measured = against_default(sides, *((1, 2) if quick else (4, 50)), quick,
                               {"max_steps": 20, "finetune_steps": 40} if quick else None)
    return rows_by_case(measured)


# ------------------------------------------------------------------------------ margin start
def margin_start(x: torch.Tensor, valid: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, *,
                 margin: float = 1.0, iterations: int = 1000) -> torch.Tensor:
    """``(T, N, N + 1)`` parameters: per row ``i``, the minimum-norm free weights ``w`` with
    ``x_i (w . u + f) >= margin`` for every stored pattern ``x`` (``u = [x | 1]`` over the free
    weights, ``f`` the pinned weights' field), clipped to ``[lo, hi]``. The dual (``alpha >=
    0``, one per pattern) is solved by accelerated projected gradient, ``iterations`` steps of
    1 / a bound of its largest curvature; ``x`` ``(T, P, N)``, ``valid`` ``(T, P)``."""
    t, p, n = x.shape
    v = valid.to(x.dtype)
    u = torch.cat([x * v[:, :, None], v[:, :, None]], dim=2)  # (T, P, N + 1)
    pinned = lo == hi
    free = (~pinned).to(x.dtype)
    fixed = torch.where(pinned, lo, torch.zeros_like(lo))
    sign = x.transpose(1, 2) * v[:, None, :]  # (T, N, P): the stored bits, 0 on padding
    gain = (margin - sign * torch.bmm(fixed, u.transpose(1, 2))) * v[:, None, :]
    gram = torch.einsum("tpj,tij,tqj->tipq", u, free, u) * sign[..., :, None] * sign[..., None, :]
    gram = gram + torch.diag_embed((1.0 - v)[:, None, :].expand(t, n, p))
    # 1 / a bound of each row's largest curvature (Gershgorin: the largest absolute row sum)
    rate = 1.0 / gram.abs().sum(dim=3).amax(dim=2, keepdim=True).clamp_min(1e-12)
    alpha = torch.zeros(t, n, p)
    ahead, momentum = alpha.clone(), 1.0
    for _ in range(iterations):
        step = torch.clamp(ahead - rate * ((gram @ ahead[..., None])[..., 0] - gain), min=0.0)
        following = (1.0 + math.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
        ahead = step + (momentum - 1.0) / following * (step - alpha)
        alpha, momentum = step, following
    weights = torch.einsum("tpj,tip->tij", u, alpha * sign) * free
    return torch.clamp(weights + fixed, lo, hi)


def study_margin_start(quick: bool) -> dict:
    """The default and the fast recipe against the fast recipe from :func:`margin_start`
    (as measured, and with 50 + 70 or 100 + 200 steps), on the tuning split (2 training
    seeds, 50 cues per pattern)."""
    none = contextlib.nullcontext

    def started():
        return mock.patch.object(single_fit.SingleLayerFit, "warm_start",
                                 lambda self, x, valid, lo, hi: margin_start(x, valid, lo, hi))

    fast = {"recipe": "fast"}
    sides: dict[str, Side] = {
        "default recipe": ({}, none), "fast recipe": (fast, none),
        "fast recipe from the max-margin start": (fast, started),
        "... 50 first-stage steps, 70 fine-tune steps": (
            {**fast, "max_steps": 50, "finetune_steps": 70}, started),
        "... 100 first-stage steps, 200 fine-tune steps": (
            {**fast, "finetune_steps": 200}, started)}
    measured = against_default(sides, *((1, 2) if quick else (2, 50)), quick,
                               {"max_steps": 20, "finetune_steps": 40} if quick else None)
    return rows_by_case(measured)
