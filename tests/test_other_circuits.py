"""Cost-model inputs a circuit designer builds by hand: a layer's counts that contradict each
other were priced as given (a layer of 64 outputs on 64-column arrays said to span 5 column
tiles paid 5x its drivers)."""

from __future__ import annotations

import dataclasses

import pytest

from xbarmem.energy.model import LayerLoad
from xbarmem.errors import ConfigError

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
