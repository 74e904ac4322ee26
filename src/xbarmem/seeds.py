"""Seeds and seeded draws shared by every layer.

* :func:`as_generator`: a ``torch.Generator`` from a seed (or the generator itself).
* :func:`subset_seed`: the seed of the pattern subset of (base seed, stored count, trial).
* :func:`derived_seed`: an independent 32-bit seed from a base seed and a salt.
* :func:`random_subset`: the seeded random subset of a pattern pool (plain, or one pattern per
  class).
"""

from __future__ import annotations

import numpy as np
import torch

from xbarmem.checks import check_seed
from xbarmem.errors import ConfigError

__all__ = ["GeneratorLike", "as_generator", "derived_seed", "random_subset", "subset_seed"]

GeneratorLike = torch.Generator | int | None


def as_generator(seed_or_gen: GeneratorLike = None, name: str = "seed") -> torch.Generator:
    """Return ``seed_or_gen`` if it is a ``torch.Generator`` (shared state), else a fresh CPU
    generator seeded with the seed (``None`` -> seed 0). Raises :class:`ConfigError` naming
    ``name`` for anything else (:func:`xbarmem.checks.check_seed`: an integer >= 0)."""
    if isinstance(seed_or_gen, torch.Generator):
        return seed_or_gen
    return torch.Generator().manual_seed(check_seed(0 if seed_or_gen is None else seed_or_gen,
                                                    name))


def subset_seed(seed: int, count: int, trial: int) -> int:
    """Seed of the pattern subset of trial ``trial`` with ``count`` stored patterns:
    ``seed * 100003 + count * 1009 + trial``."""
    return seed * 100003 + count * 1009 + trial


def derived_seed(seed: int, salt: int) -> int:
    """A 32-bit seed derived from ``(seed, salt)`` by ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence([seed, salt]).generate_state(1)[0])


def random_subset(pool_size: int, count: int, seed: int, *,
                  labels: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``count`` patterns of a pool of ``pool_size``, drawn with
    ``numpy.random.default_rng(seed)``.

    Without ``labels``: ``count`` distinct indices (``choice(pool_size, count,
    replace=False)``), sorted ascending. With ``labels`` (``(pool_size,)`` class of each
    pattern): one random index of each of the first ``count`` classes (sorted class values), in
    class order. Returns int64 ``(count,)``; raises :class:`ConfigError` when the pool has fewer
    than ``count`` patterns (or classes).
    """
    if labels is None:
        if count > pool_size:
            raise ConfigError(f"cannot store {count} patterns: the pool has only {pool_size}")
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(pool_size, size=count, replace=False))
    classes = np.unique(labels)[:count]
    if len(classes) < count:
        raise ConfigError(f"random-per-class: the pool has only {len(classes)} classes, "
                          f"{count} patterns requested")
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == k)) for k in classes]
    return np.asarray(picked, dtype=np.int64)
