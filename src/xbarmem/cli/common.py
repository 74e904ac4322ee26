"""Shared pieces of the command-line interface: the Typer apps, consoles, JSON output, warnings
and the entry point that turns library errors into one-line messages with exit code 2.

Command modules register their commands on :data:`app` (or :data:`chip_app`,
:data:`circuit_app`) when imported;
``xbarmem.cli`` imports them all.
"""

from __future__ import annotations

import _thread
import contextlib
import io
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from queue import SimpleQueue
from types import FrameType, SimpleNamespace
from typing import Annotated, Any, NoReturn, Protocol, TypeGuard

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from xbarmem.checks import counted
from xbarmem.cli import streams
from xbarmem.cli.option_types import unconverted
from xbarmem.errors import XbarmemError, XbarmemWarning, causes
from xbarmem.files import undone_on_failure
from xbarmem.limits import out_of_descriptors
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
    space from two. An option of one value given twice is refused by :func:`given_twice`."""

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_once(args: list[str]) -> Any:
            opts, rest, order = parse(args=args)
            if not ctx.resilient_parsing and (twice := given_twice(order)) is not None:
                ctx.fail(twice)
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


class _Console(Console):
    """A console whose tables never cut a cell or header to ``…`` in a narrow terminal: every
    column of a printed :class:`rich.table.Table` folds onto more lines instead, and is at
    least as wide as the longest word of its header, so a header wraps between words rather
    than inside one while the table fits the terminal. Text printed where no terminal reads
    it (a pipe, a file) is not wrapped, unless ``COLUMNS`` gives a width: each message stays
    one line. On stdout, a
    command's first output marks the start of its work (:func:`work_begins`): warnings held
    while its inputs were checked come before its results."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("width") is None:  # the width when printing, not ``COLUMNS`` at import
            self._width = None           # (:func:`~xbarmem.cli.streams.usable_size_settings`)
        if kwargs.get("height") is None:
            self._height = None

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from rich.table import Table

        if not self.stderr:
            work_begins()
        captions, shown = [], []
        for obj in objects:
            if isinstance(obj, str):  # (a path in it may hold an escape sequence)
                obj = streams.shown_as_written(obj)
            if isinstance(obj, Table):
                _cells_as_written(obj)
                _fold_between_words(self, obj, _measure(self, obj))
                shown += _title_taken(self, obj)
                captions += _caption_taken(obj)
            shown.append(obj)
        if not self.is_terminal and self._width is None and "COLUMNS" not in os.environ \
                and all(isinstance(obj, str) for obj in objects):
            kwargs.setdefault("soft_wrap", True)  # a line read by a program stays one line
        super().print(*shown, **kwargs)
        self._print_captions(captions)

    def _print_captions(self, captions: list[str]) -> None:
        """Each caption as its own lines under its table, at this console's width (rich
        centres a caption and wraps it to the table's width: 26 characters under a narrow
        table on an 80-column terminal)."""
        from rich.text import Text

        for caption in captions:
            super().print(Text(caption))

    def print_table(self, table: Any, how: str) -> None:
        """Print ``table`` as :meth:`print` does; when it is too wide for this console even
        without its lines (a header or cell word will be broken), a warning first says how to
        show less (``how``, e.g. the option choosing its columns). The table is measured once
        for both."""
        _cells_as_written(table)
        measured = _measure(self, table)
        words = [word for _, word in measured]
        if sum(words) + 2 * (len(words) - 1) > self.width:
            warn(f"the table is wider than this terminal ({self.width} columns): {how}, or "
                 "widen the terminal")
        if not self.stderr:
            work_begins()
        _fold_between_words(self, table, measured)
        title = _title_taken(self, table)
        captions = _caption_taken(table)
        super().print(*title, table)
        self._print_captions(captions)


def _cells_as_written(table: Any) -> None:
    """Every header, footer and cell of ``table`` that is text with the control characters a
    terminal acts on as ``\\xNN`` (:func:`~xbarmem.cli.streams.shown_as_written`, as its title,
    its caption and every line printed): a sweep's or a file's name in a cell held an escape
    sequence, and the table recoloured or cleared the terminal. Done in place, before the
    table is measured (the cells' widths are those of what is shown)."""
    for column in table.columns:
        column.header, column.footer = _as_written(column.header), _as_written(column.footer)
        column._cells[:] = [_as_written(cell) for cell in column._cells]


