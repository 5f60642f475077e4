"""Reaches of a cursor (paper Fig. 4a), and the whole reach sequence as one trial (Fig. 4c).

The network's 2-D readout ``y`` is the cursor *velocity*; the cursor position is
its running sum (one step = one ``dt``). Because the trainer's loss is on ``y``, the
target of a reach is a velocity profile: a raised-cosine ("bell") speed over one
syllable in the reach's direction, whose sum over the syllable is the reach
length. A syllable is ``syllable`` steps (paper: 20 tau = 200 steps).

Syllables are numbered ``0 .. n_reaches - 1`` for the reaches (reach ``k`` points at
angle ``2 pi k / n_reaches``: right, up, left, down for four) and ``HOLD = -1`` for a
hold, zero velocity. Reach ``k`` is driven by tonic input ``k`` (one-hot, on for the
whole syllable); a hold is *no input* (all tonic inputs off). We chose "no input"
over a fifth input because the network then keeps a trace of the reach it has just
made during the hold, which the loop's striatum needs to choose the next reach.

A :class:`Reach` trial chains ``syllables`` random syllables without resetting the
network, so it learns each reach from the end state of any other syllable, as the
loop will ask of it. Each syllable is drawn uniformly from those that keep the
cursor inside the square ``[-bound, bound]^2`` (the cursor starts at the origin).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brianrflo.validation import check_int, check_real

from .base import Block, Task

__all__ = ["HOLD", "Reach", "ReachSequence", "reach_directions", "syllable_velocity",
           "sequence_velocity", "allowed_syllables", "cursor"]

#: The hold syllable: zero velocity, no tonic input.
HOLD = -1


def reach_directions(n_reaches: int) -> np.ndarray:
    """Unit vectors ``(n_reaches, 2)``: reach ``k`` at angle ``2 pi k / n_reaches``."""
    angle = 2 * np.pi * np.arange(check_int("n_reaches", n_reaches, 1)) / n_reaches
    # Rounded so that the four reaches of the paper land exactly on a grid.
    return np.round(np.stack([np.cos(angle), np.sin(angle)], axis=1), 12)


def _bell(syllable: int) -> np.ndarray:
    # Raised cosine over the syllable, zero at both ends, summing to 1.
    t = np.arange(1, syllable + 1)
    bell = 1 - np.cos(2 * np.pi * t / syllable)
    return bell / bell.sum()


def syllable_velocity(k: int, syllable: int, length: float, n_reaches: int) -> np.ndarray:
    """Target velocity ``(syllable, 2)`` of syllable ``k`` (``HOLD`` gives zeros)."""
    if k == HOLD:
        return np.zeros((syllable, 2))
    if not 0 <= k < n_reaches:
        raise ValueError(f"syllable must be {HOLD} (hold) or in [0, {n_reaches - 1}], got {k!r}")
    return length * _bell(syllable)[:, None] * reach_directions(n_reaches)[k][None, :]


def sequence_velocity(sequence: Sequence[int], syllable: int, length: float,
                      n_reaches: int) -> np.ndarray:
    """Target velocity ``(len(sequence) * syllable, 2)`` of syllables laid end to end."""
    return np.concatenate([syllable_velocity(int(k), syllable, length, n_reaches)
                           for k in sequence])


def cursor(velocity: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Cursor positions ``(T, 2)``: the running sum of the velocity ``(T, 2)`` from ``start``."""
    velocity = np.asarray(velocity, dtype=float)
    start = np.zeros(velocity.shape[-1]) if start is None else np.asarray(start, dtype=float)
    return start + np.cumsum(velocity, axis=-2)


def allowed_syllables(position: np.ndarray, length: float, bound: float,
                      n_reaches: int) -> np.ndarray:
    """Which syllables keep the cursor in ``[-bound, bound]^2`` from ``position``.

    Returns a boolean array ``(n_reaches + 1,)``: the reaches, then the hold (always
    allowed). A tolerance of a quarter reach absorbs a trained network's small misses.
    """
    end = np.asarray(position, dtype=float)[None, :] + length * reach_directions(n_reaches)
    inside = np.all(np.abs(end) <= bound + 0.25 * length, axis=1)
    return np.append(inside, True)


