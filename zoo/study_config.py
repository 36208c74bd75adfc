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
    [pruner]
    kind = "median"                # median | percentile | none
    startup_trials = 3
    warmup_epochs = 2
    [sampler]                      # seeded multivariate TPE (group=True: the space depends on `phases`)
    startup_trials = 4             # random trials before TPE models the results
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import config as config_lib
from zoo import registry
from zoo.config import ConfigError, Phase, RunConfig

PRUNERS = ("median", "percentile", "none")
MIN_SHARE, MAX_SHARE = 0.05, 0.95  # each phase's share of the epochs still unassigned


@dataclass(frozen=True)
class SearchSpace:
    min_phases: int = 1
    max_phases: int = 3
    lr_low: float = 1e-4
    lr_high: float = 1e-2


@dataclass(frozen=True)
class PrunerConfig:
    kind: str = "median"
    startup_trials: int = 3
    warmup_epochs: int = 2
    percentile: float = 50.0


@dataclass
class StudyConfig:
    name: str
    arch: str = "bigru"
    preset: str = "tiny"
    epochs: int = 12
    trials: int = 16
    seed: int = 0
    space: SearchSpace = field(default_factory=SearchSpace)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    sampler_startup_trials: int = 4  # random trials before the seeded multivariate TPE takes over
    overrides: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def base_config(self) -> RunConfig:
        """The preset with this study's arch, seed and overrides (phases replaced per trial)."""
        overrides = {**self.overrides, "tracking.experiment": self.name, "tracking.log_model": False}
        return config_lib.make_config(self.arch, self.preset, self.seed, overrides)

    def samples(self) -> int:
        base = self.base_config().train
        return self.epochs * base.steps_per_epoch * base.batch_size

    def search_space(self) -> dict[str, Any]:
        return {"phases": [self.space.min_phases, self.space.max_phases], "lr": [self.space.lr_low, self.space.lr_high],
                "share": [MIN_SHARE, MAX_SHARE], "epochs": self.epochs, "samples": self.samples()}


TOP_KEYS = {"kind", "name", "arch", "preset", "epochs", "trials", "seed", "space", "pruner", "sampler", "overrides"}


def load_study_config(path: str | Path, *, arch: str | None = None, trials: int | None = None,
                      name: str | None = None) -> StudyConfig:
    """Read and check a study config (command-line values win); every problem is reported at once."""
    raw, problems = config_lib.read_experiment_file(path, "study")
    if unknown := sorted(set(raw) - TOP_KEYS):
        problems.append(f"unknown keys {unknown}; accepted: {sorted(TOP_KEYS)}")
    space_raw, pruner_raw = raw.get("space", {}), raw.get("pruner", {})
    if unknown := sorted(set(space_raw) - {"phases", "lr"}):
        problems.append(f"unknown [space] keys {unknown}; accepted: ['lr', 'phases']")
    if unknown := sorted(set(pruner_raw) - {"kind", "startup_trials", "warmup_epochs", "percentile"}):
        problems.append(f"unknown [pruner] keys {unknown}; accepted: ['kind', 'percentile', 'startup_trials', 'warmup_epochs']")
    sampler_raw = raw.get("sampler", {})
    if unknown := sorted(set(sampler_raw) - {"startup_trials"}):
        problems.append(f"unknown [sampler] keys {unknown}; accepted: ['startup_trials']")
    sampler_startup = sampler_raw.get("startup_trials", 4)
    if isinstance(sampler_startup, bool) or not isinstance(sampler_startup, int) or sampler_startup < 0:
        problems.append(f"sampler.startup_trials must be an integer >= 0, got {sampler_startup!r}")
    phases = _pair(space_raw.get("phases", [1, 3]), "space.phases", int, problems)
    lr = _pair(space_raw.get("lr", [1e-4, 1e-2]), "space.lr", float, problems)
    if phases and not 1 <= phases[0] <= phases[1]:
        problems.append(f"space.phases must be [low, high] with 1 <= low <= high, got {phases}")
    if lr and not 0 < lr[0] < lr[1]:
        problems.append(f"space.lr must be [low, high] with 0 < low < high, got {lr}")
    config = StudyConfig(
        name=name or raw.get("name") or f"lr-phases-{arch or raw.get('arch', 'bigru')}",
        arch=arch or raw.get("arch", "bigru"),
        preset=raw.get("preset", "tiny"),
        epochs=raw.get("epochs", 12),
        trials=trials if trials is not None else raw.get("trials", 16),
        seed=raw.get("seed", 0),
        space=SearchSpace(*(phases or (1, 3)), *(lr or (1e-4, 1e-2))),
        pruner=PrunerConfig(**{key: pruner_raw[key] for key in pruner_raw if key in PrunerConfig.__dataclass_fields__}),
        sampler_startup_trials=sampler_startup,
        overrides=raw.get("overrides", {}),
        source=str(path),
    )
    for key in ("epochs", "trials"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{key} must be a positive integer, got {value!r}")
    if isinstance(config.epochs, int) and phases and config.epochs < phases[0]:
        problems.append(f"epochs ({config.epochs}) cannot hold {phases[0]} phases of at least one epoch each")
    if config.arch not in registry.list_models():
        problems.append(f"unknown arch {config.arch!r}; known: {', '.join(registry.list_models())}")
    if config.preset not in config_lib.list_presets():
        problems.append(f"unknown preset {config.preset!r}; presets: {', '.join(config_lib.list_presets())}")
    if config.pruner.kind not in PRUNERS:
        problems.append(f"pruner.kind must be one of {PRUNERS}, got {config.pruner.kind!r}")
    for key in ("startup_trials", "warmup_epochs"):
        value = getattr(config.pruner, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"pruner.{key} must be an integer >= 0, got {value!r}")
    percentile = config.pruner.percentile
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0 <= percentile <= 100:
        problems.append(f"pruner.percentile must be a number from 0 to 100, got {percentile!r}")
    if not isinstance(config.overrides, dict):
        problems.append("overrides must be a table of config keys")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    config.base_config()  # the preset and overrides must make a valid run before any trial starts
    return config


def _pair(value: Any, key: str, kind: type, problems: list[str]):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or (kind is int and not all(isinstance(v, int) for v in value))):
        problems.append(f"{key} must be a [low, high] pair of {kind.__name__}s, got {value!r}")
        return None
    return [kind(v) for v in value]


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
    """The trial's phases: how many, each one's learning rate and share of the fixed epoch budget."""
    space = study.space
    count = trial.suggest_int("phases", space.min_phases, min(space.max_phases, study.epochs))
    rates = [trial.suggest_float(f"lr_{index}", space.lr_low, space.lr_high, log=True) for index in range(count)]
    shares = [trial.suggest_float(f"share_{index}", MIN_SHARE, MAX_SHARE) for index in range(count - 1)]
    return [Phase(epochs=epochs, lr=rate) for epochs, rate in zip(split_epochs(study.epochs, shares), rates)]


def phases_from_params(params: dict[str, Any], study: StudyConfig) -> list[Phase]:
    """The phases of a finished trial, from its params (the same mapping as suggest_phases)."""
    count = params["phases"]
    shares = [params[f"share_{index}"] for index in range(count - 1)]
    rates = [params[f"lr_{index}"] for index in range(count)]
    return [Phase(epochs=epochs, lr=rate) for epochs, rate in zip(split_epochs(study.epochs, shares), rates)]
