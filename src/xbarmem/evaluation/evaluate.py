"""Evaluation: corrupt stored patterns, recall them on the chip, measure.

:func:`make_cues` draws the corrupted cues of a protocol and :func:`score_recall` scores final
states; :func:`evaluate_memory` scores one programmed memory with them and
:func:`evaluate_many` many memories at once (one batched recall when recall is noise-free and
synchronous). :func:`compare_rules` trains every rule on the same chips (same fault maps,
mapping and noise) and scores them under one protocol, so that comparisons are fair. Chips are
independent draws: chip ``c`` uses fault map seed ``fault_seed + c``, programming seed
``program_seed + c`` and its own corrupted cues (``protocol.probes`` per stored pattern,
corruption seed ``protocol.seed + c``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from xbarmem.checks import (
    ArrayLike,
    ResultDict,
    as_written,
    canonical,
    check_callback,
    check_flag,
    check_type,
    checked_keywords,
    counted,
    listed,
    renamed_keywords,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.corruption import check_corruption, corrupt, corruption_name
from xbarmem.data.patterns import PatternSet, as_pattern_set
from xbarmem.data.sources import data_fields
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.evaluation.capped import note_capped, warns_capped
from xbarmem.evaluation.metrics import (
    cosine_rows,
    exact_recall,
    hamming_distance,
    mean_cosine,
    mean_value,
    recall_outcomes,
)
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import check_fit_size
from xbarmem.learning.base import Rule, check_rule, is_rule_object, recorded_options
from xbarmem.learning.classic import as_rule
from xbarmem.learning.fit import fit_memories
from xbarmem.limits import check_bytes
from xbarmem.memory.base import memory_patterns
from xbarmem.memory.build import check_memories
from xbarmem.memory.recall import (
    DEFAULT_TOL,
    RecallResult,
    check_recall,
    check_tol,
    recall_batch,
    stack_matrices,
)
from xbarmem.memory.single import SingleLayerMemory
from xbarmem.names import (
    BIT_CORRUPTIONS,
    DEFAULT_LEVELS,
    RULE_NAMES,
    corruption_key,
    default_cues,
    name_key,
    tol_entry,
)
from xbarmem.seeds import as_generator, offset_seed
from xbarmem.sizes import recall_bytes
from xbarmem.spec import Number, check_seed

__all__ = ["Protocol", "RuleComparison", "Score", "compare_rules", "evaluate_memory"]

#: what ``compare_rules`` compares: a rule name or Rule object, or a list of them
RuleList = str | Rule | Sequence[str | Rule]
_PROBES = Number(ge=1, integer=True)
_CHIPS = Number(ge=1, integer=True)


@checked_keywords
@dataclass
class Protocol:
    """How recall is tested.

    Attributes:
        corruption: ``flip``, ``gaussian``, ``occlude`` or ``salt-pepper``, or a custom
            corruption: a function ``f(x, level, generator)`` (:func:`~xbarmem.data.
            corruption.corrupt`; ``docs/extending.md``).
        level: flip/salt-pepper rate, Gaussian sigma, or occluded fraction (a custom
            corruption's: any number >= 0, passed to it). None (the default): the
            corruption's level when none is given, as the commands and sweeps take it
            (:data:`~xbarmem.names.DEFAULT_LEVELS`: 0.1 for ``flip`` and ``salt-pepper``,
            0.6 for ``gaussian`` and ``occlude``); a custom corruption has none, so a
            protocol of one without a level raises :class:`ConfigError`. A level not given
            follows the corruption in copies: ``dataclasses.replace(Protocol(),
            corruption="gaussian")`` has level 0.6, as ``Protocol(corruption="gaussian")``
            (the level is held as a float equal to the default that remembers it was not
            given); a level given is kept. The cues of binary
            patterns are the signs of the corrupted patterns (+-1, a 0 read as +1):
            Gaussian noise of sigma ``s`` flips a bit with probability ``Phi(-1/s)``.
        probes: corrupted cues per stored pattern (per chip).
        mode: ``sync`` or ``async`` recall.
        activation: ``sign`` (binary neurons) or ``tanh`` (analogue neurons; for binary
            patterns the final state is read out by comparators, i.e. its sign); None (the
            default): the neurons of the patterns' kind, ``sign`` for binary and ``tanh``
            for continuous ones, as the commands and sweeps take them.
        max_iterations: recall cap (sync steps / async sweeps).
        seed: seed of cue corruption and read noise.
        tol: ``tanh`` fixed-point tolerance on the largest state change in one step or sweep,
            a finite number >= 0 (:func:`~xbarmem.memory.recall.recall`'s ``tol``, same
            default :data:`~xbarmem.names.DEFAULT_TOL`); ``sign`` recall does not
            read it. Under read noise tanh states change by about the noise at every step,
            so a recall converges only with a ``tol`` at least that large.

    Construction checks every field: an unknown corruption or a level out of its range
    raises :class:`~xbarmem.errors.PatternError` (as :func:`corrupt`), any other bad value
    :class:`ConfigError`, an unknown keyword :class:`~xbarmem.errors.ArgumentError`.
    """

    corruption: str | Callable[[torch.Tensor, float, torch.Generator], torch.Tensor] = "flip"
    # None is resolved in __post_init__: the attribute is always a float (as type checkers read it)
    level: float = None  # type: ignore[assignment]
    probes: int = 1
    mode: str = "sync"
    activation: str | None = None
    max_iterations: int = 100
    seed: int = 0
    tol: float = DEFAULT_TOL

    def __post_init__(self) -> None:
        """Refuse a protocol that no recall could run, when it is made (before any training
        of the functions that take it): :class:`PatternError` for the corruption,
        :class:`ConfigError` for the rest, naming the field. Names are kept canonical
        (``corruption="Flip"``, ``mode="Sync"``: ``"flip"``, ``"sync"``)."""
        if self.level is None or isinstance(self.level, _DefaultLevel):  # (a copy's: re-read)
            self.level = _DefaultLevel(default_level(self.corruption))
        self.corruption = check_corruption(self.corruption, self.level)
        self.mode, activation = check_recall(self.mode, "sign" if self.activation is None
                                             else self.activation,
                                             self.max_iterations)
        self.activation = None if self.activation is None else activation
        # numpy scalars (np.arange, np.linspace) are kept as the Python numbers they hold (a
        # float32 or float16 one as the decimal written: as_written)
        if type(self.level) not in (int, float, _DefaultLevel):
            self.level = float(as_written(self.level))
        self.probes = _PROBES(self.probes, "probes")
        self.max_iterations = int(self.max_iterations)
        self.seed = check_seed(self.seed)
        self.tol = float(check_tol(self.tol))

    def __repr__(self) -> str:
        """Every field as the generated repr shows it, but a custom corruption by its name, as
        records and titles name it (``corruption=noisy_block``, without quotes: a function, not
        a built-in's name); the generated one showed its address (``<function noisy_block at
        0x7f...>``, another in every run) or a bound method's whole object."""
        shown = {name: repr(value) for name, value in vars(self).items()}
        if callable(self.corruption):
            shown["corruption"] = corruption_name(self.corruption)
        return f"Protocol({', '.join(f'{k}={v}' for k, v in shown.items())})"

    def as_dict(self) -> dict[str, Any]:
        """The protocol's fields as a plain JSON-able dict (``Protocol(**as_dict())`` gives it
        back; a custom corruption is recorded by its name, :func:`~xbarmem.data.corruption.
        corruption_name`, so that dict describes the protocol -- figures' titles name it --
        but cannot rebuild it: ``Protocol(**as_dict())`` raises a
        :class:`~xbarmem.errors.PatternError` asking for the function again). ``tol`` is
        recorded only when it is not the default (the records of protocols without one, in
        results and figures, keep their keys)."""
        out = dict(vars(self))
        out["level"] = float(out["level"]) if isinstance(out["level"], _DefaultLevel) else \
            out["level"]
        out.update(tol_entry(out.pop("tol")))
        if callable(out["corruption"]):
            out["corruption"] = corruption_name(out["corruption"])
        return out

    def reseeded(self, offset: int) -> Protocol:
        """This protocol with seed ``seed + offset`` (e.g. chip or trial ``offset``; wrapped to
        32 bits, :func:`~xbarmem.seeds.offset_seed`)."""
        if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
            raise ConfigError(f"offset must be an integer, got {shown(offset)}")
        return replace(self, seed=offset_seed(self.seed, offset))


class _DefaultLevel(float):
    """A :class:`Protocol`'s level that was not given: equal to the corruption's default, and
    marked so that a copy of the protocol (``dataclasses.replace``, :meth:`Protocol.reseeded`)
    takes its own corruption's default level, as a protocol made without a level does."""

    __slots__ = ()


def default_level(corruption: Any) -> float:
    """The level of a protocol of ``corruption`` given none: a built-in corruption's
    :data:`~xbarmem.names.DEFAULT_LEVELS` (an unknown name is refused by the protocol's
    corruption check after this); for a custom corruption, whose level only its author can
    choose, :class:`ConfigError` naming ``level`` (:class:`~xbarmem.errors.PatternError`
    first when the function cannot be called as ``f(x, level, generator)``)."""
    if callable(corruption):
        check_corruption(corruption, 0.0)  # a function that cannot be called so: named first
        raise ConfigError(f"level is required with corruption {corruption_name(corruption)} "
                          f"(Protocol(corruption=f, level=...)): a corruption function of "
                          f"your own has no default level")
    return DEFAULT_LEVELS.get(corruption_key(corruption) or "", 0.0)


def as_protocol(protocol: Protocol | None, default: Protocol | None = None, *,
                kind: str | None = None) -> Protocol:
    """The one reader of a ``protocol`` argument: ``protocol`` itself, or ``default``
    (``Protocol()`` unless given) for None; anything else raises
    :class:`~xbarmem.errors.ArgumentError` (a dict: build ``Protocol(**d)``). ``kind``: the
    kind of the patterns it will corrupt, when known: for None, continuous patterns take
    their kind's cues and neurons (:func:`~xbarmem.names.default_cues`: Gaussian noise, tanh)
    where the default flips bits, as the commands and sweeps do; a protocol that sets signs
    of continuous patterns raises :class:`ConfigError` (:func:`check_cue_kind`); a protocol
    without an ``activation`` gets the kind's neurons (kept None while the kind is unknown:
    the memory's own then, :meth:`Memory.recall`)."""
    if protocol is None:
        out = default if default is not None else Protocol()
        if kind is not None and kind != "binary" and out.corruption in BIT_CORRUPTIONS:
            corruption, level, activation = default_cues(kind)
            # (the kind's default level, as one not given: a copy with another corruption
            # takes that corruption's)
            out = replace(out, corruption=corruption, level=_DefaultLevel(level),
                          activation=activation)
    else:
        hint = " (build one with Protocol(**options))" if isinstance(protocol, dict) else ""
        out = check_type(protocol, Protocol, "protocol", f"a Protocol{hint}")
        if kind is not None:
            check_cue_kind(out, kind)
    if kind is not None and out.activation is None:
        out = replace(out, activation=default_cues(kind)[2])
    return out


def check_cue_kind(protocol: Protocol, kind: str) -> None:
    """:class:`ConfigError` when ``protocol`` sets signs (bit flips, salt-and-pepper) of
    patterns of a ``kind`` other than binary: a grey level flipped in sign is no corrupted
    cue of it (the commands and sweeps refuse the same)."""
    if kind != "binary" and protocol.corruption in BIT_CORRUPTIONS:
        raise ConfigError(f"corruption {protocol.corruption!r} applies to binary patterns "
                          f"only; these are {kind}: use 'gaussian' or 'occlude'")


@checked_keywords
@value_equality
@dataclass
class Score:
    """Recall quality of one memory (means over all cues).

    Attributes:
        cosine: mean cosine similarity of final state and clean pattern.
        exact: fraction of cues recalled exactly (every sign right; a pattern's 0 has no sign
            and is not counted: :func:`~xbarmem.evaluation.metrics.hamming_distance`).
        hamming: mean number of wrong signs per cue.
        converged: fraction of recalls that reached a fixed point.
        mean_iterations: mean sync steps / async sweeps.
        per_pattern_cosine: per stored pattern, its cues' mean cosine.
        outcomes: binary patterns: where the recalls ended, fractions by label of
            :data:`~xbarmem.evaluation.metrics.OUTCOMES`; None for continuous patterns and
            in the scores of :func:`evaluate_many` (which keep no states).
        states: the read-out final states ``(B, N)`` when kept, else None.
        cues: the cues ``(B, N)`` when kept, else None.
        cue_cosine: the cues' own mean cosine with their clean patterns
            (:meth:`Cues.similarity`): what a memory that returned every cue unchanged would
            score, the mark ``cosine`` is to be read against; None in the scores of
            :func:`evaluate_many`, as ``states``.
    """

    cosine: float
    exact: float
    hamming: float
    converged: float
    mean_iterations: float
    per_pattern_cosine: list[float] = field(default_factory=list)
    outcomes: dict[str, float] | None = None
    states: torch.Tensor | None = field(default=None, repr=False)
    cues: torch.Tensor | None = field(default=None, repr=False)
    cue_cosine: float | None = None

    def __repr__(self) -> str:
        """The means to 4 significant digits and the per-pattern cosines' range (``as_dict``
        holds every value as computed)."""
        fields = {name: getattr(self, name) for name in
                  ("cosine", "exact", "hamming", "converged", "mean_iterations")}
        if self.per_pattern_cosine:
            fields["per_pattern_cosine"] = self.per_pattern_cosine
        if self.cue_cosine is not None:
            fields["cue_cosine"] = self.cue_cosine
        return result_repr("Score", fields)

    def as_dict(self) -> dict[str, Any]:
        """The means and ``per_pattern_cosine`` as a plain dict; stored rows keep these keys,
        so ``outcomes``, ``states``, ``cues`` and ``cue_cosine`` are left out."""
        return {"cosine": self.cosine, "exact": self.exact, "hamming": self.hamming,
                "converged": self.converged, "mean_iterations": self.mean_iterations,
                "per_pattern_cosine": self.per_pattern_cosine}


@value_equality
@dataclass
class Cues:
    """The corrupted cues of one scoring run.

    Attributes:
        cues: ``(probes * P, N)`` float32 cues (binary patterns: binarised to +-1); row
            ``k * P + i`` is probe ``k`` of pattern ``i``.
        target: ``(probes * P, N)`` the clean pattern of each cue.
        probes: cues per pattern.
        binary: the patterns are binary (a ``tanh`` final state is read out by its sign).
        generator: the protocol's generator after drawing the cues (recall's read noise
            continues from it).
    """

    cues: torch.Tensor
    target: torch.Tensor
    probes: int
    binary: bool
    generator: torch.Generator

    def similarity(self) -> torch.Tensor:
        """Each cue's cosine with its clean pattern, float64 ``(probes * P,)``: what a memory
        that returned every cue unchanged would score (binary cues are +-1, so a cue with a
        share ``f`` of its bits flipped has ``1 - 2 f``). The one computation of the cues' own
        similarity (:attr:`Score.cue_cosine`, the capacity searches' warning)."""
        return cosine_rows(self.cues, self.target)


def check_cue_bytes(protocol: Protocol, n_patterns: int, n_neurons: int) -> None:
    """Refuse (:class:`~xbarmem.limits.TooLargeError`) ``protocol.probes`` cues of each of
    ``n_patterns`` patterns of ``n_neurons`` whose recall would need more memory than the
    limit: the command line's estimate (``cli.given.check_request``) for every caller of the
    API, before the cues are drawn (:func:`make_cues`) or, by :func:`compare_rules`, before
    any training."""
    check_bytes(f"{counted(protocol.probes, 'probe')} of {counted(n_patterns, 'pattern')} of N "
                f"= {n_neurons}",
                recall_bytes(protocol.probes * n_patterns, n_neurons))


def make_cues(patterns: PatternSet | ArrayLike, protocol: Protocol) -> Cues:
    """Corrupt each of the ``P`` patterns ``(P, N)`` ``protocol.probes`` times (seed
    ``protocol.seed``; occlusion uses the pattern set's image shape). A pattern set that
    is not binary refuses a corruption that sets signs (:func:`check_cue_kind`)."""
    shape = patterns.image_shape if isinstance(patterns, PatternSet) else None
    x = tensor_of(patterns.patterns if isinstance(patterns, PatternSet) else patterns,
                  dtype=torch.float32)
    check_cue_bytes(protocol, len(x), x.shape[-1])
    if isinstance(patterns, PatternSet):
        check_cue_kind(protocol, patterns.kind)
    gen = as_generator(protocol.seed)
    target = x.repeat(protocol.probes, 1)
    cues = corrupt(target, protocol.corruption, protocol.level, gen, image_shape=shape)
    binary = not isinstance(patterns, PatternSet) or patterns.kind == "binary"
    if binary:
        cues = torch.where(cues >= 0, 1.0, -1.0)
    return Cues(cues, target, protocol.probes, binary, gen)


def score_recall(cues: Cues, result: RecallResult, *, keep: bool = False) -> Score:
    """Score final states against the clean patterns (means over all cues; per-pattern cosine
    averaged over probes). ``keep`` stores the cues, the read-out states, where the recalls
    ended (``outcomes``) and the cues' own mean cosine (``cue_cosine``,
    :meth:`Cues.similarity`) in the score: the batched scores of a capacity search need
    none of them."""
    states = result.states
    if cues.binary and result.activation == "tanh":  # comparators read the final state
        states = torch.where(states >= 0, 1.0, -1.0)
    cos = cosine_rows(states, cues.target)  # (float64: means and thresholds)
    per_pattern = cos.reshape(cues.probes, -1).mean(dim=0)
    stored = cues.target[: len(per_pattern)]  # row k * P + i of the targets is pattern i
    outcomes = (recall_outcomes(states, cues.target, stored, result.converged)
                if keep and cues.binary else None)
    return Score(cosine=mean_cosine(cos),
                 exact=mean_value(exact_recall(states, cues.target)),
                 hamming=mean_value(hamming_distance(states, cues.target)),
                 converged=mean_value(result.converged),
                 mean_iterations=mean_value(result.iterations),
                 per_pattern_cosine=[round(float(v), 6) for v in per_pattern],
                 outcomes=outcomes, states=states if keep else None,
                 cues=cues.cues if keep else None,
                 cue_cosine=mean_cosine(cues.similarity()) if keep else None)


@checked_keywords
@warns_capped
def evaluate_memory(memory, patterns: PatternSet | ArrayLike,
                    protocol: Protocol | None = None) -> Score:
    """Corrupt each stored pattern ``protocol.probes`` times (:func:`make_cues`), recall
    through ``memory`` (read noise from the same generator), score against the clean
    pattern (:func:`score_recall`). The score keeps the cues and final states. ``patterns``:
    a :class:`PatternSet` of the memory's kind or a ``(P, N)`` matrix read as that kind
    (binary when the memory does not say; :func:`~xbarmem.memory.base.memory_patterns`: a
    set of another kind or a bad matrix raises ``PatternError``).
    ``memory``: anything with ``n_neurons`` and ``recall(cues, ...)`` (a :class:`Memory`, a
    :class:`~xbarmem.deploy.backend.BackendMemory`; ``tol`` is passed to its ``recall`` when
    the protocol sets one other than the default), else
    :class:`~xbarmem.errors.ArgumentError`. Warns (:class:`~xbarmem.errors.XbarmemWarning`,
    one line: how many, and what ``tol`` lets them settle) when tanh recalls through layers
    with read noise ran to ``protocol.max_iterations`` without converging
    (:func:`~xbarmem.evaluation.capped.warns_capped`: once per call of a function that
    scores many memories through it)."""
    if not (callable(getattr(memory, "recall", None)) and hasattr(memory, "n_neurons")):
        raise ArgumentError(f"memory must be a memory (from train or load_memory, or a "
                            f"BackendMemory), got {type(memory).__name__}")
    patterns = memory_patterns(memory, patterns)
    protocol = as_protocol(protocol, kind=patterns.kind)
    cues = make_cues(patterns, protocol)
    res = memory.recall(cues.cues, mode=protocol.mode, activation=protocol.activation,
                        max_iterations=protocol.max_iterations, seed=cues.generator,
                        **_tol_keyword(protocol))
    note_capped(memory, protocol.activation, protocol.max_iterations, protocol.tol,
                res.converged)
    return score_recall(cues, res, keep=True)


def _tol_keyword(protocol: Protocol) -> dict[str, float]:
    """``{"tol": protocol.tol}`` for a protocol that sets a ``tol`` other than the default,
    else ``{}``: a memory of one's own whose ``recall`` takes no ``tol`` is evaluated as
    before under every protocol that does not ask for one."""
    return tol_entry(protocol.tol)


#: Largest number of state entries (cues x (N + 1)) recalled in one batch by evaluate_many.
_EVAL_STATES = 2**22


@warns_capped
def evaluate_many(memories: list, patterns: list[PatternSet | torch.Tensor],
                  protocols: list[Protocol]) -> list[Score]:
    """:func:`evaluate_memory` of memory ``t`` on ``patterns[t]`` under ``protocols[t]``, for
    all ``t``; scores carry no cues or states.

    When every memory recalls through one noise-free crossbar (:func:`stack_matrices`) and the
    protocols share synchronous mode, activation, cap and tol, all cues (same cues as
    :func:`evaluate_memory`) run through :func:`recall_batch` in chunks of at most
    ``_EVAL_STATES / (N + 1)`` cues; otherwise each memory is evaluated on its own. Raises
    :class:`ConfigError` unless there is one pattern set and one protocol per memory, and
    ``PatternError`` for patterns a memory does not store (as :func:`evaluate_memory`).
    """
    if not (len(memories) == len(patterns) == len(protocols)):
        raise ConfigError(f"need one pattern set and one protocol per memory, got "
                          f"{len(memories)} memories, {len(patterns)} pattern sets and "
                          f"{len(protocols)} protocols")
    if not protocols:
        return []
    sets = [memory_patterns(m, x) for m, x in zip(memories, patterns, strict=True)]
    protocols = [as_protocol(p, kind=x.kind) for p, x in zip(protocols, sets, strict=True)]
    first = protocols[0]
    same = all(p.mode == "sync" and p.activation == first.activation
               and p.max_iterations == first.max_iterations and p.tol == first.tol
               for p in protocols)
    mats = stack_matrices(memories) if memories and same else None
    if mats is None:
        return [evaluate_memory(m, x, p) for m, x, p in zip(memories, sets, protocols,
                                                                 strict=True)]
    cues = [make_cues(x, p) for x, p in zip(sets, protocols, strict=True)]
    results = _recall_chunks(mats, [c.cues for c in cues], first.activation or "sign",
                             first.max_iterations, first.tol)  # (set by as_protocol for the kind)
    return [score_recall(c, r) for c, r in zip(cues, results, strict=True)]


def _recall_chunks(mats: torch.Tensor, cues: list[torch.Tensor], activation: str,
                   max_iterations: int, tol: float) -> list[RecallResult]:
    """:func:`recall_batch` of ``cues[t]`` through ``mats[t]``, in chunks of at most
    ``_EVAL_STATES // (N + 1)`` cues filled in memory order (a memory's cues are split only
    where a chunk is full). Returns one result per memory."""
    rows_per_chunk = max(1, _EVAL_STATES // (mats.shape[1] + 1))
    parts: list[list[RecallResult]] = [[] for _ in cues]
    pending: list[tuple[int, torch.Tensor]] = []

    def run_pending() -> None:
        net = torch.cat([torch.full((len(c),), t, dtype=torch.int64) for t, c in pending])
        res = recall_batch(mats, torch.cat([c for _, c in pending]), net,
                           activation=activation, max_iterations=max_iterations, tol=tol)
        start = 0
        for t, c in pending:
            parts[t].append(_rows(res, slice(start, start + len(c))))
            start += len(c)
        pending.clear()

    for t, c in enumerate(cues):
        for lo in range(0, len(c), rows_per_chunk):
            piece = c[lo:lo + rows_per_chunk]
            if len(piece) > rows_per_chunk - sum(len(q) for _, q in pending):
                run_pending()
            pending.append((t, piece))
    if pending:
        run_pending()
    return [_join(p) for p in parts]


def _rows(res: RecallResult, rows: slice) -> RecallResult:
    return RecallResult(res.states[rows], res.iterations[rows], res.reads[rows],
                        res.converged[rows], res.cycled[rows], res.mode, res.activation)


def _join(parts: list[RecallResult]) -> RecallResult:
    def cat(field: str) -> torch.Tensor:
        return torch.cat([getattr(r, field) for r in parts])

    return RecallResult(cat("states"), cat("iterations"), cat("reads"), cat("converged"),
                        cat("cycled"), parts[0].mode, parts[0].activation)


def make_fault_maps(chip: ChipSpec, n_neurons: int, chips: int, seed: int) -> list[FaultMap]:
    """One seeded fault map per chip, large enough for an N-neuron memory with a bias row;
    first, the memories of ``chips`` chips trained together are sized (:func:`check_memories`,
    the limit of :mod:`xbarmem.limits`)."""
    check_memories(chips, n_neurons, chip, given=f"trials = {chips}")  # (compare_rules' word)
    need = arrays_needed(chip, n_neurons, n_neurons + 1)
    return [FaultMap.generate(chip, need, seed=offset_seed(seed, c)) for c in range(chips)]


@checked_keywords
class RuleComparison(ResultDict):
    """What :func:`compare_rules` returns: a dict ``{"rules": {name: {...}}, "settings":
    {...}}`` (``rules`` and ``settings``, read as before) that prints one short line -- each
    rule's mean cosine and exact-recall share, the chip and how many chips -- where a plain
    dict printed every chip's scores. :meth:`as_dict` gives a plain dict. Two comparisons are
    equal (``==``) when they hold the same values but for wall-clock times (each rule's
    ``train_seconds``; :class:`~xbarmem.checks.ResultDict`): the same run again."""

    def __init__(self, rules: dict[str, Any], settings: dict[str, Any]) -> None:
        super().__init__(rules=rules, settings=settings)

    def shown(self) -> dict[str, Any]:
        """Per rule its mean cosine and exact recall; the chip, the trials (chips) and the
        patterns (the items hold every value)."""
        rules, settings = self.get("rules", {}), self.get("settings", {})
        chip = settings.get("chip", {})
        return {
            "cosine": {name: entry.get("cosine") for name, entry in rules.items()},
            "exact": {name: entry.get("exact") for name, entry in rules.items()},
            "chip": chip.get("name") if isinstance(chip, dict) else chip,
            "trials": settings.get("trials"), "data": settings.get("data"),
            "P": settings.get("n_patterns"), "N": settings.get("n_neurons")}


@renamed_keywords(chips="trials")
@checked_keywords
@warns_capped
def compare_rules(patterns: PatternSet, chip: str | ChipSpec = "paper-sim",
                  rules: RuleList | None = None, *, trials: int = 3, fault_seed: int = 0,
                  program_seed: int = 0, protocol: Protocol | None = None,
                  rule_options: dict[str, dict] | None = None, keep_states: bool = False,
                  callback=None, variants: dict[str, Protocol] | None = None,
                  train_progress=None, kind: str | None = None,
                  zero_one: bool = False) -> RuleComparison:
    """Train every rule on the same ``trials`` chips and score recall of ``patterns`` (a
    :class:`PatternSet`, or a matrix read with ``kind`` and ``zero_one`` as ``train`` reads it)
    under one ``protocol`` (default :class:`Protocol`). ``chip``: a preset name, TOML file or
    :class:`~xbarmem.hardware.chip.ChipSpec` (default ``"paper-sim"``, as for ``train``); chip
    ``c`` draws its faults with seed ``fault_seed + c``, is programmed with ``program_seed +
    c`` and recalls cues drawn with seed ``protocol.seed + c``. ``rules`` must be given
    (``compare_rules(patterns, rules=["hebb", "pinv"])`` or ``compare_rules(patterns,
    "paper-sim", ["hebb", "pinv"])``).

    Returns a :class:`RuleComparison`, a dict ``{"rules": {name: {cosine, cosine_std, exact,
    hamming, converged, mean_iterations, train_seconds, train_steps_mean, devices, chips: [...],
    variants}}, "settings": {...}}`` (``cosine_std``: over chips, None for one chip; ``chips``:
    each chip's score; ``settings``: :func:`_settings`, ``rule_options`` per rule the options
    given with its name, or a rule object's own, as
    :func:`~xbarmem.evaluation.capacity.find_capacity` records them) that prints one short
    line; with ``keep_states`` each rule also keeps the cues and recalled states of chip 0
    (``"example"``). ``callback(rule_name)`` is called after each rule, and
    ``train_progress(rule_name, step, loss)`` while an iterative rule trains
    (:func:`~xbarmem.learning.fit.fit_memories`' ``progress``). ``variants`` names further
    protocols scored on the same trained chips (e.g. another recall mode); each rule then has
    ``"variants": {name: {cosine, cosine_std, exact, protocol}}`` (``{}`` without).

    ``rules``: a rule name or :class:`~xbarmem.learning.base.Rule` object (keyed by its
    ``name``) or a list of them. ``trials`` was called ``chips`` (still taken, with a
    ``DeprecationWarning``; ``settings["trials"]`` records it). Every argument (each rule with
    its ``rule_options``, naming only rules in ``rules``; their training sizes) is checked
    before any training (``ConfigError``, ``PatternError``). Warns once of capped tanh recalls
    under read noise, as :func:`evaluate_memory` (all rules, chips and variants in one line).
    """
    rules = _given_rules(chip, rules)
    fault_seed, program_seed = _check_settings(fault_seed, program_seed, keep_states, callback,
                                               train_progress, variants)
    patterns = as_pattern_set(patterns, kind, zero_one=zero_one)
    chip = load_chip(chip)
    protocol, variants = _compared_protocols(protocol, variants, patterns)
    _CHIPS(trials, "trials")
    trained, recorded = _rules(rules, rule_options, patterns, trials)
    maps = make_fault_maps(chip, patterns.n_neurons, trials, fault_seed)
    x = tensor_of(patterns.patterns)
    out: dict[str, Any] = {"rules": {}}
    for name, rule in trained.items():
        memories = [SingleLayerMemory(patterns.n_neurons, chip, fm, bias=rule.bias)
                    for fm in maps]
        steps = (None if train_progress is None else
                 lambda step, loss, name=name: train_progress(name, step, loss))
        infos = fit_memories(rule, x, memories, kind=patterns.kind, program_seed=program_seed,
                             progress=steps)
        out["rules"][name] = _rule_entry(memories, infos, patterns, protocol, variants,
                                         keep_states)
        if callback is not None:
            callback(name)
    return RuleComparison(out["rules"], _settings(chip, trials, fault_seed, program_seed,
                                                  protocol, recorded, patterns))


def _settings(chip: ChipSpec, trials: int, fault_seed: int, program_seed: int,
              protocol: Protocol, recorded: dict[str, Any], patterns: PatternSet
              ) -> dict[str, Any]:
    """:func:`compare_rules`' ``settings``, named as every result names them: ``chip``,
    ``trials`` (the number of chips), ``fault_seed``, ``program_seed``, ``protocol``,
    ``rule_options`` and the patterns' ``data`` (their name; ``data_key``: their .npz array,
    when named, :func:`~xbarmem.data.sources.data_fields`), ``kind``, ``n_patterns``,
    ``n_neurons``."""
    return {"chip": chip.to_dict(), "trials": trials, "fault_seed": fault_seed,
            "program_seed": program_seed, "protocol": protocol.as_dict(),
            "rule_options": recorded, **data_fields(patterns), "kind": patterns.kind,
            "n_patterns": patterns.n_patterns, "n_neurons": patterns.n_neurons}


def _check_settings(fault_seed: Any, program_seed: Any, keep_states: Any, callback: Any,
                    train_progress: Any, variants: Any) -> tuple[int, int]:
    """The seeds, flag, callbacks and ``variants`` of :func:`compare_rules`, checked before
    any work; returns the seeds as Python ``int`` (``fault_seed``, ``program_seed``)."""
    seeds = check_seed(fault_seed, "fault_seed"), check_seed(program_seed, "program_seed")
    check_flag(keep_states, "keep_states")
    check_callback(callback, "callback")
    check_callback(train_progress, "train_progress")
    for vproto in check_type({} if variants is None else variants, dict, "variants",
                             "a dict {name: Protocol} (or None)").values():
        check_type(vproto, Protocol, "every protocol of variants", "a Protocol")
    return seeds


def _given_rules(chip: Any, rules: Any) -> Any:
    """``rules`` of :func:`compare_rules`, given: :class:`~xbarmem.errors.ArgumentError`
    when left out (rules given where the chip goes, which defaults now, told so)."""
    if rules is not None:
        return rules
    misplaced = (is_rule_object(chip) or isinstance(chip, list | tuple)
                 or (isinstance(chip, str) and chip.strip().lower() in RULE_NAMES))
    hint = (f"; {shown(chip)} given where the chip goes names rules: pass "
            f"compare_rules(patterns, rules={chip!r}) (the chip defaults to 'paper-sim')"
            if misplaced else " (e.g. rules=['hebb', 'pinv'])")
    raise ArgumentError(f"compare_rules() needs rules: a rule name or Rule object, or a list "
                        f"of them{hint}")


def _rules(rules: Any, options: dict[str, dict] | None, patterns: PatternSet, trials: int
           ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Rule name -> rule object of :func:`compare_rules`, every rule and option checked
    (:class:`ConfigError`; a rule object by :func:`~xbarmem.learning.base.check_rule`) and
    sized for training ``trials`` memories on ``patterns``
    (:func:`~xbarmem.learning.adaptive.check_fit_size`: a limit the last rule exceeded lost
    the earlier rules' work) before any is trained; and rule name -> the options its results
    record (:func:`~xbarmem.learning.base.recorded_options` for the patterns' kind)."""
    if is_rule_object(rules):
        rules = [rules]
    rules = check_type(listed(rules, "rules"), (str, list), "rules",
                       "a rule name or Rule object, or a list of them")
    given = [rules] if isinstance(rules, str) else list(rules)
    if not given:
        raise ConfigError("rules must name at least one rule")
    names = [check_rule(r).name if is_rule_object(r) else canonical(r, RULE_NAMES)
             if isinstance(r, str) else as_rule(r).name for r in given]  # (an array: refused)
    check_distinct(names)
    options = {} if options is None else check_type(options, dict, "rule_options",
                                                     "a dict {rule: {option: value}}")
    shape = "rule_options maps a rule compared to a dict of its options, e.g. {'adaptive': " \
        "{'max_steps': 300}}"
    stray = [name for name in options if name not in names]
    if stray:
        raise ConfigError(f"rule_options names rule {stray[0]!r}, which is not among the rules "
                          f"compared ({', '.join(map(str, names))}); {shape}")
    for name, value in options.items():
        if not isinstance(value, dict):
            text = shown(value)  # (an array's names its type: "an ndarray of shape ...")
            typed = text if text.startswith(("a ", "an ")) else f"{type(value).__name__} {text}"
            raise ConfigError(f"{shape}; got {typed} for {name!r}")
    pairs = list(zip(names, given, strict=True))
    trained = {name: as_rule(canonical(rule, RULE_NAMES), **options.get(name, {}))
               for name, rule in pairs}
    for rule in trained.values():
        check_fit_size(rule, trials, patterns.n_patterns, [patterns.n_neurons] * 2,
                       patterns.kind)
    return trained, {name: recorded_options(rule, options.get(name), 1, patterns.kind)
                     for name, rule in pairs}


def check_distinct(names: list[Any]) -> None:
    """Refuse (:class:`ConfigError`, naming it) a rule name given twice among the ``names``
    of the rules compared (a rule object's: its ``name``), names compared as every lookup
    compares them (:func:`~xbarmem.names.name_key`: ``Mine`` is ``mine``): the results are
    keyed by name, and the second silently replaced the first."""
    keys = [name_key(str(n)) for n in names]
    twice = next((str(n) for i, n in enumerate(names) if keys[i] in keys[:i]), None)
    if twice is not None:
        raise ConfigError(f"rules must have distinct names (a rule object's name is its key "
                          f"in the results): {twice!r} is given twice; got "
                          f"{', '.join(map(str, names))}")


def _compared_protocols(protocol: Protocol | None, variants: dict[str, Protocol] | None,
                        patterns: PatternSet) -> tuple[Protocol, dict[str, Protocol]]:
    """:func:`compare_rules`' protocol and ``variants`` as :func:`as_protocol` reads them for
    ``patterns``' kind, each checked to fit in memory (:func:`check_cue_bytes`)."""
    protocol = as_protocol(protocol, kind=patterns.kind)
    variants = {name: as_protocol(v, kind=patterns.kind) for name, v in (variants or {}).items()}
    for checked in (protocol, *variants.values()):
        check_cue_bytes(checked, patterns.n_patterns, patterns.n_neurons)
    return protocol, variants


def _per_chip(memories: list, patterns: PatternSet, protocol: Protocol) -> list[Score]:
    """Scores of chip ``c``'s memory under ``protocol`` with cue seed ``protocol.seed + c``."""
    return [evaluate_memory(m, patterns, protocol.reseeded(c)) for c, m in enumerate(memories)]


def _spread(scores: list[Score]) -> dict[str, float | None]:
    """Mean cosine, its standard deviation over chips (None for one chip: there is no
    spread, as tables show "-") and mean exact rate."""
    cos = torch.tensor([s.cosine for s in scores], dtype=torch.float64)
    return {"cosine": float(cos.mean()),
            "cosine_std": float(cos.std()) if len(scores) > 1 else None,
            "exact": float(sum(s.exact for s in scores) / len(scores))}


def _rule_entry(memories: list, infos: list[dict[str, Any]], patterns: PatternSet,
                protocol: Protocol, variants: dict[str, Protocol],
                keep_states: bool) -> dict[str, Any]:
    """One rule's entry of :func:`compare_rules` from its trained memories."""
    chips = len(memories)
    scores = _per_chip(memories, patterns, protocol)
    extra = {vname: {**_spread(_per_chip(memories, patterns, vproto)),
                     "protocol": vproto.as_dict()}
             for vname, vproto in variants.items()}
    entry = {
        **_spread(scores),
        "hamming": float(sum(s.hamming for s in scores) / chips),
        "converged": float(sum(s.converged for s in scores) / chips),
        "mean_iterations": float(sum(s.mean_iterations for s in scores) / chips),
        "train_seconds": float(sum(i["train_seconds"] for i in infos)),
        "train_steps_mean": float(sum(i["steps"] for i in infos) / chips),
        "devices": memories[0].devices(),
        "chips": [s.as_dict() for s in scores],
        "variants": extra,
    }
    if keep_states:
        entry["example"] = {"cues": scores[0].cues, "states": scores[0].states}
    return entry
