"""README.md's demo section is what `make demo` computes (tools/readme_demo.py writes it).

The demo runs once per module (about 20 s with Brian2's code compiled). Rounding
differs between CPUs and compilers (Brian2 compiles with -march=native; numpy's tanh
and exp take the widest SIMD the CPU has: the numpy BPTT baseline gave 0.0008299 and
0.0008189 on two machines both called "AMD EPYC, znver3") and training amplifies it, so
the section names the machine it was computed on. There every number and the picture
are compared exactly; on another machine only what no training amplifies is (the
untrained loss, one trial scored by compiled code and printed to 4 digits; the starting
alignment, from numpy's weights), and the rest is skipped with the command that
rewrites the README from this machine (``python tools/readme_demo.py``).
"""

import importlib.util
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

pytestmark = [pytest.mark.claims, pytest.mark.slow,
              pytest.mark.xdist_group("readme")]  # one worker runs the demo

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_demo", ROOT / "tools" / "readme_demo.py")
readme_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_demo)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The demo and its baseline, run now as `make demo` runs them."""
    folder = tmp_path_factory.mktemp("readme_demo")
    return folder, readme_demo.run_demo(folder, quiet=True)


def _readme_section(name: str) -> str:
    return readme_demo.read_section(readme_demo.README.read_text(), name)


def _skip_unless_computed_here() -> None:
    """Skip the rest of a test when the README's numbers come from another machine."""
    there, here = readme_demo.computed_on(_readme_section("demo")), readme_demo.machine()
    if there != here:
        pytest.skip(f"README's compiled demo numbers were computed on {there}, this is "
                    f"{here}: python tools/readme_demo.py rewrites them from here")


def test_readme_names_the_machine_it_was_computed_on():
    assert readme_demo.computed_on(_readme_section("demo")), "python tools/readme_demo.py"


def test_readme_numbers_are_what_the_demo_computes(fresh):
    _, runs = fresh
    in_readme = readme_demo.table(_readme_section("demo"))
    computed = readme_demo.table(readme_demo.demo_section(runs))
    stale = "README's demo numbers are stale: python tools/readme_demo.py"
    assert in_readme.keys() == computed.keys(), stale
    for rule, numbers in computed.items():
        # untrained loss, and the alignment start: before any training step
        assert in_readme[rule][1] == numbers[1], stale
        assert in_readme[rule][3].split(" → ")[0] == numbers[3].split(" → ")[0], stale
    _skip_unless_computed_here()
    assert in_readme == computed, stale


def test_readme_row_is_what_make_demo_prints(fresh):
    _skip_unless_computed_here()
    _, runs = fresh
    final, untrained, ratio, align = re.match(
        r"final loss (\S+) .*?, untrained (\S+) \(ratio (\S+)\), alignment (\S+),",
        runs["demo"]["printed"]).groups()
    row = readme_demo.table(_readme_section("demo"))[readme_demo.label(runs["demo"])]
    assert row[:3] == [final, untrained, ratio]
    assert row[3].endswith(f"→ {align}")


def test_readme_command_is_the_makefiles():
    assert _readme_section("demo-command") == readme_demo.command_section()


def test_readme_picture_is_what_make_demo_draws(fresh):
    assert f"]({readme_demo.PICTURE.relative_to(ROOT).as_posix()})" in _readme_section("demo")
    _skip_unless_computed_here()
    folder, _ = fresh
    drawn = matplotlib.image.imread(folder / "demo" / "training.png")
    shown = matplotlib.image.imread(readme_demo.PICTURE)
    same = shown.shape == drawn.shape and np.array_equal(shown, drawn)
    assert same, "docs/demo_training.png is not the demo's training.png: tools/readme_demo.py"


def test_readme_claims_about_the_demo_hold(fresh):
    # "RFLO gets well below the untrained network but not as low as BPTT, and W_out
    # aligns with B^T during RFLO training."
    _, runs = fresh
    rflo, bptt = runs["demo"], runs["baseline"]
    assert (rflo["settings"]["rule"], bptt["settings"]["rule"]) == ("rflo", "bptt")
    assert bptt["final_loss"] < rflo["final_loss"] < rflo["untrained_loss"]
    assert rflo["alignment"][-1][1] > rflo["alignment"][0][1]
