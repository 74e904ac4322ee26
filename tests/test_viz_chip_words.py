"""A figure names a chip file as every other command names it (``xbarmem capacity --chip
FILE``: ``tiny chip``, the name the file gives itself), not by its path (``/tmp/x/sw/tiny.toml
chip``); two files that would read alike by their paths from the folder they share. Presets
read as before."""

from __future__ import annotations

import pytest

from tests.test_viz import _eval_row
from xbarmem.viz.results import plot_rows


def _rows(chips: list[tuple[str, str | None]]) -> list[dict]:
    """Rows of a faults figure, one line per (chip as stored, the name its spec records)."""
    return [_eval_row("hebb", f, 0.9 - f / 2 - i / 10, chip=chip,
                      **({"chip_spec": {"name": name}} if name is not None else {}))
            for i, (chip, name) in enumerate(chips) for f in (0.0, 0.2, 0.4)]


def _labels(fig) -> list[str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return sorted(t.get_text().split(" (=")[0].replace("\n", " ")
                  for t in legend.get_texts())


LINES = {
    "two files of one name": ([("/tmp/x/sw/tiny.toml", "tiny"), ("/tmp/x/sw2/tiny.toml", "tiny")],
                              ["sw/tiny.toml chip", "sw2/tiny.toml chip"]),
    "relative paths": ([("sw/tiny.toml", "tiny"), ("other/sw/tiny.toml", "tiny")],
                       ["other/sw/tiny.toml chip", "sw/tiny.toml chip"]),
    "a file and a preset": ([("/tmp/x/chips/tiny.toml", "tiny"), ("rram", "rram")],
                            ["rram chip", "tiny chip"]),
    "a file named as a preset": ([("/tmp/x/chips/copy.toml", "rram"), ("rram", "rram")],
                                 ["copy.toml chip", "rram chip"]),
    "its own name": ([("/tmp/x/a.toml", "my-chip"), ("/tmp/x/b.json", None)],
                     ["b chip", "my-chip chip"]),
    "presets": ([("rram", "rram"), ("paper-sim", "paper-sim")], ["paper-sim chip", "rram chip"]),
}


@pytest.mark.parametrize("case", LINES)
def test_lines_of_chip_files_are_named_as_other_commands_name_them(case):
    chips, words = LINES[case]
    fig = plot_rows(_rows(chips), "faults")
    assert _labels(fig) == words
    assert "/tmp" not in " ".join(_labels(fig))
    assert len(set(_labels(fig))) == len(chips)  # (kept apart)


@pytest.mark.parametrize(("chip", "name", "words"), [
    ("/tmp/x/sw/tiny.toml", "tiny", "tiny chip"), ("/tmp/x/sw/tiny.toml", None, "tiny chip"),
    ("chips/edited.toml", "edited", "edited chip"), ("rram", "rram", "rram chip")])
def test_a_title_names_a_chip_file_by_its_name(chip, name, words):
    title = plot_rows(_rows([(chip, name)]), "faults").axes[0].get_title().replace("\n", " ")
    assert words in title.split(", ")
    assert "/" not in title


def test_panels_of_chip_files_are_titled_by_their_names():
    rows = []
    for rule in ("hebb", "pinv"):
        for r in _rows([("/tmp/x/sw/tiny.toml", "tiny"), ("/tmp/x/sw2/tiny.toml", "tiny")]):
            r["config"]["rule"] = rule
            rows.append(r)
    titles = sorted(ax.get_title() for ax in plot_rows(rows, "faults").axes
                    if ax.get_visible() and ax.get_title())
    assert titles == ["sw/tiny.toml chip", "sw2/tiny.toml chip"]
