"""The figures as a reviewer reads them, drawn from their JSON records alone.

Every figure is drawn from a record: the committed full-run records in docs/ where
they hold what the plot needs, and records computed here at tiny sizes (the real
figure code, shrunk) for all of them. On each drawn figure: no warnings, the
suptitle says quick or full, every panel names the model and the rule, no legend
covers plotted data (legend box against the data's display coordinates, checked
here independently of the placement code), log axes label their ticks one way,
reference lines have legend entries, interval trials show their Ready/Set cues.
The same computation checks which engine trained each grid.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path as FilePath

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.path import Path

from brianrflo import batch
from brianrflo.figures import (
    PLOTS,
    Context,
    available,
    interval,
    periodic,
    replot_figure,
    rules,
    run_figure,
    spiking,
)
from brianrflo.figures import fig4 as fig4_module
from brianrflo.figures.style import RecordError, figure, place_legends
from brianrflo.models import MODELS
from brianrflo.train import LOCAL_RULES, RULES
from helpers import tiny_figures

pytestmark = [pytest.mark.claims, pytest.mark.slow,
              pytest.mark.xdist_group("figure_plots")]  # one worker computes `computed`

DOCS = FilePath(__file__).resolve().parent.parent / "docs"
COMMITTED = {p.stem: p for p in [*(DOCS / "figures").glob("*.json"), DOCS / "fig4.json"]}
#: Committed full-run records that hold everything their plot draws; the others were
#: written before figures recorded their curves, and --replot must refuse them.
REDRAWABLE = {"fig2b", "fig2-size"}
MODEL_WORDS = re.compile(r"\b(" + "|".join(MODELS) + r")\b", re.IGNORECASE)
RULE_WORDS = re.compile("|".join(re.escape(r) for r in (
    *RULES, *(r.upper() for r in RULES), *rules.RULES)), re.IGNORECASE)


# ------------------------------------------------------------------ the checks
def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>"


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _display_paths(ax):
    """Every plotted line, band, point set and image of ``ax`` in display pixels."""
    for line in ax.lines:
        xy = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
        yield xy, False
    for coll in ax.collections:
        if len(coll.get_paths()) == 1 and len(coll.get_offsets()) > 1:
            yield coll.get_offset_transform().transform(coll.get_offsets()), False
            continue
        filled = bool(len(coll.get_facecolor()) and np.any(coll.get_facecolor()[:, 3] > 0))
        for path in coll.get_paths():
            yield coll.get_transform().transform(path.vertices), filled
    for image in ax.images:
        box = image.get_window_extent()
        yield np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1],
                        [box.x0, box.y1], [box.x0, box.y0]]), True


def legend_overlaps(fig: Figure) -> list[str]:
    """Legends whose box meets plotted data, with matplotlib's own path/box test."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for xy, filled in _display_paths(ax):
            # NaN breaks a curve: test each finite run on its own.
            finite = np.all(np.isfinite(xy), axis=1)
            runs = np.split(xy, np.flatnonzero(np.diff(finite.astype(int))) + 1)
            for run in runs:
                run = run[np.all(np.isfinite(run), axis=1)]
                if len(run) == 0:
                    continue
                hit = (box.contains(*run[0]) if len(run) == 1
                       else Path(run).intersects_bbox(box, filled=filled))
                if hit:
                    bad.append(f"{ax.get_title()!r}: legend {_legend_texts(ax)[:2]} on data")
                    break
    return bad


def _kind(label: str) -> str:
    label = label.replace("\N{MINUS SIGN}", "-")
    if re.fullmatch(r"-?\d+(\.\d+)?", label):
        return "plain"
    if "times" in label:
        return "coefficient x power"
    if re.search(r"10\^\{?-?\d+\}?", label):
        return "power"
    return f"other ({label})"


def log_tick_kinds(fig: Figure) -> dict[str, set[str]]:
    """Kinds of tick label (major and minor, in view) of every log axis."""
    fig.canvas.draw()
    kinds = {}
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if axis.get_scale() != "log":
                continue
            lo, hi = sorted(axis.get_view_interval())
            labels = []
            for locs, fmt in ((axis.get_majorticklocs(), axis.get_major_formatter()),
                              (axis.get_minorticklocs(), axis.get_minor_formatter())):
                locs = [v for v in locs if lo <= v <= hi]
                labels += [t for t in fmt.format_ticks(locs) if t]
            kinds[f"{ax.get_title()!r} {name}"] = {_kind(t) for t in labels}
    return kinds


