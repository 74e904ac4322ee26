"""Rows of a results store edited by hand: every command reading them (``results``, its
``--group-by`` and ``--csv``, ``plot``) refuses in one line naming the store, the row and the
field -- malformed JSON, nesting too deep, NaN / Infinity / 1e999, a text where a number goes,
a list where a table goes, a key figures need missing -- instead of a traceback, a silently
skipped row or a wrong figure; one reader (``fields.read_payloads``) behind them all. The
energy measurement ``reproduce`` keeps beside its report is read the same way."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import refused, tiny_sweep
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.experiments.reproduce.energy import _cached
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store holding evaluate rows (2 rules x 2 fault rates x 2 seeds) and capacity rows."""
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    base = {"data": "random", "n_neurons": 16, "probes": 2}
    run_sweep(parse_sweep({
        "sweep": {"name": "faults", "trial": "evaluate", "seeds": 2},
        "base": {**base, "patterns": 3, "level": 0.05, "max_iterations": 10},
        "grid": {"rule": ["hebb", "pinv"], "fault_rate": [0.0, 0.3]}}), path)
    run_sweep(parse_sweep({
        "sweep": {"name": "cap", "trial": "capacity", "seeds": 1},
        "base": {**base, "counts": [1, 2, 4]},
        "grid": {"rule": ["hebb", "pinv"], "n_neurons": [16, 25]}}), path)
    return path


def _with(key, value):
    return lambda text: json.dumps({**json.loads(text), key: value})


def _text(old, new):
    return lambda text: text.replace(old, new, 1)


DEEP = "[" * 5000 + "]" * 5000
EDITS = {  # name -> (trial kind, column, edit of its JSON text, words of the message)
    "config not JSON": ("evaluate", "config", lambda t: "{not json", "config is not valid JSON"),
    "result a list": ("evaluate", "result", lambda t: "[1, 2]", "result must be a JSON object"),
    "nested too deep": ("evaluate", "result", lambda t: '{"x": ' + DEEP + "}",
                        "nested more than"),
    "cosine NaN": ("evaluate", "result", _text('"cosine": ', '"cosine": NaN, "was": '),
                   "NaN is not a number a store holds"),
    "cosine Infinity": ("evaluate", "result", _text('"cosine": ', '"cosine": -Infinity, "w": '),
                        "Infinity is not a number a store holds"),
    "cosine 1e999": ("evaluate", "result", _text('"cosine": ', '"cosine": 1e999, "was": '),
                     "result.cosine must be a finite number"),
    "cosine a text": ("evaluate", "result", _with("cosine", "0.9"), "result.cosine must be"),
    "cosine null": ("evaluate", "result", _with("cosine", None), "result.cosine must be"),
    "cosine missing": ("evaluate", "result",
                       lambda t: json.dumps({k: v for k, v in json.loads(t).items()
                                             if k != "cosine"}), "result.cosine is missing"),
    "exact negative": ("evaluate", "result", _with("exact", -1), "result.exact must be"),
    "per-pattern a text": ("evaluate", "result", _with("per_pattern_cosine", ["x"]),
                           "result.per_pattern_cosine must be"),
    "fault_rate a text": ("evaluate", "config", _with("fault_rate", "0.3"),
                          "config.fault_rate must be"),
    "fault_rate above 1": ("evaluate", "config", _with("fault_rate", 3.0),
                           "config.fault_rate must be"),
    "rule a number": ("evaluate", "config", _with("rule", 5), "config.rule must be"),
    "rule missing": ("evaluate", "config",
                     lambda t: json.dumps({k: v for k, v in json.loads(t).items()
                                           if k != "rule"}), "config.rule is missing"),
    "chip_spec a text": ("evaluate", "config", _with("chip_spec", "rram"),
                         "config.chip_spec must be a table"),
    "n_neurons a text": ("capacity", "config", _with("n_neurons", "16"),
                         "config.n_neurons must be"),
    "capacity a text": ("capacity", "result", _with("capacity", "4"),
                        "result.capacity must be a table"),
    "capacity value a text": ("capacity", "result", _with("capacity", {"0.9": "x"}),
                              "result.capacity.0.9 must be an integer"),
    "points a table": ("capacity", "result", _with("points", {}), "result.points must be"),
    "point count a text": ("capacity", "result", _with("points", [{"count": "x", "cosine": 1}]),
                           "result.points[0].count must be"),
    "lower_bound a number": ("capacity", "result", _with("lower_bound", 5),
                             "result.lower_bound must be"),
}


