"""Tests for xbarmem.data.corruption: statistics, reproducibility and immutability of inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.data.corruption import (
    CORRUPTION_METHODS,
    as_generator,
    corrupt,
    flip_bits,
    gaussian_noise,
    occlude_block,
    salt_and_pepper,
)
from xbarmem.errors import ConfigError, PatternError


def _pm1(b: int, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (b, n), generator=g).float() * 2 - 1


def test_as_generator() -> None:
    g = torch.Generator().manual_seed(5)
    assert as_generator(g) is g
    a = torch.rand(4, generator=as_generator(7))
    b = torch.rand(4, generator=as_generator(7))
    assert torch.equal(a, b)
    assert torch.equal(
        torch.rand(3, generator=as_generator(None)), torch.rand(3, generator=as_generator(0))
    )
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        as_generator("seed")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_flip_fraction_matches_rate(rate: float, seed: int) -> None:
    x = _pm1(100, 1000)
    y = flip_bits(x, rate, seed)
    frac = (y != x).float().mean().item()
    assert abs(frac - rate) < 0.01  # std <= 0.0016 at 1e5 entries
    assert torch.equal(y.abs(), x.abs())  # only signs change


def test_flip_extremes_and_band_at_fixed_seed() -> None:
    x = _pm1(20, 500)
    assert torch.equal(flip_bits(x, 0.0, 1), x)
    assert torch.equal(flip_bits(x, 1.0, 1), -x)
    frac = (flip_bits(x, 0.2, 123) != x).float().mean().item()
    assert 0.19 < frac < 0.21


def test_seeds_reproduce_and_differ() -> None:
    x = _pm1(8, 64)
    for method, level in [("flip", 0.3), ("gaussian", 0.5), ("occlude", 0.3), ("salt-pepper", 0.4)]:
        a = corrupt(x, method, level, 11)
        b = corrupt(x, method, level, 11)
        c = corrupt(x, method, level, 12)
        assert torch.equal(a, b), method
        assert not torch.equal(a, c), method
        assert torch.equal(corrupt(x, method, level, None), corrupt(x, method, level, 0))


def test_shared_generator_advances() -> None:
    x = _pm1(4, 64)
    g = torch.Generator().manual_seed(3)
    assert not torch.equal(flip_bits(x, 0.5, g), flip_bits(x, 0.5, g))


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(CORRUPTION_METHODS),
    level=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
    as_numpy=st.booleans(),
)
def test_corruption_never_mutates_input(
    method: str, level: float, seed: int, as_numpy: bool
) -> None:
    base = _pm1(5, 36, seed) * 0.75
    x = base.numpy().copy() if as_numpy else base.clone()
    out = corrupt(x, method, level, seed, image_shape=(6, 6))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out.shape == (5, 36)
    assert torch.equal(torch.as_tensor(x), base)
    out.fill_(9.0)  # the result does not alias the input either
    assert torch.equal(torch.as_tensor(x), base)


def test_gaussian_noise() -> None:
    x = torch.zeros(200, 500)
    assert torch.equal(gaussian_noise(x, 0.0, 0), x)
    raw = gaussian_noise(x, 0.3, 0, clip=False)
    assert abs(raw.std().item() - 0.3) < 0.01 and abs(raw.mean().item()) < 0.01
    clipped = gaussian_noise(torch.ones(50, 50), 2.0, 0)
    assert clipped.min() >= -1 and clipped.max() <= 1
    assert (clipped == 1.0).float().mean() > 0.4  # half the noise pushes beyond +1


def test_occlude_block_is_one_rectangle_of_requested_area() -> None:
    x = torch.ones(30, 64)
    y = occlude_block(x, (8, 8), 0.25, 4)
    for row in y.reshape(30, 8, 8):
        hit = (row == -1.0).nonzero()
        r0, c0 = hit.min(dim=0).values.tolist()
        r1, c1 = hit.max(dim=0).values.tolist()
        assert (r1 - r0 + 1, c1 - c0 + 1) == (4, 4)
        assert len(hit) == 16  # the bounding box is completely filled
    corners = {tuple((r == -1).nonzero().min(dim=0).values.tolist()) for r in y.reshape(30, 8, 8)}
    assert len(corners) > 5  # position varies per pattern

    for frac in (0.1, 0.5, 0.9):  # the default fill is -1: the occluded share is all -1
        covered = (occlude_block(torch.ones(3, 560), (28, 20), frac, 0) == -1).float().mean()
        assert abs(covered.item() - frac) < 0.05
    assert torch.equal(occlude_block(x, (8, 8), 0.0, 0), x)
    assert torch.equal(occlude_block(x, (8, 8), 1.0, 0), torch.full_like(x, -1.0))
    filled = occlude_block(-x, (8, 8), 0.5, 0, fill=0.0)
    assert (filled == 0).sum() > 0
    with pytest.raises(PatternError, match="image_shape"):
        occlude_block(x, (7, 7), 0.2, 0)


def test_salt_and_pepper() -> None:
    x = torch.zeros(100, 1000)
    y = salt_and_pepper(x, 0.3, 5)
    hit = y != 0
    assert abs(hit.float().mean().item() - 0.3) < 0.01
    assert set(y[hit].unique().tolist()) == {-1.0, 1.0}
    assert abs((y[hit] > 0).float().mean().item() - 0.5) < 0.02
    assert torch.equal(salt_and_pepper(x, 0.0, 5), x)


def test_corrupt_dispatch_matches_functions() -> None:
    x = _pm1(6, 49)
    assert torch.equal(corrupt(x, "flip", 0.2, 1), flip_bits(x, 0.2, 1))
    assert torch.equal(corrupt(x, "gaussian", 0.2, 1), gaussian_noise(x, 0.2, 1))
    assert torch.equal(corrupt(x, "salt_pepper", 0.2, 1), salt_and_pepper(x, 0.2, 1))
    # occlude infers a square image when image_shape is omitted
    assert torch.equal(corrupt(x, "occlude", 0.2, 1), occlude_block(x, (7, 7), 0.2, 1))
    assert corrupt(np.ones((2, 5), dtype=np.int64), "flip", 1.0, 0).tolist() == [[-1.0] * 5] * 2


@pytest.mark.parametrize(
    ("method", "level", "words"),
    [
        ("blur", 0.1, ["blur", "flip", "gaussian"]),
        ("flip", 1.5, ["flip rate", "1.5"]),
        ("flip", -0.1, ["flip rate"]),
        ("flip", float("nan"), ["flip rate", "nan"]),
        ("salt-pepper", 2.0, ["salt-and-pepper"]),
        ("gaussian", -1.0, ["sigma"]),
        ("gaussian", float("inf"), ["sigma"]),
        ("gaussian", 1e39, ["sigma", "float32", "1e+39"]),  # inf once drawn in float32
        ("occlude", 1.2, ["occlusion"]),
    ],
)
def test_corrupt_rejects_bad_method_or_level(method: str, level: float, words: list[str]) -> None:
    with pytest.raises(PatternError) as info:
        corrupt(torch.ones(2, 16), method, level, 0)
    for word in words:
        assert word in str(info.value)


def test_the_largest_gaussian_sigma_gives_finite_cues() -> None:
    sigma = float(torch.finfo(torch.float32).max)
    cues = corrupt(torch.ones(4, 64), "gaussian", sigma, 0)
    assert torch.isfinite(cues).all() and cues.abs().max() <= 1.0


def test_the_torch_free_level_bounds_are_what_corrupting_refuses() -> None:
    """Sweeps check levels against :data:`~xbarmem.names.LEVEL_BOUNDS` without torch; each
    bound is the largest level :func:`corrupt` takes (float32's largest for Gaussian)."""
    from xbarmem.names import LEVEL_BOUNDS

    assert LEVEL_BOUNDS["gaussian"] == float(torch.finfo(torch.float32).max)
    for method, upper in LEVEL_BOUNDS.items():
        corrupt(torch.ones(2, 16), method, upper, 0)
        with pytest.raises(PatternError):
            corrupt(torch.ones(2, 16), method, np.nextafter(upper, np.inf), 0)


def test_occlude_needs_shape_for_non_square() -> None:
    with pytest.raises(PatternError, match="image_shape"):
        corrupt(torch.ones(2, 10), "occlude", 0.2, 0)


@pytest.mark.parametrize(("name", "closest"), [
    ("salt_and_pepper", "salt-pepper"), ("gaussian_noise", "gaussian"), ("flip_bits", "flip"),
    ("occlude_block", "occlude"), ("flips", "flip"), ("saltpepper", "salt-pepper")])
def test_a_corruption_named_after_its_function_or_misspelt_is_named_back(name, closest):
    """``Protocol(corruption="salt_and_pepper")`` (the name of ``xm.salt_and_pepper``) was told
    "give the function salt_and_pepper itself again", as if it were a custom corruption read
    back from a result; so was every typo."""
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.names import default_cues

    for refuse in (lambda: corrupt(_pm1(2, 8), name, 0.1),
                   lambda: Protocol(corruption=name, level=0.1),
                   lambda: default_cues("binary", name)):  # the command line's reader
        with pytest.raises(PatternError, match=rf"^unknown corruption method '{name}': expected "
                           rf"one of flip, .*; did you mean '{closest}'\?$") as caught:
            refuse()
        assert "of yours" not in str(caught.value)
    with pytest.raises(PatternError, match=r"\(if 'blur' names a corruption function of yours, "
                       r"as a result or Protocol.as_dict\(\) records it: pass the function "
                       r"itself\)$"):
        corrupt(_pm1(2, 8), "blur", 0.1)


def test_occlusion_of_images_without_a_shape_says_how_to_give_one(run_cli, tmp_path) -> None:
    """``evaluate --corruption occlude`` of a model of N = 12 said "occlude needs image_shape",
    an argument the command line has no option for; the message says to give the patterns as
    a ``(P, h, w)`` array, whose shape a model keeps, and so occludes them."""
    rng = np.random.default_rng(0)
    images = np.where(rng.random((4, 3, 4)) < 0.5, -1.0, 1.0)
    np.save(tmp_path / "flat.npy", images.reshape(4, 12))
    np.save(tmp_path / "images.npy", images)
    for name in ("flat", "images"):
        code, _, err = run_cli("train", "--data", tmp_path / f"{name}.npy", "--rule", "pinv",
                               "--chip", "ideal", "-o", tmp_path / f"{name}.safetensors")
        assert code == 0, err
    args = ("--corruption", "occlude", "--level", "0.5", "--probes", "2")
    code, _, err = run_cli("evaluate", tmp_path / "flat.safetensors", *args)
    assert code == 2 and err.count("\n") == 1, err
    assert "N=12 is not a square number of neurons" in err and "(P, h, w) array" in err, err
    code, out, err = run_cli("evaluate", tmp_path / "images.safetensors", *args)
    assert code == 0 and "occlude 0.5" in out, err
