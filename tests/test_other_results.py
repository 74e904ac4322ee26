"""Results, figures and exports of stores and models not seen before: settings that vary
along a figure's lines without making a facet (they follow from the x axis or the rule)."""

from __future__ import annotations

import pytest

from tests.test_viz import _cap_row, _eval_row
from xbarmem.viz.results import plot_rows


def _title(fig) -> str:
    return fig._suptitle.get_text() if fig._suptitle else fig.axes[0].get_title()


#: (rows, kind, words the title must hold): a setting that follows from the rule (a union of
#: grids, one per rule) or from the x axis (two sweeps of one store, each at its own x values)
UNSAID = [
    pytest.param([_eval_row("hebb", f, 0.9 - f / 4, seed=s, level=0.05, corruption="flip")
                  for f in (0.0, 0.3) for s in range(2)]
                 + [_eval_row("pinv", f, 0.95 - f / 8, seed=s, level=0.2, corruption="flip")
                    for f in (0.0, 0.3) for s in range(2)],
                 "faults", ["hebb: 5% flips", "pinv: 20% flips"], id="level-by-rule"),
    pytest.param([_eval_row("hebb", f, 0.9 - f / 4, seed=s) for f in (0.0, 0.3)
                  for s in range(2)]
                 + [_eval_row("hebb", f, 0.5, seed=s, patterns=12) for f in (0.9, 1.0)
                    for s in range(2)],
                 "faults", ["P = 3 at stuck fraction 0, 0.3", "P = 12 at stuck fraction 0.9, 1"],
                 id="patterns-by-fault-rate"),
    pytest.param([_eval_row(r, 0.1, 0.9, seed=s, variation=v, probes=5 if r == "hebb" else 20)
                  for r in ("hebb", "pinv") for v in (0.0, 0.2) for s in range(2)],
                 "variation", ["hebb: 5 cues per pattern", "pinv: 20 cues per pattern"],
                 id="probes-by-rule"),
    pytest.param([_cap_row("pinv", n, n // 4, seed=s, pool=1000 if n < 40 else 2000)
                  for n in (16, 36, 64) for s in range(2)],
                 "capacity", ["pool=1000 at N 16, 36", "pool=2000 at N 64"],
                 id="pool-by-n"),
]


@pytest.mark.parametrize(("rows", "kind", "words"), UNSAID)
def test_a_setting_varying_along_the_lines_is_said_in_the_title(rows, kind, words):
    """`xbarmem plot` of a store whose rows differ in a setting that follows from the x axis
    or the rule (a union of grids giving each rule its own level; two sweeps stored at other
    fault rates and pattern counts) drew one line through points of different settings,
    and neither the title (settings every row shares) nor a facet named the setting."""
    title = _title(plot_rows(rows, kind))
    for word in words:
        assert word in title, title


def _curve_row(rule, counts, seed=0):
    """A capacity row of fixed counts (its keys of a capacity trial only: counts, search)."""
    row = _cap_row(rule, 16, counts[-1], seed=seed, search=False, counts=counts,
                   cue_budget=0, patterns=None)
    row["result"]["points"] = [{"count": c, "cosine": 1.0 - c / 20} for c in counts]
    return row


@pytest.mark.parametrize("kind", ["faults", "capacity", "patterns", "panels"])
def test_a_figure_whose_settings_are_all_said_keeps_its_title(kind):
    """Rows whose other settings are shared, or facets (panels), add no such line; nor do
    settings of one trial kind only (a capacity curve's counts beside evaluate rows)."""
    rows = {
        "faults": [_eval_row(r, f, 0.9, seed=s) for r in ("hebb", "pinv") for f in (0.0, 0.3)
                   for s in range(2)],
        "capacity": [_cap_row("pinv", n, n // 4, seed=s) for n in (16, 36) for s in range(2)],
        "patterns": [_eval_row("hebb", 0.0, 0.9, seed=s, patterns=p, selection="random")
                     for p in (2, 4) for s in range(2)]
        + [_curve_row("hebb", [2, 4, 6], seed=s) for s in range(2)],
        "panels": [_eval_row(r, f, 0.9, seed=s, level=lv) for r in ("hebb", "pinv")
                   for f in (0.0, 0.3) for lv in (0.05, 0.1) for s in range(2)],
    }[kind]
    title = _title(plot_rows(rows, "faults" if kind == "panels" else kind))
    assert " at " not in title and ": " not in title, title
