"""The command line's vocabulary, declared once: how an option is declared, its bounds and checks.

A concept has one option name and one meaning in every command that has it:

* ``--data SOURCE``: where patterns come from (mnist, mnist-crop24, digits, glyphs, random,
  correlated-R, a file);
* ``--patterns N``: how many patterns are stored (a count, as ``patterns`` in sweep files);
* ``--neurons N``: pattern length (images are resized to side sqrt(N));
* ``--activation sign|tanh``: neuron type;
* ``--corruption KIND --level X``: cue corruption;
* ``--trials N``: repeats (independent chips / networks);
* ``--hidden WIDTHS``: ``64-32`` (two hidden layers), ``16,32`` (two architectures, where a
  command takes several), ``1n`` / ``0.5n`` (a multiple of N);
* ``--rule-options JSON`` / ``--rule-option KEY=VALUE``: trainer options;
* ``--seed``, ``--json``, ``-o/--out``;
* ``--threads N``: torch threads (default 1), on every command that computes numbers, and
  recorded in its JSON, model files, sweep rows and reports.

This module holds what declares them (:func:`bounded` numbers, :func:`completes` shell
completion, the checks of text values, :func:`option_group`); the options themselves are in
:mod:`~xbarmem.cli.data_options` (patterns), :mod:`~xbarmem.cli.recall_options` (cues, recall
and what is measured of it), :mod:`~xbarmem.cli.hardware_options` (chip, fault maps, programming
a chip), :mod:`~xbarmem.cli.training_options` (rule, architecture),
:mod:`~xbarmem.cli.output_options` (``--json``, ``-o``, other outputs),
:mod:`~xbarmem.cli.run_options` (seed, threads, workers) and :mod:`~xbarmem.cli.old_options`
(old spellings). Old spellings (``--flip``, ``--chips``, ``--side``, ``--n``, ``--count``, ...)
stay for one release as hidden options: they still work and print one ``warning: ...`` line on
stderr once the command has run (none when it is refused: a refusal is one ``error:`` line). The
parsers behind the list and JSON values live in :mod:`xbarmem.cli.parsers`, the checks of the
paths a command reads and writes in :mod:`xbarmem.cli.paths`, what the given options mean
together (which apply, old spellings, the data and chip they name, the request's size) in
:mod:`xbarmem.cli.given`; command modules import only these, the shared :mod:`xbarmem.cli.apps`,
:mod:`xbarmem.cli.messages`, :mod:`xbarmem.cli.tables`, :mod:`xbarmem.cli.records`,
:mod:`xbarmem.cli.progress`, the modules split off from them (``capacity_*``) and the library.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer

from xbarmem.files import home_expanded


# ------------------------------------------------------------------------------ bounds
def _range_text(kind: type, ge: float | None, gt: float | None, le: float | None,
                lt: float | None = None) -> str:
    def text(x: float) -> str:
        return str(int(x)) if kind is int else f"{x:g}"

    parts = [f"{op} {text(x)}" for op, x in ((">=", ge), (">", gt), ("<=", le), ("<", lt))
             if x is not None]
    noun = "an integer" if kind is int else "a finite number"
    return noun + (" " + " and ".join(parts) if parts else "")


def _bounds(ge: float | None, gt: float | None, le: float | None,
            lt: float | None = None) -> Callable[[Any], Any]:
    """Parse-time check of a numeric option (typer callback): finite and within its bounds.
    Typer has converted the value to the option's type: an ``int`` for an integer option."""
    def check(value: Any) -> Any:
        if value is None:
            return value
        kind = int if isinstance(value, int) else float
        ok = (kind is int or math.isfinite(value)) and (ge is None or value >= ge) and (
            gt is None or value > gt) and (le is None or value <= le) and (
            lt is None or value < lt)
        if not ok:
            raise typer.BadParameter(f"must be {_range_text(kind, ge, gt, le, lt)}, got "
                                     f"{value!r}")
        return value

    check.bounds = (ge, gt, le, lt)  # type: ignore[attr-defined]
    return check


def bounded(*decls: str, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None, **option: Any) -> Any:
    """A numeric option declared with its bounds, for its type's ``Annotated`` alias
    (``Faults = Annotated[float | None, bounded("--faults", ge=0.0, le=1.0, ...)]``, which
    type checkers read as ``float | None``): values that are not finite or outside
    ``[ge, le]`` (``gt``: strictly above, ``lt``: strictly below) are refused when the command
    line is parsed, before the command runs (exit 2, one ``error:`` line)."""
    return typer.Option(*decls, callback=_bounds(ge, gt, le, lt), **option)


