"""`python -m zoo.compare experiments/grids/heads.toml [--dry-run]`: a grid of architectures x presets x seeds.

Most grids use one preset (and the grid's overrides), so every architecture sees the identical
seeded sample stream and budget; a grid of several presets (`presets = [...]`) compares recipes, e.g.
learning-rate schedules at the same budget. A grid whose parts differ (fewer seeds for some
architectures, a check of other rates first) lists `[[groups]]`, each its own archs x presets x
seeds (the top level's preset and seeds are each group's defaults); runs go in the groups' order,
and a run two groups name is one run. Runs go into the grid's MLflow experiment. Rerunning the
command skips runs already FINISHED there and resumes unfinished ones from their checkpoint.
A run that fails is reported and the grid goes on; the exit status says whether any failed.
"""

from __future__ import annotations

import sys

from zoo import cli
from zoo.config import ConfigError
from zoo.grids import compare


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.compare", __doc__)
    parser.add_argument("config", help="a comparison config, e.g. experiments/grids/heads.toml")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (and what is already done) and stop")
    parser.add_argument("--storage", metavar="URL", help="spread the grid over workers on any number of machines through "
                        "this Optuna RDB storage (postgresql://...): start the same command on each machine")
    parser.add_argument("--workers", type=int, default=1, help="with --storage: worker processes on this machine (default 1)")
    parser.add_argument("--heartbeat", type=int, default=30, help="with --storage: seconds between a worker's heartbeats; "
                        "a run whose worker misses four is handed to another (default 30)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.heartbeat < 1:
        parser.error(f"--workers and --heartbeat must be positive, got {args.workers} and {args.heartbeat}")
    if args.storage and "://" not in args.storage:
        parser.error(f"--storage takes a database URL such as postgresql://user@host:5432/db, got {args.storage!r}")
    try:
        grid = compare.load_grid(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    plan = compare.plan_of(grid)
    print(compare.plan_summary(grid, plan))
    if args.dry_run:
        for config, status in plan:
            print(f"  {config.run_name:<28} {status}")
        compare.record_plan(grid, plan)
        return 0
    if args.storage:
        return compare.run_distributed(grid, args.storage, args.workers, args.heartbeat)
    return compare.run_plan(grid, plan)


if __name__ == "__main__":
    sys.exit(main())
