"""``capacity`` and ``scaling`` show a bar of their searches' work weighted by the sweeps'
estimate (:mod:`xbarmem.cli.capacity_bar`): its fraction never goes back, reaches 1 at the end,
and a search at a larger N counts for more of it."""

from __future__ import annotations

import re

import pytest
from rich.progress import Progress

from xbarmem.cli.capacity_bar import SearchWork
from xbarmem.experiments.resolve import resolve, search_config

SETTINGS = [
    dict(n_neurons=36, arch="single", hidden=None, rule="adaptive", kind="binary", probes=5,
         cue_budget=1024, rule_options={}),
    dict(n_neurons=64, arch="multilayer", hidden="1n", rule="adaptive", kind="continuous",
         probes=20, cue_budget=0, rule_options={"max_steps": 100}),
    dict(n_neurons=16, arch="single", hidden=None, rule="pinv", kind="binary", probes=2,
         cue_budget=1024, rule_options={}),
]


@pytest.mark.parametrize("given", SETTINGS)
def test_a_search_is_estimated_as_the_sweeps_search_trial(given):
    """The configuration a search is estimated by is the sweep's capacity search trial's (the
    keys the cost model reads), so the two bars count the same work alike."""
    raw = {k: v for k, v in given.items() if v is not None and k != "rule_options"}
    if given["rule"] != "adaptive":
        raw.pop("cue_budget")  # (a sweep refuses it there; the CLI passes it unused)
    trial = resolve({**raw, "data": "random", "search": True}, "capacity", 3,
                    {given["rule"]: given["rule_options"]})
    mine = search_config(**given, seed=3, levels=trial["chip_spec"]["device"]["levels"])
    assert {k: trial[k] for k in mine} == mine


def _work(sizes, arch="single", trials=1, rule="adaptive") -> SearchWork:
    return SearchWork({n: search_config(n, arch=arch, hidden=32 if arch == "multilayer" else None,
                                        rule=rule, kind="binary", probes=5,
                                        cue_budget=1024, seed=0) for n in sizes}, trials)


@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_a_search_at_a_larger_n_weighs_more(arch):
    weights = list(_work([36, 64, 100, 144], arch).weights.values())
    assert all(a < b for a, b in zip(weights, weights[1:], strict=False)), weights
    assert _work([64], arch, trials=3).total == pytest.approx(3 * _work([64], arch).total)


@pytest.mark.parametrize("rule", ["adaptive", "pinv"])
def test_the_work_never_goes_back_and_is_whole_at_the_end(rule):
    """Counts that outgrow a search's estimate (search_progress's fraction then falls when a
    costly count follows many cheap ones) and a search that tests fewer counts than
    estimated: the work done never decreases, stays within each search's share until it
    ends, and is the total once all have ended."""
    work = _work([36, 400, 100], rule=rule)
    done, ends = [0.0], []
    for n, counts in ((36, [4, 8, 16, 32, 64, 128, 1, 2, 256]), (400, [10] * 20 + [4000]),
                      (100, [12])):
        start = work.offsets[n]
        for p in counts:
            done.append(work.tested(n, p, 0.99))
            assert start <= done[-1] < start + work.weights[n]
        ends.append(work.ended(n))
        done.append(ends[-1])
        assert ends[-1] == pytest.approx(start + work.weights[n])
    assert all(a <= b for a, b in zip(done, done[1:], strict=False)), done
    assert done[-1] == pytest.approx(work.total)


def _recorded(monkeypatch) -> list[tuple[float, str]]:
    """Every ``(fraction, detail)`` a bar of weighted work shows (fraction nan: no total)."""
    seen: list[tuple[float, str]] = []
    update = Progress.update

    def recorded(self, task_id, **fields):
        update(self, task_id, **fields)
        task = self._tasks[task_id]
        seen.append((task.completed / task.total if task.total else float("nan"),
                     str(task.fields.get("detail", task.description))))

    monkeypatch.setattr(Progress, "update", recorded)
    return seen


def test_scaling_moves_a_weighted_bar_to_its_end(run_cli, monkeypatch, tmp_path):
    """`scaling` showed a spinner, the last tested count and the time: nothing said how much
    was left. Its bar now moves by estimated work, never back, to 1; the smaller N takes less
    than half of it; redirected, each tested count is still one line."""
    seen = _recorded(monkeypatch)
    code, out, err = run_cli("scaling", "--arch", "single", "--rule", "pinv", "--sizes",
                             "16,36", "--data", "random", "--trials", "1", "--probes", "1",
                             "--out", tmp_path)
    assert code == 0, err
    fractions = [f for f, _ in seen]
    assert fractions and fractions[-1] == pytest.approx(1.0), seen
    assert all(a <= b for a, b in zip(fractions, fractions[1:], strict=False)), seen
    assert max(f for f, d in seen if d.startswith("N=16 ")) < 0.5, seen
    assert any(0 < f < 1 for f, d in seen if d.startswith("N=36 ")), seen
    assert re.search(r"^\[[\d.]+ s\] N=36 P=\d+: cosine \d\.\d{4}$", err, re.M), err


def test_capacity_counts_every_architecture_and_trial(run_cli, monkeypatch):
    seen = _recorded(monkeypatch)
    code, out, err = run_cli("capacity", "--data", "random", "--neurons", "16", "--pool", "20",
                             "--trials", "2", "--probes", "1", "--arch", "single,multilayer",
                             "--recipe", "fast", "--hidden", "8")
    assert code == 0, err
    fractions = [f for f, _ in seen]
    assert fractions[-1] == pytest.approx(1.0), seen
    assert all(a <= b for a, b in zip(fractions, fractions[1:], strict=False)), seen
    assert max(f for f, d in seen if d.startswith("single ")) < 0.5, seen
    assert re.search(r"^\[[\d.]+ s\] 16-8-16 P=\d+: cosine \d\.\d{4}$", err, re.M), err
