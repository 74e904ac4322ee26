"""Export a trained memory to what a device researcher programs: every device of every array.

:func:`export_memory` writes a folder:

* ``devices.csv`` -- one row per device of every array the memory occupies:
  ``layer,array,row,col,polarity,used,target_uS,programmed_uS,stuck,stuck_uS,pinned``.
  ``stuck`` = 1: a broken device of the fault map; ``pinned`` = 1: a device that missed its
  target by more than adaptation's tolerance (:mod:`~xbarmem.deploy.chip_loop`), held at its
  read value and left out of re-programming, not known to be broken; ``stuck_uS``: the
  conductance either is held at (empty: free). ``row``/``col``
  are physical (inside the array), ``polarity`` is ``G+`` or ``G-``. ``target_uS`` is what
  programming aims at *before* write error (realisable interval, window clipping and level
  quantisation applied; a stuck device's target is its stuck value; for a memory
  :func:`~xbarmem.memory.variation.reprogram`-med with programming variation, as its
  ``info["variation"]`` records, the target weights plus that variation's noise, which is what
  its programming aimed at); ``programmed_uS`` is the
  conductance as written in the model (target plus the simulated write error). Cells the
  memory does not use (``used = 0``) are given target g_min (lowest conductance; each has its
  row not driven or its column not sensed). ``layer`` is empty for unused cells.
  Microsiemens have 6 decimals (1 pS), more on a chip whose window is narrower than 1 uS
  (:func:`uS_decimals`: every value to a millionth of the window).
  Append a ``read_uS`` column after programming a real chip and the file is the measured-chip
  input of :mod:`xbarmem.hardware.measured`.
* ``targets_S.npy``, ``programmed_S.npy``, ``stuck_S.npy`` (NaN = free; stuck and pinned
  devices, told apart in ``devices.csv`` and ``fault_map.npz``, as the manifest's
  ``faults.stuck_npy`` says; a held device keeps its read value, on a measured chip possibly
  outside ``[g_min, g_max]``; an adapted model's ``programmed_S.npy`` holds a held device's
  read-back, ``stuck_S.npy`` its recorded value, within ``faults.meta.adapt_tolerance_S``),
  ``used.npy`` -- the
  same, float64 ``(n_arrays, 2, rows, cols)`` siemens (bool for ``used``).
  An export of what to re-program (``program``, e.g. after
  :func:`~xbarmem.deploy.chip_loop.adapt_read_back`) gives targets only for the devices to
  write: NaN in ``targets_S.npy``, an empty ``target_uS`` in ``devices.csv`` = leave the device
  as it is (the backends' NaN convention); the manifest's ``program`` entry counts them.
* ``fault_map.npz`` -- the fault map as the layers use it (:class:`~xbarmem.hardware.faults.
  FaultMap` format): under the ``weight`` fault model, whose bias is never faulty, without the
  faults of the bias rows (the manifest's ``faults.freed_by_fault_model`` counts them; they are
  free in ``stuck_S.npy`` too and have targets as free devices). The count is of the exported
  memory's own fault map: the memory :func:`~xbarmem.deploy.reload.load_export` rebuilds has
  the fault map of ``stuck_S.npy``, which holds those devices free already, so exporting it
  again counts 0 -- every file and every other manifest entry the same, recall identical (no
  export records which bias devices the first memory's map had stuck).
* ``layer<k>_weights.npy`` / ``layer<k>_bias.npy`` -- trained target weights (weight units),
  float32 ``(n_out, n_in)`` and ``(n_out,)``: element ``[i, j]`` is the weight from input ``j``
  (a driven row) to output ``i`` (a sensed column), the transpose of the arrays' rows x cols
  (the manifest's ``mapping.weights_npy`` says so).
* ``patterns.npy`` -- the stored patterns, when the model has them.
* ``manifest.json`` -- ``units`` (of the files, currents, voltages and the chip's values),
  chip, array size, weight-to-conductance mapping, input voltage levels,
  bias rows, placement of every layer's tiles, fault map summary, recall mode and the expected
  sensed-current ranges (computed from the programmed conductances); ``removed``: the files
  of an earlier export in the same folder that this one does not hold, deleted (a folder
  holds one export).

The files are written together (:func:`~xbarmem.files.written_together`): an export that
fails (a full disk, an interrupt) leaves the folder as it was, none of its files written, an
earlier export whole.

:func:`~xbarmem.deploy.reload.load_export` rebuilds the memory from the folder in exactly its
programmed state, so it recalls exactly like the original (same states for the same cues and
seed).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xbarmem.checks import as_real_array, check_type, checked_keywords, counted, tensor_of
from xbarmem.deploy.backend import conductance_targets, target_parameters, weight_scale
from xbarmem.errors import ConfigError, PatternError
from xbarmem.files import (
    check_members_writable,
    make_folder,
    output_folder,
    undone_on_failure_of,
    write_atomically,
    write_file,
    write_npy,
    written_together,
)
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import PLANES, WINDOW_SLACK, FaultMap, chip_record
from xbarmem.jsontext import dumps, loads
from xbarmem.memory.base import Memory, memory_kind, memory_patterns
from xbarmem.memory.recall import check_recall
from xbarmem.memory.variation import programmed_targets

__all__ = ["export_memory"]

FORMAT = "xbarmem-export/1"
CSV_COLUMNS = ["layer", "array", "row", "col", "polarity", "used", "target_uS",
               "programmed_uS", "stuck", "stuck_uS", "pinned"]


def _physical(layers: list[Crossbar], logical: list[np.ndarray], n_arrays: int,
              fill: float) -> np.ndarray:
    """Per-layer logical ``(2, n_out, n_rows)`` data -> chip ``(n_arrays, 2, rows, cols)``."""
    rows, cols = layers[0].chip.array.rows, layers[0].chip.array.cols
    out = np.full((n_arrays, 2, rows, cols), fill, dtype=np.float64)
    for layer, data in zip(layers, logical, strict=True):
        block = layer.scatter(np.asarray(data, dtype=np.float64), fill=np.nan)
        sl = slice(layer.first_array, layer.first_array + layer.n_arrays)
        out[sl] = np.where(np.isnan(block), out[sl], block)
    return out


def _layer_index(layers: list[Crossbar], n_arrays: int) -> np.ndarray:
    """``(n_arrays, 2, rows, cols)`` int: layer using each cell, -1 if unused."""
    marks = [np.full((2, ly.n_out, ly.n_rows), float(k)) for k, ly in enumerate(layers)]
    return np.nan_to_num(_physical(layers, marks, n_arrays, np.nan), nan=-1).astype(int)


def used_cells(memory: Memory) -> np.ndarray:
    """Bool ``(n_arrays, 2, rows, cols)``: the cells of the arrays the memory occupies (from
    array 0, the layout of ``targets_S.npy``) that hold one of its devices."""
    layers = list(memory.layers)
    return _layer_index(layers, max(ly.first_array + ly.n_arrays for ly in layers)) >= 0


def programmed_cells(memory: Memory) -> np.ndarray:
    """Float64 ``(n_arrays, 2, rows, cols)`` siemens, the layout of :func:`used_cells`: the
    conductance the model holds at each used cell as written (``programmed_S.npy``), NaN at
    the unused ones."""
    layers = list(memory.layers)
    n_arrays = max(ly.first_array + ly.n_arrays for ly in layers)
    return _physical(layers, [ly.planes() for ly in layers], n_arrays, np.nan)


def export_names(memory: Memory) -> list[str]:
    """Every file :func:`export_memory` may write into its folder for ``memory``."""
    names = ["devices.csv", "targets_S.npy", "programmed_S.npy", "stuck_S.npy", "used.npy",
             "fault_map.npz", "patterns.npy", "manifest.json"]
    for k in range(len(memory.layers)):
        names += [f"layer{k}_weights.npy", f"layer{k}_bias.npy"]
    return names


def placement(layer: Crossbar) -> list[dict[str, Any]]:
    """Tiles of a layer: chip array, logical rows (inputs, bias row last) and columns (outputs)
    it holds, and where they sit inside the array (rows/cols as half-open ``[start, stop)``)."""
    out = []
    for a, r, c in layer._tile_of():
        out.append({"array": a, "logical_rows": [r.start, r.stop],
                    "logical_cols": [c.start, c.stop],
                    "physical_rows": [0, r.stop - r.start], "physical_cols": [0, c.stop - c.start]})
    return out


def _bias_location(layer: Crossbar) -> list[dict[str, int]]:
    if not layer.has_bias:
        return []
    j = layer.n_in
    return [{"array": t["array"], "row": j - t["logical_rows"][0],
             "logical_cols": t["logical_cols"]}
            for t in placement(layer) if t["logical_rows"][0] <= j < t["logical_rows"][1]]


def current_ranges(layer: Crossbar, inputs: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Expected sensed currents (amperes) of every array tile of a programmed layer.

    For inputs in [-1, 1] (rows at ``x * V_read``, bias row at +V_read) and the programmed
    conductances, per array: ``plane_max_A`` -- the largest column current magnitude of each
    plane (G+, G-) over any input; ``differential_A`` -- ``[min, max]`` over columns and inputs
    of ``I+ - I-``; with ``inputs`` ``(B, n_in)`` also ``at_inputs_A``, the noise-free range of
    ``I+ - I-`` when those inputs (e.g. the stored patterns) are applied.
    """
    check_type(layer, Crossbar, "layer", "a programmed Crossbar (a layer of a memory)")
    if not layer.programmed:
        raise ConfigError("layer has not been programmed; its currents need its conductances")
    if inputs is not None:
        inputs = as_real_array(inputs, "inputs", error=PatternError)
        if inputs.ndim != 2 or inputs.shape[1] != layer.n_in:
            raise PatternError(f"inputs must have shape (batch, {layer.n_in}), got "
                               f"{inputs.shape}")
    volts = layer.chip.array.read_voltage
    g = layer.planes()  # (2, n_out, n_rows)
    bias = np.zeros(layer.n_rows, dtype=bool)
    if layer.has_bias:
        bias[layer.n_in] = True
    u = None
    if inputs is not None:
        u = np.asarray(inputs, dtype=np.float64)
        if layer.has_bias:
            u = np.concatenate([u, np.ones((u.shape[0], 1))], axis=1)
    out = []
    for a, r, c in layer._tile_of():
        gt = g[:, c, r]  # (2, cols_used, rows_used)
        fixed = bias[r]
        plane = volts * np.abs(gt).sum(axis=2)  # |I| <= V * sum G (bias row included)
        dg = gt[0] - gt[1]
        centre = volts * (dg * fixed).sum(axis=1)
        swing = volts * (np.abs(dg) * ~fixed).sum(axis=1)
        entry = {"array": a, "plane_max_A": [float(plane[0].max()), float(plane[1].max())],
                 "differential_A": [float((centre - swing).min()),
                                    float((centre + swing).max())]}
        if u is not None:
            i = volts * u[:, r] @ dg.T
            entry["at_inputs_A"] = [float(i.min()), float(i.max())]
        out.append(entry)
    return out


