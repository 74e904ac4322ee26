"""An export folder read back into the memory it came from (:func:`load_export`): the
manifest and every array file it names checked first (keys and types, files inside the folder,
arrays of the expected dtype and shape, finite values, conductances within what a device
reads, the stuck values of ``stuck_S.npy``, ``fault_map.npz`` and ``programmed_S.npy`` in
agreement), then the memory rebuilt in exactly its programmed state, so it recalls like the
original. Every refusal starts with the path of the one file that is wrong and says the
problem in the export's words (a device by its place on the chip and, in a multilayer export,
its layer). The folder's layout is described in :mod:`xbarmem.deploy.export`."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeGuard, cast

import numpy as np

from xbarmem.checks import checked_keywords, counted, shown
from xbarmem.data.patterns import KINDS
from xbarmem.deploy.export import FORMAT, INFO_NAMES, used_cells
from xbarmem.errors import ConfigError, FileFormatError, XbarmemError
from xbarmem.files import (
    ArrayFile,
    as_path,
    folder_member,
    read_bytes,
    read_text,
    unparsed,
)
from xbarmem.hardware.chip import MAX_W_MAX, ChipSpec
from xbarmem.hardware.faults import WINDOW_SLACK, FaultMap, device_at, highest_reading
from xbarmem.jsontext import loads
from xbarmem.limits import TooLargeError
from xbarmem.memory.base import arrays_for_layers
from xbarmem.memory.build import memory_from_sizes
from xbarmem.memory.device_state import ROUNDING, Naming, read_back_tolerance
from xbarmem.memory.model_meta import model_info_check
from xbarmem.memory.saved_tensors import check_target_gain, saved_targets, set_saved_conductances
from xbarmem.spec import Flag, ListOf, Number, Spec, Table
from xbarmem.version import format_advice, format_number


@checked_keywords
def load_export(folder: str | Path):
    """Rebuild the memory from an export folder, in exactly its programmed state (the
    ``programmed_S.npy`` conductances, no re-programming): it recalls like the original.
    A missing, corrupt or inconsistent folder raises :class:`FileFormatError`, the message
    starting with the path of the one file that is wrong (``manifest.json`` for its own
    fields): manifest keys of the wrong type, files it names that are missing, not plain file
    names inside ``folder`` (``../x``, absolute paths, symbolic links leading outside it --
    links that stay inside are followed; told from the folder) or not arrays of the expected
    dtype and shape, conductances outside the chip's window (the rule of model files), NaN
    target weights, stuck values the export's files do not agree on (:class:`_Files`).
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
        with _blamed(folder, path, "bad export manifest"):
            return _rebuild(folder, manifest)
    except _Blamed as exc:
        raise FileFormatError(str(exc)) from exc.__cause__


