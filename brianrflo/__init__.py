"""brianrflo: local online learning (RFLO, Murray 2019) in recurrent networks, with Brian2.

The main entry points::

    from brianrflo import Weights, Settings, train
    from brianrflo.tasks import Periodic
    result = train(Periodic(200), Settings(rule="rflo", trials=500), n_hidden=30)
"""

import os as _os
import sys as _sys

from .runfolder import interrupt_at_startup as _interrupt_at_startup

_cli = _os.path.basename(_sys.argv[0]) in ("brianrflo", "-m")
if _cli:
    import signal as _signal

    _signal.signal(_signal.SIGINT, _interrupt_at_startup)
_hook = _sys.excepthook
import brian2 as _brian2  # noqa: E402

if _cli:  # Brian2 has put its own Ctrl-C handler in place (for a running simulation)
    _signal.signal(_signal.SIGINT, _interrupt_at_startup)

# Brian2 installs a hook that calls every uncaught error a Brian2 bug to report;
# in a user's script that is most often the user's own typo.
if getattr(_sys.excepthook, "__module__", "").startswith("brian2"):
    _sys.excepthook = _hook
# Warnings about what our own code paths do on purpose: OpenMP is covered by the
# equivalence tests; resumed runs drop the objects of a network they replace.
_brian2.BrianLogger.suppress_name("openmp")

from importlib import metadata as _metadata  # noqa: E402

from .analysis import alignment  # noqa: E402
from .network import BrianNetwork  # noqa: E402
from .train import Result, Settings, evaluate, train  # noqa: E402
from .weights import Weights  # noqa: E402

__all__ = ["BrianNetwork", "Result", "Settings", "Weights", "alignment", "evaluate", "train"]
try:  # pyproject.toml is the one place the version is written
    __version__ = _metadata.version("brianrflo")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "unknown"
