"""Which Brian2 target runs a training run: ``target='auto'`` made concrete.

cpp_standalone with brianrflo's dense templates (:mod:`brianrflo.dense`) trains
fastest, but a new network shape costs a compile of about 10 s (1.5 s once its
project is cached). Brian2's runtime ``numpy`` target compiles nothing, so a run
too small to repay a compile runs there. The runtime ``cython`` target
(:mod:`brianrflo.fused`) trains at a third to two thirds of cpp_standalone's speed, and its first
use of a model compiles for 30-120 s (every code object apart), so ``'auto'``
never picks it for a training run; ask for it with ``target='cython'``.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["AUTO", "RUNTIME_TARGETS", "choose_target", "runtime_target", "numpy_seconds",
           "numpy_step_seconds", "compiler_available"]

#: The default target: resolved by :func:`choose_target` when a run starts.
AUTO = "auto"
#: Seconds a cold cpp_standalone project takes to compile (benchmarks/bench_rflo.py,
#: "first build": 6-12 s on a 2-core machine).
COMPILE_S = 10.0
#: Brian2's runtime targets: Python drives every step (networks whose state changes
#: between blocks in ways a standalone binary cannot replay).
RUNTIME_TARGETS = ("cython", "numpy")
#: Seconds a cold cython cache takes to compile one model's code objects (about 3.5 s a
#: code object; 80-180 s for the loop and node perturbation, measured with an empty
#: ``HOME`` by profiling ``run_figure(..., quick=True)`` at tiny sizes).
CYTHON_COMPILE_S = 60.0
#: Why a run without a C++ compiler takes the numpy target.
NO_COMPILER = "no C++ compiler found (install g++ for compiled code)"
#: Seconds of one step on Brian2's numpy target, ``a + b N^2``, of the runtime networks:
#: the loop (measured at N = 20 and 100) and node perturbation (at N = 12 and 100; about
#: 20 code objects a step). Only the order of magnitude matters.
STEP_SECONDS = {"loop": (146e-6, 1.6e-8), "perturbation": (575e-6, 1.2e-8)}


def numpy_seconds(n_hidden: int, steps: int, replicas: int = 1, runs: int = 1) -> float:
    """Rough time of ``steps`` RFLO steps of ``replicas`` networks on Brian2's numpy target.

    About 0.15 s per ``run()`` (code generation), 150 us per step and 3 ns per
    synapse and step (the ``numpy`` rows of ``benchmarks/bench_rflo.py``, N = 30 to
    1000); only its order of magnitude matters.
    """
    return runs * 0.15 + steps * (150e-6 + 3e-9 * replicas * n_hidden ** 2)


def numpy_step_seconds(network: str, n_hidden: int) -> float:
    """Rough seconds of one step of ``network`` (a key of :data:`STEP_SECONDS`) on numpy."""
    a, b = STEP_SECONDS[network]
    return a + b * n_hidden ** 2


def compiler_available() -> bool:
    """Whether a C++ compiler (``$CXX`` or ``g++``/``c++``/``clang++``) is on the PATH."""
    names = [os.environ["CXX"].split()[0]] if os.environ.get("CXX") else []
    return any(shutil.which(name) for name in [*names, "g++", "c++", "clang++"])


def runtime_target(steps: int, step_seconds: float) -> tuple[str, str]:
    """The runtime target for ``steps`` steps costing ``step_seconds`` each on numpy, and why.

    ``'numpy'`` where the whole run takes less than a cold cython compile, so that a
    short run never waits minutes for code it runs for seconds; else ``'cython'``.
    """
    if not compiler_available():
        return "numpy", NO_COMPILER
    return _numpy_or(steps * step_seconds, CYTHON_COMPILE_S, "cython")


def _numpy_or(estimate: float, compile_s: float, compiled: str) -> tuple[str, str]:
    """Numpy for a run of ``estimate`` s uncompiled shorter than a compile, else ``compiled``."""
    if estimate < compile_s:
        return "numpy", f"a small run (~{estimate:.0f} s uncompiled, less than a compile)"
    return compiled, f"~{estimate:.0f} s uncompiled, compiled once instead"


def choose_target(n_hidden: int, steps: int, threads: int = 1, replicas: int = 1,
                  runs: int = 1) -> tuple[str, str]:
    """The Brian2 target for a run of ``replicas`` networks of ``n_hidden`` units, ``steps``
    time steps (trials x T) in ``runs`` Brian2 runs, and why, in words. More than one
    OpenMP ``threads`` needs cpp_standalone.
    """
    if not compiler_available():
        return "numpy", NO_COMPILER
    if threads > 1:
        return "cpp_standalone", f"{threads} OpenMP threads"
    return _numpy_or(numpy_seconds(n_hidden, steps, replicas, runs), COMPILE_S,
                     "cpp_standalone")
