"""The benchmark cases. Each returns a JSON-able dict; :mod:`benchmarks.report` prints it.

What the two sides share (so their recall quality is comparable):

* **fault maps** -- both come from ``FaultMap.generate(chip, arrays_needed(chip, N, N + 1),
  seed=offset_seed(seed, trial))`` on the ``paper-sim`` chip, as
  :func:`xbarmem.evaluation.curve.recall_curve` builds them; the naive mask is read from that
  map through :class:`xbarmem.Crossbar` (case 1 checks it equals the trained memory's pinned
  weights plus the diagonal);
* **pattern subsets** -- ``recall_curve``'s seeds and draw (:func:`xbarmem.seeds.subset_seed`,
  :func:`xbarmem.seeds.random_subset`), checked against the ``subset_seeds`` it reports;
* **cues** -- bit-identical: the same generator seed (``protocol.reseeded(trial).seed``) and
  the same draw as ``evaluate_memory`` (case 1 checks equality);
* the step cap, the convergence tolerance (1e-8) and the recall cap.

What differs, on purpose: the naive side is the paper's loop (random init, Adam lr 1e-3, one
network at a time); the xbarmem side is ``AdaptiveTrainer`` as shipped (zero init, its own
learning rate unless ``--xbarmem-lr``, projected steps, all networks as one batch, its default
``stop="stable"`` unless a side says ``stop=loss``). xbarmem's recall also stops a cue on a
2-cycle; the naive loop runs a 2-cycle to the recall cap.

The multilayer cases (3, 4b) compare the paper's multilayer loop (RMSprop 1.5e-4 from
``torch.nn.Linear``'s init, loss below 1e-8 or the step cap) with
:class:`xbarmem.learning.multilayer.MultilayerTrainer` on the same fault map and cues.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from xbarmem import (
    AdaptiveTrainer,
    ChipSpec,
    FaultMap,
    PatternSet,
    Protocol,
    evaluate_memory,
    load_mnist,
    load_preset,
    random_patterns,
    train,
)
from xbarmem.checks import tensor_of
from xbarmem.evaluation.capacity import search_capacity
from xbarmem.evaluation.curve import capacity_from_curve, recall_curve
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.learning.fit import fit_memories
from xbarmem.learning.multilayer import MultilayerTrainer
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.seeds import offset_seed, random_subset, subset_seed

from .config import BenchConfig
from .measure import PeakMemory, basin_flops, fixed_point_flops, gflops, multilayer_flops
from .naive import (
    cosine_scores,
    flip_cues,
    multilayer_masks,
    recall_naive,
    recall_naive_multilayer,
    train_naive,
    train_naive_multilayer,
    weight_mask,
)
from .recipes import EARLIER_RECIPE, EARLIER_SINGLE

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default logger: print nothing."""


# --------------------------------------------------------------------------- shared set-up
def paper_chip(faults: float) -> ChipSpec:
    """The paper's simulation abstraction with a weight-fault rate (faulty weight = 0)."""
    return load_preset("paper-sim").with_faults(faults)


def fault_map(chip: ChipSpec, n_neurons: int, seed: int) -> FaultMap:
    """The fault map ``recall_curve`` draws for trial ``seed - base_seed`` (bias row included)."""
    return FaultMap.generate(chip, arrays_needed(chip, n_neurons, n_neurons + 1), seed=seed)


def _protocol(cfg: BenchConfig, flip: float, probes: int) -> Protocol:
    return Protocol(corruption="flip", level=flip, probes=probes, mode="sync",
                    activation="sign", max_iterations=cfg.recall_steps, seed=cfg.seed)


def _per_step(seconds: float, steps: float) -> float | None:
    return seconds / steps if steps else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _capacities(points: list[dict[str, Any]], thresholds: tuple[float, ...]) -> dict[str, int]:
    return {f"{t:.2f}": capacity_from_curve(points, t) for t in thresholds}


