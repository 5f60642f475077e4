"""The same grid on a LocalCluster of 1 and of 2 workers: throughput and their ratio.

Each cluster is started and warmed up (Brian2 imported, and the grid's network shape
built once, in every worker) before the clock starts, so the time is the grid's
alone. The grid is one learning rate per task (brianrflo.dask_sweep.split), run on
each target of ``--runs`` (``TARGET:TRIALS``: the compiled target gets more trials, so
that its tasks last as long as Brian2's numpy target's). Usage::

    python benchmarks/dask_workers.py [--etas 8] [--seeds 2] \
        [--runs numpy:400 cpp_standalone:4000] [--json docs/dask_workers.json]

``docs/performance.md`` shows the run kept in ``docs/dask_workers.json``
(``python tools/performance_tables.py``).
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


def run(target: str, trials: int, args) -> dict:
    """One target's grid on 1 and on 2 workers."""
    task = Periodic(args.period)
    settings = Settings(trials=trials, block_trials=100, target=target)
    etas = list(np.geomspace(0.003, 0.3, args.etas))
    seeds = list(range(args.seeds))
    steps = len(etas) * len(seeds) * trials * task.T
    rows, sweeps = {}, {}
    for workers in (1, 2):
        seconds, sweeps[workers] = timed(workers, task, settings, etas, seeds, args.n_hidden)
        rows[workers] = {"seconds": round(seconds, 2), "network_steps_per_s": steps / seconds}
        print(f"{target}, {workers} worker(s): {seconds:.1f} s, "
              f"{steps / seconds:.4g} network-steps/s")
    ratio = rows[2]["network_steps_per_s"] / rows[1]["network_steps_per_s"]
    same = same_results(sweeps[1], sweeps[2])
    print(f"{target}: 2 workers / 1 worker: {ratio:.2f}x throughput; results identical: {same}")
    return {"target": target, "trials": trials, "etas": args.etas, "seeds": args.seeds,
            "n_hidden": args.n_hidden, "period": args.period, "rows": rows, "ratio": ratio,
            "identical": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etas", type=int, default=8, help="learning rates (= tasks)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per learning rate")
    parser.add_argument("--runs", nargs="+", default=["numpy:400", "cpp_standalone:4000"],
                        help="TARGET:TRIALS, one grid each")
    parser.add_argument("--n-hidden", type=int, default=30)
    parser.add_argument("--period", type=int, default=200)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    runs = []
    for spec in args.runs:
        target, _, trials = spec.partition(":")
        runs.append(run(target, int(trials or 400), args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
