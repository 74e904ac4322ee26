"""Legends beside a caller's axes fit its figure (every entry inside it, the layout engine
applied), and a log axis of counts with one value > 0 is drawn around that value."""

from __future__ import annotations

import math
import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tests.test_viz import _cap_row
from tests.test_viz_access import ALL_RULES, CAPACITY, RULES, SCALING
from xbarmem.errors import XbarmemWarning
from xbarmem.viz.figures import scaling_plot
from xbarmem.viz.legends import CROWDED_LEGEND
from xbarmem.viz.results import plot_rows


def _capacity(rules: int):
    """Capacity rows of ``rules`` rules at two thresholds: 2 x ``rules`` legend entries."""
    return [row for row in CAPACITY if row["config"]["rule"] in RULES[:rules]]


#: what is drawn into the left axes: (name, function of ax), 2 to 8 legend entries
PLOTS = [("capacity-2", lambda ax: plot_rows(_capacity(1), "capacity", ax=ax)),
         ("capacity-4", lambda ax: plot_rows(_capacity(2), "capacity", ax=ax)),
         ("capacity-8", lambda ax: plot_rows(_capacity(4), "capacity", ax=ax)),
         ("all-rules", lambda ax: plot_rows(ALL_RULES, "faults", ax=ax, thresholds=[0.9]))]


def _drawn(plot, size, layout):
    """``plot`` into the left of two axes of a caller's ``size`` figure, a scaling figure on
    the right; the figure drawn; the warnings raised."""
    fig = Figure(figsize=size, layout=layout)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot(left)
        scaling_plot(SCALING, ax=right)
        fig.canvas.draw()
    return fig, [str(w.message) for w in caught]


def _outside(fig) -> list[tuple[str, tuple]]:
    """The legends of ``fig`` whose window extent is not inside the figure's (a pixel's
    slack), by first entry; without a layout engine, a legend may run past the right edge
    (beside the rightmost axes, as ``savefig(bbox_inches="tight")`` keeps it)."""
    edge = fig.bbox
    right = edge.x1 + 1 if fig.get_layout_engine() else math.inf
    out = []
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]:
        box = legend.get_window_extent()
        if box.x0 < edge.x0 - 1 or box.y0 < edge.y0 - 1 or box.x1 > right or \
                box.y1 > edge.y1 + 1:
            out.append((legend.get_texts()[0].get_text(), tuple(box.extents.round())))
    return out


@pytest.mark.parametrize("name,plot", PLOTS, ids=[n for n, _ in PLOTS])
@pytest.mark.parametrize("size,layout", [((10, 4), "constrained"), ((8, 3), "constrained"),
                                         ((12, 6), "constrained"), ((7, 5), "constrained"),
                                         ((10, 4), None), ((12, 6), None)])
def test_every_legend_lies_inside_a_callers_figure(name, plot, size, layout):
    """Eight capacity entries beside the left axes of a caller's 10 x 4 in figure with
    constrained layout ran 0.45 in past its bottom (at 8 x 3 in, matplotlib said
    "constrained_layout not applied" and drew the axes as placed); without a layout engine,
    it ran past the bottom beside the narrowed axes. Now each fits: as it was where it
    fits, else in more columns or smaller type (or inside the axes)."""
    fig, said = _drawn(plot, size, layout)
    assert not _outside(fig), (name, size, layout, _outside(fig))
    assert not [s for s in said if "not applied" in s or s == CROWDED_LEGEND], said
    assert all(ax.get_position().width > 0 for ax in fig.axes)


def test_a_legend_that_fits_nowhere_says_so():
    """Eight entries in half a 6 x 2.5 in figure fit neither beside the axes (in 3 columns
    of 6 pt type) nor inside them: a warning says so and how to make room."""
    with pytest.warns(XbarmemWarning, match="too large for its figure"):
        fig = Figure(figsize=(6, 2.5), layout="constrained")
        FigureCanvasAgg(fig)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "constrained_layout not applied")
            plot_rows(_capacity(4), "capacity", ax=fig.subplots(1, 2)[0])


def _labels(ax) -> dict[float, str]:
    """The y axis' labelled ticks in view: {value: label}."""
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    return {float(t.get_loc()): t.label1.get_text()
            for t in [*ax.yaxis.get_major_ticks(), *ax.yaxis.get_minor_ticks()]
            if t.label1.get_visible() and t.label1.get_text()
            and low * (1 - 1e-9) <= t.get_loc() <= high * (1 + 1e-9)}


def _one_value(where: str, value: int, zero: bool):
    """A figure (``where``: scaling or capacity) of capacities ``value`` at N = 16 and 36
    (``zero``: 0 at N = 16), on a log axis; its axes."""
    caps = [0 if zero else value, value]
    if where == "scaling":
        fig = scaling_plot({"sizes": [16, 36], "capacity": {"0.9": caps}, "fits": {},
                            "settings": {"arch": "single", "kind": "binary"}})
    else:
        fig = plot_rows([_cap_row("pinv", n, c) for n, c in zip((16, 36), caps, strict=True)],
                        "capacity")
    FigureCanvasAgg(fig)
    return fig.axes[0]


@pytest.mark.parametrize("where", ["scaling", "capacity"])
@pytest.mark.parametrize("value", [1, 3, 7, 1000])
@pytest.mark.parametrize("zero", [True, False])
def test_a_count_axis_of_one_value_shows_it_and_integer_neighbours(where, value, zero):
    """Capacities [0, 1] (`xbarmem scaling --sizes 16,25 --threshold 1.0 --level 0.3
    --faults 0.5`) were drawn on 0.1 .. 10, a 0.1 label beside the capacity-0 marker, and
    [3, 3] of a capacity figure on 3 .. 3 (no axis to read): the axis spans the value a
    factor of 2 or more each way, labelled at the value and integer neighbours only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = _one_value(where, value, zero)
        labels = _labels(ax)
    low, high = ax.get_ylim()
    assert low <= value / 2 and high >= 2 * value, (low, high)
    assert [text for loc, text in labels.items() if math.isclose(loc, value)] == [str(value)]
    assert len(labels) >= 2, labels
    for loc, text in labels.items():
        assert loc >= 1 - 1e-9 and math.isclose(float(text), loc) and float(text).is_integer()
    assert not [t for t in ax.yaxis.get_minorticklocs() if low <= t < 1], \
        ax.yaxis.get_minorticklocs()
