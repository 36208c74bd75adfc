"""A shared tracking server (issue 34): `mlflow server` with a PostgreSQL backend store and served
artifacts on loopback, as a team runs it, used by the zoo's entry points over HTTP."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.model_server import served_model
from PIL import Image

pytestmark = pytest.mark.integration


def test_a_grid_a_report_a_reading_and_a_study_go_through_a_shared_tracking_server(tracking_server, tmp_path, data_cache):
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_server, "ZOO_CACHE_DIR": str(data_cache)}
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(variable, None)
    grid = tmp_path / "shared.toml"
    grid.write_text('kind = "comparison"\nexperiment = "shared"\npreset = "smoke"\nseeds = [0]\n'
                    f'archs = ["gru"]\noverrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "tracking.register_model" = true }}\n')

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", *args], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
        return result

    run("zoo.compare", str(grid))
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to a local store
    run("zoo.report", "--experiment", "shared", "--out", str(tmp_path / "report"))
    runs = pd.read_csv(tmp_path / "report" / "runs.csv")
    assert list(runs["run_name"]) == ["gru-smoke-s0"]
    assert (tmp_path / "report" / "misreads.csv").is_file() or runs["test_seq_acc"][0] == 1.0  # artifacts came over HTTP
    assert "already finished in shared, skipped" in run("zoo.compare", str(grid)).stdout  # the server's store says so
    image = tmp_path / "one.png"
    Image.fromarray(np.full((80, 170, 3), 200, np.uint8)).save(image)
    for model in (f"runs:/{runs['run_id'][0]}/model", "models:/zoo-gru@champion"):  # fetched from the served artifacts
        assert "one.png" in run("zoo.predict", "--model", model, "--format", "csv", str(image)).stdout
    assert list(tmp_path.glob("served-artifacts/*")), "the artifacts live on the server's side"
    study = tmp_path / "shared-study.toml"
    study.write_text('kind = "study"\nname = "shared-study"\npreset = "smoke"\nepochs = 2\ntrials = 2\n'
                     '[space]\nphases = [1, 1]\nlr = [1e-3, 1e-2]\n')
    run("zoo.study", "--config", str(study), "--storage", str(tmp_path / "study.journal"), "--tuned-dir", str(tmp_path / "tuned"),
        "--report-dir", str(tmp_path / "study-report"))
    import mlflow

    client = mlflow.MlflowClient(tracking_server)
    (parent,) = client.search_runs([client.get_experiment_by_name("shared-study").experiment_id], "tags.kind = 'study'")
    assert parent.info.status == "FINISHED"  # the study's parent run, on the server
    trials = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(trials) == 2 and all(t.info.status == "FINISHED" for t in trials)  # its trials, nested under it
    assert parent.data.tags.get("mlflow.source.name") and parent.data.tags.get("mlflow.user")  # where it came from


def test_a_campaign_and_a_killed_run_resumed_go_through_a_shared_tracking_server(tracking_server, tmp_path, data_cache):
    """`zoo.train --resume` continues a run killed mid-way (SIGKILL) as the same run on the server,
    `mlflow models serve` serves its registered champion from the server, and `zoo.campaign` reads
    its state from the server."""
    import json
    import signal

    import mlflow

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_server, "ZOO_CACHE_DIR": str(data_cache)}
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(variable, None)
    train = [sys.executable, "-m", "zoo.train", "--arch", "gru", "--preset", "smoke", "--seed", "1",
             "--set", f"checkpoint_dir={tmp_path / 'ckpt'}", "--set", "train.phases=[{epochs=3, lr=1e-3}]",
             "--set", "tracking.experiment=shared-resume", "--set", "tracking.register_model=true"]
    process = subprocess.Popen(train, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, state = time.time() + 600, None
    while time.time() < deadline and process.poll() is None:
        found = list(tmp_path.glob("ckpt/*/state.json"))
        if found and json.loads(found[0].read_text())["epochs_done"] >= 1:
            state = found[0]
            break
        time.sleep(0.5)
    assert state is not None, process.stderr.read().decode()[-3000:] if process.poll() is not None else "no epoch in 600 s"
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_id = json.loads(state.read_text())["run_id"]
    client = mlflow.MlflowClient(tracking_server)
    assert client.get_run(run_id).info.status == "RUNNING"
    resumed = subprocess.run([*train, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"view: {tracking_server}/#/experiments/" in resumed.stdout  # the server's own run page
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and len(client.search_runs([run.info.experiment_id])) == 1
    assert sorted(m.step for m in client.get_metric_history(run_id, "val_seq_acc")) == [1, 2, 3]
    assert client.get_model_version_by_alias("zoo-gru", "champion").run_id == run_id
    assert_served(tracking_server, "models:/zoo-gru@champion", tmp_path)

    grid = tmp_path / "resume-grid.toml"  # the same run as a grid: the campaign finds it finished on the server
    grid.write_text('kind = "comparison"\nexperiment = "shared-resume"\npreset = "smoke"\nseeds = [1]\narchs = ["gru"]\n'
                    f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "train.phases" = [{{ epochs = 3, lr = 1e-3 }}] }}\n')
    status = subprocess.run([sys.executable, "-m", "zoo.campaign", str(grid), "--status", "--out", str(tmp_path / "state")],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert status.returncode == 0, status.stderr[-3000:]
    assert "**1 of 1 runs finished**" in (tmp_path / "state" / "STATE.md").read_text()


def assert_served(tracking_uri: str, model_uri: str, tmp_path: Path) -> None:
    """`mlflow models serve` of `model_uri` from the tracking server answers an image with its reading."""
    import base64
    import io
    import json

    with served_model(model_uri, tracking_uri, cwd=tmp_path) as port:
        buffer = io.BytesIO()
        Image.fromarray(np.full((80, 170, 3), 200, np.uint8)).save(buffer, format="PNG")
        payload = {"dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(buffer.getvalue()).decode()]]}}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", json.dumps(payload).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            (row,) = json.loads(response.read())["predictions"]
        assert isinstance(row["text"], str) and row["error"] is None

