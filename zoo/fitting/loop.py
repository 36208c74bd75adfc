"""Train one registered architecture on seeded captchas with learning-rate phases, tracked in MLflow.

Like the reference, each phase compiles a fresh Adam at its learning rate (the reference recompiled
between its 1e-3 and 1e-4 phases). Epoch e of every run with the same seed sees the same batches,
whatever the architecture and however often the run was resumed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import pandas as pd
from keras import ops

from zoo import cli, config as config_lib
from zoo.models import ctc
from zoo.inference import evaluation, pretrained
from zoo.data import folder_data
from zoo.fitting import averaging, figures, head_start, height_resample, interrupts, schedules, time_budget
from zoo.machine import hardware
from zoo import tracking
from zoo.tracking.run_tables import MISREADS_ARTIFACT
from zoo.fitting.checkpoint_callbacks import KeepBest, SaveEveryEpoch, StageEpoch
from zoo.fitting.checkpoints import RunCheckpoint
from zoo.config import ConfigError, RunConfig
from zoo.data.stream import BatchStream, cached_split, default_workers, source_for
from zoo.models.builder import build_model

ARGMAX_TEXT = "0O0O"  # the reference's hardest case: digit zero vs letter O


@dataclass
class TrainResult:
    run_id: str
    metrics: dict[str, float]
    model_uri: str | None
    confused: pd.DataFrame | None = None  # the test misreads per (true, read) pair, most frequent first


class EpochStats(keras.callbacks.Callback):
    """Adds lr, samples_seen and epoch_time (training + validation seconds) to each epoch's logs."""

    def __init__(self, samples_per_epoch: int):
        super().__init__()
        self.samples_per_epoch = samples_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["epoch_time"] = time.perf_counter() - self.started
        logs["samples_seen"] = (epoch + 1) * self.samples_per_epoch
        logs["lr"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


def train(config: RunConfig, resume: bool = False, restart: bool = False, *, parent_run_id: str | None = None,
          extra_tags: dict[str, str] | None = None, callbacks: list[keras.callbacks.Callback] = (),
          on_run_started: Callable[[str], None] | None = None, final_test: bool = True,
          run_name: str | None = None) -> TrainResult:
    """Train `config` in its own MLflow run (a child of `parent_run_id` when given).

    `callbacks` run after each epoch is logged and checkpointed (a study's pruning hook);
    `final_test=False` skips the test-set evaluation and model logging (the metrics returned are
    then the last epoch's).
    """
    config_lib.validate(config)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config_lib.PRECISIONS[config_lib.resolved_precision(config)])  # before any layer is built
    try:
        return _train(config, resume, restart, parent_run_id, extra_tags, callbacks, on_run_started, final_test, run_name)
    finally:
        keras.config.set_dtype_policy(policy)


def _train(config, resume, restart, parent_run_id, extra_tags, callbacks, on_run_started, final_test, run_name):
    checkpoint = RunCheckpoint(config)
    with checkpoint.exclusive():
        return _train_locked(checkpoint, config, resume, restart, parent_run_id, extra_tags, callbacks,
                             on_run_started, final_test, run_name)


