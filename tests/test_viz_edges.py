"""Figures of unusual results: capacities of 0 on log axes, values over many decades, long
names, tiny fault rates, a caller's grid of Axes and style (fonts, a dark background)."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.style
import pytest
from matplotlib.figure import Figure

from tests.test_viz import ROWS, SCALING, _cap_row, _eval_row
from xbarmem.errors import ArgumentError, ConfigError, XbarmemWarning
from xbarmem.viz.figures import recall_grid, scaling_plot
from xbarmem.viz.results import plot_rows
from xbarmem.viz.style import REFERENCE_COLOR, save_figure, series_style
from xbarmem.viz.text import LABEL_CHARS, MAX_TITLE_CHARS, MAX_TITLE_LINES
from xbarmem.viz.ticks import plain_number


def _drawn_quietly(make, tmp_path) -> Figure:
    """``make()`` drawn and saved with every warning an error (matplotlib's "Data has no
    positive values" among them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = make()
        save_figure(fig, tmp_path / "f.png")
    return fig


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def _zero_markers(ax) -> list:
    """Lines drawn on the x axis (x in data, y in axes coordinates) at y = 0."""
    return [ln for ln in ax.get_lines() if ln.get_transform() == ax.get_xaxis_transform()
            and list(ln.get_ydata()) == [0.0] * len(ln.get_ydata())]


@pytest.mark.parametrize("source", ["scaling", "store"])
def test_a_capacity_of_0_everywhere_says_so_instead_of_crashing(source, tmp_path):
    """`xbarmem scaling` whose capacities were all 0 ended in a ValueError traceback when
    saving; `xbarmem plot --kind capacity` of such rows printed matplotlib's warning and
    drew an empty frame labelled 1-10."""
    if source == "scaling":
        make = lambda: scaling_plot({**SCALING, "capacity": {"0.9": [0, 0, 0]},  # noqa: E731
                                     "fits": {"0.9": None}})
    else:
        make = lambda: plot_rows([_cap_row("hebb", n, 0) for n in (16, 36, 64)],  # noqa: E731
                                 "capacity")
    fig = _drawn_quietly(make, tmp_path)
    ax = fig.axes[0]
    assert "capacity 0 at every N" in _texts(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == []  # no value to misread
    assert [list(ln.get_xdata()) for ln in _zero_markers(ax)] == [[16, 36, 64]]
    assert any("0 (hollow, on the x axis; left out of the fit: log 0)" in " ".join(
        t.get_text().split()) for t in fig.legends[0].get_texts())  # (wrapped: joined)


def test_a_capacity_of_0_at_some_sizes_is_drawn_on_the_x_axis(tmp_path):
    """Before, a size whose capacity was 0 silently had no point on the log axis."""
    rows = [_cap_row("hebb", n, c) for n, c in ((16, 0), (36, 4), (64, 9))]
    fig = _drawn_quietly(lambda: plot_rows(rows, "capacity"), tmp_path)
    assert [list(ln.get_xdata()) for ln in _zero_markers(fig.axes[0])] == [[16.0]]
    fig = _drawn_quietly(lambda: scaling_plot(
        {**SCALING, "capacity": {"0.9": [0, 8, 14], "0.99": [2, 5, 9]}}), tmp_path)
    assert [list(ln.get_xdata()) for ln in _zero_markers(fig.axes[0])] == [[16.0]]
    plain = plot_rows([_cap_row("hebb", n, c) for n, c in ((16, 2), (36, 4), (64, 9))],
                      "capacity")
    assert not _zero_markers(plain.axes[0])
    assert not any("hollow" in t.get_text() for t in plain.legends[0].get_texts())


def test_log_axes_label_every_decade_in_one_form():
    """Capacities over 5 decades were labelled 1, 10, 100, 1000, 1e4, 1e+05."""
    assert [plain_number(v) for v in (1, 20, 1000, 10000, 1e5, 2e5, 0.001, 5e-4)] == [
        "1", "20", "1000", "10000", "$10^{5}$", r"$2\times10^{5}$", "0.001",
        r"$5\times10^{-4}$"]
    rows = [_cap_row("pinv", n, c) for n, c in ((16, 2), (36, 300), (64, 200000))]
    fig = plot_rows(rows, "capacity")
    fig.draw_without_rendering()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert {"10", "1000", "$10^{5}$"} <= set(labels)
    assert not [s for s in labels if "e" in s.replace("$10^", "")], labels


def _overlapping(texts) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts if t.get_text()]
    return [(a, b) for (a, x), (b, y) in itertools.combinations(boxes, 2) if x.overlaps(y)]


def test_long_names_are_wrapped_and_panel_titles_do_not_run_into_each_other():
    """Two data files of 70-character names drew panel titles over each other and the
    legend; a 70-character chip name widened the figure past its column."""
    chip = "my-lab-2026-hafnium-oxide-1T1R-wafer-07-die-3-characterised-at-85C"
    rows = [_eval_row(rule, f, 0.9 - f / 2, chip=chip, data=f"patterns-from-the-retina-"
                      f"recordings-session-{d}-cleaned-binarised.npy")
            for rule in ("pinv", "hebb") for f in (0.0, 0.5) for d in (0, 1)]
    fig = plot_rows(rows, "faults")
    fig.draw_without_rendering()
    titles = [ax.title for ax in fig.axes]
    assert len(titles) == 2 and not _overlapping(titles + fig.legends[0].get_texts())
    assert all(len(line) <= LABEL_CHARS for t in titles for line in t.get_text().split("\n"))
    assert all(len(line) <= 60 for line in fig.get_suptitle().split("\n"))
    assert chip.replace("-", "") in fig.get_suptitle().replace("\n", "").replace("-", "")
    one = plot_rows([r for r in rows if r["config"]["data"].endswith("0-cleaned-binarised.npy")],
                    "faults")
    assert one.get_size_inches()[0] == pytest.approx(3.5)
    assert all(len(line) <= 60 for line in one.axes[0].get_title().split("\n"))


def test_titles_wrap_between_phrases():
    """reproduce's (d) title wrapped as "10 MNIST (24x24 crop) patterns (one per digit), no
    faults, N" over "= 64, 10% flips": a line now breaks after a comma in its second half,
    and only a line without one is broken between words."""
    from xbarmem.viz.text import wrap_text

    title = "10 MNIST (24x24 crop) patterns (one per digit), no faults, N = 64, 10% flips"
    assert wrap_text(title, 60).split("\n") == [
        "10 MNIST (24x24 crop) patterns (one per digit), no faults,", "N = 64, 10% flips"]
    early = wrap_text("ab, " + " ".join(["word"] * 12), 30).split("\n")  # comma too early
    assert early[0] == "ab, word word word word word" and all(len(x) <= 30 for x in early)
    assert wrap_text("one line, short", 60) == "one line, short"


@pytest.mark.parametrize(("kind", "xs"), [("faults", (0.0, 0.01, 0.02)),
                                          ("faults", (0.0, 0.0025, 0.005, 0.0075, 0.01)),
                                          ("patterns", (2, 4))])
def test_x_tick_labels_do_not_overlap_and_counts_are_whole(kind, xs):
    """Fault rates 0-0.02 were labelled 0.0000 0.0025 ... 0.0200 run together; a patterns
    axis of P = 2 and 4 was labelled 2.00, 2.25, ... stored patterns."""
    key = "fault_rate" if kind == "faults" else "patterns"
    rows = [_eval_row(rule, 0.0, 0.9 - 0.01 * i, **{key: x})
            for i, x in enumerate(xs) for rule in ("pinv", "hebb")]
    fig = plot_rows(rows, kind)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    lo, hi = sorted(ax.get_xlim())
    ticks = [t for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert len(ticks) >= 2 and not _overlapping(ticks)
    if kind == "patterns":
        assert all(float(t.get_position()[0]).is_integer() for t in ticks)


def test_a_plural_only_for_more_than_one_pattern():
    rows = [_eval_row("pinv", f, 1.0, patterns=1) for f in (0.0, 0.1)]
    assert plot_rows(rows, "faults").axes[0].get_title().startswith("1 random pattern,")


def _caller_grid(**rc):
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(12, 8), layout="constrained")
        axes = fig.subplots(2, 2)
        plot_rows(ROWS, "faults", ax=axes[0, 0], thresholds=[0.9])
        plot_rows(ROWS, "faults", ax=axes[0, 0], thresholds=[0.9])  # a second call
        scaling_plot(SCALING, ax=axes[1, 0])
    return fig, axes


def test_a_callers_grid_keeps_its_size_and_its_other_axes_and_one_legend_per_axes():
    fig, axes = _caller_grid()
    assert tuple(fig.get_size_inches()) == (12, 8) and not fig.legends
    assert not axes[0, 1].has_data() and axes[0, 1].get_legend() is None
    assert not axes[1, 1].has_data() and not axes[1, 1].get_title()
    legend = axes[0, 0].get_legend()  # the second call's legend replaces the first's
    assert [t.get_text().split(" (= ")[0] for t in legend.get_texts()] == [  # (pinv =
        "adaptive", "hebb", "pinv", "threshold (value at right)"]  # adaptive at every point)
    fig.draw_without_rendering()
    box = legend.get_window_extent()
    others = [axes[0, 1], axes[1, 0], axes[1, 1]]
    assert not any(box.overlaps(ax.get_window_extent()) for ax in others)
    values = [t for t in axes[0, 0].texts if t.get_text() == "0.9"]  # threshold at right
    assert values and not any(box.overlaps(t.get_window_extent()) for t in values)


@pytest.mark.parametrize("shape", [(1, 2), (2, 2)])
def test_a_callers_figure_without_a_layout_engine_gets_no_legend_over_a_neighbour(shape):
    """In a caller's grid without a layout engine (``plt.subplots(1, 2)``) the legend of the
    left panel, right of it, lay over the right panel's data: it goes inside its own axes
    now; the right panel's, with nothing on its right, stays outside."""
    fig = Figure(figsize=(10, 4 * shape[0]))
    axes = fig.subplots(*shape).reshape(shape)
    with pytest.warns(XbarmemWarning, match='layout="constrained"') as caught:
        plot_rows(ROWS, "faults", ax=axes[0, 0], thresholds=[0.9])
    scaling_plot(SCALING, ax=axes[0, 1])
    assert len(caught) == 1
    fig.draw_without_rendering()
    assert fig.get_layout_engine() is None and tuple(fig.get_size_inches()) == (10, 4 * shape[0])
    for ax in axes.flat:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        assert not any(box.overlaps(other.get_window_extent()) for other in axes.flat
                       if other is not ax)
    inside = axes[0, 0].get_legend().get_window_extent()
    assert axes[0, 0].get_window_extent().contains(inside.x0, inside.y0)
    assert axes[0, 0].get_window_extent().contains(inside.x1, inside.y1)
    outside = axes[0, 1].get_legend().get_window_extent()
    assert outside.x0 > axes[0, 1].get_window_extent().x1


def test_a_callers_figure_with_a_layout_engine_has_every_legend_beside_its_axes():
    """The remedy the warning above names: ``layout="constrained"`` makes room, each legend
    lies right of its own axes and over no other, and nothing is said."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        plot_rows(ROWS, "faults", ax=left, thresholds=[0.9])
        scaling_plot(SCALING, ax=right)
    fig.draw_without_rendering()
    for ax, other in ((left, right), (right, left)):
        box = ax.get_legend().get_window_extent()
        assert box.x0 > ax.get_window_extent().x1
        assert not box.overlaps(other.get_window_extent())


def test_a_callers_font_size_and_dark_style_are_kept():
    """Into a caller's Axes the titles and legends were 7-8 pt next to the caller's 20 pt
    tick labels, and the first non-rule series was black on a black background."""
    dark = matplotlib.style.library["dark_background"]
    fig, axes = _caller_grid(**dark, **{"font.size": 20})
    ax = axes[0, 0]
    assert ax.xaxis.label.get_size() == 20 and ax.title.get_size() == 20
    assert ax.get_legend().get_texts()[0].get_size() == pytest.approx(20 * 0.833, abs=0.1)
    scaling = axes[1, 0].get_lines()[0]  # the first threshold's series
    assert matplotlib.colors.to_hex(scaling.get_color()) == "#ffffff"
    with matplotlib.rc_context(dark):
        assert series_style(0)["color"] == "#ffffff"
    assert series_style(0)["color"] == "#000000"
    own = plot_rows(ROWS, "faults")  # a figure of its own keeps the house sizes
    assert own.axes[0].xaxis.label.get_size() == 8


def test_recall_grid_frames_every_image():
    """On a white (or black) background an image's white (or black) edge pixels merged
    with the figure: the gaps and the frame are now grey."""
    import numpy as np

    stored = np.ones((1, 16))
    fig = recall_grid(stored, -stored, (4, 4), {"pinv": stored})
    image = fig.axes[0].images[0]
    bad = matplotlib.colors.to_hex(image.get_cmap().get_bad())
    assert bad == matplotlib.colors.to_hex(REFERENCE_COLOR)
    assert all(s.get_visible() for s in fig.axes[0].spines.values())


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_row_holding_nan_or_inf_is_refused_naming_it(value):
    """Rows made by hand with a NaN or infinite metric drew a broken line with numpy's
    RuntimeWarnings (a store refuses such numbers when read)."""
    rows = [_eval_row("pinv", f, c) for f, c in ((0.0, 1.0), (0.3, value), (0.6, 0.5))]
    with pytest.raises(ConfigError, match=rf"^no 'faults' figure: a pinv row at fault_rate = "
                                          rf"0.3 has cosine {value}; rows drawn must hold"):
        plot_rows(rows, "faults")
    rows = [_cap_row("pinv", n, c) for n, c in ((16, 2), (36, value), (64, 9))]
    with pytest.raises(ConfigError, match=f"n_neurons = 36 has capacity {value}"):
        plot_rows(rows, "capacity")


@pytest.mark.parametrize("title", ["$\\foo$", "costs $5 and $6", "$x^$"])
def test_titles_and_names_from_the_data_are_drawn_as_written(tmp_path, title):
    """`plot --title '$\\foo$'` ended in a 235-line mathtext traceback and `costs $5 and $6`
    set `5 and` in italics: a title and a legend label (a rule or data set named by the
    user) are drawn as written, `$` included, in a figure of xbarmem's and on a caller's axes."""
    rows = [_eval_row(title, f, 0.9, data=d) for f in (0.0, 0.2) for d in (title, "random")]
    fig = _drawn_quietly(lambda: plot_rows(rows, "faults", title=title), tmp_path)
    named = [t for t in fig.findobj(matplotlib.text.Text) if title in t.get_text()]
    assert len(named) >= 2 and not any(t.get_parse_math() for t in named)  # title, a label
    caller = Figure()
    ax = caller.add_subplot()
    _drawn_quietly(lambda: plot_rows(rows[::2], "faults", ax=ax, title=title), tmp_path)


def _fit_lines(ax):
    """The drawn lines of ``ax`` that are not markers alone (the power-law fits)."""
    return [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "", " ")
            and len(ln.get_xdata()) > 2]


def test_a_scaling_fit_is_drawn_over_the_sizes_it_fitted_only():
    """Capacity 0 at N = 16, 1 at 36 and 64: the fit of 36 and 64 was drawn on to N = 16,
    showing a capacity the run did not measure there."""
    result = {"sizes": [16, 36, 64], "capacity": {"0.99": [0, 1, 1]},
              "fits": {"0.99": {"slope": 0.0, "slope_low": float("nan"),
                                "slope_high": float("nan"), "prefactor": 1.0, "r2": float("nan"),
                                "points": 2, "confidence": 0.95}},
              "settings": {"arch": "single", "rule": "hebb"}}
    (line,) = _fit_lines(scaling_plot(result).axes[0])
    assert min(line.get_xdata()) == pytest.approx(36)
    rows = [_cap_row("pinv", n, c) for n, c in ((16, 0), (36, 3), (64, 5))]
    (line,) = _fit_lines(plot_rows(rows, "capacity").axes[0])
    assert min(line.get_xdata()) == pytest.approx(36)


def test_a_scaling_result_read_back_from_its_json_file_is_drawn():
    """The command's JSON writes a 2-size fit's NaN bounds as null: re-drawing the file
    (a paper figure of one's own) raised TypeError deep in the plot."""
    import json

    from xbarmem.jsontext import dumps

    result = {"sizes": [16, 36, 64], "capacity": {"0.9": [0, 2, 5]},
              "fits": {"0.9": {"slope": 1.1, "slope_low": float("nan"),
                               "slope_high": float("nan"), "prefactor": 0.05, "r2": 1.0,
                               "points": 2, "confidence": 0.95}},
              "settings": {"arch": "single", "rule": "pinv"}}
    fig = scaling_plot(json.loads(dumps(result)))
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "@ 0.9: k = 1.10 (2 sizes: no CI)" in texts


def test_a_sweep_of_hidden_1n_beside_a_fixed_width_draws_both_against_n():
    """``hidden = ["1n", 8]`` over N = 16, 36, 64: the "1n" rows store widths 16, 36, 64,
    which made a facet per N, each of one N, all left out: only the width-8 series was
    drawn (6 of 12 rows)."""
    from xbarmem.viz.series import drawn_rows

    rows = [_cap_row("adaptive", n, c, seed=s, arch="multilayer", **extra)
            for n, c in ((16, 4), (36, 9), (64, 16)) for s in (0, 1)
            for extra in ({}, {"hidden": [8]})]
    assert len(drawn_rows(rows, "capacity")) == len(rows)
    fig = plot_rows(rows, "capacity")
    texts = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "hidden width N" in texts and "hidden width 8" in texts


def _every_figure(title: str) -> list:
    """Makers of each figure that takes a caller's title."""
    grid = [[1.0, -1.0, 1.0, -1.0]]
    return [lambda: plot_rows(ROWS, "faults", title=title),
            lambda: scaling_plot(SCALING, title=title),
            lambda: recall_grid(grid, grid, (2, 2), {"hebb": grid}, title=title)]


def test_the_longest_title_leaves_room_for_the_axes_and_a_longer_one_is_refused(tmp_path):
    """A title of 1,250 characters collapsed the axes (Matplotlib: "constrained_layout not
    applied because axes sizes collapsed to zero"): the longest title taken, in characters or
    in lines, is drawn quietly, and one character or line more is refused naming the limit."""
    longest = ("w " * MAX_TITLE_CHARS)[:MAX_TITLE_CHARS]
    tallest = "\n".join("line" for _ in range(MAX_TITLE_LINES))
    for title in (longest, tallest):
        for make in _every_figure(title):
            _drawn_quietly(make, tmp_path)
    for title, size in ((longest + "w", f"{MAX_TITLE_CHARS + 1} characters"),
                        (tallest + "\nline", f"{MAX_TITLE_LINES + 1} lines")):
        for make in _every_figure(title):
            with pytest.raises(ConfigError, match=f"^title has {size}"):
                make()
    with pytest.raises(ArgumentError, match="title must be text, got int"):
        plot_rows(ROWS, "faults", title=5)  # type: ignore[arg-type]


def test_rows_of_two_xbarmem_versions_are_drawn_apart_not_pooled_as_more_seeds(tmp_path):
    """A sweep run again into its store after an upgrade stores every trial once more (the
    version is part of a trial's key): each point averaged both versions' rows, and the
    legend said "over 4 seeds" of 2 seeds run twice."""
    rows = [_eval_row("pinv", f, c - f / 2, seed=s, version=v)
            for v, c in (("0.2.0", 1.0), ("0.3.0", 0.8)) for f in (0.0, 0.5) for s in range(2)]
    fig = _drawn_quietly(lambda: plot_rows(rows, "faults"), tmp_path)
    texts = _texts(fig)
    assert any("over 2 seeds" in t for t in texts), texts
    assert not any("4 seeds" in t for t in texts), texts
    labels = [t for t in texts if "0.2.0" in t or "0.3.0" in t]
    assert len(labels) == 2 and all("xbarmem" in t for t in labels), texts
    lines = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert {round(float(line.get_ydata()[0]), 3) for line in lines} == {0.8, 1.0}


def test_two_rows_of_one_seed_at_a_point_count_as_one_seed(tmp_path):
    """A sweep re-run with another grid or batch into its store trains its hardware-adaptive
    trials again in other batches, so a point can hold two rows of one seed (as the sweep
    warns): they were counted as two seeds ("over 3-4 seeds") and weighed twice in the mean."""
    rows = [_eval_row("adaptive", f, 0.9, seed=s) for f in (0.0, 0.5) for s in range(3)]
    rows.append(_eval_row("adaptive", 0.0, 0.5, seed=0))  # seed 0 again, another batch
    fig = _drawn_quietly(lambda: plot_rows(rows, "faults"), tmp_path)
    texts = _texts(fig)
    assert any("over 3 seeds" in t for t in texts), texts
    assert not any("3-4 seeds" in t or "n=4" in t for t in texts), texts
    line = next(ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 2)
    assert round(float(line.get_ydata()[0]), 4) == round((0.7 + 0.9 + 0.9) / 3, 4)


@pytest.mark.parametrize("rows", ["rows", ["x"], [{"a": 1}],
                                  [{"trial": "evaluate", "config": 3, "result": {}}]],
                         ids=["text", "texts", "no-trial", "config-not-dict"])
def test_plot_rows_names_rows_that_are_no_stored_rows(rows):
    """plot_rows("rows") and plot_rows([{"a": 1}]) ended in Python's TypeError / KeyError
    ('string indices must be integers', 'trial') deep in the series code."""
    with pytest.raises(ArgumentError, match="rows must be a list of stored rows"):
        plot_rows(rows)


def _evaluate_row(seed: int, cosine: Any = 0.5, **config) -> dict:
    return {"trial": "evaluate", "config": {"rule": "hebb", "seed": seed, **config},
            "result": {} if cosine is None else {"cosine": cosine}}


def test_rows_without_what_a_figure_reads_are_named_or_draw_nothing():
    """Rows made by hand without ``chip_spec`` (which a ``fault_rate`` of None is read from),
    a rule or a cosine ended in ``KeyError: 'chip_spec'`` / ``'rule'`` / ``'cosine'``: a row
    without the figure's x value draws nothing on that axis (said as for rows of one value);
    one without its rule or outcome is named."""
    rows = [_evaluate_row(0), _evaluate_row(1, fault_rate=0.1), _evaluate_row(2, fault_rate=0.2)]
    plt.close(plot_rows(rows, kind="faults"))  # the two rows with a fault rate
    with pytest.raises(ConfigError, match="every row to draw has fault_rate = 0.1"):
        plot_rows(rows[:2], kind="faults")
    with pytest.raises(ArgumentError, match=r"row 1 has no config 'rule'"):
        plot_rows([rows[1], {**rows[2], "config": {"seed": 0, "fault_rate": 0.2}}])
    with pytest.raises(ArgumentError, match=r"row 0 has no result 'cosine'"):
        plot_rows([_evaluate_row(0, None, fault_rate=0.1), rows[2]])
    curve = {"trial": "capacity", "config": {"rule": "hebb", "seed": 0, "n_neurons": 16},
             "result": {"capacity": {"0.9": 3}, "points": [{"count": 2}]}}
    with pytest.raises(ArgumentError, match=r"row 0 has no result 'points' as a list of"):
        plot_rows([curve])
