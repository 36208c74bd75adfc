"""Sequence heads: what reads the backbone's steps (batch x steps x features) before the logits.

A head is one module here: a frozen settings dataclass (the fields it owns, checked in
`__post_init__`) and a `build(x, settings, dropout)` function, registered together by name:

    @register_head("dense", DenseSettings, family="conv")
    def build(x, settings, dropout): ...

and a variant in zoo.models.architectures that selects it (`head="dense"`). Settings are data only; the
builders import Keras when they run, so reading configs (zoo.config, the read side) stays light.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Callable

HEAD_MODULES = ("recurrent", "dense", "transformer")  # imported on first use: each registers itself


@dataclass(frozen=True)
class Head:
    name: str
    settings: type  # frozen dataclass of the head's own fields, with defaults
    build: Callable[..., Any]  # (x: batch x steps x features, settings, dropout) -> batch x steps x units
    family: Callable[[Any], str]  # settings -> the run tag `family` (gru, lstm, conv, transformer)
    bidirectional: Callable[[Any], bool]  # settings -> whether each step sees the whole sequence

    @property
    def fields(self) -> dict[str, dataclasses.Field]:
        return {field.name: field for field in dataclasses.fields(self.settings)}


_HEADS: dict[str, Head] = {}


def register_head(name: str, settings: type, *, family: Callable[[Any], str] | str,
                  bidirectional: Callable[[Any], bool] | bool):
    """Register the decorated `build` function as head `name` with its settings dataclass."""
    def decorator(build):
        if name in _HEADS:
            raise ValueError(f"head {name!r} is registered twice")
        _HEADS[name] = Head(name, settings, build, family if callable(family) else (lambda _: family),
                            bidirectional if callable(bidirectional) else (lambda _: bidirectional))
        return build
    return decorator


def _load() -> None:
    for module in HEAD_MODULES:
        importlib.import_module(f"zoo.models.heads.{module}")


def names() -> list[str]:
    _load()
    return sorted(_HEADS)


def get(name: str) -> Head:
    _load()
    if name not in _HEADS:
        raise ValueError(f"unknown head {name!r}; known heads: {', '.join(sorted(_HEADS))}")
    return _HEADS[name]


def setting_types() -> dict[str, Any]:
    """Every head's fields and their types (for command-line overrides of `model.<field>`)."""
    from typing import get_type_hints

    _load()
    return {key: value for head in _HEADS.values() for key, value in get_type_hints(head.settings).items()}
