"""The networks of one stage's batch and what is computed once per batch.

:class:`Batch` (which networks still train, the results of those that left), :func:`trim` (the
tensors of the networks that stay), :func:`per_batch` (a value kept on a path while the batch's
tensors are the same) and :class:`BatchConstants` (masks, cue targets and loss scales of the
basin objective, :func:`batch_constants`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch


class Batch:
    """The networks of a stage: which still train (``work``: their original indices) and the
    results of those that left (``out`` parameters, ``steps``, ``loss``, ``converged``)."""

    def __init__(self, params: torch.Tensor, *, converged: bool = False) -> None:
        t = params.shape[0]
        self.out = params.clone()
        self.steps = torch.zeros(t, dtype=torch.int64)
        self.loss = torch.full((t,), float("nan"), dtype=torch.float32)
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
