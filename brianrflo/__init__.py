"""brianrflo: local online learning (RFLO, Murray 2019) in recurrent networks, with Brian2.

The main entry points::

    from brianrflo import Weights, Settings, train
    from brianrflo.tasks import Periodic
    result = train(Periodic(200), Settings(rule="rflo", trials=500), n_hidden=30)
"""

from .analysis import alignment
from .network import BrianNetwork
from .train import Result, Settings, evaluate, train
from .weights import Weights

__all__ = ["BrianNetwork", "Result", "Settings", "Weights", "alignment", "evaluate", "train"]
__version__ = "0.1.0"
