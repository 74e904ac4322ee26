"""A learning rule of your own: Hebb clipped to each weight's realisable interval on the chip.

Any object with `name`, `bias`, `options(layers, kind)` and `fit(problem, progress=None)` is
a rule (docs/extending.md): it trains with `train`, is compared with the built-in rules and
goes through the capacity search like them.
Run: python examples/03_custom_rule.py
"""

import torch

import xbarmem as xm
from xbarmem.evaluation.curve import recall_curve


class ClippedHebb:
    """W = X^T X / N scaled to the chip's weight range, then clipped into every weight's
    realisable interval [lo, hi] (stuck devices pin some weights)."""

    name = "clipped-hebb"
    bias = False  # no bias rows

    def options(self, layers=1, kind="binary"):
        return {}  # JSON-able: stored in memory.info

    def fit(self, problem, progress=None):
        x = problem.patterns                                  # (T, P, N), padded rows are 0
        t, _, n = x.shape
        w = torch.einsum("tpi,tpj->tij", x, x) / n * (1 - torch.eye(n))
        w = w / w.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
        w_max = torch.tensor(problem.w_max[0] if problem.w_max else [1.0] * t)
        lo, hi = problem.bounds[0]                           # (T, N, N): no bias column
        w = torch.minimum(torch.maximum(w * w_max[:, None, None], lo), hi)
        return xm.FitResult(weights=[w], biases=None, steps=torch.zeros(t, dtype=torch.int64),
                            loss=torch.full((t,), float("nan")),
                            converged=torch.ones(t, dtype=torch.bool))


rule = ClippedHebb()
patterns = xm.random_patterns(6, 32, seed=0)
chip = xm.load_preset("rram").with_faults(0.2)
memory = xm.train(patterns, chip=chip, rule=rule)
print("trained:", memory.info["rule"], "| custom rule cosine",
      round(xm.evaluate_memory(memory, patterns).cosine, 3))   # default Protocol: 1 cue each

# compare_rules draws its own chips (here 2) and these 10 cues per pattern, so its cosine for
# clipped-hebb is not the one printed above: same rule, other chips and cues
protocol = xm.Protocol(level=0.1, probes=10, seed=1)
table = xm.compare_rules(patterns, chip, [rule, "pinv", "adaptive"], trials=2, protocol=protocol,
                         rule_options={"adaptive": {"max_steps": 60, "finetune_steps": 0}})
for name, entry in table["rules"].items():
    print(f"{name:13s} cosine {entry['cosine']:.3f}  exact {entry['exact']:.2f}")

curve = recall_curve(xm.random_patterns(24, 32, seed=1), [2, 4, 8], chip, rule, protocol=protocol)
print("recall curve:", [(p["count"], round(p["cosine"], 3)) for p in curve["points"]])
found = xm.find_capacity(xm.random_patterns(24, 32, seed=1), chip=chip, rule=rule, trials=1,
                         thresholds=[0.95], protocol=protocol)
print("capacity at cosine 0.95:", found.capacity[0.95], "patterns;",
      found.evaluations, "counts tested")
