"""Every command that reads a file refuses a bad one cleanly.

Hypothesis strategies (metadata dicts with wrong values, tensors and pattern arrays of odd
dtypes / shapes / values, chip TOML, fault-map and measurement CSV text including non-UTF-8
bytes) and a corpus of crafted files built here drive the real CLI (``run_cli``). Each refusal
must be: exit code 2, exactly one stderr line ``error: ...`` naming the problem, no traceback,
and no file in the working folder created or changed (checksums before/after). Memory limits:
a gzip bomb and absurd sizes are refused in well under a second with little memory.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import math
import os
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import Inflated, TorchCalls, refused
from conftest import run_quietly as _run
from conftest import tree_digest as _tree
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from xbarmem import load_chip, random_patterns, train
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.io import save_memory

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
N = 16
BAD = ("bad.safetensors",)


# ------------------------------------------------------------------------------------ helpers


def clean(run_cli, folder: Path, *args: object) -> int:
    """Run ``xbarmem *args`` on input that may or may not be valid: either success or a clean
    refusal (as :func:`refused`), never a traceback."""
    before = _tree(folder)
    code, _, err = _run(run_cli, args)
    assert "Traceback" not in err
    if code != 0:
        refused_line = err.strip().splitlines()
        assert code == 2 and len(refused_line) == 1, err
        assert refused_line[0].startswith("error: "), err
        assert _tree(folder) == before
    return code


def fresh(base: Path) -> Path:
    """A new empty folder per hypothesis example."""
    folder = base / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small programmed model (N = 16, rram chip with a few stuck devices) with its patterns:
    ``(path, metadata dict, tensors dict)``."""
    pats = random_patterns(3, N, seed=1)
    mem = train(pats, chip="rram", rule="hebb", fault_seed=3, program_seed=4)
    path = save_memory(mem, tmp_path_factory.mktemp("model") / "m.safetensors", patterns=pats)
    with safe_open(str(path), framework="numpy") as handle:
        meta = json.loads(handle.metadata()["xbarmem"])
    return path, meta, load_file(str(path))


def write_model(path: Path, meta: dict, tensors: dict) -> Path:
    # json.dumps (not the strict writer): the fuzz files may hold bare NaN / Infinity
    save_file(tensors, str(path), metadata={"xbarmem": json.dumps(meta)})
    return path


def model_commands(model_path: Path, folder: Path, cues: Path) -> list[list[object]]:
    return [["evaluate", model_path, "--probes", "2"],
            ["recall", model_path, cues, "--out", folder / "states.npy"],
            ["export", model_path, "--out", folder / "export"],
            ["adapt", model_path, "--rounds", "1", "--out", folder / "adapted.safetensors",
             "--log", folder / "log.jsonl"]]


@pytest.fixture(scope="module")
def cues(tmp_path_factory):
    path = tmp_path_factory.mktemp("cues") / "cues.npy"
    np.save(path, random_patterns(2, N, seed=2).patterns)
    return path


# ------------------------------------------------------------------------------------ models
_ANY = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                 st.lists(st.integers(-3, 3), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_NOT_TABLE = _ANY.filter(lambda v: not isinstance(v, dict))
_BAD_SIZE = st.one_of(st.integers(-10**6, 10**6).filter(lambda v: v != N),
                      st.floats(allow_nan=True), st.text(max_size=3), st.none(), st.booleans())
_BAD_GAIN = st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")),
                      st.text(max_size=3), st.none(), st.booleans(), st.lists(st.floats()))
