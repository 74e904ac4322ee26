"""Argument checks every layer shares, torch-free: :func:`check_seed`, the one rule for random
seeds (used by :mod:`xbarmem.spec`, :mod:`xbarmem.seeds` and, through them, every public entry
point that takes a seed), and :func:`check_neurons`, the one rule for the number of neurons of
a memory (used by the memories and by the readers of patterns to store). :func:`checked_keywords`
(a decorator) and :func:`check_type` are the rules for how public functions are called: an
unknown keyword argument, or an argument of the wrong type, raises
:class:`~xbarmem.errors.ArgumentError` (a ``TypeError``) naming it, before any work. The
words every command prints share two rules here too: :func:`seconds_text` (durations) and
:func:`counted` (a count and its noun, singular for one)."""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import numbers
import re
import struct
import warnings
from collections.abc import Callable, Iterable, Sequence
from types import UnionType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from xbarmem.errors import ArgumentError, ConfigError, XbarmemError
from xbarmem.names import closest_name, name_key

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    import numpy as np
    import torch

__all__ = ["DEFAULT_HIDDEN", "MAX_COUNT", "MAX_SEED", "ArrayLike", "ResultDict", "as_real_array",
           "check_callback", "check_choice",
           "check_count", "check_each_once", "check_flag", "check_image_shape", "check_neurons",
           "hidden_layer_widths", "hidden_word", "ratio_width", "resolve_hidden", "spanned",
           "check_seed",
           "check_tensor", "check_texts", "check_type", "canonical", "choice_key", "tensor_of",
           "choices_text", "closest_choice",
           "as_written", "brief", "checked_keywords", "counted", "is_bool", "is_choice", "listed",
           "not_numbers",
           "numeric_array", "renamed_keywords", "result_repr", "seconds_text", "shown",
           "unknown_argument", "with_article"]

F = TypeVar("F", bound=Callable[..., Any])

#: the type hint of a numeric array argument (patterns, cues): what :func:`check_tensor` and
#: :func:`as_real_array` read -- a tensor, a numpy array (``PatternSet.patterns``) or nested
#: lists of numbers
ArrayLike: TypeAlias = "torch.Tensor | np.ndarray | Sequence[Any]"

#: parameter kinds that can be passed by keyword
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)

#: the largest seed a user may give (command line, trainer options, sweep files): seeds are
#: 32-bit, which numpy, torch and the derived-seed formulas all accept
MAX_SEED = 2**32 - 1
#: ``xbarmem reproduce --seed S`` runs a sweep's seed ``k`` (every one below this) as trial seed
#: ``S * SEED_STRIDE + k``: two run seeds share no trial seed
SEED_STRIDE = 1000
#: the largest ``reproduce --seed``: its trial seeds stay within :data:`MAX_SEED`
MAX_RUN_SEED = (MAX_SEED - (SEED_STRIDE - 1)) // SEED_STRIDE
#: the largest count a user may give (trials, probes, chips, iterations, steps, patterns...):
#: above it a run would never end, whatever memory it needs
MAX_COUNT = 10**9


