"""The one figure style of xbarmem: rc settings, rule colours and markers, legends, saving.

Every figure is drawn inside :func:`style` (``matplotlib.rc_context`` with :data:`RC`: a
two-column paper width of 3.5 in, fonts of 7-8 pt) on a ``matplotlib.figure.Figure`` made by
:func:`new_axes` -- no pyplot, no global state, no backend switch. A learning rule has one
colour and one marker in every figure (:func:`rule_style`: a fixed table for the shipped
rules, a deterministic choice for any other name); series that are not rules (data sets,
thresholds, metrics) take :func:`series_style`. Legends go outside the data area
(:func:`legend_outside`). :func:`save_figure` writes PNG or SVG.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from xbarmem.checks import check_type
from xbarmem.errors import ConfigError
from xbarmem.files import output_file, write_atomically

#: width of one column of a two-column paper, inches
COLUMN_WIDTH = 3.5
#: PNG resolution, dots per inch
DPI = 300

#: rc settings of every figure (applied with ``matplotlib.rc_context``)
RC: dict[str, Any] = {
    "figure.figsize": (COLUMN_WIDTH, 2.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "legend.frameon": False,
    "legend.handlelength": 1.8,
    "legend.columnspacing": 1.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "errorbar.capsize": 2,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
}

#: Okabe-Ito colour-blind-safe colours and a marker for every shipped rule
RULE_STYLES: dict[str, dict[str, str]] = {
    "adaptive": {"color": "#D55E00", "marker": "o"},
    "pinv": {"color": "#0072B2", "marker": "s"},
    "hebb": {"color": "#009E73", "marker": "^"},
    "storkey": {"color": "#CC79A7", "marker": "v"},
    "storkey-variant": {"color": "#E69F00", "marker": "D"},
    "perceptron": {"color": "#56B4E9", "marker": "P"},
}
_FALLBACK_COLORS = ("#882255", "#44AA99", "#332288", "#999933", "#AA4499", "#117733",
                    "#661100", "#6699CC")
_FALLBACK_MARKERS = ("X", "*", "h", "p", "<", ">", "d", "H")
#: series that are not rules: data sets, thresholds, metrics (in order of appearance)
SERIES_STYLES: tuple[dict[str, str], ...] = (
    {"color": "#000000", "marker": "o"}, {"color": "#882255", "marker": "s"},
    {"color": "#44AA99", "marker": "^"}, {"color": "#332288", "marker": "D"},
    {"color": "#999933", "marker": "v"}, {"color": "#661100", "marker": "P"},
)
#: line styles telling apart thresholds (or other secondary series) of one rule
LINESTYLES = ("-", "--", ":", "-.")
#: colour of reference lines (thresholds)
REFERENCE_COLOR = "#666666"


def rule_style(rule: str) -> dict[str, str]:
    """``{"color", "marker"}`` of a learning rule: fixed for the shipped rules
    (:data:`RULE_STYLES`), otherwise chosen from the rule name's CRC-32 (colour from its low
    bits, marker from the bits above; the same in every figure, process and machine)."""
    if rule in RULE_STYLES:
        return dict(RULE_STYLES[rule])
    h = zlib.crc32(rule.encode())
    return {"color": _FALLBACK_COLORS[h % len(_FALLBACK_COLORS)],
            "marker": _FALLBACK_MARKERS[(h >> 5) % len(_FALLBACK_MARKERS)]}


def series_style(index: int) -> dict[str, str]:
    """``{"color", "marker"}`` of the ``index``-th series that is not a rule (cycles)."""
    return dict(SERIES_STYLES[index % len(SERIES_STYLES)])


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Draw (and save) inside this context to get the house style (:data:`RC`)."""
    # matplotlib types rc keys as a Literal of every rc name; RC holds valid ones
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def new_axes(ax: Axes | None = None, *, height: float = 2.6,
             width: float = COLUMN_WIDTH) -> tuple[Figure, Axes]:
    """``(figure, axes)`` to draw into: ``ax`` and its figure when given, else a new
    ``width`` x ``height`` inch :class:`~matplotlib.figure.Figure` (constrained layout) with
    one axes, marked as drawn by xbarmem (:func:`legend_outside` then puts the legend below
    the axes). Call inside :func:`style`."""
    if ax is not None:
        # typed Figure | SubFigure: an axes placed on a SubFigure returns that SubFigure
        return cast(Figure, ax.figure), ax
    fig = Figure(figsize=(width, height), layout="constrained")
    fig._xbarmem_owned = True  # type: ignore[attr-defined]
    return fig, fig.add_subplot()


