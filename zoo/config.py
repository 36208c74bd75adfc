"""One config schema for every run: dataclasses, presets as TOML data, `key=value` overrides.

A run config is `RunConfig`; presets live in `experiments/presets/<name>.toml` (and the presets
studies write in `experiments/tuned/`) and hold any subset of its fields; grids are in
`experiments/grids/`, studies in `experiments/studies/`; a preset is named by its file's stem. Command-line overrides use dotted keys (`train.steps_per_epoch=50`,
`model.drop_steps=3`, `train.phases=[{epochs=2, lr=1e-3}]`) and are parsed by the field's type,
so `data.charset=0123456789` stays a string. Everything is validated before any compute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import string
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from zoo.data.source_names import PIL_PREFIX, PIL_STYLES
from zoo.models import architectures, registry

PACKAGE_DIR = Path(__file__).resolve().parent
# From a checkout (an editable install) everything lives in the checkout: experiments/, mlflow.db,
# reports/, checkpoints/. From an installed wheel the shipped presets and experiment configs are
# package data (zoo/experiments/, mapped from experiments/ by pyproject.toml) and what the zoo writes
# goes under the working directory, as `mlflow` and `optuna` do.
IN_CHECKOUT = (PACKAGE_DIR.parent / "pyproject.toml").is_file() and (PACKAGE_DIR.parent / "experiments").is_dir()
PROJECT_DIR = PACKAGE_DIR.parent if IN_CHECKOUT else Path.cwd()
EXPERIMENTS_DIR = PROJECT_DIR / "experiments" if IN_CHECKOUT else PACKAGE_DIR / "experiments"
USER_EXPERIMENTS_DIR = PROJECT_DIR / "experiments"  # where studies write tuned presets; searched too
DEFAULT_CHARSET = string.digits + string.ascii_uppercase


class ConfigError(ValueError):
    """A config, preset or override that cannot run; the message says what is accepted."""


@dataclass
class DataConfig:
    charset: str = DEFAULT_CHARSET
    min_length: int = 4
    max_length: int = 4
    width: int = 170
    height: int = 80
    val_size: int = 2560  # the reference's per-epoch check: 20 x 128
    test_size: int = 10000  # the reference's final check
    val_seed: int = 1_000_003  # fixed: every run is validated on the same images
    test_seed: int = 2_000_003  # fixed and distinct from val and from any training seed
    workers: int = 0  # data worker processes; 0 = one per CPU core
    prefetch_batches: int = 8
    # "captcha" (generated, seeded) or "folder:PATH" (your labeled images: zoo.data.folder_data); for a
    # folder, charset (unless given), lengths and val/test sizes are read from its labels
    source: str = "captcha"
    label_pattern: str = r"^([^_.]+)"  # folder: first group = the label, from the file name
    val_fraction: float = 0.1  # folder: shares of the images held out for validation and test
    test_fraction: float = 0.1
    # how an image is fitted to width x height: "stretch" (the reference) or "pad" (keep the aspect
    # ratio: scale to the height, pad on the right with the background; zoo.data.images.fit)
    resize: str = "stretch"
    # folder: choose `width` from the images' aspect ratios at `height` (their 95th percentile, and at
    # least 2 CTC steps per character of the longest label), replacing the preset's width
    auto_width: bool = False
    # training images only: "none", or "text" (small rotation/shear/scale/shift, colour and contrast
    # jitter, blur, pixel noise and noise lines; seeded by sample index, so resumable: zoo.data.augment)
    augment: str = "none"
    # generated training labels only: these characters are drawn `oversample_factor` times as often as
    # the others (e.g. "O0" and 4.0 for the reference's most confused pair); validation and test labels
    # stay uniform, so the scores remain those of the reference problem
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


PHASE_DEFAULTS = {"warmup": 0.0, "decay": "constant", "end_lr": 0.0, "reset": True}


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
    batch_size: int = 128
    steps_per_epoch: int = 400
    phases: list[Phase] = field(default_factory=_reference_phases)
    eval_batch_size: int = 128
    init: str = ""  # start from a trained zoo model's weights (zoo.load spec); "" = random init
    # "auto" (bf16 where the CPU has bf16 instructions or on a GPU, else fp32; zoo.fitting.hardware), "fp32",
    # or "bf16": mixed bfloat16 compute, float32 weights, logits, softmax and CTC
    precision: str = "auto"
    # end with the weights of the epoch with the best validation full-sequence accuracy (kept in the
    # checkpoint folder), not the last epoch's: a small folder of real images overfits
    restore_best: bool = False
    # train for about this many minutes on the machine the run finds: the phases' epochs are scaled to
    # its measured speed before the first epoch (zoo.fitting.time_budget); 0 = the phases' epochs as given
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
    experiment: str = "captcha-zoo"
    log_model: bool = True
    register_model: bool = True
    speed_repeats: int = 5  # timed repetitions for images/s and ms/image (medians)


@dataclass
class RunConfig:
    arch: str = "bigru"
    preset: str = "reference"
    seed: int = 0
    model: dict[str, Any] = field(default_factory=dict)  # overrides of the arch's ArchConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    checkpoint_dir: str = "checkpoints"

    @property
    def run_name(self) -> str:
        """Named after what it is: `bigru-reference-s0`, plus a hash when fields were overridden."""
        name = f"{self.arch}-{self.preset}-s{self.seed}"
        if self.overrides_hash():
            name += f"-{self.overrides_hash()}"
        return name

    def overrides_hash(self) -> str:
        """Short hash of the run when result-changing fields differ from its preset ('' if none do)."""
        base = load_preset(self.preset)
        base.arch, base.seed = self.arch, self.seed
        return "" if config_hash(base) == config_hash(self) else config_hash(self)

    def arch_config(self) -> architectures.ArchConfig:
        """The architecture this run trains. The preset's `[model]` table holds problem-wide defaults
        (a small backbone for a small problem): a variant's own fields win over them, and fields set
        on the command line (`--set model.<field>=...`, values other than the preset's) win over both."""
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


# fields that change where or how fast a run goes, never what it computes
RESULT_NEUTRAL_KEYS = {"checkpoint_dir", "data.workers", "data.prefetch_batches", "tracking.experiment",
                       "tracking.log_model", "tracking.register_model", "tracking.speed_repeats", "train.run_eagerly"}


# fields added after runs were tracked, with the value every earlier run had: hashed only when they
# differ from it, so earlier runs keep their hashes
LATER_KEYS = {"data.source": "captcha", "data.label_pattern": r"^([^_.]+)", "data.val_fraction": "0.1",
              "data.test_fraction": "0.1", "train.init": "", "train.precision": "fp32", "data.resize": "stretch",
              "data.auto_width": "false", "data.augment": "none", "train.restore_best": "false",
              "train.minutes": "0.0", "data.oversample": "", "data.oversample_factor": "1.0",
              "train.sample_budget": "0", "data.draw_sizes": ""}
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}  # train.precision -> Keras dtype policy
PRECISION_CHOICES = ("auto", *PRECISIONS)


