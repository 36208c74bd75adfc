"""The MLflow model every zoo run logs: a pyfunc that reads images and returns their texts.

    mlflow models serve -m models:/zoo-bigru@champion --env-manager local -p 5001
    curl -s localhost:5001/invocations -H 'Content-Type: application/json' \\
         -d '{"dataframe_split": {"columns": ["image"], "data": [["<base64 of a png>"]]}}'
    # -> {"predictions": [{"text": "<what it read>", "confidence": <0..1>}]}

Input: a DataFrame whose `image` column (or only column) holds encoded image bytes or their base64
text, or an array of images (batch x height x width [x channels]). Any size and mode is adapted like
`zoo.predict` does (zoo.images). Output: a DataFrame with the columns `text`, `confidence` and `error`
per image: an image that could not be read has text and confidence null and its error; the others
are still answered, with error null.

The Keras model travels as the artifact `keras_model` (a `.keras` file, loaded in safe mode); its
charset and lengths as the model config.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

KERAS_ARTIFACT = "keras_model"


class CaptchaReaderModel(PythonModel):
    def load_context(self, context):
        import keras

        from zoo.reader import ModelInfo, Reader

        from zoo.models import as_float32

        model = as_float32(keras.saving.load_model(context.artifacts[KERAS_ARTIFACT], compile=False, safe_mode=True))
        self.reader = Reader(model, ModelInfo.from_metadata(context.model_config, KERAS_ARTIFACT), "served model")

    def predict(self, context, model_input, params=None):
        from zoo import images

        items = _items(model_input)
        rows: list[dict] = [{} for _ in items]
        good, arrays = [], []
        for index, item in enumerate(items):
            try:
                arrays.append(images.adapt(item, self.reader.height, self.reader.width))
                good.append(index)
            except images.ImageError as error:
                rows[index] = {"text": None, "confidence": None, "error": str(error)}
        if arrays:
            for index, reading in zip(good, self.reader.predict(np.stack(arrays))):
                rows[index] = {"text": reading.text, "confidence": reading.confidence, "error": None}
        # the same three columns whatever happened; object dtype keeps a missing value None, which JSON
        # writes as null (a float column would write bare NaN, which strict JSON parsers reject)
        return pd.DataFrame(rows, columns=["text", "confidence", "error"], dtype=object)


def _items(model_input) -> list:
    """The images in whatever container MLflow hands over."""
    if isinstance(model_input, pd.DataFrame):
        column = "image" if "image" in model_input.columns else model_input.columns[0]
        if len(model_input.columns) > 1 and "image" not in model_input.columns:
            raise ValueError(f"expected one column of images (named 'image'), got columns {list(model_input.columns)}")
        return list(model_input[column])
    if isinstance(model_input, dict):  # {"image": [...]} from the `inputs` JSON form
        if "image" not in model_input:
            raise ValueError(f"expected the key 'image', got {sorted(model_input)}")
        return list(model_input["image"])
    array = np.asarray(model_input)
    if array.dtype != object and array.ndim in (3, 4):
        return list(array)  # a batch of images
    return list(model_input)
