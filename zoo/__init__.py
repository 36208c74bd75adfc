"""captcha-zoo: CNN + recurrent head + CTC captcha readers, tracked in MLflow.

`zoo.create_model(name, **overrides)`, `zoo.list_models(pattern)` and `zoo.load(model)` (a
trained reader: `zoo.load("bigru-cpu").predict(images)`) are loaded lazily, so data
worker processes that import `zoo.data` never pay for Keras.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ info, warning and error lines (oneDNN notices): a real failure still raises in Python

from zoo import _quiet  # noqa: E402

_quiet.install()  # and its start-up lines, which ignore that variable (ZOO_VERBOSE_TF=1 keeps them)

__all__ = ["create_model", "list_models", "load"]


def __getattr__(name: str):
    if name == "load":
        from zoo import loading

        return loading.load
    if name in __all__:
        from zoo.models import builder

        return getattr(builder, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
