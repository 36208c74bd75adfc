"""A trained model with what it reads: images in, texts and confidences out.

    reader = zoo.load("bigru")                 # a shipped model, a .keras file, models:/..., runs:/...
    reader.predict(["a.png", b"...", array])   # -> [Reading(text=..., confidence=...), ...]

Decoding is `zoo.inference.decoding` (numpy alone: a reader needs no Keras): the training-time
metrics' decode (greedy, or beam search with `beam_width`), held to the label lengths the model was
trained on. A decode of a length
the task never has (a doubled character merged into one, a stray one: ~1 in 1,000 reference
captchas) is read again by beam search and its most probable labelling of an allowed length taken;
`any_length=True` keeps the plain decode (the reference's rule). The confidence is the probability
of the reading's text (every alignment of it summed), from the logits divided by the model's
calibrated temperature where its card has one (zoo.inference.calibration): among readings at
confidence ~p, about p of them are right.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from zoo.data import images, labels
from zoo.inference import decoding

if TYPE_CHECKING:  # Keras loads only when a Keras model is read, so listings, cards and ONNX readers never pay for it
    import keras


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float  # the chance the whole text is right
    characters: tuple[float, ...] | None = None  # per character, its chance given the others (predict(characters=True))
    note: str | None = None  # read_files: the image's geometry is far from the model's (zoo.data.images.geometry_note)


@dataclass(frozen=True)
class ModelInfo:
    """What a model reads; carried as MLflow model metadata or a shipped model's card."""

    charset: str
    min_length: int
    max_length: int
    arch: str = "?"
    resize: str = "stretch"  # how images are fitted to the input size (zoo.data.images.fit), as in training
    temperature: float = 1.0  # logits / temperature give calibrated confidences (zoo.inference.calibration)
    draw_sizes: str = ""  # the sizes its training images were drawn at before fitting (data.draw_sizes); "" = its input's
    text_height: int = 0  # px: its drawings' median text height (images.text_height), where known; 0 = not known

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], source: str) -> "ModelInfo":
        missing = [key for key in ("charset", "max_length") if not metadata.get(key)]
        if missing:
            raise ValueError(f"model {source} carries no {' or '.join(missing)} metadata; "
                             "it was not logged by the zoo (pass the charset and lengths yourself)")
        max_length = int(metadata["max_length"])
        return cls(str(metadata["charset"]), int(metadata.get("min_length") or max_length), max_length,
                   str(metadata.get("arch", "?")), str(metadata.get("resize") or "stretch"),
                   float(metadata.get("temperature") or 1.0), str(metadata.get("draw_sizes") or ""),
                   int(metadata.get("text_height") or 0))

    def metadata(self) -> dict[str, Any]:
        return {"charset": self.charset, "min_length": self.min_length, "max_length": self.max_length,
                "arch": self.arch, "blank_index": labels.BLANK, "resize": self.resize,
                **({"temperature": self.temperature} if self.temperature != 1.0 else {}),
                **({"draw_sizes": self.draw_sizes} if self.draw_sizes else {}),
                **({"text_height": self.text_height} if self.text_height else {})}


