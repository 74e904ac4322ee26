"""Readers of users' pattern files: .npy, .npz (optional ``labels``), .csv and MNIST IDX,
gzip'd or not; 8-bit images are resized and binarised like the built-in sets."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re
import struct
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xbarmem.checks import checked_keywords, reads_as_number, result_repr, value_equality
from xbarmem.data.builtin import max_side, nearest_squares
from xbarmem.data.patterns import (
    PatternSet,
    check_kind,
    check_side,
    file_cue_values,
    images_to_patterns,
    integer_grey,
    resize_area,
    validate_patterns,
)
from xbarmem.errors import FileFormatError, PatternError, warn
from xbarmem.files import (
    ArrayFile,
    as_path,
    decode,
    fingerprint,
    gunzip,
    npy_size,
    opened,
    read_bytes,
    what_is,
)
from xbarmem.limits import check_bytes
from xbarmem.sizes import pattern_bytes

SUPPORTED_FILE_TYPES = (".npy", ".npz", ".csv", "MNIST IDX (*-idx3-ubyte, *.idx)", "+ .gz of these")

_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_IDX_MAGICS = (0x00000803, 0x00000801)


# --------------------------------------------------------------------------- file loading


def _is_idx_name(name: str) -> bool:
    return name.endswith((".idx", ".idx1", ".idx3")) or ("-idx" in name and "-ubyte" in name)


#: what a file's first bytes say it holds, when that is a format the readers know: its kind,
#: the words for it and how to name such a file
_HELD = ((b"\x93NUMPY", "numpy", "a NumPy .npy array", "name it .npy"),
         (b"PK\x03\x04", "numpy", "a zip archive (.npz)", "name it .npz"),
         (b"PK\x05\x06", "numpy", "a zip archive (.npz)", "name it .npz"),
         (b"\x1f\x8b", "gzip", "gzip data", "add .gz to its name"))
_IDX_HELD = ("idx", "an MNIST IDX file", "name it .idx")
#: what a file's name says it holds (lower case, without .gz), in words
_NAMED = {"numpy": "a NumPy .npy/.npz file", "csv": "CSV text", "idx": "an MNIST IDX file"}


def _check_content(head: bytes, name: str, path: Path) -> None:
    """Refuse a file whose first bytes ``head`` are another format the readers know than its
    (lower-case, ``.gz``-less) ``name`` says -- an .npy named .csv, an IDX file named .npy,
    gzip data without .gz -- in one line saying what it holds and how to name it (it was "not
    UTF-8 text (byte 0x93 ...)", "bad magic"). A file of no such format is left to the reader
    of its name; IDX data under a name of no known type is read as IDX."""
    kind = what_is(head)
    if kind is not None and "pickle" in kind:  # torch.save's (a zip, but no .npz), any
        raise FileFormatError(f"{path}: the file is {kind}: save the tensor or array with "
                              "numpy.save('x.npy', t.numpy()) to read it here")
    held = next((h[1:] for h in _HELD if head.startswith(h[0])),
                _IDX_HELD if _idx_magic(head) else None)
    named = _named(name)
    if held is None and named == "idx" and head and kind == "text":
        held = ("csv", "text", "a table of numbers, one pattern per line, is read named .csv")
    if held is None or held[0] == named or (named is None and held[0] == "idx"):
        return
    said = f"not {_NAMED[named]} as its name says" if named else "unknown file type"
    raise FileFormatError(f"{path}: {said}; the file is {held[1]}: {held[2]}")


def _named(name: str) -> str | None:
    """The format a file's lower-case, ``.gz``-less ``name`` says it holds (None: none)."""
    if name.endswith((".npy", ".npz")):
        return "numpy"
    return "csv" if name.endswith(".csv") else "idx" if _is_idx_name(name) else None


def _idx_magic(head: bytes) -> bool:
    """Whether ``head`` starts with an IDX magic number (0, 0, a dtype code, ndim >= 1)."""
    return len(head) >= 4 and head[:2] == b"\0\0" and head[2] in _IDX_DTYPES and head[3] > 0


#: the most bytes an IDX header takes (4 + 4 * 255 dimensions)
_IDX_HEAD = 4 + 4 * 255


def _idx_header(head: bytes, size: int, path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(dims, big-endian dtype, data offset)`` of IDX data of ``size`` bytes starting
    ``head`` (at least its header: big-endian 0, 0, dtype code, ndim, then ndim uint32
    sizes), refused when the header is bad or the data's size is not what it declares."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
        raise FileFormatError(f"{path}: not an IDX file (bad magic number)")
    ndim = head[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(head) < header:
        raise FileFormatError(f"{path}: corrupt IDX file (truncated header)")
    dims = struct.unpack(f">{ndim}I", head[4:header])
    dtype = np.dtype(_IDX_DTYPES[head[2]])
    expected = math.prod(dims) * dtype.itemsize
    if size - header != expected:
        raise FileFormatError(
            f"{path}: corrupt IDX file (expected {expected} data bytes, found {size - header})"
        )
    return dims, dtype, header


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    """Parse an IDX file (:func:`_idx_header`)."""
    dims, dtype, header = _idx_header(raw, len(raw), path)
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.str[1:])  # native byte order, writable copy


def _parse_csv(raw: bytes, path: Path) -> np.ndarray:
    numbered = [(i, _unquoted(ln)) for i, ln in
                enumerate(decode(raw, f"CSV file {path}").splitlines(), 1) if ln.strip()]
    if not numbered:
        raise FileFormatError(f"{path}: CSV file is empty")
    if _is_header(*(ln for _, ln in numbered[:2])):
        numbered = numbered[1:]  # a header line: column names or numbers (a first data line
        # with a bad value, "1,-1,x", is refused below, not dropped as a header)
    delim = _csv_delimiter(numbered[0][1]) if numbered else ","
    if delim != ",":  # a comma inside a number is its decimal mark (0,5)
        numbered = [(i, ln.replace(",", ".")) for i, ln in numbered]
    if not numbered:
        raise FileFormatError(f"{path}: CSV file has a header line but no data")
    if delim is not None and all(ln.rstrip().endswith(delim) for _, ln in numbered):
        # a delimiter closing every line (as some spreadsheets write them): no empty column
        numbered = [(i, ln.rstrip()[:-1]) for i, ln in numbered]
    try:
        return np.loadtxt(io.StringIO("\n".join(ln for _, ln in numbered)), delimiter=delim,
                          ndmin=2, dtype=np.float64)
    except ValueError:
        raise FileFormatError(f"{path}: corrupt CSV file ({_csv_problem(numbered, delim)})") \
            from None


def _unquoted(line: str) -> str:
    """A pattern CSV's ``line`` with each double-quoted field as its text, a comma in it a
    decimal mark (``"0,5";"1"``, ``"0.5","1"``: as spreadsheets and ``csv.QUOTE_ALL`` write
    numbers; ``"1",1,-1``: R's row names), where ``'"1"' is not a number`` was said."""
    if '"' not in line:
        return line
    return _QUOTED.sub(lambda m: m.group(1).strip().replace(",", "."), line)


_QUOTED = re.compile(r'"([^"]*)"')


def _csv_delimiter(line: str) -> str | None:
    """The separator of a pattern CSV whose first data line is ``line``: semicolons (as a
    spreadsheet of a locale with decimal commas saves it: ``0,5;-0,25``), commas when they
    separate the line's numbers (a delimiter closing it allowed), else whitespace (None: tabs
    or spaces). Between semicolons, tabs or spaces a comma is a decimal mark
    (``0,5<tab>-0,25``, ``0,5 -0,25``; on lines after a first one with no comma too), as a
    measured CSV reads it (:mod:`xbarmem.hardware.measured`)."""
    if ";" in line:
        return ";"
    if "," not in line:
        return None
    if all(reads_as_number(v) for v in line.rstrip().removesuffix(",").split(",")):
        return ","
    if all(reads_as_number(v) for v in line.replace(",", ".").split()):
        return None  # commas inside the numbers: decimal marks
    return ","  # (a line that is no table of numbers either way: its problem named as a CSV's)


def _is_header(line: str, following: str | None = None) -> bool:
    """Whether a pattern CSV's first line ``line`` is a header: no field reads as a number,
    or, as wide as the line ``following`` it, its fields are the column numbers
    ``0, 1, ..., n-1`` or ``1, ..., n`` (n >= 3; the names pandas' ``to_csv`` gives an unnamed
    table's columns), after an empty first field too (its index column's); split by
    :func:`_csv_delimiter` (its commas decimal marks when it does not split at them). Such
    numbers were read as a pattern: refused as binary values, or, in a table of whole numbers
    0..255, an extra image stored without a word."""
    delim = _csv_delimiter(line)
    fields = _fields(line, delim)
    if not any(reads_as_number(v) for v in fields):
        return True
    return (following is not None and len(_fields(following, delim)) == len(fields)
            and _column_numbers(fields))


def _fields(line: str, delim: str | None) -> list[str]:
    """A CSV ``line``'s fields split at ``delim`` (None: whitespace), its commas decimal marks
    when it does not split at them."""
    return (line if delim == "," else line.replace(",", ".")).split(delim)


_DIGITS = re.compile(r"[0-9]+")


def _column_numbers(fields: list[str]) -> bool:
    """Whether a CSV line's ``fields`` (an empty first one allowed) are the whole numbers
    0..n-1 or 1..n in order, n >= 3 (no pattern reads so: a binary or continuous one holds no
    2, and 8-bit images whose first pixels climb by one grey level are none a user saves)."""
    names = [v.strip() for v in fields]
    names = names[1:] if names and not names[0] else names
    if len(names) < 3 or not all(_DIGITS.fullmatch(v) for v in names):
        return False
    start = int(names[0])
    return start in (0, 1) and [int(v) for v in names] == list(range(start, start + len(names)))


def _csv_problem(numbered: list[tuple[int, str]], delim: str | None) -> str:
    """The first problem of CSV data lines ``(line number, text)`` that ``np.loadtxt`` refused,
    named by the file's own line number: a line with another number of values than the first
    data line, or a value that is not a number."""
    width = None
    for number, line in numbered:
        cells = line.split(delim)
        if width is None:
            width, first = len(cells), number
        elif len(cells) != width:
            return (f"line {number} has {len(cells)} values, line {first} has {width}; every "
                    "row must be one pattern of the same length")
        for column, cell in enumerate(cells, 1):
            if not cell.strip():
                return f"line {number}: value {column} of {len(cells)} is empty"
            try:
                float(cell)
            except ValueError:
                return f"line {number}: {cell.strip()!r} is not a number"
    return "not a table of numbers"


def _parse_numpy(raw: bytes, path: Path, key: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (array, labels-or-None) from .npy or .npz bytes (headers checked before loading)."""
    arrays = ArrayFile(raw, str(path))
    if not arrays.is_npz:
        return arrays.pick(key), None
    keys = arrays.names
    chosen = _chosen(keys, key)
    arr = arrays.pick(chosen, _how())
    chosen = chosen if chosen is not None else keys[0]
    labels = _npz_labels(arrays, chosen, arr)
    return arr, None if labels is None else _file_labels(labels, arr.shape[0], path)


def _npz_labels(arrays: ArrayFile, chosen: str, arr: np.ndarray) -> np.ndarray | None:
    """The ``labels`` array of an .npz (``arrays``) whose array ``chosen`` (``arr``) is read
    as patterns, unchecked; None when it holds none beside them."""
    # (a 0-d array has no patterns to label: it is refused as no pattern array, not here)
    return (arrays.array("labels") if "labels" in arrays.names and chosen != "labels"
            and arr.ndim else None)


#: how the caller of the readers names the array of an .npz to read, in its own words (the
#: Python keyword by default; :func:`arrays_chosen_by` sets a command's option, a sweep's field)
_ARRAY_CHOICE: ContextVar[str | None] = ContextVar("array_choice", default="key=NAME")


@contextlib.contextmanager
def arrays_chosen_by(words: str | None) -> Iterator[None]:
    """Within this block, an .npz of several arrays, none of them named ``patterns`` or
    ``images``, is refused saying how its caller chooses one: ``words`` such as ``--key NAME``
    (a command's option) or ``data_key = NAME`` (a sweep's field); None: the caller has no
    way to choose one, and the message says which single array it reads. Outside any block
    the words are the Python keyword, ``key=NAME``. The reading itself is unchanged."""
    token = _ARRAY_CHOICE.set(words)
    try:
        yield
    finally:
        _ARRAY_CHOICE.reset(token)


def _how() -> str:
    """How the user chooses the array of an .npz holding several, none of the names read by
    default (:func:`arrays_chosen_by`), followed by the arrays' names."""
    words = _ARRAY_CHOICE.get()
    if words is None:
        return ("none is named 'patterns' or 'images', the arrays read from a file of several "
                "(no other can be chosen here): save the one to read as 'patterns'; it holds")
    return (f"none is named 'patterns' or 'images': choose one with {words}, or save the one "
            f"to load as 'patterns'; one of")


def _chosen(keys: list[str], key: str | None) -> str | None:
    """The member of an .npz holding ``keys`` that patterns are read from: ``key``, else its
    only one, else ``patterns`` or ``images`` (None: its only one, or none of them)."""
    if key is None and len(keys) != 1:
        return next((k for k in ("patterns", "images") if k in keys), None)
    return key


def _file_labels(labels: np.ndarray, count: int, path: Path) -> np.ndarray | None:
    """An .npz file's ``labels``: one whole number per pattern (integers, or floats holding
    whole numbers, as saved from a table), returned as int64; anything else is ignored with an
    :class:`~xbarmem.errors.XbarmemWarning` saying why (it was dropped silently)."""
    why = _labels_problem(labels, count)
    if why is None:
        return labels.astype(np.int64, copy=False)
    warn(f"{path}: 'labels' {why}; the patterns are loaded without labels", stacklevel=4)
    return None


def _labels_problem(labels: np.ndarray, count: int) -> str | None:
    """Why an .npz file's ``labels`` are not one whole number per pattern of its ``count``
    (``has shape (2,), not one label per pattern (4)``), in words after ``'labels'``; None
    when they are."""
    if labels.shape != (count,):
        return f"has shape {labels.shape}, not one label per pattern ({count})"
    if labels.dtype.kind in "iu" or (labels.dtype.kind == "f" and np.isfinite(labels).all()
                                     and (labels % 1 == 0).all()):
        return None
    return f"holds {labels.dtype} values, not whole numbers"


def unlabelled_why(path: str | Path, key: str | None = None) -> str:
    """Why the pattern file at ``path`` (its .npz array ``key``, chosen as :func:`load_file`
    chooses it) gives no labels, in words: ``this file has no 'labels' array`` (every file
    but an .npz), or its ``labels`` array's problem (``this file's 'labels' array has shape
    (2,), not one label per pattern (4)``; the reader's warning said it, and a refused
    command prints its error alone). Reads the file again: for an error's words only, after
    a load gave no labels. Raises :class:`FileFormatError` as :func:`load_file` does."""
    path = as_path(path)
    raw, name = _read_raw(path)
    if name.endswith(".npz"):
        arrays = ArrayFile(raw, str(path))
        chosen = _chosen(arrays.names, key)
        arr = arrays.pick(chosen, _how())
        labels = _npz_labels(arrays, chosen if chosen is not None else arrays.names[0], arr)
        why = None if labels is None else _labels_problem(labels, arr.shape[0])
        if why is not None:
            return f"this file's 'labels' array {why}"
    return "this file has no 'labels' array"


@checked_keywords
def load_file(
    path: str | Path,
    kind: str = "binary",
    key: str | None = None,
    zero_one: bool = False,
    side: int | None = None,
) -> PatternSet:
    """Load patterns from the file at ``path``: ``.npy``, ``.npz``, ``.csv`` (one pattern per
    row, values separated by commas, semicolons or whitespace, a comma between semicolons,
    tabs or spaces a decimal mark, optional header line of names or of column numbers
    ``0, 1, 2, ...`` / ``1, 2, 3, ...``, a delimiter closing every line allowed; a first
    column of row numbers beside 8-bit grey levels refused) or MNIST
    IDX files (``*-idx3-ubyte``, ``*.idx`` or sniffed magic 0x803), each optionally
    gzip'd (``.gz``). Never unpickles.

    8-bit grayscale data (IDX uint8, but for 0s and 1s read with ``zero_one``, or integer
    arrays of values 0..255, some above 1, in any integer dtype, a .csv's whole numbers too)
    are images: a stack
    ``(P, h, w)`` (or ``(P, r*r)`` rows) is area-resized to ``side x side`` when ``side`` is
    given, then binarised at each image's mean (binary) or scaled to [-1, 1] (continuous).
    Other numeric arrays must already be valid (binary {-1, 1}, or {0, 1} with ``zero_one``;
    continuous [-1, 1]); ``(P, h, w)`` stacks are flattened and ``side`` is ignored. An .npz
    ``labels`` array of matching length becomes the labels; ``key`` names the array of an
    .npz (default: its only array, else ``patterns`` or ``images``). ``kind``: ``"binary"``
    or ``"continuous"``.
    Raises :class:`FileFormatError` (missing / corrupt / unknown file) or :class:`PatternError`.
    """
    kind = check_kind(kind)
    path = as_path(path)
    arr, labels, is_idx = _read_array(path, key)
    return _pattern_set(path, arr, labels, _idx_images(arr, is_idx, zero_one), kind, side,
                        zero_one, key=key)


def load_file_neurons(path: str | Path, n_neurons: int | None, kind: str = "binary",
                      zero_one: bool = False, *, cues: bool = False,
                      crop: int | None = None, key: str | None = None) -> PatternSet:
    """The patterns of the file at ``path`` for a memory of ``n_neurons`` neurons (None: as
    the file holds them), read as :func:`load_file` reads them: 8-bit grayscale square images
    resized to side sqrt(N) by the one rule of every command (:meth:`ImageStack.side_for`: N
    a perfect square, side from 4 to the images' own, never enlarged), other 8-bit images
    ``(P, h, w)`` kept at their own N = h*w, else squeezed to a square side from 4 to the
    shorter of h and w (:func:`_oblong_side`), other patterns as they are (their N is the
    caller's to check).
    ``cues``: recall cues for a memory of ``kind`` patterns: 8-bit images made ``kind``
    patterns as above, other values read as values in [-1, 1] whatever ``kind`` (noisy or
    occluded cues of binary patterns; :func:`~xbarmem.data.patterns.check_cue_values` says
    which a recall takes). ``crop``: 8-bit 28 x 28 images (MNIST's) are first cut to their
    centred ``crop x crop`` window, as a cropped MNIST source (``mnist-crop24``) made the
    patterns of the memory these are cues for (:func:`centre_crop`). ``key``: the array of
    an .npz to read, as :func:`load_file` takes it (an unknown one refused naming those the
    file holds). Raises :class:`FileFormatError` or :class:`PatternError` naming the file."""
    kind = check_kind(kind)
    path = as_path(path)
    arr, labels, is_idx = _read_array(path, key)
    is_idx = _idx_images(arr, is_idx, zero_one)
    arr = centre_crop(arr, crop) if _is_grayscale(arr, is_idx) else arr
    cues_of = kind if cues and not _is_grayscale(arr, is_idx) else None
    side = None
    if n_neurons is not None and _no_image_stack(arr, is_idx) is None:
        side = _image_stack(arr, path, labels).side_for(n_neurons)
    elif n_neurons is not None and _is_grayscale(arr, is_idx) and arr.ndim == 3:
        side = _oblong_side(arr.shape[1], arr.shape[2], n_neurons, path)
    elif n_neurons is not None:
        root = math.isqrt(n_neurons)
        side = root if root * root == n_neurons and 4 <= root <= max_side("file") else None
    return _pattern_set(path, arr, labels, is_idx, kind, side, zero_one, cues_of, key)


def _oblong_side(h: int, w: int, n_neurons: int, path: Path) -> int | None:
    """The side that 8-bit ``h x w`` images (``h != w``) are resized to for ``N`` neurons:
    None (kept as they are) for their own N = h*w, as a file of them is read without an N;
    else the square side sqrt(N), from 4 to the shorter of h and w (at most 28): squeezed
    to a square, never enlarged. Raises :class:`PatternError` naming the file otherwise."""
    if n_neurons == h * w:
        return None
    side, top = math.isqrt(n_neurons), min(max_side("file"), h, w)
    if side * side == n_neurons and 4 <= side <= top:
        return side
    sizes = {True: f"16 ... {top * top} or ", False: "16 or "}[top > 4] if top >= 4 else ""
    raise PatternError(f"{path}: its {h}x{w} images are resized to side sqrt(N) from 4 to "
                       f"the shorter side {min(h, w)} (never enlarged, at most 28) or kept as "
                       f"they are, so N must be {sizes}their own {h * w}; got N = {n_neurons}")


def centre_crop(images: np.ndarray, crop: int | None) -> np.ndarray:
    """8-bit MNIST-sized images, ``(P, 28, 28)`` or rows ``(P, 784)``, cut to their centred
    ``crop x crop`` window (``(P, crop, crop)``), as :func:`~xbarmem.data.builtin.load_mnist`
    crops; any other array, or ``crop`` None or not below 28, is returned as it is."""
    if crop is None or not 0 < crop < 28 or images.shape[1:] not in ((28, 28), (784,)):
        return images
    lo = (28 - crop) // 2
    return images.reshape(-1, 28, 28)[:, lo:lo + crop, lo:lo + crop]


def file_neuron_count(path: str | Path, key: str | None = None) -> int | None:
    """The N of the patterns the file at ``path`` holds as :func:`load_file_neurons` reads
    them with ``n_neurons=None`` (the length of a row, or H*W of an image), from its array's
    shape alone: its values are not checked (the reading does that). None for an array of no
    such shape, which the reading refuses. An ``.npy``, an ``.npz`` member or an IDX file is
    not read past its header (a CSV file or a gzip'd one is read whole); raises what reading
    the file raises (:class:`FileFormatError`, :class:`~xbarmem.limits.TooLargeError`, the
    same messages) for everything its header, its size and the memory limit tell, before the
    reading would; only a fault in the data's bytes themselves (a corrupt compressed .npz
    member) is left to the reading. ``key``: the array of an .npz, as :func:`load_file` takes
    it."""
    shape = _file_shape(path, key)
    return int(math.prod(shape[1:])) if len(shape) in (2, 3) and shape[0] else None


def file_pattern_count(path: str | Path, key: str | None = None) -> int | None:
    """The number of patterns (rows, or images) the file at ``path`` holds (its .npz array
    ``key``), read as :func:`file_neuron_count` reads N: from its array's header where it has
    one, with the same refusals; None for an array of no such shape."""
    shape = _file_shape(path, key)
    return int(shape[0]) if len(shape) in (2, 3) and shape[0] else None


def _file_shape(path: str | Path, key: str | None = None) -> tuple[int, ...]:
    """The shape of the array (``key`` of an .npz) of the file at ``path``
    (:func:`file_neuron_count`)."""
    path = as_path(path)
    name = path.name.lower()
    if name.endswith((".gz", ".csv")):
        return tuple(_read_array(path, key)[0].shape)
    return tuple(_header_shape(path, name, key))


def _header_shape(path: Path, name: str, key: str | None = None) -> tuple[int, ...]:
    """The shape of the array :func:`_read_array` ``(path, key)`` reads from the file at
    ``path`` (lower-case ``name``, not gzip'd nor CSV), from its headers alone: every refusal
    it makes from them, the file's size and the memory limit, in its order and words."""
    with opened(path, expand=_EXPAND_BINARY) as (handle, size):
        head = handle.read(_IDX_HEAD)
        handle.seek(0)
        _check_content(head, name, path)
        magic = struct.unpack(">I", head[:4])[0] if len(head) >= 4 else None
        if name.endswith((".npy", ".npz")):
            arrays = ArrayFile.of_file(handle, size, str(path))
            key = _chosen(arrays.names, key) if arrays.is_npz else key
            shape, dtype = arrays.header(key, _how())
        elif key is not None:  # (IDX or unknown: refused as the reading refuses it)
            return tuple(_read_array(path, key)[0].shape)
        elif _is_idx_name(name) or magic in _IDX_MAGICS:
            shape, dtype, _ = _idx_header(head, size, path)
            if len(shape) == 1:
                raise FileFormatError(f"{path}: this IDX file holds labels (1-D), not patterns")
            dtype = np.dtype(dtype.str[1:])
        else:
            raise FileFormatError(
                f"{path}: unknown file type; supported: {', '.join(SUPPORTED_FILE_TYPES)}")
    values = math.prod(shape)
    check_bytes(f"reading patterns from {path} ({'x'.join(map(str, shape))} {dtype})",
                pattern_bytes(values, held=size + values * dtype.itemsize))
    return tuple(shape)


def _pattern_set(path: Path, arr: np.ndarray, labels: np.ndarray | None, is_idx: bool,
                 kind: str, side: int | None, zero_one: bool,
                 cues_of: str | None = None, key: str | None = None) -> PatternSet:
    """A file's array (see :func:`load_file`) as its :class:`PatternSet` (named by the file,
    holding the .npz array ``key`` it was read from when one was named); ``cues_of``: the
    kind of the model whose recall cues the array holds (not 8-bit images): values read as
    continuous ones (:func:`~xbarmem.data.patterns.file_cue_values`)."""
    if cues_of is not None:
        kind = "continuous"
    if zero_one and _is_grayscale(arr, is_idx):  # (it was ignored without a word)
        raise PatternError(f"{path}: holds 8-bit images (values 0..255), read as images "
                           f"whatever zero_one, which reads values in [0, 1]: drop zero_one=True "
                           f"(CLI: --zero-one)")
    try:
        pats, image_shape = _file_patterns(arr, kind, side, zero_one, is_idx, cues_of)
    except PatternError as exc:
        raise PatternError(f"{path}: {exc}") from None
    if kind == "continuous" and not zero_one and not _is_grayscale(arr, is_idx):
        _warn_unit_interval(pats, path)
    if zero_one:
        _warn_already_pm1(arr, path)
    return PatternSet(pats, kind, path.name, labels, image_shape, key)


def _warn_already_pm1(arr: np.ndarray, path: Path) -> None:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`) when a file read with ``zero_one`` holds
    -1 and +1 only: binary patterns (or cues) already, taken as they are, so the flag, which
    maps {0, 1} to +-1, changed nothing -- given for a file of another encoding, most likely.
    Not refused: a sweep's ``zero_one`` applies to every file of its grid. Every value +1
    (the all-ON state) reads the same either way and is no sign of it."""
    if arr.size and bool((arr == -1).any()) and bool(((arr == -1) | (arr == 1)).all()):
        warn(f"{path}: every value is -1 or +1, binary already: zero_one=True (CLI: "
             f"--zero-one), which maps 0 -> -1 and 1 -> +1, changed nothing; drop it",
             stacklevel=4)


def _warn_unit_interval(patterns: np.ndarray, path: Path) -> None:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`) when continuous values read as they are
    all lie in [0, 1], some above 0: grey levels in [0, 1] (as images are often saved) were
    taken for values in [-1, 1] without a word (0, an end of their range, for its middle), and
    recall from such cues ended elsewhere. 8-bit images are scaled; other values are not.
    Every value +1 (a +-1 cue or pattern with no -1: the all-ON state) is no sign of [0, 1]."""
    if patterns.size and patterns.min() >= 0.0 and patterns.max() > 0.0 \
            and patterns.min() < 1.0:
        warn(f"{path}: every value lies in [0, 1], read as continuous values in [-1, 1] as "
             f"they are (0 is the middle of the range, not its end); read grey levels in "
             f"[0, 1] as 2*x - 1 with zero_one=True (CLI: --zero-one)", stacklevel=4)


def _read_array(path: Path, key: str | None) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """The array of the file at ``path`` (see :func:`load_file`), its .npz labels (or None)
    and whether it is an IDX file; its size checked against the memory limit."""
    raw, name = _read_raw(path)
    _check_content(raw[:_IDX_HEAD], name, path)
    labels: np.ndarray | None = None
    magic = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
    is_idx = _is_idx_name(name) or magic in _IDX_MAGICS
    if name.endswith((".npy", ".npz")):
        arr, labels = _parse_numpy(raw, path, key)
    elif key is not None and (name.endswith(".csv") or is_idx):
        # (it was ignored: the file's one table was read as if it were the array named)
        what = "a CSV file" if name.endswith(".csv") else "an IDX file"
        raise FileFormatError(f"{path}: is {what}, it has no array named {key!r} (key names "
                              f"an array of an .npz file)")
    elif name.endswith(".csv"):
        arr = _parse_csv(raw, path)
    elif is_idx:
        arr = _parse_idx(raw, path)
        if arr.ndim == 1:
            raise FileFormatError(f"{path}: this IDX file holds labels (1-D), not patterns")
    else:
        raise FileFormatError(
            f"{path}: unknown file type; supported: {', '.join(SUPPORTED_FILE_TYPES)}"
        )
    check_bytes(f"reading patterns from {path} ({'x'.join(map(str, arr.shape))} {arr.dtype})",
                pattern_bytes(arr.size, held=len(raw) + arr.nbytes))
    return _grey_bytes(arr, path, name.endswith(".csv")), labels, is_idx


def _grey_bytes(arr: np.ndarray, path: Path, csv: bool) -> np.ndarray:
    """``arr`` as uint8 when it holds 8-bit grey levels in another integer dtype (int64 from
    numpy arithmetic, int16, ...; a CSV's whole numbers are integers, it has no dtype), so that
    every reader and the Python API take them as a uint8 file's images
    (:func:`~xbarmem.data.patterns.integer_grey`); integers outside -1..255 refused naming
    the file; any other array as it is."""
    ints = arr
    if csv and arr.size and np.all(np.abs(arr) <= 2**31) and np.all(arr % 1 == 0):
        ints = arr.astype(np.int64)
    try:
        grey = arr.dtype != np.uint8 and integer_grey(ints)
    except PatternError as exc:
        if csv:  # (whole numbers of a CSV: the reading's own refusal says more)
            return arr
        raise PatternError(f"{path}: {exc}") from None
    if grey and csv:
        _check_row_numbers(ints, path)
    return ints.astype(np.uint8) if grey else arr


def _check_row_numbers(grey: np.ndarray, path: Path) -> None:
    """:class:`PatternError` naming the file when the first column of a CSV's 8-bit grey
    levels ``grey`` ``(P, N)``, P >= 3, is the row numbers 0..P-1 or 1..P: an index column (as
    pandas' ``to_csv`` and R's ``write.csv`` write one), which was read as a pixel of every
    image without a word (beside binary or continuous values it is out of their range)."""
    rows = grey.shape[0]
    if grey.ndim != 2 or rows < 3 or grey.shape[1] < 2:
        return
    first = grey[:, 0]
    if first[0] in (0, 1) and np.array_equal(first, np.arange(rows) + first[0]):
        raise PatternError(
            f"{path}: column 0 of {grey.shape[1]} holds the row numbers {first[0]}.."
            f"{first[-1]}, not grey levels: a column of labels or row numbers? remove it "
            f"(pandas: to_csv(index=False); R: write.csv(row.names=FALSE))")


def _idx_images(arr: np.ndarray, is_idx: bool, zero_one: bool) -> bool:
    """Whether an IDX file's array (``is_idx``) is read as 8-bit images, as IDX uint8 data is
    (:func:`_is_grayscale`): not one of 0s and 1s read with ``zero_one``, which is 0/1
    patterns, as an .npy of them is (it was refused as "8-bit images (values 0..255)", and
    read without the flag as images, an all-1 row, a dark image, all -1)."""
    return is_idx and not (zero_one and arr.dtype == np.uint8 and arr.size
                           and int(arr.max()) <= 1)


def _is_grayscale(arr: np.ndarray, is_idx: bool) -> bool:
    """Whether a file's array holds 8-bit grayscale images (the reader's rule: uint8 rows or
    stacks of an IDX file, or with a value above 1), not patterns."""
    return bool(arr.dtype == np.uint8 and arr.ndim in (2, 3) and arr.size
                and (is_idx or arr.max() > 1))


def _file_patterns(arr: np.ndarray, kind: str, side: int | None, zero_one: bool, is_idx: bool,
                   cues_of: str | None = None) -> tuple[np.ndarray, tuple[int, int] | None]:
    """A file's array as validated patterns and their image shape (see :func:`load_file`);
    with ``cues_of``, recall cues of a model of that kind
    (:func:`~xbarmem.data.patterns.file_cue_values`)."""
    if _is_grayscale(arr, is_idx):
        return _grayscale_patterns(arr, kind, side)
    if (labels := _label_vector(arr)) is not None:
        raise PatternError(labels)
    image_shape = None
    if arr.ndim == 3 and arr.shape[0] > 0:
        image_shape = (int(arr.shape[1]), int(arr.shape[2]))
        arr = arr.reshape(arr.shape[0], -1)
    if cues_of is not None:
        return file_cue_values(arr, cues_of, zero_one), image_shape
    return validate_patterns(arr, kind, zero_one=zero_one), image_shape


def _label_vector(arr: np.ndarray) -> str | None:
    """The refusal of a file's 1-D array of whole numbers, some below -1 or above 1 (None:
    another array): labels, most likely, as an IDX file of labels is refused, or one image;
    it was told only to be reshaped to one pattern ``(1, n)``, as a 1-D vector of +-1 is."""
    if arr.ndim != 1 or not arr.size or arr.dtype.kind not in "iuf":
        return None
    with np.errstate(invalid="ignore"):
        if not (np.isfinite(arr).all() and (arr % 1 == 0).all()):
            return None
    low, high = arr.min(), arr.max()
    if -1 <= low and high <= 1:
        return None
    return (f"holds a 1-D array of {arr.size} whole numbers from {low:g} to {high:g}, not a "
            f"(P, N) array of patterns, one per row: labels? (they go beside the patterns, as "
            f"an .npz file's 'labels' array) one image? (save it as shape (1, {arr.size}))")


#: memory a reader needs per byte of (decompressed) file: CSV text becomes lines, a joined
#: copy and float64 values; binary arrays are held as bytes and as the loaded array
_EXPAND_TEXT, _EXPAND_BINARY = 12.0, 2.0


def _read_raw(path: Path) -> tuple[bytes, str]:
    """The file's bytes (gunzipped for ``.gz``, sizes checked against the memory limit as they
    grow) and its lower-case name without ``.gz``."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    name = name[:-3] if gz else name
    expand = _EXPAND_TEXT if name.endswith(".csv") else _EXPAND_BINARY
    raw = read_bytes(path, expand=1.0 if gz else expand)
    if gz and not raw.startswith(b"\x1f\x8b") and (held := what_is(raw)) is not None:
        raise FileFormatError(f"{path}: not gzip data as its name says; the file is {held}: "
                              f"remove .gz from its name")
    if gz:
        raw = gunzip(raw, str(path), expand=expand,
                     size_of=lambda head: _declared_size(head, path))
    return raw, name


