"""Figures: every plot function returns a Figure and draws into a given Axes, one colour per
rule across figures, legends outside the data area, no backend switch on import."""

from __future__ import annotations

import importlib

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from xbarmem.errors import ConfigError, PatternError
from xbarmem.viz.energy import ratios_plot
from xbarmem.viz.figures import recall_grid, scaling_plot
from xbarmem.viz.results import plot_rows
from xbarmem.viz.series import series_of
from xbarmem.viz.style import RULE_STYLES, rule_style, save_figure


def _eval_row(rule, fault, cosine, seed=0, **extra):
    config = {"trial": "evaluate", "rule": rule, "fault_rate": fault, "seed": seed,
              "n_neurons": 16, "patterns": 3, "data": "random", "variation": 0.0,
              "rule_options": {}, **extra}
    return {"trial": "evaluate", "config": config, "result": {"cosine": cosine}}


def _cap_row(rule, n, caps, seed=0, **extra):
    config = {"trial": "capacity", "rule": rule, "n_neurons": n, "seed": seed, "search": True,
              "hidden": [n], "rule_options": {}, **extra}
    return {"trial": "capacity", "config": config,
            "result": {"capacity": {"0.9": caps}}}


ROWS = [_eval_row(rule, f, c - f / 2, seed=s) for rule, c in (("pinv", 1.0), ("hebb", 0.6),
                                                               ("adaptive", 1.0))
        for f in (0.0, 0.3, 0.5) for s in range(2)]
SWEEP = {"settings": {"circuit": "generic-rram", "rule": "pinv", "chip": "paper-sim",
                      "load": 0.1},
         "rows": [{"n_neurons": n, "energy_ratio": 5.0 + n / 16, "latency_ratio": 10.0 * n,
                   "latency_reduction": 1 - 1 / (10.0 * n)} for n in (16, 36, 64)]}
SCALING = {"sizes": [16, 36, 64], "capacity": {"0.9": [4, 8, 14], "0.99": [2, 5, 9]},
           "fits": {"0.9": {"slope": 0.9, "slope_low": 0.8, "slope_high": 1.0,
                            "prefactor": 0.3},
                    "0.99": None},
           "settings": {"arch": "single", "kind": "binary", "rule": "pinv"}}


def _plots():
    """(name, function of ax -> Figure) for every plot function of xbarmem.viz."""
    stored = np.sign(np.random.default_rng(0).standard_normal((3, 16)))
    return [
        ("faults", lambda ax: plot_rows(ROWS, "faults", ax=ax, thresholds=[0.9],
                                        reference={"paper pinv": ([0.0], [1.0])})),
        ("capacity", lambda ax: plot_rows([_cap_row("adaptive", n, n // 4, seed=s)
                                           for n in (16, 36, 64) for s in range(2)],
                                          "capacity", ax=ax)),
        ("scaling", lambda ax: scaling_plot(SCALING, ax=ax)),
        ("ratios", lambda ax: ratios_plot(SWEEP, ax=ax)),
        ("grid", lambda ax: recall_grid(stored, -stored, (4, 4), {"pinv": stored}, ax=ax)),
    ]


@pytest.mark.parametrize("name,plot", _plots(), ids=[n for n, _ in _plots()])
def test_every_plot_returns_a_figure_and_draws_into_a_given_axes(name, plot):
    fig = plot(None)
    assert isinstance(fig, Figure) and fig.axes
    host = Figure()
    ax = host.add_subplot()
    assert plot(ax) is host
    assert ax.has_data() or ax.images


def test_importing_viz_keeps_the_callers_backend():
    import xbarmem.viz.energy
    import xbarmem.viz.figures
    import xbarmem.viz.results
    import xbarmem.viz.style

    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        for module in (xbarmem.viz.style, xbarmem.viz.results, xbarmem.viz.figures,
                       xbarmem.viz.energy):
            importlib.reload(module)  # runs the module's import-time code again
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def _colours(fig: Figure) -> dict[str, str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return {text.get_text().split(" (")[0]: handle.get_color()
            for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)}


def test_a_rule_has_one_colour_and_marker_in_every_figure():
    faults = _colours(plot_rows(ROWS, "faults"))
    other = _colours(plot_rows([r for r in ROWS if r["config"]["rule"] != "hebb"], "faults"))
    assert faults["pinv"] == other["pinv"] == RULE_STYLES["pinv"]["color"]
    assert faults["adaptive"] == other["adaptive"] != faults["pinv"]
    names = ["my-rule", "oja", "rule-2"]  # rules not in the table
    assert [rule_style(n) for n in names] == _rule_styles_in_new_processes(names)
    assert rule_style("my-rule")["color"] not in {s["color"] for s in RULE_STYLES.values()}


def _rule_styles_in_new_processes(names: list[str]) -> list[dict]:
    """``rule_style`` of ``names`` in two fresh interpreters with different string-hash
    seeds, checked equal: a style taken from ``hash()`` would differ between them."""
    import json
    import os
    import subprocess
    import sys

    code = f"import json; from xbarmem.viz.style import rule_style; " \
           f"print(json.dumps([rule_style(n) for n in {names!r}]))"
    seen = [json.loads(subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True, text=True, check=True).stdout) for seed in ("1", "2")]
    assert seen[0] == seen[1], seen
    return seen[0]


