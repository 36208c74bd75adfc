"""The light reading install: shipped models read from their checked model.onnx, with numpy, Pillow and
ONNX Runtime alone (the training stack's imports fail here as in a venv without it)."""

import base64
import json
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from PIL import Image

import zoo
from zoo.data.stream import CaptchaSource
from zoo.inference import card_sets, http_server, onnx_shipping, pretrained

TRAINING_STACK = ("tensorflow", "keras", "mlflow", "pandas", "jax", "optuna", "matplotlib", "scipy", "captcha", "tf2onnx")
BLOCKER = f'''import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {set(TRAINING_STACK)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the light install)")
sys.meta_path.insert(0, Blocked())
'''


@pytest.fixture(scope="module")
def captcha_files(tmp_path_factory):
    """16 fresh reference captchas as PNG files named LABEL-INDEX.png."""
    folder = tmp_path_factory.mktemp("captchas")
    card = pretrained.shipped_card(pretrained.DEFAULT_MODEL)
    source = CaptchaSource(card["charset"], 4, 4, 170, 80, seed=515151)
    for index in range(16):
        image, text = source.sample(index)
        Image.fromarray(image).save(folder / f"{text}-{index:02d}.png")
    return folder


def light_python(tmp_path, code_or_args: list[str], **options) -> subprocess.CompletedProcess:
    """This interpreter with the training stack's imports blocked (a sitecustomize on PYTHONPATH)."""
    blocker = tmp_path / "blocker"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, *code_or_args], env=env, capture_output=True, text=True, timeout=120, **options)


def test_the_blocker_blocks(tmp_path):
    result = light_python(tmp_path, ["-c", "import keras"])
    assert result.returncode == 1 and "not in the light install" in result.stderr


def test_predict_and_load_read_a_folder_without_the_training_stack(tmp_path, captcha_files):
    result = light_python(tmp_path, ["-m", "zoo.predict", "--label-pattern", "^([^-]+)", "--format", "csv", str(captcha_files)])
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "file,text,confidence,error,label,correct" and len(lines) == 17
    assert "full-sequence accuracy" in result.stderr and "16 read, 0 failed" in result.stderr
    expected = [reading.text for reading in zoo.load(pretrained.DEFAULT_MODEL, runtime="keras").predict(
        sorted(captcha_files.iterdir()))]
    assert [line.split(",")[1] for line in lines[1:]] == expected  # what the Keras model reads
    code = ("import sys, zoo; r = zoo.load(); print([x.text for x in r.predict(sys.argv[1:])]); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {TRAINING_STACK!r}))")
    result = light_python(tmp_path, ["-c", code, *map(str, sorted(captcha_files.iterdir())[:3])])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [str(expected[:3]), "[]"]
    result = light_python(tmp_path, ["-m", "zoo.predict", "--runtime", "keras", str(captcha_files)])
    assert result.returncode == 2 and "needs Keras" in result.stderr and "[train]" in result.stderr  # says what to install


def test_every_shipped_model_carries_an_onnx_checked_on_its_test_set():
    for name in pretrained.shipped():
        folder = pretrained.PRETRAINED_DIR / name
        card = pretrained.shipped_card(name)
        assert card["sha256"] == {file: pretrained.sha256(folder / file) for file in ("model.keras", "model.onnx")}
        assert card["onnx"]["readings_that_differ"] == 0 and card["onnx"]["test_images"] == card["test_size"], name
        images, _ = card_sets.card_split(card, 64)  # the first of the images the card was checked on
        check = onnx_shipping.compare(pretrained.load(name, runtime="keras"), pretrained.load(name), images)
        assert check["readings_that_differ"] == 0 and check["max_confidence_difference"] < 1e-3, (name, check)


def test_an_onnx_the_card_does_not_list_is_never_read(tmp_path):
    copy = shutil.copytree(pretrained.PRETRAINED_DIR / pretrained.DEFAULT_MODEL, tmp_path / "copy")
    card = json.loads((copy / "card.json").read_text())
    card["sha256"] = {"model.keras": card["sha256"]["model.keras"]}  # as after shipping another model.keras
    (copy / "card.json").write_text(json.dumps(card))
    assert "ONNX" not in pretrained.load(str(copy)).source  # read by Keras, not the stale .onnx
    with pytest.raises(pretrained.ModelLoadError, match="not listed in its card"):
        pretrained.load(str(copy / "model.onnx"))


