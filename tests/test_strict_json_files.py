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


def test_reproduces_energy_cache_keeps_no_non_finite_measurement(tmp_path, monkeypatch):
    """Section (f)'s cache (``f-energy.json``) with a non-finite measurement (NaN injected in
    a ratio, inf in a step count) was written with the bare ``NaN``/``Infinity`` tokens, then
    as null, which the next run refused ("delete it to measure again"). The run reports what
    it measured and says in one line that it kept no cache; the next run measures again; a
    finite measurement is cached as strict JSON and read back."""
    from types import SimpleNamespace

    from xbarmem.energy import measure as energy
    from xbarmem.experiments import reproduce as rep

    ratios = {"energy_ratio": math.nan, "latency_reduction": 0.99}
    calls, logged = [], []
    monkeypatch.setattr(energy, "measure", lambda n, seed=0: calls.append(n) or SimpleNamespace(
        sync_steps=[2.0], async_steps=[90.0]))
    monkeypatch.setattr(energy, "energy_report", lambda m, circuit: {"ratios": dict(ratios)})
    monkeypatch.setattr(energy, "measure_sizes", lambda sizes, circuit, seed=0: {"rows": [
        {"n_neurons": 16, "sync_steps": math.inf, "async_steps": 9.0, **ratios}]})
    ctx = SimpleNamespace(quick=True, out_dir=tmp_path, log=logged.append)
    data = rep.Energy().measured(ctx, 0)
    assert math.isnan(data["generic-rram"]["energy_ratio"])  # (the run reports what it measured)
    cache = tmp_path / rep.Energy.CACHE
    assert not cache.exists()
    assert logged[-1] == "(f) energy: generic-rram.energy_ratio must be a finite number; not cached"
    rep.Energy().measured(ctx, 0)
    assert len(calls) == 2 and not cache.exists()  # (measured again, not refused)
    ratios["energy_ratio"] = 4.5
    monkeypatch.setattr(energy, "measure_sizes", lambda sizes, circuit, seed=0: {"rows": [
        {"n_neurons": 16, "sync_steps": 2.0, "async_steps": 9.0, **ratios}]})
    first = rep.Energy().measured(ctx, 0)
    assert _strict(cache.read_text())["generic-rram"]["energy_ratio"] == 4.5
    assert rep.Energy().measured(ctx, 0) == first and len(calls) == 3
