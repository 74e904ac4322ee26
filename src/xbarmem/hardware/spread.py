"""The spread of a measured chip's write error, from devices written inside the window or at
its edges (:mod:`~xbarmem.hardware.measured`).

A device programmed to ``target`` reads ``clip(target + w, g_min, g_max) + r`` (``w`` its write
error, ``r`` its read noise). Where the target lies inside the window the error ``read -
target`` is ``w + r``, symmetric. Where it is a window edge (``g_min`` or ``g_max``: every
target of a chip of 2 levels, one device of every pair), the write is clipped there: a write
error away from the edge is kept, one beyond it is lost, and the device reads the edge with
its read noise only, as a device stuck there does. So the *inward* error at an edge
(``read - target`` at the lowest target, ``target - read`` at the highest) is a mixture: about
half the writes (and every device stuck at its own target's edge) a spike of read noise about
0, the others ``|w| + r``. A robust spread of that mixture is the read noise's when it is small
against the write error, and the default tolerance, 5 of it, called writes of a normal error
stuck.

:func:`edge_spread` reads the write error off the upper tail of the inward errors above 0: the
75% and 95% quantiles ``a < b`` of those, where the spike has thinned out, lie where a normal
error's exceedances ``Q(a / s)`` and ``Q(b / s)`` are in the ratio 5 to 1, which gives ``s``
whatever the size of the spike (up to 3/4 of them: half the writes plus the devices stuck
at their own edge) and whatever its shape (readings below 0 S taken as 0 S at a window
from 0 S leave it one-sided). Errors over half the window (a device read at the other edge:
stuck there, or a write clipped there) are left out, then those over 5 of the spread, while
it falls: the fit is of a normal error cut there.
"""

from __future__ import annotations

import math

import numpy as np

#: the std of normal values per median absolute deviation (1 / the normal's 75% quantile)
ROBUST = 1.4826
#: fewest devices a robust spread of the write error is estimated on (a median absolute
#: deviation of fewer is one or two of them; below it the estimate falls back to wider sets)
SPREAD_MIN_DEVICES = 5
#: most refinements of a spread (one settled it on 4000 devices, 20-50% of them stuck at a
#: rail, 50 draws each, 2026-12-05: a bound, never reached)
SPREAD_ROUNDS = 10
#: fewest devices whose spread is refined: on fewer, a median absolute deviation that falls
#: short by chance is narrowed further, round after round (devices written with a 2 uS error,
#: none stuck, called stuck: 1.56% of 10 refined, 0.81% unrefined; 0.31% / 0.18% of 16;
#: 0.07% of 24 and alike from there either way: 3000 draws each, 2026-12-05)
SPREAD_REFINE_MIN = 30


