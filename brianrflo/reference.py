"""Plain numpy reference of the paper's maths: forward pass, RFLO, BPTT and RTRL.

The Brian2 model is tested against these functions; BPTT here is also the
baseline trainer. Time index ``t = 1..T`` of the paper is row ``t-1`` of every
``(T, ...)`` array; ``h`` has ``T+1`` rows, row 0 being ``h(0)``.

Each function is written once for ``R >= 1`` networks stepped side by side
(``stacked_*``: every array has a leading replica axis, weights such as
``w_rec`` are ``(R, N, N)``); the single-network functions are its ``R = 1``.
A row's numbers do not depend on the other rows: every product and sum is taken
per row, in an order fixed by the row's own shapes (``test_stacked_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from .pending import LEARNED, apply_update
from .weights import Weights

__all__ = [
    "Stack",
    "stack",
    "unstack",
    "stacked_forward",
    "stacked_loss",
    "stacked_rflo",
    "stacked_bptt",
    "stacked_rtrl",
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


class Stacked(Protocol):
    """What the ``stacked_*`` functions read: ``R`` networks' weights, each array with a
    leading axis ``R`` (a :class:`Stack`, or :class:`brianrflo.batch.Replicas`)."""

    w_in: Array
    w_rec: Array
    w_out: Array
    b: Array
    h0: Array


@dataclass
class Stack:
    """The weights of ``R`` networks of one shape, each array with a leading axis ``R``.

    :class:`brianrflo.batch.Replicas` has the same attributes and is used as one.
    """

    w_in: Array
    w_rec: Array
    w_out: Array
    b: Array
    h0: Array


def stack(weights: list[Weights]) -> Stack:
    """``weights`` (same shapes) as one :class:`Stack` (``vars()`` of it: the arrays by name)."""
    return Stack(*(np.stack([getattr(w, n) for w in weights]) for n in Weights.NAMES))


def unstack(w: Stacked) -> list[Weights]:
    """Each network of ``w`` (a :class:`Stack`, or anything with its attributes)."""
    return [Weights(**{n: getattr(w, n)[r] for n in Weights.NAMES}) for r in range(len(w.h0))]


@dataclass
class Trace:
    """Everything one trial computes: ``h`` is ``(T+1, N)``, the rest ``(T, .)``.

    From the ``stacked_*`` functions every array has a leading axis ``R`` and
    ``loss`` is ``(R,)``.
    """

    u: Array
    h: Array
    y: Array
    eps: Array
    loss: float | Array

    def row(self, r: int) -> Trace:
        """Network ``r``'s trace of a stacked one."""
        return Trace(u=self.u[r], h=self.h[r], y=self.y[r], eps=self.eps[r],
                     loss=float(np.asarray(self.loss)[r]))


def _mv(a: Array, v: Array) -> Array:
    """Matrix times vector per row: ``(R, I, J) @ (R, J) -> (R, I)``.

    Each row is one BLAS call on that row's arrays alone, so its rounding does not
    depend on ``R`` (the row's strides are the same in any stack).
    """
    return np.matmul(a, v[:, :, None])[:, :, 0]


def _outer(a: Array, b: Array) -> Array:
    """Outer product per row: ``(R, I), (R, J) -> (R, I, J)``."""
    return a[:, :, None] * b[:, None, :]


def stacked_loss(eps: Array) -> Array:
    """``(R,)`` trial losses ``1/(2T) sum_t |eps(t)|^2`` of ``eps`` ``(R, T, K)``.

    Summed per row over its contiguous ``T*K`` values, in the order :func:`loss`
    sums one network's: a reduction over several axes of a stack would group the
    terms by ``R``.
    """
    R, T = eps.shape[:2]
    return np.sum(np.ascontiguousarray(eps**2).reshape(R, -1), axis=1) / (2 * T)


def loss(eps: Array) -> float:
    """``L = 1/(2T) sum_t |eps(t)|^2``."""
    return float(stacked_loss(eps[None])[0])


def _one(w: Weights, feedback: Array | None) -> tuple[Stack, Array | None]:
    return stack([w]), None if feedback is None else feedback[None]


def _first(x: Array, target: Array, mask: Array) -> tuple[Array, Array, Array]:
    return x[None], target[None], mask[None]