def check_seed(seed: Any, name: str = "seed", what: str = "an integer >= 0", *,
               maximum: int = MAX_SEED, why: str = "seeds are 32-bit") -> int:
    """The one rule for random seeds: an integer in ``0 ..`` ``maximum`` (default
    :data:`MAX_SEED`; a seed from which others are derived has a smaller one, ``why`` saying
    so) (Python or numpy integer; bools refused). Returns it as a Python ``int``; raises
    :class:`ConfigError` naming ``name`` (and ``what`` it must be) otherwise (``seed must be an
    integer >= 0, got -1``; a numpy generator is named with how to get a seed), before any
    draw is made."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"{name} must be {what}, got {shown(seed)}")
    if int(seed) > maximum:
        raise ConfigError(f"{name} must be {what} and at most {maximum} ({why}), "
                          f"got {shown(seed)}")
    return int(seed)


def shown(value: Any) -> str:
    """``value`` in a message, never a long text: its repr for numbers, text (a very long one
    cut, with its length) and short lists, tuples and dicts (``[1]``); an array or tensor by
    its type, shape and dtype (``an ndarray of shape (40, 40), float64``; a 0-d one by its
    value); a long list, tuple or dict by its type and length; anything else by its type (a
    random generator of numpy or torch: with how to draw a seed from it)."""
    if isinstance(value, int) and value.bit_length() > 128:  # (repr fails past 4300 digits)
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if value is None or (isinstance(value, numbers.Number) and not hasattr(value, "shape")):
        return repr(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        if isinstance(value, numbers.Number):  # a numpy scalar
            return repr(value)
        shape = tuple(int(d) for d in value.shape)
        if not shape and str(getattr(value, "device", "cpu")) != "meta":
            return f"a 0-d {type(value).__name__} holding {value.item()!r}"
        return f"{with_article(type(value).__name__)} of shape {shape}, {value.dtype}"
    if isinstance(value, str):  # a path or a name: whole, unless absurdly long
        return repr(value) if len(value) <= 300 else f"{value[:60]!r}... ({len(value)} characters)"
    if isinstance(value, list | tuple | dict):
        text = repr(value)
        return text if len(text) <= 80 else (
            f"{with_article(type(value).__name__)} of length {len(value)}")
    kind = type(value).__name__
    if kind in ("Generator", "RandomState"):
        return (f"a {type(value).__module__.split('.')[0]} {kind} (pass an integer seed, e.g. "
                f"one drawn from it)")
    return with_article(kind)


def with_article(name: str) -> str:
    """``name`` (a type's name) after its article: ``an ndarray``, ``an OrderedDict``,
    ``a Tensor``."""
    return f"{'an' if name[:1].lower() in 'aeio' or name.startswith('nd') else 'a'} {name}"


_shown = shown  # the name its first users know


def brief(value: Any) -> str:
    """``value`` in a result's repr, a few characters long whatever its size: a number to 4
    significant digits; text, None and a bool by their repr; a tensor or array of booleans by
    how many are true (``2 of 3``); one of two or more dimensions by its shape (``shape (10,
    64)``); numbers of a flat tensor, array, list or tuple by their count and range (``[10
    values, 0.9609 to 1]``; one value: ``[0.5]``); a dict item by item; another object by its
    repr."""
    if value is None or isinstance(value, str) or is_bool(value):
        return repr(value if isinstance(value, str) or value is None else bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{brief(k)}: {brief(v)}" for k, v in value.items()) + "}"
    if not hasattr(value, "__len__"):
        return repr(value)
    shape = tuple(int(d) for d in getattr(value, "shape", (0,)))
    if len(shape) != 1:
        return brief(value.item()) if not shape else f"shape {shape}"
    values = list(value.tolist() if hasattr(value, "tolist") else value)
    if values and all(isinstance(v, bool) for v in values):
        return f"{sum(values)} of {len(values)}"
    if len(values) == 1:
        return f"[{brief(values[0])}]"
    real = [float(v) for v in values if isinstance(v, numbers.Real)]
    if len(real) < len(values):  # texts, shapes, tensors: each, when there are few
        return (f"[{', '.join(brief(v) for v in values)}]" if len(values) <= 4
                else f"[{len(values)} values]")
    finite = [v for v in real if v == v]
    span = f", {min(finite):.4g} to {max(finite):.4g}" if finite else ""
    nan = f", {len(real) - len(finite)} NaN" if len(finite) < len(real) else ""
    return f"[{len(values)} values{span}{nan}]"


def seconds_text(seconds: float) -> str:
    """A duration as every command prints it (followed by `` s``): one decimal below 10 s,
    whole seconds above (a 0.48 s run read "0 s" where a command rounded to whole seconds)."""
    return f"{seconds:.1f}" if seconds < 9.95 else f"{seconds:.0f}"


def beside(value: float, limits: Iterable[float], decimals: int = 3) -> str:
    """``value`` with ``decimals`` decimals, or more where fewer would put it on the other side
    of one of ``limits`` (the thresholds it is judged against): a cosine of 0.98992 below the
    threshold 0.99 reads ``0.9899``, not ``0.990`` (a count shown "0.990" was not recalled
    at 0.99); at most 9 decimals. A value that rounds to zero has no sign (``-0.000``)."""
    limits = [float(t) for t in limits]
    for places in range(decimals, 10):
        text = f"{value:.{places}f}"
        text = text.lstrip("-") if float(text) == 0 else text
        if all((float(text) >= t) == (value >= t) for t in limits):
            return text
    return text


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, singular for one (``1 trial``, ``2 trials``; ``plural`` when
    not ``noun + "s"``): the counts every command prints ("1 trials" read as a slip)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def spanned(noun: str, first: int, last: int, to: str = "..") -> str:
    """The ``noun`` numbered ``first`` to ``last`` (inclusive): ``arrays 0..3`` (``to``
    between them, ``rows 0-15`` with ``"-"``), and one as one, ``array 1`` (``arrays 1..1``
    read as a slip, as ``1 trials`` does: :func:`counted`)."""
    return f"{noun} {first}" if first == last else f"{noun}s {first}{to}{last}"


C = TypeVar("C", bound=type)


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same value: tensors and numpy arrays of one type,
    shape and dtype with equal entries (NaN matching NaN, as for a copy), lists, tuples and
    dicts of such values item by item, anything else by ``==``."""
    import numpy as np  # numpy and torch only when results are compared
    import torch

    if a is b:
        return True
    if isinstance(a, (torch.Tensor, np.ndarray)) or isinstance(b, (torch.Tensor, np.ndarray)):
        if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        if isinstance(a, torch.Tensor):
            a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
        nan = a.dtype.kind in "fc"
        return bool(np.array_equal(a, b, equal_nan=nan))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)


