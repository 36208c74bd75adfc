import re

import pytest

from zoo.config import ConfigError, Phase, flatten, list_presets, make_config


def test_presets_are_listed_and_load():
    assert {"reference", "cpu", "smoke", "tiny"} <= set(list_presets())
    reference = make_config("bigru", "reference")
    assert [(p.epochs, p.lr) for p in reference.train.phases] == [(20, 1e-3), (20, 1e-4)]
    assert reference.train.samples == 2_048_000 and reference.data.val_size == 2560 and reference.data.test_size == 10_000


def test_a_preset_can_start_from_a_base_preset_and_replace_what_it_sets():
    derived, tiny = make_config("bigru", "tiny-reference-phases"), make_config("bigru", "tiny")
    assert [(p.epochs, p.lr) for p in derived.train.phases] == [(6, 1e-3), (6, 1e-4)]
    assert derived.train.samples == tiny.train.samples == 19_200
    assert (derived.data, derived.model) == (tiny.data, tiny.model)  # inherited tables
    assert derived.train.batch_size == tiny.train.batch_size == 32  # a key the [train] table did not set
    assert derived.preset == "tiny-reference-phases" and derived.run_name == "bigru-tiny-reference-phases-s0"


def test_preset_bases_that_are_unknown_or_cyclic_are_clear_errors(tmp_path, monkeypatch):
    import zoo.config.files

    monkeypatch.setattr(zoo.config.files, "EXPERIMENTS_DIR", tmp_path)
    (tmp_path / "a.toml").write_text('base = "b"\n[train]\nsteps_per_epoch = 3\n')
    (tmp_path / "b.toml").write_text('base = "a"\n')
    (tmp_path / "orphan.toml").write_text('base = "gone"\n')
    with pytest.raises(ConfigError, match="in a cycle: a -> b -> a"):
        make_config("bigru", "a")
    with pytest.raises(ConfigError, match="unknown preset 'gone' \\(the base of preset 'orphan'\\)"):
        make_config("bigru", "orphan")


def test_overrides_are_parsed_by_field_type():
    config = make_config("bigru", "smoke", 3, ["data.charset=0123456789", "train.steps_per_epoch=7",
                                               "train.phases=[{epochs=2, lr=3e-3}]", "model.conv_filters=[8, 16, 32]"])
    assert config.data.charset == "0123456789"
    assert config.train.steps_per_epoch == 7 and config.train.phases == [Phase(2, 3e-3)]
    assert config.model == {"conv_filters": (8, 16, 32)} and config.arch_config().conv_filters == (8, 16, 32)
    assert config.run_name.startswith("bigru-smoke-s3-")


def test_run_name_ignores_fields_that_cannot_change_results():
    assert make_config("gru", "cpu", 1, ["data.workers=1", "checkpoint_dir=/tmp/x"]).run_name == "gru-cpu-s1"


