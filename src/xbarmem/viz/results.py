"""Figures drawn from stored rows of a results store.

Kinds (:data:`KINDS`): ``patterns`` -- mean recall similarity against the number of stored
patterns (from evaluate rows and from the points of capacity rows); ``faults`` -- against the
fault rate; ``variation`` -- against the programming variation v; ``capacity`` -- capacity against
N on log-log axes with a power-law fit per series (``xbarmem.evaluation.scaling.fit_power_law``).

Rows are grouped (:func:`series_of`): one series per learning rule (its colour and marker
from :mod:`xbarmem.viz.style`); every other setting that varies among the rows -- leaving out
the x axis, the seed, and settings that follow from the x axis and the settings already kept
(e.g. a hidden width equal to N, or a rule's own options) -- makes a *facet*. Facets drawing a
single x value are left out (unless every facet does; rows that all share one x value,
with no reference points elsewhere, are refused). Up to :data:`MAX_FACETS` facets are
drawn as separate panels; with more (or when drawing into a given Axes) the facets are pooled,
each point then being the mean over every pooled row. With one rule only, the facets become
the series of one panel. Each point is the mean over seeds with the standard deviation as an
error bar (the legend title says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from xbarmem.checks import check_type, checked_keywords, counted, is_choice, shown
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.viz.legends import legend_outside, threshold_lines
from xbarmem.viz.marks import (
    equal_cue,
    equal_handle,
    equal_note,
    equal_series,
    lower_bound_handle,
    mark_lower_bounds,
    mark_zeros,
    power_law_line,
    zero_handle,
)
from xbarmem.viz.series import (
    KINDS,
    MAX_FACETS,
    SETTING_NAMES,
    Series,
    drawable_kinds,
    facet_order,
    line_label,
    pooled,
    seed_counts,
    series_of,
    shared_settings,
    unsaid_settings,
)
from xbarmem.viz.style import (
    COLUMN_WIDTH,
    RULE_DASHES,
    apart_styles,
    layered,
    new_axes,
    rule_style,
    series_style,
    style,
)
from xbarmem.viz.text import LABEL_CHARS, check_title, set_title, title_over_axes, wrap_text
from xbarmem.viz.ticks import linear_xticks, linear_yticks, log_axes

__all__ = ["plot_rows"]

XLABEL = {"patterns": "stored patterns P", "faults": "fraction of stuck weights/devices",
          "variation": r"programming variation $v$ ($\sigma = v\,\max|W|$)",
          "capacity": "pattern size N (neurons)"}


def _fit_label(xs: np.ndarray, ys: np.ndarray) -> tuple[str, tuple[float, float] | None]:
    """``(legend text, (slope, prefactor))`` of the power-law fit of the mean points."""
    from xbarmem.evaluation.scaling import fit_power_law

    keep = ys > 0
    if len(np.unique(xs[keep])) < 2:
        return "no fit (< 2 sizes with capacity > 0)", None
    fit = fit_power_law(xs[keep], ys[keep])
    if math.isfinite(fit.slope_low):
        text = f"k = {fit.slope:z.2f} ± {(fit.slope_high - fit.slope_low) / 2:z.2f}"
    else:
        text = f"k = {fit.slope:z.2f} (2 sizes: no CI)"
    return text, (fit.slope, fit.prefactor)


def _drawing_order(series: list[Series]) -> list[int]:
    """The indices of ``series`` in drawing order: by rule, facet (by value: N = 16 first) and
    threshold."""
    return sorted(range(len(series)), key=lambda i: (
        series[i].rule, facet_order(series[i].facet), float(series[i].threshold or 0)))


def _styles(series: list[Series]) -> dict[int, dict[str, Any]]:
    """Colour, marker and line style of each series (by ``id``): colour and marker by rule,
    or with a single rule by facet; line styles such that series alike in lightness differ
    in dashes (:func:`~xbarmem.viz.style.apart_styles`: a rule's own dash when several rules
    are drawn, thresholds of one rule apart), and the markers of every threshold after the
    first hollow (``mfc``: the axes' colour), so that thresholds of one rule differ in their
    points too (a greyscale print shows no colour). Panels sharing a legend take the styles
    of all their series, one style per legend entry: a rule (and threshold) is drawn alike in
    every panel -- its series of other panels were set apart from each other as series of one
    axes are, hebb dash-dotted in one panel and solid in the next."""
    rules = {s.rule for s in series}
    facets = sorted({s.facet for s in series}, key=facet_order)
    thresholds = sorted({s.threshold for s in series if s.threshold is not None}, key=float)
    by_rule = len(rules) > 1 or len(facets) == 1
    order = _drawing_order(series)
    keys = {i: (series[i].rule, None if by_rule else series[i].facet, series[i].threshold)
            for i in order}
    base: dict[tuple, dict[str, Any]] = {}
    dashes = []
    for i in order:
        s = series[i]
        if keys[i] in base:
            continue
        st: dict[str, Any] = rule_style(s.rule) if by_rule \
            else series_style(facets.index(s.facet))
        rank = thresholds.index(s.threshold) if s.threshold is not None else 0
        st["hollow"] = "yes" if rank else ""
        base[keys[i]] = st
        dashes.append(RULE_DASHES.get(s.rule) if len(rules) > 1 and not rank else None)
    styled = dict(zip(base, apart_styles(list(base.values()), dashes), strict=True))
    return {id(series[i]): styled[keys[i]] for i in order}


def _label(s: Series, series: list[Series]) -> str:
    rules = {x.rule for x in series}
    facets = {x.facet for x in series}
    parts = [s.rule] if len(rules) > 1 or len(facets) == 1 else []
    if len(facets) > 1 and len(rules) == 1:
        parts.append(line_label(s.facet, s.rows, [r for x in series for r in x.rows]))
    if s.threshold is not None and len({x.threshold for x in series}) > 1:
        parts.append(f"@ {float(s.threshold):g}")
    return " ".join(parts) or s.rule


def draw_series(ax: Axes, series: list[Series], kind: str, *, labels: bool = True,
                styles: dict[int, dict[str, Any]] | None = None) -> list:
    """Draw ``series`` into ``ax`` (mean +- std over rows per point; capacity: points and
    power-law fit) in ``styles`` (default :func:`_styles` of ``series``). Returns legend
    handles (labelled Line2D) when ``labels``; their labels name the number of seeds when
    it differs between points."""
    handles = []
    styles = styles or _styles(series)
    same_n = len(seed_counts(series)) == 1
    order = _drawing_order(series)
    means = [(np.array(sorted(series[i].points)),
              np.array([np.mean(series[i].points[x]) for x in sorted(series[i].points)]))
             for i in order]
    for drawn, (i, same) in enumerate(zip(order, equal_series(means), strict=True)):
        s, st = series[i], styles[id(series[i])]
        size = layered(drawn, len(order), ms=4 if kind == "capacity" else 3.5,
                       lw=1.0 if kind == "capacity" else 1.1)
        fill: dict[str, Any] = {"mfc": ax.get_facecolor()} if st["hollow"] else {}
        own = {"ls": st["ls"], **fill}  # (its style where it is not drawn over another)
        if same:  # drawn over an equal series: hollow and dashed, both show
            fill, st = {"mfc": "none"}, {**st, "ls": equal_cue(same[1])["ls"]}
        xs, ys = means[drawn]
        err = np.array([np.std(s.points[x]) for x in xs])
        n = sorted({len(s.points[x]) for x in xs})
        counted = "" if same_n else (f" (n={n[0]})" if len(n) == 1 else
                                     f" (n={n[0]}-{n[-1]})")
        text, fit = f"{_label(s, series)}{counted}", None
        if kind == "capacity":  # a capacity of 0 (every seed) on the x axis: log y
            pos = ys > 0
            ax.errorbar(xs[pos], ys[pos], yerr=err[pos], fmt=st["marker"], color=st["color"],
                        ms=size["ms"], **fill)
            mark_zeros(ax, xs[~pos], st["color"], st["marker"], size["ms"])
            mark_lower_bounds(ax, [(x, y) for x, y in zip(xs, ys, strict=True)
                                   if x in s.bounds], st["color"])
            fit_text, fit = _fit_label(xs, ys)
            if fit is not None:
                power_law_line(ax, xs[pos], fit[0], fit[1], ls=st["ls"], color=st["color"],
                               lw=size["lw"])
            text = f"{_label(s, series)}: {fit_text}{counted}"
        else:  # (bars end at a cosine's bounds, -1 and 1: legend_title says so)
            ax.errorbar(xs, ys, yerr=cosine_bars(ys, err), fmt=st["marker"], ls=st["ls"],
                        color=st["color"], ms=size["ms"], lw=size["lw"], **fill)
        if same:
            text = equal_note(text, _label(series[order[same[0]]], series))
        drawn_line = kind != "capacity" or fit is not None  # (no fit: no line to show)
        handles.append(Line2D([], [], color=st["color"], marker=st["marker"], label=text,
                              ls=st["ls"] if drawn_line else "none", **size, **fill))
        handles[-1]._xbarmem_own = own  # type: ignore[attr-defined]
    if any(s.bounds for s in series):
        handles.append(lower_bound_handle("every count tested passed"))
    if kind == "capacity" and any(not np.mean(v) for s in series for v in s.points.values()):
        handles.append(zero_handle("mean capacity"))
    return handles if labels else []


def _reference(ax: Axes, reference: dict[str, tuple[Sequence[float], Sequence[float]]]
               ) -> list:
    """Hollow markers ``{label: (xs, ys)}``; ``"paper RULE"`` in RULE's colour and marker.
    Returns one legend handle for all of them."""
    for label, (rx, ry) in reference.items():
        st = rule_style(label.removeprefix("paper ").strip())
        ax.plot(rx, ry, ls="none", marker=st["marker"], mfc="none", ms=6, mew=1.0,
                color=st["color"], zorder=3)
    if not reference:
        return []
    return [Line2D([], [], ls="none", marker="o", mfc="none", color="#444444", ms=6,
                   label="paper (hollow)")]


def x_label(kind: str, series: Sequence[Series]) -> str:
    """The x axis of ``kind``; for faults, what is stuck under the drawn rows' fault model
    (weights under ``weight``, devices under ``device``; both named when rows mix them)."""
    if kind != "faults":
        return XLABEL[kind]
    models = {r["config"].get("fault_model")
              or r["config"].get("chip_spec", {}).get("array", {}).get("fault_model")
              for s in series for r in s.rows}
    if models == {"weight"}:
        return "fraction of stuck weights"
    if models == {"device"}:
        return "fraction of stuck devices"
    return XLABEL[kind]


#: the least height of a cosine axis (a flat line at 1 is drawn on 0.9 .. 1, not 0.96 .. 1.04)
MIN_COSINE_SPAN = 0.1


def cosine_limits(axes: Sequence[Axes]) -> None:
    """The y limits of cosine panels (sharing one y axis): their drawn values (error bars and
    threshold lines included), at least :data:`MIN_COSINE_SPAN` tall, widened to round values
    (a tick step of about a quarter of the span; not past -1 or 1 when no value is) and a
    margin of 3% of that span (a marker's room): matplotlib's margins drew a flat cosine of 1.0 on
    0.96 .. 1.04, ticks at impossible values, and left points past the outermost ticks."""
    spans = [ax.dataLim.intervaly for ax in axes if ax.has_data()]
    spans = [(lo, hi) for lo, hi in spans if np.isfinite(lo) and np.isfinite(hi)]
    if not spans:
        return
    lo, hi = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    if hi - lo < MIN_COSINE_SPAN:  # (nearly) flat: around it, ending at 1 when it is near 1
        mid = min((lo + hi) / 2, max(hi, 1.0) - MIN_COSINE_SPAN / 2)
        lo, hi = mid - MIN_COSINE_SPAN / 2, mid + MIN_COSINE_SPAN / 2
    # out to round values (ticks), so that a tick lies at or past every point
    step = float(np.diff(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi))[0])
    bottom = math.floor(lo / step + 1e-9) * step
    top = math.ceil(hi / step - 1e-9) * step
    lo = bottom if lo < -1.0 else max(bottom, -1.0)  # (past -1 or 1: reference points)
    hi = top if hi > 1.0 else max(hi, min(top, 1.0))
    margin = 0.03 * (hi - lo)
    axes[0].set_ylim(lo - margin, hi + margin)


def _axes_decor(ax: Axes, kind: str, thresholds: Sequence[float],
                xs: Sequence[float] = (), xlabel: str | None = None) -> list:
    """Thresholds, scales and labels (capacity: the measured N ``xs`` as x ticks); returns the
    thresholds' legend handle (if any)."""
    handles = threshold_lines(ax, thresholds, what="threshold (value at right)")
    if kind == "capacity":
        ax.margins(y=0.08)
        log_axes(ax, xticks=xs, empty="capacity 0 at every N", counts=True)
        ax.set_ylabel("capacity (stored patterns)")
    else:
        cosine_limits([ax])
        linear_xticks(ax, integer=kind == "patterns")
        linear_yticks(ax)
        ax.set_ylabel("mean cosine similarity")
    ax.set_xlabel(xlabel or XLABEL[kind])
    return handles


def choose_kind(rows: Sequence[dict[str, Any]], option: str = "kind") -> str:
    """The one kind of :data:`KINDS` that ``rows`` draw (:func:`drawable_kinds`), for a figure
    asked for without one; :class:`ConfigError` naming ``option`` (``--kind`` on the command
    line) when they draw none or several."""
    kinds = drawable_kinds(rows)
    if len(kinds) == 1:
        return kinds[0]
    if kinds:
        given = (lambda k: f"{option} {k}") if option.startswith("-") else (
            lambda k: f"{option}={k!r}")
        raise ConfigError(f"{option} is needed: these rows draw a figure against "
                          + " or ".join(f"{KINDS[k]} ({given(k)})" for k in kinds))
    if not rows:
        raise ConfigError("no stored rows to draw a figure from")
    axes = ", ".join(f"{x} ({k})" for k, x in KINDS.items())
    raise ConfigError(f"no figure to draw from {counted(len(rows), 'row')}: each kind needs "
                      f"rows at two or more values of its x axis: {axes}")


def _check_rows(rows: Any) -> None:
    """Refuse (:class:`~xbarmem.errors.ArgumentError`) ``rows`` that are not a list of rows of
    :meth:`~xbarmem.experiments.store.ResultStore.rows`: dicts with a ``trial`` name and
    ``config`` and ``result`` dicts (what the figures read)."""
    what = "a list of stored rows (ResultStore.rows)"
    check_type(rows, list | tuple, "rows", what)
    for k, row in enumerate(rows):
        if not (isinstance(row, dict) and isinstance(row.get("trial"), str)
                and isinstance(row.get("config"), dict) and isinstance(row.get("result"), dict)):
            raise ArgumentError(f"rows must be {what}: dicts with a 'trial' name and 'config' "
                                f"and 'result' dicts; row {k} is {shown(row)}")
        lacks = _lacks(row)
        if lacks:
            raise ArgumentError(f"rows must be {what}: row {k} has no {lacks}")


def _lacks(row: dict[str, Any]) -> str | None:
    """What a figure reads that ``row`` lacks: its rule's name, and its outcome (an
    evaluate row's cosine; a capacity row's capacities, and its points in their form when it
    has them)."""
    config, result = row["config"], row["result"]
    if not isinstance(config.get("rule"), str):
        return "config 'rule' (a rule name)"
    if row["trial"] == "evaluate" and not isinstance(result.get("cosine"), int | float):
        return "result 'cosine' (a number)"
    if row["trial"] == "capacity" and not isinstance(result.get("capacity"), dict):
        return "result 'capacity' (a dict {threshold: capacity})"
    points = result.get("points")
    if row["trial"] == "capacity" and points is not None and not (
            isinstance(points, list)
            and all(isinstance(p, dict) and {"count", "cosine"} <= set(p) for p in points)):
        return "result 'points' as a list of {count, cosine}"
    return None


@checked_keywords
def plot_rows(rows: Sequence[dict[str, Any]], kind: str | None = None, *,
              ax: Axes | None = None,
              title: str = "", thresholds: Sequence[float] = (),
              reference: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None
              ) -> Figure:
    """Draw ``kind`` (see the module docstring) from stored ``rows``; returns the Figure.

    Args:
        rows: rows of :meth:`xbarmem.experiments.store.ResultStore.rows`.
        kind: one of :data:`KINDS`; default the one kind the rows draw (:func:`choose_kind`).
        ax: draw into this Axes (facets are then pooled); default a new Figure.
        title: figure title (panels get their facet as title); default
            :func:`shared_settings` of the drawn rows, then the settings
            that vary along the lines unsaid by a facet (:func:`unsaid_settings`).
        thresholds: dotted, labelled horizontal lines (similarity kinds).
        reference: hollow markers ``{label: (xs, ys)}`` (e.g. values read from a paper's
            plots); a label ``"paper RULE"`` takes RULE's colour and marker.

    Raises:
        ArgumentError: ``rows`` that is not a list of stored rows (dicts of a trial name,
            config and result, the config naming a rule, the result holding the outcome).
        ConfigError: unknown kind, no rows to draw, or rows (and reference points) at a
            single value of the x axis; without ``kind``, rows that draw none or several; a
            title too long for the figure (:func:`~xbarmem.viz.text.check_title`).
    """
    check_title(title)
    _check_rows(rows)
    if kind is None:
        kind = choose_kind(rows)
    if not is_choice(kind, KINDS):
        raise ConfigError(f"plot kind must be one of {', '.join(KINDS)}, got {shown(kind)}")
    series = series_of(rows, kind)
    _check_finite(series, kind)
    if not series:
        _nothing_to_draw(rows, kind)
    xs = sorted({x for s in series for x in s.points}
                | {float(x) for rx, _ in (reference or {}).values() for x in rx})
    if len(xs) < 2:
        raise ConfigError(f"no {kind!r} figure: every row to draw has {KINDS[kind]} = "
                          f"{xs[0]:g}; the figure needs rows at two or more values of it")
    facets = sorted({s.facet for s in series}, key=facet_order)
    single_rule = len({s.rule for s in series}) == 1
    # one rule, several facets: the legend names the facets only, so the title names the rule
    title = title or "\n".join(t for t in (
        shared_settings([r for s in series for r in s.rows], KINDS[kind],
                        rule=single_rule and len(facets) > 1),
        unsaid_settings(series, KINDS[kind])) if t)
    with style(ax):
        if len(facets) == 1 or single_rule:
            fig, axis = new_axes(ax)
            _one_panel(axis, series, kind, thresholds, reference or {}, title)
            return fig
        if ax is not None or len(facets) > MAX_FACETS:
            fig, axis = new_axes(ax)
            keys = ", ".join(SETTING_NAMES.get(k, k) for k, _ in facets[0])
            _one_panel(axis, pooled(series), kind, thresholds, reference or {},
                       f"{title}\n(pooled over {keys}: {len(facets)} settings)".strip())
            return fig
        return _panels(series, facets, kind, thresholds, reference or {}, title)


def _nothing_to_draw(rows: Sequence[dict[str, Any]], kind: str) -> NoReturn:
    """Raise the ConfigError of ``rows`` none of which draws ``kind``: what the figure needs,
    and what they draw instead."""
    wanted = ("capacity rows" if kind == "capacity" else
              f"evaluate rows varying {KINDS[kind]} at fixed other settings"
              + (", or capacity rows of counts" if kind == "patterns" else ""))
    if not rows:
        raise ConfigError(f"no stored rows to draw a {kind!r} figure from ({wanted})")
    # (rows there are, of another kind: "no stored rows" read as an empty store)
    others = " or ".join(f"a {k!r} figure ({KINDS[k]} on the x axis)"
                         for k in drawable_kinds(rows) if k != kind)
    which = ("the one row" if len(rows) == 1
             else f"none of the {counted(len(rows), 'row')}")  # ("none of the 1 row")
    raise ConfigError(f"{which} draws {'no' if len(rows) == 1 else 'a'} {kind!r} figure, "
                      f"which needs {wanted}" + (
                          f"; {'it draws' if len(rows) == 1 else 'they draw'} {others}"
                          if others else ""))


def _check_finite(series: list[Series], kind: str) -> None:
    """A NaN or infinite value (rows made by hand: a store holds finite numbers only) would
    draw a broken line and numpy's RuntimeWarnings: a ConfigError naming it instead."""
    what = "capacity" if kind == "capacity" else "cosine"
    for s in series:
        for x, values in s.points.items():
            bad = [v for v in values if not math.isfinite(v)]
            if bad:
                raise ConfigError(f"no {kind!r} figure: a {s.rule} row at {KINDS[kind]} = "
                                  f"{x:g} has {what} {bad[0]}; rows drawn must hold finite "
                                  "numbers")


def cosine_bars(means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """The ``(2, n)`` lower and upper error bars of cosine ``means`` +- ``stds``, each ending
    at the cosine's bounds, -1 and 1: a mean of 0.99 with a std of 0.014 drew a bar to 1.004
    and the axis on to a tick at 1.1."""
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    return np.array([np.clip(np.minimum(stds, means + 1.0), 0.0, None),
                     np.clip(np.minimum(stds, 1.0 - means), 0.0, None)])


def _cut_words(series: list[Series]) -> str:
    """Which cosine bounds a mean +- std bar of ``series`` was cut at (:func:`cosine_bars`),
    for the legend title: ``"\\n(bars cut at cosine 1)"``, ``-1``, ``-1 and 1``, or empty."""
    ends = [(np.mean(v) - np.std(v), np.mean(v) + np.std(v))
            for s in series for v in s.points.values()]
    cut = [b for b, hit in (("-1", any(lo < -1.0 - 1e-9 for lo, _ in ends)),
                            ("1", any(hi > 1.0 + 1e-9 for _, hi in ends))) if hit]
    return f"\n(bars cut at cosine {' and '.join(cut)})" if cut else ""


def legend_title(kind: str, series: list[Series]) -> str:
    """What the points (and lines) are: mean +- std over how many seeds (and whether a bar
    was cut at a cosine's bound, :func:`cosine_bars`); capacity: at which threshold, when the
    series share one (several: each label names its own, ``@ 0.9``, and the title says what
    ``@`` is)."""
    n = seed_counts(series)
    seeds = f"{n[0]} seeds" if len(n) == 1 else f"{n[0]}-{n[-1]} seeds"
    text = "points: one seed each" if n == [1] else f"points: mean ± std over {seeds}"
    if kind != "capacity":
        return text + _cut_words(series)
    found = {float(s.threshold) for s in series if s.threshold is not None}
    head = (f"capacity at threshold {found.pop():g}\n" if len(found) == 1 else
            "capacity at threshold (@)\n" if found else "")
    return head + text + "\nlines: fit C = a N^k, k ± 95% CI"


def _one_panel(ax: Axes, series, kind, thresholds, reference, title) -> None:
    handles = draw_series(ax, series, kind) + _reference(ax, reference)
    handles += _axes_decor(ax, kind, thresholds, [x for s in series for x in s.points],
                           x_label(kind, series))
    set_title(ax, title)
    legend_outside(ax, handles=handles, labels=[h.get_label() for h in handles],
                   title=legend_title(kind, series))


def _panels(series, facets, kind, thresholds, reference, title) -> Figure:
    """One panel per facet and one legend for all, outside the panels (capacity: one column,
    each panel with its own legend, as every panel has its own fits)."""
    cols = 1 if kind == "capacity" else 2
    rows = math.ceil(len(facets) / cols)
    fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.2 * rows + 0.3), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    handles: dict[str, Any] = {}
    styles = _styles(series)  # (one legend: a series in one style in every panel)
    for i, facet in enumerate(facets):
        ax = axes.flat[i]
        part = [s for s in series if s.facet == facet]
        drawn = draw_series(ax, part, kind, styles=styles) + _reference(ax, reference) \
            + threshold_lines(ax, thresholds, what="threshold (value at right)")
        set_title(ax, line_label(facet, [r for s in part for r in s.rows],
                                 [r for s in series for r in s.rows]), width=LABEL_CHARS,
                  fontsize=7)  # (before the legend: it fits below the axes' top)
        if kind == "capacity":
            legend_outside(ax, handles=drawn, labels=[h.get_label() for h in drawn],
                           title=legend_title(kind, part))
        _shared_handles(handles, drawn)
        if kind == "capacity":
            log_axes(ax, xticks=[x for s in series for x in s.points],
                     empty="capacity 0 at every N", counts=True)
        else:
            linear_xticks(ax, integer=kind == "patterns")
            linear_yticks(ax)
    if kind != "capacity":
        cosine_limits(list(axes.flat))
    for i, ax in enumerate(axes.flat):
        if i >= len(facets):
            ax.set_visible(False)
            axes.flat[i - cols].xaxis.set_tick_params(labelbottom=True)
    fig.supxlabel(x_label(kind, series), fontsize=8)
    fig.supylabel("capacity (stored patterns)" if kind == "capacity" else
                  "mean cosine similarity", fontsize=8)
    if kind == "capacity":
        set_title(fig, title, fontsize=8)
        return fig
    if any(getattr(h, "_xbarmem_equal", False) for h in handles.values()):
        handles[EQUAL_SHARED] = equal_handle(EQUAL_SHARED)
    fig.legend(list(handles.values()), [wrap_text(h, LABEL_CHARS) for h in handles],
               loc="outside right upper",
               title=legend_title(kind, series).replace("points: ", "points:\n"))
    title_over_axes(fig, title, fontsize=8)  # (not into the legend beside the panels)
    return fig


#: the legend entry shared by panels for a series drawn over an equal one in some panel
EQUAL_SHARED = "dashed, hollow: equal at every point to a rule under it"


def _shared_handles(handles: dict[str, Any], drawn: list) -> None:
    """Add a panel's legend handles ``drawn`` to the panels' shared ``handles`` (by label,
    without the seed counts): a series drawn over an equal one (:func:`equal_note`) as the
    rule itself, in its own style -- the dashes and hollow markers are said once, by
    :data:`EQUAL_SHARED` (marked ``_xbarmem_equal``). The rule's own style is the one
    :func:`draw_series` keeps on its handle (``_xbarmem_own``: its dashes, which a handle
    made without them drew solid, pinv's dashes shown as a solid line)."""
    for h in drawn:
        label = h.get_label()
        equal = " (= " in label
        if equal:
            h = Line2D([], [], color=h.get_color(), marker=h.get_marker(),
                       ms=h.get_markersize(), lw=h.get_linewidth(),
                       **getattr(h, "_xbarmem_own", {}))
            h._xbarmem_equal = True  # type: ignore[attr-defined]
        label = label.split(" (= ")[0].split(" (n=")[0]
        h.set_label(label)
        kept = handles.setdefault(label, h)
        if equal and kept is not h:
            kept._xbarmem_equal = True
