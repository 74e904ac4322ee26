"""A researcher's sweep, results and figures acted out: what the product misread silently.

* ``results --group-by rule,fault_rate`` of a grid over N and cue level averaged the rows of
  every N and level into one mean, its std said to be "over the n settings of a group (its
  seeds)"; the groups now name the settings they pool (``pooled``), and the table says so.
* ``--where fault_rate!=.2`` kept every row (``.2`` was read as the text ".2", which no stored
  number equals) and ``fault_rate=.2`` none; ``rule=1``, ``fault_rate="0.2"``,
  ``fault_model=device`` (null in every row) matched nothing, silently; ``fault_model=null``
  matched no row either (``= NULL`` is never true in SQL).
* A ``[sweep] name`` (or a file name, its default) holding a line break, a tab, an escape or
  a bidirectional override split the summary line and tables; spaces at its ends made
  ``" g1"`` another sweep than ``g1``.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import refused

from xbarmem.errors import ConfigError
from xbarmem.experiments.grouping import group_rows
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep

SWEEP = """[sweep]
name = "grid"
trial = "evaluate"
seeds = 2
batch = 1

[base]
data = "random"
n_neurons = 16
patterns = 3
probes = 2
max_iterations = 10
rule = "hebb"

[grid]
fault_rate = [0.0, 0.2]
level = [0.05, 0.15]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """8 rows: fault rate 0 and 0.2, cue level 0.05 and 0.15, seeds 0 and 1 (hebb, N = 16)."""
    folder = tmp_path_factory.mktemp("review")
    (folder / "grid.toml").write_text(SWEEP)
    path = folder / "s.sqlite"
    run_sweep(load_sweep(folder / "grid.toml"), path, jobs=1)
    return path


def _row(seed: int, level: float, n: int = 16, **options) -> dict:
    config = {"rule": "adaptive", "seed": seed, "level": level, "n_neurons": n,
              "version": "1", "rule_options": {"seed": seed, **options}}
    return {"sweep": "s", "trial": "evaluate", "config": config,
            "result": {"cosine": 0.5 + level}}


def test_groups_name_the_settings_they_pool_besides_the_seeds():
    rows = [_row(s, lv) for s in (0, 1) for lv in (0.05, 0.15)]
    (group,) = group_rows(rows, ["rule"])
    assert group["pooled"] == {"level": [0.05, 0.15]}  # not the seeds, the trainer's seed
    assert all(g["pooled"] == {} for g in group_rows(rows, ["rule", "level"]))
    swept = [_row(0, 0.1, cue_flip=0.05), _row(0, 0.1, cue_flip=0.2)]
    assert group_rows(swept, ["level"])[0]["pooled"] == {"rule_options.cue_flip": [0.05, 0.2]}
    assert group_rows(swept, ["rule_options.cue_flip"])[0]["pooled"] == {}
    rules = [_row(0, 0.1, cue_flip=0.05), {**_row(0, 0.1), "config": {
        **_row(0, 0.1)["config"], "rule": "hebb", "rule_options": {}}}]
    # (a rule's options follow from the rule: only the rule is named)
    assert group_rows(rules, ["level"])[0]["pooled"] == {"rule": ["adaptive", "hebb"]}
    kinds = [{**r, "config": {**r["config"], "kind": k}} for r, k in zip(
        (_row(0, 0.1, lr=0.01), _row(0, 0.1, lr=0.02)), ("binary", "continuous"), strict=True)]
    # (the recipe's options follow from the pattern kind, and from the architecture)
    assert group_rows(kinds, ["level"])[0]["pooled"] == {"kind": ["binary", "continuous"]}


