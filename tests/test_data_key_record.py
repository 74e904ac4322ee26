"""The .npz array a run read (``--key``, ``key=``) is recorded beside the data file's name
(``data_key``; a model's ``extra.patterns.key``), and a sweep file names one (``data_key``,
in ``[base]`` or ``[grid]``): before, every record named only the file (``data: two.npz``)
and a sweep could not read a file of several arrays at all. Records of runs without a key,
and the trial keys of sweeps without ``data_key``, are as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import model_parts, refused

from xbarmem.data.readers import load_file, read_image_stack
from xbarmem.data.sources import data_fields, load_patterns, patterns_for, sized_source
from xbarmem.errors import ConfigError
from xbarmem.experiments.batches import batch_key, train_key
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import parse_sweep
from xbarmem.experiments.trial import _pool, stored_patterns


def _two(folder: Path) -> Path:
    """An .npz of two +-1 pattern arrays of N = 16, ``train`` (6) and ``test`` (5)."""
    rng = np.random.default_rng(0)
    np.savez(folder / "two.npz", train=rng.choice([-1, 1], size=(6, 16)).astype(np.int8),
             test=rng.choice([-1, 1], size=(5, 16)).astype(np.int8))
    return folder / "two.npz"


def _images(folder: Path) -> Path:
    """An .npz of two arrays of 8-bit 8x8 images, ``a`` and ``b`` (other images)."""
    rng = np.random.default_rng(1)
    np.savez(folder / "imgs.npz", a=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8),
             b=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8))
    return folder / "imgs.npz"


# ---------------------------------------------------------------- what a run records
def _capacity(path, key):
    from xbarmem.evaluation.capacity import find_capacity

    pool = patterns_for(path, 16, key=key)
    return find_capacity(pool, rule="pinv", chip="ideal", trials=1).as_dict()["settings"]


def _scaling(path, key):
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.evaluation.scaling import run_scaling

    images = _images(path.parent)
    if key is None:  # (a file of one array)
        np.save(path.parent / "imgs.npy", np.load(images)["a"])
        images = path.parent / "imgs.npy"
    res = run_scaling([16], arch="single", rule="pinv", chip="ideal", trials=1,
                      data=sized_source(images, key=key and "a"), pool_size=8,
                      protocol=Protocol(level=0.05, probes=2))
    return res["settings"]


def _energy(path, key):
    from xbarmem.energy.measure import measure

    return measure(16, data=path, key=key, n_patterns=3, rule="pinv", chip="ideal",
                   probes=2).info


def _compare(path, key):
    from xbarmem.evaluation.evaluate import compare_rules

    pset = patterns_for(path, 16, key=key)
    return compare_rules(pset, "ideal", ["pinv"], trials=1)["settings"]


def _model(path, key):
    from xbarmem.learning.fit import train
    from xbarmem.memory.io import load_stored_patterns, save_memory

    pset = patterns_for(path, 16, key=key)
    memory = train(pset, rule="pinv", chip="ideal")
    save_memory(memory, path.parent / "m.safetensors", patterns=pset)
    saved = model_parts(path.parent / "m.safetensors")[1]["extra"]["patterns"]
    back = load_stored_patterns(path.parent / "m.safetensors")
    assert back.key == key and back == pset  # (read back as saved)
    return {"data": saved["name"], **({"data_key": saved["key"]} if "key" in saved else {})}


def _train_cli(path, key, run_cli):
    out = path.parent / "cli.safetensors"
    code, text, err = run_cli("train", "--data", path, *(["--key", key] if key else []),
                              "--rule", "pinv", "--chip", "ideal", "-o", out, "--json")
    assert code == 0, err
    return json.loads(text)


_WRITERS = {"capacity": _capacity, "scaling": _scaling, "energy": _energy,
            "compare_rules": _compare, "model": _model, "train --json": _train_cli}


@pytest.mark.parametrize("writer", list(_WRITERS))
@pytest.mark.parametrize("key", ["test", None])
def test_the_array_read_is_recorded_beside_the_file(tmp_path, run_cli, writer, key):
    """Every record of where a run's patterns came from names the .npz array ``--key`` /
    ``key=`` chose (``data_key``) beside the file's name (``data``); a run without a key
    records no ``data_key``, as before."""
    path = _two(tmp_path)
    np.save(tmp_path / "one.npy", np.load(path)["train"])
    path = path if key else tmp_path / "one.npy"  # (without a key: a file of one array)
    record = (_train_cli(path, key, run_cli) if writer == "train --json"
              else _WRITERS[writer](path, key))
    if key is None:
        assert "data_key" not in record, record
    else:
        expected = "a" if writer == "scaling" else key
        assert record["data_key"] == expected, record
        assert record["data"] == ("imgs.npz" if writer == "scaling" else "two.npz")
        keys = list(record)
        assert keys.index("data_key") == keys.index("data") + 1  # (read together)


@pytest.mark.parametrize(("read", "key"), [
    (lambda p, k: load_file(p, key=k), "test"),
    (lambda p, k: patterns_for(p, 16, key=k), "train"),
    (lambda p, k: load_patterns(p, key=k), "test"),
    (lambda p, k: load_patterns(_images(p.parent), side=4, key=k), "b"),
    (lambda p, k: patterns_for(p, 16, key=k).subset([0, 1]), "test"),
    (lambda p, k: read_image_stack(_images(p.parent), key=k).patterns(4), "b"),
    (lambda p, k: sized_source(_images(p.parent), key=k), "a"),
])
def test_a_source_read_with_a_key_keeps_it(tmp_path, read, key):
    """A pattern set (or image stack) read with ``key`` holds it, also a subset of it, and
    :func:`data_fields` records it; read without one it holds None and the record is
    ``{"data": name}`` alone."""
    path = _two(tmp_path)
    source = read(path, key)
    assert source.key == key
    assert data_fields(source) == {"data": source.name, "data_key": key}
    assert data_fields("mnist") == {"data": "mnist"}
    np.save(tmp_path / "one.npy", np.load(path)["train"])
    plain = load_file(tmp_path / "one.npy")
    assert plain.key is None and data_fields(plain) == {"data": "one.npy"}


def test_scaling_runs_on_two_arrays_write_two_files(tmp_path, run_cli):
    """``scaling --key`` of two arrays of one .npz into one folder: each run's files and
    checkpoint are its own (the array in their names); they overwrote each other."""
    data = _images(tmp_path)
    for key in ("a", "b"):
        code, _, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--sizes", "16",
                               "--trials", "1", "--probes", "2", "--data", data, "--key", key,
                               "--out", tmp_path / "o")
        assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "o").glob("*.json"))
    assert names == ["scaling-single-binary-pinv-imgs.npz-a.json",
                     "scaling-single-binary-pinv-imgs.npz-b.json"], names


# ---------------------------------------------------------------- sweep files: data_key
def _sweep(data, trial: str = "evaluate", grid: dict | None = None, **base) -> dict:
    head = {"n_neurons": 16, "probes": 2, "max_iterations": 10, "rule": "pinv"}
    head.update({"patterns": 3, "selection": "first"} if trial == "evaluate"
                else {"counts": [2, 3]})
    return {"sweep": {"name": "k", "trial": trial, "seeds": 1, "batch": 4},
            "base": {"data": str(data), **head, **base}, **({"grid": grid} if grid else {})}


@pytest.mark.parametrize("trial", ["evaluate", "capacity"])
@pytest.mark.parametrize("where", ["base", "grid"])
def test_a_sweep_reads_the_array_data_key_names(tmp_path, trial, where):
    """``data_key`` (``[base]`` or ``[grid]``) reads that array of an .npz, as ``--key``
    does; the trials hold it (their keys differ by it), and trials of two arrays never
    train as one network."""
    path = _two(tmp_path)
    keys = ["train", "test"] if where == "grid" else ["test"]
    spec = parse_sweep(_sweep(path, trial, {"data_key": keys}) if where == "grid"
                       else _sweep(path, trial, data_key="test"))
    assert sorted(t.config["data_key"] for t in spec.trials) == sorted(keys)
    for t in spec.trials:
        held = np.load(path)[t.config["data_key"]]
        read = stored_patterns(t.config) if trial == "evaluate" else _pool(t.config, None)
        assert np.array_equal(read.patterns, held[:read.n_patterns])
    if len(spec.trials) == 2:
        a, b = (t.config for t in spec.trials)
        assert train_key(a) != train_key(b) and batch_key(a) == batch_key(b)


@pytest.mark.parametrize(("data", "key", "names"), [
    ("two.npz", "nope", ("no array named 'nope' (arrays: 'train', 'test')", "data_key")),
    ("mnist", "train", ("data_key = 'train'", "'mnist' is built in")),
    ("random", "train", ("data_key = 'train'", "'random' is drawn")),
    ("one.npy", "train", ("no array named 'train'",)),
    ("two.npz", None, ("choose one with data_key = NAME", "'train', 'test'")),
])
def test_a_sweep_data_key_is_checked_before_any_trial(tmp_path, run_cli, data, key, names):
    """An unknown array, a ``data_key`` of a built-in set or drawn patterns, or no key for a
    file of several arrays: refused in one line (the arrays named; a file of several arrays
    says the sweep field) when the sweep is planned, exit 2, no store written."""
    _two(tmp_path)
    np.save(tmp_path / "one.npy", np.load(tmp_path / "two.npz")["train"])
    data = str(tmp_path / data) if data.endswith(("npz", "npy")) else data
    tables = _sweep(data, **({} if key is None else {"data_key": key}))
    with pytest.raises(ConfigError) as err:
        parse_sweep(tables)
    for fragment in names:
        assert fragment in str(err.value), err.value
    toml = tmp_path / "s.toml"
    toml.write_text("\n".join(
        f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
        for name, table in tables.items()) + "\n")
    line = refused(run_cli, tmp_path, "sweep", toml, "--store", tmp_path / "s.sqlite")
    assert names[0] in line and not (tmp_path / "s.sqlite").exists()


#: trial keys of sweeps without data_key, computed before trials had one (xbarmem 0.3.0.dev0)
_PINNED = {
    ("random", "evaluate"): "feb5f70947f30cbfa872c4e84c9927a5fbfdc0678e2cb0c0e7f6f0d0337350c1",
    ("random", "capacity"): "57634accdcd945ffdf564ee3746fd177a372cd13958aa48969b156ab52dfc1b5",
    ("pats.npy", "evaluate"): "68c881da9d7312736a815355225db4d9f65756db4b73c0d08acbd25bd36c6c11",
    ("pats.npy", "capacity"): "77e7b79095a2b749d352ec5e2fe7f27d88dbdc2924c813ad5fe6cb029cc17ddb",
}


@pytest.mark.parametrize(("data", "trial"), list(_PINNED))
def test_trials_without_data_key_keep_their_keys(tmp_path, monkeypatch, data, trial):
    """A trial that sets no ``data_key`` holds none, so its key is the one computed before
    sweeps had the field (pinned): stores written before resume with no trial run again."""
    import xbarmem.version

    monkeypatch.setattr(xbarmem.version, "__version__", "0.3.0.dev0")
    monkeypatch.chdir(tmp_path)
    rows = [[1] * 16, [1] * 8 + [-1] * 8, [-1] * 16, [1, -1] * 8, [-1, 1] * 8, [1] * 4 + [-1] * 12]
    signs = np.where(np.arange(6 * 16).reshape(6, 16) % 3 == 0, 1.0, -1.0).astype(np.float32)
    np.save("pats.npy", signs * np.array(rows))  # (float64: the file the keys were pinned on)
    head = {"n_neurons": 16, "probes": 2, "max_iterations": 10, "rule": "pinv"}
    head.update({"patterns": 3, "selection": "first"} if trial == "evaluate"
                else {"counts": [2, 3]})
    spec = parse_sweep({"sweep": {"name": "z", "trial": trial, "seeds": 1, "batch": 4},
                        "base": {"data": data, **head}})
    (t,) = spec.trials
    assert "data_key" not in t.config
    assert t.key == _PINNED[(data, trial)]


def test_a_stored_row_holds_its_data_key(tmp_path):
    """A sweep over two arrays stores each row's ``data_key`` (``results`` columns it); a
    second run finds every trial stored."""
    from xbarmem.experiments.runner import run_sweep

    spec = parse_sweep(_sweep(_two(tmp_path), grid={"data_key": ["train", "test"]}))
    assert run_sweep(spec, tmp_path / "s.sqlite", jobs=1).inserted == 2
    with ResultStore(tmp_path / "s.sqlite") as db:
        assert sorted(r["config"]["data_key"] for r in db.rows()) == ["test", "train"]
    assert run_sweep(spec, tmp_path / "s.sqlite", jobs=1).inserted == 0


def _toml_of(tables: dict) -> str:
    """Sweep tables (two levels, values JSON-able) as TOML text."""
    return "\n".join(f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in t.items())
                     for name, t in tables.items()) + "\n"


@pytest.mark.parametrize(("data", "base", "grid", "said"), [
    ("two.npz", {}, {"data_key": ["train", "test"]}, {"test": 1, "train": 1}),
    ("two.npz", {}, {"data_key": ["train", "test"], "probes": [2, 3]}, {"test": 2, "train": 2}),
    ("two.npz", {}, {"data_key": ["test"], "probes": [2, 3]}, {"test": 2}),
    ("two.npz", {"data_key": "train"}, {"probes": [2, 3, 4]}, {"train": 3}),
    ("one.npy", {}, {"probes": [2, 3]}, None),
])
def test_a_dry_run_says_the_arrays_its_trials_read(tmp_path, run_cli, data, base, grid, said):
    """``sweep --dry-run`` names the .npz arrays its trials read and counts the trials of
    each (``data_keys``, ``data_key_trials``; a row ``trials of array (data_key): NAME``
    each), as it counts the trials read with ``zero_one``: a grid over two arrays planned as
    many trials as a grid over anything else, and said nothing of them; then it listed the
    arrays and counted no trials of them. A sweep without the field says nothing of it."""
    np.save(tmp_path / "one.npy", np.load(_two(tmp_path))["train"])
    (tmp_path / "s.toml").write_text(_toml_of(_sweep(tmp_path / data, grid=grid, **base)))
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--dry-run", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary.get("data_keys") == (sorted(said) if said else None), out
    assert summary.get("data_key_trials") == said, out
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--dry-run")
    assert code == 0, err
    if said:
        rows = [" ".join(line.split()) for line in out.splitlines() if "data_key" in line]
        assert rows == [f"trials of array (data_key): {k} {n}" for k, n in said.items()], out
    else:
        assert "data_key" not in out, out


def test_results_and_figures_say_the_array_of_their_rows(tmp_path, run_cli):
    """``results`` shows ``data_key`` as a column where rows differ in it and in its caption
    where every row shown names one (it said ``data=two.npz`` alone: which array?); a
    figure's legend and title say the array (``array train``), and rows without one say
    nothing of it."""
    from xbarmem.experiments.runner import run_sweep
    from xbarmem.viz.series import facet_label, shared_settings

    store = tmp_path / "s.sqlite"
    run_sweep(parse_sweep(_sweep(_two(tmp_path), grid={"data_key": ["train", "test"]})),
              store, jobs=1)
    np.save(tmp_path / "one.npy", np.load(tmp_path / "two.npz")["train"])
    run_sweep(parse_sweep(_sweep(tmp_path / "one.npy") | {"sweep": {"name": "one"}}), store,
              jobs=1)
    code, out, err = run_cli("results", store, "--where", "sweep=k")
    header = next(line for line in out.splitlines() if "cosine" in line)
    assert code == 0 and "data_key" in header and "│ test" in out and "│ train" in out, out
    code, out, err = run_cli("results", store, "--where", "data_key=train")
    words = "".join(out.split())  # (a long folder wraps the caption at any character)
    assert code == 0 and "two.npz,data_key=train,kind=binary" in words, out
    code, out, err = run_cli("results", store, "--where", "sweep=one")
    assert code == 0 and "data_key" not in out, out
    with ResultStore(store) as db:
        rows = db.rows()
    keyed = [r for r in rows if r["config"].get("data_key") == "train"]
    assert "two.npz patterns (array train, the first of the set)" in " ".join(
        shared_settings(keyed, "patterns").split())
    assert "array" not in shared_settings([r for r in rows if r["sweep"] == "one"], "patterns")
    assert {facet_label((("data_key", json.dumps(r["config"].get("data_key"))),))
            for r in rows} == {"array train", "array test", "no array named"}


@pytest.mark.parametrize("read", [load_patterns, load_file,
                                  lambda p, **k: patterns_for(p, 16, **k)])
def test_every_python_reader_of_a_file_takes_the_key_its_refusal_names(tmp_path, read):
    """A file of several arrays refused by a Python reader says ``key=NAME``: each
    reader of a file path takes ``key`` (``xm.load_patterns`` refused it as an unknown
    keyword, so the file could not be read with it at all); an unknown array is refused
    naming the file's arrays."""
    from xbarmem.errors import FileFormatError

    path = _two(tmp_path)
    with pytest.raises(FileFormatError, match="choose one with key=NAME"):
        read(path)
    assert read(path, key="test").key == "test"
    with pytest.raises(FileFormatError, match="no array named 'nope' .arrays: 'train', 'test'"):
        read(path, key="nope")


@pytest.mark.parametrize("source", ["mnist", "random", "correlated-0.5"])
def test_load_patterns_refuses_a_key_of_a_source_that_is_no_file(source):
    """``xm.load_patterns(source, key=...)`` of a built-in set or drawn patterns: refused
    naming the key, as ``patterns_for`` refuses it."""
    from xbarmem.errors import PatternError

    with pytest.raises(PatternError, match="key 'train' names an array of an .npz file"):
        load_patterns(source, n_patterns=2, key="train")
