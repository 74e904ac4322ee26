"""A pattern file whose 'labels' array cannot be used (not one whole number per pattern) is
refused for one pattern per class naming what is wrong with that array, wherever it is asked
for (``load_patterns``, ``train --one-per-class``, ``energy``'s default, a sweep's ``selection =
"one-per-class"``): the reader's warning saying why is dropped by a refused command (one error
line), and the errors said "this file has no such array" / "has no class labels" of a file that
holds a 'labels' array."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xbarmem as xm

PATTERNS = np.where(np.eye(4, 16) > 0, 1, -1)
#: labels saved beside PATTERNS, and what the error says of them
LABELS = {
    "fractional": (np.array([0.5, 1, 2, 0]), "'labels' array holds float64 values, not whole "
                                             "numbers"),
    "too few": (np.array([0, 1]), "'labels' array has shape (2,), not one label per pattern "
                                  "(4)"),
    "a table": (np.zeros((4, 2), dtype=int), "'labels' array has shape (4, 2), not one label "
                                             "per pattern (4)"),
    "true/false": (np.array([True, False, True, False]), "'labels' array holds bool values, "
                                                          "not whole numbers"),
}


def _refusal(run_cli, tmp_path, how: str) -> tuple[int, str]:
    """(exit code, error text) of asking the file lab.npz in tmp_path for one pattern per
    class through ``how``."""
    path = tmp_path / "lab.npz"
    if how == "load_patterns":
        with pytest.warns(xm.XbarmemWarning), pytest.raises(xm.PatternError) as info:
            xm.load_patterns(path, one_per_class=True)
        return 2, str(info.value)
    if how == "sweep":
        (tmp_path / "s.toml").write_text(
            '[sweep]\ntrial = "evaluate"\n[base]\ndata = "lab.npz"\nn_neurons = 16\n'
            'patterns = 2\nselection = "one-per-class"\nrule = "hebb"\n')
        code, _, err = run_cli("sweep", tmp_path / "s.toml", "--store", tmp_path / "r.sqlite",
                               "--dry-run")
        return code, err
    code, _, err = run_cli("train", "--one-per-class", "-o", tmp_path / "m.safetensors",
                           "--data", path, "--rule", "hebb")
    return code, err


@pytest.mark.parametrize("case", LABELS)
def test_energy_of_a_file_of_unusable_labels_stores_its_first_patterns(run_cli, tmp_path,
                                                                        case):
    """`energy`'s one pattern per class is its default for a file with labels only: a file
    whose labels cannot be read is read without them, with a warning naming them, and its
    first patterns stored (all of them, fewer than 10), as a file without labels."""
    labels, _ = LABELS[case]
    np.savez(tmp_path / "lab.npz", patterns=PATTERNS, labels=labels)
    code, out, err = run_cli("energy", "--probes", "1", "--data", tmp_path / "lab.npz",
                             "--rule", "hebb", "--json")
    assert code == 0, err
    assert "'labels'" in err and "loaded without labels" in err
    assert json.loads(out)["settings"]["n_patterns"] == len(PATTERNS), out


@pytest.mark.parametrize("how", ["load_patterns", "train", "sweep"])
@pytest.mark.parametrize("case", LABELS)
def test_unusable_labels_are_named_when_one_per_class_is_refused(run_cli, tmp_path, case,
                                                                 how, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (a sweep's data file is found from the working folder)
    labels, words = LABELS[case]
    np.savez(tmp_path / "lab.npz", patterns=PATTERNS, labels=labels)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _refusal(run_cli, tmp_path, how)
    assert code == 2 and f"this file's {words}" in " ".join(err.split()), err
    assert "has no such array" not in err and "no 'labels' array" not in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".toml") == before


@pytest.mark.parametrize("how", ["load_patterns", "train", "sweep"])
def test_a_file_without_labels_is_still_said_to_have_none(run_cli, tmp_path, how,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "lab.npz", patterns=PATTERNS)
    if how == "load_patterns":
        with pytest.raises(xm.PatternError, match="this file has no such array"):
            xm.load_patterns(tmp_path / "lab.npz", one_per_class=True)
        return
    code, err = _refusal(run_cli, tmp_path, how)
    assert code == 2 and ("this file has no such array" in err if how == "train" else
                          "has no class labels (this file has no 'labels' array)" in err), err
