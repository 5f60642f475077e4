"""Time one trial's nonlocal-random gradient: sensitivity tensor against backward pass.

nonlocal-random (RTRL with random feedback ``B``) summed over a trial is BPTT's
backward pass with ``B eps(t)`` injected instead of ``W_out^T eps(t)``
(:func:`brianrflo.reference.bptt_grad` with ``feedback``): ``O(N^2)`` per step
instead of RTRL's ``O(N^4)``. This times both on one random trial, for one network
(:mod:`brianrflo.reference`) and for ``R`` networks stacked
(:class:`brianrflo.batch.Replicas`, as the figure grids run them), and prints the
largest difference between the two gradients relative to their scale:

    python benchmarks/nonlocal_backward.py                 # N = 30, T = 200
    python benchmarks/nonlocal_backward.py --n 50 --replicas 9 --repeat 5
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from brianrflo import reference as ref
from brianrflo.batch import Replicas
from brianrflo.weights import Weights


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` calls, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rel_diff(a: dict, b: dict) -> float:
    """Largest ``|a - b|`` over the learned weights, relative to ``b``'s largest entry."""
    return max(float(np.max(np.abs(a[n] - b[n])) / np.max(np.abs(b[n])))
               for n in ("w_out", "w_rec", "w_in"))


def single(n: int, m: int, T: int, tau: float, repeat: int) -> None:
    """One network: ``rtrl_grad(feedback=B)`` against ``bptt_grad(feedback=B)``."""
    w = Weights.init(n, m, 1, seed=0)
    rng = np.random.default_rng(1)
    x, target, mask = rng.normal(size=(T, m)), rng.normal(size=(T, 1)), np.ones((T, 1))
    tensor = best_time(lambda: ref.rtrl_grad(w, x, target, mask, tau, feedback=w.b), repeat)
    backward = best_time(lambda: ref.bptt_grad(w, x, target, mask, tau, feedback=w.b), repeat)
    diff = rel_diff(ref.bptt_grad(w, x, target, mask, tau, feedback=w.b)[0],
                    ref.rtrl_grad(w, x, target, mask, tau, feedback=w.b)[0])
    print(f"one network    N={n} T={T}: tensor {tensor * 1e3:9.1f} ms, backward "
          f"{backward * 1e3:7.2f} ms, speed-up {tensor / backward:6.1f}x, "
          f"max rel diff {diff:.1e}")


def stacked(n: int, m: int, T: int, tau: float, replicas: int, repeat: int) -> None:
    """``replicas`` networks in :class:`Replicas`: its two gradient paths."""
    nets = [Weights.init(n, m, 1, seed=s) for s in range(replicas)]
    net = Replicas(nets, "nonlocal-random", tau=tau)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(replicas, T, m))
    target, mask = rng.normal(size=(replicas, T, 1)), np.ones((replicas, T, 1))
    args = (net, x, target, mask, tau)
    tensor = best_time(lambda: ref.stacked_rtrl(*args, feedback=net.b), repeat)
    backward = best_time(lambda: ref.stacked_bptt(*args, feedback=net.b), repeat)
    a = ref.stacked_bptt(*args, feedback=net.b)[0]
    b = ref.stacked_rtrl(*args, feedback=net.b)[0]
    diff = max(float(np.max(np.abs(a[k] - b[k])) / np.max(np.abs(b[k]))) for k in a)
    print(f"{replicas} stacked     N={n} T={T}: tensor {tensor * 1e3:9.1f} ms, backward "
          f"{backward * 1e3:7.2f} ms, speed-up {tensor / backward:6.1f}x, "
          f"max rel diff {diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="hidden units (default 30)")
    parser.add_argument("--inputs", type=int, default=1, help="input channels (default 1)")
    parser.add_argument("--steps", type=int, default=200, help="trial length T (default 200)")
    parser.add_argument("--tau", type=float, default=10.0)
    parser.add_argument("--replicas", type=int, default=9,
                        help="stacked networks, 0 to skip (default 9)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many (default 3)")
    a = parser.parse_args()
    single(a.n, a.inputs, a.steps, a.tau, a.repeat)
    if a.replicas:
        stacked(a.n, a.inputs, a.steps, a.tau, a.replicas, a.repeat)


if __name__ == "__main__":
    main()
