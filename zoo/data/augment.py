"""Augmentation for text captchas: what a small folder of real images needs so as not to be memorized.

`augment(image, rng)` returns a new uint8 height x width x 3 image of the same size: a small affine
warp (rotation, shear, scale, shift, keeping the text inside), colour and contrast jitter (a channel
swap included, so a colour is not learned as part of a glyph), sometimes blur, pixel noise and thin
noise lines. Every draw comes from `rng`, which the training stream seeds with (seed, sample index):
sample i is augmented the same way however often a run is resumed. Pure PIL + NumPy, no Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from zoo.data.images import background, ink_box

AUGMENTS = ("none", "text")  # data.augment
AUGMENT_STREAM = 1  # keeps these draws apart from any other seeded by (seed, index)
ROTATION_DEGREES = 4.0
SHEAR = 0.25  # x shift per unit of y, either way (italic-like slant)
SCALE = (0.88, 1.06)
SHIFT = 0.04  # of the width / height, either way
JITTER = (0.7, 1.3)  # brightness and contrast factors


@dataclass(frozen=True)
class AugmentedSource:
    """A training source whose sample i is augmented by draws seeded with (seed, i): the same on every
    pass through `sample(i)`, so a resumed run sees exactly the images it would have seen."""

    source: Any  # any index-addressed source: sample(i), width, height, charset, max_length
    seed: int
    share: float = 1.0  # of the samples, the share augmented (drawn per sample; the rest come as they are)

    def __getattr__(self, name: str):  # width, height, charset, max_length, images... of the source
        if name.startswith("__") or name == "source":  # (no source yet while unpickling)
            raise AttributeError(name)
        return getattr(self.source, name)

    def sample(self, index: int, text: str | None = None) -> tuple[np.ndarray, str]:
        image, label = self.source.sample(index, text)
        rng = np.random.default_rng([self.seed, index, AUGMENT_STREAM])
        if self.share < 1 and rng.random() >= self.share:  # (at 1, no draw: the stream stays as it was)
            return image, label
        return augment(image, rng), label

    def batch(self, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        from zoo.data.stream import stack_samples

        return stack_samples(self, start, size)

    def cache_key(self) -> dict:
        share = {"augment_share": self.share} if self.share < 1 else {}  # (keys as they were at 1)
        return {**self.source.cache_key(), "augment": "text", "augment_seed": self.seed, **share}


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of an RGB uint8 image (height x width x 3 -> height x width x 3)."""
    picture = Image.fromarray(image)
    fill = background(picture)
    picture = _warp(picture, rng, fill)
    picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(*JITTER))
    picture = ImageEnhance.Contrast(picture).enhance(rng.uniform(*JITTER))
    if rng.random() < 0.3:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.5:
        picture = _noise_lines(picture, rng)
    array = np.asarray(picture, dtype=np.int16)  # height x width x 3
    if rng.random() < 0.3:
        array = array[..., rng.permutation(3)]  # the same text in other colours
    if rng.random() < 0.3:
        array = array + rng.normal(0.0, rng.uniform(2.0, 10.0), array.shape).astype(np.int16)
    return np.clip(array, 0, 255).astype(np.uint8)


def _warp(picture: Image.Image, rng: np.random.Generator, fill: tuple[int, int, int]) -> Image.Image:
    """Rotate, shear, scale and shift about the text's centre (one affine map; the uncovered border is
    `fill`), the shift and, where needed, the scale held so the text's box stays in the frame: text
    fitted tight to one side (`ink-pad`, `pad`) would otherwise lose its first or last glyph while
    its label keeps them."""
    width, height = picture.size
    angle = math.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    shear, scale = rng.uniform(-SHEAR, SHEAR), rng.uniform(*SCALE)
    shift_x, shift_y = rng.uniform(-SHIFT, SHIFT) * width, rng.uniform(-SHIFT, SHIFT) * height
    left, top, right, bottom = ink_box(picture) or (0, 0, width, height)
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    # the forward map is R Sh S: how far the box's corners reach from its centre, per unit of scale
    cos, sin = math.cos(angle), math.sin(angle)
    half_w, half_h = (right - left) / 2, (bottom - top) / 2
    reach_x = abs(cos) * half_w + abs(cos * shear - sin) * half_h
    reach_y = abs(sin) * half_w + abs(sin * shear + cos) * half_h
    scale = min(scale, width / (2 * reach_x) if reach_x else scale, height / (2 * reach_y) if reach_y else scale)
    shift_x = _within(centre_x + shift_x, scale * reach_x, width) - centre_x
    shift_y = _within(centre_y + shift_y, scale * reach_y, height) - centre_y
    # output pixel (x, y) samples input (a x + b y + c, d x + e y + f): the inverse of
    # translate(centre + shift) . rotate . shear . scale . translate(-centre)
    cos, sin = cos / scale, sin / scale
    a, b = cos + shear * sin, sin - shear * cos  # (R Sh S)^-1 = S^-1 Sh^-1 R^-1
    d, e = -sin, cos
    out_x, out_y = centre_x + shift_x, centre_y + shift_y
    c = centre_x - a * out_x - b * out_y
    f = centre_y - d * out_x - e * out_y
    return picture.transform(picture.size, Image.Transform.AFFINE, (a, b, c, d, e, f),
                             resample=Image.Resampling.BILINEAR, fillcolor=fill)


def _within(centre: float, reach: float, size: int) -> float:
    """`centre` moved as little as needed for [centre - reach, centre + reach] to lie in [0, size]."""
    return min(max(centre, reach), size - reach) if 2 * reach <= size else size / 2


def _noise_lines(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """1-3 thin lines across the image in random colours."""
    picture = picture.copy()
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    for _ in range(int(rng.integers(1, 4))):
        start = (0, float(rng.uniform(0, height)))
        end = (width, float(rng.uniform(0, height)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.line([start, end], fill=colour, width=int(rng.integers(1, 3)))
    return picture
