import numpy as np
import pytest
import keras

from zoo.models import architectures, registry
from zoo.models.builder import create_model

IMAGES = np.random.default_rng(0).integers(0, 256, size=(2, 80, 170, 3), dtype=np.uint8)


@pytest.fixture(scope="module", params=registry.list_models())
def built(request):
    return request.param, create_model(request.param)


def test_takes_uint8_images_and_emits_logits_per_step(built):
    name, model = built
    steps = architectures.output_steps(registry.resolve(name), 170, 80)
    assert model.input.dtype == "uint8" and model.input_shape == (None, 80, 170, 3)
    assert model.output_shape == (None, steps, 37)
    logits = np.asarray(model(IMAGES, training=False))
    assert logits.shape == (2, steps, 37) and np.isfinite(logits).all()
    assert not np.allclose(logits.sum(axis=-1), 1.0)  # logits for CTC, not softmax probabilities


def test_has_no_lambda_layer(built):
    _, model = built
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)


def test_config_round_trip(built):
    _, model = built
    clone = keras.Model.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()


def test_keras_file_round_trip_gives_identical_outputs(built, tmp_path):
    _, model = built
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)  # safe mode
    np.testing.assert_array_equal(np.asarray(reloaded(IMAGES)), np.asarray(model(IMAGES)))


def test_reference_parameter_count_matches_design():
    assert create_model("bigru").count_params() == 793_541


def test_reference_merges_the_reversed_backward_sequence():
    model = create_model("bigru")
    backward = model.get_layer("gru1_b")
    assert backward.go_backwards and isinstance(model.get_layer("merge1"), keras.layers.Add)
    assert isinstance(model.get_layer("merge2"), keras.layers.Concatenate)
    # the trap it reproduces: go_backwards returns outputs in reversed time order, so the
    # first output step has already read the whole sequence from the end
    inputs = np.random.default_rng(1).normal(size=(1, 5, 3)).astype("float32")
    rnn = keras.layers.GRU(4, return_sequences=True, go_backwards=True)
    outputs = np.asarray(rnn(inputs))
    forward_twin = keras.layers.GRU(4, return_sequences=True)
    forward_twin.build(inputs.shape)
    forward_twin.set_weights(rnn.get_weights())
    np.testing.assert_allclose(outputs, np.asarray(forward_twin(inputs[:, ::-1])), atol=1e-5)


def test_aligned_variant_uses_keras_bidirectional():
    model = create_model("bigru_aligned")
    assert [layer.merge_mode for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)] == ["sum", "concat"]


def test_conv_only_has_no_recurrent_layer():
    model = create_model("conv_only")
    assert not any(isinstance(layer, keras.layers.RNN) for layer in model.layers)


def test_images_too_small_for_the_backbone_are_refused():
    with pytest.raises(ValueError, match="too small"):
        create_model("bigru", height=20, width=30)


def test_transformer_head_attends_over_the_steps_without_recurrence():
    model = create_model("transformer")
    assert sum(isinstance(layer, keras.layers.MultiHeadAttention) for layer in model.layers) == 2
    assert not any(isinstance(layer, keras.layers.RNN) for layer in model.layers)
    assert registry.resolve("transformer").tags()["family"] == "transformer"


def test_a_head_field_of_another_head_is_refused_with_what_this_head_accepts():
    with pytest.raises(TypeError, match="unknown model field.s. cell for head 'transformer'; accepted: .*attention_heads"):
        registry.resolve("transformer", cell="lstm")
    with pytest.raises(ValueError, match="units .30. must be a multiple of attention_heads .4."):
        registry.resolve("transformer", units=30)


def _one_variant_per_head() -> list[str]:
    """The first registered variant of each distinct head (head name and settings): variants that
    differ only in the backbone (bigru_drop*) learn through the same head."""
    firsts: dict[tuple, str] = {}
    for name in registry.list_models():
        arch = registry.resolve(name)
        firsts.setdefault((arch.head, arch.settings), name)
    return sorted(firsts.values())


@pytest.mark.learning
@pytest.mark.parametrize("name", _one_variant_per_head())
def test_every_registered_head_learns_a_small_batch(name):
    """A short learning check: 16 two-digit captchas (64 x 32, a small backbone), 80 Adam steps on
    that batch. A model that ignores the image cannot go below log(100) = 4.6 (the labels' entropy),
    so a loss under 3.5 means the head reads the backbone's steps."""
    from zoo.models import ctc
    from zoo.data.stream import CaptchaSource

    images, labels = CaptchaSource("0123456789", 2, 2, 64, 32, seed=0).batch(0, 16)
    keras.utils.set_random_seed(0)
    model = create_model(name, height=32, width=64, num_classes=11, conv_filters=(16, 32), projection_units=32, units=32)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=ctc.CTCLoss())
    losses = [float(model.train_on_batch(images, labels)) for _ in range(80)]
    assert np.isfinite(losses).all() and min(losses[-5:]) < 3.5, (losses[0], losses[-5:])
