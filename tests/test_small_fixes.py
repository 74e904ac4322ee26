"""Small inconsistencies between siblings: refusals that name what differs and what to do
instead, the one reading of a preset name, the one word for one hidden width."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from xbarmem.errors import ConfigError, FileFormatError


@pytest.fixture
def refused(refused_here):
    """A clean refusal in ``tmp_path`` (conftest's ``refused_here``)."""
    return refused_here


def _patterns():
    from xbarmem.data.builtin import random_patterns

    return random_patterns(3, 16, seed=0)


# ----------------------------------------------------------------- fit_memories' refusals
@pytest.mark.parametrize(("hidden", "bias", "message"), [
    ((8, 8, 4), (True, True, True),
     "all memories must share one architecture: memories[0] is 16-8-16, memories[2] 16-4-16"),
    ((8, None, 8), (True, True, True),
     "memories[0] is 16-8-16, memories[1] 16-16 (one layer)"),
    ((8, 8), (True, False), "one bias setting: memories[0] has a bias row, memories[1] no "
                            "bias row"),
])
def test_fit_memories_names_the_first_two_memories_that_differ(hidden, bias, message):
    from xbarmem.learning.classic import as_rule
    from xbarmem.learning.fit import fit_memories
    from xbarmem.memory.build import make_memory

    memories = [make_memory(16, arch="single" if h is None else "multilayer", hidden=h,
                            chip="ideal", bias=b) for h, b in zip(hidden, bias, strict=True)]
    with pytest.raises(ConfigError) as info:
        fit_memories(as_rule("adaptive", max_steps=1), _patterns(), memories)
    assert message in str(info.value)
    assert all(m.info == {} or "rule" not in m.info for m in memories)  # nothing trained


def test_multilayer_trainer_on_one_layer_names_the_trainer_it_takes():
    from xbarmem.learning.fit import fit_memories
    from xbarmem.learning.multilayer import MultilayerTrainer
    from xbarmem.memory.build import make_memory

    with pytest.raises(ConfigError) as info:
        fit_memories(MultilayerTrainer(max_steps=1), _patterns(),
                     [make_memory(16, chip="ideal")])
    text = str(info.value)
    assert "multilayer memories only" in text and "AdaptiveTrainer" in text, text
    assert "rule='adaptive'" in text and "flip_steps" not in text, text
    with pytest.raises(ConfigError, match="AdaptiveTrainer"):  # every way the options resolve
        MultilayerTrainer().options(1)


def test_single_layer_only_rules_on_a_multilayer_memory_name_the_rule_it_takes():
    """The reverse: the classic rules already say which rule trains multilayer memories."""
    from xbarmem.learning.classic import as_rule
    from xbarmem.learning.fit import fit_memories
    from xbarmem.memory.build import make_memory

    memory = make_memory(16, arch="multilayer", hidden=8, chip="ideal")
    with pytest.raises(ConfigError, match="multilayer memories are trained by the "
                                          "hardware-adaptive rule"):
        fit_memories(as_rule("hebb"), _patterns(), [memory])


# ----------------------------------------------------------------- hidden widths
@pytest.mark.parametrize("value", ['"8-8"', '"1n-8"'])
def test_sweep_hidden_of_joined_widths_says_how_a_sweep_writes_layers(refused, tmp_path,
                                                                     value):
    (tmp_path / "s.toml").write_text(
        f'[sweep]\nname = "g"\n[base]\narch = "multilayer"\nn_neurons = 16\nhidden = {value}\n')
    line = refused("sweep", "s.toml", "--dry-run", names=("[base] hidden",))
    expected = "[8, 8]" if value == '"8-8"' else '["1n", 8]'
    assert line.endswith(f"several hidden layers are written as a list, {expected}"), line


def test_sweep_hidden_of_a_bad_text_gets_no_layers_hint(refused, tmp_path):
    (tmp_path / "s.toml").write_text(
        '[sweep]\nname = "g"\n[base]\narch = "multilayer"\nn_neurons = 16\nhidden = "a-b"\n')
    assert "several hidden layers" not in refused("sweep", "s.toml", "--dry-run")


@pytest.mark.parametrize("hidden", [torch.tensor([8, 4]), torch.tensor([8, 4], dtype=torch.int32),
                                    np.array([8, 4])])
def test_hidden_as_a_1d_integer_tensor_is_taken_as_numpys(hidden):
    from xbarmem.checks import resolve_hidden
    from xbarmem.memory.build import make_memory

    assert resolve_hidden(hidden, 16) == [8, 4]
    memory = make_memory(16, arch="multilayer", hidden=hidden, chip="ideal")
    assert memory.sizes == [16, 8, 4, 16] and all(type(h) is int for h in memory.hidden_sizes)


@pytest.mark.parametrize("hidden", [torch.tensor([8.0, 4.0]), np.array([8.0, 4.0]),
                                    torch.tensor([True]), torch.tensor(8), np.array(8),
                                    torch.tensor([[8, 4]])])
def test_hidden_as_float_bool_0d_or_2d_arrays_is_refused_alike(hidden):
    from xbarmem.checks import hidden_layer_widths

    with pytest.raises(ConfigError, match="^hidden "):
        hidden_layer_widths(hidden, 16)


@pytest.mark.parametrize(("widths", "label"), [
    (8, "hidden width 8"), ([8], "hidden width 8"), ("N", "hidden width N"),
    ([8, 4], "hidden widths 8-4"), ("2N-N", "hidden widths 2N-N"),
])
def test_figure_labels_say_width_for_one_hidden_layer(widths, label):
    from xbarmem.viz.series import setting_words

    assert setting_words("hidden", widths) == label


# ----------------------------------------------------------------- preset names
def test_chip_preset_in_another_case_is_no_file_to_path_checks(run_cli, tmp_path, monkeypatch):
    """``--chip RRAM`` is the rram preset (no file RRAM here): a dangling link named as --out
    that points at ``RRAM`` was refused as "the same file as the input --chip RRAM" (it is
    now refused as a broken link, tests/test_loose_ends.py: not as that input)."""
    from xbarmem.cli.paths import chip_file

    monkeypatch.chdir(tmp_path)
    assert chip_file("RRAM") is None and chip_file("rram") is None
    (tmp_path / "out.safetensors").symlink_to("RRAM")
    code, _, err = run_cli("train", "--chip", "RRAM", "--patterns", "3", "--neurons", "16",
                           "--rule", "hebb", "-o", "out.safetensors")
    assert code == 2 and "broken symbolic link" in err and "--chip" not in err, err
    (tmp_path / "RRAM").write_text("x")  # now a file of that name: it is read, as load_chip
    assert chip_file("RRAM") == tmp_path.joinpath("RRAM").relative_to(tmp_path)


#: a command context whose --data, --chip and --model name no file (energy._check_out's)
NO_INPUTS = SimpleNamespace(params={})


def test_circuit_preset_in_another_case_is_no_file_to_path_checks(tmp_path, monkeypatch):
    from xbarmem.cli.energy import CALIBRATED, _check_out
    from xbarmem.energy.circuit import circuit_names, is_circuit_preset, load_circuit

    monkeypatch.chdir(tmp_path)
    name = circuit_names()[0].upper()
    assert is_circuit_preset(name) and not is_circuit_preset("no-such-circuit")
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / CALIBRATED).symlink_to(f"../{name}")
    with pytest.raises(ConfigError, match="broken symbolic link") as err:  # (not written
        _check_out(NO_INPUTS, tmp_path / "cal", name, False, True)  # through:
        # tests/test_loose_ends.py)
    assert "same file" not in str(err.value)  # was: "the same file as --circuit"
    # a file of that name is the circuit read
    (tmp_path / name).write_text(load_circuit(circuit_names()[0]).to_toml())
    assert not is_circuit_preset(name)
    with pytest.raises(ConfigError, match="same file as the input --circuit"):
        _check_out(NO_INPUTS, tmp_path / "cal", name, False, True)


