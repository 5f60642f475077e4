"""Paper Fig. 4: reaches learned by RFLO, joined into a sequence by the loop.

1. RFLO (Brian2) trains an RNN to make one reach per tonic input (:class:`Reach`).
2. The RNN is frozen and closed into the loop (:class:`~brianrflo.loop.LoopNetwork`);
   ``W_s`` learns the target sequence of 4 reaches and 4 holds by reward.
3. For comparison, RNNs without the loop learn the whole 160 tau sequence directly,
   by RFLO and by BPTT (:class:`ReachSequence`, no input).

The figure shows the three cursor trajectories beside the target, each judged by a
number (:func:`judge`: its mean distance from the target path and the fraction of
syllables it got right, ``paths`` in the JSON), and the loop's sequence accuracy over
training; the JSON holds the numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from matplotlib.figure import Figure

from brianrflo import reference as ref
from brianrflo.analysis import path_distance, sequence_accuracy
from brianrflo.loop import LoopNetwork, syllable_units
from brianrflo.targets import numpy_step_seconds, runtime_target
from brianrflo.tasks.reach import HOLD, Reach, ReachSequence, cursor, reach_directions
from brianrflo.train import Settings, train

from . import Context, plotter, register
from .periodic import _numbers
from .style import MODEL, figure, finish, need

__all__ = ["SEQUENCE", "Fig4Sizes", "fig4", "judge", "plot_fig4", "sizes"]

#: The target: right, hold, up, hold, left, hold, down, hold (a square and back).
SEQUENCE = (0, HOLD, 1, HOLD, 2, HOLD, 3, HOLD)

#: The paper's trial counts (Materials and methods).
PAPER = {"reach_trials": 10_000, "loop_trials": 10_000, "direct_trials": 20_000}


@dataclass(frozen=True)
class Fig4Sizes:
    """Sizes and learning rates of one Fig. 4 run."""

    n_hidden: int = 100
    reach_trials: int = PAPER["reach_trials"]
    loop_trials: int = PAPER["loop_trials"]
    direct_trials: int = PAPER["direct_trials"]
    eta_reach: float = 0.03
    eta_s: float = 0.1
    eta_rflo: float = 0.001
    eta_bptt: float = 0.003
    block_trials: int = 100


def sizes(quick: bool) -> Fig4Sizes:
    """The quick (tests, about 2 minutes) or the paper's sizes."""
    if quick:
        return Fig4Sizes(reach_trials=400, loop_trials=800, direct_trials=100)
    return Fig4Sizes()


def _direct(rule: str, eta: float, task: ReachSequence, s: Fig4Sizes, seed: int, init: str):
    settings = Settings(rule=rule, trials=s.direct_trials, eta=(eta,) * 3, seed=seed,
                        block_trials=min(s.block_trials, 50), on_diverge="lower-lr", init=init)
    result = train(task, settings, n_hidden=s.n_hidden, progress=False)
    target = task.target()
    trace = ref.forward(result.weights, np.zeros((task.T, 0)), target, np.ones_like(target))
    return result, cursor(trace.y)


def judge(path: np.ndarray, target: np.ndarray, reach: Reach) -> dict:
    """How far a cursor path is from the target's, and how many syllables it got right.

    ``mean_distance``: :func:`~brianrflo.analysis.path_distance`, in cursor units
    (one reach is ``reach.length``); ``sequence_accuracy``:
    :func:`~brianrflo.analysis.sequence_accuracy` with the moves one syllable can make
    (each reach, or a hold).
    """
    moves = np.vstack([reach.length * reach_directions(reach.n_reaches), np.zeros(2)])
    return {"mean_distance": path_distance(path, target),
            "sequence_accuracy": sequence_accuracy(path, target, reach.syllable, moves)}