def _as_written(cell: Any) -> Any:
    """A table's text ``cell`` as :func:`_cells_as_written` shows it (a Rich ``Text`` keeps its
    style, and its spans where no character was escaped); anything else as it is."""
    from rich.text import Text

    if isinstance(cell, str):
        return streams.shown_as_written(cell)
    if isinstance(cell, Text) and (shown := streams.shown_as_written(cell.plain)) != cell.plain:
        return Text(shown, style=cell.style, justify=cell.justify, overflow=cell.overflow,
                    no_wrap=cell.no_wrap, end=cell.end)
    return cell


def _caption_taken(table: Any) -> list[str]:
    """The caption of ``table`` (``[]`` if none), taken off it to be printed under it."""
    caption, table.caption = table.caption, None
    return [streams.shown_as_written(str(caption))] if caption else []


def _fold_between_words(console: Console, table: Any, measured: list[tuple[int, int]]) -> None:
    """Fold every column of ``table`` instead of cutting it (``measured``: its
    :func:`_measure`). A column whose header and cells have no space to wrap at (one word,
    such as ``architecture``) keeps its full width, the narrowest such columns first, as long
    as the table still fits the console and no other column has to break a word it kept whole:
    rich narrows the widest columns first, and would break that word where a header of several
    words had room to wrap between them."""
    for column in table.columns:
        column.overflow = "fold"
    words, unbreakable = [], []
    for column, (widest, longest_word) in zip(table.columns, measured, strict=True):
        words.append(longest_word)
        if column.width is None and widest == longest_word:
            unbreakable.append((widest, column))
    _drop_lines_to_keep_words(table, words, console.width)
    _release_minimum_widths(table, console.width)
    before = _layout(table, console.width)
    if before is None:  # a rich that lays tables out otherwise: no width kept
        return
    before = _keep_widths(console, table, sorted(unbreakable, key=lambda item: item[0]),
                          before, words)
    if before is not None:
        _keep_words(console, table, before, words)


def _keep_widths(console: Console, table: Any, fixes: list[tuple[int, Any]],
                 before: list[int], words: list[int]) -> list[int] | None:
    """Give each ``(width, column)`` of ``fixes`` in turn that fixed width while ``table``
    still fits the console and no other column has to break a word it kept whole (``before``:
    the layout so far, ``words``: each column's longest word). Returns the layout, or None
    when a width could not be kept (that one left free, the rest not tried)."""
    for width, column in fixes:
        column.width = width
        after = _layout(table, console.width)
        if after is None or sum(after) + table._extra_width > console.width or any(
                new < min(old, word) for new, old, word in zip(after, before, words, strict=True)):
            column.width = None
            return None
        before = after
    return before


def _keep_words(console: Console, table: Any, before: list[int], words: list[int]) -> None:
    """Widen the columns rich narrowed below their longest word (``before``: its layout,
    ``words``: each column's longest word), taking the width from the columns with the most
    room above theirs, when every word fits: rich narrows the widest columns first, and broke
    the header "latency saved" into "latenc" / "y" / "saved" in a table 76 characters wide
    with every word whole. The columns are then drawn at those widths."""
    target = [width if column.width is not None else max(width, word)
              for column, width, word in zip(table.columns, before, words, strict=True)]
    if target == before:
        return
    for _ in range(sum(target) - sum(before)):
        roomy = max(range(len(target)), key=lambda k: target[k] - words[k]
                    if table.columns[k].width is None else 0)
        if target[roomy] <= words[roomy] or table.columns[roomy].width is not None:
            return  # (no column has room to give: rich's layout stays)
        target[roomy] -= 1
    for column, width in zip(table.columns, target, strict=True):
        column.width = width


#: where a table's title may break: after a comma, before an opening bracket
_PHRASE_ENDS = re.compile(r"(?<=, )|(?<=: )|(?= \()")


