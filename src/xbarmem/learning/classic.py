"""Classic Hopfield learning rules, all with one interface and one hardware path.

Every rule maps stored patterns ``X`` (float32 ``(P, N)``) to a weight matrix ``W`` ``(N, N)``
with a zero diagonal and a bias ``b`` ``(N,)`` (zero for the classic rules); ``W`` is symmetric
for all but the perceptron, which learns each neuron's row on its own. Hebb's rule, the
Storkey variant and the projection rule take continuous patterns as they are; Storkey's rule
and the perceptron are defined for +-1 patterns and run their formulas on continuous values as
given (their docstrings say what follows), with a warning (:func:`warn_rule_kind`). An
all-zero pattern adds nothing to any rule.

As in He et al.'s comparison, the ideal matrix is scaled to ``max|W| = 1`` and then programmed
through the same crossbar as every other rule: the hardware clips each weight into its
realisable interval, stuck pairs keep what they hold, and programming/read noise apply. Only
the hardware-adaptive rule (:mod:`xbarmem.learning.adaptive`) sees the chip while learning.

Each rule is a small validated spec (:class:`~xbarmem.spec.Spec`) with ``name`` and
``ideal(patterns) -> (W, b)`` (``max|W| = 1``); as a :class:`~xbarmem.learning.base.Rule` its
``fit(problem)`` scales ``W`` to each network's weight range ``w_max`` (a classic rule learns
single-layer memories only and no bias). :func:`get_rule` builds any rule from its name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from xbarmem.checks import (
    ArrayLike,
    checked_keywords,
    choice_key,
    choices_text,
    closest_choice,
    counted,
    shown,
    tensor_of,
    unknown_argument,
)
from xbarmem.errors import ArgumentError, ConfigError, warn
from xbarmem.hardware.crossbar import tie_tolerance
from xbarmem.learning.base import (
    FitResult,
    Problem,
    check_rule,
    fit_arguments,
    is_rule_object,
)
from xbarmem.names import OWN_RULE  # noqa: F401 - where a rule of one's own goes, re-exported
from xbarmem.spec import Spec, flag, integer, number

#: off-diagonal weights of magnitude at most this fraction of the matrix's largest (diagonal
#: included) are float64 rounding error, not weights: the pseudo-inverse of N independent
#: patterns is the identity, whose off-diagonal part is zero but computes as about 1e-14,
#: which scaling to max|W| = 1 would turn into a matrix of noise; and a neuron whose unit
#: vector the patterns span has a row that is zero but computes as such noise, whose field
#: would set the neuron where it is a tie
_ROUNDING = 1e-9


def _finish(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the diagonal, scale to max|W| = 1, attach a zero bias. Every off-diagonal weight
    that is rounding error (at most :data:`_ROUNDING` of the largest weight before the
    diagonal was zeroed) is zero, as it is exactly; all of them: ``W = 0``."""
    w = w.clone()
    whole = w.abs().max()
    w.fill_diagonal_(0.0)
    w[w.abs() <= _ROUNDING * whole] = 0.0
    peak = w.abs().max()
    if peak > 0:
        w = w / peak
    return w.float(), torch.zeros(w.shape[0], dtype=torch.float32)


def _incremental(patterns: torch.Tensor, update) -> tuple[torch.Tensor, torch.Tensor]:
    """A rule that adds one pattern at a time: ``W = update(W, xi, N)`` from zeros (float64),
    then :func:`_finish`."""
    x = _as_patterns(patterns)
    n = x.shape[1]
    w = torch.zeros(n, n, dtype=torch.float64)
    for xi in x:
        w = update(w, xi, n)
    return _finish(w)


