"""Captchas from generators unlike ours (Pillow's own fonts, not the `captcha` package), drawn as a
labeled folder (the command: python -m zoo.pil_captchas, zoo.commands.pil_captchas) or as an
endless seeded stream (`data.source = "pil:STYLE"`, PilSource). Ten styles, all seeded:
plain, distorted, website, website-cm, captcha, wide, wide-hollow, mix, mix-hollow and mix-varied; the command's
--help describes each."""

from __future__ import annotations

import csv
import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import captcha
import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from zoo.data.source_names import PIL_PREFIX, PIL_STYLES
from zoo.data import images

STYLES, PREFIX = PIL_STYLES, PIL_PREFIX  # data.source = "pil:website": an endless seeded stream of these images (PilSource)


def label_name(label: str, index: int) -> str:
    return f"{label}_{index:04d}.png"


def _plain(rng: np.random.Generator, label: str, fit: bool = False) -> Image.Image:
    """`fit`: the image widened where the text would not fit (long labels in the mix)."""
    width, height = int(rng.integers(90, 160)), int(rng.integers(36, 60))
    font = ImageFont.load_default(size=int(height * 0.6))
    if fit:
        width = max(width, int(font.getlength(label)) + 16)
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(image)
    draw.text((int(rng.integers(2, 12)), int(rng.integers(0, 8))), label, fill=(20, 20, 80), font=font)
    for _ in range(3):
        draw.line([tuple(int(v) for v in rng.integers(0, (width, height))) for _ in range(2)], fill=(120, 120, 120))
    return image


