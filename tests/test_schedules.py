"""Learning-rate phase shapes: warm-up, constant / linear / cosine decay, optimizer reset or kept."""

import math

import numpy as np
import pytest
from keras import ops

from zoo.config import ConfigError, Phase, config_hash, flatten, make_config
from zoo.fitting.schedules import PhaseSchedule, learning_rate, optimizer_span, phase_lr

STEPS = 10  # steps per epoch


def keras_rates(schedule, steps):
    return np.array([float(ops.convert_to_numpy(schedule(step))) for step in steps])


def test_constant_reset_phase_is_a_plain_rate_like_the_reference():
    phases = [Phase(20, 1e-3), Phase(20, 1e-4)]
    assert learning_rate(phases, 0, STEPS) == 1e-3 and learning_rate(phases, 1, STEPS) == 1e-4


def test_one_cycle_warms_up_linearly_then_follows_the_cosine_to_end_lr():
    phase = Phase(epochs=10, lr=3e-3, warmup=2, decay="cosine", end_lr=3e-5)
    schedule = learning_rate([phase], 0, STEPS)
    assert isinstance(schedule, PhaseSchedule)
    steps = range(0, 100)
    expected = np.array([phase_lr(phase, step, STEPS) for step in steps])
    np.testing.assert_allclose(keras_rates(schedule, steps), expected, rtol=1e-5)
    assert expected[0] == pytest.approx(3e-3 / 20) and expected[19] == pytest.approx(3e-3)  # linear rise over 20 steps
    assert expected[20] == pytest.approx(3e-3) and phase_lr(phase, 100, STEPS) == pytest.approx(3e-5)
    halfway = phase_lr(phase, 20 + 40, STEPS)  # half of the 80 decay steps
    assert halfway == pytest.approx(3e-5 + (3e-3 - 3e-5) * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert np.all(np.diff(expected[20:]) <= 0)


def test_linear_decay_reaches_end_lr_at_the_phase_end():
    phase = Phase(epochs=4, lr=1e-3, decay="linear", end_lr=1e-4)
    assert phase_lr(phase, 0, STEPS) == pytest.approx(1e-3)
    assert phase_lr(phase, 20, STEPS) == pytest.approx(5.5e-4)
    assert phase_lr(phase, 40, STEPS) == pytest.approx(1e-4)


def test_phases_that_keep_the_optimizer_share_one_schedule_on_its_step_counter():
    phases = [Phase(2, 1e-3), Phase(3, 2e-3, decay="linear", end_lr=0.0, reset=False), Phase(1, 1e-4)]
    assert optimizer_span(phases, 0) == phases[:2] and optimizer_span(phases, 2) == phases[2:]
    schedule = learning_rate(phases, 0, STEPS)
    rates = keras_rates(schedule, [0, 19, 20, 35, 49, 60])
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 2e-3, 2e-3 * (1 - 15 / 30), 2e-3 * (1 - 29 / 30), 0.0], atol=1e-9)
    assert learning_rate(phases, 2, STEPS) == 1e-4  # the reset phase gets its own fresh optimizer


def test_schedule_survives_serialization():
    import keras

    schedule = PhaseSchedule.for_phases([Phase(3, 1e-3, warmup=1, decay="cosine")], STEPS)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    np.testing.assert_allclose(keras_rates(again, range(30)), keras_rates(schedule, range(30)))


@pytest.mark.parametrize("phases, message", [
    ("[{epochs=2, lr=inf}]", "finite lr"),
    ("[{epochs=2, lr=nan}]", "finite lr"),
    ("[{epochs=2, lr=1e-3, warmup=2}]", "warmup < epochs"),
    ("[{epochs=2, lr=1e-3, decay=\"step\"}]", "decay 'step' is not accepted"),
    ("[{epochs=2, lr=1e-3, end_lr=-1.0}]", "end_lr >= 0"),
    ("[{epochs=2, lr=1e-3, reset=false}]", "first phase always starts a fresh optimizer"),
    ("[{epochs=2, lr=1e-3, shape=\"cosine\"}]", "unknown key(s) shape"),
])
def test_bad_phases_are_refused_with_what_is_accepted(phases, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_config("bigru", "smoke", 0, [f"train.phases={phases}"])


def test_default_phase_fields_leave_params_and_hashes_as_they_were():
    plain = make_config("bigru", "smoke", 0, ["train.phases=[{epochs=2, lr=1e-3}]"])
    spelled = make_config("bigru", "smoke", 0, ['train.phases=[{epochs=2, lr=1e-3, warmup=0, decay="constant", reset=true}]'])
    assert flatten(plain)["train.phases"] == '[{"epochs": 2, "lr": 0.001}]'
    assert config_hash(plain) == config_hash(spelled)
    cosine = make_config("bigru", "smoke", 0, ['train.phases=[{epochs=2, lr=1e-3, decay="cosine"}]'])
    assert config_hash(cosine) != config_hash(plain)
