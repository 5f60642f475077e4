"""Weight changes summed over trials and applied once per update period.

Every numpy engine (:class:`brianrflo.train._NumpyEngine`,
:class:`brianrflo.batch.Replicas`, the test references) keeps its updates here,
so "apply every ``n`` trials, clip to Dale's law, copy ``B = W_out^T``" is
written once. Arrays may be one network's ``(N, N)`` or stacked ``(R, N, N)``:
every operation acts on the last two axes.
"""

from __future__ import annotations

import numpy as np

from .weights import dale_clip

__all__ = ["LEARNED", "PendingUpdate", "apply_update"]

#: The weights that learn, in the order of the learning rates ``(eta1, eta2, eta3)``.
LEARNED = ("w_out", "w_rec", "w_in")


def apply_update(w, dw: dict[str, np.ndarray], dale: bool = False,
                 symmetric: bool = False) -> None:
    """Add ``dw`` (by name, every name of :data:`LEARNED`) to the weights of ``w`` (a
    :class:`~brianrflo.weights.Weights` or a stack of them); then with ``dale`` set
    ``w_rec``'s weights of the wrong sign to 0, and with ``symmetric`` make ``B = W_out^T``.
    """
    for name in LEARNED:
        setattr(w, name, getattr(w, name) + dw[name])
    if dale:
        w.w_rec = dale_clip(w.w_rec)
    if symmetric:
        w.b = np.swapaxes(w.w_out, -1, -2).copy()


class PendingUpdate:
    """Sums trials' weight changes and applies them every ``period_trials`` trials.

    ``period_trials`` is :func:`brianrflo.network.update_period`'s; ``None`` (online) applies
    each trial's change at its end. ``dale``, ``symmetric``: as :func:`apply_update`.
    ``sums`` holds the changes since the last update by name, ``count`` the trials since the
    start.
    """

    def __init__(self, period_trials: int | None, dale: bool = False,
                 symmetric: bool = False):
        self.period_trials = period_trials
        self.dale, self.symmetric = dale, symmetric
        self.sums: dict[str, np.ndarray] = {}
        self.count = 0

    def add(self, w, dw: dict[str, np.ndarray]) -> bool:
        """Count a trial of change ``dw``; whether a period ended (the sums then went to ``w``)."""
        self.count += 1
        for name in LEARNED:
            # 0.0 + dw is dw (up to the sign of a zero): a fresh sum starts as a copy.
            self.sums[name] = (self.sums[name] + dw[name] if name in self.sums
                               else np.array(dw[name], dtype=np.float64))
        if self.period_trials is not None and self.count % self.period_trials:
            return False
        apply_update(w, self.sums, self.dale, self.symmetric)
        self.sums = {}
        return True

    def clear(self) -> None:
        """Forget the summed changes and the trial count (a restart)."""
        self.sums = {}
        self.count = 0
