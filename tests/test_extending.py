"""Extending xbarmem (docs/extending.md): a rule object trains wherever a rule name does, a
custom corruption runs wherever a protocol does, and a rule, corruption or backend that breaks
its contract is refused with a message naming the contract (they met a ConfigError about
built-in names, or an AttributeError / shape error from deep inside)."""

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, SimulatedChip, layers_of
from xbarmem.deploy.chip_loop import adapt
from xbarmem.errors import ArgumentError, ConfigError, PatternError
from xbarmem.evaluation.curve import recall_curve

P = xm.random_patterns(4, 16, seed=0)
CHIP = xm.load_preset("rram")


class Clipped:
    """A minimal rule object: the pseudo-inverse rule's weights, nothing else."""

    name, bias = "mine", False

    def options(self, layers=1, kind="binary"):
        return {"layers": layers}

    def fit(self, problem, progress=None):
        return xm.get_rule("pinv").fit(problem)


def test_a_rule_object_trains_as_its_built_in_twin_by_name():
    """``train(rule=obj)`` was refused (``rule must be a rule name``); now it gives what the
    same rule by name gives, named by the object in ``info``."""
    by_name = xm.train(P, chip=CHIP, rule="pinv", fault_seed=3)
    by_object = xm.train(P, chip=CHIP, rule=Clipped(), fault_seed=3)
    assert np.array_equal(by_name.crossbar.planes(), by_object.crossbar.planes())
    assert by_object.info["rule"] == "mine"
    assert by_object.info["rule_options"] == {"layers": 1}


def test_a_rule_object_is_compared_and_goes_through_the_capacity_path():
    table = xm.compare_rules(P, CHIP, [Clipped(), "pinv"], trials=1)
    assert list(table["rules"]) == ["mine", "pinv"]
    assert table["rules"]["mine"]["cosine"] == table["rules"]["pinv"]["cosine"]
    curve = recall_curve(P, [2, 4], CHIP, Clipped())
    assert curve["rule"] == "mine" and [p["count"] for p in curve["points"]] == [2, 4]
    found = xm.find_capacity(P, chip=CHIP, rule=Clipped(), trials=1, start=2)
    named = xm.find_capacity(P, chip=CHIP, rule="pinv", trials=1, start=2)
    assert found.settings["rule"] == "mine" and found.capacity == named.capacity


def test_every_evaluation_records_rule_options_as_the_capacity_search_does():
    """``compare_rules`` and ``recall_curve`` recorded no rule options at all (a comparison
    with ``get_rule("adaptive", max_steps=20)`` or ``rule_options={"hebb": ...}`` read as one
    of the defaults), while ``find_capacity`` did: now all three record the options given with
    a rule name as given, and a rule object's own (``options(layers, kind)``)."""
    short = {"max_steps": 2, "finetune_steps": 0}
    table = xm.compare_rules(P, CHIP, [Clipped(), "pinv", "adaptive"], trials=1,
                             rule_options={"adaptive": short})
    assert table["settings"]["rule_options"] == {"mine": {"layers": 1}, "pinv": {},
                                                 "adaptive": short}
    assert recall_curve(P, [2], CHIP, Clipped())["rule_options"] == {"layers": 1}
    assert recall_curve(P, [2], CHIP, "adaptive", rule_options=short)["rule_options"] == short
    found = xm.find_capacity(P, chip=CHIP, rule="adaptive", trials=1, start=2,
                             rule_options=short)
    assert found.settings["rule_options"] == short


