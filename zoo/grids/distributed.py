"""A grid spread over worker processes on any number of machines, through Optuna's RDB storage as
the queue (`python -m zoo.compare CONFIG --storage postgresql://... --workers N`).

The grid's runs are enqueued once as trials of a study named `grid:<experiment>` (parameter `run`,
the run's name); every worker, on any machine, pops the next waiting trial (the database hands each
to one worker), trains that run (resuming its checkpoint when one is there) and tells the trial
COMPLETE with the run's test accuracy. A worker sends Optuna heartbeats while its run trains; when
a worker dies (killed, machine lost) its trial goes stale, any other worker fails it, and Optuna's
RetryHeartbeatStaleTrialCallback puts a copy back in the queue, so the run is taken over (resumed from its
checkpoint where the checkpoint folder is shared, else started again). Before a worker ends, it
checks the grid against the tracking store: a run neither finished nor failed during this command
(lost, or failed in an earlier one) goes back in the queue. A run already FINISHED in the grid's
MLflow experiment is never trained again. Why Optuna and not a queue of our own or Ray: the
studies already run on this storage with heartbeats, a team already has the PostgreSQL it needs,
and Ray would add a cluster to run for what is a list of independent runs.
"""

from __future__ import annotations

import collections
import datetime
import os
import sys
import time

from zoo.machine import processes
from zoo.grids import compare

RUN_PARAM = "run"
FAILED_ATTR = "failed_with_exit"  # a trial whose training failed: not put back in the queue
MAX_REQUEUES = 3  # times one worker puts a lost run back in the queue before it gives up on it
POLL_S = 2.0


def study_name(grid: compare.GridConfig) -> str:
    return f"grid:{grid.experiment}"


def open_queue(grid: compare.GridConfig, storage_url: str, heartbeat_s: int = 30, grace_s: int = 120):
    """The grid's queue study, every run of the grid enqueued once (whoever opens it first)."""
    import warnings

    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    from zoo.studies.storage import rdb_storage, storage_lock

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = rdb_storage(storage_url, heartbeat_s=heartbeat_s, grace_s=grace_s,
                               stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3))
    names = [config.run_name for config in grid.run_configs()]
    with storage_lock(storage_url):  # one process enqueues; the others find the runs there
        study = optuna.create_study(study_name=study_name(grid), storage=storage, direction="maximize", load_if_exists=True)
        queued = {trial.user_attrs.get(RUN_PARAM) for trial in study.get_trials(deepcopy=False)}
        for name in names:
            if name not in queued:  # the name rides as a user attribute too: a retried copy keeps it
                study.enqueue_trial({RUN_PARAM: name}, user_attrs={RUN_PARAM: name})
    return study, CategoricalDistribution(names)


def worker(grid: compare.GridConfig, storage_url: str, heartbeat_s: int = 30, grace_s: int = 120) -> int:
    """Train runs from the queue until every run of the grid is finished or failed for good; returns how
    many failed here."""
    from optuna.trial import TrialState

    study, runs = open_queue(grid, storage_url, heartbeat_s, grace_s)
    failed, requeues = 0, collections.Counter()  # runs this worker put back in the queue, and how often
    started = datetime.datetime.now()
    while True:
        fail_stale(study)  # a dead worker's run goes back in the queue
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            if study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                time.sleep(POLL_S)  # others are training the last runs: one of them may die and need taking over
                continue
            outcome = requeue_lost_runs(grid, study, storage_url, requeues, started)
            if outcome is not None and not outcome[0]:
                return failed + len(outcome[1])
            continue  # runs put back, or another worker queued or took some meanwhile
        trial = take(study, runs)
        if RUN_PARAM not in trial.user_attrs:  # the queue emptied under us: a fresh trial, no run of the grid
            study.tell(trial, state=TrialState.FAIL)
            continue
        config = grid.run_config(trial.params[RUN_PARAM])
        trial.set_user_attr("worker", f"pid {os.getpid()} on {os.uname().nodename}")
        status = compare.grid_run_status(config)
        if status != "finished":
            print(f"{config.run_name}: {'resuming' if status == 'resume' else 'training'} (queue trial {trial.number})", flush=True)
            child = processes.start_child(compare.train_command(grid, config, status), compare._child_environment())
            while child.poll() is None:
                study._storage.record_heartbeat(trial._trial_id)
                time.sleep(min(POLL_S, heartbeat_s))
            if not _still_ours(study, trial):
                print(f"{config.run_name}: its queue trial {trial.number} was taken over meanwhile (a heartbeat came late); "
                      "the copy in the queue decides", flush=True)
                continue
            if child.returncode != 0:
                failed += 1
                print(f"{config.run_name}: FAILED (exit {child.returncode})", file=sys.stderr, flush=True)
                trial.set_user_attr(FAILED_ATTR, child.returncode)
                study.tell(trial, state=TrialState.FAIL)
                continue
        else:
            print(f"{config.run_name}: already finished in {grid.experiment}, skipped", flush=True)
        study.tell(trial, _test_accuracy(config))


