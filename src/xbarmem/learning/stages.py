"""Training machinery shared by the single-layer and multilayer hardware-adaptive paths.

Every function takes the trainer's resolved options ``opts``
(:class:`~xbarmem.learning.adaptive.AdaptiveTrainer`) and tensors batched over ``T`` networks.
A *path* (:class:`~xbarmem.learning.single_fit.SingleLayerFit`,
:class:`~xbarmem.learning.multilayer_fit.MultilayerFit`) supplies the objective-specific pieces:
``fixed_point_stage(params, x, valid, lo, hi, kind, gen, noise)`` and
``basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late, straight_through,
want_loss)``;
:func:`two_stage` and :func:`basin_stage` drive them. Stages return
``(params, steps (T,), loss (T,), converged (T,))``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch

_ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
_RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop's default
_OPT_EPS = 1e-8  # both optimisers' default eps


# ---------------------------------------------------------------------------------- arithmetic
_MINUS_ONE = torch.tensor(-1.0)  # the constant term of 2 sigmoid(2 x) - 1, as one fused pass
def tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``tanh(x)`` as ``2 sigmoid(2 x) - 1`` (into ``out`` when given; ``out`` may be ``x``).

    Training's activation: it agrees with ``torch.tanh`` to within about 2e-7 (absolute) and
    costs a fraction of it on CPU builds whose ``tanh`` kernel is slow (measured by
    ``python -m benchmarks.elementwise``). Recall keeps ``torch.tanh``."""
    out = torch.mul(x, 2.0, out=out) if out is not None else x * 2.0
    torch.sigmoid(out, out=out)
    return torch.add(_MINUS_ONE, out, alpha=2.0, out=out)  # 2 s exact, one rounding: as 2 s - 1


# ---------------------------------------------------------------------------------- optimiser
def fused_counter(opts) -> torch.Tensor | None:
    """The step counter of torch's fused Adam kernel (a float tensor), or None where the
    update is written out (RMSprop, or a torch without the kernel)."""
    return torch.zeros(()) if opts.optimizer == "adam" and hasattr(torch, "_fused_adam_") \
        else None


def optimizer_step(opts, a, grad, first, second, step: int, step_count, *,
                   lr: float | None = None) -> None:
    """One optimiser update of ``a`` in place with learning rate ``lr`` (default ``opts.lr``):
    torch's fused Adam kernel when ``step_count`` (from :func:`fused_counter`, incremented
    here) is given, else the arithmetic of ``torch.optim.Adam`` / ``torch.optim.RMSprop``
    (default betas / alpha, eps 1e-8). ``first`` / ``second``: the moment buffers (RMSprop:
    ``second`` is the square average)."""
    lr = opts.lr if lr is None else lr
    if opts.optimizer == "adam" and step_count is not None:
        step_count += 1
        torch._fused_adam_([a], [grad], [first], [second], [], [step_count], lr=lr,
                           beta1=_ADAM_BETAS[0], beta2=_ADAM_BETAS[1], weight_decay=0.0,
                           eps=_OPT_EPS, amsgrad=False, maximize=False)
    elif opts.optimizer == "adam":
        beta1, beta2 = _ADAM_BETAS
        first.lerp_(grad, 1 - beta1)
        second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (second.sqrt() / math.sqrt(1 - beta2 ** step)).add_(_OPT_EPS)
        a.addcdiv_(first, denom, value=-lr / (1 - beta1 ** step))
    else:
        second.mul_(_RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - _RMSPROP_ALPHA)
        a.addcdiv_(grad, second.sqrt().add_(_OPT_EPS), value=-lr)


def window_converged(opts, loss, step, window_sum, prev_window) -> torch.Tensor:
    """``(T,)`` bool, the stopping criterion of a stage without decay: the fixed-point
    objective's ``loss < tol``, or the basin objective's smoothed loss improving by less than
    ``rel_tol`` between two windows of ``window`` steps (``window_sum``, ``prev_window``:
    ``(T,)`` running state, updated in place)."""
    if opts.objective == "fixed-point":
        return loss < opts.tol
    window_sum += loss
    if step % opts.window:
        return torch.zeros_like(loss, dtype=torch.bool)
    mean = window_sum / opts.window
    first = torch.isinf(prev_window)
    improved = first | ((prev_window - mean) > opts.rel_tol * prev_window)
    prev_window.copy_(mean)
    window_sum.zero_()
    return ~improved


