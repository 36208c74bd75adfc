"""Every MLflow call of the zoo lives here.

Store: `MLFLOW_TRACKING_URI` when set (a server, or the URI `mlflow run` passes down), else the
embedded `sqlite:///mlflow.db` at the repository root, with artifacts in `mlartifacts/` beside it.
Under `mlflow run` the run and experiment already exist (MLFLOW_RUN_ID): they are used as they
are and `set_experiment` is never called.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Iterator

# a report reads one small CSV per run: MLflow's per-download progress bar would print hundreds of lines
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import logging  # noqa: E402

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

# "Creating initial MLflow database tables..." / "Updating database tables" on every new store: not news
logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
from mlflow.entities import RunStatus  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from zoo.config import PROJECT_DIR  # noqa: E402  # the checkout, or the working directory of an installed zoo
RESUMABLE_STATUSES = {"RUNNING", "FAILED", "KILLED"}


class TrackingError(RuntimeError):
    pass


class StopRun(Exception):
    """Raised to stop a run on purpose (a pruned trial): the run ends KILLED with this message."""


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


def _note_default_experiment(experiment_id: str) -> None:
    if experiment_id == "0":  # MLflow's Default: `mlflow run` without --experiment-name or MLFLOW_EXPERIMENT_NAME
        print("note: this run is in MLflow's Default experiment; give `mlflow run` --experiment-name captcha-zoo "
              "(or export MLFLOW_EXPERIMENT_NAME=captcha-zoo) to keep the zoo's runs together", file=sys.stderr)


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # MLflow 3's UI opens an experiment without it in the GenAI view
MODEL_TRAINING = "custom_model_development"  # ...and with this value in its "Model training" view


def _mark_model_training(experiment_id: str) -> None:
    experiment = MlflowClient().get_experiment(experiment_id)
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        MlflowClient().set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)


def _use_store(experiment: str) -> None:
    mlflow.set_tracking_uri(tracking_uri())
    if launched_by_mlflow_run() or os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return
    ensure_experiment(experiment)
    _mark_model_training(mlflow.set_experiment(experiment).experiment_id)


def ensure_experiment(experiment: str) -> str:
    """The id of `experiment` in the tracking store, created when missing (a local store keeps its
    artifacts beside the database)."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
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
    _mark_model_training(experiment_id)
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
        mlflow.set_tracking_uri(tracking_uri())
        mlflow.tracking.fluent._active_experiment_id = None  # no public reset; set_experiment sets it again


def run_status(run_id: str) -> str:
    mlflow.set_tracking_uri(tracking_uri())
    return MlflowClient().get_run(run_id).info.status


