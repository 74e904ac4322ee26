"""Validated specs: dataclasses whose fields declare their constraints once.

A spec is a dataclass deriving from :class:`Spec`. A field's rule is declared either in its type,
``Annotated[T, rule]`` with a :class:`Rule` (reads best for reusable types such as units), or with
a field helper (:func:`number`, :func:`integer`, :func:`choice`, :func:`flag`, :func:`text`,
:func:`listof`, :func:`option` for any rule; they also take ``help``, ``optional`` and ``meta``).
A field typed with another :class:`Spec` subclass is a nested table (required when it has no
default; the nested class declares ``section=`` the field's dotted key). A field's help is the
``help`` given to its helper, else its entry in the class docstring's ``Attributes:`` section::

    Siemens = Annotated[float, Number(ge=0.0, unit="S")]

    @dataclass(frozen=True)
    class DeviceSpec(Spec, section="device", noun="chip"):
        '''One device.

        Attributes:
            g_min: lowest programmable conductance (its help text).
        '''

        g_min: Siemens = 2e-6
        g_max: Siemens = 150e-6
        levels: int = integer(default=0, ge=0, help="programmable levels, 0 = continuous")

        def validate(self) -> None:          # optional: rules involving several fields
            if self.g_min >= self.g_max:
                raise ConfigError("device.g_min must be below device.g_max")

    @dataclass(frozen=True)
    class ChipSpec(Spec, noun="chip"):
        name: Annotated[str, Text()] = "custom"
        device: DeviceSpec = field(default_factory=DeviceSpec)

Contracts:

* Construction validates every field (then :meth:`Spec.validate`; a subclass defining its own
  ``__post_init__`` must call ``super().__post_init__()``) and raises
  :class:`~xbarmem.errors.ConfigError` naming the dotted key: ``device.g_min must be
  >= 0.0 (S), got -1``. ``section`` is the key prefix of the class's fields; ``noun`` names the
  kind of description in unknown/missing-key messages (``unknown chip key device.gmin``).
  A field with neither an ``Annotated`` rule nor a helper takes any value. Field types are
  resolved in the class's module: declare specs at module level.
* Values are stored as given (an int stays an int in a float field) unless the rule converts
  (``as_float=True``; lists with ``unique_sorted``): ``to_dict`` output is hashed by callers,
  so validation never changes a value otherwise.
* ``from_dict(to_dict())``, ``from_toml(to_toml())`` and ``from_json(to_json())`` give back an
  equal spec (TOML has no null: a ``None`` value is left out and read back as the default).
  ``to_dict`` lists plain fields first, then nested specs, each in declaration order.
  ``from_dict`` refuses unknown and missing keys naming them.
* :meth:`Spec.spec_fields` lists every field (nested ones with dotted keys) with its help, unit,
  rule text and default, for ``--help`` texts.
* :class:`Presets` loads "a preset name or a TOML file" for any spec with a ``name`` field.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import json
import math
import numbers
import re
import tomllib
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import tomli_w

from xbarmem.checks import (
    MAX_COUNT,
    check_seed,  # re-exported: the seed rule of every Spec user
    is_choice,
    shown,
    unknown_argument,
)
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.files import missing, parse_text, read_text

__all__ = ["AnyOf", "Choice", "FieldInfo", "Flag", "ListOf", "Maybe", "Number", "Presets", "Rule",
           "Spec", "Table", "Text", "choice", "flag", "integer", "listof", "nested", "number",
           "check_seed", "option", "text", "unknown_key"]

S = TypeVar("S", bound="Spec")
_TOML_EXPAND = 20.0
_META = "xbarmem.spec"
_INFOS: dict[type, list[FieldInfo]] = {}


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
        return True

    def convert(self, value: Any) -> Any:
        return value

    def __call__(self, value: Any, key: str) -> Any:
        if not self.accepts(value):
            raise self.error(key, self.what, value)
        return self.convert(value)

    def error(self, key: str, what: str, value: Any) -> ConfigError:
        unit = f" ({self.unit})" if self.unit else ""
        return ConfigError(f"{key} must be {what}{unit}, got {shown(value)}")


def _is_number(value: Any) -> bool:
    """A real number: Python or numpy (``np.int64(3)``, ``np.float32(0.1)``), bools refused."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and type(value).__name__ != "bool_")