def _hidden_inputs(layers: list[Crossbar], patterns: np.ndarray | None) -> list[Any]:
    """Noise-free input of every layer when the stored patterns are applied."""
    if patterns is None:
        return [None] * len(layers)
    h = tensor_of(patterns, dtype=torch.float32)
    out = []
    for k, layer in enumerate(layers):
        out.append(h.double().numpy())
        w, b = layer.effective()
        h = h @ w.T + (0 if b is None else b)
        if k < len(layers) - 1:
            h = torch.tanh(h)
    return out


@checked_keywords
@undone_on_failure_of
def export_memory(memory: Memory, out_dir: str | Path, *, patterns: Any = None,
                  mode: str = "sync", activation: str | None = None,
                  max_iterations: int = 100, source: str = "",
                  program: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Write the export folder of a programmed memory (see module docstring).

    Args:
        memory: a programmed :class:`~xbarmem.memory.base.Memory` holding its target weights.
        out_dir: folder, created if missing.
        patterns: the stored patterns (optional): a :class:`~xbarmem.data.patterns.PatternSet`
            or a ``(P, N)`` matrix read as the memory's kind (:func:`memory_patterns`;
            :class:`PatternError` before anything is written when they are malformed, of
            another kind or ``N`` than the memory's).
        mode: the recall to record (``sync`` or ``async``), with ``activation`` (default:
            sign for binary patterns, tanh for continuous) and ``max_iterations``.
        source: where the model came from (recorded in the manifest).
        program: per layer, float64 ``(2, n_out, n_rows)`` siemens, NaN = leave the device
            (e.g. :attr:`~xbarmem.deploy.chip_loop.ReadBackResult.targets`): the export then
            asks to program only these devices: every other cell's target is NaN in
            ``targets_S.npy`` and empty in ``devices.csv`` (leave it as it is), and the
            manifest's ``program`` entry says so. Default: every cell has its target.

    Returns:
        The manifest (also written to ``manifest.json``).

    Raises :class:`ConfigError` before anything is written for an unprogrammed memory, a bad
    recall (:func:`~xbarmem.memory.recall.check_recall`), an ``out_dir`` that is a file or
    holds a link or a folder where an export file goes (never written through);
    :class:`~xbarmem.errors.ArgumentError` for a ``memory`` that is not a :class:`Memory`.
    """
    out, patterns = _check_export(memory, out_dir, patterns)
    kind = patterns.kind if patterns is not None else memory_kind(memory) or "binary"
    if activation is None:
        activation = "sign" if kind == "binary" else "tanh"
    mode, activation = check_recall(mode, activation, max_iterations)
    check_type(source, str, "source", "a text (where the model came from)")
    cells = _cells(memory)
    leave = _program_only(memory, cells, program)
    recall_entry = {"mode": mode, "activation": activation, "max_iterations": max_iterations,
                    "kind": kind, "sync": "all neurons at once from one product per layer",
                    "async": "one neuron per step: hidden layers read in full, one output "
                             "column"}
    make_folder(out)
    with written_together():  # every file of the export, or (a write failing) none of them
        manifest = _write_files(out, memory, cells, patterns, {
            "format": FORMAT, "source": source, "recall": recall_entry, "program": leave})
    for name in manifest["removed"]:  # once the new export is in place
        (out / name).unlink(missing_ok=True)
    return manifest


def _write_files(out: Path, memory: Memory, cells: dict[str, Any], patterns: Any,
                 entries: dict[str, Any]) -> dict[str, Any]:
    """Write every file of the export into ``out`` and return its manifest (``entries`` and
    those made from the files)."""
    files = _save_cells(out, cells, memory.faults, chip_record(memory.chip))
    files.update(_save_targets(out, memory))
    x = None
    if patterns is not None:
        x = np.asarray(patterns.patterns, dtype=np.float32)
        write_npy(out / "patterns.npy", x)
        files["patterns"] = "patterns.npy"
    _write_csv(out / "devices.csv", cells, uS_decimals(memory.chip.device.g_range))
    manifest = {"format": entries["format"], "source": entries["source"],
                **_chip_manifest(memory, cells, files),
                "layers": _layers_manifest(memory.layers, cells["w_max"],
                                           _hidden_inputs(memory.layers, x)),
                "faults": _faults_manifest(memory, cells, files["fault_map"]),
                "recall": entries["recall"], "devices": _device_counts(cells),
                "program": entries["program"], "model_info": manifest_info(memory.info)}
    _write_manifest(out, manifest, files)
    return manifest


def _write_manifest(out: Path, manifest: dict[str, Any], files: dict[str, str]) -> None:
    """Write ``manifest.json`` with its ``removed`` entry: the files an earlier export in
    ``out`` listed that this one does not hold (deleted by :func:`export_memory` once the new
    export is in place)."""
    stale = earlier_files(out) - {*files.values(), "devices.csv", "manifest.json"}
    manifest["removed"] = sorted(stale)
    write_file(out / "manifest.json", dumps(manifest, indent=2))


def earlier_files(out: str | Path) -> set[str]:
    """The files an earlier export listed in ``out/manifest.json`` (plain file names inside
    ``out`` only; none when there is no readable manifest of an export): those that an export
    into ``out`` does not hold are removed once it is written (its manifest's ``removed``)."""
    out = Path(out)
    try:
        earlier = loads((out / "manifest.json").read_bytes())
        names = earlier["files"].values() if earlier.get("format") == FORMAT else ()
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()
    return {n for n in names if isinstance(n, str) and Path(n).name == n
            and (out / n).is_file() and not (out / n).is_symlink()}


def _program_only(memory: Memory, cells: dict[str, Any],
                  program: list[np.ndarray] | None) -> dict[str, Any]:
    """With ``program``: the cells' targets outside it become NaN (leave); the manifest's
    ``program`` entry: the devices to write and to leave (without ``program``, every used
    device that is neither stuck nor pinned is written, as the simulated chip's open-loop
    round writes them). :class:`ConfigError` for arrays that do not fit the layers."""
    if program is None:
        write = cells["used"] & np.isnan(cells["stuck"])
        return {"devices": int(write.sum()), "leave": int(write.size - write.sum()),
                "rule": "program every used device that is neither stuck nor pinned (used = 1, "
                        "stuck = 0, pinned = 0 in devices.csv) to its target; leave the others "
                        "(stuck and pinned devices are held at stuck_uS, an unused cell adds no "
                        "current)"}
    check_type(program, list | tuple, "program", "a list of arrays (one per layer)")
    program = [as_real_array(p, f"program[{k}]") for k, p in enumerate(program)]
    if len(program) != len(memory.layers):
        raise ConfigError(f"program: {counted(len(program), 'array')} for "
                          f"{counted(len(memory.layers), 'layer')}")
    for k, (layer, p) in enumerate(zip(memory.layers, program, strict=True)):
        if np.shape(p) != (2, layer.n_out, layer.n_rows):
            raise ConfigError(f"program: layer {k} needs shape (2, {layer.n_out}, "
                              f"{layer.n_rows}), got {np.shape(p)}")
    write = ~np.isnan(_physical(memory.layers, program, cells["n_arrays"], np.nan))
    cells["target"] = np.where(write, cells["target"], np.nan)
    return {"devices": int(write.sum()), "leave": int(write.size - write.sum()),
            "rule": "program only the cells with a target; NaN in targets_S.npy (empty "
                    "target_uS in devices.csv) = leave the device as it is"}


def _check_export(memory: Memory, out_dir: str | Path, patterns: Any) -> tuple[Path, Any]:
    """The export folder and the patterns read (``None`` stays ``None``); :class:`ConfigError`
    for an unprogrammed memory or an ``out_dir`` that is (or lies in) a file,
    :class:`PatternError` for patterns that are malformed or not of the memory's N,
    :class:`~xbarmem.errors.ArgumentError` for a ``memory`` that is not a :class:`Memory`."""
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    for k, layer in enumerate(memory.layers):
        if not layer.programmed:
            raise ConfigError(f"layer {k} has not been programmed; train the memory first")
    out = output_folder(out_dir, "export", error=ConfigError)
    check_members_writable(out, export_names(memory), "export", error=ConfigError)
    if patterns is not None:
        patterns = memory_patterns(memory, patterns)
    return out, patterns


def _cells(memory: Memory) -> dict[str, Any]:
    """Every cell of the arrays the memory occupies: ``target`` and ``programmed``
    conductances, ``stuck`` (NaN = free), ``layer`` index (-1 unused) and ``used``, each
    ``(n_arrays, 2, rows, cols)``; ``w_max`` of every layer."""
    layers, dev = memory.layers, memory.chip.device
    n_arrays = max(ly.first_array + ly.n_arrays for ly in layers)
    targets, w_maxes = [], []
    target_parameters(memory)  # (a memory without targets refused)
    # what programming aimed at: a reprogrammed memory's targets with its variation's noise
    for layer, (w, b) in zip(layers, programmed_targets(memory), strict=True):
        t, w_max = conductance_targets(layer, w, b)
        if not np.isclose(w_max, layer.w_max, rtol=1e-6):
            raise ConfigError(f"target weights map to w_max {w_max} but the programmed layer "
                              f"uses {layer.w_max}: the memory was not programmed from them")
        targets.append(t)
        w_maxes.append(layer.w_max)
    programmed = [ly.planes() for ly in layers]
    used_layer = _layer_index(layers, n_arrays)
    used = used_layer >= 0
    g_target = _physical(layers, targets, n_arrays, dev.g_min)
    g_prog = _physical(layers, programmed, n_arrays, np.nan)
    # a used device is stuck when its layer treats it so (the weight fault model frees the
    # bias row of a map's faulty pairs); an unused one as the fault map says
    stuck = np.where(used, _physical(layers, [ly.g_stuck for ly in layers], n_arrays, np.nan),
                     memory.faults.g_stuck[:n_arrays])
    pinned = memory.faults.pinned_mask[:n_arrays] & ~np.isnan(stuck)  # held, not known broken
    unused_stuck = ~used & ~np.isnan(stuck)
    g_target[unused_stuck] = stuck[unused_stuck]
    g_prog = np.where(used, g_prog, g_target)
    return {"n_arrays": n_arrays, "target": g_target, "programmed": g_prog, "stuck": stuck,
            "pinned": pinned, "layer": used_layer, "used": used, "w_max": w_maxes}


def _save_cells(out: Path, cells: dict[str, Any], faults: FaultMap,
                chip: str | dict[str, Any]) -> dict[str, str]:
    """The ``.npy`` files of the cells and the fault map file (the cells' stuck devices with
    ``faults``' metadata and the model's ``chip``, :func:`chip_record`); returns the files
    entry."""
    write_npy(out / "targets_S.npy", cells["target"])
    write_npy(out / "programmed_S.npy", cells["programmed"])
    write_npy(out / "stuck_S.npy", cells["stuck"])
    write_npy(out / "used.npy", cells["used"])
    FaultMap(cells["stuck"], {**faults.meta, "chip": chip}, cells["pinned"]).save(
        out / "fault_map.npz")
    return {"devices_csv": "devices.csv", "targets_npy": "targets_S.npy",
            "programmed_npy": "programmed_S.npy", "stuck_npy": "stuck_S.npy",
            "used_npy": "used.npy", "fault_map": "fault_map.npz"}


def _save_targets(out: Path, memory: Memory) -> dict[str, str]:
    """``layer<k>_weights.npy`` / ``layer<k>_bias.npy``; returns their files entries."""
    files = {}
    for k, (w, b) in enumerate(target_parameters(memory)):
        write_npy(out / f"layer{k}_weights.npy", torch.as_tensor(w).float().numpy())
        files[f"layer{k}_weights"] = f"layer{k}_weights.npy"
        if b is not None:
            write_npy(out / f"layer{k}_bias.npy", torch.as_tensor(b).float().numpy())
            files[f"layer{k}_bias"] = f"layer{k}_bias.npy"
    return files


def _chip_manifest(memory: Memory, cells: dict[str, Any],
                   files: dict[str, str]) -> dict[str, Any]:
    """Units, files, chip, arrays, mapping, inputs entries and the memory's shape: ``arch``
    (``single`` / ``multilayer``), ``layout`` (the widths label, ``"64-32-64"``) and
    ``layer_sizes`` (the widths, ``[64, 32, 64]``), as every output names them."""
    chip, layers = memory.chip, memory.layers
    dev, volts = chip.device, chip.array.read_voltage
    rows, cols, n_arrays = chip.array.rows, chip.array.cols, cells["n_arrays"]
    return {
        "units": {"csv_conductance": "uS", "npy_conductance": "S", "current": "A",
                  "voltage": "V", "weights": "weight units (w)", "chip": CHIP_UNITS},
        "files": files,
        "chip": chip.to_dict(),
        "arrays": {"count": n_arrays, "rows": rows, "cols": cols, "planes": list(PLANES),
                   "npy_shape": [n_arrays, 2, rows, cols],
                   "orientation": "inputs drive rows (word lines), outputs are sensed on "
                                  "columns (bit lines); each cell is a pair G+ (plane 0) / G- "
                                  "(plane 1)",
                   "tiles": "layers[k].tiles: rows and cols as [start, stop), stop excluded; "
                            "physical_rows / physical_cols count from row and col 0 of the "
                            "array, the rest of it unused; layers[k].bias_rows[].row too"},
        "mapping": {
            "formula": "w = w_max * (G+ - G-) / (g_max - g_min)",
            "g_min_S": dev.g_min, "g_max_S": dev.g_max, "levels": dev.levels,
            "free_pair": "one device at g_min, the other carries |w|; a free device next to a "
                         "stuck one compensates for it (a stuck device's conductance, which "
                         "may lie outside [g_min_S, g_max_S]: faults.stuck_npy)",
            "unused_cells": "target g_min; each has its row not driven or its column not sensed",
            "weights_npy": WEIGHTS_NPY,
        },
        "inputs": {"read_voltage_V": volts, "levels_V": {"+1": volts, "-1": -volts},
                   "continuous": "x in [-1, 1] is applied as x * read_voltage_V (hidden "
                                 "layers: tanh activity)",
                   "bias_row_V": volts if layers[0].has_bias else None,
                   "unused_rows_V": 0.0},
        "arch": memory.architecture, "layout": memory.layout,
        "layer_sizes": [layers[0].n_in] + [ly.n_out for ly in layers],
    }


#: keys of a model's ``info`` that an export's ``model_info`` names as every output does:
#: a multilayer memory's ``info["arch"]`` holds its widths (``"64-32-64"``), the ``layout``
#: of the outputs (where ``arch`` is the word ``single`` / ``multilayer``)
INFO_NAMES = {"arch": "layout"}


def manifest_info(info: dict[str, Any]) -> dict[str, Any]:
    """A model's ``info`` as the manifest's ``model_info`` says it: its keys of
    :data:`INFO_NAMES` under their output names (the model file keeps ``info["arch"]``;
    :func:`~xbarmem.deploy.reload.load_export` gives the memory its ``info`` back)."""
    return {INFO_NAMES.get(k, k): v for k, v in info.items()}


def _layers_manifest(layers: list[Crossbar], w_maxes: list[float],
                     inputs: list[Any]) -> list[dict[str, Any]]:
    return [{
        "index": k, "n_in": ly.n_in, "n_out": ly.n_out, "has_bias": ly.has_bias,
        "bias_logical_row": ly.n_in if ly.has_bias else None,
        "bias_rows": _bias_location(ly),
        "w_max": w_maxes[k], "siemens_per_weight": weight_scale(ly),
        "first_array": ly.first_array, "n_arrays": ly.n_arrays,
        "activation": "tanh" if k < len(layers) - 1 else "recall",
        "read_out": "output i = sum over row tiles of (I+ - I-) of column i, divided by "
                    "read_voltage_V * siemens_per_weight",
        "tiles": placement(ly),
        "currents": current_ranges(ly, inputs[k]),
    } for k, ly in enumerate(layers)]


#: how ``layer<k>_weights.npy`` / ``layer<k>_bias.npy`` lie on the arrays, in the manifest
#: (``mapping.weights_npy``)
WEIGHTS_NPY = ("layer<k>_weights.npy is (n_out, n_in): element [i, j] is the weight from input "
               "j (a driven row) to output i (a sensed column), the transpose of the arrays' "
               "rows x cols; layer<k>_bias.npy is (n_out,), the bias row's. They are the "
               "trained weights; the formula gives the weights the targets hold, which differ "
               "where the chip cannot hold them (stuck devices, window, levels) and a rule did "
               "not train for it")

#: the units of the manifest's ``chip`` (and ``faults.meta.chip``), in its ``units`` entry:
#: a chip TOML's values, whose units its comments give
CHIP_UNITS = ("chip and faults.meta.chip hold a chip file's values: device.g_min, g_max, "
              "write_noise and read_noise in S; array.read_voltage in V; array.weight_range "
              "in weight units; device.levels, array.rows and cols are counts; "
              "device.p_stuck_on and p_stuck_off are fractions")

#: what ``stuck_S.npy`` holds, in the manifest (``faults.stuck_npy``)
STUCK_NPY = ("stuck_S.npy: the conductance each device is held at, NaN = free: the devices the "
             "fault map has stuck (broken) and those adapt pinned (they missed their target by "
             "more than its tolerance and are held at their read value, not known to be "
             "broken), alike: neither is written when programming. fault_map.npz (its array "
             "'pinned') and devices.csv (columns stuck, pinned) tell them apart. A held device "
             "keeps the conductance it reads: a measured chip's stuck devices may lie outside "
             "[g_min_S, g_max_S] (from 0 to g_max_S plus "
             f"{WINDOW_SLACK:g} window width). In the export of a model adapted on a chip "
             "(model_info.adapt), programmed_S.npy holds every device as read back, a held one "
             "too, and stuck_S.npy the value the fault map recorded for it: the two differ by "
             "at most faults.meta.adapt_tolerance_S")


def _faults_manifest(memory: Memory, cells: dict[str, Any], name: str) -> dict[str, Any]:
    """The fault map file, its meta and summary, the fault model, what ``stuck_S.npy`` holds
    and ``freed_by_fault_model``: the used devices the model's fault map has held that the
    layers treat as free (the weight fault model's bias rows, never faulty), written free (0
    for a memory rebuilt from an export, whose map holds them free already)."""
    n_arrays = cells["n_arrays"]
    held = ~np.isnan(memory.faults.g_stuck[:n_arrays])
    return {"file": name, "meta": memory.faults.meta,
            "summary": FaultMap(cells["stuck"], pinned=cells["pinned"]).summary(
                memory.chip.device),
            "fault_model": memory.chip.array.fault_model, "stuck_npy": STUCK_NPY,
            "freed_by_fault_model": int((held & np.isnan(cells["stuck"])).sum())}


def _device_counts(cells: dict[str, Any]) -> dict[str, int]:
    """Devices of the arrays, used, stuck (broken: the fault map's) and pinned (missed their
    target by more than adaptation's tolerance: held at their read value, not broken)."""
    used, pinned = cells["used"], cells["pinned"]
    stuck = ~np.isnan(cells["stuck"]) & ~pinned
    return {"total": int(used.size), "used": int(used.sum()),
            "stuck": int(stuck.sum()), "used_stuck": int((used & stuck).sum()),
            "pinned": int(pinned.sum()), "used_pinned": int((used & pinned).sum())}


def uS_decimals(window: float) -> int:
    """Decimals of the microsiemens in ``devices.csv`` for a conductance window of ``window``
    siemens: 6 (1 pS) for windows of 1 uS and more, more for narrower ones, so that a value is
    written to a millionth of the window (a 0.2 nS window has levels a fraction of a pS
    apart: 6 decimals wrote them off their levels)."""
    return max(6, 6 + math.ceil(-math.log10(window * 1e6)))


def _write_csv(path: Path, cells: dict[str, Any], decimals: int) -> None:
    """``devices.csv``: one row per cell, formatted column-wise one array at a time (a
    784-neuron model on 128x128 arrays has 1.6 million rows; formatting numpy scalars cell by
    cell took most of the export's time); conductances in microsiemens with ``decimals``."""
    layer_idx, target, prog = cells["layer"], cells["target"], cells["programmed"]
    stuck, pinned = cells["stuck"], cells["pinned"]
    _, planes, rows, cols = target.shape
    p, i, j = (m.ravel().tolist() for m in np.indices((planes, rows, cols)))
    polarity = [PLANES[x] for x in p]

    def write(partial: Path) -> None:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for a in range(target.shape[0]):
                layer = layer_idx[a].ravel().tolist()
                stuck_uS = _uS_column(stuck[a], decimals)
                held = pinned[a].ravel().tolist()
                columns = ([str(k) if k >= 0 else "" for k in layer], [a] * len(layer), i, j,
                           polarity, [int(k >= 0) for k in layer],
                           _uS_column(target[a], decimals),
                           [f"{g * 1e6:.{decimals}f}" for g in prog[a].ravel().tolist()],
                           [int(s != "" and not p) for s, p in zip(stuck_uS, held,
                                                                   strict=True)],
                           stuck_uS, [int(p) for p in held])
                writer.writerows(zip(*columns, strict=True))

    write_atomically(path, write)


def _uS_column(siemens: np.ndarray, decimals: int) -> list[str]:
    """Every value in microsiemens with ``decimals`` decimals, NaN as an empty field."""
    return ["" if g != g else f"{g * 1e6:.{decimals}f}" for g in siemens.ravel().tolist()]
