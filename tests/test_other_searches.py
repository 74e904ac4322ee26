"""capacity and scaling runs on cases beyond the documented examples: what they print of each
tested count beside the capacities they report."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xbarmem.errors import ConfigError

# (threshold, cosine of a count below it, how its progress line must read it): 4 decimals put
# each of these cosines at its threshold ("0.9900" for a count not recalled at 0.99)
BELOW = [(0.99, 0.98996, "0.98996"), (0.9999, 0.999875, "0.99987"), (0.5, 0.49996, "0.49996")]


def _stopping(progress, count: int, cosine: float) -> None:
    """Report one tested count through a search's ``progress``, then stop the command."""
    progress(count, cosine)
    raise ConfigError("stopped after one tested count")


@pytest.mark.parametrize(("threshold", "cosine", "shown"), BELOW)
def test_capacity_progress_line_keeps_a_count_below_the_threshold_below(
        run_cli, monkeypatch, threshold, cosine, shown):
    """capacity's progress line of a tested count printed its cosine with 4 decimals, so a
    count below the threshold read as at it (``P=7: cosine 0.9900`` at 0.99, the capacity
    then below 7); it shows the digits that put it below, as the ``tested`` line does."""
    from xbarmem.evaluation import capacity

    monkeypatch.setattr(capacity, "find_capacity",
                        lambda *a, progress, **k: _stopping(progress, 7, cosine))
    code, _, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", 16,
                           "--trials", 1, "--probes", 1, "--threshold", threshold)
    assert code == 2, err
    assert f"single P=7: cosine {shown}\n" in err


@pytest.mark.parametrize(("threshold", "cosine", "shown"), BELOW)
def test_scaling_progress_line_keeps_a_count_below_the_threshold_below(
        run_cli, monkeypatch, tmp_path, threshold, cosine, shown):
    """scaling's progress line, as capacity's (``N=16 P=7: cosine 0.9900`` at 0.99)."""
    from xbarmem.evaluation import scaling

    monkeypatch.setattr(scaling, "run_scaling", lambda sizes, *, progress, **k: _stopping(
        lambda p, s: progress(sizes[0], p, s), 7, cosine))
    code, _, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--data", "random",
                           "--sizes", 16, "--trials", 1, "--probes", 1, "--threshold",
                           threshold, "-o", tmp_path / "out")
    assert code == 2, err
    assert f"N=16 P=7: cosine {shown}\n" in err


def test_progress_line_of_a_count_away_from_every_threshold_keeps_4_decimals():
    """A cosine away from every threshold reads as before (4 decimals)."""
    from xbarmem.cli.capacity_output import tested_line

    assert tested_line("single", 5, 0.98746, [0.9, 0.99]) == "single P=5: cosine 0.9875"
    assert tested_line("N=16", 2, 1.0, [0.99]) == "N=16 P=2: cosine 1.0000"


NARROW = [lambda x: [np.float32(x)], lambda x: (np.float32(x),), lambda x: [np.float16(x)],
          lambda x: (np.float16(x),)]


@pytest.mark.parametrize("listing", NARROW)
@pytest.mark.parametrize("search", ["find_capacity", "run_scaling"])
def test_thresholds_listed_as_numpy_float32_or_float16_read_as_their_arrays_do(search, listing):
    """A threshold listed as a numpy float32 or float16 number was taken as the value its type
    holds, widened (0.949999988..., 0.9501953125 of float16 0.95: a count of cosine exactly
    0.95 failed it), and keyed so in ``capacity``; it is read as the shortest decimal of its
    type, as the same value in a float32 or float16 array always was (0.95)."""
    import xbarmem as xm

    protocol = xm.Protocol(probes=1, level=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xm.XbarmemWarning)
        if search == "find_capacity":
            res = xm.find_capacity(xm.random_patterns(12, 16, seed=0), rule="pinv", trials=1,
                                   protocol=protocol, thresholds=listing(0.95))
            caps, kept = res.capacity, res.settings["thresholds"]
        else:
            res = xm.run_scaling([16], arch="single", rule="pinv", data="random", pool_size=12,
                                 protocol=protocol, thresholds=listing(0.95))
            caps, kept = res["capacity"], res["settings"]["thresholds"]
    assert list(caps) in ([0.95], ["0.95"])
    assert kept == [0.95]
