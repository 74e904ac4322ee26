"""The ticks of figures' axes: log axes labelled with plain numbers up to 99999 and powers of ten
beyond (:class:`PlainLogFormatter`, :func:`log_axes`: an axes with nothing positive to draw
says so), linear axes with few ticks that cover the data (:class:`SparseLocator`,
:func:`linear_xticks`, :func:`linear_yticks`).
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.artist
import matplotlib.axis
import matplotlib.font_manager
import matplotlib.text
import matplotlib.textpath
import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes

from xbarmem.viz.style import REFERENCE_COLOR


def tick_below(v: float) -> float:  # (of log_axes and PlainLogFormatter.edge)
    """The largest tick of a log axis (``m x 10^e``, ``m`` in 1..9) at or below ``v`` > 0."""
    e = math.floor(math.log10(v))
    return math.floor(round(v / 10 ** e, 9)) * 10.0 ** e


def tick_above(v: float) -> float:
    """The smallest tick of a log axis (``m x 10^e``, ``m`` in 1..10) at or above ``v`` > 0."""
    e = math.floor(math.log10(v))
    return math.ceil(round(v / 10 ** e, 9)) * 10.0 ** e


class PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """Log-axis tick labels as plain numbers from 0.001 to 99999 (2, 50, 10000) and as
    powers of ten beyond (10^5, 2 x 10^5): one form on every axis (matplotlib's own mixes
    ``1e4``, ``1e+05`` and ``1000``). Which ticks are labelled is matplotlib's
    choice (``labelOnlyBase``, ``minor_thresholds``) -- and the lowest and the highest tick
    in view (:meth:`edge`), so that no point lies below or above every label
    (:func:`log_axes` widens the limits to ticks)."""

    def __call__(self, x, pos=None) -> str:
        if not super().__call__(x, pos) and not self.edge(x):
            return ""
        return plain_number(x)

    def set_locs(self, locs=None) -> None:
        """Which ticks between decades are labelled, by the decades the axis spans (``d``):
        none past ``minor_thresholds[0]``, 2, 3, 4 and 6 past ``minor_thresholds[1]``,
        every one below -- as matplotlib chose before 3.11, which counts the decade ticks in
        view instead: an axis from 0.9 to 10 (capacities 1, 3, 9) was labelled 1 and 10
        only."""
        super().set_locs(locs)
        axis = self.axis
        if (self.labelOnlyBase or getattr(self, "_sublabels", None) is None or axis is None
                or not hasattr(self, "_base")):  # (another matplotlib's internals: as it chose)
            return
        lo, hi = sorted(axis.get_view_interval())
        if not 0 < lo < hi < math.inf:
            return
        decades, base = math.log(hi / lo, self._base), self._base
        self._sublabels = ({1} if decades > self.minor_thresholds[0] else
                           set(np.round(np.geomspace(1, base, int(base) // 2 + 1)))
                           if decades > self.minor_thresholds[1] else
                           set(np.arange(1, base + 1)))

    def edge(self, x: float) -> bool:
        """Whether ``x`` is the lowest or the highest tick in view, with room for its label:
        no labelled tick (decades always are) within 1.5 label heights of it."""
        axis = self.axis
        if not isinstance(axis, matplotlib.axis.Axis) or not x > 0:
            return False
        lo, hi = sorted(axis.get_view_interval())
        if not 0 < lo < hi:
            return False
        if getattr(axis.axes, "_xbarmem_zeros", False):  # not where the 0s are drawn
            lo *= 1.000001
        if not any(math.isclose(x, t, rel_tol=1e-6) for t in (tick_above(lo), tick_below(hi))):
            return False
        vertical = isinstance(axis, matplotlib.axis.YAxis)
        pixels = axis.axes.bbox.height if vertical else axis.axes.bbox.width
        font = float(axis.majorTicks[0].label1.get_fontsize())
        room = (1.5 if vertical else 4.0) * font * axis.figure.dpi / 72
        near = room / (pixels / (math.log10(hi) - math.log10(lo)))  # in decades
        t, step = x, (tick_above if math.isclose(x, tick_above(lo)) else tick_below)
        while True:  # the ticks inward within ``near``: none labelled (decades always are)
            t = step(t * (1.000001 if step is tick_above else 0.999999))
            if abs(math.log10(t / x)) >= near or not lo <= t <= hi:
                return True
            if math.isclose(math.log10(t), round(math.log10(t)), abs_tol=1e-9) or \
                    super().__call__(t):
                return False


def plain_number(x: float) -> str:
    """``x`` as a tick label: ``f"{x:g}"`` from 0.001 to 99999, else ``m x 10^e`` (mathtext)."""
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = round(x / 10 ** exponent, 6)
    if mantissa == 1:
        return f"$10^{{{exponent}}}$"
    return f"${mantissa:g}\\times10^{{{exponent}}}$"


def measured_ticks(values, *, log: bool) -> list[float] | None:
    """The measured x values as ticks -- unless there are more than 8 of them or two are
    closer than 7% of the axis span (their labels would overlap): then None."""
    values = sorted({float(v) for v in values if not log or v > 0})
    pos = [math.log(v) for v in values] if log else values
    span = pos[-1] - pos[0] if pos else 0.0
    if 0 < len(values) <= 8 and (np.diff(pos) >= 0.07 * span).all():
        return values
    return None


def log_axes(ax: Axes, *, x: bool = True, y: bool = True, xticks=None,
             empty: str = "nothing > 0 to draw on a log axis", counts: bool = False) -> None:
    """Logarithmic axes labelled with plain numbers (:class:`PlainLogFormatter`: 2, 5, 10,
    20, ... rather than 2 x 10^0). ``xticks``: the measured x values (neuron counts N),
    labelled as they are and the only x ticks, so that a point at N = 64 is not read off a
    tick at 60 (:func:`measured_ticks`). An axis with no positive data (every capacity 0)
    gets no ticks and ``empty`` written across the axes -- not matplotlib's warning, an
    empty frame, or (on saving) a ValueError. The limits of a log axis (call it once the
    data are drawn) widen to the nearest tick (``m x 10^e``) outside them where no tick lies
    between a limit and the outermost point, so that every point lies between two ticks, the
    outermost of which are labelled
    (:meth:`PlainLogFormatter.edge`): a capacity of 5 under a lowest label of 6 was read
    off nothing. An axis whose data hold one value > 0 is drawn around it
    (:func:`one_value_axis`); ``counts``: the axes hold counts (integers >= 1: capacities,
    neuron counts), which get no tick below 1."""
    for on, axis, scale, lim, minpos in ((x, ax.xaxis, ax.set_xscale, ax.set_xlim, "minposx"),
                                         (y, ax.yaxis, ax.set_yscale, ax.set_ylim, "minposy")):
        if not on:
            continue
        if not np.isfinite(getattr(ax.dataLim, minpos)):
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center",
                    color=REFERENCE_COLOR)
        # (a shared axis is blank only when every axes sharing it is: its limits and ticks
        # are theirs too, and a panel of 0s had left every panel unlabelled on 1 .. 10)
        shared = _sharing(axis)
        blank = not any(np.isfinite(getattr(a.dataLim, minpos)) for a in shared)
        if blank:  # (still autoscaled when a panel sharing it is drawn later)
            lim(1, 10, auto=len(shared) > 1 or None)
        scale("log")
        axis.set_major_formatter(PlainLogFormatter())
        axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False,
                                                   minor_thresholds=(1.5, 0.6)))
        if blank:  # no value to read off: no tick to misread a point on the axis by
            axis.set_major_locator(matplotlib.ticker.NullLocator())
            axis.set_minor_locator(matplotlib.ticker.NullLocator())
    ticks = measured_ticks(xticks if x and xticks is not None else (), log=True)
    if ticks:
        ax.set_xticks(ticks, labels=[f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    for on, is_y in ((x and not ticks, False), (y, True)):
        if not on or one_value_axis(ax.yaxis if is_y else ax.xaxis, counts=counts):
            continue
        low, high = sorted(ax.get_ylim() if is_y else ax.get_xlim())
        if 0 < low < high < math.inf:  # (still autoscaled when more is drawn)
            boxes = [a.dataLim for a in _sharing(ax.yaxis if is_y else ax.xaxis)]
            first = min([high, *(max(b.y0, b.minposy) if is_y else max(b.x0, b.minposx)
                                 for b in boxes)])
            last = max([low, *(b.y1 if is_y else b.x1 for b in boxes)])
            # the bottom of a y axis with 0s drawn on it (mark_zeros) kept: no tick there
            zeros = is_y and any(getattr(a, "_xbarmem_zeros", False)
                                 for a in _sharing(ax.yaxis))
            (ax.set_ylim if is_y else ax.set_xlim)(
                low if zeros or tick_above(low) <= first else tick_below(low),
                high if tick_below(high) >= last else tick_above(high), auto=True)


def _sharing(axis: matplotlib.axis.Axis) -> list[Axes]:
    """The axes sharing ``axis`` (its own among them): their limits, ticks and labels are
    one."""
    ax = axis.axes
    is_x = isinstance(axis, matplotlib.axis.XAxis)
    return list((ax.get_shared_x_axes() if is_x else ax.get_shared_y_axes()).get_siblings(ax))


def one_value_axis(axis: matplotlib.axis.Axis, *, counts: bool = False) -> bool:
    """Whether the data on ``axis`` (a log axis; of every axes sharing it) hold one value
    ``v`` > 0 (values <= 0 aside): then it is drawn from a tick below ``v / 2`` to one above
    ``2 v`` (:func:`tick_below`, :func:`tick_above`), ticks labelled at ``v`` and at those
    ends (``counts``: not below 1; not the bottom of a y axis with 0s drawn on it,
    :func:`~xbarmem.viz.marks.mark_zeros`; other ticks unlabelled), so that ``v`` is read
    off its own label. Matplotlib spread such an axis a decade each way (a capacity of 1 on
    0.1 .. 10, with a 0.1 label no count can be) or, with margins, drew it 3 .. 3."""
    ax = axis.axes
    is_x = isinstance(axis, matplotlib.axis.XAxis)
    shared = (ax.get_shared_x_axes() if is_x else ax.get_shared_y_axes()).get_siblings(ax)
    low = min(a.dataLim.minposx if is_x else a.dataLim.minposy for a in shared)
    high = max(a.dataLim.x1 if is_x else a.dataLim.y1 for a in shared if a.has_data())
    if not (0 < low < math.inf and math.isclose(low, high, rel_tol=1e-9)):
        return False
    bottom, top = tick_below(low / 2), tick_above(2 * low)
    zeros = not is_x and getattr(ax, "_xbarmem_zeros", False)  # (no label where 0s are)
    labelled = [t for t in ((low, top) if zeros else (bottom, low, top))
                if not counts or t >= 1 - 1e-9]
    (ax.set_xlim if is_x else ax.set_ylim)(bottom, top)
    axis.set_major_locator(matplotlib.ticker.FixedLocator(labelled))
    axis.set_major_formatter(matplotlib.ticker.FixedFormatter(
        [plain_number(t) for t in labelled]))
    minor = matplotlib.ticker.LogLocator(subs=[float(k) for k in range(1, 10)])
    axis.set_minor_locator(AtLeastOneLocator(minor) if counts else minor)
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    return True


class AtLeastOneLocator(matplotlib.ticker.Locator):
    """The ticks of another locator (``inner``) at 1 or above: a count axis' ticks."""

    def __init__(self, inner: matplotlib.ticker.Locator) -> None:
        self.inner = inner

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def __call__(self):
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin, vmax):
        ticks = np.asarray(self.inner.tick_values(vmin, vmax), dtype=float)
        return ticks[ticks >= 1 - 1e-9]


