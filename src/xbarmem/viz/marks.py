"""The marks figures share: a value of 0 on a log axis drawn on the x axis
(:func:`mark_zeros`), a lower bound's arrow (:func:`mark_lower_bounds`), a power-law fit's line
(:func:`power_law_line`), and series equal at every point told apart
(:func:`equal_series`, :func:`equal_note`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D


def equal_series(points: list[tuple[Any, Any]]) -> list[tuple[int, int] | None]:
    """For each series ``(xs, ys)`` of ``points`` (in drawing order): ``(first, rank)`` when
    it is equal at every point to the earlier series ``first`` (the ``rank``-th after it, from
    1), else None. Such a series is drawn exactly over ``first`` and hides it but for the
    ring :func:`layered` leaves: draw it with :func:`equal_cue`."""
    out: list[tuple[int, int] | None] = []
    ranks: dict[int, int] = {}
    for i, (xs, ys) in enumerate(points):
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        first = next((j for j, (x0, y0) in enumerate(points[:i]) if out[j] is None
                      and np.shape(x0) == xs.shape and np.shape(y0) == ys.shape
                      and np.allclose(x0, xs, rtol=1e-9, atol=0)
                      and np.allclose(y0, ys, rtol=1e-9, atol=1e-12)), None)
        if first is None:
            out.append(None)
            continue
        ranks[first] = ranks.get(first, 0) + 1
        out.append((first, ranks[first]))
    return out


def equal_cue(rank: int) -> dict[str, Any]:
    """How the ``rank``-th series (from 1) equal to an earlier one is drawn, so that both
    show in colour and in greyscale: hollow markers (the earlier series' filled marker shows
    inside) and a dashed line whose gaps (wider for a higher rank) show the earlier line."""
    return {"mfc": "none", "ls": (2.0 * (rank - 1), (2.0, 2.0 * rank))}


def equal_handle(label: str) -> Line2D:
    """A legend entry (grey) explaining :func:`equal_cue`'s dashes and hollow markers."""
    return Line2D([], [], color="0.35", marker="o", label=label,
                  **equal_cue(1))


def equal_note(label: str, first: str) -> str:
    """The legend label of a series equal at every point to the series labelled ``first``."""
    return f"{label} (= {first} at every point)"


def mark_zeros(ax: Axes, xs, color: str, marker: str, ms: float | None = None) -> None:
    """Hollow markers on the x axis at ``xs``: points whose value is 0, which a log y axis
    cannot show (drawn over the axis line, not clipped); ``ms``: the series' marker size
    (:func:`layered`: rings of several series at one N nest instead of covering each
    other)."""
    xs = list(xs)
    if xs:  # (PlainLogFormatter then labels no tick at the axis line)
        ax._xbarmem_zeros = True  # type: ignore[attr-defined]
        ax.plot(xs, [0.0] * len(xs), transform=ax.get_xaxis_transform(), ls="none",
                marker=marker, mfc="none", mew=1.0, color=color, clip_on=False, zorder=4,
                ms=ms)


def zero_handle(what: str = "capacity") -> Line2D:
    """The legend entry of :func:`mark_zeros`' markers: where they are and that no fit takes
    them in (log 0 is no number; :func:`power_law_line` fits the other sizes)."""
    return Line2D([], [], color="0.35", marker="o", mfc="none", ls="none",
                  label=f"{what} 0 (hollow, on the x axis; left out of the fit: log 0)")


def power_law_line(ax: Axes, xs, slope: float, prefactor: float, **line) -> None:
    """The fitted power law ``prefactor * x^slope`` drawn over the sizes ``xs`` it was fitted
    to (those of a capacity > 0): a line drawn on to a size of capacity 0, left out of the
    fit, showed a capacity the run did not measure there. ``line``: ``ax.plot``'s style."""
    xs = np.asarray(xs, dtype=float)
    if xs.size:
        grid = np.geomspace(xs.min(), xs.max(), 50)
        ax.plot(grid, prefactor * grid ** slope, **{"ls": "-", **line})


#: the marker of a capacity that is only a lower bound (drawn just above the point)
LOWER_BOUND_MARKER = r"$\uparrow$"


def mark_lower_bounds(ax: Axes, points: list[tuple[float, float]], color: str) -> None:
    """An upward arrow just above each point ``(x, capacity)`` that is only a lower bound."""
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, [y * 1.18 for y in ys], ls="none", marker=LOWER_BOUND_MARKER, ms=9,
                color=color)


def lower_bound_handle(why: str) -> Line2D:
    """The legend entry of :func:`mark_lower_bounds`' arrows (``why``: what makes them
    bounds)."""
    return Line2D([], [], color="0.35", marker=LOWER_BOUND_MARKER, ls="none", ms=8,
                  label=f"lower bound ({why})")
