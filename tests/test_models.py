"""Model editing: the rule follows the equations, and bad equations are refused clearly."""

import numpy as np
import pytest

from brianrflo import Settings, evaluate, train
from brianrflo import reference as ref
from brianrflo.cli import main
from brianrflo.models import MODELS, PAPER_EQUATIONS, ModelError, RateModel
from brianrflo.network import BrianNetwork
from brianrflo.tasks import Periodic
from helpers import N, T, assert_matches_reference, random_block, reference_blocks

ETA = (0.05, 0.04, 0.03)


def with_phi(phi: str, **namespace) -> RateModel:
    return RateModel(PAPER_EQUATIONS.replace("tanh(u)", phi), namespace=namespace)


def sigmoid(u):
    return 1 / (1 + np.exp(-u))


# Each phi with its derivative written by hand (not derived): the reference side.
PHIS = {
    "tanh": (with_phi("tanh(u)"), np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    "sigmoid": (with_phi("1 / (1 + exp(-u))"), sigmoid, lambda u: sigmoid(u) * (1 - sigmoid(u))),
    "softplus": (with_phi("log(1 + exp(beta * u)) / beta", beta=2.0),
                 lambda u: np.log1p(np.exp(2 * u)) / 2, lambda u: sigmoid(2 * u)),
}


@pytest.mark.equivalence
@pytest.mark.parametrize(
    "target", ["cython", pytest.param("cpp_standalone", marks=pytest.mark.standalone)]
)
@pytest.mark.parametrize("name", sorted(PHIS))
def test_each_phi_matches_reference_with_hand_written_derivative(weights, name, target):
    model, phi, dphi = PHIS[name]
    blocks = [random_block(20, 2)]
    net = BrianNetwork(weights, T, block_trials=2, eta=ETA, update="trial", target=target,
                       model=model, record=True)
    expected = reference_blocks(weights, blocks, "trial", ETA, phi=phi, dphi=dphi)
    assert_matches_reference(net, weights, blocks, expected)


@pytest.mark.equivalence
def test_per_unit_tau_is_each_units_own(weights):
    tau = np.linspace(2.0, 15.0, N)
    blocks = [random_block(21, 2)]
    net = BrianNetwork(weights, T, block_trials=2, eta=ETA, update="trial", tau=tau,
                       record=True)
    assert_matches_reference(net, weights, blocks,
                             reference_blocks(weights, blocks, "trial", ETA, tau=tau))
    # Negative control: one shared tau gives a different trial.
    shared = reference_blocks(weights, blocks, "trial", ETA, tau=float(tau.mean()))
    assert np.abs(shared[0][0][0].h - reference_blocks(
        weights, blocks, "trial", ETA, tau=tau)[0][0][0].h).max() > 1e-3


@pytest.mark.equivalence
def test_evaluation_runs_the_models_own_equations(weights):
    """Untrained/final losses of an edited model come from that model, not from tanh."""
    model, phi, _ = PHIS["sigmoid"]
    block = random_block(22, 1)
    got = evaluate(weights, _Fixed(block), n=1, model=model)
    want = ref.forward(weights, *block.trial(0), phi=phi).loss
    assert abs(got - want) < 1e-10
    assert abs(got - ref.forward(weights, *block.trial(0)).loss) > 1e-3


class _Fixed:
    """A task that always returns the same block."""

    def __init__(self, block):
        self._block, self.T = block, block.x.shape[1]

    def block(self, n, rng=None):
        return self._block


@pytest.mark.unit
def test_rectified_phi_gets_an_indicator_derivative():
    model = with_phi("clip(u, 0, inf)")
    assert model.derivatives() == ("-1/tau", "int(u > 0)/tau")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("equations", "namespace", "message"),
    [
        (PAPER_EQUATIONS.replace("tanh(u)", "tanh(gain * u)"), {}, "undefined names.*gain"),
        (PAPER_EQUATIONS.replace("tanh(u)", "floor(u)"), {},
         r"phi .floor\(u\). has no derivative.*floor jumps"),
        (PAPER_EQUATIONS.replace("tanh(u)", "int(u > 0)"), {},
         r"phi .int\(u > 0\). has no derivative.*int jumps"),
        (PAPER_EQUATIONS.replace("(-h + phi) / tau", "(-h + phi)"), {}, "unit"),
        (PAPER_EQUATIONS + "fb : 1\n", {}, "'fb'.*learning rule"),
        (PAPER_EQUATIONS + "p = 2 * h : 1\n", {}, "'p'.*learning rule"),
        (PAPER_EQUATIONS + "da/dt = -a / tau : 1\n", {}, r"\['a'\].*Not supported"),
        (PAPER_EQUATIONS.replace("u = u_rec + u_in", "u = 2 * u_rec + u_in"), {},
         "u_rec with coefficient 1"),
        (PAPER_EQUATIONS.replace("u = u_rec + u_in + u_y : 1", "v = u_rec + u_in : 1"), {},
         "subexpression 'u"),
        ("phi = tanh(u) : 1\nu = u_rec + u_in : 1", {}, "dh/dt"),
        ("dh/dt = (-h + tanh(u) : 1", {}, "cannot parse"),
    ],
)
def test_bad_equations_are_refused_naming_the_problem(equations, namespace, message):
    with pytest.raises(ModelError, match=message):
        RateModel(equations, namespace=namespace)


@pytest.mark.engines
def test_noise_and_extra_current_train(tmp_path):
    """Noise through xi and a constant extra current: a model the user edited, end to end."""
    model = RateModel(
        PAPER_EQUATIONS.replace("(-h + phi) / tau", "(-h + phi) / tau + sigma * xi * tau**-0.5")
        .replace("u = u_rec + u_in", "u = u_rec + u_in + I_bias") + "I_bias : 1 (constant)\n",
        namespace={"sigma": 0.01},
    )
    assert model.stochastic() and model.has_parameter("I_bias")
    result = train(Periodic(100), Settings(trials=200, block_trials=100, eta=(0.03,) * 3),
                   n_hidden=20, model=model, progress=False)
    assert result.final_loss < 0.5 * result.untrained_loss


@pytest.mark.unit
def test_shipped_models_are_listed_and_shown(capsys):
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in MODELS)
    assert main(["show-equations", "--model", "rate-sigmoid", "--rule", "rflo"]) == 0
    shown = capsys.readouterr().out
    assert "phi = 1 / (1 + exp(-u))" in shown and "dfdu = phi**2*exp(-u)/tau" in shown
    assert "_p = dt*(dfdh_post*p + dfdu_post*h_prev_pre) + p" in shown


@pytest.mark.unit
def test_other_models_need_a_brian2_engine():
    with pytest.raises(ValueError, match="Brian2 engines"):
        train(Periodic(20), Settings(rule="bptt", target="reference", model="rate-sigmoid"),
              progress=False)
