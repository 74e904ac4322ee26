"""Command-line interface: one module per command group, shared options in ``options``.

Importing the command modules registers their commands on the Typer app of ``common``.
"""

from xbarmem.cli import app as _app  # noqa: F401  (train, evaluate, recall, chip ...)
from xbarmem.cli import capacity, deploy, energy, experiments  # noqa: F401
from xbarmem.cli.app import main

__all__ = ["main"]
