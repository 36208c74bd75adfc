"""Keras reader models as LiteRT (TFLite) flatbuffers, for CPU inference outside Keras.

    path = to_litert(model, "bigru.tflite", quantize="dynamic")
    logits = LiteRTModel(path).predict_on_batch(images)   # uint8 b x h x w x 3 -> b x steps x classes+1

The recurrent layers are unrolled first (same weights, same outputs): a TFLite graph of Keras'
`while` loop needs TensorFlow's Flex delegate, which the plain interpreter does not carry.
`quantize`: "none" (float32), "dynamic" (int8 weights, float activations) or "int8" (weights and
activations, calibrated on `calibration` images). `python -m zoo.bench --exports` measures them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

QUANTIZATIONS = ("none", "dynamic", "int8")
RECURRENT_LAYERS = {"GRU", "LSTM", "SimpleRNN"}


def unrolled(model):
    """The same model with every recurrent layer unrolled over its (fixed) number of steps."""
    config = model.get_config()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") in RECURRENT_LAYERS and isinstance(node.get("config"), dict):
                node["config"]["unroll"] = True
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def to_litert(model, path: str | Path, quantize: str = "none", calibration: np.ndarray | None = None) -> Path:
    """Write `model` as a .tflite file; "int8" needs `calibration` (uint8 images like the inputs)."""
    import tensorflow as tf

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantize!r}; accepted: {', '.join(QUANTIZATIONS)}")
    if quantize == "int8" and (calibration is None or not len(calibration)):
        raise ValueError("int8 quantization needs calibration images (a few hundred like the inputs)")
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
        self._batch = None

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        if self._batch != len(images):
            self.interpreter.resize_tensor_input(self.input["index"], [len(images), *self.input["shape"][1:]])
            self.interpreter.allocate_tensors()
            self._batch = len(images)
        self.interpreter.set_tensor(self.input["index"], images.astype(self.input["dtype"], copy=False))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).astype(np.float32)  # b x steps x classes+1
