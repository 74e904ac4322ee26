"""A sweep on a Dask cluster that breaks under it, as a lab's would: the scheduler gone
mid-sweep, workers that cannot import xbarmem, addresses Dask cannot use. Clusters run in
this process (``processes=False``); each test takes a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time

import pytest
from conftest import check_work_within_groups, tiny_sweep

from xbarmem.errors import ConfigError, ExecutorLost, XbarmemWarning
from xbarmem.experiments import dask_logs, executors
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import load_sweep
from xbarmem.version import __version__

distributed = pytest.importorskip("distributed")


@pytest.fixture
def spec(tmp_path):
    """A sweep of 4 tiny trials, one group each."""
    file = tmp_path / "tiny.toml"
    file.write_text(tiny_sweep("tiny", seeds=2))
    return load_sweep(file)


def _cluster():
    """A scheduler and a worker in this process, on TCP as a lab's cluster."""
    return distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                    protocol="tcp", dashboard_address=":0")


@contextlib.contextmanager
def _scheduler_and_worker():
    """``(scheduler, run)``: a Dask scheduler and one worker on TCP, on an event loop of a
    thread of this process; ``run(coroutine)`` runs on that loop. Unlike a LocalCluster's,
    the scheduler can be closed under its clients and everything still ends at once."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    async def start():
        scheduler = await distributed.Scheduler(host="127.0.0.1", port=0,
                                                dashboard_address=":0")
        return scheduler, await distributed.Worker(scheduler.address, nthreads=1)

    scheduler, worker = run(start())
    try:
        yield scheduler, run
    finally:
        run(worker.close(executor_wait=False, timeout=2))
        run(scheduler.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _rows(store) -> list[str]:
    with sqlite3.connect(store) as db:
        return [key for (key,) in db.execute("SELECT key FROM trials")]


def test_a_scheduler_lost_mid_sweep_stops_it_quietly_and_it_resumes(tmp_path, spec, caplog,
                                                                    capfd):
    """A scheduler killed mid-sweep: the one error line was preceded by Dask's client logging
    an error with a traceback of its cancelled reconnection (``distributed.client``)."""
    store = tmp_path / "r.sqlite"
    with _scheduler_and_worker() as (scheduler, run):
        def lose_the_scheduler(n: int) -> None:  # once the first group is stored
            run(scheduler.close())

        with pytest.raises(ExecutorLost, match="lost the connection to the Dask cluster"):
            run_sweep(spec, store, scheduler=scheduler.address, on_progress=lose_the_scheduler)
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING
              and r.name.startswith(("distributed", "tornado", "asyncio"))]
    assert not logged, [r.getMessage() for r in logged]
    assert "Traceback" not in capfd.readouterr().err
    stored = _rows(store)
    assert 1 <= len(stored) < len(spec.trials)
    with _cluster() as again:  # the same command again: the missing trials only
        report = run_sweep(spec, store, scheduler=again.scheduler_address)
    assert report.already == len(stored) and report.inserted == len(spec.trials) - len(stored)
    assert sorted(_rows(store)) == sorted(t.key for t in spec.trials)


def _no_xbarmem():
    raise ModuleNotFoundError("No module named 'xbarmem'")


def test_workers_without_xbarmem_are_refused_in_one_line(tmp_path, spec, monkeypatch, capfd):
    """Workers started in a Python without xbarmem: the sweep ended with Dask's exception of
    the worker (a 200-line traceback through Dask's files), after a warning table of the
    cluster's mismatched package versions, leaving an empty store."""
    monkeypatch.setattr(executors, "_worker_version", _no_xbarmem)  # the in-process worker
    with _cluster() as cluster:
        address, worker = cluster.scheduler_address, next(iter(cluster.scheduler.workers))
        with pytest.raises(ConfigError) as info:
            run_sweep(spec, tmp_path / "r.sqlite", scheduler=address)
    assert str(info.value) == (
        f"Dask worker {worker} of {address} cannot run xbarmem (ModuleNotFoundError: No "
        f"module named 'xbarmem'; 1 of 1 workers): install xbarmem {__version__} in the "
        f"Python of every worker")
    assert not list(tmp_path.glob("r.sqlite*"))  # no (empty) store left behind
    assert "Traceback" not in capfd.readouterr().err


def test_a_cluster_of_other_package_versions_is_joined_without_dask_warnings(monkeypatch,
                                                                              recwarn):
    """Only JSON text crosses the wire, so another numpy on the workers does not matter; Dask
    warned with a table of the mismatched versions and its own file's path."""
    import distributed.versions as versions

    original = versions.get_versions

    def other_numpy(*args, **kwargs):  # what this process tells the scheduler it runs
        found = original(*args, **kwargs)
        return {**found, "packages": {**found["packages"], "numpy": "0.0.0"}}

    with _cluster() as cluster:
        monkeypatch.setattr(versions, "get_versions", other_numpy)
        executors.make_executor(scheduler=cluster.scheduler_address).close()
    assert not [w for w in recwarn if issubclass(w.category, versions.VersionMismatchWarning)]


@pytest.mark.parametrize(("address", "named"), [
    ("tcp://no-such-host.invalid:8786", "unknown host no-such-host.invalid"),
    ("ucx://127.0.0.1:8786", r"Dask here cannot connect over ucx:// \(its package is not "
                             r"installed here\)$"),
    ("tls://127.0.0.1:8786", "tls:// needs Dask's TLS settings"),
])
def test_addresses_dask_cannot_use_are_named_so_at_once(address, named, monkeypatch):
    """An unknown host waited out the 5-s timeout and said "no answer"; a protocol Dask
    cannot use here (ucx:// without its package, tls:// without certificates) was refused
    as a server that "answers but is not a Dask scheduler" without anything contacted."""
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 30.0)
    monkeypatch.delenv("DASK_DISTRIBUTED__COMM__TLS__CA_FILE", raising=False)
    with pytest.raises(ConfigError, match=named) as info:
        executors.check_scheduler(address)
    # at once: the cause is named, not the 30-s timeout waited out ("no answer within 30 s");
    # no clock is read (a loaded machine's failed name lookup took 3.1 s)
    assert "no answer" not in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"cannot reach the Dask scheduler {address}: ")


