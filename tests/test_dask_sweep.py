"""A grid split into tasks gives the same numbers in this process and on a Dask cluster,
survives a worker killed mid-task, and a sweep killed as a whole redoes only what it lost.

Small on purpose (N = 6, T = 20, 6 trials: target 'auto' picks Brian2's numpy target);
every wait on the cluster has a timeout, so no test can hang.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

from brianrflo import dask_sweep as ds
from brianrflo.batch import Sweep
from brianrflo.cli import main
from brianrflo.sweep_folder import FILE
from brianrflo.tasks import Periodic
from brianrflo.train import Settings
from helpers import tiny_figures

pytestmark = [pytest.mark.engines, pytest.mark.xdist_group("dask_sweep")]  # one cluster

distributed = pytest.importorskip("distributed")

N = 6
TASK = Periodic(20)
SETTINGS = Settings(trials=6, block_trials=3)
ETAS, SEEDS = [0.05, 0.5], [0, 1]
WAIT = 120.0  # seconds any one task may take on the cluster before the test fails
CLI = ["sweep", "periodic", "--period", "20", "--n-hidden", str(N), "--trials", "6",
       "--block-trials", "3", "--etas", *map(str, ETAS), "--seeds", str(len(SEEDS)), "--quiet"]


class Slow(Periodic):
    """Periodic's trials, drawn slowly: a task lasts long enough to be killed in."""

    def block(self, n, rng):
        time.sleep(0.7)
        return super().block(n, rng)


def assert_equal(a: Sweep, b: Sweep) -> None:
    """Bit for bit: every array, and every weight of every row."""
    for name in ("eta", "seed", "losses", "untrained", "final", "alignment", "checkpoints",
                 "diverged"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("w_in", "w_rec", "w_out", "b"):
        assert np.array_equal(np.stack([getattr(w, name) for w in a.weights]),
                              np.stack([getattr(w, name) for w in b.weights])), name


def assert_table(path, sweep: Sweep) -> None:
    """``sweep.csv`` holds one row per network, its numbers exactly the sweep's."""
    lines = path.read_text().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    assert len(rows) == len(sweep.eta)
    col = {name: [row[header.index(name)] for row in rows] for name in header}
    assert [float(v) for v in col["eta"]] == list(sweep.eta)
    assert [int(v) for v in col["seed"]] == list(sweep.seed)
    assert np.array_equal([float(v) for v in col["final"]], sweep.final)
    assert [bool(int(v)) for v in col["diverged"]] == list(sweep.diverged)
    # None of these networks diverged: each did every trial (a diverged network's count
    # is test_the_table_counts_the_trials_a_diverged_network_kept's).
    assert not sweep.diverged.any()
    assert [int(v) for v in col["trials_done"]] == [SETTINGS.trials] * len(rows)


def on(client) -> list[str]:
    """The CLI options that run a sweep's tasks on ``client``'s cluster."""
    return ["--scheduler", client.scheduler.address]


def cluster(n: int = 2):
    """A LocalCluster of ``n`` single-threaded worker processes, and a client on it."""
    local = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                     dashboard_address=":0")
    client = distributed.Client(local, timeout=WAIT)
    client.wait_for_workers(n, timeout=WAIT)
    return local, client


@pytest.fixture(scope="module")
def client():
    local, client = cluster()
    yield client
    client.close(timeout=30)
    local.close(timeout=30)


@pytest.fixture(scope="module")
def here():
    """The grid run in this process, task after task (no Dask)."""
    return ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, workers=0, seeds_per_task=1)


@pytest.fixture(scope="module")
def by_rate():
    """The same, split as the CLI splits it: one task per learning rate."""
    return ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, workers=0)


def test_split_depends_on_the_grid_only_and_keeps_row_order():
    tasks = ds.split([0.1, 0.2], [0, 1, 2], seeds_per_task=2)
    assert [(t.eta, t.seeds, t.first) for t in tasks] == [
        (0.1, (0, 1), 0), (0.1, (2,), 2), (0.2, (0, 1), 3), (0.2, (2,), 5)]
    assert len({t.id for t in tasks}) == 4
    assert [t.seeds for t in ds.split([0.1], [0, 1, 2])] == [(0, 1, 2)]
    with pytest.raises(ValueError, match="seeds_per_task"):
        ds.split([0.1], [0], seeds_per_task=0)


