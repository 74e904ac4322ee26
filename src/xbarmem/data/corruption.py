"""Seeded corruption of recall cues.

Every function takes ``x`` of shape ``(B, N)`` (torch tensor, numpy array or nested list of
floats; images flattened row-major), never modifies it, and returns a new float32 torch tensor
of the same shape on the same device. Randomness comes only from the ``generator`` argument
(a ``torch.Generator``, an int seed, or ``None`` meaning seed 0), so results are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from xbarmem.checks import (
    as_written,
    cannot_call,
    check_flag,
    check_image_shape,
    check_tensor,
    checked_keywords,
    finite,
    is_number,
    numeric_array,
    shown,
)
from xbarmem.errors import PatternError
from xbarmem.names import (
    CORRUPTION_METHODS,
    LEVEL_BOUNDS,
    LEVEL_WORDS,
    closest_corruption,
    corruption_key,
    corruption_words,
    own_name_problem,
)
from xbarmem.seeds import GeneratorLike, as_generator

__all__ = [
    "CORRUPTION_METHODS",
    "as_generator",
    "check_corruption",
    "corrupt",
    "corruption_name",
    "describe_corruption",
    "flip_bits",
    "gaussian_noise",
    "occlude_block",
    "salt_and_pepper",
]


def _as_float_tensor(x: Any) -> torch.Tensor:
    """A float32 copy of ``x`` (never a view of the caller's data)."""
    if isinstance(x, torch.Tensor):
        return check_tensor(x, "cues", error=PatternError).detach().to(torch.float32, copy=True)
    arr = numeric_array(x, "cues", "a (B, N) matrix of real numbers", error=PatternError)
    return torch.tensor(arr, dtype=torch.float32)


def _check_level(name: str, value: float, upper: float | None = 1.0) -> float:
    """``value`` as a float (a numpy float32 or float16 number as written:
    :func:`~xbarmem.checks.as_written`): a real number (:func:`~xbarmem.checks.is_number`: not
    a bool, a text such as ``"0.1"`` or a tensor) in [0, ``upper``] (None: finite); else
    :class:`PatternError` naming ``name``."""
    if not is_number(value):
        raise PatternError(f"{name} must be a number, got {shown(value)}")
    # (an int too large for a float: refused; a numpy float32 number: as written)
    v = float(as_written(value)) if finite(value) else math.nan
    if math.isnan(v) or v < 0.0 or (upper is not None and v > upper) or math.isinf(v):
        rng = ("in [0, 1]" if upper == 1.0 else ">= 0 and finite" if upper is None
               else f"in [0, {upper:.3g}] (the largest float32)")
        raise PatternError(f"{name} must be {rng}, got {shown(value)}")
    return v


#: the largest Gaussian noise sigma: the noise is drawn in float32, where a larger sigma is inf
_LARGEST_SIGMA = LEVEL_BOUNDS["gaussian"]
#: the largest float32 number: an occluded cell's ``fill`` beyond it cannot be written
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def corruption_name(method: Any) -> str:
    """How a custom corruption (a function) is named in records and labels: its
    ``__name__`` (a ``functools.partial``: its function's), else its type's name."""
    fn = getattr(method, "func", method)
    return str(getattr(fn, "__name__", type(fn).__name__))


def check_corruption(method: Any, level: float) -> Any:
    """Refuse (:class:`PatternError`) what :func:`corrupt` would: an unknown method, or a
    level that is not a number in [0, 1] (Gaussian sigma: >= 0 and finite in float32; a custom
    corruption's level: >= 0 and finite), a custom corruption whose name
    (:func:`corruption_name`) is a built-in one's (``flip``, ``Gaussian``: its records would
    rebuild the built-in; :func:`~xbarmem.names.own_name_problem`). Returns the method's
    canonical name (``"salt_pepper"`` -> ``"salt-pepper"``), or a custom corruption (a
    function ``f(x, level, generator)``, see :func:`corrupt`) itself."""
    if callable(method):
        name = corruption_name(method)
        problem = own_name_problem(name, CORRUPTION_METHODS, "corruption")
        if problem is not None:
            raise PatternError(f"corruption {name}: {problem}")
        _check_level(f"level (of corruption {name})", level, upper=None)
        _check_signature(method)
        return method
    key = corruption_key(method)
    if key is None:
        hint = closest_corruption(method)
        custom = (f" (if {method!r} names a corruption function of yours, as a result or "
                  f"Protocol.as_dict() records it: pass the function itself)"
                  if not hint and _recorded_name(method) else "")
        raise PatternError(f"unknown corruption method {shown(method)}: expected one of "
                           f"{', '.join(CORRUPTION_METHODS)}, or a function f(x, level, "
                           f"generator){custom}{hint}")
    _check_level(f"level ({LEVEL_WORDS[key]})", level, upper=LEVEL_BOUNDS[key])
    return key


def _recorded_name(method: Any) -> bool:
    """Whether ``method`` is text a custom corruption could be recorded as
    (:func:`corruption_name`: a function's ``__name__``, e.g. ``noisy_block``, ``<lambda>``)."""
    return (isinstance(method, str) and corruption_key(method) is None
            and method.strip() == method and method.replace("<lambda>", "x").isidentifier())


def _check_signature(method: Any) -> None:
    """:class:`PatternError` naming a custom corruption that cannot be called as
    ``f(x, level, generator)`` (:func:`~xbarmem.checks.cannot_call`)."""
    why = cannot_call(method, None, None, None)
    if why is not None:
        raise PatternError(f"corruption {corruption_name(method)} must be a function "
                           f"f(x, level, generator); it cannot be called so ({why})")


def describe_corruption(method: Any, level: float) -> str:
    """A short label of a corruption for titles: ``"5% flips"``, ``"Gaussian noise sigma =
    0.6"``, ``"30% occluded"``, ``"5% salt-and-pepper"``; a custom corruption -- a function,
    or the name a result recorded for one (:meth:`~xbarmem.evaluation.evaluate.Protocol.
    as_dict`) -- as ``"noisy_block 0.25"``."""
    if _recorded_name(method):
        _check_level(f"level (of corruption {method})", level, upper=None)
        return f"{method} {level:g}"
    key = check_corruption(method, level)
    if callable(key):
        return f"{corruption_name(key)} {level:g}"
    return corruption_words(key, level)


def _uniform(like: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Uniform [0, 1) draws of ``like``'s shape, made on the generator's device."""
    return torch.rand(like.shape, generator=gen, device=gen.device,
                      dtype=torch.float32).to(like.device)


@checked_keywords
def flip_bits(x: Any, rate: float, generator: GeneratorLike = None) -> torch.Tensor:
    """Negate each entry independently with probability ``rate`` in [0, 1].

    ``x``: patterns of any shape (numpy array, torch tensor or nested lists; usually
    ``(B, N)`` of +-1); returns a new float32 tensor of the same shape. ``generator``: a seed
    (integer >= 0) or a ``torch.Generator``; None (the default) is seed 0, so calls without
    one flip the same entries (torch's global generator is never drawn from). Raises
    :class:`PatternError` for a rate outside [0, 1] or non-numeric ``x``,
    :class:`~xbarmem.errors.ConfigError` for a bad seed."""
    rate = _check_level("flip rate", rate)
    out = _as_float_tensor(x)
    mask = _uniform(out, as_generator(generator, "generator")) < rate
    return torch.where(mask, -out, out)


@checked_keywords
def gaussian_noise(
    x: Any, sigma: float, generator: GeneratorLike = None, clip: bool = True
) -> torch.Tensor:
    """Add iid N(0, sigma**2) noise (``sigma >= 0``); clip the result to [-1, 1] if ``clip``.
    ``x`` and ``generator`` as in :func:`flip_bits`; returns a new float32 tensor of ``x``'s
    shape. Raises :class:`PatternError` for a bad ``sigma`` or ``x``,
    :class:`~xbarmem.errors.ConfigError` for a bad seed."""
    sigma = _check_level("noise sigma", sigma, upper=_LARGEST_SIGMA)
    clip = check_flag(clip, "clip", error=PatternError)
    out = _as_float_tensor(x)
    gen = as_generator(generator, "generator")
    out = out + sigma * torch.randn(out.shape, generator=gen, device=gen.device,
                                    dtype=torch.float32).to(out.device)
    return out.clamp_(-1.0, 1.0) if clip else out


@checked_keywords
def occlude_block(
    x: Any,
    image_shape: tuple[int, int],
    fraction: float,
    generator: GeneratorLike = None,
    fill: float = -1.0,
) -> torch.Tensor:
    """Set one axis-aligned block covering about ``fraction`` of each ``(h, w)`` image to
    ``fill``: ``fraction * h * w`` cells to within half the image's shorter side (none below
    half a cell), as many for the image turned by 90 degrees. The block has the image's
    aspect ratio as far as whole cells allow; its position is uniform per pattern
    (drawn from ``generator``, as in :func:`flip_bits`). ``x`` must be ``(B, h*w)`` for
    ``image_shape`` ``(h, w)``; returns a new float32 ``(B, h*w)`` tensor. Raises
    :class:`PatternError` for a bad ``x``, ``image_shape`` or ``fraction`` (outside [0, 1]),
    :class:`~xbarmem.errors.ConfigError` for a bad seed."""
    fraction = _check_level("occlusion fraction", fraction)
    out = _as_float_tensor(x)
    h, w = check_image_shape(image_shape, error=PatternError)
    if not is_number(fill) or not math.isfinite(fill) or abs(float(fill)) > _FLOAT32_MAX:
        raise PatternError(f"fill must be a finite number (in float32's range: the cues are "
                           f"float32), got {shown(fill)}")
    if out.ndim != 2 or out.shape[1] != h * w:
        raise PatternError(
            f"occlusion needs cues of shape (B, {h * w}) for image_shape ({h}, {w}), "
            f"got {tuple(out.shape)}"
        )
    area = fraction * (h * w)
    if area < 0.5:
        return out
    # the shorter side scaled by sqrt(fraction), the longer one giving the area (a strip one
    # cell wide: round(area) cells, whichever way it lies); the shorter side grows where the
    # longer one would not hold it
    short, long = sorted((h, w))
    bs = min(short, max(1, round(short * math.sqrt(fraction))))
    if round(area / bs) > long:
        bs = min(short, math.ceil(area / long))
    bl = min(long, max(1, round(area / bs)))
    bh, bw = (bs, bl) if h <= w else (bl, bs)
    gen = as_generator(generator, "generator")
    b = out.shape[0]
    top = torch.randint(0, h - bh + 1, (b, 1), generator=gen, device=gen.device).to(out.device)
    left = torch.randint(0, w - bw + 1, (b, 1), generator=gen, device=gen.device).to(out.device)
    rows = torch.arange(h, device=out.device)
    cols = torch.arange(w, device=out.device)
    in_rows = (rows >= top) & (rows < top + bh)  # (B, h)
    in_cols = (cols >= left) & (cols < left + bw)  # (B, w)
    mask = (in_rows[:, :, None] & in_cols[:, None, :]).reshape(b, h * w)
    return out.masked_fill_(mask, float(fill))


@checked_keywords
def salt_and_pepper(x: Any, rate: float, generator: GeneratorLike = None) -> torch.Tensor:
    """With probability ``rate`` replace each entry by +1 or -1 (50/50). ``x``, ``generator``,
    the result and the errors are those of :func:`flip_bits`."""
    rate = _check_level("salt-and-pepper rate", rate)
    out = _as_float_tensor(x)
    gen = as_generator(generator, "generator")
    hit = _uniform(out, gen) < rate
    value = torch.where(_uniform(out, gen) < 0.5, 1.0, -1.0)
    return torch.where(hit, value, out)


def _custom(method: Any, x: torch.Tensor, level: float, gen: torch.Generator) -> torch.Tensor:
    """A custom corruption's result, checked against its contract (see :func:`corrupt`)."""
    out = method(x.clone(), level, gen)
    need = (f"corruption {corruption_name(method)}(x, level, generator) must return a torch "
            f"tensor of x's shape {tuple(x.shape)}")
    if not isinstance(out, torch.Tensor):
        raise PatternError(f"{need}, got {type(out).__name__}")
    if out.device.type != "cpu" or out.dtype == torch.bool or out.is_complex():
        raise PatternError(f"{need} of real numbers on the CPU, got a {out.dtype} tensor on "
                           f"{out.device}")
    out = check_tensor(out, need, error=PatternError)  # (sparse, quantized: as dense values)
    if out.shape != x.shape:
        raise PatternError(f"{need}, got {tuple(out.shape)}")
    if not bool(torch.isfinite(out).all()):
        raise PatternError(f"{need} of finite numbers, got NaN or infinite values")
    return out.to(torch.float32)


@checked_keywords
def corrupt(
    x: Any,
    method: str | Callable[[torch.Tensor, float, torch.Generator], torch.Tensor],
    level: float,
    generator: GeneratorLike = None,
    image_shape: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Corrupt ``x`` by the corruption ``method`` named: ``"flip"`` (``level`` is the rate),
    ``"gaussian"`` (sigma), ``"occlude"`` (fraction; ``image_shape`` defaults to square
    images) or ``"salt-pepper"`` (rate); ``x`` and ``generator`` as in :func:`flip_bits`.
    Unknown names and out-of-range levels raise :class:`PatternError`, a bad seed
    :class:`~xbarmem.errors.ConfigError`.

    ``method`` may also be a custom corruption: a function ``f(x, level, generator)`` as
    :func:`flip_bits` (``x`` a float32 ``(B, N)`` tensor it may change, ``level`` a number
    >= 0, ``generator`` a ``torch.Generator`` for all its randomness) returning the corrupted
    ``(B, N)`` tensor; :class:`PatternError` names the function when it returns anything else
    (another type or shape, NaN or infinite values)."""
    key = check_corruption(method, level)
    if callable(key):
        return _custom(key, _as_float_tensor(x), level, as_generator(generator, "generator"))
    if key == "flip":
        return flip_bits(x, level, generator)
    if key == "gaussian":
        return gaussian_noise(x, level, generator)
    if key == "salt-pepper":
        return salt_and_pepper(x, level, generator)
    if image_shape is not None:
        check_image_shape(image_shape, error=PatternError)
    if image_shape is None:  # occlude
        n = int(_as_float_tensor(x).shape[-1])
        side = math.isqrt(n)
        if side * side != n:
            raise PatternError(f"occlude needs the images' shape: N={n} is not a square "
                               f"number of neurons; load the patterns from a (P, h, w) array "
                               f"of images, which keeps their shape (Python: "
                               f"image_shape=(h, w))")
        image_shape = (side, side)
    return occlude_block(x, image_shape, level, generator)