def check_figure(fig: Figure, record: dict) -> None:
    """Everything a reviewer checks on one drawn figure."""
    suptitle = fig.get_suptitle()
    assert ("QUICK" in suptitle) == bool(record["quick"]), suptitle
    assert ("full run" in suptitle) != bool(record["quick"]), suptitle
    for ax in fig.axes:
        if _is_colorbar(ax):
            continue
        title = ax.get_title()
        assert MODEL_WORDS.search(title), f"no model named in {title!r}"
        named = " ".join([title, ax.get_xlabel(), ax.get_ylabel(), *_legend_texts(ax)])
        assert RULE_WORDS.search(named), f"no rule named in {title!r} or its labels"
        for line in ax.lines:  # horizontal reference lines (untrained, chance, ...)
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            if len(y) == 2 and y[0] == y[1] and tuple(x) == (0.0, 1.0):
                assert line.get_label() in _legend_texts(ax), \
                    f"reference line at {y[0]:.3g} in {title!r} has no legend entry"
    assert legend_overlaps(fig) == []
    for axis, kinds in log_tick_kinds(fig).items():
        assert len(kinds) == 1, f"{axis} mixes tick labels: {kinds}"


def _cues(fig: Figure) -> list[tuple[str, float]]:
    """(label, x) of the vertical cue lines with a legend entry, in every axes."""
    out = []
    for ax in fig.axes:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            if len(x) == 2 and x[0] == x[1] and tuple(y) == (0.0, 1.0) \
                    and line.get_label() in _legend_texts(ax):
                out.append((line.get_label(), float(x[0])))
    return out


def draw(name: str, record: dict) -> Figure:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # pyparsing 3.3 deprecates the camelCase API that matplotlib's mathtext (3.9,
        # pinned through neurogym) and Brian2 still call: not our figures' warnings.
        for message in (r"'\w+' deprecated - use '\w+'",
                        r"'\w+' argument is deprecated, use '\w+'"):
            warnings.filterwarnings("ignore", message, DeprecationWarning)
        fig = PLOTS[name](record)
        fig.canvas.draw()
    assert [str(w.message) for w in caught] == []
    return fig


# ---------------------------------------------------------- committed records
@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_full_run_replots_or_says_what_it_lacks(name, tmp_path):
    shutil.copy(COMMITTED[name], tmp_path / f"{name}.json")
    (tmp_path / f"{name}.png").write_bytes(b"old")
    if name in REDRAWABLE:
        record = json.loads(COMMITTED[name].read_text())
        check_figure(draw(name, record), record)
        assert replot_figure(name, tmp_path).endswith(f"{name}.png")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        with pytest.raises(RecordError, match=f"{name}.json has no .*rerun"):
            replot_figure(name, tmp_path)
        assert (tmp_path / f"{name}.png").read_bytes() == b"old"  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json", f"{name}.png"]


