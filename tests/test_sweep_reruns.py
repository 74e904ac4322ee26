"""A sweep run twice, split between two runs, resumed or run with ``--jobs 2`` stores the same
rows in another order, and what ``results`` and ``sweep`` print must not depend on it:
``results STORE`` (first 50 rows) showed another 50 of them, and a run that shared the work
with another said fewer new rows than trials, as if some were missing."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from tests.conftest import tiny_sweep
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import load_sweep


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One sweep's store, and a copy holding the same rows computed in the reverse order."""
    folder = tmp_path_factory.mktemp("order")
    (folder / "s.toml").write_text(tiny_sweep("order", seeds=4, fault_rates=[0.0, 0.3]))
    first = folder / "ahead.sqlite"
    run_sweep(load_sweep(folder / "s.toml"), first)
    last = folder / "behind.sqlite"
    shutil.copy(first, last)
    with sqlite3.connect(last) as db:
        db.execute("CREATE TEMP TABLE copied AS SELECT * FROM trials ORDER BY rowid DESC")
        db.execute("DELETE FROM trials")
        db.execute("INSERT INTO trials SELECT * FROM copied")
    db.close()
    return first, last


def _body(out: str) -> list[str]:
    """The table's rows (between the line under its header and the line closing it)."""
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if set(line.strip()) <= set("─━┡╇┩"))
    end = next(i for i in range(top + 1, len(lines)) if lines[i].startswith("└"))
    return [" ".join(line.split()) for line in lines[top + 1:end]]


def test_limited_table_shows_the_first_rows_of_the_whole_sorted_table(run_cli, stores,
                                                                        monkeypatch):
    with sqlite3.connect(stores[0]) as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 16
    db.close()
    monkeypatch.chdir(stores[0].parent)  # (short names: a title that fits on one line)
    ahead, behind = (store.name for store in stores)
    chosen = ["--columns", "rule,fault_rate,seed"]
    code, out, err = run_cli("results", ahead, *chosen)
    assert code == 0 and "16 rows" in out and "(first" not in out, err
    whole = _body(out)
    assert whole[0].startswith("│ hebb │ 0 │ 0 │") and whole[-1].startswith("│ pinv │ 0.3 │ 3 │")
    shown = []
    for store in (ahead, behind):
        code, out, err = run_cli("results", store, "--limit", "5", *chosen)
        assert code == 0 and "16 rows (first 5)" in out, err
        assert _body(out) == whole[:5], (store, out)
        code, out, err = run_cli("results", store, "--limit", "5")
        assert code == 0, err
        shown.append(" ".join(out.split()).split("rows (first 5)")[1])
    assert shown[0] == shown[1] and "same in the 5 rows shown: sweep=order, rule=hebb" in shown[0]


@pytest.mark.parametrize("other", ["order", "wider"])
def test_a_sweep_says_how_many_trials_another_run_computed_meanwhile(tmp_path, run_cli,
                                                                     monkeypatch, other):
    """Two runs of a sweep on one store split its trials; each said `16 trials, 0 already
    stored, 7 new rows`, as if 9 were missing. Here the other run is played by rows stored
    once this one has planned (its groups are then found done when it comes to claim them),
    by a run of this sweep or of another sharing its trials (``wider``), which was called
    `another run of it` too: both are `another run`."""
    from xbarmem.experiments import runner
    from xbarmem.experiments.store import ResultStore

    (tmp_path / "s.toml").write_text(tiny_sweep("order", seeds=4, fault_rates=[0.0, 0.3]))
    done = tmp_path / "done.sqlite"
    run_sweep(load_sweep(tmp_path / "s.toml"), done)
    with ResultStore(done, readonly=True) as db:
        hebb = [(r["key"], other, r["config"], r["result"], {})
                for r in db.rows(["rule=hebb"])]
    store = tmp_path / "split.sqlite"
    real = runner.run_sweep

    def meanwhile(*args, on_plan=None, **kwargs):
        def planned(pending: int, already: int) -> None:
            with ResultStore(store) as db:  # (another run stores the hebb trials)
                db.add(hebb)
            if on_plan is not None:
                on_plan(pending, already)
        return real(*args, on_plan=planned, **kwargs)

    monkeypatch.setattr(runner, "run_sweep", meanwhile)
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    assert ("sweep order: 16 trials, 0 already stored, 8 new rows, 8 stored meanwhile by "
            "another run (in-process") in " ".join(out.split())
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1",
                             "--json")
    assert code == 0 and json.loads(out)["meanwhile"] == 0, err


def test_rows_a_sweep_holds_but_no_longer_plans_are_said_when_another_sweep_stored_its_plan(
        tmp_path, run_cli):
    """A sweep edited to plan trials another sweep had stored (``b``: hebb and storkey, then
    hebb and pinv, after ``a``: hebb and pinv) said nothing of its storkey row, which
    ``results --sweep b`` shows beside the planned ones: the rows it holds were counted
    against the planned trials stored by anyone (pinv, stored by ``a`` and not yet held by
    ``b``, offset the storkey row)."""
    from xbarmem.experiments.runner import unplanned_note
    from xbarmem.experiments.store import ResultStore

    store = tmp_path / "s.sqlite"
    for name, rules in (("a", ("hebb", "pinv")), ("b1", ("hebb", "storkey"))):
        (tmp_path / f"{name}.toml").write_text(tiny_sweep(name[0], rules=rules))
        run_sweep(load_sweep(tmp_path / f"{name}.toml"), store, jobs=1)
    (tmp_path / "b2.toml").write_text(tiny_sweep("b", rules=("hebb", "pinv")))
    with ResultStore(store, readonly=True) as db:
        assert db.held_by("b", [r["key"] for r in db.rows()]) == {
            r["key"] for r in db.rows(["rule~%"], "b")}
        note = unplanned_note(db, [load_sweep(tmp_path / "b2.toml")], "this file")
    assert note is not None and "holds 1 row of sweep 'b' that this file does not plan" in note
    code, _, err = run_cli("sweep", tmp_path / "b2.toml", "--store", store, "--jobs", "1")
    assert code == 0 and "holds 1 row of sweep 'b' that this file does not plan" in err, err
    with ResultStore(store, readonly=True) as db:  # once run, b holds its plan: still 1
        assert "holds 1 row of sweep 'b'" in (unplanned_note(
            db, [load_sweep(tmp_path / "b2.toml")], "this file") or "")


