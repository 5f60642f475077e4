"""Paper Figure 2 and its supplements: the periodic output task.

Grids of learning rates and seeds of the RFLO family (Dale's law included) run
as replicas of one Brian2 network (:func:`brianrflo.replicas.replica_sweep`,
cpp_standalone in full runs); BPTT and the other numpy-only rules as stacked numpy
networks (:func:`brianrflo.batch.sweep`). Sweeps are cached in ``OUT/cache`` so
``fig2a``, ``fig2b`` and ``fig2c`` share one grid.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
from matplotlib.figure import Figure

from brianrflo import reference as ref
from brianrflo.batch import Sweep
from brianrflo.tasks import Periodic
from brianrflo.tasks.base import Task
from brianrflo.train import LOCAL_RULES, Settings
from brianrflo.weights import dale_signs

from . import Context, plotter, register
from .style import MODEL, figure, finish, log_axis, need

#: The paper's learning-rate grid (Materials and methods), searched for every rule.
ETA_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
#: Fig. 2d's rules: local or not, random feedback or not.
FIG2D_RULES = ("rflo", "local-symmetric", "nonlocal-random", "bptt")
#: The paper's best learning rates per period (RFLO, BPTT), for the results table.
PAPER_BEST = {200: (0.03, 0.03), 400: (0.01, 0.03), 800: (0.001, 0.01), 1600: (0.0003, 0.03)}
TAU = 10.0
#: Part of every cache entry's versions: bumped when the same key computes other
#: numbers (2: the RFLO family moved from the numpy engine to Brian2 replicas; 3: the
#: numpy rules' rows no longer depend on the rows beside them, and a grid of tasks runs
#: on the target chosen for the whole grid; 4: the numpy forward pass computes the
#: readout, and BPTT its gradients, for the whole trial at once: other roundings).
CACHE_FORMAT = 4


def settings(ctx: Context) -> dict:
    """Sizes of the Figure 2 runs: the paper's, or small ones with ``--quick``."""
    if ctx.quick:
        return {
            "n_hidden": 30, "periods": (200, 1600), "trials": 150, "seeds": ctx.seeds or 3,
            # Two rates per rule and period, around the paper's best.
            "grid": {("rflo", 200): (0.01, 0.03), ("rflo", 1600): (0.0003, 0.001),
                     ("bptt", 200): (0.01, 0.03), ("bptt", 1600): (0.01, 0.03)},
            "d_period": 400, "d_trials": 100, "d_grid": {"rflo": (0.01,), "bptt": (0.03,),
                                                         "local-symmetric": (0.01,),
                                                         "nonlocal-random": (0.03,)},
            "long": {}, "sizes": (8, 16, 30, 60), "size_trials": 150,
            # Each shape here runs once: 'auto' takes Brian2's numpy target where a
            # cpp_standalone compile would cost more than the training it speeds up.
            "aux_trials": 200, "target": "auto",
        }
    return {
        # The paper gives no trial count; its authors' example notebook trains 10,000.
        # At T = 160 tau learning leaves the plateau at a random time, and may lose it
        # again, within 20,000 trials (issue 18), so that period runs 20,000.
        "n_hidden": 30, "periods": (200, 400, 800, 1600), "trials": 10_000,
        "long": {1600: 20_000}, "seeds": ctx.seeds or 9,
        "grid": {(rule, T): ETA_GRID for rule in ("rflo", "bptt") for T in (200, 400, 800, 1600)},
        # The caption's T = 80 tau, every rule over the whole grid, 20,000 trials.
        "d_period": 800, "d_trials": 20_000, "d_grid": dict.fromkeys(FIG2D_RULES, ETA_GRID),
        "sizes": (10, 20, 30, 60, 120), "size_trials": 1000,
        "aux_trials": 1000, "target": "cpp_standalone",
    }


def cache_versions() -> str:
    """The packages a cached sweep depends on; a cache written under others is stale."""
    import brian2

    import brianrflo

    return (f"figure cache {CACHE_FORMAT}, brianrflo {brianrflo.__version__}, "
            f"brian2 {brian2.__version__}, numpy {np.__version__}")


