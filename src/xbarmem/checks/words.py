"""The words every message and command shares: a value as a message shows it (:func:`shown`,
:func:`brief`), a count and its noun (:func:`counted`: singular for one), a range
(:func:`spanned`), a duration (:func:`seconds_text`) and a value beside its limits
(:func:`beside`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.kinds import is_bool


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


def shown_typed(value: Any) -> str:
    """``value`` as :func:`shown` shows it, its dtype named once: ``an ndarray of shape (2, 3),
    complex128`` as it is (its dtype is in it), ``a 0-d ndarray holding 1j of dtype complex128``
    (a 0-d array shows its value alone); a value without a dtype as :func:`shown`."""
    text = shown(value)
    dtype = getattr(value, "dtype", None)
    return text if dtype is None or str(dtype) in text else f"{text} of dtype {dtype}"


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
    """A duration of ``seconds`` as every command prints it (followed by `` s``): one decimal below
    10 s, whole seconds above (a 0.48 s run read "0 s" where a command rounded to whole seconds)."""
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
