"""A model file's safetensors header, read and checked before any tensor is: its size and
tensor table (:func:`parse_header`: names, whole-number shapes and offsets inside the file),
the ``xbarmem`` metadata it carries (:func:`header_metadata`, strict JSON) checked against the
declared schema :class:`~xbarmem.memory.model_meta.ModelMeta` (:func:`checked_meta`), and the
tensors that metadata implies (:func:`check_tensor_shapes`: float, of the right shapes, no
other). Every problem is one :class:`~xbarmem.errors.FileFormatError` naming the file; used by
:mod:`xbarmem.memory.io`. :func:`read_header` reads and checks the header of a file without its
tensors and without torch (the command line sizes a request by it before it loads torch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.files import parse_text, read_bytes, what_is
from xbarmem.hardware.chip import ChipSpec
from xbarmem.limits import human
from xbarmem.memory.model_meta import FORMAT, ModelMeta
from xbarmem.version import format_advice, format_number

#: the model format number this version reads
_READS = int(FORMAT.rpartition("/")[2])

_FLOAT_DTYPES = ("F32", "F64")
#: the longest header (JSON) of a model file, refused before it is parsed: its metadata is a
#: few kB but for the saved patterns' labels and ``save_memory``'s ``extra``, which
#: :func:`check_header_size` holds to it when a model is saved (safetensors' own cap, 100 MiB
#: of forged tensor entries, parsed into Python objects many times that size, slowly)
MAX_HEADER = 16 * 2**20


def check_header_size(path: Path, size: int) -> None:
    """Refuse a model header of ``size`` bytes above :data:`MAX_HEADER` (reading or saving)."""
    if size > MAX_HEADER:
        raise FileFormatError(f"{path}: the model's metadata (safetensors header) is "
                              f"{human(size)}, above the {human(MAX_HEADER)} a model's may take"
                              " (labels of millions of patterns, or a large extra=)")


def parse_header(path: Path, raw: bytes, *, whole: bool) -> dict[str, Any]:
    """The safetensors JSON header of ``raw`` (``whole``: the full file, offsets checked)."""
    size = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if raw[8:9] == b"{":  # a safetensors header: its size, before any of it is parsed
        check_header_size(path, size)
    if size < 2 or size > min(len(raw) - 8, MAX_HEADER):
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
        offsets: Any = entry.get("data_offsets") if isinstance(entry, dict) else None  # JSON
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


def header_metadata(path: Path, header: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
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
        number = format_number(found, FORMAT.rpartition("/")[0])
        if number is not None and isinstance(data, dict):
            versions = data.get("versions")
            by = versions.get("xbarmem") if isinstance(versions, dict) else None
            raise FileFormatError(f"{path}: an xbarmem model of format {found!r} ("
                                  f"{format_advice(number, _READS, by)})")
        raise FileFormatError(f"{path}: not an xbarmem model (no {FORMAT} metadata"
                              + (f"; format {found!r}" if found else "") + ")")
    return data, constants


def checked_meta(path: Path, data: dict[str, Any], constants: list[str]) -> ModelMeta:
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
        "fault_pinned": ((-1, 2, chip.array.rows, chip.array.cols), False),
        "patterns": ((-1, meta.n_neurons), False)}
    several = len(sizes) > 2
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        prefix = f"layer{k}." if several else ""
        shapes[prefix + "g_pos"] = shapes[prefix + "g_neg"] = ((n_out, n_in + bias), True)
        shapes[prefix + "target_weights"] = ((n_out, n_in), False)
        if bias:
            shapes[prefix + "target_bias"] = ((n_out,), False)
    return shapes


def check_tensor_shapes(path: Path, meta: ModelMeta, header: dict[str, Any]) -> None:
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
    _check_targets_complete(path, meta, entries)


def _check_targets_complete(path: Path, meta: ModelMeta, entries: dict[str, Any]) -> None:
    """Target weights of every layer or of none (a memory whose conductances were set has
    none; loading dropped those of some layers without a word), and a layer's target bias
    only with its target weights (read with them only)."""
    layers = len(meta.sizes) - 1
    prefixes = [""] if layers == 1 else [f"layer{k}." for k in range(layers)]
    lacking = [p + "target_weights" for p in prefixes if p + "target_weights" not in entries]
    if 0 < len(lacking) < layers:
        raise FileFormatError(f"{path}: invalid model contents: missing tensor(s) "
                              f"{', '.join(lacking)}: a model holds the target weights of "
                              f"every layer or of none")
    orphans = [p + "target_bias" for p in prefixes
               if p + "target_bias" in entries and p + "target_weights" not in entries]
    if orphans:
        raise FileFormatError(f"{path}: invalid model contents: tensor {orphans[0]!r} without "
                              f"{orphans[0].replace('bias', 'weights')!r}: a target bias "
                              f"belongs to the target weights of its layer")


class ModelHeader(NamedTuple):
    """A model file's header (:func:`read_header`)."""

    #: the ``xbarmem`` metadata as stored (JSON)
    data: dict[str, Any]
    #: the same, checked against the declared schema
    meta: ModelMeta
    #: the safetensors tensor table: name -> ``{"dtype", "shape", "data_offsets"}``
    tensors: dict[str, Any]

    @property
    def stored(self) -> int:
        """How many patterns were saved with the model (0 without them)."""
        entry = self.tensors.get("patterns")
        return int(entry["shape"][0]) if entry and entry["shape"] else 0

    @property
    def has_targets(self) -> bool:
        """Whether the model holds the target weights of every layer (a memory whose
        conductances were set, not programmed from targets, is saved without them)."""
        layers = len(self.meta.sizes) - 1
        names = ["target_weights"] if layers == 1 else [f"layer{k}.target_weights"
                                                         for k in range(layers)]
        return all(name in self.tensors for name in names)


def no_patterns(path: Path) -> FileFormatError:
    """The error of a command that needs the patterns saved with the model ``path`` (evaluate,
    adapt, export with its recall check) when the file has none."""
    return FileFormatError(f"{path}: this model was saved without its patterns")


def no_targets(path: Path) -> FileFormatError:
    """The error of ``evaluate --variation`` (which programs the trained target weights
    again) when the model ``path`` holds none."""
    return FileFormatError(f"{path}: this model was saved without its target weights (its "
                           "conductances were set, not programmed from trained targets), so "
                           "--variation cannot program them again")


def read_header(path: Path, *, shapes: bool = False) -> ModelHeader:
    """The header of the model file ``path`` (only its first bytes are read; no torch), its
    metadata checked (:func:`checked_meta`) and, with ``shapes``, its tensors' names, dtypes
    and shapes against that metadata (:func:`check_tensor_shapes`). A missing, unreadable or
    non-regular file (a folder, a named pipe) and a foreign or damaged one raise
    :class:`~xbarmem.errors.FileFormatError` naming it."""
    try:
        if not path.is_file():
            read_bytes(path, "model file")  # the one message for missing / folder / pipe
        with path.open("rb") as handle:
            first = handle.read(8)  # kept as read: what_is() tells an empty file, a pickle...
            size = int.from_bytes(first, "little")
            head = handle.read(min(size, MAX_HEADER)) if len(first) == 8 else b""
    except OSError as exc:
        read_bytes(path, "model file")  # the one message for missing / directory / unreadable
        raise FileFormatError(f"cannot read model file {path}: {exc}") from None
    header = parse_header(path, first + head, whole=False)
    data, constants = header_metadata(path, header)
    meta = checked_meta(path, data, constants)
    if shapes:
        check_tensor_shapes(path, meta, header)
    return ModelHeader(data, meta, {k: v for k, v in header.items() if k != "__metadata__"})
