"""Echo-state readout with teacher forcing (Jaeger & Haas 2004).

The reservoir (``W``, ``W_in``, ``B``) stays fixed. During training the target
``y*(t-1)`` is fed back through ``B`` in place of the output (teacher forcing), with a
little noise in the units so the readout learns to correct small deviations. The
states ``h(t)`` of all training trials are collected, and the readout is the ridge
regression of the targets on them,

    W_out = Y^T H (H^T H + lambda I)^{-1}          (rows where the mask is 1)

Then the output is fed back instead of the target (free running). Not online (the
readout is solved after the trials) and not local (the solution mixes all units).
"""

from __future__ import annotations

import time

import numpy as np

from brianrflo.tasks.base import Block, Task
from brianrflo.validation import check_int, check_real
from brianrflo.weights import Weights

from .common import RuleResult, evaluate_loop, loop_forward

__all__ = ["collect_teacher_forced", "ridge_readout", "train_echo_state"]

Array = np.ndarray


def collect_teacher_forced(w: Weights, block: Block, tau: float = 10.0, noise: float = 0.0,
                           rng: np.random.Generator | None = None) -> tuple[Array, Array, Array]:
    """States under teacher forcing: ``H`` ``(n*T, N)``, targets and masks ``(n*T, K)``."""
    noise = check_real("noise", noise, 0.0)
    rng = rng or np.random.default_rng(0)
    H, Y, M = [], [], []
    for k in range(block.n_trials):
        x, target, mask = block.trial(k)
        xi = rng.normal(0.0, noise, (x.shape[0], w.n_hidden)) if noise else None
        tr = loop_forward(w, x, target, mask, tau, teacher=True, noise=xi)
        H.append(tr.h[1:])
        Y.append(target)
        M.append(mask)
    return np.concatenate(H), np.concatenate(Y), np.concatenate(M)


def ridge_readout(H: Array, Y: Array, M: Array, ridge: float) -> Array:
    """``W_out`` ``(K, N)``: for each output, ridge regression on the rows its mask keeps."""
    ridge = check_real("ridge", ridge, 0.0)
    n = H.shape[1]
    rows = []
    for k in range(Y.shape[1]):
        keep = M[:, k] > 0
        Hk = H[keep]
        # Normal equations with a Cholesky-friendly solve; lambda > 0 keeps them well posed.
        rows.append(np.linalg.solve(Hk.T @ Hk + ridge * np.eye(n), Hk.T @ Y[keep, k]))
    return np.array(rows)


def train_echo_state(task: Task, weights: Weights, trials: int, ridge: float = 1e-4,
                     noise: float = 1e-3, tau: float = 10.0, seed: int = 0,
                     eval_trials: int = 1) -> RuleResult:
    """Teacher-forced collection over ``trials`` trials, then the ridge readout.

    Parameters
    ----------
    ridge
        Regularisation ``lambda`` (>= 0).
    noise
        Standard deviation of the noise current during collection (>= 0).
    """
    trials = check_int("trials", trials, 1)
    tau = check_real("tau", tau, 1.0)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    H, Y, M = collect_teacher_forced(weights, task.block(trials, rng), tau, noise, rng)
    w = weights.copy()
    w.w_out = ridge_readout(H, Y, M, ridge)
    final = evaluate_loop(w, task, tau, None, eval_trials, seed + 1)
    return RuleResult(
        rule="echo state", weights=w, losses=np.zeros(0),
        untrained_loss=evaluate_loop(weights, task, tau, None, eval_trials, seed + 1),
        final_loss=final, steps=trials * task.T, wall_time=time.perf_counter() - start,
        local=False, online=False, w_loop=w.w_out.copy(),
        extra={"ridge": ridge, "noise": noise, "trials_collected": trials},
    )