def _title_taken(console: Console, table: Any) -> list[Any]:
    """The title of ``table`` taken off it, as a left-aligned text to print above it, when it
    is wider than the table will be drawn (``[]`` otherwise: rich centres it over the table):
    rich wraps a title to the table's width between any two words (``..., gaussian 0.6, 1``
    over ``trial)``), and inside a word that has no space (a store's path over four lines).
    Taken off, it is broken between its phrases (after a comma or a colon, before a bracket)
    only where it is wider than the console, so a path stays on one line wherever it fits and
    ``1 row`` after it is not split (``s.sqlite: 1`` over ``row``)."""
    from rich.text import Text

    if isinstance(table.title, str):  # (a store's path in it may hold an escape sequence)
        table.title = streams.shown_as_written(table.title)
    title = table.title
    if not isinstance(title, str) or "\n" in title:
        return []
    layout = _layout(table, console.width)
    width = console.width if layout is None else min(console.width, sum(layout) + sum(
        table._get_padding_width(i) for i in range(len(table.columns))) + table._extra_width)
    if len(title) <= width:
        return []
    lines = [""]
    for phrase in _PHRASE_ENDS.split(title):
        if lines[-1] and len(lines[-1] + phrase.rstrip()) > console.width:
            lines.append(phrase.lstrip())
        else:
            lines[-1] += phrase
    table.title = None
    return [Text("\n".join(line.rstrip() for line in lines), style="table.title")]


def _release_minimum_widths(table: Any, width: int) -> None:
    """Drop the columns' ``min_width`` when honouring them would draw ``table`` wider than
    ``width``: rich keeps a column's minimum over the terminal's width and then cuts every
    line at the edge, so the last column's numbers lost digits without a mark (a std of 3.9
    printed as ``3``); without them the cells fold instead."""
    layout = _layout(table, width)
    if layout is None or sum(layout) + table._extra_width + sum(
            table._get_padding_width(i) for i in range(len(table.columns))) <= width:
        return
    for column in table.columns:
        column.min_width = None


def _measure(console: Console, table: Any) -> list[tuple[int, int]]:
    """Per column of ``table``: ``(widest, longest word)`` of its header and cells; a column
    that may not wrap (``no_wrap``) has its widest text as its longest word (``adapt``'s
    header ``err uS`` counted as ``err``: its table was laid out for a width it could not
    fold to, and rich cut ``exact`` to ``exac`` and its ``1.000`` to ``1.00``)."""
    from rich.measure import Measurement

    out = []
    for column in table.columns:
        sizes = [Measurement.get(console, console.options, item)
                 for item in (column.header, *column.cells)]
        widest = max(m.maximum for m in sizes)
        out.append((widest, widest if column.no_wrap else max(m.minimum for m in sizes)))
    return out


def _drop_lines_to_keep_words(table: Any, words: list[int], width: int) -> None:
    """Draw ``table`` with fewer lines when its box would leave less than ``width`` columns
    for every header and cell word kept whole (``words``: each column's longest): first
    without the vertical lines and outer edges (the rule under the header stays), then also
    with one space less between columns (kept when even that is too narrow: it breaks the
    fewest words). A nine-column capacity table needs 90 characters boxed, 86 and 78 in the
    lighter styles."""
    from rich import box

    def needed() -> int:
        padding = sum(table._get_padding_width(i) for i in range(len(table.columns)))
        return sum(words) + padding + table._extra_width

    if table.box is None or table.width is not None or needed() <= width:
        return
    for padding in ((0, 1), (0, 0, 0, 1)):  # two spaces beside the separator, then one
        table.box, table.show_edge, table.pad_edge, table.padding = (
            box.SIMPLE_HEAD, False, False, padding)
        if needed() <= width:
            return


def _layout(table: Any, width: int) -> list[int] | None:
    """The content width of each column when rich draws ``table`` ``width`` characters wide
    (rich's own layout), or None with a rich that lays tables out otherwise."""
    trial = Console(width=width, file=io.StringIO(), color_system=None)
    try:
        widths = table._calculate_column_widths(trial, trial.options.update_width(
            width - table._extra_width))
        return [size - table._get_padding_width(index) for index, size in enumerate(widths)]
    except AttributeError:
        return None


