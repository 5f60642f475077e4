"""Grids of seeds x learning rates as replicas of one compiled Brian2 network.

:func:`replica_sweep` builds one :class:`~brianrflo.network.BrianNetwork` (or, for
LIF units, :class:`~brianrflo.spiking.SpikingNetwork`) holding every (learning
rate, seed) pair as an independent replica and trains them
together, block by block, as :func:`brianrflo.train.train` trains one network:
the same initial weights, the same trials (drawn from ``default_rng(seed)``), the
same divergence stop. Each row of the result therefore equals ``train()`` of that
network alone (``tests/test_replicas.py``), at the cost of one simulation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import cast

import numpy as np

from brianrflo.models import LIFModel, RateModel
from brianrflo.tasks.base import Task

from . import reference as ref
from .analysis import alignment
from .batch import Sweep, _say
from .sweep_folder import SweepState
from .targets import AUTO, choose_target
from .train import (
    LOCAL_RULES,
    Settings,
    _blocks,
    _brian2_network,
    _checked,
    _diverged,
    evaluate,
    learning_rates,
    noise_seed,
    readout_fed_back,
)
from .weights import Weights

__all__ = ["replica_sweep"]


def grid_target(task: Task, settings: Settings, n_hidden: int, networks: int,
                progress: Callable[[str], None] | None = None) -> Settings:
    """``settings`` with ``target='auto'`` chosen for a grid of ``networks`` networks.

    One choice for the whole grid, so that a grid split into tasks runs every task on
    the target of the grid as one network. The numpy rules keep ``settings`` as given.
    """
    if settings.target != AUTO or settings.rule not in LOCAL_RULES:
        return settings
    target, why = choose_target(n_hidden, settings.trials * task.T, settings.threads,
                                replicas=networks,
                                runs=-(-settings.trials // settings.block_trials))
    if progress is not None:
        progress(f"target {target} ({why})")
    return dataclasses.replace(settings, target=target)


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
    model: RateModel | LIFModel | None = None,
) -> Sweep:
    """Train ``settings.rule`` at every (eta, seed) pair as replicas of one network.

    As :func:`~brianrflo.batch.sweep` (rows, divergence, ``start`` and ``on_block``),
    for a rule of :data:`~brianrflo.train.LOCAL_RULES` on a Brian2 target. ``settings``
    is :func:`~brianrflo.train.train`'s, its ``eta`` and ``seed`` replaced by the
    grid's. An eta may be an ``(eta1, eta2, eta3)`` triple (then
    :attr:`Sweep.eta <brianrflo.batch.Sweep>` holds one per row). ``model`` (default
    ``settings.model``) is a :class:`~brianrflo.models.RateModel` or, rule ``'rflo'``
    only, a :class:`~brianrflo.models.LIFModel`, trained as ``train()`` trains it.
    """
    if settings.rule not in LOCAL_RULES:
        raise ValueError(f"replicas run the rules {tuple(LOCAL_RULES)} (Brian2), not "
                         f"{settings.rule!r}; brianrflo.batch.sweep runs the numpy rules")
    if settings.target == "reference":
        raise ValueError("replicas run on a Brian2 target ('cython', 'numpy' or "
                         "'cpp_standalone'), not 'reference'")
    _, model = _checked(task, settings, model)
    etas = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    if etas.ndim > 2 or (etas.ndim == 2 and etas.shape[1] != 3):
        raise ValueError(f"etas must be learning rates or (eta1, eta2, eta3) triples, got an "
                         f"array of shape {etas.shape}")
    if etas.size == 0 or seeds.size == 0:
        raise ValueError("etas and seeds must each hold at least one value")
    began = time.perf_counter()
    eta_r = np.repeat(etas, seeds.size, axis=0)
    seed_r = np.tile(seeds, len(etas))
    settings = grid_target(task, settings, n_hidden, len(eta_r), progress)
    fed_back = readout_fed_back(settings.rule)
    rngs = {int(s): np.random.default_rng(int(s)) for s in seeds}
    losses = np.full((len(eta_r), settings.trials), np.nan)
    if start is None:
        state = _fresh(task, settings, model, eta_r, seed_r, n_hidden, eval_trials)
    else:
        start.check(len(eta_r), settings.trials)
        start.restore_rngs(rngs)
        state = start
    good, rates = ref.unstack(ref.Stack(**state.weights)), state.eta.copy()
    untrained, stopped = state.untrained.copy(), state.stopped.astype(bool, copy=True)
    done, elapsed = state.done, state.wall_time
    losses[:, :done] = state.losses
    marks, align = list(state.marks), [list(a) for a in state.alignment.T]
    size = _blocks(settings)
    net = _brian2_network(good, task, settings, model, size, rates)
    limit = settings.explode * np.maximum(untrained, 1e-12)
    while done < settings.trials:
        n = min(size, settings.trials - done)
        blocks = {s: task.block(n, rng) for s, rng in rngs.items()}
        block_losses = net.run_block([blocks[int(s)] for s in seed_r],
                                     noise_seed=[noise_seed(s, done) for s in seed_r])
        current = net.replica_weights()
        for r in np.flatnonzero(~stopped):
            if current[r] is None or _diverged(block_losses[r], limit[r], done):
                stopped[r] = True
                rates[r] = 0.0
            else:
                losses[r, done:done + n] = block_losses[r]
        for r in np.flatnonzero(stopped):  # rows stopped here or before keep their weights
            current[r] = good[r]
        good = cast(list[Weights], current)  # every None was replaced by good[r] above
        net.set_weights(good)
        net.eta = rates
        done += n
        marks.append(done)
        align.append([alignment(w) for w in good])
        if on_block is not None:
            # Every block ends on an update (_blocks), so nothing is pending.
            on_block(SweepState(
                done=done, losses=losses[:, :done].copy(), weights=vars(ref.stack(good)),
                stopped=stopped.copy(), eta=rates.copy(), untrained=untrained.copy(),
                marks=np.array(marks), alignment=np.array(align).T,
                rng={s: dict(rng.bit_generator.state) for s, rng in rngs.items()},
                wall_time=elapsed + time.perf_counter() - began, count=done))
        _say(progress, settings.rule, done, settings.trials, losses[:, done - n:done], stopped)
    final = np.array([np.inf if stopped[r] else
                      evaluate(good[r], task, settings.tau, eval_trials, int(seed_r[r]) + 1,
                               model, fed_back) for r in range(net.R)])
    return Sweep(rule=settings.rule, eta=eta_r, seed=seed_r, losses=losses, untrained=untrained,
                 final=final, alignment=np.array(align).T, checkpoints=np.array(marks),
                 diverged=stopped, wall_time=elapsed + time.perf_counter() - began,
                 weights=good)


def _fresh(task: Task, settings: Settings, model, eta_r: np.ndarray, seed_r: np.ndarray,
           n_hidden: int, eval_trials: int) -> SweepState:
    """The state before the first trial: initial weights, rates, untrained losses."""
    fed_back = readout_fed_back(settings.rule)
    make = model.init_weights if isinstance(model, LIFModel) else Weights.init
    init = {int(s): make(n_hidden, task.n_in, task.n_out, seed=int(s), dale=settings.dale,
                         init=settings.init)
            for s in np.unique(seed_r)}
    if LOCAL_RULES[settings.rule][0] == "symmetric":
        init = {s: w.symmetric() for s, w in init.items()}
    good = [init[int(s)].copy() for s in seed_r]
    untrained = np.array([evaluate(w, task, settings.tau, eval_trials, int(s) + 1, model,
                                   fed_back)
                          for w, s in zip(good, seed_r, strict=True)])
    # Settings checks each rate and spreads a single one over the three pathways.
    rates = np.array([learning_rates(dataclasses.replace(settings, eta=e if np.ndim(e) == 0
                                                         else tuple(e)))
                      for e in eta_r])
    return SweepState(done=0, losses=np.zeros((len(good), 0)), weights=vars(ref.stack(good)),
                      stopped=np.zeros(len(good), dtype=bool), eta=rates, untrained=untrained,
                      marks=np.array([0]), alignment=np.array([[alignment(w) for w in good]]).T,
                      rng={}, wall_time=0.0)
