"""``python -m benchmarks.fused_step`` (the default's basin step written in C++) and the seam
it uses, :func:`xbarmem.learning.stages.basin_step`.

Its options are refused in one line before any work; a machine without a C++ toolchain is
told so in one line; one smoke run builds the extension and measures a tiny case (skipped,
only, where no toolchain is found). No timing assertions."""

import argparse
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the repository root, not in src/
    sys.path.insert(0, str(ROOT))

from benchmarks import fused_step  # noqa: E402
from xbarmem import random_patterns, train  # noqa: E402
from xbarmem.learning import stages  # noqa: E402

NO_TOOLCHAIN = fused_step.toolchain_problem()


def _no_run(monkeypatch):
    def began(*args, **kwargs):
        raise AssertionError("benchmarks.fused_step began its work")

    monkeypatch.setattr(fused_step, "run", began)


def test_the_basin_stage_takes_its_step_from_the_module_at_every_step(monkeypatch):
    """The seam the benchmark substitutes: every step of both sampled stages goes through
    ``stages.basin_step`` (looked up at call time), and the default training through it is
    the training (a step that only passes its arguments on changes nothing)."""
    x = torch.tensor(random_patterns(4, 16, seed=0).patterns)
    options = {"flip_steps": 2, "max_steps": 5, "finetune_steps": 3}
    plain = train(x, chip="paper-sim", seed=0, **options)
    calls = []

    def counted(*args):
        calls.append((args[13], args[14]))  # straight_through, step
        return fused_step.TRAINER_STEP(*args)

    monkeypatch.setattr(stages, "basin_step", counted)
    through = train(x, chip="paper-sim", seed=0, **options)
    assert [s for st, s in calls if not st] == list(range(1, len([1 for st, _ in calls
                                                                  if not st]) + 1))
    assert [s for st, s in calls if st] == [1, 2, 3]
    assert torch.equal(plain.weights, through.weights) and torch.equal(plain.bias, through.bias)


@pytest.mark.parametrize(("args", "said"), [
    (["--repeats", "0"], "argument --repeats: must be >= 1"),
    (["--seeds", "x"], "argument --seeds: must be an integer"),
    (["--check-steps", "0"], "argument --check-steps: must be >= 1"),
    (["--threads", "-1"], "argument --threads: must be >= 1"),
    (["--build-dir", "{file}"], "is not a folder"),
    (["--build-dir", "{file}/b"], "is not a folder"),
])
def test_bad_options_are_one_line_and_exit_2_before_any_work(args, said, tmp_path, monkeypatch,
                                                             capsys):
    _no_run(monkeypatch)
    (tmp_path / "a-file").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    out = tmp_path / "r.json"
    argv = [a.format(file=tmp_path / "a-file") for a in args] + ["--json-out", str(out)]
    try:
        code = fused_step.main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    captured = capsys.readouterr()
    assert said in captured.err and captured.err.count("\n") == 1 and captured.out == ""
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("env", "which", "said"), [
    ({"CXX": "no-such-compiler"}, None, "needs a C++ compiler: no-such-compiler not found"),
    ({}, "ninja", "needs ninja"),
])
def test_no_toolchain_is_one_line_and_exit_2_before_any_work(env, which, said, tmp_path,
                                                             monkeypatch, capsys):
    _no_run(monkeypatch)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if which == "ninja":
        import torch.utils.cpp_extension as ext

        monkeypatch.setattr(ext, "is_ninja_available", lambda: False)
    out = tmp_path / "r.json"
    assert fused_step.main(["--json-out", str(out)]) == 2
    captured = capsys.readouterr()
    assert said in captured.err and captured.err.count("\n") == 1
    assert captured.err.startswith("error: the C++ step ")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_the_temporary_build_folder_is_removed_after_the_run_and_after_a_failure(
        tmp_path, monkeypatch):
    made = []

    def mkdtemp(prefix):
        made.append(tmp_path / f"{prefix}{len(made)}")
        made[-1].mkdir()
        return str(made[-1])

    monkeypatch.setattr(fused_step.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(fused_step, "build", lambda directory, native: (
        (directory / "built").write_text("x"), {"seconds": 1.0, "cold": True, "flags": []}))

    def measure(*args):
        raise RuntimeError("stopped")

    monkeypatch.setattr(fused_step, "measure", measure)
    args = argparse.Namespace(build_dir=None, native=False, quick=True, repeats=1, seeds=1,
                              check_steps=None)
    with pytest.raises(RuntimeError, match="stopped"):
        fused_step.run(args)
    assert made and not made[0].exists()  # removed, with what the build put there


@pytest.mark.skipif(NO_TOOLCHAIN is not None, reason=f"{NO_TOOLCHAIN}")
def test_a_quick_run_builds_the_step_where_asked_and_measures_every_variant(tmp_path,
                                                                            monkeypatch, capsys):
    """Builds (about 30 s) into --build-dir and nowhere else (torch's cache left untouched),
    then a shortened run: (a) bit-identical to the trainer's step, (b) equal up to rounding,
    the generators left in the same state, every training's recall in [-1, 1]."""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "torch-cache"))
    out, folder = tmp_path / "r.json", tmp_path / "build"
    assert fused_step.main(["--quick", "--repeats", "1", "--build-dir", str(folder),
                            "--json-out", str(out)]) == 0
    text = capsys.readouterr().out
    assert fused_step.QUICK_NOTE in text and "(cold build)" in text
    result = json.loads(out.read_text())
    assert result["build"]["portable"]["cold"] and "-march=native" not in " ".join(
        result["build"]["portable"]["flags"])
    assert list(folder.glob("xbarmem_fused_step/*.so"))
    assert not (tmp_path / "torch-cache").exists()
    assert set(result["cases"]) == {"random", "digits"}
    for row in result["cases"].values():
        assert set(row["per_step"]) == set(row["equality"]) == {"basin", "fine-tune"}
        for stage in row["per_step"].values():
            assert min(stage[f"{v}_us"] for v in ("eager", "cpp_a", "cpp_b", "products")) > 0
        for check in row["equality"].values():
            assert check["cpp_a"]["gradient"]["identical"]
            assert check["cpp_a"]["parameters"]["identical"]
            assert check["cpp_b"]["gradient"]["max_rel"] < 1e-5
            assert check["cpp_a"]["generator_same_state"] and check["cpp_b"][
                "generator_same_state"]
        assert set(row["variants"]) == {"eager", "cpp_a", "cpp_b"}
        assert row["variants"]["cpp_a"]["max_weight_diff_vs_eager"] == 0
        for variant in row["variants"].values():
            assert variant["speed_ratio"] > 0
            assert all(-1 <= c <= 1 for c in variant["cosine_seed0"].values())
    assert stages.basin_step is fused_step.TRAINER_STEP  # the trainer's step is back
