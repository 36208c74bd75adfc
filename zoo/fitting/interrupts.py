"""Ctrl-C and SIGTERM during `model.fit` take effect between batches, never inside Keras' set-up.

Python raises `KeyboardInterrupt` wherever the main thread happens to be when a signal arrives. Inside
`model.fit`'s set-up (tf.data building its input pipeline) that can surface as an unrelated error — a
`TypeError` from `tf.data.Dataset.zip` was seen — so the run ended FAILED instead of KILLED and resumable.
While `interrupts_between_batches()` is open, the first SIGINT/SIGTERM is only noted; the callback it
yields raises `KeyboardInterrupt` at the next batch or epoch boundary. A second signal raises at once,
for a user who does not want to wait. An error raised after a signal was noted is reported as that
interrupt: the signal reaches the data workers too, so one may fail before the boundary.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

import keras

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InterruptBetweenBatches(keras.callbacks.Callback):
    """Raises the noted signal as `KeyboardInterrupt` at the next batch or epoch boundary."""

    def __init__(self):
        super().__init__()
        self.pending: int | None = None

    def note(self, signum, frame) -> None:
        if self.pending is not None:  # the second signal: stop now, wherever we are
            raise KeyboardInterrupt(f"signal {signum}")
        self.pending = signum

    def raise_pending(self, *args, **kwargs) -> None:
        if self.pending is not None:
            raise KeyboardInterrupt(f"signal {self.pending}")

    on_train_batch_begin = on_train_batch_end = on_test_batch_end = on_epoch_end = on_train_end = raise_pending


@contextlib.contextmanager
def interrupts_between_batches() -> Iterator[InterruptBetweenBatches]:
    """Pass the yielded callback to `model.fit` (last, so the epoch's checkpoint is written before it
    raises); the signal handlers in force before are restored on exit, and a signal noted but not yet
    raised (one that arrived after the last batch) is raised then."""
    callback = InterruptBetweenBatches()
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield callback
        return
    previous = {signum: signal.signal(signum, callback.note) for signum in SIGNALS
                if signal.getsignal(signum) is not signal.SIG_IGN}  # an ignored signal stays ignored
    try:
        yield callback
    except Exception as error:
        if callback.pending is None:
            raise
        # the signal reached other processes too (a terminal's Ctrl-C, the whole group): an error it
        # caused before the next batch boundary (a data worker gone) is the interrupt the user asked for
        raise KeyboardInterrupt(f"signal {callback.pending}") from error
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    callback.raise_pending()
