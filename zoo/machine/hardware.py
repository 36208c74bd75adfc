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

from zoo.machine import cpu_quota

# the ISA flags that matter for training and inference speed, in the order they are printed
SPEED_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
BF16_FEATURES = ("avx512_bf16", "amx_bf16")  # native bfloat16 arithmetic on x86

# oneDNN (TensorFlow's CPU kernels) uses no instruction above the level named by ONEDNN_MAX_CPU_ISA
# (https://oneapi-src.github.io/oneDNN/dev_guide_cpu_dispatcher_control.html): the features each
# level allows, so a box held to AVX2 is described, and trains, as an AVX2-only box would (its `auto`
# precision is fp32: oneDNN builds no bf16 primitive below AVX512_CORE_BF16).
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"
_AVX2 = ("avx2", "fma")
_AVX512 = _AVX2 + ("avx512f",)
ONEDNN_ISA_FEATURES = {
    "SSE41": (), "AVX": (), "AVX2": _AVX2, "AVX2_VNNI": _AVX2 + ("avx_vnni",), "AVX2_VNNI_2": _AVX2 + ("avx_vnni",),
    "AVX512_CORE": _AVX512, "AVX512_CORE_VNNI": _AVX512 + ("avx512_vnni",),
    "AVX512_CORE_BF16": _AVX512 + ("avx512_vnni", "avx512_bf16"),
    "AVX10_1_512": _AVX512 + ("avx512_vnni", "avx512_bf16"),
}
ONEDNN_UNCAPPED = ("ALL", "DEFAULT", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX",
                   "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")


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


def onednn_isa_cap() -> str | None:
    """The level ONEDNN_MAX_CPU_ISA holds oneDNN to (upper-cased), or None where it holds it to nothing.
    An unknown value is an error here rather than a silently full-speed run (oneDNN itself ignores it)."""
    value = os.environ.get(ONEDNN_ISA_ENV, "").strip().upper()
    if not value or value in ONEDNN_UNCAPPED:
        return None
    if value not in ONEDNN_ISA_FEATURES:
        accepted = ", ".join([*ONEDNN_ISA_FEATURES, *ONEDNN_UNCAPPED])
        raise ValueError(f"{ONEDNN_ISA_ENV}={os.environ[ONEDNN_ISA_ENV]!r} is not a oneDNN ISA level; accepted: {accepted}")
    return value


def cpu_features() -> list[str]:
    """The speed-relevant ISA features this CPU reports (subset of SPEED_FEATURES, in that order), less
    those above the level ONEDNN_MAX_CPU_ISA holds oneDNN to."""
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    cap = onednn_isa_cap()
    if cap is not None:
        flags &= set(ONEDNN_ISA_FEATURES[cap])
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


def slow_precision_warning(precision: str) -> str | None:
    """A warning where the resolved `precision` runs far below this machine's speed: bf16 pinned
    (`train.precision = "bf16"`, as the heads campaign's tiers are) on a CPU without native bf16
    and no GPU, where it is emulated (2.7 samples/s against fp32's 15.6 on an AVX2-only box,
    docs/benchmarks.md); None where it runs at speed."""
    if precision != "bf16" or has_gpu() or cpu_has_bf16():
        return None
    return (f"warning: train.precision is bf16, but this CPU ({machine_description()}) has no native bf16 "
            f"({' or '.join(BF16_FEATURES)}) and there is no GPU: it is emulated, about 6x slower than fp32. "
            "Use train.precision=auto (fp32 here) unless the run must match others trained in bf16.")


def machine_description() -> str:
    """One line for every printed or logged figure: CPU, cores, ISA features, GPU."""
    features = " ".join(cpu_features()) or "none of " + "/".join(SPEED_FEATURES[:2])
    cap = onednn_isa_cap()
    held = f"; oneDNN held to {cap}" if cap else ""
    quota = cpu_quota.current_cpus()
    limited = f", {quota:g} CPUs' time" if quota is not None and quota < (os.cpu_count() or 1) else ""
    gpu = ", NVIDIA GPU" if has_gpu() else ""
    return f"{cpu_model()} ({os.cpu_count()} cores{limited}; {features}{held}){gpu}"
