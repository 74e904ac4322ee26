"""What a sweep file may say: the keys of its ``[sweep]`` table (:class:`SweepHead`) and every
option of a trial (:class:`TrialOptions`, listed by name in :data:`OPTIONS`), each with its
default, rule and help."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from typing import Any

from xbarmem.checks import (
    DEFAULT_HIDDEN,
    MAX_SEED,
    closest_choice,
    resolve_hidden,
    several_widths,
    shown,
)
from xbarmem.errors import ConfigError
from xbarmem.evaluation.hidden_rule import HiddenRule
from xbarmem.hardware.chip import FAULT_MODELS
from xbarmem.memory.variation import VARIATION
from xbarmem.names import (
    ACTIVATIONS,
    ARCHS,
    CORRUPTION_METHODS,
    DEFAULT_TOL,
    KINDS,
    MODES,
    RULE_NAMES,
    SWEEP_OWN_RULE,
)
from xbarmem.spec import (
    AnyOf,
    Choice,
    FieldInfo,
    ListOf,
    Number,
    Rule,
    Spec,
    Text,
    choice,
    flag,
    integer,
    listof,
    number,
    option,
    text,
    unknown_key,
)

TRIAL_KINDS = ("evaluate", "capacity")
SELECTIONS = ("one-per-class", "random-per-class", "first", "random")
#: patterns available in each built-in set
BUILTIN_DATA = {"mnist": 10000, "mnist-crop24": 10000, "digits": 1797, "glyphs": 1302}
TOP_KEYS = ("sweep", "base", "grid", "rule_options")
_POSITIVE = Number(integer=True, ge=1)
_EVALUATE, _CAPACITY = {"only": "evaluate"}, {"only": "capacity"}


class RuleName(Choice):
    """A built-in rule's name, as a sweep file names rules: a refusal adds the closest name, or
    that a rule of one's own is an object a sweep cannot name (:data:`~xbarmem.names.
    SWEEP_OWN_RULE`), where the command line and API refusals say where it goes."""

    def __init__(self) -> None:
        super().__init__(RULE_NAMES)

    def error(self, key: str, what: str, value: Any) -> ConfigError:
        hint = (closest_choice(value, RULE_NAMES) or SWEEP_OWN_RULE) if isinstance(
            value, str) else ""
        return ConfigError(f"{super().error(key, what, value)}{hint}")


_RULE = RuleName()


class HiddenWidth(Rule):
    """One hidden width in the command line's words (:meth:`HiddenRule.word`): an integer
    H >= 1 or a multiple of N (``"1n"``, ``"0.5n"``), stored as the integer or as ``"Rn"``
    (``R`` as :attr:`HiddenRule.value_text` writes it: the same R); :func:`hidden_widths`
    resolves it for a trial's N."""

    what = "an integer >= 1 or a multiple of N ('1n', '0.5n')"

    @property
    def plural(self) -> str:
        """Text for a list of widths."""
        return "integers >= 1 or multiples of N ('1n', '0.5n')"

    def accepts(self, value: Any) -> bool:
        try:
            HiddenRule.word(value)
        except ConfigError:
            return False
        return True

    def convert(self, value: Any) -> Any:
        rule = HiddenRule.word(value)
        return int(rule.value) if rule.kind == "fixed" else f"{rule.value_text}n"


class HiddenWidths(AnyOf):
    """A trial's ``hidden``: one width (:class:`HiddenWidth`) or a list of them. A refusal of
    a text of several widths (the command line's ``--hidden 8-8``, ``"8,8"``) says how a sweep
    writes several layers: a list, ``[8, 8]`` (``hidden = [8, 8]``; in a grid, one of its
    values)."""

    def __init__(self) -> None:
        super().__init__(HiddenWidth(), ListOf(HiddenWidth()))

    def error(self, key: str, what: str, value: Any) -> ConfigError:
        return ConfigError(f"{super().error(key, what, value)}{_layers_hint(value)}")


def _layers_hint(value: Any) -> str:
    """What a refusal of a text of several widths (``hidden = "8-8"``, ``"8,8"``, ``"8 8"``:
    :func:`~xbarmem.checks.several_widths`) adds: the list a sweep takes for those layers."""
    words = several_widths(value)
    if words is None:
        return ""
    items = ", ".join(str(w) if isinstance(w, int) else f'"{w}"' for w in words)
    return f"; several hidden layers are written as a list, [{items}]"


def hidden_widths(hidden: int | str | list[int | str], n: int) -> int | list[int]:
    """A trial's checked ``hidden`` resolved for ``n`` neurons: the widths it trains (an
    integer stays an integer, a list a list; ``"Rn"`` is ``max(1, round(R n))``), by the rule
    of every entry point (:func:`~xbarmem.checks.resolve_hidden`)."""
    return resolve_hidden(hidden, n)


class SweepName(Text):
    """A sweep's name: a non-empty text of printable characters (no line break, tab, escape
    sequence or other control or format character, :func:`printable_name`) with no space at
    its ends. It names the sweep's rows in every table, export and ``--sweep``: a line break
    in it split the sweep's summary line, and ``" g1"`` was another sweep than ``g1``."""

    what = "a name of printable characters without spaces at its ends"

    def __init__(self) -> None:
        super().__init__(nonempty=True)
        self.what = SweepName.what

    def accepts(self, value: Any) -> bool:
        return super().accepts(value) and printable_name(value)


def printable_name(name: str) -> bool:
    """Whether ``name`` has no space at its ends and no character of Unicode's categories C
    (control, format: ``\\n``, ``\\t``, ESC, a bidirectional override) or Zl, Zp (line
    and paragraph separators)."""
    return name == name.strip() and all(
        unicodedata.category(c)[0] != "C" and unicodedata.category(c) not in ("Zl", "Zp")
        for c in name)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class SweepHead(Spec, noun="sweep"):
    """The ``[sweep]`` table (``name`` defaults to the file's stem)."""

    name: str = option(SweepName(), default="sweep",
                       help="sweep name (stored with every row; default: the file's name "
                            "without .toml)")
    description: str = text(default="", help="free text")
    trial: str = choice(TRIAL_KINDS, default="evaluate", help="kind of trial")
    seeds: int | list[int] = option(
        AnyOf(_POSITIVE, ListOf(Number(integer=True, ge=0, le=MAX_SEED), unique_sorted=True)),
        default=1,
        help="number of seeds (0..n-1) or a list of integer seeds")
    batch: int = integer(default=16, ge=1,
                         help="max networks trained together (>= 1; 1 = every network alone)")

    @property
    def seed_list(self) -> list[int]:
        """The seeds: ``0..seeds-1`` for a count, else the (sorted, unique) list."""
        return self.seeds if isinstance(self.seeds, list) else list(range(self.seeds))


@dataclass(frozen=True)
class TrialOptions(Spec, noun="trial"):
    """The options of one trial (``[base]`` and ``[grid]`` keys). ``None`` defaults are resolved
    from other options; ``meta["only"]`` names the one trial kind an option applies to."""

    arch: str = choice(ARCHS, default="single", help="single-layer or multilayer memory")
    hidden: int | str | list[int | str] = option(
        HiddenWidths(), default=DEFAULT_HIDDEN,
        help="hidden width(s) of a multilayer memory, e.g. 32, [64, 32], or a multiple of "
             "n_neurons as the command line's --hidden takes it ('1n', '0.5n', ['1n', 16]); "
             "stored as the widths trained")
    data: str = text(default="mnist", nonempty=True, help=(
        "mnist (bundled, side sqrt(N)), mnist-crop24 (the same from the centred 24x24 window, "
        "the authors' preprocessing), digits (scikit-learn 8x8), glyphs (bundled A-Z, a-z, 0-9 "
        "in 21 fonts, side sqrt(N)), random, correlated-R (binary, mean pairwise overlap R), "
        "or a pattern file (.npy/.npz/.csv/IDX)"))
    kind: str = choice(KINDS, default="binary",
                       help="binary or continuous patterns")
    zero_one: bool = flag(default=False, help=(
        "a pattern file's values are in [0, 1], read as 2*x - 1 (binary {0, 1}: 0 as -1), as "
        "the commands' --zero-one; a pattern file only (built-in sets and drawn patterns are "
        "+-1 already); in a trial's key only when true"))
    data_key: str | None = text(default=None, nonempty=True, optional=True, help=(
        "the array of a pattern .npz file to read (one holding several, e.g. 'train' and "
        "'test'), as the commands' --key; a pattern file only; in a trial's key only when "
        "given"))
    n_neurons: int = integer(default=64, ge=2,
                             help="N, neurons per pattern (a square for mnist, glyphs: side^2)")
    patterns: int = integer(default=10, ge=1, help="number of stored patterns P",
                            meta=_EVALUATE)
    selection: str = choice(SELECTIONS, default="random", meta=_EVALUATE, help=(
        "which patterns: one-per-class (the first image of classes 0, 1, ...), "
        "random-per-class (a seeded random image of each class among the first `pool`), "
        "first, or random (a seeded random subset of the first `pool` patterns)"))
    pool: int = integer(default=1000, ge=1, help=(
        "patterns to draw random subsets from (first `pool` of the data, all of a file that "
        "holds fewer when not given; random data: `pool` patterns drawn from the trial seed)"))
    rule: str = option(_RULE, default="adaptive", help="learning rule")
    chip: str = text(default="paper-sim", nonempty=True, help="chip preset or chip TOML file")
    fault_rate: float | None = number(default=None, ge=0.0, le=1.0, as_float=True,
                                      optional=True, help="stuck fraction (default: the chip's)")
    on_fraction: float = number(default=0.5, ge=0.0, le=1.0, as_float=True,
                                help=("share of stuck-ON among the faults of fault_rate "
                                      "(with fault_rate only)"))
    fault_model: str | None = choice(FAULT_MODELS, default=None, optional=True,
                                     help="device or weight (default: the chip's)")
    variation: float = option(VARIATION, default=0.0, help=(
        "programming variation v: Gaussian noise of std v * max|W| added to every programmed "
        "free weight (biases as trained); at most 1, as the trainer's option variation"))
    corruption: str | None = choice(
        CORRUPTION_METHODS, default=None, optional=True,
        help="cue corruption (default: flip for binary, gaussian for continuous)")
    level: float | None = number(
        default=None, ge=0.0, as_float=True, optional=True,
        help="corruption level (default: 0.1 for flip and salt-pepper, 0.6 for gaussian and "
             "occlude)")
    probes: int = integer(default=20, ge=1, help="corrupted cues per stored pattern")
    mode: str = choice(MODES, default="sync", help="recall mode")
    activation: str | None = choice(ACTIVATIONS, default=None, optional=True,
                                    help="neurons (default: sign for binary, tanh for continuous)")
    max_iterations: int = integer(default=100, ge=1, help="recall step cap")
    tol: float = number(default=DEFAULT_TOL, ge=0.0, as_float=True, help=(
        "tanh recall: a cue has settled when no neuron's state changes by more than tol in a "
        "step (under read noise, at least the noise's scale; sign recall does not read it); "
        "in a trial's key only when not the default"))
    counts: list[int] | None = listof(
        _POSITIVE, default=None, unique_sorted=True, optional=True, meta=_CAPACITY,
        help="numbers of stored patterns tested (a recall curve, all trained as one batch)")
    thresholds: list[float] = listof(
        Number(gt=0.0, le=1.0, as_float=True), default=[0.9, 0.95, 0.99], unique_sorted=True,
        meta=_CAPACITY, help="similarity thresholds at which capacity is read off")
    search: bool = flag(default=False, meta=_CAPACITY, help=(
        "capacity by geometric search + interpolation instead of a fixed list of counts"))
    resolution: float = number(default=0.0, ge=0.0, as_float=True, meta=_CAPACITY,
                               help="search: relative bracket width to stop at")
    cue_budget: int = integer(default=0, ge=0, meta=_CAPACITY, help=(
        "search, hardware-adaptive rule: about this many corrupted training cues per step in "
        "total (cue_copies = ceil(cue_budget / P); 0 = the rule's cue_copies)"))


#: Every trial option by name (default, rule, help; ``meta["only"]``: its trial kind).
OPTIONS: dict[str, FieldInfo] = TrialOptions.spec_fields()
_HEAD: dict[str, FieldInfo] = SweepHead.spec_fields()


def _fail(where: str, value: Any, problem: str) -> ConfigError:
    """An error of options that contradict each other (``where = value: problem``)."""
    return ConfigError(f"{where} = {shown(value)}: {problem}")


def _checked(infos: dict[str, FieldInfo], key: str, value: Any, where: str) -> Any:
    """``value`` of ``key`` checked by its declaration; errors name ``where`` and the key (a
    key of the other kind of table, :func:`_other_table`, also the table it goes in)."""
    if key not in infos:
        raise ConfigError(f"{unknown_key(where, key, list(infos))}{_other_table(key, infos)}")
    return infos[key].check(value, f"{where} {key}")


def _other_table(key: Any, infos: dict[str, FieldInfo]) -> str:
    """Where ``key``, unknown among ``infos``, goes when it is a key of the sweep file's other
    kind of table: ``seeds`` of ``[sweep]`` written in ``[grid]`` or ``[base]``, a trial option
    (``rule``) written in ``[sweep]``; empty otherwise."""
    other = list(OPTIONS if infos is _HEAD else _HEAD)
    named = key if key in other else next(iter(difflib.get_close_matches(
        key, other, n=1, cutoff=0.8)), None) if isinstance(key, str) else None
    if named is None or (named != key and difflib.get_close_matches(key, list(infos), n=1)):
        return ""  # (no key of the other table, or one of this table is as close)
    what = (f"{named} is a key of the [sweep] table" if infos is not _HEAD else
            f"{named} is a trial option: it goes in [base], or in [grid] as a list")
    return f"; {what}" if named == key else f"; did you mean {named}? ({what})"


def option_help() -> str:
    """A plain-text table of every sweep option (for ``xbarmem sweep --list-options``)."""
    lines = [f"[sweep] {k}: {v.help}; {v.what}" for k, v in _HEAD.items()]
    for key, opt in OPTIONS.items():
        scope = f" ({opt.meta['only']} trials)" if opt.meta.get("only") else ""
        lines.append(f"{key}{scope}: {opt.help}; {opt.what} [default {opt.default!r}]")
    lines.append("[rule_options.RULE] KEY: an option of RULE's constructor (grid: "
                 "rule_options.RULE.KEY = [...])")
    return "\n".join(lines)
