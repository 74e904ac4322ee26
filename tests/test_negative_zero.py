"""A fitted exponent or bound that rounds to zero is written 0.00, never -0.00: `scaling` of a
rule whose capacity is flat over N printed ``C ~ N^-0.00`` and drew ``k = -0.00`` in its
legend."""

from __future__ import annotations

import pytest

from tests.test_viz import SCALING, _cap_row
from xbarmem.cli.capacity_output import fit_words, print_scaling
from xbarmem.evaluation.scaling import fit_power_law
from xbarmem.experiments.reproduce.scaling import Scaling
from xbarmem.viz.figures import scaling_plot
from xbarmem.viz.results import plot_rows

FLAT = {"slope": -0.003, "slope_low": -0.004, "slope_high": 0.002, "prefactor": 4.0,
        "r2": 0.1, "points": 3, "confidence": 0.95, "lower_bounds": [], "left_out": []}


def _legend_texts(fig) -> str:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return " ".join(t.get_text() for legend in legends for t in legend.get_texts())


@pytest.mark.parametrize("where", ["scaling figure", "capacity figure", "scaling lines",
                                   "fit words", "reproduce"])
def test_an_exponent_that_rounds_to_zero_has_no_minus_sign(where, capsys):
    caps = [4.0, 4.0, 3.99]  # (a fit of slope about -0.002)
    if where == "scaling figure":
        text = _legend_texts(scaling_plot({**SCALING, "capacity": {"0.9": caps},
                                           "fits": {"0.9": FLAT}}))
    elif where == "capacity figure":
        rows = [_cap_row("pinv", n, c) for n, c in zip((16, 36, 64), caps, strict=True)]
        text = _legend_texts(plot_rows(rows, "capacity"))
    elif where == "scaling lines":
        print_scaling({"sizes": [16, 36, 64], "capacity": {"0.9": [4, 4, 4]},
                       "runs": [{"settings": {}, "capacity": {"0.9": 4}}] * 3,
                       "fits": {"0.9": FLAT},
                       "files": {"png": "s.png", "json": "s.json"}}, "scaling")
        text = capsys.readouterr().out
    elif where == "fit words":
        text = fit_words(FLAT)
    else:
        fit = fit_power_law([16, 36, 64], caps)
        text = Scaling.slope(fit, dict(zip((16, 36, 64), caps, strict=True)))
    assert "0.00" in text and "-0.00" not in text, text
