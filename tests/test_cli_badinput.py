"""Bad input not covered elsewhere, each class checked on several commands: seeds beyond what
the random generators take (trainer options, sweep files), counts written as non-integers,
empty files, output names of the wrong type, repeated list values and repeated JSON keys.

Every refusal must be the house rule: exit 2, one ``error: ...`` line naming the problem, no
traceback, nothing written in the working folder. Settings are tiny (seconds in all)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from conftest import refused as clean_refusal


@pytest.fixture
def refused(refused_here):
    """A clean refusal in ``tmp_path`` (conftest's ``refused_here``)."""
    return refused_here


# ------------------------------------------------------------------------------ seeds
@pytest.mark.parametrize("seed", [-1, 2**32, 10**23])
def test_trainer_seed_follows_the_seed_rule(refused, seed):
    """--rule-options seed: an integer in [0, 2^32 - 1] like --seed (a huge one was a torch
    overflow traceback; a negative one was silently accepted)."""
    for arch in (["--arch", "single"], ["--arch", "multilayer", "--hidden", "8"]):
        refused("train", "--data", "digits", "-p", "3", *arch, "-o", "m.safetensors",
                "--rule-options", f'{{"seed": {seed}}}',
                names=("seed", "4294967295"))
    refused("capacity", "--data", "digits", "--neurons", "64", "--rule-option", f"seed={seed}",
            names=("seed", "4294967295"))


def test_sweep_seed_list_follows_the_seed_rule(refused, tmp_path):
    """A sweep's seed list is checked with the file (``--dry-run`` passed it; the run failed
    in the worker after creating the store)."""
    (tmp_path / "s.toml").write_text(
        '[sweep]\nseeds = [1180591620717411303424]\n[base]\nrule = "pinv"\n'
        'data = "digits"\npatterns = 3\n')
    for extra in (["-j", "1"], ["--dry-run"]):
        refused("sweep", "s.toml", "--store", "r.sqlite", *extra,
                names=("seeds", "4294967295"))


# ------------------------------------------------------------------------------ counts
@pytest.mark.parametrize("count", ["1e3", "3.0", "", " ", "nan", "inf", "-2.5"])
def test_patterns_count_that_is_not_an_integer_is_named(refused, count):
    """``--patterns 1e3`` was read as the deprecated ``--patterns SOURCE`` spelling: refused as
    'replaced by --data' (with --data) or 'unknown pattern source'; it is a bad count."""
    for args in (["train", "--data", "digits", "-o", "m.safetensors"],
                 ["train", "-o", "m.safetensors"], ["energy", "--data", "random"]):
        refused(*args, "--patterns", count, names=("--patterns", "whole number", repr(count)))


# ------------------------------------------------------------------------------ output names
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A Hebbian memory of 3 random patterns of 16 neurons on the ideal chip (device model)."""
    from xbarmem import save_memory, train
    from xbarmem.data.patterns import PatternSet

    x = np.where(np.random.default_rng(3).random((3, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    folder = tmp_path_factory.mktemp("model")
    np.save(folder / "cues.npy", x)
    return save_memory(train(x, chip="ideal", rule="hebb"), folder / "m.safetensors",
                       patterns=PatternSet(x, kind="binary"))


def test_output_of_a_fixed_format_must_carry_its_suffix(refused, tiny_model, tmp_path):
    """A file output of one format named otherwise is refused when parsed, naming the option
    and the suffix: ``recall -o out.txt`` wrote ``out.txt.npy`` (a file not asked for) and
    ``train -o model.txt`` a safetensors model named .txt."""
    model, cues = str(tiny_model), str(tiny_model.parent / "cues.npy")
    (tmp_path / "s.sqlite").write_bytes(b"")
    cases = [
        (["train", "--data", "random", "-p", "2", "--neurons", "16", "--rule", "hebb",
          "-o", "model.txt"], "--out model.txt", ".safetensors"),
        (["train", "--data", "random", "-p", "2", "--neurons", "16", "--rule", "hebb",
          "-o", "model"], "--out model", ".safetensors"),
        (["recall", model, cues, "-o", "states.txt"], "--out states.txt", ".npy"),
        (["recall", model, cues, "-o", "states"], "--out states", ".npy"),
        (["adapt", model, "--rounds", "0", "-o", "adapted.npz"], "--out adapted.npz",
         ".safetensors"),
        (["chip", "faults", "-o", "map.txt"], "--out map.txt", ".npz or .csv"),
        (["chip", "import", cues, "-o", "map.npz", "--chip-out", "chip.txt"],
         "--chip-out chip.txt", ".toml"),
        (["plot", "s.sqlite", "--kind", "faults", "-o", "fig.jpg"], "--out fig.jpg",
         ".png or .svg"),
        (["results", "s.sqlite", "--csv", "rows.tsv"], "--csv rows.tsv", ".csv"),
    ]
    for args, flag, suffix in cases:
        refused(*args, names=(flag, f"must end in {suffix}"))


def test_recall_writes_exactly_the_file_named(run_cli, tiny_model, tmp_path):
    """``-o STATES.NPY`` is written under that name (np.save appended a second .npy)."""
    target = tmp_path / "STATES.NPY"
    code, _, err = run_cli("recall", tiny_model, tiny_model.parent / "cues.npy", "-o", target)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["STATES.NPY"]
    assert np.load(target, allow_pickle=False).shape == (3, 16)


# ------------------------------------------------------------------------------ list options
@pytest.mark.parametrize("args, flag, shown", [
    (["capacity", "--data", "digits", "--neurons", "64", "--threshold", "0.9,0.90"],
     "--threshold", "0.9"),
    (["scaling", "--data", "digits", "--sizes", "64,64.0"], "--sizes", "64"),
    (["scaling", "--data", "mnist", "--sizes", "64,144,64"], "--sizes", "64"),
    (["energy", "--sizes", "16,16"], "--sizes", "16"),
    (["capacity", "--arch", "single,single", "--rule", "pinv"], "--arch", "single"),
    (["capacity", "--arch", "multilayer", "--hidden", "8,8"], "--hidden", "8"),
    (["capacity", "--arch", "multilayer", "--hidden", "0.5n,0.50n"], "--hidden", "0.5n"),
    (["capacity", "--arch", "multilayer", "--hidden", "8-4,8-4"], "--hidden", "8-4"),
])
def test_list_option_giving_a_value_twice_is_refused(refused, args, flag, shown):
    """A list option naming one value twice ran (and fitted, tabled) it twice; it is refused
    naming the option and the value, before any work."""
    refused(*args, names=(flag, f"lists {shown} twice"))


@pytest.mark.parametrize("args, flag", [
    (["capacity", "--data", "digits", "--neurons", "64", "--threshold", "0.9,"], "--threshold"),
    (["capacity", "--data", "digits", "--neurons", "64", "--threshold", ",0.9"], "--threshold"),
    (["scaling", "--arch", "single", "--data", "digits", "--sizes", "16,,64"], "--sizes"),
    (["scaling", "--arch", "single", "--data", "digits", "--sizes", "16,"], "--sizes"),
    (["energy", "--sizes", "16, ,25", "-o", "e"], "--sizes"),
])
def test_list_option_with_an_empty_value_is_refused(refused, args, flag):
    """An empty value between commas was dropped (``--sizes 16,`` ran a scaling study of one
    size, fitted nothing, and wrote its figure) while ``--hidden`` and field lists refuse it."""
    refused(*args, names=(flag, "must be comma-separated numbers"))


# ------------------------------------------------------------------------------ JSON options
def test_rule_options_naming_a_key_twice_is_refused(refused):
    """JSON keeps the last of two equal keys silently (``max_steps`` 5 then 6 trained 6)."""
    for extra in ([], ["--arch", "multilayer", "--hidden", "8"]):
        refused("train", "--data", "digits", "-p", "3", "-o", "m.safetensors", *extra,
                "--rule-options", '{"max_steps": 5, "max_steps": 6}',
                names=("--rule-options", "'max_steps' twice"))
    refused("capacity", "--rule-options", '{"cue_flip": 0.1, "cue_flip": 0.2}',
            names=("'cue_flip' twice",))


@pytest.mark.parametrize("options, names", [
    ('{"zz": 1}', ("unknown adaptive rule key zz", "allowed:")),
    ('{"lr": -1}', ("lr must be in (0, 10.0]",)),
])
def test_multilayer_trainer_options_are_named_like_single_layer_ones(refused, options, names):
    """A multilayer trainer's bad option read 'MultilayerTrainer.__init__() got an unexpected
    keyword argument' (a class name of the code, no allowed keys) or lacked the rule prefix."""
    for command in (["train", "--data", "digits", "-p", "3", "-o", "m.safetensors"],
                    ["capacity", "--data", "digits", "--neurons", "64"]):
        line = refused(*command, "--arch", "multilayer", "--hidden", "8",
                       "--rule-options", options,
                       names=("bad option for rule 'adaptive' (multilayer)", *names))
        assert "__init__" not in line and "Trainer" not in line


# ------------------------------------------------------------------------------ empty and foreign
def test_empty_and_foreign_files_are_named_for_what_they_are(refused, tiny_model, tmp_path):
    """A 0-byte .npy/.npz read 'truncated .npy header', an .npz of no arrays 'holds 0 arrays;
    ... one of none', and a pattern array, pickle or store given as a model 'bad header size':
    each now says what the file is (a pickle is recognised, never unpickled)."""
    import pickle

    model = str(tiny_model)
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "none.npz")
    np.save(tmp_path / "cues.npy", np.ones((2, 16), np.float32))
    (tmp_path / "obj.pkl.npy").write_bytes(pickle.dumps({"a": 1}))
    for name in ("empty.npy", "empty.npz"):
        refused("recall", model, name, names=(name, "the file is empty (0 bytes)"))
        refused("chip", "import", name, "-o", "map.npz", names=(name, "empty (0 bytes)"))
        refused("evaluate", name, names=(name, "the file is empty (0 bytes)"))
    refused("recall", model, "none.npz", names=("none.npz", "holding no arrays"))
    refused("chip", "import", "none.npz", "-o", "map.npz", names=("holding no arrays",))
    refused("train", "--data", "none.npz", "-o", "m.safetensors", names=("holding no arrays",))
    refused("evaluate", "cues.npy", names=("cues.npy", "the file is a NumPy .npy array"))
    refused("adapt", "none.npz", names=("none.npz", "zip archive (.npz)"))
    refused("evaluate", "obj.pkl.npy", names=("a Python pickle (never unpickled)",))
    refused("recall", model, "obj.pkl.npy", names=("a Python pickle (never unpickled)",))