def _declared_size(head: bytes, path: Path) -> int | None:
    """Total size an .npy or IDX header at the start of ``head`` declares (None: no such
    header, or not complete yet)."""
    if head[:1] == b"\x93":
        return npy_size(head, str(path))
    if len(head) >= 4 and head[:2] == b"\0\0" and head[2] in _IDX_DTYPES:
        header = 4 + 4 * head[3]
        if len(head) < header:
            return None
        dims = struct.unpack(f">{head[3]}I", head[4:header])
        return header + math.prod(dims) * np.dtype(_IDX_DTYPES[head[2]]).itemsize
    return None


def _grayscale_patterns(arr: np.ndarray, kind: str, side: int | None
                        ) -> tuple[np.ndarray, tuple[int, int] | None]:
    """8-bit images ``(P, h, w)`` or ``(P, r*r)`` (or rows that are no square) as patterns,
    resized to ``side`` when given; returns the patterns and their image shape. Continuous
    patterns of images whose values stay below a quarter of 255 (scikit-learn's 0..16 digits
    saved as integers) are warned of: read as 8-bit grey they span a sliver of [-1, 1]."""
    _warn_dim(arr, kind)
    if arr.ndim == 2:
        r = math.isqrt(arr.shape[1])
        if r * r == arr.shape[1]:
            arr = arr.reshape(-1, r, r)
    if arr.ndim != 3:
        return images_to_patterns(arr[:, :, None], 255.0, kind), None
    if side is not None and arr.shape[1:] != (side, side):  # (their own size: kept)
        _check_shrunk(check_side(side), int(arr.shape[1]), int(arr.shape[2]))
    imgs = resize_area(arr.astype(np.float32), side)
    return images_to_patterns(imgs, 255.0, kind), (int(imgs.shape[1]), int(imgs.shape[2]))


