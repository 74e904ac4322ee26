"""The Python API as a PyTorch / scikit-learn user scripts it from outside: the first call of a
process leaves the user's global random streams alone, and tensors in the forms torch hands out
(negative-bit views, sparse, quantized) are read wherever a tensor is taken or returned."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_FRESH = textwrap.dedent("""
    import random, sys
    import numpy as np
    import torch
    import xbarmem as xm

    torch.manual_seed(7); np.random.seed(7); random.seed(7)

    def states():
        return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()

    moved = []
    for name, call in [("load_digits", lambda: xm.load_digits(n_patterns=3)),
                       ("load_patterns digits", lambda: xm.load_patterns("digits")),
                       ("load_glyphs", lambda: xm.load_glyphs(n_patterns=3))]:
        before = states()
        call()
        after = states()
        if not (torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1])
                and before[2] == after[2]):
            moved.append(name)
    print(moved)
""")


def test_the_first_load_of_a_process_moves_no_global_random_state(tmp_path):
    """scikit-learn's import (read by ``load_digits`` the first time in a process) imports
    rich, whose ``rich.style`` draws ``random.getrandbits(24)``: a user's ``random.seed(0)``
    before ``xm.load_digits()`` gave other draws after it, where the guide promises that no
    function of xbarmem moves Python's, numpy's or torch's global random state. The import runs
    inside :func:`~xbarmem.seeds.global_random_kept`. A fresh process: in this one scikit-learn
    may be imported already."""
    script = tmp_path / "s.py"
    script.write_text(_FRESH)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, check=True, timeout=600)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_global_random_kept_restores_every_state_also_on_an_error():
    import random

    import numpy as np
    import torch

    from xbarmem.seeds import global_random_kept

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    with pytest.raises(KeyError), global_random_kept():
        random.random(), np.random.rand(), torch.rand(1)
        raise KeyError("x")
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


# -- tensors in the forms torch hands out ------------------------------------------------------

import numpy as np  # noqa: E402
import torch  # noqa: E402

import xbarmem as xm  # noqa: E402
from xbarmem.deploy.backend import BackendMemory, SimulatedChip, layers_of  # noqa: E402

# torch's own words on the forms below (CSR "in beta state", quantized creation deprecated)
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR:UserWarning",
                                        "ignore:torch.quantize_per_tensor:UserWarning")
_P = xm.random_patterns(4, 16, seed=0)
_X = torch.tensor(_P.patterns, dtype=torch.float32)

#: a tensor's other forms with the same values: a negative-bit view (what ``z.conj().imag``
#: gives, refused by ``.numpy()``), sparse COO and CSR, and quantized (its dequantized values)
_FORMS = {
    "negative view": lambda t: torch.conj(torch.complex(torch.zeros_like(t), -t)).imag,
    "sparse": lambda t: t.to_sparse(),
    "sparse csr": lambda t: t.to_sparse_csr() if t.dim() == 2 else t.to_sparse(),
    "quantized": lambda t: torch.quantize_per_tensor(t.float(), 2.0 ** -10, 0, torch.qint32),
}


def test_every_form_has_the_values_it_stands_for():
    for name, form in _FORMS.items():
        t = form(_X)
        dense = t.dequantize() if t.is_quantized else (t.to_dense() if t.layout != torch.strided
                                                       else t.resolve_neg())
        assert torch.equal(dense, _X), name
    assert _FORMS["negative view"](_X).is_neg()


@pytest.mark.parametrize("form", list(_FORMS))
def test_patterns_and_cues_in_any_form_are_read_as_their_values(form):
    """A negative-bit view reached ``.numpy()`` and raised torch's ``RuntimeError: Can't call
    numpy() on Tensor that has negative bit set`` from ``train``, ``PatternSet`` and
    ``Memory.recall``: :func:`~xbarmem.checks.check_tensor`, the one reader of a user's
    tensor, resolves it as it makes sparse and quantized tensors dense."""
    x = _FORMS[form](_X)
    memory = xm.train(x, chip="ideal", rule="hebb")
    plain = xm.train(_X, chip="ideal", rule="hebb")
    assert torch.equal(memory.weights, plain.weights)
    assert xm.PatternSet(x) == xm.PatternSet(_X)
    assert torch.equal(plain.recall(x).states, plain.recall(_X).states)


class _Rule:
    """Hebb's rule returning every tensor of its FitResult in one of :data:`_FORMS`."""

    bias = False

    def __init__(self, form):
        self.form, self.name = form, "hebb-in-other-forms"

    def options(self, layers=1, kind="binary"):
        return {}

    def fit(self, problem, progress=None):
        x = problem.patterns
        t, _, n = x.shape
        w = torch.einsum("tpi,tpj->tij", x, x) / n * (1 - torch.eye(n))
        w = torch.minimum(torch.maximum(w, problem.bounds[0][0]), problem.bounds[0][1])
        if self.form is None:
            return xm.FitResult([w], None, torch.zeros(t, dtype=torch.int64),
                                torch.full((t,), 0.5), torch.ones(t, dtype=torch.bool))
        other = self.form if "sparse" in self.form else "sparse"  # (no quantized bool, no
        # negative view of integers: the flags and steps are sparse then)
        return xm.FitResult([_FORMS[self.form](w)], [_FORMS[other](torch.zeros(t, n))],
                            _FORMS[other](torch.zeros(t, dtype=torch.int64)),
                            _FORMS[self.form](torch.full((t,), 0.5)),
                            _FORMS[other](torch.ones(t, dtype=torch.bool)))