@pytest.mark.parametrize(("group", "name"), [("chip", "RRAM"), ("circuit", "GENERIC-RRAM")])
def test_show_of_a_preset_in_another_case_keeps_its_comments(run_cli, tmp_path, monkeypatch,
                                                             group, name):
    """``chip show RRAM`` loaded the preset but printed it without the comments its description
    points to ("see comments"), as ``chip show rram`` prints them."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(group, "show", name)
    assert code == 0, err
    assert out == run_cli(group, "show", name.lower())[1] and out.startswith("# "), out[:80]


# ----------------------------------------------------------------- export folders
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model and the folder ``xbarmem export`` wrote of it (source recorded)."""
    from xbarmem import save_memory, train
    from xbarmem.deploy.export import export_memory

    folder = tmp_path_factory.mktemp("exported")
    x = _patterns()
    model = save_memory(train(x, chip="ideal", rule="hebb"), folder / "m.safetensors",
                        patterns=x)
    export_memory(train(x, chip="ideal", rule="hebb"), folder / "exp", source="m.safetensors")
    np.save(folder / "cues.npy", x.patterns)
    return model, folder / "exp"


@pytest.mark.parametrize("args", [("adapt", "{exp}"), ("export", "{exp}", "-o", "{out}"),
                                  ("evaluate", "{exp}"), ("recall", "{exp}", "{cues}"),
                                  ("energy", "--model", "{exp}")])
def test_an_export_folder_given_as_a_model_says_what_to_give(refused, exported, tmp_path,
                                                             args):
    model, exp = exported
    args = [a.format(exp=exp, out=tmp_path / "out", cues=model.parent / "cues.npy")
            for a in args]
    line = refused(*args)
    assert f"model file {exp} is an export folder" in line, line
    assert line.endswith("give the model file it was exported from (its manifest.json "
                         "records 'm.safetensors')"), line


def test_load_memory_of_an_export_folder_says_what_to_give(exported, tmp_path):
    from xbarmem import load_memory

    with pytest.raises(FileFormatError, match="export folder .*exported from"):
        load_memory(exported[1])
    with pytest.raises(FileFormatError, match="is a directory, not a file$"):
        load_memory(tmp_path)  # any other folder: as before


def test_a_layers_write_seed_wraps_as_the_deploy_backends_do():
    """Layer k of a memory is programmed with ``offset_seed(seed, 7919 * k)``: at the largest
    seed the second layer's write error is the one a simulated chip of that layer draws."""
    import xbarmem as xm
    from xbarmem.checks import MAX_SEED
    from xbarmem.memory.base import PROGRAM_SEED_STRIDE
    from xbarmem.seeds import offset_seed

    chip = xm.load_preset("rram").replace_device(write_noise=2e-6)
    gen = torch.Generator().manual_seed(0)
    weights = [torch.randn(8, 16, generator=gen) * 0.1, torch.randn(16, 8, generator=gen) * 0.1]
    mem = xm.MultilayerMemory(16, [8], chip=chip).program(weights, seed=MAX_SEED)
    alone = xm.MultilayerMemory(16, [8], chip=chip).layers[1]
    alone.program(weights[1], None, seed=offset_seed(MAX_SEED, PROGRAM_SEED_STRIDE))
    assert np.array_equal(mem.layers[1].planes(), alone.planes())
