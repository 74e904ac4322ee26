"""What ``xbarmem export`` prints after the files: the cells used of arrays a layer does not
fill (:func:`print_corners`) and the column current ranges (:func:`print_currents`).

A memory of many arrays (N = 784 on 64x64 arrays: 169 of them) would print a line per array;
arrays whose used cells are the same are said on one line, and a layer of more than
:data:`ARRAYS_LISTED` arrays gets its current extremes over all of them (``manifest.json``
holds every array's).
"""

from __future__ import annotations

from xbarmem.checks import spanned
from xbarmem.cli.tables import out

#: a layer of at most this many arrays has a line per array of its column currents
ARRAYS_LISTED = 8
#: array numbers named before a list is cut short with "..." (its last is named too)
NUMBERS_SHOWN = 4


def numbers_text(numbers: list[int]) -> str:
    """Sorted ``numbers`` as text, runs of consecutive ones as ``a-b``; more than
    :data:`NUMBERS_SHOWN` items (single numbers or runs) cut to the first ones, ``...`` and
    the last: ``12, 25, 38, 51, ..., 155``."""
    runs: list[list[int]] = []
    for k in sorted(numbers):
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    items = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    if len(items) > NUMBERS_SHOWN + 1:
        items = [*items[:NUMBERS_SHOWN], "...", items[-1]]
    return ", ".join(items)


def print_corners(manifest: dict) -> None:
    """Where a layer's cells lie in an array they do not fill (a 128x128 array of a 64-neuron
    memory, or the array of a bias row alone): the rows and columns used, from row and column
    0 (manifest.json: ``layers[k].tiles``); the arrays of a layer whose used cells are the same
    (the last column of tiles of a large layer) on one line."""
    rows, cols = manifest["arrays"]["rows"], manifest["arrays"]["cols"]
    groups: dict[tuple, list[int]] = {}
    for layer in manifest["layers"]:
        for tile in layer["tiles"]:
            if tile["physical_rows"][1] < rows or tile["physical_cols"][1] < cols:
                key = (layer["index"], *tile["physical_rows"], *tile["physical_cols"])
                groups.setdefault(key, []).append(tile["array"])
    if not groups:
        return
    out.print(f"cells used of the {rows}x{cols} arrays a layer does not fill (the rest "
              "unused):")
    for (index, r0, r1, c0, c1), arrays in groups.items():
        listed = numbers_text(arrays)
        which = (f"array {listed}" if len(arrays) == 1 else f"arrays {listed}"
                 + (f" ({len(arrays)} arrays)" if "..." in listed else ""))
        out.print(f"  layer {index} {which}: {spanned('row', r0, r1 - 1, '-')}, "
                  f"{spanned('col', c0, c1 - 1, '-')}")


def print_currents(manifest: dict) -> None:
    """The column currents of each array for inputs in [-1, 1]: a line per array of a layer
    of at most :data:`ARRAYS_LISTED` arrays, else the layer's extremes over all its arrays and
    the arrays that reach them."""
    out.print("column currents for inputs in [-1, 1] (manifest.json: every layer's currents):")
    for layer in manifest["layers"]:
        currents = layer["currents"]
        if len(currents) <= ARRAYS_LISTED:
            for cur in currents:
                lo, hi = cur["differential_A"]
                out.print(f"  layer {layer['index']} array {cur['array']}: I+ - I- in "
                          f"[{_ua(lo)}, {_ua(hi)}] uA; I+ or I- alone up to "
                          f"{_ua(max(cur['plane_max_A']))} uA")
            continue
        low = min(currents, key=lambda c: c["differential_A"][0])
        high = max(currents, key=lambda c: c["differential_A"][1])
        alone = max(currents, key=lambda c: max(c["plane_max_A"]))
        at = (f"array {low['array']}" if low is high else
              f"lowest in array {low['array']}, highest in array {high['array']}")
        out.print(f"  layer {layer['index']}, {len(currents)} arrays: I+ - I- in "
                  f"[{_ua(low['differential_A'][0])}, {_ua(high['differential_A'][1])}] uA "
                  f"({at});")
        out.print(f"    I+ or I- alone up to {_ua(max(alone['plane_max_A']))} uA (array "
                  f"{alone['array']})")


def _ua(amperes: float) -> str:
    """A current in microamperes, four significant digits (digits, not decimals: nA too)."""
    return f"{amperes * 1e6:.4g}"
