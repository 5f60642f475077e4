"""The rate network and its RFLO rule as Brian2 objects, run a block of trials at a time.

A block of ``n`` trials of ``T`` steps is one Brian2 ``run()`` of ``n*T`` steps.
Inputs, targets and masks are TimedArrays laid end to end. Everything that
happens inside a trial or at a trial boundary is compiled code:

=================  ============================================  ===================
slot (order)       what                                          object
=================  ============================================  ===================
start (0, 1)       read ``x(t)``; at trial starts record the     inputs, trial clock
                   last trial's loss, then reset ``h=h0``,
                   ``p=q=0``, ``loss=0``
before_groups (0)  ``u_rec = W h(t-1)``, ``u_in = W_in x(t)``    summed variables
before_groups (1)  ``phi(u(t))``, ``df/dh``, ``df/du``           hidden
                   (``phi'(u(t))/tau``), ``h_prev = h(t-1)``
groups             ``h(t)`` (Eq. 1, forward Euler; a noisy       hidden state updater
                   model reads the block's noise draws)
after_groups (0)   ``y(t) = W_out h(t)``                         summed variable
after_groups (1)   ``eps(t)``, running loss                      error units
after_groups (2)   ``fb = B eps(t)``                             summed variable
after_groups (3)   traces ``p(t)``, ``q(t)`` (Eq. 17), then      synapses
                   weight updates (Eq. 16), applied at the end
                   of each update period
=================  ============================================  ===================

Replicas: ``R`` independent networks (own weights, traces, learning rates and
losses) can share one Brian2 network: every group is ``R`` times larger and the
synapses connect only units of the same replica, so a grid of seeds and learning
rates runs in one compiled loop.

Rule variants change single objects: symmetric feedback makes ``B`` learn with
the readout's own update (so it stays ``W_out^T`` exactly); readout feedback adds
``u_y = B y(t-1)`` to the currents at before_groups (0), with ``y = 0`` at trial
start; readout-only and recurrent-only learning are learning rates of 0.

Python only acts between blocks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from brianrflo.models.rate import (
    ERROR,
    ERROR_UPDATE,
    FEEDBACKS,
    INPUT,
    INPUTS,
    INPUTS_READ,
    READOUT,
    RECURRENT,
    ModelError,
    RateModel,
    feedback_equations,
)
from brianrflo.tasks.base import Block

from .assembly import (
    DT,
    TARGETS,
    Assembly,
    Simulation,
    from_synapses,
    pre_post,
    standalone_folder,
    to_synapses,
)
from .validation import check_eta, check_int, check_tau
from .weights import Weights, dale_signs

__all__ = ["BrianNetwork", "describe", "TARGETS", "DT", "pre_post", "to_synapses",
           "from_synapses", "update_period"]

Target = Literal["cython", "numpy", "cpp_standalone"]


def update_period(update: str | int) -> int | None:
    """Trials per weight update: ``None`` for ``'online'``, else an int >= 1.

    ``'trial'`` is 1 (paper Eq. 15); an integer ``n`` sums ``n`` trials' updates
    (paper Fig. 3 uses 10).
    """
    if update == "online":
        return None
    if update == "trial":
        return 1
    if isinstance(update, str) and update.isdigit():
        update = int(update)
    if isinstance(update, str):
        raise ValueError(
            f"update must be 'online', 'trial' or a number of trials >= 1, got {update!r}"
        )
    return check_int("update", update, 1)


class BrianNetwork:
    """The rate network with RFLO learning, compiled by Brian2.

    Parameters
    ----------
    weights
        Initial weights; their shapes fix ``N``, ``M``, ``K``. A list of ``R`` of one shape
        makes ``R`` replicas, independent networks simulated together (``eta`` may then be
        ``(R, 3)``; losses, weights and rates come per replica).
    T, block_trials
        Steps per trial; trials per Brian2 run (on ``cpp_standalone``, exactly this many).
    eta
        Learning rates ``(eta1, eta2, eta3)`` of ``w_out``, ``w_rec``, ``w_in``.
    update
        ``'online'`` (every step), ``'trial'`` (summed over a trial, divided by ``T``) or
        an integer number of trials per update.
    tau
        Time constant in steps (>= 1), one or one per unit: the model's ``tau``, if it has one.
    model
        The hidden units' equations (default: the paper's, ``phi = tanh``).
    target
        ``'cython'``, ``'numpy'`` (runtime, slow) or ``'cpp_standalone'``.
    directory
        ``cpp_standalone`` project folder (default: a cache folder keyed by the network).
    record
        Also record every step (see :meth:`trace`).
    dale
        Dale's law (:func:`~brianrflo.weights.dale_signs`): an update that would flip a
        recurrent weight's sign leaves 0 (clipped in compiled code).
    feedback
        ``'random'``: the error reaches the units through the fixed ``weights.b`` (RFLO);
        ``'symmetric'``: through ``W_out^T``, which follows the readout (``weights.b`` must
        start as ``w_out.T``).
    readout_feedback
        Feed the readout back as the current ``u_y = B y(t-1)`` (paper Fig. 2 supp. 2);
        the model's ``u`` must add ``u_y``.
    threads
        OpenMP threads of a ``cpp_standalone`` network (1: none).
    """

    #: The hidden units' variable that holds ``weights.h0`` (the state at trial start).
    _h0 = "h0"

    def __init__(
        self,
        weights: Weights | Sequence[Weights],
        T: int,
        block_trials: int = 1,
        eta: tuple[float, float, float] = (0.0, 0.0, 0.0),
        update: str | int = "trial",
        tau: ArrayLike = 10.0,
        model: RateModel | None = None,
        target: Target = "cython",
        directory: str | None = None,
        record: bool = False,
        dale: bool = False,
        feedback: str = "random",
        readout_feedback: bool = False,
        threads: int = 1,
    ):
        self._single = isinstance(weights, Weights)
        replicas = [weights] if isinstance(weights, Weights) else list(weights)
        if not replicas or not all(isinstance(w, Weights) for w in replicas):
            raise ValueError("weights must be a Weights or a non-empty list of Weights")
        first = replicas[0]

        def shape(w):
            return w.n_hidden, w.n_in, w.n_out

        if any(shape(w) != shape(first) for w in replicas):
            raise ValueError("all replicas' weights must have one shape (n_hidden, n_in, n_out)")
        self.R = len(replicas)
        self.T = check_int("T", T, 1)
        self.block_trials = check_int("block_trials", block_trials, 1)
        self.tau = check_tau(tau, first.n_hidden)
        self.period = update_period(update)
        if self.period is not None and self.block_trials % self.period:
            raise ValueError(
                f"block_trials ({self.block_trials}) must be a multiple of the "
                f"update period ({self.period} trials)"
            )
        self.update = update
        self.model = model or RateModel()
        self._params = (self.model.parameter_values(first.n_hidden)
                        if isinstance(self.model, RateModel) else {})
        if feedback not in FEEDBACKS:
            raise ValueError(f"feedback must be one of {FEEDBACKS}, got {feedback!r}")
        if feedback == "symmetric" and not all(np.array_equal(w.b, w.w_out.T)
                                               for w in replicas):
            raise ValueError("feedback='symmetric' needs weights.b equal to weights.w_out.T "
                             "(use weights.symmetric())")
        if readout_feedback and not self.model.takes_readout_feedback():
            raise ModelError("readout_feedback needs the model's u to add u_y "
                             "(u = u_rec + u_in + u_y)")
        self.feedback = feedback
        self.readout_feedback = bool(readout_feedback)
        self.target = target
        self.threads = check_int("threads", threads, 1)
        if threads > 1 and target != "cpp_standalone":
            raise ValueError(f"threads > 1 needs target='cpp_standalone', got {target!r}")
        self.record = record
        self.dale = bool(dale)
        self.n_hidden, self.n_in, self.n_out = first.n_hidden, first.n_in, first.n_out
        self._eta = self._check_eta(eta)
        self._replicas = [w.copy() for w in replicas]
        self._finite = [True] * self.R
        self._trials_run = 0
        self.noise_ta = None  # the block's noise draws, for a noisy model (_build)
        self.sim = Simulation(target, directory or standalone_folder(self._key()), self.threads)
        self._build()
        self.sim.build(self.net, self.block_trials * self.T)
        if target != "cpp_standalone":  # a standalone binary takes them with every block
            self.set_weights(replicas[0] if self._single else replicas)
            self.eta = eta

    # ------------------------------------------------------------------ set-up
    def _check_eta(self, eta) -> np.ndarray:
        """``(R, 3)`` learning rates from one triple or one triple per replica."""
        arr = np.asarray(eta, dtype=object)
        if arr.shape not in ((3,), (self.R, 3)):
            raise ValueError(f"eta must be three learning rates (eta1, eta2, eta3) or {self.R} "
                             f"such triples (one per replica), got shape {arr.shape}")
        rows = arr.reshape(-1, 3)
        checked = [[check_eta(f"eta{k + 1}", e) for k, e in enumerate(row)] for row in rows]
        return np.broadcast_to(np.array(checked, dtype=np.float64), (self.R, 3)).copy()

    def _per_unit(self, values, n: int) -> np.ndarray:
        """One value per replica, repeated over that replica's ``n`` units."""
        return np.repeat(np.asarray(values, dtype=np.float64), n)

    def _key(self) -> str:
        parts: tuple = (self.R, self.threads, self.n_hidden, self.n_in, self.n_out, self.T,
                 self.block_trials,
                 self.period, self.model.equations, sorted(self.model.namespace.items()),
                 self.record, self.tau.tobytes(), self.dale, self.feedback,
                 self.readout_feedback)
        params = getattr(self.model, "params", {})
        if params:  # baked into a standalone binary; unset, the keys stay as they were
            parts += (sorted(params.items()),)
        return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]

    @property
    def directory(self) -> str | None:
        """The cpp_standalone project folder (``None`` on the runtime targets)."""
        return self.sim.directory

    def _assembly(self, namespace: dict) -> Assembly:
        """What every model's network shares: TimedArrays, update constants, trial clock."""
        R, T = self.R, self.T
        steps = self.block_trials * T
        period = self.period
        a = Assembly({**namespace, "update_steps": 1 if period is None else period * T,
                      "scale": 1.0 if period is None else 1.0 / T}, T, replicas=R)
        self.x_ta = a.timed_array("x_ta", steps, R * self.n_in)
        self.target_ta = a.timed_array("target_ta", steps, R * self.n_out)
        self.mask_ta = a.timed_array("mask_ta", steps, R * self.n_out)
        return a

    def _build(self) -> None:
        R, T = self.R, self.T
        N, M, K = R * self.n_hidden, R * self.n_in, R * self.n_out
        a = self._assembly(self.model.namespace)
        terms = len(self.model.noise_terms())
        if terms:
            self.noise_ta = a.timed_array(
                "noise_ta", self.block_trials * T, terms * N,
                about="standard normals from numpy's default_rng(the block's noise seed); "
                      f"column i + k*N: unit i, noise symbol k of {list(self.model.noise_terms())}")

        hidden = a.group("hidden", N, self.model.hidden_equations(), "hidden units",
                         method="euler")
        hidden.dale_sign = np.tile(dale_signs(self.n_hidden), R)
        if self.model.has_parameter("tau"):
            hidden.tau = np.tile(self.tau, R) * DT
        for name, value in self._params.items():  # the model's own parameters
            setattr(hidden, name, np.tile(value, R) if np.ndim(value) else value)
        a.every_step(hidden, self.model.hidden_derivative_code(), "before_groups", 1,
                     "hidden_derivatives", "phi, df/dh, df/du and h(t-1)")
        a.at_trial_start(hidden, "h = h0", "hidden_reset")
        readout = a.group("readout", K, ERROR, "error units")
        readout.inv_2T = 1.0 / (2 * T)
        a.every_step(readout, ERROR_UPDATE, "after_groups", 1, "readout_error",
                     "error and loss")
        a.at_trial_start(readout, "loss = 0\ny = 0", "readout_reset")

        rec = a.synapses("rec", hidden, hidden, RECURRENT, "before_groups", 0,
                         "recurrent synapses")
        a.at_trial_start(rec, "p = 0", "rec_reset")
        out = a.synapses("out", hidden, readout, READOUT, "after_groups", 0, "readout synapses")
        # With readout feedback, y(t-1) enters u(t) before the units' update.
        fb = a.synapses("fb", readout, hidden,
                        feedback_equations(self.feedback, self.readout_feedback),
                        "after_groups", 2, "error-feedback synapses",
                        summed={"u_y_post": ("before_groups", 0)}
                        if self.readout_feedback else None)
        learners = [(out, "w_out"), (rec, "w_rec")]
        if self.feedback == "symmetric":
            learners.append((fb, "b"))
        inputs = inp = None
        if M:
            inputs = a.group("inputs", M, INPUTS, "inputs")
            a.every_step(inputs, INPUTS_READ, "start", 0, "inputs_read", "x(t)")
            inp = a.synapses("inp", inputs, hidden, INPUT, "before_groups", 0, "input synapses")
            a.at_trial_start(inp, "q = 0", "inp_reset")
            learners.append((inp, "w_in"))
        for syn, name in learners:
            a.every_step(syn, self.model.update_code(name, self.dale), "after_groups", 3,
                         f"{syn.name}_update", f"trace and {name} update")

        self.loss_monitor = a.monitor("loss_monitor", readout, "loss", "start", 0,
                                      per_trial=True)
        if self.record:
            self.h_monitor = a.monitor("h_monitor", hidden, "h", "after_groups", 10)
            self.y_monitor = a.monitor("y_monitor", readout, ["y", "eps"], "after_groups", 10)
        self.hidden, self.readout, self.inputs = hidden, readout, inputs
        self.rec, self.out, self.fb, self.inp = rec, out, fb, inp
        self.assembly = a
        self.net = a.network()

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> Weights | list[Weights]:
        """The current weights as named numpy arrays (a copy; a list for replicas).

        Raises ``ValueError`` if a weight is no longer finite (the run diverged).
        """
        replicas = self.replica_weights()
        good = [w for w in replicas if w is not None]
        if len(good) < len(replicas):
            bad = [r for r, w in enumerate(replicas) if w is None]
            raise ValueError(f"weights of replica(s) {bad} are no longer finite")
        return good[0] if self._single else good

    def replica_weights(self) -> list[Weights | None]:
        """Each replica's current weights (a copy), ``None`` where they are not finite."""
        if self.target == "cpp_standalone":
            return [w.copy() if ok else None
                    for w, ok in zip(self._replicas, self._finite, strict=True)]
        return self._read_weights()

    def _read_weights(self) -> list[Weights | None]:
        # Only w_in, w_rec and w_out learn; b and h0 stay as last set.
        R, N, M, K = self.R, self.n_hidden, self.n_in, self.n_out
        w_in = (from_synapses(self.inp.w_in[:], (R, N, M)) if self.inp is not None
                else np.zeros((R, N, 0)))
        w_rec = from_synapses(self.rec.w_rec[:], (R, N, N))
        w_out = from_synapses(self.out.w_out[:], (R, K, N))
        b = from_synapses(self.fb.b[:], (R, N, K)) if self.feedback == "symmetric" else None
        out: list[Weights | None] = []
        for r in range(R):
            try:
                out.append(Weights(w_in=w_in[r], w_rec=w_rec[r], w_out=w_out[r],
                                   b=self._replicas[r].b if b is None else b[r],
                                   h0=self._replicas[r].h0))
            except ValueError:  # not finite: this replica diverged
                out.append(None)
        return out

    def set_weights(self, weights: Weights | Sequence[Weights]) -> None:
        """Replace all weights (shapes must match the network; a list for replicas)."""
        replicas = [weights] if isinstance(weights, Weights) else list(weights)
        if len(replicas) != self.R:
            raise ValueError(f"the network has {self.R} replicas, got {len(replicas)} weights")
        for w in replicas:
            shape = (w.n_hidden, w.n_in, w.n_out)
            if shape != (self.n_hidden, self.n_in, self.n_out):
                raise ValueError(
                    f"weights have (n_hidden, n_in, n_out) = {shape}, the network has "
                    f"{(self.n_hidden, self.n_in, self.n_out)}"
                )
        self._replicas = [w.copy() for w in replicas]
        self._finite = [True] * self.R
        if self.target == "cpp_standalone":
            return
        self.sim.activate()
        for (group, name), value in self._weight_values().items():
            setattr(group, name, value)

    def restart(self, weights: Weights | Sequence[Weights], eta) -> None:
        """Continue from ``weights`` at ``eta`` exactly as a newly built network would.

        Setting the weights alone is not enough after a diverged block: its
        non-finite state (pending changes ``dw``, traces, ``h``) would carry on.
        A ``cpp_standalone`` binary starts every block from its initial state anyway.
        """
        self.sim.restart()
        self.set_weights(weights)
        self.eta = eta

    def _weight_values(self) -> dict:
        """Each weight variable and its values, replicas laid end to end."""
        def cat(name):
            return to_synapses(np.stack([getattr(w, name) for w in self._replicas]))

        values = {(self.rec, "w_rec"): cat("w_rec"), (self.out, "w_out"): cat("w_out"),
                  (self.fb, "b"): cat("b"),
                  (self.hidden, self._h0): np.concatenate([w.h0 for w in self._replicas])}
        if self.inp is not None:
            values[self.inp, "w_in"] = cat("w_in")
        return values

    def _eta_values(self) -> dict:
        """Each learning-rate variable and its values: one per postsynaptic unit
        (:data:`~brianrflo.models.rate.ETAS`)."""
        N, K = self.n_hidden, self.n_out
        e = self._eta
        values = {(self.readout, "eta_out"): self._per_unit(e[:, 0], K),
                  (self.hidden, "eta_rec"): self._per_unit(e[:, 1], N)}
        if self.inp is not None:
            values[self.hidden, "eta_in"] = self._per_unit(e[:, 2], N)
        return values

    @property
    def eta(self) -> tuple[float, float, float] | np.ndarray:
        """Learning rates ``(eta1, eta2, eta3)``; an ``(R, 3)`` array for replicas."""
        if self._single:
            e1, e2, e3 = (float(e) for e in self._eta[0])
            return e1, e2, e3
        return self._eta.copy()

    @eta.setter
    def eta(self, eta) -> None:
        self._eta = self._check_eta(eta)
        if self.target != "cpp_standalone":
            for (group, name), value in self._eta_values().items():
                setattr(group, name, value)

    # --------------------------------------------------------------------- run
    def run_block(self, block: Block | Sequence[Block],
                  noise_seed: int | Sequence[int] | None = None) -> np.ndarray:
        """Run the trials of ``block`` (or one block per replica) end to end, learning as set up.

        ``noise_seed`` seeds a noisy model's noise in this block: one seed (>= 0), or one per
        replica. Numpy draws it (``np.random.default_rng(seed)``), so a seed gives the same
        noise on every target and a replica the noise it would get alone; ``None`` takes a
        seed from numpy's global state (which ``brian2.seed()`` sets).

        Returns
        -------
        ndarray, shape (n,), or (R, n) for replicas
            The loss of each trial (paper Eq. 2), computed in compiled code.
        """
        self.sim.activate()
        blocks = [block] * self.R if isinstance(block, Block) else list(block)
        if len(blocks) != self.R:
            raise ValueError(f"the network has {self.R} replicas, got {len(blocks)} blocks")
        n = blocks[0].n_trials
        want = (n, self.T, self.n_in, self.n_out)
        for blk in blocks:
            got = (blk.n_trials, blk.x.shape[1], blk.x.shape[2], blk.target.shape[2])
            if got != want:
                raise ValueError(f"block has (n, T, n_in, n_out) = {got}, the network and "
                                 f"the first block {want}")
        if self.target == "cpp_standalone" and n != self.block_trials:
            raise ValueError(
                f"a cpp_standalone network runs blocks of exactly {self.block_trials} trials, "
                f"got {n}"
            )
        if n > self.block_trials:
            raise ValueError(f"block has {n} trials, more than block_trials={self.block_trials}")
        if self.period is not None and n % self.period:
            raise ValueError(f"block has {n} trials, not a multiple of update={self.period}")
        steps = n * self.T

        def lay_out(name, width):  # (steps, R * width): replica r in columns r*width...
            return np.concatenate([getattr(blk, name).reshape(steps, width) for blk in blocks],
                                  axis=1)

        x = lay_out("x", self.n_in)
        target, mask = lay_out("target", self.n_out), lay_out("mask", self.n_out)
        if self.noise_ta is not None:
            self._noise = self._draw_noise(steps, noise_seed)
        if self.target == "cpp_standalone":
            losses = self._run_standalone(x, target, mask)
        else:
            losses = self._run_runtime(x, target, mask, steps)
        self._trials_run += n
        return losses[0] if self._single else losses

    def _noise_seeds(self, noise_seed) -> list[int]:
        if noise_seed is None:
            return [int(np.random.randint(0, 2**63 - 1, dtype=np.int64))] * self.R
        if np.ndim(noise_seed) == 0:
            return [check_int("noise_seed", noise_seed, 0)] * self.R
        seeds = list(noise_seed)
        if len(seeds) != self.R:
            raise ValueError(f"noise_seed must be one seed or a list of one seed per replica "
                             f"({self.R}), got {len(seeds)} seeds")
        return [check_int("noise_seed", s, 0) for s in seeds]

    def _draw_noise(self, steps: int, noise_seed) -> np.ndarray:
        """``noise_ta``'s values for a block: ``(steps, terms * R * N)`` standard normals.

        Replica ``r``'s draws come from its own generator, shaped as for one network,
        so they do not depend on the other replicas.
        """
        terms = len(self.model.noise_terms())
        draws = [np.random.default_rng(seed).standard_normal((steps, terms, self.n_hidden))
                 for seed in self._noise_seeds(noise_seed)]
        # Column i + k * (R * N) (the group's N) is unit i's draw of noise symbol k,
        # as the hidden units read it (models/rate.py, NOISE_READ).
        return np.stack(draws, axis=2).reshape(steps, -1)

    def _losses(self, records: np.ndarray, last: np.ndarray) -> np.ndarray:
        # The monitor samples at trial starts, before the reset: record k is the
        # loss of trial k-1; the block's last trial is still in `loss`.
        per_unit = np.concatenate([records[:, 1:], last[:, None]], axis=1)
        return per_unit.reshape(self.R, -1, per_unit.shape[1]).sum(axis=1)

    def _block_args(self, x, target, mask) -> dict:
        """The block's inputs, targets, masks and noise, as :meth:`Simulation.run` takes them."""
        args = {self.target_ta: target, self.mask_ta: mask}
        if self.inp is not None:
            args[self.x_ta] = x
        if self.noise_ta is not None:
            args[self.noise_ta] = self._noise
        return args

    def _run_runtime(self, x, target, mask, steps) -> np.ndarray:
        args = self._block_args(x, target, mask)
        for group in (self.readout, self.inputs, self.hidden):
            if group is not None and "t_block" in group.variables:
                args[group, "t_block"] = self.net.t
        before = self.loss_monitor.loss.shape[1]
        if self.record:  # where this block's records start: one per step so far
            self._record_from = len(self.h_monitor.t)
        self.sim.run(steps, args)
        records = self.loss_monitor.loss[:, before:]
        return self._losses(records, self.readout.loss[:])

    def _run_standalone(self, x, target, mask) -> np.ndarray:
        # Every run of the binary starts from its initial state: the weights and
        # rates go in with the block.
        args = {**self._weight_values(), **self._eta_values(),
                **self._block_args(x, target, mask)}
        self.sim.run(self.block_trials * self.T, args)
        read = self._read_weights()
        self._finite = [w is not None for w in read]
        self._replicas = [old if w is None else w
                          for w, old in zip(read, self._replicas, strict=True)]
        return self._losses(self.loss_monitor.loss[:], self.readout.loss[:])

    def trace(self) -> dict[str, np.ndarray]:
        """Each recorded variable at every step of the last block, shape ``(steps, .)``.

        Needs ``record=True``. Row ``s`` holds the values at the end of step ``s``: ``h``,
        ``y``, ``eps`` (:class:`~brianrflo.spiking.SpikingNetwork`: ``v`` after any reset,
        ``z``, ``r``, ``psi``, ``y``, ``eps``).
        """
        if not self.record:
            raise RuntimeError("construct the network with record=True to get traces")
        start = getattr(self, "_record_from", 0)
        return {k: np.array(getattr(mon, k)[:, start:]).T
                for mon in (self.h_monitor, self.y_monitor) for k in mon.record_variables}


def describe(model=None, feedback: str = "random", readout_feedback: bool = False) -> str:
    """What :class:`BrianNetwork` builds for ``model`` and a rule variant, object by
    object in the order Brian2 runs it (``brianrflo show-equations``).

    The text comes from the assembler that builds every network
    (:meth:`brianrflo.assembly.Assembly.show`), here of a network of two units,
    which is built but neither compiled nor run.
    """
    from brianrflo.models import LIFModel

    weights = Weights.init(2, 1, 1, seed=0)
    if feedback == "symmetric":
        weights = weights.symmetric()
    if isinstance(model, LIFModel):
        if feedback != "random" or readout_feedback:
            raise ValueError("the lif model supports only the rule 'rflo' (random feedback)")
        from .spiking import SpikingNetwork

        net: BrianNetwork = SpikingNetwork(weights, 2, model=model, target="numpy")
    else:
        net = BrianNetwork(weights, 2, model=model, target="numpy", feedback=feedback,
                           readout_feedback=readout_feedback)
    # Built to be shown, never run: not the "object never included in a network"
    # that Brian2 warns about when these are collected.
    for obj in net.net.objects:
        for part in (obj, *obj.contained_objects):
            part._network = net.net.id
    return net.assembly.show()
