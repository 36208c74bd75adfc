"""`python tests/helpers/without_tensorflow.py MODULE ARGS...`: run `python -m MODULE ARGS...` where
TensorFlow cannot be imported, as on the borrowed GPU machines (JAX, no TensorFlow)."""

import runpy
import sys


class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("TensorFlow is hidden here, as on a GPU machine that has only JAX")


sys.meta_path.insert(0, NoTensorFlow())  # also in the data workers, which import this file as their main

if __name__ == "__main__":
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
