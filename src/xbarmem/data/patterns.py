"""Pattern sets: validation, built-in data sets (bundled MNIST and font glyphs, scikit-learn
digits, random) and loaders for users' own files (.npy, .npz, .csv, MNIST IDX, optionally gzip'd).

Every pattern matrix handed out by this module is a float32 ``np.ndarray`` of shape ``(P, N)``
(``P`` patterns of ``N`` neurons, images flattened row-major). ``"binary"`` patterns hold
exactly -1.0 / +1.0; ``"continuous"`` patterns hold values in [-1, 1].
"""

from __future__ import annotations

import functools
import io
import math
import os
import string
import struct
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
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
    is_choice,
    shown,
)
from xbarmem.errors import FileFormatError, PatternError, XbarmemWarning
from xbarmem.files import ArrayFile, as_path, decode, gunzip, missing, npy_size, read_bytes
from xbarmem.limits import array_bytes, check_bytes
from xbarmem.spec import check_seed

__all__ = [
    "BUILTIN_SOURCES",
    "GLYPH_CHARACTERS",
    "IMAGE_SETS",
    "KINDS",
    "MNIST_VARIANTS",
    "SUPPORTED_FILE_TYPES",
    "PatternSet",
    "as_pattern_set",
    "check_cue_values",
    "check_storable",
    "load_digits",
    "load_file",
    "load_glyphs",
    "load_image_set",
    "load_mnist",
    "load_patterns",
    "image_side",
    "is_drawn",
    "patterns_for",
    "max_side",
    "random_patterns",
    "validate_patterns",
]

KINDS = ("binary", "continuous")
BUILTIN_SOURCES = ("mnist", "mnist-crop24", "digits", "glyphs", "random")
#: the built-in labelled image sets (:func:`load_image_set`): name -> number of classes
IMAGE_SETS: dict[str, int] = {"mnist": 10, "mnist-crop24": 10, "digits": 10, "glyphs": 62}
#: the characters of the bundled glyphs: label ``k`` is ``GLYPH_CHARACTERS[k]``
GLYPH_CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
#: built-in MNIST variants: name -> side of the centred window kept before downsampling
#: (``None``: the whole 28 x 28 image). ``mnist-crop24`` is the authors' scripts' preprocessing
#: for sides up to 24 (centre 24 x 24 crop, then resize), which enlarges the digit within the
#: pattern and makes the stored digits less alike.
MNIST_VARIANTS: dict[str, int | None] = {"mnist": None, "mnist-crop24": 24}
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


# --------------------------------------------------------------------------- validation


def _check_kind(kind: str) -> str:
    if not is_choice(kind, KINDS):
        raise PatternError(f"unknown pattern kind {shown(kind)}: expected one of "
                           f"{', '.join(KINDS)}")
    return kind


def _is_tensor(x: Any) -> bool:
    """A torch tensor (without loading torch: a tensor exists only once torch is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(x: Any) -> np.ndarray:
    if _is_tensor(x):
        return check_tensor(x, "patterns", error=PatternError).detach().cpu().numpy()
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists, odd objects
        raise PatternError(f"patterns could not be converted to an array: {exc}") from None


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
    ``kind="continuous"`` requires values in [-1, 1]. If ``n_neurons`` is given, ``N`` must
    equal it. Any problem raises :class:`PatternError` with a one-line message.
    ``allow_zero_one`` is the deprecated name of ``zero_one`` (a ``DeprecationWarning``).
    """
    if allow_zero_one is not None:
        warnings.warn("validate_patterns(allow_zero_one=...) is deprecated; use zero_one=...",
                      DeprecationWarning, stacklevel=2)
        zero_one = zero_one or allow_zero_one
    _check_kind(kind)
    zero_one = check_flag(zero_one, "zero_one", error=PatternError)
    if n_neurons is not None:
        check_count(n_neurons, "n_neurons", error=PatternError)
    arr = _finite_matrix(x)
    if n_neurons is not None and arr.shape[1] != n_neurons:
        raise PatternError(
            f"patterns have N={arr.shape[1]} neurons but the memory/chip has {n_neurons}"
        )
    if kind == "binary":
        return _binary_values(arr, zero_one)
    _check_unit_range(arr, "continuous patterns")
    return arr


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
                           "reads states in {-1,+1}: map them with 2*x - 1")


def _check_unit_range(arr: np.ndarray, what: str) -> None:
    """:class:`PatternError` naming ``what`` unless every entry of ``arr`` lies in [-1, 1]."""
    outside = int(np.count_nonzero((arr < -1.0) | (arr > 1.0)))
    if outside:
        raise PatternError(f"{what} must lie in [-1, 1]; {outside} of {arr.size} entries lie "
                           f"outside (min={_value(arr.min())}, max={_value(arr.max())})")


