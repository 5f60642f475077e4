"""Node perturbation (REINFORCE, paper Eq. 8; Miconi 2017) as Brian2 equations.

Noise currents ``xi`` (Brian2 variable ``noise``: ``xi`` is reserved) are drawn by
numpy for a whole block and played into the hidden units and the outputs from
TimedArrays, so the numpy reference (:mod:`brianrflo.rules.perturbation_reference`,
which states the maths) sees the same noise. A block of trials is one ``run()``;
within a step (slot, order):

=================  ==========================================================
start (0)          read ``xi(t)`` into hidden units and inputs ``x(t)``
start (1)          at trial starts: ``h = h0``, traces and ``loss`` to 0
before_groups (0)  ``u_rec = W h(t-1)``, ``u_in = W_in x(t)`` (summed)
before_groups (1)  postsynaptic fluctuation ``s(t)`` (``xi``, or ``(u - ubar)^3``)
before_groups (2)  traces ``elig`` of recurrent and input synapses
groups             ``h(t)`` (forward Euler)
after_groups (0)   ``y = W_out h(t)`` (summed)
after_groups (1)   noisy output ``z = y + xi_out``, ``eps``, loss, output ``s``
after_groups (2)   traces ``elig`` of readout synapses
after_groups (3)   reward unit: ``R = -loss`` (summed over outputs)
after_groups (4)   at a trial's last step: ``delta = R - R_bar``, then ``R_bar``
after_groups (5)   ``delta`` broadcast to hidden and output units (a neuromodulator)
after_groups (6)   ``E += elig``; ``W += eta/T * delta * E`` (non-zero at trial ends only)
=================  ==========================================================

The rule is local in space (each synapse uses its own trace and one broadcast
scalar) and online in the sense that it needs no stored history, but the weights
change only at trial ends, when the reward arrives.
"""

from __future__ import annotations

import time

import brian2 as b2
import numpy as np

from brianrflo.assembly import DT, Assembly, Simulation, from_synapses, to_synapses
from brianrflo.models.perturbation import (
    FIRST,
    FLUCTUATION,
    HIDDEN,
    OUTPUT,
    OUTPUT_ERROR,
    REWARD,
    REWARD_UPDATE,
    synapse_equations,
    update_code,
)
from brianrflo.targets import AUTO, RUNTIME_TARGETS, numpy_step_seconds, runtime_target
from brianrflo.tasks.base import Block, Task
from brianrflo.validation import check_choice, check_int, check_real
from brianrflo.weights import Weights

from .common import RuleResult, evaluate_open
from .perturbation_reference import VARIANTS

__all__ = ["PerturbationNetwork", "train_node_perturbation"]


