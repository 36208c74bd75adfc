"""Reading images with a trained model: the shipped model, `zoo.predict`, odd and broken files."""

import io
import json
import shutil
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import loading
from zoo.inference import evaluation, pretrained
from zoo.tracking import shipping
from zoo.data import images
from zoo.commands import predict
from zoo.config import make_config
from zoo.data.stream import CaptchaSource

SHIPPED = predict.DEFAULT_MODEL


@pytest.fixture(scope="module")
def reader():
    return zoo.load(SHIPPED, runtime="keras")  # the Keras model: evaluation.evaluate runs it


@pytest.fixture(scope="module")
def onnx_reader():
    return zoo.load(SHIPPED)  # what users get: the shipped model.onnx in ONNX Runtime


@pytest.fixture(scope="module")
def captchas(reader):
    """12 fresh captchas (not the test split's seed) as a uint8 batch and their labels."""
    info = reader.info
    source = CaptchaSource(info.charset, info.min_length, info.max_length, reader.width, reader.height, seed=424242)
    samples = [source.sample(i) for i in range(12)]
    return np.stack([image for image, _ in samples]), [label for _, label in samples]


def save(array: np.ndarray, path, mode: str | None = None, size=None, **options):
    image = Image.fromarray(array)
    if mode:
        image = image.convert(mode)
    if size:
        image = image.resize(size)
    image.save(path, **options)
    return path


def test_prediction_is_the_training_time_decode(reader, captchas):
    batch, labels = captchas
    from zoo.models import ctc

    info = reader.info
    encoded = ctc.encode_labels(labels, info.charset, info.max_length)
    expected = evaluation.evaluate(reader.model, batch, encoded, info.charset, info.max_length, verbose=0,
                                   min_length=info.min_length).predictions
    readings = reader.predict(batch)
    assert [r.text for r in readings] == expected
    assert all(0 < r.confidence <= 1 for r in readings)
    plain = evaluation.evaluate(reader.model, batch, encoded, info.charset, info.max_length, verbose=0).predictions
    assert [r.text for r in reader.predict(batch, any_length=True)] == plain


@pytest.fixture(scope="module")
def weak_readings():
    """The weakest shipped reader (bigru-cpu, ~60% right) on 96 fresh captchas: wrong often enough to
    measure what its errors look like. -> reader, images, labels."""
    weak = zoo.load("bigru-cpu")
    info = weak.info
    source = CaptchaSource(info.charset, info.min_length, info.max_length, weak.width, weak.height, seed=434343)
    samples = [source.sample(i) for i in range(96)]
    return weak, np.stack([image for image, _ in samples]), [label for _, label in samples]


def test_readings_are_held_to_the_models_label_lengths(weak_readings):
    weak, batch, labels = weak_readings
    from zoo.models import ctc

    held, plain = weak.predict(batch), weak.predict(batch, any_length=True)
    uncut = ctc.decode_texts(weak.model.predict_on_batch(batch), weak.info.charset, 8)  # the plain decode before its cut to 4
    outside = [i for i, text in enumerate(uncut) if len(text) != 4]
    assert outside  # the plain decode merges doubled characters or adds stray ones
    assert all(held[i] == plain[i] for i in range(len(plain)) if i not in outside)  # the rest is untouched
    assert sum(held[i].text != plain[i].text for i in outside) > 0  # read again
    assert all(len(reading.text) == 4 or reading.confidence == 0 for reading in held if reading not in plain)  # none found: 0
    right = [sum(r.text == label for r, label in zip(readings, labels)) for readings in (held, plain)]
    assert right[0] >= right[1] + 5  # 81 against 68 of these 96 when written (bigru-cpu drops leading characters)