@pytest.fixture(params=sorted(EDITS))
def edited(request, stored, tmp_path):
    trial, column, edit, words = EDITS[request.param]
    path = tmp_path / "edited.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:
        key, text = db.execute(f"SELECT key, {column} FROM trials WHERE trial = ? ORDER BY "
                               "rowid LIMIT 1", (trial,)).fetchone()
        db.execute(f"UPDATE trials SET {column} = ? WHERE key = ?", (edit(text), key))
    db.close()
    return path, key, trial, words


@pytest.mark.parametrize("command", ["results", "group-by", "csv", "plot", "API"])
def test_an_edited_row_is_refused_naming_the_store_the_row_and_the_field(edited, command,
                                                                         run_cli, tmp_path):
    path, key, trial, words = edited
    if command == "API":
        with ResultStore(path, readonly=True) as db, pytest.raises(FileFormatError) as info:
            db.rows()
        message = str(info.value)
    else:
        kind = "faults" if trial == "evaluate" else "capacity"
        args = {"results": ["results", path], "group-by": ["results", path, "--group-by", "rule"],
                "csv": ["results", path, "--csv", tmp_path / "rows.csv"],
                "plot": ["plot", path, "--kind", kind, "-o", tmp_path / "f.png"]}[command]
        message = refused(run_cli, tmp_path, *args)
    for word in (str(path), key[:12], f"{trial} trial", words):
        assert word in message, (word, message)


def test_an_intact_store_still_reads_every_row(stored, run_cli, tmp_path):
    with ResultStore(stored, readonly=True) as db:
        assert len(db.rows()) == 12
    code, _, err = run_cli("plot", stored, "--kind", "faults", "-o", tmp_path / "f.png")
    assert code == 0, err


def test_capacity_rows_stored_before_they_held_lower_bounds_read_with_them(stored, run_cli,
                                                                           tmp_path):
    """Capacity rows written before ``result.lower_bound`` existed (xbarmem of 2026-11-28:
    ``xbarmem sweep`` of a curve whose every count passed) showed ``0.9:8`` in ``results``
    where the same curve stored since shows ``0.9:>=8``, and ``plot`` drew no arrow: the
    reader derives it from the curve (its largest count passed) or the pool of a search."""
    path = tmp_path / "earlier.sqlite"
    path.write_bytes(stored.read_bytes())
    with ResultStore(stored, readonly=True) as db:
        now = {r["key"]: r["result"]["lower_bound"] for r in db.rows()
               if r["trial"] == "capacity"}
    assert any(now.values())
    with sqlite3.connect(path) as db:
        for key, text in db.execute("SELECT key, result FROM trials WHERE trial = 'capacity'"):
            earlier = {k: v for k, v in json.loads(text).items() if k != "lower_bound"}
            db.execute("UPDATE trials SET result = ? WHERE key = ?", (json.dumps(earlier), key))
    db.close()
    with ResultStore(path, readonly=True) as db:
        assert {r["key"]: r["result"]["lower_bound"] for r in db.rows()
                if r["trial"] == "capacity"} == now
    code, out, err = run_cli("results", path, "--where", "trial=capacity")
    assert code == 0 and out.count(":>=") == sum(map(len, now.values())), err


def test_an_earlier_search_over_a_pool_with_repeats_reads_its_lower_bound(tmp_path):
    """A capacity search stops at the pool's distinct patterns (``pool_limited``); a row
    stored before rows held ``lower_bound`` was read against its ``pool``, repeats counted:
    a search over 6 patterns, 4 of them distinct, that passed all 4 read as exact."""
    import numpy as np

    x = np.where(np.random.default_rng(0).random((4, 16)) > 0.5, 1.0, -1.0)
    np.save(tmp_path / "p.npy", np.concatenate([x, x[:2]]).astype(np.float32))
    (tmp_path / "c.toml").write_text(
        '[sweep]\nname = "c"\ntrial = "capacity"\nseeds = 1\n[base]\n'
        f'data = "{(tmp_path / "p.npy").as_posix()}"\nn_neurons = 16\nprobes = 1\n'
        'max_iterations = 10\nsearch = true\nthresholds = [0.9]\nrule = "pinv"\n')
    store = tmp_path / "s.sqlite"
    run_sweep(load_sweep(tmp_path / "c.toml"), store, jobs=1)
    with ResultStore(store, readonly=True) as db:
        (row,) = db.rows()
    assert row["config"]["pool"] == 6 and row["result"]["capacity"] == {"0.9": 4}
    assert row["result"]["lower_bound"] == ["0.9"]
    earlier = {k: v for k, v in row["result"].items() if k != "lower_bound"}
    with sqlite3.connect(store) as db:
        db.execute("UPDATE trials SET result = ?", (json.dumps(earlier),))
    db.close()
    with ResultStore(store, readonly=True) as db:
        (row,) = db.rows()
    assert row["result"]["lower_bound"] == ["0.9"]


