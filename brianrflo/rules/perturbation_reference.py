"""Numpy reference of node perturbation (REINFORCE, paper Eq. 8, and Miconi 2017).

The same maths as the Brian2 equations of :mod:`brianrflo.rules.perturbation`, step
for step, so the two can be compared to float64 rounding. One trial::

    u(t)   = W h(t-1) + W_in x(t) + xi(t)                  noise current xi into each unit
    h(t)   = h(t-1) + (-h(t-1) + tanh(u(t))) / tau
    z(t)   = W_out h(t) + xi_out(t)                        noisy output
    eps(t) = mask(t) (y*(t) - z(t)),   R = -1/(2T) sum_t |eps(t)|^2

Each synapse ``b -> a`` keeps an eligibility trace of "postsynaptic fluctuation times
presynaptic rate", low-pass filtered with ``tau_e`` steps (``tau_e = 1``: no filter,
Eq. 8 itself) and summed over the trial::

    e_ab(t) = e_ab(t-1) + (s_a(t) h_b(t-1) - e_ab(t-1)) / tau_e,    E_ab = sum_t e_ab(t)
    s_a(t)  = xi_a(t)                           'reinforce' (Williams 1992)
    s_a(t)  = (u_a(t) - ubar_a(t))**3           'miconi' (no access to xi: the fast part of u)
    ubar(t) = ubar(t-1) + (u(t) - ubar(t-1)) / tau_bar,  ubar(1) = u(1)

(the input synapses use ``x_b(t)``, the readout ``h_b(t)`` and the output's ``s``).
At the end of the trial, with ``R_bar`` the running average of past rewards::

    dW = eta / T * (R - R_bar) * E,    R_bar <- alpha R_bar + (1 - alpha) R

and the first trial only sets ``R_bar = R``. Eq. 8 pairs ``xi_a(t)`` with
``h_b(t)``; the noise of step t meets ``h_b(t-1)`` in ``u_a(t)``, so that is the
pairing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brianrflo import reference as ref
from brianrflo.pending import LEARNED
from brianrflo.weights import Weights

__all__ = ["PerturbationTrace", "perturbation_trial", "fluctuation", "VARIANTS"]

#: Which postsynaptic signal enters the eligibility trace.
VARIANTS = ("reinforce", "miconi")

Array = np.ndarray


@dataclass
class PerturbationTrace:
    """One trial: ``h`` ``(T+1, N)``; ``z`` (noisy output), ``eps`` ``(T, K)``; the traces."""

    h: Array
    z: Array
    eps: Array
    loss: float
    reward: float
    eligibility: dict  # E by weight name, summed over the trial
    r_bar: float  # after this trial


def fluctuation(variant: str, current: Array, noise: Array, bar: Array | None,
                tau_bar: float) -> tuple[Array, Array]:
    """``(s(t), ubar(t))`` for a unit's current ``u(t)``; ``bar=None`` at a trial's first step."""
    new_bar = current.copy() if bar is None else bar + (current - bar) / tau_bar
    if variant == "reinforce":
        return noise, new_bar
    return (current - new_bar) ** 3, new_bar


def perturbation_trial(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    xi: Array,
    xi_out: Array,
    eta: tuple[float, float, float],
    r_bar: float | None,
    tau: float = 10.0,
    tau_e: float = 1.0,
    variant: str = "reinforce",
    tau_bar: float = 5.0,
    alpha: float = 0.9,
) -> tuple[dict[str, Array], PerturbationTrace]:
    """One trial of node perturbation learning.

    Parameters
    ----------
    xi, xi_out
        Noise currents ``(T, N)`` into the hidden units and ``(T, K)`` into the outputs.
    eta
        Learning rates of ``w_out``, ``w_rec``, ``w_in``.
    r_bar
        Running average reward before this trial; ``None`` before the first trial.
    tau_e
        Low-pass filter of the eligibility trace in steps (1: none, paper Eq. 8).
    variant
        ``'reinforce'`` or ``'miconi'``.
    tau_bar
        Low-pass filter of ``u`` (and of the output) in steps, for ``'miconi'``.
    alpha
        Decay of the running average reward per trial.

    Returns
    -------
    dw
        The trial's weight change by name (zero on the first trial).
    trace
        What the trial computed.
    """
    T, n = x.shape[0], w.n_hidden
    e = {k: np.zeros_like(getattr(w, k)) for k in LEARNED}
    E = {k: np.zeros_like(v) for k, v in e.items()}
    h = np.empty((T + 1, n))
    h[0] = w.h0
    z = np.empty((T, w.n_out))
    ubar = zbar = None
    for t in range(T):
        u = w.w_rec @ h[t] + w.w_in @ x[t] + xi[t]
        s, ubar = fluctuation(variant, u, xi[t], ubar, tau_bar)
        e["w_rec"] = e["w_rec"] + (np.outer(s, h[t]) - e["w_rec"]) / tau_e
        e["w_in"] = e["w_in"] + (np.outer(s, x[t]) - e["w_in"]) / tau_e
        h[t + 1] = h[t] + (-h[t] + np.tanh(u)) / tau
        z[t] = w.w_out @ h[t + 1] + xi_out[t]
        s_out, zbar = fluctuation(variant, z[t], xi_out[t], zbar, tau_bar)
        e["w_out"] = e["w_out"] + (np.outer(s_out, h[t + 1]) - e["w_out"]) / tau_e
        for k in LEARNED:
            E[k] = E[k] + e[k]
    eps = mask * (target - z)
    loss = ref.loss(eps)
    reward = -loss
    if r_bar is None:
        dw = {k: np.zeros_like(v) for k, v in E.items()}
        new_bar = reward
    else:
        dw = {k: eta_k / T * (reward - r_bar) * E[k]
              for k, eta_k in zip(LEARNED, eta, strict=True)}
        new_bar = alpha * r_bar + (1 - alpha) * reward
    return dw, PerturbationTrace(h=h, z=z, eps=eps, loss=loss, reward=reward, eligibility=E,
                                 r_bar=new_bar)
