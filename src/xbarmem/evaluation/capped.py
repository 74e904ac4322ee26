"""Recalls that ran to their cap, warned about once per call of a public function.

tanh states under read noise change by about the noise at every step, so with a ``tol`` below
it every recall runs to ``max_iterations`` without converging, and its score says nothing of
a fixed point. :func:`~xbarmem.evaluation.evaluate.evaluate_memory` warns of it; a function
that scores many memories (``compare_rules``, ``recall_curve``, the chip loops of
:mod:`xbarmem.deploy.chip_loop`) warns of all their recalls in one line (:func:`warns_capped`:
the recalls of the :func:`capped_recalls` it runs inside are counted, not warned about one by
one). The capacity searches and the command line's ``evaluate`` warn in their own words and
run quiet (``capped_recalls(quiet=True)``); a sweep's trials run with their warnings quiet.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from xbarmem.checks import counted
from xbarmem.errors import caller_stacklevel, warn
from xbarmem.names import noise_capped_text

__all__ = ["capped_recalls", "note_capped", "warns_capped"]

F = TypeVar("F", bound=Callable[..., Any])

#: per thread: the tally of the :func:`capped_recalls` it runs inside (None outside)
_STATE = threading.local()


@dataclass
class Capped:
    """The tanh recalls under read noise counted inside :func:`capped_recalls`: how many ran
    to their cap (``capped``) of how many (``total``), and the ``(max_iterations, tol)`` of
    those that did."""

    capped: int = 0
    total: int = 0
    limits: set[tuple[int, float]] = field(default_factory=set)

    def text(self, name: str) -> str:
        """The one-line warning of function ``name`` of these recalls: how many ran to the
        cap, why, and the ``tol`` that lets them settle (:func:`~xbarmem.names.
        noise_capped_text`)."""
        caps = "/".join(str(c) for c in sorted({c for c, _ in self.limits}))
        tol = min(t for _, t in self.limits)
        recalls = (f"{name}: {self.capped} of {counted(self.total, 'tanh recall')} ran to "
                   f"max_iterations = {caps} and")
        return (f"{noise_capped_text(self.capped / self.total, tol, 'tol', recalls=recalls)}: "
                f"Protocol(tol=...) (CLI: --tol)")


#: the tally of a quiet :func:`capped_recalls`: nothing is counted into it
_QUIET = Capped()


@contextlib.contextmanager
def capped_recalls(*, quiet: bool = False) -> Iterator[Capped | None]:
    """Inside (this thread), :func:`note_capped` counts the recalls that ran to their cap in
    the outermost block's tally instead of anyone warning of them one scoring at a time.
    Yields that tally to the outermost block (for one warning of them all: :meth:`Capped.text`),
    None to a block inside another, whose recalls the outer one counts. ``quiet``: the recalls
    inside are not counted at all (the caller warns of them in its own words)."""
    outer = getattr(_STATE, "tally", None)
    own = _QUIET if quiet else (outer or Capped())
    _STATE.tally = own
    try:
        yield None if own is outer or own is _QUIET else own
    finally:
        _STATE.tally = outer


def note_capped(memory: Any, activation: str | None, max_iterations: int, tol: float,
                converged: torch.Tensor) -> None:
    """Count the recalls of ``memory`` (one flag of ``converged``, ``(B,)`` bool, per cue)
    in the tally of the :func:`capped_recalls` this thread runs inside, when they are tanh
    (``activation``) recalls through layers with read noise; the flags False ran to
    ``max_iterations`` (with ``tol``). Nothing outside a block, nor in a quiet one, nor for a
    memory without crossbar ``layers`` (one's own: its noise is not known)."""
    tally = getattr(_STATE, "tally", None)
    if tally is None or tally is _QUIET or activation != "tanh" or not _reads_noisy(memory):
        return
    capped = int((~converged.bool()).sum())
    tally.total += int(converged.numel())
    if capped:
        tally.capped += capped
        tally.limits.add((int(max_iterations), float(tol)))


def _reads_noisy(memory: Any) -> bool:
    """Whether a crossbar layer of ``memory`` reads with noise (a memory without ``layers``
    of chips: False)."""
    layers = getattr(memory, "layers", None) or ()
    return any(getattr(getattr(getattr(layer, "chip", None), "device", None), "read_noise", 0)
               > 0 for layer in layers)


def warns_capped(func: F) -> F:
    """``func``, a public function that scores memories, warning once per call
    (:class:`~xbarmem.errors.XbarmemWarning`, :meth:`Capped.text`, pointing at the first
    caller outside xbarmem) when tanh recalls under read noise of its scorings ran to their
    cap; called inside another such function or a :func:`capped_recalls`, it warns nothing
    (the outer one counts its recalls)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with capped_recalls() as tally:
            out = func(*args, **kwargs)
        if tally is not None and tally.capped:
            warn(tally.text(func.__name__), stacklevel=caller_stacklevel())
        return out

    return wrapper  # type: ignore[return-value]

