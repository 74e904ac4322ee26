"""The extension contracts (docs/extending.md) fuzzed with tables of bad objects: what a rule's
``options()`` and the summaries of its ``FitResult`` hold, and every call of the chip-backend
contract (sizes, ``program``'s count, ``read_back``'s dtype and values, the products' dtype,
device and autograd). Each was accepted silently, or met an error from deep inside (a
RuntimeError, a TypeError at ``save_memory``, a FileFormatError about a fault map)."""

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, SimulatedChip, layers_of
from xbarmem.deploy.chip_loop import adapt
from xbarmem.errors import ConfigError

P = xm.random_patterns(4, 16, seed=0)
CHIP = xm.load_preset("rram")


class Options:
    """A rule object (the pseudo-inverse rule) whose ``options()`` and ``fit`` result are
    changed by ``options`` / ``change(result)``."""

    name, bias = "mine", False

    def __init__(self, options=None, change=None):
        self._options, self._change = options, change

    def options(self, layers=1, kind="binary"):
        return {} if self._options is None else self._options

    def fit(self, problem, progress=None):
        result = xm.get_rule("pinv").fit(problem)
        for key, value in (self._change or {}).items():
            setattr(result, key, value)
        return result


@pytest.mark.parametrize(("options", "match"), [
    ([1, 2], r", got list$"),
    ("lr=1", r", got str$"),
    ({"a": {1}}, r": not JSON serialisable: set$"),
    ({"a": object()}, r": not JSON serialisable: object$"),
], ids=["list", "text", "set", "object"])
def test_options_that_are_not_a_dict_of_json_are_refused_before_training(options, match):
    """(A list trained, then ``save_memory`` wrote a file its own reader refused; a set met
    ``TypeError: not JSON serialisable`` in ``save_memory``.)"""
    memory = xm.SingleLayerMemory(16, CHIP, bias=False)
    with pytest.raises(ConfigError, match=r"^rule 'mine': options\(layers, kind\) must return "
                                          r"a dict of JSON data" + match):
        xm.fit_memories(Options(options), P.patterns, [memory])
    assert memory.targets is None


def test_options_json_can_hold_are_kept_in_the_model_file(tmp_path):
    """Arrays, tensors and NaN are JSON data by the rule of every file xbarmem writes."""
    memory = xm.train(P, chip=CHIP, rule=Options({"w": torch.ones(2), "tol": float("nan")}))
    loaded = xm.load_memory(xm.save_memory(memory, tmp_path / "m.safetensors"))
    assert loaded.info["rule_options"] == {"w": [1.0, 1.0], "tol": None}


@pytest.mark.parametrize(("change", "match"), [
    ({"steps": torch.tensor([-1])}, r"steps of shape \(1,\) \(whole numbers >= 0\), got \[-1\]$"),
    ({"steps": torch.tensor([1.5])}, r"steps of shape \(1,\) \(whole numbers >= 0\), got a "
                                     r"torch.float32 tensor$"),
    ({"converged": torch.tensor([0.5])}, r"converged of shape \(1,\) \(bool\), got a "
                                         r"torch.float32 tensor$"),
    ({"converged": torch.tensor([1])}, r"converged .* \(bool\), got a torch.int64 tensor$"),
    ({"fixed_points": torch.tensor([0.5])}, r"fixed_points .* \(bool\), got a torch.float32"),
    ({"loss": torch.tensor([3])}, r"loss of shape \(1,\) \(floating-point numbers\), got a "
                                  r"torch.int64 tensor$"),
    ({"loss": torch.tensor([True])}, r"loss .* \(floating-point numbers\), got a torch.bool"),
    ({"loss": torch.tensor([1 + 1j])}, r"loss .* got a torch.complex64 tensor$"),
    ({"biases": [torch.ones(1, 16)]}, r"biases None or zeros \(its memories have no bias row: "
                                      r"problem.bias is False\), got non-zero biases$"),
], ids=["steps-negative", "steps-float", "converged-half", "converged-int", "fixed-half",
        "loss-int", "loss-bool", "loss-complex", "biases-dropped"])
