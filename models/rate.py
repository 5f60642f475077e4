"""The paper's rate network (Eq. 1) and RFLO learning (Eqs. 15-17) as Brian2 equations.

One Brian2 time step is one step of the paper's discrete map, ``dt = 1 * ms``;
``tau`` is ``tau_steps * dt``. Integrating ``dh/dt = (-h + phi)/tau`` with
``method='euler'`` gives exactly ``h(t) = h(t-1) + (-h(t-1) + phi(u(t)))/tau``.

Every string below is plain Brian2 syntax; ``{phi}`` and ``{dphi}`` are filled in
from :class:`RateModel`, so editing ``phi`` changes the rule consistently.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

__all__ = ["RateModel", "RATE", "phi_prime"]

#: Hidden rate units. ``u_rec``, ``u_in`` are summed by the recurrent and input
#: synapses, ``fb = (B eps)`` by the error-feedback synapses.
HIDDEN = """
dh/dt = (-h + phi) / tau : 1
phi = {phi} : 1
u = u_rec + u_in : 1
u_rec : 1
u_in : 1
dphi : 1
fb : 1
h0 : 1 (constant)
tau : second (constant)
"""

#: ``phi'(u)``, computed once per unit and step so synapses only read it.
HIDDEN_DPHI = "dphi = {dphi}"

#: Inputs ``x(t)``, read from a TimedArray once per unit and step.
INPUTS = """
x : 1
t_block : second (shared)
"""
INPUTS_READ = "x = x_ta(t - t_block, i)"

#: Error units: readout ``y`` (summed from the readout synapses) and ``eps``.
ERROR = """
y : 1
eps : 1
loss : 1
inv_2T : 1 (shared, constant)
t_block : second (shared)
"""
ERROR_UPDATE = """
eps = mask_ta(t - t_block, i) * (target_ta(t - t_block, i) - y)
loss += eps**2 * inv_2T
"""

#: Recurrent synapses ``b -> a`` with eligibility trace ``p_ab`` (Eq. 17).
RECURRENT = """
w_rec : 1
dp/dt = (-p + dphi_post * h_pre) / tau_post : 1 (clock-driven)
dw : 1
eta : 1 (shared)
u_rec_post = w_rec * h_pre : 1 (summed)
"""

#: Input synapses ``b -> a`` with eligibility trace ``q_ab`` (Eq. 17).
INPUT = """
w_in : 1
dq/dt = (-q + dphi_post * x_pre) / tau_post : 1 (clock-driven)
dw : 1
eta : 1 (shared)
u_in_post = w_in * x_pre : 1 (summed)
"""

#: Readout synapses, hidden -> error units.
READOUT = """
w_out : 1
dw : 1
eta : 1 (shared)
y_post = w_out * h_pre : 1 (summed)
"""

#: Fixed error-feedback synapses, error units -> hidden: ``fb = B eps``.
FEEDBACK = """
b : 1 (constant)
fb_post = b * eps_pre : 1 (summed)
"""

#: RFLO updates (Eq. 16). ``dw`` accumulates; ``apply`` (1 at the last step of
#: an update period, else 0) moves it into the weight. ``scale`` is 1 for online
#: updates and ``1/T`` for updates summed over trials (Eq. 15).
UPDATE = """
dw += eta * scale * {factor}
{weight} += apply * dw
dw = dw * (1 - apply)
"""
UPDATE_FACTORS = {
    "w_out": "eps_post * h_pre",
    "w_rec": "fb_post * p",
    "w_in": "fb_post * q",
}
APPLY = "int((t_in_timesteps + 1) % update_period == 0)"


def phi_prime(phi: str, var: str = "u") -> str:
    """Derivative of the expression ``phi`` with respect to ``var``, as Brian2 code.

    Raises
    ------
    ValueError
        If ``phi`` cannot be parsed, does not depend on ``var``, or has no
        derivative sympy can write down in closed form.
    """
    try:
        expr = str_to_sympy(phi)
    except Exception as err:  # sympy raises many types on bad syntax
        raise ValueError(f"phi {phi!r} is not a valid expression: {err}") from None
    symbols = {s.name: s for s in expr.free_symbols}
    if var not in symbols:
        raise ValueError(f"phi {phi!r} must depend on {var!r}")
    deriv = sympy.diff(expr, symbols[var])
    if deriv.has(sympy.Derivative) or deriv.has(sympy.Subs):
        raise ValueError(
            f"phi {phi!r} has no closed-form derivative with respect to {var!r} "
            f"(sympy gives {deriv}); write phi with differentiable functions"
        )
    return sympy_to_str(deriv)


@dataclass(frozen=True)
class RateModel:
    """A rate model: the hidden units' nonlinearity and its derivative.

    Parameters
    ----------
    phi
        Brian2 expression of ``u``, the unit's input current (default ``tanh(u)``).
    """

    phi: str = "tanh(u)"

    @property
    def dphi(self) -> str:
        """``phi'(u)``, derived symbolically."""
        return phi_prime(self.phi)

    def hidden_equations(self) -> str:
        """Equations of the hidden units."""
        return HIDDEN.format(phi=self.phi)

    def hidden_dphi_code(self) -> str:
        """Per-step code computing ``phi'(u)``."""
        return HIDDEN_DPHI.format(dphi=self.dphi)

    @staticmethod
    def update_code(weight: str) -> str:
        """RFLO update code for ``weight`` in ``('w_out', 'w_rec', 'w_in')``."""
        return UPDATE.format(weight=weight, factor=UPDATE_FACTORS[weight])


#: The paper's model: ``phi = tanh``.
RATE = RateModel()
