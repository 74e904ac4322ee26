"""Command-line interface: ``xbarmem`` (console script) and ``python -m xbarmem.cli``.

Layout: :mod:`~xbarmem.cli.common` (Typer apps, consoles, JSON output, error handling),
:mod:`~xbarmem.cli.options` (every shared option and parser, declared once),
:mod:`~xbarmem.cli.progress` (cost-weighted progress bars) and one module per command group.
Command modules import only those three and the library, never each other;
importing them here registers their commands on :data:`~xbarmem.cli.common.app`.
"""

from xbarmem.cli import capacity, chip, demo, deploy, energy, experiments, memory
from xbarmem.cli.common import app, main

__all__ = ["app", "main", "capacity", "chip", "demo", "deploy", "energy", "experiments",
           "memory"]