def _train_locked(checkpoint, config, resume, restart, parent_run_id, extra_tags, callbacks, on_run_started,
                  final_test, run_name):
    started = time.monotonic()  # train.minutes counts from here (zoo.fitting.time_budget)
    state = _checked_state(checkpoint, config, resume, restart)
    if warning := hardware.slow_precision_warning(config_lib.resolved_precision(config)):
        print(warning, flush=True)
    data = config.data
    workers = data.workers or default_workers()
    val_images, val_labels = cached_split(source_for(data, "val"), data.val_size, workers)
    arch = config.arch_config()
    tags = {"arch": config.arch, "preset": config.preset, "seed": str(config.seed),
            "config_hash": config_lib.config_hash(config), "arch_hash": config_lib.arch_hash(config),
            "precision": config_lib.resolved_precision(config),
            **arch.tags(), **(extra_tags or {})}
    with tracking.tracked_run(run_name=run_name or config.run_name, experiment=config.tracking.experiment, tags=tags,
                              resume_run_id=state.run_id if state else None, parent_run_id=parent_run_id) as run_id:
        if on_run_started:
            on_run_started(run_id)
        if state is None:
            checkpoint.start(run_id)
            tracking.log_params({**config_lib.flatten(config), **config_lib.arch_params(config), **tracking.versions(),
                                 "train.precision_resolved": config_lib.resolved_precision(config),
                                 "machine": hardware.machine_description()})
            tracking.log_dict(config_lib.to_dict(config), "config.json")
            if folder_data.folder_path(data.source) is not None:
                tracking.log_text(folder_data.summary_for(data), "data_summary.txt")
        epochs_done = state.epochs_done if state else 0
        keras.utils.set_random_seed(config.seed + epochs_done)
        if epochs_done:
            model = checkpoint.load_model()
        else:
            model = build_model(arch, height=data.height, width=data.width, num_classes=len(data.charset) + 1,
                                name=config.arch)
            if config.train.init:
                start = head_start.choose(config.train.init, data)  # of several named, the best zero-shot
                print(start.describe(), flush=True)
                tracking.set_tags({"init_from": start.spec,
                                   "init_layers": str(_initialize_from(model, start.spec, data.charset)),
                                   **({"init_zero_shot": json.dumps(start.scores)} if start.scores else {}),
                                   # a shipped name's weights as they are now: a later ship under that name replaces them
                                   **({"init_sha256": digest} if (digest := pretrained.shipped_sha256(start.spec)) else {}),
                                   # the lineage as it is now: a later ship under the init's own name replaces its card
                                   "init_samples_in_all": str(pretrained.samples_in_all(0, start.spec))})
            tracking.log_text(_summary(model), "model_summary.txt")
        config, replanner = _fitted_to_minutes(config, checkpoint, model, (val_images, val_labels), workers, started)
        extra = [*callbacks, *([replanner] if replanner else [])]  # the replanner last: it times the whole epoch
        model, history = _fit_phases(model, config, epochs_done, (val_images, val_labels), checkpoint, run_id, workers, extra)
        while replanner is not None and replanner.replanned is not None:  # the run's own epochs moved the plan
            config, epochs_done = _replanned(config, checkpoint, replanner), replanner.epochs_done
            model = _continued(model, checkpoint)
            model, history = _fit_phases(model, config, epochs_done, (val_images, val_labels), checkpoint, run_id, workers, extra)
        if replanner is not None and replanner.out_of_time:
            _stopped_at_deadline(config, replanner)
        if config.train.restore_best:
            _restore_best(model, checkpoint)
        if final_test:
            metrics, model_uri, confused = _final_evaluation(model, config, run_id, workers)
        else:
            metrics, model_uri, confused = history, None, None
        checkpoint.mark_finished()
    return TrainResult(run_id, metrics, model_uri, confused)


def _fitted_to_minutes(config: RunConfig, checkpoint: RunCheckpoint, model, validation, workers: int,
                       started: float) -> tuple[RunConfig, time_budget.Replanner | None]:
    """With train.minutes, the config whose phases (and steps an epoch) fit this machine's measured
    speed: measured once per run, kept in the checkpoint (a resume goes on with the same plan) and
    logged; and, for a run that starts now, the Replanner that checks the plan against the run's own epochs."""
    if not config.train.minutes:
        return config, None
    state, replanner = checkpoint.state(), None
    fitted, steps = state.phases, state.steps_per_epoch or config.train.steps_per_epoch
    if fitted is None:
        plan, probe = time_budget.fit(config, model, source_for(config.data, "train", config.seed), validation,
                                      workers, started)
        fitted, steps = [dataclasses.asdict(phase) for phase in plan.phases], plan.steps_per_epoch
        checkpoint.keep_plan(fitted, steps)
        epochs = sum(phase.epochs for phase in plan.phases)
        tracking.log_params({"train.fitted_phases": json.dumps(fitted), "train.fitted_epochs": str(epochs),
                             "train.fitted_steps_per_epoch": str(steps)})
        tracking.log_metrics({"probe_step_seconds": probe.step_seconds, "probe_val_seconds": probe.val_seconds,
                              "fitted_epochs": epochs}, step=0)
        replanner = time_budget.Replanner(plan.phases, config.train.minutes, started,
                                          time_budget.test_seconds_of(probe, config, len(validation[0])))
        written = config.train
        how = ("the phases scaled alike" if steps == written.steps_per_epoch else
               f"each of {steps} steps instead of {written.steps_per_epoch}" +
               (", the phases scaled alike" if epochs != written.epochs else ""))
        print(f"time budget {written.minutes:g} min: {probe.step_seconds * 1000:.0f} ms a step of "
              f"{written.batch_size} here, so {epochs} epochs ({epochs * steps * written.batch_size:,} samples) "
              f"instead of {written.epochs} ({written.samples:,}), {how}", flush=True)
    train = dataclasses.replace(config.train, phases=[config_lib.Phase(**phase) for phase in fitted], steps_per_epoch=steps)
    return dataclasses.replace(config, train=train), replanner


