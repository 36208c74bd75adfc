"""Learning-rate studies: config checks, the phase mapping, and real studies on real Optuna storages
(a journal file, and a PostgreSQL server started for the test)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import FixedTrial, TrialState

from zoo.config import ConfigError
from zoo.studies.config import load_study_config, split_epochs, suggest_phases

STUDY = """
kind = "study"
name = "{name}"
preset = "smoke"
epochs = 3
trials = {trials}
[space]
phases = [1, 3]
lr = [1e-4, 1e-2]
[pruner]
kind = "median"
startup_trials = 1
warmup_epochs = 1
"""


def write_config(folder: Path, name="s", trials=3, text=None) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text if text is not None else STUDY.format(name=name, trials=trials))
    return path


def study_command(config: Path, storage: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "zoo.study", "--config", str(config), "--storage", storage,
            "--tuned-dir", str(config.parent / "tuned"), "--report-dir", str(config.parent / "report"), *extra]


def finished(study) -> list[int]:
    return sorted(t.number for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))


def test_a_resumed_study_samples_anew_and_a_fresh_one_stays_reproducible(tmp_path):
    from zoo.studies.runner import make_sampler, sampler_seed

    config = load_study_config(write_config(tmp_path))
    assert sampler_seed(config) == config.seed and sampler_seed(config, worker_index=1) == config.seed + 1
    assert len({sampler_seed(config, w, n) for w in range(4) for n in range(20)}) == 80  # workers x resumes: all distinct

    def first_params(sampler):
        study = optuna.create_study(direction="maximize", sampler=sampler)
        return suggest_phases(study.ask(), config)

    assert first_params(make_sampler(config)) == first_params(make_sampler(config))  # the same seed, the same draw
    assert first_params(make_sampler(config)) != first_params(make_sampler(config, trials_before=2))


def test_split_epochs_gives_every_phase_at_least_one_epoch_and_keeps_the_budget():
    assert split_epochs(12, []) == [12]
    assert split_epochs(12, [0.5, 0.5]) == [6, 3, 3]
    assert split_epochs(3, [0.05, 0.95]) == [1, 1, 1]
    assert split_epochs(4, [0.95, 0.95]) == [2, 1, 1]


def test_suggest_phases_maps_a_trial_onto_the_fixed_budget(tmp_path):
    config = load_study_config(write_config(tmp_path, text=STUDY.format(name="s", trials=2).replace("epochs = 3", "epochs = 10")))
    phases = suggest_phases(FixedTrial({"phases": 2, "lr_0": 3e-3, "lr_1": 2e-4, "share_0": 0.7}), config)
    assert [(p.epochs, p.lr) for p in phases] == [(7, 3e-3), (3, 2e-4)]
    assert config.samples() == 10 * 2 * 8


def test_a_space_with_shapes_draws_the_last_decay_and_first_warmup_and_a_plain_one_does_not(tmp_path):
    shaped = STUDY.format(name="s", trials=2).replace("epochs = 3", "epochs = 10").replace(
        "lr = [1e-4, 1e-2]", 'lr = [1e-4, 1e-2]\ndecay = ["constant", "cosine"]\nwarmup = [0.0, 0.5]')
    config = load_study_config(write_config(tmp_path, text=shaped))
    phases = suggest_phases(FixedTrial({"phases": 2, "lr_0": 3e-3, "lr_1": 2e-4, "share_0": 0.6,
                                        "decay": "cosine", "warmup": 0.25}), config)
    assert [(p.epochs, p.lr, p.warmup, p.decay) for p in phases] == [(6, 3e-3, 1.5, "constant"), (4, 2e-4, 0.0, "cosine")]
    one_cycle = suggest_phases(FixedTrial({"phases": 1, "lr_0": 3e-3, "decay": "cosine", "warmup": 0.1}), config)
    assert [(p.epochs, p.warmup, p.decay) for p in one_cycle] == [(10, 1.0, "cosine")]
    assert config.search_space()["decay"] == ["constant", "cosine"] and config.search_space()["warmup"] == [0.0, 0.5]
    from zoo.config import validate
    run = config.base_config()
    run.train.phases = phases
    validate(run)  # a drawn schedule is a valid run

    plain = load_study_config(write_config(tmp_path, name="plain"))
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    assert all(p.decay == "constant" and p.warmup == 0 for p in suggest_phases(trial, plain))
    assert not {"decay", "warmup"} & set(trial.params)  # not searched: not drawn, so TPE's space is unchanged
    assert set(plain.search_space()) == {"phases", "lr", "share", "epochs", "samples"}  # studies stored before still match


@pytest.mark.parametrize("change, message", [
    (("trials = 3", "trials = 0"), "trials must be a positive integer"),
    (("lr = [1e-4, 1e-2]", "lr = [1e-2, 1e-4]"), "space.lr must be [low, high] with 0 < low < high"),
    (("phases = [1, 3]", "phases = [3, 1]"), "space.phases must be [low, high]"),
    (("phases = [1, 3]", "phases = []"), "space.phases must be a [low, high] pair"),
    (("epochs = 3", "epochs = 3\nbudget = 9"), "unknown key(s) budget; accepted: name, arch, preset"),
    (("kind = \"median\"", "kind = \"sometimes\""), "pruner.kind must be one of"),
    (("startup_trials = 1", "startup_trials = -1"), "pruner.startup_trials must be >= 0"),
    (("warmup_epochs = 1", "warmup_epochs = \"one\""), "pruner: warmup_epochs: cannot read 'one' as int"),
    (("warmup_epochs = 1", "warmup_epochs = 1\npatience = 2"), "pruner: unknown key(s) patience; accepted: kind, startup_trials"),
    (("lr = [1e-4, 1e-2]", "lr = [1e-4, \"high\"]"), "space: lr: cannot read 'high' as float"),
    (("lr = [1e-4, 1e-2]", "lr = [1e-4, 1e-2]\ndecay = [\"cosine\", \"step\"]"), "space.decay must list distinct shapes from constant, linear, cosine"),
    (("lr = [1e-4, 1e-2]", "lr = [1e-4, 1e-2]\ndecay = []"), "space.decay must list distinct shapes"),
    (("lr = [1e-4, 1e-2]", "lr = [1e-4, 1e-2]\nwarmup = [0.0, 1.0]"), "space.warmup must be a [low, high] share of the first phase"),
    (("warmup_epochs = 1", "warmup_epochs = 1\npercentile = 150.0"), "pruner.percentile must be a number from 0 to 100"),
    (("preset = \"smoke\"", "preset = \"nope\""), "unknown preset 'nope'"),
    (("epochs = 3", "epochs = 3\ntuned_preset = \"../tuned\""), "tuned_preset must be a preset name"),
])
def test_bad_study_configs_are_refused_with_what_is_accepted(tmp_path, change, message):
    path = write_config(tmp_path, text=STUDY.format(name="s", trials=3).replace(*change))
    with pytest.raises(ConfigError) as error:
        load_study_config(path)
    assert message in str(error.value)


def test_a_study_never_overwrites_a_tuned_preset_it_did_not_write(tmp_path, capsys):
    from zoo.commands import study as study_cli
    from zoo.studies.config import check_tuned_target

    config = write_config(tmp_path, name="mine")
    preset = tmp_path / "tuned" / "tuned-bigru.toml"
    preset.parent.mkdir()
    journal = tmp_path / "studies.journal"
    for text, owner in (("# The best learning-rate phases of Optuna study 'other' (x.toml), written 2026-11-24:\n", "study 'other'"),
                        ("# written by a person\n[train]\nbatch_size = 8\n", "hand (not a study)")):
        preset.write_text(text)
        assert study_cli.main(study_command(config, str(journal))[3:]) == 2
        error = capsys.readouterr().err
        assert f"was written by {owner}; study 'mine' would overwrite it" in error and "tuned_preset = " in error
        assert preset.read_text() == text and not journal.exists()  # refused before any trial or storage
    preset.write_text("# The best learning-rate phases of Optuna study 'mine' (mine.toml), written 2026-11-24:\n")
    assert check_tuned_target(load_study_config(config), preset.parent) == preset  # its own: rewritten at the end
    named = STUDY.format(name="mine", trials=3).replace("trials = 3", 'trials = 3\ntuned_preset = "tuned-bigru-big"')
    named_config = load_study_config(write_config(tmp_path, name="named", text=named))
    assert check_tuned_target(named_config, preset.parent) == preset.parent / "tuned-bigru-big.toml"


def test_bad_input_never_touches_an_existing_study(store, tmp_path):
    journal = tmp_path / "studies.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    existing = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    existing.set_user_attr("search_space", {"phases": [1, 2]})
    existing.set_user_attr("arch", "bigru")
    existing.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    before = journal.read_bytes()
    config = write_config(tmp_path)
    runs = [
        study_command(config, str(journal), "--trials", "0"),
        study_command(write_config(tmp_path, "bad", text=STUDY.format(name="s", trials=3).replace("1e-2]", "1e-5]")), str(journal)),
        study_command(config, str(journal)),  # same name, other search space: refused, not merged
        study_command(config, "postgresql://zoo:secret@127.0.0.1:9/zoo"),
    ]
    messages = ["--trials must be a positive", "space.lr must be", "already exists with arch 'bigru' and search space",
                "cannot open storage postgresql://zoo:***@127.0.0.1:9/zoo"]
    for command, message in zip(runs, messages):
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (message, result.stderr[-2000:])
        assert "secret" not in result.stderr
    assert journal.read_bytes() == before


def _resolve_parent(config: str, journal: str, uri: str, start, results) -> None:
    """One `zoo.study` process's start-up, up to its parent run (run in a spawned process)."""
    os.environ["MLFLOW_TRACKING_URI"] = uri
    from zoo.studies import runner as study_lib

    study_config = load_study_config(config)
    study = study_lib.open_study(study_config, journal)
    start.wait()
    results.put(study_lib.parent_run(study, study_config, journal))