# markup off: paths, sweep names and chip names may hold text like ``[v2]`` or ``[bold]``,
# which Rich would take for style tags and drop; the few styled lines pass ``markup=True``
# and escape what they quote
console = _Console(stderr=True, markup=False)
out = _Console(markup=False)


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


#: warning lines of the command that :func:`main` is running, held until its work begins
#: (:func:`work_begins`) or it has run, and dropped when it is refused before (None: printed
#: at once)
_held: list[str] | None = None


def _say(line: str) -> None:
    """``line`` on stderr (one line: :func:`~xbarmem.cli.streams.one_line`), or held
    (:data:`_held`) until the command's work begins."""
    line = streams.one_line(line)
    if _held is None:
        typer.echo(line, err=True)
    elif line not in _held:
        _held.append(line)


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr (stdout stays pure JSON under ``--json``). Inside
    :func:`main` it is held until the command's work begins (:func:`work_begins`): a command
    refused while its inputs are checked (exit 2) prints only its one error line."""
    _say(f"warning: {message}")


def note(message: str) -> None:
    """One ``note: ...`` line on stderr: what the command inferred that the user did not
    give (e.g. the chip a fault map records); held as :func:`warn` lines are."""
    _say(f"note: {message}")


def work_begins() -> None:
    """The command's inputs are checked and its work begins (a progress display starts, or
    the command has run): the held warning and note lines are printed, later ones at once."""
    global _held
    held, _held = _held or [], None
    for line in held:
        _say(line)


#: deprecation warnings of the command that :func:`main` is running, held until it has run
#: (None outside :func:`main`: printed at once)
_deprecations: list[str] | None = None


def warn_deprecated(message: str) -> None:
    """A :func:`warn` line about an old spelling, printed once the command has run: a command
    refused after its old options were read (exit 2) prints only its one error line."""
    if _deprecations is None:
        warn(message)
    else:
        _deprecations.append(message)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return "-" if value is None else str(value)


def _fields(record: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _fields(value, f"{prefix}{key}.")
        else:
            rows.append((name, _cell(value)))
    return rows


def describe_devices(devices: dict[str, int]) -> str:
    """One line for a memory's device accounting (:meth:`xbarmem.memory.base.Memory.devices`):
    weights, devices, arrays of rows x cols, sensed outputs, layers when there are several."""
    layers = f" in {devices['layers']} layers" if devices.get("layers", 1) > 1 else ""
    return (f"{devices['weights']} weights on {devices['devices']} devices{layers}, "
            f"{counted(devices['arrays'], 'array')} of "
            f"{devices['array_rows']}x{devices['array_cols']}, "
            f"{devices['sensed_outputs']} sensed outputs")


#: the words of keys that :func:`field_label`'s general rule reads badly
FIELD_LABELS = {"total": "trials", "already": "already stored", "groups": "groups to run",
                "stuck_on": "stuck ON",
                "stuck_off": "stuck OFF", "p_stuck_on": "P(stuck ON)",
                "p_stuck_off": "P(stuck OFF)", "meta": "how made"}
#: a unit at the end of a key, written in brackets (``tolerance_S``: ``tolerance (S)``)
_UNIT_SUFFIXES = ("fraction", "S", "uS")


def field_label(name: str) -> str:
    """A key of a JSON record in words, as :func:`print_fields` labels it (``--json`` keeps the
    key): :data:`FIELD_LABELS`, else underscores as spaces and a unit suffix in brackets
    (``stuck_fraction``: ``stuck (fraction)``); a nested key as ``outer: inner``."""
    def words(key: str) -> str:
        if key in FIELD_LABELS:
            return FIELD_LABELS[key]
        stem, _, unit = key.rpartition("_")
        if stem and unit in _UNIT_SUFFIXES:
            return f"{words(stem)} ({unit})"
        return key.replace("_", " ")

    return ": ".join(words(part) for part in name.split("."))


def print_fields(record: dict[str, Any], title: str | None = None) -> None:
    """Human output of a flat result: an aligned two-column table of field (in words,
    :func:`field_label`) and value (numbers to 4 significant digits); ``--json`` has the rest,
    under its keys."""
    from rich import box
    from rich.table import Table

    rows = [(field_label(name), value) for name, value in _fields(record)]
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("field", style="bold",  # whole labels: the value folds (a long path)
                     min_width=max((len(label) for label, _ in rows), default=0))
    table.add_column("value", overflow="fold")
    for label, value in rows:
        table.add_row(escape(label), escape(value))
    out.print(table)


def emit_json(data: Any) -> None:
    """Print ``data`` on stdout as strict JSON, every command's ``--json`` output: non-finite
    floats (e.g. the NaN loss of classic rules) become null, a file name's bytes that are not
    text in the file system's encoding ``\\xNN`` (:func:`~xbarmem.jsontext.output_text`)."""
    from xbarmem.jsontext import output_text  # imports torch: only when there is output

    work_begins()
    typer.echo(output_text(data, indent=2))


