"""The model registry, timm style: a decorator registers a tiny function under its own name.

Each registered function returns an `ArchConfig` (data, no Keras), so configs can be listed,
validated and tagged without building anything; `zoo.models.builder.create_model` builds them.
Explicit overrides always win over the variant's defaults.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable

_VARIANTS: dict[str, Callable[..., Any]] = {}


class UnknownModelError(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register `fn` under `fn.__name__`; it takes overrides and returns an ArchConfig."""
    if fn.__name__ in _VARIANTS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _VARIANTS[fn.__name__] = fn
    return fn


def _load_variants() -> None:
    from zoo.models import architectures  # noqa: F401  (registers the variants on import)


def list_models(pattern: str = "*") -> list[str]:
    _load_variants()
    return sorted(name for name in _VARIANTS if fnmatch.fnmatch(name, pattern))


def resolve(name: str, **overrides: Any):
    """The ArchConfig of `name` with `overrides` applied; unknown names list the known ones."""
    _load_variants()
    if name not in _VARIANTS:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _VARIANTS[name](**overrides)  # an unknown field is refused with the accepted ones (architectures.make)


def variant_fields(name: str) -> set[str]:
    """The fields variant `name` sets itself (those where it differs from the reference's defaults)."""
    from zoo.models.architectures import make

    own, reference = _VARIANTS[name]().fields(), make().fields()
    return {key for key, value in own.items() if reference.get(key) != value}
