"""TOML tables and `key=value` text -> typed dataclass fields, with errors that name the key and the
type it accepts."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any, get_args, get_origin, get_type_hints

from zoo.config.schema import ConfigError, Phase


def field_types(cls_or_obj: Any) -> dict[str, Any]:
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    return get_type_hints(cls)


def coerce(value: Any, kind: Any, key: str) -> Any:
    """Parse `value` (a CLI string or TOML value) as the field's type, or say what is accepted."""
    if isinstance(value, str) and kind is not str:
        try:
            value = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            if kind is bool and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            else:
                raise ConfigError(f"{key}: cannot read {value!r} as {type_name(kind)}") from None
    origin = get_origin(kind)
    try:
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return value
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value
        if origin is tuple:
            (item,) = {arg for arg in get_args(kind) if arg is not Ellipsis}
            return tuple(coerce(v, item, key) for v in value)
        if origin is list:
            (item,) = get_args(kind)
            return [coerce(v, item, key) for v in value]
        if origin is dict:
            return dict(value)
        if dataclasses.is_dataclass(kind):
            return build_table(kind, value, where=key)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{key}: expected {type_name(kind)}, got {value!r}") from None
    raise ConfigError(f"{key}: unsupported field type {kind}")


def type_name(kind: Any) -> str:
    if kind is Phase or get_args(kind) == (Phase,):
        return ("a list of phases like [{epochs=20, lr=1e-3}, {epochs=20, lr=1e-4}] (optional per phase: "
                "warmup=<epochs>, decay=\"constant\"|\"linear\"|\"cosine\", end_lr=<rate>, reset=true|false)")
    return getattr(kind, "__name__", str(kind))


def build_table(cls: type, values: Any, where: str) -> Any:
    """A TOML table (or dict) as the dataclass `cls`: unknown keys are refused with the accepted
    ones, each value is checked against the field's type hint, missing fields take their defaults.
    The one parser of every config: runs, presets, studies and grids."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table of {', '.join(field_types(cls))}, got {values!r}")
    types = field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; accepted: {', '.join(types)}")
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    kwargs = {}
    for name, kind in types.items():
        if name in values:
            kwargs[name] = coerce(values[name], kind, f"{where}: {name}" if where else name)
        elif name in defaults:
            kwargs[name] = defaults[name]
        else:
            raise ConfigError(f"{where}: missing {name!r}")
    return cls(**kwargs)
