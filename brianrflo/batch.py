"""Many networks trained side by side in numpy: the grid searches behind the figures.

The paper's figures need every rule at 8 learning rates times 9 networks. Stacking
the ``R`` networks' arrays (``w_rec`` becomes ``(R, N, N)``) and stepping them
together costs about as much Python per step as one network, so a grid runs in
the time of a few single runs. The maths is :mod:`brianrflo.reference`'s (and so
the Brian2 model's, which the equivalence tests hold to it); a test checks that
each replica ends exactly where training it alone ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from brianrflo.tasks.base import Task

from .analysis import alignment
from .network import update_period
from .runfolder import atomic_write
from .sweep_folder import SweepState
from .train import LOCAL_RULES, NUMPY_RULES, RULES, Settings, _blocks, _diverged
from .validation import check_real
from .weights import Weights, dale_signs

__all__ = ["Replicas", "Sweep", "sweep"]

NAMES = ("w_out", "w_rec", "w_in")


def _mv(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched matrix-vector product: ``(R, I, J) @ (R, J) -> (R, I)``."""
    return np.matmul(a, v[:, :, None])[:, :, 0]


class Replicas:
    """``R`` networks of one shape, each with its own weights and learning rates.

    Parameters
    ----------
    weights
        One :class:`~brianrflo.weights.Weights` per replica (same shapes).
    rule
        A rule of :data:`brianrflo.train.RULES`.
    eta
        Learning rates ``(eta1, eta2, eta3)``: one triple for all, or one per replica.
        The rule's frozen pathways (readout-only, recurrent-only) are set to 0 here.
    tau
        Time constant in steps.
    update
        ``'online'`` (local rules only), ``'trial'`` or a number of trials per update.
    dale
        Dale's law on ``w_rec`` (local rules), clipped after every update.
    """

    def __init__(
        self,
        weights: list[Weights],
        rule: str = "rflo",
        eta=(0.03, 0.03, 0.03),
        tau: float = 10.0,
        update: str | int = "trial",
        dale: bool = False,
    ):
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        if not weights:
            raise ValueError("weights must hold at least one network")
        self.rule, self.R = rule, len(weights)
        self.tau = check_real("tau", tau, 1.0)
        self.period = update_period(update)
        if self.period is None and rule in NUMPY_RULES:
            raise ValueError(f"update='online' is not possible with rule={rule!r}")
        if dale and rule not in LOCAL_RULES:
            raise ValueError(f"dale applies to the rules {tuple(LOCAL_RULES)}, not {rule!r}")
        self.dale = dale
        eta = np.broadcast_to(np.asarray(eta, dtype=np.float64), (self.R, 3)).copy()
        if not np.all(np.isfinite(eta)) or np.any(eta < 0):
            raise ValueError("eta must be finite learning rates >= 0")
        feedback, self.readout_feedback, learns = LOCAL_RULES.get(rule, ("", False, (1, 1, 1)))
        self.symmetric = feedback == "symmetric"
        self.eta = eta * np.asarray(learns, dtype=np.float64)
        shape = (weights[0].n_hidden, weights[0].n_in, weights[0].n_out)
        for w in weights:
            if (w.n_hidden, w.n_in, w.n_out) != shape:
                raise ValueError("all replicas must have the same (n_hidden, n_in, n_out)")
        self.N, self.M, self.K = shape
        ws = [w.symmetric() if self.symmetric else w for w in weights]
        for name in Weights.NAMES:
            setattr(self, name, np.stack([getattr(w, name) for w in ws]))
        self.pending = {n: np.zeros_like(getattr(self, n)) for n in NAMES}
        self.count = 0
        self.sign = dale_signs(self.N)
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
        for n in NAMES:
            self.pending[n][rows] = 0.0

    def _feedback(self) -> np.ndarray:
        return np.swapaxes(self.w_out, 1, 2) if self.symmetric else self.b

    # --------------------------------------------------------------- forward
    def forward(self, x: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict:
        """One trial per replica without learning, arrays ``(R, T, .)``.

        Returns ``h`` ``(T+1, R, N)``, ``u``, ``y``, ``eps`` ``(T, R, .)`` and ``loss`` ``(R,)``.
        """
        R, T = self.R, x.shape[1]
        h = np.empty((T + 1, R, self.N))
        u = np.empty((T, R, self.N))
        y = np.empty((T, R, self.K))
        h[0] = self.h0
        y_prev = np.zeros((R, self.K))
        B = self._feedback()
        for t in range(T):
            u[t] = _mv(self.w_rec, h[t]) + _mv(self.w_in, x[:, t])
            if self.readout_feedback:
                u[t] += _mv(B, y_prev)
            h[t + 1] = h[t] + (-h[t] + np.tanh(u[t])) / self.tau
            y[t] = y_prev = _mv(self.w_out, h[t + 1])
        eps = np.swapaxes(mask, 0, 1) * (np.swapaxes(target, 0, 1) - y)
        loss = np.sum(eps**2, axis=(0, 2)) / (2 * T)
        return {"h": h, "u": u, "y": y, "eps": eps, "loss": loss}

    # ---------------------------------------------------------------- learn
    def train_trial(self, x: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One trial of learning for every replica; returns the losses ``(R,)``.

        Stopped replicas keep their weights. A diverging replica's losses and weights
        may overflow; the caller judges divergence (per block, :func:`sweep`).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            if self.rule in LOCAL_RULES:
                losses, dw = self._local(x, target, mask)
            else:
                losses, dw = self._gradient(x, target, mask)
            frozen = self.stopped[:, None, None]
            self.count += 1
            for n in NAMES:
                self.pending[n] += np.where(frozen, 0.0, dw[n])
            if self.period is not None and self.count % self.period == 0:
                self._apply(self.pending)
                self.pending = {n: np.zeros_like(v) for n, v in self.pending.items()}
        return losses

    def _apply(self, dw: dict) -> None:
        for n in NAMES:
            setattr(self, n, getattr(self, n) + dw[n])
        if self.dale:
            self.w_rec = self.sign * np.maximum(self.sign * self.w_rec, 0.0)
        if self.symmetric:
            self.b = np.swapaxes(self.w_out, 1, 2).copy()

    def _local(self, x, target, mask):
        """RFLO and its local variants (reference.rflo_trial, stacked)."""
        R, T, N = self.R, x.shape[1], self.N
        online = self.period is None
        scale = 1.0 if online else 1.0 / T
        eta = self.eta * scale
        keep = 1 - 1 / self.tau
        p = np.zeros((R, N, N))
        q = np.zeros((R, N, self.M))
        total = {n: np.zeros_like(getattr(self, n)) for n in NAMES}
        h = self.h0.copy()
        y_prev = np.zeros((R, self.K))
        sq = np.zeros(R)
        for t in range(T):
            B = self._feedback()
            u = _mv(self.w_rec, h) + _mv(self.w_in, x[:, t])
            if self.readout_feedback:
                u += _mv(B, y_prev)
            h_new = h + (-h + np.tanh(u)) / self.tau
            d = 1.0 - np.tanh(u) ** 2
            p = keep * p + d[:, :, None] * h[:, None, :] / self.tau
            q = keep * q + d[:, :, None] * x[:, t][:, None, :] / self.tau
            y_prev = _mv(self.w_out, h_new)
            eps = mask[:, t] * (target[:, t] - y_prev)
            sq += np.sum(eps**2, axis=1)
            fb = _mv(B, eps)
            step = {
                "w_out": eta[:, 0, None, None] * eps[:, :, None] * h_new[:, None, :],
                "w_rec": eta[:, 1, None, None] * fb[:, :, None] * p,
                "w_in": eta[:, 2, None, None] * fb[:, :, None] * q,
            }
            if online:
                self._apply({n: np.where(self.stopped[:, None, None], 0.0, v)
                             for n, v in step.items()})
            else:
                for n in NAMES:
                    total[n] += step[n]
            h = h_new
        if online:
            total = {n: np.zeros_like(v) for n, v in total.items()}
        return sq / (2 * T), total

    def _gradient(self, x, target, mask):
        """BPTT, RTRL or nonlocal RTRL with random feedback, stacked.

        nonlocal-random runs as BPTT's backward pass with ``B`` in place of
        ``w_out.T`` (:func:`brianrflo.reference.bptt_grad`), which equals RTRL's
        sensitivities with feedback ``B`` at ``O(N^2)`` per step.
        """
        tr = self.forward(x, target, mask)
        T = x.shape[1]
        d = (1.0 - np.tanh(tr["u"]) ** 2) / self.tau  # (T, R, N)
        h, eps = tr["h"], tr["eps"]
        xs = np.swapaxes(x, 0, 1)
        if self.rule == "rtrl":
            g = self._sensitivities(d, h, eps, xs, np.swapaxes(self.w_out, 1, 2))
        else:
            F = self.b if self.rule == "nonlocal-random" else np.swapaxes(self.w_out, 1, 2)
            g = self._backward(d, h, eps, xs, F)
        grads = {
            "w_out": -np.einsum("trk,trn->rkn", eps, h[1:]) / T,
            "w_rec": g["w_rec"] / T,
            "w_in": g["w_in"] / T,
        }
        dw = {n: -self.eta[:, k, None, None] * grads[n] for k, n in enumerate(NAMES)}
        return tr["loss"], dw

    def _backward(self, d, h, eps, xs, F) -> dict:
        """Trial-summed ``-dL/dW`` terms by a backward pass whose error enters through ``F``."""
        T = eps.shape[0]
        g = {"w_rec": np.zeros_like(self.w_rec), "w_in": np.zeros_like(self.w_in)}
        w_rec_t = np.swapaxes(self.w_rec, 1, 2)
        z = np.zeros((self.R, self.N))
        for t in range(T - 1, -1, -1):
            z_next = z
            z = _mv(F, eps[t])
            if t < T - 1:
                z = z + (1 - 1 / self.tau) * z_next + _mv(w_rec_t, z_next * d[t + 1])
            zd = z * d[t]
            g["w_rec"] -= zd[:, :, None] * h[t][:, None, :]
            g["w_in"] -= zd[:, :, None] * xs[t][:, None, :]
        return g

    def _sensitivities(self, d, h, eps, xs, F) -> dict:
        """The same terms forwards, through RTRL's sensitivities ``dh/dW`` (``O(N^4)``)."""
        T = eps.shape[0]
        g = {"w_rec": np.zeros_like(self.w_rec), "w_in": np.zeros_like(self.w_in)}
        R, N, M = self.R, self.N, self.M
        P = np.zeros((R, N, N * N))  # P[r, j, a*N + b] = dh_j/dW_ab
        Q = np.zeros((R, N, N * M))
        unit = np.arange(N)
        keep = 1 - 1 / self.tau
        for t in range(T):
            # The nonlocal term sum_k W_jk P_kab: what no synapse can hold.
            P = keep * P + d[t][:, :, None] * (self.w_rec @ P)
            Q = keep * Q + d[t][:, :, None] * (self.w_rec @ Q)
            # The local term: W_ab moves h_a through its own input h_b.
            P.reshape(R, N, N, N)[:, unit, unit, :] += d[t][:, :, None] * h[t][:, None, :]
            Q.reshape(R, N, N, M)[:, unit, unit, :] += d[t][:, :, None] * xs[t][:, None, :]
            err = _mv(F, eps[t])[:, None, :]
            g["w_rec"] -= (err @ P).reshape(R, N, N)
            g["w_in"] -= (err @ Q).reshape(R, N, M)
        return g


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

    def save(self, path: str) -> None:
        """Write the sweep to an ``.npz`` file (:meth:`load` reads it back)."""
        arrays = {f: getattr(self, f) for f in ("eta", "seed", "losses", "untrained", "final",
                                                "alignment", "checkpoints", "diverged")}
        for name in Weights.NAMES:
            arrays[f"w_{name}"] = np.stack([getattr(w, name) for w in self.weights])
        # Under a temporary name, then renamed: a kill leaves the old file or the new one.
        atomic_write(path, lambda f: np.savez(f, rule=self.rule, wall_time=self.wall_time,
                                              **arrays))

    @classmethod
    def load(cls, path: str) -> Sweep:
        """Read a sweep written by :meth:`save`."""
        with np.load(path) as f:
            stacked = {n: f[f"w_{n}"] for n in Weights.NAMES}
            weights = [Weights(**{n: a[r] for n, a in stacked.items()})
                       for r in range(len(f["eta"]))]
            return cls(rule=str(f["rule"]), wall_time=float(f["wall_time"]), weights=weights,
                       **{k: f[k] for k in ("eta", "seed", "losses", "untrained", "final",
                                            "alignment", "checkpoints", "diverged")})

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
    tau: float = 10.0,
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
    """Train ``rule`` at every (eta, seed) pair at once.

    Network ``seed`` starts from ``Weights.init(n_hidden, ..., seed, init=init)`` and sees the
    task's trials drawn as :func:`brianrflo.train` draws them (in blocks of
    :func:`brianrflo.train._blocks`'s size from ``default_rng(seed)``), so row ``r``
    equals ``train(task, Settings(rule=rule, trials=trials, eta=(e, e, e), update=update,
    tau=tau, block_trials=block_trials, seed=seed, explode=explode, dale=dale,
    target='reference', init=init), n_hidden=n_hidden)``. Losses are evaluated on ``eval_trials``
    trials drawn with ``seed + 1``.

    Divergence is judged after every block, as ``train()`` judges it with
    ``on_diverge='stop'``: a row with a trial loss in the block that is not finite or
    above ``explode`` times its untrained loss, or with weights that are not finite at
    the block's end, diverged. A diverged row keeps the weights it had before that
    block (``weights``, and ``final = inf``); its losses are NaN from that block on,
    its alignment at later marks is that of the kept weights, and it learns no more
    while the other rows go on. Up to that block it is ``train()``'s run of that
    network alone, which stops there.

    ``on_block`` is given a :class:`~brianrflo.sweep_folder.SweepState` after every
    block; passed back as ``start`` (same arguments, ``trials`` may grow) it continues
    the sweep to the numbers an uninterrupted one gives, bit for bit. Extending a
    sweep is exact when its earlier trial count was a multiple of the block size
    (the trial streams are drawn a block at a time); the alignment is then kept at
    the trials the earlier sweep measured it and at this one's marks after them.
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
                out += net.forward(x, target, mask)["loss"]
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
        if progress is not None:
            progress(f"{rule}: trial {done}/{trials}, median loss "
                     f"{np.nanmedian(losses[:, first:done]):.4g}, "
                     f"{int(net.stopped.sum())} of {net.R} diverged")
    final = np.where(net.stopped, np.inf, evaluate())
    measured = sorted(align)
    return Sweep(rule=rule, eta=eta_r, seed=seed_r, losses=losses, untrained=untrained,
                 final=final, alignment=np.array([align[m] for m in measured]).T,
                 checkpoints=np.array(measured), diverged=net.stopped.copy(),
                 wall_time=elapsed + time.perf_counter() - began,
                 weights=[net.weights(r) for r in range(net.R)])


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
        done=done, losses=losses[:, :done].copy(),
        weights={n: getattr(net, n).copy() for n in Weights.NAMES},
        pending={n: np.asarray(net.pending[n]).copy() for n in NAMES}, count=net.count,
        stopped=net.stopped.copy(), eta=net.eta.copy(), untrained=untrained.copy(),
        marks=np.array(measured), alignment=np.array([align[m] for m in measured]).T,
        rng={s: rng.bit_generator.state for s, rng in rngs.items()}, wall_time=wall_time,
    )


def _restore(net: Replicas, state: SweepState, rngs: dict) -> None:
    """Put ``net`` and the trial streams where ``state`` left them."""
    for n in Weights.NAMES:
        setattr(net, n, state.weights[n].astype(np.float64, copy=True))
    # An update period that spans blocks leaves summed updates to apply later.
    net.pending = {n: state.pending[n].astype(np.float64, copy=True) if n in state.pending
                   else np.zeros_like(getattr(net, n)) for n in NAMES}
    net.count = state.count
    net.stopped = state.stopped.astype(bool, copy=True)
    net.eta = state.eta.astype(np.float64, copy=True)
    if set(state.rng) != set(rngs):
        raise ValueError(f"the checkpoint's seeds {sorted(state.rng)} are not the sweep's "
                         f"{sorted(rngs)}")
    for s, rng in rngs.items():
        rng.bit_generator.state = state.rng[s]
