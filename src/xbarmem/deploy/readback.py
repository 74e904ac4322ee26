"""A chip read back into a file: the backend of chip-in-the-loop adaptation through files.

A researcher programs an export's targets (:func:`~xbarmem.deploy.export.export_memory`) with
their own tools and reads every device back into a file laid out like the export's
``targets_S.npy``: float64 ``(n_arrays, 2, rows, cols)`` siemens (``.npy``, or one array of an
``.npz``; ``(2, rows, cols)`` for a one-array model), or a CSV with columns
``array,row,col,polarity,read_uS`` (the export's ``devices.csv`` with a ``read_uS`` column
appended; :func:`~xbarmem.hardware.measured.read_conductance_csv`).

:func:`load_read_back` reads and checks such a file against a model; :class:`ReadBackChip` is
the :class:`~xbarmem.deploy.backend.ChipBackend` that
:func:`~xbarmem.deploy.chip_loop.adapt_read_back` runs one round of the loop through:
``read_back`` returns the file's conductances, ``program`` records the targets sent and
applies them to a simulated twin of the chip as read back (the model's write error), so that
recall can be estimated before and after the re-programming.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from xbarmem.checks import check_type, checked_keywords, counted, spanned
from xbarmem.deploy.backend import SimulatedChip, layers_of, twin_layer
from xbarmem.deploy.export import programmed_cells, used_cells
from xbarmem.errors import ConfigError, caller_stacklevel, warn
from xbarmem.files import ArrayFile, as_path, read_bytes
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import (
    PLANES,
    PLANES_LAST,
    WINDOW_SLACK,
    device_at,
    highest_reading,
    refuse_fault_map_file,
    stacked_reads,
)
from xbarmem.hardware.measured import read_conductance_csv
from xbarmem.hardware.units import (
    falling_refusal,
    follows_rearranged,
    one_reading,
    reading_array,
    reading_planes,
    unit_mismatch,
    unrelated_readings,
    zero_offsets,
)
from xbarmem.memory.base import Memory
from xbarmem.seeds import offset_seed


@checked_keywords
def load_read_back(path: str | Path, memory: Memory, key: str | None = None) -> np.ndarray:
    """The read-back file at ``path`` (see module docstring; ``key`` picks an array of an
    ``.npz``, or two, ``"PLUS,MINUS"``, as the G+ and G- planes), checked against ``memory``
    by :func:`check_read_back`. Returns float64 ``(n_arrays, 2, rows, cols)`` siemens, NaN at
    cells the model does not use and the file does not give. Raises :class:`FileFormatError`
    for an unreadable file, :class:`ConfigError` for one that does not fit the model."""
    path = as_path(path)
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    arr = memory.chip.array
    if path.suffix.lower() == ".csv":
        if key is not None:
            raise ConfigError(f"--key applies to an .npz read-back, not {path.name}")
        return check_read_back(read_conductance_csv(path, arr.rows, arr.cols), memory,
                               str(path), csv=True)
    arrays = ArrayFile(read_bytes(path, "read-back file"), str(path))
    refuse_fault_map_file(arrays.names, str(path), "a read-back", "read every device of the "
                          "chip back into a file laid out like the export's targets_S.npy")
    data = reading_planes(
        arrays, key, "choose one with --key (or two, --key PLUS,MINUS, as the G+ and G- planes):",
        error=ConfigError)
    return check_read_back(data, memory, str(path))


@checked_keywords
def check_read_back(read: np.ndarray, memory: Memory, where: str = "read-back", *,
                    csv: bool = False) -> np.ndarray:
    """Refuse (:class:`ConfigError`, naming ``where`` and the first device) a read-back that
    does not fit ``memory``: a shape other than the export's ``(n_arrays, 2, rows, cols)``
    (arrays the model occupies, the chip's array size; ``(2, rows, cols)`` when that is one
    array; a CSV may leave out trailing unused arrays), a device the model uses without a
    reading (NaN), an infinite conductance, values in another unit than siemens, numbers
    other than float32 / float64 (:func:`~xbarmem.hardware.units.reading_array`, the rule of
    every measured map), a reading further below 0 S than an instrument's offset
    (:func:`~xbarmem.hardware.units.zero_offsets`: one within it is taken as 0 S, with a
    warning), a conductance more than :data:`~xbarmem.hardware.faults.WINDOW_SLACK` window
    widths above ``g_max``, or one value at every used device where the model programs
    different ones. Returns the read-back as float64 ``(n_arrays, 2, rows, cols)``."""
    used = used_cells(memory)
    data = reading_array(read, where, error=ConfigError, device=memory.chip.device)
    given = data.shape  # named when refused (not the shape with an axis added)
    if data.ndim == 3 and used.shape[0] == 1:
        data = data[None]
    if csv and data.ndim == 4 and data.shape[0] < used.shape[0]:
        pad = np.full((used.shape[0] - data.shape[0], *data.shape[1:]), np.nan)
        data = np.concatenate([data, pad])
    if data.shape != used.shape:
        shown_shape = _shape(data.shape if csv else given, csv)
        which = ((None if csv else _rearranged(given, used.shape, memory.faults.n_arrays))
                 or _which(data, used, memory))
        raise ConfigError(f"{where}: shape {shown_shape}, but the model's devices "
                          f"are {_shape(used.shape, csv)} (arrays, G+/G-, rows, cols: the "
                          f"layout of its export's targets_S.npy); {which}")
    data, offsets = _check_values(data, used, memory, where, csv)
    _check_varies(data, used, programmed_cells(memory), where)
    _warn_unrelated(data, used, programmed_cells(memory), where)
    if offsets is not None:  # once the read-back is accepted (one line, not two)
        warn(offsets, stacklevel=caller_stacklevel())
    return data


def _which(data: np.ndarray, used: np.ndarray, memory: Memory) -> str:
    """What a read-back of another shape than the model's arrays is: the whole chip of its
    fault map, of which it uses the first arrays (what to give then), a file numbering its
    arrays from 1 (no reading on array 0), or another model's."""
    chip = memory.faults.n_arrays
    if data.ndim == 4 and data.shape[1:] == used.shape[1:] and np.isnan(data[0]).all():
        return ("it has no reading on array 0: arrays numbered from 1? they count from 0, as in "
                "the export's devices.csv")
    if data.ndim == 4 and data.shape[1:] == used.shape[1:] and data.shape[0] == chip > len(used):
        return (f"it reads every array of the model's fault map, but the model uses "
                f"{spanned('array', 0, len(used) - 1)} of its {chip}: give the readings of "
                "those only")
    return "a read-back of another model or chip?"


