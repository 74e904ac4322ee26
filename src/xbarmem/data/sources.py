"""Pattern sources by name: a built-in set (``mnist``, ``mnist-crop24``, ``digits``,
``glyphs``), drawn patterns (``random``, ``correlated-R``) or a file path, asked for by image
side (:func:`load_patterns`) or by the number of neurons N (:func:`patterns_for`); a source
asked for at several N (:func:`sized_source`: a file of images read once) and its pool
(:func:`sized_pool`)."""

from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import Path

from xbarmem.checks import (
    check_flag,
    check_neurons,
    check_type,
    checked_keywords,
    closest_choice,
    renamed_keywords,
    shown,
)
from xbarmem.data.builtin import (
    BUILTIN_SOURCES,
    IMAGE_SETS,
    correlated_overlap,
    correlated_patterns,
    image_set_size,
    load_image_set,
    max_side,
    nearest_squares,
    random_patterns,
)
from xbarmem.data.patterns import (
    PatternSet,
    check_kind,
    check_pattern_count,
    check_storable,
    select_indices,
)
from xbarmem.data.readers import (
    ImageStack,
    load_file,
    load_file_neurons,
    read_image_stack,
    unlabelled_why,
)
from xbarmem.errors import PatternError
from xbarmem.files import missing
from xbarmem.spec import check_seed


@renamed_keywords(n="n_patterns")
@checked_keywords
def load_patterns(
    source: str,
    kind: str = "binary",
    side: int | None = 8,
    n_patterns: int | None = None,
    seed: int = 0,
    zero_one: bool = False,
    one_per_class: bool = False,
    key: str | None = None,
) -> PatternSet:
    """Resolve ``source`` to a pattern set.

    ``"mnist"``: bundled MNIST at ``side x side`` (first ``n_patterns`` / one per class);
    ``"mnist-crop24"``: the same from the centred 24 x 24 window (the authors' preprocessing);
    ``"digits"``:
    scikit-learn 8x8 digits (``side`` must be 8); ``"glyphs"``: the bundled font glyphs
    (:func:`load_glyphs`) at ``side x side``; ``"random"``: ``n_patterns`` random patterns of
    ``side*side`` neurons from ``seed``; ``"correlated-R"``: ``n_patterns`` binary patterns of
    ``side*side`` neurons with mean pairwise overlap ``R`` (:func:`correlated_patterns`);
    anything else is a file path for :func:`load_file`
    (8-bit images resized to ``side``; ``None``: kept at their size; ``zero_one`` maps a
    {0, 1} file to +-1; ``key``: the array of an .npz file to read, refused for a source that
    is no file), then first ``n_patterns`` / ``one_per_class`` (needs .npz labels;
    ``n``, the earlier name of ``n_patterns``, still works with a ``DeprecationWarning``).
    ``kind``: ``"binary"`` or ``"continuous"``. Raises :class:`PatternError` for an unknown
    source or bad selection, :class:`~xbarmem.errors.FileFormatError` for a corrupt file or
    an unknown ``key`` (naming the arrays the file holds).
    """
    kind = check_kind(kind)
    seed = check_seed(seed)
    check_type(source, (str, os.PathLike), "source", "a built-in name or a file path")
    name = str(source).strip().lower()
    check_source_options(name, zero_one=zero_one, one_per_class=one_per_class)
    if name in IMAGE_SETS or is_drawn(name):
        _no_key(key, source)
    if name in IMAGE_SETS:
        # side None is refused there (check_side), naming side
        return load_image_set(name, kind, side,  # type: ignore[arg-type]
                              n_patterns, one_per_class, seed)
    if name == "random":
        if n_patterns is None:
            raise PatternError("source 'random' needs n_patterns (the number of patterns)")
        return random_patterns(n_patterns, _synthetic_side(side, name) ** 2, kind=kind, seed=seed)
    overlap = correlated_overlap(name)
    if overlap is not None:
        if kind != "binary":
            raise PatternError(f"source {shown(source)} gives binary patterns only "
                               f"(kind='binary')")
        if n_patterns is None:
            raise PatternError(f"source {shown(source)} needs n_patterns (the number of "
                               f"patterns)")
        return correlated_patterns(n_patterns, _synthetic_side(side, name) ** 2, overlap,
                                   seed=seed)
    path = _existing_file(source)
    pset = load_file(path, kind=kind, zero_one=zero_one, side=side, key=key)
    return _picked(pset, str(source), n_patterns, one_per_class, path)


