"""Write README.md's demo section and docs/demo_training.png from a fresh demo run.

    python tools/readme_demo.py [--out DIR]

Runs the demo exactly as ``make demo`` does (its arguments are the Makefile's
``DEMO_ARGS``, the one place they are written) and the BPTT baseline (the same with
``--rule bptt``), then rewrites the README between ``<!-- demo-command:start -->`` /
``<!-- demo-command:end -->`` and ``<!-- demo:start -->`` / ``<!-- demo:end -->``, and
copies the demo's ``training.png`` to ``docs/demo_training.png``. Every number there is
what ``make demo`` prints, except the wall time, which is measured on the machine that
ran this tool. ``tests/test_readme.py`` fails when the README no longer matches.

The trained numbers depend on the machine: Brian2 compiles with ``-march=native``, so
another CPU or compiler rounds differently (vectorised ``tanh``, fused multiply-adds)
and training amplifies it. The section therefore names the machine it was computed on
(:func:`machine`); on another one the tests check only what no training amplifies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from brianrflo.train import NUMPY_RULES

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
README = ROOT / "README.md"
PICTURE = ROOT / "docs" / "demo_training.png"
#: The baseline row: the demo's command with this appended (argparse: the last wins).
BASELINE = ["--rule", "bptt"]
#: Line width of the README's prose.
WIDTH = 88
#: Columns of the table; the wall time is left out of comparisons.
COLUMNS = ("rule", "final loss", "untrained loss", "final / untrained",
           "alignment start → end", "wall time*")


def machine() -> str:
    """What the demo's numbers depend on: CPU, numpy's SIMD, compiler, ``-march``, C library.

    ``'AMD EPYC (family 25 model 1), numpy AVX2, g++ 12.2.0 -march=znver3, glibc 2.36'``:
    the CPU's model name and generation (two EPYC generations share the name, and gcc
    12 calls both znver3), the widest SIMD numpy dispatches its ``tanh`` and ``exp`` to
    (so even the numpy baseline rounds by it), the compiler Brian2 uses and what its
    ``-march=native`` resolves to, and the C library whose vector maths the code calls.
    """
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = re.search(r"^model name\s*:\s*(.*)$", info, re.MULTILINE).group(1).strip()
        family = re.search(r"^cpu family\s*:\s*(\d+)", info, re.MULTILINE)
        model = re.search(r"^model\s*:\s*(\d+)", info, re.MULTILINE)
        if family and model:
            cpu += f" (family {family.group(1)} model {model.group(1)})"
    except (OSError, AttributeError):
        pass
    compiler = os.environ.get("CXX", "g++")
    try:
        version = subprocess.run([compiler, "-dumpfullversion"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        verbose = subprocess.run([compiler, *get_compiler_and_args()[1], "-E", "-v", "-"],
                                 input="", capture_output=True, text=True).stderr
        cc1 = " ".join(line for line in verbose.splitlines() if "cc1" in line)
        march = re.findall(r"-march=\S+", cc1)
    except (OSError, subprocess.CalledProcessError):
        version, march = "not found", []
    libc = " ".join(platform.libc_ver())
    return ", ".join(x for x in (cpu.strip(), _numpy_simd(),
                                 f"{compiler} {version} {' '.join(march[-1:])}".strip(), libc)
                     if x)


def _numpy_simd() -> str:
    """``'numpy AVX2'``: the widest SIMD numpy's loops dispatch to on this CPU."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:
        return ""
    widest = next((name for name in ("AVX512_SKX", "AVX512F", "AVX2", "AVX", "SSE42")
                   if found.get(name)), "")
    return f"numpy {widest}" if widest else ""


def make_variable(name: str, makefile: Path = MAKEFILE) -> str:
    """The value of the Makefile variable ``name`` (one line, ``:=``, ``?=`` or ``=``)."""
    match = re.search(rf"^{name}\s*[:?]?=\s*(.*?)\s*$", makefile.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{makefile} defines no {name}")
    return match.group(1)


def demo_args(makefile: Path = MAKEFILE) -> list[str]:
    """The demo's ``brianrflo`` arguments, without ``--out``."""
    return shlex.split(make_variable("DEMO_ARGS", makefile))


def run(args: list[str], out: Path, quiet: bool = False) -> dict:
    """Run ``brianrflo ARGS --out OUT --overwrite`` in a fresh process.

    Returns its metrics.json, plus under ``'printed'`` the summary line it printed
    (``final loss ..., untrained ... (ratio ...), alignment ..., ... s``).
    """
    command = [sys.executable, "-m", "brianrflo.cli", *args, "--out", str(out), "--overwrite"]
    # A fresh process, as for `make demo`: no Brian2 state left over from the caller.
    done = subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          stderr=subprocess.DEVNULL if quiet else None)
    if not quiet:
        print(done.stdout, end="")
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["printed"] = done.stdout.splitlines()[0]
    return metrics


