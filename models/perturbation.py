"""Node perturbation's units and synapses (paper Eq. 8; Miconi 2017) as Brian2 equations.

:class:`brianrflo.rules.PerturbationNetwork` assembles them; the schedule within a
step is in :mod:`brianrflo.rules.perturbation`, the numpy maths in
:mod:`brianrflo.rules.perturbation_reference`. Noise currents are ``noise`` (Brian2
reserves ``xi``), read from TimedArrays that numpy fills for a whole block.
"""

__all__ = ["HIDDEN", "OUTPUT", "FLUCTUATION", "FIRST", "OUTPUT_ERROR", "REWARD",
           "REWARD_UPDATE", "synapse_equations", "update_code"]


#: Hidden units: the paper's rate units with a noise current ``xi`` in ``u``.
HIDDEN = """
dh/dt = (-h + tanh(u)) / tau : 1
u = u_rec + u_in + noise : 1
u_rec : 1
u_in : 1
noise : 1
ubar : 1
s : 1
delta : 1
h0 : 1 (constant)
tau : second (constant)
t_block : second (shared)
"""

#: Output units: readout ``y``, noisy output ``z = y + noise``, error and running loss.
OUTPUT = """
y : 1
noise : 1
z = y + noise : 1
ubar : 1
s : 1
eps : 1
loss : 1
delta : 1
inv_2T : 1 (shared, constant)
t_block : second (shared)
"""

#: The postsynaptic signal of the eligibility trace, for a unit whose total input is ``{u}``.
#: ``first`` makes ``ubar`` start from the trial's first ``u``.
FLUCTUATION = {
    "reinforce": "ubar = first * {u} + (1 - first) * (ubar + ({u} - ubar) / tau_bar)\ns = noise",
    "miconi": ("ubar = first * {u} + (1 - first) * (ubar + ({u} - ubar) / tau_bar)\n"
               "s = ({u} - ubar)**3"),
}
#: 1 at a trial's first step, else 0.
FIRST = "first = int(t_in_timesteps % steps_per_trial == 0)\n"

#: The outputs' noise read, masked error ``eps`` and running loss, every step.
OUTPUT_ERROR = """
noise = xi_out_ta(t - t_block, i)
eps = mask_ta(t - t_block, i) * (target_ta(t - t_block, i) - z)
loss += eps**2 * inv_2T
"""


def synapse_equations(weight: str, pre: str, summed: str) -> str:
    """A plastic synapse with trace ``elig`` of ``s_post * {pre}_pre``.

    (``elig``, not ``e``, which Brian2 reserves for Euler's number.)
    """
    return f"""
{weight} : 1
delig/dt = (s_post * {pre}_pre - elig) / tau_e : 1 (clock-driven)
E : 1
eta_T : 1 (shared)
{summed}_post = {weight} * {pre}_pre : 1 (summed)
"""


def update_code(weight: str) -> str:
    """``E`` sums the trace; ``weight`` changes by ``eta/T * delta * E`` (at trial ends)."""
    return f"E += elig\n{weight} += eta_T * delta_post * E\n"


#: The reward unit: ``R`` summed from the outputs' losses, running average ``R_bar``.
REWARD = """
R : 1
Rbar : 1
delta : 1
started : 1
"""
#: At a trial's last step: ``delta = R - R_bar`` (0 before the first trial ends),
#: then ``R_bar`` moves towards ``R`` at rate ``alpha_R``.
REWARD_UPDATE = """
last = int((t_in_timesteps + 1) % steps_per_trial == 0)
delta = last * started * (R - Rbar)
Rbar += last * (1 - started * alpha_R) * (R - Rbar)
started += last * (1 - started)
"""
