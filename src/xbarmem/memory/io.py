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
outside the programmable window, but not by orders of magnitude). Any problem raises one
:class:`~xbarmem.errors.FileFormatError` naming the file and the problem.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save_file

from xbarmem.checks import check_type, checked_keywords
from xbarmem.data.patterns import PatternSet, check_storable
from xbarmem.errors import ConfigError, FileFormatError, XbarmemError
from xbarmem.files import (
    as_path,
    missing,
    output_file,
    parse_text,
    read_bytes,
    what_is,
    write_replacing,
)
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import WINDOW_SLACK, FaultMap, highest_reading
from xbarmem.jsontext import dumps
from xbarmem.memory.base import Memory, memory_patterns
from xbarmem.memory.model_meta import FORMAT, ModelMeta, SavedPatterns
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory

__all__ = ["check_target_gain", "load_memory", "read_metadata", "save_memory", "saved_patterns",
           "saved_targets", "set_saved_conductances"]

_FLOAT_DTYPES = ("F32", "F64")
_MAX_HEADER = 100 * 2**20  # safetensors' own cap on the JSON header


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("xbarmem", "torch", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def memory_from_sizes(sizes: list[int], chip: ChipSpec, faults: FaultMap, *, bias: bool,
                      first_array: int = 0) -> Memory:
    """An unprogrammed memory of widths ``sizes`` on ``faults``: a
    :class:`SingleLayerMemory` for ``[N, N]``, a :class:`MultilayerMemory` for ``[N, H..., N]``
    (which starts at array 0)."""
    if len(sizes) == 2:
        return SingleLayerMemory(int(sizes[0]), chip, faults, bias=bias,
                                 first_array=first_array)
    if first_array:
        raise ConfigError("a multilayer memory starts at array 0")
    return MultilayerMemory(int(sizes[0]), [int(h) for h in sizes[1:-1]], chip, faults, bias=bias)


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
    and ``memory.info`` go with them, with ``extra`` (a JSON-able dict). Returns the path.

    Raises, before anything is written: :class:`~xbarmem.errors.ArgumentError` for a
    ``memory`` that is not a :class:`Memory`, :class:`~xbarmem.errors.FileFormatError` for an
    unprogrammed memory or a ``path`` that is a folder or in no existing folder,
    :class:`~xbarmem.errors.PatternError` for patterns that are malformed, not of the
    memory's ``N`` or a set of another kind than the memory was trained for (``info["kind"]``;
    a matrix is read as that kind), :class:`~xbarmem.errors.ConfigError` for ``extra`` that
    is not JSON."""
    patterns = _check_save(memory, as_path(path), patterns, extra)
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(memory.layers):
        tensors[_prefix(memory, k) + "g_pos"] = layer.g_pos
        tensors[_prefix(memory, k) + "g_neg"] = layer.g_neg
    tensors["fault_g_stuck"] = memory.faults.g_stuck
    for k, (w, b) in enumerate(memory.targets or []):  # none when conductances were set
        tensors[_prefix(memory, k) + "target_weights"] = w.numpy().astype(np.float32)
        if b is not None:
            tensors[_prefix(memory, k) + "target_bias"] = b.numpy().astype(np.float32)
    if len(memory.layers) == 1:
        meta = {"arch": "single", "n_neurons": memory.n_neurons, "bias": memory.has_bias,
                "first_array": memory.layers[0].first_array, "w_max": memory.layers[0].w_max}
    else:
        meta = {"arch": "multilayer", "n_neurons": memory.n_neurons,
                "hidden": memory.hidden_sizes, "bias": memory.has_bias,
                "w_max": [layer.w_max for layer in memory.layers]}
    return _write(Path(path), memory, tensors, meta, patterns, extra)


def _check_save(memory: Memory, path: Path, patterns: Any,
                extra: dict[str, Any] | None) -> PatternSet | None:
    """The patterns to save (read by :func:`as_pattern_set`), after refusing, before anything is
    written: a ``memory`` that is not a programmed :class:`Memory` (``ArgumentError`` /
    :class:`FileFormatError`), a ``path`` that is a folder or lies in no folder
    (:class:`FileFormatError`), ``extra`` that is not a JSON-able dict (:class:`ConfigError`)."""
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    if not memory.programmed:
        raise FileFormatError("cannot save a memory that has not been trained/programmed")
    output_file(path, "model")
    if extra is not None:
        check_type(extra, dict, "extra", "a dict")
        try:
            dumps(extra)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"extra must hold JSON data only: {exc}") from None
    if patterns is None:
        return None
    return memory_patterns(memory, patterns)


def _write(path: Path, memory, tensors: dict[str, np.ndarray], arch_meta: dict[str, Any],
           patterns, extra: dict[str, Any] | None) -> Path:
    extra = dict(extra or {})
    if patterns is not None:
        tensors["patterns"] = patterns.patterns
        extra["patterns"] = {"name": patterns.name, "kind": patterns.kind,
                             "image_shape": list(patterns.image_shape or [])}
        if patterns.labels is not None:
            extra["patterns"]["labels"] = patterns.labels.tolist()
    # threads: torch threads of the process writing the file (it trained and programmed the
    # memory in the usual case); the last digits of trained weights depend on it
    meta = {"format": FORMAT, **arch_meta, "chip": memory.chip.to_dict(),
            "fault_meta": memory.faults.meta, "info": memory.info, "versions": _versions(),
            "threads": torch.get_num_threads(), "extra": extra}
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    write_replacing(path, lambda target: save_file(arrays, str(target),
                                                   metadata={"xbarmem": dumps(meta)}))
    return path


@checked_keywords
def load_memory(path: str | Path) -> Memory:
    """Read a memory written by :func:`save_memory` (a :class:`SingleLayerMemory` or a
    :class:`MultilayerMemory`); a foreign, corrupt or invalid file (see the module docstring)
    raises :class:`~xbarmem.errors.FileFormatError`; a file above the memory limit
    :class:`~xbarmem.limits.TooLargeError`."""
    return load_model(path)[0]


def load_model(path: str | Path, *, patterns_required: bool = False
               ) -> tuple[Memory, PatternSet | None]:
    """The memory and the pattern set saved with it (``None`` when it has none, or
    :class:`~xbarmem.errors.FileFormatError` with ``patterns_required``), from one read of the
    file; errors as :func:`load_memory`."""
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
            raise FileFormatError(f"{path}: this model was saved without its patterns")
        return None
    p = SavedPatterns.from_dict(meta.extra.get("patterns", {}))
    try:  # patterns a memory stores (no zero row: evaluate / export / adapt refused it later)
        return check_storable(PatternSet(
            tensors["patterns"], kind=p.kind, name=p.name,
            labels=None if p.labels is None else np.asarray(p.labels, np.int64),
            image_shape=tuple(p.image_shape) or None))
    except XbarmemError as exc:
        raise FileFormatError(f"{path}: invalid saved patterns: {exc}") from None


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a saved model (chip, rule, seeds, versions), checked against
    :class:`ModelMeta`; only the file's header is read. Errors as :func:`load_memory`."""
    path = as_path(path)
    try:
        with path.open("rb") as handle:
            first = handle.read(8)  # kept as read: what_is() tells an empty file, a pickle...
            size = int.from_bytes(first, "little")
            head = handle.read(min(size, _MAX_HEADER)) if len(first) == 8 else b""
    except OSError as exc:
        read_bytes(path, "model file")  # the one message for missing / directory / unreadable
        raise FileFormatError(f"cannot read model file {path}: {exc}") from None
    raw = first + head
    data, constants = _metadata(path, _header(path, raw, whole=False))
    _meta(path, data, constants)
    return data