@pytest.fixture(scope="module")
def served():
    """The default shipped model behind zoo.inference.http_server on a free loopback port."""
    reader = zoo.load(pretrained.DEFAULT_MODEL)
    httpd = http_server.server(reader, port=0, max_bytes=1 << 20)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield reader, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def post(url: str, payload) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_light_server_answers_as_mlflow_serving_does(served, captcha_files):
    reader, url = served
    files = sorted(captcha_files.iterdir())[:3]
    encoded = [base64.b64encode(path.read_bytes()).decode() for path in files]
    expected = [{"text": r.text, "confidence": r.confidence, "error": None} for r in reader.predict(files)]
    for payload in ({"dataframe_split": {"columns": ["image"], "data": [[item] for item in encoded]}},
                    {"dataframe_records": [{"image": item} for item in encoded]}, {"inputs": encoded}, {"instances": encoded}):
        status, answer = post(url, payload)
        assert status == 200 and answer["predictions"] == pytest.approx(expected), payload.keys()
    status, answer = post(url, {"inputs": [encoded[0], "not an image", 7, str(files[0])]})
    rows = answer["predictions"]
    assert status == 200 and rows[0]["text"] == expected[0]["text"]
    assert [row["text"] for row in rows[1:]] == [None] * 3 and all(row["error"] for row in rows[1:])
    assert "base64" in rows[3]["error"]  # a path names the server's files: never read
    for payload in (b"{not json", [1], {"images": encoded}, {"dataframe_split": {"columns": ["x"], "data": [[1]]}}):
        status, answer = post(url, payload)
        assert status == 400 and answer["error_code"] == "BAD_REQUEST" and "inputs" in answer["message"], payload
    import http.client

    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    connection.putrequest("POST", "/invocations")  # a body over the limit is refused from its Content-Length
    connection.putheader("Content-Length", str(2 << 20))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "at most" in json.loads(response.read())["message"]
    connection.close()
    with urllib.request.urlopen(f"{url}/ping", timeout=10) as response:
        assert response.status == 200


