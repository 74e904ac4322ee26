"""Reading users' files: the one boundary every reader goes through.

Each function turns every way a file can be wrong -- missing, a directory, unreadable, not UTF-8,
a corrupt or truncated gzip body, JSON or TOML nested too deeply -- into one
:class:`~xbarmem.errors.FileFormatError` naming the file, and checks the memory a file will need
against :mod:`xbarmem.limits` *before* allocating it:

* :func:`read_bytes` / :func:`read_text` check the file's size (times ``expand``, the reader's
  estimate of memory per file byte) before reading it;
* :func:`gunzip` decompresses in chunks: the size a header declares (``size_of``, e.g. an
  ``.npy`` or IDX header) is checked as soon as the header is out, and the running size times
  ``expand`` after every chunk, so a small file that would inflate to gigabytes is refused
  after at most one chunk past the limit (:data:`CHUNK`).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import tomllib
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from xbarmem.checks import lost_number, shown
from xbarmem.errors import FileFormatError, XbarmemError
from xbarmem.files.paths import _where, missing
from xbarmem.limits import check_bytes

#: decompression step: at most this many bytes are inflated past a limit before it is refused
CHUNK = 1 << 20

#: deepest nesting of lists / tables in any JSON or TOML text read (xbarmem's own go ~6 deep)
MAX_NESTING = 64


def read_bytes(path: str | Path, what: str = "file", *, expand: float = 1.0) -> bytes:
    """The bytes of the regular file ``path`` (``what`` names it in messages: ``"chip file"``).

    Raises :class:`FileFormatError` when it is missing, a directory or another non-file, or
    unreadable; :class:`~xbarmem.limits.TooLargeError` when its size times ``expand`` (memory
    the caller needs per file byte) is above the limit."""
    with opened(path, what, expand=expand) as (handle, _):
        return handle.read()


@contextlib.contextmanager
def opened(path: str | Path, what: str = "file", *,
           expand: float = 1.0) -> Iterator[tuple[BinaryIO, int]]:
    """``(binary file, its size)`` of the regular file ``path``, open for reading, checked as
    :func:`read_bytes` checks it with ``what`` and ``expand`` (the same refusals, the same
    messages; an error reading it inside the block too): for readers that need only part of a
    file (an array's header)."""
    path = Path(path)
    try:
        if not path.exists():
            raise FileFormatError(missing(path, what))
        if path.is_dir():
            raise FileFormatError(folder_problem(path, what))
        if not path.is_file():
            raise FileFormatError(f"{_where(path, what)} is not a regular file")
        size = path.stat().st_size
        check_bytes(f"reading {_where(path, what)}", size * expand)
        with path.open("rb") as handle:
            yield handle, size
    except OSError as exc:
        raise FileFormatError(f"cannot read {_where(path, what)}: "
                              f"{exc.strerror or exc}") from None


#: the largest ``manifest.json`` :func:`folder_problem` reads for the model an export names
_MANIFEST_BYTES = 1 << 20


def folder_problem(path: Path, what: str = "file") -> str:
    """The message for a folder ``path`` given where a file (``what``: ``"model file"``) is
    expected: ``... is a directory, not a file``; for an export folder (its ``manifest.json``
    of format ``xbarmem-export/...``, what ``xbarmem export`` writes) that it is one and, where
    a model file is expected, to give the model file it was exported from (the manifest's
    ``source``, as it was given to the export, when it records one)."""
    manifest = _export_manifest(path)
    if manifest is None:
        return f"{_where(path, what)} is a directory, not a file"
    text = f"{_where(path, what)} is an export folder (what xbarmem export writes), not a file"
    if what != "model file":
        return text
    source = manifest.get("source")
    named = (f" (its manifest.json records {shown(source)})"
             if isinstance(source, str) and source.strip() and len(source) <= 500 else "")
    return f"{text}; give the model file it was exported from{named}"


def _export_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the export folder ``folder``, None when it is not one (or its manifest
    cannot be read: then it is a folder as any other)."""
    manifest = folder / "manifest.json"
    try:
        if not manifest.is_file() or manifest.stat().st_size > _MANIFEST_BYTES:
            return None
        data = parse_text(json.loads, manifest.read_bytes())
    except (OSError, ValueError, XbarmemError):
        return None
    fmt = data.get("format") if isinstance(data, dict) else None
    return data if isinstance(fmt, str) and fmt.startswith("xbarmem-export/") else None


def read_text(path: str | Path, what: str = "file", *, expand: float = 1.0) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped); ``what`` and ``expand`` and the
    errors as :func:`read_bytes`, plus :class:`FileFormatError` naming the first byte that is not
    UTF-8."""
    return decode(read_bytes(path, what, expand=expand), _where(path, what))


#: byte-order marks of the Unicode encodings other than UTF-8 a text file may be saved in
#: (Excel's "Unicode text" is UTF-16 with its mark), longest first
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def text_encoding(raw: bytes) -> str:
    """The encoding of text ``raw``: UTF-16 or UTF-32 when it starts with that byte-order
    mark, else UTF-8 (its own mark dropped when present)."""
    return next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8-sig")


def decode(raw: bytes, where: str) -> str:
    """``raw`` as text: UTF-8, or UTF-16 / UTF-32 after their byte-order mark
    (:func:`text_encoding`; the mark dropped); :class:`FileFormatError` naming ``where`` and
    the offset of the first invalid byte otherwise."""
    encoding = text_encoding(raw)
    if encoding == "utf-8-sig" and b"\x00" in raw:  # (no text of ours holds a NUL character)
        raise FileFormatError(_nul_problem(raw, where))
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        raise FileFormatError(f"{where} is not {name} text (byte 0x{raw[exc.start]:02x} at "
                              f"offset {exc.start})") from None


def _nul_problem(raw: bytes, where: str) -> str:
    """Why ``raw`` (UTF-8 by its start) holding a NUL byte is not read as text: a binary file
    of a known kind (:func:`~xbarmem.files.arrays.what_is`: a model, an array, a store) named
    as what it is; text saved as UTF-16 without its byte-order mark (NULs at every other byte
    of its start) told how to save it; else a binary file."""
    from xbarmem.files.arrays import what_is  # (it reads text_encoding from here)

    kind, first = what_is(raw), raw.index(0)
    if kind not in (None, "text"):
        return f"{where} is not text: the file is {kind}"
    head = raw[:256]
    if any(half and half.count(0) >= 0.9 * len(half) and other.count(0) <= 0.1 * len(other)
           for half, other in ((head[1::2], head[0::2]), (head[0::2], head[1::2]))):
        return (f"{where} holds NUL bytes (offset {first}): text saved as UTF-16 without its "
                f"byte-order mark? save it as UTF-8")
    return f"{where} is not text: it holds NUL bytes (offset {first}), as a binary file does"


def gunzip(raw: bytes, where: str, *, expand: float = 1.0,
           size_of: Callable[[bytes], int | None] | None = None) -> bytes:
    """Decompress gzip ``raw`` (several members allowed, as ``gzip.decompress``) in
    :data:`CHUNK` steps. ``size_of(head)`` may return the total decompressed size the data's own
    header declares (``None``: header not complete yet); it is checked against the limit as soon
    as known, and more data than declared is refused. The running size times ``expand`` is
    checked after every chunk. Corrupt or truncated data raises :class:`FileFormatError`
    naming ``where``."""
    out, data = bytearray(), raw
    declared: int | None = None
    try:
        while data:
            unzip = zlib.decompressobj(wbits=31)  # one gzip member
            while not unzip.eof:
                piece = unzip.decompress(data, CHUNK)
                data = unzip.unconsumed_tail
                if not piece and not data:
                    raise FileFormatError(f"{where}: compressed data ends early (truncated)")
                out += piece
                if declared is None and size_of is not None:
                    declared = size_of(bytes(out[:1 << 16]))
                    if declared is not None:
                        check_bytes(f"decompressing {where}", declared * expand)
                if declared is not None and len(out) > declared:
                    raise FileFormatError(f"{where}: more data than its header declares")
                check_bytes(f"decompressing {where}", len(out) * expand)
            data = unzip.unused_data.lstrip(b"\x00")  # trailing padding is allowed
    except zlib.error as exc:
        raise FileFormatError(f"{where}: corrupt gzip data ({exc})") from None
    return bytes(out)


class NestingError(json.JSONDecodeError, tomllib.TOMLDecodeError):
    """JSON or TOML text nested deeper than :data:`MAX_NESTING`: both a
    ``json.JSONDecodeError`` and a ``tomllib.TOMLDecodeError`` (so a ``ValueError``), caught
    wherever a parse error of the text is. ``msg`` is the whole message."""

    def __init__(self, msg: str) -> None:
        json.JSONDecodeError.__init__(self, msg, "", 0)

    def __str__(self) -> str:
        return self.msg


def _depth(value: Any) -> int:
    """Nesting depth of lists / dicts in ``value``, counted without recursion (stops past
    :data:`MAX_NESTING`)."""
    deepest, todo = 0, [(value, 1)]
    while todo and deepest <= MAX_NESTING:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                 else item) if isinstance(v, dict | list))
    return deepest


