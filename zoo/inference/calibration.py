"""Confidences you can threshold: a temperature fitted on held-out captchas, and what it buys on the test set.

    python -m zoo.pretrained --calibrate bigru     # fit, measure on the card's test set, record in the card

A reading's confidence is the probability of its text under softmax(logits / T) (every alignment
summed: zoo.inference.decoding). T = 1 is the model as trained; `fit_temperature` chooses T on a
calibration set of the card's task drawn with its own seed (card_sets.CALIBRATION_SEED, never a
training, validation or test seed) by minimising the binary cross-entropy between confidence and
being right (temperature scaling, Guo et al. 2017, with "right" meaning the whole text). The card
then records T and, on the card's test set: the expected calibration error before and after, the
readings kept and their accuracy above a few thresholds, and the share of readings that can be
kept at 99.9% precision. `reliability.png` beside the model shows the reliability diagram.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from zoo.inference import decoding
from zoo.inference.reader import Reader

THRESHOLDS = (0.5, 0.9, 0.99)
TARGET_PRECISION = 0.999
BINS = 10
LOG_T_RANGE = (-2.0, 3.0)  # T from e^-2 (sharper) to e^3 (softer)


def logits_of(reader: Reader, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's logits for uint8 images: n x steps x classes+1."""
    return np.concatenate([np.asarray(reader.model.predict_on_batch(images[start:start + batch_size]))
                           for start in range(0, len(images), batch_size)])


class Scored:
    """Readings of a set (decoded once) whose confidence can be asked at any temperature."""

    def __init__(self, reader: Reader, logits: np.ndarray, texts: list[str]):
        info = reader.info
        self.logits = np.asarray(logits, dtype=np.float64)
        self.labellings, scores = decoding.decode(self.logits, info.min_length, info.max_length)
        self.allowed = np.isfinite(scores)  # no reading of an allowed length: confidence 0 at any temperature
        readings = ["".join(info.charset[c - 1] for c in labelling) for labelling in self.labellings]
        self.right = np.array([reading == text for reading, text in zip(readings, texts)])

    def confidences(self, temperature: float) -> np.ndarray:
        log_probs = decoding.labelling_log_probs(decoding.log_softmax(self.logits / temperature), self.labellings)
        return np.where(self.allowed, np.exp(log_probs), 0.0)


def cross_entropy(confidence: np.ndarray, right: np.ndarray) -> float:
    p = np.clip(confidence, 1e-12, 1 - 1e-12)
    return float(-np.mean(np.where(right, np.log(p), np.log1p(-p))))


def fit_temperature(scored: Scored, iterations: int = 60) -> float:
    """The T minimising the cross-entropy of confidence against being right (golden-section search on log T)."""
    low, high = LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    loss = lambda log_t: cross_entropy(scored.confidences(math.exp(log_t)), scored.right)  # noqa: E731
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(iterations):
        if loss_a < loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return round(math.exp((low + high) / 2), 4)


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> float:
    """Σ over equal-width confidence bins of (share of readings) x |accuracy - mean confidence|."""
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(right[inside].mean() - confidence[inside].mean())
    return float(error)


def coverage_at_precision(confidence: np.ndarray, right: np.ndarray, precision: float = TARGET_PRECISION) -> dict:
    """The most readings that can be kept, most confident first, with at least `precision` of them right:
    their share and the threshold that keeps them (None when not even the most confident one qualifies)."""
    order = np.argsort(-confidence, kind="stable")
    accuracy = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero(accuracy >= precision)
    if not good.size:
        return {"coverage": 0.0, "threshold": None}
    kept = int(good[-1]) + 1
    return {"coverage": round(kept / len(order), 4), "threshold": float(f"{confidence[order][kept - 1]:.4g}")}


def summary(confidence: np.ndarray, right: np.ndarray) -> dict:
    """What a threshold on these confidences does: ECE, kept share and accuracy per threshold, coverage at 99.9%."""
    rows = []
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        rows.append({"threshold": threshold, "kept": round(float(kept.mean()), 4),
                     "accuracy_of_kept": round(float(right[kept].mean()), 5) if kept.any() else None,
                     "errors_kept": int((~right[kept]).sum()), "right_rejected": int(right[~kept].sum())})
    return {"ece": round(expected_calibration_error(confidence, right), 4), "thresholds": rows,
            f"at_{TARGET_PRECISION:.1%}_precision": coverage_at_precision(confidence, right),
            "median_confidence_right": round(float(np.median(confidence[right])), 4) if right.any() else None,
            "median_confidence_wrong": round(float(np.median(confidence[~right])), 4) if (~right).any() else None}


def reliability_figure(before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], temperature: float,
                       title: str):
    """Accuracy against confidence per bin, before (T = 1) and after calibration, with each bin's share."""
    from zoo import plotting

    figure, (diagram, counts) = plotting.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=(3, 1), sharex=True)
    edges = np.linspace(0, 1, BINS + 1)
    for (confidence, right), label, marker in ((before, "T = 1 (as trained)", "o"), (after, f"T = {temperature:g}", "s")):
        which = np.minimum((confidence * BINS).astype(int), BINS - 1)
        filled = [b for b in range(BINS) if (which == b).any()]
        diagram.plot([confidence[which == b].mean() for b in filled], [right[which == b].mean() for b in filled],
                     marker=marker, label=label)
        counts.hist(confidence, bins=edges, alpha=0.5, label=label)
    diagram.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    diagram.set(ylabel="accuracy of the readings", title=title, xlim=(0, 1), ylim=(0, 1.02))
    diagram.legend(loc="upper left")
    counts.set(xlabel="confidence", ylabel="readings", yscale="log")
    return figure


def calibrate(folder: Path, count: int | None = None) -> dict:
    """Fit the temperature of the model in `folder` on a calibration set of its card's task, measure
    it on the card's test set, and record both in the card (`temperature`, `calibration`) with
    reliability.png beside it. Returns the card's `calibration` entry."""
    from zoo.inference import card_sets, pretrained

    folder = Path(folder)
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    reader = pretrained.load(str(folder))  # model.onnx where there is one: the same readings, faster
    count = count or card["test_size"]
    sets = {}
    for name, seed in (("calibration", card_sets.CALIBRATION_SEED), ("test", None)):
        images, texts = card_sets.card_split(card, count, seed)
        sets[name] = Scored(reader, logits_of(reader, images), texts)
    temperature = fit_temperature(sets["calibration"])
    test = sets["test"]
    before, after = test.confidences(1.0), test.confidences(temperature)
    calibration = {"fitted_on": {"seed": card_sets.CALIBRATION_SEED, "images": count},
                   "test_images": count, "as_trained": summary(before, test.right), "calibrated": summary(after, test.right)}
    figure = reliability_figure((before, test.right), (after, test.right), temperature,
                                f"{card['name']}: {count:,} test captchas")
    figure.savefig(folder / "reliability.png", dpi=110)
    card["temperature"], card["calibration"] = temperature, calibration
    pretrained.write_card(folder, card)
    return calibration