def test_empty_toml_files_are_refused(refused, tmp_path):
    """An empty (or comments-only) sweep file ran one default trial into a new store, and an
    empty chip or circuit file was the defaults under the file's name; both are refused."""
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "notes.toml").write_text("# to do\n\n")
    for name in ("empty.toml", "notes.toml"):
        refused("sweep", name, "--store", "r.sqlite", "-j", "1",
                names=(name, "the sweep file is empty"))
        refused("sweep", name, "--dry-run", names=("the sweep file is empty",))
        refused("chip", "show", name, names=(name, "the chip file is empty"))
        refused("train", "--chip", name, "-o", "m.safetensors",
                names=("the chip file is empty",))
        refused("circuit", "show", name, names=(name, "the circuit file is empty"))
        refused("energy", "--circuit", name, names=("the circuit file is empty",))


# ------------------------------------------------------------------------------ links
def test_broken_and_looping_links_are_named(refused, tiny_model, tmp_path):
    """An input that is a symbolic link loop, or a link to a missing file, read 'no such
    file' although ``ls`` lists it; every reader now names the link."""
    (tmp_path / "a.npz").symlink_to("b.npz")
    (tmp_path / "b.npz").symlink_to("a.npz")
    (tmp_path / "gone.toml").symlink_to("nowhere.toml")
    model = str(tiny_model)
    for name in ("a.npz", "gone.toml"):
        problem = "symbolic link loop" if name == "a.npz" else "symbolic link to a missing file"
        for args in (["recall", model, name], ["evaluate", name], ["export", name, "-o", "e"],
                     ["train", "--data", name, "-o", "m.safetensors"],
                     ["train", "--chip", name, "-o", "m.safetensors"],
                     ["chip", "inspect", name], ["chip", "show", name],
                     ["circuit", "show", name], ["sweep", name, "--dry-run"],
                     ["results", name], ["plot", name, "--kind", "faults"]):
            refused(*args, names=(name, problem))


