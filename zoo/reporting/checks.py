"""A grid's `check = true` groups in a report (experiments/grids/heads-reference.toml: each head's peak rate
checked on one seed before its seeds): their runs set apart from the comparison and shown as a table of
their own, with a note where a head is compared at the edge of the rates checked; and the committed grid
that runs an experiment."""

from __future__ import annotations

import tomllib

import pandas as pd

from zoo import config as config_lib
from zoo.tracking.run_tables import RunTables


def separate_checks(tables: RunTables) -> tuple[RunTables, pd.DataFrame | None]:
    """A grid's `check = true` groups (experiments/grids/heads-reference.toml: the peak rate of some heads on one
    seed, before their seeds) are reported apart: their runs leave the comparison (a run picked for scoring
    best would bias it) and come back as a table, arch x preset of mean test accuracy, with the preset
    each architecture is compared at. Grids without checks: as they are."""
    checks = check_runs(tables.experiment)
    runs = tables.runs
    if not checks:
        return tables, None
    checked = runs["run_name"].isin(checks)
    if not checked.any() or checked.all():  # nothing to set apart, or only checks so far: shown as runs
        return tables, None
    compared = runs[~checked]
    # a check need not rerun what the seeds run anyway (bigru's x1 is its seed 0): such a cell is filled
    # from the compared run of the same architecture, preset and seed as the arch's checks
    check_seeds = runs[checked].groupby("arch")["seed"].agg(set)
    same_seed = compared[[seed in check_seeds.get(arch, set()) for arch, seed in zip(compared["arch"], compared["seed"])]]
    table = runs[checked].pivot_table(index="arch", columns="preset", values="test_seq_acc", aggfunc="mean")
    table = table.combine_first(same_seed.pivot_table(index="arch", columns="preset", values="test_seq_acc",
                                                      aggfunc="mean").reindex(index=table.index))
    table = table[sorted(table.columns, key=lambda preset: (preset not in set(runs.loc[checked, "preset"]), preset))]
    chosen = compared.groupby("arch")["preset"].agg(lambda presets: ", ".join(sorted(set(presets))))
    table = table.assign(compared_at=chosen.reindex(table.index).fillna("(no seeds yet)"))
    kept = set(compared["run_id"])

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["run_id"].isin(kept)].drop(columns="variant", errors="ignore")

    return RunTables(tables.experiment, rows(runs), rows(tables.curves), rows(tables.char_errors), rows(tables.misreads)), table


def rate_edge_note(checks: pd.DataFrame) -> str | None:
    """A sentence naming the architectures compared at the highest or lowest peak rate their checks
    ran (their best rate may lie beyond the range checked), or None."""
    presets = [column for column in checks.columns if column != "compared_at"]
    try:
        peaks = {preset: max(phase.lr for phase in config_lib.load_preset(preset).train.phases) for preset in presets}
    except config_lib.ConfigError:  # a preset no longer in experiments/: no rates to order
        return None
    if len(set(peaks.values())) < 2:
        return None
    sentences = []
    for edge, side in ((max(peaks, key=peaks.get), "above"), (min(peaks, key=peaks.get), "below")):
        archs = [arch for arch, chosen in checks["compared_at"].items() if chosen == edge]
        if archs:
            sentences.append(f"{', '.join(archs)} {'is' if len(archs) == 1 else 'are'} compared at the "
                             f"{'highest' if side == 'above' else 'lowest'} peak rate checked ({edge}): "
                             f"{'its' if len(archs) == 1 else 'their'} best rate may lie {side} it, so the "
                             "comparison is at the best rate checked, not necessarily each head's best.")
    return " ".join(sentences) or None


def check_runs(experiment: str) -> set[str]:
    """The run names of the `check = true` groups of the grid that runs `experiment` (none without one)."""
    from zoo.config import load_grid

    grid = grid_config_for(experiment)
    try:
        return load_grid(config_lib.PROJECT_DIR / grid).check_runs() if grid else set()
    except config_lib.ConfigError:
        return set()


def only_checks(tables: RunTables) -> bool:
    """Every run of the experiment is one of its grid's `check = true` runs."""
    checks = check_runs(tables.experiment)
    return bool(checks) and tables.runs["run_name"].isin(checks).all()


def grid_config_for(experiment: str) -> str | None:
    for path in config_lib.experiment_files("comparison"):
        if tomllib.loads(path.read_text()).get("experiment") == experiment:
            return f"experiments/{path.parent.name}/{path.name}"
    return None
