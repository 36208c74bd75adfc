"""zoo.bench's training rates: both loops really train the number of steps they time."""

import math

import pytest

from zoo.config import make_config
from zoo.fitting.bench import train_rate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fit", [False, True], ids=["train_on_batch", "fit"])
def test_train_rate_times_the_steps_it_trains(fit):
    config = make_config("bigru", "tiny", 0)  # 64x32 images, a small model: seconds
    measured = train_rate(config, "fp32", steps=2, repeats=2, workers=1, batch_size=4, fit=fit)
    assert measured["samples_per_s"] > 0
    assert int(measured["model"].optimizer.iterations) == 1 + 2 * 2  # the warm-up step, then steps x repeats
    assert math.isnan(measured["input_wait_share"]) == fit  # not separable inside model.fit


def test_the_keras_batch_norm_baseline_trains_keras_own_layer_with_the_same_weights():
    from keras.layers import BatchNormalization

    from zoo.models.batch_norm import FusedBatchNormalization
    from zoo.models.builder import create_model, with_keras_batch_norm

    model = create_model("bigru", height=32, width=64, num_classes=11, conv_filters=(8, 16))
    baseline = with_keras_batch_norm(model)
    kinds = lambda m: {type(layer) for layer in m.layers if isinstance(layer, BatchNormalization)}  # noqa: E731
    assert FusedBatchNormalization in kinds(model) and kinds(baseline) == {BatchNormalization}
    assert all((a == b).all() for a, b in zip(model.get_weights(), baseline.get_weights()))
    measured = train_rate(make_config("bigru", "tiny", 0), "fp32", steps=1, repeats=1, workers=1, batch_size=4, keras_bn=True)
    assert {type(layer) for layer in measured["model"].layers if isinstance(layer, BatchNormalization)} == {BatchNormalization}


def test_bench_refuses_an_unknown_training_set_up(capsys):
    from zoo.commands.bench import main

    with pytest.raises(SystemExit) as exit:
        main(["--variants", "bf16_fit,warp_drive", "--no-track"])
    error = " ".join(capsys.readouterr().err.split())  # argparse wraps the message
    assert exit.value.code == 2 and "unknown training set-up(s) warp_drive; accepted: bf16_xla," in error
