"""Your own labeled captchas: `python -m zoo.train --data folder:PATH`.

Labels come from `PATH/labels.csv` (columns file,label) when it exists, else from each image's file
name through `data.label_pattern` (a regex whose first group is the label; default: the name up
to the first `_` or `.`, so `7K2PQ.png` and `7K2PQ_0031.jpg` both read `7K2PQ`). The images are
split once, by a fixed seeded shuffle, into train / validation / test (`data.val_fraction`,
`data.test_fraction`); the charset is inferred from the labels unless `data.charset` is given,
and label lengths may vary. Images of any size and mode are adapted to the model's input size
(zoo.data.images), like at prediction time.

`FolderSource` is index-addressed like `zoo.data.stream.CaptchaSource`: sample i of the training stream
is image `permutation(epoch)[i mod n]`, with one seeded permutation per pass, so a resumed run
continues with exactly the batches it would have seen. With `data.oversample`, a pass holds each
training image whose label has one of those characters `oversample_factor` times (n grows to match).

Each process keeps the images it has fitted (decoded, cropped to their text, resized: the same bytes
every pass) up to FITTED_CACHE_MB, so from the second pass a training sample costs its augmentation
only. On a wide canvas the fitting is ~70% of a sample's cost (python reports/own-folder/data_rate.py).
"""

from __future__ import annotations

import collections
import csv
import functools
import hashlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from zoo.data import images

PREFIX = "folder:"
FITTED_CACHE_MB = 1024  # per process (each data worker keeps its own); $ZOO_FITTED_CACHE_MB overrides, 0 = off
SPLIT_SEED = 12345  # the split never depends on a run's seed: every run tests on the same images


class FolderDataError(ValueError):
    """The folder cannot be trained on; says what is wrong and what is accepted."""


