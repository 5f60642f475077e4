"""Noisy models (``xi``): numpy draws per block, the same noise on every target and on resume."""

import brian2 as b2
import numpy as np
import pytest
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

from brianrflo import Settings, train
from brianrflo.models import MODELS
from brianrflo.models.rate import PAPER_EQUATIONS, ModelError, RateModel
from brianrflo.network import DT, BrianNetwork
from brianrflo.tasks import Periodic
from brianrflo.tasks.base import Block
from brianrflo.weights import Weights
from helpers import K, M, N, T, random_block

pytestmark = pytest.mark.engines

NOISY = MODELS["rate-noisy"]
ETA = (0.05, 0.02, 0.01)


def noisy(noise: str, sigma: float) -> RateModel:
    """The paper's units plus ``sigma * noise * tau**-0.5`` in dh/dt."""
    return RateModel(PAPER_EQUATIONS.replace(
        "(-h + phi) / tau", f"(-h + phi) / tau + sigma * {noise} * tau**-0.5"),
        namespace={"sigma": sigma})


def run(weights, target: str, blocks, seeds, model=NOISY):
    """Losses of ``blocks`` run with noise seeds ``seeds``, and the final weights."""
    net = BrianNetwork(weights, T, block_trials=blocks[0].n_trials, eta=ETA, model=model,
                       target=target)
    losses = [net.run_block(b, noise_seed=s) for b, s in zip(blocks, seeds, strict=True)]
    return np.concatenate(losses, axis=-1), net.get_weights()


@pytest.mark.standalone
def test_noise_is_the_same_on_cython_and_standalone_for_one_seed():
    weights = Weights.init(N, M, K, seed=4)
    blocks = [random_block(30 + b, 2) for b in range(2)]
    # Runtime networks first: a standalone build takes Brian2's device.
    cython, w_cython = run(weights, "cython", blocks, (11, 12))
    other, _ = run(weights, "cython", blocks, (11, 13))
    standalone, w_standalone = run(weights, "cpp_standalone", blocks, (11, 12))
    np.testing.assert_allclose(standalone, cython, rtol=0, atol=1e-12)
    for name in ("w_in", "w_rec", "w_out"):
        np.testing.assert_allclose(getattr(w_standalone, name), getattr(w_cython, name),
                                   rtol=0, atol=1e-12, err_msg=name)
    # The first block's seed is shared, the second's is not: the noise is really there.
    n = blocks[0].n_trials
    np.testing.assert_array_equal(other[:n], cython[:n])
    assert np.all(np.abs(other[n:] - cython[n:]) > 1e-9)


def test_each_replica_gets_the_noise_it_would_get_alone():
    weights = [Weights.init(N, M, K, seed=s) for s in (4, 5)]
    block = random_block(30, 2)
    together, _ = run(weights, "cython", [block], [(11, 12)])
    for r, seed in enumerate((11, 12)):
        alone, _ = run(weights[r], "cython", [block], [seed])
        np.testing.assert_allclose(together[r], alone, rtol=0, atol=1e-12, err_msg=f"replica {r}")


def test_without_a_seed_brian2_seed_makes_the_noise_reproducible():
    weights = Weights.init(N, M, K, seed=4)
    block = random_block(30, 2)
    b2.seed(3)
    first, _ = run(weights, "cython", [block], [None])
    b2.seed(3)
    again, _ = run(weights, "cython", [block], [None])
    b2.seed(4)
    other, _ = run(weights, "cython", [block], [None])
    np.testing.assert_array_equal(again, first)
    assert not np.array_equal(other, first)


