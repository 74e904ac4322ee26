"""Measurement helpers: wall time, peak memory, the machine's matmul rate and FLOP counts.

Units everywhere: seconds, bytes, FLOP and GFLOP/s (1e9 floating-point operations per second).

Peak memory is the **peak resident set size of the whole process** during a measured block. On
Linux the kernel's high-water mark (``VmHWM`` in ``/proc/self/status``) is reset to the current RSS
at the start of the block (by writing ``5`` to ``/proc/self/clear_refs``) and read at its end, so
each block gets its own peak. Where that reset is impossible the value falls back to
``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the lifetime maximum of the process, which can
only grow from block to block; :attr:`PeakMemory.method` says which one was used. Either way the
number includes the interpreter, torch and the data already loaded; ``delta_bytes`` (peak minus
the RSS at the start of the block) approximates what the block itself added.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from types import TracebackType

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(key: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` in bytes (None where unavailable)."""
    try:
        for line in _STATUS.read_text(encoding="utf-8").splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def ru_maxrss_bytes() -> int:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (kilobytes on Linux, bytes on macOS)."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value if sys.platform == "darwin" else value * 1024)


#: the largest high-water mark seen before a reset (bytes): a reset loses the kernel's own
_PEAK_BEFORE_RESETS = 0


def lifetime_peak_bytes() -> int:
    """The process's peak RSS since it started, bytes. ``ru_maxrss`` alone is not that once a
    :class:`PeakMemory` block has reset the high-water mark (the kernel's maximum restarts from
    the RSS of the reset), so the marks read before each reset are kept and count too."""
    return max(_PEAK_BEFORE_RESETS, ru_maxrss_bytes(), _status_bytes("VmHWM") or 0)


def _reset_high_water_mark() -> bool:
    global _PEAK_BEFORE_RESETS
    _PEAK_BEFORE_RESETS = lifetime_peak_bytes()
    try:
        _CLEAR_REFS.write_text("5", encoding="utf-8")
    except OSError:
        return False
    return _status_bytes("VmHWM") is not None


class PeakMemory:
    """Context manager measuring the process's peak RSS (bytes) during its block.

    Attributes (after the block): ``peak_bytes``, ``start_bytes`` (RSS at entry),
    ``delta_bytes`` (peak minus start, >= 0) and ``method`` (``"VmHWM"`` or ``"ru_maxrss"``).
    """

    def __init__(self) -> None:
        self.peak_bytes = 0
        self.start_bytes = 0
        self.delta_bytes = 0
        self.method = "ru_maxrss"

    def __enter__(self) -> PeakMemory:
        self.method = "VmHWM" if _reset_high_water_mark() else "ru_maxrss"
        self.start_bytes = _status_bytes("VmRSS") or ru_maxrss_bytes()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        hwm = _status_bytes("VmHWM") if self.method == "VmHWM" else None
        self.peak_bytes = hwm if hwm is not None else ru_maxrss_bytes()
        self.delta_bytes = max(0, self.peak_bytes - self.start_bytes)

    def as_dict(self) -> dict[str, int | str]:
        return {"peak_rss_bytes": self.peak_bytes, "peak_rss_delta_bytes": self.delta_bytes,
                "memory_method": self.method}


def matmul_gflops(size: int = 1024, repeats: int = 10) -> float:
    """The machine's float32 matmul rate, GFLOP/s: best of ``repeats`` timings of one
    ``size x size`` by ``size x size`` product (``2 * size**3`` FLOP), after a warm-up."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen)
    b = torch.randn(size, size, generator=gen)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def fixed_point_flops(n_neurons: int, n_patterns: int, steps: int) -> float:
    """Useful FLOP of ``steps`` full-batch steps of the fixed-point loss: the conventional
    ``3 x`` forward (forward + backward) of one ``(P x N) @ (N x N)`` product,
    ``3 * 2 * P * N**2`` per step. Elementwise work and the optimiser update are not counted."""
    return 3.0 * 2.0 * n_patterns * n_neurons**2 * steps


def basin_flops(n_neurons: int, n_patterns: int, steps: int, *, finetune_steps: int,
                cue_copies: int, unroll: int, finetune_unroll: int) -> float:
    """Useful FLOP of xbarmem's default (basin) recipe for one network, same convention as
    :func:`fixed_point_flops`: every step has the fixed-point product over the ``P`` patterns plus
    ``unroll`` products over ``cue_copies * P`` cues; the last ``finetune_steps`` of ``steps``
    (the straight-through sign stage) unroll ``finetune_unroll`` products instead."""
    first = max(0, steps - finetune_steps)
    tuned = steps - first
    rows_first = n_patterns * (1 + cue_copies * unroll)
    rows_tuned = n_patterns * (1 + cue_copies * finetune_unroll)
    return 3.0 * 2.0 * n_neurons**2 * (rows_first * first + rows_tuned * tuned)


def gflops(flop: float | None, seconds: float) -> float | None:
    """Achieved GFLOP/s, or None when the work or the time is unknown."""
    if flop is None or seconds <= 0:
        return None
    return flop / seconds / 1e9


def multilayer_flops(sizes: list[int], n_patterns: int, steps: int, *, finetune_steps: int = 0,
                     cue_copies: int = 0, unroll: int = 0, finetune_unroll: int = 0) -> float:
    """Useful FLOP of a multilayer network ``sizes = [N, H, ..., N]``, same convention as
    :func:`fixed_point_flops`: ``3 x 2 * rows * sum(n_in * n_out over layers)`` per step, with
    ``rows = P`` for the fixed-point objective (``cue_copies = 0``) and, for the basin recipe,
    ``P * (1 + cue_copies * unroll)`` (``finetune_unroll`` in the last ``finetune_steps``)."""
    per_row = 3.0 * 2.0 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    first = max(0, steps - finetune_steps) if cue_copies else steps
    tuned = steps - first
    rows_first = n_patterns * (1 + cue_copies * unroll)
    rows_tuned = n_patterns * (1 + cue_copies * finetune_unroll)
    return per_row * (rows_first * first + rows_tuned * tuned)
