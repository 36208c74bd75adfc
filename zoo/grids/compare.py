"""Grids of architectures x presets x seeds (the command: python -m zoo.compare, zoo.commands.compare):
loaded from comparison configs, planned against the runs already tracked, and trained one run at a
time here or spread over workers (zoo.grids.distributed); every run claimed so it is trained once."""

from __future__ import annotations

import os
import sys
import time

from zoo import config as config_lib
from zoo.config import RunConfig
from zoo.config.grids import GridConfig, load_grid  # noqa: F401 (load_grid: read here by the grid commands)
from zoo.machine import processes


def grid_run_status(config: RunConfig) -> str:
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
    status = grid_run_status(config)  # now, not when the to-do list was made: another process may have finished it
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
    return [(config, grid_run_status(config)) for config in grid.run_configs()]


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
    _record_in_launched_run(grid, [(config, grid_run_status(config)) for config, _ in plan], failed)
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

