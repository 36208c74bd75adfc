"""The logged MLflow model is an image -> text pyfunc: loaded in-process and served over HTTP for real."""

import base64
import io
import json
import urllib.request

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers.model_server import served_model
from mlflow.tracking import MlflowClient
from PIL import Image

from zoo import tracking
from zoo.config import make_config
from zoo.data.stream import CaptchaSource

pytestmark = pytest.mark.integration


def png_base64(array: np.ndarray, mode: str = "RGB") -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def post(port: int, payload: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def post_strict(port: int, payload: dict) -> dict:
    """Like post, but parsed as strict JSON: NaN or Infinity in the answer is an error."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        def refuse(constant):
            raise ValueError(f"not strict JSON: {constant}")
        return json.loads(response.read(), parse_constant=refuse)


def test_the_champion_is_served_over_http_and_reads_like_the_reader(store, tmp_path):
    from zoo.fitting.loop import train

    result = train(make_config("bigru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "tracking.register_model": True}))
    champion = MlflowClient().get_model_version_by_alias("zoo-bigru", "champion")
    assert champion.run_id == result.run_id
    reader = tracking.load_reader("models:/zoo-bigru@champion")
    info = reader.info
    source = CaptchaSource(info.charset, info.min_length, info.max_length, reader.width, reader.height, seed=77)
    batch = np.stack([source.sample(i)[0] for i in range(3)])
    readings = reader.predict(batch)
    expected = [r.text for r in readings]

    pyfunc = mlflow.pyfunc.load_model("models:/zoo-bigru@champion")
    frame = pyfunc.predict(pd.DataFrame({"image": [png_base64(image) for image in batch] + ["not base64!"]}))
    assert list(frame["text"][:3]) == expected and "not base64" in frame["error"][3]
    assert list(frame.columns) == ["text", "confidence", "error"] and frame["error"][0] is None
    clean = pyfunc.predict(pd.DataFrame({"image": [png_base64(batch[0])]}))
    assert list(clean.columns) == ["text", "confidence", "error"]  # the same columns when nothing failed
    signature = pyfunc.metadata.signature  # the contract the UI shows and the server checks
    assert signature.inputs.input_names() == ["image"] and signature.outputs.input_names() == ["text", "confidence", "error"]
    logged = mlflow.artifacts.download_artifacts("models:/zoo-bigru@champion", dst_path=str(tmp_path / "logged"))
    serving_example = json.loads((tmp_path / "logged" / "serving_input_example.json").read_text())
    assert serving_example["dataframe_split"]["columns"] == ["image"] and logged

    with served_model("models:/zoo-bigru@champion", store) as port:
        as_png = post(port, {"dataframe_split": {"columns": ["image"],
                                                 "data": [[png_base64(image)] for image in batch]}})
        assert [row["text"] for row in as_png["predictions"]] == expected
        # the reader's own confidences (a barely trained smoke model's can round to 0 in fp32)
        served = [row["confidence"] for row in as_png["predictions"]]
        assert all(0 <= value <= 1 for value in served)
        assert served == pytest.approx([r.confidence for r in readings], rel=1e-4, abs=1e-9)
        grey = post(port, {"dataframe_split": {"columns": ["image"], "data": [[png_base64(batch[0], "L")]]}})
        assert len(grey["predictions"]) == 1 and isinstance(grey["predictions"][0]["text"], str)
        mixed = post_strict(port, {"dataframe_split": {"columns": ["image"], "data": [[png_base64(batch[0])], ["not base64!"]]}})
        good, bad = mixed["predictions"]
        assert good["text"] == expected[0] and good["error"] is None
        assert bad["text"] is None and bad["confidence"] is None and "not base64" in bad["error"]
        example = post_strict(port, serving_example)  # the logged input example, as a user would try it first
        assert len(example["predictions"]) == 1 and 0 <= example["predictions"][0]["confidence"] <= 1  # a probability (0.0 for a smoke model in fp32)

