"""The same grid on a LocalCluster of 1 and of 2 workers: throughput and their ratio.

Each cluster is started and warmed up (Brian2 imported, and the grid's network shape
built once, in every worker) before the clock starts, so the time is the grid's
alone. The grid is one learning rate per task (brianrflo.dask_sweep.split). Usage::

    python benchmarks/dask_workers.py [--etas 8] [--seeds 2] [--trials 400] [--target numpy]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from brianrflo.dask_sweep import dask_sweep
from brianrflo.sweep_folder import same_results
from brianrflo.tasks import Periodic
from brianrflo.train import Settings


def timed(workers: int, task, settings, etas, seeds, n_hidden: int):
    """``(seconds, sweep)`` of the grid on a fresh cluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.wait_for_workers(workers, timeout=120)
        # One task per worker of the grid's shape first: imports and the build are not timed.
        warm = dataclasses.replace(settings, trials=settings.block_trials)
        dask_sweep(task, warm, etas[:workers], seeds, n_hidden, client=client)
        began = time.perf_counter()
        sweep = dask_sweep(task, settings, etas, seeds, n_hidden, client=client)
        return time.perf_counter() - began, sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etas", type=int, default=8, help="learning rates (= tasks)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per learning rate")
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--n-hidden", type=int, default=30)
    parser.add_argument("--period", type=int, default=200)
    parser.add_argument("--target", default="numpy", help="Settings.target of every task")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    task = Periodic(args.period)
    settings = Settings(trials=args.trials, block_trials=100, target=args.target)
    etas = list(np.geomspace(0.003, 0.3, args.etas))
    seeds = list(range(args.seeds))
    steps = len(etas) * len(seeds) * args.trials * task.T
    rows, sweeps = {}, {}
    for workers in (1, 2):
        seconds, sweeps[workers] = timed(workers, task, settings, etas, seeds, args.n_hidden)
        rows[workers] = {"seconds": round(seconds, 2), "network_steps_per_s": steps / seconds}
        print(f"{workers} worker(s): {seconds:.1f} s, {steps / seconds:.4g} network-steps/s")
    ratio = rows[2]["network_steps_per_s"] / rows[1]["network_steps_per_s"]
    same = same_results(sweeps[1], sweeps[2])
    print(f"2 workers / 1 worker: {ratio:.2f}x throughput; results identical: {same}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows, "ratio": ratio, "identical": same}, f,
                      indent=1)


if __name__ == "__main__":
    main()
