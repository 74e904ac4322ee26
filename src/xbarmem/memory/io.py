"""Saving and loading trained memories: safetensors tensors plus JSON metadata, never pickle.

One ``.safetensors`` file holds the programmed conductances (siemens), the target weights, the
chip's fault map and, in the header metadata, the chip spec, the rule and its options, seeds,
versions and the torch thread count of the writing process (``threads``). Loading rebuilds the
memory in exactly its programmed state (no re-programming, so no new write error).
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from xbarmem.data.patterns import PatternSet, as_pattern_set
from xbarmem.errors import ConfigError, FileFormatError, XbarmemError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.base import Memory
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory

FORMAT = "xbarmem-model/1"


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


def save_memory(memory: Memory, path: str | Path, *, patterns=None,
                extra: dict[str, Any] | None = None) -> Path:
    """Write ``memory`` (must be programmed) to ``path`` (``.safetensors``); ``patterns`` (a
    :class:`~xbarmem.data.patterns.PatternSet` or a ``(P, N)`` matrix) are saved alongside so the
    model can be evaluated (read them back with :func:`load_stored_patterns`).
    One-layer memories store ``g_pos``, ``g_neg``, ``target_weights``, ``target_bias``;
    multilayer memories store layer ``k``'s tensors under ``layer{k}.*``."""
    if not memory.programmed:
        raise FileFormatError("cannot save a memory that has not been trained/programmed")
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


def _write(path: Path, memory, tensors: dict[str, np.ndarray], arch_meta: dict[str, Any],
           patterns, extra: dict[str, Any] | None) -> Path:
    extra = dict(extra or {})
    if patterns is not None:
        patterns = as_pattern_set(patterns)
        tensors["patterns"] = patterns.patterns
        extra["patterns"] = {"name": patterns.name, "kind": patterns.kind,
                             "image_shape": list(patterns.image_shape or [])}
    # threads: torch threads of the process writing the file (it trained and programmed the
    # memory in the usual case); the last digits of trained weights depend on it
    meta = {"format": FORMAT, **arch_meta, "chip": memory.chip.to_dict(),
            "fault_meta": memory.faults.meta, "info": memory.info, "versions": _versions(),
            "threads": torch.get_num_threads(), "extra": extra}
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata={"xbarmem": json.dumps(meta)})
    return path


def load_memory(path: str | Path) -> Memory:
    """Read a memory written by :func:`save_memory` (a :class:`SingleLayerMemory` or a
    :class:`MultilayerMemory`); a foreign or corrupt file raises
    :class:`~xbarmem.errors.FileFormatError`."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"no such model file: {path}")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="numpy") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable safetensors model ({exc})") from exc
    try:
        meta = json.loads(header["xbarmem"])
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise KeyError("format")
        return _restore(meta, tensors)
    except (KeyError, json.JSONDecodeError, TypeError) as exc:
        raise FileFormatError(f"{path}: not an xbarmem model (missing or bad {exc})") from exc
    except XbarmemError as exc:  # e.g. a chip spec or conductances that fail validation
        raise FileFormatError(f"{path}: invalid model contents: {exc}") from exc


def _restore(meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> Memory:
    """The memory a file's metadata and tensors describe, in its programmed state."""
    chip = ChipSpec.from_dict(meta["chip"])
    faults = FaultMap(tensors["fault_g_stuck"], meta.get("fault_meta", {}))
    n = int(meta["n_neurons"])
    if meta.get("arch", "single") == "multilayer":
        sizes, w_maxes, first = [n, *meta["hidden"], n], meta["w_max"], 0
    else:
        sizes, w_maxes, first = [n, n], [meta["w_max"]], int(meta["first_array"])
    memory = memory_from_sizes(sizes, chip, faults, bias=bool(meta["bias"]), first_array=first)
    targets = []
    for k, (layer, w_max) in enumerate(zip(memory.layers, w_maxes, strict=True)):
        name = _prefix(memory, k)
        layer.set_conductances(tensors[name + "g_pos"], tensors[name + "g_neg"], float(w_max))
        if name + "target_weights" in tensors:
            bias = tensors.get(name + "target_bias")
            targets.append((torch.as_tensor(tensors[name + "target_weights"]),
                            None if bias is None else torch.as_tensor(bias)))
    memory.targets = targets if len(targets) == len(memory.layers) else None
    memory.info = meta.get("info", {})
    return memory


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a saved model (chip, rule, seeds, versions)."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = json.loads((handle.metadata() or {})["xbarmem"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path}: not an xbarmem model ({exc})") from exc
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: not an xbarmem model (metadata is not a JSON object)")
    return meta


def load_stored_patterns(path: str | Path) -> PatternSet:
    """The :class:`~xbarmem.data.patterns.PatternSet` saved with a model by
    ``save_memory(..., patterns=...)`` (its kind, name and image shape; labels are not saved).
    A file that is not a model, or a model saved without patterns, raises
    :class:`~xbarmem.errors.FileFormatError`."""
    meta = read_metadata(path)
    with safe_open(str(path), framework="numpy") as handle:
        if "patterns" not in handle.keys():
            raise FileFormatError(f"{path}: this model was saved without its patterns")
        patterns = handle.get_tensor("patterns")
    info = meta.get("extra", {}).get("patterns", {})
    shape = tuple(info["image_shape"]) if info.get("image_shape") else None
    return PatternSet(patterns, kind=info.get("kind", "binary"),
                      name=info.get("name", "patterns"), image_shape=shape)
