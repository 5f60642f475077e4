"""Networks stepped side by side in numpy end exactly where training each alone ends."""

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.batch import Replicas, sweep
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.train import RULES
from brianrflo.validation import ETA_MAX
from brianrflo.weights import Weights

pytestmark = pytest.mark.engines

TOL = 1e-10


def _alone(task, rule, eta, seed, trials, n_hidden, update="trial", dale=False,
           init="paper"):
    return train(task, Settings(rule=rule, trials=trials, eta=(eta,) * 3, update=update,
                                seed=seed, target="reference", dale=dale, block_trials=4,
                                init=init),
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


@pytest.mark.parametrize("rule", ["rflo", "bptt"])
def test_per_unit_tau_rows_equal_training_alone(rule):
    task, n, trials = Periodic(period=30), 6, 3
    tau = tuple(np.linspace(4.0, 14.0, n))
    got = sweep(task, rule, (0.05,), (1,), trials, n_hidden=n, tau=tau, block_trials=4)
    alone = train(task, Settings(rule=rule, trials=trials, eta=0.05, tau=tau, seed=1,
                                 target="reference", block_trials=4), n_hidden=n,
                  progress=False)
    np.testing.assert_allclose(got.losses[0], alone.losses, rtol=0, atol=TOL)
    np.testing.assert_allclose(got.weights[0].w_rec, alone.weights.w_rec, rtol=0, atol=TOL)
    scalar = sweep(task, rule, (0.05,), (1,), trials, n_hidden=n, tau=9.0, block_trials=4)
    assert not np.allclose(scalar.losses, got.losses)  # the per-unit values count


@pytest.mark.parametrize("rule", ["rflo", "bptt"])
def test_notebook_init_sweep_rows_start_and_end_as_training_alone(rule):
    task = Periodic(period=30)
    got = sweep(task, rule, (0.05,), (1, 2), 3, n_hidden=6, block_trials=4, init="notebook")
    paper = sweep(task, rule, (0.05,), (1, 2), 3, n_hidden=6, block_trials=4)
    assert not np.allclose(got.untrained, paper.untrained)  # another start, another loss
    for r in range(2):
        alone = _alone(task, rule, 0.05, int(got.seed[r]), 3, 6, init="notebook")
        np.testing.assert_allclose(got.untrained[r], alone.untrained_loss, rtol=0, atol=TOL)
        np.testing.assert_allclose(got.losses[r], alone.losses, rtol=0, atol=TOL)
        np.testing.assert_allclose(got.weights[r].w_rec, alone.weights.w_rec, rtol=0, atol=TOL)
        np.testing.assert_array_equal(got.weights[r].h0, np.full(6, 0.1))


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


@pytest.mark.parametrize("rule", ["bptt", "nonlocal-random"])
def test_diverging_row_ends_where_training_it_alone_ends(rule):
    """Divergence is judged per block, as train() judges it: the row stops at a block start."""
    task, trials, blocks, explode = Periodic(period=30), 16, 4, 2.0
    got = sweep(task, rule, (0.5, 5.0), (0, 1), trials, n_hidden=6, explode=explode,
                block_trials=blocks, checkpoints=trials)
    stopped_part_way = []
    for r in range(len(got.eta)):
        alone = train(task, Settings(rule=rule, trials=trials, eta=(got.eta[r],) * 3,
                                     seed=int(got.seed[r]), explode=explode,
                                     block_trials=blocks, target="reference"),
                      n_hidden=6, progress=False)
        ran = len(alone.losses)
        assert got.diverged[r] == (alone.diverged is not None)
        np.testing.assert_allclose(got.losses[r, :ran], alone.losses, rtol=0, atol=1e-12)
        assert np.all(np.isnan(got.losses[r, ran:]))
        for name, arr in alone.weights.as_dict().items():
            np.testing.assert_allclose(getattr(got.weights[r], name), arr, rtol=0, atol=1e-12,
                                       err_msg=f"{rule} row {r} {name}")
        expected = np.inf if got.diverged[r] else alone.final_loss
        assert got.final[r] == pytest.approx(expected, rel=0, abs=1e-12)
        # After the stop the row's alignment is that of the weights it kept.
        after = dict(alone.alignment)
        for m, a in zip(got.checkpoints, got.alignment[r], strict=True):
            if m in after or m > ran:
                assert a == pytest.approx(after[min(m, ran)], abs=1e-12)
        stopped_part_way.append(0 < ran < trials)
    # The grid holds a row that learned for some blocks, then diverged.
    assert any(stopped_part_way)


def test_diverging_replica_stops_with_its_last_good_weights():
    task = Periodic(period=30)
    # The largest rate any engine takes, online: the second network's loss explodes.
    got = sweep(task, "rflo", (0.01, ETA_MAX), (0,), 8, n_hidden=6, block_trials=4,
                update="online")
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