def robust_std(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation of ``values`` (the std of normal values)."""
    return ROBUST * float(np.median(np.abs(values - np.median(values))))


def refined_spread(err: np.ndarray) -> float:
    """The robust std (siemens) of the errors ``err`` (1-d, siemens, at least one): 1.4826 x
    their median absolute deviation; on :data:`SPREAD_REFINE_MIN` of them or more, refined
    over those within 5 of it of the median error while it falls (at most
    :data:`SPREAD_ROUNDS` times), so that stuck devices far off, up to about half of them, do
    not widen it."""
    spread = robust_std(err)
    for _ in range(SPREAD_ROUNDS if err.size >= SPREAD_REFINE_MIN else 0):
        near = err[np.abs(err - np.median(err)) <= 5.0 * spread]
        refined = robust_std(near) if near.size >= SPREAD_MIN_DEVICES else spread
        if not refined < spread:
            break
        spread = refined
    return spread


#: the errors a write error's std is taken over lie within this many robust std of their
#: median (:func:`trimmed_std`): a device stuck near its own target reads within the stuck
#: tolerance (5 of them) and is taken as free; counted in a plain std, those made a 2 uS
#: write error 2.2 to 2.4 uS on a 64x64 array of 16 levels 20% stuck (4 draws, 2026-12-07)
TRIM_STD = 3.0
#: the std of a normal error cut at +-:data:`TRIM_STD` std, per std of the whole
TRIM_FACTOR = math.sqrt(1.0 - 2.0 * TRIM_STD * math.exp(-0.5 * TRIM_STD ** 2)
                        / math.sqrt(2.0 * math.pi) / math.erf(TRIM_STD / math.sqrt(2.0)))


def trimmed_std(err: np.ndarray) -> float:
    """The std (siemens) of a normal error from the errors ``err`` (1-d, siemens): the std of
    those within :data:`TRIM_STD` :func:`refined_spread` of their median, divided by
    :data:`TRIM_FACTOR` (what the cut leaves of a normal's std); the plain std of all when
    they are fewer than :data:`SPREAD_REFINE_MIN` or their robust spread is 0; 0.0 for none."""
    if err.size == 0:
        return 0.0
    spread = refined_spread(err) if err.size >= SPREAD_REFINE_MIN else 0.0
    if not spread > 0:
        return float(np.std(err))
    near = err[np.abs(err - np.median(err)) <= TRIM_STD * spread]
    return float(np.std(near)) / TRIM_FACTOR


def write_error_std(spread: float, read_noise: float) -> float:
    """The write error's std (siemens) in a spread ``spread`` (siemens) of ``read - target``
    whose every reading holds one draw of read noise of std ``read_noise`` (siemens):
    ``sqrt(max(spread^2 - read_noise^2, 0))``, 0.0 when the read noise is the whole spread."""
    return math.sqrt(max(spread * spread - read_noise * read_noise, 0.0))


#: the quantiles of the inward errors above 0 whose exceedances fit the write error's std
#: (:func:`edge_spread`): their ratio, 5, is the normal's ``Q(a / s) / Q(b / s)``
TAIL_QUANTILES = (0.75, 0.95)


def edge_spread(inward: np.ndarray, window: float) -> float:
    """The std (siemens) of the unclipped error ``w + r`` from the inward errors ``inward``
    (1-d, siemens) of devices programmed to a window edge, ``window`` (siemens) apart: fitted
    to the upper tail of those above 0 and up to half the window (:func:`tail_spread`), then
    refined, while it falls (at most :data:`SPREAD_ROUNDS` times), over those up to 5 of it.
    0.0 when fewer than :data:`SPREAD_REFINE_MIN` are above 0 and up to half the window."""
    cut = 0.5 * window
    above = inward[(inward > 0) & (inward <= cut)]
    if above.size < SPREAD_REFINE_MIN:
        return 0.0
    spread = tail_spread(above, cut)
    for _ in range(SPREAD_ROUNDS):
        near = min(cut, 5.0 * spread)
        kept = above[above <= near]
        refined = tail_spread(kept, near) if kept.size >= SPREAD_REFINE_MIN else spread
        if not refined < spread:
            break
        spread = refined
    return spread


def _exceeds(x: float, spread: float) -> float:
    """``Q(x / spread)``: the share of a normal error of std ``spread`` above ``x``."""
    return 0.5 * math.erfc(x / (spread * math.sqrt(2.0)))


def tail_spread(above: np.ndarray, cut: float) -> float:
    """The std ``s`` of a normal error, cut at ``cut`` (> 0), whose exceedances of the
    :data:`TAIL_QUANTILES` ``a < b`` of ``above`` (1-d, in ``(0, cut]``) are in their ratio:
    ``(Q(a/s) - Q(cut/s)) / (Q(b/s) - Q(cut/s)) = (1 - 0.75) / (1 - 0.95)``, by bisection
    (at most ``1000 b``: values spread wider than a normal's, flat up to the cut); ``b``
    itself when the two quantiles coincide."""
    a, b = (float(q) for q in np.quantile(above, TAIL_QUANTILES))
    if not a < b:
        return b
    ratio = (1.0 - TAIL_QUANTILES[0]) / (1.0 - TAIL_QUANTILES[1])
    low, high = b * 1e-3, b * 1e3  # the ratio falls as s grows
    for _ in range(100):
        mid = math.sqrt(low * high)
        beyond = _exceeds(cut, mid)
        if (_exceeds(a, mid) - beyond) > ratio * max(_exceeds(b, mid) - beyond, 1e-300):
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)
