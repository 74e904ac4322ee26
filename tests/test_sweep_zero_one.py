"""A sweep over a user's patterns stored as 0/1 (or grey levels in [0, 1]): the trial option
``zero_one`` (``[base]`` or ``[grid]``), read as every command's ``--zero-one`` reads a file
(2*x - 1), held by a trial (and its key) only when true, so stores written before resume
with no trial run again."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import refused

from xbarmem.errors import ConfigError
from xbarmem.experiments.batches import plan_groups
from xbarmem.experiments.grouping import field, group_rows
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep
from xbarmem.experiments.trial import _pool, stored_patterns
from xbarmem.viz.series import facet_label, shared_settings

STORES = Path(__file__).parent / "stores"
#: the hint of a message of the library pointing at --zero-one, in a sweep's words
IN_FILE = "(sweep file: zero_one = true, in [base] or [grid])"


def _bits(rows: int = 5, n: int = 16, seed: int = 0) -> np.ndarray:
    """A {0, 1} matrix without repeated or all-equal rows."""
    rng = np.random.default_rng(seed)
    return (rng.random((rows, n)) > 0.5).astype(np.float32)


def _sweep(data: Path | str, trial: str = "evaluate", **base) -> dict:
    """Sweep tables of one small trial of ``data`` (pinv: deterministic, fast)."""
    head = {"n_neurons": 16, "probes": 2, "max_iterations": 10, "rule": "pinv"}
    head.update({"patterns": 3, "selection": "first"} if trial == "evaluate"
                else {"counts": [2, 3]})
    return {"sweep": {"name": "z", "trial": trial, "seeds": 1, "batch": 4},
            "base": {"data": str(data), **head, **base}}


def _toml(tables: dict) -> str:
    """``tables`` (two levels, values JSON-able) as TOML text."""
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def test_a_sweep_reads_a_zero_one_file_as_2x_minus_1(tmp_path):
    """A {0, 1} file was refused by a sweep (binary patterns must be +-1) and ``zero_one`` was
    an unknown key: now ``zero_one = true`` reads it as ``train --zero-one`` does, for
    evaluate and capacity trials alike, and the trials store it."""
    bits = _bits()
    np.save(tmp_path / "bits.npy", bits)
    with pytest.raises(ConfigError, match=r"\{0,1\}; pass zero_one=True"):
        parse_sweep(_sweep(tmp_path / "bits.npy"))
    spec = parse_sweep(_sweep(tmp_path / "bits.npy", zero_one=True))
    (trial,) = spec.trials
    assert trial.config["zero_one"] is True
    assert np.array_equal(stored_patterns(trial.config).patterns, 2 * bits[:3] - 1)
    capacity = parse_sweep(_sweep(tmp_path / "bits.npy", "capacity", zero_one=True))
    assert np.array_equal(_pool(capacity.trials[0].config, None).patterns, 2 * bits - 1)
    report = run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    assert (report.inserted, report.failures) == (1, [])
    with ResultStore(tmp_path / "s.sqlite") as db:
        (row,) = db.rows()
    assert row["config"]["zero_one"] is True and row["result"]["exact"] == 1.0


#: the warning of grey levels in [0, 1] read as they are, what the trials without zero_one do
GREY_AS_THEY_ARE = "ignore:.*every value lies in \\[0, 1\\]"


@pytest.mark.filterwarnings(GREY_AS_THEY_ARE)
def test_zero_one_is_a_grid_dimension_of_data_keyed_only_when_true(tmp_path):
    """A grid over ``zero_one`` of grey levels in [0, 1] gives two trials, of other patterns;
    the one reading them as they are holds no ``zero_one`` (its key and row are those of a
    sweep without the key), and the two train in one batch, as trials differing in their data
    do."""
    grey = np.random.default_rng(1).random((4, 16)).astype(np.float32)
    np.save(tmp_path / "grey.npy", grey)
    tables = _sweep(tmp_path / "grey.npy", kind="continuous")
    plain = parse_sweep(tables)
    explicit = parse_sweep({**tables, "base": {**tables["base"], "zero_one": False}})
    swept = parse_sweep({**tables, "grid": {"zero_one": [False, True]}})
    assert [t.key for t in explicit.trials] == [t.key for t in plain.trials]
    assert "zero_one" not in plain.trials[0].config
    by = {t.config.get("zero_one", False): t for t in swept.trials}
    assert by[False].key == plain.trials[0].key and by[True].config["zero_one"] is True
    assert np.allclose(stored_patterns(by[True].config).patterns, 2 * grey[:3] - 1)
    assert np.allclose(stored_patterns(by[False].config).patterns, grey[:3])
    assert len(plan_groups(swept.trials, swept.batch)) == 1


@pytest.mark.parametrize("value", ["yes", 1, 0, "true", [True]])
def test_a_zero_one_that_is_no_truth_value_is_refused_as_other_flags_are(tmp_path, value):
    """``zero_one`` takes true or false only, as ``search`` does (no 1, no "yes")."""
    np.save(tmp_path / "bits.npy", _bits())
    with pytest.raises(ConfigError, match=rf"\[base\] zero_one must be true or false, got "
                                          rf"{_shown(value)}"):
        parse_sweep(_sweep(tmp_path / "bits.npy", zero_one=value))
    tables = {**_sweep(tmp_path / "bits.npy"), "grid": {"zero_one": [True, "yes"]}}
    with pytest.raises(ConfigError, match=r"\[grid\] zero_one must be true or false, got "
                                          r"'yes'"):
        parse_sweep(tables)


def _shown(value) -> str:
    import re

    return re.escape(repr(value)) if not isinstance(value, list) else r"\[True\]"


@pytest.mark.parametrize("data", ["mnist", "digits", "random", "correlated-0.2"])
def test_zero_one_of_built_in_or_drawn_patterns_is_refused_at_planning(data):
    """Built-in sets and drawn patterns are +-1 already: ``zero_one`` is refused, as the
    commands refuse ``--zero-one`` without ``--data FILE``."""
    tables = _sweep(data, zero_one=True)
    tables["base"]["n_neurons"] = 64
    with pytest.raises(ConfigError, match=r"zero_one = true: reads a pattern file's values in "
                                          rf"\[0, 1\]; data '{data}' is (built in|drawn)"):
        parse_sweep(tables)


def test_zero_one_of_a_file_not_in_0_1_is_refused_before_any_trial(run_cli, tmp_path):
    """A continuous file of values in [-1, 1], or one of 8-bit images, read with ``zero_one``
    is refused as ``train --zero-one`` refuses it, when the sweep is planned: one line, exit 2,
    no store made."""
    rng = np.random.default_rng(2)
    np.save(tmp_path / "signed.npy", (rng.random((4, 16)) * 2 - 1).astype(np.float32))
    np.save(tmp_path / "images.npy", rng.integers(0, 256, (4, 16)).astype(np.uint8))
    cases = {"signed.npy": "continuous patterns read with zero_one=True (sweep file: "
                           "zero_one = true, in [base] or [grid]) must lie in [0, 1]",
             "images.npy": "whatever zero_one, which reads values in [0, 1]: drop "
                           f"zero_one=True {IN_FILE}"}
    for name, said in cases.items():
        (tmp_path / "s.toml").write_text(_toml(_sweep(tmp_path / name, kind="continuous",
                                                      zero_one=True)))
        line = refused(run_cli, tmp_path, "sweep", tmp_path / "s.toml", "--store",
                       tmp_path / "s.sqlite", names=(said, "zero_one=True"))
        assert not (tmp_path / "s.sqlite").exists(), line


def test_a_sweep_is_told_the_key_of_its_file_where_commands_are_told_their_option(
        run_cli, tmp_path):
    """A library message's ``(CLI: --zero-one)`` said ``(xbarmem sweep has no --zero-one)`` to
    a sweep: it now names the sweep file's key (the [0, 1] warning, the refusal of a {0, 1}
    file), and ``(CLI: --kind continuous)`` its ``kind = "continuous"``."""
    np.save(tmp_path / "grey.npy", np.linspace(0.0, 1.0, 48, dtype=np.float32).reshape(3, 16))
    np.save(tmp_path / "bits.npy", _bits())
    (tmp_path / "s.toml").write_text(_toml(_sweep(tmp_path / "grey.npy", kind="continuous")))
    code, _, err = run_cli("sweep", tmp_path / "s.toml", "--dry-run")
    assert code == 0, err
    line = next(line for line in err.splitlines() if "every value lies in [0, 1]" in line)
    assert line.endswith(f"as 2*x - 1 with zero_one=True {IN_FILE}"), line
    (tmp_path / "s.toml").write_text(_toml(_sweep(tmp_path / "bits.npy")))
    refused(run_cli, tmp_path, "sweep", tmp_path / "s.toml", "--dry-run",
            names=(f"pass zero_one=True {IN_FILE} to map 0->-1, 1->+1",))
    (tmp_path / "s.toml").write_text(_toml(_sweep(tmp_path / "grey.npy")))
    refused(run_cli, tmp_path, "sweep", tmp_path / "s.toml", "--dry-run",
            names=('continuous data: kind=\'continuous\' (sweep file: kind = "continuous", '
                   'in [base] or [grid])',))
    code, _, err = run_cli("train", "--data", tmp_path / "bits.npy", "--neurons", "16",
                           "--patterns", "3", "--rule", "pinv", "--out", tmp_path / "m.safetensors")
    assert code == 2 and "pass zero_one=True (CLI: --zero-one) to map" in err, err


def test_a_dry_run_and_the_option_list_say_zero_one(run_cli, tmp_path):
    """``sweep --dry-run`` counts the trials that read their file with ``zero_one`` (said
    only when some does); ``--list-options`` lists the key."""
    np.save(tmp_path / "grey.npy", np.random.default_rng(3).random((4, 16)).astype(np.float32))
    tables = {**_sweep(tmp_path / "grey.npy", kind="continuous"),
              "grid": {"zero_one": [False, True], "probes": [2, 3]}}
    (tmp_path / "s.toml").write_text(_toml(tables))
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["zero_one_trials"] == 2 and json.loads(out)["total"] == 4
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--dry-run")
    assert code == 0 and "trials with zero_one   2" in out, out + err
    (tmp_path / "s.toml").write_text(_toml(_sweep(tmp_path / "grey.npy", kind="continuous")))
    code, out, _ = run_cli("sweep", tmp_path / "s.toml", "--dry-run", "--json")
    assert "zero_one_trials" not in json.loads(out)
    code, out, _ = run_cli("sweep", "--list-options")
    assert code == 0 and any(line.startswith("zero_one: ") for line in out.splitlines()), out


@pytest.mark.filterwarnings(GREY_AS_THEY_ARE)
def test_results_and_plots_show_zero_one_where_a_row_sets_it(run_cli, tmp_path):
    """``results`` shows ``zero_one`` as a column where rows differ in it and in its caption
    where every row sets it; a row without it reads as false (``--where``, ``--group-by``);
    a figure's facets and title say it in words."""
    np.save(tmp_path / "grey.npy", np.random.default_rng(4).random((4, 16)).astype(np.float32))
    tables = {**_sweep(tmp_path / "grey.npy", kind="continuous"),
              "grid": {"zero_one": [False, True]}}
    store = tmp_path / "s.sqlite"
    run_sweep(parse_sweep(tables), store, jobs=1)
    code, out, err = run_cli("results", store)
    assert code == 0, err
    header = next(line for line in out.splitlines() if "cosine" in line)  # (the store's
    assert "zero_one" in header and "│ false" in out and "│ true" in out, out  # path may wrap)
    code, out, err = run_cli("results", store, "--where", "zero_one=false", "--json")
    assert code == 0 and len(json.loads(out)) == 1, err
    with ResultStore(store) as db:
        rows = db.rows()
    groups = group_rows(rows, ["zero_one"])
    assert [(g["group"]["zero_one"], g["n"]) for g in groups] == [(False, 1), (True, 1)]
    labels = {facet_label((("zero_one", field(r, "zero_one")),)) for r in rows}
    assert labels == {"values as stored", "values in [0, 1] read as 2x - 1"}
    assert "values in [0, 1] read as 2x - 1" in shared_settings(
        [r for r in rows if "zero_one" in r["config"]], "patterns")
    assert "2x - 1" not in shared_settings(
        [r for r in rows if "zero_one" not in r["config"]], "patterns")
    code, out, err = run_cli("results", store, "--where", "zero_one=true")
    assert code == 0 and "zero_one=true" in " ".join(out.split()), out
    code, out, err = run_cli("results", store, "--where", "zero_one=false")
    assert code == 0 and "zero_one" not in out, out


