"""Argument checks every layer shares, torch-free: :func:`check_seed`, the one rule for random
seeds (used by :mod:`xbarmem.spec`, :mod:`xbarmem.seeds` and, through them, every public entry
point that takes a seed), and :func:`check_neurons`, the one rule for the number of neurons of
a memory (used by the memories and by the readers of patterns to store). :func:`checked_keywords`
(a decorator) and :func:`check_type` are the rules for how public functions are called: an
unknown keyword argument, or an argument of the wrong type, raises
:class:`~xbarmem.errors.ArgumentError` (a ``TypeError``) naming it, before any work."""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from xbarmem.errors import ArgumentError, ConfigError, XbarmemError

__all__ = ["MAX_SEED", "check_neurons", "check_seed", "check_type", "checked_keywords",
           "unknown_argument"]

F = TypeVar("F", bound=Callable[..., Any])

#: parameter kinds that can be passed by keyword
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)

#: the largest seed a user may give (command line, trainer options, sweep files): seeds are
#: 32-bit, which numpy, torch and the derived-seed formulas all accept
MAX_SEED = 2**32 - 1


def check_seed(seed: Any, name: str = "seed", what: str = "an integer >= 0") -> int:
    """The one rule for random seeds: an integer >= 0 (Python or numpy integer; bools refused).
    Returns it as a Python ``int``; raises :class:`ConfigError` naming ``name`` (and ``what``
    it must be) otherwise (``seed must be an integer >= 0, got -1``; a numpy generator is
    named with how to get a seed), before any draw is made."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"{name} must be {what}, got {_shown(seed)}")
    return int(seed)


def _shown(value: Any) -> str:
    """``value`` in a message: its repr for numbers and text, else its type (a random
    generator of numpy or torch: with how to draw a seed from it)."""
    if value is None or isinstance(value, numbers.Number | str):
        return repr(value)
    kind = type(value).__name__
    if kind in ("Generator", "RandomState"):
        return (f"a {type(value).__module__.split('.')[0]} {kind} (pass an integer seed, e.g. "
                f"one drawn from it)")
    return f"a {kind}"


def check_neurons(n_neurons: Any, name: str = "n_neurons",
                  error: type[XbarmemError] = ConfigError) -> int:
    """The one rule for the number of neurons ``N`` of a memory: an integer >= 2 (Python or
    numpy integer; bools refused). Returns it as a Python ``int``; raises ``error`` (default
    :class:`ConfigError`; pattern readers pass :class:`~xbarmem.errors.PatternError`) naming
    ``name`` otherwise (``n_neurons must be an integer >= 2 (a memory needs at least 2
    neurons), got 1``)."""
    if (isinstance(n_neurons, bool) or not isinstance(n_neurons, numbers.Integral)
            or n_neurons < 2):
        raise error(f"{name} must be an integer >= 2 (a memory needs at least 2 neurons), "
                    f"got {n_neurons!r}")
    return int(n_neurons)


def unknown_argument(where: str, key: str, allowed: Sequence[str],
                     context: str = "") -> ArgumentError:
    """The error for an unknown keyword argument ``key`` of ``where`` (``"train()"``): names
    the closest of ``allowed`` (``did you mean 'fault_seed'?``), or lists them all when none is
    close. ``context`` is added after the key (``" (neither ... nor ...)"``). ``device`` is
    answered for itself: xbarmem computes on the CPU only."""
    if key == "device":
        return ArgumentError(f"{where} got an unknown keyword argument 'device': xbarmem "
                             f"computes on the CPU only (tensors on another device are "
                             f"copied to the CPU)")
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"it takes {', '.join(allowed)}" if allowed else "it takes none")
    return ArgumentError(f"{where} got an unknown keyword argument {key!r}{context}; {hint}")


def checked_keywords(obj: F) -> F:
    """Decorate a public function (or a class: its ``__init__``) so that an unknown keyword
    argument raises :func:`unknown_argument` (an :class:`~xbarmem.errors.ArgumentError`
    naming the closest valid keyword, as scikit-learn does) instead of Python's bare
    ``TypeError``. Functions taking ``**kwargs`` are returned unchanged; the signature seen
    by :mod:`inspect` and ``help()`` is the original one."""
    if isinstance(obj, type):
        obj.__init__ = checked_keywords(obj.__init__)  # type: ignore[misc]
        return obj
    params = inspect.signature(obj).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return obj
    names = tuple(n for n, p in params.items()
                  if p.kind in _KEYWORD_KINDS and n not in ("self", "cls"))
    allowed = frozenset(names)
    where = obj.__qualname__.removesuffix(".__init__") + "()"

    @functools.wraps(obj)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key in kwargs:
            if key not in allowed:
                raise unknown_argument(where, key, names)
        return obj(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_type(value: Any, types: type | tuple[type, ...], name: str, what: str) -> Any:
    """``value`` if it is an instance of ``types``, else :class:`~xbarmem.errors.ArgumentError`
    ``{name} must be {what}, got {type}`` (``memory must be a Memory (from train or
    load_memory), got ndarray``)."""
    if not isinstance(value, types):
        raise ArgumentError(f"{name} must be {what}, got {type(value).__name__}")
    return value
