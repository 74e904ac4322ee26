"""Recall curves, capacity read-out and search: one capacity path for every memory kind."""

import json
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import xbarmem.evaluation.curve as curve_mod
from xbarmem.data.builtin import load_digits, load_mnist, random_patterns
from xbarmem.errors import ConfigError
from xbarmem.evaluation.capacity import (
    _next_count,
    default_start,
    find_capacity,
    search_capacity,
)
from xbarmem.evaluation.curve import capacity_from_curve, mean_curve, recall_curve
from xbarmem.evaluation.evaluate import Protocol
from xbarmem.hardware.chip import load_preset
from xbarmem.seeds import derived_seed, random_subset, subset_seed


def test_capacity_requires_every_smaller_count_to_pass():
    pts = [{"count": 2, "cosine": 1.0}, {"count": 4, "cosine": 0.97},
           {"count": 6, "cosine": 0.995}, {"count": 8, "cosine": 0.5}]
    assert capacity_from_curve(pts, 0.99) == 2
    assert capacity_from_curve(pts, 0.95) == 6
    assert capacity_from_curve(pts, 1.01) == 0


def test_mean_curve_averages_counts_tested_by_every_curve():
    a = [{"count": 2, "cosine": 1.0}, {"count": 4, "cosine": 0.8}, {"count": 6, "cosine": 0.9}]
    b = [{"count": 4, "cosine": 1.0}, {"count": 2, "cosine": 0.9}]
    got = mean_curve([a, b])
    assert [p["count"] for p in got] == [2, 4]  # 6 was tested by one curve only
    assert got[0]["cosine"] == pytest.approx(0.95) and got[1]["cosine"] == pytest.approx(0.9)
    assert {p["n"] for p in got} == {2}
    # a single dip in one seed's curve stops that seed early but not the mean curve
    assert capacity_from_curve(a, 0.85) == 2 and capacity_from_curve(got, 0.85) == 4
    assert mean_curve([]) == []


def test_recall_curve_batches_counts_and_degrades_with_load():
    pool = load_mnist(side=8, n_patterns=200)
    chip = load_preset("paper-sim")
    res = recall_curve(pool, [2, 30], chip, "pinv", trials=2, protocol=Protocol(level=0.05,
                                                                                probes=4))
    small, large = res["points"]
    assert small["count"] == 2 and small["cosine"] > 0.98 and small["fixed_points"] == 1.0
    assert large["cosine"] < small["cosine"]
    assert res["networks"] == 4 and len(small["subset_seeds"]) == 2
    fast = recall_curve(pool, [3, 6], chip, "adaptive", trials=1,
                        protocol=Protocol(level=0.0, probes=1),
                        rule_options={"max_steps": 300, "finetune_steps": 0})
    assert all(p["cosine"] == pytest.approx(1.0) for p in fast["points"])
    with pytest.raises(ConfigError, match="only 200"):
        recall_curve(pool, [500], chip, "hebb")


def test_recall_curve_multilayer_points_have_the_single_layer_fields():
    pool = random_patterns(30, 16, seed=1)
    chip = load_preset("paper-sim")
    proto = Protocol(level=0.05, probes=2)
    single = recall_curve(pool, [2, 5], chip, "pinv", trials=2, protocol=proto)
    multi = recall_curve(pool, [2, 5], chip, arch="multilayer", hidden=8, trials=2,
                         protocol=proto, rule_options={"max_steps": 30, "finetune_steps": 0})
    assert [set(p) for p in multi["points"]] == [set(p) for p in single["points"]]
    assert [p["subset_seeds"] for p in multi["points"]] == [p["subset_seeds"]
                                                            for p in single["points"]]
    assert (multi["arch"], single["arch"]) == ("multilayer", "single")  # as arch= takes them
    assert (multi["layout"], single["layout"]) == ("16-8-16", "16")
    # the pool's name is its `data`, as in every result (`pool` counts patterns there)
    assert multi["data"] == single["data"] == pool.name and "pool" not in single
    assert multi["networks"] == 4 and len(multi["scores"]) == len(multi["infos"]) == 4
    assert multi["devices"]["layers"] == 2
    with pytest.raises(ConfigError, match="hardware-adaptive"):
        recall_curve(pool, [2], chip, "pinv", arch="multilayer")
    with pytest.raises(ConfigError, match="arch"):
        recall_curve(pool, [2], chip, arch="deep")
    with pytest.raises(ConfigError, match="trials"):
        recall_curve(pool, [2], chip, trials=0)