def _as_patterns(patterns: ArrayLike) -> torch.Tensor:
    x = tensor_of(patterns, dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(f"patterns must be a non-empty (P, N) matrix, got {tuple(x.shape)}")
    return x


class ClassicRule(Spec, noun="rule"):
    """Base of the classic rules: ``fit(problem)`` runs :meth:`ideal` on each network's real
    patterns and scales the result by its ``w_max``; no bias, no steps, NaN loss; fixed points
    (binary problems) are checked on the unscaled matrix (a field 0 up to rounding,
    :func:`~xbarmem.hardware.crossbar.tie_tolerance`, stores nothing)."""

    name: ClassVar[str] = "classic"
    bias: ClassVar[bool] = False
    #: what the rule does with continuous patterns when it is defined for +-1 ones only
    #: (:func:`warn_rule_kind`); empty: it takes continuous patterns as they are
    on_continuous: ClassVar[str] = ""

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W (N, N), b (N,))`` for patterns ``(P, N)``: zero diagonal, ``max|W| = 1``,
        zero bias."""
        raise NotImplementedError

    def solve(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """:meth:`ideal` and whether the rule met its own stopping criterion on ``patterns``
        (a closed-form rule always does; an iterative one, e.g. :class:`Perceptron`, not when
        its cap stopped it): the ``converged`` of :meth:`fit`."""
        w, b = self.ideal(patterns)
        return w, b, True

    def options(self, layers: int = 1, kind: str = "binary") -> dict[str, Any]:
        """The options (every entry point reads them before training, through
        :func:`~xbarmem.learning.base.checked_options`); for ``kind`` patterns the rule is not
        defined for, an :class:`~xbarmem.errors.XbarmemWarning` (:func:`warn_rule_kind`)."""
        warn_rule_kind(self.name, kind)
        return self.to_dict()

    def fit(self, problem: Problem, progress=None) -> FitResult:
        """Closed form (``progress`` is accepted and never called: there are no steps)."""
        problem = fit_arguments(problem, progress)
        if problem.layers != 1:
            raise ConfigError(f"rule {self.name!r} learns single-layer memories only; "
                              "multilayer memories are trained by the hardware-adaptive rule")
        x = problem.patterns
        t, p, n = x.shape
        sizes = [p] * t if problem.counts is None else [int(c) for c in problem.counts]
        weights, fixed = torch.empty(t, n, n, dtype=torch.float32), torch.zeros(t, dtype=torch.bool)
        converged = torch.ones(t, dtype=torch.bool)
        for k in range(t):
            xt = x[k, : sizes[k]]
            w, _, converged[k] = self.solve(xt)  # max|W| = 1: map it onto the full window
            weights[k] = w * (1.0 if problem.w_max is None else problem.w_max[0][k])
            fixed[k] = bool(((xt @ w.T) * xt > tie_tolerance(w)).all())
        return FitResult(weights=[weights], biases=None, steps=torch.zeros(t, dtype=torch.int64),
                         loss=torch.full((t,), float("nan"), dtype=torch.float32),
                         converged=converged,
                         fixed_points=fixed if problem.kind == "binary" else None)


@dataclass(frozen=True)
class Hebb(ClassicRule):
    """Hebb's outer-product rule ``W = X^T X / N`` (capacity about 0.138 N random patterns,
    Amit, Gutfreund and Sompolinsky, 1985)."""

    name: ClassVar[str] = "hebb"

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = _as_patterns(patterns)
        return _finish(x.T @ x / x.shape[1])


@dataclass(frozen=True)
class Storkey(ClassicRule):
    """Storkey's (1997) incremental rule with local fields (textbook form).

    For each pattern ``xi`` in turn, with ``h_ij = sum_{k != i, j} w_ik xi_k``:
    ``w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N``; symmetric, no self-weight.

    Storkey defines it for +-1 patterns; continuous ones (``kind="continuous"``) go through
    the same formula with their values (its capacity results do not carry over).
    """

    name: ClassVar[str] = "storkey"
    on_continuous: ClassVar[str] = ("runs its formula on their values (its capacity results "
                                    "do not carry over)")

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _incremental(patterns, self._update)

    @staticmethod
    def _update(w: torch.Tensor, xi: torch.Tensor, n: int) -> torch.Tensor:
        h = w @ xi - torch.diagonal(w) * xi  # local field excluding k = i
        # h_ij = h_i - w_ij xi_j  (k != j as well)
        h_ij = h[:, None] - w * xi[None, :]
        w = w + (torch.outer(xi, xi) - xi[:, None] * h_ij.T - h_ij * xi[None, :]) / n
        w.fill_diagonal_(0.0)
        return w


@dataclass(frozen=True)
class StorkeyVariant(ClassicRule):
    """The "Storkey" variant of He et al.'s scripts: per pattern ``W += e e^T / N`` with the
    residual ``e = xi - W xi`` (a residual outer product, not the textbook local-field rule).

    ``W xi`` is the network's field, and a Hopfield network has no self-connections, so by
    default the diagonal is zeroed after every update (``self_field=False``). With
    ``self_field=True`` the residual also sees the self-weights that earlier updates left on the
    diagonal (zeroed only at the end). The two readings recall differently
    (``examples/sweeps/storkey-variant.toml``).

    Attributes:
        self_field: keep the diagonal inside the loop (zero it only at the end).
    """

    self_field: bool = flag(False, help="keep the diagonal inside the loop")

    name: ClassVar[str] = "storkey-variant"

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _incremental(patterns, self._update)

    def _update(self, w: torch.Tensor, xi: torch.Tensor, n: int) -> torch.Tensor:
        e = xi - w @ xi
        w = w + torch.outer(e, e) / n
        if not self.self_field:
            w.fill_diagonal_(0.0)
        return w


@dataclass(frozen=True)
class PseudoInverse(ClassicRule):
    """Projection rule ``W = X^T (X X^T)^+ X``: every linearly independent stored pattern is an
    eigenvector with eigenvalue 1; without self-connections it stays a fixed point while the
    diagonal of ``W`` is below 1, so capacity approaches N and basins shrink as P -> N. Patterns
    spanning all N dimensions (N independent ones) give ``W = I``, nothing off the diagonal:
    the weights are zero and no pattern is stored (``fixed_points`` False)."""

    name: ClassVar[str] = "pinv"

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = _as_patterns(patterns)
        return _finish(x.T @ torch.linalg.pinv(x @ x.T) @ x)

    @staticmethod
    def identity_reason(patterns: ArrayLike) -> str | None:
        """Why the rule stores none of ``patterns`` (``(P, N)``, any real values) when they
        span all N dimensions (N linearly independent among them, as P = N independent
        patterns are): the projection onto them is the identity, all zero once its diagonal
        is removed; None when they span fewer (the projection stores them)."""
        x = _as_patterns(patterns)
        n = x.shape[1]
        if x.shape[0] < n or int(torch.linalg.matrix_rank(x)) < n:
            return None
        return (f"pinv: the {counted(x.shape[0], 'pattern')} span all N = {n} dimensions "
                f"({n} linearly independent): the projection onto them is the identity, all "
                "zero once its diagonal (self-connections) is removed, so no pattern is "
                "stored; store fewer than N linearly independent patterns")


@dataclass(frozen=True)
class Perceptron(ClassicRule):
    """Perceptron rule with a normalised margin (Gardner-style), every neuron independently.

    From Hebb's matrix ``X^T X / N``, repeats full (batch) sweeps of ``w_i += xi_i^mu xi^mu /
    N`` for every pattern whose normalised stability ``xi_i^mu (w_i . xi^mu) / (|w_i| |xi^mu|
    / sqrt(N))`` is below ``margin``; stops when all stabilities reach the margin (``>=
    margin``, converged; one within ``1e-9 max(1, |margin|)`` below it is a tie that rounding
    moved, and reaches it) or after ``max_epochs`` sweeps (not converged, unless the last
    sweep reached it). No bias (as the other classic rules), zero diagonal; ``W`` is not
    symmetric (each row is learnt on its own). A neuron whose weights are all zero has
    stability 0; an all-zero pattern has none and counts as reaching the margin (it adds
    nothing to the sweeps).

    The rule is defined for +-1 patterns. Continuous ones (``kind="continuous"``) are taken
    with their values as the targets ``xi_i^mu``: a stability is then at most ``|xi_i^mu|
    sqrt(N)``, so a pattern with a value smaller than ``margin / sqrt(N)`` in magnitude never
    reaches the margin and the rule runs to ``max_epochs`` (not converged).
    """

    margin: float = number(1.0, help="normalised stability every pattern must reach")
    max_epochs: int = integer(2000, ge=0, help="cap on full sweeps")

    name: ClassVar[str] = "perceptron"
    on_continuous: ClassVar[str] = (
        "takes their values as its targets, and a pattern with a value below margin/sqrt(N) "
        "in magnitude never reaches the margin (it runs to max_epochs, converged=False)")

    def ideal(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w, b, _ = self.solve(patterns)
        return w, b

    def solve(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The weights, and whether every stability reached the margin (checked after the
        last sweep too)."""
        x = _as_patterns(patterns)
        n = x.shape[1]
        off_diag = 1.0 - torch.eye(n, dtype=torch.float64)
        w = (x.T @ x / n) * off_diag  # Hebbian start
        scale = x.norm(dim=1, keepdim=True) / n**0.5  # (P, 1)
        some = scale > 0  # an all-zero pattern has no stability: it counts as reached
        for epoch in range(self.max_epochs + 1):
            norms = w.norm(dim=1).clamp_min(1e-12)  # (N,)
            stability = x * (x @ w.T) / (norms[None, :] * scale.clamp_min(1e-300))  # (P, N)
            # a stability equal to the margin reaches it: one that rounding leaves a hair
            # below it (a tie of integer sums, common for +-1 patterns) is not "low"
            low = ((stability < self.margin - _ROUNDING * max(1.0, abs(self.margin)))
                   & some).double()
            if not low.any() or epoch == self.max_epochs:
                break
            w = w + ((low * x).T @ x / n) * off_diag
        return (*_finish(w), not low.any())