def test_an_image_with_no_reading_of_an_allowed_length_has_confidence_zero(reader, captchas):
    """Issue 31: blank, 16-bit and 10000x10 images read as "" at 0.988 though readings keep to the label lengths."""
    blank = np.full((80, 170, 3), 255, np.uint8)
    deep = Image.fromarray(np.full((60, 160), 40000, np.uint16))  # 16-bit greyscale
    strip = np.full((10, 10000, 3), 200, np.uint8)
    readings = reader.predict([blank, deep, strip])
    for reading in readings:
        assert len(reading.text) == 4 or reading.confidence == 0.0, reading
    assert any(len(reading.text) != 4 for reading in readings)  # the case in question occurs here
    assert all(len(r.text) == 4 and r.confidence > 0 for r in reader.predict(captchas[0]))  # real captchas untouched


def test_confidence_means_something(weak_readings):
    """A confident reading is right more often than an unsure one. Measured on the weakest shipped
    reader, which is wrong often enough for the means to be stable."""
    weak, batch, labels = weak_readings
    samples = list(zip(batch, labels))
    readings = weak.predict(batch)
    right = [r.confidence for r, (_, label) in zip(readings, samples) if r.text == label]
    wrong = [r.confidence for r, (_, label) in zip(readings, samples) if r.text != label]
    assert len(right) >= 10 and len(wrong) >= 10
    assert np.mean(right) > np.mean(wrong)


def test_beam_search_reads_the_same_captchas_as_greedy(reader, captchas):
    batch, _ = captchas
    greedy, beam = reader.predict(batch), reader.predict(batch, beam_width=8)
    # beam search sums every alignment of a labelling: never less likely than greedy's best path
    assert all(b.confidence >= g.confidence - 1e-6 for g, b in zip(greedy, beam) if g.text == b.text)


def test_any_mode_and_size_is_adapted(reader, captchas, tmp_path):
    batch, _ = captchas
    image = batch[0]
    png = save(image, tmp_path / "rgb.png")
    files = [png, save(image, tmp_path / "grey.png", "L"), save(image, tmp_path / "rgba.png", "RGBA"),
             save(image, tmp_path / "palette.gif", "P"), save(image, tmp_path / "big.jpg", size=(340, 160), quality=95),
             save(image, tmp_path / "small.bmp", size=(85, 40))]
    results = reader.read_files([str(f) for f in files])
    assert [error for _, _, error in results] == [None] * len(files)
    assert results[0][1].text == reader.predict(batch[:1])[0].text  # a lossless file reads as the array
    assert results[2][1].text == results[0][1].text  # an opaque alpha channel changes nothing
    for array in (image[..., 0], image[..., :1], image.astype(np.float32) / 255):
        assert images.adapt(array, reader.height, reader.width).shape == (reader.height, reader.width, 3)


