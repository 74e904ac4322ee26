"""Step budgets of the hardware-adaptive rule, for progress bars and cost estimates.

No torch import, so the command line can use it before any work starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: the defaults of :class:`~xbarmem.learning.adaptive.AdaptiveTrainer` (one-layer memories,
#: binary patterns, default recipe) these budgets assume for options a mapping leaves out (a
#: test checks that they agree)
DEFAULT_STEPS = {"objective": "basin", "max_steps": 500, "finetune_steps": 200}


def step_budget(options: Mapping[str, Any], kind: str) -> int:
    """The most optimiser steps the hardware-adaptive rule with ``options`` (a mapping of its
    options, e.g. ``AdaptiveTrainer.options()`` or a stored trial's ``rule_options``) takes on
    patterns of ``kind`` (``"binary"`` or ``"continuous"``): ``max_steps``, plus
    ``finetune_steps`` where the basin objective fine-tunes binary patterns and ``flip_steps``
    (one-layer, binary, basin; absent or None = 0) before the basin stage. At least 1."""
    o = {**DEFAULT_STEPS, **options}
    steps = int(o["max_steps"])
    if o["objective"] == "basin" and kind == "binary":
        steps += int(o["finetune_steps"]) + int(o.get("flip_steps") or 0)
    return max(steps, 1)
