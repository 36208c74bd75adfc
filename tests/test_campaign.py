"""A campaign: runs a grid one training at a time, writes its state and CSVs, commits, ships the best."""

import json
import subprocess

import mlflow
import numpy as np
import pandas as pd
import pytest

from conftest import like_a_terminal
from zoo.commands import campaign as campaign_command
from zoo.grids import campaign, compare
from zoo.inference import pretrained
from zoo.tracking import shipping

pytestmark = pytest.mark.slow


def test_campaign_records_commits_and_ships_what_it_finished(store, tmp_path, monkeypatch):
    grid_file = tmp_path / "camp.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "camp"\narchs = ["gru"]\npreset = "smoke"\nseeds = [0]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}" }}\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.email", "test@example.com"], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.name", "test"], check=True)
    out = repo / "reports" / "camp"

    assert campaign_command.main([str(grid_file), "--status", "--out", str(out)]) == 0
    assert "**0 of 1 runs finished**" in (out / "STATE.md").read_text()
    assert campaign_command.main([str(grid_file), "--commit", "--keep-models", "--out", str(out)]) == 0

    state = (out / "STATE.md").read_text()
    assert "**1 of 1 runs finished**" in state and "| gru-smoke-s0 | finished | 2/2 | 32 |" in state
    from zoo.machine import hardware

    assert f"| {hardware.machine_description()} |" in state  # the row says where the run trained
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["run_name"]) == ["gru-smoke-s0"] and 0 <= runs["test_seq_acc"][0] <= 1
    assert set(pd.read_csv(out / "curves.csv")["epoch"]) == {1, 2}
    from mlflow.tracking import MlflowClient

    assert MlflowClient().search_registered_models() == []  # a smoke model is logged, never zoo-gru@champion
    committed = subprocess.run(["git", "-C", str(repo), "show", "--name-only", "--format=%s", "HEAD"],
                               capture_output=True, text=True, check=True).stdout
    assert "campaign camp: gru-smoke-s0 finished" in committed and "reports/camp/runs.csv" in committed
    # --keep-models: the head's model kept beside the report, committed, readable without the store
    assert "reports/camp/models/gru-smoke-s0/model.keras" in committed and "reports/camp/models/gru-smoke-s0/card.json" in committed
    kept_card = pretrained.shipped_card("gru-smoke-s0", out / "models")
    assert kept_card["arch"] == "gru" and kept_card["source"]["run_id"] == runs["run_id"][0]
    assert kept_card["training_command"] == f"python -m zoo.train --grid {grid_file} --run gru-smoke-s0"
    assert kept_card["test"]["seq_acc"] == pytest.approx(runs["test_seq_acc"][0], abs=1e-4)
    assert not (out / "models" / "gru-smoke-s0" / "model.onnx").exists()  # a record, not a served reader
    assert kept_card["load_as"] == str((out / "models" / "gru-smoke-s0").resolve())  # its card reads it by path, not name
    assert f"zoo.load('{kept_card['load_as']}')" in (out / "models" / "gru-smoke-s0" / "README.md").read_text()
    assert "models/gru-smoke-s0" in (out / "README.md").read_text()  # the report names it
    kept_sha = kept_card["sha256"]["model.keras"]

    grid = compare.load_grid(grid_file)
    shipped_dir = tmp_path / "pretrained"
    assert "shipped best-gru" in campaign.ship_if_better(grid, "best-gru", shipped_dir).line
    card = pretrained.shipped_card("best-gru", shipped_dir)
    assert card["load_as"] == str((shipped_dir / "best-gru").resolve())  # outside zoo/pretrained: read by path
    assert card["test"]["seq_acc"] == pytest.approx(runs["test_seq_acc"][0], abs=1e-4) and card["samples_in_all"] == 32
    assert card["trained_on"]["keras_backend"] == "tensorflow" and card["trained_on"]["machine"]
    assert "does not beat the shipped" in campaign.ship_if_better(grid, "best-gru", shipped_dir).line  # not better than itself
    mlflow.MlflowClient().log_metric(runs["run_id"][0], "test_seq_acc", 0.99470001, step=1)  # not exact at 4 digits
    assert campaign.ship_if_better(grid, "best-gru", shipped_dir).shipped  # it beats its old card
    card_file = shipped_dir / "best-gru" / "card.json"
    assert json.loads(card_file.read_text())["test"]["seq_acc"] == 0.9947  # below the run's own score
    assert not campaign.ship_if_better(grid, "best-gru", shipped_dir).shipped  # the same run is never shipped again
    shipping.ship(card["source"]["model_uri"], "best-gru", shipped_dir)  # shipped again: the same lineage
    assert pretrained.shipped_card("best-gru", shipped_dir)["samples_in_all"] == 32

    (out / "notes.txt").write_text("Trained beside other work.\n")  # a caveat given once with zoo.report --note
    assert campaign_command.main([str(grid_file), "--out", str(out)]) == 0  # all done: nothing retrained
    assert len(pd.read_csv(out / "runs.csv")) == 1
    assert "## Notes\n\n- Trained beside other work." in (out / "README.md").read_text()  # its report keeps the notes

    # a fresh machine: no tracking store, no checkpoints, only what was committed
    import shutil

    shutil.rmtree(tmp_path / "ckpt")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", fresh)
    mlflow.set_tracking_uri(fresh)
    assert campaign_command.main([str(grid_file), "--keep-models", "--out", str(out)]) == 0
    assert not (tmp_path / "ckpt").exists()  # nothing trained again
    assert pretrained.shipped_card("gru-smoke-s0", out / "models")["sha256"]["model.keras"] == kept_sha  # kept as it was
    from zoo import loading

    reader = loading.load(str(out / "models" / "gru-smoke-s0"), runtime="keras")  # read on a machine without the run
    assert reader.info.arch == "gru" and len(reader.predict(np.zeros((1, reader.height, reader.width, 3), "uint8"))) == 1
    again = pd.read_csv(out / "runs.csv")
    assert list(again["run_id"]) == list(runs["run_id"])  # the committed row is kept, not lost
    assert "**1 of 1 runs finished**" in (out / "STATE.md").read_text()
    assert f"| {hardware.machine_description()} |" in (out / "STATE.md").read_text()  # where it trained, from its row


