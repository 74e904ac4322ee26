"""Checks of single arguments: :func:`check_seed`, the one rule for random seeds (used by
:mod:`xbarmem.spec`, :mod:`xbarmem.seeds` and, through them, every public entry point that
takes a seed), counts (:func:`check_count`, :data:`MAX_COUNT`), flags, choices (a choice
refused with the closest one named), callbacks, types (:func:`check_type`: an
:class:`~xbarmem.errors.ArgumentError`, a ``TypeError``) and lists of texts.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from types import UnionType
from typing import TYPE_CHECKING, Any

from xbarmem.errors import ArgumentError, ConfigError, XbarmemError
from xbarmem.names import closest_name, name_key

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.kinds import is_bool
from xbarmem.checks.words import shown

#: the largest seed a user may give (command line, trainer options, sweep files): seeds are
#: 32-bit, which numpy, torch and the derived-seed formulas all accept
MAX_SEED = 2**32 - 1

#: ``xbarmem reproduce --seed S`` runs a sweep's seed ``k`` (every one below this) as trial seed
#: ``S * SEED_STRIDE + k``: two run seeds share no trial seed
SEED_STRIDE = 1000

#: the largest ``reproduce --seed``: its trial seeds stay within :data:`MAX_SEED`
MAX_RUN_SEED = (MAX_SEED - (SEED_STRIDE - 1)) // SEED_STRIDE

#: the largest count a user may give (trials, probes, chips, iterations, steps, patterns...):
#: above it a run would never end, whatever memory it needs
MAX_COUNT = 10**9


def check_seed(seed: Any, name: str = "seed", what: str = "an integer >= 0", *,
               maximum: int = MAX_SEED, why: str = "seeds are 32-bit") -> int:
    """The one rule for random seeds: an integer in ``0 ..`` ``maximum`` (default
    :data:`MAX_SEED`; a seed from which others are derived has a smaller one, ``why`` saying
    so) (Python or numpy integer; bools refused). Returns it as a Python ``int``; raises
    :class:`ConfigError` naming ``name`` (and ``what`` it must be) otherwise (``seed must be an
    integer >= 0, got -1``; a numpy generator is named with how to get a seed), before any
    draw is made."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"{name} must be {what}, got {shown(seed)}")
    if int(seed) > maximum:
        raise ConfigError(f"{name} must be {what} and at most {maximum} ({why}), "
                          f"got {shown(seed)}")
    return int(seed)


def is_choice(value: Any, choices: Iterable[Any]) -> bool:
    """Whether ``value`` is one of ``choices`` (names), safely for any value: an array, a
    tensor or any other unhashable or odd object is no choice (never numpy's "truth value is
    ambiguous"), nor is a bool unless ``choices`` hold it."""
    if isinstance(value, str):  # numpy strings too
        return str(value) in frozenset(choices)
    if is_bool(value):
        return any(c is value for c in choices)
    if hasattr(value, "shape") or hasattr(value, "__array__"):
        return False
    try:
        return value in frozenset(choices)
    except TypeError:  # unhashable
        return False


def choice_key(value: Any, choices: Iterable[Any]) -> Any:
    """The one rule for looking up a name (a rule, corruption, chip or circuit preset, recipe,
    pattern kind, recall mode, architecture, data source...) among ``choices``: the choice
    ``value`` is (:func:`is_choice`), else the one it names written in another case, with
    surrounding spaces or ``_`` for ``-`` (``"Hebb"``, ``"salt_pepper"``: ``"hebb"``,
    ``"salt-pepper"``), else None. What is stored is the choice returned, never the text
    given."""
    options = tuple(choices)
    if is_choice(value, options):
        return str(value) if isinstance(value, str) else value  # (a numpy text as a str)
    if not isinstance(value, str):
        return None
    key = name_key(value)
    return next((c for c in options if isinstance(c, str) and name_key(c) == key), None)


def canonical(value: Any, choices: Iterable[Any]) -> Any:
    """:func:`choice_key` of ``value`` when it names one of ``choices``, else ``value`` as given
    (for its own check to refuse): what an entry point keeps of a name before comparing it
    with one (``rule == "adaptive"``)."""
    key = choice_key(value, choices)
    return value if key is None else key


