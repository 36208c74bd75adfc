"""`python -m zoo.grids.throughput CONFIG --storage postgresql://... [--workers 1,2]`: runs/hour of a
grid spread over workers (zoo.grids.distributed), measured for each worker count on this machine.

For each count the grid is trained from scratch as a copy of its own (experiment `<name>-w<N>-<time>`,
fresh checkpoints in a temp folder, its own queue in the storage), one count after the other, with
`python -m zoo.compare COPY --storage URL --workers N`; the wall time from start to the last run
FINISHED gives runs/hour, and the ratio to the first count is printed beside it, with the machine.
Use a grid of a few short runs (a benchmark, not a comparison): e.g. experiments/grids/throughput-smoke.toml.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from zoo import cli
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


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.grids.throughput", __doc__)
    parser.add_argument("config", type=Path, help="a comparison config (a few short runs)")
    parser.add_argument("--storage", required=True, help="an Optuna RDB storage URL (postgresql://...)")
    parser.add_argument("--workers", type=cli.comma_separated, default=["1", "2"], help="worker counts, e.g. 1,2 (default)")
    args = parser.parse_args(argv)
    from zoo.fitting import hardware

    counts = [int(count) for count in args.workers]
    results = []
    with tempfile.TemporaryDirectory(prefix="zoo-throughput-") as folder:
        for count in counts:
            runs, seconds = measure(args.config, args.storage, count, Path(folder))
            results.append((count, runs, seconds))
            print(f"{count} worker(s): {runs} runs in {seconds:.0f} s", flush=True)
    base = results[0][1] / results[0][2]
    print(f"\nmachine: {hardware.describe()}")
    print("| workers | runs | seconds | runs/hour | vs first |\n|---|---|---|---|---|")
    for count, runs, seconds in results:
        rate = runs / seconds
        print(f"| {count} | {runs} | {seconds:.0f} | {3600 * rate:.1f} | {rate / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
