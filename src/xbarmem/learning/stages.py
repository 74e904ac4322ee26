"""The stages of the hardware-adaptive rule's training, and their progress reports.

:func:`two_stage` (the whole training of one batch) and :func:`basin_stage` (projected
optimisation of the basin objective) drive a *path*
(:class:`~xbarmem.learning.single_fit.SingleLayerFit`,
:class:`~xbarmem.learning.multilayer_fit.MultilayerFit`), which supplies the objective-specific
pieces: ``fixed_point_stage(params, x, valid, lo, hi, kind, gen, noise)`` and
``basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late, straight_through,
want_loss)``. Stages return ``(params, steps (T,), loss (T,), converged (T,))``;
:class:`StepReporter` passes their progress on. What the paths share besides: the optimiser
update and stopping criteria (:mod:`~xbarmem.learning.optimizer`), the batch
(:mod:`~xbarmem.learning.batch`), the random draws (:mod:`~xbarmem.learning.noise`) and the basin
objective's terms (:mod:`~xbarmem.learning.objective`).
"""

from __future__ import annotations

import math

import torch

from xbarmem.learning.batch import Batch, trim
from xbarmem.learning.objective import late_weights
from xbarmem.learning.optimizer import fused_counter, optimizer_step, window_converged
from xbarmem.learning.quantise import seen, trimmed


# ---------------------------------------------------------------------------------- progress
class StepReporter:
    """Passes training progress to a callback ``progress(step, loss)`` (or does nothing
    without one): ``step`` counts optimiser steps over every stage and group of a run, so it
    only increases; ``loss`` is the mean loss (a float) of the networks still training.
    Reports every ``every`` steps and at the end of each stage (:meth:`done`); a callback
    with a method ``stage_ended(stage, steps)`` is also told where each stage ended
    (:meth:`done`). Reading the loss does not change any computed value."""

    def __init__(self, progress=None, every: int = 10) -> None:
        self.progress = progress
        self.stage_ended = getattr(progress, "stage_ended", None)
        self.every = every
        self.offset = 0  # steps of the stages already finished
        self.last = 0  # the last step reported

    def __call__(self, step: int, loss: torch.Tensor, *, force: bool = False) -> None:
        if self.progress is None or (step % self.every and not force):
            return
        total = self.offset + step
        if total > self.last:
            self.last = total
            self.progress(total, float(loss.mean()))

    def wants(self, step: int) -> bool:
        """Whether :meth:`__call__` at ``step`` would report (so the loss is needed)."""
        return self.progress is not None and not step % self.every

    def done(self, step: int, loss: torch.Tensor, stage: str) -> None:
        """The stage ``stage`` (``"flip"``, ``"basin"``, ``"fine-tune"`` or
        ``"fixed-point"``) ended after ``step`` steps (of its batch's longest-running
        network: one network's own count): report it, and pass ``stage_ended(stage, step)``
        on; the next stage counts on."""
        self(step, loss, force=True)
        self.offset = max(self.last, self.offset + step)
        if self.stage_ended is not None:
            self.stage_ended(stage, step)


def reporter_of(path) -> StepReporter:
    """The path's reporter (a silent one when it has none)."""
    return getattr(path, "reporter", None) or StepReporter()


