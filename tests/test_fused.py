"""The fused cython target (brianrflo.fused) runs what Brian2's cython target runs.

The same generated statements in the same order as Brian2's own cython templates and
``Network.run`` (its per-step Python loop), for the rate network's variants and for a
hand-made network of several clocks and a monitor. Equal to float64 rounding, not
always bit for bit: Brian2 compiles its cython code with reassociation allowed, our
templates without it (so that vectorised rows round as scalar ones do, see
``brianrflo/templates/dense_group.cpp``), and one rounding in one weight differs now
and then.
"""

import types

import brian2 as b2
import numpy as np
import pytest

from brianrflo import fused
from brianrflo.models import RateModel
from brianrflo.network import BrianNetwork
from brianrflo.weights import Weights
from helpers import K, M, N, T, random_block

pytestmark = pytest.mark.equivalence

ETA = (0.05, 0.04, 0.03)
#: Float64 rounding over two blocks (the equivalence tests' tolerance).
TOL = 1e-12


def _brian2_cython(monkeypatch) -> None:
    """Brian2's own cython target (its templates, ``Network.run``) where brianrflo says cython."""

    def brian2_run(net, steps, dt, prepared=False):
        net.run(steps * dt * b2.second, namespace={})
        return 0

    monkeypatch.setattr(fused, "TARGET", "cython")
    monkeypatch.setattr(fused, "run", brian2_run)


def _train(weights, blocks, **kwargs):
    net = BrianNetwork(weights, T, block_trials=2, eta=ETA, target="cython", **kwargs)
    losses = [net.run_block(block, noise_seed=7) for block in blocks]
    return net, np.array(losses), net.get_weights()