def test_zoo_serve_runs_without_the_training_stack(tmp_path, captcha_files):
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    process = subprocess.Popen([sys.executable, "-m", "zoo.serve", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(tmp_path / "blocker"),
                                                                        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        line = process.stdout.readline()
        assert line.startswith("serving ") and "ONNX Runtime" in line, process.stderr.read() if not line else line
        url = line.split(" on ")[1].split("/invocations")[0]
        path = sorted(captcha_files.iterdir())[0]
        status, answer = post(url, {"inputs": [base64.b64encode(path.read_bytes()).decode()]})
        assert status == 200 and answer["predictions"][0]["text"] == path.name.split("-")[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def python312() -> str:
    """A Python 3.12 interpreter: on PATH, or pyenv's (the CI machines have it there)."""
    import glob

    for candidate in [shutil.which("python3.12"), *sorted(glob.glob("/root/.pyenv/versions/3.12*/bin/python3.12"))]:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    pytest.fail("no Python 3.12 here (python3.12 on PATH or /root/.pyenv/versions/3.12*): the supported 3.12 "
                "cannot be checked")


@pytest.mark.integration
def test_the_light_install_reads_committed_captchas_on_python_312(tmp_path):
    """A fresh 3.12 venv with `pip install -e .` alone (numpy, Pillow, onnxruntime) reads tests/data/captchas."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([python312(), "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-e", str(root)], capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    installed = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout.lower()
    assert not [name for name in TRAINING_STACK if f"\n{name}==" in f"\n{installed}"]  # the light install only
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "zoo.predict", "--label-pattern", "^([^-]+)",
                             str(root / "tests" / "data" / "captchas")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "12 read, 0 failed; full-sequence accuracy" in result.stderr
    assert sum(line.endswith("\tok") for line in result.stdout.splitlines()) >= 11  # bigru reads ~99.6%


def test_an_image_far_from_the_models_shape_gets_a_note(tmp_path, captcha_files):
    """The shipped bigru reads other sizes at the drawing's own scale (card: resize "keep"): a captcha the
    `captcha` package drew at 160x60 is read as it is, with no note; a 170x80 captcha rescaled to 160x60
    (its glyphs shrunk) is noted as rescaled, pointing at --resize stretch, which reads it as before."""
    right = sorted(captcha_files.iterdir())[0]
    squeezed = tmp_path / "squeezed.png"
    Image.open(right).resize((160, 60)).save(squeezed)
    drawn_image, drawn_text = CaptchaSource(pretrained.shipped_card("bigru")["charset"], 4, 4, 160, 60, seed=515151).sample(0)
    drawn = tmp_path / f"{drawn_text}.png"  # the `captcha` package's default size, drawn so
    Image.fromarray(drawn_image).save(drawn)
    readings = dict((path, reading) for path, reading, _ in zoo.load().read_files([str(right), str(squeezed), str(drawn)]))
    assert readings[str(right)].note is None and readings[str(drawn)].note is None
    assert readings[str(drawn)].text == drawn_text
    assert "looks rescaled rather than drawn at this size" in readings[str(squeezed)].note
    assert "--resize stretch" in readings[str(squeezed)].note
    result = light_python(tmp_path, ["-m", "zoo.predict", "--format", "json", str(right), str(squeezed)])
    rows = json.loads(result.stdout)
    assert result.returncode == 0 and "note" not in rows[0] and "looks rescaled" in rows[1]["note"]
    assert "note: 1 of 2 images have a shape far from the model's input" in result.stderr
    assert "note: --model bigru-sizes was trained on captchas drawn at 120-260x50-100 pixels (reads 160x60" in result.stderr
    stretched = light_python(tmp_path, ["-m", "zoo.predict", "--format", "json", "--resize", "stretch", str(squeezed)])
    assert stretched.returncode == 0 and "160x60 (width/height 2.67) is far from the 170x80" in json.loads(stretched.stdout)[0]["note"]
    assert json.loads(stretched.stdout)[0]["text"] == right.name.split("-")[0]  # stretched back, it reads as drawn
    sized = light_python(tmp_path, ["-m", "zoo.predict", "--model", "bigru-sizes", str(squeezed)])
    assert sized.returncode == 0 and "far from" not in sized.stderr  # the sizes it was trained on
    bad = light_python(tmp_path, ["-m", "zoo.predict", "--resize", "squash", str(right)])
    assert bad.returncode == 2 and "invalid choice: 'squash'" in bad.stderr and "keep" in bad.stderr


def test_a_model_trained_on_many_drawing_sizes_gets_no_note_for_the_sizes_it_learned():
    from zoo.data.images import geometry_note

    assert "is far from the 170x80 (2.12)" in geometry_note((160, 60), 80, 170)
    assert geometry_note((160, 60), 80, 170, draw_sizes="120-260x50-100") is None
    assert geometry_note((200, 70), 80, 170, draw_sizes="120-260x50-100") is None
    note = geometry_note((900, 60), 80, 170, draw_sizes="120-260x50-100")  # 15:1 is beyond every drawing's 5.2:1
    assert "is far from the 120-260x50-100 drawings (width/height 1.20 to 5.20)" in note
    # kept at its scale: no distortion, but a taller image is shrunk and text of another height looks rescaled
    assert geometry_note((160, 60), 80, 170, "keep", text_height=52, learned_text_height=57) is None
    assert geometry_note((200, 70), 80, 170, "keep") is None and geometry_note((170, 80), 80, 170, "keep", "", 20, 57) is None
    assert "250x100 is outside the 136-204 x 56-88 drawings a 170x80 model reads" in geometry_note((250, 100), 80, 170, "keep")
    assert geometry_note((120, 50), 80, 170, "keep") is not None and geometry_note((140, 60), 80, 170, "keep") is None
    assert "its text is 40 px high where the model learned ~57 px" in geometry_note((160, 60), 80, 170, "keep", "", 40, 57)
