"""Named specs shipped with the package (:class:`Presets`): a preset name, a TOML file or a
spec, loaded the one way; a shipped file's comments kept when it is shown."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from xbarmem.checks import choice_key, choices_text, closest_choice, shown
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.files import home_expanded, missing, parse_text, read_text, unparsed
from xbarmem.spec.base import Spec
from xbarmem.spec.rules import Name

#: how many times its size a TOML file may take once parsed
_TOML_EXPAND = 20.0


# --------------------------------------------------------------------------- presets
def _comments(text: str) -> tuple[list[str], dict[tuple[str, str], str]]:
    """A TOML file's opening comment lines and its end-of-line comments by ``(table, key)``
    (a ``#`` counts as a comment where the text before it parses as TOML)."""
    head: list[str] = []
    notes: dict[tuple[str, str], str] = {}
    table = ""
    last: tuple[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if not notes and last is None:
                head.append(stripped)
            elif last is not None and last in notes:  # a comment continued on the next line
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
        """``TypeError`` unless ``cls`` declares its ``name`` with the :class:`Name` rule: a
        name is checked in one place, whether a file or the constructor gives it."""
        name = cls.spec_fields().get("name")
        if name is None or not isinstance(name.rule, Name):
            raise TypeError(f"{cls.__name__} is loaded by name: declare its field "
                            f"name: Annotated[str, Name()]")
        self.cls, self.package, self.folder, self.noun = cls, package, folder, noun
        self._names: tuple[str, ...] | None = None

    def names(self) -> list[str]:
        """Names of the shipped presets, sorted (the package's folder read once: a sweep's
        plan asks it of every trial)."""
        if self._names is None:
            folder = resources.files(self.package) / self.folder
            self._names = tuple(sorted(p.name[:-5] for p in folder.iterdir()
                                       if p.name.endswith(".toml")))
        return list(self._names)

    def preset(self, name: str) -> Any:
        """The preset ``name`` names (its ``name`` field set to the preset's: ``"RRAM"`` is
        ``"rram"``, :func:`~xbarmem.checks.choice_key`); ConfigError if unknown."""
        names = self.names()
        key = choice_key(name, names)
        if key is None:
            raise ConfigError(f"unknown {self.noun} preset {shown(name)} (available: "
                              f"{choices_text(names)}){closest_choice(name, names)}")
        name = key
        text = self._shipped(name)
        return self._build(tomllib.loads(text), name, f"{self.noun} preset {name}")

    def _shipped(self, name: str) -> str:
        """The text of the preset file ``name`` shipped with xbarmem (UTF-8 whatever the
        locale)."""
        return (resources.files(self.package) / self.folder / f"{name}.toml").read_text(
            encoding="utf-8")

    def commented_toml(self, name: str) -> str:
        """The preset ``name`` as :meth:`Spec.to_toml` text, with the shipped file's comments:
        its opening comment lines first, and each value's own comment (where the file has one)
        in place of the unit comment (the unit kept in front when the comment lacks it)."""
        spec = self.preset(name)  # an unknown name: ConfigError naming the presets
        text = self._shipped(name)
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

    def is_preset(self, text: str | PathLike) -> bool:
        """Whether :meth:`load` reads ``text`` as a shipped preset, not as a file: a preset's
        name exactly, or in another case or spelling (``"RRAM"``, ``" paper_sim"``: the rule
        of :func:`~xbarmem.checks.choice_key`) when no file or link of that name exists. What
        a command's path checks (an output that would overwrite an input) ask of ``--chip``
        and ``--circuit``."""
        text = str(text)
        if text in self.names():
            return True
        path = Path(home_expanded(text))
        return (choice_key(text, self.names()) is not None and not path.exists()
                and not path.is_symlink())

    def canonical(self, text: str) -> str:
        """The preset name ``text`` names when :meth:`is_preset` (``"RRAM"`` -> ``"rram"``),
        as :meth:`load` reads it; else ``text`` as given (a file path)."""
        key = choice_key(text, self.names())
        return key if key is not None and self.is_preset(text) else text

    def load(self, source: str | Path | Spec) -> Any:
        """A spec from a preset name, a TOML file path (a ``.json`` file: JSON, as ``show
        --json`` prints it), or an existing spec (returned as is). A file is named by its
        ``name`` key (default: its stem); one whose ``name`` is a preset's but whose values
        differ from it is named after the file instead.

        Raises:
            FileFormatError: no such preset or file, or the file is not TOML (not JSON).
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
        if self.is_preset(text):  # its name, or in another case ("RRAM") where no file is
            return self.preset(text)
        path = Path(home_expanded(text))  # ("~/chip.toml": in the home folder, as files.as_path)
        if path.is_symlink() and not path.exists():
            raise FileFormatError(missing(path, f"{self.noun} file"))
        if not text.strip() or not path.exists():  # ("" is no file: Path("") is the folder .)
            raise FileFormatError(f"no {self.noun} preset or file named {shown(text)} "
                                  f"(presets: {choices_text(self.names())})"
                                  f"{closest_choice(text, self.names())}")
        # a TOML parse holds the text and its tables: a few times the file's size
        data = self._parsed(path, read_text(path, f"{self.noun} file", expand=_TOML_EXPAND))
        if not data:  # an empty (or comments-only) file would be the defaults under its name
            raise FileFormatError(f"{path}: the {self.noun} file is empty (no keys); start "
                                  f"from `xbarmem {self.noun} show PRESET`")
        # (the name is checked by the spec's Name rule, as a name given in Python is)
        name = data.get("name", path.stem)
        return self._renamed_if_edited(self._build(data, name, str(path)), path)

    def _parsed(self, path: Path, text: str) -> dict[str, Any]:
        """The tables of the file ``path`` holding ``text``: JSON for a ``.json`` file (what
        ``show --json`` prints), else TOML; :class:`FileFormatError` naming the file when it
        does not parse, or when the JSON is not one object."""
        if path.suffix.lower() != ".json":
            try:
                return parse_text(tomllib.loads, text)
            except tomllib.TOMLDecodeError as exc:
                raise FileFormatError(f"{path}: {unparsed(exc, 'TOML')}") from exc
        try:
            data = parse_text(json.loads, text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"{path}: {unparsed(exc, 'JSON')}") from exc
        if not isinstance(data, dict):
            raise FileFormatError(f"{path}: a JSON {self.noun} file holds one object, as "
                                  f"`show --json` prints it, got {type(data).__name__}")
        return data

    #: fields that describe a spec without changing what it computes
    _LABELS = ("name", "description", "source")

    def _renamed_if_edited(self, spec: Any, path: Path) -> Any:
        """``spec`` read from ``path``, renamed after the file (``<stem>``, or
        ``<stem>-edited`` when the stem is a preset's name too) when it calls itself a shipped
        preset (in any case or spelling :func:`~xbarmem.checks.choice_key` reads as one:
        ``RRAM``) but holds other values: a copy printed by ``show`` and then edited must not
        be reported, or treated, as the preset; with the preset's values, named as the
        preset (``rram``)."""
        key = choice_key(spec.name, self.names())
        if key is None:
            return spec

        def values(s: Any) -> dict[str, Any]:
            return {k: v for k, v in s.to_dict().items() if k not in self._LABELS}

        if values(spec) == values(self.preset(key)):
            return spec if spec.name == key else dataclasses.replace(spec, name=key)
        edited = choice_key(path.stem, self.names()) is not None
        return dataclasses.replace(spec, name=f"{path.stem}-edited" if edited else path.stem)

    def _build(self, data: dict[str, Any], name: Any, where: str) -> Any:
        try:
            return self.cls.from_dict({**data, "name": name})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
