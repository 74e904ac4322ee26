"""Figure of the async/sync ratios against N (PNG, Matplotlib's non-interactive Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def ratios_plot(sweep: dict[str, Any], path: str | Path) -> Path:
    """Energy and latency ratio (async / sync, mean per recall) against N, log-log.

    Args:
        sweep: the dict of :func:`xbarmem.energy.measure.measure_sizes`.
        path: output file (``.png`` or ``.svg``).
    """
    path = Path(path)
    rows = sweep["rows"]
    n = [r["n"] for r in rows]
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    ax.plot(n, [r["energy_ratio"] for r in rows], "o-", label="energy async / sync")
    ax.plot(n, [r["latency_ratio"] for r in rows], "s-", label="latency async / sync")
    for r in rows:
        ax.annotate(f"{100 * r['latency_reduction']:.2f}%", (r["n"], r["latency_ratio"]),
                    textcoords="offset points", xytext=(4, -10), fontsize=6)
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, labels=[str(v) for v in n])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yscale("log")
    ax.set_xlabel("neurons N")
    ax.set_ylabel("async / sync per recall")
    s = sweep["settings"]
    ax.set_title(f"{s['circuit']} circuit, {s['rule']} rule, {s['chip']} chip, "
                 f"random patterns P = {s['load']:g} N", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
