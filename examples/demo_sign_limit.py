"""How close does hardware-adaptive sign recall get to the best any decoder could do?

Prints the nearest-stored-pattern bound (the mean cosine of a decoder that returns the stored
digit nearest to each cue), then the mean cosine under sign and tanh neurons for the trainer's
defaults and for each option set given as JSON.

The setting is the demo's: 10 bundled 8x8 MNIST digits 0-9, the ``paper-sim`` chip with 50%
weight faults, 10% bit flips, synchronous recall, 3 chips for each fault seed of ``--seeds``.
One difference: the digits are resized from the whole 28x28 image, as the demo did before it
took the centred 24x24 window (``xbarmem demo --data mnist`` is this setting).
docs/history/core.md quotes numbers measured on these digits with the trainer of that time.

    python examples/demo_sign_limit.py
    python examples/demo_sign_limit.py --options '[{"finetune_temperature": 2}]' --seeds 0,10,20
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from xbarmem.data.builtin import load_mnist
from xbarmem.evaluation.evaluate import Protocol, compare_rules
from xbarmem.hardware.chip import load_preset


def nearest_pattern_bound(x: torch.Tensor, flip: float, copies: int = 2000) -> float:
    """Mean cosine of a decoder that returns the stored pattern nearest to each cue."""
    gen = torch.Generator().manual_seed(0)
    target = x.repeat(copies, 1)
    cues = torch.where(torch.rand(target.shape, generator=gen) < flip, -target, target)
    nearest = x[torch.cdist(cues, x, p=1).argmin(dim=1)]
    return float((nearest * target).mean(dim=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--options", default="[{}]",
                        help="JSON list of trainer option sets ({} = the defaults)")
    parser.add_argument("--seeds", default="0,10,20",
                        help="fault seeds, comma-separated (3 chips each; default 0,10,20)")
    parser.add_argument("--flip", type=float, default=0.1,
                        help="share of the cue's bits flipped (default 0.1)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pats = load_mnist(side=8, kind="binary", one_per_class=True)
    x = torch.tensor(pats.patterns)
    distance = torch.cdist(x, x, p=1) / 2 + 1e9 * torch.eye(len(x))
    print(f"nearest-stored-pattern bound: {nearest_pattern_bound(x, args.flip):.4f}; "
          f"closest pair of digits: {int(distance.min())} bits apart")
    chip = load_preset("paper-sim").with_faults(0.5)
    for options in json.loads(args.options):
        start, sign, tanh = time.perf_counter(), [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            proto = dict(corruption="flip", level=args.flip, probes=20, seed=seed)
            res = compare_rules(pats, chip, ["adaptive"], trials=3, fault_seed=seed,
                                program_seed=seed, protocol=Protocol(**proto),
                                rule_options={"adaptive": options},
                                variants={"tanh": Protocol(**proto, activation="tanh")})
            entry = res["rules"]["adaptive"]
            sign.append(entry["cosine"])
            tanh.append(entry["variants"]["tanh"]["cosine"])
        name = json.dumps(options) if options else "trainer defaults"
        print(f"{name}: sign {sum(sign) / len(sign):.4f} "
              f"(per seed {', '.join(f'{v:.4f}' for v in sign)}), "
              f"tanh {sum(tanh) / len(tanh):.4f}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
