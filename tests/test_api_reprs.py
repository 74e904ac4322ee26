"""What a notebook shows for the objects a user holds: every result object's repr is one short
line of its main numbers (``checks.result_repr``), never a dump of its tensors (a
``RecallResult`` printed every final state, a ``CapacityResult`` every tested point and
setting, a ``FitResult`` its weight matrices)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.checks import brief
from xbarmem.data.readers import read_image_stack
from xbarmem.deploy.backend import simulated_backends
from xbarmem.deploy.chip_loop import adapt, adapt_read_back
from xbarmem.energy.measure import (
    EnergyBySize,
    EnergyReport,
    energy_report,
    measure,
    measure_sizes,
)
from xbarmem.evaluation.curve import RecallCurve, recall_curve, train_curve
from xbarmem.evaluation.evaluate import make_cues
from xbarmem.hardware.measured import Measurement as ChipMeasurement

#: the longest a result's repr may be (a notebook cell's line or two)
_SHORT = 320


def _short(text: str) -> str:
    assert len(text) <= _SHORT and "\n" not in text, text
    assert "tensor(" not in text and "array(" not in text, text
    return text


@pytest.mark.parametrize(("value", "shown"), [
    (0.123456, "0.1235"), (np.float32(0.5), "0.5"), (np.int64(4), "4"), (True, "True"),
    (np.bool_(False), "False"), (None, "None"), ("sync", "'sync'"),
    (torch.tensor(2.5), "2.5"), (torch.zeros(3, 4), "shape (3, 4)"),
    (torch.tensor([True, False, True]), "2 of 3"), (torch.tensor([7]), "[7]"),
    (np.arange(10.0), "[10 values, 0 to 9]"),
    ([0.1, 0.5, math.nan], "[3 values, 0.1 to 0.5, 1 NaN]"),
    ([torch.zeros(1, 4, 4), torch.zeros(1, 4)], "[shape (1, 4, 4), shape (1, 4)]"),
    ({0.95: 22, 0.99: 0.0021972}, "{0.95: 22, 0.99: 0.002197}"),
])
def test_brief_shows_a_value_in_a_few_characters(value, shown):
    assert brief(value) == shown


def test_recall_and_fit_results_show_their_counts_not_their_tensors(small_memory):
    pset, memory = small_memory
    result = memory.recall(xm.flip_bits(pset.patterns, 0.1, generator=0))
    n = int(result.converged.sum())
    assert _short(repr(result)) == (
        f"RecallResult(states=shape (3, 16), iterations={brief(result.iterations)}, "
        f"converged={n} of 3, cycled={int(result.cycled.sum())} of 3, mode='sync', "
        "activation='sign')")
    fit = xm.get_rule("pinv").fit(xm.Problem.of(pset.patterns))
    assert _short(repr(fit)) == ("FitResult(weights=[shape (1, 16, 16)], biases=None, "
                                 "steps=[0], loss=[nan], converged=1 of 1, fixed_points=1 of 1)")


def test_capacity_and_fit_results_show_the_capacity_and_the_slope():
    pool = xm.load_patterns("digits", n_patterns=60, seed=0)
    found = xm.find_capacity(pool, rule="pinv", thresholds=[0.95], trials=1,
                             protocol=xm.Protocol(probes=2, level=0.05))
    text = _short(repr(found))
    (cap,) = found.capacity.values()
    assert text.startswith(f"CapacityResult(capacity={{0.95: {cap}}}, capacity_per_device="
                           f"{{0.95: {cap / 8192:.4g}}}, devices=8192, evaluations="
                           f"{found.evaluations}, counts=[")
    assert text.endswith("arch='single', rule='pinv', trials=1, chip='paper-sim')")
    assert "lower_bound" not in text
    whole = xm.find_capacity(xm.random_patterns(6, 16, seed=0), rule="pinv", thresholds=[0.9],
                             trials=1)  # (every count of a pool of 6 passes: a lower bound)
    assert whole.capacity == {0.9: 6}
    assert repr(whole).startswith("CapacityResult(capacity={0.9: 6}, lower_bound=[0.9], ")
    fit = xm.fit_power_law([16, 36, 64], [5, 7, 23])
    assert _short(repr(fit)) == (f"PowerLawFit(slope={fit.slope:.4g}, slope_low="
                                 f"{fit.slope_low:.4g}, slope_high={fit.slope_high:.4g}, "
                                 f"prefactor={fit.prefactor:.4g}, r2={fit.r2:.4g}, points=3, "
                                 "confidence=0.95)")


def test_energy_and_adaptation_results_show_steps_and_cosines(small_memory):
    m = measure(16, n_patterns=3, rule="pinv", probes=2)
    text = _short(repr(m))
    assert text.startswith("Measurement(sizes='16-16', rule='pinv', chip='paper-sim', "
                           f"read_voltage=0.2, sync_steps={brief(m.sync_steps)}, ")
    assert f"sync_cosine={m.info['quality']['sync']['cosine']:.4g}" in text
    pset, memory = small_memory
    done = adapt(memory, simulated_backends(memory), pset, rounds=1,
                 protocol=xm.Protocol(probes=2))
    text = _short(repr(done))
    assert text.startswith(f"AdaptResult(rounds={len(done.rounds)}, open_loop_cosine="
                           f"{done.rounds[0]['cosine']:.4g}, final_cosine="
                           f"{done.rounds[-1]['cosine']:.4g}, reached_target=")
    assert "memory=SingleLayerMemory(N=16, " in text and "faults=FaultMap(arrays=1, " in text


def test_energy_reports_print_one_line_and_stay_dicts():
    """``measure_sizes`` printed a plain dict of about 2,100 characters (two sizes: every row
    and circuit constant), ``energy_report`` one of about 3,600."""
    sizes = measure_sizes([16, 25], "generic-rram", probes=2)
    assert isinstance(sizes, dict) and isinstance(sizes, EnergyBySize)
    assert list(sizes) == ["settings", "rows"]
    assert [r["n_neurons"] for r in sizes["rows"]] == [16, 25]
    ratios = [r["energy_ratio"] for r in sizes["rows"]]
    assert _short(repr(sizes)) == (
        f"EnergyBySize(sizes=[2 values, 16 to 25], energy_ratio={brief(ratios)}, latency_ratio="
        f"{brief([r['latency_ratio'] for r in sizes['rows']])}, circuit='generic-rram', "
        "rule='pinv', chip='paper-sim')")
    assert type(sizes.as_dict()) is dict and sizes.as_dict() == sizes
    report = energy_report(measure(16, n_patterns=3, rule="pinv", probes=2), "generic-rram")
    assert isinstance(report, dict) and isinstance(report, EnergyReport)
    assert list(report) == ["sync", "async", "ratios", "programming", "layers",
                            "read_voltage_V", "circuit"]
    text = _short(repr(report))
    assert text.startswith(f"EnergyReport(energy_ratio={report['ratios']['energy_ratio']:.4g}"
                           f", latency_ratio={report['ratios']['latency_ratio']:.4g}, "
                           f"sync_energy_J={report['sync']['energy_J']['mean']:.4g}, ")
    assert text.endswith(f"programming_energy_J={report['programming']['energy_J']:.4g}, "
                         "circuit='generic-rram')")
    assert json.loads(json.dumps(report.as_dict())) == json.loads(json.dumps(report))


def test_adaptation_results_have_as_dict_as_every_other_result(small_memory):
    """``AdaptResult`` and ``ReadBackResult`` had ``summary()`` only, where every other result
    has ``as_dict()``; neither said which devices the adapted model holds pinned."""
    pset, memory = small_memory
    done = adapt(memory, simulated_backends(memory, seed=0), pset, rounds=1,
                 protocol=xm.Protocol(probes=2))
    plain = done.as_dict()
    assert plain == done.summary() and json.loads(json.dumps(plain)) == plain
    assert plain["rounds"] == done.rounds and plain["final_cosine"] == done.rounds[-1]["cosine"]
    assert plain["memory"] == {"layer_sizes": [16, 16], "chip": memory.chip.name,
                               "bias": memory.has_bias}
    assert plain["faults"] == done.faults.summary(memory.chip.device)
    again = adapt_read_back(done.memory, simulated_backends(done.memory, seed=1), pset,
                            protocol=xm.Protocol(probes=2))
    plain = again.as_dict()
    assert plain == again.summary() and json.loads(json.dumps(plain)) == plain
    assert list(plain) == ["read", "program", "before", "after", "missed", "settings",
                           "memory", "faults"]
    assert plain["faults"]["pinned"] == again.faults.pinned_count > 0


def test_a_recall_curve_prints_one_line_and_stays_a_dict():
    """``recall_curve`` printed a plain dict of about 2,200 characters for three counts (every
    network's scores and train info, the whole chip)."""
    found = recall_curve(xm.random_patterns(20, 16, seed=0), [2, 4, 6], rule="pinv", trials=2)
    assert isinstance(found, dict) and isinstance(found, RecallCurve)
    cosines = [p["cosine"] for p in found["points"]]
    assert _short(repr(found)) == (
        f"RecallCurve(counts=[3 values, 2 to 6], cosine={brief(cosines)}, exact="
        f"{brief([p['exact'] for p in found['points']])}, rule='pinv', arch='single', "
        "chip='paper-sim', trials=2)")
    assert type(found.as_dict()) is dict and found.as_dict() == found


def test_a_problem_shows_its_sizes_not_its_tensors():
    """``Problem`` (what a rule of one's own is given) printed its pattern and bound tensors."""
    problem = xm.Problem.of(xm.random_patterns(10, 64, seed=0).patterns)
    assert repr(problem) == ("Problem(networks=1, patterns=shape (1, 10, 64), sizes=[64, 64], "
                             "kind='binary', counts=None, noise=(0.0, 0.0), zero_diagonal=True, "
                             "bias=True, levels=False)")
    assert "tensor" not in repr(xm.Problem.of(torch.ones(3, 5, 16), sizes=[16, 8, 16]))


def _levels_grid():
    pool = xm.random_patterns(10, 64, seed=0)
    memory = xm.train(pool, chip=xm.load_preset("ideal").replace_device(levels=8), rule="hebb")
    return memory.crossbar.weight_grid()


def _image_stack(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (100, 28, 28)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    return read_image_stack(tmp_path / "images.npy")


def _keyed_image_stack(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8)).astype(np.uint8)
    np.savez(tmp_path / "images.npz", small=images, other=images[:2])
    return read_image_stack(tmp_path / "images.npz", key="small")


def _trained_curve(tmp_path):
    return train_curve(xm.random_patterns(10, 64, seed=0), [3, 5], "ideal", "hebb", trials=2)


@pytest.mark.parametrize(("make", "says"), [
    (lambda tmp_path: _levels_grid(), "WeightGrid(offset=shape (64, 64), lo=shape (64, 64), "
                                      "hi=shape (64, 64), step=0.07143, relative=0)"),
    (lambda tmp_path: ChipMeasurement(np.zeros((1, 2, 64, 64)), np.zeros((1, 2, 64, 64)),
                                      "devices.csv"),
     "Measurement(target=shape (1, 2, 64, 64), read=shape (1, 2, 64, 64), "
     "source='devices.csv', known_stuck=None, listed=None)"),
    (_image_stack, "ImageStack(images=shape (100, 28, 28), name='images.npy', labels=None)"),
    (_keyed_image_stack, "ImageStack(images=shape (5, 8, 8), name='images.npz', labels=None, "
                         "key='small')"),
    (lambda tmp_path: make_cues(xm.random_patterns(10, 64, seed=0), xm.Protocol(probes=3)),
     "Cues(cues=shape (30, 64), target=shape (30, 64), probes=3, binary=True, "
     "generator=Generator)"),
    (_trained_curve, "TrainedCurve(data='random-binary', rule='hebb', chip='ideal', "
                     "counts=[2 values, 3 to 5], networks=4, trials=2, seed=0)"),
])
def test_objects_holding_arrays_show_their_shapes_not_their_entries(tmp_path, make, says):
    """A ``WeightGrid`` (what ``Crossbar.weight_grid()`` and a rule of one's own get) printed
    19 lines of tensors for a 64x64 crossbar, a measured chip's ``Measurement`` 29, an
    ``ImageStack`` 50, the ``Cues`` of a scoring run 13, a ``TrainedCurve`` 1,600 characters
    (every memory, subset and train info, the whole chip)."""
    assert _short(repr(make(tmp_path))) == says


def test_no_dataclass_holding_tensors_or_arrays_keeps_the_generated_repr():
    """The class of the test above: every dataclass of xbarmem with a tensor or array field
    prints one short line (``checks.brief_repr``, which ``value_equality`` applies), not
    dataclasses' repr of every entry."""
    import dataclasses
    import importlib
    import inspect
    import pkgutil

    from xbarmem.checks.results import generated_repr

    found = []
    for info in pkgutil.walk_packages(xm.__path__, "xbarmem."):
        for cls in vars(importlib.import_module(info.name)).values():
            if (inspect.isclass(cls) and cls.__module__ == info.name
                    and dataclasses.is_dataclass(cls) and generated_repr(cls)
                    and any(word in re.sub(r"Callable\[.*\]", "", str(f.type))
                            for f in dataclasses.fields(cls) if f.repr
                            for word in ("Tensor", "ndarray"))):  # (a function's arguments: no)
                found.append(f"{info.name}.{cls.__name__}")
    assert found == []
