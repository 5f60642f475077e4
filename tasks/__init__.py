"""Tasks as plain numpy arrays, installed as ``brianrflo.tasks``."""

from .base import Block, Task
from .interval import IntervalMatching
from .neurogym import NeuroGym
from .periodic import Periodic
from .reach import HOLD, Reach, ReachSequence

__all__ = ["Block", "HOLD", "IntervalMatching", "NeuroGym", "Task", "Periodic", "Reach",
           "ReachSequence", "TASKS"]

#: Tasks by command-line name (and ``neurogym:ENV_ID`` for :class:`NeuroGym`).
TASKS = {"periodic": Periodic, "interval": IntervalMatching, "reach": Reach}
