"""Paper Figure 3: interval matching ("Ready-Set-Go"), RFLO against BPTT.

Networks are trained on delays up to a maximum, updates summed over batches of
10 trials (RFLO as Brian2 replicas, cpp_standalone in full runs; BPTT in numpy),
then tested without learning on evenly spaced delays: the output's peak time
after "set" should equal ``T_delay``.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from brianrflo import reference as ref
from brianrflo.tasks import IntervalMatching
from brianrflo.tasks.base import Block
from brianrflo.weights import Weights

from . import Context, plotter, register
from .periodic import grid
from .style import MODEL, figure, finish, need

TAU = 10.0


def settings(ctx: Context) -> dict:
    """The paper's Figure 3 runs, or small ones with ``--quick``."""
    if ctx.quick:  # shorter pulses and delays, a smaller network, larger rates
        return {"n_hidden": 30, "sd": 5.0, "onset": 10, "delay_min": 20, "trials": 1500,
                "seeds": ctx.seeds or 2, "runs": [("rflo", 60, (0.03,)), ("bptt", 60, (0.03,))],
                "tests": 9, "target": "auto"}
    return {"n_hidden": 100, "sd": 15.0, "onset": 50, "delay_min": 50, "trials": 5000,
            "seeds": ctx.seeds or 5,
            # The paper's rates (0.001 RFLO, 0.003 BPTT) and, for RFLO, larger ones: our
            # updates are averaged over the trial's steps (Eq. 15), which makes the same
            # eta a smaller step than a per-step sum would.
            "runs": [("rflo", 150, (0.001, 0.003, 0.01)), ("rflo", 200, (0.001, 0.003, 0.01)),
                     ("bptt", 250, (0.003,))],
            "tests": 11, "target": "cpp_standalone"}


def test_block(task: IntervalMatching, n: int) -> Block:
    """``n`` trials with delays evenly spaced over the task's range."""
    return task.trials(np.linspace(task.delay_min, task.delay_max, n).round())


def produced(weights: list[Weights], task: IntervalMatching, block: Block) -> np.ndarray:
    """``(R, n)`` interval each network produces on each test trial.

    The output's peak time after "set", taken inside the trial's window: from the
    step after "set" to the last masked step (:meth:`IntervalMatching.peak_delay`),
    never in the untrained padding that makes all trials one length.
    """
    return np.array([task.peak_delay(_outputs(w, block), block) for w in weights])


def _outputs(w: Weights, block: Block) -> np.ndarray:
    """``(n, T)`` output of the frozen network ``w`` on every trial of ``block``."""
    return np.array([ref.forward(w, *block.trial(k), TAU).y[:, 0]
                     for k in range(block.n_trials)])


def outside_window(task: IntervalMatching, block: Block, got: np.ndarray) -> int:
    """How many produced intervals ``got`` ``(R, n)`` lie outside their trial's window.

    The window is :meth:`IntervalMatching.window`: 1 to ``T_delay + tail`` steps
    after "set". The record keeps this count so that a reader sees it is 0.
    """
    lo, hi = task.window(block)
    return int(np.sum((got < lo[None, :]) | (got > hi[None, :]) | ~np.isfinite(got)))


def tracked(delays: np.ndarray, produced_delays: np.ndarray, sd: float) -> list[int] | None:
    """The longest run of consecutive test delays produced within ``sd`` steps, as [lo, hi]."""
    ok = np.abs(produced_delays - delays) <= sd
    best, start = None, None
    for k, good in enumerate([*ok, False]):
        if good and start is None:
            start = k
        elif not good and start is not None:
            if best is None or k - start > best[1] - best[0] + 1:
                best = (start, k - 1)
            start = None
    return None if best is None else [int(delays[best[0]]), int(delays[best[1]])]