def value_equality(cls: C) -> C:
    """Class decorator for a dataclass holding tensors or arrays: ``==`` compares every field
    with :func:`same_value` (the generated ``==`` raised torch's "Boolean value of Tensor with
    more than one value is ambiguous"); instances are unhashable, as mutable values are."""
    import dataclasses

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(same_value(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(cls))

    __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
    cls.__eq__ = __eq__  # type: ignore[assignment]
    cls.__hash__ = None  # type: ignore[assignment]
    return cls


def result_repr(name: str, fields: dict[str, Any]) -> str:
    """The repr of a result object (``Score``, ``RecallResult``, ``CapacityResult``, ...): its
    main numbers, each :func:`brief`, never a whole tensor (``as_dict`` or the attributes hold
    every value as computed)."""
    return f"{name}({', '.join(f'{k}={brief(v)}' for k, v in fields.items())})"


class ResultDict(dict):
    """A result that is a dict (its items read as before) and prints one short line: a
    subclass names its main numbers in :meth:`shown` (:func:`result_repr` writes them);
    :meth:`as_dict` gives the items as a plain dict."""

    def shown(self) -> dict[str, Any]:
        """The fields the one-line repr shows (default: none)."""
        return {}

    def __repr__(self) -> str:
        return result_repr(type(self).__name__, self.shown())

    def as_dict(self) -> dict[str, Any]:
        """Every item as a plain dict."""
        return dict(self)


def is_bool(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy bool (which is no number and no name here)."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy"
                                       and type(value).__name__ in ("bool", "bool_"))


def finite(value: Any) -> bool:
    """Whether the real number ``value`` is finite as a float: NaN, the infinities and integers
    too large for a float (JSON, TOML and Python hold any; ``math.isfinite`` raises
    ``OverflowError`` on them, as ``float()`` does) are not."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number: a Python or numpy int or float (``np.int64(3)``,
    ``np.float32(0.1)``); bools, texts (``"0.1"``), tensors and other objects are not."""
    return isinstance(value, numbers.Real) and not is_bool(value)


def reads_as_number(text: str) -> bool:
    """Whether ``float(text)`` reads ``text`` (``"1e3"``, ``" 3.0"``, ``"nan"``; not ``""``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_choice(value: Any, choices: Iterable[Any]) -> bool:
    """Whether ``value`` is one of ``choices`` (names), safely for any value: an array, a
    tensor or any other unhashable or odd object is no choice (never numpy's "truth value is
    ambiguous"), nor is a bool unless ``choices`` hold it."""
    if isinstance(value, str):  # numpy strings too
        return str(value) in frozenset(choices)
    if is_bool(value):
        return any(c is value for c in choices)
    if hasattr(value, "shape") or hasattr(value, "__array__"):
        return False
    try:
        return value in frozenset(choices)
    except TypeError:  # unhashable
        return False


def choice_key(value: Any, choices: Iterable[Any]) -> Any:
    """The one rule for looking up a name (a rule, corruption, chip or circuit preset, recipe,
    pattern kind, recall mode, architecture, data source...) among ``choices``: the choice
    ``value`` is (:func:`is_choice`), else the one it names written in another case, with
    surrounding spaces or ``_`` for ``-`` (``"Hebb"``, ``"salt_pepper"``: ``"hebb"``,
    ``"salt-pepper"``), else None. What is stored is the choice returned, never the text
    given."""
    options = tuple(choices)
    if is_choice(value, options):
        return str(value) if isinstance(value, str) else value  # (a numpy text as a str)
    if not isinstance(value, str):
        return None
    key = name_key(value)
    return next((c for c in options if isinstance(c, str) and name_key(c) == key), None)


def canonical(value: Any, choices: Iterable[Any]) -> Any:
    """:func:`choice_key` of ``value`` when it names one of ``choices``, else ``value`` as given
    (for its own check to refuse): what an entry point keeps of a name before comparing it
    with one (``rule == "adaptive"``)."""
    key = choice_key(value, choices)
    return value if key is None else key


def choices_text(choices: Iterable[Any]) -> str:
    """Choices in a message: ``a, b`` (never a Python tuple or list's repr)."""
    return ", ".join(map(str, choices))


def closest_choice(value: Any, choices: Iterable[Any]) -> str:
    """``"; did you mean 'pinv'?"`` when ``value`` is a text close to one of ``choices``
    (:func:`~xbarmem.names.closest_name`), else ``""``."""
    return closest_name(value, tuple(choices))


def check_choice(value: Any, choices: Iterable[Any], name: str, *,
                 error: type[XbarmemError] = ConfigError) -> Any:
    """The canonical choice ``value`` names (:func:`choice_key`: ``"Sync"`` is ``"sync"``),
    else ``error`` ``{name} must be one of a, b, got {shown(value)}`` (:func:`choices_text`),
    with the closest choice (``; did you mean 'sync'?``) when one is close."""
    options = tuple(choices)
    key = choice_key(value, options)
    if key is None:
        raise error(f"{name} must be one of {choices_text(options)}, got {shown(value)}"
                    f"{closest_choice(value, options)}")
    return key


def check_flag(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> bool:
    """The one rule for on/off options: ``True`` or ``False`` (a numpy bool too); anything else
    (``"no"``, 1, None, an array) raises ``error`` naming ``name``. Returns a Python bool."""
    if not is_bool(value):
        raise error(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def check_count(value: Any, name: str, *, minimum: int = 1, maximum: int = MAX_COUNT,
                error: type[XbarmemError] = ConfigError) -> int:
    """The one rule for counts (trials, probes, chips, steps, iterations): an integer (Python
    or numpy; bools refused) in ``minimum .. maximum`` (default :data:`MAX_COUNT`, a limit
    above which a run would never end). Returns it as a Python ``int``; raises ``error`` naming
    ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {shown(value)}")
    if int(value) > maximum:
        raise error(f"{name} must be at most {maximum}, got {shown(value)}")
    return int(value)


def check_callback(value: Any, name: str, *, optional: bool = True) -> Any:
    """``value`` if it is callable (or ``None`` when ``optional``), else
    :class:`~xbarmem.errors.ArgumentError` ``{name} must be a function (or None), got ...``
    (``optional=False``: ``{name} must be a function, got ...``), raised before any work."""
    if not callable(value) and not (optional and value is None):
        allowed = " (or None)" if optional else ""
        raise ArgumentError(f"{name} must be a function{allowed}, got {shown(value)}")
    return value


def check_tensor(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> Any:
    """``value`` unless it is a torch tensor no computation can read: one on the ``meta``
    device (it holds no data) or of a complex dtype; ``error`` naming ``name`` then. Every
    other tensor comes back as one that numpy and every operator read: a sparse, quantized or
    MKL-DNN tensor as its dense values, a ``bfloat16`` or ``float8`` one (no numpy dtype) as
    float32 (which holds each of its values exactly). Callers read the returned value. Torch
    is never imported here (a tensor is recognised by its attributes)."""
    if type(value).__module__.startswith("torch") and hasattr(value, "is_complex"):
        if getattr(value, "is_meta", False):
            raise error(f"{name} must hold data, got a tensor on the meta device")
        if value.is_complex():
            raise error(f"{name} must be real numbers, got a complex tensor ({value.dtype})")
        if getattr(value, "is_quantized", False):
            value = value.dequantize()
        if str(value.layout) != "torch.strided":  # sparse COO / CSR / ..., MKL-DNN
            from xbarmem.limits import array_bytes, check_bytes

            check_bytes(f"{name}: a sparse tensor of shape {tuple(value.shape)} made dense",
                        array_bytes(*value.shape, itemsize=value.element_size()))
            value = value.to_dense()
        if str(value.dtype) == "torch.bfloat16" or str(value.dtype).startswith("torch.float8"):
            value = value.float()
    return value


def not_numbers(value: Any, name: str, what: str, *,
                error: type[XbarmemError] = ConfigError) -> XbarmemError:
    """The error for ``value`` given as ``name`` that holds no real numbers (``None``, a text,
    a dict, a memory, ragged lists): ``{name} must be {what}, got {shown(value)}`` -- the value
    named by what it is, never by numpy's reading of it (``dtype object``) or Python's
    (``float() argument must be ...``). (A :class:`~xbarmem.data.patterns.PatternSet` holds
    numbers: numpy reads its matrix.)"""
    return error(f"{name} must be {what}, got {shown(value)}")


def numeric_array(value: Any, name: str, what: str, *,
                  error: type[XbarmemError] = ConfigError) -> Any:
    """``value`` (not a tensor: nested lists, a numpy array) as a numpy array of bools or
    real numbers, its own dtype; :func:`not_numbers` (``{name} must be {what}``) when numpy
    cannot read it (ragged lists) or it holds no numbers (None, texts, objects, a
    PatternSet); ``error`` naming ``name`` for complex numbers (their imaginary parts would
    be dropped)."""
    import numpy as np  # numpy only when an array is read

    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged lists
        arr = None
    if arr is None or (arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number)):
        raise not_numbers(value, name, what, error=error)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise error(f"{name} must be real numbers, got complex numbers ({arr.dtype})")
    return arr


def check_neurons(n_neurons: Any, name: str = "n_neurons",
                  error: type[XbarmemError] = ConfigError) -> int:
    """The one rule for the number of neurons ``N`` of a memory: an integer >= 2 (Python or
    numpy integer; bools refused). Returns it as a Python ``int``; raises ``error`` (default
    :class:`ConfigError`; pattern readers pass :class:`~xbarmem.errors.PatternError`) naming
    ``name`` otherwise (``n_neurons must be an integer >= 2 (a memory needs at least 2
    neurons), got 1``)."""
    if (isinstance(n_neurons, bool) or not isinstance(n_neurons, numbers.Integral)
            or n_neurons < 2):
        raise error(f"{name} must be an integer >= 2 (a memory needs at least 2 neurons), "
                    f"got {shown(n_neurons)}")
    if int(n_neurons) > MAX_COUNT:  # as every count (sizes then go through float arithmetic)
        raise error(f"{name} must be at most {MAX_COUNT}, got {shown(n_neurons)}")
    return int(n_neurons)


def hidden_word(value: Any) -> tuple[str, float]:
    """One hidden layer's width in the words every entry point takes (``--hidden``, a sweep's
    ``hidden``, the API's ``hidden=``): an integer H >= 1 (``32``, ``"32"``: ``("fixed", H)``)
    or a multiple of N (``"1n"``, ``"0.5n"``, any case, spaces around ignored: ``("ratio",
    R)``). :class:`ConfigError` otherwise."""
    bad = ConfigError(f"a hidden width must be an integer >= 1 (e.g. 32) or a multiple of "
                      f"N (e.g. '1n' or '0.5n'), got {shown(value)}")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise bad
    part = value.strip().lower()
    kind = "ratio" if part.endswith("n") else "fixed"
    try:
        number = float(part[:-1] if kind == "ratio" else part)
    except ValueError:
        raise bad from None
    if not (math.isfinite(number) and 0 < number <= MAX_COUNT) or (
            kind == "fixed" and number != int(number)):
        raise bad
    return kind, number


def ratio_width(ratio: float, n_neurons: int) -> int:
    """The hidden width ``R N`` for a multiple ``R`` of N (``"0.5n"``): rounded to the nearest
    integer (halves to the even one), at least 1. The one rule of every entry point."""
    return max(1, round(ratio * n_neurons))


def hidden_layer_widths(hidden: Any, n_neurons: int, name: str = "hidden") -> list[int]:
    """The hidden widths ``hidden`` gives a memory of ``n_neurons``: one width or a list (or
    tuple, 1-D integer numpy array or torch tensor) of them, each an integer >= 1 or a
    multiple of N (:func:`hidden_word`: ``"1n"`` is N, ``"0.5n"`` N / 2 by
    :func:`ratio_width`), as the command line's ``--hidden 1n-8`` and a sweep's ``hidden =
    ["1n", 8]`` take them. :class:`ConfigError` naming ``name`` otherwise."""
    words: list[Any]
    one = isinstance(hidden, numbers.Integral | str) and not isinstance(hidden, bool)
    bad = ConfigError(f"{name} must be a width (an integer >= 1, or a multiple of N such as "
                      f"'1n') or a list of them, got {shown(hidden)}"
                      + _layers_hint(hidden))
    if one:
        words = [hidden]
    elif (isinstance(hidden, bytes) or not isinstance(hidden, Iterable)
          or getattr(hidden, "ndim", 1) != 1):
        raise bad
    else:  # a 1-D numpy array or torch tensor as its Python numbers (a tensor's items were
        # 0-d tensors, no integers): integer ones taken, float ones refused, alike
        to_list = getattr(hidden, "tolist", None)
        words = to_list() if callable(to_list) else list(hidden)
    if not words:
        raise ConfigError(f"{name} must name at least one hidden layer width")
    widths = []
    for word in words:
        try:
            kind, value = hidden_word(word)
        except ConfigError:
            raise (bad if one else ConfigError(
                f"{name} layer widths must be integers >= 1 or multiples of N ('1n', '0.5n'), "
                f"got {shown(hidden)}")) from None
        widths.append(int(value) if kind == "fixed" else ratio_width(value, n_neurons))
    return widths


def _layers_hint(hidden: Any) -> str:
    """What a refusal of ``hidden`` adds for a text of several widths (the command line's
    ``64-32``, or ``"64,32"``: :func:`several_widths`): a list here."""
    words = several_widths(hidden)
    return "" if words is None else f" (two or more layers are a list here, e.g. {words!r})"


def several_widths(text: Any) -> list[int | str] | None:
    """The hidden widths a text of several of them names, in any spelling a user may try:
    the command line's ``"64-32"``, ``"64,32"``, ``"64 32"``, ``"64;32"``, ``"[64, 32]"``
    -> ``[64, 32]`` (a multiple of N stays a word: ``"1n-16"`` -> ``["1n", 16]``). None when
    ``text`` is no text, or does not split into two or more widths :func:`hidden_word`
    takes: the hint of every refusal of such a text (the API's ``hidden=``, a sweep's)."""
    if not isinstance(text, str):
        return None
    inner = text.strip()
    if inner[:1] + inner[-1:] in ("[]", "()"):
        inner = inner[1:-1]
    parts = re.split(r"\s*[-,;]\s*|\s+", inner.strip())
    try:
        words = [(kind, number, part) for part in parts
                 for kind, number in [hidden_word(part)]]
    except ConfigError:
        return None
    if len(words) < 2:
        return None
    return [int(number) if kind == "fixed" else part.strip().lower()
            for kind, number, part in words]


#: the hidden width of a multilayer memory given no ``hidden``: the default of every entry point
#: (``train``, ``find_capacity``, ``recall_curve``, ``run_scaling``, ``measure``, a sweep's
#: ``hidden``, the command line's ``--hidden``; :func:`~xbarmem.learning.fit.hidden_for`)
DEFAULT_HIDDEN = 32


def resolve_hidden(hidden: Any, n_neurons: int, name: str = "hidden") -> int | list[int]:
    """``hidden`` as results record it: the widths :func:`hidden_layer_widths` trains, one
    width as an integer (``"1n"`` -> N), a list as a list (``["1n", 8]`` -> ``[N, 8]``)."""
    widths = hidden_layer_widths(hidden, n_neurons, name)
    return widths[0] if isinstance(hidden, numbers.Integral | str) else widths


def check_each_once(values: Iterable[Any], name: str) -> None:
    """Refuse a value that ``values`` (e.g. the sizes N of a run over sizes) lists twice: it
    was measured twice and counted twice in a fit or a figure. :class:`ConfigError` naming
    ``name`` and the value (``sizes lists 16 twice; give each value once``)."""
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ConfigError(f"{name} lists {shown(value)} twice; give each value once")
        seen.append(value)


def unknown_argument(where: str, key: str, allowed: Sequence[str],
                     context: str = "") -> ArgumentError:
    """The error for an unknown keyword argument ``key`` of ``where`` (``"train()"``): names
    the closest of ``allowed`` (``did you mean 'fault_seed'?``), or lists them all when none is
    close. ``context`` is added after the key (``" (neither ... nor ...)"``). ``device`` is
    answered for itself: xbarmem computes on the CPU only."""
    if key == "device":
        return ArgumentError(f"{where} got an unknown keyword argument 'device': xbarmem "
                             f"computes on the CPU only (tensors on another device are "
                             f"copied to the CPU)")
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"it takes {', '.join(allowed)}" if allowed else "it takes none")
    return ArgumentError(f"{where} got an unknown keyword argument {key!r}{context}; {hint}")


def cannot_call(method: Any, *args: Any, **keywords: Any) -> str | None:
    """Why ``method`` (a user's function or bound method, part of a contract) cannot be called
    with ``args`` and ``keywords`` as xbarmem will call it (Python's own words, e.g. "takes 2
    positional arguments but 3 were given"), or None when it can; a signature Python cannot
    read is let through (None). The one check behind every contract of a user's callables
    (corruptions, rules, chip backends and array drivers), made before they are first called."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args, **keywords)
    except TypeError as exc:
        return str(exc)
    return None


def checked_keywords(obj: F) -> F:
    """Decorate a public function (or a class: its ``__init__`` and the public methods its body
    defines) so that an unknown keyword argument raises :func:`unknown_argument` (an
    :class:`~xbarmem.errors.ArgumentError` naming the closest valid keyword, as scikit-learn
    does) and arguments that do not fit the signature (too many positional ones, a required
    one left out) an :class:`~xbarmem.errors.ArgumentError` in Python's words, instead of a
    bare ``TypeError`` (a function taking ``**kwargs`` checks its keywords itself). The
    signature seen by :mod:`inspect` and ``help()`` is the original one."""
    if isinstance(obj, type):
        for name, method in list(vars(obj).items()):
            if name != "__init__" and name.startswith("_"):
                continue
            kind = type(method) if isinstance(method, staticmethod | classmethod) else None
            function = method.__func__ if kind is not None else method
            if inspect.isfunction(function) and not hasattr(function, "__wrapped__"):
                checked = checked_keywords(function)
                setattr(obj, name, kind(checked) if kind is not None else checked)
        return obj
    params = inspect.signature(obj).parameters
    names = tuple(n for n, p in params.items()
                  if p.kind in _KEYWORD_KINDS and n not in ("self", "cls"))
    allowed = frozenset(names)
    # (a function taking **kwargs checks its keywords itself)
    free = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    where = obj.__qualname__.removesuffix(".__init__") + "()"

    @functools.wraps(obj)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key in kwargs if not free else ():
            if key not in allowed:
                raise unknown_argument(where, key, names)
        args = tuple(plain_scalar(a) for a in args)
        kwargs = {k: plain_scalar(v) for k, v in kwargs.items()}
        try:
            return obj(*args, **kwargs)
        except TypeError as exc:  # (the call itself, not the body: only when they do not bind)
            if isinstance(exc, ArgumentError) or cannot_call(obj, *args, **kwargs) is None:
                raise
            raise ArgumentError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def plain_scalar(value: Any) -> Any:
    """``value`` as a Python scalar when it is a numpy one (a scalar read out of an array:
    ``np.int64(3)``, ``np.float32(0.05)``, ``np.bool_(True)``): its ``bool``, ``int``, or
    float as written (:func:`as_written`: ``0.05``), so that what a public function records
    (settings, keys, JSON) holds plain numbers; anything else (arrays, Python numbers, texts)
    is the same object. What :func:`checked_keywords` applies to every argument."""
    kind = type(value)
    if kind.__module__ != "numpy" or kind.__name__ == "ndarray":
        return value
    if kind.__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(as_written(value))
    return value


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Keep the earlier names of keyword arguments working for one release: decorate a public
    function (above :func:`checked_keywords`) with ``renamed_keywords(old="new")`` and
    ``old=value`` is passed on as ``new=value`` with a ``DeprecationWarning`` naming both;
    giving both raises :class:`~xbarmem.errors.ArgumentError`. The signature seen by
    :mod:`inspect` and ``help()`` has the new names only."""

    def decorate(func: F) -> F:
        where = func.__qualname__.removesuffix(".__init__") + "()"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise ArgumentError(f"{where} got both {new}= and {old}=, its earlier "
                                        f"name; give {new}= only")
                warnings.warn(f"{where}: {old}= is deprecated; use {new}=", DeprecationWarning,
                              stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def check_type(value: Any, types: type | UnionType | tuple[type, ...], name: str, what: str
               ) -> Any:
    """``value`` if it is an instance of ``types``, else :class:`~xbarmem.errors.ArgumentError`
    ``{name} must be {what}, got {type}`` (``memory must be a Memory (from train or
    load_memory), got ndarray``)."""
    if not isinstance(value, types):
        raise ArgumentError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def listed(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> Any:
    """The one reading of an argument that lists values (sizes, thresholds, rules): a list,
    tuple or ``range``, or a 1-D numpy array, torch tensor (any device, with or without
    ``requires_grad``; :func:`check_tensor`) or other 1-D array with ``tolist`` (a pandas
    Series), as a Python list of its items -- an array's as Python numbers or texts
    (``np.arange``, ``np.linspace``, ``torch.tensor([...])`` as a grid search makes them; a
    float16 or float32 value, an array's or a numpy number listed, as the shortest decimal its
    type reads as it).
    Anything else (one number, a text, a set, a 2-D array, None) comes back unchanged for the
    caller's own check to refuse naming ``name``; a tensor no computation can read raises
    ``error`` naming it."""
    if isinstance(value, list | tuple | range):  # (numpy float16/float32 items as arrays')
        return [as_written(v) for v in value]
    if (not isinstance(value, str | bytes) and getattr(value, "ndim", None) == 1
            and callable(getattr(value, "tolist", None))):
        value = check_tensor(value, name, error=error)
        narrow = _NARROW_FLOATS.get(str(value.dtype).removeprefix("torch."))
        items = value.tolist()
        return items if narrow is None else [_shortest(v, narrow) for v in items]
    return value


#: struct codes of the float types narrower than Python's, by dtype name
_NARROW_FLOATS = {"float16": "e", "float32": "f"}


def as_written(value: Any) -> Any:
    """``value`` as the user wrote it: a numpy float16 or float32 number (``np.float32(0.05)``)
    as the Python float of the shortest decimal its type reads as the same number (``0.05``,
    not ``0.05000000074505806``, what the type holds, widened; :func:`_shortest`); anything
    else -- a Python or numpy int, a Python float, a float64, a bool, a text, an array --
    unchanged (the same object). The one rule of every single number a user gives (the spec
    rule :class:`~xbarmem.spec.Number`, a corruption's level, ``tol``) and of every number
    :func:`listed` reads, so that results, records and keys say what was written."""
    code = _NARROW_FLOATS.get(str(getattr(value, "dtype", "")))
    return _shortest(float(value), code) if code and isinstance(value, numbers.Real) else value


def _shortest(value: float, code: str) -> float:
    """``value`` (read from a float of struct ``code``, ``"e"`` float16 or ``"f"`` float32) as
    the shortest decimal that type reads as the same number: a float32 ``0.9`` is ``0.9``, not
    ``0.8999999761581421`` (what the type holds, widened)."""
    if not math.isfinite(value):
        return value
    held = struct.pack(code, value)
    for digits in range(1, 18):
        decimal = float(f"{value:.{digits}g}")
        try:
            if struct.pack(code, decimal) == held:
                return decimal
        except OverflowError:  # rounded past the type's largest value
            continue
    return value


def tensor_of(value: Any, dtype: Any = None) -> torch.Tensor:
    """``torch.as_tensor(value, dtype=dtype)`` without torch's "The given NumPy array is not
    writable" ``UserWarning``: a read-only numpy array (a
    :class:`~xbarmem.data.patterns.PatternSet`'s patterns or labels, a row of them, or a
    user's) is copied into a tensor of its own (torch has no read-only tensors); anything else
    -- a writable array, whose memory the tensor shares, a tensor, nested lists -- is read as
    ``torch.as_tensor`` reads it. The one conversion of arrays that may be read-only."""
    import torch  # torch only when a tensor is made

    flags = getattr(value, "flags", None)
    if flags is not None and not isinstance(value, torch.Tensor) and not flags.writeable:
        return torch.tensor(value, dtype=dtype)  # (one copy, no warning)
    return torch.as_tensor(value, dtype=dtype)


def check_texts(value: Any, name: str, what: str = "a list of texts", *,
                error: type[XbarmemError] = ArgumentError) -> list[str]:
    """The one rule for a list of names or conditions (``where``, trial keys, field names): a
    list or tuple (or another non-text sequence) whose items are all ``str``; returned as a
    list. One text (which would be read letter by letter), None, a number, an array or a
    list holding anything but texts raises ``error`` ``{name} must be {what}, got ...``
    naming the first bad item."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        hint = " (one text: put it in a list)" if isinstance(value, str) else ""
        raise error(f"{name} must be {what}{hint}, got {shown(value)}")
    items = list(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise error(f"{name} must be {what}, got {shown(item)} at [{i}]")
    return items


def as_real_array(value: Any, name: str, *, error: type[XbarmemError] = ConfigError,
                  dtype: str | None = "float64") -> Any:
    """The one reader of a user's array of numbers (weights, biases, conductance maps,
    indices): ``value`` (a numpy array, nested lists, or a torch tensor on any device, with or
    without ``requires_grad``) as a numpy array of ``dtype`` (None: its own, bool or numeric).
    Raises ``error`` naming ``name`` for a meta or complex tensor (:func:`check_tensor`), a
    ragged or non-numeric value (``None``, text, objects) or complex numbers."""
    import numpy as np  # numpy only when an array is read

    value = check_tensor(value, name, error=error)
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested lists
        raise not_numbers(value, name, "an array of real numbers", error=error) from None
    if (arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number)) or np.issubdtype(
            arr.dtype, np.complexfloating):
        raise error(f"{name} must be an array of real numbers, got {shown(value)}"
                    + (f" of dtype {arr.dtype}" if hasattr(value, "dtype") else ""))
    return arr if dtype is None else arr.astype(dtype, copy=False)


def check_image_shape(value: Any, name: str = "image_shape", *,
                      error: type[XbarmemError] = ConfigError) -> tuple[int, int]:
    """The one rule for an image shape: a pair ``(h, w)`` of integers >= 1 (a list, tuple or
    1-D array of two integers); returned as a tuple of Python ints, else ``error`` naming
    ``name``."""
    items = listed(value, name, error=error)
    if (not isinstance(items, list) or len(items) != 2 or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in items)):
        raise error(f"{name} must be a pair (h, w) of integers >= 1, got {shown(value)}")
    return int(items[0]), int(items[1])
