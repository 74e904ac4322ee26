"""Strict JSON for everything xbarmem writes: plain values only, non-finite floats as null.

The declared rule: a non-finite float (NaN, +-inf) is written as ``null`` -- never as the bare
``NaN``/``Infinity`` tokens that strict parsers reject -- and :func:`loads` reads such tokens
(written by older versions) back as ``None`` too, so no non-finite number enters through JSON.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import numpy as np

from xbarmem.files import parse_text


def plain(obj: Any) -> Any:
    """``obj`` as plain JSON values: dict keys as text, tuples as lists, numpy/torch arrays and
    scalars as lists/numbers, NaN and +-inf as ``None``. Raises ``TypeError`` for anything
    else that JSON cannot hold."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    torch = sys.modules.get("torch")  # (a tensor exists only once torch is imported)
    if isinstance(obj, (np.ndarray, np.generic)) or (
            torch is not None and isinstance(obj, torch.Tensor)):
        return plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def non_finite_at(value: Any, path: str) -> str | None:
    """Where in ``value`` (dicts, lists, tuples, numbers, numpy / torch arrays and scalars;
    named ``path``) the first NaN or infinite number is, as a path of its keys and indices
    (``result.points[2].cosine``), or None: what :func:`plain` would write as ``null``."""
    todo = [(value, path)]
    while todo:
        item, where = todo.pop()
        if hasattr(item, "tolist") and not isinstance(item, str | bytes):
            item = item.tolist()  # (an array as lists, a 0-d one or a scalar as its number)
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            todo.extend((v, f"{where}.{k}") for k, v in reversed(item.items()))
        elif isinstance(item, list | tuple):
            todo.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item))))
    return None


def dumps(obj: Any, **options: Any) -> str:
    """Strict JSON text of :func:`plain` ``(obj)`` (``json.dumps`` options pass through)."""
    return json.dumps(plain(obj), allow_nan=False, **options)


#: a lone surrogate (U+D800..U+DFFF, never a character): Python keeps a byte of a file name
#: that is not text in the file system's encoding as one (U+DC80..U+DCFF, ``surrogateescape``)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_text(match: re.Match[str]) -> str:
    """A lone surrogate as the text that shows it: ``\\xNN`` for a file name's byte ``NN``
    (as the terminal shows it and as ``os.fsencode(name).decode("utf-8", "backslashreplace")``
    writes it), ``\\uNNNN`` for any other."""
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def shown_text(text: str) -> str:
    """``text`` with every lone surrogate written as the text that shows it (a file name's
    byte ``NN`` as ``\\xNN``, :func:`_as_text`): text every font, encoder and terminal takes."""
    return _SURROGATE.sub(_as_text, text)


def _texts(obj: Any) -> Any:
    """A :func:`plain` ``obj`` with every string (keys too) written by :func:`_as_text`."""
    if isinstance(obj, str):
        return _SURROGATE.sub(_as_text, obj)
    if isinstance(obj, dict):
        return {_texts(k): _texts(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_texts(v) for v in obj]
    return obj


def output_text(obj: Any, **options: Any) -> str:
    """:func:`dumps` of what a command prints (``--json``) or writes as its results for other
    programs to read, as UTF-8 text that every strict JSON parser accepts: a name that is not
    valid text in the file system's encoding (a file ``b"m\\xff.npy"`` on Linux, which Python
    holds with the lone surrogate U+DCFF) is written with each such byte as the four
    characters ``\\xNN`` (``"m\\\\xff.npy"`` in the JSON text), as the terminal shows it;
    ``dumps`` wrote the escape ``"\\udcff"``, which strict parsers and UTF-8 encoders refuse.
    Any other text is written as by :func:`dumps`."""
    text = dumps(obj, **options)
    if "\\ud" not in text:  # (no surrogate escape, which is all but always: written as is)
        return text
    return json.dumps(_texts(plain(obj)), allow_nan=False, **options)


def _no_constant(token: str) -> None:
    return None


def loads(text: str | bytes) -> Any:
    """Parse JSON text; bare ``NaN``/``Infinity``/``-Infinity`` read as ``None`` (the rule of
    :func:`dumps`). Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not
    JSON, or nested too deeply (:func:`~xbarmem.files.parse_text`)."""
    return parse_text(json.loads, text, parse_constant=_no_constant)
