"""The reach task and the loop of paper Fig. 4: Brian2 loop logic against its numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from brianrflo.loop import LoopNetwork, loop_reference, syllable_units
from brianrflo.tasks import HOLD, Reach, ReachSequence
from brianrflo.tasks.reach import cursor, reach_directions
from brianrflo.weights import Weights

# Small shapes, shared by every Brian2 test here so the compiled code is reused.
N, M, SYL, LENGTH = 8, 2, 10, 1.0
SEQ = [0, HOLD, 1, HOLD]
HOLDS = 2
SEED = 1  # a schedule with rewarded decisions
UNITS = M + HOLDS


def small_weights(scale: float = 20.0) -> Weights:
    """A random network whose cursor moves about a reach length per syllable."""
    w = Weights.init(N, M, 2, seed=1)
    w.w_out *= scale
    return w


def schedule(n: int, p: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, len(SEQ))) < p).astype(float), rng.random((n, len(SEQ), UNITS))


def make_loop(w: Weights, **kwargs) -> LoopNetwork:
    """A loop of the small shapes; on Brian2's numpy target unless told (no compile)."""
    kwargs = {"syllable": SYL, "length": LENGTH, "eta_s": 0.05, "block_trials": 6,
              "n_holds": HOLDS, "seed": 2, "target": "numpy", **kwargs}
    return LoopNetwork(w, SEQ, **kwargs)


def reference(w, w_s, explore, keys, bound=LENGTH, eta_s=0.05, **kwargs):
    return loop_reference(w, w_s, SEQ, explore, keys, SYL, LENGTH, bound, eta_s,
                          n_holds=HOLDS, **kwargs)


# --- the reach task ----------------------------------------------------------------


@pytest.mark.unit
def test_reach_trials_stay_in_bounds_and_reaches_differ():
    task = Reach(n_reaches=4, syllable=50, syllables=6, length=2.0)
    block = task.block(200, np.random.default_rng(0))
    pos = cursor(block.target.reshape(-1, task.T, 2).transpose(1, 0, 2)).transpose(1, 0, 2)
    assert np.all(np.abs(pos) <= task.bound + 1e-9)
    ends = []
    for k in range(4):
        v = task.velocity([k])
        np.testing.assert_allclose(v.sum(axis=0), 2.0 * reach_directions(4)[k], atol=1e-12)
        assert np.allclose(v[0], 0, atol=1e-3) and np.allclose(v[-1], 0)  # smooth bell
        ends.append(v.sum(axis=0))
    assert len({tuple(np.round(e, 6)) for e in ends}) == 4
    assert np.all(task.velocity([HOLD]) == 0)
    # tonic one-hot input for a reach, nothing for a hold
    syl = block.info["syllables"]
    x = block.x.reshape(200, task.syllables, task.syllable, 4)
    for n, s in np.argwhere(syl != HOLD):
        assert np.all(x[n, s, :, syl[n, s]] == 1) and x[n, s].sum() == task.syllable
    assert np.all(x[syl == HOLD] == 0)
    assert (syl == HOLD).any() and (syl != HOLD).any()


@pytest.mark.unit
@pytest.mark.parametrize("kwargs, name", [({"n_reaches": 0}, "n_reaches"),
                                          ({"syllable": 1}, "syllable"),
                                          ({"length": -1.0}, "length"),
                                          ({"length": 5.0, "bound": 1.0}, "bound"),
                                          ({"p_hold": 2.0}, "p_hold")])
def test_reach_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Reach(**kwargs)


@pytest.mark.unit
def test_sequence_task_bad_input():
    with pytest.raises(ValueError, match="sequence"):
        ReachSequence([0, 7])
    task = ReachSequence([0, HOLD], syllable=20, length=3.0)
    assert task.T == 40 and task.n_in == 0
    np.testing.assert_allclose(cursor(task.target())[-1], [3.0, 0.0], atol=1e-12)


# --- the loop: Brian2 against numpy ---------------------------------------------------


