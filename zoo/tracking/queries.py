"""Questions asked of the store: which runs of a config finished, the zoo's runs of an experiment,
a run's summary, the best finished run, metric histories and logged tables."""

from __future__ import annotations

import tempfile
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from zoo.tracking.models import run_model_uri
from zoo.tracking.runs import metric_history
from zoo.tracking.store import connect, experiment_id


def finished_run_ids(experiment: str, config_hash: str, arch_hash: str | None = None) -> list[str]:
    """FINISHED zoo runs of `experiment` whose config hash is `config_hash` ([] if the experiment is new)
    and, with `arch_hash`, whose resolved architecture is that one (runs from before the tag count)."""
    connect()
    found = MlflowClient().get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = MlflowClient().search_runs([found.experiment_id], f"tags.config_hash = '{config_hash}' and attributes.status = 'FINISHED'")
    return [run.info.run_id for run in runs if arch_hash is None or run.data.tags.get("arch_hash", arch_hash) == arch_hash]


def zoo_runs(experiment: str):
    """One row per FINISHED zoo run of `experiment` (pandas, columns as `mlflow.search_runs` names them)."""
    runs = mlflow.search_runs([experiment_id(experiment)], "attributes.status = 'FINISHED'", output_format="pandas")
    if runs.empty or "tags.arch" not in runs:
        return runs.iloc[0:0]
    return runs[runs["tags.arch"].notna()].reset_index(drop=True)


def run_summary(run_id: str) -> dict[str, Any]:
    """epochs_logged, train_hours (sum of epoch times), test_seq_acc (when tested) and machine (the param
    the run logged: where it trained) of one run."""
    connect()
    history = metric_history(run_id, ["epoch_time"])["epoch_time"]
    data = MlflowClient().get_run(run_id).data
    summary = {"epochs_logged": len(history), "train_hours": sum(history.values()) / 3600 if history else None,
               "machine": data.params.get("machine")}
    accuracy = data.metrics.get("test_seq_acc")
    if accuracy is not None:
        summary["test_seq_acc"] = accuracy
    return summary


def best_finished_run(experiment: str) -> dict[str, Any] | None:
    """The FINISHED zoo run of `experiment` with the highest test full-sequence accuracy that logged a
    model: run_id, run_name, test_seq_acc, model_uri; None when there is none (or no such experiment yet)."""
    connect()
    if MlflowClient().get_experiment_by_name(experiment) is None:
        return None  # a campaign's first command: nothing of it has run yet
    runs = zoo_runs(experiment)
    if runs.empty or "metrics.test_seq_acc" not in runs:
        return None
    for _, run in runs.sort_values("metrics.test_seq_acc", ascending=False).iterrows():
        uri = run_model_uri(run["run_id"])
        if uri:
            return {"run_id": run["run_id"], "run_name": run["tags.mlflow.runName"],
                    "test_seq_acc": float(run["metrics.test_seq_acc"]), "model_uri": uri}
    return None


def metric_histories(run_ids: list[str], keys: list[str]):
    """Long table run_id, key, step, value (the last value where a step was logged twice)."""
    import pandas as pd

    rows = [
        {"run_id": run_id, "key": key, "step": step, "value": value}
        for run_id in run_ids
        for key, steps in metric_history(run_id, keys).items()
        for step, value in steps.items()
    ]
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def load_table(run_id: str, path: str, dtype=None):
    """A CSV artifact of a run as a DataFrame, or None when the run has no such artifact (`dtype` as pandas takes it)."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=folder)
        except (mlflow.exceptions.MlflowException, OSError):
            return None
        return pd.read_csv(local, keep_default_na=False, dtype=dtype)
