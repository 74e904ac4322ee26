"""Tests for xbarmem.data.patterns: validation, built-in pattern sets and file loaders."""

from __future__ import annotations

import gzip
import re
import struct
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.data.builtin import load_digits, load_mnist, random_patterns
from xbarmem.data.patterns import PatternSet, check_cue_values, validate_patterns
from xbarmem.data.readers import load_file
from xbarmem.data.sources import load_patterns, patterns_for
from xbarmem.errors import FileFormatError, PatternError, XbarmemError, XbarmemWarning


def _bundled() -> tuple[np.ndarray, np.ndarray]:
    res = resources.files("xbarmem.data") / "datasets" / "mnist-10k.npz"
    with res.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        return z["images"], z["labels"]


def _write_idx(path: Path, arr: np.ndarray, code: int = 0x08, compress: bool = False) -> None:
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    raw = header + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


# --------------------------------------------------------------------------- validation


def test_errors_are_value_errors() -> None:
    for cls in (PatternError, FileFormatError):
        assert issubclass(cls, XbarmemError) and issubclass(cls, ValueError)


def test_validate_accepts_numpy_torch_lists_and_copies() -> None:
    src = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    for x in (src, torch.tensor(src), src.tolist()):
        out = validate_patterns(x)
        assert out.dtype == np.float32 and out.shape == (2, 3)
        np.testing.assert_array_equal(out, src)
    f32 = src.astype(np.float32)
    out = validate_patterns(f32)
    out[0, 0] = 5.0
    assert f32[0, 0] == 1.0  # result never aliases the input


@pytest.mark.parametrize(
    ("x", "kwargs", "words"),
    [
        (np.ones(64), {}, ["1-D", "(64,)", "reshape", "(1, 64)"]),
        (np.ones((2, 2, 2)), {}, ["2-D", "(2, 2, 2)"]),
        (np.ones((0, 5)), {}, ["empty"]),
        (np.ones((3, 0)), {}, ["empty"]),
        (np.array([[1.0, np.nan], [np.inf, 1.0]]), {}, ["2 NaN/inf", "(0, 1)"]),
        (np.array([["a", "b"]]), {}, ["non-numeric"]),
        (np.ones((2, 63)), {"n_neurons": 64}, ["N=63", "has 64"]),
        (np.array([[0.0, 1.0]]), {}, ["{0,1}", "pass zero_one=True", "--zero-one"]),
        (np.array([[0.5, 1.0]]), {}, ["-1 and +1", "0.5"]),
        (np.array([[-3.0, 0.5]]), {"kind": "continuous"}, ["[-1, 1]", "min=-3", "max=0.5"]),
        # values next to the limits are shown as they are, not rounded to them (":g" said 1)
        (np.array([[-1.0, 1.0000001]]), {"kind": "continuous"}, ["max=1.0000001"]),
        (np.array([[0.9999999, -1.0]]), {}, ["e.g. 0.9999999 at (0, 0)", "round them"]),
        (np.array([[0.5, 1.0]]), {}, ["--kind continuous"]),
        (np.ones((1, 2)), {"kind": "raw"}, ["kind", "raw"]),
    ],
)
def test_validate_errors_name_the_problem(x: np.ndarray, kwargs: dict, words: list[str]) -> None:
    with pytest.raises(PatternError) as info:
        validate_patterns(x, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    for word in words:
        assert word in msg


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 12)),
    seed=st.integers(0, 2**31),
    values=st.sampled_from(["unit", "zero_one", "outside"]),
    activation=st.sampled_from(["sign", "tanh"]),
)
def test_cue_values_are_refused_exactly_when_no_memory_can_mean_them(
        shape: tuple[int, int], seed: int, values: str, activation: str) -> None:
    """Cues in [-1, 1] are taken for both activations, except a {0,1} matrix for sign recall;
    any entry outside [-1, 1] is refused, counting those entries and naming the range seen."""
    rng = np.random.default_rng(seed)
    x = {"unit": lambda: rng.uniform(-1, 1, shape),
         "zero_one": lambda: rng.integers(0, 2, shape),
         "outside": lambda: rng.uniform(-1, 1, shape) * rng.choice([1, 300], shape)}[values]()
    x = x.astype(np.float32)
    outside = int((np.abs(x) > 1).sum())
    zero_one = bool(np.isin(x, (0, 1)).all() and (x == 0).any() and (x == 1).any())
    if outside:
        with pytest.raises(PatternError, match=rf"{outside} of {x.size} entries lie outside "
                                               rf"\(min=.*, max=.*\)$"):
            check_cue_values(x, activation)
    elif zero_one and activation == "sign":
        with pytest.raises(PatternError, match=r"\{0,1\} matrix.*2\*x - 1"):
            check_cue_values(x, activation)
    else:
        check_cue_values(x, activation)


def test_all_zero_cues_are_not_taken_for_zero_one_data() -> None:
    """An all-zero batch (every entry unknown) is no {0,1} image: sign recall takes it (it was
    refused with "map them with 2*x - 1", which would make it all -1)."""
    check_cue_values(np.zeros((2, 5), np.float32), "sign")
    with pytest.raises(PatternError, match="2\\*x - 1"):
        check_cue_values(np.array([[0, 1, 0, 0, 1]], np.float32), "sign")


def test_validate_zero_one_mapping() -> None:
    out = validate_patterns(np.array([[0, 1, 1], [1, 0, 0]]), zero_one=True)
    np.testing.assert_array_equal(out, [[-1, 1, 1], [1, -1, -1]])
    # already +-1 data passes through unchanged even with the flag
    np.testing.assert_array_equal(validate_patterns([[1, -1]], zero_one=True), [[1, -1]])


@pytest.mark.parametrize(("rows", "message"), [
    ([[0, 1, 0.5, 1]], "must contain only 0 and 1; found 1 other value, e.g. 0.5 at (0, 2); "
     "continuous data"),
    ([[0.0, 1.0, 0.0], [1.0, 0.9995, 0.0]], "must contain only 0 and 1; found 1 other value, "
     "e.g. 0.9995 at (1, 1); all are within 0.001 of 0 or 1: round them (np.round)"),
    ([[0.2, 0.0, 1.0]] * 3, "must contain only 0 and 1; found 3 other values, e.g. 0.2 at "
     "(0, 0); all in column 0 of 3"),
])
def test_zero_one_patterns_are_refused_for_their_values_outside_zero_and_one(rows, message):
    """Binary patterns read with zero_one hold 0 and 1: a refusal counts and shows the values
    that are neither (it said "must contain only -1 and +1" and showed a 0, which the flag
    reads, counting every 0 among the values in error)."""
    with pytest.raises(PatternError) as info:
        validate_patterns(np.array(rows, np.float32), zero_one=True)
    assert str(info.value).startswith("binary patterns read with zero_one=True (CLI: "
                                      "--zero-one) " + message)


