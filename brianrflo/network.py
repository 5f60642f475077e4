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
before_groups (1)  ``df/dh``, ``df/du`` (``phi'(u(t))/tau``)     hidden
before_groups (2)  traces ``p(t)``, ``q(t)`` (Eq. 17)            synapse state updaters
groups             ``h(t)`` (Eq. 1, forward Euler)               hidden state updater
after_groups (0)   ``y(t) = W_out h(t)``                         summed variable
after_groups (1)   ``eps(t)``, running loss                      error units
after_groups (2)   ``fb = B eps(t)``                             summed variable
after_groups (3)   weight updates (Eq. 16), applied at the end   synapses
                   of each update period
=================  ============================================  ===================

Rule variants change single objects: symmetric feedback makes ``B`` learn with
the readout's own update (so it stays ``W_out^T`` exactly); readout feedback adds
``u_y = B y(t-1)`` to the currents at before_groups (0), with ``y = 0`` at trial
start; readout-only and recurrent-only learning are learning rates of 0.

Python only acts between blocks.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from typing import Literal

import brian2 as b2
import numpy as np
from brian2 import ms
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import reinit_devices

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

from .validation import check_int, check_real
from .weights import Weights, dale_signs

__all__ = ["BrianNetwork", "TARGETS", "DT", "check_tau", "pre_post", "update_period"]

#: One step of the paper's discrete-time map.
DT = 1 * ms

#: Code-generation targets: Brian2's runtime cython (and numpy, for debugging)
#: and the C++ standalone device.
TARGETS = ("cython", "numpy", "cpp_standalone")

Target = Literal["cython", "numpy", "cpp_standalone"]

# Only one cpp_standalone project can be live in a Brian2 process.
_live_standalone: list[BrianNetwork] = []


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


def check_tau(tau, n_hidden: int) -> np.ndarray:
    """``tau`` in steps as an array of one value per unit, each >= 1."""
    if np.ndim(tau) == 0:
        return np.full(n_hidden, check_real("tau", tau, 1.0))
    arr = np.array(tau, dtype=np.float64)
    if arr.shape != (n_hidden,) or not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(
            f"tau must be a number >= 1 or {n_hidden} finite numbers >= 1 (one per unit), "
            f"got an array of shape {arr.shape}"
        )
    return arr


def pre_post(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """All-to-all ``(i, j)`` for ``Synapses.connect``, in ``W[post, pre].ravel()`` order.

    Synapse ``k = a * n_pre + b`` is ``b -> a``, so a weight matrix maps to the
    synapses by ``W.ravel()`` and back by ``reshape(n_post, n_pre)``.
    """
    return np.tile(np.arange(n_pre), n_post), np.repeat(np.arange(n_post), n_pre)


class BrianNetwork:
    """The rate network with RFLO learning, compiled by Brian2.

    Parameters
    ----------
    weights
        Initial weights; their shapes fix ``N``, ``M`` and ``K``.
    T
        Steps per trial.
    block_trials
        Trials per Brian2 run. With ``cpp_standalone`` every block has exactly
        this many trials (the binary's run length is fixed when it is built).
    eta
        Learning rates ``(eta1, eta2, eta3)`` of ``w_out``, ``w_rec``, ``w_in``.
    update
        ``'online'`` (every step), ``'trial'`` (summed over a trial, divided by
        ``T``) or an integer number of trials per update.
    tau
        Time constant in steps (>= 1): one value, or one per hidden unit. Sets the
        model's ``tau`` parameter (models without one ignore it).
    model
        The hidden units' equations (default: the paper's, ``phi = tanh``).
    target
        ``'cython'`` (runtime), ``'numpy'`` (runtime, slow) or ``'cpp_standalone'``.
    directory
        Project folder for ``cpp_standalone`` (default: a cache folder keyed by
        the network's shape and settings, so rebuilding is cheap).
    record
        Also record ``h``, ``y`` and ``eps`` at every step (see :meth:`trace`).
    dale
        Dale's law: recurrent weights keep the sign of their presynaptic unit
        (:func:`~brianrflo.weights.dale_signs`); updates that would flip a sign leave
        0, clipped in compiled code after every update.
    feedback
        ``'random'``: the error reaches the units through the fixed ``weights.b``
        (RFLO). ``'symmetric'``: through ``W_out^T``, kept equal to the current
        readout (``weights.b`` must start equal to ``weights.w_out.T``).
    readout_feedback
        Feed the readout back into the units as the input current ``u_y = B y(t-1)``
        (readout-only learning, paper Fig. 2 supp. 2). The model's ``u`` must add ``u_y``.
    """

    def __init__(
        self,
        weights: Weights,
        T: int,
        block_trials: int = 1,
        eta: tuple[float, float, float] = (0.0, 0.0, 0.0),
        update: str | int = "trial",
        tau: float | np.ndarray = 10.0,
        model: RateModel | None = None,
        target: Target = "cython",
        directory: str | None = None,
        record: bool = False,
        dale: bool = False,
        feedback: str = "random",
        readout_feedback: bool = False,
    ):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        self.T = check_int("T", T, 1)
        self.block_trials = check_int("block_trials", block_trials, 1)
        self.tau = check_tau(tau, weights.n_hidden)
        self.period = update_period(update)
        if self.period is not None and self.block_trials % self.period:
            raise ValueError(
                f"block_trials ({self.block_trials}) must be a multiple of the "
                f"update period ({self.period} trials)"
            )
        self.update = update
        self.model = model or RateModel()
        if feedback not in FEEDBACKS:
            raise ValueError(f"feedback must be one of {FEEDBACKS}, got {feedback!r}")
        if feedback == "symmetric" and not np.array_equal(weights.b, weights.w_out.T):
            raise ValueError("feedback='symmetric' needs weights.b equal to weights.w_out.T "
                             "(use weights.symmetric())")
        if readout_feedback and not self.model.takes_readout_feedback():
            raise ModelError("readout_feedback needs the model's u to add u_y "
                             "(u = u_rec + u_in + u_y)")
        self.feedback = feedback
        self.readout_feedback = bool(readout_feedback)
        if target == "cpp_standalone" and self.model.stochastic():
            raise ValueError(
                "a noisy model (xi) cannot run on target='cpp_standalone': its binary is "
                "seeded when built, so every block would replay the same noise; use "
                "target='cython'"
            )
        self.target = target
        self.record = record
        self.dale = bool(dale)
        self.n_hidden, self.n_in, self.n_out = weights.n_hidden, weights.n_in, weights.n_out
        self._eta = self._check_eta(eta)
        self._weights = weights.copy()
        self._trials_run = 0
        self._activate(directory)
        self._build()
        if target == "cpp_standalone":
            self.net.run(self.block_trials * self.T * DT, namespace={})
            self._device.build(directory=self.directory, run=False)
        else:
            self.set_weights(weights)
            self.eta = eta

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _check_eta(eta) -> tuple[float, float, float]:
        if len(eta) != 3:
            raise ValueError(f"eta must be three learning rates (eta1, eta2, eta3), got {eta!r}")
        return tuple(check_real(f"eta{k + 1}", e) for k, e in enumerate(eta))

    def _key(self) -> str:
        parts = (self.n_hidden, self.n_in, self.n_out, self.T, self.block_trials,
                 self.period, self.model.equations, sorted(self.model.namespace.items()),
                 self.record, self.tau.tobytes(), self.dale, self.feedback,
                 self.readout_feedback)
        return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]

    def _activate(self, directory: str | None) -> None:
        if self.target == "cpp_standalone":
            for old in _live_standalone:
                old._stale = True
            _live_standalone[:] = [self]
            self.directory = directory or os.path.join(
                tempfile.gettempdir(), "brianrflo_standalone", self._key()
            )
            reinit_devices()
            b2.set_device("cpp_standalone", directory=self.directory, build_on_run=False)
            # Kept: a runtime network made meanwhile switches Brian2's global device.
            self._device = b2.get_device()
        else:
            if isinstance(b2.get_device(), CPPStandaloneDevice):
                b2.set_device("runtime")
            b2.prefs.codegen.target = self.target
        self._stale = False

    def _ensure_live(self) -> None:
        if self._stale:
            raise RuntimeError(
                "this cpp_standalone network was replaced by a newer one; Brian2 runs "
                "one standalone project per process, so build it again"
            )
        if self.target != "cpp_standalone":
            if isinstance(b2.get_device(), CPPStandaloneDevice):
                b2.set_device("runtime")
            b2.prefs.codegen.target = self.target

    def _build(self) -> None:
        N, M, K, T = self.n_hidden, self.n_in, self.n_out, self.T
        steps = self.block_trials * T
        self.x_ta = b2.TimedArray(np.zeros((steps, max(M, 1))), dt=DT, name="x_ta")
        self.target_ta = b2.TimedArray(np.zeros((steps, K)), dt=DT, name="target_ta")
        self.mask_ta = b2.TimedArray(np.zeros((steps, K)), dt=DT, name="mask_ta")
        online = self.period is None
        ns = {
            **self.model.namespace,
            "x_ta": self.x_ta,
            "target_ta": self.target_ta,
            "mask_ta": self.mask_ta,
            "update_period": 1 if online else self.period * T,
            "scale": 1.0 if online else 1.0 / T,
        }
        trial_clock = b2.Clock(dt=T * DT, name="trial_clock")
        objects = []

        def synapses(source, target, eqs, name, when, order):
            syn = b2.Synapses(source, target, eqs, method="euler", name=name, namespace=ns, dt=DT)
            i, j = pre_post(len(source), len(target))
            syn.connect(i=i, j=j)
            for updater in syn.summed_updaters.values():
                updater.when, updater.order = when, order
            objects.append(syn)
            return syn

        hidden = b2.NeuronGroup(
            N, self.model.hidden_equations(), method="euler", name="hidden", namespace=ns, dt=DT
        )
        hidden.dale_sign = dale_signs(N)
        if self.model.has_parameter("tau"):
            hidden.tau = self.tau * DT
        hidden.run_regularly(self.model.hidden_derivative_code(), when="before_groups",
                             order=1, name="hidden_derivatives")
        hidden.run_regularly("h = h0", clock=trial_clock, when="start", order=1,
                             name="hidden_reset")
        readout = b2.NeuronGroup(K, ERROR, name="readout", namespace=ns, dt=DT)
        readout.inv_2T = 1.0 / (2 * T)
        readout.run_regularly(ERROR_UPDATE, when="after_groups", order=1, name="readout_error")
        readout.run_regularly("loss = 0\ny = 0", clock=trial_clock, when="start", order=1,
                              name="readout_reset")
        objects += [hidden, readout]

        rec = synapses(hidden, hidden, RECURRENT, "rec", "before_groups", 0)
        rec.run_regularly("p = 0", clock=trial_clock, when="start", order=1, name="rec_reset")
        out = synapses(hidden, readout, READOUT, "out", "after_groups", 0)
        fb = synapses(readout, hidden, feedback_equations(self.feedback, self.readout_feedback),
                      "fb", "after_groups", 2)
        if self.readout_feedback:  # y(t-1) enters u(t), before the units' update
            fb.summed_updaters["u_y_post"].when = "before_groups"
            fb.summed_updaters["u_y_post"].order = 0
        learners = [(out, "w_out"), (rec, "w_rec")]
        if self.feedback == "symmetric":
            learners.append((fb, "b"))
        inputs = inp = None
        if M:
            inputs = b2.NeuronGroup(M, INPUTS, name="inputs", namespace=ns, dt=DT)
            inputs.run_regularly(INPUTS_READ, when="start", order=0, name="inputs_read")
            objects.append(inputs)
            inp = synapses(inputs, hidden, INPUT, "inp", "before_groups", 0)
            inp.run_regularly("q = 0", clock=trial_clock, when="start", order=1,
                              name="inp_reset")
            learners.append((inp, "w_in"))
        for syn in (rec, inp):
            if syn is not None:
                syn.state_updater.when = "before_groups"
                syn.state_updater.order = 2
        for syn, name in learners:
            syn.run_regularly(self.model.update_code(name, self.dale), when="after_groups", order=3,
                              name=f"{syn.name}_update")

        self.loss_monitor = b2.StateMonitor(
            readout, "loss", record=True, clock=trial_clock, when="start", order=0,
            name="loss_monitor",
        )
        objects.append(self.loss_monitor)
        if self.record:
            self.h_monitor = b2.StateMonitor(hidden, "h", record=True, when="after_groups",
                                             order=10, name="h_monitor")
            self.y_monitor = b2.StateMonitor(readout, ["y", "eps"], record=True,
                                             when="after_groups", order=10, name="y_monitor")
            objects += [self.h_monitor, self.y_monitor]
        self.hidden, self.readout, self.inputs = hidden, readout, inputs
        self.rec, self.out, self.fb, self.inp = rec, out, fb, inp
        self.net = b2.Network(objects)

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> Weights:
        """The current weights as named numpy arrays (a copy)."""
        if self.target == "cpp_standalone":
            return self._weights.copy()
        return self._read_weights()

    def _read_weights(self) -> Weights:
        # Only w_in, w_rec and w_out learn; b and h0 stay as last set.
        N, M, K = self.n_hidden, self.n_in, self.n_out
        return Weights(
            w_in=self.inp.w_in[:].reshape(N, M) if M else np.zeros((N, 0)),
            w_rec=self.rec.w_rec[:].reshape(N, N),
            w_out=self.out.w_out[:].reshape(K, N),
            b=self.fb.b[:].reshape(N, K) if self.feedback == "symmetric" else self._weights.b,
            h0=self._weights.h0,
        )

    def set_weights(self, weights: Weights) -> None:
        """Replace all weights (shapes must match the network)."""
        shape = (weights.n_hidden, weights.n_in, weights.n_out)
        if shape != (self.n_hidden, self.n_in, self.n_out):
            raise ValueError(
                f"weights have (n_hidden, n_in, n_out) = {shape}, the network has "
                f"{(self.n_hidden, self.n_in, self.n_out)}"
            )
        self._weights = weights.copy()
        if self.target == "cpp_standalone":
            return
        self._ensure_live()
        self.rec.w_rec = weights.w_rec.ravel()
        self.out.w_out = weights.w_out.ravel()
        self.fb.b = weights.b.ravel()
        self.hidden.h0 = weights.h0
        if self.inp is not None:
            self.inp.w_in = weights.w_in.ravel()

    @property
    def eta(self) -> tuple[float, float, float]:
        """Learning rates ``(eta1, eta2, eta3)``."""
        return self._eta

    @eta.setter
    def eta(self, eta) -> None:
        self._eta = self._check_eta(eta)
        if self.target != "cpp_standalone":
            self.out.eta, self.rec.eta = self._eta[0], self._eta[1]
            if self.feedback == "symmetric":
                self.fb.eta = self._eta[0]
            if self.inp is not None:
                self.inp.eta = self._eta[2]

    # --------------------------------------------------------------------- run
    def run_block(self, block: Block) -> np.ndarray:
        """Run the trials of ``block`` end to end, learning as set up.

        Returns
        -------
        ndarray, shape (n,)
            The loss of each trial (paper Eq. 2), computed in compiled code.
        """
        self._ensure_live()
        n = block.n_trials
        want = (self.T, self.n_in, self.n_out)
        got = (block.x.shape[1], block.x.shape[2], block.target.shape[2])
        if got != want:
            raise ValueError(f"block has (T, n_in, n_out) = {got}, the network {want}")
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
        x = block.x.reshape(steps, self.n_in)
        target = block.target.reshape(steps, self.n_out)
        mask = block.mask.reshape(steps, self.n_out)
        if self.target == "cpp_standalone":
            losses = self._run_standalone(x, target, mask)
        else:
            losses = self._run_runtime(x, target, mask, steps)
        self._trials_run += n
        return losses

    def _losses(self, records: np.ndarray, last: np.ndarray) -> np.ndarray:
        # The monitor samples at trial starts, before the reset: record k is the
        # loss of trial k-1; the block's last trial is still in `loss`.
        return np.concatenate([records[:, 1:].sum(axis=0), [last.sum()]])

    def _run_runtime(self, x, target, mask, steps) -> np.ndarray:
        if self.n_in:
            self.x_ta.values[:steps] = x
        self.target_ta.values[:steps] = target
        self.mask_ta.values[:steps] = mask
        t0 = self.net.t
        self.readout.t_block = t0
        if self.inputs is not None:
            self.inputs.t_block = t0
        before = self.loss_monitor.loss.shape[1]
        if self.record:
            self._record_from = self.h_monitor.h.shape[1]
        self.net.run(steps * DT, namespace={})
        records = self.loss_monitor.loss[:, before:]
        return self._losses(records, self.readout.loss[:])

    def _run_standalone(self, x, target, mask) -> np.ndarray:
        w = self._weights
        args = {
            self.rec.w_rec: w.w_rec.ravel(),
            self.out.w_out: w.w_out.ravel(),
            self.fb.b: w.b.ravel(),
            self.hidden.h0: w.h0,
            self.out.eta: self._eta[0],
            self.rec.eta: self._eta[1],
            self.target_ta: target,
            self.mask_ta: mask,
        }
        if self.feedback == "symmetric":
            args[self.fb.eta] = self._eta[0]
        if self.inp is not None:
            args.update({self.inp.w_in: w.w_in.ravel(), self.inp.eta: self._eta[2],
                         self.x_ta: x})
        self._device.run(directory=self.directory, with_output=False, run_args=args)
        for fname in glob.glob(os.path.join(self.directory, "static_arrays", "init_*")):
            os.remove(fname)
        self._weights = self._read_weights()
        return self._losses(self.loss_monitor.loss[:], self.readout.loss[:])

    def trace(self) -> dict[str, np.ndarray]:
        """``h``, ``y``, ``eps`` at every step of the last block, shape ``(steps, .)``.

        Needs ``record=True``. Row ``s`` holds ``h(t)`` after the step's update.
        """
        if not self.record:
            raise RuntimeError("construct the network with record=True to get traces")
        start = getattr(self, "_record_from", 0)
        return {
            "h": np.array(self.h_monitor.h[:, start:]).T,
            "y": np.array(self.y_monitor.y[:, start:]).T,
            "eps": np.array(self.y_monitor.eps[:, start:]).T,
        }