def test_study_processes_started_together_share_one_parent_run(store, tmp_path):
    import multiprocessing

    config, journal = str(write_config(tmp_path, "together")), str(tmp_path / "studies.journal")
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=_resolve_parent, args=(config, journal, os.environ["MLFLOW_TRACKING_URI"], start, results))
                 for _ in range(4)]
    for process in processes:
        process.start()
    time.sleep(8)  # all four have opened the study and wait at the same line
    start.set()
    parents = {results.get(timeout=120) for _ in processes}
    for process in processes:
        process.join(60)
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("together").experiment_id])
    assert len(parents) == 1 and [run.info.run_id for run in runs] == list(parents)


@pytest.mark.integration
def test_two_workers_on_postgresql_track_parent_and_children_and_write_the_tuned_preset(store, tmp_path, postgres):
    """The one real multi-worker study: worker processes on a PostgreSQL server finish exactly the
    requested trials, nest them under one parent run and write the tuned preset and the record; the
    space has the schedule's shapes, which reach each trial's run and the preset."""
    shaped = STUDY.format(name="two", trials=4).replace("lr = [1e-4, 1e-2]", 'lr = [1e-4, 1e-2]\ndecay = ["constant", "cosine"]\nwarmup = [0.0, 0.3]')
    config = write_config(tmp_path, "two", text=shaped)
    result = subprocess.run(study_command(config, postgres, "--workers", "2"), capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    study = optuna.load_study(study_name="two", storage=postgres)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers)) and len(finished(study)) == 4
    assert all(t.user_attrs.get("surplus") for t in study.get_trials(states=(TrialState.FAIL,)))
    client = MlflowClient()
    experiment = client.get_experiment_by_name("two")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [run for run in runs if run.data.tags.get("kind") == "study"]
    assert parent.info.status == "FINISHED" and parent.data.params["budget_samples"] == str(3 * 2 * 8)
    assert parent.data.metrics["trials_complete"] + parent.data.metrics["trials_pruned"] == 4
    assert parent.data.metrics["best_val_seq_acc"] == pytest.approx(study.best_value)
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/optimization_history.png" in plots
    for trial in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)):
        child = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == ("FINISHED" if trial.state == TrialState.COMPLETE else "KILLED")
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val_seq_acc")] == list(range(1, len(trial.intermediate_values) + 1))
        assert json.loads(child.data.params["train.phases"]) == trial.user_attrs["phases"]
        assert trial.user_attrs["phases"][-1].get("decay", "constant") == trial.params["decay"]
    tuned = (tmp_path / "tuned" / "tuned-bigru.toml").read_text()
    best = study.best_trial
    assert f"trial {best.number} reached val_seq_acc" in tuned and f"lr = {best.params['lr_0']!r}" in tuned
    assert f'decay = "{best.params["decay"]}", end_lr = 0.0, reset = true }}]' in tuned  # the last phase's shape
    import pandas as pd

    trials = pd.read_csv(tmp_path / "report" / "trials.csv")  # the committable record of the study
    done = trials[trials["state"].isin(["COMPLETE", "PRUNED"])]
    assert sorted(done["number"]) == finished(study) and done["user_attrs_mlflow_run_id"].notna().all()
    assert trials.loc[trials["number"] == best.number, "value"].item() == pytest.approx(best.value)
    assert (tmp_path / "report" / "plots" / "optimization_history.png").stat().st_size > 5_000


