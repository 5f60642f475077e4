"""Models as Brian2 equations, installed as ``brianrflo.models``.

Each entry of :data:`MODELS` is a :class:`RateModel`; ``brianrflo models`` lists
them and ``brianrflo show-equations --model NAME`` prints what runs. To add one,
write its equations here (or in a notebook) as a ``RateModel``.
"""

from .lif import LIFModel
from .rate import PAPER_EQUATIONS, RULE_NAMES, ModelError, RateModel, phi_prime

__all__ = ["LIFModel", "MODELS", "ModelError", "PAPER_EQUATIONS", "RULE_NAMES", "RateModel",
           "get_model", "phi_prime"]

#: Shipped models by name.
MODELS: dict[str, RateModel | LIFModel] = {
    "rate": RateModel(description="the paper's rate units: phi = tanh(u) (Murray 2019, Eq. 1)"),
    "rate-sigmoid": RateModel(
        PAPER_EQUATIONS.replace("tanh(u)", "1 / (1 + exp(-u))"),
        description="logistic units: phi = 1/(1 + exp(-u))",
    ),
    "rate-softplus": RateModel(
        PAPER_EQUATIONS.replace("tanh(u)", "log(1 + exp(beta * u)) / beta"),
        namespace={"beta": 1.0},
        description="softplus units: phi = log(1 + exp(beta u))/beta, beta = 1",
    ),
    "rate-noisy": RateModel(
        PAPER_EQUATIONS.replace("(-h + phi) / tau", "(-h + phi) / tau + sigma * xi * tau**-0.5"),
        namespace={"sigma": 0.02},
        description="tanh units with private white noise of strength sigma = 0.02",
    ),
    # Spiking units (issue 7): brianrflo.spiking runs them; tuned so that 30 units
    # fire irregularly at about 0.06 spikes per step without input.
    "lif": LIFModel(tau_r=20.0, i_bias=1.2, g=20.0),
}


def get_model(name: str) -> RateModel | LIFModel:
    """The shipped model called ``name``."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]
