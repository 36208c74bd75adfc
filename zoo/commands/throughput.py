"""`python -m zoo.throughput CONFIG --storage postgresql://... [--workers 1,2]`: runs/hour of a
grid spread over workers (zoo.grids.distributed), measured for each worker count on this machine.

For each count the grid is trained from scratch as a copy of its own (experiment `<name>-w<N>-<time>`,
fresh checkpoints in a temp folder, its own queue in the storage), one count after the other, with
`python -m zoo.compare COPY --storage URL --workers N`; the wall time from start to the last run
FINISHED gives runs/hour, and the ratio to the first count is printed beside it, with the machine.
Use a grid of a few short runs (a benchmark, not a comparison): e.g. experiments/grids/throughput-smoke.toml.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from zoo import cli
from zoo.grids.throughput import measure


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.throughput", __doc__)
    parser.add_argument("config", type=Path, help="a comparison config (a few short runs)")
    parser.add_argument("--storage", required=True, help="an Optuna RDB storage URL (postgresql://...)")
    parser.add_argument("--workers", type=cli.comma_separated, default=["1", "2"], help="worker counts, e.g. 1,2 (default)")
    args = parser.parse_args(argv)
    from zoo.machine import hardware

    counts = [int(count) for count in args.workers]
    results = []
    with tempfile.TemporaryDirectory(prefix="zoo-throughput-") as folder:
        for count in counts:
            runs, seconds = measure(args.config, args.storage, count, Path(folder))
            results.append((count, runs, seconds))
            print(f"{count} worker(s): {runs} runs in {seconds:.0f} s", flush=True)
    base = results[0][1] / results[0][2]
    print(f"\nmachine: {hardware.machine_description()}")
    print("| workers | runs | seconds | runs/hour | vs first |\n|---|---|---|---|---|")
    for count, runs, seconds in results:
        rate = runs / seconds
        print(f"| {count} | {runs} | {seconds:.0f} | {3600 * rate:.1f} | {rate / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