def run_demo(folder: Path, quiet: bool = False) -> dict[str, dict]:
    """Run the demo into ``folder/demo`` and the baseline into ``folder/baseline``."""
    args = demo_args()
    return {"demo": run(args, folder / "demo", quiet),
            "baseline": run(args + BASELINE, folder / "baseline", quiet)}


def label(metrics: dict) -> str:
    """``'RFLO (Brian2, cython)'``, ``'BPTT (numpy)'``: the rule and the engine it ran on."""
    settings = metrics["settings"]
    rule, target = settings["rule"], settings["target"]
    engine = "numpy" if rule in NUMPY_RULES or target == "reference" else f"Brian2, {target}"
    return f"{rule.upper()} ({engine})"


def row(metrics: dict) -> list[str]:
    """One table row, each number at the precision ``brianrflo train`` prints it."""
    final, untrained = metrics["final_loss"], metrics["untrained_loss"]
    start, end = metrics["alignment"][0][1], metrics["alignment"][-1][1]
    return [label(metrics), f"{final:.4g}", f"{untrained:.4g}",
            f"{final / max(untrained, 1e-300):.3f}", f"{start:+.3f} → {end:+.3f}",
            f"{metrics['wall_time_s']:.1f} s"]


def command_section() -> str:
    """The README's demo command, from the Makefile."""
    out = make_variable("DEMO_OUT")
    return f"```\nbrianrflo {make_variable('DEMO_ARGS')} --out {out}\n```"


def demo_section(runs: dict[str, dict]) -> str:
    """The README's results table (demo and baseline) and picture."""
    lines = [
        textwrap.fill(
            "Written by `python tools/readme_demo.py`, which runs this command and the BPTT "
            f"baseline (the same with `{' '.join(BASELINE)}`); the numbers are what "
            "`brianrflo train` prints at the end:", WIDTH),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row(m)) + " |" for m in runs.values()]
    lines += [
        "",
        textwrap.fill(
            f"\\*Wall time measured on the machine that ran the tool ({os.cpu_count()} "
            "cores), with compiled code cached: the first-ever run also compiles the "
            "cpp_standalone project (about 10 s, kept in the temporary folder's "
            "`brianrflo_standalone`) and the cython code that scores the untrained and "
            "trained network (`~/.cython/brian_extensions`).", WIDTH),
        "",
        f"Computed on: {machine()}.",
        "",
        f"![training]({PICTURE.relative_to(ROOT).as_posix()})",
    ]
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_section(text: str, name: str) -> str:
    """What stands between the ``name`` markers of ``text``."""
    start, end = _markers(name)
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"README must hold {start} and {end} once each")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


def write_section(text: str, name: str, body: str) -> str:
    """``text`` with the ``name`` section replaced by ``body``."""
    read_section(text, name)  # the markers are there, once each
    start, end = _markers(name)
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    return f"{head}{start}\n{body}\n{end}{tail}"


def computed_on(section: str) -> str | None:
    """The machine a demo section names (its ``Computed on:`` line), or None."""
    match = re.search(r"^Computed on: (.*)\.$", section, re.MULTILINE)
    return match.group(1) if match else None


def table(section: str) -> dict[str, list[str]]:
    """Rule label -> the row's numbers, without the (machine-dependent) wall time."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(COLUMNS) and cells[0] not in (COLUMNS[0], "---"):
            rows[cells[0]] = cells[1:-1]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temp folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        runs = run_demo(folder)
        text = README.read_text()
        text = write_section(text, "demo-command", command_section())
        text = write_section(text, "demo", demo_section(runs))
        # Both files change together or neither does.
        shutil.copyfile(folder / "demo" / "training.png", f"{PICTURE}.tmp")
        Path(f"{README}.tmp").write_text(text)
        os.replace(f"{PICTURE}.tmp", PICTURE)
        os.replace(f"{README}.tmp", README)
    print(f"wrote {README.relative_to(ROOT)} and {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