def _warn_dim(arr: np.ndarray, kind: str) -> None:
    """Warn when continuous patterns are read from 8-bit images whose brightest value is below
    64 of 255: a scale of their own (0..16) read as 0..255 gave patterns in [-1, -0.87]."""
    top = int(arr.max()) if arr.size else 0
    if kind == "continuous" and 0 < top < 64:
        warn(f"the images' values reach only {top} of 255: read as 8-bit grey levels, the "
             f"continuous patterns lie in [-1, {top / 255 * 2 - 1:.2f}]; if {top} is their "
             f"white, scale them to 0..255 first (np.round(x * 255 / {top}))")


def _check_shrunk(side: int, h: int, w: int) -> None:
    """:class:`PatternError` unless resizing ``h x w`` images to ``side x side`` shrinks them
    (``side`` at most their shorter side): images are never enlarged, as every command reads
    them (:meth:`ImageStack.side_for`, :func:`_oblong_side`); ``load_file(side=8)`` made 8x8
    patterns of 3x3 or 4x4 images, which ``train --data`` keeps at their own N."""
    if side <= min(h, w):
        return
    top = min(h, w)
    sides = {True: f"a side from 4 to {top} or ", False: "side 4 or "}[top > 4] if top >= 4 else ""
    raise PatternError(f"its {h}x{w} images would be enlarged to side {side}, and images are "
                       f"never enlarged: give {sides}side=None to keep them as they are")


