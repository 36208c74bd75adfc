"""Data workers are born deaf to Ctrl-C: a terminal's SIGINT reaches the whole process group, and a
worker still starting when it came must not die and break the pool under the run being interrupted."""

import concurrent.futures
import multiprocessing
import os
import signal

from zoo.machine import processes


def test_a_ctrl_c_reaching_a_starting_data_worker_leaves_the_pool_working_and_the_parent_unblocked():
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=processes.data_worker, initargs=(os.getpid(),))
    try:
        with processes.sigint_blocked_in_children():
            future = pool.submit(os.getpid)  # the worker is spawned here
        (worker,) = pool._processes  # still importing: a spawned interpreter takes far longer than this
        os.kill(worker, signal.SIGINT)
        assert future.result(timeout=120) == worker  # it lived, and it serves
        assert pool.submit(os.getpid).result(timeout=60) == worker
    finally:
        pool.shutdown()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before  # this thread hears Ctrl-C again