@pytest.mark.equivalence
@pytest.mark.parametrize("target", ["numpy", "cython"])
@pytest.mark.parametrize("rule", ["oja", "hebb"])
def test_loop_matches_numpy_reference(rule, target):
    w = small_weights()
    net = make_loop(w, rule=rule, record=True, target=target)
    w_s0 = net.w_s
    explore, keys = schedule(6, 0.5, seed=SEED)
    got = net.run_block(6, explore=explore, keys=keys)
    want = reference(w, w_s0, explore, keys, rule=rule)
    for name in ("choices", "winners", "rewards", "allowed"):
        np.testing.assert_array_equal(getattr(got, name), want[name], err_msg=name)
    np.testing.assert_allclose(got.z, want["z"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.positions(), want["positions"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(net.w_s, want["w_s"], rtol=0, atol=1e-12)
    assert got.rewards.sum() > 0 and not np.allclose(net.w_s, w_s0), "learning must happen"


@pytest.mark.unit
def test_wta_picks_most_active_unit_except_when_exploring():
    net = make_loop(small_weights(), eta_s=0.0, w_s=np.random.default_rng(5).normal(
        size=(UNITS, N)))
    explore, keys = schedule(6, 0.5, seed=3)
    got = net.run_block(6, explore=explore, keys=keys)
    score = np.where(explore[..., None] > 0, keys, got.z)
    expected = np.argmax(np.where(got.allowed > 0, score, -np.inf), axis=2)
    np.testing.assert_array_equal(got.winners, expected)
    greedy = explore == 0
    assert greedy.any() and (~greedy).any()
    # On exploration steps the winner is usually not the most active unit.
    most_active = np.argmax(np.where(got.allowed > 0, got.z, -np.inf), axis=2)
    assert np.all(got.winners[greedy] == most_active[greedy])
    assert np.any(got.winners[~greedy] != most_active[~greedy])


@pytest.mark.unit
def test_out_of_bounds_choices_are_never_taken():
    w = small_weights(scale=40.0)  # a cursor that wanders far
    net = make_loop(w, eta_s=0.0, record=True)
    explore, keys = schedule(6, 0.5, seed=4)
    got = net.run_block(6, explore=explore, keys=keys)
    assert (got.allowed == 0).any(), "the test must meet excluded choices"
    taken = np.take_along_axis(got.allowed, got.winners[..., None], axis=2)
    assert np.all(taken == 1)
    # Independently: the chosen reach's nominal end point is inside the bounds.
    pos = net.positions()
    start = np.concatenate([np.zeros((6, 1, 2)), pos[:, SYL - 1:-1:SYL]], axis=1)
    for n, s in np.argwhere(got.choices < M):
        end = start[n, s] + LENGTH * reach_directions(M)[got.choices[n, s]]
        assert np.all(np.abs(end) <= LENGTH * 1.25 + 1e-12)


@pytest.mark.unit
def test_right_answer_w_s_produces_the_sequence_exactly():
    w = small_weights()
    # Cortical states at each decision when the target sequence runs open loop.
    task = Reach(n_reaches=M, syllable=SYL, syllables=len(SEQ), length=LENGTH)
    states = [w.h0]
    h, x = w.h0.copy(), task.inputs(SEQ)
    for t in range(len(x)):
        h = h + (-h + np.tanh(w.w_rec @ h + w.w_in @ x[t])) / 10.0
        states.append(h)
    H = np.array(states[: len(x): SYL])  # (S, N)
    answer = np.zeros((UNITS, len(SEQ)))
    answer[syllable_units(SEQ, M), np.arange(len(SEQ))] = 1.0
    w_s = answer @ np.linalg.pinv(H.T)  # row i gives 1 exactly where unit i is right
    net = make_loop(w, w_s=w_s, eta_s=0.0, p_explore=0.0, bound=1e6)
    got = net.run_block(6, explore=np.zeros((6, len(SEQ))),
                        keys=np.zeros((6, len(SEQ), UNITS)))
    assert np.all(got.choices == syllable_units(SEQ, M)[None, :])
    assert np.all(got.rewards == 1)


@pytest.mark.unit
def test_zero_reward_leaves_w_s_unchanged():
    w = small_weights()
    explore, keys = schedule(6, 0.3, seed=6)
    net = make_loop(w, eta_s=0.5)
    w_s0 = net.w_s
    chosen = reference(w, w_s0, explore, keys, eta_s=0.0)["choices"]
    wrong = (chosen + 1) % (M + 1)  # a target that is never chosen
    got = net.run_block(6, explore=explore, keys=keys, target_units=wrong)
    assert np.all(got.rewards == 0)
    np.testing.assert_array_equal(net.w_s, w_s0)
    # Control: rewarding the same choices does change W_s.
    net.w_s = w_s0
    got = net.run_block(6, explore=explore, keys=keys, target_units=chosen)
    assert got.rewards.sum() > 0 and not np.allclose(net.w_s, w_s0)


@pytest.mark.unit
def test_loop_bad_input():
    w = small_weights()
    with pytest.raises(ValueError, match="sequence"):
        LoopNetwork(w, [0, 5], syllable=SYL)
    with pytest.raises(ValueError, match="p_explore"):
        LoopNetwork(w, SEQ, syllable=SYL, p_explore=1.5)
    with pytest.raises(ValueError, match="n_holds"):
        LoopNetwork(w, SEQ, syllable=SYL, n_holds=0)
    with pytest.raises(ValueError, match="rule"):
        LoopNetwork(w, SEQ, syllable=SYL, rule="delta")
    with pytest.raises(ValueError, match="n_out"):
        LoopNetwork(Weights.init(N, M, 3, seed=0), SEQ, syllable=SYL)
    with pytest.raises(ValueError, match="target must be one of .*'cpp_standalone'"):
        LoopNetwork(w, SEQ, syllable=SYL, target="cpp_standalone")
    net = make_loop(w)
    with pytest.raises(ValueError, match="w_s"):
        net.w_s = np.zeros((UNITS + 1, N))
    with pytest.raises(ValueError, match="n must be at most"):
        net.run_block(7, np.random.default_rng(0))


# --- learning, quick mode ------------------------------------------------------------


@pytest.mark.claims
@pytest.mark.slow
def test_quick_loop_learns_the_sequence():
    """Reaches by RFLO, then the loop: well above chance (1/5) after 600 trials.

    The sizes of ``brianrflo figure fig4 --quick`` (N = 100, 400 reach trials).
    """
    from brianrflo import Settings, train
    from brianrflo.figures.fig4 import SEQUENCE

    reach = Reach(n_reaches=4, syllables=2)
    result = train(reach, Settings(rule="rflo", trials=400, eta=(0.03,) * 3, seed=0),
                   n_hidden=100, progress=False)
    net = LoopNetwork(result.weights, SEQUENCE, eta_s=0.1, n_holds=4, block_trials=100)
    rng = np.random.default_rng(0)
    codes = syllable_units(SEQUENCE, 4)
    acc = [net.run_block(100, rng).accuracy(codes).mean() for _ in range(6)]
    chance = 1 / 5
    assert np.mean(acc[-2:]) > chance + 0.3, acc
    assert np.mean(acc[-2:]) > acc[0] + 0.15, acc
