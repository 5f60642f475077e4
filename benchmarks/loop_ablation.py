"""Which loop choices matter: plasticity rule of W_s and number of hold units (Fig. 4).

Trains the reaches once (the sizes of ``brianrflo figure fig4 --quick``), then trains the
loop from the same W_s with each combination and prints the accuracy of the last two
blocks and of a greedy test trial. Usage::

    python benchmarks/loop_ablation.py [--loop-trials 800] [--out out/loop_ablation.json]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from brianrflo import Settings, train
from brianrflo.figures.fig4 import SEQUENCE
from brianrflo.loop import LoopNetwork, syllable_units
from brianrflo.tasks import Reach


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reach-trials", type=int, default=400)
    parser.add_argument("--loop-trials", type=int, default=800)
    parser.add_argument("--out", default=os.path.join("out", "loop_ablation.json"))
    args = parser.parse_args()
    reach = Reach(n_reaches=4, syllables=2)
    weights = train(reach, Settings(rule="rflo", trials=args.reach_trials, eta=(0.03,) * 3,
                                    seed=0), n_hidden=100, progress=False).weights
    codes = syllable_units(SEQUENCE, 4)
    rows = []
    for rule in ("oja", "hebb"):
        for n_holds in (4, 1):
            net = LoopNetwork(weights, SEQUENCE, eta_s=0.1, rule=rule, n_holds=n_holds,
                              block_trials=100, seed=0)
            rng = np.random.default_rng(0)
            acc = [float(net.run_block(100, rng).accuracy(codes).mean())
                   for _ in range(args.loop_trials // 100)]
            net.eta_s = 0.0
            greedy = net.run_block(1, explore=np.zeros((1, 8)), keys=np.zeros((1, 8, net.units)))
            row = {"rule": rule, "n_holds": n_holds, "accuracy_per_block": acc,
                   "last_two_blocks": float(np.mean(acc[-2:])),
                   "greedy_choices": greedy.choices[0].tolist(),
                   "greedy_accuracy": float(greedy.accuracy(codes)[0])}
            rows.append(row)
            print(f"rule={rule:4s} hold units={n_holds}  accuracy (last 2 blocks) "
                  f"{row['last_two_blocks']:.2f}  greedy {row['greedy_choices']} "
                  f"({row['greedy_accuracy']:.2f})", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"sequence": list(SEQUENCE), "reach_trials": args.reach_trials,
                   "loop_trials": args.loop_trials, "runs": rows}, f, indent=1)


if __name__ == "__main__":
    main()
