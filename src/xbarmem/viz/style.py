"""The one figure style of xbarmem: rc settings, rule colours and markers, legends, saving.

Every figure is drawn inside :func:`style` (``matplotlib.rc_context`` with :data:`RC`: a
two-column paper width of 3.5 in, fonts of 7-8 pt) on a ``matplotlib.figure.Figure`` made by
:func:`new_axes` -- no pyplot, no global state, no backend switch. A learning rule has one
colour and one marker in every figure (:func:`rule_style`: a fixed table for the shipped
rules, a deterministic choice for any other name); series that are not rules (data sets,
thresholds, metrics) take :func:`series_style`. Legends go outside the data area
(:func:`legend_outside`). Long names are wrapped (:func:`wrap_text`: titles, panel titles,
legend entries), log axes are labelled with plain numbers up to 99999 and powers of ten beyond
(:class:`PlainLogFormatter`), a value of 0 on a log axis is drawn on the x axis
(:func:`mark_zeros`) and an axes with nothing positive to draw says so (:func:`log_axes`).
Drawn into a caller's Axes, the caller's font sizes and colours are kept (``style(ax)``).
:func:`save_figure` writes PNG or SVG.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
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
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

from xbarmem.checks import check_type, checked_keywords
from xbarmem.errors import ConfigError, warn
from xbarmem.files import output_file, write_atomically
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


#: characters per line of a wrapped title, panel title or legend entry
TITLE_CHARS = 60
LABEL_CHARS = 42
#: the longest title given to a figure: about five wrapped lines above axes of a fixed height
#: (a longer one crowds the axes out of the figure)
MAX_TITLE_CHARS = 5 * TITLE_CHARS
MAX_TITLE_LINES = 6


def check_title(title: Any, name: str = "title") -> str:
    """A figure title as given (``""``: the figure's default). Raises
    :class:`~xbarmem.errors.ArgumentError` when it is not text, :class:`ConfigError` when it is
    longer than :data:`MAX_TITLE_CHARS` characters or :data:`MAX_TITLE_LINES` lines once
    wrapped (:func:`wrap_text`)."""
    check_type(title, str, name, "text")
    lines = wrap_text(title.strip()).count("\n") + 1
    if len(title) > MAX_TITLE_CHARS or lines > MAX_TITLE_LINES:
        size = (f"{len(title)} characters" if len(title) > MAX_TITLE_CHARS else
                f"{lines} lines (wrapped at {TITLE_CHARS} characters)")
        raise ConfigError(f"{name} has {size}; a figure takes a title of at most "
                          f"{MAX_TITLE_CHARS} characters and {MAX_TITLE_LINES} lines")
    return title


def wrap_text(text: str, width: int = TITLE_CHARS) -> str:
    """``text`` over lines of at most ``width`` characters (its own line breaks kept; a name
    longer than a line -- a chip or data file name -- broken after a hyphen or mid-name), so
    that no title or legend entry runs past its figure or into a neighbouring panel. A line
    is broken between comma-separated phrases where one ends in its second half (a title
    read "..., no faults, N" over "= 64, 10% flips")."""
    return "\n".join(_wrap_line(line, width) for line in str(text).split("\n"))


#: a comparison's operators: :func:`wrap_text` breaks no line beside one
COMPARISONS = "<>=±"
#: what holds a comparison's sides together while a line is wrapped (a private-use
#: character: no text given holds it)
_JOIN = "\ue000"


def _wrap_line(line: str, width: int) -> str:
    """One line of :func:`wrap_text`: broken after the last comma that fits, when it falls in
    the second half of the width, else by :func:`textwrap.fill`; never beside an operator of
    :data:`COMPARISONS` (``capacity >`` over ``0)``, ``k = 0.89 ±`` over ``0.88``)."""
    ops = re.escape(COMPARISONS)
    line = re.sub(f"(?<=\\S) ([{ops}])(?= )", f"{_JOIN}\\1", line)
    line = re.sub(f"([{ops}]) (?=\\S)", f"\\1{_JOIN}", line)
    return _wrap_joined(line, width).replace(_JOIN, " ")


def _wrap_joined(line: str, width: int) -> str:
    """:func:`_wrap_line` of a line whose comparisons are joined (:data:`_JOIN`)."""
    lines = []
    while len(line) > width:
        cut = line.rfind(", ", 0, width)  # the comma stays at the end of its line
        if cut < width // 2:
            break
        lines.append(line[:cut + 1])
        line = line[cut + 2:]
    return "\n".join([*lines, textwrap.fill(line, width, break_on_hyphens=True) or line])


def set_title(target: Axes | Figure, text: str, *, width: int = TITLE_CHARS, **kw) -> None:
    """The (wrapped, :func:`wrap_text`) title of an Axes, or the suptitle of a Figure; in a
    caller's Axes at most as many characters a line as the axes is wide. Shown as written:
    titles hold the user's ``--title`` and names from the data, so ``$`` is not Matplotlib's
    math markup (``$\\foo$`` failed the drawing; ``$5 and $6`` set ``5 and`` in italics)."""
    if not text:
        return
    kw.setdefault("parse_math", False)
    if not isinstance(target, Axes):
        target.suptitle(wrap_text(text, width), **kw)
        return
    size = matplotlib.font_manager.FontProperties(
        size=kw.get("fontsize", matplotlib.rcParams["axes.titlesize"])).get_size_in_points()
    if not getattr(target.figure, "_xbarmem_owned", False):
        inches = target.get_window_extent().width / target.figure.dpi
        width = min(width, max(16, int(inches * 72 / (0.6 * size))))
    else:  # (its width fixed: a column's)
        inches = cast(Figure, target.figure).get_figwidth() - TITLE_MARGIN
        width = fitting_chars(text, width, inches, size)
    target.set_title(wrap_text(text, width), **kw)


#: what of a figure's width its axes title may not take (inches): the y axis's labels beside
#: the axes, which the title is centred over
TITLE_MARGIN = 0.5


def fitting_chars(text: str, width: int, inches: float, size: float) -> int:
    """The most characters a line (at most ``width``, at least 16) at which every line of
    ``text`` wrapped (:func:`wrap_text`) is at most ``inches`` wide at ``size`` points: a
    title of 60 characters a line is 3.3 to 4.2 in wide at 8 pt, and made the PNG of a
    figure of a column's width (3.5 in) up to 5.7 in wide."""
    measure = matplotlib.textpath.TextToPath().get_text_width_height_descent
    font = matplotlib.font_manager.FontProperties(size=size)
    for chars in range(width, 15, -1):
        if all(measure(line, font, ismath=False)[0] <= inches * 72
               for line in wrap_text(text, chars).split("\n")):
            return chars
    return 16


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


