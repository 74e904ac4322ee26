"""``xbarmem results`` over rows alike in every default column: a seed of a hardware-adaptive
sweep trained again in another batch (see the guide's Batching) is stored as a second row of
the same setting with other numbers. The table says what tells such rows apart, and a group
counts a setting once."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import tiny_sweep
from xbarmem.cli.results import _default_columns
from xbarmem.experiments.grouping import group_rows
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import load_sweep


def row(key: str, cosine: float, networks: int, **config) -> dict:
    return {"key": key, "sweep": "s", "trial": "evaluate", "version": "1",
            "config": {"rule": "adaptive", "seed": 0, "n_neurons": 16, "fault_rate": 0.0,
                       **config},
            "result": {"cosine": cosine, "batch": {"networks": networks}}}


def test_rows_of_one_setting_from_two_batches_show_the_batch():
    rows = [row("a" * 64, 0.9, 1), row("b" * 64, 0.8, 2)]
    assert _default_columns(rows)[-1] == "result.batch.networks"


def test_rows_alike_in_every_column_show_the_setting_they_differ_in():
    rows = [row("a" * 64, 0.9, 1, chip_spec={"device": {"write_noise": 1e-6}}),
            row("b" * 64, 0.8, 1, chip_spec={"device": {"write_noise": 2e-6}})]
    assert _default_columns(rows)[-1] == "chip_spec.device.write_noise"


def test_rows_alike_in_everything_show_their_key():
    rows = [row("a" * 64, 0.9, 2), row("b" * 64, 0.8, 2)]
    assert _default_columns(rows)[-1] == "key"


def test_rows_that_differ_in_a_shown_column_add_nothing():
    rows = [row("a" * 64, 0.9, 1), row("b" * 64, 0.8, 2, fault_rate=0.1)]
    assert "result.batch.networks" not in _default_columns(rows)
    assert "key" not in _default_columns(rows)


def test_a_group_counts_one_setting_once():
    rows = [row("a" * 64, 0.9, 1), row("b" * 64, 0.7, 2), row("c" * 64, 0.6, 1, seed=1)]
    (g,) = group_rows(rows, ["rule"])
    assert g["n"] == 2 and g["rows"] == 3 and g["count"]["cosine"] == 2
    assert g["mean"]["cosine"] == pytest.approx((0.8 + 0.6) / 2)  # seed 0 averaged first
    assert g["std"]["cosine"] == pytest.approx(0.2 / 2 ** 0.5)


@pytest.fixture
def twice(tmp_path):
    """A store whose hebb row of seed 0 is stored twice, as a second batch would store it."""
    sweep = tmp_path / "t.toml"
    sweep.write_text(tiny_sweep("t", rules=("hebb", "pinv")))
    store = tmp_path / "s.sqlite"
    run_sweep(load_sweep(sweep), store, jobs=1)
    with sqlite3.connect(store) as db:
        key, result = db.execute("SELECT key, result FROM trials WHERE "
                                 "json_extract(config, '$.rule') = 'hebb'").fetchone()
        again = {**json.loads(result), "cosine": 0.25, "batch": {"networks": 2}}
        db.execute("INSERT INTO trials SELECT ?, sweep, trial, config, ?, version, seconds, "
                   "finished, host, pid FROM trials WHERE key = ?",
                   ("f" * 64, json.dumps(again), key))
    return store


def test_the_table_tells_the_two_rows_apart(twice, run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_cli("results", twice)
    assert code == 0, err
    head = next(line for line in out.splitlines() if "rule" in line)
    assert "result.batch.networks" in head, out
    code, out, err = run_cli("results", twice, "--group-by", "rule")
    assert code == 0, err
    hebb = next(line for line in out.splitlines() if line.strip().startswith("hebb"))
    assert hebb.split()[1] == "1", out  # one setting, not two seeds
    assert "count once" in " ".join(out.split()), out


def test_the_table_of_groups_says_how_it_counts_repeats_only_when_there_are(
        tmp_path, run_cli, monkeypatch):
    """The caption of every grouped table said "rows of one setting, computed in two batches,
    count once", of stores where no setting had two rows: a note about nothing shown. It
    says it where a group holds such rows (above)."""
    monkeypatch.setenv("COLUMNS", "200")
    sweep, store = tmp_path / "t.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("t", rules=("hebb", "pinv")))
    run_sweep(load_sweep(sweep), store, jobs=1)
    code, out, err = run_cli("results", store, "--group-by", "rule")
    assert code == 0, err
    text = " ".join(out.split())
    assert "the mean over the n settings of a group (its seeds)" in text, out
    assert "count once" not in text and "batch" not in text, out
