"""Write and execute the figure notebooks (quick mode): python tools/make_notebooks.py."""

import os
import sys

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """%matplotlib inline
import json, os
from IPython.display import Image, display
from brianrflo.figures import run_figure

# BRIANRFLO_QUICK=1 (what the tests set) runs the small versions in a few minutes;
# without it the notebook runs the paper's sizes (hours on 2 cores).
QUICK = os.environ.get("BRIANRFLO_QUICK") == "1"
OUT = os.path.join("out", "figures-quick" if QUICK else "figures")

def show(name):
    record = run_figure(name, OUT, quick=QUICK, progress=False)
    display(Image(os.path.join(OUT, name + ".png")))
    return record"""

PERIODIC = [
    new_markdown_cell(
        "# Figure 2: the periodic task, RFLO against BPTT and the rule variants\n\n"
        "Murray (2019), Fig. 2 and its supplements. N = 30 rate units, no input, one period of "
        "`y*(t) = sin(2πt/T) + 0.5 sin(4πt/T) + 0.25 sin(8πt/T)` per trial. Learning rates come "
        "from a grid search over the paper's grid, several networks per setting; curves are "
        "medians with 25/75 percentiles. The RFLO family's grids run as replicas of one "
        "Brian2 network (cpp_standalone), BPTT's as stacked numpy networks (`brianrflo.batch`), "
        "each grid as Dask tasks. Each cell is also a command: "
        "`brianrflo figure NAME [--quick]`."),
    new_code_cell(SETUP),
    new_markdown_cell("## 2a: loss over training and the trained output (T = 20 τ)"),
    new_code_cell('a = show("fig2a")\n'
                  'for rule, r in a["rules"].items():\n'
                  '    print(f"{rule}: best eta {r[\'best_eta\']}, final loss {r[\'final\'][\'median\']:.4f}"'
                  ' f" (untrained {r[\'untrained\'][\'median\']:.3f})")'),
    new_markdown_cell("## 2b: final loss against the trial length T"),
    new_code_cell('b = show("fig2b")\n'
                  'for row in b["periods"]:\n'
                  '    print(row["period"], {k: (row[k]["best_eta"], round(row[k]["final"]["median"], 4))'
                  ' for k in ("rflo", "bptt")}, "paper:", row["paper_best_eta"])'),
    new_markdown_cell("## 2c: the readout aligns with the random feedback B"),
    new_code_cell('c = show("fig2c")\n'
                  'print(f"alignment {c[\'start\'][\'median\']:.2f} -> {c[\'end\'][\'median\']:.2f}")'),
    new_markdown_cell("## 2d: locality or random feedback?\n\nRFLO (local, random B), local with "
                      "symmetric feedback, nonlocal (RTRL) with random B, and BPTT."),
    new_code_cell('d = show("fig2d")\n'
                  'print({k: round(v["final"]["median"], 4) for k, v in d["rules"].items()})'),
    new_markdown_cell("## Supplement 1: Dale's law (Brian2, signs clipped in compiled code)"),
    new_code_cell('dale = show("fig2-dale")\n'
                  'print("weights that changed sign:", dale["sign_flips"])'),
    new_markdown_cell("## Supplement 2: readout-only and recurrent-only learning"),
    new_code_cell('r = show("fig2-readout")\n'
                  'print({k: round(v["final"]["median"], 4) for k, v in r["rules"].items()})'),
    new_markdown_cell("## Supplement 3: network size"),
    new_code_cell('s = show("fig2-size")\n'
                  'print({x["n_hidden"]: round(x["final"]["median"], 4) for x in s["sizes"]})'),
]

INTERVAL = [
    new_markdown_cell(
        "# Figure 3: interval matching (Ready-Set-Go)\n\n"
        "Two Gaussian input pulses `T_delay` apart; the target is a pulse `T_delay` after the "
        "second. Updates are summed and applied every 10 trials. After training, the networks "
        "are tested without learning on evenly spaced delays: the output's peak after \"set\" "
        "should equal `T_delay` (dashed line)."),
    new_code_cell(SETUP),
    new_code_cell('f = show("fig3")\n'
                  'for run in f["runs"]:\n'
                  '    print(run["rule"], "trained to", run["delay_max"], "steps: slope",'
                  ' [round(v, 2) for v in run["slope"]], "tracked (steps)", run["tracked"],'
                  ' "| loss", round(run["final"], 4), "untrained", round(run["untrained"], 4))'),
    new_markdown_cell("The same task from the API: one network, the Brian2 engine."),
    new_code_cell(
        "import numpy as np\n"
        "from brianrflo import Settings, train\n"
        "from brianrflo.tasks import IntervalMatching\n"
        "task = IntervalMatching(delay_min=20, delay_max=40, sd=4, onset=10)\n"
        "result = train(task, Settings(rule='rflo', trials=200 if QUICK else 3000, eta=(0.01,) * 3,"
        " update=10, target='cython'), n_hidden=30, progress=False)\n"
        "print(f'loss {result.untrained_loss:.4f} -> {result.final_loss:.4f}')"),
]

