"""Figure of the async/sync energy and latency ratios against N (a Matplotlib Figure; save
with :func:`xbarmem.viz.style.save_figure`)."""

from __future__ import annotations

from typing import Any

import matplotlib.ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xbarmem.hardware.chip import chip_words
from xbarmem.names import corruption_words
from xbarmem.viz.legends import apart, legend_outside
from xbarmem.viz.style import apart_styles, layered, new_axes, series_style, style
from xbarmem.viz.text import set_title
from xbarmem.viz.ticks import log_axes, measured_ticks, plain_number


def ratios_plot(sweep: dict[str, Any], *, ax: Axes | None = None) -> Figure:
    """Energy and latency ratio (async / sync, mean per recall) against N, log-log, each
    latency point annotated with the latency saved by synchronous recall; the lines join the
    sizes in increasing N whatever the order of ``rows``. Returns the Figure.

    Args:
        sweep: the dict of :func:`xbarmem.energy.measure.measure_sizes` (``rows`` with
            ``n_neurons``, ``energy_ratio``, ``latency_ratio``, ``latency_reduction``;
            ``settings``).
        ax: draw into this Axes (default: a new Figure).
    """
    # in increasing N: rows measured as given (--sizes 64,16,32) drew a line back and forth;
    # rows saved before their N was n_neurons say n (and settings their stuck share faults)
    rows = sorted(({"n_neurons": r.get("n"), **r} for r in sweep["rows"]),
                  key=lambda r: r["n_neurons"])
    n = [r["n_neurons"] for r in rows]
    with style(ax):
        fig, ax = new_axes(ax)
        styles = apart_styles([series_style(0), series_style(1)])
        for i, (key, label) in enumerate((("energy_ratio", "energy"),
                                          ("latency_ratio", "latency"))):
            st = styles[i]
            ax.plot(n, [r[key] for r in rows], marker=st["marker"], color=st["color"],
                    ls=st["ls"], label=label, **layered(i, 2))
        texts = [ax.annotate(text, (r["n_neurons"], r[key]), textcoords="offset points",
                             xytext=(0, dy), ha="center", fontsize="x-small")
                 for key, dy, form in (("latency_ratio", 5, "{:.1%}"),
                                       ("energy_ratio", -10, "{:.2f}x"))
                 for r in rows
                 for text in [form.format(r["latency_reduction"] if dy > 0 else r[key])]]
        apart(ax, texts, "thin")  # sizes close together: every other value (all in the table)
        ax.margins(x=0.08, y=0.18)
        log_axes(ax, x=False)
        ax.set_xscale("log", base=2)
        ticks = measured_ticks(n, log=True)
        if ticks:  # the sizes measured, or (too close to label each) powers of two
            ax.set_xticks(ticks, labels=[f"{v:g}" for v in ticks])
        else:
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
                lambda v, _: plain_number(v)))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("pattern size N (neurons)")
        ax.set_ylabel("async / sync ratio")
        s = sweep["settings"]
        flips = (f", {corruption_words(s['corruption'], s['level'])}" if "corruption" in s else
                 f", {s['flip']:.0%} flips" if s.get("flip") is not None else "")
        chip = chip_words(s["chip"], s.get("fault_rate", s.get("faults", 0.0)),
                          s.get("levels", 0))
        set_title(ax, f"{s['circuit']} circuit, {s['rule']} rule, {chip},\nrandom "
                      f"patterns P = {s['load']:g} N{flips}")
        legend_outside(ax, title="async / sync, mean per recall\n"
                                 "(labels: energy ratio, latency saved)")
    return fig
