"""Grids of architectures x presets x seeds (the command: python -m zoo.compare, zoo.commands.compare):
loaded from comparison configs, planned against the runs already tracked, and trained one run at a
time here or spread over workers (zoo.grids.distributed); every run claimed so it is trained once."""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from zoo.fitting import processes
from zoo import config as config_lib
from zoo.models import registry
from zoo.config import ConfigError, RunConfig

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
        return [config_lib.make_config(arch, preset, seed, overrides) for arch, preset, seed in names]

    def check_runs(self) -> set[str]:
        """Names of the runs only check groups hold (a run a compared group names too is compared)."""
        def names(check: bool) -> set[str]:
            return {config_lib.make_config(arch, preset, seed, {**self.overrides, "tracking.experiment": self.experiment}).run_name
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
    grid_file, problems, keys = config_lib.parse_experiment_file(path, "comparison", GridFile)
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
    known = config_lib.list_presets()
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


def run_status(config: RunConfig) -> str:
    """'finished' (in the grid's experiment), 'resume' (an unfinished checkpoint) or 'new'."""
    from zoo import tracking
    from zoo.fitting.checkpoints import RunCheckpoint

    if tracking.finished_run_ids(config.tracking.experiment, config_lib.config_hash(config), config_lib.arch_hash(config)):
        return "finished"  # a run of an edited variant (another arch_hash) is stale: trained again
    state = RunCheckpoint(config).state()
    return "resume" if state is not None and not state.finished else "new"


def claim_run(config: RunConfig, holder: str):
    """(claim, status) for starting `config`'s run now: (None, ...) when another live process holds the
    run (another campaign or grid on the same config) or it has finished meanwhile, each said in a
    line; else the claim (`RunCheckpoint.claim`, held until the training ends) and 'resume' or 'new'."""
    from zoo.fitting.checkpoints import RunCheckpoint

    checkpoint = RunCheckpoint(config)
    claim = checkpoint.claim(holder)
    if claim is None:
        print(f"{config.run_name}: started by another process ({(checkpoint.folder / 'claim').read_text().strip()}); left to it", flush=True)
        return None, "taken"
    status = run_status(config)  # now, not when the to-do list was made: another process may have finished it
    if status == "finished":
        claim.close()
        print(f"{config.run_name}: finished meanwhile in {config.tracking.experiment}; skipped", flush=True)
        return None, status
    return claim, status


def train_command(grid: GridConfig, config: RunConfig, status: str) -> list[str]:
    """One run of the grid in its own process: it reads the same grid file and picks its run by name,
    so the config is never turned into strings and parsed back."""
    command = [sys.executable, "-m", "zoo.train", "--grid", str(grid.source), "--run", config.run_name]
    command += [argument for key, value in grid.local.items() for argument in ("--set", f"{key}={value}")]
    return command + (["--resume"] if status == "resume" else [])


def _child_environment() -> dict[str, str]:
    """Under `mlflow run` the grid is one run: its trainings must start their own runs, not log into it."""
    return {key: value for key, value in os.environ.items() if key not in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID")}


def plan_of(grid: GridConfig) -> list[tuple[RunConfig, str]]:
    """Each run of the grid and its status now: finished, resume or new."""
    return [(config, run_status(config)) for config in grid.run_configs()]


def plan_summary(grid: GridConfig, plan: list[tuple[RunConfig, str]]) -> str:
    """One line: the grid's shape, budgets, and how many runs are finished, to resume and new."""
    configs = [config for config, _ in plan]
    budgets = sorted({config.train.samples for config in configs})
    shape = (f"{len(grid.archs)} architectures x {len(grid.presets)} preset(s) ({', '.join(grid.presets)}) x {len(grid.seeds)} seeds"
             if len(grid.blocks) == 1 else
             f"{len(configs)} runs in {len(grid.blocks)} groups of {len(grid.archs)} architectures, presets {', '.join(grid.presets)}")
    return (f"{grid.experiment}: {shape}, {'/'.join(f'{b:,}' for b in budgets)} samples each; "
            f"{sum(s == 'finished' for _, s in plan)} finished, {sum(s == 'resume' for _, s in plan)} to resume, "
            f"{sum(s == 'new' for _, s in plan)} new")


def record_plan(grid: GridConfig, plan: list[tuple[RunConfig, str]]) -> None:
    """A dry run's record in the launched run (under `mlflow run -e compare`)."""
    _record_in_launched_run(grid, plan, [])


def run_distributed(grid: GridConfig, storage: str, workers: int, heartbeat: int) -> int:
    """The grid spread over workers on any number of machines through an Optuna RDB storage."""
    from zoo.grids import distributed

    returncode = distributed.run_workers(grid, storage, workers, heartbeat)
    _record_in_launched_run(grid, plan_of(grid), [])
    return returncode


def run_plan(grid: GridConfig, plan: list[tuple[RunConfig, str]]) -> int:
    """Train the plan's unfinished runs one after another on this machine (each claimed, so two
    processes never train one run). Returns 0, 1 when a run failed, 130 when interrupted."""
    failed = []
    started = time.perf_counter()
    for number, (config, status) in enumerate(plan, 1):
        prefix = f"[{number}/{len(plan)}] {config.run_name}"
        if status == "finished":
            print(f"{prefix}: already finished in {grid.experiment}, skipped", flush=True)
            continue
        claim, status = claim_run(config, f"zoo.compare {grid.source}")
        if claim is None:
            continue
        print(f"{prefix}: {'resuming' if status == 'resume' else 'training'} "
              f"({time.perf_counter() - started:.0f} s into the grid)", flush=True)
        try:
            returncode = processes.run_training(train_command(grid, config, status), _child_environment())
        except KeyboardInterrupt:
            print(f"\n{prefix}: interrupted; rerun the same command to resume the grid", file=sys.stderr)
            return 130
        finally:
            claim.close()
        if returncode != 0:
            failed.append(config.run_name)
            print(f"{prefix}: FAILED (exit {returncode}); the grid goes on", file=sys.stderr, flush=True)
    _record_in_launched_run(grid, [(config, run_status(config)) for config, _ in plan], failed)
    if failed:
        print(f"{len(failed)} of {len(plan)} runs failed: {', '.join(failed)}; rerun the command to retry them", file=sys.stderr)
        return 1
    print(f"grid complete; report: python -m zoo.report --experiment {grid.experiment}")
    return 0


def _record_in_launched_run(grid: GridConfig, plan: list[tuple[RunConfig, str]], failed: list[str]) -> None:
    """Under `mlflow run -e compare`: the grid, where its runs are, and each one's state, in the launched run."""
    from zoo import tracking

    rows = "\n".join(f"{config.run_name},{'failed' if config.run_name in failed else status}" for config, status in plan)
    tracking.record_in_launched_run(
        tags={"kind": "grid", "experiment": grid.experiment},
        params={"config_file": str(grid.source or ""), "experiment": grid.experiment, "archs": ",".join(grid.archs),
                "presets": ",".join(grid.presets), "seeds": ",".join(map(str, grid.seeds))},
        metrics={"runs": len(plan), "runs_finished": sum(status == "finished" for _, status in plan),
                 "runs_failed": len(failed)},
        texts={"grid.csv": "run_name,status\n" + rows + "\n"})

