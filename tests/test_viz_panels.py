"""Figures of several panels: a shared log axis drawn for every panel whatever one panel
holds, and the figure's title clear of the legend beside the panels."""

from __future__ import annotations

import matplotlib.text
import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.test_viz import _cap_row, _eval_row
from xbarmem.viz.results import plot_rows

FAULTS = (0.0, 0.5, 1.0)


def _capacity_rows(empty: int) -> list[dict]:
    """Capacity rows of two rules at three fault rates (a panel each); the panel ``empty``
    has capacity 0 at every N."""
    return [_cap_row(rule, n, 0 if i == empty else scale * n // 4, fault_rate=f)
            for i, f in enumerate(FAULTS) for rule, scale in (("pinv", 2), ("hebb", 1))
            for n in (16, 36, 64)]


def _positive_points(ax) -> np.ndarray:
    ys = [np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()
          if ln.get_transform() != ax.get_xaxis_transform() and len(ln.get_ydata())]
    ys = np.concatenate(ys) if ys else np.array([])
    return ys[ys > 0]


def _labelled_y(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def _check_panels(axes, empty_axes) -> None:
    for ax in axes:
        ys = _positive_points(ax)
        texts = [t.get_text() for t in ax.texts]
        if ax in empty_axes:
            assert "capacity 0 at every N" in texts
            continue
        assert "capacity 0 at every N" not in texts
        low, high = sorted(ax.get_ylim())
        assert len(ys) and low <= ys.min() and ys.max() <= high, (ax.get_title(), low, high)
    # values can be read off the shared axis (labelled beside the panels of the first column)
    assert max(len(_labelled_y(ax)) for ax in axes) >= 2


@pytest.mark.parametrize("empty", [0, 1, 2])
def test_a_panel_of_capacity_0_leaves_the_shared_axis_of_the_others_drawn(empty):
    """`xbarmem plot` of capacity rows at 0%, 50% and 100% stuck (capacity 0 at every N in
    the last panel) drew every panel without a y tick label, on the empty panel's 1..10, the
    other panels' points past the top."""
    fig = plot_rows(_capacity_rows(empty), "capacity")
    fig.draw_without_rendering()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    _check_panels(axes, [axes[empty]])


@pytest.mark.parametrize("empty_first", [True, False])
def test_a_callers_shared_axes_keep_their_labels_whatever_panel_is_empty(empty_first):
    """The same in a caller's grid of axes sharing y, the empty panel drawn first or last."""
    rows = _capacity_rows(0)
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    calls = [(left, [r for r in rows if r["config"]["fault_rate"] == 0.0]),
             (right, [r for r in rows if r["config"]["fault_rate"] == 0.5])]
    for ax, part in calls if empty_first else calls[::-1]:
        plot_rows(part, "capacity", ax=ax)
    fig.draw_without_rendering()
    _check_panels([left, right], [left])


def _overlaps(fig: Figure) -> list[str]:
    """Texts of the figure's title that overlap one of its legends."""
    fig.draw_without_rendering()
    title = fig.get_suptitle() and next(t for t in fig.findobj(matplotlib.text.Text)
                                        if t is fig._suptitle)
    assert title, "no figure title"
    box = title.get_window_extent()
    return [t.get_text() for legend in fig.legends for t in [legend.get_title()]
            if legend.get_window_extent().overlaps(box)]


RULES = ("adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron")


LONG = ("binary MNIST patterns (a random subset), N = 36, paper-sim chip, 10% flips, sign "
        "neurons, a title as long as the default one of a sweep")


@pytest.mark.parametrize("title", ["", LONG])
@pytest.mark.parametrize("kind, rules, extra", [
    ("faults", RULES, {"patterns": 4}),
    ("faults", ("pinv", "hebb"), {"chip": "my-lab-wafer-07-die-3-characterised-at-85C"}),
    ("patterns", RULES, {"data": "mnist"}),
    ("variation", RULES[:3], {"kind": "continuous"}),
])
def test_the_title_of_a_figure_of_panels_clears_its_legend(kind, rules, extra, title):
    """`xbarmem plot --kind faults` of six rules in panels drew the figure's title, centred
    on the whole figure, into the legend beside the panels (widened by its entry for series
    equal to another at every point, as two rules are here)."""
    x = {"faults": "fault_rate", "patterns": "patterns", "variation": "variation"}[kind]
    facet = "patterns" if kind != "patterns" else "fault_rate"
    rows = [_eval_row(rule, 0.0, 0.9 - i // 2 / 20 - v / 10, **{**extra, x: v, facet: p})
            for i, rule in enumerate(rules) for v in (0.0, 0.5, 1.0) for p in (1, 2, 3)]
    fig = plot_rows(rows, kind, title=title)
    assert fig.legends and len(fig.axes) > 1
    assert _overlaps(fig) == []
