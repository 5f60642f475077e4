"""A numpy-rule grid (BPTT, nonlocal-random) as one stack, and as tasks of one rate each.

The figures' grids of numpy-only rules run as stacked numpy networks
(:func:`brianrflo.batch.sweep`). Without a Dask client a figure now runs its whole grid
as one stack (:func:`brianrflo.dask_sweep.stacked_sweep`); on Dask it runs one task per
learning rate (:func:`brianrflo.dask_sweep.run_task`). A numpy step at N = 30 costs
more per call than per network, so the stack's size sets the speed. This times both
ways through the same grid (the paper's 8 rates x ``--seeds`` networks), checks that
they give the same losses, and prints network-steps per second:

    python benchmarks/numpy_grid.py                       # BPTT, T = 800, 50 trials
    python benchmarks/numpy_grid.py --rule nonlocal-random --period 400 --trials 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brianrflo.batch import sweep
from brianrflo.figures.periodic import ETA_GRID, TAU
from brianrflo.tasks import Periodic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="bptt", choices=("bptt", "nonlocal-random", "rtrl"))
    parser.add_argument("--period", type=int, default=800, help="trial length T (steps)")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=9, help="networks per learning rate")
    parser.add_argument("--n", type=int, default=30, help="hidden units")
    args = parser.parse_args()

    task, seeds = Periodic(args.period), range(args.seeds)

    def run(etas):
        return sweep(task, args.rule, etas, seeds, args.trials, n_hidden=args.n, tau=TAU)

    start = time.perf_counter()
    stack = run(ETA_GRID)
    t_stack = time.perf_counter() - start
    start = time.perf_counter()
    parts = [run([eta]) for eta in ETA_GRID]
    t_tasks = time.perf_counter() - start
    same = all(np.array_equal(np.concatenate([getattr(p, k) for p in parts]), getattr(stack, k),
                              equal_nan=True) for k in ("losses", "final"))
    steps = len(ETA_GRID) * args.seeds * args.trials * args.period
    print(f"{args.rule}, N = {args.n}, T = {args.period}, {args.trials} trials, "
          f"{len(ETA_GRID)} rates x {args.seeds} networks")
    print("| way | wall time (s) | network-steps/s |\n|---|---|---|")
    print(f"| one stack of {len(ETA_GRID) * args.seeds} | {t_stack:.1f} | {steps / t_stack:,.0f} |")
    print(f"| {len(ETA_GRID)} tasks of {args.seeds} | {t_tasks:.1f} | {steps / t_tasks:,.0f} |")
    print(f"one stack / tasks: {t_tasks / t_stack:.2f}x; the same losses: {same}")


if __name__ == "__main__":
    main()
