"""Paper figures as commands: ``brianrflo figure NAME [--quick] [--out DIR]``.

Each figure is two functions registered under its name: one computes (it
receives a :class:`Context`: output folder, quick mode, seeds, progress) and
returns the numbers behind the figure as a JSON-ready dict; :func:`run_figure`
adds the command, settings, versions and wall time and writes ``NAME.json``. The
other draws ``NAME.png`` from that JSON record alone, so :func:`replot_figure`
(``brianrflo figure NAME --replot``) redraws a run of hours in seconds.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import brian2
import numpy as np
from matplotlib.figure import Figure

from brianrflo.runfolder import json_default, read_json, write_json
from brianrflo.validation import check_choice, check_int
from brianrflo.weights import INITS

__all__ = ["FIGURES", "PLOTS", "Context", "plotter", "register", "replot_figure",
           "run_figure"]

#: name -> (one-line description, function)
FIGURES: dict[str, tuple[str, Callable[[Context], dict]]] = {}
#: name -> function drawing the figure from its JSON record
PLOTS: dict[str, Callable[[dict], Figure]] = {}

# Modules that register figures; imported on first use so `brianrflo train` stays fast.
_MODULES = ("periodic", "interval", "fig4", "rules", "spiking")


@dataclass
class Context:
    """What a figure function gets: the output folder ``out``, ``quick`` (sizes that
    run in minutes and still show the qualitative result), ``seeds`` (networks per
    setting; ``None``: the figure's choice), ``progress`` (lines on stderr), ``init``
    (:data:`~brianrflo.weights.INITS`).

    ``workers``, ``scheduler``: where the grids run as tasks
    (:func:`brianrflo.dask_sweep.dask_sweep`): ``workers=0`` in this process, else on
    the Dask scheduler at ``scheduler`` (or Dask's configured one), else on a
    LocalCluster of ``workers`` processes (``None``: one per core), started at the
    first grid.
    """

    out: str
    quick: bool = False
    seeds: int | None = None
    progress: bool = True
    init: str = "paper"
    workers: int | None = 0
    scheduler: str | None = None
    _dask: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    _client: object | None = field(default=None, repr=False)

    def client(self):
        """The :class:`distributed.Client` for the grids, opened once; ``None``: here."""
        if self.workers == 0 and self.scheduler is None:
            return None
        if self._client is None:
            from brianrflo.dask_sweep import open_client

            self._client = self._dask.enter_context(
                open_client(self.scheduler, self.workers, say=self.say))
        return self._client

    def close(self) -> None:
        """Close the client (and its LocalCluster) if one was opened."""
        self._dask.close()
        self._client = None

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


def plotter(name: str):
    """Decorator: ``fn(record) -> Figure`` draws figure ``name`` from its JSON record."""

    def wrap(fn):
        PLOTS[name] = fn
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
    workers: int | None = 0,
    scheduler: str | None = None,
    init: str = "paper",
) -> dict:
    """Run figure ``name``; writes ``NAME.json`` into ``out``, then ``NAME.png`` from it.

    ``workers`` and ``scheduler``: where its grids run (see :class:`Context`; the
    default, ``workers=0``, is this process). ``init`` draws every network's weights
    (:meth:`~brianrflo.weights.Weights.init`) and is recorded. Returns the JSON record.
    """
    figures = available()
    if name not in figures:
        raise ValueError(f"figure must be one of {sorted(figures)}, got {name!r}")
    if seeds is not None:
        check_int("seeds", seeds, 1)
    check_choice("init", init, INITS)
    if workers is not None:
        check_int("workers", workers, 0)
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    ctx = Context(out=out, quick=quick, seeds=seeds, progress=progress, workers=workers,
                  scheduler=scheduler, init=init)
    start = time.perf_counter()
    try:
        numbers = figures[name][1](ctx)
    finally:
        ctx.close()
    record = {
        "figure": name,
        "command": command or f"brianrflo figure {name}" + (" --quick" if quick else ""),
        "quick": quick,
        "init": init,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "versions": {"brian2": brian2.__version__, "numpy": np.__version__},
        **numbers,
    }
    path = os.path.join(out, f"{name}.json")
    write_json(path, record, default=json_default)
    record = read_json(path, "figure record")  # drawn from the JSON, as --replot will
    _draw(name, record, os.path.join(out, f"{name}.png"))
    return record


def replot_figure(name: str, out: str | os.PathLike) -> str:
    """Redraw ``OUT/NAME.png`` from ``OUT/NAME.json`` without computing anything.

    Returns the PNG's path.

    Raises
    ------
    ValueError
        Unknown figure, no or unreadable JSON, a JSON of another figure, or a record
        lacking what the plot needs (:class:`~brianrflo.figures.style.RecordError`);
        the PNG is then left as it was.
    """
    figures = available()
    if name not in figures:
        raise ValueError(f"figure must be one of {sorted(figures)}, got {name!r}")
    path = os.path.join(os.fspath(out), f"{name}.json")
    if not os.path.exists(path):
        raise ValueError(f"--replot needs {path}, which does not exist (run `brianrflo "
                         f"figure {name} --out {os.fspath(out)}` first)")
    record = read_json(path, "--replot's figure record")
    if record.get("figure") != name:
        raise ValueError(f"{path} is the record of figure {record.get('figure')!r}, "
                         f"not {name!r}")
    png = os.path.join(os.fspath(out), f"{name}.png")
    _draw(name, record, png)
    return png


def _draw(name: str, record: dict, png: str) -> None:
    from .style import save

    save(PLOTS[name](record), png)

