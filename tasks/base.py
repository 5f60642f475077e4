"""What every task provides: inputs, targets and masks for a block of trials.

Following NeuroGym's conventions where they fit: one step is ``dt``; the mask
marks where the target counts. Unlike NeuroGym, trials are generated in blocks
of equal length ``T`` so they can be laid end to end in one simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Block", "Task"]


@dataclass
class Block:
    """A block of ``n`` trials of ``T`` steps.

    Attributes
    ----------
    x : ndarray, shape (n, T, M)
        Inputs.
    target : ndarray, shape (n, T, K)
        Target outputs ``y*``.
    mask : ndarray, shape (n, T, K)
        1 where the target counts, 0 elsewhere.
    info : dict of ndarray, shape (n,) each
        Per-trial facts (NeuroGym's ``trial`` info), e.g. the delay of each trial.
    """

    x: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.x.ndim != 3 or self.target.ndim != 3 or self.mask.shape != self.target.shape:
            raise ValueError(
                "a Block needs x (n, T, M), target (n, T, K) and mask (n, T, K); got "
                f"{self.x.shape}, {self.target.shape}, {self.mask.shape}"
            )
        if self.x.shape[:2] != self.target.shape[:2]:
            raise ValueError(
                f"x and target disagree on (n, T): {self.x.shape[:2]} vs {self.target.shape[:2]}"
            )
        if not np.all((self.mask == 0) | (self.mask == 1)):
            raise ValueError("mask must contain only 0 and 1")

    @property
    def n_trials(self) -> int:
        """Number of trials ``n``."""
        return self.x.shape[0]

    def trial(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, target, mask)`` of trial ``k``."""
        return self.x[k], self.target[k], self.mask[k]


class Task:
    """Base class: subclasses set ``n_in``, ``n_out``, ``T`` and implement :meth:`block`."""

    n_in: int
    n_out: int
    T: int

    def block(self, n: int, rng: np.random.Generator) -> Block:
        """``n`` trials drawn with ``rng``."""
        raise NotImplementedError(f"{type(self).__name__} must implement block(n, rng)")

    def settings(self) -> dict:
        """The task's parameters, saved with a run and compared when it resumes.

        The default names the class and records ``T`` and the task's public numbers
        and strings; override it to choose what identifies your task.
        """
        own = {k: v for k, v in vars(self).items()
               if not k.startswith("_") and isinstance(v, (bool, int, float, str))}
        return {"task": f"{type(self).__module__}.{type(self).__qualname__}", "T": self.T, **own}
