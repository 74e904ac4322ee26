"""Argument checks every layer shares, torch-free: :func:`check_seed`, the one rule for random
seeds (used by :mod:`xbarmem.spec`, :mod:`xbarmem.seeds` and, through them, every public entry
point that takes a seed)."""

from __future__ import annotations

import numbers
from typing import Any

from xbarmem.errors import ConfigError

__all__ = ["check_seed"]


def check_seed(seed: Any, name: str = "seed") -> int:
    """The one rule for random seeds: an integer >= 0 (Python or numpy integer; bools refused).
    Returns it as a Python ``int``; raises :class:`ConfigError` naming ``name`` otherwise
    (``seed must be an integer >= 0, got -1``), before any draw is made."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)
