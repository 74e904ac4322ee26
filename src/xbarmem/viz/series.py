"""Stored rows grouped for a figure: one :class:`Series` per learning rule, the settings that
vary among the rows as facets (:func:`series_of`), facets pooled beyond :data:`MAX_FACETS`,
and the settings every row shares, in words (:func:`shared_settings`). Drawn by
:mod:`xbarmem.viz.results`."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from xbarmem.checks import is_number
from xbarmem.data.corruption import describe_corruption
from xbarmem.data.sources import DATA_WORDS  # (a data source in words, as every title)
from xbarmem.hardware.chip import preset_names
from xbarmem.names import hidden_words

KINDS = {"patterns": "patterns", "faults": "fault_rate", "variation": "variation",
         "capacity": "n_neurons"}
#: config keys that make no facet (the version does: rows of two xbarmem versions are two
#: measurements of one trial, drawn apart, not averaged as more seeds)
_IGNORED = {"seed", "chip_spec", "data_sha256", "trial", "rule", "counts", "thresholds",
            "rule_options"}
#: settings shown first in facet labels (the rest alphabetically)
_PREFERRED = ("arch", "hidden", "kind", "data", "data_key", "zero_one", "selection", "chip",
              "fault_rate", "variation", "level", "corruption", "activation", "n_neurons",
              "patterns")
#: most panels drawn; more facets are pooled
MAX_FACETS = 6


@dataclass
class Series:
    """One drawn series: ``rule``, the ``facet`` it belongs to (``((key, value), ...)``) and
    ``points`` ``{x: [value per row]}`` (capacity: per ``threshold``); ``bounds``: the x
    values where a capacity row is only a lower bound (its ``lower_bound`` lists the
    threshold)."""

    rule: str
    facet: tuple
    threshold: str | None = None
    points: dict[float, list[float]] = field(default_factory=lambda: defaultdict(list))
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    bounds: set[float] = field(default_factory=set)


def _value(config: dict[str, Any], key: str) -> Any:
    """``config[key]`` (None when absent); a ``fault_rate`` of None is the chip's own stuck
    rates' sum, when the row records them."""
    if key == "fault_rate" and config.get("fault_rate") is None:
        dev = (config.get("chip_spec") or {}).get("device") or {}
        rates = [dev.get(k) for k in ("p_stuck_on", "p_stuck_off")]
        return sum(rates) if all(isinstance(r, int | float) for r in rates) else None
    return config.get(key)


def _settings(config: dict[str, Any]) -> dict[str, str]:
    """The comparable settings of one row (JSON text per value; rule options by name, or as
    ``rule_options.KEY`` when a trial setting has that name: the trainer's ``variation`` is
    not the programming variation of the x axis)."""
    out = {k: json.dumps(v, sort_keys=True) for k, v in config.items() if k not in _IGNORED}
    out.update({(f"rule_options.{k}" if k in config else k): json.dumps(v, sort_keys=True)
                for k, v in config.get("rule_options", {}).items() if k != "seed"})
    if "on_fraction" in out and fault_model(config) == "weight":
        out["on_fraction"] = "null"  # (a faulty weight is 0: no share of it is stuck ON)
    return out


def fault_model(config: dict[str, Any]) -> Any:
    """The fault model a row's trial ran with: its ``fault_model``, else its chip's (recorded
    in ``chip_spec``), else None."""
    array = (config.get("chip_spec") or {}).get("array") or {}
    return config.get("fault_model") or (array.get("fault_model") if isinstance(array, dict)
                                         else None)


def facet_keys(rows: Sequence[dict[str, Any]], x_key: str) -> list[str]:
    """The settings that split ``rows`` into facets: varying among the rows and not
    following from the x axis, the rule and the keys kept before them."""
    flat = [_settings(r["config"]) for r in rows]
    keys = {k for f in flat for k in f} - {x_key}
    varying = [k for k in keys if len({f.get(k) for f in flat}) > 1]
    varying.sort(key=lambda k: (_PREFERRED.index(k) if k in _PREFERRED else len(_PREFERRED), k))
    xs = [json.dumps(_value(r["config"], x_key)) for r in rows]
    kept: list[str] = []
    for key in varying:
        seen: dict[tuple, str | None] = {}
        determined = True
        for f, x, r in zip(flat, xs, rows, strict=True):
            group = (x, r["config"]["rule"], *(f.get(k) for k in kept))
            if seen.setdefault(group, f.get(key)) != f.get(key):
                determined = False
                break
        if not determined:
            kept.append(key)
    return kept


