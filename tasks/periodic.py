"""Periodic output with no input (paper Fig. 2): one period per trial."""

from __future__ import annotations

import numpy as np

from brianrflo.validation import check_int

from .base import Block, Task

__all__ = ["Periodic"]


class Periodic(Task):
    """``y*(t) = sin(2 pi t/T) + 0.5 sin(4 pi t/T) + 0.25 sin(8 pi t/T)``, ``t = 1..T``.

    Parameters
    ----------
    period
        ``T``, the trial length in steps (>= 2). The paper uses 200 to 1600.
    """

    n_in = 0
    n_out = 1

    def __init__(self, period: int = 200):
        self.T = check_int("period", period, 2)

    def target(self) -> np.ndarray:
        """The target of one trial, shape ``(T, 1)``."""
        phase = 2 * np.pi * np.arange(1, self.T + 1) / self.T
        y = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(4 * phase)
        return y[:, None]

    def block(self, n: int, rng: np.random.Generator | None = None) -> Block:
        n = check_int("n", n, 1)
        target = np.broadcast_to(self.target(), (n, self.T, 1)).copy()
        return Block(x=np.zeros((n, self.T, 0)), target=target, mask=np.ones_like(target))

    def settings(self) -> dict:
        return {"task": "periodic", "period": self.T}
