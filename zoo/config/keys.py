"""Every configuration key with its type, default and meaning, read from the schema itself (the
dataclasses' fields and the comments beside them): `python -m zoo.train --keys` prints it, and the
configuration guide carries it (tests/test_docs.py checks they agree)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re

from zoo.config.schema import DataConfig, Phase, RunConfig, TrackingConfig, TrainConfig

SECTIONS = (("", RunConfig), ("data.", DataConfig), ("train.", TrainConfig), ("tracking.", TrackingConfig))
FIELD_LINE = re.compile(r"^\s+(\w+): [^=]+=.*?(?:\s+#\s*(.*))?$")


def field_comments(cls: type) -> dict[str, str]:
    """field -> its comment: the comment lines just above it and the one at the end of its line."""
    comments, above = {}, []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
            continue
        match = FIELD_LINE.match(line)
        if match:
            comments[match.group(1)] = " ".join([*above, match.group(2) or ""]).strip()
        above = []
    return comments


def shown_default(field: dataclasses.Field) -> str:
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        if isinstance(value, list) and value and isinstance(value[0], Phase):
            return " ".join(f"{{epochs={phase.epochs}, lr={phase.lr:g}}}" for phase in value)
        return json.dumps(value)
    return json.dumps(field.default) if isinstance(field.default, str) else str(field.default)


def key_rows() -> list[tuple[str, str, str, str]]:
    """(key, type, default, meaning) for every key `--set` and a preset accept but `model.*` (the
    architecture's fields: `python -m zoo.train --help` and docs/guide/training.md)."""
    rows = []
    for prefix, cls in SECTIONS:
        comments = field_comments(cls)
        for field in dataclasses.fields(cls):
            if dataclasses.is_dataclass(field.default_factory):  # MISSING is no dataclass
                continue  # a section: its keys follow under its prefix
            kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
            meaning = comments.get(field.name) or ("with the key above" if rows and rows[-1][0].startswith(prefix or "~") else "")
            rows.append((f"{prefix}{field.name}", kind, shown_default(field), meaning))
    return rows


def key_table() -> str:
    """The rows as a Markdown table."""
    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {cell(kind)} | `{cell(default)}` | {cell(meaning)} |" for key, kind, default, meaning in key_rows()]
    return "\n".join(lines)
