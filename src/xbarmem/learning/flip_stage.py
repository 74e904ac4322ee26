"""The flip-averaged stage of one-layer binary training: the basin objective's one-step recall
term averaged over every cue in closed form, instead of over sampled cues.

A cue of pattern ``x`` ``(N,)`` flips each bit on its own with probability ``rho``
(``cue_flip``). Neuron ``i``'s field on that cue, ``h_i = sum_j w_ij c_j + b_i``, is a sum of
independent terms; the stage replaces its distribution by a normal one of the same mean and
variance:

* ``x_i`` times the mean: ``m_i = x_i ((1 - 2 rho) sum_j w_ij x_j + b_i)``;
* the variance: ``s_i^2 = 4 rho (1 - rho) sum_j w_ij^2`` plus, with ``noise_injection``, the
  chip's write error (std ``sigma_w`` per weight: ``sigma_w^2 N``) and read noise (std
  ``sigma_r |[c, 1]|``: ``sigma_r^2 (N + bias)``).

The probability that the first synchronous update sets bit ``i`` wrong is then ``Phi(-z)``,
``z = m_i / s_i``. The stage minimises the mean over the stored patterns' neurons of
``-log sigmoid(1.702 z)``, the logistic stand-in for ``-log Phi(z)`` (cheaper to compute, and
bounded in slope for bits no weights can save), with its gradient written out: two batched
products per step over the ``P`` patterns rather than the ``cue_copies * P`` sampled cues of
the basin stage. Adam at the rule's ``lr``, projection into the realisable intervals after every
step (narrowed to +-``flip_bound`` * w_max by the caller, ``SingleLayerFit``), a fixed number
of steps (``flip_steps``), nothing drawn at random; the sampled stages that follow refine the
result through the full recall dynamics.

At zero weights the spread ``s_i`` is 0 and the gradient is singular (``1 / s_i``, bounded
only by the 1e-12 added to the variance), many orders of magnitude above its size anywhere
else; Adam's second-moment estimate keeps that first step's size, so from a zero start the
stage moves in the direction of its first gradient and then barely at all, far from its
minimum. From a start with non-zero rows (``warm_start``) it reaches it.
"""

from __future__ import annotations

from typing import cast

import torch

from xbarmem.learning.noise import write_std
from xbarmem.learning.optimizer import fused_counter, optimizer_step
from xbarmem.learning.quantise import Quantiser, seen

#: ``sigmoid(1.702 z)`` is within 0.01 of the normal ``Phi(z)`` for every ``z``
_LOGISTIC = 1.702


def flip_loss_grad(a: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, rho: float,
                   extra_var: torch.Tensor | float, bias: bool, want_loss: bool = True
                   ) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The flip-averaged loss and its gradient.

    Args:
        a: ``(T, N, N + bias)`` parameters ``[W | b]`` (weight units).
        x: ``(T, P, N)`` stored +-1 patterns.
        weight: ``(T, P, 1)`` each row's weight in the loss: ``1 / (N * real rows)`` on real
            rows, 0 on padding rows (``row_weights(valid) / N``).
        rho: the cue flip rate, ``0 <= rho <= 0.5``.
        extra_var: the noise variance added to every field (a number, or ``(T, 1, 1)``).
        bias: whether ``a`` holds a bias column.
        want_loss: compute the loss (else None is returned for it).

    Returns:
        ``(loss (T,), grad (T, N, N + bias))``: the weighted sum over rows and neurons of
        ``-log sigmoid(1.702 z)`` and its gradient with respect to ``a``.
    """
    n = x.shape[2]
    w = a[:, :, :n]
    spread = 4.0 * rho * (1.0 - rho)
    mean = torch.bmm(x, w.transpose(1, 2)).mul_(1.0 - 2.0 * rho)  # (T, P, N)
    if bias:
        mean += a[:, None, :, n]
    mean *= x
    var = (w * w).sum(dim=2, keepdim=True).transpose(1, 2).mul_(spread).add_(extra_var + 1e-12)
    std = var.sqrt()  # (T, 1, N)
    z = mean.div_(std)
    loss = (torch.nn.functional.softplus(z * -_LOGISTIC) * weight).sum(dim=(1, 2)) \
        if want_loss else None
    slope = torch.sigmoid(z * -_LOGISTIC).mul_(weight * -_LOGISTIC)  # d loss / d z
    signed = (slope / std).mul_(x)  # d loss / d m, times x
    grad_w = torch.bmm(signed.transpose(1, 2), x).mul_(1.0 - 2.0 * rho)
    shrink = (slope * z).sum(dim=1, keepdim=True).mul_(spread).div_(var)  # (T, 1, N)
    grad_w -= shrink.transpose(1, 2) * w
    if not bias:
        return loss, grad_w
    return loss, torch.cat([grad_w, signed.sum(dim=1)[:, :, None]], dim=2)


def row_weights(valid: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(T, P, 1)``: ``1 / (real rows)`` on the real rows of ``valid`` ``(T, P)`` (bool), 0 on
    padding rows."""
    count = valid.sum(dim=1).clamp_min(1).to(dtype)
    return (valid.to(dtype) / count[:, None])[:, :, None]


def flip_stage(opts, params: torch.Tensor, x: torch.Tensor, valid: torch.Tensor,
               lo: torch.Tensor, hi: torch.Tensor, noise: tuple[float, float],
               report, quantiser: Quantiser | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``opts.flip_steps`` projected Adam steps on :func:`flip_loss_grad` from ``params``
    ``(T, N, cols)``, kept inside ``[lo, hi]``. ``noise``: the chip's (write, read) noise in
    weight units, used as given (zeros without ``noise_injection``). ``report`` is the
    path's :class:`~xbarmem.learning.stages.StepReporter`; with a ``quantiser`` the loss
    sees the parameters rounded to the chip's levels (straight-through). Returns
    ``(params, loss (T,) before the last step)``."""
    n = x.shape[2]
    a = params.clone()
    first, second = torch.zeros_like(a), torch.zeros_like(a)
    step_count = fused_counter(opts)
    weight = row_weights(valid) / n
    read = noise[1] ** 2 * (n + int(opts.bias))
    last = opts.flip_steps
    for step in range(1, last + 1):
        q = seen(quantiser, a)
        write = write_std(opts, q[:, :, :n], noise[0])
        extra = read if write is None else read + write ** 2 * n
        loss, grad = flip_loss_grad(q, x, weight, opts.cue_flip, extra, opts.bias,
                                    want_loss=step == last or report.wants(step))
        optimizer_step(opts, a, grad, first, second, step, step_count)
        torch.clamp(a, lo, hi, out=a)
        if loss is not None:
            report(step, loss)
    return a, cast(torch.Tensor, loss)  # the last step always computes the loss
