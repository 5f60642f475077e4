"""The spiking (LIF) network and its RFLO/e-prop rule as Brian2 objects.

The maths is in :mod:`brianrflo.models.lif`. As for the rate network
(:class:`~brianrflo.network.BrianNetwork`, whose trial loop, weights, learning-rate,
replica and cpp_standalone handling this class inherits), a block of trials is one
Brian2 ``run()``, and ``R`` replicas are ``R`` independent networks in groups ``R``
times larger. The LIF units use Brian2's own ``threshold``, ``reset`` and
``refractory``; a spike reaches the synapses as the per-step variable ``z`` (1 in
the step the unit fired), summed into ``u_rec`` at the next step. Schedule of one step:

====================  ================================================  =====================
slot (order)          what                                              object
====================  ================================================  =====================
start (0, 1)          record last trial's loss; at trial starts         trial clock
                      reset ``v=v0``, ``z=r=zbar=xbar=p=q=0``,
                      refractoriness, ``loss``, ``y``
start (2)             read ``x(t)``, ``xbar(t)``                        inputs
before_groups (0)     ``u_rec = W z(t-1)``, ``u_in = W_in x(t)``        summed variables
groups                refractoriness, ``v(t)`` (forward Euler)          hidden state updater
before_thresholds     ``psi(t)``, ``z = 0``; then ``p(t)``,             hidden, synapses
(0, 1)                ``q(t)`` (with ``zbar(t-1)``)
thresholds, resets    ``v > v_th``: spike, ``v = v_reset``, ``z=1``     Brian2 threshold/reset
after_resets (0)      ``r(t)``, ``zbar(t)``                             hidden
after_resets (1-3)    ``y = W_out r``; ``eps``, loss; ``fb = B eps``    readout, error, feedback
after_resets (4)      weight updates (+ Dale clip)                      synapses
====================  ================================================  =====================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import brian2 as b2
import numpy as np
from numpy.typing import ArrayLike

from brianrflo.models import lif
from brianrflo.models.lif import LIFModel
from brianrflo.models.rate import ERROR, ERROR_UPDATE, FEEDBACK
from brianrflo.tasks.base import Block

from .network import DT, BrianNetwork, Target
from .weights import Weights, dale_signs

__all__ = ["SpikingNetwork", "spiking_trace"]


class SpikingNetwork(BrianNetwork):
    """LIF hidden units trained with RFLO's local rule, compiled by Brian2.

    The parameters are :class:`~brianrflo.network.BrianNetwork`'s (random feedback only),
    but ``weights.h0`` is the membrane potential ``v0`` at trial start, ``tau`` is ``tau_m``
    (one number >= 1), ``model`` a :class:`~brianrflo.models.lif.LIFModel` and ``record``
    needs one network. Then :meth:`~brianrflo.network.BrianNetwork.trace` gives ``v``,
    ``z``, ``r``, ``psi``, ``y``, ``eps`` per step and :meth:`spikes` the spike times.
    """

    _h0 = "v0"

    def __init__(
        self,
        weights: Weights | Sequence[Weights],
        T: int,
        block_trials: int = 1,
        eta: tuple[float, float, float] = (0.0, 0.0, 0.0),
        update: str | int = "trial",
        tau: ArrayLike = 10.0,
        model: LIFModel | None = None,
        target: Target = "cython",
        directory: str | None = None,
        record: bool = False,
        dale: bool = False,
        threads: int = 1,
    ):
        if record and not isinstance(weights, Weights):
            raise ValueError("record=True needs one network (weights one Weights), got a list "
                             "of replicas")
        model = model or LIFModel()
        if not isinstance(model, LIFModel):
            raise ValueError(f"model must be a LIFModel, got {type(model).__name__}")
        if np.ndim(tau) != 0:
            raise ValueError("tau (the membrane time constant tau_m) must be one number >= 1 "
                             "for the lif model, not one per unit")
        # BrianNetwork's own _build reads a RateModel; this class's _build the LIFModel.
        super().__init__(weights, T, block_trials=block_trials, eta=eta, update=update,
                         tau=tau, model=model,  # type: ignore[arg-type]
                         target=target, directory=directory, record=record, dale=dale,
                         threads=threads)

    def _build(self) -> None:
        R, T = self.R, self.T
        N, M, K = R * self.n_hidden, R * self.n_in, R * self.n_out
        m = cast(LIFModel, self.model)  # __init__ refused any other
        tau_m = float(self.tau[0])
        a = self._assembly({**m.namespace, "tau_m": tau_m * DT, "tau_m_steps": tau_m})

        hidden = a.group("hidden", N, lif.LIF_EQUATIONS, "hidden LIF units", method="euler",
                         threshold=lif.THRESHOLD, reset=lif.RESET,
                         refractory=(m.n_ref + 1) * DT)
        hidden.thresholder["spike"].when = "thresholds"
        hidden.resetter["spike"].when = "resets"
        hidden.dale_sign = np.tile(dale_signs(self.n_hidden), R)
        a.every_step(hidden, lif.PSEUDO_DERIVATIVE, "before_thresholds", 0, "hidden_psi",
                     "pseudo-derivative")
        a.every_step(hidden, lif.FILTERS, "after_resets", 0, "hidden_filters",
                     "filtered spike trains")
        a.at_trial_start(hidden, lif.HIDDEN_RESET, "hidden_reset")
        readout = a.group("readout", K, ERROR, "error units")
        readout.inv_2T = 1.0 / (2 * T)
        a.every_step(readout, ERROR_UPDATE, "after_resets", 2, "readout_error",
                     "error and loss")
        a.at_trial_start(readout, "loss = 0\ny = 0", "readout_reset")

        def traced(name, source, equations, trace, reset, title):
            """Synapses onto the hidden units whose eligibility trace runs every step."""
            syn = a.synapses(name, source, hidden, equations, "before_groups", 0, title)
            a.every_step(syn, trace, "before_thresholds", 1, f"{name}_trace",
                         "eligibility trace")
            a.at_trial_start(syn, reset, f"{name}_reset")
            return syn

        rec = traced("rec", hidden, lif.RECURRENT, lif.TRACE_REC, "p = 0", "recurrent synapses")
        out = a.synapses("out", hidden, readout, lif.READOUT, "after_resets", 1,
                         "readout synapses")
        fb = a.synapses("fb", readout, hidden, FEEDBACK, "after_resets", 3,
                        "error-feedback synapses")
        learners = [(out, "w_out"), (rec, "w_rec")]
        inputs = inp = None
        if M:
            inputs = a.group("inputs", M, lif.INPUTS, "inputs")
            a.every_step(inputs, lif.INPUTS_READ, "start", 2, "inputs_read",
                         "x(t) and its filter")
            a.at_trial_start(inputs, "xbar = 0", "inputs_reset")
            inp = traced("inp", inputs, lif.INPUT, lif.TRACE_IN, "q = 0", "input synapses")
            learners.append((inp, "w_in"))
        for syn, name in learners:
            a.every_step(syn, m.update_code(name, self.dale), "after_resets", 4,
                         f"{syn.name}_update", f"{name} update")

        self.loss_monitor = a.monitor("loss_monitor", readout, "loss", "start", 0,
                                      per_trial=True)
        if self.record:
            self.h_monitor = a.monitor("h_monitor", hidden, ["v", "z", "r", "psi"], "end", 10)
            self.y_monitor = a.monitor("y_monitor", readout, ["y", "eps"], "end", 10)
            self.spike_monitor = b2.SpikeMonitor(hidden, name="spike_monitor")
            a.add(self.spike_monitor)
        self.hidden, self.readout, self.inputs = hidden, readout, inputs
        self.rec, self.out, self.fb, self.inp = rec, out, fb, inp
        self.assembly = a
        self.net = a.network()

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(unit, step)`` of every spike in the last block; steps count from 0 at its start."""
        if not self.record:
            raise RuntimeError("construct the network with record=True to get spikes")
        # A step's record comes at its end: the block began at step _record_from.
        steps = (np.rint(np.array(self.spike_monitor.t[:] / DT)).astype(int)
                 - getattr(self, "_record_from", 0))
        units = np.array(self.spike_monitor.i[:]).astype(int)
        return units[steps >= 0], steps[steps >= 0]


def spiking_trace(weights: Weights, block: Block, tau: float = 10.0,
                  model: LIFModel | None = None, k: int = 0):
    """The numpy reference's :class:`~brianrflo.spiking_reference.SpikeTrace` of trial ``k``."""
    from .spiking_reference import lif_trial

    return lif_trial(weights, *block.trial(k), tau_m=float(tau), model=model)[1]
