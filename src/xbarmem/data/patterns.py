"""Pattern sets: :class:`PatternSet` (validated ``(P, N)`` float32 patterns with kind, labels
and image shape), the checks every pattern matrix passes, and the helpers that turn images
into patterns and pick subsets.

Every pattern matrix handed out by the data layer is a float32 ``np.ndarray`` of shape ``(P, N)``
(``P`` patterns of ``N`` neurons, images flattened row-major). ``"binary"`` patterns hold
exactly -1.0 / +1.0; ``"continuous"`` patterns hold values in [-1, 1].
"""

from __future__ import annotations

import functools
import numbers
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xbarmem.checks import (
    as_real_array,
    check_count,
    check_flag,
    check_image_shape,
    check_neurons,
    check_tensor,
    check_type,
    checked_keywords,
    choice_key,
    choices_text,
    closest_choice,
    counted,
    is_bool,
    not_numbers,
    shown,
    shown_typed,
    tensor_of,
    value_equality,
)
from xbarmem.errors import PatternError
from xbarmem.limits import check_bytes
from xbarmem.names import KINDS
from xbarmem.sizes import pattern_bytes

# --------------------------------------------------------------------------- validation


def check_kind(kind: str) -> str:
    """The canonical pattern kind ``kind`` names (``"Binary"``: ``"binary"``), else
    :class:`PatternError`."""
    key = choice_key(kind, KINDS)
    if key is None:
        raise PatternError(f"unknown pattern kind {shown(kind)}: expected one of "
                           f"{choices_text(KINDS)}{closest_choice(kind, KINDS)}")
    return key