class PerturbationNetwork:
    """The rate network learning by node perturbation, compiled by Brian2 (runtime target).

    Parameters
    ----------
    weights
        Initial weights (``b`` is not used: this rule has no error feedback).
    T, block_trials
        Steps per trial; most trials per ``run()``.
    eta
        Learning rates of ``w_out``, ``w_rec``, ``w_in`` (each >= 0).
    variant
        ``'reinforce'`` (trace of the injected noise, paper Eq. 8) or ``'miconi'``
        (trace of ``(u - ubar)^3``, Miconi 2017).
    tau, tau_e, tau_bar
        In steps (>= 1): the units' time constant, the eligibility traces' low-pass filter
        (1 is Eq. 8) and that of the input current's ``ubar``.
    alpha
        Running-average decay of the reward per trial, in [0, 1).
    target
        ``'cython'`` or ``'numpy'``.
    record
        Record ``h``, ``z`` and ``eps`` every step (see :meth:`trace`).
    """

    def __init__(self, weights: Weights, T: int, block_trials: int = 1,
                 eta: tuple[float, float, float] = (0.0, 0.0, 0.0), variant: str = "reinforce",
                 tau: float = 10.0, tau_e: float = 1.0, tau_bar: float = 5.0,
                 alpha: float = 0.9, target: str = "cython", record: bool = False):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        check_choice("target", target, RUNTIME_TARGETS)
        self.T = check_int("T", T, 1)
        self.block_trials = check_int("block_trials", block_trials, 1)
        self.variant, self.target, self.record = variant, target, record
        self.tau = check_real("tau", tau, 1.0)
        self.tau_e = check_real("tau_e", tau_e, 1.0)
        self.tau_bar = check_real("tau_bar", tau_bar, 1.0)
        self.alpha = check_real("alpha", alpha, 0.0, 1.0)
        if self.alpha == 1.0:
            raise ValueError("alpha must be in [0, 1), got 1.0 (R_bar would never move)")
        self.n_hidden, self.n_in, self.n_out = weights.n_hidden, weights.n_in, weights.n_out
        self._weights = weights.copy()
        self._eta = self._check_eta(eta)  # before building: no orphaned Brian2 objects
        self.sim = Simulation(target)
        self._build()
        self.sim.build(self.net, self.block_trials * self.T)
        self.set_weights(weights)
        self.eta = eta

    def _build(self) -> None:
        N, M, K, T = self.n_hidden, self.n_in, self.n_out, self.T
        steps = self.block_trials * T
        a = Assembly({"steps_per_trial": T, "tau_e": self.tau_e * DT, "tau_bar": self.tau_bar,
                      "alpha_R": self.alpha}, T, prefix="np_")
        self.xi_ta = a.timed_array("xi_ta", steps, N)
        self.xi_out_ta = a.timed_array("xi_out_ta", steps, K)
        self.x_ta = a.timed_array("x_ta", steps, M)
        self.target_ta = a.timed_array("target_ta", steps, K)
        self.mask_ta = a.timed_array("mask_ta", steps, K)

        fluct = FLUCTUATION[self.variant]
        hidden = a.group("np_hidden", N, HIDDEN, "hidden units", method="euler")
        hidden.tau = self.tau * DT
        a.every_step(hidden, "noise = xi_ta(t - t_block, i)", "start", 0, "np_hidden_noise",
                     "noise read")
        a.every_step(hidden, FIRST + fluct.format(u="u"), "before_groups", 1, "np_hidden_fluct",
                     "postsynaptic fluctuation")
        a.at_trial_start(hidden, "h = h0", "np_hidden_reset")
        output = a.group("np_output", K, OUTPUT, "output units")
        output.inv_2T = 1.0 / (2 * T)
        a.every_step(output, OUTPUT_ERROR + FIRST + fluct.format(u="z"), "after_groups", 1,
                     "np_output_error", "noisy output, error, loss")
        a.at_trial_start(output, "loss = 0", "np_output_reset")
        reward = a.group("np_reward", 1, REWARD, "reward unit")
        a.every_step(reward, REWARD_UPDATE, "after_groups", 4, "np_reward_update",
                     "reward prediction error at trial ends")

        def traced(source, weight, pre, summed, name, when, title):
            return a.synapses(name, source, hidden if weight != "w_out" else output,
                              synapse_equations(weight, pre, summed), when, 0, title,
                              state=(when, 2))

        rec = traced(hidden, "w_rec", "h", "u_rec", "np_rec", "before_groups",
                     "recurrent synapses")
        out = traced(hidden, "w_out", "h", "y", "np_out", "after_groups", "readout synapses")
        a.synapses("np_reward_in", output, reward, "R_post = -loss_pre : 1 (summed)",
                   "after_groups", 3, "reward from the outputs' loss")
        a.synapses("np_delta_hidden", reward, hidden, "delta_post = delta_pre : 1 (summed)",
                   "after_groups", 5, "neuromodulator broadcast")
        a.synapses("np_delta_output", reward, output, "delta_post = delta_pre : 1 (summed)",
                   "after_groups", 5, "neuromodulator broadcast")
        learners = [(rec, "w_rec"), (out, "w_out")]
        self.inputs = self.inp = None
        if M:
            self.inputs = a.group("np_inputs", M, "x : 1\nt_block : second (shared)", "inputs")
            a.every_step(self.inputs, "x = x_ta(t - t_block, i)", "start", 0, "np_inputs_read",
                         "inputs read")
            self.inp = traced(self.inputs, "w_in", "x", "u_in", "np_inp", "before_groups",
                              "input synapses")
            learners.append((self.inp, "w_in"))
        for syn, name in learners:
            a.at_trial_start(syn, "elig = 0\nE = 0", f"{syn.name}_reset")
            a.every_step(syn, update_code(name), "after_groups", 6, f"{syn.name}_update",
                         f"{name} update")
        self.loss_monitor = a.monitor("np_loss_monitor", output, "loss", "start", 0,
                                      per_trial=True)
        if self.record:
            self.h_monitor = a.monitor("np_h_monitor", hidden, "h", "after_groups", 10)
            self.z_monitor = a.monitor("np_z_monitor", output, ["z", "eps"], "after_groups", 10)
        self.hidden, self.output, self.reward, self.rec, self.out = hidden, output, reward, rec, out
        self.assembly = a
        self.net = a.network()

    # ----------------------------------------------------------------- weights
    @staticmethod
    def _check_eta(eta) -> tuple[float, float, float]:
        if len(eta) != 3:
            raise ValueError(f"eta must be three learning rates (w_out, w_rec, w_in), got {eta!r}")
        e1, e2, e3 = (check_real(f"eta{k + 1}", e, 0.0) for k, e in enumerate(eta))
        return e1, e2, e3

    @property
    def eta(self) -> tuple[float, float, float]:
        """Learning rates of ``w_out``, ``w_rec``, ``w_in``."""
        return self._eta

    @eta.setter
    def eta(self, eta) -> None:
        self._eta = self._check_eta(eta)
        self.out.eta_T = self._eta[0] / self.T
        self.rec.eta_T = self._eta[1] / self.T
        if self.inp is not None:
            self.inp.eta_T = self._eta[2] / self.T

    def set_weights(self, weights: Weights) -> None:
        """Replace the weights (shapes must match)."""
        shape = (weights.n_hidden, weights.n_in, weights.n_out)
        if shape != (self.n_hidden, self.n_in, self.n_out):
            raise ValueError(f"weights have (n_hidden, n_in, n_out) = {shape}, the network has "
                             f"{(self.n_hidden, self.n_in, self.n_out)}")
        self._weights = weights.copy()
        self.rec.w_rec = to_synapses(weights.w_rec)
        self.out.w_out = to_synapses(weights.w_out)
        self.hidden.h0 = weights.h0
        if self.inp is not None:
            self.inp.w_in = to_synapses(weights.w_in)

    def get_weights(self) -> Weights:
        """The current weights (a copy)."""
        N, M, K = self.n_hidden, self.n_in, self.n_out
        return Weights(
            w_in=(from_synapses(self.inp.w_in[:], (N, M)) if self.inp is not None
                  else np.zeros((N, 0))),
            w_rec=from_synapses(self.rec.w_rec[:], (N, N)),
            w_out=from_synapses(self.out.w_out[:], (K, N)),
            b=self._weights.b, h0=self._weights.h0,
        )

    @property
    def r_bar(self) -> float | None:
        """The running average reward, ``None`` before the first trial ended."""
        return float(self.reward.Rbar[0]) if self.reward.started[0] else None

    def eligibility(self) -> dict[str, np.ndarray]:
        """``E`` of each plastic weight, summed over the last trial run."""
        N, M, K = self.n_hidden, self.n_in, self.n_out
        got = {
            "w_rec": from_synapses(self.rec.E[:], (N, N)),
            "w_out": from_synapses(self.out.E[:], (K, N)),
        }
        got["w_in"] = (from_synapses(self.inp.E[:], (N, M)) if self.inp is not None
                       else np.zeros((N, 0)))
        return got

    # --------------------------------------------------------------------- run
    def run_block(self, block: Block, xi: np.ndarray, xi_out: np.ndarray) -> np.ndarray:
        """Run the trials of ``block`` with noise ``xi`` ``(n, T, N)`` and ``xi_out`` ``(n, T, K)``.

        Returns
        -------
        ndarray, shape (n,)
            The (noisy) loss of each trial; the reward is its negative.
        """
        n, T = block.n_trials, self.T
        if (block.x.shape[1], block.x.shape[2], block.target.shape[2]) != (T, self.n_in,
                                                                              self.n_out):
            raise ValueError(f"block does not fit the network (T, n_in, n_out) = "
                             f"{(T, self.n_in, self.n_out)}")
        if n > self.block_trials:
            raise ValueError(f"block has {n} trials, more than block_trials={self.block_trials}")
        if xi.shape != (n, T, self.n_hidden) or xi_out.shape != (n, T, self.n_out):
            raise ValueError(f"xi must be {(n, T, self.n_hidden)} and xi_out {(n, T, self.n_out)}"
                             f", got {xi.shape} and {xi_out.shape}")
        steps = n * T
        args = {self.xi_ta: xi.reshape(steps, -1), self.xi_out_ta: xi_out.reshape(steps, -1),
                self.target_ta: block.target.reshape(steps, -1),
                self.mask_ta: block.mask.reshape(steps, -1)}
        if self.n_in:
            args[self.x_ta] = block.x.reshape(steps, -1)
        for g in (self.hidden, self.output, self.inputs):
            if g is not None:
                args[g, "t_block"] = self.net.t
        before = self.loss_monitor.loss.shape[1]
        if self.record:
            self._record_from = self.h_monitor.h.shape[1]
        self.sim.run(steps, args)
        records = self.loss_monitor.loss[:, before:]
        # Record k (at trial k's start, before the reset) is trial k-1's loss.
        return np.concatenate([records[:, 1:].sum(axis=0), [self.output.loss[:].sum()]])

    def trace(self) -> dict[str, np.ndarray]:
        """``h``, ``z`` (noisy output) and ``eps`` of every step of the last block."""
        if not self.record:
            raise RuntimeError("construct the network with record=True to get traces")
        start = self._record_from
        return {"h": np.array(self.h_monitor.h[:, start:]).T,
                "z": np.array(self.z_monitor.z[:, start:]).T,
                "eps": np.array(self.z_monitor.eps[:, start:]).T}