def _read(path: Path) -> tuple[ModelMeta, dict[str, np.ndarray]]:
    """The checked metadata and tensors of a model file (tensor values checked later, with
    the memory they belong to)."""
    if not path.exists():
        raise FileFormatError(missing(path, "model file"))
    raw = read_bytes(path, "model file", expand=4.0)  # bytes, tensors, the memory built
    header = _header(path, raw, whole=True)
    meta = _meta(path, *_metadata(path, header))
    _check_tensor_shapes(path, meta, header)
    try:
        tensors = load_tensors(raw)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a readable safetensors model ({exc})") from None
    return meta, tensors


def _header(path: Path, raw: bytes, *, whole: bool) -> dict[str, Any]:
    """The safetensors JSON header of ``raw`` (``whole``: the full file, offsets checked)."""
    size = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if size < 2 or size > min(len(raw) - 8, _MAX_HEADER):
        kind = what_is(raw)  # a pattern array, a pickle, an empty file, ... given as a model
        raise FileFormatError(f"{path}: not a readable safetensors model"
                              + (f"; the file is {kind}" if kind else " (bad header size)"))
    try:
        header = parse_text(json.loads, raw[8:8 + size])
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not a readable safetensors model ({exc})") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{path}: not a readable safetensors model (header)")
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        ok = (isinstance(entry, dict) and isinstance(entry.get("shape"), list)
              and all(type(d) is int and d >= 0 for d in entry["shape"])
              and isinstance(offsets, list) and len(offsets) == 2
              and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1])
        if not ok:
            raise FileFormatError(f"{path}: not a readable safetensors model (tensor {name!r}: "
                                  "shape and data_offsets must be whole numbers >= 0)")
        if whole and offsets[1] > len(raw):
            raise FileFormatError(f"{path}: truncated (tensor {name!r} ends past the file)")
    return header


