"""target='auto': which Brian2 target a run uses, said and recorded."""

import functools
import json

import pytest

from brianrflo import Settings, train
from brianrflo import targets as tg
from brianrflo.cli import main
from brianrflo.tasks import Periodic

pytestmark = pytest.mark.engines


def test_small_runs_compile_nothing_and_large_ones_compile_once():
    small, why = tg.choose_target(8, 1000)
    assert small == "numpy" and "small run" in why
    large, why = tg.choose_target(100, 2000 * 200)
    assert large == "cpp_standalone"
    assert tg.choose_target(8, 1000, threads=2)[0] == "cpp_standalone"
    # The cost grows with the synapses, the replicas and the runs: steps that stay
    # small for one network of 8 units exceed a compile at N = 1000, for 1000
    # replicas, or in 1000 runs.
    steps = int(tg.COMPILE_S / tg.numpy_seconds(8, 1, runs=0) * 0.5)
    assert tg.choose_target(8, steps)[0] == "numpy"
    assert tg.choose_target(1000, steps)[0] == "cpp_standalone"
    assert tg.choose_target(8, steps, replicas=10**5)[0] == "cpp_standalone"
    assert tg.choose_target(8, steps, runs=1000)[0] == "cpp_standalone"


def test_runtime_networks_compile_only_runs_longer_than_a_cython_compile():
    """The loop and node perturbation: numpy below a cold cython compile, cython above."""
    loop_step = functools.partial(tg.numpy_step_seconds, "loop")
    np_step = functools.partial(tg.numpy_step_seconds, "perturbation")

    for step in (loop_step(20), loop_step(100), np_step(12), np_step(100)):
        below = int(tg.CYTHON_COMPILE_S / step * 0.9)
        target, why = tg.runtime_target(below, step)
        assert target == "numpy" and "small run" in why
        assert tg.runtime_target(int(below / 0.9 * 1.1), step)[0] == "cython"
    # The fig4 test sizes (20 loop trials of 1600 steps, N = 20) compile nothing; the
    # quick figure's 800 trials at N = 100 compile.
    assert tg.runtime_target(20 * 1600, loop_step(20))[0] == "numpy"
    assert tg.runtime_target(800 * 1600, loop_step(100))[0] == "cython"


def test_without_a_compiler_the_numpy_target_runs(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CXX", raising=False)
    assert not tg.compiler_available()
    target, why = tg.choose_target(100, 10**9)
    assert target == "numpy" and "compiler" in why
    assert tg.runtime_target(10**9, 1.0) == ("numpy", why)


def test_auto_is_the_default_and_the_run_records_the_target_it_used(tmp_path, capsys):
    assert Settings().target == "auto"
    out = tmp_path / "run"
    assert main(["train", "periodic", "--n-hidden", "8", "--period", "20", "--trials", "20",
                 "--block-trials", "10", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "target numpy (a small run" in err
    saved = json.loads((out / "metrics.json").read_text())["settings"]
    assert saved["target"] == "numpy"


def test_a_resumed_run_keeps_its_target(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    task = Periodic(20)
    first = train(task, Settings(trials=20, block_trials=10), n_hidden=8, out=str(out),
                  progress=False)
    assert first.settings["target"] == "numpy"
    # Were the extended run started afresh now, it would compile...
    monkeypatch.setattr(tg, "COMPILE_S", 0.0)
    assert tg.choose_target(8, 40 * 20, runs=4)[0] == "cpp_standalone"
    # ...resumed, it goes on with the code it began with.
    resumed = train(task, Settings(trials=40, block_trials=10), n_hidden=8, out=str(out),
                    resume=True)
    assert resumed.settings["target"] == "numpy"
    assert "target numpy (the target of the run being resumed" in capsys.readouterr().err
