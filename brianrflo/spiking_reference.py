"""Plain numpy reference of the spiking network and its rule (:mod:`brianrflo.models.lif`).

The Brian2 network (:mod:`brianrflo.spiking`) is tested against :func:`lif_trial`:
same spikes, and traces and weight changes to float64 rounding. Rows of the
``(T, .)`` arrays are steps ``t = 1..T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brianrflo.models.lif import LIFModel

from .network import update_period
from .pending import PendingUpdate
from .weights import Weights, dale_clip

__all__ = ["SpikeTrace", "lif_trial", "lif_blocks"]

Array = np.ndarray


@dataclass
class SpikeTrace:
    """One trial: ``v`` (after any reset), ``z``, ``r``, ``psi``, ``y``, ``eps``, ``(T, .)``."""

    v: Array
    z: Array
    r: Array
    psi: Array
    y: Array
    eps: Array
    loss: float


def lif_trial(
    w: Weights,
    x: Array,
    target: Array,
    mask: Array,
    eta: tuple[float, float, float] = (0.0, 0.0, 0.0),
    tau_m: float = 10.0,
    model: LIFModel | None = None,
    online: bool = False,
    dale: bool = False,
) -> tuple[dict[str, Array], SpikeTrace]:
    """One trial of the LIF network with RFLO/e-prop learning.

    Parameters
    ----------
    w
        Weights (``h0`` is ``v0``).
    x, target, mask
        ``(T, M)``, ``(T, K)``, ``(T, K)``.
    eta
        Learning rates of ``w_out``, ``w_rec``, ``w_in``.
    tau_m
        Membrane time constant in steps.
    model
        The unit parameters (default :class:`LIFModel`).
    online
        Apply each step's update at once; otherwise sum over the trial, divided by ``T``.
    dale
        With ``online``, clip recurrent weights to their sign after each step.

    Returns
    -------
    dw, trace
        The trial's weight changes ``{'w_out', 'w_rec', 'w_in'}`` (for ``online``, the
        total change over the trial) and what the trial computed.
    """
    m = model or LIFModel()
    w = w.copy()
    start = w.copy()
    T, n = x.shape[0], w.n_hidden
    km, kr = 1.0 - 1.0 / tau_m, 1.0 - 1.0 / m.tau_r
    v = w.h0.copy()
    z = np.zeros(n)
    r = np.zeros(n)
    zbar = np.zeros(n)
    xbar = np.zeros(w.n_in)
    since = np.full(n, np.inf)  # steps since the last spike
    p = np.zeros((n, n))
    q = np.zeros((n, w.n_in))
    acc = {k: 0.0 for k in ("w_out", "w_rec", "w_in")}
    out = {k: np.empty((T, n)) for k in ("v", "z", "r", "psi")}
    ys, epss = np.empty((T, w.n_out)), np.empty((T, w.n_out))
    scale = 1.0 if online else 1.0 / T
    for t in range(T):
        xbar = xbar * km + x[t] / tau_m
        u = w.w_rec @ z + w.w_in @ x[t] + m.i_bias
        since += 1
        free = since > m.n_ref
        v = np.where(free, v + (-v + u) / tau_m, v)
        psi = free * m.gamma * np.clip(1 - np.abs(v - m.v_th) / m.v_th, 0, np.inf) / m.v_th
        p = p * kr + psi[:, None] * zbar[None, :]
        q = q * kr + psi[:, None] * xbar[None, :]
        z = (free & (v > m.v_th)).astype(float)
        v = np.where(z > 0, m.v_reset, v)
        since = np.where(z > 0, 0, since)
        r = r * kr + z
        zbar = zbar * km + z / tau_m
        y = w.w_out @ r
        eps = mask[t] * (target[t] - y)
        fb = w.b @ eps
        step = {"w_out": eta[0] * scale * np.outer(eps, r),
                "w_rec": eta[1] * scale * fb[:, None] * p,
                "w_in": eta[2] * scale * fb[:, None] * q}
        if online:
            w.w_out = w.w_out + step["w_out"]
            w.w_rec = w.w_rec + step["w_rec"]
            w.w_in = w.w_in + step["w_in"]
            if dale:
                w.w_rec = dale_clip(w.w_rec)
        else:
            for k in acc:
                acc[k] = acc[k] + step[k]
        for k, val in (("v", v), ("z", z), ("r", r), ("psi", psi)):
            out[k][t] = val
        ys[t], epss[t] = y, eps
    if online:
        dw = {k: getattr(w, k) - getattr(start, k) for k in acc}
    else:
        dw = {k: np.broadcast_to(acc[k], getattr(start, k).shape).copy() for k in acc}
    trace = SpikeTrace(y=ys, eps=epss, loss=float(np.sum(epss**2) / (2 * T)), **out)
    return dw, trace


def lif_blocks(
    w: Weights,
    blocks,
    eta: tuple[float, float, float],
    update: str | int = "trial",
    tau_m: float = 10.0,
    model: LIFModel | None = None,
    dale: bool = False,
) -> list[tuple[list[SpikeTrace], Weights]]:
    """The reference over blocks with the engine's update semantics: ``(traces, weights)``."""
    online = update == "online"
    w = w.copy()
    # Online, the trial's change was clipped step by step: clipping again changes nothing.
    pending = PendingUpdate(update_period(update), dale)
    out = []
    for block in blocks:
        traces = []
        for k in range(block.n_trials):
            x, target, mask = block.trial(k)
            dw, tr = lif_trial(w, x, target, mask, eta, tau_m=tau_m, model=model,
                               online=online, dale=dale)
            traces.append(tr)
            pending.add(w, dw)
        out.append((traces, w.copy()))
    return out
