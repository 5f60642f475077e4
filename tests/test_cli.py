"""The command line: outputs, the same numbers as the API, and clear errors."""

import json

import numpy as np
import pytest

from brianrflo import Settings, train
from brianrflo.cli import main
from brianrflo.tasks import Periodic
from brianrflo.weights import Weights

pytestmark = pytest.mark.engines

SMALL = ["--n-hidden", "8", "--period", "20", "--trials", "20", "--block-trials", "10",
         "--quiet"]


def run(tmp_path, *extra):
    out = tmp_path / "run"
    return main(["train", "periodic", *SMALL, "--out", str(out), *extra]), out


@pytest.mark.parametrize("engine", [["--target", "cython"], ["--rule", "bptt"]])
def test_train_writes_metrics_weights_and_figure(tmp_path, capsys, engine):
    code, out = run(tmp_path, *engine)
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("final_loss", "untrained_loss", "losses", "alignment", "settings", "versions"):
        assert key in metrics
    assert len(metrics["losses"]) == 20
    assert metrics["final_loss"] < metrics["untrained_loss"]
    assert metrics["versions"]["brian2"] == "2.9.0"
    w = Weights.load(out / "weights.npz", shape=(8, 0, 1))
    assert w.w_rec.shape == (8, 8)
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figure:" in capsys.readouterr().out


def test_cli_and_api_give_identical_weights(tmp_path):
    code, out = run(tmp_path, "--target", "reference", "--eta", "0.05", "--seed", "4")
    assert code == 0
    api = train(Periodic(20), Settings(target="reference", eta=(0.05,) * 3, trials=20,
                                        block_trials=10, seed=4), n_hidden=8, progress=False)
    assert Weights.load(out / "weights.npz").allclose(api.weights, atol=0.0)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--n-hidden", "0"], "n_hidden"),
        (["--n-hidden", "-3"], "n_hidden"),
        (["--tau", "0.5"], "tau"),
        (["--period", "1"], "period"),
        (["--eta", "nan"], "eta1"),
        (["--eta2", "inf"], "eta2"),
        (["--trials", "0"], "trials"),
        (["--update", "sometimes"], "update"),
        (["--update", "3"], "update"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, args, name):
    code, out = run(tmp_path, "--target", "reference", *args)
    err = capsys.readouterr().err
    assert code == 2
    # main() catches what it refuses; anything else would fail this test as an exception,
    # so what is checked is that the refusal is one line.
    assert err.startswith("brianrflo: error:") and name in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert not (out / "metrics.json").exists()


def test_weights_file_with_wrong_shape_or_garbage(tmp_path, capsys):
    wrong = tmp_path / "wrong.npz"
    Weights.init(5, 0, 1, seed=0).save(wrong)
    code, _ = run(tmp_path, "--target", "reference", "--weights", str(wrong))
    assert code == 2 and "--n-hidden 8 differs from the 5 units" in capsys.readouterr().err
    Weights.init(8, 2, 1, seed=0).save(wrong)
    code, _ = run(tmp_path, "--target", "reference", "--weights", str(wrong))
    assert code == 2 and "(n_in, n_out) = (2, 1)" in capsys.readouterr().err
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a weights file")
    code, _ = run(tmp_path, "--target", "reference", "--weights", str(garbage))
    assert code == 2 and "garbage.npz" in capsys.readouterr().err


def test_existing_results_are_not_overwritten(tmp_path, capsys):
    assert run(tmp_path, "--target", "reference")[0] == 0
    before = (tmp_path / "run" / "weights.npz").read_bytes()
    code, out = run(tmp_path, "--target", "reference", "--seed", "1")
    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "weights.npz").read_bytes() == before
    # A run killed before its first results still counts as a run in the folder.
    (out / "metrics.json").unlink()
    assert run(tmp_path, "--target", "reference", "--seed", "1")[0] == 2
    assert (out / "weights.npz").read_bytes() == before
    assert run(tmp_path, "--target", "reference", "--seed", "1", "--overwrite")[0] == 0


def test_diverging_run_exits_3_with_last_good_weights(tmp_path, capsys):
    # Any trial above 1x the untrained loss counts as divergence here; online
    # updates with a huge learning rate blow past it in the first block.
    code, out = run(tmp_path, "--target", "reference", "--update", "online", "--eta", "3",
                    "--explode", "1")
    assert code == 3
    err = capsys.readouterr().err
    assert "diverged" in err and "checkpoint.npz" in err
    saved = Weights.load(out / "weights.npz")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["diverged"]
    assert len(metrics["losses"]) % 10 == 0 and len(metrics["losses"]) < 20
    if not metrics["losses"]:  # stopped in the first block: the initial weights
        assert saved.allclose(Weights.init(8, 0, 1, seed=0), atol=0.0)
    assert all(np.all(np.isfinite(a)) for a in saved.as_dict().values())


@pytest.mark.parametrize("command", [
    ["train", "periodic", *SMALL, "--target", "reference"],
    ["sweep", "periodic", *SMALL, "--target", "reference", "--etas", "0.1"],
    ["figure", "fig2b", "--quick", "--quiet"],
])
def test_bad_init_is_one_line_naming_the_choices(tmp_path, capsys, command):
    code = main([*command, "--out", str(tmp_path / "out"), "--init", "text"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "brianrflo: error: init must be one of paper, notebook, got 'text'\n"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_notebook_init_is_what_the_api_draws_and_is_recorded(tmp_path):
    code, out = run(tmp_path, "--target", "reference", "--init", "notebook", "--seed", "2")
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["init"] == "notebook"
    api = train(Periodic(20), Settings(target="reference", trials=20, block_trials=10, seed=2,
                                        init="notebook"), n_hidden=8, progress=False)
    saved = Weights.load(out / "weights.npz")
    assert saved.allclose(api.weights, atol=0.0)
    np.testing.assert_array_equal(saved.h0, np.full(8, 0.1))  # h0 never learns


def test_resume_with_another_init_is_refused(tmp_path, capsys):
    code, out = run(tmp_path, "--target", "reference", "--init", "notebook")
    assert code == 0
    before = (out / "checkpoint.npz").read_bytes()
    resume = ["train", "--resume", str(out), "--trials", "30", "--quiet"]
    assert main([*resume, "--init", "paper"]) == 2
    assert "other settings (init)" in capsys.readouterr().err
    assert (out / "checkpoint.npz").read_bytes() == before
    assert main(resume) == 0  # the run's own init, from its config.json
