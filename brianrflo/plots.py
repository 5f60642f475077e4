"""Figures people look at instead of reading numbers."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from brianrflo.tasks.base import Task

from .train import Evaluation, Result, Settings

__all__ = ["plot_evaluation", "plot_training", "plot_sweep"]


def _outputs(ax, targets: np.ndarray, outputs: np.ndarray, tau: float) -> None:
    """Targets and outputs ``(trials, T, n_out)``, the trials end to end."""
    T = targets.shape[1]
    for k in range(len(targets)):
        steps = (k * T + np.arange(1, T + 1)) / tau
        for j in range(targets.shape[2]):
            first = k == 0 and j == 0
            ax.plot(steps, targets[k, :, j], color="0.2", lw=2.5, alpha=0.35,
                    label="target $y^*$" if first else None)
            ax.plot(steps, outputs[k, :, j], color=f"C{j + 1}", lw=1.2,
                    label="output $y$" if first else None)
    ax.set_ylabel("output")


def plot_training(result: Result, task: Task | None = None) -> Figure:
    """Loss over trials, and the trained network's output against the target.

    The output panel draws ``result.final_output``: the trial the final loss was
    measured on, as run by the engine that trained the network (the compiled Brian2
    equations for models other than the paper's), so figure and loss cannot disagree.

    Parameters
    ----------
    result
        What :func:`brianrflo.train` returned.
    task
        The task it was trained on. Not needed: the trial drawn is in ``result``.
    """
    final = result.final_output
    if final is None:
        raise ValueError("result has no final_output (the evaluation that train() stores); "
                         "plot a Result returned by brianrflo.train")
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

    _outputs(ax_out, final.target[None], final.y[None], tau)
    ax_out.set_xlabel(r"time ($\tau$)")
    ax_out.set_title(f"after {len(result.losses)} trials, N = {settings['n_hidden']}")
    ax_out.legend(frameon=False, loc="upper right")
    if result.diverged:
        fig.suptitle("stopped: " + result.diverged.split(";")[0], color="C3")
    return fig


def plot_evaluation(result: Evaluation, settings: Settings, seed: int) -> Figure:
    """Outputs against targets of the first (up to 3) trials of ``result``, and the first
    trial's hidden states; ``settings.tau`` sets the time axis, ``seed`` is named."""
    tau = float(np.mean(settings.tau))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_out, ax_h = fig.subplots(1, 2)
    shown = min(3, len(result.losses))
    _outputs(ax_out, result.block.target[:shown], result.outputs[:shown], tau)
    ax_out.set_xlabel(r"time ($\tau$), trials end to end")
    ax_out.set_title(f"mean loss {result.loss:.4g} over {len(result.losses)} trial(s), "
                     f"seed {seed}")
    ax_out.legend(frameon=False, loc="best")
    steps = np.arange(1, result.outputs.shape[1] + 1) / tau
    ax_h.plot(steps, result.h[0, :, :10], lw=0.8)
    ax_h.set_xlabel(r"time ($\tau$)")
    ax_h.set_ylabel("h")
    ax_h.set_title(f"hidden units 1-{min(10, result.h.shape[2])}, trial 1")
    return fig


def plot_sweep(sweep) -> Figure:
    """Final loss against learning rate: median and 25/75 % over networks, log x.

    Parameters
    ----------
    sweep
        A :class:`brianrflo.batch.Sweep`. Its :meth:`~brianrflo.batch.Sweep.summary`
        gives the numbers (so the plot shows what ``sweep.json`` says); a rate at which
        a network diverged has no quartiles and shows its median alone, a rate whose
        median diverged shows nothing but its count of diverged networks.
    """
    rows = sweep.summary()
    eta = np.array([r["eta"] for r in rows])
    median, p25, p75 = (np.array([r[k] for r in rows]) for k in ("median", "p25", "p75"))
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(eta, p25, p75, color="C0", alpha=0.25, lw=0, label="25-75 %")
    ax.plot(eta, median, "o-", color="C0", label="median")
    # A zero learning rate has no place on a log axis: linear from 0 to the smallest rate.
    positive = eta[eta > 0]
    if len(positive) == len(eta):
        ax.set_xscale("log")
        ax.set_xlim(eta.min() / 1.5, eta.max() * 1.5)
    else:
        low = float(positive.min()) if len(positive) else 1.0
        ax.set_xscale("symlog", linthresh=low)
        ax.set_xlim(-low / 2, max(eta.max() * 1.5, low))
    if np.all(median[np.isfinite(median)] > 0) and np.isfinite(median).any():
        ax.set_yscale("log")
    for e, r in zip(eta, rows, strict=True):
        if r["diverged"]:
            # matplotlib takes a pair of coordinate systems; its annotations do not say so.
            ax.annotate(f"{r['diverged']} diverged", (e, 1),
                        xycoords=("data", "axes fraction"),  # type: ignore[arg-type]
                        ha="center", va="top", fontsize=8, color="C3")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss")
    ax.set_title(f"{sweep.rule}: {len(sweep.eta)} networks at {len(rows)} learning rates")
    ax.legend(frameon=False, loc="lower left")
    return fig
