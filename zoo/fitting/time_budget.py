"""`train.minutes`: fit a run's epochs to a wall-clock budget on the machine it runs on.

Before the first epoch, a copy of the model trains on the run's own stream (index-addressed, so
reading it costs the run nothing) until the data workers' prefetched batches are used up, then is
timed for a few more steps, so the time includes rendering and augmenting the batches on the same
cores; one validation batch is timed too. What is left of the budget after the start-up so far and
the test at the end, divided by the measured time of an epoch, is how many epochs fit.
A budget that holds more than the phases' epochs as written adds epochs (each phase's epochs and
warm-up scaled by the same factor); one that holds fewer shortens the epochs instead, down to
MIN_EPOCH_STEPS steps (then it drops epochs): the schedule keeps its written shape in epochs, so a
warm-up of 2 epochs still spans two validations the plan can be refitted at, the best epoch is chosen
from as many, and the last epoch that does not fit wastes little. An AVX2-only 2-core box's hour of
`folder-cpu` held 8 epochs of 300 steps (issue 35: a warm-up under one epoch, no refit, up to half
an epoch lost at the deadline); it now gets the 28 epochs as written, of ~87 steps. The fitted plan
(phases and steps an epoch) is stored in the checkpoint, so `--resume` goes on with exactly it, and
logged. An AVX2-only machine gets fewer samples than an AVX-512 BF16 one for the same minutes.

A probe of a few dozen steps can miss the run's pace (2026-12-05, pil-4k on the Zen 4 box: the probe
timed 144 ms a step, the run's epochs settled at 93 ms, and a 55-minute budget ended after 38), so
the run checks its plan against its own epochs (`Replanner`): at the end of each epoch while the
rates of the steps already taken cannot change (within the first phase's warm-up, or anywhere in a
constant first phase), the epochs are refitted to the median time of its measured epochs, keeping the
warm-up and stretching or shrinking what follows. A resumed run keeps the plan it has.
Past that point the plan stays, and a run that falls behind it (a pace the warm-up did not show, or
epochs so long on a slow CPU that the warm-up is under one) stops at the epoch end nearest its
deadline rather than overrun it: more than half of the next epoch past the deadline stops the fit
(`Replanner.out_of_time`), and the run ends as any other (best epoch, test, logging).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass

import keras
import numpy as np

from zoo.models import ctc
from zoo.config import Phase, RunConfig, scale_phases
from zoo.data.stream import BatchStream
from zoo.fitting import interrupts

PROBE_STEPS, PROBE_WARMUP = 30, 2  # timed training steps, after untimed ones that trace the step
LOGGING_SECONDS = 45.0  # the end of a run besides its test pass: plots, the model's files, registration
EPOCH_OVERHEAD_SECONDS = 1.0  # each epoch's checkpoint and logging
REPLAN_MIN_CHANGE = 0.05  # a refit changes the plan only when it moves the epochs by this share (and >= 1)
MIN_EPOCH_STEPS = 50  # a short budget shortens the epochs down to this many steps (or the steps as written, if fewer)


@dataclass(frozen=True)
class Probe:
    step_seconds: float  # one training step of batch_size samples
    val_seconds: float  # one epoch's validation pass

    def epoch_seconds(self, steps_per_epoch: int) -> float:
        return steps_per_epoch * self.step_seconds + self.val_seconds + EPOCH_OVERHEAD_SECONDS


def measure(model: keras.Model, config: RunConfig, source, validation: tuple[np.ndarray, np.ndarray],
            workers: int) -> Probe:
    """Time a fresh copy of `model` on the run's first batches and one validation batch."""
    train_cfg = config.train
    probe = keras.models.clone_model(model)  # same layers and dtypes, its own weights: the run is untouched
    probe.compile(optimizer=keras.optimizers.Adam(1e-4), loss=ctc.CTCLoss(),
                  metrics=ctc.sequence_metrics(config.data.max_length))
    untimed = PROBE_WARMUP + config.data.prefetch_batches  # tracing, then the batches rendered meanwhile
    clock = _BatchClock()
    # the stream runs past the timed steps, so the workers render throughout the window, as in the run
    stop = untimed + PROBE_STEPS + config.data.prefetch_batches
    with BatchStream(source, train_cfg.batch_size, start_batch=0, stop_batch=stop, workers=workers,
                     prefetch=config.data.prefetch_batches) as stream, interrupts.interrupts_between_batches() as interrupt:
        # through fit on the iterator, as the run trains (timed with train_on_batch, a step measured
        # 93 ms where the run's fit took 105 ms)
        probe.fit(iter(stream), steps_per_epoch=untimed + PROBE_STEPS, epochs=1, callbacks=[clock, interrupt], shuffle=False,
                  verbose=0)
    step_seconds = (clock.ends[-1] - clock.ends[untimed - 1]) / PROBE_STEPS
    images, labels = validation
    batch = slice(0, min(len(images), train_cfg.eval_batch_size))
    probe.evaluate(images[batch], labels[batch], verbose=0)  # traces the test step
    start = time.perf_counter()
    probe.evaluate(images[batch], labels[batch], verbose=0)
    per_sample = (time.perf_counter() - start) / (batch.stop or 1)
    return Probe(step_seconds, per_sample * len(images))


