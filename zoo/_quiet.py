"""TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog()", oneDNN and
CUDA notices, the cuInit failure of a machine without a GPU) are written straight to file
descriptor 2 while `tensorflow` is imported and its devices first listed, whatever
TF_CPP_MIN_LOG_LEVEL says. `install()` makes that one import write them to /dev/null, so the
command lines print only their own output; Python exceptions raised by the import still propagate.
It also drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning:
the end of a run predicts at several batch sizes on purpose (the test's last partial batch, speed at
batch 128 and at 1, the prediction grid), each traced once, and the warning told users of a normal
`zoo.train` to fix a loop they do not have.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys


@contextlib.contextmanager
def _fd2_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _fd2_silenced():
            self.loader.exec_module(module)
            try:  # the platforms start at the first device query and print cuInit failures on CPU machines
                module.config.list_physical_devices()
            except Exception:  # noqa: BLE001 - a failure here shows again, loudly, at the first real use
                pass


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and never for the lookup below
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _PlannedRetracing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def install() -> None:
    if os.environ.get("ZOO_VERBOSE_TF"):
        return
    tf_logger = logging.getLogger("tensorflow")  # the logger TensorFlow's Python warnings go through
    if not any(isinstance(f, _PlannedRetracing) for f in tf_logger.filters):
        tf_logger.addFilter(_PlannedRetracing())
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
