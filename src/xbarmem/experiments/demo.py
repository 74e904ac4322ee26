"""The flagship demo: handwritten digits on a half-broken 64x64 crossbar.

Ten 8x8 digits (one of each class 0-9, binarised at each image's mean; bundled MNIST by default,
or scikit-learn's 8x8 digits with ``data="digits"``) are stored in a
64-neuron single-layer memory on simulated chips with 50% stuck devices, by the hardware-adaptive
rule and by the classic rules through the same chips; each is recalled from cues with 10% of the
bits flipped. Runs under both fault models: ``weight`` (the paper's simulation, a faulty weight is
0) and ``device`` (physical differential pairs whose stuck devices sit at g_min or g_max).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.checks import (
    canonical,
    check_callback,
    check_choice,
    check_count,
    check_texts,
    choices_text,
    renamed_keywords,
    shown,
)
from xbarmem.data.builtin import load_digits, load_mnist
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol, check_distinct, compare_rules
from xbarmem.files import check_outputs_in, make_folder, output_folder, undone_on_failure_of
from xbarmem.hardware.chip import FRACTION, ChipSpec, load_preset
from xbarmem.learning.classic import get_rule, rule_names
from xbarmem.viz.figures import recall_grid
from xbarmem.viz.style import save_figure

FAULT_MODEL_PRESETS = {"weight": "paper-sim", "device": "ideal"}
#: one digit of each class 0-9, 8x8, binarised at each image's mean
DEMO_DATA = {
    "mnist": lambda: load_mnist(side=8, kind="binary", one_per_class=True),
    "mnist-crop24": lambda: load_mnist(side=8, kind="binary", one_per_class=True, crop=24),
    "digits": lambda: load_digits(kind="binary", one_per_class=True),
}


#: the figure :func:`run_demo` writes into its folder
FIGURE = "demo-recall.png"


@undone_on_failure_of
@renamed_keywords(chips="trials", faults="fault_rate")
def run_demo(*, fault_rate: float = 0.5, flip: float = 0.1, probes: int = 20, trials: int = 20,
             fault_models: tuple[str, ...] = ("weight", "device"), seed: int = 0,
             out_dir: str | Path = "xbarmem-out", rules: list[str] | None = None,
             data: str = "mnist-crop24", progress=None,
             train_progress=None) -> dict[str, Any]:
    """Run the demo; returns the results dict (also used for ``--json``) and writes a PNG.

    Every trained chip is recalled twice from the same cues: with the paper's sign neurons
    (``x <- sign(W x + b)``, the main result) and with analogue tanh neurons
    (``x <- tanh(W x + b)``, sign read-out at the end; ``variants["tanh"]``). ``progress`` is an
    optional callable ``(fault_model, rule_name) -> None`` called after each rule is trained
    and scored; ``train_progress(fault_model, rule_name, step, loss)`` while a rule trains
    (iterative rules only: optimiser steps and mean loss). ``trials`` chips per fault model,
    each ``fault_rate`` stuck (earlier ``chips``, ``faults``: a ``DeprecationWarning``).
    """
    start = time.perf_counter()
    data = canonical(data, DEMO_DATA)  # "MNIST-crop24" is "mnist-crop24"
    out_dir, rules, chip_of = _checked(data, out_dir, rules, fault_models, fault_rate, trials,
                                       progress, train_progress)
    fault_models = tuple(chip_of)  # (canonical names)
    protocol = Protocol(corruption="flip", level=flip, probes=probes, seed=seed,
                        activation="sign")
    patterns = DEMO_DATA[data]()
    make_folder(out_dir)
    analogue = {"tanh": Protocol(corruption="flip", level=flip, probes=probes, seed=seed,
                                 activation="tanh")}
    results: dict[str, Any] = {"fault_models": {}}
    grid_rows: dict[str, np.ndarray] = {}
    grid_cues = None
    for model in fault_models:
        chip = chip_of[model]
        callback = (lambda name, model=model: progress(model, name)) if progress else None
        steps = ((lambda name, step, loss, model=model: train_progress(model, name, step, loss))
                 if train_progress else None)
        res = compare_rules(patterns, chip, rules, trials=trials, fault_seed=seed,
                            program_seed=seed, protocol=protocol, keep_states=True,
                            callback=callback, variants=analogue, train_progress=steps)
        for name, entry in res["rules"].items():
            example = entry.pop("example")
            if model == fault_models[0]:
                p = patterns.n_patterns
                grid_cues = example["cues"][:p].numpy()  # identical for every rule (same seed)
                grid_rows[name] = example["states"][:p].numpy()
        results["fault_models"][model] = {"chip": res["settings"]["chip"],
                                          "rules": res["rules"]}
    # the demo's image sets have an image shape and labels; the first model set grid_cues
    figure = save_figure(recall_grid(
        patterns.patterns, grid_cues, patterns.image_shape, grid_rows,  # type: ignore[arg-type]
        title=f"{fault_models[0]} fault model, {fault_rate:.0%} stuck, {flip:.0%} flips "
              f"(chip 0)"), out_dir / FIGURE)
    results["settings"] = {
        "data": data, "pattern_set": patterns.name, "n_patterns": patterns.n_patterns,
        "labels": patterns.labels.tolist(),  # type: ignore[union-attr]
        "n_neurons": patterns.n_neurons,
        "fault_rate": fault_rate, "flip": flip, "probes": probes, "trials": trials,
        "seed": seed, "recall": "sync, sign neurons (variant: tanh neurons), <= 100 steps",
        "protocol": protocol.as_dict()}
    results["figure"] = str(figure)
    results["seconds"] = time.perf_counter() - start
    return results


def _checked(data, out_dir, rules, fault_models, fault_rate, trials, progress, train_progress
             ) -> tuple[Path, list[str], dict[str, ChipSpec]]:
    """:func:`run_demo`'s arguments checked before any work: ``(out_dir, rules, chip of each
    fault model)``; :class:`ConfigError` / :class:`~xbarmem.errors.ArgumentError` naming the
    first bad one."""
    check_choice(data, sorted(DEMO_DATA), "demo data")
    check_count(trials, "trials")
    check_callback(progress, "progress")
    check_callback(train_progress, "train_progress")
    rules = (None if rules is None else check_texts(rules, "rules", "a list of rule names")
             ) or rule_names()
    # an unknown rule name is refused here, before any work; the others kept canonical
    rules = [get_rule(rule).name for rule in rules]
    check_distinct(rules)
    models = check_texts(fault_models, "fault_models", "a list of fault models")
    if not models:
        raise ConfigError(f"fault_models must name at least one of "
                          f"{choices_text(FAULT_MODEL_PRESETS)}, got {shown(fault_models)}")
    models = [check_choice(model, FAULT_MODEL_PRESETS, "fault_models") for model in models]
    fault_rate = FRACTION(fault_rate, "fault_rate")
    chip_of = {m: load_preset(FAULT_MODEL_PRESETS[m]).with_faults(fault_rate) for m in models}
    folder = output_folder(out_dir, "demo figure")
    check_outputs_in(folder, [FIGURE], "demo figure", error=ConfigError)
    return folder, rules, chip_of