def test_a_fit_results_summaries_are_checked(change, match):
    """(Each was recorded in ``memory.info`` as something else -- ``steps`` -1 or 1,
    ``converged`` True, ``loss`` 3.0 -- biases without a bias row were dropped, a complex
    loss met ``RuntimeError: value cannot be converted to type double``.)"""
    memory = xm.SingleLayerMemory(16, CHIP, bias=False)
    with pytest.raises(ConfigError, match=r"^rule 'mine': fit\(problem\) must return " + match):
        xm.fit_memories(Options(change=change), P.patterns, [memory])
    assert memory.targets is None


def test_zero_biases_without_bias_rows_and_any_float_loss_are_taken():
    change = {"biases": [torch.zeros(1, 16)], "loss": torch.tensor([0.5], dtype=torch.float64),
              "steps": torch.tensor([3], dtype=torch.int32)}
    memory = xm.train(P, chip=CHIP, rule=Options(change=change))
    assert (memory.info["loss"], memory.info["steps"], memory.info["converged"]) == (0.5, 3, True)


# ---------------------------------------------------------------------------- chip backends
class _Changed(SimulatedChip):
    """A simulated chip whose every call's result goes through ``change[method](self, out)``."""

    change: dict = {}

    def _out(self, method, out):
        return self.change.get(method, lambda be, value: value)(self, out)

    def program(self, targets):
        return self._out("program", super().program(targets))

    def read_back(self):
        return self._out("read_back", super().read_back())

    def matvec(self, x, generator=None):
        return self._out("matvec", super().matvec(x, generator))

    def read_outputs(self, x, outputs, generator=None):
        return self._out("read_outputs", super().read_outputs(x, outputs, generator))


def _backend(memory, **change):
    be = _Changed.like(layers_of(memory)[0])
    be.change = {k: v for k, v in change.items() if k not in ("n_in", "n_out")}
    for key in ("n_in", "n_out"):
        if key in change:
            setattr(be, key, change[key])
    return be


@pytest.mark.parametrize(("sizes", "match"), [
    ({"n_in": 16.0}, r"^backend 0 \(_Changed\): n_in and n_out must be integers, got 16.0 and "
                     r"16$"),
    ({"n_out": "16"}, r"^backend 0 \(_Changed\): n_in and n_out must be integers, got 16 and '16'"),
    ({"n_in": True}, r"n_in and n_out must be integers, got True and 16$"),
    ({"n_out": 15}, r"^backend 0 is 15x16 but layer 0 is 16x16$"),
], ids=["float", "text", "bool", "other-size"])
def test_a_backends_sizes_are_integers_of_its_layer(small_memory, sizes, match):
    """(16.0 and '16' were taken: 16.0 == 16, and '16' passed through the shape checks.)"""
    _, memory = small_memory
    with pytest.raises(ConfigError, match=match):
        BackendMemory(memory, [_backend(memory, **sizes)])
    assert BackendMemory(memory, [_backend(memory, n_in=np.int64(16))]).n_neurons == 16


class _Hardware(SimulatedChip):
    """A backend for hardware, written as if the noise generator could be left out."""

    def matvec(self, x):  # type: ignore[override]
        return super().matvec(x)


class _Keywords(SimulatedChip):
    def read_outputs(self, x, outputs, *, generator=None):  # type: ignore[override]
        return super().read_outputs(x, outputs, generator)


class _Arrayed(SimulatedChip):
    def read_back(self, array):  # type: ignore[override]
        return super().read_back()


@pytest.mark.parametrize(("cls", "match"), [
    (_Hardware, r"its matvec cannot be called as matvec\(x, generator\) \(too many positional "
                r"arguments\); a ChipBackend has n_in, n_out, program\(targets\), read_back\(\), "
                r"matvec\(x, generator=None\), read_outputs\(x, outputs, generator=None\)$"),
    (_Keywords, r"its read_outputs cannot be called as read_outputs\(x, outputs, generator\)"),
    (_Arrayed, r"its read_back cannot be called as read_back\(\) \(missing a required argument: "
               r"'array'\)"),
], ids=["matvec-without-generator", "generator-keyword-only", "read-back-with-argument"])
def test_a_backend_method_xbarmem_cannot_call_is_named_before_any_call(small_memory, cls, match):
    """(A ``matvec(self, x)`` -- 'hardware ignores the generator' -- met ``TypeError: matvec()
    takes 2 positional arguments but 3 were given`` in the first recall, after programming.)"""
    pset, memory = small_memory
    with pytest.raises(ConfigError, match=r"^backend 0 \(" + cls.__name__ + r"\): " + match):
        BackendMemory(memory, [cls.like(layers_of(memory)[0])])
    with pytest.raises(ConfigError, match=match):
        adapt(memory, [cls.like(layers_of(memory)[0])], pset, rounds=0)