def test_replot_cli_one_line_errors_and_changes_nothing(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "brianrflo.cli", "figure", *args],
                              capture_output=True, text=True)

    missing = cli("fig2b", "--replot", "--out", str(tmp_path / "none"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("brianrflo: error: --replot needs ")
    assert "fig2b.json" in missing.stderr and not (tmp_path / "none").exists()
    shutil.copy(COMMITTED["fig2a"], tmp_path / "fig2a.json")
    lacking = cli("fig2a", "--replot", "--out", str(tmp_path))
    assert lacking.returncode == 2 and lacking.stderr.count("\n") == 1
    assert "fig2a.json has no rules.rflo.curve" in lacking.stderr
    shutil.copy(COMMITTED["fig2b"], tmp_path / "fig2b.json")
    wrong = cli("fig2-size", "--replot", "--out", str(tmp_path))
    assert wrong.returncode == 2 and "fig2-size.json, which does not exist" in wrong.stderr
    ok = cli("fig2b", "--replot", "--out", str(tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig2a.json", "fig2b.json",
                                                         "fig2b.png"]


# ----------------------------------------------------- records computed here
def _stacked_rules(monkeypatch) -> list[str]:
    """The rule of every network stack the numpy engine (batch.Replicas) builds from now on."""
    rules, build = [], batch.Replicas.__init__

    def spy(self, weights, rule, *args, **kwargs):
        rules.append(rule)
        build(self, weights, rule, *args, **kwargs)

    monkeypatch.setattr(batch.Replicas, "__init__", spy)
    return rules


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tiny_figures(monkeypatch)
    stacked = _stacked_rules(monkeypatch)
    out = tmp_path_factory.mktemp("tiny")
    try:
        records = {name: run_figure(name, out, quick=True, progress=False)
                   for name in sorted(available())}
    finally:
        monkeypatch.undo()
    return out, records, stacked


def test_rflo_family_grids_run_as_brian2_replicas_not_on_the_numpy_engine(computed):
    """Every figure's RFLO-family grid trains on Brian2 (replica_sweep, where a diverging
    network stops where train() of it alone stops); numpy stacks only numpy-only rules."""
    stacked = computed[2]
    assert "bptt" in stacked  # the spy sees the numpy engine where it is used
    assert not set(stacked) & set(LOCAL_RULES), stacked


@pytest.mark.parametrize("module", [periodic, interval, spiking])
def test_full_runs_train_on_cpp_standalone(module):
    assert module.settings(Context(out=".", quick=False))["target"] == "cpp_standalone"


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_figure_drawn_from_its_record(computed, name):
    out, records, _ = computed
    record = json.loads((out / f"{name}.json").read_text())
    assert record == records[name]
    check_figure(draw(name, record), record)
    png = out / f"{name}.png"
    before = png.stat().st_mtime_ns
    replot_figure(name, out)  # no computing: the tiny sizes are gone, the record is enough
    assert png.stat().st_mtime_ns >= before and png.stat().st_size > 10_000


def test_every_record_says_how_its_weights_were_drawn(computed):
    assert {name: r["init"] for name, r in computed[1].items()} == dict.fromkeys(
        computed[1], "paper")


def test_fig4_judges_each_path_and_shows_the_numbers(computed):
    """The three paths' distance and accuracy are those of the cursor paths the record
    holds, and the trajectory panel's legend shows them."""
    record = computed[1]["fig4"]
    paths = {k: np.asarray(v) for k, v in record["cursor"].items()}
    target = paths.pop("target")
    assert set(record["paths"]) == set(paths) == {"loop", "direct RFLO", "direct BPTT"}
    reach = fig4_module.Reach(n_reaches=4, syllables=2)
    labels = _legend_texts(draw("fig4", record).axes[0])
    # The record keeps the paths to 4 significant digits: each coordinate is off by at
    # most 5e-4 of the largest, so a distance by at most twice sqrt(2) times that.
    slack = 2 * np.sqrt(2) * 5e-4 * max(np.max(np.abs(p)) for p in (target, *paths.values()))
    for name, path in paths.items():
        judged = fig4_module.judge(path, target, reach)
        assert record["paths"][name]["mean_distance"] == pytest.approx(
            judged["mean_distance"], rel=0, abs=slack)
        assert record["paths"][name]["sequence_accuracy"] == judged["sequence_accuracy"]
        shown = f"{record['paths'][name]['mean_distance']:.3g}"
        assert any(t.startswith(name) and shown in t for t in labels), (shown, labels)


def test_interval_trials_show_ready_and_set_cues(computed):
    out, records, _ = computed
    fig = draw("fig3", records["fig3"])
    cues = _cues(fig)
    for run in records["fig3"]["runs"]:
        trace = run["trace"]
        assert ("Ready cue", trace["ready"] / interval.TAU) in cues
        assert ("Set cue", trace["set"] / interval.TAU) in cues
        # The cues sit on the input pulses' peaks.
        t = np.asarray(trace["time_tau"])
        peaks = t[np.flatnonzero(np.diff(np.sign(np.diff(trace["input"]))) < 0) + 1]
        assert np.allclose(sorted(peaks)[:2], [trace["ready"] / interval.TAU,
                                              trace["set"] / interval.TAU], atol=0.11)
    spiking_cues = {label for label, _ in _cues(draw("spiking", records["spiking"]))}
    assert "Ready cue" in spiking_cues and any("Set cue" in c for c in spiking_cues)


def test_spiking_untrained_lines_have_legend_entries(computed):
    fig = draw("spiking", computed[1]["spiking"])
    texts = [t for ax in fig.axes for t in _legend_texts(ax)]
    assert "LIF (spiking), untrained (median)" in texts
    assert "rate (tanh), untrained (median)" in texts


# ------------------------------------------------------ the checks can fail
def test_overlap_check_sees_a_legend_on_data_and_placement_moves_it():
    fig = figure(4, 3)
    ax = fig.subplots()
    x = np.linspace(0, 1, 50)
    for k in range(8):  # data everywhere: no inside spot is free
        ax.plot(x, (x * (k + 1)) % 1, label=f"rflo {k}")
    ax.set_title("rate model")
    ax.legend(loc="center")
    assert legend_overlaps(fig)
    place_legends(fig, [(ax, {})])
    assert legend_overlaps(fig) == []


def test_tick_check_sees_matplotlibs_mixed_log_labels():
    fig = figure(4, 3)
    ax = fig.subplots()
    ax.loglog([20, 160], [1e-3, 1e-1])
    ax.set_xticks([20, 40, 80, 160], ["20", "40", "80", "160"])  # as fig2b did
    kinds = log_tick_kinds(fig)
    assert any(len(k) > 1 for k in kinds.values()), kinds
