"""Interval matching, "Ready-Set-Go" (paper Fig. 3).

Two Gaussian input pulses ("ready", "set") ``T_delay`` steps apart; the target is
one Gaussian pulse ``T_delay`` after "set". Trials of different delays are padded
to one length ``T``; the mask ends a few standard deviations after the target
pulse, so the padding does not count.
"""

from __future__ import annotations

import numpy as np

from brianrflo.validation import check_int, check_real

from .base import Block, Task

__all__ = ["IntervalMatching"]


class IntervalMatching(Task):
    """Reproduce an interval: input pulses at ``onset`` and ``onset + d``, target at ``onset + 2d``.

    Parameters
    ----------
    delay_min, delay_max
        ``T_delay`` is drawn uniformly from these (steps, inclusive). The paper's
        delays reach about 25 tau (250 steps) and beyond.
    sd
        Standard deviation of every pulse in steps (paper: 15).
    onset
        Step of the "ready" pulse's peak.
    """

    n_in = 1
    n_out = 1

    def __init__(self, delay_min: int = 50, delay_max: int = 300, sd: float = 15.0,
                 onset: int = 50):
        self.delay_min = check_int("delay_min", delay_min, 1)
        self.delay_max = check_int("delay_max", delay_max, self.delay_min)
        self.sd = check_real("sd", sd, 0.5, 1000.0)
        self.onset = check_int("onset", onset, 0)
        self.tail = int(np.ceil(3 * self.sd))
        self.T = self.onset + 2 * self.delay_max + self.tail

    def _pulse(self, peak: np.ndarray) -> np.ndarray:
        t = np.arange(1, self.T + 1)[None, :]
        return np.exp(-0.5 * ((t - peak[:, None]) / self.sd) ** 2)

    def block(self, n: int, rng: np.random.Generator) -> Block:
        n = check_int("n", n, 1)
        return self.trials(rng.integers(self.delay_min, self.delay_max + 1, size=n))

    def trials(self, delay) -> Block:
        """Trials of the given delays (steps, each within the task's range)."""
        delay = np.atleast_1d(np.asarray(delay)).astype(int)
        if delay.min() < self.delay_min or delay.max() > self.delay_max:
            raise ValueError(f"delays must lie in [{self.delay_min}, {self.delay_max}], got "
                             f"{delay.min()}..{delay.max()}")
        n = len(delay)
        ready, go = np.full(n, self.onset), self.onset + 2 * delay
        x = self._pulse(ready) + self._pulse(self.onset + delay)
        target = self._pulse(go)
        t = np.arange(1, self.T + 1)[None, :]
        mask = (t <= (go + self.tail)[:, None]).astype(float)
        return Block(x=x[:, :, None], target=target[:, :, None], mask=mask[:, :, None],
                     info={"delay": delay, "go": go})

    def settings(self) -> dict:
        return {"task": "interval", "delay_min": self.delay_min, "delay_max": self.delay_max,
                "sd": self.sd, "onset": self.onset}

    def window(self, block: Block) -> tuple[np.ndarray, np.ndarray]:
        """Shortest and longest interval each trial can produce, in steps after "set".

        The window the target defines runs from the step after "set" to the trial's
        last masked step (``go + tail``); the padding after it is not trained, so a
        peak there says nothing about the interval the network learned.

        Returns
        -------
        lo, hi
            ``(n,)`` integer arrays: ``lo`` is 1, ``hi`` is ``T_delay + tail`` for
            this task's masks.
        """
        mask = np.asarray(block.mask).reshape(block.n_trials, self.T, -1).any(axis=2)
        # Last masked step, 1-based (0 for a trial with no masked step).
        last = np.where(mask.any(axis=1), self.T - np.argmax(mask[:, ::-1], axis=1), 0)
        set_time = self.onset + np.asarray(block.info["delay"])
        return np.ones(block.n_trials, dtype=int), last - set_time

    def peak_delay(self, y: np.ndarray, block: Block) -> np.ndarray:
        """Produced interval of each trial: the output's peak time after "set", in steps.

        The peak is taken over steps ``t`` with ``set < t <= last masked step``
        (see :meth:`window`), so the result ``argmax_t y(t) - set`` lies in
        ``[1, T_delay + tail]``; the untrained padding after the mask and the
        cues before "set" are ignored.

        Parameters
        ----------
        y
            Outputs ``(n, T)`` or ``(n, T, 1)``.
        block
            The trials ``y`` answers (their delays and masks).
        """
        y = np.asarray(y).reshape(block.n_trials, self.T)
        lo, hi = self.window(block)
        set_time = self.onset + np.asarray(block.info["delay"])
        after = np.arange(1, self.T + 1)[None, :] - set_time[:, None]
        inside = (after >= lo[:, None]) & (after <= hi[:, None])
        return np.argmax(np.where(inside, y, -np.inf), axis=1) + 1 - set_time