def _rearranged(given: tuple[int, ...], wanted: tuple[int, ...], chip_arrays: int) -> str | None:
    """What an ``.npy`` read-back of shape ``given`` holds when it could be the model's devices,
    ``wanted`` ``(n_arrays, 2, rows, cols)``, laid out otherwise: repeated reads stacked
    (:func:`~xbarmem.hardware.faults.stacked_reads`; of a model's one array, not as many as
    the ``chip_arrays`` of its fault map, which :func:`_which` names), each array transposed,
    the array and G+/G- axes exchanged, one array of several, or one plane or grid of devices
    not stacked as G+ and G- planes; None when it is none of these."""
    n, _, rows, cols = wanted
    one = n == 1 and len(given) == 4 and given[0] != chip_arrays
    reads = stacked_reads(given, wanted) or (stacked_reads(given, wanted[1:]) if one else None)
    if reads is not None:
        return reads
    arrays = given[0] if len(given) == 4 else 1  # (a 3-D read-back is one array)
    if len(given) in (3, 4) and given[-3:] == (2, cols, rows) and arrays == n and rows != cols:
        return (f"rows and cols exchanged (each array transposed?): a row is an input (word "
                f"line), a col an output (bit line), {rows}x{cols} on this chip; swap the "
                "last two axes (np.swapaxes(read, -1, -2))")
    if given == (2, n, rows, cols) and n != 2:
        return ("the array and G+/G- axes exchanged? the arrays come first, then the G+ and G- "
                "planes (np.swapaxes(read, 0, 1))")
    if len(given) in (3, 4) and given[-3:] == (2, rows, cols) and arrays < n:
        return (f"the readings of {counted(arrays, 'array')}, but the model uses {n}: give "
                f"every array's, stacked as ({n}, 2, {rows}, {cols})")
    if given in ((rows, cols, 2), (n, rows, cols, 2)):
        return f"the axis of size 2 (G+, G-) is last: {PLANES_LAST}"
    if given in ((rows, 2 * cols), (2 * rows, cols)):
        return (f"one grid of single devices? pair them into the G+ and G- planes, "
                f"(2, {rows}, {cols}), as for the chip import (e.g. np.stack([grid[:, 0::2], "
                f"grid[:, 1::2]]) where G+ and G- alternate by column)")
    if given == (rows, cols):
        return (f"one plane of devices: give both, the G+ and G- planes as (2, {rows}, {cols}) "
                "(or two arrays of an .npz, --key PLUS,MINUS)")
    return None


