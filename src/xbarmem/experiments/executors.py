"""Where a sweep's groups run: in the driver process, on a local process pool, or on a Dask
cluster (a local one, or an existing one at a scheduler's address). Every executor takes a
group as JSON text (``submit(payload, progress)``) and gives back a future of JSON text; only
the driver (:mod:`xbarmem.experiments.runner`) writes the store. :func:`check_scheduler`
checks an address before any work; :func:`make_executor` builds the executor for a sweep's
options (see :mod:`xbarmem.experiments.runner` for what each option means).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from queue import Empty, SimpleQueue
from typing import Any

from xbarmem.checks import check_count, check_type, counted, shown
from xbarmem.errors import ConfigError, ExecutorLost, warn
from xbarmem.experiments.dask_logs import silence, slow_scratch_unsaid
from xbarmem.experiments.pool import (
    UNGUARDED,
    UNGUARDED_EXIT,
    broken_text,
    capped,
    end_pool,
    exit_text,
    leave_if_importing_main,
    new,
    progress_queue,
    reimport_status,
    reporter,
    signals_held,
    start_resource_tracker,
    take,
    throttled,
)
from xbarmem.experiments.trial import run_group_json
from xbarmem.limits import out_of_descriptors

#: seconds between relays of the workers' progress reports while a process pool runs groups
RELAY_EVERY = 0.25


def _run_reported(payload: str, tag: int | None) -> str:
    """A pool worker's task: :func:`run_group_json` reporting its progress to the driver
    (:func:`~xbarmem.experiments.pool.reporter`)."""
    return run_group_json(payload, reporter(tag))


def _run_reported_on_dask(payload: str, tag: int, topic: str) -> str:
    """A Dask worker's task: :func:`run_group_json` reporting its progress as ``(tag,
    fraction)`` events of ``topic`` (``Worker.log_event``, sent over the worker's own link to
    the scheduler; the driver subscribes to them), as a pool worker's reports
    (:func:`~xbarmem.experiments.pool.throttled`)."""
    from distributed import get_worker

    worker = get_worker()
    return run_group_json(payload, throttled(
        lambda fraction: worker.log_event(topic, [tag, fraction])))


def _relayed(listening: dict[int, tuple[Any, Callable[[float], None]]],
             reports: Iterable[tuple[int, float]]
             ) -> dict[int, tuple[Any, Callable[[float], None]]]:
    """Call the progress callbacks of ``listening`` (tag: (the group's future, its callback))
    with the ``reports`` ``(tag, fraction)`` its workers sent meanwhile, those of a group that
    ended since the last relay included (its end is handled after this: a group shorter than
    one relay step would show no progress at all); reports of cancelled groups and of groups
    whose end was handled are dropped. Returns ``listening`` without the groups that ended."""
    for tag, fraction in reports:
        fut, progress = listening.get(tag, (None, None))
        if fut is not None and not fut.cancelled() and progress is not None:
            progress(fraction)
    return {t: v for t, v in listening.items() if not v[0].done()}


def _drained(queue: Any) -> Iterator[tuple[int, float]]:
    """What a queue of progress reports (a process pool's, or those a Dask client received)
    holds now; nothing when there is none."""
    while queue is not None:
        try:
            yield queue.get_nowait()
        except (Empty, OSError, EOFError, ValueError):
            return


class _InProcess:
    """Groups run one at a time in this process. Every executor's ``submit(payload,
    progress)`` takes a progress callback, called with the share of the group done: here
    directly, on a process pool or a Dask cluster through its workers' reports."""

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

    def wait_any(self, futures, timeout: float | None = None):
        return cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)[0]

    def cancel(self, futures) -> None:
        pass

    def close(self, wait: bool = True) -> None:
        pass


class _Pool(_InProcess):
    def __init__(self, jobs: int) -> None:
        count = capped(jobs, "--jobs", "worker processes")
        self.name = f"process pool ({counted(count, 'worker')})"
        self.slots = 2 * count
        self.pool = take(jobs) or new(jobs)  # a pool started ahead (``prestart``), if any
        self.workers: dict[int, Any] = {}  # every worker started, kept to read its exit status
        self.ran = False  # whether a group came back from a worker (its results or its error)
        self.listening: dict[int, tuple[cf.Future, Callable[[float], None]]] = {}
        self.tags = 0

    def submit(self, payload: str, progress: Callable[[float], None] | None = None
               ) -> cf.Future:
        """``progress`` is called here, in :meth:`wait_any`, with what the worker reports
        (:func:`~xbarmem.experiments.pool.reporter`). A pool that broke before (workers
        started ahead that could not start): :meth:`_broken`'s error."""
        self.tags += 1
        tag = self.tags if progress is not None and progress_queue(self.pool) else None
        try:
            fut = self.pool.submit(_run_reported, payload, tag)
        except cf.process.BrokenProcessPool:
            raise self._broken() from None
        except OSError as exc:  # a worker that could not be started (started on demand)
            _raise_unstarted(exc)
            raise
        finally:
            self._track()
        if tag is not None and progress is not None:
            self.listening[tag] = (fut, progress)
        return fut

    def _relay(self) -> None:
        """Relay what the workers reported meanwhile (:func:`_relayed`)."""
        self.listening = _relayed(self.listening, _drained(progress_queue(self.pool)))

    def _track(self) -> None:
        """Keep every worker the pool started (it forgets them when shut down)."""
        self.workers.update(getattr(self.pool, "_processes", None) or {})

    def wait_any(self, futures, timeout: float | None = None):
        """As :meth:`_InProcess.wait_any`; when the pool broke (a worker died: every group
        fails then) before any group came back from it, or because a worker met the sweep in
        the script it was importing, :meth:`_broken`'s error instead of groups that all
        failed alike. Waits in steps of :data:`RELAY_EVERY` s, relaying progress."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            step = RELAY_EVERY if end is None else max(0.0, min(RELAY_EVERY,
                                                               end - time.monotonic()))
            done = super().wait_any(futures, step)
            self._relay()
            if done or (end is not None and time.monotonic() >= end):
                break
        lost = {f for f in done if not f.cancelled()
                and isinstance(f.exception(), cf.process.BrokenProcessPool)}
        self.ran = self.ran or any(not f.cancelled() for f in done - lost)
        if lost and (not self.ran or self._codes().count(UNGUARDED_EXIT)):
            raise self._broken()
        return done

    def _codes(self, wait: float = 2.0) -> list[int]:
        """The exit statuses of the workers that ended (a signal: minus its number). A dead
        worker's status is unknown here for a moment while the pool's own thread reaps it:
        it is waited for, up to ``wait`` s (the status of a worker that met the sweep in the
        script it imported was missed, and the sweep reported its groups failed). Workers the
        pool started before this executor submitted anything count (a pool started ahead that
        broke at once: its first ``submit`` fails, and their status was missed)."""
        from multiprocessing.connection import wait as ready

        self._track()
        workers = list(self.workers.values())
        ended = set(ready([w.sentinel for w in workers], timeout=0))
        deadline = time.monotonic() + wait
        while True:
            codes = [w.exitcode for w in workers if w.sentinel in ended]
            if None not in codes or time.monotonic() >= deadline:
                return [c for c in codes if c is not None]
            time.sleep(0.02)

    def _broken(self) -> ConfigError | ExecutorLost:
        """The error of a broken pool: :data:`UNGUARDED`; for workers that died before
        running any group, :func:`~xbarmem.experiments.pool.broken_text`'s (a
        :class:`ConfigError` for workers that ended with an error of their own -- at their
        start: they import the main script again -- and :class:`ExecutorLost` for workers
        killed by a signal); once groups came back, :class:`ExecutorLost` (a new group was
        refused with the pool's own BrokenProcessPool traceback)."""
        codes = self._codes()
        if UNGUARDED_EXIT in codes:
            return ConfigError(UNGUARDED)
        if self.ran:
            return ExecutorLost(f"a worker process of the {self.name} died ({exit_text(codes)})"
                                f": the pool cannot run the other groups")
        text, killed = broken_text(codes, self.name)
        return ExecutorLost(text) if killed else ConfigError(text)

    def cancel(self, futures) -> None:
        """Nothing: the groups waiting are cancelled by :meth:`close`, which follows (by the
        pool's own thread, ``cancel_futures``). Cancelled here, a waiting group's future was
        cancelled behind that thread's back: when it saw a worker end before it saw the
        shutdown, it failed setting its error on that future and printed a traceback."""

    def close(self, wait: bool = True) -> None:
        """``wait=False`` (the sweep was interrupted): the workers are ended at once, without
        finishing their groups (their results would not be stored; the process would wait for
        them at its exit). Groups still waiting are cancelled either way."""
        if wait:
            self.pool.shutdown(wait=True, cancel_futures=True)
        else:
            end_pool(self.pool)


def _raise_unstarted(exc: Exception) -> None:
    """When workers could not be started because the process has no file descriptor left for
    their pipes or sockets (``exc``, :func:`~xbarmem.limits.out_of_descriptors`), a
    :class:`ConfigError` saying so in one line (Dask said "Cluster failed to start" after 30 s
    of retries); else nothing."""
    lacking = out_of_descriptors(exc)
    if lacking is not None:
        raise ConfigError(f"cannot start the sweep's workers: {lacking}") from None


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


def _foreign(address: str, why: str = "its answer is not in Dask's protocol") -> ConfigError:
    """The error for an ``address`` whose answer Dask cannot decode (a web server's reply,
    random bytes): it surfaced as the decoder's failure, e.g. an allocation of exabytes."""
    return ConfigError(f"{address} answers but is not a Dask scheduler ({why})")


#: an entry of the handshake Dask sends (Dask reads only the entries it knows): the line end
#: of a request, so that a service that reads lines (HTTP) answers at once, in its protocol
_LINE_END = {"xbarmem": "\r\n\r\n"}


async def _connect(address: str, timeout: float) -> Any:
    """A comm to ``address`` (Dask's ``connect``, with the TLS settings of Dask's
    configuration as a client uses them) within ``timeout`` s; :class:`ConfigError` at once
    when the connection is refused (nothing listens there) or the host is unknown, which Dask
    would retry until the timeout, and when Dask cannot use the address's protocol here
    (:func:`_usable`). Dask's connect is tried with short timeouts first (0.1 s, doubling),
    so that a refusal is seen in the first; an address that does not answer still gets the
    whole ``timeout``; one whose handshake Dask cannot decode, or that closes the connection
    at the handshake, is :func:`_foreign`'s error. The handshake sent carries
    :data:`_LINE_END`, so that a service waiting for a line (an HTTP server) answers it at
    once instead of waiting with Dask for the timeout."""
    from distributed.comm import CommClosedError, connect

    arguments = _usable(address)
    deadline = time.monotonic() + timeout
    attempt = 0.1
    while True:
        left = deadline - time.monotonic()
        try:
            return await connect(address, timeout=max(min(attempt, left), 0.0),
                                 handshake_overrides=_LINE_END, **arguments)
        except OSError as exc:
            if type(exc) is CommClosedError:  # Dask retries a failed connect: the handshake
                raise _foreign(address, "it closed the connection at Dask's handshake"
                               ) from None
            reason = _unreachable(exc, address)
            if reason:
                raise ConfigError(f"cannot reach the Dask scheduler {address}: {reason}"
                                  ) from None
            if left <= attempt:
                raise TimeoutError from None  # "no answer within {timeout} s"
        except Exception:  # noqa: BLE001 - Dask's handshake decoding foreign bytes
            raise _foreign(address) from None
        attempt *= 2


def _usable(address: str) -> dict[str, Any]:
    """The connection arguments of a Dask client for ``address``; :class:`ConfigError` when
    Dask cannot connect over its protocol here (``ucx://`` without its package) or the
    protocol needs settings that are missing (``tls://`` without Dask's TLS configuration):
    Dask raised those before contacting anything, and they were taken for a server's answer
    that is not Dask's."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend
    from distributed.security import Security

    scheme = parse_address(address)[0]
    try:
        get_backend(scheme).get_connector()
    except Exception as exc:  # noqa: BLE001 - unknown scheme, package missing, abstract class
        detail = ("its package is not installed here" if isinstance(exc, TypeError) else
                  " ".join(str(exc).split()) or type(exc).__name__)  # (TypeError: abstract)
        raise ConfigError(f"cannot reach the Dask scheduler {address}: Dask here cannot "
                          f"connect over {scheme}:// ({detail})") from None
    arguments = Security().get_connection_args("client")
    if scheme in ("tls", "wss") and arguments.get("ssl_context") is None:
        raise ConfigError(f"cannot reach the Dask scheduler {address}: {scheme}:// needs Dask's "
                          f"TLS settings (distributed.comm.tls: ca-file, client cert and key) "
                          f"in its configuration")
    return arguments


def _unreachable(exc: BaseException, address: str) -> str | None:
    """Why ``address`` cannot be reached, when ``exc`` (or an exception it was raised from)
    says so for good: a refused connection, an unknown host; None otherwise (a timeout)."""
    import socket

    from distributed.comm.addressing import get_address_host

    if _refused(exc):
        return "connection refused (nothing listens there)"
    if _chained(exc, socket.gaierror):
        return f"unknown host {get_address_host(address)}"
    return None


def _chained(exc: BaseException | None, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or an exception it was raised from is a ``kind``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _refused(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from is a refused connection."""
    return _chained(exc, ConnectionRefusedError)


def _worker_version() -> str:
    from xbarmem.version import __version__

    return __version__


#: seconds a Dask cluster may have no worker while groups wait before a sweep stops with
#: :class:`~xbarmem.errors.ExecutorLost` (a worker its nanny restarts is back well within it)
WORKER_GRACE = 60.0
#: the local scheduler's options: no dashboard, its HTTP server on any free loopback port
_NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


class _Dask:
    #: seconds without a worker before :meth:`wait_any` stops the sweep (set by ``__init__``)
    grace: float = WORKER_GRACE
    #: the workers of an existing cluster found able to run this xbarmem (None: a local one)
    _fit: set[str] | None = None
    #: when the cluster was first seen without workers (``time.monotonic()``), or None
    _idle_since: float | None = None
    #: the topic of the sweep's progress events once subscribed (:meth:`_subscribed`); ""
    #: before, also while a refused cluster closes during ``__init__``
    _topic: str = ""

    def __init__(self, workers: int | None, scheduler: str | None,
                 grace: float = WORKER_GRACE) -> None:
        try:
            import distributed  # noqa: F401 - Client and LocalCluster, imported where used
        except ImportError:
            raise ConfigError("the Dask executor needs dask[distributed]: pip install "
                              "'xbarmem[dask]'") from None
        self.cluster: Any = None
        self._unfit: dict[str, str] = {}  # worker: why it cannot run this xbarmem
        # Dask's own logs in this process stay silent while it is used (restored by close):
        # a scheduler lost mid-sweep was logged by the client with a traceback of its
        # reconnection before the sweep's one error line
        self._restore_logs = silence()
        try:
            self._start(workers, scheduler)
        except BaseException:
            self._restore_logs()
            raise
        threads = sum(self.client.nthreads().values()) or 1
        self.slots = 2 * threads
        self.grace = grace
        self.listening: dict[int, tuple[Any, Callable[[float], None]]] = {}
        self.tags = 0
        # the workers' progress events (:func:`_run_reported_on_dask`), put here by the
        # client's own thread as they come, read by :meth:`_relay`
        self._topic = ""
        self._reports: SimpleQueue[tuple[int, float]] = SimpleQueue()

    def _start(self, workers: int | None, scheduler: str | None) -> None:
        """Join ``scheduler`` (its workers checked), or start a local cluster of ``workers``."""
        from distributed import Client, LocalCluster

        if scheduler:
            self.client = _join(Client, scheduler, self._restore_logs)
            self.name = f"Dask cluster at {scheduler}"
            self._fit = self._check_versions(scheduler)
        else:
            # without a scheduler, workers is a count (check_executor)
            count = capped(workers, "--workers", "Dask workers")  # type: ignore[arg-type]  # one per core, as --jobs
            # silence_logs: the workers log nothing below CRITICAL (what goes wrong in a trial
            # comes back to the driver with its future; the cancelled tasks and heartbeats of a
            # shutdown on Ctrl-C / SIGTERM were logged with Dask's own file paths).
            # scheduler_kwargs: no dashboard, and the scheduler's HTTP server (health and
            # metrics routes, started whatever the dashboard) on a free loopback port: on its
            # default 8787, taken by another sweep or notebook, Dask warned with its file path
            self.name = f"Dask LocalCluster ({counted(count, 'worker')})"
            try:
                # the workers' start: they never receive the group's signals, and say nothing
                # of slow scratch folders
                with _group_signals_held(), slow_scratch_unsaid():
                    self.cluster = LocalCluster(n_workers=count, threads_per_worker=1,
                                                processes=True, dashboard_address=None,
                                                silence_logs=logging.CRITICAL,
                                                scheduler_kwargs=_NO_DASHBOARD)
            except Exception:
                self._check_main_script()
                raise
            except BaseException:  # a signal that came during the start: its cluster ends
                if self.cluster is not None:
                    self.cluster.close()
                raise
            self.client = Client(self.cluster)

    def _check_main_script(self) -> None:
        """When the local cluster failed to start: :class:`ConfigError` if its workers, new
        Pythons that import the caller's script again, failed there (a sweep started at the
        script's top level, without the ``__main__`` guard: :data:`UNGUARDED`; other code
        that fails there: :func:`~xbarmem.experiments.pool.broken_text`). Dask says only
        "Nanny failed to start", so one more process of Dask's start method imports the
        script to see (:func:`~xbarmem.experiments.pool.reimport_status`)."""
        import dask

        code = reimport_status(dask.config.get("distributed.worker.multiprocessing-method",
                                               default="spawn"))
        if code == UNGUARDED_EXIT:
            raise ConfigError(UNGUARDED) from None
        if code:
            raise ConfigError(broken_text([code], self.name)[0]) from None

    def _check_versions(self, scheduler: str) -> set[str]:
        """Refuse a cluster with a worker that cannot run xbarmem (a Python without it: the
        function sent cannot be loaded there) or runs another version of it; its workers
        otherwise."""
        from xbarmem.version import __version__

        found = self.client.run(_worker_version, on_error="return")
        broken = {w: v for w, v in found.items() if not isinstance(v, str)}
        other = {w: v for w, v in found.items() if isinstance(v, str) and v != __version__}
        if broken or other:
            self.close()
        if broken:
            worker, error = sorted(broken.items())[0]
            raise ConfigError(f"Dask worker {worker} of {scheduler} cannot run xbarmem "
                              f"({_cause(error)}; {len(broken)} of {len(found)} workers): "
                              f"install xbarmem {__version__} in the Python of every worker")
        if other:
            worker, version = sorted(other.items())[0]
            raise ConfigError(f"Dask worker {worker} of {scheduler} has xbarmem {version}, this "
                              f"process {__version__} ({len(other)} of {len(found)} workers "
                              f"differ): install the same version on every worker")
        return set(found)

    def submit(self, payload: str, progress: Callable[[float], None] | None = None):
        """``progress`` is called here, in :meth:`wait_any`, with what the worker reports in
        events the sweep subscribes to (:func:`_run_reported_on_dask`). On an existing
        cluster the group goes to the workers checked to run this xbarmem
        (:meth:`_check_new`), to others only when none of those is left: a worker that cannot
        load the function sent (no xbarmem) closed on the first group given to it (its nanny
        too; the group counted a worker's death), and one of another xbarmem ran the groups
        with its own code."""
        task: tuple[Any, ...] = (run_group_json, payload)
        if progress is not None:
            self.tags += 1
            task = (_run_reported_on_dask, payload, self.tags, self._subscribed())
        where = {} if self._fit is None else {  # (a local cluster: its workers run this Python)
            "workers": sorted(self._fit), "allow_other_workers": True}
        fut = self.client.submit(*task, pure=False, **where)
        if progress is not None:
            self.listening[self.tags] = (fut, progress)
        return fut

    def _subscribed(self) -> str:
        """The topic of this sweep's progress events, subscribed to at the first group that
        reports its progress."""
        if not self._topic:
            import uuid

            self._topic = f"xbarmem-progress-{uuid.uuid4().hex}"
            self.client.subscribe_topic(self._topic, self._received)
        return self._topic

    def _unsubscribed(self) -> None:
        """Leave the sweep's progress topic (when subscribed) before the client closes. The
        scheduler forgets no subscription of a client that leaves: an event a running group
        reported while the client's link was closing (Ctrl-C, SIGTERM mid-group) was written
        to the closed link, and the scheduler (a local cluster's, in this process) logged
        ``Closed comm ... while trying to write`` at CRITICAL with a traceback beside the
        sweep's "interrupted" line. Sent on the client's stream ahead of its close, the
        unsubscription reaches the scheduler first."""
        if self._topic:
            with contextlib.suppress(Exception):  # (a client already closed, a lost scheduler)
                self.client.unsubscribe_topic(self._topic)
            self._topic = ""

    def _received(self, event: tuple[float, Any]) -> None:
        """A progress event ``(time, [tag, fraction])`` (in the client's thread)."""
        tag, fraction = event[1]
        self._reports.put((int(tag), float(fraction)))

    def _relay(self) -> None:
        """Relay what the workers reported meanwhile (:func:`_relayed`)."""
        self.listening = _relayed(self.listening, _drained(self._reports))

    def _check_new(self) -> None:
        """Check the workers of an existing cluster that joined since the last check (each
        time :meth:`wait_any` looks); those that cannot run this xbarmem get no group, with
        one warning for them."""
        if self._fit is None:  # a local cluster
            return
        fit = self._fit
        new = self._workers() - fit - set(self._unfit)
        if not new:
            return
        try:
            found = self.client.run(_worker_version, workers=sorted(new), on_error="return")
        except Exception:
            self._check_connected()
            raise
        causes = {worker: _unfit_cause(version) for worker, version in found.items()}
        unfit = {worker: why for worker, why in causes.items() if why}
        fit |= set(found) - set(unfit)
        if unfit:
            self._unfit.update(unfit)
            _warn_unfit(unfit, self.name, len(fit))

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
            self._relay()
            self._check_new()
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
        workers = len(self._workers() - set(self._unfit))
        now = time.monotonic()
        if workers:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since >= self.grace:
            raise ExecutorLost(f"the {self.name} has had no worker for {self.grace:g} s while "
                               f"{counted(waiting, 'group')} of trials wait (its workers left "
                               f"or died)")

    def _workers(self) -> set[str]:
        """The cluster's workers; :class:`ExecutorLost` when asking failed because the client
        has lost its scheduler."""
        try:
            return set(self.client.nthreads())
        except Exception:
            self._check_connected()
            raise

    def cancel(self, futures) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self, wait: bool = True) -> None:
        """Close the client (and the local cluster); Dask's logs and its event loop's
        records, held back since the executor was made (:mod:`~xbarmem.experiments.dask_logs`),
        are restored then: a shutdown racing the workers' heartbeats (on Ctrl-C / SIGTERM)
        logged errors and tracebacks that are not the user's to act on. The sweep's progress
        topic is left first (:meth:`_unsubscribed`)."""
        try:
            self._unsubscribed()
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            self._restore_logs()


