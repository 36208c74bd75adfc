"""Building a run config in layers: a preset (following its `base` chain) -> the variant's
architecture -> `--set key=value` overrides, each parsed by its field's type; a folder source is
read here (its labels give charset, lengths and split sizes) before the whole is validated."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

from zoo.config.files import experiment_paths, is_run_preset, list_presets
from zoo.config.schema import ConfigError, MAX_INPUT, RunConfig, TrainConfig, scale_phases
from zoo.config.typed import build_table, coerce, field_types
from zoo.config.validation import validate
from zoo.data.source_names import PIL_PREFIX, PIL_STYLES
from zoo.models import architectures, registry


def load_preset(name: str) -> RunConfig:
    values = _preset_values(name)
    model = values.pop("model", {})
    config = build_table(RunConfig, {**values, "preset": name}, where=f"preset {name!r}")
    for key, value in model.items():  # typed like `--set model.<field>=...`
        _apply_override(config, f"model.{key}", value)
    _fit_sample_budget(config.train)
    return config


def _fit_sample_budget(train: TrainConfig) -> None:
    """With `train.sample_budget`, the phases scaled to that many samples (left as they are when the
    budget is not a whole number of epochs: `validate` says so). Scaling twice changes nothing."""
    per_epoch = train.steps_per_epoch * train.batch_size
    if train.sample_budget > 0 and per_epoch > 0 and train.sample_budget % per_epoch == 0 and train.phases \
            and all(phase.epochs > 0 for phase in train.phases):
        train.phases = scale_phases(train.phases, train.sample_budget // per_epoch)


def _preset_values(name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset's tables; `base = "other"` starts from that preset's tables and replaces the keys it sets."""
    if name in chain:
        raise ConfigError(f"presets name each other as base in a cycle: {' -> '.join([*chain, name])}")
    path = next((p for p in experiment_paths() if p.stem == name and is_run_preset(p)), None)
    if path is None:
        where = f" (the base of preset {chain[-1]!r})" if chain else ""
        raise ConfigError(f"unknown preset {name!r}{where}; known presets: {', '.join(list_presets())}")
    values = tomllib.loads(path.read_text())
    base = values.pop("base", None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ConfigError(f"preset {name!r}: base must be the name of another preset, got {base!r}")
    merged = _preset_values(base, (*chain, name))
    for section, table in values.items():
        merged[section] = {**merged.get(section, {}), **table} if isinstance(table, dict) else table
    return merged


def make_config(
    arch: str = "bigru",
    preset: str = "reference",
    seed: int = 0,
    overrides: list[str] | dict[str, Any] | None = None,
) -> RunConfig:
    """The preset, then arch/seed, then `key=value` overrides; validated before it is returned."""
    config = load_preset(preset)
    config.arch, config.seed = arch, seed
    items = overrides.items() if isinstance(overrides, dict) else map(split_assignment, overrides or [])
    given = set()
    for key, value in items:
        _apply_override(config, key, value)
        given.add(key)
    _fit_sample_budget(config.train)
    if config.data.source != "captcha" and not config.data.source.startswith(PIL_PREFIX):
        _read_folder(config, charset_given="data.charset" in given)
    validate(config)
    return config


def _read_folder(config: RunConfig, charset_given: bool) -> None:
    """Fill charset, lengths and split sizes from a `folder:PATH` source's labels (and with
    `data.auto_width`, the width from its images)."""
    from zoo.data import folder_data

    data = config.data
    root = folder_data.folder_path(data.source)
    if root is None:
        raise ConfigError(f"data.source {data.source!r} is not accepted: use \"captcha\", \"folder:PATH\" or "
                          f"\"{PIL_PREFIX}STYLE\" (STYLE: {', '.join(PIL_STYLES)})")
    if not (0 < data.val_fraction < 1 and 0 < data.test_fraction < 1):
        raise ConfigError(f"data.val_fraction and data.test_fraction must be in (0, 1), got {data.val_fraction}, {data.test_fraction}")
    try:
        labeled = folder_data.scan(str(root.resolve()), data.label_pattern)
        if charset_given:
            folder_data.check_labels(labeled, data.charset)
        else:
            data.charset = "".join(sorted({char for label in labeled.labels for char in label}))
        _, val, test = folder_data.split(labeled, data.val_fraction, data.test_fraction)
    except folder_data.FolderDataError as error:
        raise ConfigError(str(error)) from None
    data.source = f"{folder_data.PREFIX}{root.resolve()}"
    lengths = [len(label) for label in labeled.labels]
    data.min_length, data.max_length = min(lengths), max(lengths)
    data.val_size, data.test_size = len(val), len(test)
    if data.resize == folder_data.AUTO_RESIZE:
        data.resize = folder_data.resize_for(labeled)
    if data.auto_width and config.arch in registry.list_models():  # an unknown arch is reported by validate
        arch = config.arch_config()
        data.width = folder_data.choose_width(folder_data.image_sizes(labeled, data.resize), data.height,
                                              lambda width, height: architectures.output_steps(arch, width, height),
                                              data.max_length, MAX_INPUT["width"])


def split_assignment(assignment: str) -> tuple[str, str]:
    """`key=value` -> (key, value), or a clear error."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {assignment!r} is not of the form key=value (e.g. train.steps_per_epoch=50)")
    return key.strip(), value.strip()


def _apply_override(config: RunConfig, key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    if parents == ["model"]:
        arch_types = architectures.field_types()
        if leaf not in arch_types:
            raise ConfigError(f"unknown model field {leaf!r}; accepted: {', '.join(arch_types)}")
        config.model[leaf] = coerce(value, arch_types[leaf], key)
        return
    target: Any = config
    for part in parents:
        if not dataclasses.is_dataclass(target) or part not in field_types(target):
            raise ConfigError(f"unknown config key {key!r}; accepted: {', '.join(known_keys())}")
        target = getattr(target, part)
    types = field_types(target) if dataclasses.is_dataclass(target) else {}
    if leaf not in types or dataclasses.is_dataclass(getattr(target, leaf)) or leaf == "model":
        raise ConfigError(f"unknown config key {key!r}; accepted: {', '.join(known_keys())}")
    setattr(target, leaf, coerce(value, types[leaf], key))


def known_keys() -> list[str]:
    keys = []
    for name, kind in field_types(RunConfig).items():
        if dataclasses.is_dataclass(kind):
            keys += [f"{name}.{sub}" for sub in field_types(kind)]
        elif name == "model":
            keys.append("model.<ArchConfig field>")
        else:
            keys.append(name)
    return keys


