"""Dale's law (paper Fig. 2 supp. 1): sign-constrained recurrent weights, clipped when updated."""

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.network import BrianNetwork
from brianrflo.tasks import Periodic
from brianrflo.weights import Weights, dale_signs
from helpers import K, M, N, T, assert_matches_reference, random_block, reference_blocks

pytestmark = pytest.mark.equivalence

# Large rates so that within two trials some updates try to flip a sign.
ETA = (0.5, 2.0, 0.5)


def test_init_follows_presynaptic_signs():
    w = Weights.init(40, 2, 1, seed=0, dale=True)
    s = dale_signs(40)
    assert np.all(w.w_rec * s[None, :] >= 0)
    assert (s > 0).sum() == 20
    plain = Weights.init(40, 2, 1, seed=0)
    assert np.array_equal(np.abs(w.w_rec), np.abs(plain.w_rec))


@pytest.mark.parametrize(
    "target", ["cython", pytest.param("cpp_standalone", marks=pytest.mark.standalone)]
)
@pytest.mark.parametrize("update", ["online", "trial"])
def test_dale_clipping_matches_reference(target, update):
    w = Weights.init(N, M, K, seed=6, dale=True)
    blocks = [random_block(30, 2), random_block(31, 2)]
    expected = reference_blocks(w, blocks, update, ETA, dale=True)
    clipped = (expected[-1][1].w_rec == 0) & (w.w_rec != 0)
    assert clipped.any(), "the test needs updates that hit the sign constraint"
    net = BrianNetwork(w, T, block_trials=2, eta=ETA, update=update, target=target,
                       record=True, dale=True)
    assert_matches_reference(net, w, blocks, expected)
    got = net.get_weights().w_rec
    assert np.array_equal(got == 0, expected[-1][1].w_rec == 0)


def test_dale_rflo_learns_and_never_flips_a_sign():
    s = dale_signs(30)
    result = train(Periodic(200), Settings(dale=True, eta=(0.03,) * 3, trials=300,
                                           block_trials=50, seed=1), n_hidden=30,
                   progress=False)
    assert np.all(result.weights.w_rec * s[None, :] >= 0)
    assert result.final_loss < 0.5 * result.untrained_loss
