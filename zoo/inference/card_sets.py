"""A shipped model's own images, drawn again from its card: the test set its accuracy was measured on,
or a calibration set of the same task under another seed (training stack: the captcha generators)."""

from __future__ import annotations

import numpy as np

from zoo.inference import pretrained

CALIBRATION_SEED = 4_000_037  # distinct from every training, validation and test seed


def card_split(card: dict, count: int | None = None, seed: int | None = None) -> tuple[np.ndarray, list[str]]:
    """The first `count` (default: the card's test_size) images of the card's task drawn with `seed`
    (default: its test seed) and their texts: uint8 count x height x width x 3."""
    from zoo.config import DataConfig
    from zoo.data import stream
    from zoo.data.labels import labels_to_texts

    task = pretrained.card_task(card)
    if task["source"].startswith("folder:"):
        raise ValueError(f"{card['name']} was tested on a folder's images ({task['source']}); they cannot be "
                         "drawn again here: check it on images you pass")
    data = DataConfig(charset=task["charset"], min_length=int(task["min_length"]), max_length=int(task["max_length"]),
                      width=int(task["width"]), height=int(task["height"]), test_size=int(task["test_size"]),
                      test_seed=int(task["test_seed"]) if seed is None else seed, source=task["source"],
                      resize=card.get("resize", "stretch"))
    count = count or data.test_size
    source = stream.source_for(data, "test")
    images, labels = stream.cached_split(source, count) if isinstance(source, stream.CaptchaSource) else stream.render(source, count)
    return images, labels_to_texts(labels, data.charset)
