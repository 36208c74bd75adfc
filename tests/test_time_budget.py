"""train.minutes: the phases scaled to the measured speed of the machine, measured once per run."""

import json
import time

import mlflow
import pytest

from zoo.fitting import time_budget
from zoo.config import ConfigError, Phase, make_config

ONE_CYCLE_AND_TAIL = [Phase(epochs=20, lr=2e-3, warmup=2, decay="cosine", end_lr=1e-5), Phase(epochs=8, lr=2.5e-4)]


@pytest.mark.parametrize("epochs", [1, 2, 3, 14, 28, 97])
def test_scaled_phases_keep_their_shape_and_sum_to_the_epochs(epochs):
    scaled = time_budget.scale_phases(ONE_CYCLE_AND_TAIL, epochs)
    assert sum(p.epochs for p in scaled) == max(epochs, 2) and all(p.epochs >= 1 for p in scaled)
    assert [(p.lr, p.decay, p.end_lr) for p in scaled] == [(2e-3, "cosine", 1e-5), (2.5e-4, "constant", 0.0)]
    assert 0 <= scaled[0].warmup < scaled[0].epochs  # the warm-up shrinks and grows with its phase
    if epochs == 97:
        assert scaled[0].epochs == round(97 * 20 / 28) and scaled[0].warmup == pytest.approx(2 * scaled[0].epochs / 20)


def test_a_slower_machine_gets_fewer_epochs_for_the_same_minutes():
    fast, slow = time_budget.Probe(step_seconds=0.1, val_seconds=5), time_budget.Probe(step_seconds=0.3, val_seconds=15)
    left = 3600 - 20 - time_budget.LOGGING_SECONDS  # an hour, less a 20 s test and the logging
    assert time_budget.fitted_epochs(3600, fast, 100, test_seconds=20) == int(left // (15 + time_budget.EPOCH_OVERHEAD_SECONDS))
    assert time_budget.fitted_epochs(3600, slow, 100, test_seconds=20) == int(left // (45 + time_budget.EPOCH_OVERHEAD_SECONDS))
    assert time_budget.fitted_epochs(60, slow, 100) == 1  # never nothing


@pytest.mark.parametrize("minutes", ["-1", "nan", "inf"])
def test_bad_minutes_are_refused(minutes):
    with pytest.raises(ConfigError, match="train.minutes must be from 0"):
        make_config("bigru", "smoke", 0, [f"train.minutes={minutes}"])


@pytest.mark.slow
def test_the_fitted_phases_are_measured_once_and_kept_for_resume(store, tmp_path, monkeypatch):
    from zoo.fitting.checkpoints import RunCheckpoint
    from zoo.data.stream import cached_split, source_for
    from zoo.models.builder import build_model
    from zoo.fitting.loop import _fitted_to_minutes

    config = make_config("bigru", "smoke", 0, [f"checkpoint_dir={tmp_path}", "train.minutes=3"])
    data = config.data
    model = build_model(config.arch_config(), height=data.height, width=data.width, num_classes=len(data.charset) + 1)
    validation = cached_split(source_for(data, "val"), data.val_size, 1)
    checkpoint = RunCheckpoint(config)
    mlflow.set_experiment("time-budget")  # not an experiment id cached by an earlier test in this worker
    with mlflow.start_run() as run:
        checkpoint.start(run.info.run_id)
        fitted = _fitted_to_minutes(config, checkpoint, model, validation, 1, time.monotonic())
    step = mlflow.get_run(run.info.run_id).data.metrics["probe_step_seconds"]
    assert 0 < step < 60
    epochs = sum(p.epochs for p in fitted.train.phases)
    assert epochs > config.train.epochs  # 3 minutes hold more than smoke's 2 epochs of 2 steps
    assert mlflow.get_run(run.info.run_id).data.params["train.fitted_epochs"] == str(epochs)
    assert json.loads((checkpoint.folder / "state.json").read_text())["phases"][0]["epochs"] == fitted.train.phases[0].epochs

    def measured_again(*args):
        raise AssertionError("a resumed run must not measure again")

    monkeypatch.setattr(time_budget, "measure", measured_again)
    checkpoint.save(model, run.info.run_id, 1)  # an epoch later, the state keeps the fitted phases
    assert _fitted_to_minutes(config, checkpoint, model, validation, 1, time.monotonic()).train.phases == fitted.train.phases
