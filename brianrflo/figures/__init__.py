"""Paper figures as commands: ``brianrflo figure NAME [--quick] [--out DIR]``.

Each figure is a function registered under its name. It receives a
:class:`Context` (output folder, quick mode, seeds, progress), writes its PNG
through ``ctx.path(...)`` and returns the numbers behind the figure as a
JSON-ready dict; :func:`run_figure` adds the command, settings, versions and
wall time and writes ``NAME.json`` beside the PNG.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import brian2
import numpy as np

__all__ = ["FIGURES", "Context", "register", "run_figure"]

#: name -> (one-line description, function)
FIGURES: dict[str, tuple[str, Callable[[Context], dict]]] = {}

# Modules that register figures; imported on first use so `brianrflo train` stays fast.
_MODULES = ("periodic", "interval", "fig4", "rules", "spiking")


@dataclass
class Context:
    """What a figure function gets.

    Attributes
    ----------
    out
        Folder receiving the figure's files.
    quick
        Shrink sizes and trial counts so the figure runs in a minute or two and
        still shows the qualitative result (what the tests run).
    seeds
        Networks per setting; ``None`` lets the figure choose (paper: 9, quick: fewer).
    progress
        Print progress lines to stderr.
    """

    out: str
    quick: bool = False
    seeds: int | None = None
    progress: bool = True

    def path(self, name: str) -> str:
        """A file in the output folder."""
        return os.path.join(self.out, name)

    def say(self, message: str) -> None:
        """One progress line on stderr (unless quiet)."""
        if self.progress:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def register(name: str, description: str):
    """Decorator: make ``fn(ctx) -> dict`` available as ``brianrflo figure NAME``."""

    def wrap(fn):
        FIGURES[name] = (description, fn)
        return fn

    return wrap


def available() -> dict[str, tuple[str, Callable[[Context], dict]]]:
    """All registered figures (imports the figure modules)."""
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return FIGURES


def run_figure(
    name: str,
    out: str | os.PathLike,
    quick: bool = False,
    seeds: int | None = None,
    progress: bool = True,
    command: str | None = None,
) -> dict:
    """Run figure ``name``; writes ``NAME.png`` (and others) and ``NAME.json`` into ``out``.

    Returns the JSON record.
    """
    figures = available()
    if name not in figures:
        raise ValueError(f"figure must be one of {sorted(figures)}, got {name!r}")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int)
                              or seeds < 1):
        raise ValueError(f"seeds must be an integer >= 1, got {seeds!r}")
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    ctx = Context(out=out, quick=quick, seeds=seeds, progress=progress)
    start = time.perf_counter()
    numbers = figures[name][1](ctx)
    record = {
        "figure": name,
        "command": command or f"brianrflo figure {name}" + (" --quick" if quick else ""),
        "quick": quick,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "versions": {"brian2": brian2.__version__, "numpy": np.__version__},
        **numbers,
    }
    path = os.path.join(out, f"{name}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f, indent=1, default=_plain)
    os.replace(path + ".tmp", path)
    return record


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value)} to JSON")
