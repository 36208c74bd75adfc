"""Any image a user has -> the uint8 height x width x 3 array a zoo model was trained on.

Files, encoded bytes, base64 text and arrays of any size and mode (grayscale, RGBA, palette,
16-bit) are adapted the same way everywhere (`zoo.predict`, `zoo.load(...).predict`, the served
MLflow model): decoded fully (a truncated file is an error, not a half-grey image), transparency
flattened onto white like the captcha background, converted to RGB and fitted to the model's
input size: stretched to it (`resize = "stretch"`, the reference's generated captchas), or scaled
to its height keeping the aspect ratio and padded on the right with the image's background colour
(`"pad"`, for real captchas whose width grows with the text), or kept at the drawing's own pixel
scale and centred (`"keep"`, for the `captcha` package drawn at another size). Nothing here imports Keras.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# how an image is fitted to the model's input size (the model's metadata says which): stretched, or
# scaled to the height and padded; "ink-" first crops it to its text (crop_to_ink), so text that fills
# a small part of a wide canvas arrives large; "keep" keeps the drawing's pixel scale (fit_keeping_scale)
RESIZES = ("stretch", "pad", "ink-stretch", "ink-pad", "keep")
SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
Image.MAX_IMAGE_PIXELS = 50_000_000  # a decompression bomb is refused, not decoded


class ImageError(ValueError):
    """This input is not an image the zoo can read; says what was wrong."""


def image_files(paths: list[str | Path]) -> tuple[list[Path], dict[str, str]]:
    """Expand files and folders (non-recursive, sorted) into image files; errors per bad path."""
    files, errors = [], {}
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                errors[str(path)] = f"folder has no image files ({', '.join(SUFFIXES)})"
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            errors[str(path)] = "no such file or folder"
    return files, errors


def decode(data: bytes | str | Path, text_paths: bool = False) -> Image.Image:
    """A fully decoded PIL image from a path, encoded bytes, or base64 text of encoded bytes; with
    `text_paths` (local callers, never a served model: a client must not name the server's files),
    text naming an existing file is that file."""
    if isinstance(data, str) and text_paths and _is_file(data):
        data = Path(data)
    if isinstance(data, Path):
        data = data.read_bytes()
    elif isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            if not text_paths:
                raise ImageError("text input is not base64 of an image file") from None
            what = "no such file" if Path(data).suffix.lower() in SUFFIXES else "not base64 of an image file"
            raise ImageError(f"text input {data[:60]!r} is neither the path of a file nor base64 of an image "
                             f"file ({what})") from None
    if not data:
        raise ImageError("empty input (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # decodes now: truncated or corrupt data fails here
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (unrecognised format; accepted: {', '.join(SUFFIXES)})") from None
    except Image.DecompressionBombError as error:
        raise ImageError(f"image too large: {error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"corrupt or truncated image: {error}") from None
    return image


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # too long for a file name (base64 of an image), or a NUL in it
        return False


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode -> RGB; transparent pixels become white (the captcha background)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey -> 8-bit, keeping the range
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        image = Image.fromarray((array * (255.0 / top)).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def from_array(array: np.ndarray) -> Image.Image:
    """height x width, height x width x 1/3/4 arrays (uint8, or floats in [0, 1]) -> PIL image."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]  # h x w x 1 -> h x w
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageError(f"array of shape {array.shape} is not an image: expected height x width "
                         "or height x width x 1, 3 or 4")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number) or array.size == 0:
            raise ImageError(f"array of dtype {array.dtype} is not an image: expected uint8 or floats in [0, 1]")
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def adapt(item: bytes | str | Path | np.ndarray | Image.Image, height: int, width: int,
          resize: str = "stretch", text_paths: bool = True) -> np.ndarray:
    """One input of any accepted kind -> uint8 height x width x 3 (text: a file's path, else base64;
    `text_paths=False`, as the served model does: base64 only)."""
    if isinstance(item, Image.Image):
        image = item
    elif isinstance(item, np.ndarray):
        image = from_array(item)
    elif isinstance(item, (bytes, bytearray, memoryview, str, Path)):
        image = decode(Path(item) if isinstance(item, Path) else bytes(item) if not isinstance(item, str) else item,
                       text_paths)
    else:
        raise ImageError(f"cannot read an image from {type(item).__name__}: pass a path, encoded bytes, "
                         "base64 text, a PIL image or an array")
    return np.asarray(fit(to_rgb(image), height, width, resize), dtype=np.uint8)  # height x width x 3


