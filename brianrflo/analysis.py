"""Measures of a trained network."""

from __future__ import annotations

import numpy as np

from .weights import Weights

__all__ = ["alignment"]


def alignment(weights: Weights) -> float:
    """Normalised overlap of readout and feedback, ``tr(W_out B) / (|W_out|_F |B|_F)``.

    1 when ``W_out = c B^T`` with ``c > 0``; near 0 for unrelated random matrices
    (paper Fig. 2c).
    """
    w_out, b = weights.w_out, weights.b
    norm = np.linalg.norm(w_out) * np.linalg.norm(b)
    return float(np.trace(w_out @ b) / norm) if norm > 0 else 0.0