CLASSIC_RULES: dict[str, type[ClassicRule]] = {
    cls.name: cls for cls in (Hebb, Storkey, StorkeyVariant, PseudoInverse, Perceptron)}


@checked_keywords
def rule_names() -> list[str]:
    """All rule names, hardware-adaptive first."""
    return ["adaptive", *CLASSIC_RULES]


@checked_keywords
def get_rule(name: str, **options):
    """A rule object (:class:`~xbarmem.learning.base.Rule`) by ``name`` (``adaptive``, ``hebb``,
    ``storkey``, ``storkey-variant``, ``pinv``, ``perceptron``) with ``options`` (keywords:
    the rule's options, e.g. ``margin=2``). An unknown name or a bad option value raises
    :class:`ConfigError`; a keyword that is no option of the rule an
    :class:`~xbarmem.errors.ArgumentError` naming the closest (as the rule classes'
    constructors and :func:`~xbarmem.learning.fit.train` raise)."""
    names = rule_option_names(name)
    for key in options:
        if key not in names:
            raise unknown_argument("get_rule()", key, names,
                                   f" (not an option of rule {shown(name)})")
    return rule_from_options(name, options)


def rule_from_options(name: str, options: dict[str, Any]):
    """The rule ``name`` with the options of the dict ``options`` (a file's, a command line's
    or a ``rule_options`` argument's): :class:`ConfigError` for an unknown name, an unknown
    key (``unknown rule key ...``, with the allowed ones) or a bad value, each message
    starting ``bad option for rule ...``. :func:`get_rule` is its keyword form."""
    cls = _rule_class(name)
    try:
        return cls.from_dict(options)
    except ConfigError as exc:
        raise ConfigError(f"bad option for rule {name!r}: {exc}") from None