def _raise(error):
    def change(be, value):
        raise error
    return change


@pytest.mark.parametrize(("change", "match"), [
    ({"program": lambda be, n: None}, r"program\(targets\) must return the number of devices "
                                      r"written \(an integer >= 0\), got None$"),
    ({"program": lambda be, n: -n}, r"program\(targets\) .* got -\d+$"),
    ({"program": lambda be, n: n / 2}, r"program\(targets\) .* got \d+\.0$"),
    ({"program": lambda be, n: True}, r"program\(targets\) .* got True$"),
    ({"read_back": lambda be, g: g.astype(int)}, r"read_back\(\): integers \(int64\) cannot "
                                                 r"hold conductances in siemens: give float32 "
                                                 r"or float64 conductances in siemens$"),
    ({"read_back": lambda be, g: g.astype(np.float16)}, r"read_back\(\): float16 keeps 3 "
                                                        r"significant digits"),
    ({"read_back": lambda be, g: g.astype(object)}, r"read_back\(\): values of dtype object, "
                                                    r"not conductances"),
    ({"read_back": lambda be, g: g.astype(str)}, r"read_back\(\): values of dtype <U\d+, not "
                                                 r"conductances"),
    ({"read_back": lambda be, g: None}, r"read_back\(\) must be an array of real numbers, "
                                        r"got None$"),
    ({"read_back": lambda be, g: np.where(be.crossbar.stuck, np.nan, g)},
     r"got NaN or infinite values at \d+ devices? \(every device needs its reading, stuck "
     r"ones too\)$"),
    ({"read_back": lambda be, g: g.transpose(0, 2, 1)}, r"in siemens, got shape \(2, 17, 16\)$"),
    ({"read_back": lambda be, g: -g}, r"read_back\(\): device \(G\+, output 0, input row 0\) "
                                      r"reads -.* S \(\d+ readings below 0 S and none above "
                                      r"it: no offset is taken"),
    ({"read_back": lambda be, g: g * 1e6}, r"far above the chip window .* S, and \d+% fit it as "
                                           r"microsiemens \(uS\) \(multiply by 1e-06\)"),
    ({"read_back": lambda be, g: 1 / g}, r"far above the chip window .* S, and \d+% fit it as ohms "
                                         r"\(conductance = 1 / resistance\)"),
    ({"read_back": lambda be, g: g * 3}, r"got .* to .*, far above the chip window "
                                         r"\[2e-06, 0.00015\] S$"),
    ({"read_back": lambda be, g: g[::-1].copy()},
     r"read_back\(\) readings fall as the conductances programmed rise \(rank correlation "
     r"-0.\d+ over \d+ devices\) and follow those of the other plane: G\+ and G- swapped\? "
     r"plane 0 of read_back\(\) is G\+, plane 1 G-, as in program\(targets\)$"),
    ({"read_back": lambda be, g: 152e-6 - g}, r"readings fall as the conductances programmed "
                                               r"rise .*: G\+ and G- swapped, or resistances\? "
                                               r"read_back\(\) must return conductances in "
                                               r"siemens \(1 / ohm\)"),
], ids=["program-none", "program-negative", "program-float", "program-bool", "read-int",
        "read-float16", "read-object", "read-text", "read-none", "read-nan-stuck",
        "read-transposed", "read-negative", "read-microsiemens", "read-ohms", "read-tripled",
        "read-planes-swapped", "read-inverted"])
def test_what_a_backend_returns_to_adaptation_is_checked(small_memory, change, match):
    """(Every one of these was taken: text and objects converted by numpy, integer siemens all
    0, negative readings met ``FileFormatError: fault map conductances must be ...``; ohms and
    a tripled reading were called microsiemens; swapped planes and readings falling as their
    targets rise inside the window were taken and adaptation pinned most devices at the wrong
    values.)"""
    pset, memory = small_memory
    be = _backend(memory, **change)
    assert be.crossbar.stuck.any()  # the NaN case puts its NaN on stuck devices
    with pytest.raises(ConfigError, match=r"^backend 0 \(_Changed\): " + ".*" + match):
        adapt(memory, [be], pset, rounds=0)


