"""Spiking (LIF) units: Brian2 equals the numpy reference, learning, Dale's law, errors, CLI."""

import json

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.cli import main
from brianrflo.models import MODELS, LIFModel
from brianrflo.replicas import replica_sweep
from brianrflo.spiking import SpikingNetwork
from brianrflo.spiking_reference import lif_blocks
from brianrflo.tasks import Periodic
from brianrflo.weights import dale_signs
from helpers import K, M, N, random_block

T = 40
ETA = (0.05, 0.04, 0.03)
TOL = 1e-10
MODEL = MODELS["lif"]
QUICK_ETA = (0.01, 0.001, 0.001)


def _weights(dale=False):
    return MODEL.init_weights(N, M, K, seed=3, dale=dale)


def _check(net, w, blocks, expected):
    """Each block: the same spikes, v/r/psi/y/eps and weight changes to ``TOL``."""
    start = w
    total_spikes, refractory_at_start = 0, False
    for block, (traces, w_ref) in zip(blocks, expected, strict=True):
        losses = net.run_block(block)
        if net.target == "cython":  # thresholds, resets and the spike monitor fused too
            assert net.sim.compiled_steps == block.n_trials * (block.x.shape[1] - 1)
        got = net.trace()
        z = np.concatenate([tr.z for tr in traces])
        units, steps = net.spikes()
        want_steps, want_units = np.nonzero(z)
        order = np.lexsort((units, steps))
        np.testing.assert_array_equal(steps[order], want_steps)
        np.testing.assert_array_equal(units[order], want_units)
        np.testing.assert_array_equal(got["z"], z)
        total_spikes += len(units)
        # A unit that fired in a trial's last n_ref steps is refractory into the next
        # trial unless the trial start clears it; the block must exercise that case.
        refractory_at_start |= any(np.any(tr.z[-MODEL.n_ref:]) for tr in traces[:-1])
        for name in ("v", "r", "psi", "y", "eps"):
            want = np.concatenate([getattr(tr, name) for tr in traces])
            np.testing.assert_allclose(got[name], want, rtol=0, atol=TOL, err_msg=name)
        np.testing.assert_allclose(losses, [tr.loss for tr in traces], rtol=0, atol=TOL)
        current = net.get_weights()
        for name in ("w_out", "w_rec", "w_in"):
            change = getattr(current, name) - getattr(start, name)
            want = getattr(w_ref, name) - getattr(start, name)
            assert np.abs(want).max() > 1e-6, "learning must change every weight"
            np.testing.assert_allclose(change, want, rtol=0, atol=TOL, err_msg=name)
        start = current
    assert total_spikes > 20
    assert refractory_at_start


@pytest.mark.equivalence
@pytest.mark.parametrize(
    "target",
    ["cython", pytest.param("cpp_standalone", marks=pytest.mark.standalone)],
)
@pytest.mark.parametrize("update, dale", [("trial", False), ("online", False), ("trial", True)])
def test_brian_equals_reference(target, update, dale):
    w = _weights(dale)
    seed = 30 if dale else 50  # blocks in which a trial ends with a refractory unit
    blocks = [random_block(seed, 2, T=T), random_block(seed + 1, 2, T=T)]
    net = SpikingNetwork(w, T, block_trials=2, eta=ETA, update=update, model=MODEL,
                         target=target, record=True, dale=dale)
    _check(net, w, blocks, lif_blocks(w, blocks, ETA, update, model=MODEL, dale=dale))


ETAS = np.array([[0.05, 0.04, 0.03], [0.0, 0.08, 0.02], [0.1, 0.0, 0.0]])


def _alone_and_together(target, update, n=N, T=T, dale=False):
    """Three LIF replicas trained together equal each trained alone (losses, weights)."""
    weights = [MODEL.init_weights(n, M, K, seed=s, dale=dale) for s in (1, 2, 3)]
    blocks = [[random_block(10 * b + r, 2, T=T) for r in range(3)] for b in range(2)]
    together = SpikingNetwork(weights, T, block_trials=2, eta=ETAS, update=update,
                              model=MODEL, target=target, dale=dale)
    losses = np.concatenate([together.run_block(bl) for bl in blocks], axis=1)
    got = together.get_weights()
    for r in range(3):
        alone = SpikingNetwork(weights[r], T, block_trials=2, eta=ETAS[r], update=update,
                               model=MODEL, target=target, dale=dale)
        alone_losses = np.concatenate([alone.run_block(bl[r]) for bl in blocks])
        np.testing.assert_allclose(losses[r], alone_losses, rtol=0, atol=1e-12)
        want = alone.get_weights()
        for name in ("w_in", "w_rec", "w_out"):
            np.testing.assert_allclose(getattr(got[r], name), getattr(want, name), rtol=0,
                                       atol=1e-12, err_msg=f"replica {r}: {name}")
        # Learning moved the weights (rates of 0 leave a pathway where it started).
        assert not np.allclose(got[r].w_out if ETAS[r, 0] else got[r].w_rec,
                               weights[r].w_out if ETAS[r, 0] else weights[r].w_rec)
    # The replicas really differ (own initial weights, v0, trials and rates).
    assert not np.allclose(got[0].w_rec, got[1].w_rec)
    return losses


@pytest.mark.engines
@pytest.mark.parametrize("update, dale", [("trial", False), ("online", True)])
def test_replicas_equal_networks_trained_alone(update, dale):
    assert _alone_and_together("cython", update, dale=dale).shape == (3, 4)


@pytest.mark.engines
@pytest.mark.standalone
def test_replicas_equal_networks_trained_alone_standalone():
    _alone_and_together("cpp_standalone", "trial", n=6, T=20)