def _metadata(path: Path, header: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ``xbarmem`` metadata object of a header and the bare NaN/Infinity tokens it held
    (read as null, the rule of :mod:`xbarmem.jsontext`)."""
    tags = header.get("__metadata__")
    text = tags.get("xbarmem") if isinstance(tags, dict) else None
    constants: list[str] = []
    try:
        data = parse_text(json.loads, text, parse_constant=constants.append) \
            if isinstance(text, str) else None
    except ValueError as exc:
        raise FileFormatError(f"{path}: not an xbarmem model (its metadata is not valid JSON: "
                              f"{exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise FileFormatError(f"{path}: not an xbarmem model (no {FORMAT} metadata"
                              + (f"; format {found!r}" if found else "") + ")")
    return data, constants


def _meta(path: Path, data: dict[str, Any], constants: list[str]) -> ModelMeta:
    try:
        return ModelMeta.from_dict(data)
    except ConfigError as exc:
        read = f"; its bare {'/'.join(sorted(set(constants)))} read as null" if constants else ""
        raise FileFormatError(f"{path}: not an xbarmem model (bad metadata: {exc}{read})"
                              ) from None


def _expected_shapes(meta: ModelMeta, chip: ChipSpec) -> dict[str, tuple[tuple, bool]]:
    """Tensor name -> (shape, required); ``-1`` in a shape: any size >= 1."""
    sizes, bias = meta.sizes, int(meta.bias)
    shapes: dict[str, tuple[tuple, bool]] = {
        "fault_g_stuck": ((-1, 2, chip.array.rows, chip.array.cols), True),
        "patterns": ((-1, meta.n_neurons), False)}
    several = len(sizes) > 2
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        prefix = f"layer{k}." if several else ""
        shapes[prefix + "g_pos"] = shapes[prefix + "g_neg"] = ((n_out, n_in + bias), True)
        shapes[prefix + "target_weights"] = ((n_out, n_in), False)
        if bias:
            shapes[prefix + "target_bias"] = ((n_out,), False)
    return shapes


def _check_tensor_shapes(path: Path, meta: ModelMeta, header: dict[str, Any]) -> None:
    """Every tensor the metadata implies is there (float, right shape); no other tensor."""
    expected = _expected_shapes(meta, ChipSpec.from_dict(meta.chip))
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    for name, entry in entries.items():
        if name not in expected:
            raise FileFormatError(f"{path}: invalid model contents: unexpected tensor {name!r} "
                                  f"for a {meta.arch} memory of sizes {meta.sizes}")
        shape, found = expected[name][0], tuple(entry["shape"])
        fits = len(found) == len(shape) and all(
            f == s or (s == -1 and f >= 1) for f, s in zip(found, shape, strict=True))
        if entry.get("dtype") not in _FLOAT_DTYPES or not fits:
            want = "x".join("n" if s == -1 else str(s) for s in shape)
            raise FileFormatError(f"{path}: invalid model contents: tensor {name!r} is "
                                  f"{entry.get('dtype')} {list(found)}, expected float "
                                  f"({'/'.join(_FLOAT_DTYPES)}) of shape {want}")
    missing = [name for name, (_, required) in expected.items()
               if required and name not in entries]
    if missing:
        raise FileFormatError(f"{path}: invalid model contents: missing tensor(s) "
                              f"{', '.join(missing)}")


def _restore(meta: ModelMeta, tensors: dict[str, np.ndarray]) -> Memory:
    """The memory a file's metadata and tensors describe, in its programmed state."""
    chip = ChipSpec.from_dict(meta.chip)
    faults = FaultMap(tensors["fault_g_stuck"], dict(meta.fault_meta))
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
    check_target_gain(memory)
    memory.info = dict(meta.info)
    if meta.kind is not None:  # a file without info.kind: its saved patterns' kind
        memory.info["kind"] = meta.kind
    return memory


def check_target_gain(memory: Memory) -> None:
    """A saved ``w_max`` (a model file's, an export's) is the one the memory's target weights
    were programmed with (:meth:`~xbarmem.hardware.crossbar.Crossbar.target_w_max`: the chip's
    ``array.weight_range`` under the ``device`` fault model, the largest free target weight
    under ``weight``); another (an edited chip or file) was refused by ``export`` and
    ``adapt`` only; ``ConfigError`` naming both values."""
    if memory.targets is None:
        return
    chip = memory.chip
    for k, (layer, (w, b)) in enumerate(zip(memory.layers, memory.targets, strict=True)):
        want = layer.target_w_max(layer.augment(w, b))
        if not np.isclose(layer.w_max, want, rtol=1e-6):
            which = f"w_max[{k}]" if len(memory.layers) > 1 else "w_max"
            if chip.array.fault_model == "device":
                found, rule = f"chip.array.weight_range {want:g}", "weight_range"
            else:
                found, rule = f"{want:g}, the largest |target weight| of its free pairs", \
                    "that weight"
            raise ConfigError(f"{which} {layer.w_max:g} contradicts {found}: under the "
                              f"{chip.array.fault_model} fault model the target weights are "
                              f"programmed with w_max = {rule}")


def set_saved_conductances(layer, g_pos: np.ndarray, g_neg: np.ndarray, w_max: Any,
                           prefix: str = "") -> None:
    """Set ``layer`` to saved conductances (a model file's or an export's) after checking them
    (:func:`_check_conductances`); ``ConfigError`` naming ``prefix + "g_pos"`` etc. otherwise."""
    _check_conductances(layer, (g_pos, g_neg), prefix)
    layer.set_conductances(g_pos, g_neg, w_max)


def saved_targets(layer, weights: np.ndarray, bias: np.ndarray | None, prefix: str = ""
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The target weights and bias saved for ``layer`` as tensors, after checking them: float,
    of shape ``(n_out, n_in)`` and ``(n_out,)`` (a bias only for a layer with one), finite;
    ``ConfigError`` naming ``prefix + "target_weights"`` etc. otherwise."""
    expected = {"target_weights": (layer.n_out, layer.n_in),
                "target_bias": (layer.n_out,) if layer.has_bias else None}
    out = []
    for name, a in (("target_weights", weights), ("target_bias", bias)):
        if a is None:
            out.append(None)
            continue
        a = np.asarray(a)
        shape = expected[name]
        if a.dtype.kind != "f" or a.shape != shape:
            want = "none (the layer has no bias)" if shape is None else \
                "float of shape " + "x".join(map(str, shape))
            raise ConfigError(f"tensor {prefix + name!r} is {a.dtype} {list(a.shape)}, "
                              f"expected {want}")
        out.append(torch.as_tensor(_finite(a, prefix + name)))
    return out[0], out[1]


def _finite(a: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(a).all():
        raise ConfigError(f"tensor {name!r} holds NaN or infinite values")
    return a


def _check_conductances(layer, planes: tuple[np.ndarray, np.ndarray], prefix: str) -> None:
    """Saved conductances (siemens): finite and in ``[0, g_max + WINDOW_SLACK window
    widths]``, the rule of fault maps (read-back values, e.g. of an adapted model, may lie a
    little outside the programmable window)."""
    dev = layer.chip.device
    high = highest_reading(dev)
    for g, name in zip(planes, ("g_pos", "g_neg"), strict=True):
        _finite(g, prefix + name)
        bad = (g < 0) | (g > high)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise ConfigError(
                f"tensor {prefix + name!r}: {int(bad.sum())} conductance(s) outside [0, "
                f"{high:.4g}] S (the chip window [{dev.g_min:.4g}, {dev.g_max:.4g}] S plus "
                f"{WINDOW_SLACK:g} window width), e.g. {g[i, j]:.4g} S at [{i}, {j}]")


@checked_keywords
def load_stored_patterns(path: str | Path) -> PatternSet:
    """The :class:`~xbarmem.data.patterns.PatternSet` saved with a model by
    ``save_memory(..., patterns=...)`` (with its kind, name, image shape and labels).
    A file that is not a valid model, or a model saved without patterns, raises
    :class:`~xbarmem.errors.FileFormatError`."""
    path = as_path(path)
    return _patterns(path, *_read(path), required=True)
