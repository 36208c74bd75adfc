"""`python -m zoo.emulate --cpus 0.3 --isa AVX2 -- COMMAND...`: run a command as a slower CPU would.

The command (and every process it starts: data workers included) gets at most `--cpus` CPUs' worth
of time through a cgroup quota (zoo.machine.cpu_quota; needs root), and oneDNN, TensorFlow's CPU
kernels, is held to the instruction set `--isa` names (ONEDNN_MAX_CPU_ISA), so the zoo describes the
box as that CPU and `train.precision = "auto"` resolves as it would there (fp32 below AVX512_CORE_BF16).
The core count stays this machine's: the quota slows every core alike.

Calibrate `--cpus` against a figure measured on the real CPU, e.g. the AVX2-only box's 15.6 training
samples/s (docs/benchmarks.md):
    python -m zoo.emulate --cpus 0.5 --isa AVX2 -- python -m zoo.bench --quick --variants fp32_keras_bn
then scale --cpus by 15.6 / the measured samples/s. An emulation matches the compute it was calibrated
on, not the real box's memory or clocks: a figure measured so is labelled emulated, never as the box's.
"""

from __future__ import annotations

import os
import signal
import sys

from zoo import cli
from zoo.machine import cpu_quota, hardware, processes


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.emulate", __doc__)
    parser.add_argument("--cpus", type=float, required=True, help="CPUs' worth of time the command gets (e.g. 0.3)")
    parser.add_argument("--isa", default="", help="the oneDNN ISA level to hold TensorFlow to, e.g. AVX2 "
                        f"(accepted: {', '.join(hardware.ONEDNN_ISA_FEATURES)}); default: this CPU's")
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    args = parser.parse_args(argv)
    if args.isa:
        os.environ[hardware.ONEDNN_ISA_ENV] = args.isa.upper()  # read by machine_description and by the command
    try:
        described = hardware.machine_description()
        quota = cpu_quota.CpuQuota(args.cpus)
    except (ValueError, cpu_quota.QuotaError) as error:
        parser.error(str(error))
    try:
        child = processes.start_child(args.command, dict(os.environ), before_exec=quota.join)
    except OSError as error:
        quota.remove()
        parser.error(f"cannot run {args.command[0]!r}: {error.strerror}")
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))  # passed on, so the group is removed after
    print(f"emulating {args.cpus:g} CPUs' worth of time on {described}", flush=True)
    try:
        return child.wait()
    except KeyboardInterrupt:  # the child, in the same process group, has it too: it ends its run resumable
        processes.stop_after_interrupt([child])
        raise
    finally:
        child.wait()
        quota.remove()

if __name__ == "__main__":
    sys.exit(main())