@dataclass(frozen=True)
class LabeledImages:
    root: str
    files: tuple[str, ...]  # relative to root
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices) -> "LabeledImages":
        return LabeledImages(self.root, tuple(self.files[i] for i in indices), tuple(self.labels[i] for i in indices))

    def digest(self) -> str:
        """Changes when a file, its label, size or modification time changes."""
        digest = hashlib.sha256(self.root.encode())
        for name, label in zip(self.files, self.labels):
            stat = (Path(self.root) / name).stat()
            digest.update(f"{name}\0{label}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]


def folder_path(source: str) -> Path | None:
    """`folder:PATH` -> PATH; the built-in generator ("captcha") -> None."""
    return Path(source[len(PREFIX):]).expanduser() if source.startswith(PREFIX) else None


@functools.lru_cache(maxsize=4)
def scan(root: str, label_pattern: str) -> LabeledImages:
    folder = Path(root)
    if not folder.is_dir():
        raise FolderDataError(f"data folder {folder} does not exist or is not a folder")
    labels_csv = folder / "labels.csv"
    if labels_csv.is_file():
        return _from_csv(folder, labels_csv)
    files, _ = images.image_files([folder])
    if not files:
        raise FolderDataError(f"data folder {folder} has no image files ({', '.join(images.SUFFIXES)}) and no labels.csv")
    try:
        pattern = re.compile(label_pattern)
    except re.error as error:
        raise FolderDataError(f"data.label_pattern {label_pattern!r} is not a regular expression: {error}") from None
    undecodable = [path.name for path in files if not _is_utf8(path.name)]
    if undecodable:
        shown = ", ".join(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for name in undecodable[:3])
        raise FolderDataError(f"{len(undecodable)} file name(s) are not UTF-8, so no label can be read from them "
                              f"(e.g. {shown}); rename them, or list them in a UTF-8 labels.csv with columns file,label")
    labels, unmatched = [], []
    for path in files:
        label = label_from_name(pattern, path.name)
        labels.append(label)
        if not label:
            unmatched.append(path.name)
    if unmatched:
        raise FolderDataError(f"{len(unmatched)} file name(s) give no label with data.label_pattern {label_pattern!r} "
                              f"(e.g. {', '.join(unmatched[:3])}); name files like LABEL.png or LABEL_anything.png, "
                              "or give a labels.csv with columns file,label")
    return LabeledImages(str(folder), tuple(p.name for p in files), tuple(labels))


def label_from_name(pattern: re.Pattern, name: str) -> str:
    """The label a file name gives: the pattern's first group (the whole match if it has none); '' for none."""
    match = pattern.search(name)
    return (match.group(1) or "") if match and match.groups() else match.group(0) if match else ""


def _is_utf8(name: str) -> bool:
    """False for a file name whose bytes were not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _from_csv(folder: Path, path: Path) -> LabeledImages:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
    except UnicodeDecodeError as error:
        raise FolderDataError(f"{path} is not UTF-8 text (byte {error.start}: {error.reason}); "
                              "save it as UTF-8 with columns file,label") from None
    if not rows or not {"file", "label"} <= set(rows[0]):
        raise FolderDataError(f"{path} needs a header with columns file,label and at least one row")
    labels_of: dict[str, set[str]] = {}
    for row in rows:
        labels_of.setdefault(row["file"], set()).add(row["label"])
    conflicting = sorted(name for name, labels in labels_of.items() if len(labels) > 1)
    if conflicting:
        raise FolderDataError(f"{path}: {len(conflicting)} file(s) are listed with different labels "
                              f"(e.g. {conflicting[0]}: {', '.join(sorted(labels_of[conflicting[0]]))}); give each file one label")
    if len(labels_of) < len(rows):  # the same row twice would put one image into train, validation and test
        seen: set[str] = set()
        rows = [row for row in rows if not (row["file"] in seen or seen.add(row["file"]))]
    missing = [row["file"] for row in rows if not (folder / row["file"]).is_file()]
    empty = [row["file"] for row in rows if not row["label"]]
    if missing or empty:
        raise FolderDataError(f"{path}: " + "; ".join(filter(None, [
            f"{len(missing)} listed file(s) do not exist (e.g. {', '.join(missing[:3])})" if missing else "",
            f"{len(empty)} row(s) have an empty label (e.g. {', '.join(empty[:3])})" if empty else ""])))
    return LabeledImages(str(folder), tuple(row["file"] for row in rows), tuple(row["label"] for row in rows))


def split(labeled: LabeledImages, val_fraction: float, test_fraction: float):
    """(train, validation, test) by one fixed seeded shuffle; each part gets at least one image."""
    count = len(labeled)
    n_val, n_test = max(1, round(count * val_fraction)), max(1, round(count * test_fraction))
    if count - n_val - n_test < 1:
        raise FolderDataError(f"{count} image(s) cannot be split into train/validation/test with fractions "
                              f"{val_fraction}/{test_fraction}: need at least 3 images and fractions summing below 1")
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    return (labeled.subset(order[n_val + n_test:]), labeled.subset(order[:n_val]),
            labeled.subset(order[n_val:n_val + n_test]))


INK_SAMPLE = 400  # images whose text box is measured for `ink-` fitting (decoding all of a large folder is slow)


@functools.lru_cache(maxsize=4)
def image_sizes(labeled: LabeledImages, resize: str = "stretch") -> np.ndarray:
    """width, height of every readable image (n x 2), from the file headers only (fast); for an `ink-`
    resize the sizes of the text boxes they are cropped to (images.ink_box), on an evenly spread sample."""
    from PIL import Image

    if resize.startswith("ink-"):
        return _ink_sample(labeled)[:, 2:]
    sizes = []
    for name in labeled.files:
        try:
            with Image.open(Path(labeled.root) / name) as image:
                sizes.append(image.size)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # reported per file when it is read for training
    return np.array(sizes or [(1, 1)], dtype=np.float64).reshape(-1, 2)


@functools.lru_cache(maxsize=4)
def _ink_sample(labeled: LabeledImages) -> np.ndarray:
    """For an evenly spread sample of INK_SAMPLE readable images: image width, height, then the width
    and height of its text box (images.ink_box; the whole image where no text stands out), n x 4.
    Decoding is the slow part, so the text share and the ink-fitted sizes share this one pass."""
    from PIL import Image

    step = max(1, len(labeled.files) // INK_SAMPLE)
    rows = []
    for name in labeled.files[::step]:
        try:
            with Image.open(Path(labeled.root) / name) as image:
                rgb = images.to_rgb(image)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # reported per file when it is read for training
        box = images.ink_box(rgb) or (0, 0, rgb.width, rgb.height)
        rows.append((rgb.width, rgb.height, box[2] - box[0], box[3] - box[1]))
    return np.array(rows or [(1, 1, 1, 1)], dtype=np.float64).reshape(-1, 4)


AUTO_RESIZE = "auto"  # data.resize: chosen from the folder's images (resize_for)
TEXT_SHARE_TO_CROP = 0.5  # below this share of the image, the text is cropped to (ink-pad); else the image is padded


def text_share(labeled: LabeledImages) -> float:
    """The median share of an image's area its text box takes (images.ink_box), on an evenly spread
    sample of INK_SAMPLE images; 1.0 where no text stands out."""
    sample = _ink_sample(labeled)  # canvas w, h, box w, h
    return float(np.median(sample[:, 2] * sample[:, 3] / (sample[:, 0] * sample[:, 1])))


def resize_for(labeled: LabeledImages) -> str:
    """`data.resize = "auto"`: "ink-pad" when the text takes under TEXT_SHARE_TO_CROP of the images
    (small text on a wide canvas: cropped to it, it arrives large), else "pad". On our sets (2026-12-05):
    wide-4k 20%, website-cm-8k 70%, captcha-8k 88%, pil-4k 90%."""
    return "ink-pad" if text_share(labeled) < TEXT_SHARE_TO_CROP else "pad"


ASPECT_PERCENTILE = 95  # auto width: wide enough for all but the widest 5% of the images at full height
WIDTH_STEP = 8


def choose_width(sizes: np.ndarray, height: int, output_steps: Callable[[int, int], int], max_length: int,
                 largest: int) -> int:
    """The input width for images of `sizes` fitted to `height`: their 95th-percentile aspect ratio,
    widened until the model emits 2 CTC steps per character of the longest label (`output_steps(width,
    height)`: the architecture's, zoo.models.architectures; ValueError when too small), at most `largest`."""
    aspect = float(np.percentile(sizes[:, 0] / sizes[:, 1], ASPECT_PERCENTILE))
    width = WIDTH_STEP * math.ceil(aspect * height / WIDTH_STEP)

    def steps(width: int) -> int:
        try:
            return output_steps(width, height)
        except ValueError:  # too small for the conv blocks
            return 0

    while width < largest and steps(width) < 2 * max_length:
        width += WIDTH_STEP
    return min(width, largest)


def summary(labeled: LabeledImages, data, parts: tuple[int, int, int], train: LabeledImages | None = None) -> str:
    """What was understood of a folder, for the user to check before any compute: the images, the
    labels, the input shape and the split (with `data.oversample`, how many of the `train` images it
    repeats), then warnings where the labels look wrong."""
    sizes = image_sizes(labeled, data.resize)
    lengths = [len(label) for label in labeled.labels]
    counts = collections.Counter(char for label in labeled.labels for char in label)
    examples = ", ".join(f"{name} -> {label!r}" for name, label in list(zip(labeled.files, labeled.labels))[:4])
    lines = [
        f"data: {len(labeled):,} labeled images in {labeled.root}",
        f"  labels: {len(counts)} characters {''.join(sorted(counts))!r}, lengths {min(lengths)}-{max(lengths)}; "
        f"e.g. {examples}",
        f"  {'text boxes (a sample)' if data.resize.startswith('ink-') else 'images'}: {int(sizes[:, 0].min())}-"
        f"{int(sizes[:, 0].max())} x {int(sizes[:, 1].min())}-{int(sizes[:, 1].max())} px "
        f"(width x height; median {int(np.median(sizes[:, 0]))} x {int(np.median(sizes[:, 1]))})",
        f"  text: its box takes a median {text_share(labeled):.0%} of an image (a sample; under "
        f"{TEXT_SHARE_TO_CROP:.0%}, data.resize = \"auto\" crops to it)",
        f"  input: {data.width} x {data.height} ({'cropped to the text, then ' if data.resize.startswith('ink-') else ''}"
        f"{'scaled to the height, aspect ratio kept, padded' if data.resize.endswith('pad') else 'stretched'}"
        f"{', width from the images' if data.auto_width else ''}); augmentation: {data.augment}"
        f"{f' ({data.augment_share:.0%} of the samples)' if data.augment_share < 1 else ''}",
        f"  split: {parts[0]:,} train / {parts[1]:,} validation / {parts[2]:,} test (fixed, seeded)",
    ]
    if data.oversample and train is not None:
        copies = oversample_copies(train.labels, data.oversample, int(data.oversample_factor))
        held, drawn = int(np.count_nonzero(copies > 1)), int(copies.sum())
        lines.append(f"  oversampled: {held:,} of the {len(train):,} training images hold one of {data.oversample!r}; each "
                     f"comes {int(data.oversample_factor)} times a pass, {held * int(data.oversample_factor) / drawn:.0%} of "
                     f"the samples (validation and test as they are)")
    return "\n".join(lines + [f"warning: {warning}" for warning in label_warnings(labeled)])


def summary_for(data) -> str:
    """The summary of a DataConfig whose source is `folder:PATH` (after zoo.config read the folder)."""
    labeled = scan(str(folder_path(data.source)), data.label_pattern)
    parts = split(labeled, data.val_fraction, data.test_fraction)
    return summary(labeled, data, tuple(len(part) for part in parts), train=parts[0])


def label_warnings(labeled: LabeledImages) -> list[str]:
    """Signs that the labels were read wrong or cannot be learned."""
    warnings = []
    labels = labeled.labels
    for name, common in (("starts", os.path.commonprefix(labels)), ("ends", os.path.commonprefix([l[::-1] for l in labels])[::-1])):
        if len(labels) > 1 and common:
            warnings.append(f"every label {name} with {common!r}: the file-name pattern probably reads too much "
                            "(set data.label_pattern, e.g. --set 'data.label_pattern=^([^-]+)', or give a labels.csv)")
    counts = collections.Counter(char for label in labels for char in label)
    rare = sorted(char for char, count in counts.items() if count < RARE_CHARACTER)
    if rare:
        warnings.append(f"characters seen fewer than {RARE_CHARACTER} times cannot be learned: {''.join(rare)!r} "
                        "(a typo in a label, or too few images)")
    return warnings


RARE_CHARACTER = 3


def check_labels(labeled: LabeledImages, charset: str) -> None:
    outside = sorted({char for label in labeled.labels for char in label} - set(charset))
    if outside:
        raise FolderDataError(f"labels use characters outside data.charset {charset!r}: {''.join(outside)!r}; "
                              "leave data.charset unset to infer it from the labels, or add them")


def oversample_copies(labels: list[str], characters: str, factor: int) -> np.ndarray:
    """How many times a pass draws each image (`data.oversample`): `factor` for a label holding one of
    `characters`, else once (once each when `characters` is empty)."""
    chosen = set(characters)
    return np.array([factor if chosen & set(label) else 1 for label in labels], dtype=np.int64)


@dataclass(frozen=True)
class FolderSource:
    """Labeled images as an index-addressed stream (seed) or in folder order (seed None)."""

    images: LabeledImages
    charset: str
    max_length: int
    width: int
    height: int
    seed: int | None
    resize: str = "stretch"  # zoo.data.images.fit
    # training only (`data.oversample`): an image whose label holds one of these characters comes
    # `oversample_factor` times a pass instead of once (e.g. "O0", 4: the pair a reader confuses most)
    oversample: str = ""
    oversample_factor: int = 1

    def cache_key(self) -> dict:
        key = {"folder": self.images.digest(), "count": len(self.images), "charset": self.charset,
               "max_length": self.max_length, "width": self.width, "height": self.height, "seed": self.seed,
               "resize": self.resize}
        if self.oversample:  # only when set, so the keys of sets cached before it stay valid
            key.update(oversample=self.oversample, oversample_factor=self.oversample_factor)
        return key

    @functools.cached_property
    def pass_images(self) -> np.ndarray:
        """The image indices one pass over the folder draws, in folder order: each image once, an
        oversampled one `oversample_factor` times."""
        copies = oversample_copies(self.images.labels, self.oversample, self.oversample_factor)
        return np.repeat(np.arange(len(self.images)), copies)

    def sample(self, index: int, text: str | None = None) -> tuple[np.ndarray, str]:
        drawn = self.pass_images
        epoch, position = divmod(index, len(drawn))
        chosen = position if self.seed is None else int(drawn[_permutation(len(drawn), self.seed, epoch)[position]])
        path = Path(self.images.root) / self.images.files[chosen]
        try:
            return _fitted_cache.fitted(path, self.height, self.width, self.resize), self.images.labels[chosen]  # height x width x 3
        except (images.ImageError, OSError) as error:
            raise FolderDataError(f"{path}: {error} (remove or fix the file)") from None

    def batch(self, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        from zoo.data.stream import stack_samples

        return stack_samples(self, start, size)


class _FittedCache:
    """The images this process has fitted, (path, height, width, resize) -> height x width x 3 uint8, kept
    while they stay under fitted_cache_bytes() (read-only: a caller that would change one gets an error
    instead of a wrong next pass)."""

    def __init__(self):
        self.images: dict[tuple, np.ndarray] = {}
        self.bytes = 0

    def fitted(self, path: Path, height: int, width: int, resize: str) -> np.ndarray:
        key = (str(path), height, width, resize)
        image = self.images.get(key)
        if image is None:
            image = images.adapt(path, height, width, resize)  # height x width x 3
            if self.bytes + image.nbytes <= fitted_cache_bytes():
                image.setflags(write=False)
                self.images[key] = image
                self.bytes += image.nbytes
        return image


_fitted_cache = _FittedCache()


def fitted_cache_bytes() -> int:
    text = os.environ.get("ZOO_FITTED_CACHE_MB", str(FITTED_CACHE_MB))
    try:
        megabytes = float(text)
    except ValueError:
        raise FolderDataError(f"ZOO_FITTED_CACHE_MB={text!r} is not a number of megabytes (0 turns the cache off)") from None
    return int(max(megabytes, 0) * 2**20)


@functools.lru_cache(maxsize=16)
def _permutation(count: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(count)