def _synthetic_side(side: object, name: str) -> int:
    """``side`` of a generated source (``random``, ``correlated-R``: ``side * side`` neurons),
    an integer >= 2; the 4..28 of the image sets (MNIST's 28 x 28) does not bound it."""
    if isinstance(side, bool) or not isinstance(side, numbers.Integral) or side < 2:
        raise PatternError(f"side must be an integer >= 2 for {name!r} (side * side neurons; "
                           f"random_patterns takes any N), got {shown(side)}")
    return int(side)


def _existing_file(source: str | os.PathLike) -> Path:
    """``source`` as the path of an existing file; :class:`PatternError` naming the built-in
    sources when there is no such file."""
    path = Path(source).expanduser()
    if path.is_symlink() and not path.exists():
        raise PatternError(missing(path, "pattern file"))
    if not path.exists():
        raise PatternError(
            f"unknown pattern source {shown(source)}: not a built-in name "
            f"({', '.join(BUILTIN_SOURCES)}, correlated-R) and no such file"
            f"{closest_choice(source, BUILTIN_SOURCES)}"
        )
    return path


def check_source_options(name: str, *, zero_one: bool, one_per_class: bool) -> None:
    """Refuse, with :class:`PatternError`, an option the source ``name`` does not read:
    ``zero_one`` (a file's values in [0, 1]) of a built-in set or drawn patterns, and
    ``one_per_class`` (class labels) of drawn patterns (``random``, ``correlated-R``), which
    have no classes; the command line refuses ``--zero-one`` / ``--one-per-class`` alike."""
    name = name.strip().lower()
    zero_one = check_flag(zero_one, "zero_one", error=PatternError)
    one_per_class = check_flag(one_per_class, "one_per_class", error=PatternError)
    if zero_one and not reads_zero_one(name):
        raise PatternError(f"zero_one reads a pattern file in [0, 1]; {name!r} is built in "
                           f"(its patterns are +-1 already)")
    if one_per_class and is_drawn(name):
        raise PatternError(f"one_per_class needs class labels; {name!r} draws patterns "
                           f"without classes (give n_patterns instead)")


def reads_zero_one(source: str) -> bool:
    """Whether ``source`` is a file, whose values ``zero_one`` may map from [0, 1] (built-in
    sets and drawn patterns are +-1 already)."""
    name = str(source).strip().lower()
    return name not in IMAGE_SETS and not is_drawn(name)


def is_drawn(source: str) -> bool:
    """Whether ``source`` names drawn patterns (``random``, ``correlated-R``) rather than
    images or a file."""
    name = str(source).strip().lower()
    return name == "random" or correlated_overlap(name) is not None


