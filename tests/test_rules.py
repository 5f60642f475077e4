"""The other learning rules (brianrflo.rules): equivalence, learning, least squares, bad input."""

import numpy as np
import pytest

from brianrflo.rules import (
    PerturbationNetwork,
    collect_response,
    collect_teacher_forced,
    loop_forward,
    perturbation_trial,
    program,
    ridge_readout,
    solve_program,
    train_echo_state,
    train_force,
    train_node_perturbation,
)
from brianrflo.tasks import Periodic
from brianrflo.weights import Weights
from helpers import random_block

N, M, K, T = 8, 3, 2, 25
NAMES = ("w_out", "w_rec", "w_in")


@pytest.mark.equivalence
@pytest.mark.parametrize("target", ["numpy", "cython"])
@pytest.mark.parametrize("variant", ["reinforce", "miconi"])
def test_node_perturbation_brian2_matches_numpy_reference(variant, target):
    """Two blocks of two trials: the first trial only sets R_bar, the others learn."""
    w = Weights.init(N, M, K, seed=3)
    eta, tau_e = (0.5, 0.7, 0.9), 3.0  # tau_e > 1: the low-pass-filtered trace
    net = PerturbationNetwork(w, T, block_trials=2, eta=eta, variant=variant, tau_e=tau_e,
                              record=True, target=target)
    rng = np.random.default_rng(5)
    current, r_bar = w.copy(), None
    for seed in (0, 1):
        block = random_block(seed, 2, T=T)
        xi, xi_out = rng.normal(0, 0.3, (2, T, N)), rng.normal(0, 0.3, (2, T, K))
        start = net.get_weights()
        losses = net.run_block(block, xi, xi_out)
        got = net.trace()
        for k in range(2):
            dw, ref = perturbation_trial(current, *block.trial(k), xi[k], xi_out[k], eta, r_bar,
                                         tau_e=tau_e, variant=variant)
            rows = slice(k * T, (k + 1) * T)
            np.testing.assert_allclose(got["h"][rows], ref.h[1:], rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(got["z"][rows], ref.z, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(got["eps"][rows], ref.eps, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(losses[k], ref.loss, rtol=1e-10)
            r_bar = ref.r_bar
            for name in NAMES:
                setattr(current, name, getattr(current, name) + dw[name])
        assert net.r_bar == pytest.approx(r_bar, rel=1e-10)
        eligibility = net.eligibility()  # of the block's last trial
        learned = net.get_weights()
        for name in NAMES:
            want_e = ref.eligibility[name]
            assert np.abs(want_e).max() > 1e-3
            np.testing.assert_allclose(eligibility[name], want_e, rtol=1e-10,
                                       atol=1e-12 * np.abs(want_e).max())
            change = getattr(learned, name) - getattr(start, name)
            want = getattr(current, name) - getattr(start, name)
            assert np.abs(want).max() > 1e-6, "the block must change every weight"
            np.testing.assert_allclose(change, want, rtol=1e-10,
                                       atol=1e-12 * np.abs(want).max())


@pytest.mark.claims
@pytest.mark.slow
@pytest.mark.parametrize(("variant", "eta", "noise", "fraction"), [
    ("reinforce", 10.0, {"sigma": 0.1, "sigma_out": 0.1}, 0.5),
    # Miconi's rule: sparse, larger kicks and a fast ubar; it learns more slowly.
    ("miconi", 100.0, {"sigma": 0.5, "sigma_out": 0.5, "p_perturb": 0.1, "tau_bar": 2.0}, 0.6),
])
def test_node_perturbation_learns_periodic(variant, eta, noise, fraction):
    task = Periodic(100)
    res = train_node_perturbation(task, Weights.init(30, 0, 1, seed=0), 1000, eta=(eta,) * 3,
                                  variant=variant, seed=0, **noise)
    assert res.extra["diverged"] is None and len(res.losses) == 1000
    assert res.final_loss < fraction * res.untrained_loss
    assert res.local and res.online


@pytest.mark.claims
@pytest.mark.slow
def test_force_reproduces_periodic_target_free_running():
    task = Periodic(100)
    w = Weights.init(100, 0, 1, seed=0)
    res = train_force(task, w, 20, seed=0)
    assert res.final_loss < 0.02 * res.untrained_loss
    # Free running from h0 (each trial starts there), the readout fed back.
    target = task.target()
    tr = loop_forward(res.weights, np.zeros((100, 0)), target, np.ones_like(target))
    assert np.corrcoef(tr.y[:, 0], target[:, 0])[0, 1] > 0.99
    assert not res.local and res.online


@pytest.fixture(scope="module")
def reservoir():
    # More steps than units, so the least-squares problems are overdetermined.
    return Periodic(200), Weights.init(100, 0, 1, seed=0)


@pytest.mark.unit
def test_echo_state_readout_is_the_ridge_formula(reservoir):
    task, w = reservoir
    block = task.block(3)
    H, Y, Mk = collect_teacher_forced(w, block, noise=1e-3, rng=np.random.default_rng(0))
    lam = 1e-2  # well conditioned, so inverse and solve agree to rounding
    want = np.linalg.inv(H.T @ H + lam * np.eye(H.shape[1])) @ H.T @ Y
    np.testing.assert_allclose(ridge_readout(H, Y, Mk, lam), want.T, rtol=1e-8, atol=1e-10)


@pytest.mark.claims
@pytest.mark.slow
def test_echo_state_reproduces_periodic_target_free_running(reservoir):
    task, w = reservoir
    res = train_echo_state(task, w, 5, seed=0)
    assert res.final_loss < 0.02 * res.untrained_loss
    assert not res.online


@pytest.mark.unit
def test_programming_is_least_squares_on_the_response(reservoir):
    task, w = reservoir
    response = collect_response(w, task.block(1))
    w_out, w_loop = solve_program(response, rcond=1e-10)
    lstsq = np.linalg.lstsq(response.H, response.Y, rcond=1e-10)[0].T
    np.testing.assert_allclose(w_loop, lstsq, rtol=1e-6, atol=1e-8 * np.abs(lstsq).max())
    np.testing.assert_allclose(w_out, lstsq, rtol=1e-6, atol=1e-8 * np.abs(lstsq).max())
    # The response is that of the open loop driven by y*(t-1): h(t) with h(0) = h0.
    assert response.H.shape == (task.T, w.n_hidden)
    u1 = w.w_rec @ w.h0  # y*(0) = 0 and no inputs
    np.testing.assert_allclose(response.H[0], w.h0 + (-w.h0 + np.tanh(u1)) / 10.0)


@pytest.mark.claims
@pytest.mark.slow
def test_programming_reproduces_periodic_target_in_one_step(reservoir):
    task, w = reservoir
    res = program(task, w, 1)
    assert res.steps == task.T  # one simulation, no training trials
    assert res.final_loss < 0.02 * res.untrained_loss


@pytest.mark.unit
def test_masked_outputs_ignore_masked_rows():
    rng = np.random.default_rng(0)
    H, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 2))
    mask = np.ones((40, 2))
    mask[:10, 1] = 0
    got = ridge_readout(H, Y, mask, 0.0)
    np.testing.assert_allclose(got[1], np.linalg.lstsq(H[10:], Y[10:, 1], rcond=None)[0])


@pytest.mark.unit
@pytest.mark.parametrize(("kwargs", "name"), [
    ({"variant": "cubic"}, "variant"),
    ({"tau_e": 0.5}, "tau_e"),
    ({"alpha": 1.0}, "alpha"),
    ({"eta": (0.1, 0.1)}, "eta"),
    ({"eta": (0.1, -1.0, 0.1)}, "eta2"),
    ({"target": "cpp_standalone"}, "target"),
])
def test_perturbation_network_rejects_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PerturbationNetwork(Weights.init(N, M, K, seed=3), T, **kwargs)


@pytest.mark.unit
@pytest.mark.parametrize(("call", "name"), [
    (lambda t, w: train_force(t, w, 0), "trials"),
    (lambda t, w: train_force(t, w, 2, alpha=0.0), "alpha"),
    (lambda t, w: train_force(t, w, 2, every=0), "every"),
    (lambda t, w: train_echo_state(t, w, 2, ridge=-1.0), "ridge"),
    (lambda t, w: train_echo_state(t, w, 2, noise=-1.0), "noise"),
    (lambda t, w: program(t, w, 0), "conditions"),
    (lambda t, w: program(t, w, 1, rcond=2.0), "rcond"),
    (lambda t, w: program(t, w, 1, tau=0.5), "tau"),
    (lambda t, w: train_node_perturbation(t, w, 1, sigma=-0.1), "sigma"),
    (lambda t, w: train_node_perturbation(t, w, 1, p_perturb=0.0), "p_perturb"),
])
def test_rules_reject_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call(Periodic(20), Weights.init(10, 0, 1, seed=0))


@pytest.mark.unit
def test_rules_figure_is_registered():
    from brianrflo.figures import available

    assert "rules" in available()
