"""Spiking units trained with RFLO's local rule (issue 7): ``brianrflo figure spiking``.

LIF networks (:mod:`brianrflo.models.lif`, run by :mod:`brianrflo.spiking` in
Brian2) on the periodic task at T = 20 tau and on interval matching, several
seeds each, and the rate network (paper model) on the same periodic task with
the same seeds and trials, side by side. Every grid of seeds is one Brian2
network of replicas (:func:`~brianrflo.replicas.replica_sweep`; each row is
:func:`~brianrflo.train.train` of that network alone), cpp_standalone in full
runs, ``auto`` with ``--quick`` (numpy where a compile costs more). Panels: loss curves (median,
25/75 percentiles over seeds, running mean over 10 trials), outputs against
targets, and the spike raster of one network before and after training.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from brianrflo.batch import Sweep
from brianrflo.models import MODELS, LIFModel
from brianrflo.replicas import replica_sweep
from brianrflo.spiking import SpikingNetwork, spiking_trace
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.train import Settings

from . import Context, plotter, register
from .periodic import _numbers, _stats, band, draw_band, grid
from .style import figure, finish, log_axis, need

#: Learning rates (w_out, w_rec, w_in) of the LIF network: the most robust of a small
#: grid over seeds 0-5 with the numpy reference (periodic, N = 30, 300 trials).
ETA_LIF = (0.01, 0.001, 0.001)
#: The paper's best RFLO rate for the rate network at T = 200 (Fig. 2); one rate
#: for all three pathways, as the replicas' grid takes it.
ETA_RATE = (0.03, 0.03, 0.03)
TAU = 10.0
SMOOTH = 10


def settings(ctx: Context) -> dict:
    """Sizes: a couple of minutes with ``--quick``, about ten minutes without."""
    if ctx.quick:
        return {"n_hidden": 30, "period": 200, "trials": 300, "seeds": ctx.seeds or 3,
                "interval": {"delay_min": 20, "delay_max": 40, "sd": 4.0, "onset": 10},
                "interval_trials": 300, "interval_update": "trial", "target": "auto"}
    return {"n_hidden": 30, "period": 200, "trials": 1000, "seeds": ctx.seeds or 5,
            "interval": {"delay_min": 20, "delay_max": 40, "sd": 4.0, "onset": 10},
            "interval_trials": 1500, "interval_update": "trial", "target": "cpp_standalone"}


def _lif_grid(ctx: Context, task, trials: int, seeds: int, n_hidden: int, target: str,
              update="trial") -> Sweep:
    """LIF networks at :data:`ETA_LIF`, seeds ``0 .. seeds - 1``, as replicas of one
    Brian2 network (the settings :func:`~brianrflo.figures.periodic.grid` gives the
    rate network's)."""
    ctx.say(f"lif, {task.settings()['task']}: {seeds} networks x {trials} trials ({target})")
    settings = Settings(model="lif", trials=trials, tau=TAU, update=update, target=target,
                        block_trials=max(1, min(100, trials // 10)), init=ctx.init)
    return replica_sweep(task, settings, [ETA_LIF], range(seeds), n_hidden=n_hidden,
                         eval_trials=10, progress=ctx.say if ctx.progress else None)


def _rate_grid(ctx: Context, task, trials: int, seeds: int, n_hidden: int,
               target: str) -> Sweep:
    """The rate network at :data:`ETA_RATE`, every seed a replica of one Brian2 network."""
    ctx.say(f"rate, {task.settings()['task']}: {seeds} networks x {trials} trials ({target})")
    return grid(task, "rflo", ETA_RATE[:1], seeds, trials, n_hidden, target, eval_trials=10,
                progress=ctx.say if ctx.progress else None, init=ctx.init)


def _rows(sw: Sweep) -> dict:
    """What the record keeps of a grid (a diverged row: NaN losses from there, final inf)."""
    return {"final": sw.final.tolist(), "untrained": sw.untrained.tolist(),
            "losses": sw.losses, "diverged": int(sw.diverged.sum()),
            "wall_time": sw.wall_time}


def _summary(rows: dict) -> dict:
    final, untrained = rows["final"], rows["untrained"]
    return {"final": _stats(final), "untrained": _stats(untrained),
            "final_over_untrained": _stats(np.array(final) / np.array(untrained)),
            "per_seed": {"final": final, "untrained": untrained},
            "diverged": rows["diverged"], "wall_time_s": rows["wall_time"]}


def _zero_loss(task, n: int, seed: int) -> float:
    block = task.block(n, np.random.default_rng(seed))
    eps = block.mask * block.target
    return float(np.mean(np.sum(eps**2, axis=(1, 2)) / (2 * task.T)))


def _median_seed(sw: Sweep) -> int:
    ratios = sw.final / sw.untrained
    return int(np.argsort(ratios)[len(ratios) // 2])


@register("spiking", "LIF units trained with RFLO: periodic (vs rate units) and interval "
          "matching, loss, outputs and spike rasters")
def spiking(ctx: Context) -> dict:
    """``brianrflo figure spiking``: LIF units trained with RFLO on the periodic task (against
    rate units) and interval matching; loss, outputs and spike rasters."""
    s = settings(ctx)
    model = MODELS["lif"]
    assert isinstance(model, LIFModel)
    periodic = Periodic(s["period"])
    interval = IntervalMatching(**s["interval"])
    n = s["n_hidden"]
    lif_p = _lif_grid(ctx, periodic, s["trials"], s["seeds"], n, s["target"])
    lif_i = _lif_grid(ctx, interval, s["interval_trials"], s["seeds"], n, s["target"],
                      update=s["interval_update"])

    # Output against target: the median network of each task, before and after.
    k = _median_seed(lif_p)
    block = periodic.block(1)
    start = model.init_weights(s["n_hidden"], 0, 1, seed=k, init=ctx.init)
    before = spiking_trace(start, block, TAU, model)
    after = spiking_trace(lif_p.weights[k], block, TAU, model)
    ki = _median_seed(lif_i)
    iblock = interval.trials([interval.delay_min, interval.delay_max])
    interval_traces = []
    for j in range(2):
        tr = spiking_trace(lif_i.weights[ki], iblock, TAU, model, k=j)
        delay = int(iblock.info["delay"][j])
        interval_traces.append({"delay": delay, "ready": interval.onset,
                                "set": interval.onset + delay, "input": _numbers(iblock.x[j, :, 0]),
                                "target": _numbers(iblock.target[j, :, 0]),
                                "output": _numbers(tr.y[:, 0])})

    # Rasters from the Brian2 network itself (no learning), before and after: two trials,
    # which Brian2's numpy target runs in less time than a cython compile takes.
    net = SpikingNetwork(start, periodic.T, block_trials=1, tau=TAU, model=model, record=True,
                         target="numpy")
    rates, rasters = {}, {}
    for w, name in ((start, "before"), (lif_p.weights[k], "after")):
        net.set_weights(w)
        net.run_block(block)
        units, when = net.spikes()
        rates[name] = float(len(units) / (periodic.T * s["n_hidden"]))
        rasters[name] = {"units": np.asarray(units).tolist(),
                         "steps": (np.asarray(when) + 1).tolist()}
    rate_p = _rows(_rate_grid(ctx, periodic, s["trials"], s["seeds"], n, s["target"]))
    lif_rows, lif_irows = _rows(lif_p), _rows(lif_i)
    drawn = {
        "periodic_curves": {"lif": band(np.arange(1, s["trials"] + 1),
                                        lif_rows["losses"], SMOOTH),
                            "rate": band(np.arange(1, s["trials"] + 1),
                                         rate_p["losses"], SMOOTH)},
        "interval_curve": band(np.arange(1, s["interval_trials"] + 1), lif_irows["losses"],
                               SMOOTH),
        "periodic_output": {"target": _numbers(block.target[0, :, 0]),
                            "before": _numbers(before.y[:, 0]),
                            "after": _numbers(after.y[:, 0])},
        "interval_seed": ki, "interval_traces": interval_traces, "rasters": rasters,
    }
    return {
        "n_hidden": s["n_hidden"], "tau": TAU, "seeds": s["seeds"],
        "lif_parameters": {"tau_m": TAU, **{k_: v for k_, v in model.namespace.items()},
                           "g": model.g},
        "periodic": {"period": s["period"], "trials": s["trials"],
                     "lif": {"eta": ETA_LIF, **_summary(lif_rows)},
                     "rate": {"eta": ETA_RATE, **_summary(rate_p)}},
        "interval": {**s["interval"], "trials": s["interval_trials"],
                     "update": s["interval_update"],
                     "lif": {"eta": ETA_LIF, **_summary(lif_irows)},
                     # What an output stuck at 0 scores on the same evaluation trials:
                     # a network must beat this to have learnt the timed pulse.
                     "zero_output_loss": _zero_loss(interval, 10, 1)},
        "raster_seed": k, "spikes_per_unit_step": rates, "smooth": SMOOTH,
        "drawn": drawn,
    }


@plotter("spiking")
def plot_spiking(record: dict) -> Figure:
    """Loss curves, outputs and spike rasters of the LIF (and rate) networks."""
    need(record, "drawn")
    d, per = record["drawn"], record["periodic"]
    period, n = per["period"], record["n_hidden"]
    fig = figure(14, 8.2)
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    for name, color, label in (("lif", "C3", "LIF (spiking)"), ("rate", "C0", "rate (tanh)")):
        draw_band(ax, d["periodic_curves"][name], color, f"{label}, median, 25-75%")
        ax.axhline(per[name]["untrained"]["median"], color=color, ls="--", lw=0.8,
                   label=f"{label}, untrained (median)")
    ax.set(xlabel="trial", ylabel=f"loss (running mean of {record['smooth']})")
    log_axis(ax, "y")
    ax.set_title(f"LIF vs rate model, RFLO: periodic, T = {period} = {period / TAU:g} tau, "
                 f"N = {n}", fontsize=9)

    ax = axes[0, 1]
    iv = record["interval"]
    draw_band(ax, d["interval_curve"], "C3", "LIF (spiking), median, 25-75%")
    ax.axhline(iv["lif"]["untrained"]["median"], color="0.4", ls="--", lw=0.8,
               label="LIF, untrained (median)")
    ax.axhline(iv["zero_output_loss"], color="0.4", ls=":", lw=0.8, label="output stuck at 0")
    ax.set(xlabel="trial", ylabel=f"loss (running mean of {record['smooth']})")
    log_axis(ax, "y")
    ax.set_title(f"LIF model, RFLO: interval matching, delays {iv['delay_min']}-"
                 f"{iv['delay_max']} steps", fontsize=9)

    ax = axes[0, 2]
    out = d["periodic_output"]
    steps = np.arange(1, len(out["target"]) + 1)
    ax.plot(steps, out["target"], color="0.2", lw=3, alpha=0.35, label="target")
    ax.plot(steps, out["before"], color="0.5", lw=1, label="LIF before training")
    ax.plot(steps, out["after"], color="C3", lw=1.2, label="LIF after training")
    ax.set(xlabel="step", ylabel="output")
    ax.set_title(f"LIF model, RFLO: periodic output, median seed ({record['raster_seed']})",
                 fontsize=9)

    ax = axes[1, 2]
    for tr, color in zip(d["interval_traces"], ("C3", "C1"), strict=False):
        t = np.arange(1, len(tr["target"]) + 1)
        ax.plot(t, tr["target"], color=color, lw=3, alpha=0.3,
                label=f"delay {tr['delay']}: target")
        ax.plot(t, tr["input"], color=color, lw=0.8, ls=":", label=f"delay {tr['delay']}: input")
        ax.plot(t, tr["output"], color=color, lw=1.2, label=f"delay {tr['delay']}: output")
        ax.axvline(tr["set"], color=color, ls="-.", lw=1, label=f"delay {tr['delay']}: Set cue")
    ax.axvline(d["interval_traces"][0]["ready"], color="C2", ls="-.", lw=1, label="Ready cue")
    ax.set(xlabel="step", ylabel="input, output")
    ax.set_title(f"LIF model, RFLO: interval matching after training (seed "
                 f"{d['interval_seed']})", fontsize=9)

    for ax, name in ((axes[1, 0], "before"), (axes[1, 1], "after")):
        r = d["rasters"][name]
        ax.plot(r["steps"], r["units"], "|", color="k", ms=4)
        ax.set(xlabel="step", ylabel="unit", xlim=(0, period + 1))
        ax.set_title(f"LIF model, RFLO: spikes {name} training "
                     f"({record['spikes_per_unit_step'][name]:.3f} per unit and step)",
                     fontsize=9)
    return finish(fig, record, [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 2]], fontsize=7)
