"""Figures (Matplotlib, PNG): recall grids, scaling fits, results-store plots, energy ratios.

May import: evaluation, energy and everything below them; never experiments or cli.
"""
