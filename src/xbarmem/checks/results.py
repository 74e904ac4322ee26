"""What results types share: equality by value (:func:`value_equality`, :func:`same_value`:
arrays and NaN compared as values, wall-clock times left out: :data:`WALL_TIMES`), a short
``repr`` (:func:`result_repr`) and a dict that shows as one (:class:`ResultDict`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.words import brief

C = TypeVar("C", bound=type)


#: the keys (and fields) of results that hold how long a run took on this machine, never what
#: it computed: equality of results leaves them out, so a run again with the same seed compares
#: equal to the first (:func:`same_value`, :func:`value_equality`, :class:`ResultDict`)
WALL_TIMES = frozenset({"seconds", "train_seconds", "eval_seconds"})


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same value: tensors and numpy arrays of one type,
    shape and dtype with equal entries (NaN matching NaN, as for a copy), lists, tuples and
    dicts of such values item by item (a dict's :data:`WALL_TIMES` keys left out: how long a
    run took is no part of its result), anything else by ``==``."""
    import numpy as np  # numpy and torch only when results are compared
    import torch

    if a is b:
        return True
    if isinstance(a, (torch.Tensor, np.ndarray)) or isinstance(b, (torch.Tensor, np.ndarray)):
        if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        if isinstance(a, torch.Tensor):
            a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
        nan = a.dtype.kind in "fc"
        return bool(np.array_equal(a, b, equal_nan=nan))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = a.keys() - WALL_TIMES
        return keys == b.keys() - WALL_TIMES and all(same_value(a[k], b[k]) for k in keys)
    return bool(a == b)


def _hash_key(value: Any) -> Any:
    """A hashable key of ``value`` that values equal by :func:`same_value` share: an array or
    tensor as its type, shape, dtype and bytes, a list, tuple or dict item by item."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        import numpy as np  # (only when a value holding arrays is hashed)

        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        return type(value).__name__, arr.shape, str(arr.dtype), arr.tobytes()
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_hash_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hash_key(v)) for k, v in value.items()
                            if k not in WALL_TIMES))
    return value


def value_equality(cls: C | None = None, *, hashable: bool = False) -> Any:
    """Class decorator for a dataclass holding tensors or arrays: ``==`` compares every field
    with :func:`same_value` (the generated ``==`` raised torch's "Boolean value of Tensor with
    more than one value is ambiguous"; ``eq=False`` compared objects, so that a copy was not
    equal to its original), leaving out the fields named in :data:`WALL_TIMES` and those of
    ``field(compare=False)``; the repr is one short line (:func:`brief_repr`). Instances are
    unhashable, as mutable values are, unless ``hashable`` (``@value_equality(hashable=True)``,
    for a frozen class whose arrays are read-only: equal values share one hash)."""
    import dataclasses

    def decorate(cls: C) -> C:
        compared = [f.name for f in dataclasses.fields(cls)
                    if f.compare and f.name not in WALL_TIMES]

        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(same_value(getattr(self, name), getattr(other, name))
                       for name in compared)

        def __hash__(self: Any) -> int:
            return hash(tuple(_hash_key(getattr(self, name)) for name in compared))

        __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
        __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
        cls.__eq__ = __eq__  # type: ignore[assignment]
        cls.__hash__ = __hash__ if hashable else None  # type: ignore[assignment]
        return brief_repr(cls)

    return decorate if cls is None else decorate(cls)


def generated_repr(cls: type) -> bool:
    """Whether ``cls``'s ``__repr__`` is the one :func:`dataclasses.dataclass` writes (every field
    in full: a tensor or array printed entry by entry), not one of its own."""
    import dataclasses
    import reprlib

    method = cls.__dict__.get("__repr__")
    # dataclasses wraps the repr it writes against recursion, in its module (or reprlib's)
    code = getattr(method, "__code__", None)
    return (hasattr(method, "__wrapped__") and code is not None
            and code.co_filename in (dataclasses.__file__, reprlib.__file__))


def brief_repr(cls: C) -> C:
    """Class decorator for a dataclass holding tensors or arrays: unless the class writes its
    own ``__repr__``, the repr is one line of its fields, each :func:`brief` (a shape, a count
    and range), as :func:`result_repr` writes a result's -- the generated one printed every
    tensor entry by entry (a ``WeightGrid`` of a 64x65 crossbar printed 19 lines). A field
    without a repr of its own (a ``torch.Generator``) shows its type's name, not its address."""
    import dataclasses

    if generated_repr(cls):
        shown = [f.name for f in dataclasses.fields(cls) if f.repr]

        def __repr__(self: Any) -> str:
            return result_repr(type(self).__name__, {k: _named(getattr(self, k)) for k in shown})

        __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
        cls.__repr__ = __repr__  # type: ignore[assignment]
    return cls


class _Named:
    """Shows as the name it holds (a field whose repr would be ``<... object at 0x...>``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _named(value: Any) -> Any:
    """``value``, or its type's name when its type has no repr of its own."""
    return _Named(type(value).__name__) if type(value).__repr__ is object.__repr__ else value


def result_repr(name: str, fields: dict[str, Any]) -> str:
    """The repr of a result object named ``name`` (``Score``, ``RecallResult``, ``CapacityResult``,
    ...): its main numbers, ``fields``, each :func:`brief`, never a whole tensor (``as_dict`` or the
    attributes hold every value as computed)."""
    return f"{name}({', '.join(f'{k}={brief(v)}' for k, v in fields.items())})"


class ResultDict(dict):
    """A result that is a dict (its items read as before) and prints one short line: a
    subclass names its main numbers in :meth:`shown` (:func:`result_repr` writes them);
    :meth:`as_dict` gives the items as a plain dict. Two results of one class are equal when
    they hold the same values (:func:`same_value`: wall-clock times left out, so a run again
    with the same seed compares equal to the first); compared with a plain dict, every item
    counts, as for dicts."""

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return same_value(dict(self), dict(other))
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # (a dict: mutable)

    def shown(self) -> dict[str, Any]:
        """The fields the one-line repr shows (default: none)."""
        return {}

    def __repr__(self) -> str:
        return result_repr(type(self).__name__, self.shown())

    def as_dict(self) -> dict[str, Any]:
        """Every item as a plain dict."""
        return dict(self)
