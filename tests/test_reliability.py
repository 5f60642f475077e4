"""Runs that survive being killed, give the same numbers again, and refuse hostile input."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brianrflo import Settings, train
from brianrflo.checkpoint import FILE
from brianrflo.cli import main
from brianrflo.tasks import Periodic
from brianrflo.weights import Weights

pytestmark = pytest.mark.engines


def run_args(trials: int, target: str = "reference", block: int = 10) -> list[str]:
    return ["train", "periodic", "--n-hidden", "12", "--period", "40", "--trials", str(trials),
            "--block-trials", str(block), "--target", target, "--eta", "0.02", "--quiet"]


RUN = run_args(1500)


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "brianrflo.cli", *args], capture_output=True,
                          text=True, **kwargs)


def _stamp(path: Path) -> tuple[int, int] | None:
    """Which version of ``path`` is there (it is replaced by rename), or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


#: Kills per run: each costs a restart of several seconds, and more find nothing new.
KILLS = 4


# Brian2 pays ~0.1 s per run(), so its blocks are larger.
@pytest.mark.parametrize(("target", "block"), [("reference", 10), ("cython", 50)])
def test_killed_runs_resume_to_the_same_weights(tmp_path, target, block):
    """SIGKILL at random moments, up to KILLS times; resume reaches the uninterrupted weights."""
    # numpy runs fast once started: long enough to be killed at least twice.
    run = run_args(2000 if target == "reference" else 1500, target, block)
    whole = tmp_path / "whole"
    assert cli(*run, "--out", str(whole)).returncode == 0
    out = tmp_path / "killed"
    rng = random.Random(1)
    kills = 0
    proc = subprocess.Popen([sys.executable, "-m", "brianrflo.cli", *run, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / FILE
    while True:
        # Each process is let write one block before the kill clock starts: a kill
        # during start-up (seconds on a loaded machine, a compile on a cold one)
        # tests nothing new and, repeated, would never let the run finish.
        mark = _stamp(checkpoint)
        while proc.poll() is None and _stamp(checkpoint) == mark:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.1, 1.0))
        if proc.poll() is not None or kills == KILLS:
            proc.wait()
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = subprocess.Popen([sys.executable, "-m", "brianrflo.cli", "train", "--resume",
                                 str(out), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr.read()
    assert kills >= 2, "the run finished before it could be killed twice; make it longer"
    done = Weights.load(out / "weights.npz")
    assert done.allclose(Weights.load(whole / "weights.npz"), atol=0.0)
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((whole / "metrics.json").read_text())
    assert a["losses"] == b["losses"] and a["final_loss"] == b["final_loss"]


def test_resume_of_a_brian2_run_matches_uninterrupted(tmp_path):
    """Stopping after some blocks and resuming with more trials is exact on cython too."""
    common = Settings(target="cython", eta=(0.03,) * 3, block_trials=10, seed=5)
    whole = train(Periodic(30), Settings(**{**common.__dict__, "trials": 40}), n_hidden=10,
                  progress=False)
    train(Periodic(30), Settings(**{**common.__dict__, "trials": 20}), n_hidden=10,
          out=tmp_path, progress=False)
    resumed = train(Periodic(30), Settings(**{**common.__dict__, "trials": 40}), n_hidden=10,
                    out=tmp_path, resume=True, progress=False)
    assert resumed.weights.allclose(whole.weights, atol=0.0)
    assert np.array_equal(resumed.losses, whole.losses)


@pytest.mark.parametrize("target", ["cython", "reference"])
def test_same_seed_is_bit_identical(target):
    def once():
        return train(Periodic(30), Settings(target=target, eta=(0.03,) * 3, trials=20,
                                            block_trials=10, seed=3), n_hidden=10,
                     progress=False)

    a, b = once(), once()
    assert a.weights.allclose(b.weights, atol=0.0)
    assert np.array_equal(a.losses, b.losses) and a.final_loss == b.final_loss


def test_config_file_reruns_the_same_run(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main([*run_args(300), "--seed", "2", "--out", str(first)]) == 0
    assert main(["train", "--config", str(first / "config.json"), "--out", str(second)]) == 0
    assert Weights.load(first / "weights.npz").allclose(Weights.load(second / "weights.npz"),
                                                        atol=0.0)


def test_lower_lr_retries_a_diverging_block(tmp_path):
    base = dict(target="reference", update="online", eta=(3.0,) * 3, trials=40,
                block_trials=10, explode=1.0)
    stopped = train(Periodic(20), Settings(**base), n_hidden=8, progress=False)
    assert stopped.diverged
    retried = train(Periodic(20), Settings(**base, on_diverge="lower-lr"), n_hidden=8,
                    progress=False)
    assert retried.diverged is None and len(retried.losses) == 40
    assert max(retried.settings["eta_final"]) < 3.0


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_checkpoint_is_a_clear_error_and_changes_nothing(tmp_path, capsys, damage):
    out = tmp_path / "run"
    assert main([*run_args(20), "--out", str(out)]) == 0
    ck = out / FILE
    data = ck.read_bytes()
    ck.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00junk" * 50,
                    "empty": b""}[damage])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--trials", "40", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brianrflo: error:") and "checkpoint" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# --------------------------------------------------------------------- hostile input