# --------------------------------------------------------------------------- image stacks


@checked_keywords
@value_equality(hashable=True)
@dataclass(frozen=True, eq=False)
class ImageStack:
    """A user's file of 8-bit grayscale square images, read once (:func:`read_image_stack`),
    as patterns at any side (:meth:`patterns`) the way :func:`load_file` makes them and the
    built-in image sets are made: area-resized, then binarised at each image's mean (binary)
    or scaled to [-1, 1] (continuous).

    Attributes:
        images: read-only uint8 array ``(M, H, H)``.
        name: the file's name, without its folder (what results record).
        labels: the .npz file's int64 ``labels`` ``(M,)``, or None.
        key: the .npz array the images were read from when one was named, else None
            (recorded beside :attr:`name`, as a :class:`PatternSet`'s ``key``).
    """

    images: np.ndarray
    name: str
    labels: np.ndarray | None = None
    key: str | None = None

    def __repr__(self) -> str:
        """One line: the images' shape, the file's name, its labels and, when one was named,
        the .npz array read (``key``, left out otherwise, as a :class:`PatternSet` does)."""
        keyed = {} if self.key is None else {"key": self.key}
        return result_repr("ImageStack", {"images": self.images, "name": self.name,
                                          "labels": self.labels, **keyed})

    @property
    def side(self) -> int:
        """The images' side ``H``."""
        return int(self.images.shape[1])

    @property
    def count(self) -> int:
        """The number of images ``M``."""
        return int(self.images.shape[0])

    @functools.cached_property
    def fingerprint(self) -> str:
        """The images' :func:`~xbarmem.files.fingerprint` (dtype, shape, SHA-256), computed
        once: what tells this file's images from another's of the same name."""
        return fingerprint(self.images)

    def side_for(self, n_neurons: int) -> int:
        """The side sqrt(N) these images are resized to for ``N`` neurons. Raises
        :class:`PatternError` unless N is the square of a side from 4 to the images' own
        (at most 28), or of their own side (kept as they are, however large: the N a file
        of them gives without ``n_neurons``): images are shrunk, never enlarged."""
        side, top = math.isqrt(n_neurons), min(max_side("file"), self.side)
        if side * side != n_neurons:
            raise PatternError(f"{self.name} images are resized to side sqrt(N), so N must be "
                               f"a perfect square; got N = {n_neurons}"
                               f"{nearest_squares(n_neurons, top)}")
        if side == self.side:
            return side
        if not 4 <= side <= top:
            sides, sizes = ((f"side 4..{top}", f"16 ... {top * top}") if top > 4
                            else ("side 4", "16"))
            if self.side > top:
                sizes += f" or their own {self.side * self.side}"
            raise PatternError(
                f"{self.name} images are resized to side sqrt(N), {sides} (its images are "
                f"{self.side}x{self.side}), so N must be {sizes}; got N = {n_neurons} (side "
                f"{side})")
        return side

    def patterns(self, side: int | None, kind: str = "binary") -> PatternSet:
        """Every image as a ``kind`` pattern of ``side * side`` neurons (``None``: the images'
        own side), named :attr:`name` (with the stack's :attr:`key`)."""
        kind = check_kind(kind)
        pats, image_shape = _grayscale_patterns(self.images, kind, side)
        return PatternSet(pats, kind, self.name, self.labels, image_shape, self.key)


