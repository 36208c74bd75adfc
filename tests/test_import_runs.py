"""A store's finished runs copied into another (the GPU machine's packed store into the shared one)."""

import pytest
from mlflow.tracking import MlflowClient

from zoo import tracking
from zoo.config import config_hash, make_config
from zoo.tracking import import_runs

pytestmark = pytest.mark.slow


def test_finished_runs_are_imported_once_and_never_trained_again(store, tmp_path, monkeypatch):
    from zoo.fitting.loop import train
    from zoo.grids.compare import grid_run_status

    gpu_store = f"sqlite:///{tmp_path / 'gpu' / 'mlflow.db'}"
    (tmp_path / "gpu").mkdir()
    config = make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "gpu-ckpt"), "tracking.experiment": "moved"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gpu_store)
    trained = train(config)  # as on the GPU machine: its own store
    source_metrics = MlflowClient(gpu_store).get_run(trained.run_id).data.metrics
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # back here: the shared store
    local = make_config("gru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "tracking.experiment": "moved"})
    assert grid_run_status(local) == "new"

    outcome = import_runs.import_runs(gpu_store, "moved")
    assert list(outcome) == [trained.run_id] and outcome[trained.run_id].startswith("imported as ")
    copy = MlflowClient().get_run(outcome[trained.run_id].removeprefix("imported as "))
    assert copy.info.status == "FINISHED" and copy.info.run_name == "gru-smoke-s0"
    assert copy.data.metrics == source_metrics and copy.data.tags["config_hash"] == config_hash(config)
    assert len(MlflowClient().get_metric_history(copy.info.run_id, "val_seq_acc")) == 2  # the whole curve
    files = {a.path for folder in ("", "model", "errors") for a in MlflowClient().list_artifacts(copy.info.run_id, folder)}
    assert {"config.json", "errors/misreads.csv", "model/MLmodel"} <= files
    assert grid_run_status(local) == "finished"  # a campaign or worker here never trains it again
    uri = tracking.run_model_uri(copy.info.run_id)
    assert uri == f"runs:/{copy.info.run_id}/model"  # what a campaign ships from
    import numpy as np

    assert isinstance(tracking.load_reader(uri).predict([np.full((80, 170, 3), 255, np.uint8)])[0].text, str)

    again = import_runs.import_runs(gpu_store, "moved")
    assert again[trained.run_id].startswith("skipped: gru-smoke-s0 is already finished here")
    assert len(MlflowClient().search_runs([tracking.experiment_id("moved")])) == 1
    with pytest.raises(tracking.TrackingError, match="no experiment 'nothing'"):
        import_runs.import_runs(gpu_store, "nothing")
