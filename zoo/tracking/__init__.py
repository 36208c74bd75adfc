"""Every MLflow call of the zoo lives in this package, split by concern:

    zoo.tracking.store     the store (resolved once, by connect()) and its experiments
    zoo.tracking.runs      runs and their logging, run pages, the run `mlflow run` launched
    zoo.tracking.models    logged models, the registry and its champion, readers loaded back
    zoo.tracking.queries   finished runs, run summaries, the best run, histories and tables
    zoo.tracking.run_tables, shipping, import_runs: report tables, shipping a model, copying runs

Under `mlflow run` the run and experiment already exist (MLFLOW_RUN_ID): they are used as they are
and `set_experiment` is never called. `from zoo import tracking; tracking.<name>` reaches every
public name below.
"""

from zoo.tracking.store import (TrackingError, connect, tracking_uri, launched_by_mlflow_run,
    note_default_experiment, EXPERIMENT_KIND_TAG, MODEL_TRAINING, mark_model_training, use_store, ensure_experiment,
    throwaway_store, experiment_id)
from zoo.tracking.runs import (RESUMABLE_STATUSES, StopRun, run_status, tracked_run, versions, git_commit,
    log_params, log_metrics, set_tags, log_figure, log_text, log_dict, log_table, metric_history, epoch_logger,
    create_run, LOCAL_UI, run_page, run_page_line, run_experiment_id, log_to_run, record_in_launched_run, end_run,
    end_if_running, run_exists, reopen_run)
from zoo.tracking.models import (pip_requirements, log_reader_model, INFERENCE_CODE, own_code_kept, load_reader,
    model_run, run_model_uri)
from zoo.tracking.queries import (finished_run_ids, zoo_runs, run_summary, best_finished_run, metric_histories,
    load_table)

__all__ = [
    "TrackingError", "connect", "tracking_uri", "launched_by_mlflow_run", "note_default_experiment",
    "EXPERIMENT_KIND_TAG", "MODEL_TRAINING", "mark_model_training", "use_store", "ensure_experiment",
    "throwaway_store", "experiment_id", "RESUMABLE_STATUSES", "StopRun", "run_status", "tracked_run", "versions",
    "git_commit", "log_params", "log_metrics", "set_tags", "log_figure", "log_text", "log_dict", "log_table",
    "metric_history", "epoch_logger", "create_run", "LOCAL_UI", "run_page", "run_page_line", "run_experiment_id",
    "log_to_run", "record_in_launched_run", "end_run", "end_if_running", "run_exists", "reopen_run",
    "pip_requirements", "log_reader_model", "INFERENCE_CODE", "own_code_kept", "load_reader", "model_run",
    "run_model_uri", "finished_run_ids", "zoo_runs", "run_summary", "best_finished_run", "metric_histories",
    "load_table",
]
