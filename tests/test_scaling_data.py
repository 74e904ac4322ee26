"""``scaling`` on a user's file of images and on drawn patterns: the file's images resized at
every N as the built-in sets are (same capacities as the set they copy), random patterns
reproducible by seed, files that hold no image stack refused before any work, and a
checkpoint of another file never resumed. Tiny sizes (N = 16, 36, 64): seconds in all."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest
from conftest import refused

from xbarmem.data.builtin import _bundled
from xbarmem.data.readers import load_file, read_image_stack
from xbarmem.data.sources import patterns_for, sized_source
from xbarmem.errors import ConfigError, FileFormatError, PatternError, XbarmemWarning
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.evaluation.scaling import run_scaling

pytestmark = pytest.mark.usefixtures("one_thread")

SIZES = [16, 36, 64]
#: a single-layer pinv search: the cheapest, whose points are the same for the same patterns
SEARCH = {"arch": "single", "rule": "pinv", "thresholds": (0.9, 0.99), "trials": 1}
CLI_SEARCH = ("--arch", "single", "--rule", "pinv", "--threshold", "0.9,0.99", "--trials", "1",
              "--probes", "2", "--threads", "1")


def _glyphs(count: int = 200) -> np.ndarray:
    """The first ``count`` bundled glyph images, uint8 ``(count, 28, 28)``."""
    return np.array(_bundled("glyphs.npz", "glyphs")[0][:count])


def _points(res: dict) -> list:
    return [[(p["count"], p["cosine"]) for p in run["points"]] for run in res["runs"]]


def _protocol(kind: str) -> Protocol:
    return (Protocol(level=0.05, probes=2) if kind == "binary"
            else Protocol(corruption="gaussian", level=0.2, probes=2, activation="tanh"))


@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize("layout", ["stack.npy", "rows.npz"])
def test_a_file_of_a_built_in_sets_images_gives_its_capacities(tmp_path, kind, layout):
    images = _glyphs()
    path = tmp_path / layout
    if layout.endswith(".npy"):
        np.save(path, images)
    else:
        np.savez(path, images=images.reshape(len(images), -1))
    built_in = run_scaling(SIZES, data="glyphs", pool_size=200, kind=kind,
                           protocol=_protocol(kind), **SEARCH)
    own = run_scaling(SIZES, data=path, kind=kind, protocol=_protocol(kind), **SEARCH)
    assert own["capacity"] == built_in["capacity"] and _points(own) == _points(built_in)
    assert own["capacity"]["0.9"][-1] > 0
    assert own["settings"]["data"] == layout
    assert own["settings"]["data_description"] == (f"{layout}: 200 images of 28x28 resized to "
                                                   "side sqrt(N)")
    assert str(tmp_path) not in json.dumps(own)  # (the file by its name, not its folder)
    # the images at each N are those the pattern-file reader makes at that side
    stack = read_image_stack(path)
    for n, side in ((16, 4), (64, 8)):
        assert np.array_equal(patterns_for(stack, n, kind=kind).patterns,
                              load_file(path, kind=kind, side=side).patterns)


def test_the_command_on_a_file_writes_what_the_built_in_set_gives(tmp_path, run_cli):
    data = tmp_path / "data" / "my images.v2.npy"
    data.parent.mkdir()
    np.save(data, _glyphs(120))
    out = tmp_path / "out"  # one folder for both runs: each writes its own files
    code, _, err = run_cli("scaling", "--data", data, "--sizes", "16,36,64", *CLI_SEARCH,
                           "--out", out)
    assert code == 0, err
    code, _, err = run_cli("scaling", "--data", "glyphs", "--pool", "120", "--sizes",
                           "16,36,64", *CLI_SEARCH, "--out", out)
    assert code == 0, err
    code, _, err = run_cli("scaling", "--sizes", "16", *CLI_SEARCH, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"scaling-single-binary-pinv{tag}.{ext}" for tag in ("", "-glyphs", "-my_images.v2")
        for ext in ("json", "png"))  # MNIST (the default) as before; others by their name
    own, built_in = (json.loads((out / f"scaling-single-binary-pinv-{tag}.json").read_text())
                     for tag in ("my_images.v2", "glyphs"))
    assert own["capacity"] == built_in["capacity"]
    assert own["settings"]["data"] == "my images.v2.npy"
    assert built_in["settings"]["data"] == "glyphs"
    text = (out / "scaling-single-binary-pinv-my_images.v2.json").read_text()
    assert str(data.parent) not in text  # (nothing names the folder the file came from)
    assert (out / "scaling-single-binary-pinv-my_images.v2.png").stat().st_size > 1000


@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_random_patterns_are_drawn_at_each_n_from_the_seed(kind):
    def run(seed: int) -> dict:
        return run_scaling(SIZES, data="random", kind=kind, seed=seed, pool_size=100,
                           protocol=_protocol(kind), **SEARCH)

    first, again, other = run(3), run(3), run(4)
    assert first["capacity"] == again["capacity"] and _points(first) == _points(again)
    assert _points(first) != _points(other)
    assert [r["settings"]["data"] for r in first["runs"]] == [f"random-{kind}"] * 3
    assert [r["n_neurons"] for r in first["runs"]] == SIZES
    assert first["settings"]["data_description"] == ("random patterns of N neurons drawn from "
                                                     "the seed")
    drawn = patterns_for("random", 36, kind=kind, n_patterns=100, seed=3).patterns
    assert np.isin(drawn, [-1.0, 1.0]).all() == (kind == "binary")


def test_random_on_the_command_line_draws_the_default_pool(tmp_path, run_cli):
    code, out, err = run_cli("scaling", "--data", "random", "--sizes", "16,36", *CLI_SEARCH,
                             "--seed", "5", "--out", tmp_path, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["settings"]["data"] == "random" and res["settings"]["pool"] == 2000
    assert res["settings"]["seed"] == 5 and res["sizes"] == [16, 36]
    # capacity draws the same default pool of correlated patterns (it asked for --patterns)
    code, out, err = run_cli("capacity", "--data", "correlated-0.3", "--neurons", "16",
                             "--rule", "pinv", "--trials", "1", "--probes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["settings"]["pool"] == 2000


def _bad_files(folder) -> dict[str, str]:
    """File name -> a fragment of its refusal."""
    rng = np.random.default_rng(0)
    np.save(folder / "float.npy", rng.random((30, 8, 8)).astype(np.float32))
    np.save(folder / "pm1.npy", np.where(rng.random((30, 64)) < 0.5, -1, 1).astype(np.int8))
    np.save(folder / "nan.npy", np.full((30, 8, 8), np.nan, dtype=np.float32))
    np.save(folder / "rect.npy", rng.integers(0, 256, (30, 8, 12), dtype=np.uint8))
    np.save(folder / "rows.npy", rng.integers(0, 256, (30, 50), dtype=np.uint8))
    np.save(folder / "flat.npy", rng.integers(0, 256, (30,), dtype=np.uint8))
    np.save(folder / "ones.npy", rng.integers(0, 2, (30, 8, 8), dtype=np.uint8))
    np.save(folder / "tiny.npy", rng.integers(0, 256, (30, 3, 3), dtype=np.uint8))
    (folder / "damaged.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    np.save(folder / "small.npy", rng.integers(0, 256, (30, 6, 6), dtype=np.uint8))
    np.savetxt(folder / "images.csv", rng.random((30, 64)), fmt="%.3f", delimiter=",")
    return {"float.npy": "holds float32 values, not 8-bit grayscale images",
            # +-1 patterns were told to convert "images in [0, 1]" with x * 255
            "pm1.npy": "holds patterns (int8 values in [-1, 1]) of a fixed N = 64, not 8-bit "
                       "grayscale images (uint8, values 0..255) that can be resized to each N",
            "nan.npy": "holds float32 values, not 8-bit grayscale images",
            "rect.npy": "holds 8x12 images, not square ones",
            "rows.npy": "rows of 50 values are no square images",
            "flat.npy": "holds an array of shape (30,), not images",
            "ones.npy": "holds only the values 0 and 1",
            "tiny.npy": "holds 3x3 images; images of side 4 or more",
            "damaged.npy": "damaged.npy",
            "small.npy": "side 4..6 (its images are 6x6), so N must be 16 ... 36; got N = 64",
            "missing.npy": "no such file",
            "images.csv": "a .csv file of these numbers holds no 8-bit grayscale images"}


def test_files_that_are_no_image_stack_are_refused_before_any_work(tmp_path, run_cli,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, fragment in _bad_files(tmp_path).items():
        line = refused(run_cli, tmp_path, "scaling", "--data", name, "--sizes", "16,36,64",
                       *CLI_SEARCH, "--out", "out", names=(fragment,))
        assert name in line
        with pytest.raises((ConfigError, PatternError, FileFormatError),
                           match=re.escape(fragment)):
            run_scaling(SIZES, data=tmp_path / name, **SEARCH)


def test_a_pool_above_the_sources_images_and_continuous_correlated_are_refused(tmp_path,
                                                                              run_cli):
    np.save(tmp_path / "few.npy", _glyphs(40))
    for args, fragment in (
            (("--data", tmp_path / "few.npy", "--pool", "41"), "--pool 41: few.npy holds 40 "
                                                               "images; give at most 40"),
            (("--data", "glyphs", "--pool", "5000"), "--pool 5000: glyphs holds 1302 images"),
            (("--data", "correlated-0.3", "--kind", "continuous"), "binary patterns only")):
        refused(run_cli, tmp_path, "scaling", *args, "--sizes", "16,36", *CLI_SEARCH, "--out",
                tmp_path / "out", names=(fragment,))
    with pytest.raises(PatternError, match="pool_size 41: few.npy holds 40 images"):
        run_scaling([16], data=tmp_path / "few.npy", pool_size=41, **SEARCH)


def test_a_checkpoint_of_another_file_is_not_resumed(tmp_path):
    path, kept = tmp_path / "images.npy", tmp_path / "kept.json"
    protocol = _protocol("binary")
    np.save(path, _glyphs(60))
    first = run_scaling([16, 36], data=path, protocol=protocol, checkpoint=kept,
                        keep_checkpoint=True, **SEARCH)
    tested = sum(len(r["points"]) for r in first["runs"])
    key = json.loads(kept.read_text())["key"]
    assert key["data"] == "images.npy" and key["images"].startswith("|u1[60, 28, 28]:")
    np.save(path, _glyphs(60)[::-1])  # another file of the same name and shape
    with pytest.warns(XbarmemWarning, match=r"other settings \(images\); this run starts anew"):
        other = run_scaling([16, 36], data=path, protocol=protocol, checkpoint=kept,
                            keep_checkpoint=True, **SEARCH)
    assert other["resumed"] == 0
    np.save(path, _glyphs(60))  # the first file again: the other's points were not mixed in
    with pytest.warns(XbarmemWarning, match=r"other settings \(images\)"):
        again = run_scaling([16, 36], data=path, protocol=protocol, checkpoint=kept, **SEARCH)
    assert again["resumed"] == 0 and _points(again) == _points(first)
    resumed = run_scaling([16, 36], data=path, protocol=protocol, checkpoint=kept,
                          keep_checkpoint=True, **SEARCH)  # (file removed above: a fresh run)
    assert resumed["resumed"] == 0
    assert run_scaling([16, 36], data=path, protocol=protocol, checkpoint=kept,
                       **SEARCH)["resumed"] == tested


def test_the_source_is_read_once(tmp_path, monkeypatch):
    """Every N resizes the images read at the start: a file changed during a run does not
    mix two sets of images."""
    import xbarmem.data.readers as readers

    path = tmp_path / "images.npy"
    np.save(path, _glyphs(50))
    reads = []
    real = readers._read_array
    monkeypatch.setattr(readers, "_read_array", lambda *a: reads.append(a) or real(*a))
    run_scaling(SIZES, data=path, protocol=_protocol("binary"), **SEARCH)
    assert len(reads) == 1
    assert sized_source("Random") == "random" and sized_source("glyphs") == "glyphs"


def _save(path, images) -> None:
    """``images`` as ``.npy`` bytes (gzipped for a name ending in ``.gz``) at ``path``, or as
    ``images`` in an ``.npz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".npz"):
        np.savez(path, images=images)
        return
    np.save(path.parent / "x.npy", images)
    raw = (path.parent / "x.npy").read_bytes()
    (path.parent / "x.npy").unlink()
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)


