"""The Keras callbacks that write a run's checkpoint every epoch (zoo.fitting.checkpoints)."""

from __future__ import annotations

import keras

from zoo.fitting.averaging import averaged_weights
from zoo.fitting.checkpoints import RunCheckpoint


class KeepBest(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the highest `monitor` in the checkpoint folder (before the
    epoch's checkpoint is written, so a resumed run knows its best epoch too): the averaged weights where
    the optimizer keeps an average (train.ema), those validation scored."""

    def __init__(self, checkpoint: RunCheckpoint, monitor: str = "val_seq_acc"):
        super().__init__()
        self.checkpoint, self.monitor = checkpoint, monitor

    def on_epoch_end(self, epoch, logs=None):
        score, best = (logs or {}).get(self.monitor), self.checkpoint.best()
        if score is not None and (best is None or score > best["score"]):
            with averaged_weights(self.model):
                self.checkpoint.save_best(self.model, epoch + 1, float(score))


class StageEpoch(keras.callbacks.Callback):
    """Stages the epoch's model before its metrics are logged (RunCheckpoint.stage)."""

    def __init__(self, checkpoint: RunCheckpoint):
        super().__init__()
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.stage(self.model, epoch + 1)


class SaveEveryEpoch(keras.callbacks.Callback):
    """The epoch is done: its staged model (StageEpoch, before the metrics were logged) becomes the
    checkpoint, or, with nothing staged, the model is saved now."""

    def __init__(self, checkpoint: RunCheckpoint, run_id: str):
        super().__init__()
        self.checkpoint, self.run_id = checkpoint, run_id

    def on_epoch_end(self, epoch, logs=None):
        if not self.checkpoint.commit_staged(self.run_id, epoch + 1):
            self.checkpoint.save(self.model, self.run_id, epoch + 1)
