"""The one figure style of xbarmem: rc settings, rule colours and markers, axes, saving.

Every figure is drawn inside :func:`style` (``matplotlib.rc_context`` with :data:`RC`: a
two-column paper width of 3.5 in, fonts of 7-8 pt) on a ``matplotlib.figure.Figure`` made by
:func:`new_axes` -- no pyplot, no global state, no backend switch. A learning rule has one
colour and one marker in every figure (:func:`rule_style`: a fixed table for the shipped
rules, a deterministic choice for any other name); series that are not rules (data sets,
thresholds, metrics) take :func:`series_style`; series that look alike are set apart in dashes
(:func:`apart_styles`). Drawn into a caller's Axes, the caller's font sizes and colours are
kept (``style(ax)``). :func:`save_figure` writes PNG or SVG.

The rest of the style lives beside it: titles and wrapped names in :mod:`xbarmem.viz.text`,
legends in :mod:`xbarmem.viz.legends`, axes' ticks in :mod:`xbarmem.viz.ticks`, and the marks
of zeros, lower bounds, fits and equal series in :mod:`xbarmem.viz.marks`.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import matplotlib
import matplotlib.artist
import matplotlib.axis
import matplotlib.font_manager
import matplotlib.text
import matplotlib.textpath
import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xbarmem.checks import check_type, checked_keywords
from xbarmem.errors import ConfigError
from xbarmem.files import output_file, write_atomically, wrong_suffix
from xbarmem.jsontext import shown_text

__all__ = ["save_figure"]

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
    "legend.handlelength": 3.0,  # (room for two periods of every dash of LINESTYLES)
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
    "svg.hashsalt": "xbarmem",  # (the ids of an SVG's clip paths and markers: not random)
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

#: the dash patterns of series (in points, scaled by the line width), most distinct first;
#: none dotted, as the reference lines (thresholds) are, and each short enough to repeat in a
#: legend entry (``legend.handlelength``)
LINESTYLES: tuple[Any, ...] = (
    "-", (0, (4.0, 1.5)), (0, (4.0, 1.5, 1.0, 1.5)), (0, (7.0, 2.0)),
    (0, (4.0, 1.5, 1.0, 1.5, 1.0, 1.5)), (0, (7.0, 1.5, 2.0, 1.5)), (0, (1.5, 1.5)),
    (0, (7.0, 1.5, 1.0, 1.5, 1.0, 1.5)))

#: the dash each shipped rule takes when no series alike in lightness has it
#: (:func:`apart_styles`): six rules of one figure keep six patterns in every figure
RULE_DASHES = {"adaptive": 0, "pinv": 1, "hebb": 2, "storkey": 3, "storkey-variant": 4,
               "perceptron": 5}

#: the least difference in lightness (CIE L*, 0 black .. 100 white) that tells two series
#: apart in a greyscale print -- or to a colour-blind reader, who keeps the lightness of a
#: colour where its hue is lost; series closer in lightness differ in their dashes
LIGHTNESS_GAP = 20.0

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


def lightness(colour: Any) -> float:
    """The lightness of a Matplotlib colour: CIE L* (0 black .. 100 white) of its sRGB
    value under D65, what a greyscale print keeps of it."""
    rgb = np.asarray(matplotlib.colors.to_rgb(colour), dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = float(linear @ np.array([0.2126, 0.7152, 0.0722]))
    return float(116 * np.cbrt(y) - 16) if y > (6 / 29) ** 3 else y * (29 / 3) ** 3


def apart_styles(styles: list[dict[str, Any]], dashes: list[int | None] | None = None
                 ) -> list[dict[str, Any]]:
    """The series styles of one axes (or of panels sharing a legend), in drawing order, each
    with a line style ``ls`` such that any two series closer in lightness than
    :data:`LIGHTNESS_GAP` (:func:`lightness` of their colours) have different dashes: a series
    takes its own dash (``dashes[i]``, an index of :data:`LINESTYLES`; None: solid) unless an
    earlier series alike in lightness has it, else the first dash none of those has. Markers
    alone told two lines of one grey apart at the measured points only (storkey-variant's
    orange and perceptron's sky blue, both solid). Every figure's series take their line
    styles from here; more series alike in lightness than there are dashes reuse them."""
    out: list[dict[str, Any]] = []
    taken: list[tuple[int, float]] = []
    for i, st in enumerate(styles):
        light = lightness(st["color"])
        near = {dash for dash, other in taken if abs(other - light) < LIGHTNESS_GAP}
        own = (dashes[i] if dashes is not None else None) or 0
        free = [d for d in range(len(LINESTYLES)) if d not in near]
        dash = own if own not in near else free[0] if free else own
        taken.append((dash, light))
        out.append({**st, "ls": LINESTYLES[dash]})
    return out


#: how much larger a series' markers are than those of the series drawn after it (a share
#: of the base size; smaller steps with many series so that the first is at most 1.9x)
LAYER_STEP = 0.3

LAYER_MAX = 0.9


def layered(index: int, count: int, *, ms: float | None = None, lw: float | None = None
            ) -> dict[str, Any]:
    """Marker size ``ms`` (and line width ``lw``) of the ``index``-th of ``count`` series
    drawn into one axes, in drawing order: the first the largest, each later one smaller,
    down to ``ms`` for the last. Where two series share a value, the later (smaller) marker
    sits inside the earlier one, which shows as a ring around it -- equal sizes hid the
    earlier series wholly (pinv and adaptive both at cosine 1). Lines grow a third as much,
    so an earlier line shows on both sides of a later one on top of it. Every figure's
    series take their sizes from here; default sizes from :data:`RC`."""
    ms = float(matplotlib.rcParams["lines.markersize"] if ms is None else ms)
    lw = float(matplotlib.rcParams["lines.linewidth"] if lw is None else lw)
    step = min(LAYER_STEP, LAYER_MAX / (count - 1)) if count > 1 else 0.0
    grow = step * max(count - 1 - index, 0)
    return {"ms": ms * (1 + grow), "lw": lw * (1 + grow / 3)}


#: the markers of the series past :data:`SERIES_STYLES` (none of its markers)
EXTRA_MARKERS = ("X", "*", "h", "p", "<", ">", "d", "H")


def series_style(index: int) -> dict[str, str]:
    """``{"color", "marker"}`` of the ``index``-th series that is not a rule: the colours of
    :data:`SERIES_STYLES` cycle, and the series past them take a marker of
    :data:`EXTRA_MARKERS`, so that no two of the first 30 series share both colour and marker
    (the seventh of eight fault rates was drawn in the first's black circles); the first
    takes the foreground colour (``axes.edgecolor``: black, or white under a dark style)
    rather than a black that a dark background would hide."""
    st = dict(SERIES_STYLES[index % len(SERIES_STYLES)])
    if index >= len(SERIES_STYLES):
        st["marker"] = EXTRA_MARKERS[(index - len(SERIES_STYLES)) % len(EXTRA_MARKERS)]
    if st["color"] == "#000000":
        st["color"] = matplotlib.colors.to_hex(matplotlib.rcParams["axes.edgecolor"])
    return st


#: the font sizes of :data:`RC` (left out when drawing into a caller's Axes)
FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
             "ytick.labelsize", "legend.fontsize", "legend.title_fontsize")

#: in a caller's Axes: title and legend relative to the caller's font size (``font.size``)
CALLER_FONTS = {"axes.titlesize": "medium", "legend.fontsize": "small",
                "legend.title_fontsize": "small"}


@contextlib.contextmanager
def style(ax: Axes | None = None) -> Iterator[None]:
    """Draw (and save) inside this context to get the house style (:data:`RC`). ``ax``: the
    caller's Axes being drawn into -- its figure keeps the caller's font sizes (those of
    its tick labels and axis labels), and titles and legends take sizes relative to them
    (:data:`CALLER_FONTS`) rather than the 7-8 pt of a column-wide figure."""
    rc = RC if ax is None else {**{k: v for k, v in RC.items() if k not in FONT_KEYS},
                                **CALLER_FONTS}
    # matplotlib types rc keys as a Literal of every rc name; RC holds valid ones
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
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


#: the writer a figure file names (a PNG's ``Software`` text, an SVG's creator)
FIGURE_WRITER = "xbarmem"


@checked_keywords
def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (``.png`` at :data:`DPI` or ``.svg``, by the suffix): the
    same figure gives the same bytes (an SVG holds no date and no random ids), and its
    metadata names :data:`FIGURE_WRITER` as its writer, not the library that drew it and its
    version (``reproduce`` knows its figures by it). A text holding a file name's byte that is no
    character (a lone surrogate) is drawn as ``\\xNN``.

    Raises:
        ConfigError: any other suffix. ArgumentError: ``fig`` not a Figure, ``path`` not a
        path. FileFormatError: ``path`` a folder or in no folder.
    """
    check_type(fig, Figure, "fig", "a matplotlib Figure")
    path = output_file(path, "figure")
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(wrong_suffix(path, "figure file", ".png or .svg"))
    kind = path.suffix[1:].lower()
    # no date, and xbarmem as the writer, not the library that drew it and its version
    undated = ({"Date": None, "Creator": FIGURE_WRITER} if kind == "svg" else
               {"Software": FIGURE_WRITER})
    for text in fig.findobj(matplotlib.text.Text):  # (a file name's byte no font can draw)
        text.set_text(shown_text(text.get_text()))
    with style():  # (the format named: the temporary file's name does not end in it)
        write_atomically(path, lambda partial: fig.savefig(partial, format=kind,
                                                           metadata=undated))
    return path
