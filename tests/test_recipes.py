"""Recipes of the hardware-adaptive rule: named defaults for the options a user leaves unset."""

import json
from pathlib import Path

import pytest
import torch

from xbarmem import AdaptiveTrainer, Protocol, evaluate_memory, random_patterns, train
from xbarmem.errors import ConfigError
from xbarmem.experiments.sweep import parse_sweep
from xbarmem.learning.adaptive import DEFAULTS, RECIPE_OPTIONS
from xbarmem.learning.budget import step_budget
from xbarmem.learning.multilayer import MultilayerTrainer
from xbarmem.memory.io import load_model
from xbarmem.names import RECIPES

#: the values every default-recipe option had before recipes existed (trial keys depend on them)
BEFORE = {"max_steps": 3000, "cue_copies": 16, "unroll": 5, "recall_loss": "mse",
          "finetune_steps": 1000, "finetune_lr": 3e-3, "finetune_unroll": 10}


@pytest.mark.parametrize("layers, kind", [(1, "binary"), (1, "continuous"), (2, "continuous")])
def test_default_recipe_resolves_to_its_table_and_is_not_listed(layers, kind):
    """Continuous patterns keep the values every option had before recipes existed; one-layer
    binary memories take the default recipe's table (changed 2026-12-01)."""
    options = AdaptiveTrainer().options(layers, kind)
    table = RECIPE_OPTIONS.get(("default", "single", kind), {}) if layers == 1 else {}
    expected = {**BEFORE, **table}
    assert {k: options.get(k) for k in expected} == expected
    assert options["warm_start"] is False
    assert "recipe" not in options
    assert AdaptiveTrainer(recipe="default").options(layers, kind) == options


def test_warm_start_is_a_recipe_option_a_user_can_override():
    assert AdaptiveTrainer(recipe="fast").options(1)["warm_start"] is True
    assert AdaptiveTrainer(recipe="fast", warm_start=False).options(1)["warm_start"] is False
    assert AdaptiveTrainer(warm_start=True).options(1)["warm_start"] is True
    assert MultilayerTrainer(recipe="fast").options(2)["warm_start"] is False


def test_multilayer_binary_memories_train_with_the_fast_values_under_both_recipes():
    table = RECIPE_OPTIONS[("fast", "multilayer", "binary")]
    default = MultilayerTrainer().options(2, "binary")
    assert {k: default[k] for k in table} == table and "recipe" not in default
    fast = MultilayerTrainer(recipe="fast").options(2, "binary")
    assert {k: v for k, v in fast.items() if k != "recipe"} == default
    # the fixed-point objective keeps its own defaults
    fixed = MultilayerTrainer(objective="fixed-point").options(2, "binary")
    assert {k: fixed[k] for k in BEFORE} == BEFORE


@pytest.mark.parametrize("layers, arch", [(1, "single"), (2, "multilayer")])
def test_fast_recipe_sets_its_table_for_binary_basin_only(layers, arch):
    fast = AdaptiveTrainer(recipe="fast")
    table = RECIPE_OPTIONS[("fast", arch, "binary")]
    binary = fast.options(layers, "binary")
    assert {k: binary[k] for k in table} == table and binary["recipe"] == "fast"
    # continuous patterns and the fixed-point objective keep the default recipe's values
    continuous = fast.options(layers, "continuous")
    assert {k: continuous[k] for k in BEFORE} == BEFORE
    fixed = AdaptiveTrainer(recipe="fast", objective="fixed-point").options(layers, "binary")
    assert fixed["max_steps"] == 3000 and fixed["lr"] == (DEFAULTS["single"]["lr"] if layers == 1
                                                          else DEFAULTS["fixed-point"]["lr"])


def test_options_given_explicitly_win_over_the_recipe():
    options = AdaptiveTrainer(recipe="fast", finetune_steps=1000, lr=0.01).options()
    assert options["finetune_steps"] == 1000 and options["lr"] == 0.01
    assert options["unroll"] == RECIPE_OPTIONS[("fast", "single", "binary")]["unroll"]


def test_unknown_recipe_is_refused():
    with pytest.raises(ConfigError, match="^recipe must be one of 'default', 'fast', got 'quick'$"):
        AdaptiveTrainer(recipe="quick")
    assert set(RECIPES) == {"default"} | {key[0] for key in RECIPE_OPTIONS}


