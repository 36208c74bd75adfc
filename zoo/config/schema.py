"""The run config's schema: its dataclasses hold the only defaults (DataConfig, Phase, TrainConfig,
TrackingConfig, RunConfig), with the limits every value is checked against (zoo.config.validation)."""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass, field
from typing import Any

from zoo.models import architectures, registry


DEFAULT_CHARSET = string.digits + string.ascii_uppercase


class ConfigError(ValueError):
    """A config, preset or override that cannot run; the message says what is accepted."""


@dataclass
class DataConfig:
    charset: str = DEFAULT_CHARSET  # the characters labels are drawn from (0-9A-Z)
    min_length: int = 4  # label lengths, inclusive
    max_length: int = 4
    width: int = 170  # the model's input, pixels (every image is fitted to it: `resize`)
    height: int = 80
    val_size: int = 2560  # the reference's per-epoch check: 20 x 128
    test_size: int = 10000  # the reference's final check
    val_seed: int = 1_000_003  # fixed: every run is validated on the same images
    test_seed: int = 2_000_003  # fixed and distinct from val and from any training seed
    workers: int = 0  # data worker processes; 0 = one per CPU core
    prefetch_batches: int = 8  # batches each data worker renders ahead of training
    # "captcha" (generated, seeded) or "folder:PATH" (your labeled images: zoo.data.folder_data); for a
    # folder, charset (unless given), lengths and val/test sizes are read from its labels
    source: str = "captcha"
    label_pattern: str = r"^([^_.]+)"  # folder: first group = the label, from the file name
    val_fraction: float = 0.1  # folder: shares of the images held out for validation and test
    test_fraction: float = 0.1
    # how an image is fitted to width x height: "stretch" (the reference) or "pad" (keep the aspect
    # ratio: scale to the height, pad on the right with the background; zoo.data.images.fit); "ink-stretch"
    # and "ink-pad" first crop each image to its text (the stems' box with a margin), so small text on a
    # wide canvas arrives large, in training and when a model reads (the model's metadata carries it);
    # "keep" keeps the drawing's pixel scale (cut across to its text, shrunk only where larger than the
    # input, centred: for generators whose glyphs do not grow with the canvas, as the `captcha` package's);
    # "auto" (a folder): "ink-pad" where the text takes under half of the images, else "pad"
    resize: str = "stretch"
    # folder: choose `width` from the images' aspect ratios at `height` (their 95th percentile, and at
    # least 2 CTC steps per character of the longest label), replacing the preset's width
    auto_width: bool = False
    # training images only: "none", or "text" (small rotation/shear/scale/shift, colour and contrast
    # jitter, blur, pixel noise and noise lines; seeded by sample index, so resumable: zoo.data.augment)
    augment: str = "none"
    # of the training samples, the share augmented (the rest come as they are); which ones is seeded by
    # sample index too. 1.0 = every one, as before this field existed
    augment_share: float = 1.0
    # training only: these characters are drawn `oversample_factor` times as often as the others in
    # generated labels (e.g. "O0" and 4.0 for the reference's most confused pair), or, for a folder, each
    # training image whose label holds one comes that many times a pass (a whole number); validation and
    # test stay as they are, so the scores remain those of the task
    oversample: str = ""
    oversample_factor: float = 1.0
    # generated training images only: each is drawn at a width x height taken uniformly from these
    # ranges ("WMIN-WMAX x HMIN-HMAX", e.g. "120-260x50-100"; seeded by sample index) and then fitted to
    # width x height as `resize` says, the way a reader fits a user's image; "" = drawn at width x height.
    # Validation and test images stay at width x height: the scores remain those of the task
    draw_sizes: str = ""


DECAYS = ("constant", "linear", "cosine")


@dataclass
class Phase:
    """`epochs` at peak rate `lr`: after `warmup` epochs of linear rise from 0, the rate stays
    (`decay = "constant"`) or falls to `end_lr` by the phase's end (`"linear"`, `"cosine"`). `reset`
    starts the phase with a fresh Adam, as the reference recompiled between its phases; `false`
    keeps the previous phase's optimizer state. One-cycle: `{epochs=30, lr=3e-3, warmup=3, decay="cosine"}`."""

    epochs: int
    lr: float
    warmup: float = 0.0
    decay: str = "constant"
    end_lr: float = 0.0
    reset: bool = True


# the phase fields that have defaults, read from Phase itself (epochs and lr must always be written)
PHASE_DEFAULTS = {field.name: field.default for field in dataclasses.fields(Phase)
                  if field.default is not dataclasses.MISSING}


def phases_as_written(phases: list[Phase]) -> list[dict[str, Any]]:
    """Each phase as a dict without the fields left at their defaults: `[{"epochs": 5, "lr": 0.001,
    "decay": "cosine"}]` (the `train.phases` MLflow param, a study trial's recorded phases)."""
    return [{key: item for key, item in dataclasses.asdict(phase).items() if PHASE_DEFAULTS.get(key, ...) != item}
            for phase in phases]


def scale_phases(phases: list[Phase], epochs: int) -> list[Phase]:
    """`phases` stretched or shrunk to `epochs` in all, each phase >= 1 epoch, warm-ups in proportion
    (train.sample_budget here, train.minutes in zoo.fitting.time_budget)."""
    total = sum(phase.epochs for phase in phases)
    epochs = max(epochs, len(phases))
    boundaries = [round(epochs * sum(p.epochs for p in phases[:i + 1]) / total) for i in range(len(phases))]
    scaled, start = [], 0
    for index, (phase, end) in enumerate(zip(phases, boundaries)):
        end = max(end, start + 1)
        end = min(end, epochs - (len(phases) - 1 - index))  # leave one epoch to each later phase
        length = end - start
        scaled.append(dataclasses.replace(phase, epochs=length, warmup=min(phase.warmup * length / phase.epochs, float(length))))
        start = end
    return scaled