def _read_cache(path: str) -> tuple[Sweep | None, str]:
    """The sweep cached at ``path``, or ``None`` and why it cannot be used."""
    try:
        with np.load(path) as f:
            versions = str(f["versions"]) if "versions" in f.files else "an older brianrflo"
        if versions != cache_versions():
            return None, f"was written by {versions}, this is {cache_versions()}"
        return Sweep.load(path), ""
    except Exception as err:  # a truncated zip raises BadZipFile, EOFError, ValueError...
        return None, f"is unreadable ({type(err).__name__}: {err})"


def _write_cache(result: Sweep, path: str) -> None:
    """Write ``result`` with the versions it was computed under, atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    result.save(path, versions=np.array(cache_versions()))


def grid(task: Task, rule: str, etas, seeds: int, trials: int, n_hidden: int,
         target: str, update: str | int = "trial", dale: bool = False, eval_trials: int = 1,
         progress=None, client=None, init: str = "paper", folder: str | None = None
         ) -> Sweep:
    """Train ``rule`` at every (eta, seed) pair, on the engine the rule runs on.

    The grid runs as tasks, one learning rate each, on ``client``
    (:func:`~brianrflo.dask_sweep.dask_sweep`) or, without one, as one stack in this
    process (:func:`~brianrflo.dask_sweep.stacked_sweep`), checkpointed in ``folder``
    if given: run again, it goes on from its last block. The numbers are the same
    either way. The RFLO family
    (:data:`~brianrflo.train.LOCAL_RULES`) runs as replicas of one Brian2 network on
    ``target`` (:func:`~brianrflo.replicas.replica_sweep`): each row, a diverging one
    included, is :func:`~brianrflo.train.train` of that network alone. The numpy-only
    rules run as stacked numpy networks (:func:`~brianrflo.batch.sweep`, in blocks of
    100 trials). Seeds are ``0 .. seeds - 1``; ``init`` draws their weights
    (:meth:`~brianrflo.weights.Weights.init`).
    """
    from brianrflo.dask_sweep import dask_sweep, stacked_sweep

    local = rule in LOCAL_RULES
    # Local rules: about ten blocks (divergence is checked, and the alignment measured,
    # per block).
    blocks = max(1, min(100, trials // 10)) if local else 100
    settings = Settings(rule=rule, trials=trials, tau=TAU, update=update, dale=dale,
                        target=target if local else "reference", block_trials=blocks, init=init)
    if client is None:
        return stacked_sweep(task, settings, etas, range(seeds), folder, n_hidden=n_hidden,
                             eval_trials=eval_trials, progress=progress,
                             record={"versions": cache_versions()})
    return dask_sweep(task, settings, etas, range(seeds), n_hidden=n_hidden,
                      eval_trials=eval_trials, progress=progress, client=client)


def cached_sweep(ctx: Context, task: Periodic, rule: str, etas, seeds: int, trials: int,
                 n_hidden: int, target: str, dale: bool = False) -> Sweep:
    """:func:`grid`, stored in ``OUT/cache`` and reused when asked again.

    A cache entry written by other package versions, or unreadable (a run killed
    while writing it), is recomputed, with one line on stderr saying so. Without a
    Dask client the grid is checkpointed in ``OUT/cache/KEY/`` while it runs, and a
    killed run goes on from there; a checkpoint of other package versions is refused
    (``ValueError`` naming it), never continued.
    """
    etas = tuple(float(e) for e in etas)
    # Brian2 targets may differ in the last bits, so each has its own entry.
    engine = target if rule in LOCAL_RULES else "numpy"
    key = (f"{rule}_T{task.T}_N{n_hidden}_n{trials}_s{seeds}_"
           + "-".join(f"{e:g}" for e in etas) + f"_{engine}" + ("_dale" if dale else "")
           + ("" if ctx.init == "paper" else f"_{ctx.init}"))
    path = ctx.path(os.path.join("cache", key + ".npz"))
    folder = ctx.path(os.path.join("cache", key))
    if os.path.exists(path):
        cached, why = _read_cache(path)
        if cached is not None:
            return cached
        print(f"brianrflo: cache {path} {why}; recomputing it", file=sys.stderr, flush=True)
    ctx.say(f"{rule}, T = {task.T}, N = {n_hidden}: {len(etas)} learning rates x {seeds} "
            f"networks x {trials} trials ({engine})")
    result = grid(task, rule, etas, seeds, trials, n_hidden, target, dale=dale,
                  progress=ctx.say if ctx.progress else None, client=ctx.client(), init=ctx.init,
                  folder=folder)
    _write_cache(result, path)
    shutil.rmtree(folder, ignore_errors=True)  # the finished grid is in the cache now
    return result


def _trials(s: dict, period: int) -> int:
    return s["long"].get(period, s["trials"])


def _grid(ctx: Context, s: dict, rule: str, period: int) -> Sweep:
    etas = s["grid"].get((rule, period), ETA_GRID)
    return cached_sweep(ctx, Periodic(period), rule, etas, s["seeds"], _trials(s, period),
                        s["n_hidden"], s["target"])


def _quartiles(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.nanpercentile(curves, q, axis=0) for q in (25, 50, 75))


def _numbers(values) -> list:
    """4 significant digits, NaN as null: what a plot needs, a fraction of the JSON."""
    v = np.asarray(values, dtype=float)
    if v.ndim > 1:
        return [_numbers(row) for row in v]
    return [float(f"{x:.4g}") if np.isfinite(x) else None for x in v]


def band(x, curves, smooth: int = 1) -> dict:
    """Median and 25/75 percentiles over networks of ``curves`` (networks, points), as JSON.

    ``smooth > 1`` takes a running mean first, so transient spikes do not hide the trend.
    """
    x, curves = np.asarray(x), np.asarray(curves, dtype=float)
    if smooth > 1:
        kernel = np.ones(smooth) / smooth
        curves = np.array([np.convolve(c, kernel, mode="valid") for c in curves])
        x = x[smooth - 1:]
    lo, mid, hi = _quartiles(curves)
    return {"x": _numbers(x), "p25": _numbers(lo), "median": _numbers(mid),
            "p75": _numbers(hi), "smooth": smooth}


def draw_band(ax, curve: dict, color, label: str) -> None:
    """Draw a :func:`band` record: the median line and the 25-75% band."""
    x = np.asarray(curve["x"], dtype=float)
    lo, mid, hi = (np.asarray(curve[k], dtype=float) for k in ("p25", "median", "p75"))
    ax.plot(x, mid, color=color, lw=1.3, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return {"median": None, "p25": None, "p75": None, "n": int(v.size), "diverged": int(v.size)}
    q25, q50, q75 = np.percentile(finite, [25, 50, 75])
    return {"median": float(q50), "p25": float(q25), "p75": float(q75), "n": int(v.size),
            "diverged": int(v.size - finite.size)}


def _scores(sw: Sweep, rows) -> dict:
    """Loss of the trained (frozen) weights, and while learning (last 10% of trials)."""
    return {"final": _stats(sw.final[rows]), "learning": _stats(sw.late()[rows])}


def _best(sw: Sweep) -> tuple[float, np.ndarray]:
    eta = sw.best_eta()
    return eta, sw.select(eta)


def _title(ax, rules: str, text: str, record: dict) -> None:
    """Panel title naming the model and the rule(s); every periodic figure runs the rate model."""
    ax.set_title(f"{MODEL[record.get('model', 'rate')]}, {rules}: {text}", fontsize=9)


def _untrained(ax, stats: dict) -> None:
    ax.axhline(stats["median"], color="0.4", ls="--", lw=1, label="untrained (median)")


# --------------------------------------------------------------------- fig2a
@register("fig2a", "periodic task: loss over training and output, RFLO vs BPTT (T = 20 tau)")
def fig2a(ctx: Context) -> dict:
    """``brianrflo figure fig2a``: loss over training and output, RFLO vs BPTT (T = 20 tau)."""
    s = settings(ctx)
    task = Periodic(s["periods"][0])
    numbers = {"model": "rate", "period": task.T, "n_hidden": s["n_hidden"],
               "trials": s["trials"], "seeds": s["seeds"], "rules": {}}
    trials = np.arange(1, s["trials"] + 1)
    x, target, mask = task.block(1).trial(0)
    output = {"time_tau": _numbers(np.arange(1, task.T + 1) / TAU),
              "target": _numbers(task.target()[:, 0])}
    for rule in ("rflo", "bptt"):
        sw = _grid(ctx, s, rule, task.T)
        eta, rows = _best(sw)
        seed = rows[int(np.argsort(sw.final[rows])[len(rows) // 2])]  # the median network
        output[rule] = _numbers(ref.forward(sw.weights[seed], x, target, mask, TAU).y[:, 0])
        numbers["rules"][rule] = {"best_eta": eta, **_scores(sw, rows),
                                  "untrained": _stats(sw.untrained[rows]),
                                  "curve": band(trials, sw.losses[rows])}
    numbers["output"] = output
    return numbers


@plotter("fig2a")
def plot_fig2a(record: dict) -> Figure:
    """Loss bands of RFLO and BPTT, and the median networks' outputs."""
    need(record, "rules.rflo.curve", "rules.bptt.curve", "output")
    fig = figure(10, 4.2)
    ax_loss, ax_out = fig.subplots(1, 2)
    out = record["output"]
    ax_out.plot(out["time_tau"], out["target"], color="0.2", lw=3, alpha=0.35, label="target")
    for k, (rule, r) in enumerate(record["rules"].items()):
        draw_band(ax_loss, r["curve"], f"C{k}", f"{rule.upper()} (eta {r['best_eta']:g})")
        ax_out.plot(out["time_tau"], out[rule], color=f"C{k}", lw=1.2,
                    label=f"{rule.upper()}, median network")
    _untrained(ax_loss, record["rules"]["rflo"]["untrained"])
    ax_loss.set(xlabel="trial", ylabel="loss (median, 25-75% of networks)")
    log_axis(ax_loss, "y")
    _title(ax_loss, "RFLO vs BPTT", f"learning, N = {record['n_hidden']}, "
           f"T = {record['period']} steps, {record['seeds']} networks", record)
    ax_out.set(xlabel=r"time ($\tau$)", ylabel="output")
    _title(ax_out, "RFLO vs BPTT", "output after training", record)
    return finish(fig, record, [ax_loss, ax_out])


