"""The terms of the basin objective and its written-out gradient, and training's activation.

:func:`tanh` (training's activation), :func:`late_weights` (the weights of the unrolled
updates), :func:`fixed_term` (the fixed-point term), :func:`unrolled_outputs` (one unrolled
recall step), :func:`basin_loss` and :func:`unrolled_backward` (backpropagation through the
unrolled updates). A path (:class:`~xbarmem.learning.single_fit.SingleLayerFit`,
:class:`~xbarmem.learning.multilayer_fit.MultilayerFit`) composes them into its
``basin_loss_grad``.
"""

from __future__ import annotations

import torch

from xbarmem.learning.batch import BatchConstants

# the constant term of 2 sigmoid(2 x) - 1, as one fused pass
_MINUS_ONE = torch.tensor(-1.0, dtype=torch.float32)


def tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``tanh(x)`` as ``2 sigmoid(2 x) - 1`` (into ``out`` when given; ``out`` may be ``x``).

    Training's activation: it agrees with ``torch.tanh`` to within about 2e-7 (absolute) and
    costs a fraction of it on CPU builds whose ``tanh`` kernel is slow (measured by
    ``python -m benchmarks.elementwise``). Recall keeps ``torch.tanh``."""
    out = torch.mul(x, 2.0, out=out) if out is not None else x * 2.0
    torch.sigmoid(out, out=out)
    return torch.add(_MINUS_ONE, out, alpha=2.0, out=out)  # 2 s exact, one rounding: as 2 s - 1


def late_weights(opts, unroll: int) -> torch.Tensor:
    """``(unroll,)`` weights of the unrolled updates, ``(k + 1) ** late_weight``, summing
    to 1."""
    late = torch.arange(1, unroll + 1, dtype=torch.float32) ** opts.late_weight
    return late / late.sum()


def fixed_term(y: torch.Tensor, x: torch.Tensor, consts: BatchConstants):
    """The fixed-point term of the basin loss from the output ``y = tanh(field)``
    ``(T, P, N)`` of the stored patterns ``x`` (``consts``:
    :func:`~xbarmem.learning.batch.batch_constants`): ``(loss (T,), d loss / d field)``; the
    error tensor is reused in place."""
    err = y - x
    if consts.padded:
        err *= consts.mask
    loss = err.pow(2).sum(dim=(1, 2)) / consts.fixed_scale
    slope0 = err.mul_(1 - y * y).mul_(consts.fixed_slope)
    return loss, slope0


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