def test_cues_of_a_binary_model_already_pm1_pass_the_zero_one_flag_as_its_patterns_do(
        run_cli, tmp_path) -> None:
    """``train --zero-one`` took a +-1 pattern file unchanged; ``recall --zero-one`` refused
    the same +-1 values as cues ("must lie in [0, 1]"). Cues of a continuous model keep the
    [0, 1] rule, as its patterns do."""
    from xbarmem.data.patterns import file_cue_values

    pm1 = np.array([[1, -1, 1, 1], [-1, -1, 1, -1]], np.float32)
    np.testing.assert_array_equal(file_cue_values(pm1, "binary", zero_one=True), pm1)
    np.testing.assert_array_equal(file_cue_values(np.array([[0, 1, 0.5, 1]]), "binary",
                                                  zero_one=True), [[-1, 1, 0, 1]])
    with pytest.raises(PatternError, match="0, 1"):
        file_cue_values(pm1, "continuous", zero_one=True)
    patterns, model = tmp_path / "p.npy", tmp_path / "m.safetensors"
    np.save(patterns, np.where(np.random.default_rng(0).random((3, 16)) > 0.5, 1.0, -1.0))
    code, _, err = run_cli("train", "--data", patterns, "--zero-one", "--rule", "hebb", "-o",
                           model)
    assert code == 0, err
    code, out, err = run_cli("recall", model, patterns, "--zero-one", "--json")
    assert code == 0, err


@settings(max_examples=30, deadline=None)
@given(
    p=st.integers(1, 6),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**31),
)
def test_validate_roundtrips_random_valid_sets(p: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    binary = rng.choice([-1.0, 1.0], size=(p, n))
    np.testing.assert_array_equal(validate_patterns(binary, n_neurons=n), binary)
    cont = rng.uniform(-1, 1, size=(p, n))
    np.testing.assert_allclose(validate_patterns(cont, "continuous"), cont, rtol=1e-6)


# --------------------------------------------------------------------------- PatternSet


def test_patternset_validates_and_subsets() -> None:
    pats = np.array([[1, -1, 1, -1], [1, 1, 1, 1], [-1, -1, 1, 1]])
    ps = PatternSet(pats, "binary", "toy", labels=np.array([3, 1, 2]), image_shape=(2, 2))
    assert ps.patterns.dtype == np.float32 and ps.labels is not None
    assert ps.labels.dtype == np.int64
    assert (ps.n_patterns, ps.n_neurons) == (3, 4)
    sub = ps.subset([2, 0])
    np.testing.assert_array_equal(sub.patterns, pats[[2, 0]])
    np.testing.assert_array_equal(sub.labels, [2, 3])
    assert sub.image_shape == (2, 2) and sub.kind == "binary"
    assert ps.subset(1).n_patterns == 1
    assert ps.subset(np.array([True, False, True])).n_patterns == 2
    with pytest.raises(PatternError, match="^bad subset indices for 3 patterns: index 5 "):
        ps.subset([5])
    with pytest.raises(AttributeError):
        ps.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patterns": np.array([[0.5, 1.0]])},
         "binary patterns must contain only -1 and +1; found 1 other value, e.g. 0.5 at"),
        ({"patterns": np.ones((2, 4)), "labels": np.array([1, 2, 3])},
         "labels must be integers of shape (2,), got int64 (3,)"),
        ({"patterns": np.ones((2, 4)), "image_shape": (3, 3)},
         "image_shape (3, 3) does not match N=4 neurons"),
        ({"patterns": np.ones((2, 4)), "kind": "raw"},
         "unknown pattern kind 'raw': expected one of binary, continuous"),
    ],
)
def test_patternset_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(PatternError) as info:
        PatternSet(**kwargs)
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------- built-in sets


def test_mnist_one_per_class_is_first_of_each_digit_in_order() -> None:
    images, labels = _bundled()
    ps = load_mnist(one_per_class=True)
    assert ps.name == "mnist8-binary" and ps.image_shape == (8, 8)
    assert ps.patterns.shape == (10, 64)
    np.testing.assert_array_equal(ps.labels, np.arange(10))
    # the pattern for digit d comes from the first image of class d in file order
    first7 = int(np.flatnonzero(labels == 7)[0])
    ref = load_mnist(n_patterns=first7 + 1)
    np.testing.assert_array_equal(ps.patterns[7], ref.patterns[first7])
    sub = load_mnist(one_per_class=True, digits=[5, 1])
    np.testing.assert_array_equal(sub.labels, [1, 5])


def test_mnist_binarisation_is_box_average_thresholded_at_image_mean() -> None:
    images, _ = _bundled()
    ps = load_mnist(side=7, n_patterns=20)  # 28 / 7 = 4: area averaging is an exact 4x4 box mean
    assert set(np.unique(ps.patterns)) == {-1.0, 1.0}
    small = images[:20].astype(np.float64).reshape(20, 7, 4, 7, 4).mean(axis=(2, 4))
    flat = small.reshape(20, -1)
    expected = np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0)
    np.testing.assert_array_equal(ps.patterns, expected)
    # the +1 pixels are brighter on average than the image mean, the -1 pixels darker
    for img, pat in zip(flat, ps.patterns, strict=True):
        assert img[pat > 0].mean() > img.mean() > img[pat < 0].mean()


def test_mnist_continuous_scaling_and_filters() -> None:
    images, labels = _bundled()
    full = load_mnist(side=28, kind="continuous", n_patterns=3)
    np.testing.assert_allclose(full.patterns, images[:3].reshape(3, -1) / 255 * 2 - 1, atol=1e-6)
    small = load_mnist(side=8, kind="continuous", n_patterns=50)
    assert small.patterns.min() >= -1.0 and small.patterns.max() <= 1.0
    assert small.name == "mnist8-continuous"
    twos = load_mnist(digits=[2, 3], n_patterns=30)
    assert set(twos.labels.tolist()) <= {2, 3} and twos.n_patterns == 30
    np.testing.assert_array_equal(twos.labels, labels[np.isin(labels, [2, 3])][:30])


def test_mnist_shuffle_is_seeded() -> None:
    a = load_mnist(n_patterns=15, shuffle=True, seed=3)
    b = load_mnist(n_patterns=15, shuffle=True, seed=3)
    c = load_mnist(n_patterns=15, shuffle=True, seed=4)
    np.testing.assert_array_equal(a.patterns, b.patterns)
    assert not np.array_equal(a.labels, c.labels) or not np.array_equal(a.patterns, c.patterns)


