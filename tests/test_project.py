"""Project hygiene: the README's commands are what CI runs; shipped data is present."""

from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    test_line = next(line for line in readme[:10] if "pytest" in line)
    command = test_line.split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines()
    assert command.startswith("pip install torch==2.13.0")


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
    for path in (ROOT / "src" / "xbarmem").rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
