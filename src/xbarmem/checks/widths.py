"""The sizes of a memory: :func:`check_neurons`, the one rule for the number of neurons (used by
the memories and by the readers of patterns to store), and hidden layer widths (an integer or
a multiple of N, ``0.5n``; several: :func:`hidden_layer_widths`, :func:`resolve_hidden`).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from xbarmem.errors import ConfigError, XbarmemError

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.values import MAX_COUNT
from xbarmem.checks.words import shown


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
    """One hidden layer's width ``value`` in the words every entry point takes (``--hidden``, a
    sweep's ``hidden``, the API's ``hidden=``): an integer H >= 1 (``32``, ``"32"``: ``("fixed",
    H)``) or a multiple of N (``"1n"``, ``"0.5n"``, any case, spaces around ignored: ``("ratio",
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
    """The hidden width ``R N`` for a multiple ``R`` (``ratio``) of N (``n_neurons``; ``"0.5n"``):
    rounded to the nearest integer (halves to the even one), at least 1. The one rule of every entry
    point."""
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
    """``hidden`` as results record it, for ``n_neurons`` neurons (``name`` names the argument in
    errors): the widths :func:`hidden_layer_widths` trains, one width as an integer (``"1n"`` -> N),
    a list as a list (``["1n", 8]`` -> ``[N, 8]``)."""
    widths = hidden_layer_widths(hidden, n_neurons, name)
    return widths[0] if isinstance(hidden, numbers.Integral | str) else widths
