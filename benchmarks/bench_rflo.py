"""RFLO training speed: numpy reference vs Brian2 cython vs cpp_standalone, one run.

Each (engine, N) pair runs in a fresh subprocess so its peak memory is its own
and Brian2's global device state cannot leak between measurements. Training
time excludes building; build time (network construction, and compilation for
cpp_standalone) is reported apart. Ratios are against the numpy reference
measured in the same run.

    python benchmarks/bench_rflo.py                # N = 30, 100
    python benchmarks/bench_rflo.py --sizes 30 100 300 --trials 60 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

ENGINES = ("reference", "cython", "cpp_standalone")


def measure(engine: str, n_hidden: int, trials: int, period: int, block: int) -> dict:
    """Train ``trials`` periodic-task trials with RFLO on one engine; time it."""
    import numpy as np

    from brianrflo.network import BrianNetwork
    from brianrflo.tasks import Periodic
    from brianrflo.train import Settings, _NumpyEngine
    from brianrflo.weights import Weights

    task = Periodic(period)
    weights = Weights.init(n_hidden, 0, 1, seed=0)
    eta = (0.01, 0.01, 0.01)
    start = time.perf_counter()
    if engine == "reference":
        net = _NumpyEngine(weights, Settings(target="reference", eta=eta, trials=trials,
                                             block_trials=block))
    else:
        net = BrianNetwork(weights, period, block_trials=block, eta=eta, target=engine)
    build = time.perf_counter() - start
    rng = np.random.default_rng(0)
    losses = []
    start = time.perf_counter()
    for _ in range(trials // block):
        losses.extend(net.run_block(task.block(block, rng)))
    run = time.perf_counter() - start
    return {
        "engine": engine,
        "n_hidden": n_hidden,
        "build_s": build,
        "run_s": run,
        "steps_per_s": trials * period / run,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_loss": float(np.mean(losses[-block:])),
    }


def _child(engine: str, n: int, args) -> dict:
    cmd = [sys.executable, __file__, "--one", engine, str(n), "--trials", str(args.trials),
           "--period", str(args.period), "--block-trials", str(args.block_trials)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{engine} N={n} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--trials", type=int, default=100, help="trials per measurement")
    parser.add_argument("--period", type=int, default=200)
    parser.add_argument("--block-trials", type=int, default=20)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trials % args.block_trials:
        parser.error("--trials must be a multiple of --block-trials")
    if args.one:
        engine, n = args.one
        print(json.dumps(measure(engine, int(n), args.trials, args.period, args.block_trials)))
        return

    import brian2
    import numpy as np

    print(f"python {platform.python_version()}  brian2 {brian2.__version__}  "
          f"numpy {np.__version__}  cores {os.cpu_count()}")
    print(f"RFLO, periodic task T={args.period}, updates per trial, {args.trials} trials "
          f"in blocks of {args.block_trials}, single thread")
    rows = []
    header = f"{'N':>5}  {'engine':<15}{'build_s':>9}{'steps/s':>11}{'x numpy':>9}{'peak MB':>9}"
    print(header)
    for n in args.sizes:
        base = None
        for engine in args.engines:
            if engine != "reference":
                _child(engine, n, args)  # warm the compile caches: build_s is a warm build
            row = _child(engine, n, args)
            if engine == "reference":
                base = row["steps_per_s"]
            row["x_numpy"] = row["steps_per_s"] / base if base else float("nan")
            rows.append(row)
            build = "-" if engine == "reference" else f"{row['build_s']:.2f}"
            print(f"{n:>5}  {engine:<15}{build:>9}{row['steps_per_s']:>11.0f}"
                  f"{row['x_numpy']:>9.2f}{row['peak_rss_mb']:>9.0f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