GOOD_CACHE = {"generic-rram": {"energy_ratio": 8.1, "latency_reduction": 0.99},
              "paper-calibrated": {"energy_ratio": 8.8, "latency_reduction": 0.997},
              "steps": {"sync": 2.0, "async": 100.0},
              "sizes": {"rows": [{"n": 64, "sync_steps": 2.0, "async_steps": 90.0,
                                  "energy_ratio": 8.0, "latency_reduction": 0.99}]}}


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ('{"x": ' + DEEP + "}", "nested more than"),
    ("[]", "not a JSON object"),
    (json.dumps({**GOOD_CACHE, "generic-rram": {"energy_ratio": "x"}}),
     "generic-rram.energy_ratio must be a finite number"),
    (json.dumps(GOOD_CACHE).replace("8.8", "NaN"),
     "paper-calibrated.energy_ratio must be a finite number"),
    (json.dumps({**GOOD_CACHE, "sizes": {"rows": [{"n": 64}]}}), "sizes.rows[0].sync_steps"),
    (json.dumps({**GOOD_CACHE, "sizes": []}), "sizes.rows must be a non-empty list"),
])
def test_an_edited_energy_cache_is_refused_naming_the_file(text, words, tmp_path):
    cache = tmp_path / "f-energy.json"
    cache.write_text(text)
    with pytest.raises(FileFormatError) as info:
        _cached(cache)
    assert str(cache) in str(info.value) and words in str(info.value)
    assert "delete it to measure again" in str(info.value)
    cache.write_text(json.dumps(GOOD_CACHE))  # (written before the rows' N was n_neurons)
    renamed = [{"n_neurons": row["n"], **{k: v for k, v in row.items() if k != "n"}}
               for row in GOOD_CACHE["sizes"]["rows"]]
    assert _cached(cache) == {**GOOD_CACHE, "sizes": {**GOOD_CACHE["sizes"], "rows": renamed}}
    now = {**GOOD_CACHE, "sizes": {**GOOD_CACHE["sizes"], "rows": renamed}}
    cache.write_text(json.dumps(now))
    assert _cached(cache) == now


def _broken(stored, tmp_path, column):
    """A copy of ``stored`` whose first evaluate row holds malformed JSON in ``column``."""
    path = tmp_path / f"broken-{column}.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:
        key = db.execute("SELECT key FROM trials WHERE trial = 'evaluate' ORDER BY rowid "
                         "LIMIT 1").fetchone()[0]
        db.execute(f"UPDATE trials SET {column} = '{{not json' WHERE key = ?", (key,))
    db.close()
    return path, key


FILTERS = {"config": ["--where", "rule=hebb"], "result": ["--where", "result.cosine>-2"]}


@pytest.mark.parametrize("column", sorted(FILTERS))
@pytest.mark.parametrize("command", ["results", "group-by", "csv", "plot", "API", "count"])
def test_a_filtered_read_refuses_a_row_of_malformed_json_it_would_have_left_out(
        stored, column, command, run_cli, tmp_path):
    """SQLite reads malformed JSON as NULL: ``--where`` on it left the row out silently."""
    path, key = _broken(stored, tmp_path, column)
    where = FILTERS[column]
    if command in ("API", "count"):
        with ResultStore(path, readonly=True) as db, pytest.raises(FileFormatError) as info:
            db.rows(where[1:]) if command == "API" else db.count(where[1:])
        message = str(info.value)
    else:
        args = {"results": ["results", path],
                "group-by": ["results", path, "--group-by", "rule"],
                "csv": ["results", path, "--csv", tmp_path / "rows.csv"],
                "plot": ["plot", path, "--kind", "faults", "-o", tmp_path / "f.png"]}[command]
        message = refused(run_cli, tmp_path, *args, *where)
    for word in (str(path), key[:12], "evaluate trial", f"{column} is not valid JSON"):
        assert word in message, (word, message)


def test_a_filter_that_leaves_the_malformed_row_out_by_its_columns_still_reads(stored, tmp_path):
    """Only the rows the filter considers are checked: another sweep's, or another trial
    kind's, malformed row does not stop it; the intact store filters as before."""
    path, _ = _broken(stored, tmp_path, "config")
    with ResultStore(path, readonly=True) as db:
        assert len(db.rows(["rule=hebb"], sweep="cap")) == 2
        assert len(db.rows(["trial=capacity", "rule=pinv"])) == 2
    with ResultStore(stored, readonly=True) as db:
        assert db.count(["rule=hebb"]) == 6 and db.count(["result.cosine>-2"]) == 8