def test_broken_files_get_their_own_error_and_the_rest_is_read(reader, captchas, tmp_path, capsys):
    batch, labels = captchas
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(3):
        save(batch[i], folder / f"{labels[i]}.png")
    encoded = (folder / f"{labels[0]}.png").read_bytes()
    (folder / "truncated.png").write_bytes(encoded[: len(encoded) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image at all")
    (folder / "noise.png").write_bytes(np.random.default_rng(0).bytes(2000))
    (tmp_path / "nothing").mkdir()
    code = predict.main([str(folder), str(tmp_path / "nothing"), str(tmp_path / "missing.png"), "--format", "json",
                         "--model", SHIPPED])
    rows = json.loads(capsys.readouterr().out)
    assert code == 1
    by_name = {row["file"].rsplit("/", 1)[-1]: row for row in rows}
    for i in range(3):
        assert by_name[f"{labels[i]}.png"]["text"] == reader.predict(batch[i:i + 1])[0].text
    assert "truncated" in by_name["truncated.png"]["error"]
    assert "empty" in by_name["empty.png"]["error"]
    assert "not an image" in by_name["text.jpg"]["error"] and "not an image" in by_name["noise.png"]["error"]
    assert "no image files" in by_name["nothing"]["error"] and "no such file" in by_name["missing.png"]["error"]

    code = predict.main([str(folder), "--model", SHIPPED])  # the default text format
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert code == 1
    for i in range(3):  # a good file is read, not shown as "ERROR: nan" because another one failed
        text = lines[str(folder / f"{labels[i]}.png")]
        assert not text.startswith("ERROR") and text.split("\t")[0] == reader.predict(batch[i:i + 1])[0].text
    assert lines[str(folder / "empty.png")].startswith("ERROR: ") and "empty" in lines[str(folder / "empty.png")]


def test_a_file_name_that_is_not_utf8_is_read_and_shown_escaped(reader, captchas, tmp_path, capsys):
    import os

    batch, labels = captchas
    save(batch[0], os.path.join(os.fsencode(tmp_path), b"\xff" + labels[0].encode() + b".png"))
    save(batch[1], tmp_path / f"{labels[1]}.png")
    for fmt in ("csv", "text", "json"):
        assert predict.main([str(tmp_path), "--format", fmt, "--label-pattern", "^\\W?([^.]+)"]) == 0
        out = capsys.readouterr().out
        assert f"\\xff{labels[0]}.png" in out and f"{labels[1]}.png" in out


def test_labels_give_accuracy(reader, captchas, tmp_path, capsys):
    batch, labels = captchas
    for i, image in enumerate(batch):
        save(image, tmp_path / f"{i:02d}.png")
    (tmp_path / "labels.csv").write_text("file,label\n" + "".join(f"{i:02d}.png,{label}\n" for i, label in enumerate(labels)))
    code = predict.main([str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--format", "csv"])
    captured = capsys.readouterr()
    assert code == 0
    right = sum(r.text == label for r, label in zip(reader.predict(batch), labels))
    assert f"full-sequence accuracy {right / len(labels):.2%} on {len(labels)} labeled" in captured.err
    assert captured.out.count(",True") + captured.out.count(",False") == len(labels)
    (tmp_path / "bad.csv").write_text("name,text\na.png,XY\n")
    assert predict.main([str(tmp_path), "--labels", str(tmp_path / "bad.csv")]) == 2
    assert "needs columns file,label" in capsys.readouterr().err


def test_labels_from_file_names_give_accuracy_as_in_training(reader, captchas, tmp_path, capsys):
    batch, labels = captchas  # named as a third-party set often is: LABEL-index.png
    for i, image in enumerate(batch[:10]):
        save(image, tmp_path / f"{labels[i]}-{i}.png")
    save(batch[10], tmp_path / "-unlabelled.png")  # the pattern gives it no label
    code = predict.main([str(tmp_path), "--label-pattern", "^([^-]+)", "--format", "csv"])
    captured = capsys.readouterr()
    assert code == 0
    right = sum(r.text == label for r, label in zip(reader.predict(batch[:10]), labels[:10]))
    assert f"full-sequence accuracy {right / 10:.2%} on 10 labeled; 1 without a label" in captured.err
    assert predict.main([str(tmp_path), "--label-pattern", "^([A-Z"]) == 2
    assert "--label-pattern '^([A-Z' is not a regular expression" in capsys.readouterr().err


def test_a_damaged_shipped_model_is_refused(tmp_path):
    copy = shutil.copytree(pretrained.PRETRAINED_DIR / SHIPPED, tmp_path / "copy")
    with open(copy / "model.keras", "ab") as file:
        file.write(b"\0")
    with pytest.raises(pretrained.ModelLoadError, match="does not match the sha256"):
        pretrained.load(str(copy), runtime="keras")
    with pytest.raises(pretrained.ModelLoadError, match="does not match the sha256"):  # named by its file: the same check
        pretrained.load(str(copy / "model.keras"))
    assert pretrained.load(str(copy)).predict  # model.onnx is intact and read by default
    onnx = bytearray((copy / "model.onnx").read_bytes())
    onnx[len(onnx) // 2] ^= 0x01  # a weight byte: ONNX Runtime would load it and read with it
    (copy / "model.onnx").write_bytes(bytes(onnx))
    for spec in (copy, copy / "model.onnx"):
        with pytest.raises(pretrained.ModelLoadError, match="model.onnx does not match the sha256"):
            pretrained.load(str(spec))
    flipped = bytearray((pretrained.PRETRAINED_DIR / SHIPPED / "model.keras").read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flipped.keras").write_bytes(bytes(flipped))  # no card beside it: no sha256 to check
    with pytest.raises(pretrained.ModelLoadError, match="cannot load .*flipped.keras"):
        pretrained.load(str(tmp_path / "flipped.keras"), charset=pretrained.shipped_card(SHIPPED)["charset"])
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes((pretrained.PRETRAINED_DIR / SHIPPED / "model.keras").read_bytes()[:100_000])
    with pytest.raises(pretrained.ModelLoadError, match="exists but is not a complete .keras file"):
        pretrained.load(str(truncated))


def test_a_card_whose_charset_does_not_fit_the_model_is_refused(tmp_path, capsys):
    copy = shutil.copytree(pretrained.PRETRAINED_DIR / SHIPPED, tmp_path / "copy")
    card = json.loads((copy / "card.json").read_text())
    del card["sha256"]
    (copy / "card.json").write_text(json.dumps({**card, "charset": "0123456789"}))
    with pytest.raises(ValueError, match="outputs 37 classes .* given a charset of 10"):
        pretrained.load(str(copy))
    assert predict.main(["--model", str(copy), str(tmp_path)]) == 2
    assert "give the charset it was trained with" in capsys.readouterr().err


def test_unknown_models_and_unsafe_files_are_refused(tmp_path, capsys):
    import re

    listed = re.escape(f"expected a shipped model ({', '.join(pretrained.shipped())})")
    assert SHIPPED in pretrained.shipped()
    with pytest.raises(pretrained.ModelLoadError, match=listed):
        pretrained.load("no-such-model")
    assert predict.main(["--model", "no-such-model", str(tmp_path)]) == 2
    assert "no model 'no-such-model'" in capsys.readouterr().err
    inputs = keras.Input((8, 8, 3))
    unsafe = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    unsafe.save(tmp_path / "unsafe.keras")
    with pytest.raises(pretrained.ModelLoadError, match="cannot load"):
        pretrained.load(str(tmp_path / "unsafe.keras"), charset="AB", max_length=2)


def test_inputs_of_any_kind(reader, captchas, tmp_path):
    batch, _ = captchas
    buffer = io.BytesIO()
    Image.fromarray(batch[1]).save(buffer, format="PNG")
    import base64

    expected = reader.predict(batch[1:2])[0].text
    for item in (buffer.getvalue(), base64.b64encode(buffer.getvalue()).decode(), Image.fromarray(batch[1]), batch[1]):
        assert reader.predict([item])[0].text == expected
    with pytest.raises(images.ImageError, match="not base64"):
        reader.predict(["hello there"])
    path = save(batch[1], tmp_path / "one.png")
    assert reader.predict([str(path), path])[0].text == expected  # a path, as text or Path
    with pytest.raises(images.ImageError, match="no such file"):
        reader.predict([str(tmp_path / "missing.png")])
    assert reader.answer([str(path)])[0]["error"] == "text input is not base64 of an image file"  # served: base64 only
    with pytest.raises(images.ImageError, match="shape"):
        reader.predict([np.zeros((4, 4, 2), np.uint8)])


@pytest.mark.slow
def test_onnx_runtime_reads_what_keras_reads_and_converts_once(reader, captchas, tmp_path, capsys, monkeypatch):
    batch, _ = captchas
    folder = tmp_path / "images"
    folder.mkdir()
    for index, image in enumerate(batch):
        save(image, folder / f"{index:02d}.png")
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(cache))
    assert predict.main([str(folder), "--format", "json", "--runtime", "keras"]) == 0
    by_keras = json.loads(capsys.readouterr().out)
    assert predict.main([str(folder), "--format", "json"]) == 0  # the shipped model.onnx
    shipped_onnx = json.loads(capsys.readouterr().out)
    assert [row["text"] for row in shipped_onnx] == [row["text"] for row in by_keras]
    assert not cache.exists()  # read from the folder's model.onnx: nothing converted
    keras_only = shutil.copytree(pretrained.PRETRAINED_DIR / SHIPPED, tmp_path / "keras-only",
                                 ignore=shutil.ignore_patterns("model.onnx"))
    card = json.loads((keras_only / "card.json").read_text())
    card["sha256"] = {"model.keras": card["sha256"]["model.keras"]}
    (keras_only / "card.json").write_text(json.dumps(card))
    folder_args = [str(folder), "--model", str(keras_only)]
    assert predict.main([*folder_args, "--format", "json", "--runtime", "onnx"]) == 0  # converted into the cache
    by_onnx = json.loads(capsys.readouterr().out)
    assert [row["text"] for row in by_onnx] == [row["text"] for row in by_keras]
    assert [row["confidence"] for row in by_onnx] == pytest.approx([row["confidence"] for row in by_keras], abs=2e-4)
    converted = sorted((cache / "onnx").iterdir())
    assert [path.name.split(".", 1)[1] for path in converted] == ["onnx", "onnx.sha256"] and not converted[0].name.startswith(".")
    stamp = converted[0].stat().st_mtime_ns
    assert predict.main([str(folder / "00.png"), "--model", str(keras_only), "--runtime", "onnx"]) == 0  # from the cache
    assert sorted((cache / "onnx").iterdir()) == converted and converted[0].stat().st_mtime_ns == stamp
    assert by_onnx[0]["text"] in capsys.readouterr().out
    flipped = bytearray(converted[0].read_bytes())
    flipped[len(flipped) // 2] ^= 0x01  # a weight byte: ONNX Runtime would load it and read with it
    for damaged in (bytes(flipped), b"damaged"):  # a changed or damaged cache file is converted again, not used
        converted[0].write_bytes(damaged)
        assert predict.main([*folder_args, "--format", "json", "--runtime", "onnx"]) == 0
        captured = capsys.readouterr()
        assert [row["text"] for row in json.loads(captured.out)] == [row["text"] for row in by_keras]
        assert "does not match its recorded sha256" in captured.err
        assert converted[1].read_text().strip() == pretrained.sha256(converted[0]) and converted[0].stat().st_size > 1000


def test_unknown_runtimes_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown runtime 'tflite'; accepted: auto, keras, onnx"):
        zoo.load(SHIPPED, runtime="tflite")
    with pytest.raises(SystemExit) as exit_info:
        predict.main([str(tmp_path), "--runtime", "tflite"])
    assert exit_info.value.code == 2 and "invalid choice: 'tflite'" in capsys.readouterr().err


@pytest.mark.parametrize("score, card_score, wins", [
    (0.99470001, 0.9947, False),  # float32 of the card's own run: a tie, not a win
    (0.99474, 0.9947, False),  # better by less than the card shows: not shipped over it
    (0.9948, 0.9947, True),
    (0.9946, 0.9947, False),
    (0.0, None, True),  # nothing shipped yet
])
def test_a_run_beats_a_card_only_at_the_cards_precision(score, card_score, wins):
    card = None if card_score is None else {"test": {"seq_acc": card_score}}
    assert pretrained.beats_card(score, card) is wins


@pytest.mark.slow
def test_a_tracked_model_is_shipped_with_its_card_and_reads_the_same(store, tmp_path):
    from zoo.fitting.loop import train

    result = train(make_config("bigru", "smoke", 0, {"checkpoint_dir": str(tmp_path / "ckpt"), "train.init": SHIPPED,
                                                     "tracking.register_model": True}))
    folder = shipping.ship("models:/zoo-bigru@champion", "smoke-bigru", folder=tmp_path / "shipped")
    card = json.loads((folder / "card.json").read_text())
    assert card["sha256"] == {name: pretrained.sha256(folder / name) for name in ("model.keras", "model.onnx")}
    assert card["onnx"]["readings_that_differ"] == 0 and card["onnx"]["test_images"] == card["test_size"]
    assert card["source"]["run_id"] == result.run_id
    assert card["samples_seen"] == 2 * 2 * 8 and card["init"] == SHIPPED and card["preset"] == "smoke"
    assert card["test"]["seq_acc"] == pytest.approx(result.metrics["test_seq_acc"], abs=1e-4)
    assert f"starting from the weights of `{SHIPPED}`" in (folder / "README.md").read_text()
    started_from = pretrained.sha256(pretrained.PRETRAINED_DIR / SHIPPED / "model.keras")  # pinned: a later ship replaces it
    assert card["init_sha256"] == started_from and f"model.keras sha256 `{started_from}`" in (folder / "README.md").read_text()
    assert not [path.name for path in folder.iterdir() if path.name.startswith(".")]  # no partial file left
    with zipfile.ZipFile(folder / "model.keras") as saved:  # plain Keras layers: loads without the zoo package
        layers = json.loads(saved.read("config.json"))["config"]["layers"]
    assert {layer["registered_name"] for layer in layers} == {None} and "BatchNormalization" in {layer["class_name"] for layer in layers}
    shipped, tracked = pretrained.load(str(folder)), loading.load("models:/zoo-bigru@champion")
    assert "ONNX Runtime" in shipped.source
    source = CaptchaSource(shipped.info.charset, 4, 4, shipped.width, shipped.height, seed=99)
    batch = np.stack([source.sample(i)[0] for i in range(4)])
    assert [r.text for r in shipped.predict(batch)] == [r.text for r in tracked.predict(batch)]
    # the name reads other sizes at their own scale (as bigru does): a run shipped under it again keeps that
    pretrained.write_card(folder, {**card, "resize": "keep"})
    again = json.loads((shipping.ship("models:/zoo-bigru@champion", "smoke-bigru", folder=tmp_path / "shipped",
                                      onnx_and_temperature=False) / "card.json").read_text())
    assert again["resize"] == "keep" and 45 <= again["text_height"] <= 65 and "sizes" not in again


def test_tensorflows_retracing_warning_is_dropped_and_its_other_warnings_kept():
    """The end of a run predicts at several batch sizes on purpose; TensorFlow's advice to fix a
    retracing loop is not for our users (zoo._quiet). Any other TensorFlow warning still shows."""
    import logging

    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger, handler = logging.getLogger("tensorflow"), Collect()
    logger.addHandler(handler)
    try:
        logger.warning("5 out of the last 13 calls to <function one_step_on_data_distributed at 0x7e> triggered "
                       "tf.function retracing. Tracing is expensive")
        logger.warning("a real problem")
    finally:
        logger.removeHandler(handler)
    assert seen == ["a real problem"]


def test_command_lines_print_no_tensorflow_start_up_noise(reader, captchas, tmp_path):
    """absl/oneDNN/CUDA lines go to fd 2 at `import tensorflow` and at its first device use, whatever
    TF_CPP_MIN_LOG_LEVEL says; a command prints only its own lines."""
    import subprocess
    import sys

    batch, _ = captchas
    path = save(batch[0], tmp_path / "one.png")
    result = subprocess.run([sys.executable, "-m", "zoo.predict", "--runtime", "keras", str(path)], capture_output=True, text=True, check=True)
    assert result.stdout.startswith(str(path))
    assert result.stderr.strip() == "1 read, 0 failed", result.stderr[-2000:]
