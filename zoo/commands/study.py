"""`python -m zoo.study [experiments/studies/study-bigru.toml] [--arch bigru] [--trials N] [--workers K]
[--storage URL] [--name NAME] [--commit]`: tune the learning-rate phases with Optuna, tracked in MLflow.

Each trial trains the study's preset with its own phases over the same fixed sample budget and the
same seeded sample stream, and is scored by validation full-sequence accuracy at the end of the
budget (pruned early by the configured pruner). The study is resumable: rerunning the command
continues it, and finished trials are kept. Storage: a journal file under the repository by default
(one machine, any number of worker processes), or `--storage postgresql://...` for workers on
several machines. The best schedule is written as a preset, `experiments/tuned-<arch>.toml` (or the config's `tuned_preset`).
`--commit` keeps the journal in the study's report folder and git-commits it with trials.csv after
every trial: a study longer than a session continues from a clone on another machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoo import cli
from zoo import config as config_lib
from zoo.config import ConfigError
from zoo.studies import runner
from zoo.studies.config import check_tuned_target, load_study_config
from zoo.studies.runner import COMMITTED_JOURNAL, DEFAULT_CONFIG
from zoo.studies.storage import DEFAULT_STORAGE, StudyError, redact


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.study", __doc__)
    parser.add_argument("--arch", help="registered architecture (default: the config's)")
    parser.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG), help="study config (kind = \"study\"), "
                        "positional like every command's config file (default: experiments/studies/study-bigru.toml)")
    parser.add_argument("--config", dest="config_option", metavar="CONFIG", help="the same, as an option "
                        "(MLproject and earlier command lines)")
    parser.add_argument("--trials", type=cli.blank_means(int, None), help="finished trials the study should hold (default: the config's)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    parser.add_argument("--storage", help=f"journal file path or RDB URL (default: {DEFAULT_STORAGE.name} in the repository)")
    parser.add_argument("--name", help="study name (default: the config's)")
    parser.add_argument("--tuned-dir", type=Path, default=config_lib.USER_EXPERIMENTS_DIR / "tuned", help="where the tuned preset (tuned_preset, default tuned-<arch>.toml) is written")
    parser.add_argument("--out", "--report-dir", dest="report_dir", type=Path, metavar="DIR", help="where trials.csv and the plots are written "
                        "(default: reports/studies/<study name>)")
    parser.add_argument("--commit", action="store_true", help="keep the journal in the report folder (study.journal, "
                        "unless --storage names another journal file) and git-commit it with trials.csv after every "
                        "trial, so a clone on any machine continues the study (one worker)")
    args = parser.parse_args(argv)
    if args.config_option:
        if args.config != str(DEFAULT_CONFIG) and args.config != args.config_option:
            parser.error(f"two study configs given: {args.config} and --config {args.config_option}; give one")
        args.config = args.config_option
    # `mlflow run -e study` passes "" for parameters left at their default
    args.arch, args.storage, args.name = (value or None for value in (args.arch, args.storage, args.name))
    try:
        if args.trials is not None and args.trials <= 0:
            raise ConfigError(f"--trials must be a positive number of trials, got {args.trials}")
        if args.workers <= 0:
            raise ConfigError(f"--workers must be positive, got {args.workers}")
        study_config = load_study_config(args.config, arch=args.arch, trials=args.trials, name=args.name)
        check_tuned_target(study_config, args.tuned_dir)
        report_dir = args.report_dir or config_lib.PROJECT_DIR / "reports" / "studies" / study_config.name
        if args.commit:
            if args.workers != 1:
                raise ConfigError(f"--commit runs one worker (the committed journal must hold no trial another "
                                  f"machine's worker is still running), got --workers {args.workers}")
            if args.storage and "://" in args.storage:
                raise ConfigError(f"--commit commits a journal file; {redact(args.storage)} is a database "
                                  "(it outlives the machine already)")
            report_dir.mkdir(parents=True, exist_ok=True)
            args.storage = args.storage or str(report_dir / COMMITTED_JOURNAL)
        journal = Path(args.storage.removeprefix("journal:")) if args.commit else None  # the file --commit commits
    except (ConfigError, StudyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return runner.run(study_config, args.storage, args.workers, args.tuned_dir, report_dir, journal)


if __name__ == "__main__":
    sys.exit(main())
