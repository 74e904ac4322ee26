"""``--jobs`` above the machine's cores: the local process pool runs at most one worker per
core (at least 2), with one warning line -- ``--jobs 999`` on two cores started 999 torch
interpreters and exhausted the memory (other processes were killed) -- and the same rows."""

from __future__ import annotations

import json

import pytest

from tests.conftest import tiny_sweep
from xbarmem.experiments import pool


@pytest.mark.parametrize("jobs, cores, expected", [(999, 2, 2), (1024, 8, 8), (3, 8, 3),
                                                   (2, 1, 2), (5, None, 2), (1, 4, 1)])
def test_a_pool_runs_at_most_one_worker_per_core(jobs, cores, expected, monkeypatch):
    monkeypatch.setattr(pool.os, "cpu_count", lambda: cores)
    assert pool.workers_for(jobs) == expected
    executor = pool.new(jobs)
    try:
        assert executor._max_workers == max(expected, 1)
    finally:
        executor.shutdown()


def test_sweep_with_more_jobs_than_cores_warns_once_and_stores_the_same_rows(
        run_cli, tmp_path, monkeypatch):
    sweep = tmp_path / "s.toml"
    sweep.write_text(tiny_sweep("jobs", fault_rates=[0.0, 0.3]))
    code, _, err = run_cli("sweep", sweep, "--store", tmp_path / "one.sqlite", "--jobs", "1")
    assert code == 0, err
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)
    code, out, err = run_cli("sweep", sweep, "--store", tmp_path / "many.sqlite", "--jobs",
                             "999", "--json")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "--jobs 999" in warnings[0] and "2 worker" in warnings[0]
    assert "Traceback" not in err
    rows = {}
    for name in ("one", "many"):
        code, out, err = run_cli("results", tmp_path / f"{name}.sqlite", "--json")
        rows[name] = sorted((r["key"], json.dumps(r["result"]["cosine"]))
                            for r in json.loads(out))
    assert rows["one"] == rows["many"] and len(rows["one"]) == 4
