"""What the commands print for people, round three: captions under tables at the terminal's
width, adapt's one account of its rounds, demo's JSON for one chip, the one name of each data
source in every title and line, and train's account of its steps by stage. Tiny settings;
in-process through ``run_cli``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_output_words import CAPACITY_SWEEP, _swept


# ------------------------------------------------------------------------------ captions
def test_a_caption_is_printed_under_its_table_at_the_terminals_width(run_cli, tmp_path):
    """`results`' caption was centred under the table and wrapped to its width (26 characters
    under a narrow table on an 80-column terminal): now its own lines at the terminal's."""
    code, out, err = run_cli("results", _swept(run_cli, tmp_path, CAPACITY_SWEEP))
    assert code == 0, err
    lines = out.splitlines()
    table_width = max(len(line) for line in lines if "│" in line)
    (first,) = [line for line in lines if "same in every row" in line]
    assert first.startswith("same in every row: sweep=c, n_neurons=16"), out
    assert len(first) > table_width, out


def test_a_grouped_tables_caption_is_printed_under_it_too(run_cli, tmp_path):
    store = _swept(run_cli, tmp_path, CAPACITY_SWEEP)
    code, out, err = run_cli("results", store, "--group-by", "rule")
    assert code == 0, err
    assert any(line.startswith("each metric: the mean over the n rows of a group, then +-std")
               for line in out.splitlines()), out
