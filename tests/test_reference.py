"""Gradient checks of the numpy reference (SPEC section 2).

Small random networks; every check runs on a whole trial in float64:
BPTT == finite differences of the loss, exact RTRL == BPTT, and
trial-mode RFLO == RTRL with the nonlocal term dropped and feedback ``B``.
"""

from __future__ import annotations

import numpy as np
import pytest

from brianrflo.reference import bptt_grad, forward, loss, rflo_trial, rtrl_grad, tanh_prime
from brianrflo.weights import Weights

pytestmark = pytest.mark.equivalence

LEARNED = ("w_out", "w_rec", "w_in")

# (seed, N, M, K, T, tau): a few small networks, including a short tau so that
# misplaced 1/tau factors cannot hide behind the default tau = 10.
CASES = [
    (0, 5, 2, 2, 20, 10.0),
    (1, 6, 3, 2, 30, 10.0),
    (2, 6, 2, 2, 15, 3.0),
]


def make_problem(seed, n, m, k, T):
    """Random network, inputs, targets and a binary mask with both 0s and 1s."""
    w = Weights.init(n, m, k, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    x = rng.normal(0.0, 1.0, size=(T, m))
    target = rng.normal(0.0, 1.0, size=(T, k))
    mask = (rng.random((T, k)) < 0.7).astype(float)
    mask[0, 0], mask[-1, -1] = 0.0, 1.0
    assert 0 < mask.sum() < mask.size
    return w, x, target, mask


def fd_grad(w, x, target, mask, tau, name, step=1e-6):
    """Central finite differences of ``forward(...).loss`` for every entry of ``name``."""
    grad = np.zeros_like(getattr(w, name))
    for idx in np.ndindex(grad.shape):
        wp, wm = w.copy(), w.copy()
        getattr(wp, name)[idx] += step
        getattr(wm, name)[idx] -= step
        lp = forward(wp, x, target, mask, tau).loss
        lm = forward(wm, x, target, mask, tau).loss
        grad[idx] = (lp - lm) / (2 * step)
    return grad


def rel_err(g, ref):
    """Norm-relative error ``|g - ref| / |ref|`` over the whole array."""
    return np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"seed{c[0]}-N{c[1]}-tau{c[5]:g}")
def problem(request):
    seed, n, m, k, T, tau = request.param
    w, x, target, mask = make_problem(seed, n, m, k, T)
    fd = {name: fd_grad(w, x, target, mask, tau, name) for name in LEARNED}
    return w, x, target, mask, tau, fd


# --- forward pass -------------------------------------------------------------------


def test_trace_shapes_and_loss():
    w, x, target, mask = make_problem(0, 5, 2, 2, 20)
    tr = forward(w, x, target, mask, tau=10.0)
    T, n, k = 20, 5, 2
    assert tr.u.shape == (T, n)
    assert tr.h.shape == (T + 1, n)
    assert tr.y.shape == (T, k)
    assert tr.eps.shape == (T, k)
    assert np.array_equal(tr.h[0], w.h0)
    assert np.all(tr.eps[mask == 0] == 0)
    assert tr.loss == pytest.approx(np.sum(tr.eps**2) / (2 * T), rel=1e-14)
    assert loss(tr.eps) == tr.loss


def test_forward_is_the_euler_map():
    """Every step is ``h + (-h + tanh(W h + W_in x)) / tau`` and ``y = W_out h``."""
    w, x, target, mask = make_problem(1, 6, 3, 2, 25)
    tau = 4.0
    tr = forward(w, x, target, mask, tau=tau)
    h = w.h0.copy()
    for t in range(x.shape[0]):
        u = w.w_rec @ h + w.w_in @ x[t]
        h = h + (-h + np.tanh(u)) / tau
        np.testing.assert_allclose(tr.u[t], u, rtol=0, atol=1e-14)
        np.testing.assert_allclose(tr.h[t + 1], h, rtol=0, atol=1e-14)
        np.testing.assert_allclose(tr.y[t], w.w_out @ h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.eps, mask * (target - tr.y), rtol=0, atol=0)


def test_tanh_prime():
    u = np.linspace(-4, 4, 41)
    step = 1e-6
    fd = (np.tanh(u + step) - np.tanh(u - step)) / (2 * step)
    np.testing.assert_allclose(tanh_prime(u), fd, rtol=0, atol=1e-9)


# --- BPTT vs finite differences ------------------------------------------------------


