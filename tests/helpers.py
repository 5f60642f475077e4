"""Shared test helpers: small random problems and the numpy reference with the engines'
update semantics. Fixtures live in conftest.py; tests import these by name."""

import numpy as np

from brianrflo import reference as ref
from brianrflo.network import update_period
from brianrflo.pending import PendingUpdate
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


NAMES = ("w_out", "w_rec", "w_in")


def reference_blocks(w: Weights, blocks, update, eta, tau=10.0, phi=np.tanh,
                     dphi=ref.tanh_prime, dale=False, symmetric=False, readout_feedback=False):
    """Numpy reference with the engine's update semantics: ``(traces, weights)`` per block."""
    online = update == "online"
    w = w.copy()
    pending = PendingUpdate(update_period(update), dale, symmetric)
    out = []
    for block in blocks:
        traces = []
        for k in range(block.n_trials):
            dw, tr = ref.rflo_trial(w, *block.trial(k), eta, tau=tau, online=online, phi=phi,
                                    dphi=dphi, dale=dale, symmetric=symmetric,
                                    readout_feedback=readout_feedback)
            traces.append(tr)
            pending.add(w, dw)
        out.append((traces, w.copy()))
    return out


def assert_matches_reference(net, weights, blocks, expected, tol=1e-10):
    """Run ``blocks`` on the Brian2 network ``net`` and compare with ``expected``."""
    start = weights
    for block, (traces, w_ref) in zip(blocks, expected, strict=True):
        losses = net.run_block(block)
        if net.target == "cython":  # the fused loop ran all but the trial starts
            assert net.sim.compiled_steps == block.n_trials * (block.x.shape[1] - 1)
        got = net.trace()
        T = block.x.shape[1]
        assert got["h"].shape == (block.n_trials * T, weights.n_hidden)
        for name in ("h", "y", "eps"):
            want = np.concatenate([getattr(tr, name)[-T:] for tr in traces])
            np.testing.assert_allclose(got[name], want, rtol=0, atol=tol, err_msg=name)
        np.testing.assert_allclose(losses, [tr.loss for tr in traces], rtol=0, atol=tol)
        w = net.get_weights()
        for name in NAMES:
            change = getattr(w, name) - getattr(start, name)
            want = getattr(w_ref, name) - getattr(start, name)
            assert np.abs(want).max() > 1e-6, "learning must change every weight"
            np.testing.assert_allclose(change, want, rtol=0, atol=tol, err_msg=name)
        start = w


def tiny_figures(monkeypatch) -> None:
    """Shrink every figure's sizes (``monkeypatch``: a ``pytest.MonkeyPatch``): the same
    code paths in seconds, for tests of what the figures do rather than what they show."""
    from brianrflo.figures import fig4, interval, periodic, rules, spiking

    quick_periodic, quick_interval, quick_spiking = (
        periodic.settings, interval.settings, spiking.settings)

    def tiny_periodic(ctx):
        s = quick_periodic(ctx)
        s.update(n_hidden=12, trials=30, seeds=2, d_trials=20, sizes=(8, 16),
                 size_trials=20, aux_trials=20)
        return s

    def tiny_interval(ctx):
        s = quick_interval(ctx)
        s.update(n_hidden=12, trials=40, seeds=1, tests=5,
                 runs=[("rflo", 30, (0.03,)), ("bptt", 40, (0.03,))])
        return s

    def tiny_spiking(ctx):
        s = quick_spiking(ctx)
        s.update(n_hidden=12, period=60, trials=20, seeds=2, interval_trials=20)
        return s

    monkeypatch.setattr(periodic, "settings", tiny_periodic)
    monkeypatch.setattr(interval, "settings", tiny_interval)
    monkeypatch.setattr(spiking, "settings", tiny_spiking)
    monkeypatch.setitem(rules.CONFIGS, "quick", {
        **rules.CONFIGS["quick"], "n_hidden": 12, "period": 40,
        "interval": {"delay_min": 5, "delay_max": 10, "sd": 2.0, "onset": 5},
        "trials": {"rflo": 20, "bptt": 20, "np": 20, "force": 3, "esn": 2},
        "conditions": {"periodic": 1, "interval": 2}})
    monkeypatch.setattr(fig4, "sizes", lambda quick: fig4.Fig4Sizes(
        n_hidden=20, reach_trials=20, loop_trials=20, direct_trials=10, block_trials=10))