@pytest.mark.parametrize("name,plot", _plots()[:4], ids=[n for n, _ in _plots()[:4]])
def test_legends_sit_outside_the_data_area(name, plot):
    for fig in (plot(None), plot(Figure(figsize=(6, 3)).add_subplot())):
        fig.draw_without_rendering()
        legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
        box = legend.get_window_extent()
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent()), name


def test_series_are_one_per_rule_with_settings_as_facets():
    rows = ROWS + [_eval_row("pinv", f, 0.5, seed=s, data="digits") for f in (0.0, 0.5)
                   for s in range(2)]
    series = series_of(rows, "faults")
    assert {(s.rule, dict(s.facet).get("data")) for s in series} == {
        ("pinv", '"random"'), ("hebb", '"random"'), ("adaptive", '"random"'),
        ("pinv", '"digits"')}
    fig = plot_rows(rows, "faults")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    # one entry per rule (and one saying that pinv, dashed, equals adaptive at every point)
    assert len(fig.axes) == 2 and sorted(texts[:3]) == ["adaptive", "hebb", "pinv"]
    assert len(texts) == 4 and texts[3].startswith("dashed, hollow")


@pytest.mark.parametrize("kind,row", [
    ("capacity", lambda rule, n, hidden, arch, s: _cap_row(rule, n, n // 4 + s, seed=s,
                                                          hidden=hidden, arch=arch)),
    ("faults", lambda rule, n, hidden, arch, s: _eval_row(rule, n / 100, 0.9, seed=s,
                                                         hidden=hidden, arch=arch))])
def test_panels_of_one_layer_memories_say_single_layer_not_a_default_width(kind, row):
    """One-layer rows beside multilayer ones of two hidden widths: the panel of the one-layer
    rows was titled "hidden widths default" (they have no hidden layer)."""
    rows = [row(rule, n, hidden, arch, s) for s in range(2) for n in (16, 36)
            for rule, hidden, arch in (("pinv", None, "single"), ("adaptive", [8], "multilayer"),
                                       ("adaptive", [32], "multilayer"))]
    titles = [ax.get_title() for ax in plot_rows(rows, kind).axes if ax.get_title()]
    assert sorted(titles) == ["hidden width 32", "hidden width 8", "single layer"]
    # one rule: a series (a legend entry) per setting, the architecture among them, said once
    same = [{**r, "config": {**r["config"], "rule": "adaptive"}} for r in rows]
    labels = [t.get_text().replace("\n", " ").split(" (= ")[0].split(":")[0]
              for legend in plot_rows(same, kind).legends
              for t in legend.get_texts()]  # (" (= ...)": equal to another at every point)
    assert sorted(labels) == ["multilayer, hidden width 32", "multilayer, hidden width 8",
                              "single layer"]


