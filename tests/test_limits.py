"""The memory limit: parsing of XBARMEM_MAX_BYTES and the refusal message."""

import pytest

from xbarmem.errors import ConfigError
from xbarmem.limits import (
    DEFAULT_MAX_BYTES,
    ENV,
    TooLargeError,
    array_bytes,
    check_bytes,
    human,
    max_bytes,
    out_of_descriptors,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("", DEFAULT_MAX_BYTES), ("1024", 1024), ("512M", 512 * 2**20), ("2g", 2 * 2**30),
    ("1.5GiB", 3 * 2**29), ("0", None), ("none", None), ("0.0", None), ("0G", None),
    ("0.5K", 512)])
def test_max_bytes_reads_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv(ENV, text)
    assert max_bytes() == expected


@pytest.mark.parametrize("text", ["-1", "lots", "2X", "1e9", "0.5", "0.2B", "1.5", "2.5B",
                                  "0.3K"])
def test_a_malformed_limit_is_refused(monkeypatch, text):
    monkeypatch.setenv(ENV, text)
    with pytest.raises(ConfigError, match=ENV):
        max_bytes()


def test_check_bytes_names_estimate_and_limit(monkeypatch):
    monkeypatch.setenv(ENV, "1M")
    check_bytes("a small thing", 2**20)  # at the limit: allowed
    with pytest.raises(TooLargeError, match=r"a big thing would need about 3 GiB .*1 MiB"):
        check_bytes("a big thing", 3 * 2**30)
    monkeypatch.setenv(ENV, "0")
    check_bytes("anything", 10**30)


def test_array_bytes_and_human():
    assert array_bytes(10**9, 10**9, itemsize=4) == 4 * 10**18  # no int64 overflow
    assert array_bytes(-3, 5) == 0
    assert human(100) == "100 B" and human(1536) == "1.5 KiB" and human(3 * 2**30) == "3 GiB"


def test_a_capacity_search_is_sized_as_one_network_at_a_time():
    """A search trains one network per tested count, one after the other: the full run's
    N = 784 multilayer search fits under the default limit; many networks per group do not."""
    import pytest

    from xbarmem.errors import ConfigError
    from xbarmem.experiments.sweep import parse_sweep

    base = {"data": "mnist", "arch": "multilayer", "n_neurons": 784, "hidden": 784,
            "pool": 5000, "probes": 10, "thresholds": [0.99], "corruption": "flip",
            "level": 0.05}
    parse_sweep({"sweep": {"name": "big", "trial": "capacity"},
                 "base": {**base, "search": True}}, source="t.toml")
    with pytest.raises(ConfigError, match="would need about"):
        parse_sweep({"sweep": {"name": "big", "trial": "capacity"},
                     "base": {**base, "counts": [1000, 2000, 3000, 4000]}}, source="t.toml")


def test_the_python_api_refuses_a_memory_too_large_before_allocating(monkeypatch):
    """xm.train of a (2, 5000) matrix ran out of memory after 13 s (the command line checked
    the request, the library did not): every memory checks its own estimate when built."""
    import numpy as np

    import xbarmem as xm
    from xbarmem.memory.multilayer import MultilayerMemory

    patterns = np.ones((2, 256), dtype=np.float32)
    patterns[1, ::2] = -1
    monkeypatch.setenv(ENV, "8M")
    with pytest.raises(TooLargeError, match=r"a memory of N = 256 neurons .* above the limit"):
        xm.train(patterns, rule="hebb")
    with pytest.raises(TooLargeError, match="a memory of 256-128-256 neurons"):
        MultilayerMemory(256, 128)
    monkeypatch.setenv(ENV, "64M")
    assert xm.train(patterns, rule="hebb").n_neurons == 256


@pytest.mark.parametrize("call", ["find_capacity", "find_capacity-multilayer", "recall_curve",
                                  "recall_curve-counts", "compare_rules", "run_scaling"])
