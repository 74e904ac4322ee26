"""Local worker processes for sweep groups, started ahead of need.

A spawned worker takes about a second to start (a fresh interpreter importing torch and the
trial code). :func:`prestart` starts the workers of a ``jobs``-process pool at once, so that a
command can start them before it imports the heavy modules itself and the two overlap; the
next process pool of that size the runner makes (:func:`take`) is that one, and
:func:`discard` shuts down a pool nobody took. This module imports nothing heavy: the workers
import the trial code, the caller does not.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from xbarmem.errors import warn

#: pools started by :func:`prestart` and not yet taken, by number of workers
_STARTED: dict[int, cf.ProcessPoolExecutor] = {}

#: the exit status of a worker that met a sweep in the script it was importing
UNGUARDED_EXIT = 87
#: what the driver says then (one line)
UNGUARDED = ("the worker processes of run_sweep start a new Python that imports your script "
             "again, and the script started the sweep again: call run_sweep under "
             "`if __name__ == \"__main__\":`")


def main_script() -> str | None:
    """The script (file name) or module that a spawned worker of this process imports again
    before it runs anything (as ``__mp_main__``); None when it imports none of the caller's
    code (an interactive session, a notebook, the ``xbarmem`` command)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:  # python -m NAME (a package's __main__ is not imported again)
        name = str(spec.name)
        return None if name.endswith("__main__") or name.split(".")[0] == "xbarmem" else name
    path = getattr(main, "__file__", None)
    if not path or os.path.splitext(os.path.basename(path))[0] == "xbarmem":
        return None
    return os.path.basename(path)


def broken_text(codes: list[int], name: str) -> tuple[str, bool]:
    """The line a sweep stops with when the workers of the pool ``name`` ended, with exit
    statuses ``codes`` (a signal: minus its number), before any group came back, and whether
    a signal killed them. A worker that ends with an error of its own before running a group
    failed at its start, importing the caller's script again (:func:`main_script`): say so,
    not one failed group per group and a report of success."""
    if not codes or max(codes) >= 0:
        script = main_script()
        why = ("Python printed why above" if script is None else
               f"each starts a new Python that imports {script} again, and code at its top "
               f"level failed there (Python printed why above; e.g. multiprocessing."
               f"set_start_method without force=True): put the script's work under "
               f"`if __name__ == \"__main__\":`")
        return (f"the worker processes of the {name} ended before running any group "
                f"({exit_text(codes)}): {why}", False)
    return (f"the worker processes of the {name} were killed ({exit_text(codes)}; out of "
            f"memory?) before any group came back", True)


def exit_text(codes: list[int]) -> str:
    """How the workers whose exit statuses are ``codes`` ended, the telling one named: an
    error of their own (``exit status 1``) before a signal, a signal other than the pool's
    own SIGTERM to the others before SIGTERM (``signal SIGKILL``)."""
    own = [c for c in codes if c >= 0]
    if own:
        return f"exit status {own[0]}"
    if not codes:
        return "no exit status"
    number = next((-c for c in codes if c != -signal.SIGTERM), -codes[0])
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


def leave_if_importing_main() -> None:
    """End this process, quietly and with :data:`UNGUARDED_EXIT`, when it is a worker still
    importing the caller's main script (the ``spawn`` start method runs the script again, as
    ``__mp_main__``): a sweep started at the top of a script without the ``if __name__ ==
    "__main__":`` guard would otherwise run in every worker, or wait there for the groups the
    driver holds while the driver waits for its workers. The driver turns the status into
    one :class:`~xbarmem.errors.ConfigError` (:data:`UNGUARDED`)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(UNGUARDED_EXIT)


def reimport_status(method: str, timeout: float = 120.0) -> int | None:
    """The exit status of a process started by the start method ``method`` that does nothing
    but import the caller's main script again, as each worker does (:func:`main_script`):
    :data:`UNGUARDED_EXIT` when the script starts a sweep at its top level, another status
    when code there fails. None when no script of the caller's is imported again (none, or
    ``fork``), or when the import takes longer than ``timeout`` seconds. Asked when workers
    that are not this module's (a Dask cluster's) failed to start, to say why."""
    if method == "fork" or main_script() is None:
        return None
    context: Any = multiprocessing.get_context(method)  # (typeshed: no Process on the base)
    probe = context.Process(target=_nothing, daemon=True)
    probe.start()
    probe.join(timeout)
    if probe.exitcode is None:
        probe.kill()
        probe.join()
        return None
    return probe.exitcode


def _nothing() -> None:
    """What :func:`reimport_status`'s process runs once it has imported the main script."""


#: in a worker of :func:`new`: the queue to the driver its groups' progress goes to
_PROGRESS: Any = None
#: a worker reports a group's progress when its share of work done grew by this much, or
#: after this many seconds
REPORT_SHARE, REPORT_SECONDS = 0.01, 1.0


