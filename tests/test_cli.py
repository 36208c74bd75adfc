"""Every command's --help says in full what it does and what each option means."""

import argparse
import importlib
from pathlib import Path

import pytest

COMMANDS = ["train", "evaluate", "predict", "study", "compare", "report", "campaign", "bench", "pretrained", "pil_captchas", "emulate"]


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


def test_mlproject_defaults_are_the_commands_own():
    """MLproject repeats each command's default (MLflow logs them as the run's params, so they must be
    real values); here they are checked against the commands' parsers, so they cannot drift."""
    import yaml

    from zoo.grids import compare
    from zoo import config
    from zoo.commands import evaluate, report, study, train

    project = yaml.safe_load((config.PROJECT_DIR / "MLproject").read_text())["entry_points"]
    parsers = {"train": train.parse_args([]), "evaluate": evaluate.parse_args(["--model", "x"])}
    for entry, module in (("report", report), ("study", study)):
        parsers[entry] = _captured_parser(module).parse_args([])
    options = {"test_size": "test_size", "test_seed": "test_seed", "overrides": None}
    for entry, namespace in parsers.items():
        for name, spec in project[entry]["parameters"].items():
            if "default" not in spec or options.get(name, name) is None:
                continue
            code_default = getattr(namespace, options.get(name, name))
            if name == "config":  # a path: the code's is absolute
                assert (config.PROJECT_DIR / spec["default"]).resolve() == Path(code_default).resolve(), entry
                continue
            assert spec["default"] == ("" if code_default is None else str(code_default)), (entry, name)
    assert project["compare"]["parameters"]["config"]["default"] == "experiments/grids/heads.toml"
    assert compare.load_grid(config.PROJECT_DIR / "experiments" / "heads.toml").experiment == "heads"


def _captured_parser(module):
    """The ArgumentParser a command's main builds (its parse_args intercepted before anything runs)."""
    captured = []

    def capture(self, args=None, namespace=None):
        captured.append(self)
        raise SystemExit(0)

    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = capture
    try:
        module.main([])
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_args = original
    return captured[0]


def test_an_installed_wheel_carries_every_subpackage_and_the_presets():
    """A non-editable install has only what pyproject.toml lists: every package under zoo/ and the
    presets (experiments/ as zoo/experiments, where zoo.config looks outside a checkout)."""
    import tomllib

    from zoo import config

    setuptools = tomllib.loads((config.PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"]
    subpackages = {".".join(p.parent.relative_to(config.PROJECT_DIR).parts) for p in (config.PROJECT_DIR / "zoo").rglob("__init__.py")}
    assert subpackages | {"zoo.experiments"} == set(setuptools["packages"])
    assert setuptools["package-dir"]["zoo.experiments"] == "experiments"
    assert setuptools["package-data"]["zoo.experiments"] == ["*/*.toml"]  # presets/, tuned/, grids/, studies/
    assert not list(config.EXPERIMENTS_DIR.glob("*.toml"))
    assert config.IN_CHECKOUT and config.EXPERIMENTS_DIR == config.PROJECT_DIR / "experiments"


def test_one_console_script_runs_every_command(capsys):
    import importlib

    from zoo import console

    assert console.main(["--version"]) == 0 and capsys.readouterr().out.startswith("captcha-zoo ")
    assert console.main([]) == 2
    listing = capsys.readouterr().out
    assert listing.startswith("usage: zoo COMMAND") and "\n  train " in listing and "\n  predict " in listing
    assert console.main(["no-such"]) == 2 and "unknown command 'no-such'; commands: predict, serve" in capsys.readouterr().err
    for name, (module, _) in console.COMMANDS.items():
        assert callable(importlib.import_module(module).main), name
    with pytest.raises(SystemExit) as exit_info:
        console.main(["predict", "--help"])
    assert exit_info.value.code == 0 and "--runtime" in capsys.readouterr().out


def test_the_installed_zoo_script_starts_a_command():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "zoo"  # pyproject's [project.scripts], installed beside this Python
    result = subprocess.run([str(script), "pretrained"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "bigru" in result.stdout, result.stderr[-2000:]
