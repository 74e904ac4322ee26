"""Saving and loading trained memories: safetensors tensors plus JSON metadata, never pickle.

One ``.safetensors`` file holds the programmed conductances (siemens), the target weights, the
chip's fault map and, in the header metadata, the chip spec, the rule and its options, seeds and
versions. Loading rebuilds the memory in exactly its programmed state (no re-programming, so no
new write error).
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

from xbarmem.errors import FileFormatError, XbarmemError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
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


def save_memory(memory: SingleLayerMemory | MultilayerMemory, path: str | Path, *,
                patterns=None, extra: dict[str, Any] | None = None) -> Path:
    """Write ``memory`` (must be programmed) to ``path`` (``.safetensors``); ``patterns`` (a
    :class:`~xbarmem.data.patterns.PatternSet`) are saved alongside so the model can be evaluated.
    Multilayer memories store layer ``k``'s tensors under ``layer{k}.*``."""
    if isinstance(memory, MultilayerMemory):
        return _save_multilayer(memory, path, patterns, extra)
    cb = memory.crossbar
    if not cb.programmed:
        raise FileFormatError("cannot save a memory that has not been trained/programmed")
    path = Path(path)
    tensors = {"g_pos": cb.g_pos, "g_neg": cb.g_neg, "fault_g_stuck": memory.faults.g_stuck}
    if memory.target_weights is not None:  # None when conductances were set directly
        tensors["target_weights"] = memory.target_weights.numpy().astype(np.float32)
    if memory.target_bias is not None:
        tensors["target_bias"] = memory.target_bias.numpy().astype(np.float32)
    meta = {"arch": "single", "n_neurons": memory.n_neurons, "bias": memory.has_bias,
            "first_array": cb.first_array, "w_max": cb.w_max}
    return _write(path, memory, tensors, meta, patterns, extra)


def _save_multilayer(memory: MultilayerMemory, path: str | Path, patterns,
                     extra: dict[str, Any] | None) -> Path:
    if not all(layer.programmed for layer in memory.layers):
        raise FileFormatError("cannot save a memory that has not been trained/programmed")
    tensors: dict[str, np.ndarray] = {"fault_g_stuck": memory.faults.g_stuck}
    for k, layer in enumerate(memory.layers):
        tensors[f"layer{k}.g_pos"] = layer.g_pos
        tensors[f"layer{k}.g_neg"] = layer.g_neg
        if memory.target_weights is not None:
            tensors[f"layer{k}.target_weights"] = memory.target_weights[k].numpy().astype(
                np.float32)
        if memory.target_biases is not None and memory.target_biases[k] is not None:
            tensors[f"layer{k}.target_bias"] = memory.target_biases[k].numpy().astype(np.float32)
    meta = {"arch": "multilayer", "n_neurons": memory.n_neurons,
            "hidden": memory.hidden_sizes, "bias": memory.has_bias,
            "w_max": [layer.w_max for layer in memory.layers]}
    return _write(Path(path), memory, tensors, meta, patterns, extra)


def _write(path: Path, memory, tensors: dict[str, np.ndarray], arch_meta: dict[str, Any],
           patterns, extra: dict[str, Any] | None) -> Path:
    extra = dict(extra or {})
    if patterns is not None:
        tensors["patterns"] = patterns.patterns
        extra["patterns"] = {"name": patterns.name, "kind": patterns.kind,
                             "image_shape": list(patterns.image_shape or [])}
    meta = {"format": FORMAT, **arch_meta, "chip": memory.chip.to_dict(),
            "fault_meta": memory.faults.meta, "info": memory.info, "versions": _versions(),
            "extra": extra}
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata={"xbarmem": json.dumps(meta)})
    return path


def load_memory(path: str | Path) -> SingleLayerMemory | MultilayerMemory:
    """Read a memory written by :func:`save_memory`; a foreign or corrupt file raises
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
        chip = ChipSpec.from_dict(meta["chip"])
        faults = FaultMap(tensors["fault_g_stuck"], meta.get("fault_meta", {}))
        if meta.get("arch", "single") == "multilayer":
            return _load_multilayer(meta, tensors, chip, faults)
        memory = SingleLayerMemory(int(meta["n_neurons"]), chip, faults, bias=bool(meta["bias"]),
                                   first_array=int(meta["first_array"]))
        memory.crossbar.set_conductances(tensors["g_pos"], tensors["g_neg"], float(meta["w_max"]))
        if "target_weights" in tensors:
            memory.target_weights = torch.as_tensor(tensors["target_weights"])
        if "target_bias" in tensors:
            memory.target_bias = torch.as_tensor(tensors["target_bias"])
        memory.info = meta.get("info", {})
    except (KeyError, json.JSONDecodeError, TypeError) as exc:
        raise FileFormatError(f"{path}: not an xbarmem model (missing or bad {exc})") from exc
    except XbarmemError as exc:  # e.g. a chip spec or conductances that fail validation
        raise FileFormatError(f"{path}: invalid model contents: {exc}") from exc
    return memory


def _load_multilayer(meta: dict[str, Any], tensors: dict[str, np.ndarray], chip: ChipSpec,
                     faults: FaultMap) -> MultilayerMemory:
    memory = MultilayerMemory(int(meta["n_neurons"]), [int(h) for h in meta["hidden"]], chip,
                              faults, bias=bool(meta["bias"]))
    targets, biases = [], []
    for k, (layer, w_max) in enumerate(zip(memory.layers, meta["w_max"], strict=True)):
        layer.set_conductances(tensors[f"layer{k}.g_pos"], tensors[f"layer{k}.g_neg"],
                               float(w_max))
        if f"layer{k}.target_weights" in tensors:
            targets.append(torch.as_tensor(tensors[f"layer{k}.target_weights"]))
        bias = tensors.get(f"layer{k}.target_bias")
        biases.append(None if bias is None else torch.as_tensor(bias))
    memory.target_weights = targets if len(targets) == len(memory.layers) else None
    memory.target_biases = biases
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
