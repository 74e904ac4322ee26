"""What a model file's metadata may hold (:class:`ModelMeta`): the declared schema every
loaded header is checked against -- sizes, architecture, the chip, the fault map's
provenance, how the memory was trained (``info``: :func:`model_info_check`) and the saved
patterns' description (:class:`SavedPatterns`). Written by :mod:`xbarmem.memory.io`, read
back by :mod:`xbarmem.memory.model_header`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from xbarmem.checks import MAX_SEED
from xbarmem.data.patterns import KINDS
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import MAX_W_MAX, ChipSpec
from xbarmem.names import ARCHS
from xbarmem.spec import AnyOf, Choice, Flag, ListOf, Maybe, Number, Spec, Table, Text

FORMAT = "xbarmem-model/1"
_Size = Number(integer=True, ge=1)
#: the largest w_max a file may give (a chip's largest weight_range): weights are float32, and
#: a recall sums up to N products of them; far above it (1e308) weights overflowed to inf
_Gain = Number(gt=0.0, le=MAX_W_MAX)


@dataclass(frozen=True)
class ModelMeta(Spec, noun="model metadata"):
    """The JSON metadata of a model file (key ``xbarmem`` of the safetensors header).

    Attributes:
        format: the format tag, ``xbarmem-model/1``.
        n_neurons: N, an integer >= 1.
        bias: whether every layer has a bias row.
        w_max: weight of the full window difference: a number > 0 (``single``) or one per
            layer (``multilayer``).
        chip: the chip spec (a table, valid as :class:`~xbarmem.hardware.chip.ChipSpec`).
        arch: ``single`` or ``multilayer``.
        first_array: array of the fault map where the first layer starts (>= 0; the others
            follow it; 0 when absent).
        hidden: hidden widths of a multilayer memory (integers >= 1).
        fault_meta: the fault map's provenance (a table).
        info: how the memory was trained (a table; ``kind``, ``rule``, ``rule_options``,
            ``adapt.read_backs``, ``adapt.tolerance_S``, ``variation`` (a
            :class:`VariationRecord`) checked when present -- ``adapt.tolerance_S``
            equal to ``fault_meta["adapt_tolerance_S"]`` when that is a number > 0; the rule
            checks its options).
        versions: package versions that wrote the file (a table).
        threads: torch threads of the process that wrote the file (an integer >= 1; absent
            in files written before it was recorded).
        extra: free data (a table); ``extra.patterns`` describes the saved patterns.
    """

    format: Annotated[str, Choice((FORMAT,))]
    n_neurons: Annotated[int, _Size]
    bias: Annotated[bool, Flag()]
    w_max: Annotated[Any, AnyOf(_Gain, ListOf(_Gain))]
    chip: Annotated[dict, Table()]
    arch: Annotated[str, Choice(ARCHS)] = "single"
    first_array: Annotated[int, Number(integer=True, ge=0)] = 0
    hidden: Annotated[list | None, Maybe(ListOf(_Size))] = None
    fault_meta: Annotated[dict, Table()] = field(default_factory=dict)
    info: Annotated[dict, Table()] = field(default_factory=dict)
    versions: Annotated[dict, Table()] = field(default_factory=dict)
    threads: Annotated[int | None, Maybe(_Size)] = None
    extra: Annotated[dict, Table()] = field(default_factory=dict)

    def validate(self) -> None:
        """Architecture-dependent keys, the chip, and the parts of ``info``/``extra`` that
        loading uses."""
        if self.arch == "single":
            if self.hidden is not None or not isinstance(self.w_max, (int, float)):
                raise ConfigError("a single-layer model has no hidden widths and one w_max "
                                  f"number, got hidden={self.hidden!r}, w_max={self.w_max!r}")
        elif (self.hidden is None or not isinstance(self.w_max, list)
              or len(self.w_max) != len(self.hidden) + 1):
            raise ConfigError("a multilayer model needs hidden widths and one w_max per layer "
                              f"(got hidden={self.hidden!r}, w_max={self.w_max!r})")
        try:
            ChipSpec.from_dict(self.chip)
        except ConfigError as exc:
            raise ConfigError(f"chip: {exc}") from None
        model_info_check(self.info, self.fault_meta)
        if "patterns" in self.extra:
            saved = SavedPatterns.from_dict(self.extra["patterns"])
            shape = saved.image_shape
            if shape and shape[0] * shape[1] != self.n_neurons:
                raise ConfigError(f"extra.patterns.image_shape {shape} does not match "
                                  f"n_neurons {self.n_neurons}")
            if "kind" in self.info and saved.kind != self.info["kind"]:
                raise ConfigError(
                    f"extra.patterns.kind {saved.kind!r} contradicts info.kind "
                    f"{self.info['kind']!r}: the saved patterns must be of the kind the memory "
                    f"was trained for (recall, evaluation and re-training read one or the other)")

    @property
    def sizes(self) -> list[int]:
        """Layer widths ``[N, hidden..., N]``."""
        return [self.n_neurons, *(self.hidden or []), self.n_neurons]

    @property
    def kind(self) -> str | None:
        """The kind of patterns the memory was trained for: ``info.kind``; in a file without
        it (written by hand or before it was recorded) the saved patterns' kind
        (``extra.patterns.kind``); None when the file says neither (read as ``binary``)."""
        if "kind" in self.info:
            return self.info["kind"]
        if "patterns" in self.extra:
            return SavedPatterns.from_dict(self.extra["patterns"]).kind
        return None

    @property
    def w_maxes(self) -> list[float]:
        return [float(w) for w in (self.w_max if isinstance(self.w_max, list) else [self.w_max])]


@dataclass(frozen=True)
class _InfoCheck(Spec, section="info", noun="model metadata"):
    """The keys of ``info`` that are read after loading."""

    kind: Annotated[str, Choice(KINDS)] = "binary"
    rule: Annotated[str, Text()] = ""
    rule_options: Annotated[dict, Table()] = field(default_factory=dict)
    adapt: Annotated[dict, Table()] = field(default_factory=dict)
    variation: Annotated[dict | None, Maybe(Table())] = None


@dataclass(frozen=True)
class VariationRecord(Spec, section="info.variation", noun="model metadata"):
    """What :func:`~xbarmem.memory.variation.reprogram` records in ``memory.info["variation"]``
    (and so in model files and exports): the memory's conductances are its target weights
    programmed with programming variation ``variation`` and seed ``seed``; loading replays
    that programming to check the saved ``w_max`` and conductances
    (:func:`~xbarmem.memory.saved_tensors.check_target_gain`)."""

    variation: Annotated[float, Number(ge=0.0, le=1.0, as_float=True)]
    seed: Annotated[int, Number(integer=True, ge=0, le=MAX_SEED)]


@dataclass(frozen=True)
class _AdaptInfoCheck(Spec, section="info.adapt", noun="model metadata"):
    """The keys of ``info.adapt`` (what chip-in-the-loop adaptation recorded) read again by
    the next adaptation, and its tolerance (siemens, > 0: what the read-back conductances were
    held to)."""

    read_backs: Annotated[int, Number(integer=True, ge=0)] = 0
    tolerance_S: Annotated[float | None, Maybe(Number(gt=0.0, unit="S"))] = None


def model_info_check(info: dict[str, Any], fault_meta: Any = None) -> None:
    """Check the keys of a model's ``info`` that are read after loading (``kind``, ``rule``,
    ``rule_options`` -- a table; its options are checked by the rule that reads them --
    ``adapt.read_backs``, ``adapt.tolerance_S``, ``variation``: :class:`VariationRecord`):
    ``ConfigError`` naming ``info.{key}``;
    other keys (what training recorded: steps, loss, seeds...) are free, as ``extra`` is.
    With the ``fault_meta`` of the same model (or export), ``info.adapt.tolerance_S`` must
    equal its ``adapt_tolerance_S`` where both are numbers (:func:`_check_one_tolerance`)."""
    checked = _InfoCheck.from_declared(info)
    if checked.variation is not None:
        VariationRecord.from_dict(checked.variation)
    adapt = _AdaptInfoCheck.from_declared(checked.adapt)
    _check_one_tolerance(adapt.tolerance_S, fault_meta)


def _check_one_tolerance(tolerance: float | None, fault_meta: Any) -> None:
    """Adaptation writes its tolerance twice, from one number: ``info.adapt.tolerance_S`` and
    the fault map's ``meta["adapt_tolerance_S"]`` (which the loaders hold the read-back
    conductances to); two numbers that differ are refused (:class:`ConfigError` naming both).
    A missing one, or one that is no number > 0, is left to the checks of each
    (:func:`~xbarmem.memory.device_state.read_back_tolerance` for the fault map's)."""
    theirs = fault_meta.get("adapt_tolerance_S") if isinstance(fault_meta, dict) else None
    if (tolerance is None or isinstance(theirs, bool) or not isinstance(theirs, (int, float))
            or not 0 < float(theirs) < float("inf") or float(theirs) == float(tolerance)):
        return
    raise ConfigError(f"info.adapt.tolerance_S {float(tolerance)!r} S contradicts the fault "
                      f"map's adapt_tolerance_S {float(theirs)!r} S: both are the tolerance of "
                      f"the adaptation that read the conductances back, written as one number")


@dataclass(frozen=True)
class SavedPatterns(Spec, section="extra.patterns", noun="model metadata"):
    """How the patterns saved with a model are described (``extra.patterns``).

    Attributes:
        name: the pattern set's name.
        kind: ``binary`` or ``continuous``.
        image_shape: ``[]`` or ``[h, w]`` with ``h * w == N``.
        labels: the class of each pattern (``P`` integers), or None for a set without labels.
        key: the array of the .npz file they were read from when one was named (``--key``),
            else None (not written).
    """

    name: Annotated[str, Text()] = "patterns"
    kind: Annotated[str, Choice(KINDS)] = "binary"
    image_shape: Annotated[list, ListOf(_Size, nonempty=False)] = field(default_factory=list)
    labels: Annotated[list | None, Maybe(ListOf(Number(integer=True, ge=-2**63,
                                                       lt=2**63)))] = None  # (int64)
    key: Annotated[str | None, Maybe(Text())] = None

    def validate(self) -> None:
        if len(self.image_shape) not in (0, 2):
            raise ConfigError(f"extra.patterns.image_shape must be [] or [h, w], got "
                              f"{self.image_shape!r}")
