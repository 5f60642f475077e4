"""Tasks as plain numpy arrays, installed as ``brianrflo.tasks``."""

from .base import Block, Task
from .interval import IntervalMatching
from .periodic import Periodic
from .reach import HOLD, Reach, ReachSequence

__all__ = ["Block", "HOLD", "IntervalMatching", "Task", "Periodic", "Reach", "ReachSequence",
           "TASKS"]

#: Tasks by command-line name.
TASKS = {"periodic": Periodic, "interval": IntervalMatching, "reach": Reach}