def test_plain_results_refuses_a_malformed_row_after_the_rows_it_shows(tmp_path, run_cli):
    """``results STORE`` shows the first 50 rows (``--limit``); it read only those, so a
    malformed row 56 was listed as a store of 60 good rows while ``--json`` refused it."""
    (tmp_path / "s.toml").write_text(tiny_sweep("t", seeds=30))
    path = tmp_path / "s.sqlite"
    run_sweep(load_sweep(tmp_path / "s.toml"), path)
    code, out, err = run_cli("results", path, "--limit", "0")
    assert code == 0 and f"{path}: 60 rows (--limit 0: none shown)" in out, err
    with sqlite3.connect(path) as db:
        key = db.execute("SELECT key FROM trials ORDER BY rowid LIMIT 1 OFFSET 55").fetchone()[0]
        db.execute("UPDATE trials SET result = '{not json' WHERE key = ?", (key,))
    db.close()
    for limit in ([], ["--limit", "3"], ["--limit", "0"]):
        message = refused(run_cli, tmp_path, "results", path, *limit)
        for word in (str(path), key[:12], "result is not valid JSON"):
            assert word in message, (limit, word, message)


def test_rows_with_check_rest_refuses_a_row_after_the_limit_reading_the_conditions_once(
        stored, tmp_path, monkeypatch):
    """``results`` read its ``--where`` conditions (a field lookup and a JSON scan of the
    rows they consider) twice: once for the rows it shows and again for ``check_json`` of
    the others; ``rows(limit=, check_rest=True)`` does both with the conditions read once."""
    import xbarmem.experiments.store as store_mod

    path = tmp_path / "late.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:  # the last hebb row's result is malformed
        key = db.execute("SELECT key FROM trials WHERE json_extract(config, '$.rule') = 'hebb' "
                         "ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        db.execute("UPDATE trials SET result = '{not json' WHERE key = ?", (key,))
    db.close()
    with ResultStore(path, readonly=True) as db:
        first = db.rows(["rule=hebb"], limit=1)  # without check_rest: only the first is read
        assert len(first) == 1 and first[0]["key"] != key
        calls = []
        real = store_mod.where_sql
        monkeypatch.setattr(store_mod, "where_sql", lambda *a: calls.append(a) or real(*a))
        with pytest.raises(FileFormatError, match=f"row {key[:12]}.*result is not valid JSON"):
            db.rows(["rule=hebb"], limit=1, check_rest=True)
        assert len(calls) == 1
        with pytest.raises(ConfigError, match="check_rest must be True or False"):
            db.rows(limit=1, check_rest="yes")
    with ResultStore(stored, readonly=True) as db:  # an intact store: the same rows
        assert db.rows(["rule=hebb"], limit=2, check_rest=True) == db.rows(["rule=hebb"])[:2]


def test_a_null_json_column_is_named_as_null(stored, tmp_path):
    """A store whose table lets ``result`` be NULL (another tool's schema, an edit) with a
    NULL row: the line quoted Python's "the JSON object must be str, bytes or bytearray, not
    NoneType"; it says what the column holds."""
    path = tmp_path / "null.sqlite"
    path.write_bytes(stored.read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = replace(sql, 'result TEXT NOT NULL', "
                   "'result TEXT') WHERE name = 'trials'")
    db.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE trials SET result = NULL WHERE rowid = 1")
    db.close()
    with ResultStore(path, readonly=True) as store, pytest.raises(FileFormatError) as info:
        store.rows()
    assert "result is NULL, not JSON text" in str(info.value), info.value
    assert "NoneType" not in str(info.value)


def test_a_group_of_evaluate_and_capacity_rows_says_over_how_many_each_mean_is(stored,
                                                                               run_cli):
    """``results --group-by rule`` of a store holding an evaluate and a capacity sweep headed
    each group n = 6 and showed its cosine (4 of the settings have one) and its capacity (the
    other 2) as means "over the n settings"; a mean over fewer says how many."""
    code, out, err = run_cli("results", stored, "--group-by", "rule", "--metric",
                             "cosine,capacity.0.99")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "hebb 6" in flat and "pinv 6" in flat, out
    assert flat.count("(4)") == 2 and flat.count("(2)") == 2, out
    assert "mean (k): over the k of the n settings that have the metric" in flat, out
    code, out, _ = run_cli("results", stored, "--group-by", "rule", "--where", "trial=evaluate")
    assert "(4)" not in out and "mean (k)" not in " ".join(out.split()), out