@contextlib.contextmanager
def tracked_run(*, run_name: str, experiment: str, tags: dict[str, str], resume_run_id: str | None = None,
                parent_run_id: str | None = None) -> Iterator[str]:
    """Start (or reopen) a run; it ends FINISHED, KILLED on interrupt or StopRun, FAILED with the error."""
    _use_store(experiment)
    if resume_run_id and launched_by_mlflow_run() and os.environ["MLFLOW_RUN_ID"] != resume_run_id:
        raise TrackingError("resume a run with `python -m zoo.train ... --resume`, not under `mlflow run`")
    run = mlflow.start_run(run_id=resume_run_id, run_name=None if resume_run_id else run_name, tags=tags,
                           parent_run_id=parent_run_id)
    if resume_run_id:
        _clear_interruption(run)
    if launched_by_mlflow_run():
        mlflow.set_tags({**tags, "mlflow.runName": run_name})
        _note_default_experiment(run.info.experiment_id)
        _mark_model_training(run.info.experiment_id)
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
    open figure alive otherwise."""
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


@contextlib.contextmanager
def _mlflow_notices_off() -> Iterator[None]:
    """MLflow's notices while logging the pyfunc, none of which a zoo user can act on: the CloudPickle
    caution (the model object is the zoo's own class) and "Validating input example against model
    signature"; errors still show (the type-hint advice is filtered where the class is defined)."""
    loggers = [logging.getLogger(name) for name in ("mlflow.pyfunc", "mlflow.models")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def pip_requirements() -> list[str]:
    pins = []
    for package in ("keras", "tensorflow", "jax", "numpy", "pillow", "pandas", "mlflow"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            pins.append(f"{package}=={importlib.metadata.version(package)}")
    return pins


def log_reader_model(model, *, registered_name: str | None, metadata: dict[str, Any],
                     score: float | None = None) -> str:
    """Log `model` (an uncompiled copy) as the zoo's image -> text pyfunc (zoo.inference.serving); return its URI.

    `metadata` (charset, lengths, arch) is both the MLflow model metadata and the pyfunc's model
    config. With `registered_name`, the new version becomes the `champion` alias when its `score`
    (test full-sequence accuracy) beats the current champion's, or when there is none.
    """
    import keras

    from zoo.inference import serving

    run_id = mlflow.active_run().info.run_id
    logged = _logged_models(run_id)
    for pending in (m for m in logged if not str(m.status).endswith("READY")):  # a kill while logging
        MlflowClient().finalize_logged_model(pending.model_id, "FAILED")
    ready = [m for m in logged if str(m.status).endswith("READY")]
    if ready:  # a resumed run whose model was logged before the kill: register it once, never twice
        uri = ready[-1].model_uri
        if registered_name:
            versions = MlflowClient().search_model_versions(f"name = '{registered_name}' and run_id = '{run_id}'")
            version = versions[0].version if versions else mlflow.register_model(uri, registered_name).version
            _describe_version(registered_name, str(version), metadata, model.input_shape, score)
            if score is not None:
                _promote_if_better(registered_name, str(version), score)
        return uri
    from zoo.models.builder import with_keras_batch_norm

    # same weights, no loss/optimizer, Keras' own BatchNormalization (the fused one is a training step):
    # the saved model.keras loads with plain Keras, without the zoo package
    inference = with_keras_batch_norm(keras.Model(model.inputs, model.outputs, name=model.name))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        inference.save(path)
        with _mlflow_notices_off():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=serving.CaptchaReaderModel(),
                artifacts={serving.KERAS_ARTIFACT: str(path)},
                model_config=metadata,
                code_paths=[_package_code(Path(folder))],  # the zoo package travels with the model
                signature=serving.signature(),
                input_example=serving.input_example(metadata, *model.input_shape[1:3]),
                pip_requirements=pip_requirements(),
                metadata=metadata,
                registered_model_name=registered_name,
            )
    if registered_name:
        _describe_version(registered_name, str(info.registered_model_version), metadata, model.input_shape, score)
    if registered_name and score is not None:
        _promote_if_better(registered_name, str(info.registered_model_version), score)
    return info.model_uri


def _describe_version(name: str, version: str, metadata: dict[str, Any], input_shape, score: float | None) -> None:
    """A registered version says what it reads and how well, as the model card does: a description
    and tags (charset, lengths, input size, arch, run, test accuracy) the Models page shows."""
    height, width = int(input_shape[1]), int(input_shape[2])
    lengths = f"{metadata['min_length']}-{metadata['max_length']}" if "min_length" in metadata and "max_length" in metadata else None
    accuracy = f"{score:.2%} full-sequence accuracy on its test set" if score is not None else "not tested"
    client = MlflowClient()
    client.update_model_version(name, version, description=(
        f"`{metadata.get('arch', '?')}` reader of {lengths or 'some'} characters of `{metadata.get('charset', '?')}` from "
        f"{width}x{height} images (any image is adapted); {accuracy}. Run {metadata.get('run_name', '')}."))
    tags = {"arch": metadata.get("arch"), "charset": metadata.get("charset"), "lengths": lengths,
            "input": f"{width}x{height}", "run_name": metadata.get("run_name"),
            **({"test_seq_acc": f"{score:.4f}"} if score is not None else {})}
    for key, value in tags.items():
        if value is not None:
            client.set_model_version_tag(name, version, key, str(value))


def _promote_if_better(name: str, version: str, score: float, alias: str = "champion") -> None:
    client = MlflowClient()
    try:
        current = client.get_model_version_by_alias(name, alias)
        best = client.get_run(current.run_id).data.metrics.get("test_seq_acc", float("-inf"))
    except mlflow.exceptions.MlflowException:  # no champion yet
        best = float("-inf")
    if score > best:
        client.set_registered_model_alias(name, alias, version)


# What a logged model needs to be read and served: the pyfunc and the reader, image fitting and the
# label vocabulary, and the model definitions its .keras file names (CTC layers, heads). Training,
# tracking, studies and reports stay behind (a test serves a logged model from this copy alone).
INFERENCE_CODE = ("__init__.py", "_quiet.py", "data/__init__.py", "data/images.py", "data/labels.py",
                  "inference/__init__.py", "inference/reader.py", "inference/decoding.py", "inference/serving.py", "models")


def _package_code(folder: Path) -> str:
    """The part of the zoo package a logged model needs (INFERENCE_CODE), without bytecode caches."""
    import shutil

    source = Path(__file__).resolve().parents[1]
    target = folder / "code" / source.name
    for part in INFERENCE_CODE:
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source / part, target / part)
    return str(target)


@contextlib.contextmanager
def own_code_kept():
    """mlflow.pyfunc.load_model puts the logged model's copy of the zoo package (only what reading
    needs, INFERENCE_CODE) first on sys.path and drops the zoo modules already imported. In a process
    that goes on training (`--init models:/...`), later imports and the data workers it spawns would
    then find the copy, not this zoo, and fail on what the copy lacks: put both back afterwards.
    Zoo modules imported meanwhile from this zoo stay imported; only the copy's are dropped."""
    path = list(sys.path)
    modules = {name: module for name, module in sys.modules.items() if name == "zoo" or name.startswith("zoo.")}
    own_folder = str(Path(__file__).resolve().parents[1]) + os.sep  # this zoo package's folder
    try:
        yield
    finally:
        sys.path[:] = path
        for name, module in list(sys.modules.items()):
            if (name == "zoo" or name.startswith("zoo.")) and not str(getattr(module, "__file__", "") or "").startswith(own_folder):
                del sys.modules[name]
        sys.modules.update(modules)


def load_reader(uri: str):
    """A logged or registered model (`models:/zoo-bigru/1`, `models:/zoo-bigru@champion`,
    `runs:/<id>/model`) as a `zoo.inference.reader.Reader`; models logged in the Keras flavor load too."""
    from zoo.inference.reader import ModelInfo, Reader

    mlflow.set_tracking_uri(tracking_uri())
    try:
        info = mlflow.models.get_model_info(uri)
        if "keras" in info.flavors:  # logged by an earlier zoo: the Keras flavor plus metadata
            return Reader(mlflow.keras.load_model(uri), ModelInfo.from_metadata(info.metadata or {}, uri), uri)
        with own_code_kept():
            pyfunc = mlflow.pyfunc.load_model(uri)
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(f"cannot load model {uri!r} from {tracking_uri()}: {error.message}") from None
    python_model = pyfunc.unwrap_python_model()
    if not hasattr(python_model, "reader"):
        raise TrackingError(f"model {uri!r} is not a zoo reader model")
    return Reader(python_model.reader.model, python_model.reader.info, uri)


def model_run(uri: str) -> dict[str, Any]:
    """The run that logged model `uri`: its id, params, metrics and tags."""
    mlflow.set_tracking_uri(tracking_uri())
    try:
        run = MlflowClient().get_run(mlflow.models.get_model_info(uri).run_id)
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(f"cannot find the run of model {uri!r}: {error.message}") from None
    return {"run_id": run.info.run_id, "params": dict(run.data.params), "metrics": dict(run.data.metrics),
            "tags": dict(run.data.tags)}


# ---- reading runs back (comparisons and reports) ------------------------------------------------

def experiment_id(name: str) -> str:
    """The id of an existing experiment; a clear error listing the known ones otherwise."""
    mlflow.set_tracking_uri(tracking_uri())
    experiment = MlflowClient().get_experiment_by_name(name)
    if experiment is None:
        known = sorted(e.name for e in MlflowClient().search_experiments())
        raise TrackingError(f"no experiment {name!r} in {tracking_uri()}; known: {', '.join(known) or '(none)'}")
    return experiment.experiment_id


def finished_run_ids(experiment: str, config_hash: str, arch_hash: str | None = None) -> list[str]:
    """FINISHED zoo runs of `experiment` whose config hash is `config_hash` ([] if the experiment is new)
    and, with `arch_hash`, whose resolved architecture is that one (runs from before the tag count)."""
    mlflow.set_tracking_uri(tracking_uri())
    found = MlflowClient().get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = MlflowClient().search_runs([found.experiment_id], f"tags.config_hash = '{config_hash}' and attributes.status = 'FINISHED'")
    return [run.info.run_id for run in runs if arch_hash is None or run.data.tags.get("arch_hash", arch_hash) == arch_hash]


def zoo_runs(experiment: str):
    """One row per FINISHED zoo run of `experiment` (pandas, columns as `mlflow.search_runs` names them)."""
    runs = mlflow.search_runs([experiment_id(experiment)], "attributes.status = 'FINISHED'", output_format="pandas")
    if runs.empty or "tags.arch" not in runs:
        return runs.iloc[0:0]
    return runs[runs["tags.arch"].notna()].reset_index(drop=True)


def _logged_models(run_id: str) -> list:
    run = MlflowClient().get_run(run_id)
    return mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                       filter_string=f"source_run_id = '{run_id}'", output_format="list")