def test_recall_cues_of_another_width_name_the_file_and_the_model(refused, tiny_model, tmp_path):
    """'patterns have N=1 neurons but the memory/chip has 16' named neither file."""
    np.save(tmp_path / "wide.npy", np.ones((2, 25), np.float32))
    (tmp_path / "one.csv").write_text("1\n-1\n")
    for name, n in (("wide.npy", "25 neurons"), ("one.csv", "1 neuron,")):
        refused("recall", tiny_model, name,
                names=(f"{name}: its cues have N = {n}", f"{tiny_model} has N = 16"))


# ------------------------------------------------------------------------------ blank choices
def test_blank_choice_is_refused_not_taken_for_the_default(refused, tiny_model):
    """``--activation ""`` / ``--corruption ""`` ran with the default (a blank value was taken
    for "not given"); every optional named choice refuses it naming the option."""
    model = str(tiny_model)
    for args, flag in ((["evaluate", model, "--activation"], "--activation"),
                       (["export", model, "-o", "e", "--activation"], "--activation"),
                       (["energy", "--activation"], "--activation"),
                       (["evaluate", model, "--corruption"], "--corruption"),
                       (["adapt", model, "--corruption"], "--corruption"),
                       (["capacity", "--corruption"], "--corruption"),
                       (["demo", "--corruption"], "--corruption"),
                       (["train", "-o", "m.safetensors", "--fault-model"], "--fault-model"),
                       (["train", "-o", "m.safetensors", "--recipe"], "--recipe")):
        for blank in ("", " "):
            refused(*args, blank, names=(flag, "is empty"))


def _named_options():
    """``(command words, option, required arguments)`` for every option whose value is a name
    from a list (the ``option_types.names`` parser, which leaves a name it does not know as
    typed for the command to refuse)."""
    import typer

    from xbarmem import cli

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, (*prefix, name))
                continue
            arguments = [a.name for a in command.params
                         if a.param_type_name == "argument" and a.required]
            for param in command.params:
                parser = getattr(param.type_descriptor.parameter_info, "parser", None)
                if (param.param_type_name == "option"
                        and getattr(parser, "__qualname__", "").startswith("names.")):
                    yield (*prefix, name), param.opts[0], arguments

    return list(walk(typer.main.get_command(cli.app), ()))


def test_every_named_choice_refuses_a_name_it_does_not_know(refused, tiny_model):
    """`energy --kind ""` (or `" "`, `binary,continuous`) ended in a traceback (a KeyError
    where the cues were resolved for the kind, before the kind was checked). Every option
    whose value is a name from a list refuses a blank value, an unknown name and a list of
    names in one line, before any work, whatever the command does with it first."""
    inputs = {"model": str(tiny_model), "cues": str(tiny_model.parent / "cues.npy"),
              "store": "no-store.sqlite", "source": str(tiny_model.parent / "cues.npy")}
    found = _named_options()
    assert len(found) >= 30 and (("energy",), "--kind", []) in found, found
    for words, option, arguments in found:
        extra = ["-o", "m.safetensors"] if words == ("train",) else []
        for value in ("", " ", "nosuch", "binary,sync"):
            refused(*words, *(inputs[a] for a in arguments), *extra, option, value)


