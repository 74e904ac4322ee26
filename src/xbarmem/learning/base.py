"""The learning contract: every rule maps a :class:`Problem` to a :class:`FitResult`.

A problem is ``T`` networks to train at once: their stored patterns ``(T, P, N)`` in [-1, 1]
(``counts`` real rows each, the rest padding), the kind of pattern, and the chip each network
is programmed on, seen through the realisable interval of every weight of every layer's
``[W | b]`` (:meth:`xbarmem.memory.base.Memory.bounds`), the chip's noise in weight units, the
weight range ``w_max`` of every layer and whether the one-layer network has self-connections.
Weights and biases are in weight units throughout.

A rule (:class:`Rule`) has a ``name``, says whether its memories need bias rows (``bias``),
reports its options (``options(layers)``) and fits: ``fit(problem) -> FitResult``. Errors are
:class:`~xbarmem.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from xbarmem.checks import (
    as_real_array,
    brief,
    cannot_call,
    check_callback,
    check_choice,
    check_flag,
    check_tensor,
    check_type,
    checked_keywords,
    counted,
    is_bool,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.patterns import validate_patterns
from xbarmem.errors import ArgumentError, ConfigError, PatternError, warn
from xbarmem.hardware.crossbar import tie_tolerance
from xbarmem.hardware.levels import WeightGrid
from xbarmem.jsontext import plain
from xbarmem.names import KINDS, RULE_NAMES, own_name_problem


@checked_keywords
@value_equality
@dataclass(frozen=True)
class Problem:
    """``T`` networks to train (see the module docstring).

    Raises :class:`~xbarmem.errors.PatternError` for stored patterns whose real rows are not
    finite, lie outside [-1, 1] or (``kind="binary"``) are not all +-1
    (:func:`check_stored_values`), :class:`ConfigError` for other fields of the wrong form.

    Attributes:
        patterns: ``(T, P, N)`` float32 stored patterns.
        bounds: per layer ``(lo, hi)``, each ``(T, n_out, n_in + bias)`` float32 (``-inf`` /
            ``inf`` where unconstrained); the first layer's ``n_in`` and the last layer's
            ``n_out`` are ``N``.
        kind: ``"binary"`` (sign recall) or ``"continuous"``.
        counts: ``(T,)`` real patterns of each network, or None (all ``P`` rows are real).
        noise: ``(write error std, read-noise std per unit input norm)``, weight units.
        zero_diagonal: the one-layer network has no self-connections (a rule keeps every
            ``W[t, i, i]`` at 0, or nearest 0 within its bounds: a diagonal is programmed as
            returned).
        w_max: per layer, the weight range of each network's crossbar (a full-window pair),
            ``w_max[k][t]``; None = 1.
        bias: the layers have bias rows (the bounds' last column is the bias).
        grids: per layer, the weights programming can give each network's ``[W | b]`` on a
            chip with conductance levels (:class:`~xbarmem.hardware.levels.WeightGrid`,
            stacked over the networks), or None when no network's chip has levels.
    """

    patterns: torch.Tensor
    bounds: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    kind: str = "binary"
    counts: torch.Tensor | None = None
    noise: tuple[float, float] = (0.0, 0.0)
    zero_diagonal: bool = False
    w_max: tuple[tuple[float, ...], ...] | None = None
    bias: bool = True
    grids: tuple[WeightGrid, ...] | None = None

    def __post_init__(self) -> None:
        x = check_type(self.patterns, torch.Tensor, "patterns",
                       "a (T, P, N) tensor (Problem.of reads arrays and (P, N))")
        if x.ndim != 3 or x.shape[1] == 0:
            raise ConfigError(f"patterns must be a (T, P, N) tensor with P >= 1 (Problem.of "
                              f"takes (P, N) too), got {tuple(x.shape)}")
        object.__setattr__(self, "kind", check_choice(self.kind, KINDS, "kind"))
        check_stored_values(x, self.kind, self.counts)
        if not self.bounds:
            raise ConfigError("a problem needs the bounds of at least one layer")
        for k, pair in enumerate(check_type(self.bounds, (list, tuple), "bounds",
                                            "a tuple of (lo, hi) tensor pairs")):
            if not (isinstance(pair, list | tuple) and len(pair) == 2
                    and all(isinstance(b, torch.Tensor) for b in pair)):
                raise ConfigError(f"bounds[{k}] must be a pair (lo, hi) of tensors (Problem.of "
                                  f"reads arrays), got {shown(pair)}")
        if self.grids is not None and not (
                isinstance(self.grids, tuple) and len(self.grids) == len(self.bounds)
                and all(isinstance(g, WeightGrid) for g in self.grids)):
            raise ConfigError(f"grids must be None or a tuple of one WeightGrid per layer "
                              f"({len(self.bounds)}), got {shown(self.grids)}")

    def __repr__(self) -> str:
        """The problem's sizes and settings, never its tensors (the attributes hold them):
        ``Problem(networks=2, patterns=shape (2, 10, 64), sizes=[64, 64], kind='binary', ...)``."""
        counts = "None" if self.counts is None else brief(self.counts)
        return (f"Problem(networks={self.networks}, patterns={brief(self.patterns)}, "
                f"sizes={self.sizes}, kind={self.kind!r}, counts={counts}, "
                f"noise={tuple(self.noise)}, zero_diagonal={self.zero_diagonal}, "
                f"bias={self.bias}, levels={self.grids is not None})")

    @property
    def networks(self) -> int:
        """``T``, the number of networks."""
        return self.patterns.shape[0]

    @property
    def layers(self) -> int:
        """Number of layers (of ``bounds``)."""
        return len(self.bounds)

    @property
    def sizes(self) -> list[int]:
        """The layer widths ``[N, ..., N]`` the bounds describe."""
        return [int(self.patterns.shape[-1]), *(int(lo.shape[-2]) for lo, _ in self.bounds)]

    @classmethod
    def of(cls, patterns: Any, bounds: Sequence[tuple[Any, Any]] | None = None, *,
           sizes: Sequence[int] | None = None, bias: bool = True, kind: str = "binary",
           counts: Any = None, noise: tuple[float, float] = (0.0, 0.0),
           zero_diagonal: bool | None = None,
           w_max: Sequence[Sequence[float]] | None = None) -> Problem:
        """A problem from plain tensors: ``patterns`` ``(P, N)`` (one network, or shared by
        every network the bounds describe) or ``(T, P, N)``; ``bounds`` per layer ``(lo, hi)``,
        each ``(n_out, n_in + bias)`` (shared) or ``(T, n_out, n_in + bias)``; without bounds
        every weight of layers ``sizes`` (default ``[N, N]``) is unconstrained.
        ``zero_diagonal`` defaults to True for one layer. ``bias``, ``kind``, ``counts``,
        ``noise`` and ``w_max`` (``w_max[k][t]``: layer ``k``, network ``t``) are the
        attributes of the same names."""
        x = tensor_of(as_real_array(patterns, "patterns", error=PatternError, dtype=None),
                      dtype=torch.float32)
        _check_of(x, bounds, sizes, bias, zero_diagonal, w_max)
        if bounds is None:
            n = x.shape[-1]
            widths = list(sizes or [n, n])
            bounds = [(torch.full((o, i + int(bias)), -float("inf"), dtype=torch.float32),
                       torch.full((o, i + int(bias)), float("inf"), dtype=torch.float32))
                      for i, o in zip(widths[:-1], widths[1:], strict=True)]
        pairs = [(torch.as_tensor(lo, dtype=torch.float32),
                  torch.as_tensor(hi, dtype=torch.float32)) for lo, hi in bounds]
        if x.ndim == 2:  # one pattern set shared by every network the bounds describe
            lead = pairs[0][0] if pairs else None
            x = x[None].expand(lead.shape[0] if lead is not None and lead.ndim == 3 else 1, -1, -1)
        t = x.shape[0] if x.ndim == 3 else 1
        pairs = [(lo.expand(t, -1, -1), hi.expand(t, -1, -1)) if lo.ndim == 2 else (lo, hi)
                 for lo, hi in pairs]
        counts = _counts(counts, t, x.shape[-2])
        return cls(x, tuple(pairs), kind, counts, noise,
                   len(pairs) == 1 if zero_diagonal is None else zero_diagonal,
                   None if w_max is None else tuple(tuple(float(v) for v in k) for k in w_max),
                   bias)

    @classmethod
    def for_memories(cls, patterns: Any, memories: Sequence[Any], *, kind: str = "binary",
                     counts: Any = None) -> Problem:
        """The problem of training ``memories`` (:class:`~xbarmem.memory.base.Memory`, one
        architecture and bias setting) on ``patterns`` ``(T, P, N)`` (one set per memory) or
        ``(P, N)`` (shared); noise from the first memory's chip; ``kind`` and ``counts`` as
        in :meth:`of`. The problem's patterns are its own copy (a rule may change them in
        place: the caller's patterns, and the cues drawn from them, stay as they were)."""
        x = tensor_of(as_real_array(patterns, "patterns", error=PatternError, dtype=None),
                      dtype=torch.float32)
        if x.ndim == 2:
            x = x.expand(len(memories), -1, -1)
        x = x.clone(memory_format=torch.contiguous_format)
        if x.ndim != 3 or x.shape[0] != len(memories) or not memories:
            raise ConfigError(f"need one pattern set per memory: got patterns "
                              f"{tuple(x.shape)} for {len(memories)} memories")
        first = memories[0]
        _check_alike(memories)
        if first.n_neurons != x.shape[2]:
            raise ConfigError(f"patterns have N={x.shape[2]} neurons but the memory has "
                              f"{first.n_neurons}")
        per_memory = [m.bounds() for m in memories]
        bounds = tuple((torch.stack([b[k][0] for b in per_memory]),
                        torch.stack([b[k][1] for b in per_memory]))
                       for k in range(len(first.layers)))
        w_max = tuple(tuple(m.layers[k].w_max for m in memories)
                      for k in range(len(first.layers)))
        counts = _counts(counts, x.shape[0], x.shape[1])
        return cls(x, bounds, kind, counts, first.noise(), first.zero_diagonal, w_max,
                   first.has_bias, _grids(memories, bounds))


def _check_alike(memories: Sequence[Any]) -> None:
    """Refuse (:class:`ConfigError`) memories of more than one architecture or bias setting,
    naming the first memory that differs from ``memories[0]`` and both their layer widths
    (``memories[0] is 16-8-16, memories[2] 16-4-16``) or bias rows."""
    first = memories[0]
    for k, m in enumerate(memories):
        if m.sizes != first.sizes:
            raise ConfigError(f"all memories must share one architecture: memories[0] is "
                              f"{_widths(first)}, memories[{k}] {_widths(m)}")
        if m.has_bias != first.has_bias:
            raise ConfigError(f"all memories must share one bias setting: memories[0] has "
                              f"{_bias(first)}, memories[{k}] {_bias(m)}")


def _widths(memory: Any) -> str:
    """A memory's layer widths as a label (``16-8-16``; ``16 (one layer)``)."""
    return "-".join(map(str, memory.sizes)) + (" (one layer)" if len(memory.sizes) == 2
                                               else "")


def _bias(memory: Any) -> str:
    return "a bias row" if memory.has_bias else "no bias row"


def check_stored_values(patterns: torch.Tensor, kind: str, counts: Any) -> None:
    """Refuse (:class:`PatternError`, the one-line messages of
    :func:`~xbarmem.data.patterns.validate_patterns`) stored patterns ``(T, P, N)`` whose real
    rows (those before ``counts[t]``; padding is not read) are not finite, lie outside
    [-1, 1] or, for ``kind="binary"``, are not all +-1 (a {0, 1} matrix is named as such).
    Row indices in a message count the real rows of all networks in turn."""
    mask = valid_mask(counts, patterns.shape[0], patterns.shape[1]).bool()
    validate_patterns(patterns.detach().cpu()[mask], kind)


def _grids(memories: Sequence[Any], bounds: tuple[tuple[torch.Tensor, torch.Tensor], ...]
           ) -> tuple[WeightGrid, ...] | None:
    """Per layer, the stacked weight grids of ``memories`` (:attr:`Problem.grids`), None
    when no memory's chip has levels."""
    per_layer = [[m.layers[k].weight_grid() for m in memories] for k in range(len(bounds))]
    if all(g is None for layer in per_layer for g in layer):
        return None
    return tuple(WeightGrid.stack(layer, pair) for layer, pair in zip(per_layer, bounds,
                                                                      strict=True))


def _check_of(x: torch.Tensor, bounds: Any, sizes: Any, bias: Any, zero_diagonal: Any,
              w_max: Any) -> None:
    """Refuse what :meth:`Problem.of` cannot read, naming the argument: patterns that are not
    ``(P, N)`` or ``(T, P, N)``, ``bounds`` / ``sizes`` / ``w_max`` that are not None or a list,
    flags that are not True or False."""
    if x.ndim not in (2, 3):
        raise PatternError(f"patterns must be (P, N) or (T, P, N), got shape {tuple(x.shape)}")
    for name, value in (("bounds", bounds), ("sizes", sizes), ("w_max", w_max)):
        if value is not None:
            check_type(value, (list, tuple), name, "a list (or None)")
    for k, pair in enumerate(bounds or []):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ConfigError(f"bounds[{k}] must be a pair (lo, hi) of arrays, got {shown(pair)}")
        lo, hi = (as_real_array(b, f"bounds[{k}]") for b in pair)
        if lo.shape != hi.shape or lo.ndim not in (2, 3):
            raise ConfigError(f"bounds[{k}] must be (lo, hi) of one shape (n_out, n_in + bias) "
                              f"or (T, n_out, n_in + bias), got {lo.shape} and {hi.shape}")
    for k, layer in enumerate(w_max or []):
        values = as_real_array(layer, f"w_max[{k}]")
        if values.ndim != 1 or not np.isfinite(values).all() or (values < 0).any():
            raise ConfigError(f"w_max[{k}] must be a list of finite numbers >= 0 (one per "
                              f"network), got {shown(layer)}")
    check_flag(bias, "bias")
    if zero_diagonal is not None:
        check_flag(zero_diagonal, "zero_diagonal")


def _counts(counts: Any, t: int, p: int) -> torch.Tensor | None:
    """``counts`` (real patterns per set, ``t`` sets of ``p`` rows) as int64 ``(t,)``;
    :class:`ConfigError` unless ``t`` whole numbers in ``1 .. p`` (:func:`valid_mask`)."""
    if counts is None:
        return None
    c = as_real_array(counts, "counts").reshape(-1)
    if not (np.isfinite(c).all() and (c == np.round(c)).all()):
        raise ConfigError(f"counts must be whole numbers (real patterns per set), "
                          f"got {shown(counts)}")
    out = torch.as_tensor(c.astype(np.int64))
    valid_mask(out, t, p)
    return out


@checked_keywords
@value_equality
@dataclass
class FitResult:
    """Outcome of fitting ``T`` networks. ``TrainResult`` (``xbarmem.TrainResult``) is this
    class under the name of earlier versions, kept as an alias: ``FitResult`` is its name.

    Attributes:
        weights: per layer ``(T, n_out, n_in)`` float32 trained weights, weight units.
        biases: per layer ``(T, n_out)`` float32 trained biases (zeros for a rule with a bias
            option switched off), or None for a rule that learns no bias at all.
        steps: ``(T,)`` int64 optimiser steps (0 for closed-form rules).
        loss: ``(T,)`` float32 final loss (NaN for closed-form rules).
        converged: ``(T,)`` bool, the rule's convergence criterion was met.
        fixed_points: ``(T,)`` bool, every stored binary pattern is a fixed point of the
            trained weights' sign dynamics, every field of its sign (a field 0 up to float32
            rounding, :func:`~xbarmem.hardware.crossbar.tie_tolerance`, keeps a state but
            does not store it: ``W = 0`` stores nothing); None where the rule does not say.
        through_levels: the rule trained through the chip's conductance levels (its objective
            saw the weights rounded to :attr:`Problem.grids`, as programming rounds them);
            False (the default) for rules that compute or train the weights as if the
            conductances were continuous, programming rounding them afterwards.
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor] | None
    steps: torch.Tensor
    loss: torch.Tensor
    converged: torch.Tensor
    fixed_points: torch.Tensor | None = None
    through_levels: bool = False

    def __repr__(self) -> str:
        """The weights' shapes and, over the ``T`` networks, steps, loss and how many converged
        (the attributes hold every value); ``through_levels=True`` when so."""
        fields = {"weights": self.weights, "biases": self.biases, "steps": self.steps,
                  "loss": self.loss, "converged": self.converged,
                  "fixed_points": self.fixed_points}
        return result_repr("FitResult", fields | ({"through_levels": True}
                                                  if self.through_levels is True else {}))


def fit_arguments(problem: Any, progress: Any) -> Problem:
    """The arguments of every rule's ``fit``, checked before any work: ``problem`` a
    :class:`Problem` and ``progress`` a function or None, else
    :class:`~xbarmem.errors.ArgumentError` (``rule.fit(memory, patterns)`` in the manner of
    scikit-learn is told how to build a problem, or to train the memory directly)."""
    check_type(problem, Problem, "problem",
               "a Problem (Problem.of(patterns, ...) or Problem.for_memories(patterns, "
               "memories)); to train a memory, use xbarmem.train(patterns, ...) or "
               "fit_memories(rule, patterns, memories)")
    check_callback(progress, "progress")
    return problem


@runtime_checkable
class Rule(Protocol):
    """A learning rule: ``name``, ``bias`` (its memories need bias rows), ``options(layers,
    kind)`` (JSON-able options as they apply to memories of ``layers`` layers storing ``kind``
    patterns) and
    ``fit(problem, progress=None) -> FitResult`` (an iterative rule calls ``progress(step,
    loss)`` as it trains; :func:`xbarmem.learning.fit.fit_memories` passes ``progress`` only
    when it is given).

    To write your own, implement these four members on any class (no need to inherit from
    this one; its ``name`` one line of text and no built-in rule's, :func:`check_rule`);
    ``fit`` reads a :class:`Problem` (``help(xbarmem.Problem)``: patterns, each
    weight's realisable interval, ``w_max``, noise, chip levels) and returns a
    :class:`FitResult` of weights in weight units. docs/extending.md has the contract in full
    and what is refused; ``examples/03_custom_rule.py`` is one."""

    name: str
    bias: bool

    def options(self, layers: int = 1, kind: str = "binary") -> dict[str, Any]:
        """JSON-able options as they apply to memories of ``layers`` layers storing ``kind``
        patterns."""
        ...

    def fit(self, problem: Problem, progress=None) -> FitResult:
        """Train the ``problem``'s networks; an iterative rule calls ``progress(step, loss)``."""
        ...


#: what a rule object needs (the :class:`Rule` protocol), as error messages name it
RULE_CONTRACT = ("name (str), bias (bool), options(layers, kind) -> dict and "
                 "fit(problem, progress=None) -> FitResult")


def is_rule_object(rule: Any) -> bool:
    """Whether ``rule`` is given as an object (anything with a ``fit``, or a class) rather
    than by name; :func:`check_rule` then says whether it meets the contract."""
    return not isinstance(rule, str) and (isinstance(rule, type) or hasattr(rule, "fit"))


def check_rule(rule: Any, what: str = "rule") -> Rule:
    """``rule`` if it meets the :class:`Rule` contract (:data:`RULE_CONTRACT`), else
    :class:`~xbarmem.errors.ArgumentError` naming ``what`` and every member it lacks (a class
    is told to give an instance; a blank ``name`` is lacked), :class:`ConfigError` for a name
    that is not one line of text or is a built-in rule's (``hebb``, ``Adaptive``: records,
    model files, figures and ``adapt`` would take the rule for it) unless the object is that
    built-in rule (:func:`~xbarmem.names.own_name_problem`). The one check of a rule object
    for every entry point that takes one (``fit_memories``, ``train``, ``compare_rules``,
    ``recall_curve``, ``find_capacity``, chip-in-the-loop adaptation)."""
    if isinstance(rule, str):
        raise ArgumentError(f"{what} must be a Rule object here (get_rule({rule!r}) gives "
                            f"one), got the name {shown(rule)}")
    if isinstance(rule, type):
        raise ArgumentError(f"{what} must be a rule object, got the class {rule.__name__}: "
                            f"give an instance ({rule.__name__}(...))")
    lacks = [member for member, ok in (
        ("name (str)", isinstance(getattr(rule, "name", None), str)
         and bool(getattr(rule, "name", "").strip())),
        ("bias (bool)", is_bool(getattr(rule, "bias", None))),
        ("options(layers, kind)", callable(getattr(rule, "options", None))),
        ("fit(problem, progress=None)", callable(getattr(rule, "fit", None))))
        if not ok]
    if lacks:
        raise ArgumentError(f"{what} must be a rule name or a Rule ({RULE_CONTRACT}); "
                            f"{type(rule).__name__} lacks {', '.join(lacks)}")
    problem = None if _built_in(rule) else own_name_problem(rule.name, RULE_NAMES, "rule")
    if problem is not None:
        raise ConfigError(f"{what} {type(rule).__name__}: {problem}")
    check_callable_as(rule.options, (1, "binary"), "options(layers, kind)", what, rule)
    check_callable_as(rule.fit, (None,), "fit(problem, progress=None)", what, rule)
    return rule


def _built_in(rule: Any) -> bool:
    """Whether ``rule`` is one of xbarmem's own rules (a :func:`~xbarmem.learning.classic.
    get_rule` object, of a class of xbarmem's), whose name is its own; a subclass of one's
    own (``class Mine(Hebb)``, whatever it changes) is not."""
    return str(type(rule).__module__).startswith("xbarmem.")


def check_callable_as(method: Any, args: tuple[Any, ...], call: str, what: str, rule: Any,
                      **keywords: Any) -> None:
    """:class:`~xbarmem.errors.ArgumentError` naming ``what`` (a rule object) when its
    ``method`` cannot be called with ``args`` and ``keywords``, as the contract calls it
    (``call``, e.g. ``options(layers, kind)``): a signature Python cannot read is let
    through (:func:`~xbarmem.checks.cannot_call`)."""
    why = cannot_call(method, *args, **keywords)
    if why is not None:
        raise ArgumentError(f"{what} {type(rule).__name__}: its {method.__name__} cannot be "
                            f"called as {call} ({why}); a Rule has {RULE_CONTRACT}")


def check_fit_result(result: Any, problem: Problem, name: str) -> FitResult:
    """``result`` of rule ``name``'s ``fit(problem)`` if it is what the contract promises, else
    :class:`~xbarmem.errors.ConfigError` naming the rule and the first thing wrong: a
    :class:`FitResult` with per layer ``weights`` ``(T, n_out, n_in)`` and ``biases`` ``(T,
    n_out)`` (or None; None or zeros when the problem has no bias rows: they would be
    dropped) of finite numbers, and ``steps`` (integers >= 0), ``loss`` (floating point),
    ``converged`` (bool) and ``fixed_points`` (bool, or None) of shape ``(T,)``, and
    ``through_levels`` True or False."""
    where = f"rule {name!r}: fit(problem) must return"
    if not isinstance(result, FitResult):
        raise ConfigError(f"{where} a FitResult, got {type(result).__name__}")
    t = problem.networks
    shapes: list[tuple[int, ...]] = [(t, int(lo.shape[-2]), int(lo.shape[-1]) - int(problem.bias))
              for lo, _ in problem.bounds]
    fields: list[tuple[str, Any, list[tuple[int, ...]]]] = [("weights", result.weights, shapes)]
    read: dict[str, Any] = {}  # each field as read (sparse or quantized tensors: dense)
    if result.biases is not None:
        fields.append(("biases", result.biases, [s[:2] for s in shapes]))
    for field, tensors, want in fields:
        if not isinstance(tensors, list | tuple) or len(tensors) != len(want):
            raise ConfigError(f"{where} {field} as a list of {counted(len(want), 'tensor')}, "
                              f"one per "
                              f"layer, got {shown(tensors)}")
        read[field] = [_check_field(value, shape, f"{where} {field}[{k}] of shape {shape}")
                       for k, (value, shape) in enumerate(zip(tensors, want, strict=True))]
    if not problem.bias and result.biases is not None and any(
            bool(b.any()) for b in read["biases"]):
        raise ConfigError(f"{where} biases None or zeros (its memories have no bias row: "
                          f"problem.bias is False), got non-zero biases")
    for field, kind in SUMMARY_FIELDS.items():
        value = getattr(result, field)
        if value is not None or field != "fixed_points":
            need = f"{where} {field} of shape ({t},)"
            read[field] = _check_field(value, (t,), need, finite=False)
            _check_summary(read[field], kind, need)
    if not is_bool(result.through_levels):
        raise ConfigError(f"{where} through_levels True or False, got "
                          f"{shown(result.through_levels)}")
    changed = {k: v for k, v in read.items() if _replaced(getattr(result, k), v)}
    return replace(result, **changed) if changed else result


def _replaced(given: Any, read: Any) -> bool:
    """Whether a field as read (a tensor or a list of them) is not the one given."""
    if isinstance(read, list):
        return any(a is not b for a, b in zip(given, read, strict=True))
    return given is not read


#: the per-network summaries of a :class:`FitResult` and the values each holds
SUMMARY_FIELDS = {"steps": "whole numbers >= 0", "loss": "floating-point numbers",
                  "converged": "bool", "fixed_points": "bool"}


def _check_summary(value: torch.Tensor, kind: str, need: str) -> None:
    """:class:`ConfigError` ``need (kind), got ...`` unless ``value`` holds ``kind`` (a
    :data:`SUMMARY_FIELDS` value): bool tensors for flags, a floating-point loss (NaN where
    there is none), an integer tensor of steps >= 0."""
    ok = {"bool": value.dtype == torch.bool,
          "floating-point numbers": value.is_floating_point(),
          "whole numbers >= 0": not value.is_floating_point() and not value.is_complex()
          and value.dtype != torch.bool}[kind]
    if not ok:
        raise ConfigError(f"{need} ({kind}), got a {value.dtype} tensor")
    if kind.endswith(">= 0") and bool((value < 0).any()):
        raise ConfigError(f"{need} ({kind}), got {shown(value.tolist())}")


def checked_options(rule: Rule, layers: int, kind: str) -> dict[str, Any]:
    """``rule.options(layers, kind)`` as plain JSON values (:func:`xbarmem.jsontext.plain`:
    arrays and tensors as lists, NaN as None) if it is what the contract promises -- a dict of
    JSON data: it is stored in ``memory.info["rule_options"]`` and so in model files, and a
    memory's ``info`` then equals its loaded copy's -- else :class:`ConfigError` naming the
    rule. Every caller that records a rule's options reads them here, before training."""
    options = rule.options(layers, kind)
    need = f"rule {rule.name!r}: options(layers, kind) must return a dict of JSON data"
    if not isinstance(options, dict):
        raise ConfigError(f"{need}, got {type(options).__name__}")
    try:
        return plain(options)
    except TypeError as exc:
        raise ConfigError(f"{need}: {exc}") from None


def recorded_options(rule: Any, options: dict[str, Any] | None, layers: int,
                     kind: str) -> dict[str, Any]:
    """The rule options a result records of ``rule``, the one rule of every evaluation
    (:func:`~xbarmem.evaluation.capacity.find_capacity`, ``recall_curve``, ``compare_rules``):
    the ``options`` given with a rule name (as given; ``{}`` for None), or a rule object's own,
    :func:`checked_options` for memories of ``layers`` layers and ``kind`` patterns (which it
    trains with; its options are set on it)."""
    if is_rule_object(rule):
        return checked_options(rule, layers, kind)
    return dict(options or {})


def _check_field(value: Any, shape: tuple[int, ...], need: str,
                 finite: bool = True) -> torch.Tensor:
    """``value`` as read (:func:`~xbarmem.checks.check_tensor`: a sparse or quantized tensor as
    its dense values), or :class:`ConfigError` ``need, got ...`` unless it is a tensor of
    ``shape`` (of numbers finite in float32, as they are programmed, when ``finite``: float64
    values beyond float32's range are refused, not programmed as infinite)."""
    if not isinstance(value, torch.Tensor):
        raise ConfigError(f"{need} (a torch tensor), got {type(value).__name__}")
    if value.device.type != "cpu":
        raise ConfigError(f"{need} (a CPU tensor), got a tensor on {value.device}")
    if finite and (value.dtype == torch.bool or value.is_complex()):
        raise ConfigError(f"{need} (real numbers), got a {value.dtype} tensor")
    if not value.is_complex():  # (a complex summary is named by _check_summary)
        value = check_tensor(value, need)
    if tuple(value.shape) != shape:
        raise ConfigError(f"{need}, got {tuple(value.shape)}")
    if finite and not bool(torch.isfinite(value).all()):
        raise ConfigError(f"{need} of finite numbers, got NaN or infinite values")
    if finite and not bool(torch.isfinite(value.to(torch.float32)).all()):
        raise ConfigError(f"{need} of finite float32 numbers (it is programmed as float32), "
                          f"got {value.dtype} values up to {float(value.abs().max()):.4g}")
    return value


def valid_mask(counts: torch.Tensor | None, t: int, p: int) -> torch.Tensor:
    """``(T, P)`` float mask of real (not padding) patterns; ConfigError for bad counts."""
    if counts is None:
        return torch.ones(t, p, dtype=torch.float32)
    counts = torch.as_tensor(counts, dtype=torch.int64).reshape(-1)
    if counts.shape != (t,) or (counts < 1).any() or (counts > p).any():
        raise ConfigError(f"counts must be {t} integer{'s' if t != 1 else ''} in 1..{p} (one per "
                          f"memory), got {shown(counts.tolist())}")
    return (torch.arange(p)[None, :] < counts[:, None]).float()


def stored_fixed_points(weights: list[torch.Tensor], biases: list[torch.Tensor],
                        patterns: torch.Tensor, counts: torch.Tensor | None) -> torch.Tensor:
    """``(T,)`` bool: every real stored binary pattern ``x`` is a fixed point of
    ``sign(f(x))``, ``f`` the layers (``tanh`` between them) of per-layer weights
    ``(T, n_out, n_in)`` and biases ``(T, n_out)``: each field of ``x``'s sign beyond the
    last layer's :func:`~xbarmem.hardware.crossbar.tie_tolerance` (0 up to rounding is no
    sign)."""
    x = patterns
    h = x
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = torch.bmm(h, w.transpose(1, 2)) + b[:, None, :]
        if k < len(weights) - 1:
            h = torch.tanh(h)
    ties = tie_tolerance(torch.cat([weights[-1], biases[-1][:, :, None]], dim=2))
    ok = ((h * x) > ties[:, None, :]).all(dim=2) | (
        valid_mask(counts, x.shape[0], x.shape[1]) == 0)
    return ok.all(dim=1)


def boxed(lo: torch.Tensor, hi: torch.Tensor, c: torch.Tensor | float
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The intervals ``[lo, hi]`` narrowed to ``[-c, c]`` (``c`` broadcast against them). An
    interval that does not meet the box collapses to its end nearest to it; pinned weights
    (``lo == hi``) keep their value."""
    c = torch.as_tensor(c, dtype=lo.dtype)
    new_lo = torch.minimum(torch.maximum(lo, -c), hi)
    return new_lo, torch.maximum(torch.minimum(hi, c), new_lo)


def box_size(problem: Problem, layer: int, bound: float) -> torch.Tensor:
    """``(T, 1, 1)``: ``bound * w_max`` of ``layer`` per network (``w_max`` 1 when unknown)."""
    t = problem.bounds[layer][0].shape[0]
    scale = (torch.ones(t, dtype=torch.float32) if problem.w_max is None
             else torch.as_tensor(problem.w_max[layer], dtype=problem.bounds[layer][0].dtype))
    return (bound * scale)[:, None, None]


def within_box(problem: Problem, bound: float) -> Problem:
    """``problem`` with every layer's intervals narrowed to ``[-bound * w_max, bound * w_max]``
    (``w_max``: the layer's full-window weight per network, 1 when unknown) by :func:`boxed`.
    On a chip with conductance levels (:attr:`Problem.grids`) each interval is narrowed to
    the levels within that box (:meth:`~xbarmem.hardware.levels.WeightGrid.levels_within`),
    so that programming, which rounds a weight to its nearest level, keeps it inside; an
    interval with no level in the box is boxed as on a continuous chip (its weight goes to
    the level nearest the box, as a pinned weight keeps its value)."""
    layers = []
    for k, (lo, hi) in enumerate(problem.bounds):
        c = box_size(problem, k, bound)
        new_lo, new_hi = boxed(lo, hi, c)
        if problem.grids is not None:
            bottom, top = problem.grids[k].levels_within(c)
            on_lo, on_hi = torch.maximum(lo, bottom), torch.minimum(hi, top)
            some = on_lo <= on_hi  # a level of the interval lies in the box
            new_lo, new_hi = torch.where(some, on_lo, new_lo), torch.where(some, on_hi, new_hi)
        layers.append((new_lo, new_hi))
    _warn_if_nothing_moves(problem.bounds, layers, bound)
    return replace(problem, bounds=tuple(layers))


def _warn_if_nothing_moves(before: Sequence[tuple[torch.Tensor, torch.Tensor]],
                           after: Sequence[tuple[torch.Tensor, torch.Tensor]],
                           bound: float) -> None:
    """Warn when ``weight_bound`` leaves no trainable weight any room (every interval that
    was wider than a point before the bound is one point after it: on a chip with levels, a
    bound below the first level beside 0), so the memory would store nothing."""
    free = [hi > lo for lo, hi in before]
    if not any(bool(f.any()) for f in free):
        return
    if any(bool((f & (hi > lo)).any()) for f, (lo, hi) in zip(free, after, strict=True)):
        return
    warn(f"weight_bound={bound:g} leaves the trainable weights no conductance level but one "
         "(a bound below the chip's first level beside 0): every one keeps a single value "
         "and the memory stores nothing; raise weight_bound or leave it unset",
         stacklevel=4)
