"""What a declared spec field is (:class:`FieldInfo`), the error of an unknown key, and the
help texts read from a spec class's docstring."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import textwrap
from collections.abc import Sequence
from dataclasses import MISSING, dataclass
from typing import TYPE_CHECKING, Any

from xbarmem.checks import shown
from xbarmem.errors import ConfigError
from xbarmem.spec.rules import Rule

if TYPE_CHECKING:
    from xbarmem.spec.base import Spec


@dataclass(frozen=True)
class FieldInfo:
    """One declared field: dotted ``key``, ``help``, ``rule`` (``None`` for a nested spec),
    ``nested`` spec class, ``required``, free ``meta`` data, the dataclass ``field``, its
    ``default`` and the ``unit``."""

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
    """The error (returned, not raised) for an unknown ``key`` of a ``noun`` description
    (``"chip"``): names it (a key that is no text by its type), lists ``allowed`` compactly
    (:func:`_allowed_text`) and the closest match."""
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


def _attribute_docs(cls: type) -> dict[str, str]:
    """``{name: text}`` from the ``Attributes:`` sections of the docstrings of ``cls`` and its
    bases (Google style: ``name: text`` indented under the heading, continuation lines deeper)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        out.update(_doc_attributes(klass.__dict__.get("__doc__")))
    return out


def _doc_attributes(doc: str | None) -> dict[str, str]:
    """``{name: text}`` of one docstring's ``Attributes:`` section."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(doc or "").splitlines()
    if "Attributes:" not in lines:
        return out
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


def _help_section(cls: type, meta_key: str) -> str:
    """An ``Attributes:`` section for the fields declared with a ``help`` text that the class
    docstring does not describe (its own and its bases' fields, before ``@dataclass`` runs), so
    that ``help(cls)`` states every constructor argument with its default; ``""`` if none."""
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[1:]):
        fields.update(getattr(klass, "__dataclass_fields__", {}))
    fields.update({name: value for name, value in vars(cls).items()
                   if isinstance(value, dataclasses.Field)})
    described = _doc_attributes(vars(cls).get("__doc__"))
    entries = []
    for name, f in fields.items():
        text = f.metadata.get(meta_key, {}).get("help")
        if text and name not in described:
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            if default is not MISSING and "(default" not in text:
                text += f" (default ``{default!r}``)"
            entries.append(textwrap.fill(f"{name}: {text}", 92, initial_indent=" " * 4,
                                         subsequent_indent=" " * 8))
    return "\n\nAttributes:\n" + "\n".join(entries) if entries else ""


def _missing(noun: str, info: FieldInfo) -> str:
    if info.nested is not None:
        return f"missing {noun} section [{info.key}]"
    return f"missing {noun} key {info.key}" + (f" ({info.unit})" if info.unit else "")
