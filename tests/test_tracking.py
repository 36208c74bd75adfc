"""The tracking module's own guarantees, against a real SQLite store."""

import mlflow
from mlflow.tracking import MlflowClient

from zoo import tracking


def test_a_throwaway_store_leaves_the_real_store_usable(store):
    """zoo.bench measures tracking overhead in a temporary store; the run it then logs must land in the
    real one (it crashed with `No Experiment with id=1 exists` on a fresh store)."""
    with tracking.throwaway_store():
        with tracking.tracked_run(run_name="overhead", experiment="bench-overhead", tags={}):
            pass
    with tracking.tracked_run(run_name="bench", experiment="bench", tags={}) as run_id:
        pass
    assert MlflowClient().get_run(run_id).info.status == "FINISHED"
    assert mlflow.get_experiment_by_name("bench") is not None
    assert mlflow.get_experiment_by_name("bench-overhead") is None  # nothing of the throwaway store leaked
