"""Figures as a reviewer reads them: series equal at every point drawn so that both show
(and the legend says so), and ticks that reach the outermost data on every linear axis."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tests.test_viz import _cap_row, _eval_row
from xbarmem.viz.figures import scaling_plot
from xbarmem.viz.marks import equal_series
from xbarmem.viz.results import plot_rows
from xbarmem.viz.ticks import SparseLocator, covers, with_ends

#: hebb equal to pinv at every fault rate, adaptive above both
EQUAL = [_eval_row(rule, f, base - f / 3, seed=s)
         for rule, base in (("adaptive", 1.0), ("pinv", 0.9), ("hebb", 0.9))
         for f in (0.0, 0.2, 0.4, 0.7) for s in range(2)]


def _drawn(ax) -> dict[str, tuple]:
    """``{colour: (dash patterns of its lines, marker face colours of its points)}`` of the
    series of ``ax`` (error bar caps left out)."""
    out: dict[str, tuple[set, set]] = {}
    for line in ax.get_lines():
        if not line.get_xdata().size:
            continue
        dashes, faces = out.setdefault(matplotlib.colors.to_hex(line.get_color()), (set(), set()))
        if line.get_linestyle() not in ("None", ""):
            dashes.add(tuple(line._unscaled_dash_pattern[1] or ()))
        if line.get_marker() not in (None, "", "None", "_", "|"):
            face = line.get_markerfacecolor()
            faces.add(face if isinstance(face, str) else matplotlib.colors.to_hex(face))
    return out


def _labels(fig) -> list[str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return [t.get_text().replace("\n", " ") for t in legend.get_texts()]


def test_equal_series_are_found_in_drawing_order():
    xs = [0.0, 0.5]
    same = equal_series([(xs, [1, 2]), (xs, [1, 3]), (xs, [1, 2]), (xs, [1.0, 2.0])])
    assert same == [None, None, (0, 1), (0, 2)]
    assert equal_series([([0, 1], [1, 2]), ([0, 2], [1, 2])]) == [None, None]


@pytest.mark.parametrize("kind", ["faults", "capacity"])
def test_a_series_equal_to_another_differs_in_dashes_and_markers_and_is_named(kind):
    if kind == "faults":
        fig = plot_rows(EQUAL, "faults")
    else:
        fig = plot_rows([_cap_row(rule, n, n // 4, seed=0) for rule in ("hebb", "pinv")
                         for n in (16, 36, 64)], "capacity")
    styles = _drawn(fig.axes[0])
    hebb, pinv = styles["#009e73"], styles["#0072b2"]  # hebb drawn first, pinv over it
    # pinv dashed in its own way (equal_cue), apart from hebb's line: hebb shows in its gaps
    assert len(hebb[0]) == 1 and pinv[0] and hebb[0].isdisjoint(pinv[0])
    assert pinv[1] == {"none"} and "none" not in hebb[1]  # hebb's filled marker inside
    assert any("pinv" in t and "= hebb at every point" in t for t in _labels(fig))
    assert not any("adaptive" in t and "=" in t for t in _labels(fig))


def test_scaling_thresholds_equal_at_every_size_are_told_apart():
    fit = {"slope": 0.9, "slope_low": 0.8, "slope_high": 1.0, "prefactor": 0.3}
    fig = scaling_plot({"sizes": [16, 25, 36], "capacity": {"0.9": [5, 9, 13],
                                                            "0.99": [5, 9, 13]},
                        "fits": {"0.9": fit, "0.99": fit},
                        "settings": {"arch": "single", "kind": "binary"}})
    fits = [line for line in fig.axes[0].get_lines() if line.get_xdata().size == 50]
    assert len(fits) == 2 and fits[0].get_linestyle() != fits[1].get_linestyle()
    assert any("@ 0.99" in t and "= @ 0.9 at every point" in t for t in _labels(fig))


def _two_panels(width: float, faults=(0.0, 0.1, 0.2, 0.3)) -> Figure:
    """The guide's figure of two caller's panels (pinv left, hebb right)."""
    fig = Figure(figsize=(width, 2.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    rows = [_eval_row(rule, f, 1 - f, seed=s) for rule in ("pinv", "hebb") for f in faults
            for s in range(2)]
    plot_rows([r for r in rows if r["config"]["rule"] == "pinv"], "faults", ax=left)
    plot_rows([r for r in rows if r["config"]["rule"] == "hebb"], "faults", ax=right)
    return fig


def _tick_span(axis) -> tuple[float, float]:
    lo, hi = sorted(axis.get_view_interval())
    ticks = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
    return min(ticks), max(ticks)


@pytest.mark.parametrize("make", [
    lambda: _two_panels(10), lambda: _two_panels(7), lambda: _two_panels(5),  # (5: 0 axes)
    lambda: plot_rows(EQUAL, "faults"),
    lambda: plot_rows([_eval_row("pinv", 0.0, 1 - p / 40, seed=0, patterns=p)
                       for p in (1, 2, 5, 9, 13)], "patterns"),
    lambda: plot_rows([_eval_row(rule, f, 1 - f / 2, seed=0, n_neurons=n)
                       for rule in ("pinv", "hebb") for n in (16, 64) for f in (0.0, 0.15, 0.3)],
                      "faults"),
])
def test_the_ticks_of_a_linear_x_axis_reach_the_outermost_points(make):
    fig = make()
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data():
            continue
        lo, hi = _tick_span(ax.xaxis)
        data = ax.dataLim.intervalx
        assert lo <= data[0] + 1e-9 and hi >= data[1] - 1e-9, (lo, hi, data)


def test_covering_ticks_are_the_usual_ones_when_those_reach_the_data():
    ticks = SparseLocator().tick_values(-0.02, 0.42)
    assert list(ticks[(ticks >= -0.02) & (ticks <= 0.42)]) == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4])
    assert covers([0.0, 0.2, 0.4], (0.0, 0.4), (-0.02, 0.42))
    assert not covers([0.0, 0.2, 0.4], (0.0, 0.3), (-0.02, 0.32))
    assert list(with_ends(np.array([0.0, 0.2, 0.4, 0.6]), (0.0, 0.7))) == pytest.approx(
        [0.0, 0.2, 0.4, 0.6, 0.7])
    assert list(with_ends(np.array([0.0, 0.2, 0.4, 0.6]), (0.0, 0.65))) == pytest.approx(
        [0.0, 0.2, 0.4, 0.65])  # (0.6 would touch 0.65)


def test_panels_share_one_entry_per_rule_and_say_once_what_the_dashes_mean():
    from xbarmem.viz.results import EQUAL_SHARED

    rows = [_eval_row(rule, f, 1 - f / (2 if rule == "pinv" or n == 16 else 3), seed=0,
                      n_neurons=n)
            for rule in ("hebb", "pinv") for n in (16, 64) for f in (0.0, 0.3)]
    fig = plot_rows(rows, "faults")  # equal at N = 16, apart at N = 64
    assert len(fig.axes) == 2
    assert _labels(fig) == ["hebb", "pinv", EQUAL_SHARED.replace("\n", " ")]
    left, right = (_drawn(ax)["#0072b2"] for ax in fig.axes)
    assert left[1] == {"none"} and "none" not in right[1]


@pytest.mark.parametrize("width", [7, 10])
def test_a_legend_beside_a_callers_panel_leaves_the_data_most_of_the_panel(width):
    fig = _two_panels(width)
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        assert legend.width < 0.8 * ax.get_window_extent().width  # (2.7 at 7 in: 0.55 in axes)
        assert not any(legend.overlaps(other.get_window_extent()) for other in fig.axes)


@pytest.mark.parametrize(("low", "high"), [(0.4092, 0.8292), (0.725, 0.962), (0.116, 0.516),
                                           (0.97, 1.0)])
def test_the_ticks_of_a_cosine_axis_reach_the_lowest_and_highest_mean(low, high):
    """Matplotlib's ticks over the 8% margins left a mean of 0.41 below a lowest tick of 0.5
    and one of 0.96 above a highest tick of 0.9; the labels are round numbers."""
    faults = (0.0, 0.2, 0.4, 0.6)
    rows = [_eval_row("pinv", f, high - (high - low) * i / 3, seed=0)
            for i, f in enumerate(faults)]
    fig = plot_rows(rows, "faults")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    lo, hi = _tick_span(ax.yaxis)
    assert lo <= low + 1e-9 and hi >= high - 1e-9, (lo, hi)
    assert hi <= 1.0 + 1e-9  # (no tick at an impossible cosine)
    shown = [t for t in ax.yaxis.get_majorticklocs() if lo <= t <= hi]
    assert all(abs(t * 20 - round(t * 20)) < 1e-6 * 20 or abs(t * 100 - round(t * 100)) < 1e-6
               for t in shown)  # round values, not the data's own


def test_a_shared_legend_shows_a_rule_in_its_own_dashes_where_a_panel_drew_it_over_another():
    """A rule equal to another in the first panel (drawn dashed and hollow over it there) had
    its shared legend entry drawn solid: pinv, dashed in every other panel, read as a solid
    line in the legend. The entry now has the dashes of its line where it is drawn alone."""
    rows = [_eval_row(rule, f, 1 - f / (2 if rule == "pinv" or n == 16 else 3), seed=0,
                      n_neurons=n)
            for rule in ("hebb", "pinv") for n in (16, 64) for f in (0.0, 0.3)]
    fig = plot_rows(rows, "faults")  # pinv equal to hebb at N = 16, apart at N = 64
    FigureCanvasAgg(fig).draw()
    entry = {t.get_text(): h for t, h in zip(fig.legends[0].get_texts(),
                                             fig.legends[0].legend_handles, strict=True)}
    drawn = _drawn(fig.axes[1])["#0072b2"]  # pinv at N = 64: its own dashes, filled
    assert {tuple(entry["pinv"]._unscaled_dash_pattern[1] or ())} == drawn[0] != {()}
    assert entry["pinv"].get_markerfacecolor() != "none"


def test_a_line_of_the_weight_fault_model_names_no_stuck_on_share():
    """A sweep over the device fault model's ``on_fraction`` beside weight-model trials (a
    union of grids) labelled the weight-model line ``stuck weights, 50% of faults stuck ON``
    (its stored default), a share the weight model has not: its faulty weights are 0, and a
    sweep refuses ``on_fraction`` with it. That line now reads ``stuck weights``."""
    rows = [_eval_row("hebb", f, 1 - f / k, seed=0, fault_model=model, on_fraction=on)
            for model, on, k in (("device", 0.0, 2), ("device", 1.0, 3), ("weight", 0.5, 4))
            for f in (0.1, 0.3)]
    rows += [_eval_row("hebb", f, 1 - f / 5, seed=0, on_fraction=0.5, fault_model=None,
                       chip_spec={"array": {"fault_model": "weight"}}) for f in (0.1, 0.3)]
    labels = _labels(plot_rows(rows, "faults"))
    assert sum("stuck devices" in t for t in labels) == 2
    assert [t for t in labels if "stuck ON" in t] == ["stuck devices, 0% of faults stuck ON",
                                                      "stuck devices, 100% of faults stuck ON"]
    assert "stuck weights" in labels and "fault model default" in labels, labels