# ---------------------------------------------------------------------------------- progress
class StepReporter:
    """Passes training progress to a callback ``progress(step, loss)`` (or does nothing
    without one): ``step`` counts optimiser steps over every stage and group of a run, so it
    only increases; ``loss`` is the mean loss (a float) of the networks still training.
    Reports every ``every`` steps and at the end of each stage (:meth:`done`). Reading the
    loss does not change any computed value."""

    def __init__(self, progress=None, every: int = 10) -> None:
        self.progress = progress
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

    def done(self, step: int, loss: torch.Tensor) -> None:
        """The stage ended after ``step`` steps: report it; the next stage counts on."""
        self(step, loss, force=True)
        self.offset = max(self.last, self.offset + step)


def reporter_of(path) -> StepReporter:
    """The path's reporter (a silent one when it has none)."""
    return getattr(path, "reporter", None) or StepReporter()


# ---------------------------------------------------------------------------------- the batch
class Batch:
    """The networks of a stage: which still train (``work``: their original indices) and the
    results of those that left (``out`` parameters, ``steps``, ``loss``, ``converged``)."""

    def __init__(self, params: torch.Tensor, *, converged: bool = False) -> None:
        t = params.shape[0]
        self.out = params.clone()
        self.steps = torch.zeros(t, dtype=torch.int64)
        self.loss = torch.full((t,), float("nan"))
        self.converged = torch.full((t,), converged, dtype=torch.bool)
        self.work = torch.arange(t)

    def leave(self, finished: torch.Tensor, a: torch.Tensor, **results: Any) -> torch.Tensor:
        """Networks ``finished`` (bool over the current batch) leave with parameters ``a``
        and ``results`` (``steps``, ``loss``, ``converged``: a value for all, or a tensor over
        the batch). Returns the mask of the networks that stay."""
        gone = self.work[finished]
        self.out[gone] = a[finished]
        for name, value in results.items():
            getattr(self, name)[gone] = value[finished] if torch.is_tensor(value) else value
        keep = ~finished
        self.work = self.work[keep]
        return keep

    def result(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.out, self.steps, self.loss, self.converged


def trim(keep: torch.Tensor, valid: torch.Tensor, nets=(), rows=()) -> tuple[list, list]:
    """The tensors of the networks that stay: ``nets`` (per network) indexed by ``keep``,
    ``rows`` (per network and pattern row) also cut to the largest remaining pattern count
    of ``valid`` ``(T, P)``."""
    count = int(valid[keep].sum(dim=1).max())
    return [v[keep] for v in nets], [v[keep, :count] for v in rows]


# ---------------------------------------------------------------------------------- objective
def late_weights(opts, unroll: int) -> torch.Tensor:
    """``(unroll,)`` weights of the unrolled updates, ``(k + 1) ** late_weight``, summing
    to 1."""
    late = torch.arange(1, unroll + 1, dtype=torch.float32) ** opts.late_weight
    return late / late.sum()


class BatchConstants(NamedTuple):
    """What every basin-objective step of one batch (patterns ``x`` ``(T, P, N)``, padding
    mask ``valid`` ``(T, P)``, ``copies`` cues per pattern) uses unchanged: ``padded`` (some
    network has padding rows), ``mask`` ``(T, P, 1)``, the cue targets ``target``
    ``(T, copies * P, N)`` and their mask, ``fixed_scale`` ``N * count`` and ``cue_scale``
    ``N * copies * count`` (``(T,)``, the losses' divisors; ``count``: stored patterns per
    network) and the slope factors ``fixed_slope`` ``2 / fixed_scale`` and ``cue_slope``
    ``2 / cue_scale`` (``(T, 1, 1)``)."""

    padded: bool
    mask: torch.Tensor
    target: torch.Tensor
    target_mask: torch.Tensor
    fixed_scale: torch.Tensor
    cue_scale: torch.Tensor
    fixed_slope: torch.Tensor
    cue_slope: torch.Tensor


def per_batch(path, name: str, tensors: tuple[torch.Tensor, ...], key: tuple, make):
    """``make()``, kept on ``path`` under ``name`` and returned again while ``tensors`` are the
    same objects and ``key`` is equal: once per batch (networks leaving a batch give it new
    tensors; a stage never changes its batch's tensors in place)."""
    memo = getattr(path, name, None)
    if (memo is not None and len(memo[0]) == len(tensors)
            and all(a is b for a, b in zip(memo[0], tensors, strict=True)) and memo[1] == key):
        return memo[2]
    out = make()
    setattr(path, name, (tensors, key, out))
    return out


def batch_constants(path, x: torch.Tensor, valid: torch.Tensor, copies: int) -> BatchConstants:
    """:class:`BatchConstants` of the batch ``(x, valid, copies)``, computed once per batch
    (:func:`per_batch`)."""
    def make() -> BatchConstants:
        n = x.shape[2]
        count = valid.sum(dim=1)
        mask = valid[:, :, None]
        fixed_scale, cue_scale = n * count, n * copies * count
        return BatchConstants(padded=bool((count < x.shape[1]).any()), mask=mask,
                              target=x.repeat(1, copies, 1),
                              target_mask=mask.repeat(1, copies, 1), fixed_scale=fixed_scale,
                              cue_scale=cue_scale,
                              fixed_slope=(2.0 / fixed_scale)[:, None, None],
                              cue_slope=2.0 / cue_scale[:, None, None])

    return per_batch(path, "_batch_constants", (x, valid), (copies,), make)


def training_cues(opts, consts: BatchConstants, kind: str,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The basin objective's corrupted training cues of a batch of patterns ``(T, P, N)``:
    the targets ``(T, copies * P, N)`` and their padding mask (from ``consts``,
    :func:`batch_constants`), and the cues (binary: ``cue_flip`` bit flips; continuous:
    Gaussian ``cue_noise``, clipped to [-1, 1]) drawn from ``gen``."""
    target, mask = consts.target, consts.target_mask
    if kind == "binary":
        return target, mask, target * flip_signs(target.shape, opts.cue_flip, gen)
    noisy = target + opts.cue_noise * torch.randn(target.shape, generator=gen)
    return target, mask, noisy.clamp(-1, 1)


def flip_signs(shape: tuple[int, ...], rate: float, gen: torch.Generator) -> torch.Tensor:
    """A tensor of ``shape`` holding 1, and -1 where a bit flips: every bit flips on its own
    with probability ``rate`` (0 <= rate <= 1). The flips are drawn as the positions of a
    Bernoulli process, geometric gaps from ``gen``, so about ``rate * numel`` draws are made
    instead of one per bit."""
    total = math.prod(shape)
    signs = torch.ones(total)
    if rate <= 0 or total == 0:
        return signs.view(shape)
    if rate >= 1:
        return signs.neg_().view(shape)
    expected = total * rate
    chunk = int(expected + 4 * math.sqrt(expected) + 16)  # usually one draw suffices
    parts, last = [], -1  # last: position of the last flip drawn
    while last < total - 1:
        gaps = torch.empty(chunk, dtype=torch.float64).geometric_(rate, generator=gen)
        positions = torch.cumsum(gaps, 0).to(torch.int64) + last
        parts.append(positions)
        last = int(positions[-1])
    positions = parts[0] if len(parts) == 1 else torch.cat(parts)
    inside = int(torch.searchsorted(positions, total))  # positions are increasing
    signs.index_fill_(0, positions[:inside], -1.0)
    return signs.view(shape)


def fixed_term(y: torch.Tensor, x: torch.Tensor, consts: BatchConstants):
    """The fixed-point term of the basin loss from the output ``y = tanh(field)``
    ``(T, P, N)`` of the stored patterns ``x`` (``consts``: :func:`batch_constants`):
    ``(loss (T,), d loss / d field)``; the error tensor is reused in place."""
    err = y - x
    if consts.padded:
        err *= consts.mask
    loss = err.pow(2).sum(dim=(1, 2)) / consts.fixed_scale
    slope0 = err.mul_(1 - y * y).mul_(consts.fixed_slope)
    return loss, slope0


def with_write_noise(a: torch.Tensor, n_in: int, weight_noise: float | torch.Tensor,
                     gen: torch.Generator | None) -> torch.Tensor:
    """A copy of ``[W | b]`` ``a`` ``(T, n_out, n_in + bias)`` with Gaussian write error of std
    ``weight_noise`` (a number, or ``(T, 1, 1)`` per network; drawn from ``gen``) added to
    ``W`` (the bias keeps its value)."""
    a = a.clone()
    a[:, :, :n_in] += weight_noise * torch.randn((a.shape[0], a.shape[1], n_in), generator=gen)
    return a


def write_std(opts, w: torch.Tensor, absolute: float) -> torch.Tensor | float | None:
    """The std of the write error a training forward pass adds to the weights ``w``
    ``(T, n_out, n_in)``: the chip's ``absolute`` write error (weight units) and, with the
    ``variation`` option, ``variation * max|W|`` per network, combined in quadrature
    (``(T, 1, 1)``). None when there is no write error."""
    if opts.variation <= 0:
        return absolute if absolute > 0 else None
    peak = w.detach().abs().amax(dim=(1, 2), keepdim=True)
    return (absolute ** 2 + (opts.variation * peak) ** 2).sqrt()


def read_noise_term(z: torch.Tensor, h: torch.Tensor, read_noise: float, bias: bool,
                    gen: torch.Generator | None) -> torch.Tensor:
    """Add a layer's read noise to its field ``z`` ``(T, B, n_out)`` in place, for inputs ``h``
    ``(T, B, n_in)`` (a bias row adds 1 to the input norm): std ``read_noise * |[h, 1]|``.
    Returns ``read_noise * draw / norm``, whose product with ``h`` is ``d z / d h`` of the
    noise term."""
    norm = (h.pow(2).sum(-1, keepdim=True) + float(bias)).sqrt()
    draw = torch.randn(z.shape, generator=gen)
    z += read_noise * norm * draw
    return read_noise * draw / norm


def unrolled_outputs(h: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, *,
                     straight_through: bool, tau: float, logistic: bool,
                     squares: list[torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor,
                                                                  torch.Tensor]:
    """One unrolled recall step of the basin objective's written-out gradient, after the
    pre-activation ``h`` ``(T, B, N)`` (overwritten with ``tanh(h)``).

    Returns ``(next_state, slope_of, err)``: the next state (sign with the straight-through
    fine-tune, else tanh), the tensor whose ``1 - x^2`` is the step's surrogate slope
    (``tanh(h / tau)`` when the fine-tune temperature differs from 1, else ``tanh(h)``), and the
    output error (``tanh(h) - target`` for the logistic loss, else ``next_state - target``;
    zeroed where ``mask`` is 0). The step's per-network loss (sum of squared errors, or of
    ``softplus(-2 target h)`` for the logistic loss) is appended to ``squares`` unless it is
    None (the loss is not needed; the gradient does not use it).
    """
    if logistic and squares is not None:  # softplus(-2 x h) per neuron; gradient tanh(h) - x
        term = torch.nn.functional.softplus(-2.0 * target * h)
        if mask is not None:
            term *= mask
        squares.append(term.sum(dim=(1, 2)))
    surrogate = tanh(h / tau) if straight_through and tau != 1.0 else None
    sign = torch.sign(h) if straight_through else None  # taken before h is overwritten
    soft = tanh(h, out=h)
    nxt = soft if sign is None else sign
    err = (soft if logistic else nxt) - target
    if mask is not None:
        err *= mask
    if not logistic and squares is not None:
        squares.append(err.pow(2).sum(dim=(1, 2)))
    return nxt, (soft if surrogate is None else surrogate), err


def basin_loss(fixed: torch.Tensor, squares: list[torch.Tensor] | None, late: torch.Tensor,
               scale: torch.Tensor) -> torch.Tensor | None:
    """``(T,)`` the basin loss: the fixed-point term plus the recall terms ``squares`` (one
    ``(T,)`` sum per unrolled update, :func:`unrolled_outputs`) weighted by ``late`` and divided
    by ``scale`` ``(T,)``; None when the recall terms were not computed (``squares`` None)."""
    if squares is None:
        return None
    return fixed + (torch.stack(squares, dim=1) @ late) / scale


def unrolled_backward(tape: list, scale: torch.Tensor, late: torch.Tensor, logistic: bool,
                      slope_out, damp, back) -> None:
    """Backpropagate the unrolled recall terms, last update first. ``tape[k]`` is update
    ``k``'s ``(slope_of, saved, err)`` (:func:`unrolled_outputs`; ``saved``: what ``back``
    needs); ``scale`` ``(T, 1, 1)`` the loss scale of a squared error; ``late`` the update
    weights. The path supplies ``slope_out(k)`` (the buffer of update ``k``'s field slope),
    ``damp(g, soft, out)`` (writes ``g * (1 - soft^2)`` into ``out``) and
    ``back(k, slope, saved)`` (``d loss / d state_k``, None for ``k = 0``)."""
    coef = late.tolist()
    if logistic:
        scale = scale / 2.0  # d softplus(-2 x h) / d h = tanh(h) - x, no factor 2
    grad_state = None  # d loss / d state_{k+1}
    for k in range(len(tape) - 1, -1, -1):
        soft, saved, err = tape[k]
        direct = err.mul_(scale * coef[k])
        slope = slope_out(k)
        if logistic:  # the direct term acts on the field, not through the state
            if grad_state is None:
                slope.copy_(direct)
            else:
                damp(grad_state, soft, slope)
                slope += direct
        else:
            grad_state = direct if grad_state is None else grad_state.add_(direct)
            damp(grad_state, soft, slope)
        grad_state = back(k, slope, saved)


# ---------------------------------------------------------------------------------- drivers
def basin_stage(path, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, max_steps, *,
                decay: bool, straight_through: bool):
    """Projected optimisation of the basin objective with the path's written-out gradient:
    without ``decay`` each network stops on :func:`window_converged` and leaves the batch
    (trimmed to the largest remaining pattern count); with ``decay`` the learning rate
    follows a cosine schedule to 0 over ``max_steps`` and every network runs them all.
    ``steps`` = updates, ``loss`` = the loss measured before the last update. With ``decay``
    the loss is computed only where it is used (the last step, and the steps the reporter
    reports); the path's ``basin_loss_grad(..., want_loss=False)`` returns None for it."""
    opts = path.opts
    t = x.shape[0]
    batch = Batch(params, converged=decay)
    a = params.clone()
    first, second = torch.zeros_like(a), torch.zeros_like(a)
    window_sum = torch.zeros(t)
    prev_window = torch.full((t,), float("inf"))
    late = late_weights(opts, unroll)
    step_count = fused_counter(opts)
    report = reporter_of(path)
    for step in range(1, max_steps + 1):
        rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps)) if decay else lr
        want = not decay or step == max_steps or report.wants(step)
        loss, grad = path.basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late,
                                          straight_through, want_loss=want)
        optimizer_step(opts, a, grad, first, second, step, step_count, lr=rate)
        torch.clamp(a, lo, hi, out=a)
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
                report.done(step, loss)
                return batch.result()
            (a, first, second, lo, hi, window_sum, prev_window), (x, valid) = trim(
                keep, valid, (a, first, second, lo, hi, window_sum, prev_window), (x, valid))
    report.done(max_steps, loss)
    batch.out[batch.work] = a
    return batch.result()


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


def stable_check(opts, finished: torch.Tensor, done: int, reference, state, change):
    """``stop="stable"``: at every check after step 0, ``finished`` (in place) also takes the
    networks whose solution moved by less than ``stable_tol`` since the previous check.
    ``state()`` is the compared solution, ``change(current, reference)`` ``(T,)`` its change.
    Returns the new reference."""
    if opts.stop != "stable" or not done:
        return reference
    current = state()
    if reference is not None:
        finished |= change(current, reference) < opts.stable_tol
    return current