@pytest.mark.parametrize("name", LEARNED)
def test_bptt_equals_finite_differences(problem, name):
    w, x, target, mask, tau, fd = problem
    grads, _ = bptt_grad(w, x, target, mask, tau)
    g = grads[name]
    assert g.shape == fd[name].shape
    assert np.linalg.norm(fd[name]) > 1e-4, "gradient too small for a meaningful test"
    assert rel_err(g, fd[name]) <= 1e-6
    # entrywise too, with an absolute floor for entries near 0
    floor = 1e-6 * np.max(np.abs(fd[name]))
    assert np.all(np.abs(g - fd[name]) <= 1e-6 * np.abs(fd[name]) + floor)


@pytest.mark.parametrize("name", ("w_rec", "w_in"))
def test_fd_check_detects_wrong_tau(problem, name):
    """Negative control: a gradient with a wrong 1/tau factor fails the 1e-6 check."""
    w, x, target, mask, tau, fd = problem
    wrong, _ = bptt_grad(w, x, target, mask, tau * 1.01)
    assert rel_err(wrong[name], fd[name]) > 1e-4
    g, _ = bptt_grad(w, x, target, mask, tau)
    assert rel_err(g[name] / 1.01, fd[name]) > 1e-3


# --- RTRL vs BPTT, RFLO vs local RTRL ------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}")
def test_exact_rtrl_equals_bptt(case):
    seed, n, m, k, T, tau = case
    w, x, target, mask = make_problem(seed, n, m, k, T)
    g_bptt, tr_b = bptt_grad(w, x, target, mask, tau)
    g_rtrl, tr_r = rtrl_grad(w, x, target, mask, tau, feedback=None, local=False)
    assert tr_b.loss == tr_r.loss
    for name in LEARNED:
        assert g_rtrl[name].shape == getattr(w, name).shape
        np.testing.assert_allclose(g_rtrl[name], g_bptt[name], rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}")
def test_exact_rtrl_feedback_wout_is_default(case):
    seed, n, m, k, T, tau = case
    w, x, target, mask = make_problem(seed, n, m, k, T)
    g0, _ = rtrl_grad(w, x, target, mask, tau)
    g1, _ = rtrl_grad(w, x, target, mask, tau, feedback=w.w_out.T.copy())
    for name in LEARNED:
        # a contiguous copy of w_out.T may change the matmul's rounding order
        np.testing.assert_allclose(g0[name], g1[name], rtol=1e-14, atol=1e-18)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}")
def test_rflo_trial_equals_local_rtrl_with_feedback_b(case):
    seed, n, m, k, T, tau = case
    w, x, target, mask = make_problem(seed, n, m, k, T)
    eta = (0.3, 0.02, 0.005)
    dw, tr = rflo_trial(w, x, target, mask, eta, tau, online=False)
    g_loc, tr_r = rtrl_grad(w, x, target, mask, tau, feedback=w.b, local=True)
    np.testing.assert_array_equal(tr.h, tr_r.h)
    assert tr.loss == tr_r.loss
    for name, e in zip(LEARNED, eta, strict=True):
        assert np.linalg.norm(g_loc[name]) > 1e-4
        np.testing.assert_allclose(dw[name] / e, -g_loc[name], rtol=0, atol=1e-10)


def test_rflo_trial_explicit_feedback_matches_default():
    w, x, target, mask = make_problem(3, 5, 2, 2, 20)
    eta = (0.1, 0.2, 0.3)
    dw0, _ = rflo_trial(w, x, target, mask, eta)
    dw1, _ = rflo_trial(w, x, target, mask, eta, feedback=w.b.copy())
    for name in LEARNED:
        np.testing.assert_allclose(dw0[name], dw1[name], rtol=1e-14, atol=1e-18)


def test_rflo_trial_does_not_modify_weights():
    w, x, target, mask = make_problem(4, 5, 2, 2, 20)
    before = w.copy()
    rflo_trial(w, x, target, mask, (0.5, 0.5, 0.5), online=True)
    rflo_trial(w, x, target, mask, (0.5, 0.5, 0.5), online=False)
    assert w.allclose(before, atol=0.0)


def test_local_rtrl_differs_from_bptt():
    """Negative control: dropping the nonlocal term changes w_rec/w_in by far more than 1e-10."""
    for seed, n, m, k, T, tau in CASES:
        w, x, target, mask = make_problem(seed, n, m, k, T)
        g_bptt, _ = bptt_grad(w, x, target, mask, tau)
        g_loc, _ = rtrl_grad(w, x, target, mask, tau, feedback=None, local=True)
        g_rnd, _ = rtrl_grad(w, x, target, mask, tau, feedback=w.b, local=True)
        # w_out's gradient does not depend on the feedback or locality
        np.testing.assert_allclose(g_loc["w_out"], g_bptt["w_out"], rtol=0, atol=1e-12)
        for name in ("w_rec", "w_in"):
            assert np.max(np.abs(g_loc[name] - g_bptt[name])) > 1e-5
            assert np.max(np.abs(g_rnd[name] - g_bptt[name])) > 1e-5


