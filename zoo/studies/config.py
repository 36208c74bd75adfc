"""What a learning-rate study searches: its config (TOML in experiments/, `kind = "study"`) and the
mapping from an Optuna trial to a run config whose phases share one fixed sample budget.

    kind = "study"
    name = "lr-phases-bigru"       # Optuna study name and MLflow experiment
    arch = "bigru"
    preset = "tiny"                # data, model, batch size, steps per epoch, validation set
    epochs = 12                    # the fixed budget: epochs x steps_per_epoch x batch_size samples
    trials = 16
    seed = 0                       # every trial trains on this seed's sample stream
    [space]
    phases = [1, 3]                # how many phases (inclusive range)
    lr = [1e-4, 1e-2]              # each phase's learning rate, log scale
    decay = ["constant", "cosine"] # the last phase's shapes to choose from (default: constant only)
    warmup = [0.0, 0.5]            # the first phase's linear warm-up, as a share of its epochs (default: none)
    [pruner]
    kind = "median"                # median | percentile | none
    startup_trials = 3
    warmup_epochs = 2
    [sampler]                      # seeded multivariate TPE (group=True: the space depends on `phases`)
    startup_trials = 4             # random trials before TPE models the results

The best schedule is written as the preset `tuned_preset` (default `tuned-<arch>`); a study never
overwrites a tuned preset that another study wrote (`tuned_written_by`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import config as config_lib
from zoo.models import registry
from zoo.config import ConfigError, Phase, RunConfig

PRUNERS = ("median", "percentile", "none")
MIN_SHARE, MAX_SHARE = 0.05, 0.95  # each phase's share of the epochs still unassigned


@dataclass(frozen=True)
class SearchSpace:
    phases: tuple[int, int] = (1, 3)  # how many phases, inclusive
    lr: tuple[float, float] = (1e-4, 1e-2)  # each phase's learning rate, log scale
    decay: tuple[str, ...] = ("constant",)  # the last phase's decay, one of these (config.DECAYS; to end_lr 0)
    warmup: tuple[float, float] = (0.0, 0.0)  # the first phase's warm-up share of its epochs, [low, high]


@dataclass(frozen=True)
class PrunerConfig:
    kind: str = "median"
    startup_trials: int = 3
    warmup_epochs: int = 2
    percentile: float = 50.0


@dataclass(frozen=True)
class SamplerConfig:
    startup_trials: int = 4  # random trials before the seeded multivariate TPE takes over


@dataclass
class StudyConfig:
    """A study config file's tables, parsed by the run schema's parser (`config.build_table`)."""

    name: str = ""
    arch: str = "bigru"
    preset: str = "tiny"
    epochs: int = 12
    trials: int = 16
    seed: int = 0
    tuned_preset: str = ""  # the preset the best schedule is written as (default: tuned-<arch>)
    space: SearchSpace = field(default_factory=SearchSpace)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    overrides: dict[str, Any] = field(default_factory=dict)  # run config keys, as `--set` takes them
    source: str = ""

    def tuned_name(self) -> str:
        return self.tuned_preset or f"tuned-{self.arch}"

    def base_config(self) -> RunConfig:
        """The preset with this study's arch, seed and overrides (phases replaced per trial)."""
        # the study's `epochs` are the budget: a preset's train.sample_budget would rescale the trials' phases
        overrides = {**self.overrides, "tracking.experiment": self.name, "tracking.log_model": False,
                     "train.sample_budget": 0}
        return config_lib.make_config(self.arch, self.preset, self.seed, overrides)

    def samples(self) -> int:
        base = self.base_config().train
        return self.epochs * base.steps_per_epoch * base.batch_size

    def search_space(self) -> dict[str, Any]:
        space = {"phases": list(self.space.phases), "lr": list(self.space.lr),
                 "share": [MIN_SHARE, MAX_SHARE], "epochs": self.epochs, "samples": self.samples()}
        # the shapes are keys only when searched, so a study stored before they existed still matches
        if self.space.decay != SearchSpace.decay:
            space["decay"] = list(self.space.decay)
        if self.space.warmup != SearchSpace.warmup:
            space["warmup"] = list(self.space.warmup)
        return space


def load_study_config(path: str | Path, *, arch: str | None = None, trials: int | None = None,
                      name: str | None = None) -> StudyConfig:
    """Read and check a study config (command-line values win): the tables' keys and types by the
    run schema's parser, then the ranges, every problem reported at once."""
    given = {key: value for key, value in {"arch": arch, "trials": trials, "name": name}.items() if value is not None}
    config, problems, _ = config_lib.parse_experiment_file(path, "study", StudyConfig, given)
    config.name = config.name or f"lr-phases-{config.arch}"
    config.source = str(path)
    problems += _range_problems(config)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    config.base_config()  # the preset and overrides must make a valid run before any trial starts
    return config


