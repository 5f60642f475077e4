"""Markdown tables of a figure run's numbers: python tools/results_tables.py out/figures-full.

Prints one table per figure JSON found in the folder; docs/results.md holds its output.
"""

import json
import os
import sys


def fmt(stats):
    if stats is None or stats.get("median") is None:
        return "diverged"
    text = f"{stats['median']:.4f}"
    if stats.get("p25") is not None and stats["n"] > 1:
        text += f" [{stats['p25']:.4f}, {stats['p75']:.4f}]"
    if stats.get("diverged"):
        text += f" ({stats['diverged']} diverged)"
    return text


def load(folder, name):
    path = os.path.join(folder, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def tables(folder):
    out = []
    b = load(folder, "fig2b")
    if b:
        out += [f"**fig2b** (`{b['command']}`, {b['wall_time_s']:.0f} s): N = {b['n_hidden']}, "
                f"{b['trials']} trials, {b['seeds']} networks per learning rate; final loss "
                "median [25%, 75%] at the best rate.", "",
                "| T (steps) | best eta RFLO (paper) | best eta BPTT (paper) | RFLO | BPTT | "
                "untrained |", "|---|---|---|---|---|---|"]
        for r in b["periods"]:
            p = r["paper_best_eta"]
            out.append(f"| {r['period']} | {r['rflo']['best_eta']:g} ({p['rflo']:g}) | "
                       f"{r['bptt']['best_eta']:g} ({p['bptt']:g}) | {fmt(r['rflo']['final'])} | "
                       f"{fmt(r['bptt']['final'])} | {fmt(r['untrained'])} |")
        out.append("")
    c = load(folder, "fig2c")
    if c:
        out += [f"**fig2c** (`{c['command']}`): alignment at eta {c['eta']:g}, start "
                f"{fmt(c['start'])}, end {fmt(c['end'])}.", ""]
    d = load(folder, "fig2d")
    if d:
        out += [f"**fig2d** (`{d['command']}`, {d['wall_time_s']:.0f} s): T = {d['period']}, "
                f"{d['trials']} trials, {d['seeds']} networks; untrained {fmt(d['untrained'])}.",
                "", "| rule | eta | final loss |", "|---|---|---|"]
        out += [f"| {k} | {v['eta']:g} | {fmt(v['final'])} |" for k, v in d["rules"].items()]
        out.append("")
    dale = load(folder, "fig2-dale")
    if dale:
        out += [f"**fig2-dale** (`{dale['command']}`, Brian2 {dale['target']}, "
                f"{dale['wall_time_s']:.0f} s): {dale['trials']} trials, {dale['seeds']} networks; "
                f"untrained {fmt(dale['untrained'])}, RFLO {fmt(dale['final']['rflo'])}, "
                f"RFLO with Dale's law {fmt(dale['final']['dale'])}; weights that changed sign: "
                f"{dale['sign_flips']}; fraction of recurrent weights clipped to 0: "
                f"{fmt(dale['zero_weights'])}.", ""]
    r = load(folder, "fig2-readout")
    if r:
        out += [f"**fig2-readout** (`{r['command']}`): T = {r['period']}, {r['trials']} trials, "
                f"{r['seeds']} networks, eta 0.03.", "",
                "| rule | final loss | untrained | alignment at the end |", "|---|---|---|---|"]
        out += [f"| {k} | {fmt(v['final'])} | {fmt(v['untrained'])} | {fmt(v['alignment_end'])} |"
                for k, v in r["rules"].items()]
        out.append("")
    s = load(folder, "fig2-size")
    if s:
        out += [f"**fig2-size** (`{s['command']}`): RFLO, T = {s['period']}, {s['trials']} "
                f"trials, {s['seeds']} networks, eta 0.03.", "", "| N | final loss | untrained |",
                "|---|---|---|"]
        out += [f"| {x['n_hidden']} | {fmt(x['final'])} | {fmt(x['untrained'])} |"
                for x in s["sizes"]]
        out.append("")
    f3 = load(folder, "fig3")
    if f3:
        out += [f"**fig3** (`{f3['command']}`, {f3['wall_time_s']:.0f} s): N = {f3['n_hidden']}, "
                f"{f3['trials']} trials, updates every {f3['update_every']} trials, pulse sd "
                f"{f3['sd']:g} steps.", "",
                "| rule | trained delays (steps) | eta | loss (untrained) | slope of peak time vs "
                "T_delay | delays tracked (within 1 sd, steps) |", "|---|---|---|---|---|---|"]
        for run in f3["runs"]:
            spans = ", ".join("none" if v is None else f"{v[0]}-{v[1]}" for v in run["tracked"])
            out.append(f"| {run['rule']} | {run['delay_min']}-{run['delay_max']} | {run['eta']:g} "
                       f"| {run['final']:.4f} ({run['untrained']:.4f}) | "
                       f"{', '.join(f'{v:.2f}' for v in run['slope'])} | "
                       f"{spans} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables(sys.argv[1] if len(sys.argv) > 1 else os.path.join("out", "figures-full")))
