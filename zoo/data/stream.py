"""Seeded, reproducible captchas: a source, a parallel batch stream, and cached eval splits.

`captcha` (>= 0.5) draws every random choice from the module `secrets`, which cannot be seeded.
`CaptchaSource.sample(i)` swaps in a `random.Random` seeded by (seed, i) for the duration of
one drawing, so the same (seed, index) gives the same image and label in any process, and
every architecture in a comparison sees the identical sample stream.

This module imports no Keras or TensorFlow: worker processes stay light.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import hashlib
import json
import multiprocessing
import os
import random
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import captcha
import captcha.image
import numpy as np

from zoo.data import images
from zoo.machine import processes
from zoo.data.labels import PAD

FORMAT_VERSION = 1  # bump when the drawing of a (seed, index) changes: invalidates cached splits
_SWAP_LOCK = threading.Lock()


class _SeededSecrets(random.Random):
    """The slice of the `secrets` API that captcha uses, driven by a seeded generator."""

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self.randrange(exclusive_upper_bound)

    def randbits(self, k: int) -> int:
        return self.getrandbits(k)


@functools.lru_cache(maxsize=8)
def _drawer(width: int, height: int) -> captcha.image.ImageCaptcha:
    return captcha.image.ImageCaptcha(width=width, height=height)


@functools.lru_cache(maxsize=1)
def _shared_fonts() -> list:
    return captcha.image.ImageCaptcha().truefonts


class _SizedDrawer(captcha.image.ImageCaptcha):
    """A drawer of one of many sizes (data.draw_sizes) that shares the default fonts instead of loading
    them again: creating one per sample costs nothing."""

    @property
    def truefonts(self) -> list:
        return _shared_fonts()


@dataclass(frozen=True)
class CaptchaSource:
    """An endless, index-addressed stream of labeled captchas."""

    charset: str
    min_length: int
    max_length: int
    width: int
    height: int
    seed: int
    weights: tuple[float, ...] = ()  # relative draw weight of each charset character; () = uniform
    # (width min, max, height min, max) to draw each image at before fitting it to width x height
    # (config.draw_size_ranges); () = drawn at width x height
    draw_sizes: tuple[int, ...] = ()
    resize: str = "stretch"  # how a drawing of another size is fitted (zoo.data.images.fit)

    @classmethod
    def from_config(cls, data, seed: int, oversampled: bool = False) -> "CaptchaSource":
        """The source of a DataConfig; `oversampled` (training only) applies its `oversample` weights
        and its `draw_sizes`."""
        weights, draw_sizes = (), ()
        if oversampled and data.oversample:
            weights = tuple(data.oversample_factor if char in data.oversample else 1.0 for char in data.charset)
        if oversampled and data.draw_sizes:
            draw_sizes = images.draw_size_ranges(data.draw_sizes)
        return cls(data.charset, data.min_length, data.max_length, data.width, data.height, seed, weights,
                   draw_sizes, data.resize)

    def text(self, index: int) -> str:
        return self._label(self._rng(index))

    def sample(self, index: int, text: str | None = None) -> tuple[np.ndarray, str]:
        """Image (height x width x 3, uint8) and label of sample `index`; `text` forces the label."""
        rng = self._rng(index)
        label = self._label(rng)
        label = label if text is None else text
        drawer = _drawer(self.width, self.height)
        if self.draw_sizes:  # drawn after the label: the labels are those of the same source without sizes
            width_min, width_max, height_min, height_max = self.draw_sizes
            drawer = _SizedDrawer(width=rng.randint(width_min, width_max), height=rng.randint(height_min, height_max))
        with _SWAP_LOCK:  # the swap is global to the captcha module: one drawing at a time
            original, captcha.image.secrets = captcha.image.secrets, rng
            try:
                image = drawer.generate_image(label).convert("RGB")
            finally:
                captcha.image.secrets = original
        if image.size != (self.width, self.height):
            image = images.fit(image, self.height, self.width, self.resize)  # as a reader fits a user's image
        return np.asarray(image, dtype=np.uint8), label

    def batch(self, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        return stack_samples(self, start, size)

    def cache_key(self) -> dict:
        key = asdict(self)
        if not self.weights:  # uniform sources keep the keys their cached splits were written under
            del key["weights"]
        if not self.draw_sizes:  # so do sources drawn at their own size
            del key["draw_sizes"], key["resize"]
        return key

    def _label(self, rng: random.Random) -> str:
        length = rng.randint(self.min_length, self.max_length)
        if self.weights:
            return "".join(rng.choices(self.charset, weights=self.weights, k=length))
        return "".join(rng.choice(self.charset) for _ in range(length))  # the uniform draw of every earlier run

    def _rng(self, index: int) -> _SeededSecrets:
        return _SeededSecrets(f"captcha-zoo/{FORMAT_VERSION}/{self.seed}/{index}")


def stack_samples(source, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples start..start+size-1 of any source (`sample(i)`, height, width, charset, max_length):
    images (size x H x W x 3, uint8) and labels (size x max_length, PAD-padded)."""
    images = np.empty((size, source.height, source.width, 3), dtype=np.uint8)
    labels = np.full((size, source.max_length), PAD, dtype=np.int32)
    class_of = {char: i + 1 for i, char in enumerate(source.charset)}
    for row in range(size):
        images[row], text = source.sample(start + row)
        labels[row, : len(text)] = [class_of[char] for char in text]
    return images, labels


