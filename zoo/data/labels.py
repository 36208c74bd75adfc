"""Labels as class indices, without Keras (readers, data workers and cards import this).

Class 0 is the CTC blank; character `charset[i]` is class i+1; labels are int arrays
`batch x max_length`, padded with PAD (-1) after the last character.
"""

from __future__ import annotations

import numpy as np

BLANK = 0
PAD = -1


def encode_labels(texts: list[str], charset: str, max_length: int) -> np.ndarray:
    """['A7'] -> [[11, 8, -1, -1]] (int32, batch x max_length)."""
    index = {char: i + 1 for i, char in enumerate(charset)}
    labels = np.full((len(texts), max_length), PAD, dtype=np.int32)
    for row, text in enumerate(texts):
        labels[row, : len(text)] = [index[char] for char in text]
    return labels


def labels_to_texts(labels: np.ndarray, charset: str) -> list[str]:
    """Inverse of encode_labels; PAD and blank are skipped."""
    return ["".join(charset[c - 1] for c in row if c > 0) for row in np.asarray(labels)]
