"""Cost-model inputs a circuit designer builds by hand: a layer's counts and a measurement's
step counts that contradict each other were priced as given (a layer of 64 outputs on 64-column
arrays said to span 5 column tiles paid 5x its drivers; async sweeps of other recalls than the
async steps were reported beside them; negative or fractional sweeps were reported), or failed
inside numpy (no sweeps; sweeps given as a list)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xbarmem.energy.circuit import load_circuit
from xbarmem.energy.measure import Measurement, energy_report
from xbarmem.energy.model import LayerLoad
from xbarmem.errors import ConfigError, XbarmemError

#: N = 64 with a bias row on 64 x 64 arrays, as LayerLoad.from_crossbar describes it
LAYER = LayerLoad(n_out=64, n_rows=65, row_tiles=2, col_tiles=1, tile_cols=64, g_total=0.1,
                  devices=2 * 64 * 65, free_devices=2 * 64 * 65, bias_rows=1)


@pytest.mark.parametrize(("changes", "message"), [
    ({"col_tiles": 5}, "layer col_tiles must be ceil(n_out / tile_cols) = 1"),
    ({"tile_cols": 8}, "layer col_tiles must be ceil(n_out / tile_cols) = 8"),
    ({"tile_cols": 8, "col_tiles": 7}, "layer col_tiles must be ceil(n_out / tile_cols) = 8"),
    ({"row_tiles": 66}, "layer row_tiles must be at most n_rows = 65"),
    ({"devices": 10, "free_devices": 10}, "layer devices must be 2 x n_out x n_rows = 8320"),
    ({"devices": 2 * 8320, "free_devices": 8320},
     "layer devices must be 2 x n_out x n_rows = 8320"),
    ({"n_out": 32}, "layer devices must be 2 x n_out x n_rows = 4160"),
], ids=["col-tiles", "tile-cols", "both", "row-tiles", "few-devices", "many-devices", "n-out"])
def test_a_layer_whose_counts_contradict_each_other_is_refused(changes, message):
    with pytest.raises(ConfigError, match=r"^" + message.replace("(", r"\(").replace(
            ")", r"\)")):
        dataclasses.replace(LAYER, **changes)


@pytest.mark.parametrize("changes", [
    {}, {"tile_cols": 8, "col_tiles": 8}, {"tile_cols": 100}, {"row_tiles": 65},
    {"n_rows": 64, "bias_rows": 0, "devices": 8192, "free_devices": 8000},
], ids=["as-read", "small-tiles", "wide-tiles", "one-row-tiles", "no-bias"])
def test_a_layer_whose_counts_agree_is_taken_as_before(changes):
    assert dataclasses.replace(LAYER, **changes).n_out == 64


def _measurement(**changes) -> Measurement:
    base = {"layers": [LAYER], "read_voltage": 0.2, "sync_steps": np.array([2, 3]),
            "async_steps": np.array([128, 192]), "async_sweeps": np.array([2, 3])}
    return Measurement(**{**base, **changes})


@pytest.mark.parametrize(("changes", "message"), [
    ({"async_sweeps": np.array([], dtype=np.int64)}, "async_sweeps must be a non-empty list"),
    ({"async_sweeps": np.array([-1, 2])}, "async_sweeps must be a non-empty list"),
    ({"async_sweeps": np.array([2.5, 3])}, "async_sweeps must be a non-empty list"),
    ({"sync_steps": np.array([np.nan, 2])}, "sync_steps must be a non-empty list"),
    ({"async_steps": np.array([[128, 192]])}, "async_steps must be a non-empty list"),
    ({"async_steps": np.array([128])}, "async_steps and async_sweeps must hold one count "
                                       "per cue each"),
    ({"async_sweeps": np.array([2, 3, 3])}, "async_steps and async_sweeps must hold one "
                                            "count per cue each"),
    ({"read_voltage": -0.2}, "read_voltage must be"),
    ({"layers": []}, "layers must hold at least one LayerLoad"),
    ({"layers": LAYER}, "layers must be a list of LayerLoad"),
], ids=["empty-sweeps", "negative-sweeps", "fractional-sweeps", "nan-steps", "2d-steps",
        "fewer-async-steps", "more-sweeps", "negative-volts", "no-layers", "not-a-list"])
def test_a_measurement_that_cannot_be_priced_is_refused_naming_the_field(changes, message):
    with pytest.raises(XbarmemError, match=r"^" + message):
        energy_report(_measurement(**changes), load_circuit("generic-rram"))


def test_sync_recalls_of_other_cues_are_still_priced():
    """Sync and async recalls may be of different cue sets (each mean is over its own)."""
    report = energy_report(_measurement(sync_steps=np.array([2, 3, 2])), "generic-rram")
    assert (report["sync"]["cues"], report["async"]["cues"]) == (3, 2)


def test_a_measurement_of_lists_is_priced_as_of_arrays():
    """Lists of counts (steps of one's own recalls) price as the arrays; the sweeps' spread
    was an AttributeError ('list' object has no attribute 'astype')."""
    listed = _measurement(sync_steps=[2, 3], async_steps=[128, 192], async_sweeps=[2, 3])
    assert energy_report(listed, "generic-rram") == energy_report(_measurement(),
                                                                  "generic-rram")
