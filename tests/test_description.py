"""One run description (config.json), built from options or a file; one bound of eta."""

import json

import pytest

from brianrflo.batch import Replicas
from brianrflo.cli import _description, _given, _parser, saved_description
from brianrflo.description import Description
from brianrflo.network import BrianNetwork
from brianrflo.tasks import IntervalMatching, Periodic
from brianrflo.train import Settings
from brianrflo.validation import ETA_MAX
from brianrflo.weights import Weights

pytestmark = pytest.mark.unit


def described(argv: list[str], base: Description | None = None) -> Description:
    """What ``brianrflo ARGV`` describes, as main() builds it."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.given = _given(parser, argv)
    return _description(args, base)


def test_options_describe_the_run():
    run = described(["train", "interval", "--delay-min", "20", "--delay-max", "60",
                     "--eta2", "0.1", "--eta", "0.02", "--n-hidden", "12", "--tau", "5"])
    assert run.settings == Settings(eta=(0.02, 0.1, 0.02), tau=5.0)
    assert (run.task, run.task_args, run.n_hidden) == (
        "interval", {"delay_min": 20, "delay_max": 60}, 12)
    task = run.make_task()
    assert isinstance(task, IntervalMatching)
    assert task.settings() == IntervalMatching(20, 60).settings()


def test_json_round_trip_is_the_same_description(tmp_path):
    run = described(["train", "--period", "40", "--rule", "bptt", "--update", "2",
                     "--trials", "10"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(run.to_json()))
    assert Description.load(path) == run == saved_description(str(path))


def test_a_saved_run_with_options_on_top_changes_only_those(tmp_path):
    saved = described(["train", "--period", "40", "--trials", "300", "--eta1", "0.2"])
    run = described(["train", "--trials", "20", "--eta", "0.05"], base=saved)
    assert run.settings.trials == 20 and run.settings.eta == (0.05, 0.05, 0.05)
    assert run.task_args == {"period": 40} and run.n_hidden == saved.n_hidden
    assert described(["train", "--eta3", "0.4"], base=saved).settings.eta == (0.2, 0.03, 0.4)


def test_older_config_json_of_options_reads_as_the_same_run(tmp_path):
    """Earlier versions saved brianrflo train's options there."""
    options = {"task": "periodic", "period": 60, "n_hidden": 9, "rule": "rflo",
               "trials": 50, "eta": 0.04, "eta1": None, "eta2": 0.01, "eta3": None,
               "update": "trial", "tau": 10.0, "model": "rate", "param": None}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(options))
    run = saved_description(str(path))
    assert run == described(["train", "--period", "60", "--n-hidden", "9", "--trials", "50",
                             "--eta", "0.04", "--eta2", "0.01"])
    assert run.make_task().settings() == Periodic(60).settings()


@pytest.mark.parametrize(("saved", "words"), [
    ({"settings": {"trials": 5}, "bogus": 1}, ["unknown settings", "bogus"]),
    ({"settings": {"trials": 5, "speed": 2}}, ["unknown settings", "speed"]),
    ({"settings": {"trials": -5}}, ["trials", "-5"]),
    ({"settings": {}, "n_hidden": "ten"}, ["n_hidden", "'ten'"]),
    ({"settings": {}, "task": "juggling"}, ["task", "'juggling'"]),
    ({"trials": 5, "bogus": 1}, ["unknown settings", "bogus"]),  # an older config.json
    ({"rule": "magic"}, ["rule", "'magic'"]),
    ([1, 2], ["must hold a JSON object"]),
])
def test_a_bad_config_is_one_line_naming_the_setting(tmp_path, saved, words):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError) as err:
        saved_description(str(path))
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert all(w in message for w in words), message


W = Weights.init(4, 1, 1, seed=0)
ENGINES = {
    "Settings": lambda eta: Settings(eta=eta),
    "BrianNetwork": lambda eta: BrianNetwork(W, 5, eta=eta, target="numpy"),
    "Replicas": lambda eta: Replicas([W], eta=eta),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bad", [-0.1, ETA_MAX * 1.01, float("nan")])
def test_every_engine_takes_eta_in_the_same_bounds(engine, bad):
    """The RFLO family's and the exact rules' rates (node perturbation's, a step along
    a noisy estimate, are another quantity: its Miconi rate is 100)."""
    ENGINES[engine]((0.1, 0.1, 0.1))  # the bounds hold in between
    with pytest.raises(ValueError, match=rf"eta.* must be (in \[0.0, {ETA_MAX}\]|a finite)"):
        ENGINES[engine]((0.1, bad, 0.1))
