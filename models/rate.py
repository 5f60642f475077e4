"""The paper's rate network (Eq. 1) and RFLO learning (Eqs. 15-17) as Brian2 equations.

One Brian2 time step is one step of the paper's discrete map, ``dt = 1 * ms``;
``tau`` is ``tau_steps * dt``. Integrating ``dh/dt = (-h + phi)/tau`` with
``method='euler'`` gives exactly ``h(t) = h(t-1) + (-h(t-1) + phi(u(t)))/tau``.

The hidden units' equations are the part a scientist edits (:class:`RateModel`).
The learning rule follows from them: writing the unit as ``dh/dt = f(h, u)``,
RFLO's eligibility trace of synapse ``b -> a`` is the synapse's local sensitivity
``p_ab = dh_a/dW_ab`` with the nonlocal terms dropped, which obeys

    dp/dt = df/dh * p + df/du * h_b

and ``df/dh``, ``df/du`` are derived symbolically from ``f``. For the paper's
``f = (-h + phi(u))/tau`` this is Eq. 17: ``df/dh = -1/tau``, ``df/du = phi'(u)/tau``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
import sympy
from brian2 import Equations
from brian2.core.functions import exprel as _brian_exprel
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS
from brian2.equations.codestrings import Expression
from brian2.equations.equations import PARAMETER, SUBEXPRESSION, SingleEquation
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
from brian2.units.fundamentalunits import DIMENSIONLESS
from sympy.core.function import AppliedUndef

__all__ = ["RateModel", "ModelError", "phi_prime", "DIFFERENTIABLE", "feedback_equations",
           "FEEDBACKS", "RULE_NAMES", "PAPER_EQUATIONS"]

#: The paper's hidden units. Edit freely: another ``phi``, noise (``xi``), extra
#: currents in ``u``, parameters per unit.
PAPER_EQUATIONS = """
dh/dt = (-h + phi) / tau : 1
phi = tanh(u) : 1
u = u_rec + u_in + u_y : 1
tau : second (constant)
"""

#: Variables the rule adds to the hidden units: ``u_rec``, ``u_in`` are summed by
#: the recurrent and input synapses, ``fb = (B eps)`` by the feedback synapses, and
#: ``u_y = B y(t-1)`` too when the readout is fed back (readout-only learning, paper
#: Fig. 2 supp. 2; otherwise it stays 0).
HIDDEN_RULE = """
u_rec : 1
u_in : 1
u_y : 1
fb : 1
h_prev : 1
dfdh : Hz
dfdu : Hz
h0 : 1 (constant)
dale_sign : 1 (constant)
eta_rec : 1 (constant)
eta_in : 1 (constant)
"""

#: ``df/dh`` and ``df/du``, computed once per unit and step so synapses only read
#: them, and ``h(t-1)``, kept for the traces, which advance after ``h`` has.
HIDDEN_DERIVATIVES = """
h_prev = h
dfdh = {dfdh}
dfdu = {dfdu}
"""

#: Noise: each of the model's noise symbols (``xi``, ``xi_1``, ...; Brian2's white
#: noise of units ``second**-0.5``) becomes a read of standard-normal draws, made in
#: numpy per block, divided by ``sqrt(dt)``. Forward Euler then adds
#: ``dt * g * draw / sqrt(dt) = sqrt(dt) * g * draw``, which is Brian2's Euler-Maruyama
#: step for ``g * xi``; but the draws are data, so every target runs the same noise and
#: a resumed run replays it. Column ``i + k*N`` holds unit ``i``'s draws of symbol ``k``.
NOISE_READ = "(noise_ta(t - t_block, {column}) / sqrt(dt))"
NOISE_RULE = """
t_block : second (shared)
"""
_NOISE_SYMBOL = re.compile(r"\b(xi(?:_\w+)?)\b")

#: Inputs ``x(t)``, read from a TimedArray once per unit and step.
INPUTS = """
x : 1
t_block : second (shared)
"""
INPUTS_READ = "x = x_ta(t - t_block, i)"

#: Error units: readout ``y`` (summed from the readout synapses) and ``eps``.
ERROR = """
y : 1
eps : 1
loss : 1
eta_out : 1 (constant)
inv_2T : 1 (shared, constant)
t_block : second (shared)
"""
ERROR_UPDATE = """
eps = mask_ta(t - t_block, i) * (target_ta(t - t_block, i) - y)
loss += eps**2 * inv_2T
"""

#: Recurrent synapses ``b -> a`` with eligibility trace ``p_ab``.
RECURRENT = """
w_rec : 1
p : 1
dw : 1
u_rec_post = w_rec * h_pre : 1 (summed)
"""

#: Input synapses ``b -> a`` with eligibility trace ``q_ab``.
INPUT = """
w_in : 1
q : 1
dw : 1
u_in_post = w_in * x_pre : 1 (summed)
"""

#: Readout synapses, hidden -> error units.
READOUT = """
w_out : 1
dw : 1
y_post = w_out * h_pre : 1 (summed)
"""

#: Error-feedback synapses, error units -> hidden: ``fb = B eps``. ``B`` is fixed
#: and random (RFLO), or learns exactly as the readout does so that it stays equal
#: to ``W_out^T`` (symmetric feedback, :data:`FEEDBACK_SYMMETRIC`).
FEEDBACK = """
b : 1 (constant)
fb_post = b * eps_pre : 1 (summed)
"""
FEEDBACK_SYMMETRIC = """
b : 1
dw : 1
fb_post = b * eps_pre : 1 (summed)
"""
#: The readout fed back through ``B`` as an input current (readout-only learning).
READOUT_FEEDBACK = """
u_y_post = b * y_pre : 1 (summed)
"""

#: RFLO updates (Eq. 16). ``dw`` accumulates; ``apply`` (1 at the last step of
#: an update period, else 0) moves it into the weight. ``scale`` is 1 for online
#: updates and ``1/T`` for updates summed over trials (Eq. 15). The learning rate
#: is a variable of the postsynaptic unit (:data:`ETAS`), not of the synapse.
UPDATE = """
apply = int((t_in_timesteps + 1) % update_steps == 0)
dw += {eta} * scale * {factor}
{weight} += apply * dw
dw = dw * (1 - apply)
"""
#: Dale's law (paper Fig. 2 supp. 1): a recurrent weight keeps its presynaptic
#: unit's sign; an update that would flip it leaves 0. Runs after every update.
DALE_CLIP = "w_rec = dale_sign_pre * clip(dale_sign_pre * w_rec, 0, inf)"

#: Eligibility traces (Eq. 17), integrated with Brian2's forward Euler at the start
#: of the update code of their weight: one pass over the synapses per step instead
#: of a state updater and an update (at N = 1000 the passes are memory-bound).
#: ``h_prev`` is ``h(t-1)``, as the units have already stepped.
TRACES = {
    "w_rec": "dp/dt = dfdh_post * p + dfdu_post * h_prev_pre : 1",
    "w_in": "dq/dt = dfdh_post * q + dfdu_post * x_pre : 1",
}

#: Each learned weight's learning rate: ``eta1`` (readout) lives on the error
#: units, ``eta2`` and ``eta3`` on the hidden units. One value per unit rather
#: than per synapse: the traces' pass over the synapses then streams ``p`` and
#: ``dw`` only, 1.4x faster for a grid of 90 networks at N = 30, where the
#: synapses no longer fit in the cache. ``b`` copies ``w_out``, with its rate.
ETAS = {"w_out": "eta_out_post", "w_rec": "eta_rec_post", "w_in": "eta_in_post",
        "b": "eta_out_pre"}

UPDATE_FACTORS = {
    "w_out": "eps_post * h_pre",
    "w_rec": "fb_post * p",
    "w_in": "fb_post * q",
    # The same product as w_out's, read from the other side, so B stays W_out^T exactly.
    "b": "eps_pre * h_post",
}

#: Names the rule owns; a model must not define them.
RULE_NAMES = frozenset(
    {"u_rec", "u_in", "u_y", "fb", "h_prev", "dfdh", "dfdu", "h0", "dale_sign", "p", "q", "x",
     "y", "eps", "loss", "w_rec", "w_in", "w_out", "b", "dw", "eta_rec", "eta_in", "eta_out",
     "apply", "scale",
     "update_steps", "x_ta", "target_ta", "mask_ta", "t_block", "inv_2T", "noise_ta"}
)
_SPECIAL = {"t", "dt", "i", "N", "t_in_timesteps", "xi"}
#: The rule's unit variables a model's equations may read; ``df/dh`` and ``df/du``
#: are derived from those equations, so they cannot appear in them.
_UNIT_READS = frozenset(Equations(HIDDEN_RULE).names) - {"dfdh", "dfdu"}


class ModelError(ValueError):
    """A model's equations cannot be used with the learning rule."""


