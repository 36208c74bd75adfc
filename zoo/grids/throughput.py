"""Runs/hour of a grid spread over workers (zoo.grids.distributed), for each worker count on this
machine (the command: python -m zoo.throughput, zoo.commands.throughput): each count trains its own
copy of the grid from scratch (another experiment, fresh checkpoints, its own queue)."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

from zoo.config import toml_key, toml_value


def grid_copy(source: Path, experiment: str, checkpoints: Path, target: Path) -> Path:
    """`source` as a new grid file: another experiment and checkpoint folder, everything else as it is."""
    raw = tomllib.loads(source.read_text())
    raw["experiment"] = experiment
    raw["overrides"] = {**raw.get("overrides", {}), "checkpoint_dir": str(checkpoints)}
    groups = raw.pop("groups", [])
    lines = [f"{toml_key(key)} = {toml_value(value)}" for key, value in raw.items()]
    for group in groups:
        lines += ["", "[[groups]]", *[f"{toml_key(key)} = {toml_value(value)}" for key, value in group.items()]]
    target.write_text("\n".join(lines) + "\n")
    return target


def measure(config: Path, storage: str, workers: int, folder: Path) -> tuple[int, float]:
    """(runs finished, seconds) for the grid trained from scratch by `workers` worker processes."""
    from zoo.grids.compare import load_grid

    experiment = f"{load_grid(config).experiment}-w{workers}-{int(time.time())}"
    copy = grid_copy(config, experiment, folder / f"ckpt-{workers}", folder / f"grid-{workers}.toml")
    runs = len(load_grid(copy).run_configs())
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "zoo.compare", str(copy), "--storage", storage, "--workers", str(workers)])
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"zoo.compare with {workers} workers exited {result.returncode}")
    return runs, seconds