def _shape(shape: tuple[int, ...], csv: bool) -> str:
    if not csv:
        return str(tuple(shape))
    return f"{counted(shape[0], 'array')} of {shape[2]}x{shape[3]}"


def _reads(mask: np.ndarray) -> str:
    """:func:`_first` with its verb: ``device (...) reads``, ``device (...) and 2 more
    read``."""
    return f"{_first(mask)} {'reads' if int(mask.sum()) == 1 else 'read'}"


def _first(mask: np.ndarray) -> str:
    a, p, i, j = (int(v) for v in np.argwhere(mask)[0])
    count = int(mask.sum())
    return (f"device (array {a}, {PLANES[p]}, row {i}, col {j})"
            + (f" and {count - 1} more" if count > 1 else ""))


def _check_values(data: np.ndarray, used: np.ndarray, memory: Memory, where: str,
                  csv: bool) -> tuple[np.ndarray, str | None]:
    """The value rules of :func:`check_read_back`; returns the read-back with readings below
    0 S within an instrument's offset set to 0 S, and the warning to issue of them (or
    None)."""
    if np.isinf(data).any():
        raise ConfigError(f"{where}: {_reads(np.isinf(data))} an infinite conductance")
    given = ~np.isnan(data)
    if (used & ~given).any():
        raise ConfigError(f"{where}: {_first(used & ~given)} used by the model "
                          "has no reading (NaN or not in the file): every used device needs one")
    dev = memory.chip.device
    values = data[used]
    unit = unit_mismatch(values * 1e6, dev, 1e-6) if csv else unit_mismatch(values, dev)
    if unit is not None:
        name = "read_uS must be microsiemens" if csv else "conductances must be in siemens"
        raise ConfigError(
            f"{where}: {name}, but most lie outside the chip window [{dev.g_min:g}, "
            f"{dev.g_max:g}] S, and {unit}: convert the file")
    data, offsets = zero_offsets(data, where, error=ConfigError, place=device_at)
    model = programmed_cells(memory)
    _check_follows(data, used, model, dev.g_range, where, csv)
    _check_layout(data, used, model, dev.g_range, where, csv)
    high = highest_reading(dev)
    over = given & (np.nan_to_num(data) > high)
    if over.any():
        largest = float(data[over].max())
        raise ConfigError(
            f"{where}: {_reads(over)} far above the chip window [{dev.g_min:.4g}, "
            f"{dev.g_max:.4g}] S, up to {largest:.4g} S = g_max + "
            f"{(largest - dev.g_max) / dev.g_range:.3g} window widths (at most g_max + "
            f"{WINDOW_SLACK:g} window width = {high:.4g} S); a read-back of this chip, in "
            "siemens?")
    return data, offsets


def _check_varies(data: np.ndarray, used: np.ndarray, model: np.ndarray, where: str) -> None:
    """Refuse a read-back of one value where the model programs different ones
    (:func:`~xbarmem.hardware.units.one_reading`)."""
    value = one_reading(np.where(used, data, np.nan), np.where(used, model, np.nan))
    if value is not None:
        raise ConfigError(
            f"{where}: every one of the {int(used.sum())} used devices reads {value:.4g} S "
            "although the model programs them to different conductances: a read-back of the "
            "programmed array varies with its targets (was the array read?)")


def _warn_unrelated(data: np.ndarray, used: np.ndarray, model: np.ndarray, where: str) -> None:
    """Warn of a read-back that hardly follows the model's conductances
    (:func:`~xbarmem.hardware.units.unrelated_readings`): read before programming, or the
    read-back of another model; the round then pins most devices."""
    found = unrelated_readings(data[used], model[used])
    if found is not None:
        warn(f"{where}: the readings hardly follow the conductances the model programs (rank "
             f"correlation {found[0]:.2f} over {found[1]} used devices; a read-back of its "
             "programming follows them, stuck devices aside): a map read before programming, "
             "or the read-back of another model? Most devices will miss their targets and be "
             "pinned", stacklevel=caller_stacklevel())


