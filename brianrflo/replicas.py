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

import numpy as np

from brianrflo.tasks.base import Task

from .analysis import alignment
from .batch import Sweep
from .network import BrianNetwork
from .sweep_folder import SweepState
from .targets import AUTO, choose_target
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
    start: SweepState | None = None,
    on_block: Callable[[SweepState], None] | None = None,
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
    start
        A state ``on_block`` was given: continue from it (same arguments; only
        ``settings.trials`` may grow) to the numbers of an uninterrupted sweep.
    on_block
        Called with the :class:`~brianrflo.sweep_folder.SweepState` after every block
        (to write a checkpoint).

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
    began = time.perf_counter()
    eta_r, seed_r = np.repeat(etas, seeds.size), np.tile(seeds, etas.size)
    if settings.target == AUTO:
        target, why = choose_target(n_hidden, settings.trials * task.T, settings.threads,
                                    replicas=eta_r.size,
                                    runs=-(-settings.trials // settings.block_trials))
        settings = dataclasses.replace(settings, target=target)
        if progress is not None:
            progress(f"target {target} ({why})")
    fed_back = readout_fed_back(settings.rule)
    rngs = {int(s): np.random.default_rng(int(s)) for s in seeds}
    losses = np.full((eta_r.size, settings.trials), np.nan)
    if start is None:
        state = _fresh(task, settings, eta_r, seed_r, n_hidden, eval_trials)
    else:
        start.check(eta_r.size, settings.trials)
        _restore_rngs(rngs, start)
        state = start
    good, rates = state.row_weights(), state.eta.copy()
    untrained, stopped = state.untrained.copy(), state.stopped.astype(bool, copy=True)
    done, elapsed = state.done, state.wall_time
    losses[:, :done] = state.losses
    marks, align = list(state.marks), [list(a) for a in state.alignment.T]
    size = _blocks(settings)
    net = BrianNetwork(good, task.T, block_trials=size, eta=rates, update=settings.update,
                       tau=settings.tau, target=settings.target, dale=settings.dale,
                       feedback=LOCAL_RULES[settings.rule][0], readout_feedback=fed_back,
                       threads=settings.threads)
    R = net.R
    limit = settings.explode * np.maximum(untrained, 1e-12)
    while done < settings.trials:
        n = min(size, settings.trials - done)
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
        if on_block is not None:
            # Every block ends on an update (_blocks), so nothing is pending.
            on_block(SweepState(
                done=done, losses=losses[:, :done].copy(), weights=SweepState.stack(good),
                stopped=stopped.copy(), eta=rates.copy(), untrained=untrained.copy(),
                marks=np.array(marks), alignment=np.array(align).T,
                rng={s: rng.bit_generator.state for s, rng in rngs.items()},
                wall_time=elapsed + time.perf_counter() - began, count=done))
        if progress is not None:
            progress(f"{settings.rule}: trial {done}/{settings.trials}, median loss "
                     f"{np.nanmedian(losses[:, done - n:done]):.4g}, "
                     f"{int(stopped.sum())} of {R} diverged")
    final = np.array([np.inf if stopped[r] else
                      evaluate(good[r], task, settings.tau, eval_trials, int(seed_r[r]) + 1,
                               readout_feedback=fed_back) for r in range(R)])
    return Sweep(rule=settings.rule, eta=eta_r, seed=seed_r, losses=losses, untrained=untrained,
                 final=final, alignment=np.array(align).T, checkpoints=np.array(marks),
                 diverged=stopped, wall_time=elapsed + time.perf_counter() - began,
                 weights=good)


def _fresh(task: Task, settings: Settings, eta_r: np.ndarray, seed_r: np.ndarray,
           n_hidden: int, eval_trials: int) -> SweepState:
    """The state before the first trial: initial weights, rates, untrained losses."""
    fed_back = readout_fed_back(settings.rule)
    init = {int(s): Weights.init(n_hidden, task.n_in, task.n_out, seed=int(s),
                                 dale=settings.dale) for s in np.unique(seed_r)}
    if LOCAL_RULES[settings.rule][0] == "symmetric":
        init = {s: w.symmetric() for s, w in init.items()}
    good = [init[int(s)].copy() for s in seed_r]
    untrained = np.array([evaluate(w, task, settings.tau, eval_trials, int(s) + 1,
                                   readout_feedback=fed_back)
                          for w, s in zip(good, seed_r, strict=True)])
    rates = np.array([learning_rates(dataclasses.replace(settings, eta=(e, e, e)))
                      for e in eta_r])
    return SweepState(done=0, losses=np.zeros((len(good), 0)), weights=SweepState.stack(good),
                      stopped=np.zeros(len(good), dtype=bool), eta=rates, untrained=untrained,
                      marks=np.array([0]), alignment=np.array([[alignment(w) for w in good]]).T,
                      rng={}, wall_time=0.0)


def _restore_rngs(rngs: dict, state: SweepState) -> None:
    if set(state.rng) != set(rngs):
        raise ValueError(f"the checkpoint's seeds {sorted(state.rng)} are not the sweep's "
                         f"{sorted(rngs)}")
    for s, rng in rngs.items():
        rng.bit_generator.state = state.rng[s]