def _is_tensor(x: Any) -> bool:
    """A torch tensor (without loading torch: a tensor exists only once torch is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(x: Any, name: str = "patterns",
              what: str = "a (P, N) matrix of real numbers") -> np.ndarray:
    if _is_tensor(x):
        return check_tensor(x, name, error=PatternError).detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):  # ragged nested lists, odd objects
        arr = None
    if arr is None or (not isinstance(x, np.ndarray) and arr.dtype.kind in "OUSV"):
        # None, a text, a dict, a memory, a PatternSet: named for what it is
        raise not_numbers(x, name, what, error=PatternError)
    return arr


def validate_patterns(
    x: Any,
    kind: str = "binary",
    n_neurons: int | None = None,
    zero_one: bool = False,
    *,
    allow_zero_one: bool | None = None,
) -> np.ndarray:
    """Check a pattern matrix and return it as a new float32 array of shape ``(P, N)``.

    ``x`` may be a numpy array, a torch tensor or a nested list. ``kind="binary"`` requires
    values in {-1, +1} (with ``zero_one=True`` a {0, 1} matrix is mapped 0 -> -1, 1 -> +1);
    ``kind="continuous"`` requires values in [-1, 1] (with ``zero_one=True`` values in
    [0, 1], mapped to [-1, 1] by ``2 x - 1``: grey levels as images are often saved).
    Integers 0..255, some above 1 (any integer dtype: :func:`integer_grey`), are 8-bit grey
    levels, each row an image, read as a file's 8-bit images are (:func:`images_to_patterns`:
    binarised at each row's mean, or ``x / 255 * 2 - 1``; ``zero_one`` refused); integers
    below -1 or above 255 are refused. If
    ``n_neurons`` is given, ``N`` must equal it. Any problem raises :class:`PatternError`
    with a one-line message. ``allow_zero_one`` is the deprecated name of ``zero_one`` (a
    ``DeprecationWarning``).
    """
    if allow_zero_one is not None:
        warnings.warn("validate_patterns(allow_zero_one=...) is deprecated; use zero_one=...",
                      DeprecationWarning, stacklevel=2)
        zero_one = zero_one or allow_zero_one
    kind = check_kind(kind)
    zero_one = check_flag(zero_one, "zero_one", error=PatternError)
    if n_neurons is not None:
        check_count(n_neurons, "n_neurons", error=PatternError)
    raw = _to_numpy(x)
    arr = _finite_matrix(raw)
    if n_neurons is not None and arr.shape[1] != n_neurons:
        raise PatternError(
            f"patterns have N={arr.shape[1]} neurons but the memory/chip has {n_neurons}"
        )
    if integer_grey(raw):
        if zero_one:
            raise PatternError(f"patterns hold {GREY_LEVELS}, read as images whatever "
                               f"zero_one, which reads values in [0, 1]: drop zero_one=True "
                               f"(CLI: --zero-one)")
        return images_to_patterns(arr, 255.0, kind)
    if kind == "binary":
        return _binary_values(arr, zero_one)
    if zero_one:
        _check_range(arr, "continuous patterns read with zero_one=True (CLI: --zero-one)", 0.0)
        return (2.0 * arr - 1.0).astype(np.float32)
    _check_unit_range(arr, "continuous patterns")
    return arr


#: what :func:`integer_grey` takes, in messages
GREY_LEVELS = "8-bit grey levels 0..255"


def integer_grey(arr: np.ndarray) -> bool:
    """The one rule of integer pattern values, for files and arrays alike: whether ``arr``
    (any shape) holds 8-bit grey levels -- an integer dtype (uint8 or another; bool is none),
    every value in 0..255, some above 1 -- to be read as images. False for other dtypes and
    for integers in -1..1 (binary -1/1, or 0/1 with ``zero_one``, as ever) and, so that their
    refusal names what they are, for 0..255 beside -1 (a column of labels); integers below -1
    or above 255 raise :class:`PatternError` naming their range."""
    if arr.dtype.kind not in "iu" or not arr.size:
        return False
    low, high = int(arr.min()), int(arr.max())
    if low < -1 or high > 255:
        raise PatternError(f"patterns hold {arr.dtype} values from {low} to {high}; integer "
                           f"patterns are -1/1, 0/1 or {GREY_LEVELS}")
    return low >= 0 and high > 1


def check_cue_values(x: np.ndarray, activation: str) -> None:
    """The one rule for the values of recall cues (a finite ``(B, N)`` array), shared by every
    public path that recalls: every entry in [-1, 1] (continuous values, e.g. noisy or
    occluded cues, are taken for both activations); for ``"sign"`` recall, which reads states
    in {-1, +1}, not a {0, 1} matrix (every entry 0 or 1, at least one of each; all zeros,
    every entry unknown, is taken). Raises
    :class:`PatternError` in one line: how many entries lie outside and the range seen, or how
    to map {0, 1} cues."""
    _check_unit_range(x, "cues")
    if activation == "sign" and _is_zero_one(x) and (x == 1.0).any():
        raise PatternError("cues are a {0,1} matrix (every entry 0 or 1) but sign recall "
                           "reads states in {-1,+1}: map them with 2*x - 1 (CLI: --zero-one)")


def file_cue_values(x: Any, kind: str, zero_one: bool = False) -> np.ndarray:
    """Recall cues read from a file (not 8-bit images) for a memory of ``kind`` patterns, as a
    new float32 ``(B, N)`` array: values in [-1, 1] whatever ``kind`` (noisy or occluded cues
    of binary patterns), or with ``zero_one`` values in [0, 1] mapped by ``2 x - 1``, as
    :func:`validate_patterns` reads continuous patterns (cues of a binary model all +-1 are
    kept, as its patterns are with the flag); the refusal
    (:class:`PatternError`) names the cues, the model's kind and the range they must lie in
    (it said "continuous patterns" of a binary model's cues)."""
    arr = _finite_matrix(x, "cues")
    what = f"cues of a {check_kind(kind)} model"
    if check_flag(zero_one, "zero_one", error=PatternError):
        if kind == "binary" and (np.abs(arr) == 1.0).all():
            return arr  # (+-1 already: as a file of binary patterns is read with the flag)
        _check_range(arr, f"{what} read with zero_one=True (CLI: --zero-one)", 0.0)
        return (2.0 * arr - 1.0).astype(np.float32)
    _check_unit_range(arr, what)
    return arr


def _check_unit_range(arr: np.ndarray, what: str) -> None:
    """:class:`PatternError` naming ``what`` unless every entry of ``arr`` lies in [-1, 1]."""
    _check_range(arr, what, -1.0)


#: the hint of continuous values outside [-1, 1] that are no images (standardised data, say)
_SCALE_ROWS = ("standardised data? scale each pattern into [-1, 1], e.g. "
               "x / abs(x).max(axis=1, keepdims=True)")


def _check_range(arr: np.ndarray, what: str, low: float) -> None:
    """:class:`PatternError` naming ``what`` unless every entry of ``arr`` lies in
    [``low``, 1]."""
    bad = (arr < low) | (arr > 1.0)
    outside = int(np.count_nonzero(bad))
    if outside:
        hint = None
        if arr.ndim == 2 and what != "cues":  # (cues: one message on every recall path)
            scale = _image_scale(arr)
            hint = _one_column(bad) or (f"{_IMAGE_VALUES[scale]}? scale them: x / {scale} * 2 "
                                        f"- 1" if scale else None) or (
                _SCALE_ROWS if low < 0 else None)
        raise PatternError(f"{what} must lie in [{low:g}, 1]; {outside} of {arr.size} entries "
                           f"lie outside (min={_value(arr.min())}, max={_value(arr.max())})"
                           + (f"; {hint}" if hint else ""))


#: what whole numbers from 0 to a full scale of 16 or 255 probably are, in messages
_IMAGE_VALUES = {16: "scikit-learn's 8x8 digit images (0..16)", 255: "8-bit image values (0..255)"}


def _image_scale(arr: np.ndarray) -> int | None:
    """The full scale of image values in ``arr`` -- every entry a whole number from 0, some
    above 1: 16 (scikit-learn's digits) when none is above 16, else 255 (8-bit images) when
    none is above that -- or None for other values."""
    if not (arr.min() >= 0 and arr.max() > 1 and (arr % 1 == 0).all()):
        return None
    return next((scale for scale in _IMAGE_VALUES if arr.max() <= scale), None)


def _one_column(bad: np.ndarray) -> str | None:
    """Where the bad entries ``bad`` (a ``(P, N)`` mask), in three rows or more, all lie in
    the first or the last column: that column named, as a file's column of labels or row
    numbers (read as a neuron) would be; else None."""
    columns = np.flatnonzero(bad.any(axis=0))
    if (columns.size != 1 or int(columns[0]) not in (0, bad.shape[1] - 1)
            or bad.shape[1] < 2 or np.count_nonzero(bad) < 3):
        return None
    return (f"all in column {int(columns[0])} of {bad.shape[1]}: a column of labels or row "
            f"numbers? remove it")


def _is_zero_one(arr: np.ndarray) -> bool:
    """Every entry is 0 or 1 and at least one is 0 (a {0, 1} matrix, not a +-1 one)."""
    return bool(((arr == 0.0) | (arr == 1.0)).all() and (arr == 0.0).any())


def _value(v: np.floating) -> str:
    """A float32 value in messages: the shortest text that reads back as that value (so that
    1.0000001 is not shown as 1, as ``:g`` would)."""
    return str(np.float32(v))


#: what a matrix of each kind is called in refusals: a row of it, its shape's first letter
_ROWS = {"patterns": ("pattern", "P"), "cues": ("cue", "B")}


def _finite_matrix(x: Any, what: str = "patterns") -> np.ndarray:
    """A fresh float32 ``(P, N)`` copy of ``x``: real, 2-D, non-empty, finite; refusals name
    ``what`` it holds (a key of :data:`_ROWS`)."""
    noun, letter = _ROWS[what]
    arr = _to_numpy(x)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise PatternError(f"{what} must be real numbers, got non-numeric dtype {arr.dtype}")
    if arr.ndim == 1 and arr.size:
        raise PatternError(
            f"{what} must be 2-D ({letter}, N), got a 1-D vector of shape {arr.shape}; "
            f"reshape it to (1, {arr.shape[0]})"
        )
    if arr.ndim != 2 and arr.size:
        raise PatternError(f"{what} must be 2-D ({letter}, N), got shape {arr.shape}")
    if arr.size == 0:
        raise PatternError(
            f"{'pattern set is' if what == 'patterns' else what + ' are'} empty: shape {arr.shape} "
            f"(need at least 1 {noun} and 1 neuron)"
        )
    check_bytes(f"validating {arr.shape[0]}x{arr.shape[1]} {what}", pattern_bytes(arr.size))
    with np.errstate(over="ignore", invalid="ignore"):  # out of float32 range -> inf, below
        arr = np.array(arr, dtype=np.float32)  # always a fresh copy
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        at, col = (int(v) for v in bad[0])
        raise PatternError(
            f"{what} contain {counted(len(bad), 'NaN/inf value')} (or beyond the float32 "
            f"range), "
            f"first at index ({at}, {col})"
        )
    return arr


#: the end of the refusal of non-binary values read as binary patterns; an entry point that
#: reads binary patterns only (and so takes no ``kind``) says instead what it does take
KIND_HINT = "continuous data: kind='continuous' (CLI: --kind continuous)"


def _binary_values(arr: np.ndarray, zero_one: bool) -> np.ndarray:
    """``arr`` if it is all +-1; a {0, 1} matrix mapped to +-1 when allowed; else an error
    naming the values that are neither of the two the matrix is read as: -1 and +1, or, with
    ``zero_one`` (and no -1 among them), 0 and 1 (its zeros are no error then)."""
    is_pm1 = np.abs(arr) == 1.0
    if is_pm1.all():
        return arr
    if _is_zero_one(arr):
        if zero_one:
            return np.where(arr > 0.5, 1.0, -1.0).astype(np.float32)
        values = "{0,1}" if (arr == 1.0).any() else "all 0"
        raise PatternError(
            f"binary patterns must be in {{-1,+1}} but these are {values}; pass "
            "zero_one=True (CLI: --zero-one) to map 0->-1, 1->+1"
        )
    as_zero_one = zero_one and not (arr == -1.0).any()
    low, pair, rounding = (0.0, ("0", "1"), "np.round") if as_zero_one else (
        -1.0, ("-1", "+1"), "np.sign")
    distance = np.minimum(np.abs(arr - low), np.abs(arr - 1.0))
    other = distance != 0.0
    row, col = (int(v) for v in np.argwhere(other)[0])
    hint = _one_column(other) or (
        f"all are within {_NEAR_PM1:g} of {pair[0]} or {pair[1]}: round them ({rounding}) if "
        "they are binary" if float(distance.max()) <= _NEAR_PM1 else
        f"{_IMAGE_VALUES[scale]}? binarise each image at its mean, as "
        "load_file does: np.where(x > x.mean(axis=1, keepdims=True), 1, -1)"
        if (scale := _image_scale(arr)) else
        KIND_HINT)
    read = " read with zero_one=True (CLI: --zero-one)" if as_zero_one else ""
    raise PatternError(
        f"binary patterns{read} must contain only {pair[0]} and {pair[1]}; found "
        f"{counted(int(other.sum()), 'other value')}, e.g. {_value(arr[row, col])} at "
        f"({row}, {col}); {hint}"
    )


#: how far from +-1 the values of an "almost binary" matrix lie at most (named in the message)
_NEAR_PM1 = 1e-3


# --------------------------------------------------------------------------- PatternSet


def _subset_indices(indices: Any) -> np.ndarray:
    """``indices`` of :meth:`PatternSet.subset` (one int, a 1-D sequence of ints or a bool
    mask) as a numpy array; :class:`PatternError` naming them otherwise (an empty selection
    among them: a pattern set holds at least one pattern)."""
    arr = np.atleast_1d(as_real_array(indices, "indices", error=PatternError, dtype=None))
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iub":
        raise PatternError(f"indices must be one int, a 1-D list of at least one int or a "
                           f"bool mask, got {shown_typed(indices)}")
    return arr


@checked_keywords
@value_equality(hashable=True)
@dataclass(frozen=True, eq=False)
class PatternSet:
    """An immutable, validated set of ``P`` patterns of ``N`` neurons: its arrays are its own
    copies, read-only (``pset.patterns[0, 0] = 5`` raises numpy's ``ValueError``; the array a
    set was made from stays the caller's, writable). Sets of the same patterns, kind, name,
    labels, image shape and key are equal (``==``; a copy, a pickled set read back, the same
    loader called twice) and share one hash.

    It reads as a sequence of rows and as its matrix: ``len(pset)``, ``for p in pset`` and
    ``pset[i]`` give float32 rows ``(N,)``; ``pset[2:5]``, ``pset[[0, 3]]`` and ``pset[mask]``
    a new set of those rows, labels kept (:meth:`subset`); ``np.asarray(pset)`` and
    ``torch.as_tensor(pset)`` the ``(P, N)`` matrix.

    Attributes:
        patterns: float32 array ``(P, N)``; exactly +-1 when ``kind == "binary"``, in [-1, 1]
            when ``kind == "continuous"``.
        kind: ``"binary"`` or ``"continuous"``.
        name: human-readable name, e.g. ``"mnist8-binary"``.
        labels: optional int64 array ``(P,)`` (class of each pattern).
        image_shape: optional ``(h, w)`` with ``h * w == N`` (row-major flattening).
        key: the array of an .npz file the set was read from when one was named
            (``load_file(path, key=...)``, the CLI's ``--key``), else None; results record
            it beside :attr:`name` as ``data_key`` (:func:`~xbarmem.data.sources.data_fields`).
    """

    patterns: np.ndarray
    kind: str = "binary"
    name: str = "patterns"
    labels: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        check_type(self.name, str, "name", "a text")
        check_type(self.key, (str, type(None)), "key", "an .npz array's name or None")
        object.__setattr__(self, "kind", check_kind(self.kind))
        pats = validate_patterns(self.patterns, self.kind)  # (a new array: the set's own)
        pats.flags.writeable = False
        object.__setattr__(self, "patterns", pats)
        n_pat, n_neu = pats.shape
        if self.labels is not None:
            labels = _to_numpy(self.labels, "labels", f"{n_pat} integers")
            if labels.shape != (n_pat,) or not np.issubdtype(labels.dtype, np.integer):
                raise PatternError(
                    f"labels must be integers of shape ({n_pat},), got {labels.dtype} "
                    f"{labels.shape}"
                )
            labels = labels.astype(np.int64)  # (a copy: the set's own)
            labels.flags.writeable = False
            object.__setattr__(self, "labels", labels)
        if self.image_shape is not None:
            h, w = check_image_shape(self.image_shape, error=PatternError)
            if h * w != n_neu:
                raise PatternError(f"image_shape ({h}, {w}) does not match N={n_neu} neurons")
            object.__setattr__(self, "image_shape", (h, w))

    @property
    def n_patterns(self) -> int:
        """Number of patterns ``P``."""
        return int(self.patterns.shape[0])

    @property
    def n_neurons(self) -> int:
        """Number of neurons ``N`` per pattern."""
        return int(self.patterns.shape[1])

    @functools.cached_property
    def distinct_ids(self) -> np.ndarray:
        """int64 ``(P,)``: each pattern's index among the set's distinct patterns (equal rows
        share one id; ids run over ``0 .. n_distinct - 1``; read-only, as the set's arrays)."""
        ids = np.zeros(0, dtype=np.int64)
        if self.n_patterns:
            ids = np.unique(self.patterns, axis=0, return_inverse=True)[1].reshape(-1).astype(
                np.int64)
        ids.flags.writeable = False
        return ids

    @property
    def n_distinct(self) -> int:
        """Number of distinct patterns (rows that are not all equal to an earlier row)."""
        return int(self.distinct_ids.max()) + 1 if self.n_patterns else 0

    def subset(self, indices: int | slice | Sequence[int] | np.ndarray) -> PatternSet:
        """Return a new set holding the rows ``indices`` selects (an int, a slice, indices or a
        bool mask); :class:`PatternError` for an index out of range or a mask of another
        length."""
        idx: Any = indices if isinstance(indices, slice) else _subset_indices(indices)
        try:
            pats = self.patterns[idx]
            labels = None if self.labels is None else self.labels[idx]
        except IndexError as exc:
            raise PatternError(
                f"bad subset indices for {self.n_patterns} patterns: {exc}"
            ) from None
        return PatternSet(pats, self.kind, self.name, labels, self.image_shape, self.key)

    def __len__(self) -> int:
        return self.n_patterns

    def __iter__(self) -> Iterator[np.ndarray]:
        """The patterns, one float32 row ``(N,)`` at a time (``for p in pset``; pick rows
        with :meth:`subset`)."""
        return iter(self.patterns)

    def __getitem__(self, index: Any) -> Any:
        """``pset[i]`` (an integer): pattern ``i``, a float32 row ``(N,)`` (as ``for p in
        pset`` gives them; negative ``i`` from the end); ``pset[2:5]``, ``pset[[0, 3]]``,
        ``pset[mask]``: a new :class:`PatternSet` of those rows, labels kept
        (:meth:`subset`). :class:`PatternError` for an index out of range."""
        if isinstance(index, numbers.Integral) and not is_bool(index):
            i = int(index)
            if not -self.n_patterns <= i < self.n_patterns:
                raise PatternError(f"index {i} is out of range for {self.n_patterns} patterns")
            return self.patterns[i]
        return self.subset(index)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The ``(P, N)`` float32 patterns for numpy (``np.asarray(pset)``,
        ``torch.as_tensor(pset)``): ``dtype`` converts them, ``copy=True`` always copies,
        ``copy=False`` never does (``ValueError`` when ``dtype`` asks for a conversion), as the
        numpy protocol asks."""
        if copy is False and dtype is not None and np.dtype(dtype) != self.patterns.dtype:
            raise ValueError(f"a PatternSet holds float32 patterns: converting them to "
                             f"{np.dtype(dtype)} needs a copy (copy=False refuses one)")
        out = self.patterns if dtype is None else self.patterns.astype(dtype, copy=False)
        return out.copy() if copy and out is self.patterns else out

    def __dlpack__(self, **kwargs: Any) -> Any:
        """A copy of the patterns through DLPack (``kwargs`` as numpy's ``ndarray.__dlpack__``
        takes them): ``torch.as_tensor(pset)`` / ``torch.tensor(pset)`` read the ``(P, N)``
        matrix at once, not row by row, into a tensor of their own (torch has no read-only
        tensors: one sharing the set's array would let a write change the set)."""
        return self.patterns.copy().__dlpack__(**kwargs)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a copy of a set (``pickle``, a process pool's or Dask's worker,
        ``copy.deepcopy``) from ``state``, its attributes: numpy gives arrays back writable, so
        they are made read-only again, as the set's own are."""
        for value in state.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        self.__dict__.update(state)

    def __dlpack_device__(self) -> tuple[int, int]:
        """Where the patterns are (the CPU), for DLPack."""
        return self.patterns.__dlpack_device__()

    def __repr__(self) -> str:
        key = "" if self.key is None else f"key={self.key!r}, "
        return (
            f"PatternSet(name={self.name!r}, {key}kind={self.kind!r}, P={self.n_patterns}, "
            f"N={self.n_neurons}, image_shape={self.image_shape})"
        )


@checked_keywords
def as_pattern_set(patterns: Any, kind: str | None = None, *, zero_one: bool = False,
                   n_neurons: int | None = None) -> PatternSet:
    """The one way public entry points take ``patterns``: a :class:`PatternSet` or a ``(P, N)``
    matrix (numpy array, torch tensor or nested list; default kind ``"binary"``; ``zero_one``
    maps a {0, 1} matrix to +-1), validated by :func:`validate_patterns`. A set whose kind
    differs from a given ``kind`` is re-validated as that kind (binary data are valid
    continuous patterns). ``n_neurons``, if given, must equal ``N``; the set must be one a
    memory can store (:func:`check_storable`). Raises :class:`PatternError` with a one-line
    message."""
    check_flag(zero_one, "zero_one", error=PatternError)
    if n_neurons is not None:
        check_count(n_neurons, "n_neurons", error=PatternError)
    if isinstance(patterns, PatternSet):
        if kind is not None and check_kind(kind) != patterns.kind:
            patterns = PatternSet(patterns.patterns, kind, patterns.name, patterns.labels,
                                  patterns.image_shape, patterns.key)
        if n_neurons is not None and patterns.n_neurons != n_neurons:
            raise PatternError(f"patterns have N={patterns.n_neurons} neurons but the "
                               f"memory/chip has {n_neurons}")
    else:
        kind = "binary" if kind is None else check_kind(kind)
        patterns = PatternSet(validate_patterns(patterns, kind, n_neurons, zero_one=zero_one),
                              kind)
    return check_storable(patterns)


def check_storable(pset: PatternSet, where: str = "patterns") -> PatternSet:
    """``pset`` if a memory can store it, else :class:`PatternError` naming ``where``: ``N``
    must be at least 2 (:func:`~xbarmem.checks.check_neurons`) and no pattern may be all
    zeros (a continuous one can be: recall is scored by cosine similarity, which a zero vector
    does not have, and the zero state is a fixed point of every tanh memory)."""
    check_neurons(pset.n_neurons, f"{where}: the number of neurons N", PatternError)
    zero = np.flatnonzero(~pset.patterns.any(axis=1))
    if zero.size:
        raise PatternError(
            f"{where}: {counted(zero.size, 'pattern')} {'is' if zero.size == 1 else 'are'} all "
            f"zeros, first row {int(zero[0])}; "
            f"a stored "
            f"pattern must not be the zero vector (its recall cosine is undefined)")
    return pset


# --------------------------------------------------------------------------- image helpers


def resize_area(images: np.ndarray, side: int | None) -> np.ndarray:
    """Area-average float images ``(P, h, w)`` to ``(P, side, side)`` (no-op if same size):
    output row ``i`` averages input rows ``floor(i h / side)`` to ``ceil((i + 1) h / side) - 1``,
    and likewise the columns, with equal weights (torch's adaptive average pooling, its
    ``"area"`` interpolation). Where ``side`` divides ``h`` this is exact area averaging; else
    neighbouring windows may share a pixel (28 -> 8: windows of 4 pixels, a step of 3.5)."""
    if side is None or images.shape[1:] == (side, side):
        return images.astype(np.float32, copy=False)
    import torch  # (loaded only where images are resized)

    t = tensor_of(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    return torch.nn.functional.interpolate(t, size=(side, side), mode="area").squeeze(1).numpy()


def images_to_patterns(images: np.ndarray, max_value: float, kind: str) -> np.ndarray:
    """Turn grayscale images ``(P, h, w)`` in [0, max_value] into float32 patterns ``(P, h*w)``.

    binary: +1 where a pixel exceeds its image's mean, else -1; an image of one grey level
    (no pixel above its mean) is all +1 above ``max_value / 2``, else all -1 (an all-white
    image was all -1, as an all-black one: a 0/1 pattern of every neuron on, saved as 8-bit
    0/255 images, read as every neuron off); continuous: ``x/max*2 - 1``.
    """
    flat = images.reshape(images.shape[0], -1).astype(np.float32)
    if kind == "binary":
        out = np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0).astype(np.float32)
        flat_rows = flat.size > 0 and (flat.max(axis=1) == flat.min(axis=1))
        if np.any(flat_rows):
            out[flat_rows] = np.where(flat[flat_rows] > max_value / 2, 1.0, -1.0)
        return out
    return np.clip(flat / max_value * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)


def check_side(side: Any) -> int:
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or not 4 <= side <= 28:
        raise PatternError(f"side must be an integer in 4..28, got {shown(side)}")
    return int(side)


def check_pattern_count(n: int | None, what: str = "n_patterns", *, optional: bool = True
                        ) -> int | None:
    if n is None and optional:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PatternError(f"{what} must be a positive integer, got {shown(n)}")
    return check_count(n, what, error=PatternError)


def select_indices(
    labels: np.ndarray | None,
    total: int,
    n_patterns: int | None = None,
    digits: Iterable[int] | None = None,
    one_per_class: bool = False,
    shuffle: bool = False,
    seed: int | None = 0,
    what: str = "digits",
) -> np.ndarray:
    """Indices (int64) chosen by class filter / one-per-class / shuffle / first-n (``what``:
    the name of the class filter ``digits`` in error messages)."""
    n = check_pattern_count(n_patterns)
    one_per_class = check_flag(one_per_class, "one_per_class", error=PatternError)
    shuffle = check_flag(shuffle, "shuffle", error=PatternError)
    if labels is None and (digits is not None or one_per_class):
        raise PatternError(f"{what} / one_per_class need labelled patterns, but there are none")
    idx = np.arange(total)
    if shuffle:
        idx = np.random.default_rng(seed).permutation(total)
    classes: list[int] | None = None
    if digits is not None:
        items = (digits.tolist() if hasattr(digits, "tolist") else list(digits)
                 if isinstance(digits, Iterable) and not isinstance(digits, str | bytes)
                 else None)  # an array or tensor as Python numbers; a text is no list
        if not isinstance(items, list) or not all(
                isinstance(d, numbers.Integral) and not is_bool(d) for d in items):
            raise PatternError(f"{what} must be an iterable of integers, got {shown(digits)}")
        classes = sorted({int(d) for d in items})
        if not classes:
            raise PatternError(f"{what} is empty: give at least one class")
        assert labels is not None
        idx = idx[np.isin(labels[idx], classes)]
    if one_per_class:
        assert labels is not None
        classes = classes if classes is not None else sorted(int(c) for c in np.unique(labels))
        picked = []
        for c in classes:
            hits = idx[labels[idx] == c]
            if len(hits) == 0:
                raise PatternError(f"no pattern of class {c} is available")
            picked.append(hits[0])
        idx = np.asarray(picked, dtype=np.int64)
    if len(idx) == 0:
        raise PatternError(f"no patterns match {what}={classes}")
    if n is not None:
        if n > len(idx):
            raise PatternError(f"requested n_patterns={n} but only {len(idx)} patterns are "
                               f"available")
        idx = idx[:n]
    return idx.astype(np.int64)


#: names this module held in xbarmem 0.2 -> the module of :mod:`xbarmem.data` that holds them now
_MOVED = {**dict.fromkeys(("BUILTIN_SOURCES", "CORRELATED", "GLYPH_CHARACTERS", "IMAGE_SETS",
                           "MNIST_VARIANTS", "correlated_overlap", "correlated_patterns",
                           "load_digits", "load_glyphs", "load_image_set", "load_mnist",
                           "max_side", "random_patterns"), "builtin"),
          **dict.fromkeys(("SUPPORTED_FILE_TYPES", "load_file"), "readers"),
          **dict.fromkeys(("image_side", "is_drawn", "load_patterns", "patterns_for"), "sources")}


def __getattr__(name: str) -> Any:
    """A name that moved to another module of :mod:`xbarmem.data` (:data:`_MOVED`), with a
    ``DeprecationWarning`` naming where it lives now."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    where = f"xbarmem.data.{_MOVED[name]}"
    warnings.warn(f"xbarmem.data.patterns.{name} moved to {where}.{name}", DeprecationWarning,
                  stacklevel=2)
    return getattr(importlib.import_module(where), name)
