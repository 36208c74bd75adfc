"""What a study leaves: trials.csv and Optuna's plots (for the report folder and the parent run), and at
its finish the tuned preset of its best trial."""

from __future__ import annotations

import json
import sys
import warnings
from datetime import date
from pathlib import Path

from zoo import config as config_lib
from zoo.studies.config import TUNED_HEADER, StudyConfig


def export_trials(study, folder: Path) -> Path:
    """trials.csv (number, state, value, params, duration, MLflow run id)."""
    folder.mkdir(parents=True, exist_ok=True)
    trials = study.trials_dataframe(attrs=("number", "state", "value", "params", "duration", "user_attrs"))
    trials["duration"] = trials["duration"].dt.total_seconds().round(1)
    trials.rename(columns={"duration": "duration_s"}).to_csv(folder / "trials.csv", index=False)
    return folder / "trials.csv"


def export_study(study, figures: dict[str, object], folder: Path) -> None:
    """trials.csv and the plots as PNGs."""
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    export_trials(study, folder)
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=110)


def study_figures(study) -> dict[str, object]:
    """optuna.visualization.matplotlib figures that the study's trials can support."""
    import matplotlib
    import numpy as np
    from optuna.visualization import matplotlib as optuna_plots

    matplotlib.use("Agg")  # Optuna draws with pyplot: files only, never a window

    figures = {}
    for name, plot in (("optimization_history", optuna_plots.plot_optimization_history),
                       ("param_importances", optuna_plots.plot_param_importances),
                       ("slice", optuna_plots.plot_slice),
                       ("contour", lambda s: optuna_plots.plot_contour(s, params=["lr_0", "phases"])),
                       ("intermediate_values", optuna_plots.plot_intermediate_values)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError, KeyError) as error:  # too few trials for this view
                print(f"note: no {name} plot ({error})", file=sys.stderr)
                continue
        figure = np.ravel(axes)[0].figure
        figure.set_size_inches(max(figure.get_size_inches()[0], 8), max(figure.get_size_inches()[1], 5))
        figures[f"plots/{name}.png"] = figure
    return figures


def finish(study, study_config: StudyConfig, parent_run_id: str, tuned_dir: Path, report_dir: Path | None = None) -> Path | None:
    """Best value and params, plots and the tuned preset; returns the preset's path. The trials table
    (trials.csv) and the plots also go to `report_dir`, to be committed: the MLflow store (and,
    without --commit, the journal) stays on the machine that ran the study."""
    from optuna.trial import TrialState

    from zoo import tracking
    from zoo.studies.config import phases_from_params

    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    counts = {f"trials_{state.name.lower()}": states.count(state) for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    if not counts["trials_complete"]:
        tracking.log_to_run(parent_run_id, metrics=counts)
        return None
    best = study.best_trial
    config = study_config.base_config()
    config.train.phases = phases_from_params(best.params, study_config)
    config.tracking.log_model, config.tracking.experiment = True, config_lib.TrackingConfig().experiment
    figures = study_figures(study)
    if report_dir is not None:
        export_study(study, figures, report_dir)
    tracking.log_to_run(parent_run_id, metrics={"best_val_seq_acc": best.value, "best_trial": best.number, **counts},
                        params={f"best.{key}": value for key, value in best.params.items()},
                        tags={"best_phases": json.dumps(config_lib.phases_as_written(config.train.phases))},
                        figures=figures)
    name = study_config.tuned_name()
    source = study_config.source
    if source is not None and Path(source).resolve().is_relative_to(config_lib.PROJECT_DIR):
        source = Path(source).resolve().relative_to(config_lib.PROJECT_DIR)  # no machine's paths in a committed preset
    header = (f"{TUNED_HEADER} {study_config.name!r} ({source}), written "
              f"{date.today()}:\ntrial {best.number} reached val_seq_acc {best.value:.4f} after "
              f"{study_config.samples():,} samples on preset {study_config.preset!r} (seed {study_config.seed}).\n"
              f"  python -m zoo.train --arch {study_config.arch} --preset {name}")
    return config_lib.write_preset(config, name, header, folder=tuned_dir)