def test_many_memories_trained_together_are_sized_before_any_is_built(monkeypatch, call):
    """xm.find_capacity(pool, trials=10**6) of 64 random neurons ran two minutes into a
    MemoryError (``capacity --trials 1000000`` is refused at once): each memory checked its
    own size, which every small one passes. The networks trained together are sized first,
    before their subsets, fault maps or memories are made."""
    import xbarmem as xm
    from xbarmem.evaluation.curve import recall_curve
    from xbarmem.hardware import faults

    def built(*args, **kwargs):
        raise AssertionError("a fault map was drawn before the refusal")

    pool = xm.random_patterns(40, 16, seed=0)
    monkeypatch.setenv(ENV, "64M")  # (one memory of N = 16 needs well under 1 MiB)
    xm.find_capacity(pool, rule="hebb", trials=2)  # (a few memories still pass)
    monkeypatch.setattr(faults.FaultMap, "generate", built)
    work = {
        "find_capacity": lambda: xm.find_capacity(pool, rule="hebb", trials=1000),
        "find_capacity-multilayer": lambda: xm.find_capacity(pool, arch="multilayer",
                                                             hidden=[64], trials=300),
        "recall_curve": lambda: recall_curve(pool, [4], "ideal", "hebb", trials=1000),
        "recall_curve-counts": lambda: recall_curve(pool, list(range(1, 41)), "ideal", "hebb",
                                                    trials=25),
        "compare_rules": lambda: xm.compare_rules(pool, rules=["hebb"], trials=1000),
        "run_scaling": lambda: xm.run_scaling([16], arch="single", rule="hebb", data="random",
                                              trials=1000),
    }[call]
    with pytest.raises(TooLargeError, match=r"\d+ memories of N = 16.* trained together"):
        work()


@pytest.mark.parametrize(("call", "said"), [
    ("find_capacity", "trials = 12"), ("recall_curve", "trials = 12"),
    ("recall_curve-counts", "12 counts x trials = 1"), ("compare_rules", "trials = 12"),
    ("run_scaling", "trials = 12"), ("run_scaling-multilayer", "trials = 6")])
def test_memories_too_many_together_are_refused_in_the_callers_words_before_any_search(
        monkeypatch, call, said):
    """`run_scaling([16, 64], trials=12)` searched at N = 16 and was refused at N = 64 only
    (at default sizes, hours of searches lost), and every refusal said `12 memories of N = 64
    ...` whether the caller gave 12 trials or 12 counts: the sizes are all checked before the
    first search, and the message leads with what the caller asked for (what to lower)."""
    import xbarmem as xm
    from xbarmem.evaluation.curve import recall_curve

    def searched(*args):
        raise AssertionError("a count was tested before the refusal")

    pool = xm.random_patterns(40, 64, seed=0)
    monkeypatch.setenv(ENV, "8M")  # (N = 16: well under; 12 of N = 64 single: 10.6 MiB)
    work = {
        "find_capacity": lambda: xm.find_capacity(pool, rule="hebb", trials=12),
        "recall_curve": lambda: recall_curve(pool, [4], "ideal", "hebb", trials=12),
        "recall_curve-counts": lambda: recall_curve(pool, list(range(1, 13)), "ideal", "hebb"),
        "compare_rules": lambda: xm.compare_rules(pool, rules=["hebb"], trials=12),
        "run_scaling": lambda: xm.run_scaling([16, 64], arch="single", rule="hebb",
                                              data="random", trials=12, progress=searched),
        "run_scaling-multilayer": lambda: xm.run_scaling(
            [16, 64], hidden="1n", data="random", trials=6, progress=searched),
    }[call]
    with pytest.raises(TooLargeError, match=rf"^{said} \(\d+ memories of N = 64.* trained "
                                            rf"together\) would need about"):
        work()


