"""Grids of learning rates x seeds as tasks on Dask: one machine, several, or a cluster.

A grid is split into tasks by :func:`split`, and only by the grid: one task is one
learning rate and a run of consecutive seeds (all of them unless ``seeds_per_task``
is given), trained as the replicas of one network (:func:`~brianrflo.replicas.
replica_sweep`, or :func:`~brianrflo.batch.sweep` for the numpy rules). The split
does not depend on how many workers there are, so every way of running it computes
the same numbers:

* ``workers=0``: the tasks one after another in this process (no Dask);
* ``client=``: on a :class:`distributed.Client` you opened;
* ``scheduler=ADDRESS``, or Dask's own ``scheduler-address`` setting
  (``DASK_SCHEDULER_ADDRESS``): on that cluster;
* otherwise on an embedded :class:`distributed.LocalCluster`, one single-threaded
  worker process per core (or ``workers``).

Each worker is a process of its own: a cpp_standalone network claims its own project
folder there (:class:`~brianrflo.assembly.ProjectFolder`), and later tasks of one shape
reuse its compiled code. With ``out``, each finished task is written by this process
(the workers need no shared disk) as ``OUT/tasks/<id>.npz``, atomically, beside
``OUT/tasks/plan.json``, what the grid is; a sweep started again with the same grid
loads the tasks already there and runs only the others. A worker that dies has its
task rerun by Dask. :func:`combine` puts the tasks' rows back in the grid's order
(learning rates slowest, seeds fastest), as one sweep of the whole grid gives them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from brianrflo.tasks.base import Task

from . import sweep_folder
from .batch import Sweep, sweep
from .replicas import grid_target, replica_sweep
from .runfolder import read_json, write_json
from .train import LOCAL_RULES, Settings
from .validation import check_int

__all__ = ["GridTask", "split", "numpy_engine", "run_task", "combine", "dask_sweep",
           "stacked_sweep", "train_rows",
           "open_client", "configured_address", "dashboard", "read_plan", "remove_tasks", "PLAN",
           "TASK_FOLDER"]

#: The folder inside ``out`` that holds the finished tasks.
TASK_FOLDER = "tasks"
#: What the grid is, written before the first task: a resumed sweep must match it.
PLAN = "plan.json"


@dataclasses.dataclass(frozen=True)
class GridTask:
    """One task: the learning rate ``eta`` at ``seeds``, rows ``first..first+len(seeds)``."""

    id: str
    eta: float
    seeds: tuple[int, ...]
    first: int


def split(etas: Sequence[float], seeds: Sequence[int],
          seeds_per_task: int | None = None) -> list[GridTask]:
    """The grid's tasks, in row order.

    Parameters
    ----------
    etas, seeds
        The grid: rows are every (eta, seed), learning rates slowest.
    seeds_per_task
        Seeds per task (the last task of a rate may hold fewer); ``None``: all.

    Returns
    -------
    list of GridTask
        Depends on the grid alone, never on the workers that will run it.
    """
    etas = [float(e) for e in np.atleast_1d(etas)]
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    if not etas or not seeds:
        raise ValueError("etas and seeds must each hold at least one value")
    size = len(seeds) if seeds_per_task is None else seeds_per_task
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"seeds_per_task must be a positive integer or None, got "
                         f"{seeds_per_task!r}")
    tasks: list[GridTask] = []
    for i, eta in enumerate(etas):
        for j in range(0, len(seeds), size):
            chunk = tuple(seeds[j:j + size])
            tasks.append(GridTask(id=f"{len(tasks):04d}-eta{eta!r}-seeds{chunk[0]}-{chunk[-1]}",
                                  eta=eta, seeds=chunk, first=i * len(seeds) + j))
    return tasks


def numpy_engine(settings: Settings) -> bool:
    """Whether the grid runs as stacked numpy networks (:func:`brianrflo.batch.sweep`)."""
    return settings.target == "reference" or settings.rule not in LOCAL_RULES


def run_task(task: Task, settings: Settings, job: GridTask, n_hidden: int,
             eval_trials: int = 1) -> Sweep:
    """Train one task's rows as one network of replicas (in a worker, or here)."""
    return train_rows(task, settings, [job.eta], job.seeds, n_hidden, eval_trials)


