"""A sweep's output folder: its checkpoint, and the rules that keep earlier results safe.

As ``brianrflo train`` does for a run: after every block the sweep writes :data:`FILE`
(a :class:`SweepState` and the settings, atomically), from which ``--resume`` continues
to the numbers of an uninterrupted sweep, bit for bit; a folder that holds a sweep is
refused without ``--overwrite`` or ``--resume`` (``docs/howto/sweep.md``); a resume
with other settings than the checkpoint's is refused before any file is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .pending import LEARNED
from .runfolder import atomic_write, write_json
from .weights import Weights, read_npz

__all__ = ["FILE", "RESULTS", "OUTPUTS", "SweepState", "write", "read", "held", "compare",
           "Checkpointer", "write_results", "same_results", "networks_csv", "trials_done"]

#: The checkpoint inside a sweep's output folder.
FILE = "sweep_checkpoint.npz"
#: The finished sweep's results: all numbers, summary, one row per network, the plot.
RESULTS = ("sweep.npz", "sweep.json", "sweep.csv", "sweep.png")
#: Every file a sweep writes into its folder.
OUTPUTS = (*RESULTS, FILE)
#: Settings a resumed sweep may change: more trials extend it.
EXTENDABLE = {"trials"}
_ARRAYS = ("losses", "stopped", "eta", "untrained", "marks", "alignment")  # SweepState's


@dataclass
class SweepState:
    """Where a sweep stands after a block: all it needs to go on as if never stopped.

    Attributes
    ----------
    done, count
        Trials every row has run; trials counted towards the update period.
    losses, stopped, untrained
        ``(R, done)`` training losses (NaN once a row diverged); ``(R,)`` rows stopped
        by divergence; ``(R,)`` losses before training (the divergence limits').
    weights, pending
        By name, ``(R, ...)``: every row's weights (a diverged row's last good ones);
        updates summed, not applied yet (empty when every block ends on an update).
    eta
        ``(R, 3)`` learning rates in use.
    marks, alignment
        Trials at which alignment was measured, and ``(R, len(marks))`` its values.
    rng, wall_time
        Seed -> state of the generator that draws that seed's trials; seconds so far.
    """

    done: int
    losses: np.ndarray
    weights: dict[str, np.ndarray]
    stopped: np.ndarray
    eta: np.ndarray
    untrained: np.ndarray
    marks: np.ndarray
    alignment: np.ndarray
    rng: dict[int, dict]
    wall_time: float
    pending: dict[str, np.ndarray] = field(default_factory=dict)
    count: int = 0

    @property
    def R(self) -> int:
        """Number of rows (networks)."""
        return len(self.stopped)

    def check(self, R: int, trials: int) -> None:
        """Raise ``ValueError`` unless this state fits a sweep of ``R`` rows and ``trials``."""
        if self.R != R:
            raise ValueError(f"the checkpoint holds {self.R} networks, the sweep has {R}")
        if trials < self.done:
            raise ValueError(f"trials ({trials}) must be >= the {self.done} trials the "
                             "checkpoint has done")

    def restore_rngs(self, rngs: dict[int, np.random.Generator]) -> None:
        """Put each seed's trial stream (seed -> generator) where this state left it."""
        if set(self.rng) != set(rngs):
            raise ValueError(f"the checkpoint's seeds {sorted(self.rng)} are not the sweep's "
                             f"{sorted(rngs)}")
        for s, rng in rngs.items():
            rng.bit_generator.state = self.rng[s]


def write(out: str | os.PathLike, state: SweepState, settings: dict) -> None:
    """Write ``state`` and the ``settings`` it was made with as ``out/sweep_checkpoint.npz``.

    Atomically, as :func:`brianrflo.checkpoint.write` writes a run's checkpoint.
    """
    arrays = {k: getattr(state, k) for k in _ARRAYS}
    arrays.update({f"w_{n}": a for n, a in state.weights.items()})
    arrays.update({f"pending_{n}": a for n, a in state.pending.items()})
    meta = {"done": state.done, "count": state.count, "wall_time": state.wall_time,
            "rng": {str(s): v for s, v in state.rng.items()}, "settings": settings}
    atomic_write(os.path.join(out, FILE),
                 lambda f: np.savez(f, meta=np.array(json.dumps(meta)), **arrays))


def read(out: str | os.PathLike) -> tuple[SweepState, dict]:
    """Read ``out/sweep_checkpoint.npz``: the state and the settings it was made with.

    Raises
    ------
    ValueError
        If there is no checkpoint, or it is truncated or corrupt.
    """
    path = os.path.join(out, FILE)
    if not os.path.exists(path):
        raise ValueError(f"--resume {os.fspath(out)!r}: no sweep checkpoint ({FILE}) to "
                         "resume from; a sweep writes one after its first block")
    names = (*_ARRAYS, "meta", *(f"w_{n}" for n in Weights.NAMES))
    arrays = read_npz(path, "sweep checkpoint", names,
                      optional=tuple(f"pending_{n}" for n in LEARNED))
    try:
        meta = json.loads(str(arrays["meta"]))
        state = SweepState(
            done=int(meta["done"]), count=int(meta["count"]), wall_time=float(meta["wall_time"]),
            rng={int(s): v for s, v in meta["rng"].items()},
            weights={n: arrays[f"w_{n}"] for n in Weights.NAMES},
            pending={n: arrays[f"pending_{n}"] for n in LEARNED if f"pending_{n}" in arrays},
            **{k: arrays[k] for k in _ARRAYS},
        )
        settings = meta["settings"]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"sweep checkpoint {path!r} is corrupt: {err}") from None
    if not isinstance(settings, dict) or state.losses.shape != (state.R, state.done):
        raise ValueError(f"sweep checkpoint {path!r} is inconsistent")
    return state, settings