@pytest.mark.unit
def test_replicas_refuse_recording():
    with pytest.raises(ValueError, match="record"):
        SpikingNetwork([_weights(), _weights()], T, record=True)


@pytest.mark.unit
def test_reference_refractoriness_and_reset():
    """After a spike, v sits at v_reset for n_ref steps and psi is 0 there."""
    w = _weights()
    traces = lif_blocks(w, [random_block(30, 1, T=T)], (0.0,) * 3, model=MODEL)[0][0]
    tr = traces[0]
    steps, units = np.nonzero(tr.z)
    checked = 0
    for s, a in zip(steps, units, strict=True):
        if s + MODEL.n_ref < T:
            window = slice(s, s + MODEL.n_ref + 1)
            assert np.all(tr.v[window, a] == MODEL.v_reset)
            assert np.all(tr.psi[s + 1:s + MODEL.n_ref + 1, a] == 0)
            assert np.all(tr.z[s + 1:s + MODEL.n_ref + 1, a] == 0)
            checked += 1
    assert checked > 5


@pytest.mark.claims
@pytest.mark.slow
def test_spiking_network_learns_the_periodic_task():
    """Quick mode (T = 20 tau, N = 30, 300 trials, Brian2 cython): the median final loss
    of nine networks is below half their median untrained loss.

    Nine networks are one replica sweep (each row is ``train`` of that network alone:
    test_replicas). The margin, measured with these settings over seeds 0-19: the median
    network ends at 0.17 of the untrained median, each at 0.03-0.43 of its own untrained
    loss, and seed 11 diverges. Medians of nine networks drawn from those twenty (10^6
    draws) end above half the untrained median in 0.06% of draws; seeds 0-8 end at 0.25.
    """
    settings = Settings(model="lif", trials=300, block_trials=100, target="cython")
    sweep = replica_sweep(Periodic(200), settings, etas=[QUICK_ETA], seeds=range(9),
                          n_hidden=30)
    assert np.median(sweep.final) < 0.5 * np.median(sweep.untrained)


@pytest.mark.equivalence
def test_dale_keeps_signs():
    w = _weights(dale=True)
    net = SpikingNetwork(w, T, block_trials=4, eta=(0.0, 5.0, 0.0), update="trial",
                         model=MODEL, dale=True)
    net.run_block(random_block(32, 4, T=T))
    got = net.get_weights().w_rec
    signs = dale_signs(N)
    assert np.all(signs[None, :] * got >= 0), "a recurrent weight changed sign"
    assert np.any((got == 0) & (w.w_rec != 0)), "the clip must have acted"
    assert not np.allclose(got, w.w_rec)


@pytest.mark.unit
@pytest.mark.parametrize("kwargs, name", [
    ({"tau_r": 0.5}, "tau_r"), ({"n_ref": -1}, "n_ref"), ({"n_ref": 1.5}, "n_ref"),
    ({"v_th": 0.0}, "v_th"), ({"v_reset": 2.0}, "v_reset"), ({"gamma": -1.0}, "gamma"),
    ({"i_bias": float("nan")}, "i_bias"),
])
def test_bad_model_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LIFModel(**kwargs)


@pytest.mark.unit
def test_bad_network_settings():
    w = _weights()
    with pytest.raises(ValueError, match="tau"):
        SpikingNetwork(w, T, tau=0.5)
    with pytest.raises(ValueError, match="one number"):
        SpikingNetwork(w, T, tau=np.full(N, 10.0))
    with pytest.raises(ValueError, match="rflo"):
        train(Periodic(20), Settings(model="lif", rule="local-symmetric", trials=2),
              progress=False)
    with pytest.raises(ValueError, match="Brian2 engines"):
        train(Periodic(20), Settings(model="lif", target="reference", trials=2), progress=False)


@pytest.mark.engines
def test_cli_trains_lif(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "periodic", "--model", "lif", "--n-hidden", str(N), "--period", "20",
                 "--trials", "20", "--block-trials", "10", "--eta", "0.003", "--quiet",
                 "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model"] == "lif"
    assert len(metrics["losses"]) == 20 and np.isfinite(metrics["final_loss"])
    assert (out / "training.png").exists()
    assert main(["show-equations", "--model", "lif"]) == 0
    assert "threshold: v > v_th" in capsys.readouterr().out


@pytest.mark.claims
@pytest.mark.slow
def test_spiking_figure_quick(tmp_path, monkeypatch):
    from brianrflo.figures import run_figure

    learning, build = [], SpikingNetwork.__init__

    def spy(self, weights, *args, **kwargs):
        build(self, weights, *args, **kwargs)
        if np.any(self._eta):  # the raster network does not learn
            learning.append(self.R)

    monkeypatch.setattr(SpikingNetwork, "__init__", spy)
    record = run_figure("spiking", tmp_path, quick=True, seeds=2, progress=False)
    # Periodic and interval matching: each grid of seeds is one network of replicas.
    assert learning == [2, 2]
    assert (tmp_path / "spiking.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "spiking.json").read_text())
    assert saved["command"] == "brianrflo figure spiking --quick"
    lif = record["periodic"]["lif"]
    assert lif["diverged"] == 0 and lif["final_over_untrained"]["p75"] < 0.5
    assert record["periodic"]["rate"]["final"]["median"] is not None
    assert record["interval"]["lif"]["final"]["median"] < record["interval"]["lif"]["untrained"][
        "median"]
    assert 0 < record["spikes_per_unit_step"]["before"] < 0.5