def test_fast_recipe_trains_its_step_budget_and_recalls():
    """The fast recipe runs exactly its two stages' steps and stores 16 random patterns of
    N = 64 with near-perfect recall at 5% flips."""
    x = random_patterns(16, 64, seed=5)
    memory = train(x, chip="paper-sim", recipe="fast")
    options = memory.info["rule_options"]
    table = RECIPE_OPTIONS[("fast", "single", "binary")]
    assert memory.info["steps"] == table["max_steps"] + table["finetune_steps"]
    assert memory.info["steps"] == step_budget(options, "binary")
    score = evaluate_memory(memory, x, Protocol(corruption="flip", level=0.05, probes=20,
                                                seed=1))
    assert score.cosine >= 0.99


def test_recipe_is_recorded_for_the_kind_trained():
    x = random_patterns(4, 16, seed=0)
    cont = torch.tensor(x.patterns) * 0.5
    memory = train(cont, chip="paper-sim", kind="continuous", recipe="fast", max_steps=5)
    assert memory.info["rule_options"]["recipe"] == "fast"
    assert memory.info["rule_options"]["unroll"] == BEFORE["unroll"]  # not the binary table


def test_multilayer_trainer_resolves_the_multilayer_table():
    options = MultilayerTrainer(recipe="fast").options()
    assert options["lr"] == RECIPE_OPTIONS[("fast", "multilayer", "binary")]["lr"]


def test_sweep_resolves_the_recipe_for_its_kind():
    def spec(kind):
        return parse_sweep({
            "sweep": {"trial": "evaluate", "name": "r"},
            "base": {"data": "random", "n_neurons": 16, "patterns": 4, "kind": kind},
            "grid": {"rule": ["adaptive"]},
            "rule_options": {"adaptive": {"recipe": "fast"}}})
    binary = spec("binary").trials[0].config["rule_options"]
    continuous = spec("continuous").trials[0].config["rule_options"]
    assert binary["recipe"] == continuous["recipe"] == "fast"
    assert binary["unroll"] == RECIPE_OPTIONS[("fast", "single", "binary")]["unroll"]
    assert continuous["unroll"] == BEFORE["unroll"]
    assert spec("binary").trials[0].key != spec("continuous").trials[0].key


def test_cli_recipe(run_cli, tmp_path):
    out = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", "random", "--patterns", "4", "--neurons", "16",
                           "--recipe", "fast", "--rule-option", "finetune_steps=3",
                           "--out", out)
    assert code == 0, err
    options = load_model(out)[0].info["rule_options"]
    assert options["recipe"] == "fast" and options["finetune_steps"] == 3
    assert options["unroll"] == RECIPE_OPTIONS[("fast", "single", "binary")]["unroll"]
    for args, what in ((("--recipe", "quick"), "--recipe must be one of default, fast"),
                       (("--rule", "hebb", "--recipe", "fast"), "adaptive rule only")):
        code, _, err = run_cli("train", "--data", "random", "--patterns", "4", "--neurons",
                               "16", *args, "--out", tmp_path / "x.safetensors")
        assert code == 2 and what in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "x.safetensors").exists()
    assert json.dumps(options)  # JSON-able as stored


def test_reproduce_with_a_recipe_runs_its_own_sweeps(tmp_path):
    """``reproduce(recipe="fast")``: every adaptive trial trains with the recipe, in sweeps named
    after it (no trial shared with the default recipe's), the report states it; a bad recipe
    is refused before anything is written."""
    from xbarmem.errors import ConfigError
    from xbarmem.experiments.reproduce import Correlation, reproduce

    seen = {}

    def capture(specs, db):
        seen[len(seen)] = specs

    for recipe in ("default", "fast"):
        res = reproduce(tmp_path / recipe, quick=True, experiments=[Correlation()],
                        run=capture, log=lambda _: None, recipe=recipe)
        assert res["recipe"] == recipe
        assert f"{recipe} recipe (" in Path(res["path"]).read_text()
    default, fast = seen[0], seen[1]
    assert all("-fast-" in s.name for s in fast) and not any("-fast-" in s.name for s in default)
    adaptive = [t.config for s in fast for t in s.trials if t.config["rule"] == "adaptive"]
    assert adaptive and all(c["rule_options"]["recipe"] == "fast" for c in adaptive)
    keys = {t.key for s in default for t in s.trials if t.config["rule"] == "adaptive"}
    assert keys and keys.isdisjoint(t.key for s in fast for t in s.trials)
    with pytest.raises(ConfigError, match="recipe"):
        reproduce(tmp_path / "bad", quick=True, experiments=[Correlation()], run=capture,
                  recipe="quick")
    assert not (tmp_path / "bad").exists()