@pytest.mark.parametrize("form", list(_FORMS))
def test_a_rule_may_return_its_tensors_in_any_form(form):
    """A custom rule's ``fit`` returning sparse weights (or biases, steps) failed inside the
    contract's check with torch's ``NotImplementedError: Could not run 'aten::ne.Scalar' with
    arguments from the 'SparseCPU' backend``: the FitResult's tensors are read as their dense
    values, as patterns and cues are, and programmed as the dense rule's."""
    memory = xm.train(_P, chip="rram", rule=_Rule(form))
    plain = xm.train(_P, chip="rram", rule=_Rule(None))
    assert torch.equal(memory.weights, plain.weights)
    assert memory.info["loss"] == plain.info["loss"] and memory.info["steps"] == 0


@pytest.mark.parametrize("form", list(_FORMS))
def test_a_corruption_or_a_backend_may_return_its_tensors_in_any_form(form):
    """A custom corruption or chip backend returning a sparse or quantized tensor failed with
    torch's ``NotImplementedError`` (``aten::ne.Scalar`` on SparseCPU, ``"isfinite" not
    implemented for 'QInt8'``); a backend's quantized product was refused as integers (`an
    ADC's codes`) though it holds real numbers with its scale. Each is read as its values."""
    form_of = _FORMS[form]

    def noisy_flips(x, level, generator):
        return form_of(xm.flip_bits(x, level, generator=generator))

    memory = xm.train(_P, chip="rram", rule="pinv")
    protocol = xm.Protocol(corruption=noisy_flips, level=0.2, probes=3, seed=1)
    score = xm.evaluate_memory(memory, _P, protocol)

    def flips(x, level, generator):
        return xm.flip_bits(x, level, generator=generator)

    assert score == xm.evaluate_memory(
        memory, _P, xm.Protocol(corruption=flips, level=0.2, probes=3, seed=1))

    class Other(SimulatedChip):
        def matvec(self, x, generator=None):
            return form_of(super().matvec(x, generator))

        def read_outputs(self, x, outputs, generator=None):
            return form_of(super().read_outputs(x, outputs, generator))

    cues = xm.flip_bits(_P.patterns, 0.2, generator=2)
    for backend in (Other, SimulatedChip):
        chip = BackendMemory(memory, [backend(SimulatedChip.like(layer).crossbar, seed=3)
                                      for layer in layers_of(memory)])
        chip.program_targets()
        states = [chip.recall(cues, mode=mode, seed=4).states for mode in ("sync", "async")]
        if backend is Other:
            other = states
    assert all(torch.equal(a, b) for a, b in zip(other, states, strict=True)) or form == \
        "quantized"  # (a product on the 2^-10 grid may round a field's last bits)
    assert np.isfinite(score.cosine)


