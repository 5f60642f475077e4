"""Your own model and task from the CLI; saved runs evaluated and redrawn (issue 20, items 2-3)."""

import csv
import gc
import json
import os
import sys

import numpy as np
import pytest
from brian2.utils.logger import catch_logs
from matplotlib.image import imread

from brianrflo.cli import main
from brianrflo.models import RateModel
from brianrflo.runs import load_model
from brianrflo.weights import Weights

pytestmark = [pytest.mark.engines, pytest.mark.xdist_group("saved_runs")]  # one run each

N, T = 8, 20
SMALL = ["--n-hidden", str(N), "--trials", "20", "--block-trials", "10", "--eta", "0.05",
         "--quiet"]

MODEL = '''
from brianrflo.models import RateModel

model = RateModel("""
dh/dt = (-h + phi) / tau : 1
phi = beta * u / (1 + abs(beta * u)) : 1
u = u_rec + u_in + I_bias : 1
tau : second (constant)
I_bias : 1 (constant)
""", namespace={"beta": 2.0})
'''

TASK = '''
import numpy as np

from brianrflo.tasks import Block, Task


class Bump(Task):
    """A pulse of random height at the start; the output draws a bump of that height."""

    n_in, n_out = 1, 1

    def __init__(self, T=20, height=1.0):
        self.T, self.height = T, height

    def block(self, n, rng):
        amp = rng.uniform(0.5, 1.0, size=(n, 1, 1))
        x = np.zeros((n, self.T, 1))
        x[:, :2] = amp
        t = np.arange(1, self.T + 1)[None, :, None] / self.T
        target = self.height * amp * np.sin(np.pi * t)
        return Block(x=x, target=target, mask=np.ones_like(target))
'''


