"""Records printed as commands show them: a labelled field list (:func:`print_fields`), a
chip or circuit spec (:func:`show_spec`), presets (:func:`print_presets`), and the JSON of
``--json`` on stdout (:func:`emit_json`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.markup import escape

from xbarmem.checks import counted
from xbarmem.cli.messages import work_begins
from xbarmem.cli.tables import console, out


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return "-" if value is None else str(value)


def _fields(record: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _fields(value, f"{prefix}{key}.")
        else:
            rows.append((name, _cell(value)))
    return rows


def describe_devices(devices: dict[str, int]) -> str:
    """One line for a memory's device accounting (:meth:`xbarmem.memory.base.Memory.devices`):
    weights, devices, arrays of rows x cols, sensed outputs, layers when there are several."""
    layers = f" in {devices['layers']} layers" if devices.get("layers", 1) > 1 else ""
    return (f"{devices['weights']} weights on {devices['devices']} devices{layers}, "
            f"{counted(devices['arrays'], 'array')} of "
            f"{devices['array_rows']}x{devices['array_cols']}, "
            f"{devices['sensed_outputs']} sensed outputs")


#: the words of keys that :func:`field_label`'s general rule reads badly
FIELD_LABELS = {"total": "trials", "already": "already stored", "groups": "groups to run",
                "stuck_on": "stuck ON",
                "stuck_off": "stuck OFF", "p_stuck_on": "P(stuck ON)",
                "p_stuck_off": "P(stuck OFF)", "meta": "how made"}

#: a unit at the end of a key, written in brackets (``tolerance_S``: ``tolerance (S)``)
_UNIT_SUFFIXES = ("fraction", "S", "uS")


def field_label(name: str) -> str:
    """A key of a JSON record in words, as :func:`print_fields` labels it (``--json`` keeps the
    key): :data:`FIELD_LABELS`, else underscores as spaces and a unit suffix in brackets
    (``stuck_fraction``: ``stuck (fraction)``); a nested key as ``outer: inner``."""
    def words(key: str) -> str:
        if key in FIELD_LABELS:
            return FIELD_LABELS[key]
        stem, _, unit = key.rpartition("_")
        if stem and unit in _UNIT_SUFFIXES:
            return f"{words(stem)} ({unit})"
        return key.replace("_", " ")

    return ": ".join(words(part) for part in name.split("."))


def print_fields(record: dict[str, Any], title: str | None = None) -> None:
    """Human output of a flat result: an aligned two-column table of field (in words,
    :func:`field_label`) and value (numbers to 4 significant digits); ``--json`` has the rest,
    under its keys."""
    from rich import box
    from rich.table import Table

    rows = [(field_label(name), value) for name, value in _fields(record)]
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("field", style="bold",  # whole labels: the value folds (a long path)
                     min_width=max((len(label) for label, _ in rows), default=0))
    table.add_column("value", overflow="fold")
    for label, value in rows:
        table.add_row(escape(label), escape(value))
    out.print(table)


def emit_json(data: Any) -> None:
    """Print ``data`` on stdout as strict JSON, every command's ``--json`` output: non-finite
    floats (e.g. the NaN loss of classic rules) become null, a file name's bytes that are not
    text in the file system's encoding ``\\xNN`` (:func:`~xbarmem.jsontext.output_text`)."""
    from xbarmem.jsontext import output_text  # imports torch: only when there is output

    work_begins()
    typer.echo(output_text(data, indent=2))


def show_spec(source: str, load: Callable[[str], Any], is_preset: Callable[[str], bool],
              commented: Callable[[str], str], json_out: bool) -> None:
    """``chip show`` / ``circuit show``: the spec ``load(source)`` as JSON, as TOML, or (a
    preset, ``is_preset(source)``: its name in any case, as ``load`` reads it) as the preset's
    commented TOML ``commented(name)``."""
    spec = load(source)
    if json_out:
        emit_json(spec.to_dict())
    else:
        work_begins()  # (its warnings before the spec it prints)
        typer.echo(commented(spec.name) if is_preset(source) else spec.to_toml())


def print_presets(load: Callable[[str], Any], presets: list[str], json_out: bool,
                  group: str) -> None:
    """``chip presets`` / ``circuit presets`` (``group``): each preset's description, then,
    on stderr, the ``show`` command that prints a preset with its comments (descriptions say
    "see comments", which the list does not show)."""
    described = {name: load(name).description for name in presets}
    if json_out:
        emit_json(described)
        return
    for name, description in described.items():
        out.print(f"[bold]{escape(name)}[/bold]: {escape(description)}", markup=True)
    console.print(f"xbarmem {group} show NAME prints a preset as TOML with its comments "
                  f"(where its values come from)")
