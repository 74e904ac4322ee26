"""Results, figures and exports of stores and models not seen before: settings that vary
along a figure's lines without making a facet (they follow from the x axis or the rule)."""

from __future__ import annotations

import json

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


@pytest.fixture(scope="module")
def chip_store(tmp_path_factory):
    """A sweep leaving ``fault_rate`` to three chips: none stuck, rram's rates, and a chip
    file whose rates 0.1 + 0.2 add up to 0.30000000000000004 in floating point."""
    from tests.test_experiments import tiny
    from xbarmem.experiments.runner import run_sweep
    from xbarmem.experiments.sweep import parse_sweep
    from xbarmem.hardware.chip import load_preset

    folder = tmp_path_factory.mktemp("chips")
    chip = folder / "odd.toml"
    spec = load_preset("paper-sim")
    chip.write_text(f'name = "odd"\n[device]\ng_min = {spec.device.g_min}\n'
                    f"g_max = {spec.device.g_max}\np_stuck_on = 0.1\np_stuck_off = 0.2\n"
                    '[array]\nrows = 64\ncols = 64\nfault_model = "weight"\n')
    table = tiny(seeds=1, faults=(0.0,), rules=("hebb",))
    del table["grid"]["fault_rate"], table["rule_options"]
    table["grid"]["chip"] = ["paper-sim", "rram", str(chip)]
    store = folder / "chips.sqlite"
    run_sweep(parse_sweep(table), store, jobs=1)
    rram = load_preset("rram").device
    return store, {"paper-sim": 0.0, "rram": rram.p_stuck_on + rram.p_stuck_off,
                   str(chip): 0.3}


@pytest.mark.parametrize("chip", ["paper-sim", "rram", "odd"])
def test_a_fault_rate_left_to_the_chip_is_read_alike_by_every_reader(chip_store, chip,
                                                                     run_cli):
    """`results` showed the chip's stuck rates' sum in a row's fault_rate column (and `plot`
    drew it there), but `--where fault_rate=0` kept no such row and `--group-by fault_rate`
    made a group `-` of them: every reader now reads the chip's rate."""
    from xbarmem.experiments.grouping import group_rows
    from xbarmem.experiments.store import ResultStore

    store, rates = chip_store
    name = next(c for c in rates if c.endswith(chip) or c.endswith(f"{chip}.toml"))
    rate = rates[name]
    with ResultStore(store, readonly=True) as db:
        rows = [r for r in db.rows() if r["config"]["chip"] == name]
        assert len(rows) == 1 and rows[0]["config"]["fault_rate"] is None
        kept = db.rows(where=[f"fault_rate={rate:g}"])
        assert [r["key"] for r in kept] == [rows[0]["key"]]
        groups = group_rows(db.rows(), ["fault_rate"])
    assert any(g["group"] == {"fault_rate": pytest.approx(rate)} and g["rows"] == 1
               for g in groups), groups
    code, out, err = run_cli("results", store, "--where", f"fault_rate={rate:g}", "--json")
    assert code == 0, err
    assert [r["key"] for r in json.loads(out)] == [rows[0]["key"]]


@pytest.mark.parametrize("given", [0.1, 0.3])
def test_a_pooled_fault_rate_left_to_the_chip_is_the_chip_s_rate(given):
    """`results --group-by` named a fault rate left to the chip as pooled `-` beside the rate
    the other rows asked for, even where the chip's stuck rates add up to that rate: the
    pooled note now reads the chip's rate, as `--where` and `--group-by fault_rate` do."""
    from xbarmem.experiments.grouping import group_rows

    def row(rate, seed):
        device = {"p_stuck_on": 0.05, "p_stuck_off": 0.05}  # (the chip's own: 0.1 in all)
        return {"key": f"k{seed}", "config": {"rule": "hebb", "seed": seed, "fault_rate": rate,
                                              "chip_spec": {"device": device}},
                "result": {"cosine": 0.5}}

    (group,) = group_rows([row(None, 0), row(given, 1)], ["rule"])
    expected = {} if given == 0.1 else {"fault_rate": [0.1, 0.3]}
    assert group["pooled"] == expected, group
