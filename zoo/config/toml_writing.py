"""Configs back to TOML: the presets a study writes (`experiments/tuned/`) and grid copies."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from zoo.config.files import USER_EXPERIMENTS_DIR
from zoo.config.schema import RunConfig, to_dict


def toml_value(value: Any, top: bool = False) -> str:
    """`value` as inline TOML; with top=True a plain string stays as it is (how `--set` reads strings)."""
    if isinstance(value, str):
        return value if top else json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # a key that is not bare (`train.phases`) is quoted, else TOML would nest it
        return "{ " + ", ".join(f"{toml_key(key)} = {toml_value(item)}" for key, item in value.items()) + " }"
    return repr(value)


def toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) else json.dumps(key)


def write_preset(config: RunConfig, name: str, header: str, folder: Path = USER_EXPERIMENTS_DIR / "tuned") -> Path:
    """Save `config` (minus arch and seed) as <folder>/<name>.toml, atomically; `header` becomes comments."""
    sections = {"data": to_dict(config.data), "model": dict(config.model), "train": to_dict(config.train),
                "tracking": to_dict(config.tracking)}
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for section, values in sections.items():
        if values:
            lines += ["", f"[{section}]", *[f"{key} = {toml_value(value)}" for key, value in values.items()]]
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{name}.toml"
    partial = path.with_suffix(".partial")
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)
    return path