def init_worker(progress: Any = None, driver: int | None = None) -> None:
    """Every worker's start: one OpenMP and one torch thread, the queue its groups' progress
    goes to (``progress``: :func:`reporter`), and an end of its own when the
    driver is gone (:func:`exit_when_orphaned`). ``driver`` is the pid of the process that
    started the pool (:func:`new` passes it; None: this process's parent now): read here, the
    parent of a worker whose driver died while it was starting up is already its adopter, and
    the worker waited for work forever. SIGINT, SIGTERM and SIGHUP are ignored: sent to the
    whole process group (Ctrl-C in a terminal, a batch system stopping a job, the terminal
    closed) they stop the driver, which ends its workers (:func:`end_pool`); a worker stopped
    in the middle of sending a result left the pool's queue locked, and the driver waiting
    for it forever. A worker is born with them blocked (:class:`_ShieldedPool`), so one sent
    while its interpreter started and imported the caller's script is dropped here."""
    for signum in WORKER_SIGNALS:  # (ignoring a pending signal drops it, blocked or not)
        signal.signal(signum, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    global _PROGRESS
    _PROGRESS = progress
    if progress is not None:  # a worker ended (pool shut down) waits for no unsent report
        progress.cancel_join_thread()
    exit_when_orphaned(os.getppid() if driver is None else driver)
    import torch

    torch.set_num_threads(1)


def reporter(tag: int | None) -> Callable[[float], None] | None:
    """In a worker of :func:`new`: ``progress(fraction)`` of the group ``tag``, sent to the
    driver (``(tag, fraction)`` on the pool's queue, :func:`progress_queue`) as
    :func:`throttled` passes it on. None without a tag or outside such a worker."""
    queue = _PROGRESS
    if tag is None or queue is None:
        return None
    return throttled(lambda fraction: queue.put((tag, fraction)))


def throttled(send: Callable[[float], None]) -> Callable[[float], None]:
    """``progress(fraction)`` calling ``send(fraction)`` when the fraction grew by
    :data:`REPORT_SHARE` or :data:`REPORT_SECONDS` passed since the last one sent -- a few
    hundred small messages a group at most."""
    sent = [0.0, time.monotonic()]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if fraction > sent[0] and (fraction - sent[0] >= REPORT_SHARE
                                   or now - sent[1] >= REPORT_SECONDS):
            sent[:] = [fraction, now]
            send(float(fraction))

    return progress


def progress_queue(pool: cf.ProcessPoolExecutor) -> Any:
    """The queue the workers of ``pool`` (made by :func:`new`) report progress on, or None."""
    return getattr(pool, "_xbarmem_progress", None)


def exit_when_orphaned(parent: int, interval: float = 1.0) -> None:
    """End this (worker) process when its driver ``parent`` (a pid) is gone: at once when it
    is not (or no longer) this process's parent.

    A pool worker in the middle of a long trial does not notice that the driver was killed
    (``kill``, ``kill -9``, a crashed terminal) until the trial ends, which for a capacity search
    can be an hour of two cores spent on a result nobody will store. A daemon thread checks every
    ``interval`` seconds whether the process was re-parented and exits at once if so (the
    driver stores nothing from it; a resumed sweep re-runs the trial)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="xbarmem-parent-watch", daemon=True).start()


def workers_for(jobs: int) -> int:
    """The worker processes a ``jobs``-process pool runs: ``jobs``, but at most the machine's
    cores (at least 2): each worker holds torch and one trial group, so ``--jobs 999`` on two
    cores started 999 interpreters and exhausted the memory, for no speed-up."""
    return min(jobs, max(2, os.cpu_count() or 1))


def capped(count: int, option: str, what: str) -> int:
    """:func:`workers_for` ``count`` -- the rule of every local pool of worker processes (the
    process pool of ``--jobs``, the Dask ``LocalCluster`` of ``--workers``) -- with one
    :class:`~xbarmem.errors.XbarmemWarning` naming ``option`` when it runs fewer than asked;
    ``what`` names the workers (``"worker processes"``)."""
    workers = workers_for(count)
    if workers < count:
        warn(f"{option} {count}: this machine has {os.cpu_count()} cores; running "
             f"{workers} {what} (more would only share the cores and the memory)",
             stacklevel=3)
    return workers


def new(jobs: int) -> cf.ProcessPoolExecutor:
    """A process pool of ``jobs`` spawned workers (:func:`init_worker`; at most
    :func:`workers_for`), started on demand, with a queue for their progress reports
    (:func:`progress_queue`)."""
    start_resource_tracker()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    pool = _ShieldedPool(max_workers=workers_for(jobs), initializer=init_worker,
                         initargs=(queue, os.getpid()), mp_context=context)
    pool._xbarmem_progress = queue  # type: ignore[attr-defined]
    return pool


#: what a worker of :func:`new` never receives (:func:`init_worker`): the signals a terminal or
#: a batch system sends to the whole process group
WORKER_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                       if hasattr(signal, name))


class _ShieldedPool(cf.ProcessPoolExecutor):
    """A process pool that starts its workers (on demand, in :meth:`submit`) with
    :data:`WORKER_SIGNALS` held (:func:`signals_held`): each worker is born with them blocked,
    and one that comes meanwhile is handled by the driver once the worker is the pool's, so
    that the pool ends it. Started with them received, every worker printed a
    KeyboardInterrupt traceback on Ctrl-C while its interpreter started; unblocked in the
    driver only, one that came between a worker's start and the pool's record of it left that
    worker running, unknown to the pool."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        with signals_held(WORKER_SIGNALS):
            return super().submit(fn, *args, **kwargs)


@contextlib.contextmanager
def signals_held(signals: tuple[int, ...]) -> Iterator[None]:
    """``signals`` held inside: blocked in this thread, so the threads started inside, and the
    processes those start, are born with them blocked (a blocked signal stays blocked in a new
    process). In the main thread, one that comes meanwhile is recorded (or stays pending) and
    reaches this process's own handler once the block is left (Ctrl-C:
    :class:`KeyboardInterrupt`), even when the block raised: never lost, and never handled
    halfway through the block. Where signals cannot be blocked (no ``pthread_sigmask``), they
    are ignored inside, in the main thread, and one that comes then is lost."""
    main = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "pthread_sigmask"):
        ignored = {signum: signal.signal(signum, signal.SIG_IGN)
                   for signum in (signals if main else ())}
        try:
            yield
        finally:
            for signum, handler in ignored.items():
                signal.signal(signum, handler)
        return
    came: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _: came.append(signum))
                for signum in (signals if main else ())}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # (one pending is handled here)
        for signum in came:
            signal.raise_signal(signum)