def fit(image: Image.Image, height: int, width: int, resize: str = "stretch") -> Image.Image:
    """An RGB image -> exactly width x height, stretched or (`"pad"`) scaled and padded; `"ink-..."`
    crops it to its text first (crop_to_ink)."""
    if resize.startswith("ink-"):
        image, resize = crop_to_ink(image), resize.removeprefix("ink-")
    if image.size == (width, height):
        return image
    if resize == "stretch":
        return image.resize((width, height), Image.Resampling.BILINEAR)
    if resize == "keep":
        return fit_keeping_scale(image, height, width)
    if resize != "pad":
        raise ValueError(f"unknown resize {resize!r}; accepted: {', '.join(RESIZES)}")
    scale = min(height / image.height, width / image.width)  # the model's height, narrower if too wide
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    canvas = Image.new("RGB", (width, height), background(image))
    canvas.paste(image.resize(size, Image.Resampling.BILINEAR), (0, (height - size[1]) // 2))  # left, centred
    return canvas


def fit_keeping_scale(image: Image.Image, height: int, width: int) -> Image.Image:
    """For generators that draw glyphs at a fixed pixel size whatever the canvas (the `captcha` package:
    its fonts are 42-56 px at 160x60 as at 170x80): the image cut across to its text (ink_box's columns),
    each side shrunk only where it is larger than the input (a wide text is squeezed as the package
    squeezes one wider than its canvas), centred on the image's background. The glyphs arrive at the
    scale the model learned; stretching a 160x60 drawing to 170x80 makes them a third taller."""
    box = ink_box(image)
    if box is not None:
        image = image.crop((box[0], 0, box[2], image.height))  # across only: the height stays the drawing's
    size = (min(image.width, width), min(image.height, height))
    canvas = Image.new("RGB", (width, height), background(image))
    canvas.paste(image.resize(size, Image.Resampling.BILINEAR) if size != image.size else image,
                 ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


INK_CONTRAST = 60  # a pixel is ink when a channel differs from the background by more than this (0-255)
STEM_RUN = 4  # ink in a vertical run of at least this many pixels: glyph stems, not thin lines across
INK_SHARE = 0.005  # of the stems' ink, the share cut above and below: stray dots and line crossings, not the text
INK_SIDE_SHARE = 0.002  # ...and at the left and right, where an outer glyph's few stems must not be cut
INK_MARGIN = 0.2  # of the text's height, kept above and below the box
# ...and at its left and right: the outer glyphs' thin or pale strokes fall outside the stems' box, and a
# crop through them cost last characters (wide-4k, 2026-12-05; chosen on its validation images: docs/guide/own-captchas.md)
INK_SIDE_MARGIN = 0.6


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the text in an RGB image, None when nothing stands out from the
    background: text_extent widened by a margin (a wider one at the sides)."""
    extent = text_extent(image)
    if extent is None:
        return None
    (left, right), (top, bottom) = extent
    margin = round(INK_MARGIN * (bottom - top)) + 1
    side = round(INK_SIDE_MARGIN * (bottom - top)) + 1
    return max(0, left - side), max(0, top - margin), min(image.width, right + side), min(image.height, bottom + margin)


def text_extent(image: Image.Image) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """((left, right), (top, bottom)) of the text in an RGB image, no margin; None when nothing stands
    out from the background. Thin lines across the canvas (1-2 px) would span it all, so only ink in
    vertical runs of STEM_RUN pixels or more counts (the stems of glyphs); the extent holds the middle
    99.6% of that ink across and 99% down (the rows counted within the text's columns)."""
    array = np.asarray(image, dtype=np.int16)  # h x w x 3
    ink = np.abs(array - np.array(background(image), dtype=np.int16)).max(axis=2) > INK_CONTRAST  # h x w
    height = ink.shape[0]
    if height >= STEM_RUN:
        starts = np.logical_and.reduce([ink[k:height - STEM_RUN + 1 + k] for k in range(STEM_RUN)])  # runs' tops
        stems = np.zeros_like(ink)
        for k in range(STEM_RUN):
            stems[k:height - STEM_RUN + 1 + k] |= starts
        ink = stems if stems.sum() >= 4 else ink
    if ink.sum() < 4:
        return None
    columns = _middle(ink.sum(axis=0), INK_SIDE_SHARE)
    return columns, _middle(ink[:, columns[0]:columns[1]].sum(axis=1), INK_SHARE)


def text_height(image: Image.Image) -> int | None:
    """The height in pixels of the text's stems (text_extent); None when no text stands out."""
    extent = text_extent(image)
    return None if extent is None else extent[1][1] - extent[1][0]


def _middle(counts: np.ndarray, share: float) -> tuple[int, int]:
    """The index range (start, stop) holding all but `share` of `counts`' mass at each end."""
    cumulative = np.cumsum(counts) / max(1, counts.sum())
    start = int(np.searchsorted(cumulative, share))
    stop = int(np.searchsorted(cumulative, 1 - share)) + 1
    return start, max(stop, start + 1)


def crop_to_ink(image: Image.Image) -> Image.Image:
    """The image cut to its text with a margin (ink_box); as it was when no text stands out."""
    box = ink_box(image)
    return image.crop(box) if box else image


def background(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of an RGB image's border pixels: what its text is drawn on."""
    array = np.asarray(image)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])  # (2w + 2h) x 3
    return tuple(int(value) for value in np.median(border, axis=0))


DRAW_SIZE_LIMITS = (16, 2000)  # pixels: the smallest and largest side a drawing may be asked for


def draw_size_ranges(text: str) -> tuple[int, int, int, int] | tuple[()]:
    """`"120-260x50-100"` -> (120, 260, 50, 100) (width min, max, height min, max); a single size
    `"160x60"` -> (160, 160, 60, 60); "" -> (). ValueError says what is accepted."""
    if not text:
        return ()
    match = re.fullmatch(r"\s*(\d+)(?:\s*-\s*(\d+))?\s*x\s*(\d+)(?:\s*-\s*(\d+))?\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a size range; accepted: \"WMIN-WMAX x HMIN-HMAX\" (e.g. \"120-260x50-100\"), "
                         "\"WxH\", or \"\" to draw at data.width x data.height")
    width_min, width_max, height_min, height_max = (int(value) if value else None for value in match.groups())
    ranges = (width_min, width_max or width_min, height_min, height_max or height_min)
    low, high = DRAW_SIZE_LIMITS
    if ranges[0] > ranges[1] or ranges[2] > ranges[3] or min(ranges) < low or max(ranges) > high:
        raise ValueError(f"{text!r}: each range must run from low to high, every side from {low} to {high} pixels")
    return ranges


ASPECT_TOLERANCE = 1.15  # an image whose width/height differs from the model's by more than this factor gets a note


RESCALED = (0.8, 1.25)  # kept at its scale, text this much shorter or taller than the model learned looks rescaled
# kept at its scale, a drawing whose width and height are within these shares of the input's is read as well as
# the input's own size: measured with the shipped bigru (2026-12-06, 1,000 drawings each): 140x60 98.9%, 160x60
# 99.2%, 200x70 99.2%, but 120x56 93.9%, 220x90 93.7%, 120x50 84.6%, 250x100 83.8% (the package squeezes a text
# wider than a narrow canvas, and a taller canvas is shrunk)
KEPT_WELL = ((0.8, 1.2), (0.7, 1.1))


def geometry_note(size: tuple[int, int], height: int, width: int, resize: str = "stretch",
                  draw_sizes: str = "", text_height: int | None = None, learned_text_height: int = 0) -> str | None:
    """Why an image of `size` (width, height) is far from what a model of input width x height was
    trained on, or None: stretched to the input, an aspect ratio off by more than ASPECT_TOLERANCE
    from every aspect the model was trained on distorts the glyphs beyond what it learned (the
    `captcha` package's default 160x60 is stretched by 0.8 in width). `draw_sizes` ("120-260x50-100":
    data.draw_sizes) widens the trained aspects to those its training drawings had. Kept at its scale
    (`"keep"`), a drawing outside KEPT_WELL of the input's size is squeezed or shrunk more than the model
    learned; and an image whose `text_height` (text_height()) is outside RESCALED of the
    `learned_text_height` (the model card's) was rescaled, not drawn at its size: its glyphs are the
    wrong size, and stretching reads such images better."""
    if tuple(size) == (width, height):  # read as it is: nothing fitted
        return None
    if resize == "keep":
        return _kept_note(size, height, width, text_height, learned_text_height)
    if resize != "stretch" or not size[1]:  # padded or cropped to its text first: no distortion to speak of
        return None
    return _stretched_note(size, height, width, draw_sizes)


def _kept_note(size: tuple[int, int], height: int, width: int, text_height: int | None,
               learned_text_height: int) -> str | None:
    """geometry_note for a drawing kept at its scale: squeezed or shrunk beyond KEPT_WELL, or rescaled."""
    (low_w, high_w), (low_h, high_h) = KEPT_WELL
    if not (low_w * width <= size[0] <= high_w * width and low_h * height <= size[1] <= high_h * height):
        return (f"{size[0]}x{size[1]} is outside the {low_w * width:.0f}-{high_w * width:.0f} x {low_h * height:.0f}-"
                f"{high_h * height:.0f} drawings a {width}x{height} model reads at their own scale as well as its own "
                "size: its glyphs arrive squeezed or shrunk and readings are less reliable")
    if text_height and learned_text_height and not RESCALED[0] <= text_height / learned_text_height <= RESCALED[1]:
        return (f"{size[0]}x{size[1]}: its text is {text_height} px high where the model learned ~{learned_text_height} px, "
                "so it looks rescaled rather than drawn at this size; read at its own scale its glyphs are the wrong "
                "size (--resize stretch reads images rescaled from the model's input better)")
    return None


def _stretched_note(size: tuple[int, int], height: int, width: int, draw_sizes: str) -> str | None:
    """geometry_note for an image stretched to the input: an aspect ratio far from every trained one."""
    aspect = size[0] / size[1]
    low = high = width / height
    if draw_sizes:
        width_min, width_max, height_min, height_max = draw_size_ranges(draw_sizes)
        low, high = width_min / height_max, width_max / height_min
    if low / ASPECT_TOLERANCE <= aspect <= high * ASPECT_TOLERANCE:
        return None
    trained = (f"the {width}x{height} ({width / height:.2f})" if not draw_sizes else
               f"the {draw_sizes} drawings (width/height {low:.2f} to {high:.2f})")
    return (f"{size[0]}x{size[1]} (width/height {aspect:.2f}) is far from {trained} the model was trained on: "
            "stretched to its input, the text is distorted and readings are less reliable (drawn at this size by a "
            "generator whose glyphs keep their size, as the `captcha` package's: --resize keep)")
