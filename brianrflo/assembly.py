"""One assembler for every Brian2 network brianrflo runs, and one device life cycle.

:class:`Assembly` makes the Brian2 objects of a network (groups, all-to-all
synapses, code run every step or at trial starts, monitors) and records each with
its schedule, so :meth:`Assembly.show` prints exactly what was built, in the order
Brian2 runs it. The rate network and its RFLO family, the LIF network, node
perturbation and the basal-ganglia loop are all assembled here.

:class:`Simulation` is the one way to switch Brian2 targets and run a network a
block at a time: on the runtime targets a block is ``Network.run``; on
cpp_standalone the project is built once and every block is ``device.run`` with
the block's values passed as ``run_args``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import os
import shutil
from dataclasses import dataclass
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import ms
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import all_devices, reinit_devices

from . import fused, object_cache
from .dense import TEMPLATER, DenseCodeObject, mark_dense

__all__ = ["DT", "TARGETS", "Assembly", "Simulation", "pre_post", "to_synapses",
           "from_synapses"]

#: One step of the paper's discrete-time map.
DT = 1 * ms

#: Code-generation targets: Brian2's runtime cython (and numpy, for debugging)
#: and the C++ standalone device.
TARGETS = ("cython", "numpy", "cpp_standalone")

#: Brian2's slots within a time step, in the order it runs them.
_SLOTS = ("start", "before_groups", "groups", "after_groups", "before_thresholds",
          "thresholds", "after_thresholds", "before_synapses", "synapses", "after_synapses",
          "before_resets", "resets", "after_resets", "before_end", "end")


def pre_post(n_pre: int, n_post: int, replicas: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All-to-all ``(i, j)`` for ``Synapses.connect``, presynaptic unit by presynaptic unit.

    Synapse ``k = b * n_post + a`` is ``b -> a``. Consecutive synapses thus reach
    different targets, so a summed variable's scatter-add never waits on its own
    last write (at N = 100 it runs 3x faster than in ``W.ravel()`` order,
    ``benchmarks/scatter_order.py``), while each target still sums its inputs in
    presynaptic order. A weight matrix ``W[post, pre]`` maps to the synapses by
    :func:`to_synapses` and back by :func:`from_synapses`. With ``replicas = R``
    the groups hold ``R`` blocks of units, each connected only to its own block,
    and the synapses of replica ``r`` follow those of ``r - 1``.
    """
    i = np.repeat(np.arange(n_pre), n_post)
    j = np.tile(np.arange(n_post), n_pre)
    r = np.repeat(np.arange(replicas), i.size)
    return np.tile(i, replicas) + r * n_pre, np.tile(j, replicas) + r * n_post


def to_synapses(w: np.ndarray) -> np.ndarray:
    """Matrices ``W[..., post, pre]`` (replicas first) as synapse values in
    :func:`pre_post` order."""
    return np.swapaxes(np.asarray(w, dtype=np.float64), -1, -2).ravel()


