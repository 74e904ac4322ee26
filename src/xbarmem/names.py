"""The names of the learning rules and their recipes, memory architectures, pattern kinds, cue
corruptions and recall settings, importable without torch.

The command line and sweep files check names against these before any work is done, and take
the cues they draw when none are given from :func:`default_cues`. The corruption and recall
modules take theirs from here; the rule registry
(:mod:`xbarmem.learning.classic`) defines the same rule names, which a test keeps equal.
"""

from __future__ import annotations

import difflib
from typing import Any

from xbarmem.errors import PatternError

#: learning rules, hardware-adaptive first (:func:`xbarmem.learning.classic.rule_names`)
RULE_NAMES = ("adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron")
#: other names of the rules, as papers write them: every lookup reads them as the rule's own
#: name (:func:`name_key`), and records keep the rule's own name
RULE_ALIASES = {"pseudo-inverse": "pinv", "pseudoinverse": "pinv", "projection": "pinv",
                "hebbian": "hebb", "hardware-adaptive": "adaptive"}
#: pattern kinds: +-1 patterns or values in [-1, 1] (:func:`xbarmem.data.patterns.check_kind`)
KINDS = ("binary", "continuous")
#: memory architectures (:data:`xbarmem.memory.build.ARCHS`)
ARCHS = ("single", "multilayer")
#: cue corruptions (:mod:`xbarmem.data.corruption`)
CORRUPTION_METHODS = ("flip", "gaussian", "occlude", "salt-pepper")
#: the corruption drawn by each function of :mod:`xbarmem.data.corruption`, by its name (a
#: Python user's name for it, ``xm.salt_and_pepper``), as :func:`corruption_key` reads names
_CORRUPTION_FUNCTIONS = {"flip-bits": "flip", "gaussian-noise": "gaussian",
                         "occlude-block": "occlude", "salt-and-pepper": "salt-pepper"}
#: a corruption's level when none is given (sweeps, evaluate, adapt, capacity): the share of
#: values flipped, set or occluded, or the Gaussian noise sigma
DEFAULT_LEVELS = {"flip": 0.1, "gaussian": 0.6, "occlude": 0.6, "salt-pepper": 0.1}
#: the share of bits flipped in the cues of capacity searches and scaling runs when no level is
#: given (their own flip rate; their other corruptions take :data:`DEFAULT_LEVELS`)
SEARCH_FLIPS = 0.05
#: the largest float32 (``torch.finfo(torch.float32).max``): noise is drawn in float32, where a
#: larger std is inf
FLOAT32_MAX = 3.4028234663852886e38
#: the largest level of each corruption: a share (flips, set or occluded values) is at most 1,
#: a Gaussian noise sigma at most :data:`FLOAT32_MAX`. The one bound of sweeps and commands.
LEVEL_BOUNDS = {"flip": 1.0, "gaussian": FLOAT32_MAX, "occlude": 1.0, "salt-pepper": 1.0}
#: what the level of each corruption is, in refusals of a level (the library's and the
#: command line's ``--level``)
LEVEL_WORDS = {"flip": "flip rate", "gaussian": "noise sigma", "occlude": "occlusion fraction",
               "salt-pepper": "salt-and-pepper rate"}
#: the cue corruption and neuron type of each kind of pattern when none is given
KIND_CUES = {"binary": ("flip", "sign"), "continuous": ("gaussian", "tanh")}
#: the corruptions that set signs, which only binary patterns take
BIT_CORRUPTIONS = ("flip", "salt-pepper")
#: the ``tanh`` fixed-point tolerance of every recall that is given none
#: (:func:`~xbarmem.memory.recall.recall`, ``Memory.recall``,
#: :class:`~xbarmem.evaluation.evaluate.Protocol`, the commands' ``--tol``)
DEFAULT_TOL = 1e-4


def tol_entry(tol: float) -> dict[str, float]:
    """``{"tol": tol}``, or ``{}`` at the default :data:`DEFAULT_TOL`: how a ``tol`` is
    recorded and passed on, so that records and calls of recalls that set none keep their keys
    (and memories of one's own whose ``recall`` takes no ``tol`` still work)."""
    return {} if tol == DEFAULT_TOL else {"tol": tol}


#: how a label of a built-in corruption names what it does to a cue (:func:`corruption_words`)
_CORRUPTION_WORDS = {"flip": "flips", "occlude": "occluded", "salt-pepper": "salt-and-pepper"}