def test_flattened_params_hold_the_whole_config():
    flat = flatten(make_config("bigru", "smoke", 0, ["train.phases=[{epochs=1, lr=1e-3}, {epochs=1, lr=1e-4}]"]))
    assert flat["data.charset"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert flat["train.phases"] == '[{"epochs": 1, "lr": 0.001}, {"epochs": 1, "lr": 0.0001}]'


@pytest.mark.parametrize("overrides,message", [
    (["trian.batch_size=4"], "unknown config key 'trian.batch_size'"),
    (["data.charsets=abc"], "unknown config key"),
    (["model.rnn=gru"], "unknown model field 'rnn'"),
    (["train.phases=[{epochs=2, lr=0}]"], "lr > 0"),
    (["train.phases=[{epochs=2, lr=-1e-3}]"], "lr > 0"),
    (["train.phases=[]"], "train.phases is empty"),
    (["train.steps_per_epoch=0"], "train.steps_per_epoch must be positive"),
    (["train.batch_size=-4"], "train.batch_size must be positive"),
    (["data.charset="], "data.charset is empty"),
    (["data.charset=AAB"], "repeats characters"),
    (["data.max_length=9"], "labels of 9 characters need at least 17"),
    (["model.drop_steps=11"], "as 6 output steps, but labels of 4 characters need at least 7"),
    (["data.min_length=5"], "data.min_length <= data.max_length"),
    (["train.batch_size=many"], "cannot read 'many' as int"),
    (["batch_size"], "not of the form key=value"),
    (["model.cell=rnn"], "cell must be one of"),
    (["data.oversample=O0", "data.oversample_factor=0"], "oversample_factor must be from above 0 to 1000"),
    (["data.oversample=Oo"], "outside data.charset: 'o'"),
    (["data.oversample=OO"], "repeats characters"),
    (["data.oversample_factor=4"], "needs data.oversample"),
    (["train.sample_budget=100"], "train.sample_budget = 100 is not a whole number of epochs of 2 steps x 8 = 16 samples; accepted: multiples of 16, e.g. 96"),
    (["train.phases=[{epochs=2, lr=1e-3}, {epochs=2, lr=1e-4}]", "train.sample_budget=16"],
     "gives 1 epoch(s) to 2 phases; each needs one (16 samples): accepted from 32"),
    (["train.sample_budget=-16"], "must be 0 (off) or a positive number of samples"),
    (["train.sample_budget=64", "train.minutes=5"], "both set the epochs; give one of them"),
    (["data.test_size=1000000000000"], "data.test_size = 1,000,000,000,000 is more than the 200,000 captchas accepted"),
    (["data.val_size=300000"], "data.val_size = 300,000 is more than the 200,000 captchas accepted"),
    (["train.sample_budget=160000000000000000000"], "the run would train 160,000,000,000,000,000,000 samples, more than the 100,000,000 accepted"),
    (["tracking.experiment="], "tracking.experiment must be a non-empty MLflow experiment name"),
])
def test_bad_overrides_fail_with_what_is_accepted(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config("bigru", "smoke", 0, overrides)


def test_unknown_arch_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown arch 'bigruu'; known: bigru, bigru_aligned"):
        make_config("bigruu", "smoke")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'fast'; known presets: cpu"):
        make_config("bigru", "fast")


def test_registered_names_keep_tasks_apart():
    """A 2-digit `tiny` model must never take `zoo-bigru@champion` from a reference-problem model."""
    from zoo.config import registered_model_name

    assert registered_model_name(make_config("bigru", "reference", 0)) == "zoo-bigru"
    assert registered_model_name(make_config("bigru", "smoke", 3)) == "zoo-bigru"  # same task, smaller budget
    tiny = registered_model_name(make_config("bigru", "tiny", 0))
    assert tiny.startswith("zoo-bigru-10c2-2-64x32-") and tiny != "zoo-bigru"
    other_test = registered_model_name(make_config("bigru", "reference", 0, ["data.test_seed=5"]))
    assert other_test not in ("zoo-bigru", tiny)


def test_a_grid_run_is_built_from_the_grid_file_itself(tmp_path, capsys):
    from zoo.grids import compare
    from zoo.commands import train

    grid_file = tmp_path / "g.toml"
    grid_file.write_text('kind = "comparison"\nexperiment = "g"\npreset = "smoke"\narchs = ["gru"]\nseeds = [0, 1]\n'
                         'overrides = { "train.steps_per_epoch" = 3, "train.phases" = [{ epochs = 1, lr = 1e-3 }] }\n')
    grid = compare.load_grid(grid_file)
    grid.local["checkpoint_dir"] = str(tmp_path / "elsewhere")  # a campaign's --checkpoint-dir
    config = grid.run_configs()[1]
    command = compare.train_command(grid, config, "new")
    assert command[command.index("--grid") + 1] == str(grid_file) and command[command.index("--run") + 1] == config.run_name
    rebuilt = compare.load_grid(grid_file).run_config(config.run_name, {"checkpoint_dir": str(tmp_path / "elsewhere")})
    assert rebuilt == config  # the same typed config, phases and all, with no string round trip
    assert train.main(["--grid", str(grid_file)]) == 2 and "--grid and --run go together" in capsys.readouterr().err
    assert train.main(["--grid", str(grid_file), "--run", "nope"]) == 2
    assert "no run 'nope' in this grid; its runs: gru-smoke-s0-" in capsys.readouterr().err


def test_a_variants_own_fields_win_over_the_presets_model_table(monkeypatch):
    from zoo.models import architectures, registry
    from zoo.config import arch_hash, arch_params

    # a variant defined with units=256, as the issue found: on `tiny` (units = 32) it stays a 256-unit model
    monkeypatch.setitem(registry._VARIANTS, "bigru_wide", lambda **overrides: architectures._variant(overrides, units=256))
    wide = make_config("bigru_wide", "tiny", 0)
    assert wide.arch_config().settings.units == 256 and make_config("bigru", "tiny", 0).arch_config().settings.units == 32
    assert wide.arch_config().conv_filters == (16, 32)  # the preset's problem-wide backbone still applies
    assert make_config("bigru_wide", "tiny", 0, ["model.units=64"]).arch_config().settings.units == 64  # explicit wins
    assert arch_params(wide)["arch.units"] == "256" and arch_params(wide)["arch.head"] == "recurrent"
    before = arch_hash(wide)  # editing the variant changes the fingerprint compare and campaign check
    monkeypatch.setitem(registry._VARIANTS, "bigru_wide", lambda **overrides: architectures._variant(overrides, units=192))
    assert arch_hash(make_config("bigru_wide", "tiny", 0)) != before


def test_a_sample_budget_scales_the_phases_keeping_their_shape():
    reference = make_config("bigru", "reference", 0, ["train.steps_per_epoch=50", "train.sample_budget=128000"])
    assert [(p.epochs, p.lr) for p in reference.train.phases] == [(10, 1e-3), (10, 1e-4)]
    assert reference.train.samples == 128_000
    one_cycle = make_config("bigru", "reference-512k", 0, ["train.sample_budget=128000"])  # 80 epochs, warm-up 4
    assert [(p.epochs, p.warmup, p.decay) for p in one_cycle.train.phases] == [(20, 1.0, "cosine")]
    # a preset that sets it: the same phases through the preset as through --set, so no override hash
    preset = make_config("bigru", "reference-recipe-512k")
    assert [(p.epochs, p.lr) for p in preset.train.phases] == [(40, 1e-3), (40, 1e-4)] and preset.train.samples == 512_000
    assert preset.run_name == "bigru-reference-recipe-512k-s0"
    again = make_config("bigru", "reference-recipe-512k", 0, ["train.sample_budget=512000"])
    assert again.train.phases == preset.train.phases and again.run_name == preset.run_name  # scaling twice: the same
    assert make_config("bigru", "reference-recipe-512k", 0, ["train.sample_budget=256000"]).train.phases == [Phase(20, 1e-3), Phase(20, 1e-4)]


def test_adding_a_config_field_keeps_the_hashes_of_configs_that_do_not_use_it():
    """Tracked runs and checkpoints are found by config hash (zoo.compare, zoo.campaign, --resume):
    a new field enters the hash only when it differs from what earlier runs had (LATER_KEYS).
    These are the hashes of 2026-11-27, before train.minutes existed."""
    from zoo.config import config_hash

    assert config_hash(make_config("bigru", "tiny", 0, ["train.precision=fp32"])) == "8a734eb5"
    assert config_hash(make_config("bigru", "reference", 0, ["train.precision=fp32"])) == "4178b6ca"


def test_every_shipped_experiment_file_loads(tmp_path):
    """The configs in experiments/ are what README commands run: each grid, study and preset loads and
    validates, so a renamed key or preset cannot leave one broken until someone runs it."""
    import tomllib

    from zoo.config import EXPERIMENTS_DIR
    from zoo.data.pil_captchas import draw_folder
    from zoo.grids.compare import load_grid
    from zoo.studies.config import load_study_config

    from zoo.config import KIND_FOLDERS

    kinds = {}
    assert not list(EXPERIMENTS_DIR.glob("*.toml"))  # every committed file in the folder of its kind
    for path in sorted(EXPERIMENTS_DIR.glob("*/*.toml")):
        table = tomllib.loads(path.read_text())
        kind = table.get("kind", "tuned" if path.stem.startswith("tuned-") else "preset")
        assert path.parent.name == KIND_FOLDERS[kind], f"{path} is a {kind}: it belongs in experiments/{KIND_FOLDERS[kind]}/"
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "comparison":
            load_grid(path)
        elif kind == "study":
            load_study_config(path)
        elif table.get("data", {}).get("auto_width"):  # a folder preset, run with --data
            if not (tmp_path / "labels.csv").exists():
                draw_folder(tmp_path, 12, lengths=(4, 6))
            make_config("bigru", path.stem, 0, [f"data.source=folder:{tmp_path}"])
        else:
            make_config("bigru", path.stem)
    assert kinds.get("comparison", 0) >= 10 and kinds.get("study", 0) >= 4 and kinds.get("preset", 0) >= 20
    assert kinds.get("tuned", 0) >= 4


def test_an_old_experiments_path_is_told_where_its_file_went(capsys):
    from zoo.grids.compare import load_grid
    from zoo.studies.config import load_study_config

    assert load_grid("experiments/heads.toml").experiment == load_grid("experiments/grids/heads.toml").experiment
    assert "experiments/heads.toml is now experiments/grids/heads.toml" in capsys.readouterr().err
    assert load_study_config("experiments/study-bigru.toml").name
    assert "is now experiments/studies/study-bigru.toml" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no comparison config .*nothing.toml; comparisons in experiments/grids/"):
        load_grid("experiments/nothing.toml")


def test_every_committed_comparison_lists_its_architectures_by_name():
    """A committed report's grid never changes under it: a pattern ("*", "bigru*") would grow it when a head is registered."""
    import tomllib

    from zoo import config as config_lib

    for path in config_lib.experiment_files("comparison"):
        raw = tomllib.loads(path.read_text())
        for archs in [raw.get("archs", [])] + [group.get("archs", []) for group in raw.get("groups", [])]:
            assert archs or "groups" in raw, path.name
            assert not [name for name in archs if set(name) & set("*?[")], f"{path.name}: {archs}"