def test_reproduce_with_bf16_products_trains_the_large_experiments_with_them(tmp_path,
                                                                            monkeypatch):
    """``reproduce(products="bf16")``: the adaptive trials of the experiments of large networks
    ((e)) carry the option, in sweeps named after it (``-bf16``, after the recipe's mark) that
    share no trial with the float32 run; the other experiments' sweeps are the float32 run's
    (same names and trials); the report and its command state it; without bfloat16 support,
    or with an unknown precision, it is refused before anything is written."""
    from xbarmem.errors import ConfigError
    from xbarmem.experiments.reproduce import Correlation, Scaling, reproduce
    from xbarmem.learning import adaptive

    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: True)
    seen = {}
    runs = {"float32": ("default", "float32"), "bf16": ("default", "bf16"),
            "fast-bf16": ("fast", "bf16")}
    for name, (recipe, products) in runs.items():
        res = reproduce(tmp_path / name, quick=True, experiments=[Correlation(), Scaling()],
                        run=lambda specs, db, name=name: seen.update({name: specs}),
                        log=lambda _: None, recipe=recipe, products=products)
        assert (res["recipe"], res["products"]) == (recipe, products)
        text = Path(res["path"]).read_text()
        assert ("(e) trains with bf16 products" in text) == (products == "bf16")
        assert ("Training products: bf16" in text) == (products == "bf16")
        # (the command that runs these sections, products named in it)
        assert ("--sections g,e" in text) and ("--products bf16" in text) == (products == "bf16")

    def split(specs):
        large = [s for s in specs if "-e-" in s.name]
        return large, [s for s in specs if s not in large]

    (plain_e, plain_g), (bf16_e, bf16_g), (fast_e, fast_g) = map(split, seen.values())
    assert plain_e and all(s.name.startswith("reproduce-quick-bf16-e-") for s in bf16_e)
    assert all(s.name.startswith("reproduce-quick-fast-bf16-e-") for s in fast_e)
    assert fast_g and all(s.name.startswith("reproduce-quick-fast-g-") for s in fast_g)
    assert len(plain_g) == len(fast_g)
    assert [s.name for s in bf16_g] == [s.name for s in plain_g]
    assert [t.key for s in bf16_g for t in s.trials] == [t.key for s in plain_g for t in s.trials]
    for specs, recipe in ((bf16_e, None), (fast_e, "fast")):
        options = [t.config["rule_options"] for s in specs for t in s.trials]
        assert options and all(o["products"] == "bf16" and o.get("recipe") == recipe
                               for o in options)
    everything_else = plain_e + plain_g + bf16_g + fast_g
    assert not any("products" in t.config["rule_options"] for s in everything_else
                   for t in s.trials)
    keys = {t.key for s in plain_e for t in s.trials}
    assert keys and keys.isdisjoint(t.key for s in bf16_e for t in s.trials)

    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: False)
    for products, match in (("bf16", "bfloat16 support"), ("half", "products must be one of")):
        with pytest.raises(ConfigError, match=match):
            reproduce(tmp_path / "bad", quick=True, experiments=[Correlation()],
                      run=lambda specs, db: None, products=products)
        assert not (tmp_path / "bad").exists()


def test_the_recipe_table_of_the_performance_docs_is_what_the_trainer_resolves():
    """docs/performance.md's table of what each recipe sets (between ``recipe-table`` markers)
    holds, for every option and column, the value ``AdaptiveTrainer(recipe=...).resolved``
    gives: "-" where the stage does not run, yes/no for flags."""
    from pathlib import Path

    from xbarmem.learning.adaptive import AdaptiveTrainer

    text = (Path(__file__).parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    table = text.split("<!-- recipe-table -->")[1].split("<!-- /recipe-table -->")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in table.strip().splitlines()[2:]]
    columns = [("default", 1, "binary"), ("fast", 1, "binary"), ("default", 2, "binary"),
               ("default", 1, "continuous")]
    assert len(rows) == 11
    for _, option, *cells in rows:
        name = option.split("`")[1]
        for (recipe, layers, kind), cell in zip(columns, cells, strict=True):
            resolved = AdaptiveTrainer(recipe=recipe).resolved(layers, kind)
            value = getattr(resolved, name)
            runs = not (name.startswith("finetune") and kind == "continuous")
            if isinstance(value, bool):
                expected = "yes" if value else "no"
            elif value is None or not runs:
                expected = "-"
            else:
                expected = str(value)
            assert cell == expected, (name, recipe, layers, kind, cell, value)
    # the multilayer column says "both recipes": the fast recipe resolves to the same there
    for layers, kind in ((2, "binary"), (1, "continuous"), (2, "continuous")):
        assert (AdaptiveTrainer(recipe="fast").resolved(layers, kind)
                == AdaptiveTrainer(recipe="default").resolved(layers, kind).replace(recipe="fast"))
