"""Networks stepped side by side in numpy end exactly where training each alone ends."""

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.batch import Replicas, sweep
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.train import RULES
from brianrflo.weights import Weights

TOL = 1e-10


def _alone(task, rule, eta, seed, trials, n_hidden, update="trial", dale=False):
    return train(task, Settings(rule=rule, trials=trials, eta=(eta,) * 3, update=update,
                                seed=seed, target="reference", dale=dale, block_trials=4),
                 n_hidden=n_hidden, progress=False)


@pytest.mark.parametrize("rule", RULES)
def test_sweep_rows_equal_training_alone(rule):
    task = Periodic(period=30)
    etas, seeds, trials, n = (0.02, 0.1), (1, 2), 3, 6
    got = sweep(task, rule, etas, seeds, trials, n_hidden=n, block_trials=4)
    assert got.losses.shape == (4, trials)
    for r in range(4):
        alone = _alone(task, rule, got.eta[r], int(got.seed[r]), trials, n)
        np.testing.assert_allclose(got.losses[r], alone.losses, rtol=0, atol=TOL)
        np.testing.assert_allclose(got.final[r], alone.final_loss, rtol=0, atol=TOL)
        for name, arr in alone.weights.as_dict().items():
            np.testing.assert_allclose(getattr(got.weights[r], name), arr, rtol=0, atol=TOL,
                                       err_msg=f"{rule} row {r} {name}")
    # Learning rates matter: the rows at the two etas differ.
    learned = "w_out" if rule == "readout-only" else "w_rec"
    assert not np.allclose(getattr(got.weights[0], learned), getattr(got.weights[2], learned))


@pytest.mark.parametrize("update, dale", [("online", False), (2, True)])
def test_sweep_online_batches_and_dale_on_random_trials(update, dale):
    """Interval matching draws random delays: the rows see train()'s trial stream."""
    task = IntervalMatching(delay_min=5, delay_max=12, sd=2, onset=3)
    got = sweep(task, "rflo", (0.05,), (3, 4), 6, n_hidden=6, update=update, dale=dale,
                block_trials=4)
    for r in range(2):
        alone = _alone(task, "rflo", 0.05, int(got.seed[r]), 6, 6, update=update, dale=dale)
        np.testing.assert_allclose(got.losses[r], alone.losses, rtol=0, atol=TOL)
        np.testing.assert_allclose(got.weights[r].w_rec, alone.weights.w_rec, rtol=0, atol=TOL)


def test_diverging_replica_stops_with_its_last_good_weights():
    task = Periodic(period=30)
    got = sweep(task, "rflo", (0.01, 1e4), (0,), 4, n_hidden=6, block_trials=4)
    assert list(got.diverged) == [False, True]
    assert np.isinf(got.final[1]) and np.isfinite(got.final[0])
    assert np.all(np.isfinite(got.weights[1].w_rec))
    assert got.best_eta() == 0.01


def test_bad_input_names_the_parameter():
    w = [Weights.init(4, 0, 1, seed=0)]
    with pytest.raises(ValueError, match="rule"):
        Replicas(w, rule="hebb")
    with pytest.raises(ValueError, match="online"):
        Replicas(w, rule="bptt", update="online")
    with pytest.raises(ValueError, match="eta"):
        Replicas(w, eta=(-1, 0, 0))