@pytest.mark.parametrize("how", ["FaultMap(g)", "FaultMap.load(npz)", "torch tensor"])
def test_a_float16_fault_map_is_refused_as_measured_maps_are(how, tmp_path):
    """``FaultMap(g.astype(np.float16))`` and ``FaultMap.load`` of an ``.npz`` saved as float16
    built a map whose stuck conductances were rounded to 3 digits (2e-06 S held as
    2.026e-06 S: a stuck-OFF device no longer at ``g_min``), where every measured map refuses
    float16 (docs/extending.md: numbers other than float32/float64 raise FileFormatError)."""
    chip = xm.load_preset("rram")
    g = xm.FaultMap.generate(chip, 1, seed=1).g_stuck
    with pytest.raises(xm.FileFormatError, match="float16 .3 significant digits") as caught:
        if how == "FaultMap(g)":
            xm.FaultMap(g.astype(np.float16))
        elif how == "torch tensor":
            xm.FaultMap(torch.tensor(g, dtype=torch.float16).numpy())
        else:
            np.savez(tmp_path / "map.npz", g_stuck=g.astype(np.float16))
            xm.FaultMap.load(tmp_path / "map.npz")
    assert "\n" not in str(caught.value)
    for dtype in (np.float32, np.float64):  # the precisions a map holds are read as before
        assert xm.FaultMap(g.astype(dtype)).summary()["stuck"] == int((~np.isnan(g)).sum())


# -- a PyTorch user's own files ------------------------------------------------------------------

def _torch_files(folder):
    """A tensor saved by ``torch.save`` under the names a user gives it, and in the old format
    (a bare pickle)."""
    t = torch.tensor(_P.patterns)
    for name in ("p.pt", "p.pth", "p.npz", "p.npy", "m.safetensors", "map.npz"):
        torch.save(t if name != "p.pth" else {"patterns": t}, folder / name)
    torch.save(t, folder / "old.pt", _use_new_zipfile_serialization=False)
    return t


@pytest.mark.parametrize("call, name", [
    (xm.load_file, "p.pt"), (xm.load_file, "p.pth"), (xm.load_file, "p.npz"),
    (xm.load_file, "p.npy"), (xm.load_patterns, "p.npz"), (xm.load_memory, "m.safetensors"),
    (xm.read_metadata, "m.safetensors"), (xm.FaultMap.load, "map.npz"),
    (xm.load_file, "old.pt")])
def test_a_torch_save_file_is_named_as_one_never_unpickled(tmp_path, monkeypatch, call, name):
    """``torch.save`` writes a zip archive whose first member is the pickle ``data.pkl``: its
    ``.pt`` was "unknown file type; the file is a zip archive (.npz): name it .npz" (renamed,
    it was "holds 7 arrays; none is named 'patterns'", listing ``p/data.pkl``), and a model or
    fault map given one said "a zip archive (.npz)". Each says it is a PyTorch file, never
    unpickled; a reader of patterns says how to save the tensor so that it reads it."""
    import pickle

    _torch_files(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    with pytest.raises(xm.FileFormatError) as caught:
        call(tmp_path / name)
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path / name) in message
    if name == "old.pt":
        assert "a Python pickle (never unpickled)" in message
    else:
        assert "a PyTorch file of torch.save (a pickle in a zip archive, never unpickled)" in \
            message and "(.npz)" not in message
    if call in (xm.load_file, xm.load_patterns):
        assert "numpy.save('x.npy', t.numpy())" in message


def test_a_real_npz_whose_first_array_is_named_data_pkl_is_not_taken_for_torch(tmp_path):
    from xbarmem.files import is_torch_save, what_is

    np.savez(tmp_path / "a.npz", patterns=_P.patterns)
    raw = (tmp_path / "a.npz").read_bytes()
    assert not is_torch_save(raw) and what_is(raw) == "a zip archive (.npz)"
    assert xm.load_file(tmp_path / "a.npz") == xm.load_file(tmp_path / "a.npz")


