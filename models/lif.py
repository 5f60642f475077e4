"""Leaky integrate-and-fire hidden units trained with RFLO's local rule (e-prop-like).

Discrete-time maths (one step = one Brian2 ``dt`` = 1 ms; ``t = 1..T`` in a trial;
all time constants in steps). Unit ``a``, presynaptic unit ``b``, input ``c``:

Membrane (forward Euler of ``dv/dt = (-v + u)/tau_m``, Brian2 ``method='euler'``)::

    u_a(t) = sum_b W_ab z_b(t-1) + sum_c Win_ac x_c(t) + I_bias
    v_a(t) = v_a(t-1) + (u_a(t) - v_a(t-1)) / tau_m        (not refractory at t)
    v_a(t) = v_a(t-1)                                      (refractory at t: held)

Spike, reset and refractoriness (Brian2's ``threshold``, ``reset``, ``refractory``)::

    z_a(t) = 1  if v_a(t) > v_th and a is not refractory at t, else 0
    v_a(t) <- v_reset                                     after a spike
    refractory at t  <=>  a spiked at some s with t - s <= n_ref

so after a spike at ``s`` the unit is silent, its ``v`` held at ``v_reset``, for
steps ``s+1 .. s+n_ref`` (Brian2 ``refractory = (n_ref + 1) * dt``, since Brian2
counts the spike step).

Rate-like signal and readout (``r`` is a leaky spike count)::

    r_a(t) = (1 - 1/tau_r) r_a(t-1) + z_a(t)
    y(t) = W_out r(t),   eps(t) = mask (y*(t) - y(t)),   L = 1/(2T) sum_t |eps(t)|^2

Pseudo-derivative of the spike (Bellec et al. 2020), zero while refractory::

    psi_a(t) = gamma * max(0, 1 - |v_a(t) - v_th| / v_th) / v_th

with ``v_a(t)`` before the reset.

Traces. Dropping the dependence of ``z_b(t-1)`` on the weights (RFLO's and
e-prop's truncation) and the reset's, ``dv_a(t)/dW_ab`` is the membrane-filtered
presynaptic spike train ``zbar_b(t-1)``; ``dz_a/dW_ab = psi_a dv_a/dW_ab``; and
``r`` filters ``z``. That gives one trace per neuron and one per synapse::

    zbar_b(t) = (1 - 1/tau_m) zbar_b(t-1) + z_b(t) / tau_m     (recurrent, per unit)
    xbar_c(t) = (1 - 1/tau_m) xbar_c(t-1) + x_c(t) / tau_m     (input, per input)
    p_ab(t) = (1 - 1/tau_r) p_ab(t-1) + psi_a(t) zbar_b(t-1)   (= dr_a(t)/dW_ab)
    q_ac(t) = (1 - 1/tau_r) q_ac(t-1) + psi_a(t) xbar_c(t)     (= dr_a(t)/dWin_ac)

Updates (RFLO Eq. 16 with ``h`` replaced by ``r``), with random feedback ``B``::

    dW_out = eta1 eps(t) r(t)^T,  dW_ab = eta2 (B eps(t))_a p_ab(t),
    dWin_ac = eta3 (B eps(t))_a q_ac(t)

summed over the trial and divided by ``T`` (``update='trial'``, paper Eq. 15), or
applied every step (``'online'``), or summed over ``n`` trials. With Dale's law a
recurrent weight that would change sign is clipped to 0 after each update.

At each trial start: ``v = v0`` (``weights.h0``), ``z = r = zbar = xbar = 0``,
``p = q = 0``, no unit refractory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from brianrflo.validation import check_int, check_real

__all__ = ["LIFModel", "LIF_EQUATIONS"]

#: Hidden LIF units. ``u_rec = W z(t-1)`` and ``u_in = W_in x(t)`` are summed by
#: the synapses; ``z`` is 1 in the step a unit spikes (set by the reset).
LIF_EQUATIONS = """
dv/dt = (-v + u) / tau_m : 1 (unless refractory)
u = u_rec + u_in + I_bias : 1
u_rec : 1
u_in : 1
fb : 1
z : 1
r : 1
zbar : 1
psi : 1
v0 : 1 (constant)
dale_sign : 1 (constant)
eta_rec : 1 (constant)
eta_in : 1 (constant)
"""
THRESHOLD = "v > v_th"
RESET = "v = v_reset\nz = 1"
#: After the state update, before the threshold: psi(t) from v(t), z cleared
#: (its last value, z(t-1), was read by the recurrent synapses before the update).
PSEUDO_DERIVATIVE = """
psi = int(not_refractory) * gamma * clip(1 - abs(v - v_th) / v_th, 0, inf) / v_th
z = 0
"""
#: After the reset: the spike enters the rate-like signal and the presynaptic trace.
FILTERS = """
r = r * (1 - 1 / tau_r) + z
zbar = zbar * (1 - 1 / tau_m_steps) + z / tau_m_steps
"""
#: At trial starts. Refractoriness is cleared first: Brian2 silently skips writes
#: to an ``(unless refractory)`` variable while ``not_refractory`` is false.
HIDDEN_RESET = """
lastspike = -1e4 * second
not_refractory = True
v = v0
z = 0
r = 0
zbar = 0
psi = 0
"""
INPUTS = """
x : 1
xbar : 1
t_block : second (shared)
"""
INPUTS_READ = """
x = x_ta(t - t_block, i)
xbar = xbar * (1 - 1 / tau_m_steps) + x / tau_m_steps
"""
RECURRENT = """
w_rec : 1
p : 1
dw : 1
u_rec_post = w_rec * z_pre : 1 (summed)
"""
INPUT = """
w_in : 1
q : 1
dw : 1
u_in_post = w_in * x_pre : 1 (summed)
"""
READOUT = """
w_out : 1
dw : 1
y_post = w_out * r_pre : 1 (summed)
"""
#: Eligibility traces, after psi(t) and before zbar takes z(t).
TRACE_REC = "p = p * (1 - 1 / tau_r) + psi_post * zbar_pre"
TRACE_IN = "q = q * (1 - 1 / tau_r) + psi_post * xbar_pre"
UPDATE_FACTORS = {"w_out": "eps_post * r_pre", "w_rec": "fb_post * p", "w_in": "fb_post * q"}


@dataclass(frozen=True)
class LIFModel:
    """Leaky integrate-and-fire hidden units for RFLO (see the module docstring).

    Parameters
    ----------
    tau_r
        Time constant of the filtered spike train ``r`` and of ``p``, ``q``, in steps (>= 1).
    v_th
        Threshold (> 0).
    v_reset
        Reset potential (< v_th).
    n_ref
        Refractory steps after a spike (integer >= 0).
    gamma
        Height of the pseudo-derivative (>= 0).
    i_bias
        Constant current into every unit (keeps units firing without input).
    g
        Scale of the initial recurrent weights, ``W ~ Normal(0, g^2/N)``.
    description
        One line for ``brianrflo models``.

    Notes
    -----
    The membrane time constant ``tau_m`` is the run's ``tau`` (``Settings.tau``),
    checked to be >= 1 by the network.
    """

    tau_r: float = 10.0
    v_th: float = 1.0
    v_reset: float = 0.0
    n_ref: int = 2
    gamma: float = 0.3
    i_bias: float = 1.0
    g: float = 3.0
    description: str = ("leaky integrate-and-fire units, spikes filtered into r, "
                        "e-prop-style pseudo-derivative (brianrflo.models.lif)")
    namespace: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        check_real("tau_r", self.tau_r, 1.0)
        check_real("v_th", self.v_th)
        if self.v_th <= 0:
            raise ValueError(f"v_th must be > 0, got {self.v_th!r}")
        check_real("v_reset", self.v_reset)
        if self.v_reset >= self.v_th:
            raise ValueError(f"v_reset must be < v_th ({self.v_th}), got {self.v_reset!r}")
        check_int("n_ref", self.n_ref, 0)
        check_real("gamma", self.gamma, 0.0)
        check_real("i_bias", self.i_bias)
        check_real("g", self.g, 0.0)
        object.__setattr__(self, "namespace", {
            "tau_r": float(self.tau_r), "v_th": float(self.v_th),
            "v_reset": float(self.v_reset), "gamma": float(self.gamma),
            "I_bias": float(self.i_bias), "n_ref": int(self.n_ref),
        })

    @property
    def equations(self) -> str:
        """The hidden units' Brian2 equations."""
        return LIF_EQUATIONS

    @staticmethod
    def is_paper() -> bool:
        """Never the paper's rate model."""
        return False

    def init_weights(self, n_hidden: int, n_in: int, n_out: int, seed: int | None = None,
                     dale: bool = False, init: str = "paper"):
        """Initial weights for spiking units.

        As :meth:`brianrflo.weights.Weights.init` (``W_in ~ U[-1, 1]``,
        ``W_out ~ U[-1/sqrt(N), 1/sqrt(N)]``, ``B ~ Normal(0, 1)``) but
        ``W ~ Normal(0, g^2/N)`` with this model's ``g`` (a spike is a kick of
        ``W/tau_m``, so recurrence needs larger weights than rate units) and
        ``v0 ~ U[v_reset, v_th]`` stored in ``h0``, so units start out of phase.
        ``init='notebook'`` draws the notebook's 10x smaller ``W_out``; the start stays
        ``v0`` (the notebook's ``h(0) = 0.1`` is a rate, not a membrane potential).
        """
        from brianrflo.weights import Weights, dale_signs

        w = Weights.init(n_hidden, n_in, n_out, seed=seed, g=self.g, dale=False, init=init)
        rng = np.random.default_rng(None if seed is None else seed + 7919)
        w.h0 = rng.uniform(self.v_reset, self.v_th, size=n_hidden)
        if dale:
            w.w_rec = dale_signs(n_hidden) * np.abs(w.w_rec)
        return w

    def update_code(self, weight: str, dale: bool = False) -> str:
        """Update code for ``weight`` in ``('w_out', 'w_rec', 'w_in')``."""
        from .rate import DALE_CLIP, ETAS, UPDATE

        code = UPDATE.format(weight=weight, eta=ETAS[weight], factor=UPDATE_FACTORS[weight])
        return code + DALE_CLIP + "\n" if dale and weight == "w_rec" else code

    def show(self, feedback: str = "random", readout_feedback: bool = False) -> str:
        """The generated Brian2 code, object by object, in the order it runs (only
        random feedback); written by the assembler (:func:`brianrflo.network.describe`)."""
        from brianrflo.network import describe

        return describe(self, feedback, readout_feedback)
