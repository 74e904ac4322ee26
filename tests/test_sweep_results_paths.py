"""Command paths of ``xbarmem sweep`` and ``xbarmem results`` that ordinary runs never take:
``--list-options``, no / missing / folder sweep file, a sweep in which one group fails (exit 1,
the group named, the other groups' rows kept) and its resumption, and stores that are empty,
of another schema, not SQLite, read-only or being written, and an export format whose optional
package is missing."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest
from conftest import refused, tiny_sweep
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.experiments import trial as trial_module
from xbarmem.experiments.fields import export_columns, typed_columns
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.trial_options import _HEAD, OPTIONS

SWEEP = tiny_sweep("two", rules=("pinv", "hebb"))


def _rows(store) -> list[dict]:
    with ResultStore(store, readonly=True) as db:
        return db.rows()


# ------------------------------------------------------------------------------------ sweep
def test_list_options_prints_every_sweep_option_and_nothing_else(run_cli):
    code, out, err = run_cli("sweep", "--list-options")
    assert code == 0 and err == ""
    listed = {line.split(":")[0].split(" (")[0] for line in out.splitlines()}
    expected = {f"[sweep] {k}" for k in _HEAD} | set(OPTIONS) | {"[rule_options.RULE] KEY"}
    assert listed == expected
    for key, opt in OPTIONS.items():  # each with its default
        line = next(x for x in out.splitlines() if x.split(":")[0].split(" (")[0] == key)
        assert line.endswith(f"[default {opt.default!r}]"), line


@pytest.mark.parametrize("given, words", [
    (None, ["give a sweep file"]),
    ("absent.toml", ["no such sweep file", "absent.toml"]),
    ("folder.toml", ["folder.toml", "is a directory"]),
    ("empty.toml", ["empty.toml", "the sweep file is empty", "--list-options"]),
])
def test_a_sweep_without_a_usable_file_is_refused_in_one_line(given, words, run_cli, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "empty.toml").write_text("# nothing\n")
    args = ["sweep", "--store", tmp_path / "s.sqlite", "--jobs", "1"]
    message = refused(run_cli, tmp_path, *args, *([given] if given else []))
    for word in words:
        assert word in message, (word, message)
    assert not (tmp_path / "s.sqlite").exists()


@pytest.fixture
def hebb_fails(monkeypatch):
    """Groups of the hebb rule raise inside the trial (the in-process runner of --jobs 1)."""
    run = trial_module.run_evaluate_group

    def failing(trials, progress=None):
        if trials[0].config["rule"] == "hebb":
            raise RuntimeError("boom in the hebb group")
        return run(trials, progress)
    monkeypatch.setattr(trial_module, "run_evaluate_group", failing)
    return monkeypatch


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_a_failing_group_exits_1_naming_it_keeps_the_others_and_resumes(json_out, hebb_fails,
                                                                        run_cli, tmp_path):
    sweep, store = tmp_path / "two.toml", tmp_path / "s.sqlite"
    sweep.write_text(SWEEP)
    args = ["sweep", sweep, "--store", store, "--jobs", "1", *(["--json"] if json_out else [])]
    code, out, err = run_cli(*args)
    assert code == 1 and "Traceback" not in err + out
    if json_out:
        (failure,) = json.loads(out)["failures"]
        assert failure["sweep"] == "two" and failure["group"] == "rule=hebb"
        assert failure["error"] == "RuntimeError: boom in the hebb group"
    else:
        (line,) = [x for x in err.splitlines() if "failed group" in x]
        assert line == ("failed group of sweep two (1 trial: rule=hebb): RuntimeError: boom in "
                        "the hebb group")
        assert "1 new row " in out
    assert [r["config"]["rule"] for r in _rows(store)] == ["pinv"]  # the other group's row

    hebb_fails.undo()  # the cause is gone: the same command resumes, running only hebb
    code, out, err = run_cli(*args)
    assert code == 0 and "failed" not in err + out
    summary = json.loads(out) if json_out else out
    if json_out:
        assert (summary["already"], summary["inserted"], summary["failures"]) == (1, 1, [])
    else:
        assert "1 already stored, 1 new row " in " ".join(out.split())
    assert sorted(r["config"]["rule"] for r in _rows(store)) == ["hebb", "pinv"]


# ---------------------------------------------------------------------------------- results
@pytest.fixture
def store(tmp_path, run_cli):
    """A store holding the two rows of the sweep above."""
    sweep, path = tmp_path / "two.toml", tmp_path / "s.sqlite"
    sweep.write_text(SWEEP)
    assert run_cli("sweep", sweep, "--store", path, "--jobs", "1")[0] == 0
    return path


def _tableless(path) -> None:
    _edit(path, "PRAGMA user_version = 3")  # (a database, no table)


#: stores of no rows: a sweep's store, and files a sweep takes as a new store
EMPTY_STORES = {"a store of no rows": lambda p: ResultStore(p).close(),
                "zero bytes": lambda p: p.write_bytes(b""),
                "a database without tables": _tableless}


@pytest.mark.parametrize("kind", list(EMPTY_STORES))
def test_an_empty_store_shows_one_line(tmp_path, run_cli, kind):
    """Every store of no rows reads alike, an empty file too (as a sweep takes it: a new
    store): `results` lists one line (--json: []) and exits 0 -- a file of 0 bytes was
    refused (exit 2) where a store of no rows was listed -- and an export or a plot of none
    is refused in the same words; the file is left as it was."""
    path = tmp_path / "empty.sqlite"
    EMPTY_STORES[kind](path)
    before = sorted(p.name for p in tmp_path.iterdir()), path.read_bytes()
    for extra in ([], ["--group-by", "rule"]):
        code, out, err = run_cli("results", path, *extra)
        assert (code, err) == (0, "")
        assert out.strip() == f"{path}: no rows stored yet (sweeps in this store: none)"
    code, out, _ = run_cli("results", path, "--json")
    assert (code, json.loads(out)) == (0, [])
    for args, what in ((["results", path, "--csv", tmp_path / "t.csv"], "write"),
                       (["plot", path, "-o", tmp_path / "f.png"], "draw")):
        assert refused(run_cli, tmp_path, *args) == (
            f"error: {path}: no rows are stored yet, nothing to {what} (sweeps in this store: "
            f"none)")
    assert (sorted(p.name for p in tmp_path.iterdir()), path.read_bytes()) == before


def test_no_matching_rows_shows_one_line_naming_the_sweeps(store, run_cli):
    code, out, err = run_cli("results", store, "--where", "rule=storkey")
    assert (code, err) == (0, "")
    assert " ".join(out.split()) == (f"{store}: no rows match the filters (sweeps in this "
                                     "store: two (2)); --where 'rule=storkey' matches no row "
                                     "by itself (rule holds hebb, pinv)")


def _edit(path, *statements):
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


STORE_DAMAGES = {  # name -> (damage of the store file, words of the message)
    "a column less": (lambda p: _edit(p, "ALTER TABLE trials DROP COLUMN host"),
                      ["table trials has columns", "schema 1"]),
    "a column more": (lambda p: _edit(p, "ALTER TABLE trials ADD COLUMN extra TEXT"),
                      ["table trials has columns", "extra"]),
    "schema 2": (lambda p: _edit(p, "UPDATE meta SET value = '2'"), [
        "schema version 2 (a later format than this xbarmem (", ") reads: install a later "
        "xbarmem to read it, or use another store); refusing to touch it"]),
    "schema 0": (lambda p: _edit(p, "UPDATE meta SET value = '0'"), [
        "schema version 0 (an earlier format", "read it with the xbarmem that wrote it"]),
    "schema a word": (lambda p: _edit(p, "UPDATE meta SET value = 'two'"),
                      ["schema version two is not 1"]),
    "no meta table": (lambda p: _edit(p, "DROP TABLE meta"), ["not an xbarmem results store"]),
    "not SQLite": (lambda p: p.write_bytes(b"hello, not a database"), ["not a SQLite file"]),
    "zero bytes": (lambda p: p.write_bytes(b""), ["empty, no trials stored yet"]),
}


@pytest.mark.parametrize("command, damage", [
    (command, damage) for command in ("results", "sweep") for damage in STORE_DAMAGES
    if damage != "zero bytes"])  # (an empty file: a new store to a sweep, one of no rows to
    # results: test_an_empty_store_shows_one_line)
def test_a_store_of_another_schema_or_kind_is_refused_untouched(command, damage, store,
                                                                run_cli, tmp_path):
    make, words = STORE_DAMAGES[damage]
    make(store)
    args = (["results", store] if command == "results"
            else ["sweep", tmp_path / "two.toml", "--store", store, "--jobs", "1"])
    message = refused(run_cli, tmp_path, *args)
    assert str(store) in message
    for word in words:
        assert word in message, (word, message)


def test_a_read_only_store_and_one_being_written_are_read(store, run_cli):
    store.chmod(0o444)
    try:
        code, out, err = run_cli("results", store, "--json")
        assert code == 0 and len(json.loads(out)) == 2
    finally:
        store.chmod(0o644)
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        code, out, err = run_cli("results", store, "--json")
        assert code == 0 and len(json.loads(out)) == 2 and "Traceback" not in err
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_parquet_without_pyarrow_names_the_package_and_writes_nothing(store, run_cli, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    message = refused(run_cli, tmp_path, "results", store, "--parquet", tmp_path / "r.parquet")
    assert "needs pyarrow (pip install pyarrow)" in message


MIXED = """[sweep]
name = "mixed"
trial = "evaluate"
seeds = 1