def corruption_words(corruption: str, level: float) -> str:
    """A short label of a built-in corruption (a name of :data:`CORRUPTION_METHODS`) at
    ``level``: ``"5% flips"``, ``"Gaussian noise sigma = 0.6"``, ``"30% occluded"``, ``"5%
    salt-and-pepper"``."""
    if corruption == "gaussian":
        return f"Gaussian noise sigma = {level:g}"
    return f"{100 * level:g}% {_CORRUPTION_WORDS[corruption]}"


def variation_words(variation: float, seed: int) -> str:
    """How programming with variation ``variation`` and seed ``seed`` is told (``evaluate
    --variation``, a model file's ``info["variation"]`` of a ``reprogram``-med memory):
    ``"with variation 0.1 (weight noise of std 0.1 max|W|, seed 3)"``."""
    return f"with variation {variation:g} (weight noise of std {variation:g} max|W|, seed {seed})"


def cues_pass_text(thresholds: list[float], own: float, words: str, n_neurons: int) -> str:
    """The warning of a capacity measured at ``thresholds`` at or below the cues' own mean
    cosine ``own`` with their patterns (cues of ``words``, :func:`corruption_words`, of ``N =
    n_neurons``): a memory that returned every cue unchanged would pass them."""
    what = (f"threshold {thresholds[0]:g} is" if len(thresholds) == 1 else
            f"thresholds {', '.join(f'{t:g}' for t in thresholds)} are")
    return (f"{what} at or below the cues' own cosine with their patterns, {own:.3f} ({words}, "
            f"N = {n_neurons}): a memory that returned every cue unchanged would pass it, so "
            f"the capacity there does not measure recall")


def noise_capped_text(unconverged: float, tol: float, option: str = "--tol", *,
                      recalls: str | None = None) -> str:
    """Why a share ``unconverged`` (0..1) of tanh recalls under read noise did not converge
    with the tolerance ``tol``, and which ``option`` lets them settle (the command line's
    ``--tol``; ``tol`` in Python): the one text of ``evaluate``'s warning, the capacity
    searches' and :func:`~xbarmem.evaluation.evaluate.evaluate_memory`'s. ``recalls``: the
    words naming the recalls, in place of the share's (``"3 of 20 tanh recalls ..."``)."""
    recalls = recalls or f"{unconverged:.0%} of the tanh recalls"
    return (f"{recalls} did not converge: under read noise tanh states change by about the "
            f"noise at every step, more than {option} = {tol:g}; a {option} at the noise's "
            f"scale lets them settle")


def bit_cue_similarity(corruption: str, level: float) -> float:
    """The expected cosine of a +-1 cue corrupted by one of :data:`BIT_CORRUPTIONS` with its
    pattern (the same for every pattern): flips negate a share ``level`` of the bits,
    ``1 - 2 level``; salt-and-pepper sets a share ``level`` to random signs, half of which
    differ, ``1 - level``."""
    return 1.0 - 2.0 * level if corruption == "flip" else 1.0 - level


#: recall modes and neuron activations (:mod:`xbarmem.memory.recall`)
MODES = ("sync", "async")
#: recipes of the hardware-adaptive rule (:data:`xbarmem.learning.adaptive.RECIPE_OPTIONS`)
RECIPES = ("default", "fast")
#: precisions of the hardware-adaptive rule's training products (its ``products`` option)
PRODUCTS = ("float32", "bf16")
ACTIVATIONS = ("sign", "tanh")


#: what a refusal of an unknown rule name adds when no name is close: where a rule of one's own
#: goes (an object, not a name)
OWN_RULE = ("; a rule of your own is a Python object passed as rule= to train, fit_memories, "
            "compare_rules or find_capacity (docs/extending.md)")
#: the same for a sweep file, which names the built-in rules only (a TOML file holds no object)
SWEEP_OWN_RULE = ("; a sweep file names the built-in rules only: a rule of your own is a "
                  "Python object, compared by passing it as rule= to compare_rules, "
                  "recall_curve or find_capacity (docs/extending.md)")


def hidden_words(widths: Any) -> str:
    """A multilayer memory's hidden widths as ``--hidden`` writes one architecture: ``8-4`` for
    two hidden layers (``[8, 4]``; commas separate architectures there), ``32`` for one. What
    results tables, their filters and figures show (:func:`hidden_from_words` reads it)."""
    if isinstance(widths, list | tuple):
        return "-".join(map(str, widths))
    return str(widths)


