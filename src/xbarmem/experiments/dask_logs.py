"""Dask's logs while a Dask executor is open (:mod:`xbarmem.experiments.executors`): its own
loggers log nothing below CRITICAL, and the records of its event loop are held back from the
loggers that loop shares with the process's others (``asyncio``, ``tornado``); everything is
as it was when the executor closes. And the warning Dask gives when its scratch folders were
slow to make (:func:`slow_scratch_unsaid`)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

#: Dask's own loggers: they log nothing below CRITICAL while an executor is open
_DASK_LOGS = ("distributed",)
#: the loggers of Dask's event loop, which the process's other event loops share: only the
#: records Dask's loop emits are held back there (:class:`_DaskNoise`)
_LOOP_LOGS = ("asyncio", "tornado", "tornado.application", "tornado.general", "tornado.access")


class _DaskNoise(logging.Filter):
    """Holds back the records below CRITICAL that Dask's event loop emits on the loggers of
    :data:`_LOOP_LOGS`: those logged in Dask's loop thread (``IO loop``), or whose text or
    traceback is in Dask's files (a task of Dask's destroyed pending). The process's other
    records there (a notebook's, an application's own loop) pass."""

    def __init__(self) -> None:
        import os

        import distributed

        super().__init__()
        self.folder = os.path.dirname(distributed.__file__) + os.sep

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.CRITICAL:
            return True
        return not (record.threadName == "IO loop" or self._in_dask(record))

    def _in_dask(self, record: logging.LogRecord) -> bool:
        if self.folder in str(record.msg) or any(self.folder in str(a) for a in
                                                 _args(record)):
            return True
        trace = record.exc_info[2] if record.exc_info else None
        while trace is not None:
            if trace.tb_frame.f_code.co_filename.startswith(self.folder):
                return True
            trace = trace.tb_next
        return False


def _args(record: logging.LogRecord) -> tuple[Any, ...]:
    """The arguments of ``record``'s message (a mapping's values)."""
    args = record.args
    if isinstance(args, dict):
        return tuple(args.values())
    return tuple(args) if isinstance(args, tuple) else ()


def silence() -> Callable[[], None]:
    """Make Dask's loggers (:data:`_DASK_LOGS`) and their children log nothing below
    CRITICAL, and hold back the records of Dask's event loop on :data:`_LOOP_LOGS`
    (:class:`_DaskNoise`); the function returned restores the levels and removes the filter
    (once; later calls do nothing). Children are set too: Dask's configuration gives some
    their own level (``distributed.client``), which a parent's level does not override."""
    prefixes = tuple(f"{name}." for name in _DASK_LOGS)
    known = list(logging.root.manager.loggerDict.items())
    loggers = [logging.getLogger(name) for name in _DASK_LOGS] + [
        logger for key, logger in known
        if key.startswith(prefixes) and isinstance(logger, logging.Logger)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    noise = _DaskNoise()
    filtered = [logging.getLogger(name) for name in _LOOP_LOGS]
    for logger in filtered:
        logger.addFilter(noise)

    def restore() -> None:
        while levels:
            logger, level = levels.pop()
            logger.setLevel(level)
        while filtered:
            filtered.pop().removeFilter(noise)

    return restore


#: the start of the warning Dask's scheduler, nannies and workers give when making their
#: scratch folders took over a second
SLOW_SCRATCH = "Creating scratch directories is taking a surprisingly long time"


@contextlib.contextmanager
def slow_scratch_unsaid() -> Iterator[None]:
    """Inside (a local cluster's start), Dask's warning :data:`SLOW_SCRATCH` is not shown:
    in this process by a filter, in the worker processes started inside by the
    ``PYTHONWARNINGS`` they start with (what it was is restored after). A loaded machine or a
    slow disk made the folders take over a second now and then, and the scheduler and every
    worker printed the warning, with a path into Dask's files, before a sweep's own lines."""
    option = f"ignore:{SLOW_SCRATCH}:UserWarning"
    before = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{before},{option}" if before else option
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", re.escape(SLOW_SCRATCH), UserWarning)
            yield
    finally:
        if before is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = before
