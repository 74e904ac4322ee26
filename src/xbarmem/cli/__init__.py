"""Command-line interface: ``xbarmem`` (console script) and ``python -m xbarmem``, both
started by :mod:`xbarmem.launch` (``python -m xbarmem.cli`` runs it too, but imports this
package before any handler is set, so a Ctrl-C in its first moment is a traceback).

Layout: :mod:`~xbarmem.cli.apps` (the Typer apps and the command class),
:mod:`~xbarmem.cli.entry` (the entry point: errors in one line, exit codes, signals),
:mod:`~xbarmem.cli.messages` (warning and note lines), :mod:`~xbarmem.cli.tables` (consoles and
table layout), :mod:`~xbarmem.cli.records` (fields, specs and ``--json`` output), the
option modules (every shared option, declared once): :mod:`~xbarmem.cli.option_types` (how an
option is declared: bounds, completion, text checks, option groups),
:mod:`~xbarmem.cli.data_options` (patterns), :mod:`~xbarmem.cli.recall_options` (cues, recall,
capacity search, energy calibration), :mod:`~xbarmem.cli.hardware_options` (chip, fault maps,
chip import, adapt), :mod:`~xbarmem.cli.training_options` (rule, recipe, trainer options,
architecture), :mod:`~xbarmem.cli.output_options` (``--json``, ``-o`` and other outputs,
``--limit``), :mod:`~xbarmem.cli.run_options` (seed, threads, workers) and
:mod:`~xbarmem.cli.old_options` (old spellings, hidden); :mod:`~xbarmem.cli.given` (what the
given options mean together), :mod:`~xbarmem.cli.parsers` (list and JSON values),
:mod:`~xbarmem.cli.paths` (checks of the paths read and written), :mod:`~xbarmem.cli.progress`
(cost-weighted progress bars) and one module per command group (a long one split into
modules named after it: :mod:`~xbarmem.cli.capacity` keeps its option checks in
:mod:`~xbarmem.cli.capacity_checks` and its printed and written output in
:mod:`~xbarmem.cli.capacity_output`). Command modules import only those shared modules, their
own split-off modules and the library, never each other;
importing them here registers their commands on :data:`~xbarmem.cli.apps.app`.

May import every layer below it (the whole library); the entry point alone imports it.
"""

from xbarmem.cli import capacity, chip, demo, deploy, energy, experiments, memory, results
from xbarmem.cli.apps import app
from xbarmem.cli.entry import main

__all__ = ["app", "main", "capacity", "chip", "demo", "deploy", "energy", "experiments",
           "memory", "results"]
