"""What ``xbarmem capacity`` and ``xbarmem scaling`` print and write.

The capacity command's JSON or table (:func:`report_capacity`, :func:`_print_capacity`), scaling's
table (:func:`print_scaling`) and files (:func:`write_scaling`), the line saying a run
resumed (:func:`say_resumed`) and the warning about capacities that are the whole pool
(:func:`warn_pool_limit`); :data:`RECALLED` says what "recalled" means in both.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from xbarmem.checks import beside, counted, seconds_text
from xbarmem.cli.messages import warn
from xbarmem.cli.records import emit_json
from xbarmem.cli.run_options import run_record
from xbarmem.cli.tables import out

if TYPE_CHECKING:
    from xbarmem.evaluation.capacity import CapacityResult
    from xbarmem.evaluation.checkpoint import SearchCheckpoint

RECALLED = ("Recalled means: the mean cosine similarity between the final recall state and the "
            "stored pattern, over all cues, is at or above the threshold (binary: sign states; "
            "continuous: the final tanh state).")


def tested_line(label: object, count: int, cosine: float, thresholds: list[float]) -> str:
    """The progress line of one tested count of a search (``N=100 P=69: cosine 0.9090``;
    ``label``: the architecture, or ``N=100`` for scaling): the cosine with 4 decimals, or more
    where 4 would put it on the other side of one of ``thresholds`` (:func:`beside`), as the
    ``tested`` line shows it: a count shown "0.9900" was recalled at 0.99."""
    return f"{label} P={count}: cosine {beside(cosine, thresholds, 4)}"


def report_capacity(results: list[tuple[str, CapacityResult]], kept: SearchCheckpoint | None,
            json_out: bool, threads: int | None, thresholds: list[float], title: str) -> None:
    """The capacity command's output (JSON or a table under ``title``), then the checkpoint
    ``kept`` removed: only now, so a run killed before its output lost no count. A result's
    ``lower_bound`` in JSON: the thresholds whose capacity the table marks ``>=``; its
    ``layout``: the widths of its memories (:func:`layout`; ``arch`` and ``hidden`` are in
    its ``settings``), where the table's ``architecture`` says ``single``."""
    if json_out:
        emit_json({"results": [{"layout": layout(res.settings), **res.as_dict(),
                                 "lower_bound": res.lower_bound}
                                for _, res in results],
                    "recalled_means": RECALLED, **run_record(threads),
                    **({} if kept is None else {"resumed": kept.resumed})})
    else:
        if kept is not None:
            say_resumed(kept.resumed, kept.path)
        _print_capacity(title, thresholds, results)
    if kept is not None:
        kept.remove()


def layout(settings: dict) -> str:
    """The layer widths of a search's memories as :attr:`Memory.layout` writes them (``"64"``
    for one layer, ``"64-32-64"``), from its ``settings`` (``n_neurons``, ``arch``,
    ``hidden``)."""
    from xbarmem.memory.multilayer import layer_sizes

    n = settings["n_neurons"]
    if settings["arch"] == "single":
        return str(n)
    return "-".join(map(str, layer_sizes(n, settings["hidden"])))


def say_resumed(count: int, path: Path) -> None:
    """A line saying how many tested counts were reused from an interrupted run."""
    if count:
        out.print(f"resumed: {counted(count, 'tested count')} kept in {path} by an interrupted run "
                  "with these settings", highlight=False, soft_wrap=True)


def warn_pool_limit(results: list[tuple[str, list[str], int | None]]) -> None:
    """A warning line per search (label, its ``lower_bound`` thresholds, the pool's distinct
    patterns) and threshold whose capacity is the whole pool (a lower bound)."""
    for label, limited, pool in results:
        for t in limited:
            warn(f"{label}: the capacity at {t} is all {pool} distinct patterns of the pool, so "
                 "only a lower bound (no more to store)")


def _print_capacity(title: str, thresholds: list[float], results: list) -> None:
    table = Table(title=title)
    first = sorted(thresholds)[0]  # capacity per device is read at the lowest threshold
    for col in ("architecture", "devices", "arrays",
                *[f"C@{t:g}" for t in sorted(thresholds)], f"C@{first:g} per 1k devices",
                "counts tested", "seconds"):
        table.add_column(col, justify="right")
    for label, res in results:
        limited = res.lower_bound
        bound = {t: ">=" if str(t) in limited else "" for t in thresholds}  # (a lower bound)
        table.add_row(label, str(res.devices.get("devices", "")),
                      str(res.devices.get("arrays", "")),
                      *[bound[t] + str(res.capacity[t]) for t in sorted(thresholds)],
                      f"{bound[first]}{1000 * res.capacity_per_device[first]:.2f}",
                      str(res.evaluations), seconds_text(res.seconds))
    out.print(table)
    for label, res in results:
        # (a cosine just below a threshold keeps the digits that show it below)
        out.print(f"{label} tested: " + ", ".join(f"{p['count']}:{beside(p['cosine'], thresholds)}"
                                                 for p in res.points))


