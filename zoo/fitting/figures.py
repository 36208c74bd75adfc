"""Figures for runs: learning curves, prediction grid, per-character errors, per-step argmax."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo import plotting


def plot_learning_curves(history: pd.DataFrame, title: str):
    """history: one row per epoch with samples_seen, loss, val_loss, val_seq_acc (, val_char_acc)."""
    figure, (losses, accuracy) = plotting.subplots(1, 2, figsize=(11, 4))
    samples = history["samples_seen"] / 1e3
    for column in ("loss", "val_loss"):
        if column in history:
            losses.plot(samples, history[column], marker=".", label=column)
    losses.set(xlabel="training samples (thousands)", ylabel="CTC loss", yscale="log", title="loss")
    losses.legend()
    for column in ("val_seq_acc", "val_char_acc"):
        if column in history:
            accuracy.plot(samples, 100 * history[column], marker=".", label=column)
    accuracy.set(xlabel="training samples (thousands)", ylabel="accuracy (%)", title="validation accuracy")
    accuracy.grid(alpha=0.3)
    accuracy.legend()
    figure.suptitle(title)
    return figure


def prediction_grid(images: np.ndarray, predictions: list[str], labels: list[str], columns: int = 4):
    rows = -(-len(images) // columns)
    figure, axes = plotting.subplots(rows, columns, figsize=(4 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, predicted, real in zip(axes.flat, images, predictions, labels):
        axis.imshow(image)
        axis.set_title(f"pred: {predicted}\nreal: {real}", color="black" if predicted == real else "red", fontsize=11)
    return figure


def plot_character_errors(table: pd.DataFrame, title: str):
    """table: char, occurrences, errors (one row per character)."""
    ordered = table.sort_values("errors", ascending=False)
    figure, axis = plotting.subplots(figsize=(max(6, 0.3 * len(ordered)), 3.5))
    axis.bar(ordered["char"], ordered["errors"], color="tab:red")
    axis.set(xlabel="true character", ylabel="errors", title=title)
    return figure


def plot_step_argmax(image: np.ndarray, step_chars: list[str], decoded: str, text: str, drop_steps: int):
    """The image over the model's per-step argmax (blank as '-'); dropped steps greyed out."""
    figure, (top, bottom) = plotting.subplots(2, 1, figsize=(7, 4.2), height_ratios=[3, 1])
    top.imshow(image)
    top.set_title(f"'{text}' decoded as '{decoded}'")
    top.axis("off")
    total = drop_steps + len(step_chars)
    for step in range(total):
        kept = step >= drop_steps
        label = step_chars[step - drop_steps] if kept else "x"
        bottom.text(step + 0.5, 0.5, label, ha="center", va="center", fontsize=13, color="black" if kept else "grey")
    bottom.set(xlim=(0, total), ylim=(0, 1), xticks=np.arange(total) + 0.5, yticks=[])
    bottom.set_xticklabels(range(total), fontsize=8)
    bottom.set_xlabel("output step (x = dropped before CTC, - = blank)")
    return figure
