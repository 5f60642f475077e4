"""The loop architecture of paper Fig. 4b: a frozen RNN that chooses its own next syllable.

:class:`LoopNetwork` assembles the Brian2 objects of :mod:`brianrflo.models.loop` and
runs a block of loop trials in one ``run()``. Python draws each block's exploration
schedule (which decisions explore, and random keys that make the exploratory choice
uniform among the allowed syllables) and hands it over as TimedArrays; the choices,
the winner-take-all, the bounds check, the reward and the Hebbian update are compiled
code on the syllable clock.

Slots within a step (``start`` slot only on syllable ticks, except order 0):

===========  ==========================================================  =============
slot/order   what                                                        object
===========  ==========================================================  =============
start 0      at trial starts: ``h = h0``, ``pos = 0``, ``last_hit = 1``  trial clock
start 1      ``z = W_s h`` (gated), out-of-bounds count per syllable     summed vars
start 2      ``allowed``, ``explore``, ``correct``, ``score``            striatum
start 3      ``beats`` (units that beat each unit)                       summed var
start 4      ``win``                                                     striatum
start 5      ``hit`` (winner is the target), ``x = win`` (thalamus)      summed vars
start 6      ``R = hit * last_hit`` (dopamine)                           striatum
start 7      ``W_s += eta_s R win h`` (with Oja's decay by default)      corticostriatal
start 8      record ``win``, ``R``, ``z``, ``explore``, ``allowed``      monitor
before_gr.   ``u = W h + W_in x``                                        summed vars
groups       ``h`` (forward Euler)                                       cortex
after_gr.    ``y = W_out h``, then ``pos += y``                          cursor
===========  ==========================================================  =============

:func:`loop_reference` is the same logic in plain numpy, for the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import brian2 as b2
import numpy as np

from brianrflo.models import loop as eqs
from brianrflo.tasks.reach import HOLD, allowed_syllables, reach_directions

from .assembly import DT, Assembly, Simulation, from_synapses, pre_post, to_synapses
from .targets import RUNTIME_TARGETS
from .validation import check_array, check_choice, check_int, check_real, check_tau
from .weights import Weights

__all__ = ["LoopNetwork", "LoopBlock", "loop_reference", "syllable_units", "P_EXPLORE"]

#: Probability that a decision explores (paper: 0.1).
P_EXPLORE = 0.1


def syllable_units(sequence: Sequence[int], n_reaches: int) -> np.ndarray:
    """Syllable codes: reach ``k`` is ``k``, ``HOLD`` is ``n_reaches`` (the first hold unit)."""
    seq = np.array([int(k) for k in sequence], dtype=int)
    if seq.size == 0 or np.any((seq != HOLD) & ((seq < 0) | (seq >= n_reaches))):
        raise ValueError(f"sequence must be a non-empty list of syllables in "
                         f"[0, {n_reaches - 1}] or {HOLD} (hold), got {list(sequence)!r}")
    return np.where(seq == HOLD, n_reaches, seq)


@dataclass
class LoopBlock:
    """What a block of loop trials did at each of a trial's ``S`` decisions.

    ``choices``, ``winners``, ``rewards``, ``explore`` are ``(n, S)``: the chosen syllable's
    code (reach ``k`` is ``k``, a hold ``n_reaches``: :func:`syllable_units`), the winning
    striatum unit (``n_reaches`` and up mean hold), ``R``, and 1 where the decision
    explored. ``z`` (the striatum's input ``W_s h`` before the decision's update) and
    ``allowed`` (1 where a syllable keeps the cursor in bounds) are ``(n, S, units)``.
    """

    choices: np.ndarray
    winners: np.ndarray
    rewards: np.ndarray
    explore: np.ndarray
    z: np.ndarray
    allowed: np.ndarray

    def accuracy(self, target_units: np.ndarray) -> np.ndarray:
        """Fraction of a trial's decisions that matched the target sequence, per trial."""
        return np.mean(self.choices == np.asarray(target_units)[None, :], axis=1)