def _fmt(v: Any) -> str:
    v = json.loads(v) if isinstance(v, str) else v
    return f"{v:g}" if isinstance(v, float) else str(v)


def facet_label(facet: tuple, rows: Sequence[dict[str, Any]] = (),
                among: Sequence[dict[str, Any]] = ()) -> str:
    """A facet (a panel, or a series of one rule) in the words of the figure's title and axes
    (``N = 16, 10% stuck``, not ``n_neurons=16, fault_rate=0.1``; :func:`setting_words`); a
    corruption level in the words of its corruption when the facet or every row of ``rows``
    names one (``5% flips``); a chip by its name among the chips of ``among`` (the rows of
    every line drawn; default ``rows``): :func:`chip_names`."""
    values = {k: json.loads(v) if isinstance(v, str) else v for k, v in facet}
    if isinstance(values.get("chip"), str):
        values["chip"] = chip_names(among or rows).get(values["chip"], values["chip"])
    if isinstance(values.get("data"), str):  # (a file by its name, as for chips)
        values["data"] = data_names(among or rows).get(values["data"], values["data"])
    corruptions = {r["config"].get("corruption") for r in rows}
    corruption = values.get("corruption", corruptions.pop() if len(corruptions) == 1 else None)
    parts = []
    for key, value in values.items():
        if key == "level" and corruption is not None:
            parts.append(describe_corruption(corruption, float(value)))
        elif key == "hidden" and value is None and "arch" in values:
            continue  # (said by the architecture: "single layer", once)
        elif key == "on_fraction" and value is None:
            continue  # (the weight fault model's: its faulty weights are 0, none stuck ON)
        elif not (key == "corruption" and "level" in values):
            parts.append(setting_words(key, value))
    return ", ".join(parts) or "all rows"


#: how a line's cues and neurons were made: said beside its facet when they follow from it and
#: differ between the lines (:func:`line_label`)
_RECALL_KEYS = ("corruption", "level", "activation")


def line_label(facet: tuple, rows: Sequence[dict[str, Any]],
               among: Sequence[dict[str, Any]]) -> str:
    """A line's (or a panel's) words: :func:`facet_label` of ``facet`` over the line's own
    ``rows``, followed by the cues and neurons those rows were recalled with when they differ
    from those of other rows of ``among`` (the rows of every line drawn) without a facet of
    their own -- they follow from its settings: a pattern kind picks its cues and neurons
    (``binary patterns, 10% flips, sign neurons`` beside ``continuous patterns, Gaussian noise
    sigma = 0.6, tanh neurons``). Lines that share their cues and neurons read as
    :func:`facet_label` alone."""
    said = {k for k, _ in facet}

    def values(key: str, of: Sequence[dict[str, Any]]) -> set[str]:
        return {json.dumps(r["config"].get(key), sort_keys=True) for r in of}

    follow = [k for k in _RECALL_KEYS if k not in said and len(values(k, rows)) == 1
              and len(values(k, among)) > 1]
    if any(k in follow for k in ("corruption", "level")):  # (a cue says both: "10% flips")
        follow = [k for k in _RECALL_KEYS if k in follow or (
            k in ("corruption", "level") and k not in said and len(values(k, rows)) == 1)]
    extra = tuple((k, values(k, rows).pop()) for k in follow)
    return facet_label(facet + extra, rows, among)