def _check_follows(data: np.ndarray, used: np.ndarray, model: np.ndarray, window: float,
                   where: str, csv: bool) -> None:
    """Refuse a read-back whose readings fall as the model's conductances ``model`` rise
    (:func:`~xbarmem.hardware.units.falling_readings`): its G+ and G- planes swapped, or
    resistances."""
    name = "read_uS must be conductances in microsiemens (1000 / kOhm)" if csv else \
        "the readings must be conductances in siemens (1 / ohm)"
    refusal = falling_refusal(
        data[used], model[used], model[:, ::-1][used], window,
        head=f"{where}: the readings fall as the model's conductances rise",
        swapped="polarity G+ is plane 0 of each pair" if csv else
        "the axis of size 2 is G+ then G- (--key PLUS,MINUS)",
        otherwise=f"resistances? {name}")
    if refusal is not None:
        raise ConfigError(refusal)


def _check_layout(data: np.ndarray, used: np.ndarray, model: np.ndarray, window: float,
                  where: str, csv: bool) -> None:
    """Refuse a read-back laid out otherwise than the export's ``(n_arrays, 2, rows, cols)``
    though of its shape (:func:`~xbarmem.hardware.units.follows_rearranged`): each array's
    rows and columns exchanged (square arrays), or the arrays and G+/G- axes exchanged (two
    arrays)."""
    moved = {}
    if data.shape[2] == data.shape[3]:
        moved["with rows and columns exchanged (each array transposed)"] = \
            data.transpose(0, 1, 3, 2)
    if data.shape[0] == 2 and not csv:
        moved["with the arrays and G+/G- axes exchanged"] = data.transpose(1, 0, 2, 3)
    found = follows_rearranged(np.where(used, data, np.nan), np.where(used, model, np.nan),
                               {k: np.where(used, v, np.nan) for k, v in moved.items()}, window)
    if found is not None:
        name, back, laid = found
        layout = "devices.csv: row = the input (word line), col = the output (bit line)" if csv \
            else "targets_S.npy: (arrays, G+/G-, rows, cols), rows the inputs (word lines)"
        raise ConfigError(
            f"{where}: the readings follow the model's conductances {name} (mean distance "
            f"{back * 1e6:.2f} uS, {laid * 1e6:.2f} uS as laid out): lay them out as the "
            f"export's {layout}")


@checked_keywords
class ReadBackChip:
    """One layer of a chip as read back into a file, as a
    :class:`~xbarmem.deploy.backend.ChipBackend`.

    ``read_back`` returns the file's conductances of the layer (logical
    ``(2, n_out, n_rows)`` siemens) every time. ``program`` records the targets it is sent
    (:attr:`programmed`; NaN = leave) and writes them into a simulated twin that starts at the
    read-back conductances (the layer's chip, or ``chip``: its write error and read noise;
    ``seed`` the write errors), through which ``matvec`` / ``read_outputs`` run: recall
    before ``program`` is the twin of the chip as read back, after it an estimate of the
    chip once the targets are written.

    Args:
        layer: the model's crossbar of this matrix (placement, ``w_max``, known faults).
        read: the whole read-back, float64 ``(n_arrays, 2, rows, cols)`` siemens
            (:func:`load_read_back`); every device the layer uses must have a reading.
    """

    def __init__(self, layer, read: np.ndarray, *, chip: ChipSpec | None = None,
                 seed: int = 0) -> None:
        self.n_in, self.n_out = layer.n_in, layer.n_out
        self.read = layer._gather(np.asarray(read, dtype=np.float64))
        twin = twin_layer(layer, chip=chip)
        twin.set_conductances(self.read[0], self.read[1], layer.w_max)
        self.chip = SimulatedChip(twin, seed=seed)
        self.programmed: list[np.ndarray] = []

    def program(self, targets: np.ndarray) -> int:
        self.programmed.append(np.array(targets, dtype=np.float64))
        return self.chip.program(targets)

    def read_back(self) -> np.ndarray:
        return self.read.copy()

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.chip.matvec(x, generator)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        return self.chip.read_outputs(x, outputs, generator)


@checked_keywords
def read_back_backends(memory: Memory, read: np.ndarray, *, chip: ChipSpec | None = None,
                       seed: int = 0) -> list[ReadBackChip]:
    """One :class:`ReadBackChip` per layer of ``memory`` on the read-back ``read`` (layer
    ``k``'s write errors seeded ``seed + 7919 * k``, :func:`~xbarmem.seeds.offset_seed`)."""
    return [ReadBackChip(layer, read, chip=chip, seed=offset_seed(seed, 7919 * k))
            for k, layer in enumerate(layers_of(memory))]