class Reach(Task):
    """Random reaches and holds, ``syllables`` per trial, never leaving the bounds.

    Parameters
    ----------
    n_reaches
        Number of reaches, one tonic input each (paper: 4).
    syllable
        Steps per syllable (paper: 20 tau = 200 steps).
    syllables
        Syllables per trial (>= 1). More than one teaches each reach from the end
        state of another, as in the loop.
    length
        Cursor displacement of one reach (sum of its velocity).
    bound
        The cursor must stay in ``[-bound, bound]^2`` (>= ``length``, so every
        position on the reach grid around the origin has a way out).
    p_hold
        Probability that a syllable is a hold (else a uniformly drawn allowed reach).
    """

    n_out = 2

    def __init__(self, n_reaches: int = 4, syllable: int = 200, syllables: int = 2,
                 length: float = 50.0, bound: float | None = None, p_hold: float = 0.25):
        self.n_reaches = check_int("n_reaches", n_reaches, 1)
        self.n_in = self.n_reaches
        self.syllable = check_int("syllable", syllable, 2)
        self.syllables = check_int("syllables", syllables, 1)
        self.length = check_real("length", length, 1e-6, 1e6)
        self.bound = self.length if bound is None else check_real("bound", bound,
                                                                  self.length, 1e9)
        self.p_hold = check_real("p_hold", p_hold, 0.0, 1.0)
        self.T = self.syllable * self.syllables

    def inputs(self, sequence: Sequence[int]) -> np.ndarray:
        """Tonic inputs ``(len(sequence) * syllable, n_reaches)`` of a syllable sequence."""
        x = np.zeros((len(sequence), self.syllable, self.n_in))
        for s, k in enumerate(sequence):
            if k != HOLD:
                x[s, :, k] = 1.0
        return x.reshape(-1, self.n_in)

    def velocity(self, sequence: Sequence[int]) -> np.ndarray:
        """Target velocity ``(len(sequence) * syllable, 2)`` of a syllable sequence."""
        return sequence_velocity(sequence, self.syllable, self.length, self.n_reaches)

    def draw(self, rng: np.random.Generator) -> list[int]:
        """One trial's syllables: random, never taking the cursor out of bounds."""
        position, sequence = np.zeros(2), []
        directions = reach_directions(self.n_reaches)
        for _ in range(self.syllables):
            if rng.random() < self.p_hold:
                k = HOLD
            else:
                ok = np.flatnonzero(allowed_syllables(position, self.length, self.bound,
                                                      self.n_reaches)[:-1])
                k = int(rng.choice(ok)) if ok.size else HOLD
            if k != HOLD:
                position = position + self.length * directions[k]
            sequence.append(k)
        return sequence

    def block(self, n: int, rng: np.random.Generator) -> Block:
        n = check_int("n", n, 1)
        sequences = np.array([self.draw(rng) for _ in range(n)], dtype=int)
        x = np.stack([self.inputs(s) for s in sequences])
        target = np.stack([self.velocity(s) for s in sequences])
        return Block(x=x, target=target, mask=np.ones_like(target),
                     info={"syllables": sequences})

    def settings(self) -> dict:
        return {"task": "reach", "n_reaches": self.n_reaches, "syllable": self.syllable,
                "syllables": self.syllables, "length": self.length, "bound": self.bound,
                "p_hold": self.p_hold}


class ReachSequence(Task):
    """The whole syllable sequence as one trial, with no input (paper Fig. 4c, no loop).

    The network must produce the velocity of every syllable on its own from ``h(0)``;
    this is what RFLO and BPTT are asked to learn directly for the comparison.

    Parameters
    ----------
    sequence
        Syllables (``0 .. n_reaches - 1`` or ``HOLD``).
    n_reaches, syllable, length
        As in :class:`Reach`.
    """

    n_in = 0
    n_out = 2

    def __init__(self, sequence: Sequence[int], n_reaches: int = 4, syllable: int = 200,
                 length: float = 50.0):
        self.n_reaches = check_int("n_reaches", n_reaches, 1)
        self.syllable = check_int("syllable", syllable, 2)
        self.length = check_real("length", length, 1e-6, 1e6)
        seq = [int(k) for k in sequence]
        if not seq or any(k != HOLD and not 0 <= k < self.n_reaches for k in seq):
            raise ValueError(f"sequence must be a non-empty list of syllables in "
                             f"[0, {self.n_reaches - 1}] or {HOLD} (hold), got {sequence!r}")
        self.sequence = seq
        self.T = self.syllable * len(seq)

    def target(self) -> np.ndarray:
        """Velocity of the whole sequence, ``(T, 2)``."""
        return sequence_velocity(self.sequence, self.syllable, self.length, self.n_reaches)

    def block(self, n: int, rng: np.random.Generator | None = None) -> Block:
        n = check_int("n", n, 1)
        target = np.broadcast_to(self.target(), (n, self.T, 2)).copy()
        return Block(x=np.zeros((n, self.T, 0)), target=target, mask=np.ones_like(target))

    def settings(self) -> dict:
        return {"task": "reach-sequence", "sequence": self.sequence,
                "n_reaches": self.n_reaches, "syllable": self.syllable, "length": self.length}
