"""Figures (PNG by default) drawn with Matplotlib's non-interactive Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def recall_grid(path: str | Path, stored: np.ndarray, image_shape: tuple[int, int],
                rows: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "") -> Path:
    """Grid of images: the stored patterns, then for each method its cue and recalled state.

    Args:
        path: output file (``.png`` or ``.svg``).
        stored: ``(P, N)`` stored patterns.
        image_shape: ``(h, w)`` with ``h * w == N``.
        rows: ``{method: (cues (P, N), recalled (P, N))}``.
        title: figure title.
    """
    path = Path(path)
    p = stored.shape[0]
    n_rows = 1 + 2 * len(rows)
    fig, axes = plt.subplots(n_rows, p, figsize=(0.75 * p + 1.6, 0.8 * n_rows + 0.6),
                             squeeze=False)
    labelled = [("stored", stored)]
    for name, (cues, states) in rows.items():
        labelled += [(f"{name}\ncue", cues), (f"{name}\nrecalled", states)]
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