#: (dotted key, strategy of values that are wrong there); "DELETE" drops the key
_META_EDITS = st.one_of(
    st.tuples(st.just("format"), _ANY.filter(lambda v: v != "xbarmem-model/1")),
    st.tuples(st.just("n_neurons"), _BAD_SIZE),
    st.tuples(st.just("bias"), _ANY.filter(lambda v: v is not True)),
    st.tuples(st.just("w_max"), _BAD_GAIN),
    st.tuples(st.just("first_array"), _ANY.filter(lambda v: v != 0 or type(v) is not int)),
    st.tuples(st.just("arch"), _ANY.filter(lambda v: v != "single")),
    st.tuples(st.just("hidden"), _ANY.filter(lambda v: v is not None)),
    st.tuples(st.sampled_from(["chip", "info", "extra", "fault_meta", "versions"]), _NOT_TABLE),
    st.tuples(st.just("chip.device.g_min"),
              st.one_of(st.floats(max_value=-1e-9), st.just(float("nan")), st.text(max_size=2),
                        st.none(), st.floats(min_value=1.0, max_value=1e300))),
    st.tuples(st.just("chip.device.g_max"),
              st.one_of(st.floats(max_value=1e-6), st.just(float("inf")), st.text(max_size=2),
                        st.none(), st.booleans())),
    st.tuples(st.just("chip.array.rows"), _BAD_SIZE.filter(lambda v: v != 64)),
    st.tuples(st.just("info.kind"), _ANY.filter(lambda v: v not in ("binary", "continuous"))),
    st.tuples(st.just("info.rule_options"), _NOT_TABLE),
    st.tuples(st.just("extra.patterns.image_shape"),
              st.one_of(st.lists(st.integers(-2, 5), min_size=1, max_size=3).filter(
                  lambda v: not (len(v) == 2 and min(v) >= 1 and v[0] * v[1] == N)),
                        st.text(max_size=2), st.none())),
    st.tuples(st.text(min_size=1, max_size=8).filter(lambda k: "." not in k and k not in (
        "format", "n_neurons", "bias", "w_max", "chip", "arch", "first_array", "hidden",
        "fault_meta", "info", "versions", "extra")), _ANY),  # an unknown key
    st.tuples(st.sampled_from(["format", "n_neurons", "bias", "w_max", "chip"]),
              st.just("DELETE")),
)


def _edit(meta: dict, key: str, value: object) -> dict:
    out = copy.deepcopy(meta)
    *parents, last = key.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value == "DELETE":
        del node[last]
    else:
        node[last] = value
    return out


@FUZZ
@given(edit=_META_EDITS, command=st.integers(0, 3))
def test_fuzz_model_metadata(run_cli, tmp_path, model, cues, edit, command):
    path, meta, tensors = model
    assume(edit != ("bias", meta["bias"]))  # the one valid value
    folder = fresh(tmp_path)
    bad = write_model(folder / "bad.safetensors", _edit(meta, *edit), tensors)
    refused(run_cli, folder, *model_commands(bad, folder, cues)[command], names=BAD)


_ODD_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.int8, np.int32, np.uint8, np.float16, np.float32, np.float64,
                           np.bool_]),
    # never N = 16 values per pattern, so no array is a valid cue or tensor of the model
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5).filter(
        lambda s: len(s) < 2 or math.prod(s[1:]) != N))
_BAD_CONDUCTANCE = st.one_of(st.just(float("nan")), st.just(float("inf")),
                             st.floats(max_value=-1e-12, allow_infinity=False),
                             st.floats(min_value=1e-3, max_value=1e300))


@FUZZ
@given(name=st.sampled_from(["g_pos", "g_neg", "fault_g_stuck", "patterns", "target_weights"]),
       array=_ODD_ARRAYS, command=st.integers(0, 3))
def test_fuzz_model_tensors_of_odd_dtype_and_shape(run_cli, tmp_path, model, cues, name, array,
                                                   command):
    path, meta, tensors = model
    folder = fresh(tmp_path)
    bad = write_model(folder / "bad.safetensors", meta, {**tensors, name: array})
    refused(run_cli, folder, *model_commands(bad, folder, cues)[command], names=BAD)


@FUZZ
@given(name=st.sampled_from(["g_pos", "g_neg", "fault_g_stuck"]), value=_BAD_CONDUCTANCE,
       where=st.integers(0, 10**6), as_int=st.booleans(), command=st.integers(0, 3))
def test_fuzz_model_conductance_values(run_cli, tmp_path, model, cues, name, value, where, as_int,
                                       command):
    """NaN, infinite, negative or far-above-window conductances, or integer tensors."""
    path, meta, tensors = model
    folder = fresh(tmp_path)
    g = tensors[name].copy()
    if as_int:
        g = np.zeros(g.shape, dtype=np.int64)
    elif name == "fault_g_stuck" and value != value:
        g.flat[where % g.size] = -1.0  # NaN means "free" there: use another bad value
    else:
        g.flat[where % g.size] = value
    bad = write_model(folder / "bad.safetensors", meta, {**tensors, name: g})
    refused(run_cli, folder, *model_commands(bad, folder, cues)[command], names=BAD)