class LoopNetwork:
    """A frozen RNN closed into a loop by striatum, WTA and thalamus, compiled by Brian2.

    Parameters
    ----------
    weights
        The trained RNN, frozen: ``n_in`` tonic inputs (one per reach), 2 outputs (the
        cursor's velocity).
    sequence
        The target syllables (reaches ``0 .. n_in - 1`` and ``HOLD``), one per decision.
    syllable
        Steps per syllable (paper: 200).
    length, bound
        A reach's nominal displacement; the cursor stays in ``[-bound, bound]^2`` (default
        ``length``): a syllable whose reach would end over ``length / 4`` outside is excluded.
    eta_s, p_explore
        Learning rate of ``W_s``; probability that a decision is random among the allowed
        syllables.
    w_s, seed
        Initial ``W_s`` ``(n_in + n_holds, N)``; default small random weights from ``seed``.
    tau, block_trials
        Time constant in steps; most trials per Brian2 run.
    record
        Also record the cursor position at every step (see :meth:`positions`).
    rule
        Plasticity of ``W_s``: ``'oja'`` (reward-modulated Hebbian with Oja's decay) or
        ``'hebb'`` (the paper's plain rule); see :mod:`brianrflo.models.loop`.
    n_holds
        Striatum units meaning "hold" (>= 1): several can learn the different cortical states
        after which a hold is right.
    target
        ``'cython'`` or ``'numpy'`` (compiles nothing: :func:`brianrflo.targets.runtime_target`).
    """

    def __init__(
        self,
        weights: Weights,
        sequence: Sequence[int],
        syllable: int = 200,
        length: float = 50.0,
        bound: float | None = None,
        eta_s: float = 0.01,
        p_explore: float = P_EXPLORE,
        w_s: np.ndarray | None = None,
        tau: float = 10.0,
        block_trials: int = 100,
        record: bool = False,
        seed: int = 0,
        rule: str = "oja",
        n_holds: int = 1,
        target: str = "cython",
    ):
        if rule not in eqs.RULES:
            raise ValueError(f"rule must be one of {sorted(eqs.RULES)}, got {rule!r}")
        self.rule = rule
        if weights.n_out != 2:
            raise ValueError(f"the loop needs a network with 2 outputs (cursor velocity), "
                             f"got n_out = {weights.n_out}")
        self.weights = weights.copy()
        self.n_reaches = check_int("n_in", weights.n_in, 1)
        self.n_holds = check_int("n_holds", n_holds, 1)
        self.units = self.n_reaches + self.n_holds
        self.target_units = syllable_units(sequence, self.n_reaches)
        self.sequence = [int(k) for k in sequence]
        self.syllable = check_int("syllable", syllable, 1)
        self.length = check_real("length", length, 1e-6, 1e6)
        self.bound = self.length if bound is None else check_real("bound", bound, 0.0, 1e12)
        self.p_explore = check_real("p_explore", p_explore, 0.0, 1.0)
        self.tau = check_tau(tau, weights.n_hidden)
        self.block_trials = check_int("block_trials", block_trials, 1)
        self.record = bool(record)
        self.S = len(self.sequence)
        self.T = self.S * self.syllable
        if w_s is None:
            w_s = np.random.default_rng(seed).normal(0.0, 0.01, (self.units, weights.n_hidden))
        check_choice("target", target, RUNTIME_TARGETS)
        self.sim = Simulation(target)
        self._build()
        self.sim.build(self.net, self.block_trials * self.T)
        self.w_s = w_s
        self.eta_s = eta_s

    # ------------------------------------------------------------------ set-up
    def _build(self) -> None:
        N, M, U, S = self.weights.n_hidden, self.n_reaches, self.units, self.S
        decisions = self.block_trials * S
        syl_dt = self.syllable * DT
        a = Assembly({"limit": self.bound + 0.25 * self.length, "n_reaches": M}, self.T,
                     prefix="loop_")
        self.explore_ta = a.timed_array("explore_ta", decisions, dt=syl_dt,
                                        name="loop_explore_ta")
        self.key_ta = a.timed_array("key_ta", decisions, U, dt=syl_dt, name="loop_key_ta")
        self.target_ta = a.timed_array("target_ta", decisions, dt=syl_dt,
                                       name="loop_target_ta")
        syllable = b2.Clock(dt=syl_dt, name="syllable_clock")
        w = self.weights

        cortex = a.group("cortex", N, eqs.CORTEX, "cortex (the rate network)", method="euler")
        cortex.tau = self.tau * DT
        cortex.h0 = w.h0
        cortex.h = w.h0
        a.at_trial_start(cortex, eqs.CORTEX_RESET, "cortex_reset", order=0)
        thalamus = a.group("thalamus", M, eqs.THALAMUS, "thalamus (gated reach inputs)")
        cursor = a.group("cursor", 2, eqs.CURSOR, "cursor")
        a.every_step(cursor, eqs.CURSOR_UPDATE, "after_groups", 1, "cursor_update",
                     "cursor moves by the readout")
        a.at_trial_start(cursor, eqs.CURSOR_RESET, "cursor_reset", order=0)
        striatum = a.group("striatum", U, eqs.STRIATUM, "striatum", clock=syllable)
        for code, order, name, title in ((eqs.SCORE, 2, "striatum_score", "scores"),
                                         (eqs.WINNER, 4, "striatum_winner", "winner-take-all"),
                                         (eqs.REWARD, 6, "striatum_reward", "dopamine reward")):
            a.every_step(striatum, code, "start", order, name, title, clock=syllable)
        a.at_trial_start(striatum, eqs.STRIATUM_RESET, "striatum_reset", order=0)

        rec = a.synapses("loop_rec", cortex, cortex, eqs.RECURRENT, "before_groups", 0,
                         "recurrent synapses")
        rec.w_rec = to_synapses(w.w_rec)
        inp = a.synapses("loop_inp", thalamus, cortex, eqs.INPUT, "before_groups", 0,
                         "input synapses")
        inp.w_in = to_synapses(w.w_in)
        out = a.synapses("loop_out", cortex, cursor, eqs.READOUT, "after_groups", 0,
                         "readout synapses (cursor velocity)")
        out.w_out = to_synapses(w.w_out)
        cs = a.synapses("corticostriatal", cortex, striatum, eqs.CORTICOSTRIATAL, "start", 1,
                        "corticostriatal synapses", clock=syllable)
        a.every_step(cs, eqs.RULES[self.rule], "start", 7, "plasticity",
                     f"corticostriatal plasticity ({self.rule})", clock=syllable)
        # Reach units only: a hold does not move the cursor, so it is always allowed.
        bounds = a.synapses("bounds", cursor, striatum, eqs.BOUNDS, "start", 1,
                            "workspace bounds", connect=pre_post(2, M), clock=syllable)
        bounds.reach = to_synapses(self.length * reach_directions(M))
        a.synapses("wta", striatum, striatum, eqs.COMPETITION, "start", 3, "competition",
                   clock=syllable, summed={"hit_post": ("start", 5)})
        a.synapses("gate", striatum, thalamus, eqs.GATE, "start", 5, "thalamic gate",
                   connect=(np.arange(M), np.arange(M)), clock=syllable)
        self.monitor = a.monitor("striatum_monitor", striatum,
                                 ["win", "R", "z", "explore", "allowed"], "start", 8,
                                 clock=syllable)
        if self.record:
            self.pos_monitor = a.monitor("cursor_monitor", cursor, ["pos", "y"],
                                         "after_groups", 2)
        self.cortex, self.striatum, self.cs, self.cursor = cortex, striatum, cs, cursor
        self.assembly = a
        self.net = a.network()

    # ----------------------------------------------------------------- weights
    @property
    def w_s(self) -> np.ndarray:
        """Corticostriatal weights ``W_s``, shape ``(units, N)`` (a copy)."""
        return from_synapses(self.cs.w_s[:], (self.units, self.weights.n_hidden))

    @w_s.setter
    def w_s(self, value) -> None:
        self.cs.w_s = to_synapses(check_array("w_s", value, (self.units, self.weights.n_hidden)))

    @property
    def eta_s(self) -> float:
        """Learning rate of ``W_s``."""
        return float(self.cs.eta_s[:])

    @eta_s.setter
    def eta_s(self, value: float) -> None:
        self.cs.eta_s = check_real("eta_s", value, 0.0, 1e3)

    # --------------------------------------------------------------------- run
    def run_block(self, n: int, rng: np.random.Generator | None = None,
                  explore: np.ndarray | None = None, keys: np.ndarray | None = None,
                  target_units: np.ndarray | None = None) -> LoopBlock:
        """Run ``n`` loop trials end to end in one Brian2 run.

        Parameters
        ----------
        n
            Trials (<= ``block_trials``).
        rng
            Draws the exploration schedule (needed unless ``explore`` and ``keys`` are given).
        explore, keys
            The schedule itself: ``(n, S)`` 0/1 flags and ``(n, S, units)`` random keys.
        target_units
            The rewarded unit at each decision, ``(S,)`` or ``(n, S)``; default the
            target sequence.
        """
        n = check_int("n", n, 1)
        if n > self.block_trials:
            raise ValueError(f"n must be at most block_trials={self.block_trials}, got {n}")
        S, U = self.S, self.units
        if explore is None or keys is None:
            if rng is None:
                raise ValueError("run_block needs rng, or both explore and keys")
            explore = (rng.random((n, S)) < self.p_explore).astype(float)
            keys = rng.random((n, S, U))
        explore = check_array("explore", explore, (n, S))
        keys = check_array("keys", keys, (n, S, U))
        if target_units is None:
            target_units = self.target_units
        target_units = np.broadcast_to(np.asarray(target_units, dtype=float), (n, S))
        args = {self.explore_ta: explore.ravel(), self.key_ta: keys.reshape(n * S, U),
                self.target_ta: target_units.ravel(), (self.striatum, "t_block"): self.net.t}
        before = self.monitor.win.shape[1]
        if self.record:
            self._record_from = self.pos_monitor.pos.shape[1]
        self.sim.run(n * self.T, args)

        def get(name):  # (units, n*S) -> (n, S, units)
            return np.array(getattr(self.monitor, name)[:, before:]).T.reshape(n, S, U)

        winners = np.argmax(get("win"), axis=2)
        return LoopBlock(choices=np.minimum(winners, self.n_reaches), winners=winners,
                         rewards=get("R")[:, :, 0],
                         explore=get("explore")[:, :, 0], z=get("z"), allowed=get("allowed"))

    def positions(self) -> np.ndarray:
        """Cursor positions ``(n, T, 2)`` of the last block (needs ``record=True``)."""
        if not self.record:
            raise RuntimeError("construct the LoopNetwork with record=True to get positions")
        pos = np.array(self.pos_monitor.pos[:, self._record_from:]).T
        return pos.reshape(-1, self.T, 2)


