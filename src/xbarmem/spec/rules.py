"""The rules a spec field declares (:class:`Rule` and its kinds: numbers, choices, texts,
flags, tables, lists, alternatives, optional values) and the field helpers that attach one
(:func:`number`, :func:`integer`, :func:`choice`, ...)."""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Callable, Sequence
from dataclasses import MISSING
from typing import TYPE_CHECKING, Any

from xbarmem.checks import (
    MAX_COUNT,
    as_written,
    check_each_once,
    choice_key,
    finite,
    is_number,
    shown,
)
from xbarmem.errors import ConfigError
from xbarmem.names import own_name_problem

if TYPE_CHECKING:
    from xbarmem.spec.base import Spec

#: the key of a field's declared rule, help and meta data in its dataclass metadata
_META = "xbarmem.spec"


# --------------------------------------------------------------------------- rules
class Rule:
    """A constraint on one value: ``rule(value, key)`` returns the (possibly converted) value or
    raises ``ConfigError("{key} must be {rule.what} ({rule.unit}), got {value!r}")``."""

    what = "a value"
    unit = ""

    @property
    def plural(self) -> str:
        """Text for a list of such values (``"numbers >= 0"``)."""
        return f"values that are {self.what}"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` follows the rule (no exception)."""
        return True

    def convert(self, value: Any) -> Any:
        """``value`` (accepted) as stored: e.g. a numpy scalar as a Python number."""
        return value

    def __call__(self, value: Any, key: str) -> Any:
        if not self.accepts(value):
            raise self.error(key, self.what, value)
        return self.convert(value)

    def error(self, key: str, what: str, value: Any) -> ConfigError:
        """The error for ``value`` of ``key``, which must be ``what`` (and in the unit)."""
        unit = f" ({self.unit})" if self.unit else ""
        return ConfigError(f"{key} must be {what}{unit}, got {shown(value)}")


class Number(Rule):
    """A real number (bools refused), finite, within optional bounds (``ge`` >=, ``gt`` >,
    ``le`` <=, ``lt`` <; ``None``: none); ``integer=True`` accepts
    integers only; ``as_float=True`` stores ints as floats; ``unit`` is shown in messages,
    help and TOML comments. Numpy scalars are taken and stored as the Python ``int`` /
    ``float`` of the same value (a Python int stays an int), a float32 or float16 one as the
    number written (:func:`~xbarmem.checks.as_written`: ``np.float32(0.05)`` is ``0.05``)."""

    def __init__(self, *, ge: float | None = None, gt: float | None = None,
                 le: float | None = None, lt: float | None = None, integer: bool = False,
                 as_float: bool = False, unit: str = "") -> None:
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt
        self.integer, self.as_float, self.unit = integer, as_float, unit
        self.noun = "integer" if integer else "number"
        low = f"[{ge}" if ge is not None else f"({gt}" if gt is not None else None
        high = f"{le}]" if le is not None else f"{lt})" if lt is not None else None
        if low and high:
            self.bounds = f" in {low}, {high}"
        else:
            self.bounds = "".join(f" {op} {b}" for op, b in (
                (">=", ge), (">", gt), ("<=", le), ("<", lt)) if b is not None)
        self.what = f"{'an' if integer else 'a'} {self.noun}{self.bounds}"

    @property
    def plural(self) -> str:
        """Text for a list of such values (``"numbers >= 0"``)."""
        return f"{self.noun}s{self.bounds}"

    def accepts(self, value: Any) -> bool:
        if not is_number(value) or (self.integer and not isinstance(value, numbers.Integral)):
            return False
        return finite(value) and all(test for test in (
            self.ge is None or value >= self.ge, self.gt is None or value > self.gt,
            self.le is None or value <= self.le, self.lt is None or value < self.lt))

    def convert(self, value: Any) -> Any:
        if self.integer or (isinstance(value, numbers.Integral) and not self.as_float):
            return int(value)
        value = as_written(value)  # (a numpy float32 / float16 number: the decimal written)
        return float(value) if self.as_float or type(value) is not float else value

    def __call__(self, value: Any, key: str) -> Any:
        if is_number(value) and not finite(value):  # NaN, inf, an integer of 309+ digits
            if isinstance(value, numbers.Integral):  # (no float holds it)
                bounded = self.le is not None or self.lt is not None
                raise self.error(key, self.bounds.lstrip() if bounded else
                                 f"at most {MAX_COUNT if self.integer else 1e308}", value)
            raise ConfigError(f"{key} must be finite, got {shown(value)}")
        if is_number(value) and not self.integer and not self.accepts(value):
            raise self.error(key, self.bounds.lstrip(), value)  # a number out of range
        if (self.integer and self.le is None and self.lt is None and self.accepts(value)
                and value > MAX_COUNT):  # a count so large that no run would end
            raise ConfigError(f"{key} must be at most {MAX_COUNT}, got {shown(value)}")
        return super().__call__(value, key)


class Choice(Rule):
    """One of fixed ``values`` (a sequence, or a function returning one, read at check
    time)."""

    def __init__(self, values: Sequence[Any] | Callable[[], Sequence[Any]]) -> None:
        self._values = values

    @property
    def values(self) -> tuple[Any, ...]:
        """The values allowed now."""
        return tuple(self._values() if callable(self._values) else self._values)

    @property
    def what(self) -> str:  # type: ignore[override]
        """The rule as text: ``one of 'a', 'b'``."""
        return f"one of {', '.join(map(repr, self.values))}"

    def accepts(self, value: Any) -> bool:
        return any(type(v) is type(value) and v == value for v in self.values) or (
            isinstance(value, str) and choice_key(value, self.values) is not None)

    def convert(self, value: Any) -> Any:
        """``value`` (accepted) as stored: a name in another case, or with ``_`` for ``-``, as
        the value it names (:func:`~xbarmem.checks.choice_key`: ``"Hebb"`` is ``"hebb"``)."""
        return choice_key(value, self.values) if isinstance(value, str) else value


class Text(Rule):
    """A string; ``nonempty=True`` also refuses blank ones."""

    def __init__(self, *, nonempty: bool = False) -> None:
        self.nonempty = nonempty
        self.what = "a non-empty string" if nonempty else "a string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (not self.nonempty or bool(value.strip()))


class Name(Text):
    """The name of a spec of one's own (a chip's, a circuit's): one line of printable text,
    not blank (:func:`~xbarmem.names.own_name_problem`). Titles, tables, records and file
    names print it; a name over two lines broke every one of them. The one check of a
    spec's name: its constructor, ``replace``, ``from_dict`` and the files read by
    :class:`~xbarmem.spec.presets.Presets` all go through it."""

    def __init__(self) -> None:
        super().__init__(nonempty=True)
        self.what = "one line of printable text"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and own_name_problem(value, (), "") is None


class Flag(Rule):
    """``True`` or ``False`` (no other value is taken as a truth value)."""

    what = "true or false"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class Table(Rule):
    """A table: a dict with string keys (TOML table, JSON object); its contents are free."""

    what = "a table (JSON object)"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)


class ListOf(Rule):
    """A list of ``item`` values (non-empty unless ``nonempty=False``); items are converted;
    ``distinct=True`` refuses a value listed twice (after conversion: 1 and 1.0 are one), as
    the command line's lists do (``ConfigError``: ``KEY lists 0.9 twice; give each value
    once``); ``unique_sorted=True`` refuses repeats too and returns the items sorted."""

    def __init__(self, item: Rule, *, nonempty: bool = True, unique_sorted: bool = False,
                 distinct: bool = False) -> None:
        self.item, self.nonempty, self.unique_sorted = item, nonempty, unique_sorted
        self.distinct = distinct or unique_sorted
        self.what = f"a{' non-empty' if nonempty else ''} list of {item.plural}"

    def __call__(self, value: Any, key: str) -> Any:
        if not self.accepts(value):
            raise self.error(key, self.what, value)
        items = [self.item.convert(v) for v in value]
        if self.distinct:
            check_each_once(items, key)
        return sorted(items) if self.unique_sorted else items

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, list) or not (value or not self.nonempty):
            return False
        if isinstance(self.item, Number) and value and set(map(type, value)) == {int}:
            # plain ints (a model's labels: millions): the bounds are an interval, so the
            # smallest and largest decide (each element alone took seconds)
            return self.item.accepts(min(value)) and self.item.accepts(max(value))
        return all(self.item.accepts(v) for v in value)

    def convert(self, value: Any) -> Any:
        items = [self.item.convert(v) for v in value]
        return sorted(set(items)) if self.unique_sorted else items


class AnyOf(Rule):
    """The first of several ``rules`` that accepts the value (converted by that rule)."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules
        self.what = " or ".join(r.what for r in rules)

    def accepts(self, value: Any) -> bool:
        return any(r.accepts(value) for r in self.rules)

    def convert(self, value: Any) -> Any:
        return next(r for r in self.rules if r.accepts(value)).convert(value)

    def __call__(self, value: Any, key: str) -> Any:
        """The first accepting rule's own check (a list's repeats), else this rule's error."""
        rule = next((r for r in self.rules if r.accepts(value)), None)
        if rule is None:
            raise self.error(key, self.what, value)
        return rule(value, key)


class Maybe(Rule):
    """``None`` or a value of ``rule`` (for options resolved later when not given)."""

    def __init__(self, rule: Rule) -> None:
        self.rule, self.unit = rule, rule.unit

    @property
    def what(self) -> str:  # type: ignore[override]
        """The inner rule's text."""
        return self.rule.what  # read when needed: a Choice may list its values lazily

    def accepts(self, value: Any) -> bool:
        return value is None or self.rule.accepts(value)

    def convert(self, value: Any) -> Any:
        return None if value is None else self.rule.convert(value)

    def __call__(self, value: Any, key: str) -> Any:
        return None if value is None else self.rule(value, key)


# --------------------------------------------------------------------------- field helpers
def option(rule: Rule, default: Any = MISSING, *, help: str = "", unit: str = "",
           optional: bool = False, meta: dict[str, Any] | None = None) -> Any:
    """A dataclass field checked by ``rule``. No ``default``: the field is required. ``help``:
    the field's help text (``--help``, docs).
    ``unit`` sets the rule's unit; ``optional=True`` also accepts ``None``; ``meta`` is free data
    shown in :class:`FieldInfo` (e.g. which trials an option applies to). Mutable defaults
    (lists, dicts) are copied per instance."""
    if unit:
        rule = copy.copy(rule)
        rule.unit = unit
    info = {"rule": Maybe(rule) if optional else rule, "help": help, "meta": dict(meta or {})}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default),
                                 metadata={_META: info})
    return dataclasses.field(default=default, metadata={_META: info})


def number(default: Any = MISSING, *, ge: float | None = None, gt: float | None = None,
           le: float | None = None, lt: float | None = None, as_float: bool = False,
           **kw: Any) -> Any:
    """A finite real-number field with the bounds ``ge``, ``gt``, ``le``, ``lt`` and
    ``as_float`` of :class:`Number`; ``default`` and ``**kw`` as :func:`option`."""
    return option(Number(ge=ge, gt=gt, le=le, lt=lt, as_float=as_float), default, **kw)


def integer(default: Any = MISSING, *, ge: int | None = None, le: int | None = None,
            **kw: Any) -> Any:
    """An integer field (Python ``int``, bools refused) within ``ge`` / ``le``; ``default``
    and ``**kw`` as :func:`option`."""
    return option(Number(ge=ge, le=le, integer=True), default, **kw)


def choice(values: Sequence[Any] | Callable[[], Sequence[Any]], default: Any = MISSING,
           **kw: Any) -> Any:
    """A field taking one of ``values``; ``default`` and ``**kw`` as :func:`option`."""
    return option(Choice(values), default, **kw)


def flag(default: Any = MISSING, **kw: Any) -> Any:
    """A boolean field; ``default`` and ``**kw`` as :func:`option`."""
    return option(Flag(), default, **kw)


def text(default: Any = MISSING, *, nonempty: bool = False, **kw: Any) -> Any:
    """A string field (``nonempty`` as :class:`Text`); ``default`` and ``**kw`` as
    :func:`option`."""
    return option(Text(nonempty=nonempty), default, **kw)


def listof(item: Rule, default: Any = MISSING, *, nonempty: bool = True,
           unique_sorted: bool = False, **kw: Any) -> Any:
    """A list field whose items follow ``item`` (``nonempty``, ``unique_sorted`` as
    :class:`ListOf`); ``default`` and ``**kw`` as :func:`option`."""
    return option(ListOf(item, nonempty=nonempty, unique_sorted=unique_sorted), default, **kw)


def nested(cls: type[Spec], *, required: bool = False, help: str = "") -> Any:
    """A field holding another spec (a TOML table); default ``cls()`` unless ``required``;
    ``help`` as :func:`option`.
    (Same as annotating the field with ``cls`` and giving ``default_factory=cls`` or none.)"""
    info = {"help": help, "meta": {}}
    if required:
        return dataclasses.field(metadata={_META: info})
    return dataclasses.field(default_factory=cls, metadata={_META: info})