class SparseLocator(matplotlib.ticker.MaxNLocator):
    """At most 6 ticks, fewer on a narrow axis or under a large font (room for labels six
    characters wide, such as 0.0025); integers only with ``integer=True``. The ticks in view
    reach the data's outermost values (of every axes sharing the axis; :func:`covers`): the
    usual ticks when they do, else the most ticks of steps 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x
    10^e that do (at least two), else the usual ticks with the outermost values added (a
    tick closer than half a step to one of them left out): a point at 0.3 past a last tick
    of 0.2 was read off nothing."""

    def __init__(self, *, integer: bool = False) -> None:
        super().__init__(nbins=5, steps=[1, 2, 2.5, 5, 10], integer=integer)

    def tick_values(self, vmin, vmax):
        room = self.axis.get_tick_space() // 2 if self.axis is not None else 5
        room = max(1, min(5, room))
        self.set_params(nbins=room, steps=[1, 2, 2.5, 5, 10])
        usual = super().tick_values(vmin, vmax)
        data = data_interval(self.axis) if self.axis is not None else None
        if data is not None:  # (what lies in view)
            data = (max(data[0], min(vmin, vmax)), min(data[1], max(vmin, vmax)))
        if data is None or data[0] > data[1] or covers(usual, data, (vmin, vmax)):
            return usual
        for step in covering_steps(vmin, vmax, room, integer=self._integer):
            ticks = np.arange(math.ceil(min(vmin, vmax) / step - 1e-9),
                              math.floor(max(vmin, vmax) / step + 1e-9) + 1) * step
            if len(ticks) <= room + 1 and covers(ticks, data, (vmin, vmax), least=2):
                return ticks
        return with_ends(usual, data)


