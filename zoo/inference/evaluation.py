"""Scoring a model on a fixed split, its per-character errors, and its inference speed."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from keras import ops

from zoo.models import ctc


@dataclass
class Evaluation:
    metrics: dict[str, float]  # seq_acc, char_acc, ned (the fit metrics: greedy, the reference's rule); read_seq_acc
    predictions: list[str]  # the readings, as zoo.predict reads (held to the label lengths when min_length is given)
    labels: list[str]
    greedy: list[str]  # the greedy decodes cut to max_length, the readings seq_acc scores

    def misreads(self) -> pd.DataFrame:
        """The captchas seq_acc counts wrong: index in the split, label, greedy reading. Every other
        captcha of the split was read right, so this is each captcha's correctness, compactly
        (paired comparisons of runs tested on the same split)."""
        rows = [(index, label, read) for index, (label, read) in enumerate(zip(self.labels, self.greedy)) if read != label]
        return pd.DataFrame(rows, columns=["index", "label", "read"])


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray, charset: str, max_length: int,
             batch_size: int = 128, verbose: int | str = "auto", min_length: int | None = None) -> Evaluation:
    """One forward pass over the split; metrics and decodes come from the same logits.

    seq_acc, char_acc and ned are the fit metrics (greedy decode cut to max_length, the reference's
    rule, comparable with every logged run). With `min_length`, `read_seq_acc` is the full-sequence
    accuracy of what `zoo.predict` reads: the decode held to the label lengths (zoo.inference.decoding).
    """
    if verbose == "auto":
        from zoo.cli import progress_verbosity

        verbose = progress_verbosity()
    logits = model.predict(images, batch_size=batch_size, verbose=verbose)  # n x steps x classes+1
    metrics = ctc.score_logits(logits, labels, max_length)
    texts = ctc.labels_to_texts(labels, charset)
    greedy = ctc.decode_texts(logits, charset, max_length)
    if min_length is None:
        predictions = greedy
    else:
        from zoo.inference import decoding

        predictions, _ = decoding.read(logits, charset, min_length, max_length)
        metrics["read_seq_acc"] = float(np.mean([read == text for read, text in zip(predictions, texts)]))
    return Evaluation(metrics, predictions, texts, greedy)


def _misreads(predictions: list[str], labels: list[str]):
    """(true, read) per label position, position-wise like the reference's 0-vs-O analysis: label
    character i is misread when the decode has another character (or none: read = "") at position i."""
    for predicted, label in zip(predictions, labels):
        for position, char in enumerate(label):
            yield char, predicted[position] if position < len(predicted) else ""


def character_errors(predictions: list[str], labels: list[str], charset: str) -> pd.DataFrame:
    """Per true character: occurrences, errors at its position, and what it was mostly read as."""
    occurrences, errors = collections.Counter(), collections.Counter()
    confusions: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for char, read in _misreads(predictions, labels):
        occurrences[char] += 1
        if read != char:
            errors[char] += 1
            confusions[char][read or "(missing)"] += 1
    rows = [
        {
            "char": char,
            "occurrences": occurrences[char],
            "errors": errors[char],
            "error_rate": errors[char] / occurrences[char] if occurrences[char] else 0.0,
            "mostly_read_as": confusions[char].most_common(1)[0][0] if confusions[char] else "",
        }
        for char in charset
    ]
    return pd.DataFrame(rows)


def confused_pairs(predictions: list[str], labels: list[str]) -> pd.DataFrame:
    """Misreads counted per (true, read) pair, most frequent first; `read` is "(missing)" where the
    decode is shorter. On the reference problem the letter O and the digit 0 top it."""
    counts = collections.Counter((char, read or "(missing)") for char, read in _misreads(predictions, labels) if read != char)
    rows = [{"true": true, "read": read, "count": count} for (true, read), count in counts.most_common()]
    return pd.DataFrame(rows, columns=["true", "read", "count"])


def most_confused(pairs: pd.DataFrame, top: int = 5) -> str:
    """`confused_pairs`' first rows as one line: "O -> 0: 267, 0 -> O: 82, ..."."""
    return ", ".join(f"{row.true} -> {row.read}: {row.count}" for row in pairs.head(top).itertuples())


def step_argmax(model: keras.Model, image: np.ndarray, charset: str) -> list[str]:
    """The per-step most likely class of one image, as characters ('-' for the blank)."""
    logits = model.predict_on_batch(image[None])[0]  # steps x classes+1
    symbols = "-" + charset
    return [symbols[index] for index in ops.convert_to_numpy(ops.argmax(logits, axis=-1))]


def measure_speed(model: keras.Model, images: np.ndarray, repeats: int = 5, batch_size: int = 128) -> dict[str, float]:
    """Median images/s at `batch_size` and ms/image at batch 1 (after one warm-up call each)."""
    batch = np.resize(images, (batch_size, *images.shape[1:]))
    single = images[:1]

    def median_seconds(inputs: np.ndarray) -> float:
        model.predict_on_batch(inputs)  # warm-up: tracing and allocation are not timed
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict_on_batch(inputs)
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    return {
        "inference_images_per_s": batch_size / median_seconds(batch),
        "latency_ms_per_image": 1000 * median_seconds(single),
    }
