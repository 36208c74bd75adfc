"""The tracking module's own guarantees, against a real SQLite store."""

import os
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from zoo import config, tracking


def test_a_throwaway_store_leaves_the_real_store_usable(store):
    """zoo.bench measures tracking overhead in a temporary store; the run it then logs must land in the
    real one (it crashed with `No Experiment with id=1 exists` on a fresh store)."""
    with tracking.throwaway_store():
        with tracking.tracked_run(run_name="overhead", experiment="bench-overhead", tags={}):
            pass
    with tracking.tracked_run(run_name="bench", experiment="bench", tags={}) as run_id:
        pass
    assert MlflowClient().get_run(run_id).info.status == "FINISHED"
    assert mlflow.get_experiment_by_name("bench") is not None
    assert mlflow.get_experiment_by_name("bench-overhead") is None  # nothing of the throwaway store leaked


def test_a_new_experiment_has_no_best_run_to_ship(store):
    # a campaign's first command asks for the best finished run before its experiment exists
    assert tracking.best_finished_run("campaign-not-started") is None


def test_a_resumed_run_registers_its_model_once_and_drops_its_interruption(store, tmp_path):
    """A kill between model registration and the end of the run, then --resume: one registered
    version, not two; the run that then ends FINISHED no longer carries the kill as its error."""
    from zoo.config import make_config
    from zoo.fitting.loop import train

    result = train(make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "tracking.register_model": True}))
    client = MlflowClient()
    assert [str(v.version) for v in client.search_model_versions("name = 'zoo-gru'")] == ["1"]
    with pytest.raises(KeyboardInterrupt):  # killed after the model was registered
        with tracking.tracked_run(run_name="gru-smoke-s0", experiment="captcha-zoo", tags={}, resume_run_id=result.run_id):
            raise KeyboardInterrupt
    killed = client.get_run(result.run_id)
    assert killed.info.status == "KILLED" and "zoo.error" in killed.data.tags

    model = tracking.load_reader(result.model_uri).model
    with tracking.tracked_run(run_name="gru-smoke-s0", experiment="captcha-zoo", tags={}, resume_run_id=result.run_id):
        uri = tracking.log_reader_model(model, registered_name="zoo-gru", metadata={"charset": "AB"}, score=0.5)
    assert uri == result.model_uri
    assert [str(v.version) for v in client.search_model_versions("name = 'zoo-gru'")] == ["1"]
    finished = client.get_run(result.run_id)
    assert finished.info.status == "FINISHED" and "zoo.error" not in finished.data.tags
    assert "interrupted" in finished.data.tags["zoo.interrupted.1"]
    artifacts = {a.path for folder in ("", "interruptions") for a in client.list_artifacts(result.run_id, folder)}
    assert "interruptions/1.txt" in artifacts and "error.txt" not in artifacts


def test_the_read_side_imports_no_deep_learning_framework(tmp_path):
    """Reports, run tables, campaign state, grid plans, model cards and the commands' --help read MLflow or
    files only: no 8-15 s TensorFlow import (Keras loads when a model is read)."""
    import subprocess
    import sys

    code = ("import sys, zoo.report, zoo.campaign, zoo.compare, zoo.pretrained, zoo.predict, zoo.reporting.report, "
            "zoo.tracking.run_tables, zoo.grids.campaign, zoo.grids.compare, zoo.inference.pretrained, zoo.inference.reader; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    repo = Path(__file__).resolve().parents[1]
    plan = (f"import sys; from zoo.grids import compare; grid = compare.load_grid('{repo / 'experiments/grids/heads-reference.toml'}'); "
            "[compare.grid_run_status(config) for config in grid.run_configs()]; "  # what `zoo.compare --dry-run` does
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", plan], capture_output=True, text=True, check=True, cwd=tmp_path,
                            env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'plan.db'}",
                                 "PYTHONPATH": str(repo)})
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_compare_and_report_under_mlflow_run_record_what_they_did_in_the_launched_run(store, tmp_path, monkeypatch):
    from zoo.commands import compare, report

    client = MlflowClient()
    experiment = client.create_experiment("launched")
    for command in ("compare", "report"):  # `mlflow run . -e <command>` opens a run and passes its id down
        launched = client.create_run(experiment, run_name=command).info.run_id
        monkeypatch.setenv("MLFLOW_RUN_ID", launched)
        monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment)
        if command == "compare":
            grid = tmp_path / "grid.toml"
            grid.write_text('kind = "comparison"\nexperiment = "g"\npreset = "smoke"\narchs = ["bigru", "gru"]\nseeds = [0]\n')
            assert compare.main([str(grid), "--dry-run"]) == 0
            run = client.get_run(launched)
            assert run.data.tags["kind"] == "grid" and run.data.params["archs"] == "bigru,gru"
            assert run.data.metrics["runs"] == 2 and run.data.metrics["runs_finished"] == 0
            assert "grid.csv" in {artifact.path for artifact in client.list_artifacts(launched)}
        else:
            assert report.main(["--from-csv", str(config.PROJECT_DIR / "reports" / "heads"), "--out", str(tmp_path / "r")]) == 0
            run = client.get_run(launched)
            assert run.data.tags["kind"] == "report" and run.data.metrics["runs"] > 0
            assert "report/README.md" in {artifact.path for artifact in client.list_artifacts(launched, "report")}


