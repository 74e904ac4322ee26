"""``--jobs`` (and ``--workers``) above the machine's cores: the local process pool (and the
local Dask cluster) runs at most one worker per core (at least 2), with one warning line --
``--jobs 999`` on two cores started 999 torch interpreters and exhausted the memory (other
processes were killed) -- and the same rows."""

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


def test_a_local_dask_cluster_runs_at_most_one_worker_per_core(monkeypatch, recwarn):
    """``--workers 999`` started a Dask LocalCluster of 999 processes; it gets the rule of
    ``--jobs``: one worker per core (at least 2), one warning naming the option."""
    distributed = pytest.importorskip("distributed")
    from xbarmem.errors import XbarmemWarning
    from xbarmem.experiments.executors import make_executor

    real = distributed.LocalCluster

    def at_most_two(*args, n_workers, **kwargs):  # a regression must not start 999 processes
        assert n_workers <= 2, f"LocalCluster of {n_workers} workers asked for"
        return real(*args, n_workers=n_workers, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", at_most_two)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)
    executor = make_executor(workers=999)
    try:
        assert len(executor.client.nthreads()) == 2
        assert executor.name == "Dask LocalCluster (2 workers)" and executor.slots == 4
    finally:
        executor.close()
    warned = [str(w.message) for w in recwarn if issubclass(w.category, XbarmemWarning)]
    assert len(warned) == 1 and warned[0].startswith("--workers 999: this machine has 2 cores")
    assert "running 2 Dask workers" in warned[0]


def test_a_local_dask_cluster_does_not_need_port_8787(recwarn):
    """The scheduler's HTTP server (started even without a dashboard) took Dask's default port
    8787; with another sweep or notebook on it, Dask warned ``Port 8787 is already in use``
    with its own file path. It takes any free loopback port."""
    pytest.importorskip("distributed")
    import socket

    from xbarmem.experiments.executors import make_executor

    taken = socket.socket()
    try:
        taken.bind(("", 8787))
        taken.listen()
    except OSError:  # already taken by another process: the same situation
        pass
    try:
        executor = make_executor(workers=1)
        try:
            assert executor.cluster.scheduler.http_server.port != 8787
        finally:
            executor.close()
    finally:
        taken.close()
    assert not [w for w in recwarn if "8787" in str(w.message)]
