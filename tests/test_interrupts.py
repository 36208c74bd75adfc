"""Ctrl-C / SIGTERM during model.fit's set-up take effect at the next batch, as a KeyboardInterrupt."""

import signal

import keras
import numpy as np
import pytest

from zoo.fitting.interrupts import interrupts_between_batches


@pytest.fixture(autouse=True)
def handlers_as_in_a_terminal():
    """Ctrl-C raises, SIGTERM is caught: a job started in the background (`cmd &`, nohup) inherits SIGINT
    ignored, which the context keeps, so each test sets what it starts from and restores it after."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: pytest.fail(f"signal {signum} reached the old handler"))
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_a_signal_is_noted_then_raised_at_the_next_batch_and_a_second_one_at_once():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with interrupts_between_batches() as stop:
            signal.raise_signal(signal.SIGTERM)  # as if it came during tf.data's set-up: nothing raised yet
            assert stop.pending == signal.SIGTERM
            with pytest.raises(KeyboardInterrupt, match="signal 15"):
                stop.on_train_batch_end(0)
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)  # the second signal does not wait
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_during_fits_setup_stops_fit_after_at_most_one_batch():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    served = []

    def batches():
        while True:
            if not served:  # Keras reads the first batch while it builds its input pipeline
                signal.raise_signal(signal.SIGTERM)
            served.append(1)
            yield np.ones((2, 4), "float32"), np.ones((2, 1), "float32")

    with pytest.raises(KeyboardInterrupt), interrupts_between_batches() as stop:
        model.fit(batches(), steps_per_epoch=5, epochs=3, callbacks=[stop], shuffle=False, verbose=0)
    assert model.optimizer.iterations.numpy() <= 1  # stopped at a batch boundary, not after the epochs


def test_an_ignored_signal_stays_ignored_and_nothing_pending_raises_nothing():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_between_batches() as stop:
            signal.raise_signal(signal.SIGINT)
            stop.on_train_batch_end(0)
        assert stop.pending is None and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_error_after_a_noted_signal_is_that_interrupt_and_without_one_stays_itself():
    """A terminal's Ctrl-C reaches the data workers too; a worker gone before the next batch boundary
    must end the run as interrupted (130, resumable), not as a failure."""
    with pytest.raises(KeyboardInterrupt, match="signal 2") as raised:
        with interrupts_between_batches():
            signal.raise_signal(signal.SIGINT)
            raise RuntimeError("a process in the process pool was terminated abruptly")
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(RuntimeError):
        with interrupts_between_batches():
            raise RuntimeError("a real failure")