def show_spec(source: str, load: Callable[[str], Any], is_preset: Callable[[str], bool],
              commented: Callable[[str], str], json_out: bool) -> None:
    """``chip show`` / ``circuit show``: the spec ``load(source)`` as JSON, as TOML, or (a
    preset, ``is_preset(source)``: its name in any case, as ``load`` reads it) as the preset's
    commented TOML ``commented(name)``."""
    spec = load(source)
    if json_out:
        emit_json(spec.to_dict())
    else:
        work_begins()  # (its warnings before the spec it prints)
        typer.echo(commented(spec.name) if is_preset(source) else spec.to_toml())


def print_presets(load: Callable[[str], Any], presets: list[str], json_out: bool,
                  group: str) -> None:
    """``chip presets`` / ``circuit presets`` (``group``): each preset's description, then,
    on stderr, the ``show`` command that prints a preset with its comments (descriptions say
    "see comments", which the list does not show)."""
    described = {name: load(name).description for name in presets}
    if json_out:
        emit_json(described)
        return
    for name, description in described.items():
        out.print(f"[bold]{escape(name)}[/bold]: {escape(description)}", markup=True)
    console.print(f"xbarmem {group} show NAME prints a preset as TOML with its comments "
                  f"(where its values come from)")


@contextlib.contextmanager
def _warning_lines() -> Iterator[None]:
    """Inside, each distinct :class:`~xbarmem.errors.XbarmemWarning` (a value probably not
    meant, e.g. a chip's noise as wide as its window) is printed once, when issued, as one
    :func:`warn` line (Python prints two, naming a source line), its ``(CLI: --option)``
    pointers read as errors' are (:func:`cli_hints`); other warnings as Python does."""
    shown: set[str] = set()
    with warnings.catch_warnings():
        python = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, XbarmemWarning):
                python(message, category, filename, lineno, file, line)
            elif str(message) not in shown:
                shown.add(str(message))
                warn(cli_hints(" ".join(str(message).split())))

        warnings.showwarning = show
        yield


#: signals that stop a command as Ctrl-C does (:class:`Terminated`): SIGTERM (``kill PID``, a
#: batch system ending a job) and SIGHUP (the terminal or SSH session closed, ``kill -HUP``);
#: Python's default for both ends the process at once, without a word, a checkpoint's or
#: report's writer cut short
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A stop signal (:data:`STOP_SIGNALS`) received by a command: raised where Python raises
    :class:`KeyboardInterrupt` for Ctrl-C, so a command stops as it does on Ctrl-C -- stored
    results kept, one line saying how to resume -- with exit code 128 + the signal's number
    (SIGTERM 143, SIGHUP 129)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = int(signum)


