"""The memory limit: parsing of XBARMEM_MAX_BYTES and the refusal message."""

import pytest

from xbarmem.errors import ConfigError
from xbarmem.limits import (
    DEFAULT_MAX_BYTES,
    ENV,
    TooLargeError,
    array_bytes,
    check_bytes,
    human,
    max_bytes,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("", DEFAULT_MAX_BYTES), ("1024", 1024), ("512M", 512 * 2**20), ("2g", 2 * 2**30),
    ("1.5GiB", 3 * 2**29), ("0", None), ("none", None)])
def test_max_bytes_reads_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv(ENV, text)
    assert max_bytes() == expected


@pytest.mark.parametrize("text", ["-1", "lots", "2X", "1e9"])
def test_a_malformed_limit_is_refused(monkeypatch, text):
    monkeypatch.setenv(ENV, text)
    with pytest.raises(ConfigError, match=ENV):
        max_bytes()


def test_check_bytes_names_estimate_and_limit(monkeypatch):
    monkeypatch.setenv(ENV, "1M")
    check_bytes("a small thing", 2**20)  # at the limit: allowed
    with pytest.raises(TooLargeError, match=r"a big thing would need about 3 GiB .*1 MiB"):
        check_bytes("a big thing", 3 * 2**30)
    monkeypatch.setenv(ENV, "0")
    check_bytes("anything", 10**30)


def test_array_bytes_and_human():
    assert array_bytes(10**9, 10**9, itemsize=4) == 4 * 10**18  # no int64 overflow
    assert array_bytes(-3, 5) == 0
    assert human(100) == "100 B" and human(1536) == "1.5 KiB" and human(3 * 2**30) == "3 GiB"


def test_a_capacity_search_is_sized_as_one_network_at_a_time():
    """A search trains one network per tested count, one after the other: the full run's
    N = 784 multilayer search fits under the default limit; many networks per group do not."""
    import pytest

    from xbarmem.errors import ConfigError
    from xbarmem.experiments.sweep import parse_sweep

    base = {"data": "mnist", "arch": "multilayer", "n_neurons": 784, "hidden": 784,
            "pool": 5000, "probes": 10, "thresholds": [0.99], "corruption": "flip",
            "level": 0.05}
    parse_sweep({"sweep": {"name": "big", "trial": "capacity"},
                 "base": {**base, "search": True}}, source="t.toml")
    with pytest.raises(ConfigError, match="would need about"):
        parse_sweep({"sweep": {"name": "big", "trial": "capacity"},
                     "base": {**base, "counts": [1000, 2000, 3000, 4000]}}, source="t.toml")


def test_the_python_api_refuses_a_memory_too_large_before_allocating(monkeypatch):
    """xm.train of a (2, 5000) matrix ran out of memory after 13 s (the command line checked
    the request, the library did not): every memory checks its own estimate when built."""
    import numpy as np

    import xbarmem as xm
    from xbarmem.memory.multilayer import MultilayerMemory

    patterns = np.ones((2, 256), dtype=np.float32)
    patterns[1, ::2] = -1
    monkeypatch.setenv(ENV, "8M")
    with pytest.raises(TooLargeError, match=r"a memory of N = 256 neurons .* above the limit"):
        xm.train(patterns, rule="hebb")
    with pytest.raises(TooLargeError, match="a memory of 256-128-256 neurons"):
        MultilayerMemory(256, 128)
    monkeypatch.setenv(ENV, "64M")
    assert xm.train(patterns, rule="hebb").n_neurons == 256
