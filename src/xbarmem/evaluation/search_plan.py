"""What a capacity search trains first, and on how many cues a pattern under a cue budget,
without torch: the sweep's memory check before a run reads both as the search does."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from xbarmem.checks import renamed_keywords
from xbarmem.limits import TooLargeError, check_bytes, max_bytes
from xbarmem.sizes import fit_bytes, fit_words

__all__ = ["SEARCH_REACH", "DefaultBudget", "SearchTooLargeError", "applied_budget",
           "budget_copies", "check_search_fit", "check_search_fits", "default_start",
           "search_reach"]

#: the most patterns per neuron a capacity search is sized for before it runs, by architecture
#: (its pool when smaller): a search doubles a count only when that count passes, so it tests
#: more than N (one layer: N / 8, N / 4, ... N) or 2 N (multilayer: N, 2 N) only when its
#: memories recall N or 2 N patterns, as the paper's protocol's capacities do not
#: (docs/reproduction.md). Searches that go further -- multilayer memories of correlated data
#: at a low threshold store many times N -- are sized by the trainer's own check at each count
#: (a refusal then comes mid-run, with the counts tested kept by ``--checkpoint``); sizing
#: every search for its whole pool would refuse runs that fit (scaling's default sizes)
SEARCH_REACH = {"single": 1, "multilayer": 2}


class DefaultBudget(int):
    """A cue budget that was not given: equal to its value (recorded as that number), and
    marked so that a search of a rule it does not apply to runs as before -- a default every
    rule carries (:data:`~xbarmem.evaluation.scaling.SCALING_CUE_BUDGET`) -- where a budget
    given with such a rule is refused (:func:`~xbarmem.evaluation.capacity.check_search`)."""

    __slots__ = ()


def default_start(arch: str, n_neurons: int) -> int:
    """The count a capacity search tries first: ``max(2, N // 8)`` for one layer, ``2 * max(1,
    N // 2)`` (N rounded down to even) for multilayer memories, which store far more than N / 8
    patterns (H = N, binary, threshold 0.99: 0.7-1.7 N over N = 64 ... 784 in
    docs/reproduction.md). Starting there rather than at N // 2 tests the same first bracket
    whenever N // 2 passes (doubling from N // 2 tests the start; halving from the start tests
    N // 2) and skips the count N // 2 when the start passes too; a start above the capacity
    costs the halvings down to it."""
    return max(2, n_neurons // 8) if arch == "single" else 2 * max(1, n_neurons // 2)


@renamed_keywords(count="n_patterns")
def budget_copies(cue_budget: int, n_patterns: int) -> int:
    """The hardware-adaptive rule's ``cue_copies`` (sampled cues per pattern) for
    ``n_patterns`` patterns under a ``cue_budget`` of cues per network: ``max(1,
    ceil(cue_budget / n_patterns))``, whatever the rule's own ``cue_copies`` (``count``, the
    earlier name of ``n_patterns``, still works with a ``DeprecationWarning``)."""
    return max(1, math.ceil(cue_budget / n_patterns))


def applied_budget(cue_budget: int, rule: object) -> int:
    """The cue budget a search of ``rule`` records: ``cue_budget`` as a plain ``int`` for the
    hardware-adaptive rule by name (whose ``cue_copies`` it sets), else 0 -- it applies to no
    other rule, and a record of ``run_scaling``'s default budget (:class:`DefaultBudget`) with
    a classic rule said cues were budgeted that no rule drew."""
    return int(cue_budget) if isinstance(rule, str) and rule == "adaptive" else 0


def search_reach(arch: str, n_neurons: int, pool: int | None, start: int | None = None) -> int:
    """The most patterns a capacity search of ``arch`` memories (``"single"`` or
    ``"multilayer"``) of ``n_neurons`` neurons is sized for before it runs: its ``pool`` (the
    distinct patterns it may test; None: not known, as many as the data holds) or
    :data:`SEARCH_REACH` x N, whichever is smaller, and at least its ``start`` (the first
    count, tested whatever it is; None: the default, below the reach)."""
    reach = max(SEARCH_REACH[arch] * int(n_neurons), int(start or 0))
    return min(int(pool), reach) if pool else reach


class SearchTooLargeError(TooLargeError):
    """:func:`check_search_fit`'s refusal: ``fits``, the most patterns it names as fitting
    (0: none), read by :func:`check_search_fits`."""

    fits: int = 0


def check_search_fit(options: dict[str, Any] | None, kind: str, sizes: Sequence[int],
                     networks: int, reach: int, *, cue_budget: int = 0, pool_word: str,
                     lower: str = "", where: str = "") -> None:
    """Refuse, before a capacity search trains anything, one whose training at a count it may
    test (any up to ``reach``, :func:`search_reach`) the trainer would refuse mid-run
    (:func:`~xbarmem.learning.adaptive.check_training_memory`, by the same
    :func:`xbarmem.sizes.fit_bytes`): ``networks`` memories of layer widths ``sizes`` trained
    together on ``kind`` patterns by the hardware-adaptive rule with the resolved ``options``
    (None: a classic rule, which draws no training cues: nothing checked), ``cue_budget`` > 0
    setting ``cue_copies`` at each count (:func:`budget_copies`). Raises
    :class:`SearchTooLargeError` (a :class:`~xbarmem.limits.TooLargeError`, its ``fits``
    set) in one line naming the most patterns that fit,
    ``pool_word`` (what caps the search, ``"--pool"``) to lower to them, then ``lower`` (the
    other options, in the caller's words), led by ``where`` (a sweep's ``"FILE: "``)."""
    limit = max_bytes()
    if options is None or limit is None or reach < 1:
        return

    def need(p: int) -> tuple[int, dict[str, Any]]:
        opts = {**options, "cue_copies": budget_copies(cue_budget, p)} if cue_budget > 0 \
            else options
        return fit_bytes(networks, p, sizes, opts, kind), opts

    counts = range(1, reach + 1) if cue_budget > 0 else [reach]  # (else it grows with P)
    worst, at = max((need(p)[0], p) for p in counts)
    if worst <= limit:
        return
    fits = next((p - 1 for p in range(1, reach + 1) if need(p)[0] > limit), reach)
    try:
        check_bytes(where + fit_words(networks, f"up to {reach} patterns (as many as the search "
                                      f"may test; {fits or 'none'} fit)", sizes, need(at)[1],
                                      kind),
                    worst, lower=_with_pool(f"{pool_word} to {fits}" if fits else "", lower))
    except TooLargeError as err:
        refusal = SearchTooLargeError(str(err), what=err.what, nbytes=err.nbytes,
                                      limit=err.limit, lower=err.lower)
        refusal.fits = fits
        raise refusal from None


def check_search_fits(checks: Iterable[Callable[[], None]]) -> None:
    """Run every one of ``checks`` (calls of :func:`check_search_fit`: one per architecture,
    N or trial of a run) and refuse by the :class:`SearchTooLargeError` naming the fewest
    patterns that fit, so that lowering the pool as it says fits every search (the first
    refusal named its own search's count, and a run lowered to it was refused by the next);
    any other error is raised as it comes."""
    refusal: SearchTooLargeError | None = None
    for check in checks:
        try:
            check()
        except SearchTooLargeError as err:
            if refusal is None or err.fits < refusal.fits:
                refusal = err
    if refusal is not None:
        raise refusal


def _with_pool(pool: str, lower: str) -> str:
    """What a refusal names to lower: ``pool`` (``"--pool to 20"``) then ``lower`` (``"--trials
    or --sizes"``): ``"--pool to 20, --trials or --sizes"``, ``"--pool to 20 or --trials"``."""
    if not (pool and lower):
        return pool or lower
    return f"{pool}, {lower}" if " or " in lower else f"{pool} or {lower}"
