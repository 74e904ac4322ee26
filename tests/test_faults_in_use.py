"""`Memory.faults_in_use` and `train`'s summary count the faults where the memory lies."""

import numpy as np
import pytest

from xbarmem import FaultMap, load_preset
from xbarmem.memory.build import make_memory


def _memory(chip, fmap, hidden=None, n=20):
    return make_memory(n, arch="multilayer" if hidden else "single", hidden=hidden, chip=chip,
                       faults=fmap)


def test_stuck_devices_outside_the_memory_are_not_its_own(tmp_path):
    """A 20-neuron memory uses 20 x 21 pairs of a 64 x 64 array: a map whose stuck devices
    all lie elsewhere leaves it clean, though 'x% of the chip's devices stuck' said
    otherwise."""
    chip = load_preset("rram")
    g = np.full((1, 2, 64, 64), np.nan)
    g[0, 0, 40:, 40:] = chip.device.g_max  # rows/columns the memory does not use
    g[0, 1, 0, 0] = chip.device.g_min      # one device it uses (row 0, column 0)
    memory = _memory(chip, FaultMap(g))
    used = memory.faults_in_use()
    assert used == {"devices": 2 * 20 * 21, "stuck": 1, "stuck_on": 0, "stuck_off": 1,
                    "weights": 20 * 21, "weights_faulty": 0}


def test_faults_in_use_counts_pairs_pins_and_layers():
    chip = load_preset("rram")
    g = np.full((2, 2, 64, 64), np.nan)
    g[0, :, 3, 5] = chip.device.g_min  # both devices of one pair: a faulty weight
    g[0, 0, 4, 5] = chip.device.g_max
    g[1, 0, 0, 0] = chip.device.g_max  # the second layer's array
    pinned = np.zeros(g.shape, dtype=bool)
    pinned[0, 0, 4, 5] = True  # pinned by adaptation: not stuck
    fmap = FaultMap(g, pinned=pinned)
    used = _memory(chip, fmap, hidden=[8]).faults_in_use()
    assert used["stuck"] == 3 and used["stuck_on"] == 1 and used["weights_faulty"] == 1
    assert used["weights"] == 8 * 21 + 20 * 9 and used["devices"] == 2 * used["weights"]


@pytest.mark.parametrize("preset", ["rram", "paper-sim"])
def test_faults_in_use_counts_the_used_block_of_a_generated_map(preset):
    """N = 63 with its bias row uses rows 0..63 and columns 0..62 of one 64 x 64 array."""
    chip = load_preset(preset).with_faults(0.3)
    fmap = FaultMap.generate(chip, 1, seed=3)
    used = _memory(chip, fmap, n=63).faults_in_use()
    block = ~np.isnan(fmap.g_stuck[0, :, :, :63])  # (2, rows = inputs + bias, cols = outputs)
    if preset == "paper-sim":  # the weight model: the bias row is never faulty
        block[:, 63, :] = False
    on = fmap.g_stuck[0, :, :, :63][block] >= 0.5 * (chip.device.g_min + chip.device.g_max)
    assert used["stuck"] == block.sum() > 0 and used["stuck_on"] == on.sum()
    assert used["weights_faulty"] == block.all(axis=0).sum()
