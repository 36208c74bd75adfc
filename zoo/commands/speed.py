"""`python -m zoo.speed experiments/grids/heads-reference.toml [--out reports/heads-reference/speed.csv] [--repeats 7]`:
every architecture of a grid timed in one process on one machine, for a report's speed columns.

Training runs log their own inference speed, but a grid's runs train on different machines and days
(a CPU here, a GPU there), so their speeds cannot be compared. This builds each architecture of the
grid (its preset's model; speed does not depend on the weights), and measures with the same images,
round-robin: parameters, images/s at batch 128 and ms/image at batch 1 (medians over rounds after a
warm-up), in float32 as a reader runs. `zoo.report` uses the file when
it lies in the report's folder, and names the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoo import cli
from zoo.grids.speed import measure
from zoo.reporting.report import SPEED_CSV


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.speed", __doc__)
    parser.add_argument("config", help="a comparison config, e.g. experiments/grids/heads-reference.toml")
    parser.add_argument("--out", type=Path, help="CSV to write (default: reports/<experiment>/speed.csv)")
    parser.add_argument("--repeats", type=int, default=15, help="rounds over all models, timed calls per figure (median; default 15)")
    args = parser.parse_args(argv)
    if args.repeats <= 0:
        parser.error(f"--repeats must be positive, got {args.repeats}")
    from zoo import config as config_lib
    from zoo.grids.compare import load_grid

    try:
        grid = load_grid(args.config)
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or config_lib.PROJECT_DIR / "reports" / grid.experiment / SPEED_CSV
    table = measure(grid, args.repeats)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"wrote {out} ({len(table)} architectures on {table['machine'].iloc[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
