"""Row-wise recall metrics between retrieved states and stored patterns.

Inputs ``a`` and ``b`` are torch tensors, numpy arrays or nested lists of identical shape
``(B, N)`` (a 1-D vector counts as one row). Signs use the convention ``value >= 0 -> +1``.
Every array argument is read by one reader (:func:`_as_rows` for matrices, :func:`_as_values`
for flat values: a tensor with or without ``requires_grad``, an array, nested lists); one that
holds no real numbers, NaN or inf, or has the wrong shape (rows of no values among them)
raises
:class:`~xbarmem.errors.PatternError` naming the parameter, in one line.
"""

from __future__ import annotations

from typing import Any

import torch

from xbarmem.checks import as_real_array, check_tensor, numeric_array, tensor_of
from xbarmem.errors import PatternError

__all__ = ["COSINE_DECIMALS", "OUTCOMES", "cosine_rows", "cosine_similarity", "exact_recall",
           "field_margins", "hamming_distance", "mean_cosine", "mean_value", "recall_outcomes"]


def _as_rows(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = check_tensor(x, name, error=PatternError).detach().to("cpu", torch.float64)
    else:
        arr = numeric_array(x, name, "a (B, N) matrix of real numbers", error=PatternError)
        t = tensor_of(arr, dtype=torch.float64)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise PatternError(f"{name} must be 2-D (B, N), got shape {tuple(t.shape)}")
    if t.shape[1] == 0:  # ([] or a (B, 0) matrix: rows of no neurons)
        raise PatternError(f"{name} must hold rows of N >= 1 values, got shape "
                           f"{tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise PatternError(f"{name} contains NaN/inf values")
    return t


def _as_values(x: Any, name: str, size: int | None = None) -> torch.Tensor:
    """``x`` (a tensor, with or without ``requires_grad``, an array, nested lists or one
    number) as a flat float64 tensor of its finite values, ``size`` of them when given (else at
    least one); :class:`PatternError` naming ``name`` otherwise."""
    if isinstance(x, torch.Tensor) and not x.requires_grad and x.dtype in _PLAIN:
        t = x.reshape(-1)  # (the metrics' own tensors: no copy)
    else:
        t = torch.from_numpy(as_real_array(x, name, error=PatternError).reshape(-1))
    if size is None and t.numel() == 0:
        raise PatternError(f"{name} must hold at least one value, got none")
    if size is not None and t.numel() != size:
        raise PatternError(f"{name} must have {size} entries, got {t.numel()}")
    if t.is_floating_point() and not torch.isfinite(t).all():
        raise PatternError(f"{name} contains NaN/inf values")
    return t


#: tensor dtypes :func:`_as_values` reads as they are
_PLAIN = (torch.bool, torch.int32, torch.int64, torch.float32, torch.float64)


def _pair(a: Any, b: Any, names: tuple[str, str] = ("a", "b")
          ) -> tuple[torch.Tensor, torch.Tensor]:
    ta, tb = _as_rows(a, names[0]), _as_rows(b, names[1])
    if ta.shape != tb.shape:
        raise PatternError(f"shape mismatch: {names[0]} is {tuple(ta.shape)}, {names[1]} is "
                           f"{tuple(tb.shape)}")
    return ta, tb.to(ta.device)


def cosine_similarity(a: Any, b: Any) -> torch.Tensor:
    """Cosine similarity of each row pair: float32 ``(B,)`` in [-1, 1]; 0 if a row is zero
    (:func:`cosine_rows` rounded to float32; means and threshold tests use
    :func:`cosine_rows`)."""
    return cosine_rows(a, b).to(torch.float32)


def cosine_rows(a: Any, b: Any) -> torch.Tensor:
    """Cosine similarity of each row pair: float64 ``(B,)`` in [-1, 1]; 0 if a row is zero.
    Exact to rounding for +-1 rows: ``dot / sqrt(|a|^2 |b|^2)`` with an integer dot product
    and ``|a|^2 = |b|^2 = N``, so one flipped bit of 40 gives the float 0.95 itself (float32
    gives 0.949999988, below a threshold of 0.95)."""
    ta, tb = _pair(a, b)
    # each row divided by its largest |entry| first: the product of two norms overflows to
    # inf (rows near 1e200) or underflows to 0 (near 1e-200) where the scaled rows do not
    sa, sb = _peak_scaled(ta), _peak_scaled(tb)
    norms = ((sa * sa).sum(dim=1) * (sb * sb).sum(dim=1)).sqrt()
    cos = torch.where(norms > 0, (sa * sb).sum(dim=1) / norms.clamp_min(1.0), 0.0)
    return cos.clamp(-1.0, 1.0)


def _peak_scaled(t: torch.Tensor) -> torch.Tensor:
    """Rows of ``t`` divided by their largest ``|entry|`` (zero rows stay zero): entries in
    [-1, 1], a non-zero row's squared norm in [1, N]."""
    peak = t.abs().amax(dim=1, keepdim=True)
    return torch.where(peak > 0, t / peak.clamp_min(torch.finfo(t.dtype).tiny), t)


def mean_value(values: torch.Tensor) -> float:
    """The mean of a tensor of numbers or flags (any dtype, at least one value) as a float
    computed in float64, as results report shares and means: a share of 13 in 20 is 0.65, a
    mean of 10 steps over 3 cues 3.3333333333333335 (float32's means are 0.6499999761581421
    and 3.3333332538604736). ``values`` may also be an array or a list;
    :class:`PatternError` for none, non-numbers, NaN or inf."""
    return float(_as_values(values, "values").double().mean())


#: decimals a mean cosine is rounded to (:func:`mean_cosine`)
COSINE_DECIMALS = 12


def mean_cosine(values: Any) -> float:
    """The mean of cosines (a tensor, array or sequence of numbers; at least one), computed
    in float64 and rounded to :data:`COSINE_DECIMALS` decimals, so that a mean equal to a
    threshold is that threshold's float: 30 cues of 20 bits with 60 wrong bits in all have
    the mean 0.9, which float64 sums gave as 0.8999999999999999 (below a capacity threshold
    of 0.9). Two means of ``B`` cosines of ``N``-bit patterns differ by at least
    ``2 / (N B)``, far above 1e-12, so the rounding never makes two of them one.
    :class:`PatternError` for no values, non-numbers, NaN or inf."""
    mean = float(_as_values(values, "values").double().mean())
    return round(mean, COSINE_DECIMALS)


def hamming_distance(a: Any, b: Any) -> torch.Tensor:
    """Number of positions whose signs differ in each row pair of states ``a`` and patterns
    ``b`` (both ``(B, N)``): int64 ``(B,)``. A state's 0 counts as +1; a position where the
    pattern ``b`` is 0 (a continuous pattern's mid-grey, which has no sign) is not counted,
    whatever the state there (+-1 patterns have none)."""
    ta, tb = _pair(a, b)
    return (((ta >= 0) != (tb >= 0)) & (tb != 0)).sum(dim=1).to(torch.int64)


def exact_recall(a: Any, b: Any) -> torch.Tensor:
    """Whether every sign of the states ``a`` agrees with the patterns' ``b`` in each row pair
    (both ``(B, N)``; positions where ``b`` is 0 not counted, as :func:`hamming_distance`):
    bool ``(B,)``."""
    return hamming_distance(a, b) == 0


#: where a recall from a corrupted cue ends, in the order :func:`recall_outcomes` labels it
OUTCOMES = ("recalled", "other_pattern", "inverted", "spurious", "not_converged")


def recall_outcomes(states: Any, target: Any, patterns: Any, converged: Any) -> dict[str, float]:
    """Where each recall ended, as fractions of the ``B`` recalls (summing to 1), by sign:
    ``recalled`` (the cue's own pattern ``target``), ``other_pattern`` (another of the stored
    ``patterns``), ``inverted`` (the negative of a stored pattern, an attractor of every
    symmetric network), ``spurious`` (a fixed point that is none of these), ``not_converged``
    (the recall stopped on a cycle or at its cap: ``converged`` False). ``states`` and
    ``target`` are ``(B, N)``, ``patterns`` ``(P, N)``, ``converged`` ``(B,)`` bool; each
    recall gets the first label of :data:`OUTCOMES` that applies. :class:`PatternError`
    naming the argument for one of another shape, NaN or inf, or no real numbers."""
    ta, tb = _pair(states, target, ("states", "target"))
    stored = _as_rows(patterns, "patterns")
    if stored.shape[1] != ta.shape[1]:
        raise PatternError(f"patterns have {stored.shape[1]} neurons, states {ta.shape[1]}")
    done = _as_values(converged, "converged", ta.shape[0]) != 0
    sign_a = torch.where(ta >= 0, 1.0, -1.0)
    sign_p = torch.where(stored >= 0, 1.0, -1.0)
    overlap = sign_a @ sign_p.T  # (B, P): N where equal, -N where opposite
    n = float(ta.shape[1])
    own = ((ta >= 0) == (tb >= 0)).all(dim=1)
    other = (overlap == n).any(dim=1) & ~own
    inverted = (overlap == -n).any(dim=1) & ~own & ~other
    rest = ~(own | other | inverted)
    labels = (own, other, inverted, rest & done, rest & ~done)
    total = max(1, ta.shape[0])
    return {name: float(mask.sum()) / total for name, mask in zip(OUTCOMES, labels, strict=True)}


def field_margins(weights: Any, bias: Any, patterns: Any) -> dict[str, float]:
    """How far the stored ``patterns`` ``(P, N)`` (+-1) sit from a sign flip under a one-layer
    ``[W | b]`` (``weights`` ``(N, N)``, ``bias`` ``(N,)`` or None), in the unit programming
    variation acts in: neuron ``i``'s margin ``min_mu x_i (W x + b)_i`` divided by
    ``max|W| sqrt(N - 1)`` (the field noise of variation ``v = 1``: std ``v max|W| sqrt(N - 1)``
    with the diagonal unperturbed). Returns ``kappa_min`` and ``kappa_median`` over neurons
    (negative: a pattern is not a fixed point) and ``peak_over_rms``, ``max|W| / rms(W)`` over
    the off-diagonal weights. The median of an even number of neurons is the mean of the two
    middle margins. :class:`PatternError` naming the argument for one of another shape (N
    and P at least 2 and 1), NaN or inf, or no real numbers."""
    w = _as_rows(weights, "weights").double()
    x = _as_rows(patterns, "patterns").double()
    n = w.shape[0]
    if w.shape != (n, n) or x.shape[1] != n or n < 2 or x.shape[0] < 1:
        raise PatternError(f"need weights (N, N) with N >= 2 and patterns (P, N) with P >= 1, "
                           f"got {tuple(w.shape)} and {tuple(x.shape)}")
    b = (torch.zeros(n, dtype=torch.float64) if bias is None
         else _as_values(bias, "bias", n).double())
    off = w[~torch.eye(n, dtype=torch.bool)]
    peak = float(off.abs().max())
    if peak == 0.0:
        raise PatternError("all off-diagonal weights are zero")
    margin = (x * (x @ w.T + b)).min(dim=0).values / (peak * max(n - 1, 1) ** 0.5)
    # the median of an even number of neurons is the mean of the two middle values (torch's
    # median would give the lower one)
    return {"kappa_min": float(margin.min()), "kappa_median": float(margin.quantile(0.5)),
            "peak_over_rms": peak / float(off.pow(2).mean().sqrt())}
