"""The optimiser and its schedule, for ``benchmarks.levers`` (``optimizers``).

Every stage of the one-layer default recipe uses Adam (betas 0.9 / 0.999, torch's fused step):
the basin stage at a constant rate until its windowed loss stops improving (at most 500
steps), the sign fine-tune cosine-decayed over its 200 steps. :func:`study_optimizers`
measures, on the tuning split against the default in the same run
(:func:`~benchmarks.training_levers.against_default`):

* :func:`adam_stage` -- Adam for a fixed, shorter budget at a higher peak rate with a schedule
  (:func:`warmup_cosine`: linear warm-up, then cosine decay to 0; :func:`one_cycle`: cosine
  rise from a 25th of the peak, then cosine decay to 1e-4 of it) and chosen betas, in both
  sampled stages, or in the fine-tune only (after the default's basin stage);
* :func:`lbfgs_stage` -- full-batch L-BFGS (``torch.optim.LBFGS``, strong-Wolfe line search)
  of the basin stage's objective on a fixed cue set drawn once (``copies`` cues per pattern,
  from a generator of their own), projected into the chip's range after every round of
  iterations, then the default's fine-tune (shortened); its ``steps`` are the objective's
  evaluations (each about one Adam step's work on as many cues).

The alternatives replace :func:`xbarmem.learning.stages.basin_stage` while measured
(:func:`scheduled`).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import torch

import xbarmem.learning.single_fit as single_fit
from xbarmem.learning import stages
from xbarmem.learning.objective import late_weights
from xbarmem.learning.quantise import seen

from .training_levers import Side, against_default, rows_by_case

#: a stage standing in for the trainer's: ``(path, params, x, valid, lo, hi, kind, gen, noise,
#: unroll, lr, steps, straight_through=...)`` -> ``(params, steps, loss, converged)``
Stage = Callable[..., tuple]


def warmup_cosine(steps: int, warm: float = 0.1) -> list[float]:
    """Multipliers of the peak rate for ``steps`` steps: a linear rise over the first ``warm``
    share of them (from ``1 / (warm steps)``), then a cosine decay to 0."""
    rise = max(1, round(warm * steps))
    return [min(1.0, (s + 1) / rise) if s < rise else
            0.5 * (1 + math.cos(math.pi * (s - rise) / max(1, steps - rise)))
            for s in range(steps)]


def one_cycle(steps: int, rise: float = 0.3, start: float = 1 / 25,
              end: float = 1e-4) -> list[float]:
    """Multipliers of the peak rate for ``steps`` steps, as ``torch.optim.lr_scheduler.OneCycleLR``
    (cosine annealing): from ``start`` up to 1 over the first ``rise`` share, then down to
    ``end``."""
    up = max(1, round(rise * steps))

    def cos(s: float, a: float, b: float) -> float:
        return b + (a - b) * 0.5 * (1 + math.cos(math.pi * s))

    return [cos(s / up, start, 1.0) if s < up else cos((s - up) / max(1, steps - up), 1.0, end)
            for s in range(steps)]


def _adam(a, grad, first, second, count, lr: float, betas: tuple[float, float]) -> None:
    """One Adam update of ``a`` in place (eps 1e-8), by torch's fused kernel where it exists,
    as :func:`~xbarmem.learning.optimizer.optimizer_step`."""
    count += 1
    if hasattr(torch, "_fused_adam_"):
        torch._fused_adam_([a], [grad], [first], [second], [], [count], lr=lr, beta1=betas[0],
                           beta2=betas[1], weight_decay=0.0, eps=1e-8, amsgrad=False,
                           maximize=False)
        return
    step = float(count)
    first.lerp_(grad, 1 - betas[0])
    second.mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
    denom = (second.sqrt() / math.sqrt(1 - betas[1] ** step)).add_(1e-8)
    a.addcdiv_(first, denom, value=-lr / (1 - betas[0] ** step))


def adam_stage(path, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, steps, *,
               straight_through: bool, shape: Callable[[int], list[float]],
               betas: tuple[float, float] = (0.9, 0.999)):
    """The basin objective's stage (as :func:`~xbarmem.learning.stages.basin_stage`, fresh cues
    every step) for exactly ``steps`` Adam steps with betas ``betas``, step ``s`` at rate
    ``lr * shape(steps)[s - 1]``, projected into ``[lo, hi]``; every network runs them all.
    Returns ``(params, steps, loss before the last update, converged = True)``."""
    quant = getattr(path, "quantiser", None)
    a = params.clone()
    first, second = torch.zeros_like(a), torch.zeros_like(a)
    count = torch.zeros((), dtype=torch.float32)
    late = late_weights(path.opts, unroll)
    loss = torch.full((len(a),), float("nan"))
    for step, factor in enumerate(shape(steps), start=1):
        got, grad = path.basin_loss_grad(seen(quant, a), x, valid, kind, gen, noise, unroll,
                                         late, straight_through, want_loss=step == steps)
        loss = loss if got is None else got
        _adam(a, grad, first, second, count, lr * factor, betas)
        torch.clamp(a, lo, hi, out=a)
    t = len(a)
    return (a, torch.full((t,), steps, dtype=torch.int64), loss,
            torch.ones(t, dtype=torch.bool))


def fixed_cues(copies: int, flip: float, seed: int):
    """A stand-in for :func:`~xbarmem.learning.noise.training_cues` that draws binary cues
    (``flip`` bit flips) once, from a generator of its own seeded ``seed``, and returns the
    same ones at every later call with the same targets."""
    drawn: dict = {}

    def cues(opts, consts, kind, gen):
        if drawn.get("target") is not consts.target:
            own = torch.Generator().manual_seed(seed)
            flips = torch.where(torch.rand(consts.target.shape, generator=own) < flip, -1.0, 1.0)
            drawn.update(target=consts.target, cues=consts.target * flips)
        return consts.target, consts.target_mask, drawn["cues"]

    return cues


def lbfgs_stage(path, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, steps, *,
                straight_through: bool, copies: int = 16, iterations: int = 20,
                seed: int = 2026):
    """The basin objective on ``copies`` fixed cues per pattern (:func:`fixed_cues`, the
    options' ``cue_flip``) minimised by ``torch.optim.LBFGS`` (strong-Wolfe line search,
    history 10) in rounds of at most ``iterations`` iterations, projected into ``[lo, hi]``
    after each round, until ``steps`` evaluations of the objective (``lr`` is not used: the
    line search chooses each step). Returns ``(params, evaluations, loss at the last
    evaluation, converged = True)``."""
    opts = path.opts
    late = late_weights(opts, unroll)
    a = params.clone()
    solver = torch.optim.LBFGS([a], lr=1.0, max_iter=iterations, max_eval=steps,
                               history_size=10, line_search_fn="strong_wolfe",
                               tolerance_grad=1e-9, tolerance_change=1e-12)
    used: dict[str, Any] = {"evaluations": 0, "loss": torch.full((len(a),), float("nan"))}

    def closure():
        loss, grad = path.basin_loss_grad(a.detach(), x, valid, kind, gen, noise, unroll,
                                          late, straight_through)
        used["evaluations"] += 1
        used["loss"] = loss
        a.grad = grad
        return loss.sum()

    path.opts = opts.replace(cue_copies=copies)
    try:
        with mock.patch.object(single_fit, "training_cues",
                               fixed_cues(copies, opts.cue_flip, seed)):
            while used["evaluations"] < steps:
                before = used["evaluations"]
                solver.param_groups[0]["max_eval"] = steps - before
                solver.step(closure)
                with torch.no_grad():
                    torch.clamp(a, lo, hi, out=a)
                if used["evaluations"] == before + 1:  # converged at once: nothing left
                    break
    finally:
        path.opts = opts
    t = len(a)
    return (a.detach(), torch.full((t,), used["evaluations"], dtype=torch.int64),
            used["loss"], torch.ones(t, dtype=torch.bool))


@contextlib.contextmanager
def scheduled(basin: Stage | None = None, finetune: Stage | None = None) -> Iterator[None]:
    """While active, the basin stage (``basin``) and the sign fine-tune (``finetune``) are the
    given stages (None: the trainer's own)."""
    stage = stages.basin_stage

    def dispatch(path, params, *args, decay: bool, straight_through: bool):
        chosen = finetune if straight_through else basin
        if chosen is None:
            return stage(path, params, *args, decay=decay, straight_through=straight_through)
        return chosen(path, params, *args, straight_through=straight_through)

    with mock.patch.object(stages, "basin_stage", dispatch):
        yield


def _budget(basin: int, finetune: int, lr: float, finetune_lr: float) -> dict:
    """The options of a shorter budget: steps and peak rates of both sampled stages."""
    return {"max_steps": basin, "finetune_steps": finetune, "lr": lr, "finetune_lr": finetune_lr}


def sides() -> dict[str, Side]:
    """The default recipe and the optimiser variants of :func:`study_optimizers`."""
    def adam(shape=warmup_cosine, betas=(0.9, 0.999), basin=True):
        stage = functools.partial(adam_stage, shape=shape, betas=betas)
        return functools.partial(scheduled, stage if basin else None, stage)

    fast = (0.8, 0.99)
    out: dict[str, Side] = {"default recipe": ({}, contextlib.nullcontext)}
    for basin, finetune in ((150, 75), (250, 100)):
        out[f"Adam, warm-up + cosine, {basin} + {finetune} steps at 0.03 / 0.014"] = (
            _budget(basin, finetune, 0.03, 0.014), adam())
    out["Adam, one-cycle, 150 + 75 steps at 0.03 / 0.014"] = (
        _budget(150, 75, 0.03, 0.014), adam(one_cycle))
    for basin, finetune, lr, finetune_lr in ((100, 50, 0.05, 0.02), (150, 75, 0.03, 0.014),
                                             (250, 100, 0.03, 0.014), (300, 100, 0.02, 0.01),
                                             (400, 100, 0.015, 0.01)):
        out[f"Adam betas 0.8 / 0.99, warm-up + cosine, {basin} + {finetune} steps at {lr:g} / "
            f"{finetune_lr:g}"] = (_budget(basin, finetune, lr, finetune_lr), adam(betas=fast))
    out["the default's basin stage, then 100 fine-tune steps, Adam betas 0.8 / 0.99, warm-up "
        "+ cosine at 0.014"] = ({"finetune_steps": 100, "finetune_lr": 0.014},
                                adam(betas=fast, basin=False))
    for copies, evaluations, finetune in ((16, 60, 200), (32, 60, 100), (16, 30, 75)):
        lbfgs = functools.partial(lbfgs_stage, copies=copies)
        out[f"L-BFGS on {copies} fixed cues per pattern, {evaluations} evaluations, then "
            f"{finetune} fine-tune steps"] = (
            {"max_steps": evaluations, "finetune_steps": finetune},
            functools.partial(scheduled, lbfgs, None))
    return out


def _warm_up_lbfgs() -> None:
    """One tiny ``torch.optim.LBFGS`` step: its first step in a process imports what it needs
    (seconds), which is not training time."""
    x = torch.zeros(2)

    def closure():
        x.grad = 2 * (x - 1)
        return ((x - 1) ** 2).sum()

    torch.optim.LBFGS([x], max_iter=2, line_search_fn="strong_wolfe").step(closure)


def study_optimizers(quick: bool) -> dict:
    """The default recipe against :func:`sides` on the tuning split (3 training seeds, 50
    cues per pattern; L-BFGS is warmed up first, :func:`_warm_up_lbfgs`)."""
    _warm_up_lbfgs()
    chosen = sides()
    if quick:  # the default, one Adam variant and one L-BFGS variant
        names = list(chosen)
        chosen = {k: chosen[k] for k in (names[0], names[1], names[-1])}
    measured = against_default(chosen, *((1, 2) if quick else (3, 50)), quick,
                               {"max_steps": 20, "finetune_steps": 20} if quick else None)
    return rows_by_case(measured)
