"""One-step "programming" of the readout and feedback-loop weights (after Kim & Bassett 2023).

No training trials are repeated: the fixed random network's response to the desired
signals is simulated once per task condition, and both learnable weight matrices
follow from one least-squares problem on that response (commentary Fig. 1: fix
some weights at random, infer the rest from the targets and the response).

The network has a feedback loop: ``K`` loop signals ``z(t) = W_loop h(t)`` enter the
units through the fixed random ``B`` (:mod:`brianrflo.rules.common`). To program it,

1. drive the open loop with the signals the loop should carry, ``y*(t-1)``
   (the network's response ``h(t)``, one simulation per condition, no noise);
2. solve ``W_loop h(t) ~ y*(t)`` and ``W_out h(t) ~ y*(t)`` by least squares
   (minimum-norm solution, via the pseudo-inverse of the stacked responses),
   ``W_loop`` on every step and ``W_out`` on the steps the mask keeps;
3. close the loop: the network now generates ``y*`` from its own activity.

Not online and not local: one matrix solve over all units' responses.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from brianrflo.tasks.base import Block, Task
from brianrflo.validation import check_int, check_real
from brianrflo.weights import Weights

from .common import RuleResult, evaluate_loop
from .echo_state import collect_teacher_forced

__all__ = ["Response", "collect_response", "solve_program", "program"]

Array = np.ndarray


class Response(NamedTuple):
    """The open-loop network's response to the desired loop signals, stacked over trials:
    ``h(t)`` as ``H`` ``(n*T, N)``, ``y*(t)`` as ``Y`` and the task's mask as ``M``
    ``(n*T, K)``."""

    H: Array
    Y: Array
    M: Array


def collect_response(w: Weights, block: Block, tau: float = 10.0) -> Response:
    """Simulate each trial of ``block`` once with ``y*(t-1)`` fed into the loop."""
    return Response(*collect_teacher_forced(w, block, tau))


def solve_program(response: Response, rcond: float = 1e-10) -> tuple[Array, Array]:
    """``(W_out, W_loop)``, each ``(K, N)``: the least-squares fits on ``response``.

    Parameters
    ----------
    rcond
        Singular values below ``rcond`` times the largest are treated as zero
        (minimum-norm solution), in ``[0, 1)``.
    """
    rcond = check_real("rcond", rcond, 0.0, 1.0)
    H, Y, M = response.H, response.Y, response.M
    w_loop = (np.linalg.pinv(H, rcond=rcond) @ Y).T
    w_out = np.empty_like(w_loop)
    for k in range(Y.shape[1]):
        keep = M[:, k] > 0
        w_out[k] = np.linalg.pinv(H[keep], rcond=rcond) @ Y[keep, k]
    return w_out, w_loop


def program(task: Task, weights: Weights, conditions: int | Block = 1, tau: float = 10.0,
            rcond: float = 1e-10, seed: int = 0, eval_trials: int = 1) -> RuleResult:
    """Program the readout and loop weights of ``weights`` for ``task`` in one step.

    Parameters
    ----------
    conditions
        The trials whose response is simulated once each: a number of trials drawn
        from the task with ``seed`` (>= 1), or a :class:`Block` (e.g. one trial per delay).
    rcond
        Cut-off of small singular values, see :func:`solve_program`.
    """
    tau = check_real("tau", tau, 1.0)
    start = time.perf_counter()
    block = conditions if isinstance(conditions, Block) else task.block(
        check_int("conditions", conditions, 1), np.random.default_rng(seed))
    response = collect_response(weights, block, tau)
    w = weights.copy()
    w.w_out, w_loop = solve_program(response, rcond)
    return RuleResult(
        rule="one-step programming", weights=w, losses=np.zeros(0),
        untrained_loss=evaluate_loop(weights, task, tau, None, eval_trials, seed + 1),
        final_loss=evaluate_loop(w, task, tau, w_loop, eval_trials, seed + 1),
        steps=block.n_trials * task.T, wall_time=time.perf_counter() - start, local=False,
        online=False, w_loop=w_loop, extra={"conditions": block.n_trials, "rcond": rcond},
    )