def _manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = loads(read_text(path, "export manifest"))
    except ValueError as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"{path}: {unparsed(exc, 'JSON')}") from None
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
    entries; a problem of a file it lists raised naming that file, :func:`_blamed`)."""
    m, named = _checked_manifest(manifest)
    sizes = m.layer_sizes
    layers = [_LayerCheck.from_declared(entry) for entry in m.layers]
    if [(e.n_in, e.n_out) for e in layers] != list(zip(sizes[:-1], sizes[1:], strict=True)):
        raise ConfigError(f"the layers' n_in / n_out do not match {named} {sizes}")
    chip = ChipSpec.from_dict(m.chip)
    files = _Files(folder, m.files, _placed(sizes, chip, layers))
    stuck = files.stuck(chip)
    prog = files.cells("programmed_npy", "f")
    pinned = files.pinned(stuck, prog, m.faults.get("meta"))
    faults = FaultMap(stuck, m.faults.get("meta", {}), pinned)
    memory = memory_from_sizes(sizes, chip, faults, bias=layers[0].has_bias,
                               first_array=layers[0].first_array)
    files.set_conductances(memory, prog, [e.w_max for e in layers])
    memory.targets = [files.targets(k, layer) for k, layer in enumerate(memory.layers)]
    files.check_others(memory)
    memory.info = _with_kind(_model_info(m.model_info), manifest.get("recall"))
    check_target_gain(memory, files.naming)  # (with info: a recorded reprogramming is replayed)
    return memory


def _placed(sizes: list[int], chip: ChipSpec, layers: list[_LayerCheck]) -> Any:
    """The memory of ``sizes`` on ``chip`` placed as ``layers`` say, on a map without faults
    (whose cells tell the shape of the export's cell files and the layer of each cell);
    :class:`FileFormatError` when the manifest's placement is not the memory's."""
    bias, first = layers[0].has_bias, layers[0].first_array
    count = first + sum(arrays_for_layers(chip, sizes, bias))
    memory = memory_from_sizes(sizes, chip, FaultMap.empty(count, chip.array.rows,
                                                           chip.array.cols),
                               bias=bias, first_array=first)
    for k, (layer, entry) in enumerate(zip(memory.layers, layers, strict=True)):
        if layer.first_array != entry.first_array or layer.has_bias != entry.has_bias:
            raise FileFormatError(f"layer {k} placement does not match the manifest")
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


class _Blamed(FileFormatError):
    """A refusal of an export whose message starts with the path of the file that is wrong."""


@contextmanager
def _blamed(folder: Path, path: Path, what: str = "unreadable"):
    """Refusals raised inside as refusals of the export file ``path``: its path first and
    once; a message that starts with the folder already names its file (kept as it is). Other
    errors of reading (KeyError, TypeError, ...) are ``path: WHAT (error)``."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, _Blamed | TooLargeError):
            raise
        text = str(exc) if isinstance(exc, XbarmemError) else f"{what} ({exc!r})"
        if not text.startswith(str(folder)):
            text = f"{path}: " + text.replace(f"{path}: ", "")
        raise _Blamed(text) from exc


#: the cell files whose shape, when they agree on it, is taken as the export's
_PAIR = {"stuck_npy": "programmed_npy", "programmed_npy": "stuck_npy"}


def _declared(entry: Any) -> TypeGuard[str]:
    """Whether a ``files`` entry is a plain file name (else the manifest's fault)."""
    return isinstance(entry, str) and entry not in ("", ".", "..") and Path(entry).name == entry


class _Files:
    """The files of an export folder that its manifest's ``files`` lists, each read and
    checked alone (present, a NumPy file, its dtype and shape, its values) and against the
    others, every refusal naming the one file that is wrong (:func:`_blamed`) in the export's
    words: a device by its place on the chip and, for a multilayer export, its layer.
    ``placed`` is the memory on a map without faults (the cells' shape and layers)."""

    def __init__(self, folder: Path, files: dict[str, Any], placed: Any) -> None:
        self.folder, self.files, self.chip = folder, files, placed.chip
        self.layers = placed.layers
        self.used = used_cells(placed)
        self.shape = self.used.shape
        marks = [np.full((2, ly.n_out, ly.n_rows), float(k)) for k, ly in enumerate(self.layers)]
        self.layer_of = np.full(self.shape, -1)
        for ly, mark in zip(self.layers, marks, strict=True):
            block = ly.scatter(mark, fill=-1.0)
            self.layer_of[ly.first_array:ly.first_array + ly.n_arrays] = np.maximum(
                self.layer_of[ly.first_array:ly.first_array + ly.n_arrays], block)

    def path(self, key: str, required: bool = True) -> Path | None:
        """The file ``files[key]`` names in the folder (None: not listed and not
        ``required``); :class:`ConfigError` (the manifest's) for a name that is not a plain
        file name, :class:`FileFormatError` naming the file when it is missing."""
        name = self.files.get(key)
        if name is None and not required:
            return None
        if not _declared(name):
            raise ConfigError(f"files.{key} must be the name of a file in the export folder, "
                              f"got {shown(name)}")
        path = folder_member(self.folder, name, "export file")
        if not path.exists():
            raise _Blamed(f"{path}: missing (the manifest lists it as files.{key})")
        return path

    def array(self, path: Path, kind: str, shape: tuple[int | None, ...] | None
              ) -> np.ndarray:
        """The array of the ``.npy`` file ``path``: of dtype ``kind`` (``f`` float, ``b``
        bool) and ``shape`` (a None in it: any length; None: any shape), else refused naming
        the file."""
        with _blamed(self.folder, path):
            array = ArrayFile(read_bytes(path, "export file"), str(path)).pick(None)
        shape = array.shape if shape is None else shape
        fits = len(array.shape) == len(shape) and all(
            n is None or n == a for n, a in zip(shape, array.shape, strict=False))
        if array.dtype.kind != kind or not fits:
            want = "x".join("P" if n is None else str(n) for n in shape)
            raise _Blamed(f"{path}: holds {array.dtype} {list(array.shape)}, expected "
                          f"{'float' if kind == 'f' else 'bool'} of shape {want}")
        return array

    def cells(self, key: str, kind: str) -> np.ndarray:
        """The cell array ``files[key]`` names (``(n_arrays, 2, rows, cols)``, the layout of
        the layers' placement); a conductance file's used cells finite and readable."""
        path = cast(Path, self.path(key))
        a = self.array(path, kind, None if key in _PAIR else self.shape)
        if key in _PAIR and a.shape != self.shape:
            self.placement_against(key, a)
            self.array(path, kind, self.shape)  # (refused: another shape)
        if key == "programmed_npy":
            self.refuse(path, self.used & ~np.isfinite(a), a, "hold NaN or infinite values")
            self.refuse(path, self.used & ((a < 0) | (a > highest_reading(self.chip.device))),
                        a, self.outside())
        return a

    def placement_against(self, key: str, a: np.ndarray) -> None:
        """Refuse the manifest (:class:`ConfigError`) when ``stuck_S.npy`` and
        ``programmed_S.npy`` agree on a shape ``a`` has (``files[key]``'s array) that is not
        the one its layers' placement gives (a manifest placing them otherwise than the
        export); a file whose shape is alone is left to be refused itself."""
        other = self.files.get(_PAIR[key])
        path = folder_member(self.folder, other, "export file") if _declared(other) else None
        if path is None or not path.is_file():
            return
        try:
            shape = ArrayFile(read_bytes(path, "export file"), str(path)).pick(None).shape
        except XbarmemError:
            return
        if shape == a.shape:
            raise ConfigError(f"its layers (first_array {self.layers[0].first_array}) and chip "
                              f"place the memory on cells of shape "
                              f"{'x'.join(map(str, self.shape))}, but the export's stuck and "
                              f"programmed conductances are {'x'.join(map(str, shape))}")

    def outside(self) -> str:
        """The words of conductances outside what any device may read."""
        dev = self.chip.device
        return (f"outside [0, {highest_reading(dev):.4g}] S (the chip window [{dev.g_min:.4g}, "
                f"{dev.g_max:.4g}] S plus {WINDOW_SLACK:g} window width)")

    def refuse(self, path: Path, bad: np.ndarray, g: np.ndarray, what: str) -> None:
        """Refuse ``path`` when any cell of ``bad`` is set: how many devices WHAT, the first
        by its place on the chip (and layer, for a multilayer export) and value."""
        if not bad.any():
            return
        place = tuple(int(v) for v in np.argwhere(bad)[0])
        raise _Blamed(f"{path}: {counted(int(bad.sum()), 'device')} {what}, e.g. "
                      f"{self.device(place)} at {g[place]:.4g} S")

    def device(self, place: tuple[int, ...]) -> str:
        """The device at ``place`` (``(array, plane, row, col)``) in messages: ``device
        (array 0, G+, row 4, col 0)``, after ``layer k's`` for a multilayer export's, ``the
        unused`` for a cell no layer uses."""
        k = int(self.layer_of[place])
        whose = "the unused " if k < 0 else f"layer {k}'s " if len(self.layers) > 1 else ""
        return whose + device_at(place)

    def stuck(self, chip: ChipSpec) -> np.ndarray:
        """``stuck_S.npy``: NaN (free) or a conductance a device may read at, fitting the
        chip (its fault model: a faulty pair's devices held alike)."""
        stuck = self.cells("stuck_npy", "f")
        path = cast(Path, self.path("stuck_npy"))
        held = ~np.isnan(stuck)
        self.refuse(path, held & ~np.isfinite(stuck), stuck, "held at an infinite conductance")
        self.refuse(path, held & ((stuck < 0) | (stuck > highest_reading(chip.device))),
                    stuck, "held " + self.outside())
        with _blamed(self.folder, path):
            FaultMap(stuck).check_chip(chip, str(path))
        return stuck

    def pinned(self, stuck: np.ndarray, prog: np.ndarray, meta: Any) -> np.ndarray | None:
        """The devices ``fault_map.npz`` marks pinned by adaptation (None: an export that
        lists no fault map), after checking that it holds the devices of ``stuck`` at their
        values: where they differ, the file ``prog`` (the programmed conductances) agrees
        with is taken as right and the other named."""
        path = self.path("fault_map", required=False)
        if path is None:
            return None
        with _blamed(self.folder, path):
            saved = FaultMap.load(path)
        if saved.g_stuck.shape != self.shape:
            raise _Blamed(f"{path}: a map of shape {list(saved.g_stuck.shape)}, expected "
                          f"{'x'.join(map(str, self.shape))} (the export's cells)")
        f = saved.g_stuck
        differ = ~((f == stuck) | (np.isnan(f) & np.isnan(stuck)))
        if differ.any():
            with _blamed(self.folder, path):
                slack = ROUNDING * self.chip.device.g_max + (read_back_tolerance(meta) or 0.0)
            place = tuple(int(v) for v in np.argwhere(differ)[0])
            s, p = stuck[place], prog[place]
            if abs(p - f[place]) <= slack or (s == s and not abs(p - s) <= slack):
                wrong, mine, other = "stuck_npy", s, f[place]  # the programmed agree with f
            else:
                wrong, mine, other = "fault_map", f[place], s
            raise _Blamed(
                f"{self.path(wrong)}: {counted(int(differ.sum()), 'device')} held otherwise "
                f"than in the export's other fault map file, e.g. {self.device(place)}: "
                f"{_held(mine)} here, {_held(other)} there, programmed at {p:.4g} S")
        return saved.pinned_mask if saved.pinned_count else None

    def naming(self, k: int) -> Naming:
        """How refusals name layer ``k``'s conductances: ``programmed_S.npy`` and the device
        on the chip (and the layer, for a multilayer export)."""
        where = str(folder_member(self.folder, self.files["programmed_npy"], "export file"))
        return Naming(where=where, layer=f"layer {k}" if len(self.layers) > 1 else "",
                      faults="the export's fault map")

    def set_conductances(self, memory: Any, prog: np.ndarray, w_maxes: list[float]) -> None:
        """Set every layer of ``memory`` to its conductances of ``prog`` (the programmed
        cells), checked against the layer's fault map and chip."""
        for k, (layer, w_max) in enumerate(zip(memory.layers, w_maxes, strict=True)):
            g = layer._gather(prog)
            set_saved_conductances(layer, g[0], g[1], w_max, self.naming(k))

    def targets(self, k: int, layer: Any) -> tuple[Any, Any]:
        """Layer ``k``'s target weights and bias (``layer<k>_weights.npy``, ``_bias.npy``):
        float of the layer's shapes, finite; a bias file only for a layer with a bias row."""
        out: list[Any] = []
        for part, shape in (("weights", (layer.n_out, layer.n_in)), ("bias", (layer.n_out,))):
            path = self.path(f"layer{k}_{part}", required=part == "weights")
            if path is None:
                out.append(None)
                continue
            if part == "bias" and not layer.has_bias:
                raise _Blamed(f"{path}: a bias of layer {k}, which has no bias row "
                              f"(has_bias false)")
            out.append(self.finite(path, self.array(path, "f", shape)))
        return saved_targets(layer, out[0], out[1], f"layer{k}.")

    def finite(self, path: Path, array: np.ndarray) -> np.ndarray:
        """``array`` (of the file ``path``) when it holds no NaN or infinite value."""
        if not np.isfinite(array).all():
            raise _Blamed(f"{path}: holds NaN or infinite values "
                          f"({counted(int((~np.isfinite(array)).sum()), 'value')})")
        return array

    def check_others(self, memory: Any) -> None:
        """The listed files the memory is not built from: ``used.npy`` marks the cells the
        layers use, ``targets_S.npy`` holds NaN (leave) or readable conductances,
        ``patterns.npy`` finite patterns of the memory's N."""
        path = self.path("used_npy", required=False)
        if path is not None:
            used = self.array(path, "b", self.shape)
            self.refuse(path, used != self.used, np.where(used, 1.0, 0.0),
                        "marked other than the layers' placement uses them (1 = used)")
        path = self.path("targets_npy", required=False)
        if path is not None:
            t = self.array(path, "f", self.shape)
            bad = ~np.isnan(t) & ~((t >= 0) & (t <= highest_reading(self.chip.device)))
            self.refuse(path, bad, t, "with a target " + self.outside())
        path = self.path("patterns", required=False)
        if path is not None:
            self.finite(path, self.array(path, "f", (None, memory.n_neurons)))


def _held(value: float) -> str:
    """A value of a fault map file in words: ``free`` (NaN) or ``held at G S``."""
    return "free" if value != value else f"held at {value:.4g} S"
