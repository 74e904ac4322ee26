"""Run the missing trials of a sweep: in-process, on a local process pool, or on Dask.

The driver (the process calling :func:`run_sweep`) is the only writer of the store. It plans
the groups of the whole sweep (:func:`xbarmem.experiments.batches.plan_groups`), skips groups
whose trials are all stored, and keeps a bounded number of groups in flight. Just before a group
is submitted it is claimed in the store (:meth:`~xbarmem.experiments.store.ResultStore.claim`,
one transaction): a group claimed by another live runner is put back and looked at again later
(stored by then, or taken over if that runner died), so two sweep processes on one store
compute each trial once and both return when the whole sweep is stored. Workers get a group as
JSON text and return JSON text (no pickled objects cross the wire besides the function
reference). Each finished group is stored in one transaction. A failing group is reported (its
claims released) and the others go on.

Executors (:mod:`xbarmem.experiments.executors`):

* ``jobs = 1`` -- in the driver process;
* ``jobs = J > 1`` -- a ``concurrent.futures`` process pool of J spawned workers (one torch
  thread each);
* ``workers = K`` -- a Dask ``LocalCluster`` of K single-threaded worker processes;
  both local pools run at most one worker per core, at least 2
  (:func:`~xbarmem.experiments.pool.capped`: a warning when fewer than asked);
* ``scheduler = "tcp://HOST:PORT"`` -- an existing Dask cluster (its workers must have the
  same xbarmem installed, and pattern files at the same paths). The address is checked
  (:func:`~xbarmem.experiments.executors.check_scheduler`: it answers as a Dask scheduler
  with a worker, within ``executors.CONNECT_TIMEOUT`` seconds) before the store is opened;
  workers without xbarmem or of another version are refused when the cluster is joined, and a
  group sent to one that joins later fails (:func:`xbarmem.experiments.trial.run_group_json`). A
  scheduler lost mid-sweep, or a cluster that has had no worker for
  ``executors.WORKER_GRACE`` seconds while groups wait (its workers left or died), raises
  :class:`~xbarmem.errors.ExecutorLost` (the stored groups stay; running the sweep again
  resumes it).

The local workers (``jobs > 1``, ``workers``) are new Pythons that import the caller's script
again: a script calls :func:`run_sweep` under ``if __name__ == "__main__":``, or gets one
:class:`~xbarmem.errors.ConfigError` saying so (:data:`~xbarmem.experiments.pool.UNGUARDED`;
its workers end quietly there).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from xbarmem.checks import (
    check_callback,
    check_count,
    check_type,
    checked_keywords,
    counted,
    result_repr,
)
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError
from xbarmem.experiments.batches import depends_on_batch, plan_groups, train_key
from xbarmem.experiments.claims import Claimant, ThreadGuard, other_threads
from xbarmem.experiments.costs import batch_overhead, cost_parts
from xbarmem.experiments.executors import (
    WORKER_GRACE,
    check_executor,
    check_scheduler,
    failure_text,
    make_executor,
)
from xbarmem.experiments.plan_cache import PlanCache
from xbarmem.experiments.pool import discard
from xbarmem.experiments.resolve import trial_key
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import SweepSpec, Trial
from xbarmem.files import as_path

__all__ = ["SweepReport", "run_sweep"]


@dataclass
class SweepReport:
    """What a sweep run did.

    Attributes:
        total: trials the sweep (or sweeps) plan.
        already: of them, trials found stored when the run began (not run again).
        ran: trials run by this run (their rows came back).
        inserted: of those, rows this run stored (another run may have stored one first).
        groups: groups of trials this run ran, failed ones included.
        failures: one dict per failed group: ``sweep``, the trial ``keys``, ``group`` (what
            sets it apart) and ``error``.
        seconds: wall time of the run.
        executor: where the groups ran (``in-process``, a local pool, Dask).
        threads: torch threads every trial ran with.
        stored_by: of the trials already stored, how many each other sweep computed.
        meanwhile: trials this run planned that another run on the same store computed
            meanwhile.
        sweep_trials: sweep name -> its trials (to tell a failed group from the others).
    """

    total: int
    already: int = 0
    ran: int = 0
    inserted: int = 0
    groups: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    executor: str = "in-process"
    threads: int = 1
    #: of the trials already stored, how many each other sweep computed (a sweep whose grid
    #: overlaps an earlier one finds that one's rows; its own rows of a resumed run not counted)
    stored_by: dict[str, int] = field(default_factory=dict)
    #: trials planned by this run that another run on the same store computed meanwhile (two
    #: runs split a sweep: each found the other's groups done when it came to claim them)
    meanwhile: int = 0
    #: sweep name -> its trials, to tell a failed group from the others (:meth:`varying`)
    sweep_trials: dict[str, list[Trial]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """The counts, the failures' count, the seconds to 4 digits and how it ran
        (:meth:`as_dict` holds every value)."""
        return result_repr("SweepReport", {**self.as_dict(), "failures": len(self.failures)})

    def as_dict(self) -> dict[str, Any]:
        """Every field but the trials of each sweep, as a plain dict."""
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
    varying = [k for k in keys if len({_value(c.get(k)) for c in configs}) > 1]
    return [k for k in varying if not _derived(k, varying, configs)]


def _derived(key: str, varying: list[str], configs: list[dict[str, Any]]) -> bool:
    """Whether ``key``'s values are tables (the chip resolved from ``fault_rate``, the rule
    options carrying ``seed``) that follow from the other ``varying`` keys' plain values: they
    tell no group apart that those do not, and a failed group's line showed them whole."""
    if not all(isinstance(c.get(key), dict) for c in configs):
        return False
    plain = [k for k in varying if not any(isinstance(c.get(k), dict) for c in configs)]
    seen: dict[tuple[str, ...], str] = {}
    for c in configs:
        value = _value(c.get(key))
        if seen.setdefault(tuple(_value(c.get(k)) for k in plain), value) != value:
            return False
    return True


