"""Replicas: R networks in one Brian2 network train exactly as each would alone."""

import json

import numpy as np
import pytest

from brianrflo.batch import Sweep
from brianrflo.cli import main
from brianrflo.network import BrianNetwork
from brianrflo.replicas import replica_sweep
from brianrflo.tasks import Periodic
from brianrflo.train import Settings, train
from brianrflo.weights import Weights
from helpers import K, M, N, T, random_block

pytestmark = pytest.mark.engines

ETAS = np.array([[0.05, 0.02, 0.01], [0.0, 0.1, 0.03], [0.2, 0.0, 0.0]])
TOL = 1e-12


def _alone_and_together(target, update, **kw):
    weights = [Weights.init(N, M, K, seed=s) for s in (1, 2, 3)]
    blocks = [[random_block(10 * b + r, 4) for r in range(3)] for b in range(2)]
    together = BrianNetwork(weights, T, block_trials=4, eta=ETAS, update=update,
                            target=target, **kw)
    losses = np.concatenate([together.run_block(bl) for bl in blocks], axis=1)
    got = together.get_weights()
    for r in range(3):
        alone = BrianNetwork(weights[r], T, block_trials=4, eta=ETAS[r], update=update,
                             target=target, **kw)
        alone_losses = np.concatenate([alone.run_block(bl[r]) for bl in blocks])
        np.testing.assert_allclose(losses[r], alone_losses, rtol=0, atol=TOL)
        want = alone.get_weights()
        for name in ("w_in", "w_rec", "w_out", "b"):
            np.testing.assert_allclose(getattr(got[r], name), getattr(want, name), rtol=0,
                                       atol=TOL, err_msg=f"replica {r}: {name}")
    # The replicas really differ (different weights, trials and rates).
    assert not np.allclose(got[0].w_rec, got[1].w_rec)
    return losses


@pytest.mark.parametrize("update", ["trial", "online"])
def test_replicas_equal_networks_trained_alone(update):
    losses = _alone_and_together("cython", update)
    assert losses.shape == (3, 8)


def test_replicas_with_dale_and_symmetric_feedback():
    weights = [Weights.init(N, M, K, seed=s, dale=True).symmetric() for s in (4, 5)]
    block = random_block(7, 4)
    together = BrianNetwork(weights, T, block_trials=4, eta=ETAS[:2], dale=True,
                            feedback="symmetric")
    together.run_block(block)
    for r, w in enumerate(together.get_weights()):
        alone = BrianNetwork(weights[r], T, block_trials=4, eta=ETAS[r], dale=True,
                             feedback="symmetric")
        alone.run_block(block)
        np.testing.assert_allclose(w.w_rec, alone.get_weights().w_rec, rtol=0, atol=TOL)
        np.testing.assert_array_equal(w.b, w.w_out.T)


@pytest.mark.standalone
def test_replicas_equal_networks_trained_alone_standalone():
    _alone_and_together("cpp_standalone", "trial")


def test_replica_sweep_rows_equal_train_alone_and_a_diverging_replica_stops():
    task = Periodic(25)
    settings = Settings(trials=12, block_trials=4, eta=(0, 0, 0), explode=2.0)
    # eta = 10 overshoots within a few trials; the other replicas must not notice.
    sweep = replica_sweep(task, settings, etas=[0.03, 10.0], seeds=[0, 1], n_hidden=N)
    assert list(sweep.eta) == [0.03, 0.03, 10.0, 10.0] and list(sweep.seed) == [0, 1, 0, 1]
    assert sweep.diverged.any() and not sweep.diverged[:2].any()
    for r in range(4):
        alone = train(task, Settings(trials=12, block_trials=4, eta=(sweep.eta[r],) * 3,
                                     explode=2.0, seed=int(sweep.seed[r])), n_hidden=N)
        assert sweep.diverged[r] == bool(alone.diverged)
        done = len(alone.losses)  # a diverged run stops; its sweep row is NaN from there
        np.testing.assert_allclose(sweep.losses[r, :done], alone.losses, rtol=0, atol=TOL)
        assert np.isnan(sweep.losses[r, done:]).all()
        # A diverged replica keeps the last good weights, as train() does.
        np.testing.assert_allclose(sweep.weights[r].w_rec, alone.weights.w_rec, rtol=0, atol=TOL)
        assert sweep.untrained[r] == pytest.approx(alone.untrained_loss, abs=TOL)
        if not alone.diverged:
            assert sweep.final[r] == pytest.approx(alone.final_loss, abs=TOL)
    assert (sweep.final[:2] < sweep.untrained[:2]).all()
    assert np.isinf(sweep.final[sweep.diverged]).all()