def _scaling(run_cli, data, out) -> str:
    """The lines of ``scaling --data data`` naming results it replaces (``holds the
    results``)."""
    code, _, err = run_cli("scaling", "--data", data, "--sizes", "16", *CLI_SEARCH, "--out",
                           out, "--json")
    assert code == 0, err
    return "\n".join(line for line in err.splitlines() if "holds the results" in line)


def test_files_differing_after_a_dot_or_in_their_type_keep_their_own_files(tmp_path, run_cli):
    """(``set.v1.npy`` and ``set.v2.npy`` were both named ``-set``, and so were ``set.npy``
    and ``set.npz``: the second run overwrote the first's JSON and PNG.) Only ``.npy``, the
    usual file, is left out of the names."""
    out = tmp_path / "out"
    names = ["set.v1.npy", "set.v2.npy.gz", "set.npy", "set.npz"]
    for i, name in enumerate(names):
        _save(tmp_path / name, _glyphs(40)[i:])
        assert _scaling(run_cli, tmp_path / name, out) == ""
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"scaling-single-binary-pinv-{tag}.{ext}" for tag in ("set.v1", "set.v2.npy.gz",
                                                               "set", "set.npz")
        for ext in ("json", "png"))
    settings = json.loads((out / "scaling-single-binary-pinv-set.npz.json").read_text())[
        "settings"]
    assert settings["data"] == "set.npz"
    assert re.fullmatch(r"\|u1\[37, 28, 28\]:[0-9a-f]{64}", settings["images"])


