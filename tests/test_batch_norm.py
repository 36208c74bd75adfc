"""The fused batch normalization computes what Keras' layer computes: outputs, moving statistics, gradients."""

import keras
import numpy as np
import pytest

from zoo.models.batch_norm import FusedBatchNormalization

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fused op is TensorFlow's; "
                                "other backends run Keras' own layer (tests/test_jax_backend.py trains through it)")


def pair(shape, dtype="float32"):
    """Keras' layer and the fused one, built alike with the same non-trivial weights."""
    rng = np.random.default_rng(0)
    layers = [keras.layers.BatchNormalization(dtype=dtype), FusedBatchNormalization(dtype=dtype)]
    weights = [rng.normal(1.0, 0.2, shape[-1]), rng.normal(0.0, 0.2, shape[-1]),
               rng.normal(0.0, 0.1, shape[-1]), rng.uniform(0.5, 2.0, shape[-1])]  # gamma, beta, moving mean, variance
    for layer in layers:
        layer.build(shape)
        layer.set_weights([w.astype("float32") for w in weights])
    return layers


def test_training_step_matches_keras_outputs_statistics_and_gradients():
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(3.0, 2.0, (4, 9, 7, 5)).astype("float32"))  # batch x h x w x c
    upstream = tf.constant(rng.normal(0.0, 1.0, x.shape).astype("float32"))  # a gradient that is no sum of y
    results = []
    for layer in pair(x.shape):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append((y.numpy(), [g.numpy() for g in grads], [w.numpy() for w in layer.weights]))
    (y_keras, g_keras, w_keras), (y_fused, g_fused, w_fused) = results
    np.testing.assert_allclose(y_fused, y_keras, atol=2e-5)
    for fused, reference in zip(g_fused, g_keras):
        np.testing.assert_allclose(fused, reference, atol=5e-5, rtol=1e-4)
    for fused, reference in zip(w_fused, w_keras):  # moving mean and the biased moving variance, as Keras keeps them
        np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=1e-6)
    assert np.abs(w_keras[3] - pair(x.shape)[0].moving_variance.numpy()).max() > 1e-3  # the step did move them


def test_bfloat16_inputs_stay_bfloat16_and_inference_is_keras_own():
    x = np.random.default_rng(2).normal(0.0, 1.0, (8, 6, 6, 4)).astype("float32")
    keras_bn, fused = pair(x.shape, dtype="mixed_bfloat16")
    y = fused(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(keras_bn(x, training=True), "float32"), atol=0.05)
    np.testing.assert_array_equal(np.asarray(fused(x, training=False)), np.asarray(keras_bn(x, training=False)))


def test_other_shapes_fall_back_to_keras_and_the_layer_round_trips_through_a_saved_model(tmp_path):
    x = np.random.default_rng(3).normal(0.0, 1.0, (8, 10, 4)).astype("float32")  # batch x steps x channels: not fused
    keras_bn, fused = pair(x.shape)
    np.testing.assert_allclose(np.asarray(fused(x, training=True)), np.asarray(keras_bn(x, training=True)), atol=1e-6)
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, FusedBatchNormalization(name="bn")(inputs))
    model.layers[-1].set_weights([np.full(2, 2.0, "float32"), np.ones(2, "float32"), np.zeros(2, "float32"), np.full(2, 4.0, "float32")])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("bn")) is FusedBatchNormalization
    images = np.random.default_rng(4).normal(0.0, 1.0, (3, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