def run_model_uri(run_id: str) -> str | None:
    """The URI of the reader model a run logged (`models:/m-...`), None when it logged none."""
    mlflow.set_tracking_uri(tracking_uri())
    ready = [model for model in _logged_models(run_id) if str(model.status).endswith("READY")]
    if ready:
        return ready[-1].model_uri
    if any(a.path == "model/MLmodel" for a in MlflowClient().list_artifacts(run_id, "model")):
        return f"runs:/{run_id}/model"  # a run imported from another store (zoo.tracking.import_runs)
    return None


def run_summary(run_id: str) -> dict[str, Any]:
    """epochs_logged, train_hours (sum of epoch times), test_seq_acc (when tested) and machine (the param
    the run logged: where it trained) of one run."""
    mlflow.set_tracking_uri(tracking_uri())
    history = metric_history(run_id, ["epoch_time"])["epoch_time"]
    data = MlflowClient().get_run(run_id).data
    summary = {"epochs_logged": len(history), "train_hours": sum(history.values()) / 3600 if history else None,
               "machine": data.params.get("machine")}
    accuracy = data.metrics.get("test_seq_acc")
    if accuracy is not None:
        summary["test_seq_acc"] = accuracy
    return summary


def best_finished_run(experiment: str) -> dict[str, Any] | None:
    """The FINISHED zoo run of `experiment` with the highest test full-sequence accuracy that logged a
    model: run_id, run_name, test_seq_acc, model_uri; None when there is none (or no such experiment yet)."""
    mlflow.set_tracking_uri(tracking_uri())
    if MlflowClient().get_experiment_by_name(experiment) is None:
        return None  # a campaign's first command: nothing of it has run yet
    runs = zoo_runs(experiment)
    if runs.empty or "metrics.test_seq_acc" not in runs:
        return None
    for _, run in runs.sort_values("metrics.test_seq_acc", ascending=False).iterrows():
        uri = run_model_uri(run["run_id"])
        if uri:
            return {"run_id": run["run_id"], "run_name": run["tags.mlflow.runName"],
                    "test_seq_acc": float(run["metrics.test_seq_acc"]), "model_uri": uri}
    return None


