"""The progress bar of ``xbarmem capacity`` and ``xbarmem scaling``: their capacity searches'
work weighted by the sweeps' estimate (:mod:`xbarmem.experiments.costs`), so that the percent
and ETA count a search at N = 784 for more than one at N = 64.

Each search (one per architecture of ``capacity``, one per N of ``scaling``) weighs what the
capacity search trial a sweep would run for it is estimated to cost
(:func:`~xbarmem.experiments.resolve.search_config`, :func:`~xbarmem.experiments.costs.
cost_parts`), times its trials; within a search, the work done after each tested count is
:func:`~xbarmem.experiments.costs.search_progress`'s. Counts a checkpoint gave back are
reported as tested, so they count as work done.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable, Iterator
from typing import Any

from xbarmem.checks import seconds_text
from xbarmem.cli.progress import work_bar
from xbarmem.cli.tables import console


class SearchWork:
    """The work of searches run one after the other, in units of estimated work.

    ``searches`` maps each search's key to its trial configuration (a
    :func:`~xbarmem.experiments.resolve.search_config`), in the order they run; each weighs
    ``trials`` times its :func:`~xbarmem.experiments.costs.cost_parts`. :attr:`done` never
    decreases, stays within a search's share until it ends and is :attr:`total` once every
    search has ended."""

    def __init__(self, searches: dict[Hashable, dict[str, Any]], trials: int = 1) -> None:
        from xbarmem.experiments.costs import cost_parts, search_progress

        self.weights = {k: trials * sum(cost_parts(c)) for k, c in searches.items()}
        self.total = sum(self.weights.values())
        self.offsets: dict[Hashable, float] = {}
        before = 0.0
        for k, w in self.weights.items():
            self.offsets[k], before = before, before + w
        self.done = 0.0
        self._tested = {k: search_progress(c, functools.partial(self._reach, k))
                        for k, c in searches.items()}

    def _reach(self, key: Hashable, fraction: float) -> None:
        share = self.offsets[key] + min(max(fraction, 0.0), 1.0) * self.weights[key]
        self.done = max(self.done, share)

    def tested(self, key: Hashable, count: int, similarity: float) -> float:
        """The work done once search ``key`` has tested ``count`` (scored ``similarity``)."""
        self._tested[key](count, similarity)
        return self.done

    def ended(self, key: Hashable) -> float:
        """The work done once search ``key`` has ended (its whole share, whatever it tested)."""
        self._reach(key, 1.0)
        return self.done


class SearchBar:
    """A :func:`~xbarmem.cli.progress.work_bar` task over a :class:`SearchWork`; the latest
    tested count (``N=100 P=69: cosine 0.9090``) as its detail. Where stderr is not a
    terminal, nothing is drawn and each tested count is one line (``[12.3 s] N=100 P=69:
    cosine 0.9090``), so that a long run redirected to a file stays observable."""

    def __init__(self, bar, work: SearchWork, what: str, log: bool) -> None:
        self.bar, self.work, self.log = bar, work, log
        self.task = bar.add_task(what, total=work.total, detail="")

    def tested(self, key: Hashable, detail: str, count: int, similarity: float) -> None:
        """Search ``key`` tested ``count``: the bar moves, ``detail`` shown (or logged)."""
        done = self.work.tested(key, count, similarity)
        if self.log:
            elapsed = self.bar.tasks[0].elapsed or 0
            console.print(f"[{seconds_text(elapsed)} s] {detail}", highlight=False,
                          soft_wrap=True)
        self.bar.update(self.task, completed=done, detail=detail)

    def ended(self, key: Hashable) -> None:
        """Search ``key`` has ended: its whole share is done."""
        self.bar.update(self.task, completed=self.work.ended(key))


@contextlib.contextmanager
def search_bar(work: SearchWork, what: str, quiet: bool = False) -> Iterator[SearchBar]:
    """A :class:`SearchBar` of ``work`` described as ``what``, drawn on a terminal unless
    ``quiet`` (``--json``), full once the block within ends without an error; marks the start
    of the command's work (its held warnings are printed)."""
    with work_bar(console, disable=quiet, transient=True) as bar:
        shown = SearchBar(bar, work, what, log=not console.is_terminal)
        yield shown
        for key in work.weights:  # (every search has ended: the bar is full)
            shown.ended(key)