def train_rows(task: Task, settings: Settings, etas, seeds, n_hidden: int = 30,
               eval_trials: int = 1, **resume) -> Sweep:
    """Every (eta, seed) row as one stack, on the engine the rule runs on: stacked
    numpy networks (:func:`~brianrflo.batch.sweep`) or replicas of one Brian2 network
    (:func:`~brianrflo.replicas.replica_sweep`).

    ``resume``: ``progress``, ``start`` and ``on_block``, as those sweeps take them.
    """
    if numpy_engine(settings):
        return sweep(task, settings.rule, etas, seeds, settings.trials, n_hidden=n_hidden,
                     tau=settings.tau, update=settings.update, dale=settings.dale,
                     eval_trials=eval_trials, explode=settings.explode,
                     block_trials=settings.block_trials, init=settings.init, **resume)
    return replica_sweep(task, settings, etas, seeds, n_hidden=n_hidden,
                         eval_trials=eval_trials, **resume)


def stacked_sweep(task: Task, settings: Settings, etas, seeds,
                  folder: str | os.PathLike | None = None, n_hidden: int = 30,
                  eval_trials: int = 1, progress: Callable[[str], None] | None = None,
                  record: dict | None = None) -> Sweep:
    """The whole grid as one stack in this process, checkpointed in ``folder`` after every block.

    Rows, and their numbers, are those of :func:`dask_sweep` on the same grid; one
    stack of all of them is the fastest way through a grid on one core (a numpy
    step costs more per call than per network: ``benchmarks/numpy_grid.py``). With
    ``folder``, the sweep writes :data:`~brianrflo.sweep_folder.FILE` there, as
    ``brianrflo sweep`` does: started again on the same grid, it continues from there
    to the numbers an uninterrupted one gives, bit for bit. ``record`` (JSON-able) is
    saved with the grid and must match too: the versions that computed it, for instance.

    Raises
    ------
    ValueError
        If ``folder`` holds the checkpoint of another grid or record (nothing is
        written).
    """
    jobs = split(etas, seeds)
    settings = grid_target(task, settings, n_hidden, len(etas) * len(seeds), progress)
    # Flat, so that sweep_folder.compare lets a checkpoint's trials grow.
    plan = _plan(task, settings, jobs, n_hidden, eval_trials)
    grid = {**plan.pop("settings"), **plan, **json.loads(json.dumps(record or {}))}
    start = None
    if folder is not None and os.path.exists(os.path.join(folder, sweep_folder.FILE)):
        start, saved = sweep_folder.read(folder)
        sweep_folder.compare(saved, grid, folder)
        start.check(len(etas) * len(seeds), settings.trials)
    on_block = None if folder is None else sweep_folder.Checkpointer(os.fspath(folder), grid)
    return train_rows(task, settings, etas, seeds, n_hidden, eval_trials, progress=progress,
                      start=start, on_block=on_block)


def combine(parts: Sequence[Sweep]) -> Sweep:
    """The tasks' sweeps as one, rows in the order of ``parts``.

    ``wall_time`` is the sum of the tasks' (compute time, not the time waited).
    """
    if not parts:
        raise ValueError("combine needs at least one sweep")
    marks = parts[0].checkpoints
    if any(p.rule != parts[0].rule or not np.array_equal(p.checkpoints, marks)
           for p in parts):
        raise ValueError("the tasks' sweeps differ in rule or alignment marks; they are not "
                         "one grid")
    rows = {k: np.concatenate([getattr(p, k) for p in parts]) for k in Sweep.ARRAYS
            if k != "checkpoints"}
    return Sweep(rule=parts[0].rule, checkpoints=np.array(marks), **rows,
                 wall_time=float(sum(p.wall_time for p in parts)),
                 weights=[w for p in parts for w in p.weights])


def configured_address() -> str | None:
    """Dask's own ``scheduler-address`` setting (``DASK_SCHEDULER_ADDRESS``), if any."""
    import dask.config

    return dask.config.get("scheduler-address", None) or None


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None,
                say: Callable[[str], None] | None = None) -> Iterator:
    """A :class:`distributed.Client`: on ``scheduler``, Dask's configured address, or new.

    With neither address, an embedded :class:`~distributed.LocalCluster` of ``workers``
    (default: one per core) single-threaded processes, closed on leaving. ``say`` is
    given the dashboard's address, when the scheduler serves one.
    """
    from distributed import Client, LocalCluster

    address = scheduler or configured_address()
    with contextlib.ExitStack() as stack:
        if address is not None:
            client = stack.enter_context(Client(address))
        else:
            # The cores this process may use (a Slurm job's share of a node), not the node's.
            n = len(os.sched_getaffinity(0)) if workers is None else workers
            check_int("workers of a LocalCluster", n, 1)
            cluster = stack.enter_context(
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True))
            client = stack.enter_context(Client(cluster))
        link = dashboard(client)
        if say is not None and link:
            say(f"dask dashboard: {link}")
        yield client


