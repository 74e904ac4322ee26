"""A researcher extends xbarmem from their own code, following docs/extending.md: a rule of
their own, a device effect, a cue corruption, a chip file. The extensions' names are one name
space with the built-in ones' (records, model files, figures and ``adapt`` read a name as the
built-in's): a rule object called ``hebb`` or a corruption function called ``flip`` was taken
and then recorded, re-read and re-trained as the built-in."""

import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, SimulatedChip, layers_of
from xbarmem.deploy.chip_loop import adapt
from xbarmem.energy.circuit import load_circuit
from xbarmem.errors import ArgumentError, ConfigError, PatternError
from xbarmem.evaluation.curve import recall_curve

P = xm.random_patterns(4, 16, seed=0)
CHIP = xm.load_preset("ideal")


class Decay:
    """A rule of one's own: the projection (pseudo-inverse) rule with weight decay ``decay``
    toward 0, scaled to the chip's ``w_max`` and clipped to each weight's interval."""

    name, bias = "projection-decay", False

    def __init__(self, decay=0.1):
        self.decay = decay

    def options(self, layers=1, kind="binary"):
        return {"decay": self.decay}

    def fit(self, problem, progress=None):
        x = problem.patterns.double()                                 # (T, P, N)
        t, p, n = x.shape
        gram = x @ x.transpose(1, 2) + self.decay * torch.eye(p, dtype=x.dtype)
        w = x.transpose(1, 2) @ torch.linalg.solve(gram, x)           # (T, N, N)
        w = w * (1 - torch.eye(n, dtype=x.dtype))
        w = w / w.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
        w_max = torch.tensor(problem.w_max[0] if problem.w_max else [1.0] * t)
        lo, hi = problem.bounds[0]
        w = torch.minimum(torch.maximum(w.float() * w_max[:, None, None], lo), hi)
        return xm.FitResult(weights=[w], biases=None, steps=torch.zeros(t, dtype=torch.int64),
                            loss=torch.full((t,), float("nan")),
                            converged=torch.ones(t, dtype=torch.bool))


def named(name):
    """:class:`Decay` under another ``name``."""
    rule = Decay()
    rule.name = name
    return rule


def test_a_rule_of_ones_own_goes_through_every_documented_entry_point():
    """The documented path, literally: ``train``, ``compare_rules``, ``recall_curve`` and
    ``find_capacity`` take the object and record its name and options."""
    memory = xm.train(P, chip=CHIP, rule=Decay())
    assert memory.info["rule"] == "projection-decay"
    assert memory.info["rule_options"] == {"decay": 0.1}
    table = xm.compare_rules(P, CHIP, [Decay(), "pinv"], trials=1)
    assert list(table["rules"]) == ["projection-decay", "pinv"]
    curve = recall_curve(P, [2, 4], CHIP, Decay(), trials=1)
    assert [p["count"] for p in curve["points"]] == [2, 4]
    found = xm.find_capacity(P, chip=CHIP, rule=Decay(), trials=1, thresholds=[0.95])
    assert found.settings["rule"] == "projection-decay"
    assert found.settings["rule_options"] == {"decay": 0.1}


BUILT_IN_NAMES = ["hebb", "adaptive", "Pinv", "storkey_variant", " perceptron "]
ENTRY_POINTS = {
    "train": lambda rule: xm.train(P, chip=CHIP, rule=rule),
    "compare_rules": lambda rule: xm.compare_rules(P, CHIP, [rule], trials=1),
    "recall_curve": lambda rule: recall_curve(P, [2], CHIP, rule, trials=1),
    "find_capacity": lambda rule: xm.find_capacity(P, chip=CHIP, rule=rule, trials=1,
                                                   thresholds=[0.95]),
}


@pytest.mark.parametrize("call", list(ENTRY_POINTS))
@pytest.mark.parametrize("name", BUILT_IN_NAMES)
def test_a_rule_object_may_not_take_a_built_in_rules_name(name, call):
    """A rule object called ``hebb`` trained and was recorded as ``hebb``: model files,
    results, figures' colours and ``adapt`` (which re-trains an ``adaptive`` model with the
    options it recorded) took it for the built-in rule. Refused before training, naming the
    name."""
    with pytest.raises(ConfigError, match=r"built-in rule.*name of its own") as caught:
        ENTRY_POINTS[call](named(name))
    assert "\n" not in str(caught.value)


def test_a_rule_named_adaptive_no_longer_reaches_adapt_as_a_damaged_file():
    """What the clash did: a model trained by a rule object named ``adaptive`` with options of
    its own was re-trained by ``adapt`` with those options, refused as ``info.rule_options of
    the memory: ... unknown adaptive rule key decay`` (a FileFormatError blaming the file)."""
    with pytest.raises(ConfigError, match="'adaptive'.*built-in rule"):
        xm.train(P, chip=CHIP, rule=named("adaptive"))


