"""The cues' own similarity: the mark a capacity threshold must clear to measure recall.

A memory that returned every corrupted cue unchanged would score the cues' own mean cosine
with their clean patterns (:meth:`~xbarmem.evaluation.evaluate.Cues.similarity`): 0.9 with 5%
of the bits flipped, near 1 with weak Gaussian noise on grey levels. A capacity at a threshold
at or below it does not measure recall. :func:`cue_similarity` gives that mark for a pool under
a protocol (no training) and :func:`warn_cues_pass` warns about the thresholds it reaches;
every capacity search (:func:`~xbarmem.evaluation.capacity.find_capacity`, and through it the
``capacity`` and ``scaling`` commands and :func:`~xbarmem.evaluation.scaling.run_scaling`; a
sweep, whose trials run with their warnings quiet, warns when it is planned) calls it before
training, once per search, or once per threshold inside :func:`cue_warnings_once`
(``run_scaling``: one search per N).

Recalls that say nothing because they never stopped are the other mark: tanh states under read
noise change by about the noise at every step, so with a ``tol`` below it every recall runs to
the cap. :func:`noise_capped_text` says so (the one text of ``evaluate``'s warning and of the
searches'), and :func:`warn_noise_capped` warns of it after a search (once per search, or once
inside :func:`cue_warnings_once`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from xbarmem.data.corruption import describe_corruption
from xbarmem.data.patterns import PatternSet
from xbarmem.errors import warn
from xbarmem.evaluation.evaluate import Protocol, make_cues
from xbarmem.evaluation.metrics import mean_cosine
from xbarmem.names import BIT_CORRUPTIONS, bit_cue_similarity, cues_pass_text, noise_capped_text
from xbarmem.seeds import random_subset

__all__ = ["cue_similarity", "cue_warnings_once", "noise_capped_text", "warn_cues_pass",
           "warn_noise_capped"]

#: at most this many cues are drawn to measure the cues' own similarity in a pool
_CUE_SAMPLE = 4096

#: per thread: the thresholds warned about inside :func:`cue_warnings_once` (None outside)
_WARNED = threading.local()


def cue_similarity(pool: PatternSet, protocol: Protocol) -> float:
    """The mean cosine of ``protocol``'s cues with their clean patterns of ``pool``: what a
    memory that returned every cue unchanged would score. Bit flips and salt-and-pepper of
    binary patterns: exactly their expectation, ``1 - 2 level`` and ``1 - level`` (a threshold
    of 0.9 with 5% flips is passed by the cues as often as not); other corruptions: the
    cues (:func:`~xbarmem.evaluation.evaluate.make_cues`, seed ``protocol.seed``) of a
    seeded sample of the pool's distinct patterns, at most ``_CUE_SAMPLE`` cues."""
    if pool.kind == "binary" and protocol.corruption in BIT_CORRUPTIONS:
        return bit_cue_similarity(str(protocol.corruption), protocol.level)
    ids = pool.distinct_ids  # (found once: np.unique over the pool)
    count = min(int(ids.max(initial=-1)) + 1, max(1, _CUE_SAMPLE // protocol.probes))
    if count < 1:
        return float("nan")
    idx = random_subset(pool.n_patterns, count, protocol.seed, distinct_ids=ids)
    return mean_cosine(make_cues(pool.subset(idx), protocol).similarity())


def warn_cues_pass(pool: PatternSet, protocol: Protocol, thresholds: Sequence[float],
                   stacklevel: int = 1) -> float:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`, one line) when a threshold is at or
    below :func:`cue_similarity` of ``pool`` under ``protocol``: a memory that returned every
    cue unchanged would pass it, so the capacity there does not measure recall. Inside
    :func:`cue_warnings_once`, a threshold warned about before is not warned about again.
    ``stacklevel`` as :func:`~xbarmem.errors.warn`'s, counted from the caller. Returns the
    cues' similarity."""
    own = cue_similarity(pool, protocol)
    said: set[Any] | None = getattr(_WARNED, "said", None)
    low = [t for t in thresholds if t <= own and (said is None or t not in said)]
    if low:
        if said is not None:
            said.update(low)
        warn(cues_pass_text(low, own, describe_corruption(protocol.corruption, protocol.level),
                            pool.n_neurons), stacklevel=stacklevel + 1)
    return own


@contextlib.contextmanager
def cue_warnings_once() -> Iterator[None]:
    """Inside, the capacity searches of this thread warn about a threshold their cues pass by
    themselves (:func:`warn_cues_pass`) once, not once per search: :func:`~xbarmem.evaluation.
    scaling.run_scaling`'s, one per N, whose cues' similarity differs a little with N."""
    outer = getattr(_WARNED, "said", None)
    _WARNED.said = set() if outer is None else outer
    try:
        yield
    finally:
        _WARNED.said = outer


def warn_noise_capped(converged: Sequence[float], protocol: Protocol, chip: Any, where: str,
                      *, stacklevel: int = 1) -> None:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`, one line: the search ``where``, then
    :func:`noise_capped_text`) when ``protocol``'s recall is tanh, ``chip`` (a
    :class:`~xbarmem.hardware.chip.ChipSpec`) reads with noise and the recalls scored did not
    all converge (``converged``: the share that did, one per tested count, weighted alike).
    Inside :func:`cue_warnings_once`, once."""
    said: set[Any] | None = getattr(_WARNED, "said", None)
    if (protocol.activation != "tanh" or not chip.device.read_noise > 0 or not converged
            or min(converged) >= 1 or (said is not None and "noise" in said)):
        return
    if said is not None:
        said.add("noise")
    share = 1 - sum(converged) / len(converged)
    warn(f"capacity search ({where}): {noise_capped_text(share, protocol.tol, 'tol')} "
         f"(--tol; Protocol(tol=))", stacklevel=stacklevel + 1)