def describe_group(group: list[Trial], keys: list[str]) -> str:
    """``rule=hebb, seed=0|1``: the values the trials of ``group`` have for ``keys`` (several
    joined by ``|``), which tell a group from the other groups of its sweep; ``all trials``
    when no key varies."""
    parts = []
    for key in keys:
        values = list(dict.fromkeys(_value(t.config.get(key)) for t in group))
        parts.append(f"{key}={'|'.join(v.strip(chr(34)) for v in values)}")
    return ", ".join(parts) or "all trials"


def pending_groups(spec: SweepSpec, store: ResultStore) -> tuple[list[list[Trial]], int]:
    """Groups with at least one unstored trial, and the number of trials already stored."""
    groups, done = _pending(spec, store, plan_cache([spec]))
    return groups, len(done)


def plan_cache(specs: list[SweepSpec]) -> PlanCache:
    """The :class:`~xbarmem.experiments.plan_cache.PlanCache` in which a run of ``specs``
    plans their groups and their costs: that of their planning for one sweep
    (:func:`~xbarmem.experiments.sweep.parse_sweep`: the keys of its trials' networks were
    written then) whose ``trials`` are still the very trials it planned, else a new one (a
    trial replaced after parsing, e.g. one whose configuration was edited and keyed again,
    is planned as it is now: the cache tells configurations apart by identity)."""
    own = specs[0]._cache if len(specs) == 1 else None
    if own is None:
        return PlanCache()
    cache, planned = own
    trials = specs[0].trials
    same = len(trials) == len(planned) and all(t is p for t, p in zip(trials, planned,
                                                                        strict=True))
    return cache if same else PlanCache()


def _pending(spec: SweepSpec, store: ResultStore, cache: PlanCache | None = None
             ) -> tuple[list[list[Trial]], set[str]]:
    """Groups with at least one unstored trial, and the keys of the trials stored, from one
    read of the store (another run may store rows at any time: a second read counted the
    rows stored between the two neither as stored before nor as stored meanwhile);
    ``cache``: :func:`~xbarmem.experiments.batches.plan_groups`'."""
    done = store.finished([t.key for t in spec.trials])
    groups = plan_groups(spec.trials, spec.batch, cache)
    return [g for g in groups if any(t.key not in done for t in g)], done