def test_a_subclass_of_a_built_in_rule_is_a_rule_of_ones_own():
    """A subclass of ``Hebb`` named ``pinv`` trained Hebb's weights and was recorded as
    ``pinv``; one keeping ``hebb`` may change what it trains. Both take a name of their own."""
    hebb = type(xm.get_rule("hebb"))
    for name in ("pinv", "hebb"):
        mine = type("Mine", (hebb,), {"name": name})
        with pytest.raises(ConfigError, match=f"'{name}'.*built-in rule"):
            xm.train(P, chip=CHIP, rule=mine())
    assert xm.train(P, chip=CHIP, rule=type("Mine", (hebb,), {"name": "my-hebb"})()
                    ).info["rule"] == "my-hebb"


def test_the_built_in_rules_as_objects_keep_their_names():
    """``get_rule`` objects, and a built-in rule's class with other options, are the built-in
    rules: their names are theirs."""
    for name in ("hebb", "pinv", "adaptive"):
        rule = xm.get_rule(name, **({"max_steps": 5} if name == "adaptive" else {}))
        assert xm.train(P, chip=CHIP, rule=rule).info["rule"] == name


@pytest.mark.parametrize("cue_budget", [None, 0])
def test_run_scaling_takes_a_rule_by_name_and_says_where_an_object_goes(cue_budget):
    """``run_scaling`` keeps its rule by name and options (settings, checkpoint). A rule
    object ended in ``cue_budget sets the cue_copies of the adaptive rule ...`` (a budget never
    given: the default), with ``cue_budget=0`` ran and recorded the object's repr as the rule
    (and with a checkpoint was refused by ``get_rule`` deep inside); now refused first,
    naming where a rule object goes."""
    budget = {} if cue_budget is None else {"cue_budget": cue_budget}
    with pytest.raises(ArgumentError, match=r"rule must be a rule name .*got a Decay.*"
                       r"find_capacity") as caught:
        xm.run_scaling([16], arch="single", rule=Decay(), data="random", **budget)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name, error, match", [
    ("   ", ArgumentError, r"lacks name \(str\)"),
    ("two\nlines", ConfigError, "one line of printable text"),
    ("tab\there", ConfigError, "one line of printable text"),
])
def test_a_rule_name_is_one_line_of_text(name, error, match):
    """A blank name, or one with a line break, was taken (``info["rule"] == "   "``) and broke
    every table and title that prints it."""
    with pytest.raises(error, match=match):
        xm.train(P, chip=CHIP, rule=named(name))


def test_rules_compared_are_told_apart_by_name_as_lookups_read_names():
    """``Mine`` and ``mine`` are one name wherever a name is looked up (``--where
    rule=mine``); ``compare_rules`` keyed them apart."""
    with pytest.raises(ConfigError, match="distinct names.*'mine'"):
        xm.compare_rules(P, CHIP, [named("Mine"), named("mine")], trials=1)


def flip(x, level, generator):
    """A corruption of one's own that calls itself ``flip``: it zeroes a share ``level``."""
    keep = torch.rand(x.shape, generator=generator) >= level
    return x * keep


class Gaussian:
    """A callable corruption recorded by its type's name, ``Gaussian``."""

    def __call__(self, x, level, generator):
        return x + level * torch.randn(x.shape, generator=generator)


@pytest.mark.parametrize("corruption", [flip, Gaussian()])
def test_a_corruption_function_may_not_take_a_built_in_corruptions_name(corruption):
    """``Protocol(corruption=flip)`` of a function of one's own called ``flip`` recorded
    ``"flip"``: figures titled it ``10% flips`` and ``Protocol(**as_dict())`` rebuilt the
    built-in flips without a word. Refused when the protocol is made, naming the function."""
    with pytest.raises(PatternError, match=r"built-in corruption.*name of its own"):
        xm.Protocol(corruption=corruption, level=0.1)


def test_a_corruption_of_ones_own_is_recorded_under_its_name():
    """The documented path: the function runs, and is recorded and titled by its name."""
    def zero_share(x, level, generator):
        return flip(x, level, generator)

    protocol = xm.Protocol(corruption=zero_share, level=0.25)
    memory = xm.train(P, chip=CHIP, rule="pinv")
    assert 0 < xm.evaluate_memory(memory, P, protocol).cosine <= 1
    assert protocol.as_dict()["corruption"] == "zero_share"
    with pytest.raises(PatternError, match="pass the function itself"):
        xm.Protocol(**protocol.as_dict())


def test_a_recall_activation_is_a_built_in_name_only():
    """No activation of one's own: a function is refused in one line naming the choices."""
    with pytest.raises(ConfigError, match="activation must be one of sign, tanh"):
        xm.Protocol(activation=torch.tanh)


