"""The multilayer memory through every door: wrong combinations of hidden widths and fault maps
refused in one line before any work, alike on the command line and in Python."""

from __future__ import annotations

import numpy as np
import pytest

from xbarmem.errors import ConfigError


def _one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.mark.parametrize(("hidden", "shown"), [
    ("8,0.5n", "lists 8 and 0.5n, both 16-8-16 at N = 16"),
    ("1n,16", "lists 1n and 16, both 16-16-16 at N = 16"),
    ("4-0.5n,0.25n-8", "lists 4-0.5n and 0.25n-8, both 16-4-8-16 at N = 16"),
])
def test_capacity_refuses_hidden_widths_that_are_one_memory(run_cli, monkeypatch, tmp_path,
                                                             hidden, shown):
    """``--hidden 8,0.5n`` at N = 16 names one memory twice: it was searched twice and tabled
    twice under one label; refused before any search, as ``--hidden 8,8`` is."""
    import xbarmem.evaluation.capacity as capacity

    def no_search(*args, **kwargs):
        raise AssertionError("searched before the refusal")

    monkeypatch.setattr(capacity, "find_capacity", no_search)
    checkpoint = tmp_path / "c.json"
    code, out, err = run_cli("capacity", "--arch", "single,multilayer", "--hidden", hidden,
                             "--data", "random", "--neurons", 16, "--pool", 8, "--trials", 1,
                             "--checkpoint", checkpoint)
    _one_line(code, err, "--hidden", shown, "give each architecture once")
    assert out == "" and not checkpoint.exists()


@pytest.mark.parametrize(("arrays", "first", "need", "layers"), [
    (4, 0, 8, "layers[0] 100x80 on arrays 0..3, layers[1] 80x100 on arrays 4..7"),
    (7, 0, 8, "layers[0] 100x80 on arrays 0..3, layers[1] 80x100 on arrays 4..7"),
    (8, 2, 10, "layers[0] 100x80 on arrays 2..5, layers[1] 80x100 on arrays 6..9"),
])
def test_python_refuses_a_map_too_small_for_every_layer_naming_all_of_them(arrays, first, need,
                                                                          layers):
    """A fault map that holds the first layer but not the second was refused by the second
    layer's crossbar alone (``a 80x101 matrix ... needs arrays 4..7 ..., but the fault map
    covers only 4 arrays``): not the size of map the memory needs, nor ``faults``, where
    ``train --fault-map`` says ``give a map of 8 arrays``. Python now says it too, and so does
    ``xm.train``."""
    import xbarmem as xm
    from xbarmem.hardware.faults import FaultMap

    chip = xm.load_chip("rram")
    fmap = FaultMap.generate(chip, arrays, seed=0)
    expected = (f"faults: the fault map covers only {arrays} arrays of 64x64, but a memory of "
                f"80-100-80 neurons with bias rows needs a map of {need} ({layers}; weights "
                f"outputs x inputs)")
    with pytest.raises(ConfigError) as err:
        xm.MultilayerMemory(80, 100, chip, fmap, first_array=first)
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)
    if first == 0:
        patterns = xm.random_patterns(3, 80, seed=0)
        with pytest.raises(ConfigError) as err:
            xm.train(patterns, chip=chip, arch="multilayer", hidden=100, faults=fmap)
        assert str(err.value).startswith(expected)


def test_python_takes_a_map_that_holds_every_layer():
    """The refusal's edge: a map of exactly the arrays needed (and one of more) builds the
    memory, each layer on the arrays the refusal names."""
    import xbarmem as xm
    from xbarmem.hardware.faults import FaultMap

    chip = xm.load_chip("rram")
    for arrays in (8, 9):
        memory = xm.MultilayerMemory(80, 100, chip, FaultMap.generate(chip, arrays, seed=0))
        assert [(layer.first_array, layer.n_arrays) for layer in memory.layers] == [(0, 4), (4, 4)]


@pytest.mark.parametrize(("keywords", "message"), [
    ({"bias": "yes"}, "bias must be True or False"),
    ({"first_array": True}, "first_array must be an integer >= 0"),
    ({"first_array": -1}, "first_array must be an integer >= 0"),
    ({"bias": False}, "80-100-80 neurons needs a map of 8 (layers[0] 100x80 on arrays 0..3"),
    ({"first_array": np.int64(1)},
     "with bias rows needs a map of 9 (layers[0] 100x80 on arrays 1..4"),
])
def test_a_bad_argument_beside_a_small_map_is_named_before_the_map(keywords, message):
    """The whole-memory check of the map runs on arguments the constructor takes: a bad
    ``bias`` or ``first_array`` is refused as such, not as a map too small; a numpy integer
    ``first_array`` and a memory without bias rows get the map's refusal."""
    import xbarmem as xm
    from xbarmem.hardware.faults import FaultMap

    chip = xm.load_chip("rram")
    with pytest.raises(ConfigError) as err:
        xm.MultilayerMemory(80, 100, chip, FaultMap.generate(chip, 4, seed=0), **keywords)
    assert message in str(err.value)
