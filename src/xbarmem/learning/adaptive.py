"""Hardware-adaptive learning: gradient training with the chip in the loop.

The rule (:class:`AdaptiveTrainer`, a :class:`~xbarmem.learning.base.Rule`) sees the chip
through the realisable interval ``[lo, hi]`` of every weight: pinned weights (stuck pairs)
never move, every other weight is projected back into its interval after each optimiser step,
and the one-layer network's diagonal (no self-connection) is held at the realisable value
closest to 0. Optionally the chip's write and read noise are injected into every forward pass.
On a chip with conductance levels the objective sees the weights rounded to the values
programming can give them (``quantize``, :mod:`~xbarmem.learning.quantise`).
One-layer problems train ``f(x) = tanh(W x + b)`` (:mod:`xbarmem.learning.single_fit`),
multilayer problems the composed map (:mod:`xbarmem.learning.multilayer_fit`).

Two objectives:

* ``"fixed-point"`` -- He et al.'s rule: MSE between ``f(xi)`` and ``xi`` over the stored
  patterns, full batch; converged when the loss is below ``tol`` or, with ``stop="stable"``,
  when the solution stopped changing (checked every ``stable_window`` steps).
* ``"basin"`` (default) -- the fixed-point term plus recall from corrupted cues: each step draws
  ``cue_copies`` fresh cues per pattern with ``cue_flip`` bits flipped (or Gaussian noise of std
  ``cue_noise`` for continuous patterns), unrolls ``unroll`` synchronous tanh updates and
  penalises the error to the clean pattern after every update, later updates weighing more
  (``(k + 1) ** late_weight``). Converged when the smoothed loss stops improving (relative gain
  below ``rel_tol`` between two windows of ``window`` steps). For binary patterns a second stage
  (``finetune_steps``) then fine-tunes through the *sign* dynamics recall uses, with a
  straight-through gradient, ``finetune_unroll`` updates and a cosine-decayed learning rate.

Training is batched: ``T`` networks (fault maps, pattern sets) train as one tensor program;
each stops (leaves the batch) on its own convergence. Options left at ``None`` take the
defaults of :data:`DEFAULTS` for the problem's number of layers and objective, changed by the
named ``recipe`` (:data:`RECIPE_OPTIONS`) for its kind of pattern, resolved when fitting;
:meth:`AdaptiveTrainer.options` reports them resolved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from xbarmem.checks import MAX_SEED, check_choice
from xbarmem.errors import ConfigError
from xbarmem.learning.base import FitResult, Problem, fit_arguments, stored_fixed_points, within_box
from xbarmem.learning.linear_start import check_sizes
from xbarmem.learning.multilayer_fit import MultilayerFit
from xbarmem.learning.single_fit import SingleLayerFit
from xbarmem.limits import check_bytes
from xbarmem.names import PRODUCTS, RECIPES
from xbarmem.sizes import fit_bytes, fit_words
from xbarmem.spec import Spec, choice, flag, integer, number

OBJECTIVES = ("basin", "fixed-point")
OPTIMIZERS = ("adam", "rmsprop")
RECALL_LOSSES = ("mse", "logistic")
STOPS = ("stable", "loss")
INITS = ("random", "linear")

#: Values of the step and cue options every table below starts from.
_SCHEDULE: dict[str, Any] = {"max_steps": 3000, "cue_copies": 16, "unroll": 5,
                             "recall_loss": "mse", "finetune_steps": 1000,
                             "finetune_lr": 3e-3, "finetune_unroll": 10, "warm_start": False}

#: Defaults of the options left at ``None``, for one-layer memories (any objective) and for
#: multilayer memories per objective, before the recipe's changes (:data:`RECIPE_OPTIONS`).
DEFAULTS: dict[str, dict[str, Any]] = {
    "single": {"optimizer": "adam", "lr": 1e-2, "stable_tol": 0.08, **_SCHEDULE},
    "basin": {"optimizer": "adam", "lr": 1e-2, "init_scale": 1.0, "stable_tol": 0.08,
              **_SCHEDULE},
    "fixed-point": {"optimizer": "rmsprop", "lr": 1e-3, "init_scale": 3 ** -0.5,
                    "stable_tol": 0.01, **_SCHEDULE},
}

#: The default recipe for one-layer memories storing binary patterns: 100 steps of the
#: flip-averaged stage with the weights kept within +-0.25 w_max, then the basin stage on 6
#: cues per pattern, 4 unrolled updates and at most 500 steps, then a sign fine-tune of 200
#: steps of 8 updates at a higher rate than :data:`DEFAULTS`.
_SINGLE_BINARY: dict[str, Any] = {"flip_steps": 100, "flip_bound": 0.25, "cue_copies": 6,
                                  "unroll": 4, "max_steps": 500, "finetune_steps": 200,
                                  "finetune_unroll": 8, "finetune_lr": 7e-3}
#: The fast recipe for one-layer memories storing binary patterns: start from the closed-form
#: warm start, a short first stage of two unrolled updates with the logistic recall loss and a
#: high learning rate, then a short sign fine-tune of 5 updates.
_FAST_SINGLE: dict[str, Any] = {"warm_start": True, "unroll": 2, "recall_loss": "logistic",
                                "cue_copies": 8, "lr": 0.05, "max_steps": 100,
                                "finetune_unroll": 5, "finetune_steps": 100,
                                "finetune_lr": 0.01}
#: Multilayer memories storing binary patterns train with these options under both recipes: a
#: first stage of one unrolled update with the logistic recall loss, then a short sign
#: fine-tune of 3 updates.
_MULTILAYER_BINARY: dict[str, Any] = {"unroll": 1, "recall_loss": "logistic", "cue_copies": 8,
                                      "lr": 0.02, "max_steps": 300, "finetune_unroll": 3,
                                      "finetune_steps": 100, "finetune_lr": 0.015}

#: What each recipe changes in :data:`DEFAULTS`, keyed by ``(recipe, "single" or
#: "multilayer", pattern kind)``; it applies to the basin objective only, and a key that is
#: absent changes nothing (continuous patterns train with :data:`DEFAULTS`). Costs and recall
#: of the recipes side by side are in docs/performance.md, how they were chosen in
#: docs/performance-log.md.
RECIPE_OPTIONS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("default", "single", "binary"): _SINGLE_BINARY,
    ("fast", "single", "binary"): _FAST_SINGLE,
    ("default", "multilayer", "binary"): _MULTILAYER_BINARY,
    ("fast", "multilayer", "binary"): _MULTILAYER_BINARY,
}


def _from_schedule(name: str) -> str:
    """The help suffix of an option a recipe sets: its value in :data:`_SCHEDULE`."""
    return f" (default {_SCHEDULE[name]}; see recipe)"


def _from_recipe(name: str) -> str:
    """The help suffix of an option only the default one-layer binary recipe sets."""
    return f" (default recipe: {_SINGLE_BINARY[name]} for one-layer binary memories, else off)"


#: the largest learning rate taken (``lr``, ``finetune_lr``): Adam and RMSprop move each weight
#: by about ``lr`` per step, and weights live in about [-w_max, w_max] (w_max ~ 0.5), so a rate
#: far above 1 throws the weights about at every step
MAX_LR = 10.0
_MULTILAYER = {"layers": "multilayer"}  # field meta: applies to multilayer memories only
#: field meta of options added after stores were written: :meth:`AdaptiveTrainer.options`
#: lists them only when set, so trial keys (hashes of the options) of earlier stores still match
_WHEN_SET = {"listed": "when set"}
#: ``quantize``'s default is off for multilayer memories of continuous patterns on chips of
#: this many levels or more (measured: docs/chip-model.md, "Training for a chip's levels")
QUANTIZE_OFF_LEVELS = 8
#: the options of the flip-averaged stage (one-layer memories, binary patterns, basin objective)
_FLIP_OPTIONS = ("flip_steps", "flip_bound")


@dataclass(frozen=True)
class AdaptiveTrainer(Spec, noun="adaptive rule"):
    """The hardware-adaptive rule (see the module docstring); every field is a validated
    option. ``fit(problem)`` trains one-layer and multilayer problems alike."""

    objective: str = choice(OBJECTIVES, "basin", help="basin or fixed-point")
    lr: float | None = number(None, gt=0, le=MAX_LR, optional=True,
                              help=f"optimiser learning rate (at most {MAX_LR:g})")
    optimizer: str | None = choice(OPTIMIZERS, None, optional=True, help="adam or rmsprop")
    max_steps: int | None = integer(None, ge=1, optional=True,
                                    help="cap on optimiser steps"
                                    + _from_schedule("max_steps"))
    tol: float = number(1e-8, gt=0, help="fixed-point objective: stop when the loss is below")
    rel_tol: float = number(1e-2, gt=0, help="basin objective: stop when the smoothed loss "
                            "improves by less than this fraction between two windows")
    window: int = integer(100, ge=1, help="steps per smoothing window (basin criterion)")
    cue_flip: float = number(0.1, ge=0.0, le=0.5, help="flip rate of binary training cues")
    cue_noise: float = number(0.6, ge=0.0, help="Gaussian std of continuous training cues")
    cue_copies: int | None = integer(None, ge=1, optional=True,
                                     help="corrupted cues per pattern per step"
                                     + _from_schedule("cue_copies"))
    unroll: int | None = integer(None, ge=1, optional=True,
                                 help="synchronous updates unrolled from each cue"
                                 + _from_schedule("unroll"))
    late_weight: float = number(2.0, help="update k weighs (k + 1) ** late_weight")
    finetune_steps: int | None = integer(None, ge=0, optional=True,
                                         help="steps of the straight-through sign fine-tune "
                                         "(binary, basin; 0 = off)"
                                         + _from_schedule("finetune_steps"))
    finetune_lr: float | None = number(None, gt=0, le=MAX_LR, optional=True,
                                       help="initial fine-tune learning rate (cosine-decayed "
                                       "to 0)" + _from_schedule("finetune_lr"))
    finetune_unroll: int | None = integer(None, ge=1, optional=True,
                                          help="sign updates unrolled in the fine-tune"
                                          + _from_schedule("finetune_unroll"))
    finetune_temperature: float = number(
        1.0, gt=0, help="the fine-tune's backward pass treats sign(h) as tau * tanh(h / tau)")
    recall_loss: str | None = choice(RECALL_LOSSES, None, optional=True,
                                     help="loss of the unrolled recall terms for binary "
                                     "patterns: mse, or logistic softplus(-2 x h)"
                                     + _from_schedule("recall_loss"))
    warm_start: bool | None = flag(None, optional=True, help="one-layer: start from the "
                                   "per-row minimum-norm solution of W x + b = kappa x over "
                                   "the free weights, clipped" + _from_schedule("warm_start"))
    warm_start_field: float = number(0.0, help="kappa of the warm start (0 = automatic)")
    flip_steps: int | None = integer(None, ge=0, optional=True, meta=_WHEN_SET,
                                     help="one-layer, binary, basin: steps of the "
                                     "flip-averaged stage before the basin stage (the one-step "
                                     "recall loss over all cues with cue_flip flips, in closed "
                                     "form; 0 = off)" + _from_recipe("flip_steps"))
    flip_bound: float | None = number(None, ge=0, optional=True, meta=_WHEN_SET,
                                      help="with flip_steps: keep the flip-averaged stage's "
                                      "weights within +-flip_bound * w_max (0 = no box: the "
                                      "chip's own bounds; the stages after it use those)"
                                      + _from_recipe("flip_bound"))
    noise_injection: bool = flag(False, help="inject the chip's write and read noise")
    variation: float = number(0.0, ge=0.0, le=1.0, meta=_WHEN_SET,
                              help="train under programming variation: Gaussian noise of "
                              "std variation * max|W| on W in every forward pass (max|W| per "
                              "network and layer, held constant in the gradient)")
    weight_bound: float | None = number(None, gt=0, optional=True, meta=_WHEN_SET,
                                        help="keep the trained weights within "
                                        "+-weight_bound * w_max (the chip's full-window "
                                        "weight) as well as the chip's own bounds (on a chip "
                                        "with levels, the levels within it)")
    quantize: bool | None = flag(None, optional=True, meta=_WHEN_SET,
                                 help="on chips with conductance levels (device.levels >= 2): "
                                 "train through them, the objective seeing the weights "
                                 "rounded as programming rounds them (straight-through; off "
                                 "= train as on a continuous chip); no effect on continuous "
                                 "chips (default: on, except for multilayer memories of "
                                 f"continuous patterns on chips of {QUANTIZE_OFF_LEVELS} "
                                 "levels or more)")
    bias: bool = flag(True, help="learn a bias (memories need bias rows)")
    seed: int = integer(0, ge=0, le=MAX_SEED,
                        help="seed of initial weights, cue draws and noise injection")
    stop: str = choice(STOPS, "stable", help="fixed-point objective: stable (loss below tol "
                       "or the solution stopped changing) or loss (loss below tol only)")
    stable_tol: float | None = number(None, gt=0, optional=True, help="stable: largest "
                                      "change between two checks")
    stable_window: int = integer(50, ge=1, help="stable: optimiser steps between checks")
    bucket: bool = flag(True, help="one-layer: train networks of similar pattern counts "
                        "in groups (less padding)")
    init_scale: float | None = number(None, ge=0, optional=True, meta=_MULTILAYER,
                                      help="std of initial weights times sqrt(fan_in)")
    lr_fan_in: int = integer(64, ge=0, meta=_MULTILAYER, help="a layer with more inputs "
                             "takes steps scaled by lr_fan_in / fan_in (0 = off)")
    init: str = choice(INITS, "random", meta=_WHEN_SET,
                       help="multilayer, continuous, basin: initial weights: random (normal "
                       "draw of std init_scale / sqrt(fan_in)) or linear (the closed-form "
                       "linear denoiser C (C + cue_noise^2 I)^-1 of the patterns' covariance "
                       "C, first layer 0.5 I; one hidden layer of at least N units)")

    products: str = choice(PRODUCTS, "float32", meta=_WHEN_SET,
                           help="precision of the training's matrix products: float32, or "
                           "bf16 (oneDNN rounds their operands to bfloat16; faster at large N "
                           "only on CPUs with bfloat16 instructions, and the trained weights "
                           "differ in their last digits; recall is always computed in float32)")
    recipe: str = choice(RECIPES, "default", meta=_WHEN_SET,
                         help="named set of defaults for the options left unset: default, "
                         "or fast (binary patterns, basin objective: fewer, cheaper steps; lower "
                         "recall on chips with many stuck devices)")

    name: ClassVar[str] = "adaptive"

    def __repr__(self) -> str:
        """``AdaptiveTrainer(max_steps=300, finetune_steps=100)``: the options set to other
        than their defaults, as scikit-learn prints an estimator (``AdaptiveTrainer()``: all
        defaults; every option: :meth:`to_dict`), where all 35 options made 600 characters."""
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                   if f.repr and getattr(self, f.name) != f.default]
        return f"{type(self).__name__}({', '.join(changed)})"

    def validate(self) -> None:
        check_products(self.products)
        for name in _FLIP_OPTIONS:
            if getattr(self, name) and self.objective != "basin":
                raise ConfigError(f"{name} (the flip-averaged stage) exists only for the basin "
                                  "objective")
        if self.init == "linear" and self.objective != "basin":
            raise ConfigError("init linear (a denoiser of the basin objective's noisy cues) "
                              "exists only for the basin objective")

    def refuse_inapplicable(self, layers: int, kind: str | None = None,
                            sizes: Sequence[int] | None = None) -> None:
        """Raise :class:`ConfigError` for options that do not apply to memories of ``layers``
        layers storing ``kind`` patterns (None: any kind) and, when given, of layer widths
        ``sizes`` (``[N, H..., N]``): ``warm_start`` with several layers, ``flip_steps`` and
        ``flip_bound`` (set and not 0) with several layers or continuous patterns,
        ``init="linear"`` with one layer, binary patterns or widths other than ``N -> H -> N``
        with ``H >= N`` (:func:`~xbarmem.learning.linear_start.check_sizes`)."""
        if self.warm_start and layers > 1:
            raise ConfigError("warm_start (closed form) exists only for single-layer memories")
        if self.init == "linear" and (layers == 1 or kind not in (None, "continuous")):
            raise ConfigError("init linear exists only for multilayer memories storing "
                              "continuous patterns (one-layer memories: warm_start)")
        if self.init == "linear" and sizes is not None:
            check_sizes(sizes)
        for name in _FLIP_OPTIONS:
            if getattr(self, name) and (layers > 1 or kind not in (None, "binary")):
                raise ConfigError(f"{name} (the flip-averaged stage) exists only for "
                                  "single-layer memories storing binary patterns")

    def resolved(self, layers: int = 1, kind: str = "binary",
                 sizes: Sequence[int] | None = None) -> AdaptiveTrainer:
        """A copy with the options left at None set to the defaults (:data:`DEFAULTS`) for
        memories of ``layers`` layers storing ``kind`` patterns, changed by the recipe
        (:data:`RECIPE_OPTIONS`) where it applies; options given explicitly are kept. Raises
        :class:`ConfigError` for options that do not apply there, or to layer widths ``sizes``
        when given (:meth:`refuse_inapplicable`)."""
        self.refuse_inapplicable(layers, kind, sizes)
        table = dict(DEFAULTS["single"] if layers == 1 else DEFAULTS[self.objective])
        if self.objective == "basin":
            arch = "single" if layers == 1 else "multilayer"
            table.update(RECIPE_OPTIONS.get((self.recipe, arch, kind), {}))
        return self.replace(**{k: v for k, v in table.items() if getattr(self, k) is None})

    def options(self, layers: int = 1, kind: str = "binary") -> dict[str, Any]:
        """The options as they apply to memories of ``layers`` layers storing ``kind``
        patterns, resolved, in declaration order (multilayer-only options left out for one
        layer; options added in later versions only when set)."""
        values = self.resolved(layers, kind).to_dict()
        for info in self._infos():
            name = info.field.name
            if (layers == 1 and info.meta == _MULTILAYER) or (
                    info.meta == _WHEN_SET and values[name] == info.field.default):
                values.pop(name)
        return values

    def keyed_options(self, layers: int = 1, kind: str = "binary", levels: int = 0
                      ) -> dict[str, Any]:
        """:meth:`options` of memories of ``layers`` layers storing ``kind`` patterns as
        results are kept under them (a store's trial keys, a capacity search's checkpoint): on
        a chip of ``levels`` conductance levels (2 or more) with ``quantize`` listed as it
        applies (:func:`quantize_default` when not set), since the trained numbers there
        depend on it and trainers before it trained as on a continuous chip under the same
        options; elsewhere :meth:`options` (the keys of continuous chips' results stay as
        they were)."""
        values = self.options(layers, kind)
        if levels >= 2 and "quantize" not in values:
            values["quantize"] = quantize_default(layers, kind, levels)
        return values

    def option_names(self, layers: int = 1) -> set[str]:
        """The names of every option that applies to memories of ``layers`` layers (those
        :meth:`options` lists only when set included)."""
        return {info.field.name for info in self._infos()
                if not (layers == 1 and info.meta == _MULTILAYER)}

    def fit(self, problem: Problem, progress=None) -> FitResult:
        """Train the ``problem``'s ``T`` networks (see the module docstring). ``progress(step,
        loss)``, if given, is called as training goes (increasing optimiser steps over both
        stages, the mean loss of the networks still training, a float; see
        :class:`~xbarmem.learning.stages.StepReporter`); it does not change the result. Raises
        :class:`ConfigError` when the problem's bias rows do not match ``bias`` or an option
        does not apply to it (:meth:`resolved`)."""
        problem = fit_arguments(problem, progress)
        if problem.bias != self.bias:
            raise ConfigError(f"rule {'learns' if self.bias else 'has no'} bias but the "
                              f"memory has {'a' if problem.bias else 'no'} bias row")
        opts = self.resolved(problem.layers, problem.kind, problem.sizes)
        check_training_memory(opts, problem)
        if opts.quantize is None:
            opts = opts.replace(quantize=default_quantize(problem))
        if opts.weight_bound is not None:
            problem = within_box(problem, opts.weight_bound)
        with product_precision(opts.products):
            if problem.layers == 1:
                w, b, steps, loss, converged = SingleLayerFit(opts, progress).run(problem)
                weights, biases = [w], [b]
            else:
                weights, biases, steps, loss, converged = MultilayerFit.run(opts, problem,
                                                                            progress)
        # (continuous patterns: the rule does not say -- its convergence is the loss's)
        fixed = (stored_fixed_points(weights, biases, problem.patterns, problem.counts)
                 if problem.kind == "binary" else None)
        return FitResult(weights=weights, biases=biases, steps=steps, loss=loss,
                         converged=converged, fixed_points=fixed,
                         through_levels=problem.grids is not None and bool(opts.quantize))


def check_training_memory(opts: AdaptiveTrainer, problem: Problem) -> None:
    """Refuse, before the first step, training that the resolved options ``opts`` would make
    too large for the memory limit (:func:`~xbarmem.limits.check_bytes`, raising
    :class:`~xbarmem.limits.TooLargeError`, a ``ConfigError``): the basin objective follows
    ``cue_copies`` cues of each of the ``T x P`` patterns through ``unroll`` updates (binary
    patterns: through ``finetune_unroll`` in the fine-tune too), a one-layer ``warm_start``
    adds its Gram matrices; the fixed-point objective draws no cues. Estimated by
    :func:`xbarmem.sizes.fit_bytes`, as every check before a run sizes its training
    (:func:`xbarmem.evaluation.search_plan.check_search_fit`)."""
    t, p, _ = problem.patterns.shape
    _check_fit_bytes(opts, t, p, problem.sizes, problem.kind)


def check_fit_size(rule: Any, networks: int, n_patterns: int, sizes: Sequence[int],
                   kind: str) -> None:
    """Refuse, before any rule of a run trains, the training that
    :func:`check_training_memory` would refuse when ``rule`` comes to train ``networks``
    memories of layer widths ``sizes`` on ``n_patterns`` ``kind`` patterns: for the
    hardware-adaptive rule (its options resolved for those memories, a ``ConfigError`` for one
    that does not apply); any other rule draws no training cues, and nothing is checked."""
    if isinstance(rule, AdaptiveTrainer):
        opts = rule.resolved(len(sizes) - 1, kind, list(sizes))
        _check_fit_bytes(opts, networks, n_patterns, list(sizes), kind)


def _check_fit_bytes(opts: AdaptiveTrainer, networks: int, n_patterns: int, sizes: list[int],
                     kind: str) -> None:
    """:func:`~xbarmem.limits.check_bytes` of training ``networks`` networks of widths
    ``sizes`` on ``n_patterns`` ``kind`` patterns with the resolved options ``opts``."""
    options = opts.to_dict()
    check_bytes(fit_words(networks, n_patterns, sizes, options, kind),
                fit_bytes(networks, n_patterns, sizes, options, kind))


def default_quantize(problem: Problem) -> bool:
    """``quantize``'s default for ``problem``: :func:`quantize_default` of its layers, pattern
    kind and the most levels among its chips (:func:`grid_levels`)."""
    if problem.grids is None:
        return True
    return quantize_default(problem.layers, problem.kind, grid_levels(problem))


def unread_options(kind: str, levels: int) -> dict[str, str]:
    """The options of the hardware-adaptive rule that training memories of ``kind`` patterns
    on a chip of ``levels`` conductance levels never reads, each with why: their values train
    the same memories (a sweep's axis over one changes nothing). ``cue_flip`` for continuous
    patterns, ``cue_noise`` for binary ones (each kind's training cues are corrupted by the
    other), ``quantize`` on a chip without levels (``levels`` below 2)."""
    unread = {"cue_noise": "binary patterns train on bit-flipped cues (cue_flip), not "
                           "Gaussian noise"} if kind == "binary" else {
        "cue_flip": "continuous patterns train on cues of Gaussian noise (cue_noise), not "
                    "bit flips"}
    if levels < 2:
        unread["quantize"] = ("the chip has no conductance levels (device.levels < 2) to "
                              "train through")
    return unread


def quantize_default(layers: int, kind: str, levels: int) -> bool:
    """``quantize``'s default for memories of ``layers`` layers storing ``kind`` patterns on a
    chip of ``levels`` conductance levels: on, except for multilayer memories of continuous
    patterns on :data:`QUANTIZE_OFF_LEVELS` levels or more (there training through them
    lowered recall; with fewer levels it raised it)."""
    return layers == 1 or kind != "continuous" or levels < QUANTIZE_OFF_LEVELS


def grid_levels(problem: Problem) -> int:
    """The most conductance levels among the chips of ``problem``'s networks (0 without
    grids): from the first layer's grid, ``D = w_max / (levels - 1)`` (``device`` fault
    model) or ``relative = 1 / (levels - 1)`` (``weight``)."""
    if problem.grids is None:
        return 0
    grid = problem.grids[0]
    w_max = torch.tensor(problem.w_max[0] if problem.w_max is not None
                         else [1.0] * problem.networks, dtype=torch.float32)
    spans = torch.where(grid.relative > 0, 1.0 / grid.relative.clamp(min=1e-30),
                        torch.where(grid.step > 0, w_max / grid.step.clamp(min=1e-30), -1.0))
    return int(torch.round(spans).max()) + 1


def bf16_products_supported() -> bool:
    """Whether this torch build and CPU let oneDNN compute float32 products with bfloat16
    operands (``products="bf16"``)."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def check_products(products: str) -> str:
    """The canonical ``products`` precision (``"BF16"`` is ``"bf16"``); :class:`ConfigError`
    for one that is not one of :data:`~xbarmem.names.PRODUCTS` or that this machine cannot
    train with (``"bf16"`` without :func:`bf16_products_supported`)."""
    products = check_choice(products, PRODUCTS, "products")
    if products == "bf16" and not bf16_products_supported():
        raise ConfigError("products bf16 needs oneDNN with bfloat16 support, which this "
                          "torch build or CPU lacks (use products float32)")
    return products


@contextmanager
def product_precision(products: str) -> Iterator[None]:
    """Inside the block, float32 matrix products on the CPU take ``products`` precision:
    ``"float32"`` leaves torch's setting as it is; ``"bf16"`` sets oneDNN's float32 product
    precision (``torch.backends.mkldnn.matmul.fp32_precision``, a process-wide setting) to
    ``"bf16"`` and restores the previous value on leaving."""
    if products != "bf16":
        yield
        return
    # set up by torch at import, absent from its type hints
    setting = torch.backends.mkldnn.matmul  # type: ignore[attr-defined]
    before = setting.fp32_precision
    setting.fp32_precision = "bf16"
    try:
        yield
    finally:
        setting.fp32_precision = before


#: The outcome of a fit: an alias of :class:`~xbarmem.learning.base.FitResult` (the name of
#: earlier versions; ``TrainResult is FitResult``).
TrainResult = FitResult
