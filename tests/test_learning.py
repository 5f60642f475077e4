"""Learning that can fail: the paper's periodic task at N = 30, T = 200 (20 tau)."""

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.tasks import Periodic
from brianrflo.tasks.base import Block, Task

TRIALS = 300
SEEDS = range(5)
#: Both rules end below this fraction of their untrained loss (median over SEEDS).
#: Measured at these settings over seeds 0-19 (replica and stacked sweeps, whose rows
#: are train() alone: test_replicas, test_batch): the median network ends at 0.098 (RFLO)
#: and 0.085 (BPTT) of its untrained loss, each at 0.055-0.72 (RFLO) and 0.049-0.21
#: (BPTT). Medians of five networks drawn from those twenty (10^6 draws) reach 0.3 in
#: 0.11% (RFLO) and no (BPTT) draws. (It was 0.3 and 0.15 over three networks: BPTT's
#: 0.15 failed in 10% of draws, RFLO's 0.3 in 0.7%.)
FRACTION = 0.3


@pytest.mark.claims
@pytest.mark.slow
@pytest.mark.parametrize(("rule", "target"), [("rflo", "cython"), ("bptt", "reference")])
def test_loss_falls_well_below_untrained(rule, target):
    """Median over five networks, as the paper reports medians (single RFLO runs have
    transient loss spikes, so one network's end point is a fragile statistic)."""
    results = [
        train(Periodic(200), Settings(rule=rule, target=target, eta=(0.03,) * 3,
                                      trials=TRIALS, block_trials=100, seed=seed),
              n_hidden=30, progress=False)
        for seed in SEEDS
    ]
    assert all(r.diverged is None and len(r.losses) == TRIALS for r in results)
    ratio = np.median([r.final_loss / r.untrained_loss for r in results])
    assert ratio < FRACTION
    if rule == "rflo":
        # Paper Fig. 2c: W_out aligns with B^T during RFLO training. Over seeds 0-19 each
        # network's alignment rose by 0.13-0.77 (median 0.09 -> 0.46); medians of five
        # drawn from them rose by less than 0.1 in no draw of 10^6.
        start = np.median([r.alignment[0][1] for r in results])
        end = np.median([r.alignment[-1][1] for r in results])
        assert end > start + 0.1


class Exploding(Task):
    """Periodic targets that become astronomically large from the 21st training trial."""

    n_in, n_out, T = 0, 1, 20

    def __init__(self):
        self.drawn = 0

    def block(self, n, rng=None):
        base = Periodic(self.T).block(n)
        if n == 1:  # the evaluation trial, not a training block
            return base
        scale = np.where(np.arange(self.drawn, self.drawn + n) >= 20, 1e200, 1.0)
        self.drawn += n
        return Block(base.x, base.target * scale[:, None, None], base.mask)

    def settings(self):
        return {"task": "exploding"}


@pytest.mark.engines
def test_divergence_stops_and_keeps_last_good_weights(tmp_path, capsys):
    from brianrflo.weights import Weights

    settings = Settings(target="cython", eta=(0.03,) * 3, trials=40, block_trials=10)
    result = train(Exploding(), settings, n_hidden=8, out=tmp_path, progress=False)
    assert result.diverged is not None and "trial 21" in result.diverged
    assert "diverged" in capsys.readouterr().err
    assert len(result.losses) == 20
    # The weights after 20 good trials, from an identical run stopped there.
    reference = train(Exploding(), Settings(target="cython", eta=(0.03,) * 3, trials=20,
                                            block_trials=10), n_hidden=8, progress=False)
    saved = Weights.load(tmp_path / "weights.npz")
    assert saved.allclose(reference.weights, atol=0.0)
    assert result.weights.allclose(reference.weights, atol=0.0)


@pytest.mark.engines
def test_nothing_to_learn_is_not_divergence():
    """Zero target and zero readout: untrained loss 0, and the run completes."""
    from brianrflo.weights import Weights

    class Silent(Task):
        n_in, n_out, T = 0, 1, 20

        def block(self, n, rng=None):
            zeros = np.zeros((n, self.T, 1))
            return Block(np.zeros((n, self.T, 0)), zeros, np.ones_like(zeros))

        def settings(self):
            return {"task": "silent"}

    w = Weights.init(6, 0, 1, seed=0)
    w.w_out[:] = 0.0
    result = train(Silent(), Settings(target="reference", trials=20, block_trials=10),
                   weights=w, progress=False)
    assert result.diverged is None and result.untrained_loss == 0.0
    assert result.metrics()["final_over_untrained"] is None
