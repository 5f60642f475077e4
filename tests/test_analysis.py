"""Measures of a trained network: Fig. 4's path distance and sequence accuracy."""

import numpy as np
import pytest

from brianrflo.analysis import path_distance, sequence_accuracy, syllable_moves
from brianrflo.tasks.reach import HOLD, cursor, reach_directions, sequence_velocity

pytestmark = pytest.mark.unit

SYLLABLE, LENGTH = 10, 50.0
SQUARE = (0, HOLD, 1, HOLD, 2, HOLD, 3, HOLD)
#: What one syllable can do: each of the four reaches, or hold still.
MOVES = np.vstack([LENGTH * reach_directions(4), np.zeros(2)])


def path(sequence) -> np.ndarray:
    return cursor(sequence_velocity(sequence, SYLLABLE, LENGTH, 4))


def test_distance_is_the_mean_over_steps_of_the_euclidean_distance():
    target = path(SQUARE)
    # Off by (3, 4) (distance 5) and (-6, -8) (distance 10) on alternate steps: the mean
    # distance is 7.5. Averaging the offsets first would give 0.5 (-1.5, -2); the RMS
    # sqrt(62.5); summing coordinates 10.5; each is wrong.
    offset = np.where(np.arange(len(target))[:, None] % 2 == 0, [3.0, 4.0], [-6.0, -8.0])
    assert path_distance(target + offset, target) == pytest.approx(7.5, rel=1e-12)
    assert path_distance(target, target) == 0.0


def test_moves_are_the_displacement_over_each_syllable_from_the_origin():
    moves = syllable_moves(path(SQUARE), SYLLABLE)
    want = [MOVES[0], MOVES[4], MOVES[1], MOVES[4], MOVES[2], MOVES[4], MOVES[3], MOVES[4]]
    np.testing.assert_allclose(moves, want, atol=1e-9)


def test_accuracy_counts_the_syllables_whose_move_is_the_target_move():
    target = path(SQUARE)
    assert sequence_accuracy(target, target, SYLLABLE, MOVES) == 1.0
    # Holding where "up" was due: 1 syllable of 8 wrong. The rest of the path is then
    # displaced, but each later syllable still makes its own move.
    missed = path((0, HOLD, HOLD, HOLD, 2, HOLD, 3, HOLD))
    assert sequence_accuracy(missed, target, SYLLABLE, MOVES) == pytest.approx(7 / 8)
    # Moves, not positions, are compared: displaced by a constant, the path is right.
    assert sequence_accuracy(target + [30.0, -20.0], target, SYLLABLE, MOVES) == 1.0
    # A reach is read as the nearest move: 60% of its length still counts, 40% is a hold.
    for frac, right in ((0.6, 1.0), (0.4, 7 / 8)):
        velocity = sequence_velocity(SQUARE, SYLLABLE, LENGTH, 4)
        velocity[:SYLLABLE] *= frac
        got = sequence_accuracy(cursor(velocity), target, SYLLABLE, MOVES)
        assert got == pytest.approx(right)


def test_standing_still_scores_the_holds_only():
    target = path(SQUARE)
    still = np.zeros_like(target)
    assert sequence_accuracy(still, target, SYLLABLE, MOVES) == 0.5
    assert path_distance(still, target) == pytest.approx(
        np.mean(np.linalg.norm(target, axis=1)))


@pytest.mark.parametrize(("call", "word"), [
    (lambda: path_distance(np.zeros((8, 2)), np.zeros((9, 2))), "same shape"),
    (lambda: path_distance(np.zeros(8), np.zeros(8)), "path"),
    (lambda: syllable_moves(np.zeros((15, 2)), SYLLABLE), "syllables of 10 steps"),
    (lambda: sequence_accuracy(np.zeros((20, 2)), np.zeros((20, 2)), 0, MOVES), "syllable"),
    (lambda: sequence_accuracy(np.zeros((20, 2)), np.zeros((20, 2)), 10, MOVES[:, :1]),
     "moves"),
])
def test_bad_input_names_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_per_network_curves_are_window_means_and_keep_divergence():
    """Fig. 2b's per-network curves: the mean of each window of trials, a network's
    divergence (NaN losses) showing as a gap from its window on."""
    from brianrflo.figures.periodic import per_network

    losses = np.arange(20, dtype=float).reshape(2, 10)
    losses[1, 7:] = np.nan
    got = per_network(losses, points=3)  # windows of 3 trials; the 10th is left out
    assert got["trial"] == [3, 6, 9]
    assert got["losses"] == [[1.0, 4.0, 7.0], [11.0, 14.0, None]]
