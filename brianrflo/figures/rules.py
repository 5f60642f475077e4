"""``brianrflo figure rules``: every learning rule on the same networks and tasks.

RFLO and BPTT (through :func:`brianrflo.train`), node perturbation (REINFORCE and
Miconi's variant, Brian2), FORCE, the echo-state readout and one-step programming
(:mod:`brianrflo.rules`) train networks drawn by the same ``Weights.init(N, ...)``
on the periodic task and on interval matching. Reported per rule and task: the
final loss (free running for the rules with a feedback loop), the trials and
simulated steps until the loss first reaches ``THRESHOLD`` times the untrained
network's loss, the wall time, and whether the rule is local and online.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from brianrflo import Settings, train
from brianrflo import reference as ref
from brianrflo.rules import (
    evaluate_open,
    loop_forward,
    program,
    train_echo_state,
    train_force,
    train_node_perturbation,
)
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.weights import Weights

from . import Context, plotter, register
from .periodic import _numbers
from .style import figure, finish, log_axis, need

#: "Reached" means a loss at most this fraction of the untrained network's.
THRESHOLD = 0.1
#: Trials in the running mean of training losses that decides "reached".
WINDOW = 10
#: Losses below this are drawn at it (one-step programming can fit to rounding).
FLOOR = 1e-6

#: Sizes: ``quick`` for ``--quick`` (a minute or two), ``full`` for docs/results.md.
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {
        "n_hidden": 100, "seeds": 1, "period": 100,
        "interval": {"delay_min": 10, "delay_max": 40, "sd": 5.0, "onset": 10},
        "trials": {"rflo": 200, "bptt": 200, "np": 400, "force": 20, "esn": 5},
        "conditions": {"periodic": 1, "interval": 10},
    },
    "full": {
        "n_hidden": 100, "seeds": 3, "period": 200,
        "interval": {"delay_min": 20, "delay_max": 80, "sd": 10.0, "onset": 20},
        "trials": {"rflo": 2000, "bptt": 2000, "np": 4000, "force": 50, "esn": 20},
        "conditions": {"periodic": 1, "interval": 20},
    },
}

#: Learning rates (a coarse search on the quick setting; see docs/results.md).
ETA = {
    "periodic": {"rflo": 0.03, "bptt": 0.03, "reinforce": 5.0, "miconi": 100.0},
    "interval": {"rflo": 0.01, "bptt": 0.01, "reinforce": 10.0, "miconi": 100.0},
}
#: Node perturbation noise: dense small kicks for REINFORCE, sparse larger kicks and a
#: fast ``ubar`` for Miconi's rule (so that ``u - ubar`` is mostly the kicks).
NOISE: dict[str, dict[str, Any]] = {
    "reinforce": {"sigma": 0.1, "sigma_out": 0.1, "p_perturb": 1.0, "tau_bar": 5.0},
    "miconi": {"sigma": 0.3, "sigma_out": 0.3, "p_perturb": 0.1, "tau_bar": 2.0},
}

RULES = ("RFLO", "BPTT", "REINFORCE", "Miconi", "FORCE", "echo state", "programming")
COLORS = dict(zip(RULES, ("C0", "C1", "C2", "C3", "C4", "C5", "C6"), strict=True))


def _reached(losses: np.ndarray, threshold: float) -> int | None:
    """First trial at which the running mean of ``WINDOW`` training losses is <= threshold."""
    if len(losses) < WINDOW:
        return None
    mean = np.convolve(losses, np.ones(WINDOW) / WINDOW, mode="valid")
    hit = np.flatnonzero(mean <= threshold)
    return int(hit[0]) + WINDOW if hit.size else None


def _row(rule, final, untrained, trials_to, T, wall, local, online, curve, output,
         trials_run, diverged=None) -> dict:
    return {
        "rule": rule, "final_loss": float(final), "untrained_loss": float(untrained),
        "trials_to_threshold": trials_to,
        "steps_to_threshold": None if trials_to is None else int(trials_to * T),
        "trials_run": int(trials_run), "wall_time_s": round(float(wall), 2),
        "local": local, "online": online, "curve": curve, "output": output,
        "diverged": diverged,
    }


def _run_task(ctx: Context, cfg: dict, name: str, task, seed: int) -> list[dict]:
    N, T, n = cfg["n_hidden"], task.T, cfg["trials"]
    eta = ETA[name]
    w = Weights.init(N, task.n_in, task.n_out, seed=seed, init=ctx.init)
    untrained = evaluate_open(w, task, seed=seed + 1)
    threshold = THRESHOLD * untrained
    probe = task.block(1, np.random.default_rng(seed + 1))  # the evaluation trial
    rows = []

    def open_output(weights):
        return ref.forward(weights, *probe.trial(0)).y[:, 0].tolist()

    for rule in ("rflo", "bptt"):
        ctx.say(f"{name} seed {seed}: {rule.upper()}")
        codegen = "auto" if rule == "rflo" else "reference"
        res = train(task, Settings(rule=rule, trials=n[rule], eta=(eta[rule],) * 3,
                                   block_trials=100, target=codegen, seed=seed,
                                   init=ctx.init),
                    weights=w, progress=False)
        rows.append(_row(rule.upper(), res.final_loss, untrained,
                         _reached(res.losses, threshold), T, res.wall_time, rule == "rflo",
                         rule == "rflo", [[k + 1, float(v)] for k, v in enumerate(res.losses)],
                         open_output(res.weights), len(res.losses), res.diverged))
    for variant, label in (("reinforce", "REINFORCE"), ("miconi", "Miconi")):
        ctx.say(f"{name} seed {seed}: node perturbation ({variant})")
        np_res = train_node_perturbation(task, w, n["np"], eta=(eta[variant],) * 3,
                                         variant=variant, seed=seed, **NOISE[variant])
        rows.append(_row(label, np_res.final_loss, untrained,
                         _reached(np_res.losses, threshold), T, np_res.wall_time, True, True,
                         [[k + 1, float(v)] for k, v in enumerate(np_res.losses)],
                         open_output(np_res.weights), len(np_res.losses),
                         np_res.extra["diverged"]))
    ctx.say(f"{name} seed {seed}: FORCE, echo state, programming")
    force = train_force(task, w, n["force"], seed=seed, eval_every=1)
    free = force.extra["free_losses"]
    hit = [k for k, loss in free if loss <= threshold]
    esn = train_echo_state(task, w, n["esn"], seed=seed)
    prog = program(task, w, cfg["conditions"][name], seed=seed)
    x, target, mask = probe.trial(0)
    for label, done, trials_to, curve in (
        ("FORCE", force, hit[0] if hit else None, [[k, float(v)] for k, v in free]),
        ("echo state", esn, n["esn"] if esn.final_loss <= threshold else None,
         [[n["esn"], esn.final_loss]]),
        ("programming", prog, prog.extra["conditions"] if prog.final_loss <= threshold
         else None, [[prog.extra["conditions"], prog.final_loss]]),
    ):
        out = loop_forward(done.weights, x, target, mask, w_loop=done.w_loop).y[:, 0].tolist()
        rows.append(_row(label, done.final_loss, untrained, trials_to, T, done.wall_time,
                         done.local, done.online, curve, out, done.steps // T))
    return rows


def _summary(per_seed: list[list[dict]]) -> list[dict]:
    """Median over seeds of each rule's numbers (trials to threshold: None counts as never)."""
    table = []
    for k, first in enumerate(per_seed[0]):
        rows = [seed_rows[k] for seed_rows in per_seed]
        reached = [r["trials_to_threshold"] for r in rows]
        hits = sorted(v for v in reached if v is not None)
        median_hit = hits[len(rows) // 2] if len(hits) > len(rows) // 2 else None
        table.append({
            "rule": first["rule"],
            "final_loss": float(np.median([r["final_loss"] for r in rows])),
            "untrained_loss": float(np.median([r["untrained_loss"] for r in rows])),
            "final_over_untrained": float(np.median([r["final_loss"] / r["untrained_loss"]
                                                     for r in rows])),
            "trials_to_threshold": median_hit,
            "steps_to_threshold": None if median_hit is None
            else median_hit * first["steps_per_trial"],
            "reached": f"{len(hits)}/{len(rows)}",
            "trials_run": first["trials_run"],
            "diverged_runs": sum(r["diverged"] is not None for r in rows),
            "wall_time_s": round(float(np.median([r["wall_time_s"] for r in rows])), 2),
            "local": first["local"], "online": first["online"],
        })
    return table


def _drawn(results: dict) -> dict:
    """What :func:`plot_rules` draws, per task: seed 0's curves and outputs, the target."""
    return {name: {"T": res["T"], "target": _numbers(res["target"]),
                   "untrained_loss": res["seed0"][0]["untrained_loss"],
                   "curves": {r["rule"]: _numbers(r["curve"]) for r in res["seed0"]},
                   "outputs": {r["rule"]: _numbers(r["output"]) for r in res["seed0"]}}
            for name, res in results.items()}


@plotter("rules")
def plot_rules(record: dict) -> Figure:
    """Per task: every rule's learning curve (seed 0) and its trained output."""
    need(record, "drawn")
    fig = figure(13, 8.2)
    drawn = record["drawn"]
    axes = fig.subplots(len(drawn), 2, width_ratios=(1, 1.3), squeeze=False)
    n = record.get("settings", {}).get("n_hidden", "")
    specs = []
    for row, (name, res) in enumerate(drawn.items()):
        ax_loss, ax_out = axes[row]
        T = res["T"]
        for rule, curve in res["curves"].items():
            curve = np.array(curve, dtype=float).reshape(-1, 2)
            if len(curve) == 0:  # diverged in its first block
                continue
            steps, loss = curve[:, 0] * T, np.maximum(curve[:, 1], FLOOR)
            if len(curve) > 3 * WINDOW:  # running mean, as for "reached"
                loss = np.convolve(loss, np.ones(WINDOW) / WINDOW, mode="valid")
                steps = steps[WINDOW - 1:]
            style = "-" if len(curve) > 1 else "o"
            ax_loss.plot(steps, loss, style, color=COLORS[rule], lw=1, label=rule)
        untrained = res["untrained_loss"]
        ax_loss.axhline(untrained, ls="--", color="0.4", lw=1, label="untrained")
        ax_loss.axhline(THRESHOLD * untrained, ls=":", color="0.4", lw=1,
                        label=f"threshold ({THRESHOLD:g} x untrained)")
        ax_loss.set_xlabel("simulated steps")
        ax_loss.set_ylabel(f"loss (running mean of {WINDOW}; floor {FLOOR:g})")
        log_axis(ax_loss, "x")
        ax_loss.set_ylim(FLOOR / 2, None)
        log_axis(ax_loss, "y")
        ax_loss.set_title(f"rate model (N = {n}), every rule: {name} task, learning, seed 0\n"
                          "(FORCE, echo state, programming: free running)", fontsize=9)
        t = np.arange(1, T + 1)
        ax_out.plot(t, res["target"], color="k", lw=2.5, alpha=0.3, label="target")
        for rule, output in res["outputs"].items():
            ax_out.plot(t, np.asarray(output, dtype=float), color=COLORS[rule], lw=1,
                        label=rule)
        ax_out.set_ylim(-2.5, 2.5)
        ax_out.set_xlabel("step")
        ax_out.set_ylabel("output y")
        ax_out.set_title(f"rate model (N = {n}), every rule: {name} task, trained output "
                         "on an evaluation trial", fontsize=9)
        specs += [(ax_loss, {"fontsize": 7}), (ax_out, {"fontsize": 7, "ncol": 2})]
    return finish(fig, record, specs)


@register("rules", "RFLO, BPTT, node perturbation, FORCE, echo state and one-step "
          "programming on the periodic and interval tasks")
def rules_figure(ctx: Context) -> dict:
    """Train every rule on both tasks; return the comparison table and what the plot draws."""
    cfg = CONFIGS["quick" if ctx.quick else "full"]
    seeds = ctx.seeds or cfg["seeds"]
    tasks = {"periodic": Periodic(cfg["period"]), "interval": IntervalMatching(**cfg["interval"])}
    start = time.perf_counter()
    results, tables = {}, {}
    for name, task in tasks.items():
        per_seed = []
        for seed in range(seeds):
            rows = _run_task(ctx, cfg, name, task, seed)
            for r in rows:
                r["steps_per_trial"] = task.T
            per_seed.append(rows)
        probe = task.block(1, np.random.default_rng(1))
        results[name] = {"seed0": per_seed[0], "T": task.T,
                         "target": probe.target[0, :, 0].tolist()}
        tables[name] = _summary(per_seed)
    return {
        "settings": {**{k: v for k, v in cfg.items() if k != "seeds"}, "seeds": seeds,
                     "eta": ETA, "noise": NOISE, "threshold_fraction": THRESHOLD,
                     "window": WINDOW, "tasks": {k: t.settings() for k, t in tasks.items()}},
        "table": tables,
        "seed0": {name: [[{k: v for k, v in r.items() if k not in ("curve", "output")}
                             for r in rows] for rows in [res["seed0"]]]
                     for name, res in results.items()},
        "total_wall_time_s": round(time.perf_counter() - start, 1),
        "model": "rate",
        "drawn": _drawn(results),
    }