def chip_names(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The chips of ``rows`` (each config's ``chip``: a preset's name or a chip file's path,
    as the sweep gave it) by the names figures give them, as every other command names a chip
    (``xbarmem capacity --chip FILE``: :func:`~xbarmem.hardware.chip.chip_words`): a preset by
    its name; a file by the name it gives itself (its ``name`` key, else its file's stem), as
    its rows' ``chip_spec`` records it (a row without it: the file's stem). Files that would
    read alike (one name in two folders, or a preset's name) by their paths from the folder
    they share (``sw/tiny.toml``, ``sw2/tiny.toml``; one file: its file's name), or as given
    where those still meet. ``{chip as stored: its name}``; a preset reads as before."""
    found: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        chip, spec = r["config"].get("chip"), r["config"].get("chip_spec")
        if isinstance(chip, str):
            name = spec.get("name") if isinstance(spec, dict) else None
            found[chip].add(name if isinstance(name, str) and name else "")
    presets, names = set(preset_names()), {}
    for chip, recorded in found.items():
        if chip in presets:
            names[chip] = chip
        elif len(recorded) == 1 and (name := next(iter(recorded))):
            names[chip] = name
        else:
            names[chip] = os.path.splitext(os.path.basename(chip))[0] or chip
    return _kept_apart(names, presets)


def data_names(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The data sources of ``rows`` (each config's ``data``: a built-in set's name or a file's
    path, as the sweep gave it) by the words figures give them, as every other command names
    them (:func:`~xbarmem.data.sources.data_words`): a built-in set as before, a file by its
    name without its folder; files that would read alike (one name in two folders, or a
    built-in set's name) by their paths from the folder they share, or as given where those
    still meet (:func:`chip_names`). ``{data as stored: its words}``."""
    names, builtin = {}, set()
    for r in rows:
        data = r["config"].get("data")
        if isinstance(data, str) and data not in names:
            is_path = os.sep in data or (os.altsep or os.sep) in data
            names[data] = os.path.basename(data) or data if is_path else data
            if not is_path:
                builtin.add(data)
    return _kept_apart(names, builtin, reserved=set(DATA_WORDS))


def _kept_apart(names: dict[str, str], fixed: set[str],
                reserved: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """``names`` (``{setting as stored: its words}``) with the words of files that would read
    alike -- as another file, a ``fixed`` setting (a preset, a built-in set: read as given) or
    a ``reserved`` word -- made their paths from the folder they share (:func:`_paths_apart`),
    and those still alike the settings as stored."""
    said = list(names.values())
    for words in {w for w in said if said.count(w) > 1 or (w in reserved and w not in fixed)}:
        names.update(_paths_apart([c for c, w in names.items() if w == words and c not in fixed]))
    said = list(names.values())  # (still alike: as given)
    return {c: c if c not in fixed and (said.count(w) > 1 or w in reserved) else w
            for c, w in names.items()}


def _paths_apart(paths: Sequence[str]) -> dict[str, str]:
    """Chip files' ``paths`` by their paths from the folder they all share (``sw/tiny.toml``;
    one file: its file's name), or as given when they share none (relative and absolute)."""
    try:
        base = os.path.commonpath([os.path.dirname(os.path.normpath(p)) or "." for p in paths])
        return {p: os.path.relpath(os.path.normpath(p), base or ".") for p in paths}
    except ValueError:
        return {p: p for p in paths}


def facet_order(facet: tuple) -> tuple:
    """The order of facets: by each setting's value, numbers by size (``N = 16`` before ``N =
    100``; by their text, 100 came first)."""
    def key(value: Any) -> tuple:
        value = json.loads(value) if isinstance(value, str) else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value), "")
        return (1, 0.0, json.dumps(value, sort_keys=True))

    return tuple((k, key(v)) for k, v in facet)


#: a setting's name in figures: in the words of the x axes (``stored patterns P``, ``pattern
#: size N``, ``programming variation v``); other settings by their key
SETTING_NAMES = {"n_neurons": "N", "patterns": "P", "fault_rate": "stuck fraction",
                 "variation": "programming variation v", "level": "corruption level",
                 "corruption": "corruption", "activation": "neurons", "arch": "architecture",
                 "kind": "pattern kind", "hidden": "hidden widths", "on_fraction":
                 "stuck-ON share", "fault_model": "fault model", "probes": "cues per pattern",
                 "max_iterations": "recall step cap", "mode": "recall mode",
                 "version": "xbarmem version"}


#: one setting in words (:func:`setting_words`), by key
_WORDS = {
    "n_neurons": lambda v: f"N = {v}", "patterns": lambda v: f"P = {v}",
    "fault_rate": lambda v: f"{100 * float(v):g}% stuck" if v else "no faults",
    "variation": lambda v: f"programming variation v = {float(v):g}",
    "level": lambda v: f"corruption level {float(v):g}",
    "arch": lambda v: {"single": "single layer"}.get(str(v), str(v)),
    "kind": lambda v: f"{v} patterns", "chip": lambda v: f"{v} chip",
    "activation": lambda v: f"{v} neurons", "mode": lambda v: f"{v} recall",
    "hidden": lambda v: _hidden_label(hidden_words(v)),
    "fault_model": lambda v: f"stuck {v}s",
    "on_fraction": lambda v: f"{100 * float(v):g}% of faults stuck ON",
    "probes": lambda v: f"{v} cues per pattern",
    "max_iterations": lambda v: f"at most {v} recall steps",
    "version": lambda v: f"xbarmem {v}",
    "zero_one": lambda v: "values in [0, 1] read as 2x - 1" if v else "values as stored",
    "data_key": lambda v: f"array {v}",
    "corruption": lambda v: {"flip": "flipped", "gaussian": "Gaussian-noise",
                             "occlude": "occluded", "salt-pepper": "salt-and-pepper"
                             }.get(str(v), str(v)) + " cues",
}


def _hidden_label(words: str) -> str:
    """Hidden widths as :func:`~xbarmem.names.hidden_words` writes them, in a label: ``hidden
    width 8`` (or ``N``) for one layer, ``hidden widths 8-4`` (``2N-N``) for several."""
    return f"hidden width{'s' if '-' in words else ''} {words}"


def setting_words(key: str, value: Any) -> str:
    """One setting as every figure says it, in panel and legend labels as in titles (``N =
    16``, ``10% stuck``, ``flipped cues``, ``8x8 digit``); a setting without words of its own
    (a rule option) as ``key=value`` (true/false as sweep files write them). A row without
    hidden widths is a one-layer memory's (a sweep stores every multilayer memory's widths):
    ``single layer``."""
    if key == "hidden" and value is None:
        return _WORDS["arch"]("single")
    if key == "zero_one" and value is None:  # (a sweep's row holds it only when true)
        value = False
    if key == "data_key" and value is None:  # (a row holds it only when an array was named)
        return "no array named"
    if value is None:
        return f"{SETTING_NAMES.get(key, key)} default"
    if key in _WORDS:
        return _WORDS[key](value)
    if key == "data":
        return DATA_WORDS.get(str(value), str(value))
    if key == "selection":
        return SELECTION_WORDS.get(str(value), str(value))
    if isinstance(value, bool):  # (as sweep files and --where write it, not Python's True)
        return f"{key}={'true' if value else 'false'}"
    return f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"


def usable_rows(rows: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rows of a trial kind that ``kind`` draws: capacity rows (capacity), evaluate rows
    (the others), and capacity curves of fixed counts (patterns); a row without a number on
    the kind's x axis (a hand-made row without it) draws none."""
    if kind == "capacity":
        return [r for r in rows if r["trial"] == "capacity" and is_number(
            r["config"].get("n_neurons"))]
    return [r for r in rows if (r["trial"] == "evaluate" and is_number(
        _value(r["config"], KINDS[kind]))) or (
        kind == "patterns" and r["trial"] == "capacity" and not r["config"].get("search")
        and isinstance(r["result"].get("points"), list))]


def drawn_rows(rows: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rows of ``rows`` that a ``kind`` figure draws (:func:`series_of`), in their order."""
    kept = {id(r) for s in series_of(rows, kind) for r in s.rows}
    return [r for r in rows if id(r) in kept]


def drawable_kinds(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The kinds of :data:`KINDS` that ``rows`` draw a figure of: rows at two or more values
    of the kind's x axis."""
    return [kind for kind in KINDS
            if len({x for s in series_of(rows, kind) for x in s.points}) > 1]


def series_of(rows: Sequence[dict[str, Any]], kind: str) -> list[Series]:
    """The series of ``kind`` (see the module docstring) from stored ``rows``, facets with a
    single x value left out unless every facet has one (and the facets then named by what still
    varies)."""
    usable = usable_rows(rows, kind)
    kept = {id(r) for s in _group(usable, kind) for r in s.rows}
    if not kept:  # every facet has a single x value: draw them all
        return _group(usable, kind, keep_single=True)
    if KINDS[kind] == "n_neurons" and len(kept) < len(usable):
        # a sweep's hidden = "1n" stores other widths at every N: one setting, N-N-N, not a
        # facet per N (each of one N, all left out beside hidden = 8)
        relative = [r if id(r) in kept else _relative_hidden(r) for r in usable]
        kept = {id(r) for s in _group(relative, kind) for r in s.rows}
        series = _group([r for r in relative if id(r) in kept], kind)
        original = {id(a): b for a, b in zip(relative, usable, strict=True)}
        for s in series:  # (the rows as stored: drawn_rows finds them)
            s.rows = [original[id(r)] for r in s.rows]
        return series
    return _group([r for r in usable if id(r) in kept], kind)


def _relative_hidden(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its hidden widths written as multiples of its N (``N``, ``2N-N``) when
    each is a whole multiple of it (:func:`_multiples_of_n`); else ``row`` itself."""
    words = _multiples_of_n([row])
    return row if words is None else {**row, "config": {**row["config"], "hidden": words}}


def _group(usable: list[dict[str, Any]], kind: str, keep_single: bool = False
           ) -> list[Series]:
    """The series of ``usable`` rows; a point's values are one per seed: rows of one seed at
    one point (trained again in another batch, see the guide's Batching) are averaged first,
    not counted as more seeds."""
    x_key = KINDS[kind]
    keys = facet_keys(usable, x_key) if usable else []
    series: dict[tuple, Series] = {}
    seeds: dict[tuple, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in usable:
        c, res = r["config"], r["result"]
        flat = _settings(c)
        facet = tuple((k, flat.get(k)) for k in keys)
        seed = (json.dumps([c.get("seed"), c.get("rule_options", {}).get("seed")])
                if c.get("seed") is not None else id(r))  # (a row without a seed: its own)
        if kind == "capacity":
            below = {float(t) for t in res.get("lower_bound") or ()}
            for t, cap in res["capacity"].items():
                s = series.setdefault((c["rule"], facet, t), Series(c["rule"], facet, t))
                seeds[(c["rule"], facet, t, float(c["n_neurons"]))][seed].append(float(cap))
                s.rows.append(r)
                if float(t) in below:
                    s.bounds.add(float(c["n_neurons"]))
            continue
        s = series.setdefault((c["rule"], facet, None), Series(c["rule"], facet))
        s.rows.append(r)
        found = ([(float(p["count"]), p["cosine"]) for p in res["points"]]
                 if r["trial"] == "capacity" else [(float(_value(c, x_key)), res["cosine"])])
        for x, value in found:
            seeds[(c["rule"], facet, None, x)][seed].append(value)
    for (rule, facet, t, x), values in seeds.items():
        series[(rule, facet, t)].points[x] = [sum(v) / len(v) for v in values.values()]
    xs_of: dict[tuple, set] = defaultdict(set)
    for s in series.values():
        xs_of[s.facet] |= set(s.points)
    return [s for s in series.values() if keep_single or len(xs_of[s.facet]) > 1]


def pooled(series: list[Series]) -> list[Series]:
    """The series merged over facets (one per rule and threshold)."""
    out: dict[tuple, Series] = {}
    for s in series:
        merged = out.setdefault((s.rule, s.threshold), Series(s.rule, (), s.threshold))
        for x, values in s.points.items():
            merged.points[x].extend(values)
        merged.bounds |= s.bounds
        merged.rows.extend(s.rows)
    return list(out.values())


def seed_counts(series: list[Series]) -> list[int]:
    """The distinct numbers of values (seeds) behind the points of ``series``, sorted."""
    return sorted({len(v) for s in series for v in s.points.values()})


def pooled_settings(rows: Sequence[dict[str, Any]], kind: str
                    ) -> tuple[list[str], list[str]] | None:
    """When :func:`plot_rows` pools more than :data:`MAX_FACETS` facets into one panel: the
    keys the facets differ in and each facet's values (``"v1,v2"`` text, one per key, per
    facet); else None."""
    series = series_of(rows, kind)
    facets = sorted({s.facet for s in series}, key=facet_order)
    if len(facets) <= MAX_FACETS or len({s.rule for s in series}) == 1:
        return None
    keys = [k for k, _ in facets[0]]
    return keys, [",".join(_fmt(v) for _, v in f) for f in facets]


def shared_settings(rows: Sequence[dict[str, Any]], x_key: str, *, rule: bool = False) -> str:
    """The settings of :data:`_PREFERRED` that every row holds with one value (``x_key``
    left out), in words (``single layer, 10 binary MNIST patterns (one per class), N = 64``;
    :func:`_phrases`), over lines of at most about 50 characters; ``rule``: the learning rule
    too (``storkey-variant rule``), for a figure whose legend does not name it."""
    flat = [_settings(r["config"]) for r in rows]
    shared = {}
    rules = {r["config"].get("rule") for r in rows}
    if rule and len(rules) == 1 and None not in rules:
        shared["rule"] = rules.pop()
    for key in _PREFERRED:
        values = {f.get(key) for f in flat}
        if key != x_key and len(values) == 1 and None not in values:
            value = json.loads(v) if isinstance(v := values.pop(), str) else v
            if value is not None:
                shared[key] = value
    if isinstance(shared.get("chip"), str):  # (a file by its name, as other commands say it)
        shared["chip"] = chip_names(rows).get(shared["chip"], shared["chip"])
    if isinstance(shared.get("data"), str):  # (a data file by its name, as other commands)
        shared["data"] = data_names(rows).get(shared["data"], shared["data"])
    if "hidden" not in shared and (multiples := _multiples_of_n(rows)) is not None:
        shared["hidden"] = multiples  # (hidden = "1n": the widths differ, their rule not)
    return phrase_lines(_phrases(shared))


def unsaid_settings(series: Sequence[Series], x_key: str) -> str:
    """The settings that vary along the lines of ``series`` without making a facet (they
    follow from the x axis ``x_key`` or the rule, :func:`facet_keys`), each value in words
    with the rules or x values that hold it (``hebb: 5% flips; pinv: 20% flips``; ``P = 3 at
    stuck fraction 0, 0.3; P = 12 at stuck fraction 0.9, 1``), over lines as
    :func:`phrase_lines` (broken between values only); empty when there are none (neither
    the title of shared settings nor a facet named them: a line joined points of other
    settings unsaid). A rule's own options and a hidden width
    that is a fixed multiple of N are left out (the rule and ``hidden width N`` say them).
    Each rule of ``series`` names a ``rule`` of its rows' config."""
    phrases: list[str] = []
    rows = [(r, s.facet) for s in series for r in s.rows]
    if not rows:
        return ""
    held: dict[str, set] = defaultdict(set)  # (keys of one trial kind only: not compared)
    for r, _ in rows:
        held[r["trial"]] |= set(r["config"])
    keys = sorted(set.intersection(*held.values()) - _IGNORED - {x_key}
                  - {k for s in series for k, _ in s.facet},
                  key=lambda k: (_PREFERRED.index(k) if k in _PREFERRED else len(_PREFERRED), k))
    def unsaid(key: str) -> bool:  # (varies within a facet: no facet's settings say it)
        within: dict[tuple, set] = defaultdict(set)
        for r, facet in rows:
            within[facet].add(json.dumps(r["config"].get(key), sort_keys=True))
        return any(len(v) > 1 for v in within.values())

    said = [key for key in keys if unsaid(key) and not (
        key == "hidden" and _multiples_of_n([r for r, _ in rows]) is not None)]
    for key in said:
        if key == "corruption" and "level" in said:
            continue  # (said with the level: "hebb: 10% flips; pinv: Gaussian noise ...")
        pair = ("corruption", "level") if key == "level" and "corruption" in said else (key,)
        phrases += _held_by(pair, [r for r, _ in rows], x_key)
    return phrase_lines(phrases, sep="; ")


def _held_by(keys: tuple[str, ...], rows: Sequence[dict[str, Any]], x_key: str
             ) -> list[str]:
    """The values of ``keys`` (one setting, or a cue's corruption and level, said together)
    among ``rows`` in words, one phrase per value, each with the rules holding it when every
    rule holds one value, else with the x values (``x_key``) holding it."""
    rules: dict[str, set] = defaultdict(set)
    xs: dict[str, set] = defaultdict(set)
    for r in rows:
        value = json.dumps([r["config"].get(k) for k in keys], sort_keys=True)
        rules[value].add(r["config"]["rule"])
        xs[value] |= ({float(p["count"]) for p in r["result"]["points"]}
                      if r["trial"] == "capacity" and x_key == "patterns" else
                      {float(_value(r["config"], x_key))})
    by_rule = sum(len(v) for v in rules.values()) == len(set().union(*rules.values()))
    def facet(value: str) -> tuple:  # (each setting's value as JSON text, as in a facet)
        return tuple((k, json.dumps(v, sort_keys=True))
                     for k, v in zip(keys, json.loads(value), strict=True))

    parts = []
    for value in sorted(rules, key=lambda v: facet_order(facet(v))):
        words = facet_label(facet(value), rows)
        if by_rule:
            parts.append(f"{', '.join(sorted(rules[value]))}: {words}")
        else:
            parts.append(f"{words} at {SETTING_NAMES.get(x_key, x_key)} "
                         + ", ".join(f"{float(x):g}" for x in sorted(xs[value])))
    return parts


def _multiples_of_n(rows: Sequence[dict[str, Any]]) -> str | None:
    """The hidden widths of ``rows`` as multiples of their N (``N``, ``2N-N``: a sweep's
    ``hidden = "1n"``; ``N-4``: ``["1n", 4]``, each width that is not a whole multiple of its
    row's ``n_neurons`` as itself), when every row's widths read the same that way and at
    least one width is such a multiple; else None."""
    found = set()
    for r in rows:
        widths, n = r["config"].get("hidden"), r["config"].get("n_neurons")
        widths = [widths] if isinstance(widths, int) else widths
        if (not isinstance(n, int) or n < 1 or not isinstance(widths, list) or not widths
                or any(not isinstance(h, int) for h in widths)):
            return None
        found.add(tuple(h // n if h % n == 0 else str(h) for h in widths))
    words = found.pop() if len(found) == 1 else ()
    if not any(isinstance(k, int) for k in words):
        return None
    return "-".join(k if isinstance(k, str) else "N" if k == 1 else f"{k}N" for k in words)


def phrase_lines(phrases: Sequence[str], sep: str = ", ") -> str:
    """Phrases of a title joined by ``sep`` (commas) over lines of at most about 50
    characters, a line broken between phrases only (wrapped at 60 characters, ``paper-sim
    chip`` lost its ``chip`` to a line of its own)."""
    lines: list[str] = []
    for part in phrases:
        if lines and len(lines[-1]) + len(part) < 50:
            lines[-1] += f"{sep}{part}"
        else:
            lines.append(part)
    return "\n".join(lines)


#: a pattern selection in words (``selection = "random"`` read as "random patterns")
SELECTION_WORDS = {"one-per-class": "one per class",
                   "random-per-class": "a random one per class",
                   "first": "the first of the set", "random": "a random subset"}


def _phrases(shared: dict[str, Any]) -> list[str]:
    """Settings in words: the memory, the stored patterns, N, the chip, its faults and
    programming variation, the cues' corruption, the neurons; a setting without words of its
    own as ``key=value``."""
    s = dict(shared)
    arch = str(s.pop("arch", ""))
    out = [{"single": "single layer"}.get(arch, arch)]
    if "hidden" in s:  # (which multilayer memory: "multilayer" alone did not say)
        out.append(setting_words("hidden", s.pop("hidden")))
    if "rule" in s:
        out.append(f"{s.pop('rule')} rule")
    kind, data = s.pop("kind", ""), s.pop("data", "")
    count = s.pop("patterns", "")
    what = " ".join(str(v) for v in (count, kind, DATA_WORDS.get(str(data), data)) if v != "")
    said = [setting_words(k, v) for k in ("data_key", "selection")
            if (v := s.pop(k, None)) not in (None, "")]  # (neither: nothing said)
    if what:  # (the .npz array read, then the selection: "(array train, a random subset)")
        noun = "pattern" if str(count) == "1" else "patterns"
        out.append(f"{what} {noun}" + (f" ({', '.join(said)})" if said else ""))
    if not s.get("variation", 1):
        s.pop("variation")  # 0: the default, not said
    cues = (describe_corruption(s.pop("corruption"), float(s.pop("level")))
            if "corruption" in s and "level" in s else None)
    for key in ("n_neurons", "chip", "fault_rate", "variation", "corruption", "activation"):
        if key == "corruption" and cues:
            out.append(cues)
        elif key in s:
            out.append(setting_words(key, s.pop(key)))
    out += [setting_words(k, v) for k, v in s.items()]
    return [p for p in out if p]