def test_two_worker_cluster_equals_this_process(client, here):
    with distributed.get_task_stream(client) as stream:
        got = ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, client=client,
                            seeds_per_task=1, timeout=WAIT)
    assert_equal(got, here)
    assert list(got.eta) == [0.05, 0.05, 0.5, 0.5] and list(got.seed) == [0, 1, 0, 1]
    # The rows really were trained apart, by both workers.
    assert len({t["worker"] for t in stream.data}) == 2
    assert not np.array_equal(got.losses[0], got.losses[2])


@pytest.mark.parametrize("where", ["here", "dask"])
def test_a_sweep_killed_as_a_whole_resumes_and_redoes_only_unfinished_tasks(
        tmp_path, client, here, where):
    on = {"workers": 0} if where == "here" else {"client": client, "timeout": WAIT}
    finished = []

    def stop_after_two(line):
        if line.startswith("tasks ["):
            finished.append(line)
            if len(finished) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, out=tmp_path, seeds_per_task=1,
                      progress=stop_after_two, **on)
    tasks = tmp_path / ds.TASK_FOLDER
    kept = {p.name: p.stat().st_mtime_ns for p in tasks.glob("*.npz")}
    assert len(kept) == 2
    lines = []
    got = ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, out=tmp_path,
                        seeds_per_task=1, progress=lines.append, **on)
    assert sum(line.startswith("tasks [") for line in lines) == 4 - 2  # only the lost ones
    assert {p.name: p.stat().st_mtime_ns for p in tasks.glob("*.npz") if p.name in kept} == kept
    assert len(list(tasks.glob("*.npz"))) == 4
    assert_equal(got, here)
    # Everything done: a third run loads the four tasks and trains nothing.
    lines.clear()
    assert_equal(ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, out=tmp_path,
                               seeds_per_task=1, progress=lines.append, **on), here)
    assert not any(line.startswith("tasks [") for line in lines)


def test_tasks_of_another_grid_are_refused(tmp_path):
    ds.dask_sweep(TASK, SETTINGS, ETAS[:1], SEEDS[:1], n_hidden=N, out=tmp_path, workers=0)
    with pytest.raises(ValueError, match="another sweep"):
        ds.dask_sweep(TASK, SETTINGS, ETAS[:1], SEEDS[:1], n_hidden=N + 1, out=tmp_path,
                      workers=0)


def test_a_worker_killed_mid_task_has_its_task_rerun(here):
    local, client = cluster()
    try:
        result, errors = {}, []

        def run():
            try:
                result["sweep"] = ds.dask_sweep(Slow(20), SETTINGS, ETAS, SEEDS, n_hidden=N,
                                                client=client, seeds_per_task=1, timeout=WAIT)
            except BaseException as err:  # noqa: B036 - reported by the test below
                errors.append(err)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        busy = _busy_worker(client)
        time.sleep(0.5)  # inside the task (each draws trials for ~1.4 s)
        pid = client.run(os.getpid, workers=[busy], wait=True)[busy]
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=4 * WAIT)
        assert not thread.is_alive() and not errors, errors
        assert busy not in client.scheduler_info()["workers"]  # it really died
        assert_equal(result["sweep"], here)
    finally:
        client.close(timeout=30)
        local.close(timeout=30)