# --------------------------------------------------------------------- fig2b
@register("fig2b", "periodic task: final loss against trial length T, RFLO vs BPTT vs untrained")
def fig2b(ctx: Context) -> dict:
    """``brianrflo figure fig2b``: final loss against the trial length T, RFLO, BPTT, untrained."""
    s = settings(ctx)
    rows_out = []
    for period in s["periods"]:
        row = {"period": period, "trials": _trials(s, period),
               "paper_best_eta": dict(zip(("rflo", "bptt"), PAPER_BEST[period], strict=True))}
        for rule in ("rflo", "bptt"):
            sw = _grid(ctx, s, rule, period)
            eta, rows = _best(sw)
            row[rule] = {"best_eta": eta, **_scores(sw, rows),
                         "grid": sw.summary()}
            if period == s["periods"][-1]:  # where learning escapes a plateau, or not
                row[rule]["networks"] = per_network(sw.losses[rows])
        row["untrained"] = _stats(sw.untrained[rows])
        rows_out.append(row)
    return {"model": "rate", "n_hidden": s["n_hidden"], "trials": s["trials"],
            "seeds": s["seeds"], "periods": rows_out}


def per_network(losses: np.ndarray, points: int = 200) -> dict:
    """Each network's loss over training ``(networks, trials)``, as means over ``points``
    equal windows of trials (NaN from a window a network diverged in)."""
    losses = np.asarray(losses, dtype=float)
    width = max(1, losses.shape[1] // points)
    used = losses.shape[1] // width * width
    means = losses[:, :used].reshape(len(losses), -1, width).mean(axis=2)
    return {"trial": _numbers(np.arange(width, used + 1, width)), "losses": _numbers(means)}


def _errorbars(ax, x, stats: list[dict], label: str, color) -> None:
    """Median with 25-75% error bars; a setting where every network diverged is a gap."""
    get = {k: np.array([np.nan if st[k] is None else st[k] for st in stats])
           for k in ("median", "p25", "p75")}
    mid = get["median"]
    ax.errorbar(x, mid, yerr=[mid - get["p25"], get["p75"] - mid], color=color, marker="o",
                capsize=3, label=label)


@plotter("fig2b")
def plot_fig2b(record: dict) -> Figure:
    """Final loss against trial length, RFLO and BPTT at their best rate, and untrained."""
    need(record, "periods")
    rows = record["periods"]
    curves = "networks" in rows[-1]["rflo"]  # records before them have none
    fig = figure(12 if curves else 6, 4.4)
    ax, *ax_net = fig.subplots(1, 2 if curves else 1, squeeze=False)[0]
    periods = np.array([r["period"] for r in rows]) / TAU
    for k, name in enumerate(("rflo", "bptt")):
        _errorbars(ax, periods, [r[name]["final"] for r in rows], name.upper(), f"C{k}")
    _errorbars(ax, periods, [r["untrained"] for r in rows], "untrained", "0.4")
    ax.set(xlabel=r"trial length T ($\tau$)", ylabel="final loss (best eta; median, 25-75%)")
    log_axis(ax, "x", ticks=periods)
    log_axis(ax, "y")
    longer = [f"{r['trials']} at T = {r['period']}" for r in rows
              if r.get("trials", record["trials"]) != record["trials"]]
    trials = f"{record['trials']} trials" + (f" ({', '.join(longer)})" if longer else "")
    _title(ax, "RFLO vs BPTT", f"{trials}, N = {record['n_hidden']}, "
           f"{record['seeds']} networks", record)
    legends = [ax]
    for axn in ax_net:
        last = rows[-1]
        for k, name in enumerate(("rflo", "bptt")):
            net = last[name]["networks"]
            losses = np.array(net["losses"], dtype=float)
            for i, curve in enumerate(losses):
                axn.plot(net["trial"], curve, color=f"C{k}", lw=0.8, alpha=0.7,
                         label=f"{name.upper()} (eta {last[name]['best_eta']:g})" if i == 0
                         else None)
        width = int(net["trial"][0])
        axn.set(xlabel="trial", ylabel=f"loss (mean over {width} trials)" if width > 1
                else "training loss")
        log_axis(axn, "y")
        _title(axn, "RFLO vs BPTT", f"each network, T = {last['period'] / TAU:g} tau", record)
        legends.append(axn)
    return finish(fig, record, legends)


# --------------------------------------------------------------------- fig2c
@register("fig2c", "alignment of W_out with B during RFLO training (T = 20 tau)")
def fig2c(ctx: Context) -> dict:
    """``brianrflo figure fig2c``: alignment of ``W_out`` with ``B^T`` during RFLO training."""
    s = settings(ctx)
    sw = _grid(ctx, s, "rflo", s["periods"][0])
    eta, rows = _best(sw)
    curve = band(sw.checkpoints, sw.alignment[rows])
    return {"model": "rate", "period": s["periods"][0], "n_hidden": s["n_hidden"],
            "seeds": s["seeds"], "eta": eta, "start": _stats(sw.alignment[rows, 0]),
            "end": _stats(sw.alignment[rows, -1]),
            "trials": [int(t) for t in sw.checkpoints],
            "median": np.median(sw.alignment[rows], axis=0).tolist(),
            "p25": curve["p25"], "p75": curve["p75"]}


@plotter("fig2c")
def plot_fig2c(record: dict) -> Figure:
    """Alignment of the readout with the feedback matrix over training."""
    need(record, "trials", "median", "p25", "p75")
    fig = figure(5.5, 4)
    ax = fig.subplots()
    draw_band(ax, {"x": record["trials"], **{k: record[k] for k in ("p25", "median", "p75")}},
              "C0", f"RFLO (eta {record['eta']:g}), median, 25-75%")
    ax.axhline(0, color="0.6", lw=0.8, label="no alignment")
    ax.set(xlabel="trial", ylabel=r"alignment $tr(W_{out}B)/|W_{out}||B|$")
    _title(ax, "RFLO", f"readout aligns with the random feedback B, T = {record['period']}",
           record)
    return finish(fig, record, [ax])


# --------------------------------------------------------------------- fig2d
FIG2D_LABELS = {"rflo": "RFLO (local, random B)", "local-symmetric": "local, symmetric",
                "nonlocal-random": "nonlocal, random B", "bptt": "BPTT (nonlocal, symmetric)"}


@register("fig2d", "which approximation costs: locality or random feedback")
def fig2d(ctx: Context) -> dict:
    """``brianrflo figure fig2d``: which approximation costs, locality or random feedback."""
    s = settings(ctx)
    task = Periodic(s["d_period"])
    trials = np.arange(1, s["d_trials"] + 1)
    out = {"model": "rate", "period": task.T, "n_hidden": s["n_hidden"],
           "trials": s["d_trials"], "seeds": s["seeds"], "rules": {}}
    for rule in FIG2D_RULES:
        sw = cached_sweep(ctx, task, rule, s["d_grid"][rule], s["seeds"], s["d_trials"],
                          s["n_hidden"], s["target"])
        eta, rows = _best(sw)
        out["rules"][rule] = {"eta": eta, **_scores(sw, rows), "grid": sw.summary(),
                              "curve": band(trials, sw.losses[rows], smooth=5)}
    out["untrained"] = _stats(sw.untrained[rows])
    return out


@plotter("fig2d")
def plot_fig2d(record: dict) -> Figure:
    """Loss of the four combinations of locality and feedback."""
    need(record, *(f"rules.{rule}.curve" for rule in record.get("rules", {"rflo": 0})))
    fig = figure(7, 4.4)
    ax = fig.subplots()
    for rule, r in record["rules"].items():
        draw_band(ax, r["curve"], f"C{FIG2D_RULES.index(rule)}",
                  f"{FIG2D_LABELS[rule]} (eta {r['eta']:g})")
    _untrained(ax, record["untrained"])
    ax.set(xlabel="trial", ylabel="loss (running mean of 5; median, 25-75%)")
    log_axis(ax, "y")
    _title(ax, "RFLO, BPTT and the rules between", f"T = {record['period']} steps, "
           f"N = {record.get('n_hidden', 30)}, {record['seeds']} networks", record)
    return finish(fig, record, [ax])


# ----------------------------------------------------------------- fig2-dale
@register("fig2-dale", "RFLO with Dale's law in Brian2 (signs clipped in compiled code)")
def fig2_dale(ctx: Context) -> dict:
    """``brianrflo figure fig2-dale``: RFLO with Dale's law in Brian2."""
    s = settings(ctx)
    task = Periodic(s["periods"][0])
    # Without Dale's law this is fig2-readout's RFLO grid: the cache computes it once.
    runs = {name: cached_sweep(ctx, task, "rflo", (0.03,), s["seeds"], s["aux_trials"],
                               s["n_hidden"], s["target"], dale=dale)
            for name, dale in (("rflo", False), ("dale", True))}
    dale = runs["dale"]
    sign = dale_signs(s["n_hidden"])[None, :]
    trials = np.arange(1, s["aux_trials"] + 1)
    return {
        "model": "rate", "period": task.T, "eta": 0.03,
        "target": s["target"], "trials": s["aux_trials"], "seeds": s["seeds"],
        "untrained": _stats(dale.untrained),
        "final": {name: _stats(sw.final) for name, sw in runs.items()},
        "sign_flips": sum(int(np.sum(sign * w.w_rec < 0)) for w in dale.weights),
        "zero_weights": _stats([np.mean(w.w_rec == 0) for w in dale.weights]),
        "curves": {name: band(trials, sw.losses, smooth=5) for name, sw in runs.items()},
        "w_rec_seed0": _numbers(dale.weights[0].w_rec),
    }


@plotter("fig2-dale")
def plot_fig2_dale(record: dict) -> Figure:
    """Loss with and without Dale's law, and one trained recurrent matrix."""
    need(record, "curves", "w_rec_seed0")
    fig = figure(10.5, 4.2)
    ax_loss, ax_w = fig.subplots(1, 2)
    for k, (name, curve) in enumerate(record["curves"].items()):
        draw_band(ax_loss, curve, f"C{k}", "RFLO" if name == "rflo" else "RFLO, Dale's law")
    _untrained(ax_loss, record["untrained"])
    ax_loss.set(xlabel="trial", ylabel="loss (running mean of 5; median, 25-75%)")
    log_axis(ax_loss, "y")
    _title(ax_loss, "RFLO with and without Dale's law",
           f"T = {record['period']}, eta {record['eta']:g}, {record['seeds']} networks", record)
    w = np.array(record["w_rec_seed0"], dtype=float)
    lim = np.abs(w).max()
    image = ax_w.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax_w.set(xlabel="from (presynaptic unit)", ylabel="to")
    _title(ax_w, "RFLO + Dale's law", "trained W_rec, seed 0", record)
    fig.colorbar(image, ax=ax_w, label="weight")
    return finish(fig, record, [ax_loss])


# -------------------------------------------------------------- fig2-readout
@register("fig2-readout", "readout-only and recurrent-only learning against RFLO")
def fig2_readout(ctx: Context) -> dict:
    """``brianrflo figure fig2-readout``: readout-only and recurrent-only learning vs RFLO."""
    s = settings(ctx)
    task = Periodic(s["periods"][0])
    trials = np.arange(1, s["aux_trials"] + 1)
    out = {"model": "rate", "period": task.T, "trials": s["aux_trials"], "seeds": s["seeds"],
           "rules": {}}
    for rule in ("rflo", "readout-only", "recurrent-only"):
        sw = cached_sweep(ctx, task, rule, (0.03,), s["seeds"], s["aux_trials"], s["n_hidden"],
                          s["target"])
        out["rules"][rule] = {"eta": 0.03, **_scores(sw, slice(None)),
                              "untrained": _stats(sw.untrained),
                              "alignment_end": _stats(sw.alignment[:, -1]),
                              "curve": band(trials, sw.losses, smooth=5)}
    return out


@plotter("fig2-readout")
def plot_fig2_readout(record: dict) -> Figure:
    """Loss of RFLO against learning only the readout or only the recurrent weights."""
    need(record, *(f"rules.{rule}.curve" for rule in record.get("rules", {"rflo": 0})))
    fig = figure(7, 4.4)
    ax = fig.subplots()
    for k, (rule, r) in enumerate(record["rules"].items()):
        draw_band(ax, r["curve"], f"C{k}", rule)
    _untrained(ax, record["rules"]["rflo"]["untrained"])
    ax.set(xlabel="trial", ylabel="loss (running mean of 5; median, 25-75%)")
    log_axis(ax, "y")
    _title(ax, "RFLO, readout-only, recurrent-only",
           f"T = {record['period']}, eta 0.03, {record['seeds']} networks", record)
    return finish(fig, record, [ax])


# ----------------------------------------------------------------- fig2-size
@register("fig2-size", "final RFLO loss against network size N")
def fig2_size(ctx: Context) -> dict:
    """``brianrflo figure fig2-size``: final RFLO loss against the network size N."""
    s = settings(ctx)
    task = Periodic(s["periods"][0])
    rows = []
    for n in s["sizes"]:
        sw = cached_sweep(ctx, task, "rflo", (0.03,), s["seeds"], s["size_trials"], n,
                          s["target"])
        rows.append({"n_hidden": n, **_scores(sw, slice(None)),
                     "untrained": _stats(sw.untrained)})
    return {"model": "rate", "period": task.T, "trials": s["size_trials"], "seeds": s["seeds"],
            "sizes": rows}


@plotter("fig2-size")
def plot_fig2_size(record: dict) -> Figure:
    """Final RFLO loss, and the untrained loss, against network size."""
    need(record, "sizes")
    fig = figure(5.5, 4.2)
    ax = fig.subplots()
    sizes = [r["n_hidden"] for r in record["sizes"]]
    _errorbars(ax, sizes, [r["final"] for r in record["sizes"]], "RFLO, trained", "C0")
    _errorbars(ax, sizes, [r["untrained"] for r in record["sizes"]], "untrained", "0.4")
    ax.set(xlabel="N (hidden units)", ylabel="final loss (median, 25-75%)")
    log_axis(ax, "x", ticks=sizes)
    log_axis(ax, "y")
    _title(ax, "RFLO", f"T = {record['period']}, {record['trials']} trials, eta 0.03, "
           f"{record['seeds']} networks", record)
    return finish(fig, record, [ax])