def test_mnist_resizing_is_the_window_means_the_guide_states() -> None:
    """"Area-resized" whole-image MNIST at 8x8 is not exact area averaging (28 / 8 = 3.5): a
    numpy box resize with fractional pixel weights gives 19 of the one-per-class digits' 640
    pixels other signs. The guide and ``resize_area`` state the windows torch's adaptive
    pooling averages; numpy with those windows gives the patterns exactly."""
    from xbarmem.data.patterns import resize_area

    images, labels = _bundled()
    first = [int(np.nonzero(labels == d)[0][0]) for d in range(10)]
    for side in (8, 20, 7):
        rows = [np.arange(i * 28 // side, -(-(i + 1) * 28 // side)) for i in range(side)]
        box = np.array([[images[k][np.ix_(r, c)].astype(np.float64).mean() for r in rows
                         for c in rows] for k in first])
        ps = load_mnist(side=side, one_per_class=True, kind="continuous")
        np.testing.assert_allclose(ps.patterns, box / 255 * 2 - 1, atol=1e-5)
    guide = " ".join((Path(__file__).parents[1] / "docs" / "guide.md").read_text().split())
    assert "`floor(28 i / s)` to `ceil(28 (i + 1) / s) - 1`" in guide
    assert "floor(i h / side)" in " ".join((resize_area.__doc__ or "").split())


def test_mnist_centre_crop_is_the_authors_preprocessing() -> None:
    """crop=24 keeps the centred 24x24 window before downsampling (8x8: exact 3x3 box means),
    as the authors' scripts do; ``load_patterns("mnist-crop24")`` names it."""
    images, _ = _bundled()
    ps = load_mnist(side=8, n_patterns=12, crop=24)
    small = images[:12, 2:26, 2:26].astype(np.float64).reshape(12, 8, 3, 8, 3).mean(axis=(2, 4))
    flat = small.reshape(12, -1)
    np.testing.assert_array_equal(ps.patterns,
                                  np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0))
    assert ps.name == "mnist8c24-binary"
    whole = load_mnist(side=8, n_patterns=12)
    assert not np.array_equal(ps.patterns, whole.patterns)
    np.testing.assert_array_equal(load_mnist(side=8, n_patterns=12, crop=28).patterns,
                                  whole.patterns)
    named = load_patterns("mnist-crop24", side=8, one_per_class=True)
    np.testing.assert_array_equal(named.patterns,
                                  load_mnist(side=8, one_per_class=True, crop=24).patterns)
    # cropping enlarges the digit: the one-per-class digits are less alike
    def mean_overlap(p):
        g = np.abs(p @ p.T) / p.shape[1]
        return g[~np.eye(len(p), dtype=bool)].mean()
    assert mean_overlap(named.patterns) < mean_overlap(load_mnist(one_per_class=True).patterns)
    with pytest.raises(PatternError, match="crop"):
        load_mnist(side=12, crop=10)
    with pytest.raises(PatternError, match="crop"):
        load_mnist(side=8, crop=30)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"side": 3}, "side"),
        ({"side": 29}, "side"),
        ({"kind": "raw"}, "raw"),
        ({"n_patterns": 0}, "n_patterns must"),
        ({"n_patterns": 20000}, "only 10000"),
        ({"digits": [42], "one_per_class": True}, "class 42"),
    ],
)
def test_mnist_bad_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(PatternError, match=word):
        load_mnist(**kwargs)


def test_sklearn_digits() -> None:
    from sklearn.datasets import load_digits as sk_digits

    ref = sk_digits()
    ps = load_digits(one_per_class=True)
    np.testing.assert_array_equal(ps.labels, np.arange(10))
    assert ps.patterns.shape == (10, 64) and set(np.unique(ps.patterns)) == {-1.0, 1.0}
    cont = load_digits(kind="continuous", n_patterns=4)
    np.testing.assert_allclose(cont.patterns, ref.data[:4] / 16 * 2 - 1, atol=1e-6)
    assert load_digits(digits=[0], n_patterns=5).labels.tolist() == [0] * 5


def test_random_patterns() -> None:
    a = random_patterns(50, 100, seed=1)
    assert a.patterns.shape == (50, 100) and set(np.unique(a.patterns)) == {-1.0, 1.0}
    assert abs(a.patterns.mean()) < 0.05
    np.testing.assert_array_equal(a.patterns, random_patterns(50, 100, seed=1).patterns)
    assert not np.array_equal(a.patterns, random_patterns(50, 100, seed=2).patterns)
    c = random_patterns(10, 30, kind="continuous", seed=0)
    assert c.kind == "continuous" and c.patterns.min() >= -1 and c.patterns.max() <= 1
    assert len(np.unique(c.patterns)) > 250
    with pytest.raises(PatternError, match="^n_patterns must be a positive integer, got 0$"):
        random_patterns(0, 10)


# --------------------------------------------------------------------------- files


def test_npy_loading(tmp_path: Path) -> None:
    pats = np.array([[1, -1, 1, 1], [-1, -1, 1, -1]], dtype=np.float64)
    np.save(tmp_path / "p.npy", pats)
    ps = load_file(tmp_path / "p.npy")
    np.testing.assert_array_equal(ps.patterns, pats)
    assert ps.name == "p.npy" and ps.image_shape is None

    np.save(tmp_path / "z.npy", (pats > 0).astype(np.uint8))
    with pytest.raises(PatternError, match="zero-one"):
        load_file(tmp_path / "z.npy")
    np.testing.assert_array_equal(load_file(tmp_path / "z.npy", zero_one=True).patterns, pats)

    np.save(tmp_path / "stack.npy", pats.reshape(2, 2, 2))
    stack = load_file(tmp_path / "stack.npy")
    assert stack.image_shape == (2, 2)
    np.testing.assert_array_equal(stack.patterns, pats)


def test_npz_loading(tmp_path: Path) -> None:
    pats = np.array([[1, -1], [-1, 1], [1, 1]], dtype=np.float32)
    np.savez(tmp_path / "one.npz", whatever=pats)
    np.testing.assert_array_equal(load_file(tmp_path / "one.npz").patterns, pats)

    np.savez(tmp_path / "named.npz", patterns=pats, labels=np.array([4, 5, 6]), extra=np.ones(2))
    named = load_file(tmp_path / "named.npz")
    np.testing.assert_array_equal(named.labels, [4, 5, 6])
    np.testing.assert_array_equal(load_file(tmp_path / "named.npz", key="patterns").patterns, pats)

    np.savez(tmp_path / "two.npz", a=pats, b=pats)
    with pytest.raises(FileFormatError, match=r"key=.*'a', 'b'"):
        load_file(tmp_path / "two.npz")
    np.testing.assert_array_equal(load_file(tmp_path / "two.npz", key="b").patterns, pats)
    with pytest.raises(FileFormatError, match="'a', 'b'"):
        load_file(tmp_path / "two.npz", key="c")

    imgs = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "imgs.npz", images=imgs, labels=np.arange(4))
    ps = load_file(tmp_path / "imgs.npz", side=14)
    assert ps.image_shape == (14, 14) and ps.n_neurons == 196
    assert set(np.unique(ps.patterns)) == {-1.0, 1.0}