def hidden_from_words(text: str) -> list[int] | None:
    """The widths of two or more hidden layers written as :func:`hidden_words` writes them
    (``"8-4"`` -> ``[8, 4]``), or None for any other text."""
    parts = text.strip().split("-")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


def default_cues(kind: str, corruption: str | None = None, level: float | None = None,
                 activation: str | None = None, *, flips: float | None = None
                 ) -> tuple[str, float, str]:
    """``(corruption, level, activation)`` of cues for patterns of ``kind``: the given ones,
    else the kind's corruption and neuron type (:data:`KIND_CUES`) and the corruption's level
    (:data:`DEFAULT_LEVELS`; ``flips``: a command's own flip rate). The one rule of sweeps
    and of the commands that corrupt cues."""
    default, by_kind = KIND_CUES[kind]
    corruption = builtin_corruption(corruption) if corruption else default
    if level is None:
        level = flips if corruption == "flip" and flips is not None else DEFAULT_LEVELS[
            corruption]
    return corruption, level, activation or by_kind


def name_key(text: str) -> str:
    """A name as every lookup of a name compares it (:func:`xbarmem.checks.choice_key`): no
    surrounding spaces, lower case, ``_`` read as ``-``, and another name of a rule
    (:data:`RULE_ALIASES`: ``Pseudo_Inverse``) read as the rule's own (``pinv``)."""
    key = text.strip().lower().replace("_", "-")
    return RULE_ALIASES.get(key, key)


def own_name_problem(name: str, builtins: Any, noun: str) -> str | None:
    """What is wrong with ``name`` as the name of a ``noun`` of one's own (a rule object's
    ``name``, a corruption function's): None when it is one line of printable text and, as
    :func:`name_key` compares names, no built-in one's of ``builtins``; else the words saying
    which. Records, model files, figures and lookups read a name as the built-in's: the one
    check of every extension's name (:func:`~xbarmem.learning.base.check_rule`,
    :func:`~xbarmem.data.corruption.check_corruption`)."""
    if not name.isprintable() or not name.strip():
        return f"its name must be one line of printable text, got {name!r}"
    if name_key(name) in builtins:
        return (f"its name {name!r} is the name of the built-in {noun} {name_key(name)!r}: "
                f"records, model files and figures would take it for that {noun}; give it a "
                f"name of its own")
    return None


def closest_name(value: Any, choices: Any) -> str:
    """``"; did you mean 'pinv'?"`` when ``value`` is a text close to one of ``choices``
    (:func:`difflib.get_close_matches`, compared by :func:`name_key`), else ``""``: the end
    of a message refusing a name."""
    if not isinstance(value, str):
        return ""
    named = {name_key(c): c for c in choices if isinstance(c, str)}
    close = difflib.get_close_matches(name_key(value), list(named), n=1, cutoff=0.6)
    return f"; did you mean {named[close[0]]!r}?" if close else ""


def corruption_key(method: Any) -> str | None:
    """The canonical name of the built-in corruption ``method`` names (``"salt_pepper"``,
    ``"Flip"``: ``"salt-pepper"``, ``"flip"``), or None when it names none."""
    key = name_key(str(method))
    return key if key in DEFAULT_LEVELS else None


def builtin_corruption(method: Any) -> str:
    """:func:`corruption_key` of ``method``; :class:`~xbarmem.errors.PatternError` naming it
    when it names no built-in corruption (a command's ``--corruption blur`` met a KeyError)."""
    key = corruption_key(method)
    if key is None:
        raise PatternError(f"unknown corruption method {method!r}: expected one of "
                           f"{', '.join(CORRUPTION_METHODS)}{closest_corruption(method)}")
    return key


def closest_corruption(method: Any) -> str:
    """``"; did you mean 'salt-pepper'?"`` for a name that is not a built-in corruption's but
    is its function's (``salt_and_pepper``, ``flip_bits``) or close to it (``flips``), else
    ``""``: the end of every message refusing a corruption's name."""
    if isinstance(method, str) and name_key(method) in _CORRUPTION_FUNCTIONS:
        return f"; did you mean {_CORRUPTION_FUNCTIONS[name_key(method)]!r}?"
    return closest_name(method, CORRUPTION_METHODS)