def covering_steps(vmin: float, vmax: float, room: int, *, integer: bool = False
                   ) -> list[float]:
    """Tick steps to try, smallest first: :data:`COVERING_STEPS` times powers of ten, from
    about ``room`` ticks over ``vmin`` .. ``vmax`` to one (integers only with
    ``integer``)."""
    span = abs(vmax - vmin)
    if not span > 0:
        return []
    e = math.floor(math.log10(span / max(room, 1)))
    steps = sorted(m * 10.0 ** k for k in (e - 1, e, e + 1) for m in COVERING_STEPS)
    return [v for v in steps if span / (room + 1) <= v <= span
            and (not integer or float(v).is_integer())]


def with_ends(ticks, data: tuple[float, float]) -> np.ndarray:
    """``ticks`` within ``data`` (``(low, high)``) and the two ends of ``data``; a tick
    closer than half a step to an added end left out (their labels would touch)."""
    ticks = np.asarray(ticks, dtype=float)
    step = float(np.diff(ticks).min()) if ticks.size > 1 else data[1] - data[0]
    inner = ticks[(ticks >= data[0]) & (ticks <= data[1])]
    lo, hi = data
    half = step / 2 * (1 - 1e-6)  # (0.7 - 0.6 is half of 0.2 - 0, but not in floats)
    if inner.size and inner.min() > lo:
        inner = inner[inner - lo >= half]
    if inner.size and inner.max() < hi:
        inner = inner[hi - inner >= half]
    return np.unique(np.concatenate([[lo], inner, [hi]]))