def stacked_forward(
    w: Stacked,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
    phi=np.tanh,
    readout_feedback: bool = False,
) -> Trace:
    """:func:`forward` of ``R`` networks: ``x``, ``target``, ``mask`` are ``(R, T, .)``."""
    R, T = x.shape[:2]
    n, k = w.w_rec.shape[-1], w.w_out.shape[1]
    u = np.empty((R, T, n))
    h = np.empty((R, T + 1, n))
    h[:, 0] = w.h0
    if readout_feedback:  # y(t-1) enters u(t): the readout is per step, y(0) = 0
        y = np.zeros((R, T, k))
    for t in range(T):
        u[:, t] = _mv(w.w_rec, h[:, t]) + _mv(w.w_in, x[:, t])
        if readout_feedback and t:
            u[:, t] += _mv(w.b, y[:, t - 1])
        h[:, t + 1] = h[:, t] + (-h[:, t] + phi(u[:, t])) / tau
        if readout_feedback:
            y[:, t] = _mv(w.w_out, h[:, t + 1])
    if not readout_feedback:  # numpy's cost here is per call, not per value (N = 30)
        y = h[:, 1:] @ np.swapaxes(w.w_out, 1, 2)
    eps = mask * (target - y)
    return Trace(u=u, h=h, y=y, eps=eps, loss=stacked_loss(eps))