def image_side(source: str | ImageStack, n_neurons: int) -> int:
    """The side ``sqrt(N)`` that images of ``source`` (a built-in image set, or a file's
    :class:`ImageStack`) are resized to for ``N`` neurons. Raises :class:`PatternError`
    unless N is a square of a side from 4 to :func:`max_side` (``source``); a file's images
    are not enlarged either (side at most their own); an N that is not an integer >= 2 too
    (:func:`~xbarmem.checks.check_neurons`)."""
    n_neurons = check_neurons(n_neurons, "N", PatternError)
    if isinstance(source, ImageStack):
        return source.side_for(n_neurons)
    name = str(source)
    side = math.isqrt(n_neurons)
    top = max_side(name)
    if name.strip().lower() == "digits" and n_neurons != 64:
        raise PatternError(f"digits are 8x8 images, so N must be 64; got N = {n_neurons} (for "
                           f"another N: mnist, N a perfect square 16 ... 784, or random "
                           f"patterns, any N)")
    if side * side != n_neurons:
        raise PatternError(f"{name} images are resized to side sqrt(N), so N must be a perfect "
                           f"square; got N = {n_neurons}{nearest_squares(n_neurons, top)}")
    if not 4 <= side <= top:
        raise PatternError(f"{name} images are resized to side sqrt(N), side 4..{top}, so "
                           f"N must be 16 ... {top * top}; got N = {n_neurons} (side {side})")
    return side


@renamed_keywords(n="n_patterns")
def patterns_for(source: str | ImageStack, n_neurons: int | None, *, kind: str = "binary",
                 n_patterns: int | None = None, seed: int = 0, zero_one: bool = False,
                 one_per_class: bool = False, key: str | None = None) -> PatternSet:
    """Patterns of ``n_neurons`` neurons from ``source``: what :func:`load_patterns` gives,
    asked for by the number of neurons N instead of an image side.

    Built-in image sets and a file's :class:`ImageStack` (:func:`sized_source`) are resized
    to side sqrt(N) (:func:`image_side`; a stack with ``n_neurons=None``: its own side);
    ``random`` and ``correlated-R`` draw ``n_patterns`` patterns of any N >= 2; a file has
    its own N: its 8-bit images are resized to side sqrt(N) when N is a square, and its other
    patterns must have N neurons (``n_neurons=None``: whatever the file holds); the set must be
    one a memory can store (:func:`check_storable`). ``n_patterns``: the first ``n_patterns``
    patterns (drawn sources: how many to draw; its earlier name ``n`` still works, with a
    ``DeprecationWarning``); ``one_per_class``: the first pattern of each class (files: needs
    an .npz ``labels`` array); ``key``: the array of an .npz file to read
    (:func:`~xbarmem.data.readers.load_file`'s; refused for a source that is no file). Raises
    :class:`PatternError` (:class:`~xbarmem.errors.FileFormatError` for a file's unknown
    ``key``, naming the arrays it holds).
    """
    kind = check_kind(kind)
    if n_neurons is not None:
        n_neurons = check_neurons(n_neurons, "N", PatternError)
    if isinstance(source, ImageStack):
        pset = source.patterns(None if n_neurons is None else image_side(source, n_neurons),
                               kind)
        return _selected(pset, source.name, n_patterns, one_per_class)
    name = str(source).strip().lower()
    check_source_options(name, zero_one=zero_one, one_per_class=one_per_class)
    if name in IMAGE_SETS or is_drawn(name):
        _no_key(key, source)
    if name in IMAGE_SETS or is_drawn(name):
        if n_neurons is None:
            raise PatternError(f"source {shown(source)} needs the number of neurons N")
        if name in IMAGE_SETS:
            return load_image_set(name, kind, image_side(name, n_neurons), n_patterns,
                                  one_per_class, seed)
        if n_patterns is None:
            raise PatternError(f"source {shown(source)} needs n_patterns (the number of "
                               f"patterns)")
        check_neurons(n_neurons, "N", PatternError)
        overlap = correlated_overlap(name)
        if overlap is None:
            return random_patterns(n_patterns, n_neurons, kind=kind, seed=seed)
        if kind != "binary":
            raise PatternError(f"source {shown(source)} gives binary patterns only (kind='binary')")
        return correlated_patterns(n_patterns, n_neurons, overlap, seed=seed)
    path = _existing_file(source)
    pset = load_file_neurons(path, n_neurons, kind=kind, zero_one=zero_one, key=key)
    if n_neurons is not None and pset.n_neurons != n_neurons:
        raise PatternError(f"{source}: its patterns have N = {pset.n_neurons} neurons, not "
                           f"{n_neurons}")
    return _selected(pset, str(source), n_patterns, one_per_class, path)


