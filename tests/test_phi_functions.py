"""Every function Brian2 knows, inside ``phi``: its derivative either runs in Brian2 and
equals a finite difference of the numpy function, or the model check refuses it,
naming phi and the function, before anything compiles."""

import re

import brian2 as b2
import numpy as np
import pytest
from brian2.core.functions import DEFAULT_FUNCTIONS

from brianrflo.models import PAPER_EQUATIONS, ModelError, RateModel
from brianrflo.models.rate import phi_prime

pytestmark = pytest.mark.unit

#: One phi per Brian2 function, defined (and smooth) at POINTS.
CASES = {
    "cos": "cos(u)", "sin": "sin(u)", "tan": "tan(u / 2)", "cosh": "cosh(u)", "sinh": "sinh(u)",
    "tanh": "tanh(u)", "exp": "exp(u)", "log": "log(u + 2)", "log10": "log10(u + 2)",
    "expm1": "expm1(u)", "exprel": "exprel(2 * u)", "log1p": "log1p(u / 2)",
    "sqrt": "sqrt(u + 2)", "ceil": "ceil(u)", "floor": "floor(u)", "arccos": "arccos(u / 2)",
    "arcsin": "arcsin(u / 2)", "arctan": "arctan(u)", "abs": "abs(u + 0.25)", "sign": "sign(u)",
    "rand": "u * rand()", "randn": "u * randn()", "poisson": "poisson(u + 2)",
    "clip": "clip(u, -1, 1)", "int": "int(u)", "timestep": "timestep(u * second, dt)",
}
#: Functions that jump (a Dirac delta for derivative) or are random (df/du would draw
#: another number than phi): no derivative Brian2 code can compute.
REFUSED = {"sign", "floor", "ceil", "int", "timestep", "rand", "randn", "poisson"}
#: Combinations the README promises, beside the single functions.
COMBINED = {"softplus": "log(1 + exp(u))", "smooth abs": "sqrt(u**2 + 1)", "abs": "abs(u)",
            "clip above": "clip(u, -inf, 0.5 * u + 1)"}
# Both branches of exprel's derivative (|2u| < 0.01 and beyond), and u = 0 exactly.
POINTS = np.array([-1.5, -0.7, -0.004, 0.0, 0.003, 0.3, 1.3])
ACCEPTED = {**{f: CASES[f] for f in sorted(set(CASES) - REFUSED)}, **COMBINED}


def test_cases_cover_every_brian2_function():
    assert set(CASES) == set(DEFAULT_FUNCTIONS)


@pytest.mark.parametrize("function", sorted(REFUSED))
def test_function_without_derivative_is_refused_naming_phi_and_it(function):
    phi = CASES[function]
    message = rf"phi {re.escape(repr(phi))}.*{function} (jumps|is random).*Allowed"
    with pytest.raises(ModelError, match=message):
        phi_prime(phi)


def test_sign_refused_by_the_model_check_before_compiling():
    with pytest.raises(ModelError, match=r"phi .sign\(u\). has no derivative.*sign jumps.*Allowed"):
        RateModel(PAPER_EQUATIONS.replace("tanh(u)", "sign(u)"))


def test_model_with_sqrt_phi_writes_its_derivative_through_phi():
    model = RateModel(PAPER_EQUATIONS.replace("tanh(u)", "sqrt(u**2 + 1)"))
    assert model.derivatives() == ("-1/tau", "u/(phi*tau)")


def test_function_of_another_variable_needs_no_derivative():
    """A jump that does not depend on u (a per-unit mask) is fine: d/du of it is 0."""
    assert phi_prime("int(i < 5) * tanh(u)") == "(1 - tanh(u)**2)*int(i < 5)"


def _numpy(phi: str, u: np.ndarray) -> np.ndarray:
    namespace = {name: f.pyfunc for name, f in DEFAULT_FUNCTIONS.items()}
    return eval(phi, {"__builtins__": {}}, {**namespace, "u": u, "inf": np.inf})


@pytest.fixture(scope="module")
def brian2_derivatives() -> dict[str, np.ndarray]:
    """Every accepted derivative evaluated at POINTS by compiled (cython) Brian2 code,
    all in one group and one code object so that it compiles once."""
    codes = {f"d{k}": phi_prime(phi) for k, phi in enumerate(ACCEPTED.values())}
    group = b2.NeuronGroup(len(POINTS), "u : 1\n" + "".join(f"{v} : 1\n" for v in codes),
                           namespace={})
    group.u = POINTS
    op = group.run_regularly("\n".join(f"{v} = {c}" for v, c in codes.items()),
                             dt=b2.defaultclock.dt)
    target = b2.prefs.codegen.target
    b2.prefs.codegen.target = "cython"
    try:
        b2.Network(group).run(b2.defaultclock.dt, namespace={})
    finally:
        b2.prefs.codegen.target = target
    assert type(op.codeobj).__name__ == "CythonCodeObject"
    return {name: getattr(group, f"d{k}")[:] for k, name in enumerate(ACCEPTED)}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_derivative_runs_in_brian2_and_matches_finite_difference(name, brian2_derivatives):
    h = 1e-6
    phi = ACCEPTED[name]
    finite = (_numpy(phi, POINTS + h) - _numpy(phi, POINTS - h)) / (2 * h)
    np.testing.assert_allclose(brian2_derivatives[name], finite, rtol=1e-6, atol=1e-6)