[base]
data = "random"
n_neurons = 16
patterns = 3
probes = 2
arch = "multilayer"
rule = "adaptive"
max_iterations = 10

[grid]
hidden = [8, [8, 4]]

[rule_options.adaptive]
max_steps = 5
finetune_steps = 2
"""


def test_parquet_export_of_a_column_holding_a_number_and_a_list(tmp_path, run_cli):
    """``hidden = [8, [8, 4]]`` stores 8 and ``"[8, 4]"`` in one column (was ArrowInvalid)."""
    pq = pytest.importorskip("pyarrow.parquet")  # installed with the test extra
    sweep, path, out = tmp_path / "m.toml", tmp_path / "s.sqlite", tmp_path / "r.parquet"
    sweep.write_text(MIXED)
    assert run_cli("sweep", sweep, "--store", path, "--jobs", "1")[0] == 0
    code, text, err = run_cli("results", path, "--parquet", out)
    assert code == 0 and "wrote 2 rows" in err, err
    table = pq.read_table(out)
    assert sorted(table.column("config.hidden").to_pylist()) == ["8", "[8, 4]"]
    assert str(table.schema.field("result.cosine").type) == "double"
    assert table.column("config.rule").to_pylist() == ["adaptive", "adaptive"]


@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.none() | st.booleans()
                                | st.integers() | st.floats(allow_nan=False) | st.text(),
                                min_size=1), max_size=6))
@settings(max_examples=200, deadline=None)
def test_typed_columns_are_of_one_type_each(records):
    pa = pytest.importorskip("pyarrow")
    columns = export_columns(records)
    typed = typed_columns(records, columns)
    table = pa.table(typed)  # one type per column: the table builds
    assert table.num_rows == len(records)
    for column in columns:
        stored = [r.get(column) for r in records]
        assert [v is None for v in typed[column]] == [v is None for v in stored]
        present = [v for v in stored if v is not None]
        plain = (all(isinstance(v, str) for v in present)
                 or all(isinstance(v, bool) for v in present)
                 or all(isinstance(v, float) for v in present)
                 or all(isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2 ** 53
                        for v in present))
        if plain:
            assert typed[column] == stored  # one kind: kept as stored
        elif typed[column] != stored:  # written as text that reads back as the value
            assert [v if v is None or isinstance(v, str) else json.dumps(v)
                    for v in stored] == typed[column]
