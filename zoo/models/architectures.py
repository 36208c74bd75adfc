"""Architecture configs and the registered variants: data only, `zoo.models` builds them.

Every variant is the reference (`bigru`) with a few fields changed, so a comparison changes
exactly one thing at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from zoo.models import heads
from zoo.models.registry import register_model

BACKBONE_FIELDS = ("conv_filters", "convs_per_block", "projection_units", "dropout", "drop_steps")


@dataclass(frozen=True)
class ArchConfig:
    """The backbone's fields, the head's name and the head's own settings (zoo.models.heads)."""

    conv_filters: tuple[int, ...] = (32, 64, 128)  # one block per entry: [conv3x3-BN-ReLU] x2, maxpool 2x2
    convs_per_block: int = 2
    projection_units: int = 128  # Dense after reshaping the conv map to steps x features
    dropout: float = 0.2
    drop_steps: int = 2  # leading output steps cut before CTC (the reference drops 2)
    head: str = "recurrent"
    settings: Any = None  # the head's settings dataclass; make() fills it

    def __post_init__(self) -> None:
        problems = []
        if not self.conv_filters or min(self.conv_filters) <= 0 or self.convs_per_block <= 0:
            problems.append("conv_filters needs at least one positive entry and convs_per_block > 0")
        if self.projection_units <= 0:
            problems.append("projection_units must be positive")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.drop_steps < 0:
            problems.append(f"drop_steps must be >= 0, got {self.drop_steps}")
        if problems:
            raise ValueError("invalid architecture: " + "; ".join(problems))

    @property
    def is_bidirectional(self) -> bool:
        return heads.get(self.head).bidirectional(self.settings)

    @property
    def family(self) -> str:
        return heads.get(self.head).family(self.settings)

    def fields(self) -> dict[str, Any]:
        """Every field, the head's flattened in: what `make(**fields)` rebuilds this from."""
        backbone = {name: getattr(self, name) for name in BACKBONE_FIELDS}
        return {**backbone, "head": self.head, **dataclasses.asdict(self.settings)}

    def tags(self) -> dict[str, str]:
        return {
            "family": self.family,
            "bidirectional": str(self.is_bidirectional).lower(),
            "layout": getattr(self.settings, "layout", "none"),
            "drop_steps": str(self.drop_steps),
        }


def make(**fields: Any) -> ArchConfig:
    """An ArchConfig from flat fields: the backbone's, `head`, and that head's own settings."""
    head = heads.get(fields.pop("head", "recurrent"))
    own = {name: fields.pop(name) for name in list(fields) if name in head.fields}
    unknown = sorted(set(fields) - set(BACKBONE_FIELDS))
    if unknown:
        raise TypeError(f"unknown model field(s) {', '.join(unknown)} for head {head.name!r}; accepted: "
                        f"{', '.join([*BACKBONE_FIELDS, 'head', *head.fields])}")
    return ArchConfig(**fields, head=head.name, settings=head.settings(**own))


def field_types() -> dict[str, Any]:
    """The type of every field a `model` table or `--set model.<field>=...` may give."""
    from typing import get_type_hints

    hints = get_type_hints(ArchConfig)
    return {**{name: hints[name] for name in BACKBONE_FIELDS}, "head": str, **heads.setting_types()}


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
    return make(**{**defaults, **overrides})


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
    return _variant(overrides, head="dense")


@register_model
def transformer(**overrides) -> ArchConfig:
    """The reference backbone with a 2-block Transformer encoder (4 attention heads) for a head."""
    return _variant(overrides, head="transformer")