def check_stored(store: ResultStore, specs: list[SweepSpec], threads: int) -> None:
    """Refuse (:class:`ConfigError`) to run ``specs`` into a store holding rows of their
    trials that a run would take for its own although it computes them otherwise: of another
    thread count (:func:`check_threads`), or trained in another batch under their key
    (:func:`check_batches`), or whose stored ``config`` or ``result`` no reader takes (a row
    edited or damaged: :class:`FileFormatError` naming it, as ``results`` refuses it; a run
    would count it as done). Every entry point checks this before any work."""
    check_threads(store, specs, threads)
    check_batches(store, specs)
    try:
        store.by_keys([t.key for s in specs for t in s.trials])
    except FileFormatError as exc:
        raise FileFormatError(f"{exc}; a run would take that row as done: delete it to "
                              f"compute it again, or use another store") from None


def unplanned_note(store: ResultStore, specs: list[SweepSpec], planner: str) -> str | None:
    """The warning of a run of ``specs`` (``planner``: ``this file``, ``this run``) into a
    store holding rows of their sweeps' names that they do not plan -- an edited sweep file
    (fewer seeds too), other batches, rows an earlier xbarmem computed otherwise --, which
    ``results`` and ``plot`` show beside the run's rows; None when it holds none. It offers
    the filter ``--where version=...`` only when it leaves out those rows and no other: they
    are all of another xbarmem version and the planned rows held all of this one (rows
    computed otherwise under the same version share it; planned rows an earlier version
    stored, reused, would go with them)."""
    from xbarmem.version import __version__

    held = store.sweeps()
    other = older = planned_older = 0
    for s in specs:
        if held.get(s.name):
            # the rows it holds but its own trials (a trial of its plan that another sweep
            # stored is not held yet: it offset a row the plan lacks, and nothing was said)
            planned = sorted(store.held_by(s.name, [t.key for t in s.trials]))
            other += held[s.name] - len(planned)
            kept_older = sum(n for v, n in store.versions(planned).items() if v != __version__)
            planned_older += kept_older
            older += store.count([f"version!={__version__}"], s.name) - kept_older
    if other <= 0:
        return None
    names = ", ".join(repr(s.name) for s in specs if held.get(s.name))
    head = (f"{store.path} already holds {other} row{'s' * (other != 1)} of sweep {names} "
            f"that {planner} does not plan")
    if older >= other and not planned_older:
        return (f"{head}, computed by another xbarmem version; results and plot show them "
                f"beside this run's rows unless filtered (--where version={__version__}), or "
                "use another --store")
    return (f"{head} (other seeds, settings or batches, or computed otherwise by an earlier "
            f"xbarmem{f'; {older} of another version' if older else ''}); results and plot "
            "show them beside this run's rows: use another --store to keep them apart")


def check_threads(store: ResultStore, specs: list[SweepSpec], threads: int) -> None:
    """Refuse (:class:`ConfigError`) to run ``specs`` with ``threads`` torch threads into a
    store holding rows of their trials computed with another thread count: the count can
    change the numbers (the order of a sum), and a run takes stored rows as done, so it would
    mix the two. Rows that record no count are not counted."""
    keys = [t.key for s in specs for t in s.trials]
    error = other_threads(str(store.path), store.threads(keys), threads)
    if error is not None:
        raise error


def check_batches(store: ResultStore, specs: list[SweepSpec]) -> None:
    """Refuse (:class:`ConfigError`) to run ``specs`` into a store holding, under the key of a
    hardware-adaptive trial that trains alone, a row trained in a batch with other networks
    (``result.batch.networks`` > 1): such a trial's numbers depend on the networks trained
    beside it, and versions before batch keys (:func:`~xbarmem.experiments.batches.
    batch_keyed`) stored it under the key of its configuration alone, so a run would take it
    for its own (``reproduce`` of a folder of 2026-12-03 reused two rows of section (d) that a
    fresh run measures otherwise)."""
    cache = PlanCache()  # (the tables the trials share written once)
    alone = [t.key for s in specs for t in s.trials
             if depends_on_batch(t.config) and t.key == trial_key(t.config, cache)]
    batched = sum(n for v, n in store.batch_networks(alone).items()
                  if isinstance(v, int) and v > 1)
    if batched:
        raise ConfigError(f"{store.path} holds {counted(batched, 'trial')} of this run that an "
                          f"earlier "
                          "xbarmem trained in a batch with other networks, under the key of "
                          "the trial trained alone (their numbers depend on the networks "
                          "trained beside them; this version keys them by their batch): use "
                          "another store")


