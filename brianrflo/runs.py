"""Saved runs as first-class objects: reload, score and redraw what ``brianrflo train`` wrote.

A run folder holds ``config.json`` (the run's :class:`~brianrflo.description.Description`),
``metrics.json`` (every setting, the model's equations, constants and parameters,
the task's settings, the losses) and ``weights.npz``. :func:`load_run` rebuilds
the task, settings, model and weights from them; :func:`evaluate_run` and
:func:`plot_run` use it. The model is rebuilt from the equations recorded in
``metrics.json``, never from a model file, so a run stays usable when the file it
was trained from changes or is gone.

Also here: loading a model from a file (``--model FILE``) and a task class from
``module:Class`` or ``path/to/file.py:Class`` (``--task``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import os
import sys
from dataclasses import fields
from operator import methodcaller

import numpy as np

from brianrflo.models import MODELS, LIFModel, RateModel, get_model
from brianrflo.tasks.base import Task

from .plots import plot_evaluation, plot_training
from .runfolder import WriteError, atomic_write, json_default, read_json
from .train import Evaluation, Result, Settings, evaluation, readout_fed_back
from .validation import check_int
from .weights import Weights

__all__ = ["load_run", "evaluate_run", "plot_run", "load_model", "load_task", "EVALUATION"]

#: Files :func:`evaluate_run` writes into the run folder.
EVALUATION = ("evaluation.npz", "evaluation.png")


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())


def _load_module(path: str, option: str):
    """Execute the Python file ``path`` as a module named after it."""
    if not os.path.isfile(path):
        raise ValueError(f"{option} {path!r}: no such file")
    # A stable name (a task's default settings() records its module), unlikely to
    # shadow an installed module.
    stem = os.path.splitext(os.path.basename(path))[0]
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]
    name = f"brianrflo_file_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{option} {path!r} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's code may raise anything
        del sys.modules[name]
        raise ValueError(f"{option} {path!r} fails to run: {_one_line(err)}") from None
    return module


def load_model(path: str | os.PathLike) -> RateModel | LIFModel:
    """The one module-level :class:`~brianrflo.models.RateModel` (or ``LIFModel``) of
    the Python file ``path``, or ``RateModel(text)`` of any other file.

    Raises ``ValueError``, one line naming the file and the problem.
    """
    path = os.fspath(path)
    if path.endswith(".py"):
        module = _load_module(path, "--model")
        found = {k: v for k, v in vars(module).items()
                 if isinstance(v, (RateModel, LIFModel)) and not k.startswith("_")}
        if len(found) != 1:
            what = f"several ({', '.join(sorted(found))})" if found else "none"
            raise ValueError(f"--model {path!r} must define exactly one RateModel at module "
                             f"level, found {what}")
        return next(iter(found.values()))
    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--model {path!r} cannot be read: {_one_line(err)}") from None
    try:
        return RateModel(text, description=f"equations from {os.path.basename(path)}")
    except ValueError as err:
        raise ValueError(f"--model {path!r}: {' '.join(str(err).split())}") from None


def load_task(spec: str, kwargs: dict | None = None) -> Task:
    """``Class(**kwargs)`` of the :class:`~brianrflo.tasks.Task` subclass named by
    ``spec``: ``module:Class`` (importable, or in the current folder) or
    ``path/to/file.py:Class``.

    Raises ``ValueError`` in one line if the class cannot be found or made, or its
    first trial is not a :class:`~brianrflo.tasks.Block` of the shape it declares.
    """
    where, _, name = str(spec).rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(f"--task must be MODULE:CLASS or path/to/file.py:CLASS, got {spec!r}")
    if where.endswith(".py"):
        module = _load_module(where, "--task")
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.append(os.getcwd())  # as with python -m: modules beside the user count
        try:
            module = importlib.import_module(where)
        except Exception as err:  # ImportError, or the module's own error
            raise ValueError(f"--task {spec!r}: cannot import {where!r} ({_one_line(err)}); "
                             "put its folder on PYTHONPATH or give path/to/file.py:CLASS"
                             ) from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ValueError(f"--task {spec!r}: {where} has no Task subclass {name!r}")
    try:
        task = cls(**(kwargs or {}))
        block = task.block(1, np.random.default_rng(0))
        shape = (task.T, task.n_in, task.n_out)
    except Exception as err:  # the user's code may raise anything
        raise ValueError(f"--task {spec!r}: {name}(**{kwargs or {}}) fails: "
                         f"{_one_line(err)}") from None
    x, target = getattr(block, "x", None), getattr(block, "target", None)
    if x is None or target is None or (x.shape[1:], target.shape[2]) != (
            (shape[0], shape[1]), shape[2]):
        raise ValueError(f"--task {spec!r}: {name}.block(1, rng) must return a Block of x "
                         f"(1, T, n_in) and target (1, T, n_out) with (T, n_in, n_out) = "
                         f"{shape}")
    return task


def _json(value):
    """``value`` as ``train`` records it in ``metrics.json``."""
    return json.loads(json.dumps(value, default=json_default))


def _model(record: dict) -> RateModel | LIFModel:
    """The model a run trained, from the equations, constants and parameters it recorded."""
    name = record.get("model", "rate")
    shipped = get_model(name) if name in MODELS else None
    equations = record.get("model_equations")
    namespace = record.get("model_namespace", {})
    params = record.get("model_params", {})
    if equations is None:
        raise ValueError("metrics.json records no model_equations")
    if (shipped is not None and equations == shipped.equations and not params
            and namespace == _json(shipped.namespace)):
        return shipped
    if isinstance(shipped, LIFModel) and equations == shipped.equations:
        return LIFModel(tau_r=namespace["tau_r"], v_th=namespace["v_th"],
                        v_reset=namespace["v_reset"], n_ref=namespace["n_ref"],
                        gamma=namespace["gamma"], i_bias=namespace["I_bias"])
    return RateModel(equations, namespace=namespace, params=params,
                     description="the model recorded in metrics.json")


def _settings(record: dict) -> Settings:
    names = {f.name for f in fields(Settings)}
    values = {k: v for k, v in record.items() if k in names}
    # Evaluation runs on one core; the run's thread count may exceed this machine's.
    values["threads"] = 1
    if values.get("target") == "cpp_standalone":
        values["target"] = "cython"  # what evaluation() runs anyway
    return Settings(**values)


def load_run(run_dir: str | os.PathLike) -> tuple[Task, Settings, RateModel | LIFModel,
                                                   Weights, dict]:
    """``(task, settings, model, weights, metrics)`` of the run that ``brianrflo train
    --out`` wrote in ``run_dir``.

    ``settings`` are the run's but for ``threads`` (1) and ``target`` (``'cython'``
    for ``cpp_standalone``), as :func:`~brianrflo.train.evaluation` runs. Raises
    ``ValueError`` in one line if a file is missing or corrupt, or the task rebuilt
    from ``config.json`` is not the one the run recorded (its code has changed).
    """
    from .cli import saved_description  # also reads older versions' config.json

    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise ValueError(f"RUN_DIR {run_dir!r} is not a folder")

    def file(name: str) -> str:
        path = os.path.join(run_dir, name)
        if not os.path.exists(path):
            raise ValueError(f"RUN_DIR {run_dir!r} has no {name} (a folder written by "
                             "brianrflo train --out holds one)")
        return path

    metrics = read_json(file("metrics.json"), "run metrics")
    config = file("config.json")
    record = metrics.get("settings")
    if not isinstance(record, dict) or "task" not in record:
        raise ValueError(f"{os.path.join(run_dir, 'metrics.json')!r} records no settings")
    task = saved_description(config).make_task()
    if _json(task.settings()) != record["task"]:
        raise ValueError(f"the task built from {config!r} has "
                         f"settings {_json(task.settings())}, the run recorded "
                         f"{record['task']}: has the task's code changed?")
    weights = Weights.load(os.path.join(run_dir, "weights.npz"))
    if (weights.n_in, weights.n_out) != (task.n_in, task.n_out):
        raise ValueError(f"weights.npz has (n_in, n_out) = {(weights.n_in, weights.n_out)}, "
                         f"the task needs {(task.n_in, task.n_out)}")
    return task, _settings(record), _model(record), weights, metrics


def evaluate_run(run_dir: str | os.PathLike, trials: int = 1,
                 seed: int | None = None) -> Evaluation:
    """Score the weights of the run in ``run_dir`` (:func:`load_run`) on ``trials``
    trials, by :func:`~brianrflo.train.evaluation`, and return what they did.

    Writes ``evaluation.npz`` (``loss``, ``losses``, ``y``, ``h``, ``x``, ``target``,
    ``mask``, ``seed``) and ``evaluation.png`` into ``run_dir``, no file of the run.
    ``seed`` defaults to the run's seed + 1, the trials ``train`` measured
    ``final_loss`` on (so one trial gives that loss exactly).
    """
    task, settings, model, weights, _ = load_run(run_dir)
    trials = check_int("trials", trials, 1)
    seed = settings.seed + 1 if seed is None else check_int("seed", seed, 0)
    result = evaluation(weights, task, settings.tau, trials, seed, model,
                        readout_fed_back(settings.rule))
    npz, png = io.BytesIO(), io.BytesIO()
    np.savez(npz, loss=result.loss, losses=result.losses, y=result.outputs, h=result.h,
             x=result.block.x, target=result.block.target, mask=result.block.mask, seed=seed)
    plot_evaluation(result, settings, seed).savefig(png, format="png", dpi=120)
    _write_all(os.fspath(run_dir), {EVALUATION[0]: npz.getvalue(), EVALUATION[1]: png.getvalue()})
    return result


def _write_all(folder: str, files: dict[str, bytes]) -> None:
    """Write each file atomically; if one fails, remove those this call created."""
    created = []
    try:
        for name, data in files.items():
            path = os.path.join(folder, name)
            new = not os.path.exists(path)
            atomic_write(path, methodcaller("write", data))
            if new:
                created.append(path)
    except WriteError:
        for path in created:
            os.remove(path)
        raise


def plot_run(run_dir: str | os.PathLike) -> str:
    """Redraw ``run_dir/training.png`` without training; returns its path.

    The output panel's trial (the run's seed + 1) runs again from the saved weights
    on the engine that trained them, so the figure is the one ``train`` drew.
    """
    task, settings, model, weights, metrics = load_run(run_dir)
    final = evaluation(weights, task, settings.tau, 1, settings.seed + 1, model,
                       readout_fed_back(settings.rule))
    result = Result(
        weights=weights, losses=np.array(metrics["losses"], dtype=np.float64),
        untrained_loss=metrics["untrained_loss"], final_loss=final.loss,
        alignment=[tuple(a) for a in metrics["alignment"]], settings=metrics["settings"],
        diverged=metrics.get("diverged"), final_output=final,
    )
    path = os.path.join(os.fspath(run_dir), "training.png")
    fig = plot_training(result, task)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    return path
