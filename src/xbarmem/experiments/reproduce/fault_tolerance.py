"""(a) Fault tolerance: recall against the fraction of stuck weights, every rule on the same
chips, against the values read from the paper's plot."""

from __future__ import annotations

import numpy as np

from xbarmem.data.sources import data_words
from xbarmem.experiments.reproduce.report import (
    CHECKED_FAULTS,
    PAPER_FAULTS,
    PRIMARY_DATA,
    TOLERANCE,
    VERDICT_COUNTS,
    Experiment,
    Section,
    bar_cell,
    mean_std,
    mean_text,
    recipe_text,
    rows_by,
    sweep_spec,
    write_figure,
)
from xbarmem.learning.classic import rule_names


class FaultTolerance(Experiment):
    key = "a"
    title = "Fault tolerance: similarity vs fraction of stuck weights, every rule"
    claim = ("Recall quality holds with up to ~half the devices stuck (abstract); reference "
             "values read from the paper's plot (N = 64, 10 digits 0-9, 10% flips).")
    #: the authors' MNIST preprocessing (centre 24x24 crop, then 8x8) first; the whole-image
    #: downsampling and scikit-learn's digits beside it (the paper's digits are not public)
    datasets = (PRIMARY_DATA, "mnist", "digits")

    def faults(self, quick: bool) -> list[float]:
        if quick:
            return [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75]
        return [round(0.05 * i, 2) for i in range(16)]

    @staticmethod
    def seeds(quick: bool, trained: bool) -> int:
        """Seeds (chips) per point: the closed-form classic rules cost milliseconds, so they
        get many more chips than the trained hardware-adaptive rule: one chip's cosine varies
        from chip to chip at 40-60% faults, so a mean over a few chips is far from one over
        many (the spread over chips is in the report's table)."""
        if trained:
            return 2 if quick else 5
        return 12 if quick else 30

    def figure(self, data: str) -> str:
        return f"a-faults-{data}.png"

    def outputs(self) -> list[str]:
        return [self.figure(data) for data in self.datasets]

    def sweeps(self, quick):
        classic = [r for r in rule_names() if r != "adaptive"]
        return [sweep_spec(self.name(quick, f"{data}-{part}"), {
            "sweep": {"trial": "evaluate", "seeds": self.seeds(quick, part == "adaptive"),
                      "batch": 16},
            "base": {"data": data, "n_neurons": 64, "patterns": 10,
                     "selection": "one-per-class", "chip": "paper-sim", "corruption": "flip",
                     "level": 0.1, "probes": 20},
            "grid": {"rule": rules, "fault_rate": self.faults(quick)}})
            for data in self.datasets
            for part, rules in (("classic", classic), ("adaptive", ["adaptive"]))] + [
            sweep_spec(self.name(quick, "draws"), {
                "sweep": {"trial": "evaluate", "seeds": self.draws(quick), "batch": 16},
                "base": {"data": self.datasets[0], "n_neurons": 64, "patterns": 10,
                         "selection": "random-per-class", "pool": 1000, "chip": "paper-sim",
                         "corruption": "flip", "level": 0.1, "probes": 20},
                "grid": {"rule": ["hebb", "storkey-variant", "pinv"],
                         "fault_rate": list(CHECKED_FAULTS)}})]

    @staticmethod
    def draws(quick: bool) -> int:
        """Digit draws (one random image per class, each on its own chip) for the spread of the
        classic rules over which digit images are stored."""
        return 40 if quick else 200

    def draw_spread(self, ctx) -> list[str]:
        """Where the paper's classic-rule values sit among random digit draws: the paper's
        images are one unknown draw, and the classic rules' cosine depends on it."""
        rows = ctx.rows(self.name(ctx.quick, "draws"))
        if not rows:
            return []
        groups = rows_by(rows, lambda r: (r["config"]["rule"], r["config"]["fault_rate"]))
        out = [f"#### Spread over digit images ({self.datasets[0]}, one random image per "
               f"class, {self.draws(ctx.quick)} draws, each on its own chip)", "",
               f"| rule | faults | mean | 5%-95% of draws | paper | draws at or above the "
               f"paper - {TOLERANCE} |", "|---|---|---|---|---|---|"]
        for (rule, f), group in sorted(groups.items()):
            values = np.asarray([r["result"]["cosine"] for r in group], dtype=float)
            ref = PAPER_FAULTS[f][rule]
            lo, hi = np.quantile(values, [0.05, 0.95])
            share = float(np.mean(values >= ref - TOLERANCE))
            out.append(f"| {rule} | {f:g} | {values.mean():.3f} | {lo:.3f}-{hi:.3f} | "
                       f"{ref:.2f} | {share:.0%} |")
        out += ["", "The classic rules' recall depends on which image of each digit is "
                "stored; the paper's images are not public, so this is the range its "
                "classic-rule values could fall in with our data and fault model.", ""]
        return out

    paper_rules = ("hebb", "storkey-variant", "pinv", "adaptive")
    labels = {"mnist-crop24": "8x8 MNIST (bundled) from the centred 24x24 window, as the "
                              "authors' scripts preprocess it; first of each class 0-9",
              "mnist": "8x8 MNIST (bundled) from the whole 28x28 image, first of each class 0-9",
              "digits": "scikit-learn 8x8 digits, first of each class 0-9"}

    def section(self, ctx):
        sec = Section(self.key, self.title, self.claim)
        for data in self.datasets:
            rows = [r for part in ("classic", "adaptive")
                    for r in ctx.rows(self.name(ctx.quick, f"{data}-{part}"))]
            groups = rows_by(rows, lambda r: (r["config"]["rule"], r["config"]["fault_rate"]))
            sec.body += [f"### {self.labels[data]}", ""] + self.rule_table(ctx, groups)
            self.check(sec, data, groups)
            if rows:
                fig = self.figure(data)
                ref = {f"paper {rule}": (list(PAPER_FAULTS), [PAPER_FAULTS[f][rule]
                                                              for f in PAPER_FAULTS])
                       for rule in self.paper_rules}
                write_figure(ctx.out_dir / fig, rows, "faults", reference=ref,
                          title=f"10 {data_words(data)} patterns (one per digit), N = 64, "
                                f"10% flips, weight faults")
                sec.figures.append(fig)
            if data == self.datasets[0]:
                sec.body += self.draw_spread(ctx)
        sec.settings = (f"`paper-sim` chip (a faulty weight is 0, the rest unconstrained, no "
                        f"programming/read noise), fault rates {self.faults(ctx.quick)}, N = 64, "
                        f"10 stored digits (one per class), 20 cues per digit with 10% of bits "
                        f"flipped, synchronous sign recall (<= 100 steps), seeds (chip, "
                        f"training, cues): {self.seeds(ctx.quick, False)} per point for the "
                        f"classic rules, {self.seeds(ctx.quick, True)} for the "
                        f"hardware-adaptive rule with its {recipe_text()}.")
        return sec

    def rule_table(self, ctx, groups) -> list[str]:
        """Mean cosine per fault rate and rule, the paper's value in parentheses."""
        lines = ["| faults | " + " | ".join(rule_names()) + " |",
                 "|---|" + "---|" * len(rule_names())]
        for f in self.faults(ctx.quick):
            cells = []
            for rule in rule_names():
                m, s, n = mean_std([r["result"]["cosine"] for r in groups.get((rule, f), [])])
                ref = PAPER_FAULTS.get(f, {}).get(rule)
                cells.append(f"{m:.3f}" + (f" ({ref:.2f})" if ref is not None else "")
                             if n else "n/a")
            lines.append(f"| {f:g} | " + " | ".join(cells) + " |")
        return lines

    def check(self, sec: Section, data: str, groups) -> None:
        """The check at faults 0.4/0.5/0.6 (measured >= paper - tolerance) and the summary
        rows of one data set; on :data:`PRIMARY_DATA` it decides the section's verdict."""
        primary = data == PRIMARY_DATA
        passed: list[str] = []
        failed: list[str] = []
        above: list[str] = []  # baselines above the paper by more than the tolerance
        for f in CHECKED_FAULTS:
            for rule in self.paper_rules:
                m, _, n = mean_std([r["result"]["cosine"] for r in groups.get((rule, f), [])])
                ref = PAPER_FAULTS[f][rule]
                ok = n > 0 and m >= ref - TOLERANCE
                (passed if ok else failed).append(f"{rule}@{f:g}: {m:.3f} vs {ref:.2f}")
                if ok and rule != "adaptive" and m > ref + TOLERANCE:
                    above.append(passed[-1])
        if primary and passed + failed and any(groups.values()):
            sec.judge([(f"cosine {what} (paper)", what in passed) for what in passed + failed],
                      f"Each of the {len(passed) + len(failed)} points (rules "
                      f"{', '.join(self.paper_rules)} at faults "
                      f"{'/'.join(f'{f:g}' for f in CHECKED_FAULTS)}, {PRIMARY_DATA}) passes "
                      f"when its mean cosine is >= the paper's value - {TOLERANCE} (a baseline "
                      f"above the paper's passes too: (a) judges how recall holds under "
                      f"faults; (c) and (d), which judge gaps, hold baselines within "
                      f"{TOLERANCE} either way); {VERDICT_COUNTS}.")
        sec.body += ["", f"Mean cosine over seeds; the paper's value in parentheses. "
                     f"Check (faults 0.4/0.5/0.6, measured >= paper - "
                     f"{TOLERANCE}): **{len(passed)} of {len(passed) + len(failed)} "
                     f"pass**" + (f"; below: {', '.join(failed)}" if failed else "")
                     + (f"; baselines above the paper's by more than {TOLERANCE}, which "
                        f"narrows the paper's gap to the hardware-adaptive rule: "
                        f"{', '.join(above)}" if above else "") + ".", ""]
        for rule in ("adaptive", "pinv"):
            m, s, n = mean_std([r["result"]["cosine"] for r in groups.get((rule, 0.5), [])])
            ref = PAPER_FAULTS[0.5][rule]
            sec.summary.append((f"({self.key}) {rule}, 50% faults, {data}", f"{ref:.2f}",
                                mean_text(m, s, n),
                                bar_cell(primary, n > 0 and m >= ref - TOLERANCE)))
        sec.summary.append((f"({self.key}) faults 0.4/0.5/0.6 within 0.05 or above, {data}",
                            "-", f"{len(passed)}/{len(passed) + len(failed)} pass",
                            bar_cell(primary, not failed)))
