"""The paper's qualitative claims, checked on the figures' quick mode.

Each figure runs once (module fixture) into a temporary folder; fig2a-c share
their grid through the folder's cache. Claims our runs do not reproduce at the
quick scale are listed in docs/results.md, not asserted here.

Quick mode draws three networks a setting (two for fig3), so a median moves a lot
with the rounding of one machine or another: a claim is asserted only with a margin
that medians of three networks drawn from many measured ones (10^6 draws) keep in
every draw, or with none. Each test gives the measurement (quick settings, more
seeds: ``brianrflo figure NAME --quick --seeds 15``) and what the earlier margins
failed in; those claims are judged by the full runs (docs/results.md).
"""

import io
import json
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from brianrflo.figures import available, run_figure

#: The module's tests share one computation of the figures: they run on one worker.
pytestmark = pytest.mark.xdist_group("figures")

QUICK = ("fig2a", "fig2b", "fig2c", "fig2d", "fig2-dale", "fig2-readout", "fig2-size", "fig3")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    records = {name: run_figure(name, out, quick=True, progress=False) for name in QUICK}
    return out, records


def empty_png_bytes(path) -> int:
    """Bytes of a PNG the size of the one at ``path`` holding one empty axes.

    An empty axes of the widest figure (10.5 x 4.2 in at 120 dpi) saves to 11 kB, the
    least drawn quick figure (fig2-size) to 47 kB, 4.7 times its empty axes.
    """
    height, width = matplotlib.image.imread(path).shape[:2]
    fig = Figure(figsize=(width / 120, height / 120))
    fig.subplots()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return len(buffer.getvalue())


@pytest.mark.claims
@pytest.mark.slow
def test_every_figure_writes_png_and_json(figures):
    out, records = figures
    assert set(QUICK) <= set(available())
    for name in QUICK:
        png = out / f"{name}.png"
        assert png.stat().st_size > 2 * empty_png_bytes(png), name
        saved = json.loads((out / f"{name}.json").read_text())
        assert saved["figure"] == name and saved["quick"] is True
        assert saved["command"] == f"brianrflo figure {name} --quick"


@pytest.mark.claims
@pytest.mark.slow
def test_rflo_and_bptt_both_learn_at_20_tau(figures):
    """Both below untrained, with no margin: "RFLO close to BPTT" is a full-run claim.

    At T = 200, 150 trials, each rule at its better rate of two, over seeds 0-14: RFLO
    0.073, BPTT 0.046, untrained 0.339 (medians). Medians of three networks drawn from
    those: RFLO above 2 x BPTT in 23% of draws, RFLO or BPTT above 0.3 x untrained in 9%
    (the margins this test had), above untrained in none.
    """
    short = figures[1]["fig2b"]["periods"][0]
    assert short["period"] == 200
    untrained = short["untrained"]["median"]
    for rule in ("rflo", "bptt"):
        assert short[rule]["final"]["median"] < untrained, rule


@pytest.mark.claims
@pytest.mark.slow
def test_alignment_rises_during_rflo_training(figures):
    """Paper Fig. 2c. Over seeds 0-14 (T = 200, 150 trials) each network's alignment rose,
    by 0.08-0.57 at eta 0.03 and 0.02-0.37 at eta 0.01. Medians of three drawn from those
    (at the better rate) rose in every draw; by more than 0.15 (this test's old margin)
    in 94%, and the 25th percentile at the end passed the 75th at the start in 96%.
    """
    c = figures[1]["fig2c"]
    assert c["end"]["median"] > c["start"]["median"]


@pytest.mark.claims
@pytest.mark.slow
def test_dale_rflo_learns_and_no_weight_changes_sign(figures):
    d = figures[1]["fig2-dale"]
    assert d["sign_flips"] == 0
    # Over seeds 0-14 (200 trials) each network ended at 0.13-0.98 of its untrained loss
    # (the median at 0.29 of the untrained median); medians of three drawn from those
    # ended below untrained in every draw, below the 0.6 x untrained this test had in 90%.
    assert d["final"]["dale"]["median"] < d["untrained"]["median"]
    assert d["zero_weights"]["median"] > 0  # the clipping acted


@pytest.mark.claims
@pytest.mark.slow
def test_readout_only_learns_and_recurrent_only_ends_above_it(figures):
    """Paper Fig. 2 supp.: learning the readout alone works, the recurrent weights alone
    do not. At the quick scale only their order is a claim, and it needs no margin.

    Measured at these settings (T = 200, 200 trials, eta 0.03, cython) over seeds 0-29
    (``brianrflo figure fig2-readout --quick --seeds 30``): median final loss RFLO 0.066,
    readout-only 0.092 (each network 0.04-0.89 of its untrained loss), recurrent-only 0.327
    against an untrained 0.334 (each network 0.22-3.45 of it); again on target 'auto' (which
    the quick figures now use; cpp_standalone for thirty networks): medians 0.066, 0.092 and
    0.324 against 0.334 (``--seeds 30 --workers 0``, 2026-12-04). Medians of three networks
    drawn from those thirty (10^6 draws): recurrent-only above readout-only, and
    readout-only below its untrained median, in every draw. The margins this test had
    failed in 14% of draws (recurrent-only > 0.6 x untrained: a fresh machine saw 0.199
    against 0.6 x 0.339), 57% (readout-only > 1.3 x RFLO) and 23% (RFLO < 0.3 x
    untrained); even readout-only > RFLO with no margin fails in 36% (20% with fifteen
    networks). So readout-only against RFLO is judged by the full run instead
    (docs/results.md: 0.037 against 0.016, 1000 trials, 9 networks).
    """
    rules = figures[1]["fig2-readout"]["rules"]
    readout, recurrent = rules["readout-only"], rules["recurrent-only"]
    assert readout["final"]["median"] < readout["untrained"]["median"]
    assert recurrent["final"]["median"] > readout["final"]["median"]


