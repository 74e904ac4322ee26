"""What results types share: equality by value (:func:`value_equality`, :func:`same_value`:
arrays and NaN compared as values), a short ``repr`` (:func:`result_repr`) and a dict that shows
as one (:class:`ResultDict`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass

from xbarmem.checks.words import brief

C = TypeVar("C", bound=type)


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same value: tensors and numpy arrays of one type,
    shape and dtype with equal entries (NaN matching NaN, as for a copy), lists, tuples and
    dicts of such values item by item, anything else by ``==``."""
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
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)


def value_equality(cls: C) -> C:
    """Class decorator for a dataclass holding tensors or arrays: ``==`` compares every field
    with :func:`same_value` (the generated ``==`` raised torch's "Boolean value of Tensor with
    more than one value is ambiguous"); instances are unhashable, as mutable values are; the
    repr is one short line (:func:`brief_repr`)."""
    import dataclasses

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(same_value(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(cls))

    __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
    cls.__eq__ = __eq__  # type: ignore[assignment]
    cls.__hash__ = None  # type: ignore[assignment]
    return brief_repr(cls)


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
    :meth:`as_dict` gives the items as a plain dict."""

    def shown(self) -> dict[str, Any]:
        """The fields the one-line repr shows (default: none)."""
        return {}

    def __repr__(self) -> str:
        return result_repr(type(self).__name__, self.shown())

    def as_dict(self) -> dict[str, Any]:
        """Every item as a plain dict."""
        return dict(self)
