"""FORCE learning (Sussillo & Abbott 2009): recursive least squares on the readout.

A chaotic network (``W ~ Normal(0, g^2/N)``, g = 1.5, from :meth:`Weights.init`)
with its output ``z = W_out h`` fed back through the fixed random ``B``
(:mod:`brianrflo.rules.common`). While the trials run, every ``every`` steps the
readout is corrected by recursive least squares so that the output stays close to
the target from the start ("first-order reduced and controlled error"):

    k = P h(t),   c = 1 / (1 + h(t)^T k),   P <- P - c k k^T
    W_out <- W_out - c (z(t) - y*(t)) k^T          (where the mask is 1)

with ``P(0) = I / alpha``, the running inverse of the correlation matrix of ``h``.
RLS is a matrix operation over all units (``P`` is N x N, and every readout weight's
change depends on every unit's rate), so the rule is online but not local; it runs
in numpy, not Brian2, because there is nothing per synapse to write as equations.
"""

from __future__ import annotations

import time

import numpy as np

from brianrflo import reference as ref
from brianrflo.tasks.base import Task
from brianrflo.validation import check_int, check_real
from brianrflo.weights import Weights

from .common import RuleResult, evaluate_loop

__all__ = ["force_trial", "train_force"]

Array = np.ndarray


def force_trial(w: Weights, P: Array, x: Array, target: Array, mask: Array, tau: float = 10.0,
                every: int = 2) -> float:
    """One trial of FORCE learning; updates ``w.w_out`` and ``P`` in place.

    Returns the trial's loss (of the output while it is being corrected).
    """
    T = x.shape[0]
    h = w.h0.copy()
    z = np.zeros(w.n_out)
    eps = np.empty((T, w.n_out))
    for t in range(T):
        u = w.w_rec @ h + w.w_in @ x[t] + w.b @ z
        h = h + (-h + np.tanh(u)) / tau
        z = w.w_out @ h
        eps[t] = mask[t] * (target[t] - z)
        if (t + 1) % every == 0 and mask[t].any():
            k = P @ h
            c = 1.0 / (1.0 + h @ k)
            P -= c * np.outer(k, k)
            # eps = y* - z, so this is W_out -= c (z - y*) k^T; z fed back is the pre-update one.
            w.w_out += c * np.outer(eps[t], k)
    return ref.loss(eps)


def train_force(task: Task, weights: Weights, trials: int, alpha: float = 1.0, every: int = 2,
                tau: float = 10.0, seed: int = 0, eval_trials: int = 1,
                eval_every: int = 0) -> RuleResult:
    """Train the readout of the closed-loop network by FORCE.

    Parameters
    ----------
    trials
        Training trials (>= 1); the state is reset to ``h0`` at each trial start and
        ``P`` carries over.
    alpha
        ``P(0) = I / alpha`` (> 0): small ``alpha``, fast early learning.
    every
        Steps between RLS updates (>= 1; Sussillo & Abbott: 2).
    eval_every
        If > 0, also measure the free-running loss every ``eval_every`` trials
        (``extra['free_losses']``), since the training loss is small by construction.
    """
    trials = check_int("trials", trials, 1)
    alpha = check_real("alpha", alpha, 1e-12)
    every = check_int("every", every, 1)
    eval_every = check_int("eval_every", eval_every, 0)
    tau = check_real("tau", tau, 1.0)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    w = weights.copy()
    P = np.eye(w.n_hidden) / alpha
    losses, free = [], []
    for k in range(trials):
        block = task.block(1, rng)
        losses.append(force_trial(w, P, *block.trial(0), tau, every))
        if eval_every and (k + 1) % eval_every == 0:
            free.append((k + 1, evaluate_loop(w, task, tau, None, eval_trials, seed + 1)))
    return RuleResult(
        rule="FORCE", weights=w, losses=np.array(losses),
        untrained_loss=evaluate_loop(weights, task, tau, None, eval_trials, seed + 1),
        final_loss=evaluate_loop(w, task, tau, None, eval_trials, seed + 1),
        steps=trials * task.T, wall_time=time.perf_counter() - start, local=False, online=True,
        w_loop=w.w_out.copy(), extra={"alpha": alpha, "every": every, "free_losses": free},
    )
