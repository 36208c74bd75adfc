import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one worker more than the cores this process may use. The slow tests
    spend part of their time waiting on servers, heartbeats and child processes; a third worker on two
    cores fills it: 444 tests in 888 s and 1,008 s against 1,025 s with two (2026-12-06, one 2-core Intel
    Xeon, nothing else running: a gain of a few percent, within what one box varies by, but both runs
    gained). PYTEST_XDIST_AUTO_NUM_WORKERS still sets the number."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    return len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(items):
    """The tiers: quick (unmarked), integration and learning; both of the latter are also `slow`, so
    `-m "not slow"` stays the quick tier.

    Then the longest first: learning and integration tests, the other slow ones, the quick ones
    (stable within each). pytest-xdist hands tests out in this order, so the two workers end on
    seconds-long quick tests instead of one of them idling behind a two-minute training."""
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("learning"):
            item.add_marker(pytest.mark.slow)

    def tier(item) -> int:
        if item.get_closest_marker("learning") or item.get_closest_marker("integration"):
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=tier)


@pytest.fixture(autouse=True)
def zoo_stays_the_checkout():
    """A test that loads a logged pyfunc itself (mlflow.pyfunc.load_model, as the serving test does)
    gets the model's copy of the zoo first on sys.path; every later test, and every process it
    spawns, would run that copy. The product's own guard (tracking.own_code_kept) undoes it."""
    from zoo import tracking

    with tracking.own_code_kept():
        yield


def like_a_terminal():
    """`preexec_fn` for a child that must take Ctrl-C as from a terminal: pytest-xdist workers ignore
    SIGINT, and an ignored signal stays ignored across exec (as for `cmd &` in a script)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory):
    """One cache of rendered splits for the whole session (the rendering is what is slow)."""
    return tmp_path_factory.mktemp("captcha-cache")


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory):
    """One empty SQLite store built by MLflow (its schema and migrations, ~4 s), copied by each test
    that needs a fresh one. Creating a store itself is tested on its own (tests/test_tracking.py)."""
    from mlflow import MlflowClient

    database = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_experiments(max_results=1)
    return database


@pytest.fixture
def store(tmp_path, monkeypatch, data_cache, empty_store):
    """A real, empty MLflow store (SQLite + local artifacts) in a temp dir, used as the cwd."""
    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
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


@pytest.fixture
def postgres():
    """A real PostgreSQL server on loopback for this test (ZOO_TEST_POSTGRES_URL uses an existing one)."""
    if os.environ.get("ZOO_TEST_POSTGRES_URL"):
        yield os.environ["ZOO_TEST_POSTGRES_URL"]
        return
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert binaries, "PostgreSQL is needed for this test: apt-get install postgresql (or set ZOO_TEST_POSTGRES_URL)"
    bin_dir = binaries[-1].parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # the server runs as `postgres` when we are root: its folder must be one that user can reach
    folder = Path(tempfile.mkdtemp(prefix="zoo-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres")
    data, sockets = folder / "data", folder / "sockets"
    subprocess.run([*as_postgres, "mkdir", str(sockets)], check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "zoo", "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "pg.log"), "-o",
                    f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "zoo", "studies"], check=True)
        yield f"postgresql://zoo@127.0.0.1:{port}/studies"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tracking_server(postgres, tmp_path):
    """`mlflow server` on loopback: PostgreSQL behind it, artifacts served from a folder of its own."""
    database = postgres.rsplit("/", 1)[0] + "/tracking"
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin/createdb"))[-1].parent
    host, port = database.split("@", 1)[1].split("/", 1)[0].split(":")
    subprocess.run([str(bin_dir / "createdb"), "-h", host, "-p", port, "-U", "zoo", "tracking"], check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        server_port = probe.getsockname()[1]
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(server_port),
                               "--backend-store-uri", database.replace("postgresql://", "postgresql+psycopg://"),
                               "--artifacts-destination", str(tmp_path / "served-artifacts"), "--workers", "1"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{server_port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{uri}/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("mlflow server did not start: " + (tmp_path / "server.log").read_text()[-3000:])
    try:
        yield uri
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
        log.close()
