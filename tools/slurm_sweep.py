"""A learning-rate grid on a Slurm cluster through dask-jobqueue (not runnable here).

Each Slurm job is one Dask worker with one core; the grid's tasks (one learning rate x
all seeds each, see brianrflo.dask_sweep) are shared out among them, and every finished
task is written by this script under OUT/tasks/, so running it again after a cancelled
allocation redoes only the missing tasks. Needs ``pip install dask-jobqueue`` and a
Slurm login node; edit QUEUE/ACCOUNT and the job sizes for your cluster.

    python tools/slurm_sweep.py out/slurm_sweep
"""

from __future__ import annotations

import sys

QUEUE, ACCOUNT = "normal", None  # your partition and account
JOBS = 16  # Slurm jobs = Dask workers, one core each


def main(out: str) -> None:
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    from brianrflo.dask_sweep import dask_sweep
    from brianrflo.sweep_folder import write_results
    from brianrflo.tasks import Periodic
    from brianrflo.train import Settings

    # One single-threaded worker per job: each compiles the network shape once
    # (its own cpp_standalone project folder) and reuses it for every task it gets.
    cluster = SLURMCluster(queue=QUEUE, account=ACCOUNT, cores=1, processes=1,
                           memory="4GB", walltime="04:00:00",
                           job_extra_directives=["--cpus-per-task=1"])
    cluster.scale(jobs=JOBS)
    with Client(cluster) as client:
        print(f"dashboard: {client.dashboard_link}")
        sweep = dask_sweep(Periodic(200), Settings(rule="rflo", trials=5000),
                           etas=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], seeds=range(9),
                           n_hidden=30, out=out, client=client, progress=print)
    write_results(out, sweep, {"rows": sweep.summary()})  # OUT/sweep.npz, OUT/sweep.json
    for row in sweep.summary():
        print(row)
    cluster.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/slurm_sweep")
