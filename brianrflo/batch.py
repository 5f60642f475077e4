"""Many networks trained side by side in numpy: the grid searches behind the figures.

The paper's figures need every rule at 8 learning rates times 9 networks. Stacking
the ``R`` networks' arrays (``w_rec`` becomes ``(R, N, N)``) and stepping them
together costs about as much Python per step as one network, so a grid runs in
the time of a few single runs. The maths is :mod:`brianrflo.reference`'s stacked
functions (whose ``R = 1`` is the single-network reference the Brian2 model is held
to), so each replica ends bit for bit where training it alone ends, in any grouping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from brianrflo.tasks.base import Task

from . import reference as ref
from .analysis import alignment
from .network import update_period
from .pending import LEARNED as NAMES
from .pending import PendingUpdate
from .runfolder import atomic_write
from .sweep_folder import SweepState
from .train import LOCAL_RULES, NUMPY_RULES, RULES, Settings, _blocks, _diverged
from .validation import check_eta, check_real, check_tau
from .weights import Weights

__all__ = ["Replicas", "Sweep", "sweep"]


class Replicas:
    """``R`` networks of one shape (``weights``, one per replica), each with its own rates.

    ``rule``, ``tau``, ``update`` and ``dale`` are :class:`~brianrflo.train.Settings`'s.
    ``eta`` is one ``(eta1, eta2, eta3)`` for all replicas or one per replica; the rule's
    frozen pathways (readout-only, recurrent-only) are set to 0 here.
    """

    # Each weight of Weights.NAMES with a leading replica axis (set in __init__).
    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    b: np.ndarray
    h0: np.ndarray

    def __init__(
        self,
        weights: list[Weights],
        rule: str = "rflo",
        eta=(0.03, 0.03, 0.03),
        tau: float | tuple[float, ...] = 10.0,
        update: str | int = "trial",
        dale: bool = False,
    ):
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        if not weights:
            raise ValueError("weights must hold at least one network")
        self.rule, self.R = rule, len(weights)
        # One value per unit only where given so: a scalar keeps the paper's arithmetic.
        self.tau = (check_real("tau", tau, 1.0) if np.ndim(tau) == 0
                    else check_tau(tau, weights[0].n_hidden))
        self.period = update_period(update)
        if self.period is None and rule in NUMPY_RULES:
            raise ValueError(f"update='online' is not possible with rule={rule!r}")
        if dale and rule not in LOCAL_RULES:
            raise ValueError(f"dale applies to the rules {tuple(LOCAL_RULES)}, not {rule!r}")
        self.dale = dale
        eta = np.broadcast_to(np.asarray(eta, dtype=np.float64), (self.R, 3)).copy()
        for e in eta.ravel():
            check_eta("eta", e)
        feedback, self.readout_feedback, learns = LOCAL_RULES.get(rule, ("", False, (1, 1, 1)))
        self.symmetric = feedback == "symmetric"
        self.eta = eta * np.asarray(learns, dtype=np.float64)
        shape = (weights[0].n_hidden, weights[0].n_in, weights[0].n_out)
        for w in weights:
            if (w.n_hidden, w.n_in, w.n_out) != shape:
                raise ValueError("all replicas must have the same (n_hidden, n_in, n_out)")
        self.N, self.M, self.K = shape
        vars(self).update(vars(ref.stack([w.symmetric() if self.symmetric else w
                                          for w in weights])))
        self.pending = PendingUpdate(self.period, dale, self.symmetric)
        #: Replicas stopped (:meth:`freeze`): their weights no longer change.
        self.stopped = np.zeros(self.R, dtype=bool)

    # ---------------------------------------------------------------- access
    def weights(self, r: int) -> Weights:
        """Replica ``r``'s current weights."""
        return Weights(**{n: getattr(self, n)[r] for n in Weights.NAMES})

    def finite(self) -> np.ndarray:
        """``(R,)`` whether each replica's weights are all finite."""
        return np.all([np.isfinite(getattr(self, n)).reshape(self.R, -1).all(axis=1)
                       for n in Weights.NAMES], axis=0)

    def snapshot(self) -> dict:
        """Copies of the stacked weights, for :meth:`freeze` to go back to."""
        return {n: getattr(self, n).copy() for n in Weights.NAMES}

    def freeze(self, rows: np.ndarray, snapshot: dict) -> None:
        """Stop ``rows`` at their weights in ``snapshot``; they learn no more.

        Their pending updates are dropped: a network stopped by divergence keeps the
        weights it had, as :func:`brianrflo.train.train` does.
        """
        self.stopped[rows] = True
        self.eta[rows] = 0.0
        for n, stacked in snapshot.items():
            getattr(self, n)[rows] = stacked[rows]
        for summed in self.pending.sums.values():
            summed[rows] = 0.0

    # --------------------------------------------------------------- forward
    def forward(self, x: np.ndarray, target: np.ndarray, mask: np.ndarray) -> ref.Trace:
        """One trial per replica without learning, arrays ``(R, T, .)``.

        Returns the stacked :class:`~brianrflo.reference.Trace` (``loss`` ``(R,)``).
        """
        return ref.stacked_forward(self, x, target, mask, self.tau,
                                   readout_feedback=self.readout_feedback)

    # ---------------------------------------------------------------- learn
    def train_trial(self, x: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One trial of learning for every replica; returns the losses ``(R,)``.

        Stopped replicas keep their weights and are not run (their loss is NaN): a row's
        numbers do not depend on the rows beside it (``tests/test_stacked_rows.py``). A
        diverging replica's losses and weights may overflow; the caller judges
        divergence (per block, :func:`sweep`).
        """
        run = ~self.stopped
        w: ref.Stacked = self
        eta = self.eta
        if not run.all():
            w = ref.Stack(*(getattr(self, n)[run] for n in Weights.NAMES))
            x, target, mask, eta = x[run], target[run], mask[run], eta[run]
        with np.errstate(over="ignore", invalid="ignore"):
            if self.rule in LOCAL_RULES:
                dw, trace = ref.stacked_rflo(
                    w, x, target, mask, eta, self.tau, online=self.period is None,
                    dale=self.dale, symmetric=self.symmetric,
                    readout_feedback=self.readout_feedback)
            else:
                grads, trace = self._gradient(w, x, target, mask)
                dw = {n: -eta[:, k, None, None] * grads[n] for k, n in enumerate(NAMES)}
            change = {n: np.zeros_like(getattr(self, n)) for n in NAMES}
            for n in NAMES:
                change[n][run] = dw[n]
            self.pending.add(self, change)
        losses = np.full(self.R, np.nan)
        losses[run] = trace.loss
        return losses

    def _gradient(self, w: ref.Stacked, x, target, mask):
        """BPTT, RTRL or nonlocal RTRL with random feedback, stacked.

        nonlocal-random runs as BPTT's backward pass with ``B`` in place of
        ``w_out.T`` (:func:`brianrflo.reference.bptt_grad`), which equals RTRL's
        sensitivities with feedback ``B`` at ``O(N^2)`` per step.
        """
        if self.rule == "rtrl":
            return ref.stacked_rtrl(w, x, target, mask, self.tau)
        feedback = w.b if self.rule == "nonlocal-random" else None
        return ref.stacked_bptt(w, x, target, mask, self.tau, feedback=feedback)


@dataclass
class Sweep:
    """One rule trained at every (learning rate, seed) pair; row ``r`` is one network.

    Attributes
    ----------
    eta, seed
        ``(R,)`` learning rate (all three pathways) and seed of each network.
    losses
        ``(R, trials)`` training loss per trial (NaN from the block a row diverged in).
    untrained, final
        ``(R,)`` loss on the evaluation trials before and after training
        (``inf`` for a diverged network).
    alignment
        ``(R, len(checkpoints))`` readout/feedback alignment at ``checkpoints`` (trials done).
    """

    rule: str
    eta: np.ndarray
    seed: np.ndarray
    losses: np.ndarray
    untrained: np.ndarray
    final: np.ndarray
    alignment: np.ndarray
    checkpoints: np.ndarray
    diverged: np.ndarray
    wall_time: float
    weights: list[Weights]

    #: The fields that hold one array each (beside ``rule``, ``wall_time``, ``weights``).
    ARRAYS: ClassVar[tuple[str, ...]] = ("eta", "seed", "losses", "untrained", "final",
                                         "alignment", "checkpoints", "diverged")

    def save(self, path: str, **extra: np.ndarray) -> None:
        """Write the sweep, and ``extra`` arrays, to an ``.npz`` file (:meth:`load` reads
        the sweep back)."""
        arrays = {**extra, **{f: getattr(self, f) for f in self.ARRAYS}}
        arrays.update({f"w_{n}": a for n, a in vars(ref.stack(self.weights)).items()})
        # Under a temporary name, then renamed: a kill leaves the old file or the new one.
        atomic_write(path, lambda f: np.savez(f, rule=self.rule, wall_time=self.wall_time,
                                              **arrays))

    @classmethod
    def load(cls, path: str) -> Sweep:
        """Read a sweep written by :meth:`save`."""
        with np.load(path) as f:
            weights = ref.unstack(ref.Stack(*(f[f"w_{n}"] for n in Weights.NAMES)))
            return cls(rule=str(f["rule"]), wall_time=float(f["wall_time"]), weights=weights,
                       **{k: f[k] for k in cls.ARRAYS})

    def etas(self) -> np.ndarray:
        """The distinct learning rates, ascending."""
        return np.unique(self.eta)

    def late(self, fraction: float = 0.1) -> np.ndarray:
        """``(R,)`` mean training loss over the last ``fraction`` of trials (``inf`` if diverged).

        With online updates this is the loss of the learning network, which the
        paper plots; :attr:`final` is that of the frozen weights.
        """
        n = max(1, int(round(self.losses.shape[1] * fraction)))
        with np.errstate(invalid="ignore"):
            late = np.mean(self.losses[:, -n:], axis=1)
        return np.where(self.diverged | ~np.isfinite(late), np.inf, late)

    def select(self, eta: float) -> np.ndarray:
        """Rows trained at ``eta``."""
        return np.flatnonzero(np.isclose(self.eta, eta, rtol=1e-12, atol=0))

    def best_eta(self) -> float:
        """The learning rate with the lowest median final loss (the paper's grid search)."""
        medians = [np.median(self.final[self.select(e)]) for e in self.etas()]
        return float(self.etas()[int(np.argmin(medians))])

    def summary(self) -> list[dict]:
        """Median and 25/75 percentiles of the final loss per learning rate."""
        rows = []
        for e in self.etas():
            f = self.final[self.select(e)]
            q25, q50, q75 = np.percentile(f, [25, 50, 75]) if np.all(np.isfinite(f)) else (
                np.nan, np.median(f), np.nan)
            rows.append({"eta": float(e), "median": float(q50), "p25": float(q25),
                         "p75": float(q75), "diverged": int(np.sum(~np.isfinite(f)))})
        return rows


def sweep(
    task: Task,
    rule: str,
    etas,
    seeds,
    trials: int,
    n_hidden: int = 30,
    tau: float | tuple[float, ...] = 10.0,
    update: str | int = "trial",
    dale: bool = False,
    eval_trials: int = 1,
    explode: float = 100.0,
    checkpoints: int = 20,
    block_trials: int = 100,
    progress: Callable[[str], None] | None = None,
    start: SweepState | None = None,
    on_block: Callable[[SweepState], None] | None = None,
    init: str = "paper",
) -> Sweep:
    """Train ``rule`` at every (eta, seed) pair at once; rows are etas slowest, seeds fastest.

    Row ``r`` equals :func:`~brianrflo.train.train` of that network alone, with
    ``target='reference'``, ``on_diverge='stop'``, ``eta=(e, e, e)`` and the other
    arguments as :class:`~brianrflo.train.Settings` of those names: the same initial
    weights, trials and divergence test after every block. A diverged row keeps the
    weights it had before that block (``final = inf``; losses NaN from that block on;
    alignment at later marks that of the kept weights) while the others go on. Losses
    are evaluated on ``eval_trials`` trials drawn with ``seed + 1``.

    ``on_block`` is given a :class:`~brianrflo.sweep_folder.SweepState` after every
    block; passed back as ``start`` (same arguments, ``trials`` may grow) it continues
    the sweep to the numbers an uninterrupted one gives, bit for bit. Extending a
    sweep is exact when its earlier trial count was a multiple of the block size
    (trials are drawn a block at a time); alignment is then at the earlier sweep's marks
    and this one's after them.
    """
    etas = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    size = _blocks(Settings(rule=rule, trials=trials, update=update, tau=tau,
                            block_trials=block_trials, explode=explode, dale=dale,
                            target="reference", init=init))
    began = time.perf_counter()
    eta_r = np.repeat(etas, len(seeds))
    seed_r = np.tile(seeds, len(etas))
    start_weights = {int(s): Weights.init(n_hidden, task.n_in, task.n_out, seed=int(s),
                                          dale=dale, init=init)
                     for s in seeds}
    net = Replicas([start_weights[int(s)] for s in seed_r], rule, eta_r[:, None] * np.ones(3), tau,
                   update, dale)
    evals = {int(s): task.block(eval_trials, np.random.default_rng(int(s) + 1)) for s in seeds}

    def evaluate() -> np.ndarray:
        out = np.zeros(net.R)
        for k in range(eval_trials):
            parts = [evals[int(s)].trial(k) for s in seed_r]
            x, target, mask = (np.stack(a) for a in zip(*parts, strict=True))
            with np.errstate(over="ignore", invalid="ignore"):
                out += net.forward(x, target, mask).loss
        return out / eval_trials

    rngs = {int(s): np.random.default_rng(int(s)) for s in seeds}
    losses = np.full((net.R, trials), np.nan)
    marks = set(np.unique(np.linspace(0, trials, checkpoints + 1).astype(int)).tolist())
    if start is None:
        untrained = evaluate()
        align = {0: _alignments(net)}
        done, elapsed = 0, 0.0
    else:
        start.check(net.R, trials)
        untrained, done, elapsed = start.untrained.copy(), start.done, start.wall_time
        _restore(net, start, rngs)
        losses[:, :done] = start.losses
        align = {int(m): list(a) for m, a in zip(start.marks, start.alignment.T, strict=True)}
    # As train(): an untrained loss of 0 must not make every trial "diverge".
    limit = explode * np.maximum(untrained, 1e-12)
    while done < trials:
        n = min(size, trials - done)
        blocks = {s: task.block(n, rng) for s, rng in rngs.items()}
        first, good = done, net.snapshot()
        for k in range(n):
            parts = [blocks[int(s)].trial(k) for s in seed_r]
            x, target, mask = (np.stack(a) for a in zip(*parts, strict=True))
            losses[:, done] = net.train_trial(x, target, mask)
            done += 1
            if done in marks:
                align[done] = _alignments(net)
        _stop_diverged(net, losses[:, first:done], limit, good, first)
        losses[net.stopped, first:done] = np.nan
        kept = _alignments(net)  # a row stopped here measures its restored weights
        for m in (m for m in align if first < m <= done):
            align[m] = [kept[r] if net.stopped[r] else a for r, a in enumerate(align[m])]
        wall = elapsed + time.perf_counter() - began
        if on_block is not None:
            on_block(_state(net, done, losses, untrained, align, rngs, wall))
        _say(progress, rule, done, trials, losses[:, first:done], net.stopped)
    final = np.where(net.stopped, np.inf, evaluate())
    measured = sorted(align)
    return Sweep(rule=rule, eta=eta_r, seed=seed_r, losses=losses, untrained=untrained,
                 final=final, alignment=np.array([align[m] for m in measured]).T,
                 checkpoints=np.array(measured), diverged=net.stopped.copy(),
                 wall_time=elapsed + time.perf_counter() - began, weights=ref.unstack(net))


def _say(progress: Callable[[str], None] | None, rule: str, done: int, trials: int,
         block: np.ndarray, stopped: np.ndarray) -> None:
    """The progress line of a block: its median loss (``block``, ``(R, n)``), rows stopped."""
    if progress is not None:
        progress(f"{rule}: trial {done}/{trials}, median loss {np.nanmedian(block):.4g}, "
                 f"{int(stopped.sum())} of {len(stopped)} diverged")


def _stop_diverged(net: Replicas, losses: np.ndarray, limit: np.ndarray, good: dict,
                   first: int) -> None:
    """Stop the rows whose block (trials ``first + 1...``) diverged, as train() judges it."""
    finite = net.finite()
    bad = [r for r in np.flatnonzero(~net.stopped)
           if not finite[r] or _diverged(losses[r], limit[r], first)]
    net.freeze(np.array(bad, dtype=int), good)


def _alignments(net: Replicas) -> list[float]:
    """Each row's alignment (NaN for weights that overflowed, until the block's end)."""
    finite = net.finite()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging row's huge norms
        return [alignment(net.weights(r)) if finite[r] else np.nan for r in range(net.R)]


def _state(net: Replicas, done: int, losses: np.ndarray, untrained: np.ndarray, align: dict,
           rngs: dict, wall_time: float) -> SweepState:
    """The numpy engine's state after ``done`` trials (copies: the sweep goes on)."""
    measured = sorted(align)
    return SweepState(
        done=done, losses=losses[:, :done].copy(), weights=net.snapshot(),
        pending={n: net.pending.sums.get(n, np.zeros_like(getattr(net, n))).copy()
                 for n in NAMES},
        count=net.pending.count,
        stopped=net.stopped.copy(), eta=net.eta.copy(), untrained=untrained.copy(),
        marks=np.array(measured), alignment=np.array([align[m] for m in measured]).T,
        rng={s: rng.bit_generator.state for s, rng in rngs.items()}, wall_time=wall_time,
    )


def _restore(net: Replicas, state: SweepState, rngs: dict) -> None:
    """Put ``net`` and the trial streams where ``state`` left them."""
    for n in Weights.NAMES:
        setattr(net, n, state.weights[n].astype(np.float64, copy=True))
    # An update period that spans blocks leaves summed updates to apply later.
    net.pending.sums = {n: state.pending[n].astype(np.float64, copy=True) if n in state.pending
                        else np.zeros_like(getattr(net, n)) for n in NAMES}
    net.pending.count = state.count
    net.stopped = state.stopped.astype(bool, copy=True)
    net.eta = state.eta.astype(np.float64, copy=True)
    state.restore_rngs(rngs)