def choices_text(choices: Iterable[Any]) -> str:
    """``choices`` in a message: ``a, b`` (never a Python tuple or list's repr)."""
    return ", ".join(map(str, choices))


def closest_choice(value: Any, choices: Iterable[Any]) -> str:
    """``"; did you mean 'pinv'?"`` when ``value`` is a text close to one of ``choices``
    (:func:`~xbarmem.names.closest_name`), else ``""``."""
    return closest_name(value, tuple(choices))


def check_choice(value: Any, choices: Iterable[Any], name: str, *,
                 error: type[XbarmemError] = ConfigError) -> Any:
    """The canonical choice ``value`` names among ``choices`` (:func:`choice_key`: ``"Sync"`` is
    ``"sync"``), else ``error`` ``{name} must be one of a, b, got {shown(value)}``
    (:func:`choices_text`), with the closest choice (``; did you mean 'sync'?``) when one is close.
    """
    options = tuple(choices)
    key = choice_key(value, options)
    if key is None:
        raise error(f"{name} must be one of {choices_text(options)}, got {shown(value)}"
                    f"{closest_choice(value, options)}")
    return key


def check_flag(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> bool:
    """The one rule for on/off options: ``value`` ``True`` or ``False`` (a numpy bool too); anything
    else (``"no"``, 1, None, an array) raises ``error`` naming ``name``. Returns a Python bool."""
    if not is_bool(value):
        raise error(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def check_count(value: Any, name: str, *, minimum: int = 1, maximum: int = MAX_COUNT,
                error: type[XbarmemError] = ConfigError) -> int:
    """The one rule for counts (trials, probes, chips, steps, iterations): ``value`` an integer
    (Python or numpy; bools refused) in ``minimum .. maximum`` (default :data:`MAX_COUNT`, a limit
    above which a run would never end). Returns it as a Python ``int``; raises ``error`` naming
    ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {shown(value)}")
    if int(value) > maximum:
        raise error(f"{name} must be at most {maximum}, got {shown(value)}")
    return int(value)


def check_callback(value: Any, name: str, *, optional: bool = True) -> Any:
    """``value`` if it is callable (or ``None`` when ``optional``), else
    :class:`~xbarmem.errors.ArgumentError` ``{name} must be a function (or None), got ...``
    (``optional=False``: ``{name} must be a function, got ...``), raised before any work."""
    if not callable(value) and not (optional and value is None):
        allowed = " (or None)" if optional else ""
        raise ArgumentError(f"{name} must be a function{allowed}, got {shown(value)}")
    return value


def check_each_once(values: Iterable[Any], name: str) -> None:
    """Refuse a value that ``values`` (e.g. the sizes N of a run over sizes) lists twice: it
    was measured twice and counted twice in a fit or a figure. :class:`ConfigError` naming
    ``name`` and the value (``sizes lists 16 twice; give each value once``)."""
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ConfigError(f"{name} lists {shown(value)} twice; give each value once")
        seen.append(value)


def check_type(value: Any, types: type | UnionType | tuple[type, ...], name: str, what: str
               ) -> Any:
    """``value`` if it is an instance of ``types``, else :class:`~xbarmem.errors.ArgumentError`
    ``{name} must be {what}, got {type}`` (``memory must be a Memory (from train or
    load_memory), got ndarray``)."""
    if not isinstance(value, types):
        raise ArgumentError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_texts(value: Any, name: str, what: str = "a list of texts", *,
                error: type[XbarmemError] = ArgumentError) -> list[str]:
    """The one rule for a list of names or conditions (``where``, trial keys, field names):
    ``value`` a list or tuple (or another non-text sequence) whose items are all ``str``; returned
    as a list. One text (which would be read letter by letter), None, a number, an array or a list
    holding anything but texts raises ``error`` ``{name} must be {what}, got ...`` naming the first
    bad item."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        hint = " (one text: put it in a list)" if isinstance(value, str) else ""
        raise error(f"{name} must be {what}{hint}, got {shown(value)}")
    items = list(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise error(f"{name} must be {what}, got {shown(item)} at [{i}]")
    return items
