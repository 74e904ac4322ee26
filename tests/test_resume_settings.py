"""What a stored number depends on decides what a run may reuse: a run that would compute
other numbers never takes stored ones for its own.

* A hardware-adaptive trial's numbers depend on the networks trained beside it (one random
  stream per batch), and its store key says so: the same sweep run with another ``batch`` into
  the same store took every row of the first run as already stored ("24 already stored, 0 new
  rows") although a fresh run of it gives other numbers (``xbarmem sweep b1.toml --store
  mix.sqlite`` after ``xbarmem sweep b4.toml --store mix.sqlite``, the files differing only in
  ``batch``).
* The torch thread count can change the numbers (``xbarmem sweep th.toml --threads 2`` gave
  cosine 1.0 where ``--threads 1`` gave 0.9896): a sweep or ``reproduce`` with another
  ``--threads`` than the stored rows of its trials said "1 already stored, 0 new rows" and
  mixed the two; it is refused. A capacity-search checkpoint's key holds the thread count (a
  run resumed with another count reused the points of the first).
* A batch part of whose rows are stored (rows deleted to be computed again, or stored by
  another sweep) trains whole again, so the rows it adds are those a fresh run stores: a run
  that trained only the missing trials' networks would store other numbers under the batch's
  key (a guard; no run has done so)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import refused, tiny_sweep

import xbarmem
from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.evaluation.checkpoint import SearchCheckpoint
from xbarmem.experiments.batches import batch_keyed, plan_groups
from xbarmem.experiments.resolve import trial_key
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep, parse_sweep


def _spec(batch: int):
    import tomllib

    text = tiny_sweep("batches", rules=("adaptive", "hebb"), fault_rates=[0.0, 0.3])
    return parse_sweep(tomllib.loads(text.replace("batch = 1", f"batch = {batch}")))


def _numbers(store) -> dict[str, tuple]:
    with ResultStore(store) as db:
        return {r["key"]: (r["config"]["rule"], r["config"]["fault_rate"],
                           json.dumps({k: v for k, v in r["result"]["train"].items()
                                       if k != "train_seconds"}), r["result"]["cosine"])
                for r in db.rows()}


def test_a_store_never_gives_a_trial_the_row_of_another_batch(tmp_path):
    alone, batched = _spec(1), _spec(4)
    keys = {s.batch: {(t.config["rule"], t.config["fault_rate"]): t.key for t in s.trials}
            for s in (alone, batched)}
    for point, key in keys[1].items():  # the configuration alone when trained alone
        assert key == trial_key(next(t.config for t in alone.trials if t.key == key))
        assert (key == keys[4][point]) == (point[0] == "hebb"), point  # a seeded rule: batch
    mixed = tmp_path / "mixed.sqlite"
    assert run_sweep(batched, mixed).inserted == 4
    again = run_sweep(alone, mixed)
    assert (again.already, again.ran) == (2, 2)  # hebb reused, adaptive trained alone
    assert run_sweep(alone, tmp_path / "fresh.sqlite").inserted == 4
    fresh, stored = _numbers(tmp_path / "fresh.sqlite"), _numbers(mixed)
    assert all(stored[k] == v for k, v in fresh.items())  # what a fresh run gives
    assert len(stored) == 6  # and the rows of the batch-4 run kept under their own keys
    by_batch = {k: v for k, v in stored.items() if k not in fresh}
    assert sorted(v[:2] for v in by_batch.values()) == [("adaptive", 0.0), ("adaptive", 0.3)]
    assert {v[2] for v in by_batch.values()} != {fresh[k][2] for k in fresh
                                                 if fresh[k][0] == "adaptive"}


def test_batch_keys_leave_the_groups_and_the_other_keys_as_they_were():
    spec = _spec(4)
    plain = [type(t)(trial_key(t.config), t.config) for t in spec.trials]
    assert batch_keyed(plain, 4) == spec.trials
    assert batch_keyed(plain, 1) == plain  # every network alone: keys of the configuration
    groups = [[t.config for t in g] for g in plan_groups(spec.trials, 4)]
    assert sorted(map(json.dumps, groups)) == sorted(
        json.dumps([t.config for t in g]) for g in plan_groups(plain, 4))


def test_a_run_with_another_thread_count_than_the_stored_rows_is_refused(tmp_path, run_cli):
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("threads"))
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0, err
    line = refused(run_cli, tmp_path, "sweep", sweep, "--store", store, "--jobs", "1",
                   "--threads", "2")
    assert line == (f"error: {store} holds 2 trials of this run computed with 1 torch "
                    "thread, not 2 (the thread count can change the numbers): run with "
                    "--threads 1 to resume it, or use another store")
    with pytest.raises(ConfigError, match="computed with 1 torch thread"):
        run_sweep(load_sweep(sweep), store, threads=2)  # the API: the same check
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1", "--threads", "1")
    assert code == 0, err  # the same count resumes


def test_a_checkpoint_of_another_thread_count_is_not_reused(tmp_path):
    path, before = tmp_path / "kept.json", torch.get_num_threads()
    with SearchCheckpoint(path, {"rule": "hebb"}) as kept:
        kept.measured("single")[4] = {"point": {"count": 4, "cosine": 1.0}, "devices": {}}
        kept.save()
    torch.set_num_threads(2)
    try:
        with pytest.warns(XbarmemWarning, match=r"other settings \(threads\)"):
            kept = SearchCheckpoint(path, {"rule": "hebb"})
        assert kept.resumed == 0
        kept.close()
    finally:
        torch.set_num_threads(before)
    with SearchCheckpoint(path, {"rule": "hebb"}) as kept:  # the same count as the file's
        assert kept.resumed == (0 if before == 2 else 1)


def _levels_sweep(folder, levels: int):
    from xbarmem import load_chip

    chip = folder / f"rram{levels}.toml"
    chip.write_text(load_chip("rram").replace_device(levels=levels).to_toml(), encoding="utf-8")
    sweep = folder / "lv.toml"
    sweep.write_text(tiny_sweep("lv", rules=("adaptive",)).replace(
        "[base]\n", f'[base]\nchip = "{chip.as_posix()}"\n') + (
        "\n[rule_options.adaptive]\nmax_steps = 5\nfinetune_steps = 2\nflip_steps = 2\n"))
    return sweep


def test_a_trial_on_a_chip_with_levels_is_keyed_by_how_it_trains_through_them(tmp_path):
    """The hardware-adaptive rule trains through a chip's conductance levels since the option
    ``quantize`` came (on by default; off for multilayer memories of continuous patterns on 8
    levels or more), and trained as on a continuous chip before, under the same options and
    key: ``xbarmem sweep`` of a store written before took its rows for its own ("2 already
    stored, 0 new rows"; cosine 0.9925 stored where a fresh run gives 0.9919), and grid
    points added later would have sat beside them, trained the other way. On such chips the
    key lists ``quantize`` as it applies; a continuous chip's keys are as they were."""
    import sqlite3

    from xbarmem.experiments.resolve import resolve

    sweep = _levels_sweep(tmp_path, 8)
    base = {"data": "random", "n_neurons": 16, "patterns": 3, "rule": "adaptive"}
    for extra, quantize in (({}, True), ({"arch": "multilayer", "hidden": 16}, True),
                            ({"arch": "multilayer", "hidden": 16, "kind": "continuous"}, False)):
        options = resolve({**base, **extra, "chip": str(tmp_path / "rram8.toml")}, "evaluate",
                          0)["rule_options"]
        assert options["quantize"] is quantize, extra
        assert "quantize" not in resolve({**base, **extra}, "evaluate", 0)["rule_options"]
    store = tmp_path / "s.sqlite"
    assert run_sweep(load_sweep(sweep), store).inserted == 1
    with sqlite3.connect(store) as db:  # the row as the versions before ``quantize`` keyed it
        (key, text), = db.execute("SELECT key, config FROM trials").fetchall()
        config = json.loads(text)
        del config["rule_options"]["quantize"]
        db.execute("UPDATE trials SET key = ?, config = ?", (trial_key(config), json.dumps(config)))
        db.execute("UPDATE sweep_trials SET key = ?", (trial_key(config),))
    db.close()
    again = run_sweep(load_sweep(sweep), store)
    assert (again.already, again.ran) == (0, 1)


def test_a_row_trained_in_a_batch_under_the_key_of_a_trial_alone_is_refused(tmp_path, run_cli):
    """Versions before batch keys stored a hardware-adaptive trial trained in a batch under the
    key of its configuration alone: a run that now trains that trial alone took the row for
    its own (``xbarmem reproduce --quick`` on a folder of 2026-12-03 reused two rows of section
    (d), cosine 0.9959 and 1.0, where a fresh run measures 0.9977 and 0.9989). Refused before
    any work, naming the store; the row records the networks of its batch."""
    import sqlite3
    import tomllib

    store = tmp_path / "s.sqlite"
    assert run_sweep(_spec(4), store).inserted == 4
    with sqlite3.connect(store) as db:  # the batched rows as versions before batch keys kept them
        for key, text in db.execute("SELECT key, config FROM trials").fetchall():
            plain = trial_key(json.loads(text))
            db.execute("UPDATE trials SET key = ? WHERE key = ?", (plain, key))
            db.execute("UPDATE sweep_trials SET key = ? WHERE key = ?", (plain, key))
    db.close()
    with pytest.raises(ConfigError, match="holds 2 trials of this run that an earlier xbarmem "
                                          "trained in a batch with other networks"):
        run_sweep(_spec(1), store)
    sweep = tmp_path / "b1.toml"
    sweep.write_text(tiny_sweep("batches", rules=("adaptive", "hebb"), fault_rates=[0.0, 0.3]))
    assert tomllib.loads(sweep.read_text())["sweep"]["batch"] == 1
    line = refused(run_cli, tmp_path, "sweep", sweep, "--store", store, "--jobs", "1")
    assert line == (f"error: {store} holds 2 trials of this run that an earlier xbarmem "
                    "trained in a batch with other networks, under the key of the trial "
                    "trained alone (their numbers depend on the networks trained beside them; "
                    "this version keys them by their batch): use another store")
    again = run_sweep(_spec(4), store)  # batched: keyed by their batches, trained once more
    assert (again.already, again.ran) == (2, 2)


def test_rows_a_run_does_not_plan_are_said_with_the_filter_that_leaves_them_out(tmp_path,
                                                                                run_cli):
    """``xbarmem sweep`` into a store holding rows of its sweep's name it does not plan advised
    ``--where version=...`` whatever they were: rows an earlier xbarmem computed otherwise
    under the same version (a chip's levels, a batch) share it, so the filter left them in.
    It names the version to keep only when the rows are all of another version
    (``runner.unplanned_note``, which ``reproduce`` now gives too: it said nothing)."""
    import sqlite3

    store = tmp_path / "s.sqlite"
    sweep = _levels_sweep(tmp_path, 8)
    assert run_sweep(load_sweep(sweep), store).inserted == 1
    with sqlite3.connect(store) as db:  # the row as the versions before ``quantize`` keyed it
        config = json.loads(db.execute("SELECT config FROM trials").fetchone()[0])
        del config["rule_options"]["quantize"]
        db.execute("UPDATE trials SET key = ?", (trial_key(config),))
        db.execute("UPDATE sweep_trials SET key = ?", (trial_key(config),))
    db.close()
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0 and (f"warning: {store} already holds 1 row of sweep 'lv' that this file "
                          "does not plan (other seeds, settings or batches, or computed "
                          "otherwise by an earlier xbarmem); results and plot show them beside "
                          "this run's rows: use another --store to keep them apart") in err, err
    assert "--where version" not in err
    older = tmp_path / "older.sqlite"
    code, _, err = run_cli("sweep", sweep, "--store", older, "--jobs", "1")
    with sqlite3.connect(older) as db:  # as a version of another number stored it
        db.execute("UPDATE trials SET version = '0.1.0', key = 'k'")
        db.execute("UPDATE sweep_trials SET key = 'k'")
    db.close()
    code, _, err = run_cli("sweep", sweep, "--store", older, "--jobs", "1")
    version = xbarmem.__version__
    assert code == 0 and ("holds 1 row of sweep 'lv' that this file does not plan, computed "
                          "by another xbarmem version; results and plot show them beside this "
                          f"run's rows unless filtered (--where version={version})") in err, err


def _batched(name: str, grids: list[dict]) -> dict:
    """A sweep of one-layer hardware-adaptive evaluate trials (16 random neurons, 3 patterns,
    short training) whose two fault rates train as one batch of two networks, per seed."""
    return {"sweep": {"name": name, "trial": "evaluate", "seeds": 2, "batch": 4},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "probes": 4,
                     "rule": "adaptive", "chip": "rram"},
            "grid": grids, "rule_options": {"adaptive": {"max_steps": 40, "finetune_steps": 20,
                                                         "flip_steps": 10}}}