def test_a_rule_option_named_like_the_x_axis_splits_the_series_instead_of_pooling():
    """The trainer's ``variation`` (variation-aware training) and the trial's programming
    variation (the x axis of ``--kind variation``) shared one name: rows trained with and
    without it were averaged into one series ("one seed each", every point a mean of the two
    recipes)."""
    rows = [_eval_row("adaptive", 0.0, cos, variation=v,
                      rule_options={"variation": 0.3} if aware else {})
            for v, cos_default, cos_aware in ((0.0, 0.99, 1.0), (0.4, 0.58, 0.72))
            for aware, cos in ((False, cos_default), (True, cos_aware))]
    series = series_of(rows, "variation")
    assert {dict(s.facet).get("rule_options.variation") for s in series} == {"0.3", None}
    points = sorted(tuple(sorted((x, v[0]) for x, v in s.points.items())) for s in series)
    assert points == [((0.0, 0.99), (0.4, 0.58)), ((0.0, 1.0), (0.4, 0.72))]


def test_scaling_rows_give_one_series_per_data_set_with_a_fit():
    """A hidden width equal to N does not split series; the kind (one rule) does."""
    rows = [_cap_row("adaptive", n, c, kind=kind) for kind, caps in
            (("binary", (4, 9, 15)), ("continuous", (2, 3, 5)))
            for n, c in zip((16, 36, 64), caps, strict=True)]
    assert len(series_of(rows, "capacity")) == 2
    fig = plot_rows(rows, "capacity")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == 2 and all("k = " in s and "±" in s for s in labels)
    assert len(fig.axes[0].get_lines()) >= 4  # points and a fit line per series


def test_capacity_figures_mark_lower_bounds_with_an_arrow_and_say_so_in_the_legend():
    rows = [_cap_row("adaptive", n, c) for n, c in ((16, 4), (36, 9), (64, 15))]
    plain = plot_rows(rows, "capacity")
    assert not any("lower bound" in t.get_text() for t in plain.legends[0].get_texts())
    rows[-1]["result"]["lower_bound"] = [0.9]  # stored JSON: thresholds as numbers
    fig = plot_rows(rows, "capacity")
    assert any("lower bound" in t.get_text() for t in fig.legends[0].get_texts())
    arrows = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == r"$\uparrow$"]
    assert len(arrows) == 1 and list(arrows[0].get_xdata()) == [64.0]
    assert arrows[0].get_ydata()[0] > 15


def test_scaling_figure_marks_a_capacity_that_is_the_whole_pool():
    runs = [{"capacity": {"0.9": c, "0.99": c2}, "settings": {"pool_distinct": pool}}
            for c, c2, pool in ((4, 2, 100), (8, 5, 8), (14, 9, 100))]
    fig = scaling_plot({**SCALING, "runs": runs})  # N = 36 at 0.9: all 8 distinct patterns
    arrows = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == r"$\uparrow$"]
    assert [list(a.get_xdata()) for a in arrows] == [[36.0]]
    assert any("lower bound" in t.get_text() for t in fig.legends[0].get_texts())
    plain = scaling_plot(SCALING)  # a result without runs (older files) draws as before
    assert not any("lower bound" in t.get_text() for t in plain.legends[0].get_texts())


@pytest.mark.parametrize(("kind", "rows", "line"), [
    ("variation", ROWS, "every row to draw has variation = 0"),
    ("patterns", ROWS, "every row to draw has patterns = 3"),
    ("capacity", [_cap_row(rule, 64, 8) for rule in ("pinv", "adaptive")],
     "every row to draw has n_neurons = 64"),
])
def test_a_figure_whose_x_axis_does_not_vary_is_refused(kind, rows, line):
    """A store whose rows share one value of the figure's x axis drew a column of points at
    that value (a variation figure of a faults sweep): now a ConfigError saying so."""
    with pytest.raises(ConfigError, match=line):
        plot_rows(rows, kind)
    if kind == "variation":  # reference points along the axis: a figure to compare against
        assert plot_rows(rows, kind, reference={"paper pinv": ([0.0, 0.1], [1.0, 0.9])})


