"""Researchers' own files as their tools write them, beside the same data saved as .npy: a CSV
read with its header or index column must give the .npy's patterns, or be refused naming the
column, never an extra pattern or neuron stored without a word; a file of labels is named as
one."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file as load_tensors

import xbarmem as xm
from xbarmem.errors import PatternError

RNG = np.random.default_rng(7)
#: five patterns of 16 neurons of each kind of value a file holds, and how to read them
DATA = {
    "signs": (np.where(RNG.random((5, 16)) < 0.5, -1, 1), {}),
    "zero-one": (RNG.integers(0, 2, (5, 16)), {"zero_one": True}),
    "continuous": (np.round(RNG.uniform(-1, 1, (5, 16)), 4), {"kind": "continuous"}),
    "grey": (RNG.integers(0, 256, (5, 16)), {}),
    "grey-continuous": (RNG.integers(0, 256, (5, 16)), {"kind": "continuous"}),
}


def _line(values, sep: str = ",") -> str:
    return sep.join(str(v) for v in values)


def _table(data: np.ndarray, header: str | None, sep: str = ",", index: int | None = None
           ) -> str:
    """``data`` as CSV text: an optional ``header`` line, then one row per pattern, each
    after its row number counted from ``index`` when given."""
    rows = [_line(([i + index] if index is not None else []) + list(row), sep)
            for i, row in enumerate(data.tolist())]
    return "\n".join(([header] if header is not None else []) + rows) + "\n"


#: pandas' to_csv(index=False) of an unnamed table (columns 0..n-1), other tools' 1..n, the
#: same after a semicolon, and a header of names (read so before)
HEADERS = {
    "pandas": lambda n, sep: _line(range(n), sep),
    "one-based": lambda n, sep: _line(range(1, n + 1), sep),
    "names": lambda n, sep: _line((f"px{i}" for i in range(n)), sep),
}


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("header", sorted(HEADERS))
@pytest.mark.parametrize("data", sorted(DATA))
def test_a_csv_header_of_column_numbers_is_a_header(tmp_path, data, header, sep):
    """A header line of column numbers, as pandas writes an unnamed table's, was read as a
    pattern: binary or continuous values were refused for its 2 ("found 15 other values, e.g.
    0.0 ... continuous data: kind='continuous'"), and a table of grey levels 0..255 gained an
    extra image, the ramp 0..15, stored with the others without a word. It is a header now:
    the file gives the patterns of the same data saved as .npy."""
    values, options = DATA[data]
    np.save(tmp_path / "same.npy", values)
    (tmp_path / "table.csv").write_text(_table(values, HEADERS[header](16, sep), sep))
    expected = xm.load_file(tmp_path / "same.npy", **options).patterns
    np.testing.assert_array_equal(xm.load_file(tmp_path / "table.csv", **options).patterns,
                                  expected)


def test_a_short_line_of_0_and_1_is_still_a_pattern(tmp_path):
    """A first line ``0,1`` is a {0, 1} pattern of two neurons, not column numbers (a header
    of column numbers has 3 or more)."""
    (tmp_path / "two.csv").write_text("0,1\n1,0\n1,1\n")
    got = xm.load_file(tmp_path / "two.csv", zero_one=True).patterns
    np.testing.assert_array_equal(got, [[-1, 1], [1, -1], [1, 1]])


def test_grey_levels_with_a_numbered_header_train_the_npy_files_model(tmp_path, run_cli):
    """``train --data`` a pandas CSV of 8-bit images stored 6 patterns (the header as an
    image) where the .npy of the same images stored 5; the two give one model now."""
    values = DATA["grey"][0]
    np.save(tmp_path / "same.npy", values)
    (tmp_path / "table.csv").write_text(_table(values, HEADERS["pandas"](16, ",")))
    weights = []
    for name in ("same.npy", "table.csv"):
        out = tmp_path / f"{name}.safetensors"
        code, _, err = run_cli("train", "--data", tmp_path / name, "--rule", "pinv", "-o", out)
        assert code == 0, err
        weights.append(load_tensors(out))
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])


#: an index column as the tools write one: pandas' to_csv() (an empty first header field,
#: rows from 0), R's write.csv (quoted, rows from 1), and a table saved without a header
INDEXED = {
    "pandas": lambda v: _table(v, "," + _line(range(16)), index=0),
    "r": lambda v: '"",' + _line(f'"V{i + 1}"' for i in range(16)) + "\n" + "".join(
        f'"{i + 1}",' + _line(row) + "\n" for i, row in enumerate(v.tolist())),
    "no-header": lambda v: _table(v, None, index=0),
    "no-header-from-1": lambda v: _table(v, None, index=1),
}


@pytest.mark.parametrize("layout", sorted(INDEXED))
@pytest.mark.parametrize("data", ["grey", "grey-continuous"])
def test_a_column_of_row_numbers_beside_grey_levels_is_refused(tmp_path, run_cli, layout,
                                                                data):
    """A CSV's index column of row numbers is read as one neuron more: binary and continuous
    values were refused for it ("a column of labels or row numbers? remove it"), but beside
    8-bit grey levels it was a pixel of every image, 17 neurons of 16-pixel images, stored
    without a word. It is refused now, by Python and by every command, naming the column."""
    values, options = DATA[data]
    path = tmp_path / "indexed.csv"
    path.write_text(INDEXED[layout](values))
    words = r"column 0 of 17 holds the row numbers [01]\.\.[45], not grey levels: a column"
    with pytest.raises(PatternError, match=rf"indexed\.csv: {words}"):
        xm.load_file(path, **options)
    code, _, err = run_cli("train", "--data", path, "--rule", "pinv", "-o",
                           tmp_path / "m.safetensors")
    assert code == 2 and err.count("\n") == 1 and "column 0 of 17 holds the row" in err, err
    assert not (tmp_path / "m.safetensors").exists()


#: a 1-D array of labels as a researcher saves one: numpy's int64, uint8, floats from a table,
#: the only array of an .npz
LABELS = {
    "int64.npy": np.arange(10) % 10,
    "uint8.npy": np.arange(10, dtype=np.uint8),
    "float.npy": np.arange(10.0),
    "only.npz": np.arange(10),
}


def _save(path, values) -> None:
    if path.suffix == ".npz":
        np.savez(path, classes=values)
    else:
        np.save(path, values)


@pytest.mark.parametrize("name", sorted(LABELS))
def test_a_file_of_labels_is_named_as_labels(tmp_path, run_cli, small_model, name):
    """A file of labels given as patterns or cues was told to be reshaped to one pattern
    ("patterns must be 2-D (P, N), got a 1-D vector of shape (10,); reshape it to (1, 10)"),
    as a +-1 vector is; an IDX file of labels is named as one. Every reader names it now."""
    path = tmp_path / name
    _save(path, LABELS[name])
    words = r"holds a 1-D array of 10 whole numbers from 0 to 9, not a \(P, N\) array"
    with pytest.raises(PatternError, match=rf"{name}: {words}.* labels\? "):
        xm.load_file(path)
    with pytest.raises(PatternError, match=words):
        xm.data.readers.load_file_neurons(path, 16, cues=True)
    for args in (["train", "--data", path, "-o", tmp_path / "m.safetensors"],
                 ["recall", small_model, path]):
        code, _, err = run_cli(*args)
        assert code == 2 and "holds a 1-D array of 10 whole numbers" in err, err


def test_a_vector_of_signs_is_still_told_to_be_one_row(tmp_path):
    """A 1-D vector of +-1 values is one pattern saved flat: the refusal says how to save it
    as one row (unchanged)."""
    np.save(tmp_path / "one.npy", np.array([1, -1, 1, -1]))
    with pytest.raises(PatternError, match=r"1-D vector of shape \(4,\); reshape it to \(1, 4\)"):
        xm.load_file(tmp_path / "one.npy")


@pytest.mark.parametrize("make", [
    lambda r: r.standard_normal((10, 64)), lambda r: 3 * r.random((6, 37)) - 1.5,
    lambda r: np.concatenate([r.uniform(-1, 1, (5, 20)), [[-1.2] * 20]])], ids=["z", "wide", "row"])
def test_continuous_values_outside_the_unit_range_are_told_how_to_scale(tmp_path, make):
    """Standardised floats given as continuous patterns were refused with no word of what to
    do; the refusal now says how to scale them (and the scaled file trains)."""
    x = make(np.random.default_rng(0)).astype(np.float32)
    path = tmp_path / "z.npy"
    np.save(path, x)
    with pytest.raises(xm.PatternError, match=r"standardised data\? scale each pattern"):
        xm.load_file(path, kind="continuous")
    np.save(path, x / np.abs(x).max(axis=1, keepdims=True))
    assert xm.load_file(path, kind="continuous").patterns.shape == x.shape


@pytest.mark.parametrize("n", [37, 100])
def test_a_sweep_over_a_file_of_another_n_says_which_n_to_set(tmp_path, n):
    """A sweep's ``data = FILE`` without ``n_neurons`` takes the default N = 64 and refused
    the file's N without saying what to set; the refusal now names it."""
    from xbarmem.errors import ConfigError
    from xbarmem.experiments.resolve import resolve

    path = tmp_path / "p.npy"
    np.save(path, np.sign(np.random.default_rng(0).standard_normal((6, n))))
    with pytest.raises(ConfigError, match=rf"have N = {n}; set n_neurons = {n} "):
        resolve({"data": str(path), "patterns": 3, "selection": "first"}, "evaluate", 0)
    assert resolve({"data": str(path), "patterns": 3, "selection": "first", "n_neurons": n},
                   "evaluate", 0)["n_neurons"] == n
