"""`mlflow models serve` of a logged or registered model on a free loopback port, for the tests."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request


@contextlib.contextmanager
def served_model(model_uri: str, tracking_uri: str, cwd=None):
    """The model served on 127.0.0.1 (yields the port once /ping answers; stopped on exit)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri,  # mlflow runs `uvicorn` from PATH
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
                               "-h", "127.0.0.1", "-p", str(port)], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, server.stderr.read()[-4000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the model server did not answer /ping within 300 s"
                time.sleep(2)
        yield port
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
