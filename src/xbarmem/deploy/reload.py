"""An export folder read back into the memory it came from (:func:`load_export`): the
manifest and every file it names checked first (keys and types, files inside the folder, float
arrays of the expected shapes, conductances within the chip's window), then the memory rebuilt
in exactly its programmed state, so it recalls like the original. The folder's layout is
described in :mod:`xbarmem.deploy.export`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from xbarmem.checks import checked_keywords, counted, shown
from xbarmem.data.patterns import KINDS
from xbarmem.deploy.export import FORMAT, INFO_NAMES
from xbarmem.errors import ConfigError, FileFormatError, XbarmemError
from xbarmem.files import (
    ArrayFile,
    as_path,
    folder_member,
    read_bytes,
    read_text,
)
from xbarmem.hardware.chip import MAX_W_MAX, ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.jsontext import loads
from xbarmem.limits import TooLargeError
from xbarmem.memory.build import memory_from_sizes
from xbarmem.memory.model_meta import model_info_check
from xbarmem.memory.saved_tensors import check_target_gain, saved_targets, set_saved_conductances
from xbarmem.spec import Flag, ListOf, Number, Spec, Table
from xbarmem.version import format_advice, format_number


@checked_keywords
def load_export(folder: str | Path):
    """Rebuild the memory from an export folder, in exactly its programmed state (the
    ``programmed_S.npy`` conductances, no re-programming): it recalls like the original.
    A missing, corrupt or inconsistent folder raises :class:`FileFormatError` naming the file:
    manifest keys of the wrong type, files it names that are missing, not plain file names
    inside ``folder`` (``../x``, absolute paths, symbolic links leading outside it -- links
    that stay inside are followed) or not float arrays of the expected shape,
    conductances outside the chip's window (the rule of model files), NaN targets.
    Exports of earlier versions read as they did: the widths under ``sizes`` (now
    ``layer_sizes``), a multilayer memory's widths in ``model_info.arch`` (now
    ``model_info.layout``; the memory's ``info["arch"]`` either way, as in its model file)."""
    folder = as_path(folder, "folder")
    path = folder / "manifest.json"
    if not path.exists() and not path.is_symlink():
        raise FileFormatError(f"{folder}: no manifest.json (not an xbarmem export folder)")
    folder_member(folder, "manifest.json", "export file")
    manifest = _manifest(path)
    try:
        return _rebuild(folder, manifest)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, TooLargeError):
            raise
        if isinstance(exc, XbarmemError):
            raise FileFormatError(f"{path}: {exc}") from exc
        raise FileFormatError(f"{path}: bad export manifest ({exc!r})") from exc


def _manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = loads(read_text(path, "export manifest"))
    except ValueError as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        name, _, reads = FORMAT.rpartition("/")
        number = format_number(found, name)
        if number is not None:
            raise FileFormatError(f"{path}: an xbarmem export of format {found!r} ("
                                  f"{format_advice(number, int(reads))})")
        raise FileFormatError(f"{path}: format {found!r}, expected {FORMAT!r}")
    return manifest


_Count = Number(integer=True, ge=1)


@dataclass(frozen=True)
class _ManifestCheck(Spec, noun="export manifest"):
    """The keys of an export manifest that :func:`load_export` reads."""

    chip: Annotated[dict, Table()]
    files: Annotated[dict, Table()]
    layer_sizes: Annotated[list, ListOf(_Count)]
    layers: Annotated[list, ListOf(Table())]
    faults: Annotated[dict, Table()] = field(default_factory=dict)
    model_info: Annotated[dict, Table()] = field(default_factory=dict)

    def validate(self) -> None:
        sizes = self.layer_sizes
        if len(sizes) < 2 or len(self.layers) != len(sizes) - 1:
            raise ConfigError(f"layer_sizes {sizes} need "
                              f"{counted(max(len(sizes) - 1, 1), 'layer')}, the manifest "
                              f"lists {len(self.layers)}")
        model_info_check(self.model_info, self.faults.get("meta"))


@dataclass(frozen=True)
class _LayerCheck(Spec, section="layers", noun="export manifest"):
    """The keys of one ``layers`` entry that :func:`load_export` reads."""

    n_in: Annotated[int, _Count]
    n_out: Annotated[int, _Count]
    has_bias: Annotated[bool, Flag()]
    first_array: Annotated[int, Number(integer=True, ge=0)]
    w_max: Annotated[float, Number(gt=0.0, le=MAX_W_MAX)]


