"""Keras reader models as LiteRT (TFLite) flatbuffers or ONNX graphs, for CPU inference outside Keras.

    path = to_litert(model, "bigru.tflite", quantize="dynamic")
    logits = LiteRTModel(path).predict_on_batch(images)   # uint8 b x h x w x 3 -> b x steps x classes+1
    logits = OnnxModel(to_onnx(model, "bigru.onnx")).predict_on_batch(images)   # the same, in ONNX Runtime
    cached_onnx(model)   # converted once into the cache (zoo.predict --runtime onnx)

The recurrent layers are unrolled first (same weights, same outputs): a TFLite graph of Keras'
`while` loop needs TensorFlow's Flex delegate, which the plain interpreter does not carry.
`quantize`: "none" (float32), "dynamic" (int8 weights, float activations) or "int8" (weights and
activations, calibrated on `calibration` images). ONNX (Keras' `model.export(format="onnx")`, which
uses tf2onnx: the `train` extra; ONNX Runtime: every install): "none" or "int8" (static QDQ, per-channel int8
convolutions, uint8 activations calibrated on `calibration`). `python -m zoo.bench --exports`
measures them all against the Keras model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

RUNTIMES = ("auto", "keras", "onnx")  # what zoo.load(..., runtime=) and zoo.predict --runtime accept
QUANTIZATIONS = ("none", "dynamic", "int8")
ONNX_QUANTIZATIONS = ("none", "int8")
ONNX_OPSET = 17
RECURRENT_LAYERS = {"GRU", "LSTM", "SimpleRNN"}


def unrolled(model, float32: bool = True):
    """The same model with every recurrent layer unrolled over its (fixed) number of steps, computing
    in float32 (a model trained in mixed bfloat16 keeps that policy in its layers; exports are float32)
    unless `float32=False` keeps each layer's policy (zoo.bench's bf16 set-up)."""
    from zoo.models.builder import _float32_policy, rebuilt

    def unroll(node: dict) -> bool:
        if node.get("class_name") in RECURRENT_LAYERS and isinstance(node.get("config"), dict):
            node["config"]["unroll"] = True
            return True
        return False

    return rebuilt(model, lambda node: unroll(node) | (float32 and _float32_policy(node)))


def _check_quantization(quantize: str, accepted: tuple[str, ...], calibration: np.ndarray | None) -> None:
    if quantize not in accepted:
        raise ValueError(f"unknown quantization {quantize!r}; accepted: {', '.join(accepted)}")
    if quantize == "int8" and (calibration is None or not len(calibration)):
        raise ValueError("int8 quantization needs calibration images (a few hundred like the inputs)")


def to_litert(model, path: str | Path, quantize: str = "none", calibration: np.ndarray | None = None) -> Path:
    """Write `model` as a .tflite file; "int8" needs `calibration` (uint8 images like the inputs)."""
    import tensorflow as tf

    _check_quantization(quantize, QUANTIZATIONS, calibration)
    options: dict[str, Any] = {}
    if quantize != "none":
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        options["representative_dataset"] = lambda: ([calibration[i:i + 1]] for i in range(len(calibration)))
    path = Path(path)
    unrolled(model).export(str(path), format="litert", verbose=False, **options)
    return path


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter  # the maintained runtime, when installed
    except ImportError:
        import warnings

        import tensorflow as tf

        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        Interpreter = tf.lite.Interpreter
    return Interpreter


class LiteRTModel:
    """A .tflite reader model with Keras' `predict_on_batch` (the interpreter is resized per batch size)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import os

        self.interpreter = _interpreter_class()(model_path=str(path), num_threads=threads or os.cpu_count())
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = (None, *self.input["shape"][1:])
        self.output_shape = (None, *self.output["shape"][1:])  # steps x classes+1
        self._batch = None

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        if self._batch != len(images):
            self.interpreter.resize_tensor_input(self.input["index"], [len(images), *self.input["shape"][1:]])
            self.interpreter.allocate_tensors()
            self._batch = len(images)
        self.interpreter.set_tensor(self.input["index"], images.astype(self.input["dtype"], copy=False))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).astype(np.float32)  # b x steps x classes+1


