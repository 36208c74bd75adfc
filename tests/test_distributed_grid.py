"""A grid spread over workers through Optuna's RDB storage (issue 34): two workers on PostgreSQL, one
killed mid-run, tracking to a shared `mlflow server`; every run finishes exactly once in the server's
store, the killed one taken over and resumed."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import mlflow
import optuna
import pytest
from optuna.trial import TrialState

pytestmark = pytest.mark.integration


def test_two_workers_train_every_run_once_and_take_over_a_killed_ones(tracking_server, postgres, tmp_path, data_cache,
                                                                      monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)  # the workers track to the team's server
    monkeypatch.setenv("ZOO_CACHE_DIR", str(data_cache))
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(variable, raising=False)
    grid = tmp_path / "spread.toml"
    grid.write_text('kind = "comparison"\nexperiment = "spread"\npreset = "smoke"\narchs = ["gru"]\nseeds = [0, 1, 2]\n'
                    f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "train.phases" = [{{ epochs = 4, lr = 1e-3 }}] }}\n')
    command = [sys.executable, "-m", "zoo.compare", str(grid), "--storage", postgres, "--heartbeat", "2"]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    second = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    def in_training() -> set[str]:
        """Runs with a checkpoint that have not finished (a finished run keeps its checkpoint, marked so)."""
        names = set()
        for state in tmp_path.glob("ckpt/*/state.json"):
            with contextlib.suppress(FileNotFoundError):  # written whole by os.replace, so never half-read
                if not json.loads(state.read_text())["finished"] and (state.parent / "last.keras").exists():
                    names.add(state.parent.name)
        return names

    deadline = time.time() + 600
    while time.time() < deadline and len(in_training()) < 2:
        time.sleep(0.3)  # both workers are training a run (one worker trains one at a time)
    killed_runs = in_training()
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its training, mid-run
    first.wait()
    output, _ = second.communicate(timeout=900)
    assert second.returncode == 0, output[-4000:]
    client = mlflow.MlflowClient(tracking_server)  # counted in the server's store
    runs = client.search_runs([client.get_experiment_by_name("spread").experiment_id])
    assert sorted(run.data.tags["seed"] for run in runs) == ["0", "1", "2"], output[-4000:]
    assert len(runs) == 3 and {run.info.status for run in runs} == {"FINISHED"}  # each once, none left RUNNING
    assert "resuming" in output  # the killed worker's run was taken over from its checkpoint
    queue = optuna.load_study(study_name="grid:spread", storage=postgres)
    done = [trial.params["run"] for trial in queue.get_trials(states=(TrialState.COMPLETE,))]
    assert sorted(done) == sorted(run.info.run_name for run in runs) and len(killed_runs) == 2


def test_a_run_lost_from_the_queue_is_put_back_and_trained(store, tmp_path):
    """A trial can leave the queue without its run being trained (a worker that died at a moment its
    heartbeat could not tell, a retry budget spent on late heartbeats). With nothing waiting or
    running, a worker checks the grid against the tracking store and puts such runs back."""
    from zoo.grids import compare, distributed

    grid_path = tmp_path / "lost.toml"
    grid_path.write_text('kind = "comparison"\nexperiment = "lost"\npreset = "smoke"\narchs = ["gru"]\nseeds = [0]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}" }}\n')
    storage = f"sqlite:///{tmp_path / 'queue.db'}"
    queue, runs = distributed.open_queue(compare.load_grid(grid_path), storage, heartbeat_s=2, grace_s=8)
    lost = distributed.take(queue, runs)
    queue.tell(lost, 0.0)  # told COMPLETE, nothing trained
    done = subprocess.run([sys.executable, "-m", "zoo.compare", str(grid_path), "--storage", storage, "--heartbeat", "2"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "put back in the queue" in done.stdout
    runs = mlflow.search_runs(experiment_names=["lost"], output_format="list")
    assert [(run.data.tags["seed"], run.info.status) for run in runs] == [("0", "FINISHED")]
    rerun = subprocess.run([sys.executable, "-m", "zoo.compare", str(grid_path), "--storage", storage, "--heartbeat", "2"],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and "put back" not in rerun.stdout  # finished: nothing more to do
    assert len(mlflow.search_runs(experiment_names=["lost"], output_format="list")) == 1


def test_a_run_that_failed_in_an_earlier_command_is_tried_again_and_one_failing_now_is_not(store, tmp_path):
    import collections
    import datetime

    from zoo.grids import compare, distributed

    grid_path = tmp_path / "failing.toml"
    grid_path.write_text('kind = "comparison"\nexperiment = "failing"\npreset = "smoke"\narchs = ["gru"]\nseeds = [0, 1]\n')
    grid = compare.load_grid(grid_path)
    storage = f"sqlite:///{tmp_path / 'queue.db'}"
    queue, runs = distributed.open_queue(grid, storage, heartbeat_s=2, grace_s=8)
    for _ in runs.choices:  # both runs failed in training
        trial = distributed.take(queue, runs)
        trial.set_user_attr(distributed.FAILED_ATTR, 1)
        queue.tell(trial, state=TrialState.FAIL)
    later = datetime.datetime.now() + datetime.timedelta(hours=1)  # a command started after those failures
    requeued, given_up = distributed.requeue_lost_runs(grid, queue, storage, collections.Counter(), later)
    assert sorted(requeued) == sorted(runs.choices) and given_up == []
    assert len(queue.get_trials(states=(TrialState.WAITING,))) == 2
    earlier = datetime.datetime.now() - datetime.timedelta(hours=1)  # the failures happened during this command
    for _ in queue.get_trials(states=(TrialState.WAITING,)):  # taken and failed again
        taken = distributed.take(queue, runs)
        taken.set_user_attr(distributed.FAILED_ATTR, 1)
        queue.tell(taken, state=TrialState.FAIL)
    assert distributed.requeue_lost_runs(grid, queue, storage, collections.Counter(), earlier) == ([], [])
    spent = collections.Counter({name: distributed.MAX_REQUEUES for name in runs.choices})
    requeued, given_up = distributed.requeue_lost_runs(grid, queue, storage, spent, later)
    assert requeued == [] and sorted(given_up) == sorted(runs.choices)  # put back often enough: given up, said
