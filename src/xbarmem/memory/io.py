"""Saving and loading trained memories: safetensors tensors plus JSON metadata, never pickle.

One ``.safetensors`` file holds the programmed conductances (siemens), the target weights, the
chip's fault map and, in the header metadata, the chip spec, the rule and its options, seeds,
versions and the torch thread count of the writing process (``threads``). Loading rebuilds the
memory in exactly its programmed state (no re-programming, so no new write error).

Nothing in a file is trusted. The metadata (strict JSON, see :mod:`xbarmem.jsontext`) is checked
against the declared schema :class:`~xbarmem.memory.model_meta.ModelMeta` (types, finite
numbers, integer sizes >= 1, a known ``arch``, objects where objects belong, a valid chip); the
tensors' names, dtypes (float)
and shapes are checked against it from the file's header *before* any memory is built; then
every conductance must be finite, >= 0 and at most one window width above ``g_max`` (the rule
of :meth:`~xbarmem.hardware.faults.FaultMap.check_window`: read-back values may lie a little
outside the programmable window, but not by orders of magnitude), and agree with the file's
fault map and chip (:mod:`~xbarmem.memory.device_state`: a stuck or pinned device holds its
stuck conductance, a free one a value programming writes, unless the model was adapted on a
chip), and a ``w_max`` that is the one its target weights were programmed with -- for a
memory :func:`~xbarmem.memory.variation.reprogram`-med with programming variation (its
``info["variation"]``), the ``w_max`` and conductances replaying that programming gives, to the
bit. Any problem raises one :class:`~xbarmem.errors.FileFormatError` naming the file and
the problem.

The header's checks live in :mod:`~xbarmem.memory.model_header`, those of the saved
conductances and target weights (shared with exports) in :mod:`~xbarmem.memory.saved_tensors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast, overload

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as tensor_bytes

from xbarmem.checks import check_type, checked_keywords
from xbarmem.data.patterns import PatternSet, check_storable
from xbarmem.errors import ConfigError, FileFormatError, XbarmemError
from xbarmem.files import as_path, missing, output_file, read_bytes, write_file, wrong_suffix
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.jsontext import dumps, loads, non_finite_at
from xbarmem.memory.base import Memory, memory_patterns
from xbarmem.memory.build import memory_from_sizes
from xbarmem.memory.device_state import check_device_state
from xbarmem.memory.model_header import (
    check_header_size,
    check_tensor_shapes,
    checked_meta,
    header_metadata,
    no_patterns,
    parse_header,
    read_header,
)
from xbarmem.memory.model_meta import FORMAT, ModelMeta, SavedPatterns
from xbarmem.memory.saved_tensors import check_target_gain, saved_targets, set_saved_conductances
from xbarmem.version import versions

__all__ = ["load_memory", "read_metadata", "save_memory", "saved_patterns"]


def _prefix(memory: Memory, k: int) -> str:
    """Tensor name prefix of layer ``k`` (none in the one-layer format)."""
    return "" if len(memory.layers) == 1 else f"layer{k}."


@checked_keywords
def save_memory(memory: Memory, path: str | Path, *, patterns=None,
                extra: dict[str, Any] | None = None) -> Path:
    """Write ``memory`` (must be programmed) to ``path`` (``.safetensors``); ``patterns`` (a
    :class:`~xbarmem.data.patterns.PatternSet` or a ``(P, N)`` matrix) are saved alongside so the
    model can be evaluated (read them back with :func:`load_stored_patterns`).
    One-layer memories store ``g_pos``, ``g_neg``, ``target_weights``, ``target_bias``;
    multilayer memories store layer ``k``'s tensors under ``layer{k}.*`` (conductances in
    siemens, float64); the patterns' name, kind, image shape and labels, the chip, fault map
    and ``memory.info`` go with them (without how long training took, ``train_seconds``: the
    same training writes the same bytes; with the patterns' kind as ``info["kind"]`` for a
    memory of none, as :func:`load_memory` reads it: a loaded model saves to the same bytes),
    with ``extra`` (a JSON-able dict; read it back with :func:`read_metadata`:
    ``read_metadata(path)["extra"]``). Returns the path.

    Raises, before anything is written: :class:`~xbarmem.errors.ArgumentError` for a
    ``memory`` that is not a :class:`Memory`, :class:`~xbarmem.errors.FileFormatError` for an
    unprogrammed memory, a ``path`` that is a folder, in no existing folder or not named
    ``.safetensors`` (any case), or metadata (labels, ``extra``) above what a model's may take
    (``model_header.MAX_HEADER``, 16 MiB),
    :class:`~xbarmem.errors.PatternError` for patterns that are malformed, not of the
    memory's ``N`` or a set of another kind than the memory was trained for (``info["kind"]``;
    a matrix is read as that kind), :class:`~xbarmem.errors.ConfigError` for ``extra`` that
    is not JSON, holds a NaN or infinite number (JSON has none: it would read back as null) or
    holds the key ``patterns`` (the file's record of its saved patterns), and
    for what :func:`load_memory` would refuse (``cannot save the memory, its file would not
    load: ...``): conductances that contradict the memory's fault map or chip
    (:func:`~xbarmem.memory.device_state.check_device_state`: set by hand, e.g. with
    ``Crossbar.set_conductances``), a ``w_max`` other than its target weights' under the
    ``weight`` fault model (:func:`~xbarmem.memory.saved_tensors.check_target_gain`), a
    ``w_max`` or conductances other than those replaying the programming variation its
    ``info["variation"]`` records gives (:func:`~xbarmem.memory.variation.reprogram` records
    it: a reprogrammed memory saves and loads as it is; an edited record does not) and metadata
    :class:`~xbarmem.memory.model_meta.ModelMeta` refuses (``info`` edited by hand, e.g. an
    ``info["adapt"]["tolerance_S"]`` other than the fault map's ``adapt_tolerance_S``)."""
    path = as_path(path)
    patterns = _check_save(memory, path, patterns, extra)
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(memory.layers):
        tensors[_prefix(memory, k) + "g_pos"], tensors[_prefix(memory, k) + "g_neg"] = \
            layer.planes()
    tensors["fault_g_stuck"] = memory.faults.g_stuck
    if memory.faults.pinned_count:  # devices pinned by adaptation: 1.0 (files without: none)
        tensors["fault_pinned"] = memory.faults.pinned_mask.astype(np.float32)
    for k, (w, b) in enumerate(memory.targets or []):  # none when conductances were set
        tensors[_prefix(memory, k) + "target_weights"] = w.numpy().astype(np.float32)
        if b is not None:
            tensors[_prefix(memory, k) + "target_bias"] = b.numpy().astype(np.float32)
    if memory.architecture == "single":
        meta = {"arch": "single", "n_neurons": memory.n_neurons, "bias": memory.has_bias,
                "first_array": memory.layers[0].first_array, "w_max": memory.layers[0].w_max}
    else:
        first = memory.layers[0].first_array  # (written when not 0: files of memories at
        meta = {"arch": "multilayer", "n_neurons": memory.n_neurons,  # array 0 are unchanged)
                "hidden": memory.hidden_sizes, "bias": memory.has_bias,
                **({"first_array": first} if first else {}),
                "w_max": [layer.w_max for layer in memory.layers]}
    return _write(Path(path), memory, tensors, meta, patterns, extra)


def _check_save(memory: Memory, path: Path, patterns: Any,
                extra: dict[str, Any] | None) -> PatternSet | None:
    """The patterns to save (read by :func:`as_pattern_set`), after refusing, before anything is
    written: a ``memory`` that is not a programmed :class:`Memory` (``ArgumentError`` /
    :class:`FileFormatError`), a ``path`` that is a folder, lies in no folder or is not named
    ``.safetensors`` (:class:`FileFormatError`), ``extra`` that is not a JSON-able dict
    (:class:`ConfigError`)."""
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    if not memory.programmed:
        raise FileFormatError("cannot save a memory that has not been trained/programmed")
    try:  # what load_memory refuses is never written
        for k, layer in enumerate(memory.layers):
            g_pos, g_neg = layer.planes()
            check_device_state(layer, g_pos, g_neg, _prefix(memory, k))
        check_target_gain(memory)  # (a memory reprogrammed with variation under "weight")
    except ConfigError as exc:
        raise _unloadable(exc) from None
    output_file(path, "model")
    if path.suffix.lower() != ".safetensors":  # (as train -o, FaultMap.save, save_figure)
        raise FileFormatError(wrong_suffix(path, "model file", ".safetensors"))
    if extra is not None:
        check_type(extra, dict, "extra", "a dict")
        try:
            dumps(extra)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"extra must hold JSON data only: {exc}") from None
        where = non_finite_at(extra, "extra")
        if where is not None:  # (JSON holds no NaN / inf: it would be written as null)
            raise ConfigError(f"{where} must be a finite number or None: JSON cannot hold "
                              f"NaN or infinity, the file would read it back as null")
        if "patterns" in extra:  # (replaced by the saved patterns' record, or read as one)
            raise ConfigError("extra must not hold the key 'patterns': the model file keeps "
                              "its saved patterns' description there (save them with "
                              "patterns=...)")
    if patterns is None:
        return None
    return memory_patterns(memory, patterns)


def _unloadable(exc: ConfigError, what: str = "") -> ConfigError:
    """The refusal of :func:`save_memory` to write a file :func:`load_memory` would refuse."""
    return ConfigError(f"cannot save the memory, its file would not load: {what}{exc}")


# what ``info`` says about one run rather than about the memory: not written, so that a model
# file depends only on the data, chip, options, seed and environment that made it
_RUN_ONLY = frozenset({"train_seconds"})


def _model_info(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` without its run-only keys (at every level)."""
    return {k: _model_info(v) if isinstance(v, dict) else v
            for k, v in info.items() if k not in _RUN_ONLY}


def _write(path: Path, memory, tensors: dict[str, np.ndarray], arch_meta: dict[str, Any],
           patterns, extra: dict[str, Any] | None) -> Path:
    extra = dict(extra or {})
    info = _model_info(memory.info)
    if patterns is not None:
        # a memory of no recorded kind (programmed by hand) is read as its patterns' kind
        # (ModelMeta.kind): said in info, as loading it gives it, so that load -> save is
        # the same file
        info.setdefault("kind", patterns.kind)
        tensors["patterns"] = patterns.patterns
        extra["patterns"] = {"name": patterns.name, "kind": patterns.kind,
                             "image_shape": list(patterns.image_shape or [])}
        if patterns.key is not None:  # (the .npz array read: only when one was named)
            extra["patterns"]["key"] = patterns.key
        if patterns.labels is not None:
            extra["patterns"]["labels"] = patterns.labels.tolist()
    # threads: torch threads of the process writing the file (it trained and programmed the
    # memory in the usual case); the last digits of trained weights depend on it
    meta = {"format": FORMAT, **arch_meta, "chip": memory.chip.to_dict(),
            "fault_meta": memory.faults.meta, "info": info,
            "versions": versions(),
            "threads": torch.get_num_threads(), "extra": extra}
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    text = dumps(meta)
    try:  # the metadata load_memory checks (ModelMeta), as it reads it
        ModelMeta.from_dict(loads(text))
    except ConfigError as exc:
        raise _unloadable(exc, "bad metadata: ") from None
    data = tensor_bytes(arrays, metadata={"xbarmem": text})
    check_header_size(path, int.from_bytes(data[:8], "little"))  # as load_memory reads it
    # written as every result file is (whole or not at all; links, modes and named pipes as
    # files.write_atomically says)
    write_file(path, data)
    return path


@checked_keywords
def load_memory(path: str | Path) -> Memory:
    """Read the memory at ``path`` written by :func:`save_memory` (a
    :class:`SingleLayerMemory` or a :class:`MultilayerMemory`); a foreign, corrupt or invalid
    file (see the module docstring) raises :class:`~xbarmem.errors.FileFormatError`; a file
    above the memory limit :class:`~xbarmem.limits.TooLargeError` (a ``ConfigError``)."""
    return load_model(path)[0]


@overload
def load_model(path: str | Path, *, patterns_required: Literal[True]
               ) -> tuple[Memory, PatternSet]: ...


@overload
def load_model(path: str | Path, *, patterns_required: bool = ...
               ) -> tuple[Memory, PatternSet | None]: ...


def load_model(path: str | Path, *, patterns_required: bool = False
               ) -> tuple[Memory, PatternSet | None]:
    """The memory and the pattern set saved with it (``None`` when it has none, or
    :class:`~xbarmem.errors.FileFormatError` with ``patterns_required``: then never ``None``),
    from one read of the file; errors as :func:`load_memory`."""
    path = as_path(path)
    meta, tensors = _read(path)
    try:
        memory = _restore(meta, tensors)
    except XbarmemError as exc:  # e.g. a fault map that does not cover the layers
        raise FileFormatError(f"{path}: invalid model contents: {exc}") from exc
    return memory, _patterns(path, meta, tensors, patterns_required)


def saved_patterns(path: str | Path) -> PatternSet | None:
    """The pattern set saved with the model at ``path`` (``None`` when it has none); errors
    as :func:`load_memory`."""
    path = as_path(path)
    return _patterns(path, *_read(path))


def _patterns(path: Path, meta: ModelMeta, tensors: dict[str, np.ndarray],
              required: bool = False) -> PatternSet | None:
    if "patterns" not in tensors:
        if required:
            raise no_patterns(path)
        return None
    p = SavedPatterns.from_dict(meta.extra.get("patterns", {}))
    try:  # patterns a memory stores (no zero row: evaluate / export / adapt refused it later)
        return check_storable(PatternSet(
            tensors["patterns"], kind=p.kind, name=p.name,
            labels=None if p.labels is None else np.asarray(p.labels, np.int64),
            image_shape=tuple(p.image_shape) or None, key=p.key))
    except XbarmemError as exc:
        raise FileFormatError(f"{path}: invalid saved patterns: {exc}") from None


@checked_keywords
def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of the model saved at ``path`` (chip, rule, seeds, versions, and under
    ``"extra"`` what :func:`save_memory` was given as ``extra``), checked against
    :class:`ModelMeta`; only the file's header is read. Errors as :func:`load_memory`."""
    return read_header(as_path(path)).data


def _read(path: Path) -> tuple[ModelMeta, dict[str, np.ndarray]]:
    """The checked metadata and tensors of a model file (tensor values checked later, with
    the memory they belong to)."""
    if not path.exists():
        raise FileFormatError(missing(path, "model file"))
    raw = read_bytes(path, "model file", expand=4.0)  # bytes, tensors, the memory built
    header = parse_header(path, raw, whole=True)
    meta = checked_meta(path, *header_metadata(path, header))
    check_tensor_shapes(path, meta, header)
    try:
        tensors = load_tensors(raw)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a readable safetensors model ({exc})") from None
    return meta, tensors


def _restore(meta: ModelMeta, tensors: dict[str, np.ndarray]) -> Memory:
    """The memory a file's metadata and tensors describe, in its programmed state."""
    chip = ChipSpec.from_dict(meta.chip)
    # pinned as saved (0/1): FaultMap refuses other values (NaN read as "not pinned" before)
    faults = FaultMap(tensors["fault_g_stuck"], dict(meta.fault_meta),
                      tensors.get("fault_pinned"))
    memory = memory_from_sizes(meta.sizes, chip, faults, bias=meta.bias,
                               first_array=meta.first_array)
    targets = []
    for k, (layer, w_max) in enumerate(zip(memory.layers, meta.w_maxes, strict=True)):
        name = _prefix(memory, k)
        set_saved_conductances(layer, tensors[name + "g_pos"], tensors[name + "g_neg"], w_max,
                               name)
        if name + "target_weights" in tensors:
            targets.append(saved_targets(layer, tensors[name + "target_weights"],
                                         tensors.get(name + "target_bias"), name))
    memory.targets = targets if len(targets) == len(memory.layers) else None
    memory.info = dict(meta.info)
    if meta.kind is not None:  # a file without info.kind: its saved patterns' kind
        memory.info["kind"] = meta.kind
    check_target_gain(memory)  # (with info: a recorded reprogramming is replayed)
    return memory


@checked_keywords
def load_stored_patterns(path: str | Path) -> PatternSet:
    """The :class:`~xbarmem.data.patterns.PatternSet` saved with the model at ``path`` by
    ``save_memory(..., patterns=...)`` (with its kind, name, image shape and labels).
    A file that is not a valid model, or a model saved without patterns, raises
    :class:`~xbarmem.errors.FileFormatError`."""
    path = as_path(path)
    # required=True raises instead of returning None
    return cast(PatternSet, _patterns(path, *_read(path), required=True))
