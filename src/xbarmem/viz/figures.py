"""Figures (PNG by default) drawn with Matplotlib's non-interactive Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def recall_grid(path: str | Path, stored: np.ndarray, cues: np.ndarray,
                image_shape: tuple[int, int], recalled: dict[str, np.ndarray],
                title: str = "") -> Path:
    """Grid of images: stored patterns, the cues, then each method's recalled states.

    Args:
        path: output file (``.png`` or ``.svg``).
        stored: ``(P, N)`` stored patterns.
        cues: ``(P, N)`` corrupted cues (the same for every method).
        image_shape: ``(h, w)`` with ``h * w == N``.
        recalled: ``{method: states (P, N)}``.
        title: figure title.
    """
    path = Path(path)
    p = stored.shape[0]
    n_rows = 2 + len(recalled)
    fig, axes = plt.subplots(n_rows, p, figsize=(0.75 * p + 1.6, 0.8 * n_rows + 0.6),
                             squeeze=False)
    labelled = [("stored", stored), ("cue", cues)]
    labelled += [(f"{name}", states) for name, states in recalled.items()]
    for r, (label, images) in enumerate(labelled):
        for c in range(p):
            ax = axes[r, c]
            ax.imshow(np.asarray(images[c]).reshape(image_shape), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scaling_plot(result: dict, path: str | Path, title: str = "") -> Path:
    """Capacity against N on log-log axes, one series per threshold, with the fitted power law
    ``C = a N^k`` (slope and confidence interval in the legend).

    Args:
        result: the dict of :func:`xbarmem.evaluation.scaling.run_scaling` (``sizes``, ``capacity``,
            ``fits`` keyed by threshold).
        path: output file (``.png`` or ``.svg``).
    """
    path = Path(path)
    sizes = np.asarray(result["sizes"], dtype=float)
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    for (threshold, caps), color in zip(result["capacity"].items(),
                                        plt.rcParams["axes.prop_cycle"].by_key()["color"],
                                        strict=False):
        caps = np.asarray(caps, dtype=float)
        keep = caps > 0
        ax.plot(sizes[keep], caps[keep], "o", color=color, label=f"capacity @ {threshold}")
        fit = result["fits"].get(threshold)
        if fit:
            grid = np.geomspace(sizes.min(), sizes.max(), 50)
            ci = ("" if not np.isfinite(fit["slope_low"]) else
                  f" [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]")
            ax.plot(grid, fit["prefactor"] * grid ** fit["slope"], "-", color=color,
                    label=f"N^{fit['slope']:.2f}{ci}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pattern size N (neurons)")
    ax.set_ylabel("capacity (stored patterns)")
    settings = result.get("settings", {})
    hidden = settings.get("hidden_rule", "") if settings.get("arch") == "multilayer" else ""
    ax.set_title(title or f"{settings.get('arch', '')} {settings.get('kind', '')} {hidden}",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
