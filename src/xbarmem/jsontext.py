"""Strict JSON for everything xbarmem writes: plain values only, non-finite floats as null.

The declared rule: a non-finite float (NaN, +-inf) is written as ``null`` -- never as the bare
``NaN``/``Infinity`` tokens that strict parsers reject -- and :func:`loads` reads such tokens
(written by older versions) back as ``None`` too, so no non-finite number enters through JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch

from xbarmem.files import parse_text


def plain(obj: Any) -> Any:
    """``obj`` as plain JSON values: dict keys as text, tuples as lists, numpy/torch arrays and
    scalars as lists/numbers, NaN and +-inf as ``None``. Raises ``TypeError`` for anything
    else that JSON cannot hold."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, (np.ndarray, torch.Tensor, np.generic)):
        return plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any, **options: Any) -> str:
    """Strict JSON text of :func:`plain` ``(obj)`` (``json.dumps`` options pass through)."""
    return json.dumps(plain(obj), allow_nan=False, **options)


def _no_constant(token: str) -> None:
    return None


def loads(text: str | bytes) -> Any:
    """Parse JSON text; bare ``NaN``/``Infinity``/``-Infinity`` read as ``None`` (the rule of
    :func:`dumps`). Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not
    JSON, or nested too deeply (:func:`~xbarmem.files.parse_text`)."""
    return parse_text(json.loads, text, parse_constant=_no_constant)
