"""How a command runs: ``--seed``, ``--threads`` (and the torch threads it sets), ``--jobs``,
``--workers``, ``--scheduler``."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from typing import Annotated

import typer

from xbarmem.checks import MAX_RUN_SEED, MAX_SEED
from xbarmem.cli.option_types import bounded, option_group
from xbarmem.errors import ConfigError

SEED_HELP = "Seed of all random draws: the same seed gives the same numbers."
Seed = Annotated[int, bounded("--seed", metavar="N", ge=0, le=MAX_SEED, help=SEED_HELP)]
#: ``reproduce --seed``: its trial seeds are derived from it (xbarmem.checks.SEED_STRIDE), so
#: its largest value is smaller; the same help as every ``--seed``
RunSeed = Annotated[int, bounded("--seed", metavar="N", ge=0, le=MAX_RUN_SEED, help=SEED_HELP)]


def max_threads() -> int:
    """The most ``--threads`` accepted: four per CPU of this machine (more is a typo)."""
    return 4 * (os.cpu_count() or 1)


Threads = Annotated[int, bounded(
    "--threads", metavar="N", ge=1, le=max_threads(), help="Torch threads for the computation "
    "(default 1: the same numbers whatever the number of cores; CPUs of other kinds can differ in "
    "the last digits, and then in a recall; recorded with the results).")]


#: environment variables torch (and its BLAS) read their thread count from when they load
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def torch_threads(threads: int):
    """``--threads N``: checked (1 <= N <= :func:`max_threads`, else ConfigError), then applied
    for the command and undone after it; yields N.

    The thread count changes how torch splits sums, so the last digits of results depend on it;
    fixing it (default 1) makes a command give the same numbers on machines of one CPU kind
    (another CPU's floating-point kernels, e.g. with or without AVX-512, can move the last
    digits, and a recall that is a sign of a sum can then differ). When torch is not
    loaded yet, N goes to :data:`THREAD_VARIABLES`, which torch reads when the command loads
    it -- so a command that refuses its request before any work never loads torch. Otherwise
    ``torch.set_num_threads(N)``; the inter-op pool is sized once per process (torch refuses a
    second call), when the first command runs."""
    if isinstance(threads, bool) or not 1 <= threads <= max_threads():
        raise ConfigError(f"--threads must be between 1 and {max_threads()} (4 per CPU), got "
                          f"{threads}")
    if "torch" not in sys.modules:
        saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
        try:
            yield threads
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set, or inter-op work has started
        torch.set_num_interop_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(old)


#: ``--threads N`` on every command that computes numbers; the command runs with N torch threads
#: (:func:`torch_threads`) and receives N to record it in its output.
threads_option = option_group({"threads": (Threads, 1)}, torch_threads, scoped=True)


def run_record(threads: int | None) -> dict[str, object]:
    """What a computing command's JSON records beside its settings so that its numbers can be
    computed again: ``threads`` (``--threads`` as the command recorded it before) and ``versions``,
    the xbarmem, torch and numpy versions that computed them (:func:`xbarmem.version.versions`, as a
    model file records)."""
    from xbarmem.version import versions

    return {"threads": threads, "versions": versions()}


# ------------------------------------------------------------------------------ workers
Jobs = Annotated[int, bounded(
    "--jobs", "-j", metavar="N", ge=1, le=1024, help="Local worker processes (1 = in this process; "
    "not with --workers or --scheduler).")]
Workers = Annotated[int | None, bounded(
    "--workers", metavar="N", ge=1, le=1024, help="Start a local Dask cluster with this many "
    "worker processes (at most one per core).")]

#: a Dask scheduler address: PROTOCOL://HOST[:PORT] or HOST:PORT
_SCHEDULER = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?"
                        r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d{1,5}))?/?$")


def _scheduler(value: str | None) -> str | None:
    if value is None:
        return value
    found = _SCHEDULER.match(value)
    if not found or not value.strip("/").rpartition("/")[2]:
        raise typer.BadParameter(f"must be a Dask scheduler address such as "
                                 f"tcp://HOST:8786, got {value!r}")
    if found["port"] is not None and not 1 <= int(found["port"]) <= 65535:
        raise typer.BadParameter(f"port {int(found['port'])} of {value!r} is no TCP port "
                                 f"(1 to 65535)")  # (it was tried: "connection refused")
    return value


Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", metavar="URL", help="Use an existing Dask cluster, e.g. tcp://HOST:8786.",
    callback=_scheduler)]
