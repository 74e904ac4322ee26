"""Figures a paper can print: series at equal values all visible (layered marker sizes),
thresholds of one rule told apart without colour, and a labelled tick at or beyond the lowest
and the highest point of every log axis."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tests.test_viz import SWEEP, _cap_row, _eval_row
from xbarmem.viz.energy import ratios_plot
from xbarmem.viz.figures import scaling_plot
from xbarmem.viz.results import plot_rows

#: pinv and adaptive both at cosine 1 at every fault rate (as measured at fault rate 0)
EQUAL = [_eval_row(rule, f, 1.0, seed=s) for rule in ("adaptive", "pinv")
         for f in (0.0, 0.3) for s in range(2)]


def _marker_lines(ax):
    return [line for line in ax.get_lines() if line.get_marker() not in (None, "", "None", "_")
            and line.get_xdata().size]


def _colour_pixels(fig, colour: str) -> int:
    """Pixels of ``colour`` in the data area (legends hidden), at 300 dpi."""
    for legend in fig.legends:
        legend.set_visible(False)
    fig.set_dpi(300)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = matplotlib.colors.to_rgba_array(colour)[0][:3] * 255
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].astype(float)
    return int((abs(rgb - image).sum(axis=-1) < 30).sum())


def test_layered_sizes_shrink_in_drawing_order_and_stay_within_bounds():
    from xbarmem.viz.style import layered

    sizes = [layered(i, 4, ms=4, lw=1)["ms"] for i in range(4)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 4 and sizes[0] <= 4 * 1.9
    assert layered(0, 1, ms=4) == {"ms": 4, "lw": matplotlib.rcParams["lines.linewidth"]}


def test_a_series_equal_to_a_later_one_shows_around_it():
    fig = plot_rows(EQUAL, "faults")
    ax = fig.axes[0]
    sizes = {matplotlib.colors.to_hex(line.get_color()): line.get_markersize()
             for line in _marker_lines(ax)}
    assert sizes["#d55e00"] > sizes["#0072b2"]  # adaptive (drawn first) around pinv
    # adaptive's colour is still on the figure where pinv was drawn over it
    assert _colour_pixels(fig, "#D55E00") > 30  # (0 with equal sizes)


def test_thresholds_of_one_rule_differ_in_their_markers_not_only_in_colour():
    rows = [_cap_row("pinv", n, c, seed=0) for n, c in ((16, 4), (36, 8))]
    for r, low in zip(rows, (2, 5), strict=True):
        r["result"]["capacity"]["0.99"] = low
    ax = plot_rows(rows, "capacity").axes[0]
    fills = {matplotlib.colors.to_hex(line.get_markerfacecolor()) for line in _marker_lines(ax)
             if line.get_linestyle() == "None"}
    assert len(fills) == 2  # filled (0.9) and hollow (0.99)


def test_scaling_thresholds_at_equal_capacities_both_show():
    result = {"sizes": [16, 25, 36], "capacity": {"0.9": [5, 9, 18], "0.99": [5, 9, 13]},
              "fits": {}, "settings": {"arch": "single", "kind": "binary"}}
    ax = scaling_plot(result).axes[0]
    first, second = [line.get_markersize() for line in _marker_lines(ax)][:2]
    assert first > second


def _labelled(ax, which="y"):
    fig = ax.figure
    FigureCanvasAgg(fig).draw()
    axis = ax.yaxis if which == "y" else ax.xaxis
    ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    lo, hi = sorted(axis.get_view_interval())
    return sorted(t.get_loc() for t in ticks if t.label1.get_visible() and t.label1.get_text()
                  and lo * 0.999 <= t.get_loc() <= hi * 1.001)


@pytest.mark.parametrize("caps", [[5, 9, 18], [5, 9, 13], [3, 4, 7], [12, 40, 90]])
def test_the_lowest_and_highest_point_of_a_log_axis_have_a_labelled_tick_beyond(caps):
    result = {"sizes": [16, 25, 36], "capacity": {"0.9": caps}, "fits": {},
              "settings": {"arch": "single", "kind": "binary"}}
    ax = scaling_plot(result).axes[0]
    labels = _labelled(ax)
    assert labels[0] <= min(caps) and labels[-1] >= max(caps), labels
    assert len(labels) >= 3, labels  # (widened past a decade, 2 3 4 6 became 1 10 30)


def test_a_capacity_figure_keeps_its_labels_between_the_decades():
    rows = [_cap_row("pinv", n, c, seed=s) for n, c in ((16, 2), (16, 3), (36, 17), (36, 16))
            for s in (0,)]
    for i, r in enumerate(rows):
        r["config"]["seed"] = i
    labels = _labelled(plot_rows(rows, "capacity").axes[0])
    assert labels[0] <= 2.5 and labels[-1] >= 16.5 and len(labels) >= 4, labels


def test_the_energy_ratios_lowest_point_has_a_labelled_tick_below_and_labels_do_not_touch():
    ax = ratios_plot(SWEEP).axes[0]
    labels = _labelled(ax)
    values = [r[k] for r in SWEEP["rows"] for k in ("energy_ratio", "latency_ratio")]
    assert labels[0] <= min(values) and labels[-1] >= max(values)
    boxes = [t.label1.get_window_extent() for t in ax.yaxis.get_major_ticks()
             + ax.yaxis.get_minor_ticks() if t.label1.get_visible() and t.label1.get_text()]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_ticks_of_a_log_axis():
    from xbarmem.viz.ticks import tick_above, tick_below

    assert (tick_below(4.6), tick_above(4.6), tick_below(18), tick_above(18)) == (4, 5, 10, 20)
    assert tick_below(5) == 5 and tick_above(0.047) == pytest.approx(0.05)


def _drawn_boxes(fig, texts):
    """Window extents of the visible, non-empty ``texts`` once ``fig`` is drawn."""
    FigureCanvasAgg(fig).draw()
    return [t.get_window_extent() for t in texts if t.get_visible() and t.get_text()]


def _apart(boxes) -> bool:
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_threshold_values_written_beside_close_lines_do_not_overlap():
    """0.9, 0.95 and 0.99 on a cosine axis from about 0 to 1 (recall failing at large P):
    the values at the right were written over each other; they keep their order."""
    rows = [_eval_row(rule, f, c, seed=s) for rule, c in (("hebb", 0.6), ("pinv", 0.0))
            for f in (0.0, 0.3) for s in range(2)]
    rows += [_eval_row("adaptive", f, 1.0, seed=s) for f in (0.0, 0.3) for s in range(2)]
    fig = plot_rows(rows, "faults", thresholds=(0.9, 0.95, 0.99))
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text() in ("0.9", "0.95", "0.99")]
    boxes = _drawn_boxes(fig, texts)
    assert len(boxes) == 3 and _apart(boxes)
    assert [b.y0 for b in boxes] == sorted(b.y0 for b in boxes)


def test_energy_ratios_of_close_sizes_keep_their_labels_and_ticks_apart():
    """``energy --sizes 16,18,20,256``: the ticks read "161820" and the values at 16-20
    ("3.60x3.72x", "95.2%" over "95.7%") were written over each other."""
    rows = [{"n_neurons": n, "energy_ratio": 4.0 + n / 100, "latency_ratio": 1.1 * n,
             "latency_reduction": 1 - 1 / (1.1 * n)} for n in (16, 18, 20, 256)]
    fig = ratios_plot({**SWEEP, "rows": rows})
    ax = fig.axes[0]
    values = _drawn_boxes(fig, ax.texts)
    assert _apart(values) and 2 <= len(values) < 8
    ticks = [t.label1.get_window_extent() for t in ax.xaxis.get_major_ticks()
             if t.label1.get_visible() and t.label1.get_text()
             and ax.get_xlim()[0] <= t.get_loc() <= ax.get_xlim()[1]]
    assert len(ticks) >= 2 and _apart(ticks)
