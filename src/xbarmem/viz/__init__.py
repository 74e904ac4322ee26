"""Figures (Matplotlib): recall grids, scaling fits, results-store plots, energy ratios.

Modules: ``figures`` (recall grids, scaling fits, energy ratios), ``results`` (figures from the
rows of a results store, grouped by ``series``), ``style``. Every plot function returns a
``matplotlib.figure.Figure`` and accepts ``ax=`` (draw into a given Axes); none uses pyplot or
switches the Matplotlib backend. One style for all (:mod:`xbarmem.viz.style`: rule colours and
markers, legends outside the data, sizes for a two-column paper);
:func:`xbarmem.viz.style.save_figure` writes PNG or SVG.

May import: evaluation, energy and everything below them; never experiments or cli.
"""
