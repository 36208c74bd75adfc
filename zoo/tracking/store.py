"""The tracking store and its experiments: `MLFLOW_TRACKING_URI` when set (a server, or the URI `mlflow run`
passes down), else the embedded `sqlite:///mlflow.db` at the repository root with artifacts in
`mlartifacts/` beside it, resolved by `connect()` (every MLflow call goes through it); a new SQLite
store is built under a lock; experiments open in the UI's Model-training view."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

# a report reads one small CSV per run: MLflow's per-download progress bar would print hundreds of lines
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import logging  # noqa: E402

import mlflow  # noqa: E402

# "Creating initial MLflow database tables..." / "Updating database tables" on every new store: not news
logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
from mlflow.tracking import MlflowClient  # noqa: E402

from zoo.config import PROJECT_DIR  # noqa: E402  # the checkout, or the working directory of an installed zoo


class TrackingError(RuntimeError):
    pass


def connect() -> str:
    """Point MLflow at the zoo's store and return its URI: the one place the store is chosen."""
    uri = tracking_uri()
    if mlflow.get_tracking_uri() != uri:
        mlflow.set_tracking_uri(uri)
    return uri


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_DIR / 'mlflow.db'}"
    _prepare_store(uri)
    return uri


@functools.lru_cache(maxsize=None)
def _prepare_store(uri: str) -> None:
    """Create (or migrate) a local SQLite store's tables under a file lock: processes that start
    together on a fresh store (study workers, grid runs) would otherwise race on its schema. A new
    store is built under a temporary name and renamed into place once its schema is complete, so a
    process killed while building it leaves no half-made store behind (only the temporary file,
    which the next process replaces)."""
    if not uri.startswith("sqlite:///"):
        return
    database = Path(uri.removeprefix("sqlite:///"))
    if not database.parent.is_dir():
        return  # MLflow's own error names the missing folder
    with open(database.with_name(database.name + ".init-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            partial = database.with_name(database.name + ".partial")
            partial.unlink(missing_ok=True)  # left by a process killed while building it
            MlflowClient(f"sqlite:///{partial}").search_experiments(max_results=1)  # builds the schema
            os.replace(partial, database)
        MlflowClient(uri).search_experiments(max_results=1)  # migrates an existing store if it is older


def launched_by_mlflow_run() -> bool:
    return bool(os.environ.get("MLFLOW_RUN_ID"))


def note_default_experiment(experiment_id: str) -> None:
    if experiment_id == "0":  # MLflow's Default: `mlflow run` without --experiment-name or MLFLOW_EXPERIMENT_NAME
        print("note: this run is in MLflow's Default experiment; give `mlflow run` --experiment-name captcha-zoo "
              "(or export MLFLOW_EXPERIMENT_NAME=captcha-zoo) to keep the zoo's runs together", file=sys.stderr)


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # MLflow 3's UI opens an experiment without it in the GenAI view


MODEL_TRAINING = "custom_model_development"  # ...and with this value in its "Model training" view


def mark_model_training(experiment_id: str) -> None:
    """Tag the experiment for the UI's Model-training view, once. Two workers of a grid may both find
    the tag missing; the loser of that race gets the store's unique-key error, not a failed run."""
    client = MlflowClient()
    if EXPERIMENT_KIND_TAG in client.get_experiment(experiment_id).tags:
        return
    try:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
    except mlflow.exceptions.MlflowException:
        if EXPERIMENT_KIND_TAG not in client.get_experiment(experiment_id).tags:  # not a lost race
            raise


def use_store(experiment: str) -> None:
    connect()
    if launched_by_mlflow_run() or os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return
    ensure_experiment(experiment)
    mark_model_training(mlflow.set_experiment(experiment).experiment_id)


def ensure_experiment(experiment: str) -> str:
    """The id of `experiment` in the tracking store, created when missing (a local store keeps its
    artifacts beside the database)."""
    uri = connect()
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    artifacts = None
    if uri.startswith("sqlite:///"):
        artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    try:
        experiment_id = mlflow.create_experiment(experiment, artifact_location=artifacts)
    except mlflow.exceptions.MlflowException:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:  # not a lost race with another process
            raise
        experiment_id = found.experiment_id
    mark_model_training(experiment_id)
    return experiment_id


@contextlib.contextmanager
def throwaway_store() -> Iterator[str]:
    """Track into a temporary store for the duration (measurements that must not land in the real one),
    then point everything back: the tracking URI, and the active experiment that `mlflow.set_experiment`
    also keeps in MLFLOW_EXPERIMENT_ID (left behind, it names an experiment the real store lacks)."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")}
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
            os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
            yield folder
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        connect()
        mlflow.tracking.fluent._active_experiment_id = None  # no public reset; set_experiment sets it again


def experiment_id(name: str) -> str:
    """The id of an existing experiment; a clear error listing the known ones otherwise."""
    connect()
    experiment = MlflowClient().get_experiment_by_name(name)
    if experiment is None:
        known = sorted(e.name for e in MlflowClient().search_experiments())
        raise TrackingError(f"no experiment {name!r} in {tracking_uri()}; known: {', '.join(known) or '(none)'}")
    return experiment.experiment_id
