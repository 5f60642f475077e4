"""The measurements behind tests/test_neurogym.py's bounds and the README's NeuroGym numbers.

    python tools/neurogym_margins.py [--seeds 40]

Trains RFLO in numpy (N = 30, tau = 10 steps, eta = 0.03) on ReadySetGo-v0 (1000
trials) and PerceptualDecisionMaking-v0 (2000 trials), the tests' settings, for seeds
0..n-1, and prints final/untrained loss (on the same 200 fresh trials) per network,
its median, the medians of groups of 5 (what one test run sees) and, for the
decision task, accuracy on 200 fresh trials.
"""

from __future__ import annotations

import argparse

import numpy as np

from brianrflo import reference as ref
from brianrflo.batch import sweep
from brianrflo.tasks import NeuroGym


def measure(name: str, trials: int, seeds: int) -> tuple[NeuroGym, object]:
    task = NeuroGym(name)
    return task, sweep(task, "rflo", [0.03], range(seeds), trials, n_hidden=30, tau=10.0,
                       eval_trials=200)


def report(label: str, values: np.ndarray) -> None:
    groups = [np.median(values[k:k + 5]) for k in range(0, len(values) - 4, 5)]
    print(f"  {label}: {values.min():.3g} to {values.max():.3g}, median "
          f"{np.median(values):.3g}; medians of groups of 5: {min(groups):.3g} to "
          f"{max(groups):.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    seeds = parser.parse_args().seeds
    task, result = measure("ReadySetGo-v0", 1000, seeds)
    print(f"ReadySetGo-v0, 1000 trials, {seeds} networks")
    report("final/untrained", result.final / result.untrained)
    task, result = measure("PerceptualDecisionMaking-v0", 2000, seeds)
    print(f"PerceptualDecisionMaking-v0, 2000 trials, {seeds} networks")
    report("final/untrained", result.final / result.untrained)
    fresh = task.block(200, np.random.default_rng(2**20))
    accuracy = np.array([
        task.accuracy(np.stack([ref.forward(w, *fresh.trial(k), 10.0).y
                                for k in range(fresh.n_trials)]), fresh).mean()
        for w in result.weights])
    report(f"accuracy (chance {1 / len(task.env.choices):.2f})", accuracy)


if __name__ == "__main__":
    main()
