"""Campaigns: a long grid that outlives any one process or machine (the command: python -m zoo.campaign,
zoo.commands.campaign). Its runs are trained one at a time (or several), each resumed from its
checkpoint; STATE.md and the report are written after each, the best run shipped when it beats the
shipped model, and all of it committed so a lost machine loses at most the run in flight."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from zoo.commits import commit
from zoo.machine import processes
from zoo.grids import compare
from zoo import config as config_lib


@dataclass
class RunState:
    name: str
    status: str  # finished / in progress / new
    epochs_done: int
    epochs: int
    samples: int
    hours: float | None  # measured training time (sum of epoch times), when the run was tracked
    test_seq_acc: float | None
    machine: str | None = None  # where it trained (the run's `machine` param), when the store holds the run


def committed_tables(out: Path):
    """The run tables committed under `out` by an earlier campaign command (None when there are none):
    on a fresh machine, without the tracking store, they say which runs are already done."""
    from zoo.tracking import run_tables

    if not (out / run_tables.CSV_NAMES["runs"]).is_file():
        return None
    try:
        return run_tables.RunTables.from_csv(out)
    except (run_tables.ReportDataError, ValueError, KeyError):
        return None


def run_states(grid: compare.GridConfig, out: Path | None = None) -> list[RunState]:
    """Where each run of the grid stands, from the tracking store, the checkpoints and the run tables
    committed under `out` (a run finished on another machine counts as finished)."""
    from zoo import tracking
    from zoo.fitting.checkpoints import RunCheckpoint

    committed = committed_tables(out) if out is not None else None
    states = []
    for config in grid.run_configs():
        status = compare.grid_run_status(config)
        if status != "finished" and committed is not None:
            rows = committed.runs[committed.runs["config_hash"].astype(str) == config_lib.config_hash(config)]
            if len(rows):
                row = rows.iloc[-1]
                epoch_times = committed.curves.loc[committed.curves["run_id"] == row["run_id"], "epoch_time"]
                states.append(RunState(config.run_name, "finished", config.train.epochs, config.train.epochs,
                                       config.train.samples, float(epoch_times.sum()) / 3600 or None,
                                       float(row["test_seq_acc"]), row["machine"] if isinstance(row.get("machine"), str) else None))
                continue
        checkpoint = RunCheckpoint(config).state()
        run_id = None
        if status == "finished":
            run_id = tracking.finished_run_ids(config.tracking.experiment, config_lib.config_hash(config),
                                               config_lib.arch_hash(config))[0]
        elif checkpoint is not None:
            run_id = checkpoint.run_id
        summary = tracking.run_summary(run_id) if run_id else {}
        epochs_done = config.train.epochs if status == "finished" else int(summary.get("epochs_logged", 0))
        states.append(RunState(config.run_name, "in progress" if status == "resume" else status, epochs_done,
                               config.train.epochs, config.train.samples, summary.get("train_hours"),
                               summary.get("test_seq_acc"), summary.get("machine")))
    return states


def state_markdown(grid: compare.GridConfig, states: list[RunState], machine: str) -> str:
    done = [s for s in states if s.status == "finished"]
    # hours per sample, so runs of several budgets are estimated by their own sizes; the median, as a run's
    # hours are the wall time of its epochs and one paused (SIGSTOP, a suspended machine) would skew a mean
    measured = [s.hours / (s.samples * s.epochs_done / s.epochs) for s in states if s.hours and s.epochs_done and s.samples]
    per_sample = statistics.median(measured) if measured else None
    left = sum(s.samples * (1 - s.epochs_done / s.epochs) for s in states if s.status != "finished")
    lines = [
        f"# Campaign `{grid.experiment}`: state",
        "",
        f"Written by `python -m zoo.campaign {grid.source}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"on {machine}. Rerun that command to go on: unfinished runs resume from their checkpoints.",
        "",
        f"**{len(done)} of {len(states)} runs finished**, {sum(s.status == 'in progress' for s in states)} in progress, "
        f"{sum(s.status == 'new' for s in states)} not started."
        + (f" Measured: {per_sample * 100_000:.2f} h per 100,000 samples (the median run, on the machines below); about "
           f"{left * per_sample:.1f} h of runs left." if per_sample else ""),
        "",
        "| run | status | epochs | samples | training hours | test seq acc | trained on |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in states:
        hours = f"{s.hours:.2f}" if s.hours else ""
        accuracy = f"{s.test_seq_acc:.2%}" if s.test_seq_acc is not None else ""
        lines.append(f"| {s.name} | {s.status} | {s.epochs_done}/{s.epochs} | {s.samples:,} | {hours} | {accuracy} | {s.machine or ''} |")
    lines += ["", "Finished runs' rows and curves: `runs.csv`, `curves.csv` beside this file "
              f"(`python -m zoo.report --from-csv reports/{grid.experiment}` rebuilds the report).", ""]
    return "\n".join(lines)


def write_state(grid: compare.GridConfig, out: Path) -> list[RunState]:
    """STATE.md, and the report with its CSVs once any run has finished; returns the run states."""
    from zoo.machine import hardware
    from zoo.reporting import report

    states = run_states(grid, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / report.CAMPAIGN_STATE_FILE).write_text(state_markdown(grid, states, hardware.machine_description()))
    tables = _all_finished(grid, out)
    if tables is not None:
        report.write(report.build(tables, speed=report.load_speed(out)), out, report.folder_notes(out))  # its notes kept
    return states


def _all_finished(grid: compare.GridConfig, out: Path):
    """The finished runs of the store and, for runs the store does not hold (finished on another
    machine), their committed rows; None when there are none."""
    import pandas as pd

    from zoo.tracking import run_tables
    from zoo import tracking

    try:
        stored = run_tables.from_mlflow(grid.experiment)
    except (run_tables.ReportDataError, tracking.TrackingError):
        stored = None
    committed = committed_tables(out)
    if committed is None or stored is None:
        return stored or committed
    kept = ~committed.runs["run_id"].isin(stored.runs["run_id"])
    old_ids = set(committed.runs.loc[kept, "run_id"])

    def merged(name: str):
        frames = [getattr(committed, name), getattr(stored, name)]
        frames[0] = frames[0][frames[0]["run_id"].isin(old_ids)]
        return pd.concat([frame.drop(columns="variant", errors="ignore") for frame in frames], ignore_index=True)

    return run_tables.RunTables(grid.experiment, merged("runs"), merged("curves"), merged("char_errors"), merged("misreads"))


@dataclass
class Shipping:
    shipped: bool
    line: str  # what was shipped, or why not


def ship_if_better(grid: compare.GridConfig, name: str, folder: Path | None = None) -> Shipping | None:
    """Ship the grid's best finished run as `name` when nothing is shipped under that name, or when the
    run is the same task (charset, lengths, input size, data source) tested on the same test (seed,
    size) and beats the shipped model there; anything else is refused, saying why. None: no run yet."""
    from zoo.inference import pretrained
    from zoo.tracking import shipping
    from zoo import tracking

    best = tracking.best_finished_run(grid.experiment)
    if best is None:
        return None
    folder = folder or pretrained.PRETRAINED_DIR
    refusal = pretrained.why_not_ship(tracking.model_run(best["model_uri"]), best["test_seq_acc"],
                                      pretrained.shipped_card(name, folder))
    if refusal:
        return Shipping(False, f"not shipped as {name}: the best run, {best['run_name']}, is {refusal}")
    shipping.ship(best["model_uri"], name, folder)
    return Shipping(True, f"shipped {name}: {best['run_name']} ({best['test_seq_acc']:.2%} on the test set)")


def unfinished_in_order(configs: list, states: list[RunState]) -> list:
    """The configs of the runs not finished: those in progress first (their checkpoints live on one
    machine only, and they are the nearest results), then the grid's order."""
    unfinished = [(config, state) for config, state in zip(configs, states) if state.status != "finished"]
    return [config for config, state in sorted(unfinished, key=lambda pair: pair[1].status != "in progress")]