SPIKING = [
    new_markdown_cell(
        "# Spiking units trained with RFLO's local rule\n\n"
        "Leaky integrate-and-fire units (`brianrflo.models.lif`) as Brian2 equations with "
        "Brian2's own threshold, reset and refractoriness. The rule keeps RFLO's structure: a "
        "presynaptic trace `zbar`, a pseudo-derivative `psi` of the spike (Bellec et al. 2020), "
        "an eligibility trace `p` per synapse, and the readout error fed back through a fixed "
        "random `B` (close to e-prop). The readout is the filtered spike train "
        "`r(t) = (1 - 1/tau_r) r(t-1) + z(t)`. Quick mode: N = 30, 300 trials of the periodic "
        "task at T = 20 tau."),
    new_code_cell(
        "%matplotlib inline\n"
        "import os\n"
        "import numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from brianrflo import Settings, train\n"
        "from brianrflo.models import MODELS\n"
        "from brianrflo.spiking import SpikingNetwork, spiking_trace\n"
        "from brianrflo.tasks import Periodic\n\n"
        "QUICK = os.environ.get('BRIANRFLO_QUICK') == '1'\n"
        "model = MODELS['lif']\n"
        "print(model.show())"),
    new_markdown_cell("## Train (Brian2, runtime cython), the same call as for rate units"),
    new_code_cell(
        "task = Periodic(200)\n"
        "settings = Settings(model='lif', trials=300 if QUICK else 1000, eta=(0.01, 0.001, 0.001),"
        " seed=0)\n"
        "result = train(task, settings, n_hidden=30, progress=False)\n"
        "print(f'loss {result.untrained_loss:.3f} -> {result.final_loss:.3f} '\n"
        "      f'({result.final_loss / result.untrained_loss:.2f} of untrained)')"),
    new_code_cell(
        "start = model.init_weights(30, 0, 1, seed=0)\n"
        "block = task.block(1)\n"
        "before = spiking_trace(start, block, 10.0, model)\n"
        "after = spiking_trace(result.weights, block, 10.0, model)\n"
        "fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.5))\n"
        "a.semilogy(np.convolve(result.losses, np.ones(10) / 10, mode='valid'))\n"
        "a.set(xlabel='trial', ylabel='loss (running mean of 10)')\n"
        "b.plot(block.target[0, :, 0], color='0.6', lw=3, label='target')\n"
        "b.plot(before.y[:, 0], color='0.4', lw=1, label='before')\n"
        "b.plot(after.y[:, 0], color='C3', lw=1.2, label='after')\n"
        "b.set(xlabel='step', ylabel='output'); b.legend(frameon=False)"),
    new_markdown_cell("## Spike rasters from the Brian2 network (no learning)"),
    new_code_cell(
        "net = SpikingNetwork(start, task.T, model=model, record=True)\n"
        "fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)\n"
        "for ax, w, name in zip(axes, (start, result.weights), ('before', 'after')):\n"
        "    net.set_weights(w)\n"
        "    net.run_block(block)\n"
        "    units, steps = net.spikes()\n"
        "    ax.plot(steps + 1, units, '|', color='k')\n"
        "    ax.set(title=f'{name} training', xlabel='step')\n"
        "axes[0].set_ylabel('unit')\n"
        "# Brian2's spikes are the reference's spikes (tests/test_spiking.py checks it)\n"
        "assert np.array_equal(np.sort(steps * 30 + units),\n"
        "                      np.sort(np.nonzero(after.z.ravel())[0]))"),
]


def build(path, cells):
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3"}})
    os.environ["BRIANRFLO_QUICK"] = "1"
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": "/tmp"}}).execute()
    nbformat.write(nb, path)


if __name__ == "__main__":
    root = os.path.join(os.path.dirname(__file__), "..", "notebooks")
    which = sys.argv[1:] or ["periodic", "interval", "spiking"]
    if "periodic" in which:
        build(os.path.join(root, "fig2_periodic.ipynb"), PERIODIC)
    if "interval" in which:
        build(os.path.join(root, "fig3_interval.ipynb"), INTERVAL)
    if "spiking" in which:
        build(os.path.join(root, "spiking.ipynb"), SPIKING)