def _is_zero_one(arr: np.ndarray) -> bool:
    """Every entry is 0 or 1 and at least one is 0 (a {0, 1} matrix, not a +-1 one)."""
    return bool(((arr == 0.0) | (arr == 1.0)).all() and (arr == 0.0).any())


def _value(v: np.floating) -> str:
    """A float32 value in messages: the shortest text that reads back as that value (so that
    1.0000001 is not shown as 1, as ``:g`` would)."""
    return str(np.float32(v))


def _finite_matrix(x: Any) -> np.ndarray:
    """A fresh float32 ``(P, N)`` copy of ``x``: real, 2-D, non-empty, finite."""
    arr = _to_numpy(x)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise PatternError(f"patterns must be real numbers, got non-numeric dtype {arr.dtype}")
    if arr.ndim == 1:
        raise PatternError(
            f"patterns must be 2-D (P, N), got a 1-D vector of shape {arr.shape}; "
            f"reshape it to (1, {arr.shape[0]})"
        )
    if arr.ndim != 2:
        raise PatternError(f"patterns must be 2-D (P, N), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise PatternError(
            f"pattern set is empty: shape {arr.shape} (need at least 1 pattern and 1 neuron)"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # out of float32 range -> inf, below
        arr = np.array(arr, dtype=np.float32)  # always a fresh copy
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        row, col = (int(v) for v in bad[0])
        raise PatternError(
            f"patterns contain {len(bad)} NaN/inf value(s) (or beyond the float32 range), "
            f"first at index ({row}, {col})"
        )
    return arr


def _binary_values(arr: np.ndarray, zero_one: bool) -> np.ndarray:
    """``arr`` if it is all +-1; a {0, 1} matrix mapped to +-1 when allowed; else an error."""
    is_pm1 = np.abs(arr) == 1.0
    if is_pm1.all():
        return arr
    if _is_zero_one(arr):
        if zero_one:
            return np.where(arr > 0.5, 1.0, -1.0).astype(np.float32)
        raise PatternError(
            "binary patterns must be in {-1,+1} but these are {0,1}; pass "
            "zero_one=True (CLI: --zero-one) to map 0->-1, 1->+1"
        )
    row, col = (int(v) for v in np.argwhere(~is_pm1)[0])
    near = float(np.abs(np.abs(arr) - 1.0).max()) <= _NEAR_PM1
    hint = (f"all are within {_NEAR_PM1:g} of -1 or +1: round them (np.sign) if they are binary"
            if near else "continuous data: kind='continuous' (CLI: --kind continuous)")
    raise PatternError(
        f"binary patterns must contain only -1 and +1; found {int((~is_pm1).sum())} other "
        f"value(s), e.g. {_value(arr[row, col])} at ({row}, {col}); {hint}"
    )


#: how far from +-1 the values of an "almost binary" matrix lie at most (named in the message)
_NEAR_PM1 = 1e-3


# --------------------------------------------------------------------------- PatternSet


@checked_keywords
@dataclass(frozen=True, eq=False)
class PatternSet:
    """An immutable, validated set of ``P`` patterns of ``N`` neurons.

    Attributes:
        patterns: float32 array ``(P, N)``; exactly +-1 when ``kind == "binary"``, in [-1, 1]
            when ``kind == "continuous"``.
        kind: ``"binary"`` or ``"continuous"``.
        name: human-readable name, e.g. ``"mnist8-binary"``.
        labels: optional int64 array ``(P,)`` (class of each pattern).
        image_shape: optional ``(h, w)`` with ``h * w == N`` (row-major flattening).
    """

    patterns: np.ndarray
    kind: str = "binary"
    name: str = "patterns"
    labels: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        check_type(self.name, str, "name", "a text")
        pats = validate_patterns(self.patterns, self.kind)
        object.__setattr__(self, "patterns", pats)
        n_pat, n_neu = pats.shape
        if self.labels is not None:
            labels = _to_numpy(self.labels)
            if labels.shape != (n_pat,) or not np.issubdtype(labels.dtype, np.integer):
                raise PatternError(
                    f"labels must be integers of shape ({n_pat},), got {labels.dtype} "
                    f"{labels.shape}"
                )
            object.__setattr__(self, "labels", labels.astype(np.int64))
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
        share one id; ids run over ``0 .. n_distinct - 1``)."""
        if self.n_patterns == 0:
            return np.zeros(0, dtype=np.int64)
        _, ids = np.unique(self.patterns, axis=0, return_inverse=True)
        return ids.reshape(-1).astype(np.int64)

    @property
    def n_distinct(self) -> int:
        """Number of distinct patterns (rows that are not all equal to an earlier row)."""
        return int(self.distinct_ids.max()) + 1 if self.n_patterns else 0

    def subset(self, indices: int | slice | Sequence[int] | np.ndarray) -> PatternSet:
        """Return a new set holding the selected rows (an int, a slice, indices or a bool mask)."""
        idx: Any = indices if isinstance(indices, slice) else np.atleast_1d(
            as_real_array(indices, "indices", error=PatternError, dtype=None))
        try:
            pats = self.patterns[idx]
            labels = None if self.labels is None else self.labels[idx]
        except IndexError as exc:
            raise PatternError(
                f"bad subset indices for {self.n_patterns} patterns: {exc}"
            ) from None
        return PatternSet(pats, self.kind, self.name, labels, self.image_shape)

    def __len__(self) -> int:
        return self.n_patterns

    def __repr__(self) -> str:
        return (
            f"PatternSet(name={self.name!r}, kind={self.kind!r}, P={self.n_patterns}, "
            f"N={self.n_neurons}, image_shape={self.image_shape})"
        )


@checked_keywords
def as_pattern_set(patterns: Any, kind: str | None = None, *, zero_one: bool = False,
                   n_neurons: int | None = None) -> PatternSet:
    """The one way public entry points take patterns: a :class:`PatternSet` or a ``(P, N)``
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
        if kind is not None and _check_kind(kind) != patterns.kind:
            patterns = PatternSet(patterns.patterns, kind, patterns.name, patterns.labels,
                                  patterns.image_shape)
        if n_neurons is not None and patterns.n_neurons != n_neurons:
            raise PatternError(f"patterns have N={patterns.n_neurons} neurons but the "
                               f"memory/chip has {n_neurons}")
    else:
        kind = "binary" if kind is None else kind
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
            f"{where}: {zero.size} pattern(s) are all zeros, first row {int(zero[0])}; a stored "
            f"pattern must not be the zero vector (its recall cosine is undefined)")
    return pset


