"""Shared fixtures: small random problems, reused shapes keep Brian2's compile cache warm."""

import numpy as np
import pytest

from brianrflo.tasks.base import Block
from brianrflo.weights import Weights

N, M, K, T = 8, 3, 2, 25


def random_block(seed: int, n: int, T: int = T, M: int = M, K: int = K) -> Block:
    """Random inputs and targets with a random binary mask."""
    rng = np.random.default_rng(seed)
    return Block(
        x=rng.normal(size=(n, T, M)),
        target=rng.normal(size=(n, T, K)),
        mask=(rng.random((n, T, K)) > 0.2).astype(float),
    )


@pytest.fixture
def weights() -> Weights:
    return Weights.init(N, M, K, seed=3)
