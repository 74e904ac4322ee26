"""The optimiser update and the stopping criteria of the hardware-adaptive rule's stages.

Every function takes the trainer's resolved options ``opts``
(:class:`~xbarmem.learning.adaptive.AdaptiveTrainer`) and tensors batched over ``T`` networks:
:func:`optimizer_step` (torch's fused Adam kernel, or the arithmetic of ``torch.optim.Adam`` /
``torch.optim.RMSprop``), :func:`window_converged` and :func:`stable_check`.
"""

from __future__ import annotations

import math

import torch

_ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
_RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop's default
_OPT_EPS = 1e-8  # both optimisers' default eps


def fused_counter(opts) -> torch.Tensor | None:
    """The step counter of torch's fused Adam kernel (a float tensor), or None where the
    update is written out (RMSprop, or a torch without the kernel)."""
    fused = opts.optimizer == "adam" and hasattr(torch, "_fused_adam_")
    return torch.zeros((), dtype=torch.float32) if fused else None


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