# ------------------------------------------------- estimates against what the work allocates
def _torch_peak(prof) -> int:
    """Peak bytes of the CPU tensors alive at once during a ``profile_memory`` profile: each
    operator's own allocations and the frees recorded between them, in time order."""
    steps = sorted((e.time_range.start, e.cpu_memory_usage if e.name == "[memory]"
                    else e.self_cpu_memory_usage) for e in prof.events())
    alive = peak = 0
    for _, change in steps:
        alive += change
        peak = max(peak, alive)
    return peak


def _traced_peak(work, tensors: bool = False) -> int:
    """Peak bytes numpy and Python allocate while ``work()`` runs (tracemalloc), plus with
    ``tensors`` the peak of torch's CPU tensors (the profiler)."""
    import tracemalloc

    from torch.profiler import ProfilerActivity, profile

    if not tensors:
        tracemalloc.start()
        try:
            work()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        traced = _traced_peak(work)
    return traced + _torch_peak(prof)


def _refused_below_peak(monkeypatch, work, match: str, tensors: bool = False) -> None:
    """``work`` runs without a limit; with any limit below its real peak it is refused
    (:class:`TooLargeError` naming ``match``): the estimate covers what the work allocates."""
    monkeypatch.setenv(ENV, "0")
    peak = _traced_peak(work, tensors)
    monkeypatch.setenv(ENV, str(peak - 1))
    with pytest.raises(TooLargeError, match=match):
        work()


@pytest.mark.parametrize(("dtype", "kind", "zero_one"), [
    ("int8", "binary", False), ("float64", "binary", False), ("uint8", "binary", True),
    ("float64", "continuous", False), ("images", "binary", False)])
def test_reading_a_pattern_file_is_sized_by_its_validation(tmp_path, monkeypatch, dtype, kind,
                                                           zero_one):
    """Validation copies every value to float32 with masks (6-20 bytes per value): an int8
    file of 5 MB took 73 MB, while only its bytes and loaded array (10 MB) were checked."""
    import numpy as np

    from xbarmem.data.readers import load_file

    rng = np.random.default_rng(0)
    if dtype == "images":
        x = rng.integers(0, 256, size=(2000, 16, 16), dtype=np.uint8)
    elif zero_one:
        x = (rng.random((2000, 256)) > 0.5).astype(dtype)
    elif kind == "binary":
        x = np.sign(rng.standard_normal((2000, 256))).astype(dtype)
    else:
        x = np.clip(rng.standard_normal((2000, 256)), -1, 1).astype(dtype)
    np.save(tmp_path / "p.npy", x)
    _refused_below_peak(monkeypatch, lambda: load_file(tmp_path / "p.npy", kind=kind,
                                                       zero_one=zero_one),
                        "reading patterns from .*p.npy")


def test_validating_patterns_is_sized_by_its_copies(monkeypatch):
    """The library's own entry (xm.train, evaluate, cues) validates arrays it is handed."""
    import numpy as np

    from xbarmem.data.patterns import validate_patterns

    x = (np.random.default_rng(0).random((2000, 256)) > 0.5).astype(np.uint8)
    _refused_below_peak(monkeypatch, lambda: validate_patterns(x, zero_one=True),
                        "validating 2000x256 patterns")


def _fault_map_work(kind: str, tmp_path):
    """A fault map of 20 arrays built from ``kind`` of input, then checked, summarised and
    saved, as `xbarmem chip import` / `chip inspect` do."""
    import numpy as np

    from xbarmem.hardware.chip import load_chip
    from xbarmem.hardware.faults import FaultMap

    chip = load_chip("rram")
    shape = (20, 2, 64, 64)
    rng = np.random.default_rng(0)
    codes = rng.choice(np.array([-1, 0, 0, 0, 1], dtype=np.int8), size=shape)
    reads = rng.uniform(chip.device.g_min, chip.device.g_max, size=shape)
    FaultMap.generate(chip, 20).save(tmp_path / "m.npz")
    FaultMap.generate(chip, 20).save(tmp_path / "m.csv")  # 2% stuck: a short text
    make = {"codes": lambda: FaultMap.from_codes(codes, chip.device),
            "conductance": lambda: FaultMap.from_conductance_map(reads, chip.device),
            "readback": lambda: FaultMap.from_readback(reads, reads * 1.1, 1e-6, chip.device),
            "npz": lambda: FaultMap.load(tmp_path / "m.npz"),
            "csv": lambda: FaultMap.load(tmp_path / "m.csv")}[kind]

    def work():
        fmap = make().check_chip(chip)
        fmap.summary(chip.device)
        fmap.save(tmp_path / "out.npz")
    return work