def test_single_and_multilayer_capacity_train_and_score_through_one_function(monkeypatch):
    """find_capacity (both kinds) and the sweep's capacity trials (both kinds, curve and
    search) all run recall_curve, which trains with fit_memories and scores with
    evaluate_many."""
    from xbarmem.experiments import trial
    from xbarmem.experiments.sweep import parse_sweep

    calls = []

    def spy(name, memories_at):
        real = getattr(curve_mod, name)

        def wrapped(*args, **kwargs):
            calls.append((name, type(args[memories_at][0]).__name__))
            return real(*args, **kwargs)
        monkeypatch.setattr(curve_mod, name, wrapped)

    spy("fit_memories", 2)  # (rule, patterns, memories, ...)
    spy("evaluate_many", 0)  # (memories, patterns, protocols)
    pool = load_digits(n_patterns=40)
    proto = Protocol(level=0.05, probes=1)
    options = {"max_steps": 20, "finetune_steps": 0}
    find_capacity(pool, arch="single", thresholds=(0.9,), protocol=proto, trials=1, start=2,
                  resolution=1.0, rule_options=options)
    find_capacity(pool, arch="multilayer", hidden=4, thresholds=(0.9,), protocol=proto,
                  trials=1, start=2, resolution=1.0, rule_options=options)
    kinds = {kind for _, kind in calls}
    assert kinds == {"SingleLayerMemory", "MultilayerMemory"}
    assert {n for n, _ in calls} == {"fit_memories", "evaluate_many"}
    calls.clear()
    for arch, search in (("single", False), ("multilayer", False), ("multilayer", True)):
        spec = parse_sweep({"sweep": {"name": "c", "trial": "capacity"},
                            "base": {"data": "random", "n_neurons": 16, "pool": 20,
                                     "arch": arch, "probes": 1,
                                     **({"hidden": 4} if arch == "multilayer" else {}),
                                     **({"search": True, "thresholds": [0.9]} if search
                                        else {"counts": [1, 3]})},
                            "rule_options": {"adaptive": {"max_steps": 10}}}, source="t.toml")
        result = trial.run_capacity(spec.trials[0])
        assert result["networks"] >= 1 and set(result["capacity"]) >= {"0.9"}
    assert {kind for _, kind in calls} == {"SingleLayerMemory", "MultilayerMemory"}


def test_search_over_curve_points_finds_the_full_curves_capacity_with_fewer_counts():
    """search_capacity over the positions of a list of counts, each tested count one
    recall_curve point, finds the full curve's capacities (this curve only worsens with the
    count) from fewer counts; a tested count gets the full curve's subsets and cues."""
    pool = load_mnist(side=8, n_patterns=300)
    chip = load_preset("paper-sim")
    counts = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64]
    options = {"objective": "fixed-point", "max_steps": 2000}
    protocol = Protocol(level=0.1, probes=5)
    full = recall_curve(pool, counts, chip, "adaptive", protocol=protocol, rule_options=options)
    tested = {}

    def score(position):
        point = recall_curve(pool, [counts[position - 1]], chip, "adaptive", protocol=protocol,
                             rule_options=options)["points"][0]
        tested[point["count"]] = point
        return point["cosine"]

    found = search_capacity(score, (0.9, 0.99), start=1, max_count=len(counts))
    cosines = {p["count"]: p["cosine"] for p in full["points"]}
    assert 2 <= len(tested) < len(counts)
    for theta, position in found.items():
        cap = counts[position - 1] if position else 0
        assert cap == capacity_from_curve(full["points"], theta)
    for point in tested.values():
        assert point["cosine"] == pytest.approx(cosines[point["count"]], abs=0.02)
        full_point = next(p for p in full["points"] if p["count"] == point["count"])
        assert point["subset_seeds"] == full_point["subset_seeds"]


def test_seeded_subsets_are_the_documented_draws():
    assert subset_seed(3, 10, 1) == 3 * 100003 + 10 * 1009 + 1
    assert derived_seed(5, 0x7A71) == int(
        np.random.SeedSequence([5, 0x7A71]).generate_state(1)[0])
    seed = subset_seed(0, 7, 0)
    expected = np.sort(np.random.default_rng(seed).choice(50, size=7, replace=False))
    assert np.array_equal(random_subset(50, 7, seed), expected)
    with pytest.raises(ConfigError, match="only 50"):
        random_subset(50, 51, seed)
    labels = np.array([2, 0, 1, 0, 2, 1, 1, 0])
    picked = random_subset(8, 2, 9, labels=labels)  # one of class 0, then one of class 1
    rng = np.random.default_rng(9)
    assert list(picked) == [rng.choice([1, 3, 7]), rng.choice([2, 5, 6])]
    with pytest.raises(ConfigError, match="classes"):
        random_subset(8, 4, 9, labels=labels)
    res = recall_curve(random_patterns(20, 16, seed=0), [3], "paper-sim", "pinv", trials=2,
                       seed=4, protocol=Protocol(probes=1))
    assert res["points"][0]["subset_seeds"] == [subset_seed(4, 3, 0), subset_seed(4, 3, 1)]


