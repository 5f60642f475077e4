"""Spiking units trained with RFLO's local rule (issue 7): ``brianrflo figure spiking``.

LIF networks (:mod:`brianrflo.models.lif`, run by :mod:`brianrflo.spiking` in
Brian2) on the periodic task at T = 20 tau and on interval matching, several
seeds each; the rate network (paper model, RFLO, Brian2) on the same periodic
task with the same seeds and trials, side by side. Panels: loss curves (median,
25/75 percentiles over seeds, running mean over 10 trials), outputs against
targets, and the spike raster of one network before and after training.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from brianrflo.models import MODELS
from brianrflo.spiking import SpikingNetwork, spiking_trace
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.train import Settings, train

from . import Context, register
from .periodic import _band, _stats

#: Learning rates (w_out, w_rec, w_in) of the LIF network: the most robust of a small
#: grid over seeds 0-5 with the numpy reference (periodic, N = 30, 300 trials).
ETA_LIF = (0.01, 0.001, 0.001)
#: The paper's best RFLO rate for the rate network at T = 200 (Fig. 2).
ETA_RATE = (0.03, 0.03, 0.03)
TAU = 10.0
SMOOTH = 10


def settings(ctx: Context) -> dict:
    """Sizes: a couple of minutes with ``--quick``, about ten minutes without."""
    if ctx.quick:
        return {"n_hidden": 30, "period": 200, "trials": 300, "seeds": ctx.seeds or 3,
                "interval": {"delay_min": 20, "delay_max": 40, "sd": 4.0, "onset": 10},
                "interval_trials": 300, "interval_update": "trial"}
    return {"n_hidden": 30, "period": 200, "trials": 1000, "seeds": ctx.seeds or 5,
            "interval": {"delay_min": 20, "delay_max": 40, "sd": 4.0, "onset": 10},
            "interval_trials": 1500, "interval_update": "trial"}


def _runs(ctx: Context, task, model: str, eta, trials: int, seeds: int, n_hidden: int,
          update="trial"):
    results = []
    for seed in range(seeds):
        ctx.say(f"{model}, {task.settings()['task']}: seed {seed + 1}/{seeds}, {trials} trials")
        results.append(train(task, Settings(model=model, trials=trials, eta=eta, seed=seed,
                                            update=update, block_trials=100, tau=TAU),
                             n_hidden=n_hidden, progress=False, eval_trials=10))
    return results


def _summary(results) -> dict:
    final = [r.final_loss for r in results]
    untrained = [r.untrained_loss for r in results]
    return {"final": _stats(final), "untrained": _stats(untrained),
            "final_over_untrained": _stats(np.array(final) / np.array(untrained)),
            "per_seed": {"final": final, "untrained": untrained},
            "diverged": sum(r.diverged is not None for r in results),
            "wall_time_s": float(sum(r.wall_time for r in results))}


def _curves(results, trials: int) -> np.ndarray:
    # A diverged run stops early: pad with NaN so the percentiles skip it.
    out = np.full((len(results), trials), np.nan)
    for row, r in zip(out, results, strict=True):
        row[:len(r.losses)] = r.losses
    return out


def _zero_loss(task, n: int, seed: int) -> float:
    block = task.block(n, np.random.default_rng(seed))
    eps = block.mask * block.target
    return float(np.mean(np.sum(eps**2, axis=(1, 2)) / (2 * task.T)))


def _median_seed(results) -> int:
    ratios = [r.final_loss / r.untrained_loss for r in results]
    return int(np.argsort(ratios)[len(ratios) // 2])


@register("spiking", "LIF units trained with RFLO: periodic (vs rate units) and interval "
          "matching, loss, outputs and spike rasters")
def spiking(ctx: Context) -> dict:
    """``brianrflo figure spiking``: LIF units trained with RFLO on the periodic task (against
    rate units) and interval matching; loss, outputs and spike rasters."""
    s = settings(ctx)
    model = MODELS["lif"]
    periodic = Periodic(s["period"])
    interval = IntervalMatching(**s["interval"])
    n = s["n_hidden"]
    lif_p = _runs(ctx, periodic, "lif", ETA_LIF, s["trials"], s["seeds"], n)
    rate_p = _runs(ctx, periodic, "rate", ETA_RATE, s["trials"], s["seeds"], n)
    lif_i = _runs(ctx, interval, "lif", ETA_LIF, s["interval_trials"], s["seeds"], n,
                  update=s["interval_update"])

    fig = Figure(figsize=(13, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    trials = np.arange(1, s["trials"] + 1)
    _band(ax, trials, _curves(lif_p, s["trials"]), "C3", "LIF (spiking)", SMOOTH)
    _band(ax, trials, _curves(rate_p, s["trials"]), "C0", "rate (tanh)", SMOOTH)
    ax.axhline(np.median([r.untrained_loss for r in lif_p]), color="C3", ls="--", lw=0.8)
    ax.axhline(np.median([r.untrained_loss for r in rate_p]), color="C0", ls="--", lw=0.8)
    ax.set(yscale="log", xlabel="trial", ylabel="loss",
           title=f"periodic, T = {s['period']} = {s['period'] / TAU:g} tau, N = {s['n_hidden']}")
    ax.legend(frameon=False)

    ax = axes[0, 1]
    itrials = np.arange(1, s["interval_trials"] + 1)
    _band(ax, itrials, _curves(lif_i, s["interval_trials"]), "C3", "LIF (spiking)", SMOOTH)
    ax.axhline(np.median([r.untrained_loss for r in lif_i]), color="0.4", ls="--", lw=0.8,
               label="untrained")
    ax.set(yscale="log", xlabel="trial", ylabel="loss",
           title=f"interval matching, delays {interval.delay_min}-{interval.delay_max} steps")
    ax.legend(frameon=False)

    # Output against target: the median network of each task, before and after.
    k = _median_seed(lif_p)
    block = periodic.block(1)
    start = model.init_weights(s["n_hidden"], 0, 1, seed=k)
    before = spiking_trace(start, block, TAU, model)
    after = spiking_trace(lif_p[k].weights, block, TAU, model)
    steps = np.arange(1, periodic.T + 1)
    ax = axes[0, 2]
    ax.plot(steps, block.target[0, :, 0], color="0.2", lw=3, alpha=0.35, label="target")
    ax.plot(steps, before.y[:, 0], color="0.5", lw=1, label="LIF before")
    ax.plot(steps, after.y[:, 0], color="C3", lw=1.2, label="LIF after")
    ax.set(xlabel="step", ylabel="output", title=f"periodic, median seed ({k})")
    ax.legend(frameon=False, fontsize=8)

    ki = _median_seed(lif_i)
    iblock = interval.trials([interval.delay_min, interval.delay_max])
    ax = axes[1, 2]
    for j, color in enumerate(("C3", "C1")):
        tr = spiking_trace(lif_i[ki].weights, iblock, TAU, model, k=j)
        ax.plot(iblock.target[j, :, 0], color=color, lw=3, alpha=0.3)
        ax.plot(iblock.x[j, :, 0], color=color, lw=0.8, ls=":")
        ax.plot(tr.y[:, 0], color=color, lw=1.2,
                label=f"delay {iblock.info['delay'][j]}: output (target thick, input dotted)")
    ax.set(xlabel="step", ylabel="output", title=f"interval matching after training (seed {ki})")
    ax.legend(frameon=False, fontsize=7)

    # Rasters from the Brian2 network itself (no learning), before and after.
    net = SpikingNetwork(start, periodic.T, block_trials=1, tau=TAU, model=model, record=True)
    rates = {}
    for ax, w, name in ((axes[1, 0], start, "before"), (axes[1, 1], lif_p[k].weights, "after")):
        net.set_weights(w)
        net.run_block(block)
        units, when = net.spikes()
        ax.plot(when + 1, units, "|", color="k", ms=4)
        rates[name] = float(len(units) / (periodic.T * s["n_hidden"]))
        ax.set(xlabel="step", ylabel="unit", xlim=(0, periodic.T + 1),
               title=f"spikes {name} training ({rates[name]:.3f} per unit and step)")
    fig.savefig(ctx.path("spiking.png"), dpi=110)

    return {
        "n_hidden": s["n_hidden"], "tau": TAU, "seeds": s["seeds"],
        "lif_parameters": {"tau_m": TAU, **{k_: v for k_, v in model.namespace.items()},
                           "g": model.g},
        "periodic": {"period": s["period"], "trials": s["trials"],
                     "lif": {"eta": ETA_LIF, **_summary(lif_p)},
                     "rate": {"eta": ETA_RATE, **_summary(rate_p)}},
        "interval": {**s["interval"], "trials": s["interval_trials"],
                     "update": s["interval_update"],
                     "lif": {"eta": ETA_LIF, **_summary(lif_i)},
                     # What an output stuck at 0 scores on the same evaluation trials:
                     # a network must beat this to have learnt the timed pulse.
                     "zero_output_loss": _zero_loss(interval, 10, 1)},
        "raster_seed": k, "spikes_per_unit_step": rates,
    }