@pytest.mark.parametrize("change", [
    {"program": lambda be, n: np.int64(n)},
    {"read_back": lambda be, g: g.astype(np.float32)},
    {"read_back": lambda be, g: torch.as_tensor(g)},
    {"read_back": lambda be, g: g.tolist()},
], ids=["program-numpy-int", "read-float32", "read-tensor", "read-list"])
def test_what_a_backend_may_return_to_adaptation(small_memory, change):
    pset, memory = small_memory
    plain = adapt(memory, [_backend(memory)], pset, rounds=0).rounds[0]
    changed = adapt(memory, [_backend(memory, **change)], pset, rounds=0).rounds[0]
    assert changed["written"] == plain["written"] > 0
    assert changed["newly_fixed"] == pytest.approx(plain["newly_fixed"], abs=2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_chip_mostly_stuck_is_no_swapped_read_back(small_memory, seed):
    """Devices pinned at a rail in one round read there in the next, far from the targets
    they were first sent: the read-back check judges the devices the last ``program`` call
    wrote, so a chip whose devices are 90% stuck (unknown to the model), written with a
    large error, runs every round
    (judged against every target ever sent, such chips were refused as 'G+ and G- swapped')."""
    pset, memory = small_memory
    extra = xm.FaultMap.generate(CHIP.with_faults(0.9), memory.faults.n_arrays, seed=seed)
    known = memory.faults.g_stuck
    truth = xm.FaultMap(np.where(np.isnan(known), extra.g_stuck, known))
    noisy = memory.chip.replace_device(write_noise=40e-6)
    chip = SimulatedChip.like(layers_of(memory)[0], chip=noisy, faults=truth, seed=seed)
    result = adapt(memory, [chip], pset, rounds=3, target=2)
    assert len(result.rounds) == 4


@pytest.mark.parametrize(("method", "out", "match"), [
    ("matvec", lambda y: y > 0, r"\(real numbers on the CPU\), got a torch.bool tensor on cpu$"),
    ("matvec", lambda y: y.to(torch.complex64), r"got a torch.complex64 tensor on cpu$"),
    ("matvec", lambda y: y.to("meta"), r"got a torch.float32 tensor on meta$"),
    ("matvec", lambda y: y.numpy(), r"got ndarray$"),
    ("matvec", lambda y: y.T, r"got \(16, 3\)$"),
    ("read_outputs", lambda y: y[:-1], r"got \(2,\)$"),
    ("read_outputs", lambda y: y[:, None], r"got \(3, 1\)$"),
    ("read_outputs", lambda y: y > 0, r"got a torch.bool tensor on cpu$"),
    ("matvec", lambda y: y.round().long(), r"\(floating-point numbers\), got a torch.int64 "
                                          r"tensor: integers, such as an ADC's codes, are not "
                                          r"weight units$"),
    ("read_outputs", lambda y: (100 * y).to(torch.int32), r"got a torch.int32 tensor: "
                                                          r"integers, such as an ADC's codes"),
], ids=["bool", "complex", "meta", "numpy", "transposed", "short", "2-d", "outputs-bool",
        "int-rounded", "outputs-int-codes"])
def test_a_backends_products_are_checked(small_memory, method, out, match):
    """(A meta tensor met ``RuntimeError: Tensor.item() cannot be called on meta tensors``, a
    bool product was recalled from.)"""
    pset, memory = small_memory
    be = _backend(memory, **{method: lambda be, y: out(y)})
    mode = "sync" if method == "matvec" else "async"
    name = "matvec\\(x\\)" if method == "matvec" else "read_outputs\\(x, outputs\\)"
    with pytest.raises(ConfigError, match=rf"^backend 0 \(_Changed\): {name} must return a "
                                          r"torch tensor of shape .* in weight units.*" + match):
        BackendMemory(memory, [be]).recall(torch.tensor(pset.patterns), mode=mode)


@pytest.mark.parametrize("out", [
    lambda y: y.double(), lambda y: y.requires_grad_(), lambda y: y.double().requires_grad_(),
], ids=["float64", "requires-grad", "both"])
@pytest.mark.parametrize("method", ["matvec", "read_outputs"])
def test_products_in_float64_or_tracked_by_autograd_are_read_as_float32(small_memory, out,
                                                                         method):
    pset, memory = small_memory
    cues = torch.tensor(pset.patterns)
    mode = "sync" if method == "matvec" else "async"
    plain = BackendMemory(memory, [_backend(memory)]).recall(cues, mode=mode)
    changed = BackendMemory(memory, [_backend(memory, **{method: lambda be, y: out(y)})])
    got = changed.recall(cues, mode=mode)
    assert torch.equal(got.states, plain.states)
    assert got.states.dtype == torch.float32 and not got.states.requires_grad


class _DriverFault(Exception):
    """What a user's driver raises."""


@pytest.mark.parametrize("error", [_DriverFault("array 3 offline"), ValueError("bad volts"),
                                   ConfigError("the driver's own")],
                         ids=["own", "value-error", "config-error"])
@pytest.mark.parametrize("method", ["program", "read_back", "matvec", "read_outputs"])
def test_an_error_a_backend_raises_goes_through_unchanged(small_memory, method, error):
    pset, memory = small_memory
    be = _backend(memory, **{method: _raise(error)})
    with pytest.raises(type(error)) as raised:
        if method in ("matvec", "read_outputs"):
            mode = "sync" if method == "matvec" else "async"
            BackendMemory(memory, [be]).recall(torch.tensor(pset.patterns), mode=mode)
        else:
            adapt(memory, [be], pset, rounds=0)
    assert raised.value is error and raised.value.__cause__ is None


def test_adaptation_refuses_a_trainers_options_before_it_programs(small_memory):
    pset, memory = small_memory
    trainer = Options([1])
    trainer.bias = memory.has_bias
    be = _backend(memory, program=_raise(AssertionError("programmed")))
    with pytest.raises(ConfigError, match=r"^rule 'mine': options\(layers, kind\) must return "
                                          r"a dict of JSON data, got list$"):
        adapt(memory, [be], pset, rounds=1, trainer=trainer)


def test_a_backend_reading_back_its_layer_transposed_is_refused(small_memory):
    """A layer without a bias row has square ``(2, n_out, n_rows)`` read-backs, so a backend
    returning ``(polarity, input row, output)`` passed every check (recheck7c: adaptation
    then pinned the devices at their transposed readings); the same read-back laid out right
    is taken."""
    from xbarmem import load_chip, train

    pset, _ = small_memory
    memory = train(pset, chip=load_chip("rram"), fault_seed=1, program_seed=2, max_steps=30,
                   bias=False)
    assert layers_of(memory)[0].n_rows == layers_of(memory)[0].n_out
    adapt(memory, [_backend(memory)], pset, rounds=0)
    be = _backend(memory, read_back=lambda be, g: g.transpose(0, 2, 1).copy())
    with pytest.raises(ConfigError, match=r"^backend 0 \(_Changed\): read_back\(\) readings "
                                          r"follow the conductances programmed transposed "
                                          r"\(mean distance .* uS, .* uS as laid out\): "
                                          r"read_back\(\) must return \(polarity, output, "
                                          r"input row\), as in program\(targets\)$"):
        adapt(memory, [be], pset, rounds=0)


@pytest.mark.parametrize("value", [0.0, "g_min", "g_max"])
def test_a_backend_reading_one_value_everywhere_is_refused(small_memory, value):
    """A read_back() of one conductance at every device (0 S: nothing read; a rail: nothing
    programmed) was taken and every device off it pinned there."""
    from xbarmem import load_chip, train

    pset, _ = small_memory
    memory = train(pset, chip=load_chip("rram"), fault_seed=1, program_seed=2, max_steps=30)
    dev = memory.chip.device
    level = {"g_min": dev.g_min, "g_max": dev.g_max}.get(value, value)
    be = _backend(memory, read_back=lambda be, g: np.full_like(g, level))
    with pytest.raises(ConfigError, match=r"^backend 0 \(_Changed\): read_back\(\) reads .* S "
                                          r"at every device programmed"):
        adapt(memory, [be], pset, rounds=0)
