"""RFLO training speed: numpy reference, Brian2 cython and cpp_standalone, a C loop; one run.

Each (engine, N) pair runs in fresh subprocesses so its peak memory is its own
and Brian2's global device state cannot leak between measurements; the fastest of
``--repeats`` (3) processes is kept, as the machine's noise only ever slows a run
(on a shared 2-core machine the C loop at N = 30 varied by 30 % between runs). Training
time excludes building; build time (network construction, and compilation for
cpp_standalone and the C loop) is reported apart. Ratios are against the numpy
reference and against the hand-written C loop (``c_loop.py``, the compiled limit:
the same maths, compiled with Brian2's compiler flags) measured in the same run.

    python benchmarks/bench_rflo.py --threads 2 --json bench.json   # docs/performance.md
    python benchmarks/bench_rflo.py --sizes 30 --replicas 9 --no-demo  # a quick look

It also times a grid of ``--replicas`` networks (seeds x learning rates) run as
one Brian2 simulation against the same networks trained one after another in
numpy, and ``make demo``'s time to its first trained trial. Before the table it
reports how many code objects the Brian2 network runs per step and the cold
compile time of its cpp_standalone project (an empty project folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

ENGINES = ("reference", "numpy", "brian2-cython", "cython", "brian2-templates", "cpp_standalone",
           "c-loop")
#: From this N on, the numpy loop is slow enough that fewer trials are timed.
LARGE = 300


def measure(engine: str, n_hidden: int, trials: int, period: int, block: int,
            replicas: int = 1, threads: int = 1) -> dict:
    """Train ``trials`` periodic-task trials with RFLO on one engine; time it.

    With ``replicas = R`` (Brian2 engines), R networks of different seeds and
    learning rates train as one simulation; ``steps_per_s`` then counts network-steps.
    ``brian2-templates`` is cpp_standalone with Brian2's own synapse templates (index
    arrays) instead of brianrflo's dense ones, in a project folder of its own;
    ``brian2-cython`` is Brian2's own cython target (its templates and ``Network.run``,
    one return to Python per code object and step) instead of :mod:`brianrflo.fused`.
    For cpp_standalone, ``binary_steps_per_s`` counts only the binary's own run time
    (Brian2's ``last_run_info``), without starting it and passing arrays per block.
    """
    import numpy as np

    from brianrflo.network import BrianNetwork
    from brianrflo.tasks import Periodic
    from brianrflo.train import Settings, _NumpyEngine
    from brianrflo.weights import Weights

    task = Periodic(period)
    weights = [Weights.init(n_hidden, 0, 1, seed=r) for r in range(replicas)]
    eta = np.linspace(0.005, 0.02, replicas)[:, None] * np.ones(3)
    start = time.perf_counter()
    if engine == "reference":
        net = _NumpyEngine(weights[0], Settings(target="reference", trials=trials,
                                                block_trials=block), tuple(eta[0]))
    elif engine == "c-loop":
        from c_loop import CLoop

        net = CLoop(weights[0], tuple(eta[0]))
    elif engine == "stacked-numpy":
        net = _Stacked(weights, eta)
    else:
        directory = None
        if engine == "brian2-templates":
            directory = os.path.join(tempfile.gettempdir(), "brianrflo_bench_brian2_templates",
                                     f"{n_hidden}-{replicas}-{threads}")
            _without_dense_templates()
        if engine == "brian2-cython":
            _without_fused_cython()
        net = BrianNetwork(weights if replicas > 1 else weights[0], period, block_trials=block,
                           eta=eta if replicas > 1 else tuple(eta[0]),
                           target=("cpp_standalone" if directory
                                   else "cython" if engine == "brian2-cython" else engine),
                           threads=threads, directory=directory)
    build = time.perf_counter() - start
    rngs = [np.random.default_rng(r) for r in range(replicas)]
    losses = []
    in_binary = 0.0
    start = time.perf_counter()
    for _ in range(trials // block):
        blocks = [task.block(block, rng) for rng in rngs]
        losses.append(net.run_block(blocks if replicas > 1 else blocks[0]))
        if getattr(getattr(net, "sim", None), "standalone", False):
            in_binary += net.sim._device._last_run_time
    run = time.perf_counter() - start
    return {
        "engine": engine,
        "n_hidden": n_hidden,
        "replicas": replicas,
        "threads": threads,
        "build_s": build,
        "run_s": run,
        "steps_per_s": replicas * trials * period / run,
        "binary_steps_per_s": replicas * trials * period / in_binary if in_binary else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_loss": float(np.mean(losses[-1])),
    }


class _Stacked:
    """The stacked numpy engine (``brianrflo.batch.Replicas``) with ``run_block``'s interface."""

    def __init__(self, weights, eta):
        from brianrflo.batch import Replicas

        self.net = Replicas(weights, "rflo", eta)

    def run_block(self, blocks):
        import numpy as np

        blocks = blocks if isinstance(blocks, list) else [blocks]
        losses = []
        for k in range(blocks[0].n_trials):
            x, target, mask = (np.stack(a) for a in zip(*(b.trial(k) for b in blocks),
                                                        strict=True))
            losses.append(self.net.train_trial(x, target, mask))
        return np.array(losses).T


def _without_dense_templates() -> None:
    """Make this process's networks use Brian2's own synapse templates (benchmark only)."""
    from brianrflo import assembly

    assembly.DenseCodeObject = None  # Synapses(codeobj_class=None): the device's own


def _without_fused_cython() -> None:
    """Make this process's cython networks Brian2's own cython target (benchmark only)."""
    from brian2 import second

    from brianrflo import fused

    def brian2_run(net, steps, dt, prepared=False):
        net.run(steps * dt * second, namespace={})
        return 0

    fused.TARGET, fused.run = "cython", brian2_run


def structure(n_hidden: int, period: int, block: int) -> dict:
    """Code objects per step and per trial, and the cold compile of cpp_standalone.

    Builds the benchmark's network on cpp_standalone in an empty project folder
    (code generation and compilation from nothing; Brian2's standalone projects keep
    no other cache) and counts the code objects of the objects on the step clock
    (``dt`` of one step) and on the trial clock (resets, loss monitor).
    """
    import numpy as np

    from brianrflo.network import DT, BrianNetwork
    from brianrflo.weights import Weights

    with tempfile.TemporaryDirectory(prefix="brianrflo_cold_") as folder:
        start = time.perf_counter()
        net = BrianNetwork(Weights.init(n_hidden, 0, 1, seed=0), period, block_trials=block,
                           eta=(0.01,) * 3, target="cpp_standalone", directory=folder)
        cold = time.perf_counter() - start
    step, trial = [], []
    for obj in net.net.sorted_objects:
        if obj.active:
            names = [c.name for c in obj.code_objects]
            (step if np.isclose(float(obj.clock.dt), float(DT)) else trial).extend(names)
    return {"engine": "structure", "n_hidden": n_hidden, "cold_compile_s": cold,
            "step_code_objects": step, "trial_code_objects": trial}


def demo_first_trial(block_trials: int = 1) -> float:
    """Seconds from starting ``make demo``'s command to its first trained block.

    The demo's own command with ``--block-trials`` small, so the first progress
    line follows the first trained trial(s); the compile cache is warmed first.
    """
    brianrflo = os.path.join(os.path.dirname(sys.executable), "brianrflo")
    cmd = [brianrflo, "train", "periodic", "--rule", "rflo", "--n-hidden", "30", "--period",
           "200", "--trials", "2000", "--seed", "0", "--block-trials", str(block_trials),
           "--overwrite", "--out"]
    with tempfile.TemporaryDirectory() as out:
        for _ in range(2):  # the first run fills Brian2's compile cache
            start = time.perf_counter()
            proc = subprocess.Popen([*cmd, out], stderr=subprocess.PIPE, text=True)
            for line in proc.stderr:
                if line.lstrip().startswith("trial"):
                    break
            first = time.perf_counter() - start
            proc.kill()
            proc.wait()
    return first


def _child(engine: str, n: int, args, replicas: int = 1, threads: int = 1) -> dict:
    """``measure`` (or ``structure``, engine ``"structure"``) in a fresh process."""
    large = n >= LARGE
    trials = args.large_trials if large else args.trials
    block = args.large_block_trials if large else args.block_trials
    cmd = [sys.executable, __file__, "--one", engine, str(n), "--trials", str(trials),
           "--period", str(args.period), "--block-trials", str(block),
           "--replicas", str(replicas), "--threads", str(threads)]
    # Single thread means numpy's BLAS too: it would otherwise use both cores for
    # the reference's matrix-vector products.
    env = {**os.environ, **{name: str(threads) for name in
                            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise RuntimeError(f"{engine} N={n} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100, 300, 1000])
    parser.add_argument("--trials", type=int, default=200, help="trials per measurement")
    parser.add_argument("--period", type=int, default=200)
    parser.add_argument("--block-trials", type=int, default=50)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--large-trials", type=int, default=10,
                        help=f"trials per measurement for N >= {LARGE}")
    parser.add_argument("--large-block-trials", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=90,
                        help="grid size for the replica measurement (N = --grid-n)")
    parser.add_argument("--grid-n", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1,
                        help="also time cpp_standalone with this many OpenMP threads")
    parser.add_argument("--no-demo", action="store_true",
                        help="skip timing make demo's first trained trial")
    parser.add_argument("--no-structure", action="store_true",
                        help="skip counting code objects and the cold cpp_standalone compile")
    parser.add_argument("--structure-n", type=int, default=30,
                        help="N of the network whose code objects and cold compile are reported")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes per measurement; the fastest is kept")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trials % args.block_trials or args.large_trials % args.large_block_trials:
        parser.error("--trials (--large-trials) must be a multiple of --block-trials "
                     "(--large-block-trials)")
    if args.one:
        engine, n = args.one
        if engine == "structure":
            print(json.dumps(structure(int(n), args.period, args.block_trials)))
        else:
            print(json.dumps(measure(engine, int(n), args.trials, args.period,
                                     args.block_trials, args.replicas, args.threads)))
        return

    import brian2
    import numpy as np

    print(f"python {platform.python_version()}  brian2 {brian2.__version__}  "
          f"numpy {np.__version__}  cores {os.cpu_count()}")
    print(f"RFLO, periodic task T={args.period}, updates per trial, {args.trials} trials "
          f"in blocks of {args.block_trials} ({args.large_trials} in blocks of "
          f"{args.large_block_trials} from N = {LARGE}), single thread unless said, "
          f"fastest of {args.repeats} processes")
    engines = _c_loop_note(args.engines)
    rows = []
    if not args.no_structure:
        rows.append(_structure_note(args))
    print(f"{'N':>5}  {'engine':<22}{'first build_s':>14}{'build_s':>9}{'steps/s':>11}"
          f"{'x numpy':>9}{'x C loop':>10}{'in binary':>11}{'x C loop':>10}{'peak MB':>9}")

    def ratio(value, base):
        return None if base is None else value / base

    def report(row, label, first, numpy_base, c_base):
        row["x_numpy"] = ratio(row["steps_per_s"], numpy_base)
        row["x_c_loop"] = ratio(row["steps_per_s"], c_base)
        binary = row.get("binary_steps_per_s")
        row["binary_x_c_loop"] = None if binary is None else ratio(binary, c_base)
        row["first_build_s"] = first
        rows.append(row)
        cold = "-" if first is None else f"{first:.2f}"
        build = "-" if row["engine"] == "reference" else f"{row['build_s']:.2f}"
        x_np, x_c, b_c = ("-" if r is None else f"{r:.2f}"
                          for r in (row["x_numpy"], row["x_c_loop"], row["binary_x_c_loop"]))
        in_bin = "-" if binary is None else f"{binary:.0f}"
        print(f"{row['n_hidden']:>5}  {label:<22}{cold:>14}{build:>9}{row['steps_per_s']:>11.0f}"
              f"{x_np:>9}{x_c:>10}{in_bin:>11}{b_c:>10}{row['peak_rss_mb']:>9.0f}", flush=True)

    def best(engine, n, replicas=1, threads=1):
        # The fastest of --repeats fresh processes: this machine's noise only slows.
        runs = [_child(engine, n, args, replicas, threads) for _ in range(args.repeats)]
        return {**max(runs, key=lambda row: row["steps_per_s"]), "repeats": args.repeats}

    def timed(engine, n, replicas=1, threads=1):
        # The first child fills the compile cache: its build time is the cold one.
        first = None
        if engine != "reference":
            first = _child(engine, n, args, replicas, threads)["build_s"]
        return best(engine, n, replicas, threads), first

    # Steps/s of one network, by engine and N: the bases of the ratios.
    speed = {}
    for n in args.sizes:
        # Every engine of this N is measured before any is printed, so each row can
        # be given as a ratio to the C loop whatever the order of --engines.
        measured = [(*timed(engine, n), engine) for engine in engines]
        if args.threads > 1 and "cpp_standalone" in engines:
            measured.append((*timed("cpp_standalone", n, threads=args.threads),
                             f"cpp_standalone {args.threads} thr"))
        for row, _, label in measured:
            speed[label, n] = row["steps_per_s"]
        for row, first, label in measured:
            report(row, label, first, speed.get(("reference", n)), speed.get(("c-loop", n)))
    if args.replicas > 1:
        n = args.grid_n
        for engine in ("reference", "c-loop"):
            if (engine == "reference" or engine in engines) and (engine, n) not in speed:
                speed[engine, n] = best(engine, n)["steps_per_s"]
        print(f"grid: {args.replicas} networks (seeds x learning rates) at N = {n} in one "
              f"simulation; 'x numpy' and 'x C loop' are against training them one after "
              f"another in numpy or the C loop ({args.replicas} x one measured network: "
              "those loops' cost is linear in the networks)")
        for engine in ("stacked-numpy", "cython", "cpp_standalone"):
            row, first = timed(engine, n, args.replicas)
            report(row, f"{engine} x{args.replicas}", first, speed.get(("reference", n)),
                   speed.get(("c-loop", n)))
    if not args.no_demo:
        demo = demo_first_trial()
        rows.append({"engine": "demo", "first_trial_s": demo})
        print(f"make demo (warm cache): first trained trial after {demo:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


def _c_loop_note(engines: list[str]) -> list[str]:
    """Print how the C loop is compiled; drop it from ``engines`` without a compiler."""
    if "c-loop" not in engines:
        return engines
    from c_loop import compiler_and_flags, missing_compiler

    reason = missing_compiler()
    if reason:
        print(f"c-loop left out: {reason}")
        return [e for e in engines if e != "c-loop"]
    cxx, flags = compiler_and_flags()
    print(f"c-loop: benchmarks/c_loop/rflo.c compiled as Brian2's cpp_standalone code is: "
          f"{cxx} {' '.join(flags)} (+ -fPIC -shared)")
    return engines


def _structure_note(args) -> dict:
    """Count the Brian2 network's code objects and time its cold standalone compile."""
    row = _child("structure", args.structure_n, args)
    step, trial = row["step_code_objects"], row["trial_code_objects"]
    print(f"Brian2 network at N = {row['n_hidden']}: {len(step)} code objects per step "
          f"({', '.join(step)}); {len(trial)} per trial; cold cpp_standalone compile "
          f"(empty project folder): {row['cold_compile_s']:.2f} s")
    return row


if __name__ == "__main__":
    main()