def warn_rule_kind(rule: str, kind: str) -> None:
    """An :class:`~xbarmem.errors.XbarmemWarning` (one line naming the rule) when ``rule``
    (a name; ``storkey``, ``perceptron``), defined for +-1 patterns, is to learn ``kind ==
    "continuous"`` ones: it runs, on their values (its ``on_continuous``). The one check of
    it: :meth:`ClassicRule.options` (which every training reads first) and a sweep's planning
    (:func:`~xbarmem.experiments.resolve.resolve`; its trials run with warnings quiet) call
    it. Nothing for other rules, names or kinds."""
    cls = CLASSIC_RULES.get(rule)
    if kind == "continuous" and cls is not None and cls.on_continuous:
        warn(f"rule {rule!r} is defined for +-1 (binary) patterns; with continuous patterns "
             f"it {cls.on_continuous}", stacklevel=2)


def keyed_options(rule: str, options: dict[str, Any], layers: int = 1, kind: str = "binary",
                  levels: int = 0) -> dict[str, Any]:
    """Every option of rule ``rule`` given ``options``, defaults filled in: what results
    computed with them are kept under (a capacity search's checkpoint), so that a default
    changed since they were computed is another key. The hardware-adaptive rule's as they
    apply to memories of ``layers`` layers storing ``kind`` patterns on a chip of ``levels``
    conductance levels (:meth:`~xbarmem.learning.adaptive.AdaptiveTrainer.keyed_options`);
    errors as :func:`rule_from_options`."""
    obj = rule_from_options(rule, options)
    keyed = getattr(obj, "keyed_options", None)
    if keyed is not None:
        return keyed(layers, kind, levels)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def as_rule(rule: Any, **options: Any) -> Any:
    """The rule a ``rule`` argument gives: a name -> :func:`rule_from_options` ``(name,
    options)`` (errors as there: ``options`` come from a ``rule_options`` dict, or from
    keywords :func:`~xbarmem.learning.fit.train` checked); a rule object -> itself once
    :func:`~xbarmem.learning.base.check_rule` finds the contract met
    (:class:`~xbarmem.errors.ArgumentError` naming what it lacks), and ``options`` refused
    (:class:`ConfigError`: a rule object's options are set on it)."""
    if not is_rule_object(rule):
        return rule_from_options(rule, options)
    rule = check_rule(rule)
    if options:
        raise ConfigError(f"options ({', '.join(sorted(options))}) apply to rules given by "
                          f"name; rule {rule.name!r} is an object: set its options on it")
    return rule