def _stopped_by(exc: BaseException) -> Terminated | None:
    """The stop signal (:class:`Terminated`) that ``exc`` was raised while handling, if any: a
    command stopped by SIGHUP because its terminal closed fails to print its last line (EIO),
    and then ends quietly with the signal's exit code (129), not as a failed write (1)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, Terminated):
        cause = cause.__cause__ or cause.__context__
    return cause


def interrupted_code(exc: BaseException) -> int:
    """The exit code of a command stopped by ``exc`` (or by what caused it: click turns an
    interrupt into ``Abort``): 128 + the signal's number for a stop signal (:class:`Terminated`:
    SIGTERM 143, SIGHUP 129), 130 for Ctrl-C."""
    stop = _stopped_by(exc)
    return 130 if stop is None else 128 + stop.signum


def _terminate(signum: int, frame: FrameType | None) -> None:
    """The handler of Ctrl-C (SIGINT: :class:`KeyboardInterrupt`) and of each of
    :data:`STOP_SIGNALS` (:class:`Terminated`) inside :func:`main`. Run inside
    :func:`_swallowed`, where an exception would be swallowed too, it raises nothing and has
    the signal delivered again (:func:`_again`)."""
    while frame is not None:
        if frame.f_code is _swallowed.__code__:
            _again(signum)
            return
        frame = frame.f_back
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _swallowed(unraisable: Any) -> None:
    """``sys.unraisablehook`` inside :func:`main`. A signal's exception raised while a
    finalizer ran (a Dask future's ``__del__``, as a sweep's group ended) is one Python
    cannot raise: it printed the exception's traceback and went on, and the command then
    finished with exit 0, as if the signal had never come. Such a signal (one handled by
    :func:`_terminate`) is now delivered again (:func:`_again`), and its exception stops the
    command once the finalizer is over. Anything else goes to the previous hook."""
    exc = unraisable.exc_value
    signum = getattr(exc, "signum", signal.SIGINT)
    if isinstance(exc, KeyboardInterrupt) and signal.getsignal(signum) is _terminate:
        _again(signum)
    else:
        (_hooks[-1] if _hooks else sys.__unraisablehook__)(unraisable)


#: the ``sys.unraisablehook`` each :func:`_stop_signals_stop` replaced, innermost last
_hooks: list[Any] = []
#: the signals :func:`_again` is to deliver again, and the thread that does (once started)
_redelivered: SimpleQueue[int] = SimpleQueue()
_redeliverer: list[threading.Thread] = []


def _again(signum: int) -> None:
    """Have the main thread's handler of ``signum`` run again, soon, from another thread
    (``_thread.interrupt_main``): asked for in the main thread, the handler would run at
    once, in the code that asked (:func:`_swallowed`); it runs where the main thread is then,
    and asks again if that is still there."""
    _redelivered.put(signum)
    if not _redeliverer:
        thread = threading.Thread(target=_redeliver, name="xbarmem signals", daemon=True)
        if not _redeliverer:  # (not started meanwhile, by a handler run while making it)
            _redeliverer.append(thread)
            thread.start()


def _redeliver() -> None:
    while True:
        _thread.interrupt_main(signal.Signals(_redelivered.get()))


@contextlib.contextmanager
def _stop_signals_stop() -> Iterator[None]:
    """Inside, Ctrl-C (SIGINT, unless ignored or handled by other code) raises
    :class:`KeyboardInterrupt` and each of :data:`STOP_SIGNALS` :class:`Terminated`
    (:func:`_terminate`), even when it lands in a finalizer (:func:`_swallowed`); the previous
    handlers and hook are restored after. Only in the main thread (where handlers can be
    set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ctrl_c = (signal.SIGINT,) if signal.getsignal(signal.SIGINT) is signal.default_int_handler \
        else ()
    previous = {signum: signal.signal(signum, _terminate) for signum in ctrl_c + STOP_SIGNALS}
    _hooks.append(sys.unraisablehook)
    sys.unraisablehook = _swallowed
    try:
        yield
    finally:
        sys.unraisablehook = _hooks.pop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main() -> None:
    """Console entry point: runs the app and turns library errors into one-line messages;
    deprecation warnings are printed after the command, and not at all when it is refused;
    other xbarmem warnings once each, as one line (:func:`_warning_lines`), once the command's
    work begins (:func:`work_begins`), and not at all when it is refused before. SIGTERM and
    SIGHUP stop a command as Ctrl-C does (:class:`Terminated`, exit 143 and 129); a broken
    pipe (``| head``) ends it quietly, with exit 141 (:class:`PipeClosed`). A closed
    standard output or a removed current folder is refused before any work (exit 2); a write
    that fails for lack of room is one line (exit 1; :mod:`xbarmem.cli.streams`), and so is a
    path named too long or through a loop of links (exit 2;
    :func:`xbarmem.cli.paths.unusable_name`); a character the terminal's encoding lacks is
    written plainly (:func:`~xbarmem.cli.streams.plain_fallback`)."""
    from xbarmem.cli.paths import missing_current_folder

    unable = streams.closed_output() or missing_current_folder()
    if unable is not None:
        console.print(f"[red]error:[/red] {escape(unable)}", soft_wrap=True, markup=True)
        raise SystemExit(2)
    streams.plain_fallback()
    streams.usable_size_settings()
    try:
        with _warning_lines(), _stop_signals_stop(), _pipes_closed_raise():
            _main()
    except (PipeClosed, BrokenPipeError) as exc:  # (BrokenPipeError: writing a message)
        streams.discard_broken()
        stopped = any(isinstance(e, KeyboardInterrupt) for e in causes(exc))
        raise SystemExit(interrupted_code(exc) if stopped else streams.PIPE_CLOSED_CODE
                         ) from None
    finally:  # (``python -m xbarmem.cli``: see :func:`xbarmem.launch._forget_interrupts_in_eval`)
        eval("None")  # noqa: S307 -- clears CPython's mark of a Ctrl-C raised in an eval


def _pipe_closed(self: Console) -> None:
    """What a Rich console does when it meets a broken pipe, in :func:`main`: it prints
    nothing more, and the command ends (:class:`PipeClosed`). Rich's own ended the process
    with exit code 1 and pointed standard output at the null device, even when the broken
    pipe was standard error."""
    self.quiet = True
    raise PipeClosed


@contextlib.contextmanager
def _pipes_closed_raise() -> Iterator[None]:
    """Inside, every Rich console -- this module's, Typer's help and the progress bars --
    meets a broken pipe with :func:`_pipe_closed`; Rich's own handler is restored after."""
    rich_handler = Console.on_broken_pipe
    Console.on_broken_pipe = _pipe_closed  # type: ignore[method-assign]
    try:
        yield
    finally:
        Console.on_broken_pipe = rich_handler  # type: ignore[method-assign]


class _UsageError(Protocol):
    """What :func:`_main` uses of a usage error."""

    def show(self) -> None: ...

    def format_message(self) -> str: ...


def _usage_error(exc: Exception) -> TypeGuard[_UsageError]:
    """Whether ``exc`` is a usage error: click's, or one of the click vendored by newer
    typer."""
    import click

    return isinstance(exc, click.ClickException) or (
        type(exc).__module__.startswith("typer") and hasattr(exc, "show")
        and hasattr(exc, "format_message"))


def _refused(message: str, code: int, exc: BaseException) -> NoReturn:
    """End the command :func:`_main` runs, stopped by ``exc``, with ``error: message`` on one
    line (:func:`~xbarmem.cli.streams.one_line`: a path may hold a line break or an escape
    sequence) and exit ``code``: no deprecations, and no warnings held while its inputs were
    checked. Escaped: messages like "[device] must be a table" are not Rich markup;
    soft-wrapped: one line whatever the terminal width. A process out of file descriptors says
    nothing more at its exit (:func:`_quiet_exit`)."""
    global _deprecations, _held
    _deprecations = _held = None
    if out_of_descriptors(exc) is not None:
        _quiet_exit()
    line = streams.one_line(message)
    try:
        console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True, markup=True)
    except OSError:  # e.g. no descriptor left for what Rich imports to print it
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(f"error: {line}\n")
            sys.stderr.flush()
    raise SystemExit(code) from None


