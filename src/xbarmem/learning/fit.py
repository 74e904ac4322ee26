"""Learning on the chip: one entry point for every rule and every memory.

:func:`fit_memories` trains ``T`` memories at once (one :class:`~xbarmem.learning.base.Problem`,
batched for the hardware-adaptive rule) and programs the result into each memory;
:func:`train` is the one-call convenience that builds the memory too. Classic rules learn
ideal weights and meet the chip only when programmed; the hardware-adaptive rule learns inside
the realisable intervals of each memory's devices.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import numpy as np
import torch

from xbarmem.checks import (
    DEFAULT_HIDDEN,
    ArrayLike,
    canonical,
    check_callback,
    check_type,
    checked_keywords,
    is_choice,
    listed,
    shown,
    tensor_of,
    unknown_argument,
)
from xbarmem.data.patterns import PatternSet, as_pattern_set
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap, paired_chip
from xbarmem.learning.base import (
    FitResult,
    Problem,
    Rule,
    check_callable_as,
    check_fit_result,
    check_rule,
    checked_options,
    is_rule_object,
)
from xbarmem.learning.classic import as_rule, rule_option_names
from xbarmem.memory.base import Memory
from xbarmem.memory.build import make_memory
from xbarmem.memory.multilayer import HiddenWidths, MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory
from xbarmem.names import ARCHS, RULE_NAMES
from xbarmem.seeds import offset_seed
from xbarmem.spec import check_seed


@checked_keywords
def fit_memories(rule, patterns: PatternSet | ArrayLike, memories: Sequence[Memory], *,
                 kind: str | None = None, program_seed: int = 0,
                 counts: torch.Tensor | None = None,
                 progress: Callable[[int, float], None] | None = None,
                 program_offsets: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Train ``rule`` for each memory on its pattern set and program the weights.

    Args:
        rule: a :class:`~xbarmem.learning.base.Rule`: a built-in one (:func:`get_rule`) or
            any object meeting the contract (checked by
            :func:`~xbarmem.learning.base.check_rule`; what its ``fit`` returns by
            :func:`~xbarmem.learning.base.check_fit_result`, before anything is programmed).
        patterns: ``(T, P, N)`` one pattern set per memory, or ``(P, N)`` (or a
            :class:`~xbarmem.data.patterns.PatternSet`) shared by all; numpy, torch or nested
            lists. The real rows must be finite, in [-1, 1] and, for binary patterns, +-1
            (:class:`~xbarmem.errors.PatternError` otherwise, before any training).
        memories: ``T`` memories of one architecture and bias setting (each with its own
            chip faults).
        kind: ``"binary"`` or ``"continuous"``; None (default): a pattern set's own kind,
            else ``"binary"``.
        program_seed: seed of the programming (write) error; memory ``t`` uses
            ``program_seed + program_offsets[t]`` (wrapped to 32 bits:
            :func:`~xbarmem.seeds.offset_seed`).
        counts: ``(T,)`` real patterns per set when sets are padded to a common ``P``.
        progress: ``progress(step, loss)`` called while an iterative rule trains: optimiser
            steps so far (increasing) and the mean loss (float) of the networks still
            training; never called by closed-form rules. Does not change the result.
        program_offsets: ``T`` integers >= 0 (default ``0, 1, ..., T - 1``): memories that
            are to be programmed alike in another batch (trial ``k`` of every count of a
            recall curve) share an offset.

    Returns:
        One dict per memory: rule name, ``arch`` (multilayer memories), steps, final loss
        (None where the rule has none, as closed-form rules; so a saved and loaded memory's
        ``info`` equals the original's), converged, fixed_points (binary patterns, where the
        rule says), on a chip with conductance levels ``levels`` and ``through_levels``
        (whether the rule trained through them: :func:`levels_info`), train seconds (batch
        time / ``T``).
        Each memory's ``info`` also gets kind, program seed and the rule's options.
    """
    program_seed = _check_fit(rule, patterns, memories, program_seed, progress)
    if isinstance(patterns, PatternSet):
        kind = patterns.kind if kind is None else kind
        patterns = patterns.patterns
    kind = "binary" if kind is None else kind
    offsets = _checked_offsets(program_offsets, len(memories))
    problem = Problem.for_memories(patterns, memories, kind=kind, counts=counts)
    options = checked_options(rule, len(memories[0].layers), kind)
    start = time.perf_counter()
    result = rule.fit(problem) if progress is None else rule.fit(problem, progress=progress)
    result = check_fit_result(result, problem, rule.name)
    seconds = (time.perf_counter() - start) / len(memories)
    infos = []
    for t, m in enumerate(memories):
        m.program([w[t] for w in result.weights], _biases(result, m, t),
                  seed=offset_seed(program_seed, offsets[t]))
        info = _info(rule.name, m, result, t, seconds, kind)
        m.info = {**info, "kind": kind, "program_seed": program_seed, "rule_options": options}
        infos.append(info)
    return infos


