"""One run, described: what trains (task, N, model) and how (settings).

A :class:`Description` is the one schema of a training run. ``brianrflo train``
builds it from its options, or from a saved one (``--config``, ``--resume``) with
the options given on the command line on top; ``config.json`` stores it, and a
saved run is rebuilt from it (:mod:`brianrflo.runs`). It is checked once, when
made: a bad value is one line naming the field, what was given and what is allowed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from brianrflo.models import LIFModel, RateModel, get_model
from brianrflo.tasks import TASKS
from brianrflo.tasks.base import Task

from .runfolder import read_json
from .train import Settings
from .validation import check_int

__all__ = ["Description", "NEUROGYM"]

#: Prefix of a NeuroGym environment id as a task name.
NEUROGYM = "neurogym:"


@dataclass(frozen=True)
class Description:
    """A training run: its settings, task, network size and model (``config.json``).

    Parameters
    ----------
    task
        A name in ``brianrflo.tasks.TASKS``, ``neurogym:ENV_ID``, or a
        :class:`~brianrflo.tasks.Task` subclass as ``module:Class`` or
        ``path/to/file.py:Class``; ``task_args`` are its keyword arguments.
    model_file
        A file of the hidden units (:func:`~brianrflo.runs.load_model`), or ``None``
        for ``settings.model``; ``params`` set its unit parameters.
    weights
        A ``.npz`` file of initial weights, or ``None`` to draw them (``settings.init``).
    """

    settings: Settings = field(default_factory=Settings)
    task: str = "periodic"
    task_args: dict[str, Any] = field(default_factory=dict)
    n_hidden: int = 30
    model_file: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Settings):
            raise ValueError(f"settings must be a Settings, got {self.settings!r}")
        if not isinstance(self.task, str):
            raise ValueError(f"task must be a name, got {self.task!r}")
        if not (self.task in TASKS or self.task.startswith(NEUROGYM) or ":" in self.task):
            raise ValueError(f"task must be one of {sorted(TASKS)}, {NEUROGYM}ENV_ID or "
                             f"MODULE:CLASS, got {self.task!r}")
        for name in ("task_args", "params"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"{name} must map names to values, got {value!r}")
        object.__setattr__(self, "n_hidden", check_int("n_hidden", self.n_hidden, 1))
        for name in ("model_file", "weights"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a file name, got {getattr(self, name)!r}")

    def make_task(self) -> Task:
        """The task, made from ``task`` and ``task_args``."""
        if self.task.startswith(NEUROGYM):
            from brianrflo.tasks import NeuroGym

            try:
                return NeuroGym(self.task[len(NEUROGYM):], **self.task_args)
            except ImportError as err:  # neurogym is an optional extra
                raise ValueError(f"task {self.task!r}: {err}") from None
        if self.task not in TASKS:
            from .runs import load_task

            return load_task(self.task, self.task_args)
        try:
            return TASKS[self.task](**self.task_args)
        except TypeError as err:
            raise ValueError(f"task_args {self.task_args!r} do not fit the {self.task} task: "
                             f"{err}") from None

    def make_model(self) -> RateModel | LIFModel:
        """The model, with ``params`` set (checked against ``n_hidden``)."""
        from .runs import load_model

        model = (get_model(self.settings.model) if self.model_file is None
                 else load_model(self.model_file))
        if not self.params:
            return model
        if not isinstance(model, RateModel):
            raise ValueError("params (--param) apply to rate models (RateModel), not "
                             f"{self.model_file or self.settings.model!r}")
        try:
            model = replace(model, params={**model.params, **self.params})
            model.parameter_values(self.n_hidden)
        except ValueError as err:
            raise ValueError(f"params (--param): {err}") from None
        return model

    def to_json(self) -> dict:
        """The description as JSON values (what ``config.json`` holds)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, value: Any, source: str) -> Description:
        """A description from :meth:`to_json`'s values, checked; ``source`` names them
        in the message of a refusal."""
        if not isinstance(value, dict) or not isinstance(value.get("settings"), dict):
            raise ValueError(f"{source} must hold a JSON object with the run's settings "
                             "(the config.json of brianrflo train)")
        for given, known in ((value, cls), (value["settings"], Settings)):
            unknown = sorted(set(given) - {f.name for f in fields(known)})
            if unknown:
                raise ValueError(f"{source} has unknown settings {unknown}")
        settings = dict(value["settings"])
        for name in ("eta", "tau"):  # JSON has lists where Settings keeps tuples
            if isinstance(settings.get(name), list):
                settings[name] = tuple(settings[name])
        try:
            return cls(**{**value, "settings": Settings(**settings)})
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: {err}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> Description:
        """The description saved in ``path`` (a ``config.json``)."""
        return cls.from_json(read_json(path, "config file"), f"config file {os.fspath(path)!r}")