def _distorted(rng: np.random.Generator, label: str, grow: bool = False) -> Image.Image:
    """`grow`: the width grows with the text (28-43 px a character) instead of 140-219 px for any length."""
    width, height = int(rng.integers(140, 220)), int(rng.integers(48, 72))
    if grow:
        width = int(rng.integers(28, 44)) * len(label) + 16
    background = tuple(int(v) for v in rng.integers(190, 256, 3))
    image = Image.new("RGB", (width, height), background)
    step = (width - 16) / len(label)  # the characters share the width; rotation makes them overlap
    for position, char in enumerate(label):
        size = int(height * rng.uniform(0.5, 0.75))
        tile = Image.new("L", (size * 2, size * 2), 0)  # a mask: the character, rotated, pasted in colour
        ImageDraw.Draw(tile).text((size // 2, size // 3), char, fill=255, font=ImageFont.load_default(size=size))
        tile = tile.rotate(float(rng.uniform(-30, 30)), resample=Image.Resampling.BICUBIC)
        colour = tuple(int(v) for v in rng.integers(0, 120, 3))
        x = int(8 + position * step + rng.uniform(-0.15, 0.15) * step - size / 2)
        y = int((height - 2 * size) / 2 + rng.uniform(-0.12, 0.12) * height)
        image.paste(colour, (x, y), tile)
    draw = ImageDraw.Draw(image)
    for _ in range(2):
        box = sorted(rng.integers(0, width, 2)), sorted(rng.integers(0, height, 2))
        draw.arc([(int(box[0][0]), int(box[1][0])), (int(box[0][1]) + 8, int(box[1][1]) + 8)],
                 int(rng.integers(0, 180)), int(rng.integers(180, 360)), fill=tuple(int(v) for v in rng.integers(0, 140, 3)), width=2)
    pixels = np.asarray(image).copy()  # height x width x 3
    speckle = rng.random((height, width)) < 0.04
    pixels[speckle] = rng.integers(0, 256, (int(speckle.sum()), 3))
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(0.6))


@functools.cache
def fonts() -> tuple[str, ...]:
    """Font files that ship with the required packages (matplotlib's DejaVu and STIX text faces, the
    captcha package's DroidSansMono), so a seed draws the same images on every machine."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = sorted(p for p in folder.glob("*.ttf") if p.name.startswith(("DejaVuSans", "DejaVuSerif", "STIXGeneral"))
                   and "Display" not in p.name)
    return tuple(map(str, faces)) + (str(Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf"),)


@functools.cache
def unseen_fonts() -> tuple[str, ...]:
    """matplotlib's Computer Modern text faces: none of them is among `fonts()`, the head start's."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return tuple(str(folder / f"{name}.ttf") for name in ("cmr10", "cmss10", "cmtt10", "cmb10", "cmti10"))


@functools.lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _glyph_mask(char: str, font: ImageFont.FreeTypeFont, size: int, outline: int = 0) -> Image.Image:
    """A (2 size) x (2 size) mask of `char`: filled, or with `outline` > 0 hollow, its outline `outline`
    px wide and the inside left empty (hollow faces of site captchas)."""
    tile = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(tile)
    draw.text((size // 2, size // 3), char, fill=255, font=font, stroke_width=outline, stroke_fill=255)
    if outline:
        draw.text((size // 2, size // 3), char, fill=0, font=font)  # the inside cut out again
    return tile


def _vary_face(rng: np.random.Generator, tile: Image.Image) -> Image.Image:
    """A glyph mask as another face might draw it: narrower or wider (0.7-1.35 of its width), slanted
    either way (a shear of up to 0.3: italic, back-slanted), and a third of the time bolder (a 3-px
    maximum filter; not lighter: a minimum filter erased thin serifs and small glyphs). Our faces are
    fifteen; real sites draw in any (issue 35), and unseen faces cost the head start 7.6 points
    (`folder-mix-hollow` read 94.3% of 1,000 fresh pil:website captchas, 86.7% of pil:website-cm, 2026-12-07)."""
    scale, shear, bold = float(rng.uniform(0.7, 1.35)), float(rng.uniform(-0.3, 0.3)), rng.random() < 1 / 3
    width, height = tile.size  # 2 size x 2 size
    tile = tile.resize((max(1, round(width * scale)), height), Image.Resampling.BICUBIC)  # height x (width * scale)
    # output x, y reads input x + shear * y + offset: every row shifted in proportion to its height
    tile = tile.transform((tile.width + int(abs(shear) * height), height), Image.Transform.AFFINE,
                          (1, shear, -max(shear, 0.0) * height, 0, 1, 0), resample=Image.Resampling.BICUBIC)
    return tile.filter(ImageFilter.MaxFilter(3)) if bold else tile


def _website(rng: np.random.Generator, label: str, faces: tuple[str, ...] | None = None,
             sizes: tuple[int, int] = (34, 56), wide: bool = False, hollow: float = 0.0,
             vary: bool = False) -> Image.Image:
    """A generic website captcha: each character in its own font (of `faces`, default `fonts()`),
    size (`sizes`, pixels) and strong colour, slightly rotated, on a near-white background 80 px high
    whose width grows with the text (about 150-700 px), crossed by thin lines in random colours.
    `wide`: the text (small `sizes`) somewhere on a canvas 140-780 px wide, most of it empty.
    `hollow`: the share of characters drawn as their outline (1-2 px) instead of filled; at 0 the
    random draws are those of before it existed, so the other styles' seeds draw the same images.
    `vary`: each glyph reshaped as another face might draw it (_vary_face); off, the draws are as before."""
    height = 80
    faces = faces or fonts()
    glyphs, width = [], int(rng.integers(8, 30))
    for char in label:
        size = int(rng.integers(*sizes))
        font = _font(faces[int(rng.integers(len(faces)))], size)
        outline = int(rng.integers(1, 3)) if hollow and rng.random() < hollow else 0
        tile = _glyph_mask(char, font, size, outline)  # a mask: the character, rotated, pasted in colour
        if vary:
            tile = _vary_face(rng, tile)
        tile = tile.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BICUBIC)
        box = tile.getbbox() or (0, 0, 1, 1)
        tile = tile.crop(box)
        hue_colour = np.array(Image.new("HSV", (1, 1), (int(rng.integers(0, 256)), int(rng.integers(140, 256)),
                                                        int(rng.integers(60, 200)))).convert("RGB"))[0, 0]
        glyphs.append((tile, tuple(int(v) for v in hue_colour), width))
        width += tile.width + int(rng.integers(2, 30))
    width += int(rng.integers(8, 30))
    shift = 0
    if wide:  # the same text on a canvas mostly empty: where it lies, and how wide the canvas is, vary
        canvas = int(min(780, max(140, width + rng.integers(40, 520))))
        shift, width = int(rng.integers(0, max(1, canvas - width))), max(canvas, width)
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(236, 256, 3)))
    for tile, colour, x in glyphs:
        y = int((height - tile.height) / 2 + rng.uniform(-0.12, 0.12) * height)
        image.paste(colour, (x + shift, max(0, min(height - tile.height, y))), tile)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        ends = [(0, int(rng.integers(0, height))), (width, int(rng.integers(0, height)))]
        draw.line(ends, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=int(rng.integers(1, 3)))
    return image


def _captcha_package(rng: np.random.Generator, label: str, height: int = 60) -> Image.Image:
    """The `captcha` package's own drawing (its font, warped coloured glyphs, a noise curve and dots)
    at a width that grows with the text, `height` px high (60: the `captcha` style): the reference's
    generator, sized like a site's."""
    from zoo.data.stream import CaptchaSource

    width = round((28 * len(label) + int(rng.integers(10, 50))) * height / 60)
    source = CaptchaSource(label, len(label), len(label), width, height, int(rng.integers(2**31)))
    return Image.fromarray(source.sample(0, text=label)[0])


def _wide(rng: np.random.Generator, label: str, hollow: float = 0.0) -> Image.Image:
    """Small text (16-26 px) in every face we have on a wide canvas with lines across: generic site
    captchas; `hollow`: the share of its characters outlined (issue 35's real set has such faces)."""
    return _website(rng, label, (*fonts(), *unseen_fonts()), sizes=(16, 27), wide=True, hollow=hollow)


DRAWERS = {"plain": _plain, "distorted": _distorted, "website": _website,
           "website-cm": lambda rng, label: _website(rng, label, unseen_fonts()), "captcha": _captcha_package,
           "wide": _wide, "wide-hollow": lambda rng, label: _wide(rng, label, hollow=0.5)}
# The broad mix a head start learns from (issue 35; `data.source = "pil:mix"`): each image drawn by one
# of these, chosen at random. Never in Computer Modern, so website-cm stays a set of fonts it never saw.
MIX = (lambda rng, label: _plain(rng, label, fit=True), lambda rng, label: _distorted(rng, label, grow=True), _website,
       lambda rng, label: _captcha_package(rng, label, int(rng.integers(50, 101))),  # the package at 50-100 px high
       lambda rng, label: _website(rng, label, sizes=(16, 27), wide=True))


# `pil:mix-hollow`: the mix with two more layouts, website and wide with about half their characters
# hollow (outlined), which no head start trained on `pil:mix` has seen (it reads 11.75% of wide-hollow-4k
# zero-shot against 90.00% of wide-4k). A style of its own, so `pil:mix` draws what it always drew.
MIX_HOLLOW = MIX + (lambda rng, label: _website(rng, label, hollow=0.5),
                    lambda rng, label: _website(rng, label, sizes=(16, 27), wide=True, hollow=0.5))


# `pil:mix-varied`: mix-hollow with four more layouts, website and wide, filled and about half hollow,
# whose glyphs are reshaped as other faces would draw them (_vary_face: width, slant, weight), so a head
# start meets more shapes of each character than our fifteen faces draw. Still never Computer Modern.
MIX_VARIED = MIX_HOLLOW + tuple(
    functools.partial(_website, sizes=sizes, wide=wide, hollow=hollow, vary=True)
    for sizes, wide in (((34, 56), False), ((16, 27), True)) for hollow in (0.0, 0.5))


def _mix_of(drawers: tuple) -> Callable[[np.random.Generator, str], Image.Image]:
    return lambda rng, label: drawers[int(rng.integers(len(drawers)))](rng, label)


DRAWERS["mix"], DRAWERS["mix-hollow"], DRAWERS["mix-varied"] = _mix_of(MIX), _mix_of(MIX_HOLLOW), _mix_of(MIX_VARIED)


@dataclass(frozen=True)
class PilSource:
    """An endless, index-addressed stream of one style's labeled images (`data.source = "pil:STYLE"`),
    fitted to width x height like any image (zoo.data.images.fit): a synthetic set to pre-train on."""

    style: str
    charset: str
    min_length: int
    max_length: int
    width: int
    height: int
    seed: int
    resize: str = "pad"

    def sample(self, index: int, text: str | None = None) -> tuple[np.ndarray, str]:
        rng = np.random.default_rng([self.seed, index % 2**64])  # (index -1: the argmax plot's extra sample)
        label = text or "".join(rng.choice(list(self.charset), int(rng.integers(self.min_length, self.max_length + 1))))
        return np.asarray(images.fit(DRAWERS[self.style](rng, label), self.height, self.width, self.resize)), label

    def batch(self, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        from zoo.data.stream import stack_samples

        return stack_samples(self, start, size)

    def cache_key(self) -> dict:
        return {**asdict(self), "pil": PIL.__version__, "fonts": [Path(face).name for face in fonts()]}


def draw_folder(folder: str | Path, count: int, lengths: tuple[int, int] = (2, 4), charset: str = "ABC123",
                seed: int = 0, style: str = "plain",
                name: Callable[[str, int], str] | None = label_name, labels_csv: bool = False) -> list[str]:
    """Draw `count` labeled images into `folder`; returns the labels in drawing order.
    `name(label, index)` names the files; with `labels_csv` the labels also go into labels.csv."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; styles: {', '.join(STYLES)}")
    if not 1 <= lengths[0] <= lengths[1]:
        raise ValueError(f"lengths must be 1 <= shortest <= longest, got {lengths[0]}-{lengths[1]}")
    if count < 1 or not charset:
        raise ValueError(f"need count >= 1 and a non-empty charset, got {count} and {charset!r}")
    drawer = DRAWERS[style]
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        label = "".join(rng.choice(list(charset), rng.integers(lengths[0], lengths[1] + 1)))
        file = name(label, index)
        drawer(rng, label).save(folder / file)
        rows.append((file, label))
    if labels_csv:
        with open(folder / "labels.csv", "w", newline="") as handle:
            csv.writer(handle).writerows([("file", "label"), *rows])
    return [label for _, label in rows]