def test_plot_rows_without_a_kind_draws_the_only_one_the_rows_fit():
    """``plot_rows(rows)``: the kind is the one the rows fit (a fault sweep: faults); rows
    that fit several or none are refused naming ``kind``."""
    from xbarmem.viz.series import drawable_kinds

    assert drawable_kinds(ROWS) == ["faults"]
    assert plot_rows(ROWS).axes[0].get_xlabel() == plot_rows(ROWS, "faults").axes[0].get_xlabel()
    both = ROWS + [_eval_row("pinv", 0.0, 0.9, variation=0.1)]
    with pytest.raises(ConfigError, match=r"^kind is needed: these rows draw a figure against "
                       r"fault_rate \(kind='faults'\) or variation \(kind='variation'\)$"):
        plot_rows(both)
    with pytest.raises(ConfigError, match="^no figure to draw from 1 row:"):
        plot_rows(ROWS[:1])
    with pytest.raises(ConfigError, match="^no stored rows to draw a figure from$"):
        plot_rows([])


@pytest.mark.parametrize("p", [7, 20, 21, 60, 101])
def test_a_recall_grid_of_many_patterns_keeps_them_readable(p):
    """At most ``GRID_COLUMNS`` patterns side by side, the rest in blocks of the same rows
    below, each row labelled: 60 patterns made one row of images 3 mm wide at two columns'
    width."""
    from xbarmem.viz.figures import GRID_COLUMNS

    rng = np.random.default_rng(p)
    stored = np.sign(rng.standard_normal((p, 16)))
    fig = recall_grid(stored, -stored, (4, 4), {"pinv": stored, "hebb": -stored})
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    per = (image.shape[1] + 1) // 5
    blocks = -(-p // per)
    assert per <= GRID_COLUMNS and per == min(p, -(-p // blocks))
    assert image.shape[0] == blocks * 4 * 5 - 1  # blocks of stored, cue, pinv, hebb
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["stored", "cue", "pinv", "hebb"] * blocks
    inches = (fig.get_size_inches()[0] - 0.95) / per
    assert inches >= 0.25  # each image at least a quarter inch wide
    shown = image[~np.ma.getmaskarray(image)] if np.ma.isMaskedArray(image) else image
    assert np.isfinite(np.asarray(shown)).sum() == 4 * p * 16  # every image, once


def test_save_figure_writes_png_and_refuses_other_suffixes(tmp_path):
    fig = scaling_plot(SCALING)
    assert save_figure(fig, tmp_path / "s.png").stat().st_size > 5000
    with pytest.raises(ConfigError, match="png or .svg"):
        save_figure(fig, tmp_path / "s.pdf")
    assert not (tmp_path / "s.pdf").exists()


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_same_figure_is_written_to_the_same_bytes(tmp_path, suffix):
    """docs/guide.md: the same command writes the same figure bytes. An SVG held the time it
    was written and random ids (clip paths, markers): two ``plot --out x.svg`` of one store
    differed."""
    first = save_figure(plot_rows(ROWS, "faults"), tmp_path / f"a{suffix}").read_bytes()
    second = save_figure(plot_rows(ROWS, "faults"), tmp_path / f"b{suffix}").read_bytes()
    assert first == second


def test_default_titles_say_what_every_point_shares():
    """A plot without --title used to have none (faults) or only 'multilayer binary fixed:32'
    (scaling): now the memory, data, cues and chip, or the settings every drawn row shares."""
    settings = {"arch": "multilayer", "kind": "binary", "data": "mnist",
                "hidden_rule": "ratio:1", "protocol": {"corruption": "flip", "level": 0.05},
                "chip": {"name": "paper-sim"}}
    title = scaling_plot({**SCALING, "settings": settings}).axes[0].get_title()
    assert title == "multilayer N-N-N\nbinary MNIST, 5% flips, paper-sim chip"
    settings.update(hidden_rule="fixed:32", kind="continuous",
                    protocol={"corruption": "gaussian", "level": 0.6})
    title = scaling_plot({**SCALING, "settings": settings}).axes[0].get_title()
    assert title == "multilayer N-32-N\ncontinuous MNIST, Gaussian noise sigma = 0.6\n" \
                    "paper-sim chip"  # (lines broken between phrases, as plot's titles)
    assert scaling_plot(SCALING).axes[0].get_title().startswith("single layer, pinv")
    title = plot_rows(ROWS, "faults").axes[0].get_title()
    assert title == "3 random patterns, N = 16"  # in words (was data=random, ...)
    rows = [{**r, "config": {**r["config"], "arch": "multilayer", "kind": "binary",
                             "data": "mnist", "selection": "one-per-class", "chip": "rram",
                             "variation": 0.3, "corruption": "flip", "level": 0.05,
                             "activation": "sign", "custom": 1}} for r in ROWS]
    title = plot_rows(rows, "faults").axes[0].get_title()
    assert title.replace("\n", ", ") == (
        "multilayer, 3 binary MNIST patterns (one per class), N = 16, rram chip, programming "
        "variation v = 0.3, 5% flips, sign neurons")
    assert all(len(line) <= 60 for line in title.splitlines())
    rows = [{**r, "config": {**r["config"], "corruption": "flip", "level": 0.01 * i,
                             "activation": "tanh"}} for i, r in enumerate(ROWS)]
    title = plot_rows(rows, "faults").axes[0].get_title()  # a corruption without one level
    assert title.startswith("3 random patterns, N = 16, flipped cues\ntanh neurons\n")
    assert plot_rows(ROWS, "faults", title="mine").axes[0].get_title() == "mine"


def test_a_title_names_the_rule_its_legend_leaves_out_and_how_patterns_were_chosen():
    """examples/sweeps/storkey-variant.toml drew 'self_field=False' / 'self_field=True' under a
    title without the rule, and a random subset of MNIST read as '4 binary MNIST patterns
    (random)', as if the patterns were random ones."""
    rows = [_eval_row("storkey-variant", f, 0.9 - f, seed=s, data="mnist", selection="random",
                      rule_options={"self_field": own})
            for f in (0.0, 0.5) for s in range(2) for own in (False, True)]
    fig = plot_rows(rows, "faults")
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    assert [t.get_text().replace("\n", " ").split(" (= ")[0]  # (equal at every point)
            for t in legend.get_texts()] == ["self_field=false", "self_field=true"]
    title = fig.axes[0].get_title().replace("\n", ", ")
    assert title == "storkey-variant rule, 3 MNIST patterns (a random subset), N = 16"
    assert "rule" not in plot_rows(ROWS, "faults").axes[0].get_title()  # the legend names it


@pytest.mark.parametrize(("method", "level", "text"), [
    ("flip", 0.1, "10% flips"), ("gaussian", 0.6, "Gaussian noise sigma = 0.6"),
    ("occlude", 0.3, "30% occluded"), ("salt_pepper", 0.05, "5% salt-and-pepper")])
def test_corruption_labels(method, level, text):
    from xbarmem.data.corruption import describe_corruption

    assert describe_corruption(method, level) == text
    with pytest.raises(PatternError, match="^unknown corruption method 'no blur': expected one "):
        describe_corruption("no blur", level)


def test_a_custom_corruption_recorded_by_name_is_described_by_it():
    """A protocol with a custom corruption records its function's name; a title of its
    results raised ``unknown corruption method 'noisy_block'``."""
    import xbarmem as xm
    from xbarmem.viz.figures import scaling_title

    def noisy_block(x, level, generator):
        return x

    settings = {"protocol": xm.Protocol(corruption=noisy_block, level=0.25).as_dict()}
    assert scaling_title(settings) == "noisy_block 0.25"
    lam = xm.Protocol(corruption=lambda x, level, g: x, level=2).as_dict()
    assert scaling_title({"protocol": lam}) == "<lambda> 2"
    with pytest.raises(PatternError, match=r"^level \(of corruption noisy_block\) must be >= 0"):
        scaling_title({"protocol": {**settings["protocol"], "level": -1}})


def _x_tick_labels(fig: Figure) -> list[str]:
    fig.draw_without_rendering()
    ax = fig.axes[0]
    lo, hi = sorted(ax.get_xlim())
    return [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi
            and t.get_text()]


def test_capacity_figures_label_the_measured_sizes_on_their_log_x_axis():
    """A scaling figure of N = 64, 144, 256 was labelled 60, 100, 200: the point at 64 read as
    60. The measured N are now the x ticks, in scaling_plot and the capacity figure of a store,
    with the y axis labelled alike; too many or too close sizes keep matplotlib's ticks."""
    fig = scaling_plot(SCALING)
    assert _x_tick_labels(fig) == ["16", "36", "64"]
    assert fig.axes[0].get_ylabel() == "capacity (stored patterns)"
    fig = plot_rows([_cap_row("adaptive", n, n // 4, seed=s) for n in (64, 144, 256)
                     for s in range(2)], "capacity")
    assert _x_tick_labels(fig) == ["64", "144", "256"]
    assert fig.axes[0].get_ylabel() == "capacity (stored patterns)"
    dense = dict(SCALING, sizes=[16, 17, 64], capacity={"0.9": [4, 4, 14]}, fits={})
    assert _x_tick_labels(scaling_plot(dense)) != ["16", "17", "64"]


def test_pooled_settings_name_what_a_single_panel_mixes():
    from xbarmem.viz.series import MAX_FACETS, pooled_settings

    assert pooled_settings(ROWS, "faults") is None
    rows = [{**r, "config": {**r["config"], "level": 0.01 * k}} for k in range(MAX_FACETS + 1)
            for r in ROWS]
    keys, facets = pooled_settings(rows, "faults")
    assert keys == ["level"] and len(facets) == MAX_FACETS + 1 and facets[0] == "0"
    assert "pooled over corruption level" in plot_rows(rows, "faults").axes[0].get_title()


def _chip(model):
    return {"array": {"fault_model": model}}


@pytest.mark.parametrize(("extra", "label"), [
    ({"chip_spec": _chip("weight")}, "fraction of stuck weights"),
    ({"chip_spec": _chip("device")}, "fraction of stuck devices"),
    ({"chip_spec": _chip("weight"), "fault_model": "device"}, "fraction of stuck devices"),
    ({}, "fraction of stuck weights/devices"),
])
def test_the_faults_axis_names_what_is_stuck(extra, label):
    """The faults axis read "stuck weights/devices" whatever the rows' fault model; it names
    the model's faulty unit when the rows share one (in one panel, in panels, pooled)."""
    rows = [_eval_row(rule, f, c - f / 2, **extra) for rule, c in (("pinv", 1.0), ("hebb", 0.6))
            for f in (0.0, 0.3)]
    assert plot_rows(rows, "faults").axes[0].get_xlabel() == label
    panels = rows + [_eval_row("pinv", f, 0.5, data="digits", **extra) for f in (0.0, 0.5)]
    fig = plot_rows(panels, "faults")
    assert len(fig.axes) == 2 and fig.get_supxlabel() == label
    fig, ax = plt_axes()
    assert plot_rows(panels, "faults", ax=ax).axes[0].get_xlabel() == label


def plt_axes():
    fig = Figure()
    return fig, fig.add_subplot()


def test_figures_over_n_name_their_axis_alike():
    """The energy-per-size and the scaling figures plot against the same N: one label."""
    labels = {ratios_plot(SWEEP).axes[0].get_xlabel(),
              scaling_plot(SCALING).axes[0].get_xlabel()}
    assert labels == {"pattern size N (neurons)"}


def test_energy_ratios_y_axis_says_it_is_a_ratio():
    """``energy --sizes`` labelled its y axis "async / sync per recall": a quotient of what,
    the axis did not say; it is the ratio of the two modes' means (energy and latency alike,
    dimensionless; the legend says they are means per recall)."""
    assert ratios_plot(SWEEP).axes[0].get_ylabel() == "async / sync ratio"


def test_energy_ratios_join_the_sizes_in_increasing_n_whatever_their_order():
    """``energy --sizes 64,16,36`` drew each ratio's line from 64 back to 16, then to 36."""
    rows = [SWEEP["rows"][i] for i in (2, 0, 1)]
    ax = ratios_plot({**SWEEP, "rows": rows}).axes[0]
    for line in ax.get_lines():
        assert list(line.get_xdata()) == [16, 36, 64]
    energy = [r["energy_ratio"] for r in SWEEP["rows"]]
    assert list(ax.get_lines()[0].get_ydata()) == energy


def test_energy_ratios_title_names_rule_chip_and_cues():
    """The title read "generic-rram circuit, pinv, paper-sim chip": a bare rule name, and
    nothing of the cues the ratios were measured on."""
    sweep = {**SWEEP, "settings": {**SWEEP["settings"], "flip": 0.1}}
    title = " ".join(ratios_plot(sweep).axes[0].get_title().split())
    assert title == ("generic-rram circuit, pinv rule, paper-sim chip, random patterns "
                     "P = 0.1 N, 10% flips")
    faulty = {**sweep, "settings": {**sweep["settings"], "fault_rate": 0.3}}
    assert "pinv rule, paper-sim chip, 30% faults, random" in " ".join(
        ratios_plot(faulty).axes[0].get_title().split())


def test_energy_ratios_of_a_sweep_saved_before_the_rows_said_n_neurons():
    """A ``measure_sizes`` dict saved before its rows' N was ``n_neurons`` (and its settings'
    stuck share ``fault_rate``) says ``n`` and ``faults``: it plots the same, its fault share
    in the title (the renamed settings lost it silently: a clean chip's title)."""
    old = {"settings": {**SWEEP["settings"], "faults": 0.3},
           "rows": [{"n": r["n_neurons"], **{k: v for k, v in r.items() if k != "n_neurons"}}
                    for r in SWEEP["rows"]]}
    ax = ratios_plot(old).axes[0]
    assert list(ax.get_lines()[0].get_xdata()) == [16, 36, 64]
    assert "paper-sim chip, 30% faults" in " ".join(ax.get_title().split())


def test_capacity_figures_of_one_threshold_say_which_in_the_legend():
    """A store's capacity figure at one threshold (a sweep's ``thresholds = [0.95]``) named
    no threshold anywhere (title, axis or legend): "capacity at threshold 0.95" now heads its
    legend, in one panel or in each of several; several thresholds keep their labels' @, which
    the legend's title explains."""
    rows = [_cap_row("adaptive", n, n // 4, seed=s) for n in (16, 36, 64) for s in range(2)]
    title = plot_rows(rows, "capacity").legends[0].get_title().get_text()
    assert title.startswith("capacity at threshold 0.9\npoints: mean ± std over 2 seeds")
    panels = plot_rows([_cap_row(rule, n, n // 4, seed=s, fault_rate=f) for n in (16, 36, 64)
                        for s in range(2) for f in (0.0, 0.5) for rule in ("pinv", "hebb")],
                       "capacity")
    heads = [ax.get_legend().get_title().get_text() for ax in panels.axes if ax.get_legend()]
    assert len(heads) == 2 and all(h.startswith("capacity at threshold 0.9\n") for h in heads)
    for row in rows:
        row["result"]["capacity"]["0.99"] = 2
    fig = plot_rows(rows, "capacity")
    assert fig.legends[0].get_title().get_text().startswith("capacity at threshold (@)\n")
    assert sorted(t.get_text().split(":")[0] for t in fig.legends[0].get_texts()) == [
        "adaptive @ 0.9", "adaptive @ 0.99"]


def test_a_kind_the_rows_do_not_draw_names_the_rows_and_what_they_draw():
    """``plot --kind faults`` of a store of 120 capacity rows across fault rates said "no
    stored rows to draw a 'faults' figure from", as if the store were empty."""
    rows = [_cap_row("pinv", n, n // 4, seed=s) for n in (16, 36, 64) for s in range(2)]
    with pytest.raises(ConfigError, match=r"^none of the 6 rows draws a 'faults' figure, which "
                       r"needs evaluate rows varying fault_rate at fixed other settings; they "
                       r"draw a 'capacity' figure \(n_neurons on the x axis\)$"):
        plot_rows(rows, "faults")
    with pytest.raises(ConfigError, match=r"^none of the 3 rows draws a 'capacity' figure, "
                       r"which needs capacity rows; they draw a 'faults' figure "
                       r"\(fault_rate on the x axis\)$"):
        plot_rows([r for r in ROWS if r["config"]["rule"] == "pinv"][:3], "capacity")
    with pytest.raises(ConfigError, match=r"^the one row draws no 'capacity' figure, which "
                       r"needs capacity rows"):  # (was "none of the 1 row draws")
        plot_rows([r for r in ROWS if r["config"]["rule"] == "pinv"][:1], "capacity")
    with pytest.raises(ConfigError, match=r"^no stored rows to draw a 'faults' figure from"):
        plot_rows([], "faults")