def _rebuild(folder: Path, manifest: dict[str, Any]):
    """The memory of a checked manifest (XbarmemError, KeyError/TypeError/ValueError for bad
    entries)."""
    m, named = _checked_manifest(manifest)
    sizes = m.layer_sizes
    layers = [_LayerCheck.from_declared(entry) for entry in m.layers]
    if [(e.n_in, e.n_out) for e in layers] != list(zip(sizes[:-1], sizes[1:], strict=True)):
        raise ConfigError(f"the layers' n_in / n_out do not match {named} {sizes}")
    chip = ChipSpec.from_dict(m.chip)
    stuck = _load_npy(folder, m.files, "stuck_npy")
    prog = _load_npy(folder, m.files, "programmed_npy", shape=stuck.shape)
    faults = FaultMap(stuck, m.faults.get("meta", {}), _pinned(folder, m.files, stuck))
    memory = memory_from_sizes(sizes, chip, faults, bias=layers[0].has_bias,
                               first_array=layers[0].first_array)
    targets = []
    for k, (layer, entry) in enumerate(zip(memory.layers, layers, strict=True)):
        if layer.first_array != entry.first_array or layer.has_bias != entry.has_bias:
            raise FileFormatError(f"layer {k} placement does not match the manifest")
        g = layer._gather(prog)
        set_saved_conductances(layer, g[0], g[1], entry.w_max, f"layer{k}.")
        bias = m.files.get(f"layer{k}_bias")
        targets.append(saved_targets(
            layer, _load_npy(folder, m.files, f"layer{k}_weights"),
            None if bias is None else _load_npy(folder, m.files, f"layer{k}_bias"), f"layer{k}."))
    memory.targets = targets
    memory.info = _with_kind(_model_info(m.model_info), manifest.get("recall"))
    check_target_gain(memory)  # (with info: a recorded reprogramming is replayed)
    return memory


def _checked_manifest(manifest: dict[str, Any]) -> tuple[_ManifestCheck, str]:
    """The checked keys of ``manifest`` and the name of its widths: an export of an earlier
    version, whose widths are ``sizes`` (now ``layer_sizes``), is read as one of now and its
    widths told by the name it has (in messages too)."""
    if "layer_sizes" in manifest or "sizes" not in manifest:
        return _ManifestCheck.from_declared(manifest), "layer_sizes"
    try:
        return (_ManifestCheck.from_declared({**manifest, "layer_sizes": manifest["sizes"]}),
                "sizes")
    except ConfigError as exc:
        raise type(exc)(str(exc).replace("layer_sizes", "sizes")) from None


def _model_info(info: dict[str, Any]) -> dict[str, Any]:
    """The memory's ``info`` from the manifest's ``model_info``: its keys named as outputs
    name them (:data:`~xbarmem.deploy.export.INFO_NAMES`: ``layout``) under the names of the
    model's ``info`` (``arch``, which an export of an earlier version wrote as it is)."""
    back = {new: old for old, new in INFO_NAMES.items() if new in info and old not in info}
    return {back.get(k, k): v for k, v in info.items()}


def _with_kind(info: dict[str, Any], recall: Any) -> dict[str, Any]:
    """The manifest's ``model_info``, with the kind of its ``recall`` entry when it names
    none (a hand-made or older export), so the rebuilt memory recalls and checks patterns as
    the export did."""
    kind = recall.get("kind") if isinstance(recall, dict) else None
    if "kind" in info or kind not in KINDS:
        return info
    return {**info, "kind": kind}


def _pinned(folder: Path, files: dict[str, Any], stuck: np.ndarray) -> np.ndarray | None:
    """The devices the export's fault map marks pinned by adaptation (None: none, or an
    export without a fault map of the cells' shape): ``stuck_S.npy`` holds them with the
    stuck ones."""
    name = files.get("fault_map")
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        return None
    path = folder_member(folder, name, "export file")
    if not path.exists():
        return None
    saved = FaultMap.load(path)
    if not saved.pinned_count or saved.g_stuck.shape != stuck.shape:
        return None
    return saved.pinned_mask & ~np.isnan(stuck)


def _load_npy(folder: Path, files: dict[str, Any], key: str, *,
              shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The float array of the file ``files[key]`` names: a plain file name inside ``folder``
    (a path that leaves it -- ``../x``, ``/abs`` -- is refused), of ``shape`` when given."""
    name = files.get(key)
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        raise ConfigError(f"files.{key} must be the name of a file in the export folder, got "
                          f"{shown(name)}")
    path = folder_member(folder, name, "export file")
    if not path.exists():
        raise FileFormatError(f"missing export file {path}")
    array = ArrayFile(read_bytes(path, "export file"), str(path)).pick(None)
    if array.dtype.kind != "f" or (shape is not None and array.shape != shape):
        want = "" if shape is None else " of shape " + "x".join(map(str, shape))
        raise FileFormatError(f"{path}: holds {array.dtype} {list(array.shape)}, expected "
                              f"float{want}")
    return array