def _reference_phases() -> list[Phase]:
    return [Phase(epochs=20, lr=1e-3), Phase(epochs=20, lr=1e-4)]


@dataclass
class TrainConfig:
    batch_size: int = 128  # training samples a step
    steps_per_epoch: int = 400  # steps between two validations (an epoch of the stream, which never ends)
    # the learning-rate phases, each {epochs, lr, warmup, decay, end_lr, reset} (a Phase); the reference:
    # 20 epochs at 1e-3 then 20 at 1e-4, a fresh Adam each
    phases: list[Phase] = field(default_factory=_reference_phases)
    eval_batch_size: int = 128  # images a step when validating and testing
    # start from a trained zoo model's weights (zoo.load spec); "" = random init; several, comma-separated
    # ("folder-base,folder-mix", a folder source): the one reading most of the validation images zero-shot
    init: str = ""
    # "auto" (bf16 where the CPU has bf16 instructions or on a GPU, else fp32; zoo.machine.hardware), "fp32",
    # or "bf16": mixed bfloat16 compute, float32 weights, logits, softmax and CTC
    precision: str = "auto"
    # end with the weights of the epoch with the best validation full-sequence accuracy (kept in the
    # checkpoint folder), not the last epoch's: a small folder of real images overfits
    restore_best: bool = False
    # keep an exponential moving average of the weights (Keras' `Adam(use_ema=True)`, momentum this; 0 = off):
    # validation, the best epoch kept and the final model use the averaged weights (zoo.fitting.averaging)
    ema: float = 0.0
    # train for about this many minutes on the machine the run finds: from its measured speed, more
    # epochs than the phases' (scaled alike) or, for a shorter budget, shorter epochs (zoo.fitting.time_budget);
    # 0 = the phases' epochs as given
    minutes: float = 0.0
    # train this many samples in all: the phases' epochs (and warm-ups) are stretched or shrunk in
    # proportion to `sample_budget / (steps_per_epoch * batch_size)` epochs, so one schedule runs at
    # several budgets (`--set train.sample_budget=512000`); a whole number of epochs; 0 = as given
    sample_budget: int = 0
    # run every step as Python instead of a traced graph: for runs of a few steps (the tests' smoke
    # preset), where tracing the step costs more than the steps; the same numbers, slower per step
    run_eagerly: bool = False

    @property
    def epochs(self) -> int:
        return sum(phase.epochs for phase in self.phases)

    @property
    def samples(self) -> int:
        return self.epochs * self.steps_per_epoch * self.batch_size


@dataclass
class TrackingConfig:
    experiment: str = "captcha-zoo"  # the MLflow experiment the run goes into
    log_model: bool = True  # log the trained reader as an MLflow model (pyfunc with the zoo's inference code)
    register_model: bool = True  # register it (zoo-<arch>[-<task>]) and move `champion` when it is better
    speed_repeats: int = 5  # timed repetitions for images/s and ms/image (medians)


@dataclass
class RunConfig:
    arch: str = "bigru"  # a registered architecture (`python -m zoo.train --help` lists them)
    preset: str = "reference"  # the preset the run was built from (experiments/presets/<name>.toml)
    seed: int = 0  # seeds the training stream and the weights
    model: dict[str, Any] = field(default_factory=dict)  # overrides of the arch's ArchConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    checkpoint_dir: str = "checkpoints"  # where runs keep their resumable state (result-neutral)

    @property
    def run_name(self) -> str:
        """Named after what it is: `bigru-reference-s0`, plus a hash when fields were overridden."""
        name = f"{self.arch}-{self.preset}-s{self.seed}"
        if self.overrides_hash():
            name += f"-{self.overrides_hash()}"
        return name

    def overrides_hash(self) -> str:
        """Short hash of the run when result-changing fields differ from its preset ('' if none do)."""
        from zoo.config.hashing import config_hash  # both need the schema: imported when asked
        from zoo.config.layers import load_preset

        base = load_preset(self.preset)
        base.arch, base.seed = self.arch, self.seed
        return "" if config_hash(base) == config_hash(self) else config_hash(self)

    def arch_config(self) -> architectures.ArchConfig:
        """The architecture this run trains. The preset's `[model]` table holds problem-wide defaults
        (a small backbone for a small problem): a variant's own fields win over them, and fields set
        on the command line (`--set model.<field>=...`, values other than the preset's) win over both."""
        from zoo.config.layers import load_preset

        try:
            preset_model = load_preset(self.preset).model
        except ConfigError:  # a config built without a preset file (tests, tuned configs in memory)
            preset_model = {}
        own = registry.variant_fields(self.arch) if self.arch in registry.list_models() else set()
        fields = {key: value for key, value in self.model.items()
                  if not (key in own and key in preset_model and preset_model[key] == value)}
        return registry.resolve(self.arch, **fields)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}  # train.precision -> Keras dtype policy


PRECISION_CHOICES = ("auto", *PRECISIONS)


MAX_INPUT = {"width": 2048, "height": 512}  # model input, pixels


MAX_SPLIT = 200_000  # captchas in a validation or test split (~8 GB at 170x80)


MAX_SAMPLES = 100_000_000  # samples a run trains (the reference: 2,048,000)
