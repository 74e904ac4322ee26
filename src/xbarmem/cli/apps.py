"""The Typer apps every command registers on (:data:`app`, :data:`chip_app`,
:data:`circuit_app`) and the command class they share: commands listed in :data:`ORDER`, an
option of one value given twice or an argument more than a command takes refused in one line,
and a library message's ``(CLI: --option)`` pointer kept only where the command being run has
that option (:func:`cli_hints`).

Command modules register their commands on :data:`app` when imported; ``xbarmem.cli`` imports
them all.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from xbarmem.checks import counted, lost_number
from xbarmem.cli import streams
from xbarmem.version import __version__

CONTEXT = {"help_option_names": ["-h", "--help"]}

#: order of the commands in ``xbarmem --help`` (registration order follows module imports)
ORDER = ("demo", "train", "evaluate", "recall", "chip", "export", "adapt", "capacity", "scaling",
         "energy", "circuit", "sweep", "results", "plot", "reproduce")


class _Ordered(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bare_flags(self)

    def format_help(self, ctx, formatter):
        _bare_flags(self)  # Typer adds --install-completion after __init__
        super().format_help(ctx, formatter)

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:  # (``--help``, ``--version``: printed while the arguments are read)
            return super().make_context(*args, **kwargs)
        except OSError as exc:
            if streams.pipe_closed(exc):
                raise PipeClosed from exc
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # past Typer, which makes it a bare exit 130
            raise Stopped from exc
        except OSError as exc:  # past Typer, which makes a broken pipe a bare exit 1
            if streams.pipe_closed(exc):
                raise PipeClosed from exc
            raise


class PipeClosed(BaseException):
    """A write into a pipe whose reader is gone (``xbarmem results STORE | head -1``), from
    any console (:func:`_pipes_closed_raise`) or ``typer.echo``, carried past Typer (which
    makes it a bare exit 1) and past every handler of the command's own errors to
    :func:`main`: the command ends there, saying nothing, with exit code
    :data:`~xbarmem.cli.streams.PIPE_CLOSED_CODE` (141), as the shell reports a program that
    SIGPIPE ended -- the convention of the other signals that stop a command (Ctrl-C 130,
    SIGTERM 143, SIGHUP 129). Python ignores SIGPIPE (a write gets EPIPE instead), and
    must: Dask's connections are sockets, which a closed peer would otherwise end the
    process through."""


class Stopped(BaseException):
    """Ctrl-C or a stop signal (:class:`Terminated`) out of a command that has no handler of
    its own, carried past Typer -- which turns every :class:`KeyboardInterrupt` into a silent
    exit 130, SIGTERM's and SIGHUP's too -- to :func:`main`: one ``aborted`` line, and the
    exit code of what stopped it (:func:`interrupted_code`; its ``__cause__``)."""


def _bare_flags(command: Any) -> None:
    """Show flags (``--json``, ``--dry-run``, ``-h``) in ``--help`` with no value type, in this
    command and every subcommand: newer Typer prints ``<bool>`` after them, which reads as if
    the flag took a value (``--json true`` is refused)."""
    names = SimpleNamespace(help_option_names=CONTEXT["help_option_names"])
    help_option = command.get_help_option(names) if command.add_help_option else None
    for param in [*command.params, help_option]:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _bare_flags(sub)


class _Command(TyperCommand):
    """Every command: an argument more than the command takes (``evaluate a.safetensors
    b.safetensors``) is refused by :func:`extra_arguments`, naming what it takes; click's line
    ("Got unexpected extra argument(s) (a b)") named neither, nor told one argument holding a
    space from two. An option of one value given twice is refused by :func:`given_twice`, a
    number no float holds by :func:`refuse_lost_numbers`. A pattern .npz of several arrays
    is refused naming the command's ``--key NAME`` where it has one, else saying that none
    can be chosen (:func:`~xbarmem.data.readers.arrays_chosen_by`)."""

    def invoke(self, ctx: Any) -> Any:
        from xbarmem.data.readers import arrays_chosen_by

        has_key = any("--key" in getattr(p, "opts", ()) for p in self.params)
        with arrays_chosen_by("--key NAME" if has_key else None):
            return super().invoke(ctx)

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_once(args: list[str]) -> Any:
            opts, rest, order = parse(args=args)
            if not ctx.resilient_parsing and (twice := given_twice(order)) is not None:
                ctx.fail(twice)
            if not ctx.resilient_parsing:
                refuse_lost_numbers(self, ctx, opts)
            return opts, rest, order

        parser.parse_args = parse_once  # type: ignore[method-assign]
        return parser

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        global _running
        _running = (ctx.command_path, {o for p in self.params for o in getattr(p, "opts", ())})
        strict, ctx.allow_extra_args = ctx.allow_extra_args, True
        try:
            rest = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = strict
        if rest and not strict and not ctx.resilient_parsing:
            ctx.fail(extra_arguments(self, ctx.command_path, rest))
        return rest


#: the command being run (``xbarmem energy``) and its option names, set as it parses them
_running: tuple[str, set[str]] | None = None

#: a library message's pointer to an option: ``(CLI: --zero-one)``, ``(CLI: --kind continuous)``
_CLI_HINT = re.compile(r"\(CLI: (--[a-z][a-z0-9-]*)([^)]*)\)")

#: commands that read options from a file they are given (``sweep``: its file's keys), by
#: name: the pointer to such an option, ``(option, what follows it)``, in the file's words
#: (``--zero-one`` -> ``(sweep file: zero_one = true, ...)``), None where the file has none
FILE_KEYS: dict[str, Callable[[str, str], str | None]] = {}


def cli_hints(message: str) -> str:
    """``message`` with each ``(CLI: --option ...)`` pointer of the library kept where the
    command being run has that option, in its file's words where it reads it from a file
    (:data:`FILE_KEYS`: a sweep's ``zero_one = true``), and otherwise saying it has none
    (``energy --data 01.npy`` was told to pass ``--zero-one``, which energy refused as no such
    option)."""
    if _running is None:
        return message
    command, options = _running
    in_file = FILE_KEYS.get(command.rsplit(" ", 1)[-1], lambda option, rest: None)
    return _CLI_HINT.sub(lambda m: m.group(0) if m.group(1) in options
                         else in_file(m.group(1), m.group(2))
                         or f"({command} has no {m.group(1)})", message)


def refuse_lost_numbers(command: Any, ctx: Any, opts: dict[str, Any]) -> None:
    """Refuse (click's ``BadParameter``: exit 2, one line naming the option) a value of a
    number option of ``command`` (its raw texts ``opts``, by parameter name, as click's parser
    read them) that no float holds: ``--level 1e-400`` ran with level 0, ``--faults 1e400``
    was refused as ``got inf`` (:func:`~xbarmem.checks.lost_number`). Integer options need
    no check: such a text is no integer."""
    for param in command.params:
        kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if kind is not float and typing.get_args(kind) != (float,):  # (float, list[float])
            continue
        given = opts.get(param.name)
        for text in given if isinstance(given, list | tuple) else (given,):
            lost = lost_number(text) if isinstance(text, str) else None
            if lost is not None:
                raise typer.BadParameter(lost, ctx=ctx, param=param)


def given_twice(order: list[Any]) -> str | None:
    """The refusal of an option that takes one value (or is one flag) found more than once
    among the parameters click read (``order``: one entry per occurrence), else ``None``:
    click kept the last silently, so ``results --metric exact --metric cosine`` showed the
    cosine only and ``sweep --store a --store b`` wrote b. Repeatable options (``--where``),
    counters and eager ones (``--help``) may come again."""
    seen: set[int] = set()
    for param in order:
        if (getattr(param, "param_type_name", "") != "option" or param.multiple
                or param.count or param.is_eager):
            continue
        if id(param) in seen:
            name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            several = (f" (several values go in one, comma-separated: {name} {param.metavar})"
                       if "," in str(param.metavar or "") else "")
            return f"{name} is given more than once; give it once{several}"
        seen.add(id(param))
    return None


def extra_arguments(command: Any, name: str | None, extra: list[str]) -> str:
    """The refusal of the arguments ``extra`` that ``command`` (``name``: ``xbarmem evaluate``)
    has no place for: what it takes, and each of them as the shell would quote it (``'a b'``
    is one argument)."""
    import shlex

    taken = [p.metavar or str(p.name).upper() for p in command.params
             if getattr(p, "param_type_name", "") == "argument"]
    given = " ".join(shlex.quote(streams.one_line(word)) for word in extra)
    if not taken:
        return f"{name} takes no arguments, only options (--name VALUE): got {given}"
    many = "is one" if len(extra) == 1 else f"are {len(extra)}"
    return (f"{name} takes {counted(len(taken), 'argument')}, {' '.join(taken)}: {given} "
            f"{many} more than it takes")


class _App(typer.Typer):
    """A Typer app whose commands are :class:`_Command` (unless one names its own class);
    called as Typer's (``app(*args, **kwargs)``: click's ``main``, as :func:`main` calls it)."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _App(cls=_Ordered, add_completion=True, no_args_is_help=True, context_settings=CONTEXT,
           help="Hardware-adaptive associative memories on simulated memristor crossbars.")

chip_app = _App(no_args_is_help=True, context_settings=CONTEXT,
                help="Chip presets and fault maps.")

circuit_app = _App(no_args_is_help=True, context_settings=CONTEXT,
                   help="Circuit presets: the energy and latency constants of "
                        "`xbarmem energy`.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xbarmem {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Hardware-adaptive associative memories on simulated memristor crossbars."""


app.add_typer(chip_app, name="chip")
app.add_typer(circuit_app, name="circuit")


def command_begins() -> None:
    """A command line is about to be parsed: no command is running yet (:func:`cli_hints`)."""
    global _running
    _running = None