def test_the_version_filter_is_not_offered_when_it_would_hide_planned_rows(tmp_path, run_cli):
    """A store whose planned rows an earlier xbarmem stored (reused by this one) and whose
    unplanned rows this version computed was told to filter ``--where version=<this one>``:
    the filter kept exactly the unplanned rows and left out the planned ones (the rows of
    another version were counted over every row the sweep held, planned or not)."""
    from xbarmem.experiments.runner import unplanned_note
    from xbarmem.experiments.store import ResultStore

    store = tmp_path / "s.sqlite"
    (tmp_path / "two.toml").write_text(tiny_sweep("v", seeds=2))
    run_sweep(load_sweep(tmp_path / "two.toml"), store, jobs=1)
    with sqlite3.connect(store) as db:  # the seed-0 rows, which the edited file plans
        db.execute("UPDATE trials SET version = '0.0.1' WHERE json_extract(config, '$.seed') = 0")
    db.close()
    (tmp_path / "one.toml").write_text(tiny_sweep("v", seeds=1))
    with ResultStore(store, readonly=True) as db:
        note = unplanned_note(db, [load_sweep(tmp_path / "one.toml")], "this file")
    assert note is not None and "holds 2 rows of sweep 'v' that this file does not plan (" in note
    assert "--where version" not in note, note
    code, _, err = run_cli("sweep", tmp_path / "one.toml", "--store", store, "--jobs", "1")
    assert code == 0 and "does not plan (" in err and "--where version" not in err, err


@pytest.mark.parametrize(("when", "at"), [("finished", 0), ("finished", 1), ("plan", 0),
                                          ("claim", 0), ("claim", 5)])
def test_every_trial_is_counted_once_whenever_another_run_stores_rows(tmp_path, when, at,
                                                                      monkeypatch):
    """Two runs of one sweep into one store: the second said `3000 trials, 18 already
    stored, 1446 new rows, 1512 stored meanwhile` (24 trials counted nowhere) and its bar
    stopped at 2958/2982: the rows the first stored between the run's read of the trials
    already stored and its read of each group's pending trials were neither. Here the other
    run stores the hebb rows once, right after the store's ``at``-th read of the trials
    stored (``finished``), when the plan is reported, or before the ``at``-th claim."""
    from xbarmem.experiments.store import ResultStore

    (tmp_path / "s.toml").write_text(tiny_sweep("order", seeds=4, fault_rates=[0.0, 0.3]))
    done = tmp_path / "done.sqlite"
    run_sweep(load_sweep(tmp_path / "s.toml"), done)
    with ResultStore(done, readonly=True) as db:
        hebb = [(r["key"], r["sweep"], r["config"], r["result"], {})
                for r in db.rows(["rule=hebb"])]
    store, calls, stored = tmp_path / "split.sqlite", {"finished": 0, "claim": 0}, []

    def other_run(point: str) -> None:
        if point == when and calls.get(point, 0) == at and not stored:
            with ResultStore(store) as other:
                other.add(hebb)
            stored.append(point)
        calls[point] = calls.get(point, 0) + 1

    finished, claim = ResultStore.finished, ResultStore.claim
    monkeypatch.setattr(ResultStore, "finished",
                        lambda self, keys: [finished(self, keys), other_run("finished")][0])
    monkeypatch.setattr(ResultStore, "claim",
                        lambda self, *a, **k: [other_run("claim"), claim(self, *a, **k)][1])
    planned, progressed = [], []

    def on_plan(pending: int, already: int) -> None:
        planned.append(pending)
        other_run("plan")

    report = run_sweep(load_sweep(tmp_path / "s.toml"), store, on_plan=on_plan,
                       on_progress=progressed.append, on_work=lambda done, total: None)
    assert stored  # (the other run's rows came)
    assert report.already + report.inserted + report.meanwhile == report.total == 16, report
    assert sum(progressed) == planned[0] == report.total - report.already


def test_a_sweep_run_again_with_fewer_seeds_names_seeds_among_what_differs(tmp_path, run_cli):
    """A sweep file edited to fewer seeds, run into its store, said the rows of the other seeds
    were of "other settings or batches, or computed otherwise by an earlier xbarmem": seeds
    were not among the reasons it named."""
    (tmp_path / "s.toml").write_text(tiny_sweep("s", seeds=2, rules=("hebb",)))
    store = tmp_path / "s.sqlite"
    assert run_sweep(load_sweep(tmp_path / "s.toml"), store, jobs=1).inserted == 2
    (tmp_path / "s.toml").write_text(tiny_sweep("s", seeds=1, rules=("hebb",)))
    code, _, err = run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0 and ("holds 1 row of sweep 's' that this file does not plan (other seeds, "
                          "settings or batches") in err, err
