"""`python -m zoo.emulate`: a command run under a CPU-time quota and a oneDNN ISA cap."""

import os
import subprocess
import sys

import pytest

from zoo.machine import cpu_quota


def test_quota_bounds_and_a_missing_controller_are_clear_errors(tmp_path):
    assert cpu_quota.current_cpus(tmp_path) is None  # no cgroup files there: no quota known
    assert cpu_quota.quota_lines(0.25) == (25_000, 100_000)
    with pytest.raises(ValueError, match="cpus must be between 0.01 and this machine's"):
        cpu_quota.quota_lines(1000)
    with pytest.raises(cpu_quota.QuotaError, match="no cgroup cpu controller under .*systemd-run --scope -p CPUQuota"):
        cpu_quota.cpu_controller(tmp_path)


def _run_emulation(*args, timeout=60):
    """Runs `zoo.emulate ARGS`; returns (returncode, stdout, stderr, its group's name).

    Tests run in parallel, so each checks only the group named for its own emulation, never the whole folder.
    """
    process = subprocess.Popen([sys.executable, "-m", "zoo.emulate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr, f"zoo-quota-{process.pid}"


def _quota_writable() -> bool:
    try:
        cpu_quota.CpuQuota(1.0, name=f"zoo-test-probe-{os.getpid()}").remove()
        return True
    except cpu_quota.QuotaError:
        return False


@pytest.mark.skipif(not _quota_writable(), reason="needs a writable cgroup cpu controller (root); the error path is tested above")
def test_the_command_gets_only_its_quota_of_cpu_time_and_the_isa_cap():
    # ~0.4 s of CPU time at a quota of a quarter CPU takes >= ~1.6 s of wall time; the child sees the cap
    busy = ("import os, time; start = time.monotonic(); cpu = time.process_time()\n"
            "while time.process_time() - cpu < 0.4: pass\n"
            "print(os.environ['ONEDNN_MAX_CPU_ISA'], round((time.monotonic() - start) / (time.process_time() - cpu), 2))\n"
            "from zoo.machine import hardware; print(hardware.machine_description())")
    groups = cpu_quota.cpu_controller()[0]
    returncode, stdout, stderr, group = _run_emulation("--cpus", "0.25", "--isa", "avx2", "--", sys.executable, "-c", busy)
    assert returncode == 0, stderr
    assert "emulating 0.25 CPUs' worth of time on" in stdout and "oneDNN held to AVX2" in stdout
    isa, slowdown = stdout.splitlines()[-2].split()
    assert "cores, 0.25 CPUs' time; avx2" in stdout.splitlines()[-1]  # the box describes itself as emulated
    assert isa == "AVX2" and float(slowdown) > 2.5  # unthrottled: ~1.0
    assert group not in os.listdir(groups)  # its group is removed after


@pytest.mark.skipif(not _quota_writable(), reason="needs a writable cgroup cpu controller (root); the error path is tested above")
def test_a_terminated_emulation_ends_its_command_and_removes_its_group():
    import time

    groups = cpu_quota.cpu_controller()[0]
    process = subprocess.Popen([sys.executable, "-m", "zoo.emulate", "--cpus", "0.5", "--", "sleep", "60"], stdout=subprocess.PIPE, text=True)
    assert "emulating 0.5 CPUs' worth" in process.stdout.readline()
    assert f"zoo-quota-{process.pid}" in os.listdir(groups)
    start = time.monotonic()
    process.terminate()
    process.wait(timeout=30)
    assert time.monotonic() - start < 10 and f"zoo-quota-{process.pid}" not in os.listdir(groups)  # sleep ended early, group gone


@pytest.mark.skipif(not _quota_writable(), reason="needs a writable cgroup cpu controller (root); the error path is tested above")
def test_a_command_that_cannot_start_is_a_clear_error_and_leaves_no_group():
    groups = cpu_quota.cpu_controller()[0]
    returncode, _, stderr, group = _run_emulation("--cpus", "0.5", "--", "no-such-command-here")
    assert returncode == 2 and "cannot run 'no-such-command-here': No such file or directory" in stderr
    assert group not in os.listdir(groups)


@pytest.mark.skipif(not _quota_writable(), reason="needs a writable cgroup cpu controller (root); the error path is tested above")
def test_the_group_is_removed_after_processes_the_command_left_behind_end():
    # the command exits at once and leaves a grandchild in the group for ~2 s (as a training's data
    # workers outlive it briefly): the group is removed once it ends, and the command's status kept
    groups = cpu_quota.cpu_controller()[0]
    returncode, _, stderr, group = _run_emulation("--cpus", "0.5", "--", "bash", "-c", "sleep 2 & exit 3")
    assert returncode == 3 and "warning" not in stderr and "Traceback" not in stderr
    assert group not in os.listdir(groups)
