"""Figures (Matplotlib): recall grids, scaling fits, results-store plots, energy ratios.

Modules: ``figures`` (recall grids, scaling fits, energy ratios), ``results`` (figures from the
rows of a results store, grouped by ``series``), ``energy``, and the style they share. Every plot
function returns a ``matplotlib.figure.Figure`` and accepts ``ax=`` (draw into a given Axes);
none uses pyplot or switches the Matplotlib backend. One style for all (:mod:`xbarmem.viz.style`:
rule colours and markers, sizes for a two-column paper; beside it ``text``: titles and wrapped
names, ``legends``: legends outside the data, ``ticks``: axes' ticks, ``marks``: zeros, lower
bounds, fits); :func:`xbarmem.viz.style.save_figure` writes PNG or SVG.

May import: evaluation, energy and everything below them; never experiments or cli.
"""

from __future__ import annotations

import logging
import sys

from xbarmem.errors import warn

#: the start of what Matplotlib logs when it has no writable folder for its cache and
#: settings (the home folder read-only, or MPLCONFIGDIR not writable), naming the folders
_FOLDER_MESSAGES = ("mkdir -p failed for path", "%s is not a writable directory",
                    "Matplotlib created a temporary")


class _FolderMessages(logging.Filter):
    """Drops :data:`_FOLDER_MESSAGES`, counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith(_FOLDER_MESSAGES):
            self.dropped += 1
            return False
        return True


def _import_matplotlib() -> None:
    """Import Matplotlib (and its font cache) once, saying in one
    :class:`~xbarmem.errors.XbarmemWarning` when it has no writable folder for its cache
    (Matplotlib then uses a temporary folder, removed at exit): it logged two warnings
    naming folders outside the project instead."""
    if "matplotlib.font_manager" in sys.modules:
        return
    quiet, log = _FolderMessages(), logging.getLogger("matplotlib")
    log.addFilter(quiet)
    try:
        import matplotlib.font_manager  # noqa: F401
    finally:
        log.removeFilter(quiet)
    if quiet.dropped:
        warn("Matplotlib has no writable folder for its cache (the home folder or MPLCONFIGDIR "
             "is not writable): it builds one for this run only; set MPLCONFIGDIR to a "
             "writable folder to keep it", stacklevel=2)


_import_matplotlib()