@given(ids=st.lists(st.integers(0, 11), min_size=1, max_size=40), data=st.data())
@settings(max_examples=60, deadline=None)
def test_subsets_with_pattern_ids_hold_distinct_patterns_and_keep_draws_without_repeats(
        ids, data):
    ids = np.unique(np.asarray(ids), return_inverse=True)[1]  # ids 0 .. K - 1
    n_ids = int(ids.max()) + 1
    count = data.draw(st.integers(1, len(ids)))
    seed = data.draw(st.integers(0, 10_000))
    plain = random_subset(len(ids), count, seed)
    if count > n_ids:
        with pytest.raises(ConfigError, match=f"only {n_ids} distinct"):
            random_subset(len(ids), count, seed, distinct_ids=ids)
        return
    picked = random_subset(len(ids), count, seed, distinct_ids=ids)
    assert len(picked) == count and len(np.unique(ids[picked])) == count
    assert list(picked) == sorted(picked)
    if len(np.unique(ids[plain])) == count:
        assert np.array_equal(picked, plain)
    else:  # the first index of each repeated pattern stays
        first = {}
        for i in plain:
            first.setdefault(int(ids[i]), int(i))
        assert set(first.values()) <= set(picked.tolist())


def test_capacity_searches_store_distinct_patterns_and_flag_a_capacity_at_the_pool_limit(
        run_cli, tmp_path):
    """A pool of 5 patterns, each 20 times: a search stores at most the 5 distinct ones (it
    used to store 60 copies and call that the capacity), and says the answer is a lower bound."""
    from xbarmem.evaluation.capacity import pool_limited

    base = random_patterns(5, 32, seed=1).patterns
    pool = np.repeat(base, 20, axis=0)
    res = find_capacity(pool, rule="pinv", thresholds=[0.9], trials=1,
                        protocol=Protocol(level=0.0, probes=1)).as_dict()
    assert max(p["count"] for p in res["points"]) <= 5
    assert res["settings"]["pool_distinct"] == 5 and res["settings"]["pool"] == 100
    assert res["capacity"]["0.9"] == 5 and pool_limited(res) == ["0.9"]
    np.save(tmp_path / "pool.npy", pool)
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data",
                             str(tmp_path / "pool.npy"), "--threshold", "0.9", "--trials", "1",
                             "--probes", "1", "--level", "0")
    assert code == 0, err
    assert ">=5" in out
    assert "capacity at 0.9 is all 5 distinct patterns of the pool" in err
    code, out, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--data",
                             "random", "--pool", "5", "--sizes", "16,25", "--threshold", "0.5",
                             "--probes", "1", "--level", "0", "--out", tmp_path)
    assert code == 0 and "N=25: the capacity at 0.5 is all 5 distinct" in err, err
    rows = [line.strip("│┃ ").split() for line in out.splitlines() if line.startswith("│")]
    assert rows == [["16", "│", ">=5"], ["25", "│", ">=5"]], out  # (its table said 5)


def test_the_json_and_the_fit_say_which_capacities_are_lower_bounds(run_cli, tmp_path):
    """`scaling` marked a capacity that is the whole pool `>=` in its table and figure, but
    its JSON held the bare number, and its fit line took it in without a word (a fit through
    a lower bound: the exponent is not what the table's numbers bound); `capacity --json`
    likewise. Their JSON now lists such thresholds (`lower_bound`, as a sweep's rows do), each
    fit the sizes of lower bounds it takes in (`lower_bounds`), and the fit line says so."""
    pool = tmp_path / "img.npy"
    np.save(pool, np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8))
    code, out, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--data", pool,
                             "--sizes", "16,36,64", "--threshold", "0.95", "--probes", "2",
                             "--out", tmp_path)
    assert code == 0, err
    saved = json.loads((tmp_path / "scaling-single-binary-pinv-img.json").read_text())
    bounded = [run["n_neurons"] for run in saved["runs"] if run["lower_bound"] == ["0.95"]]
    assert bounded and len(bounded) < 3 and saved["fits"]["0.95"]["lower_bounds"] == bounded
    assert f"the fit takes in the lower bound{'s' * (len(bounded) > 1)} (>=) at N = " \
           f"{', '.join(map(str, bounded))}" in " ".join(out.split()), out
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", pool, "--neurons", 16,
                             "--threshold", "0.05,0.95", "--trials", 1, "--probes", 1, "--json")
    assert code == 0, err
    found = json.loads(out)["results"][0]
    assert found["capacity"]["0.05"] == 12 > found["capacity"]["0.95"]
    assert found["lower_bound"] == ["0.05"]


