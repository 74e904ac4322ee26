"""The base class of validated specs (:class:`Spec`): construction checks every field;
dict, TOML and JSON round trips; the field list behind ``--help`` texts."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import tomllib
import typing
from collections.abc import Callable
from dataclasses import MISSING
from typing import Annotated, Any, ClassVar, TypeVar

import tomli_w

from xbarmem.checks import checked_keywords, shown, unknown_argument
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.files import parse_text, unparsed
from xbarmem.spec.fields import FieldInfo, _attribute_docs, _help_section, _missing, unknown_key
from xbarmem.spec.rules import _META, Rule

S = TypeVar("S", bound="Spec")
_INFOS: dict[type, list[FieldInfo]] = {}


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
        cls.__doc__ = inspect.cleandoc(cls.__doc__ or "") + _help_section(cls, _META)
        checked_keywords(cls)  # its methods' keywords, as Spec's own (below the class)

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
        """Copy with the fields of ``changes`` (keywords) changed (validated); an unknown name
        raises :class:`~xbarmem.errors.ArgumentError` (a ConfigError and a TypeError, as
        ``dataclasses.replace`` raises), a bad value ConfigError."""
        names = [i.field.name for i in self._infos()]
        for name in changes:
            if name not in names:
                raise unknown_argument(f"{type(self).__name__}.replace()", name, names)
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
        """Build and validate from the dict ``data``; unknown and missing keys raise
        ConfigError naming them (``unknown chip key device.gmin (allowed: ...)``)."""
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
        """Parse TOML ``text`` and :meth:`from_dict` it (FileFormatError if not TOML)."""
        return cls.from_dict(_parse(tomllib.loads, tomllib.TOMLDecodeError, "TOML", text))

    def to_json(self, indent: int | None = 1) -> str:
        """JSON text of :meth:`to_dict`, indented by ``indent`` (``None``: one line)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls: type[S], text: str) -> S:
        """Parse JSON ``text`` and :meth:`from_dict` it (FileFormatError if not JSON)."""
        return cls.from_dict(_parse(json.loads, json.JSONDecodeError, "JSON", text))


checked_keywords(Spec)


def _parse(loads: Callable[[str], Any], error: type[Exception], what: str, text: str) -> Any:
    try:
        return parse_text(loads, text)
    except error as exc:
        raise FileFormatError(unparsed(exc, what)) from None


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