# --------------------------------------------------------------------------- case 1
def case_single(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 1: one network, N = 64, ``single_patterns`` 8x8 MNIST digits, no faults."""
    return _single(cfg, load_mnist(side=8, n_patterns=cfg.single_patterns), "1", "8x8 MNIST digits",
                   log)


def case_single_random(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 1r: case 1 on ``single_patterns`` random +-1 patterns of N = 64 (seed
    ``cfg.seed``)."""
    return _single(cfg, random_patterns(cfg.single_patterns, 64, seed=cfg.seed), "1r",
                   "random +-1 patterns", log)


def case_single_loads(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 1p: the table of the performance issue -- one network per pattern count in
    ``cfg.load_counts`` (the first P of one draw of random +-1 patterns of N = 64, seed
    ``cfg.seed``), no faults: the naive loop (the authors' scripts), the one-layer default
    recipes before 2026-12-01 (the default when the issue was filed) and of 2026-12-01 (both as
    explicit options), today's default and the fast recipe, each as in case 1 (same fault map,
    patterns and cues)."""
    pool = random_patterns(max(cfg.load_counts), 64, seed=cfg.seed)
    sides = (("xbarmem default before 2026-12-01", {**EARLIER_SINGLE, **cfg.xbarmem_basin()}),
             ("xbarmem default of 2026-12-01", {**EARLIER_RECIPE, **cfg.xbarmem_basin()}),
             ("xbarmem basin (default)", cfg.xbarmem_basin()),
             ("xbarmem fast recipe", cfg.xbarmem_basin("fast")))
    loads = [_single(cfg, pool.subset(slice(0, p)), "1p", "random +-1 patterns", log, sides)
             for p in cfg.load_counts]
    return {"case": "1p", "status": "ok",
            "title": "single network, N=64, random +-1 patterns, P = "
                     + ", ".join(map(str, cfg.load_counts)) + ", no faults",
            "settings": {**loads[0]["settings"], "n_patterns": list(cfg.load_counts)},
            "shared": loads[0]["shared"] + "; the patterns of a smaller P are the first of "
                      "the larger one's",
            "loads": loads}


def _second_score(cfg: BenchConfig, memory, pset: PatternSet, probes: int) -> float:
    """Mean cosine of ``memory`` at the second flip rate (cues drawn as for the first)."""
    return evaluate_memory(memory, pset, _protocol(cfg, cfg.second_flip, probes)).cosine


def _timed(repeats: int, fit: Callable[[], Any]) -> tuple[Any, float, list[float], PeakMemory]:
    """Run ``fit()`` ``repeats`` times (the same seed, so the same network each time): its last
    result, the median seconds, every run's seconds and the last run's peak memory."""
    times = []
    for _ in range(max(1, repeats)):
        with PeakMemory() as mem:
            start = time.perf_counter()
            out = fit()
            times.append(time.perf_counter() - start)
    return out, statistics.median(times), times, mem


def _naive_timed(repeats: int, fit: Callable[[], Any]) -> tuple[Any, list[float], PeakMemory]:
    """Run the naive loop ``fit()`` ``repeats`` times (the same seed, so the same training
    each time), as each xbarmem side is trained (:func:`_timed`): its last result with
    ``seconds`` set to the median of the runs' own training seconds, every run's seconds and
    the peak memory over the runs. One run of the loop alone moved the speed-ups by up to a
    quarter from run to run (the loop's seconds in the denominator of every ratio)."""
    runs = []
    with PeakMemory() as mem:
        for _ in range(max(1, repeats)):
            runs.append(fit())
    if len({r.steps for r in runs}) != 1:
        raise RuntimeError(f"the naive loop took {[r.steps for r in runs]} steps in runs "
                           "with one seed")
    each = [float(r.seconds) for r in runs]
    return replace(runs[-1], seconds=statistics.median(each)), each, mem


def _same_training(sides: dict[str, dict[str, Any]], label: str,
                   options: dict[str, Any]) -> bool:
    """Whether an earlier side of ``sides`` trains with the same resolved ``options`` (the
    multilayer fast recipe is the default's training): then ``sides[label]`` becomes a copy of
    that side's measurement, marked ``same_training_as``, instead of timing the same training
    again (two timings of one training would differ by the machine's noise alone)."""
    def trained(opts: Any) -> dict[str, Any]:  # the recipe's name is not its training
        return {k: v for k, v in (opts or {}).items() if k != "recipe"}

    for earlier, side in sides.items():
        if earlier != "naive" and trained(side.get("options")) == trained(options):
            sides[label] = {**side, "same_training_as": earlier}
            return True
    return False


def _xbarmem_sides(cfg: BenchConfig) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The xbarmem sides of cases 1 and 1r: (label, trainer options)."""
    return (("xbarmem fixed-point", cfg.xbarmem_fixed_point()),
            ("xbarmem fixed-point, stop=loss", cfg.xbarmem_fixed_point("loss")),
            ("xbarmem basin (default)", cfg.xbarmem_basin()),
            ("xbarmem fast recipe", cfg.xbarmem_basin("fast")))


def _single(cfg: BenchConfig, pset: PatternSet, case: str, what: str,
            log: Log, xbarmem_sides: Sequence[tuple[str, dict[str, Any]]] | None = None
            ) -> dict[str, Any]:
    """One network, no faults: the naive loop and ``xbarmem_sides`` (label, trainer options;
    default :func:`_xbarmem_sides`: the fixed-point objective and the default and fast basin
    recipes), on the same fault map, patterns and cues."""
    x = tensor_of(pset.patterns)
    p, n = x.shape
    chip = paper_chip(0.0)
    fmap = fault_map(chip, n, cfg.seed)
    protocol = _protocol(cfg, cfg.single_flip, cfg.single_probes)
    sides: dict[str, dict[str, Any]] = {}

    log(f"case {case}: naive loop, N={n}, P={p}, up to {cfg.max_steps} steps")
    mask = weight_mask(chip, fmap, n)
    res, each, mem = _naive_timed(cfg.repeats, lambda: train_naive(
        x, mask, lr=cfg.naive_lr, max_steps=cfg.max_steps, tol=cfg.naive_tol,
        init_std=cfg.naive_init_std, seed=cfg.seed))
    start = time.perf_counter()
    cues, targets = flip_cues(x, protocol.probes, protocol.level, protocol.seed)
    states = recall_naive(res.weights, res.bias, cues, cfg.recall_steps)
    cosine, exact = cosine_scores(states, targets)
    wall = res.seconds + time.perf_counter() - start
    cues2, targets2 = flip_cues(x, protocol.probes, cfg.second_flip, protocol.seed)
    second = cosine_scores(recall_naive(res.weights, res.bias, cues2, cfg.recall_steps),
                           targets2)[0]
    sides["naive"] = _side(train_seconds=res.seconds, wall_seconds=wall, steps=res.steps,
                           final_loss=res.loss, converged=res.converged, cosine=cosine,
                           exact=exact, flop=fixed_point_flops(n, p, res.steps), mem=mem,
                           options={"lr": cfg.naive_lr, "max_steps": cfg.max_steps,
                                    "tol": cfg.naive_tol, "init_std": cfg.naive_init_std,
                                    "init_seed": cfg.seed}, second=second)
    sides["naive"]["train_seconds_each"] = each

    checks: dict[str, bool] = {}
    for label, options in xbarmem_sides or _xbarmem_sides(cfg):
        log(f"case {case}: {label}, options {options}")
        trainer = AdaptiveTrainer(**options).resolved(1)
        if _same_training(sides, label, trainer.options()):
            continue
        memory, train_seconds, each, mem = _timed(
            cfg.repeats, lambda options=options: train(x, chip=chip, rule="adaptive",
                                                       faults=fmap, **options))
        start = time.perf_counter()
        score = evaluate_memory(memory, pset, protocol)
        wall = train_seconds + time.perf_counter() - start
        steps = int(memory.info["steps"])
        if trainer.objective == "fixed-point":
            flop = fixed_point_flops(n, p, steps)
        else:
            flop = basin_flops(n, p, steps, finetune_steps=trainer.finetune_steps,
                               cue_copies=trainer.cue_copies, unroll=trainer.unroll,
                               finetune_unroll=trainer.finetune_unroll)
        sides[label] = _side(train_seconds=train_seconds, wall_seconds=wall, steps=steps,
                             final_loss=float(memory.info["loss"]),
                             converged=bool(memory.info["converged"]), cosine=score.cosine,
                             exact=score.exact, flop=flop, mem=mem, options=trainer.options(),
                             second=_second_score(cfg, memory, pset, protocol.probes))
        sides[label]["train_seconds_each"] = each
        assert score.cues is not None
        checks["cues_identical"] = checks.get("cues_identical", True) and torch.equal(
            score.cues, cues)
        (lo, hi), = memory.bounds()
        pinned = (lo[:, :n] == hi[:, :n]) | torch.eye(n, dtype=torch.bool)
        checks["masks_identical"] = checks.get("masks_identical", True) and torch.equal(
            pinned, mask == 0)

    naive = sides["naive"]
    ratios = {label: {"train": _ratio(naive["train_seconds"], side["train_seconds"]),
                      "per_step": _ratio(naive["seconds_per_step"], side["seconds_per_step"]),
                      "wall": _ratio(naive["wall_seconds"], side["wall_seconds"])}
              for label, side in sides.items() if label != "naive"}
    return {"case": case, "status": "ok",
            "title": f"single network, N={n}, P={p} {what}, no faults",
            "settings": {"data": pset.name, "n_neurons": n, "n_patterns": p, "faults": 0.0,
                         "chip": "paper-sim", "protocol": protocol.as_dict(),
                         "second_flip": cfg.second_flip},
            "shared": "fault map, stored patterns, cues (checked bit-identical), step cap, "
                      f"tol, recall cap; each side (the naive loop too): median of {cfg.repeats} "
                      "trainings",
            "checks": checks, "sides": sides, "speed_ratio_naive_over": ratios}


def _side(*, train_seconds: float, wall_seconds: float, steps: int, final_loss: float,
          converged: bool, cosine: float, exact: float, flop: float | None, mem: PeakMemory,
          options: dict[str, Any], second: float | None = None) -> dict[str, Any]:
    """One side of case 1 as a dict. GFLOP/s are over the training time only;
    ``recall_seconds`` is everything but training (set-up and recall evaluation);
    ``cosine_second_flip``: the mean cosine at the config's second flip rate (not timed)."""
    return {"train_seconds": train_seconds, "recall_seconds": wall_seconds - train_seconds,
            "wall_seconds": wall_seconds, "steps": steps,
            "seconds_per_step": _per_step(train_seconds, steps), "final_loss": final_loss,
            "converged": converged, "cosine": cosine, "cosine_second_flip": second,
            "exact": exact, "flop": flop, "gflops": gflops(flop, train_seconds),
            **mem.as_dict(), "options": options}


# --------------------------------------------------------------------------- curves
def naive_curve(pool: PatternSet, counts: list[int], chip: ChipSpec, cfg: BenchConfig,
                protocol: Protocol, trials: int, log: Log = _quiet) -> dict[str, Any]:
    """The naive loop over every (count, trial): same fault maps, subsets and cues as
    ``recall_curve(pool, counts, chip, "adaptive", trials=trials, protocol=protocol,
    seed=cfg.seed)``. Each network is initialised with its subset seed."""
    n = pool.n_neurons
    networks: list[dict[str, Any]] = []
    with PeakMemory() as mem:
        start = time.perf_counter()
        masks = [weight_mask(chip, fault_map(chip, n, offset_seed(cfg.seed, k)), n)
                 for k in range(trials)]
        for i, count in enumerate(counts):
            for k in range(trials):
                seed = subset_seed(cfg.seed, count, k)
                x = torch.as_tensor(pool.patterns[random_subset(pool.n_patterns, count, seed)])
                res = train_naive(x, masks[k], lr=cfg.naive_lr, max_steps=cfg.max_steps,
                                  tol=cfg.naive_tol, init_std=cfg.naive_init_std, seed=seed)
                t0 = time.perf_counter()
                cues, targets = flip_cues(x, protocol.probes, protocol.level,
                                          protocol.reseeded(k).seed)
                states = recall_naive(res.weights, res.bias, cues, protocol.max_iterations)
                cosine, exact = cosine_scores(states, targets)
                networks.append({"count": count, "trial": k, "subset_seed": seed,
                                 "steps": res.steps, "loss": res.loss,
                                 "converged": res.converged, "train_seconds": res.seconds,
                                 "recall_seconds": time.perf_counter() - t0,
                                 "cosine": cosine, "exact": exact})
            last = networks[-1]
            log(f"  naive P={count} ({i + 1}/{len(counts)}): {last['steps']} steps, "
                f"{last['train_seconds']:.2f} s, cosine {last['cosine']:.3f}")
        wall = time.perf_counter() - start
    points = []
    for count in counts:
        rows = [r for r in networks if r["count"] == count]
        cos = np.array([r["cosine"] for r in rows])
        points.append({"count": count, "cosine": float(cos.mean()), "cosine_std": float(cos.std()),
                       "exact": float(np.mean([r["exact"] for r in rows])),
                       "steps_mean": float(np.mean([r["steps"] for r in rows])),
                       "converged": float(np.mean([r["converged"] for r in rows])),
                       "trials": trials, "subset_seeds": [r["subset_seed"] for r in rows]})
    train_seconds = float(sum(r["train_seconds"] for r in networks))
    network_steps = int(sum(r["steps"] for r in networks))
    flop = float(sum(fixed_point_flops(n, r["count"], r["steps"]) for r in networks))
    return {"train_seconds": train_seconds, "wall_seconds": wall,
            "recall_seconds": wall - train_seconds,
            "networks": len(networks), "network_steps": network_steps,
            "seconds_per_network_step": _per_step(train_seconds, network_steps),
            "flop": flop, "gflops": gflops(flop, train_seconds),
            "gflops_basis": "sum over networks of 3*2*P*N^2*steps, over training time",
            **mem.as_dict(), "points": points, "networks_detail": networks,
            "options": {"lr": cfg.naive_lr, "max_steps": cfg.max_steps, "tol": cfg.naive_tol,
                        "init_std": cfg.naive_init_std, "init_seed": "subset seed"}}


def xbarmem_curve(pool: PatternSet, counts: list[int], chip: ChipSpec, cfg: BenchConfig,
                  protocol: Protocol, trials: int) -> dict[str, Any]:
    """``recall_curve`` with the adaptive rule and the paper's fixed-point objective (batched,
    xbarmem's default ``stop="stable"``)."""
    options = cfg.xbarmem_fixed_point()
    n = pool.n_neurons
    with PeakMemory() as mem:
        start = time.perf_counter()
        res = recall_curve(pool, counts, chip, "adaptive", trials=trials, protocol=protocol,
                           seed=cfg.seed, rule_options=options)
        wall = time.perf_counter() - start
    train_seconds = float(res["train_seconds"])
    network_steps = float(sum(res["train_steps"]))
    flop = float(sum(fixed_point_flops(n, c, k)
                     for c, k in zip(res["jobs"], res["train_steps"], strict=True)))
    return {"train_seconds": train_seconds, "wall_seconds": wall,
            "recall_seconds": wall - train_seconds, "eval_seconds": res["eval_seconds"],
            "networks": int(res["networks"]), "network_steps": network_steps,
            "seconds_per_network_step": _per_step(train_seconds, network_steps),
            "flop": flop, "gflops": gflops(flop, train_seconds),
            "gflops_basis": "sum over networks of 3*2*P*N^2*steps, over training time",
            **mem.as_dict(), "points": res["points"],
            "options": AdaptiveTrainer(**options).options()}


def xbarmem_search(pool: PatternSet, counts: list[int], chip: ChipSpec, cfg: BenchConfig,
                   protocol: Protocol, trials: int) -> dict[str, Any]:
    """The capacities at ``cfg.thresholds`` from as few of ``counts`` as needed:
    :func:`search_capacity` over the positions of ``counts`` (from the smallest, doubling, then
    bisecting), every tested count one ``recall_curve`` point (same seeds, so it gets the full
    curve's subsets and cues), same trainer options as :func:`xbarmem_curve`."""
    options = cfg.xbarmem_fixed_point()
    points: dict[int, dict[str, Any]] = {}
    totals = {"train_seconds": 0.0, "eval_seconds": 0.0, "networks": 0}

    def score(position: int) -> float:
        count = counts[position - 1]
        res = recall_curve(pool, [count], chip, "adaptive", trials=trials, protocol=protocol,
                           seed=cfg.seed, rule_options=options)
        for key in totals:
            totals[key] += res[key]
        points[count] = res["points"][0]
        return points[count]["cosine"]

    with PeakMemory() as mem:
        start = time.perf_counter()
        found = search_capacity(score, cfg.thresholds, start=1, max_count=len(counts))
        wall = time.perf_counter() - start
    return {**totals, "wall_seconds": wall, "rounds": len(points), "tested": sorted(points),
            "points": [points[c] for c in sorted(points)],
            "capacity": {f"{t:.2f}": counts[i - 1] if i else 0 for t, i in found.items()},
            **mem.as_dict()}


def _check_subsets(naive: dict[str, Any], xbarmem: dict[str, Any]) -> bool:
    """The naive side drew the same pattern subsets as ``recall_curve`` (raises otherwise)."""
    mine = {p["count"]: p["subset_seeds"] for p in naive["points"]}
    theirs = {p["count"]: p["subset_seeds"] for p in xbarmem["points"]}
    if mine != theirs:
        raise RuntimeError("recall_curve's subset seeding changed; update benchmarks/cases.py "
                           f"(naive {mine} vs recall_curve {theirs})")
    return True


# --------------------------------------------------------------------------- case 2
def case_capacity(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 2: capacity curves, N = 64, 8x8 MNIST pool, at each fault rate: naive loop over
    counts vs one batched ``recall_curve``; capacities at ``cfg.thresholds``."""
    pool = load_mnist(side=8, n_patterns=cfg.capacity_pool)
    counts = sorted({int(c) for c in cfg.capacity_counts})
    protocol = _protocol(cfg, cfg.capacity_flip, cfg.capacity_probes)
    levels = []
    for faults in cfg.capacity_faults:
        chip = paper_chip(faults)
        log(f"case 2: {faults:.0%} faults, naive loop over {len(counts)} counts x "
            f"{cfg.capacity_trials} trial(s)")
        naive = naive_curve(pool, counts, chip, cfg, protocol, cfg.capacity_trials, log)
        log(f"case 2: {faults:.0%} faults, xbarmem recall_curve (one batch of "
            f"{len(counts) * cfg.capacity_trials} networks)")
        xbarmem = xbarmem_curve(pool, counts, chip, cfg, protocol, cfg.capacity_trials)
        naive["capacity"] = _capacities(naive["points"], cfg.thresholds)
        xbarmem["capacity"] = _capacities(xbarmem["points"], cfg.thresholds)
        level = {
            "faults": faults, "naive": naive, "xbarmem": xbarmem,
            "subsets_identical": _check_subsets(naive, xbarmem),
            "speed_ratio_naive_over_xbarmem": {
                "train": _ratio(naive["train_seconds"], xbarmem["train_seconds"]),
                "per_network_step": _ratio(naive["seconds_per_network_step"],
                                           xbarmem["seconds_per_network_step"]),
                "wall": _ratio(naive["wall_seconds"], xbarmem["wall_seconds"])}}
        if cfg.search:
            log(f"case 2: {faults:.0%} faults, xbarmem capacity search over the counts")
            search = xbarmem_search(pool, counts, chip, cfg, protocol, cfg.capacity_trials)
            level["search"] = search
            level["speed_ratio_naive_over_search"] = {
                "train": _ratio(naive["train_seconds"], search["train_seconds"]),
                "wall": _ratio(naive["wall_seconds"], search["wall_seconds"])}
        levels.append(level)
    return {"case": "2", "status": "ok",
            "title": f"capacity curve, N={pool.n_neurons}, {len(counts)} counts "
                     f"{counts[0]}..{counts[-1]}, 8x8 MNIST pool of {pool.n_patterns}",
            "settings": {"data": pool.name, "n_neurons": pool.n_neurons, "pool": pool.n_patterns,
                         "counts": counts, "trials": cfg.capacity_trials,
                         "faults": list(cfg.capacity_faults), "chip": "paper-sim",
                         "thresholds": list(cfg.thresholds), "protocol": protocol.as_dict()},
            "shared": "fault maps (same generator and seeds), pattern subsets (seeds checked), "
                      "cues (same generator and seeds), step cap, tol, recall cap",
            "levels": levels}


# --------------------------------------------------------------------------- case 4a
def case_big(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 4a: one capacity point at N = ``big_neurons`` with ``big_patterns`` random +-1
    patterns; xbarmem always, the naive loop only with ``big_with_naive``."""
    n, p = cfg.big_neurons, cfg.big_patterns
    pool = random_patterns(p, n, seed=cfg.seed)
    chip = paper_chip(cfg.big_faults)
    protocol = _protocol(cfg, cfg.big_flip, cfg.big_probes)
    log(f"case 4a: xbarmem, N={n}, P={p}, {cfg.big_faults:.0%} faults")
    sides: dict[str, dict[str, Any]] = {"xbarmem": xbarmem_curve(pool, [p], chip, cfg, protocol, 1)}
    if cfg.big_with_naive:
        log(f"case 4a: naive loop, N={n}, P={p}")
        sides["naive"] = naive_curve(pool, [p], chip, cfg, protocol, 1, log)
        _check_subsets(sides["naive"], sides["xbarmem"])
        ratio = {"train": _ratio(sides["naive"]["train_seconds"],
                                 sides["xbarmem"]["train_seconds"]),
                 "per_network_step": _ratio(sides["naive"]["seconds_per_network_step"],
                                            sides["xbarmem"]["seconds_per_network_step"])}
    else:
        sides["naive"] = {"status": "skipped", "reason": "pass --with-naive-1024 to run it"}
        ratio = None
    return {"case": "4a", "status": "ok",
            "title": f"one capacity point, N={n}, P={p} random patterns, "
                     f"{cfg.big_faults:.0%} weight faults",
            "settings": {"data": pool.name, "n_neurons": n, "n_patterns": p,
                         "faults": cfg.big_faults, "chip": "paper-sim",
                         "protocol": protocol.as_dict()},
            "shared": "fault map, patterns, cues (same generator and seeds), step cap, tol",
            "sides": sides, "speed_ratio_naive_over_xbarmem": ratio}


# --------------------------------------------------------------------------- 3 / 4b
def _multilayer_sides(pset: PatternSet, chip: ChipSpec, cfg: BenchConfig, protocol: Protocol,
                      labels: list[tuple[str, dict[str, Any]]], with_naive: bool,
                      log: Log) -> tuple[dict[str, dict[str, Any]], dict[str, bool]]:
    """Train and score one multilayer network per side on the same fault map and cues."""
    x = tensor_of(pset.patterns)
    p, n = x.shape
    sizes = [n, cfg.ml_hidden, n]
    memory = MultilayerMemory(n, cfg.ml_hidden, chip, fault_seed=cfg.seed)
    faults = memory.faults
    sides: dict[str, dict[str, Any]] = {}
    checks: dict[str, bool] = {}
    if with_naive:
        log(f"naive multilayer loop, {'-'.join(map(str, sizes))}, P={p}, RMSprop "
            f"{cfg.ml_naive_lr}, up to {cfg.ml_max_steps} steps")
        masks = multilayer_masks(memory)
        res, each, mem = _naive_timed(cfg.repeats, lambda: train_naive_multilayer(
            x, masks, lr=cfg.ml_naive_lr, max_steps=cfg.ml_max_steps, tol=cfg.naive_tol,
            seed=cfg.seed))
        start = time.perf_counter()
        cues, targets = flip_cues(x, protocol.probes, protocol.level, protocol.seed)
        states = recall_naive_multilayer(res.weights, res.biases, cues, cfg.recall_steps)
        cosine, exact = cosine_scores(states, targets)
        wall = res.seconds + time.perf_counter() - start
        cues2, targets2 = flip_cues(x, protocol.probes, cfg.second_flip, protocol.seed)
        second = cosine_scores(recall_naive_multilayer(res.weights, res.biases, cues2,
                                                       cfg.recall_steps), targets2)[0]
        sides["naive"] = _side(train_seconds=res.seconds, wall_seconds=wall, steps=res.steps,
                               final_loss=res.loss, converged=res.converged, cosine=cosine,
                               exact=exact, flop=multilayer_flops(sizes, p, res.steps),
                               mem=mem, options={"optimizer": "rmsprop",
                                                 "lr": cfg.ml_naive_lr,
                                                 "max_steps": cfg.ml_max_steps,
                                                 "tol": cfg.naive_tol, "init": "nn.Linear",
                                                 "init_seed": cfg.seed}, second=second)
        sides["naive"]["train_seconds_each"] = each
        checks["cues_identical"] = True
    for label, options in labels:
        log(f"{label}, options {options}")
        trainer = MultilayerTrainer(**{"seed": cfg.seed, **options}).resolved(len(sizes) - 1,
                                                                              pset.kind)
        if _same_training(sides, label, trainer.options()):
            continue

        def fit(trainer=trainer):
            mem_x = MultilayerMemory(n, cfg.ml_hidden, chip, faults)
            return mem_x, fit_memories(trainer, x, [mem_x], kind=pset.kind,
                                       program_seed=cfg.seed)[0]

        (mem_x, info), train_seconds, times, mem = _timed(cfg.repeats, fit)
        start = time.perf_counter()
        score = evaluate_memory(mem_x, pset, protocol)
        wall = train_seconds + time.perf_counter() - start
        steps = int(info["steps"])
        flop = (multilayer_flops(sizes, p, steps) if trainer.objective == "fixed-point"
                else multilayer_flops(sizes, p, steps, finetune_steps=trainer.finetune_steps,
                                      cue_copies=trainer.cue_copies, unroll=trainer.unroll,
                                      finetune_unroll=trainer.finetune_unroll))
        sides[label] = _side(train_seconds=train_seconds, wall_seconds=wall, steps=steps,
                             final_loss=float(info["loss"]), converged=bool(info["converged"]),
                             cosine=score.cosine, exact=score.exact, flop=flop, mem=mem,
                             options=trainer.options(),
                             second=_second_score(cfg, mem_x, pset, protocol.probes))
        sides[label]["train_seconds_each"] = times
        if with_naive:
            assert score.cues is not None
            checks["cues_identical"] = checks["cues_identical"] and torch.equal(score.cues,
                                                                               cues)
            pinned = [(lo[:, : layer.n_in] == hi[:, : layer.n_in])
                      for layer, (lo, hi) in zip(mem_x.layers, mem_x.bounds(), strict=True)]
            checks["masks_identical"] = checks.get("masks_identical", True) and all(
                torch.equal(pin, m == 0) for pin, m in zip(pinned, masks, strict=True))
    return sides, checks


def _speed_ratios(sides: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    naive = sides.get("naive")
    if naive is None:
        return {}
    return {label: {"train": _ratio(naive["train_seconds"], side["train_seconds"]),
                    "per_step": _ratio(naive["seconds_per_step"], side["seconds_per_step"]),
                    "wall": _ratio(naive["wall_seconds"], side["wall_seconds"])}
            for label, side in sides.items() if label != "naive"}


def case_multilayer(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 3: one multilayer network ``64 -> H -> 64``, ``ml_patterns`` 8x8 MNIST digits,
    no faults: the naive multilayer loop vs xbarmem's multilayer trainer (fixed-point and
    default basin recipe)."""
    pset = load_mnist(side=8, n_patterns=cfg.ml_patterns)
    p, n = pset.patterns.shape
    chip = paper_chip(0.0)
    protocol = _protocol(cfg, cfg.ml_flip, cfg.ml_probes)
    log(f"case 3: multilayer {n}-{cfg.ml_hidden}-{n}, P={p}")
    sides, checks = _multilayer_sides(
        pset, chip, cfg, protocol,
        [("xbarmem multilayer fixed-point", cfg.ml_fixed_point_options),
         ("xbarmem multilayer basin (default)", cfg.ml_basin_options),
         ("xbarmem multilayer fast recipe", cfg.ml_fast_options)], True, log)
    return {"case": "3", "status": "ok",
            "title": f"multilayer network {n}-{cfg.ml_hidden}-{n}, P={p} 8x8 MNIST digits, "
                     "no faults",
            "settings": {"data": pset.name, "n_neurons": n, "hidden": cfg.ml_hidden,
                         "n_patterns": p, "faults": 0.0, "chip": "paper-sim",
                         "protocol": protocol.as_dict(),
                         "second_flip": cfg.second_flip},
            "shared": "fault map, stored patterns, cues (checked bit-identical), tol, recall cap; "
                      f"each side (the naive loop too): median of {cfg.repeats} trainings",
            "checks": checks, "sides": sides, "speed_ratio_naive_over": _speed_ratios(sides)}


def case_big_multilayer(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 4b: one multilayer capacity point, ``big_ml_patterns`` MNIST digits at full
    resolution (N = ``big_ml_neurons``), ``N -> H -> N``: xbarmem's fixed-point multilayer
    trainer, the naive loop only with ``big_ml_with_naive``."""
    side = int(round(cfg.big_ml_neurons ** 0.5))
    pset = load_mnist(side=side, n_patterns=cfg.big_ml_patterns)
    p, n = pset.patterns.shape
    chip = paper_chip(cfg.big_ml_faults)
    protocol = _protocol(cfg, cfg.big_ml_flip, cfg.big_ml_probes)
    log(f"case 4b: multilayer {n}-{cfg.ml_hidden}-{n}, P={p}, {cfg.big_ml_faults:.0%} faults")
    sides, checks = _multilayer_sides(
        pset, chip, cfg, protocol,
        [("xbarmem multilayer fixed-point", cfg.ml_fixed_point_options)],
        cfg.big_ml_with_naive, log)
    if not cfg.big_ml_with_naive:
        sides["naive"] = {"status": "skipped", "reason": "pass --with-naive-784 to run it"}
    return {"case": "4b", "status": "ok",
            "title": f"one multilayer capacity point, {n}-{cfg.ml_hidden}-{n}, P={p} "
                     f"{side}x{side} MNIST digits, {cfg.big_ml_faults:.0%} weight faults",
            "settings": {"data": pset.name, "n_neurons": n, "hidden": cfg.ml_hidden,
                         "n_patterns": p, "faults": cfg.big_ml_faults, "chip": "paper-sim",
                         "protocol": protocol.as_dict(),
                         "second_flip": cfg.second_flip},
            "shared": "fault map, stored patterns, cues (same generator and seeds), tol",
            "checks": checks, "sides": sides,
            "speed_ratio_naive_over": _speed_ratios(
                {k: v for k, v in sides.items() if v.get("status") != "skipped"})}


# --------------------------------------------------------------------------- cases 5, 6
def _run_cli(args: list[str], log: Log, case: str) -> tuple[Any, float, dict[str, Any]]:
    """Run ``xbarmem ARGS`` (with ``--json``) in a fresh process: its parsed JSON output (None
    when it failed), the wall seconds, and what a result records of the run (``command``
    and, when it failed, ``status`` "failed" with the last line of its error output)."""
    import subprocess
    import sys

    log(f"case {case}: xbarmem {' '.join(args)}")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xbarmem", *args], capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - start
    run = {"command": "xbarmem " + " ".join(args)}
    if done.returncode != 0:
        return None, seconds, {**run, "status": "failed",
                               "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout), seconds, run


#: case 5's searches that are not recipes: their trainer options
SEARCH_OPTIONS = {"default-2026-12-01": EARLIER_RECIPE}


def case_capacity_search(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 5: the command-line capacity search of the performance issue, ``xbarmem capacity
    --arch single --data digits --threshold 0.9,0.95,0.99 --trials 2``, once per recipe
    (``cfg.search_recipes``), one after the other in fresh processes with ``cfg.search_threads``
    torch threads: wall seconds, capacities and the ratio of each recipe's time to the
    default's."""
    base = cfg.search_command()
    runs: dict[str, dict[str, Any]] = {}
    for recipe in cfg.search_recipes:
        options = {**SEARCH_OPTIONS.get(recipe, {}), **cfg.search_rule_options}
        args = (["--recipe", recipe] if recipe not in ("default", *SEARCH_OPTIONS) else []) + (
            ["--rule-options", json.dumps(options)] if options else [])
        out, seconds, run = _run_cli(base + args, log, "5")
        runs[recipe] = {"seconds": seconds, **run}
        if out is not None:
            result = out["results"][0]
            runs[recipe].update(status="ok", capacity=result["capacity"],
                                counts_trained=len(result["points"]))
    first = runs.get("default", {})
    ratios = {r: _ratio(first.get("seconds"), v["seconds"]) for r, v in runs.items()
              if r != "default" and v.get("status") == "ok" and first.get("status") == "ok"}
    return {"case": "5", "status": "ok",
            "title": "capacity search on 8x8 digits (xbarmem capacity), per recipe",
            "settings": {"thresholds": list(cfg.thresholds), "trials": cfg.search_trials,
                         "threads": cfg.search_threads, "recipes": list(cfg.search_recipes)},
            "shared": "command, data, seeds, thresholds; fresh process per recipe",
            "runs": runs, "speed_ratio_default_over": ratios}


# --------------------------------------------------------------------------- case 6
def case_scaling(cfg: BenchConfig, log: Log = _quiet) -> dict[str, Any]:
    """Case 6: the multilayer binary scaling run of the performance issue, ``xbarmem scaling
    --arch multilayer --kind binary --hidden 1n`` over ``cfg.scaling_sizes`` (threshold 0.99,
    one network per tested count, the fixed-point objective, as in ``reproduce``'s (e)) with
    ``cfg.search_threads`` torch threads in a fresh process: wall seconds in all, each size's
    search seconds, counts trained and capacity, and the exponent with its 95% interval."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result, seconds, run = _run_cli(
            ["scaling", "--arch", "multilayer", "--kind", "binary", "--sizes",
             ",".join(map(str, cfg.scaling_sizes)), "--hidden", "1n", "--threshold", "0.99",
             "--trials", "1", "--probes", str(cfg.scaling_probes), "--seed", str(cfg.seed),
             "--rule-options", json.dumps(cfg.ml_fixed_point_options), "--threads",
             str(cfg.search_threads),
             "--json", "--out", folder, *cfg.scaling_extra], log, "6")
    head = {"case": "6", "title": "multilayer binary scaling (xbarmem scaling, H = N)",
            "settings": {"sizes": list(cfg.scaling_sizes), "threads": cfg.search_threads,
                         "rule_options": cfg.ml_fixed_point_options},
            "seconds": seconds, "shared": "one command line in a fresh process (no naive side)",
            **run}
    if result is None:
        return head
    return {**head, "status": "ok", "fit": result["fits"]["0.99"],
            "sizes": [{"n": run["n_neurons"], "capacity": run["capacity"]["0.99"],
                       "counts_trained": run["evaluations"], "seconds": run["seconds"]}
                      for run in result["runs"]]}


CASES: dict[str, Callable[[BenchConfig, Log], dict[str, Any]]] = {
    "1": case_single,
    "1r": case_single_random,
    "1p": case_single_loads,
    "2": case_capacity,
    "3": case_multilayer,
    "4a": case_big,
    "4b": case_big_multilayer,
    "5": case_capacity_search,
    "6": case_scaling,
}

#: cases run only when asked for by name (minutes of work each)
OPT_IN = ("5", "6")
