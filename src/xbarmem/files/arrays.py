"""``.npy`` / ``.npz`` files read without trusting them: :class:`ArrayFile` checks every array's
header (shape, dtype) against :mod:`xbarmem.limits` and against the bytes really present before
it is loaded; object arrays are refused (nothing is ever unpickled). :meth:`ArrayFile.of_file`
of a file :func:`~xbarmem.files.reading.opened` reads only what :meth:`ArrayFile.header`
needs: an array's shape and dtype, with the same checks, without loading it. :func:`what_is`
names the formats users hand over by mistake.
"""

from __future__ import annotations

import io
import math
import tokenize
import zipfile
import zlib
from typing import IO, BinaryIO, NoReturn

import numpy as np

from xbarmem.checks import shown
from xbarmem.errors import FileFormatError
from xbarmem.files.reading import text_encoding
from xbarmem.limits import check_bytes, human

_NPY_MAGIC = b"\x93NUMPY"

#: the longest ``.npy`` header read: numpy's own default, beyond which ``np.load`` refuses one
_NPY_MAX_HEADER = 10_000

#: what reading a damaged zip archive (.npz) can raise: a flipped version field in its
#: directory gives NotImplementedError, a flipped "encrypted" flag RuntimeError, a corrupt
#: deflate stream zlib.error
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError,
               NotImplementedError, RuntimeError)


def _npy_header(raw: bytes, where: str) -> tuple[tuple[int, ...], np.dtype, int] | None:
    """``(shape, dtype, data offset)`` of the ``.npy`` bytes ``raw``; ``None`` while the header
    is incomplete; :class:`FileFormatError` when it is not an ``.npy`` header."""
    if len(raw) < 10:
        return None if _NPY_MAGIC.startswith(raw[:6]) else _not_npy(where, raw)
    if not raw.startswith(_NPY_MAGIC) or raw[6] not in (1, 2, 3):
        _not_npy(where, raw)
    size_len = 2 if raw[6] == 1 else 4
    offset = 8 + size_len + int.from_bytes(raw[8:8 + size_len], "little")
    if len(raw) < offset:
        return None
    fp = io.BytesIO(raw[:offset])
    try:
        version = np.lib.format.read_magic(fp)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = reader(fp, max_header_size=_NPY_MAX_HEADER)
    except (ValueError, TypeError, SyntaxError, tokenize.TokenError, RecursionError,
            MemoryError) as exc:
        # numpy evaluates the header as a Python literal: a damaged one can end in any of
        # these (an unclosed bracket: TokenError; thousands of signs: Recursion/MemoryError)
        said = (str(exc).splitlines() or [""])[0] or "nested too deeply"
        raise FileFormatError(f"{where}: corrupt .npy header ({said})") from None
    if dtype.hasobject:
        raise FileFormatError(f"{where}: holds Python objects ({dtype}); only numeric arrays "
                              "are read (never unpickled)")
    return tuple(int(d) for d in shape), dtype, offset


def _not_npy(where: str, raw: bytes = b""):
    kind = what_is(raw)
    if kind == "text":  # a table saved as text, under any name (.txt, .tsv, .dat, .npy)
        kind = ("text (a table of numbers? an array is read from the binary .npy/.npz files "
                "of numpy.save / numpy.savez)")
    raise FileFormatError(f"{where}: not a NumPy .npy array"
                          + (f"; the file is {kind}" if kind else " (bad magic)"))


#: what ``torch.save`` writes (a zip archive whose first member is ``<name>/data.pkl``: the
#: tensors' pickle), in words
TORCH_SAVE = "a PyTorch file of torch.save (a pickle in a zip archive, never unpickled)"