def _check_fit(rule: Any, patterns: Any, memories: Any, program_seed: Any,
               progress: Any) -> int:
    """Refuse (:class:`~xbarmem.errors.ArgumentError` / :class:`ConfigError`) what
    :func:`fit_memories` could not use, before any training; returns ``program_seed`` as a
    Python ``int`` (a numpy integer's arithmetic overflowed in its dtype)."""
    check_rule(rule)
    if progress is not None:  # then fit is called with it
        check_callable_as(rule.fit, (None,), "fit(problem, progress=...), as progress is given",
                          "rule", rule, progress=progress)
    check_type(patterns, (PatternSet, torch.Tensor, np.ndarray, list, tuple), "patterns",
               "a PatternSet or a (T, P, N) or (P, N) array")
    check_type(memories, (list, tuple), "memories", "a list of memories")
    if not memories:
        raise ConfigError("memories must hold at least one memory")
    for m in memories:
        check_type(m, Memory, "memories", "a list of Memory objects")
    seed = check_seed(program_seed, "program_seed")
    check_callback(progress, "progress")
    return seed


def _checked_offsets(offsets: Any, count: int) -> list[int]:
    """``offsets`` as ``count`` seed offsets (None: ``0 .. count - 1``); :class:`ConfigError`
    for another length or an offset that is not a seed."""
    if offsets is None:
        return list(range(count))
    offsets = check_type(listed(offsets, "program_offsets"), list, "program_offsets",
                         "a list of integers >= 0")
    if len(offsets) != count:
        raise ConfigError(f"program_offsets must hold one offset per memory ({count}), got "
                          f"{len(offsets)}")
    return [check_seed(o, "program_offsets") for o in offsets]


def _biases(result: FitResult, memory: Memory, t: int) -> list[torch.Tensor] | None:
    """Network ``t``'s biases to program (None without a bias row or a bias-free rule)."""
    if result.biases is None or not memory.has_bias:
        return None
    return [b[t] for b in result.biases]


def _info(name: str, memory: Memory, result: FitResult, t: int, seconds: float,
          kind: str) -> dict[str, Any]:
    info: dict[str, Any] = {"rule": name}
    if len(memory.layers) > 1:
        info["arch"] = memory.layout
    loss = float(result.loss[t])
    info.update(steps=int(result.steps[t]), loss=loss if math.isfinite(loss) else None,
                converged=bool(result.converged[t]))
    if result.fixed_points is not None and kind == "binary":  # (of +-1 patterns' signs)
        info["fixed_points"] = bool(result.fixed_points[t])
    info.update(levels_info(memory, result.through_levels))
    info["train_seconds"] = seconds
    return info


def levels_info(memory: Memory, through: bool) -> dict[str, Any]:
    """What a memory's ``info`` records of its chip's conductance levels: on a chip with
    levels, ``levels`` (their number) and ``through_levels`` (the rule trained through them,
    ``through``, or programming rounded weights trained as for a continuous chip); nothing
    on a continuous chip."""
    levels = int(memory.chip.device.levels)
    return {"levels": levels, "through_levels": bool(through)} if levels >= 2 else {}


# what train returns, for type checkers: a one-layer memory by default, a multilayer one
# for arch="multilayer" (the function below is the one that runs)
@overload
def train(patterns: PatternSet | ArrayLike, *, chip: str | ChipSpec | None = ...,
          rule: str | Rule = ..., arch: Literal["single"] = ..., hidden: None = ...,
          faults: FaultMap | None = ..., fault_seed: int = ..., program_seed: int = ...,
          kind: str | None = ..., zero_one: bool = ...,
          progress: Callable[[int, float], None] | None = ...,
          **rule_options: Any) -> SingleLayerMemory: ...


@overload
def train(patterns: PatternSet | ArrayLike, *, chip: str | ChipSpec | None = ...,
          rule: str | Rule = ..., arch: Literal["multilayer"],
          hidden: HiddenWidths | None = ...,
          faults: FaultMap | None = ..., fault_seed: int = ..., program_seed: int = ...,
          kind: str | None = ..., zero_one: bool = ...,
          progress: Callable[[int, float], None] | None = ...,
          **rule_options: Any) -> MultilayerMemory: ...


@overload
def train(patterns: PatternSet | ArrayLike, *, chip: str | ChipSpec | None = ...,
          rule: str | Rule = ..., arch: str = ..., hidden: HiddenWidths | None = ...,
          faults: FaultMap | None = ..., fault_seed: int = ..., program_seed: int = ...,
          kind: str | None = ..., zero_one: bool = ...,
          progress: Callable[[int, float], None] | None = ...,
          **rule_options: Any) -> Memory: ...


