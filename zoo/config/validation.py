"""Everything that cannot train is refused before any compute, every problem listed with what is
accepted (zoo.config.schema's limits; the architecture registry for model fields)."""

from __future__ import annotations

import math

from zoo.config.schema import (ConfigError, DECAYS, DataConfig, MAX_INPUT, MAX_SAMPLES, MAX_SPLIT, PRECISION_CHOICES,
    Phase, RunConfig, TrainConfig)
from zoo.data.source_names import PIL_PREFIX, PIL_STYLES
from zoo.models import architectures, registry


def validate(config: RunConfig) -> None:
    """Raise ConfigError for anything that cannot train; nothing here builds a model."""
    problems = []
    data, train = config.data, config.train
    if config.arch not in registry.list_models():
        problems.append(f"unknown arch {config.arch!r}; known: {', '.join(registry.list_models())}")
    if not data.charset:
        problems.append("data.charset is empty; give the characters the captchas use, e.g. 0123456789")
    elif len(set(data.charset)) != len(data.charset):
        problems.append(f"data.charset {data.charset!r} repeats characters; each must appear once")
    if not 1 <= data.min_length <= data.max_length:
        problems.append(f"label lengths need 1 <= data.min_length <= data.max_length, got {data.min_length}..{data.max_length}")
    for name in ("width", "height", "val_size", "test_size", "prefetch_batches"):
        if getattr(data, name) <= 0:
            problems.append(f"data.{name} must be positive, got {getattr(data, name)}")
    for name in ("val_size", "test_size"):  # rendered once and held in memory (~40 KB a captcha at 170x80)
        if getattr(data, name) > MAX_SPLIT:
            problems.append(f"data.{name} = {getattr(data, name):,} is more than the {MAX_SPLIT:,} captchas accepted "
                            "(a split is held in memory; 10,000 is the reference's test)")
    for name, largest in MAX_INPUT.items():  # a typo like width=20000 would eat all memory before failing
        if getattr(data, name) > largest:
            problems.append(f"data.{name} = {getattr(data, name)} is larger than the {largest} px accepted; "
                            "resize your images smaller (text captchas read well at 32-128 px high)")
    from zoo.data import augment, folder_data, images

    if data.resize == folder_data.AUTO_RESIZE:  # a folder's is chosen when the folder is read (zoo.config.layers)
        problems.append(f"data.resize \"{folder_data.AUTO_RESIZE}\" is chosen from a folder's images: it needs data.source = "
                        f"\"folder:PATH\" (--data); elsewhere use one of {', '.join(images.RESIZES)}")
    elif data.resize not in images.RESIZES:
        problems.append(f"data.resize {data.resize!r} is not accepted; use one of {', '.join(images.RESIZES)}, "
                        f"or \"{folder_data.AUTO_RESIZE}\" for a folder")
    if data.augment not in augment.AUGMENTS:
        problems.append(f"data.augment {data.augment!r} is not accepted; use one of {', '.join(augment.AUGMENTS)}")
    if not 0 < data.augment_share <= 1:  # NaN fails both comparisons
        problems.append(f"data.augment_share is the share of training samples augmented: from above 0 to 1, "
                        f"got {data.augment_share} (no augmentation at all: data.augment = \"none\")")
    elif data.augment_share != 1 and data.augment == "none":
        problems.append(f"data.augment_share = {data.augment_share} needs an augmentation to share out: "
                        f"set data.augment to one of {', '.join(a for a in augment.AUGMENTS if a != 'none')}")
    if data.auto_width and not data.source.startswith("folder:"):
        problems.append("data.auto_width reads a folder's images: it needs data.source = \"folder:PATH\" (--data)")
    if data.source.startswith(PIL_PREFIX) and data.source[len(PIL_PREFIX):] not in PIL_STYLES:
        problems.append(f"data.source {data.source!r}: unknown style; accepted: "
                        + ", ".join(PIL_PREFIX + style for style in PIL_STYLES))
    problems += _oversample_problems(data)
    problems += _draw_sizes_problems(data)
    if data.workers < 0:
        problems.append(f"data.workers must be >= 0 (0 = one per core), got {data.workers}")
    for name in ("batch_size", "steps_per_epoch", "eval_batch_size"):
        if getattr(train, name) <= 0:
            problems.append(f"train.{name} must be positive, got {getattr(train, name)}")
    if "," in train.init and not data.source.startswith("folder:"):
        problems.append(f"train.init {train.init!r} names several models: the run picks the one reading most of a "
                        "folder's validation images, so it needs data.source = \"folder:PATH\" (--data)")
    if train.precision not in PRECISION_CHOICES:
        problems.append(f"train.precision {train.precision!r} is not accepted; use one of {', '.join(PRECISION_CHOICES)}")
    if not 0 <= train.ema < 1:  # NaN fails both comparisons
        problems.append(f"train.ema is the weights' moving-average momentum: 0 (off) or from above 0 to below 1 "
                        f"(0.999: about the last 1,000 steps), got {train.ema}")
    if not (0 <= train.minutes <= 7 * 24 * 60):  # NaN fails both comparisons
        problems.append(f"train.minutes must be from 0 (off) to a week of minutes, got {train.minutes}")
    problems += _sample_budget_problems(train)
    if max(train.sample_budget, train.samples) > MAX_SAMPLES:
        problems.append(f"the run would train {max(train.sample_budget, train.samples):,} samples, more than the "
                        f"{MAX_SAMPLES:,} accepted (the reference trains 2,048,000); check train.sample_budget and the phases' epochs")
    if not config.tracking.experiment.strip():
        problems.append("tracking.experiment must be a non-empty MLflow experiment name, e.g. captcha-zoo")
    if not train.phases:
        problems.append("train.phases is empty; give at least one phase like [{epochs=20, lr=1e-3}]")
    problems += _phase_problems(train.phases)
    if config.tracking.speed_repeats <= 0:
        problems.append(f"tracking.speed_repeats must be positive, got {config.tracking.speed_repeats}")
    if not problems:
        problems += _architecture_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))


