"""What results tables, filters and figures say of multilayer memories: their hidden widths in
the words of ``--hidden`` (``16-8`` is one memory of two hidden layers; commas separate
architectures there), and said when every row shares them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_SWEEP = """[sweep]
name = "ml"
trial = "evaluate"
seeds = 1

[base]
data = "random"
n_neurons = 16
patterns = 2
probes = 1
max_iterations = 5
arch = "multilayer"
{base}
[rule_options.adaptive]
max_steps = 5

[grid]
fault_rate = [0.0, 0.2]
{grid}
"""


def _store(run_cli, folder: Path, *, base: str = "", grid: str = "") -> Path:
    (folder / "s.toml").write_text(_SWEEP.format(base=base, grid=grid))
    store = folder / "s.sqlite"
    code, _, err = run_cli("sweep", folder / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    return store


def _cells(out: str) -> list[list[str]]:
    return [line.replace("│", " ").split() for line in out.splitlines() if "│" in line]


@pytest.fixture(scope="module")
def widths_store(tmp_path_factory) -> Path:
    """A store of 16-8-4-16 and 16-4-16 memories (grid ``hidden = [[8, 4], 4]``)."""
    import sys

    from xbarmem import cli

    folder = tmp_path_factory.mktemp("widths")
    (folder / "s.toml").write_text(_SWEEP.format(base="", grid="hidden = [[8, 4], 4]"))
    argv = sys.argv
    sys.argv = ["xbarmem", "sweep", str(folder / "s.toml"), "--store", str(folder / "s.sqlite"),
                "--jobs", "1"]
    try:
        cli.main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        sys.argv = argv
    return folder / "s.sqlite"


def test_results_writes_two_hidden_layers_as_hidden_does(run_cli, widths_store):
    """`results` showed the memory of `hidden = [8, 4]` as `8,4`, which `--hidden` reads as two
    memories (`8-4` is one of two layers there, and in `plot`'s legend)."""
    code, out, err = run_cli("results", widths_store)
    assert code == 0, err
    assert sorted(r[0] for r in _cells(out)) == ["4", "4", "8-4", "8-4"], out
    code, out, err = run_cli("results", widths_store, "--group-by", "hidden")
    assert code == 0, err
    groups = [line.split() for line in out.splitlines()
              if line.split()[:1] in (["4"], ["8-4"]) and "groups" not in line]  # (not the title)
    assert [g[:2] for g in groups] == [["4", "2"], ["8-4", "2"]], out


def test_results_where_reads_hidden_widths_as_the_table_writes_them(run_cli, widths_store):
    """`--where hidden=8-4` (the table's and `--hidden`'s words) found no row: only the JSON
    `[8,4]` matched."""
    for value in ("8-4", "[8,4]"):
        code, out, err = run_cli("results", widths_store, "--where", f"hidden={value}")
        assert code == 0, err
        assert "2 rows" in out and "no rows match" not in out, (value, out)
    code, out, err = run_cli("results", widths_store, "--where", "hidden!=8-4")
    assert code == 0, err
    assert "2 rows" in out and "8-4" not in out, out


def test_results_says_the_hidden_widths_every_row_shares(run_cli, tmp_path):
    """A sweep of one multilayer architecture over fault rates showed a table that read as a
    single layer's: no column and no word of the caption said the rows were 16-8-4-16 memories."""
    store = _store(run_cli, tmp_path, base="hidden = [8, 4]")
    code, out, err = run_cli("results", store)
    assert code == 0, err
    caption = " ".join(out.split("same in every row:")[1].split())
    assert "hidden=8-4" in caption, out


def test_a_figure_says_the_hidden_widths_every_row_shares(tmp_path):
    """The faults figure of one multilayer architecture said `multilayer` only: which one?"""
    from xbarmem.viz.series import shared_settings

    rows = [{"trial": "evaluate", "config": {
        "trial": "evaluate", "rule": "adaptive", "arch": "multilayer", "hidden": [8, 4],
        "fault_rate": f, "n_neurons": 16, "seed": 0, "rule_options": {}},
        "result": {"cosine": 1.0}} for f in (0.0, 0.2)]
    title = shared_settings(rows, "fault_rate")
    assert title.startswith("multilayer, hidden widths 8-4"), title
    rows[1]["config"]["hidden"] = 4
    assert "hidden" not in shared_settings(rows, "fault_rate")


def test_capacity_per_device_of_a_lower_bound_is_a_lower_bound(run_cli):
    """`capacity` marked a capacity that is the whole pool `>=6` and printed its capacity per
    1k devices, 6 / 512 devices, as `11.72`: as exact as a measured one."""
    code, out, err = run_cli("capacity", "--data", "random", "--neurons", "16", "--pool", "6",
                             "--rule", "pinv", "--threshold", "0.5", "--trials", "1",
                             "--probes", "2")
    assert code == 0, err
    (row,) = [line.replace("│", " ").split() for line in out.splitlines()
              if "single" in line and "│" in line]
    assert row[:6] == ["single", "512", "1", ">=6", ">=11.72", "3"], out


def test_energy_gives_each_layers_share_of_a_step(run_cli, tmp_path):
    """`energy` of a multilayer memory gave the cost of a step by component only: what the
    hidden layer (tanh outputs through ADCs) costs beside the output layer was nowhere. Each
    layer's share of one step, sync and async; with the step's control and neuron selection
    they add up to the step."""
    import math

    from xbarmem.energy.measure import energy_report, measure

    m = measure(16, arch="multilayer", hidden=[8], data="random", n_patterns=2, probes=2,
                max_steps=5, seed=1)
    rep = energy_report(m, "generic-rram")
    for mode in ("sync", "async"):
        step = rep[mode]["per_step"]
        shares = [layer["per_step"][mode] for layer in rep["layers"]]
        rest = sum(step["energy_breakdown_J"][k] for k in ("control", "select"))
        assert math.isclose(sum(s["energy_J"] for s in shares) + rest, step["energy_J"],
                            rel_tol=1e-12), (mode, shares, step)
        rest = sum(step["latency_breakdown_s"][k] for k in ("control", "select"))
        assert math.isclose(sum(s["latency_s"] for s in shares) + rest, step["latency_s"],
                            rel_tol=1e-12), (mode, shares, step)
    hidden, output = rep["layers"]
    assert hidden["per_step"]["sync"] == hidden["per_step"]["async"]  # a full read in both
    assert output["per_step"]["async"]["energy_J"] < output["per_step"]["sync"]["energy_J"]
    code, out, err = run_cli("energy", "--arch", "multilayer", "--hidden", "8", "--neurons",
                             "16", "--data", "random", "--patterns", "2", "--probes", "2",
                             "--rule-option", "max_steps=5")
    assert code == 0, err
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert any(line.startswith("one step, by layer") for line in lines), out
    assert any(line.startswith("1: 16 -> 8 ") for line in lines), out
    assert any(line.startswith("2: 8 -> 16 ") for line in lines), out


def test_a_figure_says_hidden_widths_that_follow_n():
    """The capacity figure of a sweep of N-N-N memories (`hidden = "1n"`) titled them
    `multilayer` only, where `scaling`'s figure of the same says `multilayer N-N-N`: the
    widths stored (16, 25) differ, their rule is the same."""
    from xbarmem.viz.series import shared_settings

    def rows(widths):
        return [{"trial": "capacity", "config": {
            "trial": "capacity", "rule": "adaptive", "arch": "multilayer", "hidden": h,
            "n_neurons": n, "seed": 0, "rule_options": {}}, "result": {"capacity": {}}}
            for n, h in widths]

    assert shared_settings(rows([(16, 16), (25, 25)]), "n_neurons").startswith(
        "multilayer, hidden width N"), shared_settings(rows([(16, 16), (25, 25)]), "n_neurons")
    assert shared_settings(rows([(16, [32, 16]), (25, [50, 25])]), "n_neurons").startswith(
        "multilayer, hidden widths 2N-N")
    assert "hidden" not in shared_settings(rows([(16, 16), (25, 20)]), "n_neurons")
    assert "hidden" not in shared_settings(rows([(16, 16), (25, [25, 25])]), "n_neurons")


@pytest.mark.parametrize("layers, words", [
    (("1n", 4), "N-4"), ((4, "1n"), "4-N"), (("2n", "1n", 3), "2N-N-3"), (("1n", "1n"), "N-N")])
def test_a_capacity_figure_draws_hidden_widths_that_follow_n_beside_fixed_ones(layers, words):
    """A sweep of memories whose hidden layers mix a multiple of N and a fixed width
    (``hidden = ["1n", 4]``, as ``scaling --hidden 1n-4`` runs them) stores other widths at
    every N: the capacity figure left every row out ("run at one n_neurons only") and named
    no widths. It draws them as one line, ``hidden widths N-4`` (a fixed width as itself)."""
    from xbarmem.viz.series import series_of, shared_settings

    def row(n, widths):
        return {"trial": "capacity", "config": {
            "trial": "capacity", "rule": "adaptive", "arch": "multilayer", "hidden": widths,
            "n_neurons": n, "seed": 0, "rule_options": {}, "thresholds": [0.9]},
            "result": {"capacity": {"0.9": 3}, "points": []}}

    rows = [row(n, [int(w[:-1]) * n if isinstance(w, str) else w for w in layers])
            for n in (16, 25)]
    series = series_of(rows, "capacity")
    assert sum(len(s.rows) for s in series) == 2 and len(series) == 1, series
    assert shared_settings(rows, "n_neurons").startswith(
        f"multilayer, hidden widths {words}"), shared_settings(rows, "n_neurons")


@pytest.mark.parametrize(("depth", "columns"), [(0, 180), (2, 180), (2, 80), (0, "tight")])
def test_a_results_title_keeps_the_store_path_whole(run_cli, tmp_path, monkeypatch, depth,
                                                    columns):
    """A title wider than its table was wrapped to the table's width, inside the store's path
    (``/tmp/pytest-of-root`` / ``/pytest-64/test_a_r`` / ``ead_only_store_show`` ...): now it
    is printed above the table at the terminal's width, so a path that fits stays on one line
    (and a test's reading of the rows no longer depends on how long its folder's name is)."""
    # 180 columns: wider than the title, which is wider than the table; 80 and "tight" (room
    # for `PATH: 2` but not `PATH: 2 rows`): a title wider than the terminal breaks after
    # the path, so its count stays whole
    folder = tmp_path.joinpath(*(["a-rather-long-folder-name"] * depth))
    folder.mkdir(parents=True, exist_ok=True)
    store = _store(run_cli, folder)
    columns = len(f"{store}: 2") + 1 if columns == "tight" else columns
    monkeypatch.setenv("COLUMNS", str(columns))
    for extra in ((), ("--group-by", "fault_rate")):
        code, out, err = run_cli("results", store, *extra)
        assert code == 0, err
        lines = out.splitlines()
        assert any(str(store) in line for line in lines) or len(str(store)) > columns, out
        assert any(re.search(r"(^|: )2 rows( in 2 groups)?$", line.strip()) for line in lines), out


def test_train_does_not_say_a_memory_cannot_store_more_patterns_than_neurons(run_cli, tmp_path):
    """Without --patterns, train refused a file of more patterns than neurons saying it held
    "more than a memory of 20 neurons can store": false of multilayer memories, which store
    more patterns than neurons (their superlinear capacity), and train stores them when
    --patterns gives the count. The refusal says the default's rule and the count to give."""
    import numpy as np

    path, model = tmp_path / "p.npy", tmp_path / "m.safetensors"
    rng = np.random.default_rng(0)
    np.save(path, np.where(rng.random((30, 20)) < 0.5, -1.0, 1.0).astype(np.float32))
    code, _, err = run_cli("train", "--data", path, "--arch", "multilayer", "--hidden", "1n",
                           "-o", model)
    assert code == 2 and "can store" not in err, err
    assert "choose how many with --patterns N (any number up to 30)" in err, err
    assert not model.exists()
    code, out, err = run_cli("train", "--data", path, "--patterns", 30, "--arch", "multilayer",
                             "--hidden", "1n", "--rule-option", "max_steps=5",
                             "--rule-option", "finetune_steps=0", "-o", model)
    assert code == 0 and "30 patterns, N=20 (20-20-20)" in " ".join(out.split()), err


@pytest.mark.parametrize("value", ['"4"', '"wide"', '{"a":4}'])
def test_results_where_refuses_a_text_or_object_for_hidden_widths(run_cli, widths_store, value):
    """A field holding lists (and numbers) read as holding texts, since SQLite gives a list as
    its JSON text: `--where hidden='"4"'` matched no row silently instead of being refused."""
    code, out, err = run_cli("results", widths_store, "--where", f"hidden={value}")
    assert code == 2 and out == "", (out, err)
    assert "hidden holds lists and numbers in" in err and len(err.strip().splitlines()) == 1, err
