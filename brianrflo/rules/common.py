"""What every rule in :mod:`brianrflo.rules` shares: its result, and the closed-loop network.

FORCE, the echo-state readout and one-step programming train networks whose output
is fed back into the hidden units through the fixed weights ``B`` (``Weights.b``,
shape ``(N, K)``), as in the paper's "readout only" variant (Fig. 2 supp. 2):

    u(t) = W h(t-1) + W_in x(t) + B z(t-1),    z(t) = W_loop h(t)

``W_loop`` is the readout ``W_out`` itself (FORCE, echo state) or separately
programmed loop weights (one-step programming). ``z(0) = 0``: no output before a trial.
During teacher forcing, ``z(t-1)`` is replaced by the target ``y*(t-1)`` (``y*(0) = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from brianrflo import reference as ref
from brianrflo.tasks.base import Task
from brianrflo.validation import check_int
from brianrflo.weights import Weights

__all__ = ["RuleResult", "LoopTrace", "loop_forward", "evaluate_loop", "evaluate_open"]

Array = np.ndarray


@dataclass
class RuleResult:
    """What a rule's ``train_*`` function returns.

    ``losses`` are the training trials' losses in order; ``untrained_loss`` and
    ``final_loss`` those of the initial and trained network on evaluation trials (no
    noise, no teacher forcing; closed loop where the rule has a feedback loop).
    ``steps`` is trials times ``T``, ``wall_time`` seconds spent training and evaluating;
    ``local``: every change uses only what the synapse has, ``online``: weights change
    while trials run. ``w_loop`` are the feedback-loop weights ``(K, N)`` of the
    closed-loop rules, ``extra`` the rule's own numbers (JSON-ready).
    """

    rule: str
    weights: Weights
    losses: Array
    untrained_loss: float
    final_loss: float
    steps: int
    wall_time: float
    local: bool
    online: bool
    w_loop: Array | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class LoopTrace:
    """One closed-loop (or teacher-forced) trial: ``h`` is ``(T+1, N)``, the rest ``(T, .)``."""

    h: Array
    y: Array
    eps: Array
    loss: float


def loop_forward(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: float = 10.0,
    w_loop: Array | None = None,
    teacher: bool = False,
    noise: Array | None = None,
) -> LoopTrace:
    """Run one trial ``x``, ``target``, ``mask`` (``(T, M)``, ``(T, K)``, ``(T, K)``) with
    the output fed back through ``w.b`` ``(N, K)``.

    ``w_loop`` ``(K, N)`` makes the fed-back output (default ``w.w_out``); ``teacher``
    feeds back the target ``y*(t-1)`` instead; ``noise`` ``(T, N)`` is added to ``u``.
    """
    T, n = x.shape[0], w.n_hidden
    loop = w.w_out if w_loop is None else w_loop
    h = np.empty((T + 1, n))
    h[0] = w.h0
    z_prev = np.zeros(w.n_out)
    for t in range(T):
        u = w.w_rec @ h[t] + w.w_in @ x[t] + w.b @ z_prev
        if noise is not None:
            u = u + noise[t]
        h[t + 1] = h[t] + (-h[t] + np.tanh(u)) / tau
        z_prev = target[t] if teacher else loop @ h[t + 1]
    y = h[1:] @ w.w_out.T
    eps = mask * (target - y)
    return LoopTrace(h=h, y=y, eps=eps, loss=ref.loss(eps))


def evaluate_loop(w: Weights, task: Task, tau: float = 10.0, w_loop: Array | None = None,
                  n: int = 1, seed: int = 1) -> float:
    """Mean free-running (closed-loop) loss on ``n`` evaluation trials drawn with ``seed``."""
    block = task.block(check_int("n", n, 1), np.random.default_rng(seed))
    return float(np.mean([loop_forward(w, *block.trial(k), tau, w_loop).loss
                          for k in range(n)]))


def evaluate_open(w: Weights, task: Task, tau: float = 10.0, n: int = 1, seed: int = 1) -> float:
    """Mean loss of the paper's network (no loop, no noise) on ``n`` evaluation trials:
    :func:`brianrflo.train.evaluate`, whose default seed differs."""
    from brianrflo.train import evaluate  # a higher layer

    return evaluate(w, task, tau, check_int("n", n, 1), seed)
