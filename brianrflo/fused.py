"""Brian2's runtime cython target, fused: one compiled loop runs many steps of a network.

Brian2's runtime targets return to Python once per code object per step (about
2 us each), which at N = 30 costs more than the step's arithmetic. Here the code
objects that run every step come from templates of ours (``brianrflo/templates/*.pyx``,
put in front of Brian2's by :data:`FusedCythonCodeObject`'s templater): each
code object keeps Brian2's ``main(namespace)`` and also offers its step as a C
function (``step_function``) over the arrays ``load(namespace)`` stored. The code
objects of a run are compiled as one module (a module costs seconds, nearly all of
them the same however little it holds). :func:`run`
then runs a block the way ``Network.run`` does, except that between the ticks of
the slower clocks (the trial clock, whose objects run in Python as usual) one
compiled loop calls the steps in Brian2's order and advances the clocks.

The statements inside are Brian2's translation of the model's equations, and every
object runs in the order Brian2 would run it, so results equal Brian2's cython
target to float64 rounding (``tests/test_fused.py``; our templates forbid the
compiler to reassociate, as :mod:`brianrflo.dense`'s do). Our templates cover state
updates, ``run_regularly`` code, summed variables, thresholds, resets and state and
spike monitors; other per-step work (spike propagation through synaptic pathways,
for instance) makes every step run from Python, object by object, as in Brian2's
own loop.
"""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace

import numpy as np
from brian2 import second
from brian2.codegen.cpp_prefs import get_compiler_and_args
from brian2.codegen.runtime.cython_rt import CythonCodeObject
from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager
from brian2.codegen.targets import codegen_targets
from brian2.core.base import BrianObject
from brian2.groups.group import Group
from brian2.utils.stringtools import get_identifiers

from .dense import dense_indices

__all__ = ["TARGET", "fused_namespace", "dense_rows", "run"]

#: ``cdef TYPE NAME`` or ``cdef TYPE NAME = VALUE``: one line of Brian2's namespace loading.
_CDEF = re.compile(r"^cdef (?P<type>.+?) (?P<name>\w+)(?P<value> = .*)?$")
#: ``NAME = _namespace[...]``: a Python object (a Variable, a dynamic array).
_OBJECT = re.compile(r"^(?P<type>)(?P<name>\w+)(?P<value> = _namespace\[.*\])$")
#: Our templates' line after the code that the code objects of one module share (imports,
#: Brian2's support code); the names after it end in :data:`_SUFFIX`, one per code object.
_OWN = "# brianrflo: the code object's own names"
_SUFFIX = "__brianrflo_own"
#: ``cdef TYPE NAME...``, ``def NAME(...``: the name a block of that shared code defines.
_DEFINES = re.compile(r"^(?:c?p?def|ctypedef)\s[^(\n]*?(\w+)\s*(?:\(.*)?:?$", re.M)
#: Brian2's arguments to its extension manager (``CythonCodeObject.compile_block``).
_OPTIONS = ("define_macros", "libraries", "extra_compile_args", "extra_link_args",
            "include_dirs", "library_dirs", "runtime_library_dirs", "compiler", "sources")
#: Blocks of our templates waiting to be compiled (:meth:`FusedCythonCodeObject.compile_block`).
_pending: list[_Deferred] = []


