"""training.png draws the network that was trained, run by the engine that trained it."""

import numpy as np
import pytest

from brianrflo import reference as ref
from brianrflo.models import RateModel, get_model
from brianrflo.network import BrianNetwork
from brianrflo.plots import plot_training
from brianrflo.tasks import Periodic
from brianrflo.train import Settings, train

pytestmark = pytest.mark.engines

N, PERIOD, TRIALS, SEED = 8, 20, 20, 0

SOFTSIGN = RateModel("""
dh/dt = (-h + phi) / tau : 1
phi = 2 * u / (1 + abs(u)) : 1
u = u_rec + u_in + u_y : 1
tau : second (constant)
""")


def _plotted_output(fig) -> np.ndarray:
    ax_out = fig.axes[1]
    (line,) = [ln for ln in ax_out.get_lines() if ln.get_label() == "output $y$"]
    return np.asarray(line.get_ydata())


@pytest.mark.parametrize(
    ("name", "model"),
    [("rate-sigmoid", None),  # a shipped model chosen by name
     ("rate", SOFTSIGN)],     # a model object: settings still say 'rate'
)
def test_output_panel_is_the_brian2_evaluation_of_the_trained_model(name, model):
    task = Periodic(PERIOD)
    settings = Settings(rule="rflo", trials=TRIALS, block_trials=TRIALS, seed=SEED, model=name)
    result = train(task, settings, n_hidden=N, progress=False, model=model)
    plotted = _plotted_output(plot_training(result, task))

    # The trained weights run again in Brian2 on the evaluation trial (seed + 1).
    block = task.block(1, np.random.default_rng(SEED + 1))
    net = BrianNetwork(result.weights, task.T, tau=settings.tau,
                       model=model or get_model(name), record=True)
    brian_loss = net.run_block(block)[0]
    brian_y = net.trace()["y"][:, 0]
    tanh_y = ref.forward(result.weights, *block.trial(0), settings.tau).y[:, 0]

    np.testing.assert_allclose(plotted, brian_y, rtol=1e-9, atol=1e-12)
    assert result.final_loss == pytest.approx(brian_loss, rel=1e-9)
    # The tanh reference draws another network: the old figure was that one.
    assert not np.allclose(plotted, tanh_y)


def test_a_result_without_its_evaluation_is_refused():
    task = Periodic(PERIOD)
    result = train(task, Settings(rule="bptt", trials=2, block_trials=2, target="reference"),
                   n_hidden=N, progress=False)
    result.final_output = None
    with pytest.raises(ValueError, match="final_output"):
        plot_training(result, task)