def loop_reference(
    weights: Weights,
    w_s: np.ndarray,
    sequence: Sequence[int],
    explore: np.ndarray,
    keys: np.ndarray,
    syllable: int,
    length: float,
    bound: float,
    eta_s: float,
    tau: float = 10.0,
    target_units: np.ndarray | None = None,
    rule: str = "oja",
    n_holds: int = 1,
) -> dict[str, np.ndarray]:
    """The loop's logic in plain numpy, decision by decision and step by step.

    Returns ``choices``, ``winners``, ``rewards`` ``(n, S)``, ``z``, ``allowed``
    ``(n, S, units)``,
    ``positions`` ``(n, T, 2)`` and the final ``w_s``.
    """
    M = weights.n_in
    units = syllable_units(sequence, M)
    n, S = explore.shape
    target = units if target_units is None else np.asarray(target_units)
    target = np.broadcast_to(target, (n, S))
    w_s = np.array(w_s, dtype=float)
    out: dict[str, list] = {k: [] for k in ("choices", "winners", "rewards", "z", "allowed",
                                            "positions")}
    for trial in range(n):
        h, pos, last_hit = weights.h0.copy(), np.zeros(2), 1.0
        rows: dict[str, list] = {k: [] for k in out}
        for s in range(S):
            z = w_s @ h
            allowed = np.append(allowed_syllables(pos, length, bound, M)[:-1],
                                np.ones(n_holds, dtype=bool))
            score = np.where(explore[trial, s] > 0, keys[trial, s], z)
            win = int(np.argmax(np.where(allowed, score, -np.inf)))
            hit = float(min(win, M) == target[trial, s])
            reward, last_hit = hit * last_hit, hit
            decay = z[win] * w_s[win] if rule == "oja" else 0.0
            w_s[win] += eta_s * reward * (h - decay)
            x = np.zeros(M)
            if win < M:
                x[win] = 1.0
            for _ in range(syllable):
                u = weights.w_rec @ h + weights.w_in @ x
                h = h + (-h + np.tanh(u)) / tau
                pos = pos + weights.w_out @ h
                rows["positions"].append(pos)
            for k, v in (("choices", min(win, M)), ("winners", win), ("rewards", reward), ("z", z),
                         ("allowed", allowed.astype(float))):
                rows[k].append(v)
        for k in out:
            out[k].append(np.array(rows[k]))
    result = {k: np.array(v) for k, v in out.items()}
    result["w_s"] = w_s
    return result