#: the conversion errors of a number option's text (pydantic's, as typer's own click raises
#: them) and the kind of number each one expected
_UNCONVERTED = {"int_parsing": int, "int_from_float": int, "float_parsing": float}


def unconverted(exc: Any) -> str | None:
    """The message of a number option whose text could not be read as its type (``--seed
    0x10``, ``--probes 1.5``, ``--faults abc``), worded as its bounds' refusal: ``must be an
    integer >= 0 and <= 4294967295, got '0x10'`` (typer's own words named neither the value
    nor the bounds); None for another error."""
    param, cause = getattr(exc, "param", None), exc.__cause__
    try:
        first = cause.errors()[0]
        kind, text = _UNCONVERTED[first["type"]], first["input"]
    except (AttributeError, TypeError, LookupError):
        return None
    bounds = getattr(getattr(param, "callback", None), "bounds", (None, None, None, None))
    return f"must be {_range_text(kind, *bounds)}, got {str(text)!r}"


# MAX_COUNT (xbarmem.checks): the largest count of cues, trials, iterations, ... an option
# accepts, as the Python API (memory limits are checked separately, from the whole request)


# ------------------------------------------------------------------------------ completion, text
def completes(choices: Callable[[], Any]) -> Callable[[str], list[str]]:
    """Shell completion of an option (``--install-completion``): the ``choices()`` that start
    with what was typed."""
    return lambda incomplete: [c for c in choices() if c.startswith(incomplete)]


# Every path the command line reads goes through one of these three: a leading ``~`` is the
# home folder (xbarmem.files.home_expanded), as it is in the Python API and as the shell makes
# it of ``-o ~/m.safetensors`` -- but not of ``--out=~/m.safetensors``, which was refused as
# "the folder ~ does not exist" (``--data=~/p.npy``: "no such file", though the API read it)
def output_path(text: str | Path) -> Path:
    """An output path as given; an empty or blank one is refused (``Path("")`` is the current
    folder, so ``-o "$DIR"`` with DIR unset would write there)."""
    return Path(home_expanded(str(_not_blank(text, "give a file or folder name"))))


def file_output_path(text: str | Path) -> Path:
    """An output file as given: :func:`output_path`, and a path ending in ``/`` is refused (it
    names a folder; ``Path`` drops the slash, so ``-o out/s.npy/`` wrote the file ``out/s.npy``)."""
    if isinstance(text, str) and text.rstrip().endswith(("/", os.sep)):
        raise typer.BadParameter(f"{text!r} ends in '/', which names a folder; give a file name")
    return output_path(text)


def input_path(text: str | Path) -> Path:
    """An input file as given; an empty or blank one is refused naming its option or argument
    (``Path("")`` is the current folder: 'model file . is a directory')."""
    return Path(home_expanded(str(_not_blank(text, "give a file name"))))


def name_or_file(text: str) -> str:
    """A preset or source name, or a file (``--data``, ``--chip``, ``--circuit``); an empty or
    blank one is refused like :func:`input_path`."""
    return home_expanded(_not_blank(text, "give a name or a file"))


def choice_text(text: str) -> str:
    """The value of a named-choice option whose default is None (``--activation``,
    ``--corruption``, ``--fault-model``, ``--recipe``): an empty or blank one is refused naming
    the option (it was taken for "not given": ``--activation ""`` ran with the default)."""
    return _not_blank(text, "give one of the names in --help, or leave the option out")


