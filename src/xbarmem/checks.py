"""Argument checks every layer shares, torch-free: :func:`check_seed`, the one rule for random
seeds (used by :mod:`xbarmem.spec`, :mod:`xbarmem.seeds` and, through them, every public entry
point that takes a seed), and :func:`check_neurons`, the one rule for the number of neurons of
a memory (used by the memories and by the readers of patterns to store)."""

from __future__ import annotations

import numbers
from typing import Any

from xbarmem.errors import ConfigError, XbarmemError

__all__ = ["check_neurons", "check_seed"]


def check_seed(seed: Any, name: str = "seed") -> int:
    """The one rule for random seeds: an integer >= 0 (Python or numpy integer; bools refused).
    Returns it as a Python ``int``; raises :class:`ConfigError` naming ``name`` otherwise
    (``seed must be an integer >= 0, got -1``), before any draw is made."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_neurons(n_neurons: Any, name: str = "n_neurons",
                  error: type[XbarmemError] = ConfigError) -> int:
    """The one rule for the number of neurons ``N`` of a memory: an integer >= 2 (Python or
    numpy integer; bools refused). Returns it as a Python ``int``; raises ``error`` (default
    :class:`ConfigError`; pattern readers pass :class:`~xbarmem.errors.PatternError`) naming
    ``name`` otherwise (``n_neurons must be an integer >= 2 (a memory needs at least 2
    neurons), got 1``)."""
    if (isinstance(n_neurons, bool) or not isinstance(n_neurons, numbers.Integral)
            or n_neurons < 2):
        raise error(f"{name} must be an integer >= 2 (a memory needs at least 2 neurons), "
                    f"got {n_neurons!r}")
    return int(n_neurons)