def onnx_available() -> bool:
    """Whether models can be converted to ONNX here (tf2onnx and onnxruntime: the `train` extra)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("tf2onnx", "onnxruntime"))


def onnxruntime_available() -> bool:
    """Whether .onnx models can be read here (onnxruntime: every install of the zoo has it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _require_onnx() -> None:
    if not onnx_available():
        raise ImportError("converting a model to ONNX needs TensorFlow and tf2onnx: pip install -e '.[train]'")


def to_onnx(model, path: str | Path, quantize: str = "none", calibration: np.ndarray | None = None) -> Path:
    """Write `model` as an .onnx file (input "image": uint8 b x h x w x 3); "int8" needs `calibration`."""
    _check_quantization(quantize, ONNX_QUANTIZATIONS, calibration)
    _require_onnx()
    import keras

    path = Path(path)
    copy = unrolled(model)  # the same fixed-length steps as for LiteRT: plain MatMul/Sigmoid/Tanh ops, no loop
    signature = [keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="uint8", name="image")]
    float_path = path if quantize == "none" else path.with_suffix(".float.onnx")
    with warnings.catch_warnings():  # Keras' bundled tf2onnx probes the removed np.object
        warnings.simplefilter("ignore", FutureWarning)
        copy.export(str(float_path), format="onnx", input_signature=signature, opset_version=ONNX_OPSET, verbose=False)
    if quantize == "int8":
        _quantize_onnx(float_path, path, calibration)
        float_path.unlink()
    return path


def _quantize_onnx(source: Path, target: Path, calibration: np.ndarray) -> None:
    """Static int8 QDQ quantization of the convolutions (per channel), activations calibrated by min/max."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_static)

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"image": calibration[i:i + 16]} for i in range(0, len(calibration), 16)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(source), str(target), Batches(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


class OnnxModel:
    """An .onnx reader model in ONNX Runtime's CPU provider, with Keras' `predict_on_batch`."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import os

        if not onnxruntime_available():
            raise ImportError("reading an .onnx model needs onnxruntime: pip install onnxruntime")
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count()
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0]
        self.input_shape = (None, *self.input.shape[1:])
        self.output_shape = (None, *self.session.get_outputs()[0].shape[1:])  # steps x classes+1

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        feed = {self.input.name: np.asarray(images, dtype=np.uint8)}
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)  # b x steps x classes+1


def onnx_cache_dir() -> Path:
    """Where converted models are kept: `onnx/` in the zoo's cache (zoo.data.stream.cache_dir, $ZOO_CACHE_DIR)."""
    from zoo.data.stream import cache_dir

    return cache_dir() / "onnx"


def weights_digest(model) -> str:
    """sha256 of the model's input shape, layer names and weights: the same model converts to the same file."""
    import hashlib

    digest = hashlib.sha256(repr((model.input_shape, [layer.name for layer in model.layers])).encode())
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def cached_onnx(model) -> OnnxModel:
    """`model` in ONNX Runtime, converted once (~20 s here) and then loaded from the cache.

    The file is written under a temporary name and renamed when complete, so a killed conversion
    never leaves a half-written model in the cache; its sha256 is kept beside it (`.sha256`) and
    checked at every load, so a cached file changed on disk (flipped weight bytes that would still
    load) or one ONNX Runtime cannot load is converted again."""
    import sys

    from zoo.inference.pretrained import sha256

    _require_onnx()
    path = onnx_cache_dir() / f"{weights_digest(model)}.onnx"
    recorded = path.with_suffix(".onnx.sha256")
    if path.is_file():
        try:
            if recorded.is_file() and recorded.read_text().strip() == sha256(path):
                return OnnxModel(path)
        except Exception:  # ONNX Runtime raises its own (pybind) error types for a damaged file
            pass
        print(f"note: the cached {path.name} does not match its recorded sha256 (changed or damaged): converting again",
              file=sys.stderr)
        path.unlink()
    _convert_into(model, path)
    recorded.write_text(sha256(path) + "\n")
    return OnnxModel(path)


def _convert_into(model, path: Path) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.stem}.{os.getpid()}.onnx"
    try:
        to_onnx(model, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
