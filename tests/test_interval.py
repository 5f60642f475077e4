"""Interval matching (Ready-Set-Go, paper Fig. 3): inputs, targets, masks, and the CLI."""

import json

import numpy as np
import pytest

from brianrflo.cli import main
from brianrflo.tasks import IntervalMatching

pytestmark = pytest.mark.unit


def test_pulses_are_where_the_paper_puts_them():
    task = IntervalMatching(delay_min=40, delay_max=120, sd=15, onset=50)
    block = task.block(20, np.random.default_rng(0))
    d = block.info["delay"]
    assert block.x.shape == block.target.shape == block.mask.shape == (20, task.T, 1)
    assert task.T == 50 + 2 * 120 + 45
    assert np.all((d >= 40) & (d <= 120)) and len(set(d)) > 5
    t = np.arange(1, task.T + 1)

    def gauss(peak):
        return np.exp(-0.5 * ((t - peak) / 15) ** 2)

    for k in range(20):
        x, y, m = block.x[k, :, 0], block.target[k, :, 0], block.mask[k, :, 0]
        np.testing.assert_allclose(x, gauss(50) + gauss(50 + d[k]), rtol=0, atol=1e-15)
        np.testing.assert_allclose(y, gauss(50 + 2 * d[k]), rtol=0, atol=1e-15)
        assert t[np.argmax(y)] == 50 + 2 * d[k]
        # Gaussian with the stated width: half maximum at sd * sqrt(2 ln 2).
        assert y[50 + 2 * d[k] - 1 + 15] == pytest.approx(np.exp(-0.5), rel=1e-12)
        # The mask covers the target pulse and ends 3 sd after it.
        assert m.sum() == 50 + 2 * d[k] + 45 and np.all(m[: int(m.sum())] == 1)


def test_same_seed_same_trials_and_peak_delay_reads_the_target():
    task = IntervalMatching(delay_min=20, delay_max=60)
    a = task.block(5, np.random.default_rng(3))
    b = task.block(5, np.random.default_rng(3))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.info["delay"], b.info["delay"])
    assert np.array_equal(task.peak_delay(a.target, a), a.info["delay"])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"delay_min": 0}, "delay_min"), ({"delay_min": 50, "delay_max": 40}, "delay_max"),
     ({"sd": 0}, "sd"), ({"sd": float("nan")}, "sd"), ({"onset": -1}, "onset")],
)
def test_bad_settings_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        IntervalMatching(**kwargs)


def test_cli_trains_the_interval_task(tmp_path):
    out = tmp_path / "run"
    code = main(["train", "interval", "--delay-min", "10", "--delay-max", "30", "--n-hidden",
                 "10", "--trials", "20", "--block-trials", "10", "--update", "10",
                 "--target", "reference", "--quiet", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["task"] == {"task": "interval", "delay_min": 10,
                                           "delay_max": 30, "sd": 15.0, "onset": 50}
    assert len(metrics["losses"]) == 20 and (out / "training.png").exists()


def _hand_made(task, delays, where, rng):
    """Outputs with a known peak ``where`` steps after "set", and larger decoys.

    Each trial gets a unit bump peaking ``where[k]`` steps after "set", a bump 5x
    as high before "set" (at "ready") and, when the trial is shorter than the
    padded length, one 10x as high in the padding after its mask ends.
    """
    block = task.trials(delays)
    t = np.arange(1, task.T + 1)
    y = 0.01 * rng.normal(size=(len(delays), task.T))
    for k, d in enumerate(block.info["delay"]):
        set_time = task.onset + d
        end = int(block.mask[k, :, 0].sum())  # the last masked step (the mask is a prefix)
        y[k] += np.exp(-0.5 * ((t - set_time - where[k]) / 3.0) ** 2)
        y[k] += 5 * np.exp(-0.5 * ((t - task.onset) / 3.0) ** 2)
        if end < task.T:
            y[k] += 10 * np.exp(-0.5 * ((t - (end + task.T) / 2) / 2.0) ** 2) * (t > end)
    return block, y


def test_peak_delay_ignores_the_padding_after_the_mask():
    """The produced interval is the peak inside the window, not a larger one in the padding."""
    task = IntervalMatching(delay_min=20, delay_max=120, sd=5, onset=30)
    delays = np.array([20, 35, 50, 80, 119])
    # Peaks inside the window (1 to T_delay + tail steps after "set"): at its first
    # and last step and in between.
    where = np.array([1, 20, 50 + task.tail, 40, 100])
    assert np.all(where <= delays + task.tail)
    block, y = _hand_made(task, delays, where, np.random.default_rng(0))
    np.testing.assert_array_equal(task.peak_delay(y, block), where)
    np.testing.assert_array_equal(task.peak_delay(y[:, :, None], block), where)
    lo, hi = task.window(block)
    np.testing.assert_array_equal(lo, 1)
    np.testing.assert_array_equal(hi, delays + task.tail)


def test_figure_counts_produced_intervals_outside_the_window():
    from brianrflo.figures.interval import outside_window

    task = IntervalMatching(delay_min=20, delay_max=60, sd=4, onset=20)
    block = task.trials([20, 40, 60])
    hi = 60 - 20 + task.tail  # the middle trial's longest interval
    good = np.array([[1, 30, 72], [5, hi, 40]])
    assert outside_window(task, block, good) == 0
    assert outside_window(task, block, good + np.array([[0, 0, 0], [0, 1, 0]])) == 1
    assert outside_window(task, block, np.array([[0, 30, np.nan], [5, 6, 7]])) == 2
