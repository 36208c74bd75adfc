"""The workers benchmark's grid copies (zoo.grids.throughput): the same runs, another experiment and checkpoint folder."""

import tomllib

from zoo.config import EXPERIMENTS_DIR, toml_value
from zoo.grids import throughput
from zoo.grids.compare import load_grid


def test_a_grid_copy_has_the_same_runs_in_its_own_experiment(tmp_path):
    for name in ("throughput-smoke", "heads-reference"):  # one block; groups
        source = EXPERIMENTS_DIR / "grids" / f"{name}.toml"
        copy = load_grid(throughput.grid_copy(source, "copied", tmp_path / "ckpt", tmp_path / f"{name}.toml"))
        original = load_grid(source)
        assert copy.experiment == "copied"
        assert [c.run_name for c in copy.run_configs()] == [c.run_name for c in original.run_configs()]
        assert {c.checkpoint_dir for c in copy.run_configs()} == {str(tmp_path / "ckpt")}


def test_dotted_keys_stay_one_key_in_inline_tables():
    assert tomllib.loads(f"x = {toml_value({'train.phases': [1], 'plain': 'a'})}")["x"] == {"train.phases": [1], "plain": "a"}
