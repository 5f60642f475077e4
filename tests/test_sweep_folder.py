"""A sweep never silently replaces another, survives being killed, and refuses bad folders."""

import ctypes
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from brianrflo import sweep_folder
from brianrflo.batch import Replicas, Sweep
from brianrflo.cli import main
from brianrflo.sweep_folder import FILE

pytestmark = pytest.mark.engines

# Interval matching draws each trial's delay from the network's generator, whose
# state a resumed sweep must restore.
# --workers 0: the sweep checkpointed after every block, in this process (no Dask).
TASK = ["interval", "--delay-min", "5", "--delay-max", "10", "--n-hidden", "6",
        "--block-trials", "4", "--explode", "2", "--seeds", "2", "--quiet", "--workers", "0"]
# The numpy engine: an update every 3 trials makes its blocks 3 trials long (train()'s
# block size); at the rate 1 one network diverges in the first 9 trials, the other one
# later.
NUMPY = ["sweep", *TASK, "--update", "3", "--target", "reference", "--etas", "0.05", "1"]
# Brian2 replicas (cython), 2 rates x 2 seeds: at the online rate 0.9 one network
# diverges in the first 4 trials, the other one later.
BRIAN2 = ["sweep", *TASK, "--update", "online", "--target", "cython", "--etas", "0.05", "0.9"]
ARRAYS = ("eta", "seed", "losses", "untrained", "final", "diverged")


def run(*args) -> int:
    """``brianrflo ARGS`` in this process; argparse's own refusals return their code too."""
    try:
        return main([str(a) for a in args])
    except SystemExit as err:
        return err.code


