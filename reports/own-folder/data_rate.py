"""What the own-folder training stream costs: images/s of the README command's augmented training
samples (`--preset folder-cpu --data folder:SET`: its crop, width and augmentation) drawn by the data
workers, pass after pass, with each worker keeping the images it has fitted (zoo.data.folder_data,
the default) and without (ZOO_FITTED_CACHE_MB=0), measured in one process on one machine.

    python reports/own-folder/data_rate.py /work/data/wide-hollow-4k /work/data/captcha-8k [--passes 3]

Prints a Markdown table (images/s per pass, the kept run against the uncached one) and the machine.
Each worker keeps only the images it fitted itself, so a pass reads more of them from memory than the
one before; what a training step of 32 loses to data is 32 / (images/s) seconds of the workers' CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout's zoo

from zoo import config as config_lib  # noqa: E402
from zoo.data import folder_data  # noqa: E402
from zoo.data.stream import BatchStream, default_workers, source_for  # noqa: E402
from zoo.machine import hardware  # noqa: E402

BATCH = 32


def pass_rates(data, passes: int, workers: int, cache_mb: str) -> list[float]:
    """Images/s of each of `passes` passes over the training images, workers started with ZOO_FITTED_CACHE_MB=cache_mb."""
    source = source_for(data, "train", seed=0)
    per_pass = -(-len(source.pass_images) // BATCH)
    os.environ["ZOO_FITTED_CACHE_MB"] = cache_mb  # the spawned workers read it
    rates = []
    with BatchStream(source, BATCH, stop_batch=passes * per_pass, workers=workers, prefetch=2 * workers) as stream:
        batches, started = iter(stream), time.perf_counter()
        for _ in range(passes):
            count = sum(len(next(batches)[0]) for _ in range(per_pass))
            now = time.perf_counter()
            rates.append(count / (now - started))
            started = now
    return rates  # pass 1 includes the workers' start-up (a second or two of imports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="labeled folders, as for --data folder:SET")
    parser.add_argument("--passes", type=int, default=3, help="passes over each set's training images (default 3)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="data worker processes (default: one per core)")
    args = parser.parse_args(argv)
    if args.passes < 2:
        parser.error("--passes must be at least 2 (the first pass fills the workers' caches)")
    default_mb = os.environ.get("ZOO_FITTED_CACHE_MB", str(folder_data.FITTED_CACHE_MB))
    print(f"| set | input | workers | kept | {' | '.join(f'pass {i + 1}' for i in range(args.passes))} |")
    print("|---|---|---|---|" + "---|" * args.passes)
    for folder in args.sets:
        data = config_lib.make_config("bigru", "folder-cpu", 0, [f"data.source=folder:{folder}"]).data
        rows = {}
        for label, cache_mb in (("no", "0"), ("yes", default_mb)):
            rows[label] = pass_rates(data, args.passes, args.workers, cache_mb)
            print(f"| {folder.name} | {data.width} x {data.height} {data.resize} | {args.workers} | {label} | "
                  + " | ".join(f"{rate:.0f}/s" for rate in rows[label]) + " |", flush=True)
        ratio = rows["yes"][-1] / rows["no"][-1]
        print(f"| {folder.name} | | | last pass, kept / not | {ratio:.2f}x |" + " |" * (args.passes - 1), flush=True)
    print(f"\n{hardware.machine_description()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
