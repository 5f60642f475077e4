"""Figures people look at instead of reading numbers."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from brianrflo.models import get_model
from brianrflo.tasks.base import Task

from . import reference as ref
from .train import Result, readout_fed_back

__all__ = ["plot_training"]


def plot_training(result: Result, task: Task, path: str | os.PathLike | None = None) -> Figure:
    """Loss over trials, and the trained network's output against the target.

    Parameters
    ----------
    result
        What :func:`brianrflo.train` returned.
    task
        The task it was trained on (one evaluation trial is drawn with ``seed + 1``,
        as for the final loss).
    path
        If given, the figure is also written there (PNG by extension).
    """
    settings = result.settings
    tau = float(np.mean(settings["tau"]))  # per-unit taus: label time in their mean
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_out = fig.subplots(1, 2, width_ratios=(1, 1.3))

    trials = np.arange(1, len(result.losses) + 1)
    ax_loss.semilogy(trials, result.losses, lw=0.8, color="C0", label=settings["rule"].upper())
    ax_loss.axhline(result.untrained_loss, ls="--", color="0.4", lw=1, label="untrained")
    ax_loss.set_xlabel("trial")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title(
        f"final {result.final_loss:.3g} = "
        f"{result.final_loss / max(result.untrained_loss, 1e-300):.1%} of untrained"
    )
    ax_loss.legend(frameon=False)

    rng = np.random.default_rng(settings["seed"] + 1)
    x, target, mask = task.block(1, rng).trial(0)
    if settings.get("model") == "lif":  # spiking units: their own reference
        from brianrflo.tasks.base import Block

        from .spiking import spiking_trace
        trace = spiking_trace(result.weights, Block(x[None], target[None], mask[None]), tau,
                              get_model("lif"))
    else:
        trace = ref.forward(result.weights, x, target, mask, tau,
                            readout_feedback=readout_fed_back(settings["rule"]))
    steps = np.arange(1, task.T + 1) / tau
    for k in range(target.shape[1]):
        ax_out.plot(steps, target[:, k], color="0.2", lw=2.5, alpha=0.35,
                    label="target $y^*$" if k == 0 else None)
        ax_out.plot(steps, trace.y[:, k], color=f"C{k + 1}", lw=1.2,
                    label="output $y$" if k == 0 else None)
    ax_out.set_xlabel(r"time ($\tau$)")
    ax_out.set_ylabel("output")
    ax_out.set_title(f"after {len(result.losses)} trials, N = {settings['n_hidden']}")
    ax_out.legend(frameon=False, loc="upper right")
    if result.diverged:
        fig.suptitle("stopped: " + result.diverged.split(";")[0], color="C3")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