def test_a_sweep_spec_prints_one_short_line():
    """``SweepSpec``'s generated repr printed every trial's whole configuration: 252 kB for the
    240 trials of ``examples/sweeps/storkey-variant.toml``, what a notebook shows for ``spec``.
    It prints one line of its settings (short lists as written, long ones by count and range)
    and its count of trials, as every result object of the API does."""
    from pathlib import Path

    from xbarmem.experiments import load_sweep

    spec = load_sweep(Path(__file__).resolve().parents[1] / "examples" / "sweeps" /
                      "storkey-variant.toml")
    text = repr(spec)
    assert len(spec.trials) == 240 and len(text) < 600 and "\n" not in text
    assert text.startswith("SweepSpec(name='storkey-variant-readings', trial='evaluate', "
                           "seeds=[30 values, 0 to 29], batch=16, base={'data': 'mnist-crop24'")
    assert "'fault_rate': [0.0, 0.4, 0.5, 0.6]" in text and "[False, True]" in text
    assert text.endswith("trials=240)") and str(spec) == text


def test_a_protocol_of_a_custom_corruption_shows_its_name_not_an_address():
    """``repr(Protocol(corruption=f, level=...))`` showed ``<function f at 0x7f...>`` (another
    address in every run; a bound method showed its whole object): the corruption is shown by
    the name records and titles give it, unquoted; built-in ones as before."""
    import functools

    def noisy_block(x, level, generator):
        return xm.flip_bits(x, level, generator=generator)

    class Smudge:
        def __call__(self, x, level, generator):
            return x

    rest = ("level=0.2, probes=1, mode='sync', activation=None, max_iterations=100, seed=0, "
            "tol=0.0001)")
    for corruption, name in [(noisy_block, "noisy_block"), (Smudge(), "Smudge"),
                             (functools.partial(noisy_block), "noisy_block"),
                             (Smudge().__call__, "__call__")]:
        protocol = xm.Protocol(corruption=corruption, level=0.2)
        assert repr(protocol) == f"Protocol(corruption={name}, {rest}"
        assert protocol.as_dict()["corruption"] == name
    assert repr(xm.Protocol(level=0.2)) == f"Protocol(corruption='flip', {rest}"


_ARRAY = np.array([1, 2])
_AN_ARRAY_GIVEN = {  # an entry point, given an array where it takes a word or a flag
    "Protocol(activation=)": lambda: xm.Protocol(activation=_ARRAY),
    "find_capacity(rule=)": lambda: xm.find_capacity(_P, rule=_ARRAY, chip="ideal", trials=1,
                                                     thresholds=[0.9]),
    "load_patterns(zero_one=)": lambda: xm.load_patterns("random", n_patterns=3, side=4,
                                                         zero_one=_ARRAY),
    "load_patterns(one_per_class=)": lambda: xm.load_patterns("random", n_patterns=3, side=4,
                                                              one_per_class=_ARRAY),
    "run_scaling(arch=)": lambda: xm.run_scaling([16], rule="hebb", chip="ideal", data="random",
                                                 pool_size=8, thresholds=(0.9,), trials=1,
                                                 arch=_ARRAY),
    "compare_rules(rule=)": lambda: xm.compare_rules(_P, "ideal", ["hebb", _ARRAY], trials=1),
    "compare_rules(rule_options=)": lambda: xm.compare_rules(_P, "ideal", ["hebb"], trials=1,
                                                             rule_options={"hebb": _ARRAY}),
    "occlude_block(fill=1e300)": lambda: xm.occlude_block(_P.patterns, fraction=0.25,
                                                          image_shape=(4, 4), fill=1e300),
}