@pytest.mark.parametrize(("noise", "terms"), [("xi", 1), ("(xi_1 + xi_2)", 2)])
def test_one_step_of_noise_has_the_spread_of_brian2s_xi(noise, terms):
    """``h`` after one step from 0, without input: the spread of ``sqrt(dt) * g * xi``.

    With zero weights ``u = phi = 0``, so the step adds only the noise:
    ``sqrt(dt) * sigma * tau**-0.5`` per unit normal draw, ``terms`` independent
    draws. The sample standard deviation of ``n`` normal values has relative
    standard error ``1/sqrt(2(n-1))`` (0.7 % for n = 10000); the tolerance is 5 of
    those, and the mean is held to 5 standard errors ``std/sqrt(n)``. Brian2's own
    ``xi`` in the same equation is held to the same theory and tolerance.
    """
    sigma, tau, units, trials = 0.5, 4.0, 200, 50
    n = units * trials
    theory = np.sqrt(float(DT)) * sigma * np.sqrt(terms / (tau * float(DT)))
    zero = Weights(w_in=np.zeros((units, 1)), w_rec=np.zeros((units, units)),
                   w_out=np.zeros((1, units)), b=np.zeros((units, 1)), h0=np.zeros(units))
    net = BrianNetwork(zero, 1, block_trials=trials, tau=tau, model=noisy(noise, sigma),
                       record=True)
    net.run_block(Block(x=np.zeros((trials, 1, 1)), target=np.zeros((trials, 1, 1)),
                        mask=np.ones((trials, 1, 1))), noise_seed=0)
    ours = net.trace()["h"]  # one step per trial: (trials, units)
    # Brian2's own noise (Euler-Maruyama) in the model's equation, without the rule.
    group = b2.NeuronGroup(n, f"dh/dt = sigma * {noise} * tau**-0.5 : 1",
                           method="euler", dt=DT, codeobj_class=NumpyCodeObject,
                           namespace={"sigma": sigma, "tau": tau * DT})
    b2.seed(0)
    b2.Network(group).run(DT, namespace={})
    for what, sample in (("ours", ours.ravel()), ("Brian2's xi", group.h[:])):
        assert abs(sample.std(ddof=1) / theory - 1) < 5 / np.sqrt(2 * (n - 1)), what
        assert abs(sample.mean()) < 5 * theory / np.sqrt(n), what
    # Independent across units and steps: neighbours are uncorrelated.
    bound = 5 / np.sqrt(n)
    assert abs(np.corrcoef(ours[:, :-1].ravel(), ours[:, 1:].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(ours[:-1].ravel(), ours[1:].ravel())[0, 1]) < bound


@pytest.mark.standalone
def test_noisy_standalone_training_resumes_bit_for_bit(tmp_path):
    common = dict(target="cpp_standalone", model="rate-noisy", eta=(0.03,) * 3,
                  block_trials=10, seed=5)
    whole = train(Periodic(30), Settings(**common, trials=40), n_hidden=10, progress=False)
    train(Periodic(30), Settings(**common, trials=20), n_hidden=10, out=tmp_path,
          progress=False)
    resumed = train(Periodic(30), Settings(**common, trials=40), n_hidden=10, out=tmp_path,
                    resume=True, progress=False)
    assert resumed.weights.allclose(whole.weights, atol=0.0)
    assert np.array_equal(resumed.losses, whole.losses)
    assert resumed.final_loss == whole.final_loss


@pytest.mark.parametrize(("equations", "message"), [
    (PAPER_EQUATIONS.replace("(-h + phi) / tau", "(-h + phi) / tau + h * xi * tau**-0.5"),
     "noise in dh/dt must be additive"),
    (PAPER_EQUATIONS + "noise_ta : 1\n", "noise_ta"),
    (PAPER_EQUATIONS.replace("(-h + phi) / tau", "(-h + phi + 0.1 * randn()) / tau"),
     r"calls \['randn'\].*through xi"),
    (PAPER_EQUATIONS.replace("u_rec + u_in", "u_rec + u_in + rand()"),
     r"calls \['rand'\].*through xi"),
])
def test_noise_the_rule_cannot_run_is_refused(equations, message):
    with pytest.raises(ModelError, match=message):
        RateModel(equations)


@pytest.mark.parametrize(("seed", "message"), [
    (-1, "noise_seed must be an integer >= 0, got -1"),
    ((1, 2, 3), r"noise_seed must be one seed or a list of one seed per replica \(1\), got 3"),
    (1.5, "noise_seed must be an integer"),
])
def test_bad_noise_seed_is_named(seed, message):
    # Brian2's numpy target: the check is the engine's, and nothing has to compile.
    net = BrianNetwork(Weights.init(N, M, K, seed=4), T, block_trials=1, model=NOISY,
                       target="numpy")
    net.run_block(random_block(30, 1), noise_seed=0)  # a network that never ran warns
    with pytest.raises(ValueError, match=message):
        net.run_block(random_block(30, 1), noise_seed=seed)


def test_compiled_equations_read_the_draws():
    model = noisy("(xi_1 + xi_2)", 0.1)
    assert "dh/dt = (-h + phi) / tau + sigma * ((noise_ta(t - t_block, i) / sqrt(dt)) + " \
           "(noise_ta(t - t_block, i + 1 * N) / sqrt(dt))) * tau**-0.5 : 1" \
           in str(model.hidden_equations())
    assert "xi" not in str(model.hidden_equations())
    assert "column i + k*N: unit i, noise symbol k of ['xi_1', 'xi_2']" in model.show()