def dask_sweep(
    task: Task,
    settings: Settings,
    etas,
    seeds,
    n_hidden: int = 30,
    *,
    out: str | os.PathLike | None = None,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    seeds_per_task: int | None = None,
    eval_trials: int = 1,
    progress: Callable[[str], None] | None = None,
    record: dict | None = None,
    timeout: float | None = None,
    replace: bool = False,
) -> Sweep:
    """Train ``settings.rule`` at every (eta, seed) pair, task by task, on Dask or here.

    Where the tasks run (``client``, ``scheduler``, ``workers``), and what ``out``
    holds, is the module's docstring; ``seeds_per_task`` is :func:`split`'s, the other
    arguments :func:`~brianrflo.replicas.replica_sweep`'s (for the numpy engine,
    :func:`~brianrflo.batch.sweep`'s). The result is the same, bit for bit, however the
    tasks ran, on machines of one kind (compiled code rounds by the CPU it runs on).

    Parameters
    ----------
    progress
        Called with one line per finished task, and the dashboard's address when this
        call opens the client (with ``client=`` it is yours to show).
    record
        Saved in ``plan.json`` beside the grid, not compared (the CLI keeps its options
        there).
    timeout
        On Dask: seconds to wait for the next task to finish before giving up
        (``TimeoutError``); ``None``: no limit.
    replace
        The tasks of an earlier sweep in ``out`` are removed (not loaded, not compared),
        just before this sweep's first task is handed out: a sweep that fails to start
        (no scheduler at that address) leaves them as they were.

    Raises
    ------
    ValueError
        If ``out`` holds tasks of another grid.
    """
    jobs = split(etas, seeds, seeds_per_task)
    # 'auto' chosen once, for all the grid's networks
    settings = grid_target(task, settings, n_hidden, sum(len(j.seeds) for j in jobs), progress)
    plan = _plan(task, settings, jobs, n_hidden, eval_trials)
    folder = None if out is None else os.path.join(os.fspath(out), TASK_FOLDER)
    planned = folder is not None and os.path.exists(os.path.join(folder, PLAN))
    done: dict[str, Sweep] = {}
    if folder is not None and planned and not replace:
        _check_plan(folder, plan)
        loaded = {j.id: _load(folder, j) for j in jobs}
        done = {k: v for k, v in loaded.items() if v is not None}
    meter = _Meter(jobs, done, settings.trials * task.T, progress)
    todo = [j for j in jobs if j.id not in done]
    args = (task, settings)

    def begin() -> None:
        """The folder is this sweep's from now on."""
        if folder is not None:
            if replace or not planned:  # the replaced sweep's tasks, or files of no plan
                remove_tasks(folder)
                os.makedirs(folder)
                write_json(os.path.join(folder, PLAN), {"grid": plan, "record": record or {}},
                           default=str)
        meter.start()  # the rate leaves out the cluster's start-up

    def finished(job: GridTask, part: Sweep) -> None:
        if folder is not None:
            part.save(os.path.join(folder, job.id + ".npz"))
        done[job.id] = part
        meter.tick(job)

    if todo and client is None and workers == 0 and scheduler is None:
        begin()
        for job in todo:
            finished(job, run_task(*args, job, n_hidden, eval_trials))
    elif todo:
        given = contextlib.nullcontext(client) if client is not None else None
        # A client that is yours is not announced: you know its address.
        with given or open_client(scheduler, workers, say=progress) as on:
            begin()
            _on_dask(on, args, todo, n_hidden, eval_trials, finished, progress, timeout)
    return combine([done[j.id] for j in jobs])


def _on_dask(client, args: tuple, todo: list[GridTask], n_hidden: int, eval_trials: int,
             finished: Callable[[GridTask, Sweep], None],
             progress: Callable[[str], None] | None, timeout: float | None) -> None:
    """Submit every task; hand each result to ``finished`` as it arrives."""
    from distributed import wait

    run = uuid.uuid4().hex[:8]  # keys of one sweep; another sweep on the client is apart
    futures = {client.submit(run_task, *args, job, n_hidden, eval_trials,
                             key=f"brianrflo-{job.id}-{run}", pure=False): job for job in todo}
    pending = set(futures)
    try:
        while pending:
            # The timeout restarts at every finished task (as_completed's counts from
            # its call, so a long sweep would time out however steadily tasks finish).
            ready, pending = wait(pending, timeout=timeout, return_when="FIRST_COMPLETED")
            for future in sorted(ready, key=lambda f: futures[f].first):
                finished(futures[future], future.result())
    finally:
        # Interrupted (Ctrl-C, a failed task): leave nothing running for this sweep.
        client.cancel([f for f in futures if not f.done()])


