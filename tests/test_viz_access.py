"""Figures read in a greyscale print or by a colour-blind reader: any two series of one legend
differ in lightness by a visible margin or in what they are drawn with (line dashes; for
series of points only, marker shape or fill), and no legend covers a plotted point -- in
every figure kind, drawn alone, into a caller's figure with a layout engine, and into a
caller's figure without one (where the legend goes inside the axes)."""

from __future__ import annotations

import itertools
import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

from tests.test_viz import SCALING, SWEEP, _cap_row, _eval_row
from xbarmem.viz.energy import ratios_plot
from xbarmem.viz.figures import scaling_plot
from xbarmem.viz.results import plot_rows
from xbarmem.viz.style import RULE_STYLES, lightness

#: the least lightness difference (CIE L*, 0 black .. 100 white) that tells two series apart
#: without another cue (measured independently of xbarmem.viz.style's own constant)
MARGIN = 20.0

RULES = list(RULE_STYLES)
#: every shipped rule, falling at different rates (the figures of `xbarmem plot` and of
#: reproduce's sections with every rule)
ALL_RULES = [_eval_row(rule, f, 1.0 - f * (0.3 + 0.2 * i) + 0.02 * s, seed=s)
             for i, rule in enumerate(RULES) for f in (0.0, 0.1, 0.2, 0.3, 0.5)
             for s in range(2)]
#: one rule, six settings: the series of one panel are the settings (series_style)
FACETS = [_eval_row("pinv", f, 1.0 - f * (0.2 + 0.1 * i), n_neurons=n)
          for i, n in enumerate((16, 25, 36, 49, 64, 81)) for f in (0.0, 0.2, 0.4)]
