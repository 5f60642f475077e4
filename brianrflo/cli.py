"""Command line: ``brianrflo train TASK ...``, ``brianrflo sweep TASK ...`` and more.

Exit codes: 0 success, 1 a file could not be written (disk full, read-only folder;
every file already there is unchanged), 2 bad input (one line on stderr naming the
parameter), 3 the run diverged (the last good weights are in the output folder),
130 interrupted (Ctrl-C; the last checkpoint is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import sys

from brianrflo.models import MODELS, RateModel, get_model
from brianrflo.tasks import TASKS

from . import checkpoint
from .resources import check_memory
from .runfolder import RunFolder, atomic_write, check_out_dir
from .train import ENGINES, LOCAL_RULES, ON_DIVERGE, RULES, Settings, train
from .validation import check_int
from .weights import INITS, Weights

__all__ = ["main"]


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default where there is one to show."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.help is None:
            return action.help
        return super()._get_help_string(action)


def _update(value: str) -> str | int:
    return int(value) if value.isdigit() else value


class _TaskNames:
    """The task names, and any ``neurogym:ENV_ID`` (checked when the task is made)."""

    def __init__(self, names: list[str]):
        self.names = names

    def __contains__(self, name) -> bool:
        return name in self.names or (isinstance(name, str) and name.startswith(NEUROGYM))

    def __iter__(self):  # what argparse's usage and "invalid choice" list
        return iter([*self.names, NEUROGYM + "ENV_ID"])


#: Prefix of a NeuroGym environment id as a task name.
NEUROGYM = "neurogym:"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brianrflo",
        description="Train recurrent networks with RFLO (Murray 2019) in Brian2, or with BPTT.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # Options of every training command: the task, the network and how it trains.
    # Defaults are Settings()'s, so the CLI and the API train the same run.
    default = Settings()
    # How weights are drawn: an option of every command that draws them. Checked by
    # Settings / run_figure, so a bad value is one line, as every other bad setting.
    init = argparse.ArgumentParser(add_help=False)
    init.add_argument("--init", default=default.init, metavar="{" + ",".join(INITS) + "}",
                      help="initial weights: 'paper' (the Methods) or 'notebook' (the "
                      "authors' example code: W_out 10x smaller, every unit starting at 0.1)")
    common = argparse.ArgumentParser(add_help=False, parents=[init])
    common.add_argument("task", choices=_TaskNames(sorted(TASKS)), nargs="?",
                        default="periodic", help="the task, or neurogym:ENV_ID (any NeuroGym "
                        "environment, e.g. neurogym:ReadySetGo-v0)")
    common.add_argument("--n-hidden", type=int, default=30,
                        help="N (with --weights: read from the file)")
    common.add_argument("--period", type=int, default=200, help="periodic task: T in steps")
    common.add_argument("--delay-min", type=int, default=50,
                        help="interval task: shortest T_delay in steps")
    common.add_argument("--delay-max", type=int, default=300,
                        help="interval task: longest T_delay in steps")
    common.add_argument("--trials", type=int, default=default.trials,
                        help="training trials")
    common.add_argument("--update", type=_update, default=default.update,
                        help="'online', 'trial' or a number of trials per update")
    common.add_argument("--tau", type=float, default=default.tau, help="time constant in steps")
    common.add_argument("--block-trials", type=int, default=default.block_trials,
                        help="trials per Brian2 run")
    common.add_argument("--target", choices=ENGINES, default=default.target,
                        help="'auto': cpp_standalone (compiled once per shape) unless the "
                        "run is smaller than a compile; a Brian2 code generation target; or "
                        "'reference' (numpy)")
    common.add_argument("--threads", type=int, default=default.threads,
                        help="OpenMP threads (target cpp_standalone only)")
    common.add_argument("--explode", type=float, default=default.explode,
                        help="stop when a trial's loss exceeds this many times the untrained "
                        "loss")
    common.add_argument("--dale", action="store_true",
                        help="Dale's law: half excitatory, half inhibitory units, signs kept")
    common.add_argument("--quiet", action="store_true", help="no progress lines")
    tr = sub.add_parser("train", parents=[common], help="train a network on a task",
                        formatter_class=_Help)
    tr.add_argument("--rule", choices=RULES, default="rflo")
    tr.add_argument("--model", default="rate", metavar="NAME|FILE",
                    help="hidden-unit equations: a shipped model (see 'brianrflo models'), a "
                    ".py file defining one RateModel, or a file of Brian2 equations")
    tr.add_argument("--param", action="append", metavar="NAME=VALUE",
                    help="set a parameter of the model's units (e.g. I_bias): one number, or "
                    "N comma-separated numbers, one per unit; repeatable")
    tr.add_argument("--task", dest="task_class", metavar="MODULE:CLASS",
                    help="your own Task subclass instead of TASK: an importable module or "
                    "path/to/file.py, ':', the class")
    tr.add_argument("--task-arg", action="append", metavar="KEY=VALUE",
                    help="keyword argument of the --task class (a number, true, false or "
                    "text); repeatable")
    tr.add_argument("--seed", type=int, default=default.seed,
                    help="seeds the weights, the task's trials and Brian2")
    tr.add_argument("--eta", type=float, default=default.eta[0],
                    help="learning rate of all weights")
    for k, name in enumerate(("w_out", "w_rec", "w_in"), start=1):
        tr.add_argument(f"--eta{k}", type=float, help=f"learning rate of {name} (overrides --eta)")
    tr.add_argument("--on-diverge", choices=ON_DIVERGE, default=default.on_diverge,
                    help="on divergence: stop, or retry the block at half the learning rate")
    tr.add_argument("--weights", help="start from weights saved in this .npz file")
    tr.add_argument("--config", help="settings saved by an earlier run (its config.json); "
                    "options given here override them")
    tr.add_argument("--resume", metavar="DIR", help="continue the run checkpointed in DIR")
    tr.add_argument("--out", help="output folder (receives config.json, checkpoint.npz, "
                    "weights.npz, metrics.json, training.png)")
    tr.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    # The sweep's own options; --resume takes the checkpoint's settings for every
    # option not given on the command line (main() records which were).
    from . import sweep_folder

    sw = sub.add_parser("sweep", parents=[common], formatter_class=_Help,
                        help="train a grid of seeds x learning rates as replicas of one "
                        "Brian2 network")
    sw.add_argument("--rule", choices=RULES, default="rflo",
                    help="rules of the RFLO family run as Brian2 replicas; with --target "
                    "reference, or for bptt, rtrl and nonlocal-random, the grid runs as "
                    "stacked numpy networks")
    sw.add_argument("--etas", type=float, nargs="+",
                    help="learning rates (each sets eta1 = eta2 = eta3); required unless "
                    "--resume")
    sw.add_argument("--seeds", type=int, default=3, help="networks per rate: seeds 0..n-1")
    sw.add_argument("--out", help="output folder (receives sweep.npz, sweep.json, sweep.csv, "
                    f"sweep.png, and tasks/ or, with --workers 0, {sweep_folder.FILE})")
    sw.add_argument("--overwrite", action="store_true",
                    help="replace a sweep already in --out")
    sw.add_argument("--resume", metavar="DIR",
                    help="continue the sweep in DIR: its finished tasks are kept, the others "
                    "run (with --workers 0: from its last block; --trials may grow); its "
                    "settings, unless given here")
    sw.add_argument("--workers", type=int, metavar="N",
                    help="the grid runs as Dask tasks (one learning rate each) on an embedded "
                    "LocalCluster of N single-threaded worker processes (default: one per "
                    "core), or on --scheduler / DASK_SCHEDULER_ADDRESS. 0: no Dask, the grid "
                    "as one network in this process, checkpointed after every block (the "
                    "same numbers)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the grid's tasks on the Dask cluster whose scheduler is at "
                    "ADDRESS (e.g. tcp://host:8786)")
    fig = sub.add_parser("figure", help="reproduce a paper figure (PNG + JSON of its numbers)",
                         formatter_class=_Help, parents=[init])
    fig.add_argument("name", help="figure name, or 'list'")
    fig.add_argument("--quick", action="store_true",
                     help="small sizes and trial counts: minutes, same qualitative result")
    fig.add_argument("--seeds", type=int, help="networks per setting (default: paper's 9, "
                     "fewer with --quick)")
    fig.add_argument("--out", default=os.path.join("out", "figures"),
                     help="output folder (default out/figures)")
    fig.add_argument("--quiet", action="store_true", help="no progress lines")
    fig.add_argument("--workers", type=int, metavar="N",
                     help="the figure's grids run as Dask tasks on an embedded LocalCluster "
                     "of N worker processes (default: one per core; started at the first "
                     "grid not in the cache), or on --scheduler / DASK_SCHEDULER_ADDRESS; "
                     "0: in this process, each grid one stack checkpointed in OUT/cache "
                     "(the same numbers; a killed run goes on from its last block)")
    fig.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the figure's grids on the Dask cluster whose scheduler is at "
                     "ADDRESS (e.g. tcp://host:8786)")
    fig.add_argument("--replot", action="store_true",
                     help="redraw OUT/NAME.png from OUT/NAME.json without computing")
    ev = sub.add_parser("evaluate", help="score a saved run's weights on fresh trials (writes "
                        "evaluation.npz and evaluation.png into RUN_DIR)", formatter_class=_Help)
    ev.add_argument("run", metavar="RUN_DIR", help="a folder written by 'brianrflo train --out'")
    ev.add_argument("--trials", type=int, default=1, help="evaluation trials")
    ev.add_argument("--seed", type=int, help="seeds the trials (default: the run's seed + 1, "
                    "the trials train's final loss was measured on)")
    pl = sub.add_parser("plot", help="redraw a saved run's training.png without retraining")
    pl.add_argument("run", metavar="RUN_DIR", help="a folder written by 'brianrflo train --out'")
    sub.add_parser("models", help="list the shipped models")
    show = sub.add_parser("show-equations", help="print the Brian2 code a model runs",
                          formatter_class=_Help)
    show.add_argument("--model", choices=sorted(MODELS), default="rate")
    show.add_argument("--rule", choices=tuple(LOCAL_RULES), default="rflo",
                      help="the rule whose equations to show (BPTT, RTRL and nonlocal-random "
                      "run in numpy)")
    return parser


def _figure(args) -> int:
    from .figures import available, replot_figure, run_figure

    figures = available()
    if args.name == "list":
        if not figures:
            print("no figures registered")
            return 0
        width = max(map(len, figures))
        for name, (description, _) in sorted(figures.items()):
            print(f"{name:<{width}}  {description}")
        return 0
    if args.replot:
        print(replot_figure(args.name, args.out))
        return 0
    check_out_dir(args.out)  # before any work: a figure can take hours
    parts = ["brianrflo figure", args.name, "--quick" * args.quick,
             f"--seeds {args.seeds}" * (args.seeds is not None),
             f"--init {args.init}" * (args.init != "paper"), f"--out {args.out}"]
    command = " ".join(p for p in parts if p)
    record = run_figure(args.name, args.out, quick=args.quick, seeds=args.seeds,
                        progress=not args.quiet, command=command, workers=args.workers,
                        scheduler=args.scheduler, init=args.init)
    print(f"{args.name}: {os.path.join(args.out, args.name + '.json')} "
          f"({record['wall_time_s']} s)")
    return 0


def _models(args) -> int:
    width = max(map(len, MODELS))
    for name, model in MODELS.items():
        print(f"{name:<{width}}  {model.description}")
    return 0


def _show(args) -> int:
    model = get_model(args.model)
    print(f"# model {args.model!r}, rule {args.rule!r}: {model.description}")
    if model.namespace:
        print(f"# constants: {model.namespace}")
    feedback, readout_feedback, learns = LOCAL_RULES[args.rule]
    frozen = [w for w, k in zip(("w_out", "w_rec", "w_in"), learns, strict=True) if not k]
    if frozen:
        print(f"# {args.rule}: learning rate 0 for {', '.join(frozen)}")
    print(model.show(feedback, readout_feedback))
    return 0


#: Options that are a run's settings (saved in config.json); the rest are how to run it.
NOT_SETTINGS = {"command", "out", "overwrite", "quiet", "resume", "config", "given", "folder"}


def _read_config(path: str, parser: argparse.ArgumentParser) -> dict:
    """Settings from a config.json, type-checked against the train options."""
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read config file {path!r}: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"config file {path!r} must hold a JSON object of settings")
    actions = {a.dest: a for a in parser._actions if a.dest not in NOT_SETTINGS | {"help"}}
    unknown = sorted(set(config) - set(actions))
    if unknown:
        raise ValueError(f"config file {path!r} has unknown settings {unknown}")
    for key, value in config.items():
        action = actions[key]
        want = action.type if callable(action.type) else str
        ok = value is None and action.default is None
        if isinstance(action, argparse._StoreTrueAction):
            ok = isinstance(value, bool)
        elif want is int:
            ok = ok or (isinstance(value, int) and not isinstance(value, bool))
        elif want is float:
            ok = ok or (isinstance(value, (int, float)) and not isinstance(value, bool))
        elif isinstance(action, argparse._AppendAction):
            ok = ok or isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = ok or isinstance(value, (str, int)) and not isinstance(value, bool)
        if not ok or (action.choices is not None and value not in action.choices):
            raise ValueError(f"config file {path!r}: setting {key!r} has a bad value {value!r}")
    return config


def _make_task(args):
    if getattr(args, "task_class", None):
        return _custom_task(args)
    if args.task.startswith(NEUROGYM):
        from brianrflo.tasks import NeuroGym

        try:
            return NeuroGym(args.task[len(NEUROGYM):])
        except ImportError as err:  # neurogym is an optional extra
            raise ValueError(f"task {args.task!r}: {err}") from None
    if args.task == "reach":
        return TASKS["reach"]()
    if args.task == "interval":
        return TASKS["interval"](delay_min=args.delay_min, delay_max=args.delay_max)
    return TASKS[args.task](period=args.period)


#: Options that belong to one task only.
TASK_OPTIONS = {"period": "periodic", "delay_min": "interval", "delay_max": "interval"}


def _custom_task(args):
    """``--task MODULE:CLASS`` made with its ``--task-arg`` keyword arguments."""
    from .runs import load_task

    if args.task != "periodic":  # the positional's default: not given
        raise ValueError(f"give the task as TASK ({args.task!r}) or as --task "
                         f"{args.task_class!r}, not both")
    for dest, task in TASK_OPTIONS.items():
        if dest in getattr(args, "given", ()):
            raise ValueError(f"--{dest.replace('_', '-')} applies to the {task} task only, not "
                             f"--task {args.task_class!r}; pass your task's own options as "
                             "--task-arg KEY=VALUE")
    return load_task(args.task_class, _key_values("--task-arg", args.task_arg or [], _value))


def _value(text: str):
    """A --task-arg value: a JSON number, true, false or list, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _numbers(text: str) -> float | tuple[float, ...]:
    """A --param value: one number, or comma-separated numbers."""
    values = tuple(float(v) for v in text.split(","))
    return values[0] if len(values) == 1 and "," not in text else values