#: tick steps (x 10^e) tried when the usual ones leave a point outside the outermost ticks
COVERING_STEPS = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]


def data_interval(axis: matplotlib.axis.Axis) -> tuple[float, float] | None:
    """The lowest and highest finite data value on ``axis`` over every axes sharing it
    (``dataLim``: points and error bars), or None when nothing is drawn."""
    ax = axis.axes
    x = isinstance(axis, matplotlib.axis.XAxis)
    shared = ax.get_shared_x_axes() if x else ax.get_shared_y_axes()
    spans = [(a.dataLim.intervalx if x else a.dataLim.intervaly)
             for a in shared.get_siblings(ax) if a.has_data()]
    spans = [(lo, hi) for lo, hi in spans if np.isfinite(lo) and np.isfinite(hi)]
    if not spans:
        return None
    return min(lo for lo, _ in spans), max(hi for _, hi in spans)


def covers(ticks, data: tuple[float, float], view: tuple[float, float], least: int = 1
           ) -> bool:
    """Whether at least ``least`` of the ``ticks`` lie in ``view`` and reach both ends of
    ``data`` (``(low, high)``, within a millionth of the span): no point lies below the
    lowest or above the highest."""
    lo, hi = sorted(view)
    slack = 1e-6 * max(hi - lo, 1e-12)
    shown = [t for t in ticks if lo - slack <= t <= hi + slack]
    return (len(shown) >= max(least, 1) and min(shown) <= data[0] + slack
            and max(shown) >= data[1] - slack)


def linear_xticks(ax: Axes, *, integer: bool = False) -> None:
    """A :class:`SparseLocator` on the x axis (``integer``: stored-pattern counts), so that
    labels such as 0.0025 do not run into each other."""
    ax.xaxis.set_major_locator(SparseLocator(integer=integer))


def linear_yticks(ax: Axes) -> None:
    """A :class:`SparseLocator` on the y axis (cosine similarities): its ticks reach the
    lowest and the highest value drawn (matplotlib's left a cosine of 0.97 above a top tick
    of 0.9 and one of 0.46 below a lowest tick of 0.5)."""
    ax.yaxis.set_major_locator(SparseLocator())