def train_node_perturbation(
    task: Task,
    weights: Weights,
    trials: int,
    eta: tuple[float, float, float] = (0.1, 0.1, 0.1),
    sigma: float = 0.1,
    sigma_out: float = 0.1,
    variant: str = "reinforce",
    tau: float = 10.0,
    tau_e: float = 1.0,
    tau_bar: float = 5.0,
    alpha: float = 0.9,
    block_trials: int = 100,
    seed: int = 0,
    eval_trials: int = 1,
    p_perturb: float = 1.0,
    target: str = AUTO,
) -> RuleResult:
    """Train by node perturbation in Brian2, one ``run()`` per block; the final loss is
    measured without noise. Parameters not below are :class:`PerturbationNetwork`'s.

    Parameters
    ----------
    sigma, sigma_out
        Standard deviation of the noise into hidden units and outputs (>= 0).
    seed
        Seeds the noise (numpy, per block), the task's trials and Brian2.
    p_perturb
        Probability in (0, 1] that a unit gets a noise kick at a step (else 0): Miconi
        (2017) perturbs sparsely, so that kicks dominate ``u - ubar``.
    target
        A runtime target, or ``'auto'``: numpy for a run shorter than a cold cython
        compile (:func:`~brianrflo.targets.runtime_target`), else cython.
    """
    trials = check_int("trials", trials, 1)
    sigma = check_real("sigma", sigma, 0.0)
    sigma_out = check_real("sigma_out", sigma_out, 0.0)
    p_perturb = check_real("p_perturb", p_perturb, 0.0, 1.0)
    if p_perturb == 0.0:
        raise ValueError("p_perturb must be in (0, 1], got 0.0 (no perturbation, no learning)")
    start = time.perf_counter()
    size = min(check_int("block_trials", block_trials, 1), trials)
    if target == AUTO:
        step = numpy_step_seconds("perturbation", weights.n_hidden)
        target = runtime_target(trials * task.T, step)[0]
    net = PerturbationNetwork(weights, task.T, size, eta, variant, tau, tau_e, tau_bar, alpha,
                              target)
    rng = np.random.default_rng(seed)
    b2.seed(seed)
    losses: list[float] = []
    good, diverged = weights.copy(), None
    while len(losses) < trials:
        n = min(size, trials - len(losses))
        block = task.block(n, rng)
        xi = rng.normal(0.0, sigma, (n, task.T, weights.n_hidden))
        xi_out = rng.normal(0.0, sigma_out, (n, task.T, weights.n_out))
        if p_perturb < 1.0:
            xi *= rng.random(xi.shape) < p_perturb
            xi_out *= rng.random(xi_out.shape) < p_perturb
        block_losses = net.run_block(block, xi, xi_out)
        try:
            current = net.get_weights()  # refuses non-finite weights
        except ValueError:
            current = None
        if current is None or not np.all(np.isfinite(block_losses)):
            diverged = (f"diverged in trials {len(losses) + 1}-{len(losses) + n}; kept the "
                        "weights from before them. Try a smaller eta.")
            break
        good = current
        losses.extend(block_losses)
    trained = good
    return RuleResult(
        rule=f"node perturbation ({variant})", weights=trained, losses=np.array(losses),
        untrained_loss=evaluate_open(weights, task, tau, eval_trials, seed + 1),
        final_loss=evaluate_open(trained, task, tau, eval_trials, seed + 1),
        steps=len(losses) * task.T, wall_time=time.perf_counter() - start, local=True, online=True,
        extra={"sigma": sigma, "sigma_out": sigma_out, "p_perturb": p_perturb,
               "tau_e": net.tau_e, "eta": list(eta), "diverged": diverged},
    )