def _oversample_problems(data: DataConfig) -> list[str]:
    if not data.oversample:
        if data.oversample_factor != 1.0:
            return [f"data.oversample_factor = {data.oversample_factor} needs data.oversample, the characters to draw "
                    "more often (e.g. oversample = \"O0\")"]
        return []
    problems = []
    if data.source.startswith("folder:"):
        if data.oversample_factor != int(data.oversample_factor):
            problems.append(f"data.oversample on a folder repeats each training image whose label holds one of "
                            f"{data.oversample!r}; data.oversample_factor is how many times a pass, a whole number, "
                            f"got {data.oversample_factor}")
    elif data.source != "captcha":
        problems.append(f"data.oversample draws generated labels more often or repeats a folder's images; data.source "
                        f"{data.source!r} draws its own labels (accepted with data.source = \"captcha\" or \"folder:PATH\")")
    outside = sorted(set(data.oversample) - set(data.charset))
    if outside:
        problems.append(f"data.oversample {data.oversample!r} has characters outside data.charset: {''.join(outside)!r}")
    if len(set(data.oversample)) != len(data.oversample):
        problems.append(f"data.oversample {data.oversample!r} repeats characters; each must appear once")
    if not 0 < data.oversample_factor <= 1000:  # NaN fails both comparisons
        problems.append(f"data.oversample_factor must be from above 0 to 1000 (1 = uniform), got {data.oversample_factor}")
    return problems


def _draw_sizes_problems(data: DataConfig) -> list[str]:
    if not data.draw_sizes:
        return []
    problems = []
    if data.source != "captcha":
        problems.append(f"data.draw_sizes draws generated captchas; data.source {data.source!r} has its own images "
                        "(accepted only with data.source = \"captcha\")")
    from zoo.data import images

    try:
        images.draw_size_ranges(data.draw_sizes)
    except ValueError as error:
        problems.append(f"data.draw_sizes {error}")
    return problems


def _sample_budget_problems(train: TrainConfig) -> list[str]:
    if not train.sample_budget:
        return []
    per_epoch = train.steps_per_epoch * train.batch_size
    if train.sample_budget < 0:
        return [f"train.sample_budget must be 0 (off) or a positive number of samples, got {train.sample_budget}"]
    if train.minutes:
        return [f"train.sample_budget ({train.sample_budget}) and train.minutes ({train.minutes:g}) both set the "
                "epochs; give one of them"]
    if per_epoch <= 0:
        return []
    low = per_epoch * len(train.phases)
    if train.sample_budget % per_epoch:
        return [f"train.sample_budget = {train.sample_budget} is not a whole number of epochs of "
                f"{train.steps_per_epoch} steps x {train.batch_size} = {per_epoch} samples; accepted: multiples of "
                f"{per_epoch}, e.g. {max(low, per_epoch * round(train.sample_budget / per_epoch))}"]
    if train.sample_budget < low:
        return [f"train.sample_budget = {train.sample_budget} gives {train.sample_budget // per_epoch} epoch(s) to "
                f"{len(train.phases)} phases; each needs one ({per_epoch} samples): accepted from {low}"]
    return []


def _phase_problems(phases: list[Phase]) -> list[str]:
    problems = []
    for index, phase in enumerate(phases):
        where = f"train.phases[{index}]"
        if phase.epochs <= 0:
            problems.append(f"{where} needs epochs > 0, got {phase.epochs}")
        if not 0 < phase.lr < math.inf:
            problems.append(f"{where} needs a finite lr > 0, got {phase.lr}")
        if not 0 <= phase.end_lr < math.inf:
            problems.append(f"{where} needs a finite end_lr >= 0, got {phase.end_lr}")
        if not 0 <= phase.warmup < max(phase.epochs, 1):
            problems.append(f"{where} needs 0 <= warmup < epochs ({phase.epochs}), got {phase.warmup}")
        if phase.decay not in DECAYS:
            problems.append(f"{where}: decay {phase.decay!r} is not accepted; use one of {', '.join(DECAYS)}")
    if phases and not phases[0].reset:
        problems.append("train.phases[0] must have reset = true: the first phase always starts a fresh optimizer")
    return problems


def _architecture_problems(config: RunConfig) -> list[str]:
    try:
        arch = config.arch_config()
    except (registry.UnknownModelError, TypeError, ValueError) as error:
        return [str(error)]
    data = config.data
    try:
        steps = architectures.output_steps(arch, data.width, data.height)
    except ValueError as error:
        return [str(error)]
    needed = architectures.steps_needed(data.max_length)
    if steps < needed:
        return [
            f"{config.arch} reads {data.width}px-wide images as {steps} output steps, but labels of "
            f"{data.max_length} characters need at least {needed} (CTC needs a blank between repeated "
            f"characters); use shorter labels, wider images or fewer model.drop_steps"
        ]
    return []