def test_the_table_of_groups_says_what_each_mean_pools(store, run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run_cli("results", store, "--group-by", "fault_rate")
    assert code == 0, err
    text = " ".join(out.split())
    assert "(its seeds and the settings it pools)" in text, out
    assert "pooled: level (0.05, 0.15) (add them to --group-by to keep them apart)" in text
    code, out, err = run_cli("results", store, "--group-by", "fault_rate,level")
    assert code == 0 and "pooled" not in out and "(its seeds)" in " ".join(out.split()), out
    code, out, err = run_cli("results", store, "--group-by", "fault_rate", "--json")
    assert [g["pooled"] for g in json.loads(out)] == [{"level": [0.05, 0.15]}] * 2


@pytest.mark.parametrize(("condition", "rows"), [
    ("fault_rate=.2", 4), ("fault_rate!=.2", 4), ("fault_rate=+0.2", 4), ("level<.1", 4),
    ("fault_model=null", 8), ("fault_rate!=null", 8)])
def test_where_reads_numbers_as_written_and_null_as_missing(store, condition, rows):
    with ResultStore(store, readonly=True) as db:
        assert db.count([condition]) == rows, condition


@pytest.mark.parametrize(("condition", "words"), [
    ("rule=1", "rule holds texts in"),
    ('fault_rate="0.2"', "fault_rate holds numbers in"),
    ("rule>3", "no stored value is comparable with it"),
    ("fault_model=device", "fault_model is null in every row of"),
    ("fault_model!=device", "fault_model=null keeps those rows")])
def test_where_values_no_stored_value_can_match_are_refused(store, run_cli, tmp_path,
                                                           condition, words):
    line = refused(run_cli, tmp_path, "results", store, "--where", condition)
    assert f"--where {condition!r}" in line and words in line, line
    with ResultStore(store, readonly=True) as db, pytest.raises(ConfigError, match=words):
        db.rows([condition])


@pytest.mark.parametrize(("condition", "words"), [
    ('rule=["hebb"]', "rule holds texts in {store}, got the list [\"hebb\"]: "),
    ('rule!={"a":1}', "rule holds texts in {store}, got the object {{\"a\":1}}: "),
    ("fault_rate=[0.2]", "fault_rate holds numbers in {store}, got the list [0.2]: "),
    ("rule=true", "rule holds texts in {store}, got true: "),
    ("level=[0.05]", "level holds numbers in {store}, got the list [0.05]: ")])
def test_where_lists_objects_and_booleans_are_named_as_written_and_refused(
        store, run_cli, tmp_path, condition, words):
    """A list or object value was compared as its JSON text (a text field took it silently,
    matching no row; a number field's refusal called it a text), and true/false was called
    the number 1/0."""
    line = refused(run_cli, tmp_path, "results", store, "--where", condition)
    assert words.format(store=store) in line, line
    with ResultStore(store, readonly=True) as db, pytest.raises(ConfigError) as caught:
        db.rows([condition])
    assert words.format(store=store) in str(caught.value)


@pytest.mark.parametrize("args", [("-c", "zero_one,fault_rate"), ("-g", "zero_one"),
                                  ("--where", "zero_one=true")],
                         ids=["rows", "groups", "unmatched"])
def test_results_writes_true_false_as_where_reads_them(store, run_cli, args):
    """The table of rows, of groups and the values a field holds (no row matching) showed
    Python's False, which `--where zero_one=False` refused as a text; they write false, the
    word --where and sweep files read."""
    code, out, err = run_cli("results", store, *args)
    text = out + err
    assert "False" not in text and "false" in text, text
    if code == 0 and "no rows match" not in text:
        with ResultStore(store, readonly=True) as db:
            assert db.count(["zero_one=false"]) == 8


@pytest.mark.parametrize("name", ["a\nb", "tab\tx", " g1", "g1 ", "a\u202eb", "a\x1b[2Jb",
                                  "a\u2028b"])
def test_sweep_names_that_print_as_another_text_are_refused(name):
    text = SWEEP.replace('name = "grid"', f"name = {json.dumps(name)}")
    import tomllib

    with pytest.raises(ConfigError, match=r"\[sweep\] name must be a name of printable"):
        parse_sweep(tomllib.loads(text), source="grid.toml")


def test_a_file_name_that_is_no_sweep_name_is_refused_unless_a_name_is_given(tmp_path,
                                                                             run_cli):
    nameless = SWEEP.replace('name = "grid"\n', "")
    path = tmp_path / "grid\t2.toml"
    path.write_text(nameless)
    line = refused(run_cli, tmp_path, "sweep", path, "--dry-run")
    assert "the sweep's name would be the file's name without its suffix" in line, line
    path.write_text(SWEEP)
    assert load_sweep(path).name == "grid"
    unicode = tmp_path / "σweep.toml"
    unicode.write_text(nameless)
    assert load_sweep(unicode).name == "σweep"


@pytest.mark.parametrize(("grid", "where"), [
    ("[grid]\n", "[grid] lists no values to sweep"),
    ('[[grid]]\n[[grid]]\nrule = ["pinv"]\n', "[[grid]] #1 lists no values to sweep"),
    ("[grid.rule_options.hebb]\n", "[grid] lists no values to sweep"),
    ("grid = []\n", "grid = [] lists no grid tables")])
def test_an_empty_grid_is_refused_not_run_as_the_base_trial(grid, where):
    """An empty ``[grid]`` ran the ``[base]`` trial; an empty ``[[grid]]`` table beside others
    added it to their union: a hardware-adaptive trial (the default rule) nobody listed."""
    import tomllib

    base = SWEEP[: SWEEP.index("[grid]")]
    text = (grid + base) if grid.startswith("grid =") else (base + grid)
    with pytest.raises(ConfigError, match=re.escape(where)):
        parse_sweep(tomllib.loads(text), source="grid.toml")


def test_filters_matching_no_row_name_the_one_that_matches_none_and_what_it_holds(
        store, run_cli, tmp_path):
    """``--where rule=Hebb`` (the store holds ``hebb``) said only "no rows match the
    filters": which of several filters, and what would match, was left to guess."""
    code, out, err = run_cli("results", store, "--where", "level=0.05", "--where",
                             "rule=Hebb")
    assert (code, err) == (0, "")
    assert " ".join(out.split()).endswith(
        "(sweeps in this store: grid (8)); --where 'rule=Hebb' matches no row by itself (rule "
        "holds hebb)"), out
    for args in (("plot", store, "-o", tmp_path / "f.png"),
                 ("results", store, "--csv", tmp_path / "rows.csv")):
        line = refused(run_cli, tmp_path, *args, "--where", "fault_rate=0.5")
        assert line.endswith("--where 'fault_rate=0.5' matches no row by itself (fault_rate "
                             "holds 0, 0.2)"), line


@pytest.mark.parametrize(("table", "key", "words"), [
    ("grid", "seeds = [1, 2]", "; seeds is a key of the [sweep] table"),
    ("grid", "seed = [1, 2]", "did you mean seeds? (seeds is a key of the [sweep] table)"),
    ("base", "seeds = 2", "; seeds is a key of the [sweep] table"),
    ("sweep", 'rule = "pinv"', "; rule is a trial option: it goes in [base], or in [grid] as a"),
    ("sweep", "fault_rates = [0.1]", "; did you mean fault_rate? (fault_rate is a trial option")])
def test_a_key_of_the_other_kind_of_table_says_where_it_goes(table, key, words):
    """``seeds`` in ``[grid]`` was refused listing the trial options only; ``rule`` in
    ``[sweep]`` listing the keys of ``[sweep]`` only: where the key goes was left to guess."""
    import tomllib

    text = SWEEP.replace(f"[{table}]\n", f"[{table}]\n{key}\n")
    with pytest.raises(ConfigError, match=re.escape(words)):
        parse_sweep(tomllib.loads(text), source="grid.toml")


@pytest.fixture(scope="module")
def flag_store(store, tmp_path_factory):
    """``store`` with ``rule_options.flag`` true in every row and ``mixed`` true in half the
    rows and 1 in the others (fields SQLite reads as the integers 1/0)."""
    import sqlite3

    path = tmp_path_factory.mktemp("flags") / "flags.sqlite"
    with sqlite3.connect(store) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
        dst.execute("UPDATE trials SET config = json_set(config, '$.rule_options.flag', "
                    "json('true'), '$.mixed', CASE WHEN rowid % 2 THEN json('true') ELSE 1 "
                    "END)")
    dst.close()
    return path


@pytest.mark.parametrize(("condition", "words"), [
    ("zero_one=yes", "zero_one holds true/false in {store}, got the text 'yes': no stored value "
                     "is equal to it; true/false is written without quotes, e.g. zero_one=true"),
    ("zero_one!=True", "zero_one holds true/false in {store}, got the text 'True'"),
    ('zero_one="false"', "e.g. zero_one=true"),
    ("rule_options.flag=on", "rule_options.flag holds true/false in {store}, got the text 'on'"
                             ": no stored value is equal to it; true/false is written without "
                             "quotes, e.g. rule_options.flag=true"),
    ("mixed=yes", "mixed holds numbers and true/false in {store}, got the text 'yes'")])
def test_where_names_true_false_fields_as_holding_true_false(flag_store, run_cli, tmp_path,
                                                              condition, words):
    """``--where zero_one=yes`` said zero_one "holds numbers" (SQLite reads JSON true/false as
    the integers 1/0, and a row without the key as its default, false): it holds true/false,
    and the message shows how to write it."""
    line = refused(run_cli, tmp_path, "results", flag_store, "--where", condition)
    assert words.format(store=flag_store) in line, line
    with ResultStore(flag_store, readonly=True) as db:
        assert db.count(["rule_options.flag=true"]) == db.count([]) > 0
        assert db.count(["zero_one=false"]) == db.count([])


@pytest.mark.parametrize(("condition", "words"), [
    ("seed=true", "seed holds numbers in {store}, got true: no stored value is equal to it; "
                  "it is compared with numbers only, e.g. seed=1"),
    ("fault_rate>=false", "fault_rate holds numbers in {store}, got false: no stored value is "
                          "comparable with it; it is compared with numbers only"),
    ("result.cosine!=true", "result.cosine holds numbers in {store}, got true"),
    ("rule_options.flag=1", "rule_options.flag holds true/false in {store}, got the number 1: "
                            "no stored value is equal to it; it is compared with true/false "
                            "only, e.g. rule_options.flag=true"),
    ("zero_one=0", "e.g. zero_one=false")])
def test_where_refuses_true_false_against_numbers_and_numbers_against_true_false(
        flag_store, run_cli, tmp_path, condition, words):
    """SQLite reads JSON true/false as the integers 1/0: ``--where seed=true`` kept the rows of
    seed 1, ``fault_rate>=false`` every row, and ``rule_options.flag=1`` the rows of
    ``flag = true``, silently, where a text against numbers is refused. A value of the other
    kind is refused the same way, before any row is read, naming what the field holds."""
    line = refused(run_cli, tmp_path, "results", flag_store, "--where", condition)
    assert words.format(store=flag_store) in line, line
    with ResultStore(flag_store, readonly=True) as db:
        with pytest.raises(ConfigError, match="compared with"):
            db.count([condition])
        assert db.count(["mixed=1"]) == db.count(["mixed=true"]) == db.count([])  # (both)
        assert db.count(["seed=1"]) == db.count([]) // 2


@pytest.mark.parametrize("args", [("-c", "result.train", "--limit", "2"),
                                  ("-g", "result.train", "-m", "cosine")], ids=["rows", "groups"])
def test_results_writes_a_table_of_fields_as_json(store, run_cli, args):
    """A field holding a table (``result.train``) was shown in Python's words, ``{'loss': None,
    'converged': True}``, which neither ``--where`` nor a JSON reader takes; it is JSON."""
    code, out, err = run_cli("results", store, *args)
    assert code == 0, err
    text = " ".join(out.split())
    assert '"converged": true' in text and "'" not in text and "True" not in text, text
    assert "None" not in text and '"loss": null' in text, text


def test_a_condition_matching_none_of_a_sweeps_rows_says_it_is_among_them(store, run_cli):
    """``results --sweep capN --where sweep=a`` said "--where 'sweep=a' matches no row by
    itself (sweep holds capN)" of a condition that matches rows of the store alone: with
    ``--sweep``, the condition is tried among that sweep's rows, and the line says so."""
    code, out, err = run_cli("results", store, "--sweep", "grid", "--where", "rule=pinv")
    assert (code, err) == (0, "")
    assert " ".join(out.split()).endswith(
        "--where 'rule=pinv' matches none of the rows of --sweep grid (rule holds hebb in "
        "them)"), out
