"""The random draws of a training step: corrupted cues, write error and read noise.

The basin objective's training cues (:func:`training_cues`, bit flips by :func:`flip_signs`)
and the chip's noise a training forward pass adds: write error on the weights
(:func:`write_std`, :func:`with_write_noise`) and read noise on a layer's field
(:func:`read_noise_term`).
"""

from __future__ import annotations

import math

import torch

from xbarmem.learning.batch import BatchConstants


def training_cues(opts, consts: BatchConstants, kind: str,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The basin objective's corrupted training cues of a batch of patterns ``(T, P, N)``:
    the targets ``(T, copies * P, N)`` and their padding mask (from ``consts``,
    :func:`~xbarmem.learning.batch.batch_constants`), and the cues (binary: ``cue_flip`` bit
    flips; continuous: Gaussian ``cue_noise``, clipped to [-1, 1]) drawn from ``gen``."""
    target, mask = consts.target, consts.target_mask
    if kind == "binary":
        return target, mask, target * flip_signs(target.shape, opts.cue_flip, gen)
    noisy = target + opts.cue_noise * torch.randn(target.shape, generator=gen, dtype=torch.float32)
    return target, mask, noisy.clamp(-1, 1)


def flip_signs(shape: tuple[int, ...], rate: float, gen: torch.Generator) -> torch.Tensor:
    """A tensor of ``shape`` holding 1, and -1 where a bit flips: every bit flips on its own
    with probability ``rate`` (0 <= rate <= 1). The flips are drawn as the positions of a
    Bernoulli process, geometric gaps from ``gen``, so about ``rate * numel`` draws are made
    instead of one per bit."""
    total = math.prod(shape)
    signs = torch.ones(total, dtype=torch.float32)
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


def with_write_noise(a: torch.Tensor, n_in: int, weight_noise: float | torch.Tensor,
                     gen: torch.Generator | None) -> torch.Tensor:
    """A copy of ``[W | b]`` ``a`` ``(T, n_out, n_in + bias)`` with Gaussian write error of std
    ``weight_noise`` (a number, or ``(T, 1, 1)`` per network; drawn from ``gen``) added to
    ``W`` (the bias keeps its value)."""
    a = a.clone()
    a[:, :, :n_in] += weight_noise * torch.randn((a.shape[0], a.shape[1], n_in), generator=gen,
                                                 dtype=torch.float32)
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
    draw = torch.randn(z.shape, generator=gen, dtype=torch.float32)
    z += read_noise * norm * draw
    return read_noise * draw / norm