def test_a_run_of_another_task_or_test_never_replaces_a_shipped_model(store, tmp_path):
    """Issue 31: a 2-digit run shipped over the 99.59% `bigru`. Only the same task, on the same test, and better ships."""
    import shutil

    grid_file = tmp_path / "digits.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "digits"\narchs = ["gru"]\npreset = "smoke"\nseeds = [0]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "data.charset" = "0123456789", '
                         '"data.min_length" = 2, "data.max_length" = 2 }\n')
    assert campaign_command.main([str(grid_file), "--out", str(tmp_path / "out")]) == 0
    grid = compare.load_grid(grid_file)
    shipped_dir = tmp_path / "pretrained"
    (shipped_dir / "bigru").mkdir(parents=True)
    shutil.copy(pretrained.PRETRAINED_DIR / "bigru" / "card.json", shipped_dir / "bigru")  # the real card, as shipped
    before = (shipped_dir / "bigru" / "card.json").read_text()

    refused = campaign.ship_if_better(grid, "bigru", shipped_dir)
    assert not refused.shipped and "another task or test" in refused.line
    assert "charset '0123456789' instead of '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'" in refused.line
    assert "max_length '2' instead of '4'" in refused.line and "test_size '16' instead of '10000'" in refused.line
    assert (shipped_dir / "bigru" / "card.json").read_text() == before and not (shipped_dir / "bigru" / "model.keras").exists()

    first = campaign.ship_if_better(grid, "digits", shipped_dir)  # a name of its own: nothing to protect
    assert first.shipped and pretrained.shipped_card("digits", shipped_dir)["task"]["charset"] == "0123456789"
    card = pretrained.shipped_card("digits", shipped_dir)
    assert pretrained.card_task(card) == pretrained.card_task({k: v for k, v in card.items() if k != "task"}) | {"test_size": "16"}