def legend_outside(ax: Axes, *, title: str | None = None, handles: list | None = None,
                   labels: list[str] | None = None):
    """The legend of ``ax`` (or ``handles`` / ``labels``) outside its data area: below the
    axes, in up to 3 columns, on a figure of :func:`new_axes`; to the right of the axes,
    top-aligned, on a caller's figure. Nothing is drawn when nothing is labelled."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    labels = [str(s) for s in labels or []]
    fig = ax.figure
    if isinstance(fig, Figure) and getattr(fig, "_xbarmem_owned", False) and len(fig.axes) == 1:
        longest = max(len(s) for s in labels)
        ncols = min(len(labels), 1 if longest > 26 else 2 if longest > 13 else 3)
        lines = math.ceil(len(labels) / ncols) + (title or "").count("\n") + bool(title)
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + 0.15 * lines + 0.1)  # the axes keep their height
        return fig.legend(handles, labels, loc="outside lower center", ncols=ncols,
                          title=title)
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                     title=title, borderaxespad=0.0, alignment="left")


def threshold_lines(ax: Axes, thresholds, *, what: str = "threshold") -> list:
    """Dotted horizontal lines at ``thresholds``, each value written just right of the axes
    (outside the data). Returns one legend handle naming them (``what``), or none."""
    for t in thresholds:
        ax.axhline(t, ls=":", lw=0.8, color=REFERENCE_COLOR, zorder=1)
        ax.annotate(f"{t:g}", xy=(1.0, t), xycoords=("axes fraction", "data"),
                    xytext=(2, 0), textcoords="offset points", ha="left", va="center",
                    fontsize=6.5, color=REFERENCE_COLOR)
    if not len(thresholds):
        return []
    return [Line2D([], [], ls=":", lw=0.8, color=REFERENCE_COLOR, label=what)]


def log_axes(ax: Axes, *, x: bool = True, y: bool = True, xticks=None) -> None:
    """Logarithmic axes labelled with plain numbers (2, 5, 10, 20, ... rather than
    2 x 10^0). ``xticks``: the measured x values (neuron counts N), labelled as they are and
    the only x ticks, so that a point at N = 64 is not read off a tick at 60 -- unless there
    are more than 8 of them or two are closer than 7% of the axis span (the labels would
    overlap; the default ticks stay)."""
    for on, axis, scale in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            scale("log")
            axis.set_major_formatter(matplotlib.ticker.LogFormatter())
            axis.set_minor_formatter(matplotlib.ticker.LogFormatter(
                labelOnlyBase=False, minor_thresholds=(1.5, 0.6)))
    values = sorted({float(v) for v in (xticks if x and xticks is not None else ()) if v > 0})
    logs = [math.log(v) for v in values]
    span = logs[-1] - logs[0] if logs else 0.0
    gaps = np.diff(logs)
    if 0 < len(values) <= 8 and (gaps >= 0.07 * span).all():
        ax.set_xticks(values, labels=[f"{v:g}" for v in values])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


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

def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (``.png`` at :data:`DPI` or ``.svg``, by the suffix).

    Raises:
        ConfigError: any other suffix. ArgumentError: ``fig`` not a Figure, ``path`` not a
        path. FileFormatError: ``path`` a folder or in no folder.
    """
    check_type(fig, Figure, "fig", "a matplotlib Figure")
    path = output_file(path, "figure")
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"figure file must end in .png or .svg, got {path.name}")
    with style():  # (the format named: the temporary file's name does not end in it)
        write_atomically(path, lambda partial: fig.savefig(partial,
                                                           format=path.suffix[1:].lower()))
    return path