@pytest.mark.parametrize("call", list(_AN_ARRAY_GIVEN))
def test_a_value_of_another_kind_is_refused_by_name_not_by_numpy(call):
    """A numpy array given for a word or a flag reached a comparison or a truth test before its
    check (``activation or "sign"``, ``rule == "adaptive"``, ``if zero_one``, ``arch ==
    "single"``) and raised numpy's ``ValueError: The truth value of an array with more than one
    element is ambiguous``; ``compare_rules(rules=["hebb", array])`` raised ``TypeError:
    unhashable type: 'numpy.ndarray'`` and its ``rule_options={"hebb": array}`` said ``got
    ndarray an ndarray of shape ...``; ``occlude_block(fill=1e300)`` raised torch's
    ``RuntimeError: value cannot be converted to type float without overflow``. Each is the
    project's error in one line naming the argument."""
    with pytest.raises(xm.XbarmemError) as caught:
        _AN_ARRAY_GIVEN[call]()
    message = str(caught.value)
    assert "\n" not in message and call.split("(")[1].split("=")[0] in message
    assert "ambiguous" not in message and "overflow" not in message
    assert "unhashable" not in message and "ndarray an ndarray" not in message


def _adapt_args():
    from xbarmem.deploy.backend import SimulatedChip, layers_of

    memory = xm.train(_P, chip="rram", rule="pinv")
    return memory, [SimulatedChip.like(layer) for layer in layers_of(memory)]


def _adapt(**given):
    from xbarmem.deploy.chip_loop import adapt

    memory, backends = _adapt_args()
    return adapt(**{"memory": memory, "backends": backends, "patterns": _P, **given})


def _curve(**given):
    from xbarmem.evaluation.curve import recall_curve

    return recall_curve(**{"pool": xm.random_patterns(8, 16, seed=1), "counts": [2],
                           "chip": "ideal", "rule": "hebb", **given})


_UNCHECKED = {  # an argument read before (or instead of) its check, and what a refusal names
    "adapt(backends=None)": (lambda: _adapt(backends=None), "backend 0 (NoneType)"),
    "adapt(backends=3)": (lambda: _adapt(backends=3), "backend 0 (int)"),
    "adapt(target=None)": (lambda: _adapt(target=None), "target must be a number >= -1.0"),
    "adapt(target=array)": (lambda: _adapt(target=_ARRAY), "target must be a number"),
    "adapt(target=-2)": (lambda: _adapt(target=-2), "target must be >= -1.0"),
    "adapt(callback=5)": (lambda: _adapt(callback=5), "callback must be a function"),
    "recall_curve(arch=array)": (lambda: _curve(arch=_ARRAY), "arch must be one of"),
    "recall_curve(rule_options='x')": (lambda: _curve(rule_options="x"),
                                       "rule_options must be a dict"),
    "recall_curve(prepare=5)": (lambda: _curve(prepare=5), "prepare must be a function"),
}


@pytest.mark.parametrize("call", list(_UNCHECKED))
def test_adapt_and_recall_curve_check_every_argument_first(call):
    """``adapt`` took ``backends=None`` to ``list(None)`` (``TypeError: 'NoneType' object is
    not iterable``), compared ``target=None`` with a cosine (``TypeError: '>=' not supported``;
    an array: numpy's ``ambiguous``) and called ``callback=5`` after the first round had
    programmed the chip; ``recall_curve`` did the same with ``arch``, ``rule_options`` and
    ``prepare``. Each is refused in one line naming it, before any work."""
    run, words = _UNCHECKED[call]
    with pytest.raises(xm.XbarmemError, match=words.replace("(", r"\(").replace(")", r"\)")) \
            as caught:
        run()
    assert "\n" not in str(caught.value)


def test_one_backend_or_any_sequence_of_them_is_still_taken():
    from xbarmem.deploy.backend import BackendMemory

    memory, backends = _adapt_args()
    for given in (backends, tuple(backends), backends[0], iter(backends)):
        assert BackendMemory(memory, given).n_neurons == 16
    result = _adapt(target=2.0, rounds=1)  # (above 1: every round runs, as adapt --target)
    assert not result.reached_target and len(result.rounds) == 2  # (round 0 and round 1)
