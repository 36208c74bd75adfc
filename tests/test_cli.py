"""Every command's --help says in full what it does and what each option means."""

import argparse
import importlib

import pytest

COMMANDS = ["train", "evaluate", "predict", "study", "compare", "report", "campaign", "bench", "pretrained", "pil_captchas"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_describes_the_command_and_every_option(command, monkeypatch):
    module = importlib.import_module(f"zoo.{command}")
    parsers = []

    def capture(self, args=None, namespace=None):
        parsers.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        module.main([])
    (parser,) = parsers
    description = parser.description
    assert not description.startswith("`python -m") and description[0].isupper(), description[:80]
    summary = description.split("\n\n")[0]
    assert summary.rstrip().endswith((".", ")", "`")), f"cut mid-sentence: ...{summary[-80:]!r}"
    unexplained = [action.option_strings or action.dest for action in parser._actions if not action.help]
    assert not unexplained, f"options without help: {unexplained}"
    assert parser.format_help()
