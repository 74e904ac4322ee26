"""``xbarmem capacity`` and ``xbarmem scaling``: capacity search and scaling fits."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xbarmem.cli.common import _emit_json, _finite, app, console, out
from xbarmem.data.patterns import load_patterns
from xbarmem.errors import ConfigError
from xbarmem.evaluation.capacity import ARCHS, find_capacity
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.evaluation.scaling import HiddenRule, run_scaling

RECALLED = ("Recalled means: the mean cosine similarity between the final recall state and the "
            "stored pattern, over all cues, is at or above the threshold (binary: sign states; "
            "continuous: the final tanh state).")


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{what} is empty")
    return values


def _ints(text: str, what: str) -> list[int]:
    values = _floats(text, what)
    if any(v != int(v) or v < 1 for v in values):
        raise ConfigError(f"{what} must be positive integers, got {text!r}")
    return [int(v) for v in values]


def _hidden(text: str) -> list[int]:
    """Hidden widths of one architecture: ``32`` or ``64-32``."""
    return _ints(text.replace("-", ","), "--hidden")


def _protocol(kind: str, corruption: str | None, level: float | None, probes: int,
              seed: int) -> Protocol:
    if kind == "binary":
        return Protocol(corruption=corruption or "flip", level=0.05 if level is None else level,
                        probes=probes, activation="sign", seed=seed)
    return Protocol(corruption=corruption or "gaussian", level=0.6 if level is None else level,
                    probes=probes, activation="tanh", seed=seed)


class _Status(Progress):
    """Spinner with the latest tested count on a terminal; one log line per tested count when
    stderr is not a terminal (long runs redirected to a file stay observable)."""

    def update(self, task_id, **fields):  # type: ignore[override]
        if not console.is_terminal and "description" in fields:
            console.print(f"[{self.tasks[0].elapsed or 0:.0f} s] {fields['description']}",
                          highlight=False, soft_wrap=True)
        super().update(task_id, **fields)


def _progress() -> Progress:
    return _Status(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                   console=console, transient=True)


def _rule_options(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--rule-options must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError("--rule-options must be a JSON object, e.g. '{\"cue_flip\": 0.05}'")
    return value


@app.command("capacity", help=(
    "Largest number of stored patterns P whose mean recall similarity, and that at every "
    "smaller tested P, stays at or above each threshold; fresh random pattern subsets per "
    "trial, seeds recorded in --json. " + RECALLED))
def capacity_cmd(
    arch: Annotated[str, typer.Option(
        help="single, multilayer, or both comma-separated (one table).")] = "single",
    hidden: Annotated[str, typer.Option(
        help="Multilayer hidden widths: 32; 64-32 (two hidden layers); 16,32,128 (one "
             "architecture each).")] = "32",
    data: Annotated[str, typer.Option(
        help="digits (scikit-learn 8x8), mnist, mnist-crop24, random or a file.")] = "digits",
    kind: Annotated[str, typer.Option(help="binary or continuous.")] = "binary",
    side: Annotated[int, typer.Option(help="Image side (N = side^2) for mnist/random.")] = 8,
    pool: Annotated[int | None, typer.Option(
        help="Pool of patterns subsets are drawn from (default: all; random: 2000).")] = None,
    rule: Annotated[str, typer.Option(help="Learning rule (single layer).")] = "adaptive",
    chip: Annotated[str, typer.Option(help="Chip preset or TOML.")] = "paper-sim",
    faults: Annotated[float | None, typer.Option(help="Fraction of stuck devices.")] = None,
    corruption: Annotated[str | None, typer.Option(
        help="Cue corruption (default: flip for binary, gaussian for continuous).")] = None,
    level: Annotated[float | None, typer.Option(
        help="Flip rate or Gaussian sigma (default 0.05 binary, 0.6 continuous).")] = None,
    probes: Annotated[int, typer.Option(help="Corrupted cues per stored pattern.")] = 20,
    threshold: Annotated[str, typer.Option(
        help="Similarity threshold(s), comma-separated.")] = "0.99",
    trials: Annotated[int, typer.Option(help="Networks (chips, subsets) per count.")] = 2,
    start: Annotated[int | None, typer.Option(help="First count tried.")] = None,
    resolution: Annotated[float, typer.Option(
        help="Relative bracket width at which bisection stops (0 = exact).")] = 0.0,
    rule_options: Annotated[str | None, typer.Option(
        help="Trainer options as JSON, e.g. '{\"cue_flip\": 0.05}'.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of faults, subsets, training, cues.")] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Largest number of stored patterns whose recall similarity (and that at every smaller
    tested count) stays at or above the threshold. Fresh random pattern subsets per trial."""
    from xbarmem.cli.app import _chip

    thresholds = _floats(threshold, "--threshold")
    configs = _architectures(arch, hidden)
    n_pool = pool if pool is not None else (2000 if data == "random" else None)
    patterns = load_patterns(data, kind=kind, side=side, n=n_pool, seed=seed)
    spec = _chip(chip, faults, 0.5, None)
    protocol = _protocol(kind, corruption, level, probes, seed)
    results = []
    with _progress() as bar:
        task = bar.add_task("searching", total=None)
        for a, h in configs:
            label = "single" if a == "single" else "-".join(map(str, [patterns.n_neurons, *h,
                                                                      patterns.n_neurons]))
            res = find_capacity(
                patterns, arch=a, chip=spec, rule=rule, hidden=h or 32,
                thresholds=thresholds, protocol=protocol, trials=trials, seed=seed,
                start=start, resolution=resolution, rule_options=_rule_options(rule_options),
                progress=lambda p, s, label=label: bar.update(
                    task, description=f"{label} P={p}: similarity {s:.4f}"))
            results.append((label, res))
    payload = {"results": [{"architecture": label, **res.as_dict()} for label, res in results],
               "recalled_means": RECALLED}
    if json_out:
        _emit_json(payload)
        return
    table = Table(title=f"capacity on {patterns.name} ({rule if 'single' in arch else 'adaptive'}"
                        f", {protocol.corruption} {protocol.level:g}, {trials} trial(s))")
    for col in ("architecture", "devices", "arrays",
                *[f"C@{t:g}" for t in sorted(thresholds)], "C/1k devices", "counts", "s"):
        table.add_column(col, justify="right")
    for label, res in results:
        first = sorted(thresholds)[0]
        table.add_row(label, str(res.devices.get("devices", "")),
                      str(res.devices.get("arrays", "")),
                      *[str(res.capacity[t]) for t in sorted(thresholds)],
                      f"{1000 * res.capacity_per_device[first]:.2f}", str(res.evaluations),
                      f"{res.seconds:.0f}")
    out.print(table)
    for label, res in results:
        out.print(f"{label} tested: " + ", ".join(f"{p['count']}:{p['cosine']:.3f}"
                                                 for p in res.points))


