"""Damaged copies of valid files, and numbers no float holds: a clean refusal or a read.

Every file reader (patterns: ``.npy`` / ``.npz`` / ``.csv`` / gzip / IDX; chip TOML; fault
maps; measured CSVs; model files) is given valid files with random bytes changed and cut
short (hypothesis, derandomized). The only outcomes allowed are the reader's result or its
documented refusal, an :class:`~xbarmem.errors.XbarmemError`; any other exception (numpy's
header parser, zipfile, overflow in float arithmetic) is a bug. Crafted examples of each class
found that way are kept as plain tests (they failed before the fixes), with the command line
giving the API's message in one line.
"""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import refused, with_metadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xbarmem
from xbarmem import FaultMap, XbarmemError, load_chip, load_file, random_patterns, train
from xbarmem.hardware.measured import read_measured_csv
from xbarmem.memory import model_header
from xbarmem.memory.io import load_memory, save_memory
from xbarmem.spec.rules import ListOf, Number

#: an integer no float holds (JSON, TOML and Python read it exactly)
HUGE = int("9" * 400)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _idx(images: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, images.ndim]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    return head + images.astype(np.uint8).tobytes()


def _measured() -> bytes:
    lines = ["array,row,col,polarity,target_uS,read_uS"]
    lines += [f"0,{i},{j},{pol},{10 + i + j},{10.5 + i + j}"
              for i in range(4) for j in range(4) for pol in "+-"]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> dict[str, bytes]:
    """File name -> the bytes of a valid file of that kind."""
    folder = tmp_path_factory.mktemp("valid")
    pats = random_patterns(4, 16, seed=2)
    model = save_memory(train(pats, rule="hebb"), folder / "m.safetensors", patterns=pats)
    g = np.full((1, 2, 8, 8), np.nan)
    g[0, 0, 1, 2], g[0, 1, 3, 3] = 1.5e-4, 2e-6
    faults = FaultMap(g, {"source": "test"})
    csv = "\n".join(",".join(str(int(v)) for v in row) for row in pats.patterns) + "\n"
    images = (np.arange(64).reshape(4, 4, 4) * 4).astype(np.uint8)
    files = {"p.npy": _npy(pats.patterns), "p.npz": _npz(patterns=pats.patterns),
             "p.csv": csv.encode(), "p.npy.gz": gzip.compress(_npy(pats.patterns)),
             "p-idx3-ubyte": _idx(images), "p-idx3-ubyte.gz": gzip.compress(_idx(images)),
             "chip.toml": xbarmem.hardware.chip.preset_toml("rram").encode(),
             "meas.csv": _measured(), "m.safetensors": model.read_bytes()}
    for name in ("fm.npz", "fm.csv"):
        files[name] = faults.save(folder / name).read_bytes()
    return files


def _read(path: Path):
    """What the library makes of ``path`` (by its name, as the commands read it)."""
    name = path.name
    if name.endswith(".safetensors"):
        return load_memory(path)
    if name.endswith(".toml"):
        return load_chip(path)
    if name.startswith("fm."):
        return FaultMap.load(path, load_chip("paper-sim").device)
    if name.startswith("meas"):
        return read_measured_csv(path, 4, 4)
    return load_file(path)


def _damaged(raw: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(raw)
    for position, value in flips:
        data[position % len(data)] = value
    return bytes(data if cut is None else data[:cut % (len(data) + 1)])


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["p.npy", "p.npz", "p.csv", "p.npy.gz", "p-idx3-ubyte",
                             "p-idx3-ubyte.gz", "chip.toml", "meas.csv", "m.safetensors",
                             "fm.npz", "fm.csv"]),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
       cut=st.none() | st.integers(0, 10**6))
def test_damaged_copies_of_valid_files_are_read_or_refused(valid, tmp_path, name, flips, cut):
    path = tmp_path / name
    path.write_bytes(_damaged(valid[name], flips, cut))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a damaged value may be read with a warning)
        try:
            _read(path)
        except XbarmemError:
            pass


