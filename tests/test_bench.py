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