def is_torch_save(raw: bytes) -> bool:
    """Whether ``raw``, a file's first bytes (at least its first 30 plus a member name), are a
    zip archive whose first member is a pickle named ``data.pkl``, as ``torch.save`` writes
    it (``.pt``, ``.pth``; a file of the older format is a bare pickle)."""
    if not raw.startswith(b"PK\x03\x04") or len(raw) < 30:
        return False
    name = raw[30:30 + int.from_bytes(raw[26:28], "little")]
    return name == b"data.pkl" or name.endswith(b"/data.pkl")


#: leading bytes of formats users hand over by mistake, and what to call them
_MAGICS = ((b"\x93NUMPY", "a NumPy .npy array"), (b"PK\x03\x04", "a zip archive (.npz)"),
           (b"PK\x05\x06", "an empty zip archive (.npz)"), (b"\x1f\x8b", "gzip data"),
           (b"SQLite format 3\x00", "a SQLite database"),
           (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"))


def what_is(raw: bytes) -> str | None:
    """What the bytes ``raw`` of a file are, when recognisable from their first bytes (for
    messages about a file given in the wrong place): ``"empty (0 bytes)"``, ``"a NumPy .npy
    array"``, ``"a Python pickle (never unpickled)"``, a safetensors file (a model), ...,
    ``"text"``; ``None`` when unknown."""
    if not raw:
        return "empty (0 bytes)"
    if is_torch_save(raw):
        return TORCH_SAVE
    for magic, kind in _MAGICS:
        if raw.startswith(magic):
            return kind
    if raw[0] == 0x80 and len(raw) > 1 and raw[1] <= 5:  # pickle protocol 2..5 opcode
        return "a Python pickle (never unpickled)"
    if raw[8:9] == b"{" and 2 <= int.from_bytes(raw[:8], "little") <= len(raw) - 8:
        return "a safetensors file (a model of xbarmem train?)"  # (its header's size, then JSON)
    return "text" if _is_text(raw[:512]) else None


def _is_text(head: bytes) -> bool:
    """Whether ``head``, the first bytes of a file, are printable text in the encoding
    :func:`text_encoding` reads (a character cut at the end aside)."""
    text = head.decode(text_encoding(head), errors="replace")
    if "\ufffd" in text[:-1]:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text.rstrip("\ufffd"))


def npy_size(raw: bytes, where: str = "array") -> int | None:
    """Total bytes (header + data) the ``.npy`` header at the start of ``raw`` declares, or
    ``None`` while incomplete (a ``size_of`` for :func:`gunzip`); ``where`` names the array in
    messages."""
    header = _npy_header(raw, where)
    if header is None:
        return None
    shape, dtype, offset = header
    return offset + math.prod(shape) * dtype.itemsize


class ArrayFile:
    """The arrays held in ``.npy`` or ``.npz`` bytes ``raw`` (a file's contents), loaded one at a
    time, each checked first.

    ``names`` lists an ``.npz``'s arrays (``[]`` for an ``.npy``); :meth:`array` loads one.
    ``where`` names the file in messages. Raises :class:`FileFormatError` for anything that is
    not a readable NumPy file."""

    def __init__(self, raw: bytes, where: str) -> None:
        self.raw, self.where = raw, where
        self._open(io.BytesIO(raw), len(raw))

    def _open(self, source: BinaryIO, size: int) -> None:
        """Read what tells the arrays of ``source`` (``size`` bytes) apart: an ``.npz``'s
        member list, or the ``.npy`` header (its first bytes only)."""
        self._source, self._size = source, size
        if not size:
            self._fail("the file is empty (0 bytes)")
        self.is_npz = source.read(2) == b"PK"
        source.seek(0)
        self._zip: dict[str, zipfile.ZipInfo] = {}
        if self.is_npz:
            try:
                with zipfile.ZipFile(source) as archive:
                    infos = archive.infolist()
            except _ZIP_ERRORS as exc:
                raise FileFormatError(f"{self.where}: corrupt .npz archive ({exc})") from None
            self._zip = {i.filename.removesuffix(".npy"): i for i in infos}
            if infos and (infos[0].filename == "data.pkl"
                          or infos[0].filename.endswith("/data.pkl")):
                self._fail(f"not a NumPy .npz archive; the file is {TORCH_SAVE}")
            if not self._zip:
                self._fail("is an .npz archive holding no arrays")
        else:
            self._head = _npy_head(source)
            _npy_header(self._head, self.where) or self._fail("truncated .npy header")

    @classmethod
    def of_file(cls, handle: BinaryIO, size: int, where: str) -> ArrayFile:
        """The arrays of the open ``.npy`` / ``.npz`` file ``handle`` (``size`` bytes, e.g. of
        :func:`opened`; ``where`` names it in messages): only their headers are read here;
        :meth:`header` reads no more, :meth:`array` / :meth:`pick` / :meth:`planes` read the array
        they load from ``handle`` (still open) after the checks of :meth:`header`."""
        self = cls.__new__(cls)
        self.raw, self.where = b"", where
        self._open(handle, size)
        return self

    def _held(self) -> BinaryIO:
        """What the arrays are read from, at its start: the ``raw`` bytes given, or the open
        file of :meth:`of_file`."""
        self._source.seek(0)
        return self._source

    @property
    def names(self) -> list[str]:
        """The names of an ``.npz``'s arrays, in the archive's order (``[]`` for an ``.npy``)."""
        return list(self._zip)

    def _listed(self) -> str:
        return ", ".join(map(repr, self.names)) or "none"

    def _fail(self, problem: str) -> NoReturn:
        raise FileFormatError(f"{self.where}: {problem}")

    def pick(self, key: str | None, how: str = "choose one of") -> np.ndarray:
        """The array ``key`` (an ``.npz`` member), or the only one; an ``.npy``'s array when
        ``key`` is None. ``how`` tells the user how to choose among several."""
        return self.array(self._picked(key, how))

    def _picked(self, key: str | None, how: str) -> str | None:
        """The member :meth:`pick` reads (None: the ``.npy``'s array), refused as it says."""
        if not self.is_npz:
            if key is not None:
                self._fail(f"is a single .npy array, it has no array named {shown(key)}")
            return None
        if key is None and len(self.names) != 1:
            self._fail(f"holds {len(self.names)} arrays; {how} {self._listed()}")
        return key if key is not None else self.names[0]

    def header(self, key: str | None, how: str = "choose one of") -> tuple[tuple[int, ...],
                                                                          np.dtype]:
        """``(shape, dtype)`` of the array :meth:`pick` would load (``key`` and ``how`` as there),
        from its header alone, refused as :meth:`pick` refuses it for everything a header and the
        sizes tell (the member chosen, a corrupt or truncated header, an object array, data shorter
        than declared, the memory limit); what only the data's bytes tell (a corrupt compressed
        member) is found when it is loaded."""
        name = self._picked(key, how)
        if not self.is_npz:
            return _npy_checked(self._head, self._size, self.where)[:2]
        where, info = self._member(name)
        try:
            with zipfile.ZipFile(self._source) as archive, archive.open(info) as member:
                head = _npy_head(member)
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"{where}: corrupt .npz member ({exc})") from None
        return _npy_checked(head, info.file_size, where)[:2]

    def _member(self, name: str | None) -> tuple[str, zipfile.ZipInfo]:
        """How messages name the member ``name`` and its entry, its size checked against the
        memory limit (:class:`FileFormatError` for a name the archive does not hold)."""
        if name is None or name not in self._zip:
            self._fail(f"no array named {shown(name)} (arrays: {self._listed()})")
        info = self._zip[name]
        where = f"{self.where}, array {shown(name)}"
        check_bytes(f"reading {where}", 2 * info.file_size)
        return where, info

    def planes(self, key: str | None, how: str = "choose one of") -> np.ndarray:
        """As :meth:`pick` (``how`` as there); a ``key`` naming two members, ``"PLUS,MINUS"``, reads
        them as the G+ and G- planes of differential pairs, each ``(rows, cols)`` or ``(n_arrays,
        rows, cols)``, stacked as ``(2, rows, cols)`` / ``(n_arrays, 2, rows, cols)``."""
        if key is None or "," not in key:
            return self.pick(key, how)
        names = [name.strip() for name in key.split(",")]
        if len(names) != 2 or not all(names):
            self._fail(f"key {shown(key)}: a key with a comma names two arrays, the G+ and G- "
                       "planes (PLUS,MINUS)")
        if not self.is_npz:
            self._fail(f"is a single .npy array; the G+ and G- planes {shown(key)} are read "
                       "from two arrays of an .npz")
        plus, minus = self.array(names[0]), self.array(names[1])
        if plus.shape != minus.shape or plus.ndim not in (2, 3):
            self._fail(f"the G+ and G- planes {shown(names[0])} and {shown(names[1])} must be "
                       f"two arrays of one shape, (rows, cols) or (n_arrays, rows, cols): got "
                       f"{tuple(plus.shape)} and {tuple(minus.shape)}")
        return np.stack([plus, minus], axis=-3)

    def array(self, name: str | None = None) -> np.ndarray:
        """Load the ``.npy`` (``name`` None) or the member ``name`` of the ``.npz``."""
        if not self.is_npz:
            if not self.raw:  # (of_file: the size checked before the file is read)
                _npy_checked(self._head, self._size, self.where)
            return _load_npy(self.raw or self._held().read(self._size), self.where)
        where, info = self._member(name)
        try:
            with zipfile.ZipFile(self._held()) as archive:
                raw = archive.read(info)
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"{where}: corrupt .npz member ({exc})") from None
        return _load_npy(raw, where)


