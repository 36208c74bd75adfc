"""Where experiment files live and how they are read: presets, tuned presets, grids and studies under
`experiments/<kind>/` (or the installed package's copy), each told apart by its folder and `kind`;
old flat paths still resolve, with a note saying where the file went."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from zoo.config.schema import ConfigError
from zoo.config.typed import build_table


PACKAGE_DIR = Path(__file__).resolve().parents[1]  # zoo/


# From a checkout (an editable install) everything lives in the checkout: experiments/, mlflow.db,
# reports/, checkpoints/. From an installed wheel the shipped presets and experiment configs are
# package data (zoo/experiments/, mapped from experiments/ by pyproject.toml) and what the zoo writes
# goes under the working directory, as `mlflow` and `optuna` do.
IN_CHECKOUT = (PACKAGE_DIR.parent / "pyproject.toml").is_file() and (PACKAGE_DIR.parent / "experiments").is_dir()


PROJECT_DIR = PACKAGE_DIR.parent if IN_CHECKOUT else Path.cwd()


EXPERIMENTS_DIR = PROJECT_DIR / "experiments" if IN_CHECKOUT else PACKAGE_DIR / "experiments"


USER_EXPERIMENTS_DIR = PROJECT_DIR / "experiments"  # where studies write tuned presets; searched too


def repo_path(path: str | Path) -> str:
    """A path as committed files show it (reports, model cards): relative to the repository when inside it (no
    machine's paths), else absolute."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(PROJECT_DIR)) if resolved.is_relative_to(PROJECT_DIR) else str(resolved)


KIND_FOLDERS = {"preset": "presets", "tuned": "tuned", "comparison": "grids", "study": "studies"}  # experiments/<folder>/


def experiment_paths() -> list[Path]:
    """Every experiment file: in experiments/<kind folder>/ (presets, tuned, grids, studies) and, for
    files put there by hand, experiments/ itself."""
    folders = dict.fromkeys([EXPERIMENTS_DIR, USER_EXPERIMENTS_DIR])  # one folder in a checkout
    return [path for folder in folders for pattern in ("*/*.toml", "*.toml") for path in sorted(folder.glob(pattern))
            if pattern == "*.toml" or path.parent.name in KIND_FOLDERS.values()]


def list_presets() -> list[str]:
    return sorted({path.stem for path in experiment_paths() if is_run_preset(path)})


def is_run_preset(path: Path) -> bool:
    return not tomllib.loads(path.read_text()).get("kind")  # studies/comparisons declare a kind


KIND_NAMES = {"study": ("study config", "studies"), "comparison": ("comparison config", "comparisons")}


def experiment_files(kind: str) -> list[Path]:
    """The configs in experiments/ that declare `kind = "<kind>"` (studies, comparisons)."""
    return sorted(path for path in experiment_paths() if tomllib.loads(path.read_text()).get("kind") == kind)


def read_experiment_file(path: str | Path, kind: str) -> tuple[dict[str, Any], list[str]]:
    """The raw TOML of a `kind` config and the problems found so far (a wrong kind); a missing
    file (listing the known ones) or invalid TOML raises ConfigError at once."""
    path = moved_experiment(Path(path), kind)
    if not path.is_file():
        known = ", ".join(p.name for p in experiment_files(kind)) or "(none)"
        raise ConfigError(f"no {KIND_NAMES[kind][0]} {path}; {KIND_NAMES[kind][1]} in experiments/{KIND_FOLDERS[kind]}/: {known}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    problems = [] if raw.get("kind") == kind else [f"kind must be \"{kind}\", got {raw.get('kind')!r}"]
    return raw, problems


def moved_experiment(path: Path, kind: str) -> Path:
    """An old path of a file that now lives in experiments/<kind folder>/ (`experiments/grids/heads.toml`, before
    the folder was split by kind): the file where it went, with a note saying so; any other path as given."""
    if path.is_file() or path.parent.name not in ("experiments", ""):
        return path
    moved = next((p for p in experiment_files(kind) if p.name == path.name), None)
    if moved is None:
        return path
    shown = moved.relative_to(PROJECT_DIR) if moved.is_relative_to(PROJECT_DIR) else moved
    print(f"note: {path} is now {shown} (experiments/ is split by kind: presets, tuned, grids, studies)", file=sys.stderr)
    return moved


def parse_experiment_file(path: str | Path, kind: str, cls: type, given: dict[str, Any] | None = None):
    """A `kind` config file parsed as the dataclass `cls` by the run schema's parser (`given` values,
    e.g. from the command line, win), the problems found so far, and the keys the file set (a key
    given as an empty list is not the same as one left out); a key or type problem raises."""
    raw, problems = read_experiment_file(path, kind)
    raw.pop("kind", None)
    try:
        return build_table(cls, {**raw, **(given or {})}, where=""), problems, set(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: " + "; ".join([*problems, str(error).removeprefix(": ")])) from None