@pytest.mark.parametrize("flag, value, field", [
    ("--group-by", "rule,rule", "rule"), ("--columns", "rule,seed, rule", "rule"),
    ("--metric", "cosine,cosine", "cosine")])
def test_results_field_lists_naming_a_field_twice_are_refused(refused, flag, value, field):
    """``results --group-by rule,rule`` grouped by one key twice (a repeated column)."""
    extra = ["--group-by", "rule"] if flag == "--metric" else []
    refused("results", "r.sqlite", flag, value, *extra, names=(flag, f"lists {field} twice"))


def _single_options():
    """``(command words, option, takes a value)`` for every option of every command that takes
    one value or is one flag (not repeatable, not a counter, not eager like ``--help``)."""
    import typer

    from xbarmem import cli

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, (*prefix, name))
            else:
                for param in command.params:
                    if (param.param_type_name == "option" and not param.multiple
                            and not param.count and not param.is_eager and not param.hidden):
                        yield (*prefix, name), param.opts[0], not param.is_flag

    return list(walk(typer.main.get_command(cli.app), ()))


def test_an_option_of_one_value_given_twice_is_refused(refused):
    """Click kept the last of an option given twice, silently: ``results --metric exact
    --metric cosine`` showed the cosine only (``--where`` is repeatable, ``--metric`` takes a
    comma-separated list), ``sweep --store a --store b`` wrote b, ``train --rule hebb --rule
    pinv`` trained pinv. Every command refuses it before reading anything (values unread)."""
    found = _single_options()
    assert len({words for words, _, _ in found}) >= 15, found
    for words, option, takes_value in found:
        given = [option, "x"] if takes_value else [option]
        refused(*words, *given, *given, names=(option, "given more than once"))
    line = refused("results", "r.sqlite", "--metric", "exact", "--metric", "cosine")
    assert "comma-separated: --metric NAME[,NAME...]" in line, line
    assert "--where" not in refused("results", "r.sqlite", "--where", "rule=a", "--where",
                                    "seed=1", "--limit", "1", "--limit", "2")


# ------------------------------------------------------------------------------ sweep files
@pytest.mark.parametrize("table, names", [
    ("lr = nan", ("[rule_options.adaptive] lr", "finite")),
    ("max_steps = { a = 1 }", ("[rule_options.adaptive] max_steps", "integer >= 1")),
    ("seed = -1", ("[rule_options.adaptive] seed", "4294967295")),
])
def test_sweep_rule_options_values_are_checked_even_for_a_rule_not_run(refused, tmp_path,
                                                                        table, names):
    """Keys of a ``[rule_options.RULE]`` table of a rule no trial runs were checked, its values
    were not (``lr = nan`` passed ``--dry-run``)."""
    (tmp_path / "s.toml").write_text(
        '[sweep]\n[base]\nrule = "pinv"\ndata = "digits"\npatterns = 3\nprobes = 1\n'
        f'[rule_options.adaptive]\n{table}\n')
    refused("sweep", "s.toml", "--dry-run", names=("s.toml", *names))


# ------------------------------------------------------------------------------ hidden widths
@pytest.mark.parametrize("hidden", ["0n", "-1", "1n-", "abc", "1n--2", "0", "1n-0n", "8-1.5"])
def test_scaling_refuses_a_bad_hidden_width_as_every_command_does(refused, hidden):
    """scaling read --hidden with a reader of its own that refused any width but one, in words
    of its own ("scaling takes one hidden width"); it now reads it as capacity and train do
    (64-32 = two layers), and refuses a bad width before any work in their words."""
    line = refused("scaling", "--sizes", "16", f"--hidden={hidden}", "-o", "sc",
                   names=("--hidden", repr(hidden)))
    assert line == refused("train", "--neurons", "16", "--arch", "multilayer",
                           f"--hidden={hidden}", "-o", "m.safetensors")


@pytest.mark.parametrize("hidden", ["16,32", "1n,0.5n", "8-8,16"])
def test_scaling_refuses_several_architectures_saying_to_run_it_once_each(refused, hidden):
    """Commas name several architectures (capacity searches each); one scaling run fits one,
    so they are refused, before any work, with the way to run each."""
    refused("scaling", "--sizes", "16", "--hidden", hidden, "-o", "sc",
            names=("--hidden", "once per architecture", repr(hidden)))