def _replanned(config: RunConfig, checkpoint: RunCheckpoint, replanner: time_budget.Replanner) -> RunConfig:
    """The config with the phases the run's own epochs asked for (time_budget.Replanner): kept in the
    checkpoint, logged (metric `fitted_epochs` at the epoch it changed, tag `train.fitted_phases_now`)."""
    phases, done = replanner.replanned, replanner.epochs_done
    fitted = [dataclasses.asdict(phase) for phase in phases]
    checkpoint.keep_plan(fitted, config.train.steps_per_epoch)
    epochs, before = sum(phase.epochs for phase in phases), sum(phase.epochs for phase in config.train.phases)
    tracking.log_metrics({"fitted_epochs": epochs}, step=done)
    tracking.set_tags({"train.fitted_phases_now": json.dumps(fitted)})
    samples = epochs * config.train.steps_per_epoch * config.train.batch_size
    print(f"time budget: after epoch {done}, epochs take {replanner.epoch_seconds:.0f} s here, so {epochs} epochs "
          f"({samples:,} samples) instead of {before}", flush=True)
    replanner.go_on(phases)
    return dataclasses.replace(config, train=dataclasses.replace(config.train, phases=phases))


def _stopped_at_deadline(config: RunConfig, replanner: time_budget.Replanner) -> None:
    """Say and log that the run stopped before its plan's end to keep train.minutes (time_budget.Replanner)."""
    done, planned = replanner.out_of_time, sum(phase.epochs for phase in config.train.phases)
    print(f"time budget: epochs take {replanner.epoch_seconds:.0f} s here, so the run stops after epoch {done} "
          f"of {planned} to end within its {config.train.minutes:g} minutes", flush=True)
    tracking.set_tags({"train.stopped_at_deadline": f"after epoch {done} of {planned}"})


def _restore_best(model: keras.Model, checkpoint: RunCheckpoint) -> None:
    """Load the best epoch's weights (train.restore_best) and record which epoch the model is."""
    best = checkpoint.best()
    if best is None:
        return
    model.load_weights(checkpoint.best_weights_path)
    tracking.log_metrics({"best_epoch": best["epoch"], "best_val_seq_acc": best["score"]})
    tracking.set_tags({"restored_best_epoch": str(best["epoch"])})


def _initialize_from(model: keras.Model, spec: str, charset: str | None = None) -> int:
    """Copy the weights of a trained zoo model into `model`, layer by layer where names and shapes
    match; returns the number of layers copied. The output layer is copied character by character
    when the source model says what it reads (a shipped name, a model folder or an MLflow URI): the
    blank and every character of `charset` that the source also reads keep their trained weights,
    a new character starts fresh. A bare .keras file carries no charset: its output layer is copied
    only when its shape matches. A source of another input height gives its projection resampled
    along the height (zoo.fitting.height_resample)."""
    from zoo import loading
    from zoo.inference import pretrained

    try:
        source, source_charset = loading.keras_model(spec)
    except (pretrained.ModelLoadError, tracking.TrackingError, ValueError) as error:
        raise ConfigError(f"train.init {spec!r}: {error}") from None
    copied = 0
    for layer in model.layers:
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            continue
        weights, own = other.get_weights(), layer.get_weights()
        if layer.name == "logits" and charset and source_charset:
            weights = _logits_by_character(weights, own, source_charset, charset)
        if layer.name == "project":  # another input height: resampled along it
            weights = height_resample.project_weights(weights, own, channels=model.get_layer("to_steps").input.shape[-1])
        if weights and [w.shape for w in weights] == [w.shape for w in own]:
            layer.set_weights(weights)
            copied += 1
    if not copied:
        raise ConfigError(f"train.init {spec!r}: no layer matches this architecture by name and shape; "
                          "initialize from a model of the same arch and image size")
    return copied


def _logits_by_character(source: list, own: list, source_charset: str, charset: str) -> list:
    """The output layer's kernel (features x classes) and bias (classes) for `charset`: class 0 is
    the blank, class i+1 is charset[i]; a character the source reads takes its column."""
    (source_kernel, source_bias), (kernel, bias) = source, [w.copy() for w in own]
    if source_kernel.shape[0] != kernel.shape[0]:
        return source  # another feature width: the shape check refuses it
    columns = [(0, 0)] + [(charset.index(c) + 1, source_charset.index(c) + 1) for c in charset if c in source_charset]
    for target, origin in columns:
        kernel[:, target], bias[target] = source_kernel[:, origin], source_bias[origin]
    return [kernel, bias]