# --- online RFLO -----------------------------------------------------------------------


def test_rflo_online_zero_eta_matches_forward():
    w, x, target, mask = make_problem(5, 6, 3, 2, 25)
    tau = 10.0
    dw, tr = rflo_trial(w, x, target, mask, (0.0, 0.0, 0.0), tau, online=True)
    ref = forward(w, x, target, mask, tau)
    # u and h come from the same step function with the same weights: bit-identical
    np.testing.assert_array_equal(tr.u, ref.u)
    np.testing.assert_array_equal(tr.h, ref.h)
    # y is computed per step (w_out @ h) online but as one matrix product in forward,
    # so it may differ in the last bit
    np.testing.assert_allclose(tr.y, ref.y, rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.eps, ref.eps, rtol=0, atol=1e-14)
    assert np.all(tr.eps[mask == 0] == 0)
    assert tr.loss == pytest.approx(ref.loss, rel=1e-13)
    for name in LEARNED:
        assert dw[name].shape == getattr(w, name).shape
        assert np.all(dw[name] == 0)


def test_rflo_online_small_eta_is_T_times_trial_update():
    """Online updates are not divided by T: for tiny eta, online dw ~= T * trial dw."""
    w, x, target, mask = make_problem(6, 5, 2, 2, 20)
    T = x.shape[0]
    eta = (1e-7, 2e-7, 3e-7)
    dw_on, tr_on = rflo_trial(w, x, target, mask, eta, online=True)
    dw_tr, _ = rflo_trial(w, x, target, mask, eta, online=False)
    for name in LEARNED:
        assert rel_err(dw_on[name], T * dw_tr[name]) < 1e-4
    # and the online weights really did change during the trial
    assert not np.array_equal(tr_on.h, forward(w, x, target, mask).h)


def test_rflo_online_applies_updates_during_trial():
    """With a large eta online, the trace differs from the fixed-weight forward pass."""
    w, x, target, mask = make_problem(7, 5, 2, 2, 20)
    _, tr_on = rflo_trial(w, x, target, mask, (0.5, 0.5, 0.5), online=True)
    _, tr_off = rflo_trial(w, x, target, mask, (0.5, 0.5, 0.5), online=False)
    ref = forward(w, x, target, mask)
    np.testing.assert_array_equal(tr_off.h, ref.h)
    # first step sees the initial weights; later steps see updated ones
    np.testing.assert_array_equal(tr_on.h[:2], ref.h[:2])
    assert np.max(np.abs(tr_on.y - ref.y)) > 1e-3


def test_rflo_online_trace_is_self_consistent():
    """Online mode: each step uses the weights as updated by all earlier steps.

    The weights are rebuilt from the returned trace with the RFLO rule, and every
    step's ``u`` and ``y`` must come from those weights.
    """
    w, x, target, mask = make_problem(8, 5, 2, 2, 20)
    tau, eta = 5.0, (0.2, 0.3, 0.4)
    dw, tr = rflo_trial(w, x, target, mask, eta, tau, online=True)
    cur = {name: getattr(w, name).copy() for name in LEARNED}
    p = np.zeros_like(w.w_rec)
    q = np.zeros_like(w.w_in)
    for t in range(x.shape[0]):
        u = cur["w_rec"] @ tr.h[t] + cur["w_in"] @ x[t]
        np.testing.assert_allclose(tr.u[t], u, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tr.h[t + 1], tr.h[t] + (-tr.h[t] + np.tanh(u)) / tau,
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(tr.y[t], cur["w_out"] @ tr.h[t + 1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(tr.eps[t], mask[t] * (target[t] - tr.y[t]), rtol=0, atol=0)
        d = tanh_prime(tr.u[t])
        p = (1 - 1 / tau) * p + np.outer(d, tr.h[t]) / tau
        q = (1 - 1 / tau) * q + np.outer(d, x[t]) / tau
        fb = w.b @ tr.eps[t]
        cur["w_out"] += eta[0] * np.outer(tr.eps[t], tr.h[t + 1])
        cur["w_rec"] += eta[1] * fb[:, None] * p
        cur["w_in"] += eta[2] * fb[:, None] * q
    for name in LEARNED:
        np.testing.assert_allclose(getattr(w, name) + dw[name], cur[name], rtol=0, atol=1e-12)
        assert np.max(np.abs(dw[name])) > 1e-3
