"""The benchmark's hand-written C loop trains exactly as the numpy reference does."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brianrflo.weights import Weights
from helpers import NAMES, K, M, N, random_block, reference_blocks

_spec = importlib.util.spec_from_file_location(
    "c_loop", Path(__file__).parents[1] / "benchmarks" / "c_loop.py")
c_loop = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(c_loop)

pytestmark = [pytest.mark.equivalence,
              pytest.mark.skipif(c_loop.missing_compiler() is not None,
                                 reason=c_loop.missing_compiler() or "")]

ETA = (0.3, 0.2, 0.1)  # large enough that every trial moves the weights visibly


@pytest.mark.parametrize("n_in", [M, 0])
def test_c_loop_equals_reference(n_in):
    """Losses and weights after each of 4 trials (2 blocks), to float64 rounding.

    Brian2's flags include ``-ffast-math``, which lets the compiler reassociate the
    sums; measured, the differences stay at 2.2e-16 with and without it, so 1e-12.
    """
    weights = Weights.init(N, n_in, K, seed=3)
    blocks = [random_block(seed, 2, M=n_in) for seed in (1, 2)]
    expected = reference_blocks(weights, blocks, "trial", ETA, tau=7.0)
    net = c_loop.CLoop(weights, ETA, tau=7.0)
    for block, (traces, w_ref) in zip(blocks, expected, strict=True):
        losses = net.run_block(block)
        np.testing.assert_allclose(losses, [tr.loss for tr in traces], rtol=0, atol=1e-12)
        got = net.get_weights()
        for name in NAMES:
            np.testing.assert_allclose(getattr(got, name), getattr(w_ref, name),
                                       rtol=0, atol=1e-12, err_msg=name)
    assert not net.get_weights().allclose(weights, atol=1e-3)  # training did something


def test_c_loop_leaves_its_input_and_trains_a_prefix():
    """``train`` copies the weights and stops after ``trials`` trials of the block."""
    weights = Weights.init(N, M, K, seed=4)
    before = weights.copy()
    block = random_block(5, 3)
    losses, _ = c_loop.train(weights, block, ETA, trials=2)
    assert weights.allclose(before)
    assert losses.shape == (2,)
    (traces, _), = reference_blocks(weights, [block], "trial", ETA)
    np.testing.assert_allclose(losses, [tr.loss for tr in traces[:2]], rtol=0, atol=1e-12)
