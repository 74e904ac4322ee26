"""Store 10 digits on a simulated chip with 40% stuck devices and compare rules.

Expect the hardware-adaptive rule far ahead: it trains inside what every pair of devices can
still reach, while the classic rules (pinv, hebb) learn ideal weights and meet the stuck
devices only when they are programmed. `arrays` is 2 for the adaptive rule: its bias row is a
65th input row, which does not fit one 64x64 array.
Run: python examples/01_store_digits_on_a_faulty_chip.py
"""

import xbarmem as xm

digits = xm.load_mnist(side=8, kind="binary", one_per_class=True)      # (10, 64) in {-1,+1}
chip = xm.load_preset("rram").with_faults(0.4)                          # assumed RRAM + 40% stuck
faults = xm.FaultMap.generate(chip, n_arrays=2, seed=0)                 # one physical chip
print("chip:", chip.name, faults)                                       # .summary(): a dict

protocol = xm.Protocol(corruption="flip", level=0.1, probes=20, seed=1)
for rule in ("adaptive", "pinv", "hebb"):
    memory = xm.train(digits.patterns, chip=chip, faults=faults, rule=rule)
    score = xm.evaluate_memory(memory, digits, protocol)
    print(f"{rule:9s} cosine {score.cosine:.3f}  exact {score.exact:.2f}  "
          f"arrays {memory.devices()['arrays']}")