@checked_keywords
def train(patterns, *, chip: str | ChipSpec | None = None, rule: str | Rule = "adaptive",
          arch: str = "single", hidden: HiddenWidths | None = None,
          faults: FaultMap | None = None, fault_seed: int = 0, program_seed: int = 0,
          kind: str | None = None, zero_one: bool = False,
          progress: Callable[[int, float], None] | None = None, **rule_options) -> Memory:
    """Build a memory on ``chip`` (``arch`` single or multilayer with ``hidden`` widths),
    train it with ``rule`` (a rule name, or a :class:`~xbarmem.learning.base.Rule` object:
    see ``docs/extending.md``) and program it.

    ``patterns``: a :class:`~xbarmem.data.patterns.PatternSet` (its kind is the default
    ``kind``) or a ``(P, N)`` matrix (numpy, torch or nested list; default kind ``"binary"``;
    ``zero_one=True`` maps a {0, 1} matrix to +-1), read by
    :func:`~xbarmem.data.patterns.as_pattern_set`. ``**rule_options``: the rule's options
    as keywords (e.g. ``max_steps``). ``faults``: the chip's fault map (default: drawn from
    ``chip`` with ``fault_seed``); ``chip`` (default None): the chip ``faults`` records
    (``meta["chip"]``: maps from ``FaultMap.generate``, ``chip import``, exports), else
    ``paper-sim``; ``program_seed`` seeds the programming (write) error.
    ``hidden`` (one width or a list, each an integer or a multiple of N as ``--hidden`` takes
    it: ``"1n"``, ``["1n", 8]``; ``memory.hidden_sizes`` and model files hold the integer
    widths) defaults to :data:`DEFAULT_HIDDEN` (32) with ``arch="multilayer"``, as
    ``find_capacity`` and ``xbarmem train --hidden`` take it, and is refused otherwise
    (:func:`hidden_for`). Returns the
    programmed memory (its crossbars in ``memory.layers``, conductances in siemens; how it
    was trained in ``memory.info``).

    Every argument is checked before any training: bad patterns raise
    :class:`~xbarmem.errors.PatternError`; a keyword that is neither an argument here nor an
    option of ``rule`` raises :class:`~xbarmem.errors.ArgumentError` (a ``TypeError``) naming
    the closest; ``faults`` that is not a :class:`FaultMap` an ``ArgumentError``; a bad rule,
    option, seed, ``arch`` or ``hidden`` :class:`~xbarmem.errors.ConfigError`; an unknown chip
    :class:`~xbarmem.errors.FileFormatError`.
    ``progress``: ``progress(step, loss)`` while training (see :func:`fit_memories`); one that
    is not callable raises ``ArgumentError``.

    >>> import xbarmem as xm
    >>> patterns = xm.random_patterns(3, 16, seed=0)
    >>> memory = xm.train(patterns, chip="ideal", rule="hebb")
    >>> memory.recall(patterns.patterns).states.shape
    torch.Size([3, 16])
    """
    arch, rule = canonical(arch, ARCHS), canonical(rule, RULE_NAMES)  # "Hebb" is "hebb"
    _check_train_keywords(rule, rule_options)
    check_callback(progress, "progress")
    fault_seed = check_seed(fault_seed, "fault_seed")
    program_seed = check_seed(program_seed, "program_seed")
    hidden = hidden_for(arch, hidden)
    pset = as_pattern_set(patterns, kind, zero_one=zero_one)
    kind = pset.kind
    x = tensor_of(pset.patterns)
    rule_obj = as_rule(rule, **rule_options)
    memory = make_memory(x.shape[1], arch=arch, hidden=hidden, chip=paired_chip(chip, faults),
                         faults=faults, bias=rule_obj.bias, fault_seed=fault_seed)
    fit_memories(rule_obj, x, [memory], kind=kind, program_seed=program_seed,
                 progress=progress)
    return memory


def hidden_for(arch: str, hidden: HiddenWidths | None) -> HiddenWidths | None:
    """The one rule of an ``arch``'s ``hidden`` (as given: widths are resolved for N by
    :func:`~xbarmem.checks.resolve_hidden`): None for ``"single"``, which has no hidden layer
    (``hidden`` given is :class:`ConfigError`); :data:`DEFAULT_HIDDEN` for a multilayer memory
    given None; else ``hidden``. ``arch`` is checked by its caller."""
    if is_choice(arch, ("single",)):
        if hidden is not None:
            raise ConfigError(f"hidden={shown(hidden)} applies to arch='multilayer' only")
        return None
    return DEFAULT_HIDDEN if hidden is None else hidden


def _check_train_keywords(rule: Any, options: dict[str, Any]) -> None:
    """Refuse a keyword of :func:`train` that is neither its own argument nor an option of
    ``rule`` (:class:`~xbarmem.errors.ArgumentError` naming the closest of both; a rule object
    has no options here: they are set on it)."""
    names = [] if is_rule_object(rule) else rule_option_names(rule)
    for key in options:
        if key not in names:
            own = [n for n in inspect.signature(train).parameters if n != "rule_options"]
            of = (f"an option of rule {shown(rule)}" if names or not is_rule_object(rule) else
                  "an option given here: a rule object's options are set on it")
            raise unknown_argument("train()", key, [*own[1:], *names],
                                   f" (neither a train() argument nor {of})")