def test_bad_replica_input_names_the_parameter(weights):
    with pytest.raises(ValueError, match="eta"):
        BrianNetwork([weights, weights], T, eta=np.ones((3, 3)))
    with pytest.raises(ValueError, match="threads"):
        BrianNetwork(weights, T, threads=2)
    with pytest.raises(ValueError, match="one shape"):
        BrianNetwork([weights, Weights.init(N + 1, M, K)], T)
    with pytest.raises(ValueError, match="rules"):
        replica_sweep(Periodic(25), Settings(rule="bptt"), [0.1], [0])


def test_cli_sweep_writes_one_row_per_rate(tmp_path, capsys):
    code = main(["sweep", "periodic", "--workers", "0", "--period", "25", "--n-hidden", str(N),
                 "--trials", "8", "--block-trials", "4", "--etas", "0.01", "0.03", "--seeds", "2",
                 "--quiet", "--out", str(tmp_path)])
    assert code == 0
    saved = Sweep.load(str(tmp_path / "sweep.npz"))
    assert saved.losses.shape == (4, 8) and np.isfinite(saved.losses).all()
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    assert [row["eta"] for row in rows] == [0.01, 0.03]
    assert main(["sweep", "--etas", "0.1", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "seeds" in capsys.readouterr().err


def test_cli_sweep_runs_numpy_rules_as_stacked_networks(tmp_path):
    assert main(["sweep", "periodic", "--workers", "0", "--period", "25", "--n-hidden", str(N),
                 "--trials", "4", "--block-trials", "4", "--rule", "bptt", "--etas", "0.03",
                 "--seeds", "2",
                 "--quiet", "--out", str(tmp_path)]) == 0
    saved = Sweep.load(str(tmp_path / "sweep.npz"))
    alone = train(Periodic(25), Settings(rule="bptt", trials=4, block_trials=4,
                                         eta=(0.03,) * 3, seed=1, target="reference"),
                  n_hidden=N)
    np.testing.assert_allclose(saved.losses[1], alone.losses, rtol=0, atol=TOL)


def test_replica_sweep_runs_lif_rows_equal_train_alone():
    """On Brian2's numpy target (the grid's bookkeeping; LIF replicas on cython and
    cpp_standalone are compared with networks alone in tests/test_spiking.py)."""
    task = Periodic(25)
    # One triple per row (the LIF network learns w_rec and w_in more slowly than w_out).
    etas = [(0.01, 0.001, 0.001), (0.05, 0.01, 0.0)]
    settings = Settings(model="lif", trials=8, block_trials=4, target="numpy")
    sweep = replica_sweep(task, settings, etas=etas, seeds=[0, 1], n_hidden=N, eval_trials=2)
    np.testing.assert_array_equal(sweep.eta, np.repeat(etas, 2, axis=0))
    for r in range(4):
        alone = train(task, Settings(model="lif", trials=8, block_trials=4, target="numpy",
                                     eta=tuple(sweep.eta[r]), seed=int(sweep.seed[r])),
                      n_hidden=N, progress=False, eval_trials=2)
        assert alone.diverged is None and not sweep.diverged[r]
        np.testing.assert_allclose(sweep.losses[r], alone.losses, rtol=0, atol=TOL)
        for name in ("w_rec", "w_out", "h0"):
            np.testing.assert_allclose(getattr(sweep.weights[r], name),
                                       getattr(alone.weights, name), rtol=0, atol=TOL)
        assert sweep.untrained[r] == pytest.approx(alone.untrained_loss, abs=TOL)
        assert sweep.final[r] == pytest.approx(alone.final_loss, abs=TOL)
    assert not np.allclose(sweep.weights[0].w_rec, sweep.weights[2].w_rec)


def test_replica_sweep_refuses_a_model_it_cannot_run():
    with pytest.raises(ValueError, match="rflo"):
        replica_sweep(Periodic(25), Settings(model="lif", rule="local-symmetric", trials=2,
                                             target="cython"), [0.1], [0], n_hidden=N)
    with pytest.raises(ValueError, match="model must be"):
        replica_sweep(Periodic(25), Settings(trials=2, target="cython"), [0.1], [0],
                      n_hidden=N, model="lif")