@pytest.mark.claims
@pytest.mark.slow
def test_loss_falls_with_network_size(figures):
    sizes = figures[1]["fig2-size"]["sizes"]
    finals = [s["final"]["median"] for s in sizes]
    # Over seeds 0-14 (N = 8, 16, 30, 60; 150 trials) the medians are 0.298, 0.268, 0.073,
    # 0.024. Medians of three drawn from those (10^6 draws): N = 8 over N = 60 at least
    # 2.5; the correlation of log N and log loss at most -0.57. The margins this test had
    # (3 and -0.8) failed in 5% and 16% of draws.
    assert finals[-1] < finals[0] / 2
    assert np.corrcoef(np.log([s["n_hidden"] for s in sizes]), np.log(finals))[0, 1] < -0.5


@pytest.mark.claims
@pytest.mark.slow
def test_fig2d_reports_all_four_rules(figures):
    rules = figures[1]["fig2d"]["rules"]
    assert set(rules) == {"rflo", "local-symmetric", "nonlocal-random", "bptt"}
    for r in rules.values():
        assert r["final"]["median"] < figures[1]["fig2d"]["untrained"]["median"]


@pytest.mark.claims
@pytest.mark.slow
def test_interval_matching_learns(figures):
    """Quick fig3: two networks a rule, T_delay 20-60 steps, 1500 trials, eta 0.03.

    Over seeds 0-9: BPTT ended at 0.13-0.71 of untrained and never diverged; medians of
    two of those networks end at most 0.71 of the untrained median. RFLO diverged in two
    of ten (seeds 4 and 8), so two networks' median is infinite in a third of draws and
    the 0.8 x untrained this test had cannot hold for RFLO; pairs that did not diverge
    end at most 0.92 of untrained, so RFLO is judged, without a margin, when neither did.
    """
    for run in figures[1]["fig3"]["runs"]:
        if run["rule"] == "bptt":
            assert run["diverged"] == 0 and run["final"] < 0.8 * run["untrained"]
        elif run["diverged"] == 0:
            assert run["final"] < run["untrained"], run["rule"]
        assert np.shape(run["produced"]) == (figures[1]["fig3"]["seeds"], 9)
        assert run["outside_window"] == 0, run["rule"]


@pytest.mark.unit
def test_cli_lists_figures_and_names_a_bad_one():
    listed = subprocess.run([sys.executable, "-m", "brianrflo.cli", "figure", "list"],
                            capture_output=True, text=True, check=True).stdout
    assert all(name in listed for name in QUICK)
    bad = subprocess.run([sys.executable, "-m", "brianrflo.cli", "figure", "fig9"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "figure must be one of" in bad.stderr


@pytest.mark.engines
def test_stale_or_truncated_cache_is_recomputed_with_a_message(tmp_path, monkeypatch, capsys):
    """A cache file cut short (a killed run) or written under other package versions is
    recomputed, saying so in one line, instead of failing or being trusted."""
    from brianrflo.batch import Sweep
    from brianrflo.figures import Context, periodic
    from brianrflo.tasks import Periodic

    calls, real = [], periodic.grid
    monkeypatch.setattr(periodic, "grid", lambda *a, **k: calls.append(1) or real(*a, **k))
    args = (Context(out=str(tmp_path), progress=False), Periodic(20), "rflo", (0.01,), 1, 2, 4,
            "numpy")
    first = periodic.cached_sweep(*args)
    (path,) = (tmp_path / "cache").iterdir()

    def recomputed(why: str) -> None:
        again = periodic.cached_sweep(*args)
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and why in err and "recomputing" in err
        np.testing.assert_array_equal(again.losses, first.losses)
        assert list((tmp_path / "cache").iterdir()) == [path]  # no stray temporary file

    periodic.cached_sweep(*args)
    assert len(calls) == 1 and capsys.readouterr().err == ""

    path.write_bytes(path.read_bytes()[:200])
    recomputed("unreadable")
    assert len(calls) == 2

    first.save(str(path))  # as written before versions were recorded
    recomputed("written by an older brianrflo")
    assert len(calls) == 3

    current = periodic.cache_versions()
    monkeypatch.setattr(periodic, "cache_versions", lambda: "brianrflo 0.0.1")
    path.unlink()
    periodic.cached_sweep(*args)
    monkeypatch.setattr(periodic, "cache_versions", lambda: current)
    recomputed("written by brianrflo 0.0.1")
    assert len(calls) == 5
    assert isinstance(periodic.cached_sweep(*args), Sweep) and len(calls) == 5
