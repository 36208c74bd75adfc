"""`zoo.load(spec)`: any model the zoo can read, as a Reader. Shipped names, model folders and `.keras`
files are read by zoo.inference.pretrained (no tracking store, no MLflow); MLflow URIs
(`models:/zoo-bigru@champion`, `runs:/<id>/model`) from the tracking store by zoo.tracking, which needs
the `train` extra."""

from __future__ import annotations

from pathlib import Path

from zoo.inference import export, pretrained
from zoo.inference.pretrained import DEFAULT_MODEL, ModelLoadError
from zoo.inference.reader import Reader


def load(spec: str = DEFAULT_MODEL, *, charset: str | None = None, min_length: int | None = None,
         max_length: int | None = None, runtime: str = "auto", resize: str | None = None) -> Reader:
    """A Reader from a shipped name (`bigru`), a model folder, a `.keras` file, or an MLflow URI
    (`models:/zoo-bigru@champion`, `runs:/<id>/model`). charset/lengths/resize override the model's own;
    runtime as zoo.inference.pretrained.load says ("auto", "keras", "onnx")."""
    if not pretrained.is_uri(spec):
        return pretrained.load(spec, charset=charset, min_length=min_length, max_length=max_length, runtime=runtime,
                               resize=resize)
    if runtime not in export.RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; accepted: {', '.join(export.RUNTIMES)}")
    try:
        from zoo import tracking
    except ImportError as error:
        raise ModelLoadError(f"reading {spec} needs MLflow ({error}): pip install -e '.[train]', or read a "
                             f"shipped model ({', '.join(pretrained.shipped())}) or a model folder") from None
    try:
        reader = tracking.load_reader(spec)
    except tracking.TrackingError as error:
        raise ModelLoadError(str(error)) from None
    reader = pretrained.with_overrides(reader, pretrained.given_overrides(charset, min_length, max_length, resize))
    if runtime == "onnx":
        reader = Reader(export.cached_onnx(reader.model), reader.info, f"{reader.source} (ONNX Runtime)")
    return reader


def keras_model(spec: str) -> tuple:
    """The Keras model of anything `load` accepts and the charset it reads (train.init); a bare .keras
    file needs no card and gives no charset (its weights only)."""
    path = Path(spec)
    if path.is_file() and path.suffix == ".keras" and not (path.parent / pretrained.CARD_FILE).is_file():
        return pretrained.load_keras(path), None
    reader = load(spec, runtime="keras")
    return reader.model, reader.info.charset
