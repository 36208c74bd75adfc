"""The command lines' shared shape: `--help` says in full what a command does, from its module docstring."""

from __future__ import annotations

import argparse


def describe(doc: str) -> str:
    """A module docstring without its leading usage line (argparse writes the usage itself)."""
    text = doc.strip()
    if text.startswith("`python -m"):
        text = text[text.index("`", 1) + 1:].lstrip(": \n")
    return text[:1].upper() + text[1:]


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """An ArgumentParser for `prog` whose description is the whole docstring, laid out as written."""
    return argparse.ArgumentParser(prog=prog, description=describe(doc),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
