"""Inputs an outside re-check of the reliability issue tried that no test had: ``.npy`` data
longer than its header declares (arrays saved one after another into one file), and JSON
naming a key twice in one object (a chip file, a fault map's or a model's metadata). Both were
read silently -- the first array only, the last value only -- where the same content as
``.npy.gz`` or as TOML was refused."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import XbarmemError

PATTERNS = np.where(np.random.default_rng(5).random((3, 16)) > 0.5, 1.0, -1.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny Hebbian model (N = 16, 3 random patterns)."""
    from xbarmem.data.patterns import PatternSet

    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    return xm.save_memory(xm.train(PATTERNS, chip="ideal", rule="hebb"), path,
                          patterns=PatternSet(PATTERNS, kind="binary"))


def _npy(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


#: .npy bytes whose data runs past the array their header declares
LONGER = {
    "appended": _npy(PATTERNS) + b"GARBAGE",  # bytes appended to a sound file
    "two saves": _npy(PATTERNS) + _npy(PATTERNS[:2]),  # np.save twice into one open file
    "one byte": _npy(PATTERNS) + b"\x00",
}

#: commands reading an array file ({} is its path), each a different reader of it
READERS = [
    ["train", "--data", "{}", "--rule", "hebb", "--chip", "ideal", "-o", "out.safetensors"],
    ["recall", "{model}", "{}"],
    ["chip", "import", "{}", "-o", "map.npz"],
]


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
@pytest.mark.parametrize("case", sorted(LONGER))
@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0] if a[0] != "chip" else "import")
def test_npy_data_past_the_declared_array_is_refused(refused_here, tmp_path, model, case,
                                                     suffix, args):
    """np.load reads the first array of such a file and ignores the rest: train stored 3 of
    the patterns of a file holding 5, recall ran the first cues only; now refused, naming the
    extra bytes, in an .npy and in an .npz's member alike (its .npy.gz was refused already)."""
    import zipfile

    raw = LONGER[case]
    if args[0] == "chip":  # (stuck codes, (2, rows, cols))
        raw = raw.replace(_npy(PATTERNS), _npy(np.zeros((2, 8, 8))), 1)
    path = tmp_path / f"a{suffix}"
    if suffix == ".npy":
        path.write_bytes(raw)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("patterns.npy" if args[0] != "chip" else "codes.npy", raw)
    line = [str(path) if a == "{}" else str(model) if a == "{model}" else a for a in args]
    refused_here(*line, names=(path.name, "past the end of the array its header declares"))


def test_npy_data_past_the_declared_array_is_refused_by_the_api(tmp_path):
    path = tmp_path / "p.npy"
    path.write_bytes(LONGER["two saves"])
    with pytest.raises(XbarmemError, match="past the end of the array"):
        xm.load_patterns(path)
    path.write_bytes(_npy(PATTERNS))  # (the sound file still loads)
    assert xm.load_patterns(path).patterns.shape == (3, 16)


def _chip_json(folder: Path) -> Path:
    text = xm.load_preset("paper-sim").to_json()
    path = folder / "chip.json"
    path.write_text(text.replace('"g_max": 0.00015', '"g_max": 0.00015, "g_max": 0.001', 1))
    assert path.read_text() != text
    return path


def _fault_map_csv(folder: Path) -> Path:
    fault_map = xm.FaultMap.generate(xm.load_preset("rram"), n_arrays=1, seed=0)
    path = folder / "map.csv"
    fault_map.save(path)
    head, rest = path.read_text().split("\n", 1)
    assert '"source": ' in head
    path.write_text(head.replace('"source": ', '"source": "x", "source": ', 1) + "\n" + rest)
    return path


def _model_file(folder: Path, model: Path) -> Path:
    raw = model.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    meta = header["__metadata__"]["xbarmem"]
    header["__metadata__"]["xbarmem"] = meta.replace('"n_neurons": 16',
                                                     '"n_neurons": 16, "n_neurons": 16', 1)
    assert header["__metadata__"]["xbarmem"] != meta
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path = folder / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + size:])
    return path


#: (file maker, command ({} = the file), the key named twice)
TWICE = [
    (_chip_json, ["chip", "show", "{}"], "g_max"),
    (_chip_json, ["train", "--data", "random", "-p", "2", "--neurons", "16", "--rule", "hebb",
                  "--chip", "{}", "-o", "out.safetensors"], "g_max"),
    (_fault_map_csv, ["chip", "inspect", "{}"], "source"),
    (_fault_map_csv, ["train", "--data", "random", "-p", "2", "--neurons", "16", "--rule",
                      "hebb", "--fault-map", "{}", "-o", "out.safetensors"], "source"),
    (_model_file, ["evaluate", "{}", "--probes", "1"], "n_neurons"),
    (_model_file, ["export", "{}", "-o", "exported"], "n_neurons"),
]


@pytest.mark.parametrize(("make", "args", "key"), TWICE,
                         ids=[f"{m.__name__[1:]}-{a[0]}-{a[1]}" for m, a, _ in TWICE])
def test_json_naming_a_key_twice_is_refused(refused_here, tmp_path, model, make, args, key):
    """json.loads keeps the last of two equal keys: a chip file naming g_max twice ran with
    the second, silently (its TOML was refused: 'Cannot overwrite a value'); every JSON a
    command reads is now refused so, naming the key (--rule-options did so alone)."""
    path = make(tmp_path, model) if make is _model_file else make(tmp_path)
    line = [str(path) if a == "{}" else a for a in args]
    refused_here(*line, names=(path.name, f"'{key}' twice"))


def test_json_naming_a_key_twice_is_refused_by_the_api(tmp_path, model):
    with pytest.raises(XbarmemError, match="'g_max' twice"):
        xm.load_chip(_chip_json(tmp_path))
    with pytest.raises(XbarmemError, match="'source' twice"):
        xm.FaultMap.load(_fault_map_csv(tmp_path))
    with pytest.raises(XbarmemError, match="'n_neurons' twice"):
        xm.load_memory(_model_file(tmp_path, model))