@pytest.mark.parametrize(("neurons", "hint"), [("16", True), ("25", False)])
def test_a_fault_map_one_array_short_names_the_bias_row_way_out(run_cli, tmp_path, neurons,
                                                                hint):
    """A 16x16 measured array cannot hold a 16-neuron memory with its bias row (17 input rows)
    but can without it: the one-line refusal offers --rule-option bias=false, and that run
    works; at 25 neurons the map is too small either way and no such way out is offered."""
    import xbarmem as xm

    chip = tmp_path / "chip.toml"
    chip.write_text(xm.load_preset("rram").replace_array(rows=16, cols=16).to_toml())
    codes = tmp_path / "codes.npy"
    np.save(codes, np.zeros((2, 16, 16), dtype=np.int8))
    fmap = tmp_path / "map.npz"
    code, _, err = run_cli("chip", "import", codes, "--chip", chip, "-o", fmap)
    assert code == 0, err
    args = ["train", "--data", "random", "--neurons", neurons, "--patterns", "3", "--chip",
            chip, "--fault-map", fmap, "--rule-option", "max_steps=2", "--rule-option",
            "finetune_steps=1", "-o", tmp_path / "m.safetensors"]
    code, _, err = run_cli(*args)
    assert code == 2 and err.count("\n") == 1 and "1 array of 16x16" in err, err
    assert ("--rule-option bias=false" in err) is hint, err
    assert not (tmp_path / "m.safetensors").exists()
    if hint:
        code, _, err = run_cli(*args, "--rule-option", "bias=false")
        assert code == 0, err


# ------------------------------------------------------------------------------ cue ranges
@pytest.fixture(scope="module")
def models(small_model, tmp_path_factory):
    """A binary model (:func:`small_model`) and a continuous one, 16 neurons each."""
    import xbarmem as xm

    patterns = xm.random_patterns(3, 16, kind="continuous", seed=0)
    memory = xm.train(patterns, chip="ideal", rule="pinv")
    folder = tmp_path_factory.mktemp("continuous")
    return {"binary": small_model,
            "continuous": xm.save_memory(memory, folder / "c.safetensors", patterns=patterns)}


@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize(("zero_one", "low"), [(False, -1), (True, 0)])
def test_cues_out_of_range_name_the_models_kind_and_range(refused, tmp_path, models, kind,
                                                          zero_one, low):
    """Cues of 3.0 to a binary model said "continuous patterns must lie in [-1, 1]": the
    cues are neither patterns nor, here, continuous; the line now names the cues, the model's
    kind and the range it takes."""
    cues = np.ones((2, 16))
    cues[0, 0] = 3.0
    np.save(tmp_path / "cues.npy", cues)
    with_zero_one = " read with zero_one=True (CLI: --zero-one)" if zero_one else ""
    line = refused("recall", models[kind], "cues.npy", *(["--zero-one"] if zero_one else []))
    assert line.startswith(f"error: cues.npy: cues of a {kind} model{with_zero_one} must lie "
                           f"in [{low}, 1]; 1 of 32 entries lie outside (min=1.0, max=3.0)"), line


@pytest.mark.parametrize("title, size", [("word " * 80, "400 characters"),
                                         ("line\n" * 10, "10 lines")])
def test_a_figure_title_too_long_is_refused_before_the_store_is_read(refused, run_cli, title,
                                                                    size, monkeypatch):
    """``plot --title`` of 100,000 characters wrote its figure with a Matplotlib warning (the
    axes collapsed to nothing under the title); a title longer than a figure takes is refused
    naming its size and the limit (as the help states it), before the store (here none) is
    looked at."""
    from xbarmem.viz.text import MAX_TITLE_CHARS, MAX_TITLE_LINES

    limit = f"at most {MAX_TITLE_CHARS} characters and {MAX_TITLE_LINES} lines"
    refused("plot", "no-store.sqlite", "--title", title, names=("--title", size, limit))
    monkeypatch.setenv("COLUMNS", "400")
    assert limit in " ".join(run_cli("plot", "-h")[1].split())


# ------------------------------------------------------------------------------ extra arguments
@pytest.mark.parametrize(("args", "line"), [
    (("evaluate", "a.safetensors", "b.safetensors"),
     "xbarmem evaluate takes 1 argument, MODEL: b.safetensors is one more than it takes"),
    (("evaluate", "a.safetensors", "b c"),
     "xbarmem evaluate takes 1 argument, MODEL: 'b c' is one more than it takes"),
    (("recall", "m.safetensors", "a.npy", "b.npy", "c.npy"),
     "xbarmem recall takes 2 arguments, MODEL CUES: b.npy c.npy are 2 more than it takes"),
    (("chip", "inspect", "a.npz", "b\x1b[2J.npz"),
     "xbarmem chip inspect takes 1 argument, MAP: 'b\\x1b[2J.npz' is one more than it takes"),
    (("energy", "m.safetensors"),
     "xbarmem energy takes no arguments, only options (--name VALUE): got m.safetensors"),
])
def test_an_argument_more_than_a_command_takes_is_named_with_what_it_takes(refused, args,
                                                                           line):
    """A second MODEL (`evaluate a.safetensors b.safetensors`) was click's "Got unexpected
    extra argument(s) (b.safetensors)": it named neither what the command takes nor told one
    argument holding a space (`'b c'`) from two. Every command's refusal says both."""
    command = " ".join(args[:2] if args[0] == "chip" else args[:1])
    assert refused(*args) == f"error: {line} (see xbarmem {command} --help)"