def fused_namespace(load_namespace: str, step: str) -> SimpleNamespace:
    """Brian2's namespace loading for ``main`` split for the fused ``step`` (its code).

    Returns ``globals`` (module-level copies of every value the step reads, directly
    or through another, their names ending in :data:`_SUFFIX`), ``load`` (Brian2's
    lines for those values, then storing the copies), ``params`` and ``args`` (the
    copies the step uses, passed to it as arguments), ``temporaries`` (Brian2's own
    declarations of the step's temporaries) and ``typedefs`` (one block each, so
    that modules of many code objects declare each once).
    Pointers are passed as ``__restrict__`` arguments, as Brian2's C++ templates
    declare them (they are distinct arrays), which lets the C compiler vectorise a
    row of synapses without checking its arrays for overlap.
    """
    used = get_identifiers(step)
    stored: list[tuple[str, str]] = []
    params: list[str] = []
    args: list[str] = []
    temporaries: list[str] = []
    if "_owner" in used:  # the group, for the monitors' resizing (see NumpyCodeObject)
        load_namespace += '\n_owner = _namespace["_owner"]'
    load_namespace = _loads_for(load_namespace, step)
    for line in load_namespace.splitlines():
        line = line.strip()
        m = _CDEF.match(line) or _OBJECT.match(line)
        if m is None:
            continue
        kind, name = m["type"] or "object", m["name"]
        if not m["value"]:
            temporaries.append(line)
            continue
        if any(name == n for _, n in stored):
            continue  # Brian2 loads some arrays twice (a variable and an index's source)
        stored.append(("object" if kind.startswith("_numpy.ndarray") else kind, name))
        if name in used:
            params.append(f"{_restrict(kind)} {name}")
            args.append(f"_g{name}{_SUFFIX}")
    names = [name for _, name in stored]
    load = [load_namespace]
    if names:
        load += [f"global {', '.join(f'_g{n}{_SUFFIX}' for n in names)}"]
        load += [f"_g{n}{_SUFFIX} = {n}" for n in names]
    pointees = sorted({k[:-1].strip() for k, n in stored if k.endswith("*") and n in used})
    return SimpleNamespace(
        globals="\n".join(f"cdef {k} _g{n}{_SUFFIX}" for k, n in stored), load="\n".join(load),
        params=", ".join(params), args=", ".join(args), temporaries="\n".join(temporaries),
        typedefs="\n".join(f'cdef extern from *:\n    ctypedef {t} * {_restrict(t + " *")} '
                           f'"{t} * __restrict__"' for t in pointees))


def _loads_for(load_namespace: str, code: str) -> str:
    """The lines of Brian2's ``load_namespace`` that ``code`` needs: those of the
    values it reads, directly or through another (an array through its buffer).

    Loading a value costs the C compiler about as much as a step does; and Brian2
    puts in a code object's namespace only the names its run block mentions, so
    that an after-run block can load no more than that.
    """
    needed, lines = set(get_identifiers(code)), list[str]()
    for line in reversed(load_namespace.splitlines()):
        m = _CDEF.match(line.strip()) or _OBJECT.match(line.strip())
        if m is None or not m["value"] or m["name"] in needed:
            needed |= get_identifiers(line)
            lines.insert(0, line)
    return "\n".join(lines)


def _restrict(kind: str) -> str:
    """``kind``, or for a pointer type the name of its ``__restrict__`` typedef."""
    if not kind.endswith("*"):
        return kind
    return "_restrict_" + kind[:-1].strip().replace(" ", "_")


def dense_rows() -> str:
    """The loop header of a dense all-to-all synapse pass (:mod:`brianrflo.dense`):
    presynaptic unit by presynaptic unit, ``_idx``, ``_pre`` and ``_post`` set as
    Brian2's index arrays would set them. The sizes ``_n_R``, ``_n_pre``, ``_n_post``
    are the synapses' ``_dense``, read by ``load()``, so one compiled module serves
    every size."""
    return "\n".join([
        "cdef int _pre, _r, _a",
        "cdef int32_t _post",
        "cdef size_t _row",
        "for _pre in range(_n_R * _n_pre):",
        "    _r = _pre // _n_pre",
        "    _row = <size_t> _pre * _n_post",
        "    for _a in range(_n_post):",
        "        _post = _r * _n_post + _a",
        "        _idx = _row + _a",
        "        _vectorisation_idx = _idx",
    ])


class FusedCythonCodeObject(CythonCodeObject):
    """Brian2's cython code objects, with our templates in front (see the module).

    Registered as the code-generation target :data:`TARGET`; function
    implementations are found through the parent class, as for cython.
    """

    class_name = "brianrflo_cython"

    def __init__(self, owner, code, variables, variable_indices, template_name,
                 template_source, compiler_kwds, name="cython_code_object*"):
        # A name apart from cpp_standalone's (`*_codeobject`): these code objects live on
        # between blocks, and a standalone project built meanwhile in the process would
        # otherwise name its own `*_codeobject_1` and miss its compiled cache.
        super().__init__(owner, code, variables, variable_indices, template_name,
                         template_source, compiler_kwds,
                         name=name.replace("_codeobject", "_fused"))

    templater = CythonCodeObject.templater.derive(
        "brianrflo", templates_dir="templates",
        env_globals={"fused_namespace": fused_namespace, "dense_rows": dense_rows,
                     "dense_indices": dense_indices, "loads_for": _loads_for, "own_marker": _OWN,
                     "own_suffix": _SUFFIX},
    )

    def compile_block(self, block):
        """A block of our templates waits to be compiled with the others of the run
        (:class:`_Deferred`); Brian2's compile one by one, as for cython."""
        code = getattr(self.code, block, "").strip()
        if _OWN not in code or "EMPTY_CODE_BLOCK" in code:
            return super().compile_block(block)
        # Every module costs ~4.5 s to translate and compile, nearly all of it fixed.
        options = {k: getattr(self, k) for k in _OPTIONS}
        if self.compiler in ("gcc", "unix"):  # debug information: a fifth of gcc's time
            options["extra_compile_args"] = [*self.extra_compile_args, "-g0"]
        return _Deferred(code, options)