# --------------------------------------------------------------------------- image helpers


def _resize_area(images: np.ndarray, side: int | None) -> np.ndarray:
    """Area-average float images ``(P, h, w)`` to ``(P, side, side)`` (no-op if same size)."""
    if side is None or images.shape[1:] == (side, side):
        return images.astype(np.float32, copy=False)
    import torch  # (loaded only where images are resized)

    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    return torch.nn.functional.interpolate(t, size=(side, side), mode="area").squeeze(1).numpy()


def _images_to_patterns(images: np.ndarray, max_value: float, kind: str) -> np.ndarray:
    """Turn grayscale images ``(P, h, w)`` in [0, max_value] into float32 patterns ``(P, h*w)``.

    binary: +1 where a pixel exceeds its image's mean, else -1; continuous: ``x/max*2 - 1``.
    """
    flat = images.reshape(images.shape[0], -1).astype(np.float32)
    if kind == "binary":
        return np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0).astype(np.float32)
    return np.clip(flat / max_value * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)


def max_side(source: str) -> int:
    """The largest image side a built-in image set or image file can be resized to: the crop
    of a cropped MNIST variant, else 28 (the smallest is 4)."""
    return MNIST_VARIANTS.get(str(source).strip().lower()) or 28


def _check_side(side: int) -> int:
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or not 4 <= side <= 28:
        raise PatternError(f"side must be an integer in 4..28, got {shown(side)}")
    return int(side)


def _check_count(n: int | None, what: str = "n", *, optional: bool = True) -> int | None:
    if n is None and optional:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PatternError(f"{what} must be a positive integer, got {shown(n)}")
    return check_count(n, what, error=PatternError)


def _select(
    labels: np.ndarray | None,
    total: int,
    n: int | None = None,
    digits: Iterable[int] | None = None,
    one_per_class: bool = False,
    shuffle: bool = False,
    seed: int | None = 0,
    what: str = "digits",
) -> np.ndarray:
    """Indices (int64) chosen by class filter / one-per-class / shuffle / first-n (``what``:
    the name of the class filter ``digits`` in error messages)."""
    n = _check_count(n)
    one_per_class = check_flag(one_per_class, "one_per_class", error=PatternError)
    shuffle = check_flag(shuffle, "shuffle", error=PatternError)
    if labels is None and (digits is not None or one_per_class):
        raise PatternError(f"{what} / one_per_class need labelled patterns, but there are none")
    idx = np.arange(total)
    if shuffle:
        idx = np.random.default_rng(seed).permutation(total)
    classes: list[int] | None = None
    if digits is not None:
        try:
            classes = sorted({int(d) for d in digits})
        except (TypeError, ValueError):
            raise PatternError(f"{what} must be an iterable of integers, "
                               f"got {shown(digits)}") from None
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
            raise PatternError(f"requested n={n} patterns but only {len(idx)} are available")
        idx = idx[:n]
    return idx.astype(np.int64)