#: said when a legend goes inside a caller's axes (:func:`legend_outside`)
INSIDE_LEGEND = ("a legend beside its axes would lie over another panel of the figure, so it "
                 "is drawn inside them, where it covers no plotted point (the y axis "
                 "raised to make room where needed): make the figure with "
                 "layout=\"constrained\" (plt.subplots(..., layout=\"constrained\")) to "
                 "have the legends beside the axes")
#: said when a caller's axes is narrowed to make room for its legend (:func:`legend_outside`)
NARROWED_LEGEND = ("a legend beside its axes would lie over another panel of the figure and "
                   "inside them over plotted points, so the axes are narrowed to make room "
                   "for it: make the figure with layout=\"constrained\" (plt.subplots(..., "
                   "layout=\"constrained\")) to have the legends beside the axes")


def legend_outside(ax: Axes, *, title: str | None = None, handles: list | None = None,
                   labels: list[str] | None = None):
    """The legend of ``ax`` (or ``handles`` / ``labels``) outside its data area: below the
    axes, in up to 3 columns, on a figure of :func:`new_axes`; to the right of the axes,
    top-aligned, on a caller's figure. When that figure has no layout engine to make room and
    the legend would lie over another of its axes (a neighbouring panel, a colorbar, their
    tick and axis labels), it goes inside the axes where it covers no plotted point
    (:func:`legend_inside`), else beside the axes narrowed to make room for it (to at most
    :data:`NARROWEST` of their width), else inside where it covers the fewest, with a warning
    (:data:`INSIDE_LEGEND`, :data:`NARROWED_LEGEND`) that says how to have it beside them.
    Nothing is drawn when nothing is labelled. Labels and title are shown as written (names
    from the data: ``$`` is no math markup)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    given = [str(s) for s in labels or []]
    labels = [wrap_text(s, LABEL_CHARS) for s in given]
    fig = ax.figure
    if isinstance(fig, Figure) and getattr(fig, "_xbarmem_owned", False) and len(fig.axes) == 1:
        longest = max(len(line) for s in labels for line in s.split("\n"))
        ncols = min(len(labels), 1 if longest > 26 else 2 if longest > 13 else 3)
        lines = (math.ceil(len(labels) / ncols) + sum(s.count("\n") for s in labels)
                 + (title or "").count("\n") + bool(title))
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + 0.15 * lines + 0.1)  # the axes keep their height
        return _as_written(fig.legend(handles, labels, loc="outside lower center",
                                      ncols=ncols, title=title))
    # right of the axes, past the threshold values written there (threshold_lines), in
    # lines of at most half the axes' width (a one-line title took two thirds of a panel)
    width = beside_chars(ax)
    labels = [wrap_text(s, width) for s in given]
    title = wrap_text(title, width) if title else title
    gap = 0.08 + 0.3 * bool(getattr(ax, "_xbarmem_right_labels", False))
    anchor = ax.transAxes + ScaledTranslation(gap, 0, fig.dpi_scale_trans)

    def beside():
        return _as_written(ax.legend(handles, labels, loc="upper left",
                                     bbox_to_anchor=(1.0, 1.0), bbox_transform=anchor,
                                     title=title, borderaxespad=0.0, alignment="left"))

    legend = beside()
    if fig.get_layout_engine() is None and _over_other_axes(legend, ax):
        legend, clear = legend_inside(ax, handles, labels, title)
        if not clear and _room_beside(ax, beside()):
            warn(NARROWED_LEGEND)
            return ax.get_legend()
        legend = legend if clear else legend_inside(ax, handles, labels, title)[0]
        warn(INSIDE_LEGEND)
    return legend


#: the narrowest a caller's axes is made to leave room for its legend beside it (a share of
#: its width; :func:`_room_beside`)
NARROWEST = 0.4


def _room_beside(ax: Axes, legend) -> bool:
    """Whether ``legend`` (beside ``ax``, over another axes of a figure without a layout
    engine) lies over no other axes once ``ax`` is narrowed, at most to :data:`NARROWEST` of
    its width, keeping its left edge (the room a layout engine would have made). ``ax`` is
    narrowed only when that makes the room."""
    frame, box = ax.get_window_extent(), legend.get_window_extent()
    right = [_drawn_extent(other).x0 for other in _other_axes(ax)
             if other.get_window_extent().x0 >= frame.x1]
    excess = box.x1 - min(right, default=math.inf) + 4.0  # (4 pixels apart)
    if not math.isfinite(excess) or frame.width - excess < NARROWEST * frame.width:
        return False
    before = ax.get_position()
    ax.set_position((before.x0, before.y0,
                     before.width * (1 - max(excess, 0) / frame.width), before.height))
    if _over_other_axes(legend, ax):
        ax.set_position(before)
        return False
    return True


#: the places of a legend inside its axes, in the order tried (:func:`legend_inside`)
INSIDE_PLACES = ("upper right", "upper left", "lower left", "lower right", "center right",
                 "center left", "upper center", "lower center", "center")
#: the legend's room above the highest point under it (share of the axes' height), when the
#: y axis is raised to make room (:func:`legend_inside`)
INSIDE_GAP = 0.03


def legend_inside(ax: Axes, handles: list, labels: list[str], title: str | None):
    """``(legend, clear)``: the legend of ``ax`` inside it, where it covers no plotted point
    (:func:`plotted_points`: markers with their size, error bars, value labels): the first
    of :data:`INSIDE_PLACES`, in one or two columns, that covers none (and, of those, crosses
    the fewest lines); where every place covers some, in the upper corner that needs the
    least room, with the top of the y axis raised until the points under it lie below it;
    where the legend leaves too little of the axes' height for that, where it covers the
    fewest (``clear`` False). Matplotlib's ``loc="best"`` counted neither markers' size nor
    error bars and, when every place covered something, took the least bad one: it covered
    points. Placed for what ``ax`` holds and its size when called."""
    def make(place: tuple[int, Any]):
        return _as_written(ax.legend(handles, labels, loc=place[1], ncols=place[0],
                                     title=title, alignment="left"))

    ax.get_xlim(), ax.get_ylim()  # (autoscaled now: the points' places as they will be)
    points = plotted_points(ax)
    lines = [line.get_transform().transform_path(line.get_path()) for line in ax.get_lines()
             if line.get_visible() and line.get_linestyle() not in ("None", "")]
    places: list[tuple[int, Any]] = [(n, loc) for n in (1, 2) for loc in INSIDE_PLACES]
    tried = []
    for k, place in enumerate(places):
        box = make(place).get_window_extent()
        covered = int(box.count_contains(points)) if len(points) else 0
        crossed = sum(bool(path.intersects_bbox(box, filled=False)) for path in lines)
        if not covered and not crossed:
            return ax.get_legend(), True
        tried.append((covered, crossed, k))
    covered, _, k = min(tried)
    tops = [(top, j) for j, place in enumerate(places) if place[1] in INSIDE_PLACES[:2]
            and (top := _top_clearing(ax, make(place).get_window_extent(), points))
            is not None]
    if not covered or not tops:  # (none: the legend takes most of the axes' height)
        return make(places[k]), not covered
    top, j = min(tops)
    ax.set_ylim(top=float(ax.yaxis.get_transform().inverted().transform([[top]])[0][0]))
    return make(places[j]), True


def _top_clearing(ax: Axes, box, points: np.ndarray) -> float | None:
    """The top of ``ax``'s y axis (in its scale's coordinates: log10 on a log axis) at which
    every point of ``points`` (display coordinates) within the x range of ``box`` (a legend
    in an upper corner of ``ax``) lies :data:`INSIDE_GAP` below the legend; None when the
    legend leaves less than a quarter of the axes' height below it."""
    frame = ax.get_window_extent()
    room = (box.y0 - frame.y0) / frame.height - INSIDE_GAP
    under = points[(points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                   & (points[:, 1] >= frame.y0) & (points[:, 1] <= frame.y1)]
    if room < 0.25 or not len(under):
        return None
    scale = ax.yaxis.get_transform()
    low, high = (float(v) for v in scale.transform(np.array([[v] for v in ax.get_ylim()])).ravel())
    highest = low + (under[:, 1].max() - frame.y0) / frame.height * (high - low)
    return max(high, low + (highest - low) / room) if high > low else None


def plotted_points(ax: Axes) -> np.ndarray:
    """The display coordinates of what a legend inside ``ax`` must not cover: the vertices
    of its lines drawn with markers, each widened by the marker's radius, points along its
    error bars, and the corners of its texts in the axes (value labels); lines without
    markers (fits, thresholds) are not points."""
    found = []
    for line in ax.get_lines():
        xy = np.asarray(line.get_xydata(), dtype=float)
        if not line.get_visible() or str(line.get_marker()) in ("None", "", " ") or \
                not xy.size:
            continue
        xy = line.get_transform().transform(xy)
        r = float(line.get_markersize()) / 2 * ax.figure.dpi / 72
        found += [xy + d for d in ((0, 0), (r, 0), (-r, 0), (0, r), (0, -r))]
    for collection in ax.collections:
        if isinstance(collection, LineCollection) and collection.get_visible():
            for seg in collection.get_segments():
                ends = collection.get_transform().transform(np.asarray(seg, dtype=float))
                found.append(np.linspace(ends[0], ends[-1], 5))
    frame = ax.get_window_extent()
    for text in ax.texts:
        box = text.get_window_extent()
        middle = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        if text.get_visible() and text.get_text() and frame.contains(*middle):
            found.append(box.corners())
    out = np.concatenate(found) if found else np.zeros((0, 2))
    return out[np.isfinite(out).all(axis=1)]


#: the fewest characters a line of a legend beside a caller's axes is wrapped at
BESIDE_MIN_CHARS = 16


def beside_chars(ax: Axes) -> int:
    """Characters a line of a legend beside ``ax`` (a caller's axes) may hold: as many as
    half the axes' width takes at the legend's font size (at least
    :data:`BESIDE_MIN_CHARS`, at most :data:`LABEL_CHARS`), so that the legend leaves the
    data most of the panel."""
    inches = ax.get_position().width * ax.figure.figure.get_figwidth()
    size = matplotlib.font_manager.FontProperties(
        size=matplotlib.rcParams["legend.fontsize"]).get_size_in_points()
    return max(BESIDE_MIN_CHARS, min(LABEL_CHARS, int(0.5 * inches * 72 / (0.6 * size))))


def _as_written(legend):
    """``legend`` with its labels and title shown as written, not as math markup."""
    for text in [*legend.get_texts(), legend.get_title()]:
        text.set_parse_math(False)
    return legend


def _over_other_axes(legend, ax: Axes) -> bool:
    """Whether ``legend`` (of ``ax``) lies over another axes of ``ax``'s figure, or over its
    tick labels, axis labels or title (:func:`_other_axes`)."""
    others = _other_axes(ax)
    if not others:
        return False
    box = legend.get_window_extent()
    return any(box.overlaps(_drawn_extent(other)) for other in others)


def _drawn_extent(ax: Axes):
    """``ax``'s extent with its tick labels, axis labels and title (display coordinates)."""
    return ax.get_tightbbox() or ax.get_window_extent()


def _other_axes(ax: Axes) -> list[Axes]:
    """The other visible axes of ``ax``'s figure (its twins, on the same place, aside), whose
    drawn extent (``get_tightbbox``: tick labels, axis labels and title too) a legend of
    ``ax`` must not cover."""
    return [other for other in ax.figure.figure.axes if other is not ax
            and other.get_visible() and other.get_position() != ax.get_position()]


class ApartLabels(matplotlib.artist.Artist):
    """Value labels (annotations in offset points) kept from overlapping, decided when the
    figure is drawn -- only then are the axes' size and limits known: ``spread`` moves
    labels written beside a line apart vertically, keeping their order (thresholds 0.95 and
    0.99 on an axis from 0 to 1 were written over each other); ``thin`` leaves out each label
    that would overlap one kept before it (points' values at close x: ``3.60x3.72x``). Add
    it to the axes after the labels (:func:`apart`); it draws nothing itself."""

    def __init__(self, texts: list, how: str) -> None:
        super().__init__()
        self.texts, self.how = texts, how
        self.home = [tuple(t.xyann) for t in texts]
        self.set_zorder(-10)  # drawn (placing the labels) before the labels themselves

    def draw(self, renderer) -> None:
        for text, home in zip(self.texts, self.home, strict=True):  # (as first placed)
            text.xyann = home
            text.set_visible(True)
        if self.how == "thin":
            kept: list = []
            for text in self.texts:
                box = text.get_window_extent(renderer)
                if any(box.overlaps(other) for other in kept):
                    text.set_visible(False)
                else:
                    kept.append(box)
            return
        scale = 72.0 / self.figure.dpi  # pixels to points
        boxes = sorted(((t.get_window_extent(renderer), t) for t in self.texts),
                       key=lambda bt: bt[0].y0)
        top = -math.inf
        for box, text in boxes:
            shift = max(0.0, top - box.y0)
            if shift:
                text.xyann = (text.xyann[0], text.xyann[1] + shift * scale)
            top = box.y1 + shift + 1.0  # (a pixel between two labels)


def apart(ax: Axes, texts: list, how: str = "spread") -> None:
    """Keep ``texts`` (annotations of ``ax``) from overlapping when drawn
    (:class:`ApartLabels`, ``how``: ``spread`` or ``thin``)."""
    if len(texts) > 1:
        ax.add_artist(ApartLabels(texts, how))


def threshold_lines(ax: Axes, thresholds, *, what: str = "threshold") -> list:
    """Dotted horizontal lines at ``thresholds``, each value written just right of the axes
    (outside the data; close values moved apart, :func:`apart`). Returns one legend handle
    naming them (``what``), or none."""
    texts = []
    for t in thresholds:
        ax.axhline(t, ls=":", lw=0.8, color=REFERENCE_COLOR, zorder=1)
        texts.append(ax.annotate(f"{t:g}", xy=(1.0, t), xycoords=("axes fraction", "data"),
                                 xytext=(2, 0), textcoords="offset points", ha="left",
                                 va="center", fontsize="small", color=REFERENCE_COLOR))
    apart(ax, texts)
    if not len(thresholds):
        return []
    # (legend_outside puts a caller's legend past these values)
    ax._xbarmem_right_labels = True  # type: ignore[attr-defined]
    return [Line2D([], [], ls=":", lw=0.8, color=REFERENCE_COLOR, label=what)]


def tick_below(v: float) -> float:  # (of log_axes and PlainLogFormatter.edge)
    """The largest tick of a log axis (``m x 10^e``, ``m`` in 1..9) at or below ``v`` > 0."""
    e = math.floor(math.log10(v))
    return math.floor(round(v / 10 ** e, 9)) * 10.0 ** e


def tick_above(v: float) -> float:
    """The smallest tick of a log axis (``m x 10^e``, ``m`` in 1..10) at or above ``v`` > 0."""
    e = math.floor(math.log10(v))
    return math.ceil(round(v / 10 ** e, 9)) * 10.0 ** e


class PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """Log-axis tick labels as plain numbers from 0.001 to 99999 (2, 50, 10000) and as
    powers of ten beyond (10^5, 2 x 10^5): one form on every axis (matplotlib's own mixes
    ``1e4``, ``1e+05`` and ``1000``). Which ticks are labelled is matplotlib's
    choice (``labelOnlyBase``, ``minor_thresholds``) -- and the lowest and the highest tick
    in view (:meth:`edge`), so that no point lies below or above every label
    (:func:`log_axes` widens the limits to ticks)."""

    def __call__(self, x, pos=None) -> str:
        if not super().__call__(x, pos) and not self.edge(x):
            return ""
        return plain_number(x)

    def set_locs(self, locs=None) -> None:
        """Which ticks between decades are labelled, by the decades the axis spans (``d``):
        none past ``minor_thresholds[0]``, 2, 3, 4 and 6 past ``minor_thresholds[1]``,
        every one below -- as matplotlib chose before 3.11, which counts the decade ticks in
        view instead: an axis from 0.9 to 10 (capacities 1, 3, 9) was labelled 1 and 10
        only."""
        super().set_locs(locs)
        axis = self.axis
        if (self.labelOnlyBase or getattr(self, "_sublabels", None) is None or axis is None
                or not hasattr(self, "_base")):  # (another matplotlib's internals: as it chose)
            return
        lo, hi = sorted(axis.get_view_interval())
        if not 0 < lo < hi < math.inf:
            return
        decades, base = math.log(hi / lo, self._base), self._base
        self._sublabels = ({1} if decades > self.minor_thresholds[0] else
                           set(np.round(np.geomspace(1, base, int(base) // 2 + 1)))
                           if decades > self.minor_thresholds[1] else
                           set(np.arange(1, base + 1)))

    def edge(self, x: float) -> bool:
        """Whether ``x`` is the lowest or the highest tick in view, with room for its label:
        no labelled tick (decades always are) within 1.5 label heights of it."""
        axis = self.axis
        if not isinstance(axis, matplotlib.axis.Axis) or not x > 0:
            return False
        lo, hi = sorted(axis.get_view_interval())
        if not 0 < lo < hi:
            return False
        if getattr(axis.axes, "_xbarmem_zeros", False):  # not where the 0s are drawn
            lo *= 1.000001
        if not any(math.isclose(x, t, rel_tol=1e-6) for t in (tick_above(lo), tick_below(hi))):
            return False
        vertical = isinstance(axis, matplotlib.axis.YAxis)
        pixels = axis.axes.bbox.height if vertical else axis.axes.bbox.width
        font = float(axis.majorTicks[0].label1.get_fontsize())
        room = (1.5 if vertical else 4.0) * font * axis.figure.dpi / 72
        near = room / (pixels / (math.log10(hi) - math.log10(lo)))  # in decades
        t, step = x, (tick_above if math.isclose(x, tick_above(lo)) else tick_below)
        while True:  # the ticks inward within ``near``: none labelled (decades always are)
            t = step(t * (1.000001 if step is tick_above else 0.999999))
            if abs(math.log10(t / x)) >= near or not lo <= t <= hi:
                return True
            if math.isclose(math.log10(t), round(math.log10(t)), abs_tol=1e-9) or \
                    super().__call__(t):
                return False


def plain_number(x: float) -> str:
    """``x`` as a tick label: ``f"{x:g}"`` from 0.001 to 99999, else ``m x 10^e`` (mathtext)."""
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = round(x / 10 ** exponent, 6)
    if mantissa == 1:
        return f"$10^{{{exponent}}}$"
    return f"${mantissa:g}\\times10^{{{exponent}}}$"


def measured_ticks(values, *, log: bool) -> list[float] | None:
    """The measured x values as ticks -- unless there are more than 8 of them or two are
    closer than 7% of the axis span (their labels would overlap): then None."""
    values = sorted({float(v) for v in values if not log or v > 0})
    pos = [math.log(v) for v in values] if log else values
    span = pos[-1] - pos[0] if pos else 0.0
    if 0 < len(values) <= 8 and (np.diff(pos) >= 0.07 * span).all():
        return values
    return None


def log_axes(ax: Axes, *, x: bool = True, y: bool = True, xticks=None,
             empty: str = "nothing > 0 to draw on a log axis") -> None:
    """Logarithmic axes labelled with plain numbers (:class:`PlainLogFormatter`: 2, 5, 10,
    20, ... rather than 2 x 10^0). ``xticks``: the measured x values (neuron counts N),
    labelled as they are and the only x ticks, so that a point at N = 64 is not read off a
    tick at 60 (:func:`measured_ticks`). An axis with no positive data (every capacity 0)
    gets no ticks and ``empty`` written across the axes -- not matplotlib's warning, an
    empty frame, or (on saving) a ValueError. The limits of a log axis (call it once the
    data are drawn) widen to the nearest tick (``m x 10^e``) outside them where no tick lies
    between a limit and the outermost point, so that every point lies between two ticks, the
    outermost of which are labelled
    (:meth:`PlainLogFormatter.edge`): a capacity of 5 under a lowest label of 6 was read
    off nothing."""
    for on, axis, scale, lim, minpos in ((x, ax.xaxis, ax.set_xscale, ax.set_xlim, "minposx"),
                                         (y, ax.yaxis, ax.set_yscale, ax.set_ylim, "minposy")):
        if not on:
            continue
        blank = not np.isfinite(getattr(ax.dataLim, minpos))
        if blank:
            lim(1, 10)
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center",
                    color=REFERENCE_COLOR)
        scale("log")
        axis.set_major_formatter(PlainLogFormatter())
        axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False,
                                                   minor_thresholds=(1.5, 0.6)))
        if blank:  # no value to read off: no tick to misread a point on the axis by
            axis.set_major_locator(matplotlib.ticker.NullLocator())
            axis.set_minor_locator(matplotlib.ticker.NullLocator())
    ticks = measured_ticks(xticks if x and xticks is not None else (), log=True)
    if ticks:
        ax.set_xticks(ticks, labels=[f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    for on, get, lim, data in ((x and not ticks, ax.get_xlim, ax.set_xlim, ax.dataLim.x0),
                               (y, ax.get_ylim, ax.set_ylim, ax.dataLim.y0)):
        low, high = sorted(get())
        if on and 0 < low < high < math.inf:  # (still autoscaled when more is drawn)
            first = min(max(data, getattr(ax.dataLim, "minposy" if lim == ax.set_ylim
                                          else "minposx")), high)
            last = max(ax.dataLim.y1 if lim == ax.set_ylim else ax.dataLim.x1, low)
            # the bottom of a y axis with 0s drawn on it (mark_zeros) kept: no tick there
            zeros = lim == ax.set_ylim and getattr(ax, "_xbarmem_zeros", False)
            lim(low if zeros or tick_above(low) <= first else tick_below(low),
                high if tick_below(high) >= last else tick_above(high), auto=True)


class SparseLocator(matplotlib.ticker.MaxNLocator):
    """At most 6 ticks, fewer on a narrow axis or under a large font (room for labels six
    characters wide, such as 0.0025); integers only with ``integer=True``. The ticks in view
    reach the data's outermost values (of every axes sharing the axis; :func:`covers`): the
    usual ticks when they do, else the most ticks of steps 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x
    10^e that do (at least two), else the usual ticks with the outermost values added (a
    tick closer than half a step to one of them left out): a point at 0.3 past a last tick
    of 0.2 was read off nothing."""

    def __init__(self, *, integer: bool = False) -> None:
        super().__init__(nbins=5, steps=[1, 2, 2.5, 5, 10], integer=integer)

    def tick_values(self, vmin, vmax):
        room = self.axis.get_tick_space() // 2 if self.axis is not None else 5
        room = max(1, min(5, room))
        self.set_params(nbins=room, steps=[1, 2, 2.5, 5, 10])
        usual = super().tick_values(vmin, vmax)
        data = data_interval(self.axis) if self.axis is not None else None
        if data is not None:  # (what lies in view)
            data = (max(data[0], min(vmin, vmax)), min(data[1], max(vmin, vmax)))
        if data is None or data[0] > data[1] or covers(usual, data, (vmin, vmax)):
            return usual
        for step in covering_steps(vmin, vmax, room, integer=self._integer):
            ticks = np.arange(math.ceil(min(vmin, vmax) / step - 1e-9),
                              math.floor(max(vmin, vmax) / step + 1e-9) + 1) * step
            if len(ticks) <= room + 1 and covers(ticks, data, (vmin, vmax), least=2):
                return ticks
        return with_ends(usual, data)


def covering_steps(vmin: float, vmax: float, room: int, *, integer: bool = False
                   ) -> list[float]:
    """Tick steps to try, smallest first: :data:`COVERING_STEPS` times powers of ten, from
    about ``room`` ticks over ``vmin`` .. ``vmax`` to one (integers only with
    ``integer``)."""
    span = abs(vmax - vmin)
    if not span > 0:
        return []
    e = math.floor(math.log10(span / max(room, 1)))
    steps = sorted(m * 10.0 ** k for k in (e - 1, e, e + 1) for m in COVERING_STEPS)
    return [v for v in steps if span / (room + 1) <= v <= span
            and (not integer or float(v).is_integer())]


def with_ends(ticks, data: tuple[float, float]) -> np.ndarray:
    """``ticks`` within ``data`` (``(low, high)``) and the two ends of ``data``; a tick
    closer than half a step to an added end left out (their labels would touch)."""
    ticks = np.asarray(ticks, dtype=float)
    step = float(np.diff(ticks).min()) if ticks.size > 1 else data[1] - data[0]
    inner = ticks[(ticks >= data[0]) & (ticks <= data[1])]
    lo, hi = data
    half = step / 2 * (1 - 1e-6)  # (0.7 - 0.6 is half of 0.2 - 0, but not in floats)
    if inner.size and inner.min() > lo:
        inner = inner[inner - lo >= half]
    if inner.size and inner.max() < hi:
        inner = inner[hi - inner >= half]
    return np.unique(np.concatenate([[lo], inner, [hi]]))


#: tick steps (x 10^e) tried when the usual ones leave a point outside the outermost ticks
COVERING_STEPS = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]


def data_interval(axis: matplotlib.axis.Axis) -> tuple[float, float] | None:
    """The lowest and highest finite data value on ``axis`` over every axes sharing it
    (``dataLim``: points and error bars), or None when nothing is drawn."""
    ax = axis.axes
    x = isinstance(axis, matplotlib.axis.XAxis)
    shared = ax.get_shared_x_axes() if x else ax.get_shared_y_axes()
    spans = [(a.dataLim.intervalx if x else a.dataLim.intervaly)
             for a in shared.get_siblings(ax) if a.has_data()]
    spans = [(lo, hi) for lo, hi in spans if np.isfinite(lo) and np.isfinite(hi)]
    if not spans:
        return None
    return min(lo for lo, _ in spans), max(hi for _, hi in spans)


def covers(ticks, data: tuple[float, float], view: tuple[float, float], least: int = 1
           ) -> bool:
    """Whether at least ``least`` of the ``ticks`` lie in ``view`` and reach both ends of
    ``data`` (``(low, high)``, within a millionth of the span): no point lies below the
    lowest or above the highest."""
    lo, hi = sorted(view)
    slack = 1e-6 * max(hi - lo, 1e-12)
    shown = [t for t in ticks if lo - slack <= t <= hi + slack]
    return (len(shown) >= max(least, 1) and min(shown) <= data[0] + slack
            and max(shown) >= data[1] - slack)


def linear_xticks(ax: Axes, *, integer: bool = False) -> None:
    """A :class:`SparseLocator` on the x axis (``integer``: stored-pattern counts), so that
    labels such as 0.0025 do not run into each other."""
    ax.xaxis.set_major_locator(SparseLocator(integer=integer))


def linear_yticks(ax: Axes) -> None:
    """A :class:`SparseLocator` on the y axis (cosine similarities): its ticks reach the
    lowest and the highest value drawn (matplotlib's left a cosine of 0.97 above a top tick
    of 0.9 and one of 0.46 below a lowest tick of 0.5)."""
    ax.yaxis.set_major_locator(SparseLocator())


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
    """The legend entry of :func:`mark_zeros`' markers."""
    return Line2D([], [], color="0.35", marker="o", mfc="none", ls="none",
                  label=f"{what} 0 (hollow, on the x axis)")


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
        raise ConfigError(f"figure file must end in .png or .svg, got {path.name}")
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