class RepeatedKeyError(json.JSONDecodeError):
    """A JSON object naming one key twice (a ``json.JSONDecodeError``, so a ``ValueError``,
    caught wherever a parse error of the text is). ``msg`` is the whole message."""

    def __init__(self, msg: str) -> None:
        json.JSONDecodeError.__init__(self, msg, "", 0)

    def __str__(self) -> str:
        return self.msg


class NumberError(json.JSONDecodeError, tomllib.TOMLDecodeError):
    """A number of JSON or TOML text that no float holds (:func:`~xbarmem.checks.lost_number`):
    both a ``json.JSONDecodeError`` and a ``tomllib.TOMLDecodeError`` (so a ``ValueError``),
    caught wherever a parse error of the text is. ``msg`` is the whole message."""

    def __init__(self, msg: str) -> None:
        json.JSONDecodeError.__init__(self, msg, "", 0)

    def __str__(self) -> str:
        return self.msg


class _Lost:
    """What :func:`parse_text` reads a number of JSON or TOML text as that no float holds
    (``why``: :func:`~xbarmem.checks.lost_number`'s words), found after the parse with the
    key it sits under (:func:`_lost_path`) and refused; never returned."""

    def __init__(self, why: str) -> None:
        self.why = why


def _floats(lost: list[_Lost]) -> Callable[[str], Any]:
    """The parsers' ``parse_float``: a float of the text, or a :class:`_Lost` (kept in
    ``lost``) for one no float holds."""
    def read(text: str) -> Any:
        why = lost_number(text)
        if why is None:
            return float(text)
        lost.append(_Lost(why))
        return lost[-1]

    return read


