"""Recall grids and capacity-scaling plots (Matplotlib Figures; save with
:func:`xbarmem.viz.style.save_figure`)."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from xbarmem.checks import as_real_array, check_image_shape, check_type
from xbarmem.data.corruption import describe_corruption
from xbarmem.errors import ConfigError
from xbarmem.evaluation.capacity import pool_limited
from xbarmem.evaluation.hidden_rule import hidden_layers
from xbarmem.hardware.chip import spec_words
from xbarmem.viz.legends import legend_outside
from xbarmem.viz.marks import (
    equal_cue,
    equal_note,
    equal_series,
    lower_bound_handle,
    mark_lower_bounds,
    mark_zeros,
    power_law_line,
    zero_handle,
)
from xbarmem.viz.series import DATA_WORDS, phrase_lines
from xbarmem.viz.style import (
    COLUMN_WIDTH,
    REFERENCE_COLOR,
    apart_styles,
    layered,
    new_axes,
    rule_style,
    series_style,
    style,
)
from xbarmem.viz.text import check_title, set_title
from xbarmem.viz.ticks import log_axes

#: the most patterns side by side in a recall grid: more go on in blocks below (60 patterns
#: in one row were 3 mm each at two columns' width)
GRID_COLUMNS = 20


def mosaic(rows: list[np.ndarray], image_shape: tuple[int, int], gap: int = 1,
           columns: int | None = None) -> np.ndarray:
    """One image of ``len(rows)`` rows of ``P`` images each (``rows[r]``: ``(P, h * w)``),
    separated by ``gap`` pixels of NaN (drawn blank). ``columns``: at most this many images
    side by side; the patterns after them go on in blocks of the same rows below (the last
    block's missing places blank)."""
    h, w = image_shape
    p = rows[0].shape[0]
    per = min(p, columns or p)
    height = len(rows) * (h + gap)
    out = np.full((math.ceil(p / per) * height - gap, per * (w + gap) - gap), np.nan)
    for r, images in enumerate(rows):
        for i in range(p):
            top, c = (i // per) * height + r * (h + gap), i % per
            out[top: top + h, c * (w + gap): c * (w + gap) + w] = \
                np.asarray(images[i], dtype=float).reshape(h, w)
    return out


def grid_columns(p: int) -> int:
    """Images side by side in a recall grid of ``p`` patterns: all of them up to
    :data:`GRID_COLUMNS`, else as many as makes blocks of even length."""
    return math.ceil(p / math.ceil(p / GRID_COLUMNS))


def recall_grid(stored: Any, cues: Any, image_shape: tuple[int, int],
                recalled: dict[str, Any], *, title: str = "",
                ax: Axes | None = None) -> Figure:
    """Grid of images: the stored patterns, the cues, then each method's recalled states (one
    row each, labelled; a row label in a rule's colour); more than :data:`GRID_COLUMNS`
    patterns go on in blocks of these rows below, in blocks of even length. Returns the
    Figure.

    Args:
        stored: ``(P, N)`` stored patterns in [-1, 1].
        cues: ``(P, N)`` corrupted cues (the same for every method).
        image_shape: ``(h, w)`` with ``h * w == N``.
        recalled: ``{method: states (P, N)}`` (a :class:`~xbarmem.memory.recall.RecallResult`
            for its ``states``).
        title: axes title.
        ax: draw into this Axes (default: a new Figure sized to the grid).

    ``stored``, ``cues`` and the states may be numpy arrays, tensors, nested lists or a
    :class:`~xbarmem.data.patterns.PatternSet`.

    Raises:
        ConfigError: ``h * w != N``, an ``image_shape`` that is no pair of integers, a
            ``recalled`` that is no dict, or a matrix that is not ``(P, N)`` as ``stored``; a
            title too long for the figure (:func:`~xbarmem.viz.text.check_title`).
    """
    check_title(title)
    labelled = _grid_rows(stored, cues, recalled)
    stored = labelled[0][1]
    h, w = check_image_shape(image_shape)
    if h * w != stored.shape[1]:
        raise ConfigError(f"image shape {image_shape} does not hold N={stored.shape[1]}")
    per = grid_columns(stored.shape[0])
    image = mosaic([images for _, images in labelled], image_shape, columns=per)
    blocks = math.ceil(stored.shape[0] / per)
    with style(ax):
        width = min(2 * COLUMN_WIDTH, 0.95 + 0.255 * per)
        fig, ax = new_axes(ax, width=width,
                           height=0.35 + width * image.shape[0] / image.shape[1] * 0.9)
        # the gaps and the frame grey: an image's edge shows on a light or a dark background
        cmap = matplotlib.colormaps["gray_r"].with_extremes(bad=REFERENCE_COLOR)
        ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=-1, vmax=1,
                  interpolation="nearest")
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([(b * len(labelled) + r) * (h + 1) + (h - 1) / 2
                       for b in range(blocks) for r in range(len(labelled))],
                      labels=[name for _ in range(blocks) for name, _ in labelled])
        ax.tick_params(axis="y", length=0)
        for tick, (name, _) in zip(ax.get_yticklabels(), labelled * blocks, strict=True):
            if name not in ("stored", "cue"):
                tick.set_color(rule_style(name)["color"])
        for side in ax.spines.values():
            side.set_color(REFERENCE_COLOR)
        set_title(ax, title)
    return fig


def _grid_rows(stored: Any, cues: Any, recalled: Any) -> list[tuple[str, np.ndarray]]:
    """The rows of :func:`recall_grid`, labelled, each a ``(P, N)`` array as ``stored`` is;
    :class:`ConfigError` naming the first that is not."""
    check_type(recalled, dict, "recalled", "a dict {method: states (P, N)}")
    given = [("stored", stored), ("cue", cues),
             *((str(name), getattr(states, "states", states))
               for name, states in recalled.items())]
    rows = [(name, as_real_array(value, name if name in ("stored", "cue") else
                                 f"recalled[{name!r}]", dtype=None)) for name, value in given]
    shape = rows[0][1].shape
    if len(shape) != 2 or not all(shape):
        raise ConfigError(f"stored must be a (P, N) matrix, got shape {shape}")
    for name, rows_of in rows[1:]:
        if rows_of.shape != shape:
            what = "cues" if name == "cue" else f"recalled[{name!r}]"
            raise ConfigError(f"{what} must have the shape of stored {shape}, got "
                              f"{rows_of.shape}")
    return rows


def scaling_plot(result: dict, *, title: str = "", ax: Axes | None = None) -> Figure:
    """Capacity against N on log-log axes, one series per threshold, with the fitted power
    law ``C = a N^k`` (exponent and its confidence interval in the legend). Returns the
    Figure.

    Args:
        result: the dict of :func:`xbarmem.evaluation.scaling.run_scaling` (``sizes``,
            ``capacity`` and ``fits`` keyed by threshold, ``settings``).
        title: axes title (default from the settings).
        ax: draw into this Axes (default: a new Figure).

    Raises:
        ConfigError: a title too long for the figure (:func:`~xbarmem.viz.text.check_title`).
    """
    check_title(title)
    sizes = np.asarray(result["sizes"], dtype=float)
    settings = result.get("settings", {})
    single_rule = settings.get("arch") != "multilayer" and settings.get("rule")
    with style(ax):
        fig, ax = new_axes(ax)
        handles, bounded, zeros = [], False, False
        same_as = equal_series([(sizes, caps) for caps in result["capacity"].values()])
        count = len(result["capacity"])
        styles = _threshold_styles(count, single_rule)
        for i, (threshold, caps) in enumerate(result["capacity"].items()):
            st = styles[i]
            size = layered(i, count, lw=1.0)
            # drawn over an equal series (hollow, dashed: both show), or as itself
            same = same_as[i]
            cue: dict[str, Any] = equal_cue(same[1]) if same else {"ls": st["ls"]}
            caps = np.asarray(caps, dtype=float)
            keep = caps > 0
            ax.plot(sizes[keep], caps[keep], ls="none", marker=st["marker"], color=st["color"],
                    ms=size["ms"], mfc=cue.get("mfc"))
            mark_zeros(ax, sizes[~keep], st["color"], st["marker"], size["ms"])
            zeros = zeros or not keep.all()
            bounds = [(n, c) for n, c, run in zip(sizes, caps, result.get("runs") or [],
                                                  strict=False) if threshold in pool_limited(run)]
            mark_lower_bounds(ax, bounds, st["color"])
            bounded = bounded or bool(bounds)
            fit = result["fits"].get(threshold)
            if fit:
                power_law_line(ax, sizes[keep], fit["slope"], fit["prefactor"],
                               color=st["color"], lw=size["lw"], ls=cue["ls"])
            text = f"@ {threshold}: {_fit_words(fit, int(keep.sum()))}"
            if same:
                text = equal_note(text, f"@ {list(result['capacity'])[same[0]]}")
            handles.append(Line2D([], [], color=st["color"], marker=st["marker"], label=text,
                                  **size, **{**cue, **({} if fit else {"ls": "none"})}))
        if bounded:
            handles.append(lower_bound_handle("every distinct pattern of the pool stored"))
        if zeros:
            handles.append(zero_handle())
        log_axes(ax, xticks=sizes, empty="capacity 0 at every N", counts=True)
        ax.set_xlabel("pattern size N (neurons)")
        ax.set_ylabel("capacity (stored patterns)")
        set_title(ax, title or scaling_title(settings))
        legend_outside(ax, handles=handles, labels=[str(h.get_label()) for h in handles],
                       title=_legend_title(settings))
    return fig


def _threshold_styles(count: int, rule: str | None) -> list[dict[str, Any]]:
    """The styles of a scaling plot's ``count`` thresholds: the ``rule``'s own when it is
    one rule's single threshold, else by threshold, apart in grey
    (:func:`~xbarmem.viz.style.apart_styles`)."""
    return apart_styles([rule_style(rule) if rule and count == 1 else series_style(i)
                         for i in range(count)])


def _legend_title(settings: dict) -> str:
    """A scaling plot's legend title: what a point is -- with the ``trials`` of
    ``settings``, `` (mean recall over 3 trials)`` (one capacity from the recall of every
    trial's cues, no spread) or `` (one trial)`` -- and what a line is."""
    trials = settings.get("trials")
    said = ("" if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1 else
            " (one trial)" if trials == 1 else f" (mean recall over {trials} trials)")
    return f"capacity at threshold{said};\nline: fit C = a N^k, k ± 95% CI"


def _fit_words(fit: dict | None, sizes: int) -> str:
    """A scaling fit in a legend entry: ``k = 0.90 ± 0.10``, or why there is no CI (a fit
    of ``sizes`` = 2 sizes) or no fit (fewer than 2 ``sizes`` of capacity > 0)."""
    if not fit:
        return "no fit (< 2 sizes with capacity > 0)" if sizes < 2 else "no fit"
    # (bounds of a 2-size fit: NaN, or null in the command's JSON file)
    low, high = (math.nan if fit.get(k) is None else float(fit[k])
                 for k in ("slope_low", "slope_high"))
    ci = f" ± {(high - low) / 2:z.2f}" if math.isfinite(low) else f" ({sizes} sizes: no CI)"
    return f"k = {fit['slope']:z.2f}{ci}"  # (z: no "-0.00")


def scaling_title(settings: dict) -> str:
    """A scaling plot's default title from a result's ``settings``: the memory (``multilayer
    N-32-N``, ``multilayer N-N-0.5N-N`` for two hidden layers, ``single layer, pinv``), then
    the data, the cues' corruption and the chip (each part only where the settings hold
    it)."""
    arch = settings.get("arch", "")
    memory = arch
    if arch == "multilayer" and settings.get("hidden_rule"):
        widths = [f"{int(rule.value)}" if rule.kind == "fixed"
                  else ("" if rule.value == 1 else rule.value_text) + "N"
                  for rule in hidden_layers(settings["hidden_rule"])]
        memory = f"multilayer N-{'-'.join(widths)}-N"
    elif arch == "single":
        memory = ", ".join(v for v in ("single layer", settings.get("rule")) if v)
    data = DATA_WORDS.get(settings.get("data", ""), settings.get("data", ""))
    second = [" ".join(v for v in (settings.get("kind", ""), data) if v)]
    protocol = settings.get("protocol") or {}
    if "corruption" in protocol and "level" in protocol:
        second.append(describe_corruption(protocol["corruption"], protocol["level"]))
    chip = settings.get("chip")
    if isinstance(chip, dict) and chip.get("name"):
        second.append(spec_words(chip))
    return "\n".join(v for v in (memory, phrase_lines([v for v in second if v])) if v)
