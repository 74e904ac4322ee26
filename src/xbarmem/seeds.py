"""Seeds and seeded draws shared by every layer.

* :func:`as_generator`: a ``torch.Generator`` from a seed (or the generator itself).
* :func:`subset_seed`: the seed of the pattern subset of (base seed, stored count, trial).
* :func:`derived_seed`: an independent 32-bit seed from a base seed and a salt.
* :func:`offset_seed`: the seed of chip, trial or layer ``k`` of a run seeded ``s``.
* :func:`random_subset`: the seeded random subset of a pattern pool (plain, or one pattern per
  class).
* :func:`global_random_kept`: Python's, numpy's and torch's global random states kept across
  the import of another library that draws from them.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch

from xbarmem.checks import MAX_SEED, check_seed, renamed_keywords
from xbarmem.errors import ConfigError

__all__ = ["GeneratorLike", "as_generator", "derived_seed", "global_random_kept", "offset_seed",
           "random_subset", "subset_seed"]

GeneratorLike = torch.Generator | int | None


def as_generator(seed_or_gen: GeneratorLike = None, name: str = "seed") -> torch.Generator:
    """Return ``seed_or_gen`` if it is a ``torch.Generator`` (shared state), else a fresh CPU
    generator seeded with the seed (``None`` -> seed 0). Raises :class:`ConfigError` naming
    ``name`` for anything else (:func:`xbarmem.checks.check_seed`: an integer >= 0)."""
    if isinstance(seed_or_gen, torch.Generator):
        return seed_or_gen
    return torch.Generator().manual_seed(check_seed(0 if seed_or_gen is None else seed_or_gen,
                                                    name, "an integer >= 0 or a torch.Generator"))


@renamed_keywords(count="n_patterns")
def subset_seed(seed: int, n_patterns: int, trial: int) -> int:
    """Seed of the pattern subset of trial ``trial`` with ``n_patterns`` stored patterns:
    ``seed * 100003 + n_patterns * 1009 + trial`` (``count``, the earlier name of
    ``n_patterns``, still works with a ``DeprecationWarning``)."""
    return seed * 100003 + n_patterns * 1009 + trial


def offset_seed(seed: int, offset: int) -> int:
    """The seed ``offset`` places after ``seed`` (chip, trial, network or layer ``offset`` of a
    run seeded ``seed``): ``seed + offset``, wrapped to a 32-bit seed (modulo ``MAX_SEED + 1``),
    so every seed a run takes works with any number of trials (``capacity --seed 4294967295
    --trials 2`` stopped on trial 1's seed 4294967296, a number the user never gave). Equal to
    ``seed + offset`` whenever that is a 32-bit seed: no other seed's draws change. Returns a
    Python ``int`` (a numpy integer seed's sum overflowed in its own dtype: ``np.uint8(3)``)."""
    return (int(seed) + int(offset)) % (MAX_SEED + 1)


def derived_seed(seed: int, salt: int) -> int:
    """A 32-bit seed derived from ``(seed, salt)`` by ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence([seed, salt]).generate_state(1)[0])


@contextlib.contextmanager
def global_random_kept() -> Iterator[None]:
    """Inside, code may draw from Python's ``random``, numpy's ``np.random`` and torch's global
    generators; on leaving (also by an exception), each holds the state it held on entry. Wraps
    the first import of another library that draws at import time (scikit-learn imports rich,
    whose ``rich.style`` draws ``random.getrandbits(24)``), so that no function of xbarmem
    moves a caller's global random state (``docs/guide.md``, Reproducible results): a user's
    ``random.seed(0)`` before ``xm.load_digits()`` gave other draws after it than before
    ``xm.load_mnist()``."""
    python, numpy, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        torch.set_rng_state(torch_state)


@renamed_keywords(count="n_patterns")
def random_subset(pool_size: int, n_patterns: int, seed: int, *,
                  labels: np.ndarray | None = None,
                  distinct_ids: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``n_patterns`` patterns of a pool of ``pool_size``, drawn with
    ``numpy.random.default_rng(seed)``.

    Without ``labels``: ``n_patterns`` distinct indices (``choice(pool_size, n_patterns,
    replace=False)``), sorted ascending. With ``distinct_ids`` (``(pool_size,)``, equal
    patterns share an id, ids ``0 .. K - 1``) the indices hold ``n_patterns`` distinct
    patterns: the same draw, then every index repeating a pattern drawn before it is replaced
    by a draw (same generator) among patterns not drawn yet, so a draw without repeats is
    unchanged. With ``labels`` (``(pool_size,)`` class of each pattern): one random index of
    each of the first ``n_patterns`` classes (sorted class values), in class order. Returns
    int64 ``(n_patterns,)``; raises :class:`ConfigError` when the pool has fewer than
    ``n_patterns`` patterns (distinct patterns, classes). ``count``, the earlier name of
    ``n_patterns``, still works with a ``DeprecationWarning``.
    """
    if labels is None:
        if n_patterns > pool_size:
            raise ConfigError(f"cannot store {n_patterns} patterns: the pool has only "
                              f"{pool_size}")
        n_ids = 0 if distinct_ids is None else int(np.max(distinct_ids, initial=-1)) + 1
        if distinct_ids is not None and n_patterns > n_ids:
            raise ConfigError(f"cannot store {n_patterns} distinct patterns: the pool has "
                              f"only {n_ids} distinct patterns among its {pool_size}")
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(pool_size, size=n_patterns, replace=False))
        if distinct_ids is None:
            return picked
        return _without_repeats(picked, np.asarray(distinct_ids), n_ids, rng)
    classes = np.unique(labels)[:n_patterns]
    if len(classes) < n_patterns:
        raise ConfigError(f"random-per-class: the pool has only {len(classes)} classes, "
                          f"{n_patterns} patterns requested")
    rng = np.random.default_rng(seed)
    per_class = [rng.choice(np.flatnonzero(labels == k)) for k in classes]
    return np.asarray(per_class, dtype=np.int64)


def _without_repeats(picked: np.ndarray, ids: np.ndarray, n_ids: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``picked`` (sorted) with each index whose pattern id repeats an earlier one replaced
    by the first pool index of a pattern id not taken yet, drawn with ``rng``."""
    _, first = np.unique(ids[picked], return_index=True)
    if len(first) == len(picked):
        return picked
    kept = picked[np.sort(first)]
    _, first_of_id = np.unique(ids, return_index=True)
    free = np.ones(n_ids, dtype=bool)
    free[ids[kept]] = False
    extra = rng.choice(first_of_id[free], size=len(picked) - len(kept), replace=False)
    return np.sort(np.concatenate([kept, extra])).astype(np.int64)
