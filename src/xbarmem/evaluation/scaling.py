"""Capacity scaling with pattern size: power-law fits and the multi-size run.

:func:`fit_power_law` fits ``log C = log a + k log N`` by least squares and gives the slope
``k`` with a Student-t confidence interval. :func:`run_scaling` measures capacity
(:func:`xbarmem.evaluation.capacity.find_capacity`) at each N on MNIST, another image set or
a user's file of images resized to side sqrt(N) (binary: binarised at each image's mean;
continuous: pixels scaled to [-1, 1]), or on drawn patterns of N neurons, and fits the
exponent per threshold. The hidden widths of multilayer memories follow an explicit
:class:`HiddenRule` per hidden layer.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from xbarmem.checks import (
    ResultDict,
    as_real_array,
    check_callback,
    check_choice,
    check_each_once,
    check_flag,
    check_neurons,
    check_type,
    checked_keywords,
    listed,
    result_repr,
    shown,
)
from xbarmem.data.patterns import check_kind
from xbarmem.data.readers import ImageStack
from xbarmem.data.sources import (
    data_fields,
    data_words,
    image_side,
    is_drawn,
    patterns_for,
    sized_pool,
    sized_source,
)
from xbarmem.errors import ConfigError, PatternError
from xbarmem.evaluation.capacity import check_search, find_capacity
from xbarmem.evaluation.checkpoint import SearchCheckpoint
from xbarmem.evaluation.cue_check import cue_warnings_once
from xbarmem.evaluation.curve import curve_trainer, fit_options, seeded_options
from xbarmem.evaluation.evaluate import Protocol, as_protocol
from xbarmem.evaluation.fit_notes import fit_notes
from xbarmem.evaluation.hidden_rule import (
    HiddenLayers,
    HiddenRule,
    hidden_layers,
    layers_text,
    layers_width,
)
from xbarmem.evaluation.search_plan import (
    DefaultBudget,
    applied_budget,
    check_search_fit,
    check_search_fits,
    search_reach,
)
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.learning.classic import keyed_options, rule_by_name
from xbarmem.memory.build import check_memories
from xbarmem.memory.multilayer import layer_sizes
from xbarmem.names import ARCHS, DEFAULT_LEVELS, SEARCH_FLIPS
from xbarmem.spec import check_seed

#: the cues per tested count of a scaling run's hardware-adaptive searches (``cue_budget``): a
#: default every rule carries (recorded as 1024 with a classic rule too, which it does not
#: change), not refused with one as a budget given is (:class:`~xbarmem.evaluation.search_plan.
#: DefaultBudget`)
SCALING_CUE_BUDGET = DefaultBudget(1024)


@checked_keywords
class ScalingResult(ResultDict):
    """What :func:`run_scaling` returns: a dict ``{"sizes", "capacity", "fits", "fit_notes",
    "runs", "settings"}`` (and ``"resumed"`` when a ``checkpoint`` was given), that prints
    one short line -- the sizes, the capacities and fitted exponent per threshold,
    arch, rule and data -- where a plain dict printed every run. ``sizes``: the pattern sizes
    N; ``capacity`` and ``fits``: per threshold (text keys, as JSON keeps them) the capacity
    at each size and the power-law fit (:meth:`PowerLawFit.as_dict` and ``lower_bounds``, the
    sizes it takes in whose capacity is only a lower bound, the whole pool, and ``left_out``,
    the sizes of capacity 0 it leaves out; None over fewer than two sizes of capacity > 0);
    ``fit_notes``: per threshold, what its fit leaves out or takes in and why, or why it has
    none, in words (:func:`~xbarmem.evaluation.fit_notes.fit_note`; "" when it fits every
    size at a measured capacity); ``runs``: each size's
    :meth:`~xbarmem.evaluation.capacity.CapacityResult.as_dict` with ``lower_bound``, the
    thresholds whose capacity is such a bound (as a sweep's rows hold it),
    ``n_neurons`` and ``hidden`` (one layer's width an integer, several a list); ``settings``:
    the run's settings, ``hidden_rule`` one layer's rule as ``fixed:H`` / ``ratio:R``, several
    in the command line's words (``1n-0.5n``,
    :func:`~xbarmem.evaluation.hidden_rule.layers_text`); ``resumed``: the counts a
    checkpoint gave back (None: no checkpoint). :meth:`as_dict` gives a plain dict. Two
    results are equal (``==``) when they hold the same values but for wall-clock times
    (:class:`~xbarmem.checks.ResultDict`): the same run again with the same seed."""

    def __init__(self, sizes: list[int], capacity: dict[str, list[int]],
                 fits: dict[str, dict[str, Any] | None], runs: list[dict[str, Any]],
                 settings: dict[str, Any], resumed: int | None = None) -> None:
        super().__init__(sizes=sizes, capacity=capacity, fits=fits,
                         fit_notes=fit_notes(sizes, capacity, fits), runs=runs,
                         **({} if resumed is None else {"resumed": resumed}),
                         settings=settings)

    def shown(self) -> dict[str, Any]:
        """Sizes, capacities and exponents per threshold, arch, rule and data (the items hold
        every value)."""
        settings, fits = self.get("settings", {}), self.get("fits", {})
        return {
            "sizes": self.get("sizes"), "capacity": self.get("capacity", {}),
            "slope": {t: (fit or {}).get("slope") for t, fit in fits.items()},
            **{k: settings.get(k) for k in ("arch", "rule", "data") if k in settings}}


@checked_keywords
@dataclass
class PowerLawFit:
    """``C = a * N ** k`` fitted to ``points`` (N, capacity) pairs: ``slope`` ``k``, its
    ``confidence`` interval ``[slope_low, slope_high]``, ``prefactor`` ``a`` and ``r2``
    (R^2)."""

    slope: float
    slope_low: float
    slope_high: float
    prefactor: float
    r2: float
    points: int
    confidence: float

    def __repr__(self) -> str:
        """Every attribute to 4 significant digits (:meth:`as_dict` holds them as computed)."""
        return result_repr("PowerLawFit", dict(vars(self)))

    def as_dict(self) -> dict[str, Any]:
        """Every attribute as a plain dict."""
        return dict(vars(self))

    def predict(self, n: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """The fitted capacity ``a * n ** k`` at each size of ``n`` (a number or an array of
        numbers; float64, of ``n``'s shape). :class:`ConfigError` for sizes that are not
        finite numbers > 0 (the fit's own domain)."""
        sizes = as_real_array(n, "n", dtype=None)
        if sizes.dtype == np.bool_ or not (np.isfinite(sizes).all() and (sizes > 0).all()):
            raise ConfigError(f"n must hold finite sizes > 0, got {shown(n)}")
        return self.prefactor * sizes.astype(np.float64) ** self.slope


@checked_keywords
def fit_power_law(sizes: Sequence[float] | np.ndarray,
                  capacities: Sequence[float] | np.ndarray, *,
                  confidence: float = 0.95) -> PowerLawFit:
    """Least-squares slope of ``log C`` (``capacities``) against ``log N`` (``sizes``, one per
    capacity) with a ``confidence`` interval
    (Student t with ``n - 2`` degrees of freedom; NaN bounds with only two points) and R^2
    (NaN when every capacity is equal: nothing to explain).
    Raises :class:`ConfigError` for sizes or capacities that are not flat (1-D), fewer than two
    (N, capacity) pairs or two distinct N, a size or capacity that is not finite and > 0, or a
    ``confidence`` outside (0, 1)."""
    if isinstance(confidence, bool) or not (isinstance(confidence, numbers.Real)
                                            and 0 < confidence < 1):
        raise ConfigError(f"confidence must be a number in (0, 1), got {shown(confidence)}")
    n = as_real_array(sizes, "sizes")
    c = as_real_array(capacities, "capacities")
    if n.ndim != 1 or c.ndim != 1:
        raise ConfigError(f"sizes and capacities must be flat sequences of numbers, got shapes "
                          f"{n.shape} and {c.shape}")
    if n.shape != c.shape or n.size < 2:
        raise ConfigError(f"need at least two (N, capacity) pairs, got {n.size} sizes and "
                          f"{c.size} capacities")
    for name, values in (("sizes", n), ("capacities", c)):
        if (values <= 0).any() or not np.isfinite(values).all():
            raise ConfigError(f"sizes and capacities must be finite and > 0 to fit a power "
                              f"law (got {name} {shown(values.tolist())})")
    if len(np.unique(n)) < 2:
        raise ConfigError("need at least two distinct sizes")
    x, y = np.log(n), np.log(c)
    res = stats.linregress(x, y)
    dof = len(n) - 2
    if dof > 0:
        # the slope's standard error from the residuals (scipy's comes from r, which is NaN
        # when every capacity is equal: an exact flat fit, whose interval is [0, 0])
        resid = y - (res.intercept + res.slope * x)
        stderr = math.sqrt(float(resid @ resid) / dof / float(((x - x.mean()) ** 2).sum()))
        half = stats.t.ppf(0.5 + confidence / 2, dof) * stderr
        low, high = res.slope - half, res.slope + half
    else:
        low = high = math.nan
    return PowerLawFit(slope=float(res.slope), slope_low=float(low), slope_high=float(high),
                       prefactor=float(math.exp(res.intercept)), r2=float(res.rvalue ** 2),
                       points=len(n), confidence=confidence)


def _source(data: str | os.PathLike | ImageStack, kind: str, sizes: Sequence[int],
            pool_size: int | None, key: str | None = None,
            memories: tuple[int, tuple[HiddenRule, ...] | None, ChipSpec] | None = None
            ) -> tuple[str | ImageStack, list[int], int | None]:
    """A scaling run's ``data`` (:func:`~xbarmem.data.sources.sized_source`, ``key``: the
    array of an .npz file), ``sizes`` and pool, checked; with ``memories``, ``(trials,
    hidden rules or None, chip)``, the memories the run trains together at every N are sized
    too (:func:`_check_trials`)."""
    source = sized_source(data, kind, key)
    sizes, pool = _check_sizes(source, sizes), sized_pool(source, pool_size, "pool_size")
    if memories is not None:
        _check_trials(sizes, *memories)
    return source, sizes, pool


def _check_trials(sizes: list[int], trials: int, rules: tuple[HiddenRule, ...] | None,
                  chip: ChipSpec) -> None:
    """Refuse (:class:`~xbarmem.limits.TooLargeError`) a run whose ``trials`` memories, trained
    together at an N of ``sizes`` (hidden widths by ``rules``; None: one layer) on ``chip``,
    are above the memory limit, before the search at the first N (:func:`check_memories`):
    each search sized its own, so the largest N was refused after the smaller ones ran."""
    for n in sizes:
        widths = None if rules is None else layer_sizes(n, layers_width(rules, n))[1:-1]
        check_memories(trials, n, chip, hidden=widths, given=f"trials = {trials}")


def check_fits(sizes: Sequence[int], rules: tuple[HiddenRule, ...] | None,
               settings: dict[str, Any], pool_word: str = "pool_size",
               lower: str = "trials or sizes") -> None:
    """Refuse, before the search at the first N, a run whose training at a count some N's
    search may test (up to :func:`~xbarmem.evaluation.search_plan.search_reach` of its pool)
    the trainer would refuse mid-run: at each N of ``sizes`` (hidden widths by ``rules``; None:
    one layer), the ``settings`` of :func:`run_scaling` (``trials`` memories trained by
    ``rule`` with ``rule_options``, ``seed`` and the ``cue_budget`` applied on ``kind``
    patterns, a ``pool`` of patterns or None) checked by
    :func:`~xbarmem.evaluation.search_plan.check_search_fit`, naming ``pool_word`` and
    ``lower`` (by default in :func:`run_scaling`'s words): the count every N fits
    (:func:`~xbarmem.evaluation.search_plan.check_search_fits`)."""
    arch, kind = "single" if rules is None else "multilayer", settings["kind"]
    trainer = curve_trainer(arch, settings["rule"], dict(settings["rule_options"] or {}),
                            settings["seed"])

    def check(n: int) -> None:
        layers = [n, n] if rules is None else layer_sizes(n, layers_width(rules, n))
        check_search_fit(fit_options(trainer, layers, kind), kind, layers, settings["trials"],
                         search_reach(arch, n, settings["pool"]),
                         cue_budget=settings["cue_budget"], pool_word=pool_word, lower=lower)

    check_search_fits(partial(check, n) for n in sizes)


def _check_sizes(data: str | ImageStack, sizes: Sequence[int]) -> list[int]:
    """``sizes`` as ints; :class:`ConfigError` unless the images of ``data`` (a
    :func:`~xbarmem.data.sources.sized_source`) resize to every N of ``sizes`` (drawn
    patterns: any N)."""
    sizes = check_type(listed(sizes, "sizes"), list, "sizes", "a list of neuron counts N")
    sizes = [check_neurons(s, "every size N") for s in sizes]
    if not sizes:
        raise ConfigError("sizes must name at least one N")
    check_each_once(sizes, "sizes")
    if isinstance(data, str) and is_drawn(data):
        return sizes
    for s in sizes:
        try:
            image_side(data, s)
        except PatternError as exc:
            raise ConfigError(f"sizes: {exc}") from None
    return sizes


def _pool_text(source: str | ImageStack) -> str:
    """What a scaling run's patterns are, for its settings."""
    if isinstance(source, ImageStack):
        return (f"{data_words(source)}: {source.count} images of {source.side}x{source.side} "
                "resized to side sqrt(N)")  # (its .npz array said when one was named)
    if is_drawn(source):
        return f"{source} patterns of N neurons drawn from the seed"
    return f"bundled {'MNIST' if source == 'mnist' else source} resized to side sqrt(N)"


def _checkpoint(path: str | Path, settings: dict, source: str | ImageStack, chip: ChipSpec
                ) -> SearchCheckpoint:
    """A scaling run's checkpoint: its key is the run's ``settings`` but those that only decide
    which counts are tested, a file's images by their contents, and the trainer options with
    their defaults on ``chip`` (``trainer``: a default changed since is another key)."""
    trainer = keyed_options(settings["rule"],
                            seeded_options(settings["rule"], settings["rule_options"],
                                           settings["seed"]),
                            2 if settings["arch"] == "multilayer" else 1, settings["kind"],
                            chip.device.levels)
    return SearchCheckpoint(path, {
        **{k: v for k, v in settings.items()
           if k not in ("thresholds", "data_description", "resolution")},
        "trainer": trainer,
        **({"images": source.fingerprint} if isinstance(source, ImageStack) else {})})


def _hidden_rules(arch: str, hidden: Any) -> tuple[HiddenRule, ...] | None:
    """The hidden layers' rules (:func:`hidden_layers`; ``"fixed:32"`` when not given), None
    for ``arch="single"``; ``hidden`` given with it (it would be ignored) raises
    :class:`ConfigError`."""
    if arch == "single":
        if hidden is not None:
            raise ConfigError(f"hidden applies to arch='multilayer' only, got "
                              f"hidden={shown(hidden)} with arch='single'")
        return None
    return hidden_layers("fixed:32" if hidden is None else hidden)


def _fit(sizes: Sequence[int], capacities: Sequence[int],
         bounds: Sequence[int] = ()) -> dict[str, Any] | None:
    """The power-law fit over the sizes whose capacity is > 0 (None with fewer than two),
    with ``lower_bounds``: those of ``bounds`` (sizes whose capacity is only a lower bound,
    the whole pool) that it takes in, and ``left_out``: the sizes of capacity 0 it leaves
    out (log 0 is no number)."""
    good = [(n, c) for n, c in zip(sizes, capacities, strict=True) if c > 0]
    if len({n for n, _ in good}) < 2:
        return None
    return {**fit_power_law(*zip(*good, strict=True)).as_dict(),
            "lower_bounds": [n for n, _ in good if n in bounds],
            "left_out": [n for n, c in zip(sizes, capacities, strict=True) if not c > 0]}


def _fits(sizes: Sequence[int], capacity: dict[float, list[int]],
          runs: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Each threshold's :func:`_fit` of its ``capacity`` at ``sizes``, with the sizes whose
    run (of ``runs``) lists it as a lower bound."""
    return {str(t): _fit(sizes, c, [r["n_neurons"] for r in runs if str(t) in r["lower_bound"]])
            for t, c in capacity.items()}


def _tested(n: int, progress: Callable[[int, int, float], None] | None,
            kept: SearchCheckpoint | None) -> Callable[[int, float], None] | None:
    """The search's callback at size ``n``: the checkpoint saved, then ``progress``."""
    then = None if progress is None else (lambda p, s: progress(n, p, s))
    return then if kept is None else kept.saving(then)


def _default_protocol(kind: str, seed: int) -> Protocol:
    """The recall protocol of a scaling run of ``kind`` patterns when none is given: 5% flips
    (binary) or Gaussian noise of std 0.6 with tanh recall (continuous), 5 cues per pattern,
    cues drawn from the run's ``seed`` (as the ``scaling`` command draws them)."""
    return (Protocol(level=SEARCH_FLIPS, probes=5, seed=seed) if kind == "binary"
            else Protocol(corruption="gaussian", level=DEFAULT_LEVELS["gaussian"], probes=5,
                          activation="tanh", seed=seed))


def _run_at(n: int, kept: SearchCheckpoint | None,
            progress: Callable[[int, int, float], None] | None, options: dict) -> dict:
    """The capacity search of :func:`run_scaling` at size ``n`` (``options``: its settings)."""
    pool = patterns_for(options.pop("data"), n, kind=options.pop("kind"),
                        n_patterns=options.pop("pool_size"), seed=options["seed"])
    res = find_capacity(pool, **options, progress=_tested(n, progress, kept),
                        measured=None if kept is None else kept.measured(f"N={n}"))
    return {**res.as_dict(), "lower_bound": res.lower_bound, "n_neurons": n,
            "hidden": options["hidden"]}


@checked_keywords
def run_scaling(sizes: Sequence[int], *, arch: str = "multilayer", kind: str = "binary",
                hidden: HiddenLayers | None = None, rule: str = "adaptive",
                chip: str | ChipSpec = "paper-sim", thresholds: Sequence[float] = (0.99,),
                protocol: Protocol | None = None, trials: int = 1, seed: int = 0,
                pool_size: int | None = None, resolution: float = 0.05,
                rule_options: dict[str, Any] | None = None, cue_budget: int = SCALING_CUE_BUDGET,
                progress: Callable[[int, int, float], None] | None = None,
                data: str | os.PathLike | ImageStack = "mnist",
                checkpoint: str | Path | None = None,
                keep_checkpoint: bool = False, key: str | None = None) -> ScalingResult:
    """Capacity at every N of ``sizes`` and the exponent per threshold, on ``data``
    (:func:`~xbarmem.data.sources.sized_source`): a built-in image set (``mnist``, ``mnist-crop24``
    -- the authors' crop, N <= 576 --, ``digits``, ``glyphs``) or a file of 8-bit grayscale square
    images (``key``: the array of an .npz; read once; recorded by name, in a checkpoint's key by
    contents) resized to side sqrt(N), the first ``pool_size`` images (default all) as ``kind``
    patterns; or ``pool_size`` patterns of N neurons drawn from ``seed`` (``random``,
    ``correlated-R``; default :data:`~xbarmem.data.sources.DRAWN_POOL`). ``hidden`` (default 32,
    refused with ``arch="single"``): the hidden widths as ``--hidden`` writes them (``"1n"``: N,
    ``"1n-0.5n"``: two layers), a list (``["1n", 16]``) or :class:`HiddenRule` objects. At each N,
    :func:`find_capacity` runs with ``rule`` (a name; an object: ``ArgumentError``), ``chip``,
    ``thresholds``, ``trials``, ``seed``, ``resolution``, ``rule_options`` and ``cue_budget``, under
    ``protocol`` (default: 5% flips for binary patterns, continuous: Gaussian, ``tanh``; cues drawn
    from ``seed``). A ``cue_budget`` > 0 given with a rule but adaptive: :class:`ConfigError` (not
    its default); memories or training too large at any N: ``TooLargeError`` before any search.

    Returns a :class:`ScalingResult` (a dict ``{"sizes", "capacity", "fits", "fit_notes",
    "runs", "settings"}`` that prints one short line). ``progress(N, P, similarity)`` is called
    after every tested count. ``checkpoint``: a JSON file that keeps every tested count as it is
    measured (:class:`~xbarmem.evaluation.checkpoint.SearchCheckpoint`): a run killed and started
    again with the same settings and file reuses them (same capacities) and trains only the rest;
    the file is removed when the run completes (``keep_checkpoint``: left for the caller to remove
    once it has saved the result), and the result then holds ``"resumed"``, the counts reused."""
    arch, rule, kind = check_choice(arch, ARCHS, "arch"), rule_by_name(rule), check_kind(kind)
    seed, progress = check_seed(seed), check_callback(progress, "progress")
    check_flag(keep_checkpoint, "keep_checkpoint")
    thresholds, resolution = check_search(thresholds, trials=trials, resolution=resolution,
                                          rule=rule, cue_budget=cue_budget,
                                          rule_options=rule_options, protocol=protocol)
    rules_h, chip = _hidden_rules(arch, hidden), load_chip(chip)  # (rules_h None: arch single)
    source, sizes, pool_size = _source(data, kind, sizes, pool_size, key, (trials, rules_h, chip))
    protocol = as_protocol(protocol, _default_protocol(kind, seed), kind=kind)
    settings = {"arch": arch, "kind": kind, **data_fields(source),
                "hidden_rule": rules_h and layers_text(rules_h),
                "rule": rule, "chip": chip.to_dict(), "thresholds": list(thresholds),
                "protocol": protocol.as_dict(), "trials": trials, "seed": seed,
                "data_description": _pool_text(source), "pool": pool_size, "resolution": resolution,
                "rule_options": rule_options or {}, "cue_budget": applied_budget(cue_budget, rule)}
    check_fits(sizes, rules_h, settings)
    kept = None if checkpoint is None else _checkpoint(checkpoint, settings, source, chip)
    with kept or contextlib.nullcontext(), cue_warnings_once():  # (kept: then others may use it)
        runs = [_run_at(n, kept, progress, dict(data=source, kind=kind, pool_size=pool_size,
            arch=arch, rule=rule, chip=chip, hidden=rules_h and layers_width(rules_h, n), seed=seed,
            thresholds=thresholds, protocol=protocol, trials=trials, resolution=resolution,
            rule_options=rule_options, cue_budget=cue_budget)) for n in sizes]
    capacity = {t: [r["capacity"][str(t)] for r in runs] for t in thresholds}
    if kept is not None and not keep_checkpoint:
        kept.remove()
    return ScalingResult(sizes, {str(t): c for t, c in capacity.items()},
                         _fits(sizes, capacity, runs), runs, settings,
                         resumed=None if kept is None else kept.resumed)