def names(choices: Callable[[], Iterable[str]], *, blank: bool = True, strict: bool = False,
          many: bool = False) -> Callable[[str], str]:
    """The parser of a named-choice option (``--rule``, ``--arch``, ``--mode``, ...): each
    comma-separated name as the library reads it (:func:`xbarmem.checks.canonical`: ``Hebb``
    is ``hebb``, ``salt_pepper`` is ``salt-pepper``), so that the command line takes a name
    in the same forms as the Python API; a value holding a name that is none of
    ``choices()`` is left as typed, for the command's own check to refuse naming it.
    ``blank=False``: an empty value is refused as :func:`choice_text` does (options whose
    default is None). ``strict=True``: a name outside ``choices()`` is refused here, naming
    the option (``--mode``, ``--activation``, ``--arch``, ``--kind``: the library refused them
    after loading torch, in its own words, "recall mode must be one of ..."), and so is a
    comma-separated list of names unless ``many`` (an option that takes several: ``capacity
    --arch single,multilayer``; ``--mode sync,async`` reached the library as one name)."""
    from xbarmem.checks import canonical, choices_text, closest_choice, shown

    def parse(text: str) -> str:
        if not blank:
            choice_text(text)
        if not isinstance(text, str):
            return text
        known = tuple(choices())
        parts = [part.strip() for part in text.split(",")]
        named = [canonical(part, known) if part else part for part in parts]
        wrong = [part for name, part in zip(named, parts, strict=True) if name not in known]
        if strict and wrong:
            raise typer.BadParameter(f"must be one of {choices_text(known)}, got "
                                     f"{shown(text)}{closest_choice(wrong[0], known)}")
        if strict and not many and len(parts) > 1:
            raise typer.BadParameter(f"takes one name, one of {choices_text(known)}, got "
                                     f"{shown(text)}")
        if named == parts or any(part and name not in known for name, part in zip(
                named, parts, strict=True)):
            return text  # (as typed: nothing to change, or a name for the check to refuse)
        return ",".join(named)

    return parse


def choice(*decls: str, choices: Callable[[], Iterable[str]], blank: bool = True,
           strict: bool = False, many: bool = False, **option: Any) -> Any:
    """A named-choice option (``--mode``, ``--kind``, ``--arch``, ...) declared once: its
    value read by :func:`names` (``choices``, ``blank``, ``strict`` and ``many`` as there)
    and its shell completion (``--install-completion``) offering ``choices()``
    (:func:`completes`), so that every such option completes as ``--rule`` does (``--mode``,
    ``--activation``, ``--kind``, ... completed nothing). For its ``Annotated`` alias;
    ``option`` goes to :func:`typer.Option`."""
    return typer.Option(*decls, parser=names(choices, blank=blank, strict=strict, many=many),
                        autocompletion=completes(choices), **option)


def _not_blank(text: Any, hint: str) -> Any:
    if isinstance(text, str) and not text.strip():
        raise typer.BadParameter(f"is empty; {hint}")
    return text


# ------------------------------------------------------------------------------ option groups
def option_group(params: dict[str, tuple[Any, Any]], build: Callable[..., Any], *,
                 scoped: bool = False, contextual: bool = False):
    """Options that always go together, declared once: ``params`` maps each parameter name to
    its (annotated option type, default). ``group(target, **defaults)`` decorates a command:
    the options are added to its signature (after its own), and the command receives
    ``build(**their values)`` in its parameter ``target`` instead of the raw values
    (``scoped``: ``build`` returns a context manager, held while the command runs, and the
    command receives what it yields; ``contextual``: ``build`` also receives ``ctx=`` the
    command's context, to see which options were given)."""
    def for_command(target: str, **defaults: Any):
        def decorate(fn):
            hints = typing.get_type_hints(fn, include_extras=True)
            sig = inspect.signature(fn)
            own = [p.replace(annotation=hints.get(p.name, p.annotation))
                   for p in sig.parameters.values() if p.name != target]
            added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                       default=defaults.get(name, default))
                     for name, (kind, default) in params.items()]
            ctx_name = next((p.name for p in own if p.annotation is typer.Context), None)
            if contextual and ctx_name is None:  # typer passes the context to this parameter
                ctx_name = "group_context"
                added.append(inspect.Parameter(ctx_name, inspect.Parameter.KEYWORD_ONLY,
                                               annotation=typer.Context))

            @functools.wraps(fn)
            def command(*args: Any, **kwargs: Any) -> Any:
                values = {name: kwargs.pop(name) for name in params}
                if contextual:
                    values["ctx"] = (kwargs.pop if ctx_name == "group_context" else
                                     kwargs.get)(ctx_name)
                built = build(**values)
                if not scoped:
                    return fn(*args, **kwargs, **{target: built})
                with built as value:
                    return fn(*args, **kwargs, **{target: value})

            command.__signature__ = sig.replace(parameters=[*own, *added])
            command.__annotations__ = {p.name: p.annotation for p in (*own, *added)}
            return command
        return decorate
    return for_command
