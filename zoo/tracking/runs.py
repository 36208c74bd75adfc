"""Runs and their logging: starting, resuming and ending a run (its status always says how it ended),
params, metrics, tags, figures and tables, metric histories, run pages in the UI, and the record a
command leaves in the run `mlflow run` launched."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import subprocess
import tempfile
import traceback
from pathlib import Path
from typing import Any, Iterator

import mlflow
import numpy as np
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

from zoo.config import PROJECT_DIR  # the checkout, or the working directory of an installed zoo
from zoo.tracking.store import (TrackingError, connect, launched_by_mlflow_run, mark_model_training,
                                note_default_experiment, tracking_uri, use_store)


RESUMABLE_STATUSES = {"RUNNING", "FAILED", "KILLED"}


class StopRun(Exception):
    """Raised to stop a run on purpose (a pruned trial): the run ends KILLED with this message."""


def run_status(run_id: str) -> str:
    connect()
    return MlflowClient().get_run(run_id).info.status


@contextlib.contextmanager
def tracked_run(*, run_name: str, experiment: str, tags: dict[str, str], resume_run_id: str | None = None,
                parent_run_id: str | None = None) -> Iterator[str]:
    """Start (or reopen) a run; it ends FINISHED, KILLED on interrupt or StopRun, FAILED with the error."""
    use_store(experiment)
    if resume_run_id and launched_by_mlflow_run() and os.environ["MLFLOW_RUN_ID"] != resume_run_id:
        raise TrackingError("resume a run with `python -m zoo.train ... --resume`, not under `mlflow run`")
    run = mlflow.start_run(run_id=resume_run_id, run_name=None if resume_run_id else run_name, tags=tags,
                           parent_run_id=parent_run_id)
    if resume_run_id:
        _clear_interruption(run)
    if launched_by_mlflow_run():
        mlflow.set_tags({**tags, "mlflow.runName": run_name})
        note_default_experiment(run.info.experiment_id)
        mark_model_training(run.info.experiment_id)
    try:
        yield run.info.run_id
    except KeyboardInterrupt:
        _end_with_error("interrupted (KeyboardInterrupt or SIGTERM); resume with --resume", RunStatus.KILLED)
        raise
    except StopRun as stop:
        _end_with_error(str(stop), RunStatus.KILLED)
        raise
    except BaseException as error:
        _end_with_error(f"{type(error).__name__}: {error}", RunStatus.FAILED)
        raise
    else:
        mlflow.flush_async_logging()
        mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))


def _end_with_error(message: str, status: int) -> None:
    with contextlib.suppress(Exception):
        mlflow.flush_async_logging()
        mlflow.set_tag("zoo.error", message[:4000])
        mlflow.log_text(traceback.format_exc(), "error.txt")
    mlflow.end_run(RunStatus.to_string(status))


def _clear_interruption(run) -> None:
    """A resumed run is no longer in error: its `zoo.error` tag and `error.txt` move into the run's
    history (tag `zoo.interrupted.<n>`, artifact `interruptions/<n>.txt`), so a run that ends
    FINISHED does not still say it failed."""
    error = run.data.tags.get("zoo.error")
    if error is None:
        return
    client = MlflowClient()
    count = sum(key.startswith("zoo.interrupted.") for key in run.data.tags) + 1
    mlflow.set_tag(f"zoo.interrupted.{count}", error)
    with contextlib.suppress(Exception), tempfile.TemporaryDirectory() as folder:
        text = Path(client.download_artifacts(run.info.run_id, "error.txt", folder)).read_text()
        mlflow.log_text(text, f"interruptions/{count}.txt")
    client.delete_tag(run.info.run_id, "zoo.error")
    with contextlib.suppress(Exception):
        _delete_artifact(run, "error.txt")


def _delete_artifact(run, path: str) -> None:
    """Remove one file from a run's artifacts where the artifact store is a local folder (ours)."""
    root = run.info.artifact_uri
    if root.startswith("file://"):
        Path(root.removeprefix("file://"), path).unlink(missing_ok=True)


