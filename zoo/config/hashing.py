"""What identifies a run: the config hash of every result-changing field (fields added later hashed
only when they differ from what earlier runs had, so old runs keep their hashes), the architecture
hash, the task a model is ranked on, its registered name, and the flat params MLflow logs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from zoo.config.schema import DataConfig, RunConfig, phases_as_written, to_dict


# fields that change where or how fast a run goes, never what it computes
RESULT_NEUTRAL_KEYS = {"checkpoint_dir", "data.workers", "data.prefetch_batches", "tracking.experiment",
                       "tracking.log_model", "tracking.register_model", "tracking.speed_repeats", "train.run_eagerly"}


# fields added after runs were tracked, with the value every earlier run had: hashed only when they
# differ from it, so earlier runs keep their hashes
LATER_KEYS = {"data.source": "captcha", "data.label_pattern": r"^([^_.]+)", "data.val_fraction": "0.1",
              "data.test_fraction": "0.1", "train.init": "", "train.precision": "fp32", "data.resize": "stretch",
              "data.auto_width": "false", "data.augment": "none", "train.restore_best": "false",
              "train.minutes": "0.0", "data.oversample": "", "data.oversample_factor": "1.0",
              "train.sample_budget": "0", "data.draw_sizes": "",
              "data.augment_share": "1.0", "train.ema": "0.0"}


def resolved_precision(config: RunConfig) -> str:
    """`fp32` or `bf16`: what `train.precision` means on this machine (`auto` is decided by zoo.machine.hardware)."""
    from zoo.machine import hardware

    return hardware.resolve_precision(config.train.precision)


def arch_hash(config: RunConfig) -> str:
    """Hash of the fully resolved architecture: changes when a variant's definition changes, so a
    finished run of the old definition is not counted as a run of the new one (zoo.compare)."""
    fields = config.arch_config().fields()
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()[:8]


def arch_params(config: RunConfig) -> dict[str, str]:
    """The resolved architecture as MLflow params: `arch.<field>`."""
    return {f"arch.{key}": json.dumps(value, default=list) if not isinstance(value, str) else value
            for key, value in config.arch_config().fields().items()}


def config_hash(config: RunConfig) -> str:
    """Hash of every field that can change a run's results; `auto` precision is hashed as what it
    resolves to here, so a run is never resumed or skipped across machines that compute differently."""
    flat = flatten(config)
    flat["train.precision"] = resolved_precision(config)
    fields = {key: value for key, value in flat.items() if key not in RESULT_NEUTRAL_KEYS
              and not (key in LATER_KEYS and value == LATER_KEYS[key])}
    payload = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:8]


TASK_KEYS = ("charset", "min_length", "max_length", "width", "height", "source", "test_seed")  # what is read, tested how


def task_suffix(data: DataConfig) -> str:
    """'' for the reference problem (4 of 36 characters at 170x80, our generated test set), else a
    readable key of the task (`10c2-2-64x32-1a2b3c`): models are only ranked against models that
    were tested on the same task."""
    values = {key: getattr(data, key) for key in TASK_KEYS}
    if values == {key: getattr(DataConfig(), key) for key in TASK_KEYS}:
        return ""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:6]
    return f"{len(data.charset)}c{data.min_length}-{data.max_length}-{data.width}x{data.height}-{digest}"


def registered_model_name(config: RunConfig) -> str:
    """`zoo-<arch>` for the reference problem, `zoo-<arch>-<task>` for any other: the `champion` alias
    of one registered model then always compares like with like."""
    suffix = task_suffix(config.data)
    return f"zoo-{config.arch}" + (f"-{suffix}" if suffix else "")


def flatten(config: RunConfig) -> dict[str, str]:
    """`{"data.charset": "...", "train.phases": "[...]", ...}` for MLflow params."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if prefix == "train.phases":
            value = phases_as_written(config.train.phases)
        if isinstance(value, dict) and prefix != "model":
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            flat[prefix] = value if isinstance(value, str) else json.dumps(value)

    walk("", to_dict(config))
    return flat
