"""Runs finished in another store, copied into this one: the borrowed GPU machine's packed store merged
into the shared one, the way a worker would have written them.

    python -m zoo.import_runs sqlite:////tmp/gpu-state/mlflow.db heads-reference
    # into $MLFLOW_TRACKING_URI (a team's server) or the checkout's mlflow.db

Each FINISHED zoo run of the experiment in the source store is created again in the target store
(same name, tags, params, every metric's history, start and end time, artifacts, the logged model's
files under `model/`), tagged `zoo.imported_from` with its source run. A run whose config hash
already has a FINISHED run in the target is skipped (imported before, or trained here), so the
import can be repeated, and a campaign or worker that then looks for the run finds it finished
and never trains it again on a CPU. A failure halfway deletes the half-copied run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from zoo import tracking

BATCH = 1000  # MLflow's log_batch limit for metrics


def import_runs(source_uri: str, experiment: str) -> dict[str, str]:
    """Copy `experiment`'s FINISHED zoo runs from the store at `source_uri` into the tracking store;
    returns {source run id: what happened ("imported as <id>" or why skipped)}."""
    source = MlflowClient(tracking_uri=source_uri)
    found = source.get_experiment_by_name(experiment)
    if found is None:
        names = ", ".join(e.name for e in source.search_experiments()) or "none"
        raise tracking.TrackingError(f"no experiment {experiment!r} in {source_uri}; it has: {names}")
    experiment_id = tracking.ensure_experiment(experiment)  # the target: created like any zoo experiment
    target = MlflowClient()
    outcome = {}
    for run in source.search_runs([found.experiment_id], "attributes.status = 'FINISHED'"):
        config_hash = run.data.tags.get("config_hash")
        if not config_hash or "arch" not in run.data.tags:
            outcome[run.info.run_id] = "skipped: not a zoo run (no config_hash/arch tags)"
            continue
        there = tracking.finished_run_ids(experiment, config_hash)
        if there:
            outcome[run.info.run_id] = f"skipped: {run.info.run_name} is already finished here ({there[0]})"
            continue
        outcome[run.info.run_id] = f"imported as {_copy(source, target, run, experiment_id, source_uri)}"
    return outcome


def _copy(source: MlflowClient, target: MlflowClient, run, experiment_id: str, source_uri: str) -> str:
    tags = {key: value for key, value in run.data.tags.items() if not key.startswith("mlflow.") or key in
            ("mlflow.runName", "mlflow.source.git.commit", "mlflow.source.name", "mlflow.user")}
    tags["zoo.imported_from"] = f"{source_uri} run {run.info.run_id}"
    copy = target.create_run(experiment_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name)
    new_id = copy.info.run_id
    try:
        params = [Param(key, value) for key, value in run.data.params.items()]
        for start in range(0, len(params), 100):
            target.log_batch(new_id, params=params[start:start + 100])
        metrics = [Metric(m.key, m.value, m.timestamp, m.step) for key in run.data.metrics
                   for m in source.get_metric_history(run.info.run_id, key)]
        for start in range(0, len(metrics), BATCH):
            target.log_batch(new_id, metrics=metrics[start:start + BATCH])
        with tempfile.TemporaryDirectory() as folder:
            local = source.download_artifacts(run.info.run_id, "", folder)
            if any(Path(local).iterdir()):
                target.log_artifacts(new_id, local)
            for model in _logged_models(source_uri, run):  # the reader model's files, as the run's model/ folder
                files = mlflow.artifacts.download_artifacts(artifact_uri=model.artifact_location,
                                                            dst_path=str(Path(folder) / "model"))
                _as_run_artifact(Path(files) / "MLmodel", run.info.run_id, new_id)
                target.log_artifacts(new_id, files, "model")
        target.set_terminated(new_id, "FINISHED", end_time=run.info.end_time)
    except BaseException:
        target.delete_run(new_id)  # never half a run that looks finished or blocks a retry
        raise
    return new_id


def _as_run_artifact(mlmodel: Path, old_run_id: str, new_run_id: str) -> None:
    """The MLmodel file of a logged model, as a plain artifact of the new run: without the source store's
    `model_id` (MLflow would look that logged model up in this store, where it does not exist)."""
    if mlmodel.is_file():
        lines = [line.replace(old_run_id, new_run_id) for line in mlmodel.read_text().splitlines()
                 if not line.startswith("model_id:")]
        mlmodel.write_text("\n".join(lines) + "\n")


def _logged_models(source_uri: str, run) -> list:
    """The source run's logged models (MLflow's fluent search reads the current store: switched for it)."""
    current = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(source_uri)
    try:
        return mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list",
                                           filter_string=f"source_run_id = '{run.info.run_id}'")
    finally:
        mlflow.set_tracking_uri(current)
