"""A second-order start for the one-layer default, for ``benchmarks.levers`` (``second-order``).

Each row of ``[W | b]`` under a one-step objective is an independent problem over ``N + 1``
weights, small enough for Newton's method: :func:`second_order_start` fits every row at once
as an L2-regularised logistic regression of the stored bit on fixed corrupted cues (``copies``
cues per pattern, each bit flipped with probability ``rate``, drawn once from a generator of
their own), the pinned weights' field included as an offset, by ``iterations`` batched Newton
steps (one ``(N + 1) x (N + 1)`` solve per row and step), then clipped to the chip's range like
the closed-form warm start. :func:`study_second_order` measures it as the start of the default
recipe's sampled stages (replacing the flip-averaged stage), of the fast recipe's, and alone,
on the tuning split against the default in the same run; the start counts as training time.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import torch

import xbarmem.learning.single_fit as single_fit

from .training_levers import Side, against_default, rows_by_case


def second_order_start(x: torch.Tensor, valid: torch.Tensor, lo: torch.Tensor,
                       hi: torch.Tensor, *, rate: float = 0.1, copies: int = 16,
                       iterations: int = 8, ridge: float = 10.0, seed: int = 1) -> torch.Tensor:
    """``(T, N, N + 1)`` parameters: per row ``i``, the free weights minimising the logistic loss
    of ``x_i`` given ``[cue | 1]`` over ``copies`` corrupted cues of every stored pattern, plus
    ``ridge / 2`` times their squared norm, clipped to ``[lo, hi]`` (``(T, N, N + 1)``); ``x``
    ``(T, P, N)``, ``valid`` ``(T, P)``."""
    t, p, n = x.shape
    gen = torch.Generator().manual_seed(seed)
    target = x.repeat(1, copies, 1)  # (T, C * P, N): row j * P + k is a cue of pattern k
    weight = valid.repeat(1, copies).to(x.dtype)[:, :, None]  # padding rows count 0
    cues = torch.where(torch.rand(target.shape, generator=gen) < rate, -target, target)
    u = torch.cat([cues, torch.ones(t, copies * p, 1)], dim=2)  # (T, M, N + 1)
    pinned = lo == hi
    free = (~pinned).to(x.dtype)
    offset = torch.bmm(u, torch.where(pinned, lo, torch.zeros_like(lo)).transpose(1, 2))
    a = torch.zeros_like(lo)
    eye = torch.eye(n + 1)
    for _ in range(iterations):
        z = torch.bmm(u, a.transpose(1, 2)) + offset  # (T, M, N) fields
        s = torch.sigmoid(-target * z)  # d loss / d (x_i z) is -s
        grad = -torch.bmm((weight * target * s).transpose(1, 2), u) + ridge * a
        curvature = weight * s * (1 - s)  # (T, M, N)
        hess = torch.einsum("tmj,tmi,tmk->tijk", u, curvature, u) + ridge * eye
        # pinned weights do not move: their rows and columns become the identity's
        hess = hess * free[..., :, None] * free[..., None, :] + torch.diag_embed(1.0 - free)
        a = a - torch.linalg.solve(hess, (grad * free)[..., None])[..., 0]
    return torch.clamp(a * free + torch.where(pinned, lo, torch.zeros_like(lo)), lo, hi)


def _started():
    """While active, the one-layer trainer's warm start is :func:`second_order_start`."""
    return mock.patch.object(single_fit.SingleLayerFit, "warm_start",
                             lambda self, x, valid, lo, hi: second_order_start(x, valid, lo, hi))


def _alone():
    """While active, one-layer training is :func:`second_order_start` and nothing after it."""
    def stop(path, params, *args):
        t = params.shape[0]
        return (params, torch.zeros(t, dtype=torch.int64), torch.full((t,), float("nan")),
                torch.zeros(t, dtype=torch.bool))

    @contextlib.contextmanager
    def both():
        with _started(), mock.patch.object(single_fit, "two_stage", stop):
            yield
    return both()


def study_second_order(quick: bool) -> dict:
    """The default recipe against :func:`second_order_start` alone, as the start of the
    default's sampled stages (no flip-averaged stage) and of the fast recipe's, both also
    shortened, on the tuning
    split (2 training seeds, 50 cues per pattern)."""
    started = {"warm_start": True, "flip_steps": 0}
    sides: dict[str, Side] = {
        "default recipe": ({}, contextlib.nullcontext),
        "second-order start alone": (started, _alone),
        "second-order start, then the default's sampled stages": (started, _started),
        "second-order start, then the fast recipe's stages": ({"recipe": "fast"}, _started),
        "... 50 first-stage steps, 70 fine-tune steps": (
            {"recipe": "fast", "max_steps": 50, "finetune_steps": 70}, _started),
        "second-order start, then the default's stages, 100 + 100 steps": (
            {**started, "max_steps": 100, "finetune_steps": 100}, _started)}
    measured = against_default(sides, *((1, 2) if quick else (2, 50)), quick,
                               {"max_steps": 20, "finetune_steps": 40} if quick else None)
    return rows_by_case(measured)
