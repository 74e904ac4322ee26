"""``xbarmem energy``: energy and latency per recall, synchronous vs asynchronous."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from xbarmem.cli.common import _emit_json, _finite, app, console, out
from xbarmem.energy.calibrate import PAPER_ENERGY_RATIO, PAPER_LATENCY_REDUCTION, calibrate
from xbarmem.energy.circuit import circuit_names, load_circuit
from xbarmem.energy.measure import energy_report, measure, measure_sizes
from xbarmem.energy.model import COMPONENTS
from xbarmem.errors import ConfigError


def _int_list(text: str, what: str) -> list[int]:
    parts = [p.strip() for p in text.replace("-", ",").split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{what} must be positive integers, got {text!r}")
    return values


def _si(value: float, unit: str) -> str:
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m")):
        if abs(value) < factor * 1000:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


@app.command()
def energy(
    n: Annotated[int, typer.Option("--n", help="Neurons N (pattern length).")] = 64,
    arch: Annotated[str, typer.Option(help="single or multilayer.")] = "single",
    hidden: Annotated[str | None, typer.Option(
        help="multilayer: hidden widths, e.g. 32 or 32,16.")] = None,
    circuit: Annotated[str, typer.Option(
        help=f"Circuit preset ({', '.join(circuit_names())}) or TOML file.")
    ] = "paper-calibrated",
    chip: Annotated[str, typer.Option(help="Chip preset or TOML.")] = "paper-sim",
    faults: Annotated[float | None, typer.Option(help="Override the stuck fraction.")] = None,
    patterns: Annotated[str, typer.Option(
        help="mnist, digits or a file (images of side sqrt(N)), or random.")] = "mnist",
    count: Annotated[int | None, typer.Option(
        help="Patterns to store (default: one per class; random: 10).")] = None,
    rule: Annotated[str | None, typer.Option(
        help="Learning rule (default: adaptive; with --sizes: pinv).")] = None,
    max_steps: Annotated[int | None, typer.Option(
        help="adaptive: training step cap (default 3000; with --sizes 300).")] = None,
    flip: Annotated[float, typer.Option(help="Bit-flip rate of the cues.")] = 0.1,
    probes: Annotated[int, typer.Option(help="Cues per stored pattern.")] = 20,
    neurons: Annotated[str, typer.Option(help="sign or tanh neurons.")] = "sign",
    max_iterations: Annotated[int, typer.Option(help="Cap on sync steps / async sweeps.")
                              ] = 100,
    seed: Annotated[int, typer.Option(help="Seed of faults, training, cues, read order.")] = 0,
    sizes: Annotated[str | None, typer.Option(
        help="Comma-separated N: ratios at each N (random +-1 patterns, P = load x N); "
             "writes a PNG and a JSON table to --out.")] = None,
    load: Annotated[float, typer.Option(help="--sizes: stored patterns per neuron.")] = 0.1,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for PNG / JSON / TOML.")
                       ] = Path("xbarmem-out"),
    do_calibrate: Annotated[bool, typer.Option(
        "--calibrate", help="Solve drivers.binary_energy and control.select_latency of "
        "--circuit for the target ratios; write the calibrated TOML to --out.")] = False,
    target_energy: Annotated[float, typer.Option(help="--calibrate: async/sync energy.")
                             ] = PAPER_ENERGY_RATIO,
    target_latency: Annotated[float, typer.Option(
        help="--calibrate: latency reduction (1 - sync/async).")] = PAPER_LATENCY_REDUCTION,
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Energy and latency per recall on the crossbar, synchronous (one product per step) vs
    asynchronous (one neuron per step), from the measured steps of real recalls."""
    spec = load_circuit(circuit)
    if sizes is not None:
        _sizes(_int_list(sizes, "--sizes"), spec, chip, rule or "pinv", load, flip, probes,
               seed, max_steps or 300, out_dir, json_out)
        return
    widths = _int_list(hidden, "--hidden") if hidden else None
    with console.status(f"training and recalling (N={n}, {arch})", spinner="dots"):
        m = measure(n, arch=arch, hidden=widths, patterns=patterns, count=count, chip=chip,
                    faults=faults, rule=rule or "adaptive", flip=flip, probes=probes,
                    seed=seed, activation=neurons, max_iterations=max_iterations,
                    max_steps=max_steps or 3000)
    report = {"settings": {k: v for k, v in m.info.items() if k != "quality"},
              "quality": m.info["quality"], **energy_report(m, spec)}
    if do_calibrate:
        solved, record = calibrate(m, spec, energy_ratio=target_energy,
                                   latency_reduction=target_latency)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "circuit-calibrated.toml"
        path.write_text(solved.to_toml())
        report["calibration"] = {**record, "file": str(path)}
    if json_out:
        _emit_json(report)
        return
    _print_report(report)