def dashboard(client) -> str | None:
    """The Dask dashboard's address, when the scheduler serves one (it needs bokeh)."""
    try:
        info = client.scheduler_info()
        return client.dashboard_link if "dashboard" in info.get("services", {}) else None
    except (KeyError, AttributeError, OSError):
        return None


def _plan(task: Task, settings: Settings, jobs: list[GridTask], n_hidden: int,
          eval_trials: int) -> dict:
    """What the grid computes, as JSON would read it back."""
    plan = {"task": task.settings(), "n_hidden": n_hidden, "eval_trials": eval_trials,
            "settings": {k: v for k, v in dataclasses.asdict(settings).items()
                         if k not in ("eta", "seed")},
            "tasks": [dataclasses.asdict(j) for j in jobs]}
    return json.loads(json.dumps(plan))


def _check_plan(folder: str, plan: dict) -> None:
    """Refuse a folder holding the tasks of another grid."""
    path = os.path.join(folder, PLAN)
    if os.path.exists(path):
        saved = read_plan(os.path.dirname(folder))
        if saved.get("grid") != plan:
            diff = sorted(k for k in set(plan) | set(saved.get("grid", {}))
                          if plan.get(k) != saved.get("grid", {}).get(k))
            raise ValueError(f"{folder!r} holds the tasks of another sweep (it differs in "
                             f"{', '.join(diff)}); resume it with its own settings, or "
                             "replace it (--overwrite)")


def remove_tasks(folder: str) -> None:
    """Remove an earlier sweep's tasks, its plan first.

    A kill midway leaves task files without a plan, which no sweep loads: a folder
    without a plan is cleared before its new plan is written.
    """
    plan = os.path.join(folder, PLAN)
    if os.path.exists(plan):
        os.remove(plan)
    shutil.rmtree(folder, ignore_errors=True)


def read_plan(out: str | os.PathLike) -> dict:
    """``OUT/tasks/plan.json``: ``{'grid': ..., 'record': ...}``; refused in one line if
    there is none or it is not a JSON object."""
    path = os.path.join(os.fspath(out), TASK_FOLDER, PLAN)
    if not os.path.exists(path):
        raise ValueError(f"{os.fspath(out)!r} holds no sweep tasks ({TASK_FOLDER}/{PLAN})")
    return read_json(path, "sweep plan")


def _load(folder: str, job: GridTask) -> Sweep | None:
    """The finished task from its file, or ``None`` if it has not finished."""
    path = os.path.join(folder, job.id + ".npz")
    if not os.path.exists(path):
        return None
    try:
        part = Sweep.load(path)
    except (OSError, KeyError, ValueError):
        return None  # written atomically, so only a damaged disk gets here: rerun it
    if list(part.seed) != list(job.seeds) or not np.all(part.eta == job.eta):
        return None
    return part


class _Meter:
    """The progress bar over tasks: one line per finished task, as other progress is shown.

    Lines, not a bar redrawn in place, so a log file (a Slurm job's) reads as a
    terminal does. The rate counts only networks trained in this run, from the
    moment the first task was handed out (not cluster start-up, not loaded tasks).
    """

    WIDTH = 20  # characters of the bar

    def __init__(self, jobs: list[GridTask], done: dict, steps_per_network: int,
                 progress: Callable[[str], None] | None):
        self.total, self.nets = len(jobs), sum(len(j.seeds) for j in jobs)
        self.tasks = len(done)
        self.networks = sum(len(p.seed) for p in done.values())
        self.steps, self.run_networks = steps_per_network, 0
        self.began, self.say = time.perf_counter(), progress
        if progress is not None and done:
            progress(f"{len(done)} of {self.total} tasks already done, loaded")

    def start(self) -> None:
        """The first task is handed out now."""
        self.began = time.perf_counter()

    def tick(self, job: GridTask) -> None:
        self.tasks += 1
        self.networks += len(job.seeds)
        self.run_networks += len(job.seeds)
        if self.say is None:
            return
        elapsed = max(time.perf_counter() - self.began, 1e-9)
        rate = self.run_networks * self.steps / elapsed
        left = (self.nets - self.networks) * self.steps / rate
        full = self.WIDTH * self.tasks // self.total
        self.say(f"tasks [{'#' * full}{'.' * (self.WIDTH - full)}] {self.tasks}/{self.total}, "
                 f"networks {self.networks}/{self.nets}, {rate:.3g} network-steps/s, "
                 f"ETA {left:.0f} s ({job.id})")
