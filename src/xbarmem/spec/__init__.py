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
        name: Annotated[str, Name()] = "custom"
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
* :class:`Presets` loads "a preset name or a TOML file" for any spec with a ``name`` field
  declared with the :class:`Name` rule (one line of printable text, not blank: checked
  alike whether a file or the constructor gives it).

Modules: :mod:`~xbarmem.spec.rules` (the rules and the field helpers), :mod:`~xbarmem.spec.fields`
(:class:`FieldInfo`, unknown-key errors, help from docstrings), :mod:`~xbarmem.spec.base`
(:class:`Spec`), :mod:`~xbarmem.spec.presets` (:class:`Presets`). The package may import only
``xbarmem.checks``, ``xbarmem.errors``, ``xbarmem.files`` and ``xbarmem.names`` of xbarmem (a
bottom layer: the chip model and everything above it import it).
"""

from __future__ import annotations

from xbarmem.checks import check_seed  # re-exported: the seed rule of every Spec user
from xbarmem.spec.base import Spec
from xbarmem.spec.fields import FieldInfo, unknown_key
from xbarmem.spec.presets import Presets
from xbarmem.spec.rules import (
    AnyOf,
    Choice,
    Flag,
    ListOf,
    Maybe,
    Name,
    Number,
    Rule,
    Table,
    Text,
    choice,
    flag,
    integer,
    listof,
    nested,
    number,
    option,
    text,
)

__all__ = ["AnyOf", "Choice", "FieldInfo", "Flag", "ListOf", "Maybe", "Name", "Number", "Presets",
           "Rule", "Spec", "Table", "Text", "choice", "flag", "integer", "listof", "nested",
           "number", "check_seed", "option", "text", "unknown_key"]