def test_bad_hours_are_refused(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        campaign_command.main(["experiments/grids/campaign-reference.toml", "--hours", "0"])
    assert exit_info.value.code == 2


def test_ctrl_c_on_a_grid_leaves_its_training_killed_and_resumable(store, tmp_path):
    import os
    import signal
    import sys
    import time

    import mlflow

    grid_file = tmp_path / "camp.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "interrupted"\narchs = ["gru"]\npreset = "smoke"\nseeds = [0]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "train.phases" = [{{ epochs = 30, lr = 1e-3 }}] }}\n')
    process = subprocess.Popen([sys.executable, "-m", "zoo.compare", str(grid_file)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=like_a_terminal)
    deadline = time.time() + 600
    while time.time() < deadline and not list(tmp_path.glob("ckpt/*/last.keras")):
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the grid, its training and the data workers
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130 and "interrupted; rerun the same command to resume the grid" in stderr, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "KILLED"  # ended by the training itself, not left RUNNING by a SIGKILL
    assert compare.grid_run_status(compare.load_grid(grid_file).run_configs()[0]) == "resume"


def test_the_state_estimates_the_runs_left_by_their_samples():
    """Finished 128k runs of 0.34 h (one of them paused for an hour meanwhile) and a 512k run not started:
    1.36 h left, not one run's 0.34 h, and not skewed by the paused run (the median run sets the rate)."""
    from pathlib import Path

    from zoo.grids.campaign import RunState, state_markdown
    from zoo.config.grids import GridBlock, GridConfig

    grid = GridConfig("budgets", [GridBlock(["bigru"], ["a-128k", "a-512k"], [0])], source=Path("experiments/budgets.toml"))
    states = [RunState("bigru-a-128k-s0", "finished", 20, 20, 128_000, 0.34, 0.95),
              RunState("bigru-a-128k-s1", "finished", 20, 20, 128_000, 1.34, 0.95),
              RunState("bigru-a-128k-s2", "finished", 20, 20, 128_000, 0.34, 0.95),
              RunState("bigru-a-512k-s0", "new", 0, 80, 512_000, None, None)]
    text = state_markdown(grid, states, "a test box")
    assert "**3 of 4 runs finished**" in text
    assert "Measured: 0.27 h per 100,000 samples (the median run, on the machines below); about 1.4 h of runs left." in text


def test_a_run_in_progress_resumes_before_the_grid_order_goes_on():
    """A grid reordered (or a run left half-done by a killed campaign) resumes what has a checkpoint first."""
    from zoo.grids.campaign import RunState, unfinished_in_order

    names = ["a-s1", "b-s1", "a-s2", "b-s2"]
    states = [RunState("a-s1", "finished", 20, 20, 1, 0.3, 0.9), RunState("b-s1", "new", 0, 20, 1, None, None),
              RunState("a-s2", "new", 0, 20, 1, None, None), RunState("b-s2", "in progress", 7, 20, 1, 0.1, None)]
    assert unfinished_in_order(names, states) == ["b-s2", "b-s1", "a-s2"]


def _git_repo(path):
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "config", "user.email", "test@example.com"], check=True)
    subprocess.run(["git", "-C", str(path), "config", "user.name", "test"], check=True)
    return path


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "Z" not in state.split()[1]  # a zombie has ended; only its exit status is left to collect


def test_two_campaigns_on_one_grid_train_each_run_once(store, tmp_path):
    """Issue 31: each campaign fixed its to-do list at start, so both trained s1; the report counted it twice."""
    import sys

    grid_file = tmp_path / "twice.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "twice"\narchs = ["gru"]\npreset = "smoke"\nseeds = [0, 1]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}" }}\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "zoo.campaign", str(grid_file), "--out", str(out)]
    campaigns = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=600)[0] for process in campaigns]
    assert [process.returncode for process in campaigns] == [0, 0], outputs
    assert sum("left to it" in output or "finished meanwhile" in output for output in outputs) >= 1, outputs
    runs = mlflow.search_runs(experiment_names=["twice"], output_format="list")
    assert sorted(run.info.run_name for run in runs) == ["gru-smoke-s0", "gru-smoke-s1"]
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert sorted(pd.read_csv(out / "runs.csv")["seed"]) == [0, 1]


def test_a_run_trained_twice_counts_once_in_a_report():
    from zoo.tracking.run_tables import RunTables

    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "arch": "gru", "seed": [1, 1, 2], "preset": "p",
                         "config_hash": ["h1", "h1", "h2"], "test_seq_acc": [0.9, 0.8, 0.7]})
    curves = pd.DataFrame({"run_id": ["a", "b", "c"], "epoch": 1, "val_seq_acc": 0.5})
    errors = pd.DataFrame({"run_id": ["a", "b", "c"], "char": "0", "occurrences": 4, "errors": 1})
    tables = RunTables("x", runs, curves, errors)
    assert list(tables.runs["run_id"]) == ["a", "c"] and list(tables.curves["run_id"]) == ["a", "c"]
    assert list(tables.char_errors["run_id"]) == ["a", "c"]


def test_a_killed_campaign_takes_its_training_with_it_and_its_rerun_commits(store, tmp_path):
    """Issue 31: after `kill -9` of a campaign its training ran on; the rerun found its lock, and the next committed nothing."""
    import signal
    import sys
    import time

    grid_file = tmp_path / "killed.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "killed"\narchs = ["gru"]\npreset = "smoke"\nseeds = [0]\n'
                         f'overrides = {{ checkpoint_dir = "{tmp_path / "ckpt"}", "train.phases" = [{{ epochs = 4, lr = 1e-3 }}] }}\n')
    repo = _git_repo(tmp_path / "repo")
    out = repo / "reports" / "killed"
    process = subprocess.Popen([sys.executable, "-m", "zoo.campaign", str(grid_file), "--commit", "--out", str(out)],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and not list(tmp_path.glob("ckpt/*/last.keras")):
        time.sleep(0.2)
    (lock,) = tmp_path.glob("ckpt/*/lock")
    child = int(lock.read_text().split()[1])  # "pid N on host": the training
    assert _alive(child)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 5  # at once (PR_SET_PDEATHSIG); its 3 epochs and test left outlast this if it ran on
    while time.time() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child)  # the training died with its campaign
    assert campaign_command.main([str(grid_file), "--commit", "--out", str(out)]) == 0  # resumed, not refused
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert "finished" in log and (out / "runs.csv").is_file()
    assert not subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout
