"""Smoke test of the on-demand benchmark suite (``python -m benchmarks``).

Runs the smallest configuration of cases 1 and 2 in-process and checks the printed output and the
JSON structure. No timing assertions: benchmark numbers are measured on demand, never as tests.
"""

import io
import json
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the repository root, not in src/
    sys.path.insert(0, str(ROOT))

from benchmarks import BenchConfig, resolve_cases, run  # noqa: E402
from benchmarks.__main__ import config_from_args, main, parse_args  # noqa: E402
from benchmarks.report import recipe_table  # noqa: E402


def _in_unit_interval(value: float) -> bool:
    return -1.0 <= value <= 1.0


def test_tiny_run_of_cases_1_and_2_writes_comparable_results(tmp_path):
    out = tmp_path / "results" / "latest.json"
    console = Console(file=io.StringIO(), width=140)
    returned = run(["1", "random", "capacity", "3", "4b"], BenchConfig.tiny(), preset="tiny",
                   json_out=out, console=console, verbose=False)
    data = json.loads(out.read_text())
    assert set(data) == {"meta", "cases", "recipe_table", "load_table"}
    assert data["load_table"] == ""  # case 1p did not run
    assert list(data["cases"]) == ["1", "1r", "2", "3", "4b"]
    table = data["recipe_table"].splitlines()  # one row per side of cases 1, 1r and 3
    assert len(table) == 2 + 4 + 4 + 4 and "| 1r: random" in data["recipe_table"]
    assert data["meta"]["matmul_gflops_start"] > 0 and data["meta"]["units"]["memory"] == "bytes"
    assert data["meta"]["command"] is None and "argv" not in data["meta"]  # run from Python
    assert {"cpu", "cpu_count", "platform", "python", "torch"} <= set(data["meta"])
    assert {"xbarmem", "commit"} <= set(data["meta"])  # the code measured, as the docs' records
    head = " ".join(console.file.getvalue().split())  # (the console wraps long lines)
    assert f"xbarmem {data['meta']['xbarmem']} (commit " in head and data["meta"]["cpu"] in head
    assert returned["cases"]["1"]["sides"].keys() == data["cases"]["1"]["sides"].keys()

    for case, data_name in (("1", "mnist8"), ("1r", "random")):
        single = data["cases"][case]
        assert single["status"] == "ok" and single["settings"]["data"].startswith(data_name)
        assert set(single["sides"]) == {"naive", "xbarmem fixed-point",
                                        "xbarmem fixed-point, stop=loss",
                                        "xbarmem basin (default)", "xbarmem fast recipe"}
        assert single["checks"] == {"cues_identical": True, "masks_identical": True}
        for side in single["sides"].values():
            assert _in_unit_interval(side["cosine"]) and 0.0 <= side["exact"] <= 1.0
            assert _in_unit_interval(side["cosine_second_flip"])
            assert side["steps"] >= 1 and side["train_seconds"] >= 0
            assert side["peak_rss_bytes"] > 0 and side["memory_method"] in ("VmHWM",
                                                                            "ru_maxrss")
        assert set(single["speed_ratio_naive_over"]) == {
            "xbarmem fixed-point", "xbarmem fixed-point, stop=loss", "xbarmem basin (default)",
            "xbarmem fast recipe"}
        sides = single["sides"]
        assert sides["xbarmem fixed-point, stop=loss"]["options"]["stop"] == "loss"
        assert sides["xbarmem fast recipe"]["options"]["recipe"] == "fast"
        assert "recipe" not in sides["xbarmem basin (default)"]["options"]

    capacity = data["cases"]["2"]
    assert capacity["settings"]["counts"] == [1, 3]
    assert [level["faults"] for level in capacity["levels"]] == [0.0, 0.5]
    for level in capacity["levels"]:
        assert level["subsets_identical"] is True
        for name in ("naive", "xbarmem"):
            side = level[name]
            assert [p["count"] for p in side["points"]] == [1, 3]
            assert all(_in_unit_interval(p["cosine"]) for p in side["points"])
            assert set(side["capacity"]) == {"0.90", "0.95", "0.99"}
            assert side["network_steps"] >= 1
        assert level["naive"]["gflops"] is not None and level["xbarmem"]["gflops"] is not None
        search = level["search"]
        assert set(search["capacity"]) == {"0.90", "0.95", "0.99"}
        assert set(search["tested"]) <= {1, 3} and search["rounds"] >= 1

    multi = data["cases"]["3"]
    assert multi["status"] == "ok" and multi["checks"] == {"cues_identical": True,
                                                           "masks_identical": True}
    assert set(multi["sides"]) == {"naive", "xbarmem multilayer fixed-point",
                                   "xbarmem multilayer basin (default)",
                                   "xbarmem multilayer fast recipe"}
    for side in multi["sides"].values():
        assert _in_unit_interval(side["cosine"]) and side["steps"] >= 1
    # the naive loop is timed as each xbarmem side is: the median of cfg.repeats runs
    for case in ("1", "3"):
        naive = data["cases"][case]["sides"]["naive"]
        assert len(naive["train_seconds_each"]) == BenchConfig.tiny().repeats
        assert naive["train_seconds"] == sorted(naive["train_seconds_each"])[
            len(naive["train_seconds_each"]) // 2]
    # the multilayer fast recipe trains as the default does: one timing, not two noisy ones
    fast = multi["sides"]["xbarmem multilayer fast recipe"]
    default = multi["sides"]["xbarmem multilayer basin (default)"]
    assert fast["same_training_as"] == "xbarmem multilayer basin (default)"
    assert fast["train_seconds_each"] == default["train_seconds_each"]
    assert "same_training_as" not in default
    assert "fast recipe (the same training as the default recipe)" in recipe_table(data)
    big = data["cases"]["4b"]
    assert big["sides"]["naive"]["status"] == "skipped" and big["speed_ratio_naive_over"] == {}
    assert big["settings"]["n_neurons"] == 196
    text = console.file.getvalue()
    assert "cap@0.95" in text and "naive" in text and "search (" in text
    # case 2's xbarmem rows name what they trained, as cases 1 and 3 do (they said "xbarmem")
    cells = [cell.strip() for line in text.splitlines() for cell in line.split("│")]
    assert "xbarmem fixed-point" in cells
    assert any(cell.startswith("xbarmem fixed-point search (") for cell in cells)
    # a run at other settings than the full one says so, in its head, each case's and meta
    assert "tiny run: the ratios of the cases reading these are not comparable with " \
           "docs/performance.md's (full settings): max_steps 20 (full: 10000)" in text
    for case in ("1", "1r", "2", "3", "4b"):
        note = data["cases"][case]["settings_note"]
        assert note.startswith("tiny run: its ratios are not comparable with "
                               "docs/performance.md's (full settings): ") and note in text
    assert "capacity_counts [1, 3] (full: 40 values)" in data["cases"]["2"]["settings_note"]
    assert "capacity_counts" not in data["cases"]["1"]["settings_note"]
    assert data["meta"]["settings_note"].startswith("tiny run: its ratios are not comparable")


def test_quick_settings_say_their_ratios_are_not_the_docs():
    """``--quick`` measures at a lower step cap, fewer cues and smaller problems: its ratios
    were printed and stored as if they were those of docs/performance.md (full settings)."""
    from benchmarks.config import reading, settings_note

    quick, full = BenchConfig.quick(), BenchConfig.full()
    seen: set[str] = set()
    read = reading(quick, seen)
    assert read.max_steps == 4000 and read.xbarmem_basin() == {} and seen == {
        "max_steps", "basin_options", "xbarmem_lr"}
    assert settings_note(quick, seen, "quick") == (
        "quick run: its ratios are not comparable with docs/performance.md's (full settings): "
        "max_steps 4000 (full: 10000) -- a lower step cap stops the naive loop sooner, and "
        "fewer cues or smaller problems change each side's cost by a different share")
    everything = set(full.as_dict())
    assert settings_note(full, everything, "full") is None
    assert settings_note(full.with_overrides(threads=1, search=False), everything, "full") is None
    assert settings_note(full.with_overrides(single_probes=5), everything, "full").startswith(
        "this run: its ratios are not comparable with docs/performance.md's (full settings): "
        "single_probes 5 (full: 20) -- ")
    # case 5 (the capacity search) reads none of the settings --quick shrinks
    assert settings_note(quick, {"search_recipes", "search_trials", "thresholds"}, "quick") is None


def test_command_line_options_and_case_names():
    cfg = config_from_args(parse_args(["2", "--quick", "--probes", "3", "--with-naive-1024",
                                       "--threads", "1", "--no-search"]))
    assert cfg.capacity_probes == cfg.single_probes == cfg.big_probes == cfg.ml_probes == 3
    assert cfg.big_with_naive and cfg.max_steps == BenchConfig.quick().max_steps
    assert cfg.threads == 1 and not cfg.search and not cfg.big_ml_with_naive
    assert config_from_args(parse_args([])).capacity_counts[-1] == 128
    assert len(config_from_args(parse_args([])).capacity_counts) == 40
    assert resolve_cases([]) == ["1", "1r", "1p", "2", "3", "4a", "4b"]  # 5, 6 when named
    assert resolve_cases(["loads", "single"]) == ["1", "1p"]
    assert resolve_cases(["scaling"]) == ["6"]
    assert resolve_cases(["search", "random"]) == ["1r", "5"]
    assert resolve_cases(["n1024", "single"]) == ["1", "4a"]
    assert resolve_cases(["n784", "multilayer"]) == ["3", "4b"]
    assert main(["no-such-case"]) == 2
    assert main(["1", "--probes", "0"]) == 2


def test_load_case_prints_the_issue_table_one_row_per_pattern_count():
    """Case 1p: per pattern count, the naive loop and the one-layer defaults before and of
    2026-12-01 (explicit options, shrunk like today's), today's default and the fast recipe on
    nested random patterns; one table row per count, a speed-up for each xbarmem side."""
    cfg = BenchConfig.tiny()
    console = Console(file=io.StringIO(), width=200)
    data = run(["loads"], cfg, preset="tiny", json_out=None, console=console, verbose=False)
    entry = data["cases"]["1p"]
    assert entry["status"] == "ok" and entry["settings"]["n_patterns"] == [2, 3]
    loads = entry["loads"]
    assert [load["settings"]["n_patterns"] for load in loads] == [2, 3]
    labels = ["naive", "xbarmem default before 2026-12-01", "xbarmem default of 2026-12-01",
              "xbarmem basin (default)", "xbarmem fast recipe"]
    for load in loads:
        assert list(load["sides"]) == labels
        assert load["checks"] == {"cues_identical": True, "masks_identical": True}
        assert set(load["speed_ratio_naive_over"]) == set(labels[1:])
        options = load["sides"]
        assert options["xbarmem default before 2026-12-01"]["options"]["cue_copies"] == 2
        assert options["xbarmem default of 2026-12-01"]["options"]["finetune_lr"] == 7e-3
        assert options["xbarmem default before 2026-12-01"]["options"]["finetune_lr"] == 3e-3
    rows = data["load_table"].splitlines()
    assert len(rows) == 2 + 2 and rows[2].startswith("| 2 | ") and rows[3].startswith("| 3 | ")
    assert rows[0].count("|") == 2 + 5 + 2 and "(" in rows[2] and "x)" in rows[2]
    assert "authors' loop" in console.file.getvalue()


def test_capacity_search_case_times_each_recipe_in_a_fresh_process(tmp_path):
    """Case 5 runs the command line once per recipe and once with the default recipe of
    2026-12-01 as explicit options (shrunk here to a one-count search, options over each)."""
    cfg = BenchConfig.tiny()
    console = Console(file=io.StringIO(), width=140)
    data = run(["5"], cfg, preset="tiny", json_out=None, console=console, verbose=False)
    entry = data["cases"]["5"]
    assert list(entry["runs"]) == ["default", "fast", "default-2026-12-01"]
    for recipe, result in entry["runs"].items():
        assert result["status"] == "ok", result
        assert set(result["capacity"]) == {"0.9", "0.95", "0.99"} and result["seconds"] > 0
        assert ("--recipe fast" in result["command"]) == (recipe == "fast")
        assert '"max_steps": 3' in result["command"]  # the shrinking options win
    assert '"cue_copies": 8' in entry["runs"]["default-2026-12-01"]["command"]
    assert set(entry["speed_ratio_default_over"]) == {"fast", "default-2026-12-01"}
    assert "speed default/fast" in console.file.getvalue()


def test_scaling_case_runs_the_command_line_and_keeps_each_size(tmp_path):
    """Case 6 runs ``xbarmem scaling`` (shrunk here to two small sizes) in a fresh process and
    keeps each size's capacity, counts and search seconds, and the fit."""
    cfg = BenchConfig.tiny()
    console = Console(file=io.StringIO(), width=140)
    entry = run(["6"], cfg, preset="tiny", json_out=None, console=console,
                verbose=False)["cases"]["6"]
    assert entry["status"] == "ok", entry
    assert [row["n"] for row in entry["sizes"]] == [16, 36]
    assert all(row["counts_trained"] >= 1 and row["seconds"] > 0 for row in entry["sizes"])
    assert "--hidden 1n" in entry["command"] and "--threads 1" in entry["command"]
    assert "wall in all" in console.file.getvalue()


def test_fixed_point_budget_compares_the_default_stop_with_longer_training(tmp_path):
    from benchmarks import fixed_point_budget

    out = tmp_path / "budget.json"
    assert fixed_point_budget.main(["--case", "16:6", "--max-steps", "40",
                                    "--json-out", str(out)]) == 0
    row, = json.loads(out.read_text())["rows"]
    sides = row["sides"]
    assert sides["to the loss or the cap"]["steps"] == 40
    assert sides["default stop"]["steps"] != 40 and 0 <= sides["default stop"]["cosine"] <= 1
    with pytest.raises(SystemExit):
        fixed_point_budget.main(["--case", "15:6"])  # N must be a square


def test_weight_range_splits_are_disjoint():
    from benchmarks import weight_range

    tuning, held = weight_range.splits().values()
    assert {label for label, *_ in tuning}.isdisjoint(label for label, *_ in held)
    assert 0.5 in weight_range.VALUES


def test_product_bound_records_every_product_a_training_calls():
    """The products are counted at the ATen level (so the ``bmm`` inside ``einsum`` and the
    in-place ``baddbmm_`` count), with their operand shapes, and every other operator apart;
    their replay and flop count follow the recorded shapes."""
    from benchmarks import product_bound as pb

    def work():
        a, b = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
        torch.einsum("tpj,tij->tip", a, b)
        for _ in range(3):
            torch.ones(3, 3) @ torch.ones(3, 2)
        torch.ones(2, 3, 3).baddbmm_(torch.ones(2, 3, 4), torch.ones(2, 4, 3))

    calls, others = pb.recorded_operators(work)
    assert calls == {("aten::bmm", ((2, 5, 4), (2, 4, 3))): 1,
                     ("aten::mm", ((3, 3), (3, 2))): 3,
                     ("aten::baddbmm_", ((2, 3, 3), (2, 3, 4), (2, 4, 3))): 1}
    assert others >= 6  # the ones(...) calls at least
    assert pb._flop("aten::bmm", ((2, 5, 4), (2, 4, 3))) == 2 * 2 * 5 * 4 * 3
    assert pb._flop("aten::mm", ((3, 3), (3, 2))) == 2 * 3 * 3 * 2
    assert pb._flop("aten::baddbmm_", ((2, 3, 3), (2, 3, 4), (2, 4, 3))) == 2 * 2 * 3 * 4 * 3
    assert pb._replay_seconds(calls, 1) > 0
    assert 0 < pb.smallest_operator_seconds(1) < 1e-3


def test_product_bound_bounds_follow_from_the_measured_times():
    from benchmarks import product_bound as pb

    x = torch.ones(1, 64, 64)
    row = pb._recipe(lambda: [torch.bmm(x, x) for _ in range(20)], naive_seconds=1.0,
                     peak=50.0, smallest=1e-6, repeats=1)
    assert row["product_calls"] == 20 and row["product_shapes"] == {
        "aten::bmm (1, 64, 64) @ (1, 64, 64)": 20}
    assert row["speed_ratio"] == pytest.approx(1.0 / row["train_seconds"])
    assert row["speed_ratio_bound"] == pytest.approx(1.0 / row["products_seconds"])
    assert row["speed_ratio_bound_at_peak"] == pytest.approx(50.0 / row["product_gflop"])
    assert row["eager_floor_seconds"] == pytest.approx(row["products_seconds"]
                                                       + row["other_operators"] * 1e-6)
    assert row["speed_ratio_bound_eager"] <= row["speed_ratio_bound"]


def test_elementwise_times_the_step_operations_and_compares_the_tanh_forms(tmp_path, capsys):
    from benchmarks import elementwise

    out = tmp_path / "ew.json"
    assert elementwise.main(["--repeats", "1", "--json-out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["shapes"]) == set(elementwise.SHAPES)
    for row in result["shapes"].values():
        assert set(row["ms_per_call"]) == {"bmm", "tanh", "tanh via sigmoid", "sigmoid", "randn",
                                           "flips per bit", "flips as a process"}
        assert all(t > 0 for t in row["ms_per_call"].values())
        assert row["max_abs_difference_of_tanh_forms"] < 1e-6  # the same function
    assert "tanh forms differ by at most" in capsys.readouterr().out
    assert elementwise.main(["--repeats", "0"]) == 2


def test_versus_measures_each_case_and_exports_a_revision(tmp_path, monkeypatch, capsys):
    """benchmarks.versus: one side's cases (trimmed to a tiny one here) give recall in [0, 1]
    at both flip rates and training seconds; a revision's src exports; a bad revision or
    none is refused with exit 2 / a message before any training."""
    from benchmarks import versus

    monkeypatch.setattr(versus, "CASES", {"tiny": ("random", 4, "paper-sim", 0.5, "single")})
    side = versus.measure_side(seeds=1, probes=2)
    assert set(side) == {"tiny"} and side["tiny"]["train_s"] > 0
    assert all(_in_unit_interval(c) for c in side["tiny"]["cosine"])
    src = versus.export_source("HEAD", tmp_path)
    assert (src / "xbarmem" / "__init__.py").is_file()
    rows = {"tiny": {"before": side["tiny"], "after": side["tiny"], "cosine_change": [0, 0]}}
    assert "| tiny |" in versus._table(rows, "HEAD")
    assert versus.main([]) == 2 and "name the git revision" in capsys.readouterr().err
    assert versus.main(["no-such-rev", "--seeds", "1"]) == 2
    assert "'no-such-rev' is not a git revision" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="revision no-such-rev"):
        versus.export_source("no-such-rev", tmp_path)


def test_versus_commands_time_each_command_line_with_both_sides(monkeypatch):
    """benchmarks.versus --commands: each command line runs as ``python -m xbarmem`` with the
    revision's src and then the current one (trimmed here to a tiny Hebbian capacity search
    and a failing command); wall seconds, what each found and the speed-up per command."""
    from benchmarks import versus

    tiny = ["capacity", "--data", "random", "--neurons", "16", "--pool", "12", "--probes", "2",
            "--trials", "1", "--rule", "hebb", "--json"]
    monkeypatch.setattr(versus, "COMMANDS", {"tiny search": (tiny, ("results", 0, "capacity"))})
    out = versus.compare_commands("HEAD")
    row = out["commands"]["tiny search"]
    assert row["before"]["found"] == row["after"]["found"] and "0.99" in row["after"]["found"]
    assert row["before"]["seconds"] > 0 and row["ratio"] > 0
    assert out["table"].splitlines()[2].startswith("| tiny search | ")
    monkeypatch.setattr(versus, "COMMANDS", {"bad": (["capacity", "--trials", "0"], ())})
    with pytest.raises(SystemExit, match="bad failed"):
        versus.time_commands(versus.ROOT / "src")
    monkeypatch.setattr(versus, "COMMANDS", {"other": (tiny, ("results", 0, "no-such-key"))})
    with pytest.raises(SystemExit, match="other: its --json output has no results/0/no-such"):
        versus.time_commands(versus.ROOT / "src")


def test_levers_measure_each_study_and_leave_the_trainers_as_they_were(tmp_path):
    import torch

    import xbarmem.evaluation.capacity as capacity
    import xbarmem.learning.multilayer_fit as multilayer_fit
    import xbarmem.learning.single_fit as single_fit
    from benchmarks import levers, recipe_search
    from xbarmem.learning import noise, stages

    search = capacity.search_capacity
    start = multilayer_fit.MultilayerFit.start
    warm = single_fit.SingleLayerFit.warm_start
    grad = single_fit.SingleLayerFit.basin_loss_grad
    stage = stages.basin_stage
    precision = torch.backends.mkldnn.matmul.fp32_precision
    out = tmp_path / "levers.json"
    assert levers.main(["--quick", "--json-out", str(out)]) == 0
    result = json.loads(out.read_text())
    studies = result["studies"]
    assert list(studies) == list(levers.STUDIES)
    for lever in ("torch.compile", "bfloat16 products", "warm-started search",
                  "flip-averaged stage alone", "closed-form recall terms",
                  "model-guided search", "fewer but harder cues",
                  "fine-tune stopped on held-out recall", "max-margin start of the fast recipe",
                  "second-order start", "optimiser and schedule"):
        assert f"| {lever} |" in result["table"]
    # the alternatives were injected for their measurement only
    assert single_fit.two_stage is stages.two_stage
    assert single_fit.SingleLayerFit.warm_start is warm
    assert single_fit.SingleLayerFit.basin_loss_grad is grad
    assert single_fit.training_cues is noise.training_cues and stages.basin_stage is stage
    assert multilayer_fit.stages.two_stage is stages.two_stage
    assert multilayer_fit.MultilayerFit.start == start
    assert torch.backends.mkldnn.matmul.fp32_precision == precision
    assert capacity.search_capacity is search
    # ... and did act: warm-started training differs from training from scratch, and the
    # flip-averaged stage alone differs by its start
    binary = next(v for k, v in studies["warm-search"].items() if k.startswith("binary"))
    assert binary["warm"]["steps"] != binary["scratch"]["steps"]
    flip = studies["flip-start"]
    assert flip["MNIST digits, zero start"] != flip["MNIST digits, warm start"]
    for row in flip.values():
        if isinstance(row, dict):
            assert all(0.0 <= v["fixed_bits"] <= 1.0 for v in row.values())
    searches = studies["model-search"]["8x8 digits, one layer"]
    assert searches["doubling"]["counts"] != searches["model"]["counts"]
    closed = studies["closed-form"]
    assert {k for k in closed if k != "wall_seconds"} == {
        f"{model} fault model, {side}" for model in ("weight", "device")
        for side in ("default recipe", "closed form alone", "closed form + 150 sampled steps")}
    assert closed["weight fault model, default recipe"]["cosine_change_mean_worst"] == {
        "0.05": [0.0, 0.0], "0.1": [0.0, 0.0]}
    for label, row in studies["bf16"].items():
        if isinstance(row, dict):
            assert row["float32_ms_per_step"] > 0 and row["bf16_ms_per_step"] > 0, label
    # the harder-cue study measures recipe_search's candidates, both studies per fault model
    harder = [k for k in recipe_search.CANDIDATES if k.startswith("harder cues")]
    assert len(harder) == 4
    assert {f"weight fault model, {k}" for k in harder} <= set(studies["hard-cues"])
    stop = {k for k in studies["finetune-stop"] if k != "wall_seconds"}
    assert len(stop) == 2 * 7 and all(k.split(",")[0] in ("weight fault model",
                                                          "device fault model") for k in stop)
    second = studies["second-order"]
    assert second["weight fault model, second-order start alone"]["steps"] == 0
    assert (second["weight fault model, second-order start alone"]["cosine_change_mean_worst"]
            != second["weight fault model, default recipe"]["cosine_change_mean_worst"])
    optim = {k for k in studies["optimizers"] if k != "wall_seconds"}
    assert len(optim) == 2 * 3 and {k.split(", ", 1)[1] for k in optim} >= {
        "default recipe", "Adam, warm-up + cosine, 150 + 75 steps at 0.03 / 0.014"}
    assert levers.main(["--threads", "0"]) == 2


def test_schedules_rise_then_fall_to_their_ends():
    import math

    from benchmarks.optimizers import one_cycle, warmup_cosine

    warm = warmup_cosine(100, 0.1)
    assert len(warm) == 100 and warm[:10] == [s / 10 for s in range(1, 11)]
    assert all(a > b for a, b in zip(warm[10:], warm[11:], strict=False)) and warm[-1] < 1e-3
    cycle = one_cycle(100, 0.3)
    assert len(cycle) == 100 and math.isclose(cycle[0], 1 / 25) and max(cycle) == cycle[30] == 1
    assert all(a < b for a, b in zip(cycle[:30], cycle[1:31], strict=True))
    assert all(a > b for a, b in zip(cycle[30:], cycle[31:], strict=False))
    assert 1e-4 < cycle[-1] < 2e-3  # one step short of the end, 1e-4


def test_adam_stage_with_the_trainers_schedule_trains_as_the_trainers_fine_tune():
    import functools
    import math

    import torch

    from benchmarks.optimizers import adam_stage, scheduled
    from xbarmem import load_mnist, train
    from xbarmem.learning import stages

    def cosine(steps):
        return [0.5 * (1 + math.cos(math.pi * s / steps)) for s in range(steps)]

    x = load_mnist(side=8, n_patterns=12)
    options = dict(chip="paper-sim", seed=0, max_steps=30, finetune_steps=25)
    default = train(x, **options)
    stage = stages.basin_stage
    with scheduled(finetune=functools.partial(adam_stage, shape=cosine)):
        same = train(x, **options)
    with scheduled(finetune=functools.partial(adam_stage, shape=cosine, betas=(0.8, 0.99))):
        other = train(x, **options)
    assert stages.basin_stage is stage
    assert torch.equal(torch.as_tensor(default.weights), torch.as_tensor(same.weights))
    assert default.info["steps"] == same.info["steps"]
    assert not torch.equal(torch.as_tensor(default.weights), torch.as_tensor(other.weights))


def test_lbfgs_stage_minimises_on_one_cue_draw_within_the_range():
    import dataclasses

    import torch

    import xbarmem.learning.single_fit as single_fit
    from benchmarks.optimizers import lbfgs_stage
    from xbarmem.learning import noise
    from xbarmem.learning.batch import batch_constants

    @dataclasses.dataclass(frozen=True)
    class Opts:
        cue_copies: int = 6
        cue_flip: float = 0.1
        late_weight: float = 2.0

        def replace(self, **changes):
            return dataclasses.replace(self, **changes)

    centre = torch.linspace(-2.0, 2.0, 2 * 3 * 4).view(2, 3, 4)
    drawn = []

    class Quadratic:  # loss: the squared distance to ``centre``; it draws cues as the trainer
        opts = Opts()

        def basin_loss_grad(self, a, x, valid, kind, gen, noise_, unroll, late, through,
                            want_loss=True):
            consts = batch_constants(self, x, valid, self.opts.cue_copies)
            drawn.append(single_fit.training_cues(self.opts, consts, kind, gen)[2])
            return (a - centre).pow(2).sum(dim=(1, 2)), 2 * (a - centre)

    path = Quadratic()
    x = torch.ones(2, 5, 3)
    lo, hi = torch.full((2, 3, 4), -1.0), torch.full((2, 3, 4), 1.0)
    a, steps, loss, converged = lbfgs_stage(
        path, torch.zeros(2, 3, 4), x, torch.ones(2, 5, dtype=torch.bool), lo, hi, "binary",
        torch.Generator(), (0.0, 0.0), 4, 0.01, 40, straight_through=False, copies=16)
    assert torch.allclose(a, centre.clamp(-1, 1), atol=1e-3)  # the projected minimum
    assert 1 < int(steps[0]) == len(drawn) <= 40 and converged.all()
    assert drawn[0].shape == (2, 16 * 5, 3) and all(d is drawn[0] for d in drawn)
    assert path.opts == Opts() and single_fit.training_cues is noise.training_cues
    assert loss.shape == (2,) and bool(torch.isfinite(loss).all())


def test_second_order_start_solves_each_row_and_keeps_pinned_weights():
    import torch

    from benchmarks.second_order import second_order_start

    gen = torch.Generator().manual_seed(3)
    t, p, n = 2, 5, 6
    x = torch.where(torch.rand(t, p, n, generator=gen) < 0.5, -1.0, 1.0)
    valid = torch.ones(t, p, dtype=torch.bool)
    valid[1, 3:] = False  # network 1 stores 3 patterns, padded to 5
    lo, hi = torch.full((t, n, n + 1), -50.0), torch.full((t, n, n + 1), 50.0)
    eye = torch.eye(n, dtype=torch.bool)
    lo[:, :, :n][:, eye], hi[:, :, :n][:, eye] = 0.0, 0.0  # the diagonal pinned at 0
    lo[0, 1, 2] = hi[0, 1, 2] = 0.7  # a stuck weight
    a = second_order_start(x, valid, lo, hi, iterations=25, ridge=1.0, rate=0.1, copies=4)
    assert a.shape == (t, n, n + 1)
    assert torch.equal(a[:, :, :n][:, eye], torch.zeros(t, n)) and a[0, 1, 2] == lo[0, 1, 2]
    # Newton converged: autograd's gradient of the objective vanishes on the free weights
    gen = torch.Generator().manual_seed(1)
    target = x.repeat(1, 4, 1)
    cues = torch.where(torch.rand(target.shape, generator=gen) < 0.1, -target, target)
    u = torch.cat([cues, torch.ones(t, 4 * p, 1)], dim=2)
    weight = valid.repeat(1, 4).float()[:, :, None]
    w = a.clone().requires_grad_(True)
    z = torch.bmm(u, w.transpose(1, 2))
    loss = (weight * torch.nn.functional.softplus(-target * z)).sum() + 0.5 * (
        (w * (lo != hi)) ** 2).sum()
    loss.backward()
    assert float((w.grad * (lo != hi)).abs().max()) < 1e-4


def test_keep_hardest_keeps_the_cues_of_largest_loss_of_each_pattern():
    import torch
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from benchmarks.training_levers import keep_hardest

    @settings(max_examples=40, deadline=None)
    @given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31))
    def check(t, p, copies, seed):
        rows = 2 * copies * p
        # each cue's first entry says which row it was, its loss is random and distinct
        cues = torch.arange(rows, dtype=torch.float32)[None, :, None].repeat(t, 1, 3)
        loss = torch.rand(t, rows, generator=torch.Generator().manual_seed(seed))
        kept = keep_hardest(cues, loss, p)
        assert kept.shape == (t, copies * p, 3)
        for net in range(t):
            rows_kept = kept[net, :, 0].long()
            assert (rows_kept % p == torch.arange(copies * p) % p).all()  # layout kept
            for i in range(p):
                own = torch.arange(i, rows, p)
                mine = set(rows_kept[i::p].tolist())
                dropped = [r for r in own.tolist() if r not in mine]
                assert len(mine) == copies
                assert min(loss[net, list(mine)]) > max(loss[net, dropped])

    check()