def from_synapses(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Synapse values in :func:`pre_post` order as matrices of ``shape`` ``(..., post, pre)``."""
    *lead, n_post, n_pre = shape
    return np.swapaxes(np.asarray(values).reshape(*lead, n_pre, n_post), -1, -2).copy()


@dataclass(frozen=True)
class _Entry:
    """One piece of a network as :meth:`Assembly.show` prints it."""

    when: str
    order: int
    name: str
    title: str
    text: str

    def key(self) -> tuple:
        # Brian2 orders a step's work by slot, order and name, whatever the clock.
        return (_SLOTS.index(self.when), self.order, self.name)


class Assembly:
    """Builds one Brian2 network and records what it built.

    Parameters
    ----------
    namespace
        Constants and functions the equations refer to.
    trial_steps
        Steps per trial: the period of the trial clock that resets state at trial starts.
    prefix
        Prefix of the trial clock's name (Brian2 names must be unique among live objects).
    replicas
        Independent copies of the network in every group (all-to-all synapses
        connect only units of one copy).
    """

    def __init__(self, namespace: dict, trial_steps: int, prefix: str = "",
                 replicas: int = 1):
        self.ns = dict(namespace)
        self.R = replicas
        # One clock for everything that runs every step: Brian2 gives each object made
        # with dt= a clock of its own, and walks every clock every step (a std::set
        # of the clocks due, built anew each step: 17 % of a step's instructions at
        # N = 30 in cpp_standalone, measured with callgrind).
        self.step_clock = b2.Clock(dt=DT, name=f"{prefix}step_clock")
        self.trial_clock = b2.Clock(dt=trial_steps * DT, name=f"{prefix}trial_clock")
        self.objects: list = []
        self._entries: list[_Entry] = []

    # ---------------------------------------------------------------- objects
    def timed_array(self, key: str, rows: int, columns: int | None = None, dt=DT,
                    name: str | None = None, about: str | None = None) -> b2.TimedArray:
        """A TimedArray of zeros (filled per block), known to the equations as ``key``
        (its Brian2 name is ``name``, default ``key``); ``about`` says for :meth:`show`
        what fills it."""
        shape = (rows,) if columns is None else (rows, max(columns, 1))
        ta = b2.TimedArray(np.zeros(shape), dt=dt, name=name or key)
        self.ns[key] = ta
        if about is not None:
            self._add("start", -1, key, f"{key}: TimedArray, filled before every block",
                      about)
        return ta

    def group(self, name: str, n: int, equations, title: str, method: str | None = None,
              clock: b2.Clock | None = None, **kwargs) -> b2.NeuronGroup:
        """A NeuronGroup; ``method`` integrates its differential equations."""
        group = b2.NeuronGroup(n, equations, method=method or "euler", name=name,
                               namespace=self.ns, clock=clock or self.step_clock, **kwargs)
        text = str(equations).strip()
        for what in ("threshold", "reset"):
            if kwargs.get(what):
                text += f"\n{what}: {kwargs[what].strip()}"
        self._add("groups", 0, f"{name}_stateupdater",
                  f"{name}: {title}" + (f" (method={method!r})" if method else ""), text)
        self.objects.append(group)
        return group

    def synapses(self, name: str, source, target, equations: str, when: str, order: int,
                 title: str, connect: tuple | None = None, clock: b2.Clock | None = None,
                 state: tuple[str, int] | None = None,
                 summed: dict[str, tuple[str, int]] | None = None) -> b2.Synapses:
        """Synapses ``source -> target`` whose summed variables run at ``when``/``order``.

        Without ``connect`` (an ``(i, j)`` pair) they are all-to-all within each
        replica (:func:`pre_post`) and run dense (:mod:`brianrflo.dense`: loops without
        index arrays on cpp_standalone and cython); ``state`` schedules
        their state updater (differential equations), if any, and ``summed`` gives
        single summed variables (``'u_y_post'``) a ``(when, order)`` of their own.
        """
        all_to_all = connect is None
        standalone = isinstance(b2.get_device(), CPPStandaloneDevice)
        syn = b2.Synapses(source, target, equations, method="euler", name=name,
                          namespace=self.ns,
                          codeobj_class=DenseCodeObject if all_to_all and standalone else None,
                          clock=clock or self.step_clock)
        n_pre, n_post = len(source) // self.R, len(target) // self.R
        i, j = pre_post(n_pre, n_post, self.R) if connect is None else connect
        if standalone:
            syn.connect(i=np.asarray(i, dtype=int), j=np.asarray(j, dtype=int))
        else:
            # connect() runs once: on cython Brian2 would compile a 1.2 MB module for it,
            # one per synapses' name (about 10 s each on a cold cache); numpy needs none.
            # The class must be None again: the synapses' code runners read it at every run.
            syn.codeobj_class = NumpyCodeObject
            try:
                syn.connect(i=np.asarray(i, dtype=int), j=np.asarray(j, dtype=int))
            finally:
                syn.codeobj_class = None
        if all_to_all:
            mark_dense(syn, self.R, n_pre, n_post)
        summed = summed or {}
        for var, updater in syn.summed_updaters.items():
            updater.when, updater.order = summed.get(var, (when, order))
        if state is not None:
            syn.state_updater.when, syn.state_updater.order = state
        kind = "all-to-all" if all_to_all else f"{len(i)} synapses"
        self._add(when, order, name, f"{name}: {title}, {source.name} -> {target.name} ({kind})",
                  equations.strip())
        for var, (w, o) in summed.items():
            self._add(w, o, f"{name}_{var}", f"{name}: summed {var} of the synapses above",
                      f"{var} (summed)")
        self.objects.append(syn)
        return syn

    def every_step(self, owner, code: str, when: str, order: int, name: str,
                   title: str, clock: b2.Clock | None = None) -> None:
        """Run ``code`` on ``owner`` every step (or every tick of ``clock``)."""
        kwargs = {"clock": clock} if clock is not None else {}
        owner.run_regularly(code, when=when, order=order, name=name, **kwargs)
        every = "every step" if clock is None else f"every tick of {clock.name}"
        self._add(when, order, name, f"{name}: {title}, {every}", code.strip())

    def at_trial_start(self, owner, code: str, name: str, order: int = 1) -> None:
        """Run ``code`` on ``owner`` at the start of every trial."""
        owner.run_regularly(code, clock=self.trial_clock, when="start", order=order,
                            name=name)
        self._add("start", order, name, f"{name}: at each trial start", code.strip())

    def monitor(self, name: str, source, variables, when: str, order: int,
                per_trial: bool = False, clock: b2.Clock | None = None) -> b2.StateMonitor:
        """A StateMonitor of ``variables`` every step (or at trial starts, or on ``clock``)."""
        if per_trial:
            clock = self.trial_clock
        kwargs = {"clock": clock} if clock is not None else {}
        mon = b2.StateMonitor(source, variables, record=True, when=when, order=order,
                              name=name, **kwargs)
        every = ("at each trial start" if per_trial else "every step" if clock is None
                 else f"every tick of {clock.name}")
        self._add(when, order, name, f"{name}: records {source.name}, {every}",
                  ", ".join(np.atleast_1d(variables)))
        self.objects.append(mon)
        return mon

    def add(self, obj) -> None:
        """Another Brian2 object of the network (a SpikeMonitor, say)."""
        self.objects.append(obj)

    def network(self) -> b2.Network:
        """A Brian2 Network of everything assembled so far."""
        return b2.Network(self.objects)

    # ------------------------------------------------------------------- show
    def _add(self, when: str, order: int, name: str, title: str, text: str) -> None:
        self._entries.append(_Entry(when, order, name, title, text))

    def show(self) -> str:
        """What was built, object by object, in the order Brian2 runs it each step."""
        lines = []
        for e in sorted(self._entries, key=_Entry.key):
            lines.append(f"# [{e.when}, order {e.order}] {e.title}\n{e.text}\n")
        return "\n".join(lines)


#: The Simulation that holds Brian2's one cpp_standalone project in this process.
_live_standalone: list[Simulation] = []
#: Most project folders one network shape may have (one per process running it at once).
MAX_COPIES = 64
#: Memory-backed folder for the binaries' results, where the system has one.
SHARED_MEMORY = "/dev/shm"


class ProjectFolder:
    """A cpp_standalone project folder this process alone uses while it holds it.

    Runs write their arguments and results into the project folder, so two
    processes running the same network shape at once (two terminals, two Dask
    workers) must not share one. The folder ``base`` is taken if no other
    process holds it, else ``base-1``, ``base-2``, ...; each is compiled once
    and reused by later runs. The hold is an advisory lock on ``.in-use``,
    released by :meth:`release` or when the process ends.

    The binary writes every array to ``results/`` after every block; on a disk that
    costs about 9 ms a block (N = 30, blocks of 50 trials: 26 -> 17 ms), so while the
    folder is held ``results`` points into shared memory (``/dev/shm``) where there
    is one.
    """

    def __init__(self, base: str):
        for k in range(MAX_COPIES):
            path = base if k == 0 else f"{base}-{k}"
            os.makedirs(path, exist_ok=True)
            handle = open(os.path.join(path, ".in-use"), "w")  # noqa: SIM115 (held open)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.path, self._handle = path, handle
            self._memory = _results_in_memory(path)
            return
        raise RuntimeError(f"{MAX_COPIES} processes hold copies of {base}; wait for one")

    def release(self) -> None:
        """Let other processes use the folder (and free its results' memory)."""
        if not self._handle.closed:
            if self._memory is not None:
                shutil.rmtree(self._memory, ignore_errors=True)
            self._handle.close()


def _results_in_memory(path: str) -> str | None:
    """Point ``path/results`` at a fresh folder in ``/dev/shm``; that folder, or ``None``."""
    results = os.path.join(path, "results")
    if os.path.islink(results) or os.path.isfile(results):
        os.remove(results)  # a link from an earlier hold: Brian2 makes the folder anew
    if not os.access(SHARED_MEMORY, os.W_OK):
        return None
    if os.path.isdir(results):
        shutil.rmtree(results)
    memory = os.path.join(SHARED_MEMORY, f"brianrflo-{os.getuid()}",
                          os.path.abspath(path).replace(os.sep, "_") + "-results")
    os.makedirs(memory, exist_ok=True)
    os.symlink(memory, results)
    return memory


class StandaloneDevice(CPPStandaloneDevice):
    """Brian2's cpp_standalone device with brianrflo's ``network.cpp``
    (``brianrflo/templates/network.cpp``): the run time is read once after the run
    instead of after every step, a system call that cost a third of a step at N = 30.
    A project compiles only the files no earlier project compiled
    (:mod:`brianrflo.object_cache`)."""

    def compile_source(self, directory, compiler, debug, clean) -> None:
        keys = {}
        # The cache only saves time: without it make compiles what is missing.
        with contextlib.suppress(OSError):
            if compiler != "msvc":
                keys = object_cache.keys(directory)
                if not clean:
                    object_cache.restore(directory, keys)
        super().compile_source(directory, compiler, debug, clean)
        with contextlib.suppress(OSError):
            object_cache.store(directory, keys)

    def generate_network_source(self, writer, compiler) -> None:
        limit = self._maximum_run_time
        writer.write("network.*", TEMPLATER.network(
            None, None, maximum_run_time=None if limit is None else float(limit)))


#: The name of :class:`StandaloneDevice` among Brian2's devices.
STANDALONE_DEVICE = "brianrflo_standalone"
all_devices[STANDALONE_DEVICE] = StandaloneDevice()


class Simulation:
    """A Brian2 network on one target, built once and run a block at a time.

    Parameters
    ----------
    target
        ``'cython'``, ``'numpy'`` (runtime) or ``'cpp_standalone'``.
    directory
        The cpp_standalone project folder.
    threads
        OpenMP threads of a cpp_standalone project (1: none).
    """

    def __init__(self, target: str, directory: str | None = None, threads: int = 1):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        self.target, self.threads = target, threads
        self.net: Any = None  # the b2.Network, from build()
        #: Steps of the last block that cython ran in :mod:`brianrflo.fused`'s compiled loop.
        self.compiled_steps = 0
        self._prepared = False
        self._stale = False
        self.folder: ProjectFolder | None = None
        self.directory: str | None = None
        if target == "cpp_standalone":
            while _live_standalone:  # no name may keep the old one alive (see below)
                _live_standalone[0]._stale = True
                if _live_standalone[0].folder is not None:
                    _live_standalone[0].folder.release()
                del _live_standalone[0]
            _live_standalone.append(self)
            if directory is None:
                raise ValueError("a cpp_standalone Simulation needs its project directory")
            self.folder = ProjectFolder(directory)
            atexit.register(self.folder.release)
            directory = self.folder.path
            self.directory = directory
            reinit_devices()
            # Brian2 names code objects uniquely among live objects: unless the
            # last network's are collected now, this project's files get other
            # names (``*_codeobject_1``) and nothing of a cached build is reused.
            gc.collect()
            b2.set_device(STANDALONE_DEVICE, directory=directory, build_on_run=False)
            b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
            # Kept: a runtime network made meanwhile switches Brian2's global device.
            self._device = b2.get_device()
        else:
            self.activate()

    @property
    def standalone(self) -> bool:
        """Whether this simulation runs as a cpp_standalone binary."""
        return self.target == "cpp_standalone"

    def activate(self) -> None:
        """Make this simulation's target Brian2's current one (before running it)."""
        if self._stale:
            raise RuntimeError(
                "this cpp_standalone network was replaced by a newer one; Brian2 runs "
                "one standalone project per process, so build it again"
            )
        if not self.standalone:
            if isinstance(b2.get_device(), CPPStandaloneDevice):
                b2.set_device("runtime")
            b2.prefs.codegen.target = fused.TARGET if self.target == "cython" else self.target

    def build(self, net: b2.Network, steps: int) -> None:
        """Build ``net`` for blocks of ``steps`` steps (cpp_standalone: compile the project)."""
        self.net = net
        if self.standalone:
            net.run(steps * DT, namespace={})
            self._device.build(directory=self.directory, run=False)
        else:
            net.store("fresh")  # what restart() returns to

    def restart(self) -> None:
        """Back to the state just after :meth:`build` (a standalone run always starts there)."""
        if not self.standalone:
            self.activate()
            self.net.restore("fresh")
            self._prepared = False  # restore may move arrays: code objects anew

    def run(self, steps: int, run_args: dict) -> None:
        """Run one block of ``steps`` steps.

        ``run_args`` maps TimedArrays and ``(group, variable)`` pairs to this
        block's values: set before the run on the runtime targets, passed to the
        binary on cpp_standalone.
        """
        self.activate()
        if self.standalone:
            _forget_dead_variables(self._device)
            self._device.run(directory=self.directory, with_output=False,
                             run_args=self._command_line(run_args))
            return
        for key, value in run_args.items():
            if isinstance(key, tuple):
                setattr(key[0], key[1], value)
            else:
                key.values[:len(value)] = value
        # Network.run starts with a full gc.collect(), only to warn about objects left
        # out of a network: ~80 ms a block here, more in a full notebook, as long as
        # 3000 steps of N = 30. Frozen, the objects that exist before the run are
        # not scanned; unfrozen after it, they are collected as usual.
        gc.freeze()
        try:
            if self.target == "cython":
                # Between blocks only values change, in place: the last block's code
                # objects run again (Brian2 would make them anew, ~0.2 s a block) where
                # the compiled loop ran them; a network it cannot run (spikes) gets
                # Brian2's preparation before every block, its spike queues included.
                self.compiled_steps = fused.run(self.net, steps, float(DT), self._prepared)
                self._prepared = self.compiled_steps > 0
            else:
                self.net.run(steps * DT, namespace={})
        finally:
            gc.unfreeze()

    def _command_line(self, run_args: dict) -> list[str]:
        """``run_args`` as the binary's arguments, each array in a file of its own name.

        Brian2 would write each array to a new file named by its hash, under a lock
        file, logging each step to its log file (4 ms a block at N = 30) and leaving
        both files behind; this project folder is this process's alone, so one file
        per argument, overwritten every block, is enough.
        """
        folder = self.directory
        assert folder is not None, "only a cpp_standalone Simulation has a command line"
        args = []
        for key, value in run_args.items():
            if isinstance(key, tuple):
                group, name = key
                label, dtype, shape = f"{group.name}.{name}", group.variables[name].dtype, None
            else:  # a TimedArray
                label, dtype, shape = f"{key.name}.values", key.values.dtype, key.values.shape
            array = np.asarray(value, dtype=dtype)
            if array.size == 1:
                args.append(f"{label}={array.item()!r}")
                continue
            if shape is not None and array.shape != shape:
                raise ValueError(f"{label}: shape {array.shape}, the network has {shape}")
            path = os.path.join("static_arrays", f"run_{label}.dat")
            array.tofile(os.path.join(folder, path))
            args.append(f"{label}={path}")
        return args


def _forget_dead_variables(device) -> None:
    """Drop the variables of collected objects from a standalone device's array cache.

    The device keeps every variable made while it was Brian2's device, throwaway
    objects' too (a model check's group, a network built and dropped in a notebook),
    and ``device.run`` reads each one's owner: once such an object is collected (a
    runtime network's build collects garbage), the next run raised ``ReferenceError``.
    """
    for var in list(device.array_cache):
        try:
            hasattr(var.owner, "name")
        except ReferenceError:
            del device.array_cache[var]


def standalone_folder(key: str) -> str:
    """The cached cpp_standalone project folder of a network with hash ``key``."""
    return os.path.join(object_cache.ROOT, key)
