"""Write docs/performance.md's tables from one benchmark run (docs/performance.json).

    python benchmarks/bench_rflo.py --threads 2 --json docs/performance.json
    python tools/performance_tables.py

The benchmark's rows are kept in ``docs/performance.json``; this tool renders them
between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` (and the issue's targets
between ``<!-- targets:start -->`` and ``<!-- targets:end -->``), and the Dask
benchmark's run (``docs/dask_workers.json``) between ``<!-- dask:start -->`` and
``<!-- dask:end -->``.
``tests/test_docs.py`` fails when the page no longer shows what the JSON holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "docs" / "performance.json"
#: ``python benchmarks/dask_workers.py --json docs/dask_workers.json``
DASK = ROOT / "docs" / "dask_workers.json"


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


def _label(row: dict) -> str:
    label = row["engine"]
    if row.get("threads", 1) > 1:
        label += f", {row['threads']} threads"
    if row.get("replicas", 1) > 1:
        label += f", {row['replicas']} replicas"
    return label


def bench_section(rows: list[dict]) -> str:
    """The per-size table and the grid table."""
    head = ("| N | engine | first build (s) | build (s) | steps/s | x numpy | x C loop "
            "| in binary (steps/s) | in binary x C loop | peak MB |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    single = [r for r in rows if r.get("replicas") == 1]
    grid = [r for r in rows if r.get("replicas", 1) > 1]
    lines = [head]
    for r in single:
        lines.append(f"| {r['n_hidden']} | {_label(r)} | {_num(r['first_build_s'])} | "
                     f"{_num(r['build_s']) if r['engine'] != 'reference' else '-'} | "
                     f"{_num(r['steps_per_s'], 0)} | {_num(r['x_numpy'])} | "
                     f"{_num(r['x_c_loop'])} | {_num(r.get('binary_steps_per_s'), 0)} | "
                     f"{_num(r.get('binary_x_c_loop'))} | {_num(r['peak_rss_mb'], 0)} |")
    if grid:
        n = grid[0]["n_hidden"]
        lines += ["", f"A grid of {grid[0]['replicas']} networks at N = {n} (seeds x "
                  "learning rates) in one simulation, in network-steps per second; "
                  "'x numpy' and 'x C loop' are against the same networks trained one "
                  "after another in the numpy reference or the C loop.", "",
                  "| engine | first build (s) | build (s) | network-steps/s | x numpy one by "
                  "one | x C loop one by one | peak MB |", "|---|---|---|---|---|---|---|"]
        for r in grid:
            lines.append(f"| {_label(r)} | {_num(r['first_build_s'])} | {_num(r['build_s'])} "
                         f"| {_num(r['steps_per_s'], 0)} | {_num(r['x_numpy'])} | "
                         f"{_num(r['x_c_loop'])} | {_num(r['peak_rss_mb'], 0)} |")
    structure = next((r for r in rows if r["engine"] == "structure"), None)
    if structure:
        lines += ["", f"The network at N = {structure['n_hidden']} runs "
                  f"{len(structure['step_code_objects'])} code objects per step and "
                  f"{len(structure['trial_code_objects'])} per trial; its cold cpp_standalone "
                  f"compile (empty project folder) took {structure['cold_compile_s']:.1f} s."]
    demo = next((r for r in rows if r["engine"] == "demo"), None)
    if demo:
        lines += ["", f"`make demo` (warm cache) reaches its first trained trial "
                  f"{demo['first_trial_s']:.2f} s after the command starts."]
    return "\n".join(lines)


def _find(rows, engine, n, replicas=1, threads=1):
    return next((r for r in rows if r["engine"] == engine and r["n_hidden"] == n
                 and r.get("replicas") == replicas and r.get("threads", 1) == threads), None)


def targets_section(rows: list[dict]) -> str:
    """The issue's targets against this run."""
    lines = ["| target | measured | met? |", "|---|---|---|"]
    for n in (30, 100, 300, 1000):
        r = _find(rows, "cpp_standalone", n)
        if r and r["x_c_loop"] is not None:
            lines.append(f"| cpp_standalone >= 50% of the C loop at N = {n} | "
                         f"{r['x_c_loop']:.0%} ({r['binary_x_c_loop']:.0%} in the binary) | "
                         f"{'yes' if r['x_c_loop'] >= 0.5 else 'no'} |")
    r = _find(rows, "cpp_standalone", 30)
    if r:  # make demo trains N = 30 on cpp_standalone, in blocks of 100 (here 50)
        lines.append(f"| make demo's training (N = 30, cpp_standalone) >= 10x numpy | "
                     f"{r['x_numpy']:.1f}x | {'yes' if r['x_numpy'] >= 10 else 'no'} |")
    for n in (30, 100):
        r = _find(rows, "cython", n)
        if r:
            lines.append(f"| cython >= 2x numpy at N = {n} | {r['x_numpy']:.2f}x | "
                         f"{'yes' if r['x_numpy'] >= 2 else 'no'} |")
    grid = [r for r in rows if r.get("replicas", 1) > 1]
    brian = next((r for r in grid if r["engine"] == "cpp_standalone"), None)
    stacked = next((r for r in grid if r["engine"] == "stacked-numpy"), None)
    if brian:
        lines.append(f"| {brian['replicas']}-replica grid >= 25x numpy one by one | "
                     f"{brian['x_numpy']:.1f}x | {'yes' if brian['x_numpy'] >= 25 else 'no'} |")
    if brian and stacked:
        ratio = brian["steps_per_s"] / stacked["steps_per_s"]
        lines.append(f"| {brian['replicas']}-replica grid >= 2x the stacked numpy engine | "
                     f"{ratio:.1f}x | {'yes' if ratio >= 2 else 'no'} |")
    return "\n".join(lines)


def dask_section(runs: list[dict]) -> str:
    """The same grid on 1 and 2 Dask workers, per target."""
    lines = ["| target | grid | 1 worker (network-steps/s) | 2 workers (network-steps/s) "
             "| 2 / 1 | results identical |", "|---|---|---|---|---|---|"]
    for r in runs:
        one, two = r["rows"]["1"], r["rows"]["2"]
        lines.append(f"| {r['target']} | {r['etas']} rates x {r['seeds']} seeds x "
                     f"{r['trials']} trials, N = {r['n_hidden']}, T = {r['period']} | "
                     f"{_num(one['network_steps_per_s'], 0)} ({one['seconds']:.1f} s) | "
                     f"{_num(two['network_steps_per_s'], 0)} ({two['seconds']:.1f} s) | "
                     f"{r['ratio']:.2f}x | {'yes' if r['identical'] else 'no'} |")
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_section(text: str, name: str) -> str:
    """The text between a section's markers."""
    start, end = _markers(name)
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


def write_section(text: str, name: str, body: str) -> str:
    """``text`` with a section's body replaced."""
    start, end = _markers(name)
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def main() -> int:
    rows = json.loads(RESULTS.read_text())
    text = PAGE.read_text()
    text = write_section(text, "bench", bench_section(rows))
    text = write_section(text, "targets", targets_section(rows))
    text = write_section(text, "dask", dask_section(json.loads(DASK.read_text())))
    PAGE.write_text(text)
    print(f"wrote the tables of {PAGE.relative_to(ROOT)} from {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
