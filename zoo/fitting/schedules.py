"""Learning-rate phases as one Keras schedule: linear warm-up, then constant, linear or cosine decay.

A phase with `reset = true` starts a fresh Adam (the reference's recompile) whose step counter
starts at 0; the phases after it that keep the optimizer (`reset = false`) are covered by the same
schedule, so the optimizer's own step counter, saved in every checkpoint, says where a resumed run is.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.config import Phase


def phase_lr(phase: Phase, step: float, steps_per_epoch: int) -> float:
    """The rate `step` optimizer steps into `phase` (plain Python: tests, plots and reports use it)."""
    total = phase.epochs * steps_per_epoch
    warmup = phase.warmup * steps_per_epoch
    if step < warmup:
        return phase.lr * (step + 1) / warmup
    if phase.decay == "constant":
        return phase.lr
    progress = min(1.0, (step - warmup) / max(total - warmup, 1))
    shape = 1 - progress if phase.decay == "linear" else 0.5 * (1 + math.cos(math.pi * progress))
    return phase.end_lr + (phase.lr - phase.end_lr) * shape


def optimizer_span(phases: list[Phase], first: int) -> list[Phase]:
    """The phases one optimizer lives through: `phases[first]` and the following ones that keep it."""
    span = [phases[first]]
    for phase in phases[first + 1:]:
        if phase.reset:
            break
        span.append(phase)
    return span


@keras.saving.register_keras_serializable(package="zoo")
class PhaseSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The rate of a run of phases sharing one optimizer, as a function of that optimizer's step."""

    def __init__(self, phases: list[dict], steps_per_epoch: int):
        self.phases = [dict(phase) for phase in phases]
        self.steps_per_epoch = int(steps_per_epoch)

    @classmethod
    def for_phases(cls, phases: list[Phase], steps_per_epoch: int) -> "PhaseSchedule":
        return cls([{field: getattr(phase, field) for field in ("epochs", "lr", "warmup", "decay", "end_lr", "reset")}
                    for phase in phases], steps_per_epoch)

    def __call__(self, step):
        step = ops.cast(step, "float32")  # scalar: optimizer steps since this optimizer was created
        rate = ops.zeros((), "float32")
        start = 0.0
        for index, values in enumerate(self.phases):
            phase = Phase(**values)
            total = float(phase.epochs * self.steps_per_epoch)
            local = step - start
            warmup = phase.warmup * self.steps_per_epoch
            peak = ops.convert_to_tensor(phase.lr, "float32")
            if phase.decay == "constant":
                decayed = peak
            else:
                progress = ops.clip((local - warmup) / max(total - warmup, 1.0), 0.0, 1.0)
                shape = 1.0 - progress if phase.decay == "linear" else 0.5 * (1.0 + ops.cos(math.pi * progress))
                decayed = phase.end_lr + (phase.lr - phase.end_lr) * shape
            value = ops.where(local < warmup, phase.lr * (local + 1.0) / max(warmup, 1.0), decayed) if warmup else decayed
            last = index == len(self.phases) - 1
            inside = local >= 0.0 if last else ops.logical_and(local >= 0.0, local < total)
            rate = ops.where(inside, value, rate)
            start += total
        return rate

    def get_config(self):
        return {"phases": self.phases, "steps_per_epoch": self.steps_per_epoch}


def learning_rate(phases: list[Phase], first: int, steps_per_epoch: int):
    """What a fresh optimizer at `phases[first]` gets: the plain float for a constant phase that no later
    phase shares (exactly the reference's `Adam(lr)`), else a PhaseSchedule."""
    span = optimizer_span(phases, first)
    if len(span) == 1 and span[0].decay == "constant" and not span[0].warmup:
        return span[0].lr
    return PhaseSchedule.for_phases(span, steps_per_epoch)
