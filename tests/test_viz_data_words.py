"""A figure names a data file as every other command names it (``xbarmem capacity --data
FILE``: ``two.npz``, its name without its folder), not by its path (``/tmp/x/a/two.npz``);
files that would read alike (one name in two folders, a built-in set's name) by their paths
from the folder they share, else as given. Built-in sets read as before."""

from __future__ import annotations

import pytest

from tests.test_viz import _eval_row
from xbarmem.viz.results import plot_rows
from xbarmem.viz.series import data_names


def _rows(sources: list[str]) -> list[dict]:
    """Rows of a faults figure, one line per data source as a sweep stores it."""
    return [_eval_row("hebb", f, 0.9 - f / 2 - i / 10, data=data)
            for i, data in enumerate(sources) for f in (0.0, 0.2, 0.4)]


def _labels(fig) -> list[str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return sorted(t.get_text().split(" (=")[0].replace("\n", " ")
                  for t in legend.get_texts())


LINES = {
    "two files of one name": (["/tmp/x/a/two.npz", "/tmp/x/b/two.npz"],
                              ["a/two.npz", "b/two.npz"]),
    "a file and a built-in set": (["/tmp/x/a/mine.npy", "digits"], ["8x8 digit", "mine.npy"]),
    "two files": (["/tmp/x/a/one.npy", "/tmp/y/two.csv"], ["one.npy", "two.csv"]),
    "built-in sets": (["digits", "mnist"], ["8x8 digit", "MNIST"]),
}


@pytest.mark.parametrize("case", LINES)
def test_lines_of_data_files_are_named_as_other_commands_name_them(case):
    sources, words = LINES[case]
    labels = _labels(plot_rows(_rows(sources), "faults"))
    assert labels == words
    assert "/tmp" not in " ".join(labels)


@pytest.mark.parametrize(("data", "words"), [("/tmp/x/sw/two.npz", "two.npz"),
                                             ("rel/pats.csv", "pats.csv"),
                                             ("digits", "8x8 digit")])
def test_a_title_names_a_data_file_by_its_name(data, words):
    title = plot_rows(_rows([data]), "faults").axes[0].get_title().replace("\n", " ")
    assert words in title
    assert "/" not in title


@pytest.mark.parametrize("stored", ["/tmp/x/digits", "/tmp/x/mnist"])
def test_a_file_named_as_a_built_in_set_is_not_read_as_that_set(stored):
    """A file whose name is a built-in set's (no suffix) keeps its path: its name alone would
    be put into that set's words (``8x8 digit``)."""
    assert data_names(_rows([stored, "random"]))[stored] == stored