def test_a_capacity_search_records_the_options_a_rule_object_trained_with():
    """``settings["rule_options"]`` was ``{}`` for a rule object, as for the defaults: a search
    with ``get_rule("adaptive", max_steps=20)`` read as one of the default rule; and a
    ``cue_budget`` was recorded but never applied to an object (it sets the adaptive rule's
    ``cue_copies`` by name)."""
    found = xm.find_capacity(P, chip=CHIP, rule=Clipped(), trials=1, start=2)
    assert found.settings["rule_options"] == {"layers": 1}
    short = xm.get_rule("adaptive", max_steps=20, finetune_steps=0)
    with pytest.raises(ConfigError, match=r"^cue_budget sets the cue_copies of the adaptive "
                       r"rule given by name at each count; rule 'adaptive' is an object: set "
                       r"its options on it$"):
        xm.find_capacity(P, chip=CHIP, rule=short, trials=1, start=2, cue_budget=64)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: xm.train(P, rule=Clipped(), max_steps=3), ArgumentError,
     r"^train\(\) got an unknown keyword argument 'max_steps' \(neither a train\(\) argument "
     r"nor an option given here: a rule object's options are set on it\)"),
    (lambda: xm.find_capacity(P, rule=Clipped(), rule_options={"lr": 1}), ConfigError,
     r"^options \(lr\) apply to rules given by name; rule 'mine' is an object: set its "
     r"options on it$"),
    (lambda: xm.compare_rules(P, CHIP, [Clipped(), Clipped()], trials=1), ConfigError,
     r"^rules must have distinct names .* got mine, mine$"),
    (lambda: xm.compare_rules(P, CHIP, ["hebb", "pinv", "hebb"], trials=1), ConfigError,
     r"^rules must have distinct names .*: 'hebb' is given twice; got hebb, pinv, hebb$"),
    (lambda: xm.compare_rules(P, CHIP, ["mine", Clipped()], trials=1), ConfigError,
     r"^rules must have distinct names .*: 'mine' is given twice; got mine, mine$"),
], ids=["train-options", "capacity-options", "same-names", "name-twice", "name-and-object"])
def test_what_a_rule_object_cannot_take_is_refused_before_training(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_demo_refuses_a_rule_given_twice_before_it_writes(tmp_path):
    """``compare_rules(..., ["hebb", "hebb"])`` kept one entry (results are keyed by name);
    the demo refuses it before its output folder is made."""
    from xbarmem.experiments.demo import run_demo

    with pytest.raises(ConfigError, match=r"'hebb' is given twice; got hebb, hebb$"):
        run_demo(rules=["hebb", "hebb"], out_dir=tmp_path / "demo")
    assert not (tmp_path / "demo").exists()


class NoOptions:
    name = "x"

    def fit(self, problem, progress=None):
        return None


@pytest.mark.parametrize("call", [
    lambda: xm.fit_memories(NoOptions(), P.patterns, [xm.SingleLayerMemory(16, CHIP)]),
    lambda: xm.train(P, rule=NoOptions()),
    lambda: xm.compare_rules(P, CHIP, NoOptions(), trials=1),
    lambda: recall_curve(P, [2], CHIP, NoOptions()),
], ids=["fit_memories", "train", "compare_rules", "recall_curve"])
def test_a_rule_object_missing_the_contract_is_told_what_it_lacks(call):
    """(fit_memories said ``rule must be a Rule (from get_rule(name)), got NoOptions``.)"""
    with pytest.raises(ArgumentError, match=r"^rule must be a rule name or a Rule \(name "
                       r"\(str\), bias \(bool\), options\(layers, kind\) -> dict and fit\(problem,"
                       r" progress=None\) -> FitResult\); NoOptions lacks bias \(bool\), "
                       r"options\(layers, kind\)$"):
        call()


class OldOptions(Clipped):
    def options(self):  # no (layers, kind)
        return {}


class NoProgress(Clipped):
    def fit(self, problem):  # no progress
        return super().fit(problem)


@pytest.mark.parametrize(("call", "match"), [
    (lambda m: xm.fit_memories(OldOptions(), P.patterns, [m]),
     r"^rule OldOptions: its options cannot be called as options\(layers, kind\) \(too many "
     r"positional arguments\); a Rule has name \(str\), bias"),
    (lambda m: xm.fit_memories(NoProgress(), P.patterns, [m], progress=lambda s, v: None),
     r"^rule NoProgress: its fit cannot be called as fit\(problem, progress=...\), as "
     r"progress is given \(got an unexpected keyword argument 'progress'\); a Rule has"),
    (lambda m: adapt(m, [SimulatedChip.like(layers_of(m)[0])], P, trainer=OldOptions()),
     r"^trainer OldOptions: its options cannot be called as options\(layers, kind\)"),
], ids=["options", "fit-progress", "adapt-trainer"])
def test_a_rule_whose_methods_the_contract_cannot_call_is_refused_before_training(call, match):
    """(A TypeError from inside -- ``OldOptions.options() takes 1 positional argument but 3
    were given`` -- named neither the rule object nor the contract.) A ``fit`` without
    ``progress`` still trains while no progress is asked for."""
    memory = xm.train(P, chip=CHIP, rule="pinv")
    before = memory.crossbar.planes().copy()
    with pytest.raises(ArgumentError, match=match):
        call(memory)
    assert np.array_equal(memory.crossbar.planes(), before)
    assert xm.train(P, chip=CHIP, rule=NoProgress()).info["rule"] == "mine"


def test_a_rule_objects_options_are_recorded_as_its_model_file_keeps_them(tmp_path):
    """``info["rule_options"]`` held the array and NaN as given, so a memory's ``info`` and
    its loaded copy's differed (the docs: stored as lists, NaN as null)."""
    class Arrays(Clipped):
        def options(self, layers=1, kind="binary"):
            return {"w": np.arange(2), "t": torch.ones(1), "tol": float("nan")}

    memory = xm.train(P, chip=CHIP, rule=Arrays())
    assert memory.info["rule_options"] == {"w": [0, 1], "t": [1.0], "tol": None}
    loaded = xm.load_memory(xm.save_memory(memory, tmp_path / "m.safetensors"))
    assert loaded.info["rule_options"] == memory.info["rule_options"]


def _returning(change):
    class Broken(Clipped):
        def fit(self, problem, progress=None):
            return change(super().fit(problem))
    return Broken()


def _set(result, **fields):
    for key, value in fields.items():
        setattr(result, key, value)
    return result


@pytest.mark.parametrize(("change", "match"), [
    (lambda r: (r.weights, r.biases), r"a FitResult, got tuple$"),
    (lambda r: _set(r, weights=[r.weights[0][0]]), r"weights\[0\] of shape \(1, 16, 16\), "
                                                   r"got \(16, 16\)$"),
    (lambda r: _set(r, weights=r.weights[0]), r"weights as a list of 1 tensor, one per "
                                              r"layer, got"),
    (lambda r: _set(r, weights=[r.weights[0] * np.nan]), r"weights\[0\] of shape \(1, 16, 16\)"
                                                         r" of finite numbers"),
    (lambda r: _set(r, steps=0), r"steps of shape \(1,\) \(a torch tensor\), got int$"),
    (lambda r: _set(r, biases=[torch.zeros(1, 3)]), r"biases\[0\] of shape \(1, 16\), "
                                                    r"got \(1, 3\)$"),
    (lambda r: _set(r, weights=[r.weights[0].to("meta")]), r"weights\[0\] of shape "
                                                           r"\(1, 16, 16\) \(a CPU tensor\), "
                                                           r"got a tensor on meta$"),
    (lambda r: _set(r, weights=[r.weights[0] > 0]), r"weights\[0\] .* \(real numbers\), got "
                                                    r"a torch.bool tensor$"),
    (lambda r: _set(r, weights=[r.weights[0].to(torch.complex64)]), r"weights\[0\] .* \(real "
                                                                     r"numbers\), got a "
                                                                     r"torch.complex64"),
], ids=["tuple", "one-network", "no-list", "nan", "steps", "biases", "meta", "bool", "complex"])
def test_what_a_rule_returns_is_checked_before_anything_is_programmed(change, match):
    """(A tuple met ``AttributeError: 'tuple' object has no attribute 'weights'``, an int
    ``steps`` a TypeError, weights of one network a PatternError about ``(16, 16)``.)"""
    memory = xm.SingleLayerMemory(16, CHIP, bias=False)
    with pytest.raises(ConfigError, match=r"^rule 'mine': fit\(problem\) must return " + match):
        xm.fit_memories(_returning(change), P.patterns, [memory])
    assert memory.targets is None


class _Mutating(Clipped):
    """A rule that uses its problem's patterns as scratch space (zeroes them)."""

    def fit(self, problem, progress=None):
        result = super().fit(problem)
        problem.patterns.zero_()
        return result


@pytest.mark.parametrize("call", [
    lambda r, p: xm.train(p, chip=CHIP, rule=r),
    lambda r, p: xm.compare_rules(p, CHIP, [r], trials=1, protocol=xm.Protocol(probes=2)),
], ids=["train", "compare_rules"])
def test_a_rule_changing_its_problem_leaves_the_callers_patterns(call):
    """(A rule zeroing ``problem.patterns`` zeroed the caller's PatternSet, and
    ``compare_rules`` then refused its own patterns as all zeros.)"""
    patterns = xm.random_patterns(4, 16, seed=0)
    before = np.array(patterns.patterns, copy=True)
    call(_Mutating(), patterns)
    assert np.array_equal(patterns.patterns, before)


def _block(x, level, generator):
    """Negate the first ``level`` of every cue (a custom corruption)."""
    k = round(level * x.shape[1])
    return torch.cat([-x[:, :k], x[:, k:]], dim=1)


def test_a_custom_corruption_runs_wherever_a_protocol_does():
    """``Protocol(corruption=f)`` was ``PatternError: unknown corruption method <function``."""
    memory = xm.train(P, chip="ideal", rule="pinv")
    same = [xm.evaluate_memory(memory, P, xm.Protocol(corruption=c, level=0.2, probes=3))
            for c in ("flip", xm.flip_bits)]
    assert torch.equal(same[0].cues, same[1].cues)
    score = xm.evaluate_memory(memory, P, xm.Protocol(corruption=_block, level=0.25))
    expected = torch.tensor(P.patterns).clone()
    expected[:, :4] *= -1
    assert torch.equal(score.cues, expected)
    assert xm.Protocol(corruption=_block, level=0.25).as_dict()["corruption"] == "_block"
    with pytest.raises(PatternError, match=r"^unknown corruption method '_block': expected one "
                       r"of flip, gaussian, occlude, salt-pepper, or a function f\(x, level, "
                       r"generator\) \(if '_block' names a corruption function of yours, as "
                       r"a result or Protocol.as_dict\(\) records it: pass the function "
                       r"itself\)$"):
        xm.Protocol(**xm.Protocol(corruption=_block, level=0.25).as_dict())
    table = xm.compare_rules(P, CHIP, "hebb", trials=1,
                             protocol=xm.Protocol(corruption=_block, level=0.25))
    assert table["settings"]["protocol"]["corruption"] == "_block"


@pytest.mark.parametrize(("corruption", "match"), [
    (lambda x, level, g: x.numpy(), r"got ndarray$"),
    (lambda x, level, g: x[:, :3], r"got \(4, 3\)$"),
    (lambda x, level, g: x * np.inf, r"of finite numbers, got NaN or infinite values$"),
    (lambda x, level, g: x.to("meta"), r"of real numbers on the CPU, got a torch.float32 "
                                       r"tensor on meta$"),
    (lambda x, level, g: x.to(torch.complex64), r"of real numbers on the CPU, got a "
                                                r"torch.complex64 tensor on cpu$"),
], ids=["numpy", "shape", "inf", "meta", "complex"])
def test_a_custom_corruption_breaking_its_contract_is_named(corruption, match):
    memory = xm.train(P, chip="ideal", rule="pinv")
    with pytest.raises(PatternError, match=r"^corruption <lambda>\(x, level, generator\) must "
                       r"return a torch tensor of x's shape \(4, 16\)" + ".*" + match):
        xm.evaluate_memory(memory, P, xm.Protocol(corruption=corruption, level=0.1))
    with pytest.raises(PatternError, match=r"^level \(of corruption _block\) must be >= 0"):
        xm.Protocol(corruption=_block, level=-1)
    with pytest.raises(PatternError, match=r"^corruption <lambda> must be a function "
                       r"f\(x, level, generator\); it cannot be called so"):
        xm.Protocol(corruption=lambda x, level: x)  # (was a TypeError in the first recall)


class _Wrong(SimulatedChip):
    """A simulated chip whose products or read-back break the protocol."""

    def matvec(self, x, generator=None):
        return super().matvec(x, generator).numpy()

    def read_back(self):
        return super().read_back() * 1e6  # microsiemens


def test_a_backend_breaking_the_protocol_is_named(small_memory):
    pset, memory = small_memory
    wrong = _Wrong.like(layers_of(memory)[0])
    with pytest.raises(ConfigError, match=r"^backend 0 \(_Wrong\): matvec\(x\) must return a "
                       r"torch tensor of shape \(3, 16\) in weight units, got ndarray$"):
        BackendMemory(memory, [wrong]).recall(torch.tensor(pset.patterns))
    with pytest.raises(ConfigError, match=r"^backend 0 \(_Wrong\): read_back\(\) must return "
                       r"\(2, 16, 17\) conductances in siemens \(from 0 to .*\), got .* to .*, "
                       r"far above the chip window .* S, and \d+% fit it as microsiemens"):
        adapt(memory, [wrong], pset, rounds=0)


def test_a_trainer_for_adaptation_is_checked_as_a_rule(small_memory):
    pset, memory = small_memory
    with pytest.raises(ArgumentError, match=r"^trainer must be a rule name or a Rule .* "
                       r"NoOptions lacks bias"):
        adapt(memory, SimulatedChip.like(layers_of(memory)[0]), pset, trainer=NoOptions())


def test_an_adapted_model_names_the_rule_that_re_trained_it(tmp_path, run_cli):
    """A model trained by a rule of the user's (or ``pinv``) is re-trained by the adaptive
    rule unless another trainer is given; the adapted model still said only ``rule: mine``
    with its options, its ``info["adapt"]`` and the settings named no rule, and ``xbarmem
    adapt`` printed "re-training 0.1 s"."""
    memory = xm.train(P, chip=CHIP, rule=Clipped())
    for trainer, name in ((Clipped(), "mine"), (None, "adaptive")):
        chip = SimulatedChip.like(layers_of(memory)[0], seed=1)
        result = adapt(memory, chip, P, rounds=1, target=1.01, trainer=trainer)
        assert result.settings["rule"] == name
        assert result.memory.info["adapt"]["rule"] == name
        assert (result.memory.info["rule"], result.memory.info["rule_options"]) == (
            "mine", {"layers": 1})
    assert result.memory.info["adapt"]["rule_options"]["bias"] is False
    model = xm.save_memory(memory, tmp_path / "m.safetensors", patterns=P)
    code, out, _ = run_cli("adapt", model, "--rounds", 1, "--target", 1.01,
                           "--rule-option", "max_steps=5")
    assert code == 0 and "re-trained by the adaptive rule in " in " ".join(out.split())


def test_an_unknown_rule_name_says_where_a_rule_of_your_own_goes(run_cli):
    """`--rule my-proj` and `get_rule("my-proj")` listed the built-in names only: nothing said
    that a rule of one's own is an object given as rule= (a close name still gets "did you
    mean")."""
    import xbarmem as xm
    from xbarmem.errors import ConfigError

    with pytest.raises(ConfigError, match=r"a rule of your own is a Python object passed as "
                                          r"rule= to train"):
        xm.get_rule("my-proj")
    code, _, err = run_cli("train", "--rule", "my-proj", "--data", "random", "-p", "3",
                           "--neurons", "16", "-o", "never.safetensors")
    assert code == 2 and "a rule of your own is a Python object" in err, err
    code, _, err = run_cli("train", "--rule", "hebbb", "--data", "random", "-p", "3",
                           "--neurons", "16", "-o", "never.safetensors")
    assert code == 2 and "did you mean 'hebb'?" in err and "your own" not in err, err
