"""Run the missing trials of a sweep: in-process, on a local process pool, or on Dask.

The driver (the process calling :func:`run_sweep`) is the only writer of the store. It plans
the groups of the whole sweep (:func:`xbarmem.experiments.trial.plan_groups`), skips groups
whose trials are all stored, and keeps a bounded number of groups in flight. Just before a group
is submitted it is claimed in the store (:meth:`~xbarmem.experiments.store.ResultStore.claim`,
one transaction): a group claimed by another live runner is put back and looked at again later
(stored by then, or taken over if that runner died), so two sweep processes on one store
compute each trial once and both return when the whole sweep is stored. Workers get a group as
JSON text and return JSON text (no pickled objects cross the wire besides the function
reference). Each finished group is stored in one transaction. A failing group is reported (its
claims released) and the others go on.

Executors:

* ``jobs = 1`` -- in the driver process;
* ``jobs = J > 1`` -- a ``concurrent.futures`` process pool of J spawned workers (one torch
  thread each);
* ``workers = K`` -- a Dask ``LocalCluster`` of K single-threaded worker processes;
* ``scheduler = "tcp://HOST:PORT"`` -- an existing Dask cluster (its workers must have the
  same xbarmem installed, and pattern files at the same paths). The address is checked
  (:func:`check_scheduler`: it answers as a Dask scheduler with a worker, within
  :data:`CONNECT_TIMEOUT` seconds) before the store is opened; workers of another xbarmem
  version are refused when the cluster is joined, and a group sent to one that joins later
  fails (:func:`xbarmem.experiments.trial.run_group_json`). A scheduler lost mid-sweep, or a
  cluster that has had no worker for :data:`WORKER_GRACE` seconds while groups wait (its
  workers left or died), raises :class:`~xbarmem.errors.ExecutorLost` (the stored groups
  stay; running the sweep again resumes it).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbarmem.checks import check_callback, check_count, check_type, shown
from xbarmem.errors import ConfigError, ExecutorLost
from xbarmem.experiments.pool import discard, new, take
from xbarmem.experiments.store import Claimant, ResultStore
from xbarmem.experiments.sweep import SweepSpec, Trial
from xbarmem.experiments.trial import plan_groups, run_group_json, train_key
from xbarmem.files import as_path
from xbarmem.learning.budget import step_budget


@dataclass
class SweepReport:
    """What a sweep run did."""

    total: int
    already: int = 0
    ran: int = 0
    inserted: int = 0
    groups: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    executor: str = "in-process"
    threads: int = 1
    #: sweep name -> its trials, to tell a failed group from the others (:meth:`varying`)
    sweep_trials: dict[str, list[Trial]] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "sweep_trials"}

    def varying(self, sweep: str) -> list[str]:
        """The configuration keys whose values differ between the trials of ``sweep``
        (:func:`varying_keys`; worked out only when one of its groups fails)."""
        return varying_keys(self.sweep_trials.get(sweep, []))


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def varying_keys(trials: list[Trial]) -> list[str]:
    """The configuration keys whose values differ between ``trials`` (a sweep's grid and
    seeds), in configuration order."""
    configs = [t.config for t in trials]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    return [k for k in keys if len({_value(c.get(k)) for c in configs}) > 1]


def describe_group(group: list[Trial], keys: list[str]) -> str:
    """``rule=hebb, seed=0|1``: the values the trials of ``group`` have for ``keys`` (several
    joined by ``|``), which tell a group from the other groups of its sweep; ``all trials``
    when no key varies."""
    parts = []
    for key in keys:
        values = list(dict.fromkeys(_value(t.config.get(key)) for t in group))
        parts.append(f"{key}={'|'.join(v.strip(chr(34)) for v in values)}")
    return ", ".join(parts) or "all trials"


class _InProcess:
    """Groups run one at a time in this process. Every executor's ``submit(payload,
    progress)`` takes a progress callback; this is the one that reports progress within a
    group."""

    name = "in-process"
    slots = 1

    def submit(self, payload: str, progress: Callable[[float], None] | None = None
               ) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(run_group_json(payload, progress))
        except Exception as exc:  # reported per group by the driver
            fut.set_exception(exc)
        return fut

    @staticmethod
    def wait_any(futures, timeout: float | None = None):
        return cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)[0]

    def cancel(self, futures) -> None:
        pass

    def close(self, wait: bool = True) -> None:
        pass


class _Pool(_InProcess):
    def __init__(self, jobs: int) -> None:
        self.name = f"process pool ({jobs} workers)"
        self.slots = 2 * jobs
        self.pool = take(jobs) or new(jobs)  # a pool started ahead (``prestart``), if any

    def submit(self, payload: str, progress: Callable[[float], None] | None = None
               ) -> cf.Future:
        """``progress`` is not reported from worker processes."""
        return self.pool.submit(run_group_json, payload)

    def cancel(self, futures) -> None:
        for f in futures:
            f.cancel()

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)


#: seconds to reach a Dask scheduler, get its answer and see a worker
CONNECT_TIMEOUT = 5.0


def check_scheduler(address: str, timeout: float | None = None) -> int:
    """The number of workers of the Dask scheduler at ``address``; :class:`ConfigError` (one
    line) at once when the connection is refused (nothing listens there), when nothing
    answers within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`), when what answers
    is not a Dask scheduler, or when it has no worker by then. Opens no client (one identity
    request over Dask's comm layer, asked again every half second while no worker has
    joined)."""
    import asyncio

    timeout = CONNECT_TIMEOUT if timeout is None else float(timeout)
    try:  # in a thread of its own: the caller may run an event loop (a notebook)
        with cf.ThreadPoolExecutor(1) as thread:
            answer = thread.submit(asyncio.run, asyncio.wait_for(
                _await_workers(address, timeout), timeout)).result()
    except ConfigError:
        raise
    except TimeoutError:
        raise ConfigError(f"cannot reach the Dask scheduler {address}: no answer within "
                          f"{timeout:g} s") from None
    except Exception as exc:  # noqa: BLE001 - refused, unresolvable, garbage answers
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot reach the Dask scheduler {address}: {detail}") from None
    return int(answer["n_workers"])


async def _await_workers(address: str, timeout: float) -> dict[str, Any]:
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        answer = await _identity(address, timeout)
        if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
            kind = answer.get("type") if isinstance(answer, dict) else None
            raise ConfigError(f"{address} answers but is not a Dask scheduler"
                              + (f" (a Dask {kind})" if kind else ""))
        if answer.get("n_workers"):
            return answer
        if time.monotonic() + 0.5 >= deadline:
            raise ConfigError(f"the Dask scheduler {address} has no workers (start some: "
                              f"dask worker {address})")
        await asyncio.sleep(0.5)


async def _identity(address: str, timeout: float) -> Any:
    """The identity answer of ``address``. A connection lost or timed out raises as it is; an
    answer Dask cannot decode is :func:`_foreign`'s error."""
    comm = await _connect(address, timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    except OSError:  # lost or timed out (TimeoutError is one)
        raise
    except Exception:  # noqa: BLE001 - whatever decoding the foreign bytes raised
        raise _foreign(address) from None
    finally:
        comm.abort()


def _foreign(address: str) -> ConfigError:
    """The error for an ``address`` whose answer Dask cannot decode (a web server's reply,
    random bytes): it surfaced as the decoder's failure, e.g. an allocation of exabytes."""
    return ConfigError(f"{address} answers but is not a Dask scheduler (its answer is not in "
                       f"Dask's protocol)")


async def _connect(address: str, timeout: float) -> Any:
    """A comm to ``address`` (Dask's ``connect``) within ``timeout`` s; :class:`ConfigError`
    at once when the connection is refused (nothing listens there), which Dask would retry
    until the timeout. Dask's connect is tried with short timeouts first (0.1 s, doubling),
    so that a refusal is seen in the first; an address that does not answer still gets the
    whole ``timeout``; one whose handshake Dask cannot decode is :func:`_foreign`'s error."""
    from distributed.comm import connect

    deadline = time.monotonic() + timeout
    attempt = 0.1
    while True:
        left = deadline - time.monotonic()
        try:
            return await connect(address, timeout=max(min(attempt, left), 0.0))
        except OSError as exc:
            if _refused(exc):
                raise ConfigError(f"cannot reach the Dask scheduler {address}: connection "
                                  f"refused (nothing listens there)") from None
            if left <= attempt:
                raise TimeoutError from None  # "no answer within {timeout} s"
        except Exception:  # noqa: BLE001 - Dask's handshake decoding foreign bytes
            raise _foreign(address) from None
        attempt *= 2


def _refused(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from is a refused connection."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ConnectionRefusedError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _worker_version() -> str:
    from xbarmem.version import __version__

    return __version__


#: seconds a Dask cluster may have no worker while groups wait before a sweep stops with
#: :class:`~xbarmem.errors.ExecutorLost` (a worker its nanny restarts is back well within it)
WORKER_GRACE = 60.0


class _Dask:
    #: seconds without a worker before :meth:`wait_any` stops the sweep (set by ``__init__``)
    grace: float = WORKER_GRACE
    #: when the cluster was first seen without workers (``time.monotonic()``), or None
    _idle_since: float | None = None

    def __init__(self, workers: int | None, scheduler: str | None,
                 grace: float = WORKER_GRACE) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the Dask executor needs dask[distributed]: pip install "
                              "'xbarmem[dask]'") from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
            self.name = f"Dask cluster at {scheduler}"
            self._check_versions(scheduler)
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
            self.name = f"Dask LocalCluster ({workers} workers)"
        threads = sum(self.client.nthreads().values()) or 1
        self.slots = 2 * threads
        self.grace = grace

    def _check_versions(self, scheduler: str) -> None:
        """Refuse a cluster with a worker whose xbarmem is not this process's version."""
        from xbarmem.version import __version__

        found = self.client.run(_worker_version)
        other = {w: v for w, v in found.items() if v != __version__}
        if other:
            self.close()
            worker, version = sorted(other.items())[0]
            raise ConfigError(f"Dask worker {worker} of {scheduler} has xbarmem {version}, this "
                              f"process {__version__} ({len(other)} of {len(found)} workers "
                              f"differ): install the same version on every worker")

    def submit(self, payload: str, progress: Callable[[float], None] | None = None):
        """``progress`` is not reported from Dask workers."""
        return self.client.submit(run_group_json, payload, pure=False)

    def wait_any(self, futures, timeout: float | None = None):
        """The finished ones of ``futures`` (waiting up to ``timeout`` s for one);
        :class:`ExecutorLost` once the client has lost its scheduler (Dask cancels every
        future then), or once the cluster has had no worker for :attr:`grace` s while none of
        ``futures`` finishes (its workers left or died: the groups would wait for ever). The
        workers are counted about every second (every ``grace / 4`` s when shorter)."""
        poll = min(1.0, self.grace / 4)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            step = poll if left is None else min(poll, left)
            done = self._wait(futures, step)
            if done or (left is not None and left <= step):
                return done
            self._check_workers(len(futures))

    def _wait(self, futures, timeout: float):
        from distributed import wait

        try:
            done = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        except cf.CancelledError:  # distributed's FuturesCancelledError is one
            if self.client.status == "running":
                raise
            done = set()
        self._check_connected()
        return done

    def _check_connected(self) -> None:
        """:class:`ExecutorLost` once the client has lost its scheduler."""
        if self.client.status != "running":
            raise ExecutorLost(f"lost the connection to the {self.name}")

    def _check_workers(self, waiting: int) -> None:
        """:class:`ExecutorLost` when the cluster has had no worker for :attr:`grace` s."""
        try:
            workers = len(self.client.nthreads())
        except Exception:
            self._check_connected()
            raise
        now = time.monotonic()
        if workers:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since >= self.grace:
            raise ExecutorLost(f"the {self.name} has had no worker for {self.grace:g} s while "
                               f"{waiting} group(s) of trials wait (its workers left or died)")

    def cancel(self, futures) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self, wait: bool = True) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def check_executor(jobs: int = 1, workers: int | None = None,
                   scheduler: str | None = None, worker_grace: float = WORKER_GRACE) -> None:
    """Refuse contradictory or impossible executor options."""
    if workers is not None:
        check_count(workers, "--workers")
    check_count(jobs, "--jobs")
    if scheduler is not None:
        check_type(scheduler, str, "scheduler", "a Dask scheduler address (tcp://HOST:PORT)")
    if scheduler and workers:
        raise ConfigError("give either --scheduler (existing Dask cluster) or --workers (a "
                          "local Dask cluster), not both")
    if (isinstance(worker_grace, bool) or not isinstance(worker_grace, int | float)
            or not 0 < worker_grace < float("inf")):
        raise ConfigError(f"worker_grace must be a number of seconds > 0, "
                          f"got {shown(worker_grace)}")


def make_executor(jobs: int = 1, workers: int | None = None, scheduler: str | None = None,
                  worker_grace: float = WORKER_GRACE):
    """The executor for the given options (see module docstring); a Dask executor stops the
    sweep when its cluster has had no worker for ``worker_grace`` s."""
    check_executor(jobs, workers, scheduler, worker_grace)
    if scheduler or workers:
        return _Dask(workers, scheduler, float(worker_grace))
    return _InProcess() if jobs == 1 else _Pool(jobs)


def pending_groups(spec: SweepSpec, store: ResultStore) -> tuple[list[list[Trial]], int]:
    """Groups with at least one unstored trial, and the number of trials already stored."""
    done = store.finished([t.key for t in spec.trials])
    groups = plan_groups(spec.trials, spec.batch)
    return [g for g in groups if any(t.key not in done for t in g)], len(done)


def group_cost(group: list[Trial]) -> float:
    """A group's estimated work, for scheduling the costliest groups first: every trial's
    recall, and the training of each set of networks once (:func:`trial_cost`'s two parts;
    trials with one :func:`~xbarmem.experiments.trial.train_key` share their networks)."""
    train: dict[str, float] = {}
    recall = 0.0
    for t in group:
        part, rest = cost_parts(t.config)
        train[train_key(t.config)] = part
        recall += rest
    return sum(train.values()) + recall


def trial_cost(config: dict[str, Any]) -> float:
    """A trial's estimated work alone: the sum of :func:`cost_parts`."""
    return sum(cost_parts(config))


def cost_parts(config: dict[str, Any]) -> tuple[float, float]:
    """A relative estimate of a trial's work (arbitrary units, > 0) for progress bars, as
    ``(training, recall)``: the weights of the network times the training work and times the
    recall work. The trial trains one network
    (evaluate), one per count (a capacity curve) or about 8 of about N / 2 patterns (a
    capacity search). Hardware-adaptive training counts ``max_steps`` (+ ``finetune_steps``
    where the basin objective fine-tunes binary patterns) steps, each recalling
    ``cue_copies`` cues per pattern (or ``cue_budget`` cues per network) through ``unroll``
    updates (the fixed-point objective: 2 products per pattern); a closed-form rule counts
    one product per pattern; recall counts ``probes`` cues per pattern of about 10
    updates."""
    n = int(config["n_neurons"])
    hidden = config.get("hidden") or []
    hidden = [hidden] if isinstance(hidden, int) else list(hidden)
    sizes = [n, *hidden, n] if config.get("arch") == "multilayer" else [n, n]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if config["trial"] == "capacity" and config.get("search"):
        networks, patterns = 8, 4 * n
    elif config["trial"] == "capacity":
        counts = config.get("counts") or [1]
        networks, patterns = len(counts), sum(counts)
    else:
        networks, patterns = 1, config.get("patterns") or 1
    train = float(patterns)
    if config["rule"] == "adaptive":
        opts = config.get("rule_options") or {}
        basin = opts.get("objective", "basin") == "basin"
        steps = step_budget(opts, config.get("kind", "binary"))
        cues = (networks * config["cue_budget"] if config.get("cue_budget") else
                patterns * opts.get("cue_copies", 16))
        train = steps * (cues * opts.get("unroll", 5) if basin else 2 * patterns)
    return float(weights * train), float(weights * 10 * patterns * (config.get("probes") or 20))


def run_sweep(spec: SweepSpec | list[SweepSpec], store: ResultStore | str | Path, *,
              jobs: int = 1, workers: int | None = None, scheduler: str | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              on_progress: Callable[[int], None] | None = None,
              on_work: Callable[[float, float], None] | None = None,
              threads: int = 1, worker_grace: float = WORKER_GRACE) -> SweepReport:
    """Run every unstored trial of ``spec`` (or of several sweeps, in one queue: the costliest
    groups first) and store the results.

    ``on_plan(pending_trials, already_stored)`` is called once before work starts;
    ``on_progress(n)`` after each group with the number of its trials that were pending;
    ``on_work(done, total)`` once before work starts (``done = 0``) and after each group,
    with the estimated work (:func:`trial_cost` of the pending trials) done so far and in
    all.
    Every trial runs with ``threads`` torch threads (default 1: the same numbers on any
    machine), recorded in its result as ``threads``. On Dask (``workers`` / ``scheduler``),
    a cluster that has had no worker for ``worker_grace`` s while groups wait (its workers
    left or died) raises :class:`~xbarmem.errors.ExecutorLost`, as a lost scheduler does:
    the groups finished before are stored, and running the sweep again resumes it.
    """
    check_executor(jobs, workers, scheduler, worker_grace)
    for name, callback in (("on_plan", on_plan), ("on_progress", on_progress),
                           ("on_work", on_work)):
        check_callback(callback, name)
    threads = check_count(threads, "threads")
    specs = spec if isinstance(spec, list) else [spec]
    for one in specs:
        check_type(one, SweepSpec, "spec", "a SweepSpec (from load_sweep or parse_sweep) or a "
                   "list of them")
    own = not isinstance(store, ResultStore)
    if own:
        store = as_path(store, "store")
    if scheduler:  # before the store is opened (or created)
        check_scheduler(scheduler)
    made = own and not Path(store).exists()  # this run creates the store file
    db = ResultStore(store) if own else store
    began = time.perf_counter()
    try:
        report = SweepReport(total=sum(len(s.trials) for s in specs), threads=threads)
        queue = _queue(specs, db, report)
        todo = report.total - report.already
        if on_plan is not None:
            on_plan(todo, report.already)
        progress = _Work(queue, db, on_progress, on_work)
        if queue:
            executor = _executor(db, made, (jobs, workers, scheduler, worker_grace))
            report.executor = executor.name
            try:
                _drive(db, queue, executor, report, progress)
            except BaseException:
                executor.close(wait=False)  # interrupted: do not wait for running groups
                raise
            executor.close()
        else:
            discard()  # nothing to run: workers started ahead for it are not needed
        report.seconds = time.perf_counter() - began
        return report
    finally:
        if own:
            db.close()


def _queue(specs: list[SweepSpec], db: ResultStore,
           report: SweepReport) -> list[tuple[str, list[Trial], int]]:
    """The groups of ``specs`` with unstored trials, as ``(sweep, group, pending trials)``,
    the costliest first; the trials already stored are counted in ``report.already``."""
    queue: list[tuple[str, list[Trial], int]] = []
    for s in specs:
        groups, already = pending_groups(s, db)
        report.already += already
        done = db.finished([t.key for g in groups for t in g])
        queue += [(s.name, g, sum(t.key not in done for t in g)) for g in groups]
        report.sweep_trials[s.name] = s.trials
    queue.sort(key=lambda item: -group_cost(item[1]))  # stable: ties keep plan order
    return queue


def _executor(db: ResultStore, made: bool, options: tuple):
    """:func:`make_executor` of ``options``; when it refuses (e.g. workers of another xbarmem
    version) and this run created the store, the store is removed: a refusal leaves no
    empty store."""
    try:
        return make_executor(*options)
    except ConfigError:
        if made:
            db.close()
            _remove_store(db.path)
        raise


def _remove_store(path: Path) -> None:
    """Delete a store file this run created and the SQLite files beside it."""
    for end in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + end).unlink(missing_ok=True)

class _Work:
    """The progress callbacks of a run: trials per group and estimated work."""

    def __init__(self, queue, db, on_progress, on_work) -> None:
        done = db.finished([t.key for _, g, _ in queue for t in g]) if on_work else set()
        self.costs = [group_cost([t for t in g if t.key not in done]) for _, g, _ in queue]
        self.total = float(sum(self.costs))
        self.done = 0.0
        self.on_progress, self.on_work = on_progress, on_work
        self.index = {id(g): i for i, (_, g, _) in enumerate(queue)}
        if on_work is not None:
            on_work(0.0, self.total)

    def partial(self, group, fraction: float) -> None:
        """A running group reports ``fraction`` (0..1) of its work done."""
        if self.on_work is not None:
            cost = self.costs[self.index[id(group)]]
            self.on_work(self.done + min(max(fraction, 0.0), 1.0) * cost, self.total)

    def __call__(self, group, missing: int) -> None:
        if self.on_progress is not None:
            self.on_progress(missing)
        if self.on_work is not None:
            self.done += self.costs[self.index[id(group)]]
            self.on_work(self.done, self.total)


#: seconds a claim stays valid for runners on other hosts without renewal
LEASE = 600.0
#: seconds between claim renewals while waiting for groups / polling groups claimed elsewhere
RENEW_EVERY, POLL_EVERY = 30.0, 0.5


def _drive(db, queue, executor, report, on_progress) -> None:
    owner = Claimant.new()
    queue, deferred = list(queue), []
    in_flight: dict[Any, tuple[str, list[Trial], int]] = {}
    try:
        while queue or in_flight or deferred:
            while queue and len(in_flight) < executor.slots:
                item = queue.pop(0)
                state = db.claim([t.key for t in item[1]], owner, LEASE)
                if state == "busy":  # another runner computes it: look again later
                    deferred.append(item)
                elif state == "done":  # finished meanwhile by another process
                    on_progress(item[1], item[2])
                else:
                    in_flight[_submit(executor, item[1], report.threads,
                                      lambda f, g=item[1]: on_progress.partial(g, f))] = item
            if in_flight:
                done = executor.wait_any(list(in_flight), RENEW_EVERY)
                db.renew(owner, LEASE)
                for fut in done:
                    _collect(db, owner, fut, in_flight.pop(fut), report, on_progress)
            elif deferred:
                time.sleep(POLL_EVERY)
            if not queue:
                queue, deferred = deferred, []
    except BaseException:
        executor.cancel(list(in_flight))
        raise
    finally:
        db.release(owner)


def _submit(executor, group: list[Trial], threads: int, partial: Callable[[float], None]):
    payload = json.dumps({"trials": [{"key": t.key, "config": t.config} for t in group],
                          "threads": threads}, allow_nan=False)
    return executor.submit(payload, partial)


def _collect(db, owner, fut, item, report, on_progress) -> None:
    """Store a finished group's rows (or report its failure and release its claims)."""
    name, group, missing = item
    report.groups += 1
    try:
        answer = json.loads(fut.result())
    except Exception as exc:  # noqa: BLE001 - a failing group must not stop others
        report.failures.append({"sweep": name, "keys": [t.key for t in group],
                                "group": describe_group(group, report.varying(name)),
                                "error": f"{type(exc).__name__}: {exc}"})
        db.release(owner, [t.key for t in group])
    else:
        configs = {t.key: t.config for t in group}
        per_trial = {"host": answer.get("host"), "pid": answer.get("pid")}
        rows = [(r["key"], name, configs[r["key"]], r["result"],
                 {**per_trial, "seconds": r["result"].get("seconds")})
                for r in answer["results"]]
        report.inserted += db.add(rows)
        report.ran += len(rows)
    on_progress(group, missing)
