"""Scaling's hidden width rule (:class:`HiddenRule`), without torch: the command line resolves
widths, and sizes a request, before it loads the search (re-exported by
:mod:`xbarmem.evaluation.scaling`)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from xbarmem.checks import MAX_COUNT, check_neurons, checked_keywords, is_choice, shown
from xbarmem.errors import ConfigError


@checked_keywords
@dataclass(frozen=True)
class HiddenRule:
    """How the hidden width follows N: ``kind`` ``"fixed"`` with ``value`` H (H for every N)
    or ``"ratio"`` with ``value`` R (``H = round(R * N)``, at least 1); written ``fixed:H``
    or ``ratio:R`` (:meth:`parse`). :class:`ConfigError` for another kind or value."""

    kind: str
    value: float

    def __post_init__(self) -> None:
        """Refuse (:class:`ConfigError`) a rule :meth:`parse` would refuse: an unknown kind, a
        value that is not > 0, a fixed width that is not an integer."""
        if not (is_choice(self.kind, ("fixed", "ratio")) and isinstance(self.value, numbers.Real)
                and not isinstance(self.value, bool) and 0 < self.value <= MAX_COUNT and (
                    self.kind == "ratio" or self.value == int(self.value))):
            raise ConfigError(f"hidden rule must be fixed with an integer width > 0 or ratio "
                              f"with a factor > 0, got HiddenRule({shown(self.kind)}, "
                              f"{shown(self.value)})")

    @classmethod
    def parse(cls, text: str | int) -> HiddenRule:
        """The rule written as ``text``: ``"fixed:H"`` (integer H > 0), ``"ratio:R"`` (R > 0),
        or an integer H (``fixed:H``); :class:`ConfigError` otherwise."""
        if isinstance(text, bool) or not isinstance(text, str | numbers.Integral):
            raise ConfigError(f"hidden rule must be 'fixed:H' (integer H > 0), 'ratio:R' "
                              f"(R > 0) or an integer, got {shown(text)}")
        if isinstance(text, numbers.Integral) or str(text).isdigit():
            return cls("fixed", float(int(text)))
        kind, _, value = str(text).partition(":")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not is_choice(kind, ("fixed", "ratio")) or not number > 0 or (
                kind == "fixed" and number != int(number)):
            raise ConfigError(f"hidden rule must be 'fixed:H' (integer H > 0), 'ratio:R' "
                              f"(R > 0) or an integer, got {shown(text)}")
        return cls(kind, number)

    def width(self, n: int) -> int:
        """The hidden width for ``n`` neurons (an integer >= 1; ``ratio``: ``R * n`` rounded
        to the nearest integer, halves to the even one)."""
        check_neurons(n, "n")
        return int(self.value) if self.kind == "fixed" else max(1, round(self.value * n))

    def __str__(self) -> str:
        return f"{self.kind}:{int(self.value) if self.kind == 'fixed' else self.value:g}"
