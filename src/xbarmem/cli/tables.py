"""The consoles commands print on (:data:`out`: stdout, :data:`console`: stderr) and the layout
of their Rich tables: numbers shown as written, words never split across lines, the title and
caption folded between phrases to the terminal's width.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

from rich.console import Console

from xbarmem.cli import streams
from xbarmem.cli.messages import warn, work_begins


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