good = st.integers(1, 12).map(str)
bad = st.one_of(
    st.integers(-5, 0).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["abc", "", "1e999", "-0", "0x10", "3.5", "online", "nan"]),
)
numbers = st.one_of(good, good, good, bad)  # mostly valid, so runs happen too
sizes = st.one_of(numbers, st.sampled_from(["100000", "1000000000"]))  # past any memory


def files(folder) -> dict:
    """Every file under ``folder`` and its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    options=st.dictionaries(
        st.sampled_from(["--trials", "--eta", "--eta2", "--tau", "--block-trials", "--update",
                         "--seed", "--explode"]),
        numbers, max_size=4),
    size_options=st.dictionaries(st.sampled_from(["--n-hidden", "--period"]), sizes,
                                 max_size=2),
    weights_file=st.sampled_from([None, None, None, None, "wrong-shape", "nan", "garbage"]),
    config=st.one_of(st.none(), st.none(), st.dictionaries(
        st.sampled_from(["n_hidden", "period", "eta", "rule", "trials", "bogus"]),
        st.one_of(st.integers(-3, 5), st.text(max_size=5), st.none(), st.booleans(),
                  st.floats()), max_size=3)),
    overwrite=st.booleans(),
    out_kind=st.sampled_from(["run", "run", "run", "file", "under-file", "read-only"]),
)
def test_hostile_input_gives_a_clear_error_or_a_run(tmp_path, capsys, options, size_options,
                                                    weights_file, config, overwrite, out_kind):
    """Any refused or failed command leaves every file as it was, and no new one."""
    import shutil

    for old in tmp_path.iterdir():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    sentinel = tmp_path / "existing"
    sentinel.mkdir()
    for name in ("config.json", "metrics.json", "weights.npz", "checkpoint.npz",
                 "training.png"):
        (sentinel / name).write_bytes(b"precious " + name.encode())
    (tmp_path / "a-file").write_text("the user's file")
    args = ["train", "periodic", "--target", "reference", "--quiet", "--n-hidden", "4",
            "--period", "10", "--trials", "10", "--block-trials", "5"]
    for key, value in {**options, **size_options}.items():
        args += [key, str(value)]
    if weights_file is not None:
        path = tmp_path / "w.npz"
        if weights_file == "wrong-shape":
            Weights.init(3, 0, 1, seed=0).save(path)
        elif weights_file == "nan":
            np.savez(path, **{n: np.full((4, 4), np.nan) for n in Weights.NAMES})
        else:
            path.write_bytes(b"\x00garbage" * 20)
        args += ["--weights", str(path)]
    if config is not None:
        (tmp_path / "c.json").write_text(json.dumps(config))
        args += ["--config", str(tmp_path / "c.json")]
    if overwrite:
        args.append("--overwrite")
    outs = {"run": [sentinel, tmp_path / "fresh"], "file": [tmp_path / "a-file"],
            "under-file": [tmp_path / "a-file" / "run"],
            "read-only": [Path("/proc/brianrflo-run")]}[out_kind]
    for out in outs:
        before = files(tmp_path)
        capsys.readouterr()
        try:
            code = main([*args, "--out", str(out)])
        except SystemExit as exit_:  # argparse refusing a malformed option
            code = exit_.code
        err = capsys.readouterr().err
        event(f"exit {code}")
        assert code in (0, 2, 3), err
        if code == 2:
            assert err.startswith("brianrflo: error:") or "usage:" in err
            assert err.strip().count("\n") == 0 or "usage:" in err
        if code == 2:  # refused: a run that diverges (3) has written its last good weights
            assert files(tmp_path) == before, err
