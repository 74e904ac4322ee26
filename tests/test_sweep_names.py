"""A sweep finds its rows by its name, also those another sweep computed first.

A trial is stored once, keyed by its configuration: a second sweep file (another name) whose
grid holds trials already stored reuses their rows ("2 already stored, 0 new rows") -- and is
then one of the sweeps that hold them: ``results --sweep``, ``--where sweep=``, ``plot
--sweep``, ``ResultStore.rows(sweep=...)`` and the counts per sweep show them under its name.
A row's ``sweep`` stays the sweep that computed it; ``sweeps`` lists every sweep that holds it.
Stores written before (no table ``sweep_trials``) read as before, read-only ones too.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from conftest import tiny_sweep

from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep


def _files(folder: Path, faults: list[float] | None = None, **sweeps: tuple[str, ...]
           ) -> dict[str, Path]:
    """One tiny sweep file per name, over the given rules (and ``faults``)."""
    out = {}
    for name, rules in sweeps.items():
        out[name] = folder / f"{name}.toml"
        out[name].write_text(tiny_sweep(name, rules=rules, fault_rates=faults))
    return out


def _keys(path: Path) -> set[str]:
    return {t.key for t in load_sweep(path).trials}


def _json_keys(run_cli, *args) -> set[str]:
    code, out, err = run_cli("results", *args, "--json")
    assert code == 0, err
    return {r["key"] for r in json.loads(out)}


def test_a_second_name_for_one_grid_finds_every_row_by_its_name(run_cli, tmp_path):
    """The reported case: c2 plans the trials c1 stored; nothing is computed again, the
    summary says which sweep computed them, and ``results --sweep c2`` (also ``--where
    sweep=c2``, ``plot --sweep c2``) shows them."""
    files = _files(tmp_path, [0.0, 0.3], c1=("hebb", "pinv"), c2=("hebb", "pinv"))
    store = tmp_path / "s.sqlite"
    assert run_cli("sweep", files["c1"], "--store", store, "--jobs", "1")[0] == 0
    code, out, err = run_cli("sweep", files["c2"], "--store", store, "--jobs", "1")
    assert code == 0, err
    assert "4 trials, 4 already stored (4 by sweep c1), 0 new rows" in out
    assert "100%" in err and "estimating" not in err  # (nothing to run: the bar is full)
    code, out, err = run_cli("sweep", files["c1"], "--store", store, "--jobs", "1", "--json")
    assert code == 0 and json.loads(out)["stored_by"] == {}, err  # (its own rows: not named)
    keys = _keys(files["c2"])
    assert keys == _keys(files["c1"])
    assert _json_keys(run_cli, store, "--sweep", "c2") == keys
    assert _json_keys(run_cli, store, "--where", "sweep=c2") == keys
    code, out, err = run_cli("results", store, "--sweep", "c2", "--json")
    rows = json.loads(out)
    assert {r["sweep"] for r in rows} == {"c1"}  # the sweep that computed them
    assert [r["sweeps"] for r in rows] == [["c1", "c2"]] * 4
    code, out, err = run_cli("results", store, "--sweep", "c2")
    assert code == 0 and "sweep=c1, sweeps=c1,c2" in " ".join(out.split()), err
    code, out, err = run_cli("plot", store, "--kind", "faults", "--sweep", "c2", "--json",
                             "-o", tmp_path / "c2.png")
    assert code == 0 and json.loads(out)["rows"] == 4, err
    with ResultStore(store, readonly=True) as db:
        assert db.sweeps() == {"c1": 4, "c2": 4}
        assert db.count(sweep="c2") == 4 and db.count(["sweep!=c1"]) == 0


def test_a_superset_grid_shows_its_reused_and_its_computed_trials(run_cli, tmp_path):
    """c2's grid holds c1's trial and one more: c2 shows both (one reused, one computed), c1
    its own; summary counts per sweep and exports say the same."""
    files = _files(tmp_path, c1=("hebb",), c2=("hebb", "pinv"))
    store = tmp_path / "s.sqlite"
    run_sweep(load_sweep(files["c1"]), store)
    report = run_sweep(load_sweep(files["c2"]), store)
    assert (report.already, report.inserted, report.stored_by) == (1, 1, {"c1": 1})
    assert _json_keys(run_cli, store, "--sweep", "c2") == _keys(files["c2"])
    assert _json_keys(run_cli, store, "--sweep", "c1") == _keys(files["c1"])
    assert _json_keys(run_cli, store, "--where", "sweep!=c1") == (
        _keys(files["c2"]) - _keys(files["c1"]))
    assert len(_json_keys(run_cli, store, "--where", "sweep~c%")) == 2
    code, out, err = run_cli("results", store, "--sweep", "c2", "--where", "rule=nothing")
    assert code == 0 and "(sweeps in this store: c1 (1), c2 (2))" in " ".join(out.split()), err
    code, _, err = run_cli("results", store, "--sweep", "c3")
    assert code == 2 and "no such sweep" in err and "its sweeps: c1, c2" in err
    with ResultStore(store, readonly=True) as db:
        assert db.sweeps() == {"c1": 1, "c2": 2}
        held = {r["config"]["rule"]: (r["sweep"], r["sweeps"]) for r in db.rows(sweep="c2")}
        assert held == {"hebb": ("c1", ["c1", "c2"]), "pinv": ("c2", ["c2"])}
        db.export(tmp_path / "c2.csv", sweep="c2")
    header, *lines = (tmp_path / "c2.csv").read_text().splitlines()
    assert header.startswith("key,sweep,trial,version,seconds,finished,host,pid,sweeps,")
    assert len(lines) == 2


def _old_store(tmp_path: Path) -> Path:
    """A store as xbarmem wrote it before ``sweep_trials``: sweep c1 (hebb, pinv)."""
    path = tmp_path / "old.sqlite"
    run_sweep(parse_sweep({"sweep": {"name": "c1", "trial": "evaluate", "batch": 1},
                           "base": {"data": "random", "n_neurons": 16, "patterns": 3,
                                    "probes": 2, "max_iterations": 10},
                           "grid": {"rule": ["hebb", "pinv"]}}), path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sweep_trials")
    db.commit()
    db.execute("PRAGMA journal_mode = DELETE")  # (no -wal file beside it)
    db.close()
    return path


def test_a_store_from_before_reads_as_before_and_gains_the_table_when_written(
        run_cli, tmp_path):
    """Read-only: its rows belong to the sweep that computed them, nothing is written (not
    even the new table). Opened by a sweep: the table is added, and a second name reuses."""
    path = _old_store(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err = run_cli("results", path, "--sweep", "c1", "--json")
    assert code == 0 and [r["sweeps"] for r in json.loads(out)] == [["c1"]] * 2, err
    code, _, err = run_cli("results", path, "--sweep", "c2")
    assert code == 2 and "its sweeps: c1" in err
    with ResultStore(path, readonly=True) as db:
        assert db.sweeps() == {"c1": 2} and db.count(["sweep=c1"]) == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite"]
    spec = parse_sweep({"sweep": {"name": "c2", "trial": "evaluate", "batch": 1},
                        "base": {"data": "random", "n_neurons": 16, "patterns": 3,
                                 "probes": 2, "max_iterations": 10},
                        "grid": {"rule": ["hebb", "pinv"]}})
    assert run_sweep(spec, path).already == 2
    with ResultStore(path, readonly=True) as db:
        assert db.sweeps() == {"c1": 2, "c2": 2}


def test_a_read_only_store_shows_a_reusing_sweep(run_cli, tmp_path, monkeypatch):
    """A store in a read-only folder, and one this process cannot write (simulated for
    ``ResultStore``: root ignores chmod), is read without writing anything: ``--sweep`` of the
    sweep that reused the rows works on it."""
    files = _files(tmp_path, c1=("hebb",), c2=("hebb",))
    folder = tmp_path / "ro"
    folder.mkdir()
    store = folder / "s.sqlite"
    for name in ("c1", "c2"):
        run_sweep(load_sweep(files[name]), store)
    assert sorted(os.listdir(folder)) == ["s.sqlite"]
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    store.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _json_keys(run_cli, store, "--sweep", "c2") == _keys(files["c2"])
        code, out, err = run_cli("results", store, "--where", "sweep=c2")
        assert code == 0 and "1 row" in out, err
    finally:
        folder.chmod(stat.S_IRWXU)
        store.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with ResultStore(store, readonly=True) as db:
        assert [r["sweeps"] for r in db.rows(sweep="c2")] == [["c1", "c2"]]
    assert sorted(os.listdir(folder)) == ["s.sqlite"]
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


def test_two_sweeps_of_one_grid_at_once_compute_each_trial_once(tmp_path):
    """c1 and c2 (same trials) run together: every trial is computed once, and each sweep
    holds all of them -- also those the other computed while it waited on their claims."""
    files = _files(tmp_path, c1=("hebb", "pinv"), c2=("hebb", "pinv"))
    store = tmp_path / "s.sqlite"
    ResultStore(store).close()
    reports, errors = [], []
    start = threading.Barrier(2)

    def runner(name: str) -> None:
        try:
            start.wait()
            reports.append(run_sweep(load_sweep(files[name]), store))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(n,)) for n in ("c1", "c2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(reports) == 2, errors
    assert sum(r.inserted for r in reports) == 2
    with ResultStore(store, readonly=True) as db:
        assert db.sweeps() == {"c1": 2, "c2": 2}
        assert {r["key"] for r in db.rows(sweep="c2")} == _keys(files["c2"])


def test_the_api_records_the_sweeps_that_hold_a_row(tmp_path):
    """``add`` of a stored key under another sweep keeps the row and adds the sweep;
    ``hold`` records planned keys, found once stored; bad names are refused."""
    with ResultStore(tmp_path / "s.sqlite") as db:
        config = {"trial": "evaluate", "rule": "hebb"}
        result = {"cosine": 0.9, "exact": 1.0}
        assert db.add([("k1", "a", config, result, {})]) == 1
        assert db.add([("k1", "b", config, {"cosine": 0.1}, {})]) == 0
        db.hold("c", ["k2"])
        assert db.sweeps() == {"a": 1, "b": 1}  # (k2 is not stored)
        assert db.add([("k2", "a", config, result, {})]) == 1
        assert db.sweeps() == {"a": 2, "b": 1, "c": 1}
        [row] = db.rows(sweep="b")
        assert (row["sweep"], row["sweeps"], row["result"]["cosine"]) == ("a", ["a", "b"], 0.9)
        assert [r["key"] for r in db.by_keys(["k2"])] == ["k2"]
        assert db.by_keys(["k2"])[0]["sweeps"] == ["a", "c"]
        with pytest.raises(ConfigError, match="sweep must be a non-empty text"):
            db.hold(" ", ["k1"])
        with pytest.raises(ArgumentError, match="sweep must be a sweep name"):
            db.hold(3, ["k1"])  # type: ignore[arg-type]
        with pytest.raises(ArgumentError, match="keys must be a list of trial keys"):
            db.hold("c", "k1")
        with pytest.raises(ConfigError, match="sweeps lists the sweeps that hold a row"):
            db.rows(["sweeps=a"])


def test_a_sweep_into_a_store_open_read_only_is_refused_naming_it(tmp_path):
    """It would write (its rows, the sweeps that hold them): refused before any work, also
    when every trial is stored, instead of SQLite's "attempt to write a readonly database"."""
    files = _files(tmp_path, c1=("hebb",), c2=("hebb",))
    store = tmp_path / "s.sqlite"
    run_sweep(load_sweep(files["c1"]), store)
    with ResultStore(store, readonly=True) as db:
        for name in ("c1", "c2"):
            with pytest.raises(ConfigError, match="s.sqlite is open read-only: a sweep writes"):
                run_sweep(load_sweep(files[name]), db)
    with ResultStore(store, readonly=True) as db:
        assert db.sweeps() == {"c1": 1}
