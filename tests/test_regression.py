"""Pinned regression runs: a few short trainings whose every loss is stored in the repo.

The equivalence tests say that two codes of the same maths agree; they cannot see a
change that moves both (the task's trials, the initial weights, the update schedule, a
default). These runs can: each is :func:`brianrflo.train.train` as a user calls it,
and its losses, with the commit and versions that computed them, are in
``tests/data/regression.json``. The runs are short (60 trials) because training is
chaotic in the rounding: two exact codes agree for 70-300 trials, then separate, and a
CPU or compiler that rounds otherwise (Brian2 compiles with ``-march=native``) moves the
last bits; so losses are compared to a relative 1e-9. Over these 60 trials, Brian2's
numpy target and the numpy reference (two codes of RFLO) differ by at most 1.1e-12, and
a relative change of 1e-15 in ``w_rec`` moves RFLO's and BPTT's losses by at most 1e-13
(measured at this file's commit); any change of the maths moves them far more.

A change that is meant to move these numbers rewrites the file, and says so in its
commit::

    python tests/test_regression.py        # runs them and writes tests/data/regression.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.engines

DATA = Path(__file__).resolve().parent / "data" / "regression.json"
#: Each run: the task's arguments and the :class:`~brianrflo.train.Settings`.
RUNS = {
    "rflo-brian2-numpy": ({"period": 200}, {"rule": "rflo", "target": "numpy", "eta": 0.03}),
    "rflo-online-reference": ({"period": 200},
                              {"rule": "rflo", "target": "reference", "update": "online",
                               "eta": 0.01}),
    "bptt-reference": ({"period": 200}, {"rule": "bptt", "target": "reference", "eta": 0.03}),
    "nonlocal-random-reference": ({"period": 100}, {"rule": "nonlocal-random",
                                                    "target": "reference", "eta": 0.003}),
}
TRIALS = 60
RTOL = 1e-9


def run(name: str) -> dict:
    """Train run ``name`` of :data:`RUNS`: its trial losses and final loss."""
    from brianrflo.tasks import Periodic
    from brianrflo.train import Settings, train

    task_args, settings = RUNS[name][0], dict(RUNS[name][1])
    eta = settings.pop("eta")
    result = train(Periodic(**task_args), Settings(trials=TRIALS, eta=(eta,) * 3, seed=3,
                                                   block_trials=20, **settings),
                   progress=False)
    return {"losses": [float(v) for v in result.losses],
            "untrained_loss": float(result.untrained_loss),
            "final_loss": float(result.final_loss)}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_pinned_run_computes_the_stored_losses(name):
    stored = json.loads(DATA.read_text())
    assert stored["trials"] == TRIALS and sorted(stored["runs"]) == sorted(RUNS), (
        "tests/data/regression.json describes other runs: python tests/test_regression.py")
    want, got = stored["runs"][name], run(name)
    for key in ("losses", "untrained_loss", "final_loss"):
        np.testing.assert_allclose(
            got[key], want[key], rtol=RTOL, atol=0,
            err_msg=f"{name}: {key} moved from the pinned run (commit {stored['commit']}); "
                    "if that is intended, python tests/test_regression.py and say so")


def write() -> None:
    """Run every pinned run and write :data:`DATA` with the commit and versions."""
    import brian2

    import brianrflo

    here = Path(__file__).resolve().parent
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "brianrflo", "models",
                            "tasks"], cwd=here, capture_output=True, text=True,
                           check=False).stdout.strip()
    record = {"commit": commit + ("+changes" if dirty else ""),
              "versions": {"brianrflo": brianrflo.__version__, "brian2": brian2.__version__,
                           "numpy": np.__version__, "python": sys.version.split()[0]},
              "trials": TRIALS, "runs": {name: run(name) for name in sorted(RUNS)}}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    write()
