"""Tasks as plain numpy arrays, installed as ``brianrflo.tasks``."""

from .base import Block, Task
from .interval import IntervalMatching
from .periodic import Periodic

__all__ = ["Block", "IntervalMatching", "Task", "Periodic", "TASKS"]

#: Tasks by command-line name.
TASKS = {"periodic": Periodic, "interval": IntervalMatching}
