"""Command-line interface: ``xbarmem`` (console script) and ``python -m xbarmem.cli``.

Layout: :mod:`~xbarmem.cli.common` (Typer apps, consoles, JSON output, error handling),
:mod:`~xbarmem.cli.options` (every shared option, declared once), :mod:`~xbarmem.cli.given`
(what the given options mean together), :mod:`~xbarmem.cli.parsers` (list and JSON values),
:mod:`~xbarmem.cli.paths` (checks of the paths read and written), :mod:`~xbarmem.cli.progress`
(cost-weighted progress bars) and one module per command group (a long one split into
modules named after it: :mod:`~xbarmem.cli.capacity` keeps its option checks in
:mod:`~xbarmem.cli.capacity_checks` and its printed and written output in
:mod:`~xbarmem.cli.capacity_output`). Command modules import only those six, their own split-off
modules and the library, never each other;
importing them here registers their commands on :data:`~xbarmem.cli.common.app`.
"""

from xbarmem.cli import capacity, chip, demo, deploy, energy, experiments, memory, results
from xbarmem.cli.common import app, main

__all__ = ["app", "main", "capacity", "chip", "demo", "deploy", "energy", "experiments",
           "memory", "results"]