# --------------------------------------------------------------------------- built-in sets


@functools.lru_cache(maxsize=2)
def _bundled(file: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A bundled data set of ``datasets/``: read-only ``images`` uint8 ``(P, 28, 28)`` and
    ``labels`` ``(P,)`` (``what`` names the set in error messages)."""
    res = resources.files("xbarmem.data") / "datasets" / file
    try:
        with res.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except FileNotFoundError:
        raise FileFormatError(f"bundled {what} file is missing: {res}") from None
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise FileFormatError(f"bundled {what} file {res} is corrupt: {exc}") from None
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise FileFormatError(f"bundled {what} file {res} has unexpected array shapes")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _bundled_mnist() -> tuple[np.ndarray, np.ndarray]:
    """Bundled MNIST subset: images uint8 ``(10000, 28, 28)``, labels uint8 ``(10000,)``."""
    return _bundled("mnist-10k.npz", "MNIST")


@checked_keywords
def load_mnist(side: int = 8, kind: str = "binary", n: int | None = None,
               digits: Iterable[int] | None = None, one_per_class: bool = False, seed: int = 0,
               shuffle: bool = False, crop: int | None = None) -> PatternSet:
    """Patterns from the bundled 10 000-image MNIST subset, area-downsampled to side x side.

    ``crop``: keep only the centred ``crop x crop`` window of each 28 x 28 image before
    downsampling (``side <= crop <= 28``; ``None`` keeps the whole image). The authors' scripts
    crop to 24 for sides up to 24 (``load_patterns("mnist-crop24")``).

    Selection (applied in this order): ``shuffle`` (with ``seed``) reorders the file order,
    ``digits`` keeps only those classes, ``one_per_class`` keeps the first image of each class
    (classes ascending; default 0..9), ``n`` keeps the first ``n``. ``kind="binary"`` thresholds
    each image at its own mean, ``"continuous"`` maps pixels to [-1, 1]. Returns P x side**2
    patterns named e.g. ``"mnist8-binary"`` with int64 labels and ``image_shape=(side, side)``.
    """
    _check_kind(kind)
    check_seed(seed)
    side = _check_side(side)
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, (int, np.integer))
                             or not side <= crop <= 28):
        raise PatternError(f"crop must be an integer in {side}..28 (at least side), "
                           f"got {shown(crop)}")
    images, labels = _bundled_mnist()
    idx = _select(labels, len(labels), n, digits, one_per_class, shuffle, seed)
    chosen = images[idx].astype(np.float32)
    if crop is not None and crop < 28:
        lo = (28 - crop) // 2
        chosen = chosen[:, lo:lo + crop, lo:lo + crop]
    small = _resize_area(chosen, side)
    return PatternSet(
        _images_to_patterns(small, 255.0, kind),
        kind,
        f"mnist{side}{'' if crop in (None, 28) else f'c{crop}'}-{kind}",
        labels[idx].astype(np.int64),
        (side, side),
    )


@checked_keywords
def load_glyphs(side: int = 8, kind: str = "binary", n: int | None = None,
                characters: Iterable[int] | None = None, one_per_class: bool = False,
                seed: int = 0, shuffle: bool = False) -> PatternSet:
    """Patterns from the bundled font glyphs (``datasets/glyphs.npz``), area-downsampled to
    side x side: the 62 characters A-Z, a-z, 0-9 rendered in 21 fonts shipped with matplotlib
    (28 x 28, all glyphs of a font at one scale and on one baseline, so case and size survive,
    the font's frame scaled to the full image with no margin, unlike MNIST's 20 x 20 box; 1302
    images ordered by font, then character). Label ``k`` (0..61) is the character
    ``GLYPH_CHARACTERS[k]``. Binarised one-per-class patterns are pairwise distinct at side 16;
    at side 8 ``I``, ``i`` and ``l`` coincide (``datasets/README.md`` lists the measurements).

    Selection works as in :func:`load_mnist`, with ``characters`` (class indices) in place of
    ``digits``: ``one_per_class`` keeps the first font's glyph of each character. Returns
    P x side**2 patterns named e.g. ``"glyphs8-binary"`` with int64 labels and
    ``image_shape=(side, side)``.
    """
    _check_kind(kind)
    check_seed(seed)
    side = _check_side(side)
    images, labels = _bundled("glyphs.npz", "glyphs")
    idx = _select(labels, len(labels), n, characters, one_per_class, shuffle, seed,
                  what="characters")
    small = _resize_area(images[idx].astype(np.float32), side)
    return PatternSet(_images_to_patterns(small, 255.0, kind), kind, f"glyphs{side}-{kind}",
                      labels[idx].astype(np.int64), (side, side))


@functools.lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return np.asarray(bunch.images, dtype=np.float32), np.asarray(bunch.target, dtype=np.int64)


@checked_keywords
def load_digits(kind: str = "binary", n: int | None = None, digits: Iterable[int] | None = None,
                one_per_class: bool = False, seed: int = 0, shuffle: bool = False) -> PatternSet:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16) as 64-neuron patterns.

    Selection works as in :func:`load_mnist`. binary: threshold at each image's mean;
    continuous: ``x / 16 * 2 - 1``.
    """
    _check_kind(kind)
    check_seed(seed)
    images, labels = _sklearn_digits()
    idx = _select(labels, len(labels), n, digits, one_per_class, shuffle, seed)
    return PatternSet(
        _images_to_patterns(images[idx], 16.0, kind), kind, f"digits8-{kind}", labels[idx], (8, 8)
    )


def load_image_set(name: str, kind: str = "binary", side: int = 8, n: int | None = None,
                   one_per_class: bool = False, seed: int = 0) -> PatternSet:
    """A built-in image set of :data:`IMAGE_SETS` by name at ``side x side`` (``"digits"``: 8
    only), in file order: the first ``n`` (``None``: all) or the first of each class."""
    if name in MNIST_VARIANTS:
        return load_mnist(side=side, kind=kind, n=n, one_per_class=one_per_class, seed=seed,
                          crop=MNIST_VARIANTS[name])
    if name == "digits":
        if side != 8:
            raise PatternError(f"the 'digits' set is 8x8 only, got side={side}")
        return load_digits(kind=kind, n=n, one_per_class=one_per_class)
    if name == "glyphs":
        return load_glyphs(side=side, kind=kind, n=n, one_per_class=one_per_class, seed=seed)
    raise PatternError(f"unknown built-in image set {shown(name)}: expected one of "
                       f"{', '.join(IMAGE_SETS)}")


@checked_keywords
def random_patterns(
    n_patterns: int, n_neurons: int, kind: str = "binary", seed: int = 0
) -> PatternSet:
    """``n_patterns`` iid patterns of ``n_neurons``: +-1 with p=1/2 each (binary) or uniform
    in [-1, 1) (continuous), drawn from ``np.random.default_rng(seed)``; float32 ``(P, N)``.
    Raises :class:`PatternError` unless both counts are integers >= 1 and ``kind`` is known,
    :class:`~xbarmem.errors.ConfigError` for a seed that is not an integer >= 0."""
    _check_kind(kind)
    p = _check_count(n_patterns, "n_patterns", optional=False)
    n = _check_count(n_neurons, "n_neurons", optional=False)
    assert p is not None and n is not None
    check_bytes(f"{p} random patterns of {n} neurons", array_bytes(p, n))
    rng = np.random.default_rng(check_seed(seed))
    if kind == "binary":
        pats = (rng.integers(0, 2, size=(p, n)) * 2 - 1).astype(np.float32)
    else:
        pats = rng.uniform(-1.0, 1.0, size=(p, n)).astype(np.float32)
    return PatternSet(pats, kind, f"random-{kind}")


#: name of the correlated-pattern source: ``correlated-R`` for mean pairwise overlap ``R``
CORRELATED = "correlated"


def correlated_patterns(n_patterns: int, n_neurons: int, overlap: float, seed: int = 0
                        ) -> PatternSet:
    """``n_patterns`` binary (+-1) patterns of ``n_neurons`` whose pairwise overlap
    ``x . y / N`` has mean ``overlap`` (in [0, 1)): every pattern is one random prototype with
    each bit flipped independently with probability ``q = (1 - sqrt(overlap)) / 2``, so two
    patterns agree in expectation on ``(1 - 2q)^2 = overlap`` of their bits beyond chance. The
    prototype and flips come from ``np.random.default_rng(seed)``; ``overlap = 0`` gives iid
    random patterns. Raises :class:`PatternError` for an overlap outside [0, 1)."""
    p = _check_count(n_patterns, "n_patterns", optional=False)
    n = _check_count(n_neurons, "n_neurons", optional=False)
    assert p is not None and n is not None
    check_bytes(f"{p} correlated patterns of {n} neurons", array_bytes(p, n))
    if not (isinstance(overlap, (int, float)) and 0.0 <= overlap < 1.0):
        raise PatternError(f"overlap must be in [0, 1), got {shown(overlap)}")
    q = (1.0 - math.sqrt(overlap)) / 2.0
    rng = np.random.default_rng(check_seed(seed))
    prototype = rng.integers(0, 2, size=n) * 2 - 1
    flips = rng.random((p, n)) < q
    pats = np.where(flips, -prototype, prototype).astype(np.float32)
    return PatternSet(pats, "binary", f"{CORRELATED}-{overlap:g}")


def correlated_overlap(source: str) -> float | None:
    """The overlap of a ``correlated-R`` source name (``R`` in [0, 1)), None for any other
    name; a malformed ``correlated-...`` name raises :class:`PatternError`."""
    name = str(source).strip().lower()
    if not name.startswith(CORRELATED):
        return None
    text = name[len(CORRELATED):]
    try:  # one separator: correlated--0.1 is R = -0.1, refused, not 0.1
        overlap = float(text[1:]) if text[:1] in ("-", ":") else math.nan
    except ValueError:
        overlap = math.nan
    if not 0.0 <= overlap < 1.0:
        raise PatternError(f"{source!r}: write correlated-R with the mean pairwise overlap R in "
                           f"[0, 1), e.g. correlated-0.4")
    return overlap


# --------------------------------------------------------------------------- file loading


def _is_idx_name(name: str) -> bool:
    return name.endswith((".idx", ".idx1", ".idx3")) or ("-idx" in name and "-ubyte" in name)


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    """Parse an IDX file (big-endian header: 0, 0, dtype code, ndim, then ndim uint32 sizes)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise FileFormatError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise FileFormatError(f"{path}: corrupt IDX file (truncated header)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise FileFormatError(
            f"{path}: corrupt IDX file (expected {expected} data bytes, found {len(raw) - header})"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.str[1:])  # native byte order, writable copy


def _parse_csv(raw: bytes, path: Path) -> np.ndarray:
    numbered = [(i, ln) for i, ln in enumerate(decode(raw, f"CSV file {path}").splitlines(), 1)
                if ln.strip()]
    if not numbered:
        raise FileFormatError(f"{path}: CSV file is empty")
    delim = next((d for d in (",", ";") if d in numbered[0][1]), None)  # else whitespace
    try:
        [float(v) for v in numbered[0][1].split(delim)]
    except ValueError:
        numbered = numbered[1:]  # non-numeric header line
    if not numbered:
        raise FileFormatError(f"{path}: CSV file has a header line but no data")
    try:
        return np.loadtxt(io.StringIO("\n".join(ln for _, ln in numbered)), delimiter=delim,
                          ndmin=2, dtype=np.float64)
    except ValueError:
        raise FileFormatError(f"{path}: corrupt CSV file ({_csv_problem(numbered, delim)})") \
            from None


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
        for cell in cells:
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
    chosen = key
    if chosen is None and len(keys) != 1:
        chosen = next((k for k in ("patterns", "images") if k in keys), None)
    arr = arrays.pick(chosen, "none is named 'patterns' or 'images': save the one to load "
                            "as 'patterns' (Python: load_file(key=...)), one of")
    chosen = chosen if chosen is not None else keys[0]
    labels = arrays.array("labels") if "labels" in keys and chosen != "labels" else None
    return arr, None if labels is None else _file_labels(labels, arr.shape[0], path)


def _file_labels(labels: np.ndarray, count: int, path: Path) -> np.ndarray | None:
    """An .npz file's ``labels``: one whole number per pattern (integers, or floats holding
    whole numbers, as saved from a table), returned as int64; anything else is ignored with an
    :class:`~xbarmem.errors.XbarmemWarning` saying why (it was dropped silently)."""
    if labels.shape != (count,):
        why = f"has shape {labels.shape}, not one label per pattern ({count})"
    elif labels.dtype.kind in "iu":
        return labels.astype(np.int64, copy=False)
    elif labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels % 1 == 0).all():
        return labels.astype(np.int64)
    else:
        why = f"holds {labels.dtype} values, not whole numbers"
    warnings.warn(f"{path}: 'labels' {why}; the patterns are loaded without labels",
                  XbarmemWarning, stacklevel=4)
    return None


@checked_keywords
def load_file(
    path: str | Path,
    kind: str = "binary",
    key: str | None = None,
    zero_one: bool = False,
    side: int | None = None,
) -> PatternSet:
    """Load patterns from ``.npy``, ``.npz``, ``.csv`` (one pattern per row, values separated by
    commas, semicolons or whitespace, optional header line)
    or MNIST IDX files (``*-idx3-ubyte``, ``*.idx`` or sniffed magic 0x803), each optionally
    gzip'd (``.gz``). Never unpickles.

    8-bit grayscale data (IDX uint8, or uint8 arrays with values above 1) are images: a stack
    ``(P, h, w)`` (or ``(P, r*r)`` rows) is area-resized to ``side x side`` when ``side`` is
    given, then binarised at each image's mean (binary) or scaled to [-1, 1] (continuous).
    Other numeric arrays must already be valid (binary {-1, 1}, or {0, 1} with ``zero_one``;
    continuous [-1, 1]); ``(P, h, w)`` stacks are flattened and ``side`` is ignored. An .npz
    ``labels`` array of matching length becomes the labels.
    Raises :class:`FileFormatError` (missing / corrupt / unknown file) or :class:`PatternError`.
    """
    _check_kind(kind)
    path = as_path(path)
    raw, name = _read_raw(path)
    labels: np.ndarray | None = None
    magic = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
    is_idx = _is_idx_name(name) or magic in _IDX_MAGICS
    if name.endswith((".npy", ".npz")):
        arr, labels = _parse_numpy(raw, path, key)
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
    try:
        pats, image_shape = _file_patterns(arr, kind, side, zero_one, is_idx)
        return PatternSet(pats, kind, path.name, labels, image_shape)
    except PatternError as exc:
        raise PatternError(f"{path}: {exc}") from None


def _file_patterns(arr: np.ndarray, kind: str, side: int | None, zero_one: bool, is_idx: bool
                   ) -> tuple[np.ndarray, tuple[int, int] | None]:
    """A file's array as validated patterns and their image shape (see :func:`load_file`)."""
    if arr.dtype == np.uint8 and arr.ndim in (2, 3) and arr.size and (is_idx or arr.max() > 1):
        return _grayscale_patterns(arr, kind, side)
    image_shape = None
    if arr.ndim == 3 and arr.shape[0] > 0:
        image_shape = (int(arr.shape[1]), int(arr.shape[2]))
        arr = arr.reshape(arr.shape[0], -1)
    return validate_patterns(arr, kind, zero_one=zero_one), image_shape


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
    resized to ``side`` when given; returns the patterns and their image shape."""
    if arr.ndim == 2:
        r = math.isqrt(arr.shape[1])
        if r * r == arr.shape[1]:
            arr = arr.reshape(-1, r, r)
    if arr.ndim != 3:
        return _images_to_patterns(arr[:, :, None], 255.0, kind), None
    if side is not None:
        _check_side(side)
    imgs = _resize_area(arr.astype(np.float32), side)
    return _images_to_patterns(imgs, 255.0, kind), (int(imgs.shape[1]), int(imgs.shape[2]))


@checked_keywords
def load_patterns(
    source: str,
    kind: str = "binary",
    side: int = 8,
    n: int | None = None,
    seed: int = 0,
    zero_one: bool = False,
    one_per_class: bool = False,
) -> PatternSet:
    """Resolve ``source`` to a pattern set.

    ``"mnist"``: bundled MNIST at ``side x side`` (first ``n`` / one per class);
    ``"mnist-crop24"``: the same from the centred 24 x 24 window (the authors' preprocessing);
    ``"digits"``:
    scikit-learn 8x8 digits (``side`` must be 8); ``"glyphs"``: the bundled font glyphs
    (:func:`load_glyphs`) at ``side x side``; ``"random"``: ``n`` random patterns of
    ``side*side`` neurons from ``seed``; ``"correlated-R"``: ``n`` binary patterns of
    ``side*side`` neurons with mean pairwise overlap ``R`` (:func:`correlated_patterns`);
    anything else is a file path for :func:`load_file`
    (8-bit images resized to ``side``), then first ``n`` / one per class (needs .npz labels).
    """
    _check_kind(kind)
    check_seed(seed)
    check_type(source, (str, os.PathLike), "source", "a built-in name or a file path")
    name = str(source).strip().lower()
    if name in IMAGE_SETS:
        return load_image_set(name, kind, side, n, one_per_class, seed)
    if name == "random":
        if n is None:
            raise PatternError("source 'random' needs n (the number of patterns)")
        side = _check_side(side)
        return random_patterns(n, side * side, kind=kind, seed=seed)
    overlap = correlated_overlap(name)
    if overlap is not None:
        if n is None or kind != "binary":
            raise PatternError(f"source {shown(source)} needs n (the number of patterns) and "
                               f"binary patterns")
        return correlated_patterns(n, _check_side(side) ** 2, overlap, seed=seed)
    path = Path(source).expanduser()
    if path.is_symlink() and not path.exists():
        raise PatternError(missing(path, "pattern file"))
    if not path.exists():
        raise PatternError(
            f"unknown pattern source {shown(source)}: not a built-in name "
            f"({', '.join(BUILTIN_SOURCES)}) and no such file"
        )
    pset = load_file(path, kind=kind, zero_one=zero_one, side=side)
    if n is None and not one_per_class:
        return pset
    return pset.subset(_select(pset.labels, pset.n_patterns, n, None, one_per_class))


def is_drawn(source: str) -> bool:
    """Whether ``source`` names drawn patterns (``random``, ``correlated-R``) rather than
    images or a file."""
    name = str(source).strip().lower()
    return name == "random" or correlated_overlap(name) is not None


def image_side(source: str, n_neurons: int) -> int:
    """The side ``sqrt(N)`` that images of ``source`` are resized to for ``N`` neurons.
    Raises :class:`PatternError` unless N is a square of a side from 4 to
    :func:`max_side` (``source``)."""
    side, top = math.isqrt(n_neurons), max_side(source)
    if str(source).strip().lower() == "digits" and n_neurons != 64:
        raise PatternError(f"digits are 8x8 images, so N must be 64; got N = {n_neurons}")
    if side * side != n_neurons:
        raise PatternError(f"{source} images are resized to side sqrt(N), so N must be a perfect "
                           f"square; got N = {n_neurons}")
    if not 4 <= side <= top:
        raise PatternError(f"{source} images are resized to side sqrt(N), side 4..{top}, so N "
                           f"must be 16 ... {top * top}; got N = {n_neurons} (side {side})")
    return side


def patterns_for(source: str, n_neurons: int | None, *, kind: str = "binary",
                 n: int | None = None, seed: int = 0, zero_one: bool = False,
                 one_per_class: bool = False) -> PatternSet:
    """Patterns of ``n_neurons`` neurons from ``source``: what :func:`load_patterns` gives,
    asked for by the number of neurons N instead of an image side.

    Built-in image sets are resized to side sqrt(N) (:func:`image_side`); ``random`` and
    ``correlated-R`` draw ``n`` patterns of any N >= 2; a file has its own N: its 8-bit images
    are resized to side sqrt(N) when N is a square, and its other patterns must have N neurons
    (``n_neurons=None``: whatever the file holds); the set must be one a memory can store
    (:func:`check_storable`). ``n``: the first ``n`` patterns (drawn sources: how many to
    draw); ``one_per_class``: the first pattern of each class (files: needs an .npz ``labels``
    array). Raises :class:`PatternError`.
    """
    _check_kind(kind)
    name = str(source).strip().lower()
    if n_neurons is None and (name in IMAGE_SETS or is_drawn(name)):
        raise PatternError(f"source {shown(source)} needs the number of neurons N")
    if name in IMAGE_SETS:
        return load_image_set(name, kind, image_side(name, n_neurons), n, one_per_class, seed)
    if is_drawn(name):
        if n is None:
            raise PatternError(f"source {shown(source)} needs n (the number of patterns)")
        check_neurons(n_neurons, "N", PatternError)
        overlap = correlated_overlap(name)
        if overlap is None:
            return random_patterns(n, n_neurons, kind=kind, seed=seed)
        if kind != "binary":
            raise PatternError(f"source {shown(source)} gives binary patterns only (kind='binary')")
        return correlated_patterns(n, n_neurons, overlap, seed=seed)
    side = None if n_neurons is None else math.isqrt(n_neurons)
    pset = load_patterns(source, kind=kind, zero_one=zero_one,
                         side=side if side and side * side == n_neurons and side >= 4 else None)
    if n_neurons is not None and pset.n_neurons != n_neurons:
        raise PatternError(f"{source}: its patterns have N = {pset.n_neurons} neurons, not "
                           f"{n_neurons}")
    check_storable(pset, str(source))
    if one_per_class and pset.labels is None:
        raise PatternError(f"{source}: no labels to pick one pattern per class (an .npz file "
                           f"with a 'labels' array has them); give a number of patterns to "
                           f"store its first ones")
    if n is None and not one_per_class:
        return pset
    return pset.subset(_select(pset.labels, pset.n_patterns, n, None, one_per_class))