class Number(Rule):
    """A real number (bools refused), finite, within optional bounds; ``integer=True`` accepts
    integers only; ``as_float=True`` stores ints as floats; ``unit`` is shown in messages,
    help and TOML comments. Numpy scalars are taken and stored as the Python ``int`` /
    ``float`` of the same value (a Python int stays an int)."""

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
        return f"{self.noun}s{self.bounds}"

    def accepts(self, value: Any) -> bool:
        if not _is_number(value) or (self.integer and not isinstance(value, numbers.Integral)):
            return False
        return math.isfinite(value) and all(test for test in (
            self.ge is None or value >= self.ge, self.gt is None or value > self.gt,
            self.le is None or value <= self.le, self.lt is None or value < self.lt))

    def convert(self, value: Any) -> Any:
        if self.integer or (isinstance(value, numbers.Integral) and not self.as_float):
            return int(value)
        return float(value) if self.as_float or type(value) is not float else value

    def __call__(self, value: Any, key: str) -> Any:
        if _is_number(value) and not math.isfinite(value):
            raise ConfigError(f"{key} must be finite, got {shown(value)}")
        if _is_number(value) and not self.integer and not self.accepts(value):
            raise self.error(key, self.bounds.lstrip(), value)  # a number out of range
        if (self.integer and self.le is None and self.lt is None and self.accepts(value)
                and value > MAX_COUNT):  # a count so large that no run would end
            raise ConfigError(f"{key} must be at most {MAX_COUNT}, got {value}")
        return super().__call__(value, key)


class Choice(Rule):
    """One of fixed values (a sequence, or a function returning one, read at check time)."""

    def __init__(self, values: Sequence[Any] | Callable[[], Sequence[Any]]) -> None:
        self._values = values

    @property
    def values(self) -> tuple[Any, ...]:
        return tuple(self._values() if callable(self._values) else self._values)

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"one of {', '.join(map(repr, self.values))}"

    def accepts(self, value: Any) -> bool:
        return any(type(v) is type(value) and v == value for v in self.values)


class Text(Rule):
    """A string; ``nonempty=True`` also refuses blank ones."""

    def __init__(self, *, nonempty: bool = False) -> None:
        self.nonempty = nonempty
        self.what = "a non-empty string" if nonempty else "a string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (not self.nonempty or bool(value.strip()))


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
    ``unique_sorted=True`` returns them sorted without repeats."""

    def __init__(self, item: Rule, *, nonempty: bool = True, unique_sorted: bool = False) -> None:
        self.item, self.nonempty, self.unique_sorted = item, nonempty, unique_sorted
        self.what = f"a{' non-empty' if nonempty else ''} list of {item.plural}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and (bool(value) or not self.nonempty) and all(
            self.item.accepts(v) for v in value)

    def convert(self, value: Any) -> Any:
        items = [self.item.convert(v) for v in value]
        return sorted(set(items)) if self.unique_sorted else items


class AnyOf(Rule):
    """The first of several rules that accepts the value (converted by that rule)."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules
        self.what = " or ".join(r.what for r in rules)

    def accepts(self, value: Any) -> bool:
        return any(r.accepts(value) for r in self.rules)

    def convert(self, value: Any) -> Any:
        return next(r for r in self.rules if r.accepts(value)).convert(value)