def group_cost(group: list[Trial], cache: PlanCache | None = None) -> float:
    """A group's estimated work, for scheduling the costliest groups first: every trial's
    recall, and the training of each set of networks once (:func:`trial_cost`'s two parts;
    trials with one :func:`~xbarmem.experiments.batches.train_key` share their networks),
    the fixed cost of the steps of networks trained in one batch once
    (:func:`~xbarmem.experiments.costs.batch_overhead`). ``cache``: the
    :class:`~xbarmem.experiments.plan_cache.PlanCache` of a planning, which makes each
    trial's networks' key (:func:`~xbarmem.experiments.batches.train_key`) and its costs
    once."""
    train: dict[str, float] = {}
    recall = shared = 0.0
    for t in group:
        part, rest, own = (_costs(t.config) if cache is None
                           else cache.once(t.config, "cost", _costs))
        train[train_key(t.config, cache)] = part - own
        shared = max(shared, own)
        recall += rest
    return sum(train.values()) + shared + recall


def _costs(config: dict[str, Any]) -> tuple[float, float, float]:
    """A trial's :func:`cost_parts` and :func:`~xbarmem.experiments.costs.batch_overhead`."""
    return (*cost_parts(config), batch_overhead(config))


def trial_cost(config: dict[str, Any]) -> float:
    """A trial's estimated work alone: the sum of :func:`cost_parts`."""
    return sum(cost_parts(config))


@checked_keywords
def run_sweep(spec: SweepSpec | list[SweepSpec], store: ResultStore | str | Path, *,
              jobs: int = 1, workers: int | None = None, scheduler: str | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              on_progress: Callable[[int], None] | None = None,
              on_work: Callable[[float, float], None] | None = None,
              on_failure: Callable[[int, float], None] | None = None,
              threads: int = 1, worker_grace: float = WORKER_GRACE) -> SweepReport:
    """Run every unstored trial of ``spec`` (or of several sweeps, in one queue: the costliest
    groups first) and store the results in ``store`` (a :class:`ResultStore` or its path),
    ``jobs`` groups at a time in local processes (1: in this process) or on Dask.

    ``on_plan(pending_trials, already_stored)`` is called once before work starts;
    ``on_progress(n)`` after each group stored (here or by another run) and ``on_failure(n,
    work)`` after each that failed, with ``n`` its pending trials and ``work`` their estimated
    work (:func:`trial_cost`); ``on_work(done, total)`` at the start (``done = 0``), while
    groups run and after each, with the estimated work of the stored groups and in all.
    Every trial runs with ``threads`` torch threads (default 1: the same numbers on any
    machine), recorded in its result as ``threads``. On Dask (``workers`` / ``scheduler``),
    a cluster that has had no worker for ``worker_grace`` s while groups wait (its workers
    left or died) raises :class:`~xbarmem.errors.ExecutorLost`, as a lost scheduler does:
    the groups finished before are stored, and running the sweep again resumes it.
    """
    check_executor(jobs, workers, scheduler, worker_grace)
    specs, threads = _checked(spec, threads, on_plan=on_plan, on_progress=on_progress,
                              on_work=on_work, on_failure=on_failure)
    path = _store_path(store)  # None: an open ResultStore (refused when read-only)
    own = path is not None
    if scheduler:  # before the store is opened (or created)
        check_scheduler(scheduler)
    db = ResultStore(path) if path is not None else cast(ResultStore, store)
    began = time.perf_counter()
    try:
        report = SweepReport(total=sum(len(s.trials) for s in specs), threads=threads)
        cache = plan_cache(specs)  # (each trial's keys written once for plan and costs)
        queue, guard = _queue(specs, db, report, cache)
        # made before the plan is reported: a cluster refused shows no progress first
        executor = make_executor(jobs, workers, scheduler, worker_grace) if queue else None
        try:  # (from here on a stop closes the executor: its workers may still be starting)
            _hold(db, specs)  # (after the executor: nothing recorded when it is refused)
            if on_plan is not None:
                on_plan(report.total - report.already, report.already)
            progress = _Work(queue, db, on_progress, on_work, on_failure, cache)
            if executor is not None:
                report.executor = executor.name
                _drive(db, queue, executor, report, progress, guard)
        except BaseException:
            _close_stopped(executor)
            raise
        # (nothing to run: workers started ahead for it are not needed)
        executor.close() if executor is not None else discard()
        report.seconds = time.perf_counter() - began
        return report
    except Exception:  # refused (workers of another xbarmem, or that could not start), or
        if own:  # failed: a store this run created and left empty goes
            db.drop_if_made_empty()
        raise
    finally:
        if own:
            db.close()