@pytest.mark.slow
def test_under_mlflow_run_the_trials_nest_under_the_launched_run_in_its_experiment(store, tmp_path):
    client = MlflowClient()
    launched_in = client.create_experiment("launched-here")  # `mlflow run --experiment-name launched-here`
    launched = client.create_run(launched_in, run_name="mlflow-run-study").info.run_id
    environment = {**os.environ, "MLFLOW_RUN_ID": launched, "MLFLOW_EXPERIMENT_ID": launched_in}
    config = write_config(tmp_path, "nested", trials=1)
    result = subprocess.run(study_command(config, str(tmp_path / "studies.journal")), capture_output=True, text=True,
                            cwd=tmp_path, env=environment)
    assert result.returncode == 0, result.stderr[-4000:]
    trials = [run for run in client.search_runs([launched_in]) if run.info.run_id != launched]
    assert len(trials) == 1 and all(run.data.tags["mlflow.parentRunId"] == launched for run in trials)
    assert client.get_experiment_by_name("nested") is None  # nothing split off into the study's own experiment
    assert client.get_run(launched).data.metrics["trials_complete"] + client.get_run(launched).data.metrics["trials_pruned"] == 1


@pytest.mark.slow
def test_a_killed_study_continues_where_it_stopped(store, tmp_path):
    config = write_config(tmp_path, "killed", trials=2)
    journal = str(tmp_path / "studies.journal")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    process = subprocess.Popen(study_command(config, journal), cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        time.sleep(1)
        try:
            study = optuna.load_study(study_name="killed", storage=storage)
        except KeyError:
            continue
        running = study.get_trials(states=(TrialState.RUNNING,))
        # killed inside a tracked trial: one has finished and the next has opened its MLflow run (under
        # load the gap between a trial's start and its run is seconds; a kill there leaves no run)
        if finished(study) and any("mlflow_run_id" in trial.user_attrs for trial in running):
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = {t.number: t.value for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert kept, "no trial finished before the kill"
    result = subprocess.run(study_command(config, journal), capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "left running by a dead worker failed" in result.stdout
    study = optuna.load_study(study_name="killed", storage=storage)
    assert len(finished(study)) == 2
    assert all(study.trials[number].value == value for number, value in kept.items())
    (dead,) = study.get_trials(states=(TrialState.FAIL,))
    assert MlflowClient().get_run(dead.user_attrs["mlflow_run_id"]).info.status == "KILLED"


@pytest.mark.slow
def test_a_second_coordinator_finishes_the_study_when_the_first_is_killed(store, tmp_path):
    """Issue 31: the second counted the first's RUNNING trials as taken, ended with 1 of 3 finished, exit 0."""
    long_trials = STUDY.format(name="two", trials=2).replace("epochs = 3", "epochs = 5")  # outlast the second's start-up (no TensorFlow import before it waits)
    config = write_config(tmp_path, "two", text=long_trials)
    journal = str(tmp_path / "two.journal")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    first = subprocess.Popen(study_command(config, journal, "--workers", "2"), cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:  # both of the first's workers are training a trial: every slot is taken
        time.sleep(0.5)
        try:
            running = optuna.load_study(study_name="two", storage=storage).get_trials(states=(TrialState.RUNNING,))
        except KeyError:
            continue
        if sum("mlflow_run_id" in trial.user_attrs for trial in running) == 2:
            break
    second = subprocess.Popen(study_command(config, journal), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in second.stdout:  # the second waits for the first's trials instead of ending
        seen.append(line)
        if "waiting for trial(s)" in line:
            break
    os.killpg(first.pid, signal.SIGKILL)  # the first coordinator and its workers, mid-trial
    first.wait()
    output = "".join(seen) + second.communicate(timeout=600)[0]
    assert second.returncode == 0, output[-4000:]
    study = optuna.load_study(study_name="two", storage=storage)
    assert len(finished(study)) == 2 and not study.get_trials(states=(TrialState.RUNNING,))
    assert len(study.get_trials(states=(TrialState.FAIL,))) == 2  # the killed worker's trials, failed and run again
    assert "2 trials finished" in output


@pytest.mark.slow
def test_a_committed_study_continues_from_a_clone_on_a_fresh_machine(store, tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for key, value in (("user.email", "test@example.com"), ("user.name", "test")):
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
    config = write_config(repo, "committed", trials=2)
    subprocess.run(["git", "-C", str(repo), "add", config.name], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "the study's config"], check=True)
    report = Path("reports") / "studies" / "committed"

    def study(folder: Path, *extra: str, env=None):
        command = [sys.executable, "-m", "zoo.study", "--config", str(folder / config.name), "--commit",
                   "--tuned-dir", str(folder / "tuned"), "--report-dir", str(folder / report), *extra]
        result = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
        assert result.returncode == 0, result.stderr[-4000:]

    study(repo)
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert "study committed: trial 0 " in log and "study committed: trial 1 " in log  # one commit a trial
    assert "study committed: 2/2 trials finished; report and tuned-bigru.toml" in log.splitlines()[0]
    journal = tmp_path / "committed.journal"  # what a clone gets
    journal.write_bytes(subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{report}/study.journal"],
                                       capture_output=True, check=True).stdout)
    kept = optuna.load_study(study_name="committed", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))
    assert len(finished(kept)) == 2 and not kept.get_trials(states=(TrialState.RUNNING,))

    clone = tmp_path / "clone"  # another machine: a clone, an empty MLflow store
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    fresh = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'fresh.db'}"}
    study(clone, "--trials", "3", env=fresh)
    continued = optuna.load_study(study_name="committed", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(clone / report / "study.journal"))))
    assert len(finished(continued)) == 3  # one more trial, the two committed ones kept
    assert [t.value for t in continued.trials[:2]] == [t.value for t in kept.trials[:2]]
    # the clone's sampler is seeded past the trials it found: it does not draw trial 0's schedule again
    assert continued.trials[2].params != continued.trials[0].params


