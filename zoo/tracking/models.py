"""Logged models and the registry: a trained reader logged as an MLflow pyfunc with the zoo's own
inference code, its registered version described like a model card, the `champion` alias moved only
to a better version, and readers loaded back from any model URI."""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import mlflow
from mlflow.tracking import MlflowClient

from zoo.tracking.store import TrackingError, connect, tracking_uri


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

    connect()
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
    connect()
    try:
        run = MlflowClient().get_run(mlflow.models.get_model_info(uri).run_id)
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(f"cannot find the run of model {uri!r}: {error.message}") from None
    return {"run_id": run.info.run_id, "params": dict(run.data.params), "metrics": dict(run.data.metrics),
            "tags": dict(run.data.tags)}


def _logged_models(run_id: str) -> list:
    run = MlflowClient().get_run(run_id)
    return mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                       filter_string=f"source_run_id = '{run_id}'", output_format="list")


def run_model_uri(run_id: str) -> str | None:
    """The URI of the reader model a run logged (`models:/m-...`), None when it logged none."""
    connect()
    ready = [model for model in _logged_models(run_id) if str(model.status).endswith("READY")]
    if ready:
        return ready[-1].model_uri
    if any(a.path == "model/MLmodel" for a in MlflowClient().list_artifacts(run_id, "model")):
        return f"runs:/{run_id}/model"  # a run imported from another store (zoo.tracking.import_runs)
    return None