def _key_values(option: str, items: list[str], convert) -> dict:
    """``KEY=VALUE`` strings as a dict (later ones win), values converted."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"{option} must be KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = convert(value.strip())
        except ValueError:
            raise ValueError(f"{option} {key.strip()}: {value!r} is not a number or a "
                             "comma-separated list of numbers") from None
    return out


def task_from_config(config: dict):
    """The task of a saved run, from its ``config.json`` (the options of ``brianrflo train``).

    Parameters
    ----------
    config
        The saved options; those missing take ``brianrflo train``'s defaults.

    Returns
    -------
    Task
        The task, made as ``brianrflo train`` made it.
    """
    train_parser = _parser()._subparsers._group_actions[0].choices["train"]
    args = train_parser.parse_args([])
    vars(args).update(config)
    args.given = set()
    return _make_task(args)


def _model(args):
    """``--model`` (a shipped name or a file) with the ``--param`` values set."""
    from dataclasses import replace

    from .runs import load_model

    model = get_model(args.model) if args.model in MODELS else load_model(args.model)
    params = _key_values("--param", args.param or [], _numbers)
    if not params:
        return model
    if not isinstance(model, RateModel):
        raise ValueError(f"--param applies to rate models (RateModel), not {args.model!r}")
    try:
        model = replace(model, params={**model.params, **params})
        model.parameter_values(args.n_hidden)
    except ValueError as err:
        raise ValueError(f"--param: {err}") from None
    return model


def _check_task_options(args, given: set[str]) -> None:
    for dest, task in TASK_OPTIONS.items():
        if dest in given and args.task != task:
            option = "--" + dest.replace("_", "-")
            raise ValueError(f"{option} applies to the {task} task only, not {args.task!r}")


def _train(args) -> int:
    from .plots import plot_training

    if args.out is None:
        raise ValueError("--out is required (or --resume DIR)")
    _check_task_options(args, args.given)
    if args.task_arg and not args.task_class:
        raise ValueError("--task-arg needs --task MODULE:CLASS")
    # Absolute, so config.json finds the files from anywhere (evaluate, --resume).
    if args.task_class and args.task_class.rpartition(":")[0].endswith(".py"):
        where, _, name = args.task_class.rpartition(":")
        args.task_class = f"{os.path.abspath(where)}:{name}"
    if args.model not in MODELS:
        if not os.path.isfile(args.model):
            raise ValueError(f"--model must be one of {sorted(MODELS)} or a model file (.py "
                             f"or equations), got {args.model!r}, which is neither")
        args.model = os.path.abspath(args.model)
    task = _make_task(args)
    eta = tuple(args.eta if e is None else e for e in (args.eta1, args.eta2, args.eta3))
    settings = Settings(
        rule=args.rule, trials=args.trials, eta=eta, update=args.update, tau=args.tau,
        block_trials=args.block_trials, target=args.target, seed=args.seed,
        explode=args.explode, model=args.model if args.model in MODELS else "rate",
        on_diverge=args.on_diverge, dale=args.dale, threads=args.threads, init=args.init,
    )
    weights = None
    if args.weights is not None:
        weights = Weights.load(args.weights)
        if "n_hidden" in args.given and weights.n_hidden != args.n_hidden:
            raise ValueError(f"--n-hidden {args.n_hidden} differs from the {weights.n_hidden} "
                             f"units of --weights {args.weights!r}; leave --n-hidden out")
        args.n_hidden = weights.n_hidden  # so config.json reruns this run
    model = _model(args)
    config = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS}
    folder = RunFolder(args.out, resume=args.resume is not None, overwrite=args.overwrite,
                       config=config)
    args.folder = folder
    result = train(task, settings, weights=weights, n_hidden=args.n_hidden, out=folder,
                   progress=not args.quiet, model=model)
    figure = folder.file("training.png")
    fig = plot_training(result, task)
    atomic_write(figure, lambda f: fig.savefig(f, format="png", dpi=120))
    print(
        f"final loss {result.final_loss:.4g} on a fresh evaluation trial (the progress lines "
        f"show training trials), untrained {result.untrained_loss:.4g} "
        f"(ratio {result.final_loss / max(result.untrained_loss, 1e-300):.3f}), "
        f"alignment {result.alignment[-1][1]:+.3f}, {result.wall_time:.1f} s\n"
        f"figure:  {figure}\nmetrics: {folder.file('metrics.json')}\n"
        f"weights: {folder.file('weights.npz')}"
    )
    return 3 if result.diverged else 0  # train() has said why


def _evaluate(args) -> int:
    from .runs import EVALUATION, evaluate_run

    check_int("--trials", args.trials, 1)
    if args.seed is not None:
        check_int("--seed", args.seed, 0)
    result = evaluate_run(args.run, args.trials, args.seed)
    print(f"loss {result.loss:.6g} (mean of {len(result.losses)} trial(s)); saved "
          f"{', '.join(os.path.join(args.run, f) for f in EVALUATION)}")
    return 0


def _plot(args) -> int:
    from .runs import plot_run

    print(f"figure: {plot_run(args.run)}")
    return 0


def _sweep(args) -> int:
    from . import sweep_folder
    from .dask_sweep import train_rows

    out = _sweep_folder(args)
    if _as_tasks(args, out):
        return _sweep_tasks(args, out)
    start = saved = None
    if args.resume is not None:
        start, saved = sweep_folder.read(out)  # a corrupt checkpoint fails here
        for key, value in saved.get("options", {}).items():
            if key not in args.given and hasattr(args, key):
                setattr(args, key, value)
    task, settings, _, record = _sweep_settings(args)
    # What the sweep computes, not where or how it runs: saved, and reused on resume.
    options = _options(args)
    replace = []
    if start is not None:  # compared before anything is written
        # Sweeps from before the choice of initialisation drew the paper's.
        sweep_folder.compare({"init": "paper", **saved.get("record", {})}, record, out)
        start.check(len(args.etas) * args.seeds, args.trials)
    else:
        # A task sweep's folder (tasks/) goes with its results once replaced.
        replace = _held_sweep(out, args.overwrite)
    checkpoint = sweep_folder.Checkpointer(out, {"options": options, "record": record},
                                           replace=replace)
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    if start is not None and say is not None:
        say(f"resuming at trial {start.done}/{args.trials}")
    result = train_rows(task, settings, args.etas, range(args.seeds), n_hidden=args.n_hidden,
                        progress=say, start=start, on_block=checkpoint)
    return _sweep_results(args, out, task, options, result,
                          finished=start is not None and start.done == args.trials)


def _held_sweep(out: str, overwrite: bool) -> list[str]:
    """The files of a sweep already in ``out`` (its ``tasks/`` too): refused unless
    ``overwrite``."""
    from . import sweep_folder
    from .dask_sweep import TASK_FOLDER

    held = sweep_folder.held(out) + (
        [TASK_FOLDER] if os.path.isdir(os.path.join(out, TASK_FOLDER)) else [])
    if held and not overwrite:
        raise ValueError(f"--out {out!r} already holds a sweep ({', '.join(held)}); pass "
                         "--overwrite to replace it, or --resume to continue it")
    return held


def _options(args) -> dict:
    """What the sweep computes, not where or how it runs: saved, and reused on resume."""
    run_options = {"command", "out", "overwrite", "resume", "quiet", "given", "workers",
                   "scheduler"}
    return {k: v for k, v in vars(args).items() if k not in run_options}


def _as_tasks(args, out: str) -> bool:
    """Whether the sweep runs as Dask tasks (brianrflo.dask_sweep): all but --workers 0.

    A resumed sweep continues the way it started: as tasks if ``out`` holds a task
    plan, else from its block checkpoint, in this process.
    """
    from .dask_sweep import PLAN, TASK_FOLDER
    from .sweep_folder import FILE

    if args.workers is not None:
        check_int("--workers", args.workers, 0)
    if args.resume is None:
        return args.workers != 0 or args.scheduler is not None
    if os.path.exists(os.path.join(out, TASK_FOLDER, PLAN)):
        return True
    if args.scheduler is not None or args.workers not in (None, 0):
        raise ValueError(f"--resume {out!r} holds a sweep checkpointed in one process "
                         f"({FILE}), not Dask tasks; resume it without "
                         "--workers and --scheduler")
    return False


def _sweep_tasks(args, out: str) -> int:
    """The grid as tasks on Dask (or, resuming with --workers 0, one after another here)."""
    from . import sweep_folder
    from .dask_sweep import dask_sweep, read_plan

    if args.resume is not None:
        for key, value in read_plan(out).get("record", {}).get("options", {}).items():
            if key not in args.given and hasattr(args, key):
                setattr(args, key, value)
    task, settings, _, _ = _sweep_settings(args)  # a refused sweep has changed no file
    if args.resume is None:
        _held_sweep(out, args.overwrite)
    options = _options(args)
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    finished = args.resume is not None and os.path.exists(os.path.join(out, "sweep.npz"))
    # A new sweep removes old tasks when its first task starts (they would be taken for
    # its own); the old results go once the new ones are written.
    result = dask_sweep(task, settings, args.etas, range(args.seeds), n_hidden=args.n_hidden,
                        out=out, scheduler=args.scheduler, workers=args.workers,
                        progress=say, record={"options": options},
                        replace=args.resume is None)
    stale = os.path.join(out, sweep_folder.FILE)  # an --overwrite'n checkpointed sweep's
    if os.path.exists(stale):
        os.remove(stale)
    return _sweep_results(args, out, task, options, result, finished)


def _sweep_results(args, out: str, task, options: dict, result, finished: bool) -> int:
    """Write sweep.npz and sweep.json (unless a finished sweep's equal ones are there)."""
    from . import sweep_folder
    from .batch import Sweep

    npz = os.path.join(out, "sweep.npz")
    stored = None
    # A finished sweep resumed is left untouched only with every result file there.
    complete = all(os.path.exists(os.path.join(out, f)) for f in sweep_folder.RESULTS)
    if finished and complete:
        try:
            stored = Sweep.load(npz)
        except (OSError, KeyError, ValueError):
            stored = None
    if stored is not None and sweep_folder.same_results(stored, result):
        result = stored  # a finished sweep resumed: report it, touch nothing
    else:
        sweep_folder.write_results(out, result, {
            "command": " ".join(["brianrflo", *sys.argv[1:]]), "task": task.settings(),
            "n_hidden": args.n_hidden, "settings": options,
            "wall_time_s": round(result.wall_time, 2), "rows": result.summary()})
    print(f"{len(result.eta)} networks in {result.wall_time:.1f} s")
    for row in result.summary():
        print("  " + "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()))
    print("results: " + ", ".join(os.path.join(out, f) for f in sweep_folder.RESULTS))
    return 0


def _sweep_folder(args) -> str:
    """The sweep's folder from --out / --resume, refused unless the sweep can write it."""
    if args.resume is not None:
        if args.overwrite:
            raise ValueError("--overwrite and --resume exclude each other: --resume continues "
                             "the sweep in DIR, --overwrite replaces it")
        if args.out is not None and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise ValueError(f"--out {args.out!r} differs from --resume {args.resume!r}; a "
                             "resumed sweep stays in its folder")
        check_out_dir(args.resume, "--resume")
        return args.resume
    if args.out is None:
        raise ValueError("--out is required (or --resume DIR)")
    check_out_dir(args.out, "--out")
    return args.out


def _sweep_settings(args) -> tuple:
    """Check every sweep option; ``(task, Settings, numpy engine?, record to compare)``."""
    from .validation import check_real

    if not args.etas:
        raise ValueError("--etas is required (or --resume DIR)")
    args.seeds = check_int("seeds", args.seeds, 1)
    args.n_hidden = check_int("n_hidden", args.n_hidden, 1)
    numpy_engine = args.target == "reference" or args.rule not in LOCAL_RULES
    # Brian2 replicas take eta through Settings, which allows [0, 10].
    top = float("inf") if numpy_engine else 10.0
    args.etas = [check_real("etas", e, 0.0, top) for e in args.etas]
    task = _make_task(args)
    settings = Settings(rule=args.rule, trials=args.trials, update=args.update, tau=args.tau,
                        block_trials=args.block_trials, target=args.target,
                        explode=args.explode, dale=args.dale, threads=args.threads,
                        init=args.init)
    check_memory(args.n_hidden, task.n_in, task.n_out, task.T, args.block_trials, args.rule,
                 replicas=len(args.etas) * args.seeds)
    record = {"engine": "numpy" if numpy_engine else "brian2", "rule": args.rule,
              "etas": args.etas, "seeds": args.seeds, "n_hidden": args.n_hidden,
              "task": task.settings(), "trials": args.trials, "update": args.update,
              "tau": settings.tau, "dale": args.dale, "explode": settings.explode,
              "block_trials": args.block_trials, "init": settings.init}
    if not numpy_engine:
        record.update(target=args.target, threads=args.threads)
    return task, settings, numpy_engine, json.loads(json.dumps(record))


def _given(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The options typed on the command line (not defaults, not a saved config)."""
    blank = copy.deepcopy(parser)
    absent = object()  # not a string: argparse checks no choices against it
    for action in _all_actions(blank):
        action.default = argparse.SUPPRESS if action.option_strings else absent
        action.required = False
    with contextlib.redirect_stderr(io.StringIO()):
        parsed = vars(blank.parse_known_args(argv)[0])
    return {dest for dest, value in parsed.items() if value is not absent}


def _all_actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)


def _interrupted(args) -> str:
    """What a Ctrl-C leaves behind, in one line."""
    folder = getattr(args, "folder", None)
    if args.command != "train" or folder is None:
        return "interrupted"
    try:
        # Written straight into its folder, a checkpoint counts before written() marks it:
        # Ctrl-C can land between the file's rename and that call.
        if not folder.has_results and folder.replacing:
            raise ValueError("no checkpoint of this run yet")
        done = checkpoint.read(folder.path)[1]["trials_done"]
    except ValueError:
        return (f"interrupted before the first checkpoint; {folder.path} holds no new results"
                + (" (the earlier run there is unchanged)" if folder.held() else ""))
    return (f"interrupted; {folder.path} holds the checkpoint after trial {done}: continue "
            f"with  brianrflo train --resume {folder.path}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = {"train": _train, "sweep": _sweep, "figure": _figure, "models": _models,
               "show-equations": _show, "evaluate": _evaluate, "plot": _plot}[args.command]
    try:
        given = _given(parser, argv)
        if args.command == "train" and (args.resume or args.config):
            # Saved settings become defaults; options on the command line win.
            train_parser = parser._subparsers._group_actions[0].choices["train"]
            path = args.config or os.path.join(args.resume, "config.json")
            train_parser.set_defaults(**_read_config(path, train_parser))
            args = parser.parse_args(argv)
            if args.resume:
                args.out = args.resume
        args.given = given
        return command(args)
    except ValueError as err:
        print(f"brianrflo: error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print("brianrflo: error: out of memory; try a smaller --n-hidden, --period or "
              "--block-trials", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, read-only folder: files are as they were
        print(f"brianrflo: error: {err}; the files already there are unchanged",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"brianrflo: {_interrupted(args)}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