def source_for(data, split: str, seed: int = 0):
    """The source of `split` ("train", "val" or "test") for a DataConfig: generated captchas, or
    the labeled images of `data.source = "folder:PATH"` (zoo.data.folder_data); the training stream
    augmented when `data.augment` asks for it (zoo.data.augment)."""
    source = _plain_source(data, split, seed)
    if split == "train" and data.augment != "none":  # validation and test images stay as they are
        from zoo.data.augment import AugmentedSource

        return AugmentedSource(source, seed, data.augment_share)
    return source


def _plain_source(data, split: str, seed: int):
    from zoo.data import folder_data

    seeds = {"train": seed, "val": data.val_seed, "test": data.test_seed}
    if data.source.startswith("pil:"):
        from zoo.data.pil_captchas import PilSource

        return PilSource(data.source.removeprefix("pil:"), data.charset, data.min_length, data.max_length,
                         data.width, data.height, seeds[split], data.resize)
    root = folder_data.folder_path(data.source)
    if root is None:
        return CaptchaSource.from_config(data, seeds[split], oversampled=split == "train")
    parts = dict(zip(("train", "val", "test"), folder_data.split(folder_data.scan(str(root), data.label_pattern),
                                                               data.val_fraction, data.test_fraction)))
    oversampled = {"oversample": data.oversample, "oversample_factor": int(data.oversample_factor)} if split == "train" else {}
    return folder_data.FolderSource(parts[split], data.charset, data.max_length, data.width, data.height,
                                    seed if split == "train" else None, data.resize, **oversampled)


def _render_batch(source: CaptchaSource, batch_index: int, batch_size: int):
    return source.batch(batch_index * batch_size, batch_size)


def default_workers() -> int:
    return processes.cores()


class BatchStream:
    """Batches `start_batch, start_batch+1, ...` of a source, drawn in worker processes.

    Batch b holds samples b*batch_size .. (b+1)*batch_size-1, so a run resumed at epoch e
    continues with exactly the batches it would have seen. At most `prefetch` batches are
    in flight, so memory stays bounded however fast the workers are. `workers=0` draws in
    this process. Use as a context manager so the workers are shut down.
    """

    def __init__(self, source: CaptchaSource, batch_size: int, start_batch: int = 0,
                 stop_batch: int | None = None, workers: int = 0, prefetch: int = 8):
        self.source, self.batch_size = source, batch_size
        self.start_batch, self.stop_batch = start_batch, stop_batch
        self.prefetch = max(prefetch, workers, 1)
        self._pool = None
        if workers > 0:
            context = multiprocessing.get_context("spawn")  # never fork a process holding TF threads
            self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                                initializer=processes.data_worker,
                                                                initargs=(os.getpid(),))

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        indices = iter(range(self.start_batch, self.stop_batch)) if self.stop_batch is not None else _count(self.start_batch)
        if self._pool is None:
            for index in indices:
                yield _render_batch(self.source, index, self.batch_size)
            return
        pending: collections.deque = collections.deque()
        for index in indices:
            with processes.sigint_blocked_in_children():  # a worker may be spawned here
                pending.append(self._pool.submit(_render_batch, self.source, index, self.batch_size))
            if len(pending) >= self.prefetch:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "BatchStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _count(start: int) -> Iterator[int]:
    while True:
        yield start
        start += 1


def render(source: CaptchaSource, count: int, workers: int = 0, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` samples of `source` as (images, labels)."""
    batch_size = min(batch_size, count)
    batches = -(-count // batch_size)
    with BatchStream(source, batch_size, stop_batch=batches, workers=workers) as stream:
        parts = list(stream)
    images = np.concatenate([images for images, _ in parts])[:count]
    labels = np.concatenate([labels for _, labels in parts])[:count]
    return images, labels


def cache_dir() -> Path:
    """The zoo's cache (test sets, converted models): $ZOO_CACHE_DIR, else $XDG_CACHE_HOME/captcha-zoo,
    else ~/.cache/captcha-zoo."""
    if os.environ.get("ZOO_CACHE_DIR"):
        return Path(os.environ["ZOO_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "captcha-zoo"


def cached_split(source: CaptchaSource, count: int, workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`render(source, count)`, generated once and kept on disk (written atomically)."""
    key = {"source": source.cache_key(), "count": count, "format": FORMAT_VERSION, "captcha": captcha.__version__}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"split-{source.seed}-{count}-{digest}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["images"], stored["labels"]
    images, labels = render(source, count, workers=workers)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(partial, images=images, labels=labels)
    os.replace(partial, path)
    return images, labels
