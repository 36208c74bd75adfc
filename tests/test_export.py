"""LiteRT and ONNX exports of a trained zoo model read what the Keras model reads."""

import numpy as np
import pytest

from zoo.inference import export, pretrained
from zoo.config import make_config
from zoo.data.stream import CaptchaSource, render
from zoo.inference.reader import Reader


@pytest.fixture(scope="module")
def shipped():
    return pretrained.load("bigru-cpu", runtime="keras")


@pytest.fixture(scope="module")
def test_images():
    data = make_config("bigru", "reference").data
    images, _ = render(CaptchaSource.from_config(data, seed=data.test_seed), 48)
    return images


@pytest.mark.slow
def test_float_export_gives_the_keras_logits_and_texts(shipped, test_images, tmp_path):
    path = export.to_litert(shipped.model, tmp_path / "bigru.tflite")
    lite = export.LiteRTModel(path)
    keras_logits = shipped.model.predict_on_batch(test_images)
    assert np.abs(lite.predict_on_batch(test_images) - keras_logits).max() < 1e-4
    assert np.abs(lite.predict_on_batch(test_images[:5]) - keras_logits[:5]).max() < 1e-4  # resized to another batch
    exported, original = Reader(lite, shipped.info).predict(test_images), shipped.predict(test_images)
    assert [r.text for r in exported] == [r.text for r in original]
    assert [r.confidence for r in exported] == pytest.approx([r.confidence for r in original], abs=1e-4)


@pytest.mark.slow
def test_onnx_float_export_gives_the_keras_logits_and_texts(shipped, test_images, tmp_path):
    onnx = export.OnnxModel(export.to_onnx(shipped.model, tmp_path / "bigru.onnx"))
    assert onnx.input_shape == shipped.model.input_shape
    keras_logits = shipped.model.predict_on_batch(test_images)
    assert np.abs(onnx.predict_on_batch(test_images) - keras_logits).max() < 1e-4
    assert np.abs(onnx.predict_on_batch(test_images[:1]) - keras_logits[:1]).max() < 1e-4  # any batch size
    exported, original = Reader(onnx, shipped.info).predict(test_images), shipped.predict(test_images)
    assert [r.text for r in exported] == [r.text for r in original]
    assert [r.confidence for r in exported] == pytest.approx([r.confidence for r in original], abs=1e-4)


def test_onnx_int8_export_quantizes_the_convolutions(shipped, test_images, tmp_path):
    import onnx

    path = export.to_onnx(shipped.model, tmp_path / "int8.onnx", "int8", test_images[:16])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["int8.onnx"]  # the float intermediate is removed
    graph = onnx.load(str(path)).graph
    convs = [node for node in graph.node if node.op_type == "Conv"]
    weights_quantized = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    assert convs and all(conv.input[1] in weights_quantized for conv in convs)
    logits = export.OnnxModel(path).predict_on_batch(test_images[:4])
    assert logits.shape == shipped.model.predict_on_batch(test_images[:4]).shape and np.isfinite(logits).all()


def test_unrolled_model_has_the_same_weights_and_outputs(shipped, test_images):
    copy = export.unrolled(shipped.model)
    assert any(getattr(layer, "unroll", False) for layer in _all_layers(copy))
    assert np.array_equal(copy.predict_on_batch(test_images[:4]), shipped.model.predict_on_batch(test_images[:4]))
    assert {layer.dtype_policy.name for layer in _all_layers(copy)} == {"float32"}


def test_unrolled_can_keep_a_mixed_precision_policy():
    """zoo.bench's `bf16_unrolled` set-up: unrolled, still computing in bfloat16."""
    import keras

    from zoo.models.builder import create_model

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = create_model("bigru", height=32, width=64, num_classes=11, conv_filters=(8, 16))
    finally:
        keras.config.set_dtype_policy(policy)
    kept = export.unrolled(model, float32=False)
    assert any(getattr(layer, "unroll", False) for layer in _all_layers(kept))
    assert kept.get_layer("conv1_1").dtype_policy.name == "mixed_bfloat16"
    assert export.unrolled(model).get_layer("conv1_1").dtype_policy.name == "float32"


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "forward_layer"):  # Bidirectional
            yield layer.forward_layer
            yield layer.backward_layer


@pytest.mark.parametrize("convert, quantize, calibration, message", [
    (export.to_litert, "fp16", None, "unknown quantization 'fp16'; accepted: none, dynamic, int8"),
    (export.to_litert, "int8", None, "int8 quantization needs calibration images"),
    (export.to_onnx, "dynamic", None, "unknown quantization 'dynamic'; accepted: none, int8"),
    (export.to_onnx, "int8", np.zeros((0, 80, 170, 3), np.uint8), "int8 quantization needs calibration images"),
])
def test_bad_export_options_are_refused_before_converting(shipped, tmp_path, convert, quantize, calibration, message):
    with pytest.raises(ValueError, match=message):
        convert(shipped.model, tmp_path / "x.model", quantize, calibration)
    assert not list(tmp_path.iterdir())