def resolved_precision(config: RunConfig) -> str:
    """`fp32` or `bf16`: what `train.precision` means on this machine (`auto` is decided by zoo.fitting.hardware)."""
    from zoo.fitting import hardware

    return hardware.resolve_precision(config.train.precision)


def arch_hash(config: RunConfig) -> str:
    """Hash of the fully resolved architecture: changes when a variant's definition changes, so a
    finished run of the old definition is not counted as a run of the new one (zoo.compare)."""
    fields = config.arch_config().fields()
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()[:8]


def arch_params(config: RunConfig) -> dict[str, str]:
    """The resolved architecture as MLflow params: `arch.<field>`."""
    return {f"arch.{key}": json.dumps(value, default=list) if not isinstance(value, str) else value
            for key, value in config.arch_config().fields().items()}


def config_hash(config: RunConfig) -> str:
    """Hash of every field that can change a run's results; `auto` precision is hashed as what it
    resolves to here, so a run is never resumed or skipped across machines that compute differently."""
    flat = flatten(config)
    flat["train.precision"] = resolved_precision(config)
    fields = {key: value for key, value in flat.items() if key not in RESULT_NEUTRAL_KEYS
              and not (key in LATER_KEYS and value == LATER_KEYS[key])}
    payload = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:8]


TASK_KEYS = ("charset", "min_length", "max_length", "width", "height", "source", "test_seed")  # what is read, tested how


