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
from dataclasses import fields, replace

from brianrflo.models import MODELS, get_model
from brianrflo.tasks import TASKS
from brianrflo.tasks.base import Task

from . import checkpoint
from .description import NEUROGYM, Description
from .resources import check_memory
from .runfolder import RunFolder, atomic_write, check_out_dir, read_json
from .train import ENGINES, LOCAL_RULES, ON_DIVERGE, RULES, Settings, train
from .validation import check_eta, check_int
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


#: Options of how to run, not of what (never in config.json).
HOW = {"command", "out", "overwrite", "quiet", "resume", "config", "given", "description"}
#: Options that belong to one task only.
TASK_OPTIONS = {"period": "periodic", "delay_min": "interval", "delay_max": "interval"}


def _description(args, base: Description | None = None) -> Description:
    """The run the options describe: every option, or ``base`` (a saved run) with the
    options typed on the command line on top."""
    typed = args.given
    use = set(vars(args)) if base is None else typed
    base = base or Description()

    def pick(dest: str, saved):
        return getattr(args, dest) if dest in use and hasattr(args, dest) else saved

    s = base.settings
    eta = tuple(getattr(args, f"eta{k}") if getattr(args, f"eta{k}", None) is not None
                else pick("eta", e) for k, e in enumerate(s.eta, start=1))
    model, model_file = s.model, base.model_file
    if "model" in use and hasattr(args, "model"):
        if args.model in MODELS:
            model, model_file = args.model, None
        elif os.path.isfile(args.model):  # absolute: the run reruns from anywhere
            model, model_file = "rate", os.path.abspath(args.model)
        else:
            raise ValueError(f"--model must be one of {sorted(MODELS)} or a model file (.py "
                             f"or equations), got {args.model!r}, which is neither")
    settings = replace(s, eta=eta, model=model, **{
        f.name: pick(f.name, getattr(s, f.name)) for f in fields(Settings)
        if f.name not in ("eta", "model")})
    task, task_args = base.task, dict(base.task_args)
    if getattr(args, "task_class", None) and "task_class" in use:
        if "task" in typed:
            raise ValueError(f"give the task as TASK ({args.task!r}) or as --task "
                             f"{args.task_class!r}, not both")
        where, _, name = args.task_class.rpartition(":")
        task, task_args = (f"{os.path.abspath(where)}:{name}" if where.endswith(".py")
                           else args.task_class), {}
    elif "task" in use:
        task, task_args = args.task, {}
    for dest, owner in TASK_OPTIONS.items():
        option = "--" + dest.replace("_", "-")
        if dest in typed and task != owner:
            raise ValueError(f"{option} applies to the {owner} task only, not {task!r}"
                             + ("; pass your task's own options as --task-arg KEY=VALUE"
                                if ":" in task and not task.startswith(NEUROGYM) else ""))
        if dest in use and task == owner:
            task_args[dest] = getattr(args, dest)
    if "task_arg" in use and getattr(args, "task_arg", None):
        if ":" not in task or task.startswith(NEUROGYM):
            raise ValueError("--task-arg needs --task MODULE:CLASS")
        task_args.update(_key_values("--task-arg", args.task_arg, _value))
    params = base.params
    if "param" in use and getattr(args, "param", None):
        params = {**params, **_key_values("--param", args.param, _numbers)}
    weights = pick("weights", base.weights)
    return Description(settings, task, task_args, pick("n_hidden", base.n_hidden),
                       model_file, params, weights and os.path.abspath(weights))


def saved_description(path: str) -> Description:
    """The run saved in ``path`` (a ``config.json``): a :class:`Description`, or the
    options of ``brianrflo train`` that earlier versions saved there."""
    saved = read_json(path, "config file")
    if "settings" in saved:
        return Description.from_json(saved, f"config file {path!r}")
    args = _parser().parse_args(["train"])
    unknown = sorted(set(saved) - set(vars(args)) - HOW)
    if unknown:
        raise ValueError(f"config file {path!r} has unknown settings {unknown}")
    vars(args).update(saved)
    args.given = set()
    try:
        return _description(args)
    except (TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"config file {path!r}: {err}") from None


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