# ------------------------------------------------------------------------------------ patterns
def _written(path: Path, buf: io.BytesIO, fmt: str) -> Path:
    """``buf``'s bytes written to ``path + fmt`` (gzip'd when ``fmt`` ends in ``.gz``)."""
    raw = buf.getvalue()
    path = path.with_name(path.name + fmt)
    path.write_bytes(gzip.compress(raw) if fmt.endswith(".gz") else raw)
    return path


def _save_array(path: Path, array: np.ndarray, fmt: str) -> Path:
    buf = io.BytesIO()
    if fmt.startswith(".npz"):
        np.savez(buf, patterns=array)
    elif fmt.startswith(".csv"):
        if array.size:
            rows = array.reshape(len(array) if array.ndim else 1, -1)
            np.savetxt(buf, rows.astype(np.float64), delimiter=",")
    else:
        np.save(buf, array)
    return _written(path, buf, fmt)


@FUZZ
@given(array=_ODD_ARRAYS, fmt=st.sampled_from([".npy", ".npz", ".csv", ".npy.gz", ".csv.gz"]))
def test_fuzz_cue_files(run_cli, tmp_path, model, array, fmt):
    """Cue arrays of odd dtypes and shapes (never (B, 16)) are refused by ``recall``."""
    folder = fresh(tmp_path)
    cue_file = _save_array(folder / "cues", array, fmt)
    line = refused(run_cli, folder, "recall", model[0], cue_file, "--out", folder / "s.npy")
    assert "cues" in line or f"has {N}" in line, line  # the file, or the N mismatch


@FUZZ
@given(raw=st.binary(max_size=64), fmt=st.sampled_from([".npy", ".npz", ".csv", ".npy.gz",
                                                        ".csv.gz", "-idx3-ubyte"]))
def test_fuzz_pattern_bytes(run_cli, tmp_path, raw, fmt):
    """Arbitrary bytes as a training file: success or a clean refusal, never a traceback."""
    folder = fresh(tmp_path)
    path = folder / f"data{fmt}"
    path.write_bytes(raw)
    clean(run_cli, folder, "train", "--data", path, "--rule", "hebb", "--out",
          folder / "m.safetensors")


