"""train.minutes: the phases scaled to the measured speed of the machine, measured once per run."""

import dataclasses
import json
import time

import mlflow
import pytest

from zoo.fitting import schedules, time_budget
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


WRITTEN = [Phase(epochs=28, lr=2.7e-3, warmup=2, decay="cosine", end_lr=1e-5)]  # folder-cpu's one cycle


def test_a_longer_budget_adds_epochs_of_the_written_length():
    plan = time_budget.fitted_plan(3300, time_budget.Probe(step_seconds=0.1, val_seconds=2), WRITTEN, 300, test_seconds=20)
    assert plan.steps_per_epoch == 300 and sum(p.epochs for p in plan.phases) == int((3300 - 20 - 45) // 33) == 98


def test_a_shorter_budget_shortens_the_epochs_and_keeps_the_written_schedule():
    # an AVX2-only box's hour (issue 35): 1.25 s a step, 5 s a validation; 300-step epochs would be 8
    slow = time_budget.Probe(step_seconds=1.25, val_seconds=5)
    assert time_budget.fitted_epochs(3300, slow, 300, test_seconds=20) == 8
    plan = time_budget.fitted_plan(3300, slow, WRITTEN, 300, test_seconds=20)
    assert plan.phases == WRITTEN  # 28 epochs, a warm-up of 2 to refit the plan at, the cosine as written
    assert plan.steps_per_epoch == int(((3300 - 20 - 45) / 28 - 5 - 1) // 1.25) == 87
    assert 28 * slow.epoch_seconds(plan.steps_per_epoch) <= 3300 - 20 - 45 < 28 * slow.epoch_seconds(88)


def test_a_budget_too_short_for_the_shortest_epochs_drops_epochs():
    slow = time_budget.Probe(step_seconds=1.25, val_seconds=5)
    plan = time_budget.fitted_plan(600, slow, WRITTEN, 300)  # 10 minutes: 28 epochs would be 17 steps
    assert plan.steps_per_epoch == time_budget.MIN_EPOCH_STEPS
    assert sum(p.epochs for p in plan.phases) == time_budget.fitted_epochs(600, slow, time_budget.MIN_EPOCH_STEPS) == 8
    few = time_budget.fitted_plan(60, slow, WRITTEN, 4)  # written epochs under the shortest: as before, fewer epochs
    assert few.steps_per_epoch == 4 and sum(p.epochs for p in few.phases) == time_budget.fitted_epochs(60, slow, 4)


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
        fitted, replanner = _fitted_to_minutes(config, checkpoint, model, validation, 1, time.monotonic())
    assert replanner is not None and replanner.phases == fitted.train.phases  # a run that starts now checks its plan
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
    resumed, replanner = _fitted_to_minutes(config, checkpoint, model, validation, 1, time.monotonic())
    assert resumed.train.phases == fitted.train.phases
    assert replanner is None  # a resumed run keeps its plan: its clock started with this process, not the run


@pytest.mark.slow
def test_shortened_epochs_are_kept_for_resume_and_trained_as_planned(store, tmp_path, monkeypatch):
    from zoo.fitting.checkpoints import RunCheckpoint
    from zoo.fitting.loop import train

    # 4 epochs of 4 steps written; the probe says 3 s a step, so the 45 s (40 left when read) hold
    # 3 such epochs: each of the 4 is shortened to 2 steps instead
    monkeypatch.setattr(time_budget, "MIN_EPOCH_STEPS", 2)
    config = _budget_of_45_s_run_at_5_s_an_epoch(monkeypatch, tmp_path, probe_step_seconds=3.0, warmup=0,
                                                 extra=["train.steps_per_epoch=4"])
    result = train(config, final_test=False)
    run = mlflow.tracking.MlflowClient().get_run(result.run_id)
    assert run.data.params["train.fitted_steps_per_epoch"] == "2" and run.data.params["train.fitted_epochs"] == "4"
    seen = sorted(mlflow.tracking.MlflowClient().get_metric_history(result.run_id, "samples_seen"), key=lambda m: m.step)
    assert [m.value for m in seen][:2] == [2 * config.train.batch_size, 4 * config.train.batch_size]  # epochs of 2 steps
    state = json.loads((RunCheckpoint(config).folder / "state.json").read_text())
    assert state["steps_per_epoch"] == 2 and [p["epochs"] for p in state["phases"]] == [4]  # what a resume goes on with


CYCLE = [Phase(epochs=20, lr=2e-3, warmup=4, decay="cosine", end_lr=1e-5)]


def test_a_run_faster_than_its_probe_gets_more_epochs_and_keeps_its_warm_up():
    # 20 epochs planned; 3 done in the warm-up; its epochs take 10 s and 1,000 s are left
    left = 1000 + time_budget.LOGGING_SECONDS
    new = time_budget.refitted(CYCLE, 3, 10.0, left)
    assert sum(p.epochs for p in new) == 3 + 100
    assert new[0].warmup == 4  # the rates of the steps already taken stay as they were
    for step in range(3 * 50):  # every step of the 3 epochs done, 50 steps an epoch
        assert schedules.phase_lr(new[0], step, 50) == schedules.phase_lr(CYCLE[0], step, 50)
    slower = time_budget.refitted(CYCLE, 3, 100.0, left)
    assert sum(p.epochs for p in slower) == 13 and slower[0].warmup == 4  # fewer epochs, still the whole warm-up


def test_the_plan_stays_once_the_decay_has_begun_or_when_it_barely_moves():
    left = 1000 + time_budget.LOGGING_SECONDS
    assert time_budget.refitted(CYCLE, 5, 10.0, left) is None  # past the warm-up: the cosine's length is in use
    assert time_budget.refitted(CYCLE, 2, 1000 / 18.5, left) is None  # 2 + 18 = 20: the plan as it is
    longer = [dataclasses.replace(CYCLE[0], epochs=40)]
    assert time_budget.refitted(longer, 2, 1000 / 39, left) is None  # one epoch more, under 5% of 40
    assert sum(p.epochs for p in time_budget.refitted(longer, 2, 1000 / 40, left)) == 42  # two: 5%
    constant = [Phase(epochs=10, lr=1e-3), Phase(epochs=10, lr=1e-4)]
    new = time_budget.refitted(constant, 6, 10.0, left)  # a constant rate has no length to keep
    assert [p.epochs for p in new] == [53, 53] and all(p.lr == q.lr for p, q in zip(new, constant))
    assert time_budget.refitted(constant, 6, 500.0, left) is None  # 8 epochs: the first phase would end before 6


class VirtualClock:
    """time.monotonic / perf_counter for zoo.fitting.time_budget: every reading is `tick` seconds
    after the last, so the run's own pace is the same on any machine, however loaded."""

    def __init__(self, start: float, tick: float):
        self.now, self.tick = start, tick

    def monotonic(self) -> float:
        self.now += self.tick
        return self.now

    perf_counter = monotonic


class ScriptedClock:
    """time for zoo.fitting.time_budget: each reading the next of `readings`."""

    def __init__(self, readings):
        self.readings = iter(readings)

    def monotonic(self) -> float:
        return next(self.readings)

    perf_counter = monotonic


def test_one_slow_epoch_moves_the_plan_little(monkeypatch):
    """Epochs of 30 s, one of 45 s (another process on the cores for a while): the median plans."""
    import types

    phases = [Phase(epochs=100, lr=2e-3, warmup=7, decay="cosine")]
    # readings: (begin, end) for the tracing first epoch, (begin, end, now) for each later one
    readings = [0, 40, 40, 70, 70, 70, 115, 115, 115, 145, 145]
    monkeypatch.setattr(time_budget, "time", ScriptedClock(readings))
    monkeypatch.setattr(time_budget, "LOGGING_SECONDS", 0.0)
    replanner = time_budget.Replanner(phases, minutes=(145 + 6000) / 60, started=0.0, test_seconds=0.0)  # 6,000 s left after epoch 4
    replanner.set_model(types.SimpleNamespace(stop_training=False))
    for epoch in range(4):  # epoch times: 40 (traced), 30, 45, 30
        replanner.on_epoch_begin(epoch)
        replanner.on_epoch_end(epoch)
        if epoch == 2:
            assert replanner.epoch_seconds == pytest.approx(37.5)  # 30 and 45 so far
    assert replanner.epoch_seconds == pytest.approx(30)  # the median of 30, 45, 30: the slow one does not rule
    assert sum(p.epochs for p in replanner.replanned) == 4 + 6000 // 30


def _budget_of_45_s_run_at_5_s_an_epoch(monkeypatch, tmp_path, probe_step_seconds: float, warmup: float, extra=()):
    """A smoke config of 4 cosine epochs with train.minutes = 0.75 whose probe times `probe_step_seconds`
    a step, and a virtual clock on which each reading is 5 s after the last (no logging time)."""
    monkeypatch.setattr(time_budget, "measure", lambda *args: time_budget.Probe(step_seconds=probe_step_seconds, val_seconds=0.05))
    monkeypatch.setattr(time_budget, "LOGGING_SECONDS", 0.0)
    monkeypatch.setattr(time_budget, "time", VirtualClock(time.monotonic(), tick=5.0))
    phases = f'[{{epochs = 4, lr = 1e-3, warmup = {warmup}, decay = "cosine", end_lr = 1e-5}}]'
    return make_config("bigru", "smoke", 0, [f"checkpoint_dir={tmp_path}", "train.minutes=0.75", f"train.phases={phases}", *extra])


@pytest.mark.slow
def test_a_run_whose_probe_was_too_slow_refits_its_epochs_during_its_warm_up(store, tmp_path, monkeypatch):
    from zoo.fitting.checkpoints import RunCheckpoint
    from zoo.fitting.loop import train

    # the probe says 6 s a step: an epoch of 2 steps 13.05 s, so the 45 s (40 left when it is read)
    # hold 3 epochs, 2.25 of them warm-up. The run's epochs then take 5 s on the virtual clock (a reading
    # at each epoch's start and two at its end): after epoch 2, 10 s are left for 2 more, 4 in all
    config = _budget_of_45_s_run_at_5_s_an_epoch(monkeypatch, tmp_path, probe_step_seconds=6.0, warmup=3)
    result = train(config, final_test=False)
    client = mlflow.tracking.MlflowClient()
    plans = [(m.step, int(m.value)) for m in sorted(client.get_metric_history(result.run_id, "fitted_epochs"), key=lambda m: m.step)]
    assert plans == [(0, 3), (2, 4)]  # the probe's plan, then the run's own after its second epoch
    kept = json.loads((RunCheckpoint(config).folder / "state.json").read_text())["phases"]
    assert [p["epochs"] for p in kept] == [4] and kept[0]["warmup"] == pytest.approx(2.25)  # the warm-up it began
    assert len(client.get_metric_history(result.run_id, "samples_seen")) == 4  # each epoch of the new plan, once
    rates = client.get_metric_history(result.run_id, "lr")
    assert sorted(rates, key=lambda m: m.step)[-1].value == pytest.approx(1e-5)  # the cosine ran out at the new end


def test_a_run_behind_its_plan_after_the_warm_up_stops_at_the_epoch_end_nearest_its_deadline(monkeypatch):
    """The plan (10 epochs) came from a probe twice too fast; past the warm-up it cannot be refitted, so
    the run stops when more than half of its next epoch would fall past the deadline (less the test)."""
    import types

    phases = [Phase(epochs=10, lr=2e-3, warmup=0.5, decay="cosine")]
    monkeypatch.setattr(time_budget, "time", ScriptedClock([0, 60, 60, 120, 120, 120, 180, 180]))
    monkeypatch.setattr(time_budget, "LOGGING_SECONDS", 0.0)
    replanner = time_budget.Replanner(phases, minutes=205 / 60, started=0.0, test_seconds=10.0)
    model = types.SimpleNamespace(stop_training=False)
    replanner.set_model(model)
    for epoch in range(3):  # 60 s each; after the second, 75 s are left for training: go on
        replanner.on_epoch_begin(epoch)
        replanner.on_epoch_end(epoch)
        assert model.stop_training == (epoch == 2) and replanner.replanned is None
    assert replanner.out_of_time == 3  # 15 s left: the fourth epoch would end 45 s late


def test_the_last_epoch_of_the_plan_is_never_called_late(monkeypatch):
    import types

    monkeypatch.setattr(time_budget, "time", ScriptedClock([0, 60, 60, 120, 120]))
    monkeypatch.setattr(time_budget, "LOGGING_SECONDS", 0.0)
    replanner = time_budget.Replanner([Phase(epochs=2, lr=1e-3, decay="cosine")], minutes=1.0, started=0.0, test_seconds=0.0)
    replanner.set_model(types.SimpleNamespace(stop_training=False))
    for epoch in range(2):
        replanner.on_epoch_begin(epoch)
        replanner.on_epoch_end(epoch)
    assert replanner.out_of_time is None and not replanner.model.stop_training  # 60 s late, but it ends anyway


@pytest.mark.slow
def test_a_run_whose_probe_was_too_fast_stops_at_its_deadline_and_ends_as_usual(store, tmp_path, monkeypatch):
    from zoo.fitting.loop import train

    # the probe says 1 s a step: an epoch of 2 steps 3.05 s, so the 45 s (40 left when read) hold 13 epochs
    # with no warm-up to refit in. The epochs take 5 s on the virtual clock (a reading at each epoch's start
    # and two at its end): after the third, nothing is left
    config = _budget_of_45_s_run_at_5_s_an_epoch(monkeypatch, tmp_path, probe_step_seconds=1.0, warmup=0,
                                                 extra=["train.restore_best=true"])
    result = train(config)
    run = mlflow.tracking.MlflowClient().get_run(result.run_id)
    assert run.data.tags["train.stopped_at_deadline"] == "after epoch 3 of 13" and run.info.status == "FINISHED"
    assert run.data.metrics["samples_seen"] == 3 * 2 * config.train.batch_size and "test_seq_acc" in run.data.metrics
    assert run.data.metrics["best_epoch"] <= 3 and result.model_uri  # the best of the epochs it had, tested and logged


@pytest.mark.slow
def test_a_replanned_run_that_averages_its_weights_goes_on_from_its_raw_weights(store, tmp_path, monkeypatch):
    """Keras writes the moving average into the model at every fit's end (train.ema), and a replan ends
    a fit: the run goes on from the epoch's checkpoint, the raw weights with their average apart."""
    import numpy as np

    from zoo.fitting import loop

    continued = []
    keep_going = loop._continued

    def recorded(model, checkpoint):
        going_on = keep_going(model, checkpoint)
        continued.append(([w.numpy() for w in model.trainable_weights], [w.numpy() for w in going_on.trainable_weights],
                          [a.numpy() for a in going_on.optimizer._model_variables_moving_average]))
        return going_on

    monkeypatch.setattr(loop, "_continued", recorded)
    config = _budget_of_45_s_run_at_5_s_an_epoch(monkeypatch, tmp_path, probe_step_seconds=6.0, warmup=3,
                                                 extra=("train.ema=0.9", "train.precision=fp32"))
    result = loop.train(config, final_test=False)
    assert len(mlflow.tracking.MlflowClient().get_metric_history(result.run_id, "samples_seen")) == 4  # replanned as without
    [(finalized, raw, average)] = continued  # one replan, after epoch 2
    assert all(np.allclose(f, a) for f, a in zip(finalized, average))  # Keras wrote the average in
    assert not all(np.allclose(f, r) for f, r in zip(finalized, raw))  # the run goes on from the raw weights
