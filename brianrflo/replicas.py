"""Grids of seeds x learning rates as replicas of one compiled Brian2 network.

:func:`replica_sweep` builds one :class:`~brianrflo.network.BrianNetwork` holding
every (learning rate, seed) pair as an independent replica and trains them
together, block by block, as :func:`brianrflo.train.train` trains one network:
the same initial weights, the same trials (drawn from ``default_rng(seed)``), the
same divergence stop. Each row of the result therefore equals ``train()`` of that
network alone (``tests/test_replicas.py``), at the cost of one simulation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import brian2
import numpy as np

from brianrflo.tasks.base import Task

from .analysis import alignment
from .batch import Sweep
from .network import BrianNetwork
from .train import (
    LOCAL_RULES,
    Settings,
    _blocks,
    _diverged,
    evaluate,
    learning_rates,
    readout_fed_back,
)
from .weights import Weights

__all__ = ["replica_sweep"]


def replica_sweep(
    task: Task,
    settings: Settings,
    etas,
    seeds,
    n_hidden: int = 30,
    eval_trials: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Sweep:
    """Train ``settings.rule`` at every (eta, seed) pair as replicas of one network.

    Parameters
    ----------
    task
        The task every replica trains on.
    settings
        As for :func:`~brianrflo.train.train`; ``settings.eta`` and ``settings.seed``
        are replaced by the grid's. The rule must be one of
        :data:`~brianrflo.train.LOCAL_RULES` and the target a Brian2 one.
    etas
        Learning rates: each sets all three of ``(eta1, eta2, eta3)``.
    seeds
        Network seeds (initial weights and trial stream).
    n_hidden
        Units per network.
    eval_trials
        Trials, drawn with ``seed + 1``, on which untrained and final loss are measured.
    progress
        Called with one line per block.

    Returns
    -------
    Sweep
        Row ``r`` is the network ``(eta[r], seed[r])``, etas varying slowest. A
        replica that diverges stops with its last good weights (``final = inf``)
        while the others go on.
    """
    if settings.rule not in LOCAL_RULES:
        raise ValueError(f"replicas run the rules {tuple(LOCAL_RULES)} (Brian2), not "
                         f"{settings.rule!r}; brianrflo.batch.sweep runs the numpy rules")
    if settings.target == "reference":
        raise ValueError("replicas run on a Brian2 target ('cython', 'numpy' or "
                         "'cpp_standalone'), not 'reference'")
    etas = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    if etas.size == 0 or seeds.size == 0:
        raise ValueError("etas and seeds must each hold at least one value")
    start = time.perf_counter()
    eta_r, seed_r = np.repeat(etas, seeds.size), np.tile(seeds, etas.size)
    rates = np.array([learning_rates(dataclasses.replace(settings, eta=(e, e, e)))
                      for e in eta_r])
    fed_back = readout_fed_back(settings.rule)
    feedback = LOCAL_RULES[settings.rule][0]
    init = {int(s): Weights.init(n_hidden, task.n_in, task.n_out, seed=int(s),
                                 dale=settings.dale) for s in seeds}
    if feedback == "symmetric":
        init = {s: w.symmetric() for s, w in init.items()}
    good = [init[int(s)].copy() for s in seed_r]
    untrained = np.array([evaluate(w, task, settings.tau, eval_trials, int(s) + 1,
                                   readout_feedback=fed_back)
                          for w, s in zip(good, seed_r, strict=True)])
    size = _blocks(settings)
    net = BrianNetwork(good, task.T, block_trials=size, eta=rates, update=settings.update,
                       tau=settings.tau, target=settings.target, dale=settings.dale,
                       feedback=feedback, readout_feedback=fed_back, threads=settings.threads)
    R = net.R
    limit = settings.explode * np.maximum(untrained, 1e-12)
    rngs = {int(s): np.random.default_rng(int(s)) for s in seeds}
    losses = np.full((R, settings.trials), np.nan)
    stopped = np.zeros(R, dtype=bool)
    marks, align = [0], [[alignment(w) for w in good]]
    done = 0
    while done < settings.trials:
        n = min(size, settings.trials - done)
        brian2.seed(int(seeds[0]) * 1_000_003 + done)
        blocks = {s: task.block(n, rng) for s, rng in rngs.items()}
        block_losses = net.run_block([blocks[int(s)] for s in seed_r])
        current = net.replica_weights()
        for r in np.flatnonzero(~stopped):
            if current[r] is None or _diverged(block_losses[r], limit[r], done):
                stopped[r] = True
                rates[r] = 0.0
                current[r] = good[r]
            else:
                losses[r, done:done + n] = block_losses[r]
        for r in np.flatnonzero(stopped):
            current[r] = good[r]
        good = current
        net.set_weights(good)
        net.eta = rates
        done += n
        marks.append(done)
        align.append([alignment(w) for w in good])
        if progress is not None:
            progress(f"{settings.rule}: trial {done}/{settings.trials}, median loss "
                     f"{np.nanmedian(losses[:, done - n:done]):.4g}, "
                     f"{int(stopped.sum())} of {R} diverged")
    final = np.array([np.inf if stopped[r] else
                      evaluate(good[r], task, settings.tau, eval_trials, int(seed_r[r]) + 1,
                               readout_feedback=fed_back) for r in range(R)])
    return Sweep(rule=settings.rule, eta=eta_r, seed=seed_r, losses=losses, untrained=untrained,
                 final=final, alignment=np.array(align).T, checkpoints=np.array(marks),
                 diverged=stopped, wall_time=time.perf_counter() - start, weights=good)