VARIANTS = {
    "trial": {},
    "online, Dale": {"update": "online", "dale": True},
    "symmetric, readout feedback": {"feedback": "symmetric", "readout_feedback": True},
    "noise, per-unit tau": {"model": RateModel(
        "dh/dt = (-h + phi) / tau + sigma * xi * tau**-0.5 : 1\n"
        "phi = u / (1 + abs(u)) : 1\nu = u_rec + u_in : 1\ntau : second (constant)",
        namespace={"sigma": 0.05}), "tau": np.linspace(4, 12, N)},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_equals_brian2_cython(monkeypatch, variant):
    kwargs = dict(VARIANTS[variant])
    weights = Weights.init(N, M, K, seed=5, dale=kwargs.get("dale", False))
    if kwargs.get("feedback") == "symmetric":
        weights = weights.symmetric()
    blocks = [random_block(30, 2), random_block(31, 2)]
    net, losses, got = _train(weights, blocks, **kwargs)
    # Every step but the trial starts (their resets and loss record run from Python).
    assert net.sim.compiled_steps == 2 * T - 2
    with monkeypatch.context() as m:
        _brian2_cython(m)
        plain, want_losses, want = _train(weights, blocks, **kwargs)
    assert plain.sim.compiled_steps == 0
    np.testing.assert_allclose(losses, want_losses, rtol=0, atol=TOL)
    for name in ("w_in", "w_rec", "w_out", "b"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=TOL,
                                   err_msg=name)
        assert not np.array_equal(getattr(got, name), getattr(weights, name)) or name == "b"


def test_replicas_run_fused_and_equal_each_network_alone():
    """Two replicas in one fused network give each network's own run, bit for bit."""
    weights = [Weights.init(N, M, K, seed=s) for s in (1, 2)]
    blocks = [random_block(40, 2), random_block(41, 2)]
    net = BrianNetwork(weights, T, block_trials=2, eta=ETA, target="cython")
    together = net.run_block(blocks)
    assert net.sim.compiled_steps == 2 * T - 2
    for r in range(2):
        alone = BrianNetwork(weights[r], T, block_trials=2, eta=ETA, target="cython")
        assert np.array_equal(alone.run_block(blocks[r]), together[r])
        assert np.array_equal(alone.get_weights().w_rec, net.get_weights()[r].w_rec)


def _run_clocks_network(kind: str, slow_dt: float, operation: bool = False) -> tuple[list, list]:
    """Groups on a step clock and on a slower one, a synapse and a monitor (and with
    ``operation`` a network_operation every step), run twice for 10 steps on the fused
    target or on Brian2's; the records and steps compiled."""
    b2.prefs.codegen.target = fused.TARGET if kind == "fused" else "cython"
    dt, slow = 1 * b2.ms, slow_dt * b2.ms
    a = b2.NeuronGroup(3, "dv/dt = (-v + w) / (5*ms) : 1\nw : 1", method="euler", dt=dt)
    a.v = [0.1, 0.2, 0.3]
    a.run_regularly("w = w + 0.1 * sin(t / ms)", dt=dt, when="start", order=2)
    b = b2.NeuronGroup(3, "x : 1", dt=slow)
    b.run_regularly("x = x + 1 + i", dt=slow, when="start", order=1)
    link = b2.Synapses(b, a, "w_post = 0.01 * x_pre : 1 (summed)", dt=dt)
    link.connect()
    mon = b2.StateMonitor(a, ["v", "w"], record=True, dt=dt, when="end")
    net = b2.Network(b2.collect())
    if operation:
        @b2.network_operation(dt=dt, when="before_groups")
        def nudge():
            a.v_[:] += 0.01 * a.w_[:]

        net.add(nudge)
    compiled = [fused.run(net, 10, 1e-3) if kind == "fused" else net.run(10 * dt) or 0
                for _ in range(2)]
    return [mon.v[:], mon.w[:], mon.t[:], a.v[:], float(net.t)], compiled


@pytest.mark.parametrize("slow_dt", [3, 2.5])
def test_several_clocks_run_as_brian2_runs_them(slow_dt):
    """Steps at which the slower clock ticks run from Python (3 steps: 0, 3, ..., 18);
    a clock of 2.5 steps makes it all ``Network.run``; the records equal Brian2's."""
    got, compiled = _run_clocks_network("fused", slow_dt)
    assert compiled == ([10 - 4, 10 - 3] if slow_dt == 3 else [0, 0])
    want, _ = _run_clocks_network("brian2", slow_dt)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def test_a_network_operation_runs_every_step_as_in_brian2():
    """A Python function on the step clock: no step runs compiled, none is skipped."""
    got, compiled = _run_clocks_network("fused", 3, operation=True)
    assert compiled == [0, 0]
    want, _ = _run_clocks_network("brian2", 3, operation=True)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def test_a_run_compiles_its_code_objects_as_one_module(monkeypatch):
    """The five code objects of our templates in a run are one module (each module
    costs seconds, nearly all of them fixed), made again alike for the second run
    (Brian2's cache), and run as Brian2's cython target runs them."""
    create = fused.cython_extension_manager.create_extension
    ours = []

    def counted(code, **kwargs):
        if kwargs["owner_name"] == "brianrflo_fused":
            ours.append(code)
        return create(code, **kwargs)

    monkeypatch.setattr(fused.cython_extension_manager, "create_extension", counted)
    got, compiled = _run_clocks_network("fused", 3)
    assert compiled == [10 - 4, 10 - 3]
    assert len(ours) == 2 and ours[0] == ours[1]
    assert ours[0].count("\ndef main_") == 5
    want, _ = _run_clocks_network("brian2", 3)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def test_code_objects_that_define_a_name_differently_get_modules_of_their_own(monkeypatch):
    """Shared code is declared once; where two blocks define one name differently,
    the second goes to a module of its own. Each block's own names end in its place."""
    head = "#cython: language_level=3\nimport numpy\ncdef double *_namespace_ta\n"
    modules = []

    def create(code, **kwargs):
        modules.append(code)
        return types.SimpleNamespace(main_0=0, main_1=1)

    monkeypatch.setattr(fused.cython_extension_manager, "create_extension", create)
    parts = [fused._Deferred(f"{head}cdef double ta(int i):\n    return {v}\n{fused._OWN}\n"
                             f"def main{fused._SUFFIX}(_namespace):\n    pass", {})
             for v in (1, 2, 1, 2)]
    assert [p.main for p in parts] == [0, 0, 1, 1]
    assert fused._pending == []
    for module, v in zip(modules, (1, 2), strict=True):
        assert module.count("import numpy") == module.count("ta(int") == 1
        assert f"return {v}" in module and "def main_0(" in module and "def main_1(" in module


def test_fused_namespace_keeps_what_the_step_reads():
    load = "\n".join([
        '_var_v = _namespace["_var_v"]',
        "cdef _numpy.ndarray[double, ndim=1, mode='c'] _buf__array_g_v = _namespace['_array_g_v']",
        "cdef double * _array_g_v = <double *> _buf__array_g_v.data",
        "cdef size_t _num_array_g_v = len(_namespace['_array_g_v'])",
        "cdef double v",
        'cdef int32_t N = _namespace["N"]',
        'cdef int32_t N = _namespace["N"]',
        'cdef double unused = _namespace["unused"]',
    ])
    parts = fused.fused_namespace(load, "for _idx in range(N):\n    v = _array_g_v[_idx]")
    own = fused._SUFFIX
    # The array's buffer too, which keeps it alive.
    assert parts.globals.splitlines() == [
        f"cdef object _g_buf__array_g_v{own}", f"cdef double * _g_array_g_v{own}",
        f"cdef int32_t _gN{own}"]
    # The step gets what it uses, pointers as __restrict__ arguments, once each.
    assert parts.params == "_restrict_double _array_g_v, int32_t N"
    assert parts.args == f"_g_array_g_v{own}, _gN{own}"
    assert parts.temporaries == "cdef double v"
    assert parts.typedefs == ('cdef extern from *:\n'
                              '    ctypedef double * _restrict_double "double * __restrict__"')
    for name in ("_var_v", "_num_array_g_v", "unused"):
        assert name not in parts.load
    assert f"_gN{own} = N" in parts.load
