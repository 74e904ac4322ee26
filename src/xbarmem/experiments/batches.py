"""Which trials of a sweep train together, and keys that name the batch where it matters.

:func:`plan_groups` splits a sweep's trials into groups deterministically from the whole trial
list (see :mod:`xbarmem.experiments.trial`): evaluate trials whose networks differ only in
their data (:data:`DATA_KEYS`) train as one batch of at most ``batch`` networks; trials that
differ only in how a network is programmed and tested (:data:`PROGRAM_KEYS`) share one network.

A rule that draws random numbers (its options hold a ``seed``: the hardware-adaptive trainer)
draws the training cues of every network of a batch from one stream, so such a trial's numbers
depend on the networks trained beside it, not only on its configuration. Its store key
(:func:`batch_keyed`) therefore names its batch -- the networks trained together, in their
order -- whenever that batch holds more than its own network: a sweep run with another
``batch``, or with grid points added or removed, plans other batches and so other keys, and
never takes a row computed in another batch for its own (``batch = 1`` and deterministic rules
keep the key of the configuration alone). Imports nothing heavy (no torch): the sweep parser
uses it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from xbarmem.experiments.plan_cache import PlanCache

if TYPE_CHECKING:
    from xbarmem.experiments.sweep import Trial

#: options that change only how a trained network is programmed and tested
PROGRAM_KEYS = ("variation", "corruption", "level", "probes", "mode", "activation",
                "max_iterations", "tol")
#: options that change a network's patterns or faults but not what can share its batch
DATA_KEYS = ("data", "data_sha256", "data_key", "zero_one", "patterns", "selection", "pool",
             "fault_rate", "on_fraction")
_PROGRAM, _NOT_BATCH = frozenset(PROGRAM_KEYS), frozenset(PROGRAM_KEYS + DATA_KEYS)


def train_key(config: dict[str, Any], cache: PlanCache | None = None) -> str:
    """Identity of the trained networks of a trial (config minus program/protocol); ``cache``:
    the :class:`~xbarmem.experiments.plan_cache.PlanCache` of a planning, which makes it
    once per configuration (the same text)."""
    if cache is None:
        return json.dumps({k: v for k, v in config.items() if k not in PROGRAM_KEYS},
                          sort_keys=True)
    return cache.once(config, "train", lambda c: cache.text(c, _PROGRAM))


def batch_key(config: dict[str, Any], cache: PlanCache | None = None) -> str:
    """What must be equal for two networks to train in one batch; ``cache`` as
    :func:`train_key`'s."""
    if cache is None:
        out = {k: v for k, v in config.items() if k not in PROGRAM_KEYS and k not in DATA_KEYS}
        out["chip_spec"] = _unstuck(config["chip_spec"])
        return json.dumps(out, sort_keys=True)

    def make(c: dict[str, Any]) -> str:
        out = {k: v for k, v in c.items() if k not in _NOT_BATCH}
        out["chip_spec"] = cache.once(c["chip_spec"], "unstuck", _unstuck)
        return cache.text(out)

    return cache.once(config, "batch", make)


def _unstuck(chip: dict[str, Any]) -> dict[str, Any]:
    """A copy of a trial's ``chip_spec`` without its devices' stuck rates."""
    out = json.loads(json.dumps(chip))
    for rate in ("p_stuck_on", "p_stuck_off"):
        out["device"].pop(rate, None)
    return out


def plan_groups(trials: list[Trial], batch: int, cache: PlanCache | None = None
                ) -> list[list[Trial]]:
    """Deterministic groups of trials (see module docstring); every trial is in exactly one.
    Which trials form a group does not depend on their keys (only the groups' order does).
    ``cache``: the :class:`~xbarmem.experiments.plan_cache.PlanCache` of the planning
    (default: one of this call), which writes each configuration's keys once."""
    cache = PlanCache() if cache is None else cache
    groups: list[list[Trial]] = []
    buckets: dict[str, dict[str, list[Trial]]] = {}
    curves: dict[str, list[Trial]] = {}  # capacity curves by trained networks
    batch_of: dict[str, str] = {}  # batch key of each networks' key
    for t in sorted(trials, key=lambda t: t.key):
        if t.config["trial"] == "capacity":
            if t.config["search"]:
                groups.append([t])
                continue
            key = train_key(t.config, cache)
            if key not in curves:
                curves[key] = []
                groups.append(curves[key])  # in the plan where its first trial comes
            curves[key].append(t)
            continue
        key = train_key(t.config, cache)
        if key not in batch_of:  # (a function of the networks' key: made once for them)
            batch_of[key] = batch_key(t.config, cache)
        buckets.setdefault(batch_of[key], {}).setdefault(key, []).append(t)
    for bkey in sorted(buckets):
        nets = [buckets[bkey][k] for k in sorted(buckets[bkey])]
        for i in range(0, len(nets), batch):
            groups.append([t for net in nets[i:i + batch] for t in net])
    return groups


def depends_on_batch(config: dict[str, Any]) -> bool:
    """Whether an evaluate trial's numbers depend on the networks trained beside it: its rule
    draws random numbers (its resolved options hold a ``seed``)."""
    return config["trial"] == "evaluate" and "seed" in (config.get("rule_options") or {})


def batch_keyed(trials: list[Trial], batch: int, cache: PlanCache | None = None
                ) -> list[Trial]:
    """``trials`` (in their order) with the key of each trial that :func:`depends_on_batch`
    and shares its batch with other networks replaced by the SHA-256 of its key and of the
    batch's networks in training order (:func:`plan_groups` with ``batch``); the others as
    given. ``cache`` as :func:`plan_groups`'s."""
    cache = PlanCache() if cache is None else cache
    keys: dict[str, str] = {}
    for group in plan_groups(trials, batch, cache):
        nets = list(dict.fromkeys(train_key(t.config, cache) for t in group))
        if len(nets) < 2:
            continue
        networks = hashlib.sha256("\n".join(nets).encode()).hexdigest()
        for t in group:
            if depends_on_batch(t.config):
                keys[t.key] = hashlib.sha256(f"{t.key} batch {networks}".encode()).hexdigest()
    return [type(t)(keys[t.key], t.config) if t.key in keys else t for t in trials]
