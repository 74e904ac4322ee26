"""The closed-form start of two-layer memories (``init="linear"``).

For patterns ``X`` (``P x N``) and training cues ``x + s * noise``, the linear map that best
recovers a pattern from its cue is ``M = C (C + s^2 I)^-1`` with ``C`` the patterns' covariance
(and the offset ``mu - M mu``, ``mu`` their mean; without bias rows ``C`` is their second moment
and there is no offset). The start factors it over the two layers with the hidden tanh near its
linear range: ``W1 = a I`` on the first ``N`` hidden units, ``b1 = 0``, and ``W2 = g M / a``,
``b2 = g (mu - M mu)`` (``a`` = :data:`ENCODER_SCALE`, ``g`` = :data:`GAIN`). Hidden units
beyond the first ``N`` keep their random first-layer rows and start with zero outgoing
weights. The caller clips the result into the realisable intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from xbarmem.errors import ConfigError

#: ``a``: the first layer's weight (hidden tanh near its linear range for inputs in [-1, 1])
ENCODER_SCALE = 0.5
#: ``g``: the output field per unit of the denoised pattern
GAIN = 1.0


def check_sizes(sizes: Sequence[int]) -> None:
    """Raise :class:`ConfigError` unless the layer widths ``sizes`` are ``N -> H -> N`` with
    ``H >= N``: the one rule of where the linear start applies, checked with the other options
    against the architecture (:meth:`~xbarmem.learning.adaptive.AdaptiveTrainer.
    refuse_inapplicable`) before any training."""
    if len(sizes) != 3 or sizes[1] < sizes[0]:
        raise ConfigError(f"init linear needs one hidden layer at least as wide as the "
                          f"patterns (N -> H -> N with H >= N), got "
                          f"{' -> '.join(str(int(s)) for s in sizes)}")


def check_layout(layout: list[tuple[int, int, slice]]) -> None:
    """:func:`check_sizes` of the layers ``(n_out, n_in, slice)``."""
    check_sizes([layout[0][1], *(n_out for n_out, _, _ in layout)])


def denoiser(x: torch.Tensor, noise: float, bias: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M, offset)`` of the patterns ``x`` ``(P, N)`` for cue noise std ``noise`` (float64;
    offset zero without ``bias``)."""
    x = x.double()
    mu = x.mean(dim=0) if bias else torch.zeros(x.shape[1], dtype=x.dtype)
    centred = x - mu
    c = centred.T @ centred / x.shape[0]
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    m = torch.linalg.solve(c + noise ** 2 * eye, c).T  # C (C + s^2 I)^-1, both symmetric
    return m, mu - m @ mu


def linear_start(layout: list[tuple[int, int, slice]], drawn: torch.Tensor,
                 x: torch.Tensor, valid: torch.Tensor, noise: float,
                 bias: bool) -> torch.Tensor:
    """The effective start parameters ``(T, D)`` (flat, as ``drawn``, the random draw whose
    extra hidden rows are kept) for the patterns ``x`` ``(T, P, N)`` (real rows where
    ``valid`` ``(T, P)``)."""
    check_layout(layout)
    (hidden, n, first), (_, _, second) = layout
    cols = int(bias)
    out = drawn.clone()
    for j in range(x.shape[0]):
        m, offset = denoiser(x[j][valid[j] > 0], noise, bias)
        w1 = out[j, first].view(hidden, n + cols)
        w1[:n] = 0.0
        w1[:n, :n] = ENCODER_SCALE * torch.eye(n, dtype=torch.float32)
        w2 = out[j, second].view(n, hidden + cols)
        w2.zero_()
        w2[:, :n] = (GAIN / ENCODER_SCALE) * m
        if bias:
            w2[:, hidden] = GAIN * offset
    return out
