"""Extensions written from outside the package (docs/extending.md, docs/backends.md) whose
broken answers passed the contract checks: float64 weights finite as float64 but not as the
float32 they are programmed as, and chip products in another unit than weight units."""

import warnings

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, DriverBackend, SimulatedChip, layers_of
from xbarmem.deploy.chip_loop import adapt
from xbarmem.errors import ConfigError, PatternError

P = xm.random_patterns(4, 16, seed=0)


class Scaled:
    """A rule returning the pseudo-inverse rule's weights, as ``dtype`` times ``factor``."""

    name, bias = "scaled", False

    def __init__(self, factor, dtype=torch.float64, field="weights"):
        self.factor, self.dtype, self.field = factor, dtype, field

    def options(self, layers=1, kind="binary"):
        return {}

    def fit(self, problem, progress=None):
        result = xm.get_rule("pinv").fit(problem)
        if self.field == "weights":
            result.weights = [(w.to(self.dtype) * self.factor) for w in result.weights]
        return result


class BiasScaled(Scaled):
    """The same with a bias row, the biases scaled."""

    bias = True

    def fit(self, problem, progress=None):
        result = super().fit(problem)
        t, n = problem.networks, problem.patterns.shape[-1]
        result.biases = [torch.full((t, n), self.factor, dtype=self.dtype)]
        return result


@pytest.mark.parametrize("rule", [Scaled(1e300), Scaled(-1e300), Scaled(1e39),
                                  BiasScaled(1e300, field="biases")],
                         ids=["huge", "huge-negative", "just-past-float32", "biases"])
@pytest.mark.parametrize("call", ["train", "compare_rules", "adapt"])
def test_float64_weights_past_float32_are_refused_naming_the_rule(rule, call):
    """They passed the finite check as float64 and became inf as float32: ``PatternError:
    weights contain NaN or inf`` from inside the crossbar, naming no rule."""
    with pytest.raises(ConfigError, match=r"rule 'scaled'.*finite float32 numbers"):
        if call == "train":
            xm.train(P, chip="rram", rule=rule)
        elif call == "compare_rules":
            xm.compare_rules(P, "rram", [rule, "pinv"], trials=1)
        else:
            memory = xm.train(P, chip="rram", rule="pinv")
            adapt(memory, [SimulatedChip.like(layer) for layer in layers_of(memory)], P,
                  rounds=1, trainer=rule)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.int64])
def test_weights_within_float32_of_any_dtype_still_train(dtype):
    """What worked before still does: float64, float16 and integer weights are programmed."""
    memory = xm.train(P, chip="ideal", rule=Scaled(1.0 if dtype != torch.int64 else 2.0, dtype))
    assert memory.info["rule"] == "scaled"


class Unit(SimulatedChip):
    """The simulated chip with products multiplied by ``factor`` (another unit)."""

    def __init__(self, crossbar, factor):
        super().__init__(crossbar)
        self.factor = factor

    def matvec(self, x, generator=None):
        return super().matvec(x, generator) * self.factor

    def read_outputs(self, x, outputs, generator=None):
        return super().read_outputs(x, outputs, generator) * self.factor


def _per_ampere(layer):
    dev = layer.chip.device
    return layer.chip.array.read_voltage * dev.g_range / layer.w_max


@pytest.mark.parametrize("unit, scale", [("microamperes", 1e6), ("nanoamperes", 1e9),
                                         ("picoamperes", 1e12), (None, 1e6)])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_products_in_another_unit_are_refused_naming_it(unit, scale, mode):
    """A backend whose ``matvec`` / ``read_outputs`` answered column currents in an
    instrument's unit (or weights times 1e6) was scored as if in weight units: sign recall
    does not see the scale, ``tanh`` recall and the docs' 'one of another unit is refused'
    did. Now it is refused, naming the backend, the method and the unit it fits."""
    memory = xm.train(P, chip="rram", rule="pinv")
    layer = layers_of(memory)[0]
    factor = scale * (_per_ampere(layer) if unit else 1.0)
    chip = BackendMemory(memory, [Unit(SimulatedChip.like(layer).crossbar, factor)])
    chip.program_targets()
    method = "matvec" if mode == "sync" else "read_outputs"
    match = rf"backend 0 \(Unit\): {method}\(x.*in weight units, got values up to" + (
        f".*column currents in {unit}" if unit else "")
    with pytest.raises(ConfigError, match=match):
        xm.evaluate_memory(chip, P, xm.Protocol(mode=mode, level=0.1))


@pytest.mark.parametrize("chip", ["rram", "ideal", xm.load_preset("rram").with_faults(0.3)])
@pytest.mark.parametrize("read_noise", [0.0, 150e-6, 3e-3])
def test_products_in_weight_units_pass_with_any_read_noise(chip, read_noise):
    """Simulated chips, faulty ones and ones whose reads are mostly noise (wider than the
    window: warned) are scored as before; products in amperes (smaller) are let through."""
    memory = xm.train(P, chip=chip, rule="pinv")
    layer = layers_of(memory)[0]
    with warnings.catch_warnings():  # noise wider than the window is warned about
        warnings.simplefilter("ignore")
        noisy = memory.chip.replace_device(read_noise=read_noise)
    backends = [SimulatedChip.like(layer, chip=noisy),
                Unit(SimulatedChip.like(layer).crossbar, _per_ampere(layer))]
    for backend in backends:
        bm = BackendMemory(memory, [backend])
        bm.program_targets()
        for mode in ("sync", "async"):
            score = xm.evaluate_memory(bm, P, xm.Protocol(mode=mode, level=0.2, probes=20))
            assert np.isfinite(score.cosine)


class Arrays:
    """An ArrayDriver of exact conductances whose ``apply`` sets ``bad`` at columns ``where``
    (a slice) of every current it returns."""

    def __init__(self, memory, bad, where):
        spec = memory.chip.array
        self.g = np.full((memory.faults.n_arrays, 2, spec.rows, spec.cols),
                         memory.chip.device.g_min)
        self.bad, self.where = bad, where

    def write(self, array, targets):
        self.g[array] = np.where(np.isnan(targets), self.g[array], targets)

    def read(self, array):
        return self.g[array].copy()

    def apply(self, array, voltages):
        currents = np.einsum("br,prc->bpc", voltages, self.g[array])
        currents[:, :, self.where] = self.bad
        return currents


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_driver_answering_nan_currents_is_named(bad):
    """``driver.apply`` returning NaN or infinite currents at columns the layer senses was
    refused as ``backend 0 (DriverBackend): matvec(x) must return ... NaN`` (its wrapper's
    method, not the driver's); now ``driver.apply(0)`` is named, as for its shape and unit.
    Columns the layer does not sense may still hold NaN."""
    memory = xm.train(P, chip="rram", rule="pinv")
    layers = layers_of(memory)
    if np.isnan(bad):  # (infinite currents anywhere are more than the rows can carry)
        unsensed = DriverBackend(Arrays(memory, bad, slice(16, None)), layers[0])
        chip = BackendMemory(memory, [unsensed])
        chip.program_targets()
        assert np.isfinite(xm.evaluate_memory(chip, P).cosine)
    chip = BackendMemory(memory, [DriverBackend(Arrays(memory, bad, slice(3, 4)), layers[0])])
    chip.program_targets()
    with pytest.raises(PatternError, match=r"^driver\.apply\(0\) returned \d+ NaN or infinite "
                       r"currents in the columns the layer senses"):
        xm.evaluate_memory(chip, P)