def test_hardest_cues_choose_the_cues_of_both_sampled_stages(monkeypatch):
    import torch

    from benchmarks import training_levers
    from xbarmem import load_mnist, train

    chosen = []
    keep = training_levers.keep_hardest

    def spy(cues, loss, patterns):
        chosen.append(cues.shape[1] // patterns)
        return keep(cues, loss, patterns)

    monkeypatch.setattr(training_levers, "keep_hardest", spy)
    x = load_mnist(side=4, n_patterns=6)
    options = dict(chip="paper-sim", seed=0, max_steps=10, finetune_steps=5, cue_copies=3)
    plain = train(x, **options)
    with training_levers.hardest_cues():
        hard = train(x, **options)
    assert chosen and set(chosen) == {6} and len(chosen) == int(hard.info["steps"]) - 100
    assert not torch.equal(torch.as_tensor(plain.weights), torch.as_tensor(hard.weights))


def test_stopped_finetune_that_never_stops_trains_as_the_trainers_fine_tune(monkeypatch):
    import itertools

    import torch

    from benchmarks import training_levers
    from xbarmem import load_mnist, train

    x = load_mnist(side=8, n_patterns=12)
    options = dict(chip="paper-sim", seed=0, max_steps=30, finetune_steps=25)
    default = train(x, **options)
    rising = itertools.count()  # every check scores higher: the last weights are the best
    monkeypatch.setattr(training_levers, "held_out_score",
                        lambda a, held: torch.full((len(a),), float(next(rising))))
    with training_levers.early_stop(every=7, patience=1, constant=False):
        checked = train(x, **options)
    assert next(rising) == 5  # before the fine-tune, after steps 7, 14, 21 and the last (25)
    assert torch.equal(torch.as_tensor(default.weights), torch.as_tensor(checked.weights))
    assert default.info["steps"] == checked.info["steps"]


def test_stopped_finetune_keeps_the_best_weights_and_stops_after_patience_checks(monkeypatch):
    import torch

    from benchmarks import training_levers
    from xbarmem import load_mnist, train

    x = load_mnist(side=8, n_patterns=12)
    options = dict(chip="paper-sim", seed=0, max_steps=30)
    after_one = train(x, **options, finetune_steps=1)
    scores = iter([0.5, 0.7, 0.6, 0.65, 0.9, 0.9])  # best after step 1, no gain at 2 and 3
    monkeypatch.setattr(training_levers, "held_out_score",
                        lambda a, held: torch.full((len(a),), next(scores)))
    with training_levers.early_stop(every=1, patience=2, constant=False):
        stopped = train(x, **options, finetune_steps=200)
    assert next(scores) == 0.9  # stopped after the check of step 3
    assert stopped.info["steps"] == after_one.info["steps"] + 2
    # the first step's learning rate is finetune_lr under both schedules
    assert torch.equal(torch.as_tensor(after_one.weights), torch.as_tensor(stopped.weights))


def test_levers_say_bf16_was_not_measured_where_torch_has_no_bfloat16(tmp_path, monkeypatch):
    from benchmarks import levers

    monkeypatch.setattr(levers, "bf16_products_supported", lambda: False)
    out = tmp_path / "levers.json"
    assert levers.main(["--quick", "--only", "bf16", "--json-out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert "float32_ms_per_step" not in json.dumps(result["studies"]["bf16"])
    assert "| bfloat16 products | - | not measured: this torch build or CPU has no bfloat16 " \
           "support |" in result["table"]


def test_continuous_start_trains_each_start_and_leaves_the_trainer_as_it_was(tmp_path, capsys):
    from benchmarks import continuous_start
    from xbarmem.learning.multilayer_fit import MultilayerFit

    start = MultilayerFit.start
    out = tmp_path / "starts.json"
    assert continuous_start.main(["--case", "16:4", "--max-steps", "10", "--json-out",
                                  str(out)]) == 0
    assert MultilayerFit.start == start
    rows = json.loads(out.read_text())["rows"]
    assert [r["start"] for r in rows] == list(continuous_start.STARTS)
    assert all(r["steps"] == 10 and (r["n"], r["p"]) == (16, 4) for r in rows)
    assert len({r["cosine"] for r in rows}) > 1  # the starts did act
    assert "N = 16, P = 4, seed 0, linear (cap 10, rel_tol 0.01): 10 steps" in \
        capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        continuous_start.main(["--threads", "0"])
    assert stop.value.code == 2
    assert "error: argument --threads: must be >= 1, got 0" in capsys.readouterr().err


def test_margin_start_meets_every_margin_with_pinned_weights_kept():
    import torch

    from benchmarks.training_levers import margin_start

    x = torch.sign(torch.randn(2, 6, 24, generator=torch.Generator().manual_seed(0)))
    valid = torch.ones(2, 6, dtype=torch.bool)
    valid[1, 4:] = False  # the second network stores four patterns
    lo, hi = torch.full((2, 24, 25), -50.0), torch.full((2, 24, 25), 50.0)
    pinned = torch.rand(2, 24, 25, generator=torch.Generator().manual_seed(1)) < 0.2
    lo[pinned] = hi[pinned] = 0.05
    a = margin_start(x, valid, lo, hi, iterations=3000)
    assert torch.equal(a[pinned], lo[pinned])
    field = torch.bmm(x, a[:, :, :24].transpose(1, 2)) + a[:, None, :, 24]
    margins = (x * field)[valid]
    assert margins.min() > 0.99  # every stored bit, with the margin
    # minimum norm: the tight patterns carry the solution, so some margin is (near) 1
    assert (margins - 1).abs().min() < 1e-3


#: every benchmark command line: (module, the function its work begins with, other arguments)
COMMANDS = [("__main__", "run", ["1"]), ("recipes", "measure", []),
            ("recipe_search", "measure", []), ("weight_range", "measure", []),
            ("levers", "RUN", []), ("elementwise", "measure", []),
            ("fixed_point_budget", "run_case", []), ("continuous_start", "run_case", []),
            ("margins", "measure", []), ("versus", "_side", ["HEAD"]),
            ("levels", "measure", []), ("product_bound", "measure", []),
            ("stuck_calls", "measure", []), ("fused_step", "run", [])]


def _no_work(monkeypatch, module: str, work: str):
    """``benchmarks.MODULE`` with its work replaced by a failure: a check made after the work
    began fails the test."""
    import importlib

    mod = importlib.import_module(f"benchmarks.{module}")

    def began(*args, **kwargs):
        raise AssertionError(f"benchmarks.{module} began its work")

    if work == "RUN":
        for name in mod.RUN:
            monkeypatch.setitem(mod.RUN, name, began)
    else:
        monkeypatch.setattr(mod, work, began)
    return mod


@pytest.mark.parametrize(("module", "work", "extra"), COMMANDS)
def test_every_benchmark_refuses_a_results_file_it_cannot_write_before_its_work(
        module, work, extra, tmp_path, monkeypatch, capsys):
    """A folder, a path under a file, or a place not writable as ``--json-out``: one line
    naming it and exit 2 before anything is trained or measured (not a traceback at the end of
    a run of minutes), and nothing written."""
    mod = _no_work(monkeypatch, module, work)
    (tmp_path / "a-file").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    for out, said in ((tmp_path, "is a folder"), (tmp_path / "a-file" / "r.json",
                                                  "is not a folder")):
        assert mod.main([*extra, "--json-out", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith(f"error: --json-out {out}") and said in captured.err
    import benchmarks.command_line as command_line

    monkeypatch.setattr(command_line.os, "access", lambda path, mode: False)
    assert mod.main([*extra, "--json-out", str(tmp_path / "new" / "r.json")]) == 2
    assert capsys.readouterr().err.endswith("r.json: not writable here\n")
    assert sorted(tmp_path.rglob("*")) == before


def test_run_refuses_a_results_file_it_cannot_write(tmp_path, monkeypatch):
    import benchmarks.runner as runner

    def began(*args, **kwargs):
        raise AssertionError("the run began")

    monkeypatch.setattr(runner, "_run", began)
    with pytest.raises(ValueError, match="is a folder"):
        run(["1"], BenchConfig.tiny(), json_out=tmp_path)


@pytest.mark.parametrize("module", [m for m, _, _ in COMMANDS])
def test_every_benchmark_help_names_its_command_and_where_results_go(module, capsys):
    import importlib

    mod = importlib.import_module(f"benchmarks.{module}")
    with pytest.raises(SystemExit) as stop:
        mod.main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    command = "python -m benchmarks" + ("" if module == "__main__" else f".{module}")
    assert text.startswith(f"usage: {command} ")
    assert "``" not in text and "--json-out" in text
    if module != "__main__":
        assert "Results go to benchmarks/results/" in text
        for line in text.split("options:")[1].splitlines():  # every option says what it is
            assert not line.strip().startswith("--json-out JSON_OUT") or "result" in line


def test_a_bad_argument_is_one_line_naming_it(capsys):
    from benchmarks import levers

    with pytest.raises(SystemExit) as stop:
        levers.main(["--only", "no-such-study"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("python -m benchmarks.levers: error: argument --only: invalid choice")


def test_running_a_benchmark_module_gives_no_import_warning():
    """``python -m benchmarks.recipes`` ran a module the package had already imported (Python
    warned, on every run, of 'unpredictable behaviour')."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "benchmarks.recipes", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m benchmarks.recipes")
    assert done.stderr == ""


def test_case_1_runs_without_a_warning():
    """``python -m benchmarks`` (the README's command) printed torch's "The given NumPy array is
    not writable" UserWarning: a pattern set's patterns are read-only, and the cases turned them
    into tensors with ``torch.as_tensor``. Run in a process of its own: torch warns once a
    process."""
    import subprocess

    code = ("import io; from rich.console import Console; from benchmarks import BenchConfig, run;"
            " run(['1'], BenchConfig.tiny(), preset='tiny', json_out=None,"
            " console=Console(file=io.StringIO()), verbose=False)")
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]


def test_results_say_their_command_and_machine(monkeypatch):
    from benchmarks import __main__ as entry
    from benchmarks.recipes import provenance

    record = provenance("elementwise", ["--repeats", "1"])
    assert record["command"] == "python -m benchmarks.elementwise --repeats 1"
    assert provenance("levers", [])["command"] == "python -m benchmarks.levers"
    assert {"date", "torch_threads", "xbarmem", "cpu", "cpu_count", "platform", "python",
            "torch"} <= set(record)
    assert isinstance(record["cpu"], str) and record["cpu"] and record["cpu_count"] >= 1
    seen = {}
    monkeypatch.setattr(entry, "run", lambda cases, cfg, **kw: seen.update(kw))
    assert entry.main(["1", "--quick", "--threads", "1"]) == 0
    assert seen["command"] == "python -m benchmarks 1 --quick --threads 1"


def test_levers_progress_lines_say_which_study_ran_not_its_raw_numbers(tmp_path, capsys):
    """Each study's progress line was its whole result as a Python dict (17-digit floats, one
    line of hundreds of characters); the numbers are in the table and the results file."""
    from benchmarks import levers

    assert levers.main(["--quick", "--only", "bf16", "--json-out", str(tmp_path / "l.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bf16: measured in ") and lines[0].endswith(" s")
    assert lines[1] == levers.QUICK_NOTE == json.loads((tmp_path / "l.json").read_text())["note"]
    assert lines[1].startswith("quick run: tiny sizes and step caps for the smoke test; its "
                               "numbers are not comparable with the levers measured in ")
    assert lines[2] == "| lever | case | measured |"
    assert all(len(line) < 200 and "{'" not in line for line in lines)


def test_benchmark_tables_keep_every_digit_on_a_narrow_terminal():
    """On an 80-column terminal rich shrank a case's ten columns and cut its numbers
    (``0.92…``, ``7.95…``); the tables print at their natural width instead."""
    import io

    from rich.console import Console
    from rich.table import Table

    from benchmarks.report import show

    table = Table(title="recall")
    for col in ("side", *(f"a long column header {k}" for k in range(9))):
        table.add_column(col)
    table.add_row("xbarmem basin (default)", *(f"{0.9234567 + k:.7f}" for k in range(9)))
    out = io.StringIO()
    show(Console(file=out, width=80, force_terminal=True, color_system=None), table)
    text = out.getvalue()
    assert "…" not in text and all(f"{0.9234567 + k:.7f}" in text for k in range(9)), text


@pytest.mark.parametrize("args,said", [
    (["--levels", "1"], "--levels must be >= 2"),
    (["--chips", "ideal:0.3"], "'ideal:0.3': give rram:F or paper-sim:F"),
    (["--chips", "rram:x"], "'rram:x': give rram:F or paper-sim:F"),
    (["--hidden", "0"], "--hidden and --patterns must be >= 1"),
    (["--arch", "deep"], "argument --arch: invalid choice"),
])
def test_levels_refuses_bad_cases_before_its_work(args, said, tmp_path, monkeypatch, capsys):
    mod = _no_work(monkeypatch, "levels", "measure")
    with pytest.raises(SystemExit) as stop:
        mod.main([*args, "--json-out", str(tmp_path / "r.json")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("module,args,said", [
    ("continuous_start", ["--case", "0:5"], "argument --case: a case is N:P with N a square "
                                            "of side 4..28"),
    ("continuous_start", ["--case", "64:5001"], "and P in 1..5000, got '64:5001'"),
    ("continuous_start", ["--rel-tol", "nan"], "argument --rel-tol: must be a finite number"),
    ("continuous_start", ["--seed", "4294967296"], "argument --seed: must be in 0..4294967295"),
    ("fixed_point_budget", ["--case", "1024:5"], "and P in 1..10000, got '1024:5'"),
    ("fixed_point_budget", ["--case", "64:99999"], "and P in 1..10000, got '64:99999'"),
    ("fixed_point_budget", ["--max-steps", "x"], "argument --max-steps: must be an integer"),
])
def test_mnist_case_benchmarks_check_every_option_by_its_type(module, args, said, tmp_path,
                                                               monkeypatch, capsys):
    """Cases MNIST has no images for and values xbarmem refuses are the option's one line and
    exit 2 before any work; they ended in a traceback from the library when reached."""
    mod = _no_work(monkeypatch, module, "run_case")
    with pytest.raises(SystemExit) as stop:
        mod.main([*args, "--json-out", str(tmp_path / "r.json")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and not list(tmp_path.iterdir()), err


@pytest.mark.parametrize("module", ["versus", "recipes", "recipe_search", "levers", "margins",
                                    "levels", "elementwise", "continuous_start",
                                    "fixed_point_budget", "weight_range", "product_bound",
                                    "stuck_calls", "fused_step"])
def test_benchmark_helpers_give_xbarmems_refusals_in_one_line(module, tmp_path, monkeypatch,
                                                               capsys):
    """What the library refuses once a helper runs (the memory limit, a pattern source's
    size) is one line and exit 2 in every helper, not a traceback."""
    import importlib

    from benchmarks import command_line
    from xbarmem.limits import TooLargeError

    mod = importlib.import_module(f"benchmarks.{module}")

    def refused(path):
        raise TooLargeError("training 3 networks would need about 23 GiB of memory")

    monkeypatch.setattr(command_line, "json_out_ok", refused)
    args = ["HEAD"] if module == "versus" else []
    assert mod.main([*args, "--json-out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err == "error: training 3 networks would need about 23 GiB of memory\n", err


def test_levels_refuses_a_request_above_the_memory_limit_in_one_line(tmp_path, monkeypatch,
                                                                     capsys):
    from benchmarks import levels

    monkeypatch.setenv("XBARMEM_MAX_BYTES", "1M")
    assert levels.main(["--data", "random", "--patterns", "500", "--levels", "2", "--chips",
                        "rram:0.1", "--seeds", "1", "--json-out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training") and "would need about" in err, err
    assert err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_levels_measures_another_training_path(tmp_path, capsys):
    from benchmarks import levels

    assert levels.main(["--seeds", "2", "--probes", "1", "--levels", "2", "--chips", "rram:0.1",
                        "--data", "random", "--patterns", "3", "--objective", "fixed-point",
                        "--kind", "continuous", "--json-out", str(tmp_path / "r.json")]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["path"] == {"recipe": "default", "objective": "fixed-point",
                              "arch": "single", "hidden": 64, "kind": "continuous"}
    (row,) = record["rows"]
    assert (row["chip"], row["levels"], row["patterns"]) == ("rram", 2, 3)
    assert set(row["on"]["cosine"]) == {"0.10", "0.20"} and len(row["on"]["cosine"]["0.10"]) == 2
    assert "noise 0.1: on / off (on - off)" in record["table"]


@pytest.mark.parametrize("args", [
    ["--seed", "-1"], ["--seed", "4294967296"], ["--xbarmem-lr", "0"], ["--xbarmem-lr", "-1"],
    ["--xbarmem-lr", "nan"], ["--counts", "129"], ["--counts", "0"], ["--flip", "nan"],
    ["--flip", "0.6"], ["--faults-1024", "inf"], ["--threads", "0"], ["--probes", "0"],
    ["--max-steps", "-5"], ["--trials", "x"], ["--patterns-1024", "0"]])
def test_every_bad_option_is_one_line_and_exit_2_before_any_work(args, capsys, monkeypatch,
                                                                 tmp_path):
    """Every numeric option of ``python -m benchmarks`` is checked before the run starts: a
    negative seed or a learning rate <= 0 or NaN ran the warm-up and the first cases before a
    traceback (or, for 0, ran on), and ``--counts`` above 128 was cut to 128 silently."""
    import benchmarks.__main__ as entry

    def no_work(*_args, **_kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(entry, "run", no_work)
    out = tmp_path / "r.json"
    assert main(["1", *args, "--json-out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"argument {args[0]}" in err
    assert not out.exists()


def test_results_say_which_code_measured_them(tmp_path, monkeypatch):
    """The suite's ``meta`` had no xbarmem version and no file a commit: a result could not be
    told from one of other code (the docs' records each carry both). ``code()`` gives the
    version and, for a git checkout, the short commit (``+dirty`` with local changes)."""
    import subprocess

    import xbarmem
    from benchmarks import command_line
    from benchmarks.recipes import provenance

    found = command_line.code()
    assert found["xbarmem"] == xbarmem.__version__
    assert {"xbarmem", "commit"} <= set(provenance("levers", []))
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if head and Path(xbarmem.__file__).resolve().is_relative_to(ROOT):
        assert found["commit"] is not None and found["commit"].split("+")[0] == head
    monkeypatch.setattr(command_line, "_git", lambda *args: None)  # no git, or not a checkout
    assert command_line.code() == {"xbarmem": xbarmem.__version__, "commit": None}


def test_the_naive_curve_takes_recall_curves_seeds_at_the_largest_seed():
    """Case 2's naive side drew chip and cues of trial k from ``seed + k`` where
    ``recall_curve`` wraps it to 32 bits (``offset_seed``): ``--seed 4294967295 --trials 2``
    stopped with a ConfigError on a seed nobody gave, after the first trial's training."""
    from xbarmem.checks import MAX_SEED

    cfg = BenchConfig.tiny().with_overrides(seed=MAX_SEED, capacity_trials=2,
                                            capacity_faults=(0.5,))
    data = run(["2"], cfg, preset="tiny", json_out=None,
               console=Console(file=io.StringIO(), width=140), verbose=False)
    level = data["cases"]["2"]["levels"][0]
    assert level["subsets_identical"] and level["naive"]["networks"] == 2 * len(
        cfg.capacity_counts)


def test_the_process_peak_after_a_case_counts_the_peaks_before_each_reset():
    """``ru_maxrss_bytes_after`` (each case's entry) read ``getrusage``'s ``ru_maxrss``, which
    restarts from the current RSS whenever a side's ``PeakMemory`` resets the high-water mark
    (Linux): after a later side it showed less than an earlier side's own peak."""
    import torch

    from benchmarks.measure import PeakMemory, lifetime_peak_bytes

    with PeakMemory() as first:
        block = torch.ones(64 * 2**18)  # 64 MiB, touched
        block += 1
    del block
    with PeakMemory() as second:
        pass
    if first.method != "VmHWM":
        pytest.skip("the high-water mark cannot be reset here (no /proc/self/clear_refs)")
    slack = 2**20  # (the kernel's RSS counters are read a few pages apart)
    assert second.peak_bytes < first.peak_bytes - 32 * 2**20  # the reset forgot the 64 MiB
    assert lifetime_peak_bytes() >= first.peak_bytes - slack


@pytest.mark.parametrize("threads", ["1", "2"])
def test_progress_estimate_records_the_threads_its_command_ran_with(tmp_path, monkeypatch,
                                                                     capsys, threads):
    """The record named this process's thread count after the command had restored it (2 on
    a 2-core machine for a command run with its default of 1)."""
    from benchmarks import progress_estimate

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    code = progress_estimate.main(["--json-out", str(out), "--", "capacity", "--arch", "single",
                                   "--data", "random", "--neurons", "16", "--trials", "1",
                                   "--threshold", "0.95", "--rule", "pinv", "--threads",
                                   threads])
    data = json.loads(out.read_text())
    assert code == 0 and data["torch_threads"] == int(threads)
    assert data["shares"]["single"]["estimate"] == 1.0
    assert set(data["eta_over_remaining"]) == {"25%", "50%", "75%"}
