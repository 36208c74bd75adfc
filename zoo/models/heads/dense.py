"""The dense head: per-step Dense + ReLU layers, no context across steps (what the recurrence adds)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.models.heads import register_head


@dataclass(frozen=True)
class DenseSettings:
    layers: int = 2
    units: int = 128

    def __post_init__(self) -> None:
        if min(self.layers, self.units) <= 0:
            raise ValueError("invalid architecture: layers and units must be positive")


@register_head("dense", DenseSettings, family="conv", bidirectional=False)
def build(x, settings: DenseSettings, dropout: float):
    """batch x steps x features -> batch x steps x units."""
    from keras import layers

    for index in range(1, settings.layers + 1):
        x = layers.Dense(settings.units, activation="relu", kernel_initializer="he_uniform", name=f"dense{index}")(x)
    return x
