"""Earlier names of the multilayer learning API, kept for existing code.

The hardware-adaptive rule trains multilayer memories itself
(:class:`~xbarmem.learning.adaptive.AdaptiveTrainer`, path
:mod:`xbarmem.learning.multilayer_fit`) and :func:`xbarmem.learning.fit.fit_memories` trains
and programs memories of any kind. :class:`MultilayerTrainer` is that rule reporting its
multilayer options by default; :func:`fit_multilayer` is a deprecated alias of
``fit_memories``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from xbarmem.checks import ArrayLike, checked_keywords
from xbarmem.errors import ConfigError
from xbarmem.learning.adaptive import DEFAULTS, AdaptiveTrainer
from xbarmem.learning.base import FitResult
from xbarmem.learning.fit import fit_memories

#: Defaults of the options left at ``None`` for multilayer memories, per objective.
OBJECTIVE_DEFAULTS: dict[str, dict[str, Any]] = {k: DEFAULTS[k] for k in ("basin",
                                                                          "fixed-point")}

#: The outcome of a multilayer fit (the name of earlier versions).
MultilayerTrainResult = FitResult


@dataclass(frozen=True)
class MultilayerTrainer(AdaptiveTrainer):
    """The hardware-adaptive rule as configured for multilayer memories: :meth:`options`
    reports the multilayer options (``init_scale``, ``lr_fan_in``, per-objective defaults)
    and ``warm_start`` and ``flip_steps`` are refused at once. Fitted on (or resolved for) a
    single-layer memory it raises :class:`~xbarmem.errors.ConfigError` naming the trainer such
    a memory takes (:class:`AdaptiveTrainer`, ``rule="adaptive"``)."""

    __repr__ = AdaptiveTrainer.__repr__  # (the options changed; the dataclass would write all)

    def validate(self) -> None:
        super().validate()
        self.refuse_inapplicable(2)

    def refuse_inapplicable(self, layers: int, kind: str | None = None,
                            sizes: Sequence[int] | None = None) -> None:
        if layers == 1:
            raise ConfigError("MultilayerTrainer trains multilayer memories only; a "
                              "single-layer memory takes AdaptiveTrainer (rule='adaptive')")
        super().refuse_inapplicable(layers, kind, sizes)

    def options(self, layers: int = 2, kind: str = "binary") -> dict[str, Any]:
        return super().options(layers, kind)


@checked_keywords
def fit_multilayer(trainer, patterns: ArrayLike, memories: list, *, kind: str = "binary",
                   program_seed: int = 0,
                   counts: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Deprecated: :func:`xbarmem.learning.fit.fit_memories` (same arguments, any memory;
    ``trainer`` is its ``rule``; ``patterns``, ``memories``, ``kind``, ``program_seed`` and
    ``counts`` as there). Warns with a ``DeprecationWarning``."""
    # stacklevel 3: past checked_keywords' wrapper, at the caller's line (2 named checks.py)
    warnings.warn("fit_multilayer is deprecated; use xbarmem.learning.fit.fit_memories",
                  DeprecationWarning, stacklevel=3)
    return fit_memories(trainer, patterns, memories, kind=kind, program_seed=program_seed,
                        counts=counts)
