"""(d) Robustness to programming variation: recall against sigma = v max|W|."""

from __future__ import annotations

import math
from typing import Any

from xbarmem.data.sources import data_words
from xbarmem.experiments.reproduce.report import (
    JUDGED_RECIPE,
    PAPER_VARIATION,
    POINT_RULE,
    PRIMARY_DATA,
    SELECTION_VALUES,
    VARIATION_GOALS,
    VARIATION_RECIPES,
    Experiment,
    Section,
    mean_std,
    mean_text,
    paper_table,
    reference_figure,
    spread_table,
    sweep_spec,
)

#: a programming variation as every table, check and reason of (d) writes it ("0.30", as its
#: summary rows and goals; the paper's points read "0.3" beside them)
V_TEXT = "{:.2f}".format


class Variation(Experiment):
    key = "d"
    title = "Robustness to programming variation"
    claim = ("Recall barely changes under realistic programming noise (abstract). With "
             "sigma = "
             "v max|W| (10 digits): hardware-adaptive ~1.0 up to v = 0.22, 0.95 at 0.30; "
             "pseudo-inverse ~1.0 up to 0.18, 0.82 at 0.24, 0.50 at 0.30 (read from the "
             "paper's plot).")

    def values(self, quick: bool) -> list[float]:
        if quick:
            return [0.0, 0.1, 0.18, 0.22, 0.24, 0.3, 0.35, 0.4]
        return [round(0.02 * i, 2) for i in range(21)]

    FIGURE = "d-variation.png"

    def outputs(self) -> list[str]:
        return [self.FIGURE]

    def sweeps(self, quick):
        values = self.values(quick)
        grids = [{"rule": ["adaptive", "pinv"], "variation": values}]
        grids += [{"rule": ["adaptive"], "variation": values,
                   "rule_options": {"adaptive": {k: [v] for k, v in options.items()}}}
                  for options in VARIATION_RECIPES.values() if options]
        base = {"data": PRIMARY_DATA, "n_neurons": 64, "patterns": 10,
                "selection": "one-per-class", "chip": "paper-sim", "fault_rate": 0.0,
                "corruption": "flip", "level": 0.1, "probes": 20}
        spread = [{"rule": ["pinv"], "variation": list(SELECTION_VALUES)},
                  {"rule": ["adaptive"], "variation": list(SELECTION_VALUES),
                   "rule_options": {"adaptive": {
                       k: [v] for k, v in VARIATION_RECIPES["adaptive, bounded"].items()}}}]
        return [sweep_spec(self.name(quick, "variation"), {
            "sweep": {"trial": "evaluate", "seeds": 2 if quick else 5},
            "base": base, "grid": grids}),
            sweep_spec(self.name(quick, "selections"), {
                "sweep": {"trial": "evaluate", "seeds": self.selections(quick)},
                "base": {**base, "selection": "random-per-class", "pool": 1000},
                "grid": spread})]

    @staticmethod
    def selections(quick: bool) -> int:
        """Ten-digit selections (seeds) of the spread over other digits."""
        return 8 if quick else 20

    @staticmethod
    def recipe(row: dict[str, Any]) -> str | None:
        """The label of a row's rule: the classic rule's name, or the
        :data:`VARIATION_RECIPES` label its trainer options match (None: another recipe)."""
        c = row["config"]
        if c["rule"] != "adaptive":
            return c["rule"]
        ro = c.get("rule_options") or {}
        for label, options in VARIATION_RECIPES.items():
            if (ro.get("weight_bound") == options.get("weight_bound")
                    and ro.get("variation", 0.0) == options.get("variation", 0.0)):
                return label
        return None

    def section(self, ctx):
        sec = Section(self.key, self.title, self.claim)
        rows = [{**r, "config": {**{k: v for k, v in r["config"].items()
                                    if k != "rule_options"}, "rule": self.recipe(r)}}
                for r in ctx.rows(self.name(ctx.quick, "variation")) if self.recipe(r)]

        def measured(rule, v):
            return [r["result"]["cosine"] for r in rows if r["config"]["rule"] == rule
                    and abs(r["config"]["variation"] - v) < 1e-9]

        judged = {JUDGED_RECIPE: PAPER_VARIATION["adaptive"],
                  "pinv": PAPER_VARIATION["pinv"]}
        checks = paper_table(sec, judged, "v", measured, at=0.30,
                             paper=lambda v: f"{v:.2f}",
                             label=lambda rule, v: f"({self.key}) {rule}, programming "
                                                   f"variation v = {v:.2f}", fmt=V_TEXT)
        checks += self.goals(sec, measured)
        spread = [{**r, "config": {**r["config"], "rule": self.recipe(r)}}
                  for r in ctx.rows(self.name(ctx.quick, "selections")) if self.recipe(r)]
        sec.reasons += self.spread(sec, spread, judged, measured)
        if checks:
            sec.judge(checks, POINT_RULE + f" The paper's hardware-adaptive points are judged "
                      f"on the '{JUDGED_RECIPE}' recipe "
                      f"({VARIATION_RECIPES[JUDGED_RECIPE]}); the default recipe is shown, not "
                      f"judged. Beyond the paper: " + "; ".join(
                          f"{r} >= {least} at v = {v:.2f}" for r, v, least in VARIATION_GOALS)
                      + "; the variation-aware recipe at least the default's mean - 0.005 at "
                        "v = 0.")
        sec.body += self.explanation()
        # the paper's hardware-adaptive points in the colour of the recipe judged against them
        reference_figure(ctx, sec, rows, "variation", self.FIGURE, judged,
                         f"10 {data_words(PRIMARY_DATA)} patterns (one per digit), no faults, "
                         f"N = 64, 10% flips\npaper (hollow) judged "
                         f"against '{JUDGED_RECIPE}' and pinv")
        sec.settings = (f"`paper-sim` chip without faults; after training, Gaussian noise of std "
                        f"v * max|W| (max over the programmed weight matrix) is added to every "
                        f"target weight except the diagonal (biases as trained), then programmed; "
                        f"v in {self.values(ctx.quick)}; one noise draw per seed scaled by v; "
                        f"10 MNIST digits ({PRIMARY_DATA}, first of each class), 20 cues per "
                        f"digit with 10% flips, sync sign recall, {2 if ctx.quick else 5} seeds. "
                        f"Recipes (trainer options beside the defaults): "
                        + "; ".join(f"{k}: {v or 'defaults'}"
                                    for k, v in VARIATION_RECIPES.items()) + ".")
        return sec

    @staticmethod
    def spread(sec: Section, rows: list[dict[str, Any]], judged: dict[str, dict[float, float]],
               measured) -> list[str]:
        """:func:`spread_table` of the judged rules over other ten-digit selections (``rows``:
        one random digit per class and one noise draw per seed)."""
        def values(rule: str, v: float) -> list[float]:
            return [r["result"]["cosine"] for r in rows if r["config"]["rule"] == rule
                    and abs(r["config"]["variation"] - v) < 1e-9]

        n_sel = len({r["config"]["seed"] for r in rows})
        return spread_table(
            sec, judged, "v", SELECTION_VALUES, values, measured,
            intro=f"Over other digits ({n_sel} selections of one random digit per class from "
                  f"the first 1000, one noise draw each): mean, 10-90% range and "
                  f"lowest-highest of the selections' mean cosine.",
            where="on the first digit of each class", what="other ten-digit selections",
            fmt=V_TEXT)

    @staticmethod
    def goals(sec: Section, measured) -> list[tuple[str, bool]]:
        """The table and checks of :data:`VARIATION_GOALS` and of the variation-aware recipe
        at v = 0 against the default recipe."""
        sec.body += ["", "Beyond the paper (every recipe of this section):", "",
                     "| recipe | v | goal | measured | passes |", "|---|---|---|---|---|"]
        checks = []
        plain = mean_std(measured("adaptive", 0.0))
        goals = [(r, v, f">= {least:.2f}", least) for r, v, least in VARIATION_GOALS]
        goals.append(("adaptive, variation-aware", 0.0, f">= default - 0.005 "
                      f"({mean_text(*plain)})", plain[0] - 0.005))
        for recipe, v, text, least in goals:
            m, s, n = mean_std(measured(recipe, v))
            if not n or not math.isfinite(least):
                continue
            ok = m >= least
            checks.append((f"{recipe} at v = {v:.2f}: {mean_text(m, s, n)} vs {text}", ok))
            sec.body.append(f"| {recipe} | {v:.2f} | {text} | {mean_text(m, s, n)} | "
                            f"{'yes' if ok else 'no'} |")
            if recipe.endswith("variation-aware") and v > 0:  # the goal beyond the paper
                sec.summary.append((f"(d) {recipe}, programming variation v = {v:.2f}",
                                    f"- (goal {text})", mean_text(m, s, n),
                                    "ok" if ok else "below"))
        for v in (0.0, 0.22, 0.30):
            m, s, n = mean_std(measured("adaptive", v))
            if n:
                sec.body.append(f"| adaptive (default, not judged) | {v:.2f} | - | "
                                f"{mean_text(m, s, n)} | - |")
        return checks

    @staticmethod
    def explanation() -> list[str]:
        return ["", "The definition used is the paper's sigma = v max|W|, one draw per "
                "weight. The "
                "pseudo-inverse weights are fixed by the formula, so its rows check the noise "
                "model and the protocol against the paper's. What sets the hardware-adaptive "
                "rows is the weights' shape: the noise on a neuron's field has std v max|W| "
                "sqrt(N - 1), so recall survives while the smallest margin x_i h_i, in units "
                "of max|W| sqrt(N - 1), stays well above v. The default recipe's weights "
                "(unbounded on `paper-sim`) have a few large entries and smaller normalised "
                "margins than the pseudo-inverse's; training inside +-0.1 w_max ('bounded') "
                "drives most weights to the bound and raises the smallest normalised margin. "
                "Margins in these units, and the peak / rms weight, of any trained memory: "
                "`xbarmem.evaluation.metrics.field_margins`."]
