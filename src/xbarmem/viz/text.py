"""Titles and long names in figures: :func:`check_title` (a title the figure can show),
:func:`wrap_text` (titles, panel titles, legend entries broken after a comma that fits, never
beside a comparison), :func:`set_title` (wrapped to the width it is drawn at).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, cast

import matplotlib
import matplotlib.artist
import matplotlib.axis
import matplotlib.font_manager
import matplotlib.text
import matplotlib.textpath
import matplotlib.ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xbarmem.checks import check_type
from xbarmem.errors import ConfigError
from xbarmem.jsontext import shown_text

#: characters per line of a wrapped title, panel title or legend entry
TITLE_CHARS = 60

LABEL_CHARS = 42

#: the longest title given to a figure: about five wrapped lines above axes of a fixed height
#: (a longer one crowds the axes out of the figure)
MAX_TITLE_CHARS = 5 * TITLE_CHARS

MAX_TITLE_LINES = 6


def check_title(title: Any, name: str = "title") -> str:
    """A figure title as given (``""``: the figure's default). Raises
    :class:`~xbarmem.errors.ArgumentError` when it is not text, :class:`ConfigError` when it is
    longer than :data:`MAX_TITLE_CHARS` characters or :data:`MAX_TITLE_LINES` lines once
    wrapped (:func:`wrap_text`)."""
    check_type(title, str, name, "text")
    lines = wrap_text(title.strip()).count("\n") + 1
    if len(title) > MAX_TITLE_CHARS or lines > MAX_TITLE_LINES:
        size = (f"{len(title)} characters" if len(title) > MAX_TITLE_CHARS else
                f"{lines} lines (wrapped at {TITLE_CHARS} characters)")
        raise ConfigError(f"{name} has {size}; a figure takes a title of at most "
                          f"{MAX_TITLE_CHARS} characters and {MAX_TITLE_LINES} lines")
    return title


def wrap_text(text: str, width: int = TITLE_CHARS) -> str:
    """``text`` over lines of at most ``width`` characters (its own line breaks kept; a name
    longer than a line -- a chip or data file name -- broken after a hyphen or mid-name), so
    that no title or legend entry runs past its figure or into a neighbouring panel. A line
    is broken between comma-separated phrases where one ends in its second half (a title
    read "..., no faults, N" over "= 64, 10% flips")."""
    return "\n".join(_wrap_line(line, width) for line in str(text).split("\n"))


#: a comparison's operators: :func:`wrap_text` breaks no line beside one
COMPARISONS = "<>=±"

#: a name in single quotes (``'adaptive, bounded'``), not an apostrophe inside a word
QUOTED = r"(?<!\w)'[^'\n]+?'(?!\w)"

#: a number and the word after it (``2 seeds``, ``10% flips``, ``1,302 glyphs``): a legend's
#: title was wrapped "points: mean ± std over 2" over "seeds"
COUNTED = r"(?<![\w.])(\d+(?:[.,]\d+)*%?) (?=[A-Za-z])"

#: what holds a comparison's sides together while a line is wrapped (a private-use
#: character: no text given holds it)
_JOIN = "\ue000"


def _wrap_line(line: str, width: int) -> str:
    """One line of :func:`wrap_text`: broken after the last comma that fits, when it falls in
    the second half of the width, else by :func:`textwrap.fill`; never beside an operator of
    :data:`COMPARISONS` (``capacity >`` over ``0)``, ``k = 0.89 ±`` over ``0.88``), inside
    a quoted name of at most half a line (``'adaptive,`` over ``bounded'``), nor between a
    number and the word it counts (:data:`COUNTED`: ``over 2`` over ``seeds``)."""
    line = re.sub(QUOTED, lambda m: m.group(0).replace(" ", _JOIN)
                  if len(m.group(0)) <= width // 2 else m.group(0), line)
    line = re.sub(COUNTED, f"\\1{_JOIN}", line)
    ops = re.escape(COMPARISONS)
    line = re.sub(f"(?<=\\S) ([{ops}])(?= )", f"{_JOIN}\\1", line)
    line = re.sub(f"([{ops}]) (?=\\S)", f"\\1{_JOIN}", line)
    return _wrap_joined(line, width).replace(_JOIN, " ")


def _wrap_joined(line: str, width: int) -> str:
    """:func:`_wrap_line` of a line whose comparisons are joined (:data:`_JOIN`)."""
    lines = []
    while len(line) > width:
        cut = line.rfind(", ", 0, width)  # the comma stays at the end of its line
        if cut < width // 2:
            break
        lines.append(line[:cut + 1])
        line = line[cut + 2:]
    return "\n".join([*lines, textwrap.fill(line, width, break_on_hyphens=True) or line])


def set_title(target: Axes | Figure, text: str, *, width: int = TITLE_CHARS, **kw) -> None:
    """The (wrapped, :func:`wrap_text`) title of an Axes, or the suptitle of a Figure; in a
    caller's Axes at most as many characters a line as the axes is wide. Shown as written:
    titles hold the user's ``--title`` and names from the data, so ``$`` is not Matplotlib's
    math markup (``$\\foo$`` failed the drawing; ``$5 and $6`` set ``5 and`` in italics)."""
    if not text:
        return
    kw.setdefault("parse_math", False)
    if not isinstance(target, Axes):
        target.suptitle(wrap_text(text, width), **kw)
        return
    size = matplotlib.font_manager.FontProperties(
        size=kw.get("fontsize", matplotlib.rcParams["axes.titlesize"])).get_size_in_points()
    if not getattr(target.figure, "_xbarmem_owned", False):
        inches = target.get_window_extent().width / target.figure.dpi
        width = min(width, max(16, int(inches * 72 / (0.6 * size))))
    else:  # (its width fixed: a column's)
        inches = cast(Figure, target.figure).get_figwidth() - TITLE_MARGIN
        width = fitting_chars(text, width, inches, size)
    target.set_title(wrap_text(text, width), **kw)


def title_over_axes(fig: Figure, text: str, **kw: Any) -> None:
    """The title of ``fig`` (:func:`set_title`, keywords ``kw`` as its) centred over the
    figure's visible axes and wrapped to their width, for a figure whose legend lies beside
    them (``fig.legend(loc="outside right upper")``): centred on the whole figure, a title
    ran into that legend. Lays the figure out once (its layout engine places the axes)."""
    if not text:
        return
    set_title(fig, text, **kw)  # (the room it takes at the top moves no axes sideways)
    fig.draw_without_rendering()
    boxes = [ax.get_position() for ax in fig.axes if ax.get_visible()]
    left, right = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    size = matplotlib.font_manager.FontProperties(
        size=kw.get("fontsize", matplotlib.rcParams["figure.titlesize"])).get_size_in_points()
    width = fitting_chars(text, TITLE_CHARS, (right - left) * fig.get_figwidth(), size)
    set_title(fig, text, width=width, x=(left + right) / 2, **kw)


#: what of a figure's width its axes title may not take (inches): the y axis's labels beside
#: the axes, which the title is centred over
TITLE_MARGIN = 0.5


def fitting_chars(text: str, width: int, inches: float, size: float) -> int:
    """The most characters a line (at most ``width``, at least 16) at which every line of
    ``text`` wrapped (:func:`wrap_text`) is at most ``inches`` wide at ``size`` points: a
    title of 60 characters a line is 3.3 to 4.2 in wide at 8 pt, and made the PNG of a
    figure of a column's width (3.5 in) up to 5.7 in wide."""
    measure = matplotlib.textpath.TextToPath().get_text_width_height_descent
    font = matplotlib.font_manager.FontProperties(size=size)
    for chars in range(width, 15, -1):
        if all(measure(shown_text(line), font, ismath=False)[0] <= inches * 72  # (as drawn)
               for line in wrap_text(text, chars).split("\n")):
            return chars
    return 16
