"""The trial function: resolved trial configurations in, result rows out.

Built on the library's own pieces: pattern loaders (:mod:`xbarmem.data.patterns`), seeded fault
maps, :func:`xbarmem.learning.fit.fit_memories` (batched training),
:func:`xbarmem.evaluation.evaluate.evaluate_memory`, and for capacity trials
:func:`xbarmem.evaluation.curve.recall_curve` and :func:`xbarmem.evaluation.capacity.find_capacity`.

**Groups.** :func:`~xbarmem.experiments.batches.plan_groups` splits a sweep into groups,
deterministically from the sweep's full trial list (so a resumed sweep forms the same groups):
evaluate trials that differ only in the stored patterns, the fault rate, the programming
variation or the recall protocol form one group of at most ``batch`` networks, trained as one
tensor program; trials that differ only in programming variation or protocol share one trained
network. A capacity search is a group of its own; capacity curves that differ only in
programming variation or protocol form one group whose counts train once (in a few batches,
:func:`count_chunks`) and are scored per trial, so each gives what it gives alone; each trial's
``seconds`` is its share of the training plus its own scoring. The hardware-adaptive trainer
draws its training cues from one random stream per batch, so a trial's numbers depend on its
configuration *and* on its batch; every evaluate row records its batch (``result.batch``), such
a trial's key names its batch (:func:`xbarmem.experiments.batches.batch_keyed`: a store never
gives a row of one batch to a sweep that plans another) and re-running a sweep reproduces it
exactly. ``batch = 1`` trains every network alone.

**Seeds.** A trial with seed ``s`` uses fault map seed ``s`` (maps always cover an ``N x (N + 1)``
matrix, so every rule of a seed sees the same stuck devices), programming seed ``s``, cue and
read-noise seed ``s``, trainer seed ``s`` (unless ``rule_options`` set one), random pattern
subsets seeded by :func:`xbarmem.seeds.subset_seed` ``(s, P, 0)`` (as
:func:`xbarmem.evaluation.curve.recall_curve`), and one programming-variation draw per seed that
every ``v`` scales (common random numbers: curves over ``v`` are smooth).

**Programming variation** ``v``: every trial's network is programmed by
:func:`xbarmem.memory.variation.reprogram` ``(memory, v, seed=s)`` before it is scored: Gaussian
noise of std ``v * max|W|`` (``max|W|`` of each layer's programmed weight matrix, bias excluded)
is added to every target weight before programming, as He et al.'s protocol perturbs W;
biases are programmed as trained (a chip's own write noise, ``device.write_noise``, perturbs
every device, bias rows included). Stuck weights stay stuck (programming projects onto the
realisable intervals) and the diagonal of a single layer (no self-connection) gets none.
(Before xbarmem 0.2.0 the biases got the same noise.)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from xbarmem.checks import tensor_of
from xbarmem.data.builtin import IMAGE_SETS, load_image_set
from xbarmem.data.patterns import PatternSet, select_indices
from xbarmem.data.sources import is_drawn, patterns_for
from xbarmem.errors import ConfigError, PatternError, quiet_warnings
from xbarmem.evaluation.capacity import find_capacity
from xbarmem.evaluation.curve import (
    capacity_from_curve,
    capacity_is_lower_bound,
    score_curve,
    train_curve,
)
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.experiments.batches import train_key
from xbarmem.experiments.costs import count_chunks, search_progress
from xbarmem.experiments.sweep import Trial
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.jsontext import dumps
from xbarmem.learning.budget import step_budget
from xbarmem.learning.classic import rule_from_options
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.build import arrays_with_bias, make_memory
from xbarmem.memory.variation import reprogram
from xbarmem.names import DEFAULT_TOL
from xbarmem.seeds import random_subset, subset_seed


# --------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=32)
def _source(data: str, kind: str, n: int, first: int | None, seed: int,
            digest: str | None = None, zero_one: bool = False, key: str | None = None
            ) -> PatternSet:
    """The first ``first`` patterns of a data source (random data: drawn from ``seed``; a file
    of values in [0, 1] with ``zero_one``: mapped by 2*x - 1; ``key``: a file's .npz array);
    a file is cached by its contents' ``digest`` too (the trial's ``data_sha256``), so a file
    rewritten in one Python session is read again. A file whose contents no longer have
    ``digest`` (it changed after the sweep was planned) is refused: its trials would train on
    other patterns than their key says."""
    if digest is not None:
        with open(data, "rb") as handle:
            now = hashlib.file_digest(handle, "sha256").hexdigest()
        if now != digest:
            raise PatternError(f"pattern file {data} changed after the sweep was planned (its "
                               "SHA-256 is not the one in the trials' keys): run the sweep "
                               "again to plan it on the file as it is now")
    return patterns_for(data, n, kind=kind, n_patterns=first, seed=seed if is_drawn(data) else 0,
                        zero_one=zero_one, key=key)


def _pool(c: dict[str, Any], first: int | None) -> PatternSet:
    """:func:`_source` of a trial's data: its first ``first`` patterns (a trial holds
    ``zero_one`` only when true, ``data_key`` only when given:
    :func:`~xbarmem.experiments.sweep.keyed_when_set`)."""
    return _source(c["data"], c["kind"], c["n_neurons"], first, c["seed"], c.get("data_sha256"),
                   c.get("zero_one", False), c.get("data_key"))


def _one_per_class(data: str, kind: str, n: int, digest: str | None = None,
                   zero_one: bool = False, key: str | None = None) -> PatternSet:
    if data in IMAGE_SETS:
        return load_image_set(data, kind, side=math.isqrt(n), one_per_class=True)
    # the first of classes 0, 1, ... in order
    pset = _source(data, kind, n, None, 0, digest, zero_one, key)
    return pset.subset(select_indices(pset.labels, pset.n_patterns, one_per_class=True))


def stored_patterns(c: dict[str, Any]) -> PatternSet:
    """The patterns an evaluate trial stores (``patterns`` of them, by ``selection``)."""
    p, n, seed = c["patterns"], c["n_neurons"], c["seed"]
    if c["selection"] == "one-per-class":
        return _one_per_class(c["data"], c["kind"], n, c.get("data_sha256"),
                              c.get("zero_one", False), c.get("data_key")).subset(slice(0, p))
    if c["selection"] == "first":
        return _pool(c, p)
    pool = _pool(c, c["pool"])
    if c["selection"] == "random-per-class":
        return _random_per_class(pool, p, seed)
    return pool.subset(_random_subset(pool, p, seed))


def _random_per_class(pool: PatternSet, count: int, seed: int) -> PatternSet:
    """One seeded random pattern of each of the first ``count`` classes of ``pool``, in class
    order (the draw depends on ``seed`` and ``count`` only)."""
    if pool.labels is None:
        raise ConfigError("random-per-class selection needs labelled patterns")
    return pool.subset(random_subset(pool.n_patterns, count, subset_seed(seed, count, 1),
                                     labels=pool.labels))


def _random_subset(pool: PatternSet, count: int, seed: int) -> np.ndarray:
    """``count`` distinct patterns of ``pool`` (:func:`xbarmem.seeds.random_subset`)."""
    return random_subset(pool.n_patterns, count, subset_seed(seed, count, 0),
                         distinct_ids=pool.distinct_ids)


# --------------------------------------------------------------------------- networks
def _chip(c: dict[str, Any]) -> ChipSpec:
    return ChipSpec.from_dict(c["chip_spec"])


def _build(c: dict[str, Any], rule):
    """An untrained memory for config ``c`` on its seeded chip (bias rows as ``rule``'s)."""
    chip, n = _chip(c), c["n_neurons"]
    need = arrays_with_bias(chip, n, arch=c["arch"], hidden=c.get("hidden"))
    fmap = FaultMap.generate(chip, need, seed=c["seed"])
    return make_memory(n, arch=c["arch"], hidden=c.get("hidden"), chip=chip, faults=fmap,
                       bias=rule.bias)


def train_networks(configs: list[dict[str, Any]], stored: list[PatternSet],
                   progress: Callable[[float], None] | None = None) -> tuple[list, list]:
    """Build and train one memory per config (all sharing a batch key) as one batch;
    ``progress(fraction)`` follows the optimiser steps against the step budget.

    Returns ``(memories, infos)``; ``infos[t]`` has steps, loss, converged, fixed_points and
    train_seconds (batch wall time / networks)."""
    first = configs[0]
    rule = rule_from_options(first["rule"], first["rule_options"])
    memories = [_build(c, rule) for c in configs]
    n = first["n_neurons"]
    sizes = torch.tensor([s.n_patterns for s in stored], dtype=torch.int64)
    padded = torch.zeros(len(stored), int(sizes.max()), n, dtype=torch.float32)
    for t, s in enumerate(stored):
        padded[t, : s.n_patterns] = tensor_of(s.patterns)
    steps = None
    if progress is not None and first["rule"] == "adaptive":
        budget = step_budget(first["rule_options"], first["kind"])
        steps = lambda step, loss: progress(step / budget)  # noqa: E731
    infos = fit_memories(rule, padded, memories, kind=first["kind"], counts=sizes,
                         progress=steps)
    return memories, infos


def _protocol(c: dict[str, Any]) -> Protocol:
    """The recall protocol of a trial ``c`` (a ``tol`` only where it holds one: the default's
    trials hold none, :func:`~xbarmem.experiments.sweep.keyed_when_set`)."""
    return Protocol(corruption=c["corruption"], level=c["level"], probes=c["probes"],
                    mode=c["mode"], activation=c["activation"],
                    max_iterations=c["max_iterations"], seed=c["seed"],
                    tol=c.get("tol", DEFAULT_TOL))


def _score(memory, stored: PatternSet, c: dict[str, Any]) -> dict[str, Any]:
    reprogram(memory, c["variation"], seed=c["seed"])
    return evaluate_memory(memory, stored, _protocol(c)).as_dict()


# --------------------------------------------------------------------------- trials
def run_evaluate_group(trials: list[Trial], progress: Callable[[float], None] | None = None
                       ) -> list[dict[str, Any]]:
    """Results of a group of evaluate trials (one batch), in the order given;
    ``progress(fraction)`` follows the training (see :func:`train_networks`)."""
    nets: dict[str, list[int]] = {}
    for i, t in enumerate(trials):
        nets.setdefault(train_key(t.config), []).append(i)
    heads = [trials[idx[0]].config for idx in nets.values()]
    stored = [stored_patterns(c) for c in heads]
    start = time.perf_counter()
    memories, infos = train_networks(heads, stored, progress)
    train_wall = time.perf_counter() - start
    results: list[dict[str, Any] | None] = [None] * len(trials)
    for net, idx in enumerate(nets.values()):
        for i in idx:
            began = time.perf_counter()
            c = trials[i].config
            score = _score(memories[net], stored[net], c)
            results[i] = {
                **score, "train": _train_info(infos[net]), "devices": memories[net].devices(),
                "batch": {"networks": len(heads), "index": net, "trials": len(trials),
                          "train_seconds": train_wall},
                "seconds": infos[net]["train_seconds"] + time.perf_counter() - began}
    return results  # type: ignore[return-value]


def _train_info(info: dict[str, Any]) -> dict[str, Any]:
    return {k: info.get(k) for k in ("steps", "loss", "converged", "fixed_points",
                                     "train_seconds")}


def run_capacity(trial: Trial, progress: Callable[[float], None] | None = None
                 ) -> dict[str, Any]:
    """Capacity trial: a recall curve over ``counts`` (trained in :func:`count_chunks` batches,
    every network reprogrammed with the trial's seed and variation before scoring) or a
    capacity search. ``progress(fraction)`` after each batch of a curve (weighted by its
    stored patterns) or each count a search tested (:func:`~xbarmem.experiments.costs.
    search_progress`)."""
    return run_capacity_group([trial], progress)[0]


def run_capacity_group(trials: list[Trial], progress: Callable[[float], None] | None = None
                       ) -> list[dict[str, Any]]:
    """Results of a group of capacity trials (:func:`~xbarmem.experiments.batches.plan_groups`:
    one search, or curves that share their trained networks), in the order given: each curve's
    counts are trained once for the group and scored per trial, each trial's memories
    reprogrammed with its seed and variation first. ``progress(fraction)`` as
    :func:`run_capacity`."""
    c = trials[0].config
    began = time.perf_counter()
    if c["search"]:
        return [_run_search(c, began, progress)]
    pool = _pool(c, c["pool"])
    points: list[list[dict[str, Any]]] = [[] for _ in trials]
    seconds = [0.0] * len(trials)
    devices: dict[str, int] = {}
    total, done = float(sum(c["counts"])), 0.0
    for chunk in count_chunks(c["counts"]):
        start = time.perf_counter()
        trained = train_curve(pool, chunk, _chip(c), c["rule"], arch=c["arch"],
                              hidden=_hidden(c), seed=c["seed"], rule_options=c["rule_options"])
        share = (time.perf_counter() - start) / len(trials)
        for i, t in enumerate(trials):
            start = time.perf_counter()
            tc = t.config
            # (mypy cannot infer a lambda whose default binds the loop variable)
            res = score_curve(trained, _protocol(tc),
                              prepare=lambda m, tc=tc: reprogram(  # type: ignore[misc]
                                  m, tc["variation"], seed=tc["seed"]))
            devices = devices or res["devices"]
            points[i] += [{"count": p, "cosine": score["cosine"], "exact": score["exact"],
                           "fixed_points": info.get("fixed_points"),
                           "train_steps": info["steps"]}
                          for p, score, info in zip(res["jobs"], res["scores"], res["infos"],
                                                    strict=True)]
            seconds[i] += share + time.perf_counter() - start
        done += sum(chunk)
        if progress is not None:
            progress(done / total)
    return [_curve_result(t.config["thresholds"], pts, devices, sec)
            for t, pts, sec in zip(trials, points, seconds, strict=True)]


def _curve_result(thresholds: list[float], pts: list[dict[str, Any]], devices: dict[str, int],
                  seconds: float) -> dict[str, Any]:
    """A curve trial's result; ``lower_bound`` lists the thresholds whose capacity is the
    largest count tested (every count passed: the capacity may be higher)."""
    capacity = {str(th): capacity_from_curve(pts, th) for th in thresholds}
    return {"capacity": capacity, "points": pts, "devices": devices, "networks": len(pts),
            "seconds": seconds,
            "lower_bound": [str(th) for th in thresholds if capacity_is_lower_bound(pts, th)]}


def _hidden(c: dict[str, Any]):
    return c["hidden"] if c["arch"] == "multilayer" else None


def _run_search(c: dict[str, Any], began: float,
                progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    pool = _pool(c, c["pool"])
    res = find_capacity(pool, arch=c["arch"], chip=_chip(c), rule=c["rule"], hidden=_hidden(c),
                        thresholds=c["thresholds"], protocol=_protocol(c), trials=1,
                        seed=c["seed"], resolution=c["resolution"],
                        rule_options=c["rule_options"], cue_budget=c["cue_budget"],
                        progress=None if progress is None else search_progress(c, progress))
    out = res.as_dict()
    return {"capacity": out["capacity"], "points": out["points"], "devices": out["devices"],
            "networks": out["evaluations"], "seconds": time.perf_counter() - began,
            "lower_bound": res.lower_bound}


def run_group(trials: list[Trial], threads: int = 1,
              progress: Callable[[float], None] | None = None) -> list[dict[str, Any]]:
    """Results of one planned group, computed with ``threads`` torch threads (default one:
    results do not depend on where the group runs); every result records it as ``threads``.
    ``progress(fraction)``, if given, is called as the group's work goes (0..1, estimated)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if trials[0].config["trial"] == "capacity":
            results = run_capacity_group(trials, progress)
        else:
            results = run_evaluate_group(trials, progress)
        return [{**r, "threads": threads} for r in results]
    finally:
        torch.set_num_threads(before)


def _check_version(trials: list[Trial]) -> None:
    """Refuse trials planned by another xbarmem version (a worker of a cluster whose xbarmem
    differs from the driver's): their key promises that version's numbers."""
    from xbarmem.version import __version__

    planned = {str(t.config.get("version", __version__)) for t in trials}
    if planned - {__version__}:
        raise ConfigError(f"trials planned with xbarmem {', '.join(sorted(planned))} sent to a "
                          f"worker with xbarmem {__version__}: install the same version on "
                          f"every worker")


def run_group_json(payload: str, progress: Callable[[float], None] | None = None) -> str:
    """Worker entry point: JSON ``{"trials": [{"key", "config"}], "threads"}`` in (threads:
    default 1), JSON ``{"results": [{"key", "result"}], "host", "pid", "seconds"}`` out (plain
    text both ways). ``progress``: as :func:`run_group` (in a pool worker: reported to the driver).
    :class:`ConfigError` when a trial's config names another xbarmem ``version``. Warnings
    about the trials' chips (:class:`~xbarmem.errors.XbarmemWarning`) are not repeated here:
    the sweep gave them when it was planned (:func:`~xbarmem.errors.quiet_warnings`: in this
    thread only; a group run in the driver hid the warnings its other threads gave
    meanwhile)."""
    began = time.perf_counter()
    request = json.loads(payload)
    trials = [Trial(t["key"], t["config"]) for t in request["trials"]]
    _check_version(trials)
    with quiet_warnings():  # this thread's only: the driver's other threads still warn
        results = run_group(trials, int(request.get("threads", 1)), progress)
    return dumps({"results": [{"key": t.key, "result": r}
                              for t, r in zip(trials, results, strict=True)],
                  "host": socket.gethostname(), "pid": os.getpid(),
                  "seconds": time.perf_counter() - began})