def test_results_of_other_data_replaced_are_named_in_a_warning(tmp_path, run_cli):
    """The same file name in two folders (or ``a b.npy`` and ``a_b.npy``) still gives one
    name: the run says, before any work, whose results it replaces; the same file run again
    says nothing."""
    out, json_file = tmp_path / "out", tmp_path / "out" / "scaling-single-binary-pinv-a_b.json"
    _save(tmp_path / "one" / "a b.npy", _glyphs(40))
    _save(tmp_path / "two" / "a b.npy", _glyphs(41)[1:])
    _save(tmp_path / "a_b.npy", _glyphs(40))
    assert _scaling(run_cli, tmp_path / "one" / "a b.npy", out) == ""
    assert _scaling(run_cli, tmp_path / "one" / "a b.npy", out) == ""
    err = _scaling(run_cli, tmp_path / "two" / "a b.npy", out)
    assert err.strip() == (f"warning: {json_file} holds the results of another file named "
                           "a b.npy (other images: another folder's, or changed since): this "
                           "run replaces them (JSON and PNG)")
    err = _scaling(run_cli, tmp_path / "a_b.npy", out)
    assert err.strip() == (f"warning: {json_file} holds the results of a b.npy, not a_b.npy: "
                           "this run replaces them (JSON and PNG)")
    assert json.loads(json_file.read_text())["settings"]["data"] == "a_b.npy"


@pytest.mark.parametrize("member", ["json", "png", "checkpoint.json"])
def test_an_output_name_taken_by_a_folder_is_refused_before_any_work(tmp_path, run_cli,
                                                                    monkeypatch, member):
    """(A folder named as the JSON ended the run in a traceback after the searches, with the
    PNG written; one named as the PNG was refused after them.)"""
    import xbarmem.evaluation.scaling as scaling

    monkeypatch.setattr(scaling, "run_scaling", lambda *a, **k: pytest.fail("work began"))
    np.save(tmp_path / "images.npy", _glyphs(40))
    (tmp_path / "out" / f"scaling-single-binary-pinv-images.{member}").mkdir(parents=True)
    refused(run_cli, tmp_path, "scaling", "--data", tmp_path / "images.npy", "--sizes", "16",
            *CLI_SEARCH, "--out", tmp_path / "out",
            names=(f"--out {tmp_path / 'out'}/scaling-single-binary-pinv-images.{member}: is a "
                   "folder, expected a file name",))
