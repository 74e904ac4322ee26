"""Training through a chip's conductance levels: the straight-through quantiser of a stage.

On a chip with ``levels`` programmable conductances a weight holds only the values of its
:class:`~xbarmem.hardware.levels.WeightGrid`. With the rule's ``quantize`` option the stages
compute the objective (its forward pass and written-out gradient) on the parameters rounded
to that grid, :meth:`Quantiser.__call__`, and apply the gradient to the unrounded parameters
(a straight-through estimator), which stay in their intervals as before. Stages ask
:func:`seen` for what the objective sees: the parameters themselves without a quantiser.
"""

from __future__ import annotations

import torch

from xbarmem.hardware.levels import WeightGrid


class Quantiser:
    """Rounds a path's parameters to their grids.

    Args:
        grids: per layer, the grids of the batch's networks (:class:`WeightGrid`, stacked).
        layout: the multilayer path's ``[(n_out, n_in, slice of the flat vector)]`` (the
            parameters are ``(T, D)``), or None for one layer (parameters of the grid's shape).

    The rounded parameters are written into one buffer per quantiser (the same tensor on
    every call of a batch, so what a path computes once per batch from it stays valid).
    """

    def __init__(self, grids: list[WeightGrid], layout: list | None = None) -> None:
        self.grids, self.layout = grids, layout
        self.out: torch.Tensor | None = None

    def __getitem__(self, index: torch.Tensor) -> Quantiser:
        """The quantiser of the networks ``index`` (indices or a mask)."""
        return Quantiser([g[index] for g in self.grids], self.layout)

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        """``a`` rounded to the grids (into this quantiser's buffer)."""
        if self.out is None or self.out.shape != a.shape:
            self.out = torch.empty_like(a)
        if self.layout is None:
            return self.grids[0].quantise(a, out=self.out)
        t = a.shape[0]
        for grid, (n_out, _, sl) in zip(self.grids, self.layout, strict=True):
            part = self.out[:, sl].view(t, n_out, -1)
            part.copy_(grid.quantise(a[:, sl].view(t, n_out, -1)))
        return self.out


def seen(quantiser: Quantiser | None, a: torch.Tensor) -> torch.Tensor:
    """What a stage's objective sees of the parameters ``a``: ``a`` itself, or with a
    ``quantiser`` its rounded copy (the update still goes to ``a``: straight-through)."""
    return a if quantiser is None else quantiser(a)


def trimmed(quantiser: Quantiser | None, keep: torch.Tensor) -> Quantiser | None:
    """The quantiser of the networks ``keep`` of a batch (None stays None)."""
    return None if quantiser is None else quantiser[keep]