def test_a_group_whose_workers_died_says_so_in_one_line():
    """A group whose workers all died running it (out of memory, killed) failed with Dask's
    paragraph naming its task key and a web page."""
    from distributed.scheduler import KilledWorker

    class Worker:  # the scheduler's record of the last worker
        address = "tcp://10.0.0.7:40000"

    assert executors.failure_text(KilledWorker("run_group_json-0f3c", Worker(), 3)) == (
        "KilledWorker: the workers running it died 4 times (the last: tcp://10.0.0.7:40000; "
        "out of memory, or killed?)")
    assert executors.failure_text(RuntimeError("bad\n value")) == "RuntimeError: bad value"
    assert executors.failure_text(KilledWorker("k", Worker(), 0)).startswith(
        "KilledWorker: the workers running it died 1 time (the last")


def test_the_cli_refuses_workers_without_xbarmem_in_one_line_before_any_bar(
        run_cli, tmp_path, monkeypatch):
    """The refusal came after the progress bar had been drawn (and left an empty store)."""
    monkeypatch.setattr(executors, "_worker_version", _no_xbarmem)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(tiny_sweep("tiny", seeds=1))
    with _cluster() as cluster:
        code, out, err = run_cli("sweep", "tiny.toml", "--store", "r.sqlite", "--scheduler",
                                 cluster.scheduler_address)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: Dask worker ") and "cannot run xbarmem" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


