"""Built-in pattern sets: the bundled MNIST subset (whole image or the authors' centred 24 x 24
window) and font glyphs, scikit-learn's 8x8 digits, random and correlated random patterns."""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Iterable
from importlib import resources

import numpy as np

from xbarmem.checks import as_written, checked_keywords, is_number, renamed_keywords, shown
from xbarmem.data.patterns import (
    PatternSet,
    check_kind,
    check_pattern_count,
    check_side,
    images_to_patterns,
    resize_area,
    select_indices,
)
from xbarmem.errors import FileFormatError, PatternError
from xbarmem.limits import array_bytes, check_bytes
from xbarmem.spec import check_seed

__all__ = ["BUILTIN_SOURCES", "CORRELATED", "GLYPH_CHARACTERS", "IMAGE_SETS", "MNIST_VARIANTS",
           "correlated_overlap", "correlated_patterns", "load_digits", "load_glyphs",
           "load_image_set", "load_mnist", "max_side", "random_patterns"]

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


def max_side(source: str) -> int:
    """The largest image side ``source`` (a built-in image set or an image file) can be
    resized to: the crop of a cropped MNIST variant, else 28 (the smallest is 4)."""
    return MNIST_VARIANTS.get(str(source).strip().lower()) or 28


def nearest_squares(n_neurons: int, top: int) -> str:
    """`` (the nearest: 25 or 36)``: the perfect squares of a side from 4 to ``top`` next to
    ``n_neurons``, for a refusal of an N that images cannot be resized to."""
    squares = [side * side for side in range(4, top + 1)]
    below = [s for s in squares if s < n_neurons][-1:]
    above = [s for s in squares if s > n_neurons][:1]
    near = " or ".join(str(s) for s in below + above)
    return f" (the nearest: {near})" if near else ""


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


@renamed_keywords(n="n_patterns")
@checked_keywords
def load_mnist(side: int = 8, kind: str = "binary", n_patterns: int | None = None,
               digits: Iterable[int] | None = None, one_per_class: bool = False, seed: int = 0,
               shuffle: bool = False, crop: int | None = None) -> PatternSet:
    """Patterns from the bundled 10 000-image MNIST subset, area-downsampled to side x side.

    ``crop``: keep only the centred ``crop x crop`` window of each 28 x 28 image before
    downsampling (``side <= crop <= 28``; ``None`` keeps the whole image). The authors' scripts
    crop to 24 for sides up to 24 (``load_patterns("mnist-crop24")``).

    Selection (applied in this order): ``shuffle`` (with ``seed``) reorders the file order,
    ``digits`` keeps only those classes, ``one_per_class`` keeps the first image of each class
    (classes ascending; default 0..9), ``n_patterns`` keeps the first ``n_patterns`` (its
    earlier name ``n`` still works, with a ``DeprecationWarning``). ``kind="binary"``
    thresholds each image at its own mean, ``"continuous"`` maps pixels to [-1, 1]. Returns
    P x side**2 patterns named e.g. ``"mnist8-binary"`` with int64 labels and
    ``image_shape=(side, side)``.
    """
    kind = check_kind(kind)
    seed = check_seed(seed)
    side = check_side(side)
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, (int, np.integer))
                             or not side <= crop <= 28):
        raise PatternError(f"crop must be an integer in {side}..28 (at least side), "
                           f"got {shown(crop)}")
    images, labels = _bundled_mnist()
    idx = select_indices(labels, len(labels), n_patterns, digits, one_per_class, shuffle, seed)
    chosen = images[idx].astype(np.float32)
    if crop is not None and crop < 28:
        lo = (28 - crop) // 2
        chosen = chosen[:, lo:lo + crop, lo:lo + crop]
    small = resize_area(chosen, side)
    return PatternSet(
        images_to_patterns(small, 255.0, kind),
        kind,
        f"mnist{side}{'' if crop in (None, 28) else f'c{crop}'}-{kind}",
        labels[idx].astype(np.int64),
        (side, side),
    )


@renamed_keywords(n="n_patterns")
@checked_keywords
def load_glyphs(side: int = 8, kind: str = "binary", n_patterns: int | None = None,
                characters: Iterable[int] | None = None, one_per_class: bool = False,
                seed: int = 0, shuffle: bool = False) -> PatternSet:
    """Patterns from the bundled font glyphs (``datasets/glyphs.npz``), area-downsampled to
    side x side: the 62 characters A-Z, a-z, 0-9 rendered in 21 fonts shipped with matplotlib
    (28 x 28, all glyphs of a font at one scale and on one baseline, so case and size survive,
    the font's frame scaled to the full image with no margin, unlike MNIST's 20 x 20 box; 1302
    images ordered by font, then character). Label ``k`` (0..61) is the character
    ``GLYPH_CHARACTERS[k]``. Binarised one-per-class patterns are pairwise distinct at side 16;
    at side 8 ``I``, ``i`` and ``l`` coincide (``datasets/README.md`` lists the measurements).

    Selection works as in :func:`load_mnist` (``shuffle`` with ``seed``, ``n_patterns``,
    ``kind``), with ``characters`` (class indices) in place of its ``digits``;
    ``one_per_class`` keeps the first font's glyph of each character. Returns P x side**2
    patterns named e.g. ``"glyphs8-binary"`` with int64 labels and ``image_shape=(side,
    side)``.
    """
    kind = check_kind(kind)
    seed = check_seed(seed)
    side = check_side(side)
    images, labels = _bundled("glyphs.npz", "glyphs")
    idx = select_indices(labels, len(labels), n_patterns, characters, one_per_class, shuffle,
                         seed, what="characters")
    small = resize_area(images[idx].astype(np.float32), side)
    return PatternSet(images_to_patterns(small, 255.0, kind), kind, f"glyphs{side}-{kind}",
                      labels[idx].astype(np.int64), (side, side))