# ------------------------------------------------------------------- scaling on image files
_IMAGE_STACKS = hnp.arrays(
    dtype=st.sampled_from([np.uint8] * 4 + [np.int8, np.uint16, np.float32, np.float64,
                                            np.bool_, np.complex64, ">u2"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
_SCALING = ("--sizes", "16", "--arch", "single", "--rule", "pinv", "--probes", "1",
            "--trials", "1", "--threads", "1")


def _save_stack(path: Path, array: np.ndarray, fmt: str, labels: int | None) -> Path:
    """``array`` as an image file ``path + fmt``: .npy, .npz (with another array and
    ``labels`` of that length when given), IDX (uint8 only, else .npy), gzip'd or not."""
    buf = io.BytesIO()
    if fmt.startswith(".npz"):
        extra = {} if labels is None else {"labels": np.arange(labels), "other": np.zeros(3)}
        np.savez(buf, images=array, **extra)
    elif fmt.startswith("-idx3-ubyte") and array.dtype == np.uint8 and array.ndim:
        buf.write(bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
                  + array.tobytes())
    else:
        np.save(buf, array)
    return _written(path, buf, fmt)


@FUZZ
@given(array=_IMAGE_STACKS, fmt=st.sampled_from([".npy", ".npz", ".npy.gz", "-idx3-ubyte",
                                                 "-idx3-ubyte.gz"]),
       labels=st.one_of(st.none(), st.integers(0, 8)))
def test_fuzz_scaling_image_files(run_cli, tmp_path, array, fmt, labels):
    """Image stacks of odd dtypes, shapes and values (and .npz files with several arrays and
    labels of any length) for ``scaling --data FILE``: a run or a clean refusal."""
    folder = fresh(tmp_path)
    path = _save_stack(folder / "images", array, fmt, labels)
    code = clean(run_cli, folder, "scaling", "--data", path, *_SCALING, "--out", folder / "o")
    assert code == 2 or (array.dtype == np.uint8 and array.ndim in (2, 3))


@FUZZ
@given(raw=st.binary(max_size=64), fmt=st.sampled_from([".npy", ".npz", ".npy.gz", ".idx",
                                                        "-idx3-ubyte", ".idx.gz", ".csv"]))
def test_fuzz_scaling_bytes(run_cli, tmp_path, raw, fmt):
    """Arbitrary bytes as ``scaling --data FILE``: refused in one line, never a traceback."""
    folder = fresh(tmp_path)
    path = folder / f"data{fmt}"
    path.write_bytes(raw)
    assert clean(run_cli, folder, "scaling", "--data", path, *_SCALING, "--out",
                 folder / "o") == 2


# ------------------------------------------------------------------------------------ chip TOML
_BAD_CHIP = st.one_of(
    st.fixed_dictionaries({"device": st.fixed_dictionaries({"g_min": st.one_of(
        st.floats(max_value=-1e-9), st.text(max_size=3), st.booleans())})}),
    st.fixed_dictionaries({"array": st.fixed_dictionaries({"rows": st.one_of(
        st.integers(max_value=0), st.integers(min_value=4097, max_value=10**12),
        st.floats(), st.text(max_size=3))})}),
    st.fixed_dictionaries({"device": st.integers()}),
    st.dictionaries(st.text(min_size=1, max_size=5).filter(
        lambda k: k not in ("device", "array", "name", "description", "source")),
        st.integers(), min_size=1, max_size=2),
)


@FUZZ
@given(chip=_BAD_CHIP, command=st.integers(0, 2))
def test_fuzz_chip_toml_with_wrong_values(run_cli, tmp_path, chip, command):
    folder = fresh(tmp_path)
    path = folder / "chip.toml"
    path.write_text(tomli_w.dumps(chip))
    args = [["chip", "show", path],
            ["train", "--data", "random", "--neurons", "16", "--patterns", "2", "--rule",
             "hebb", "--chip", path, "--out", folder / "m.safetensors"],
            ["chip", "faults", "--chip", path, "--out", folder / "f.npz"]][command]
    refused(run_cli, folder, *args, names=("chip.toml",))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
def test_fuzz_chip_toml_bytes(run_cli, tmp_path, raw):
    folder = fresh(tmp_path)
    path = folder / "chip.toml"
    path.write_bytes(raw)
    clean(run_cli, folder, "chip", "show", path)


# ------------------------------------------------------------------------------------ CSV files
_COUNT = st.one_of(st.integers(-3, 3), st.just(10**12))
_SIDE = st.one_of(st.integers(-3, 70), st.just(10**6))
_HEADER = st.fixed_dictionaries({"arrays": _COUNT, "rows": _SIDE, "cols": _SIDE})
_G_HIGH = 150e-6 + 148e-6  # rram: g_max plus one window width
_ROW = st.tuples(st.integers(-3, 3), st.sampled_from(["G+", "G-", "G", ""]),
                 st.integers(-70, 70), st.integers(-70, 70),
                 st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                           st.sampled_from(["nan", "1.0", "-1e-6", "x", ""])))


def _valid_map(header: dict, rows: list) -> bool:
    n, r, c = header["arrays"], header["rows"], header["cols"]
    if not (1 <= n <= 3 and 1 <= r <= 4096 and 1 <= c <= 4096):
        return False
    for a, plane, i, j, value in rows:
        try:
            g = float(value)
        except ValueError:
            return False
        if not (0 <= a < n and plane in ("G+", "G-") and 0 <= i < r and 0 <= j < c
                and 0 <= g <= _G_HIGH):
            return False
    return True


@FUZZ
@given(header=_HEADER, rows=st.lists(_ROW, min_size=1, max_size=4))
def test_fuzz_fault_map_csv(run_cli, tmp_path, header, rows):
    """Fault-map CSVs with bad headers (zero, negative, absurd counts) or bad rows (negative or
    out-of-range indices, NaN / negative / above-window conductances) are refused by ``chip
    inspect``."""
    if _valid_map(header, rows):
        rows = [*rows, (0, "G+", -1, 0, "2e-6")]  # keep the example invalid
    folder = fresh(tmp_path)
    path = folder / "map.csv"
    text = (f"# xbarmem fault map: arrays={header['arrays']} rows={header['rows']} "
            f"cols={header['cols']} meta={{}}\narray,plane,row,col,g_stuck_S\n"
            + "".join(",".join(map(str, r)) + "\n" for r in rows))
    path.write_text(text)
    refused(run_cli, folder, "chip", "inspect", path, names=("map.csv",))


_MAP_HEAD = "# xbarmem fault map: arrays=1 rows=4 cols=4 meta={}\narray,plane,row,col,g_stuck_S\n"


@pytest.mark.parametrize(("rows", "words"), [
    ("0,G*,0,1,2e-06\n", "line 3, column 'plane': 'G*' is not G+ or G-"),
    ("0,1,0,1,2e-06\n", "line 3, column 'plane': '1' is not G+ or G-"),
    ("0,G+,1.5,1,2e-06\n", "line 3, column 'row': '1.5' is not an integer"),
    ("0,G+,1,x,2e-06\n", "line 3, column 'col': 'x' is not an integer"),
    ("0,G+,1,1,2 uS\n", "line 3, column 'g_stuck_S': '2 uS' is not a number"),
    ("0,G+,1\n", "line 3: 3 fields, the header has 5 (array,plane,row,col,g_stuck_S)"),
    ("0,G+,1,1,2e-06,7\n", "line 3: 6 fields, the header has 5"),
    ("0,G+,1,1,2e-06\n0,G-,1,1,2e-06\n0,G+,1,1,0.00015\n",
     "line 5: device (array 0, G+, row 1, col 1) already given on line 3"),
    ("0,G+,1,1,2e-06\n0,G+,1,1,2e-06\n", "line 4: device (array 0, G+, row 1, col 1)"),
], ids=["plane", "plane-number", "row", "col", "unit", "short", "long", "conflict", "repeat"])
def test_a_bad_fault_map_csv_row_is_refused_naming_its_column(run_cli, tmp_path, rows, words):
    """Each field of a fault-map CSV row is refused by name (before: 'bad row [...]
    (tuple.index(x): x not in tuple)', Python's unpacking errors), and a device listed twice
    is refused as the measured-CSV reader refuses it (the last line won silently, so a map
    merged from two reads took whichever came last)."""
    folder = fresh(tmp_path)
    path = folder / "map.csv"
    path.write_text(_MAP_HEAD + rows)
    line = refused(run_cli, folder, "chip", "inspect", path, names=("map.csv",))
    assert words in line and "tuple" not in line and "unpack" not in line, line


def test_a_fault_map_csv_plane_is_read_in_any_case(tmp_path):
    """``g+`` is ``G+``, as the measured-CSV reader takes it."""
    path = tmp_path / "map.csv"
    path.write_text(_MAP_HEAD + "0,g+,1,1,2e-06\n0,g-,2,3,0.00015\n")
    fmap = FaultMap.load(path)
    assert fmap.stuck[0, 0, 1, 1] and fmap.stuck[0, 1, 2, 3] and fmap.stuck.sum() == 2


_MEASURED_BAD = st.sampled_from([
    ("array", "-1"), ("array", "x"), ("row", "64"), ("row", "-1"), ("col", "1e3"),
    ("polarity", "G"), ("target_uS", "nan"), ("read_uS", "-5"), ("read_uS", "inf"),
    ("stuck", "2"), ("array", "1000000000")])


@FUZZ
@given(bad=_MEASURED_BAD, line=st.integers(0, 5), encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_fuzz_measured_csv(run_cli, tmp_path, bad, line, encoding):
    """A measurement CSV with one bad field (or non-UTF-8 bytes) is refused by ``chip
    import``, and the fault map it would write is not created."""
    folder = fresh(tmp_path)
    rng = np.random.default_rng(line)
    rows = [{"array": "0", "row": str(i), "col": str(j), "polarity": "G+",
             "target_uS": f"{t:.3f}", "read_uS": f"{t + rng.normal(0, 0.5):.3f}", "stuck": "0"}
            for i, j, t in zip(range(6), range(6), np.linspace(5, 140, 6), strict=True)]
    rows[line][bad[0]] = bad[1]
    header = list(rows[0])
    text = ",".join(header) + "\n" + "".join(",".join(r[h] for h in header) + "\n" for r in rows)
    raw = text.encode("utf-8")
    if encoding == "latin-1":
        raw = raw.replace(b"G+", "G\u00b1".encode("latin-1"), 1)
    path = folder / "measured.csv"
    path.write_bytes(raw)
    refused(run_cli, folder, "chip", "import", path, "--out", folder / "map.npz",
            names=("measured.csv",))


# ------------------------------------------------------------------------------------ corpus
def _npy_bomb(path: Path, declared: int, members: int) -> Path:
    """A .npy.gz: an .npy header declaring ``declared`` bytes of float64, then ``members``
    gzip members of 16 MiB of zeros each (~16 KB compressed per member)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False,
                                                "shape": (declared // 8,)})
    zeros = gzip.compress(bytes(16 * 2**20), 9)
    path.write_bytes(gzip.compress(head.getvalue()) + zeros * members)
    return path


def _fast_and_small(run_cli, folder, *args, names=(), inflated=2**20):
    """:func:`refused` before any work: no torch function called, at most ``inflated`` bytes
    of compressed data inflated (a bomb's size known from its header: one chunk), under 64
    MiB of traced allocations (on a second run: the first one also pays for importing the
    command's modules). Counted, not timed: a CPU-time bound of 1 s failed at 1.01 s on a
    loaded machine, whose load -- not the refusal -- decided it."""
    refused(run_cli, folder, *args, names=names)
    tracemalloc.start()
    try:
        with Inflated() as unzipped, TorchCalls() as torch_calls:
            line = refused(run_cli, folder, *args, names=names)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert torch_calls.called == [], torch_calls.called[:10]
    assert unzipped.bytes <= inflated, unzipped.bytes
    assert peak < 64 * 2**20, peak
    return line


def test_the_inflated_counter_sees_every_byte_a_reader_inflates(run_cli, tmp_path):
    """The counts above are not blind: reading a gzip'd pattern file inflates all of it."""
    body = b"1,-1,1,-1\n-1,1,-1,1\n1,1,-1,-1\n"
    (tmp_path / "p.csv.gz").write_bytes(gzip.compress(body))
    with Inflated() as unzipped, TorchCalls() as torch_calls:
        code, _, err = run_cli("train", "--data", tmp_path / "p.csv.gz", "--rule", "hebb",
                               "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    assert unzipped.bytes >= len(body) and len(torch_calls.called) > 10  # (read for N, then
    # its patterns: twice)


def test_gzip_bomb_refused_by_its_header_quickly(run_cli, tmp_path, monkeypatch):
    """A ~256 KB .npy.gz inflating to 256 MiB, above a 64 MiB limit, is refused from its
    header, naming the estimate, in well under a second and without inflating it."""
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "64M")
    bomb = _npy_bomb(tmp_path / "bomb.npy.gz", 256 * 2**20, 16)
    assert bomb.stat().st_size < 2**19
    _fast_and_small(run_cli, tmp_path, "train", "--data", bomb, "--rule", "hebb", "--out",
                    tmp_path / "m.safetensors", names=("bomb.npy.gz", "would need about 512 MiB",
                                              "64 MiB", "XBARMEM_MAX_BYTES"))


def test_gzip_bomb_of_the_issue_refused_at_the_default_limit(run_cli, tmp_path, model):
    """The issue's example: a .npy.gz declaring 2.7 GB is refused at the default limit from its
    header alone (the file here holds only its first 16 MiB of zeros)."""
    bomb = _npy_bomb(tmp_path / "bomb.npy.gz", int(2.7e9), 1)
    _fast_and_small(run_cli, tmp_path, "recall", model[0], bomb, names=("bomb.npy.gz", "GiB"))


def test_gzip_bomb_without_header_refused_as_it_grows(run_cli, tmp_path, monkeypatch):
    """A CSV bomb (no size header) is refused once its inflated size passes the limit (set low
    here through the environment)."""
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "16M")
    body = b"1,-1,1,-1\n" * (40 * 2**20 // 10)  # 40 MB of text
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(body, 9))
    assert bomb.stat().st_size < 2**20
    _fast_and_small(run_cli, tmp_path, "train", "--data", bomb, "--rule", "hebb", "--out",
                    tmp_path / "m.safetensors", names=("bomb.csv.gz", "16 MiB"),
                    inflated=16 * 2**20)  # (at most the limit inflated, of the bomb's 40 MB)


def test_forged_npz_header_refused(run_cli, tmp_path):
    """An .npz member whose .npy header declares 10^12 elements is refused before loading."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False,
                                                "shape": (10**6, 10**6)})
    import zipfile

    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("patterns.npy", head.getvalue() + bytes(64))
    _fast_and_small(run_cli, tmp_path, "train", "--data", path, "--rule", "hebb", "--out",
                    tmp_path / "m.safetensors", names=("forged.npz", "TiB"))


@pytest.mark.parametrize(("args", "names"), [
    (["chip", "faults", "--arrays", 10**9, "--out", "{tmp}/f.npz"], ("10^9", "would need")),
    (["train", "--data", "random", "--neurons", "16", "--patterns", "2", "--rule", "hebb",
      "--chip", "{tmp}/big.toml", "--out", "{tmp}/m.safetensors"], ("big.toml", "array.rows")),
    (["chip", "show", "{tmp}/huge.toml"], ("huge.toml", "array.rows")),
])
def test_absurd_sizes_refused_quickly(run_cli, tmp_path, args, names):
    (tmp_path / "big.toml").write_text("[array]\nrows = 5000\ncols = 5000\n")
    (tmp_path / "huge.toml").write_text("[array]\nrows = 100000\n")
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    names = tuple(n.replace("10^9", str(10**9)) for n in names)
    _fast_and_small(run_cli, tmp_path, *args, names=names)


def _corpus(tmp: Path, model_path: Path) -> dict[str, tuple[list[object], tuple[str, ...]]]:
    """Crafted bad files: name -> (command, fragments the error must name)."""
    (tmp / "folder.toml").mkdir()
    (tmp / "folder.csv").mkdir()
    (tmp / "folder.npz").mkdir()
    os.mkfifo(tmp / "pipe.npy")
    raw = gzip.compress(np.save.__doc__.encode())
    (tmp / "corrupt.npy.gz").write_bytes(raw[:30] + bytes(40) + raw[70:])
    (tmp / "cut.csv.gz").write_bytes(gzip.compress(b"1,-1\n" * 50)[:-12])
    (tmp / "latin.toml").write_bytes("name = 'caf\u00e9'\n".encode("latin-1"))
    (tmp / "folder.sweep.toml").mkdir()
    (tmp / "latin.sweep.toml").write_bytes("[grid]\nrule = ['h\u00e9bb']\n".encode("latin-1"))
    (tmp / "latin.csv").write_bytes("1,-1\n-1,1 \u00e9\n".encode("latin-1"))
    np.savez(tmp / "codes.npz", a=np.zeros((2, 64, 64)), b=np.zeros((2, 64, 64)))
    np.save(tmp / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    header = "# xbarmem fault map: arrays={} rows=64 cols=64 meta={{}}\n" \
             "array,plane,row,col,g_stuck_S\n"
    for name, arrays, row in [("neg", -1, ""), ("zero", 0, ""), ("absurd", 10**12, ""),
                              ("wrap", 1, "-1,G+,0,0,2e-6\n"), ("nan", 1, "0,G+,0,0,nan\n"),
                              ("above", 1, "0,G-,1,1,1.0\n")]:
        (tmp / f"{name}.csv").write_text(header.format(arrays) + row)
    g = np.full((1, 2, 64, 64), np.nan)
    g[0, 0, 0, 0] = 150.0  # 10^6 x g_max
    np.savez(tmp / "above.npz", g_stuck=g)
    m = str(model_path)
    out = str(tmp / "out.npz")
    return {
        "toml directory": (["chip", "show", tmp / "folder.toml"], ("folder.toml", "directory")),
        "train chip directory": (["train", "--data", "random", "--neurons", "16", "--patterns",
                                  "2", "--chip", tmp / "folder.toml", "--out",
                                  tmp / "m.safetensors"],
                                 ("folder.toml",)),
        "fault map directory": (["chip", "inspect", tmp / "folder.npz"], ("folder.npz",)),
        "measured directory": (["chip", "import", tmp / "folder.csv", "--out", out],
                               ("folder.csv", "directory")),
        "patterns fifo": (["recall", m, tmp / "pipe.npy"], ("pipe.npy", "regular file")),
        "patterns directory": (["train", "--data", tmp / "folder.csv", "--out",
                                tmp / "m.safetensors"],
                               ("folder.csv", "directory")),
        "corrupt gzip": (["recall", m, tmp / "corrupt.npy.gz"], ("corrupt.npy.gz", "gzip")),
        "truncated gzip": (["train", "--data", tmp / "cut.csv.gz", "--out", tmp / "m.safetensors"],
                           ("cut.csv.gz", "truncated")),
        "latin-1 toml": (["chip", "show", tmp / "latin.toml"], ("latin.toml", "UTF-8")),
        "latin-1 csv": (["recall", m, tmp / "latin.csv"], ("latin.csv", "UTF-8")),
        "sweep directory": (["sweep", tmp / "folder.sweep.toml", "--store", tmp / "s.sqlite"],
                            ("folder.sweep.toml", "directory")),
        "latin-1 sweep": (["sweep", tmp / "latin.sweep.toml", "--store", tmp / "s.sqlite"],
                          ("latin.sweep.toml", "UTF-8")),
        "missing key": (["chip", "import", tmp / "codes.npz", "--key", "c", "--out", out],
                        ("codes.npz", "'c'", "'a', 'b'")),
        "no key": (["chip", "import", tmp / "codes.npz", "--out", out], ("codes.npz", "--key")),
        "object array": (["chip", "import", tmp / "objects.npy", "--out", out],
                         ("objects.npy", "objects")),
        **{f"fault csv {name}": (["chip", "inspect", tmp / f"{name}.csv"], (f"{name}.csv", what))
           for name, what in [("neg", "arrays"), ("zero", "arrays"), ("absurd", "would need"),
                              ("wrap", "'array': -1 outside"), ("nan", "finite"),
                              ("above", "window")]},
        "fault npz above window": (["chip", "inspect", tmp / "above.npz"], ("above.npz", "window")),
        "train on above-window map": (["train", "--data", "random", "--neurons", "16",
                                       "--patterns", "2", "--rule", "hebb", "--fault-map",
                                       tmp / "above.npz", "--out", tmp / "m.safetensors"],
                                      ("window",)),
    }


def test_corpus_of_bad_files(run_cli, tmp_path, model):
    cases = _corpus(tmp_path, model[0])
    for name, (args, names) in cases.items():
        line = refused(run_cli, tmp_path, *args, names=names)
        assert "Traceback" not in line, name


@pytest.mark.parametrize(("key", "value", "names"), [
    ("n_neurons", "sixteen", ("n_neurons", "integer")),
    ("n_neurons", 16.5, ("n_neurons",)),
    ("w_max", float("nan"), ("w_max", "bare NaN read as null")),
    ("info", [1, 2], ("info", "table")),
    ("extra", "x", ("extra", "table")),
    ("first_array", -1, ("first_array",)),
    ("arch", "transformer", ("arch",)),
])
def test_model_metadata_examples(run_cli, tmp_path, model, cues, key, value, names):
    """The examples of the reliability issue, each named in its one-line error."""
    path, meta, tensors = model
    bad = write_model(tmp_path / "bad.safetensors", {**meta, key: value}, tensors)
    for args in model_commands(bad, tmp_path, cues):
        refused(run_cli, tmp_path, *args, names=("bad.safetensors", *names))


@pytest.mark.parametrize(("name", "change"), [
    ("g_pos", lambda g: g.astype(np.int64)),
    ("g_neg", lambda g: -g),
    ("g_pos", lambda g: g * 1e6),
])
def test_model_conductance_examples(run_cli, tmp_path, model, cues, name, change):
    path, meta, tensors = model
    bad = write_model(tmp_path / "bad.safetensors", meta, {**tensors, name: change(tensors[name])})
    refused(run_cli, tmp_path, "evaluate", bad, names=("bad.safetensors", name))


@pytest.mark.parametrize("value", [np.nan, 0.7, 2.0, -1.0])
def test_a_pinned_mask_other_than_zero_and_one_is_refused(run_cli, tmp_path, model, cues, value):
    """``fault_pinned`` is saved as 0/1; NaN was read as "not pinned", 0.7 as pinned."""
    path, meta, tensors = model
    pinned = np.zeros(tensors["fault_g_stuck"].shape, np.float32)
    pinned.flat[0] = value
    bad = write_model(tmp_path / "bad.safetensors", meta, {**tensors, "fault_pinned": pinned})
    refused(run_cli, tmp_path, "evaluate", bad, names=("bad.safetensors", "pinned"))


def test_model_metadata_is_strict_json(model):
    """A saved model's metadata never holds bare NaN/Infinity (classic rules' loss is NaN)."""
    path, meta, tensors = model
    with safe_open(str(path), framework="numpy") as handle:
        text = handle.metadata()["xbarmem"]
    json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in metadata"))
    assert meta["info"]["loss"] is None


def test_valid_files_still_load(run_cli, tmp_path, model, cues):
    """The reference files the fuzz cases start from are accepted (the refusals above are
    about the edits, not the base files)."""
    fmap = FaultMap.generate(load_chip("rram"), 1, seed=0)
    fmap.save(tmp_path / "ok.csv")
    assert clean(run_cli, tmp_path, "chip", "inspect", tmp_path / "ok.csv") == 0
    assert clean(run_cli, tmp_path, "evaluate", model[0], "--probes", "2") == 0
    assert clean(run_cli, tmp_path, "recall", model[0], cues) == 0
