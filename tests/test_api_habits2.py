"""The Python API under a numpy / PyTorch / scikit-learn user's habits (round 2): seeds that are
numpy integers of any width (``np.uint8``, ``np.int32`` from an array of seeds), and lists of
values given as the 1-D arrays, tensors or ranges a grid search makes (``np.arange``,
``np.linspace``, ``torch.tensor([...])``)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.checks import listed
from xbarmem.energy.measure import measure_sizes
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.evaluation.curve import recall_curve

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"
P = xm.random_patterns(4, 16, seed=0)


def _g(memory) -> list[np.ndarray]:
    return [np.asarray(layer.g_pos).copy() for layer in memory.layers]


def test_every_seed_check_keeps_the_int_it_returns():
    """``check_seed(seed)`` returns the seed as a Python ``int``; a call that dropped it left
    the caller with the user's numpy integer, whose arithmetic (``seed + offset``) overflowed
    in its own dtype (``np.uint8(3)``: OverflowError in ``offset_seed``)."""
    dropped = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "check_seed"):
                dropped.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert dropped == []


def _fit_memories(seed):
    memories = [xm.SingleLayerMemory(16, chip="rram")]
    xm.fit_memories(xm.get_rule("hebb"), P, memories, program_seed=seed)
    return memories[0]


def _compare_rules(seed):
    found = xm.compare_rules(P, "rram", ["hebb"], trials=2, fault_seed=seed, program_seed=seed)
    return found["rules"]["hebb"]["cosine"], found["settings"]["program_seed"]


#: entry point -> a function of the seed whose result must not depend on the seed's type
_SEEDED = {
    "train-program_seed": lambda s: xm.train(P, rule="hebb", chip="rram", program_seed=s),
    "train-fault_seed": lambda s: xm.train(P, rule="hebb", chip="rram", fault_seed=s),
    "train-multilayer": lambda s: xm.train(P, arch="multilayer", hidden=4, rule="adaptive",
                                           chip="rram", max_steps=2, finetune_steps=1,
                                           program_seed=s, fault_seed=s),
    "fit_memories": _fit_memories,
    "compare_rules": _compare_rules,
    "memory-fault_seed": lambda s: xm.SingleLayerMemory(16, chip="rram", fault_seed=s),
}


@pytest.mark.parametrize("seed", [np.uint8(250), np.int16(5), np.int32(2**31 - 1),
                                  np.uint32(2**32 - 1)], ids=repr)
@pytest.mark.parametrize("call", sorted(_SEEDED))
def test_numpy_integer_seeds_of_any_width_are_the_seeds_they_hold(call, seed):
    """``xm.train(p, chip="rram", program_seed=np.uint8(3))`` (and ``fit_memories``,
    ``compare_rules``) raised ``OverflowError: Python integer 4294967296 out of bounds for
    uint8`` deep in the seeding; ``memory.info["program_seed"]`` held the numpy integer."""
    got, want = _SEEDED[call](seed), _SEEDED[call](int(seed))
    if isinstance(want, tuple):
        assert got == want and type(got[1]) is int
        return
    assert got.faults == want.faults
    if got.programmed:
        assert all(np.array_equal(a, b) for a, b in zip(_g(got), _g(want), strict=True))
    if "program_seed" in want.info:
        assert type(got.info["program_seed"]) is int
        assert got.info["program_seed"] == want.info["program_seed"]


#: the forms a list of values takes in a numpy / torch script
_FORMS = {
    "list": list,
    "tuple": tuple,
    "numpy": np.asarray,
    "tensor": torch.tensor,
    "tensor-grad": lambda v: torch.tensor(v, dtype=torch.float64).requires_grad_()
    if isinstance(v[0], float) else torch.tensor(v),
}

_POOL = xm.random_patterns(8, 16, seed=0)
#: entry point -> (the values it lists, a call with them, what its result is compared by);
#: thresholds a float32 tensor holds exactly (a numpy or torch float32 0.9 is the number
#: 0.8999999761581421, as a numpy float32 scalar is: results are keyed by it)
_LISTS = {
    "find_capacity-thresholds": (
        [0.875, 0.5],
        lambda v: xm.find_capacity(_POOL, rule="hebb", trials=1, thresholds=v).capacity),
    "run_scaling-sizes": (
        [16, 25],
        lambda v: xm.run_scaling(v, arch="single", rule="hebb", pool_size=12,
                                 resolution=0.5)["capacity"]),
    "run_scaling-thresholds": (
        [0.875, 0.5],
        lambda v: xm.run_scaling([16], arch="single", rule="hebb", pool_size=12,
                                 resolution=0.5, thresholds=v)["capacity"]),
    "measure_sizes-sizes": (
        [16, 25],
        lambda v: [(row["n_neurons"], row["energy_ratio"]) for row in measure_sizes(
            v, "generic-rram", rule="hebb", probes=1)["rows"]]),
    "recall_curve-counts": (
        [2, 3], lambda v: [p["cosine"] for p in recall_curve(_POOL, v, rule="hebb")["points"]]),
    "fit_memories-program_offsets": (
        [3, 1],
        lambda v: [_g(m) for m in _offsets_fitted(v)]),
}


def _offsets_fitted(offsets):
    memories = [xm.SingleLayerMemory(16, chip="rram") for _ in range(2)]
    xm.fit_memories(xm.get_rule("hebb"), P, memories, program_offsets=offsets)
    return memories


def _same(a, b) -> bool:
    if isinstance(a, list) and a and isinstance(a[0], list):
        return all(np.array_equal(x, y) for u, v in zip(a, b, strict=True)
                   for x, y in zip(u, v, strict=True))
    return a == b


@pytest.mark.parametrize("form", sorted(_FORMS))
@pytest.mark.parametrize("call", sorted(_LISTS))
def test_lists_of_values_are_read_from_any_1d_array(call, form):
    """``find_capacity(pool, thresholds=np.array([0.9, 0.99]))`` raised ``thresholds must be
    a non-empty list of numbers in (0, 1], got an ndarray``, ``run_scaling(np.arange(16, 65,
    16))`` ``sizes must be a list of neuron counts N, got ndarray``, while ``recall_curve``'s
    counts and ``hidden=`` took arrays: every list argument now reads a 1-D array or tensor
    as its items (:func:`xbarmem.checks.listed`), giving what the list gives."""
    values, run = _LISTS[call]
    assert _same(run(_FORMS[form](values)), run(values))


def test_compare_rules_takes_an_array_of_rule_names():
    """(``rules must be a rule name or Rule object, or a list of them, got ndarray``.)"""
    by_array = xm.compare_rules(P, rules=np.array(["hebb", "pinv"]), trials=1)
    by_list = xm.compare_rules(P, rules=["hebb", "pinv"], trials=1)
    assert list(by_array["rules"]) == ["hebb", "pinv"]
    assert all(by_array["rules"][r]["cosine"] == by_list["rules"][r]["cosine"]
               for r in ("hebb", "pinv"))


@pytest.mark.parametrize(("value", "read"), [
    ([1, 2], [1, 2]), ((1, 2), [1, 2]), (range(1, 3), [1, 2]),
    (np.arange(1, 3), [1, 2]), (torch.tensor([0.5, 0.25]), [0.5, 0.25]),
    (torch.tensor([1, 2]).requires_grad_(False), [1, 2]), (np.array(["a", "b"]), ["a", "b"])])
def test_listed_reads_a_list_as_python_items(value, read):
    out = listed(value, "x")
    assert out == read and all(type(v) in (int, float, str) for v in out)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, torch.float16, torch.float32,
                                   torch.bfloat16], ids=str)
def test_listed_reads_narrow_floats_as_the_decimals_they_were_written_as(dtype):
    """``torch.tensor([0.9, 0.99])`` is float32: its thresholds are 0.9 and 0.99 (result
    keys a user looks up), not the widened 0.8999999761581421; every value still reads back
    as the same number of its type."""
    written = [0.9, 0.95, 0.99, 0.5, 1e-3]
    if isinstance(dtype, torch.dtype):
        value = torch.tensor(written, dtype=dtype)
        back = torch.tensor(listed(value, "x"), dtype=dtype)
        assert torch.equal(back, value)
    else:
        value = np.array(written, dtype=dtype)
        back = np.array(listed(value, "x"), dtype=dtype)
        assert np.array_equal(back, value)
    if dtype in (np.float32, torch.float32):
        assert listed(value, "x") == written


def test_float32_thresholds_key_results_as_written():
    pool = xm.random_patterns(12, 16, seed=0)
    res = xm.find_capacity(pool, rule="hebb", thresholds=torch.tensor([0.95, 0.99]), trials=1)
    assert sorted(res.capacity) == [0.95, 0.99]


@pytest.mark.parametrize("value", [3, 0.5, "ab", {1, 2}, None, np.zeros((2, 2)),
                                   np.float64(0.9), torch.tensor(1.0)], ids=repr)
def test_listed_leaves_what_is_no_list_to_the_callers_refusal(value):
    assert listed(value, "x") is value


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: xm.find_capacity(_POOL, rule="hebb", thresholds=np.float64(0.9)), ConfigError,
     "thresholds must be a non-empty list"),
    (lambda: xm.find_capacity(_POOL, rule="hebb", thresholds=np.zeros((1, 2)) + 0.9),
     ConfigError, "thresholds must be a non-empty list"),
    (lambda: xm.find_capacity(_POOL, rule="hebb", thresholds={0.9}), ConfigError,
     "thresholds must be a non-empty list"),
    (lambda: xm.run_scaling(16, arch="single", rule="hebb"), ArgumentError,
     "sizes must be a list of neuron counts N, got int"),
    (lambda: xm.run_scaling(torch.tensor([16]).to("meta"), arch="single", rule="hebb"),
     ConfigError, "sizes must hold data, got a tensor on the meta device"),
    (lambda: measure_sizes(np.array([16.5, 25.0]), "generic-rram"), ConfigError,
     "sizes must be a list of integers >= 2"),
])
def test_what_is_no_list_of_values_is_still_refused_in_one_line(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert "\n" not in str(info.value)


#: the modules whose classes a user holds instances of: the package's names, the memories and
#: the recall engine (``memory.map()``: a ``LayeredMap``), the deploy backends
#: (``docs/backends.md``), the hardware model
_HELD = ("xbarmem", "xbarmem.memory.base", "xbarmem.memory.multilayer", "xbarmem.memory.recall",
         "xbarmem.deploy.backend", "xbarmem.hardware.crossbar", "xbarmem.hardware.faults",
         "xbarmem.hardware.chip")


def _held_classes() -> dict[str, type]:
    import importlib
    import inspect
    import typing

    found = {}
    for module in map(importlib.import_module, _HELD):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) and obj.__module__.startswith("xbarmem")
                    and not issubclass(obj, BaseException)
                    and not getattr(obj, "_is_protocol", False) and obj is not typing.Any):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


@pytest.mark.parametrize("name", sorted(_held_classes()))
def test_every_class_a_user_holds_has_a_repr_of_its_own(name):
    """A notebook showed ``<xbarmem.memory.recall.FloatMatrix object at 0x7f...>`` for a
    ``FloatMatrix``, and so for ``memory.map()``, ``SimulatedChip``, ``DriverBackend`` and
    ``BackendMemory``."""
    assert _held_classes()[name].__repr__ is not object.__repr__


class _Driver:
    def write(self, array, targets):
        pass

    def read(self, array):
        pass

    def apply(self, array, voltages):
        pass


def _reprs():
    from xbarmem.deploy.backend import BackendMemory, DriverBackend, simulated_backends

    one = xm.train(P, rule="hebb", chip="rram")
    two = xm.train(P, arch="multilayer", hidden=8, rule="adaptive", max_steps=2,
                   finetune_steps=1)
    backends = simulated_backends(one)
    return [
        (xm.FloatMatrix(torch.eye(4)), "FloatMatrix(4x4, bias=False)"),
        (xm.FloatMatrix(torch.eye(4), torch.ones(4)), "FloatMatrix(4x4, bias=True)"),
        (one.map(), "LayeredMap(16-16, layers=1)"),
        (two.map(), "LayeredMap(16-8-16, layers=2)"),
        (backends[0], f"SimulatedChip({one.layers[0]!r}, read_averages=1)"),
        (BackendMemory(one, backends), f"BackendMemory({one!r}, backends=[SimulatedChip])"),
        (DriverBackend(_Driver(), one.layers[0]),
         f"DriverBackend(driver=_Driver, layer={one.layers[0]!r})"),
    ]


def test_the_reprs_name_shapes_and_parts_not_values():
    for value, text in _reprs():
        assert repr(value) == text and "0x" not in text and len(text) < 320


@pytest.mark.parametrize(("value", "text"), [
    (np.zeros((2, 3)), "an ndarray of shape (2, 3), float64"),
    (torch.zeros(2), "a Tensor of shape (2,), torch.float32"),
    (object(), "an object"), (Ellipsis, "an ellipsis"), ({1}, "a set"),
    (tuple(range(100)), "a tuple of length 100")], ids=lambda v: str(v)[:20] if isinstance(
        v, str) else type(v).__name__)
def test_messages_name_a_value_by_its_type_with_the_right_article(value, text):
    from xbarmem.checks import shown

    assert shown(value) == text


@pytest.mark.parametrize("extra", [
    {"x": float("nan")}, {"a": [1, 2, float("inf")]}, {"b": {"c": np.float32("nan")}},
    {"d": np.array([1.0, -np.inf])}, {"e": torch.tensor(float("nan"))}], ids=str)
def test_save_memory_refuses_a_number_json_cannot_hold_in_extra(tmp_path, extra):
    """JSON has no NaN or infinity: ``extra`` holding one was written as null, silently."""
    mem = xm.train(xm.random_patterns(4, 16, seed=0), rule="hebb")
    path = tmp_path / "m.safetensors"
    with pytest.raises(ConfigError, match=r"^extra[.\[].* must be a finite number or None"):
        xm.save_memory(mem, path, extra=extra)
    assert not path.exists()


def test_extra_reads_back_from_the_top_level():
    import tempfile

    mem = xm.train(xm.random_patterns(4, 16, seed=0), rule="hebb")
    with tempfile.TemporaryDirectory() as folder:
        path = xm.save_memory(mem, f"{folder}/m.safetensors",
                              extra={"run": "a", "v": [1, 2.5, None]})
        assert xm.read_metadata(path)["extra"] == {"run": "a", "v": [1, 2.5, None]}
