"""Measures of a trained network."""

from __future__ import annotations

import numpy as np

from .validation import check_int
from .weights import Weights

__all__ = ["alignment", "path_distance", "syllable_moves", "sequence_accuracy"]


def alignment(weights: Weights) -> float:
    """Normalised overlap of readout and feedback, ``tr(W_out B) / (|W_out|_F |B|_F)``.

    1 when ``W_out = c B^T`` with ``c > 0``; near 0 for unrelated random matrices
    (paper Fig. 2c).
    """
    w_out, b = weights.w_out, weights.b
    norm = np.linalg.norm(w_out) * np.linalg.norm(b)
    return float(np.trace(w_out @ b) / norm) if norm > 0 else 0.0


def _path(name: str, path, dims: int | None = None) -> np.ndarray:
    arr = np.asarray(path, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or (dims is not None and arr.shape[1] != dims):
        want = "(T, D)" if dims is None else f"(T, {dims})"
        raise ValueError(f"{name} must be an array of shape {want}, got shape {arr.shape}")
    return arr


def path_distance(path, target) -> float:
    """Mean distance between a cursor path and the target path over the sequence.

    ``mean_t |path(t) - target(t)|``: the Euclidean distance at each step, averaged
    over the ``T`` steps.

    Parameters
    ----------
    path, target : array, shape (T, D)
        Positions at each step.
    """
    path = _path("path", path)
    target = _path("target", target, path.shape[1])
    if path.shape != target.shape:
        raise ValueError(f"path and target must have the same shape, got {path.shape} and "
                         f"{target.shape}")
    return float(np.mean(np.linalg.norm(path - target, axis=1)))


def syllable_moves(path, syllable: int, start=None) -> np.ndarray:
    """The cursor's displacement over each syllable, shape ``(T // syllable, D)``.

    ``path`` ``(T, D)``: the positions after each step from ``start`` (default: the origin,
    where every reach trial starts); ``T`` a multiple of ``syllable`` (steps).
    """
    path = _path("path", path)
    syllable = check_int("syllable", syllable, 1)
    if path.shape[0] % syllable:
        raise ValueError(f"the path's {path.shape[0]} steps must be a whole number of "
                         f"syllables of {syllable} steps")
    origin = np.zeros(path.shape[1]) if start is None else np.asarray(start, dtype=np.float64)
    ends = np.vstack([origin, path[syllable - 1::syllable]])
    return np.diff(ends, axis=0)


def sequence_accuracy(path, target, syllable: int, moves) -> float:
    """Fraction of syllables in which the cursor made the target's move.

    Each syllable's displacement, of ``path`` and of ``target`` (``(T, D)``, positions after
    each step from the origin), is read as the nearest of ``moves`` ``(C, D)`` (each reach,
    and 0 for a hold); a syllable counts when the readings agree. For the loop's path it is
    the fraction of right decisions; for a directly trained one it asks the same of the
    movement.
    """
    path = _path("path", path)
    target = _path("target", target, path.shape[1])
    moves = _path("moves", moves, path.shape[1])
    if path.shape != target.shape:
        raise ValueError(f"path and target must have the same shape, got {path.shape} and "
                         f"{target.shape}")

    def read(p: np.ndarray) -> np.ndarray:
        d = syllable_moves(p, syllable)
        return np.argmin(np.linalg.norm(d[:, None, :] - moves[None, :, :], axis=2), axis=1)

    return float(np.mean(read(path) == read(target)))
