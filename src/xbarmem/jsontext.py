"""Strict JSON for everything xbarmem writes: plain values only, non-finite floats as null."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch


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
