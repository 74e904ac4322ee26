"""Array arguments of public helpers read by their module's one reader: the metrics of
``xbarmem.evaluation.metrics`` (values, converged flags, a bias), the matrix interface of
``FloatMatrix`` (as a ``Crossbar`` reads its inputs) and ``measure_memory``'s targets -- a
user's tensor, array or list gives the same result, and a bad one a one-line
``PatternError`` naming the parameter, never a raw torch / numpy error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.energy.measure import measure_memory
from xbarmem.errors import PatternError
from xbarmem.evaluation import metrics


def _patterns() -> np.ndarray:
    return xm.random_patterns(3, 16, seed=0).patterns


def _weights() -> np.ndarray:
    x = _patterns().astype(np.float64)
    w = x.T @ x / 16
    np.fill_diagonal(w, 0.0)
    return w


def _one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    text = str(error.value)
    assert "\n" not in text and all(w in text for w in words), text


@pytest.mark.parametrize("values", [
    np.array([1.0, 0.0, 1.0]), [1.0, 0.0, 1.0], torch.tensor([1.0, 0.0, 1.0], requires_grad=True),
    torch.tensor([True, False, True]), np.array([1, 0, 1], dtype=np.int8)])
@pytest.mark.parametrize("mean", [metrics.mean_value, metrics.mean_cosine])
def test_means_read_any_container(mean, values):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no requires_grad warning)
        assert mean(values) == pytest.approx(2 / 3)


@pytest.mark.parametrize(("values", "words"), [
    ([], ("values", "at least one")), (None, ("values", "None")), ("abc", ("values", "'abc'")),
    (np.array([1.0, np.nan]), ("values", "NaN"))])
@pytest.mark.parametrize("mean", [metrics.mean_value, metrics.mean_cosine])
def test_means_refuse_what_has_no_mean_naming_it(mean, values, words):
    with pytest.raises(PatternError) as error:
        mean(values)
    _one_line(error, *words)


@pytest.mark.parametrize(("converged", "words"), [
    (None, ("converged", "None")), ([True, False], ("converged", "3 entries")),
    (np.array([1.0, np.nan, 1.0]), ("converged", "NaN"))])
def test_recall_outcomes_names_bad_converged_flags(converged, words):
    x = _patterns()
    with pytest.raises(PatternError) as error:
        metrics.recall_outcomes(x, x, x, converged)
    _one_line(error, *words)


@pytest.mark.parametrize(("states", "target", "word"), [
    ("nan", "ok", "states"), ("ok", "nan", "target")])
def test_recall_outcomes_names_its_own_parameters(states, target, word):
    x = _patterns()
    pick = {"ok": x, "nan": x * np.nan}
    with pytest.raises(PatternError) as error:
        metrics.recall_outcomes(pick[states], pick[target], x, [True] * 3)
    _one_line(error, word)


@pytest.mark.parametrize("converged", [
    [True] * 3, np.ones(3), torch.ones(3, dtype=torch.bool), torch.ones(3, requires_grad=True)])
def test_recall_outcomes_reads_flags_from_any_container(converged):
    x = _patterns()
    assert metrics.recall_outcomes(x, x, x, converged)["recalled"] == 1.0


@pytest.mark.parametrize(("bias", "words"), [
    (np.zeros(8), ("bias", "16 entries")), ("a", ("bias", "'a'")),
    (np.full(16, np.nan), ("bias", "NaN"))])
def test_field_margins_names_a_bad_bias(bias, words):
    with pytest.raises(PatternError) as error:
        metrics.field_margins(_weights(), bias, _patterns())
    _one_line(error, *words)


@pytest.mark.parametrize(("weights", "patterns", "named"), [
    (np.zeros((1, 1)), np.ones((3, 1)), "weights (N, N) with N >= 2"),
    (np.zeros((0, 0)), np.ones((3, 0)), "weights must hold rows of N >= 1 values"),
    ("w", "p", "patterns (P, N) with P >= 1")])
def test_field_margins_refuses_empty_or_one_neuron_weights(weights, patterns, named):
    w, p = (_weights(), _patterns()[:0]) if isinstance(weights, str) else (weights, patterns)
    with pytest.raises(PatternError) as error:
        metrics.field_margins(w, None, p)
    _one_line(error, named)


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(np.float64), lambda x: x.tolist(),
    lambda x: torch.tensor(x, dtype=torch.float64), lambda x: np.ascontiguousarray(x.T).T,
    lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True)])
def test_float_matrix_reads_inputs_as_a_crossbar_does(convert):
    x = _patterns()
    fm = xm.FloatMatrix(_weights())
    want = fm.matvec(torch.tensor(x))
    got = fm.matvec(convert(x))
    assert got.dtype == torch.float32 and torch.equal(got.detach(), want)
    rows = fm.read_outputs(convert(x), [0, 5, 15])
    assert torch.equal(rows.detach(), want[torch.arange(3), torch.tensor([0, 5, 15])])


@pytest.mark.parametrize(("call", "words"), [
    (lambda fm, x: fm.matvec(x[:, :8]), ("input", "(batch, 16)")),
    (lambda fm, x: fm.matvec(x[0]), ("input", "(batch, 16)")),
    (lambda fm, x: fm.read_outputs(x[:, :8], [0, 1, 2]), ("input", "(batch, 16)")),
    (lambda fm, x: fm.read_outputs(x, [0, 1, 99]), ("outputs", "0..15")),
    (lambda fm, x: fm.read_outputs(x, [0, 1]), ("outputs", "(3,)")),
    (lambda fm, x: fm.matvec("abc"), ("input", "'abc'"))])
def test_float_matrix_names_bad_reads(call, words):
    with pytest.raises(PatternError) as error:
        call(xm.FloatMatrix(_weights()), torch.tensor(_patterns()))
    _one_line(error, *words)


@pytest.mark.parametrize("targets", ["nan", "inf"])
def test_measure_memory_names_non_finite_targets_before_any_recall(targets, monkeypatch):
    x = _patterns()
    memory = xm.train(x, chip="ideal", rule="hebb")
    monkeypatch.setattr(type(memory), "recall", lambda *a, **k: pytest.fail("recalled"))
    with pytest.raises(PatternError) as error:
        measure_memory(memory, x, x * float(targets))
    _one_line(error, "targets", "NaN")


@pytest.mark.parametrize(("sizes", "layout"), [
    (np.array([16, 16]), [16, 16]), (torch.tensor([16, 8, 16]), [16, 8, 16]),
    (np.arange(16, 17).repeat(2), [16, 16]),
    ((16, 8, 16), [16, 8, 16])])
def test_memory_sizes_read_as_every_list_argument(sizes, layout):
    memory = xm.Memory(sizes, chip="ideal")
    assert memory.sizes == layout and all(type(s) is int for s in memory.sizes)


@pytest.mark.parametrize("sizes", [np.array([[16, 16]]), np.array([16]), "ab", 16])
def test_memory_sizes_refuse_what_lists_no_widths(sizes):
    with pytest.raises(xm.ConfigError) as error:
        xm.Memory(sizes, chip="ideal")
    _one_line(error, "sizes")


def _digits() -> xm.PatternSet:
    return xm.random_patterns(10, 16, seed=1)


def _demo_rate() -> None:
    from xbarmem.experiments.demo import run_demo

    run_demo(fault_rate=2, trials=1, probes=1)


def _crossbar_nan(which: str) -> None:
    mem = xm.train(_patterns(), chip="ideal", rule="hebb")
    bar = mem.layers[0]
    g = {"g_pos": bar.g_pos.copy(), "g_neg": bar.g_neg.copy()}
    g[which][0, 0] = np.nan
    bar.set_conductances(g["g_pos"], g["g_neg"], bar.w_max)


# each: a call with one bad argument, the words its one-line message must hold (the name of
# the parameter at fault, in the caller's words) and the words it must not
NAMED = {
    "with_faults rate": (lambda: xm.load_preset("rram").with_faults(2), ("rate ",), ("faults",)),
    "run_demo fault_rate": (_demo_rate, ("fault_rate",), ()),
    "set_conductances g_pos": (lambda: _crossbar_nan("g_pos"), ("g_pos",), ("g_neg",)),
    "set_conductances g_neg": (lambda: _crossbar_nan("g_neg"), ("g_neg",), ("g_pos",)),
    "train of an empty list": (lambda: xm.train([]), ("empty",), ("reshape",)),
    "subset of no indices": (lambda: _digits().subset([]), ("indices",), ("arrays used",)),
    "subset of 2-D indices": (lambda: _digits().subset(np.array([[0, 1]])), ("indices",),
                              ("patterns must",)),
    "subset of float indices": (lambda: _digits().subset([0.5]), ("indices",), ()),
    "FloatMatrix NaN bias": (lambda: xm.FloatMatrix(np.eye(4), bias=np.full(4, np.nan)),
                             ("bias must be finite",), ("contain ",)),
    "predict of a bool": (lambda: xm.fit_power_law([16, 25, 36], [3, 4, 6]).predict(True),
                          ("n must",), ()),
}


@pytest.mark.parametrize("case", sorted(NAMED))
def test_a_refusal_names_the_argument_at_fault(case: str) -> None:
    """One line naming the argument at fault in the caller's own words: before, ``with_faults``
    and ``run_demo`` named ``faults``, ``set_conductances`` neither of its two arrays, an empty
    list was told to be reshaped to ``(1, 0)``, ``subset([])`` passed numpy's own words and
    2-D indices were named ``patterns``, a bool was taken as the size 1."""
    call, words, absent = NAMED[case]
    with pytest.raises(xm.errors.XbarmemError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    assert all(word in message for word in words), message
    assert not any(word in message for word in absent), message


def test_counts_of_one_memory_read_in_the_singular() -> None:
    """``counts`` of one memory: "1 integer", not "1 integers"."""
    from xbarmem.learning.base import valid_mask

    with pytest.raises(xm.errors.ConfigError, match=r"^counts must be 1 integer in 1\.\.4 "):
        valid_mask(torch.tensor([9]), 1, 4)


@pytest.mark.parametrize("call", [
    lambda path: xm.FaultMap.load(path),
    lambda path: xm.save_memory(xm.train(_patterns(), chip="ideal", rule="hebb"), path),
    lambda path: xm.FaultMap.generate(xm.load_preset("rram"), 1, seed=0).save(path),
], ids=["fault map load", "model save", "fault map save"])
@pytest.mark.parametrize("name", ["null", "model"])
def test_a_file_name_without_an_extension_is_shown_whole(tmp_path, call, name):
    """A file whose name has no extension (``/dev/null``) was refused as "must end in .npz or
    .csv, got null", its last part alone; it is shown as given and said to have none."""
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(xm.errors.XbarmemError) as error:
        call(path)
    assert f"got {path} (no extension)" in str(error.value)
