"""A head start of another input height: its projection resampled along the image's height.

The CNN is the same at any height, and so are the recurrent head and the output layer; only the
projection (`project`, a Dense over each step's column of features) reads height x channels inputs,
so a 32-px head start's projection has 6 x 64 input rows and a 48-px model's has 10 x 64. Its kernel
is resampled along the height, as vision transformers carry position embeddings to another image
size (timm's `resample_abs_pos_embed`), here by area: each new row takes the source rows it covers,
weighed by how much of each it covers, so every source row's weights are spread over the new rows
whole and a column of equal features projects exactly to what it projected before. The bias is kept.
The CNN then sees the glyphs larger than it learned them, which the fine-tuning settles; what it keeps
is a projection and head that already read.
"""

from __future__ import annotations

import numpy as np


def project_weights(source: list[np.ndarray], own: list[np.ndarray], channels: int) -> list[np.ndarray]:
    """The projection's [kernel (rows*channels x units), bias] for `own`'s height from `source`'s.
    `source` unchanged when the shapes already match or cannot be carried (other units or channels):
    the caller's shape check then refuses it."""
    (source_kernel, source_bias), (kernel, _) = source, own
    if source_kernel.shape == kernel.shape or source_kernel.shape[1] != kernel.shape[1]:
        return source
    if source_kernel.shape[0] % channels or kernel.shape[0] % channels:
        return source
    source_rows, rows, units = source_kernel.shape[0] // channels, kernel.shape[0] // channels, kernel.shape[1]
    by_row = source_kernel.reshape(source_rows, channels * units)  # rows_s x (channels*units): rows are height
    resampled = area_weights(source_rows, rows) @ by_row  # rows_t x (channels*units)
    return [resampled.reshape(rows * channels, units).astype(source_kernel.dtype), source_bias]


def area_weights(source_rows: int, rows: int) -> np.ndarray:
    """rows x source_rows: how much of source row s new row t covers, in source rows (source row s spans
    [s, s+1), new row t spans [t, t+1) * source_rows / rows); each column sums to 1."""
    scale = source_rows / rows
    starts, ends = np.arange(rows)[:, None] * scale, (np.arange(rows)[:, None] + 1) * scale  # rows x 1
    own = np.arange(source_rows)[None, :]  # 1 x source_rows
    return np.clip(np.minimum(ends, own + 1) - np.maximum(starts, own), 0, None)  # rows x source_rows