class _Clip(sympy.Function):
    """Brian2's ``clip`` with its derivative (almost everywhere), for rectified units."""

    nargs = 3

    def fdiff(self, argindex=1):
        x, lo, hi = self.args
        if argindex == 1:
            return _INT(sympy.StrictGreaterThan(x, lo)) * _INT(sympy.StrictLessThan(x, hi))
        if argindex == 2:  # clip(x, lo, hi) is lo below lo
            return _INT(sympy.StrictLessThan(x, lo))
        if argindex == 3:
            return _INT(sympy.StrictGreaterThan(x, hi))
        raise sympy.ArgumentIndexError(self, argindex)


_Clip.__name__ = "clip"  # printed back as Brian2's clip
_INT = sympy.Function("int_")  # printed as Brian2's int

#: Below this ``|x|`` the derivative of ``exprel`` is its Taylor series: the closed
#: form ``(exp(x) - exprel(x))/x`` is 0/0 at 0 and loses ``1e-16/|x|`` near it.
_EXPREL_SERIES_BELOW = 0.01


class _Exprel(_brian_exprel):
    """Brian2's ``exprel`` with a derivative that Brian2 code evaluates at and near 0."""

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        x = self.args[0]
        small = _INT(sympy.StrictLessThan(sympy.Abs(x), sympy.Float(_EXPREL_SERIES_BELOW)))
        # exprel'(x) = sum (k+1) x^k / (k+2)!; five terms leave < 1e-13 at |x| = 0.01.
        series = sum(sympy.Rational(k + 1, sympy.factorial(k + 2)) * x**k for k in range(5))
        # Where the series is used the closed form is multiplied by 0; evaluating it
        # at x + 1 keeps it finite there, since 0 * nan would be nan.
        away = x + small
        closed = (sympy.exp(away) - _brian_exprel(away)) / away
        return small * series + (1 - small) * closed