def run(grid: compare.GridConfig, out: Path, *, jobs: int = 1, hours: float | None = None, ship: str | None = None,
        commit_each: bool = False, status_only: bool = False, keep_models: bool = False) -> int:
    """Train the grid's unfinished runs (`jobs` at once; none started after `hours`), writing STATE.md
    and the report in `out` after each, shipping the best as `ship` when it beats the shipped one,
    keeping one model per architecture under `out` with `keep_models` (zoo.tracking.kept_models) and
    committing with `commit_each`; `status_only` writes the state (ships, keeps, commits) and trains nothing.
    Returns the exit status: 0, 1 when a run failed, 130 when interrupted."""
    from zoo.reporting.report import CAMPAIGN_STATE_FILE  # loaded by write_state already

    states = write_state(grid, out)
    done = f"{sum(s.status == 'finished' for s in states)} of {len(states)} runs finished"
    print(f"{grid.experiment}: {done}; state in {out / CAMPAIGN_STATE_FILE}")
    if ship or commit_each or keep_models:  # runs finished before this command (by a killed campaign, or elsewhere) count too
        _ship_and_commit(grid, ship, commit_each, out, "recorded" if status_only else f"started ({done})", keep_models)
    if status_only:
        return 0
    todo = unfinished_in_order(grid.run_configs(), states)
    workers = max(1, processes.cores() // jobs)  # the runs share the cores that render their captchas
    started, running, failed = time.monotonic(), {}, []
    try:
        while todo or running:
            while todo and len(running) < jobs:
                if hours is not None and time.monotonic() - started > hours * 3600:
                    print(f"--hours {hours} spent; rerun to go on")
                    todo = []
                    break
                config = todo.pop(0)
                claim, claimed = compare.claim_run(config, f"campaign {grid.source}")
                if claim is None:
                    continue
                print(f"{config.run_name}: {'resuming' if claimed == 'resume' else 'training'}", flush=True)
                command = compare.train_command(grid, config, claimed)
                if jobs > 1:
                    command += ["--set", f"data.workers={workers}"]  # result-neutral
                running[processes.start_child(command, compare._child_environment())] = (config, claim)
            if not running:
                break
            process = processes.wait_any(running)
            config, claim = running.pop(process)
            claim.close()
            if process.returncode != 0:
                failed.append(config.run_name)
                print(f"{config.run_name}: FAILED (exit {process.returncode}); the campaign goes on", file=sys.stderr)
            write_state(grid, out)
            _ship_and_commit(grid, ship, commit_each, out,
                             f"{config.run_name} {'finished' if process.returncode == 0 else 'failed'}", keep_models)
    except KeyboardInterrupt:
        processes.stop_after_interrupt(list(running))
        names = ", ".join(config.run_name for config, _ in running.values())
        print(f"\n{names}: interrupted; rerun the same command to resume the campaign", file=sys.stderr)
        return 130
    return 1 if failed else 0


def _ship_and_commit(grid: compare.GridConfig, ship: str | None, commit_each: bool, out: Path, what: str,
                     keep_models: bool = False) -> None:
    from zoo.inference import pretrained
    from zoo.reporting import headline
    from zoo.tracking import kept_models

    names = {config.run_name for config in grid.run_configs()}
    kept = (kept_models.keep_one_per_arch(grid.experiment, names, out,
                                          lambda name: f"python -m zoo.train --grid {config_lib.repo_path(grid.source)} --run {name}")
            if keep_models else [])
    for folder in kept:
        print(f"kept {folder.name}'s model in {folder}", flush=True)
    if kept:
        write_state(grid, out)  # its report names the kept models
    shipping = ship_if_better(grid, ship) if ship else None
    shipped = shipping is not None and shipping.shipped
    if shipping:
        print(shipping.line, flush=True)
    if commit_each:
        paths = [out] + ([pretrained.PRETRAINED_DIR / ship] if shipped else [])
        readme = headline.readme_for(out, grid.experiment, config_lib.PROJECT_DIR)
        if headline.block_names(readme, grid.experiment):
            paths.append(readme)  # the headline block showing it, rewritten with the report
        commit(paths, f"campaign {grid.experiment}: {what}" + (f"; {shipping.line}" if shipped else ""))

