"""Architectures, pattern kinds and chips other than the tests favour, as a reviewer tries
them: multilayer memories of unusual widths, continuous patterns, the device fault model with
a share of stuck-ON devices, tiny memories."""

import pytest

from xbarmem.errors import ConfigError
from xbarmem.experiments import parse_sweep


# ------------------------------------------------- on_fraction that changes nothing
def _sweep(base: dict, grid: dict | None = None) -> dict:
    tables = {"sweep": {"name": "of", "trial": "evaluate"},
              "base": {"data": "random", "n_neurons": 9, "patterns": 2, "pool": 4, **base}}
    if grid:
        tables["grid"] = grid
    return tables


@pytest.mark.parametrize(("base", "grid"), [
    ({"chip": "rram", "on_fraction": 0.9}, None),
    ({"chip": "rram"}, {"on_fraction": [0.0, 1.0]}),
    ({"chip": "paper-sim", "fault_model": "device", "on_fraction": 0.25}, None),
    ({"chip": "rram", "arch": "multilayer", "hidden": ["1n", 8]}, {"on_fraction": [0.2, 0.8]}),
    ({"chip": "rram", "kind": "continuous", "on_fraction": 1.0}, {"rule": ["pinv", "hebb"]}),
])
def test_on_fraction_without_fault_rate_is_refused_by_a_sweep(base, grid):
    """Without fault_rate a trial's chip keeps its own stuck rates (and their ON/OFF split):
    `on_fraction` changed nothing, yet its rows said it did and a grid over it ran identical
    trials under different keys. `--on-fraction` without `--faults` is refused by every
    command; a sweep now refuses it too, naming the key."""
    with pytest.raises(ConfigError, match=r"on_fraction = [0-9.]+: applies with fault_rate "
                                          r"only"):
        parse_sweep(_sweep(base, grid))


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_on_fraction_with_fault_rate_sets_the_stuck_on_share(rate):
    """With fault_rate the share is applied: trials differ by their chip (with fault_rate 0,
    which leaves no stuck device to split, the axis is refused: tests/test_experiments.py)."""
    spec = parse_sweep(_sweep({"chip": "rram", "fault_rate": rate},
                              {"on_fraction": [0.0, 1.0]}))
    devices = [t.config["chip_spec"]["device"] for t in spec.trials]
    assert len(devices) == 2
    assert [d["p_stuck_on"] for d in devices] == [0.0, rate]
    assert [d["p_stuck_off"] for d in devices] == [rate, 0.0]