_Exprel.__name__ = "exprel"

#: Brian2's functions that jump: their derivative is a Dirac delta, which no code
#: can evaluate, so RFLO's trace cannot follow them.
_JUMPS = ("sign", "floor", "ceil", "int", "timestep")
#: Brian2's random functions: ``df/du`` would draw another number than ``phi`` did.
_RANDOM = tuple(sorted(n for n, f in DEFAULT_FUNCTIONS.items() if not f.stateless))
#: Brian2's functions a differentiated expression may use (``abs`` and ``clip``
#: get their derivative almost everywhere: ``sign``, ``int`` of a comparison).
DIFFERENTIABLE = tuple(sorted(set(DEFAULT_FUNCTIONS) - set(_JUMPS) - set(_RANDOM)))
#: Brian2's names for sympy's functions where they differ.
_BRIAN_NAMES = {"ceiling": "ceil", "int_": "int", "Abs": "abs", "acos": "arccos",
                "asin": "arcsin", "atan": "arctan"}
#: Function names generated code may call: Brian2's deterministic functions.
_CODE_FUNCTIONS = frozenset(DEFAULT_FUNCTIONS) - set(_RANDOM)

#: What a refusal says is allowed.
_ALLOWED = (f"Allowed: phi and dh/dt may use {', '.join(DIFFERENTIABLE)} (abs and clip get "
            f"their derivative almost everywhere); {', '.join(_JUMPS)} jump and "
            f"{', '.join(_RANDOM)} are random, so they have none")