def test_a_store_written_before_sweeps_had_zero_one_resumes_with_no_trial_run(
        tmp_path, monkeypatch):
    """A store written by the code before this change (main at f5f7b65: an evaluate sweep of
    a pattern file, binary and continuous, two seeds, and a capacity curve of it; its SQL
    dump, hosts blanked) resumes under this code with every trial found stored, and a grid
    adding ``zero_one = false`` beside it plans the same trials."""
    monkeypatch.chdir(tmp_path)  # (the sweeps name their file relative to it: pats.csv)
    shutil.copy(STORES / "old-file-patterns.csv", tmp_path / "pats.csv")
    store = tmp_path / "main.sqlite"
    with sqlite3.connect(store) as db:
        db.executescript((STORES / "main-f5f7b65-file.sql").read_text())
    for name, count in (("old-file", 4), ("old-file-capacity", 1)):
        shutil.copy(STORES / f"{name}.toml", tmp_path)
        spec = load_sweep(tmp_path / f"{name}.toml")
        report = run_sweep(spec, store, jobs=1)
        assert (report.ran, report.inserted, report.already) == (0, 0, count), name
        table = spec.as_dict()
        table["grid"] = {**table.get("grid", {}), "zero_one": [False]}
        assert [t.key for t in parse_sweep(table).trials] == [t.key for t in spec.trials]
    with ResultStore(store) as db:
        assert all("zero_one" not in r["config"] for r in db.rows())
