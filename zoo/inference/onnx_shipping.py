"""Every shipped model folder carries `model.onnx` beside `model.keras`, checked before it is kept.

    python -m zoo.pretrained --onnx bigru     # convert, compare on the card's test set, record in the card

Reading a shipped model then needs numpy, Pillow and ONNX Runtime only (`zoo.load` and
`zoo.predict` pick `model.onnx` where a folder has one). The conversion (`zoo.inference.export.to_onnx`:
unrolled recurrent layers, float32) needs the `train` extra. Before the file is kept, both files read
the card's own test set (the same task, seed and size the card's accuracy was measured on), and
every reading must be the same text: one differing reading and the .onnx is refused, nothing
written. The card records both files' sha256 and the check (`onnx`: captchas read, readings that
differ, the largest confidence difference).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path

import numpy as np

from zoo.inference import card_sets, export, pretrained
from zoo.inference.reader import Reader

CHECK_BATCH = 256


class OnnxMismatch(ValueError):
    """The converted model reads some test images differently from the Keras model."""


def compare(keras_reader: Reader, onnx_reader: Reader, images: np.ndarray) -> dict:
    """Both readers over `images`: how many were read, how many texts differ, the largest confidence gap."""
    differ, gap = 0, 0.0
    for start in range(0, len(images), CHECK_BATCH):
        batch = images[start:start + CHECK_BATCH]
        pairs = zip(keras_reader.predict(batch), onnx_reader.predict(batch))
        for keras_reading, onnx_reading in pairs:
            differ += keras_reading.text != onnx_reading.text
            gap = max(gap, abs(keras_reading.confidence - onnx_reading.confidence))
    return {"test_images": int(len(images)), "readings_that_differ": int(differ),
            "max_confidence_difference": float(f"{gap:.2g}")}


def add_onnx(folder: Path, count: int | None = None, images: np.ndarray | None = None) -> dict:
    """Convert `folder`'s model.keras to model.onnx, compare them on the card's test set (its first `count`
    images, or `images`), and keep the .onnx (with its sha256 and the check in the card) only when no
    reading differs. Returns the check; raises OnnxMismatch (nothing written) otherwise."""
    folder = Path(folder)
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    keras_reader = pretrained.load(str(folder), runtime="keras")  # the card's sha256 of model.keras checked
    partial = folder / f".{pretrained.ONNX_FILE}.{os.getpid()}.partial"
    try:
        export.to_onnx(keras_reader.model, partial)
        onnx_reader = Reader(export.OnnxModel(partial), keras_reader.info, f"{folder} (ONNX Runtime)")
        check = compare(keras_reader, onnx_reader, card_sets.card_split(card, count)[0] if images is None else images)
        if check["readings_that_differ"]:
            raise OnnxMismatch(f"{folder}: the ONNX model reads {check['readings_that_differ']} of "
                               f"{check['test_images']} test images differently from model.keras; not shipped")
        os.replace(partial, folder / pretrained.ONNX_FILE)
    finally:
        partial.unlink(missing_ok=True)
    check.update(opset=export.ONNX_OPSET, versions={name: importlib.metadata.version(name)
                                                    for name in ("tf2onnx", "onnxruntime")})
    card["sha256"] = {pretrained.MODEL_FILE: pretrained.sha256(folder / pretrained.MODEL_FILE),
                      pretrained.ONNX_FILE: pretrained.sha256(folder / pretrained.ONNX_FILE)}
    card["onnx"] = check
    pretrained.write_card(folder, card)
    return check


def main_onnx(names: list[str], count: int | None) -> int:
    """`python -m zoo.pretrained --onnx NAME ...`: add_onnx for each shipped model named."""
    import sys

    for name in names:
        folder = pretrained.PRETRAINED_DIR / name
        if not (folder / pretrained.CARD_FILE).is_file():
            print(f"error: no shipped model {name!r}; shipped: {', '.join(pretrained.shipped())}", file=sys.stderr)
            return 2
        try:
            check = add_onnx(folder, count)
        except (OnnxMismatch, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{name}: model.onnx kept; {json.dumps(check)}")
    return 0