def held(out: str | os.PathLike) -> list[str]:
    """The sweep files ``out`` already holds."""
    return [f for f in OUTPUTS if os.path.exists(os.path.join(out, f))]


def compare(saved: dict, now: dict, out: str | os.PathLike) -> None:
    """Refuse to resume with settings other than the checkpoint's (trials may grow)."""
    keys = sorted(set(saved) | set(now))
    diff = [k for k in keys if k not in EXTENDABLE and saved.get(k) != now.get(k)]
    if diff:
        shown = ", ".join(f"{k} {saved.get(k)!r} there, {now.get(k)!r} here" for k in diff)
        raise ValueError(f"--resume {os.fspath(out)!r}: the checkpoint was made with other "
                         f"settings ({shown}); resume with the same settings")


class Checkpointer:
    """Writes a sweep's checkpoints; the first one, not before, replaces older results.

    Parameters
    ----------
    out
        The output folder (made when the first checkpoint is written).
    settings
        Saved with every checkpoint, compared on resume.
    replace
        Files (or folders) of an earlier sweep (``--overwrite``) to remove once the new
        sweep's first checkpoint is written.
    """

    def __init__(self, out: str, settings: dict, replace: Sequence[str] = ()):
        self.out, self.settings, self.replace = out, settings, list(replace)

    def __call__(self, state: SweepState) -> None:
        os.makedirs(self.out, exist_ok=True)
        write(self.out, state, self.settings)
        # The new checkpoint has replaced any old one; the old results go now.
        for name in self.replace:
            path = os.path.join(self.out, name)
            if os.path.isdir(path):  # a task sweep's tasks/: its plan first, so that a
                # kill midway leaves no plan for --resume to take for this sweep's
                from .dask_sweep import remove_tasks

                remove_tasks(path)
            elif name != FILE and os.path.exists(path):
                os.remove(path)
        self.replace = []


def write_results(out: str, sweep, record: dict) -> None:
    """Write the finished sweep's :data:`RESULTS` into ``out``, each file atomically.

    ``sweep.npz`` (:meth:`brianrflo.batch.Sweep.save`), ``sweep.json`` (``record``),
    ``sweep.csv`` (:func:`networks_csv`) and ``sweep.png``
    (:func:`brianrflo.plots.plot_sweep`). The CSV and the plot hold no wall time, so
    the same grid gives the same bytes however it ran.
    """
    from .plots import plot_sweep

    os.makedirs(out, exist_ok=True)
    sweep.save(os.path.join(out, "sweep.npz"))
    write_json(os.path.join(out, "sweep.json"), record, default=str)
    text = networks_csv(sweep).encode()
    atomic_write(os.path.join(out, "sweep.csv"), lambda f: f.write(text))
    fig = plot_sweep(sweep)
    atomic_write(os.path.join(out, "sweep.png"), lambda f: fig.savefig(f, format="png",
                                                                       dpi=120))


def trials_done(sweep) -> np.ndarray:
    """``(R,)`` trials each network trained before it stopped (all, unless it diverged).

    A diverged row's losses are NaN from the block it diverged in; that block counts
    as not done, since its updates were dropped.
    """
    lost = np.isnan(sweep.losses)
    return np.where(lost.any(axis=1), lost.argmax(axis=1), sweep.losses.shape[1])


def networks_csv(sweep) -> str:
    """One row per network: ``rule,eta,seed,final,untrained,late,diverged,trials_done``.

    Rows in the sweep's order; floats as ``repr`` writes them (they read back exactly),
    ``inf`` for a diverged network's losses. ``late`` is the mean training loss over
    the last tenth of trials (:meth:`~brianrflo.batch.Sweep.late`).
    """
    late, done = sweep.late(), trials_done(sweep)
    rows = ["rule,eta,seed,final,untrained,late,diverged,trials_done"]
    for r in range(len(sweep.eta)):
        rows.append(f"{sweep.rule},{float(sweep.eta[r])!r},{int(sweep.seed[r])},"
                    f"{float(sweep.final[r])!r},{float(sweep.untrained[r])!r},"
                    f"{float(late[r])!r},{int(bool(sweep.diverged[r]))},{int(done[r])}")
    return "\n".join(rows) + "\n"


def same_results(a, b) -> bool:
    """Whether two :class:`~brianrflo.batch.Sweep` hold the same numbers (wall time aside)."""
    for name in a.ARRAYS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return a.rule == b.rule and len(a.weights) == len(b.weights) and all(
        v.allclose(w, atol=0.0) for v, w in zip(a.weights, b.weights, strict=True))
