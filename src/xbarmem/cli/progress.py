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

from rich.cells import cell_len
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar
from rich.table import Column
from rich.text import Text

from xbarmem.cli.messages import work_begins
from xbarmem.cli.tables import console as _console

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


#: the bar's width, and the narrowest it gets when the line is short of room
BAR_WIDTH, BAR_MIN = 40, 6


def line_shares(width: int, task: Task) -> tuple[str, int, Text]:
    """The description, bar width and detail of ``task`` on a line of ``width`` cells, so that
    the percent, elapsed time and ETA are always whole: the bar shrinks first (to
    :data:`BAR_MIN`), then the description gives up a closing remark in parentheses (``(48
    of 120 already stored)``) whole, then the two texts are cut, the longer first (the
    shorter keeps up to half of their room). At 80 columns a sweep named
    ``capacity-vs-faults`` had shown ``0:00…`` for its elapsed time and its ETA on a second
    line; ``train``'s line at N = 784 lost its bar, percent, time and ETA."""
    words = task.description
    detail = Text.from_markup(str(task.fields.get("detail", "")))
    eta = max(EtaColumn().render(task).cell_len, len("ETA estimating…"))
    elapsed = max(TimeElapsedColumn().render(task).cell_len, len("0:00:00"))
    # (the percent is at most "100%"; one space between each two of the six columns)
    free = width - (len("100%") + elapsed + eta + 5)
    room = max(free - BAR_MIN, 2)
    if cell_len(words) + detail.cell_len > room and words.endswith(")") and " (" in words:
        words = words[:words.rindex(" (")]
    text = Text(words)
    w, d = text.cell_len, detail.cell_len
    if w + d > room:
        short = min(w, d, max(room // 2, 1))
        w, d = (short, room - short) if w <= d else (room - short, short)
        text.truncate(max(w, 1), overflow="ellipsis")
        detail.truncate(max(d, 1 if detail.cell_len else 0), overflow="ellipsis")
    bar = max(BAR_MIN, min(BAR_WIDTH, free - text.cell_len - detail.cell_len))
    return text.plain, bar, detail


class _Shared(ProgressColumn):
    """A column of :func:`line_shares` on ``console``'s line, kept on one line."""

    def __init__(self, console: Console, part: int) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.console, self.part = console, part

    def render(self, task: Task) -> Text:
        # (descriptions quote sweep names and paths: shown as written, not read as markup)
        got = line_shares(self.console.width, task)[self.part]
        return got if isinstance(got, Text) else Text(str(got))


class _Bar(BarColumn):
    """Rich's bar, :func:`line_shares` wide."""

    def __init__(self, console: Console) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.console = console

    def render(self, task: Task) -> ProgressBar:
        self.bar_width = line_shares(self.console.width, task)[1]
        return super().render(task)


def work_bar(console: Console, *, disable: bool = False, transient: bool = False) -> Progress:
    """A bar of weighted work: description, bar, percent, ``{task.fields[detail]}``, elapsed,
    ETA, on one line of the console however narrow (:func:`line_shares`). Add tasks with
    ``detail=""``. A ``transient`` bar is drawn on a terminal only:
    elsewhere (stderr redirected) it would show nothing but leave an empty line. Making it
    marks the start of the command's work (:func:`xbarmem.cli.messages.work_begins`): its held
    warning lines are printed."""
    work_begins()
    return _bar(console, disable=disable, transient=transient)


def _bar(console: Console, *, disable: bool, transient: bool) -> Progress:
    """:func:`work_bar`'s bar, the command's held lines left held."""
    whole = Column(no_wrap=True)  # (whole on one line: the bar and the words give way)
    return Progress(_Shared(console, 0), _Bar(console),
                    TaskProgressColumn(table_column=whole), _Shared(console, 2),
                    TimeElapsedColumn(table_column=whole), EtaColumn(table_column=whole),
                    console=console, transient=transient,
                    disable=disable or (transient and not console.is_terminal))


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """A transient line on a terminal while one step of unknown length runs (a recall of many
    cues, an export of millions of devices): ``what`` is done, a moving bar, the time so far.
    Marks the start of the command's work, as :func:`work_bar` does."""
    with work_bar(_console, transient=True) as bar:
        bar.add_task(what, total=None, detail="")
        yield


class Planning:
    """:func:`planning`'s line: :meth:`stop` takes it away (the plan is made: another display
    follows)."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar

    def stop(self) -> None:
        """Take the line away (once; later calls do nothing)."""
        if self._bar.live.is_started:
            self._bar.stop()


@contextlib.contextmanager
def planning(what: str, *, quiet: bool = False) -> Iterator[Planning]:
    """A transient line on a terminal (none elsewhere, nor when ``quiet``: ``--json``) while a
    command plans its work, which can take long (a sweep of many trials validated and
    planned): ``what`` is done, a moving bar, the time so far. Unlike :func:`working` it does
    not mark the start of the command's work: its held warning lines stay held, so a plan
    refused prints its one error line. Yields a :class:`Planning` whose ``stop()`` takes the
    line away before the work's own display starts."""
    bar = _bar(_console, disable=quiet, transient=True)
    bar.add_task(what, total=None, detail="")
    shown = Planning(bar)
    bar.start()
    try:
        yield shown
    finally:
        shown.stop()