@functools.lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits images (float32) and labels (int64), read once; scikit-learn's
    import (which draws from Python's ``random``) and reading leave every global random state as
    it was (:func:`~xbarmem.seeds.global_random_kept`)."""
    from xbarmem.seeds import global_random_kept  # (torch only when the digits are read)

    with global_random_kept():
        from sklearn.datasets import load_digits as _sk_load_digits

        bunch = _sk_load_digits()
    return np.asarray(bunch.images, dtype=np.float32), np.asarray(bunch.target, dtype=np.int64)


@renamed_keywords(n="n_patterns")
@checked_keywords
def load_digits(kind: str = "binary", n_patterns: int | None = None,
                digits: Iterable[int] | None = None, one_per_class: bool = False, seed: int = 0,
                shuffle: bool = False) -> PatternSet:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16) as 64-neuron patterns.

    Selection works as in :func:`load_mnist` (``shuffle`` with ``seed``, ``digits``,
    ``one_per_class``, ``n_patterns``). ``kind="binary"``: threshold at each image's mean;
    ``"continuous"``: ``x / 16 * 2 - 1``. Returns P x 64 float32 patterns named
    ``"digits8-<kind>"`` with int64 labels and ``image_shape=(8, 8)``. Raises
    :class:`PatternError` for a bad ``kind``, ``n_patterns`` or a selection that matches
    nothing, :class:`~xbarmem.errors.ConfigError` for a bad ``seed``.
    """
    kind = check_kind(kind)
    seed = check_seed(seed)
    images, labels = _sklearn_digits()
    idx = select_indices(labels, len(labels), n_patterns, digits, one_per_class, shuffle, seed)
    return PatternSet(
        images_to_patterns(images[idx], 16.0, kind), kind, f"digits8-{kind}", labels[idx], (8, 8)
    )


@renamed_keywords(n="n_patterns")
def load_image_set(name: str, kind: str = "binary", side: int = 8,
                   n_patterns: int | None = None, one_per_class: bool = False, seed: int = 0
                   ) -> PatternSet:
    """The built-in image set ``name`` (of :data:`IMAGE_SETS`) at ``side x side``
    (``"digits"``: 8 only) as ``kind`` patterns, in file order: the first ``n_patterns``
    (``None``: all), or with ``one_per_class`` the first of each class. ``seed`` does not
    change the set (the loaders use a seed only to shuffle, which this order never does)."""
    if name in MNIST_VARIANTS:
        return load_mnist(side=side, kind=kind, n_patterns=n_patterns,
                          one_per_class=one_per_class, seed=seed, crop=MNIST_VARIANTS[name])
    if name == "digits":
        if side != 8:
            raise PatternError(f"the 'digits' set is 8x8 only, got side={side}")
        return load_digits(kind=kind, n_patterns=n_patterns, one_per_class=one_per_class)
    if name == "glyphs":
        return load_glyphs(side=side, kind=kind, n_patterns=n_patterns,
                           one_per_class=one_per_class, seed=seed)
    raise PatternError(f"unknown built-in image set {shown(name)}: expected one of "
                       f"{', '.join(IMAGE_SETS)}")


def image_set_size(name: str) -> int:
    """The number of images of the built-in image set ``name`` (:data:`IMAGE_SETS`)."""
    if name in MNIST_VARIANTS:
        return len(_bundled_mnist()[1])
    if name == "digits":
        return len(_sklearn_digits()[1])
    if name == "glyphs":
        return len(_bundled("glyphs.npz", "glyphs")[1])
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
    kind = check_kind(kind)
    p = check_pattern_count(n_patterns, "n_patterns", optional=False)
    n = check_pattern_count(n_neurons, "n_neurons", optional=False)
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
    p = check_pattern_count(n_patterns, "n_patterns", optional=False)
    n = check_pattern_count(n_neurons, "n_neurons", optional=False)
    assert p is not None and n is not None
    check_bytes(f"{p} correlated patterns of {n} neurons", array_bytes(p, n))
    if not (is_number(overlap) and 0.0 <= overlap < 1.0):  # numpy numbers too
        what = "" if is_number(overlap) else "a number "
        raise PatternError(f"overlap must be {what}in [0, 1), got {shown(overlap)}")
    overlap = float(as_written(overlap))  # (a numpy float32 number: the decimal written)
    q = (1.0 - math.sqrt(overlap)) / 2.0
    rng = np.random.default_rng(check_seed(seed))
    prototype = rng.integers(0, 2, size=n) * 2 - 1
    flips = rng.random((p, n)) < q
    pats = np.where(flips, -prototype, prototype).astype(np.float32)
    short = f"{overlap:g}"  # the name is a source that gives these patterns again: no rounding
    return PatternSet(pats, "binary",
                      f"{CORRELATED}-{short if float(short) == overlap else repr(float(overlap))}")


def correlated_overlap(source: str) -> float | None:
    """The overlap of ``source``, a ``correlated-R`` source name (``R`` in [0, 1)), None for
    any other name; a malformed ``correlated-...`` name raises :class:`PatternError`."""
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
