"""The code is backend-agnostic: training runs, learns and logs its model under KERAS_BACKEND=jax with
TensorFlow hidden, as it must on the borrowed GPU machines (JAX, no TensorFlow)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from zoo import tracking

pytestmark = pytest.mark.integration
HELPER = Path(__file__).resolve().parent / "helpers" / "without_tensorflow.py"


@pytest.mark.learning
def test_training_learns_under_jax_without_tensorflow(store, tmp_path):
    """The `tiny` problem (2-digit captchas of the captcha library at 64x32, 19,200 samples) under
    KERAS_BACKEND=jax with TensorFlow hidden: a run that must reach 80% full-sequence accuracy, so a
    broken loss, decoder or captcha stream cannot pass on either backend (the folder learning test,
    tests/test_folder_data.py, is the TensorFlow one). The model is logged too, as the GPU runs log it."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, str(HELPER), "zoo.train", "--arch", "bigru", "--preset", "tiny",
                             "--set", f"checkpoint_dir={tmp_path / 'ckpt'}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("captcha-zoo").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["keras_backend"] == "jax"
    assert run.data.metrics["test_seq_acc"] >= 0.80, run.data.metrics
    assert run.data.metrics["test_read_seq_acc"] >= 0.80, run.data.metrics  # read within the label lengths under JAX too
    history = [m.value for m in sorted(client.get_metric_history(run.info.run_id, "val_seq_acc"), key=lambda m: m.step)]
    assert len(history) == 12 and history[-1] > history[0] + 0.5
    assert run.data.metrics["samples_seen"] == 12 * 50 * 32
    assert tracking.run_model_uri(run.info.run_id) is not None  # logged under JAX, as the GPU runs log theirs
