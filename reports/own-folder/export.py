"""Append one finished own-folder run to runs.csv and write its per-epoch curve as <set>-history.csv.

    python reports/own-folder/export.py SET RUN_ID [--continues SET] [--tracking-uri sqlite:///mlflow.db]

Reads only MLflow (no Keras): the run's row from its params and metrics, the curve from its
`metrics/history.csv` artifact plus `minutes` (when each epoch's validation was logged, since the run
started). A run's row is written once (running it again rewrites only the curve); a set name already
used by another run is refused.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

HERE = Path(__file__).resolve().parent
COLUMNS = ["set", "run_id", "run_name", "data_source", "started", "ended", "test_seq_acc", "test_char_acc",
           "best_epoch", "samples_seen", "params", "continues"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="the name the row and the history file get, e.g. captcha-8k-30min")
    parser.add_argument("run_id")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--continues", metavar="SET", help="the recorded run this one started from (--init): its "
                        "curve is drawn after that run's")
    args = parser.parse_args(argv)
    client = mlflow.MlflowClient(args.tracking_uri)
    run = client.get_run(args.run_id)
    if run.info.status != "FINISHED":
        print(f"error: run {args.run_id} is {run.info.status}; only finished runs are recorded", file=sys.stderr)
        return 2
    table = HERE / "runs.csv"
    rows = pd.read_csv(table) if table.exists() else pd.DataFrame(columns=COLUMNS)
    if args.continues and args.continues not in set(rows["set"]):
        print(f"error: --continues {args.continues}: no such set in {table}", file=sys.stderr)
        return 2
    known = dict(zip(rows["set"], rows["run_id"]))
    if known.get(args.set, args.run_id) != args.run_id or args.run_id in set(known.values()) - {known.get(args.set)}:
        print(f"error: {args.set} / {args.run_id}: runs.csv has {args.set} as another run, or this run under "
              "another name", file=sys.stderr)
        return 2
    metrics = run.data.metrics
    utc = lambda ms: pd.Timestamp(ms, unit="ms").strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # noqa: E731
    row = {"set": args.set, "run_id": args.run_id, "run_name": run.info.run_name,
           "data_source": run.data.params.get("data.source"), "started": utc(run.info.start_time),
           "ended": utc(run.info.end_time), **{key: metrics.get(key) for key in COLUMNS[6:-1]},
           "continues": args.continues}
    with tempfile.TemporaryDirectory() as folder:
        history = pd.read_csv(client.download_artifacts(args.run_id, "metrics/history.csv", folder))
    # when each epoch's validation was logged, in minutes since the run started (start-up and probe included)
    logged = {m.step: m.timestamp for m in client.get_metric_history(args.run_id, "val_seq_acc")}
    history["minutes"] = [(logged[epoch] - run.info.start_time) / 60_000 for epoch in history["epoch"]]
    history.to_csv(HERE / f"{args.set}-history.csv", index=False)
    if args.set not in known:  # a row is written once; the curve may be rewritten
        pd.concat([rows, pd.DataFrame([row])], ignore_index=True).to_csv(table, index=False)
    print(pd.DataFrame([row]).T.to_string(header=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
