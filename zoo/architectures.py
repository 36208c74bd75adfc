"""Architecture configs and the registered variants: data only, `zoo.models` builds them.

Every variant is the reference (`bigru`) with a few fields changed, so a comparison changes
exactly one thing at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zoo.registry import register_model

CELLS = ("gru", "lstm")
HEADS = ("recurrent", "dense")
# reversed_pair: forward RNN + go_backwards RNN merged as returned, i.e. step t with step T-1-t
#                (the reference, faithfully); aligned: keras.layers.Bidirectional (time-aligned);
# forward: unidirectional.
LAYOUTS = ("reversed_pair", "aligned", "forward")
MERGES = ("sum", "concat")


@dataclass(frozen=True)
class ArchConfig:
    conv_filters: tuple[int, ...] = (32, 64, 128)  # one block per entry: [conv3x3-BN-ReLU] x2, maxpool 2x2
    convs_per_block: int = 2
    projection_units: int = 128  # Dense after reshaping the conv map to steps x features
    dropout: float = 0.2
    head: str = "recurrent"
    cell: str = "gru"
    layout: str = "reversed_pair"
    merge_modes: tuple[str, ...] = ("sum", "concat")  # one per layer of a bidirectional head
    layers: int = 2
    units: int = 128
    drop_steps: int = 2  # leading output steps cut before CTC (the reference drops 2)

    def __post_init__(self) -> None:
        problems = []
        if self.head not in HEADS:
            problems.append(f"head must be one of {HEADS}, got {self.head!r}")
        if self.cell not in CELLS:
            problems.append(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.layout not in LAYOUTS:
            problems.append(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.is_bidirectional and len(self.merge_modes) != self.layers:
            problems.append(f"merge_modes needs one entry per layer ({self.layers}), got {self.merge_modes}")
        if any(mode not in MERGES for mode in self.merge_modes):
            problems.append(f"merge_modes entries must be in {MERGES}, got {self.merge_modes}")
        if not self.conv_filters or min(self.conv_filters) <= 0 or self.convs_per_block <= 0:
            problems.append("conv_filters needs at least one positive entry and convs_per_block > 0")
        if min(self.layers, self.units, self.projection_units) <= 0:
            problems.append("layers, units and projection_units must be positive")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.drop_steps < 0:
            problems.append(f"drop_steps must be >= 0, got {self.drop_steps}")
        if problems:
            raise ValueError("invalid architecture: " + "; ".join(problems))

    @property
    def is_bidirectional(self) -> bool:
        return self.head == "recurrent" and self.layout != "forward"

    @property
    def family(self) -> str:
        return self.cell if self.head == "recurrent" else "conv"

    def tags(self) -> dict[str, str]:
        return {
            "family": self.family,
            "bidirectional": str(self.is_bidirectional).lower(),
            "layout": self.layout if self.head == "recurrent" else "none",
            "drop_steps": str(self.drop_steps),
        }


def conv_output_size(arch: ArchConfig, size: int) -> int:
    """Length of one image axis after the conv blocks (valid 3x3 convs, then 2x2 max-pooling)."""
    for _ in arch.conv_filters:
        size = (size - 2 * arch.convs_per_block) // 2
        if size <= 0:
            break
    return size


def output_steps(arch: ArchConfig, width: int, height: int) -> int:
    """CTC steps the model emits for `width`-pixel-wide images (time runs along the width)."""
    steps, rows = conv_output_size(arch, width), conv_output_size(arch, height)
    if steps <= 0 or rows <= 0:
        raise ValueError(
            f"{width}x{height} images are too small for {len(arch.conv_filters)} conv blocks; "
            f"use larger images or fewer model.conv_filters"
        )
    return steps - arch.drop_steps


def steps_needed(label_length: int) -> int:
    """CTC needs a step per character plus a blank between repeats: 2L-1 for any label."""
    return 2 * label_length - 1


def _variant(overrides: dict, **defaults) -> ArchConfig:
    """ArchConfig from a variant's defaults; explicit overrides win."""
    return dataclasses.replace(ArchConfig(**defaults), **overrides)


@register_model
def bigru(**overrides) -> ArchConfig:
    """The reference: BiGRU (go_backwards pair) merged by add, then by concat; 2 steps dropped."""
    return _variant(overrides)


@register_model
def bigru_aligned(**overrides) -> ArchConfig:
    """The reference with time-aligned keras.layers.Bidirectional GRUs (sum, then concat)."""
    return _variant(overrides, layout="aligned")


@register_model
def bilstm(**overrides) -> ArchConfig:
    """The reference with LSTM cells (go_backwards pair, add then concat)."""
    return _variant(overrides, cell="lstm")


@register_model
def gru(**overrides) -> ArchConfig:
    """Unidirectional two-layer GRU head."""
    return _variant(overrides, layout="forward")


@register_model
def lstm(**overrides) -> ArchConfig:
    """Unidirectional two-layer LSTM head."""
    return _variant(overrides, cell="lstm", layout="forward")


@register_model
def bigru_drop0(**overrides) -> ArchConfig:
    """The reference keeping every output step."""
    return _variant(overrides, drop_steps=0)


@register_model
def bigru_drop1(**overrides) -> ArchConfig:
    """The reference dropping 1 leading step."""
    return _variant(overrides, drop_steps=1)


@register_model
def bigru_drop3(**overrides) -> ArchConfig:
    """The reference dropping 3 leading steps."""
    return _variant(overrides, drop_steps=3)


@register_model
def bigru_drop4(**overrides) -> ArchConfig:
    """The reference dropping 4 leading steps."""
    return _variant(overrides, drop_steps=4)


@register_model
def conv_only(**overrides) -> ArchConfig:
    """Control: no recurrence, two per-step Dense(128) layers where the RNNs were."""
    return _variant(overrides, head="dense", layout="forward")
