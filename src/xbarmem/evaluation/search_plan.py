"""What a capacity search trains first, and on how many cues a pattern under a cue budget,
without torch: the sweep's memory check before a run reads both as the search does."""

from __future__ import annotations

import math

from xbarmem.checks import renamed_keywords

__all__ = ["DefaultBudget", "applied_budget", "budget_copies", "default_start"]


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
