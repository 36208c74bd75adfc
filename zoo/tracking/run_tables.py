"""The finished zoo runs of one MLflow experiment as three compact tables, and their CSV export.

* runs: one row per run (variant, arch, seed, preset, test metrics, params, size, speed, training time);
* curves: one row per run and epoch (samples_seen, val_seq_acc, val_char_acc, val_ned, loss, ...);
* char_errors: one row per run and true character (occurrences, errors);
* misreads: one row per run and test captcha it misread (index in the test split, label, reading);
  every other captcha of its `test_size` it read right, so runs tested on the same split pair up
  captcha by captcha (empty for runs from before it was logged).

Runs are compared by `variant`: the architecture when every run used one preset, the preset when
every run used one architecture (a grid of recipes), else "arch · preset".
A report is built from these tables only, so it can be rebuilt from the committed CSV files
without the tracking store (`python -m zoo.report --from-csv reports/heads`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zoo import tracking

RUN_METRICS = ["test_seq_acc", "test_read_seq_acc", "test_char_acc", "test_ned", "params", "model_mb", "inference_images_per_s",
               "latency_ms_per_image"]
CURVE_METRICS = ["samples_seen", "val_seq_acc", "val_char_acc", "val_ned", "loss", "val_loss", "lr", "epoch_time"]
CSV_NAMES = {"runs": "runs.csv", "curves": "curves.csv", "char_errors": "char_errors.csv"}
MISREADS_CSV = "misreads.csv"  # beside them when any run logged its misreads (older report folders lack it)
MISREADS_ARTIFACT = "errors/misreads.csv"  # per run: the test captchas it misread (index, label, read)
MISREAD_COLUMNS = ["run_id", "index", "label", "read"]
TEXT_COLUMNS = {"run_id": str, "config_hash": str, "git_commit": str, "label": str, "read": str}  # never numbers


def no_misreads() -> pd.DataFrame:
    return pd.DataFrame({"run_id": pd.Series(dtype=object), "index": pd.Series(dtype=int),
                         "label": pd.Series(dtype=object), "read": pd.Series(dtype=object)})


class ReportDataError(ValueError):
    pass


@dataclass
class RunTables:
    experiment: str
    runs: pd.DataFrame
    curves: pd.DataFrame
    char_errors: pd.DataFrame
    misreads: pd.DataFrame = field(default_factory=no_misreads)

    def __post_init__(self) -> None:
        # one row per config: a run trained twice (two campaigns on one grid before runs were claimed)
        # counts once, the first row kept; runs without a config hash are all kept
        twice = self.runs["config_hash"].notna() & self.runs["config_hash"].duplicated() if "config_hash" in self.runs else None
        if twice is not None and twice.any():
            dropped = set(self.runs.loc[twice, "run_id"])
            self.runs = self.runs[~twice].reset_index(drop=True)
            self.curves = self.curves[~self.curves["run_id"].isin(dropped)]
            self.char_errors = self.char_errors[~self.char_errors["run_id"].isin(dropped)]
        self.misreads = self.misreads[self.misreads["run_id"].isin(set(self.runs["run_id"]))]
        labels = variant_labels(self.runs)
        by_run = dict(zip(self.runs["run_id"], labels))
        self.runs = self.runs.assign(variant=labels)
        self.curves = self.curves.assign(variant=self.curves["run_id"].map(by_run).astype(object))
        self.char_errors = self.char_errors.assign(variant=self.char_errors["run_id"].map(by_run).astype(object))

    @property
    def compares(self) -> str:
        """What the variants are: "architecture", "preset" or "variant"."""
        if self.runs.empty or self.runs.groupby("arch")["preset"].nunique().max() <= 1:
            return "architecture"
        return "preset" if self.runs["arch"].nunique() == 1 else "variant"

    def to_csv(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, file in CSV_NAMES.items():
            getattr(self, name).to_csv(folder / file, index=False)
        if not self.misreads.empty:
            self.misreads[MISREAD_COLUMNS].to_csv(folder / MISREADS_CSV, index=False)

    @classmethod
    def from_csv(cls, folder: Path, experiment: str | None = None) -> RunTables:
        if not Path(folder).is_dir():
            raise ReportDataError(f"no report folder {folder}: give a folder with {', '.join(CSV_NAMES.values())} "
                                  "(a committed report, e.g. reports/heads)")
        missing = [file for file in CSV_NAMES.values() if not (folder / file).is_file()]
        if missing:
            raise ReportDataError(f"{folder} lacks {', '.join(missing)}: export them with `python -m zoo.report --experiment NAME --out {folder}`")
        frames = {name: pd.read_csv(folder / file, keep_default_na=False, na_values=[""], dtype=TEXT_COLUMNS)
                  for name, file in CSV_NAMES.items()}
        if (folder / MISREADS_CSV).is_file():  # a reading "" (nothing read) stays "", not NaN
            frames["misreads"] = pd.read_csv(folder / MISREADS_CSV, keep_default_na=False, dtype=TEXT_COLUMNS)
        frames["char_errors"]["char"] = frames["char_errors"]["char"].astype(str)
        runs = frames["runs"]
        name = experiment or (str(runs["experiment"].iloc[0]) if len(runs) else folder.name)
        return cls(name, **frames)


def merged(tables: list[RunTables], experiment: str, presets: list[str] | None = None) -> RunTables:
    """Several report folders' runs as one comparison named `experiment` (a run found in two folders
    counts once), optionally only the runs of `presets`; a clear error when nothing is left."""
    runs = pd.concat([table.runs for table in tables], ignore_index=True).drop_duplicates("run_id")
    if presets:
        unknown = sorted(set(presets) - set(runs["preset"].astype(str)))
        if unknown:
            raise ReportDataError(f"no runs of preset(s) {', '.join(unknown)} in the folders given; "
                                  f"their presets: {', '.join(sorted(runs['preset'].astype(str).unique()))}")
        runs = runs[runs["preset"].isin(presets)]
    keep = set(runs["run_id"])

    def rows(name: str) -> pd.DataFrame:
        frame = pd.concat([getattr(table, name) for table in tables], ignore_index=True)
        frame = frame[frame["run_id"].isin(keep)].drop(columns="variant", errors="ignore")
        return frame.drop_duplicates(["run_id", "epoch"] if name == "curves" else ["run_id", "char"])

    misreads = pd.concat([table.misreads for table in tables], ignore_index=True)
    misreads = misreads[misreads["run_id"].isin(keep)].drop(columns="variant", errors="ignore").drop_duplicates(["run_id", "index"])
    return RunTables(experiment, runs.assign(experiment=experiment).drop(columns="variant"), rows("curves"),
                     rows("char_errors"), misreads)


def variant_labels(runs: pd.DataFrame) -> pd.Series:
    """Per run: its arch when each arch ran one preset (a grid of one preset, or each head at the rate
    its check chose), its preset when one arch ran several (a grid of recipes), else "arch · preset"."""
    if runs.empty or runs.groupby("arch")["preset"].nunique().max() <= 1:
        return runs["arch"].astype(str)
    if runs["arch"].nunique() == 1:
        return runs["preset"].astype(str)
    return runs["arch"].astype(str) + " · " + runs["preset"].astype(str)


def from_mlflow(experiment: str) -> RunTables:
    """Every FINISHED zoo run of `experiment`; a clear error when it is unknown or has none."""
    found = tracking.zoo_runs(experiment)  # raises TrackingError for an unknown experiment
    if found.empty:
        raise ReportDataError(f"experiment {experiment!r} has no finished zoo runs to report on "
                              f"(train some with `python -m zoo.compare` or `python -m zoo.train --set tracking.experiment={experiment}`)")
    runs = pd.DataFrame({
        "experiment": experiment,
        "run_id": found["run_id"],
        "run_name": found["tags.mlflow.runName"],
        "arch": found["tags.arch"],
        "seed": found["tags.seed"].astype(int),
        "preset": found["tags.preset"],
        "config_hash": _column(found, "tags.config_hash"),
        "git_commit": _column(found, "params.git_commit"),
        **{f"version_{package}": _column(found, f"params.version.{package}") for package in ("tensorflow", "keras", "captcha", "mlflow")},
        # where and how it trained (rows committed before 2026-12-06 lack them: the store they came from is gone)
        "keras_backend": _column(found, "params.keras_backend"),
        "precision": _column(found, "params.train.precision_resolved"),
        "machine": _column(found, "params.machine"),
        "samples": pd.to_numeric(_column(found, "metrics.samples_seen")),
        "test_size": pd.to_numeric(_column(found, "params.data.test_size")),
        **{name: pd.to_numeric(_column(found, f"metrics.{name}")) for name in RUN_METRICS},
    })
    history = tracking.metric_histories(list(runs["run_id"]), CURVE_METRICS)
    curves = (history.pivot_table(index=["run_id", "step"], columns="key", values="value").reset_index()
              .rename(columns={"step": "epoch"}).rename_axis(columns=None))
    curves = runs[["run_id", "arch", "seed"]].merge(curves, on="run_id").sort_values(["arch", "seed", "epoch"])
    train_time = curves.groupby("run_id")["epoch_time"].sum() if "epoch_time" in curves else pd.Series(dtype=float)
    runs["train_time_s"] = runs["run_id"].map(train_time)
    errors = []
    for run in runs.itertuples():
        table = tracking.load_table(run.run_id, "errors/character_errors.csv")
        if table is not None:
            errors.append(table[["char", "occurrences", "errors"]].assign(run_id=run.run_id, arch=run.arch, seed=run.seed))
    char_errors = (pd.concat(errors, ignore_index=True) if errors
                   else pd.DataFrame(columns=["char", "occurrences", "errors", "run_id", "arch", "seed"]))
    char_errors["char"] = char_errors["char"].astype(str)
    misreads = [table.assign(run_id=run_id) for run_id in runs["run_id"]
                if (table := tracking.load_table(run_id, MISREADS_ARTIFACT, dtype={"label": str, "read": str})) is not None]
    misreads = pd.concat(misreads, ignore_index=True)[MISREAD_COLUMNS] if misreads else no_misreads()
    return RunTables(experiment, runs.sort_values(["arch", "seed"]).reset_index(drop=True),
                     curves.reset_index(drop=True), char_errors, misreads)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(float("nan"), index=frame.index)