# ---------------------------------------------------------------------------------- drivers
def basin_stage(path, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, max_steps, *,
                decay: bool, straight_through: bool):
    """Projected optimisation of the basin objective with the path's written-out gradient:
    without ``decay`` each network stops on
    :func:`~xbarmem.learning.optimizer.window_converged` and leaves the batch (trimmed to the
    largest remaining pattern count); with ``decay`` the learning rate follows a cosine
    schedule to 0 over ``max_steps`` and every network runs them all.
    ``steps`` = updates, ``loss`` = the loss measured before the last update. With ``decay``
    the loss is computed only where it is used (the last step, and the steps the reporter
    reports); the path's ``basin_loss_grad(..., want_loss=False)`` returns None for it.
    With the path's ``quantiser`` the objective sees the parameters rounded to the chip's
    levels (:func:`~xbarmem.learning.quantise.seen`)."""
    opts = path.opts
    quant = getattr(path, "quantiser", None)
    t = x.shape[0]
    batch = Batch(params, converged=decay)
    a = params.clone()
    first, second = torch.zeros_like(a), torch.zeros_like(a)
    window_sum = torch.zeros(t, dtype=torch.float32)
    prev_window = torch.full((t,), float("inf"), dtype=torch.float32)
    late = late_weights(opts, unroll)
    step_count = fused_counter(opts)
    report = reporter_of(path)
    for step in range(1, max_steps + 1):
        rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps)) if decay else lr
        want = not decay or step == max_steps or report.wants(step)
        loss = basin_step(path, a, (first, second, step_count), lo, hi, x, valid, kind, gen,
                          noise, unroll, late, quant, straight_through, step, rate, want)
        batch.steps[batch.work] = step
        if loss is not None:
            batch.loss[batch.work] = loss
            report(step, loss)
        if decay:
            continue
        done = window_converged(opts, loss, step, window_sum, prev_window)
        if done.any():
            keep = batch.leave(done, a, converged=True)
            if not keep.any():
                report.done(step, loss, "fine-tune" if decay else "basin")
                return batch.result()
            quant = trimmed(quant, keep)
            (a, first, second, lo, hi, window_sum, prev_window), (x, valid) = trim(
                keep, valid, (a, first, second, lo, hi, window_sum, prev_window), (x, valid))
    report.done(max_steps, loss, "fine-tune" if decay else "basin")
    batch.out[batch.work] = a
    return batch.result()


def basin_step(path, a, moments, lo, hi, x, valid, kind, gen, noise, unroll, late, quant,
               straight_through, step, rate, want):
    """One step of :func:`basin_stage`, in place on ``a`` (T, N, N + 1) and the optimiser's
    ``moments`` (first, second, step count): the path's loss and gradient (the loss None
    unless ``want``), the optimiser update at learning rate ``rate`` (``step`` counts from 1),
    then the projection into ``[lo, hi]``. Returns the loss ((T,) or None). The stage looks
    this function up at every step, so a benchmark can put another implementation of the
    step in its place."""
    first, second, step_count = moments
    loss, grad = path.basin_loss_grad(seen(quant, a), x, valid, kind, gen, noise, unroll, late,
                                      straight_through, want_loss=want)
    optimizer_step(path.opts, a, grad, first, second, step, step_count, lr=rate)
    torch.clamp(a, lo, hi, out=a)
    return loss


def pinned_result(params: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor):
    """What training gives a batch whose every parameter is pinned (``lo == hi``: no free
    device, e.g. every device stuck), without a step: ``(params`` clamped into the intervals
    -- their pinned values, as every projected step leaves them --, ``steps`` 0, ``loss``
    NaN (none computed), ``converged`` True: there is nothing left to optimise)."""
    t = params.shape[0]
    return (torch.clamp(params, lo, hi), torch.zeros(t, dtype=torch.int64),
            torch.full((t,), float("nan"), dtype=torch.float32),
            torch.ones(t, dtype=torch.bool))


def two_stage(path, params, x, valid, lo, hi, kind, gen, noise):
    """The whole training of one batch: the fixed-point objective's stage, or the basin
    stage followed, for binary patterns, by ``finetune_steps`` of the straight-through sign
    fine-tune (cosine-decayed ``finetune_lr``, ``finetune_unroll`` updates). ``steps`` counts
    both stages; ``converged`` is the first stage's."""
    opts = path.opts
    if opts.objective == "fixed-point":
        return path.fixed_point_stage(params, x, valid, lo, hi, kind, gen, noise)
    params, steps, final_loss, converged = basin_stage(
        path, params, x, valid, lo, hi, kind, gen, noise, opts.unroll, opts.lr, opts.max_steps,
        decay=False, straight_through=False)
    if kind == "binary" and opts.finetune_steps > 0:
        params, more, final_loss, _ = basin_stage(
            path, params, x, valid, lo, hi, kind, gen, noise, opts.finetune_unroll,
            opts.finetune_lr, opts.finetune_steps, decay=True, straight_through=True)
        steps = steps + more
    return params, steps, final_loss, converged
