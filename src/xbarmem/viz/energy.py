"""Figure of the async/sync energy and latency ratios against N (a Matplotlib Figure; save
with :func:`xbarmem.viz.style.save_figure`)."""

from __future__ import annotations

from typing import Any

import matplotlib.ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xbarmem.hardware.chip import chip_words
from xbarmem.viz.style import (
    layered,
    legend_outside,
    log_axes,
    new_axes,
    series_style,
    set_title,
    style,
)


def ratios_plot(sweep: dict[str, Any], *, ax: Axes | None = None) -> Figure:
    """Energy and latency ratio (async / sync, mean per recall) against N, log-log, each
    latency point annotated with the latency saved by synchronous recall; the lines join the
    sizes in increasing N whatever the order of ``rows``. Returns the Figure.

    Args:
        sweep: the dict of :func:`xbarmem.energy.measure.measure_sizes` (``rows`` with ``n``,
            ``energy_ratio``, ``latency_ratio``, ``latency_reduction``; ``settings``).
        ax: draw into this Axes (default: a new Figure).
    """
    # in increasing N: rows measured as given (--sizes 64,16,32) drew a line back and forth
    rows = sorted(sweep["rows"], key=lambda r: r["n"])
    n = [r["n"] for r in rows]
    with style(ax):
        fig, ax = new_axes(ax)
        for i, (key, label) in enumerate((("energy_ratio", "energy"),
                                          ("latency_ratio", "latency"))):
            st = series_style(i)
            ax.plot(n, [r[key] for r in rows], marker=st["marker"], color=st["color"],
                    label=label, **layered(i, 2))
        for r in rows:
            ax.annotate(f"{100 * r['latency_reduction']:.1f}%", (r["n"], r["latency_ratio"]),
                        textcoords="offset points", xytext=(0, 5), ha="center",
                        fontsize="x-small")
            ax.annotate(f"{r['energy_ratio']:.2f}x", (r["n"], r["energy_ratio"]),
                        textcoords="offset points", xytext=(0, -10), ha="center",
                        fontsize="x-small")
        ax.margins(x=0.08, y=0.18)
        log_axes(ax, x=False)
        ax.set_xscale("log", base=2)
        ax.set_xticks(n, labels=[str(v) for v in n])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("pattern size N (neurons)")
        ax.set_ylabel("async / sync per recall")
        s = sweep["settings"]
        flips = f", {s['flip']:.0%} flips" if "flip" in s else ""
        chip = chip_words(s["chip"], s.get("faults", 0.0), s.get("levels", 0))
        set_title(ax, f"{s['circuit']} circuit, {s['rule']} rule, {chip},\nrandom "
                      f"patterns P = {s['load']:g} N{flips}")
        legend_outside(ax, title="async / sync, mean per recall\n"
                                 "(labels: energy ratio, latency saved)")
    return fig
