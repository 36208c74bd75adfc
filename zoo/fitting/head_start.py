"""`train.init = "A,B"`: of several head starts, the one that reads the most of the folder's validation
images as it is, before any training (zero-shot). Each reads the images its own way (its size and
fitting, zoo.load), so the choice costs a few seconds: on the 2-core Zen 4 box ~10 ms an image and
model (reports/own-folder/zero_shot.csv), at most SAMPLE images each. Equal full-sequence accuracies
(say none reads a whole label of a hard set) are decided by how much of each label they read
(difflib's similarity ratio), then by the order named."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from zoo.config import ConfigError
from zoo.config.schema import DataConfig
from zoo.data import folder_data

SAMPLE = 400  # validation images read by each candidate (evenly spread over a larger split)


@dataclass(frozen=True)
class Choice:
    spec: str  # the head start the run starts from
    scores: dict[str, float]  # each candidate's zero-shot full-sequence accuracy; empty when only one was named
    images: int  # how many validation images they read

    def describe(self) -> str:
        if not self.scores:
            return f"head start: {self.spec}"
        readings = ", ".join(f"{name} {score:.1%}" for name, score in self.scores.items())
        return f"head start: {self.spec} (zero-shot on {self.images} validation images: {readings})"


def candidates(spec: str) -> list[str]:
    """`"a, b"` -> ["a", "b"]; ConfigError for an empty name or a repeated one."""
    names = [name.strip() for name in spec.split(",")]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise ConfigError(f"train.init {spec!r}: give one model, or several distinct ones separated by commas "
                          "(e.g. \"folder-base,folder-mix\")")
    return names


def choose(spec: str, data: DataConfig) -> Choice:
    """The candidate of `spec` that reads the most of the folder's validation images (one named: that one)."""
    names = candidates(spec)
    if len(names) == 1:
        return Choice(names[0], {}, 0)
    root = folder_data.folder_path(data.source)
    if root is None:
        raise ConfigError(f"train.init {spec!r} names several models: choosing reads a folder's validation images, "
                          "so it needs data.source = \"folder:PATH\" (--data)")
    _, val, _ = folder_data.split(folder_data.scan(str(root), data.label_pattern), data.val_fraction, data.test_fraction)
    step = max(1, -(-len(val) // SAMPLE))  # ceil: at most SAMPLE images
    paths = [str(Path(val.root) / name) for name in val.files[::step]]
    labels = val.labels[::step]
    readings = {name: _zero_shot(name, spec, paths, labels) for name in names}
    best = max(names, key=lambda name: readings[name])  # the first of equals
    return Choice(best, {name: whole for name, (whole, _) in readings.items()}, len(paths))


def _zero_shot(name: str, spec: str, paths: list[str], labels: list[str]) -> tuple[float, float]:
    """The share of `paths` that model `name` reads as their labels, and the mean similarity of its
    readings to them (0-1, characters in order)."""
    from zoo import loading
    from zoo.inference import pretrained

    try:
        reader = loading.load(name)
    except (pretrained.ModelLoadError, ValueError) as error:
        raise ConfigError(f"train.init {spec!r}: {name}: {error}") from None
    return scored([reading.text if reading is not None else "" for _, reading, _ in reader.read_files(paths)], labels)


def scored(texts: list[str], labels: list[str]) -> tuple[float, float]:
    """(share of `texts` equal to their labels, their mean similarity to them): compared as a pair,
    the second decides between equal first ones."""
    right = sum(text == label for text, label in zip(texts, labels))
    similar = sum(difflib.SequenceMatcher(None, text, label).ratio() for text, label in zip(texts, labels))
    return right / max(1, len(labels)), similar / max(1, len(labels))