@pytest.mark.parametrize("kind", ["codes", "conductance", "readback", "npz", "csv"])
def test_a_fault_map_from_data_is_sized_by_its_working_copies(tmp_path, monkeypatch, kind):
    """`chip import` of int8 codes (24 MB) took 515 MB while only the file was checked; a .csv
    map was checked at 8 bytes per device and took 20: every way a map is built is sized as
    the map and its working copies (:data:`xbarmem.sizes.FAULT_MAP_BYTES_PER_DEVICE`)."""
    _refused_below_peak(monkeypatch, _fault_map_work(kind, tmp_path),
                        "a fault map of 20 array")


def test_a_memory_on_tiny_arrays_is_sized_with_each_array_s_bookkeeping(monkeypatch):
    """On 1x1 arrays every tile holds two devices but costs its own Python bookkeeping:
    `xbarmem train --neurons 1000` on such a chip took 333 MB above the interpreter for an
    estimate of 153 MB (:data:`xbarmem.sizes.ARRAY_BYTES` per array)."""
    import numpy as np

    import xbarmem as xm
    from xbarmem.hardware.chip import load_chip

    chip = load_chip("rram").replace_array(rows=1, cols=1)
    patterns = np.sign(np.random.default_rng(0).standard_normal((5, 300))).astype(np.float32)
    xm.train(patterns[:, :16], rule="hebb", chip=chip)  # first-call imports: not this work

    def work():
        xm.train(patterns, rule="hebb", chip=chip).recall(patterns, max_iterations=3)
    _refused_below_peak(monkeypatch, work, "a memory of N = 300 neurons on 1x1 arrays",
                        tensors=True)


@pytest.mark.parametrize("hidden", [None, 256])
def test_a_recall_is_sized_by_its_states_and_hidden_layers(monkeypatch, hidden):
    """A recall keeps about 8 float64 copies of every cue's state, and each hidden layer's
    states: `xbarmem evaluate` of a 64-4000-64 model with 20000 cues took 1 GB for an estimate
    of 59 MB (hidden layers were not counted), a single layer 1.3 times its estimate. Every
    recall (evaluate, recall, adapt, the library's) is checked by the memory itself."""
    import numpy as np

    import xbarmem as xm

    rng = np.random.default_rng(0)
    patterns = np.sign(rng.standard_normal((4, 16))).astype(np.float32)
    memory = (xm.train(patterns, rule="hebb", chip="rram") if hidden is None else
              xm.train(patterns, arch="multilayer", hidden=hidden, chip="rram", max_steps=2))
    cues = np.sign(rng.standard_normal((2000, 16))).astype(np.float32)
    memory.recall(cues[:2], max_iterations=2)  # first-call set-up: not this work
    for activation in ("sign", "tanh"):
        _refused_below_peak(monkeypatch, lambda a=activation: memory.recall(
            cues, activation=a, max_iterations=5), "recalling 2000 cue", tensors=True)


def _no_temporary_folder(folders) -> FileNotFoundError:
    """What :mod:`tempfile` raises when no folder of ``folders`` took its test file (it drops
    the error each folder gave)."""
    import errno

    return FileNotFoundError(errno.ENOENT,
                             f"No usable temporary directory found in {list(map(str, folders))}")