class Reader:
    def __init__(self, model: keras.Model | Any, info: ModelInfo, source: str = "model"):
        """`model`: a Keras model, or anything with its `input_shape`, `output_shape` and
        `predict_on_batch` (zoo.inference.export.OnnxModel, LiteRTModel)."""
        _, height, width, channels = model.input_shape
        if channels != 3:
            raise ValueError(f"{source}: expected a model taking height x width x 3 images, got input {model.input_shape}")
        classes = model.output_shape[-1]  # the charset's characters + the CTC blank
        if classes != len(info.charset) + 1:
            raise ValueError(f"{source}: the model outputs {classes} classes (a charset of {classes - 1} characters "
                             f"and the blank), but it was given a charset of {len(info.charset)} ({info.charset!r}); "
                             "give the charset it was trained with")
        self.model, self.info, self.source = model, info, source
        self.height, self.width = int(height), int(width)

    def adapt(self, items: Iterable) -> np.ndarray:
        """Paths, bytes, base64 text, PIL images or arrays -> uint8 batch x height x width x 3."""
        items = list(items)
        if not items:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        return np.stack([images.adapt(item, self.height, self.width, self.info.resize) for item in items])

    def predict(self, items, beam_width: int | None = None, batch_size: int = 128,
                any_length: bool = False, characters: bool = False) -> list[Reading]:
        """Read each image; `beam_width` switches greedy decoding to beam search; `any_length` lets a
        reading have a length outside the model's label lengths (the reference's plain decode).

        `items`: a uint8 batch array (batch x height x width x 3) or a list of any accepted inputs.
        A bad item raises `zoo.data.images.ImageError`; `read_files` reports errors per file instead.
        """
        batch = items if isinstance(items, np.ndarray) and items.ndim == 4 else self.adapt(items)
        if batch.shape[1:] != (self.height, self.width, 3) or batch.dtype != np.uint8:
            batch = self.adapt(list(batch))
        readings = []
        for start in range(0, len(batch), batch_size):
            logits = np.asarray(self.model.predict_on_batch(batch[start:start + batch_size]))  # b x steps x classes+1
            texts, log_probs = decoding.read(logits, self.info.charset, self.info.min_length, self.info.max_length,
                                             beam_width, any_length, self.info.temperature)
            per_character = [None] * len(texts)
            if characters:
                labellings = [tuple(self.info.charset.index(c) + 1 for c in text) for text in texts]
                per_character = [tuple(round(p, 6) for p in row) for row in
                                 decoding.character_confidences(logits, labellings, self.info.temperature)]
            readings += [Reading(text, float(np.exp(p)), chars) for text, p, chars in zip(texts, log_probs, per_character)]
        return readings

    def answer(self, items: list, batch_size: int = 128) -> list[dict[str, Any]]:
        """The served contract, one record per item: {"text", "confidence", "error"}, all three always,
        None where not applicable; an item that is no image gets its error and the others are read.
        Text items are base64 only (a client never names the server's files)."""
        rows: list[dict[str, Any]] = [{} for _ in items]
        good, arrays = [], []
        for index, item in enumerate(items):
            try:
                arrays.append(images.adapt(item, self.height, self.width, self.info.resize, text_paths=False))
                good.append(index)
            except images.ImageError as error:
                rows[index] = {"text": None, "confidence": None, "error": str(error)}
        if arrays:
            for index, reading in zip(good, self.predict(np.stack(arrays), batch_size=batch_size)):
                rows[index] = {"text": reading.text, "confidence": reading.confidence, "error": None}
        return rows

    def read_files(self, paths: list[str | Path], beam_width: int | None = None, batch_size: int = 128,
                   any_length: bool = False, characters: bool = False) -> list[tuple[str, Reading | None, str | None]]:
        """(path, reading, error) per file, in order; one bad file never stops the others."""
        files, folder_errors = images.image_files(paths)
        results: list[tuple[str, Reading | None, str | None]] = [(p, None, e) for p, e in folder_errors.items()]
        for start in range(0, len(files), batch_size):
            good, arrays, notes = [], [], []
            for path in files[start:start + batch_size]:
                try:
                    image = images.decode(path)
                    arrays.append(images.adapt(image, self.height, self.width, self.info.resize))
                    kept = self.info.resize == "keep" and self.info.text_height  # is it drawn at this size?
                    notes.append(images.geometry_note(image.size, self.height, self.width, self.info.resize,
                                                      self.info.draw_sizes, images.text_height(images.to_rgb(image)) if kept else None,
                                                      self.info.text_height))
                    good.append(path)
                except (images.ImageError, OSError) as error:
                    results.append((str(path), None, str(error)))
            if arrays:
                readings = self.predict(np.stack(arrays), beam_width, batch_size, any_length, characters)
                results += [(str(path), dataclasses.replace(reading, note=note), None)
                            for path, reading, note in zip(good, readings, notes)]
        order = {str(p): i for i, p in enumerate(files)}
        return sorted(results, key=lambda row: order.get(row[0], -1))