#: capacities of four rules at two thresholds (line styles by threshold before)
CAPACITY = [_cap_row(rule, n, max(1, n // (2 + i)), seed=s) for i, rule in enumerate(RULES[:4])
            for n in (16, 36, 64) for s in range(2)]
for _row in CAPACITY:
    _row["result"]["capacity"]["0.99"] = max(1, _row["result"]["capacity"]["0.9"] // 2)
#: two data sets of one rule in panels: reproduce's fault-tolerance and correlation figures
PANELS = [_eval_row(rule, f, 1.0 - f * (0.4 + 0.3 * i), seed=0, data=data)
          for i, rule in enumerate(RULES) for data in ("random", "digits")
          for f in (0.0, 0.2, 0.4)]
#: a scaling result of six thresholds (series_style by threshold)
SIX_THRESHOLDS = {"sizes": [16, 36, 64],
                  "capacity": {t: [8 - i, 14 - 2 * i, 24 - 3 * i] for i, t in enumerate(
                      ("0.5", "0.6", "0.7", "0.8", "0.9", "0.95"))},
                  "fits": {}, "settings": {"arch": "single", "kind": "binary"}}


def _figures():
    """(name, function of ax -> Figure) for every figure kind and the series it draws."""
    return [
        ("all-rules", lambda ax: plot_rows(ALL_RULES, "faults", ax=ax, thresholds=[0.9],
                                           reference={"paper pinv": ([0.0, 0.3], [1.0, 0.8]),
                                                      "paper hebb": ([0.0], [0.9])})),
        ("facets", lambda ax: plot_rows(FACETS, "faults", ax=ax)),
        ("panels", lambda ax: plot_rows(PANELS, "faults", ax=ax)),
        ("capacity", lambda ax: plot_rows(CAPACITY, "capacity", ax=ax)),
        ("scaling", lambda ax: scaling_plot(SCALING, ax=ax)),
        ("scaling-6", lambda ax: scaling_plot(SIX_THRESHOLDS, ax=ax)),
        ("ratios", lambda ax: ratios_plot(SWEEP, ax=ax)),
    ]


FIGURES = _figures()
IDS = [name for name, _ in FIGURES]


def lightness_of(colour) -> float:
    """CIE L* of a colour (sRGB, D65), computed here from its definition."""
    rgb = np.asarray(matplotlib.colors.to_rgb(colour), dtype=float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = float(lin @ [0.2126, 0.7152, 0.0722])
    return 116 * np.cbrt(y) - 16 if y > (6 / 29) ** 3 else y * (29 / 3) ** 3


def _cues(handle: Line2D) -> dict:
    """What a legend entry is drawn with: its colour's lightness, its line's dash pattern
    (None: no line) and its marker (shape and whether hollow; None: no marker)."""
    line = handle.get_linestyle() not in ("None", "", " ") and handle.get_linewidth() > 0
    marker = handle.get_marker() not in (None, "", "None", " ")
    face = handle.get_markerfacecolor()
    hollow = isinstance(face, str) and face == "none" or (
        not isinstance(face, str) and len(face) == 4 and face[3] == 0) or (
        matplotlib.colors.to_hex(face) != matplotlib.colors.to_hex(handle.get_color()))
    dashes = handle._unscaled_dash_pattern[1]
    return {"L": lightness_of(handle.get_color()),
            "line": tuple(dashes) if line and dashes else ("solid",) if line else None,
            "marker": (str(handle.get_marker()), hollow) if marker else None}


def told_apart(a: dict, b: dict) -> bool:
    """Whether two legend entries differ in greyscale: lightness by :data:`MARGIN`, or (both
    drawn with lines) their dashes, or (one or both of points only) line or marker. A line
    is read along its whole length, across the other lines: markers, which show at the
    measured points only, do not tell two lines of one lightness and one dash apart."""
    if abs(a["L"] - b["L"]) >= MARGIN:
        return True
    if a["line"] and b["line"]:
        return a["line"] != b["line"]
    return (a["line"], a["marker"]) != (b["line"], b["marker"])


def _legends(fig: Figure) -> list[Legend]:
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]


def _alike(fig: Figure) -> list[tuple[str, str]]:
    """The pairs of entries of one legend of ``fig`` that greyscale does not tell apart."""
    out = []
    for legend in _legends(fig):
        entries = [(text.get_text(), _cues(handle)) for text, handle in
                   zip(legend.get_texts(), legend.legend_handles, strict=True)
                   if isinstance(handle, Line2D)]
        out += [(a, b) for (a, ca), (b, cb) in itertools.combinations(entries, 2)
                if not told_apart(ca, cb)]
    return out


def test_lightness_is_cie_l_star():
    assert lightness_of("black") == pytest.approx(0) and lightness_of("white") == \
        pytest.approx(100)
    assert lightness_of("#777777") == pytest.approx(50.0, abs=0.2)
    for colour in ("#D55E00", "#56B4E9", "#882255"):  # xbarmem's own function agrees
        assert lightness(colour) == pytest.approx(lightness_of(colour), abs=1e-6)


def test_the_measure_finds_series_alike_in_greyscale():
    """Two solid lines of one lightness (markers apart) are alike; a dash, a lightness step
    of the margin, or points only with other markers tell them apart."""
    def cue(colour, ls="-", marker="o", mfc=None):
        return _cues(Line2D([], [], color=colour, ls=ls, marker=marker, mfc=mfc))

    orange, sky = "#E69F00", "#56B4E9"  # L* 70.6 and 69.8
    assert not told_apart(cue(orange, marker="D"), cue(sky, marker="P"))
    assert told_apart(cue(orange), cue(sky, ls="--"))
    assert told_apart(cue(orange), cue("#0072B2"))  # L* 46
    assert told_apart(cue(orange, ls="none", marker="D"), cue(sky, ls="none", marker="P"))
    assert told_apart(cue(orange, ls="none"), cue(orange, ls="none", mfc="none"))
    assert not told_apart(cue(orange, ls="none"), cue(sky, ls="none"))


@pytest.mark.parametrize("name,plot", FIGURES, ids=IDS)
def test_every_two_series_of_a_legend_differ_in_greyscale(name, plot):
    """In a greyscale print (and, as lightness is what a colour-blind reader keeps, under
    deuteranopia and protanopia) storkey-variant's orange and perceptron's sky blue were one
    grey, solid both (reproduce's figure (d)): series alike in lightness differ in dashes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drawn = [plot(None), plot(Figure(figsize=(6, 3), layout="constrained").add_subplot())]
    for fig in drawn:
        assert _legends(fig)
        assert not _alike(fig), (name, _alike(fig))


def _points(ax) -> np.ndarray:
    """The display coordinates of every plotted point of ``ax``: the vertices of its lines
    drawn with markers (each widened by the marker's radius) and the ends of its error
    bars; reference lines and fits (lines without markers) are not points."""
    ax.figure.canvas.draw()
    pts = []
    for line in ax.get_lines():
        xy = line.get_xydata()
        if line.get_marker() in (None, "", "None", " ") or not len(xy):
            continue
        xy = line.get_transform().transform(xy)
        r = line.get_markersize() / 2 * ax.figure.dpi / 72
        pts += [xy + d for d in ((0, 0), (r, 0), (-r, 0), (0, r), (0, -r))]
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                pts.append(coll.get_transform().transform(np.asarray(seg)))
    out = np.concatenate(pts) if pts else np.zeros((0, 2))
    return out[np.isfinite(out).all(axis=1)]


def _covered(fig: Figure) -> dict[str, int]:
    """Plotted points under a legend, per legend (by its first entry)."""
    fig.canvas.draw()
    out = {}
    for legend in _legends(fig):
        box = legend.get_window_extent()
        n = sum(int(box.count_contains(_points(ax))) for ax in fig.axes)
        if n:
            out[legend.get_texts()[0].get_text()] = n
    return out


def _caller(plot, layout):
    """``plot`` drawn into the left of two axes of a caller's figure (``layout``: its layout
    engine), another figure on the right: without a layout engine, the left legend has no
    room beside its axes and is drawn inside them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(10, 4), layout=layout)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plot(left)
        scaling_plot(SCALING, ax=right)
    return fig


@pytest.mark.parametrize("name,plot", FIGURES, ids=IDS)
def test_no_legend_covers_a_plotted_point(name, plot):
    """A legend drawn inside a caller's axes (a figure without a layout engine) was placed by
    matplotlib's "best", which counts neither markers' size nor error bars and, when every
    place covers something, takes the least bad: it covered points of every rule's series.
    Now it goes where it covers none, above the data when nowhere else."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    alone = plot(None)
    FigureCanvasAgg(alone)
    for fig in (alone, _caller(plot, "constrained"), _caller(plot, None)):
        assert not _covered(fig), (name, fig.get_layout_engine(), _covered(fig))


def test_a_legend_too_tall_for_the_axes_goes_beside_them_narrowed_with_a_warning():
    """Eight capacity series (two thresholds of four rules) in half a 10 x 4 in figure without
    a layout engine: their legend is taller than the axes, so no place inside covers no point
    and raising the y axis cannot make room; the axes are narrowed, keeping their left edge,
    and the legend lies beside them, over neither the other panel nor its labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xbarmem.errors import XbarmemWarning

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    scaling_plot(SCALING, ax=right)
    before = left.get_position()
    with pytest.warns(XbarmemWarning, match="narrowed to make room") as caught:
        plot_rows(CAPACITY, "capacity", ax=left)
    assert len(caught) == 1
    fig.canvas.draw()
    after = left.get_position()
    assert after.x0 == before.x0 and 0.4 * before.width <= after.width < before.width
    box = left.get_legend().get_window_extent()
    assert box.x0 >= left.get_window_extent().x1
    assert not box.overlaps(right.get_tightbbox())
    assert not _covered(fig)