def _npy_with_header(text: str) -> bytes:
    head = text.encode("latin-1")
    head += b" " * (-(len(head) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x02\x00" + len(head).to_bytes(4, "little") + head + bytes(64)


_SHAPE = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"


@pytest.mark.parametrize("header", [
    _SHAPE % "(2, 8",  # an unclosed bracket (tokenize.TokenError)
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), '''",  # an unclosed string
    _SHAPE % ("(" + "-" * 3000 + "1,)"),  # RecursionError in Python's parser
    _SHAPE % ("(" + "-" * 9000 + "1,)"),  # MemoryError in Python's parser
], ids=["bracket", "string", "3000-signs", "9000-signs"])
def test_npy_headers_numpy_cannot_evaluate_are_refused(run_cli, tmp_path, header):
    path = tmp_path / "cues.npy"
    path.write_bytes(_npy_with_header(header))
    with pytest.raises(XbarmemError, match="corrupt .npy header"):
        load_file(path)
    refused(run_cli, tmp_path, "train", "--data", path, "--rule", "hebb", "-o",
            tmp_path / "m.safetensors", names=("cues.npy: corrupt .npy header",))


def _zip_flag(raw: bytes, directory_offset: int, local_offset: int, value: int) -> bytes:
    """``raw`` with a byte of its first zip entry's local header and directory entry set."""
    data = bytearray(raw)
    data[data.find(b"PK\x03\x04") + local_offset] |= value
    data[data.find(b"PK\x01\x02") + directory_offset] |= value
    return bytes(data)


@pytest.mark.parametrize("directory_offset, local_offset, value", [
    (8, 6, 1),  # the "encrypted" flag (zipfile: RuntimeError, a password is needed)
    (6, 4, 0xFF),  # the version needed to extract (zipfile: NotImplementedError)
], ids=["encrypted", "version"])
def test_npz_files_with_damaged_zip_entries_are_refused(run_cli, tmp_path, directory_offset,
                                                        local_offset, value):
    pats = random_patterns(3, 16, seed=0).patterns
    path = tmp_path / "p.npz"
    path.write_bytes(_zip_flag(_npz(patterns=pats), directory_offset, local_offset, value))
    with pytest.raises(XbarmemError, match="corrupt .npz"):
        load_file(path)
    g = np.full((1, 2, 8, 8), np.nan)
    fmap = tmp_path / "fm.npz"
    fmap.write_bytes(_zip_flag(_npz(g_stuck=g, meta=np.array("{}")), directory_offset,
                               local_offset, value))
    with pytest.raises(XbarmemError, match="corrupt .npz"):
        FaultMap.load(fmap)
    refused(run_cli, tmp_path, "train", "--data", path, "--rule", "hebb", "-o",
            tmp_path / "m.safetensors", names=("p.npz", "corrupt .npz"))


@pytest.mark.parametrize("make", [
    lambda: xbarmem.AdaptiveTrainer(lr=HUGE),
    lambda: xbarmem.AdaptiveTrainer(max_steps=HUGE),
    lambda: xbarmem.ChipSpec.from_dict({**load_chip("rram").to_dict(),
                                        "array": {"rows": HUGE, "cols": 64}}),
    lambda: xbarmem.gaussian_noise(np.ones((2, 16)), HUGE),
    lambda: xbarmem.flip_bits(np.ones((2, 16)), HUGE),
    lambda: random_patterns(4, 10**5000),
], ids=["lr", "max_steps", "chip-rows", "sigma", "flip", "n-5000-digits"])
def test_integers_no_float_holds_are_refused_in_the_api(make):
    with pytest.raises(XbarmemError, match="about [0-9]+ digits"):
        make()


@pytest.mark.parametrize("key", ["n_neurons", "first_array", "threads", "labels"])
def test_model_metadata_with_integers_no_float_holds_is_refused(run_cli, valid, tmp_path, key):
    def edit(meta):
        if key == "labels":
            meta["extra"]["patterns"]["labels"] = [10**300] * 4
        else:
            meta[key] = HUGE

    path = tmp_path / "m.safetensors"
    path.write_bytes(with_metadata(valid["m.safetensors"], edit))
    with pytest.raises(XbarmemError, match="bad metadata") as caught:
        load_memory(path)
    line = refused(run_cli, tmp_path, "evaluate", path)
    assert line == f"error: {caught.value}"  # one wording: the API's


def test_neurons_no_float_holds_are_refused_on_the_command_line(run_cli, tmp_path):
    refused(run_cli, tmp_path, "train", "--data", "random", "-p", "3", "--neurons", str(HUGE),
            "-o", tmp_path / "m.safetensors", names=("--neurons must be at most",))


def test_a_model_header_above_the_limit_is_refused_before_it_is_parsed(run_cli, valid,
                                                                      tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes((100 * 2**20).to_bytes(8, "little") + b'{"' + bytes(1000))
    with pytest.raises(XbarmemError, match="metadata .* is 100 MiB, above the 16 MiB"):
        load_memory(path)
    refused(run_cli, tmp_path, "evaluate", path, names=("above the 16 MiB",))


def test_a_model_whose_header_would_pass_the_limit_is_not_saved(monkeypatch, tmp_path):
    pats = random_patterns(4, 16, seed=2)
    memory = train(pats, rule="hebb")
    monkeypatch.setattr(model_header, "MAX_HEADER", 64 * 1024)
    with pytest.raises(XbarmemError, match="above the 64 KiB"):
        save_memory(memory, tmp_path / "m.safetensors", patterns=pats,
                    extra={"notes": "x" * 70_000})
    assert not list(tmp_path.iterdir())
    path = save_memory(memory, tmp_path / "m.safetensors", patterns=pats, extra={"notes": "x"})
    assert load_memory(path).n_neurons == 16


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(values=st.lists(st.integers(-2**70, 2**70) | st.sampled_from([HUGE, -HUGE, 0, 1]),
                       max_size=6),
       rule=st.sampled_from([Number(integer=True), Number(integer=True, ge=0, lt=2**63),
                             Number(ge=-5, le=5)]))
def test_a_list_of_ints_is_accepted_exactly_when_each_is(values, rule):
    assert ListOf(rule).accepts(values) == (bool(values) and all(rule.accepts(v)
                                                                 for v in values))
