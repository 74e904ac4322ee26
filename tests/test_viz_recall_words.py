"""A figure's lines recalled under other cues or neurons say them in their labels: a grid over
the pattern kind recalls binary patterns from flipped cues with sign neurons and continuous ones
from Gaussian-noise cues with tanh neurons, and a legend of ``binary patterns`` / ``continuous
patterns`` alone said neither. Lines sharing their cues and neurons read as before."""

from __future__ import annotations

import pytest

from tests.test_viz import _eval_row
from xbarmem.viz.results import plot_rows
from xbarmem.viz.series import facet_label, series_of

#: how each pattern kind is recalled by default (as a sweep's rows record it)
RECALL = {"binary": {"corruption": "flip", "level": 0.1, "activation": "sign"},
          "continuous": {"corruption": "gaussian", "level": 0.6, "activation": "tanh"}}


def _labels(fig) -> list[str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return [t.get_text().replace("\n", " ") for t in legend.get_texts()]


def _titles(fig) -> list[str]:
    return [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_visible()]


def _rows(lines: dict[str, dict], rules=("hebb",)) -> list[dict]:
    return [_eval_row(rule, f, 0.9 - f / 2 - i / 10, **extra) for rule in rules
            for i, extra in enumerate(lines.values()) for f in (0.0, 0.2, 0.4)]


CASES = {
    "kind": ({"b": {"kind": "binary", **RECALL["binary"]},
              "c": {"kind": "continuous", **RECALL["continuous"]}},
             ["binary patterns, 10% flips, sign neurons",
              "continuous patterns, Gaussian noise sigma = 0.6, tanh neurons"]),
    "kind, one neuron": ({"b": {"kind": "binary", **RECALL["binary"], "activation": "tanh"},
                          "c": {"kind": "continuous", **RECALL["continuous"]}},
                         ["binary patterns, 10% flips",
                          "continuous patterns, Gaussian noise sigma = 0.6"]),
    "kind, one cue level": ({"b": {"kind": "binary", "corruption": "occlude", "level": 0.3,
                                   "activation": "sign"},
                             "c": {"kind": "continuous", "corruption": "gaussian",
                                   "level": 0.3, "activation": "sign"}},
                            ["binary patterns, 30% occluded",
                             "continuous patterns, Gaussian noise sigma = 0.3"]),
    "cue pairs": ({"f": {"corruption": "flip", "level": 0.1},
                   "g": {"corruption": "gaussian", "level": 0.6}},
                  ["10% flips", "Gaussian noise sigma = 0.6"]),
}


@pytest.mark.parametrize("case", CASES)
def test_lines_of_other_cues_or_neurons_say_them(case):
    lines, words = CASES[case]
    assert sorted(_labels(plot_rows(_rows(lines), "faults"))) == words


@pytest.mark.parametrize("case", ["kind", "cue pairs"])
def test_panels_of_other_cues_or_neurons_say_them(case):
    lines, words = CASES[case]
    fig = plot_rows(_rows(lines, rules=("hebb", "pinv")), "faults")
    assert sorted(t for t in _titles(fig) if t) == words


ALIKE = {
    "one kind, two levels": {"a": {"kind": "binary", "corruption": "flip", "level": 0.05},
                             "b": {"kind": "binary", "corruption": "flip", "level": 0.2}},
    "one kind, two N": {"a": {"kind": "binary", **RECALL["binary"], "n_neurons": 16},
                        "b": {"kind": "binary", **RECALL["binary"], "n_neurons": 25}},
    "one kind, two neurons": {"a": {"kind": "continuous", "activation": "sign"},
                              "b": {"kind": "continuous", "activation": "tanh"}},
    "two kinds, one recall": {"a": {"kind": "binary", **RECALL["continuous"]},
                              "b": {"kind": "continuous", **RECALL["continuous"]}},
}


@pytest.mark.parametrize("case", ALIKE)
def test_lines_of_shared_cues_and_neurons_read_as_before(case):
    rows = _rows(ALIKE[case])
    before = sorted(facet_label(s.facet, rows) for s in series_of(rows, "faults"))
    assert sorted(_labels(plot_rows(rows, "faults"))) == before


def _titled(pairs: list[tuple[str, float, dict]]) -> str:
    """The default title of a faults figure of (rule, fault rate, recall settings) rows."""
    rows = [_eval_row(rule, f, 0.9 - f / 2, **extra) for rule, f, extra in pairs]
    return plot_rows(rows, "faults").axes[0].get_title().replace("\n", "; ")


UNSAID = {
    "by rule": ([(rule, f, {"kind": kind, **RECALL[kind]}) for rule, kind in
                 (("hebb", "binary"), ("pinv", "continuous")) for f in (0.0, 0.2, 0.4)],
                "hebb: 10% flips; pinv: Gaussian noise sigma = 0.6"),
    "by x": ([("hebb", f, RECALL["binary"] if f < 0.3 else RECALL["continuous"])
              for f in (0.0, 0.2, 0.4, 0.6)],
             "10% flips at stuck fraction 0, 0.2; Gaussian noise sigma = 0.6 at stuck "
             "fraction 0.4, 0.6"),
}


@pytest.mark.parametrize("case", UNSAID)
def test_a_title_says_each_cue_once_with_its_level(case):
    """Cues that vary along the lines without a facet are said in the title as cues (``hebb:
    10% flips``), not as a level and a corruption apart (``hebb: corruption level 0.1; pinv:
    corruption level 0.6; hebb: flipped cues; pinv: Gaussian-noise cues``)."""
    pairs, words = UNSAID[case]
    title = _titled(pairs)
    assert words in title and "corruption level" not in title and " cues" not in title, title
