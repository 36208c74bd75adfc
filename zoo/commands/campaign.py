"""`python -m zoo.campaign experiments/grids/campaign-reference.toml [--commit] [--hours H] [--ship NAME]`:
a long grid that outlives any one process or machine.

A campaign is a comparison config (`kind = "comparison"`) run one training at a time (or `--jobs`), each resumed
from its checkpoint when one is there. Before the first run and after each one it writes, under
`reports/<experiment>/`:

* `STATE.md`: runs done / in progress / left, measured hours per run and the estimate for the rest;
* the comparison report with `runs.csv` and `curves.csv` (each finished run's row and curve), as
  `python -m zoo.report` writes it, once a run has finished.

`--commit` commits that folder (and a newly shipped model) with git as soon as a run finishes, so
losing the machine loses at most the run in flight. `--ship NAME` ships the best finished run as
`zoo/pretrained/NAME` when it beats the model shipped under that name on the same task. `--keep-models`
copies the first finished run of each architecture into `reports/<experiment>/models/<run>/` (model and
card; committed with `--commit`), so the compared heads read new captchas on any clone
(zoo.tracking.kept_models). `--hours H`
starts no run after H hours (a borrowed GPU's time budget). `--jobs N` trains N runs at once, the
CPU cores split between their data workers (a GPU has room for several runs of this size; on a
2-core CPU one at a time is fastest). Rerun the same command to go on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoo import cli
from zoo import config as config_lib
from zoo.config import ConfigError
from zoo.grids import campaign, compare


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.campaign", __doc__)
    parser.add_argument("config", help="a comparison config, e.g. experiments/grids/campaign-reference.toml")
    parser.add_argument("--commit", action="store_true", help="git-commit the state, report CSVs and shipped model after each run")
    parser.add_argument("--keep-models", action="store_true", help="keep one model per architecture (model.keras and card) "
                        "under the report's models/ folder, committed with --commit")
    parser.add_argument("--hours", type=float, help="start no run after this many hours (e.g. a borrowed GPU's budget)")
    parser.add_argument("--ship", metavar="NAME", help="ship the best finished run as zoo/pretrained/NAME when it beats the shipped one")
    parser.add_argument("--status", action="store_true", help="write STATE.md and the report (with --ship/--commit: ship, commit) and train nothing")
    parser.add_argument("--out", type=Path, help="state and report folder (default: reports/<experiment>)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once (default 1); on a GPU several runs "
                        "fit beside each other, and the CPU cores are split between their data workers")
    parser.add_argument("--checkpoint-dir", help="where the runs' checkpoints live (default: the config's, ./checkpoints)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive number of trainings at once, got {args.jobs}")
    if args.hours is not None and not args.hours > 0:
        parser.error(f"--hours must be a positive number of hours, got {args.hours}")
    try:
        grid = compare.load_grid(args.config)
        if args.checkpoint_dir:
            grid.local["checkpoint_dir"] = args.checkpoint_dir  # result-neutral: the runs stay the same runs
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or config_lib.PROJECT_DIR / "reports" / grid.experiment
    return campaign.run(grid, out, jobs=args.jobs, hours=args.hours, ship=args.ship, commit_each=args.commit,
                        status_only=args.status, keep_models=args.keep_models)


if __name__ == "__main__":
    sys.exit(main())
