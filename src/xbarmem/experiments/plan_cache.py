"""What one sweep's planning makes once for its many trials: the canonical JSON texts of
their resolved configurations, and the checks of the option values they share.

A sweep's planning writes each trial's configuration as JSON several times: for its store key
(:func:`~xbarmem.experiments.resolve.trial_key`), for the networks it trains
(:func:`~xbarmem.experiments.batches.train_key`) and for what may train beside them
(:func:`~xbarmem.experiments.batches.batch_key`). A :class:`PlanCache` gives the same texts,
character for character, for the trials of one planning: each text of a configuration is made
once, and a nested table that many trials hold as one object (the ``chip_spec`` and
``rule_options`` a trial's resolution returns are shared by the trials planned alike) is
written once and joined to the rest of each configuration's text. The configurations must not
change while one :class:`PlanCache` is in use (they are told apart by identity). So does
each option value the trials share (one object of the sweep's tables): it is checked once
(:func:`~xbarmem.experiments.resolve.resolve`). Imports nothing heavy (no torch).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

#: the encoders of :func:`canonical`: compact (a store key's text) and spaced
_ENCODERS = {True: json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False),
             False: json.JSONEncoder(sort_keys=True)}


class _Slot:
    """Where a configuration's ``n``-th nested table goes in its text (:meth:`PlanCache.text`):
    written as the text ``"\\u0000n\\u0000"``, then replaced by the table's text."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


def _slot_text(obj: Any) -> str:
    if type(obj) is _Slot:
        return f"\x00{obj.n}\x00"
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


#: the texts of the first slots in a configuration's text
_MARKS = [json.dumps(f"\x00{n}\x00") for n in range(8)]
#: :data:`_ENCODERS` writing a :class:`_Slot` as its text
_SLOTTED = {True: json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False,
                                   default=_slot_text),
            False: json.JSONEncoder(sort_keys=True, default=_slot_text)}


def canonical(value: Any, compact: bool = False) -> str:
    """``value`` as ``json.dumps`` writes it with sorted keys: compact (``","`` and ``":"``,
    NaN and infinities refused with a ``ValueError``: a store key's text) or spaced (its
    default separators)."""
    return _ENCODERS[compact].encode(value)


class PlanCache:
    """What one planning makes once (see the module docstring): the texts of its
    configurations, each :func:`canonical` of a configuration without some of its keys, made
    once per configuration object and kind, and whatever else :meth:`once` is given."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, str], tuple[Any, Any]] = {}
        self._texts: dict[str, str] = {}  # (one object per text: trials alike share it)

    def once(self, obj: Any, kind: str, make: Callable[[Any], Any]) -> Any:
        """``make(obj)``, made once per object ``obj`` (told apart by identity, and held, so
        that no other object takes its place) and ``kind`` (a name of what ``make`` makes)."""
        slot = (id(obj), kind)
        held = self._made.get(slot)
        if held is None or held[0] is not obj:
            made = make(obj)
            if type(made) is str:
                made = self._texts.setdefault(made, made)
            held = self._made[slot] = (obj, made)
        return held[1]

    def text(self, config: dict[str, Any], drop: Collection[str] = (),
             compact: bool = False) -> str:
        """:func:`canonical` of ``config`` (a dict) without the keys in ``drop``, its nested
        tables written once per object (:meth:`once`) into the text of the rest (where a
        slot's text is not found exactly once, the whole is written again)."""
        tables: list[dict[str, Any]] = []
        shown: dict[Any, Any] = {}
        for key, value in config.items():
            if key in drop:
                continue
            if type(value) is dict and value:
                shown[key] = _Slot(len(tables))
                tables.append(value)
            else:
                shown[key] = value
        text = _SLOTTED[compact].encode(shown)
        kind = "compact" if compact else "spaced"
        for n, table in enumerate(tables):
            mark = _MARKS[n] if n < len(_MARKS) else json.dumps(f"\x00{n}\x00")
            if text.count(mark) != 1:  # (a text of the configuration holds it too)
                return canonical({k: v for k, v in config.items() if k not in drop}, compact)
            text = text.replace(mark, self.once(table, kind, lambda v: canonical(v, compact)))
        return text
