"""The paper's qualitative claims, checked on the figures' quick mode.

Each figure runs once (module fixture) into a temporary folder; fig2a-c share
their grid through the folder's cache. Claims our runs do not reproduce at the
quick scale are listed in docs/results.md, not asserted here.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from brianrflo.figures import available, run_figure

QUICK = ("fig2a", "fig2b", "fig2c", "fig2d", "fig2-dale", "fig2-readout", "fig2-size", "fig3")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    records = {name: run_figure(name, out, quick=True, progress=False) for name in QUICK}
    return out, records


@pytest.mark.claims
@pytest.mark.slow
def test_every_figure_writes_png_and_json(figures):
    out, records = figures
    assert set(QUICK) <= set(available())
    for name in QUICK:
        assert (out / f"{name}.png").stat().st_size > 10_000, name
        saved = json.loads((out / f"{name}.json").read_text())
        assert saved["figure"] == name and saved["quick"] is True
        assert saved["command"] == f"brianrflo figure {name} --quick"


@pytest.mark.claims
@pytest.mark.slow
def test_rflo_close_to_bptt_at_20_tau_and_both_far_below_untrained(figures):
    short = figures[1]["fig2b"]["periods"][0]
    assert short["period"] == 200
    rflo, bptt = short["rflo"]["final"]["median"], short["bptt"]["final"]["median"]
    untrained = short["untrained"]["median"]
    assert rflo < 2 * bptt
    assert max(rflo, bptt) < 0.3 * untrained


@pytest.mark.claims
@pytest.mark.slow
def test_alignment_rises_during_rflo_training(figures):
    c = figures[1]["fig2c"]
    assert c["end"]["median"] > c["start"]["median"] + 0.15
    assert c["end"]["p25"] > c["start"]["p75"]


@pytest.mark.claims
@pytest.mark.slow
def test_dale_rflo_learns_and_no_weight_changes_sign(figures):
    d = figures[1]["fig2-dale"]
    assert d["sign_flips"] == 0
    assert d["final"]["dale"]["median"] < 0.6 * d["untrained"]["median"]
    assert d["zero_weights"]["median"] > 0  # the clipping acted


@pytest.mark.claims
@pytest.mark.slow
def test_readout_only_learns_and_recurrent_only_ends_above_it(figures):
    """Paper Fig. 2 supp.: learning the readout alone works, the recurrent weights alone
    do not. At the quick scale only their order is a claim, and it needs no margin.

    Measured at these settings (T = 200, 200 trials, eta 0.03, cython) over seeds 0-29
    (``brianrflo figure fig2-readout --quick --seeds 30``): median final loss RFLO 0.066,
    readout-only 0.092 (each network 0.04-0.89 of its untrained loss), recurrent-only 0.327
    against an untrained 0.334 (each network 0.22-3.45 of it). Medians of three networks
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
    assert finals[-1] < finals[0] / 3
    assert np.corrcoef(np.log([s["n_hidden"] for s in sizes]), np.log(finals))[0, 1] < -0.8


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
    for run in figures[1]["fig3"]["runs"]:
        assert run["final"] < 0.8 * run["untrained"], run["rule"]
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
            "cython")
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
