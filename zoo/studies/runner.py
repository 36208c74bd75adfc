"""Optuna studies of the learning-rate phases, tracked in MLflow (the command: python -m zoo.study,
zoo.commands.study): opening or resuming a study on its storage (zoo.studies.storage), the worker
processes that run its trials (each a training scored by validation full-sequence accuracy at the end
of the budget, pruned early), and the coordinator that ends with what the study leaves
(zoo.studies.results: the tuned preset, trials.csv and plots), committed on request."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable

from zoo import config as config_lib
from zoo.commits import commit
from zoo.studies.config import StudyConfig
from zoo.studies.results import export_trials, finish
from zoo.studies.storage import DEFAULT_STORAGE, StudyError, open_storage, redact, storage_lock

DEFAULT_CONFIG = config_lib.EXPERIMENTS_DIR / "studies" / "study-bigru.toml"
FINISHED_STATES = ("COMPLETE", "PRUNED")
COMMITTED_JOURNAL = "study.journal"  # --commit keeps the journal beside trials.csv


# ---- the study ----------------------------------------------------------------------------------

def make_pruner(study_config: StudyConfig):
    import optuna

    pruner = study_config.pruner
    if pruner.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=pruner.startup_trials, n_warmup_steps=pruner.warmup_epochs)
    if pruner.kind == "percentile":
        return optuna.pruners.PercentilePruner(pruner.percentile, n_startup_trials=pruner.startup_trials,
                                               n_warmup_steps=pruner.warmup_epochs)
    return optuna.pruners.NopPruner()


RESUME_SEED_STRIDE = 10_007  # seeds of processes that join a study holding trials (past any worker index)


def sampler_seed(study_config: StudyConfig, worker_index: int = 0, trials_before: int = 0) -> int:
    """The study's seed for a process starting on an empty study (so a one-worker study is reproducible),
    moved on by the trials the study already holds: a seeded sampler restarted with the same seed
    would draw the same start-up points again (a resumed study once re-ran trial 0's schedule twice)."""
    return study_config.seed + worker_index + RESUME_SEED_STRIDE * trials_before


def make_sampler(study_config: StudyConfig, worker_index: int = 0, trials_before: int = 0):
    """Seeded multivariate TPE: a one-worker study is reproducible, and the tuned schedule is the
    model's pick rather than a random draw. `group=True` because which lr_i exist depends on the
    number of phases; parallel workers get distinct seeds and lie about running trials (constant
    liar) so they do not all sample the same point; a process joining a study that holds trials
    gets a seed of its own (sampler_seed)."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # multivariate/group
        return optuna.samplers.TPESampler(seed=sampler_seed(study_config, worker_index, trials_before), multivariate=True, group=True,
                                          n_startup_trials=study_config.sampler.startup_trials, constant_liar=True)


def open_study(study_config: StudyConfig, storage_url: str | None):
    """Create the study or load it; an existing study with another search space or budget is refused.
    Processes starting together take turns (storage_lock), so none sees a half-described study."""
    storage = open_storage(storage_url)
    with storage_lock(storage_url):
        return _open_study(study_config, storage)


def _open_study(study_config: StudyConfig, storage):
    import optuna

    try:  # load first: an existing study is only read until its search space is known to match
        study = optuna.load_study(study_name=study_config.name, storage=storage, pruner=make_pruner(study_config),
                                  sampler=make_sampler(study_config))
    except KeyError:
        study = optuna.create_study(study_name=study_config.name, storage=storage, direction="maximize",
                                    load_if_exists=True, pruner=make_pruner(study_config), sampler=make_sampler(study_config))
    space = study_config.search_space()
    stored = study.user_attrs.get("search_space")
    if stored is None:
        study.set_user_attr("search_space", space)
        study.set_user_attr("arch", study_config.arch)
        study.set_user_attr("preset", study_config.preset)
    elif stored != json.loads(json.dumps(space)) or study.user_attrs.get("arch") != study_config.arch:
        raise StudyError(f"study {study_config.name!r} already exists with arch {study.user_attrs.get('arch')!r} "
                         f"and search space {stored}; this config asks for arch {study_config.arch!r} and {space}. "
                         "Give the new study another --name (the existing one is left as it is)")
    return study


def count_finished(study) -> int:
    return sum(trial.state.name in FINISHED_STATES for trial in study.get_trials(deepcopy=False))


# ---- one worker ---------------------------------------------------------------------------------

def _pruning_callback(trial):
    import keras
    import optuna

    from zoo import tracking

    class Pruned(tracking.StopRun, optuna.TrialPruned):
        pass

    class ReportAndPrune(keras.callbacks.Callback):
        """Reports val_seq_acc after every epoch; raises Pruned when the pruner says so."""

        def on_epoch_end(self, epoch, logs=None):
            trial.report(float(logs["val_seq_acc"]), step=epoch + 1)
            if trial.should_prune():
                raise Pruned(f"pruned by the study's pruner after epoch {epoch + 1} "
                             f"(val_seq_acc {logs['val_seq_acc']:.4f})")

    return ReportAndPrune()


def run_trial(trial, study_config: StudyConfig, parent_run_id: str) -> float:
    from zoo.studies.config import suggest_phases
    from zoo.fitting.loop import train

    config = study_config.base_config()
    config.train.phases = suggest_phases(trial, study_config)
    config.checkpoint_dir = str(Path(config.checkpoint_dir) / f"study-{study_config.name}" / f"trial-{trial.number}")
    config_lib.validate(config)
    trial.set_user_attr("phases", config_lib.phases_as_written(config.train.phases))  # shapes beside epochs and rates
    result = train(config, restart=True, parent_run_id=parent_run_id, final_test=False,
                   run_name=f"{study_config.arch}-trial-{trial.number:03d}",
                   extra_tags={"study": study_config.name, "trial": str(trial.number)},
                   callbacks=[_pruning_callback(trial)],
                   on_run_started=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id))
    return result.metrics["val_seq_acc"]


def worker(study_config: StudyConfig, storage_url: str | None, parent_run_id: str, worker_index: int = 0,
           on_trial_end: Callable[[object, int], None] | None = None) -> int:
    """Run trials until the study holds `trials` finished ones; returns how many this worker ran.
    `on_trial_end(study, number)` runs after each trial is told its state (`--commit` commits there).

    Exactly `trials` trials finish even with many workers: a trial whose number falls past the
    requested count among the finished and running ones is told FAIL (user attr `surplus`) unrun.
    When the slots left are held by trials another process runs (a second coordinator on the same
    study), the worker waits for them rather than ending short: a trial that finishes fills its
    slot, one whose process died (on this host, or past its heartbeat on a database) is failed and
    its slot run here.
    """
    import optuna
    from optuna.trial import TrialState

    from zoo import tracking

    # trials are runs of their own, nested under the parent in the parent's experiment (under `mlflow run`
    # that is the experiment MLflow was given, not the study's name): the UI shows them nested only there
    os.environ.pop("MLFLOW_RUN_ID", None)
    os.environ["MLFLOW_EXPERIMENT_ID"] = tracking.run_experiment_id(parent_run_id)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_config.name, storage=open_storage(storage_url), pruner=make_pruner(study_config))
    study.sampler = make_sampler(study_config, worker_index, len(study.get_trials(deepcopy=False)))  # seeded past them
    ran, failures_in_a_row, waiting = 0, 0, False
    while True:
        if count_finished(study) >= study_config.trials:
            return ran
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if count_finished(study) + len(running) >= study_config.trials:  # the slots left are being run elsewhere
            if not waiting:
                holders = sorted({f"pid {t.user_attrs.get('pid')} on {t.user_attrs.get('host')}" for t in running})
                print(f"waiting for trial(s) {', '.join(str(t.number) for t in running)} of another process "
                      f"({'; '.join(holders)}) to end", flush=True)
                waiting = True
            _fail_stale(study)
            time.sleep(WAIT_POLL_S)
            continue
        waiting = False
        trial = study.ask()
        trial.set_user_attr("host", socket.gethostname())  # at once: a process killed later is then known dead
        trial.set_user_attr("pid", os.getpid())
        taken = sorted(t.number for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)))
        if taken.index(trial.number) >= study_config.trials:
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)
            continue  # the slots are taken: wait for them (above) rather than end short
        try:
            value = run_trial(trial, study_config, parent_run_id)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
            print(f"trial {trial.number} pruned", flush=True)
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAIL)
            raise
        except Exception as error:  # a broken trial is recorded and its run is FAILED; the study goes on
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:2000])
            study.tell(trial, state=TrialState.FAIL)
            print(f"trial {trial.number} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            failures_in_a_row += 1
            if failures_in_a_row >= 3:
                raise StudyError(f"3 trials in a row failed; the last: {type(error).__name__}: {error}") from error
            if on_trial_end:
                on_trial_end(study, trial.number)
            continue
        else:
            study.tell(trial, value)
            best = study.best_trial
            print(f"trial {trial.number} finished: val_seq_acc {value:.4f}; best so far trial {best.number} "
                  f"({best.value:.4f})", flush=True)
        if on_trial_end:
            on_trial_end(study, trial.number)
        failures_in_a_row = 0
        ran += 1


WAIT_POLL_S = 5.0  # how often a worker waiting for another process's trials looks again


def _fail_stale(study) -> None:
    """Fail the trials whose process is gone: on this host by pid, elsewhere by Optuna's heartbeat (RDB)."""
    import optuna

    import warnings

    fail_dead_trials(study, end_runs=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a no-op on storages without heartbeats


def _worker_process(study_config: StudyConfig, storage_url: str | None, parent_run_id: str, parent_pid: int,
                    worker_index: int) -> None:
    from zoo.machine.processes import die_with_parent

    die_with_parent(parent_pid)  # a SIGKILL of the coordinator ends its workers too
    try:
        worker(study_config, storage_url, parent_run_id, worker_index)
    except KeyboardInterrupt:
        sys.exit(130)


# ---- the coordinator ----------------------------------------------------------------------------

ORPHAN_AFTER_S = 120  # a RUNNING trial with no process recorded this long after it started: its worker died taking it


def fail_dead_trials(study, end_runs: bool = True) -> int:
    """Trials left RUNNING by a process of this host that no longer exists are failed (and, with
    `end_runs`, the MLflow runs of failed trials still RUNNING are ended KILLED)."""
    from optuna.trial import TrialState

    from zoo import tracking

    failed, now = 0, datetime.datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid, host = trial.user_attrs.get("pid"), trial.user_attrs.get("host")
        # a worker records its pid the moment it takes a trial: one without it long after was killed in between
        orphan = pid is None and trial.datetime_start is not None and (now - trial.datetime_start).total_seconds() > ORPHAN_AFTER_S
        if orphan or (host == socket.gethostname() and pid is not None and not _alive(pid)):
            study.tell(trial.number, state=TrialState.FAIL)
            failed += 1
    if not end_runs:
        return failed
    for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if run_id := trial.user_attrs.get("mlflow_run_id"):
            tracking.end_if_running(run_id, "KILLED", "its worker died mid-trial; the study reran the slot")
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parent_run(study, study_config: StudyConfig, storage_url: str | None) -> str:
    """The study's MLflow parent run: the one `mlflow run` opened, else the study's own (kept in its user
    attrs, so a later session and a second `zoo.study` process on the same storage find the same one)."""
    from zoo import tracking

    if os.environ.get("MLFLOW_RUN_ID"):  # `mlflow run -e study`: the run MLflow opened holds this session's trials
        run_id = os.environ["MLFLOW_RUN_ID"]
        study.set_user_attr("mlflow_parent_run_id", run_id)
    else:
        with storage_lock(storage_url):  # one parent even when several processes start the study at once
            run_id = study.user_attrs.get("mlflow_parent_run_id")  # read again from the storage, under the lock
            if run_id and tracking.run_exists(run_id):
                tracking.reopen_run(run_id, study_config.name)
            else:
                run_id = tracking.create_run(study_config.name, f"study-{study_config.name}",
                                             {"study": study_config.name, "arch": study_config.arch, "kind": "study"})
                study.set_user_attr("mlflow_parent_run_id", run_id)
    tracking.log_to_run(run_id, params={
        "study_name": study_config.name, "storage": redact(storage_url or str(DEFAULT_STORAGE)),
        "arch": study_config.arch, "preset": study_config.preset, "budget_epochs": study_config.epochs,
        "budget_samples": study_config.samples(), "seed": study_config.seed, "trials": study_config.trials,
        "search_space": json.dumps(study_config.search_space()), "pruner": json.dumps(study_config.pruner.__dict__),
        "config_file": study_config.source,
    })
    return run_id


def committer(study_config: StudyConfig, journal: Path, report_dir: Path) -> Callable[[object, int], None]:
    """After each trial: trials.csv written and committed with the journal, so a clone on any machine
    continues the study (`--commit`). Only finished trials are in it: one worker asks for the next
    trial after this commit, so no trial the clone cannot finish is left RUNNING in what is committed."""

    def on_trial_end(study, number: int) -> None:
        state = study.get_trials(deepcopy=False)[number].state.name.lower()
        commit([journal, export_trials(study, report_dir)],
               f"study {study_config.name}: trial {number} {state} ({count_finished(study)}/{study_config.trials} finished)")

    return on_trial_end


def run(study_config: StudyConfig, storage: str | None, workers: int, tuned_dir: Path, report_dir: Path,
        journal: Path | None = None) -> int:
    """Open (or resume) the study and run `workers` worker processes until it holds its trials; then
    write the tuned preset, trials.csv and plots, and (with `journal`, the committed journal file)
    git-commit them. Returns the exit status: 0, 1 when a worker failed, 2 when the storage cannot be
    opened, 130 when interrupted."""
    try:
        study = open_study(study_config, storage)
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from zoo import tracking

    stale = fail_dead_trials(study)
    parent_run_id = parent_run(study, study_config, storage)
    before = count_finished(study)
    print(f"study {study_config.name!r}: {before}/{study_config.trials} trials finished"
          + (f", {stale} left running by a dead worker failed" if stale else "")
          + f"; {study_config.samples():,} samples per trial on preset {study_config.preset!r}; "
          f"MLflow parent run {parent_run_id}", flush=True)
    try:
        if workers == 1:
            on_trial_end = committer(study_config, journal, report_dir) if journal else None
            worker(study_config, storage, parent_run_id, on_trial_end=on_trial_end)
        else:
            context = multiprocessing.get_context("spawn")
            processes = [context.Process(target=_worker_process,
                                         args=(study_config, storage, parent_run_id, os.getpid(), index))
                         for index in range(workers)]
            for process in processes:
                process.start()
            for process in processes:
                process.join()
            if failed := [p.exitcode for p in processes if p.exitcode]:
                raise StudyError(f"{len(failed)} worker process(es) exited with {failed}")
    except (KeyboardInterrupt, StudyError) as error:
        if not os.environ.get("MLFLOW_RUN_ID"):
            tracking.end_run(parent_run_id, "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        print(f"\nstopped ({error or 'interrupted'}): {count_finished(study)}/{study_config.trials} trials finished; "
              "rerun the same command to continue the study", file=sys.stderr)
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    fail_dead_trials(study)
    preset = finish(study, study_config, parent_run_id, tuned_dir, report_dir)
    if journal:
        commit([journal, report_dir, *([preset] if preset else [])],
               f"study {study_config.name}: {count_finished(study)}/{study_config.trials} trials finished; report"
               + (f" and {preset.name}" if preset else ""))
    from optuna.trial import TrialState

    still_running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))  # another process's trials
    if not os.environ.get("MLFLOW_RUN_ID") and not still_running:
        tracking.end_run(parent_run_id, "FINISHED")
    print(f"study {study_config.name!r}: {count_finished(study)} trials finished")
    print(tracking.run_page_line(parent_run_id))
    if preset:
        print(f"best trial {study.best_trial.number}: val_seq_acc {study.best_value:.4f}, params {study.best_params}")
        print(f"wrote {preset} and {report_dir}/trials.csv")
    return 0