def _unfit_cause(version: Any) -> str:
    """Why a worker whose :func:`_worker_version` answered ``version`` cannot run this
    xbarmem ("" when it can)."""
    from xbarmem.version import __version__

    if not isinstance(version, str):
        return _cause(version)
    if version == __version__:
        return ""
    return f"it has xbarmem {version}, this process {__version__}"


def _warn_unfit(unfit: dict[str, str], name: str, fit: int) -> None:
    """One warning (:func:`_unfit_text`) for the workers ``unfit`` that joined the cluster
    ``name`` during a sweep."""
    warn(_unfit_text(unfit, name, fit), stacklevel=2)


def _unfit_text(unfit: dict[str, str], name: str, fit: int) -> str:
    """The workers ``unfit`` (worker: why it cannot run this xbarmem) of the cluster
    ``name``, which has ``fit`` others, in one line: the first named with its cause, the
    others counted."""
    worker, why = sorted(unfit.items())[0]
    others = f" (and {counted(len(unfit) - 1, 'other worker')})" if len(unfit) > 1 else ""
    return (f"Dask worker {worker}{others} joined the {name} but cannot run xbarmem ({why}): "
            f"the groups go to its other {counted(fit, 'worker')}")


def _join(client: Callable[..., Any], scheduler: str, restore_logs: Callable[[], None]) -> Any:
    """A Dask ``client`` of ``scheduler``; :class:`ConfigError` (one line, the logs restored)
    when it cannot be made: the scheduler gone since it was checked, a Dask version it
    refuses (Dask raised an ImportError). Dask's warning that this process and the cluster
    run other versions of some packages (a table, with Dask's file path) is not shown: only
    JSON text crosses the wire, and xbarmem's own version is checked on every worker."""
    import warnings

    from distributed.versions import VersionMismatchWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VersionMismatchWarning)
            return client(scheduler, timeout="20s")
    except Exception as exc:  # noqa: BLE001 - refused, timed out, versions Dask refuses
        restore_logs()
        raise ConfigError(f"cannot join the Dask scheduler {scheduler}: {_cause(exc)}") from None


