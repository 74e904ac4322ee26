"""Values kept as the user wrote them, and pattern sets that really are immutable.

1. A single numpy float32 / float16 number given where one number is checked (a protocol's
   level, a chip's conductances, a rule's options, a search's resolution, ...) is recorded as
   the shortest decimal of its type, as :func:`xbarmem.checks.listed` reads a list's items:
   ``np.float32(0.05)`` is ``0.05``, not ``0.05000000074505806``. Python floats and float64
   numbers are kept bit for bit.
2. A :class:`~xbarmem.data.patterns.PatternSet`'s arrays are read-only copies, and turning them
   into tensors does not warn.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.checks import as_written, tensor_of
from xbarmem.data.builtin import correlated_patterns
from xbarmem.deploy.chip_loop import check_settings
from xbarmem.energy.circuit import load_circuit
from xbarmem.energy.model import LayerLoad, read_cost
from xbarmem.evaluation.capacity import check_search


def _search_resolution(v):
    return check_search([0.9], trials=1, resolution=v, cue_budget=0, rule_options=None,
                        protocol=None)[1]


def _layer(g_total):
    return LayerLoad(n_out=4, n_rows=5, row_tiles=1, col_tiles=1, tile_cols=4,
                     g_total=g_total, devices=40, free_devices=40)


#: (where a single number is given, how to read what is recorded of it, the number written)
RECORDED = {
    "Protocol level": (lambda v: xm.Protocol(level=v).as_dict()["level"], 0.05),
    "Protocol tol": (lambda v: xm.Protocol(corruption="gaussian", activation="tanh",
                                           tol=v).as_dict()["tol"], 0.001),
    "DeviceSpec g_min": (lambda v: xm.DeviceSpec(g_min=v).to_dict()["g_min"], 2e-6),
    "DeviceSpec read_noise": (lambda v: xm.DeviceSpec(read_noise=v).read_noise, 1e-7),
    "ArraySpec read_voltage": (lambda v: xm.ArraySpec(read_voltage=v).read_voltage, 0.2),
    "ChipSpec.with_faults": (lambda v: xm.ChipSpec().with_faults(v).device.p_stuck_on * 2,
                             0.1),
    "rule option lr": (lambda v: xm.get_rule("adaptive", lr=v).lr, 0.01),
    "find_capacity resolution": (_search_resolution, 0.05),
    "correlated overlap": (lambda v: float(correlated_patterns(3, 8, v).name.split("-")[-1]),
                           0.3),
    "fit_power_law confidence": (
        lambda v: xm.fit_power_law([16, 32, 64], [2, 4, 9], confidence=v).confidence, 0.9),
    "HiddenRule ratio": (lambda v: xm.HiddenRule("ratio", v).value, 0.3),
    "LayerLoad g_total": (lambda v: _layer(v).g_total, 1e-4),
    "read_cost read_voltage": (
        lambda v: read_cost(_layer(1e-4), load_circuit("generic-rram"), v).energy["array"]
        / (load_circuit("generic-rram").array.pulse_width * 1e-4), 0.2 ** 2),
}


@pytest.mark.parametrize("narrow", [np.float32, np.float16], ids=["float32", "float16"])
@pytest.mark.parametrize("where", list(RECORDED))
def test_a_narrow_numpy_number_is_recorded_as_the_number_written(where, narrow):
    read, written = RECORDED[where]
    # (float16 holds 2e-6 and 1e-7 only as subnormals of a few digits: their decimals)
    given = narrow(math.sqrt(written) if where.startswith("read_cost") else written)
    expected = read(float(as_written(given)))  # what the Python float of that decimal gives
    got = read(given)
    assert type(got) is float and got == expected, (where, got, expected)
    if narrow is np.float32 or written >= 1e-3:
        assert got == pytest.approx(written, rel=1e-12)


@pytest.mark.parametrize("where", list(RECORDED))
@pytest.mark.parametrize("kind", [float, np.float64], ids=["python", "float64"])
def test_python_and_float64_numbers_are_kept_bit_for_bit(where, kind):
    read, written = RECORDED[where]
    value = kind(math.sqrt(written) if where.startswith("read_cost") else written) * (1 + 2e-16)
    assert read(value) == read(float(value))  # (what was recorded of them before)
    assert as_written(value) is value


def test_the_recorded_protocol_reads_as_written_in_json():
    text = json.dumps(xm.Protocol(level=np.float32(0.05), probes=np.int64(3)).as_dict())
    assert '"level": 0.05,' in text and '"probes": 3' in text


def test_chip_loop_tolerance_and_an_array_fill_as_written():
    memory = xm.train(xm.random_patterns(2, 8, seed=1), rule="hebb", chip="rram")
    assert check_settings(memory, 0, np.float32(3e-6)) == 3e-6
    layer = memory.layers[0]
    logical = np.zeros((2, layer.n_out, layer.n_rows))
    out = layer.scatter(logical + 1e-300, fill=np.float32(np.nan))
    assert out.dtype == np.float64 and (out[~np.isnan(out)] == 1e-300).all()


# --------------------------------------------------------------------------- PatternSet
MAKERS = {
    "PatternSet": lambda a: xm.PatternSet(a, labels=np.arange(len(a))),
    "as_pattern_set": lambda a: xm.as_pattern_set(a),
    "subset": lambda a: xm.PatternSet(a, labels=np.arange(len(a))).subset([0, 2]),
    "torch": lambda a: xm.PatternSet(torch.from_numpy(a)),
    # (a copy of a set, its ids computed first, came back with writable arrays)
    "pickle": lambda a: pickle.loads(pickle.dumps(_with_ids(a))),
    "deepcopy": lambda a: copy.deepcopy(_with_ids(a)),
}


def _with_ids(a: np.ndarray) -> xm.PatternSet:
    """A set of ``a`` with labels whose ``distinct_ids`` were computed (and cached)."""
    pset = xm.PatternSet(a, labels=np.arange(len(a)))
    assert len(pset.distinct_ids) == len(a)
    return pset


@pytest.mark.parametrize("make", list(MAKERS))
def test_a_pattern_sets_arrays_cannot_be_written(make):
    given = np.sign(np.random.default_rng(0).standard_normal((3, 8))).astype(np.float32)
    pset = MAKERS[make](given)
    before = pset.patterns.copy()
    writes = [lambda: pset.patterns.__setitem__((0, 0), 5), lambda: pset[0].__setitem__(0, 5),
              lambda: np.asarray(pset).__setitem__((0, 0), 5),
              lambda: pset.distinct_ids.__setitem__(0, 7)]
    if pset.labels is not None:
        writes.append(lambda: pset.labels.__setitem__(0, 9))
    for write in writes:
        with pytest.raises(ValueError, match="read-only"):
            write()
    torch.as_tensor(pset)[0, 0] = 5  # a tensor of its own
    torch.from_dlpack(pset)[0, 0] = 5
    assert np.array_equal(pset.patterns, before)
    given[0, 0] = -given[0, 0]  # the caller's array stays the caller's, writable
    assert np.array_equal(pset.patterns, before)


def test_tensor_of_copies_only_a_read_only_array():
    writable = np.ones((2, 3), np.float32)
    assert np.shares_memory(tensor_of(writable).numpy(), writable)
    frozen = writable.copy()
    frozen.flags.writeable = False
    t = tensor_of(frozen, dtype=torch.float64)
    assert t.dtype == torch.float64 and not np.shares_memory(t.numpy(), frozen)
    tensor = torch.ones(2)
    assert tensor_of(tensor) is tensor


#: code run in a fresh interpreter (torch warns of a read-only array once per process)
CONVERSIONS = {
    "train": "xm.train(p, rule='hebb')",
    "train multilayer": "xm.train(p, arch='multilayer', hidden=4, max_steps=3)",
    "evaluate": "xm.evaluate_memory(xm.train(p, rule='hebb'), p)",
    "compare_rules": "xm.compare_rules(p, rules=['hebb'], trials=1)",
    "find_capacity": "xm.find_capacity(p, rule='hebb', trials=1, thresholds=[0.99])",
    "Problem.of": "xbarmem.learning.base.Problem.of(p.patterns)",
    "memory.recall": "xm.train(p, rule='hebb').recall(p.patterns)",
    "measure_model": "xbarmem.energy.measure.measure_model(xm.train(p, rule='hebb'), p)",
}


@pytest.mark.parametrize("call", list(CONVERSIONS))
def test_pattern_sets_reach_torch_without_a_warning(call):
    code = textwrap.dedent(f"""
        import warnings
        warnings.simplefilter("error", UserWarning)
        import xbarmem, xbarmem.learning.base, xbarmem.energy.measure
        import xbarmem as xm
        p = xm.random_patterns(6, 12, seed=3)
        {CONVERSIONS[call]}
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("call", ["run_scaling", "find_capacity", "recall_curve", "train"])
def test_numpy_scalars_given_to_a_public_function_are_recorded_as_python_numbers(call):
    """`run_scaling(trials=np.int64(1), pool_size=np.int64(40))` recorded numpy integers in its
    settings, so `json.dumps(result["settings"])` failed: every public function
    (`checks.checked_keywords`) now takes a numpy scalar as the Python number it holds."""
    import json

    import xbarmem as xm

    x = xm.random_patterns(12, 16, seed=0)
    if call == "run_scaling":
        out = xm.run_scaling([16], arch="single", rule="pinv", data="random",
                             trials=np.int64(1), pool_size=np.int64(20), seed=np.uint32(3))
        recorded = out["settings"]
    elif call == "find_capacity":
        out = xm.find_capacity(x, rule="pinv", trials=np.int64(1), start=np.int32(2),
                               seed=np.int16(1))
        recorded = out.as_dict()
    elif call == "recall_curve":
        from xbarmem.evaluation.curve import recall_curve

        recorded = recall_curve(x, [np.int64(2), 4], rule="hebb", trials=np.int64(2),
                                   seed=np.uint8(1)).as_dict()
    else:
        recorded = xm.train(x, rule="pinv", fault_seed=np.int64(1),
                            program_seed=np.int32(2)).info
    text = json.dumps(recorded)  # (a numpy integer anywhere: TypeError)
    assert "np." not in text


@pytest.mark.parametrize("value, expected", [
    (np.int64(3), 3), (np.uint8(7), 7), (np.float32(0.05), 0.05), (np.float16(0.1), 0.1),
    (np.float64(0.3), 0.3), (np.bool_(True), True)])
def test_plain_scalar_gives_the_python_number(value, expected):
    from xbarmem.checks import plain_scalar

    out = plain_scalar(value)
    assert out == expected and type(out) is type(expected)
    arr = np.arange(3)
    assert plain_scalar(arr) is arr and plain_scalar("a") == "a"
