"""What a value is, whatever type it came in: a bool (numpy's too), a finite number, a number
(not a bool), a text that reads as one; a float32 / float16 number as it was written
(:func:`as_written`: ``0.05``, not ``0.05000000074505806``) and a numpy scalar as the Python
number it holds (:func:`plain_scalar`).
"""

from __future__ import annotations

import math
import numbers
import re
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the hint below names them; numpy and torch load only when needed
    pass


def is_bool(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy bool (which is no number and no name here)."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy"
                                       and type(value).__name__ in ("bool", "bool_"))


def finite(value: Any) -> bool:
    """Whether the real number ``value`` is finite as a float: NaN, the infinities and integers
    too large for a float (JSON, TOML and Python hold any; ``math.isfinite`` raises
    ``OverflowError`` on them, as ``float()`` does) are not."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number: a Python or numpy int or float (``np.int64(3)``,
    ``np.float32(0.1)``); bools, texts (``"0.1"``), tensors and other objects are not."""
    return isinstance(value, numbers.Real) and not is_bool(value)


def reads_as_number(text: str) -> bool:
    """Whether ``float(text)`` reads ``text`` (``"1e3"``, ``" 3.0"``, ``"nan"``; not ``""``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


#: a number written in digits (``1e-400``, ``.5``, ``-2.``, ``1_000.5``): not ``inf`` / ``nan``
_DIGITS = re.compile(r"\s*[+-]?(?P<mantissa>\d[\d_]*\.?[\d_]*|\.\d[\d_]*)"
                     r"(?:[eE][+-]?\d[\d_]*)?\s*")


def lost_number(text: str) -> str | None:
    """Why the number written ``text`` in digits does not survive as a float (64-bit), or None
    when it does: beyond the largest finite float (``1e400`` reads as infinity), or too
    small for any but 0 while its digits are not all 0 (``1e-400`` reads as 0). None too
    for a text that is not a number written in digits (``inf``, ``nan``, a name): their
    readers refuse or take those themselves. The one check of numbers read from text:
    command-line options, ``--where`` values, and every JSON / TOML text
    (:func:`~xbarmem.files.parse_text`)."""
    match = _DIGITS.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    try:
        value = float(text)
    except ValueError:  # (underscores where float() takes none)
        return None
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        return (f"{text.strip()} is beyond the finite numbers a float holds (it reads as "
                f"{sign}infinity)")
    if value == 0.0 and match["mantissa"].strip("0._"):
        return (f"{text.strip()} is too small for a float to hold (it reads as 0); write 0 "
                f"if 0 is meant")
    return None


def plain_scalar(value: Any) -> Any:
    """``value`` as a Python scalar when it is a numpy one (a scalar read out of an array:
    ``np.int64(3)``, ``np.float32(0.05)``, ``np.bool_(True)``): its ``bool``, ``int``, or
    float as written (:func:`as_written`: ``0.05``), so that what a public function records
    (settings, keys, JSON) holds plain numbers; anything else (arrays, Python numbers, texts)
    is the same object. What :func:`checked_keywords` applies to every argument."""
    kind = type(value)
    if kind.__module__ != "numpy" or kind.__name__ == "ndarray":
        return value
    if kind.__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(as_written(value))
    return value


#: struct codes of the float types narrower than Python's, by dtype name
_NARROW_FLOATS = {"float16": "e", "float32": "f"}


def as_written(value: Any) -> Any:
    """``value`` as the user wrote it: a numpy float16 or float32 number (``np.float32(0.05)``)
    as the Python float of the shortest decimal its type reads as the same number (``0.05``,
    not ``0.05000000074505806``, what the type holds, widened; :func:`_shortest`); anything
    else -- a Python or numpy int, a Python float, a float64, a bool, a text, an array --
    unchanged (the same object). The one rule of every single number a user gives (the spec
    rule :class:`~xbarmem.spec.Number`, a corruption's level, ``tol``) and of every number
    :func:`listed` reads, so that results, records and keys say what was written."""
    code = _NARROW_FLOATS.get(str(getattr(value, "dtype", "")))
    return _shortest(float(value), code) if code and isinstance(value, numbers.Real) else value


def _shortest(value: float, code: str) -> float:
    """``value`` (read from a float of struct ``code``, ``"e"`` float16 or ``"f"`` float32) as
    the shortest decimal that type reads as the same number: a float32 ``0.9`` is ``0.9``, not
    ``0.8999999761581421`` (what the type holds, widened)."""
    if not math.isfinite(value):
        return value
    held = struct.pack(code, value)
    for digits in range(1, 18):
        decimal = float(f"{value:.{digits}g}")
        try:
            if struct.pack(code, decimal) == held:
                return decimal
        except OverflowError:  # rounded past the type's largest value
            continue
    return value
