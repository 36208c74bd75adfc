"""The MLflow model every zoo run logs: a pyfunc that reads images and returns their texts.

    mlflow models serve -m models:/zoo-bigru@champion --env-manager local -p 5001
    curl -s localhost:5001/invocations -H 'Content-Type: application/json' \\
         -d '{"dataframe_split": {"columns": ["image"], "data": [["<base64 of a png>"]]}}'
    # -> {"predictions": [{"text": "<what it read>", "confidence": <0..1>}]}

Input (the model's signature): a DataFrame with one string column `image`, each value the base64 text
of an encoded image file (PNG, JPEG, ...); any size and mode is adapted like `zoo.predict` does
(zoo.data.images). The logged input example is one such captcha. Output: the columns `text` (string),
`confidence` (double) and `error` (string), always all three, per image: an image that could not be
read has text and confidence null and its error; the others are still answered, with error null.
(Arrays of decoded images go to `zoo.load(...).predict` instead: they are not the served contract.)

The Keras model travels as the artifact `keras_model` (a `.keras` file, loaded in safe mode); its
charset and lengths as the model config.
"""

from __future__ import annotations

import pandas as pd
from mlflow.pyfunc import PythonModel

KERAS_ARTIFACT = "keras_model"
INPUT_COLUMN = "image"


class CaptchaReaderModel(PythonModel):
    # the signature is given explicitly (signature() below): no type-hint validation of `predict`, and no
    # "Add type hints to the `predict` method" advice on every run (MLflow's own switch, as its ChatModel uses)
    _skip_type_hint_validation = True

    def load_context(self, context):
        import keras

        from zoo.inference.reader import ModelInfo, Reader

        from zoo.models.builder import as_float32

        model = as_float32(keras.saving.load_model(context.artifacts[KERAS_ARTIFACT], compile=False, safe_mode=True))
        self.reader = Reader(model, ModelInfo.from_metadata(context.model_config, KERAS_ARTIFACT), "served model")

    def predict(self, context, model_input, params=None):
        rows = self.reader.answer(_items(model_input))  # zoo.inference.reader.Reader.answer: the served contract
        # the same three columns whatever happened; object dtype keeps a missing value None, which JSON
        # writes as null (a float column would write bare NaN, which strict JSON parsers reject)
        return pd.DataFrame(rows, columns=["text", "confidence", "error"], dtype=object)


def _items(model_input) -> list:
    """The base64 texts of the `image` column (MLflow has checked the input against the signature)."""
    return list(model_input[INPUT_COLUMN])


def signature():
    """image (base64 text of an image file) -> text, confidence, error; null where not applicable."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("string", INPUT_COLUMN)]),
                          outputs=Schema([ColSpec("string", "text", required=False),
                                          ColSpec("double", "confidence", required=False),
                                          ColSpec("string", "error", required=False)]))


def input_example(metadata: dict, height: int, width: int) -> pd.DataFrame:
    """One captcha of the model's task and input size, as the served input (base64 PNG)."""
    import base64
    import io

    from PIL import Image

    from zoo.data.stream import CaptchaSource

    source = CaptchaSource(metadata["charset"], metadata["min_length"], metadata["max_length"], width, height, seed=0)
    buffer = io.BytesIO()
    Image.fromarray(source.sample(0)[0]).save(buffer, format="PNG")
    return pd.DataFrame({INPUT_COLUMN: [base64.b64encode(buffer.getvalue()).decode()]})