def _checked_state(checkpoint: RunCheckpoint, config: RunConfig, resume: bool, restart: bool):
    if resume and restart:
        raise ConfigError("--resume and --restart exclude each other")
    state = checkpoint.state()
    if restart:
        checkpoint.clear()
        return None
    if resume:
        if state is None:
            raise ConfigError(f"nothing to resume for {config.run_name}: no checkpoint in {checkpoint.folder}")
        if state.finished:
            raise ConfigError(f"run {state.run_id} ({config.run_name}) already finished; use --restart to train again")
        if tracking.run_status(state.run_id) not in tracking.RESUMABLE_STATUSES:
            raise ConfigError(f"run {state.run_id} is {tracking.run_status(state.run_id)} in the store and cannot be resumed")
        logged = tracking.metric_history(state.run_id, ["samples_seen"])["samples_seen"]
        checkpoint.settle(max(logged, default=0))  # an epoch logged just before a kill is not trained (and logged) again
        return checkpoint.state()
    if state is not None and not state.finished:
        raise ConfigError(
            f"{config.run_name} has an unfinished run {state.run_id} at epoch {state.epochs_done} "
            f"({checkpoint.folder}): pass --resume to continue it or --restart to start over"
        )
    if state is not None:
        checkpoint.clear()  # a finished run's checkpoint: the new run starts fresh
    return None


def _continued(model: keras.Model, checkpoint: RunCheckpoint) -> keras.Model:
    """The model to go on training after a fit ended before the run's end: the same one, or, where the
    optimizer averages the weights (train.ema), the epoch's checkpoint, since Keras wrote the average
    into the model at the fit's end (zoo.fitting.averaging)."""
    return checkpoint.load_model() if averaging.uses_average(model) else model


def _fit_phases(model, config: RunConfig, epochs_done: int, validation, checkpoint, run_id: str, workers: int,
                extra_callbacks=()) -> tuple[keras.Model, dict[str, float]]:
    """Every remaining epoch of every phase; returns the model trained (another object where a phase
    ended on averaged weights: _continued) and the last epoch's logs."""
    train_cfg, data = config.train, config.data
    source = source_for(data, "train", config.seed)
    callbacks = [
        EpochStats(train_cfg.steps_per_epoch * train_cfg.batch_size),
        StageEpoch(checkpoint),  # the model, before its metrics are logged
        tracking.epoch_logger(),  # after EpochStats: logs its values too
        *([KeepBest(checkpoint)] if train_cfg.restore_best else []),  # the averaged weights where the optimizer keeps them
        SaveEveryEpoch(checkpoint, run_id),  # an epoch counts as done once it is logged: the staged model promoted
        *extra_callbacks,
    ]
    last_logs: dict[str, float] = {}
    phase_end = 0
    for index, phase in enumerate(train_cfg.phases):
        phase_start, phase_end = phase_end, phase_end + phase.epochs
        if epochs_done >= phase_end:
            continue
        if epochs_done == phase_start and phase.reset:  # fresh Adam, as the reference recompiled
            rate = schedules.learning_rate(train_cfg.phases, index, train_cfg.steps_per_epoch)
            model.compile(optimizer=averaging.adam(rate, train_cfg.ema), loss=ctc.CTCLoss(),
                          metrics=ctc.sequence_metrics(data.max_length))
        else:
            _align_schedule(model, train_cfg.phases, index, train_cfg.steps_per_epoch)
        model.run_eagerly = train_cfg.run_eagerly  # also for a model loaded by --resume
        # exactly this phase's batches: nothing prefetched past its end is lost to the next phase
        with BatchStream(source, train_cfg.batch_size, start_batch=epochs_done * train_cfg.steps_per_epoch,
                         stop_batch=phase_end * train_cfg.steps_per_epoch, workers=workers,
                         prefetch=data.prefetch_batches) as stream, interrupts.interrupts_between_batches() as interrupt:
            fitted = model.fit(iter(stream), steps_per_epoch=train_cfg.steps_per_epoch, initial_epoch=epochs_done,
                      epochs=phase_end, validation_data=validation, validation_batch_size=train_cfg.eval_batch_size,
                      callbacks=[*averaging.validation_callbacks(model), *callbacks, interrupt], shuffle=False,
                      verbose=cli.progress_verbosity())
        last_logs = {key: float(values[-1]) for key, values in fitted.history.items() if values}
        if model.stop_training:  # a callback ended the fit before the phase's end (time_budget.Replanner)
            break
        epochs_done = phase_end
        if index + 1 < len(train_cfg.phases):
            model = _continued(model, checkpoint)
    return model, last_logs


