"""Shared pieces of the command-line interface: the Typer apps, consoles and JSON output.

Command modules (``cli.py``, ``cli_*.py``) import from here; ``cli.py`` imports every command
module so that their commands register on :data:`app`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch
import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Hardware-adaptive associative memories on simulated memristor crossbars.")
chip_app = typer.Typer(no_args_is_help=True, help="Chip presets and fault maps.")
app.add_typer(chip_app, name="chip")
console = Console(stderr=True)
out = Console()


def _emit_json(data: Any) -> None:
    # strict JSON: non-finite floats (e.g. the NaN loss of classic rules) become null
    typer.echo(json.dumps(_finite(data), indent=2, allow_nan=False))


def _finite(obj: Any) -> Any:
    """``obj`` with numpy/torch values made plain and NaN/inf floats replaced by None."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (np.ndarray, torch.Tensor, np.generic)):
        return _finite(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