def test_workers_get_the_pattern_files_absolute_path(tmp_path, monkeypatch):
    """A sweep of a pattern file given by a relative path, on workers started in another
    folder: every group failed with FileNotFoundError (the workers read the path from theirs).
    The stored rows keep the path as planned, so the keys and a resumed sweep are unchanged."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("pats.npy", np.sign(rng.standard_normal((6, 16))).astype("float32"))
    (tmp_path / "f.toml").write_text(tiny_sweep("filed", seeds=1).replace(
        'data = "random"', 'data = "pats.npy"'))
    spec = load_sweep(tmp_path / "f.toml")
    sent: list[dict] = []
    real = executors.run_group_json

    def recorded(payload, progress=None):
        sent.extend(t["config"] for t in json.loads(payload)["trials"])
        return real(payload, progress)

    monkeypatch.setattr(executors, "run_group_json", recorded)
    report = run_sweep(spec, tmp_path / "r.sqlite")
    assert report.inserted == len(spec.trials) and not report.failures
    assert {c["data"] for c in sent} == {str(tmp_path / "pats.npy")}
    with sqlite3.connect(tmp_path / "r.sqlite") as db:
        stored = {json.loads(c)["data"] for (c,) in db.execute("SELECT config FROM trials")}
    assert stored == {"pats.npy"}


def test_a_failed_groups_line_names_the_grids_values_not_the_tables_they_resolve_to(tmp_path):
    """A group of a sweep over fault rates and seeds failed with its resolved chip and rule
    options printed whole (a thousand characters of JSON): both vary with the grid."""
    from xbarmem.experiments.runner import describe_group, varying_keys

    text = tiny_sweep("two", seeds=2, rules=("adaptive",), fault_rates=[0.0, 0.1])
    (tmp_path / "t.toml").write_text(text)
    trials = load_sweep(tmp_path / "t.toml").trials
    assert varying_keys(trials) == ["fault_rate", "seed"]
    assert describe_group(trials[:1], varying_keys(trials)) == "fault_rate=0.0, seed=0"
    grid = [type(t)(t.key, {**t.config, "rule_options": {"lr": lr}})  # a grid of rule options
            for t in trials for lr in (0.1, 0.2)]
    assert varying_keys(grid) == ["fault_rate", "seed", "rule_options"]


@contextlib.contextmanager
def _serving(handler):
    """The ``tcp://`` address of a TCP server of ``handler`` on a free loopback port."""
    import socketserver

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet:
    """An HTTP server's handler that does not log to stderr."""

    def log_message(self, *args) -> None:
        pass


class _Closes:
    """A service that closes every connection at once."""

    def __init__(self, request, *args) -> None:
        request.close()


@pytest.mark.parametrize(("handler", "why"), [
    ("http", "its answer is not in Dask's protocol"),
    ("closes", "it closed the connection at Dask's handshake"),
])
def test_a_service_that_is_not_dask_is_named_so_at_once(handler, why, monkeypatch):
    """An HTTP server at the address (it waits for a request line, Dask for its answer) took
    the whole connect timeout and was called unreachable ("no answer within 5 s"); a service
    that closes the connection too."""
    import http.server
    import time

    kind = (type("H", (_Quiet, http.server.SimpleHTTPRequestHandler), {})
            if handler == "http" else _Closes)
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 30.0)
    with _serving(kind) as address:
        began = time.monotonic()
        with pytest.raises(ConfigError) as info:
            executors.check_scheduler(address)
    # at once, not after the connect timeout (30 s here): half of it leaves room for load
    assert time.monotonic() - began < 15
    assert str(info.value) == f"{address} answers but is not a Dask scheduler ({why})"


def _logging_state() -> dict:
    """Every logger's level, filters, handlers and propagate flag."""
    loggers = {"": logging.getLogger()} | {
        name: one for name, one in logging.root.manager.loggerDict.items()
        if isinstance(one, logging.Logger)}
    return {name: (one.level, list(one.filters), list(one.handlers), one.propagate)
            for name, one in loggers.items()}


