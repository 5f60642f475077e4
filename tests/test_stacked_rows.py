"""A row of a stacked numpy run is its network's run, bit for bit, in any grouping.

Sweeps split their (learning rate, seed) rows into tasks as they please (one task
per rate, several rates per task, one row per task); the numbers must not depend
on that. Every reduction is per row in an order fixed by the row's own shapes, so
a row equals the same network run alone (``R = 1``) or beside any other rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.batch import Replicas, sweep
from brianrflo.tasks import Periodic
from brianrflo.weights import Weights

pytestmark = pytest.mark.equivalence

RULES = ("rflo", "bptt", "nonlocal-random")
# N = 30: one row of w_rec is 7200 bytes, so rows of a stack sit at different
# alignments; T * trials = 300 steps.
N, M, K, T, TRIALS, R = 30, 2, 2, 100, 3, 5


def _problem():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(TRIALS, R, T, M))
    target = rng.normal(size=(TRIALS, R, T, K))
    mask = (rng.random((TRIALS, R, T, K)) < 0.8).astype(float)
    weights = [Weights.init(N, M, K, seed=s) for s in range(R)]
    eta = np.linspace(0.01, 0.05, R)[:, None] * np.ones(3)
    return weights, eta, x, target, mask


def _run(rule, rows, update):
    """Losses ``(len(rows), TRIALS)`` and final weights of ``rows`` stacked together."""
    weights, eta, x, target, mask = _problem()
    net = Replicas([weights[r] for r in rows], rule, eta[rows], 10.0, update)
    losses = np.array([net.train_trial(x[k][rows], target[k][rows], mask[k][rows])
                       for k in range(TRIALS)]).T
    return losses, [net.weights(i) for i in range(len(rows))]


def _assert_same(a, b, what):
    (la, wa), (lb, wb) = a, b
    assert np.array_equal(la, lb), f"{what}: losses differ by {np.max(np.abs(la - lb)):.3g}"
    for i, (x, y) in enumerate(zip(wa, wb, strict=True)):
        for name, arr in x.as_dict().items():
            assert np.array_equal(arr, getattr(y, name)), f"{what}: row {i} {name}"


@pytest.mark.parametrize("rule, update", [(rule, "trial") for rule in RULES]
                         + [("rflo", "online"), ("local-symmetric", 2)])
def test_rows_of_a_stack_equal_each_network_alone_and_any_split(rule, update):
    whole = _run(rule, np.arange(R), update)
    alone = [_run(rule, np.array([r]), update) for r in range(R)]
    _assert_same(whole, (np.concatenate([a[0] for a in alone]), [a[1][0] for a in alone]),
                 "R = 5 against R = 1 each")
    two, three = _run(rule, np.array([0, 1]), update), _run(rule, np.array([2, 3, 4]), update)
    _assert_same(whole, (np.concatenate([two[0], three[0]]), two[1] + three[1]),
                 "R = 5 against R = 2 + R = 3")
    assert not np.array_equal(whole[0][0], whole[0][1])  # the rows are different networks


@pytest.mark.parametrize("rule", RULES)
def test_sweep_rows_do_not_depend_on_the_grouping_and_equal_train(rule):
    """One learning rate's rows: alone, beside another rate's, and as train() runs them."""
    task, etas, seeds = Periodic(period=30), (0.02, 0.05), (1, 2)
    kwargs = dict(trials=4, n_hidden=N, block_trials=2)
    both = sweep(task, rule, etas, seeds, **kwargs)
    first = sweep(task, rule, etas[:1], seeds, **kwargs)
    rows = both.select(etas[0])
    for field in ("losses", "untrained", "final", "alignment"):
        assert np.array_equal(getattr(both, field)[rows], getattr(first, field)), field
    for r, seed in zip(rows, seeds, strict=True):
        alone = train(task, Settings(rule=rule, trials=4, eta=(etas[0],) * 3, seed=seed,
                                     target="reference", block_trials=2),
                      n_hidden=N, progress=False)
        assert np.array_equal(both.losses[r], alone.losses)
        assert both.final[r] == alone.final_loss
        for name, arr in alone.weights.as_dict().items():
            assert np.array_equal(getattr(both.weights[r], name), arr), name