def test_no_temporary_folder_for_want_of_descriptors_is_out_of_descriptors(tmp_path,
                                                                           monkeypatch):
    """``ulimit -n 10; xbarmem sweep --workers 2``: Dask asked tempfile for its folder with no
    descriptor left; tempfile said "No usable temporary directory", a traceback. Folders that
    take a file (now), or refuse one for want of a descriptor, mean the descriptors; folders
    that are really unusable (a missing TMPDIR, ...) are not misreported."""
    import errno
    import os

    from xbarmem import limits

    wrapped = RuntimeError("Cluster failed to start")
    wrapped.__cause__ = _no_temporary_folder([tmp_path / "missing", tmp_path])
    assert out_of_descriptors(wrapped).startswith("too many open files")
    assert list(tmp_path.iterdir()) == []  # (the folder tried again holds no file)
    assert out_of_descriptors(_no_temporary_folder([tmp_path / "missing"])) is None
    assert out_of_descriptors(FileNotFoundError(errno.ENOENT, "No such file")) is None

    def no_descriptor(*args, **kwargs):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(limits.os, "open", no_descriptor)
    assert out_of_descriptors(_no_temporary_folder([tmp_path / "missing"])).startswith(
        "too many open files")


def test_train_refuses_too_many_patterns_naming_them_patterns(run_cli):
    """`train -p 100000000` was refused as "... 100000000 cues": the user gave patterns."""
    code, _, err = run_cli("train", "--data", "random", "-p", "100000000", "--neurons", "64",
                           "-o", "never.safetensors")
    assert code == 2 and "1 network, 100000000 patterns) would need about" in err, err


#: trainer options of a short run of the hardware-adaptive rule whose sampled cues dominate
_CUE_HEAVY = {"max_steps": 2, "finetune_steps": 2, "cue_copies": 256}


@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_adaptive_training_is_sized_by_its_sampled_cues(monkeypatch, arch):
    """`train --rule-option cue_copies=100000000` ran for 106 s until the system killed it:
    the estimate counted weights and devices, not the cues the basin objective samples and
    follows through its unrolled updates. Training is now refused at any limit below what it
    allocates, naming cue_copies."""
    import xbarmem as xm

    patterns = xm.random_patterns(16, 32, seed=0)
    hidden = {"hidden": 32} if arch == "multilayer" else {"flip_steps": 0}

    def work():
        xm.train(patterns, chip="ideal", arch=arch, **hidden, **_CUE_HEAVY)

    _refused_below_peak(monkeypatch, work, r"16 patterns, 256 cues of each \(cue_copies",
                        tensors=True)


def test_train_refuses_cues_beyond_the_limit_in_one_line(run_cli, tmp_path, monkeypatch):
    """The command line refuses such training with one line and writes no model."""
    monkeypatch.setenv(ENV, "4M")
    out = tmp_path / "never.safetensors"
    code, _, err = run_cli("train", "--data", "random", "-p", "16", "--neurons", "32",
                           "--chip", "ideal", "--rule-option", "cue_copies=256", "-o", out)
    assert code == 2 and err.count("\n") == 1 and "(cue_copies)" in err, err
    assert not out.exists()


def test_a_sweep_counts_the_cues_its_trials_train_on(run_cli, tmp_path, monkeypatch):
    """A sweep with `cue_copies = 100000000` created its store and ended in a failed group
    (exit 1) once the trial ran: its trials' resolved options are sized with the rest before
    any work, exit 2, naming cue_copies; a sweep of one trial is sized as one network."""
    from xbarmem.experiments.sweep import parse_sweep

    def sweep(copies: int) -> dict:
        return {"sweep": {"name": "cues"}, "rule_options": {"adaptive": {"cue_copies": copies}},
                "base": {"data": "random", "n_neurons": 16, "patterns": 2,
                         "selection": "first", "rule": "adaptive"}}

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text('[sweep]\nname = "cues"\n[base]\ndata = "random"\n'
                                     'n_neurons = 16\npatterns = 2\nselection = "first"\n'
                                     'rule = "adaptive"\n[rule_options.adaptive]\n'
                                     'cue_copies = 100000000\n')
    code, _, err = run_cli("sweep", "s.toml", "--store", "s.sqlite", "-j", "1")
    assert code == 2 and "a group of 1 network" in err and "(cue_copies)" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "s.sqlite").exists()
    monkeypatch.setenv(ENV, "2M")
    parse_sweep(sweep(16), source="t.toml")
    with pytest.raises(ConfigError, match="1000 cues per pattern"):
        parse_sweep(sweep(1000), source="t.toml")