def _range_problems(config: StudyConfig) -> list[str]:
    problems = []
    for key in ("epochs", "trials"):
        if getattr(config, key) <= 0:
            problems.append(f"{key} must be a positive integer, got {getattr(config, key)!r}")
    space = config.space
    for key in ("phases", "lr"):
        if len(getattr(space, key)) != 2:
            problems.append(f"space.{key} must be a [low, high] pair, got {list(getattr(space, key))}")
    if len(space.phases) == len(space.lr) == 2:
        if not 1 <= space.phases[0] <= space.phases[1]:
            problems.append(f"space.phases must be [low, high] with 1 <= low <= high, got {list(space.phases)}")
        if not 0 < space.lr[0] < space.lr[1]:
            problems.append(f"space.lr must be [low, high] with 0 < low < high, got {list(space.lr)}")
        if config.epochs < space.phases[0]:
            problems.append(f"epochs ({config.epochs}) cannot hold {space.phases[0]} phases of at least one epoch each")
    unknown_decays = [decay for decay in space.decay if decay not in config_lib.DECAYS]
    if not space.decay or unknown_decays or len(set(space.decay)) != len(space.decay):
        problems.append(f"space.decay must list distinct shapes from {', '.join(config_lib.DECAYS)}, got {list(space.decay)}")
    if len(space.warmup) != 2 or not 0 <= space.warmup[0] <= space.warmup[1] < 1:
        problems.append(f"space.warmup must be a [low, high] share of the first phase with 0 <= low <= high < 1, "
                        f"got {list(space.warmup)}")
    if config.tuned_preset and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", config.tuned_preset):
        problems.append(f"tuned_preset must be a preset name (letters, digits, '.', '_', '-'), got {config.tuned_preset!r}")
    if config.arch not in registry.list_models():
        problems.append(f"unknown arch {config.arch!r}; known: {', '.join(registry.list_models())}")
    if config.preset not in config_lib.list_presets():
        problems.append(f"unknown preset {config.preset!r}; presets: {', '.join(config_lib.list_presets())}")
    if config.pruner.kind not in PRUNERS:
        problems.append(f"pruner.kind must be one of {PRUNERS}, got {config.pruner.kind!r}")
    for key in ("startup_trials", "warmup_epochs"):
        if getattr(config.pruner, key) < 0:
            problems.append(f"pruner.{key} must be >= 0, got {getattr(config.pruner, key)!r}")
    if not 0 <= config.pruner.percentile <= 100:
        problems.append(f"pruner.percentile must be a number from 0 to 100, got {config.pruner.percentile!r}")
    if config.sampler.startup_trials < 0:
        problems.append(f"sampler.startup_trials must be >= 0, got {config.sampler.startup_trials!r}")
    return problems


def split_epochs(total: int, shares: list[float]) -> list[int]:
    """`len(shares) + 1` phase lengths summing to `total`, each >= 1 epoch; share i is the fraction
    of the epochs still unassigned that phase i takes."""
    lengths, remaining = [], total
    for index, share in enumerate(shares):
        later = len(shares) - index  # phases still to come after this one
        epochs = min(max(1, round(share * remaining)), remaining - later)
        lengths.append(epochs)
        remaining -= epochs
    return lengths + [remaining]


def suggest_phases(trial, study: StudyConfig) -> list[Phase]:
    """The trial's phases: how many, each one's learning rate and share of the fixed epoch budget,
    and, where the space has them, the last phase's decay and the first phase's warm-up."""
    space = study.space
    count = trial.suggest_int("phases", space.phases[0], min(space.phases[1], study.epochs))
    for index in range(count):
        trial.suggest_float(f"lr_{index}", *space.lr, log=True)
    for index in range(count - 1):
        trial.suggest_float(f"share_{index}", MIN_SHARE, MAX_SHARE)
    if len(space.decay) > 1:
        trial.suggest_categorical("decay", list(space.decay))
    if space.warmup[1] > 0:
        trial.suggest_float("warmup", *space.warmup)
    return phases_from_params(trial.params, study)


def phases_from_params(params: dict[str, Any], study: StudyConfig) -> list[Phase]:
    """The phases of a trial's params (those suggest_phases drew); a shape the space does not search
    takes its one value."""
    count = params["phases"]
    shares = [params[f"share_{index}"] for index in range(count - 1)]
    phases = [Phase(epochs=epochs, lr=params[f"lr_{index}"])
              for index, epochs in enumerate(split_epochs(study.epochs, shares))]
    phases[-1].decay = params.get("decay", study.space.decay[0])
    phases[0].warmup = round(params.get("warmup", study.space.warmup[0]) * phases[0].epochs, 3)
    return phases


TUNED_HEADER = "The best learning-rate phases of Optuna study"  # a tuned preset's first line starts so (results.finish)
TUNED_BY = re.compile(rf"^# {re.escape(TUNED_HEADER)} '([^']*)'")


def tuned_written_by(path: Path) -> str | None:
    """The name of the study that wrote the tuned preset at `path` (None: no such file, or not a study's)."""
    if not path.is_file():
        return None
    match = TUNED_BY.match(path.read_text().split("\n", 1)[0])
    return match.group(1) if match else None


def check_tuned_target(config: StudyConfig, folder: Path) -> Path:
    """Where the study will write its tuned preset; refused when another study's (or a hand-written)
    preset is there, before any trial trains."""
    path = Path(folder) / f"{config.tuned_name()}.toml"
    owner = tuned_written_by(path)
    if path.exists() and owner != config.name:
        what = f"study {owner!r}" if owner else "hand (not a study)"
        raise ConfigError(f"{path} was written by {what}; study {config.name!r} would overwrite it with its best "
                          f"schedule. Name this study's preset with tuned_preset = \"...\" in {config.source or 'its config'}")
    return path
