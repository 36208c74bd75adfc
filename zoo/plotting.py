"""New figures for files, without pyplot: a plain matplotlib Figure is freed when it is dropped (pyplot
keeps every figure it made until it is closed: a report or a long run would pile them up), draws with
the Agg renderer whatever backend the machine has, and lays itself out with constrained layout (which
makes room for legends, colour bars and titles where tight_layout gives up)."""

from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """(figure, axes) as pyplot.subplots gives them (`kwargs`: squeeze, sharex, height_ratios, ...)."""
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.subplots(nrows, ncols, **kwargs)


def colormap(name: str):
    """A registered colormap by name ("tab10", "Reds", ...)."""
    return matplotlib.colormaps[name]
