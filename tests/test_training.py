"""Training end to end against a real MLflow store (slow: each test trains)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import like_a_terminal
from zoo import tracking
from zoo.config import make_config

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def run_of(run_id):
    return MlflowClient().get_run(run_id)


def steps_logged(run_id, key):
    return sorted(m.step for m in MlflowClient().get_metric_history(run_id, key))


def test_smoke_run_is_fully_tracked(store, tmp_path):
    from zoo.fitting.loop import train

    import matplotlib.pyplot as plt

    config = make_config("bilstm", "smoke", 1, {"checkpoint_dir": str(tmp_path / "ckpt"), "tracking.register_model": True,
                                                "train.phases": [{"epochs": 1, "lr": 1e-3}, {"epochs": 1, "lr": 1e-4}]})
    open_figures = set(plt.get_fignums())
    result = train(config)
    assert set(plt.get_fignums()) == open_figures  # the logged figures are closed: a grid of runs does not pile them up
    run = run_of(result.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == config.run_name
    assert config.run_name.startswith("bilstm-smoke-s1-")  # overrides (the phases) add their hash
    assert run.data.tags["arch"] == "bilstm" and run.data.tags["family"] == "lstm"
    assert run.data.tags["bidirectional"] == "true" and run.data.tags["drop_steps"] == "2"
    assert run.data.params["train.batch_size"] == "8" and run.data.params["data.charset"] == config.data.charset
    assert {"version.tensorflow", "version.keras", "version.captcha", "git_commit"} <= set(run.data.params)
    for key in ("loss", "val_loss", "val_seq_acc", "val_char_acc", "val_ned", "lr", "samples_seen", "epoch_time"):
        assert steps_logged(result.run_id, key) == [1, 2], key
    lrs = {m.step: m.value for m in MlflowClient().get_metric_history(result.run_id, "lr")}
    assert lrs == pytest.approx({1: 1e-3, 2: 1e-4})
    metrics = run.data.metrics
    assert metrics["samples_seen"] == 2 * 2 * 8
    assert metrics["params"] == 923_589 and 3 < metrics["model_mb"] < 5
    assert 0 <= metrics["test_seq_acc"] <= 1 and metrics["inference_images_per_s"] > 0 and metrics["latency_ms_per_image"] > 0
    assert metrics["test_seq_acc"] == pytest.approx(result.metrics["test_seq_acc"])
    artifacts = {a.path for folder in ("", "plots", "errors", "metrics") for a in MlflowClient().list_artifacts(result.run_id, folder)}
    assert {"config.json", "model_summary.txt", "plots/learning_curves.png", "plots/predictions.png",
            "plots/character_errors.png", "plots/step_argmax.png", "errors/character_errors.csv", "errors/confused_pairs.csv",
            "metrics/history.csv", "errors/misreads.csv"} <= artifacts
    misreads = tracking.load_table(result.run_id, "errors/misreads.csv")  # the test captchas seq_acc counts wrong
    assert list(misreads.columns) == ["index", "label", "read"] and (misreads["label"] != misreads["read"]).all()
    assert 1 - len(misreads) / config.data.test_size == pytest.approx(metrics["test_seq_acc"])
    versions = MlflowClient().search_model_versions("name='zoo-bilstm'")
    assert [v.run_id for v in versions] == [result.run_id]
    assert versions[0].tags["charset"] == config.data.charset and versions[0].tags["input"] == "170x80"
    assert versions[0].tags["lengths"] == "4-4" and "full-sequence accuracy" in versions[0].description
    assert MlflowClient().get_model_version_by_alias("zoo-bilstm", "champion").run_id == result.run_id
    reader = tracking.load_reader(result.model_uri)
    assert reader.model.output_shape == (None, 15, 37) and reader.info.charset == config.data.charset
    logged = Path(mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path / "logged")))
    code = logged / "code" / "zoo"
    assert (code / "inference" / "serving.py").is_file() and (code / "models" / "heads" / "recurrent.py").is_file()
    assert not (code / "pretrained").exists() and not (code / "fitting").exists()  # what reading needs, no more
    assert sum(f.stat().st_size for f in code.rglob("*.py")) < 120_000
    assert sum(f.stat().st_size for f in logged.rglob("*") if f.is_file()) < 6e6


def test_crash_ends_the_run_failed_with_the_error(store, tmp_path):
    from zoo.fitting.loop import train

    from zoo.fitting.checkpoints import RunCheckpoint

    config = make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt")})
    blocker = RunCheckpoint(config).folder / "pending.partial.keras"
    blocker.mkdir(parents=True)  # a folder where the first epoch's checkpoint file must go: saving it fails
    with pytest.raises(Exception):
        train(config)
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED" and "pending.partial.keras" in run.data.tags["zoo.error"]


def test_an_unusable_checkpoint_folder_fails_before_any_run_exists(store, tmp_path):
    from zoo.fitting.loop import train

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the checkpoints should go")
    with pytest.raises(OSError):
        train(make_config("gru", "smoke", 0, {"checkpoint_dir": str(blocker / "ckpt")}))
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


def _train_command(*extra):
    return [sys.executable, "-m", "zoo.train", "--arch", "gru", "--preset", "smoke",
            "--set", RESUMED_PHASES, "--set", "checkpoint_dir=ckpt", *extra]


# a warm-up + cosine phase and a phase that keeps its optimizer: the resumed run reloads a PhaseSchedule
RESUMED_PHASES = ('train.phases=[{epochs=2, lr=1e-3, warmup=1, decay="cosine", end_lr=1e-5}, '
                  '{epochs=1, lr=1e-4, reset=false}]')


def test_killed_run_resumes_as_the_same_run(store, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(_train_command(), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    state_files = []
    while time.time() < deadline and process.poll() is None:
        state_files = list(tmp_path.glob("ckpt/*/state.json"))
        if state_files and json.loads(state_files[0].read_text())["epochs_done"] >= 1:
            break
        time.sleep(0.5)
    from zoo.fitting.checkpoints import RunCheckpoint, RunInUseError

    live = RunCheckpoint(make_config("gru", "smoke", 0, [RESUMED_PHASES, f"checkpoint_dir={tmp_path / 'ckpt'}"]))
    assert live.folder == state_files[0].parent
    with pytest.raises(RunInUseError, match=f"pid {process.pid} on"):  # a second process is refused while it lives
        with live.exclusive():
            pass
    workers = children(process.pid)
    assert workers, "the smoke run renders its batches in worker processes"
    process.send_signal(signal.SIGKILL)  # no chance to clean up
    process.wait()
    deadline = time.time() + 30
    while any(alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "data workers outlived their killed trainer"
    state = json.loads(state_files[0].read_text())
    assert state["epochs_done"] >= 1 and not state["finished"]
    assert run_of(state["run_id"]).info.status == "RUNNING"

    refused = subprocess.run(_train_command(), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    resumed = subprocess.run(_train_command("--resume"), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    noise = ("INFO mlflow", "Add type hints", "CloudPickle", "Validating input example", "UserWarning")
    assert not [line for line in resumed.stderr.splitlines() if any(n in line for n in noise)]  # no dependency notices
    run = run_of(state["run_id"])
    assert run.info.status == "FINISHED"
    assert len(mlflow.search_runs(search_all_experiments=True, output_format="list")) == 1
    assert steps_logged(state["run_id"], "val_seq_acc")[-1] == 3
    assert steps_logged(state["run_id"], "samples_seen") == [1, 2, 3]  # each once, wherever the kill came
    assert run.data.metrics["samples_seen"] == 3 * 2 * 8 and "test_seq_acc" in run.data.metrics
    lrs = {m.step: m.value for m in MlflowClient().get_metric_history(state["run_id"], "lr")}
    assert lrs == pytest.approx({1: 1e-3, 2: 1e-4, 3: 1e-4})  # the schedule, on the optimizer's restored step counter

    again = subprocess.run(_train_command("--resume"), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "already finished" in again.stderr


def test_a_kill_between_an_epochs_metrics_and_its_checkpoint_logs_every_step_once(store, tmp_path, monkeypatch):
    """Issue 31: killed after epoch 2's metrics were logged and before its checkpoint, a resume trained epoch 2
    again and the store held step 2 twice for every metric. Now the epoch's model was staged before its
    metrics were logged, and the resume promotes it instead of training the epoch again."""
    from zoo.fitting import checkpoints
    from zoo.fitting.loop import train

    config = make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "train.phases": [{"epochs": 3, "lr": 1e-3}]})
    promote = checkpoints.RunCheckpoint.commit_staged

    def killed_at_epoch_2(self, run_id, epoch):
        if epoch == 2:
            raise SystemExit("killed")  # epoch 2's metrics are in the store, its checkpoint not yet
        return promote(self, run_id, epoch)

    monkeypatch.setattr(checkpoints.RunCheckpoint, "commit_staged", killed_at_epoch_2)
    with pytest.raises(SystemExit):
        train(config)
    while mlflow.active_run():
        mlflow.end_run("KILLED")
    run_id = checkpoints.RunCheckpoint(config).state().run_id
    assert steps_logged(run_id, "loss") == [1, 2] and checkpoints.RunCheckpoint(config).state().epochs_done == 1
    monkeypatch.setattr(checkpoints.RunCheckpoint, "commit_staged", promote)
    result = train(config, resume=True)
    assert result.run_id == run_id
    for key in ("loss", "val_loss", "val_seq_acc", "lr", "samples_seen", "epoch_time"):
        assert steps_logged(run_id, key) == [1, 2, 3], key  # each epoch once: 2 was not trained again


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_sigterm_ends_with_one_line_and_a_resumable_run(store, tmp_path, how):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(_train_command(), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True, preexec_fn=like_a_terminal)
    deadline = time.time() + 600
    while time.time() < deadline and not list(tmp_path.glob("ckpt/*/state.json")):
        time.sleep(0.5)
    time.sleep(3)  # inside the training loop
    if how == "sigterm":
        process.send_signal(signal.SIGTERM)
    else:  # a terminal's Ctrl-C reaches the whole process group: the trainer and its data workers
        os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "continue it with the same command and --resume" in stderr
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "KILLED"


def test_averaged_weights_are_what_validation_scored_and_what_the_run_keeps(store, tmp_path):
    """train.ema: validation reads the moving average, the best epoch is kept as that average (its saved
    weights give the logged validation loss again), the checkpoint keeps the raw weights and their
    average apart (a phase that goes on with the same optimizer continues from that checkpoint)."""
    from zoo.data.stream import cached_split, source_for
    from zoo.fitting.averaging import averaged_weights
    from zoo.fitting.checkpoints import RunCheckpoint
    from zoo.fitting.loop import train

    phases = [{"epochs": 2, "lr": 3e-3}, {"epochs": 1, "lr": 1e-3, "reset": False}]
    config = make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "train.ema": 0.9,
                                             "train.precision": "fp32", "train.restore_best": True, "train.phases": phases})
    result = train(config, final_test=False)
    logged = {m.step: m.value for m in MlflowClient().get_metric_history(result.run_id, "val_loss")}
    assert sorted(logged) == [1, 2, 3]
    images, labels = cached_split(source_for(config.data, "val"), config.data.val_size, 1)

    def val_loss(model):
        return model.evaluate(images, labels, batch_size=config.train.eval_batch_size, verbose=0, return_dict=True)["loss"]

    checkpoint = RunCheckpoint(config)
    model = checkpoint.load_model()  # the last epoch as a resume would find it: raw weights, their average apart
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == pytest.approx(0.9)
    raw = val_loss(model)
    with averaged_weights(model):
        averaged = val_loss(model)
    assert averaged == pytest.approx(logged[3], rel=1e-5) and raw != pytest.approx(logged[3], rel=1e-3)
    assert val_loss(model) == pytest.approx(raw, rel=1e-6)  # the raw weights are back after the block
    best = checkpoint.best()
    model.load_weights(checkpoint.best_weights_path)
    assert val_loss(model) == pytest.approx(logged[best["epoch"]], rel=1e-5)  # kept as validation scored it


def test_a_moving_average_momentum_outside_0_to_1_is_refused():
    from zoo.config import ConfigError

    for momentum in (1.0, -0.1, float("nan")):
        with pytest.raises(ConfigError, match=r"train.ema is the weights' moving-average momentum: 0 \(off\)"):
            make_config("gru", "smoke", 0, {"train.ema": momentum})
