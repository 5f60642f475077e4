"""Where a cpp_standalone block's time goes: the simulation, the rest of the binary, Python.

    python benchmarks/block_time.py            # N = 30, blocks of 50 trials of T = 200
    python benchmarks/block_time.py --n 100 --blocks 10

Times ``BrianNetwork.run_block`` end to end, the binary's process (Brian2 starts it
with ``subprocess.call``) and the binary's own simulation time (Brian2's
``last_run_info``), and prints the median of each over the blocks after two warm-up
blocks: the binary's start, argument loading and result writing is the process time
minus the simulation; Python's share (writing the arguments, reading the results) is
the block minus the process.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="hidden units")
    parser.add_argument("--period", type=int, default=200)
    parser.add_argument("--block-trials", type=int, default=50)
    parser.add_argument("--blocks", type=int, default=20, help="timed blocks")
    args = parser.parse_args()

    from brianrflo.network import BrianNetwork
    from brianrflo.tasks import Periodic
    from brianrflo.weights import Weights

    process = []
    call = subprocess.call

    def timed_call(*a, **k):
        start = time.perf_counter()
        try:
            return call(*a, **k)
        finally:
            process.append(time.perf_counter() - start)

    subprocess.call = timed_call  # Brian2's device.run starts the binary with it
    task = Periodic(args.period)
    net = BrianNetwork(Weights.init(args.n, 0, 1, seed=0), args.period,
                       block_trials=args.block_trials, eta=(0.01,) * 3,
                       target="cpp_standalone")
    rng = np.random.default_rng(0)
    rows = []
    for b in range(args.blocks + 2):
        block = task.block(args.block_trials, rng)
        start = time.perf_counter()
        net.run_block(block)
        total = time.perf_counter() - start
        if b >= 2:
            rows.append((total, process[-1], net.sim._device._last_run_time))
    total, proc, sim = np.median(np.array(rows), axis=0) * 1e3
    steps = args.block_trials * args.period
    print(f"N = {args.n}, {steps} steps a block, median of {args.blocks} blocks (ms):")
    print(f"  block {total:.1f} = simulation {sim:.1f} + rest of the binary {proc - sim:.1f}"
          f" + Python {total - proc:.1f}")
    print(f"  simulation {sim * 1e6 / steps:.0f} ns a step; per-block cost "
          f"{total - sim:.1f} ms ({(total - sim) / total:.0%} of the block)")


if __name__ == "__main__":
    main()
