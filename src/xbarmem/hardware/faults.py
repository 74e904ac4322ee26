"""Fault maps: the state of every device of a chip, free or stuck at a conductance.

A :class:`FaultMap` covers ``n_arrays`` physical arrays of ``rows x cols`` differential cells.
Each cell has two devices, one on each polarity plane (plane 0 = G+, plane 1 = G-). The map stores
``g_stuck``, float64 of shape ``(n_arrays, 2, rows, cols)``: the conductance (siemens) a stuck
device is frozen at, or NaN for a free device. The same map is used by training (realisable weight
intervals), programming and recall, so it is generated once (seeded), saved, and loaded again.

Under the ``weight`` fault model (the paper's simulation) faults are drawn per pair and a faulty
pair has both devices stuck at g_min, i.e. its weight is pinned at 0.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.hardware.chip import ChipSpec, DeviceSpec

PLANES = ("G+", "G-")
_CSV_HEADER = ["array", "plane", "row", "col", "g_stuck_S"]


@dataclass
class FaultMap:
    """Stuck devices of a chip.

    Attributes:
        g_stuck: float64 ``(n_arrays, 2, rows, cols)``; siemens for stuck devices, NaN if free.
        meta: provenance (generator seed, rates, fault model, source file, ...), JSON-able.
    """

    g_stuck: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        g = np.asarray(self.g_stuck, dtype=np.float64)
        if g.ndim != 4 or g.shape[1] != 2:
            raise FileFormatError(
                f"fault map must have shape (n_arrays, 2, rows, cols), got {g.shape}")
        if np.isinf(g).any() or (g[~np.isnan(g)] < 0).any():
            raise FileFormatError("fault map conductances must be finite and >= 0 siemens")
        self.g_stuck = g

    # ----------------------------------------------------------------- shape and summaries
    @property
    def n_arrays(self) -> int:
        return self.g_stuck.shape[0]

    @property
    def array_shape(self) -> tuple[int, int]:
        return self.g_stuck.shape[2], self.g_stuck.shape[3]

    @property
    def stuck(self) -> np.ndarray:
        """Boolean ``(n_arrays, 2, rows, cols)``: True where a device is stuck."""
        return ~np.isnan(self.g_stuck)

    def summary(self, device: DeviceSpec | None = None) -> dict[str, Any]:
        """Counts of stuck devices (and ON/OFF split when ``device`` is given)."""
        stuck = self.stuck
        out: dict[str, Any] = {
            "arrays": self.n_arrays, "rows": self.array_shape[0], "cols": self.array_shape[1],
            "devices": int(stuck.size), "stuck": int(stuck.sum()),
            "stuck_fraction": float(stuck.mean()),
            "pairs_with_a_stuck_device": float(stuck.any(axis=1).mean()),
            "pairs_fully_stuck": float(stuck.all(axis=1).mean()),
        }
        if device is not None:
            mid = 0.5 * (device.g_min + device.g_max)
            g = self.g_stuck[stuck]
            out["stuck_on"] = int((g >= mid).sum())
            out["stuck_off"] = int((g < mid).sum())
        return out

    # ----------------------------------------------------------------- construction
    @classmethod
    def empty(cls, n_arrays: int, rows: int, cols: int) -> FaultMap:
        """A map with no stuck device."""
        return cls(np.full((n_arrays, 2, rows, cols), np.nan), {"source": "empty"})

    @classmethod
    def generate(cls, chip: ChipSpec, n_arrays: int, seed: int = 0) -> FaultMap:
        """Draw faults from the chip's rates with a seeded generator.

        ``device`` model: each device independently stuck ON (at g_max) with p_stuck_on, OFF (at
        g_min) with p_stuck_off. ``weight`` model: each pair faulty with p_stuck_on + p_stuck_off,
        and a faulty pair has both devices at g_min (weight pinned at 0).
        """
        if n_arrays < 1:
            raise ConfigError(f"n_arrays must be >= 1, got {n_arrays}")
        dev, arr = chip.device, chip.array
        rng = np.random.default_rng(seed)
        shape = (n_arrays, 2, arr.rows, arr.cols)
        g = np.full(shape, np.nan)
        if arr.fault_model == "device":
            u = rng.random(shape)
            g[u < dev.p_stuck_on] = dev.g_max
            g[(u >= dev.p_stuck_on) & (u < dev.fault_rate)] = dev.g_min
        else:
            faulty = rng.random((n_arrays, arr.rows, arr.cols)) < dev.fault_rate
            g[:, 0][faulty] = dev.g_min
            g[:, 1][faulty] = dev.g_min
        meta = {"source": "generated", "seed": int(seed), "fault_model": arr.fault_model,
                "p_stuck_on": dev.p_stuck_on, "p_stuck_off": dev.p_stuck_off}
        return cls(g, meta)

    @classmethod
    def from_codes(cls, codes: np.ndarray, device: DeviceSpec) -> FaultMap:
        """From a measured state map: 0 free, +1 stuck ON (g_max), -1 stuck OFF (g_min).

        ``codes`` has shape ``(n_arrays, 2, rows, cols)`` or ``(2, rows, cols)`` for one array.
        """
        c = _as_4d(np.asarray(codes), "fault codes")
        bad = ~np.isin(c, (-1, 0, 1))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise FileFormatError(f"fault codes must be -1, 0 or +1; found {c[idx]!r} at {idx}")
        g = np.where(c > 0, device.g_max, np.where(c < 0, device.g_min, np.nan))
        return cls(g, {"source": "codes"})

    @classmethod
    def from_readback(cls, g_read: np.ndarray, g_target: np.ndarray, tolerance: float,
                      device: DeviceSpec) -> FaultMap:
        """From a program-and-read-back test: a device whose read conductance (siemens) misses its
        target by more than ``tolerance`` siemens is stuck at what it reads (clipped to >= 0)."""
        read = _as_4d(np.asarray(g_read, dtype=np.float64), "read-back conductance map")
        target = _as_4d(np.asarray(g_target, dtype=np.float64), "target conductance map")
        if read.shape != target.shape:
            raise FileFormatError(f"read-back map {read.shape} and targets {target.shape} differ")
        if not np.isfinite(read).all() or not np.isfinite(target).all():
            raise FileFormatError("conductance maps must be finite (found NaN or inf)")
        if tolerance <= 0:
            raise ConfigError(f"tolerance must be > 0 siemens, got {tolerance}")
        stuck = np.abs(read - target) > tolerance
        g = np.where(stuck, np.clip(read, 0.0, None), np.nan)
        return cls(g, {"source": "readback", "tolerance_S": float(tolerance)})

    @classmethod
    def from_conductance_map(cls, g_read: np.ndarray, device: DeviceSpec,
                             off_below: float | None = None,
                             on_above: float | None = None) -> FaultMap:
        """From a read-back conductance map (siemens) after trying to move every device away from
        the extremes: a device reading below ``off_below`` is stuck OFF, above ``on_above`` stuck
        ON, at the conductance it reads. Defaults: 5% of the window inside g_min / g_max."""
        read = _as_4d(np.asarray(g_read, dtype=np.float64), "conductance map")
        if not np.isfinite(read).all():
            raise FileFormatError("conductance map must be finite (found NaN or inf)")
        margin = 0.05 * device.g_range
        lo = device.g_min + margin if off_below is None else off_below
        hi = device.g_max - margin if on_above is None else on_above
        if lo >= hi:
            raise ConfigError(f"off_below ({lo:g} S) must be below on_above ({hi:g} S)")
        stuck = (read < lo) | (read > hi)
        g = np.where(stuck, np.clip(read, 0.0, None), np.nan)
        return cls(g, {"source": "conductance-map", "off_below_S": lo, "on_above_S": hi})

    # ----------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` (array + JSON meta) or ``.csv`` (one row per stuck device)."""
        path = Path(path)
        if path.suffix == ".npz":
            np.savez_compressed(path, g_stuck=self.g_stuck,
                                meta=np.array(json.dumps(self.meta)))
        elif path.suffix == ".csv":
            buf = io.StringIO()
            n, _, r, c = self.g_stuck.shape
            buf.write(f"# xbarmem fault map: arrays={n} rows={r} cols={c} "
                      f"meta={json.dumps(self.meta)}\n")
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(_CSV_HEADER)
            for a, p, i, j in np.argwhere(self.stuck):
                writer.writerow([a, PLANES[p], i, j, repr(float(self.g_stuck[a, p, i, j]))])
            path.write_text(buf.getvalue())
        else:
            raise FileFormatError(f"fault map file must end in .npz or .csv, got {path.name}")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FaultMap:
        """Read a map written by :meth:`save` (never unpickles)."""
        path = Path(path)
        if not path.exists():
            raise FileFormatError(f"no such fault map file: {path}")
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    if "g_stuck" not in data:
                        raise FileFormatError(f"{path}: not an xbarmem fault map "
                                              f"(no 'g_stuck' array; keys {list(data)})")
                    meta = json.loads(str(data["meta"])) if "meta" in data else {}
                    return cls(data["g_stuck"], meta)
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                if isinstance(exc, FileFormatError):
                    raise
                raise FileFormatError(f"{path}: unreadable fault map ({exc})") from exc
        if path.suffix == ".csv":
            return cls._load_csv(path)
        raise FileFormatError(f"fault map file must end in .npz or .csv, got {path.name}")

    @classmethod
    def _load_csv(cls, path: Path) -> FaultMap:
        lines = path.read_text().splitlines()
        if not lines or not lines[0].startswith("# xbarmem fault map:"):
            raise FileFormatError(f"{path}: line 1 must be the '# xbarmem fault map: arrays=.. "
                                  "rows=.. cols=..' header")
        head = dict(tok.split("=", 1) for tok in lines[0].split()[4:7] if "=" in tok)
        try:
            n, r, c = int(head["arrays"]), int(head["rows"]), int(head["cols"])
            meta_text = lines[0].split("meta=", 1)[1] if "meta=" in lines[0] else "{}"
            meta = json.loads(meta_text)
        except (KeyError, ValueError) as exc:
            raise FileFormatError(f"{path}: line 1: bad header ({exc})") from exc
        if len(lines) < 2 or lines[1].split(",") != _CSV_HEADER:
            raise FileFormatError(f"{path}: line 2 must be {','.join(_CSV_HEADER)}")
        g = np.full((n, 2, r, c), np.nan)
        for lineno, row in enumerate(csv.reader(lines[2:]), start=3):
            if not row:
                continue
            try:
                a, plane, i, j, value = row
                a, i, j, p = int(a), int(i), int(j), PLANES.index(plane)
                g[a, p, i, j] = float(value)
            except (ValueError, IndexError) as exc:
                raise FileFormatError(f"{path}: line {lineno}: bad row {row!r} ({exc})") from exc
        meta["file"] = str(path)
        return cls(g, meta)


def _as_4d(a: np.ndarray, what: str) -> np.ndarray:
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1] != 2:
        raise FileFormatError(f"{what} must have shape (2, rows, cols) or "
                              f"(n_arrays, 2, rows, cols), got {a.shape}")
    return a
