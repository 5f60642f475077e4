"""The Brian2 model equals the numpy reference on whole trials, for each target.

Two blocks of two trials each are run, so the test also covers what crosses a
block boundary (weights carried over, and in cpp_standalone the re-run of the
compiled binary with new ``run_args``).
"""

import numpy as np
import pytest

from brianrflo import reference as ref
from brianrflo.network import BrianNetwork
from brianrflo.weights import Weights
from helpers import K, M, N, T, assert_matches_reference, random_block, reference_blocks

pytestmark = pytest.mark.equivalence

ETA = (0.05, 0.04, 0.03)
TOL = 1e-10


@pytest.mark.parametrize(
    "target",
    ["cython", pytest.param("cpp_standalone", marks=pytest.mark.standalone)],
)
@pytest.mark.parametrize("update", ["online", "trial", 2])
def test_brian_equals_reference(weights, target, update):
    blocks = [random_block(10, 2), random_block(11, 2)]
    net = BrianNetwork(weights, T, block_trials=2, eta=ETA, update=update, target=target,
                       record=True)
    assert_matches_reference(net, weights, blocks, reference_blocks(weights, blocks, update, ETA))


@pytest.mark.parametrize(
    "target",
    ["cython", pytest.param("cpp_standalone", marks=pytest.mark.standalone)],
)
@pytest.mark.parametrize("update", ["online", "trial"])
@pytest.mark.parametrize(
    "feedback, readout_feedback",
    [("symmetric", False), ("random", True), ("symmetric", True)],
)
def test_rule_variants_equal_reference(weights, target, update, feedback, readout_feedback):
    """Symmetric feedback and readout feedback (readout-only learning's network)."""
    symmetric = feedback == "symmetric"
    w = weights.symmetric() if symmetric else weights
    blocks = [random_block(20, 2), random_block(21, 2)]
    net = BrianNetwork(w, T, block_trials=2, eta=ETA, update=update, target=target,
                       record=True, feedback=feedback, readout_feedback=readout_feedback)
    expected = reference_blocks(w, blocks, update, ETA, symmetric=symmetric,
                                readout_feedback=readout_feedback)
    assert_matches_reference(net, w, blocks, expected)
    got = net.get_weights()
    if symmetric:  # B followed the readout exactly
        assert np.array_equal(got.b, got.w_out.T)
    else:
        assert np.array_equal(got.b, w.b)


def test_readout_feedback_changes_the_dynamics(weights):
    """Negative control: the fed-back readout is not a no-op."""
    block = random_block(22, 1)
    plain = ref.forward(weights, *block.trial(0))
    fed = ref.forward(weights, *block.trial(0), readout_feedback=True)
    assert np.abs(plain.h - fed.h).max() > 1e-3


def test_learning_rate_zero_freezes_a_pathway(weights):
    """Recurrent-only (eta1 = 0) keeps w_out; readout-only (eta2 = eta3 = 0) keeps w_rec, w_in."""
    block = random_block(23, 2)
    for eta, frozen, learns in [((0.0, 0.05, 0.05), ("w_out",), ("w_rec", "w_in")),
                                ((0.05, 0.0, 0.0), ("w_rec", "w_in"), ("w_out",))]:
        net = BrianNetwork(weights, T, block_trials=2, eta=eta, update="trial",
                           readout_feedback=eta[1] == 0)
        net.run_block(block)
        got = net.get_weights()
        for name in frozen:
            assert np.array_equal(getattr(got, name), getattr(weights, name)), name
        for name in learns:
            assert not np.allclose(getattr(got, name), getattr(weights, name)), name


@pytest.mark.standalone
def test_runtime_after_standalone_and_weights_round_trip(weights):
    """A runtime network built after a standalone one (both run, in this order, in one
    test) equals the reference, as the standalone one did; set/get weights is exact.

    Brian2 keeps one current device per process: the runtime network must switch it
    away from cpp_standalone before it makes its objects, and the standalone network
    trains on afterwards (its device must not trip over objects collected meanwhile).
    """
    blocks = [random_block(12, 2), random_block(13, 2), random_block(14, 2)]
    expected = reference_blocks(weights, blocks, "trial", ETA)
    standalone = BrianNetwork(weights, T, block_trials=2, eta=ETA, update="trial",
                              target="cpp_standalone", record=True)
    assert_matches_reference(standalone, weights, blocks[:2], expected[:2])

    net = BrianNetwork(weights, T, block_trials=2, target="cython")
    got = net.get_weights()
    for name, arr in weights.as_dict().items():
        assert np.array_equal(getattr(got, name), arr), name
    other = Weights.init(N, M, K, seed=99)
    net.set_weights(other)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights().as_dict().values(),
                                                     other.as_dict().values(), strict=True))
    losses = net.run_block(blocks[0])
    want = [ref.forward(other, *blocks[0].trial(k)).loss for k in range(2)]
    np.testing.assert_allclose(losses, want, rtol=0, atol=TOL)
    # The standalone network's results are still readable with the runtime device current,
    # and it goes on training where it stopped.
    assert standalone.get_weights().allclose(expected[1][1], atol=TOL)
    assert_matches_reference(standalone, expected[1][1], blocks[2:], expected[2:])


def test_no_input_network_matches_reference():
    """M = 0 (the periodic task) has no input synapses at all."""
    w = Weights.init(N, 0, 1, seed=4)
    block = random_block(13, 2, M=0, K=1)
    net = BrianNetwork(w, T, block_trials=2, eta=ETA, update="trial", target="cython")
    losses = net.run_block(block)
    expected = reference_blocks(w, [block], "trial", ETA)[0]
    np.testing.assert_allclose(losses, [tr.loss for tr in expected[0]], rtol=0, atol=TOL)
    np.testing.assert_allclose(net.get_weights().w_rec, expected[1].w_rec, rtol=0, atol=TOL)


def test_bad_settings_name_the_parameter(weights):
    with pytest.raises(ValueError, match="tau"):
        BrianNetwork(weights, T, tau=0.5)
    with pytest.raises(ValueError, match="eta2"):
        BrianNetwork(weights, T, eta=(0.1, float("nan"), 0.1))
    with pytest.raises(ValueError, match="update"):
        BrianNetwork(weights, T, update="sometimes")
    with pytest.raises(ValueError, match="block_trials"):
        BrianNetwork(weights, T, block_trials=3, update=2)
    with pytest.raises(ValueError, match="target"):
        BrianNetwork(weights, T, target="gpu")
    with pytest.raises(ValueError, match="feedback"):
        BrianNetwork(weights, T, feedback="transposed")
    with pytest.raises(ValueError, match="w_out.T"):
        BrianNetwork(weights, T, feedback="symmetric")
