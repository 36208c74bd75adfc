"""A CPU-time quota for a command, through the kernel's cgroup cpu controller: the command and every
process it starts get at most `cpus` CPUs' worth of time (e.g. 0.5 = half of one core, spread over
all of them), so a fast box can stand in for a slower one (`python -m zoo.emulate`). The group also
gets a high weight, so other work on the box cannot push it below its quota.

cgroup v1 (`/sys/fs/cgroup/cpu/`: cpu.cfs_quota_us over cpu.cfs_period_us) and v2 (`cpu.max`, with
the cpu controller enabled for the root's children) are both handled; writing them needs root, as in
our containers. Where systemd runs, `systemd-run --scope -p CPUQuota=50% COMMAND` does the same.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000  # the kernel's default CFS period
# the group's weight against other work on the box, 10x the default: the quota is a ceiling, and the
# weight makes it a floor too (other processes yield to the group up to its quota), so an emulation
# beside other work still gets the CPU time it stands for
WEIGHT = {"v1": ("cpu.shares", "10240"), "v2": ("cpu.weight", "1000")}


def current_cpus(root: Path = CGROUP_ROOT) -> float | None:
    """The CPUs' worth of time this process's cgroup allows (a zoo.emulate quota, a container's CPU
    limit), or None where it sets none or it cannot be read."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpu" in controllers.split(","):  # v1
                group = root / "cpu" / path.lstrip("/")
                quota, period = int((group / "cpu.cfs_quota_us").read_text()), int((group / "cpu.cfs_period_us").read_text())
                return quota / period if quota > 0 else None
        for line in lines:
            if line.startswith("0::"):  # v2
                quota, period = (root / line[3:].lstrip("/") / "cpu.max").read_text().split()
                return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None
    return None


class QuotaError(RuntimeError):
    """No cgroup cpu controller this process may write."""


def cpu_controller(root: Path = CGROUP_ROOT) -> tuple[Path, str]:
    """The folder new cpu cgroups are made in, and its version ("v1" or "v2")."""
    v1 = root / "cpu"
    if (v1 / "cpu.cfs_quota_us").exists():
        return v1, "v1"
    subtree = root / "cgroup.subtree_control"
    if subtree.exists() and "cpu" in subtree.read_text().split():
        return root, "v2"
    raise QuotaError(f"no cgroup cpu controller under {root} (looked for cpu/cpu.cfs_quota_us, and for "
                     "\"cpu\" in cgroup.subtree_control): a CPU quota needs one, writable (root); where "
                     "systemd runs, use systemd-run --scope -p CPUQuota=50% COMMAND instead")


def quota_lines(cpus: float) -> tuple[int, int]:
    """(quota, period) in microseconds for `cpus` CPUs' worth of time a period."""
    if not 0.01 <= cpus <= (os.cpu_count() or 1):
        raise ValueError(f"cpus must be between 0.01 and this machine's {os.cpu_count()} CPUs, got {cpus}")
    return round(cpus * PERIOD_US), PERIOD_US


def remove_orphans(parent: Path) -> None:
    """Remove the empty groups of zoo processes that no longer run (one killed with SIGKILL leaves its group)."""
    for group in parent.glob("zoo-quota-*"):
        pid = group.name.removeprefix("zoo-quota-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                group.rmdir()
            except OSError:  # processes still in it, or not ours to remove
                pass


class CpuQuota:
    """A cgroup holding `cpus` CPUs' worth of time: `join` (called in a child before its command
    starts) moves the calling process in, `remove` deletes the group once its processes have ended."""

    def __init__(self, cpus: float, name: str | None = None, root: Path = CGROUP_ROOT):
        parent, self.version = cpu_controller(root)
        quota, period = quota_lines(cpus)
        remove_orphans(parent)
        self.path = parent / (name or f"zoo-quota-{os.getpid()}")
        try:
            self.path.mkdir()
            if self.version == "v1":
                (self.path / "cpu.cfs_period_us").write_text(str(period))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (self.path / "cpu.max").write_text(f"{quota} {period}")
            weight_file, weight = WEIGHT[self.version]
            (self.path / weight_file).write_text(weight)
        except OSError as error:
            self.remove()
            raise QuotaError(f"cannot set a CPU quota in {self.path}: {error} (it needs root)") from error

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self, wait_s: float = 30.0) -> None:
        """Delete the group; the kernel refuses (EBUSY) while processes that were in it are still
        exiting (a command's data workers), so this waits up to `wait_s` for them, then leaves the
        empty group for the next quota's `remove_orphans` with a warning rather than failing a run."""
        import errno
        import time

        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as error:
                if error.errno != errno.EBUSY or time.monotonic() > deadline:
                    print(f"warning: could not remove the CPU quota group {self.path}: {error.strerror} "
                          "(removed by the next zoo.emulate, or: rmdir it)", file=sys.stderr)
                    return
                time.sleep(0.2)