def _print_report(r: dict[str, Any]) -> None:
    s = r["settings"]
    out.print(f"N={s['n_neurons']} {s['arch']} ({'-'.join(map(str, s['layer_sizes']))}), "
              f"{s['n_patterns']} {s['patterns']} patterns, {s['rule']} rule, chip "
              f"{s['chip']}, {s['cues']} cues ({s['flip']:.0%} flips), circuit "
              f"{r['circuit']['name']}")
    table = Table(title="per recall, over cues")
    for col in ("", "mean", "std", "min", "max"):
        table.add_column(col, justify="left" if not col else "right")
    for mode in ("sync", "async"):
        st = r[mode]["steps"]
        table.add_row(f"{mode} steps", *(f"{st[k]:.4g}" for k in ("mean", "std", "min", "max")))
    for what, unit in (("energy", "J"), ("latency", "s")):
        for mode in ("sync", "async"):
            st = r[mode][f"{what}_{unit}"]
            table.add_row(f"{mode} {what}", *(_si(st[k], unit)
                                              for k in ("mean", "std", "min", "max")))
    out.print(table)
    q = r["quality"]
    out.print(f"exact recall: sync {q['sync']['exact']:.3f}, async {q['async']['exact']:.3f}")
    ratios = r["ratios"]
    out.print(f"async/sync: energy {ratios['energy_ratio']:.3f}x, latency "
              f"{ratios['latency_ratio']:.1f}x; synchronous recall saves "
              f"{ratios['energy_reduction']:.1%} energy and {ratios['latency_reduction']:.2%} "
              "latency")
    table = Table(title="breakdown of the mean recall")
    for col in ("component", "sync energy", "async energy", "sync latency", "async latency"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for comp in (*COMPONENTS, "total"):
        cells = []
        for what, unit in (("energy", "J"), ("latency", "s")):
            for mode in ("sync", "async"):
                x = r[mode]
                value = (x[f"{what}_{unit}"]["mean"] if comp == "total"
                         else x[f"{what}_breakdown_{unit}"][comp])
                cells.append(_si(value, unit))
        table.add_row(comp, *cells)
    out.print(table)
    p = r["programming"]
    out.print(f"programming: {p['programmed_devices']} of {p['devices']} devices, "
              f"{_si(p['energy_J'], 'J')}, {_si(p['time_s'], 's')}")
    if "calibration" in r:
        c = r["calibration"]
        out.print(f"calibrated {c['solved']} -> {c['result']['energy_ratio']:.3f}x energy, "
                  f"{c['result']['latency_reduction']:.2%} latency; written to {c['file']}")


def _sizes(sizes: list[int], spec, chip: str, rule: str, load: float, flip: float, probes: int,
           seed: int, max_steps: int, out_dir: Path, json_out: bool) -> None:
    from xbarmem.viz.energy import ratios_plot

    with console.status("measuring", spinner="dots") as status:
        sweep = measure_sizes(sizes, spec, chip=chip, rule=rule, load=load, flip=flip,
                              probes=probes, seed=seed, max_steps=max_steps,
                              progress=lambda n: status.update(f"N={n} done"))
    out_dir.mkdir(parents=True, exist_ok=True)
    png = ratios_plot(sweep, out_dir / "energy-vs-n.png")
    table_path = out_dir / "energy-vs-n.json"
    sweep["files"] = {"png": str(png), "json": str(table_path)}
    table_path.write_text(json.dumps(_finite(sweep), indent=2, allow_nan=False) + "\n")
    if json_out:
        _emit_json(sweep)
        return
    table = Table(title=f"async / sync per recall ({spec.name} circuit, {rule} rule, random "
                        f"patterns P = {load:g} N, {flip:.0%} flips)")
    for col in ("N", "P", "sync steps", "async steps", "energy x", "latency x", "latency saved",
                "exact s/a"):
        table.add_column(col, justify="right")
    for row in sweep["rows"]:
        table.add_row(str(row["n"]), str(row["patterns"]), f"{row['sync_steps']:.3g}",
                      f"{row['async_steps']:.5g}", f"{row['energy_ratio']:.2f}",
                      f"{row['latency_ratio']:.1f}", f"{row['latency_reduction']:.3%}",
                      f"{row['sync_exact']:.2f}/{row['async_exact']:.2f}")
    out.print(table)
    out.print(f"figure: {png}   table: {table_path}")