def _rule_class(name: str) -> type[Spec]:
    """The class of rule ``name``; :class:`ConfigError` for an unknown name."""
    key = choice_key(name, rule_names())  # "Hebb" is "hebb"
    if key == "adaptive":
        from xbarmem.learning.adaptive import (
            AdaptiveTrainer,  # same layer; imported lazily to keep this light
        )

        return AdaptiveTrainer
    if key is not None:
        return CLASSIC_RULES[key]
    if is_rule_object(name):  # a rule object or class, as scikit-learn takes
        what = f"the class {name.__name__}" if isinstance(name, type) else shown(name)
        raise ArgumentError(f"rule must be a rule name ({', '.join(rule_names())}), got {what}: "
                            f"give its name and options (rule='adaptive', max_steps=...); a "
                            f"rule object is taken by {OBJECT_ENTRY_POINTS} (docs/extending.md)")
    raise ConfigError(f"unknown rule {shown(name)} (available: {choices_text(rule_names())})"
                      f"{closest_choice(name, rule_names()) or OWN_RULE}")


#: the entry points that take a rule object (docs/extending.md); the others, whose records or
#: checkpoints keep a rule by name and options, take a name (:func:`rule_by_name`)
OBJECT_ENTRY_POINTS = ("train, fit_memories, compare_rules, recall_curve, find_capacity and "
                       "adapt(trainer=...)")


def rule_by_name(rule: Any) -> str:
    """The rule ``rule`` names (``"Hebb"`` -> ``"hebb"``), for an entry point that takes a
    rule by name only (``run_scaling``: its settings and checkpoint keep the name): a rule
    object raises :class:`ArgumentError` naming the entry points that take one, an unknown
    name :class:`ConfigError`, as :func:`get_rule` does, before any work."""
    _rule_class(rule)
    return str(choice_key(rule, rule_names()))


def rule_option_names(name: str) -> list[str]:
    """The option names rule ``name`` takes (its keywords in :func:`get_rule`), in declaration
    order; :class:`ConfigError` for an unknown rule."""
    # every rule class is a dataclass (the Spec machinery; mypy sees only Spec)
    return [f.name for f in dataclasses.fields(_rule_class(name))  # type: ignore[arg-type]
            if f.init]
