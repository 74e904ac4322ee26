"""Saved tensors of a memory (a model file's or an export's), checked before they are set on
its layers: conductances finite, near the chip window and agreeing with the layer's fault map
and chip (:func:`set_saved_conductances`, :mod:`~xbarmem.memory.device_state`),
target weights and biases float, finite and of the layer's shapes (:func:`saved_targets`), and
a saved ``w_max`` that is the one the targets were programmed with (:func:`check_target_gain`).
Problems are :class:`~xbarmem.errors.ConfigError` naming the tensor; used by
:mod:`xbarmem.memory.io` and :mod:`xbarmem.deploy.reload`.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch

from xbarmem.checks import counted
from xbarmem.errors import ConfigError
from xbarmem.hardware.faults import WINDOW_SLACK, highest_reading
from xbarmem.memory.base import Memory
from xbarmem.memory.device_state import Naming, check_device_state, naming_of, place_of


def check_target_gain(memory: Memory, naming: Any = None) -> None:
    """A saved ``w_max`` (a model file's, an export's) is the one the memory's target weights
    were programmed with (:meth:`~xbarmem.hardware.crossbar.Crossbar.target_w_max`: the chip's
    ``array.weight_range`` under the ``device`` fault model, the largest free target weight
    under ``weight``); another (an edited chip or file) was refused by ``export`` and
    ``adapt`` only; ``ConfigError`` naming both values. A memory whose ``info["variation"]``
    records a :func:`~xbarmem.memory.variation.reprogram` (give ``memory.info`` first) is held
    to that programming replayed (:func:`_check_replayed`), its conductances named as
    ``naming(k)`` (a :class:`~xbarmem.memory.device_state.Naming` for layer ``k``) says when
    given (an export's), as a model file's tensors otherwise."""
    from xbarmem.memory.variation import replayed

    twin = replayed(memory)
    if twin is not None:
        _check_replayed(memory, twin, naming)
        return
    if memory.targets is None:
        return
    chip = memory.chip
    for k, (layer, (w, b)) in enumerate(zip(memory.layers, memory.targets, strict=True)):
        want = layer.target_w_max(layer.augment(w, b))
        if not np.isclose(layer.w_max, want, rtol=1e-6):
            if chip.array.fault_model == "device":
                found, rule = f"chip.array.weight_range {want:g}", "weight_range"
            else:
                found, rule = f"{want:g}, the largest |target weight| of its free pairs", \
                    "that weight"
            raise ConfigError(f"{_which(memory, k)} {layer.w_max:g} contradicts {found}: under "
                              f"the {chip.array.fault_model} fault model the target weights are "
                              f"programmed with w_max = {rule}")


def _which(memory: Memory, k: int) -> str:
    return f"w_max[{k}]" if len(memory.layers) > 1 else "w_max"


def _check_replayed(memory: Memory, twin: Memory, naming: Any = None) -> None:
    """``memory``'s ``w_max`` and conductances are, to the bit, those of ``twin`` (its
    recorded reprogramming replayed): an edited ``w_max``, conductance or ``info.variation``
    is a :class:`ConfigError` naming the value and the record."""
    record = memory.info["variation"]
    replay = (f"reprogramming its target weights with info.variation (variation "
              f"{record['variation']:g}, seed {record['seed']}) gives")
    for k, (layer, again) in enumerate(zip(memory.layers, twin.layers, strict=True)):
        if layer.w_max != again.w_max:
            raise ConfigError(f"{_which(memory, k)} {layer.w_max!r} contradicts "
                              f"{again.w_max!r}, the w_max {replay}")
        named = Naming("" if len(memory.layers) == 1 else f"layer{k}.") if naming is None \
            else naming(k)
        for p, (name, g, want) in enumerate(zip(("g_pos", "g_neg"), layer.planes(),
                                                again.planes(), strict=True)):
            _refuse_any(g != want, (layer, p, name, named), f"other than {replay}", g, ".6g",
                        want)


def _refuse_any(bad: np.ndarray, tensor: tuple[Any, int, str, Naming], what: str,
                g: np.ndarray, digits: str, want: np.ndarray | None = None) -> None:
    """``ConfigError`` "tensor T: K conductances WHAT, e.g. G S [for WANT S] at [i, j]" (the
    first of them, row-major; ``digits`` formats the siemens) when any of ``bad`` (a boolean
    matrix of ``g``'s shape) is set; ``tensor``: the layer, plane, tensor name and the
    :class:`~xbarmem.memory.device_state.Naming` of the message (an export's names the device
    on the chip)."""
    if bad.any():
        layer, p, name, naming = tensor
        i, j = (int(v) for v in np.argwhere(bad)[0])
        wanted = "" if want is None else f" for {want[i, j]:{digits}} S"
        raise ConfigError(f"{naming.head(name)}{counted(int(bad.sum()), 'conductance')} "
                          f"{what}, e.g. {g[i, j]:{digits}} S{wanted} at "
                          f"{naming.at((i, j), place_of(layer, (p, i, j)))}")


def set_saved_conductances(layer, g_pos: np.ndarray, g_neg: np.ndarray, w_max: Any,
                           prefix: str | Naming = "") -> None:
    """Set ``layer`` to saved conductances (a model file's or an export's) after checking them
    (:func:`_check_conductances`, then against the layer's fault map and chip:
    :func:`~xbarmem.memory.device_state.check_device_state`); ``ConfigError`` naming
    ``prefix + "g_pos"`` etc. otherwise (an export's file and device on the chip, for a
    :class:`~xbarmem.memory.device_state.Naming` ``prefix``)."""
    _check_conductances(layer, (g_pos, g_neg), prefix)
    check_device_state(layer, g_pos, g_neg, prefix)
    layer.set_conductances(g_pos, g_neg, w_max)


def saved_targets(layer, weights: np.ndarray, bias: np.ndarray | None, prefix: str = ""
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The target weights and bias saved for ``layer`` as tensors, after checking them: float,
    of shape ``(n_out, n_in)`` and ``(n_out,)`` (a bias only for a layer with one), finite;
    ``ConfigError`` naming ``prefix + "target_weights"`` etc. otherwise."""
    expected = {"target_weights": (layer.n_out, layer.n_in),
                "target_bias": (layer.n_out,) if layer.has_bias else None}
    out: list[torch.Tensor | None] = []
    for name, a in (("target_weights", weights), ("target_bias", bias)):
        if a is None:
            out.append(None)
            continue
        a = np.asarray(a)
        shape = expected[name]
        if a.dtype.kind != "f" or a.shape != shape:
            want = "none (the layer has no bias)" if shape is None else \
                "float of shape " + "x".join(map(str, shape))
            raise ConfigError(f"tensor {prefix + name!r} is {a.dtype} {list(a.shape)}, "
                              f"expected {want}")
        out.append(torch.as_tensor(_finite(a, prefix + name)))
    return cast(torch.Tensor, out[0]), out[1]  # the weights are never None


def _finite(a: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(a).all():
        raise ConfigError(f"tensor {name!r} holds NaN or infinite values")
    return a


def _check_conductances(layer, planes: tuple[np.ndarray, np.ndarray],
                        prefix: str | Naming) -> None:
    """Saved conductances (siemens): finite and in ``[0, g_max + WINDOW_SLACK window
    widths]``, the rule of fault maps (read-back values, e.g. of an adapted model, may lie a
    little outside the programmable window)."""
    dev = layer.chip.device
    high = highest_reading(dev)
    naming = naming_of(prefix)
    for p, (g, name) in enumerate(zip(planes, ("g_pos", "g_neg"), strict=True)):
        if not np.isfinite(g).all():
            raise ConfigError(f"{naming.head(name)[:-2]} holds NaN or infinite values")
        _refuse_any((g < 0) | (g > high), (layer, p, name, naming),
                    f"outside [0, {high:.4g}] S (the chip window [{dev.g_min:.4g}, "
                    f"{dev.g_max:.4g}] S plus {WINDOW_SLACK:g} window width)", g, ".4g")
