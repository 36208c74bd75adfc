"""`mlflow run . -e train` and `-e evaluate` as a user types them, read back through the client."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
# as in an activated environment: `mlflow` and the `python` of MLproject's commands are this one's
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def mlflow_run(*args, cwd):
    command = ["mlflow", "run", str(REPO), *args, "--env-manager", "local"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENV)


def test_train_and_evaluate_entry_points(store, tmp_path):
    client = MlflowClient()
    client.create_experiment("zoo-e2e", artifact_location=(tmp_path / "artifacts").as_uri())
    trained = mlflow_run("-e", "train", "-P", "arch=bigru", "-P", "preset=smoke",
                         "-P", f"overrides=checkpoint_dir={tmp_path / 'ckpt'};tracking.register_model=true", "--experiment-name", "zoo-e2e", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "most misread (true -> read: characters, of " in trained.stdout + trained.stderr  # 2 steps read little
    (run,) = client.search_runs([client.get_experiment_by_name("zoo-e2e").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "bigru-smoke-s0"
    assert run.data.tags["arch"] == "bigru" and run.data.tags["preset"] == "smoke"
    assert run.data.params["arch"] == "bigru" and run.data.params["train.steps_per_epoch"] == "2"
    assert run.data.metrics["params"] == 793_541 and {"test_seq_acc", "test_read_seq_acc"} <= set(run.data.metrics)
    assert len(client.get_metric_history(run.info.run_id, "val_seq_acc")) == 2
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "plots/learning_curves.png" in artifacts and "plots/step_argmax.png" in artifacts
    (version,) = client.search_model_versions("name='zoo-bigru'")
    assert version.run_id == run.info.run_id

    evaluated = mlflow_run("-e", "evaluate", "-P", f"model=models:/zoo-bigru/{version.version}", "-P", "test_size=32",
                           "--experiment-name", "zoo-e2e", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-4000:]
    assert "test_seq_acc" in evaluated.stdout and "test_read_seq_acc" in evaluated.stdout
    runs = client.search_runs([client.get_experiment_by_name("zoo-e2e").experiment_id], "tags.evaluated_model != ''")
    assert len(runs) == 1 and all(0 <= runs[0].data.metrics[key] <= 1 for key in ("test_seq_acc", "test_read_seq_acc"))
    logged = {artifact.path for artifact in client.list_artifacts(runs[0].info.run_id, "errors")}
    assert logged == {"errors/character_errors.csv", "errors/confused_pairs.csv"}


def test_evaluate_reports_an_unknown_model_clearly(store, tmp_path):
    result = subprocess.run([sys.executable, "-m", "zoo.evaluate", "--model", "models:/zoo-nothing/1", "--test-size", "4"],
                            cwd=tmp_path, capture_output=True, text=True, env=ENV)
    assert result.returncode == 2 and "cannot load model 'models:/zoo-nothing/1'" in result.stderr


def test_evaluate_scores_a_head_start_on_its_own_generator_and_refuses_an_unknown_one(store, capsys):
    """`--source pil:STYLE`: the captchas a head start was trained on, fitted as the model reads images."""
    import zoo
    from zoo.commands import evaluate
    from zoo.data.pil_captchas import PilSource
    from zoo.data.stream import render
    from zoo.inference import evaluation

    assert evaluate.main(["--model", "folder-mix", "--source", "pil:wide", "--test-size", "24", "--test-seed", "7"]) == 0
    printed = float(capsys.readouterr().out.split("test_seq_acc = ")[1].split()[0])
    run = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("captcha-zoo-evaluations").experiment_id])[0]
    assert run.data.params["source"] == "pil:wide" and run.data.metrics["test_seq_acc"] == pytest.approx(printed, abs=1e-4)
    reader = zoo.load("folder-mix", runtime="keras")
    info = reader.info
    images, labels = render(PilSource("wide", info.charset, info.min_length, info.max_length, reader.width,
                                      reader.height, 7, info.resize), 24)
    expected = evaluation.evaluate(reader.model, images, labels, info.charset, info.max_length, verbose=0)
    assert expected.metrics["seq_acc"] == pytest.approx(printed, abs=1e-4)  # the same captchas, read the same way
    with pytest.raises(SystemExit) as refused:
        evaluate.main(["--model", "folder-mix", "--source", "pil:fancy"])
    assert refused.value.code == 2 and "accepted: captcha, pil:plain" in capsys.readouterr().err


def test_evaluate_compares_models_captcha_by_captcha_on_the_same_captchas(store, capsys):
    """Several --model: each reads the same drawings (one tracked run each), then each is paired with the
    first; a model that draws other labels (other lengths) is said to be unpaired, not compared."""
    from zoo.commands import evaluate

    assert evaluate.main(["--model", "folder-mix", "--model", "folder-mix-hollow", "--model", "folder-base",
                          "--source", "pil:wide", "--test-size", "24", "--test-seed", "7"]) == 0
    out = capsys.readouterr().out
    accuracies = [float(part.split()[0]) for part in out.split("test_read_seq_acc = ")[1:]]  # what the pairing counts
    assert len(accuracies) == 3
    runs = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("captcha-zoo-evaluations").experiment_id])
    assert sorted(run.data.params["model"] for run in runs) == ["folder-base", "folder-mix", "folder-mix-hollow"]
    paired = out.split("paired against folder-mix")[1]
    line = next(row for row in paired.splitlines() if row.strip().startswith("folder-mix-hollow:"))
    only_it, only_first = (int(line.split(f"{who} only ")[1].split()[0].rstrip(",;")) for who in ("by it", "by folder-mix"))
    assert round(24 * (accuracies[1] - accuracies[0])) == only_it - only_first  # the difference is the discordant captchas'
    assert "exact McNemar p = " in line
    assert "folder-base: not paired" in paired  # folder-base reads 4-8 characters, the mix heads 3-10