def test_commit_is_refused_with_several_workers_or_a_database(tmp_path, capsys):
    from zoo.commands import study as study_cli

    config, tuned = write_config(tmp_path, "refused"), str(tmp_path / "tuned")
    assert study_cli.main(["--config", str(config), "--tuned-dir", tuned, "--commit", "--workers", "2"]) == 2
    assert "--commit runs one worker" in capsys.readouterr().err
    assert study_cli.main(["--config", str(config), "--tuned-dir", tuned, "--commit", "--storage", "postgresql://zoo@localhost/x"]) == 2
    assert "is a database" in capsys.readouterr().err


def test_the_seeded_multivariate_sampler_makes_a_study_reproducible(tmp_path):
    """Same seed, same trials: the "tuned" schedule is the model's pick, not a random draw."""
    from zoo.studies.runner import make_sampler

    text = STUDY.format(name="s", trials=6).replace("warmup_epochs = 1", "warmup_epochs = 1\n[sampler]\nstartup_trials = 2")
    config = load_study_config(write_config(tmp_path, text=text))
    assert config.sampler.startup_trials == 2
    sampler = make_sampler(config)
    assert isinstance(sampler, optuna.samplers.TPESampler) and sampler._multivariate and sampler._group

    def trials_of(seed_offset):
        study = optuna.create_study(direction="maximize", sampler=make_sampler(config, seed_offset))
        study.optimize(lambda trial: -sum(abs(p.lr - 3e-3) for p in suggest_phases(trial, config)), n_trials=6)
        return [trial.params for trial in study.trials]

    first = trials_of(0)
    assert first == trials_of(0) and first != trials_of(1)  # another worker draws other points
    with pytest.raises(ConfigError, match="sampler.startup_trials must be >= 0"):
        load_study_config(write_config(tmp_path, name="bad", text=text.replace("startup_trials = 2\n", "startup_trials = -2\n")))


def test_the_study_config_is_positional_like_every_commands_and_two_configs_are_refused(tmp_path, capsys):
    from zoo.commands import study as study_cli

    missing = tmp_path / "missing.toml"
    assert study_cli.main([str(missing)]) == 2 and "missing.toml" in capsys.readouterr().err  # the positional one was read
    assert study_cli.main(["--config", str(missing)]) == 2 and "missing.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        study_cli.main([str(missing), "--config", str(tmp_path / "other.toml")])
    assert exit_.value.code == 2 and "two study configs given" in capsys.readouterr().err