def files(folder) -> dict:
    """Every file in ``folder`` and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert err.startswith("brianrflo: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    return err


def assert_same_sweep(a: Sweep, b: Sweep, alignment: bool = True) -> None:
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for v, w in zip(a.weights, b.weights, strict=True):
        assert v.allclose(w, atol=0.0)
    common = np.intersect1d(a.checkpoints, b.checkpoints)
    assert common.size >= 2
    for m in common:  # an extended sweep measured alignment at its earlier marks too
        i, j = np.flatnonzero(a.checkpoints == m)[0], np.flatnonzero(b.checkpoints == m)[0]
        assert np.array_equal(a.alignment[:, i], b.alignment[:, j])
    if alignment:
        assert np.array_equal(a.checkpoints, b.checkpoints)


@pytest.fixture
def done(tmp_path, capsys):
    """A finished numpy sweep."""
    out = tmp_path / "sweep"
    assert run(*NUMPY, "--trials", "12", "--out", out) == 0
    capsys.readouterr()
    return out


def test_second_sweep_is_refused_unless_overwrite(done, capsys):
    before = files(done)
    assert set(before) >= {"sweep.npz", "sweep.json", FILE}
    assert run(*NUMPY, "--trials", "12", "--etas", "0.01", "--out", done) == 2
    one_line_error(capsys, "--out", "--overwrite", "--resume")
    assert files(done) == before
    assert run(*NUMPY, "--trials", "12", "--etas", "0.01", "--out", done, "--overwrite") == 0
    assert list(Sweep.load(done / "sweep.npz").eta) == [0.01, 0.01]
    assert set(files(done)) == set(before)


@pytest.mark.parametrize(("bad", "word"), [
    (["--n-hidden", "0"], "n_hidden"), (["--etas", "-1"], "etas"), (["--etas", "nan"], "etas"),
    (["--seeds", "0"], "seeds"), (["--update", "5"], "update"), (["--delay-max", "2"], "delay_max"),
    (["--rule", "bptt", "--update", "online"], "online"), (["--init", "text"], "init"),
])
def test_overwrite_with_a_bad_argument_keeps_the_old_sweep(done, capsys, bad, word):
    before = files(done)
    assert run(*NUMPY, "--trials", "12", "--out", done, "--overwrite", *bad) == 2
    one_line_error(capsys, word)
    assert files(done) == before


def test_resume_with_another_init_is_refused(done, capsys):
    before = files(done)
    assert run("sweep", "--resume", done, "--trials", "15", "--init", "notebook") == 2
    one_line_error(capsys, "init 'paper' there, 'notebook' here")
    assert files(done) == before


def test_overwrite_keeps_the_old_sweep_until_the_new_one_checkpoints(done, monkeypatch):
    before = files(done)

    def broken(self, *args):
        raise RuntimeError("killed in the first block")

    monkeypatch.setattr(Replicas, "train_trial", broken)
    with pytest.raises(RuntimeError, match="first block"):
        run(*NUMPY, "--trials", "12", "--etas", "0.01", "--out", done, "--overwrite")
    assert files(done) == before


def diverging_part_way(part: Sweep, whole: Sweep) -> bool:
    """Whether a network diverged before the interruption, and another one after it."""
    return 0 < part.diverged.sum() < whole.diverged.sum() < len(whole.eta)


class Killed(Exception):
    """Stands for a kill right after a checkpoint."""


@pytest.mark.parametrize(("args", "trials", "kill_at"), [(NUMPY, 24, 9), (BRIAN2, 16, 4)],
                         ids=["numpy", "brian2"])
def test_sweep_stopped_after_some_blocks_resumes_exactly(tmp_path, monkeypatch, args, trials,
                                                         kill_at):
    whole, out = tmp_path / "whole", tmp_path / "stopped"
    assert run(*args, "--trials", trials, "--out", whole) == 0
    write = sweep_folder.Checkpointer.__call__

    def stop_after(self, state):
        write(self, state)
        if state.done == kill_at:
            raise Killed

    monkeypatch.setattr(sweep_folder.Checkpointer, "__call__", stop_after)
    with pytest.raises(Killed):
        run(*args, "--trials", trials, "--out", out)
    monkeypatch.undo()
    state, _ = sweep_folder.read(out)
    assert run("sweep", "--resume", out, "--quiet") == 0
    b = Sweep.load(whole / "sweep.npz")
    assert 0 < state.stopped.sum() < b.diverged.sum() < len(b.eta)
    assert_same_sweep(Sweep.load(out / "sweep.npz"), b)


def test_extended_numpy_sweep_equals_an_uninterrupted_one(tmp_path, done):
    part = Sweep.load(done / "sweep.npz")
    whole = tmp_path / "whole"
    assert run(*NUMPY, "--trials", "24", "--out", whole) == 0
    assert run(*NUMPY, "--trials", "24", "--resume", done) == 0
    a, b = Sweep.load(done / "sweep.npz"), Sweep.load(whole / "sweep.npz")
    assert diverging_part_way(part, b)
    assert_same_sweep(a, b, alignment=False)


def test_extended_brian2_sweep_equals_an_uninterrupted_one(tmp_path):
    part, whole = tmp_path / "part", tmp_path / "whole"
    assert run(*BRIAN2, "--trials", "4", "--out", part) == 0
    first = Sweep.load(part / "sweep.npz")
    assert run(*BRIAN2, "--trials", "16", "--out", whole) == 0
    assert run("sweep", "--resume", part, "--trials", "16", "--quiet") == 0
    a, b = Sweep.load(part / "sweep.npz"), Sweep.load(whole / "sweep.npz")
    assert diverging_part_way(first, b)
    assert_same_sweep(a, b)


def cli(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "brianrflo.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_killed_numpy_sweep_resumes_to_the_same_results(tmp_path):
    """SIGKILL at random moments, three times; resuming reaches the uninterrupted numbers."""
    args = [*NUMPY[:-3], "--etas", "0.05", "0.3", "--block-trials", "10", "--trials", "900"]
    whole, out = tmp_path / "whole", tmp_path / "killed"
    assert run(*args, "--out", whole) == 0
    rng = random.Random(1)
    proc, kills, seen = cli(*args, "--out", out), 0, None
    checkpoint = out / FILE
    while kills < 3:
        # Kill only after progress since the last start, so the sweep always gets on.
        while proc.poll() is None and (not checkpoint.exists()
                                       or checkpoint.stat().st_mtime_ns == seen):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        seen = checkpoint.stat().st_mtime_ns
        proc = cli("sweep", "--resume", out, "--quiet")
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert kills == 3, "the sweep finished before it was killed three times; make it longer"
    assert_same_sweep(Sweep.load(out / "sweep.npz"), Sweep.load(whole / "sweep.npz"))


def test_a_finished_sweep_resumed_just_reports(done, capsys):
    before = files(done)
    assert run("sweep", "--resume", done) == 0
    assert "eta 0.05" in capsys.readouterr().out
    assert files(done) == before


@pytest.mark.parametrize(("change", "word"), [
    (["--n-hidden", "7"], "n_hidden"), (["--etas", "0.05"], "etas"),
    (["--target", "cython"], "target"), (["--delay-max", "11"], "task"),
    (["--trials", "8"], "trials"), (["--overwrite"], "--overwrite"),
    (["--out", "elsewhere"], "--out"),
])
def test_refused_resume_changes_no_file(done, capsys, change, word):
    before = files(done)
    assert run("sweep", "--resume", done, *change) == 2
    one_line_error(capsys, word)
    assert files(done) == before


def test_resume_without_a_checkpoint_or_with_a_corrupt_one(tmp_path, done, capsys):
    assert run("sweep", "--resume", tmp_path / "nothing") == 2
    one_line_error(capsys, "--resume", "checkpoint")
    (done / FILE).write_bytes((done / FILE).read_bytes()[:200])
    before = files(done)
    assert run("sweep", "--resume", done) == 2
    one_line_error(capsys, "corrupt")
    assert files(done) == before


def test_bad_out_paths_are_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for out in ["", afile, afile / "sub"]:
        assert run(*NUMPY, "--trials", "12", "--out", out) == 2
        one_line_error(capsys, "--out")
    assert run(*NUMPY, "--trials", "12") == 2
    one_line_error(capsys, "--out")
    assert run("sweep", "--out", tmp_path / "new") == 2
    one_line_error(capsys, "--etas")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert afile.read_text() == "mine"


def without_root_powers() -> None:
    """In a child process: root, too, now meets permission bits (no CAP_DAC_OVERRIDE)."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1


def test_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    try:
        proc = subprocess.run([sys.executable, "-m", "brianrflo.cli", *NUMPY, "--trials", "12",
                               "--out", folder / "run"], capture_output=True, text=True,
                              preexec_fn=without_root_powers)
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("brianrflo: error: --out") and proc.stderr.count("\n") == 1
    assert "not writable" in proc.stderr and list(folder.iterdir()) == []
