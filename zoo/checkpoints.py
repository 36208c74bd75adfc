"""Per-run checkpoints for `--resume`: the compiled model (with optimizer state) after every epoch.

One folder per config (`checkpoints/<run name>-<config hash>/`), so a resumed run can only
continue the exact config it was started with. Files are written to a temporary name and
renamed, so a kill at any moment leaves the previous epoch's checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from zoo.config import RunConfig, config_hash


@dataclass
class CheckpointState:
    run_id: str
    epochs_done: int
    finished: bool = False


class RunCheckpoint:
    def __init__(self, config: RunConfig):
        self.folder = Path(config.checkpoint_dir) / f"{config.arch}-{config.preset}-s{config.seed}-{config_hash(config)}"
        self.model_path = self.folder / "last.keras"
        self.state_path = self.folder / "state.json"

    def state(self) -> CheckpointState | None:
        if not self.state_path.is_file():
            return None
        return CheckpointState(**json.loads(self.state_path.read_text()))

    def save(self, model: keras.Model, run_id: str, epochs_done: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "last.partial.keras"
        model.save(partial)
        os.replace(partial, self.model_path)
        self._write_state(CheckpointState(run_id, epochs_done))

    def start(self, run_id: str) -> None:
        """Record the run before its first epoch, so even an early kill is resumable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_state(CheckpointState(run_id, 0))

    def mark_finished(self) -> None:
        state = self.state()
        state.finished = True
        self._write_state(state)

    def load_model(self) -> keras.Model:
        return keras.saving.load_model(self.model_path)  # safe mode; zoo.ctc classes are registered

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _write_state(self, state: CheckpointState) -> None:
        partial = self.state_path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(state)))
        os.replace(partial, self.state_path)


class SaveEveryEpoch(keras.callbacks.Callback):
    def __init__(self, checkpoint: RunCheckpoint, run_id: str):
        super().__init__()
        self.checkpoint, self.run_id = checkpoint, run_id

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.save(self.model, self.run_id, epoch + 1)
