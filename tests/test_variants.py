"""The rule variants through train(): Brian2 equals numpy, and the rules differ as they should."""

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.tasks import Periodic
from brianrflo.train import LOCAL_RULES
from brianrflo.weights import Weights

pytestmark = pytest.mark.equivalence

TASK = Periodic(period=25)


def _run(rule, target="reference", trials=4, update="trial"):
    return train(TASK, Settings(rule=rule, trials=trials, eta=(0.05,) * 3, target=target,
                                update=update, block_trials=2, seed=5),
                 n_hidden=8, progress=False)


@pytest.mark.parametrize("rule", LOCAL_RULES)
def test_local_rules_in_brian2_equal_numpy(rule):
    brian, numpy = _run(rule, "cython"), _run(rule)
    np.testing.assert_allclose(brian.losses, numpy.losses, rtol=0, atol=1e-10)
    for name, arr in numpy.weights.as_dict().items():
        np.testing.assert_allclose(getattr(brian.weights, name), arr, rtol=0, atol=1e-10,
                                   err_msg=name)


def test_rtrl_trains_like_bptt_and_random_feedback_does_not():
    bptt, rtrl, nonlocal_random = _run("bptt"), _run("rtrl"), _run("nonlocal-random")
    np.testing.assert_allclose(rtrl.weights.w_rec, bptt.weights.w_rec, rtol=0, atol=1e-12)
    assert np.abs(nonlocal_random.weights.w_rec - bptt.weights.w_rec).max() > 1e-6


def test_symmetric_feedback_is_the_readout():
    result = _run("local-symmetric")
    assert np.array_equal(result.weights.b, result.weights.w_out.T)
    assert result.alignment[-1][1] == pytest.approx(1.0)


def test_frozen_pathways_stay_frozen():
    start = Weights.init(8, 0, 1, seed=5)  # what train() draws for seed 5
    ro, rec = _run("readout-only").weights, _run("recurrent-only").weights
    assert np.array_equal(ro.w_rec, start.w_rec) and not np.allclose(ro.w_out, start.w_out)
    assert np.array_equal(rec.w_out, start.w_out) and not np.allclose(rec.w_rec, start.w_rec)


def test_dale_only_for_local_rules():
    with pytest.raises(ValueError, match="dale"):
        train(TASK, Settings(rule="bptt", trials=2, dale=True), n_hidden=8, progress=False)