def metric_histories(run_ids: list[str], keys: list[str]):
    """Long table run_id, key, step, value (the last value where a step was logged twice)."""
    import pandas as pd

    rows = [
        {"run_id": run_id, "key": key, "step": step, "value": value}
        for run_id in run_ids
        for key, steps in metric_history(run_id, keys).items()
        for step, value in steps.items()
    ]
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def load_table(run_id: str, path: str, dtype=None):
    """A CSV artifact of a run as a DataFrame, or None when the run has no such artifact (`dtype` as pandas takes it)."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=folder)
        except (mlflow.exceptions.MlflowException, OSError):
            return None
        return pd.read_csv(local, keep_default_na=False, dtype=dtype)


# ---- runs written from outside (a study's parent run, stale trial runs) -------------------------

def create_run(experiment: str, run_name: str, tags: dict[str, str]) -> str:
    """A RUNNING run that this process does not make active (a study's parent run); its id. It carries
    the tags `mlflow.start_run` gives a run (source name and type, user, git commit)."""
    from mlflow.tracking.context.registry import resolve_tags

    _use_store(experiment)
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
    mlflow.set_tracking_uri(tracking_uri())
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
    mlflow.set_tracking_uri(tracking_uri())
    _note_default_experiment(run_experiment_id(run_id))
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
    mlflow.set_tracking_uri(tracking_uri())
    try:
        MlflowClient().get_run(run_id)
        return True
    except mlflow.exceptions.MlflowException:
        return False


def reopen_run(run_id: str, experiment: str) -> None:
    """Mark an earlier session's run RUNNING again (a resumed study's parent run)."""
    _use_store(experiment)
    MlflowClient().update_run(run_id, status="RUNNING")
