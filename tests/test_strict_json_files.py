"""Files xbarmem writes hold strict JSON (a non-finite number as null), as its outputs do."""

import json
import math

import numpy as np
import pytest

from xbarmem import FaultMap, load_preset
from xbarmem.errors import FileFormatError


def _strict(text: str):
    def refuse(token):
        raise AssertionError(f"bare {token} in {text!r}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_a_fault_maps_meta_is_written_as_strict_json(tmp_path, suffix):
    """A fault map's meta with a non-finite number (a measured estimate that failed) was
    written with Python's bare ``NaN`` token, which strict JSON readers refuse; it is null,
    and a file with the bare token (written before) reads as null too."""
    chip = load_preset("paper-sim").with_faults(0.1)
    fmap = FaultMap.generate(chip, 1, seed=0)
    fmap = FaultMap(fmap.g_stuck, {**fmap.meta, "spread_S": math.nan,
                                   "rates": np.array([math.inf, 0.5])})
    path = tmp_path / f"map{suffix}"
    fmap.save(path)
    if suffix == ".npz":
        text = str(np.load(path)["meta"])
    else:
        text = path.read_text().splitlines()[0].split("meta=", 1)[1]
    meta = _strict(text)
    assert meta["spread_S"] is None and meta["rates"] == [None, 0.5]
    loaded = FaultMap.load(path)
    assert loaded.meta["spread_S"] is None and loaded.meta["rates"] == [None, 0.5]
    if suffix == ".csv":  # an older file's bare token
        lines = path.read_text().splitlines()
        lines[0] = lines[0].replace('"spread_S": null', '"spread_S": NaN')
        path.write_text("\n".join(lines) + "\n")
        assert FaultMap.load(path).meta["spread_S"] is None


def test_a_fault_maps_meta_refuses_what_json_cannot_hold():
    chip = load_preset("paper-sim").with_faults(0.1)
    fmap = FaultMap.generate(chip, 1, seed=0)
    with pytest.raises(FileFormatError, match="meta must hold JSON data only"):
        FaultMap(fmap.g_stuck, {"when": object()})