def _lost_path(value: Any, marker: _Lost, path: str = "") -> str | None:
    """Where ``marker`` sits in parsed ``value``: its keys joined by dots, list positions in
    brackets (``grid.fault_rate[1]``; "" at the top), or None when it is not there."""
    if value is marker:
        return path
    steps = (((f"{path}.{k}" if path else str(k)), v) for k, v in value.items()
             ) if isinstance(value, dict) else ((f"{path}[{i}]", v) for i, v in enumerate(
                 value)) if isinstance(value, list) else ()
    for where, item in steps:
        found = _lost_path(item, marker, where)
        if found is not None:
            return found
    return None


def _keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a key twice (``json.loads`` keeps the last
    silently, where TOML refuses the file)."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise RepeatedKeyError(f"an object names {shown(twice)} twice; give each key once")
    return obj


def unparsed(exc: Exception, what: str) -> str:
    """What a refusal of JSON or TOML text (``what``: ``"JSON"``, ``"TOML"``) that
    :func:`parse_text` could not read says after the file or option it names: ``not valid
    TOML (...)`` for text that is not ``what`` (``exc``, its parse error); for a
    :class:`NumberError` (the text is valid, a number of it no float holds) that alone: ``the
    number 1e-400 is too small for a float to hold ...``."""
    return str(exc) if isinstance(exc, NumberError) else f"not valid {what} ({exc})"


def parse_text(parse: Callable[..., Any], text: str | bytes, **options: Any) -> Any:
    """``parse(text, **options)`` (``json.loads``, ``tomllib.loads``, ...) for text from a
    file or a user: text nested deeper than :data:`MAX_NESTING` lists / tables -- which would
    otherwise end in a ``RecursionError`` there or in any later step -- raises
    :class:`NestingError`; JSON naming a key twice in one object (which ``json.loads`` reads as
    its last value, silently; TOML refuses it) raises :class:`RepeatedKeyError`, unless
    ``options`` give an ``object_pairs_hook``; a number of JSON or TOML that no float holds
    (``1e400``, read as infinity; ``1e-400``, read as 0: :func:`~xbarmem.checks.lost_number`)
    raises :class:`NumberError` naming the key it sits under (``device.g_min: the number
    ...``), unless ``options`` give a ``parse_float``; other parse errors pass through
    unchanged."""
    if parse is json.loads:
        options.setdefault("object_pairs_hook", _keys_once)
    lost: list[_Lost] = []
    if parse in (json.loads, tomllib.loads):
        options.setdefault("parse_float", _floats(lost))
    try:
        value = parse(text, **options)
    except RecursionError:
        value = None
        deep = True
    else:
        deep = _depth(value) > MAX_NESTING
    if deep:
        raise NestingError(f"lists / tables nested more than {MAX_NESTING} deep")
    if lost:
        where = _lost_path(value, lost[0])
        raise NumberError(f"{f'{where}: ' if where else ''}the number {lost[0].why}")
    return value