def forward(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
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
    return stacked_forward(stack([w]), *_first(x, target, mask), tau, phi,
                           readout_feedback).row(0)


def stacked_rflo(
    w: Stacked,
    x: Array,
    target: Array,
    mask: Array,
    eta: ArrayLike,
    tau: ArrayLike = 10.0,
    online: bool = False,
    feedback: Array | None = None,
    phi=np.tanh,
    dphi=tanh_prime,
    dale: bool = False,
    symmetric: bool = False,
    readout_feedback: bool = False,
) -> tuple[dict[str, Array], Trace]:
    """:func:`rflo_trial` of ``R`` networks; ``eta`` is ``(R, 3)`` (or one triple)."""
    R, T = x.shape[:2]
    n, k = w.w_rec.shape[-1], w.w_out.shape[1]
    cur = Stack(*(np.array(getattr(w, n), dtype=np.float64) for n in Weights.NAMES))  # a copy
    fixed_b = w.b if feedback is None else feedback
    scale = 1.0 if online else 1.0 / T
    rates = np.broadcast_to(np.asarray(eta, dtype=np.float64), (R, 3)) * scale
    # Postsynaptic unit a's own tau; one number when all share it (a faster numpy loop).
    tau_a = float(np.asarray(tau)) if np.ndim(tau) == 0 else _per_unit(tau, n)[:, None]
    p = np.zeros((R, n, n))
    q = np.zeros((R, n, x.shape[2]))
    dw = {name: np.zeros_like(getattr(w, name)) for name in LEARNED}
    u = np.empty((R, T, n))
    h = np.empty((R, T + 1, n))
    y = np.empty((R, T, k))
    eps = np.empty((R, T, k))
    h[:, 0] = w.h0
    for t in range(T):
        B = np.swapaxes(cur.w_out, 1, 2) if symmetric else fixed_b
        u[:, t] = _mv(cur.w_rec, h[:, t]) + _mv(cur.w_in, x[:, t])
        if readout_feedback and t:  # y(0) = 0
            u[:, t] += _mv(B, y[:, t - 1])
        h[:, t + 1] = h[:, t] + (-h[:, t] + phi(u[:, t])) / tau
        d = dphi(u[:, t])
        p = (1 - 1 / tau_a) * p + _outer(d, h[:, t]) / tau_a
        q = (1 - 1 / tau_a) * q + _outer(d, x[:, t]) / tau_a
        y[:, t] = _mv(cur.w_out, h[:, t + 1])
        eps[:, t] = mask[:, t] * (target[:, t] - y[:, t])
        fb = _mv(B, eps[:, t])
        step = {
            "w_out": rates[:, 0, None, None] * _outer(eps[:, t], h[:, t + 1]),
            "w_rec": rates[:, 1, None, None] * fb[:, :, None] * p,
            "w_in": rates[:, 2, None, None] * fb[:, :, None] * q,
        }
        for name in LEARNED:
            dw[name] += step[name]
        if online:
            apply_update(cur, step, dale)
    if online and dale:  # the change that happened, clipping included
        dw = {name: getattr(cur, name) - getattr(w, name) for name in dw}
    return dw, Trace(u=u, h=h, y=y, eps=eps, loss=stacked_loss(eps))


def rflo_trial(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    eta: tuple[float, float, float],
    tau: ArrayLike = 10.0,
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
    ws, fb = _one(w, feedback)
    dw, tr = stacked_rflo(ws, *_first(x, target, mask), eta, tau, online, fb, phi, dphi,
                          dale, symmetric, readout_feedback)
    return {name: a[0] for name, a in dw.items()}, tr.row(0)


def _readout_grad(tr: Trace) -> Array:
    """``dL/dW_out`` per row: ``-sum_t eps(t) h(t)^T / T``."""
    T = tr.eps.shape[1]
    return -np.swapaxes(tr.eps, 1, 2) @ tr.h[:, 1:] / T


def stacked_bptt(
    w: Stacked,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
    phi=np.tanh,
    dphi=tanh_prime,
    feedback: Array | None = None,
) -> tuple[dict[str, Array], Trace]:
    """:func:`bptt_grad` of ``R`` networks (``feedback`` ``(R, N, K)``)."""
    tr = stacked_forward(w, x, target, mask, tau, phi)
    R, T = x.shape[:2]
    n = w.w_rec.shape[-1]
    F = np.swapaxes(w.w_out, 1, 2) if feedback is None else feedback
    w_rec_t = np.swapaxes(w.w_rec, 1, 2)
    tau = _per_unit(tau, n)
    d = dphi(tr.u) / tau  # d[:, t] = phi'(u(t+1))/tau in paper indexing
    source = tr.eps @ np.swapaxes(F, 1, 2)  # F eps(t), every t at once
    zd = np.empty((R, T, n))  # z(t) * d(t): the only per-step product the gradients need
    z = source[:, T - 1]
    zd[:, T - 1] = z * d[:, T - 1]
    for t in range(T - 2, -1, -1):
        # z(t) = (1-1/tau) z(t+1) + (1/tau) W^T (z(t+1) * phi'(u(t+1))) + F eps(t)
        z = source[:, t] + (1 - 1 / tau) * z + _mv(w_rec_t, zd[:, t + 1])
        zd[:, t] = z * d[:, t]
    zd_t = np.swapaxes(zd, 1, 2)
    g_rec = -(zd_t @ tr.h[:, :T])
    g_in = -(zd_t @ x)
    return {"w_out": _readout_grad(tr), "w_rec": g_rec / T, "w_in": g_in / T}, tr


def bptt_grad(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
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
    ws, fb = _one(w, feedback)
    grads, tr = stacked_bptt(ws, *_first(x, target, mask), tau, phi, dphi, fb)
    return {name: a[0] for name, a in grads.items()}, tr.row(0)


def stacked_rtrl(
    w: Stacked,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
    feedback: Array | None = None,
    local: bool = False,
    phi=np.tanh,
    dphi=tanh_prime,
) -> tuple[dict[str, Array], Trace]:
    """:func:`rtrl_grad` of ``R`` networks (``feedback`` ``(R, N, K)``)."""
    tr = stacked_forward(w, x, target, mask, tau, phi)
    R, T, m = x.shape
    n = w.w_rec.shape[-1]
    F = np.swapaxes(w.w_out, 1, 2) if feedback is None else feedback
    tau = _per_unit(tau, n)[:, None]
    # P[r, j, a*N + b] = dh_j / dW_ab of network r; Q likewise for w_in.
    P = np.zeros((R, n, n * n))
    Q = np.zeros((R, n, n * m))
    unit = np.arange(n)
    g_rec = np.zeros_like(w.w_rec)
    g_in = np.zeros_like(w.w_in)
    for t in range(T):
        d = dphi(tr.u[:, t])[:, :, None]
        # The local term: W_ab moves h_a through its own input h_b.
        drive_p = np.zeros_like(P)
        drive_q = np.zeros_like(Q)
        drive_p.reshape(R, n, n, n)[:, unit, unit, :] = tr.h[:, t][:, None, :]
        drive_q.reshape(R, n, n, m)[:, unit, unit, :] = x[:, t][:, None, :]
        if not local:  # the nonlocal term sum_k W_jk P_kab: what no synapse can hold
            drive_p += w.w_rec @ P
            drive_q += w.w_rec @ Q
        P = (1 - 1 / tau) * P + d * drive_p / tau
        Q = (1 - 1 / tau) * Q + d * drive_q / tau
        err = _mv(F, tr.eps[:, t])[:, None, :]
        g_rec -= (err @ P).reshape(R, n, n)
        g_in -= (err @ Q).reshape(R, n, m)
    return {"w_out": _readout_grad(tr), "w_rec": g_rec / T, "w_in": g_in / T}, tr


def rtrl_grad(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    tau: ArrayLike = 10.0,
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
    ws, fb = _one(w, feedback)
    grads, tr = stacked_rtrl(ws, *_first(x, target, mask), tau, fb, local, phi, dphi)
    return {name: a[0] for name, a in grads.items()}, tr.row(0)
