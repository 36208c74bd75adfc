"""Per-run checkpoints for `--resume`: the compiled model (with optimizer state) after every epoch.
The Keras callbacks that write them are in zoo.fitting.checkpoint_callbacks; this module reads and
writes states without importing Keras (zoo.compare --dry-run and campaign states read it).

One folder per config (`checkpoints/<run name>-<config hash>/`), so a resumed run can only
continue the exact config it was started with. Files are written to a temporary name and
renamed, so a kill at any moment leaves the previous epoch's checkpoint intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.config import ConfigError, RunConfig, config_hash

if TYPE_CHECKING:  # annotations only: this module must not import Keras (see above)
    import keras


class RunInUseError(ConfigError):
    """Another live process trains this config's run."""


@dataclass
class CheckpointState:
    run_id: str
    epochs_done: int
    finished: bool = False
    phases: list[dict] | None = None  # the phases fitted to train.minutes (zoo.fitting.time_budget), kept for --resume
    steps_per_epoch: int | None = None  # and the steps an epoch fitted with them (None: the config's)

    def after_epoch(self, run_id: str, epochs_done: int) -> "CheckpointState":
        """This state a finished epoch later, the fitted plan kept."""
        return CheckpointState(run_id, epochs_done, phases=self.phases, steps_per_epoch=self.steps_per_epoch)


class RunCheckpoint:
    def __init__(self, config: RunConfig):
        self.folder = Path(config.checkpoint_dir) / f"{config.arch}-{config.preset}-s{config.seed}-{config_hash(config)}"
        self.model_path = self.folder / "last.keras"
        self.state_path = self.folder / "state.json"
        self.best_weights_path = self.folder / "best.weights.h5"  # train.restore_best: the best epoch so far
        self.best_path = self.folder / "best.json"
        self.pending_model_path, self.pending_path = self.folder / "pending.keras", self.folder / "pending.json"

    def claim(self, holder: str):
        """The run's claim for a process that starts it (a campaign or grid, for the whole life of its
        training child), or None when another live process holds it: two campaigns on one grid never
        start the same run. A flock, like the training lock: it goes with the process that held it.
        Close the returned file to let go."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / "claim", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder}: pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        return handle

    @contextlib.contextmanager
    def exclusive(self):
        """Hold the run's lock while training it: a second process (a `--resume` of a live run, or the
        same run started twice) is refused at once. The lock is the kernel's (flock), so it goes with
        the process that held it: a killed run never leaves a stale lock behind."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / "lock", "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunInUseError(f"{self.folder.name} is being trained right now by {holder}; wait for it to end "
                                    "(or stop it) before resuming or restarting it") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            yield
        finally:
            handle.close()  # releases the lock

    def state(self) -> CheckpointState | None:
        if not self.state_path.is_file():
            return None
        return CheckpointState(**json.loads(self.state_path.read_text()))

    def save(self, model: keras.Model, run_id: str, epochs_done: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "last.partial.keras"
        model.save(partial)
        os.replace(partial, self.model_path)
        previous = self.state() or CheckpointState(run_id, 0)
        self._write_state(previous.after_epoch(run_id, epochs_done))

    # Two steps per epoch, so its metrics reach the store exactly once whatever moment a kill comes:
    # the model is staged (pending.keras + pending.json) before the epoch's metrics are logged, and
    # promoted to last.keras once they are. A resume promotes a staged epoch whose metrics the store
    # holds (it is done: training it again would log its step twice) and drops one whose metrics it lacks.

    def stage(self, model: keras.Model, epoch: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "pending.partial.keras"
        model.save(partial)
        os.replace(partial, self.pending_model_path)
        self.pending_path.write_text(json.dumps({"epoch": epoch}))

    def staged_epoch(self) -> int | None:
        if not (self.pending_path.is_file() and self.pending_model_path.is_file()):
            return None
        try:
            return int(json.loads(self.pending_path.read_text())["epoch"])
        except (ValueError, KeyError):  # cut off while written: not staged
            return None

    def commit_staged(self, run_id: str, epoch: int) -> bool:
        """Promote the staged model of `epoch` to the checkpoint; False when none is staged for it."""
        if self.staged_epoch() != epoch:
            return False
        os.replace(self.pending_model_path, self.model_path)
        previous = self.state() or CheckpointState(run_id, 0)
        self._write_state(previous.after_epoch(run_id, epoch))
        self.pending_path.unlink(missing_ok=True)
        return True

    def settle(self, logged_epochs: int) -> None:
        """Before a resume: promote the staged epoch if the store holds its metrics (`logged_epochs`,
        the last epoch logged), else drop it; afterwards nothing is staged."""
        state, staged = self.state(), self.staged_epoch()
        if state is not None and staged == state.epochs_done + 1 and logged_epochs >= staged:
            self.commit_staged(state.run_id, staged)
        self.pending_path.unlink(missing_ok=True)
        self.pending_model_path.unlink(missing_ok=True)

    def save_best(self, model: keras.Model, epoch: int, score: float) -> None:
        """Keep `model`'s weights as the best epoch's (weights first, then the record naming them)."""
        partial = self.folder / "best.partial.weights.h5"
        model.save_weights(partial)
        os.replace(partial, self.best_weights_path)
        record = self.best_path.with_suffix(".partial")
        record.write_text(json.dumps({"epoch": epoch, "score": score}))
        os.replace(record, self.best_path)

    def best(self) -> dict | None:
        """{"epoch", "score"} of the best epoch kept so far, or None."""
        return json.loads(self.best_path.read_text()) if self.best_path.is_file() else None

    def start(self, run_id: str) -> None:
        """Record the run before its first epoch, so even an early kill is resumable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_state(CheckpointState(run_id, 0))

    def keep_plan(self, phases: list[dict], steps_per_epoch: int) -> None:
        """Keep the plan fitted to train.minutes, so a resume goes on with exactly it."""
        state = self.state()
        state.phases, state.steps_per_epoch = phases, steps_per_epoch
        self._write_state(state)

    def mark_finished(self) -> None:
        state = self.state()
        state.finished = True
        self._write_state(state)

    def load_model(self) -> keras.Model:
        import keras  # here, not at the top: a grid's plan reads checkpoint states without Keras

        return keras.saving.load_model(self.model_path)  # safe mode; zoo.models.ctc classes are registered

    def clear(self) -> None:
        """Forget the run's state and weights (the lock file stays: its holder may be this process)."""
        for path in self.folder.glob("*"):
            if path.name not in ("lock", "claim"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def _write_state(self, state: CheckpointState) -> None:
        partial = self.state_path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(state)))
        os.replace(partial, self.state_path)