def take(study, runs):
    """The next trial of the queue (the first waiting one: a run of the grid), its first heartbeat sent at
    once: a trial never heard of cannot be seen to die. The worker sends the rest while the run trains,
    which is why Optuna's warning that heartbeats are meant for Study.optimize is silenced here."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Heartbeat of storage is supposed to be used with Study.optimize"
        trial = study.ask({RUN_PARAM: runs})
    study._storage.record_heartbeat(trial._trial_id)
    return trial


def fail_stale(study) -> None:
    """Optuna's fail_stale_trials: a dead worker's trial fails and its callback puts a copy of it back in
    the queue. (A trial that never sent a heartbeat is never stale: each is sent the moment a trial is
    taken, as Optuna's own optimize does.)"""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _still_ours(study, trial) -> bool:
    from optuna.trial import TrialState

    return study._storage.get_trial(trial._trial_id).state == TrialState.RUNNING


def requeue_lost_runs(grid: compare.GridConfig, study, storage_url: str,
                      requeues: collections.Counter, since: datetime.datetime) -> tuple[list[str], list[str]] | None:
    """With nothing waiting or running: the grid's runs that are not finished and did not fail in
    training `since` this worker started (a trial lost to a worker that died at a moment its heartbeat
    could not tell, a retry budget spent on stale heartbeats, or a run that failed in an earlier
    command: a rerun tries it again) are put back in the queue, each at most MAX_REQUEUES times by one
    worker (`requeues` counts them). Returns (put back, given up), both empty when the grid is done;
    None when another worker has queued or taken runs since the caller looked."""
    from optuna.trial import TrialState

    from zoo.studies.storage import storage_lock

    requeued, given_up = [], []
    with storage_lock(storage_url):
        trials = study.get_trials(deepcopy=False)
        if any(trial.state in (TrialState.WAITING, TrialState.RUNNING) for trial in trials):
            return None
        for config in grid.run_configs():
            own = [trial for trial in trials if trial.user_attrs.get(RUN_PARAM) == config.run_name]
            failed_now = [trial for trial in own if FAILED_ATTR in trial.user_attrs and trial.datetime_start
                          and trial.datetime_start >= since]
            if failed_now or compare.grid_run_status(config) == "finished":
                continue  # done, or failed in training during this command (said when it failed)
            if requeues[config.run_name] >= MAX_REQUEUES:
                given_up.append(config.run_name)
                continue
            study.enqueue_trial({RUN_PARAM: config.run_name}, user_attrs={RUN_PARAM: config.run_name})
            requeues[config.run_name] += 1
            requeued.append(config.run_name)
    if requeued:
        print(f"queue: {', '.join(requeued)} not finished and no longer queued; put back in the queue", flush=True)
    if given_up:
        print(f"queue: {', '.join(given_up)} put back {MAX_REQUEUES} times and still not finished; given up "
              "(rerun the command to try again)", file=sys.stderr, flush=True)
    return requeued, given_up


def _test_accuracy(config) -> float:
    from zoo import tracking
    from zoo import config as config_lib

    run_ids = tracking.finished_run_ids(config.tracking.experiment, config_lib.config_hash(config), config_lib.arch_hash(config))
    summary = tracking.run_summary(run_ids[0]) if run_ids else {}
    return float(summary.get("test_seq_acc") or 0.0)


def _worker_process(config_path: str, storage_url: str, heartbeat_s: int, grace_s: int, parent_pid: int) -> None:
    processes.die_with_parent(parent_pid)
    sys.exit(1 if worker(compare.load_grid(config_path), storage_url, heartbeat_s, grace_s) else 0)


def run_workers(grid: compare.GridConfig, storage_url: str, workers: int, heartbeat_s: int = 30) -> int:
    """`workers` worker processes on this machine (start the same command on other machines to add
    theirs); exit status 1 when a run failed."""
    import multiprocessing

    grace_s = 4 * heartbeat_s
    if workers == 1:
        return 1 if worker(grid, storage_url, heartbeat_s, grace_s) else 0
    context = multiprocessing.get_context("spawn")
    started = [context.Process(target=_worker_process, args=(str(grid.source), storage_url, heartbeat_s, grace_s, os.getpid()))
               for _ in range(workers)]
    for process in started:
        process.start()
    for process in started:
        process.join()
    return 1 if any(process.exitcode for process in started) else 0