def versions() -> dict[str, str]:
    found = {}
    for package in ("tensorflow", "keras", "captcha", "mlflow", "numpy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[f"version.{package}"] = importlib.metadata.version(package)
    import keras

    found["keras_backend"] = keras.backend.backend()
    found["git_commit"] = git_commit()
    return found


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR, capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log_params(params: dict[str, Any]) -> None:
    mlflow.log_params({key: str(value) for key, value in params.items()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    mlflow.log_metrics({key: float(value) for key, value in metrics.items()}, step=step)


def set_tags(tags: dict[str, str]) -> None:
    mlflow.set_tags(tags)


def log_figure(figure, path: str, run_id: str | None = None) -> None:
    """Log a matplotlib figure (to the active run, or to `run_id`), then close it: pyplot keeps every
    figure it made (Optuna's plots) alive otherwise; zoo.plotting's figures are freed when dropped."""
    import matplotlib.pyplot as plt

    try:
        if run_id is None:
            mlflow.log_figure(figure, path)
        else:
            MlflowClient().log_figure(run_id, figure, path)
    finally:
        plt.close(figure)


def log_text(text: str, path: str) -> None:
    mlflow.log_text(text, path)


def log_dict(data: dict, path: str) -> None:
    mlflow.log_dict(data, path)


def log_table(frame, path: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / Path(path).name
        frame.to_csv(target, index=False)
        mlflow.log_artifact(str(target), str(Path(path).parent) if Path(path).parent != Path(".") else None)


def metric_history(run_id: str, keys: list[str]) -> dict[str, dict[int, float]]:
    """{key: {step: value}} from the store (the last value wins where a step was logged twice)."""
    client = MlflowClient()
    return {key: {m.step: m.value for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.timestamp)} for key in keys}


def epoch_logger():
    """A Keras callback that logs every epoch's metrics at step = epoch number (1-based), synchronously:
    the checkpoint that says the epoch is done is written after it, so a kill in between can never lose
    an epoch's metrics that a resume would skip (one write per epoch: milliseconds against minutes).
    Built on demand, so that reading runs back (reports, tables) never imports Keras."""
    import keras

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            values = {key: float(value) for key, value in (logs or {}).items() if np.isscalar(value) or np.ndim(value) == 0}
            mlflow.log_metrics(values, step=epoch + 1, synchronous=True)

    return EpochLogger()


def create_run(experiment: str, run_name: str, tags: dict[str, str]) -> str:
    """A RUNNING run that this process does not make active (a study's parent run); its id. It carries
    the tags `mlflow.start_run` gives a run (source name and type, user, git commit)."""
    from mlflow.tracking.context.registry import resolve_tags

    use_store(experiment)
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or mlflow.get_experiment_by_name(experiment).experiment_id
    return MlflowClient().create_run(experiment_id, run_name=run_name, tags=resolve_tags(tags)).info.run_id


LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves a local store


def run_page(run_id: str) -> str:
    """The run's page in the MLflow UI, in its Model-training view (`workflowType=machine_learning`;
    without it MLflow 3 may open the GenAI view): the server's own address, or `mlflow ui`'s for a local store."""
    uri = tracking_uri()
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI
    return f"{base}/#/experiments/{run_experiment_id(run_id)}/runs/{run_id}?workflowType=machine_learning"


def run_page_line(run_id: str) -> str:
    """`run_page` as a line to print, saying how to start the UI when the store is local."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        return f"  view: {run_page(run_id)}"
    return f"  view: {run_page(run_id)} (after: mlflow ui --backend-store-uri {uri})"


def run_experiment_id(run_id: str) -> str:
    """The id of the experiment that holds run `run_id`."""
    connect()
    return MlflowClient().get_run(run_id).info.experiment_id


def log_to_run(run_id: str, *, params: dict[str, Any] | None = None, metrics: dict[str, float] | None = None,
               tags: dict[str, str] | None = None, texts: dict[str, str] | None = None, figures: dict[str, Any] | None = None) -> None:
    """Params, metrics, tags, text files and figures logged to a run given by id."""
    from mlflow.entities import Metric, Param, RunTag
    import time

    client, now = MlflowClient(), int(time.time() * 1000)
    existing = client.get_run(run_id).data.params
    new_params = {key: str(value) for key, value in (params or {}).items() if key not in existing}
    client.log_batch(run_id, metrics=[Metric(key, float(value), now, 0) for key, value in (metrics or {}).items()],
                     params=[Param(key, value[:6000]) for key, value in new_params.items()],
                     tags=[RunTag(key, str(value)) for key, value in (tags or {}).items()])
    for path, text in (texts or {}).items():
        client.log_text(run_id, text, path)
    for path, figure in (figures or {}).items():
        log_figure(figure, path, run_id)


def record_in_launched_run(*, tags: dict[str, str], params: dict[str, Any] | None = None,
                           metrics: dict[str, float] | None = None, texts: dict[str, str] | None = None,
                           folder: Path | None = None, artifact_path: str | None = None) -> str | None:
    """Under `mlflow run`, a command that makes no training run of its own (compare, report) records in
    the run MLflow opened for it what it did (its parameters, counts, tables, written files), so that
    run is not left empty; elsewhere nothing is logged. Returns the launched run's id, or None."""
    if not launched_by_mlflow_run():
        return None
    run_id = os.environ["MLFLOW_RUN_ID"]
    connect()
    note_default_experiment(run_experiment_id(run_id))
    log_to_run(run_id, params=params, metrics=metrics, tags=tags, texts=texts)
    if folder is not None:
        MlflowClient().log_artifacts(run_id, str(folder), artifact_path)
    return run_id


def end_run(run_id: str, status: str = "FINISHED") -> None:
    MlflowClient().set_terminated(run_id, status)


def end_if_running(run_id: str, status: str, reason: str) -> None:
    """End a run that a dead process left RUNNING (e.g. after SIGKILL); a run this store does not hold
    (its process ran on another machine, e.g. a committed study's trial) is left alone."""
    client = MlflowClient()
    if run_exists(run_id) and client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, "zoo.error", reason)
        client.set_terminated(run_id, status)


def run_exists(run_id: str) -> bool:
    connect()
    try:
        MlflowClient().get_run(run_id)
        return True
    except mlflow.exceptions.MlflowException:
        return False


def reopen_run(run_id: str, experiment: str) -> None:
    """Mark an earlier session's run RUNNING again (a resumed study's parent run)."""
    use_store(experiment)
    MlflowClient().update_run(run_id, status="RUNNING")