def _align_schedule(model, phases, index: int, steps_per_epoch: int) -> None:
    """Give the optimizer the schedule of `phases` where it carries another (the phases were refitted
    after it was created, or saved before a refit): its step counter goes on, the rates follow the plan."""
    start = max((i for i in range(index + 1) if phases[i].reset), default=0)
    wanted = schedules.learning_rate(phases, start, steps_per_epoch)
    held = getattr(model.optimizer, "_learning_rate", None)  # Keras keeps the schedule object here
    if not isinstance(wanted, schedules.PhaseSchedule) or not isinstance(held, schedules.PhaseSchedule):
        return
    if held.get_config() != wanted.get_config():
        model.optimizer.learning_rate = wanted
        model.train_function = None  # the step is traced again with the new schedule


def _final_evaluation(model, config: RunConfig, run_id: str, workers: int):
    data, tracking_cfg = config.data, config.tracking
    test_source = source_for(data, "test")
    images, labels = cached_split(test_source, data.test_size, workers)
    result = evaluation.evaluate(model, images, labels, data.charset, data.max_length, config.train.eval_batch_size,
                                 min_length=data.min_length)
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    metrics = {f"test_{name}": value for name, value in result.metrics.items()}
    metrics.update(evaluation.measure_speed(inference, images[:128], repeats=tracking_cfg.speed_repeats))
    metrics["params"] = model.count_params()
    metrics["model_mb"] = _saved_size_mb(inference)
    tracking.log_metrics(metrics)

    history = pd.DataFrame(tracking.metric_history(run_id, ["loss", "val_loss", "val_seq_acc", "val_char_acc", "samples_seen"]))
    tracking.log_table(history.rename_axis("epoch").reset_index(), "metrics/history.csv")
    tracking.log_figure(figures.plot_learning_curves(history, config.run_name), "plots/learning_curves.png")
    grid = slice(0, min(12, len(images)))
    tracking.log_figure(figures.prediction_grid(images[grid], result.predictions[grid], result.labels[grid]), "plots/predictions.png")
    errors = evaluation.character_errors(result.predictions, result.labels, data.charset)
    tracking.log_table(errors, "errors/character_errors.csv")
    confused = evaluation.confused_pairs(result.predictions, result.labels)
    tracking.log_table(confused, "errors/confused_pairs.csv")
    tracking.log_table(result.misreads(), MISREADS_ARTIFACT)
    tracking.log_figure(figures.plot_character_errors(errors, f"{config.run_name}: errors per true character on {len(labels)} test captchas"),
                        "plots/character_errors.png")
    if not isinstance(test_source, folder_data.FolderSource):  # the reference's 0-vs-O case, drawn for this charset
        text = _argmax_text(data)
        image, _ = test_source.sample(-1, text=text)
    else:  # your own images: the first test image
        image, text = images[0], result.labels[0]
    decoded = ctc.decode_texts(inference.predict_on_batch(image[None]), data.charset, data.max_length)[0]
    tracking.log_figure(figures.plot_step_argmax(image, evaluation.step_argmax(inference, image, data.charset), decoded, text,
                                          config.arch_config().drop_steps), "plots/step_argmax.png")
    model_uri = None
    if tracking_cfg.log_model:
        model_uri = tracking.log_reader_model(
            inference,
            registered_name=config_lib.registered_model_name(config) if tracking_cfg.register_model else None,
            metadata={"charset": data.charset, "min_length": data.min_length, "max_length": data.max_length,
                      "arch": config.arch, "blank_index": ctc.BLANK, "run_name": config.run_name, "resize": data.resize,
                      **({"draw_sizes": data.draw_sizes} if data.draw_sizes else {})},
            score=metrics["test_seq_acc"],
        )
    return metrics, model_uri, confused


def _argmax_text(data) -> str:
    if {"0", "O"} <= set(data.charset) and data.min_length <= len(ARGMAX_TEXT) <= data.max_length:
        return ARGMAX_TEXT
    return (data.charset * data.max_length)[: data.max_length]


def _summary(model: keras.Model) -> str:
    lines = io.StringIO()
    model.summary(print_fn=lambda line, **_: lines.write(line + "\n"))
    return lines.getvalue()


def _saved_size_mb(model: keras.Model) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.stat().st_size / 1e6
