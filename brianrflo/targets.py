"""Which Brian2 target runs a training run: ``target='auto'`` made concrete.

cpp_standalone with brianrflo's dense templates (:mod:`brianrflo.dense`) trains
20-40x faster than Brian2's runtime cython target, but a new network shape costs a
compile of about 10 s (1.5 s once its project is cached). ``'auto'`` therefore
picks cpp_standalone unless the run is so small that cython would finish before
that compile, or no C++ compiler is installed.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["AUTO", "choose_target", "cython_seconds", "compiler_available"]

#: The default target: resolved by :func:`choose_target` when a run starts.
AUTO = "auto"
#: Seconds a cold cpp_standalone project takes to compile (benchmarks/bench_rflo.py,
#: "first build": 6-12 s on a 2-core machine).
COMPILE_S = 10.0


def cython_seconds(n_hidden: int, network_steps: int) -> float:
    """Rough time of ``network_steps`` RFLO steps on the runtime cython target.

    About 30 us per step plus 2.6 ns per synapse, fitted to the cython rows of
    ``docs/performance.md`` (N = 30 to 1000); only its order of magnitude matters.
    """
    return network_steps * (30e-6 + 2.6e-9 * n_hidden ** 2)


def compiler_available() -> bool:
    """Whether a C++ compiler (``$CXX`` or ``g++``/``c++``/``clang++``) is on the PATH."""
    names = [os.environ["CXX"].split()[0]] if os.environ.get("CXX") else []
    return any(shutil.which(name) for name in [*names, "g++", "c++", "clang++"])


def choose_target(n_hidden: int, network_steps: int, threads: int = 1) -> tuple[str, str]:
    """The Brian2 target for a run, and why, in words.

    Parameters
    ----------
    n_hidden
        Units per network.
    network_steps
        Time steps the run simulates, summed over networks (trials x T x replicas).
    threads
        OpenMP threads asked for (more than 1 needs cpp_standalone).
    """
    if not compiler_available():
        return "numpy", "no C++ compiler found (install g++ for compiled targets)"
    if threads > 1:
        return "cpp_standalone", f"{threads} OpenMP threads"
    estimate = cython_seconds(n_hidden, network_steps)
    if estimate < COMPILE_S:
        return "cython", f"a small run (~{estimate:.0f} s on cython, less than a compile)"
    return "cpp_standalone", f"~{estimate:.0f} s on cython, compiled once instead"