def task_suffix(data: DataConfig) -> str:
    """'' for the reference problem (4 of 36 characters at 170x80, our generated test set), else a
    readable key of the task (`10c2-2-64x32-1a2b3c`): models are only ranked against models that
    were tested on the same task."""
    values = {key: getattr(data, key) for key in TASK_KEYS}
    if values == {key: getattr(DataConfig(), key) for key in TASK_KEYS}:
        return ""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:6]
    return f"{len(data.charset)}c{data.min_length}-{data.max_length}-{data.width}x{data.height}-{digest}"


def registered_model_name(config: RunConfig) -> str:
    """`zoo-<arch>` for the reference problem, `zoo-<arch>-<task>` for any other: the `champion` alias
    of one registered model then always compares like with like."""
    suffix = task_suffix(config.data)
    return f"zoo-{config.arch}" + (f"-{suffix}" if suffix else "")


def flatten(config: RunConfig) -> dict[str, str]:
    """`{"data.charset": "...", "train.phases": "[...]", ...}` for MLflow params."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if prefix == "train.phases":
            value = phases_as_written(config.train.phases)
        if isinstance(value, dict) and prefix != "model":
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            flat[prefix] = value if isinstance(value, str) else json.dumps(value)

    walk("", to_dict(config))
    return flat


KIND_FOLDERS = {"preset": "presets", "tuned": "tuned", "comparison": "grids", "study": "studies"}  # experiments/<folder>/


def _experiment_paths() -> list[Path]:
    """Every experiment file: in experiments/<kind folder>/ (presets, tuned, grids, studies) and, for
    files put there by hand, experiments/ itself."""
    folders = dict.fromkeys([EXPERIMENTS_DIR, USER_EXPERIMENTS_DIR])  # one folder in a checkout
    return [path for folder in folders for pattern in ("*/*.toml", "*.toml") for path in sorted(folder.glob(pattern))
            if pattern == "*.toml" or path.parent.name in KIND_FOLDERS.values()]


def list_presets() -> list[str]:
    return sorted({path.stem for path in _experiment_paths() if _is_run_preset(path)})


def _is_run_preset(path: Path) -> bool:
    return not tomllib.loads(path.read_text()).get("kind")  # studies/comparisons declare a kind


MAX_INPUT = {"width": 2048, "height": 512}  # model input, pixels
MAX_SPLIT = 200_000  # captchas in a validation or test split (~8 GB at 170x80)
MAX_SAMPLES = 100_000_000  # samples a run trains (the reference: 2,048,000)


KIND_NAMES = {"study": ("study config", "studies"), "comparison": ("comparison config", "comparisons")}


def experiment_files(kind: str) -> list[Path]:
    """The configs in experiments/ that declare `kind = "<kind>"` (studies, comparisons)."""
    return sorted(path for path in _experiment_paths() if tomllib.loads(path.read_text()).get("kind") == kind)


def read_experiment_file(path: str | Path, kind: str) -> tuple[dict[str, Any], list[str]]:
    """The raw TOML of a `kind` config and the problems found so far (a wrong kind); a missing
    file (listing the known ones) or invalid TOML raises ConfigError at once."""
    path = moved_experiment(Path(path), kind)
    if not path.is_file():
        known = ", ".join(p.name for p in experiment_files(kind)) or "(none)"
        raise ConfigError(f"no {KIND_NAMES[kind][0]} {path}; {KIND_NAMES[kind][1]} in experiments/{KIND_FOLDERS[kind]}/: {known}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    problems = [] if raw.get("kind") == kind else [f"kind must be \"{kind}\", got {raw.get('kind')!r}"]
    return raw, problems


def moved_experiment(path: Path, kind: str) -> Path:
    """An old path of a file that now lives in experiments/<kind folder>/ (`experiments/grids/heads.toml`, before
    the folder was split by kind): the file where it went, with a note saying so; any other path as given."""
    if path.is_file() or path.parent.name not in ("experiments", ""):
        return path
    moved = next((p for p in experiment_files(kind) if p.name == path.name), None)
    if moved is None:
        return path
    shown = moved.relative_to(PROJECT_DIR) if moved.is_relative_to(PROJECT_DIR) else moved
    print(f"note: {path} is now {shown} (experiments/ is split by kind: presets, tuned, grids, studies)", file=sys.stderr)
    return moved


def parse_experiment_file(path: str | Path, kind: str, cls: type, given: dict[str, Any] | None = None):
    """A `kind` config file parsed as the dataclass `cls` by the run schema's parser (`given` values,
    e.g. from the command line, win), the problems found so far, and the keys the file set (a key
    given as an empty list is not the same as one left out); a key or type problem raises."""
    raw, problems = read_experiment_file(path, kind)
    raw.pop("kind", None)
    try:
        return build_table(cls, {**raw, **(given or {})}, where=""), problems, set(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: " + "; ".join([*problems, str(error).removeprefix(": ")])) from None


def load_preset(name: str) -> RunConfig:
    values = _preset_values(name)
    model = values.pop("model", {})
    config = build_table(RunConfig, {**values, "preset": name}, where=f"preset {name!r}")
    for key, value in model.items():  # typed like `--set model.<field>=...`
        _apply_override(config, f"model.{key}", value)
    _fit_sample_budget(config.train)
    return config


def _fit_sample_budget(train: TrainConfig) -> None:
    """With `train.sample_budget`, the phases scaled to that many samples (left as they are when the
    budget is not a whole number of epochs: `validate` says so). Scaling twice changes nothing."""
    per_epoch = train.steps_per_epoch * train.batch_size
    if train.sample_budget > 0 and per_epoch > 0 and train.sample_budget % per_epoch == 0 and train.phases \
            and all(phase.epochs > 0 for phase in train.phases):
        train.phases = scale_phases(train.phases, train.sample_budget // per_epoch)


def _preset_values(name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset's tables; `base = "other"` starts from that preset's tables and replaces the keys it sets."""
    if name in chain:
        raise ConfigError(f"presets name each other as base in a cycle: {' -> '.join([*chain, name])}")
    path = next((p for p in _experiment_paths() if p.stem == name and _is_run_preset(p)), None)
    if path is None:
        where = f" (the base of preset {chain[-1]!r})" if chain else ""
        raise ConfigError(f"unknown preset {name!r}{where}; known presets: {', '.join(list_presets())}")
    values = tomllib.loads(path.read_text())
    base = values.pop("base", None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ConfigError(f"preset {name!r}: base must be the name of another preset, got {base!r}")
    merged = _preset_values(base, (*chain, name))
    for section, table in values.items():
        merged[section] = {**merged.get(section, {}), **table} if isinstance(table, dict) else table
    return merged


def make_config(
    arch: str = "bigru",
    preset: str = "reference",
    seed: int = 0,
    overrides: list[str] | dict[str, Any] | None = None,
) -> RunConfig:
    """The preset, then arch/seed, then `key=value` overrides; validated before it is returned."""
    config = load_preset(preset)
    config.arch, config.seed = arch, seed
    items = overrides.items() if isinstance(overrides, dict) else map(split_assignment, overrides or [])
    given = set()
    for key, value in items:
        _apply_override(config, key, value)
        given.add(key)
    _fit_sample_budget(config.train)
    if config.data.source != "captcha" and not config.data.source.startswith(PIL_PREFIX):
        _read_folder(config, charset_given="data.charset" in given)
    validate(config)
    return config


def _read_folder(config: RunConfig, charset_given: bool) -> None:
    """Fill charset, lengths and split sizes from a `folder:PATH` source's labels (and with
    `data.auto_width`, the width from its images)."""
    from zoo.data import folder_data

    data = config.data
    root = folder_data.folder_path(data.source)
    if root is None:
        raise ConfigError(f"data.source {data.source!r} is not accepted: use \"captcha\", \"folder:PATH\" or "
                          f"\"{PIL_PREFIX}STYLE\" (STYLE: {', '.join(PIL_STYLES)})")
    if not (0 < data.val_fraction < 1 and 0 < data.test_fraction < 1):
        raise ConfigError(f"data.val_fraction and data.test_fraction must be in (0, 1), got {data.val_fraction}, {data.test_fraction}")
    try:
        labeled = folder_data.scan(str(root.resolve()), data.label_pattern)
        if charset_given:
            folder_data.check_labels(labeled, data.charset)
        else:
            data.charset = "".join(sorted({char for label in labeled.labels for char in label}))
        _, val, test = folder_data.split(labeled, data.val_fraction, data.test_fraction)
    except folder_data.FolderDataError as error:
        raise ConfigError(str(error)) from None
    data.source = f"{folder_data.PREFIX}{root.resolve()}"
    lengths = [len(label) for label in labeled.labels]
    data.min_length, data.max_length = min(lengths), max(lengths)
    data.val_size, data.test_size = len(val), len(test)
    if data.auto_width and config.arch in registry.list_models():  # an unknown arch is reported by validate
        arch = config.arch_config()
        data.width = folder_data.choose_width(folder_data.image_sizes(labeled), data.height, arch, data.max_length,
                                              MAX_INPUT["width"])


def split_assignment(assignment: str) -> tuple[str, str]:
    """`key=value` -> (key, value), or a clear error."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {assignment!r} is not of the form key=value (e.g. train.steps_per_epoch=50)")
    return key.strip(), value.strip()


def _apply_override(config: RunConfig, key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    if parents == ["model"]:
        arch_types = architectures.field_types()
        if leaf not in arch_types:
            raise ConfigError(f"unknown model field {leaf!r}; accepted: {', '.join(arch_types)}")
        config.model[leaf] = _coerce(value, arch_types[leaf], key)
        return
    target: Any = config
    for part in parents:
        if not dataclasses.is_dataclass(target) or part not in _field_types(target):
            raise ConfigError(f"unknown config key {key!r}; accepted: {', '.join(known_keys())}")
        target = getattr(target, part)
    types = _field_types(target) if dataclasses.is_dataclass(target) else {}
    if leaf not in types or dataclasses.is_dataclass(getattr(target, leaf)) or leaf == "model":
        raise ConfigError(f"unknown config key {key!r}; accepted: {', '.join(known_keys())}")
    setattr(target, leaf, _coerce(value, types[leaf], key))


def known_keys() -> list[str]:
    keys = []
    for name, kind in _field_types(RunConfig).items():
        if dataclasses.is_dataclass(kind):
            keys += [f"{name}.{sub}" for sub in _field_types(kind)]
        elif name == "model":
            keys.append("model.<ArchConfig field>")
        else:
            keys.append(name)
    return keys


def _field_types(cls_or_obj: Any) -> dict[str, Any]:
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    return get_type_hints(cls)


def _coerce(value: Any, kind: Any, key: str) -> Any:
    """Parse `value` (a CLI string or TOML value) as the field's type, or say what is accepted."""
    if isinstance(value, str) and kind is not str:
        try:
            value = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            if kind is bool and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            else:
                raise ConfigError(f"{key}: cannot read {value!r} as {_type_name(kind)}") from None
    origin = get_origin(kind)
    try:
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return value
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value
        if origin is tuple:
            (item,) = {arg for arg in get_args(kind) if arg is not Ellipsis}
            return tuple(_coerce(v, item, key) for v in value)
        if origin is list:
            (item,) = get_args(kind)
            return [_coerce(v, item, key) for v in value]
        if origin is dict:
            return dict(value)
        if dataclasses.is_dataclass(kind):
            return build_table(kind, value, where=key)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{key}: expected {_type_name(kind)}, got {value!r}") from None
    raise ConfigError(f"{key}: unsupported field type {kind}")


def _type_name(kind: Any) -> str:
    if kind is Phase or get_args(kind) == (Phase,):
        return ("a list of phases like [{epochs=20, lr=1e-3}, {epochs=20, lr=1e-4}] (optional per phase: "
                "warmup=<epochs>, decay=\"constant\"|\"linear\"|\"cosine\", end_lr=<rate>, reset=true|false)")
    return getattr(kind, "__name__", str(kind))


def build_table(cls: type, values: Any, where: str) -> Any:
    """A TOML table (or dict) as the dataclass `cls`: unknown keys are refused with the accepted
    ones, each value is checked against the field's type hint, missing fields take their defaults.
    The one parser of every config: runs, presets, studies and grids."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table of {', '.join(_field_types(cls))}, got {values!r}")
    types = _field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; accepted: {', '.join(types)}")
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    kwargs = {}
    for name, kind in types.items():
        if name in values:
            kwargs[name] = _coerce(values[name], kind, f"{where}: {name}" if where else name)
        elif name in defaults:
            kwargs[name] = defaults[name]
        else:
            raise ConfigError(f"{where}: missing {name!r}")
    return cls(**kwargs)


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
    from zoo.data import augment, images

    if data.resize not in images.RESIZES:
        problems.append(f"data.resize {data.resize!r} is not accepted; use one of {', '.join(images.RESIZES)}")
    if data.augment not in augment.AUGMENTS:
        problems.append(f"data.augment {data.augment!r} is not accepted; use one of {', '.join(augment.AUGMENTS)}")
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
    if train.precision not in PRECISION_CHOICES:
        problems.append(f"train.precision {train.precision!r} is not accepted; use one of {', '.join(PRECISION_CHOICES)}")
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
    if data.source != "captcha":
        problems.append(f"data.oversample draws generated labels; data.source {data.source!r} has its own labels "
                        "(accepted only with data.source = \"captcha\")")
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


def toml_value(value: Any, top: bool = False) -> str:
    """`value` as inline TOML; with top=True a plain string stays as it is (how `--set` reads strings)."""
    if isinstance(value, str):
        return value if top else json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # a key that is not bare (`train.phases`) is quoted, else TOML would nest it
        return "{ " + ", ".join(f"{toml_key(key)} = {toml_value(item)}" for key, item in value.items()) + " }"
    return repr(value)


def toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) else json.dumps(key)


def write_preset(config: RunConfig, name: str, header: str, folder: Path = USER_EXPERIMENTS_DIR / "tuned") -> Path:
    """Save `config` (minus arch and seed) as <folder>/<name>.toml, atomically; `header` becomes comments."""
    sections = {"data": to_dict(config.data), "model": dict(config.model), "train": to_dict(config.train),
                "tracking": to_dict(config.tracking)}
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for section, values in sections.items():
        if values:
            lines += ["", f"[{section}]", *[f"{key} = {toml_value(value)}" for key, value in values.items()]]
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{name}.toml"
    partial = path.with_suffix(".partial")
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)
    return path
