"""LiteRT exports of a trained zoo model read what the Keras model reads."""

import numpy as np
import pytest

from zoo import export, pretrained
from zoo.config import make_config
from zoo.data import CaptchaSource, render
from zoo.reader import Reader


@pytest.fixture(scope="module")
def shipped():
    return pretrained.load("bigru-cpu")


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


def test_unrolled_model_has_the_same_weights_and_outputs(shipped, test_images):
    copy = export.unrolled(shipped.model)
    assert any(getattr(layer, "unroll", False) for layer in _all_layers(copy))
    assert np.array_equal(copy.predict_on_batch(test_images[:4]), shipped.model.predict_on_batch(test_images[:4]))


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "forward_layer"):  # Bidirectional
            yield layer.forward_layer
            yield layer.backward_layer


@pytest.mark.parametrize("quantize, calibration, message", [
    ("fp16", None, "unknown quantization 'fp16'; accepted: none, dynamic, int8"),
    ("int8", None, "int8 quantization needs calibration images"),
])
def test_bad_export_options_are_refused_before_converting(shipped, tmp_path, quantize, calibration, message):
    with pytest.raises(ValueError, match=message):
        export.to_litert(shipped.model, tmp_path / "x.tflite", quantize, calibration)
    assert not (tmp_path / "x.tflite").exists()
