"""Runs finished in another store, copied into this one: the borrowed GPU machine's packed store merged
into the shared one, the way a worker would have written them.

    python -m zoo.import_runs sqlite:////tmp/gpu-state/mlflow.db heads-reference
    # into $MLFLOW_TRACKING_URI (a team's server) or the checkout's mlflow.db

Each FINISHED zoo run of the experiment in the source store is created again in the target store
(same name, tags, params, every metric's history, start and end time, artifacts, the logged model's
files under `model/`), tagged `zoo.imported_from` with its source run. A run whose config hash
already has a FINISHED run in the target is skipped (imported before, or trained here), so the
import can be repeated, and a campaign or worker that then looks for the run finds it finished
and never trains it again on a CPU. A failure halfway deletes the half-copied run.
"""

from __future__ import annotations

import sys

from zoo import cli, tracking
from zoo.tracking.import_runs import import_runs


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.import_runs", __doc__)
    parser.add_argument("source", help="the other store's tracking URI, e.g. sqlite:////tmp/gpu-state/mlflow.db")
    parser.add_argument("experiment", help="the experiment whose finished runs are copied")
    args = parser.parse_args(argv)
    try:
        outcome = import_runs(args.source, args.experiment)
    except tracking.TrackingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for run_id, what in outcome.items():
        print(f"{run_id}: {what}")
    imported = sum(what.startswith("imported") for what in outcome.values())
    print(f"{imported} of {len(outcome)} finished runs imported into {tracking.tracking_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