@register("fig4", "reach sequence: the loop vs direct RFLO and BPTT training (Fig. 4)")
def fig4(ctx: Context) -> dict:
    """``brianrflo figure fig4``: the reach sequence learned through the loop, against RFLO and
    BPTT trained on the whole sequence (paper Fig. 4); returns the numbers behind it."""
    s = sizes(ctx.quick)
    seed = 0
    reach = Reach(n_reaches=4, syllables=2)
    seq_task = ReachSequence(SEQUENCE)
    target_pos = cursor(seq_task.target())

    ctx.say(f"fig4: RFLO trains the reaches, {s.reach_trials} trials, N={s.n_hidden}")
    reaches = train(reach, Settings(rule="rflo", trials=s.reach_trials, eta=(s.eta_reach,) * 3,
                                    seed=seed, block_trials=s.block_trials, init=ctx.init),
                    n_hidden=s.n_hidden, progress=False, eval_trials=20)

    target, why = runtime_target(s.loop_trials * len(SEQUENCE) * reach.syllable,
                                 numpy_step_seconds("loop", s.n_hidden))
    ctx.say(f"fig4: the loop learns W_s, {s.loop_trials} trials, on {target} ({why})")
    loop = LoopNetwork(reaches.weights, SEQUENCE, syllable=reach.syllable,
                       length=reach.length, bound=reach.bound, eta_s=s.eta_s,
                       n_holds=reach.n_reaches, block_trials=s.block_trials, seed=seed,
                       target=target)
    codes = syllable_units(SEQUENCE, reach.n_reaches)
    rng = np.random.default_rng(seed)
    accuracy, whole = [], []
    for _ in range(s.loop_trials // s.block_trials):
        block = loop.run_block(s.block_trials, rng)
        acc = block.accuracy(codes)
        accuracy.append(float(acc.mean()))
        whole.append(float(np.mean(acc == 1)))
    w_s = loop.w_s
    # Test the learned loop without exploration or learning: one trial, not worth a compile.
    test = LoopNetwork(reaches.weights, SEQUENCE, syllable=reach.syllable, length=reach.length,
                       bound=reach.bound, eta_s=0.0, p_explore=0.0, w_s=w_s,
                       n_holds=reach.n_reaches, block_trials=1, record=True, target="numpy")
    greedy = test.run_block(1, explore=np.zeros((1, len(SEQUENCE))),
                            keys=np.zeros((1, len(SEQUENCE), test.units)))
    loop_pos = test.positions()[0]

    ctx.say(f"fig4: direct RFLO and BPTT on the whole sequence, {s.direct_trials} trials each")
    rflo, rflo_pos = _direct("rflo", s.eta_rflo, seq_task, s, seed, ctx.init)
    bptt, bptt_pos = _direct("bptt", s.eta_bptt, seq_task, s, seed, ctx.init)

    trajectories = {"loop": loop_pos, "direct RFLO": rflo_pos, "direct BPTT": bptt_pos}
    judged = {name: judge(pos, target_pos, reach) for name, pos in trajectories.items()}
    chance = 1 / (reach.n_reaches + 1)
    return {
        "sizes": asdict(s),
        "paper_sizes": PAPER,
        "fewer_trials_than_paper": any(asdict(s)[k] < v for k, v in PAPER.items()),
        "sequence": list(SEQUENCE),
        "reach": {"final_loss": reaches.final_loss, "untrained_loss": reaches.untrained_loss},
        "loop": {
            "accuracy_per_block": accuracy,
            "whole_sequence_per_block": whole,
            "block_trials": s.block_trials,
            "chance_accuracy": chance,
            "greedy_choices": greedy.choices[0].tolist(),
            "greedy_accuracy": float(greedy.accuracy(codes)[0]),
        },
        "direct": {rule: {"final_loss": r.final_loss, "untrained_loss": r.untrained_loss,
                          "eta_final": r.settings["eta_final"], "diverged": r.diverged}
                   for rule, r in (("rflo", rflo), ("bptt", bptt))},
        "paths": judged,
        "reach_length": reach.length,
        "model": "rate",
        "cursor": {"target": _numbers(target_pos),
                   **{name: _numbers(pos) for name, pos in trajectories.items()}},
    }


@plotter("fig4")
def plot_fig4(record: dict) -> Figure:
    """Cursor paths and their x, y over time beside the target; the loop's accuracy."""
    need(record, "cursor", "loop.accuracy_per_block")
    model = MODEL[record.get("model", "rate")]
    cursor_ = {k: np.asarray(v, dtype=float) for k, v in record["cursor"].items()}
    target = cursor_.pop("target")
    names = "loop (RFLO reaches) vs direct RFLO, BPTT"
    judged = record.get("paths", {})  # records written before paths were judged lack it
    fig = figure(14, 4.6)
    axes = fig.subplots(1, 3)
    ax = axes[0]
    ax.plot(target[:, 0], target[:, 1], "k--", lw=3, alpha=0.4, label="target")
    for name, pos in cursor_.items():
        ax.plot(pos[:, 0], pos[:, 1], label=_judged_label(name, judged.get(name)))
    ax.set_aspect("equal")
    ax.set(xlabel="cursor x", ylabel="cursor y")
    ax.set_title(f"{model}, {names}:\ncursor trajectories", fontsize=9)
    ax = axes[1]
    t = np.arange(1, len(target) + 1) / 10  # in tau
    offset = 2.4 * (np.nanmax(target) - np.nanmin(target) or 1.0)
    for k, axis in enumerate("xy"):
        ax.plot(t, target[:, k] + offset * k, "k--", lw=3, alpha=0.4,
                label="target" if k == 0 else None)
        for j, (name, pos) in enumerate(cursor_.items()):
            ax.plot(t, pos[:, k] + offset * k, color=f"C{j}", label=name if k == 0 else None)
        ax.text(t[-1], offset * k, f" {axis}", va="center")
    ax.set(xlabel=r"time ($\tau$)", ylabel=f"cursor x, and y + {offset:g}")
    ax.set_title(f"{model}, {names}:\ncursor x and y (offset) over the sequence", fontsize=9)
    ax = axes[2]
    loop = record["loop"]
    accuracy = loop["accuracy_per_block"]
    trials = loop["block_trials"] * np.arange(1, len(accuracy) + 1)
    ax.plot(trials, accuracy, marker="o", ms=3, label="loop, with exploration")
    chance = loop.get("chance_accuracy", 0.2)
    ax.axhline(chance, color="gray", ls=":", label=f"chance ({chance:g})")
    ax.set_ylim(0, 1.02)
    ax.set(xlabel="loop training trial", ylabel="decisions matching the target")
    ax.set_title(f"{model}, loop: W_s learnt by reward on RFLO-trained reaches:\n"
                 "sequence accuracy", fontsize=9)
    return finish(fig, record, axes)


def _judged_label(name: str, judged: dict | None) -> str:
    """``name`` with its path's mean distance from the target and its sequence accuracy."""
    if judged is None:
        return name
    return (f"{name}: distance {judged['mean_distance']:.3g}, "
            f"{judged['sequence_accuracy']:.0%} syllables right")