#: the warning filter the resource tracker starts with: after a driver killed with SIGKILL it
#: cleans up the pool's semaphores, and its warning of them ("There appear to be 8 leaked
#: semaphore objects", naming the interpreter's own files) said nothing a user could act on
QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (the process that cleans up a pool's
    semaphores) never receiving SIGHUP, as it ignores SIGINT and SIGTERM: a closed terminal
    sends SIGHUP to the whole process group, and a tracker ended by it was started again by
    each worker, with a warning and a traceback each. SIGHUP is blocked meanwhile (the tracker
    keeps it blocked), not ignored: one that comes then is handled here once the tracker is
    started, not lost. The tracker's own warnings are filtered out (:data:`QUIET_TRACKER`).
    Nothing when it runs already."""
    from multiprocessing import resource_tracker

    hangup = getattr(signal, "SIGHUP", None)
    if hangup is None:
        return
    quiet = QUIET_TRACKER not in sys.warnoptions  # (the tracker takes the -W options given)
    if quiet:
        sys.warnoptions.append(QUIET_TRACKER)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {hangup})  # (a blocked signal stays
    try:                                                             # blocked in a new process)
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if quiet:
            sys.warnoptions.remove(QUIET_TRACKER)


def _ready() -> None:
    """A worker's first task from :func:`prestart`: import the trial code."""
    import xbarmem.experiments.trial  # noqa: F401


def prestart(jobs: int) -> None:
    """Start the ``jobs`` workers of a pool now (each imports the trial code), for the next
    :func:`take` of that size; nothing for ``jobs < 2`` or when one is waiting already."""
    if jobs < 2 or jobs in _STARTED:
        return
    pool = new(jobs)
    try:
        for _ in range(workers_for(jobs)):
            pool.submit(_ready)
    except BaseException:  # (e.g. no descriptor left for a worker's pipes: its started
        end_pool(pool)     # workers end with it)
        raise
    _STARTED[jobs] = pool


def take(jobs: int) -> cf.ProcessPoolExecutor | None:
    """The pool :func:`prestart` started with ``jobs`` workers (then no longer kept here), or
    None."""
    return _STARTED.pop(jobs, None)


def discard() -> None:
    """Shut down every started pool nobody took, ending its workers at once (they hold
    nothing yet; waiting for them to finish their imports would only delay the exit)."""
    while _STARTED:
        _, pool = _STARTED.popitem()
        end_pool(pool)


def end_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Shut ``pool`` down, ending its workers at once (SIGKILL: they ignore SIGINT,
    SIGTERM and SIGHUP), whatever they are computing, and wait (at most
    :data:`MANAGER_WAIT` seconds) for the pool's own thread to see them gone and close its
    pipes: left running, it closed them while the interpreter's exit wrote into one (Python
    before 3.12 checks, then writes, unlocked), which printed "Exception ignored in: <module
    'threading'> ... Bad file descriptor" after the command's one line."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # (shutdown forgets it)
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.kill()
    if isinstance(manager, threading.Thread) and manager is not threading.current_thread():
        manager.join(MANAGER_WAIT)


#: seconds :func:`end_pool` waits for a pool's thread once its workers are killed
MANAGER_WAIT = 10.0