def read_image_stack(path: str | Path, key: str | None = None) -> ImageStack:
    """The 8-bit grayscale square images of the file at ``path`` (read as :func:`load_file`
    reads it, ``key`` naming an .npz file's array; integers 0..255 of any dtype, a .csv's
    whole numbers too, are 8-bit images): a uint8 stack ``(M, H, H)`` or rows ``(M, H * H)``,
    ``H >= 4``. Raises :class:`FileFormatError`
    for a missing, damaged or unknown file and :class:`PatternError` naming the file for one
    that holds no such images (other values than uint8 0..255, rows that are no square image,
    images that are not square)."""
    path = as_path(path)
    arr, labels, is_idx = _read_array(path, key)
    problem = _no_image_stack(arr, is_idx)
    if problem is not None and path.name.lower().removesuffix(".gz").endswith(".csv"):
        problem = ("a .csv file of these numbers holds no 8-bit grayscale images (whole "
                   "numbers 0..255, rows of H*H values): save the images so, or as a uint8 "
                   ".npy, .npz or IDX file")
    if problem is not None:
        raise PatternError(f"{path}: {problem}")
    return _image_stack(arr, path, labels, key)


def _image_stack(arr: np.ndarray, path: Path, labels: np.ndarray | None,
                 key: str | None = None) -> ImageStack:
    """A file's array of 8-bit grayscale square images (:func:`_no_image_stack` found no
    problem) as its :class:`ImageStack` (``key``: the .npz array it was read from, if named)."""
    side = math.isqrt(arr.shape[-1]) if arr.ndim == 2 else int(arr.shape[1])
    images = np.ascontiguousarray(arr.reshape(arr.shape[0], side, side))
    images.setflags(write=False)
    return ImageStack(images, path.name, labels, key)


