"""How well a shipped model reads the `captcha` package at the sizes people draw it at.

    python -m zoo.pretrained --sizes bigru     # 10,000 fresh captchas at each size; recorded in the card

The `captcha` package's default `ImageCaptcha()` draws 160x60; tutorials use 170x80, 200x70 and
others. Each size's captchas are drawn by the package at that size (seeded: SIZES_SEED, never a
training, validation, test or calibration seed; same texts at every size) and read exactly as a
user's PNG is read: fitted to the model's input as the card says (stretched, or kept at the drawing's
own pixel scale: `--resize keep`) by zoo.data.images.fit, then decoded. The card records the fit and
the full-sequence accuracy at each size.
"""

from __future__ import annotations

from pathlib import Path

SIZES = ((160, 60), (170, 80), (200, 70))  # width, height: the package's default, the reference's, a common third
SIZES_SEED = 5_000_011


def size_key(width: int, height: int) -> str:
    return f"{width}x{height}"


def read_at_sizes(reader, card: dict, count: int, sizes=SIZES, seed: int = SIZES_SEED) -> dict[str, float]:
    """{"160x60": full-sequence accuracy, ...}: `count` captchas of the card's task drawn at each size."""
    from zoo.data import stream
    from zoo.data.labels import labels_to_texts
    from zoo.inference import pretrained

    task = pretrained.card_task(card)
    if task["source"] != "captcha":
        raise ValueError(f"{card['name']} reads {task['source']!r} images, not the captcha package's: "
                         "its sizes cannot be drawn here")
    accuracy = {}
    for width, height in sizes:
        source = stream.CaptchaSource(task["charset"], int(task["min_length"]), int(task["max_length"]), width, height, seed)
        images, labels = stream.render(source, count)  # count x height x width x 3, at the drawing's own size
        texts = labels_to_texts(labels, task["charset"])
        readings = reader.predict(list(images))  # each fitted to the model's input as a user's image is
        accuracy[size_key(width, height)] = round(sum(r.text == t for r, t in zip(readings, texts)) / count, 4)
    return accuracy


def learned_text_height(card: dict, count: int = 1000, seed: int = SIZES_SEED) -> int:
    """The median text height (zoo.data.images.text_height, px) of `count` captchas of the card's task
    drawn at its input size: what its glyphs measured when it learned them."""
    import numpy as np
    from PIL import Image

    from zoo.data import images, stream
    from zoo.inference import pretrained

    task = pretrained.card_task(card)
    drawn, _ = stream.render(stream.CaptchaSource(task["charset"], int(task["min_length"]), int(task["max_length"]),
                                                  int(task["width"]), int(task["height"]), seed), count)
    heights = [images.text_height(Image.fromarray(image)) for image in drawn]
    return int(np.median([h for h in heights if h]))


def measure(folder: Path, count: int = 10_000, resize: str | None = None) -> dict:
    """Read the captchas of every size with the model in `folder` and record it in its card (`sizes`).
    `resize` (zoo.data.images.RESIZES): fit them so, and make it the card's: how the model reads from now on."""
    from zoo.inference import pretrained

    folder = Path(folder)
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    reader = pretrained.load(str(folder), resize=resize)
    card["resize"] = reader.info.resize
    card.pop("text_height", None)
    if reader.info.resize == "keep":  # what tells a drawing at another size from an image rescaled (images.geometry_note)
        card["text_height"] = learned_text_height(card)
    card["sizes"] = {"images": count, "seed": SIZES_SEED, "resize": reader.info.resize,
                     "seq_acc": read_at_sizes(reader, card, count)}
    pretrained.write_card(folder, card)
    return card["sizes"]


def card_lines(card: dict) -> list[str]:
    """The card's sizes for people."""
    if not (sizes := card.get("sizes")):
        return []
    trained = (f"trained on drawings of {card['draw_sizes']} stretched to its input" if card.get("draw_sizes")
               else "trained on its input's size only")
    fitted = sizes.get("resize", "stretch")
    read = {"keep": "kept at their own pixel scale (resize `keep`)", "stretch": "stretched to its input"}.get(fitted, f"fitted by `{fitted}`")
    cells = ", ".join(f"{size} **{accuracy:.2%}**" for size, accuracy in sizes["seq_acc"].items())
    resize = f" --resize {fitted}" if fitted != "stretch" else ""
    return [f"- **Sizes** ({trained}): the `captcha` package's drawings, {read}, read at {cells} "
            f"({sizes['images']:,} fresh captchas each, seed {sizes['seed']}; `python -m zoo.pretrained --sizes {card['name']}{resize}`)"]
