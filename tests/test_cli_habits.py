"""Command-line habits: fast start, --threads, --json everywhere, completion, readable tables,
refused foot-guns. Settings are tiny; every command runs in-process through ``run_cli``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


# ------------------------------------------------------------------------------ fast start
def test_cli_import_does_not_load_heavy_libraries():
    """``xbarmem --help`` must not pay for torch, SciPy or matplotlib (imported when a command
    runs); checked in a fresh interpreter."""
    code = ("import sys, xbarmem, xbarmem.cli; "
            "print(sorted(m for m in ('torch', 'scipy', 'matplotlib', 'pandas') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(res.stdout.replace("'", '"')) == []


def test_lazy_package_attributes():
    import xbarmem

    assert set(xbarmem.__all__) <= set(dir(xbarmem))
    from xbarmem import PatternSet, train  # noqa: F401 - resolved on first use
    from xbarmem.data.patterns import PatternSet as direct

    assert xbarmem.PatternSet is direct
    assert xbarmem.hardware.__name__ == "xbarmem.hardware"
    with pytest.raises(AttributeError):
        xbarmem.no_such_name  # noqa: B018


def test_cli_vocabulary_lists_agree_with_the_library():
    from xbarmem.cli import options as o
    from xbarmem.learning.classic import rule_names
    from xbarmem.memory.build import ARCHS

    assert list(o.RULE_NAMES) == rule_names()
    assert tuple(o.ARCHS) == tuple(ARCHS)


# ------------------------------------------------------------------------------ completion
def test_shell_completion_of_commands_and_choices(run_cli, monkeypatch):
    def complete(words: str) -> list[str]:
        monkeypatch.setenv("_XBARMEM_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (not words.endswith(" "))))
        code, out, err = run_cli()
        assert code == 0, err
        return out.split()

    assert complete("xbarmem tr") == ["train"]
    assert complete("xbarmem chip i") == ["inspect", "import"]
    assert complete("xbarmem train --rule storkey") == ["storkey", "storkey-variant"]
    assert "paper-sim" in complete("xbarmem train --chip ")
    offered = complete("xbarmem demo --")
    assert "--trials" in offered and "--chips" not in offered  # deprecated spellings: hidden
    monkeypatch.delenv("_XBARMEM_COMPLETE")
    code, out, err = run_cli("--show-completion", "bash")
    assert code == 0 and "_xbarmem_completion" in out, err
