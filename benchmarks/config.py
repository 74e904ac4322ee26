"""Benchmark settings: one dataclass, three presets (full, ``--quick``, the smoke test's tiny)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np


def capacity_counts(n_counts: int, max_count: int = 128) -> list[int]:
    """``n_counts`` distinct pattern counts from 1 to ``max_count``, geometrically spaced:
    ``np.unique(np.round(np.geomspace(1, max_count, k)))`` with the smallest ``k`` that gives
    ``n_counts`` distinct values (rounding merges the small ones), capped at ``max_count``."""
    n_counts = max(1, min(n_counts, max_count))
    if n_counts == 1:
        return [max_count]
    k = n_counts
    while True:
        counts = np.unique(np.round(np.geomspace(1, max_count, k))).astype(int)
        if len(counts) >= n_counts:
            return [int(c) for c in counts]
        k += 1


@dataclass
class BenchConfig:
    """Every knob of the suite. Steps are optimiser steps; rates are probabilities.

    Attributes:
        seed: base seed (fault maps, pattern subsets, cues, initialisation).
        max_steps: step cap of the naive loop **and** of xbarmem's fixed-point trainer (the same
            budget for both sides).
        naive_lr: Adam learning rate of the naive loop (the paper's scripts: 1e-3).
        naive_tol: the naive loop stops when the loss is below this (xbarmem's ``tol`` default
            is the same 1e-8).
        naive_init_std: std of the naive loop's normal initialisation.
        xbarmem_lr: learning rate of xbarmem's trainer; None keeps its default.
        recall_steps: cap on synchronous recall updates (both sides).
        single_patterns: case 1: number of 8x8 MNIST digits stored.
        load_counts: case 1p: the pattern counts (random +-1 patterns, N = 64).
        single_flip: case 1: cue flip rate.
        single_probes: case 1: cues per stored pattern.
        basin_options: case 1: options of xbarmem's default (basin) recipe; empty = its
            defaults.
        fast_options: case 1: options of xbarmem's fast recipe.
        second_flip: cases 1 and 3: recall is also scored at this cue flip rate.
        capacity_pool: case 2: size of the 8x8 MNIST pool subsets are drawn from.
        capacity_counts: case 2: numbers of stored patterns.
        capacity_faults: case 2: weight-fault rates (paper-sim chip).
        capacity_flip: case 2: cue flip rate.
        capacity_probes: case 2: cues per stored pattern.
        capacity_trials: case 2: chips (fault maps) per count.
        thresholds: case 2: similarity thresholds capacities are read at.
        big_neurons: case 4a: N of the large single-layer point.
        big_patterns: case 4a: random +-1 patterns stored.
        big_faults: case 4a: weight-fault rate.
        big_flip: case 4a: cue flip rate.
        big_probes: case 4a: cues per stored pattern.
        big_with_naive: case 4a: also run the naive loop (slow).
        threads: torch intra-op threads for the whole run (None: torch's default). On a
            shared machine 1 thread avoids the large slowdowns of spinning worker threads.
        search: case 2: also find the capacities from as few of the counts as needed
            (:func:`xbarmem.evaluation.capacity.search_capacity` over ``recall_curve`` points)
            next to the full curve.
        ml_hidden: cases 3 and 4b: hidden width H of the multilayer memory.
        ml_patterns: case 3: number of 8x8 MNIST digits stored.
        ml_flip: case 3: cue flip rate.
        ml_probes: case 3: cues per stored pattern.
        ml_naive_lr: RMSprop learning rate of the naive multilayer loop (paper: about 1.5e-4).
        ml_max_steps: step cap of the naive multilayer loop (paper: 120,000).
        ml_fixed_point_options: cases 3 and 4b: options of xbarmem's multilayer trainer for
            the paper's fixed-point objective.
        ml_basin_options: case 3: options of xbarmem's default (basin) multilayer recipe.
        ml_fast_options: case 3: options of xbarmem's fast multilayer recipe.
        repeats: cases 1, 1r, 1p, 3 and 4b: each side (xbarmem's, and in cases 1, 1r, 1p
            and 3 the naive loop) is trained this many times (the same seed, so the same
            network) and its median training time is kept: trainings vary by 15-30% from one
            run to the next.
        big_ml_neurons: case 4b: N (28x28 MNIST digits: 784).
        big_ml_patterns: case 4b: digits stored.
        big_ml_faults: case 4b: weight-fault rate.
        big_ml_flip: case 4b: cue flip rate.
        big_ml_probes: case 4b: cues per stored pattern.
        big_ml_with_naive: case 4b: also run the naive multilayer loop (slow).
        search_recipes: case 5: recipes whose capacity search runs, in this order, and
            ``default-2026-12-01``: the default recipe of 2026-12-01 as explicit options (the
            before of the default's change on 2026-12-02 night).
        search_rule_options: case 5: trainer options every search takes (the smoke test
            shrinks the search with them), over the recipe's.
        search_trials: case 5: ``--trials`` of the capacity search.
        search_threads: case 5: ``--threads`` of the capacity search.
        search_extra: case 5: further command-line arguments (the smoke test shrinks the
            search with them).
        scaling_sizes: case 6: the sizes N of the scaling run (``search_threads`` threads).
        scaling_probes: case 6: cues per stored pattern (``--probes``).
        scaling_extra: case 6: further command-line arguments.
    """

    seed: int = 0
    max_steps: int = 10_000
    naive_lr: float = 1e-3
    naive_tol: float = 1e-8
    naive_init_std: float = 0.01
    xbarmem_lr: float | None = None
    recall_steps: int = 100
    single_patterns: int = 32
    load_counts: tuple[int, ...] = (8, 24, 32, 40)
    single_flip: float = 0.05
    single_probes: int = 20
    basin_options: dict[str, Any] = field(default_factory=dict)
    fast_options: dict[str, Any] = field(default_factory=lambda: {"recipe": "fast"})
    second_flip: float = 0.1
    capacity_pool: int = 2000
    capacity_counts: list[int] = field(default_factory=lambda: capacity_counts(40))
    capacity_faults: tuple[float, ...] = (0.0, 0.5)
    capacity_flip: float = 0.1
    capacity_probes: int = 20
    capacity_trials: int = 1
    thresholds: tuple[float, ...] = (0.90, 0.95, 0.99)
    big_neurons: int = 1024
    big_patterns: int = 100
    big_faults: float = 0.5
    big_flip: float = 0.1
    big_probes: int = 20
    big_with_naive: bool = False
    threads: int | None = None
    search: bool = True
    ml_hidden: int = 32
    ml_patterns: int = 32
    ml_flip: float = 0.05
    ml_probes: int = 20
    ml_naive_lr: float = 1.5e-4
    ml_max_steps: int = 120_000
    ml_fixed_point_options: dict[str, Any] = field(
        default_factory=lambda: {"objective": "fixed-point", "max_steps": 3000})
    ml_basin_options: dict[str, Any] = field(default_factory=dict)
    ml_fast_options: dict[str, Any] = field(default_factory=lambda: {"recipe": "fast"})
    repeats: int = 3
    big_ml_neurons: int = 784
    big_ml_patterns: int = 100
    big_ml_faults: float = 0.0
    big_ml_flip: float = 0.05
    big_ml_probes: int = 20
    big_ml_with_naive: bool = False
    search_recipes: tuple[str, ...] = ("default", "fast", "default-2026-12-01")
    search_rule_options: dict[str, Any] = field(default_factory=dict)
    search_trials: int = 2
    search_threads: int = 2
    search_extra: tuple[str, ...] = ()
    scaling_sizes: tuple[int, ...] = (64, 144, 256, 400, 576, 784)
    scaling_probes: int = 10
    scaling_extra: tuple[str, ...] = ()

    @classmethod
    def full(cls) -> BenchConfig:
        """The default, complete run (estimated 5-10 minutes on 2 cores from the quick run's
        per-step times; case 2's naive loop, 80 networks x up to 10,000 steps, dominates)."""
        return cls()

    @classmethod
    def quick(cls) -> BenchConfig:
        """``--quick``: everything shrunk to finish in about 1-2 minutes on 2 cores."""
        # the default recipes' own schedules (at most 500 + 200 and 300 + 100 steps) are
        # shorter than the 1000 + 300 steps this preset capped them at before 2026-12-02
        return cls(max_steps=4000, single_probes=10,
                   capacity_counts=capacity_counts(12), capacity_probes=10, big_patterns=50,
                   big_probes=10, ml_probes=10, ml_max_steps=30_000,
                   big_ml_patterns=50, big_ml_probes=10)

    @classmethod
    def tiny(cls) -> BenchConfig:
        """The smoke test's configuration: seconds, not meaningful as numbers."""
        return cls(max_steps=20, single_probes=2, load_counts=(2, 3),
                   basin_options={"max_steps": 5, "finetune_steps": 3, "cue_copies": 2},
                   fast_options={"recipe": "fast", "max_steps": 5, "finetune_steps": 3},
                   capacity_pool=100, capacity_counts=[1, 3], capacity_probes=2,
                   big_neurons=128, big_patterns=4, big_probes=2, ml_hidden=8, ml_patterns=4,
                   ml_probes=2, ml_max_steps=20,
                   ml_fixed_point_options={"objective": "fixed-point", "max_steps": 10},
                   ml_basin_options={"max_steps": 5, "finetune_steps": 3, "cue_copies": 2},
                   ml_fast_options={"recipe": "fast", "max_steps": 5, "finetune_steps": 3,
                                    "cue_copies": 2},
                   big_ml_neurons=196, big_ml_patterns=4, big_ml_probes=2,
                   search_trials=1, search_threads=1,
                   search_extra=("--pool", "40", "--probes", "2", "--start", "2"),
                   search_rule_options={"max_steps": 3, "finetune_steps": 2, "flip_steps": 2},
                   scaling_sizes=(16, 36), scaling_probes=2, scaling_extra=("--pool", "30"))

    def xbarmem_fixed_point(self, stop: str = "stable") -> dict[str, Any]:
        """Rule options of xbarmem's fixed-point (paper's objective) trainer for this run:
        ``stop="stable"`` (xbarmem's default) or ``"loss"`` (the paper's stopping rule)."""
        options: dict[str, Any] = {"objective": "fixed-point", "max_steps": self.max_steps,
                                   "stop": stop}
        if self.xbarmem_lr is not None:
            options["lr"] = self.xbarmem_lr
        return options

    def xbarmem_basin(self, recipe: str = "default") -> dict[str, Any]:
        """Rule options of xbarmem's default (basin) or fast recipe for this run."""
        options = dict(self.basin_options if recipe == "default" else self.fast_options)
        if self.xbarmem_lr is not None:
            options["lr"] = self.xbarmem_lr
        return options

    def search_command(self) -> list[str]:
        """The command line (after ``xbarmem``) of the performance issue's capacity search
        (case 5) with this run's thresholds, trials, seed, threads and extra arguments,
        printing JSON."""
        return ["capacity", "--arch", "single", "--data", "digits", "--threshold",
                ",".join(f"{t:g}" for t in self.thresholds), "--trials",
                str(self.search_trials), "--seed", str(self.seed), "--threads",
                str(self.search_threads), "--json", *self.search_extra]

    def with_overrides(self, **changes: Any) -> BenchConfig:
        """Copy with the non-None ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["capacity_faults"] = list(self.capacity_faults)
        out["capacity_counts"] = list(self.capacity_counts)
        out["thresholds"] = list(self.thresholds)
        out["load_counts"] = list(self.load_counts)
        return out


#: settings that add sides or set the thread count (recorded in ``meta``), not the work a ratio
#: compares: a run differing from the full one only in these is measured as the docs' are
SIDE_SETTINGS = ("threads", "big_with_naive", "big_ml_with_naive", "search")


def reading(cfg: BenchConfig, seen: set[str]) -> BenchConfig:
    """A copy of ``cfg`` that adds to ``seen`` the name of every setting read from it (by a
    case or by the config's own methods): the settings the case's numbers depend on."""
    names = {f.name for f in fields(BenchConfig)}

    class Reading(BenchConfig):
        def __getattribute__(self, name: str) -> Any:
            if name in names:
                seen.add(name)
            return object.__getattribute__(self, name)

    return Reading(**{name: getattr(cfg, name) for name in names})


def _brief(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{len(value)} values"
    return str(list(value) if isinstance(value, tuple) else value)


def settings_note(cfg: BenchConfig, read: set[str], preset: str,
                  whose: str = "its ratios are") -> str | None:
    """One line saying that the ratios of a run (or case) reading the settings ``read`` are not
    comparable with those of ``docs/performance.md`` (measured at :meth:`BenchConfig.full`
    settings), naming the settings that differ (``whose``: whose ratios); None when none of
    them does."""
    full = BenchConfig.full()
    differ = [f.name for f in fields(BenchConfig) if f.name in read
              and f.name not in SIDE_SETTINGS and getattr(cfg, f.name) != getattr(full, f.name)]
    if not differ:
        return None
    shown = ", ".join(f"{name} {_brief(getattr(cfg, name))} (full: {_brief(getattr(full, name))})"
                      for name in differ[:5])
    more = f" and {len(differ) - 5} more (meta.config)" if len(differ) > 5 else ""
    run = "this run" if preset == "full" else f"{preset} run"
    return (f"{run}: {whose} not comparable with docs/performance.md's (full settings): "
            f"{shown}{more} -- a lower step cap stops the naive loop sooner, and fewer cues or "
            f"smaller problems change each side's cost by a different share")