def warn_replacing(path: Path, data: str, images: str | None) -> None:
    """A warning, before any work, when the JSON ``path`` that a scaling run replaces (with its
    PNG) holds the results of other data: another data name whose file names meet this one's
    (``a b.npy`` and ``a_b.npy``), or a file of the same name but other images (another
    folder's, or the file changed since; ``images``: this file's fingerprint, recorded in
    ``settings.images``). A JSON that cannot be read as one is not judged (the run replaces
    it as any file)."""
    import json

    from xbarmem.errors import XbarmemError
    from xbarmem.files import parse_text, read_text
    from xbarmem.jsontext import shown_text

    if not path.is_file():
        return
    try:
        old = parse_text(json.loads, read_text(path, "scaling results"))["settings"]
        name, held = str(old["data"]), old.get("images")
    except (XbarmemError, ValueError, KeyError, TypeError):
        return
    if name != shown_text(data):  # (written by write_scaling: a name's bytes shown as \\xNN)
        warn(f"{path} holds the results of {name}, not {data}: this run replaces them (JSON "
             "and PNG)")
    elif images is not None and held is not None and held != images:
        warn(f"{path} holds the results of another file named {name} (other images: another "
             "folder's, or changed since): this run replaces them (JSON and PNG)")


def write_scaling(res: dict, json_path: Path, png_path: Path) -> dict[str, str]:
    """Write the scaling plot and JSON; returns their paths as ``{"json": ..., "png": ...}``."""
    from xbarmem.files import write_file
    from xbarmem.jsontext import output_text
    from xbarmem.viz.figures import scaling_plot  # (matplotlib: only once there is a result)
    from xbarmem.viz.style import save_figure

    save_figure(scaling_plot(res), png_path)
    write_file(json_path, output_text(res, indent=2))  # (a name's bytes as --json writes them)
    return {"json": str(json_path), "png": str(png_path)}


def fit_words(fit: dict) -> str:
    """What a power-law fit of ``fit["points"]`` sizes says beside its exponent: its interval
    and R^2 -- or, fitted to two sizes (an exact line: "R^2 1.000" claimed a perfect fit),
    that it has none, and no R^2 where it is undefined (every capacity equal: "R^2 nan")."""
    if fit["points"] < 3:
        return f" (a line through {fit['points']} sizes of capacity > 0: no CI)"
    r2 = "" if math.isnan(fit["r2"]) else f", R^2 {fit['r2']:.3f}"
    return (f" ({100 * fit['confidence']:.0f}% CI {fit['slope_low']:z.2f}.."
            f"{fit['slope_high']:z.2f}){r2}")


def print_scaling(res: dict, title: str) -> None:
    """Scaling's table (``>=`` before a capacity that is the whole pool, a lower bound, as
    ``capacity`` and the figure mark it) and each threshold's fit."""
    from xbarmem.evaluation.capacity import pool_limited
    from xbarmem.evaluation.fit_notes import fit_note

    out.print(title)  # (a line of its own: a table title wraps to the table's width)
    table = Table()
    table.add_column("N", justify="right")
    for t in res["capacity"]:
        table.add_column(f"C@{t}", justify="right")
    for i, (n, run) in enumerate(zip(res["sizes"], res["runs"], strict=True)):
        limited = pool_limited(run)
        table.add_row(str(n), *((">=" if t in limited else "") + str(c[i])
                                for t, c in res["capacity"].items()))
    out.print(table)
    for t, fit in res["fits"].items():
        note = fit_note(res["sizes"], res["capacity"][t], fit)  # (the JSON's fit_notes)
        if fit is None:
            out.print(f"threshold {t}: {note}")
        else:
            out.print(f"threshold {t}: C ~ N^{fit['slope']:z.2f}{fit_words(fit)}"
                      + (f"; {note}" if note else ""))
    out.print(f"wrote {res['files']['png']} and {res['files']['json']}")
