"""The multilayer memory through every door: wrong combinations of hidden widths and fault maps
refused in one line before any work, alike on the command line and in Python."""

from __future__ import annotations

import pytest


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