@pytest.mark.parametrize("options, copies", [
    ('[rule_options.adaptive]\ncue_copies = 100000000\n', "100000000"),
    ('cue_budget = 1000000000\n', "125000000"),  # ceil(1e9 / 8): the budget sets the copies
])
def test_a_sweep_counts_the_cues_of_a_search_s_first_count(run_cli, tmp_path, monkeypatch,
                                                           options, copies):
    """A capacity search with `cue_copies = 100000000`, or a `cue_budget` of 1e9 cues (which
    sets cue_copies = ceil(budget / P), whatever the rule's), created its store and ended in
    a failed group (exit 1) at the first count it trained (N // 8 = 8 here): that count's
    cues are sized before any work, exit 2; a search within the limit runs."""
    from xbarmem.experiments.sweep import parse_sweep

    monkeypatch.chdir(tmp_path)
    head = ('[sweep]\nname = "search"\ntrial = "capacity"\n[base]\ndata = "random"\n'
            'n_neurons = 64\nsearch = true\nthresholds = [0.9]\n')
    base, table = (head + options, "") if options.startswith("cue_budget") else (head, options)
    (tmp_path / "s.toml").write_text(base + table)
    code, _, err = run_cli("sweep", "s.toml", "--store", "s.sqlite", "-j", "1")
    cues = f"{copies} cue{'' if copies == 1 else 's'}"
    assert code == 2 and f"trained on {cues} per pattern" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "s.sqlite").exists()
    parse_sweep({"sweep": {"name": "ok", "trial": "capacity"},
                 "base": {"data": "random", "n_neurons": 64, "search": True,
                          "thresholds": [0.9], "cue_budget": 1024}}, source="t.toml")


def test_a_sweep_counts_the_warm_starts_gram_matrices(monkeypatch):
    """A sweep of the fast recipe (one layer: the closed-form warm start, N x P^2 float64 Gram
    values per network) is sized with them before any work: `n_neurons = 256`, `patterns =
    1024` passed the sweep's check (about 0.3 GiB of cues) and needed 2 GiB more."""
    from xbarmem.experiments.sweep import parse_sweep

    def sweep(recipe: str) -> dict:
        return {"sweep": {"name": "warm"}, "rule_options": {"adaptive": {"recipe": recipe}},
                "base": {"data": "random", "n_neurons": 64, "patterns": 64,
                         "selection": "first", "rule": "adaptive"}}

    monkeypatch.setenv(ENV, "13M")  # the default recipe's group: 10.9 MiB
    parse_sweep(sweep("default"), source="t.toml")
    with pytest.raises(ConfigError, match="from a closed-form warm start would need about"):
        parse_sweep(sweep("fast"), source="t.toml")


def test_compare_rules_sizes_every_rule_s_training_before_the_first_trains(monkeypatch):
    """`compare_rules(X, rules=["hebb", "pinv", "adaptive"])` under a limit the adaptive
    rule's training exceeds trained Hebb and the pseudo-inverse first (their scores lost),
    then refused; every rule's training is now sized before any rule trains."""
    import numpy as np

    from xbarmem.evaluation.evaluate import compare_rules

    patterns = np.sign(np.random.default_rng(0).standard_normal((32, 64)))
    monkeypatch.setenv(ENV, "8M")  # (3 adaptive networks on 32 patterns: about 8.7 MiB)
    trained: list[str] = []
    with pytest.raises(TooLargeError, match=r"training 3 networks .* 32 patterns"):
        compare_rules(patterns, rules=["hebb", "pinv", "adaptive"], trials=3,
                      callback=trained.append)
    assert trained == []