def _stored(store) -> dict[str, str]:
    """Each row's result by key, without wall times and the group's bookkeeping (its index in
    the plan and how many trials it held): the numbers a run computed."""
    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()
                    if k not in ("seconds", "train_seconds", "index", "trials")}
        return value
    with ResultStore(store) as db:
        return {r["key"]: json.dumps(numbers(r["result"]), sort_keys=True) for r in db.rows()}


def _deleted(full, store):
    """A finished run's store with one row of each batch deleted (as a refused row is, to
    compute it again), then the same sweep run again."""
    import sqlite3

    run_sweep(full, store)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM trials WHERE json_extract(config, '$.fault_rate') = 0.3")
    db.close()
    return run_sweep(full, store)


def _superset(full, store):
    """A sweep of part of each batch's trials (the same networks, one level of two) stored
    first, then ``full`` into the same store: it reuses those rows, computes the rest."""
    part = parse_sweep(_batched("part", [{"fault_rate": [0.0, 0.3], "level": [0.1]}]))
    run_sweep(part, store)
    return run_sweep(full, store)


@pytest.mark.parametrize("run", [
    pytest.param(_deleted, id="rows-deleted"),
    pytest.param(_superset, id="part-stored-by-another-sweep"),
])
def test_a_batch_part_of_whose_rows_are_stored_trains_whole_again(tmp_path, run):
    """A hardware-adaptive batch trains its networks from one random stream, so a missing row
    is the one a fresh run stores only if its whole batch trains again, not its missing
    trials' networks alone: after some of its rows were deleted (as a refused row is, to
    compute it again), or when another sweep stored some of them (the training loss, steps
    and every recall number, not only the mean cosine)."""
    full = parse_sweep(_batched("full", [{"fault_rate": [0.0, 0.3], "level": [0.1]},
                                         {"fault_rate": [0.0], "level": [0.2]}]))
    run_sweep(full, tmp_path / "fresh.sqlite")
    fresh = _stored(tmp_path / "fresh.sqlite")
    assert len(fresh) == 6 and all('"networks": 2' in v for v in fresh.values())
    report = run(full, tmp_path / "run.sqlite")
    assert (report.already, report.inserted) == (4, 2) and not report.failures
    assert _stored(tmp_path / "run.sqlite") == fresh
