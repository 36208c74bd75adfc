"""The Transformer-encoder head: pre-norm self-attention blocks over the steps. Position comes from a
depthwise convolution added to the input (a convolutional position encoding: relative, any number of
steps, and only standard Keras layers, so the saved model loads in safe mode)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.models.heads import register_head


@dataclass(frozen=True)
class TransformerSettings:
    layers: int = 2
    units: int = 128  # model width
    attention_heads: int = 4
    ff_units: int = 256  # the feed-forward layer inside each block

    def __post_init__(self) -> None:
        problems = []
        if min(self.layers, self.units, self.attention_heads, self.ff_units) <= 0:
            problems.append("layers, units, attention_heads and ff_units must be positive")
        elif self.units % self.attention_heads:
            problems.append(f"units ({self.units}) must be a multiple of attention_heads ({self.attention_heads})")
        if problems:
            raise ValueError("invalid architecture: " + "; ".join(problems))


@register_head("transformer", TransformerSettings, family="transformer", bidirectional=True)
def build(x, settings: TransformerSettings, dropout: float):
    """batch x steps x features -> batch x steps x units."""
    from keras import layers

    x = layers.Dense(settings.units, name="attn_in")(x)  # batch x steps x units
    position = layers.DepthwiseConv1D(3, padding="same", name="attn_position")(x)  # batch x steps x units
    x = layers.Add(name="attn_with_position")([x, position])
    for index in range(1, settings.layers + 1):
        h = layers.LayerNormalization(name=f"attn{index}_norm")(x)
        h = layers.MultiHeadAttention(settings.attention_heads, settings.units // settings.attention_heads,
                                      dropout=dropout, name=f"attn{index}")(h, h)  # batch x steps x units
        x = layers.Add(name=f"attn{index}_residual")([x, h])
        h = layers.LayerNormalization(name=f"ff{index}_norm")(x)
        h = layers.Dense(settings.ff_units, activation="gelu", name=f"ff{index}_up")(h)  # batch x steps x ff_units
        h = layers.Dense(settings.units, name=f"ff{index}_down")(h)  # batch x steps x units
        x = layers.Add(name=f"ff{index}_residual")([x, h])
    return layers.LayerNormalization(name="attn_out_norm")(x)