def _visible_suggestions(exc: object) -> None:
    """An unknown option's suggestions (click's "Did you mean --x?" / "Possible options")
    without the options the command's help hides (old spellings kept for scripts,
    :mod:`xbarmem.cli.old_options`): ``energy --kind`` suggested ``--n``."""
    ctx, close = getattr(exc, "ctx", None), getattr(exc, "possibilities", None)
    if ctx is None or not close:
        return
    hidden = {opt for param in ctx.command.params if getattr(param, "hidden", False)
              for opt in (*param.opts, *param.secondary_opts)}
    exc.possibilities = [opt for opt in close if opt not in hidden]  # type: ignore[attr-defined]


def _dashed_file(exc: object) -> str | None:
    """For an unknown option that is the start of a file's name on the command line
    (``evaluate -m.safetensors``: click reads ``-m``), how to name that file; else None."""
    option = getattr(exc, "option_name", None)
    if not isinstance(option, str) or not option.startswith("-"):
        return None
    for word in sys.argv[1:]:
        if word.startswith(option) and os.path.lexists(word):
            return f" (a file named {word}: write it ./{word})"
    return None


def _quiet_exit() -> None:
    """Nothing more is printed by what Python collects at this process's exit
    (:func:`_say_nothing`, run at exit: the command's warning filters are restored by then):
    objects half-made when the process ran out of file descriptors (an event loop of Dask's
    without its self-pipe, a coroutine never started) failed again there, with a traceback
    ("Exception ignored in ...") and a RuntimeWarning after the command's one line."""
    import atexit

    atexit.unregister(_say_nothing)  # (once, however often it is asked)
    atexit.register(_say_nothing)


