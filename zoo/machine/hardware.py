"""What machine this is: CPU model, the ISA features that decide speed, GPUs; and the precision
`train.precision = "auto"` resolves to on it.

Read from /proc/cpuinfo and the NVIDIA driver's files, so nothing here imports a deep-learning
framework: config hashing, `--help` and reports stay light.
"""

from __future__ import annotations

import functools
import glob
import os
import platform
from pathlib import Path

# the ISA flags that matter for training and inference speed, in the order they are printed
SPEED_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
BF16_FEATURES = ("avx512_bf16", "amx_bf16")  # native bfloat16 arithmetic on x86


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """`AMD EPYC 9R14`-like name, else the platform's processor string."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine() or "unknown CPU"


def cpu_features() -> list[str]:
    """The speed-relevant ISA features this CPU reports (subset of SPEED_FEATURES, in that order)."""
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    return [feature for feature in SPEED_FEATURES if feature in flags]


def cpu_has_bf16() -> bool:
    return any(feature in cpu_features() for feature in BF16_FEATURES)


def has_gpu() -> bool:
    """An NVIDIA GPU visible to this process (driver files present and not hidden by CUDA_VISIBLE_DEVICES)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*")) or Path("/proc/driver/nvidia/gpus").is_dir()


def resolve_precision(precision: str) -> str:
    """`auto` -> `bf16` on a GPU or a CPU with native bf16 instructions, else `fp32`; others unchanged."""
    if precision != "auto":
        return precision
    return "bf16" if has_gpu() or cpu_has_bf16() else "fp32"


def machine_description() -> str:
    """One line for every printed or logged figure: CPU, cores, ISA features, GPU."""
    features = " ".join(cpu_features()) or "none of " + "/".join(SPEED_FEATURES[:2])
    gpu = ", NVIDIA GPU" if has_gpu() else ""
    return f"{cpu_model()} ({os.cpu_count()} cores; {features}){gpu}"
