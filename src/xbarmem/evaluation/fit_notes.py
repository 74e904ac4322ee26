"""Why a scaling fit leaves sizes out or takes in lower bounds, or why a threshold has no fit,
in words (without torch): the one text that ``xbarmem scaling`` prints beside each threshold's
fit and that the result (and so its JSON file) holds as ``fit_notes``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xbarmem.checks import counted

__all__ = ["fit_note", "fit_notes"]


def _sizes_text(sizes: Sequence[int]) -> str:
    """``N = 16, 36``."""
    return f"N = {', '.join(map(str, sizes))}"


def _left_out(sizes: Sequence[int], capacities: Sequence[int]) -> str:
    """The sizes of capacity 0 (log 0 is no number: no fit takes them in), in words; "" when
    there are none."""
    zeros = [n for n, c in zip(sizes, capacities, strict=True) if not c > 0]
    return f"{_sizes_text(zeros)} left out (capacity 0)" if zeros else ""


def _no_fit(sizes: Sequence[int], capacities: Sequence[int]) -> str:
    """Why a threshold has no fit: the sizes of capacity > 0 it has, fewer than two."""
    good = [(n, c) for n, c in zip(sizes, capacities, strict=True) if c > 0]
    counted_sizes = f"{counted(len(good), 'size')} of capacity > 0" + (
        f" of {len(sizes)}" if len(sizes) > 1 else "")
    where = "".join(f" ({c} at N = {n})" for n, c in good)
    return f"no fit: {counted_sizes}{where}; a fit needs 2"


def fit_note(sizes: Sequence[int], capacities: Sequence[int], fit: dict[str, Any] | None
             ) -> str:
    """What a threshold's power-law fit leaves out and why, as one line ("" when it fits every
    size at a measured capacity).

    Args:
        sizes: the pattern sizes N of the run, ascending.
        capacities: the threshold's capacity at each of ``sizes`` (same length).
        fit: the threshold's fit as a scaling result holds it (``lower_bounds``: the sizes
            it takes in whose capacity is only a lower bound; ``left_out``), or None when
            fewer than two sizes have a capacity > 0.

    Returns ``no fit: 1 size of capacity > 0 of 3 (1 at N = 64); a fit needs 2; N = 16, 36
    left out (capacity 0)``, or for a fit ``the fit takes in the lower bound (>=) at N =
    100; N = 16 left out (capacity 0)`` (either part only where it applies)."""
    left_out = _left_out(sizes, capacities)
    if fit is None:
        return "; ".join(v for v in (_no_fit(sizes, capacities), left_out) if v)
    bounds = list(fit.get("lower_bounds") or [])
    taken = (f"the fit takes in the lower bound{'s' * (len(bounds) > 1)} (>=) at "
             f"{_sizes_text(bounds)}" if bounds else "")
    return "; ".join(v for v in (taken, left_out) if v)


def fit_notes(sizes: Sequence[int], capacity: Mapping[str, Sequence[int]],
              fits: Mapping[str, dict[str, Any] | None]) -> dict[str, str]:
    """:func:`fit_note` of each threshold of ``capacity`` (text keys, as in ``fits``; a
    threshold absent from ``fits`` has no fit) at ``sizes``."""
    return {t: fit_note(sizes, caps, fits.get(t)) for t, caps in capacity.items()}