@pytest.mark.parametrize("interrupted", [False, True])
def test_the_processs_own_asyncio_and_tornado_records_pass_during_a_sweep(
        interrupted, tmp_path, spec):
    """The executor set the ``asyncio`` and ``tornado`` loggers to CRITICAL while it was open:
    a notebook's or an application's own records there were lost. They pass now; every
    logger is as it was after the sweep, also after one interrupted (and one refused:
    :func:`test_every_logger_is_as_it_was_after_a_cluster_is_refused`)."""
    seen: list[str] = []
    mine = logging.Handler(logging.INFO)
    mine.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    for name in ("asyncio", "tornado.application"):
        logging.getLogger(name).addHandler(mine)
    try:
        with _cluster() as cluster:
            before = _logging_state()

            def log_mine(n: int) -> None:
                logging.getLogger("asyncio").warning("my loop %d", n)
                logging.getLogger("tornado.application").error("my app %d", n)
                if interrupted:
                    raise KeyboardInterrupt

            with contextlib.suppress(KeyboardInterrupt):
                run_sweep(spec, tmp_path / "r.sqlite", scheduler=cluster.scheduler_address,
                          on_progress=log_mine)
            after = _logging_state()
    finally:
        for name in ("asyncio", "tornado.application"):
            logging.getLogger(name).removeHandler(mine)
    assert seen[:2] == ["my loop 1", "my app 1"]
    assert len(seen) == (2 if interrupted else 2 * len(spec.trials))
    assert {name: after[name] for name in before} == before


def test_every_logger_is_as_it_was_after_a_cluster_is_refused(tmp_path, spec, monkeypatch):
    monkeypatch.setattr(executors, "_worker_version", _no_xbarmem)
    with _cluster() as cluster:
        before = _logging_state()
        with pytest.raises(ConfigError, match="cannot run xbarmem"):
            run_sweep(spec, tmp_path / "r.sqlite", scheduler=cluster.scheduler_address)
        after = _logging_state()
    assert {name: after[name] for name in before} == before


def test_only_the_records_of_dasks_loop_are_held_back():
    """What :class:`dask_logs._DaskNoise` keeps off the shared loop loggers: records of Dask's
    loop thread, and those whose text or traceback is in Dask's files, below CRITICAL."""
    import distributed.comm.registry
    import distributed.utils

    noise = dask_logs._DaskNoise()

    def record(msg, args=(), level=logging.ERROR, thread="MainThread", exc_info=None):
        one = logging.LogRecord("asyncio", level, __file__, 1, msg, args, exc_info)
        one.threadName = thread
        return one

    try:
        distributed.comm.registry.get_backend("no-such-protocol")
    except ValueError as exc:
        in_dask = (type(exc), exc, exc.__traceback__)
    assert noise.filter(record("my loop"))
    assert not noise.filter(record("Exception in callback", thread="IO loop"))
    assert not noise.filter(record("Task was destroyed: %s", (distributed.utils.__file__,)))
    assert not noise.filter(record("Exception in callback", exc_info=in_dask))
    assert noise.filter(record("Exception in callback", level=logging.CRITICAL,
                               thread="IO loop"))


@contextlib.contextmanager
def _late_worker(monkeypatch, version):
    """``(cluster, join)``: a cluster of one worker; ``join()`` adds a worker whose xbarmem
    :func:`version` tells (or raises), which fails every group sent to it, and returns its
    address."""
    cluster = _cluster()
    first = set(cluster.scheduler.workers)
    real = executors.run_group_json

    def version_here(dask_worker=None):  # Dask's run passes the worker
        return __version__ if dask_worker.address in first else version()

    def run_here(payload, progress=None):
        if distributed.get_worker().address not in first:
            raise RuntimeError("a group ran on the late worker")
        return real(payload, progress)

    def join() -> str:
        cluster.scale(2)
        for _ in range(100):
            if len(cluster.scheduler.workers) == 2:
                return next(iter(set(cluster.scheduler.workers) - first))
            threading.Event().wait(0.05)
        raise AssertionError("the second worker did not join")

    monkeypatch.setattr(executors, "_worker_version", version_here)
    monkeypatch.setattr(executors, "run_group_json", run_here)
    with cluster:
        yield cluster, join


