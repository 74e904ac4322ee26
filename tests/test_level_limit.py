"""A device has at most MAX_LEVELS conductance levels: beyond, float32 weights cannot be put
on their nearest level (level_index's float32 tie band grows with the level count)."""

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import MAX_LEVELS
from xbarmem.hardware.crossbar import level_index


def test_more_levels_than_float32_weights_resolve_are_refused(tmp_path, run_cli):
    chip = xm.load_preset("rram")
    assert chip.replace_device(levels=MAX_LEVELS).device.levels == MAX_LEVELS
    with pytest.raises(ConfigError, match=r"device.levels = 65537 is more than float32 weights "
                                          r"resolve \(at most 65536\).*levels = 0"):
        chip.replace_device(levels=MAX_LEVELS + 1)
    path = tmp_path / "fine.toml"
    path.write_text("[device]\nlevels = 1048576\n")
    code, out, err = run_cli("chip", "show", path)
    assert code == 2 and err.count("\n") == 1 and "at most 65536" in err, err


@pytest.mark.parametrize("levels", [2, 3, 256, 4097, MAX_LEVELS])
def test_level_index_stays_within_half_a_level_up_to_the_limit(levels):
    """Up to the limit the nearest level is off by at most float32 rounding beyond half a
    level (a tie within float32 rounding goes to the even level); at 2**20 levels it was off
    by up to a whole level for a quarter of the values."""
    r = np.random.default_rng(levels).uniform(0, levels - 1, 200_000)
    off = np.abs(level_index(r) - r)
    assert off.max() <= 0.5 + 4 * np.finfo(np.float32).eps * levels
    assert np.mean(level_index(r) != np.round(r)) < 0.02