# ------------------------------------------------------------------- a measured array, step by step
def test_a_measured_arrays_refusals_each_say_what_to_do_and_doing_it_works(run_cli, tmp_path):
    """A device researcher's way from a measured conductance map of pairs on 16x8 cells to a
    trained memory: each refusal on the way names the way out, and taking it works. (The map of
    another array size asked "a map of another chip, or transposed?" without saying how to
    describe such a chip; a memory too large for the map said "store fewer neurons" without
    saying how many fit; ``--neurons`` on the 8x8 digits, capacity's default data, and on
    MNIST named no N that works; ``--as`` on a .csv grid did not say to save it as .npy; the
    measurement given where a fault map goes did not say that ``chip import`` makes one.)"""
    import xbarmem as xm

    read = np.full((2, 16, 8), 60e-6)
    read[0, 1, 1] = 1e-7                                   # one device stuck OFF
    grid = tmp_path / "g.npy"
    np.save(grid, read)
    fmap, chip = tmp_path / "map.npz", tmp_path / "chip.toml"
    np.savez(tmp_path / "g.npz", g_plus=read[0], g_minus=read[1])
    for raw in (grid, tmp_path / "g.npz"):                 # the measurement is not a fault map
        code, _, err = run_cli("chip", "inspect", raw)
        assert code == 2 and "'xbarmem chip import FILE --out MAP.npz'" in err, err
    code, _, err = run_cli("chip", "import", grid, "--as", "conductance", "-o", fmap)
    assert code == 2 and "rows = 16 and cols = 8 in [array]" in err, err
    assert "chip.replace_array(rows=16, cols=8)" in err, err
    chip.write_text(xm.load_preset("rram").replace_array(rows=16, cols=8).to_toml())
    code, _, err = run_cli("chip", "import", grid, "--as", "conductance", "--chip", chip,
                           "-o", fmap)
    assert code == 0, err
    train = ["train", "--data", "random", "--patterns", "3", "--chip", chip, "--fault-map", fmap,
             "--rule-option", "max_steps=2", "--rule-option", "finetune_steps=1",
             "-o", tmp_path / "m.safetensors"]
    code, _, err = run_cli(*train, "--neurons", "16")
    assert code == 2 and "--neurons 8 or fewer fit 1 array" in err, err
    code, _, err = run_cli(*train, "--neurons", "8")
    assert code == 0, err
    code, _, err = run_cli("capacity", "--neurons", "8", "--chip", chip, "--fault-map", fmap)
    assert code == 2 and "N must be 64" in err and "mnist" in err and "random" in err, err
    code, _, err = run_cli("capacity", "--neurons", "30", "--data", "mnist")
    assert code == 2 and "perfect square; got N = 30 (the nearest: 25 or 36)" in err, err
    np.savetxt(tmp_path / "g.csv", read[0], delimiter=",")
    code, _, err = run_cli("chip", "import", tmp_path / "g.csv", "--as", "conductance",
                           "-o", tmp_path / "c.npz")
    assert code == 2 and err.count("\n") == 1 and "as .npy (np.save)" in err, err
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("command", ["evaluate", "capacity"])
def test_occluding_patterns_of_no_image_shape_names_the_command_line_s_way(
        refused, run_cli, tmp_path, command):
    """``--corruption occlude`` of flat patterns whose N is not a square said "give
    image_shape=(h, w)", a Python argument no command takes; it names the file of images
    first, the Python argument as Python's."""
    data = tmp_path / "x.npy"
    np.save(data, np.sign(np.random.default_rng(0).standard_normal((6, 30))))
    if command == "evaluate":
        model = tmp_path / "m.safetensors"
        assert run_cli("train", "--data", data, "--out", model)[0] == 0
        args = ("evaluate", model)
    else:
        args = ("capacity", "--data", data, "--trials", "1")
    line = refused(*args, "--corruption", "occlude")
    assert "(P, h, w) array of images" in line and "(Python: image_shape=(h, w))" in line
    assert line.index("array of images") < line.index("image_shape")


# ---------------------------------------------------------------- options a hint names
def test_a_data_hint_names_an_option_only_where_the_command_has_it(refused, tmp_path):
    """The library's pointers `(CLI: --zero-one)` and `(CLI: --kind continuous)` were printed
    by every command reading --data: `energy --data 01.npy` was told to pass --zero-one and
    then refused it as no such option (energy had neither; capacity had no --zero-one: both
    have it now; energy has --kind too)."""
    np.save(tmp_path / "zo.npy", np.tile([[0.0, 1.0]], (3, 8)))
    np.save(tmp_path / "cont.npy", np.linspace(-0.9, 0.9, 48).reshape(3, 16))
    refused("energy", "--data", "zo.npy", "--rule", "pinv", names=("(CLI: --zero-one)",))
    refused("energy", "--data", "cont.npy", "--rule", "pinv",
            names=("(CLI: --kind continuous)",))
    refused("capacity", "--data", "zo.npy", "--rule", "pinv", names=("(CLI: --zero-one)",))
    refused("capacity", "--data", "cont.npy", "--rule", "pinv",
            names=("(CLI: --kind continuous)",))
    refused("train", "--data", "zo.npy", "--rule", "pinv", "-o", "m.safetensors",
            names=("(CLI: --zero-one)",))


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_scheduler_port_out_of_range_is_refused_as_such(refused, port):
    """``--scheduler tcp://127.0.0.1:99999`` was tried and said "connection refused (nothing
    listens there)", after the seconds a connection attempt takes; no TCP port has that
    number."""
    for command in (["sweep", "s.toml"], ["reproduce", "--quick", "-o", "r"]):
        refused(*command, "--scheduler", f"tcp://127.0.0.1:{port}",
                names=("--scheduler", f"port {port} of", "no TCP port (1 to 65535)"))


