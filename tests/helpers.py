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
