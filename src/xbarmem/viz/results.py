"""Figures drawn from stored rows (Matplotlib, non-interactive Agg backend; PNG or SVG by the
file suffix).

Kinds (:data:`KINDS`): ``patterns`` -- mean recall similarity against the number of stored
patterns (from evaluate rows and from the points of capacity rows); ``faults`` -- against the
fault rate; ``variation`` -- against the programming variation v; ``capacity`` -- capacity against
N on log-log axes with a power-law fit per series (``xbarmem.evaluation.scaling.fit_power_law``).

Rows are split into series by every configuration option that varies among them (besides the
x axis and the seed): the rule always, then e.g. ``fault_rate=0.5`` or ``cue_flip=0.05``. Each
point is the mean over seeds, with the standard deviation as an error bar.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from xbarmem.errors import ConfigError  # noqa: E402

KINDS = {"patterns": "patterns", "faults": "fault_rate", "variation": "variation",
         "capacity": "n_neurons"}
XLABEL = {"patterns": "stored patterns P", "faults": "fraction of stuck weights/devices",
          "variation": "programming variation v (sigma = v max|W|)",
          "capacity": "pattern size N (neurons)"}
_IGNORED = {"seed", "version", "chip_spec", "rule_options", "data_sha256", "trial", "rule",
            "counts", "thresholds"}


def _value(config: dict[str, Any], key: str) -> Any:
    if key == "fault_rate" and config.get("fault_rate") is None:
        dev = config["chip_spec"]["device"]
        return dev["p_stuck_on"] + dev["p_stuck_off"]
    return config.get(key)


def series_labels(rows: Sequence[dict[str, Any]], x_key: str) -> list[str]:
    """One label per row: the rule, then every other option varying among ``rows``."""
    varying = []
    keys = sorted({k for r in rows for k in r["config"]} - _IGNORED - {x_key})
    for key in keys:
        if len({json.dumps(r["config"].get(key), sort_keys=True) for r in rows}) > 1:
            varying.append(key)
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_rule[r["config"]["rule"]].append(r)
    option_keys: dict[str, list[str]] = {}
    for rule, group in by_rule.items():
        names = sorted({k for r in group for k in r["config"]["rule_options"]} - {"seed"})
        option_keys[rule] = [k for k in names if len({json.dumps(
            r["config"]["rule_options"].get(k)) for r in group}) > 1]
    labels = []
    for r in rows:
        c = r["config"]
        parts = [c["rule"] if c.get("arch", "single") == "single" or "arch" in varying
                 else f"{c['rule']} ({c['arch']})"]
        parts += [f"{k}={_fmt(c.get(k))}" for k in varying]
        parts += [f"{k}={_fmt(c['rule_options'].get(k))}" for k in option_keys[c["rule"]]]
        labels.append(", ".join(parts))
    return labels


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def similarity_series(rows: Sequence[dict[str, Any]], kind: str
                      ) -> dict[str, dict[float, list[float]]]:
    """``{series label: {x: [cosine per seed]}}`` for kinds patterns / faults / variation."""
    x_key = KINDS[kind]
    usable = [r for r in rows if r["trial"] == "evaluate" or
              (kind == "patterns" and r["trial"] == "capacity" and not r["config"]["search"])]
    out: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row, label in zip(usable, series_labels(usable, x_key), strict=True):
        if row["trial"] == "capacity":
            for point in row["result"]["points"]:
                out[label][float(point["count"])].append(point["cosine"])
        else:
            out[label][float(_value(row["config"], x_key))].append(row["result"]["cosine"])
    return out


def capacity_series(rows: Sequence[dict[str, Any]]) -> dict[str, dict[float, list[float]]]:
    """``{label @ threshold: {N: [capacity per seed]}}`` from capacity rows."""
    usable = [r for r in rows if r["trial"] == "capacity"]
    out: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row, label in zip(usable, series_labels(usable, "n_neurons"), strict=True):
        for threshold, cap in row["result"]["capacity"].items():
            out[f"{label} @ {float(threshold):g}"][float(row["config"]["n_neurons"])].append(cap)
    return out


def _fit(sizes: np.ndarray, caps: np.ndarray) -> tuple[float, float, str] | None:
    keep = caps > 0
    if len(np.unique(sizes[keep])) < 2:
        return None
    try:
        from xbarmem.evaluation.scaling import fit_power_law
    except ImportError:  # the scaling module is optional here: plain least squares
        slope, intercept = np.polyfit(np.log(sizes[keep]), np.log(caps[keep]), 1)
        return float(slope), float(math.exp(intercept)), ""
    fit = fit_power_law(sizes[keep], caps[keep])
    ci = ("" if not math.isfinite(fit.slope_low)
          else f" [{fit.slope_low:.2f}, {fit.slope_high:.2f}]")
    return fit.slope, fit.prefactor, ci


def plot_rows(rows: Sequence[dict[str, Any]], kind: str, path: str | Path, *,
              title: str = "", thresholds: Sequence[float] = (),
              reference: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None
              ) -> Path:
    """Draw ``kind`` (see module docstring) from stored ``rows`` into ``path`` (.png / .svg).

    ``thresholds`` adds dotted horizontal lines (similarity kinds); ``reference`` adds hollow
    markers ``{label: (xs, ys)}`` (e.g. values read from a paper's plots; a label ``"paper
    RULE"`` is drawn in the colour of RULE's series)."""
    if kind not in KINDS:
        raise ConfigError(f"plot kind must be one of {', '.join(KINDS)}, got {kind!r}")
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"figure file must end in .png or .svg, got {path.name}")
    series = capacity_series(rows) if kind == "capacity" else similarity_series(rows, kind)
    if not series:
        raise ConfigError(f"no stored rows to draw a {kind!r} figure from (evaluate rows "
                          f"varying {KINDS[kind]}, or capacity rows)")
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, points) in enumerate(sorted(series.items())):
        color = colors[i % len(colors)]
        xs = np.array(sorted(points))
        ys = np.array([np.mean(points[x]) for x in xs])
        err = np.array([np.std(points[x]) for x in xs])
        seeds = max(len(v) for v in points.values())
        if kind == "capacity":
            ax.errorbar(xs, ys, yerr=err, fmt="o", color=color, capsize=2,
                        label=f"{label} (n={seeds})")
            fit = _fit(xs, ys)
            if fit is not None:
                grid = np.geomspace(xs.min(), xs.max(), 50)
                ax.plot(grid, fit[1] * grid ** fit[0], "-", color=color, lw=1,
                        label=f"fit N^{fit[0]:.2f}{fit[2]}")
        else:
            ax.errorbar(xs, ys, yerr=err, fmt="o-", ms=3, lw=1.2, color=color, capsize=2,
                        label=f"{label} (n={seeds})")
    used = {label.split(",")[0].split(" (")[0]: colors[i % len(colors)]
            for i, label in enumerate(sorted(series))}
    for j, (label, (rx, ry)) in enumerate((reference or {}).items()):
        # a reference "paper RULE" takes the colour of RULE's measured series
        color = used.get(label.removeprefix("paper ").strip(),
                         colors[(len(series) + j) % len(colors)])
        ax.plot(rx, ry, "s", mfc="none", ms=6, color=color, label=label)
    for t in thresholds:
        ax.axhline(t, ls=":", lw=0.8, color="grey")
    if kind == "capacity":
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("capacity (stored patterns)")
    else:
        ax.set_ylabel("mean cosine similarity")
    ax.set_xlabel(XLABEL[kind])
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