def _selected(pset: PatternSet, where: str, n_patterns: int | None, one_per_class: bool,
              path: Path | None = None) -> PatternSet:
    """A file's patterns ``pset`` (named ``where``) checked storable, then its first
    ``n_patterns`` or first of each class (``path``: the file, as :func:`_picked`)."""
    return _picked(check_storable(pset, where), where, n_patterns, one_per_class, path)


def _picked(pset: PatternSet, where: str, n_patterns: int | None, one_per_class: bool,
            path: Path | None = None) -> PatternSet:
    """A file's patterns ``pset`` (named ``where``): its first ``n_patterns`` or first
    of each class; without labels, the error says why the file at ``path`` gave none (no
    ``labels`` array, or one that is not one whole number per pattern), when it is given."""
    if one_per_class and pset.labels is None:
        why = ("this file has no such array" if path is None else
               unlabelled_why(path, pset.key).replace("no 'labels' array", "no such array"))
        raise PatternError(f"{where}: no labels to pick one pattern per class (an .npz "
                           f"file's 'labels' array of one whole number per pattern; {why}); "
                           f"give n_patterns (CLI: --patterns N) to store its first ones")
    if n_patterns is None and not one_per_class:
        return pset
    return pset.subset(select_indices(pset.labels, pset.n_patterns, n_patterns, None,
                                      one_per_class))


#: the pool of drawn sources (``random``, ``correlated-R``) when none is given: how many
#: patterns a capacity search draws its subsets from
DRAWN_POOL = 2000


def sized_source(source: str | os.PathLike | ImageStack, kind: str = "binary",
                 key: str | None = None) -> str | ImageStack:
    """``source`` to be asked for at several N as ``kind`` patterns (:func:`patterns_for`,
    e.g. a scaling run): a built-in image set or drawn patterns by name (lower case), a stack
    as is, and a file read once (:func:`~xbarmem.data.readers.read_image_stack`: 8-bit
    grayscale square images, so that every N resizes the same images; ``key``: the array of
    an .npz file, refused for a source that is no file). Raises :class:`PatternError` for an
    unknown source or ``kind``, a file that holds no such images, a malformed
    ``correlated-R`` name or one with continuous patterns, a ``key`` of no file,
    :class:`~xbarmem.errors.FileFormatError` for a damaged file or an unknown ``key``."""
    kind = check_kind(kind)
    if isinstance(source, ImageStack):
        _no_key(key, source.name)
        return source
    check_type(source, (str, os.PathLike), "source", "a built-in name or a file path")
    name = str(source).strip().lower()
    if name in IMAGE_SETS or is_drawn(name):
        _no_key(key, source)
    if correlated_overlap(name) is not None and kind != "binary":
        raise PatternError(f"source {shown(source)} gives binary patterns only, not {kind}")
    if name in IMAGE_SETS or is_drawn(name):
        return name
    return read_image_stack(_existing_file(source), key)


def _no_key(key: str | None, source: str | os.PathLike) -> None:
    """Refuse (:class:`PatternError`) a ``key`` (an .npz file's array) given with a
    ``source`` that is no file: a built-in set, drawn patterns or a stack already read."""
    if key is not None:
        raise PatternError(f"key {shown(key)} names an array of an .npz file; source "
                           f"{shown(str(source))} is no file")


def source_name(source: str | ImageStack) -> str:
    """What results record of a :func:`sized_source`: its name, or a file's name (no
    folder)."""
    return source.name if isinstance(source, ImageStack) else source


