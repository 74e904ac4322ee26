"""Legends and labels that keep off the data: :func:`legend_outside` (beside the axes where
there is room, else inside where no point is drawn: :func:`legend_inside`), labels spread
apart (:func:`apart`) and threshold lines labelled at their level (:func:`threshold_lines`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

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

from xbarmem.errors import warn
from xbarmem.viz.style import REFERENCE_COLOR
from xbarmem.viz.text import LABEL_CHARS, wrap_text

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
    gap = 0.08 + 0.3 * bool(getattr(ax, "_xbarmem_right_labels", False))
    anchor = ax.transAxes + ScaledTranslation(gap, 0, fig.dpi_scale_trans)
    width = beside_chars(ax)
    room = _room_beside_axes(ax, gap)  # (measured before the legend is there)

    def beside(ncols: int = 1, points: float | None = None):
        heading = wrap_text(title, min(LABEL_CHARS, ncols * width)) if title else title
        return _as_written(ax.legend(handles, [wrap_text(s, width) for s in given],
                                     loc="upper left", bbox_to_anchor=(1.0, 1.0),
                                     bbox_transform=anchor, borderaxespad=0.0, title=heading,
                                     alignment="left", ncols=ncols, fontsize=points,
                                     title_fontsize=points))

    legend, fitted, fits = fit_beside(beside, *room)
    labels = [text.get_text() for text in legend.get_texts()]
    title = legend.get_title().get_text() or title
    if fig.get_layout_engine() is None and (_over_other_axes(legend, ax)
                                            or _past_bottom(legend)):
        legend, clear = legend_inside(ax, handles, labels, title)
        if not clear and _room_beside(ax, beside(*fitted)):
            warn(NARROWED_LEGEND)
            legend = ax.get_legend()
        else:
            legend = legend if clear else legend_inside(ax, handles, labels, title)[0]
            warn(INSIDE_LEGEND)
        fits = not _past_bottom(legend)
    if not fits:
        warn(CROWDED_LEGEND)
    return legend


#: the smallest font size (points) a legend beside a caller's axes is drawn at to fit below
#: the axes' top (:func:`fit_beside`)
MIN_LEGEND_POINTS = 6.0


def fit_beside(make, height: float, widths: tuple[float, float]):
    """``(legend, (ncols, points), fits)``: ``make(ncols, points)``'s legend beside an axes (its
    top at the axes' top) at most ``height`` tall (display units: :func:`_room_beside_axes`,
    as ``widths``). As made (one column, the legend's font size) where it is not too tall;
    else in the fewest columns (up to 3) at the largest font size (from the legend's own
    down to :data:`MIN_LEGEND_POINTS`) that fits ``height`` and the first of ``widths``
    (the room that leaves the axes wide enough), else the second (the most there is); else
    (``fits`` False) the shortest no wider than the second, or the narrowest. A
    legend of eight entries ran past the bottom of a caller's 10 x 4 in figure (its layout
    engine collapsed the axes)."""
    legend = make()
    if legend.get_window_extent().height <= height:
        return legend, (1, None), True
    size = legend_points()
    sizes = [size, *np.arange(math.ceil(size) - 1, MIN_LEGEND_POINTS - 1e-9, -1.0)]
    tried = [(box.width, box.height, ncols, points) for points in (float(v) for v in sizes)
             for ncols in (1, 2, 3) for box in [make(ncols, points).get_window_extent()]]
    for width in widths:
        fits = [t for t in tried if t[0] <= width and t[1] <= height]
        if fits:  # (in the order tried: the largest font, then the fewest columns)
            return make(*fits[0][2:]), fits[0][2:], True
    narrow = [(h, n, p) for w, h, n, p in tried if w <= widths[1]]
    _, ncols, points = min(narrow) if narrow else min((w, h, n, p) for w, h, n, p in tried)[1:]
    return make(ncols, points), (ncols, points), False


def _room_beside_axes(ax: Axes, gap: float) -> tuple[float, tuple[float, float]]:
    """``(height, (width, most))`` (display units) a legend beside ``ax`` (``gap`` inches
    right of it, its top at the axes' top) may take: down to its figure's bottom edge (less
    a pad of 0.05 in). On a figure without a layout engine, both as wide as reaches the next
    axes on the right (if any) with the axes narrowed to :data:`NARROWEST` of
    their width (:func:`_room_beside`); with one (which narrows the axes to make room), as
    wide as leaves the axes that share of their width or an inch, whichever is less, and
    at most as leaves them 0.3 in. With a layout
    engine, the axes are measured where it puts them (and left where they were), their top
    lowered by a line of title (a panel beside them given a longer title later lowers
    it)."""
    root = ax.figure.figure
    if root.get_layout_engine() is None:
        frame = ax.get_window_extent()
        right = min([_drawn_extent(other).x0 for other in _other_axes(ax)
                     if other.get_window_extent().x0 >= frame.x1], default=math.inf)
        most = right - 4.0 - frame.x1 - gap * root.dpi + (1 - NARROWEST) * frame.width
        return frame.y1 - root.bbox.y0 - 0.05 * root.dpi, (most, most)
    kept = [(other, other.get_position(original=True), other.get_position(),
             other.get_in_layout()) for other in root.axes]
    with warnings.catch_warnings():  # (the layout's say comes when the figure is drawn)
        warnings.simplefilter("ignore")
        root.draw_without_rendering()
    frame = ax.get_window_extent()
    for other, original, active, in_layout in kept:  # (as it was: laid out when drawn)
        other.set_position(original, which="original")
        other.set_position(active, which="active")
        other.set_in_layout(in_layout)  # (set_position takes an axes out of the layout)
    title = matplotlib.font_manager.FontProperties(
        size=matplotlib.rcParams["axes.titlesize"]).get_size_in_points()
    beside = frame.width - gap * root.dpi
    return (frame.y1 - root.bbox.y0 - 0.05 * root.dpi - 1.2 * title * root.dpi / 72,
            (beside - min(NARROWEST * frame.width, root.dpi), beside - 0.3 * root.dpi))


def _past_bottom(legend) -> bool:
    """Whether ``legend`` runs past its figure's bottom edge (more than a pixel; past the
    right edge, beside a figure's rightmost axes, ``savefig(bbox_inches="tight")`` keeps
    it)."""
    return legend.get_window_extent().y0 < legend.figure.figure.bbox.y0 - 1


#: said when a legend of a caller's axes fits nowhere in its figure, even beside them at
#: :data:`MIN_LEGEND_POINTS` (:func:`legend_outside`)
CROWDED_LEGEND = ("a legend is too large for its figure even in 3 columns of small type "
                  "beside its axes, and runs past the figure's edge: make the figure "
                  "larger (or draw fewer series in one axes)")


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
    if _over_other_axes(legend, ax) or _past_bottom(legend):
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
    size = legend_points()
    return max(BESIDE_MIN_CHARS, min(LABEL_CHARS, int(0.5 * inches * 72 / (0.6 * size))))


def legend_points() -> float:
    """The font size (points) of legend entries in effect (``legend.fontsize``)."""
    return matplotlib.font_manager.FontProperties(
        size=matplotlib.rcParams["legend.fontsize"]).get_size_in_points()


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
