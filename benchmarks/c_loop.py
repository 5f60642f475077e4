"""The hand-written C loop of RFLO training (``c_loop/rflo.c``), built and called from Python.

It is the compiled limit the benchmark measures brianrflo's engines against: the
maths of :func:`brianrflo.reference.rflo_trial` with ``update='trial'``, compiled by
the compiler and with the flags Brian2's cpp_standalone projects use, so a ratio to
it measures our code generation, not the compiler.

    from c_loop import CLoop, train
    losses, weights = train(weights, task.block(50, rng), eta=(0.01, 0.01, 0.01))

The shared library is cached under the temporary folder, keyed by the source, the
compiler and its flags.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from brianrflo.tasks.base import Block
from brianrflo.weights import Weights

SOURCE = Path(__file__).with_name("c_loop") / "rflo.c"
#: Where built libraries are kept between runs.
CACHE = Path(tempfile.gettempdir()) / "brianrflo_c_loop"

_F64 = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
_library: ctypes.CDLL | None = None


def compiler_and_flags() -> tuple[str, list[str]]:
    """The C++ compiler and the flags a cpp_standalone project of Brian2 compiles with.

    Brian2 writes ``$(CXX)`` (make's default ``g++``, or the environment's ``CXX``)
    and ``-c -Wno-write-strings`` plus the flags of
    ``brian2.codegen.cpp_prefs.get_compiler_and_args()`` into its makefile: by
    default ``prefs.codegen.cpp.extra_compile_args_gcc``, less those the compiler
    rejects. ``-c`` is left out here; :func:`build` adds ``-fPIC -shared``.
    """
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    _, flags = get_compiler_and_args()
    return os.environ.get("CXX", "g++"), ["-Wno-write-strings", *flags]


def missing_compiler() -> str | None:
    """Why the loop cannot be built here (no C++ compiler), or ``None`` if it can."""
    cxx = compiler_and_flags()[0]
    if shutil.which(shlex.split(cxx)[0]) is None:
        return f"no C++ compiler: {cxx!r} (make's CXX, what Brian2's cpp_standalone uses) not found"
    return None


def build(cache: str | os.PathLike | None = None) -> tuple[Path, float]:
    """Compile ``rflo.c`` into a shared library unless ``cache`` already holds it.

    Returns
    -------
    path
        The library.
    seconds
        Time spent compiling (0 when cached).

    Raises
    ------
    RuntimeError
        If compilation fails; nothing is left in ``cache``.
    """
    cxx, flags = compiler_and_flags()
    source = SOURCE.read_bytes()
    key = hashlib.sha1(repr((source, cxx, flags, "link-apart")).encode()).hexdigest()[:12]
    folder = Path(cache) if cache is not None else CACHE
    path = folder / f"rflo_{key}.so"
    if path.exists():
        return path, 0.0
    folder.mkdir(parents=True, exist_ok=True)
    # Built beside its final name and renamed: a concurrent or failed build never
    # leaves a half-written library where the next run would load it.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=folder)
    os.close(fd)
    obj = tmp[:-3] + ".o"
    # Compiled with Brian2's flags, but linked without -ffast-math: linking with it
    # adds crtfastmath.o, which flushes subnormals to zero in the whole process that
    # loads the library (pytest included), not only in this code.
    steps = [[*shlex.split(cxx), "-x", "c++", *flags, "-fPIC", "-c", str(SOURCE), "-o", obj],
             [*shlex.split(cxx), "-shared", obj, "-o", tmp]]
    start = time.perf_counter()
    try:
        for cmd in steps:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(
                    f"compiling {SOURCE} failed ({shlex.join(cmd)}):\n{done.stderr}")
        os.replace(tmp, path)
    finally:
        for name in (tmp, obj):
            if os.path.exists(name):
                os.remove(name)
    return path, time.perf_counter() - start


def _load() -> ctypes.CDLL:
    global _library
    if _library is None:
        lib = ctypes.CDLL(str(build()[0]))
        lib.rflo_train.restype = ctypes.c_int
        lib.rflo_train.argtypes = (
            [ctypes.c_int] * 5 + [ctypes.c_double] * 4 + [_F64] * 9
        )
        _library = lib
    return _library


def _array(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def train(weights: Weights, block: Block, eta: tuple[float, float, float],
          tau: float = 10.0, trials: int | None = None) -> tuple[np.ndarray, Weights]:
    """Train ``weights`` with RFLO on the first ``trials`` trials of ``block`` in C.

    Parameters
    ----------
    weights
        The network; not modified.
    block
        Inputs, targets and masks; its ``M`` and ``K`` must match ``weights``.
    eta
        Learning rates ``(eta1, eta2, eta3)`` of ``w_out``, ``w_rec``, ``w_in``.
    tau
        Time constant in steps, the same for every unit.
    trials
        How many of the block's trials; default all.

    Returns
    -------
    losses
        Each trial's loss, ``(trials,)``.
    weights
        The weights after the last trial (updates applied after every trial).
    """
    n_trials = block.n_trials if trials is None else int(trials)
    if not 0 <= n_trials <= block.n_trials:
        raise ValueError(f"trials must be 0..{block.n_trials}, got {trials}")
    if block.x.shape[2] != weights.n_in or block.target.shape[2] != weights.n_out:
        raise ValueError(f"block has M = {block.x.shape[2]}, K = {block.target.shape[2]}; "
                         f"weights have M = {weights.n_in}, K = {weights.n_out}")
    w = weights.copy()
    w_rec, w_in, w_out = _array(w.w_rec), _array(w.w_in), _array(w.w_out)
    x, target, mask = (_array(a[:n_trials]) for a in (block.x, block.target, block.mask))
    losses = np.empty(n_trials)
    eta1, eta2, eta3 = (float(e) for e in eta)
    status = _load().rflo_train(
        w.n_hidden, w.n_in, w.n_out, block.x.shape[1], n_trials, float(tau), eta1, eta2, eta3,
        w_rec, w_in, w_out, _array(w.b), _array(w.h0), x, target, mask, losses)
    if status:
        raise MemoryError("rflo_train could not allocate its work space")
    w.w_rec, w.w_in, w.w_out = w_rec, w_in, w_out
    return losses, w


class CLoop:
    """The C loop behind the engines' interface (``run_block``, ``get_weights``)."""

    def __init__(self, weights: Weights, eta: tuple[float, float, float], tau: float = 10.0):
        _load()  # compile (or load) now, not inside the first timed block
        self.weights = weights.copy()
        self.eta = tuple(eta)
        self.tau = tau

    def run_block(self, block: Block) -> np.ndarray:
        """Train on every trial of ``block``; each trial's loss."""
        losses, self.weights = train(self.weights, block, self.eta, self.tau)
        return losses

    def get_weights(self) -> Weights:
        """A copy of the current weights."""
        return self.weights.copy()
