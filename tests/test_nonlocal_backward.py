"""nonlocal-random as a backward pass: BPTT with ``B eps(t)`` in place of ``W_out^T eps(t)``.

The trial-summed update of RTRL with random feedback, ``sum_t (B eps(t))^T dh(t)/dW``,
is linear in the sensitivities, whose recursion is linear: running it backwards
gives the same sum at ``O(N^2)`` per step. The sensitivity-tensor version
(``rtrl_grad(feedback=B)``) is the reference every check here holds it to.
"""

from __future__ import annotations

import numpy as np
import pytest

import brianrflo.reference as ref
from brianrflo import Settings, train
from brianrflo.batch import Replicas
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.weights import Weights

pytestmark = pytest.mark.equivalence

LEARNED = ("w_out", "w_rec", "w_in")
TOL = 1e-12  # relative to the largest entry of the reference gradient

# (seed, N, M, K, T, tau): with and without inputs, one and two outputs, a short
# tau and one tau per unit (so that a misplaced 1/tau cannot hide).
CASES = [
    (0, 5, 0, 1, 40, 10.0),
    (1, 7, 2, 1, 30, 10.0),
    (2, 6, 3, 2, 25, 3.0),
    (3, 9, 0, 2, 35, 4.0),
    (4, 8, 1, 2, 30, "per-unit"),
]


def _problem(seed, n, m, k, T, tau):
    """Random network (B ~ N(0, 1) as drawn for training), inputs, targets, 0/1 mask."""
    w = Weights.init(n, m, k, seed=seed)
    rng = np.random.default_rng(500 + seed)
    x = rng.normal(size=(T, m))
    target = rng.normal(size=(T, k))
    mask = (rng.random((T, k)) < 0.7).astype(float)
    mask[-1] = 1.0
    tau = rng.uniform(2.0, 12.0, size=n) if tau == "per-unit" else tau
    return w, x, target, mask, tau


def _close(got, want, name):
    """Equal to ``TOL`` times the reference's scale, and the reference is not ~0."""
    if want.size == 0:  # w_in of a network without inputs
        assert got.shape == want.shape
        return
    scale = np.max(np.abs(want))
    assert scale > 1e-6, f"{name}: reference gradient too small to test"
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL * scale, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"N{c[1]}-M{c[2]}-K{c[3]}-tau{c[5]}")
def test_backward_pass_with_b_equals_sensitivity_tensor(case):
    w, x, target, mask, tau = _problem(*case)
    got, tr = ref.bptt_grad(w, x, target, mask, tau, feedback=w.b)
    want, tr_ref = ref.rtrl_grad(w, x, target, mask, tau, feedback=w.b)
    assert tr.loss == tr_ref.loss
    for name in LEARNED:
        assert got[name].shape == getattr(w, name).shape
        _close(got[name], want[name], name)
    # w_out's gradient is the exact readout gradient, whatever the feedback.
    exact, _ = ref.bptt_grad(w, x, target, mask, tau)
    np.testing.assert_array_equal(got["w_out"], exact["w_out"])
    # The feedback matters: B's update is far from the exact gradient.
    assert np.max(np.abs(got["w_rec"] - exact["w_rec"])) > 1e-3 * np.max(np.abs(exact["w_rec"]))


def test_default_feedback_is_the_exact_gradient():
    w, x, target, mask, tau = _problem(*CASES[2])
    g0, _ = ref.bptt_grad(w, x, target, mask, tau)
    g1, _ = ref.bptt_grad(w, x, target, mask, tau, feedback=w.w_out.T.copy())
    for name in LEARNED:
        _close(g1[name], g0[name], name)  # a contiguous copy may round differently


OLD_CALLS = []


def _old_path(w, x, target, mask, tau=10.0, phi=np.tanh, dphi=ref.tanh_prime, feedback=None):
    """What train() ran before: RTRL's sensitivities with feedback ``B`` (stacked, as
    train()'s numpy engine, a one-row batch.Replicas, runs them)."""
    assert feedback is not None, "only nonlocal-random is routed here"
    OLD_CALLS.append(1)
    return RTRL(w, x, target, mask, tau, feedback=feedback, phi=phi, dphi=dphi)


RTRL = ref.stacked_rtrl


@pytest.mark.parametrize("task", [Periodic(period=30), IntervalMatching(5, 12, 2.0, 3)],
                         ids=["no-input", "input"])
def test_train_runs_the_backward_pass_and_matches_the_old_path(monkeypatch, task):
    settings = Settings(rule="nonlocal-random", trials=6, eta=(0.05, 0.02, 0.03), update=2,
                        seed=4, target="reference", block_trials=4)

    def no_tensor(*args, **kwargs):
        raise AssertionError("nonlocal-random must not build RTRL's sensitivity tensor")

    with monkeypatch.context() as m:
        m.setattr(ref, "stacked_rtrl", no_tensor)
        new = train(task, settings, n_hidden=7, progress=False)
    OLD_CALLS.clear()
    with monkeypatch.context() as m:
        m.setattr(ref, "stacked_bptt", _old_path)
        old = train(task, settings, n_hidden=7, progress=False)
    assert len(OLD_CALLS) >= settings.trials  # the old path did run (also for evaluation)
    np.testing.assert_allclose(new.losses, old.losses, rtol=1e-12, atol=0)
    start = Weights.init(7, task.n_in, task.n_out, seed=4)
    for name, arr in old.weights.as_dict().items():
        _close(getattr(new.weights, name), arr, name)
        if name in ("w_rec", "w_out"):  # training moved them
            assert not np.allclose(arr, getattr(start, name))


@pytest.mark.parametrize("m, k", [(0, 1), (2, 2)])
def test_stacked_replicas_equal_single_networks(monkeypatch, m, k):
    """Each replica's nonlocal-random update is its own network's sensitivity-tensor one."""
    n, T, tau = 6, 25, 5.0
    problems = [_problem(s, n, m, k, T, tau)[:4] for s in (10, 11, 12)]
    eta = np.array([[0.1, 0.2, 0.3], [0.05, 0.05, 0.05], [0.3, 0.01, 0.2]])
    net = Replicas([p[0] for p in problems], "nonlocal-random", eta, tau, update=1)
    x, target, mask = (np.stack([p[i] for p in problems]) for i in (1, 2, 3))
    with monkeypatch.context() as patched:
        patched.setattr(ref, "stacked_rtrl", lambda *a, **kw: pytest.fail("O(N^4) path used"))
        losses = net.train_trial(x, target, mask)
    for r, (w, xr, tr, mr) in enumerate(problems):
        g, trace = ref.rtrl_grad(w, xr, tr, mr, tau, feedback=w.b)
        assert losses[r] == pytest.approx(trace.loss, rel=1e-13)
        for j, name in enumerate(LEARNED):
            step = getattr(net.weights(r), name) - getattr(w, name)
            _close(step, -eta[r, j] * g[name], f"replica {r} {name}")