class _BatchClock(keras.callbacks.Callback):
    """When each training batch ended."""

    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def fitted_epochs(seconds_left: float, probe: Probe, steps_per_epoch: int, test_seconds: float = 0.0) -> int:
    """The whole epochs that fit the seconds left after the test and logging at the end (at least one)."""
    return max(1, int((seconds_left - test_seconds - LOGGING_SECONDS) // probe.epoch_seconds(steps_per_epoch)))


@dataclass(frozen=True)
class Plan:
    phases: list[Phase]  # the run's phases, fitted to its minutes
    steps_per_epoch: int  # the steps between two validations: as written, or fewer for a short budget


def fitted_plan(seconds_left: float, probe: Probe, phases: list[Phase], steps_per_epoch: int,
                test_seconds: float = 0.0) -> Plan:
    """The plan that fits the seconds left on a machine of `probe`'s pace: more epochs than `phases`
    as written when they fit; else the written epochs, each shortened to the steps that fit (at least
    MIN_EPOCH_STEPS, or `steps_per_epoch` if that is fewer); below that, fewer epochs of that length."""
    written = sum(phase.epochs for phase in phases)
    epochs = fitted_epochs(seconds_left, probe, steps_per_epoch, test_seconds)
    if epochs >= written:
        return Plan(scale_phases(phases, epochs), steps_per_epoch)
    shortest = min(steps_per_epoch, MIN_EPOCH_STEPS)
    epoch_seconds = (seconds_left - test_seconds - LOGGING_SECONDS) / written  # the time of one written epoch
    steps = int((epoch_seconds - probe.val_seconds - EPOCH_OVERHEAD_SECONDS) // probe.step_seconds)
    if steps >= shortest:
        return Plan(list(phases), min(steps, steps_per_epoch))
    return Plan(scale_phases(phases, fitted_epochs(seconds_left, probe, shortest, test_seconds)), shortest)


def fit(config: RunConfig, model: keras.Model, source, validation, workers: int,
        started: float) -> tuple[Plan, Probe]:
    """The run's plan fitted to what is left of `config.train.minutes` since `started` (a
    time.monotonic() of the run's start) on this machine, and what was measured."""
    probe = measure(model, config, source, validation, workers)
    seconds_left = config.train.minutes * 60 - (time.monotonic() - started)
    test_seconds = test_seconds_of(probe, config, len(validation[0]))
    return fitted_plan(seconds_left, probe, config.train.phases, config.train.steps_per_epoch, test_seconds), probe


def test_seconds_of(probe: Probe, config: RunConfig, validation_count: int) -> float:
    """The test pass at the end, from the probe's validation time."""
    return probe.val_seconds * config.data.test_size / max(1, validation_count)


def refitted(phases: list[Phase], epochs_done: int, epoch_seconds: float, seconds_left: float,
             test_seconds: float = 0.0) -> list[Phase] | None:
    """`phases` refitted to `epoch_seconds` an epoch for the `seconds_left` after `epochs_done`, or
    None where the plan stays: the change is under REPLAN_MIN_CHANGE, or it would change a rate
    already used (past the first phase's warm-up when that phase decays: its cosine or line depends
    on its length). The first phase keeps its warm-up in epochs; the rest is scaled alike."""
    first = phases[0]
    if epochs_done > first.warmup and first.decay != "constant":
        return None
    planned = sum(phase.epochs for phase in phases)
    remaining = int((seconds_left - test_seconds - LOGGING_SECONDS) // epoch_seconds)
    total = epochs_done + max(1, remaining)
    if abs(total - planned) < max(1.0, REPLAN_MIN_CHANGE * planned):
        return None
    scaled = scale_phases(phases, total)
    if scaled[0].epochs < max(epochs_done, first.warmup):
        return None  # the first phase would end before the steps already taken or its warm-up
    return [dataclasses.replace(scaled[0], warmup=first.warmup), *scaled[1:]]


class Replanner(keras.callbacks.Callback):
    """Refits the run's epochs at each epoch's end while `refitted` allows, from the median time of
    the run's epochs so far but those that traced the step (the first of each fit): one slow epoch
    (another process on the cores for a minute) moves the median little. On a change, stops the fit
    and keeps the new phases in `replanned` (the training loop goes on with them)."""

    def __init__(self, phases: list[Phase], minutes: float, started: float, test_seconds: float):
        super().__init__()
        self.phases, self.deadline, self.test_seconds = list(phases), started + minutes * 60, test_seconds
        self.replanned: list[Phase] | None = None
        self.epochs_done, self.epoch_seconds = 0, 0.0
        self.out_of_time: int | None = None  # the epochs done when the deadline stopped the fit
        self._measured: list[float] = []  # the epochs that did not trace
        self._tracing, self._began = True, 0.0

    def go_on(self, phases: list[Phase]) -> None:
        """A new fit starts with `phases`: its first epoch traces again."""
        self.phases, self.replanned, self._tracing = list(phases), None, True

    def on_epoch_begin(self, epoch, logs=None):
        self._began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._began
        if self._tracing:
            self._tracing = False
            return
        self._measured.append(seconds)
        seconds, left = statistics.median(self._measured), self.deadline - time.monotonic()
        new = refitted(self.phases, epoch + 1, seconds, left, self.test_seconds)
        if new is not None:
            self.replanned, self.epochs_done, self.epoch_seconds = new, epoch + 1, seconds
            self.model.stop_training = True
        elif epoch + 1 < sum(phase.epochs for phase in self.phases) and \
                left - self.test_seconds - LOGGING_SECONDS < seconds / 2:  # the next epoch would end mostly late
            self.out_of_time, self.epoch_seconds = epoch + 1, seconds
            self.model.stop_training = True
