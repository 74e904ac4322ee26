"""How public functions are called: :func:`checked_keywords` (a decorator of every public
function and class: an unknown keyword raises :class:`~xbarmem.errors.ArgumentError` naming the
closest, before any work; numpy scalars are taken as Python numbers) and
:func:`renamed_keywords` (old keyword names kept, with a deprecation warning).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from xbarmem.errors import ArgumentError

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.kinds import plain_scalar

F = TypeVar("F", bound=Callable[..., Any])

#: parameter kinds that can be passed by keyword
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


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


def cannot_call(method: Any, *args: Any, **keywords: Any) -> str | None:
    """Why ``method`` (a user's function or bound method, part of a contract) cannot be called
    with ``args`` and ``keywords`` as xbarmem will call it (Python's own words, e.g. "takes 2
    positional arguments but 3 were given"), or None when it can; a signature Python cannot
    read is let through (None). The one check behind every contract of a user's callables
    (corruptions, rules, chip backends and array drivers), made before they are first called."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args, **keywords)
    except TypeError as exc:
        return str(exc)
    return None


def checked_keywords(obj: F) -> F:
    """Decorate ``obj``, a public function (or a class: its ``__init__`` and the public methods its
    body defines), so that an unknown keyword argument raises :func:`unknown_argument` (an
    :class:`~xbarmem.errors.ArgumentError` naming the closest valid keyword, as scikit-learn does)
    and arguments that do not fit the signature (too many positional ones, a required one left out)
    an :class:`~xbarmem.errors.ArgumentError` in Python's words, instead of a bare ``TypeError`` (a
    function taking ``**kwargs`` checks its keywords itself). The signature seen by :mod:`inspect`
    and ``help()`` is the original one."""
    if isinstance(obj, type):
        for name, method in list(vars(obj).items()):
            if name != "__init__" and name.startswith("_"):
                continue
            kind = type(method) if isinstance(method, staticmethod | classmethod) else None
            function = method.__func__ if kind is not None else method
            if inspect.isfunction(function) and not hasattr(function, "__wrapped__"):
                checked = checked_keywords(function)
                setattr(obj, name, kind(checked) if kind is not None else checked)
        return obj
    params = inspect.signature(obj).parameters
    names = tuple(n for n, p in params.items()
                  if p.kind in _KEYWORD_KINDS and n not in ("self", "cls"))
    allowed = frozenset(names)
    # (a function taking **kwargs checks its keywords itself)
    free = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    where = obj.__qualname__.removesuffix(".__init__") + "()"

    @functools.wraps(obj)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key in kwargs if not free else ():
            if key not in allowed:
                raise unknown_argument(where, key, names)
        args = tuple(plain_scalar(a) for a in args)
        kwargs = {k: plain_scalar(v) for k, v in kwargs.items()}
        try:
            return obj(*args, **kwargs)
        except TypeError as exc:  # (the call itself, not the body: only when they do not bind)
            if isinstance(exc, ArgumentError) or cannot_call(obj, *args, **kwargs) is None:
                raise
            raise ArgumentError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Keep the earlier names of keyword arguments working for one release: decorate a public
    function (above :func:`checked_keywords`) with ``renamed_keywords(old="new")`` (``renames`` maps
    each old name to its new one) and ``old=value`` is passed on as ``new=value`` with a
    ``DeprecationWarning`` naming both; giving both raises :class:`~xbarmem.errors.ArgumentError`.
    The signature seen by :mod:`inspect` and ``help()`` has the new names only."""

    def decorate(func: F) -> F:
        where = func.__qualname__.removesuffix(".__init__") + "()"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise ArgumentError(f"{where} got both {new}= and {old}=, its earlier "
                                        f"name; give {new}= only")
                warnings.warn(f"{where}: {old}= is deprecated; use {new}=", DeprecationWarning,
                              stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