@register("fig3", "interval matching (Ready-Set-Go): output peak time against T_delay")
def fig3(ctx: Context) -> dict:
    """``brianrflo figure fig3``: interval matching, output peak time against ``T_delay``
    (paper Fig. 3); returns the numbers behind it."""
    s = settings(ctx)
    out = {"model": "rate", "n_hidden": s["n_hidden"], "trials": s["trials"],
           "seeds": s["seeds"], "sd": s["sd"], "onset": s["onset"], "update_every": 10,
           "runs": []}
    for rule, delay_max, etas in s["runs"]:
        task = IntervalMatching(s["delay_min"], delay_max, s["sd"], s["onset"])
        ctx.say(f"{rule}, T_delay {s['delay_min']}-{delay_max} steps: {s['seeds']} networks x "
                f"{s['trials']} trials")
        sw = grid(task, rule, etas, s["seeds"], s["trials"], s["n_hidden"], s["target"],
                  update=10, eval_trials=20, progress=ctx.say if ctx.progress else None,
                  client=ctx.client(), init=ctx.init,
                  folder=ctx.path(os.path.join("cache", f"fig3_{rule}_{delay_max}_"
                                               f"n{s['trials']}_s{s['seeds']}_{ctx.init}")))
        eta = sw.best_eta()
        rows = sw.select(eta)
        trained = [sw.weights[r] for r in rows]
        block = test_block(task, s["tests"])
        delays = block.info["delay"]
        got = produced(trained, task, block)
        out["runs"].append({
            "rule": rule, "delay_min": s["delay_min"], "delay_max": delay_max, "eta": eta,
            "grid": sw.summary(),
            "untrained": float(np.median(sw.untrained[rows])),
            "final": float(np.median(sw.final[rows])),
            "test_delays": delays, "produced": got,
            # Peaks are measured inside [1, T_delay + tail] steps after "set"; a count
            # above 0 would mean the measurement strayed into the untrained padding.
            "window": np.stack(task.window(block), axis=1),
            "outside_window": outside_window(task, block, got),
            "slope": [float(np.polyfit(delays, g, 1)[0]) for g in got],
            "tracked": [tracked(delays, g, s["sd"]) for g in got],
            "diverged": int(sw.diverged.sum()),
            "trace": _trace(trained[0], task, block),
        })
    return out


def _trace(w: Weights, task: IntervalMatching, block: Block) -> dict:
    """The longest test trial of network ``w``: cues, input, target and output."""
    delay = int(block.info["delay"][-1])
    return {"delay": delay, "ready": task.onset, "set": task.onset + delay,
            "go": task.onset + 2 * delay, "time_tau": np.arange(1, task.T + 1) / TAU,
            "input": block.x[-1, :, 0], "target": block.target[-1, :, 0],
            "output": _outputs(w, block)[-1]}


@plotter("fig3")
def plot_fig3(record: dict) -> Figure:
    """Produced against required interval, and one trial per run with its Ready/Set cues."""
    need(record, "runs")
    if any("trace" not in run for run in record["runs"]):  # the drawn trials
        need({"figure": record.get("figure")}, "runs[].trace")
    model = MODEL[record.get("model", "rate")]
    runs = record["runs"]
    fig = figure(3.2 * (len(runs) + 1) + 1, 4.4)
    axes = fig.subplots(1, len(runs) + 1, width_ratios=[1.2] + [1] * len(runs))
    ax = axes[0]
    for k, run in enumerate(runs):
        delays = np.asarray(run["test_delays"], dtype=float) / TAU
        label: str | None = f"{run['rule'].upper()}, trained to {run['delay_max'] / TAU:g} tau"
        for g in run["produced"]:
            ax.plot(delays, np.asarray(g, dtype=float) / TAU, "o-", color=f"C{k}", ms=3,
                    label=label)
            label = None
    lim = max(r["delay_max"] for r in runs) / TAU
    ax.plot([0, lim], [0, lim], color="0.5", ls="--", lw=1, label="produced = required")
    ax.set(xlabel=r"$T_{delay}$ ($\tau$)", ylabel=r"output peak after Set ($\tau$)")
    rules = " vs ".join(dict.fromkeys(r["rule"].upper() for r in runs))
    ax.set_title(f"{model}, {rules}: produced against required interval", fontsize=9)
    specs = [ax]
    for k, run in enumerate(runs):
        ax, tr = axes[k + 1], run["trace"]
        t = np.asarray(tr["time_tau"], dtype=float)
        ax.plot(t, tr["input"], color="0.6", lw=1, label="input")
        ax.plot(t, tr["target"], color="0.2", lw=2.5, alpha=0.35, label="target (Go)")
        ax.plot(t, tr["output"], color=f"C{k}", lw=1.2, label="output")
        ax.axvline(tr["ready"] / TAU, color="C2", ls=":", lw=1.2, label="Ready cue")
        ax.axvline(tr["set"] / TAU, color="C3", ls="-.", lw=1.2, label="Set cue")
        ax.set(xlabel=r"time ($\tau$)", ylabel="input, output")
        ax.set_title(f"{model}, {run['rule'].upper()}: T_delay = {tr['delay'] / TAU:g} tau\n"
                     f"(trained on {run['delay_min'] / TAU:g}-{run['delay_max'] / TAU:g} tau)",
                     fontsize=9)
        specs.append(ax)
    return finish(fig, record, specs, fontsize=7)
