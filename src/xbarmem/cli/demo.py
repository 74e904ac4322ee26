"""``xbarmem demo``: ten digits on half-broken crossbars, every learning rule compared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xbarmem.checks import seconds_text
from xbarmem.cli import (
    data_options,
    given,
    hardware_options,
    old_options,
    output_options,
    paths,
    recall_options,
    run_options,
)
from xbarmem.cli.apps import app
from xbarmem.cli.progress import work_bar
from xbarmem.cli.records import describe_devices, emit_json
from xbarmem.cli.tables import console, out
from xbarmem.data.sources import data_words
from xbarmem.learning.budget import step_budget
from xbarmem.names import RULE_NAMES

Level = Annotated[float | None, recall_options.level("0.1", flips_only=True)]
Out = Annotated[Path, output_options.out("folder for the PNG", folder=True)]
#: the demo's trials: chips with their own fault maps, each storing the same 10 digits
Trials = Annotated[int, recall_options.trials("fault maps; the same 10 digits on each")]


@app.command(
    "demo", short_help="Ten digits on half-broken crossbars, all rules compared.",
    help="Store 10 MNIST digits (8x8, one per class) on 64x64 crossbars with half the devices "
         "stuck, recall them from corrupted cues, and compare hardware-adaptive learning with "
         "Hebb, Storkey, pseudo-inverse and perceptron under both fault models (faulty weight "
         "= 0; stuck device at g_min/g_max). Writes a PNG of the recalls.")
@run_options.threads_option("threads")
def demo(
    ctx: typer.Context,
    threads: int,
    data: data_options.DemoData = "mnist-crop24",
    faults: hardware_options.FaultsOwnDefault = 0.5,
    corruption: recall_options.FlipOnly = None,
    level: Level = None,
    probes: recall_options.Probes = 20,
    trials: Trials = 20,
    seed: run_options.Seed = 0,
    out_dir: Out = Path("xbarmem-out"),
    json_out: output_options.Json = False,
    flip: old_options.OldFlip = None,
    chips: old_options.OldChips = None,
) -> None:
    level = given.flip_level(ctx, "demo", corruption, level, flip)
    trials = given.deprecated(ctx, "--chips", chips, trials, new="trials", use=f"--trials {chips}")
    rules = list(RULE_NAMES)
    # 10 digits of N = 64, each rule on each of 2 fault models and `trials` chips
    given.check_request(64, networks=2 * len(rules) * trials, cues=2 * len(rules) * trials * 10 *
                        probes, lower={"--trials": trials, "--probes": probes})
    from xbarmem.experiments.demo import FIGURE, run_demo  # (matplotlib: only once checked)

    paths.check_members(out_dir, [FIGURE])  # (before any work)

    results = _run(run_demo, dict(fault_rate=faults, flip=level, probes=probes, trials=trials,
                                  seed=seed, out_dir=out_dir, rules=rules, data=data),
                   json_out)
    results.update(run_options.run_record(threads))
    if json_out:
        emit_json(results)
        return
    _print_demo(results, rules, faults, level, trials, probes)


def _print_demo(results: dict, rules: list[str], faults: float, level: float, trials: int,
                probes: int) -> None:
    s = results["settings"]
    words = data_words(s["data"])  # ("8x8 digit": its size said once)
    size = "" if "8x8" in words else "8x8 images, "
    out.print(f"Recall of {s['n_patterns']} {words} patterns ({size}one per digit class), N="
              f"{s['n_neurons']}, {faults:.0%} stuck, {level:.0%} bit flips, {trials} "
              f"chip{'s' if trials != 1 else ''} x {probes} cue{'s' if probes != 1 else ''} per "
              "digit")
    for model, res in results["fault_models"].items():
        table = Table(title=f"{model} fault model ({res['chip']['name']} preset + faults)")
        spread = trials > 1  # (one chip: no spread, a column of "-"; the note below says so)
        for col in ("rule", "cosine", *["± chips"] * spread, "exact", "tanh neurons"):
            table.add_column(col, justify="left" if col == "rule" else "right")
        for name in rules:
            r = res["rules"][name]
            table.add_row(name, f"{r['cosine']:.3f}",
                          *([f"{r['cosine_std']:.3f}"] if spread else []),
                          f"{r['exact']:.2f}", f"{r['variants']['tanh']['cosine']:.3f}")
        out.print(table)
    over = "± std over chips" if trials > 1 else "no spread over one chip"
    out.print(f"cosine: mean similarity to the stored digit ({over}), sign neurons as in "
              "the paper; exact: fraction recalled bit-perfectly; tanh neurons: same chips and "
              "cues recalled with analogue tanh neurons, sign read-out.")
    dev = results["fault_models"][next(iter(results["fault_models"]))]["rules"]
    out.print(f"devices (adaptive, with bias row): {describe_devices(dev['adaptive']['devices'])}")
    out.print(f"figure: {results['figure']}   (every rule trained and recalled in "
              f"{seconds_text(results['seconds'])} s)")


def _run(run_demo, settings: dict, quiet: bool) -> dict:
    """``run_demo(**settings)`` behind a bar that follows the training steps of every rule."""
    weight = _weights(settings["rules"])
    with work_bar(console, disable=quiet, transient=True) as bar:
        task = bar.add_task("training and recalling", total=2 * sum(weight.values()),
                            detail="", bound=True)
        done = [0.0]  # work of the rules finished so far

        def training(model: str, name: str, step: int, loss: float) -> None:
            bar.update(task, completed=done[0] + min(step, weight[name]),
                       detail=f"{model} faults: {name} step {step}, loss {loss:.3g}")

        def finished(model: str, name: str) -> None:
            done[0] += weight[name]
            bar.update(task, completed=done[0], detail=f"{model} faults: {name} done")

        return run_demo(**settings, progress=finished, train_progress=training)


def _weights(rules: list[str]) -> dict[str, float]:
    """Estimated work per rule for the progress bar: the hardware-adaptive rule its step
    budget, each closed-form rule a twentieth of that (its recall scoring)."""
    from xbarmem.learning.adaptive import AdaptiveTrainer

    budget = step_budget(AdaptiveTrainer().options(1), "binary")
    return {r: float(budget if r == "adaptive" else budget / 20) for r in rules}
