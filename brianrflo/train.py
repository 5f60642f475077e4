"""Training: the block-wise trial loop shared by the API and the CLI.

Python acts only between blocks: it draws the next block of trials, checks for
divergence, reports progress and writes checkpoints. Inside a block, RFLO runs
in Brian2's compiled code; BPTT (and the numpy RFLO reference) run in numpy.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import cast

import brian2
import numpy as np

from brianrflo.models import LIFModel, RateModel, get_model
from brianrflo.tasks.base import Block, Task

from . import checkpoint
from . import reference as ref
from .analysis import alignment
from .network import TARGETS, BrianNetwork, Target, update_period
from .object_cache import ROOT
from .resources import check_memory
from .runfolder import RunFolder, atomic_write, json_default, write_json
from .targets import AUTO, choose_target
from .validation import check_choice, check_eta, check_int, check_real, check_tau
from .weights import INITS, Weights, dale_clip

__all__ = ["Settings", "Result", "train", "evaluate", "evaluation", "Evaluation",
           "learning_rates", "RULES", "LOCAL_RULES",
           "NUMPY_RULES", "ENGINES"]

#: Rules of the RFLO family: local eligibility traces, Brian2 equations (or the
#: numpy reference with ``target='reference'``). Each is (feedback, readout fed
#: back, which of (w_out, w_rec, w_in) learn).
LOCAL_RULES = {
    "rflo": ("random", False, (1, 1, 1)),
    "local-symmetric": ("symmetric", False, (1, 1, 1)),
    "readout-only": ("random", True, (1, 0, 0)),
    "recurrent-only": ("random", False, (0, 1, 1)),
}
#: Exact-gradient rules and the nonlocal rule with random feedback: numpy only (the
#: sensitivity tensor of RTRL is N^3 numbers per unit of state, nothing a synapse holds).
NUMPY_RULES = ("bptt", "rtrl", "nonlocal-random")
#: Learning rules a network can be trained with.
RULES = (*LOCAL_RULES, *NUMPY_RULES)
#: Where RFLO runs: chosen per run, a Brian2 target, or the plain numpy reference.
ENGINES = (AUTO, *TARGETS, "reference")
#: What to do when a block diverges.
ON_DIVERGE = ("stop", "lower-lr")
#: Halvings of the learning rate tried on one block before giving up.
MAX_RETRIES = 5
#: Settings a resumed run may change.
EXTENDABLE = {"trials", "block_trials_used"}


@dataclass
class Settings:
    """Everything that defines a training run (saved in ``metrics.json``).

    Parameters
    ----------
    rule
        ``'rflo'``, its variants ``'local-symmetric'`` (feedback ``W_out^T``),
        ``'readout-only'`` (only ``w_out`` learns; the readout is fed back through
        ``B``) and ``'recurrent-only'`` (``w_out`` frozen), all in Brian2 (or numpy with
        ``target='reference'``); or in numpy ``'bptt'``, ``'rtrl'`` (exact gradients)
        and ``'nonlocal-random'`` (RTRL's sensitivities with feedback ``B``).
    trials
        Number of training trials.
    eta
        Learning rates ``(eta1, eta2, eta3)`` of ``w_out``, ``w_rec``, ``w_in``, or one
        rate for all three.
    update
        ``'online'``, ``'trial'`` or a number of trials per update (BPTT: not online).
    tau
        Time constant in steps: one value, or one per hidden unit.
    block_trials
        Trials per Brian2 run (progress, checks and checkpoints happen between blocks).
    target
        ``'auto'`` (cpp_standalone unless the run is smaller than a compile, see
        :func:`~brianrflo.targets.choose_target`), a Brian2 code-generation target, or
        ``'reference'`` for the numpy RFLO loop. Saved runs record the target used.
    seed
        Seeds the weights, the task and Brian2.
    explode
        A trial loss above ``explode`` times the untrained loss counts as divergence.
    dale
        Dale's law: half the units excitatory, half inhibitory; recurrent weights that
        an update would flip are clipped to 0 (paper Fig. 2 supp. 1).
    threads
        OpenMP threads for ``target='cpp_standalone'`` (1: none).
    on_diverge
        ``'stop'`` (keep the last good weights and stop) or ``'lower-lr'`` (retry the
        block with all learning rates halved, up to 5 times).
    model
        Name of a shipped model (``brianrflo models``); :func:`train` also takes a
        :class:`~brianrflo.models.RateModel` of your own. Only the Brian2 engines
        run other models than the paper's ``'rate'``.
    init
        How :func:`train` draws the weights it is not given: ``'paper'`` (the Methods)
        or ``'notebook'`` (the authors' example code; see
        :meth:`~brianrflo.weights.Weights.init`).
    """

    rule: str = "rflo"
    trials: int = 1000
    eta: tuple[float, float, float] = (0.03, 0.03, 0.03)
    update: str | int = "trial"
    tau: float | tuple[float, ...] = 10.0
    block_trials: int = 100
    target: str = AUTO
    seed: int = 0
    explode: float = 100.0
    model: str = "rate"
    on_diverge: str = "stop"
    dale: bool = False
    threads: int = 1
    init: str = "paper"

    def __post_init__(self):
        check_choice("init", self.init, INITS)
        check_choice("on_diverge", self.on_diverge, ON_DIVERGE)
        check_choice("rule", self.rule, RULES)
        get_model(self.model)  # raises on an unknown name
        check_choice("target", self.target, ENGINES)
        self.trials = check_int("trials", self.trials, 1)
        self.block_trials = check_int("block_trials", self.block_trials, 1)
        self.seed = check_int("seed", self.seed, 0)
        self.threads = check_int("threads", self.threads, 1)
        cores = os.cpu_count() or 1
        if self.threads > cores:
            raise ValueError(f"threads must be at most {cores} (the cores of this machine), "
                             f"got {self.threads}")
        if self.threads > 1 and self.target not in ("cpp_standalone", AUTO):
            raise ValueError(f"threads > 1 needs target='cpp_standalone', got {self.target!r}")
        if not isinstance(self.dale, bool):
            raise ValueError(f"dale must be True or False, got {self.dale!r}")
        if np.ndim(self.tau) == 0:
            self.tau = check_real("tau", self.tau, 1.0)
        else:  # one per unit; the network checks the count
            self.tau = tuple(check_real("tau", t, 1.0) for t in np.ravel(self.tau))
        self.explode = check_real("explode", self.explode, 1.0)
        if np.ndim(self.eta) == 0:  # one rate for all three pathways
            self.eta = (self.eta,) * 3
        if np.ndim(self.eta) != 1 or len(self.eta) != 3:
            raise ValueError("eta must be a learning rate or three (eta1, eta2, eta3) for "
                             f"(w_out, w_rec, w_in), got {self.eta!r}")
        self.eta = tuple(
            check_eta(f"eta{k + 1}", e) for k, e in enumerate(self.eta)
        )
        period = update_period(self.update)
        if period is None and self.rule in NUMPY_RULES:
            raise ValueError(f"update='online' is not possible with rule={self.rule!r} "
                             "(its gradient is summed over the trial)")
        if period is not None and self.trials % period:
            raise ValueError(
                f"trials ({self.trials}) must be a multiple of update ({period} trials)"
            )


@dataclass
class Result:
    """What a training run returns.

    Attributes
    ----------
    weights
        The trained weights (the last good ones if the run diverged).
    losses
        Loss of every trial run, as computed during learning.
    untrained_loss, final_loss
        Loss of the initial and of the trained network on the evaluation trials.
    alignment
        ``(trial, tr(W_out B)/(|W_out| |B|))`` at the start and after each block.
    diverged
        ``None``, or the message of the divergence that stopped the run.
    final_output
        The final :class:`Evaluation` (its loss is ``final_loss``): the trained
        network's output on the first evaluation trial, from the engine that trained it.
    """

    weights: Weights
    losses: np.ndarray
    untrained_loss: float
    final_loss: float
    alignment: list[tuple[int, float]]
    settings: dict
    diverged: str | None = None
    wall_time: float = 0.0
    versions: dict = field(default_factory=dict)
    final_output: Evaluation | None = None

    def metrics(self) -> dict:
        """JSON-ready summary (``metrics.json``)."""
        return {
            "final_loss": self.final_loss,
            "untrained_loss": self.untrained_loss,
            "final_over_untrained": (self.final_loss / self.untrained_loss
                                     if self.untrained_loss > 0 else None),
            "trials_run": int(len(self.losses)),
            "losses": [float(v) for v in self.losses],
            "alignment": [[int(k), float(a)] for k, a in self.alignment],
            "diverged": self.diverged,
            "wall_time_s": self.wall_time,
            "settings": self.settings,
            "versions": self.versions,
        }


def versions(target: str) -> dict:
    """Versions of what produced a result."""
    return {
        "python": platform.python_version(),
        "brian2": brian2.__version__,
        "numpy": np.__version__,
        "target": target,
    }


@dataclass
class Evaluation:
    """Trained or untrained weights scored on evaluation trials, without learning.

    Attributes
    ----------
    loss
        Mean loss over the evaluation trials.
    y, target, mask
        The network's output, the target and the mask of the first evaluation trial,
        each ``(T, n_out)``: what :func:`~brianrflo.plots.plot_training` draws.
    losses
        The loss of each evaluation trial, ``(n,)``.
    outputs, h
        Every trial's output ``(n, T, n_out)`` and hidden state after each step
        ``(n, T, N)`` (LIF units: their filtered spike trains ``r``).
    block
        The evaluation trials (inputs, targets, masks).
    """

    loss: float
    y: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    losses: np.ndarray
    outputs: np.ndarray
    h: np.ndarray
    block: Block


def evaluation(
    weights: Weights,
    task: Task,
    tau: float | tuple[float, ...] = 10.0,
    n: int = 1,
    seed: int = 0,
    model: RateModel | LIFModel | None = None,
    readout_feedback: bool = False,
) -> Evaluation:
    """Run ``n`` evaluation trials (drawn with ``seed``) on the engine that trains ``model``.

    The paper's model is run by the numpy reference; LIF units by the spiking numpy
    reference (both held equal to their Brian2 networks by the tests); any other model
    by its compiled Brian2 equations, so what is scored is what trains.
    ``readout_feedback`` feeds the readout back through ``B`` (readout-only networks).

    Returns
    -------
    Evaluation
        The mean loss, each trial's loss, output and hidden state.
    """
    block = task.block(n, np.random.default_rng(seed))
    if isinstance(model, LIFModel):
        from .spiking import spiking_trace
        traces = [spiking_trace(weights, block, float(np.mean(tau)), model, k) for k in range(n)]
        losses = [t.loss for t in traces]
        y, h = np.array([t.y for t in traces]), np.array([t.r for t in traces])
    elif model is None or model.is_paper():
        traces = [ref.forward(weights, *block.trial(k), np.asarray(tau),
                              readout_feedback=readout_feedback) for k in range(n)]
        losses = [t.loss for t in traces]
        y, h = np.array([t.y for t in traces]), np.array([t.h[1:] for t in traces])
    else:
        # A few trials: Brian2's numpy target, which compiles nothing (and, unlike
        # cpp_standalone, leaves a standalone network of this process usable).
        net = BrianNetwork(weights, task.T, block_trials=n, tau=tau, model=model,
                           target="numpy", readout_feedback=readout_feedback, record=True)
        # A noisy model's score is reproducible.
        losses = list(net.run_block(block, noise_seed=seed))
        trace = net.trace()
        y = trace["y"].reshape(n, task.T, -1)
        h = trace["h"].reshape(n, task.T, -1)
    _, target, mask = block.trial(0)
    return Evaluation(float(np.mean(losses)), y[0].copy(), target.copy(), mask.copy(),
                      losses=np.array(losses, dtype=np.float64), outputs=y, h=h, block=block)


def evaluate(
    weights: Weights,
    task: Task,
    tau: float | tuple[float, ...] = 10.0,
    n: int = 1,
    seed: int = 0,
    model: RateModel | LIFModel | None = None,
    readout_feedback: bool = False,
) -> float:
    """Mean loss of ``weights`` on ``n`` evaluation trials, without learning.

    The loss of :func:`evaluation` (same parameters).
    """
    return evaluation(weights, task, tau, n, seed, model, readout_feedback).loss


def learning_rates(settings: Settings) -> tuple[float, float, float]:
    """``settings.eta`` with the rule's frozen pathways set to 0."""
    learns = LOCAL_RULES.get(settings.rule, (None, None, (1, 1, 1)))[2]
    e1, e2, e3 = (e * k for e, k in zip(settings.eta, learns, strict=True))
    return e1, e2, e3


def readout_fed_back(rule: str) -> bool:
    """Whether ``rule``'s network feeds its readout back through ``B``."""
    return rule in LOCAL_RULES and LOCAL_RULES[rule][1]


def _blocks(settings: Settings) -> int:
    # cpp_standalone binaries run a fixed number of trials, so use the largest
    # block size <= block_trials that divides the run and the update period.
    period = update_period(settings.update) or 1
    size = min(settings.block_trials, settings.trials)
    size -= size % period
    size = max(size, period)
    if settings.target == "cpp_standalone":
        while settings.trials % size:
            size -= period
    return size


class _NumpyEngine:
    """The numpy rules, or RFLO's family in numpy: a one-row :class:`~brianrflo.batch.Replicas`
    behind the interface of :class:`BrianNetwork`."""

    def __init__(self, weights: Weights, settings: Settings, eta: tuple[float, float, float]):
        self.settings = settings
        self.restart(weights, eta)

    def run_block(self, block, noise_seed: int | None = None) -> np.ndarray:
        """Train on every trial of ``block``; the numpy rules' networks have no noise."""
        return np.array([self.net.train_trial(*(a[None] for a in block.trial(k)))[0]
                         for k in range(block.n_trials)])

    def get_weights(self) -> Weights:
        return self.net.weights(0).copy()

    def restart(self, weights: Weights, eta: tuple[float, float, float]) -> None:
        """Continue from ``weights`` at ``eta`` as a freshly made engine would."""
        from .batch import Replicas  # batch builds on this module

        s = self.settings
        self.net = Replicas([weights], s.rule, eta, s.tau, s.update, s.dale)


def _diverged(losses: np.ndarray, limit: float, first: int) -> str | None:
    bad = np.flatnonzero(~np.isfinite(losses) | (losses > limit))
    if bad.size:
        k = int(bad[0])
        return (
            f"loss diverged at trial {first + k + 1} (loss {losses[k]:.3g}, limit {limit:.3g}); "
            "kept the weights from before this block. Try a smaller learning rate."
        )
    return None


def train(
    task: Task,
    settings: Settings | None = None,
    weights: Weights | None = None,
    n_hidden: int = 30,
    out: str | os.PathLike | RunFolder | None = None,
    progress: bool = True,
    eval_trials: int = 1,
    model: RateModel | LIFModel | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> Result:
    """Train a network on ``task``.

    Parameters
    ----------
    task
        A task from :mod:`brianrflo.tasks` (an instance, e.g. ``Periodic(200)``).
    settings
        The rule, learning rates and run settings (default :class:`Settings`).
    weights
        Initial weights; default ``Weights.init(n_hidden, task.n_in, task.n_out, seed)``.
    n_hidden
        ``N`` when ``weights`` is not given.
    out
        If given, a folder that receives ``checkpoint.npz``, ``weights.npz`` and
        ``metrics.json`` after every block (so an interrupted or diverged run keeps
        its last good weights, and can be resumed).
    progress
        Print what is happening to stderr: compiling, one line per block.
    eval_trials
        Trials (drawn with ``seed + 1``) on which untrained and final loss are measured.
    model
        Hidden-unit equations of your own; default ``settings.model``.
    resume
        Continue the run checkpointed in ``out`` (same settings required; more
        trials allowed). A resumed run ends with the same weights as an
        uninterrupted one.
    overwrite
        Replace a run already in ``out``; its files stay until the new run has
        its first checkpoint.

    Returns
    -------
    Result

    Raises
    ------
    ValueError
        On bad settings, before any file is touched.
    """
    settings, model = _checked(task, settings, model)
    if resume and out is None:
        raise ValueError("resume needs the output folder (out) that holds the checkpoint")
    folder = out if isinstance(out, RunFolder) or out is None else RunFolder(
        out, resume=resume, overwrite=overwrite)
    resumed = folder if folder is not None and folder.resume else None
    if weights is None:
        n_hidden = check_int("n_hidden", n_hidden, 1)
    elif not isinstance(weights, Weights):
        raise ValueError(f"weights must be a brianrflo.Weights, got {type(weights).__name__}")
    else:
        n_hidden = weights.n_hidden
    say = _say if progress else _quiet
    settings = _concrete_target(settings, n_hidden, task, model, resumed, say)
    size = _blocks(settings)
    check_memory(n_hidden, task.n_in, task.n_out, task.T, size, settings.rule)
    check_tau(settings.tau, n_hidden)
    if isinstance(model, RateModel):
        model.parameter_values(n_hidden)  # a per-unit parameter's length
    start = time.perf_counter()
    if weights is None:
        draw = model.init_weights if isinstance(model, LIFModel) else Weights.init
        weights = draw(n_hidden, task.n_in, task.n_out, seed=settings.seed, dale=settings.dale,
                       init=settings.init)
    elif settings.dale:
        _check_dale(weights)
    if settings.rule == "local-symmetric":  # the feedback is the readout itself
        weights = weights.symmetric()
    if (weights.n_in, weights.n_out) != (task.n_in, task.n_out):
        raise ValueError(
            f"weights have (n_in, n_out) = {(weights.n_in, weights.n_out)}, the task needs "
            f"{(task.n_in, task.n_out)}"
        )
    record = {**asdict(settings), "task": task.settings(), "n_hidden": weights.n_hidden,
              "block_trials_used": size, "model_equations": model.equations,
              "model_namespace": dict(model.namespace)}
    params = getattr(model, "params", None)
    if params:  # absent when unset: older checkpoints still resume
        record["model_params"] = dict(params)
    record = json.loads(json.dumps(record, default=json_default))
    rng = np.random.default_rng(settings.seed)
    run = _resumed(resumed, record, settings, rng, say) if resumed is not None else None
    if run is None:  # a fresh run, or one killed before its first checkpoint
        # Scored before the engine is built: a runtime network made after a
        # cpp_standalone one would take Brian2's device from it.
        untrained = evaluate(weights, task, settings.tau, eval_trials, settings.seed + 1,
                             model, readout_fed_back(settings.rule))
        if not math.isfinite(untrained):
            raise ValueError(
                f"the model produces {untrained} before any learning (untrained loss): check "
                "its equations, constants and initial weights"
            )
        run = (Result(weights.copy(), np.zeros(0), untrained, untrained,
                      [(0, alignment(weights))], record), learning_rates(settings))
    engine = _engine(run[0].weights, task, settings, model, size, run[1], say)
    if folder is not None:
        folder.start()
    try:
        return _loop(*run, engine, task, settings, model, rng, size, folder, say, start,
                     eval_trials)
    except BaseException:
        if folder is not None:
            folder.abandon()
        raise


def _checked(task: Task, settings: Settings | None, model) -> tuple[Settings, RateModel | LIFModel]:
    """``train``'s task, settings and model, checked against each other."""
    if not isinstance(task, Task):
        raise ValueError("task must be a brianrflo task such as brianrflo.tasks.Periodic(200), "
                         f"got {task!r}")
    if settings is None:
        settings = Settings()
    elif not isinstance(settings, Settings):
        raise ValueError(f"settings must be a brianrflo.Settings (e.g. Settings(**{{...}})), "
                         f"got {type(settings).__name__} {settings!r}")
    if model is None:
        model = get_model(settings.model)
    elif not isinstance(model, (RateModel, LIFModel)):
        raise ValueError(f"model must be a RateModel or LIFModel, got {model!r}")
    local = settings.rule in LOCAL_RULES
    if not model.is_paper() and (not local or settings.target == "reference"):
        raise ValueError(
            "models other than the paper's 'rate' run only on the Brian2 engines: use "
            f"a rule of {tuple(LOCAL_RULES)} with target 'cython', 'numpy' or 'cpp_standalone'"
        )
    if isinstance(model, LIFModel) and settings.rule != "rflo":
        raise ValueError(f"the lif model trains with rule 'rflo' only, not {settings.rule!r}")
    if settings.dale and not local:
        raise ValueError(f"dale applies to the rules {tuple(LOCAL_RULES)}, not {settings.rule!r}")
    return settings, model


def _resumed(folder: RunFolder, record: dict, settings: Settings, rng: np.random.Generator,
             say: Callable[[str], None]) -> tuple[Result, tuple] | None:
    """The run checkpointed in ``folder`` and its learning rates, or ``None`` if it has no
    checkpoint; ``rng`` continues where it stopped."""
    if not os.path.exists(folder.file(checkpoint.FILE)):
        say(f"no checkpoint in {folder.path}: starting from trial 0")
        return None
    weights, state = checkpoint.read(folder.path)
    # Checkpoints from before the choice of initialisation drew the paper's.
    saved = {"init": "paper", **state.get("settings", {})}
    # The trial count may grow: resuming with more trials extends a run.
    diff = sorted(k for k in record if k not in EXTENDABLE and saved.get(k) != record[k])
    if diff:
        raise ValueError(
            f"the checkpoint in {folder.path!r} was made with other settings "
            f"({', '.join(diff)}); resume with the same settings"
        )
    if settings.trials < state["trials_done"]:
        raise ValueError(
            f"trials must be at least the {state['trials_done']} trials this run has "
            f"already done, got {settings.trials}"
        )
    rng.bit_generator.state = state["rng"]
    say(f"resuming {folder.path} from trial {state['trials_done']}")
    run = Result(weights, np.array(state["losses"], dtype=np.float64), state["untrained_loss"],
                 state["untrained_loss"], [(int(k), a) for k, a in state["alignment"]], record,
                 wall_time=state["wall_time"])
    return run, tuple(state["eta"])


def _concrete_target(settings: Settings, n_hidden: int, task: Task, model,
                     folder: RunFolder | None, say: Callable[[str], None]) -> Settings:
    """``settings`` with ``target='auto'`` replaced by the target this run uses.

    A resumed run keeps the target its checkpoint was made with, so that it
    continues on the same code.
    """
    if settings.target != AUTO or settings.rule not in LOCAL_RULES:
        return settings
    saved = checkpoint.saved_settings(folder.path) if folder is not None else None
    if saved and saved.get("target") not in (None, AUTO):
        target, why = saved["target"], "the target of the run being resumed"
    else:
        target, why = choose_target(n_hidden, settings.trials * task.T, settings.threads,
                                    runs=-(-settings.trials // settings.block_trials))
    say(f"target {target} ({why}; choose with --target)")
    return replace(settings, target=target)


def _engine(weights: Weights, task: Task, settings: Settings, model, size: int, eta: tuple,
            say: Callable[[str], None]):
    """The network that trains: Brian2 for the RFLO family, numpy for the rest."""
    if settings.rule in LOCAL_RULES and settings.target != "reference":
        where = ROOT if settings.target == "cpp_standalone" else brian2_cache()
        cost = "about 10 s" if settings.target == "cpp_standalone" else "30-120 s"
        say(f"building the Brian2 network ({settings.target}); a new shape compiles once, "
            f"{cost}, cached in {where}")
        return _brian2_network(weights, task, settings, model, size, eta)
    return _NumpyEngine(weights, settings, eta)


def _brian2_network(weights: Weights | list[Weights], task: Task, settings: Settings, model,
                    size: int, eta) -> BrianNetwork:
    """The Brian2 network of ``model`` that trains ``weights`` (one network, or replicas)."""
    common = dict(block_trials=size, eta=eta, update=settings.update, tau=settings.tau,
                  model=model, target=cast(Target, settings.target), dale=settings.dale,
                  threads=settings.threads)
    if isinstance(model, LIFModel):
        from .spiking import SpikingNetwork

        return SpikingNetwork(weights, task.T, **common)
    return BrianNetwork(weights, task.T, feedback=LOCAL_RULES[settings.rule][0],
                        readout_feedback=readout_fed_back(settings.rule), **common)


def _loop(run: Result, eta: tuple, engine, task: Task, settings: Settings, model,
          rng: np.random.Generator, size: int, folder: RunFolder | None,
          say: Callable[[str], None], start: float, eval_trials: int) -> Result:
    """Train ``run`` block by block, checkpointing after each; then score it."""
    run.versions = versions(settings.target)
    # An untrained loss of 0 (nothing to learn) must not make every trial "diverge".
    limit = settings.explode * max(run.untrained_loss, 1e-12)
    done = first = len(run.losses)
    elapsed = run.wall_time
    retries = 0
    while done < settings.trials:
        n = min(size, settings.trials - done)
        rng_before = rng.bit_generator.state
        losses = engine.run_block(task.block(n, rng), noise_seed=noise_seed(settings.seed, done))
        message = _diverged(losses, limit, done)
        try:
            current = engine.get_weights()
        except ValueError as err:  # Weights refuse non-finite values
            message = message or (
                f"weights diverged in trials {done + 1}-{done + n} ({err}); kept the weights "
                "from before this block. Try a smaller learning rate."
            )
        if message:
            if settings.on_diverge == "lower-lr" and retries < MAX_RETRIES:
                retries += 1
                eta = tuple(e / 2 for e in eta)
                # Non-finite state (pending changes, traces) must not leak into the retry.
                engine.restart(run.weights, eta)
                rng.bit_generator.state = rng_before
                print(f"brianrflo: {message.split(';')[0]}; retrying trials {done + 1}-"
                      f"{done + n} with eta = {eta}", file=sys.stderr)
                continue
            if folder is not None:
                message += (f" Last good checkpoint: {folder.file(checkpoint.FILE)} "
                            f"(after trial {done}).")
            run.diverged = message
            print(f"brianrflo: {message}", file=sys.stderr)
            break
        retries = 0
        done += n
        run.weights, run.losses = current, np.concatenate([run.losses, losses])
        run.alignment.append((done, alignment(current)))
        run_time = time.perf_counter() - start
        run.wall_time = elapsed + run_time
        rate = (done - first) / max(run_time, 1e-9)
        say(f"trial {done:>6}/{settings.trials}  block loss {np.mean(losses):.4g} "
            f"(untrained {run.untrained_loss:.4g})  alignment {run.alignment[-1][1]:+.3f}  "
            f"{run.wall_time:6.1f} s  {rate:.0f} trials/s  "
            f"ETA {_duration((settings.trials - done) / max(rate, 1e-9))}")
        if folder is not None:
            state = {"trials_done": done, "losses": [float(v) for v in run.losses],
                     "alignment": [list(a) for a in run.alignment], "eta": list(eta),
                     "wall_time": run.wall_time, "settings": run.settings,
                     "untrained_loss": run.untrained_loss, "rng": rng.bit_generator.state}
            checkpoint.write(folder.dir, run.weights, state)
            save(run, folder.dir)
            folder.written()
    run.settings = {**run.settings, "eta_final": list(eta)}
    run.final_output = evaluation(run.weights, task, settings.tau, eval_trials,
                                  settings.seed + 1, model, readout_fed_back(settings.rule))
    run.final_loss = run.final_output.loss
    run.wall_time = elapsed + time.perf_counter() - start
    if folder is not None:
        save(run, folder.dir)
        folder.written()
    return run


def noise_seed(seed: int, done: int) -> int:
    """The noise seed of the block that starts after ``done`` trials of network ``seed``.

    Drawn from (seed, trials done), so a resumed run and a retried block replay
    their noise, and a replica of a sweep gets what training it alone gets.
    """
    return int(seed) * 1_000_003 + done


def _check_dale(weights: Weights) -> None:
    """Refuse recurrent weights that break Dale's law (the first update would clip them)."""
    wrong = int(np.count_nonzero(weights.w_rec != dale_clip(weights.w_rec)))
    if wrong:
        raise ValueError(
            f"weights break Dale's law: {wrong} recurrent weights have the wrong sign for "
            "their presynaptic unit (units 0..N/2-1 excitatory, the rest inhibitory); pass "
            "Weights.init(..., dale=True) or clip them with brianrflo.weights.dale_clip"
        )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _quiet(line: str) -> None:
    pass


def brian2_cache() -> str:
    """Where Brian2's runtime target keeps compiled code."""
    from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

    return get_cython_cache_dir()


def save(result: Result, out: str | os.PathLike) -> None:
    """Write ``weights.npz``, ``metrics.json`` and ``metrics.csv`` into ``out`` (atomically each).

    ``metrics.csv`` has a row ``trial, loss, alignment`` per trial run; the alignment
    is measured after each block, so its cells between blocks are empty (the start
    value, at trial 0, is in ``metrics.json``).
    """
    result.weights.save(os.path.join(out, "weights.npz"))
    write_json(os.path.join(out, "metrics.json"), result.metrics(), default=json_default)
    text = metrics_csv(result.losses, result.alignment).encode()
    atomic_write(os.path.join(out, "metrics.csv"), lambda f: f.write(text))


def metrics_csv(losses, alignment) -> str:
    """``trial,loss,alignment`` rows, one per trial; floats exactly as in ``metrics.json``."""
    after = {int(k): float(a) for k, a in alignment}
    rows = ["trial,loss,alignment"]
    for k, loss in enumerate(losses, start=1):
        rows.append(f"{k},{float(loss)!r},{after[k]!r}" if k in after
                    else f"{k},{float(loss)!r},")
    return "\n".join(rows) + "\n"