def test_csv_loading(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b,c\n1,-1,1\n-1,1,1\n")
    np.testing.assert_array_equal(load_file(tmp_path / "h.csv").patterns, [[1, -1, 1], [-1, 1, 1]])
    (tmp_path / "c.csv").write_text("0.5,-0.25\n")
    cont = load_file(tmp_path / "c.csv", kind="continuous")
    np.testing.assert_allclose(cont.patterns, [[0.5, -0.25]])
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    with pytest.raises(FileFormatError, match=r"bad.csv: corrupt CSV file \(line 2: 'x' is not"):
        load_file(tmp_path / "bad.csv")
    (tmp_path / "semi.csv").write_text("1;-1;1\n-1;1;1\n")
    np.testing.assert_array_equal(load_file(tmp_path / "semi.csv").patterns,
                                  [[1, -1, 1], [-1, 1, 1]])
    (tmp_path / "tabs.csv").write_text("1\t-1\n-1\t1\n")
    assert load_file(tmp_path / "tabs.csv").patterns.shape == (2, 2)
    # a delimiter closing every line, header included (as some spreadsheets save): no empty
    # last column (it was refused: "line 1: '' is not a number")
    for name, text in (("t.csv", "1,-1,1,\n-1,1,1,\n"), ("th.csv", "a,b,c,\n1,-1,1,\n-1,1,1,\n"),
                       ("ts.csv", "1;-1;1; \n-1;1;1;\n")):
        (tmp_path / name).write_text(text)
        np.testing.assert_array_equal(load_file(tmp_path / name).patterns,
                                      [[1, -1, 1], [-1, 1, 1]])


@pytest.mark.parametrize(("text", "problem"), [
    ("1,2,3\n4,5\n", "line 2 has 2 values, line 1 has 3"),
    # the header and the blank line count: the numbers are the file's own lines
    ("a,b,c\n1,-1,1\n\n-1,1\n", "line 4 has 2 values, line 2 has 3"),
    ("1 -1\n-1 1 1\n", "line 2 has 3 values, line 1 has 2"),
    ("x,y\n1,-1\n1,nope\n", "line 3: 'nope' is not a number"),
    # a first data line with a bad value is no header (it was dropped as one, silently)
    ("1,-1,x\n1,1,-1\n", "line 1: 'x' is not a number"),
    ("0x1;-1\n1;1\n", "line 1: '0x1' is not a number"),
    ("\n1 -1 1 -l\n1 1 1 1\n", "line 2: '-l' is not a number"),
    # an empty value is named as one (it read "'' is not a number")
    ("1,-1,1\n1,,1\n", "line 2: value 2 of 3 is empty"),
    ("1,-1,1,\n1,-1,1,\n1,1,1\n", "line 1: value 4 of 4 is empty"),
])
def test_csv_errors_name_the_file_line(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(FileFormatError) as err:
        load_file(tmp_path / "p.csv")
    assert str(err.value) == f"{tmp_path / 'p.csv'}: corrupt CSV file ({problem}" + (
        "; every row must be one pattern of the same length)" if "values" in problem else ")")
    assert "usecols" not in str(err.value)  # numpy's advice names an argument users cannot set


@pytest.mark.parametrize(("kind", "problem"), [
    ("binary", "found 4 other values, e.g. 0.0 at (0, 0); all in column 0 of 4: a column of "
               "labels or row numbers? remove it"),
    ("continuous", "3 of 24 entries lie outside (min=-1.0, max=3.0); all in column 0 of 4: a "
                   "column of labels or row numbers? remove it"),
])
def test_a_column_of_labels_is_named_as_one(tmp_path: Path, kind: str, problem: str) -> None:
    """A CSV of patterns with their labels in the first column: the values that are no
    pattern values all lie in that column, which the message says (it advised --kind
    continuous for binary patterns); values spread over columns keep the usual advice."""
    rows = np.where(np.random.default_rng(0).random((6, 3)) < 0.5, -1, 1)
    labelled = np.column_stack([[0, 1, 2, 3, 1, 2], rows])
    np.savetxt(tmp_path / "l.csv", labelled, fmt="%d", delimiter=",")
    with pytest.raises(PatternError, match=re.escape(problem) + "$"):
        load_file(tmp_path / "l.csv", kind=kind)
    spread = labelled.copy()
    spread[1, 0], spread[2, 2] = 1, 2  # (two columns)
    with pytest.raises(PatternError) as err:
        validate_patterns(spread, kind)
    assert "column" not in str(err.value)


@pytest.mark.parametrize(("kind", "hint"), [
    ("binary", "8-bit image values (0..255)? binarise each image at its mean, as load_file "
               "does: np.where(x > x.mean(axis=1, keepdims=True), 1, -1)"),
    ("continuous", "8-bit image values (0..255)? scale them: x / 255 * 2 - 1"),
])
def test_image_bytes_given_as_patterns_are_named_as_such(kind: str, hint: str) -> None:
    """Image values (0..255) handed to ``PatternSet`` as floats were advised
    ``kind='continuous'``, which refuses them too. (As integers they are 8-bit grey levels,
    read as a file's images: tests/test_loose_ends.py.)"""
    images = np.random.default_rng(0).integers(0, 256, (3, 16)).astype(np.float32)
    with pytest.raises(PatternError, match=re.escape(hint) + "$"):
        PatternSet(images, kind)
    other = _refusal(images.astype(np.float32) / 100, "binary")  # (not bytes: as before)
    assert other.endswith("continuous data: kind='continuous' (CLI: --kind continuous)")


@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_digit_images_of_scikit_learn_are_named_with_their_own_scale(kind: str) -> None:
    """scikit-learn's 8x8 digits (whole numbers 0..16) handed to ``PatternSet`` were advised
    to be divided by 255 (continuous) or called 8-bit images: the hint names their scale."""
    from sklearn.datasets import load_digits

    digits = load_digits().data[:4].astype(np.float32)
    said = _refusal(digits, kind)
    assert "scikit-learn's 8x8 digit images (0..16)?" in said and "255" not in said
    if kind == "continuous":
        assert said.endswith("scale them: x / 16 * 2 - 1")


def _refusal(x: np.ndarray, kind: str) -> str:
    with pytest.raises(PatternError) as err:
        PatternSet(x, kind)
    return str(err.value)


def test_idx_round_trip(tmp_path: Path) -> None:
    imgs = np.zeros((3, 28, 28), dtype=np.uint8)
    imgs[0, 4:20, 10:14] = 255  # a bar
    imgs[1, 10:14, 2:26] = 200
    imgs[2] = np.arange(28, dtype=np.uint8)[None, :] * 9
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", imgs)
    full = load_file(tmp_path / "t10k-images-idx3-ubyte")
    assert full.image_shape == (28, 28) and full.n_patterns == 3
    flat = imgs.reshape(3, -1).astype(np.float64)
    expected = np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0)
    np.testing.assert_array_equal(full.patterns, expected)

    cont = load_file(tmp_path / "t10k-images-idx3-ubyte", kind="continuous")
    np.testing.assert_allclose(cont.patterns, flat / 255 * 2 - 1, atol=1e-6)

    # gzip'd, and with a foreign extension detected by its magic number
    _write_idx(tmp_path / "imgs-idx3-ubyte.gz", imgs, compress=True)
    np.testing.assert_array_equal(load_file(tmp_path / "imgs-idx3-ubyte.gz").patterns, expected)
    _write_idx(tmp_path / "images.bin", imgs)
    small = load_file(tmp_path / "images.bin", side=7)
    assert small.image_shape == (7, 7) and small.n_neurons == 49

    # big-endian float data in an .idx file is treated as generic numeric patterns
    pm1 = np.array([[1, -1, -1], [1, 1, -1]], dtype=">f4")
    _write_idx(tmp_path / "pm1.idx", pm1, code=0x0D)
    np.testing.assert_array_equal(load_file(tmp_path / "pm1.idx").patterns, pm1)


@pytest.mark.parametrize("name", ["ones.idx", "ones-idx3-ubyte", "ones-idx3-ubyte.gz"])
@pytest.mark.parametrize("reader", ["load_file", "train", "recall cues"])
def test_an_idx_file_of_zeros_and_ones_read_with_zero_one_is_zero_one_patterns(
        tmp_path, run_cli, name, reader):
    """An IDX file of uint8 0s and 1s read with zero_one was refused as "holds 8-bit images
    (values 0..255) ... drop zero_one=True", though an .npy of the same values is read so;
    it is read as 0/1 patterns now, an all-1 row all +1 (read as images, a dark image, it
    is all -1)."""
    bits = np.zeros((3, 4, 4), np.uint8)
    bits[0] = 1
    bits[1, :2] = 1
    bits[2, :, ::2] = 1
    path = tmp_path / name
    _write_idx(path, bits, compress=name.endswith(".gz"))
    expected = np.where(bits.reshape(3, -1) > 0, 1.0, -1.0)
    np.save(tmp_path / "same.npy", bits)
    if reader == "load_file":
        np.testing.assert_array_equal(load_file(path, zero_one=True).patterns, expected)
        np.testing.assert_array_equal(load_file(tmp_path / "same.npy", zero_one=True).patterns,
                                      expected)
        return
    model = tmp_path / "m.safetensors"
    source = path if reader == "train" else tmp_path / "same.npy"
    code, _, err = run_cli("train", "--data", source, "--zero-one", "--rule", "hebb", "-o",
                           model)
    assert code == 0, err
    if reader == "recall cues":
        states = tmp_path / "states.npy"
        code, _, err = run_cli("recall", model, path, "--zero-one", "-o", states)
        assert code == 0 and states.exists(), err


def test_idx_errors(tmp_path: Path) -> None:
    imgs = np.ones((2, 5, 5), dtype=np.uint8)
    _write_idx(tmp_path / "cut-idx3-ubyte", imgs)
    raw = (tmp_path / "cut-idx3-ubyte").read_bytes()
    (tmp_path / "cut-idx3-ubyte").write_bytes(raw[:-3])
    with pytest.raises(FileFormatError, match="cut-idx3-ubyte.*corrupt"):
        load_file(tmp_path / "cut-idx3-ubyte")
    _write_idx(tmp_path / "labels-idx1-ubyte", np.arange(5, dtype=np.uint8))
    with pytest.raises(FileFormatError, match="labels"):
        load_file(tmp_path / "labels-idx1-ubyte")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        load_file(tmp_path / "missing.npy")
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(FileFormatError, match=r"unknown file type.*\.npy.*\.npz.*\.csv"):
        load_file(tmp_path / "x.txt")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(FileFormatError, match="broken.npy"):
        load_file(tmp_path / "broken.npy")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileFormatError, match="broken.npz"):
        load_file(tmp_path / "broken.npz")
    (tmp_path / "notgz.npy.gz").write_bytes(b"plain bytes")
    with pytest.raises(FileFormatError, match="notgz"):
        load_file(tmp_path / "notgz.npy.gz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="obj.npy"):
        load_file(tmp_path / "obj.npy")


# --------------------------------------------------------------------------- load_patterns


def test_load_patterns_builtin_names(tmp_path: Path) -> None:
    mn = load_patterns("mnist", one_per_class=True)
    np.testing.assert_array_equal(mn.labels, np.arange(10))
    assert load_patterns("MNIST", side=12, n_patterns=5).patterns.shape == (5, 144)
    assert load_patterns("digits", n_patterns=7).patterns.shape == (7, 64)
    rnd = load_patterns("random", side=5, n_patterns=9, seed=2)
    assert rnd.patterns.shape == (9, 25)
    np.testing.assert_array_equal(rnd.patterns, random_patterns(9, 25, seed=2).patterns)

    np.save(tmp_path / "p.npy", random_patterns(6, 10, seed=0).patterns)
    from_file = load_patterns(str(tmp_path / "p.npy"), n_patterns=4)
    assert from_file.patterns.shape == (4, 10)


@pytest.mark.parametrize(
    ("args", "kwargs", "words"),
    [
        (("nosuchthing",), {}, ["nosuchthing", "mnist", "digits", "random"]),
        (("digits",), {"side": 12}, ["8x8", "side=12"]),
        (("random",), {}, ["needs n"]),
        (("mnist",), {"kind": "raw"}, ["raw"]),
    ],
)
def test_load_patterns_errors(args: tuple, kwargs: dict, words: list[str]) -> None:
    with pytest.raises(PatternError) as info:
        load_patterns(*args, **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(("source", "side"), [("random", 30), ("random", 2), ("random", 3),
                                             ("correlated-0.3", 40)])
def test_generated_sources_take_any_side(source, side):
    """``load_patterns("random", side=30)`` was refused with MNIST's "side must be an integer
    in 4..28", though random patterns have no image to resize (``train --data random
    --neurons 900`` stores them)."""
    pset = load_patterns(source, side=side, n_patterns=3, seed=1)
    assert pset.patterns.shape == (3, side * side)


@pytest.mark.parametrize("side", [None, 1, 0, 2.0, True])
def test_generated_sources_refuse_a_side_that_gives_no_memory(side):
    with pytest.raises(PatternError, match="side must be an integer >= 2 for 'random'"):
        load_patterns("random", side=side, n_patterns=3)


def test_an_unknown_source_lists_correlated_patterns_too():
    with pytest.raises(PatternError, match="random, correlated-R\\) and no such file"):
        load_patterns("correlatd-0.3", n_patterns=3)


def test_correlated_patterns_have_the_asked_mean_overlap():
    from xbarmem.data.builtin import correlated_overlap, correlated_patterns
    from xbarmem.data.sources import load_patterns

    for overlap in (0.0, 0.3, 0.7):
        x = correlated_patterns(40, 2000, overlap, seed=3).patterns
        gram = x @ x.T / x.shape[1]
        mean = gram[~np.eye(40, dtype=bool)].mean()
        assert abs(mean - overlap) < 0.02, (overlap, mean)
        assert set(np.unique(x)) <= {-1.0, 1.0}
    a, b = (correlated_patterns(5, 16, 0.4, seed=s).patterns for s in (1, 1))
    assert np.array_equal(a, b)
    assert correlated_overlap("correlated-0.25") == 0.25 and correlated_overlap("mnist") is None
    assert load_patterns("correlated-0.5", side=4, n_patterns=3).patterns.shape == (3, 16)
    for bad in ("correlated-1", "correlated-x", "correlated-1.2", "correlated-"):
        with pytest.raises(PatternError, match="correlated-R"):
            correlated_overlap(bad)
    with pytest.raises(PatternError, match="overlap"):
        correlated_patterns(3, 8, 1.0)


@pytest.mark.parametrize("overlap", [np.float32(0.3), np.int64(0), np.float64(0.6)])
def test_a_numpy_overlap_draws_as_its_python_number(overlap):
    """A numpy number inside [0, 1) (an overlap read from an array, a grid of R) was refused
    with "overlap must be in [0, 1), got np.float32(0.3)"; it draws as float(overlap) does,
    named by the source that gives it again (a float32 one as the decimal written, 0.3, as
    ``checks.as_written`` reads it), and bools and texts are refused as no number."""
    from xbarmem.checks import as_written
    from xbarmem.data.builtin import correlated_overlap, correlated_patterns

    pset = correlated_patterns(4, 16, overlap, seed=2)
    same = correlated_patterns(4, 16, float(as_written(overlap)), seed=2)
    assert np.array_equal(pset.patterns, same.patterns)
    assert correlated_overlap(pset.name) == float(as_written(overlap))
    for bad in (True, "0.3"):
        with pytest.raises(PatternError, match="overlap must be a number in"):
            correlated_patterns(3, 8, bad)


@pytest.mark.parametrize("overlap", [0.0, 0.3, 0.123456789, 0.9999999, 1 - 2 ** -40])
def test_a_correlated_set_is_named_by_the_source_that_gives_it_again(overlap):
    """The name of ``correlated_patterns(..., R)`` rounded R to 6 digits: R = 0.9999999 was
    named ``correlated-1`` (a source refused: R must be below 1), R = 0.123456789
    ``correlated-0.123457`` (other patterns); the name is read back as R itself."""
    from xbarmem.data.builtin import correlated_overlap, correlated_patterns

    pset = correlated_patterns(4, 16, overlap, seed=2)
    assert correlated_overlap(pset.name) == overlap
    assert (load_patterns(pset.name, side=4, n_patterns=4, seed=2).patterns == pset.patterns).all()


@pytest.mark.parametrize(("source", "n", "problem"), [
    ("mnist", 50, "perfect square; got N = 50"),
    ("mnist", 9, "side 4..28, so N must be 16 ... 784; got N = 9 (side 3)"),
    ("mnist-crop24", 625, "side 4..24, so N must be 16 ... 576; got N = 625 (side 25)"),
    ("digits", 144, "8x8 images, so N must be 64; got N = 144"),
    ("glyphs", 1024, "side 4..28"),
])
def test_patterns_for_refuses_sizes_images_cannot_take(source, n, problem):
    with pytest.raises(PatternError, match=re.escape(problem)):
        patterns_for(source, n, n_patterns=2)


def test_patterns_for_is_load_patterns_by_neurons(tmp_path: Path) -> None:
    """Image sets and drawn sources give what ``load_patterns`` gives at side sqrt(N); drawn
    sources take any N >= 2; a file has its own N, checked only when N is given."""
    for source in ("mnist", "mnist-crop24", "glyphs"):
        for kwargs in ({"n_patterns": 5}, {"one_per_class": True}):
            got, want = (patterns_for(source, 144, **kwargs),
                         load_patterns(source, side=12, **kwargs))
            np.testing.assert_array_equal(got.patterns, want.patterns)
    np.testing.assert_array_equal(patterns_for("random", 50, n_patterns=3, seed=4).patterns,
                                  random_patterns(3, 50, seed=4).patterns)
    assert patterns_for("correlated-0.4", 30, n_patterns=6).patterns.shape == (6, 30)
    with pytest.raises(PatternError, match="at least 2 neurons"):
        patterns_for("random", 1, n_patterns=3)
    with pytest.raises(PatternError, match="needs n"):
        patterns_for("random", 16)
    with pytest.raises(PatternError, match="binary patterns only"):
        patterns_for("correlated-0.4", 16, n_patterns=3, kind="continuous")
    data = np.where(np.random.default_rng(0).random((6, 50)) < 0.5, -1.0, 1.0)
    np.save(tmp_path / "p.npy", data)
    for n_neurons in (None, 50):
        np.testing.assert_array_equal(
            patterns_for(tmp_path / "p.npy", n_neurons, n_patterns=4).patterns, data[:4])
    with pytest.raises(PatternError, match="N = 50 neurons, not 64"):
        patterns_for(tmp_path / "p.npy", 64)
    with pytest.raises(PatternError, match="no labels to pick one pattern per class"):
        patterns_for(tmp_path / "p.npy", 50, one_per_class=True)
    images = np.random.default_rng(1).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "i.npz", images=images, labels=np.arange(8) % 4)
    picked = patterns_for(tmp_path / "i.npz", 196, one_per_class=True)
    assert picked.n_neurons == 196 and picked.labels.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(("images", "n", "problem"), [
    ((3, 8, 8), 100, "side 4..8 (its images are 8x8), so N must be 16 ... 64; got N = 100"),
    ((3, 64), 144, "side 4..8 (its images are 8x8), so N must be 16 ... 64; got N = 144"),
    ((3, 28, 28), 50, "so N must be a perfect square; got N = 50"),
    ((3, 28, 28), 9, "side 4..28 (its images are 28x28), so N must be 16 ... 784; got N = 9"),
    ((3, 28, 28), 1600, "so N must be 16 ... 784; got N = 1600 (side 40)"),
])
def test_a_files_images_take_the_sizes_of_every_command(tmp_path: Path, images, n, problem):
    """A file's 8-bit images are resized to N by one rule wherever N is asked for (train,
    capacity, energy, a sweep's trials: ``patterns_for``; scaling: ``image_side``): N a
    perfect square of a side from 4 to the images' own, never enlarged. ``train --neurons
    100`` enlarged 8x8 images to 10x10 (which scaling refused), and a side out of range read
    ``its patterns have N = 784 neurons, not 9`` or ``side must be an integer in 4..28``."""
    from xbarmem.data.readers import read_image_stack
    from xbarmem.data.sources import image_side

    path = tmp_path / "img.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, images, dtype=np.uint8))
    for refuse in (lambda: patterns_for(path, n), lambda: patterns_for(path, n, n_patterns=2),
                   lambda: image_side(read_image_stack(path), n)):
        with pytest.raises(PatternError, match=r"^img\.npy images are resized to side "
                           r"sqrt\(N\), .*" + re.escape(problem)):
            refuse()
    side = int(np.sqrt(images[-1] if len(images) == 2 else images[-1] ** 2))
    assert patterns_for(path, 16).image_shape == (4, 4)
    assert patterns_for(path, side * side).image_shape == (side, side)


def test_one_per_class_of_a_file_without_labels_names_the_file(tmp_path: Path) -> None:
    """``load_patterns(file, one_per_class=True)`` of a file without labels said ``digits /
    one_per_class need labelled patterns``, naming a class filter the user never gave;
    it now says what ``patterns_for`` (and the command line) says."""
    np.save(tmp_path / "p.npy", np.ones((3, 16), dtype=np.int8))
    for load in (load_patterns, lambda f, **kw: patterns_for(f, None, **kw)):
        with pytest.raises(PatternError, match=r"^\S*p\.npy: no labels to pick one pattern per "
                           r"class \(an \.npz file's 'labels' array of one whole number per "
                           r"pattern; this file has no such array\)"):
            load(tmp_path / "p.npy", one_per_class=True)


@pytest.mark.parametrize("labels", [np.array([0.5, 1, 2, 0]), np.array([0, 1])],
                         ids=["fractional", "too-few"])
def test_one_per_class_of_unusable_labels_does_not_say_the_file_lacks_them(run_cli, tmp_path,
                                                                          labels):
    """An .npz whose 'labels' cannot be used (not whole numbers, not one per pattern) is
    refused for --one-per-class without claiming that an .npz with a 'labels' array would do:
    the file has one, and the command line drops the warning saying why (one error line)."""
    path = tmp_path / "lab.npz"
    np.savez(path, patterns=np.where(np.eye(4, 16) > 0, 1, -1), labels=labels)
    code, _, err = run_cli("train", "--data", path, "--one-per-class", "--rule", "hebb",
                           "-o", tmp_path / "m.safetensors")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "one whole number per pattern; this file's 'labels' array " in err  # (and why)
    assert "this file has no such array" not in err
    assert "with a 'labels' array has them" not in err
    assert not (tmp_path / "m.safetensors").exists()


def test_patterns_to_store_need_two_neurons(tmp_path: Path) -> None:
    """A memory needs N >= 2: patterns of one neuron are refused as patterns (naming them and
    the rule) by every reader of patterns to store, a file's as well as a matrix."""
    import xbarmem as xm

    np.save(tmp_path / "n1.npy", np.array([[1.0], [-1.0], [1.0]], dtype=np.float32))
    with pytest.raises(PatternError, match=r"n1\.npy: .*at least 2 neurons"):
        patterns_for(tmp_path / "n1.npy", None)
    for store in (xm.as_pattern_set, xm.train):
        with pytest.raises(PatternError, match=r"patterns: .*at least 2 neurons\), got 1"):
            store(np.ones((1, 1), dtype=np.float32))
    assert xm.as_pattern_set(np.ones((1, 2), dtype=np.float32)).n_neurons == 2


def test_an_all_zero_pattern_is_not_stored(tmp_path: Path) -> None:
    """A continuous pattern of zeros has no recall cosine: it used to be stored and scored
    cosine 0 with exact 1 (and drag down the mean); every reader of patterns to store refuses
    it, naming its row."""
    import xbarmem as xm

    data = np.random.default_rng(0).uniform(-1, 1, (4, 16)).astype(np.float32)
    data[2] = 0.0
    np.save(tmp_path / "z.npy", data)
    with pytest.raises(PatternError, match=r"z\.npy: 1 pattern is all zeros, first row 2"):
        patterns_for(tmp_path / "z.npy", None, kind="continuous")
    pset = load_file(tmp_path / "z.npy", kind="continuous")  # (cues may be zero)
    for store in (xm.as_pattern_set, lambda x: xm.train(x, rule="hebb")):
        with pytest.raises(PatternError, match="all zeros, first row 2"):
            store(pset)
    memory = xm.train(data[:2], kind="continuous", rule="hebb")
    with pytest.raises(PatternError, match="all zeros"):
        xm.evaluate_memory(memory, PatternSet(np.zeros((1, 16)), "continuous"))


@pytest.mark.parametrize(("labels", "kept", "why"), [
    (np.arange(4.0), [0, 1, 2, 3], None),  # floats holding whole numbers (saved from a table)
    (np.arange(4), [0, 1, 2, 3], None),
    (np.arange(3), None, "has shape \\(3,\\), not one label per pattern \\(4\\)"),
    (np.array([0.5, 1, 2, 3]), None, "holds float64 values, not whole numbers"),
    (np.array(["a", "b", "c", "d"]), None, "holds <U1 values"),
])
def test_npz_labels_are_used_or_ignored_with_a_warning(tmp_path, labels, kept, why):
    """Labels of another length or kind were dropped silently; whole-number floats were too."""
    path = tmp_path / "p.npz"
    np.savez(path, patterns=np.sign(np.arange(64.0).reshape(4, 16) % 3 - 0.5), labels=labels)
    if why is None:
        assert load_file(path).labels.tolist() == kept
    else:
        with pytest.warns(XbarmemWarning, match=why):
            assert load_file(path).labels is None


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_continuous_values_all_in_0_1_are_read_as_they_are_with_a_warning(tmp_path, suffix):
    """Grey levels in [0, 1] (as images are often saved) were taken for continuous values in
    [-1, 1] without a word: 0, the end of their range, became its middle. They are still read
    as they are, with a warning saying how to map them; values in [-1, 1] with a negative one,
    8-bit images (scaled) and binary files are read without one."""
    grey = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(4, 16)
    path = tmp_path / f"grey{suffix}"
    np.save(path, grey) if suffix == ".npy" else np.savetxt(path, grey, delimiter=",")
    with pytest.warns(XbarmemWarning, match=r"grey\.(npy|csv): every value lies in \[0, 1\], "
                      r"read as continuous values in \[-1, 1\] as they are .* as 2\*x - 1 with "
                      r"zero_one=True \(CLI: --zero-one\)"):
        loaded = load_file(path, kind="continuous")
    assert np.allclose(loaded.patterns, grey)  # (read as they are: nothing measured moves)
    quiet = {"pm1.npy": 2 * grey - 1, "img.npy": np.round(grey * 255).astype(np.uint8),
             "zeros.npy": np.zeros((2, 16), np.float32)}
    for name, values in quiet.items():
        np.save(tmp_path / name, values)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_file(tmp_path / name, kind="continuous")
    np.save(tmp_path / "bits.npy", (grey > 0.5).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_file(tmp_path / "bits.npy", zero_one=True)


def test_zero_one_maps_continuous_values_in_0_1_to_minus_1_1(tmp_path):
    """``zero_one`` read {0, 1} binary files only; with continuous patterns it was ignored
    without a word. Now it maps values in [0, 1] by ``2 x - 1`` (the same map as {0, 1} ->
    {-1, +1}), with no warning, and refuses values outside [0, 1] in one line."""
    grey = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(4, 16)
    np.save(tmp_path / "grey.npy", grey)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_file(tmp_path / "grey.npy", kind="continuous", zero_one=True)
    assert np.allclose(loaded.patterns, 2 * grey - 1) and loaded.patterns.dtype == np.float32
    assert np.allclose(validate_patterns(grey, "continuous", zero_one=True), 2 * grey - 1)
    with pytest.raises(PatternError, match=r"continuous patterns read with zero_one=True "
                       r"\(CLI: --zero-one\) must lie in \[0, 1\]; 1 of 64 entries lie outside "
                       r"\(min=-0.5, max=1.0\)"):
        validate_patterns(np.where(grey == 0, -0.5, grey), "continuous", zero_one=True)


@pytest.mark.parametrize("name, module", [("load_mnist", "builtin"), ("IMAGE_SETS", "builtin"),
                                          ("load_file", "readers"),
                                          ("patterns_for", "sources")])
def test_names_moved_out_of_patterns_still_import_with_a_deprecation_warning(name, module):
    import importlib

    import xbarmem.data.patterns as patterns

    with pytest.warns(DeprecationWarning, match=f"moved to xbarmem.data.{module}.{name}"):
        old = getattr(patterns, name)
    assert old is getattr(importlib.import_module(f"xbarmem.data.{module}"), name)
    with pytest.raises(AttributeError, match="no_such_name"):
        patterns.no_such_name  # noqa: B018


def test_every_name_patterns_held_in_0_2_is_there_or_moved():
    import xbarmem.data.patterns as patterns

    held_in_0_2 = {"BUILTIN_SOURCES", "CORRELATED", "GLYPH_CHARACTERS", "IMAGE_SETS", "KINDS",
                   "MNIST_VARIANTS", "SUPPORTED_FILE_TYPES", "PatternSet", "as_pattern_set",
                   "check_cue_values", "check_storable", "correlated_overlap",
                   "correlated_patterns", "image_side", "is_drawn", "load_digits", "load_file",
                   "load_glyphs", "load_image_set", "load_mnist", "load_patterns", "max_side",
                   "patterns_for", "random_patterns", "validate_patterns"}
    assert not {n for n in held_in_0_2 if n not in vars(patterns) and n not in patterns._MOVED}


def test_zero_one_message_says_what_the_values_are():
    """An all-zero matrix was called "{0,1}"; both point to zero_one=True."""
    from xbarmem.data.patterns import as_pattern_set
    from xbarmem.errors import PatternError

    with pytest.raises(PatternError, match=r"these are all 0; pass zero_one=True"):
        as_pattern_set(np.zeros((2, 4)))
    with pytest.raises(PatternError, match=r"these are \{0,1\}; pass zero_one=True"):
        as_pattern_set(np.eye(4)[:2])


@pytest.mark.parametrize("load", [
    lambda source, **kw: load_patterns(source, side=8, **kw),
    lambda source, **kw: patterns_for(source, 64, **kw)])
@pytest.mark.parametrize(("source", "options", "problem"), [
    ("random", {"n_patterns": 4, "one_per_class": True},
     "one_per_class needs class labels; 'random'"),
    ("correlated-0.3", {"n_patterns": 4, "one_per_class": True},
     "one_per_class needs class labels"),
    ("correlated-0.3", {"n_patterns": 4, "zero_one": True}, "zero_one reads a pattern file"),
    ("random", {"n_patterns": 4, "zero_one": True}, "zero_one reads a pattern file"),
    ("mnist", {"n_patterns": 4, "zero_one": True},
     "zero_one reads a pattern file in [0, 1]; 'mnist' is built in"),
])
def test_options_a_source_does_not_read_are_refused(load, source, options, problem):
    """``load_patterns("random", n_patterns=4, one_per_class=True)`` gave 4 patterns without
    classes, and ``zero_one=True`` of a built-in set or drawn patterns was ignored: the command
    line refuses ``--one-per-class`` / ``--zero-one`` there, the API now does too."""
    with pytest.raises(PatternError, match=re.escape(problem)):
        load(source, **options)


@pytest.mark.parametrize(("options", "problem"), [
    ({"kind": "continuous", "n_patterns": 4}, "gives binary patterns only"),
    ({"kind": "binary"}, "needs n_patterns (the number of patterns)")])
def test_a_correlated_source_names_what_it_lacks(options, problem):
    """``load_patterns("correlated-0.3", n_patterns=4, kind="continuous")`` said it "needs n
    (the number of patterns) and binary patterns" though the count was given; it names the one
    it lacks, as ``patterns_for`` does."""
    with pytest.raises(PatternError) as info:
        load_patterns("correlated-0.3", side=8, **options)
    assert problem in str(info.value) and (("needs n_patterns" in str(info.value))
                                           == ("n_patterns" not in options))


@pytest.mark.parametrize(("top", "kind", "warned"), [
    (16, "continuous", True), (3, "continuous", True), (63, "continuous", True),
    (64, "continuous", False), (255, "continuous", False), (16, "binary", False)])
@pytest.mark.parametrize("shape", [(6, 8, 8), (6, 64)])
def test_continuous_patterns_of_dim_integer_images_are_warned_of(tmp_path, top, kind, warned,
                                                                 shape):
    """scikit-learn's 0..16 digits saved as uint8 read as continuous patterns in [-1, -0.87]
    with no word: images whose brightest value is below 64 of 255 are warned of, naming the
    values and the scaling; binary patterns (each image against its own mean) are not."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, top + 1, size=shape).astype(np.uint8)
    images.reshape(6, -1)[:, 0] = top  # every image reaches the top value
    path = tmp_path / "dim.npy"
    np.save(path, images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patterns = load_file(path, kind=kind).patterns
    said = [str(w.message) for w in caught if issubclass(w.category, XbarmemWarning)]
    if warned:
        assert len(said) == 1 and f"reach only {top} of 255" in said[0], said
        assert f"{top / 255 * 2 - 1:.2f}]" in said[0] and f"x * 255 / {top}" in said[0]
        assert float(patterns.max()) == pytest.approx(top / 255 * 2 - 1, abs=1e-6)
    else:
        assert not [s for s in said if "of 255" in s], said
