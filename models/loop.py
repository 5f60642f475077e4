"""The cortico-basal ganglia-thalamic loop of paper Fig. 4b, as Brian2 equations.

A frozen, trained RNN ("cortex", the paper's rate units) drives a 2-D cursor velocity.
"Striatum" units read the cortex through learned weights ``W_s``; at the end of each
syllable a winner-take-all picks one striatum unit, and the winner switches on the
matching tonic input ("thalamus") for the next syllable. Dopamine plays two roles:
it *gates* the corticostriatal readout so that it acts only at syllable ends (the
corticostriatal synapses run on the syllable clock), and it carries the reward ``R``
that modulates their plasticity.

Per step (clock ``dt``, the paper's discrete map)::

    u = W h(t-1) + W_in x          cortex input current
    h(t) = h(t-1) + (-h(t-1) + tanh(u)) / tau
    y(t) = W_out h(t)              cursor velocity; pos += y

At each syllable end (syllable clock; also at a trial's first step, from ``h(0)``)::

    z_i = sum_j W_s_ij h_j                        striatum input (paper's z_i)
    allowed_i = syllable i keeps the cursor in bounds (pos + its nominal reach)
    score_i = z_i, or a random key on exploration steps (p_explore), -inf if not allowed
    win_i = 1 for the highest score (ties: lowest i), else 0
    x_k = win_k                                   thalamus: the winner's tonic input
    R = 1 if the transition matches the target: this winner and the previous one are
        the target sequence's syllables at their positions, else 0
    dW_s_ij = eta_s * R * win_i * h_j             reward-modulated Hebbian rule ('hebb')
    dW_s_ij = eta_s * R * win_i * (h_j - z_i W_s_ij)   the same with Oja's decay ('oja')

The paper writes the rule as ``dW_s_ij = eta_s R z_i h_j``. Read literally, with
``z_i`` the input of every unit, it scales all of a state's striatal inputs by the same
factor and so never changes which unit wins; the postsynaptic factor must be the
striatal unit's *activity after* the winner-take-all, 1 for the winner and 0 for the
others. That is what ``win_i`` is here.

With the plain rule the rows of ``W_s`` only grow, and the row rewarded most often
(the hold's, half of the target sequence) grows fastest until it wins everywhere: we
measured the loop stuck at the holds' 3/8 of decisions correct. Oja's decay term
(local: it uses only ``z_i`` and the synapse's own weight) keeps each row near unit
length, so each striatum unit becomes a template of the cortical states after which
its syllable was rewarded. ``'oja'`` is the default; ``'hebb'`` is the paper's rule.

The winner-take-all is compiled code, not Python: every striatum unit counts, through
all-to-all striatum synapses with a summed variable, how many units beat it; the
unit that nobody beats wins.
"""

from __future__ import annotations

__all__ = ["CORTEX", "RECURRENT", "INPUT", "THALAMUS", "CURSOR", "CURSOR_UPDATE",
           "READOUT", "STRIATUM", "CORTICOSTRIATAL", "HEBBIAN", "BOUNDS", "COMPETITION",
           "SCORE", "WINNER", "GATE", "OJA", "RULES", "REWARD",
           "STRIATUM_RESET", "CORTEX_RESET", "CURSOR_RESET"]

#: Cortex: the paper's rate units (frozen weights: no traces, no error units).
CORTEX = """
dh/dt = (-h + tanh(u)) / tau : 1
u = u_rec + u_in : 1
u_rec : 1
u_in : 1
tau : second (constant)
h0 : 1 (constant)
"""
CORTEX_RESET = "h = h0"

RECURRENT = """
w_rec : 1 (constant)
u_rec_post = w_rec * h_pre : 1 (summed)
"""

INPUT = """
w_in : 1 (constant)
u_in_post = w_in * x_pre : 1 (summed)
"""

#: Thalamus: the tonic inputs, set by the striatum's winner and held for a syllable.
THALAMUS = """
x : 1
"""

#: Cursor: one unit per axis, velocity ``y`` and position ``pos``.
CURSOR = """
y : 1
pos : 1
"""
CURSOR_UPDATE = "pos += y"
CURSOR_RESET = "pos = 0"

READOUT = """
w_out : 1 (constant)
y_post = w_out * h_pre : 1 (summed)
"""

#: Striatum: one unit per reach, then the hold units (all of which mean "hold").
STRIATUM = """
z : 1
n_outside : 1
allowed : 1
explore : 1
correct : 1
score : 1
beats : 1
win : 1
hit : 1
last_hit : 1
R : 1
t_block : second (shared)
"""

#: Corticostriatal synapses, on the syllable clock: the dopamine gate.
CORTICOSTRIATAL = """
w_s : 1
eta_s : 1 (shared)
z_post = w_s * h_pre : 1 (summed)
"""
HEBBIAN = "w_s += eta_s * R_post * win_post * h_pre"
#: The same with Oja's decay term, which keeps each row of ``W_s`` near unit length.
OJA = "w_s += eta_s * R_post * win_post * (h_pre - z_post * w_s)"
#: Plasticity rules of ``W_s`` by name.
RULES = {"hebb": HEBBIAN, "oja": OJA}

#: Cursor -> striatum: how many axes a syllable's nominal reach would leave the bounds on.
BOUNDS = """
reach : 1 (constant)
n_outside_post = int(abs(pos_pre + reach) > limit) : 1 (summed)
"""

#: Exploration flags and random keys are drawn in Python per block (TimedArrays).
SCORE = """
allowed = int(n_outside == 0)
explore = explore_ta(t - t_block)
correct = int(abs(clip(i, 0, n_reaches) - target_ta(t - t_block)) < 0.5)
score = allowed * (explore * key_ta(t - t_block, i) + (1 - explore) * z) - (1 - allowed) * 1e30
"""

#: Striatum -> striatum, all to all including self: ``beats`` counts the units that beat
#: the postsynaptic one (ties go to the lower index, as numpy's argmax); ``hit`` is 1 if
#: the winner is the target syllable at this position, broadcast to every unit.
COMPETITION = """
beats_post = int(score_pre > score_post) + int(score_pre == score_post) * int(i < j) : 1 (summed)
hit_post = win_pre * correct_pre : 1 (summed)
"""

WINNER = "win = int(beats == 0)"

#: Dopamine: the *transition* must match the target, so the previous choice must have
#: been right too (at a trial's first decision, the start counts as right).
REWARD = """
R = hit * last_hit
last_hit = hit
"""
STRIATUM_RESET = "last_hit = 1"

#: Striatum -> thalamus, unit k to tonic input k (the hold unit has no input).
GATE = """
x_post = win_pre : 1 (summed)
"""
