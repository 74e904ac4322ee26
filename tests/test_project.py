"""Project hygiene: the README's commands are what CI runs; shipped data is present."""

from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    test_line = next(line for line in readme[:10] if "pytest" in line)
    command = test_line.split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines()
    assert command.startswith("pip install torch==2.13.0")
    if " -n " in command:  # the workers' plugin comes with the test extra it installs
        assert '"pytest-xdist' in (ROOT / "pyproject.toml").read_text()


def test_readme_first_command_runs_the_demo():
    readme = (ROOT / "README.md").read_text().splitlines()
    first = next(line for line in readme[:10] if "pip install" in line)
    assert "xbarmem demo" in first and first.startswith("pip install torch==2.13.0")


def test_bundled_data_and_presets_ship_with_the_package():
    data = resources.files("xbarmem.data")
    assert (data / "datasets" / "mnist-10k.npz").is_file()
    assert "LeCun" in (data / "datasets" / "README.md").read_text()
    assert (resources.files("xbarmem.energy") / "circuits" / "generic-rram.toml").is_file()
    pkg = resources.files("xbarmem.hardware")
    for name in ("ideal", "rram", "paper-sim"):
        assert (pkg / "presets" / f"{name}.toml").is_file()


def test_no_pickle_loading_in_sources():
    sources = sorted((ROOT / "src" / "xbarmem").rglob("*.py"))
    assert len(sources) >= 50, ROOT
    for path in sources:
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path


def test_license_file_matches_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "xbarmem developers" in text
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_mnist_licence_ships_with_the_data():
    licence = resources.files("xbarmem.data") / "datasets" / "LICENSE-MNIST.md"
    text = licence.read_text()
    assert "CC BY-SA 3.0" in text and "LeCun" in text and "mnist-10k.npz" in text
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["xbarmem.data"]
    assert "datasets/*.md" in package_data  # the licence file is packaged with the .npz


def test_citation_cff_cites_the_software_and_the_paper():
    yaml = pytest.importorskip("yaml")
    from xbarmem.version import __version__

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors"):  # required by CFF 1.2.0
        assert cff[key], key
    assert cff["cff-version"] == "1.2.0" and cff["version"] == __version__
    assert cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert paper["type"] == "article" and paper["journal"] == "Nature Communications"
    assert paper["title"].startswith("A hardware-adaptive learning algorithm")
    assert (paper["year"], paper["volume"]) == (2026, 17)
    assert paper["authors"][0] == {"family-names": "He", "given-names": "C."}
    assert all("family-names" in a or "name" in a for a in [*cff["authors"], *paper["authors"]])


def test_changelog_has_an_unreleased_section():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "\n## Unreleased\n" in text