@pytest.mark.parametrize(("version", "why"), [
    (_no_xbarmem, "ModuleNotFoundError: No module named 'xbarmem'"),
    (lambda: "0.0.1", f"it has xbarmem 0.0.1, this process {__version__}"),
])
def test_a_worker_that_cannot_run_xbarmem_joining_mid_sweep_gets_no_groups(
        version, why, tmp_path, monkeypatch):
    """A worker that joined after the start-up check got groups: one without xbarmem failed
    them one line each here (a real one closed on loading the first, its nanny too, and the
    group counted a worker's death); one of another xbarmem ran them with its own code. It
    is named once now, gets no group, and the sweep ends on the others."""
    file = tmp_path / "t.toml"
    file.write_text(tiny_sweep("t", seeds=4))
    spec = load_sweep(file)
    joined: list[str] = []
    with _late_worker(monkeypatch, version) as (cluster, join):
        def join_once(n: int) -> None:
            if not joined:
                joined.append(join())

        warned: list[str] = []  # (the in-process worker's groups ignore warnings meanwhile)
        monkeypatch.setattr(executors, "_warn_unfit", lambda *told: warned.append(
            executors._unfit_text(*told)))
        report = run_sweep(spec, tmp_path / "r.sqlite", scheduler=cluster.scheduler_address,
                           on_progress=join_once)
    assert not report.failures and report.inserted == len(spec.trials)
    assert warned == [
        f"Dask worker {joined[0]} joined the Dask cluster at {cluster.scheduler_address} but "
        f"cannot run xbarmem ({why}): the groups go to its other 1 worker"]


def test_workers_that_cannot_run_xbarmem_are_told_in_one_warning():
    """Several found at once: the first named with its cause, the others counted."""
    unfit = {"tcp://10.0.0.9:1": "it has xbarmem 0.0.1, this process 9", "tcp://10.0.0.8:1":
             "ModuleNotFoundError: No module named 'xbarmem'"}
    with pytest.warns(XbarmemWarning) as warned:
        executors._warn_unfit(unfit, "Dask cluster at tcp://10.0.0.1:8786", 3)
    assert [str(w.message) for w in warned] == [
        "Dask worker tcp://10.0.0.8:1 (and 1 other worker) joined the Dask cluster at "
        "tcp://10.0.0.1:8786 but cannot run xbarmem (ModuleNotFoundError: No module named "
        "'xbarmem'): the groups go to its other 3 workers"]


def test_dask_workers_report_work_within_running_groups(tmp_path):
    """On a Dask cluster the bar sat at 0 until a group came back (its workers reported only
    a group's end): they report their training's progress through the scheduler, as a
    process pool's workers do, and the work never moves backwards."""
    with _cluster() as cluster:
        check_work_within_groups(tmp_path / "d.sqlite", scheduler=cluster.scheduler_address)


#: set when the test below has closed its executor: the chattering task then ends
_CLOSED = threading.Event()


def _chatter(topic: str) -> str:
    """A group reporting its progress as fast as it can (a worker's task, in this process)
    until the executor closed (or 20 s passed)."""
    worker = distributed.get_worker()
    end = time.monotonic() + 20
    while not _CLOSED.is_set() and time.monotonic() < end:
        worker.log_event(topic, [1, 0.5])
        time.sleep(0.0005)
    return "done"


def test_an_executor_closed_mid_group_leaves_its_progress_topic_first():
    """Ctrl-C (or SIGTERM) of a ``--workers`` sweep while a group reported its progress: now
    and then the scheduler (a local cluster's, in the sweep's process) wrote an event to the
    client's closed link and logged ``Closed comm ... while trying to write`` at CRITICAL
    with a traceback beside the "interrupted" line. A group reporting every half millisecond
    made it happen every time; the executor now leaves the topic before closing."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    keep, scheduler_log = Keep(level=logging.CRITICAL), logging.getLogger("distributed.scheduler")
    scheduler_log.addHandler(keep)
    _CLOSED.clear()
    try:
        with _cluster() as cluster:
            executor = executors.make_executor(scheduler=cluster.scheduler_address)
            try:
                executor.client.submit(_chatter, executor._subscribed(), pure=False)
                deadline = time.monotonic() + 30
                while executor._reports.empty() and time.monotonic() < deadline:
                    threading.Event().wait(0.05)
                assert not executor._reports.empty(), "the group reported nothing"
                threading.Event().wait(0.3)
            finally:
                executor.close()
                _CLOSED.set()
            threading.Event().wait(0.5)  # (what the scheduler would write meanwhile)
    finally:
        scheduler_log.removeHandler(keep)
    assert not [m for m in seen if "Closed comm" in m], seen[:1]
