"""A moving average of the weights (`train.ema`), on Keras' own: the optimizer keeps it
(`Adam(use_ema=True, ema_momentum=...)`), `keras.callbacks.SwapEMAWeights` puts it in the model while
validation runs, and Keras writes it into the model at the end of every `fit`.

What the zoo adds: the best epoch is kept with the averaged weights (KeepBest saves inside
`averaged_weights`), and a run whose fit ended before the run's end (a replan, zoo.fitting.time_budget,
or a phase that keeps its optimizer) goes on from the epoch's checkpoint, the raw weights and their
average as they were, not from the average Keras wrote in (zoo.fitting.loop._continued).
"""

from __future__ import annotations

from contextlib import contextmanager

import keras


def adam(rate, ema: float) -> keras.optimizers.Adam:
    """The training optimizer: Adam at `rate`, keeping the weights' moving average when `ema` > 0."""
    if not ema:
        return keras.optimizers.Adam(rate)
    return keras.optimizers.Adam(rate, use_ema=True, ema_momentum=ema)


def uses_average(model: keras.Model) -> bool:
    return bool(getattr(model.optimizer, "use_ema", False))


def validation_callbacks(model: keras.Model) -> list[keras.callbacks.Callback]:
    """Validate the averaged weights (swapped in for each validation, swapped back for training)."""
    return [keras.callbacks.SwapEMAWeights()] if uses_average(model) else []


@contextmanager
def averaged_weights(model: keras.Model):
    """The model holds its optimizer's averaged weights inside the block (nothing changes without an
    average, or before the optimizer is built); the training weights are back after it."""
    if not uses_average(model) or not model.optimizer.built:
        yield
        return
    swap = keras.callbacks.SwapEMAWeights()
    swap.set_model(model)
    swap.on_test_begin()  # the library's swap: averages into the model, the weights into the average's place
    try:
        yield
    finally:
        swap.on_test_end()