def run_files(folder) -> dict[str, bytes]:
    """The training run's files: not ``evaluate``'s, which another test may have written
    into the module's run with other options."""
    return {f: (folder / f).read_bytes() for f in sorted(os.listdir(folder))
            if not f.startswith("evaluation.")}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model file and a task module, the task importable as ``user_tasks_i20:Bump``."""
    where = tmp_path_factory.mktemp("user")
    (where / "model.py").write_text(MODEL)
    (where / "user_tasks_i20.py").write_text(TASK)
    sys.path.insert(0, str(where))
    yield where
    sys.path.remove(str(where))
    sys.modules.pop("user_tasks_i20", None)


@pytest.fixture(scope="module")
def trained(files, tmp_path_factory):
    """A run of the model file on ``module:Class``: its folder and what train printed."""
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["train", "--task", "user_tasks_i20:Bump", "--task-arg", f"T={T}",
                 "--task-arg", "height=0.8", "--model", str(files / "model.py"), *SMALL,
                 "--out", str(out)])
    assert code == 0
    return out


def test_train_from_files_then_evaluate_and_plot(trained, files, capsys, tmp_path):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["settings"]["task"]["task"] == "user_tasks_i20.Bump"
    assert metrics["settings"]["task"]["height"] == 0.8
    assert "I_bias" in metrics["settings"]["model_equations"]
    trained_png = imread(trained / "training.png")
    before = run_files(trained)
    # The run remembers its equations: evaluate reads them, not the (now edited) file.
    edited = tmp_path / "model.py"
    edited.write_text(MODEL.replace("beta * u / (1 + abs(beta * u))", "tanh(u)"))
    config = json.loads((trained / "config.json").read_text())
    assert config["model_file"] == str(files / "model.py")
    os.replace(files / "model.py", tmp_path / "kept.py")
    os.replace(edited, files / "model.py")
    for name in ("evaluation.npz", "evaluation.png"):  # another test's evaluation
        (trained / name).unlink(missing_ok=True)
    try:
        assert main(["evaluate", str(trained)]) == 0
        saved = np.load(trained / "evaluation.npz")
        # The trial train's final loss was measured on (seed + 1), on the same engine.
        assert float(saved["loss"]) == metrics["final_loss"]
        assert saved["y"].shape == (1, T, 1) and saved["h"].shape == (1, T, N)
        assert saved["losses"].shape == (1,) and float(saved["losses"][0]) == saved["loss"]
        assert int(saved["seed"]) == 1
        assert (trained / "evaluation.png").read_bytes()[:4] == b"\x89PNG"
        after = run_files(trained)
        assert after == before  # no file of the run changed, none added but evaluate's
        # A resume with the edited file is refused in one line, and changes nothing.
        capsys.readouterr()
        assert main(["train", "--resume", str(trained), "--trials", "30", "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "model_equations" in err
        assert run_files(trained) == after
    finally:
        os.replace(tmp_path / "kept.py", files / "model.py")

    # plot redraws training.png from the saved files alone: the same pixels.
    os.remove(trained / "training.png")
    assert main(["plot", str(trained)]) == 0
    assert np.array_equal(imread(trained / "training.png"), trained_png)


def test_evaluate_other_trials(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert main(["evaluate", str(trained), "--seed", "7"]) == 0
    saved = np.load(trained / "evaluation.npz")
    assert int(saved["seed"]) == 7
    # Fresh trials (another pulse height): another loss than the reported one.
    assert float(saved["loss"]) != metrics["final_loss"]
    assert not np.array_equal(saved["target"][0], np.zeros((T, 1)))


def test_metrics_csv_matches_metrics_json(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    with open(trained / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(metrics["losses"]) == 20
    assert [int(r["trial"]) for r in rows] == list(range(1, 21))
    assert [float(r["loss"]) for r in rows] == metrics["losses"]
    after_blocks = {k: a for k, a in metrics["alignment"] if k > 0}
    assert sorted(after_blocks) == [10, 20]
    for r in rows:
        k = int(r["trial"])
        assert (float(r["alignment"]) == after_blocks[k]) if k in after_blocks \
            else r["alignment"] == ""


def test_per_unit_param_changes_the_result(trained, files, tmp_path):
    bias = ",".join(f"{v:.2f}" for v in np.linspace(-0.5, 0.5, N))
    out = tmp_path / "bias"
    # The file form of --task, and the task's own argument.
    assert main(["train", "--task", f"{files / 'user_tasks_i20.py'}:Bump", "--task-arg",
                 f"T={T}", "--task-arg", "height=0.8", "--model", str(files / "model.py"),
                 "--param", f"I_bias={bias}", *SMALL, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    default = json.loads((trained / "metrics.json").read_text())
    assert metrics["settings"]["model_params"]["I_bias"] == [float(v) for v in bias.split(",")]
    assert "model_params" not in default["settings"]
    assert metrics["losses"] != default["losses"]
    assert not Weights.load(out / "weights.npz").allclose(
        Weights.load(trained / "weights.npz"), atol=1e-6)
    # evaluate rebuilds the parameters from the run: the reported loss again.
    assert main(["evaluate", str(out)]) == 0
    assert float(np.load(out / "evaluation.npz")["loss"]) == metrics["final_loss"]


@pytest.mark.parametrize(("extra", "words"), [
    (["--param", "I_bias=0.1,0.2"], ["--param", "I_bias", f"{N} numbers", "got 2"]),
    (["--param", "J=1"], ["--param", "'J' is not a parameter", "I_bias"]),
    (["--param", "I_bias=nan"], ["--param", "I_bias", "finite"]),
    (["--param", "I_bias=x"], ["--param", "I_bias", "'x' is not a number"]),
    (["--param", "tau=3"], ["--param", "tau", "--tau"]),
])
def test_bad_param_is_one_line(files, tmp_path, capsys, extra, words):
    out = tmp_path / "run"
    code = main(["train", "--task", "user_tasks_i20:Bump", "--model", str(files / "model.py"),
                 *SMALL, *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("brianrflo: error: ") and err.count("\n") == 1, err
    assert all(w in err for w in words), err
    assert not out.exists()


TWO_MODELS = "from brianrflo.models import RateModel\na = RateModel()\nb = RateModel()\n"


@pytest.mark.parametrize(("name", "text", "option", "words"), [
    ("none.py", "x = 1\n", "--model", ["exactly one RateModel", "none"]),
    ("two.py", TWO_MODELS, "--model", ["exactly one RateModel", "a, b"]),
    ("bad.eqs", "dh/dt = -h / tau : 1\ntau : second\n", "--model", ["bad.eqs", "u"]),
    ("broken.py", "1/0\n", "--model", ["ZeroDivisionError"]),
    ("t.py", "x = 1\n", "--task", ["no Task subclass 'Nope'"]),
])
def test_bad_model_or_task_file_is_one_line(tmp_path, capsys, name, text, option, words):
    (tmp_path / name).write_text(text)
    spec = str(tmp_path / name) + (":Nope" if option == "--task" else "")
    out = tmp_path / "run"
    code = main(["train", option, spec, *SMALL, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("brianrflo: error: ") and err.count("\n") == 1, err
    assert all(w in err for w in words), err
    assert not out.exists()


def test_an_equations_file_is_a_rate_model(tmp_path):
    eqs = tmp_path / "units.eqs"
    text = MODEL.split('"""')[1].replace("beta", "2.0")
    eqs.write_text(text)
    model = load_model(eqs)
    assert isinstance(model, RateModel) and model.equations == text
    assert model.has_parameter("I_bias") and not model.is_paper()


def test_evaluate_of_a_folder_without_a_run_is_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.json" in err
    assert os.listdir(tmp_path) == []


def test_params_reach_the_hidden_units():
    from dataclasses import replace

    from brianrflo.models import ModelError
    from brianrflo.network import BrianNetwork

    equations = MODEL.split('"""')[1]
    values = np.linspace(-0.5, 0.5, N)
    model = RateModel(equations, namespace={"beta": 2.0}, params={"I_bias": values})
    assert model.params == {"I_bias": tuple(values)}
    with catch_logs():  # networks built, never run: Brian2 would warn when they go
        net = BrianNetwork(Weights.init(N, 1, 1, seed=0), T, model=model)
        assert np.array_equal(net.hidden.I_bias[:], values)
        net = BrianNetwork(Weights.init(N, 1, 1, seed=0), T,
                           model=replace(model, params={"I_bias": 0.3}))
        assert np.array_equal(net.hidden.I_bias[:], np.full(N, 0.3))
        del net
        gc.collect()
    with pytest.raises(ValueError, match=r"'I_bias' must be one number or 8 numbers.*got 3"):
        BrianNetwork(Weights.init(N, 1, 1, seed=0), T,
                     model=replace(model, params={"I_bias": [1.0, 2.0, 3.0]}))
    shared = equations.replace("I_bias : 1 (constant)", "I_bias : 1 (shared, constant)")
    with pytest.raises(ModelError, match="shared by all units"):
        RateModel(shared, namespace={"beta": 2.0}, params={"I_bias": values})
