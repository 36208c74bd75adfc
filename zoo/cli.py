"""The command lines' shared shape: `--help` says in full what a command does, from its module docstring."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def help_text(doc: str) -> str:
    """A module docstring without its leading usage line (argparse writes the usage itself)."""
    text = doc.strip()
    if text.startswith("`python -m"):
        text = text[text.index("`", 1) + 1:].lstrip(": \n")
    return text[:1].upper() + text[1:]


def blank_means(convert: Callable[[str], Any], default: Any) -> Callable[[str], Any]:
    """An argparse `type` that reads "" as `default`: MLproject passes "" for a parameter left unset,
    so the defaults live here in the code and nowhere else."""
    def parse(text: str) -> Any:
        return default if text == "" else convert(text)
    parse.__name__ = getattr(convert, "__name__", "value")  # argparse names the type in its errors
    return parse


def comma_separated(text: str) -> list[str]:
    """`a, b,c` -> ["a", "b", "c"] (an argparse type for lists given as one argument)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """An ArgumentParser for `prog` whose description is the whole docstring, laid out as written."""
    return argparse.ArgumentParser(prog=prog, description=help_text(doc),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def progress_verbosity() -> int:
    """Keras' `verbose` for fit and predict: 1 (a live progress bar) on a terminal, 2 (one plain line
    per epoch) when output goes to a file or a pipe, where a bar's redraws are thousands of ANSI lines."""
    import sys

    return 1 if sys.stdout.isatty() else 2
