"""The weights a crossbar with ``levels`` programmable conductances can hold after programming.

:meth:`~xbarmem.hardware.crossbar.Crossbar.program` maps a weight ``w`` of ``A = [W | b]`` to
conductances with ``c = w_max / (g_max - g_min)`` (``w_max``: the chip's ``weight_range``
under the ``device`` fault model; under ``weight``, the largest ``|A|`` of the free pairs) and
rounds every free device to one of ``levels`` conductances ``g_min + k * step``,
``step = (g_max - g_min) / (levels - 1)``. Without write error the weight it holds is on a grid
of spacing ``D = step * c = w_max / (levels - 1)``:

* both devices free: ``k * D``, ``k`` in ``-(levels - 1) .. levels - 1``;
* G+ stuck at ``s``: ``(s - g_min) c - k D``; G- stuck at ``s``: ``k D - (s - g_min) c``
  (``k`` in ``0 .. levels - 1``);
* both stuck: ``(s+ - s-) c``, whatever is asked.

So every weight is ``offset + k * D`` within its realisable interval ``[lo, hi]``
(:meth:`~xbarmem.hardware.crossbar.Crossbar.bounds`), and :meth:`WeightGrid.quantise` rounds a
weight to the nearest such value, as programming does (halves to even, as ``numpy.round``).
A grid describes one crossbar or, stacked (:meth:`WeightGrid.stack`), ``T`` of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from xbarmem.checks import value_equality
from xbarmem.errors import ConfigError


@value_equality
@dataclass(frozen=True)
class WeightGrid:
    """The weights programming can give each weight of ``[W | b]``: ``offset + k * D`` within
    ``[lo, hi]``.

    Attributes:
        offset: ``(..., n_out, n_in + bias)`` float32, the grid's offset of each weight.
        lo: ``(..., n_out, n_in + bias)`` float32, the realisable interval's lower end.
        hi: the same, its upper end (``lo == hi``: a pinned weight).
        step: ``(...)`` float32, ``D`` in weight units where it is fixed (the ``device`` fault
            model), else 0.
        relative: ``(...)`` float32, ``1 / (levels - 1)`` under the ``weight`` fault model (``D``
            is that times the largest ``|A|``, as ``w_max`` follows the weights), else 0.

    Where both ``step`` and ``relative`` are 0 (a continuous chip) weights are not rounded.
    """

    offset: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor
    step: torch.Tensor
    relative: torch.Tensor

    @staticmethod
    def stack(grids: Sequence[WeightGrid | None],
              bounds: tuple[torch.Tensor, torch.Tensor]) -> WeightGrid:
        """The ``grids`` of ``T`` crossbars of one shape as one; None among them stands for a
        continuous chip's crossbar, whose realisable intervals are in ``bounds`` ``(lo, hi)``,
        each ``(T, n_out, n_in + bias)``. :class:`ConfigError` unless one grid per network."""
        lo, hi = bounds
        if len(grids) != lo.shape[0]:
            raise ConfigError(f"need one grid per network: got {len(grids)} for "
                              f"{lo.shape[0]} networks")
        zero = torch.zeros((), dtype=torch.float32)
        return WeightGrid(
            offset=torch.stack([torch.zeros_like(lo[t]) if g is None else g.offset
                                for t, g in enumerate(grids)]),
            lo=torch.stack([lo[t] if g is None else g.lo for t, g in enumerate(grids)]),
            hi=torch.stack([hi[t] if g is None else g.hi for t, g in enumerate(grids)]),
            step=torch.stack([zero if g is None else g.step for g in grids]),
            relative=torch.stack([zero if g is None else g.relative for g in grids]))

    def __getitem__(self, index: torch.Tensor) -> WeightGrid:
        """The grid of the networks ``index`` (indices or a mask over the first dimension)."""
        return WeightGrid(self.offset[index], self.lo[index], self.hi[index], self.step[index],
                          self.relative[index])

    def scaled(self, factor: float) -> WeightGrid:
        """The grid of the weights times ``factor`` (a number > 0)."""
        return WeightGrid(self.offset * factor, self.lo * factor, self.hi * factor,
                          self.step * factor, self.relative)

    def levels_within(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(bottom, top)`` of the grid's shape: the lowest and highest ``offset + k * D`` in
        ``[-c, c]`` (``c`` ``>= 0``, broadcast against ``(..., 1, 1)``; a level within
        ``1e-4 D`` of ``c`` counts as inside, against rounding), where ``D`` is fixed; where it
        is not (continuous chips, the ``weight`` fault model, whose ``D`` follows the largest
        ``|A|`` so that its top level is that weight) ``-c`` and ``c``. Where no level lies
        in the box, ``bottom > top``."""
        shape = self.step.shape + (1,) * (self.offset.ndim - self.step.ndim)
        step = self.step.reshape(shape)
        c = torch.as_tensor(c, dtype=self.offset.dtype).expand_as(self.offset)
        safe = torch.where(step > 0, step, 1.0)
        top = torch.floor((c - self.offset) / safe + 1e-4) * safe + self.offset
        bottom = torch.ceil((-c - self.offset) / safe - 1e-4) * safe + self.offset
        fixed = (step > 0).expand_as(self.offset)
        return torch.where(fixed, bottom, -c), torch.where(fixed, top, c)

    def quantise(self, a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The weights programming gives for ``a`` (the grid's shape; written into ``out``
        when given): each rounded to the nearest ``offset + k * D`` and kept within
        ``[lo, hi]``; weights of a continuous chip unchanged."""
        shape = self.step.shape + (1,) * (a.ndim - self.step.ndim)
        step = self.step.reshape(shape)
        inside = torch.clamp(a, self.lo, self.hi)  # as programming: the interval first
        if bool(self.relative.any()):  # weight model: w_max, the largest free |A| (1 if 0)
            peak = inside.detach().abs().amax(dim=tuple(range(self.step.ndim, a.ndim)),
                                              keepdim=True)
            step = step + self.relative.reshape(shape) * torch.where(peak > 0, peak, 1.0)
        safe = torch.where(step > 0, step, 1.0)
        q = torch.round((inside - self.offset) / safe).mul_(safe).add_(self.offset)
        q = torch.clamp(q, self.lo, self.hi, out=q)
        if out is None:
            return torch.where(step > 0, q, a)
        return torch.where(step > 0, q, a, out=out)