def _sympy_functions(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with Brian2's functions replaced by sympy functions that differentiate.

    Brian2 parses ``sqrt`` as an unknown function (its sympy ``sqrt`` is not a
    class), and ``clip`` and ``exprel`` need the derivatives above.
    """
    return (expr.replace(sympy.Function("sqrt"), sympy.sqrt)
            .replace(sympy.Function("clip"), _Clip)
            .replace(_brian_exprel, _Exprel))


def _derivative(expr: sympy.Expr, name: str, what: str) -> sympy.Expr:
    symbols = {s.name: s for s in expr.free_symbols}
    if name not in symbols:
        return sympy.S.Zero
    try:
        deriv = sympy.diff(_sympy_functions(expr), symbols[name])
    except (AttributeError, TypeError, ValueError) as err:
        raise ModelError(
            f"{what} has no derivative with respect to {name!r} that sympy can take "
            f"({type(err).__name__}: {err}), and {_why(sympy.S.Zero, expr, name, [])}. "
            f"{_ALLOWED}"
        ) from None
    return deriv.subs({_INT(sympy.true): 1, _INT(sympy.false): 0})


def _called(code: str) -> tuple[set[str], set[str]]:
    """Names ``code`` calls and the other names it reads."""
    tree = ast.parse(code, mode="eval")
    calls = {n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls
    return calls, names


def _brian_name(func) -> str:
    name = getattr(func, "__name__", str(func))
    return _BRIAN_NAMES.get(name, name)


def _as_code(deriv: sympy.Expr, source: sympy.Expr, name: str, what: str,
             reads: frozenset = frozenset()) -> str:
    """``deriv`` as Brian2 code, or :class:`ModelError` if Brian2 could not compile it.

    A whitelist: the code may call only Brian2's deterministic functions and
    functions ``source`` itself calls, and read only ``source``'s names, Brian2's
    constants and ``reads``. Anything else (sympy's ``DiracDelta``, ``Derivative``,
    ``Subs``, ``I``, ``zoo``, ...) is refused here rather than by the compiler.
    """
    code = sympy_to_str(deriv)
    # The user's own functions (namespace, TimedArrays) compile wherever the source does.
    own = {_brian_name(f.func) for f in source.atoms(AppliedUndef)}
    functions = _CODE_FUNCTIONS | (own - set(DEFAULT_FUNCTIONS) - {"sqrt", "clip"})
    names = ({s.name for s in source.free_symbols} | set(DEFAULT_CONSTANTS) | set(reads)
             | {"_placeholder_arg"})
    try:
        calls, read = _called(code)
        str_to_sympy(code)
    except (SyntaxError, TypeError, ValueError):
        calls, read = {code}, set()
    bad = sorted(calls - functions) + sorted(read - names)
    if not bad:
        return code
    raise ModelError(
        f"{what} has no derivative with respect to {name!r} that Brian2 can compute: "
        f"sympy gives {code!r}, and {_why(deriv, source, name, bad)}. {_ALLOWED}"
    )


def _why(deriv: sympy.Expr, source: sympy.Expr, name: str, bad: list[str]) -> str:
    """Which functions in ``source`` make its derivative uncomputable, and why."""
    reasons = {}
    for call in source.atoms(sympy.Function):
        fname = _brian_name(call.func)
        if fname in _JUMPS and name in {s.name for s in call.free_symbols}:
            reasons[fname] = f"{fname} jumps (its derivative is a Dirac delta)"
        elif fname in _RANDOM:
            reasons[fname] = f"{fname} is random (df/du would draw another number)"
    for d in deriv.atoms(sympy.Derivative):
        fname = _brian_name(d.expr.func)
        reasons.setdefault(fname, f"sympy has no derivative of {fname}")
    if reasons:
        return "; ".join(reasons[k] for k in sorted(reasons))
    return f"{', '.join(bad)} is not Brian2 code" if bad else "it uses no function Brian2 knows"


def phi_prime(phi: str, var: str = "u") -> str:
    """Derivative of the expression ``phi`` with respect to ``var``, as Brian2 code.

    Raises
    ------
    ModelError
        If ``phi`` cannot be parsed, does not depend on ``var``, or has no
        derivative that Brian2 code can compute (see :data:`DIFFERENTIABLE`).
    """
    try:
        expr = str_to_sympy(phi)
    except Exception as err:  # sympy raises many types on bad syntax
        raise ModelError(f"phi {phi!r} is not a valid expression: {err}") from None
    if var not in {s.name for s in expr.free_symbols}:
        raise ModelError(f"phi {phi!r} must depend on {var!r}")
    what = f"phi {phi!r}"
    return _as_code(_derivative(expr, var, what), expr, var, what)


@dataclass(frozen=True)
class RateModel:
    """Hidden rate units given as Brian2 equations, checked for the learning rule.

    Parameters
    ----------
    equations
        Brian2 equations of one hidden unit. They must define ``dh/dt`` (unitless
        ``h``) and a subexpression ``u`` that adds the rule's currents ``u_rec``
        and ``u_in`` (with coefficient 1), and may define ``phi``, noise through
        ``xi``, parameters (a ``tau : second`` parameter is set from the run's
        ``tau``, which may be one value per unit) and extra currents.
    namespace
        Values of external constants the equations use (e.g. ``{'beta': 2.0}``).
    description
        One line for ``brianrflo models``.
    params
        Values of the model's own dimensionless parameters (``I_bias : 1``), set
        on the hidden units when the network is built: one number for all units, or
        a sequence of one number per unit (``N`` of the run). Unset parameters are 0.
        ``tau`` is set from the run's ``tau`` instead.

    Raises
    ------
    ModelError
        On construction, naming the problem, if the equations cannot be used.
    """

    equations: str = PAPER_EQUATIONS
    namespace: dict = field(default_factory=dict)
    description: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        self._check()
        # Stored as floats and tuples: comparable, and written to JSON as they are.
        object.__setattr__(self, "params", self._checked_params(self._parse()))

    # ---------------------------------------------------------------- checks
    def _parse(self) -> Equations:
        try:
            return Equations(self.equations)
        except Exception as err:  # Brian2's parser raises several types
            raise ModelError(f"cannot parse the model equations: {err}") from None

    def _check(self) -> None:
        eqs = self._parse()
        clash = sorted(set(eqs.names) & RULE_NAMES)
        if clash:
            raise ModelError(
                f"the model defines {clash}, which the learning rule uses for its own "
                "variables; rename them"
            )
        if "h" not in eqs.diff_eq_names:
            raise ModelError("the model must define the rate as a differential equation dh/dt")
        others = sorted(eqs.diff_eq_names - {"h"})
        if others:
            raise ModelError(
                f"the model has differential equations for {others} besides h; RFLO's "
                "eligibility traces follow h alone, so a second state variable would "
                "make the rule silently wrong. Not supported."
            )
        if eqs["h"].dim != DIMENSIONLESS:
            raise ModelError("h must be dimensionless (': 1')")
        if "u" not in eqs.subexpr_names:
            raise ModelError("the model must define its input current as a subexpression "
                             "'u = u_rec + u_in + ... : 1'")
        u = str_to_sympy(eqs["u"].expr.code)
        for name in ("u_rec", "u_in"):
            if _derivative(u, name, "u") != 1:
                raise ModelError(f"u must contain {name} with coefficient 1 (u = u_rec + u_in "
                                 "+ ...), so the synapses' currents enter as in the paper")
        known = (set(eqs.names) | _UNIT_READS | _SPECIAL | set(DEFAULT_FUNCTIONS)
                 | set(DEFAULT_UNITS) | set(DEFAULT_CONSTANTS) | set(self.namespace))
        undefined = sorted(n for n in eqs.identifiers if n not in known
                           and not n.startswith("xi_"))
        if undefined:
            raise ModelError(
                f"undefined names in the model equations: {undefined}; define them as "
                "parameters or pass their values in namespace"
            )
        if eqs.stochastic_type == "multiplicative":
            raise ModelError(
                f"the noise in dh/dt must be additive: its factors ({self._noise_factors(eqs)}) "
                "may not depend on h or t; the units are integrated by forward Euler, which "
                "is right for additive noise only"
            )
        self.derivatives()  # raises if f has no derivative Brian2 code can compute
        random = sorted(set().union(*(eq.identifiers for eq in eqs.values())) & set(_RANDOM))
        if random:
            # Brian2's generator is seeded once per cpp_standalone binary: every block
            # would replay its numbers, and a resumed runtime run would not.
            raise ModelError(
                f"the model calls {random}, Brian2's random functions; give the units noise "
                "through xi instead (drawn per block, the same on every target)"
            )
        self._check_units(eqs)

    def _checked_params(self, eqs: Equations) -> dict:
        """``params`` as floats (all units) and tuples (one value per unit)."""
        if not isinstance(self.params, dict):
            raise ModelError(f"params must be a dict of parameter values, got {self.params!r}")
        own = sorted(eqs.parameter_names - {"tau"})
        checked = {}
        for name, value in self.params.items():
            if name == "tau":
                raise ModelError("parameter 'tau' is set by the run's tau (Settings(tau=...), "
                                 "--tau), not by params")
            if name not in own:
                raise ModelError(f"{name!r} is not a parameter of the model; its parameters "
                                 f"are {own}")
            if eqs[name].dim != DIMENSIONLESS:
                raise ModelError(f"parameter {name!r} has units ({eqs[name].dim}); only "
                                 "dimensionless parameters (': 1') can be set")
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                arr = np.array([np.nan])  # reported below as not numbers
            if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise ModelError(f"parameter {name!r} must be one finite number or a list of "
                                 f"finite numbers (one per unit), got {value!r}")
            if arr.ndim == 1 and "shared" in eqs[name].flags:
                raise ModelError(f"parameter {name!r} is shared by all units: give one "
                                 f"number, got {arr.size}")
            checked[name] = float(arr) if arr.ndim == 0 else tuple(float(v) for v in arr)
        return checked

    def parameter_values(self, n_hidden: int) -> dict[str, float | np.ndarray]:
        """``params`` for a network of ``n_hidden`` units.

        Raises
        ------
        ValueError
            If a per-unit parameter does not have ``n_hidden`` values.
        """
        values = {}
        for name, value in self.params.items():
            if isinstance(value, tuple) and len(value) != n_hidden:
                raise ValueError(f"parameter {name!r} must be one number or {n_hidden} "
                                 f"numbers (one per hidden unit), got {len(value)}")
            values[name] = np.array(value) if isinstance(value, tuple) else value
        return values

    def _check_units(self, eqs: Equations) -> None:
        full = eqs + Equations(HIDDEN_RULE)
        group = b2.NeuronGroup(1, full, namespace=dict(self.namespace))
        try:
            full.check_units(group, run_namespace={})
        except Exception as err:  # DimensionMismatchError, KeyError, ...
            raise ModelError(f"unit error in the model equations: {err}") from None
        finally:
            # A throwaway group for the unit check: keep Brian2 from warning that
            # it never joined a network.
            group._network = "unit check"

    # --------------------------------------------------------------- derived
    @property
    def phi(self) -> str | None:
        """The ``phi`` subexpression, if the model defines one."""
        eqs = self._parse()
        return eqs["phi"].expr.code if "phi" in eqs.subexpr_names else None

    def _f(self) -> sympy.Expr:
        """``f`` of ``dh/dt = f``, deterministic part, subexpressions other than ``u`` inlined."""
        eqs = self._parse()
        f = str_to_sympy(eqs["h"].expr.split_stochastic()[0].code)
        subs = {
            eq.varname: str_to_sympy(eq.expr.code)
            for eq in eqs.ordered
            if eq.type == SUBEXPRESSION and eq.varname != "u"
        }
        for _ in range(len(subs) + 1):  # subexpressions may refer to each other
            f = f.subs({s: subs[s.name] for s in f.free_symbols if s.name in subs})
        return f

    def derivatives(self) -> tuple[str, str]:
        """``(df/dh, df/du)`` as Brian2 expressions.

        Where ``phi``'s own expression appears in them (``1 - tanh(u)**2`` for
        ``tanh``), it is written as ``phi``, which is computed first.
        """
        f = self._f()
        names = {s.name for s in f.free_symbols}
        if names & {"u_rec", "u_in", "u_y"}:
            raise ModelError("dh/dt must depend on u_rec, u_in and u_y only through u")
        phi = self.phi
        if phi is not None and "u" in {s.name for s in str_to_sympy(phi).free_symbols}:
            phi_prime(phi)  # names phi, not dh/dt, if phi is what has no derivative
        dfdh = _derivative(f, "h", "dh/dt")
        dfdu = _derivative(f, "u", "dh/dt (through phi)")
        if phi is not None:
            as_phi = {_sympy_functions(str_to_sympy(phi)): sympy.Symbol("phi", real=True)}
            dfdh, dfdu = dfdh.subs(as_phi), dfdu.subs(as_phi)
        return (_as_code(dfdh, f, "h", "dh/dt", reads=frozenset({"phi"})),
                _as_code(dfdu, f, "u", "dh/dt (through phi)", reads=frozenset({"phi"})))

    def takes_readout_feedback(self) -> bool:
        """Whether ``u`` adds ``u_y`` (the readout fed back through ``B``) with coefficient 1."""
        u = str_to_sympy(self._parse()["u"].expr.code)
        return _derivative(u, "u_y", "u") == 1

    def is_paper(self) -> bool:
        """Whether these are the paper's equations (the numpy reference's model)."""
        return self._parse() == Equations(PAPER_EQUATIONS) and not self.namespace

    def stochastic(self) -> bool:
        """Whether the units receive noise (``xi``)."""
        return bool(self.noise_terms())

    def noise_terms(self) -> tuple[str, ...]:
        """The model's noise symbols (``xi``, ``xi_1``, ...), sorted.

        Symbol ``k`` reads columns ``k*N`` to ``(k+1)*N - 1`` of ``noise_ta``.
        """
        return tuple(sorted(self._parse().stochastic_variables))

    @staticmethod
    def _noise_factors(eqs: Equations) -> str:
        return ", ".join(f"{name}: {factor.code!r}"
                         for name, factor in sorted(eqs["h"].expr.split_stochastic()[1].items()))

    def has_parameter(self, name: str) -> bool:
        """Whether ``name`` is a per-unit parameter of the model."""
        return name in self._parse().parameter_names

    # -------------------------------------------------------------- Brian2 code
    def hidden_equations(self) -> Equations:
        """Equations of the hidden units: the model's and the rule's variables.

        A ``phi`` subexpression becomes a parameter that
        :meth:`hidden_derivative_code` sets once per step, so that ``phi(u)`` (a
        transcendental for the paper's units) is computed once per unit and step
        for both the state update and ``df/du``, as the numpy reference does.
        Noise symbols become reads of the block's draws (:data:`NOISE_READ`).
        """
        eqs = self._parse()
        replaced = {}
        if "phi" in eqs.subexpr_names:
            phi = eqs["phi"]
            replaced["phi"] = SingleEquation(PARAMETER, "phi", dimensions=phi.dim,
                                             var_type=phi.var_type)
        terms = self.noise_terms()
        if terms:
            h = eqs["h"]
            reads = {name: NOISE_READ.format(column="i" if k == 0 else f"i + {k} * N")
                     for k, name in enumerate(terms)}
            code = _NOISE_SYMBOL.sub(lambda m: reads.get(m.group(1), m.group(0)), h.expr.code)
            replaced["h"] = SingleEquation(h.type, "h", dimensions=h.dim, var_type=h.var_type,
                                           expr=Expression(code), flags=h.flags)
        if replaced:
            eqs = Equations([replaced.get(eq.varname, eq) for eq in eqs.values()])
        rule = HIDDEN_RULE + NOISE_RULE if terms else HIDDEN_RULE
        return eqs + Equations(rule)

    def hidden_derivative_code(self) -> str:
        """Per-step code computing ``phi`` (if the model has it), ``df/dh`` and ``df/du``."""
        dfdh, dfdu = self.derivatives()
        code = HIDDEN_DERIVATIVES.format(dfdh=dfdh, dfdu=dfdu)
        phi = self.phi
        return f"phi = {phi}\n{code.lstrip()}" if phi is not None else code

    @staticmethod
    def update_code(weight: str, dale: bool = False) -> str:
        """RFLO update code for ``weight`` in ``('w_out', 'w_rec', 'w_in', 'b')``.

        ``'b'`` is symmetric feedback's copy of ``w_out``. With ``dale``, recurrent
        weights are sign-clipped after every update.
        """
        code = UPDATE.format(weight=weight, eta=ETAS[weight], factor=UPDATE_FACTORS[weight])
        if weight in TRACES:
            code = b2.euler(Equations(TRACES[weight])) + "\n" + code
        return code + DALE_CLIP + "\n" if dale and weight == "w_rec" else code

    def show(self, feedback: str = "random", readout_feedback: bool = False) -> str:
        """The complete generated Brian2 code, object by object, in the order it runs.

        ``feedback`` (``'random'`` or ``'symmetric'``) and ``readout_feedback`` select
        the rule variant, as in :class:`~brianrflo.network.BrianNetwork`, whose
        assembler writes this text (:func:`brianrflo.network.describe`).
        """
        from brianrflo.network import describe

        return describe(self, feedback, readout_feedback)


#: Where the error feedback ``B`` comes from.
FEEDBACKS = ("random", "symmetric")


def feedback_equations(feedback: str = "random", readout_feedback: bool = False) -> str:
    """Equations of the error-feedback synapses for a rule variant.

    Parameters
    ----------
    feedback
        ``'random'``: fixed ``B`` (RFLO). ``'symmetric'``: ``B`` kept equal to
        ``W_out^T`` by learning with the readout's own update.
    readout_feedback
        Also carry the readout ``y`` back into the units as ``u_y = B y``.
    """
    if feedback not in FEEDBACKS:
        raise ValueError(f"feedback must be one of {FEEDBACKS}, got {feedback!r}")
    eqs = FEEDBACK_SYMMETRIC if feedback == "symmetric" else FEEDBACK
    return eqs + READOUT_FEEDBACK if readout_feedback else eqs