def _architectures(arch: str, hidden: str) -> list[tuple[str, list[int] | None]]:
    """``--arch single,multilayer --hidden 32,128`` -> single, then one multilayer per width
    list (``-`` separates layers of one architecture, ``,`` separates architectures)."""
    out: list[tuple[str, list[int] | None]] = []
    for a in [a.strip() for a in arch.split(",") if a.strip()]:
        if a not in ARCHS:
            raise ConfigError(f"--arch must be one of {ARCHS} (comma-separated), got {a!r}")
        if a == "single":
            out.append(("single", None))
        else:
            out.extend(("multilayer", _ints(h.replace("-", ","), "--hidden"))
                       for h in hidden.split(",") if h.strip())
    if not out:
        raise ConfigError("--arch is empty")
    return out


@app.command("scaling", help=(
    "Capacity at each N on MNIST resized to side sqrt(N) (binary: binarised at each image's "
    "mean; continuous: scaled to [-1, 1], Gaussian cues); fits log C against log N (slope with "
    "a 95% confidence interval); writes a PNG and JSON. " + RECALLED))
def scaling_cmd(
    arch: Annotated[str, typer.Option(help="single or multilayer.")] = "multilayer",
    kind: Annotated[str, typer.Option(help="binary or continuous.")] = "binary",
    sizes: Annotated[str, typer.Option(help="N values (perfect squares).")
                     ] = "64,144,256,400,576,784",
    hidden: Annotated[str, typer.Option(
        help="Hidden-width rule: fixed:H or ratio:R (H = round(R N)).")] = "fixed:32",
    rule: Annotated[str, typer.Option(help="Learning rule (single layer).")] = "adaptive",
    chip: Annotated[str, typer.Option(help="Chip preset or TOML.")] = "paper-sim",
    faults: Annotated[float | None, typer.Option(help="Fraction of stuck devices.")] = None,
    level: Annotated[float | None, typer.Option(
        help="Flip rate (binary, default 0.05) or Gaussian sigma (continuous, 0.6).")] = None,
    probes: Annotated[int, typer.Option(help="Corrupted cues per stored pattern.")] = 5,
    threshold: Annotated[str, typer.Option(help="Threshold(s), comma-separated.")] = "0.99",
    trials: Annotated[int, typer.Option(help="Networks per tested count.")] = 1,
    pool: Annotated[int | None, typer.Option(help="MNIST images in the pool.")] = None,
    resolution: Annotated[float, typer.Option(help="Relative bisection resolution.")] = 0.05,
    rule_options: Annotated[str | None, typer.Option(help="Trainer options as JSON.")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for PNG and JSON.")] = Path(
        "xbarmem-out"),
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Capacity at each N on MNIST resized to side sqrt(N); fit log C vs log N; PNG + JSON."""
    from xbarmem.cli.app import _chip
    from xbarmem.viz.figures import scaling_plot

    if arch not in ARCHS:
        raise ConfigError(f"--arch must be one of {ARCHS}, got {arch!r}")
    spec = _chip(chip, faults, 0.5, None)
    protocol = _protocol(kind, None, level, probes, seed)
    hidden_rule = HiddenRule.parse(hidden)
    with _progress() as bar:
        task = bar.add_task("scaling", total=None)
        res = run_scaling(
            _ints(sizes, "--sizes"), arch=arch, kind=kind, hidden=hidden_rule, rule=rule,
            chip=spec, thresholds=_floats(threshold, "--threshold"), protocol=protocol,
            trials=trials, seed=seed, pool_size=pool, resolution=resolution,
            rule_options=_rule_options(rule_options),
            progress=lambda n, p, s: bar.update(task, description=f"N={n} P={p}: {s:.4f}"))
    res["settings"]["chip"] = spec.to_dict()
    res["recalled_means"] = RECALLED
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"scaling-{arch}-{kind}" + (f"-{hidden_rule.kind}{hidden_rule.value:g}"
                                       if arch == "multilayer" else f"-{rule}")
    json_path = out_dir / f"{stem}.json"
    png_path = out_dir / f"{stem}.png"
    scaling_plot(res, png_path)
    json_path.write_text(json.dumps(_finite(res), indent=2, allow_nan=False))
    res["files"] = {"json": str(json_path), "png": str(png_path)}
    if json_out:
        _emit_json(res)
        return
    label = res["settings"]["hidden_rule"] if arch == "multilayer" else rule
    table = Table(title=f"scaling: {arch} {kind} ({label})")
    table.add_column("N", justify="right")
    for t in res["capacity"]:
        table.add_column(f"C@{t}", justify="right")
    for i, n in enumerate(res["sizes"]):
        table.add_row(str(n), *(str(c[i]) for c in res["capacity"].values()))
    out.print(table)
    for t, fit in res["fits"].items():
        if fit is None:
            out.print(f"threshold {t}: not enough non-zero capacities to fit")
        else:
            ci = ("" if math.isnan(fit["slope_low"]) else
                  f" ({100 * fit['confidence']:.0f}% CI {fit['slope_low']:.2f}.."
                  f"{fit['slope_high']:.2f})")
            out.print(f"threshold {t}: C ~ N^{fit['slope']:.2f}{ci}, R^2 {fit['r2']:.3f}")
    out.print(f"wrote {png_path} and {json_path}")