def _cause(exc: BaseException) -> str:
    """``Kind: message`` of ``exc`` on one line; an error a worker sent back as a plain
    ``Exception`` whose message is the original's repr is shown as the original."""
    import re

    text = " ".join(str(exc).split())
    wrapped = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\((['\"])(.*)\2\)", text)
    if type(exc) is Exception and wrapped:
        return f"{wrapped[1]}: {wrapped[3]}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_text(exc: BaseException) -> str:
    """The one line a failed group reports: ``Kind: message``; for a group whose workers all
    died running it (Dask's ``KilledWorker``), how often and the last worker, not Dask's
    paragraph naming its task key and a web page."""
    if type(exc).__name__ == "KilledWorker" and hasattr(exc, "allowed_failures"):
        last = getattr(getattr(exc, "last_worker", None), "address", "?")
        deaths = exc.allowed_failures + 1
        return (f"KilledWorker: the workers running it died {deaths} time{'s' * (deaths != 1)} "
                f"(the last: {last}; out of memory, or killed?)")
    return _cause(exc)


#: signals a terminal sends to its whole process group (Ctrl-C, the terminal closed), which
#: the processes of a local Dask cluster never receive (:func:`_group_signals_held`)
GROUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGHUP")
                      if hasattr(signal, name))


@contextlib.contextmanager
def _group_signals_held() -> Iterator[None]:
    """:data:`GROUP_SIGNALS` held inside (:func:`~xbarmem.experiments.pool.signals_held`), so
    the threads started inside, and the processes those start (the local Dask workers,
    restarted ones too), have them blocked for good: Ctrl-C in a terminal, or the terminal
    closed, reaches the whole process group, and Dask workers stopped by it printed a
    traceback each while the driver ended them anyway. One that comes meanwhile reaches this
    process's own handler once the block is left; ignored here, as it once was, it was lost,
    and the sweep ran on to its end."""
    # (multiprocessing's resource tracker, started by the first worker, unblocks SIGINT in
    # the thread that starts it, before that thread starts the worker: started here first)
    start_resource_tracker()
    with signals_held(GROUP_SIGNALS):
        yield


def check_executor(jobs: int = 1, workers: int | None = None,
                   scheduler: str | None = None, worker_grace: float = WORKER_GRACE) -> None:
    """Refuse contradictory or impossible executor options; in a worker still importing the
    caller's script, end it (:func:`~xbarmem.experiments.pool.leave_if_importing_main`)."""
    leave_if_importing_main()
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
    try:
        if scheduler or workers:
            return _Dask(workers, scheduler, float(worker_grace))
        return _InProcess() if jobs == 1 else _Pool(jobs)
    except Exception as exc:
        _raise_unstarted(exc)
        raise
