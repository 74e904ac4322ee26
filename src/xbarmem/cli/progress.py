"""Progress bars of long commands (Rich): work weighted by estimated cost, and an ETA shown
only once enough has been measured.

The bar's ``total`` and ``completed`` are in units of estimated work (e.g. the summed cost of
sweep trials, :func:`xbarmem.experiments.runner.trial_cost`, or optimiser steps), not in
items, so a run whose costly items come first does not sit at 0. The ETA is the elapsed time
scaled by the remaining fraction of the work; it reads "estimating…" until the run has gone
on for :data:`ETA_AFTER_SECONDS` or finished :data:`ETA_AFTER_FRACTION` of its work.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from xbarmem.cli.common import console as _console
from xbarmem.cli.common import work_begins

#: the ETA is hidden for this long ...
ETA_AFTER_SECONDS = 60.0
#: ... unless this fraction of the work is done (after at least a few seconds)
ETA_AFTER_FRACTION = 0.05
_MIN_SECONDS = 3.0


def eta_seconds(elapsed: float | None, completed: float, total: float | None) -> float | None:
    """Seconds left, from the average rate so far; None while too little is measured
    (see the module docstring) or when the total is unknown."""
    if not total or elapsed is None or completed <= 0:
        return None
    fraction = min(completed / total, 1.0)
    enough = elapsed >= ETA_AFTER_SECONDS or (fraction >= ETA_AFTER_FRACTION
                                              and elapsed >= _MIN_SECONDS)
    if not enough:
        return None
    return elapsed * (1.0 - fraction) / fraction


class EtaColumn(ProgressColumn):
    """``ETA h:mm:ss`` by :func:`eta_seconds`, else ``ETA estimating…``; a task whose total is
    an upper bound (field ``bound=True``, e.g. a step budget that training may stop short
    of) shows ``ETA <= h:mm:ss``. Work that failed (field ``failed_work``, e.g. the trials of
    a failed sweep group) is not completed but is settled: the ETA counts it as work behind,
    and nothing is shown once the completed and failed work reach the total. Work of no known
    total (``total=None``: one recall of many cues) shows no ETA: it would read "estimating…"
    to the end."""

    def render(self, task: Task) -> Text:
        settled = task.completed + task.fields.get("failed_work", 0.0)
        left = eta_seconds(task.elapsed, settled, task.total)
        if task.total is None or task.finished or settled >= task.total * (1 - 1e-9):
            return Text("")
        if left is None:
            return Text("ETA estimating…", style="progress.remaining")
        bound = "<= " if task.fields.get("bound") else ""
        return Text(f"ETA {bound}{_dt.timedelta(seconds=round(left))}",
                    style="progress.remaining")


def work_bar(console: Console, *, disable: bool = False, transient: bool = False) -> Progress:
    """A bar of weighted work: description, bar, percent, ``{task.fields[detail]}``, elapsed,
    ETA. Add tasks with ``detail=""``. A ``transient`` bar is drawn on a terminal only:
    elsewhere (stderr redirected) it would show nothing but leave an empty line. Making it
    marks the start of the command's work (:func:`xbarmem.cli.common.work_begins`): its held
    warning lines are printed."""
    work_begins()
    # (descriptions quote sweep names and paths: shown as written, not read as Rich markup)
    return _FittedProgress(TextColumn("{task.description}", markup=False), BarColumn(),
                           TaskProgressColumn(),
                           TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                           EtaColumn(), console=console, transient=transient,
                           disable=disable or (transient and not console.is_terminal))


#: the narrowest bar of a progress line too long for the terminal
NARROW_BAR = 10


class _FittedProgress(Progress):
    """A progress line that fits the terminal: when it is too long, its bar narrows (to
    :data:`NARROW_BAR` at least), then the texts (description, detail) are cut short with
    "…", the longest first (a short one stays whole), so that the percentage, elapsed time
    and ETA stay whole (at 80 columns, `train`'s line lost its bar, time and ETA to a
    description and detail folded or cut)."""

    def make_tasks_table(self, tasks):
        table = super().make_tasks_table(tasks)
        if getattr(self, "live", None) is None:  # (rich's first table, made before its console)
            return table
        natural = _natural_widths(self.console, table)
        room = self.console.options.max_width - (len(natural) - 1)  # (a space between columns)
        if sum(natural) <= room:
            return table
        kinds = ["bar" if isinstance(source, BarColumn) else
                 "text" if type(source) is TextColumn else "fixed" for source in self.columns]
        bar = max(NARROW_BAR, room - sum(w for w, k in zip(natural, kinds, strict=True)
                                         if k != "bar"))
        table.columns[kinds.index("bar")].width = bar
        texts = room - bar - sum(w for w, k in zip(natural, kinds, strict=True) if k == "fixed")
        cut = sorted((w, i) for i, (w, k) in enumerate(zip(natural, kinds, strict=True))
                     if k == "text" and w > 1)
        for left, (w, i) in zip(range(len(cut), 0, -1), cut, strict=True):  # shortest first
            column = table.columns[i]
            column.width = max(1, min(w, texts // left))
            column.no_wrap, column.overflow = True, "ellipsis"
            texts -= column.width
        return table


def _natural_widths(console: Console, table) -> list[int]:
    """The width each column of ``table`` (a grid without padding, a space between columns)
    takes on a terminal of any width: its widest cell (an empty column takes 1)."""
    from rich.measure import Measurement

    unbounded = console.options.update(max_width=10**6)  # (a measurement is cut to the width)
    return [max((Measurement.get(console, unbounded, cell).maximum for cell in column.cells),
                default=1) or 1 for column in table.columns]


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """A transient line on a terminal while one step of unknown length runs (a recall of many
    cues, an export of millions of devices): ``what`` is done, a moving bar, the time so far.
    Marks the start of the command's work, as :func:`work_bar` does."""
    with work_bar(_console, transient=True) as bar:
        bar.add_task(what, total=None, detail="")
        yield