def _close_stopped(executor: Any) -> None:
    """Close the ``executor`` (if any) of a run that an error or an interrupt stopped, without
    waiting for its running groups; a failure of the shutdown itself (Dask's close timing out
    on a loaded machine) is not raised: what stopped the run is (it was replaced, and the
    command's one ``interrupted`` line with it)."""
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.close(wait=False)


def _checked(spec: Any, threads: Any, **callbacks: Any) -> tuple[list[SweepSpec], int]:
    """:func:`run_sweep`'s ``spec`` as a list of sweeps and its ``threads``, checked with
    its ``callbacks`` (:class:`~xbarmem.errors.ArgumentError` / ConfigError naming them)."""
    for name, callback in callbacks.items():
        check_callback(callback, name)
    threads = check_count(threads, "threads")
    specs = spec if isinstance(spec, list) else [spec]
    if not specs:  # no sweep to run: refused, not an empty store made
        raise ArgumentError("spec must be a SweepSpec (from load_sweep or parse_sweep) or a "
                            "non-empty list of them, got []")
    for one in specs:
        check_type(one, SweepSpec, "spec", "a SweepSpec (from load_sweep or parse_sweep) or a "
                   "list of them")
    return specs, threads


def _store_path(store: ResultStore | str | Path) -> Path | None:
    """The path of a store given as one, None for an open :class:`ResultStore`; one opened
    ``readonly`` is refused (:class:`ConfigError`): a run writes its rows and the sweeps that
    hold them."""
    if not isinstance(store, ResultStore):
        return as_path(store, "store")
    if store.readonly:
        raise ConfigError(f"store {store.path} is open read-only: a sweep writes to it (open "
                          f"it as ResultStore(path), or give its path)")
    return None


def _queue(specs: list[SweepSpec], db: ResultStore, report: SweepReport,
           cache: PlanCache | None = None
           ) -> tuple[list[tuple[str, list[Trial], int]], ThreadGuard]:
    """The groups of ``specs`` with unstored trials, as ``(sweep, group, pending trials)``,
    the costliest first, and what their claims check (:meth:`ResultStore.guard`: the rows
    another run stores after this check, and its claims, of another thread count); the
    trials already stored are counted in ``report.already``. Stored rows of another thread
    count than ``report.threads``, or of another batch, are refused (:func:`check_stored`).
    ``cache``: the :class:`~xbarmem.experiments.plan_cache.PlanCache` of the planning."""
    guard = db.guard([t.key for s in specs for t in s.trials], report.threads)
    check_stored(db, specs, report.threads)
    queue: list[tuple[str, list[Trial], int]] = []
    names = {s.name for s in specs}
    for s in specs:
        groups, done = _pending(s, db, cache)  # (one read: every trial is counted once)
        report.already += len(done)
        if done:
            for sweep, n in db.computed_by([t.key for t in s.trials if t.key in done]).items():
                if sweep not in names:
                    report.stored_by[sweep] = report.stored_by.get(sweep, 0) + n
        queue += [(s.name, g, sum(t.key not in done for t in g)) for g in groups]
        report.sweep_trials[s.name] = s.trials
    queue.sort(key=lambda item: -group_cost(item[1], cache))  # stable: ties keep plan order
    return queue, guard


def _hold(db: ResultStore, specs: list[SweepSpec]) -> None:
    """Record every sweep of ``specs`` as holding all its trials (:meth:`ResultStore.hold`):
    those another sweep stored (the same configuration: reused, not computed again), and
    those stored later by any run, are its rows too."""
    for spec in specs:
        db.hold(spec.name, [t.key for t in spec.trials])