def _npy_head(source: BinaryIO | IO[bytes]) -> bytes:
    """The first bytes of the ``.npy`` data ``source`` up to the end of its header (as many as
    the file has, when fewer): all :func:`_npy_header` reads."""
    head = source.read(10)
    if len(head) < 10 or not head.startswith(_NPY_MAGIC) or head[6] not in (1, 2, 3):
        return head + source.read(502)  # (what the refusal tells the file by: what_is)
    size_len = 2 if head[6] == 1 else 4
    head += source.read(size_len - 2)
    offset = 8 + size_len + int.from_bytes(head[8:8 + size_len], "little")
    return head + source.read(max(0, offset - len(head)))


def _npy_checked(head: bytes, size: int, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of ``.npy`` data of ``size`` bytes starting ``head``
    (at least its header), refused before anything is loaded: a truncated or corrupt header,
    an object array, data above the memory limit, shorter than the header declares or longer
    (bytes past the array, which ``np.load`` ignores: arrays saved one after another into one
    file, of which it reads the first only; a ``.npy.gz`` holding them was refused already)."""
    header = _npy_header(head, where)
    if header is None:
        raise FileFormatError(f"{where}: truncated .npy header")
    shape, dtype, offset = header
    nbytes = math.prod(shape) * dtype.itemsize
    check_bytes(f"loading {where} ({'x'.join(map(str, shape))} {dtype})", nbytes)
    if size - offset < nbytes:
        declared, present = human(nbytes), human(size - offset)
        if declared == present:  # (a few bytes short of 64 KiB: "64 KiB, 64 KiB present")
            declared, present = f"{nbytes} B", f"{size - offset} B"
        raise FileFormatError(f"{where}: truncated .npy (its header declares {declared} of "
                              f"data, {present} present)")
    if size - offset > nbytes:
        raise FileFormatError(f"{where}: {human(size - offset - nbytes)} past the end of the array "
                              f"its header declares ({'x'.join(map(str, shape))} {dtype}): "
                              "arrays saved one after another into one file? (numpy.load reads "
                              "the first only) save them as one array, or in an .npz")
    return shape, dtype, offset


def _load_npy(raw: bytes, where: str) -> np.ndarray:
    _npy_checked(raw, len(raw), where)
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"{where}: corrupt .npy ({exc})") from None
