"""Child processes that never outlive their parent: data workers and study workers.

On Linux a child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), so a
SIGKILL of `zoo.train` or `zoo.study` also ends their workers instead of leaving them running on
their own. Elsewhere this is a no-op (the workers then end when they next talk to the parent).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


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