class _Work:
    """The progress callbacks of a run: trials per group and estimated work, of the groups
    stored and of those that failed (every executor's groups end in :func:`_collect`)."""

    def __init__(self, queue, db, on_progress, on_work, on_failure, cache=None) -> None:
        costed = on_work or on_failure
        done = db.finished([t.key for _, g, _ in queue for t in g]) if costed else set()
        self.costs = [group_cost([t for t in g if t.key not in done], cache)
                      for _, g, _ in queue]
        self.total = float(sum(self.costs))
        self.done = 0.0
        self.on_progress, self.on_work, self.on_failure = on_progress, on_work, on_failure
        self.index = {id(g): i for i, (_, g, _) in enumerate(queue)}
        self.running: dict[int, float] = {}  # share done of each running group, by index
        if on_work is not None:
            on_work(0.0, self.total)

    def partial(self, group, fraction: float) -> None:
        """A running group reports ``fraction`` (0..1) of its work done; the work reported is
        that of the groups ended and of every running group's last report (groups run side
        by side on a pool: one group's report counted alone moved the bar back)."""
        if self.on_work is not None:
            i = self.index[id(group)]
            self.running[i] = max(self.running.get(i, 0.0), min(max(fraction, 0.0), 1.0))
            self.on_work(self.done + sum(f * self.costs[j] for j, f in self.running.items()),
                         self.total)

    def __call__(self, group, missing: int, failed: bool = False) -> None:
        """A group ended: stored (or found stored), or ``failed`` (its work is not done)."""
        cost = self.costs[self.index[id(group)]]
        self.running.pop(self.index[id(group)], None)
        if failed:
            if self.on_failure is not None:
                self.on_failure(missing, cost)
        else:
            if self.on_progress is not None:
                self.on_progress(missing)
            self.done += cost
        if self.on_work is not None:
            self.on_work(self.done + sum(f * self.costs[j] for j, f in self.running.items()),
                         self.total)


#: seconds a claim stays valid for runners on other hosts without renewal
LEASE = 600.0
#: seconds between claim renewals while waiting for groups / polling groups claimed elsewhere
RENEW_EVERY, POLL_EVERY = 30.0, 0.5


def _drive(db, queue, executor, report, on_progress, guard=None) -> None:
    owner = Claimant.new()
    queue = list(queue)
    deferred: list[tuple[str, list[Trial], int]] = []
    in_flight: dict[Any, tuple[str, list[Trial], int]] = {}
    try:
        while queue or in_flight or deferred:
            while queue and len(in_flight) < executor.slots:
                item = queue.pop(0)
                state = db.claim([t.key for t in item[1]], owner, LEASE, guard=guard)
                if state == "busy":  # another runner computes it: look again later
                    deferred.append(item)
                elif state == "done":  # finished meanwhile by another process
                    report.meanwhile += item[2]
                    on_progress(item[1], item[2])
                else:
                    # (mypy cannot infer a lambda whose default binds the loop variable)
                    in_flight[_submit(executor, item[1], report.threads,
                                      lambda f, g=item[1]: on_progress.partial(  # type: ignore[misc]
                                          g, f))] = item
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
    payload = json.dumps({"trials": [{"key": t.key, "config": for_workers(t.config)}
                                     for t in group], "threads": threads}, allow_nan=False)
    return executor.submit(payload, partial)


def for_workers(config: dict[str, Any]) -> dict[str, Any]:
    """A trial's ``config`` as it is sent to a worker: the relative path of its pattern file
    made absolute from this process's folder (Dask workers started in another folder read
    no file, or another one, at the relative path). The trial's key and stored config keep
    the path as planned; the worker checks the file's SHA-256 (``data_sha256``)."""
    data = config.get("data")
    if config.get("data_sha256") and isinstance(data, str) and not os.path.isabs(data):
        return {**config, "data": os.path.abspath(data)}
    return config


def _collect(db, owner, fut, item, report, on_progress) -> None:
    """Store a finished group's rows (or report its failure and release its claims)."""
    name, group, missing = item
    report.groups += 1
    failed = False
    try:
        answer = json.loads(fut.result())
    except Exception as exc:  # noqa: BLE001 - a failing group must not stop others
        report.failures.append({"sweep": name, "keys": [t.key for t in group],
                                "group": describe_group(group, report.varying(name)),
                                "error": failure_text(exc)})
        db.release(owner, [t.key for t in group])
        failed = True
    else:
        configs = {t.key: t.config for t in group}
        per_trial = {"host": answer.get("host"), "pid": answer.get("pid")}
        rows = [(r["key"], name, configs[r["key"]], r["result"],
                 {**per_trial, "seconds": r["result"].get("seconds")})
                for r in answer["results"]]
        report.inserted += db.add(rows)
        report.ran += len(rows)
    on_progress(group, missing, failed)
