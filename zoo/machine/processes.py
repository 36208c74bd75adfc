"""Child processes that never outlive their parent: data workers, study workers, and the trainings
of a grid or campaign.

On Linux a child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), so a
SIGKILL of `zoo.train`, `zoo.study`, `zoo.compare` or `zoo.campaign` also ends their children instead
of leaving them running on their own (a killed training resumes from its last epoch). Elsewhere this is a no-op (the workers then end when they next talk to the parent).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_training(command: list[str], env: dict[str, str], grace_s: float = 120.0, before_exec=None) -> int:
    """Run a training command and return its exit status. On Ctrl-C (which the child, in the same
    process group, receives too) wait up to `grace_s` for it to end its run KILLED and resumable before
    re-raising; `subprocess.run` would SIGKILL it at once and leave the run RUNNING."""
    process = start_child(command, env, before_exec)
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop_after_interrupt([process], grace_s)
        raise


def start_child(command: list[str], env: dict[str, str], before_exec=None):
    """`subprocess.Popen` of a command that dies with this process (a SIGKILL of a campaign included);
    `before_exec`, if given, is called in the child before the command starts (e.g. to join a cgroup)."""
    import subprocess

    parent = os.getpid()

    def prepare_child() -> None:
        die_with_parent(parent)
        if before_exec is not None:
            before_exec()

    return subprocess.Popen(command, env=env, preexec_fn=prepare_child)


def wait_any(running, poll_s: float = 1.0):
    """The first of several started processes (`subprocess.Popen`) to end."""
    import time

    while True:
        for process in running:
            if process.poll() is not None:
                return process
        time.sleep(poll_s)


def stop_after_interrupt(running, grace_s: float = 120.0) -> None:
    """After Ctrl-C, which the children in the same process group received too: give each up to
    `grace_s` (together) to end its run KILLED and resumable, then SIGKILL what is left."""
    import subprocess
    import time

    deadline = time.monotonic() + grace_s
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def data_worker(parent_pid: int) -> None:
    """A data worker's start: it dies with its parent and leaves Ctrl-C to it (the parent stops the
    pool), so an interrupted run prints one line, not a traceback per worker. Started inside
    `sigint_blocked_in_children()`, it was born with SIGINT blocked: a Ctrl-C that reached it while it
    was still importing stayed pending, and ignoring the signal now discards it."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def sigint_blocked_in_children():
    """Processes started inside (a process pool spawns its workers on `submit`) inherit SIGINT blocked
    until `data_worker` ignores it; without this, a terminal's Ctrl-C, which reaches the whole process
    group, killed a worker that was still starting and broke the pool under a run being interrupted.
    This thread gets the SIGINT once the block ends, so nothing is lost here."""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: nothing to block
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a child process; `parent_pid` is the pid of the process that started it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)
