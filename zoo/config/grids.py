"""Grid files (`kind = "comparison"`): architectures x presets x seeds, or `[[groups]]` of them, each run's
config built as `zoo.train --grid FILE --run NAME` builds it. Planning and training them is zoo.grids."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from zoo.config.files import list_presets, parse_experiment_file
from zoo.config.layers import make_config
from zoo.config.schema import ConfigError, RunConfig
from zoo.models import registry


@dataclass
class GridBlock:
    """archs x presets x seeds, names already expanded."""

    archs: list[str]
    presets: list[str]
    seeds: list[int]
    check: bool = False  # runs that choose something before the seeds (a rate check): reported, not compared


def _union(lists) -> list:
    return list(dict.fromkeys(item for items in lists for item in items))


@dataclass
class GridConfig:
    experiment: str
    blocks: list[GridBlock]  # one for a plain grid; a grid of [[groups]] has one per group, in order
    overrides: dict[str, object] = field(default_factory=dict)
    source: Path | None = None
    # result-neutral settings of this command line (a campaign's --checkpoint-dir), passed on as --set
    local: dict[str, str] = field(default_factory=dict)

    @property
    def archs(self) -> list[str]:
        return _union(block.archs for block in self.blocks)

    @property
    def presets(self) -> list[str]:
        return _union(block.presets for block in self.blocks)

    @property
    def seeds(self) -> list[int]:
        return _union(block.seeds for block in self.blocks)

    def run_configs(self, extra: dict[str, object] | None = None) -> list[RunConfig]:
        """Every run of the grid once, in the groups' order (a run named by two groups comes first where it first appears)."""
        overrides = {**self.overrides, **self.local, **(extra or {}), "tracking.experiment": self.experiment}
        names = _union([(arch, preset, seed) for arch in block.archs for preset in block.presets for seed in block.seeds]
                       for block in self.blocks)
        return [make_config(arch, preset, seed, overrides) for arch, preset, seed in names]

    def check_runs(self) -> set[str]:
        """Names of the runs only check groups hold (a run a compared group names too is compared)."""
        def names(check: bool) -> set[str]:
            return {make_config(arch, preset, seed, {**self.overrides, "tracking.experiment": self.experiment}).run_name
                    for block in self.blocks if block.check == check
                    for arch in block.archs for preset in block.presets for seed in block.seeds}
        return names(True) - names(False)

    def run_config(self, run_name: str, extra: dict[str, object] | None = None) -> RunConfig:
        """The config of the grid's run `run_name` (as zoo.train --grid builds it in its own process)."""
        configs = {config.run_name: config for config in self.run_configs(extra)}
        if run_name not in configs:
            raise ConfigError(f"{self.source}: no run {run_name!r} in this grid; its runs: {', '.join(configs)}")
        return configs[run_name]


@dataclass
class GridGroup:
    """One `[[groups]]` table: its own archs x presets x seeds (preset and seeds default to the grid's)."""

    archs: list[str] = field(default_factory=list)  # registered names or fnmatch patterns
    preset: str = ""
    presets: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    # a check before the seeds (e.g. of the peak rate): its runs are listed in the report and left out
    # of the comparison, so a run picked for scoring best never counts among the seeds compared
    check: bool = False


@dataclass
class GridFile:
    """A comparison config file's keys, parsed by the run schema's parser (`config.build_table`)."""

    experiment: str = ""  # the MLflow experiment of the grid
    preset: str = ""  # one preset, or
    presets: list[str] = field(default_factory=list)  # several (not both); default: cpu
    archs: list[str] = field(default_factory=lambda: ["*"])  # registered names or fnmatch patterns
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    overrides: dict[str, object] = field(default_factory=dict)  # run config keys, as `--set` takes them
    groups: list[GridGroup] = field(default_factory=list)  # parts with their own archs/presets/seeds, run in order


def load_grid(path: str | Path) -> GridConfig:
    """Read and check a comparison config; every run's config is validated before anything runs."""
    grid_file, problems, keys = parse_experiment_file(path, "comparison", GridFile)
    if not grid_file.experiment.strip():
        problems.append("experiment must be a non-empty string (the MLflow experiment of the grid)")
    if "presets" in keys and not grid_file.presets:
        problems.append("presets must be a non-empty list of preset names, got []")
    if grid_file.groups and "archs" in keys:
        problems.append("a grid of [[groups]] names its archs in each group, not at the top level")
    tables = grid_file.groups or [GridGroup(grid_file.archs)]
    blocks = []
    for number, group in enumerate(tables, 1):
        where = f"groups[{number}]: " if grid_file.groups else ""
        if grid_file.groups and group.preset and group.presets:
            problems.append(f"{where}give either preset or presets, not both")
        chosen = GridFile(preset=group.preset or ("" if group.presets else grid_file.preset),
                          presets=group.presets or ([] if group.preset else grid_file.presets))
        seeds = group.seeds or grid_file.seeds
        group_problems: list[str] = []
        presets = _presets(chosen, group_problems)
        archs = _expand(group.archs, group_problems)
        if not seeds or any(s < 0 for s in seeds):
            group_problems.append(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
        elif len(set(seeds)) != len(seeds):
            group_problems.append(f"seeds repeat: {seeds}")
        problems += [where + problem for problem in group_problems]
        blocks.append(GridBlock(archs, presets, seeds, group.check))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    grid = GridConfig(grid_file.experiment, blocks, grid_file.overrides, Path(path))
    grid.run_configs()  # every run validated now, before the first one trains
    return grid


def _presets(grid_file: GridFile, problems: list[str]) -> list[str]:
    """`preset = "tiny"` or `presets = ["a", "b"]` (not both); default: cpu."""
    if grid_file.preset and grid_file.presets:
        problems.append("give either preset (one) or presets (a list), not both")
        return []
    presets = grid_file.presets or [grid_file.preset or "cpu"]
    if len(set(presets)) != len(presets):
        problems.append(f"presets repeat: {presets}")
    known = list_presets()
    for preset in presets:
        if preset not in known:
            problems.append(f"unknown preset {preset!r}; presets: {', '.join(known)}")
    return presets


def _expand(patterns: list[str], problems: list[str]) -> list[str]:
    if not patterns:
        problems.append("archs must be a non-empty list of names or patterns")
        return []
    names: list[str] = []
    for pattern in patterns:
        matched = fnmatch.filter(registry.list_models(), pattern)
        if not matched:
            problems.append(f"archs entry {pattern!r} matches no registered model; known: {', '.join(registry.list_models())}")
        names += [name for name in matched if name not in names]
    return names
