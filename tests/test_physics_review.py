"""A device researcher's review of the chip and circuit model: what the package prints and
writes about the paper cites the paper itself (its abstract, plots or protocol), never a
numbered section of a notes file the project does not hold, and never credits the paper with
figures it does not publish (the literature ranges behind the ``rram`` preset)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xbarmem.energy.circuit import circuit_names, circuit_toml
from xbarmem.hardware.chip import preset_names, preset_toml

ROOT = Path(__file__).resolve().parents[1]
#: a bare section number ("§5", "§ 8"): the paper's sections are not numbered so
SECTION = re.compile(r"§\s*\d")


def _texts(pattern: str) -> list[Path]:
    """The project's files matching ``pattern`` (a glob from the checkout's root); the
    CHANGELOG quotes old wording and ``docs/history`` keeps the record as it was."""
    return sorted(p for p in ROOT.glob(pattern)
                  if p.is_file() and "history" not in p.relative_to(ROOT).parts)


@pytest.mark.parametrize("pattern", [
    "src/xbarmem/**/*.py", "src/xbarmem/**/*.toml", "docs/*.md", "README.md",
    "examples/**/*.py", "examples/**/*.toml", "benchmarks/**/*.py", "scripts/**/*.py"])
def test_no_file_cites_a_numbered_section_of_the_paper(pattern):
    files = _texts(pattern)
    assert files, f"no file matches {pattern}"
    cited = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
             for p in files for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if SECTION.search(line)]
    assert not cited, "\n".join(cited)


@pytest.mark.parametrize("text", [
    *(pytest.param(lambda n=n: preset_toml(n), id=f"chip show {n}") for n in preset_names()),
    *(pytest.param(lambda n=n: circuit_toml(n), id=f"circuit show {n}")
      for n in circuit_names())])
def test_what_chip_and_circuit_show_print_cites_no_section_and_credits_no_range_to_the_paper(
        text):
    """``chip show rram`` said the preset's literature ranges came from "He et al. 2026, §8":
    the paper publishes no chip constants (the same file says so two lines up)."""
    printed = text()
    assert not SECTION.search(printed), printed
    assert not re.search(r"He et al\.?,? \(?2026\)?,? §", printed), printed


def test_the_docs_give_no_preset_a_wider_window_than_another_of_the_same_window():
    """docs/reproduction.md measured the `ideal` chip "(wider conductances)": `ideal`,
    `paper-sim` and `rram` share one window; what differs is how weights map onto it."""
    from xbarmem.hardware.chip import load_preset

    windows = {(load_preset(n).device.g_min, load_preset(n).device.g_max) for n in preset_names()}
    assert len(windows) == 1
    said = [f"{p.relative_to(ROOT)}:{n}" for p in _texts("docs/*.md") + _texts("README.md")
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"(wider|narrower) (conductances|window)", line)
            and re.search(r"`(ideal|rram|paper-sim)`", line)]
    assert not said, said
