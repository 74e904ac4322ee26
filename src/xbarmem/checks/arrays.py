"""Checks of array arguments (patterns, cues, conductances): a tensor, a numpy array or nested
lists of numbers read as numbers (:func:`numeric_array`, :func:`as_real_array`), refused in one
line when they are not; :func:`tensor_of` converts without torch's warning about read-only
arrays; :func:`listed` reads a list of numbers as written.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from xbarmem.errors import ConfigError, XbarmemError

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    import numpy as np
    import torch

from xbarmem.checks.kinds import _NARROW_FLOATS, _shortest, as_written
from xbarmem.checks.words import shown, shown_typed

#: the type hint of a numeric array argument (patterns, cues): what :func:`check_tensor` and
#: :func:`as_real_array` read -- a tensor, a numpy array (``PatternSet.patterns``) or nested
#: lists of numbers
ArrayLike: TypeAlias = "torch.Tensor | np.ndarray | Sequence[Any]"


def check_tensor(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> Any:
    """``value`` unless it is a torch tensor no computation can read: one on the ``meta``
    device (it holds no data) or of a complex dtype; ``error`` naming ``name`` then. Every
    other tensor comes back as one that numpy and every operator read: a sparse, quantized or
    MKL-DNN tensor as its dense values, a ``bfloat16`` or ``float8`` one (no numpy dtype) as
    float32 (which holds each of its values exactly), a view with torch's negative bit set
    (``z.conj().imag``, which ``.numpy()`` refuses) as its values. Callers read the returned
    value, also of a tensor a user's code returns (a rule's ``fit``, a corruption, a chip
    backend). Torch is never imported here (a tensor is recognised by its attributes)."""
    if type(value).__module__.startswith("torch") and hasattr(value, "is_complex"):
        if getattr(value, "is_meta", False):
            raise error(f"{name} must hold data, got a tensor on the meta device")
        if value.is_complex():
            raise error(f"{name} must be real numbers, got a complex tensor ({value.dtype})")
        if getattr(value, "is_quantized", False):
            value = value.dequantize()
        if str(value.layout) != "torch.strided":  # sparse COO / CSR / ..., MKL-DNN
            from xbarmem.limits import array_bytes, check_bytes

            check_bytes(f"{name}: a sparse tensor of shape {tuple(value.shape)} made dense",
                        array_bytes(*value.shape, itemsize=value.element_size()))
            value = value.to_dense()
        if str(value.dtype) == "torch.bfloat16" or str(value.dtype).startswith("torch.float8"):
            value = value.float()
        if value.is_neg():  # (a lazy negation: numpy cannot read it)
            value = value.resolve_neg()
    return value


def not_numbers(value: Any, name: str, what: str, *,
                error: type[XbarmemError] = ConfigError) -> XbarmemError:
    """The error for ``value`` given as ``name`` that holds no real numbers (``None``, a text, a
    dict, a memory, ragged lists): ``{name} must be {what}, got {shown(value)}`` -- the value named
    by what it is, never by numpy's reading of it (``dtype object``) or Python's (``float() argument
    must be ...``), an ``error`` (the class given). (A :class:`~xbarmem.data.patterns.PatternSet`
    holds numbers: numpy reads its matrix.)"""
    return error(f"{name} must be {what}, got {shown(value)}")


def numeric_array(value: Any, name: str, what: str, *,
                  error: type[XbarmemError] = ConfigError) -> Any:
    """``value`` (not a tensor: nested lists, a numpy array) as a numpy array of bools or
    real numbers, its own dtype; :func:`not_numbers` (``{name} must be {what}``) when numpy
    cannot read it (ragged lists) or it holds no numbers (None, texts, objects, a
    PatternSet); ``error`` naming ``name`` for complex numbers (their imaginary parts would
    be dropped)."""
    import numpy as np  # numpy only when an array is read

    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged lists
        arr = None
    if arr is None or (arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number)):
        raise not_numbers(value, name, what, error=error)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise error(f"{name} must be real numbers, got complex numbers ({arr.dtype})")
    return arr


def listed(value: Any, name: str, *, error: type[XbarmemError] = ConfigError) -> Any:
    """The one reading of an argument ``value`` that lists values (sizes, thresholds, rules): a
    list, tuple or ``range``, or a 1-D numpy array, torch tensor (any device, with or without
    ``requires_grad``; :func:`check_tensor`) or other 1-D array with ``tolist`` (a pandas Series),
    as a Python list of its items -- an array's as Python numbers or texts (``np.arange``,
    ``np.linspace``, ``torch.tensor([...])`` as a grid search makes them; a float16 or float32
    value, an array's or a numpy number listed, as the shortest decimal its type reads as it).
    Anything else (one number, a text, a set, a 2-D array, None) comes back unchanged for the
    caller's own check to refuse naming ``name``; a tensor no computation can read raises ``error``
    naming it."""
    if isinstance(value, list | tuple | range):  # (numpy float16/float32 items as arrays')
        return [as_written(v) for v in value]
    if (not isinstance(value, str | bytes) and getattr(value, "ndim", None) == 1
            and callable(getattr(value, "tolist", None))):
        value = check_tensor(value, name, error=error)
        narrow = _NARROW_FLOATS.get(str(value.dtype).removeprefix("torch."))
        items = value.tolist()
        return items if narrow is None else [_shortest(v, narrow) for v in items]
    return value


def tensor_of(value: Any, dtype: Any = None) -> torch.Tensor:
    """``torch.as_tensor(value, dtype=dtype)`` without torch's "The given NumPy array is not
    writable" ``UserWarning``: a read-only numpy array (a
    :class:`~xbarmem.data.patterns.PatternSet`'s patterns or labels, a row of them, or a
    user's) is copied into a tensor of its own (torch has no read-only tensors); anything else
    -- a writable array, whose memory the tensor shares, a tensor, nested lists -- is read as
    ``torch.as_tensor`` reads it. The one conversion of arrays that may be read-only."""
    import torch  # torch only when a tensor is made

    flags = getattr(value, "flags", None)
    if flags is not None and not isinstance(value, torch.Tensor) and not flags.writeable:
        return torch.tensor(value, dtype=dtype)  # (one copy, no warning)
    return torch.as_tensor(value, dtype=dtype)


def as_real_array(value: Any, name: str, *, error: type[XbarmemError] = ConfigError,
                  dtype: str | None = "float64", copy: bool = True) -> Any:
    """The one reader of a user's array of numbers (weights, biases, conductance maps, indices):
    ``value`` (a numpy array, nested lists, or a torch tensor on any device, with or without
    ``requires_grad``) as a numpy array of ``dtype`` (None: its own, bool or numeric), always a new
    array, never a view of the caller's: an object that keeps what it read (a ``FloatMatrix``, a
    crossbar's restored conductances) is not changed by the caller's later writes to their array or
    tensor (``copy=False``: the caller's own array where it already has ``dtype``, for a reader that
    only derives other arrays from it and keeps none of it -- a measured map's readings -- so that
    no copy adds to its peak). Raises ``error`` naming ``name`` for a meta or complex tensor
    (:func:`check_tensor`), a ragged or non-numeric value (``None``, text, objects) or complex
    numbers."""
    import numpy as np  # numpy only when an array is read

    value = check_tensor(value, name, error=error)
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested lists
        raise not_numbers(value, name, "an array of real numbers", error=error) from None
    if (arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number)) or np.issubdtype(
            arr.dtype, np.complexfloating):
        raise error(f"{name} must be an array of real numbers, got {shown_typed(value)}")
    if not copy:
        return arr if dtype is None else arr.astype(dtype, copy=False)
    return np.array(arr, dtype=dtype, copy=True)  # (dtype None: its own)


def check_image_shape(value: Any, name: str = "image_shape", *,
                      error: type[XbarmemError] = ConfigError) -> tuple[int, int]:
    """The one rule for an image shape: ``value`` a pair ``(h, w)`` of integers >= 1 (a list, tuple
    or 1-D array of two integers); returned as a tuple of Python ints, else ``error`` naming
    ``name``."""
    items = listed(value, name, error=error)
    if (not isinstance(items, list) or len(items) != 2 or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in items)):
        raise error(f"{name} must be a pair (h, w) of integers >= 1, got {shown(value)}")
    return int(items[0]), int(items[1])
