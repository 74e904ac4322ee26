"""Scaling's hidden width rule (:class:`HiddenRule`, one per hidden layer: :func:`hidden_layers`),
without torch: the command line resolves widths, and sizes a request, before it loads the search
(re-exported by :mod:`xbarmem.evaluation.scaling`)."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xbarmem.checks import (
    MAX_COUNT,
    as_written,
    check_neurons,
    checked_keywords,
    hidden_word,
    is_choice,
    ratio_width,
    shown,
)
from xbarmem.errors import ConfigError


@checked_keywords
@dataclass(frozen=True)
class HiddenRule:
    """How the hidden width follows N: ``kind`` ``"fixed"`` with ``value`` H (H for every N)
    or ``"ratio"`` with ``value`` R (``H = round(R * N)``, at least 1); written as the command
    line's ``--hidden`` (``32``, ``1n``, ``0.5n``) or ``fixed:H`` / ``ratio:R`` (:meth:`parse`;
    ``str()`` and results use the latter). :class:`ConfigError` for another kind or value."""

    kind: str
    value: float

    def __post_init__(self) -> None:
        """Refuse (:class:`ConfigError`) a rule :meth:`parse` would refuse: an unknown kind, a
        value that is not > 0, a fixed width that is not an integer."""
        object.__setattr__(self, "value", as_written(self.value))  # (a float32: its decimal)
        if not (is_choice(self.kind, ("fixed", "ratio")) and isinstance(self.value, numbers.Real)
                and not isinstance(self.value, bool) and 0 < self.value <= MAX_COUNT and (
                    self.kind == "ratio" or self.value == int(self.value))):
            raise ConfigError(f"hidden rule must be fixed with an integer width > 0 or ratio "
                              f"with a factor > 0, got HiddenRule({shown(self.kind)}, "
                              f"{shown(self.value)})")

    @classmethod
    def parse(cls, text: str | int) -> HiddenRule:
        """The rule written as ``text``, in the command line's words: an integer H (``32``,
        ``"32"``: ``fixed:H``) or a multiple of N (``"1n"``, ``"0.5n"``: ``ratio:R``); or as
        ``str()`` writes it, ``"fixed:H"`` (integer H > 0) or ``"ratio:R"`` (R > 0).
        :class:`ConfigError` otherwise."""
        bad = ConfigError(f"hidden rule must be a width H (an integer > 0, e.g. 32), a multiple "
                          f"of N (R > 0, e.g. '1n' or '0.5n'), 'fixed:H' or 'ratio:R', got "
                          f"{shown(text)}")
        if isinstance(text, bool) or not isinstance(text, str | numbers.Integral):
            raise bad
        if isinstance(text, numbers.Integral) or str(text).isdigit():
            kind, number = "fixed", float(int(text))
        else:
            kind, number = cls._parts(str(text))
        try:  # (bounds: as the rule checks them, in the words it was written in)
            return cls(kind, number)
        except ConfigError:
            raise bad from None

    @staticmethod
    def _parts(text: str) -> tuple[str, float]:
        """``(kind, value)`` written as ``fixed:H``, ``ratio:R`` or ``Rn``; ``("", nan)`` when
        ``text`` is none of them."""
        kind, colon, value = text.partition(":")
        if not colon and kind.endswith("n"):  # the command line's Rn
            kind, value = "ratio", kind[:-1]
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not is_choice(kind, ("fixed", "ratio")) or not math.isfinite(number):
            return "", math.nan
        return kind, number

    @classmethod
    def word(cls, text: str | int) -> HiddenRule:
        """One layer's width ``text`` in the command line's words (``--hidden``, a sweep's
        ``hidden``): an integer H >= 1 (``32``, ``"32"``: ``fixed:H``) or a multiple of N
        (``"1n"``, ``"0.5n"``, any case, spaces around ignored: ``ratio:R``).
        :class:`ConfigError` otherwise (the ``fixed:H`` / ``ratio:R`` spellings too)."""
        return cls(*hidden_word(text))

    def width(self, n: int) -> int:
        """The hidden width for ``n`` neurons (an integer >= 1; ``ratio``: ``R * n`` rounded
        to the nearest integer, halves to the even one)."""
        check_neurons(n, "n")
        return int(self.value) if self.kind == "fixed" else ratio_width(self.value, n)

    @property
    def value_text(self) -> str:
        """``value`` as :meth:`__str__` and file names write it: H, or R in the fewest digits
        that read back as R (``0.5``; ``0.3333337``, which six digits would make
        ``0.333334``, a rule of other widths)."""
        if self.kind == "fixed":
            return str(int(self.value))
        short = f"{self.value:g}"
        return short if float(short) == self.value else repr(float(self.value))

    @property
    def word_text(self) -> str:
        """The rule in the command line's words, which :meth:`word` reads back as this rule:
        ``32``, ``1n``, ``0.5n``."""
        return self.value_text + ("n" if self.kind == "ratio" else "")

    def __str__(self) -> str:
        """``fixed:H`` or ``ratio:R``, which :meth:`parse` reads back as this rule."""
        return f"{self.kind}:{self.value_text}"


#: what :func:`hidden_layers` reads: one rule, ``"64-32"`` / ``"1n-0.5n"``, or a list of rules
HiddenLayers = str | int | HiddenRule | Sequence[str | int | HiddenRule]


def layer_words(text: str) -> list[str]:
    """The layers of one architecture's widths ``text`` (``"64-32"``, ``"1n-0.5n"``), split at
    each ``-`` but an exponent's (``"1e-05n-8"``: ``["1e-05n", "8"]``); an empty layer
    (``"1n-"``, ``"1n--2"``) is an empty word, for the reader to refuse."""
    return re.split(r"(?<![eE])-", text)


def hidden_layers(hidden: Any) -> tuple[HiddenRule, ...]:
    """The rules of a scaling run's hidden layers, first layer first: one rule (a
    :class:`HiddenRule`, or anything :meth:`HiddenRule.parse` reads: ``32``, ``"1n"``,
    ``"fixed:32"``), several in the command line's words joined by ``-`` (``"64-32"``,
    ``"1n-0.5n"``, ``"1n-16"``: as :func:`layers_text` writes them; ``fixed:H`` / ``ratio:R``
    name one layer only, as in ``--hidden``), or a list or tuple (or
    1-D integer array) of one rule per layer (``["1n", 16]``). :class:`ConfigError` for
    anything else: an empty list, an empty layer (``"1n-"``, ``"1n--2"``), a width that is not
    > 0 or not a whole number."""
    if isinstance(hidden, HiddenRule):
        return (hidden,)
    if isinstance(hidden, str) and len(layer_words(hidden)) > 1:
        return _joined(hidden)
    if isinstance(hidden, str | numbers.Integral) or not isinstance(hidden, Iterable) or (
            getattr(hidden, "ndim", 1) != 1):
        return (HiddenRule.parse(hidden),)  # (one layer: refused in the words it had)
    to_list = getattr(hidden, "tolist", None)
    words = to_list() if callable(to_list) else list(hidden)
    if not words:
        raise ConfigError(f"hidden must name at least one hidden layer, got {shown(hidden)}")
    try:
        return tuple(w if isinstance(w, HiddenRule) else HiddenRule.parse(w) for w in words)
    except ConfigError:
        raise _not_layers(hidden) from None


def _joined(text: str) -> tuple[HiddenRule, ...]:
    """Several layers joined by ``-``, each in the command line's words (:meth:`HiddenRule.word`,
    as ``--hidden`` reads them: ``fixed:H`` / ``ratio:R`` name one layer only)."""
    try:
        return tuple(HiddenRule.word(w) for w in layer_words(text))
    except ConfigError:
        raise _not_layers(text) from None


def _not_layers(hidden: Any) -> ConfigError:
    """The error for ``hidden`` that names no hidden layers."""
    return ConfigError(f"hidden must be hidden widths, each an integer H >= 1 or a multiple "
                       f"of N ('1n', '0.5n'), several joined by '-' ('1n-0.5n') or listed "
                       f"(['1n', '0.5n']), got {shown(hidden)}")


def layers_text(rules: Sequence[HiddenRule]) -> str:
    """How results write the hidden layers ``rules`` (:func:`hidden_layers` reads it back):
    one layer as ``fixed:H`` / ``ratio:R`` (``str()`` of its rule), several in the command
    line's words joined by ``-`` (``64-32``, ``1n-0.5n``)."""
    if len(rules) == 1:
        return str(rules[0])
    return "-".join(rule.word_text for rule in rules)


def layers_width(rules: Sequence[HiddenRule], n: int) -> int | list[int]:
    """The hidden widths of ``rules`` for ``n`` neurons as results record them: one layer's
    width as an integer, several as a list (first layer first)."""
    widths = [rule.width(n) for rule in rules]
    return widths[0] if len(widths) == 1 else widths