class Drifting(SimulatedChip):
    """A device effect of one's own, conductance drift ``G(t) = G(t0) (t / t0)^-nu`` (``t``
    in seconds since programming), as a chip backend: the chip spec has no field for it."""

    def __init__(self, layer, nu, seed=0):
        super().__init__(layer, seed=seed)
        self.nu, self.seconds = nu, 1.0

    def wait(self, seconds):
        cb = self.crossbar
        factor = ((self.seconds + seconds) / self.seconds) ** -self.nu
        g = cb.planes() * factor
        cb.set_conductances(g[0], g[1], cb.w_max)
        self.seconds += seconds


def test_a_device_effect_of_ones_own_is_a_backend():
    """Drift that scales every conductance alike scales every product alike (an ideal chip:
    no read noise), so sign recall is unchanged: what docs/extending.md says a device effect
    is written as runs through ``BackendMemory`` and ``evaluate_memory``."""
    memory = xm.train(P, chip=CHIP, rule="pinv")
    chips = [Drifting(SimulatedChip.like(layer).crossbar, nu=0.05) for layer in layers_of(memory)]
    backed = BackendMemory(memory, chips)
    backed.program_targets()
    x = P.patterns[:2]
    fresh = chips[0].matvec(x)
    before = xm.evaluate_memory(backed, P).cosine
    chips[0].wait(1e4)
    assert torch.allclose(chips[0].matvec(x), fresh * 1e4 ** -0.05, rtol=1e-5, atol=1e-6)
    assert xm.evaluate_memory(backed, P).cosine == before


def test_a_device_effect_in_a_chip_file_is_refused_naming_the_key(tmp_path):
    """A chip file of one's own with a field the model does not have (``drift_nu``) is refused
    in one line naming the key and the keys there are, not taken and ignored."""
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[device]\ng_min = 1e-6\ng_max = 1e-4\ndrift_nu = 0.05\n')
    with pytest.raises(ConfigError, match=r"mine.toml: unknown chip key device.drift_nu"):
        xm.load_chip(str(path))
    path.write_text('name = "mine"\n[device]\ng_min = 1e-6\ng_max = 1e-4\n[array]\nrows = 32\n')
    chip = xm.load_chip(str(path))
    assert (chip.name, chip.array.rows, chip.device.g_max) == ("mine", 32, 1e-4)


def test_an_adapting_trainer_is_checked_as_a_rule(small_memory):
    """``adapt(trainer=...)`` reads a rule object through the same one check."""
    patterns, memory = small_memory
    chips = [SimulatedChip.like(layer) for layer in layers_of(memory)]
    with pytest.raises(ConfigError, match="built-in rule"):
        adapt(memory, chips, patterns, rounds=1, trainer=named("hebb"))


@pytest.mark.parametrize("load, preset, named", [
    (xm.load_chip, "rram", "RRAM"), (xm.load_chip, "paper-sim", "Paper_Sim"),
    (load_circuit, "generic-rram", "Generic-RRAM")])
def test_a_file_calling_itself_a_preset_in_another_case_is_named_as_the_preset_is(
        tmp_path, load, preset, named):
    """A chip or circuit file of one's own named ``RRAM`` (lookups read it as ``rram``) but
    holding other values kept that name: titles, tables and ``--where chip=rram`` took it for
    the preset. Now named after its file, as a file named ``rram`` with other values was; with
    the preset's values it is the preset, under its name."""
    shipped = load(preset).to_toml()
    changed = shipped.replace("pulse_width = 1e-08", "pulse_width = 2e-08") if (
        load is load_circuit) else shipped.replace("rows = 64", "rows = 32")
    assert changed != shipped
    path = tmp_path / "mine.toml"
    path.write_text(changed.replace(f'name = "{preset}"', f'name = "{named}"'))
    assert load(str(path)).name == "mine"
    path.write_text(shipped.replace(f'name = "{preset}"', f'name = "{named}"'))
    assert load(str(path)).name == preset


@pytest.mark.parametrize("load, preset", [(xm.load_chip, "rram"),
                                           (load_circuit, "generic-rram")])
@pytest.mark.parametrize("name", ["   ", "two\\nlines"])
def test_a_file_names_its_chip_in_one_line_of_text(tmp_path, load, preset, name):
    """A chip or circuit file named blank or over two lines was taken, and its name printed
    so in every title and table; refused in one line naming the file."""
    path = tmp_path / "mine.toml"
    path.write_text(load(preset).to_toml().replace(f'name = "{preset}"', f'name = "{name}"'))
    with pytest.raises(ConfigError, match=r"mine.toml: .*name must be one line of printable"):
        load(str(path))