class _Deferred:
    """A block of our templates, compiled the first time any pending one is used,
    together with all of them (:func:`_compile_pending`); then ``main``, ``load``
    and ``step_function`` are the module's functions of the block's names."""

    def __init__(self, code: str, options: dict):
        self.code, self.options = code, options
        _pending.append(self)

    def __getattr__(self, name: str):
        if self in _pending:
            _compile_pending()
            return getattr(self, name)
        raise AttributeError(name)


def _compile_pending() -> None:
    """Compile the pending blocks as one module, the code above :data:`_OWN` once.

    A block that defines a name there other than as an earlier block does (two
    TimedArrays of one name, say) goes to the next module. Own names end in the
    block's place in the module: not in a code object's name, which depends on the
    objects alive (``_1``), so that Brian2's cache finds the module again.
    """
    batch = _pending[:]
    _pending.clear()
    while batch:
        shared: dict[str, None] = {}  # an ordered set
        defined: dict[str, str] = {}
        taken: list[_Deferred] = []
        rest: list[_Deferred] = []
        for part in batch:
            blocks = [b.strip() for b in re.split(r"\n(?=\S)", part.code.split(_OWN)[0])]
            names = {m[1]: b for b in blocks if (m := _DEFINES.match(b))}
            if (any(defined.get(n, b) != b for n, b in names.items())
                    or any(part.options != t.options for t in taken)):
                rest.append(part)
                continue
            shared.update(dict.fromkeys(b for b in blocks if b))
            defined.update(names)
            taken.append(part)
        code = "\n\n".join([*shared, *(part.code.split(_OWN)[1].replace(_SUFFIX, f"_{i}")
                                        for i, part in enumerate(taken))])
        module = cython_extension_manager.create_extension(
            code, owner_name="brianrflo_fused", **taken[0].options)
        if module is None:
            raise RuntimeError(f"Cython could not translate the fused module:\n{code}")
        for i, part in enumerate(taken):
            part.__dict__.update({name: getattr(module, f"{name}_{i}")
                                  for name in ("main", "load", "step_function")
                                  if hasattr(module, f"{name}_{i}")})
        batch = rest


codegen_targets.add(FusedCythonCodeObject)
#: Brian2's name of the fused cython target (``prefs.codegen.target``).
TARGET = FusedCythonCodeObject.class_name

#: The loop that calls the steps: compiled once (Brian2's cython cache) per machine.
_DRIVER = '''
#cython: language_level=3, boundscheck=False, wraparound=False
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdlib cimport malloc, free
from libc.stdint cimport int64_t

ctypedef int (*step_t)() except -1

def run_steps(list steps, list timesteps, list times, list dts, int64_t n):
    """Run n steps: every step function in order, then advance every clock."""
    cdef int n_steps = len(steps), n_clocks = len(timesteps), k
    cdef int64_t s
    cdef step_t *fn = <step_t *> malloc(n_steps * sizeof(step_t))
    cdef int64_t **ts = <int64_t **> malloc(n_clocks * sizeof(int64_t *))
    cdef double **t = <double **> malloc(n_clocks * sizeof(double *))
    cdef double *dt = <double *> malloc(n_clocks * sizeof(double))
    cdef int64_t[::1] ts_view
    cdef double[::1] t_view
    try:
        for k in range(n_steps):
            fn[k] = <step_t> PyCapsule_GetPointer(steps[k], b"brianrflo_step")
        for k in range(n_clocks):
            ts_view = timesteps[k]
            t_view = times[k]
            ts[k], t[k], dt[k] = &ts_view[0], &t_view[0], dts[k]
        for s in range(n):
            for k in range(n_steps):
                fn[k]()
            for k in range(n_clocks):
                ts[k][0] += 1
                t[k][0] = ts[k][0] * dt[k]
    finally:
        free(fn)
        free(ts)
        free(t)
        free(dt)
'''


