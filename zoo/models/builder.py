"""One builder for every registered architecture: CNN backbone -> a sequence head (zoo.models.heads) -> logits.

The model takes ordinary uint8 images (batch x height x width x 3) and does the scaling and the
width-first transposition itself, so a saved or served model cannot drift from training. It
returns CTC logits (batch x steps x classes+1), blank = class 0, with the dropped leading steps
already cut. Shapes in comments are for the reference: 80x170 images, 36 characters.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import architectures, heads, registry
from zoo.models.architectures import ArchConfig
from zoo.models.batch_norm import FusedBatchNormalization

list_models = registry.list_models


def create_model(
    name: str,
    *,
    height: int = 80,
    width: int = 170,
    num_classes: int = 37,
    **overrides,
) -> keras.Model:
    """Build registered architecture `name`; `overrides` replace fields of its ArchConfig."""
    arch = registry.resolve(name, **overrides)
    return build_model(arch, height=height, width=width, num_classes=num_classes, name=name)


def build_model(arch: ArchConfig, *, height: int, width: int, num_classes: int, name: str = "model") -> keras.Model:
    architectures.output_steps(arch, width, height)  # clear error for images too small
    images = keras.Input((height, width, 3), dtype="uint8", name="image")  # batch x 80 x 170 x 3
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(images)  # uint8 -> float in [-1, 1]
    x = layers.Permute((2, 1, 3), name="width_first")(x)  # batch x 170 x 80 x 3
    x = _backbone(x, arch)  # batch x 17 x 6 x 128
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]), name="to_steps")(x)  # batch x 17 x 768
    x = layers.Dense(arch.projection_units, kernel_initializer="he_uniform", name="project")(x)  # batch x 17 x 128
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.Activation("relu", name="project_relu")(x)
    x = layers.Dropout(arch.dropout, name="project_dropout")(x)
    x = heads.get(arch.head).build(x, arch.settings, arch.dropout)  # batch x 17 x 256 (reference: concat of the last pair)
    x = layers.Dropout(arch.dropout, name="head_dropout")(x)
    x = layers.Dense(num_classes, name="logits", dtype="float32")(x)  # batch x 17 x 37
    if arch.drop_steps:
        x = layers.Cropping1D((arch.drop_steps, 0), name="drop_steps")(x)  # batch x 15 x 37
    return keras.Model(images, x, name=name)


def _backbone(x, arch: ArchConfig):
    for block, filters in enumerate(arch.conv_filters, start=1):
        for conv in range(1, arch.convs_per_block + 1):
            # valid 3x3: each spatial axis shrinks by 2
            x = layers.Conv2D(filters, 3, kernel_initializer="he_uniform", name=f"conv{block}_{conv}")(x)
            x = FusedBatchNormalization(name=f"conv{block}_{conv}_bn")(x)  # Keras' BN, one fused op when training on TF
            x = layers.Activation("relu", name=f"conv{block}_{conv}_relu")(x)
        x = layers.MaxPooling2D((2, 2), name=f"pool{block}")(x)  # each spatial axis halves (floor)
    return x


def rebuilt(model: keras.Model, edit) -> keras.Model:
    """A copy of `model` with the same weights whose config went through `edit(node) -> bool` at every
    dict node (True where it changed something); `model` itself when nothing changed."""
    config = model.get_config()
    changed = False

    def walk(node) -> None:
        nonlocal changed
        if isinstance(node, dict):
            changed |= bool(edit(node))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    if not changed:
        return model
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _float32_policy(node: dict) -> bool:
    if node.get("class_name") == "DTypePolicy" and isinstance(node.get("config"), dict) \
            and node["config"].get("name") != "float32":
        node["config"]["name"] = "float32"
        return True
    return False


def _keras_batch_norm(node: dict) -> bool:
    if node.get("class_name") == FusedBatchNormalization.__name__:
        node.update({"module": "keras.layers", "class_name": "BatchNormalization", "registered_name": None})
        return True
    return False


def with_keras_batch_norm(model: keras.Model) -> keras.Model:
    """`model` with Keras' own BatchNormalization where it has the fused one (same weights and results,
    the unfused training step): the baseline `zoo.bench` measures the fused layer against, and the
    logged and shipped models, which then load with plain Keras."""
    return rebuilt(model, _keras_batch_norm)


def as_float32(model: keras.Model) -> keras.Model:
    """`model` computing in float32: a model trained in mixed bfloat16 keeps that policy in its saved
    layers, which would make reading slow on CPUs without bf16 units and differ from its exports."""
    return rebuilt(model, _float32_policy)