class Maybe(Rule):
    """``None`` or a value of ``rule`` (for options resolved later when not given)."""

    def __init__(self, rule: Rule) -> None:
        self.rule, self.unit = rule, rule.unit

    @property
    def what(self) -> str:  # type: ignore[override]
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
    """A dataclass field checked by ``rule``. No ``default``: the field is required.
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
    """A finite real-number field (see :class:`Number`); ``kw`` as :func:`option`."""
    return option(Number(ge=ge, gt=gt, le=le, lt=lt, as_float=as_float), default, **kw)


def integer(default: Any = MISSING, *, ge: int | None = None, le: int | None = None,
            **kw: Any) -> Any:
    """An integer field (Python ``int``, bools refused); ``kw`` as :func:`option`."""
    return option(Number(ge=ge, le=le, integer=True), default, **kw)


def choice(values: Sequence[Any] | Callable[[], Sequence[Any]], default: Any = MISSING,
           **kw: Any) -> Any:
    """A field taking one of ``values``; ``kw`` as :func:`option`."""
    return option(Choice(values), default, **kw)


def flag(default: Any = MISSING, **kw: Any) -> Any:
    """A boolean field; ``kw`` as :func:`option`."""
    return option(Flag(), default, **kw)


def text(default: Any = MISSING, *, nonempty: bool = False, **kw: Any) -> Any:
    """A string field; ``kw`` as :func:`option`."""
    return option(Text(nonempty=nonempty), default, **kw)


def listof(item: Rule, default: Any = MISSING, *, nonempty: bool = True,
           unique_sorted: bool = False, **kw: Any) -> Any:
    """A list field whose items follow ``item`` (see :class:`ListOf`)."""
    return option(ListOf(item, nonempty=nonempty, unique_sorted=unique_sorted), default, **kw)


def nested(cls: type[Spec], *, required: bool = False, help: str = "") -> Any:
    """A field holding another spec (a TOML table); default ``cls()`` unless ``required``.
    (Same as annotating the field with ``cls`` and giving ``default_factory=cls`` or none.)"""
    info = {"help": help, "meta": {}}
    if required:
        return dataclasses.field(metadata={_META: info})
    return dataclasses.field(default_factory=cls, metadata={_META: info})


@dataclass(frozen=True)
class FieldInfo:
    """One declared field: dotted ``key``, ``help``, ``rule`` (``None`` for a nested spec),
    ``nested`` spec class, ``required``, free ``meta`` data, the ``default`` and the ``unit``."""

    key: str
    help: str
    rule: Rule | None
    nested: type[Spec] | None
    required: bool
    meta: dict[str, Any]
    field: dataclasses.Field

    @property
    def unit(self) -> str:
        """Unit of the value (``""`` if none)."""
        return self.rule.unit if self.rule is not None else ""

    @property
    def what(self) -> str:
        """The rule as text (``"a number >= 0.0"``; a nested spec: ``"a table"``)."""
        return self.rule.what if self.rule is not None else "a table"

    @property
    def default(self) -> Any:
        """The default value (a fresh copy for mutable ones); ``None`` when required."""
        if self.field.default_factory is not MISSING:
            return self.field.default_factory()
        return None if self.field.default is MISSING else self.field.default

    def check(self, value: Any, key: str | None = None) -> Any:
        """``value`` validated (and converted) for this field; errors name ``key``
        (default: the field's dotted key)."""
        if self.rule is None:
            raise ConfigError(f"{key or self.key}: a nested spec is checked by its class")
        return self.rule(value, key or self.key)


#: the longest list of dotted keys an unknown-key message spells out key by key (characters)
_LISTED = 200


def unknown_key(noun: str, key: Any, allowed: Sequence[str]) -> ConfigError:
    """The error for an unknown key: names it (a key that is no text by its type), lists
    ``allowed`` compactly (:func:`_allowed_text`) and the closest match."""
    if not isinstance(key, str):
        return ConfigError(f"a {noun} key must be a text, got {shown(key)}")
    shown_key = key if len(key) <= 80 else f"{key[:40]}... ({len(key)} characters)"
    if not allowed:
        return ConfigError(f"unknown {noun} key {shown_key} (it takes no keys)")
    close = difflib.get_close_matches(key[:200], list(allowed), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ConfigError(f"unknown {noun} key {shown_key} (allowed: "
                       f"{_allowed_text(key, allowed)}){hint}")


def _allowed_text(key: str, allowed: Sequence[str]) -> str:
    """``allowed`` as text: whole when short or when no key has a section (a flat list of
    options is what the user needs to read); else the keys of ``key``'s own section (dotted
    keys, as ``section.{a, b}``) and the other sections as ``section.*``."""
    text = ", ".join(allowed)
    if len(text) <= _LISTED or not any("." in a for a in allowed):
        return text
    section = key.rpartition(".")[0]
    same = [a for a in allowed if a.rpartition(".")[0] == section]
    if section and same:  # sensing.{adc_bits, adc_energy}
        same = [f"{section}.{{{', '.join(a.rpartition('.')[2] for a in same)}}}"]
    elif not section:  # a key without a section: the keys without one, then the sections
        same = [a for a in allowed if "." not in a]
    others = list(dict.fromkeys(f"{a.rpartition('.')[0]}.*" for a in allowed
                                if "." in a and a.rpartition(".")[0] != section))
    return ", ".join([*same, *others])


# --------------------------------------------------------------------------- the base class
class Spec:
    """Base of validated dataclass specs (see the module docstring for how to declare one).

    Class keywords: ``section`` -- key prefix of this class's fields in messages (``"device"``
    gives ``device.g_min``); ``noun`` -- what the description is called in unknown/missing-key
    messages (``"chip"``). Both are inherited."""

    _section: ClassVar[str] = ""
    _noun: ClassVar[str] = "config"

    def __init_subclass__(cls, *, section: str | None = None, noun: str | None = None,
                          **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if section is not None:
            cls._section = section
        if noun is not None:
            cls._noun = noun

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Refuse an unknown keyword argument of the constructor
        (:func:`~xbarmem.checks.unknown_argument`: an ``ArgumentError`` naming the closest
        field) before the generated ``__init__`` raises a bare ``TypeError``."""
        if kwargs:
            names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
            for key in kwargs:
                if key not in names:
                    raise unknown_argument(f"{cls.__name__}()", key, names)
        return super().__new__(cls)

    @classmethod
    def _key(cls, name: str) -> str:
        return f"{cls._section}.{name}" if cls._section else name

    @classmethod
    def _infos(cls) -> list[FieldInfo]:
        """The init fields with their rules (see the module docstring), computed once."""
        if cls not in _INFOS:
            try:
                hints = typing.get_type_hints(cls, include_extras=True)
            except NameError as exc:
                raise TypeError(f"{cls.__name__}: field types must resolve in its module "
                                f"(declare specs at module level): {exc}") from None
            docs = _attribute_docs(cls)
            _INFOS[cls] = [_info(cls._key(f.name), f, hints.get(f.name), docs.get(f.name, ""))
                           for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        return _INFOS[cls]

    @classmethod
    def spec_fields(cls) -> dict[str, FieldInfo]:
        """Every declared field by dotted key, nested specs' fields included (after the
        nested field itself), in declaration order."""
        out: dict[str, FieldInfo] = {}
        for info in cls._infos():
            out[info.key] = info
            if info.nested is not None:
                out.update(info.nested.spec_fields())
        return out

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        for info in self._infos():
            name = info.field.name
            value = getattr(self, name)
            if info.nested is not None:
                if not isinstance(value, info.nested):
                    raise ConfigError(f"{info.key} must be a {info.nested.__name__}, "
                                      f"got {shown(value)}")
                continue
            checked = info.check(value)
            if checked is not value:
                object.__setattr__(self, name, checked)
        self.validate()

    def validate(self) -> None:
        """Rules involving several fields; raise :class:`ConfigError` naming the keys.
        Called after every field is checked. Default: none."""

    def replace(self: S, **changes: Any) -> S:
        """Copy with some fields changed (validated); unknown names raise ConfigError."""
        names = [i.field.name for i in self._infos()]
        for name in changes:
            if name not in names:
                raise unknown_key(self._noun, self._key(name), [self._key(n) for n in names])
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    # ------------------------------------------------------------------ dict / TOML / JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (TOML/JSON-able): plain fields first, then nested specs' tables."""
        infos = self._infos()
        out = {i.field.name: copy.deepcopy(getattr(self, i.field.name))
               for i in infos if i.nested is None}
        out.update({i.field.name: getattr(self, i.field.name).to_dict()
                    for i in infos if i.nested is not None})
        return out

    @classmethod
    def from_declared(cls: type[S], data: Any) -> S:
        """:meth:`from_dict` of the keys of ``data`` this spec declares, the others ignored
        (a file section that holds more than one reader checks)."""
        if not isinstance(data, dict):
            return cls.from_dict(data)  # (refused there, naming the spec)
        names = {i.field.name for i in cls._infos()}
        return cls.from_dict({k: v for k, v in data.items() if k in names})

    @classmethod
    def from_dict(cls: type[S], data: Any) -> S:
        """Build and validate from a dict; unknown and missing keys raise ConfigError naming
        them (``unknown chip key device.gmin (allowed: ...)``)."""
        noun = cls._noun
        if not isinstance(data, dict):
            raise ConfigError(f"a {noun} description must be a table, got "
                              f"{type(data).__name__}")
        infos = cls._infos()
        by_name = {i.field.name: i for i in infos}
        for name in data:
            if name not in by_name:
                raise unknown_key(noun, cls._key(name), [i.key for i in infos])
        values = {}
        for name, info in by_name.items():
            if name not in data:
                if info.required:
                    raise ConfigError(_missing(noun, info))
                continue
            value = data[name]
            if info.nested is not None:
                if not isinstance(value, dict):
                    raise ConfigError(f"{noun} section [{info.key}] must be a table, "
                                      f"got {shown(value)}")
                value = info.nested.from_dict(value)
            values[name] = value
        return cls(**values)

    def to_toml(self) -> str:
        """TOML text (written by ``tomli_w``) with each value's unit as a comment."""
        return _toml(self, "")

    @classmethod
    def from_toml(cls: type[S], text: str) -> S:
        """Parse TOML text and :meth:`from_dict` it (FileFormatError if not TOML)."""
        return cls.from_dict(_parse(tomllib.loads, tomllib.TOMLDecodeError, "TOML", text))

    def to_json(self, indent: int | None = 1) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls: type[S], text: str) -> S:
        """Parse JSON text and :meth:`from_dict` it (FileFormatError if not JSON)."""
        return cls.from_dict(_parse(json.loads, json.JSONDecodeError, "JSON", text))


def _parse(loads: Callable[[str], Any], error: type[Exception], what: str, text: str) -> Any:
    try:
        return parse_text(loads, text)
    except error as exc:
        raise FileFormatError(f"not valid {what} ({exc})") from None


def _info(key: str, f: dataclasses.Field, hint: Any, doc: str) -> FieldInfo:
    declared = f.metadata.get(_META, {})
    rule = declared.get("rule")
    if rule is None and typing.get_origin(hint) is Annotated:
        rule = next((r for r in hint.__metadata__ if isinstance(r, Rule)), None)
    spec = hint if isinstance(hint, type) and issubclass(hint, Spec) else None
    if spec is not None and spec._section != key:
        raise TypeError(f"{spec.__name__} is nested as {key!r}: declare it with "
                        f"section={key!r} (its keys are named {key}.*)")
    required = f.default is MISSING and f.default_factory is MISSING
    return FieldInfo(key, declared.get("help") or doc, None if spec else rule or Rule(), spec,
                     required, declared.get("meta", {}), f)


def _attribute_docs(cls: type) -> dict[str, str]:
    """``{name: text}`` from the ``Attributes:`` sections of the docstrings of ``cls`` and its
    bases (Google style: ``name: text`` indented under the heading, continuation lines deeper)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        lines = inspect.cleandoc(klass.__dict__.get("__doc__") or "").splitlines()
        if "Attributes:" not in lines:
            continue
        name = None
        for line in lines[lines.index("Attributes:") + 1:]:
            if line.strip() and not line.startswith(" "):
                break
            entry = re.match(r" {4}(\w+)(?: \(.*?\))?: (.*)", line)
            if entry:
                name, out[entry[1]] = entry[1], entry[2]
            elif name and line.strip():
                out[name] += " " + line.strip()
    return out


def _missing(noun: str, info: FieldInfo) -> str:
    if info.nested is not None:
        return f"missing {noun} section [{info.key}]"
    return f"missing {noun} key {info.key}" + (f" ({info.unit})" if info.unit else "")


def _toml(spec: Spec, table: str) -> str:
    """TOML of ``spec`` as the table ``table`` ("" = top level): one ``tomli_w`` line per plain
    value (strings never span lines), unit comments, then nested tables."""
    lines = [f"[{table}]"] if table else []
    tables = []
    for info in spec._infos():
        value = getattr(spec, info.field.name)
        if info.nested is not None:
            tables.append(_toml(value, f"{table}.{info.field.name}".lstrip(".")))
            continue
        if value is None:  # TOML has no null: read back as the field's default
            continue
        if isinstance(value, dict) or (isinstance(value, list) and any(
                isinstance(v, dict) for v in value)):
            raise TypeError(f"{info.key}: tables inside a plain field cannot be written")
        line = tomli_w.dumps({info.field.name: value}).rstrip("\n")
        lines.append(line + (f"  # {info.unit}" if info.unit and "\n" not in line else ""))
    return "\n".join([*lines, *("\n" + t.rstrip("\n") for t in tables)]) + "\n"


# --------------------------------------------------------------------------- presets
def _comments(text: str) -> tuple[list[str], dict[tuple[str, str], str]]:
    """A TOML file's opening comment lines and its end-of-line comments by ``(table, key)``
    (a ``#`` counts as a comment where the text before it parses as TOML)."""
    head: list[str] = []
    notes: dict[tuple[str, str], str] = {}
    table, last = "", None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if not notes and last is None:
                head.append(stripped)
            elif last in notes:  # a comment continued on the next line
                notes[last] += " " + stripped.lstrip("#").strip()
            continue
        last = None
        if stripped.startswith("["):
            table = stripped.strip("[]").strip()
        for at in [i for i, ch in enumerate(line) if ch == "#"]:
            try:
                parsed = tomllib.loads(line[:at])
            except tomllib.TOMLDecodeError:
                continue
            if len(parsed) == 1:
                last = (table, next(iter(parsed)))
                notes[last] = line[at + 1:].strip()
            break
    return head, notes


class Presets:
    """Named specs shipped as ``<package>/<folder>/<name>.toml``, and the shared loader of
    "a preset name, a TOML file path, or a spec" (``noun`` names the kind in messages)."""

    def __init__(self, cls: type[Spec], package: str, folder: str, noun: str) -> None:
        self.cls, self.package, self.folder, self.noun = cls, package, folder, noun

    def names(self) -> list[str]:
        """Names of the shipped presets, sorted."""
        folder = resources.files(self.package) / self.folder
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))

    def preset(self, name: str) -> Any:
        """The preset ``name`` (its ``name`` field set to it); ConfigError if unknown."""
        names = self.names()
        if not is_choice(name, names):
            raise ConfigError(f"unknown {self.noun} preset {shown(name)} (available: "
                              f"{', '.join(names)})")
        text = (resources.files(self.package) / self.folder / f"{name}.toml").read_text()
        return self._build(tomllib.loads(text), name, f"{self.noun} preset {name}")

    def commented_toml(self, name: str) -> str:
        """The preset ``name`` as :meth:`Spec.to_toml` text, with the shipped file's comments:
        its opening comment lines first, and each value's own comment (where the file has one)
        in place of the unit comment (the unit kept in front when the comment lacks it)."""
        spec = self.preset(name)  # an unknown name: ConfigError naming the presets
        text = (resources.files(self.package) / self.folder / f"{name}.toml").read_text()
        head, notes = _comments(text)
        lines = []
        table = ""
        for line in spec.to_toml().splitlines():
            table = line.strip()[1:-1] if line.startswith("[") else table
            code, _, unit = line.partition("  # ")
            note = notes.get((table, code.split("=")[0].strip()))
            if note and "=" in code:
                line = f"{code}  # " + (note if not unit or note.startswith(unit)
                                        else f"{unit}; {note}")
            lines.append(line)
        return "\n".join([*head, *lines]) + "\n"

    def load(self, source: str | Path | Spec) -> Any:
        """A spec from a preset name, a TOML file path, or an existing spec (returned as is).
        A file is named by its ``name`` key (default: its stem); one whose ``name`` is a
        preset's but whose values differ from it is named after the file instead.

        Raises:
            FileFormatError: no such preset or file, or the file is not TOML.
            ArgumentError: ``source`` is none of the three (a dict, a number).
            ConfigError: bad content, prefixed by the file or preset name.
        """
        if isinstance(source, self.cls):
            return source
        if not isinstance(source, str | PathLike):
            build = (f"; {self.cls.__name__}.from_dict builds one from a dict"
                     if isinstance(source, dict) else "")
            raise ArgumentError(f"a {self.noun} must be a preset name, a TOML file path or a "
                                f"{self.cls.__name__}, got {type(source).__name__}{build}")
        text = str(source)
        if text in self.names():
            return self.preset(text)
        path = Path(text)
        if path.is_symlink() and not path.exists():
            raise FileFormatError(missing(path, f"{self.noun} file"))
        if not path.exists():
            raise FileFormatError(f"no {self.noun} preset or file named {shown(text)} "
                                  f"(presets: {', '.join(self.names())})")
        # a TOML parse holds the text and its tables: a few times the file's size
        source = read_text(path, f"{self.noun} file", expand=_TOML_EXPAND)
        try:
            data = parse_text(tomllib.loads, source)
        except tomllib.TOMLDecodeError as exc:
            raise FileFormatError(f"{path}: not valid TOML ({exc})") from exc
        if not data:  # an empty (or comments-only) file would be the defaults under its name
            raise FileFormatError(f"{path}: the {self.noun} file is empty (no keys); start "
                                  f"from `xbarmem {self.noun} show PRESET`")
        spec = self._build(data, data.get("name", path.stem), str(path))
        return self._renamed_if_edited(spec, path)

    #: fields that describe a spec without changing what it computes
    _LABELS = ("name", "description", "source")

    def _renamed_if_edited(self, spec: Any, path: Path) -> Any:
        """``spec`` read from ``path``, renamed after the file (``<stem>``, or
        ``<stem>-edited`` when the stem is a preset's name too) when it calls itself a shipped
        preset but holds other values: a copy printed by ``show`` and then edited must not be
        reported, or treated, as the preset."""
        if spec.name not in self.names():
            return spec

        def values(s: Any) -> dict[str, Any]:
            return {k: v for k, v in s.to_dict().items() if k not in self._LABELS}

        if values(spec) == values(self.preset(spec.name)):
            return spec
        name = path.stem if path.stem not in self.names() else f"{path.stem}-edited"
        return dataclasses.replace(spec, name=name)

    def _build(self, data: dict[str, Any], name: Any, where: str) -> Any:
        try:
            return self.cls.from_dict({**data, "name": name})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