def test_the_zoos_experiments_open_in_the_ui_model_training_view(store):
    tracking.create_run("kind-check", "r", {})
    experiment = MlflowClient().get_experiment_by_name("kind-check")
    assert experiment.tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"


def test_a_worker_that_loses_the_race_to_tag_the_experiment_goes_on_and_a_real_error_still_raises(store, monkeypatch):
    """Two grid workers may both find the tag missing; the server answers the second with a unique-key
    error (seen in CI on PostgreSQL). Here the other worker wins between our read and our write."""
    experiment_id = mlflow.create_experiment("race")
    client_class = tracking.store.MlflowClient
    real_set = client_class.set_experiment_tag

    def lose_the_race(self, experiment, key, value):
        real_set(self, experiment, key, value)  # the other worker's write
        raise mlflow.exceptions.MlflowException("duplicate key value violates unique constraint experiment_tag_pk")

    monkeypatch.setattr(client_class, "set_experiment_tag", lose_the_race)
    tracking.store.mark_model_training(experiment_id)  # no error: the tag is there
    assert MlflowClient().get_experiment(experiment_id).tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"

    def fail(self, experiment, key, value):
        raise mlflow.exceptions.MlflowException("the store is read-only")

    monkeypatch.setattr(client_class, "set_experiment_tag", fail)
    other = mlflow.create_experiment("race-2")
    with pytest.raises(mlflow.exceptions.MlflowException, match="read-only"):
        tracking.store.mark_model_training(other)


def test_a_finished_run_of_an_edited_variant_is_stale(store, tmp_path):
    from zoo.grids import compare
    from zoo.config import arch_hash, config_hash, make_config

    config = make_config("gru", "smoke", 0, {"tracking.experiment": "stale", "checkpoint_dir": str(tmp_path / "ckpt")})
    experiment = MlflowClient().create_experiment("stale")
    assert compare.grid_run_status(config) == "new"
    for tags, expected in (({"arch_hash": "0ther000"}, "new"), ({}, "finished"), ({"arch_hash": arch_hash(config)}, "finished")):
        run = MlflowClient().create_run(experiment, tags={"config_hash": config_hash(config), **tags})
        MlflowClient().set_terminated(run.info.run_id, "FINISHED")
        assert compare.grid_run_status(config) == expected, tags  # the old definition's run, a run from before the tag, a match
        MlflowClient().delete_run(run.info.run_id)


def test_own_code_kept_drops_a_foreign_zoo_copy_and_keeps_this_zoo(tmp_path):
    """What mlflow.pyfunc.load_model does to a process (a logged copy of the zoo first on sys.path,
    modules imported from it) is undone; zoo modules imported meanwhile from this checkout stay."""
    import importlib
    import sys

    copy = tmp_path / "code" / "zoo"
    copy.mkdir(parents=True)
    (copy / "__init__.py").write_text("")
    (copy / "only_in_the_copy.py").write_text("VALUE = 1\n")
    own_zoo = sys.modules["zoo"]
    path_before = list(sys.path)
    sys.modules.pop("zoo.reporting.stats", None)
    with tracking.own_code_kept():
        importlib.import_module("zoo.reporting.stats")  # from this checkout
        sys.path.insert(0, str(copy.parent))
        for name in [name for name in sys.modules if name == "zoo"]:
            del sys.modules[name]
        assert importlib.import_module("zoo.only_in_the_copy").VALUE == 1
        assert sys.modules["zoo"] is not own_zoo
    assert sys.path == path_before
    assert sys.modules["zoo"] is own_zoo
    assert "zoo.only_in_the_copy" not in sys.modules
    assert "zoo.reporting.stats" in sys.modules


@pytest.mark.slow
def test_a_process_killed_while_creating_the_store_leaves_none_half_made(tmp_path):
    """Issue 31: SIGTERM during "Creating initial MLflow database tables" once left 21 of 65 tables, and
    every later process failed on `table logged_models already exists`."""
    import signal
    import subprocess
    import sys
    import time

    import sqlite3

    database = tmp_path / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{database}"}
    create = [sys.executable, "-c", "from zoo import tracking; tracking.tracking_uri()"]
    for delay in (1.5, 2.0, 2.5, 3.0, 3.5):  # kills before, during and after the schema is built
        process = subprocess.Popen(create, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if database.exists():  # a store under the real name is always a whole one
            tables = sqlite3.connect(database).execute("select count(*) from sqlite_master where type='table'").fetchone()[0]
            assert tables > 30, (delay, tables)
    assert subprocess.run(create, env=env, capture_output=True, text=True).returncode == 0
    assert database.exists() and not (tmp_path / "mlflow.db.partial").exists()