def _busy_worker(client, wait: float = WAIT) -> str:
    """The address of a worker that is running a task."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            return busy[0]
        time.sleep(0.05)
    raise TimeoutError("no worker started a task")


def test_cli_runs_on_a_scheduler_and_in_this_process_alike_and_resumes(
        tmp_path, client, by_rate, monkeypatch):
    remote = tmp_path / "remote"
    assert main([*CLI, *on(client), "--out", str(remote)]) == 0
    # One task per learning rate, as the CLI splits the grid.
    assert len(list((remote / ds.TASK_FOLDER).glob("*.npz"))) == 2
    assert_equal(Sweep.load(str(remote / "sweep.npz")), by_rate)
    # --workers 0: no Dask, the grid as one network checkpointed per block; same numbers.
    here = tmp_path / "here"
    assert main([*CLI, "--workers", "0", "--out", str(here)]) == 0
    assert not (here / ds.TASK_FOLDER).exists() and (here / FILE).exists()
    assert_equal(Sweep.load(str(here / "sweep.npz")), by_rate)
    # The per-network table and the loss plot: the same bytes however the grid ran.
    for name in ("sweep.csv", "sweep.png"):
        assert (here / name).read_bytes() == (remote / name).read_bytes(), name
    assert_table(remote / "sweep.csv", by_rate)
    # Lose one task and the results; --resume redoes that task only (here, to count it).
    lost = sorted((remote / ds.TASK_FOLDER).glob("*.npz"))[1]
    lost.unlink()
    (remote / "sweep.npz").unlink()
    ran = []
    real = ds.run_task
    monkeypatch.setattr(ds, "run_task", lambda *a, **k: ran.append(a[2].id) or real(*a, **k))
    assert main(["sweep", "--resume", str(remote), "--workers", "0", "--quiet"]) == 0
    assert ran == [lost.stem]
    assert_equal(Sweep.load(str(remote / "sweep.npz")), by_rate)


def test_without_options_the_sweep_runs_on_an_embedded_local_cluster(tmp_path, by_rate,
                                                                     monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    ran = []  # a task run in this process would show here; a worker's copy is its own
    real = ds.run_task
    monkeypatch.setattr(ds, "run_task", lambda *a, **k: ran.append(a[2].id) or real(*a, **k))
    assert main([*CLI, "--out", str(tmp_path)]) == 0
    assert ran == [] and len(list((tmp_path / ds.TASK_FOLDER).glob("*.npz"))) == 2
    assert not (tmp_path / FILE).exists()
    assert_equal(Sweep.load(str(tmp_path / "sweep.npz")), by_rate)


def test_cli_refuses_bad_workers_and_a_folder_of_tasks(tmp_path, capsys, client):
    assert main([*CLI, "--workers", "-1", "--out", str(tmp_path / "a")]) == 2
    assert "--workers" in capsys.readouterr().err
    # A refused figure creates no folder either.
    assert main(["figure", "fig2b", "--quick", "--workers", "-1", "--out",
                 str(tmp_path / "f")]) == 2
    assert "workers" in capsys.readouterr().err and not (tmp_path / "f").exists()
    assert main([*CLI, *on(client), "--etas", "0.05", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    for where in (["--workers", "0"], on(client)):
        assert main([*CLI, *where, "--out", str(tmp_path / "b")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("brianrflo: error: ") and "--overwrite" in err
        assert err.count("\n") == 1


def test_a_checkpointed_sweep_resumes_in_this_process_only(tmp_path, capsys, client):
    assert main([*CLI, "--workers", "0", "--etas", "0.05", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    for where in (["--workers", "2"], on(client)):
        assert main(["sweep", "--resume", str(tmp_path), *where]) == 2
        err = capsys.readouterr().err
        assert err.startswith("brianrflo: error: --resume ") and FILE in err, err


def test_the_table_counts_the_trials_a_diverged_network_kept(tmp_path):
    from brianrflo.sweep_folder import write_results
    from brianrflo.weights import Weights

    nan, inf = np.nan, np.inf
    w = Weights(*(np.zeros((1, 1)),) * 4, np.zeros(1))
    sweep = Sweep(rule="rflo", eta=np.array([0.0, 0.1, 0.1]), seed=np.array([0, 0, 1]),
                  losses=np.array([[3.0, 2, 1, 1], [3.0, 2, nan, nan], [3.0, 1, 1, 0.5]]),
                  untrained=np.array([3.0, 3, 3]), final=np.array([1.0, inf, 0.25]),
                  alignment=np.zeros((3, 1)), checkpoints=np.array([4]),
                  diverged=np.array([False, True, False]), wall_time=1.0, weights=[w] * 3)
    write_results(str(tmp_path), sweep, {})
    assert (tmp_path / "sweep.csv").read_text().splitlines() == [
        "rule,eta,seed,final,untrained,late,diverged,trials_done",
        "rflo,0.0,0,1.0,3.0,1.0,0,4",
        "rflo,0.1,0,inf,3.0,inf,1,2",
        "rflo,0.1,1,0.25,3.0,0.5,0,4"]
    assert (tmp_path / "sweep.png").read_bytes().startswith(b"\x89PNG")


def test_one_progress_bar_over_tasks_on_stderr(tmp_path, capsys, client):
    loud = [a for a in CLI if a != "--quiet"]
    assert main([*loud, *on(client), "--out", str(tmp_path / "bar")]) == 0
    out, err = capsys.readouterr()
    bars = [line for line in err.splitlines() if line.startswith("tasks [")]
    assert not any(line.startswith("tasks [") for line in out.splitlines())
    # One line per task (one task per learning rate), the bar filling up to the end.
    assert [b.split("] ")[1].split(",")[:2] for b in bars] == [
        ["1/2", " networks 2/4"], ["2/2", " networks 4/4"]]
    assert bars[0].startswith("tasks [" + "#" * 10 + "." * 10 + "]")
    assert bars[-1].startswith("tasks [" + "#" * 20 + "]") and " ETA 0 s " in bars[-1]
    rates = [float(b.split(", ")[2].split()[0]) for b in bars]
    assert all(r > 0 for r in rates) and all("network-steps/s" in b for b in bars)


def test_the_dashboard_address_is_printed_when_there_is_one(client, monkeypatch):
    lines = []
    grid = (TASK, SETTINGS, ETAS[:1], SEEDS[:1])
    ds.dask_sweep(*grid, n_hidden=N, scheduler=client.scheduler.address,
                  progress=lines.append, timeout=WAIT)
    port = client.scheduler_info()["services"]["dashboard"]
    shown = [line for line in lines if "dashboard" in line]
    assert len(shown) == 1 and shown[0].startswith("dask dashboard: http")
    assert shown[0].endswith(f":{port}/status")
    # A client you opened yourself: its address is yours to show.
    lines.clear()
    ds.dask_sweep(*grid, n_hidden=N, client=client, progress=lines.append, timeout=WAIT)
    assert not any("dashboard" in line for line in lines) and lines
    # A scheduler started without one (dashboard_address=None) reports no such service.
    monkeypatch.setattr(distributed.Client, "scheduler_info",
                        lambda self, **k: {"services": {}})
    assert ds.dashboard(client) is None


def files(folder) -> dict:
    """Every file under ``folder``: its bytes and modification time."""
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", [["--etas", "-1"], ["--n-hidden", "0"], ["--seeds", "0"]])
def test_a_refused_overwrite_changes_no_file(tmp_path, capsys, client, bad):
    out = tmp_path / "kept"
    assert main([*CLI, *on(client), "--etas", "0.05", "--out", str(out)]) == 0
    before = files(out)
    assert any(p.parts[0] == ds.TASK_FOLDER for p in before)
    for where in (on(client), ["--workers", "0"]):
        assert main([*CLI, *where, "--out", str(out), "--overwrite", *bad]) == 2
        assert bad[0].lstrip("-").replace("-", "_") in capsys.readouterr().err.replace("-", "_")
        assert files(out) == before


def test_overwrite_replaces_the_old_tasks_and_results(tmp_path, client, by_rate):
    out = tmp_path / "replaced"
    assert main([*CLI, *on(client), "--etas", "0.7", "--out", str(out)]) == 0
    old = {p.name for p in (out / ds.TASK_FOLDER).glob("*.npz")}
    assert main([*CLI, *on(client), "--out", str(out), "--overwrite"]) == 0
    now = {p.name for p in (out / ds.TASK_FOLDER).glob("*.npz")}
    assert len(now) == 2 and not old & now  # the 0.7 task is gone, not kept beside
    assert_equal(Sweep.load(str(out / "sweep.npz")), by_rate)
    assert_table(out / "sweep.csv", by_rate)
    # Replaced by a sweep in this process, the tasks go too: a --resume would take them.
    assert main([*CLI, "--workers", "0", "--out", str(out), "--overwrite"]) == 0
    assert not (out / ds.TASK_FOLDER).exists() and (out / FILE).exists()
    assert main([*CLI, *on(client), "--out", str(out), "--overwrite"]) == 0
    assert not (out / FILE).exists()


def test_an_overwrite_that_cannot_start_keeps_the_old_tasks(tmp_path, client, capsys):
    import socket

    import dask.config

    out = tmp_path / "kept"
    assert main([*CLI, *on(client), "--etas", "0.05", "--out", str(out)]) == 0
    before = files(out)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main([*CLI, "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(out),
                     "--overwrite"])
    assert code != 0
    capsys.readouterr()
    assert files(out) == before


def test_auto_is_chosen_once_for_the_whole_grid(tmp_path, monkeypatch, by_rate):
    asked, ran = [], []

    def choose(n_hidden, steps, threads=1, replicas=1, runs=1):
        asked.append(replicas)
        return "numpy", "the test's choice"

    real = ds.run_task
    monkeypatch.setattr("brianrflo.replicas.choose_target", choose)
    monkeypatch.setattr(ds, "run_task",
                        lambda *a, **k: ran.append(a[1].target) or real(*a, **k))
    got = ds.dask_sweep(TASK, SETTINGS, ETAS, SEEDS, n_hidden=N, workers=0, out=tmp_path)
    # Chosen for all the grid's networks, and every task told (a task left with 'auto'
    # would choose for its own few replicas, perhaps another target).
    assert asked == [len(ETAS) * len(SEEDS)] and ran == ["numpy"] * len(ETAS)
    assert ds.read_plan(tmp_path)["grid"]["settings"]["target"] == "numpy"
    assert_equal(got, by_rate)


def test_figure_grids_run_as_tasks_with_the_numbers_of_one_network(tmp_path, client,
                                                                    monkeypatch):
    """Fig. 2's grids (at tiny sizes), here as one stack and as tasks on Dask, equal to
    the whole grid trained as one network."""
    from brianrflo.batch import sweep
    from brianrflo.figures import Context, periodic
    from brianrflo.replicas import replica_sweep

    tiny_figures(monkeypatch)
    s = periodic.settings(Context(out=str(tmp_path), quick=True))
    period = s["periods"][0]
    task, seeds, trials, n = Periodic(period), range(s["seeds"]), s["trials"], s["n_hidden"]
    real = ds.run_task
    for rule in ("rflo", "bptt"):
        etas = s["grid"][(rule, period)]
        if rule == "bptt":
            whole = sweep(task, rule, etas, seeds, trials, n_hidden=n, tau=periodic.TAU)
        else:
            whole = replica_sweep(task, Settings(rule=rule, trials=trials, tau=periodic.TAU,
                                                 target=s["target"],
                                                 block_trials=max(1, min(100, trials // 10))),
                                  etas, seeds, n_hidden=n)
        ran = []
        monkeypatch.setattr(ds, "run_task",
                            lambda *a, ran=ran, **k: ran.append(a[2].eta) or real(*a, **k))
        args = (task, rule, etas, s["seeds"], trials, n, s["target"])
        assert_equal(periodic.grid(*args), whole)
        assert ran == []  # here: one stack, not task by task
        monkeypatch.setattr(ds, "run_task", real)
        assert_equal(periodic.grid(*args, client=client), whole)


@pytest.mark.parametrize("rule, target", [("bptt", "numpy"), ("rflo", "numpy")])
def test_killed_figure_grid_goes_on_from_its_last_block(tmp_path, monkeypatch, rule, target):
    """A figure's grid killed after its first block, run again on its folder, ends
    with the numbers of a run never killed."""
    from brianrflo import sweep_folder
    from brianrflo.figures import periodic

    args = (Periodic(40), rule, (0.01, 0.03), 2, 200, 8, target)
    whole = periodic.grid(*args)
    real = sweep_folder.Checkpointer.__call__

    def killed(self, state):
        real(self, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_folder.Checkpointer, "__call__", killed)
    with pytest.raises(KeyboardInterrupt):
        periodic.grid(*args, folder=str(tmp_path))
    assert 0 < sweep_folder.read(tmp_path)[0].done < 200
    monkeypatch.setattr(sweep_folder.Checkpointer, "__call__", real)
    assert_equal(periodic.grid(*args, folder=str(tmp_path)), whole)
    # Another grid's checkpoint is refused, and left as it was.
    before = os.path.getmtime(tmp_path / sweep_folder.FILE)
    with pytest.raises(ValueError, match="other settings"):
        periodic.grid(Periodic(60), *args[1:], folder=str(tmp_path))
    assert os.path.getmtime(tmp_path / sweep_folder.FILE) == before


def test_a_figure_opens_its_cluster_at_its_first_grid_only(tmp_path, client):
    from brianrflo.figures import Context, periodic

    args = (Periodic(20), "rflo", (0.01, 0.1), 2, 4, N, "numpy")
    here = Context(out=str(tmp_path / "here"), progress=False)
    assert here.client() is None
    there = Context(out=str(tmp_path / "there"), progress=False,
                    scheduler=client.scheduler.address)
    with distributed.get_task_stream(client) as stream:
        got = periodic.cached_sweep(there, *args)
    assert there._client is not None and len(stream.data) == 2
    there.close()
    assert there._client is None
    assert_equal(got, periodic.cached_sweep(here, *args))