def _no_image_stack(arr: np.ndarray, is_idx: bool) -> str | None:
    """What keeps a file's array from being a stack of 8-bit grayscale square images of side
    at least 4 (None: nothing)."""
    stack = "an image stack is (M, H, W) or (M, H*W) with H = W"
    if arr.size == 0 or arr.ndim not in (2, 3):
        return f"holds an array of shape {arr.shape}, not images; {stack}"
    if not _is_grayscale(arr, is_idx):
        if arr.dtype == np.uint8:
            return ("holds only the values 0 and 1, not 8-bit grayscale images (values "
                    "0..255): multiply 0/1 images by 255")
        if _signed_unit(arr):  # (+-1 patterns: no images to convert)
            return (f"holds patterns ({arr.dtype} values in [-1, 1]) of a fixed N = "
                    f"{math.prod(arr.shape[1:])}, not 8-bit grayscale images (uint8, values "
                    "0..255) that can be resized to each N")
        return (f"holds {arr.dtype} values, not 8-bit grayscale images (uint8, values 0..255); "
                "convert images in [0, 1] with np.round(x * 255).astype(np.uint8)")
    if arr.ndim == 2 and math.isqrt(arr.shape[1]) ** 2 != arr.shape[1]:
        return f"rows of {arr.shape[1]} values are no square images; {stack}"
    if arr.ndim == 3 and arr.shape[1] != arr.shape[2]:
        return (f"holds {arr.shape[1]}x{arr.shape[2]} images, not square ones: crop or pad "
                "them to H = W")
    side = math.isqrt(arr.shape[1]) if arr.ndim == 2 else arr.shape[1]
    if side < 4:
        return f"holds {side}x{side} images; images of side 4 or more are needed"
    return None


def _signed_unit(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds real values in [-1, 1], some negative: patterns, not images."""
    if arr.dtype.kind not in "iuf" or not arr.size:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(arr).all() and arr.min() < 0 and arr.min() >= -1
                    and arr.max() <= 1)
