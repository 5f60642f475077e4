"""Plain numpy reference of the paper's maths: forward pass, RFLO, BPTT and RTRL.

The Brian2 model is tested against these functions; BPTT here is also the
baseline trainer. Time index ``t = 1..T`` of the paper is row ``t-1`` of every
``(T, ...)`` array; ``h`` has ``T+1`` rows, row 0 being ``h(0)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .weights import Weights, dale_clip

__all__ = [
    "Trace",
    "forward",
    "loss",
    "rflo_trial",
    "bptt_grad",
    "rtrl_grad",
    "tanh_prime",
]

Array = np.ndarray


def _per_unit(tau, n: int) -> Array:
    return np.broadcast_to(np.asarray(tau, dtype=np.float64), (n,))


def tanh_prime(u: Array) -> Array:
    """Derivative of ``tanh``."""
    return 1.0 - np.tanh(u) ** 2


@dataclass
class Trace:
    """Everything one trial computes: ``h`` is ``(T+1, N)``, the rest ``(T, .)``."""

    u: Array
    h: Array
    y: Array
    eps: Array
    loss: float


def _step(w: Weights, h: Array, x: Array, tau, phi, u_y: Array | float = 0.0):
    u = w.w_rec @ h + w.w_in @ x + u_y
    return u, h + (-h + phi(u)) / tau


def forward(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: float | Array = 10.0,
    phi=np.tanh,
    readout_feedback: bool = False,
) -> Trace:
    """Run one trial (paper Eq. 1) with fixed weights.

    Parameters
    ----------
    w
        The network.
    x, target, mask
        Arrays ``(T, M)``, ``(T, K)``, ``(T, K)``.
    tau
        Time constant in steps: one value, or one per unit ``(N,)``.
    phi
        The nonlinearity (vectorised).
    readout_feedback
        Add ``B y(t-1)`` to ``u(t)`` (readout-only learning), with ``y(0) = 0``.
    """
    T, n = x.shape[0], w.n_hidden
    u = np.empty((T, n))
    h = np.empty((T + 1, n))
    h[0] = w.h0
    y_prev = np.zeros(w.n_out)
    for t in range(T):
        u_y = w.b @ y_prev if readout_feedback else 0.0
        u[t], h[t + 1] = _step(w, h[t], x[t], tau, phi, u_y)
        y_prev = w.w_out @ h[t + 1]
    y = h[1:] @ w.w_out.T
    eps = mask * (target - y)
    return Trace(u=u, h=h, y=y, eps=eps, loss=loss(eps))


def loss(eps: Array) -> float:
    """``L = 1/(2T) sum_t |eps(t)|^2``."""
    return float(np.sum(eps**2) / (2 * eps.shape[0]))


def rflo_trial(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    eta: tuple[float, float, float],
    tau: float | Array = 10.0,
    online: bool = False,
    feedback: Array | None = None,
    phi=np.tanh,
    dphi=tanh_prime,
    dale: bool = False,
    symmetric: bool = False,
    readout_feedback: bool = False,
) -> tuple[dict[str, Array], Trace]:
    """One trial of RFLO learning (paper Eqs. 15-17) or of its local variants.

    Parameters
    ----------
    eta
        Learning rates ``(eta1, eta2, eta3)`` of ``w_out``, ``w_rec``, ``w_in``.
    online
        If true, every step's update is applied at once (the next step sees the
        new weights); otherwise updates are summed over the trial and divided by T.
    feedback
        Error feedback ``(N, K)``; default ``w.b`` (RFLO).
    dale
        With ``online``, sign-clip ``w_rec`` after every step's update (Dale's law);
        trial-summed updates are clipped by whoever applies them.
    symmetric
        Local rule with symmetric feedback: the error reaches the units through the
        current ``w_out.T`` (read before each step's update), not ``B``.
    readout_feedback
        Add ``B y(t-1)`` to ``u(t)``, ``y(0) = 0`` (readout-only learning); ``B`` is the
        feedback matrix in use.

    Returns
    -------
    dw
        Weight change of the trial, by name (``w_out``, ``w_rec``, ``w_in``).
    trace
        The trial's ``u``, ``h``, ``y``, ``eps`` and loss.
    """
    eta1, eta2, eta3 = eta
    cur = w.copy()
    fixed_b = w.b if feedback is None else feedback
    T, n = x.shape[0], w.n_hidden
    scale = 1.0 if online else 1.0 / T
    tau_a = _per_unit(tau, n)[:, None]  # postsynaptic unit a's own tau
    p = np.zeros((n, n))
    q = np.zeros((n, w.n_in))
    dw = {"w_out": np.zeros_like(w.w_out), "w_rec": np.zeros_like(w.w_rec),
          "w_in": np.zeros_like(w.w_in)}
    u = np.empty((T, n))
    h = np.empty((T + 1, n))
    y = np.empty((T, w.n_out))
    eps = np.empty((T, w.n_out))
    h[0] = w.h0
    y_prev = np.zeros(w.n_out)
    for t in range(T):
        B = cur.w_out.T if symmetric else fixed_b
        u_y = B @ y_prev if readout_feedback else 0.0
        u[t], h[t + 1] = _step(cur, h[t], x[t], tau, phi, u_y)
        d = dphi(u[t])
        p = (1 - 1 / tau_a) * p + np.outer(d, h[t]) / tau_a
        q = (1 - 1 / tau_a) * q + np.outer(d, x[t]) / tau_a
        y[t] = y_prev = cur.w_out @ h[t + 1]
        eps[t] = mask[t] * (target[t] - y[t])
        fb = B @ eps[t]
        step = {
            "w_out": eta1 * scale * np.outer(eps[t], h[t + 1]),
            "w_rec": eta2 * scale * fb[:, None] * p,
            "w_in": eta3 * scale * fb[:, None] * q,
        }
        for name, d_w in step.items():
            dw[name] += d_w
            if online:
                setattr(cur, name, getattr(cur, name) + d_w)
        if online and dale:
            cur.w_rec = dale_clip(cur.w_rec)
    if online and dale:  # the change that happened, clipping included
        dw = {name: getattr(cur, name) - getattr(w, name) for name in dw}
    return dw, Trace(u=u, h=h, y=y, eps=eps, loss=loss(eps))


def bptt_grad(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: float | Array = 10.0,
    phi=np.tanh,
    dphi=tanh_prime,
    feedback: Array | None = None,
) -> tuple[dict[str, Array], Trace]:
    """Gradient of the trial loss by backpropagation through time (Eqs. 18-23).

    Parameters
    ----------
    feedback
        ``(N, K)`` matrix through which ``eps(t)`` enters the backward pass; ``None``
        is ``w_out.T``, the exact gradient. ``w.b`` gives nonlocal learning with
        random feedback: the trial-summed update of :func:`rtrl_grad` with
        ``feedback=w.b``, at ``O(N^2)`` per step instead of ``O(N^4)``.

    Returns ``dL/dW`` by name (with ``feedback``, the approximate one; ``w_out``'s
    is always the exact readout gradient) and the forward trace. ``mask`` must be
    0 or 1.

    Notes
    -----
    RTRL's update ``sum_t (F eps(t))^T P(t)`` is linear in the sensitivities
    ``P(t) = dh(t)/dW``, whose recursion is linear; running that recursion
    backwards with ``F eps(t)`` as the source gives the same sum. That is this
    adjoint ``z`` with ``F`` in place of ``w_out.T``.
    """
    tr = forward(w, x, target, mask, tau, phi)
    T = x.shape[0]
    F = w.w_out.T if feedback is None else feedback
    tau = _per_unit(tau, w.n_hidden)
    d = dphi(tr.u) / tau  # d[t] = phi'(u(t+1))/tau in paper indexing
    z = np.zeros(w.n_hidden)
    g_rec = np.zeros_like(w.w_rec)
    g_in = np.zeros_like(w.w_in)
    for t in range(T - 1, -1, -1):
        # z(t) = (1-1/tau) z(t+1) + (1/tau) W^T (z(t+1) * phi'(u(t+1))) + F eps(t)
        z_next = z
        z = F @ tr.eps[t]
        if t < T - 1:
            z = z + (1 - 1 / tau) * z_next + w.w_rec.T @ (z_next * d[t + 1])
        zd = z * d[t]
        g_rec -= np.outer(zd, tr.h[t])
        g_in -= np.outer(zd, x[t])
    grads = {
        "w_out": -tr.eps.T @ tr.h[1:] / T,
        "w_rec": g_rec / T,
        "w_in": g_in / T,
    }
    return grads, tr


def rtrl_grad(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: float | Array = 10.0,
    feedback: Array | None = None,
    local: bool = False,
    phi=np.tanh,
    dphi=tanh_prime,
) -> tuple[dict[str, Array], Trace]:
    """Trial gradient by real-time recurrent learning (Eqs. 10-14).

    Parameters
    ----------
    feedback
        ``(N, K)`` matrix that carries ``eps`` back; ``None`` is exact RTRL
        (``w_out.T``), ``w.b`` gives random feedback (nonlocal-random; the
        trainers use :func:`bptt_grad` with the same ``feedback``, which equals
        this and is far cheaper: this is its test reference).
    local
        Drop the nonlocal term ``sum_k W_jk P_kab`` (with ``feedback=w.b`` this is RFLO).

    Returns the (approximate) ``dL/dW`` by name and the forward trace. Costs
    ``O(N^4)`` per step: small ``N`` only.
    """
    tr = forward(w, x, target, mask, tau, phi)
    T, n, m = x.shape[0], w.n_hidden, w.n_in
    F = w.w_out.T if feedback is None else feedback
    tau = _per_unit(tau, n)[:, None, None]
    P = np.zeros((n, n, n))  # P[j, a, b] = dh_j / dW_ab
    Q = np.zeros((n, n, m))
    eye = np.eye(n)
    g_rec = np.zeros_like(w.w_rec)
    g_in = np.zeros_like(w.w_in)
    for t in range(T):
        d = dphi(tr.u[t])
        drive_p = eye[:, :, None] * tr.h[t][None, None, :]
        drive_q = eye[:, :, None] * x[t][None, None, :]
        if not local:
            drive_p = drive_p + np.einsum("jk,kab->jab", w.w_rec, P)
            drive_q = drive_q + np.einsum("jk,kab->jab", w.w_rec, Q)
        P = (1 - 1 / tau) * P + d[:, None, None] * drive_p / tau
        Q = (1 - 1 / tau) * Q + d[:, None, None] * drive_q / tau
        err = F @ tr.eps[t]
        g_rec -= np.einsum("j,jab->ab", err, P)
        g_in -= np.einsum("j,jab->ab", err, Q)
    grads = {
        "w_out": -tr.eps.T @ tr.h[1:] / T,
        "w_rec": g_rec / T,
        "w_in": g_in / T,
    }
    return grads, tr