def _say_nothing() -> None:
    sys.unraisablehook = lambda _: None
    warnings.simplefilter("ignore")


def _aborted(exc: BaseException) -> NoReturn:
    """End a command that Ctrl-C or a stop signal stopped (``exc``, or what caused it): one
    ``aborted`` line where it can be said, and the stop's exit code (:func:`interrupted_code`)."""
    try:
        console.print("aborted")
    except (OSError, PipeClosed):  # its terminal closed or its reader gone: nothing can
        streams.discard_output()    # be said (the stop decides the exit code)
    raise SystemExit(interrupted_code(exc)) from None


def _main() -> None:
    global _deprecations, _held, _running
    _deprecations, _held, _running = [], [], None
    try:
        # typer.Exit(n) comes back as a return value (Ctrl-C: Stopped); a command that fails
        # leaves no empty folder it made (xbarmem.files.undone_on_failure)
        with undone_on_failure():
            code = app(standalone_mode=False, prog_name="xbarmem")
            if isinstance(code, int) and code:
                raise SystemExit(code)
    except XbarmemError as exc:
        _refused(cli_hints(str(exc)), 2, exc)
    except (typer.Abort, KeyboardInterrupt, Stopped) as exc:
        _aborted(exc)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except OSError as exc:
        from xbarmem.cli.paths import unusable_name

        failed, code = streams.write_failure(exc), 1  # the disk: exit 1; the name given: 2
        if failed is not None and _stopped_by(exc) is not None:  # its terminal closed
            streams.discard_output()
            raise SystemExit(interrupted_code(exc)) from None
        if failed is None:
            failed, code = unusable_name(exc) or out_of_descriptors(exc), 2
        if failed is None:
            raise
        _refused(failed, code, exc)
    except Exception as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # a stop the interpreter wrapped:
            _aborted(exc)  # (3.11: a RuntimeError of __set_name__ while a module imported)
        if (lacking := out_of_descriptors(exc)) is not None:  # (Dask's RuntimeError)
            _refused(lacking, 2, exc)
        error: BaseException = exc  # (the check below narrows exc's type)
        if not _usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help
            _deprecations = _held = None
            exc.show()
            raise SystemExit(getattr(exc, "exit_code", 2)) from None
        # one line, as library errors: what is wrong, and where to read more
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        if (worded := unconverted(exc)) is not None:
            exc.message = worded  # type: ignore[attr-defined]
        _visible_suggestions(exc)
        _refused(exc.format_message() + (_dashed_file(exc) or hint),
                 getattr(exc, "exit_code", 2), error)
    finally:
        work_begins()
        held, _deprecations = _deprecations or [], None
        for message in held:
            warn(message)
