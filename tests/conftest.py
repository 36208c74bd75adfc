import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


def pytest_collection_modifyitems(items):
    """The tiers: quick (unmarked), integration and learning; both of the latter are also `slow`, so
    `-m "not slow"` stays the quick tier."""
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("learning"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def zoo_stays_the_checkout():
    """Loading a logged pyfunc in-process (mlflow.pyfunc.load_model) puts the model's copy of the zoo
    package first on sys.path and drops the imported zoo modules, so every later test, and every
    process it spawns, would run the logged copy instead of this checkout. Undo that after each test."""
    import sys

    path, modules = list(sys.path), {k: v for k, v in sys.modules.items() if k == "zoo" or k.startswith("zoo.")}
    yield
    if sys.path == path:
        return
    sys.path[:] = path
    checkout = str(Path(__file__).resolve().parents[1] / "zoo")
    for name, module in list(sys.modules.items()):
        if (name == "zoo" or name.startswith("zoo.")) and not str(getattr(module, "__file__", "")).startswith(checkout):
            del sys.modules[name]
    sys.modules.update(modules)


def like_a_terminal():
    """`preexec_fn` for a child that must take Ctrl-C as from a terminal: pytest-xdist workers ignore
    SIGINT, and an ignored signal stays ignored across exec (as for `cmd &` in a script)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory):
    """One cache of rendered splits for the whole session (the rendering is what is slow)."""
    return tmp_path_factory.mktemp("captcha-cache")


@pytest.fixture
def store(tmp_path, monkeypatch, data_cache):
    """A real, empty MLflow store (SQLite + local artifacts) in a temp dir, used as the cwd."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(data_cache))
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    import mlflow

    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
