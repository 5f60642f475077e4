"""The assembler: what show() prints is what Brian2 runs; project folders are never shared."""

import os

import numpy as np
import pytest

from brianrflo.assembly import ProjectFolder
from brianrflo.rules.perturbation import PerturbationNetwork
from brianrflo.weights import Weights

pytestmark = pytest.mark.engines


def test_a_held_project_folder_is_not_handed_to_another_claim(tmp_path):
    base = str(tmp_path / "proj")
    first = ProjectFolder(base)
    second = ProjectFolder(base)  # another open file: flock refuses it as it would a process
    assert first.path == base and second.path == f"{base}-1"
    first.release()
    third = ProjectFolder(base)
    assert third.path == base
    second.release()
    third.release()
    assert os.path.exists(os.path.join(base, ".in-use"))


@pytest.fixture
def perturbation():
    return PerturbationNetwork(Weights.init(4, 2, 1, seed=0), 10, block_trials=2,
                               eta=(0.1, 0.1, 0.1), target="numpy")  # nothing to compile


def test_show_describes_every_object_brian2_schedules(perturbation):
    text = perturbation.assembly.show()
    summary = perturbation.net.scheduling_summary()
    for entry in summary.entries:
        if entry.type == "CodeRunner":  # run_regularly code: named by the assembler
            assert f"] {entry.name}:" in text, entry.name
        elif entry.owner_name is not None:  # state updaters, summed variables
            assert f"] {entry.owner_name}:" in text, entry.name


def test_show_lists_a_step_in_brian2s_order(perturbation):
    text = perturbation.assembly.show()
    summary = perturbation.net.scheduling_summary()
    runners = [e.name for e in summary.entries if e.type == "CodeRunner"]
    shown = [name for name in runners if f"] {name}:" in text]
    positions = [text.index(f"] {name}:") for name in shown]
    assert shown == runners and positions == sorted(positions)
    assert "elig = 0" in text and "noise = xi_ta(t - t_block, i)" in text
    assert np.all(np.isfinite(perturbation.get_weights().w_rec))


def test_results_live_in_shared_memory_while_the_folder_is_held(tmp_path, monkeypatch):
    from brianrflo import assembly

    memory = tmp_path / "shm"
    memory.mkdir()
    monkeypatch.setattr(assembly, "SHARED_MEMORY", str(memory))
    base = tmp_path / "proj"
    (base / "results").mkdir(parents=True)  # a project from before: results on disk
    (base / "results" / "old").write_text("x")
    held = ProjectFolder(str(base))
    results = base / "results"
    assert results.is_symlink() and str(results.resolve()).startswith(str(memory))
    (results / "array").write_text("y")
    held.release()
    assert not any(memory.rglob("array"))  # freed with the folder
    monkeypatch.setattr(assembly, "SHARED_MEMORY", str(tmp_path / "none"))
    again = ProjectFolder(str(base))  # no shared memory: results stay where Brian2 puts them
    assert not (base / "results").is_symlink()
    again.release()


def test_show_leaves_no_unused_object_warnings():
    import subprocess
    import sys

    script = ("import gc\nfrom brianrflo.models import MODELS\n"
              "assert 'noise_ta' in MODELS['rate-noisy'].show()\ngc.collect()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "never included in a network" not in done.stderr + done.stdout