def _hidden_options() -> list[tuple[tuple[str, ...], str]]:
    """(command path, option) of every option a command's help hides (old spellings)."""
    import typer.main

    from xbarmem.cli import app

    found = []

    def walk(command, path):
        for param in command.params:
            if getattr(param, "hidden", False):
                found.extend((path, opt) for opt in param.opts if opt.startswith("--"))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


@pytest.mark.parametrize(("path", "option"), _hidden_options(),
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_an_unknown_option_is_not_told_of_hidden_ones(run_cli, tmp_path, path, option):
    """An unknown option close to an old spelling the help hides was told of it ("No such
    option: --kind (Possible options: --n)" in ``energy``): suggestions name only options the
    command's help shows."""
    typo = option + "q"
    line = clean_refusal(run_cli, tmp_path, *path, typo)
    assert f"No such option: {typo}" in line, line
    shown = line.split("No such option", 1)[1]
    assert not any(option + end in shown for end in ",)?"), line


@pytest.mark.parametrize(("args", "meant"), [
    (("train", "--rul", "hebb"), "--rule"),
    (("train", "--seeds", "3"), "--seed"),
    (("evaluate", "m.safetensors", "--probe", "3"), "--probes"),
    (("capacity", "--thresold", "0.9"), "--threshold"),
    (("sweep", "--stor", "s.sqlite"), "--store"),
    (("evaluate", "m.safetensors", "--mod", "sync"), "--mode"),
    (("results", "s.sqlite", "--group", "rule"), "--group-by"),
])
def test_a_mistyped_option_is_told_the_one_meant(run_cli, tmp_path, args, meant):
    """A mistyped option is told the option meant, as a mistyped command is ("Did you mean
    'train'?"): click listed every option it found close, alphabetically ("No such option:
    --rul (Possible options: --faults, --out, --rule)"), the one meant often last."""
    line = clean_refusal(run_cli, tmp_path, *args)
    assert line.endswith(f"Did you mean {meant}? (see xbarmem {args[0]} --help)"), line
    assert "Possible options" not in line, line


@pytest.mark.parametrize(("typo", "close"), [
    ("--rule-optio", ("--rule-option", "--rule-options")),
    ("--fault", None),
])
def test_options_as_close_as_each_other_are_all_suggested(run_cli, tmp_path, typo, close):
    """Where several options are about as close, each is named (``--rule-optio``: both
    spellings); where one is closest, it alone (``--fault``: ``--faults``)."""
    line = clean_refusal(run_cli, tmp_path, "train", typo, "x")
    if close is None:
        assert "Did you mean --faults?" in line, line
    else:
        assert f"(Possible options: {', '.join(close)})" in line, line


@pytest.mark.parametrize("args", [("export", "m.safetensors", "-o", "ex", "--level", "0.1"),
                                  ("recall", "m.safetensors", "c.npy", "--level", "0.1"),
                                  ("train", "--lev", "0.1")])
def test_help_is_not_offered_for_an_option_that_is_no_help(run_cli, tmp_path, args):
    """``export --level`` (an option export lacks) was asked "Did you mean --help?", and
    ``recall --level`` told "Possible options: --help, --seed": ``--help`` is offered only for
    a mistyped help (``--hlep``)."""
    line = clean_refusal(run_cli, tmp_path, *args)
    assert "--help?" not in line and "Possible options: --help" not in line, line
    assert "Did you mean --help?" in clean_refusal(run_cli, tmp_path, "train", "--hlep")


@pytest.mark.parametrize(("args", "corruption"), [
    (("capacity", "--data", "digits", "--level", "1.5"), "flip"),
    (("scaling", "--sizes", "16,25", "--level", "1.5"), "flip"),
    (("demo", "--level", "1.2"), "flip"),
    (("energy", "--level", "2"), "flip"),
    (("energy", "--corruption", "salt-pepper", "--level", "1.01"), "salt-pepper"),
    (("capacity", "--data", "digits", "--corruption", "occlude", "--level", "3"), "occlude"),
])
def test_a_level_above_its_bound_is_refused_naming_level(run_cli, tmp_path, args, corruption):
    """``--level 1.5`` was refused as "level (flip rate) must be in [0, 1]", the library's
    parameter, not the option typed: every command names ``--level`` and the corruption."""
    line = clean_refusal(run_cli, tmp_path, *args)
    want = f"error: --level must be at most 1 for --corruption {corruption} ("
    assert line.startswith(want), line


# ------------------------------------------------------------------------------ lost numbers
@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """A results store of two tiny evaluate rows (fault rates 0 and 0.1)."""
    from conftest import tiny_sweep

    from xbarmem.experiments.runner import run_sweep
    from xbarmem.experiments.sweep import parse_sweep

    store = tmp_path_factory.mktemp("lost") / "r.sqlite"
    text = tiny_sweep("lost", rules=("hebb",), fault_rates=[0.0, 0.1])
    run_sweep(parse_sweep(tomllib.loads(text)), store, jobs=1)
    return store


def _chip_file(number: str) -> list[str]:
    from xbarmem import load_preset

    text = load_preset("ideal").to_toml().replace("g_min = 2e-06", f"g_min = {number}")
    with open("c.toml", "w") as f:  # (the refusal must leave the folder as it found it)
        f.write(text)
    return ["train", "--data", "digits", "-p", "3", "--rule", "hebb", "--chip", "c.toml",
            "-o", "m.safetensors"]


def _sweep_file(number: str) -> list[str]:
    with open("s.toml", "w") as f:
        f.write('[sweep]\nname = "x"\n[base]\ndata = "random"\nn_neurons = 16\npatterns = 3\n'
                f'rule = "hebb"\n[grid]\nfault_rate = [0.1, {number}]\n')
    return ["sweep", "s.toml", "--store", "r.sqlite", "--dry-run"]


_CAPACITY = ["capacity", "--data", "digits", "--neurons", "64", "--rule", "adaptive"]


@pytest.mark.parametrize("number", ["1e-400", "-0.5e-330", "1e400", "-2.5E999"])
@pytest.mark.parametrize("given", [
    lambda x, store: [*_CAPACITY, "--level", x],
    lambda x, store: [*_CAPACITY, "--faults", x],
    lambda x, store: [*_CAPACITY, f"--tol={x}"],
    lambda x, store: [*_CAPACITY, "--threshold", f"0.9,{x}"],
    lambda x, store: [*_CAPACITY, "--rule-option", f"lr={x}"],
    lambda x, store: [*_CAPACITY, "--rule-options", f'{{"lr": {x}}}'],
    lambda x, store: ["results", str(store), "--where", f"fault_rate={x}"],
    lambda x, store: ["results", str(store), "--where", f"fault_rate<{x}"],
    lambda x, store: ["results", str(store), "--where", f"fault_rate=[{x}]"],
    lambda x, store: _sweep_file(x),
    lambda x, store: _chip_file(x),
], ids=["level", "faults", "tol", "threshold", "rule-option", "rule-options", "where",
        "where-ordered", "where-list", "sweep-grid", "chip-file"])
def test_a_number_no_float_holds_is_refused(refused, small_store, given, number):
    """``--where fault_rate=1e-400`` matched the rows of fault rate 0 (the number reads as 0),
    ``--level 1e-400`` ran at level 0, and a sweep grid's or a chip file's ``1e-400`` was 0:
    a number written with digits that no float holds (too small: read as 0; too large: read
    as infinity, refused as ``got inf`` where it was refused at all) is refused, in
    options, ``--where`` values, JSON option values and TOML files alike, naming it."""
    line = refused(*given(number, small_store), names=(number.lstrip("-"),))
    assert ("reads as 0" if "e-" in number else "reads as infinity") in line or (
        "reads as -infinity" in line), line


def _spec_file(noun: str, suffix: str, number: str) -> list[str]:
    """``xbarmem chip|circuit show FILE`` of a preset's file whose first ``= <float>`` value
    is ``number``."""
    import json
    import re

    from xbarmem import load_preset
    from xbarmem.energy.circuit import load_circuit

    spec = load_preset("ideal") if noun == "chip" else load_circuit("generic-rram")
    if suffix == ".toml":
        text = re.sub(r"= \d[\d.]*e-\d+", f"= {number}", spec.to_toml(), count=1)
    else:
        text = re.sub(r": \d[\d.]*e-\d+", f": {number}", json.dumps(spec.to_dict()), count=1)
    assert number in text
    with open(f"s{suffix}", "w") as f:
        f.write(text)
    return [noun, "show", f"s{suffix}"]


@pytest.mark.parametrize("number", ["1e-400", "1e400"])
@pytest.mark.parametrize("given", [
    lambda x: _spec_file("chip", ".toml", x),
    lambda x: _spec_file("chip", ".json", x),
    lambda x: _spec_file("circuit", ".toml", x),
    lambda x: _spec_file("circuit", ".json", x),
    lambda x: _sweep_file(x),
    lambda x: [*_CAPACITY, "--rule-options", f'{{"lr": {x}}}'],
], ids=["chip-toml", "chip-json", "circuit-toml", "circuit-json", "sweep", "rule-options"])
def test_a_number_no_float_holds_is_not_called_invalid_text(refused, given, number):
    """A chip, circuit or sweep file holding ``1e-400`` was refused as ``c.toml: not valid TOML
    (the number 1e-400 is too small ...)`` and ``--rule-options '{"lr": 1e-400}'`` as
    ``--rule-options must be a JSON object: the number ...``: the text is valid TOML / a JSON
    object, only the number is not a float's. The refusal names the file or option and the
    number alone (:func:`xbarmem.files.unparsed`), and the key the number sits under (``lr:
    the number ...``, ``grid.fault_rate[1]: the number ...``, ``device.g_min: ...``)."""
    import re

    args = given(number)
    line = refused(*args, names=(f"the number {number} is",))
    assert "not valid" not in line and "must be a JSON object" not in line, line
    key = re.search(r"([\w.\[\]]+): the number", line)
    assert key is not None and key.group(1) not in ("s.toml", "s.json", "--rule-options"), line
    if args[0] == "sweep":
        assert key.group(1) == "grid.fault_rate[1]", line
    elif "--rule-options" in args:
        assert key.group(1) == "lr", line