@functools.cache
def _driver():
    """The compiled module of :data:`_DRIVER` (cached like Brian2's own code objects)."""
    compiler, args = get_compiler_and_args()
    return cython_extension_manager.create_extension(
        _DRIVER, owner_name="brianrflo_fused_driver", compiler=compiler,
        extra_compile_args=args)


def _clock_arrays(clock) -> tuple[np.ndarray, np.ndarray, float]:
    """A Brian2 clock's ``timestep`` and ``t`` arrays (changed in place), and its ``dt``."""
    return (clock.variables["timestep"].get_value(), clock.variables["t"].get_value(),
            float(clock.variables["dt"].get_value()[0]))


def run(net, steps: int, dt: float, prepared: bool = False) -> int:
    """``net.run(steps * dt)`` on the fused cython target (see the module).

    Returns how many of the ``steps`` the compiled loop ran (the others ran from
    Python: the steps at which a slower clock ticks, or every step of a network
    with per-step work outside our templates). Where a clock's step is not a whole
    number of ``dt``, or the clocks do not start together, this is ``net.run``.

    ``prepared``: the code objects of ``net``'s last run are still right, because
    since then only values changed, in place (weights, TimedArray values); Brian2's
    ``before_run``, which makes them anew (about 15 ms a code object), is skipped.
    """
    objects = [obj for obj in net.sorted_objects if obj.active]
    period = {c: float(c.dt_) / dt for c in {obj.clock for obj in objects}}
    t_end = net.t + steps * dt * second
    net._clocks = {obj.clock for obj in net.sorted_objects}  # as Network.run sets them
    for clock in net._clocks:  # a clock shared with another network starts at net.t
        clock.set_interval(net.t, t_end)
    # Each clock's next tick, in steps of dt (clock times are timestep * dt in Brian2)
    ticks = {c: _clock_arrays(c)[0][0] * round(p) for c, p in period.items()}
    fast = {c for c, p in period.items() if p == 1}
    start = min(ticks.values(), default=0)
    if (any(abs(p - round(p)) > 1e-9 for p in period.values())
            or any(ticks[c] != start for c in fast) or not fast):
        net.run(steps * dt * second, namespace={})
        return 0
    end = start + steps
    if not prepared:
        net.before_run({})
    fast_objects = [obj for obj in objects if obj.clock in fast]
    steps_of = [_steps(co) for obj in fast_objects for co in obj._code_objects]
    # An object with its own run() (a network_operation) runs Python every step.
    fusable = (all(s is not None for s in steps_of)
               and all(type(obj).run is BrianObject.run for obj in fast_objects))
    if fusable:
        driver = _driver()
        capsules = [cap for caps in steps_of if caps for cap in caps]
        timesteps, times, dts = map(list, zip(*(_clock_arrays(c) for c in fast), strict=True))
    slow = [c for c in period if c not in fast]
    step, compiled = start, 0
    while step < end:
        # Brian2 runs the steps at which a slower clock ticks from Python; so do we.
        ticking = fast | {c for c in slow if ticks[c] == step}
        nxt = min([end, *(ticks[c] for c in slow)])
        if fusable and nxt > step:
            driver.run_steps(capsules, timesteps, times, dts, nxt - step)
            compiled += nxt - step
            step = nxt
            continue
        for obj in objects:
            if obj.clock in ticking:
                obj.run()
        for c in ticking:
            timestep, t, c_dt = _clock_arrays(c)
            timestep[0] += 1
            t[0] = timestep[0] * c_dt
            ticks[c] = timestep[0] * round(period[c])
        step += 1
    net.t_ = float(t_end)
    for obj in objects:
        if isinstance(obj, Group):
            obj._check_for_invalid_states()
    net.after_run()
    return compiled


def _steps(codeobj) -> list | None:
    """``codeobj``'s compiled step as capsules for the loop (none, if it has no run
    block), ready to run; ``None`` if its template is not one of ours."""
    module = codeobj.compiled_code["run"]
    if module is None:
        return []
    if not hasattr(module, "step_function"):
        return None
    codeobj.update_namespace()
    module.load(codeobj.namespace)
    return [module.step_function()]
