"""One home for configuration: the run config's schema with its only defaults, the layers it is
built from (preset -> variant -> `--set`), its hashes, the experiment files (presets, tuned presets,
grids, studies) and their validation.

    zoo.config.schema       the dataclasses: DataConfig, Phase, TrainConfig, TrackingConfig, RunConfig
    zoo.config.layers       make_config(arch, preset, seed, overrides): the layers, a folder source read
    zoo.config.typed        TOML tables and `key=value` text -> typed fields
    zoo.config.validation   everything that cannot train, refused before any compute
    zoo.config.hashing      config and architecture hashes, task names, MLflow params
    zoo.config.files        where experiment files live; reading them by kind
    zoo.config.grids        grid files -> the configs of their runs
    zoo.config.toml_writing configs back to TOML (tuned presets)

A run config is `RunConfig`; presets live in `experiments/presets/<name>.toml` (and the presets
studies write in `experiments/tuned/`) and hold any subset of its fields; grids are in
`experiments/grids/`, studies in `experiments/studies/`; a preset is named by its file's stem.
Command-line overrides use dotted keys (`train.steps_per_epoch=50`, `model.drop_steps=3`,
`train.phases=[{epochs=2, lr=1e-3}]`) and are parsed by the field's type, so
`data.charset=0123456789` stays a string. Everything is validated before any compute.
"""

from zoo.config.schema import (DEFAULT_CHARSET, ConfigError, DataConfig, DECAYS, Phase, PHASE_DEFAULTS,
    phases_as_written, scale_phases, TrainConfig, TrackingConfig, RunConfig, to_dict, PRECISIONS, PRECISION_CHOICES,
    MAX_INPUT, MAX_SPLIT, MAX_SAMPLES)
from zoo.config.typed import field_types, coerce, type_name, build_table
from zoo.config.files import (PACKAGE_DIR, IN_CHECKOUT, PROJECT_DIR, repo_path, EXPERIMENTS_DIR, USER_EXPERIMENTS_DIR,
    KIND_FOLDERS, experiment_paths, list_presets, is_run_preset, KIND_NAMES, experiment_files, read_experiment_file,
    moved_experiment, parse_experiment_file)
from zoo.config.hashing import (RESULT_NEUTRAL_KEYS, LATER_KEYS, resolved_precision, arch_hash, arch_params,
    config_hash, TASK_KEYS, task_suffix, registered_model_name, flatten)
from zoo.config.validation import validate
from zoo.config.layers import load_preset, make_config, split_assignment, known_keys
from zoo.config.toml_writing import toml_value, toml_key, write_preset
from zoo.config.grids import GridBlock, GridConfig, GridGroup, GridFile, load_grid

__all__ = [  # the names every module imports from zoo.config; each lives in the submodule above
    "DEFAULT_CHARSET", "ConfigError", "DataConfig", "DECAYS", "Phase", "PHASE_DEFAULTS", "phases_as_written",
    "scale_phases", "TrainConfig", "TrackingConfig", "RunConfig", "to_dict", "PRECISIONS", "PRECISION_CHOICES",
    "MAX_INPUT", "MAX_SPLIT", "MAX_SAMPLES", "field_types", "coerce", "type_name", "build_table", "PACKAGE_DIR",
    "IN_CHECKOUT", "PROJECT_DIR", "repo_path", "EXPERIMENTS_DIR", "USER_EXPERIMENTS_DIR", "KIND_FOLDERS", "experiment_paths",
    "list_presets", "is_run_preset", "KIND_NAMES", "experiment_files", "read_experiment_file", "moved_experiment",
    "parse_experiment_file", "RESULT_NEUTRAL_KEYS", "LATER_KEYS", "resolved_precision", "arch_hash", "arch_params",
    "config_hash", "TASK_KEYS", "task_suffix", "registered_model_name", "flatten", "validate", "load_preset",
    "make_config", "split_assignment", "known_keys", "toml_value", "toml_key", "write_preset", "GridBlock",
    "GridConfig", "GridGroup", "GridFile", "load_grid",
]