def _train(args) -> int:
    from .plots import plot_training

    if args.out is None:
        raise ValueError("--out is required (or --resume DIR)")
    run = args.description
    task, model = run.make_task(), run.make_model()
    weights = None
    if run.weights is not None:
        weights = Weights.load(run.weights)
        if "n_hidden" in args.given and weights.n_hidden != run.n_hidden:
            raise ValueError(f"--n-hidden {run.n_hidden} differs from the {weights.n_hidden} "
                             f"units of --weights {run.weights!r}; leave --n-hidden out")
        run = replace(run, n_hidden=weights.n_hidden)  # so config.json reruns this run
    folder = RunFolder(args.out, resume=args.resume is not None, overwrite=args.overwrite,
                       config=run.to_json())
    args.folder = folder
    result = train(task, run.settings, weights=weights, n_hidden=run.n_hidden, out=folder,
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
    from .dask_sweep import dask_sweep, read_plan, train_rows

    out = _sweep_folder(args)
    tasks = _as_tasks(args, out)
    resume = args.resume is not None
    start = saved = None
    if resume:  # a corrupt checkpoint or plan fails here
        if tasks:
            saved = read_plan(out).get("record", {})
        else:
            start, saved = sweep_folder.read(out)
    task, run, sweep = _sweep_run(args, saved)  # a refused sweep has changed no file
    # A task sweep's folder (tasks/) goes with its results once replaced.
    held = [] if resume else _held_sweep(out, args.overwrite)
    say = None if args.quiet else _say
    if tasks:  # on Dask (or, resuming with --workers 0, one task after another here)
        finished = resume and os.path.exists(os.path.join(out, "sweep.npz"))
        # A new sweep removes old tasks when its first task starts (they would be taken
        # for its own); the old results go once the new ones are written.
        result = dask_sweep(task, run.settings, args.etas, range(args.seeds),
                            n_hidden=run.n_hidden, out=out, scheduler=args.scheduler,
                            workers=args.workers, progress=say, record=sweep,
                            replace=not resume)
        stale = os.path.join(out, sweep_folder.FILE)  # an --overwrite'n checkpointed sweep's
        if os.path.exists(stale):
            os.remove(stale)
        return _sweep_results(out, task, sweep, result, finished)
    if start is not None and saved is not None:  # compared before anything is written
        sweep_folder.compare(_flat(saved), _flat(sweep), out)
        start.check(len(args.etas) * args.seeds, run.settings.trials)
        if say is not None:
            say(f"resuming at trial {start.done}/{run.settings.trials}")
    checkpoint = sweep_folder.Checkpointer(out, sweep, replace=held)
    result = train_rows(task, run.settings, args.etas, range(args.seeds),
                        n_hidden=run.n_hidden, progress=say, start=start, on_block=checkpoint)
    return _sweep_results(out, task, sweep, result,
                          finished=start is not None and start.done == run.settings.trials)


def _say(line: str) -> None:
    """A progress line on stderr."""
    print(line, file=sys.stderr, flush=True)


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


def _flat(sweep: dict) -> dict:
    """A sweep's settings in one level, as :func:`sweep_folder.compare` compares them."""
    run = sweep.get("run", {})
    return {**{k: v for k, v in run.items() if k != "settings"}, **run.get("settings", {}),
            "etas": sweep.get("etas"), "seeds": sweep.get("seeds")}


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


def _sweep_results(out: str, task, sweep: dict, result, finished: bool) -> int:
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
            **sweep,
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


def _sweep_run(args, saved: dict | None) -> tuple[Task, Description, dict]:
    """Check every sweep option: ``(task, run, sweep)``.

    ``run`` describes each network of the grid but for its rate and seed; ``sweep``
    (``{'run', 'etas', 'seeds'}``) is saved with the sweep and compared on resume.
    A resumed sweep's ``saved`` one is the base, with the options typed on top.
    """
    base = None
    if saved is not None:
        if "run" not in saved:
            raise ValueError(f"--resume {args.resume!r}: the sweep there was saved by an older "
                             "brianrflo, which this one cannot continue; run it anew")
        base = Description.from_json(saved["run"], f"--resume {args.resume!r}")
        for key in ("etas", "seeds"):
            if key not in args.given:
                setattr(args, key, saved[key])
    if not args.etas:
        raise ValueError("--etas is required (or --resume DIR)")
    args.seeds = check_int("seeds", args.seeds, 1)
    args.etas = [check_eta("etas", e) for e in args.etas]
    run = _description(args, base)
    task = run.make_task()
    check_memory(run.n_hidden, task.n_in, task.n_out, task.T, run.settings.block_trials,
                 run.settings.rule, replicas=len(args.etas) * args.seeds)
    return task, run, {"run": run.to_json(), "etas": args.etas, "seeds": args.seeds}


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
        args.given = given
        if args.command == "train":
            saved = args.config or (args.resume and os.path.join(args.resume, "config.json"))
            # A saved run's settings, with the options given on the command line on top.
            args.description = _description(args, saved_description(saved) if saved else None)
            if args.resume:
                args.out = args.resume
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
