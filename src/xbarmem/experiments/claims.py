"""Claims of a results store's trials: who claims them, and whether a claim is still held.

A runner claims a group of trials before computing it
(:meth:`~xbarmem.experiments.store.ResultStore.claim`) as a :class:`Claimant` (a token unique
to the run, its host and process id); a claim is live while its process runs on this host
(:func:`claim_live`) or, on another host, until its lease expires. :func:`check_claim` refuses an
owner that is not a :class:`Claimant` and a lease that is not a finite number of seconds.
"""

from __future__ import annotations

import math
import numbers
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from xbarmem.checks import check_type, is_bool, shown
from xbarmem.errors import ConfigError


@dataclass(frozen=True)
class Claimant:
    """Who claims trials: a token unique to one run, and its host and process id."""

    token: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> Claimant:
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def claim_live(claim: tuple, me: Claimant) -> bool:
    """A claim ``(host, pid, expires)`` held by a running process: by its process id on this
    host, by its lease elsewhere."""
    host, pid, expires = claim
    return _pid_alive(int(pid)) if host == me.host else float(expires) > time.time()


def check_claim(owner: Any, lease: Any) -> None:
    """A claim's owner is a :class:`Claimant` and its lease a finite number of seconds (one
    <= 0 has run out already) (:class:`~xbarmem.errors.ArgumentError` / :class:`ConfigError`
    naming them)."""
    check_type(owner, Claimant, "owner", "a Claimant (Claimant.new())")
    if is_bool(lease) or not isinstance(lease, numbers.Real) or not math.isfinite(lease):
        raise ConfigError(f"lease must be a finite number of seconds, got {shown(lease)}")