def data_fields(source: PatternSet | ImageStack | str) -> dict[str, str]:
    """What results record of where patterns came from, the one place it is built: ``data``,
    the ``source``'s name (:func:`source_name`; a :class:`PatternSet`'s ``name``), then
    ``data_key``, the .npz array it was read from, only when one was named (``key=``,
    ``--key``), so that the records of sources read without one are as before."""
    key = None if isinstance(source, str) else source.key
    name = source if isinstance(source, str) else source.name
    return {"data": name, **({} if key is None else {"data_key": key})}


def sized_pool(source: str | ImageStack, pool: int | None, what: str = "pool") -> int | None:
    """The pool of a :func:`sized_source`: ``pool``, or :data:`DRAWN_POOL` for drawn patterns
    when it is None; :class:`PatternError` naming ``what`` (the option) when ``source`` holds
    fewer than ``pool`` images."""
    if pool is not None:
        check_pattern_count(pool, what)
    if isinstance(source, str) and is_drawn(source):
        return DRAWN_POOL if pool is None else pool
    held = source.count if isinstance(source, ImageStack) else image_set_size(source)
    if pool is not None and pool > held:
        raise PatternError(f"{what} {pool}: {source_name(source)} holds {held} images; give "
                           f"at most {held}")
    return pool


#: a built-in data source in words for people, in every figure (viz reads it) and every
#: command's title and line
DATA_WORDS = {"mnist": "MNIST", "mnist-crop24": "MNIST (24x24 crop)", "digits": "8x8 digit",
              "random": "random", "glyphs": "glyph"}


def data_words(source: str | os.PathLike | ImageStack, key: str | None = None) -> str:
    """The data source ``source`` (as the user named it: ``--data``, a sweep's ``data``) in
    words for people: a built-in set's :data:`DATA_WORDS`, a file's name (no folder), else
    as given (``correlated-0.3``). Not a pattern set's internal name (``random-binary``).
    ``key``: the .npz array read (``--key``; an :class:`ImageStack`'s own ``key`` when not
    given), said after the file's name, ``two.npz (array test)``; None: the words without
    it, as a source read without a key is described."""
    if isinstance(source, ImageStack):
        name, key = source.name, key if key is not None else source.key
    else:
        name = os.fspath(source)
        if name.strip().lower() in DATA_WORDS:
            return DATA_WORDS[name.strip().lower()]
        name = Path(name).name if isinstance(source, os.PathLike) or os.sep in name else name
    return name if key is None else f"{name} (array {key})"


#: the names built-in sets give their patterns (:mod:`xbarmem.data.builtin`: ``mnist8-binary``,
#: ``mnist12c24-binary`` from the 24x24 crop, ``digits8-continuous``, ``random-binary``)
_SET_NAME = re.compile(r"^(mnist|glyphs|digits)\d+(?:c(\d+))?-(?:binary|continuous)$"
                       r"|^(random)-(?:binary|continuous)$")


def pattern_set_crop(name: str) -> int | None:
    """The centred crop of the 28 x 28 images that a built-in set's patterns named ``name``
    were made from (``mnist8c24-binary``: 24, ``mnist-crop24``'s), else None (the whole image,
    another set, a file)."""
    match = _SET_NAME.match(str(name))
    return None if match is None or match.group(2) is None else int(match.group(2))


def pattern_set_words(name: str, key: str | None = None) -> str:
    """A pattern set's name (:attr:`PatternSet.name`, as results and model files record it)
    in the words of :func:`data_words`, as the user names the source: ``mnist8-binary`` is
    ``MNIST``, ``mnist12c24-binary`` ``MNIST (24x24 crop)``, ``digits8-binary`` ``8x8 digit``;
    a file's name and ``correlated-0.3`` as they are, a file's with the .npz array ``key``
    it was read from (``data_key``; None: none said)."""
    match = _SET_NAME.match(name)
    if match is None:
        return data_words(name, key)
    source, crop, drawn = match.groups()
    if drawn:
        return data_words(drawn)
    if crop is not None:
        return DATA_WORDS["mnist-crop24"].replace("24x24", f"{crop}x{crop}")
    return data_words(source)