def test_nearest_pattern_curve_is_a_ceiling_on_the_same_subsets_and_cues():
    """Decoding each cue to the nearest stored pattern, on the very subsets and cues of
    recall_curve, recalls exactly at least as often as a trained memory."""
    from xbarmem import Protocol, load_mnist
    from xbarmem.evaluation.curve import nearest_pattern_curve, recall_curve

    pool = load_mnist(side=6, n_patterns=60, seed=0)
    protocol = Protocol(corruption="flip", level=0.15, probes=4, seed=3)
    counts = [2, 6, 12]
    ceiling = nearest_pattern_curve(pool, counts, trials=2, protocol=protocol, seed=5)
    pinv = recall_curve(pool, counts, "paper-sim", "pinv", trials=2, protocol=protocol, seed=5)
    assert [p["count"] for p in ceiling] == counts
    for top, point in zip(ceiling, pinv["points"], strict=True):
        assert point["exact"] <= top["exact"] + 1e-6 and point["cosine"] <= top["cosine"] + 1e-6
    clean = nearest_pattern_curve(pool, counts, protocol=Protocol(level=0.0, probes=2), seed=5)
    assert all(p["cosine"] == 1.0 and p["exact"] == 1.0 for p in clean)


def test_capacity_warns_when_the_threshold_is_passed_by_the_cues_themselves(run_cli):
    """With 5% flips a cue keeps similarity 0.9 to its pattern: a threshold at or below that
    is passed by a memory that returns the cue unchanged, and the command says so."""
    args = ["capacity", "--rule", "pinv", "--data", "random", "--neurons", "16", "--trials", "1",
            "--probes", "2", "--pool", "20"]
    code, _, err = run_cli(*args, "--threshold", "0.9,0.99")
    assert code == 0 and ("threshold 0.9 is at or below the cues' own cosine with their "
                          "patterns, 0.900 (5% flips, N = 16)") in err
    code, _, err = run_cli(*args, "--threshold", "0.99", "--level", "0.01")
    assert code == 0 and "own cosine" not in err
    # salt-and-pepper sets random signs: half of the 10% it hits keep theirs, cosine 0.9
    code, _, err = run_cli(*args, "--threshold", "0.9,0.99", "--corruption", "salt-pepper")
    assert code == 0 and ("threshold 0.9 is at or below the cues' own cosine with their "
                          "patterns, 0.900 (10% salt-and-pepper, N = 16)") in err


@given(lo=st.integers(1, 5000), width=st.integers(2, 5000),
       s_lo=st.floats(0.0, 1.0), drop=st.floats(1e-6, 1.0), frac=st.floats(0.0, 1.0))
@settings(max_examples=300, deadline=None)
def test_next_count_stays_inside_the_bracket_a_quarter_from_its_ends(lo, width, s_lo, drop,
                                                                       frac):
    """Whatever the similarities, the next tested count lies strictly inside the bracket and
    at least a quarter of it (and 1) from either end, so every test removes a quarter."""
    hi = lo + width
    s_hi = s_lo - drop
    theta = s_hi + frac * (s_lo - s_hi)
    if not s_hi < theta <= s_lo:
        return
    mid = _next_count(lo, hi, s_lo, s_hi, theta)
    margin = max(1, width // 4)
    assert lo + margin <= mid <= hi - margin


def test_search_survives_counts_that_score_nan():
    """A count whose similarity is NaN fails the threshold, in the search and in the capacity
    rule alike; the next count after it is the midpoint."""
    assert _next_count(10, 30, 0.995, float("nan"), 0.99) == 20
    score = lambda p: 1.0 if p <= 20 else float("nan")  # noqa: E731
    assert search_capacity(score, [0.99], start=8, max_count=100) == {0.99: 20}


@settings(max_examples=300, deadline=None)
@given(n=st.integers(4, 2000), slope=st.floats(1e-5, 1e-2), power=st.floats(0.5, 3.0),
       theta=st.sampled_from([0.9, 0.95, 0.99]), resolution=st.sampled_from([0.05, 0.1, 0.3]))
def test_a_search_at_a_resolution_brackets_the_capacity_to_it_from_the_passing_end(
        n, slope, power, theta, resolution):
    """With ``resolution`` r the search stops once the smallest failing count tested is within
    ``max(1, r * C)`` of the capacity C it reports (the largest passing count below it). No
    test checked this rule: stopping at ``r`` times the failing end instead passed them all."""
    calls = []

    def sim(p):
        return 1.0 - slope * p ** power

    cap = search_capacity(lambda p: calls.append(p) or sim(p), [theta], start=8, max_count=n,
                          resolution=resolution)[theta]
    failed = [p for p in calls if sim(p) < theta]
    if not failed:
        assert cap == n
        return
    hi = min(failed)
    assert cap == max(p for p in calls if p < hi)
    assert hi - cap <= max(1, resolution * cap), (cap, hi, sorted(set(calls)))


def test_search_tests_where_a_straight_curve_crosses_the_threshold():
    """On a similarity falling linearly with the count the interpolated search goes straight
    to the crossing: after the bracket [32, 64] it tests the crossing (50), a count a quarter
    of the new bracket above it (the guard) and the last one: three counts (bisection: five)."""
    calls = []

    def score(p):
        calls.append(p)
        return 1.0 - 0.001 * p  # crosses 0.95 between 50 and 51

    assert search_capacity(score, [0.95], start=8, max_count=500) == {0.95: 50}
    assert calls == [8, 16, 32, 64, 50, 53, 51]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(4, 2000), slope=st.floats(1e-5, 1e-2), power=st.floats(0.5, 3.0),
       theta=st.sampled_from([0.9, 0.95, 0.99]), resolution=st.sampled_from([0.0, 0.05]))
def test_the_multilayer_start_keeps_the_capacity_of_starting_at_half_and_saves_a_count(
        n, slope, power, theta, resolution):
    """Where N // 2 passes, a search from the multilayer start finds the capacity a search from
    N // 2 finds, from the same counts less N // 2 when the start passes too (on curves
    falling with the count)."""
    def sim(p):
        return 1.0 - slope * p ** power

    def run(start):
        calls = []
        caps = search_capacity(lambda p: calls.append(p) or sim(p), [theta], start=start,
                               max_count=4 * n, resolution=resolution)
        return caps, set(calls)

    assume(sim(n // 2) >= theta)
    start = default_start("multilayer", n)
    half, at_half = run(n // 2)
    new, at_new = run(start)
    assert new == half
    assert at_new == (at_half - {n // 2} if sim(start) >= theta else at_half)


def test_searches_start_at_n_over_8_for_one_layer_and_n_for_multilayer():
    assert (default_start("single", 64), default_start("multilayer", 64)) == (8, 64)
    assert default_start("multilayer", 9) == 8
    assert default_start("single", 9) == default_start("multilayer", 1) == 2
    pool = random_patterns(40, 16, seed=0)
    tested = []
    find_capacity(pool, arch="multilayer", hidden=4, chip="ideal", thresholds=(0.9,), trials=1,
                  rule_options={"max_steps": 5, "finetune_steps": 0},
                  protocol=Protocol(level=0.05, probes=1), progress=lambda p, s: tested.append(p))
    assert tested[0] == 16


_SEARCH_SETTINGS = [
    ({"thresholds": 0.9}, "thresholds must be a non-empty list of numbers in (0, 1], got 0.9"),
    ({"thresholds": "0.9"}, "thresholds must be a non-empty list of numbers in (0, 1]"),
    ({"thresholds": [0.9, 1.5]}, "thresholds must be a non-empty list"),
    # as --threshold 0.9,0.9 and a sweep's thresholds are (it was read off twice)
    ({"thresholds": [0.9, 0.95, 0.9]}, "thresholds lists 0.9 twice; give each value once"),
    ({"trials": 1.5}, "trials must be an integer >= 1, got 1.5"),
    ({"resolution": -1}, "resolution must be in [0, 1], got -1"),
    ({"resolution": 2.0}, "resolution must be in [0, 1], got 2.0"),
    ({"resolution": float("nan")}, "resolution must be finite, got nan"),
    ({"cue_budget": -1}, "cue_budget must be an integer >= 0, got -1"),
    ({"rule_options": [1]}, "rule_options must be a dict of rule options, got [1]"),
    ({"protocol": {"probes": 1}},
     "protocol must be a Protocol (build one with Protocol(**options)), got dict"),
]
_START = [({"start": 0}, "start must be an integer >= 1, got 0"),
          ({"start": -3}, "start must be an integer >= 1, got -3"),
          ({"start": 1.5}, "start must be an integer >= 1, got 1.5")]


@pytest.mark.parametrize("search, setting, message", [
    *[(search, *case) for search in ("find_capacity", "run_scaling") for case in _SEARCH_SETTINGS],
    *[("find_capacity", *case) for case in _START],  # run_scaling takes no start
])
def test_search_settings_are_refused_before_any_work(monkeypatch, search, setting, message):
    """check_search refuses what find_capacity and run_scaling cannot search with, before any
    pattern is loaded or network trained: thresholds=0.9, trials=1.5, rule_options=[1] gave a
    TypeError, protocol={...} an AttributeError after training, start=0 / -3 / 1.5 were read as
    the default / 1 / a float capacity, and a resolution outside [0, 1] or cue_budget=-1 was
    taken."""
    import xbarmem.evaluation.capacity as capacity_mod
    import xbarmem.evaluation.scaling as scaling_mod

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(capacity_mod, "recall_curve", no_work)
    monkeypatch.setattr(scaling_mod, "patterns_for", no_work)
    run = (lambda **kw: find_capacity(random_patterns(4, 16), rule="hebb", **kw)) \
        if search == "find_capacity" else (lambda **kw: scaling_mod.run_scaling([16], **kw))
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        run(**setting)


#: pools (distinct patterns, copies of each) and a start above their distinct patterns
_ABOVE_POOL = [(6, 1, 7), (6, 1, 100), (5, 20, 6), (5, 20, 100)]


@pytest.mark.parametrize("distinct, copies, start", _ABOVE_POOL)
@pytest.mark.parametrize("entry", ["find_capacity", "capacity"])
def test_a_start_above_the_pools_distinct_patterns_is_refused_before_any_work(
        monkeypatch, run_cli, tmp_path, entry, distinct, copies, start):
    """``xbarmem capacity --start 100`` on a pool of 6 distinct patterns (and
    ``find_capacity(pool, start=100)``) started its search at 6 in silence, while ``--pool
    100`` is refused: refused now, one line naming the pool's count, before any training."""
    import xbarmem.evaluation.capacity as capacity_mod

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(capacity_mod, "recall_curve", no_work)
    pool = np.repeat(random_patterns(distinct, 16, seed=1).patterns, copies, axis=0)
    words = f"is more than the pool's {distinct} distinct patterns"
    if entry == "find_capacity":
        with pytest.raises(ConfigError, match=f"^start = {start} {re.escape(words)}"):
            find_capacity(pool, rule="hebb", start=start, trials=1)
        return
    np.save(tmp_path / "pool.npy", pool)
    code, out, err = run_cli("capacity", "--data", tmp_path / "pool.npy", "--neurons", 16,
                             "--rule", "hebb", "--start", start, "--trials", 1, "--probes", 1)
    assert code == 2 and not out, (out, err)
    assert err.strip().splitlines() == [f"error: --start {start} {words} (the search tests at "
                                        f"most {distinct}); give at most {distinct}"], err


@pytest.mark.parametrize("copies", [1, 20])
def test_a_start_at_the_pools_distinct_patterns_is_searched_from(copies):
    """A start equal to the pool's distinct patterns stays accepted: the search tests it first."""
    pool = np.repeat(random_patterns(5, 16, seed=1).patterns, copies, axis=0)
    tested = []
    find_capacity(pool, rule="hebb", start=5, trials=1, thresholds=(0.99,),
                  protocol=Protocol(level=0.1, probes=1), progress=lambda p, s: tested.append(p))
    assert tested[0] == 5


#: every entry point that takes a cue budget, called with a classic rule and a budget given
_BUDGETED = [
    ("find_capacity", "hebb", 500), ("find_capacity", "pinv", 1), ("find_capacity", "Storkey", 64),
    ("run_scaling", "hebb", 500), ("run_scaling", "pinv", 1024),
]


@pytest.mark.parametrize("search, rule, budget", _BUDGETED)
def test_a_cue_budget_given_with_a_classic_rule_is_refused_before_any_work(
        monkeypatch, search, rule, budget):
    """``find_capacity(X, rule="hebb", cue_budget=500)`` (and ``run_scaling``) ran as without
    it -- the budget sets the adaptive rule's ``cue_copies`` only -- and recorded
    ``cue_budget: 500`` in the settings, read as a budget the search used. Refused now, one
    line naming the rule, before any pattern is loaded or network trained."""
    import xbarmem.evaluation.capacity as capacity_mod
    import xbarmem.evaluation.scaling as scaling_mod

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(capacity_mod, "recall_curve", no_work)
    monkeypatch.setattr(scaling_mod, "patterns_for", no_work)
    run = (lambda: find_capacity(random_patterns(8, 16), rule=rule, cue_budget=budget)) \
        if search == "find_capacity" else (lambda: scaling_mod.run_scaling(
            [16], arch="single", rule=rule, data="random", cue_budget=budget))
    with pytest.raises(ConfigError, match=f"^cue_budget = {budget} applies to the adaptive rule "
                       f"only .*; rule '{rule.lower()}' does not use it: leave cue_budget "
                       f"out$") as caught:
        run()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("rule", ["pinv", "hebb", "storkey"])
def test_a_default_cue_budget_runs_and_records_no_budget_with_a_classic_rule(rule):
    """``run_scaling``'s default budget is carried by every rule (no refusal), but a classic
    rule's searches draw no budgeted cues, so they record ``cue_budget`` 0, as a sweep's rows
    do (they recorded 1024, cues no rule drew), a plain int in JSON too."""
    from xbarmem.evaluation.scaling import SCALING_CUE_BUDGET, run_scaling

    res = run_scaling([16], arch="single", rule=rule, data="random", pool_size=12,
                      thresholds=[0.95])
    assert SCALING_CUE_BUDGET == 1024
    assert res["settings"]["cue_budget"] == 0 and type(res["settings"]["cue_budget"]) is int
    assert res["runs"][0]["settings"]["cue_budget"] == 0
    assert json.loads(json.dumps(res["settings"]))["cue_budget"] == 0
    pats = random_patterns(8, 16)
    assert find_capacity(pats, rule=rule, cue_budget=0, trials=1,
                         start=2).settings["cue_budget"] == 0


def test_a_budget_that_applies_is_recorded():
    """The adaptive rule records the budget it was given, as a plain int."""
    pats = random_patterns(8, 16)
    found = find_capacity(pats, rule="adaptive", cue_budget=64, trials=1, start=2,
                          rule_options={"max_steps": 5, "finetune_steps": 0})
    assert found.settings["cue_budget"] == 64 and type(found.settings["cue_budget"]) is int


@pytest.mark.parametrize("args", [("capacity", "--rule", "hebb", "--cue-budget", "500"),
                                  ("scaling", "--rule", "hebb", "--cue-budget", "500"),
                                  ("sweep", "s.toml", "--store", "s.sqlite")])
def test_the_commands_take_no_cue_budget_with_a_classic_rule(run_cli, tmp_path, monkeypatch,
                                                              args):
    """The commands: ``capacity`` and ``scaling`` have no cue budget option (scaling's searches
    carry the default, as ``run_scaling``), a sweep's file giving one with a classic rule is
    refused when it is read: one line, exit 2, no store made."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(
        '[sweep]\nname = "s"\ntrial = "capacity"\n[base]\ndata = "random"\n'
        'n_neurons = 16\nrule = "hebb"\nsearch = true\ncue_budget = 500\n')
    code, out, err = run_cli(*args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert ("No such option: --cue-budget" in err if args[0] != "sweep" else
            "cue_budget" in err and "adaptive" in err), err
    assert not (tmp_path / "s.sqlite").exists()


def test_a_capacity_search_on_one_given_fault_map(run_cli, tmp_path):
    """What can my measured chip store: every network of the search on the one map given
    (there was no way to ask; trials then differ in patterns and cues only)."""
    from xbarmem.hardware.faults import FaultMap

    chip = load_preset("rram")
    fmap = FaultMap.generate(chip.with_faults(0.3), 1, seed=5)
    pool = random_patterns(60, 32, seed=0)
    res = find_capacity(pool, chip=chip, rule="pinv", thresholds=[0.95], trials=2,
                        protocol=Protocol(probes=2), faults=fmap).as_dict()
    assert res["settings"]["fault_map"]["stuck"] == int(fmap.stuck.sum())
    trained = curve_mod.train_curve(pool, [4], chip, "pinv", trials=2, faults=fmap)
    assert all(m.faults is fmap for m in trained.memories)
    drawn = curve_mod.train_curve(pool, [4], chip, "pinv", trials=2)
    assert drawn.memories[0].faults is not drawn.memories[1].faults
    with pytest.raises(ConfigError, match="faults: .* weight fault model"):
        find_capacity(pool, chip="paper-sim", rule="pinv", faults=fmap)
    fmap.save(tmp_path / "map.npz")
    base = ["capacity", "--rule", "pinv", "--data", "random", "--pool", "60",
            "--trials", "1", "--probes", "2", "--threshold", "0.95"]
    code, out, err = run_cli(*base, "--neurons", "32", "--chip", "rram", "--fault-map",
                             str(tmp_path / "map.npz"), "--json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["settings"]["fault_map"]["arrays"] == 1
    n32 = ["--neurons", "32"]
    for extra, fragment in (([*n32, "--chip", "rram", "--faults", "0.2"], "--faults applies"),
                            (["--chip", "rram", "--neurons", "100"], "needs a map of 4"),
                            ([*n32, "--chip", "paper-sim"], "weight fault model")):
        code, _, err = run_cli(*base, "--fault-map", str(tmp_path / "map.npz"), *extra)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err


def test_capacities_are_listed_in_ascending_thresholds():
    """find_capacity(...).capacity listed thresholds from the highest ({0.95: 5, 0.9: 6})."""
    res = find_capacity(random_patterns(50, 16, seed=0), rule="pinv", thresholds=[0.95, 0.9],
                        trials=1, protocol=Protocol(probes=2))
    assert list(res.capacity) == [0.9, 0.95] and list(res.as_dict()["capacity"]) == ["0.9",
                                                                                       "0.95"]


def test_one_layer_adaptive_curves_seed_their_trainer_as_sweeps_do():
    """``capacity``, ``scaling`` and ``find_capacity`` left the one-layer adaptive trainer's
    seed at 0 whatever their ``seed`` (a sweep's trial seeds it): ``capacity --seed 1``
    trained its cues as ``--seed 0`` did. The trainer takes the curve's seed unless its own
    ``seed`` option is given; multilayer and classic rules as before."""
    from xbarmem.evaluation.curve import curve_trainer, recall_curve

    assert curve_trainer("single", "adaptive", {}, 5).seed == 5
    assert curve_trainer("single", "adaptive", {"seed": 2}, 5).seed == 2
    assert curve_trainer("multilayer", "adaptive", {}, 5).seed == 5
    assert curve_trainer("single", "pinv", {}, 5).name == "pinv"
    from xbarmem.evaluation.evaluate import Protocol

    pool = random_patterns(12, 16, seed=0)
    options = {"max_steps": 20, "finetune_steps": 0, "flip_steps": 0}
    run = {"chip": "ideal", "trials": 1, "seed": 1, "protocol": Protocol(probes=2, seed=0)}
    curves = [recall_curve(pool, [6], rule="adaptive", rule_options={**options, **seed},
                           **run) for seed in ({}, {"seed": 1}, {"seed": 0})]
    assert curves[0]["points"] == curves[1]["points"] != curves[2]["points"]


def test_checkpoints_key_the_seed_the_adaptive_trainer_trains_with(tmp_path):
    """A checkpoint keys its trainer by the seed it trains with now that curves seed it: one
    kept at ``--seed 1`` when the trainer still drew from seed 0 is another key."""
    from xbarmem.cli.capacity import _checkpoint
    from xbarmem.hardware.chip import load_chip

    pool = random_patterns(12, 16, seed=0)
    chip = load_chip("ideal")
    for seed in (1, 4):
        point = _checkpoint(tmp_path / f"c{seed}.json", pool, chip, None,
                            {"rule": "adaptive", "rule_options": {}, "seed": seed}, ["single"])
        assert point.key["trainer"]["single"]["seed"] == seed
    given = _checkpoint(tmp_path / "g.json", pool, chip, None,
                        {"rule": "adaptive", "rule_options": {"seed": 7}, "seed": 1}, ["single"])
    assert given.key["trainer"]["single"]["seed"] == 7


def test_every_output_of_a_search_takes_its_lower_bound_from_the_result(run_cli, tmp_path,
                                                                        monkeypatch):
    """`lower_bound` was computed from `as_dict()` at each call site (the capacity command's
    JSON and table, scaling's runs, a sweep's capacity trial); it is one property of the
    result, which every one of them reads."""
    from xbarmem.evaluation.capacity import CapacityResult
    from xbarmem.experiments.trial import _run_search

    res = find_capacity(random_patterns(6, 16, seed=0), rule="pinv", thresholds=[0.9],
                        trials=1)
    assert res.lower_bound == ["0.9"]  # (every count of a pool of 6 passes)
    monkeypatch.setattr(CapacityResult, "lower_bound", property(lambda self: ["0.1234"]))
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--pool", 6,
                             "--neurons", 16, "--threshold", "0.9", "--trials", 1,
                             "--probes", 1, "--json")
    assert code == 0 and json.loads(out)["results"][0]["lower_bound"] == ["0.1234"], err
    assert "capacity at 0.1234 is all 6 distinct" in err
    code, out, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--data",
                             "random", "--pool", "5", "--sizes", "16,25", "--threshold", "0.5",
                             "--probes", "1", "--level", "0", "--out", tmp_path, "--json")
    assert code == 0 and {tuple(r["lower_bound"]) for r in json.loads(out)["runs"]} == {
        ("0.1234",)}, err
    config = {"arch": "single", "rule": "pinv", "hidden": None, "thresholds": [0.9],
              "corruption": "flip", "level": 0.0, "probes": 1, "mode": "sync",
              "activation": "sign", "max_iterations": 100, "seed": 0, "resolution": 0.0,
              "rule_options": {}, "cue_budget": 0}  # (a pinv trial's, as resolve gives it)
    monkeypatch.setattr("xbarmem.experiments.trial._pool", lambda c, pool: random_patterns(
        6, 16, seed=0))
    monkeypatch.setattr("xbarmem.experiments.trial._chip", lambda c: "paper-sim")
    assert _run_search({**config, "pool": 6}, 0.0)["lower_bound"] == ["0.1234"]
